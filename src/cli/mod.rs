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

/// Parse the command line, run, and return the exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Analyze(a) => commands::analyze::run(&a),
        Command::Diagnose(d) => commands::diagnose::run(&d),
        Command::Rules(r) => commands::rules::run(&r),
        Command::Health(h) => commands::health::run(&h),
        Command::Demo(d) => commands::demo::run(&d),
        Command::Compare(c) => commands::compare::run(&c),
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
