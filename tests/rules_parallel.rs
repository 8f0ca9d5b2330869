//! `check_plan` splits a big plan's nodes between threads: the findings must be those of the
//! sequential path, in the same order, whatever the number of threads and ranges.

#[path = "../benches/plan_gen/mod.rs"]
mod plan_gen;

use std::path::{Path, PathBuf};

use pgdiag::plan::{parse_source, Plan};
use pgdiag::rules::{check_plan, check_plan_with, EngineSettings, Finding};

/// The sequential path: no plan is big enough for threads.
fn sequential(plan: &Plan, settings: &EngineSettings) -> Vec<Finding> {
    check_plan_with(plan, settings, usize::MAX, 8)
}

fn assert_same(name: &str, expected: &[Finding], got: &[Finding], how: &str) {
    assert_eq!(expected.len(), got.len(), "{name} ({how}): finding count");
    for (i, (e, g)) in expected.iter().zip(got).enumerate() {
        assert_eq!(e, g, "{name} ({how}): finding {i}");
    }
}

#[test]
fn the_generated_big_plan_gives_the_same_findings_on_threads() {
    // Big enough to have every generated shape many times over, small enough for a debug build.
    let tree = plan_gen::big_plan(0x5eed, 400);
    let json = plan_gen::to_json(&tree);
    let plans = parse_source("big.json", &json).expect("the generated plan parses");
    let plan = &plans[0];
    assert!(plan.nodes.len() >= 3_000, "{} nodes", plan.nodes.len());
    let settings = EngineSettings::default();
    let expected = sequential(plan, &settings);
    // Every rule the plan was generated to trigger, so that each rule's split is compared.
    for rule in ["P001", "P003", "P005", "P006", "P007", "P009"] {
        assert!(
            expected.iter().any(|f| f.rule == rule),
            "the generated plan no longer triggers {rule}"
        );
    }
    for threads in [2, 3, 5] {
        let got = check_plan_with(plan, &settings, 1, threads);
        assert_same("big plan", &expected, &got, &format!("{threads} threads"));
    }
    // The default entry point, whichever path it takes on this machine.
    assert_same(
        "big plan",
        &expected,
        &check_plan(plan, &settings),
        "default",
    );
}

/// Every JSON plan under `dir`, recursively, that parses.
fn plans_under(dir: &Path, out: &mut Vec<(String, Plan)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            plans_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            let name = p.display().to_string();
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            if let Ok(plans) = parse_source(&name, &text) {
                out.extend(plans.into_iter().map(|plan| (name.clone(), plan)));
            }
        }
    }
}

#[test]
fn corpus_plans_give_the_same_findings_with_the_threshold_forced_low() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut plans = Vec::new();
    plans_under(&root.join("plans"), &mut plans);
    plans_under(&root.join("rules"), &mut plans);
    assert!(plans.len() > 100, "only {} corpus plans", plans.len());
    // Thresholds low enough that more rules fire, including the plan-level parts.
    let mut eager = EngineSettings::default();
    for (rule, key, value) in [
        ("P001", "min_rows_read", 1.0),
        ("P005", "min_read_blocks", 1.0),
        ("P002", "min_rows", 1.0),
    ] {
        eager
            .thresholds
            .insert((rule.to_string(), key.to_string()), value);
    }
    let mut compared = 0;
    for (name, plan) in &plans {
        for settings in [&EngineSettings::default(), &eager] {
            let expected = sequential(plan, settings);
            compared += expected.len();
            for threads in [2, 3, 16] {
                let got = check_plan_with(plan, settings, 1, threads);
                assert_same(name, &expected, &got, &format!("{threads} threads"));
            }
        }
    }
    assert!(compared > 100, "only {compared} findings compared");
}

/// A thread limit above the machine's cores (`--threads 65535`, `PGDIAG_THREADS=100000`) is a
/// cap, not a number of threads to start: a plan with more nodes than the system has threads
/// left must still be checked (it panicked, "failed to spawn thread", starting one per range).
#[test]
fn a_thread_limit_above_the_cores_starts_no_more_threads_than_the_cores() {
    let scans = 40_000;
    let mut plan = Plan::default();
    plan.nodes.push(pgdiag::plan::Node {
        node_type: "Append".into(),
        children: (1..=scans).collect(),
        ..Default::default()
    });
    for id in 1..=scans {
        plan.nodes.push(pgdiag::plan::Node {
            id,
            parent: Some(0),
            depth: 1,
            node_type: "Seq Scan".into(),
            relation: Some(format!("t{id}")),
            filter: Some("(a = 1)".into()),
            actual_rows: Some(1.0),
            actual_loops: Some(1.0),
            rows_removed_by_filter: Some(20_000.0),
            ..Default::default()
        });
    }
    let settings = EngineSettings::default();
    let expected = sequential(&plan, &settings);
    assert!(expected.len() >= scans, "{} findings", expected.len());
    pgdiag::threads::set_limit(u16::MAX.into());
    let got = check_plan(&plan, &settings);
    pgdiag::threads::set_limit(0);
    assert_same("40,000 scans", &expected, &got, "limit 65535");
}
