//! `nested-loop-many-loops`: a Nested Loop whose inner side ran many times and took a real share
//! of the statement's time. The advice depends on why: no index on the inner join key (the inner
//! side is a scan run again per loop), an outer row estimate that was badly low (the planner would
//! have picked a hash or merge join), or simply many probes (Memoize, fewer outer rows).

use regex::Regex;
use std::ops::Range;

use super::util::{self, round_to};
use super::{Finding, RuleCtx};
use crate::plan::{EstimateDirection, Node, Plan};

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_loops = ctx.threshold("min_loops");
    let min_share = ctx.threshold("min_inner_share");
    let min_ms = ctx.threshold("min_inner_ms");
    let misestimate = ctx.threshold("misestimate_factor");
    let Some(total) = plan
        .root()
        .and_then(|r| r.inclusive_ms)
        .filter(|t| *t > 0.0)
    else {
        return;
    };
    for nl in &plan.nodes[nodes] {
        if nl.node_type != "Nested Loop" || nl.never_executed {
            continue;
        }
        let (Some(outer), Some(inner)) =
            (join_child(plan, nl, "Outer"), join_child(plan, nl, "Inner"))
        else {
            continue;
        };
        if inner.never_executed || inner.actual_loops.is_none() {
            continue;
        }
        let loops = inner.loops();
        let Some(inner_ms) = inner.inclusive_ms else {
            continue;
        };
        let share = (inner_ms / total).min(1.0);
        if loops < min_loops || inner_ms < min_ms || share < min_share {
            continue;
        }
        let per_loop = inner.actual_total_ms.unwrap_or(inner_ms / loops.max(1.0));

        let mut advice: Vec<String> = Vec::new();
        let mut b = ctx.finding(plan, Some(nl.id));

        // 1. The inner side scans instead of probing: index its join key.
        let scan = inner_scan(plan, inner);
        // Only a table scan can be replaced by an index probe (not a CTE or function scan).
        let rescanned = scan.is_some_and(|s| {
            s.relation.is_some() && (s.node_type == "Seq Scan" || inner.node_type == "Materialize")
        });
        if let Some(s) = scan.filter(|_| rescanned) {
            let table = s
                .relation
                .clone()
                .unwrap_or_else(|| "the inner table".into());
            let cond = join_condition(nl, s);
            let cols = cond
                .as_deref()
                .map(|c| inner_columns(c, s))
                .unwrap_or_default();
            let how = if inner.node_type == "Materialize" {
                format!(
                    "The inner side is a materialized {} re-read in full on every loop",
                    s.label()
                )
            } else {
                format!("The inner side is a {} run again on every loop", s.label())
            };
            let index = if cols.is_empty() {
                match &cond {
                    Some(c) => format!("index {table} on the column(s) it is joined by (`{c}`)"),
                    None => format!("index {table} on the column(s) it is joined by"),
                }
            } else {
                format!(
                    "`CREATE INDEX CONCURRENTLY ON {table} ({});`",
                    cols.join(", ")
                )
            };
            advice.push(format!(
                "{how}: {index}, so each loop becomes an index probe (or the planner can switch \
                 to a hash join)."
            ));
            b = b.evidence("inner_scan", s.label());
            if let Some(c) = cond {
                b = b.evidence("join_condition", c);
            }
        }

        // 2. The outer estimate was badly low: the planner expected few loops.
        if let (Some((factor, EstimateDirection::Under)), Some(planned), Some(actual)) = (
            outer.estimate_factor(),
            outer.total_plan_rows(),
            outer.total_actual_rows(),
        ) {
            if factor >= misestimate {
                let rel = first_relation(plan, outer);
                let analyze = match &rel {
                    Some(r) => format!("`ANALYZE {r};`"),
                    None => "`ANALYZE` the outer tables".to_string(),
                };
                advice.push(format!(
                    "The planner expected {} outer rows from {} and got {} ({factor:.0}× more): \
                     with the true count it would have weighed a hash or merge join. Fix the \
                     estimate: {analyze}, `CREATE STATISTICS` (dependencies, ndistinct) for \
                     correlated filter columns, a higher statistics target for skewed ones; \
                     compare with `SET enable_nestloop = off` in a session.",
                    fmt_rows(planned),
                    outer.label(),
                    fmt_rows(actual)
                ));
                b = b
                    .evidence("outer_plan_rows", planned)
                    .evidence("outer_actual_rows", actual)
                    .evidence("outer_misestimate_factor", round_to(factor, 1));
            }
        }

        // 3. Many cheap probes: cache them or make fewer.
        if advice.is_empty() {
            if has_memoize(plan, inner) {
                advice.push(
                    "The inner side is already memoized: its cache misses are the loops that \
                     cost; cut the outer rows earlier (more selective filters), or compare a \
                     hash join with `SET enable_nestloop = off` in a session."
                        .to_string(),
                );
            } else {
                advice.push(
                    "Each loop is cheap but there are many: filter the outer side earlier, or \
                     compare a hash join with `SET enable_nestloop = off` in a session. On \
                     PostgreSQL 14+ a Memoize node can cache inner results when outer join keys \
                     repeat (`enable_memoize`; the planner uses it only if statistics show \
                     repeats, so keep them current)."
                        .to_string(),
                );
            }
        }

        let mut message = format!(
            "{} ran its inner side ({}) {} times, {} per loop, {} in all ({:.0}% of the statement)",
            nl.label(),
            inner.label(),
            fmt_rows(loops),
            util::ms(per_loop),
            util::ms(inner_ms),
            share * 100.0
        );
        // The join filter runs in the Nested Loop itself, for every inner row of every loop.
        if let Some(removed) = nl
            .details()
            .rows_removed_by_join_filter
            .filter(|r| *r > 0.0)
        {
            let removed = removed * nl.loops();
            message.push_str(&format!(
                "; its join filter compared and discarded {} rows",
                fmt_rows(removed)
            ));
            b = b.evidence("rows_removed_by_join_filter", removed);
        }
        b.message(message)
            .advice(advice.join(" "))
            .evidence("inner_loops", loops)
            .evidence("inner_ms", round_to(inner_ms, 3))
            .evidence("per_loop_ms", round_to(per_loop, 3))
            .evidence("inner_share", round_to(share, 3))
            .evidence("inner_node", inner.id)
            .push(out);
    }
}

/// The join child with this `Parent Relationship`; without one (older or partial plans), the
/// first/second child that is not an InitPlan/SubPlan.
fn join_child<'a>(plan: &'a Plan, nl: &Node, rel: &str) -> Option<&'a Node> {
    let kids: Vec<&Node> = nl
        .children
        .iter()
        .filter_map(|&c| plan.nodes.get(c))
        .collect();
    if let Some(k) = kids.iter().find(|k| k.relationship.as_deref() == Some(rel)) {
        return Some(k);
    }
    let plain: Vec<&&Node> = kids
        .iter()
        .filter(|k| {
            !matches!(
                k.relationship.as_deref(),
                Some("InitPlan") | Some("SubPlan")
            )
        })
        .collect();
    let i = if rel == "Outer" { 0 } else { 1 };
    plain.get(i).map(|k| **k)
}

/// The scan the inner side rests on, looking through Materialize/Memoize/Result wrappers.
fn inner_scan<'a>(plan: &'a Plan, inner: &'a Node) -> Option<&'a Node> {
    let mut cur = inner;
    for _ in 0..8 {
        if cur.node_type.ends_with("Scan") {
            return Some(cur);
        }
        if !matches!(cur.node_type.as_str(), "Materialize" | "Memoize" | "Result") {
            return None;
        }
        let first = *cur.children.first()?;
        cur = plan.nodes.get(first)?;
    }
    None
}

fn has_memoize(plan: &Plan, inner: &Node) -> bool {
    let mut cur = inner;
    for _ in 0..8 {
        if cur.node_type == "Memoize" {
            return true;
        }
        if !matches!(cur.node_type.as_str(), "Materialize" | "Result") {
            return false;
        }
        match cur.children.first().and_then(|&c| plan.nodes.get(c)) {
            Some(n) => cur = n,
            None => return false,
        }
    }
    false
}

/// The condition tying the inner scan to the outer side: the join's filter, else the scan's own
/// filter (a parameterized seq scan filters on the outer value).
fn join_condition(nl: &Node, scan: &Node) -> Option<String> {
    nl.details()
        .join_filter
        .clone()
        .or_else(|| scan.filter.clone())
        .filter(|c| !c.trim().is_empty())
}

/// Columns of the inner scan named in `cond` (`o.customer_id` with alias `o`), in order, unique.
fn inner_columns(cond: &str, scan: &Node) -> Vec<String> {
    let Some(alias) = scan.alias.as_deref().or(scan.relation.as_deref()) else {
        return Vec::new();
    };
    let Ok(re) = Regex::new(&format!(
        r#"(?:^|[^\w."]){}\.("?)(\w+)("?)"#,
        regex::escape(alias)
    )) else {
        return Vec::new();
    };
    let mut cols: Vec<String> = Vec::new();
    for c in re.captures_iter(cond) {
        let col = format!("{}{}{}", &c[1], &c[2], &c[3]);
        if !cols.contains(&col) {
            cols.push(col);
        }
    }
    cols
}

/// The table a subtree reads first (for `ANALYZE`), when it is a plain scan.
fn first_relation(plan: &Plan, node: &Node) -> Option<String> {
    let mut cur = node;
    for _ in 0..16 {
        if let Some(r) = &cur.relation {
            return Some(match &cur.schema {
                Some(s) => format!("{s}.{r}"),
                None => r.clone(),
            });
        }
        let first = *cur.children.first()?;
        cur = plan.nodes.get(first)?;
    }
    None
}

fn fmt_rows(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn fires_on_seq_scan_inner_with_index_advice() {
        let plan = load("rules/nested-loop-many-loops/fire_seqscan_inner.json");
        let f = check_one(&plan, "P008");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        let nl = f.node.unwrap();
        assert_eq!(plan.nodes[nl].node_type, "Nested Loop");
        // (`Node::label` prints a left nested loop as `Nested Loop Left`.)
        assert!(
            f.path
                .as_deref()
                .unwrap()
                .starts_with("GroupAggregate > Sort > Nested Loop Left"),
            "{:?}",
            f.path
        );
        assert_eq!(f.evidence["inner_loops"], 300.0);
        assert_eq!(f.evidence["inner_scan"], "Seq Scan on orders_noidx o");
        assert_eq!(f.evidence["join_condition"], "(o.customer_id = c.id)");
        // Half the time is the scans, the other half the join filter run in the Nested Loop.
        assert!(f.evidence["inner_share"].as_f64().unwrap() > 0.4);
        assert_eq!(f.evidence["rows_removed_by_join_filter"], 5997901.0);
        assert!(f.message.contains("5997901 rows"), "{}", f.message);
        assert!(f.message.contains("300 times"), "{}", f.message);
        assert!(
            f.advice
                .contains("CREATE INDEX CONCURRENTLY ON orders_noidx (customer_id)"),
            "{}",
            f.advice
        );
        // The outer estimate (300 customers) was right: no misestimate advice.
        assert!(!f.evidence.contains_key("outer_misestimate_factor"));
    }

    #[test]
    fn fires_on_outer_misestimate() {
        let plan = load("rules/nested-loop-many-loops/fire_misestimate.json");
        let f = check_one(&plan, "P008");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.node, Some(0));
        assert_eq!(f.evidence["inner_loops"], 2000.0);
        // ANALYZE samples, so the estimate varies a little between runs: about 20 for 2000.
        let planned = f.evidence["outer_plan_rows"].as_f64().unwrap();
        assert!(planned < 100.0, "{planned}");
        assert_eq!(planned, plan.nodes[1].plan_rows.unwrap());
        assert_eq!(f.evidence["outer_actual_rows"], 2000.0);
        assert!(f.advice.contains("ANALYZE pairs"), "{}", f.advice);
        assert!(f.advice.contains("CREATE STATISTICS"), "{}", f.advice);
        assert!(!f.evidence.contains_key("inner_scan"));
    }

    #[test]
    fn fires_on_materialized_inner_with_index_advice() {
        let plan = load("rules/nested-loop-many-loops/fire_materialize.json");
        let f = check_one(&plan, "P008");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        let inner = f.evidence["inner_node"].as_u64().unwrap() as usize;
        assert_eq!(plan.nodes[inner].node_type, "Materialize");
        assert_eq!(f.evidence["inner_loops"], 300.0);
        assert_eq!(f.evidence["inner_scan"], "Seq Scan on orders_noidx o");
        assert!(
            f.advice.contains("materialized Seq Scan on orders_noidx o"),
            "{}",
            f.advice
        );
        assert!(
            f.advice
                .contains("CREATE INDEX CONCURRENTLY ON orders_noidx (customer_id)"),
            "{}",
            f.advice
        );
    }

    #[test]
    fn fires_on_memoized_inner_without_suggesting_memoize() {
        let plan = load("rules/nested-loop-many-loops/fire_memoize.json");
        let f = check_one(&plan, "P008");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        let inner = f.evidence["inner_node"].as_u64().unwrap() as usize;
        assert_eq!(plan.nodes[inner].node_type, "Memoize");
        assert_eq!(f.evidence["inner_loops"], 20000.0);
        assert!(f.advice.contains("already memoized"), "{}", f.advice);
        assert!(!f.evidence.contains_key("inner_scan"));
    }

    #[test]
    fn quiet_on_few_loops_and_hash_join() {
        for case in ["quiet.json", "quiet_hash.json"] {
            let plan = load(&format!("rules/nested-loop-many-loops/{case}"));
            assert!(check_one(&plan, "P008").is_empty(), "{case}");
        }
    }

    #[test]
    fn corpus_nestloop_fires_with_probe_advice() {
        let plan = load("plans/generated/pg15/g_nestloop_many_loops.json");
        let f = check_one(&plan, "P008");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(f[0].evidence["inner_loops"], 20000.0);
        assert!(f[0].advice.contains("Memoize"), "{}", f[0].advice);
    }

    #[test]
    fn inner_columns_by_alias() {
        let scan = crate::plan::Node {
            alias: Some("o".into()),
            relation: Some("orders".into()),
            ..Default::default()
        };
        assert_eq!(
            super::inner_columns("((o.a = c.id) AND (c.x = o.b) AND (foo.a = 1))", &scan),
            vec!["a", "b"]
        );
    }
}
