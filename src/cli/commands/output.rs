//! What `analyze`, `diagnose` and `health` share: rule settings from the command line, writing the report,
//! and the exit code.

use std::io::{self, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use crate::cli::args::{FailOn, ReportArgs};
use crate::cli::{exit, use_color};
use crate::report::{self, OutputFormat, RenderOptions, Report};
use crate::rules::{self, EngineSettings, Severity};

/// Write the report to stdout in the chosen format (anonymised first with `--anonymize`), then
/// every error on stderr (one line each), so errors are seen whatever the report format.
pub fn write_report(report: &Report, args: &ReportArgs) -> Result<()> {
    let anonymized;
    let report = if args.anonymize {
        anonymized = crate::anonymize::for_output(report, args.anonymize_map.as_deref())?;
        &anonymized
    } else {
        report
    };
    let format = args.format.unwrap_or(if io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Concise
    });
    let opts = RenderOptions {
        color: use_color(args.color),
        width: comfy_width(),
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    report::write(report, format, &opts, &mut out)?;
    out.flush()?;
    drop(out);
    for pr in &report.plans {
        if let Some(e) = &pr.error {
            eprintln!("pgdiag: error: {e}");
        }
    }
    Ok(())
}

/// The exit code: 2 when any input could not be read, else 1 when a finding reaches `fail_on`.
pub fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    if report.plans.iter().any(|p| p.error.is_some()) {
        return exit::ERROR;
    }
    let floor = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::None => None,
    };
    let database_findings = report.database.iter().flat_map(|d| &d.findings);
    let failing = floor.is_some_and(|f| {
        report
            .plans
            .iter()
            .flat_map(|p| &p.findings)
            .chain(database_findings)
            .any(|x| x.severity >= f)
    });
    if failing {
        exit::FINDINGS
    } else {
        exit::CLEAN
    }
}

/// `--disable` and `--set` into engine settings, checked against the rule catalog.
pub fn engine_settings(args: &ReportArgs) -> Result<EngineSettings> {
    let mut s = EngineSettings::default();
    for d in &args.disable {
        let Some(rule) = rules::find(d) else {
            bail!("--disable {d}: no such rule (see `pgdiag rules`)");
        };
        s.disabled.push(rule.meta.id.clone());
    }
    for item in &args.set {
        let (lhs, value) = item
            .split_once('=')
            .with_context(|| format!("--set {item}: expected RULE.THRESHOLD=VALUE"))?;
        let (rule_key, threshold) = lhs
            .split_once('.')
            .with_context(|| format!("--set {item}: expected RULE.THRESHOLD=VALUE"))?;
        let Some(rule) = rules::find(rule_key.trim()) else {
            bail!("--set {item}: no rule `{rule_key}` (see `pgdiag rules`)");
        };
        let threshold = threshold.trim();
        if !rule.meta.thresholds.contains_key(threshold) {
            let known: Vec<&str> = rule.meta.thresholds.keys().map(String::as_str).collect();
            bail!(
                "--set {item}: rule {} has no threshold `{threshold}` (it has: {})",
                rule.meta.id,
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
        }
        let v: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
            .with_context(|| format!("--set {item}: `{value}` is not a number"))?;
        s.thresholds
            .insert((rule.meta.id.clone(), threshold.to_string()), v);
    }
    Ok(s)
}

/// Terminal width for the table, when stdout is a terminal.
fn comfy_width() -> Option<u16> {
    if !io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
