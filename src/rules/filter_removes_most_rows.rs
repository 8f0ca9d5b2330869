//! `filter-removes-most-rows`: a node that produces rows only to throw most of them away in a
//! filter: an index scan with a `Filter`, a join with a `Join Filter`, a bitmap heap scan whose
//! recheck rejects most candidates, or any node with a `Filter` (subquery/CTE scans, HAVING…).
//!
//! Per node, over all loops: removed = (`Rows Removed by Filter` + `Rows Removed by Join Filter` +
//! `Rows Removed by Index Recheck`) × loops; rows examined = removed + rows returned. Fires when
//! removed ≥ `min_removed_rows` and removed / examined ≥ `min_removed_ratio`.
//!
//! **No double reports.** Sequential scans are left to P001 (`seq-scan-large-table`), which owns
//! them whatever their figures. Index rechecks of a bitmap heap scan that went lossy are left to
//! P006 (`lossy-bitmap`): those rows are rechecked because the bitmap lost precision, and the fix is
//! memory, not an index.

use super::predicate::{self, Analysis};
use super::seq_scan_large_table::suggest;
use super::util::{count, own_names, pct, relation_name};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};
use std::ops::Range;

/// INCLUDE at most this many extra columns in a suggested index.
const MAX_INCLUDE: usize = 4;

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_removed = ctx.threshold("min_removed_rows");
    let min_ratio = ctx.threshold("min_removed_ratio");
    for node in &plan.nodes[nodes] {
        if node.node_type == "Seq Scan" || node.never_executed {
            continue;
        }
        let loops = node.loops();
        let by_filter = node.rows_removed_by_filter.unwrap_or(0.0) * loops;
        let by_join = node.details().rows_removed_by_join_filter.unwrap_or(0.0) * loops;
        let lossy = node.details().lossy_heap_blocks.unwrap_or(0.0) > 0.0;
        let by_recheck = if lossy {
            0.0
        } else {
            node.details().rows_removed_by_index_recheck.unwrap_or(0.0) * loops
        };
        let removed = by_filter + by_join + by_recheck;
        let Some(returned) = node.total_actual_rows() else {
            continue;
        };
        if removed <= 0.0 || removed < min_removed {
            continue;
        }
        let ratio = removed / (removed + returned);
        if ratio < min_ratio {
            continue;
        }
        report(
            plan, ctx, node, by_filter, by_join, by_recheck, returned, ratio, out,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    plan: &Plan,
    ctx: &RuleCtx,
    node: &Node,
    by_filter: f64,
    by_join: f64,
    by_recheck: f64,
    returned: f64,
    ratio: f64,
    out: &mut Vec<Finding>,
) {
    let d = node.details();
    let removed = by_filter + by_join + by_recheck;
    let loops = node.loops();
    let mut parts = Vec::new();
    if by_filter > 0.0 {
        parts.push(format!(
            "the Filter {} removed {}",
            node.filter.as_deref().unwrap_or(""),
            count(by_filter)
        ));
    }
    if by_join > 0.0 {
        parts.push(format!(
            "the Join Filter {} removed {}",
            d.join_filter.as_deref().unwrap_or(""),
            count(by_join)
        ));
    }
    if by_recheck > 0.0 {
        parts.push(format!(
            "the index recheck {} removed {}",
            d.recheck_cond.as_deref().unwrap_or(""),
            count(by_recheck)
        ));
    }
    let source = match (&node.index_cond, &d.recheck_cond) {
        (Some(c), _) => format!(" the Index Cond {c} found"),
        (None, Some(c)) => format!(" the bitmap for {c} found"),
        _ if by_join > 0.0 => " the join built".to_string(),
        _ => " it produced".to_string(),
    };
    let over = if loops > 1.0 {
        format!(" over {} loops", count(loops))
    } else {
        String::new()
    };
    let message = format!(
        "{}:{source} {} rows{over}, {} ({} of them), keeping {}",
        node.label(),
        count(removed + returned),
        parts.join(" and "),
        pct(ratio),
        count(returned)
    );

    let mut f = ctx.finding(plan, Some(node.id));
    let advice;
    let dominant_join = by_join >= by_filter && by_join >= by_recheck;
    if let Some((table, col)) = dominant_join
        .then(|| inner_equi_join_column(plan, node))
        .flatten()
    {
        let stmt = format!("CREATE INDEX CONCURRENTLY ON {table} ({col})");
        advice = format!(
            "The join condition {} is an equality evaluated as a filter on every pair: the \
             nested loop has no index to look up the inner side. Create one, `{stmt}`, so each \
             outer row finds its matches directly (or let the planner use a hash join, if \
             enable_hashjoin was turned off).",
            d.join_filter.as_deref().unwrap_or("")
        );
        f = f.evidence("suggested_index", stmt);
    } else if dominant_join {
        advice = format!(
            "The join condition {} is tested on every pair the join builds. Rewrite it so one \
             side's column is compared with an expression of the other (e.g. `a.x = <expr of b>`), \
             which a hash or merge join key or an index on the inner side can use; check that no \
             join condition is missing (a near cross join).",
            d.join_filter.as_deref().unwrap_or("")
        );
    } else if node.relation.is_some() && by_filter >= by_recheck {
        let own = own_names(node);
        let mut a = Analysis::default();
        for c in [&node.index_cond, &d.recheck_cond].into_iter().flatten() {
            a.conds.extend(predicate::analyze(c, &own).conds);
        }
        a.conds
            .extend(predicate::analyze(node.filter.as_deref().unwrap_or(""), &own).conds);
        let table = relation_name(node).unwrap_or_else(|| "the table".into());
        let s = suggest(&table, &a, &[], &node.output, &own, MAX_INCLUDE);
        let mut text = String::from(
            "Move the filter into the index, so PostgreSQL finds only the matching rows instead \
             of fetching rows and discarding them",
        );
        match s.statements.len() {
            0 => text.push('.'),
            1 => {
                text.push_str(&format!(": `{}`.", s.statements[0]));
                f = f.evidence("suggested_index", s.statements[0].clone());
            }
            _ => {
                text.push_str(&format!(
                    ": one index per OR branch, {}.",
                    s.statements
                        .iter()
                        .map(|x| format!("`{x}`"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
                f = f.evidence("suggested_indexes", s.statements.clone());
            }
        }
        for n in &s.notes {
            text.push(' ');
            text.push_str(n);
        }
        if !s.columns.is_empty() {
            f = f.evidence("index_columns", s.columns.clone());
        }
        advice = text;
    } else if by_recheck > by_filter {
        advice = "The index returns many candidates that the recheck rejects (an inexact index \
                  operator, e.g. a trigram or GIN search): make the condition more selective, or \
                  use an index whose operator answers it exactly."
            .to_string();
    } else {
        advice = "The rows are filtered only after this node produced them. Push the condition \
                  down to the scan that reads the table (a WHERE on the base table rather than on \
                  a subquery, CTE or outer-join result; a WHERE instead of HAVING for conditions \
                  on grouping columns) so an index can serve it."
            .to_string();
    }
    f.message(message)
        .advice(advice)
        .evidence("rows_removed", removed)
        .evidence("rows_returned", returned)
        .evidence("removed_ratio", ratio)
        .evidence("removed_by_filter", by_filter)
        .evidence("removed_by_join_filter", by_join)
        .evidence("removed_by_index_recheck", by_recheck)
        .evidence("loops", loops)
        .push(out);
}

/// For a join filter `a.x = b.y` on a Nested Loop, the inner side's table and column (the scan
/// in the inner subtree whose alias is one of the two qualifiers).
fn inner_equi_join_column(plan: &Plan, node: &Node) -> Option<(String, String)> {
    if node.node_type != "Nested Loop" {
        return None;
    }
    let ((q1, c1), (q2, c2)) = predicate::equi_join(node.details().join_filter.as_deref()?)?;
    let inner = *node.children.get(1)?;
    // Pre-order: the inner subtree is the contiguous run of nodes deeper than the inner child.
    let depth = plan.nodes[inner].depth;
    for n in plan.nodes[inner..]
        .iter()
        .take_while(|n| n.id == inner || n.depth > depth)
    {
        let Some(alias) = n.alias.as_deref().or(n.relation.as_deref()) else {
            continue;
        };
        for (q, c) in [(&q1, &c1), (&q2, &c2)] {
            if q.trim_matches('"') == alias {
                return Some((relation_name(n)?, c.clone()));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};
    use serde_json::json;

    const DIR: &str = "filter-removes-most-rows";

    #[test]
    fn index_scan_filter_moves_into_the_index() {
        let plan = fixture(DIR, "fire_index");
        let f = check_one(&plan, "P004");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(plan.nodes[0].node_type, "Index Scan");
        assert_eq!(f[0].evidence["rows_removed"], json!(99000.0));
        assert_eq!(f[0].evidence["index_columns"], json!(["v", "id"]));
        assert_eq!(
            f[0].evidence["suggested_index"],
            json!("CREATE INDEX CONCURRENTLY ON f (v, id)")
        );
    }

    #[test]
    fn join_filter() {
        let plan = fixture(DIR, "fire_join");
        let f = check_one(&plan, "P004");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(plan.nodes[f[0].node.unwrap()].node_type, "Nested Loop");
        assert_eq!(f[0].evidence["removed_by_join_filter"], json!(298530.0));
        assert!(f[0].advice.contains("join condition"));
    }

    #[test]
    fn equi_join_filter_gets_an_inner_index() {
        let plan = fixture(DIR, "fire_equijoin");
        let f = check_one(&plan, "P004");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(plan.nodes[f[0].node.unwrap()].node_type, "Nested Loop");
        assert_eq!(
            f[0].evidence["suggested_index"],
            json!("CREATE INDEX CONCURRENTLY ON g (f_v)")
        );
        // The advice is one sentence with single spaces, not a source line's indentation.
        assert!(!f[0].advice.contains("  "), "{}", f[0].advice);
    }

    #[test]
    fn filter_keeping_most_rows_is_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P004").is_empty());
    }

    #[test]
    fn leaves_seq_scans_to_p001_and_lossy_rechecks_to_p006() {
        for (dir, case) in [
            ("seq-scan-large-table", "fire"),
            ("seq-scan-large-table", "fire_parallel"),
            ("lossy-bitmap", "fire"),
        ] {
            assert!(
                check_one(&fixture(dir, case), "P004").is_empty(),
                "{dir}/{case}"
            );
        }
        for (name, plan) in corpus() {
            if name.contains("e_bitmap_lossy") || name.contains("a_seqscan_selective") {
                assert!(check_one(&plan, "P004").is_empty(), "{name}");
            }
        }
    }
}
