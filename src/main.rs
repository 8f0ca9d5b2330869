//! The `pgdiag` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    pgdiag::cli::install_panic_hook();
    pgdiag::cli::main()
}
