//! `hot-spot`: where the time went. One info finding per node whose exclusive time (see
//! `plan::derive`) is at least `min_share` of the statement, hottest first, at most `top_n`, each
//! saying what kind of work the node does with a short hint, and its buffers when it is I/O heavy.

use super::util::{self, round_to};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_share = ctx.threshold("min_share");
    let top_n = ctx.threshold("top_n").max(0.0) as usize;
    let min_total = ctx.threshold("min_total_ms");
    let io_heavy = ctx.threshold("io_heavy_blocks");
    // Shares are of the root's inclusive time (what `derive` computes them against).
    let Some(total) = plan.root().and_then(|r| r.inclusive_ms) else {
        return;
    };
    if total <= 0.0 || total < min_total {
        return;
    }
    let mut hot: Vec<(&Node, f64, f64)> = plan
        .nodes
        .iter()
        .filter_map(|n| {
            let ex = n.exclusive_ms?;
            let share = n.time_share?;
            (share >= min_share && ex > 0.0).then_some((n, ex, share))
        })
        .collect();
    hot.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    hot.truncate(top_n);
    // AFTER triggers (foreign-key checks among them) run after the plan tree finished: with them
    // the root's time is not the statement's, and shares are of the plan only. BEFORE triggers
    // run inside the writing node, so trigger times are not added to the total.
    let trigger_ms: f64 = plan.triggers.iter().filter_map(|t| t.time_ms).sum();
    let scope = if trigger_ms > 0.0 {
        "of the plan"
    } else {
        "of the statement"
    };

    for (rank, (node, ex, share)) in hot.into_iter().enumerate() {
        let (what, hint) = describe(plan, node);
        let mut message = format!(
            "{} spent {} of {} here ({:.0}% {scope}, by its own work): {what}",
            node.label(),
            util::ms(ex),
            util::ms(total),
            share * 100.0
        );
        let writes = matches!(
            node.node_type.as_str(),
            "Insert" | "Update" | "Delete" | "Merge" | "ModifyTable"
        );
        if writes && trigger_ms > 0.0 {
            if let Some(slowest) =
                plan.triggers
                    .iter()
                    .filter(|t| t.time_ms.is_some())
                    .max_by(|a, b| {
                        a.time_ms
                            .unwrap_or(0.0)
                            .total_cmp(&b.time_ms.unwrap_or(0.0))
                    })
            {
                message.push_str(&format!(
                    "; its triggers took {} (slowest: {} {}{}), the AFTER ones (foreign-key \
                     checks among them) on top of the plan's time",
                    util::ms(trigger_ms),
                    slowest.name,
                    util::ms(slowest.time_ms.unwrap_or(0.0)),
                    slowest
                        .calls
                        .map(|c| format!(" in {} calls", util::whole(c)))
                        .unwrap_or_default()
                ));
            }
        }
        let mut b = ctx
            .finding(plan, Some(node.id))
            .evidence("exclusive_ms", round_to(ex, 3))
            .evidence("share", round_to(share, 3))
            .evidence("total_ms", round_to(total, 3))
            .evidence("rank", (rank + 1) as u64)
            .evidence("node_type", node.node_type.clone());
        if let Some(rel) = &node.relation {
            b = b.evidence("relation", rel.clone());
        }
        if writes && trigger_ms > 0.0 {
            b = b.evidence("trigger_ms", round_to(trigger_ms, 3));
        }
        if node.loops() > 1.0 {
            b = b.evidence("loops", node.loops());
        }
        let mut advice = hint;
        // JIT compiles lazily, inside the node that first evaluates the compiled expressions.
        if let Some(jit) = plan.jit.as_ref().and_then(|j| j.total_ms) {
            if jit >= 0.5 * ex {
                message.push_str(&format!(
                    " (this includes the plan's JIT compilation, {jit:.1} ms in all, which runs \
                     inside the first nodes that evaluate compiled expressions)"
                ));
                advice.push_str(" Most of this is JIT compilation: see the JIT finding.");
                b = b.evidence("jit_total_ms", round_to(jit, 3));
            }
        }
        if let Some(eb) = node.exclusive_buffers {
            let read = eb.shared_read + eb.local_read;
            let temp = eb.temp_read + eb.temp_written;
            if read + temp >= io_heavy && read + temp > 0.0 {
                let mut io = Vec::new();
                if read > 0.0 {
                    io.push(format!(
                        "read {} blocks ({}) outside shared buffers",
                        read.round() as i64,
                        fmt_blocks(read)
                    ));
                }
                if temp > 0.0 {
                    io.push(format!(
                        "moved {} temp blocks ({}) through temporary files",
                        temp.round() as i64,
                        fmt_blocks(temp)
                    ));
                }
                if eb.shared_hit > 0.0 {
                    io.push(format!(
                        "{} blocks hit in cache",
                        eb.shared_hit.round() as i64
                    ));
                }
                message.push_str(&format!("; it {}", io.join(", ")));
                // Printed I/O timings are inclusive like times: keep this node's own share.
                let t = exclusive_read_ms(plan, node);
                if read > 0.0 && t >= 0.05 {
                    message.push_str(&format!(" (I/O read time {t:.1} ms)"));
                    b = b.evidence("io_read_ms", round_to(t, 3));
                }
                b = b
                    .evidence("blocks_read", read)
                    .evidence("temp_blocks", temp)
                    .evidence("blocks_hit", eb.shared_hit);
                if read > 0.0 {
                    advice.push_str(
                        " Much of its time is reading from disk or the OS cache: fewer pages \
                         (a more selective index, dropping unused columns from wide rows) or a \
                         larger `shared_buffers`/more RAM help more than CPU.",
                    );
                }
                let scan = super::util::is_table_or_index_scan(node);
                if temp > 0.0 && scan {
                    advice.push_str(
                        " Its temporary files come from a function it calls in its filter or \
                         output, not from the scan (which keeps nothing in work_mem): look there.",
                    );
                } else if temp > 0.0 && !advice.contains("work_mem") {
                    advice.push_str(
                        " It spilled to temporary files: more `work_mem` for the session keeps it \
                         in memory.",
                    );
                }
            }
        }
        b.message(message).advice(advice).push(out);
    }
}

/// What the node does, and a short hint about making that cheaper.
fn describe(plan: &Plan, n: &Node) -> (String, String) {
    let d = n.details();
    let table = n.relation.clone().unwrap_or_else(|| "a table".into());
    let rows = n
        .total_actual_rows()
        .map(util::whole)
        .unwrap_or_else(|| "?".into());
    let input = n
        .children
        .iter()
        .filter_map(|&c| plan.nodes.get(c))
        .find(|c| {
            !matches!(
                c.relationship.as_deref(),
                Some("InitPlan") | Some("SubPlan")
            )
        })
        .and_then(|c| c.total_actual_rows())
        .map(util::whole)
        // A truncated plan may lack the input node: "sorting the rows", not "sorting ? rows".
        .unwrap_or_else(|| "the".into());
    // Below a Gather, `loops` counts the processes running the node, not repeated runs.
    let processes = plan
        .ancestors(n.id)
        .find(|a| matches!(a.node_type.as_str(), "Gather" | "Gather Merge"))
        .map(|g| g.details().workers_launched.unwrap_or(0.0) + 1.0);
    let rescans = n.loops() / processes.unwrap_or(1.0).max(1.0);
    let loops = match processes {
        Some(p) if p > 1.0 && rescans <= 1.0 => {
            format!(" in {} parallel processes", util::whole(p))
        }
        _ if n.loops() > 1.0 => format!(" in {} loops", util::whole(n.loops())),
        _ => String::new(),
    };
    match n.node_type.as_str() {
        "Seq Scan" => {
            let removed = n
                .rows_removed_by_filter
                .map(|r| r * n.loops())
                .unwrap_or(0.0);
            let what = if removed > 0.0 {
                format!(
                    "scanning all of {table}{loops}, returning {rows} rows and discarding {} with its filter",
                    util::whole(removed)
                )
            } else {
                format!("scanning all of {table}{loops}, returning {rows} rows")
            };
            let total_rows = n.total_actual_rows().unwrap_or(0.0);
            let hint = if removed > total_rows {
                "Most rows read are thrown away: an index on the filtered columns reads only the \
                 ones wanted."
            } else if rescans > 1.0 {
                "The table is scanned again on every loop: an index on the join column lets each \
                 loop probe instead."
            } else {
                "A full scan is right when the query needs most of the table; otherwise index the \
                 columns it filters or joins on."
            };
            (what, hint.into())
        }
        "Index Scan" | "Index Only Scan" => {
            let idx = n.index.clone().unwrap_or_else(|| "an index".into());
            let kind = if n.node_type == "Index Only Scan" {
                "an index-only scan"
            } else {
                "an index scan"
            };
            let mut what = format!("{kind} of {table} using {idx}{loops}, returning {rows} rows");
            if let Some(h) = d.heap_fetches.filter(|h| *h > 0.0) {
                what.push_str(&format!(", {} heap fetches", util::whole(h)));
            }
            let hint = if rescans > 1.0 {
                "It is run once per outer row: the cost is the loop count; fewer outer rows or a \
                 hash join would run it less."
            } else if n.node_type == "Index Scan" {
                "Each row is a random heap visit: a covering index (`INCLUDE` the selected \
                 columns) allows an index-only scan; many rows may be cheaper as a bitmap or \
                 sequential scan."
            } else {
                "Index-only scans need the visibility map set (`VACUUM`) to avoid heap visits."
            };
            (what, hint.into())
        }
        "Bitmap Heap Scan" => {
            let mut what = format!(
                "reading the heap pages of {table} found by a bitmap{loops}, returning {rows} rows"
            );
            if let Some(l) = d.lossy_heap_blocks.filter(|l| *l > 0.0) {
                what.push_str(&format!(" ({} lossy blocks rechecked)", util::whole(l)));
            }
            (
                what,
                "Pages scattered across the table cost a visit each: a more selective index, or \
                 clustering the table on the indexed column, means fewer pages; lossy blocks \
                 mean `work_mem` is too small for the bitmap."
                    .into(),
            )
        }
        "Bitmap Index Scan" => (
            format!(
                "building a bitmap from index {}{loops}",
                n.index.clone().unwrap_or_default()
            ),
            "A large bitmap means the condition is not selective; a better index (more columns, \
             partial) narrows it."
                .into(),
        ),
        "Sort" | "Incremental Sort" => {
            let mut what = format!("sorting {input} rows");
            if !d.sort_key.is_empty() {
                what.push_str(&format!(" by {}", d.sort_key.join(", ")));
            }
            if let Some(m) = &d.sort_method {
                what.push_str(&format!(" ({m}"));
                if let (Some(kb), Some(t)) = (d.sort_space_used_kb, &d.sort_space_type) {
                    what.push_str(&format!(", {} kB {}", util::whole(kb), t.to_lowercase()));
                }
                what.push(')');
            }
            let spilled = d.sort_space_type.as_deref() == Some("Disk")
                || d.sort_method
                    .as_deref()
                    .is_some_and(|m| m.contains("external"));
            let hint = if spilled {
                "The sort spilled to disk: more `work_mem` keeps it in memory; an index in the \
                 sort order avoids the sort."
            } else {
                "An index matching the sort key returns rows already ordered (with a LIMIT it \
                 can stop early); otherwise sort fewer or narrower rows."
            };
            (what, hint.into())
        }
        "Hash" => {
            let mut what = format!("building a hash table from {input} rows");
            if let Some(b) = d.hash_batches.filter(|b| *b > 1.0) {
                what.push_str(&format!(" in {} batches", util::whole(b)));
            }
            let hint = if d.hash_batches.is_some_and(|b| b > 1.0) {
                "Several batches mean it did not fit in memory: raise `work_mem` (or \
                 `hash_mem_multiplier`)."
            } else {
                "The hashed side should be the smaller input: check the row estimates of both \
                 join inputs."
            };
            (what, hint.into())
        }
        "Hash Join" | "Merge Join" | "Nested Loop" => {
            let cond = d
                .hash_cond
                .as_ref()
                .or(d.merge_cond.as_ref())
                .or(d.join_filter.as_ref())
                .map(|c| format!(" on {c}"))
                .unwrap_or_default();
            let mut what = format!("joining{cond}{loops}, producing {rows} rows");
            if let Some(r) = d.rows_removed_by_join_filter.filter(|r| *r > 0.0) {
                what.push_str(&format!(
                    ", discarding {} rows with its join filter",
                    util::whole(r * n.loops())
                ));
            }
            (
                what,
                "The join's own work grows with the rows fed into it and the rows compared: \
                 filter the inputs earlier, and make sure a join filter is an indexable join \
                 condition."
                    .into(),
            )
        }
        "Aggregate" | "WindowAgg" | "Group" | "Unique" | "SetOp" => {
            let what = match n.node_type.as_str() {
                "WindowAgg" => format!("computing window functions over {input} rows"),
                "Unique" => format!("removing duplicates from {input} rows"),
                _ => format!("aggregating {input} rows into {rows}{loops}"),
            };
            let hint = if d.hashagg_batches.is_some_and(|b| b > 1.0) {
                "The hash aggregate spilled to disk: more `work_mem` keeps it in memory."
            } else {
                "Its cost follows the input rows and the aggregate expressions: aggregate fewer \
                 rows (filter first), or keep a summary table for repeated reports."
            };
            (what, hint.into())
        }
        "Gather" | "Gather Merge" => (
            format!("collecting {rows} rows from parallel workers"),
            "Time here is the leader waiting for workers and moving rows between processes: \
             aggregate or filter below the Gather so fewer rows cross it."
                .into(),
        ),
        "ModifyTable" => (
            format!(
                "{} rows of {table}",
                d.operation
                    .clone()
                    .unwrap_or_else(|| "writing".into())
                    .to_lowercase()
            ),
            "Writing pays for every index on the table, triggers, foreign-key checks and WAL: \
             drop unused indexes, batch the writes."
                .into(),
        ),
        "CTE Scan" => (
            format!(
                "reading CTE {}{loops}",
                d.cte_name.clone().unwrap_or_default()
            ),
            "A materialized CTE is computed once and read as a temporary result: without \
             `MATERIALIZED` (PostgreSQL 12+) the planner can push conditions into it."
                .into(),
        ),
        "Function Scan" => (
            format!(
                "running function {}{loops}",
                d.function_name.clone().unwrap_or_default()
            ),
            "The time is inside the function: profile it on its own.".into(),
        ),
        "Materialize" | "Memoize" => (
            format!("{} {input} rows{loops}", n.node_type.to_lowercase()),
            "Rescanning a stored result on every loop: an index on the inner join key lets the \
             planner probe instead."
                .into(),
        ),
        _ => (
            format!("its own work{loops}, producing {rows} rows"),
            "Look at what this node computes (expressions in its output, filters) and how many \
             rows pass through it."
                .into(),
        ),
    }
}

/// The node's I/O read time minus its children's (printed timings include the children).
fn exclusive_read_ms(plan: &Plan, n: &Node) -> f64 {
    let own = |x: &Node| x.io().shared_read_ms.unwrap_or(0.0) + x.io().local_read_ms.unwrap_or(0.0);
    let kids: f64 = n
        .children
        .iter()
        .filter_map(|&c| plan.nodes.get(c))
        .map(own)
        .sum();
    (own(n) - kids).max(0.0)
}

/// Blocks of 8 kB, readable.
fn fmt_blocks(blocks: f64) -> String {
    let mb = blocks * 8.0 / 1024.0;
    if mb >= 1024.0 {
        format!("{:.1} GB", mb / 1024.0)
    } else {
        format!("{mb:.1} MB")
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::check_one;
    use crate::rules::util::testing::load;

    #[test]
    fn names_the_sort() {
        let plan = load("rules/hot-spot/fire_sort.json");
        let f = check_one(&plan, "P012");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.path.as_deref(), Some("Limit > Sort"));
        assert_eq!(f.evidence["node_type"], "Sort");
        assert_eq!(f.evidence["rank"], 1);
        assert!(f.evidence["share"].as_f64().unwrap() > 0.8);
        assert!(
            f.message.contains("sorting 300000 rows by label"),
            "{}",
            f.message
        );
        assert!(
            f.advice.contains("index matching the sort key"),
            "{}",
            f.advice
        );
    }

    #[test]
    fn a_sort_without_its_input_node_says_no_question_mark() {
        // A plan pasted without its lower nodes: the Sort's input row count is unknown.
        let plan =
            super::super::util::testing::plan_of(super::super::util::testing::SORT_WITHOUT_INPUT);
        let f = check_one(&plan, "P012");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("sorting the rows by au.login"),
            "{}",
            f[0].message
        );
        assert!(!f[0].message.contains('?'), "{}", f[0].message);
    }

    #[test]
    fn trigger_time_is_named_and_shares_are_of_the_plan() {
        // The FK check (an AFTER trigger) ran after the plan: 20 ms of plan, 39.8 ms in all.
        let text = "\
Update on child  (cost=0.29..200.00 rows=0 width=0) (actual time=19.900..19.900 rows=0 loops=1)
  ->  Index Scan using child_pkey on child  (cost=0.29..200.00 rows=5057 width=14) (actual time=0.010..1.320 rows=5000 loops=1)
        Index Cond: (id <= 5000)
Planning Time: 0.320 ms
Trigger RI_ConstraintTrigger_c_17084 on child: time=19.300 calls=5000
Trigger child_touch on child: time=4.090 calls=5000
Execution Time: 39.800 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P012");
        let update = f.iter().find(|f| f.node == Some(0)).expect("Update is hot");
        assert!(
            update.message.contains("% of the plan,"),
            "{}",
            update.message
        );
        assert!(
            update
                .message
                .contains("slowest: RI_ConstraintTrigger_c_17084 19.3 ms in 5000 calls"),
            "{}",
            update.message
        );
        assert_eq!(update.evidence["trigger_ms"], 23.39);
    }

    #[test]
    fn a_scan_with_temp_blocks_is_not_told_to_raise_work_mem() {
        let text = "\
Index Scan using idea_1 on domains  (cost=0.56..8.59 rows=3407 width=60) (actual time=0.049..23.552 rows=8183 loops=1)
  Index Cond: ((domain ~>=~ 'hu'::text) AND (domain ~<~ 'hv'::text))
  Buffers: shared hit=5063706, temp written=864226
Execution Time: 23.826 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P012");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(!f[0].advice.contains("more `work_mem`"), "{}", f[0].advice);
        assert!(
            f[0].advice.contains("a function it calls"),
            "{}",
            f[0].advice
        );
    }

    #[test]
    fn names_the_parallel_scan_inside_a_cte() {
        let plan = load("rules/hot-spot/fire_parallel_cte.json");
        let f = check_one(&plan, "P012");
        assert!(!f.is_empty() && f.len() <= 3, "{f:#?}");
        // Hottest first, ranks in order, and every share above the threshold.
        for (i, x) in f.iter().enumerate() {
            assert_eq!(x.evidence["rank"], (i + 1) as u64);
            assert!(x.evidence["share"].as_f64().unwrap() >= 0.2);
        }
        let top = &f[0];
        assert_eq!(top.evidence["node_type"], "Seq Scan");
        assert_eq!(top.evidence["relation"], "items");
        assert!(top
            .path
            .as_deref()
            .unwrap()
            .contains("Parallel Seq Scan on items"));
        assert!(top.message.contains("discarding"), "{}", top.message);
        // The scan's wall-clock time cannot exceed the statement's.
        assert!(
            top.evidence["exclusive_ms"].as_f64().unwrap()
                <= top.evidence["total_ms"].as_f64().unwrap()
        );
        // The CTE's time is charged once, inside the CTE: neither CTE Scan is hot.
        assert!(
            f.iter().all(|x| x.evidence["node_type"] != "CTE Scan"),
            "{f:#?}"
        );
    }

    #[test]
    fn parallel_processes_are_not_loops() {
        let plan = load("rules/workers-not-launched/quiet.json");
        let f = check_one(&plan, "P012");
        let scan = f
            .iter()
            .find(|x| x.evidence["node_type"] == "Seq Scan")
            .unwrap();
        assert!(
            scan.message.contains("in 3 parallel processes"),
            "{}",
            scan.message
        );
        assert!(!scan.advice.contains("every loop"), "{}", scan.advice);
    }

    #[test]
    fn jit_time_is_pointed_out() {
        let plan = load("rules/jit-dominates/fire.json");
        let f = check_one(&plan, "P012");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["relation"], "small");
        assert!(f[0].message.contains("JIT compilation"), "{}", f[0].message);
    }

    #[test]
    fn io_time_is_the_nodes_own() {
        // The Hash Join spilled (temp blocks) but read nothing from disk itself: no read time.
        let plan = load("plans/generated/pg15-debian/d_hashjoin_batches.json");
        let f = check_one(&plan, "P012");
        let join = f
            .iter()
            .find(|x| x.evidence["node_type"] == "Hash Join")
            .unwrap();
        assert!(!join.evidence.contains_key("io_read_ms"), "{join:#?}");
        assert!(join.evidence["temp_blocks"].as_f64().unwrap() > 1000.0);
        assert_eq!(
            join.advice.matches("work_mem").count(),
            1,
            "{}",
            join.advice
        );
    }

    #[test]
    fn quiet_on_fast_lookup() {
        assert!(check_one(&load("rules/hot-spot/quiet.json"), "P012").is_empty());
    }

    #[test]
    fn reports_io_on_cold_scan() {
        // The corpus scan read 3354 blocks from disk.
        let plan = load("plans/generated/pg15-debian/a_seqscan_selective.json");
        let f = check_one(&plan, "P012");
        assert_eq!(f.len(), 1, "{f:#?}");
        let read = plan.nodes[0].buffers.unwrap().shared_read;
        if read >= 1000.0 {
            assert_eq!(f[0].evidence["blocks_read"], read);
            assert!(
                f[0].message.contains("outside shared buffers"),
                "{}",
                f[0].message
            );
        }
    }
}
