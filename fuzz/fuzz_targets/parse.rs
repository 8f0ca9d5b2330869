//! `cargo +nightly fuzz run parse`: any bytes → `parse_source` → rules → every report.
//!
//! The property is `pgdiag::fuzzing::check_parse_property`, the one `tests/fuzz_parsers.rs` runs
//! in CI: no panic, no stack overflow, a non-empty error message with a line inside the input,
//! finite derived times. Seed the corpus with the plan fixtures:
//! `cargo +nightly fuzz run parse corpus/parse ../fixtures/plans/generated` (see BENCHMARKS.md,
//! "Fuzzing").
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    pgdiag::fuzzing::check_parse_property(&String::from_utf8_lossy(data));
});
