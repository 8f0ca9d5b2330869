//! `heap-fetches`: an Index Only Scan that visited the heap for a large share of its rows, because
//! the table's visibility map is not set (the table was not vacuumed since it was loaded/changed).

use super::util::{self, round_to};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};
use std::ops::Range;

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_fetches = ctx.threshold("min_heap_fetches");
    let ratio_min = ctx.threshold("ratio");
    for node in &plan.nodes[nodes] {
        if node.node_type != "Index Only Scan" || node.never_executed {
            continue;
        }
        // `Heap Fetches` is a total over all loops (PostgreSQL prints the raw counter), unlike
        // rows, which are per loop.
        let Some(fetches) = node.details().heap_fetches else {
            continue;
        };
        let loops = node.loops();
        let returned = node.total_actual_rows().unwrap_or(0.0);
        let removed = node.rows_removed_by_filter.unwrap_or(0.0) * loops;
        let read = returned + removed;
        if fetches < min_fetches || fetches <= 0.0 {
            continue;
        }
        // A scan that returned nothing but fetched tuples: all of its heap visits were waste.
        let ratio = if read > 0.0 { fetches / read } else { 1.0 };
        if ratio < ratio_min {
            continue;
        }
        let table = table_name(node);
        let mut advice = format!(
            "Run `VACUUM (ANALYZE) {table};` to set the visibility map, so the scan can skip the \
             table. To keep it set, let autovacuum visit the table sooner: \
             `ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0.01);` and, on \
             PostgreSQL 13+ for insert-only or append-mostly tables, \
             `ALTER TABLE {table} SET (autovacuum_vacuum_insert_scale_factor = 0.01);`."
        );
        advice.push_str(
            " If VACUUM runs but pages stay not all-visible, look for what holds back the xmin \
             horizon: long-running transactions, stale replication slots, prepared transactions.",
        );
        let mut b = ctx
            .finding(plan, Some(node.id))
            .message(format!(
                "{} fetched {} heap tuples for {} rows read ({:.0}%): many pages it touched in \
                 {table} are not all-visible in the visibility map, so the index-only scan \
                 visits the table anyway",
                node.label(),
                util::whole(fetches),
                util::whole(read),
                ratio * 100.0
            ))
            .advice(advice)
            .evidence("heap_fetches", fetches)
            .evidence("rows_read", read)
            .evidence("ratio", round_to(ratio, 3))
            .evidence("table", table.clone());
        if let Some(idx) = &node.index {
            b = b.evidence("index", idx.clone());
        }
        if loops != 1.0 {
            b = b.evidence("loops", loops);
        }
        if let Some(ms) = node.inclusive_ms {
            b = b.evidence("scan_ms", round_to(ms, 3));
        }
        b.push(out);
    }
}

fn table_name(node: &Node) -> String {
    match (&node.schema, &node.relation) {
        (Some(s), Some(r)) => format!("{s}.{r}"),
        (None, Some(r)) => r.clone(),
        _ => "the table".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn fires_on_never_vacuumed_table() {
        let plan = load("rules/heap-fetches/fire.json");
        let f = check_one(&plan, "P007");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.node, Some(0));
        assert_eq!(
            f.path.as_deref(),
            Some("Index Only Scan using dirty_v_id_idx on dirty")
        );
        assert_eq!(f.evidence["heap_fetches"], 10000.0);
        assert_eq!(f.evidence["rows_read"], 10000.0);
        assert_eq!(f.evidence["ratio"], 1.0);
        assert_eq!(f.evidence["table"], "dirty");
        assert!(f.message.contains("10000 heap tuples"), "{}", f.message);
        assert!(f.advice.contains("VACUUM (ANALYZE) dirty"), "{}", f.advice);
        assert!(f.advice.contains("autovacuum_vacuum_insert_scale_factor"));
    }

    #[test]
    fn fires_on_partly_updated_table() {
        let plan = load("rules/heap-fetches/fire_partly.json");
        let f = check_one(&plan, "P007");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(f[0].evidence["table"], "partly");
        assert_eq!(
            f[0].evidence["heap_fetches"],
            plan.nodes[0].details().heap_fetches.unwrap()
        );
        let ratio = f[0].evidence["ratio"].as_f64().unwrap();
        assert!((0.3..0.9).contains(&ratio), "{ratio}");
    }

    #[test]
    fn quiet_when_few_pages_changed() {
        let plan = load("rules/heap-fetches/quiet_few.json");
        assert!(plan.nodes[0].details().heap_fetches.unwrap() > 0.0);
        assert!(check_one(&plan, "P007").is_empty());
    }

    #[test]
    fn quiet_after_vacuum() {
        let plan = load("rules/heap-fetches/quiet.json");
        assert_eq!(plan.nodes[0].details().heap_fetches, Some(0.0));
        assert!(check_one(&plan, "P007").is_empty());
    }

    #[test]
    fn thresholds_gate() {
        let mut plan = load("rules/heap-fetches/fire.json");
        // Below the minimum count.
        plan.nodes[0].details_mut().heap_fetches = Some(999.0);
        assert!(check_one(&plan, "P007").is_empty());
        // Above the count but a small share of the rows read.
        plan.nodes[0].details_mut().heap_fetches = Some(1500.0);
        assert!(check_one(&plan, "P007").is_empty());
        // Plans without ANALYZE print no Heap Fetches.
        plan.nodes[0].details_mut().heap_fetches = None;
        assert!(check_one(&plan, "P007").is_empty());
    }
}
