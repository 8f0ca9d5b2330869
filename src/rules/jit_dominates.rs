//! `jit-dominates`: the plan-level JIT time (`JIT: … Timing: … Total`) is a large share of the
//! execution time, which includes it.

use super::{Finding, RuleCtx};
use crate::plan::Plan;

/// PostgreSQL's defaults for the JIT cost thresholds.
const JIT_ABOVE_COST: f64 = 100_000.0;
const JIT_INLINE_ABOVE_COST: f64 = 500_000.0;

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_ms = ctx.threshold("min_jit_ms");
    let min_share = ctx.threshold("share");
    let Some(jit) = &plan.jit else { return };
    let Some(exec) = plan.execution_ms.filter(|e| *e > 0.0) else {
        return;
    };
    let parts = [
        jit.generation_ms,
        jit.inlining_ms,
        jit.optimization_ms,
        jit.emission_ms,
    ];
    // Plans without ANALYZE print the JIT options but no timing.
    let Some(total) = jit.total_ms.or_else(|| {
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().sum())
    }) else {
        return;
    };
    let share = total / exec;
    if total < min_ms || share < min_share {
        return;
    }

    // Parallel workers compile their own copies; the summary sums them.
    let workers: f64 = plan
        .nodes
        .iter()
        .filter(|n| matches!(n.node_type.as_str(), "Gather" | "Gather Merge"))
        .filter_map(|n| n.details().workers_launched)
        .sum();

    let mut phases = Vec::new();
    for (name, v) in [
        ("generation", jit.generation_ms),
        ("inlining", jit.inlining_ms),
        ("optimization", jit.optimization_ms),
        ("emission", jit.emission_ms),
    ] {
        if let Some(v) = v {
            phases.push(format!("{name} {v:.1} ms"));
        }
    }
    let mut message = format!(
        "JIT compilation took {total:.1} ms of {exec:.1} ms execution ({:.0}%)",
        share * 100.0
    );
    if !phases.is_empty() {
        message.push_str(&format!(": {}", phases.join(", ")));
    }
    if let Some(f) = jit.functions {
        message.push_str(&format!(", {} functions", f.round() as i64));
    }
    if workers > 0.0 {
        message.push_str(&format!(
            " (summed over the leader and {} parallel workers, which compile separately)",
            workers.round() as i64
        ));
    }

    let mut advice = Vec::new();
    let heavy = jit.inlining_ms.unwrap_or(0.0) + jit.optimization_ms.unwrap_or(0.0);
    let cost = plan.root().and_then(|r| r.total_cost);
    if let Some(c) = cost {
        if c < JIT_ABOVE_COST {
            advice.push(format!(
                "The plan's estimated cost ({c:.0}) is below the default `jit_above_cost` \
                 (100000): the JIT cost settings were lowered for this session, role, database \
                 or server; restore the defaults."
            ));
        } else {
            advice.push(format!(
                "The plan's estimated cost ({c:.0}) crossed `jit_above_cost`, yet the query ran \
                 in {exec:.1} ms: raise `jit_above_cost`, or fix the row estimates that inflate \
                 the cost."
            ));
        }
    }
    if heavy >= total * 0.5 && heavy > 0.0 {
        let above = if cost.is_some_and(|c| c < JIT_INLINE_ABOVE_COST) {
            " (here they were lowered below the plan's cost)"
        } else {
            ""
        };
        advice.push(format!(
            "Inlining and optimization are {heavy:.1} ms of it: they run only above \
             `jit_inline_above_cost` and `jit_optimize_above_cost` (default 500000){above}; \
             raising those keeps the cheaper code generation without the expensive phases."
        ));
    }
    advice.push(
        "For short queries turn JIT off where they run: `SET jit = off` in the session or \
         `ALTER ROLE … SET jit = off` for the application's role. JIT pays off on long analytical \
         queries over millions of rows; keep it for those."
            .to_string(),
    );

    let r3 = |v: f64| super::util::round_to(v, 3);
    let mut b = ctx
        .finding(plan, None)
        .message(message)
        .advice(advice.join(" "))
        .evidence("jit_total_ms", r3(total))
        .evidence("execution_ms", r3(exec))
        .evidence("share", r3(share));
    for (k, v) in [
        ("jit_generation_ms", jit.generation_ms),
        ("jit_inlining_ms", jit.inlining_ms),
        ("jit_optimization_ms", jit.optimization_ms),
        ("jit_emission_ms", jit.emission_ms),
        ("jit_functions", jit.functions),
        ("plan_cost", cost),
    ] {
        if let Some(v) = v {
            b = b.evidence(k, r3(v));
        }
    }
    if workers > 0.0 {
        b = b.evidence("parallel_workers", workers);
    }
    b.push(out);
}

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn fires_on_forced_jit_for_cheap_query() {
        let plan = load("rules/jit-dominates/fire.json");
        let jit = plan.jit.clone().unwrap();
        let f = check_one(&plan, "P010");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.node, None);
        assert_eq!(f.evidence["jit_total_ms"], jit.total_ms.unwrap());
        assert_eq!(f.evidence["execution_ms"], plan.execution_ms.unwrap());
        assert!(f.evidence["share"].as_f64().unwrap() > 0.5);
        assert_eq!(f.evidence["jit_functions"], 9.0);
        assert!(
            f.message.starts_with("JIT compilation took"),
            "{}",
            f.message
        );
        assert!(f.message.contains("inlining"), "{}", f.message);
        assert!(
            f.advice.contains("below the default `jit_above_cost`"),
            "{}",
            f.advice
        );
        assert!(f.advice.contains("jit_inline_above_cost"), "{}", f.advice);
        assert!(f.advice.contains("SET jit = off"), "{}", f.advice);
    }

    #[test]
    fn quiet_without_jit_or_on_long_query() {
        let off = load("rules/jit-dominates/quiet_off.json");
        assert!(off.jit.is_none());
        assert!(check_one(&off, "P010").is_empty());
        let long = load("rules/jit-dominates/quiet_long.json");
        assert!(long.jit.as_ref().and_then(|j| j.total_ms).unwrap() > 0.0);
        assert!(check_one(&long, "P010").is_empty());
    }

    #[test]
    fn sums_phases_when_total_missing() {
        let mut plan = load("rules/jit-dominates/fire.json");
        let total = plan.jit.as_ref().unwrap().total_ms.unwrap();
        plan.jit.as_mut().unwrap().total_ms = None;
        let f = check_one(&plan, "P010");
        assert_eq!(f.len(), 1);
        let got = f[0].evidence["jit_total_ms"].as_f64().unwrap();
        assert!((got - total).abs() < 0.01, "{got} vs {total}");
        // No timing at all (EXPLAIN without ANALYZE): nothing to say.
        let j = plan.jit.as_mut().unwrap();
        j.generation_ms = None;
        j.inlining_ms = None;
        j.optimization_ms = None;
        j.emission_ms = None;
        assert!(check_one(&plan, "P010").is_empty());
    }
}
