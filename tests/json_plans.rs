//! FORMAT JSON specifics: how the plans reach us (psql decorations, bare objects, several plans
//! and documents, one line), what PostgreSQL 13–18 print (fractional rows, never-executed nodes,
//! workers, JIT, triggers, settings, planning buffers and memory, serialization), the derived
//! times, and errors that name a line.

mod common;

use pgdiag::plan::parse_source;
use pgdiag::plan::{Node, Plan};

fn fixture(rel: &str) -> String {
    let p = common::root().join("fixtures/plans/generated").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn parse(text: &str) -> Vec<Plan> {
    parse_source("test", text).unwrap_or_else(|e| panic!("{e}"))
}

fn one(text: &str) -> Plan {
    let mut plans = parse(text);
    assert_eq!(plans.len(), 1, "expected one plan");
    plans.remove(0)
}

fn node<'a>(plan: &'a Plan, node_type: &str) -> &'a Node {
    plan.nodes
        .iter()
        .find(|n| n.node_type == node_type)
        .unwrap_or_else(|| panic!("no {node_type} node"))
}

fn approx(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6 * a.abs().max(b.abs()).max(1.0)
}

const SMALL: &str = r#"[{"Plan": {"Node Type": "Limit", "Plan Rows": 1, "Actual Total Time": 0.5,
  "Actual Rows": 1, "Actual Loops": 1,
  "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "t",
             "Alias": "t", "Plan Rows": 100, "Actual Total Time": 0.25, "Actual Rows": 1,
             "Actual Loops": 1}]},
  "Planning Time": 0.1, "Execution Time": 0.6}]"#;

// ---- how plans arrive ------------------------------------------------------------------------

#[test]
fn psql_output_with_header_and_plus_continuations() {
    let text = "\
                QUERY PLAN                 
-------------------------------------------
 [                                        +
   {                                      +
     \"Plan\": {                            +
       \"Node Type\": \"Limit\",              +
       \"Actual Rows\": 1,                  +
       \"Actual Loops\": 1,                 +
       \"Plans\": [                         +
         {                                +
           \"Node Type\": \"Seq Scan\",       +
           \"Relation Name\": \"pg_class\"    +
         }                                +
       ]                                  +
     },                                   +
     \"Execution Time\": 0.124              +
   }                                      +
 ]
(1 row)
";
    let p = one(text);
    assert_eq!(p.format, "json");
    assert_eq!(p.nodes.len(), 2);
    assert_eq!(p.nodes[1].relation.as_deref(), Some("pg_class"));
    assert_eq!(p.execution_ms, Some(0.124));
    // The plan starts on line 3 of the input, below the header and the dashes.
    assert_eq!(p.line, 3);
}

#[test]
fn a_psql_prompt_before_the_plan_is_skipped() {
    let text = format!("$ explain (analyze, format json) select 1;\n{SMALL}\n");
    let p = one(&text);
    assert_eq!(p.nodes.len(), 2);
    assert_eq!(p.line, 2);
}

#[test]
fn a_bare_object() {
    let text = r#"{"Plan": {"Node Type": "Result", "Plan Rows": 1}, "Planning Time": 0.02}"#;
    let p = one(text);
    assert_eq!(p.nodes.len(), 1);
    assert_eq!(p.nodes[0].node_type, "Result");
    assert_eq!(p.planning_ms, Some(0.02));
}

#[test]
fn an_array_with_several_plans() {
    let text = r#"[{"Plan": {"Node Type": "Result"}},
                   {"Plan": {"Node Type": "Seq Scan", "Relation Name": "a"}},
                   {"Plan": {"Node Type": "Index Scan", "Index Name": "a_pkey"}}]"#;
    let plans = parse(text);
    let types: Vec<_> = plans
        .iter()
        .map(|p| p.nodes[0].node_type.as_str())
        .collect();
    assert_eq!(types, ["Result", "Seq Scan", "Index Scan"]);
    let idx: Vec<_> = plans.iter().map(|p| p.index_in_source).collect();
    assert_eq!(idx, [0, 1, 2]);
    assert_eq!(plans[2].nodes[0].index.as_deref(), Some("a_pkey"));
}

#[test]
fn several_documents_in_one_file() {
    let text = format!("{SMALL}\n{SMALL}\n\n{{\"Plan\": {{\"Node Type\": \"Result\"}}}}\n");
    let plans = parse(&text);
    assert_eq!(plans.len(), 3);
    assert_eq!(plans[0].nodes.len(), 2);
    assert_eq!(plans[1].nodes.len(), 2);
    assert_eq!(plans[2].nodes[0].node_type, "Result");
    assert_eq!(plans[2].index_in_source, 2);
    // Each plan knows the line its document starts on.
    let n = SMALL.lines().count();
    let lines: Vec<_> = plans.iter().map(|p| p.line).collect();
    assert_eq!(lines, [1, n + 1, 2 * n + 2]);
}

#[test]
fn several_psql_outputs_in_one_file() {
    // As psql prints a one-column result: every line padded to the widest, `+` after the
    // padding, so the widest line has its `+` right after the text.
    let doc = ["[", "  {\"Plan\": {\"Node Type\": \"Result\"}}", "]"];
    let width = doc.iter().map(|l| l.len()).max().unwrap();
    let mut block = format!(
        "{:^w$}\n{}\n",
        "QUERY PLAN",
        "-".repeat(width + 2),
        w = width + 2
    );
    for (i, l) in doc.iter().enumerate() {
        let mark = if i + 1 < doc.len() { "+" } else { "" };
        block.push_str(&format!(" {l:<width$}{mark}\n"));
    }
    block.push_str("(1 row)\n\n");
    assert!(block.contains("}}+\n"), "{block}");
    let plans = parse(&block.repeat(2));
    assert_eq!(plans.len(), 2);
    // Each plan starts on its `[` line of the input: 7 lines per block.
    assert_eq!((plans[0].line, plans[1].line), (3, 10));
}

#[test]
fn one_line_json() {
    let text = SMALL.replace('\n', " ");
    assert!(!text.contains('\n'));
    let p = one(&text);
    assert_eq!(p.nodes.len(), 2);
    assert_eq!(p.nodes[1].parent, Some(0));
    assert_eq!(p.nodes[1].depth, 1);
    assert_eq!(p.nodes[0].children, [1]);
    assert_eq!(p.line, 1);
}

// ---- what PostgreSQL prints ------------------------------------------------------------------

#[test]
fn pg18_fractional_rows() {
    let p = one(&fixture("pg18/h_parallel_seqscan.json"));
    let scan = node(&p, "Seq Scan");
    assert_eq!(scan.actual_rows, Some(74073.33));
    assert_eq!(scan.actual_loops, Some(3.0));
    assert!(approx(scan.total_actual_rows().unwrap(), 74073.33 * 3.0));
    assert!(scan.parallel_aware);
}

#[test]
fn never_executed_nodes() {
    let text = r#"[{"Plan": {"Node Type": "Nested Loop", "Join Type": "Inner",
      "Plan Rows": 10, "Actual Total Time": 0.05, "Actual Rows": 0, "Actual Loops": 1,
      "Plans": [
        {"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "a",
         "Plan Rows": 5, "Actual Total Time": 0.04, "Actual Rows": 0, "Actual Loops": 1},
        {"Node Type": "Index Scan", "Parent Relationship": "Inner", "Relation Name": "b",
         "Index Name": "b_pkey", "Plan Rows": 1, "Actual Startup Time": 0.0,
         "Actual Total Time": 0.0, "Actual Rows": 0, "Actual Loops": 0}]}}]"#;
    let p = one(text);
    let idx = node(&p, "Index Scan");
    assert!(idx.never_executed);
    assert!(idx.analyzed());
    assert_eq!(idx.loops(), 0.0);
    assert_eq!(idx.inclusive_ms, Some(0.0));
    assert_eq!(idx.exclusive_ms, Some(0.0));
    assert_eq!(idx.estimate_factor(), None);
    assert!(!node(&p, "Seq Scan").never_executed);
}

#[test]
fn workers_of_a_parallel_plan() {
    let p = one(&fixture("pg16/h_parallel_seqscan.verbose.json"));
    let gather = node(&p, "Gather");
    assert_eq!(gather.details().workers_planned, Some(2.0));
    assert_eq!(gather.details().workers_launched, Some(2.0));
    let scan = node(&p, "Seq Scan");
    let w: Vec<_> = scan
        .details()
        .workers
        .iter()
        .map(|w| (w.number, w.actual_rows, w.actual_loops))
        .collect();
    assert_eq!(
        w,
        [(0, Some(85810.0), Some(1.0)), (1, Some(83859.0), Some(1.0))]
    );
    // Below a Gather with two workers and the leader, time is per process: 100.04 ms × 3 loops
    // over 3 processes.
    assert!(approx(scan.inclusive_ms.unwrap(), 100.04));
}

#[test]
fn jit_pg15_and_pg17_shapes() {
    let pg15 = r#"[{"Plan": {"Node Type": "Result"},
      "JIT": {"Functions": 4,
              "Options": {"Inlining": false, "Optimization": false, "Expressions": true, "Deforming": true},
              "Timing": {"Generation": 0.9, "Inlining": 0.0, "Optimization": 0.4, "Emission": 5.6, "Total": 6.9}},
      "Execution Time": 10.0}]"#;
    let j = one(pg15).jit.expect("JIT");
    assert_eq!(j.functions, Some(4.0));
    assert_eq!(
        (j.inlining, j.optimization, j.expressions, j.deforming),
        (Some(false), Some(false), Some(true), Some(true))
    );
    assert_eq!(j.generation_ms, Some(0.9));
    assert_eq!(j.emission_ms, Some(5.6));
    assert_eq!(j.total_ms, Some(6.9));
    assert_eq!(j.deform_ms, None);

    let pg17 = r#"[{"Plan": {"Node Type": "Result"},
      "JIT": {"Functions": 2,
              "Options": {"Inlining": true, "Optimization": true, "Expressions": true, "Deforming": true},
              "Timing": {"Generation": {"Deform": 0.1, "Total": 0.5}, "Inlining": 3.0,
                         "Optimization": 20.5, "Emission": 9.5, "Total": 33.5}}}]"#;
    let j = one(pg17).jit.expect("JIT");
    assert_eq!(j.generation_ms, Some(0.5));
    assert_eq!(j.deform_ms, Some(0.1));
    assert_eq!(j.inlining_ms, Some(3.0));
    assert_eq!(j.optimization_ms, Some(20.5));
    assert_eq!(j.total_ms, Some(33.5));
}

#[test]
fn triggers() {
    let p = one(&fixture("pg18/k_update_fk_triggers.full.json"));
    assert_eq!(p.triggers.len(), 2);
    let fk = &p.triggers[0];
    assert_eq!(fk.name, "RI_ConstraintTrigger_c_17084");
    assert_eq!(fk.constraint_name.as_deref(), Some("child_parent_id_fkey"));
    assert_eq!(fk.relation.as_deref(), Some("child"));
    assert_eq!(fk.time_ms, Some(23.34));
    assert_eq!(fk.calls, Some(5000.0));
    assert_eq!(p.triggers[1].name, "child_touch");
    assert_eq!(p.triggers[1].constraint_name, None);
    let root = &p.nodes[0];
    assert_eq!(root.node_type, "ModifyTable");
    assert_eq!(root.details().operation.as_deref(), Some("Update"));
    assert_eq!(root.label(), "Update on public.child");
}

#[test]
fn settings_query_identifier_planning_and_serialization() {
    let p = one(&fixture("pg18/k_update_fk_triggers.full.json"));
    assert_eq!(
        p.settings,
        [(
            "max_parallel_workers_per_gather".to_string(),
            "0".to_string()
        )]
    );
    assert_eq!(p.query_identifier.as_deref(), Some("7542365708339302486"));
    let b = p.planning_buffers.expect("planning buffers");
    assert_eq!(b.shared_hit, 72.0);
    assert_eq!(b.shared_read, 0.0);
    assert_eq!(p.planning_memory_used_kb, Some(12.0));
    assert_eq!(p.planning_memory_allocated_kb, Some(16.0));
    assert_eq!(p.planning_ms, Some(0.314));
    assert_eq!(p.execution_ms, Some(45.912));
    let s = p.serialization.expect("serialization");
    assert_eq!(s.format.as_deref(), Some("text"));
    assert_eq!(s.time_ms, Some(0.0));

    let p = one(&fixture("pg18/c_sort_external_merge.full.json"));
    let s = p.serialization.expect("serialization");
    assert_eq!((s.time_ms, s.output_kb), (Some(29.943), Some(6272.0)));
    let sort = &p.nodes[0];
    assert_eq!(
        sort.details().sort_method.as_deref(),
        Some("external merge")
    );
    assert_eq!(sort.details().sort_space_used_kb, Some(6152.0));
    assert_eq!(sort.disabled, Some(false));
}

#[test]
fn io_timings_old_and_new_spelling() {
    // PG 13: `I/O Read Time` (shared + local, kept as shared); planning buffers without memory.
    let p = one(&fixture("pg13/a_seqscan_selective.json"));
    let root = &p.nodes[0];
    assert_eq!(root.io().shared_read_ms, Some(13.497));
    assert_eq!(root.io().shared_write_ms, Some(8.214));
    let b = root.buffers.expect("buffers");
    assert_eq!(
        (b.shared_hit, b.shared_read, b.shared_dirtied),
        (5948.0, 3398.0, 4539.0)
    );
    assert_eq!(p.planning_buffers.map(|b| b.shared_hit), Some(92.0));
    assert_eq!(p.planning_memory_used_kb, None);
    // PG 17: `Shared I/O Read Time` and friends.
    let p = one(&fixture("pg17/a_seqscan_selective.full.json"));
    let io = *p.nodes[0].io();
    assert_eq!(io.shared_read_ms, Some(8.515));
    assert_eq!(io.local_read_ms, Some(0.0));
    assert_eq!(io.temp_write_ms, Some(0.0));
}

// ---- derived times ---------------------------------------------------------------------------

fn is_parallel(p: &Plan) -> bool {
    p.nodes
        .iter()
        .any(|n| n.node_type == "Gather" || n.node_type == "Gather Merge")
}

#[test]
fn derived_times_add_up_on_every_fixture() {
    let dir = common::root().join("fixtures/plans/generated");
    let files = common::files_with_ext(&dir, &["json"]);
    assert!(files.len() > 50, "fixtures missing: {}", files.len());
    let mut checked_sum = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let plans = parse_source(&f.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
        for p in &plans {
            for n in &p.nodes {
                if let Some(e) = n.exclusive_ms {
                    assert!(e >= 0.0, "{}: node {} exclusive {e}", f.display(), n.id);
                    assert!(
                        e <= n.inclusive_ms.unwrap() + 1e-9,
                        "{}: node {} exclusive above inclusive",
                        f.display(),
                        n.id
                    );
                }
                if let Some(s) = n.time_share {
                    assert!((0.0..=1.0).contains(&s), "{}: share {s}", f.display());
                }
            }
            if !p.analyzed() || is_parallel(p) {
                continue;
            }
            let root = p.nodes[0].inclusive_ms.expect("root inclusive time");
            let sum: f64 = p.nodes.iter().filter_map(|n| n.exclusive_ms).sum();
            // Printed times are per-loop averages with three decimals, so each node's inclusive
            // time is known to ±0.0005 ms × loops; clamping a negative exclusive time at zero can
            // only add that much.
            let slack: f64 = p
                .nodes
                .iter()
                .map(|n| 0.001 * n.loops().max(1.0))
                .sum::<f64>()
                + 1e-9;
            assert!(
                (sum - root).abs() <= slack,
                "{}: Σ exclusive {sum} vs root inclusive {root}",
                f.display()
            );
            checked_sum += 1;
        }
    }
    assert!(
        checked_sum > 30,
        "only {checked_sum} non-parallel analysed plans checked"
    );
}

#[test]
fn inclusive_and_exclusive_time_of_a_nested_loop() {
    let p = one(&fixture("pg18/g_nestloop_many_loops.json"));
    let nl = &p.nodes[0];
    assert_eq!(nl.node_type, "Nested Loop");
    let inner = &p.nodes[2];
    assert_eq!(inner.actual_loops, Some(20000.0));
    // Inclusive = per-loop time × loops.
    assert!(approx(
        inner.inclusive_ms.unwrap(),
        inner.actual_total_ms.unwrap() * 20000.0
    ));
    let kids = p.nodes[1].inclusive_ms.unwrap() + inner.inclusive_ms.unwrap();
    let expect = (nl.inclusive_ms.unwrap() - kids).max(0.0);
    assert!(approx(nl.exclusive_ms.unwrap(), expect));
}

/// An Aggregate over an Index Scan whose `Index Cond` uses an InitPlan's result (the shape of
/// pev2's `cte-exclusive-time-05`): the InitPlan runs inside the Index Scan.
fn initplan_plan(name: &str, param: &str, parent_filter: Option<&str>) -> String {
    let filter = parent_filter.map_or(String::new(), |f| format!(r#""One-Time Filter": "{f}","#));
    format!(
        r#"[{{"Plan": {{"Node Type": "Aggregate", {filter} "Actual Total Time": 1938.292, "Actual Loops": 1, "Actual Rows": 1,
      "Plans": [
        {{"Node Type": "Result", "Parent Relationship": "InitPlan", "Subplan Name": "{name}",
          "Actual Total Time": 1736.419, "Actual Loops": 1, "Actual Rows": 1,
          "Plans": [{{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Relation Name": "u",
                     "Actual Total Time": 1700.0, "Actual Loops": 1, "Actual Rows": 5}}]}},
        {{"Node Type": "Index Scan", "Parent Relationship": "Outer", "Relation Name": "vendor",
          "Index Name": "pk_vendor", "Index Cond": "(id = ANY ({param}))",
          "Actual Total Time": 1931.1, "Actual Loops": 1, "Actual Rows": 10}}]}}}}]"#
    )
}

#[test]
fn an_initplan_used_by_a_sibling_is_counted_once() {
    for (name, param) in [
        ("InitPlan 2 (returns $1)", "$1"),
        ("InitPlan 2", "(InitPlan 2).col1"),
    ] {
        let p = one(&initplan_plan(name, param, None));
        let ex: Vec<f64> = p.nodes.iter().map(|n| n.exclusive_ms.unwrap()).collect();
        // Aggregate: 1938.292 − 1931.1 (the Index Scan, InitPlan inside it).
        assert!(approx(ex[0], 1938.292 - 1931.1), "{name}: {ex:?}");
        assert!(approx(ex[1], 1736.419 - 1700.0), "{name}: {ex:?}");
        // Index Scan: its own time without the InitPlan it ran.
        assert!(approx(ex[3], 1931.1 - 1736.419), "{name}: {ex:?}");
        let sum: f64 = ex.iter().sum();
        assert!(approx(sum, 1938.292), "{name}: Σ {sum}");
    }
    // `$1` is not `$10`: no sibling uses this InitPlan, the parent subtracts it as before.
    let p = one(&initplan_plan("InitPlan 2 (returns $1)", "$10", None));
    assert_eq!(p.nodes[0].exclusive_ms, Some(0.0));
    assert!(approx(p.nodes[3].exclusive_ms.unwrap(), 1931.1));
    // The parent uses the parameter itself: evaluated there, the parent subtracts it.
    let p = one(&initplan_plan("InitPlan 2 (returns $1)", "$1", Some("$1")));
    assert_eq!(p.nodes[0].exclusive_ms, Some(0.0));
}

#[test]
fn exclusive_time_is_clamped_at_zero() {
    // A child printed longer than its parent (rounding, per-process averages).
    let text = r#"[{"Plan": {"Node Type": "Limit", "Actual Total Time": 1.0, "Actual Loops": 1,
      "Actual Rows": 1,
      "Plans": [{"Node Type": "Seq Scan", "Actual Total Time": 1.2, "Actual Loops": 1,
                 "Actual Rows": 1}]}}]"#;
    let p = one(text);
    assert_eq!(p.nodes[0].exclusive_ms, Some(0.0));
    assert_eq!(p.nodes[1].exclusive_ms, Some(1.2));
}

// ---- errors ----------------------------------------------------------------------------------

#[test]
fn malformed_json_is_rejected_with_its_line() {
    let text = "[\n  {\n    \"Plan\": {\n      \"Node Type\": \"Limit\",,\n    }\n  }\n]\n";
    let e = parse_source("bad.json", text).unwrap_err();
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.to_string().starts_with("bad.json:4: "), "{e}");

    // Truncated.
    let e = parse_source(
        "cut.json",
        "[{\"Plan\": {\"Node Type\": \"Limit\",\n\"Plans\": [\n",
    )
    .unwrap_err();
    assert!(e.line.is_some_and(|l| l >= 2), "{e}");

    // Inside psql decorations the line is the line of the input file.
    let text = "   QUERY PLAN\n--------------\n [                  +\n   {\"Plan\": {       +\n     \"Node Type\": 1 2 +\n   }}               +\n ]\n(1 row)\n";
    let e = parse_source("psql.json", text).unwrap_err();
    assert_eq!(e.line, Some(5), "{e}");

    // The second document of a file is broken: its line, not the first document's.
    let text = format!("{SMALL}\n[{{\"Plan\": {{\"Node Type\": }}}}]\n");
    let e = parse_source("two.json", &text).unwrap_err();
    assert_eq!(e.line, Some(SMALL.lines().count() + 1), "{e}");
}

#[test]
fn json_that_is_not_a_plan_is_rejected() {
    let e = parse_source("x.json", "[]").unwrap_err();
    assert!(e.message.contains("plan"), "{e}");
    let e = parse_source("x.json", r#"[{"Query": 1}]"#).unwrap_err();
    assert!(e.message.contains("Plan"), "{e}");
    let e = parse_source("x.json", r#"[{"Plan": {"Total Cost": 1}}]"#).unwrap_err();
    assert!(e.message.contains("Node Type"), "{e}");
}
