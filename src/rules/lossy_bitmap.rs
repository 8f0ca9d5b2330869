//! `lossy-bitmap`: a Bitmap Heap Scan whose bitmap did not fit in `work_mem` and went lossy.
//!
//! A TID bitmap keeps one entry per heap page (about 48 bytes, plus two pointers of hash-table
//! overhead: ~64 bytes) while it is exact. When the entries would exceed `work_mem`, PostgreSQL
//! turns pages into lossy chunks that only say "something on this page matches", so every row on
//! those pages is read and rechecked (`Rows Removed by Index Recheck`).
//!
//! Fires when `Heap Blocks: lossy` ≥ `min_lossy_blocks`. The suggested `work_mem` is
//! `(exact + lossy pages) × bytes_per_page × 1.5` (headroom: the bitmap starts lossifying before it
//! is full), rounded up to a power of two in MB.

use super::util::{count, pct, relation_name, setting, setting_kb, work_mem_for_kb};
use super::{Finding, RuleCtx};
use crate::plan::Plan;
use std::ops::Range;

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_lossy = ctx.threshold("min_lossy_blocks");
    let bytes_per_page = ctx.threshold("bytes_per_page");
    let current = setting(plan, "work_mem").and_then(setting_kb);
    for node in &plan.nodes[nodes] {
        if node.node_type != "Bitmap Heap Scan" || node.never_executed {
            continue;
        }
        let d = node.details();
        let lossy = d.lossy_heap_blocks.unwrap_or(0.0);
        if lossy <= 0.0 || lossy < min_lossy {
            continue;
        }
        let exact = d.exact_heap_blocks.unwrap_or(0.0);
        let pages = exact + lossy;
        let need_kb = pages * bytes_per_page * 1.5 / 1024.0;
        let (mut suggest_kb, mut suggest) = work_mem_for_kb(need_kb);
        if let Some(cur) = current {
            if suggest_kb <= cur {
                (suggest_kb, suggest) = work_mem_for_kb(cur * 2.0);
            }
        }
        let rechecked = d.rows_removed_by_index_recheck.map(|r| r * node.loops());
        let mut message = format!(
            "{}: {} of {} heap blocks ({}) were lossy, so every row on them was read and \
             rechecked against {}",
            node.label(),
            count(lossy),
            count(pages),
            pct(lossy / pages),
            d.recheck_cond.as_deref().unwrap_or("the condition"),
        );
        if let Some(r) = rechecked {
            message.push_str(&format!(
                "; {} rows removed by the recheck, {} returned",
                count(r),
                count(node.total_actual_rows().unwrap_or(0.0))
            ));
        }
        if let Some(ms) = node.inclusive_ms {
            message.push_str(&format!(" ({ms:.1} ms)"));
        }
        let table = relation_name(node).unwrap_or_else(|| "the table".into());
        let advice = format!(
            "The bitmap needs roughly {} kB to stay exact for {} pages: raise work_mem for the \
             session, `SET work_mem = '{suggest}';` (or `SET LOCAL` in the transaction, or \
             `ALTER ROLE <role> SET work_mem = '{suggest}'`), not globally. Or make the bitmap \
             cover fewer pages: a more selective (multicolumn) index on {table} matching more of \
             the WHERE clause, or rows stored in index order (CLUSTER) so matches share pages.",
            count(need_kb.ceil()),
            count(pages)
        );
        let mut f = ctx
            .finding(plan, Some(node.id))
            .message(message)
            .advice(advice)
            .evidence("lossy_heap_blocks", lossy)
            .evidence("exact_heap_blocks", exact)
            .evidence("estimated_bitmap_kb", need_kb)
            .evidence("suggested_work_mem", suggest.clone())
            .evidence("suggested_work_mem_kb", suggest_kb);
        if let Some(r) = rechecked {
            f = f.evidence("rows_removed_by_index_recheck", r);
        }
        if let Some(cur) = current {
            f = f.evidence("current_work_mem_kb", cur);
        }
        f.push(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};

    const DIR: &str = "lossy-bitmap";

    #[test]
    fn lossy_fires_with_work_mem() {
        let plan = fixture(DIR, "fire");
        let f = check_one(&plan, "P006");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(plan.nodes[f[0].node.unwrap()].node_type, "Bitmap Heap Scan");
        assert_eq!(f[0].evidence["lossy_heap_blocks"], 1553.0);
        assert_eq!(f[0].evidence["rows_removed_by_index_recheck"], 189883.0);
        // 2206 pages × 64 B × 1.5 ≈ 207 kB → 1MB; the quiet run had 4MB and stayed exact.
        assert_eq!(f[0].evidence["suggested_work_mem"], "1MB");
        assert!(f[0].message.contains("1,553 of 2,206"), "{}", f[0].message);
    }

    #[test]
    fn exact_bitmap_is_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P006").is_empty());
    }

    #[test]
    fn corpus_obvious_cases() {
        for (name, plan) in corpus() {
            let f = check_one(&plan, "P006");
            if name.contains("e_bitmap_lossy") && plan.analyzed() {
                assert_eq!(f.len(), 1, "{name}");
            }
            if !name.contains("e_bitmap_lossy") {
                assert!(f.is_empty(), "{name}");
            }
        }
    }
}
