//! Text plans: every generated text plan equals its JSON twin; every real-world text plan parses
//! (or is one of the few known-broken files, rejected with a line number).

mod common;

use std::path::{Path, PathBuf};

use pgdiag::plan::model::{Node, Plan};
use pgdiag::plan::parse_source;

fn read(p: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned()
}

fn parse_file(p: &Path) -> Result<Vec<Plan>, pgdiag::plan::parse::ParseError> {
    parse_source(&p.display().to_string(), &read(p))
}

/// The fields a text plan and a JSON plan of the same statement must agree on.
fn shape(n: &Node, with_plan_rows: bool) -> String {
    let f = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    format!(
        "#{} parent={:?} depth={} type={} join={:?} strategy={:?} partial={:?} parallel={} rel={:?} alias={:?} schema={:?} index={:?} cte={:?} fn={:?} op={:?} dir={:?} relationship={:?} subplan={:?} plan_rows={} loops={} never={} workers_planned={} workers={}",
        n.id,
        n.parent,
        n.depth,
        n.node_type,
        n.join_type,
        n.strategy,
        n.partial_mode,
        n.parallel_aware,
        n.relation,
        n.alias,
        n.schema,
        n.index,
        n.details().cte_name,
        n.details().function_name,
        n.details().operation,
        n.details().scan_direction,
        n.relationship,
        n.details().subplan_name,
        if with_plan_rows { f(n.plan_rows) } else { "-".into() },
        f(n.actual_loops),
        n.never_executed,
        f(n.details().workers_planned),
        n.details().workers.len(),
    )
}

/// Actual rows can differ between two runs of a parallel plan (workers share the rows
/// differently), so they are compared only where the run is deterministic.
fn rows(n: &Node) -> Option<f64> {
    n.actual_rows
}

/// Text plans with a JSON twin of the same statement: the shared generated corpus, the node-shape
/// fixtures and the rule fixtures (all from real servers).
fn generated_txt() -> Vec<PathBuf> {
    [
        "fixtures/plans/generated",
        "fixtures/shapes",
        "fixtures/rules",
    ]
    .iter()
    .flat_map(|d| common::files_with_ext(&common::root().join(d), &["txt"]))
    .collect()
}

fn plan_has_buffers(p: &Plan) -> bool {
    p.nodes.iter().any(|n| n.buffers.is_some())
}

fn twin_of(txt: &Path) -> PathBuf {
    let name = txt.file_name().unwrap().to_str().unwrap();
    let stem = name
        .trim_end_matches(".txt")
        .trim_end_matches(".psql_aligned");
    txt.with_file_name(format!("{stem}.json"))
}

#[test]
fn generated_text_plans_equal_their_json_twins() {
    let files = generated_txt();
    assert!(
        files.len() > 100,
        "expected the generated corpus, found {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for txt in &files {
        let twin = twin_of(txt);
        let text_plans = match parse_file(txt) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", txt.display()));
                continue;
            }
        };
        let json_plans = parse_file(&twin).unwrap_or_else(|e| panic!("{}: {e}", twin.display()));
        assert_eq!(text_plans.len(), json_plans.len(), "{}", txt.display());
        for (t, j) in text_plans.iter().zip(&json_plans) {
            assert_eq!(t.format, "text");
            if t.nodes.len() != j.nodes.len() {
                failures.push(format!(
                    "{}: {} nodes, JSON twin has {}",
                    txt.display(),
                    t.nodes.len(),
                    j.nodes.len()
                ));
                continue;
            }
            let parallel = j
                .nodes
                .iter()
                .any(|n| n.details().workers_planned.is_some());
            // The UPDATE case changes its table between the text and the JSON run, so the
            // estimates drift; everything else is planned on identical data.
            let est = !txt.file_name().unwrap().to_str().unwrap().starts_with("k_");
            for (a, b) in t.nodes.iter().zip(&j.nodes) {
                if shape(a, est) != shape(b, est) {
                    failures.push(format!(
                        "{}:\n  text {}\n  json {}",
                        txt.display(),
                        shape(a, est),
                        shape(b, est)
                    ));
                }
                if !parallel && rows(a) != rows(b) {
                    failures.push(format!(
                        "{}: node {} actual rows {:?} vs {:?}",
                        txt.display(),
                        a.id,
                        rows(a),
                        rows(b)
                    ));
                }
                // Properties present in one are present in the other. Text cannot show buffers
                // that are all zero when no node of the plan touched a block.
                let json_buffers = b.buffers.filter(|x| !x.is_zero() || plan_has_buffers(t));
                assert_eq!(
                    a.buffers.is_some(),
                    json_buffers.is_some(),
                    "{} node {} buffers",
                    txt.display(),
                    a.id
                );
                // The same property on both sides: `same!(details().sort_method)`.
                macro_rules! same {
                    ($($field:tt)+) => {
                        assert_eq!(
                            a.$($field)+,
                            b.$($field)+,
                            "{} node {}: {}",
                            txt.display(),
                            a.id,
                            stringify!($($field)+)
                        )
                    };
                }
                same!(details().sort_method);
                same!(details().sort_space_type);
                same!(details().hash_batches);
                same!(filter);
                same!(index_cond);
                same!(details().hash_cond);
                same!(details().sort_key);
                same!(output);
                assert_eq!(
                    a.details().workers.len(),
                    b.details().workers.len(),
                    "{} node {} workers",
                    txt.display(),
                    a.id
                );
                // PG 18 JSON prints `"Disabled": false` on every node; text only `Disabled: true`.
                assert_eq!(
                    a.disabled.unwrap_or(false),
                    b.disabled.unwrap_or(false),
                    "{} node {}",
                    txt.display(),
                    a.id
                );
                same!(details().storage);
            }
            assert_eq!(
                t.planning_ms.is_some(),
                j.planning_ms.is_some(),
                "{}",
                txt.display()
            );
            assert_eq!(
                t.execution_ms.is_some(),
                j.execution_ms.is_some(),
                "{}",
                txt.display()
            );
            assert_eq!(t.triggers.len(), j.triggers.len(), "{}", txt.display());
            for (a, b) in t.triggers.iter().zip(&j.triggers) {
                // Without VERBOSE, a constraint trigger is printed without its name.
                if !a.name.is_empty() {
                    assert_eq!(a.name, b.name, "{}", txt.display());
                }
                assert_eq!(a.constraint_name, b.constraint_name, "{}", txt.display());
                assert_eq!(a.calls, b.calls, "{}", txt.display());
            }
            assert_eq!(t.jit.is_some(), j.jit.is_some(), "{}", txt.display());
            // The JSON-shaped value is a `serde_json::Map`, which sorts its keys (the crate's
            // `preserve_order` feature is off), so settings are compared as sets.
            let sorted = |v: &Vec<(String, String)>| {
                let mut v = v.clone();
                v.sort();
                v
            };
            assert_eq!(
                sorted(&t.settings),
                sorted(&j.settings),
                "{}",
                txt.display()
            );
            assert_eq!(t.query_identifier, j.query_identifier, "{}", txt.display());
            assert_eq!(
                t.serialization.is_some(),
                j.serialization.is_some(),
                "{}",
                txt.display()
            );
            assert_eq!(
                t.planning_memory_used_kb.is_some(),
                j.planning_memory_used_kb.is_some(),
                "{}",
                txt.display()
            );
            assert_eq!(
                t.planning_buffers.is_some(),
                j.planning_buffers
                    .filter(|x| !x.is_zero() || plan_has_buffers(t))
                    .is_some(),
                "{}",
                txt.display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Real-world text plans that are genuinely broken, with why. Each must be rejected with an
/// error naming a line; every other file must parse.
const KNOWN_BROKEN: &[(&str, &str)] = &[];

#[test]
fn real_text_plans_parse() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let files = common::files_with_ext(&shared.join("real/plans"), &["txt"]);
    assert!(
        files.len() >= 90,
        "expected the real corpus, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(shared.join("real/plans"))
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let broken = KNOWN_BROKEN.iter().find(|(n, _)| *n == rel);
        match (parse_file(f), broken) {
            (Ok(plans), None) => {
                if plans.iter().any(|p| p.nodes.is_empty()) {
                    failures.push(format!("{rel}: a plan without nodes"));
                }
            }
            (Ok(_), Some(_)) => failures.push(format!("{rel}: listed as broken but parses")),
            (Err(e), None) => failures.push(format!("{rel}: {e}")),
            (Err(e), Some(_)) => {
                if e.line.is_none() {
                    failures.push(format!("{rel}: rejected without a line: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Node counts agree with the second opinion (Pg::Explain) where it read the plan fully.
#[test]
fn real_text_plans_node_counts_match_second_opinion() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let files = common::files_with_ext(&shared.join("real/plans"), &["txt"]);
    let mut failures = Vec::new();
    let mut compared = 0;
    for f in &files {
        let rel = f.strip_prefix(shared.join("real/plans")).unwrap();
        let exp = shared
            .join("real/expected")
            .join(rel)
            .with_extension("json");
        let Ok(e) = std::fs::read_to_string(&exp) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&e).unwrap();
        if v.get("pg_explain_ok") != Some(&serde_json::Value::Bool(true))
            || v.get("suspect")
                .is_some_and(|s| !s.is_null() && s != &serde_json::Value::Bool(false))
        {
            continue;
        }
        let Some(count) = v.get("node_count").and_then(|c| c.as_u64()) else {
            continue;
        };
        let Ok(plans) = parse_file(f) else { continue };
        let ours: usize = plans.iter().map(|p| p.nodes.len()).sum();
        compared += 1;
        if ours as u64 != count {
            failures.push(format!(
                "{}: {} nodes, second opinion {}",
                rel.display(),
                ours,
                count
            ));
        }
    }
    assert!(compared > 30, "compared only {compared}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Debugging aid: `PGDIAG_DUMP=file.txt cargo test --test text_plans dump -- --ignored --nocapture`.
#[test]
#[ignore]
fn dump() {
    let Ok(f) = std::env::var("PGDIAG_DUMP") else {
        return;
    };
    for f in f.split(',') {
        println!("=== {f}");
        match parse_file(Path::new(f)) {
            Ok(plans) => {
                for p in plans {
                    println!("plan line {} planning={:?} exec={:?} triggers={:?} jit={:?} settings={:?} extra={:?}", p.line, p.planning_ms, p.execution_ms, p.triggers, p.jit, p.settings, p.extra);
                    for n in &p.nodes {
                        println!(
                            "{}{} [{:?} {:?}] cost={:?}..{:?} rows={:?} act={:?}..{:?} rows={:?} loops={:?} filter={:?} extra={:?}",
                            "  ".repeat(n.depth),
                            n.label(),
                            n.relationship,
                            n.details().subplan_name,
                            n.startup_cost,
                            n.total_cost,
                            n.plan_rows,
                            n.actual_startup_ms,
                            n.actual_total_ms,
                            n.actual_rows,
                            n.actual_loops,
                            n.filter.as_deref().or(n.details().join_filter.as_deref()),
                            n.details().extra
                        );
                    }
                }
            }
            Err(e) => println!("ERROR {e}"),
        }
    }
}

/// psql-framed JSON (every border and line style): after cleaning, the JSON parses and gives the
/// same tree as the unframed plan.
#[test]
fn psql_framed_json_parses() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let dir = shared.join("real/plans/pev2");
    let files: Vec<PathBuf> = common::files_with_ext(&dir, &["json"])
        .into_iter()
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("psql-frames-json-")
        })
        .collect();
    assert!(files.len() >= 10, "found {}", files.len());
    let mut shapes = Vec::new();
    for f in &files {
        let plans = parse_file(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plans.len(), 1, "{}", f.display());
        assert_eq!(plans[0].format, "json");
        let s: Vec<String> = plans[0]
            .nodes
            .iter()
            .map(|n| shape(n, true).replace("loops=", ""))
            .collect();
        shapes.push((f.clone(), s));
    }
    for (f, s) in &shapes[1..] {
        assert_eq!(s.len(), shapes[0].1.len(), "{}", f.display());
    }
}

/// psql-framed text plans (ASCII, Unicode, old-ascii, borders 0-2, DBeaver) all give the plan
/// the unframed output gives.
#[test]
fn psql_framed_text_gives_the_same_tree() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let dir = shared.join("real/plans/pev2");
    let files: Vec<PathBuf> = common::files_with_ext(&dir, &["txt"])
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with("psql-frames-text-") && !n.contains("dbeaver")
        })
        .collect();
    assert!(files.len() >= 10, "found {}", files.len());
    for f in &files {
        let plans = parse_file(f).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plans.len(), 1, "{}", f.display());
        let p = &plans[0];
        let labels: Vec<String> = p.nodes.iter().map(|n| n.label()).collect();
        assert_eq!(
            labels,
            ["Nested Loop", "Seq Scan on users u", "Seq Scan on part_0 p"],
            "{}",
            f.display()
        );
        assert_eq!(
            p.nodes[1].filter.as_deref(),
            Some("(username = 'depesz'::text)"),
            "{}",
            f.display()
        );
        assert_eq!(
            p.nodes[2].rows_removed_by_filter,
            Some(13205.0),
            "{}",
            f.display()
        );
        assert!(
            p.planning_ms.is_some() && p.execution_ms.is_some(),
            "{}",
            f.display()
        );
    }
}

/// Wrapped plans (a terminal broke long lines) read like their unwrapped originals.
#[test]
fn wrapped_text_plans_read_whole() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let dir = shared.join("real/plans/pev2");
    let get = |n: &str| {
        parse_file(&dir.join(n))
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0)
    };
    let a = get("line-wrapped-01.txt");
    let b = get("line-wrapped-02.txt");
    assert_eq!(a.nodes.len(), 5);
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        assert_eq!(x.label(), y.label());
        assert_eq!(x.total_cost, y.total_cost);
        assert_eq!(x.actual_total_ms, y.actual_total_ms);
        assert_eq!(x.actual_rows, y.actual_rows);
    }
    assert_eq!(a.nodes[0].plan_width, Some(224.0));
    let w = get("line-wrapped-10.txt");
    assert_eq!(
        w.nodes[0].details().join_filter.as_deref(),
        Some("(t1.c1 > t2.c2)")
    );
    let w = get("line-wrapped-08.txt");
    assert!(w.nodes[0]
        .filter
        .as_deref()
        .unwrap()
        .contains("::numeric) AND ((b)::numeric"));
    for n in [
        "line-wrapped-05.txt",
        "line-wrapped-06.txt",
        "line-wrapped-07.txt",
    ] {
        let p = get(n);
        assert_eq!(p.nodes[0].node_type, "Gather", "{n}");
        assert!(
            p.nodes
                .iter()
                .all(|x| x.actual_loops.is_some() && x.total_cost.is_some()),
            "{n}"
        );
        assert!(p.execution_ms.is_some(), "{n}");
    }
}

mod no_panics {
    use super::*;
    use proptest::prelude::*;

    /// Pieces text plans are made of, so random inputs get deep into the reader.
    fn fragment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("->  ".to_string()),
            Just("Seq Scan on t".to_string()),
            Just("Hash Left Join".to_string()),
            Just("Index Scan Backward using \"i\" on s.t x".to_string()),
            Just("  (cost=0.00..1.00 rows=1 width=4)".to_string()),
            Just(" (actual time=0.1..0.2 rows=1.00 loops=2)".to_string()),
            Just(" (never executed)".to_string()),
            Just("InitPlan 1 (returns $0)".to_string()),
            Just("CTE x".to_string()),
            Just("Worker 0:  actual time=1..2 rows=3 loops=1".to_string()),
            Just("Buffers: shared hit=1 read=2, temp written=3".to_string()),
            Just("I/O Timings: shared read=1.0, temp write=2".to_string()),
            Just("Sort Method: external merge  Disk: 12kB".to_string()),
            Just("Buckets: 1024 (originally 2)  Batches: 1  Memory Usage: 9kB".to_string()),
            Just("Planning:".to_string()),
            Just("JIT:".to_string()),
            Just("Timing: Generation 1.0 ms (Deform 0.5 ms), Total 2 ms".to_string()),
            Just("Settings: a = 'b''c'".to_string()),
            Just("Trigger t for constraint c on r: time=1 calls=2".to_string()),
            Just("Execution Time: 1.5 ms".to_string()),
            Just("QUERY PLAN".to_string()),
            Just("--------".to_string()),
            Just("(3 rows)".to_string()),
            Just("│".to_string()),
            Just("║".to_string()),
            Just("…".to_string()),
            Just("↵".to_string()),
            Just(" +".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("é".to_string()),
            Just("\n".to_string()),
            Just("\n  ".to_string()),
            Just("\n      ".to_string()),
            Just("\r\n".to_string()),
            "[ -~]{0,12}".prop_map(|s| s),
            "\\PC{0,4}".prop_map(|s| s),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn reader_never_panics(parts in proptest::collection::vec(fragment(), 0..40)) {
            let text: String = parts.concat();
            let _ = parse_source("fuzz", &text);
        }

        #[test]
        fn damaged_real_plans_never_panic(cut in 0usize..4000, del in 0usize..4000, len in 0usize..30) {
            let base = read(&common::root().join("fixtures/plans/generated/pg18/h_parallel_seqscan.full.txt"));
            let chars: Vec<char> = base.chars().collect();
            let mut v = chars.clone();
            let d = del % (v.len() + 1);
            let e = (d + len).min(v.len());
            v.drain(d..e);
            v.truncate(cut % (v.len() + 1) + v.len() / 2);
            let text: String = v.into_iter().collect();
            let _ = parse_source("damaged", &text);
        }
    }
}
