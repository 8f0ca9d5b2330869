//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/plans` beside the project: the team's plan corpus. It is not part of a user's clone,
/// so tests that read it say plainly that they were skipped; CI sets `PGDIAG_REQUIRE_SHARED=1`,
/// which turns a missing corpus into a failure.
pub fn shared_plans() -> Option<PathBuf> {
    let dir = std::env::var_os("PGDIAG_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"))
        .join("plans");
    if dir.join("real").is_dir() {
        return Some(dir);
    }
    if std::env::var("PGDIAG_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "the plan corpus is required (PGDIAG_REQUIRE_SHARED=1) but {} does not exist",
            dir.display()
        );
    }
    // Written to the stderr handle, not with eprintln!, so the test harness does not capture it:
    // a skipped corpus test says so plainly even when it passes.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: the shared plan corpus {} is not here (it is not part of a clone); \
         CI runs these tests with PGDIAG_REQUIRE_SHARED=1",
        dir.display()
    );
    None
}

/// Every file under `dir` (recursively) whose extension is one of `exts`, sorted.
pub fn files_with_ext(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| exts.contains(&x))
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}
