//! `cargo +nightly fuzz run parse`: any bytes → `parse_source` → rules → every report.
//!
//! The same property as `tests/fuzz_parsers.rs`, for long runs: no panic, no stack overflow, a
//! non-empty error message with a line inside the input, finite derived times. Seed the corpus
//! with the plan fixtures: `cargo +nightly fuzz run parse corpus/parse ../fixtures/plans/generated`
//! (see BENCHMARKS.md, "Fuzzing").
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgdiag::plan::parse_source;
use pgdiag::report::{self, OutputFormat, PlanReport, RenderOptions, Report};
use pgdiag::rules::{check_plan, EngineSettings};

fuzz_target!(|data: &[u8]| {
    let input = String::from_utf8_lossy(data);
    match parse_source("fuzz", &input) {
        Err(e) => {
            assert!(!e.message.trim().is_empty(), "empty error message: {e:?}");
            if let Some(line) = e.line {
                let lines = input.split('\n').count();
                assert!(
                    line >= 1 && line <= lines,
                    "error line {line} outside {lines} lines: {e}"
                );
            }
        }
        Ok(plans) => {
            for p in &plans {
                for n in &p.nodes {
                    assert!(
                        n.inclusive_ms.is_none_or(f64::is_finite),
                        "inclusive {:?}",
                        n.inclusive_ms
                    );
                    assert!(
                        n.exclusive_ms.is_none_or(|t| t.is_finite() && t >= 0.0),
                        "exclusive {:?}",
                        n.exclusive_ms
                    );
                    assert!(
                        n.time_share.is_none_or(f64::is_finite),
                        "share {:?}",
                        n.time_share
                    );
                }
            }
            let settings = EngineSettings::default();
            let report = Report {
                plans: plans
                    .into_iter()
                    .map(|p| PlanReport {
                        source: p.source.clone(),
                        findings: check_plan(&p, &settings),
                        plan: Some(p),
                        error: None,
                    })
                    .collect(),
            };
            for format in [
                OutputFormat::Table,
                OutputFormat::Json,
                OutputFormat::Markdown,
                OutputFormat::Concise,
            ] {
                let mut out = Vec::new();
                let opts = RenderOptions {
                    color: true,
                    width: Some(60),
                };
                report::write(&report, format, &opts, &mut out).expect("write to Vec");
            }
        }
    }
});
