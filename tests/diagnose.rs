//! `pgdiag diagnose` against a real, throwaway PostgreSQL (see `common/pg.rs`; the test fails
//! when the server binaries are missing, it never skips): plans and findings from a live
//! server, safety (hostile statements change nothing, with or without `--allow-writes`),
//! faults (timeouts, lock waits, a terminated backend, a wrong password, no server) and Ctrl-C.
//! After every scenario, no pgdiag session may be left on the server.

#[path = "common/pg.rs"]
mod pg;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pg::PgCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");

/// `pgdiag diagnose CONNINFO ARGS…` with no PG* variables and an empty home directory.
fn command(conninfo: &str, args: &[&str]) -> (Command, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new(BIN);
    c.arg("diagnose").arg(conninfo).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("HOME", home.path()).env("NO_COLOR", "1");
    c.stdin(Stdio::null());
    (c, home)
}

fn diagnose(conninfo: &str, args: &[&str]) -> Output {
    let (mut c, _home) = command(conninfo, args);
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(o), stderr(o)))
}

/// One value from the server (first column of the first row, as text).
fn scalar(pg: &PgCluster, sql: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = pg.client().await;
        let rows = c.simple_query(sql).await.unwrap();
        for m in rows {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                return r.get(0).unwrap_or("").to_string();
            }
        }
        panic!("no row from {sql}");
    })
}

/// pgdiag sessions still on the server, after giving them a moment to end.
fn pgdiag_sessions(pg: &PgCluster) -> String {
    let q = "SELECT count(*) || ' ' || coalesce(string_agg(state || ':' || query, ' | '), '') \
             FROM pg_stat_activity WHERE application_name = 'pgdiag'";
    let mut last = String::new();
    for _ in 0..50 {
        last = scalar(pg, q);
        if last.starts_with("0 ") {
            return "0".into();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

fn assert_no_session(pg: &PgCluster) {
    assert_eq!(pgdiag_sessions(pg), "0", "a pgdiag session was left behind");
}

fn setup(pg: &PgCluster) {
    pg.execute(
        "CREATE TABLE big (id int, k int, pad text);
         INSERT INTO big SELECT g, g % 5000, repeat('x', 40) FROM generate_series(1, 200000) g;
         ANALYZE big;
         CREATE TABLE t (id int PRIMARY KEY, v text);
         INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g;
         CREATE SEQUENCE s;
         CREATE FUNCTION wipe() RETURNS int LANGUAGE plpgsql AS
           $$ BEGIN DELETE FROM t; RETURN 1; END $$;
         CREATE FUNCTION bump() RETURNS bigint LANGUAGE sql AS $$ SELECT nextval('s') $$;
         CREATE VIEW bumped AS SELECT bump() AS n;",
    );
}

/// Rows of t, whether t exists, and the sequence's state: all must stay as set up.
fn state(pg: &PgCluster) -> String {
    scalar(
        pg,
        "SELECT (SELECT count(*) FROM t) || ' ' || (SELECT last_value || ':' || is_called FROM s)",
    )
}

const INITIAL: &str = "100 1:false";

#[test]
fn plans_and_findings_from_a_live_server() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "-- queries\n\\timing on\nSELECT * FROM t WHERE id = 7;\n\nSELECT count(*)\n  FROM big WHERE k = 42;\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = diagnose(
        &pg.conninfo(),
        &[
            "-c",
            "SELECT id, pad FROM big WHERE k = 42",
            "-f",
            f,
            "--format",
            "json",
        ],
    );
    let doc = json(&o);
    let err = stderr(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "findings at warning: exit 1\n{err}"
    );
    let plans = doc["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 3, "{doc:#}");

    let p0 = &plans[0];
    assert_eq!(p0["source"], "-c #1");
    assert_eq!(p0["query"]["index"], 1);
    assert_eq!(p0["query"]["file"], Value::Null);
    assert_eq!(p0["query"]["sql"], "SELECT id, pad FROM big WHERE k = 42");
    assert_eq!(p0["analyzed"], true);
    assert!(p0["execution_ms"].as_f64().is_some());
    let p001 = p0["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "P001")
        .unwrap_or_else(|| panic!("P001 expected: {p0:#}"));
    let advice = p001["advice"].as_str().unwrap();
    assert!(
        advice.contains("CREATE INDEX") && advice.contains("public.big (k) INCLUDE (id, pad)"),
        "{advice}"
    );

    // From the file: origins are file:line, the psql command is skipped on stderr.
    assert_eq!(plans[1]["source"], format!("{f}:3"));
    assert_eq!(plans[1]["query"]["line"], 3);
    assert_eq!(plans[1]["query"]["file"], f);
    assert!(plans[1]["findings"].as_array().unwrap().is_empty());
    assert_eq!(plans[2]["source"], format!("{f}:5"));
    assert!(err.contains(&format!("{f}:2: skipped")), "{err}");
    assert!(!err.contains("error"), "{err}");

    // The text formats show the origin as the source.
    let o = diagnose(
        &pg.conninfo(),
        &["-f", f, "--format", "concise", "--fail-on", "none"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(&format!("{f}:5")), "{}", stdout(&o));
    let o = diagnose(&pg.conninfo(), &["-f", f, "--format", "table"]);
    assert!(stdout(&o).contains(&format!("{f}:5")), "{}", stdout(&o));
    let o = diagnose(&pg.conninfo(), &["-f", f, "--format", "markdown"]);
    assert!(stdout(&o).contains(&format!("{f}:5")), "{}", stdout(&o));

    // Inputs are reported in command-line order.
    let o = diagnose(
        &pg.conninfo(),
        &[
            "-f",
            f,
            "-c",
            "SELECT 2",
            "--format",
            "json",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["plans"][0]["source"], format!("{f}:3"));
    assert_eq!(doc["plans"][2]["source"], "-c #1");
    assert_eq!(doc["plans"][2]["query"]["index"], 3);

    // Several connections: the report keeps the input order.
    let mut args = vec!["--jobs", "3", "--format", "json"];
    let queries: Vec<String> = (1..=7)
        .map(|i| format!("SELECT pg_sleep(0.{}) AS q{i}", 7 - i))
        .collect();
    for q in &queries {
        args.extend(["-c", q.as_str()]);
    }
    let o = diagnose(&pg.conninfo(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(doc["plans"][i]["source"], format!("-c #{}", i + 1));
        assert_eq!(doc["plans"][i]["query"]["sql"], q.as_str());
        assert_eq!(doc["plans"][i]["error"], Value::Null);
    }
    assert_no_session(&pg);

    // Standard input, and plain EXPLAIN.
    let (mut c, _h) = command(&pg.conninfo(), &["-", "--no-analyze", "--format", "json"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT 1;\nDELETE FROM t;\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["plans"][0]["source"], "-:1");
    assert_eq!(doc["plans"][1]["source"], "-:2");
    assert_eq!(doc["plans"][1]["analyzed"], false);
    assert_eq!(state(&pg), INITIAL);
    assert_no_session(&pg);
}

const HOSTILE: &[&str] = &[
    "DELETE FROM t",
    "DROP TABLE t",
    "SELECT 1; DROP TABLE t",
    "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
    "SELECT nextval('s')",
    "SELECT wipe()",
    "SELECT * FROM t FOR UPDATE",
    "TRUNCATE t",
    "COMMIT",
    "SELECT 1; COMMIT; DELETE FROM t",
    "UPDATE t SET v = 'x'",
    "SELECT setval('s', 42)",
    "SELECT bump()",
    "SELECT * FROM bumped",
];

#[test]
fn hostile_statements_change_nothing() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);
    assert_eq!(state(&pg), INITIAL);

    let mut args: Vec<&str> = Vec::new();
    for h in HOSTILE {
        args.extend(["-c", h]);
    }
    args.extend(["-c", "SELECT count(*) FROM t"]);
    let o = diagnose(&pg.conninfo(), &args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for (i, h) in HOSTILE.iter().enumerate() {
        let origin = format!("-c #{}:", i + 1);
        let line = err
            .lines()
            .find(|l| l.contains(&origin))
            .unwrap_or_else(|| panic!("no error for {h}:\n{err}"));
        assert!(line.starts_with("pgdiag: error: "), "{line}");
    }
    assert!(err.contains("-c #1: refused"), "{err}");
    assert!(err.contains("-c #3: refused: several statements"), "{err}");
    // A function that writes is stopped by the read-only transaction.
    assert!(
        err.lines()
            .any(|l| l.contains("-c #6:") && l.contains("read-only transaction")),
        "{err}"
    );
    // The harmless query still ran.
    assert!(
        !err.contains(&format!("-c #{}:", HOSTILE.len() + 1)),
        "{err}"
    );
    assert_eq!(state(&pg), INITIAL);
    assert_no_session(&pg);

    // --allow-writes: writes run, and are rolled back.
    let o = diagnose(
        &pg.conninfo(),
        &[
            "--allow-writes",
            "--format",
            "json",
            "-c",
            "DELETE FROM t",
            "-c",
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x",
            "-c",
            "UPDATE t SET v = 'x'",
            "-c",
            "INSERT INTO t SELECT g, 'n' FROM generate_series(1000, 1100) g",
            "-c",
            "SELECT wipe()",
            "-c",
            "SELECT nextval('s')",
            "-c",
            "SELECT 1; DROP TABLE t",
            "-c",
            "SELECT bump()",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let doc = json(&o);
    let plans = doc["plans"].as_array().unwrap();
    for p in &plans[..4] {
        assert_eq!(p["error"], Value::Null, "{p:#}");
        assert_eq!(p["analyzed"], true);
    }
    assert_eq!(plans[0]["nodes"][0]["node_type"], "ModifyTable");
    assert!(
        err.contains("-c #5:") && err.contains("read-only transaction"),
        "{err}"
    );
    assert!(
        err.contains("-c #6: refused even with --allow-writes"),
        "{err}"
    );
    assert!(err.contains("-c #7: refused: several statements"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("-c #8:") && l.contains("read-only transaction")),
        "{err}"
    );
    assert_eq!(state(&pg), INITIAL);
    assert_no_session(&pg);
}

#[test]
fn faults_are_one_line_with_origin_and_the_rest_still_runs() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);

    // Statement timeout.
    let start = Instant::now();
    let o = diagnose(
        &pg.conninfo(),
        &[
            "--statement-timeout",
            "500ms",
            "--format",
            "json",
            "-c",
            "SELECT pg_sleep(5)",
            "-c",
            "SELECT count(*) FROM t",
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with(
            "pgdiag: error: -c #1: ERROR: canceling statement due to statement timeout"
        ),
        "{err}"
    );
    assert!(errors[0].contains("--statement-timeout 500ms"), "{err}");
    let doc = json(&o);
    assert_eq!(doc["plans"][1]["error"], Value::Null);
    assert_eq!(doc["plans"][1]["analyzed"], true);
    assert_no_session(&pg);

    // Lock wait: another session holds an ACCESS EXCLUSIVE lock on t.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let holder = rt.block_on(async {
        let c = pg.client().await;
        c.batch_execute("BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        c
    });
    let o = diagnose(
        &pg.conninfo(),
        &[
            "--lock-timeout",
            "300ms",
            "--format",
            "json",
            "-c",
            "SELECT * FROM t",
            "-c",
            "SELECT count(*) FROM big",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.lines().any(|l| l
            .starts_with("pgdiag: error: -c #1: ERROR: canceling statement due to lock timeout")),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "{err}"
    );
    assert_eq!(json(&o)["plans"][1]["error"], Value::Null);
    rt.block_on(async { holder.batch_execute("ROLLBACK").await.unwrap() });
    drop(holder);
    assert_no_session(&pg);

    // The backend is terminated mid-query: reconnect and go on.
    let (mut c, _h) = command(
        &pg.conninfo(),
        &[
            "--format",
            "json",
            "-c",
            "SELECT pg_sleep(20)",
            "-c",
            "SELECT count(*) FROM t",
        ],
    );
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    wait_for_query(&pg, "pg_sleep(20)");
    assert_eq!(
        scalar(
            &pg,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name = 'pgdiag' AND query LIKE '%pg_sleep(20)%'"
        ),
        "1"
    );
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].starts_with("pgdiag: error: -c #1: "), "{err}");
    assert!(errors[0].contains("terminating connection"), "{err}");
    let doc = json(&o);
    assert_eq!(doc["plans"][1]["error"], Value::Null, "{doc:#}");
    assert_eq!(doc["plans"][1]["analyzed"], true);
    assert_no_session(&pg);

    // A file with a syntax error and a missing table among good queries.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mixed.sql");
    std::fs::write(
        &file,
        "SELECT 1;\nSELECT 1 +;\nSELECT * FROM nope;\nSELECT 3;\nSELECT * FROM t WHERE id = $1;\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = diagnose(&pg.conninfo(), &["-f", f, "--format", "json"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pgdiag: error: {f}:2: ERROR: syntax error")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "pgdiag: error: {f}:3: ERROR: relation \"nope\" does not exist"
        )),
        "{err}"
    );
    let doc = json(&o);
    assert_eq!(doc["plans"][3]["error"], Value::Null);
    assert!(
        err.contains(&format!(
            "pgdiag: error: {f}:5: the query has parameters ($1, …)"
        )),
        "{err}"
    );
    assert_eq!(doc["plans"].as_array().unwrap().len(), 5);
    assert_no_session(&pg);
}

/// Waits until a pgdiag session runs a query containing `needle`.
fn wait_for_query(pg: &PgCluster, needle: &str) {
    wait_for_queries(pg, needle, 1)
}

/// Waits until `n` pgdiag sessions run a query containing `needle`.
fn wait_for_queries(pg: &PgCluster, needle: &str, n: usize) {
    let q = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgdiag' \
         AND state = 'active' AND query LIKE '%{needle}%'"
    );
    for _ in 0..100 {
        if scalar(pg, &q) == n.to_string() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pgdiag never ran {needle}");
}

#[test]
fn connection_failures_are_one_line_without_the_password() {
    let mut pg = PgCluster::start().unwrap();
    let wrong = format!(
        "{} password='wrong-{}'",
        pg.conninfo_without_password(),
        pg.password
    );
    let o = diagnose(&wrong, &["-c", "SELECT 1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(!err.contains(&pg.password), "{err}");
    assert!(!stdout(&o).contains(&pg.password));

    // With the right password in the connection string, nothing prints it either.
    let o = diagnose(&pg.conninfo(), &["-c", "SELECT nope", "--format", "json"]);
    assert!(!stderr(&o).contains(&pg.password));
    assert!(!stdout(&o).contains(&pg.password));

    pg.stop();
    let o = diagnose(&pg.conninfo(), &["-c", "SELECT 1"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("pgdiag: error: cannot connect to"), "{err}");
    assert!(!err.contains(&pg.password), "{err}");
}

#[test]
fn ctrl_c_cancels_on_the_server_and_exits_130() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);
    let (mut c, _h) = command(
        &pg.conninfo(),
        &[
            "--format",
            "json",
            "--jobs",
            "2",
            "-c",
            "SELECT count(*) FROM t",
            "-c",
            "SELECT pg_sleep(30)",
            "-c",
            "SELECT pg_sleep(30) AS second",
            "-c",
            "SELECT 3",
        ],
    );
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    wait_for_queries(&pg, "pg_sleep(30)", 2);
    let sent = Instant::now();
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = child.wait_with_output().unwrap();
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "{:?}",
        sent.elapsed()
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    // What finished is reported.
    let doc = json(&o);
    let plans = doc["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 1, "{doc:#}");
    assert_eq!(plans[0]["source"], "-c #1");
    assert_no_session(&pg);
    // The server cancelled the queries (they were not left to finish).
    let log = pg.log();
    assert!(
        log.contains("canceling statement due to user request"),
        "server log:\n{log}"
    );
}

/// A hot standby of `primary`, made with pg_basebackup; stopped on drop.
struct Standby {
    bin_dir: std::path::PathBuf,
    dir: tempfile::TempDir,
    run_as: Option<&'static str>,
}

impl Standby {
    fn data(&self) -> std::path::PathBuf {
        self.dir.path().join("data")
    }
    fn sock(&self) -> std::path::PathBuf {
        self.dir.path().join("sock")
    }
    fn cmd(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        let mut c = match self.run_as {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        };
        c.current_dir(self.dir.path());
        c
    }
    fn start(primary: &PgCluster) -> Standby {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap();
        let dir = tempfile::Builder::new()
            .prefix("pgdiag-standby-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("sock")).unwrap();
        let run_as = if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(ok.success());
            Some("postgres")
        } else {
            None
        };
        let s = Standby {
            bin_dir: primary.bin_dir.clone(),
            dir,
            run_as,
        };
        if !s.bin_dir.join("pg_basebackup").is_file() {
            // Server-only binaries (the npm builds scripts/pg-matrix uses have initdb, pg_ctl and
            // postgres alone; another major's pg_basebackup refuses a newer server): the same
            // standby from a low-level base backup.
            s.copy_backup(primary);
            return s.start_server();
        }
        let out = s
            .cmd("pg_basebackup")
            .arg("-h")
            .arg(&primary.socket_dir)
            .args([
                "-p",
                &primary.port.to_string(),
                "-U",
                "postgres",
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ])
            .arg("-D")
            .arg(s.data())
            .env("PGPASSWORD", &primary.password)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        s.start_server()
    }

    /// A non-exclusive low-level base backup of `primary` into `self.data()`: backup start, a
    /// copy of the data directory, backup stop, its label written as `backup_label`, and the
    /// `standby.signal` and `primary_conninfo` that `pg_basebackup -R` would write.
    fn copy_backup(&self, primary: &PgCluster) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let c = primary.client().await;
            let v: i32 = c
                .query_one("SELECT current_setting('server_version_num')::int", &[])
                .await
                .unwrap()
                .get(0);
            let (start, stop) = if v >= 150000 {
                (
                    "SELECT pg_backup_start('pgdiag standby', true)::text",
                    "SELECT labelfile FROM pg_backup_stop(false)",
                )
            } else {
                (
                    "SELECT pg_start_backup('pgdiag standby', true, false)::text",
                    "SELECT labelfile FROM pg_stop_backup(false, false)",
                )
            };
            c.query_one(start, &[]).await.unwrap();
            let ok = Command::new("cp")
                .arg("-a")
                .arg(&primary.data_dir)
                .arg(self.data())
                .status()
                .unwrap();
            assert!(ok.success(), "copying the data directory failed");
            let label: String = c.query_one(stop, &[]).await.unwrap().get(0);
            for f in ["postmaster.pid", "postmaster.opts"] {
                let _ = std::fs::remove_file(self.data().join(f));
            }
            std::fs::write(self.data().join("backup_label"), label).unwrap();
            std::fs::write(self.data().join("standby.signal"), "").unwrap();
            let auto = self.data().join("postgresql.auto.conf");
            let mut text = std::fs::read_to_string(&auto).unwrap_or_default();
            text.push_str(&format!(
                "\nprimary_conninfo = 'host=''{}'' port={} user=postgres password=''{}'''\n",
                primary.socket_dir.display(),
                primary.port,
                primary.password
            ));
            std::fs::write(&auto, text).unwrap();
            if let Some(u) = self.run_as {
                let ok = Command::new("chown")
                    .args(["-R", u])
                    .arg(self.dir.path())
                    .status()
                    .unwrap();
                assert!(ok.success());
            }
        });
    }

    /// Configures the standby's socket directory and hot_standby, and starts it.
    fn start_server(self) -> Standby {
        let s = self;
        let conf = s.data().join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&format!(
            "\nunix_socket_directories = '{}'\nhot_standby = on\n",
            s.sock().display()
        ));
        std::fs::write(&conf, text).unwrap();
        let out = s
            .cmd("pg_ctl")
            .arg("-D")
            .arg(s.data())
            .arg("-l")
            .arg(s.dir.path().join("log"))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "standby start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(s.dir.path().join("log")).unwrap_or_default()
        );
        s
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = self
            .cmd("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

#[test]
fn a_hot_standby_is_noted_once_and_diagnosed() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);
    let standby = Standby::start(&pg);
    let conninfo = format!(
        "host='{}' port={} user=postgres dbname=postgres password='{}'",
        standby.sock().display(),
        pg.port,
        pg.password
    );
    let o = diagnose(
        &conninfo,
        &[
            "--format",
            "json",
            "--fail-on",
            "none",
            "-c",
            "SELECT count(*) FROM t",
            "-c",
            "SELECT * FROM big WHERE k = 1",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(err.matches("hot standby").count(), 1, "{err}");
    let doc = json(&o);
    assert_eq!(doc["plans"].as_array().unwrap().len(), 2);
    assert_eq!(doc["plans"][1]["findings"][0]["rule"], "P001");
}

/// Polls `sql` (one bigint) until it reaches `min`: backends report their counters to the
/// statistics views shortly after they end.
fn wait_for_count(pg: &PgCluster, sql: &str, min: i64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let n: i64 = scalar(pg, sql).parse().unwrap();
        if n >= min {
            return;
        }
        assert!(Instant::now() < deadline, "{sql}: {n}, expected {min}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The plans joined with the statistics views: a misestimate on a table whose statistics are
/// stale says so, the database section reports the stale table and a session idle in a
/// transaction, and `--no-stats` leaves all that out.
#[test]
fn plans_are_joined_with_the_statistics_views() {
    let pg = PgCluster::start_with_config("autovacuum = off\n").unwrap();
    pg.execute(
        "create table stale (id int primary key, v int);
         insert into stale select g, g from generate_series(1, 10000) g;",
    );
    pg.execute("analyze stale");
    // A bulk insert after ANALYZE: the new values are beyond the histogram's end.
    pg.execute("insert into stale select g, g from generate_series(10001, 30000) g");
    wait_for_count(
        &pg,
        "select pg_stat_get_mod_since_analyze('stale'::regclass)",
        20000,
    );

    // A session idle in a transaction, held open while pgdiag runs.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let idle = rt.block_on(async {
        let c = pg.client().await;
        c.batch_execute("set application_name = 'forgotten'; begin; select 1")
            .await
            .unwrap();
        c
    });
    std::thread::sleep(Duration::from_millis(1500));

    let q = "select * from stale where v > 10000";
    let conninfo = pg.conninfo();
    let o = diagnose(
        &conninfo,
        &["-c", q, "--format", "json", "--set", "D004.min_age_s=1"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    let plan = &v["plans"][0];
    assert_eq!(plan["query"]["sql"], q);
    let p2: Vec<&Value> = plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "P002")
        .collect();
    assert!(!p2.is_empty(), "{plan:#}");
    assert_eq!(p2[0]["evidence"]["statistics_stale"], true, "{:#}", p2[0]);
    let msg = p2[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("statistics on public.stale are stale: 20,000 rows changed"),
        "{msg}"
    );
    assert!(
        p2[0]["advice"]
            .as_str()
            .unwrap()
            .starts_with("Run `ANALYZE public.stale;`"),
        "{:#}",
        p2[0]
    );

    let db = &v["database"];
    assert!(db["server_version"]
        .as_str()
        .unwrap()
        .starts_with(char::is_numeric));
    assert_eq!(db["in_recovery"], false);
    assert_eq!(db["not_visible"], serde_json::json!([]));
    let dbf = db["findings"].as_array().unwrap();
    let names: Vec<&str> = dbf.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"stale-statistics"), "{names:?}");
    let d4 = dbf
        .iter()
        .find(|f| f["name"] == "idle-in-transaction")
        .unwrap_or_else(|| panic!("no idle-in-transaction: {dbf:#?}"));
    assert!(
        d4["message"].as_str().unwrap().contains("forgotten"),
        "{d4:#}"
    );

    // The concise report has the database section too.
    let o = diagnose(
        &conninfo,
        &["-c", q, "--format", "concise", "--set", "D004.min_age_s=1"],
    );
    let text = stdout(&o);
    assert!(text.contains("D002[stale-statistics]"), "{text}");
    assert!(text.contains("D004[idle-in-transaction]"), "{text}");

    // --no-stats: the plan's findings alone, no database section.
    let o = diagnose(&conninfo, &["-c", q, "--format", "json", "--no-stats"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v = json(&o);
    assert!(v.get("database").is_none(), "{v:#}");
    let p2 = v["plans"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "P002")
        .cloned()
        .unwrap();
    assert!(p2["evidence"].get("statistics_stale").is_none(), "{p2:#}");

    rt.block_on(async {
        idle.batch_execute("rollback").await.unwrap();
    });
    drop(idle);
    drop(rt);
    assert_no_session(&pg);
}

/// A role that may run the query but not read what the collectors read: the plan is still
/// reported, the failure is one line on stderr, and the report notes what was not seen.
#[test]
fn a_collector_failure_keeps_the_plans() {
    let pg = PgCluster::start().unwrap();
    pg.execute(
        "create table t (id int primary key, v int);
         insert into t select g, g from generate_series(1, 100) g;
         create role plain login password 'plain-pw-1234';
         grant select on t to plain;
         revoke select on pg_catalog.pg_stat_activity from public;",
    );
    let conninfo = format!(
        "host='{}' port={} user=plain password=plain-pw-1234 dbname=postgres",
        pg.socket_dir.display(),
        pg.port
    );
    let o = diagnose(&conninfo, &["-c", "select * from t", "--format", "json"]);
    let err = stderr(&o);
    let v = json(&o);
    assert!(v["plans"][0]["error"].is_null(), "{v:#}\n{err}");
    assert!(v["plans"][0]["nodes"]
        .as_array()
        .is_some_and(|n| !n.is_empty()));
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("without table statistics"), "{err}");
    assert!(!err.contains("plain-pw-1234"), "{err}");
    let nv = v["database"]["not_visible"].as_array().unwrap();
    assert_eq!(nv.len(), 1, "{v:#}");
    assert!(
        nv[0].as_str().unwrap().contains("statistics views"),
        "{nv:?}"
    );
    assert_no_session(&pg);
}

#[test]
fn suppression_comments_move_findings_to_suppressed() {
    let pg = PgCluster::start().unwrap();
    setup(&pg);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "-- pgdiag: ignore seq-scan-large-table, P999 nightly batch, reviewed\n\
         SELECT id, pad FROM big WHERE k = 42;\n\
         SELECT id, pad FROM big WHERE k = 43;\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let o = diagnose(&pg.conninfo(), &["-f", f, "--format", "json", "--no-stats"]);
    let doc = json(&o);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{f}:1: `pgdiag: ignore` names no rule `P999`")),
        "{err}"
    );
    let plans = doc["plans"].as_array().unwrap();
    let rules_of = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        !rules_of(&plans[0]["findings"]).contains(&"P001".to_string()),
        "{doc:#}"
    );
    let s = &plans[0]["suppressed"][0];
    assert_eq!(s["finding"]["rule"], "P001", "{doc:#}");
    assert_eq!(s["line"], 1);
    assert_eq!(s["scope"], "statement");
    assert_eq!(s["reason"], "nightly batch, reviewed");
    // The comment applies to the statement under it only.
    assert!(
        rules_of(&plans[1]["findings"]).contains(&"P001".to_string()),
        "{doc:#}"
    );
    assert_eq!(plans[1]["suppressed"].as_array().unwrap().len(), 0);
    assert_eq!(o.status.code(), Some(1), "{err}");

    // `ignore-file` without rules silences everything in the file: nothing left to fail on.
    std::fs::write(
        &file,
        "SELECT id, pad FROM big WHERE k = 42;\n-- pgdiag: ignore-file legacy reports\n",
    )
    .unwrap();
    let o = diagnose(&pg.conninfo(), &["-f", f, "--format", "json", "--no-stats"]);
    let doc = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let p = &doc["plans"][0];
    assert_eq!(p["findings"].as_array().unwrap().len(), 0, "{doc:#}");
    let sup = p["suppressed"].as_array().unwrap();
    assert!(
        sup.iter().any(|s| s["finding"]["rule"] == "P001"),
        "{doc:#}"
    );
    assert!(sup.iter().all(|s| s["scope"] == "file" && s["line"] == 2));
    // The human report says so too.
    let o = diagnose(
        &pg.conninfo(),
        &["-f", f, "--format", "table", "--no-stats"],
    );
    assert!(stdout(&o).contains("Suppressed ("), "{}", stdout(&o));
    assert_no_session(&pg);
}
