//! The command line: exit codes, error lines, formats, the rules command, README in sync.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn pgdiag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(args)
        .current_dir(common::root())
        .env_remove("NO_COLOR")
        .output()
        .expect("run pgdiag")
}

fn pgdiag_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(args)
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pgdiag");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const PLANNING_FIRE: &str = "fixtures/rules/planning-dominates/fire.json";
const PLANNING_QUIET: &str = "fixtures/rules/planning-dominates/quiet.json";

#[test]
fn info_finding_fails_only_with_fail_on_info() {
    // planning-dominates is an info finding.
    let out = pgdiag(&[
        "analyze",
        "--format",
        "concise",
        "--disable",
        "hot-spot",
        PLANNING_FIRE,
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("P011"),
        "stdout: {}",
        text(&out.stdout)
    );
    let out = pgdiag(&[
        "analyze",
        "--format",
        "concise",
        "--fail-on",
        "info",
        "--disable",
        "hot-spot",
        PLANNING_FIRE,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let out = pgdiag(&[
        "analyze",
        "--fail-on",
        "none",
        "--format",
        "json",
        PLANNING_FIRE,
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unreadable_input_is_exit_2_and_the_rest_is_still_analysed() {
    let out = pgdiag(&[
        "analyze",
        "--format",
        "json",
        "--fail-on",
        "none",
        "no/such/file.json",
        PLANNING_FIRE,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no/such/file.json: cannot read"),
        "stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line per error: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let plans = doc["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);
    assert!(plans[0]["error"].is_string());
    assert!(plans[1]["error"].is_null());
    assert!(!plans[1]["nodes"].as_array().unwrap().is_empty());
}

#[test]
fn malformed_json_error_names_the_line() {
    let out = pgdiag_stdin(
        &["analyze", "--format", "concise", "-"],
        "[\n  {\n    \"Plan\": {\n      \"Node Type\": \"Seq Scan\",\n    }\n  }\n]\n",
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("pgdiag: error: -:5: "),
        "stderr: {stderr}"
    );
}

#[test]
fn stdin_is_read_with_dash() {
    let plan = std::fs::read_to_string(common::root().join(PLANNING_QUIET)).unwrap();
    let out = pgdiag_stdin(&["analyze", "--format", "json", "-"], &plan);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["plans"][0]["source"], "-");
    assert_eq!(doc["schema_version"], 1);
}

#[test]
fn directories_are_expanded_to_plan_files() {
    let out = pgdiag(&[
        "analyze",
        "--format",
        "json",
        "--fail-on",
        "none",
        "fixtures/rules/planning-dominates",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources: Vec<&str> = doc["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    // fire.json, fire.txt, quiet.json, quiet.txt — not setup.sql or VERSION.
    assert_eq!(sources.len(), 4, "{sources:?}");
    assert!(sources
        .iter()
        .all(|s| s.ends_with(".json") || s.ends_with(".txt")));
}

#[test]
fn bad_options_are_refused_with_exit_2() {
    let out = pgdiag(&["analyze", "--disable", "no-such-rule", PLANNING_FIRE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no-such-rule"));
    let out = pgdiag(&["analyze", "--set", "P011.nope=3", PLANNING_FIRE]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("min_planning_ms"),
        "{}",
        text(&out.stderr)
    );
    let out = pgdiag(&["analyze", "--set", "P011.ratio=abc", PLANNING_FIRE]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn thresholds_can_be_overridden() {
    // With a planning floor above the fixture's planning time, P011 stays quiet.
    let out = pgdiag(&[
        "analyze",
        "--format",
        "concise",
        "--set",
        "P011.min_planning_ms=100000",
        PLANNING_FIRE,
    ]);
    assert!(!text(&out.stdout).contains("P011"), "{}", text(&out.stdout));
}

#[test]
fn rules_lists_every_rule_and_explains_one() {
    let out = pgdiag(&["rules"]);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    assert_eq!(listing.lines().count(), pgdiag::rules::all().len());
    let out = pgdiag(&["rules", "planning-dominates"]);
    let one = text(&out.stdout);
    assert!(one.starts_with("P011 planning-dominates"));
    assert!(one.contains("min_planning_ms = 10"));
    let out = pgdiag(&["rules", "P999"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(["rules"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        !text(&out.stderr).contains("error"),
        "stderr: {}",
        text(&out.stderr)
    );
}

/// README's rule table is generated from rules/. Run with `PGDIAG_BLESS=1` to rewrite it.
#[test]
fn readme_rule_table_is_up_to_date() {
    let mut table = Vec::new();
    pgdiag::cli::write_rules_markdown(&mut table).unwrap();
    let table = String::from_utf8(table).unwrap();
    let path = common::root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme.find("<!-- rules:start -->\n").expect("start marker") + 21;
    let end = readme.find("<!-- rules:end -->").expect("end marker");
    if std::env::var("PGDIAG_BLESS").as_deref() == Ok("1") {
        let updated = format!("{}{}{}", &readme[..start], table, &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[start..end],
        table,
        "README.md's rule table is stale: run `PGDIAG_BLESS=1 cargo test --test cli readme`"
    );
}

#[path = "../benches/plan_gen/mod.rs"]
mod plan_gen;

/// A plan big enough to be read and checked on several threads gives the report it gives on
/// one (`--threads 1`), whichever way the limit is set; a bad `PGDIAG_THREADS` is an error.
#[test]
fn threads_change_nothing_but_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    // ~10 MB: over two chunks of json_split's minimum, so the default reads it on two threads.
    std::fs::write(&path, plan_gen::to_json(&plan_gen::big_plan(7, 500))).unwrap();
    let path = path.to_str().unwrap();
    let run = |threads: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgdiag"));
        cmd.args(["analyze", "--format", "json", "--fail-on", "none", path]);
        if let Some(n) = threads {
            cmd.args(["--threads", n]);
        }
        match env {
            Some(v) => cmd.env("PGDIAG_THREADS", v),
            None => cmd.env_remove("PGDIAG_THREADS"),
        };
        cmd.output().expect("run pgdiag")
    };
    let one = run(Some("1"), None);
    assert_eq!(one.status.code(), Some(0), "stderr: {}", text(&one.stderr));
    assert!(text(&one.stdout).contains("\"findings\""));
    for (threads, env) in [
        (None, None),
        (Some("2"), None),
        (Some("8"), None),
        (None, Some("3")),
    ] {
        let out = run(threads, env);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
        assert!(
            out.stdout == one.stdout,
            "--threads {threads:?}, PGDIAG_THREADS {env:?}: the report differs"
        );
    }
    let bad = run(None, Some("many"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("PGDIAG_THREADS=\"many\""),
        "stderr: {}",
        text(&bad.stderr)
    );
}

/// A `PGDIAG_THREADS` that is not text is as wrong as one that is not a number: an error, not
/// silently the default.
#[test]
fn a_thread_limit_that_is_not_text_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(["rules"])
        .env("PGDIAG_THREADS", std::ffi::OsStr::from_bytes(b"\xff2"))
        .output()
        .expect("run pgdiag");
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("PGDIAG_THREADS="),
        "stderr: {}",
        text(&out.stderr)
    );
}
