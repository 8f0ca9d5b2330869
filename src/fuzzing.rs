//! The plan readers' promise, as one executable property shared by the property tests
//! (`tests/fuzz_parsers.rs`) and the cargo-fuzz target (`fuzz/fuzz_targets/parse.rs`), so the two
//! can never drift apart. Not part of the tool's interface.

use clap::ValueEnum;

use crate::plan::parse::json;
use crate::plan::{parse_source, Plan};
use crate::report::{self, OutputFormat, PlanReport, RenderOptions, Report};
use crate::rules::{check_plan, EngineSettings};

/// Parse `input` and check everything the readers promise: `Ok` with at least one plan or an
/// `Err` with a message and a line inside the input; finite derived times; every rule and every
/// report format run on what was read. Panics on a violation (a test failure, a fuzz crash).
pub fn check_parse_property(input: &str) {
    check_json_readers_agree(input);
    match parse_source("fuzz", input) {
        Err(e) => {
            assert!(!e.message.trim().is_empty(), "empty error message: {e:?}");
            if let Some(line) = e.line {
                let lines = input.split('\n').count();
                assert!(
                    line >= 1 && line <= lines,
                    "error line {line} outside the input's {lines} lines: {e}"
                );
            }
        }
        Ok(plans) => {
            assert!(!plans.is_empty(), "Ok with no plan");
            for p in &plans {
                check_plan_figures(p);
            }
            analyse_and_render(plans);
        }
    }
}

fn check_plan_figures(p: &Plan) {
    for n in &p.nodes {
        if let Some(t) = n.inclusive_ms {
            assert!(t.is_finite(), "node {} inclusive_ms = {t}", n.id);
        }
        if let Some(t) = n.exclusive_ms {
            assert!(
                t.is_finite() && t >= 0.0,
                "node {} exclusive_ms = {t}",
                n.id
            );
        }
        if let Some(s) = n.time_share {
            assert!(s.is_finite(), "node {} time_share = {s}", n.id);
        }
        if let Some(b) = &n.exclusive_buffers {
            for v in [b.shared_hit, b.shared_read, b.temp_read, b.temp_written] {
                assert!(
                    v >= 0.0 || v.is_nan(),
                    "node {} negative exclusive buffers",
                    n.id
                );
            }
        }
    }
}

/// Every rule, then every output format (new formats are covered as soon as they exist), plain
/// and in colour at a narrow width.
fn analyse_and_render(plans: Vec<Plan>) {
    let settings = EngineSettings::default();
    let report = Report {
        plans: plans
            .into_iter()
            .map(|p| PlanReport {
                source: p.source.clone(),
                findings: check_plan(&p, &settings),
                plan: Some(p),
                ..PlanReport::default()
            })
            .collect(),
        ..Report::default()
    };
    let plain = RenderOptions {
        color: false,
        width: Some(120),
        ..RenderOptions::default()
    };
    let narrow_color = RenderOptions {
        color: true,
        width: Some(40),
        ..RenderOptions::default()
    };
    for format in OutputFormat::value_variants() {
        for opts in [&plain, &narrow_color] {
            let mut out = Vec::new();
            report::write(&report, *format, opts, &mut out).expect("writing to a Vec cannot fail");
        }
    }
}

/// The fast JSON reader is an accelerator only: on any input, the plans it reads are the plans
/// Plans as text for comparing two readings: serialized, with the children lists (which the
/// serialization leaves out).
pub fn plans_fingerprint(plans: &[Plan]) -> String {
    let children: Vec<&[usize]> = plans
        .iter()
        .flat_map(|p| p.nodes.iter().map(|n| n.children.as_slice()))
        .collect();
    let json = serde_json::to_string(plans).expect("a plan serializes");
    format!("{json} {children:?}")
}

/// serde_json reads, and where it gives up the answer is serde_json's (error message included).
fn check_json_readers_agree(input: &str) {
    let as_json = |r: Result<Vec<Plan>, serde_json::Error>| match r {
        Ok(plans) => Ok(plans_fingerprint(&plans)),
        Err(e) => Err(e.to_string()),
    };
    let fast = as_json(json::parse_plans(input));
    let reference = as_json(json::parse_plans_with_serde_json(input));
    assert_eq!(fast, reference, "the two JSON readers disagree");
    // Read in chunks on several threads, the fast reader gives up or succeeds as it does in one
    // go, with the same plans.
    let serialized = |p: Option<Vec<Plan>>| p.as_deref().map(plans_fingerprint);
    assert_eq!(
        serialized(json::parse_plans_fast_on(input, 3).0),
        serialized(json::parse_plans_fast_on(input, 1).0),
        "reading in chunks changed the plans"
    );
}
