//! Reports: one file per output format. Reporters read findings and the model; they never analyse.

pub mod ci;
pub mod concise;
pub mod fmt;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod table;

use std::io::{self, Write};

use crate::plan::Plan;
use crate::rules::{Finding, Severity};

/// Everything one run produced, in input order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub plans: Vec<PlanReport>,
    /// What the database rules found on a live server (`pgdiag health`), if it was asked.
    pub database: Option<DatabaseReport>,
    /// The comparison with a baseline (`diagnose --baseline`), if one was given.
    pub baseline: Option<BaselineSummary>,
}

/// The baseline section: which queries the baseline knew (see `crate::baseline`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct BaselineSummary {
    /// The baseline file.
    pub file: String,
    /// Queries of this run found in the baseline.
    pub matched: usize,
    /// Queries of this run the baseline does not have: their labels (`queries.sql:3`, `-c #1`).
    pub new: Vec<String>,
    /// Queries of the baseline this run did not have.
    pub gone: Vec<GoneQuery>,
}

/// A query recorded in the baseline that this run did not have.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct GoneQuery {
    pub file: Option<String>,
    pub line: Option<usize>,
    /// The first line of its SQL.
    pub sql: String,
}

impl GoneQuery {
    /// `queries.sql:3: SELECT …`.
    pub fn describe(&self) -> String {
        let at = match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            (None, _) => "-c".to_string(),
        };
        format!("{at}: {}", self.sql)
    }
}

/// The database section: the server checked and what the database rules found.
#[derive(Debug, Clone, Default)]
pub struct DatabaseReport {
    /// `server_version` (`15.4 (Debian 15.4-1.pgdg120+1)`).
    pub server_version: String,
    /// A standby (`pg_is_in_recovery()`).
    pub in_recovery: bool,
    /// The database connected to, and as whom.
    pub database: String,
    pub role: String,
    pub findings: Vec<Finding>,
    /// What the role could not see, one sentence each.
    pub not_visible: Vec<String>,
}

impl DatabaseReport {
    /// `database shop on PostgreSQL 15.4 (primary), as app`.
    pub fn title(&self) -> String {
        format!(
            "database {} on PostgreSQL {} ({}), as {}",
            self.database,
            // `15.4`, without the packager's `(Debian 15.4-1.pgdg120+1)`.
            self.server_version
                .split_whitespace()
                .next()
                .unwrap_or_default(),
            if self.in_recovery {
                "standby"
            } else {
                "primary"
            },
            self.role
        )
    }
}

/// One plan's result: the model and its findings, or the error that stopped it being read.
#[derive(Debug, Clone, Default)]
pub struct PlanReport {
    /// File path, `-` for stdin.
    pub source: String,
    /// The plan, when it could be read.
    pub plan: Option<Plan>,
    pub findings: Vec<Finding>,
    /// Findings a `-- pgdiag: ignore` comment silenced: reported, never dropped.
    pub suppressed: Vec<SuppressedFinding>,
    /// Findings the baseline (`--baseline`) already had for this query: reported, but they do
    /// not count towards the exit code.
    pub in_baseline: Vec<Finding>,
    /// One-line error (`file:line: what`), when the source could not be read.
    pub error: Option<String>,
    /// The query this plan was made from, when pgdiag ran it (`diagnose`); `source` is then
    /// its origin (`file:line`, or `-c #N`).
    pub query: Option<QueryOrigin>,
}

/// A finding silenced by a `-- pgdiag: ignore …` comment, and by which one.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SuppressedFinding {
    pub finding: Finding,
    /// Line of the `-- pgdiag: ignore` comment in the query's file.
    pub line: usize,
    /// `statement` (`-- pgdiag: ignore`) or `file` (`-- pgdiag: ignore-file`).
    pub scope: &'static str,
    /// The reason written after the rule list, if any.
    pub reason: Option<String>,
}

/// Where a query run by `diagnose` came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueryOrigin {
    /// 1-based position among all the queries of the run.
    pub index: usize,
    /// The file (`-` for standard input); `None` for `-c`.
    pub file: Option<String>,
    /// 1-based line of the query in `file`.
    pub line: Option<usize>,
    /// The query as sent (without EXPLAIN).
    pub sql: String,
}

/// Output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The plan tree with time, rows and buffers per node, then the findings (default on a terminal).
    Table,
    /// Machine-readable, `schema_version` 1.
    Json,
    /// For tickets and pull requests.
    Markdown,
    /// One line per finding (default when stdout is not a terminal).
    Concise,
    /// SARIF 2.1.0, for GitHub code scanning and SARIF viewers.
    Sarif,
    /// JUnit XML: one test case per query or plan, a failure per finding at or above --fail-on.
    Junit,
    /// GitHub Actions annotations (`::error file=…,line=…::…`).
    Github,
    /// GitLab code quality report (JSON).
    Gitlab,
}

/// How to render: colours and width are decided by the caller (terminal, `NO_COLOR`).
#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub color: bool,
    /// Terminal width, when known.
    pub width: Option<u16>,
    /// `--fail-on`: findings at or above it fail (JUnit); `None` for `--fail-on none`.
    pub fail_on: Option<Severity>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: None,
            // As `--fail-on`'s default.
            fail_on: Some(Severity::Warning),
        }
    }
}

/// Write `report` in `format` to `w`.
pub fn write(
    report: &Report,
    format: OutputFormat,
    opts: &RenderOptions,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => table::write(report, opts, w),
        OutputFormat::Json => json::write(report, w),
        OutputFormat::Markdown => markdown::write(report, w),
        OutputFormat::Concise => concise::write(report, w),
        OutputFormat::Sarif => sarif::write(report, w),
        OutputFormat::Junit => junit::write(report, opts, w),
        OutputFormat::Github => github::write(report, w),
        OutputFormat::Gitlab => gitlab::write(report, w),
    }
}
