//! Command-line front end: arguments in, exit code out. All output goes through here.

pub mod args;
mod commands;

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

pub use args::Args;
use args::{ColorChoice, Command};
pub use commands::rules::write_markdown_table as write_rules_markdown;

/// Exit codes, stable for scripts and CI.
pub mod exit {
    /// Nothing at or above `--fail-on`.
    pub const CLEAN: u8 = 0;
    /// Findings at or above `--fail-on`.
    pub const FINDINGS: u8 = 1;
    /// Some input could not be read, or the command could not run.
    pub const ERROR: u8 = 2;
    /// Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

/// `--threads`, else `PGDIAG_THREADS`, else no limit.
fn thread_limit(flag: Option<u16>) -> Result<Option<usize>, String> {
    if let Some(n) = flag {
        return Ok(Some(n.into()));
    }
    let Some(raw) = std::env::var_os("PGDIAG_THREADS") else {
        return Ok(None);
    };
    // Not text at all is as wrong as text that is not a number.
    let text = raw.to_str().map(str::trim);
    if text == Some("") {
        return Ok(None);
    }
    match text.and_then(|t| t.parse::<usize>().ok()) {
        Some(n) if n >= 1 => Ok(Some(n)),
        _ => Err(format!(
            "PGDIAG_THREADS={raw:?}: expected a number of threads, 1 or more"
        )),
    }
}

/// Parse the command line, run, and return the exit code.
pub fn main() -> ExitCode {
    let mut args = Args::parse();
    match thread_limit(args.threads) {
        Ok(Some(n)) => crate::threads::set_limit(n),
        Ok(None) => {}
        Err(e) => {
            eprintln!("pgdiag: error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    }
    // `pgdiag rules` describes the catalog, not a run: a broken pgdiag.toml must not hide it.
    let config = match &args.command {
        Command::Rules(_) => crate::config::Config::default(),
        _ => match crate::config::discover_and_load(args.config.as_deref(), args.no_config) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("pgdiag: error: {e}");
                return ExitCode::from(exit::ERROR);
            }
        },
    };
    // The file's report format and fail-on, resolved once here so that every writer reads
    // `--format` and `--fail-on` only.
    if let Some(report) = args.command.report_args_mut() {
        report.format = config.format(report.format).map(|f| f.value);
        report.rules.fail_on = Some(config.fail_on(report.rules.fail_on).value);
    }
    let result = match args.command {
        Command::Analyze(a) => commands::analyze::run(&a, &config),
        Command::Diagnose(d) => commands::diagnose::run(&d, &config),
        Command::Rules(r) => commands::rules::run(&r),
        Command::Health(h) => commands::health::run(&h, &config),
        Command::Demo(d) => commands::demo::run(&d, &config),
        Command::Config(c) => commands::config::run(&c, &config),
        Command::Compare(c) => commands::compare::run(&c, &config),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::CLEAN),
        Err(e) => {
            eprintln!("pgdiag: error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// A closed pipe (`pgdiag … | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Colour on stdout: `always`, `never`, or under `auto` a terminal without `NO_COLOR`.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// A panic is a bug in pgdiag, never the user's fault: say so and where to report it.
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let _ = writeln!(
            io::stderr(),
            "pgdiag: internal error (a bug): please report it with the input that caused it"
        );
    }));
}
