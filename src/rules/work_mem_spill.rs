//! `work-mem-spill`: a sort, hash or aggregate that did not fit in `work_mem` and spilled to disk,
//! with the `work_mem` that would have held it.
//!
//! What counts as a spill, per node:
//! - **Sort / Incremental Sort**: `Sort Space Type: Disk` or an `external …` sort method (also in
//!   any worker's figures). In memory the same rows need roughly 2–3× the on-disk size (tuple
//!   headers, the sort's array, palloc overhead), so the estimate is `disk kB × sort_memory_factor`.
//! - **Hash** (the inner side of a Hash Join): `Batches > 1`. Each batch held at most `Memory Usage`
//!   kB (the peak batch), so the whole hash table needs at most `memory × batches`; when the Hash
//!   wrote temp blocks, at most that peak plus twice what it wrote (a skewed key makes one batch
//!   far larger than the others, and `memory × batches` then claims gigabytes for megabytes). `Batches` above `Original Hash Batches`
//!   means the planner expected fewer rows (worth saying). The Hash Join above is not reported
//!   again (its temp blocks are the same spill).
//! - **HashAggregate**: `Disk Usage > 0` or `HashAgg Batches > 1`; needs about
//!   `(memory + disk) × hashagg_memory_factor`.
//! - **Any other node** that wrote temp blocks itself (exclusive buffers: Materialize, CTE Scan,
//!   WindowAgg, SetOp, tuplestores…): `temp written × 8 kB × 2`.
//!
//! The suggestion is rounded up to a power of two in MB. A hash table may use `work_mem ×
//! hash_mem_multiplier`; the multiplier is divided out when `EXPLAIN (SETTINGS)` printed it,
//! otherwise the figure assumes 1 (safe on any version). Spills below `min_spill_kb` are ignored.
//! The advice is always session or role level, never `ALTER SYSTEM`: every sort and hash node, in
//! every parallel worker, may use that much at once.

use super::util::{count, push_count, relation_name, setting, setting_kb, work_mem_for_kb};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};

/// One spill, measured.
struct Spill {
    what: String,
    /// kB written to disk (measured or estimated).
    spill_kb: f64,
    /// kB the operation would need in memory.
    need_kb: f64,
    batches: Option<f64>,
    original_batches: Option<f64>,
    hash: bool,
}

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_spill = ctx.threshold("min_spill_kb");
    let sort_factor = ctx.threshold("sort_memory_factor");
    let agg_factor = ctx.threshold("hashagg_memory_factor");
    let hash_mult = setting(plan, "hash_mem_multiplier")
        .and_then(|v| v.trim_matches('\'').parse::<f64>().ok())
        .filter(|m| *m >= 1.0)
        .unwrap_or(1.0);
    let current = setting(plan, "work_mem").and_then(setting_kb);

    let spills = find_spills(plan, sort_factor, agg_factor);

    for (id, s) in spills {
        if s.spill_kb < min_spill {
            continue;
        }
        let node = &plan.nodes[id];
        let need = if s.hash {
            s.need_kb / hash_mult
        } else {
            s.need_kb
        };
        let (mut suggest_kb, mut suggest) = work_mem_for_kb(need);
        if let Some(cur) = current {
            if suggest_kb <= cur {
                (suggest_kb, suggest) = work_mem_for_kb(cur * 2.0);
            }
        }
        // Written piece by piece into one buffer (no string per piece).
        let mut message = String::with_capacity(160 + s.what.len());
        node.write_label(&mut message);
        message.push_str(" spilled to disk: ");
        message.push_str(&s.what);
        message.push_str(", about ");
        push_count(&mut message, s.spill_kb);
        // "On disk", not "written": a sort's `Disk:` is the space its runs occupied at most, and
        // a multi-pass merge writes several times that.
        message.push_str(" kB on disk");
        if let (Some(b), Some(o)) = (s.batches, s.original_batches) {
            if b > o {
                message.push_str("; batches grew from ");
                push_count(&mut message, o);
                message.push_str(" to ");
                push_count(&mut message, b);
                message.push_str(" at run time (more rows than the planner expected)");
            }
        }
        message.push_str("; in memory it would need about ");
        push_count(&mut message, s.need_kb);
        message.push_str(" kB");
        if let Some(cur) = current {
            message.push_str(" (work_mem is ");
            push_count(&mut message, cur);
            message.push_str(" kB)");
        }

        let role_hint = "ALTER ROLE <role> SET work_mem = ";
        let mut advice = format!(
            "Give this query more memory for the session: `SET work_mem = '{suggest}';` before it \
             (or `SET LOCAL work_mem = '{suggest}'` inside its transaction), or for the role that \
             runs it: `{role_hint}'{suggest}';`. Do not raise it globally: every sort and hash \
             node of every running query, and each parallel worker, may use up to work_mem at once."
        );
        if s.hash {
            advice.push_str(
                " Hash tables may use work_mem × hash_mem_multiplier (2.0 by default since \
                 PostgreSQL 15), so raising hash_mem_multiplier for the session also helps.",
            );
        }
        if let (Some(b), Some(o)) = (s.batches, s.original_batches) {
            if b > o {
                advice.push_str(
                    " The batch count grew at run time: check the row estimate of the hashed \
                     input (ANALYZE its tables).",
                );
            }
        }
        if node.node_type.contains("Sort") {
            advice.push_str(
                " Alternatively, an index matching the sort order avoids the sort altogether.",
            );
        }
        let mut f = ctx
            .finding(plan, Some(id))
            .message(message)
            .advice(advice)
            .evidence("spill_kb", s.spill_kb)
            .evidence("estimated_memory_kb", s.need_kb)
            .evidence("suggested_work_mem", suggest.clone())
            .evidence("suggested_work_mem_kb", suggest_kb);
        if let Some(b) = s.batches {
            f = f.evidence("batches", b);
        }
        if let Some(o) = s.original_batches {
            f = f.evidence("original_batches", o);
        }
        if let Some(cur) = current {
            f = f.evidence("current_work_mem_kb", cur);
        }
        if let Some(rel) = relation_name(node) {
            f = f.evidence("relation", rel);
        }
        f.push(out);
    }
}

/// Every node that spilled, in node order, before the `min_spill_kb` floor.
fn find_spills(plan: &Plan, sort_factor: f64, agg_factor: f64) -> Vec<(usize, Spill)> {
    // Hash Joins whose Hash child is reported: their own temp blocks are the same spill.
    let mut covered = vec![false; plan.nodes.len()];
    let mut spills: Vec<(usize, Spill)> = Vec::new();
    for node in &plan.nodes {
        if node.never_executed {
            continue;
        }
        let s = sort_spill(node, sort_factor)
            .or_else(|| hash_spill(node))
            .or_else(|| agg_spill(node, agg_factor));
        if let Some(s) = s {
            if s.hash && node.node_type == "Hash" {
                if let Some(p) = node.parent {
                    covered[p] = true;
                }
            }
            covered[node.id] = true;
            spills.push((node.id, s));
        }
    }
    for node in &plan.nodes {
        if covered[node.id] || node.never_executed {
            continue;
        }
        if let Some(s) = temp_spill(node) {
            spills.push((node.id, s));
        }
    }
    spills.sort_by_key(|(id, _)| *id);
    spills
}

/// The nodes that spilled to disk and what spilled (`external merge on o.created_at`), by this
/// rule's tests but without its size floor: plan-regression findings ask whether a node spilled
/// at all, and must agree with this rule on what a spill is.
pub(crate) fn spilled_nodes(plan: &Plan) -> Vec<(usize, String)> {
    find_spills(plan, 1.0, 1.0)
        .into_iter()
        .map(|(id, s)| (id, s.what))
        .collect()
}

fn sort_spill(node: &Node, factor: f64) -> Option<Spill> {
    let d = node.details();
    // `contains("Sort")`, as a byte search: this runs for every node, where a substring
    // searcher's setup costs more than the search.
    if !node.node_type.as_bytes().windows(4).any(|w| w == b"Sort") {
        return None;
    }
    let disk = |method: Option<&str>, ty: Option<&str>| {
        ty == Some("Disk") || method.is_some_and(|m| m.starts_with("external"))
    };
    let mut kb: Option<f64> = None;
    let mut method = None;
    if disk(d.sort_method.as_deref(), d.sort_space_type.as_deref()) {
        kb = Some(d.sort_space_used_kb.unwrap_or(0.0));
        method = d.sort_method.clone();
    }
    for w in &d.workers {
        if disk(w.sort_method.as_deref(), w.sort_space_type.as_deref()) {
            let k = w.sort_space_used_kb.unwrap_or(0.0);
            if kb.is_none_or(|cur| k > cur) {
                kb = Some(k);
                method = method.or(w.sort_method.clone());
            }
        }
    }
    let mut kb = kb?;
    // Without a size (odd outputs), the temp blocks it wrote tell it.
    if kb <= 0.0 {
        kb = node
            .exclusive_buffers
            .map(|b| b.temp_written * 8.0)
            .unwrap_or(0.0);
    }
    Some(Spill {
        what: if d.sort_key.is_empty() {
            method.unwrap_or_else(|| "sort".into())
        } else {
            format!(
                "{} on {}",
                method.unwrap_or_else(|| "sort".into()),
                d.sort_key.join(", ")
            )
        },
        spill_kb: kb,
        need_kb: kb * factor,
        batches: None,
        original_batches: None,
        hash: false,
    })
}

fn hash_spill(node: &Node) -> Option<Spill> {
    let d = node.details();
    if node.node_type != "Hash" {
        return None;
    }
    let batches = d.hash_batches.filter(|b| *b > 1.0)?;
    let mem = d.peak_memory_kb.unwrap_or(0.0);
    let written = node
        .exclusive_buffers
        .map(|b| b.temp_written * 8.0)
        .filter(|w| *w > 0.0);
    let need = match written {
        Some(w) => (mem * batches).min(mem + 2.0 * w),
        None => mem * batches,
    };
    let spill = written.unwrap_or(need * (batches - 1.0) / batches);
    Some(Spill {
        what: format!(
            "hash table in {} batches of about {} kB each",
            count(batches),
            count(mem)
        ),
        spill_kb: spill,
        need_kb: need,
        batches: Some(batches),
        original_batches: d.original_hash_batches,
        hash: true,
    })
}

fn agg_spill(node: &Node, factor: f64) -> Option<Spill> {
    let d = node.details();
    if node.node_type != "Aggregate" {
        return None;
    }
    let disk = d.disk_usage_kb.unwrap_or(0.0);
    let batches = d.hashagg_batches.unwrap_or(0.0);
    if disk <= 0.0 && batches <= 1.0 {
        return None;
    }
    let mem = d.peak_memory_kb.unwrap_or(0.0);
    Some(Spill {
        what: format!(
            "hash aggregate in {} batches (Memory Usage {} kB)",
            count(batches),
            count(mem)
        ),
        spill_kb: disk,
        need_kb: (mem + disk) * factor,
        batches: (batches > 0.0).then_some(batches),
        original_batches: None,
        hash: true,
    })
}

fn temp_spill(node: &Node) -> Option<Spill> {
    let written = node.exclusive_buffers?.temp_written;
    if written <= 0.0 {
        return None;
    }
    // Gather/Gather Merge and plain joins pass temp blocks of their children up; only nodes that
    // keep tuplestores or spill on their own remain after the exclusive subtraction.
    let kb = written * 8.0;
    // A scan keeps no work_mem state of its own: its temp blocks come from what it calls (a
    // function in its filter or output list running its own queries).
    let scan = super::util::is_table_or_index_scan(node);
    Some(Spill {
        what: if scan {
            format!(
                "{} temp blocks written, not by the scan itself (it keeps nothing in work_mem) \
                 but by a function it calls in its filter or output",
                count(written)
            )
        } else {
            format!("{} temp blocks written", count(written))
        },
        spill_kb: kb,
        need_kb: kb * 2.0,
        batches: None,
        original_batches: None,
        hash: node.node_type.contains("Hash") || node.strategy.as_deref() == Some("Hashed"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};
    use super::super::util::work_mem_for_kb;

    const DIR: &str = "work-mem-spill";

    fn kb(f: &super::Finding, k: &str) -> f64 {
        f.evidence[k].as_f64().unwrap()
    }

    #[test]
    fn a_skewed_hash_is_not_sized_as_peak_times_batches() {
        // 1M duplicates of one key (pgsql-hackers, work_mem 4MB): one batch cannot be split, so
        // its 35 MB peak is no per-batch size; 2048 × 35 MB would claim 72 GB.
        let text = "\
Hash Join  (cost=27826.00..300076.30 rows=886000 width=0) (actual time=146.635..3619.685 rows=1001000 loops=1)
  Hash Cond: (r.i = s1k.i)
  Buffers: shared hit=6734 read=41984, temp read=49855 written=49855
  ->  Seq Scan on r  (cost=0.00..144294.76 rows=10000676 width=4) (actual time=0.201..1200.806 rows=10000000 loops=1)
        Buffers: shared hit=2304 read=41984
  ->  Hash  (cost=13290.00..13290.00 rows=886000 width=4) (actual time=145.449..145.450 rows=1001000 loops=1)
        Buckets: 262144 (originally 262144)  Batches: 2048 (originally 8)  Memory Usage: 35157kB
        Buffers: shared hit=4430, temp written=2930
        ->  Seq Scan on s1k  (cost=0.00..13290.00 rows=886000 width=4) (actual time=0.011..61.783 rows=1001000 loops=1)
              Buffers: shared hit=4430
Execution Time: 3674.128 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(kb(&f[0], "spill_kb"), 23440.0);
        // The 35 MB peak plus twice the 23 MB written, not 72 GB.
        assert_eq!(kb(&f[0], "estimated_memory_kb"), 35157.0 + 2.0 * 23440.0);
        assert_eq!(f[0].evidence["suggested_work_mem"], "128MB");
    }

    #[test]
    fn temp_blocks_of_a_scan_are_not_called_its_own_spill() {
        let text = "\
Index Scan using idea_1 on domains  (cost=0.56..8.59 rows=3407 width=60) (actual time=0.049..23.552 rows=8183 loops=1)
  Index Cond: ((domain ~>=~ 'hu'::text) AND (domain ~<~ 'hv'::text))
  Filter: (domain ~~ 'hu%'::text)
  Buffers: shared hit=710385, temp read=784 written=787
Execution Time: 23.826 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("not by the scan itself"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn external_sort() {
        let plan = fixture(DIR, "fire_sort");
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(plan.nodes[0].node_type, "Sort");
        assert_eq!(kb(&f[0], "spill_kb"), 9264.0);
        assert!(kb(&f[0], "suggested_work_mem_kb") >= 2.0 * 9264.0);
        assert_eq!(f[0].evidence["suggested_work_mem"], "32MB");
        // The in-memory sort of the same rows (quiet fixture) fits in the suggestion.
        let quiet = fixture(DIR, "quiet");
        assert!(
            quiet.nodes[0].details().sort_space_used_kb.unwrap()
                <= kb(&f[0], "suggested_work_mem_kb")
        );
        assert!(f[0].advice.contains("SET work_mem = '32MB'"));
        assert!(!f[0].advice.contains("ALTER SYSTEM"));
        assert!(
            f[0].message.contains("about 9,264 kB on disk"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn hash_join_batches() {
        let plan = fixture(DIR, "fire_hash");
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        let n = &plan.nodes[f[0].node.unwrap()];
        assert_eq!(n.node_type, "Hash");
        assert_eq!(f[0].evidence["batches"], 32.0);
        assert!(kb(&f[0], "suggested_work_mem_kb") >= 374.0 * 32.0);
        assert!(f[0].advice.contains("hash_mem_multiplier"));
    }

    #[test]
    fn hashagg_disk() {
        let plan = fixture(DIR, "fire_hashagg");
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(0));
        assert_eq!(kb(&f[0], "spill_kb"), 7000.0);
        assert!(kb(&f[0], "suggested_work_mem_kb") >= 7000.0);
    }

    #[test]
    fn enough_memory_is_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P003").is_empty());
    }

    #[test]
    fn parallel_worker_sort_and_settings() {
        let json = r#"[{"Plan": {"Node Type": "Gather Merge", "Actual Rows": 10, "Actual Loops": 1,
            "Workers Launched": 2, "Plans": [{"Node Type": "Sort", "Parent Relationship": "Outer",
            "Actual Rows": 5, "Actual Loops": 3, "Sort Key": ["x"], "Sort Method": "quicksort",
            "Sort Space Used": 25, "Sort Space Type": "Memory",
            "Workers": [{"Worker Number": 0, "Sort Method": "external merge",
                         "Sort Space Used": 5000, "Sort Space Type": "Disk"}]}]},
            "Settings": {"work_mem": "8MB"}}]"#;
        let plan = super::super::util::testing::plan_of(json);
        let f = check_one(&plan, "P003");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(1));
        assert_eq!(kb(&f[0], "spill_kb"), 5000.0);
        // 5000 × 3 = 15000 kB → 16MB, above the current 8MB.
        assert_eq!(f[0].evidence["suggested_work_mem"], "16MB");
        assert_eq!(kb(&f[0], "current_work_mem_kb"), 8192.0);
    }

    #[test]
    fn rounding() {
        assert_eq!(work_mem_for_kb(9264.0 * 3.0).1, "32MB");
        assert_eq!(work_mem_for_kb(0.0).1, "1MB");
        assert_eq!(work_mem_for_kb(f64::NAN).1, "1MB");
    }

    #[test]
    fn corpus_obvious_cases() {
        for (name, plan) in corpus() {
            let f = check_one(&plan, "P003");
            if (name.contains("c_sort_external_merge") || name.contains("d_hashjoin_batches"))
                && plan.analyzed()
            {
                assert_eq!(f.len(), 1, "{name}: {f:#?}");
            }
            if name.contains("c_sort_external_merge") && plan.analyzed() {
                let spill = f[0].evidence["spill_kb"].as_f64().unwrap();
                assert!(f[0].evidence["suggested_work_mem_kb"].as_f64().unwrap() >= spill);
            }
        }
    }
}
