//! `pgdiag diagnose [CONNINFO] (-c SQL | -f FILE | -)...`: run the queries under EXPLAIN ANALYZE
//! on a server (see `crate::explain` for the safety harness), check the plans, report.
//!
//! Queries run on up to `--jobs` connections, each worker taking the next query. Refused
//! queries are never sent. A failed query is a one-line error with its origin; the others still
//! run, on a new connection when the old one was lost. Ctrl-C cancels what runs on the server
//! (a cancel request on every connection), rolls back, reports what finished and exits 130.

use std::io::{self, IsTerminal, Read};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio_postgres::{CancelToken, Client, NoTls};

use super::output::{engine_settings, exit_code, fail_on, write_report};
use crate::cli::args::DiagnoseArgs;
use crate::cli::exit;
use crate::collect::{self, Snapshot};
use crate::config::Config;
use crate::conn::{self, ConnSettings, ConnectionTask, ProcessEnv};
use crate::explain::{self, Mode, Options, RunError, ServerInfo};
use crate::plan::parse_source;
use crate::report::{DatabaseReport, PlanReport, QueryOrigin, Report, SuppressedFinding};
use crate::rules::{self, EngineSettings, Finding};
use crate::sql::Suppression;

/// One query of the input, with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    origin: QueryOrigin,
    /// `file:line` or `-c #N`, for messages and the report's source.
    label: String,
    /// `Ok(mode)` to run it; `Err` when it is refused or could not be read.
    plan: Result<Mode, String>,
    /// The `-- pgdiag: ignore` comments above it, then the file's `ignore-file` ones.
    suppressions: Vec<Ignore>,
}

/// A suppression comment that applies to a query.
#[derive(Debug, Clone)]
struct Ignore {
    comment: Suppression,
    /// `statement` or `file`, as reported.
    scope: &'static str,
}

impl Ignore {
    fn all(comments: &[Suppression], scope: &'static str) -> Vec<Ignore> {
        comments
            .iter()
            .map(|c| Ignore {
                comment: c.clone(),
                scope,
            })
            .collect()
    }

    /// Whether it silences `f`: an `ignore-file` without rules silences every rule.
    fn silences(&self, f: &Finding) -> bool {
        self.comment.rules.is_empty()
            || self
                .comment
                .rules
                .iter()
                .any(|r| r.eq_ignore_ascii_case(&f.rule) || r.eq_ignore_ascii_case(&f.name))
    }
}

pub fn run(args: &DiagnoseArgs, config: &Config) -> Result<u8> {
    let settings = engine_settings(&args.report, config)?;
    let opts = Options {
        analyze: !args.no_analyze,
        allow_writes: args.allow_writes,
        statement_timeout: explain::parse_duration(
            &config
                .statement_timeout(args.statement_timeout.as_deref())
                .value,
        )
        .map_err(|e| anyhow::anyhow!("--statement-timeout {e}"))?,
        lock_timeout: explain::parse_duration(
            &config.lock_timeout(args.lock_timeout.as_deref()).value,
        )
        .map_err(|e| anyhow::anyhow!("--lock-timeout {e}"))?,
        idle_in_transaction_timeout: Duration::from_secs(60),
    };

    // A bad baseline stops the run before anything is sent to the server.
    let baseline = super::baseline::load(args)?;
    let (conninfo, stdin) = positional(&args.positional)?;
    let mut inputs = inputs_in_order(args, stdin);
    if inputs.is_empty() {
        // Nothing named on the command line: the configuration's query files, if any.
        if let Some(files) = config.diagnose_files() {
            inputs = files.value.into_iter().map(Input::File).collect();
        }
    }
    let queries = gather(args, inputs, &opts)?;
    if queries.is_empty() {
        bail!("no queries: give -c SQL, -f FILE or - (standard input), or `files` in [diagnose] of pgdiag.toml");
    }

    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let conn_settings = conn::resolve_with_config(
        conninfo.as_deref(),
        &ProcessEnv,
        home.as_deref(),
        &config.connection_defaults(),
    )?;
    for w in &conn_settings.warnings {
        eprintln!("pgdiag: {w}");
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let run = Run {
        conn: &conn_settings,
        queries: &queries,
        opts: &opts,
        jobs: config.jobs(args.jobs).value as usize,
        settings: &settings,
        stats: !args.no_stats,
    };
    let outcome = rt.block_on(run.report());
    // Connection tasks still parked in the runtime are dropped with it: sessions end here.
    drop(rt);

    let (mut report, interrupted) = match outcome {
        Ok(o) => o,
        Err(e) => {
            eprintln!("pgdiag: error: {e}");
            return Ok(exit::ERROR);
        }
    };
    if !interrupted {
        super::baseline::compare(&mut report, baseline.as_ref(), args, &settings);
    }
    write_report(&report, &args.report)?;
    if interrupted {
        eprintln!("pgdiag: interrupted: the running queries were cancelled and rolled back");
        return Ok(exit::INTERRUPTED);
    }
    super::baseline::save(&report, args)?;
    Ok(exit_code(&report, fail_on(&args.report, config)))
}

/// One diagnosis, as `diagnose` and `demo` run it: the queries on the server, their plans
/// checked, then (unless `stats` is off) one statistics snapshot of the tables the plans touch,
/// joined with the plan findings, and the database rules' section.
pub(crate) struct Run<'a> {
    pub conn: &'a ConnSettings,
    pub queries: &'a [Query],
    pub opts: &'a Options,
    pub jobs: usize,
    pub settings: &'a EngineSettings,
    pub stats: bool,
}

impl Run<'_> {
    /// The report, and whether Ctrl-C stopped the run; `Err` when the server could not be
    /// reached at all.
    pub async fn report(&self) -> Result<(Report, bool), String> {
        let (results, mut interrupted) =
            run_all(self.conn, self.queries, self.opts, self.jobs).await?;
        let mut report = Report::default();
        for (q, r) in self.queries.iter().zip(results) {
            let pr = match r {
                Some(Ok(json)) => plan_report(q, &json, self.settings),
                Some(Err(e)) => error_report(q, e),
                // Not run (interrupted): left out of the report.
                None => continue,
            };
            report.plans.push(pr);
        }
        let ran = self.queries.iter().any(|q| q.plan.is_ok());
        if self.stats && ran && !interrupted {
            tokio::select! {
                _ = join_stats(self.conn, &mut report, self.settings) => {}
                _ = tokio::signal::ctrl_c() => interrupted = true,
            }
        }
        apply_suppressions(&mut report, self.queries);
        Ok((report, interrupted))
    }
}

/// Moves the findings a query's `-- pgdiag: ignore` comments name into its `suppressed` list:
/// they stay in the report (JSON, SARIF) but no longer count towards the exit code.
fn apply_suppressions(report: &mut Report, queries: &[Query]) {
    for pr in &mut report.plans {
        let Some(q) = pr.query.as_ref().and_then(|o| queries.get(o.index - 1)) else {
            continue;
        };
        if q.suppressions.is_empty() {
            continue;
        }
        let (silenced, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut pr.findings)
            .into_iter()
            .partition(|f| q.suppressions.iter().any(|i| i.silences(f)));
        pr.findings = kept;
        pr.suppressed = silenced
            .into_iter()
            .map(|finding| {
                let by = q
                    .suppressions
                    .iter()
                    .find(|i| i.silences(&finding))
                    .unwrap();
                SuppressedFinding {
                    line: by.comment.line,
                    scope: by.scope,
                    reason: by.comment.reason.clone(),
                    finding,
                }
            })
            .collect();
    }
}

/// Warns about rules a suppression comment names that do not exist: a typo would otherwise
/// silence nothing, quietly.
fn check_suppressed_rules(file: &str, ignores: &[Ignore]) {
    for i in ignores {
        for r in &i.comment.rules {
            if rules::find(r).is_none() {
                eprintln!(
                    "pgdiag: warning: {file}:{}: `pgdiag: ignore` names no rule `{r}` (see `pgdiag rules`)",
                    i.comment.line
                );
            }
        }
    }
}

/// Takes one snapshot of the statistics views for every table the plans touch, joins it with
/// each plan's findings and adds the database section. A failure (a missing privilege, a lost
/// server) is one line on stderr and a note in the database section: the plans are kept.
async fn join_stats(conn: &ConnSettings, report: &mut Report, settings: &EngineSettings) {
    let mut relations: Vec<String> = Vec::new();
    for p in report.plans.iter().filter_map(|p| p.plan.as_ref()) {
        for r in rules::join::plan_relations(p) {
            if !relations.contains(&r) {
                relations.push(r);
            }
        }
    }
    match take_snapshot(conn, &relations).await {
        Ok(snap) => {
            for pr in &mut report.plans {
                if let Some(plan) = &pr.plan {
                    let found = std::mem::take(&mut pr.findings);
                    pr.findings = rules::join::with_table_stats(plan, found, &snap, settings);
                }
            }
            report.database = Some(super::health::database_report(&snap, settings));
        }
        Err(e) => {
            let e = one_line(&e);
            eprintln!(
                "pgdiag: warning: {e}; the plans are reported without table statistics \
                 (--no-stats skips this step)"
            );
            report.database = Some(DatabaseReport {
                database: conn.dbname.clone(),
                role: conn.user.clone(),
                not_visible: vec![format!(
                    "statistics views ({e}): table statistics, sessions and the database rules \
                     were not checked"
                )],
                ..DatabaseReport::default()
            });
        }
    }
}

/// The snapshot, on a session of its own that ends before this returns.
async fn take_snapshot(conn: &ConnSettings, relations: &[String]) -> Result<Snapshot, String> {
    let (client, task) = conn::connect(conn).await.map_err(|e| e.to_string())?;
    let snap = tokio::time::timeout(
        Duration::from_secs(60),
        collect::snapshot(&client, relations),
    )
    .await;
    drop(client);
    let _ = task.await;
    match snap {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err("cannot collect statistics: no answer within 60s".into()),
    }
}

/// The queries of `sqls` (`label`, SQL), vetted as `diagnose` vets `-c` queries.
pub(crate) fn queries_from(sqls: &[(String, String)], opts: &Options) -> Vec<Query> {
    let mut out = Vec::new();
    for (label, sql) in sqls {
        push(&mut out, label.clone(), None, None, sql.clone(), opts);
    }
    out
}

/// The positional arguments: at most one connection string, and `-` for standard input.
fn positional(p: &[String]) -> Result<(Option<String>, bool)> {
    let mut conninfo = None;
    let mut stdin = false;
    for a in p {
        if a == "-" {
            stdin = true;
        } else if conninfo.is_some() {
            bail!("more than one connection string given (`{a}`); queries go after -c or -f");
        } else {
            conninfo = Some(a.clone());
        }
    }
    Ok((conninfo, stdin))
}

/// One input of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    /// The N-th `-c` (0-based).
    Command(usize),
    /// A `-f` file, or `-` for standard input.
    File(std::path::PathBuf),
}

/// The inputs in the order they were typed. Clap keeps `-c`, `-f` and the positional `-` apart,
/// so the command line is read again for their positions; when that is not possible (pgdiag
/// called as a library), `-c` come first, then `-f`, then `-`.
fn inputs_in_order(args: &DiagnoseArgs, stdin: bool) -> Vec<Input> {
    let mut fallback: Vec<Input> = (0..args.commands.len()).map(Input::Command).collect();
    fallback.extend(args.files.iter().cloned().map(Input::File));
    if stdin {
        fallback.push(Input::File("-".into()));
    }
    use clap::CommandFactory;
    let Ok(m) = crate::cli::Args::command().try_get_matches_from(std::env::args_os()) else {
        return fallback;
    };
    let Some(sub) = m.subcommand_matches("diagnose") else {
        return fallback;
    };
    let idx =
        |id: &str| -> Vec<usize> { sub.indices_of(id).map(|i| i.collect()).unwrap_or_default() };
    let (c, f, p) = (idx("commands"), idx("files"), idx("positional"));
    if c.len() != args.commands.len()
        || f.len() != args.files.len()
        || p.len() != args.positional.len()
    {
        return fallback;
    }
    let mut keyed: Vec<(usize, Input)> = Vec::new();
    keyed.extend(
        c.into_iter()
            .enumerate()
            .map(|(n, i)| (i, Input::Command(n))),
    );
    keyed.extend(
        f.into_iter()
            .zip(&args.files)
            .map(|(i, p)| (i, Input::File(p.clone()))),
    );
    keyed.extend(
        p.into_iter()
            .zip(&args.positional)
            .filter(|(_, v)| v.as_str() == "-")
            .map(|(i, _)| (i, Input::File("-".into()))),
    );
    keyed.sort_by_key(|(i, _)| *i);
    keyed.into_iter().map(|(_, x)| x).collect()
}

/// Every query of `inputs` (in command-line order, see [`inputs_in_order`]).
fn gather(args: &DiagnoseArgs, inputs: Vec<Input>, opts: &Options) -> Result<Vec<Query>> {
    let mut out: Vec<Query> = Vec::new();
    let mut stdin_used = false;
    for input in inputs {
        let f = match input {
            Input::Command(n) => {
                let label = format!("-c #{}", n + 1);
                push(&mut out, label, None, None, args.commands[n].clone(), opts);
                continue;
            }
            Input::File(f) => f,
        };
        let f = f.as_path();
        let name = f.display().to_string();
        let text = if name == "-" {
            if stdin_used {
                continue;
            }
            stdin_used = true;
            let mut s = String::new();
            io::stdin()
                .read_to_string(&mut s)
                .context("cannot read standard input")?;
            s
        } else {
            match std::fs::read(f) {
                Ok(b) => match String::from_utf8(b) {
                    Ok(s) => s,
                    Err(_) => {
                        out.push(unreadable(&out, &name, "not UTF-8 text".into()));
                        continue;
                    }
                },
                Err(e) => {
                    out.push(unreadable(&out, &name, format!("cannot read: {e}")));
                    continue;
                }
            }
        };
        let split = crate::sql::split(&name, &text);
        for s in &split.skipped {
            eprintln!("pgdiag: {name}:{}: skipped {}", s.line, s.what);
        }
        let whole_file = Ignore::all(&split.ignore_file, "file");
        check_suppressed_rules(&name, &whole_file);
        for st in split.statements {
            let label = format!("{name}:{}", st.line);
            let mut ignores = Ignore::all(&st.suppressions, "statement");
            check_suppressed_rules(&name, &ignores);
            ignores.extend(whole_file.iter().cloned());
            push(
                &mut out,
                label,
                Some(name.clone()),
                Some(st.line),
                st.sql,
                opts,
            );
            out.last_mut().unwrap().suppressions = ignores;
        }
        for e in split.errors {
            let mut q = unreadable(&out, &format!("{name}:{}", e.line), e.message.clone());
            q.origin.file = Some(name.clone());
            q.origin.line = Some(e.line);
            out.push(q);
        }
    }
    Ok(out)
}

fn push(
    out: &mut Vec<Query>,
    label: String,
    file: Option<String>,
    line: Option<usize>,
    sql: String,
    opts: &Options,
) {
    let plan = explain::vet(&sql, opts);
    out.push(Query {
        origin: QueryOrigin {
            index: out.len() + 1,
            file,
            line,
            sql,
        },
        label,
        plan,
        suppressions: Vec::new(),
    });
}

fn unreadable(out: &[Query], label: &str, msg: String) -> Query {
    Query {
        origin: QueryOrigin {
            index: out.len() + 1,
            file: Some(label.to_string()),
            line: None,
            sql: String::new(),
        },
        label: label.to_string(),
        plan: Err(msg),
        suppressions: Vec::new(),
    }
}

fn plan_report(q: &Query, json: &str, settings: &EngineSettings) -> PlanReport {
    match parse_source(&q.label, json) {
        Ok(plans) if !plans.is_empty() => {
            // EXPLAIN prints one plan per statement: one here.
            let plan = plans.into_iter().next().unwrap();
            PlanReport {
                source: q.label.clone(),
                findings: rules::check_plan(&plan, settings),
                plan: Some(plan),
                query: Some(q.origin.clone()),
                ..PlanReport::default()
            }
        }
        Ok(_) => error_report(q, "the server returned no plan".into()),
        Err(e) => error_report(q, format!("cannot read the server's plan: {e}")),
    }
}

fn error_report(q: &Query, e: String) -> PlanReport {
    PlanReport {
        source: q.label.clone(),
        plan: None,
        findings: Vec::new(),
        error: Some(format!("{}: {}", q.label, one_line(&e))),
        query: Some(q.origin.clone()),
        ..PlanReport::default()
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One query's result: the plan's JSON text or a one-line error; `None` when it never ran.
type Outcome = Option<Result<String, String>>;

/// What the workers share.
struct Shared {
    queries: Vec<Query>,
    opts: Options,
    settings: ConnSettings,
    next: AtomicUsize,
    done: AtomicUsize,
    interrupted: AtomicBool,
    results: Mutex<Vec<Outcome>>,
    /// Each worker's current session, for cancel requests.
    tokens: Mutex<Vec<Option<CancelToken>>>,
    progress: bool,
}

/// Opens the first session (a failure there is the whole run's error), then runs every query on
/// up to `jobs` sessions. Returns the outcomes in input order and whether Ctrl-C stopped the run.
async fn run_all(
    settings: &ConnSettings,
    queries: &[Query],
    opts: &Options,
    jobs: usize,
) -> Result<(Vec<Outcome>, bool), String> {
    // Listen for Ctrl-C before anything runs on the server.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    let runnable = queries.iter().filter(|q| q.plan.is_ok()).count();
    let mut first = None;
    if runnable > 0 {
        let (client, task) = tokio::select! {
            r = conn::connect(settings) => r.map_err(|e| e.to_string())?,
            _ = &mut ctrl_c => return Ok((vec![None; queries.len()], true)),
        };
        let info = tokio::select! {
            r = explain::server_info(&client) => r.map_err(|e| conn::describe_error(&e))?,
            _ = &mut ctrl_c => return Ok((vec![None; queries.len()], true)),
        };
        if info.in_recovery {
            eprintln!(
                "pgdiag: note: the server is a hot standby (in recovery): queries run read-only there, and plans may differ from the primary's"
            );
        }
        first = Some((client, task, info));
    }

    let results = queries
        .iter()
        .map(|q| match &q.plan {
            Ok(_) => None,
            Err(e) => Some(Err(e.clone())),
        })
        .collect();
    let jobs = jobs.clamp(1, runnable.max(1));
    let shared = Arc::new(Shared {
        queries: queries.to_vec(),
        opts: opts.clone(),
        settings: settings.clone(),
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        interrupted: AtomicBool::new(false),
        results: Mutex::new(results),
        tokens: Mutex::new(vec![None; jobs]),
        progress: io::stderr().is_terminal(),
    });

    let mut workers = tokio::task::JoinSet::new();
    for w in 0..jobs {
        let conn = if w == 0 { first.take() } else { None };
        workers.spawn(worker(shared.clone(), w, conn));
    }

    let interrupted = tokio::select! {
        _ = async { while workers.join_next().await.is_some() {} } => false,
        _ = &mut ctrl_c => true,
    };
    if interrupted {
        shared.interrupted.store(true, Ordering::SeqCst);
        // Cancel on the server, again and again until every worker has rolled back and stopped
        // (a worker may have started a query just after the first round), for a few seconds.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            cancel_all(&shared).await;
            let wait = tokio::time::timeout(Duration::from_millis(500), async {
                while workers.join_next().await.is_some() {}
            });
            if wait.await.is_ok() || tokio::time::Instant::now() >= deadline {
                break;
            }
        }
        workers.abort_all();
    }
    let results = std::mem::take(&mut *shared.results.lock().unwrap());
    Ok((results, interrupted))
}

/// Sends a cancel request for every session (over TLS when the session uses it).
async fn cancel_all(shared: &Shared) {
    let tokens: Vec<CancelToken> = shared
        .tokens
        .lock()
        .unwrap()
        .iter()
        .flatten()
        .cloned()
        .collect();
    let tls = shared.settings.make_tls().ok().flatten();
    for t in tokens {
        let r = match &tls {
            Some(tls) => {
                tokio::time::timeout(Duration::from_secs(2), t.cancel_query(tls.clone())).await
            }
            None => tokio::time::timeout(Duration::from_secs(2), t.cancel_query(NoTls)).await,
        };
        if let Ok(Err(e)) = r {
            eprintln!(
                "pgdiag: warning: cannot send a cancel request: {}",
                conn::describe_error(&e)
            );
        }
    }
}

/// Takes queries one after the other until none is left or the run is interrupted.
async fn worker(
    shared: Arc<Shared>,
    w: usize,
    mut conn: Option<(Client, ConnectionTask, ServerInfo)>,
) {
    let total = shared.queries.len();
    loop {
        if shared.interrupted.load(Ordering::SeqCst) {
            break;
        }
        let i = shared.next.fetch_add(1, Ordering::SeqCst);
        let Some(q) = shared.queries.get(i) else {
            break;
        };
        let Ok(mode) = q.plan else {
            continue;
        };
        if conn.as_ref().is_some_and(|(c, _, _)| c.is_closed()) {
            conn = None;
        }
        if conn.is_none() {
            match open(&shared.settings).await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    store(&shared, i, Err(e));
                    continue;
                }
            }
        }
        let (client, _, info) = conn.as_ref().unwrap();
        shared.tokens.lock().unwrap()[w] = Some(client.cancel_token());
        if shared.interrupted.load(Ordering::SeqCst) {
            break;
        }
        if shared.progress {
            eprintln!("pgdiag: [{}/{total}] {}", i + 1, q.label);
        }
        let r = explain::run(client, info, &q.origin.sql, &shared.opts, mode).await;
        if shared.interrupted.load(Ordering::SeqCst) {
            // Cancelled by Ctrl-C: not a result of the query.
            break;
        }
        match r {
            Ok(json) => store(&shared, i, Ok(json)),
            Err(RunError::Query(m)) => store(&shared, i, Err(m)),
            Err(RunError::Lost(m)) => {
                store(&shared, i, Err(format!("{m} (connection lost)")));
                shared.tokens.lock().unwrap()[w] = None;
                conn = None;
            }
        }
    }
    shared.tokens.lock().unwrap()[w] = None;
}

async fn open(settings: &ConnSettings) -> Result<(Client, ConnectionTask, ServerInfo), String> {
    let (client, task) = conn::connect(settings).await.map_err(|e| e.to_string())?;
    let info = explain::server_info(&client)
        .await
        .map_err(|e| conn::describe_error(&e))?;
    Ok((client, task, info))
}

fn store(shared: &Shared, i: usize, r: Result<String, String>) {
    shared.results.lock().unwrap()[i] = Some(r);
    shared.done.fetch_add(1, Ordering::SeqCst);
}
