//! `pgdiag demo`: starts its own throwaway PostgreSQL (the server binaries must be installed;
//! the test fails without them), finds every checklist item, and leaves nothing behind.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");

/// Processes whose command line mentions `needle` (a path of the demo's directory).
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) {
            out.push(format!("{pid}: {cmd}"));
        }
    }
    out
}

fn findings<'a>(v: &'a [Value], rule: &str) -> Vec<&'a Value> {
    v.iter().filter(|f| f["rule"] == rule).collect()
}

#[test]
fn demo_finds_every_checklist_item_and_leaves_nothing_behind() {
    // A temporary directory of the test's own, so that what the demo leaves there can be seen
    // (readable by the server's user when the test runs as root).
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["demo", "--format", "json"])
        .env("TMPDIR", tmp.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    // The user's PG* variables must not matter.
    cmd.env("PGHOST", "/nonexistent")
        .env("PGPORT", "1")
        .env("PGDATABASE", "nosuch");
    let started = Instant::now();
    let out = cmd.output().unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}\n{stdout}");
    assert!(took < Duration::from_secs(60), "the demo took {took:?}");

    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let plans = v["plans"].as_array().unwrap();
    assert!(plans.len() >= 3, "{stdout}");
    let plan_findings: Vec<Value> = plans
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap().clone())
        .collect();
    for p in plans {
        assert!(p["error"].is_null(), "{p}");
        assert!(p["query"]["sql"].as_str().unwrap().contains("orders"));
    }

    // A sequential scan of the big table on an unindexed column, with the index to create.
    let p1 = findings(&plan_findings, "P001");
    assert!(
        p1.iter()
            .any(|f| f["advice"].as_str().unwrap().contains("customer_id")),
        "{p1:#?}"
    );
    // Stale statistics: a misestimate of at least 1000×, an error, saying why.
    let p2 = findings(&plan_findings, "P002");
    let p2 = p2
        .iter()
        .find(|f| f["severity"] == "error")
        .unwrap_or_else(|| panic!("no P002 error: {plan_findings:#?}"));
    assert!(p2["evidence"]["factor"].as_f64().unwrap() >= 1000.0, "{p2}");
    assert_eq!(p2["evidence"]["statistics_stale"], true, "{p2}");
    assert!(
        p2["advice"]
            .as_str()
            .unwrap()
            .starts_with("Run `ANALYZE public.orders;`"),
        "{p2}"
    );
    // The sort spilling to disk under the demo's small work_mem.
    assert!(!findings(&plan_findings, "P003").is_empty(), "{stdout}");

    let db = &v["database"];
    assert_eq!(db["database"], "demo");
    assert_eq!(db["in_recovery"], false);
    assert!(!db["server_version"].as_str().unwrap().is_empty());
    let dbf = db["findings"].as_array().unwrap();
    let d1 = findings(dbf, "D001");
    assert!(
        d1.iter().any(|f| f["evidence"]["table"] == "public.orders"),
        "{dbf:#?}"
    );
    assert!(!findings(dbf, "D002").is_empty(), "{dbf:#?}");
    let d4 = findings(dbf, "D004");
    assert!(!d4.is_empty(), "{dbf:#?}");

    // Nothing left: the directory the demo named is gone, nothing remains in TMPDIR, and no
    // process runs from it.
    let line = stderr
        .lines()
        .find(|l| l.contains("pgdiag-demo-"))
        .unwrap_or_else(|| panic!("the demo does not say where it runs: {stderr}"));
    let dir = line
        .split_whitespace()
        .find(|w| w.contains("pgdiag-demo-"))
        .unwrap()
        .trim_end_matches(',');
    assert!(dir.starts_with(tmp.path().to_str().unwrap()), "{dir}");
    assert!(!Path::new(dir).exists(), "{dir} was left behind");
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    assert_eq!(processes_mentioning(dir), Vec::<String>::new());
}
