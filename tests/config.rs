//! `pgdiag.toml` from the command line: found by walking up from the current directory (or
//! named by `--config` / `PGDIAG_CONFIG`, ignored under `--no-config`), errors as one located
//! line with exit 2, flags winning over the file, the file changing what `analyze` reports and
//! its exit code, `pgdiag config` saying where each setting came from, and `diagnose` taking its
//! connection defaults and query files from it against a real server.

#[path = "common/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pg::PgCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");

/// A fixture plan with a P001 finding (warning) and a P012 one (info).
fn seq_scan_plan() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules/seq-scan-large-table/fire.json")
}

/// A project directory holding `pgdiag.toml` and a subdirectory to run from.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(config: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pgdiag.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        Project { dir }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("pgdiag.toml")
    }

    fn subdir(&self) -> PathBuf {
        self.dir.path().join("src/deep")
    }

    /// `pgdiag ARGS…` run from the subdirectory, with no PG* or PGDIAG_CONFIG variables.
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args).current_dir(self.subdir());
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                c.env_remove(k);
            }
        }
        c.env("HOME", self.dir.path()).env("NO_COLOR", "1");
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

/// Rule ids and severities of the findings of a concise report.
fn findings(o: &Output) -> Vec<String> {
    stdout(o)
        .lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once(": ")?;
            let mut w = rest.split_whitespace();
            let severity = w.next()?;
            let rule = w.next()?.split('[').next()?;
            Some(format!("{severity} {rule}"))
        })
        .collect()
}

#[test]
fn found_by_walking_up_and_changes_analyze() {
    let plan = seq_scan_plan();
    let plan = plan.to_str().unwrap();

    // Without a file: P001 is a warning, so the default fail-on (warning) exits 1.
    let none = Project::new("");
    let o = none.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(
        findings(&o),
        ["warning P001", "info P012"],
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(1));

    // P001 disabled in the project's file, found from a subdirectory: nothing at warning.
    let p = Project::new("[rules.seq-scan-large-table]\nenabled = false\n");
    let o = p.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(findings(&o), ["info P012"], "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));

    // fail-on raised to error: P001 no longer fails the run, until P012 is raised to error.
    let p = Project::new("fail-on = \"error\"\n");
    let o = p.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = Project::new("fail-on = \"error\"\n[rules.P012]\nseverity = \"error\"\n");
    let o = p.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(findings(&o), ["error P012", "warning P001"]);
    assert_eq!(o.status.code(), Some(1));

    // A threshold: P001 needs more rows read than the plan has.
    let p = Project::new("[rules.P001]\nmin_rows_read = 1000000\n");
    let o = p.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(findings(&o), ["info P012"], "{}", stderr(&o));

    // The report format.
    let p = Project::new("format = \"json\"\n");
    let o = p.run(&["analyze", plan]);
    assert_eq!(json(&o)["plans"][0]["findings"][0]["rule"], "P001");
}

#[test]
fn flags_win_over_the_file() {
    let plan = seq_scan_plan();
    let plan = plan.to_str().unwrap();
    let p = Project::new(
        "fail-on = \"none\"\nformat = \"json\"\n[rules.P001]\nmin_rows_read = 1000000\n",
    );
    let o = p.run(&["analyze", plan]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with('{'), "{}", stdout(&o));

    let o = p.run(&[
        "analyze",
        "-F",
        "concise",
        "--fail-on",
        "warning",
        "--set",
        "P001.min_rows_read=1000",
        plan,
    ]);
    assert_eq!(
        findings(&o),
        ["warning P001", "info P012"],
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(1));

    // --disable wins over a rule the file configures.
    let p = Project::new("[rules.P001]\nseverity = \"error\"\n");
    let o = p.run(&["analyze", "-F", "concise", "--disable", "P001", plan]);
    assert_eq!(findings(&o), ["info P012"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn config_flag_variable_and_no_config() {
    let plan = seq_scan_plan();
    let plan = plan.to_str().unwrap();
    // The project's own file disables P012; another file disables P001.
    let p = Project::new("[rules.P012]\nenabled = false\n");
    let other = p.dir.path().join("other.toml");
    std::fs::write(&other, "[rules.P001]\nenabled = false\n").unwrap();
    let other = other.to_str().unwrap();

    let o = p.run(&["analyze", "-F", "concise", plan]);
    assert_eq!(findings(&o), ["warning P001"]);
    // --config before or after the subcommand (a global flag).
    let o = p.run(&["--config", other, "analyze", "-F", "concise", plan]);
    assert_eq!(findings(&o), ["info P012"]);
    let o = p.run(&["analyze", "-F", "concise", plan, "--config", other]);
    assert_eq!(findings(&o), ["info P012"]);
    let o = p
        .command(&["analyze", "-F", "concise", plan])
        .env("PGDIAG_CONFIG", other)
        .output()
        .unwrap();
    assert_eq!(findings(&o), ["info P012"]);
    let o = p.run(&["analyze", "-F", "concise", "--no-config", plan]);
    assert_eq!(findings(&o), ["warning P001", "info P012"]);

    // A named file must exist.
    let o = p.run(&["analyze", "--config", "missing.toml", plan]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("pgdiag: error: missing.toml: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn errors_point_at_file_and_line_and_exit_2() {
    let plan = seq_scan_plan();
    let plan = plan.to_str().unwrap();
    let cases: &[(&str, &str)] = &[
        ("fail-on = \"error\"\n[rules.P999]\n", "2:8: unknown rule `P999`"),
        (
            "[rules.P001]\nmin_rows_read = \"lots\"\n",
            "2:17: threshold P001.min_rows_read must be a number, not a string",
        ),
        (
            "[rules.P001]\n\nmin_rows = 10\n",
            "3:1: rule P001 (seq-scan-large-table) has no setting `min_rows` (it has: enabled, severity, max_include_columns, min_discard_ratio, min_rows_read)",
        ),
        (
            "[rules.P001]\nmin_rows_read = inf\n",
            "2:17: threshold P001.min_rows_read must be a finite number",
        ),
        ("fail-on = 1\n", "1:11: `fail-on`: invalid type: integer `1`, expected a string"),
        ("[rules.P001]\nseverity = \"loud\"\n", "2:12: rules.P001.severity must be"),
        ("[connection]\npassword = \"s3cret\"\n", "2:12: `password` is not read"),
        (
            "[diagnose]\nlock-timeout = \"soon\"\n",
            "2:16: `lock-timeout`: `soon` is not a duration",
        ),
        ("[rules.P001\n", "1:12: "),
    ];
    for (text, want) in cases {
        let p = Project::new(text);
        let expected = format!("pgdiag: error: {}:{want}", p.config_path().display());
        for args in [
            vec!["analyze", plan],
            vec!["config"],
            vec!["diagnose", "-c", "SELECT 1"],
        ] {
            let o = p.run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{text:?} {args:?}: {err}");
            assert!(
                err.starts_with(&expected),
                "{text:?} {args:?}\n got: {err}\nwant: {expected}"
            );
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(!err.contains("s3cret"), "{err}");
            assert!(stdout(&o).is_empty(), "{}", stdout(&o));
        }
    }
    // `pgdiag rules` does not need the file.
    let p = Project::new("[rules.P999]\n");
    let o = p.run(&["rules", "P001"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn config_command_shows_origins() {
    let p = Project::new(
        "fail-on = \"error\"\n\n[connection]\nhost = \"db.example\"\nport = 6432\n\n[diagnose]\nfiles = [\"sql/q.sql\"]\njobs = 2\n\n[rules.P002]\nseverity = \"error\"\nerror_factor = 50\n",
    );
    let at = |line: usize| format!("{}:{line}", p.config_path().display());
    let o = p.run(&["config", "--set", "P002.warn_factor=4", "--disable", "P003"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let row = |key: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no {key} in\n{out}"));
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert!(
        out.starts_with(&format!(
            "config file: {} (found from the current directory)",
            p.config_path().display()
        )),
        "{out}"
    );
    assert_eq!(row("fail-on"), ["error", &at(1)]);
    assert_eq!(row("connection.host"), ["db.example", &at(4)]);
    assert_eq!(row("connection.port"), ["6432", &at(5)]);
    let q = p.dir.path().join("sql/q.sql");
    assert_eq!(row("diagnose.files"), [q.to_str().unwrap(), &at(8)]);
    assert_eq!(row("diagnose.jobs"), ["2", &at(9)]);
    assert_eq!(row("diagnose.statement-timeout"), ["30s", "default"]);
    assert_eq!(row("rules.P002.severity"), ["error", &at(12)]);
    assert_eq!(row("rules.P002.error_factor"), ["50", &at(13)]);
    assert_eq!(row("rules.P002.warn_factor"), ["4", "command", "line"]);
    assert_eq!(row("rules.P003.enabled"), ["false", "command", "line"]);
    assert_eq!(row("rules.P001.min_rows_read"), ["10000", "default"]);

    let o = p.run(&["config", "--format", "json", "--fail-on", "info"]);
    let doc = json(&o);
    assert_eq!(doc["fail_on"]["value"], "info");
    assert_eq!(doc["fail_on"]["origin"], "command line");
    assert_eq!(doc["connection"]["host"]["origin"], at(4));
    assert_eq!(doc["diagnose"]["jobs"]["value"], 2);
    let p002 = doc["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "P002")
        .unwrap();
    assert_eq!(p002["name"], "row-estimate-mismatch");
    assert_eq!(p002["thresholds"]["error_factor"]["value"], 50.0);
    assert_eq!(p002["thresholds"]["error_factor"]["origin"], at(13));
    assert_eq!(p002["enabled"]["origin"], "default");
    // Every rule of the catalog is listed.
    let listed = Command::new(BIN).args(["rules"]).output().unwrap();
    let catalog = stdout(&listed)
        .lines()
        .filter(|l| l.len() > 4 && l.as_bytes()[1].is_ascii_digit())
        .count();
    assert!(catalog > 0);
    assert_eq!(doc["rules"].as_array().unwrap().len(), catalog);

    // Bad flags are errors here too.
    let o = p.run(&["config", "--set", "P002.nope=1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("has no threshold `nope`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn diagnose_takes_connection_defaults_and_query_files_from_the_file() {
    let pg = PgCluster::start().unwrap();
    pg.execute(
        "CREATE TABLE big (id int, k int, pad text);
         INSERT INTO big SELECT g, g % 5000, repeat('x', 40) FROM generate_series(1, 200000) g;
         ANALYZE big;",
    );
    let p = Project::new(&format!(
        "fail-on = \"none\"\n\n[connection]\nhost = \"{}\"\nport = {}\nuser = \"{}\"\ndbname = \"postgres\"\n\n[diagnose]\nfiles = [\"sql/critical.sql\"]\n",
        pg.socket_dir.display(),
        pg.port,
        pg.superuser
    ));
    let sql_dir = p.dir.path().join("sql");
    std::fs::create_dir_all(&sql_dir).unwrap();
    let file = sql_dir.join("critical.sql");
    std::fs::write(
        &file,
        "SELECT 1;\n\nSELECT id, pad FROM big WHERE k = 42;\n",
    )
    .unwrap();

    // No connection string and no query on the command line; the password comes from the
    // environment, as the file may not hold one.
    let o = p
        .command(&["diagnose", "--no-stats", "-F", "json"])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    let plans = doc["plans"].as_array().unwrap();
    let f = file.display().to_string();
    assert_eq!(plans.len(), 2, "{doc:#}");
    assert_eq!(plans[0]["source"], format!("{f}:1"));
    assert_eq!(plans[1]["source"], format!("{f}:3"));
    assert!(
        plans[1]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["rule"] == "P001"),
        "{doc:#}"
    );
    // fail-on = "none" from the file; the command line still wins.
    let o = p
        .command(&[
            "diagnose",
            "--no-stats",
            "-F",
            "json",
            "--fail-on",
            "warning",
        ])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));

    // `health` connects with the same defaults.
    let o = p
        .command(&["health", "-F", "json", "--fail-on", "none"])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["database"]["role"], pg.superuser.as_str());

    // -c replaces the file's queries.
    let o = p
        .command(&["diagnose", "--no-stats", "-F", "json", "-c", "SELECT 2"])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    let doc = json(&o);
    assert_eq!(doc["plans"].as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(doc["plans"][0]["source"], "-c #1");

    // PG* variables win over the file's connection defaults (libpq's order): a wrong port.
    let o = p
        .command(&["diagnose", "--no-stats", "-F", "json"])
        .env("PGPASSWORD", &pg.password)
        .env("PGPORT", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("port 1"), "{}", stderr(&o));

    // A connection string wins over them too.
    let o = p
        .command(&["diagnose", "dbname=nosuchdb", "--no-stats", "-F", "json"])
        .env("PGPASSWORD", &pg.password)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nosuchdb"), "{}", stderr(&o));
}
