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

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn fires_on_many_way_join() {
        let plan = load("rules/planning-dominates/fire.json");
        let (planning, execution) = (plan.planning_ms.unwrap(), plan.execution_ms.unwrap());
        let f = check_one(&plan, "P011");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.node, None);
        assert_eq!(f.path, None);
        assert_eq!(f.evidence["planning_ms"], planning);
        assert_eq!(f.evidence["execution_ms"], execution);
        assert!(planning >= 10.0 && planning >= execution);
        assert!(f.message.starts_with("planning took"), "{}", f.message);
        assert!(f.advice.contains("prepared statement"), "{}", f.advice);
    }

    #[test]
    fn quiet_on_simple_query() {
        assert!(check_one(&load("rules/planning-dominates/quiet.json"), "P011").is_empty());
    }

    #[test]
    fn thresholds_gate() {
        let mut plan = load("rules/planning-dominates/fire.json");
        plan.planning_ms = Some(9.9);
        plan.execution_ms = Some(1.0);
        assert!(check_one(&plan, "P011").is_empty(), "below min_planning_ms");
        plan.planning_ms = Some(20.0);
        plan.execution_ms = Some(20.5);
        assert!(check_one(&plan, "P011").is_empty(), "below ratio");
        plan.execution_ms = None;
        assert!(check_one(&plan, "P011").is_empty(), "no execution time");
    }
}
