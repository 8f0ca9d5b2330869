//! `planning-dominates`: planning time at least `ratio` × execution time, and long enough to matter.

use super::{Finding, RuleCtx};
use crate::plan::Plan;

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let (Some(planning), Some(execution)) = (plan.planning_ms, plan.execution_ms) else {
        return;
    };
    if planning < ctx.threshold("min_planning_ms") || planning < ctx.threshold("ratio") * execution
    {
        return;
    }
    ctx.finding(plan, None)
        .message(format!(
            "planning took {planning:.1} ms, execution {execution:.1} ms ({:.1}× as long)",
            planning / execution.max(0.001)
        ))
        .advice(
            "Reuse the plan: run it as a prepared statement (or through a driver that prepares \
             server-side); reduce the partitions and joins the planner must consider.",
        )
        .evidence("planning_ms", planning)
        .evidence("execution_ms", execution)
        .push(out);
}
