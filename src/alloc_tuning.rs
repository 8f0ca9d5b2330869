//! How the `pgdiag` binary tunes its allocator (mimalloc, `src/main.rs`). The benchmark calls the
//! same function, so that it measures the binary as it runs.

/// mimalloc v3's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc.h). The Rust
/// bindings name no constant for it; the test below checks that this index is that option.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Never hand freed memory back to the OS early. pgdiag is short-lived, and reading a big text
/// plan builds and frees an intermediate document while the model grows: with mimalloc's default
/// purge the kernel zeroed the same pages again and again, half the time of a 105 MB text parse
/// (BENCHMARKS.md). The memory goes back when the process exits.
pub fn keep_freed_memory() {
    // SAFETY: sets one integer option; mimalloc allows options to change at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_delay_is_the_option_we_mean() {
        // SAFETY: reads and sets one integer option.
        let default = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // v3's default purge delay, 1000 ms: no neighbouring option has it.
            assert_eq!(
                default, 1000,
                "option {MI_OPTION_PURGE_DELAY} is not purge_delay"
            );
        }
        keep_freed_memory();
        let now = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(now, -1);
    }
}
