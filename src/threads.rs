//! How many threads the analysis of one big plan may use.
//!
//! Reading a huge JSON plan (`plan::parse::json_split`) and checking its nodes (`rules`) split
//! their work over the machine's cores. `--threads` (or `PGDIAG_THREADS`) caps that, for a DBA
//! who would rather not take every core of a busy host, and for measuring one thread alone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// 0: not set, use the machine's cores.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

/// Cap the threads one analysis may use (at least 1). `0` goes back to the machine's cores.
pub fn set_limit(threads: usize) {
    LIMIT.store(threads, Ordering::Relaxed);
}

/// Threads one analysis may use: the cores this process may run on, or fewer if a lower limit
/// is set. A limit above the cores is no reason to start more threads than there are cores (and
/// `--threads 65535` on a big plan asked the system for more threads than it could start).
pub fn available() -> usize {
    match LIMIT.load(Ordering::Relaxed) {
        0 => cores(),
        n => n.min(cores()),
    }
}

fn cores() -> usize {
    // Asking the OS reads cgroup files on Linux: once is enough.
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_caps_and_zero_restores_the_cores() {
        assert!(available() >= 1);
        set_limit(1);
        assert_eq!(available(), 1);
        set_limit(3);
        assert_eq!(available(), 3.min(cores()));
        set_limit(usize::MAX);
        assert_eq!(available(), cores());
        set_limit(0);
        assert_eq!(available(), cores());
    }
}
