//! `diagnose --baseline FILE` / `--write-baseline FILE`: the glue between the run and
//! `crate::baseline`, so `diagnose.rs` only calls in three places.

use anyhow::{anyhow, Result};

use crate::baseline::{self, BaselineFile};
use crate::cli::args::DiagnoseArgs;
use crate::report::Report;
use crate::rules::EngineSettings;

/// The baseline to compare with, read before anything runs: a bad file is a one-line error
/// (`FILE:LINE: what`) and exit 2.
pub fn load(args: &DiagnoseArgs) -> Result<Option<BaselineFile>> {
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    BaselineFile::read(path).map(Some).map_err(|e| anyhow!(e))
}

/// Compare the report with the baseline, when one was given.
pub fn compare(
    report: &mut Report,
    loaded: Option<&BaselineFile>,
    args: &DiagnoseArgs,
    settings: &EngineSettings,
) {
    if let (Some(b), Some(path)) = (loaded, &args.baseline) {
        baseline::apply(
            report,
            b,
            &path.display().to_string(),
            settings,
            args.gate_timing,
        );
    }
}

/// Write the run's baseline, when asked (after the comparison, so the old file was read first).
pub fn save(report: &Report, args: &DiagnoseArgs) -> Result<()> {
    let Some(path) = &args.write_baseline else {
        return Ok(());
    };
    let file = baseline::record(report);
    file.write(path).map_err(|e| anyhow!(e))?;
    let missing = report
        .plans
        .iter()
        .filter(|p| p.query.is_some() && p.plan.is_none())
        .count();
    if missing > 0 {
        // Those queries will show as new next time: say so now rather than then.
        eprintln!(
            "pgdiag: warning: {missing} of the queries failed and are not in the baseline {}",
            path.display()
        );
    }
    eprintln!(
        "pgdiag: baseline of {} written to {}",
        match file.queries.len() {
            1 => "1 query".to_string(),
            n => format!("{n} queries"),
        },
        path.display()
    );
    Ok(())
}
