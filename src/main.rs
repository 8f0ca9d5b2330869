//! The `pgdiag` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

/// mimalloc rather than the system allocator: a plan model is hundreds of thousands of small
/// strings and vectors, and with glibc's allocator a third of a big plan's parse went to malloc
/// and free (`BENCHMARKS.md`: the JSON parse −22 %, the text parse −40 % with mimalloc).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    pgdiag::alloc_tuning::keep_freed_memory();
    pgdiag::cli::install_panic_hook();
    pgdiag::cli::main()
}
