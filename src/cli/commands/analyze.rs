//! `pgdiag analyze PATH...`: read saved plans, check them, report.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::args::{AnalyzeArgs, FailOn};
use crate::cli::{exit, use_color};
use crate::plan::parse_source;
use crate::report::{self, OutputFormat, PlanReport, RenderOptions, Report};
use crate::rules::{self, EngineSettings, Severity};

/// File extensions read when a directory is given.
const PLAN_EXTENSIONS: &[&str] = &["json", "txt", "text", "plan", "yaml", "yml", "xml"];

pub fn run(args: &AnalyzeArgs) -> Result<u8> {
    let settings = engine_settings(args)?;
    let mut report = Report::default();
    for source in expand_paths(&args.paths) {
        report.plans.extend(analyze_source(&source, &settings));
    }

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
    report::write(&report, format, &opts, &mut out)?;
    out.flush()?;

    // Unreadable inputs also go to stderr, so they are seen whatever the report format.
    for pr in &report.plans {
        if let Some(e) = &pr.error {
            eprintln!("pgdiag: error: {e}");
        }
    }
    Ok(exit_code(&report, args.fail_on))
}

/// The exit code: 2 when any input could not be read, else 1 when a finding reaches `fail_on`.
pub fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    if report.plans.iter().any(|p| p.error.is_some()) {
        return exit::ERROR;
    }
    let db_findings = report.database.iter().flat_map(|d| &d.findings);
    let floor = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::None => None,
    };
    let failing = floor.is_some_and(|f| {
        report
            .plans
            .iter()
            .flat_map(|p| &p.findings)
            .chain(db_findings)
            .any(|x| x.severity >= f)
    });
    if failing {
        exit::FINDINGS
    } else {
        exit::CLEAN
    }
}

/// One input: a file or `-`.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    Stdin,
    File(PathBuf),
    /// A path that could not be listed (kept so it is reported, not dropped).
    Unlistable(PathBuf, String),
}

/// Directories become the plan files inside them (sorted); files and `-` stay as given.
fn expand_paths(paths: &[PathBuf]) -> Vec<Source> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
        } else if p.is_dir() {
            match list_plan_files(p) {
                Ok(files) => out.extend(files.into_iter().map(Source::File)),
                Err(e) => out.push(Source::Unlistable(p.clone(), e.to_string())),
            }
        } else {
            out.push(Source::File(p.clone()));
        }
    }
    out
}

fn list_plan_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(list_plan_files(&path)?);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| PLAN_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Read, parse and check one source. Never fails: an unreadable source becomes a report entry
/// with its error, so the other sources are still analysed.
fn analyze_source(source: &Source, settings: &EngineSettings) -> Vec<PlanReport> {
    let (name, text) = match source {
        Source::Stdin => {
            let mut buf = Vec::new();
            let r = io::stdin().read_to_end(&mut buf).map(|_| buf);
            ("-".to_string(), r)
        }
        Source::File(p) => (p.display().to_string(), std::fs::read(p)),
        Source::Unlistable(p, e) => {
            return vec![error_report(
                p.display().to_string(),
                format!("{}: cannot list directory: {e}", p.display()),
            )]
        }
    };
    let bytes = match text {
        Ok(b) => b,
        Err(e) => {
            return vec![error_report(
                name.clone(),
                format!("{name}: cannot read: {e}"),
            )]
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            return vec![error_report(
                name.clone(),
                format!("{name}:{line}: not UTF-8 text (is this a plan file?)"),
            )];
        }
    };
    match parse_source(&name, &text) {
        Err(e) => vec![error_report(name, e.to_string())],
        Ok(plans) => {
            let several = plans.len() > 1;
            plans
                .into_iter()
                .enumerate()
                .map(|(i, plan)| PlanReport {
                    source: if several {
                        format!("{name}#{}", i + 1)
                    } else {
                        name.clone()
                    },
                    findings: rules::check_plan(&plan, settings),
                    plan: Some(plan),
                    error: None,
                })
                .collect()
        }
    }
}

fn error_report(source: String, error: String) -> PlanReport {
    PlanReport {
        source,
        plan: None,
        findings: Vec::new(),
        error: Some(error),
    }
}

/// `--disable` and `--set` into engine settings, checked against the rule catalog.
fn engine_settings(args: &AnalyzeArgs) -> Result<EngineSettings> {
    parse_engine_settings(&args.disable, &args.set)
}

/// `--disable` and `--set` values into engine settings (shared with `health`).
pub(crate) fn parse_engine_settings(disable: &[String], set: &[String]) -> Result<EngineSettings> {
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
pub(crate) fn comfy_width() -> Option<u16> {
    if !io::stdout().is_terminal() {
        return None;
    }
    std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok())
}
