//! What `analyze`, `diagnose` and `health` share: rule settings from the command line, writing the report,
//! and the exit code.

use std::io::{self, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use super::report_output;
use crate::cli::args::{FailOn, ReportArgs};
use crate::cli::{exit, use_color};
use crate::config::resolve::DEFAULT_FAIL_ON;
use crate::config::{self, Config};
use crate::report::{self, OutputFormat, RenderOptions, Report};
use crate::rules::{self, EngineSettings};

/// Write the report where `--format`, `--output` and the environment send it (see
/// `report_output`), anonymised first with `--anonymize`, then every error on stderr (one line
/// each), so errors are seen whatever the report format.
pub fn write_report(report: &Report, args: &ReportArgs) -> Result<()> {
    let anonymized;
    let report = if args.anonymize {
        anonymized = crate::anonymize::for_output(report, args.anonymize_map.as_deref())?;
        &anonymized
    } else {
        report
    };
    let targets =
        report_output::targets(args, io::stdout().is_terminal(), &|k| std::env::var(k).ok())?;
    let opts = RenderOptions {
        color: use_color(args.color),
        width: comfy_width(),
        fail_on: args.rules.fail_on.unwrap_or(DEFAULT_FAIL_ON).floor(),
    };
    if let Some((path, format)) = &targets.file {
        let plain = RenderOptions {
            color: false,
            width: None,
            ..opts.clone()
        };
        report_output::write_file(report, *format, &plain, path)?;
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    report::write(report, targets.stdout, &opts, &mut out)?;
    if targets.annotations {
        report::write(report, OutputFormat::Github, &opts, &mut out)?;
    }
    out.flush()?;
    drop(out);
    if let Some(path) = &targets.step_summary {
        // The summary is a courtesy: failing to write it does not change the outcome.
        if let Err(e) = report_output::append_step_summary(report, path) {
            eprintln!(
                "pgdiag: warning: cannot write the step summary {}: {e}",
                path.display()
            );
        }
    }
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
    let floor = fail_on.floor();
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

/// The rule settings in force: `--disable` and `--set` over `[rules.*]` of the configuration.
pub fn engine_settings(args: &ReportArgs, config: &Config) -> Result<EngineSettings> {
    // Every command reads its settings first: a bad --output is refused before any work.
    report_output::check(args)?;
    let cli = command_line_rules(&args.rules.disable, &args.rules.set)?;
    Ok(config::resolve::engine_settings(&config.rules(&cli)))
}

/// `--fail-on`, else the configuration's, else the default.
pub fn fail_on(args: &ReportArgs, config: &Config) -> FailOn {
    config.fail_on(args.rules.fail_on).value
}

/// `--disable` and `--set` into engine settings, checked against the rule catalog.
pub fn command_line_rules(disable: &[String], set: &[String]) -> Result<EngineSettings> {
    let mut s = EngineSettings::default();
    for d in disable {
        let Some(rule) = rules::find(d) else {
            bail!("--disable {d}: no such rule (see `pgdiag rules`)");
        };
        s.disabled.push(rule.meta.id.clone());
    }
    for item in set {
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
