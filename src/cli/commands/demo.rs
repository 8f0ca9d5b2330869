//! `pgdiag demo`: start a throwaway PostgreSQL with a schema that has every problem pgdiag
//! looks for (see `crate::demo`), diagnose a few queries on it exactly as `pgdiag diagnose`
//! does, print the report, and remove the cluster.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::diagnose::{queries_from, Run};
use super::output::{engine_settings, exit_code, fail_on, write_report};
use crate::cli::args::DemoArgs;
use crate::cli::exit;
use crate::config::Config;
use crate::conn::{self, EmptyEnv};
use crate::demo::{self, Cluster};
use crate::explain::Options;
use crate::report::Report;

pub fn run(args: &DemoArgs, config: &Config) -> Result<u8> {
    let mut settings = engine_settings(&args.report, config)?;
    // The demo's idle-in-transaction session is seconds old, not minutes: report it anyway
    // (unless the user set the threshold).
    settings
        .thresholds
        .entry(("D004".into(), "min_age_s".into()))
        .or_insert(1.0);

    demo::watch_ctrl_c();
    let started = Instant::now();
    eprintln!("pgdiag demo: starting a throwaway PostgreSQL server…");
    let cluster = match Cluster::start() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pgdiag: error: demo: {}", crate::report::fmt::one_line(&e));
            return Ok(exit::ERROR);
        }
    };
    eprintln!(
        "pgdiag demo: {} in {}, socket port {}",
        cluster.version,
        cluster.root().display(),
        cluster.port
    );
    let outcome = diagnose(&cluster, &settings);
    // Stop the server and remove its directory before printing anything else.
    drop(cluster);
    let (report, interrupted) = match outcome {
        Ok(r) => r,
        Err(e) => {
            if demo::interrupted() {
                eprintln!("pgdiag: interrupted: the demo server was stopped and removed");
                return Ok(exit::INTERRUPTED);
            }
            eprintln!("pgdiag: error: demo: {}", crate::report::fmt::one_line(&e));
            return Ok(exit::ERROR);
        }
    };
    write_report(&report, &args.report)?;
    if interrupted || demo::interrupted() {
        eprintln!("pgdiag: interrupted: the demo server was stopped and removed");
        return Ok(exit::INTERRUPTED);
    }
    eprintln!(
        "pgdiag demo: done in {:.1}s; the demo server was stopped and removed",
        started.elapsed().as_secs_f64()
    );
    Ok(exit_code(&report, fail_on(&args.report, config)))
}

/// Loads the schema, holds a session idle in a transaction, and runs the diagnosis.
fn diagnose(
    cluster: &Cluster,
    settings: &crate::rules::EngineSettings,
) -> Result<(Report, bool), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(|e| format!("{e:#}"))?;
    let conn = conn::resolve(Some(&cluster.conninfo(demo::DATABASE)), &EmptyEnv, None)
        .map_err(|e| e.to_string())?;
    let opts = Options {
        analyze: true,
        allow_writes: false,
        statement_timeout: Some(Duration::from_secs(30)),
        lock_timeout: Some(Duration::from_secs(2)),
        idle_in_transaction_timeout: Duration::from_secs(60),
    };
    let queries = queries_from(&demo::queries(), &opts);
    let r = rt.block_on(async {
        eprintln!("pgdiag demo: loading 200,000 orders…");
        demo::load(cluster).await?;
        if demo::interrupted() {
            return Err("interrupted".to_string());
        }
        let idle = demo::idle_in_transaction(cluster).await?;
        let since = Instant::now();
        // Old enough for the (lowered) idle-in-transaction threshold.
        let min_age = Duration::from_millis(1200);
        if since.elapsed() < min_age {
            tokio::time::sleep(min_age - since.elapsed()).await;
        }
        eprintln!(
            "pgdiag demo: a session is idle in a transaction; diagnosing {} queries…",
            queries.len()
        );
        let run = Run {
            conn: &conn,
            queries: &queries,
            opts: &opts,
            jobs: 1,
            settings,
            stats: true,
        };
        let r = run.report().await;
        let _ = idle.batch_execute("ROLLBACK").await;
        drop(idle);
        r
    });
    drop(rt);
    r
}
