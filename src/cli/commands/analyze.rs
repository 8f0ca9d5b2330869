//! `pgdiag analyze PATH...`: read saved plans, check them, report.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Result;

use super::output::{engine_settings, exit_code, fail_on, write_report};
use crate::cli::args::AnalyzeArgs;
use crate::config::Config;
use crate::plan::parse_source;
use crate::report::{PlanReport, Report};
use crate::rules::{self, EngineSettings};

/// File extensions read when a directory is given.
const PLAN_EXTENSIONS: &[&str] = &["json", "txt", "text", "plan", "yaml", "yml", "xml"];

pub fn run(args: &AnalyzeArgs, config: &Config) -> Result<u8> {
    let settings = engine_settings(&args.report, config)?;
    let mut report = Report::default();
    for source in expand_paths(&args.paths) {
        report.plans.extend(analyze_source(&source, &settings));
    }
    write_report(&report, &args.report)?;
    Ok(exit_code(&report, fail_on(&args.report, config)))
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
        // Several plans from one file keep the file's name; renderers number them.
        Ok(plans) => plans
            .into_iter()
            .map(|plan| PlanReport {
                source: name.clone(),
                findings: rules::check_plan(&plan, settings),
                plan: Some(plan),
                query: None,
                ..PlanReport::default()
            })
            .collect(),
    }
}

fn error_report(source: String, error: String) -> PlanReport {
    PlanReport {
        source,
        plan: None,
        findings: Vec::new(),
        error: Some(error),
        ..PlanReport::default()
    }
}
