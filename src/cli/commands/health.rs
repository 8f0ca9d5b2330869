//! `pgdiag health [CONNINFO]`: connect, collect a statistics snapshot, run the database rules,
//! report.

use std::path::PathBuf;

use anyhow::Result;

use super::output::{engine_settings, exit_code, fail_on, write_report};
use crate::cli::args::HealthArgs;
use crate::cli::exit;
use crate::collect::{self, Snapshot};
use crate::config::Config;
use crate::conn::{self, ProcessEnv};
use crate::report::{DatabaseReport, Report};
use crate::rules::{self, EngineSettings};

pub fn run(args: &HealthArgs, config: &Config) -> Result<u8> {
    let settings = engine_settings(&args.report, config)?;
    let taken = match &args.from_snapshot {
        Some(path) => read_snapshot(path),
        None => take_snapshot(args.conninfo.as_deref(), config),
    };
    let snapshot = match taken {
        Ok(s) => s,
        Err(e) => {
            // One line, never the password (conn errors are redacted at the source).
            eprintln!("pgdiag: error: {}", crate::report::fmt::one_line(&e));
            return Ok(exit::ERROR);
        }
    };
    if let Some(path) = &args.save_snapshot {
        let text = serde_json::to_string_pretty(&snapshot)?;
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("pgdiag: error: {}: cannot write: {e}", path.display());
            return Ok(exit::ERROR);
        }
    }
    let report = health_report(&snapshot, &settings);
    write_report(&report, &args.report)?;
    Ok(exit_code(&report, fail_on(&args.report, config)))
}

/// The report of a snapshot: the database rules' findings and what was not visible.
pub fn health_report(snapshot: &Snapshot, settings: &EngineSettings) -> Report {
    Report {
        plans: Vec::new(),
        database: Some(database_report(snapshot, settings)),
        ..Report::default()
    }
}

/// The database section of a snapshot (shared with `diagnose`).
pub fn database_report(snapshot: &Snapshot, settings: &EngineSettings) -> DatabaseReport {
    DatabaseReport {
        server_version: snapshot.server.version.clone(),
        in_recovery: snapshot.server.in_recovery,
        database: snapshot.server.database.clone(),
        role: snapshot.server.role.clone(),
        findings: rules::check_database(snapshot, settings),
        not_visible: snapshot.not_visible.clone(),
    }
}

fn read_snapshot(path: &std::path::Path) -> Result<Snapshot, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a pgdiag snapshot: {e}", path.display()))
}

fn take_snapshot(conninfo: Option<&str>, config: &Config) -> Result<Snapshot, String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let defaults = config.connection_defaults();
    let settings = conn::resolve_with_config(conninfo, &ProcessEnv, home.as_deref(), &defaults)
        .map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let (client, task) = conn::connect(&settings).await.map_err(|e| e.to_string())?;
        let snap = collect::health_snapshot(&client).await;
        drop(client);
        let _ = task.await;
        snap.map_err(|e| e.to_string())
    })
}
