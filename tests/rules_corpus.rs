//! Rules P007–P012 over every generated plan and rule fixture: no panics, and the obvious cases.
//! `PGDIAG_SHOW_FINDINGS=1 cargo test --test rules_corpus -- --nocapture` prints what fires.

mod common;

use pgdiag::plan::{parse_source, Plan};
use pgdiag::rules::{check_one, Finding};

const MINE: [&str; 6] = ["P007", "P008", "P009", "P010", "P011", "P012"];

fn corpus() -> Vec<(String, Plan)> {
    let root = common::root().join("fixtures");
    let mut out = Vec::new();
    for dir in ["plans/generated", "rules"] {
        for path in common::files_with_ext(&root.join(dir), &["json"]) {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let plans = parse_source(&name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
            for p in plans {
                out.push((name.clone(), p));
            }
        }
    }
    assert!(out.len() > 100, "corpus too small: {}", out.len());
    out
}

fn run(plan: &Plan, id: &str) -> Vec<Finding> {
    let f = check_one(plan, id);
    if std::env::var_os("PGDIAG_SHOW_FINDINGS").is_some() {
        for x in &f {
            eprintln!(
                "{} {id} [{}] {}\n    advice: {}\n    evidence: {:?}",
                plan.source,
                x.path.as_deref().unwrap_or("-"),
                x.message,
                x.advice,
                x.evidence
            );
        }
    }
    f
}

#[test]
fn rules_never_panic_and_stay_in_range() {
    for (name, plan) in corpus() {
        for id in MINE {
            let f = run(&plan, id);
            for x in &f {
                assert_eq!(x.rule, id);
                assert!(!x.message.is_empty() && !x.advice.is_empty(), "{name} {id}");
                if let Some(n) = x.node {
                    assert!(n < plan.nodes.len(), "{name} {id}");
                    assert_eq!(x.path.as_deref(), Some(plan.path(n).as_str()));
                }
            }
            // Plans without ANALYZE have no actuals: none of these rules has anything to say.
            if !plan.analyzed() {
                assert!(f.is_empty(), "{name} (not analyzed) fired {id}: {f:#?}");
            }
        }
    }
}

#[test]
fn nested_loop_corpus_fires_p008() {
    let mut seen = 0;
    for (name, plan) in corpus() {
        if !name.contains("g_nestloop_many_loops") || !plan.analyzed() {
            continue;
        }
        seen += 1;
        let f = run(&plan, "P008");
        assert_eq!(f.len(), 1, "{name}: {f:#?}");
        assert_eq!(f[0].node, Some(0), "{name}");
        assert_eq!(plan.nodes[0].node_type, "Nested Loop");
        assert_eq!(f[0].evidence["inner_loops"], 20000.0, "{name}");
    }
    assert!(seen >= 7, "only {seen} nested-loop plans");
}

#[test]
fn full_parallel_corpus_is_quiet_for_p009() {
    let mut seen = 0;
    for (name, plan) in corpus() {
        if !name.contains("h_parallel_seqscan") || !plan.analyzed() {
            continue;
        }
        seen += 1;
        let gathers: Vec<_> = plan
            .nodes
            .iter()
            .filter(|n| n.node_type.starts_with("Gather"))
            .collect();
        assert!(!gathers.is_empty(), "{name}");
        for g in gathers {
            assert_eq!(
                g.details().workers_planned,
                g.details().workers_launched,
                "{name}"
            );
        }
        assert!(run(&plan, "P009").is_empty(), "{name}");
    }
    assert!(seen >= 7, "only {seen} parallel plans");
}

#[test]
fn hot_spot_is_ranked_and_bounded() {
    for (name, plan) in corpus() {
        let f = run(&plan, "P012");
        assert!(f.len() <= 3, "{name}");
        let shares: Vec<f64> = f
            .iter()
            .map(|x| x.evidence["share"].as_f64().unwrap())
            .collect();
        assert!(
            shares.iter().all(|s| (0.2..=1.0).contains(s)),
            "{name}: {shares:?}"
        );
        assert!(
            shares.iter().sum::<f64>() <= 1.0 + 1e-6,
            "{name}: {shares:?}"
        );
        let ex: Vec<f64> = f
            .iter()
            .map(|x| x.evidence["exclusive_ms"].as_f64().unwrap())
            .collect();
        assert!(ex.windows(2).all(|w| w[0] >= w[1]), "{name}: {ex:?}");
        // An analyzed plan of a few nodes always has a node with a fifth of the time.
        let total = plan.root().and_then(|r| r.inclusive_ms).unwrap_or(0.0);
        if plan.analyzed() && total >= 1.0 && plan.nodes.len() <= 4 {
            assert!(!f.is_empty(), "{name}");
        }
    }
}

#[test]
fn corpus_has_no_jit_or_heap_fetch_findings() {
    // The generated corpus runs with jit off and has no never-vacuumed index-only scan.
    for (name, plan) in corpus() {
        if name.starts_with("plans/") {
            assert!(run(&plan, "P007").is_empty(), "{name}");
            assert!(run(&plan, "P010").is_empty(), "{name}");
        }
    }
}

/// Damaged and degenerate plans: missing actuals, zero or absurd loops and times, never-executed
/// nodes, NaN. The rules must not panic on any of them.
#[test]
fn rules_survive_degenerate_plans() {
    type Mutation = fn(&mut pgdiag::plan::Node);
    let mutations: [(&str, Mutation); 6] = [
        ("no actuals", |n| {
            n.actual_rows = None;
            n.actual_loops = None;
            n.actual_total_ms = None;
            n.inclusive_ms = None;
            n.exclusive_ms = None;
            n.time_share = None;
        }),
        ("zero loops", |n| n.actual_loops = Some(0.0)),
        ("never executed", |n| n.never_executed = true),
        ("NaN", |n| {
            n.actual_total_ms = Some(f64::NAN);
            n.inclusive_ms = Some(f64::NAN);
            n.exclusive_ms = Some(f64::NAN);
            n.time_share = Some(f64::NAN);
            n.details_mut().heap_fetches = Some(f64::NAN);
            n.plan_rows = Some(f64::NAN);
        }),
        ("huge", |n| {
            n.actual_loops = Some(1e300);
            n.actual_rows = Some(1e300);
            n.details_mut().heap_fetches = Some(f64::INFINITY);
            n.details_mut().workers_planned = Some(1e300);
            n.details_mut().workers_launched = Some(-1.0);
        }),
        ("no relationships", |n| {
            n.relationship = None;
            n.relation = None;
            n.alias = None;
        }),
    ];
    for (name, plan) in corpus() {
        for (what, m) in mutations {
            let mut p = plan.clone();
            p.nodes.iter_mut().for_each(m);
            if what == "NaN" {
                p.execution_ms = Some(f64::NAN);
                p.planning_ms = Some(f64::NAN);
                if let Some(j) = p.jit.as_mut() {
                    j.total_ms = Some(f64::NAN);
                }
            }
            for id in MINE {
                let r = std::panic::catch_unwind(|| check_one(&p, id));
                assert!(r.is_ok(), "{id} panicked on {name} ({what})");
            }
        }
    }
}

/// Every rule fixture case must fire its rule when named `fire*` and stay quiet when named
/// `quiet*`, in every format the readers accept. The `.txt` twins are checked once the text
/// reader exists (until then they are skipped, saying so). The `.txt` run is a second execution,
/// so only fire/quiet is compared, not the figures.
#[test]
fn fixture_cases_fire_or_stay_quiet_in_every_format() {
    let cases = [
        ("heap-fetches", "P007"),
        ("nested-loop-many-loops", "P008"),
        ("workers-not-launched", "P009"),
        ("jit-dominates", "P010"),
        ("planning-dominates", "P011"),
        ("hot-spot", "P012"),
        ("triggers-dominate", "P013"),
    ];
    let mut skipped = 0;
    for (dir, id) in cases {
        let dir = common::root().join("fixtures/rules").join(dir);
        let files = common::files_with_ext(&dir, &["json", "txt"]);
        let mut fire = 0;
        let mut quiet = 0;
        for path in files {
            let base = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expect_fire = if base.starts_with("fire") {
                true
            } else if base.starts_with("quiet") {
                false
            } else {
                continue;
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.display().to_string();
            let plans = match parse_source(&name, &text) {
                Ok(p) => p,
                Err(e) if name.ends_with(".txt") => {
                    skipped += 1;
                    eprintln!("SKIPPED {name}: {e}");
                    continue;
                }
                Err(e) => panic!("{name}: {e}"),
            };
            assert_eq!(plans.len(), 1, "{name}");
            let f = check_one(&plans[0], id);
            if expect_fire {
                fire += 1;
                assert!(!f.is_empty(), "{id} should fire on {name}");
            } else {
                quiet += 1;
                assert!(f.is_empty(), "{id} should be quiet on {name}: {f:#?}");
            }
        }
        assert!(
            fire >= 1 && quiet >= 1,
            "{}: {fire} fire, {quiet} quiet cases",
            dir.display()
        );
    }
    if skipped > 0 {
        eprintln!("SKIPPED {skipped} text fixtures: no text reader yet");
    }
}
