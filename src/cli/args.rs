//! What the user typed (clap). Resolved into settings by the commands.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::OutputFormat;

/// Tells a PostgreSQL user why a query is slow and what to do about it.
#[derive(Debug, Parser)]
#[command(name = "pgdiag", version, about, max_term_width = 100)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,

    /// Read settings from this file instead of the `pgdiag.toml` found in the current directory
    /// or its parents (`PGDIAG_CONFIG` names one too). Command-line flags win over it.
    #[arg(long, global = true, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,

    /// Ignore any configuration file.
    #[arg(long, global = true)]
    pub no_config: bool,

    /// Use at most N threads to read and check one big plan (default: every core;
    /// `PGDIAG_THREADS` sets it too). Plans under a few megabytes use one thread anyway.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse EXPLAIN output saved in files (JSON, text, YAML or XML; detected automatically).
    ///
    /// Text plans may be pasted straight out of psql, with the `QUERY PLAN` header, `+`
    /// continuation marks, frames and the `(N rows)` footer. A file may hold several plans.
    /// Exit code: 0 when nothing is at or above --fail-on, 1 when something is, 2 when an input
    /// could not be read (the other inputs are still analysed).
    Analyze(AnalyzeArgs),
    /// Run queries under EXPLAIN (ANALYZE, BUFFERS) on a server, safely, and analyse the plans.
    ///
    /// Each query runs alone in a READ ONLY transaction with statement_timeout and lock_timeout
    /// set, and is always rolled back. Statements that write (DML, DDL, SELECT … FOR UPDATE,
    /// writing CTEs, nextval, several statements in one string, …) are refused unless
    /// --allow-writes, which still rolls them back. The connection is given like psql's (URI,
    /// `key=value` string or database name, PG* variables, service and password files).
    /// Exit code: as analyze; 2 when a query failed or was refused (the others still run);
    /// 130 on Ctrl-C (running queries are cancelled on the server).
    Diagnose(DiagnoseArgs),
    /// Check a live server: sessions, locks, transactions, temp files, table bloat and statistics.
    ///
    /// Connects like psql (CONNINFO: a URI, `key=value` string or database name; PG* variables,
    /// the service file and the password file apply) and runs the database rules (D…). Works
    /// with a role that has only pg_monitor; what the role cannot see is reported.
    /// Exit code: 0 when nothing is at or above --fail-on, 1 when something is, 2 when the server
    /// could not be reached or queried.
    Health(HealthArgs),
    /// Show what pgdiag does, on a throwaway PostgreSQL server it starts and removes.
    ///
    /// Needs the PostgreSQL server binaries (PGDIAG_PG_BINDIR, /usr/lib/postgresql/*/bin or
    /// `pg_config --bindir`). Creates a table of 200,000 orders with stale statistics, dead rows,
    /// no index for a common filter and a small work_mem, holds a session idle in a
    /// transaction, diagnoses a few queries exactly as `pgdiag diagnose` does, prints the report,
    /// then stops the server and removes its directory (also on an error or Ctrl-C).
    /// Exit code: as diagnose (1: the demo's problems were found).
    Demo(DemoArgs),
    /// Compare two plans of the same query, node by node, and report plan regressions.
    ///
    /// BEFORE and AFTER are plan files in any format `analyze` reads; when they hold several
    /// plans, they are compared pairwise by position. Prints what changed per node (type, rows,
    /// cost, time, buffers; `+` added, `-` removed, `~` changed), then the plan-regression (R001)
    /// findings. Exit code: 1 when a regression is at or above --fail-on, 2 when a file could not
    /// be read.
    Compare(CompareArgs),
    /// List the rules, or explain one (`pgdiag rules P001` or `pgdiag rules seq-scan-large-table`).
    Rules(RulesArgs),
    /// Print the settings in force (pgdiag.toml, command line, defaults) and where each came from.
    ///
    /// Shows fail-on, the report format, the connection defaults, what `diagnose` runs, and
    /// every rule's enabled/severity/thresholds. Takes the flags that change them (--fail-on,
    /// --disable, --set), so a command line can be checked before it runs.
    Config(ConfigArgs),
}

impl Command {
    /// The report options of the commands that write a report.
    pub fn report_args_mut(&mut self) -> Option<&mut ReportArgs> {
        match self {
            Command::Analyze(a) => Some(&mut a.report),
            Command::Diagnose(d) => Some(&mut d.report),
            Command::Health(h) => Some(&mut h.report),
            Command::Demo(d) => Some(&mut d.report),
            Command::Compare(c) => Some(&mut c.report),
            Command::Rules(_) | Command::Config(_) => None,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Plan files or directories; `-` reads standard input.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,
}

/// Report options shared by `analyze` and `diagnose`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Report format [default: table on a terminal, concise otherwise].
    #[arg(long, short = 'F', value_enum)]
    pub format: Option<OutputFormat>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// When to colour the output (`NO_COLOR` is honoured under `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Write the --format report to FILE (replaced whole, never left half-written); standard
    /// output then gets the human report (table on a terminal, concise otherwise). Without
    /// --format, the format comes from FILE's extension: .sarif, .json, .xml (junit), .md.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Under GitHub Actions (GITHUB_ACTIONS=true), do not add annotations to a human report on
    /// standard output.
    #[arg(long)]
    pub no_github_annotations: bool,

    /// Replace names (tables, columns, indexes, aliases, …) and literal values by stable
    /// placeholders (`table_1`, `column_2`, `'literal_3'`, `1001`) in every output format, so the
    /// report can be pasted into a ticket. Measurements are kept.
    #[arg(long)]
    pub anonymize: bool,

    /// With --anonymize, write the mapping (original → placeholder, JSON) to FILE; it is printed
    /// nowhere else.
    #[arg(long, value_name = "FILE", requires = "anonymize")]
    pub anonymize_map: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// Connection string (URI, `key=value` or database name), and `-` to read queries from
    /// standard input.
    #[arg(value_name = "CONNINFO", num_args = 0..=2)]
    pub positional: Vec<String>,

    /// A query to diagnose (one statement); repeatable. Queries are reported in the order of
    /// the command line.
    #[arg(short = 'c', long = "command", value_name = "SQL")]
    pub commands: Vec<String>,

    /// A file of queries (split like psql; backslash commands are skipped); `-` is standard
    /// input; repeatable.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Cancel a query running longer than this (`500ms`, `30s`, `2min`; `0` for none)
    /// [default: 30s].
    #[arg(long, value_name = "DURATION")]
    pub statement_timeout: Option<String>,

    /// Give up waiting for a lock after this long (`0` for never) [default: 2s].
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,

    /// Run statements that write, in a read-write transaction that is always rolled back.
    /// Their effects are undone, but they still take locks, fire triggers, advance sequences
    /// and may call functions with effects outside the database.
    #[arg(long)]
    pub allow_writes: bool,

    /// Only plan the queries (EXPLAIN without ANALYZE): nothing is executed.
    #[arg(long)]
    pub no_analyze: bool,

    /// Run up to N queries at once, on N connections [default: 1].
    #[arg(long, short = 'j', value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,

    /// Do not read the statistics views. By default, after the plans, one snapshot of
    /// pg_stat_* for the tables the plans touch is joined with the findings (stale statistics,
    /// table sizes, existing indexes) and the database rules (D…) add a database section.
    #[arg(long)]
    pub no_stats: bool,

    /// Record each query's plan (shape, rows, cost, buffers, findings) in FILE, keyed by a
    /// fingerprint of its SQL, to compare later runs with (`--baseline`). Written atomically;
    /// with --baseline, the comparison uses the old file, then FILE is refreshed.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Compare with a baseline written by --write-baseline: plan regressions become R001
    /// findings, findings the baseline already had no longer fail the run, and queries new or
    /// gone since the baseline are listed.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// With --baseline: a slower execution (R001.time_factor) fails like any regression instead
    /// of being reported as info. Timing is noisy; plan shape and buffers are not.
    #[arg(long, requires = "baseline")]
    pub gate_timing: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The plan file before the change.
    #[arg(value_name = "BEFORE")]
    pub before: PathBuf,

    /// The plan file after the change.
    #[arg(value_name = "AFTER")]
    pub after: PathBuf,

    /// A slower execution fails like any regression instead of being reported as info.
    #[arg(long)]
    pub gate_timing: bool,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// Connection string, URI or database name (as for psql).
    #[arg(value_name = "CONNINFO")]
    pub conninfo: Option<String>,

    /// Also write the statistics snapshot the rules read to this file (JSON), e.g. to attach to a
    /// ticket or replay later with `--from-snapshot`.
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<std::path::PathBuf>,

    /// Do not connect: read a snapshot saved by `--save-snapshot` and check it.
    #[arg(long, value_name = "FILE", conflicts_with = "conninfo")]
    pub from_snapshot: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A rule id or name; without it, all rules are listed.
    pub rule: Option<String>,

    /// Print the list as the Markdown table used in README.md.
    #[arg(long)]
    pub markdown: bool,
}

/// What decides the findings and the exit code: shared by every command that checks, and by
/// `pgdiag config`, which shows their effect.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RuleArgs {
    /// Exit with 1 when a finding is at or above this severity [default: warning, or
    /// `fail-on` of pgdiag.toml].
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,

    /// Skip a rule (id or name); repeatable.
    #[arg(long = "disable", value_name = "RULE")]
    pub disable: Vec<String>,

    /// Set a rule threshold, e.g. `--set P002.error_factor=100`; repeatable.
    #[arg(long = "set", value_name = "RULE.THRESHOLD=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArgs {
    /// `text` for people, `json` for machines.
    #[arg(long, short = 'F', value_enum, default_value_t = ConfigFormat::Text)]
    pub format: ConfigFormat,

    /// The rule options of analyze, shown as set on the command line.
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfigFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    None,
}

impl FailOn {
    /// The lowest severity that fails the run; `None` for `--fail-on none`.
    pub fn floor(self) -> Option<crate::rules::Severity> {
        use crate::rules::Severity;
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
