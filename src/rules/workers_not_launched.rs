//! `workers-not-launched`: a Gather or Gather Merge that launched fewer workers than planned, so
//! the leader (and the workers it did get) did work costed for more processes.

use super::{Finding, RuleCtx};
use crate::plan::Plan;
use std::ops::Range;

/// Settings worth quoting when the plan carries them (`EXPLAIN (SETTINGS)`).
const SETTINGS: [&str; 3] = [
    "max_parallel_workers",
    "max_worker_processes",
    "max_parallel_workers_per_gather",
];

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_missing = ctx.threshold("min_missing_workers");
    let min_ms = ctx.threshold("min_gather_ms");
    for g in &plan.nodes[nodes] {
        if !matches!(g.node_type.as_str(), "Gather" | "Gather Merge") || g.never_executed {
            continue;
        }
        // Without ANALYZE nothing is launched, and nothing printed.
        let (Some(planned), Some(launched)) =
            (g.details().workers_planned, g.details().workers_launched)
        else {
            continue;
        };
        let missing = planned - launched;
        if missing < min_missing.max(f64::MIN_POSITIVE) {
            continue;
        }
        let ms = g.inclusive_ms.unwrap_or(0.0);
        if ms < min_ms {
            continue;
        }
        let who = if launched == 0.0 {
            "none: the leader ran the whole parallel plan alone".to_string()
        } else {
            format!(
                "{}: {} processes did work costed for {}",
                fmt(launched),
                fmt(launched + 1.0),
                fmt(planned + 1.0)
            )
        };
        let mut message = format!(
            "{} planned {} workers and launched {who} ({:.1} ms)",
            g.label(),
            fmt(planned),
            ms
        );
        let quoted: Vec<(&String, &String)> = plan
            .settings
            .iter()
            .filter(|(k, _)| SETTINGS.contains(&k.as_str()))
            .map(|(k, v)| (k, v))
            .collect();
        if !quoted.is_empty() {
            let list: Vec<String> = quoted.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            message.push_str(&format!("; settings: {}", list.join(", ")));
        }
        let mut b = ctx
            .finding(plan, Some(g.id))
            .message(message)
            .advice(
                "No free parallel workers when the query started. Check `max_parallel_workers` \
                 (the pool all parallel queries share) and `max_worker_processes` (all background \
                 workers; restart needed), and `max_parallel_workers_per_gather`. On a busy \
                 server concurrent parallel queries, parallel maintenance and replication workers \
                 exhaust the pool: count `backend_type = 'parallel worker'` in \
                 `pg_stat_activity`, lower the per-Gather setting so more queries get some \
                 workers, or raise the pool if the CPUs allow.",
            )
            .evidence("workers_planned", planned)
            .evidence("workers_launched", launched)
            .evidence("gather_ms", super::util::round_to(ms, 3));
        for (k, v) in quoted {
            b = b.evidence(k.clone(), v.clone());
        }
        b.push(out);
    }
}

fn fmt(v: f64) -> String {
    format!("{}", v.round() as i64)
}

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn fires_when_no_worker_launched() {
        let plan = load("rules/workers-not-launched/fire_none.json");
        let f = check_one(&plan, "P009");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(
            f.path.as_deref(),
            Some("Finalize GroupAggregate > Gather Merge")
        );
        assert_eq!(f.evidence["workers_planned"], 2.0);
        assert_eq!(f.evidence["workers_launched"], 0.0);
        assert!(
            f.message
                .contains("leader ran the whole parallel plan alone"),
            "{}",
            f.message
        );
        assert!(f.advice.contains("max_parallel_workers"));
        assert!(f.advice.contains("max_worker_processes"));
    }

    #[test]
    fn fires_when_some_workers_launched() {
        let plan = load("rules/workers-not-launched/fire_partial.json");
        let f = check_one(&plan, "P009");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(f[0].evidence["workers_planned"], 2.0);
        assert_eq!(f[0].evidence["workers_launched"], 1.0);
        assert!(
            f[0].message.contains("2 processes did work costed for 3"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn quiet_when_all_workers_launched() {
        let plan = load("rules/workers-not-launched/quiet.json");
        assert!(check_one(&plan, "P009").is_empty());
        for v in ["pg13", "pg15", "pg15-debian", "pg18"] {
            let plan = load(&format!("plans/generated/{v}/h_parallel_seqscan.json"));
            assert!(check_one(&plan, "P009").is_empty(), "{v}");
        }
    }

    #[test]
    fn quotes_settings_when_printed() {
        let mut plan = load("rules/workers-not-launched/fire_none.json");
        plan.settings
            .push(("max_parallel_workers".into(), "0".into()));
        let f = check_one(&plan, "P009");
        assert!(
            f[0].message.contains("max_parallel_workers = 0"),
            "{}",
            f[0].message
        );
        assert_eq!(f[0].evidence["max_parallel_workers"], "0");
    }
}
