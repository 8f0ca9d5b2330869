//! The collectors, the database rules and `pgdiag health` against a real, throwaway PostgreSQL
//! (autovacuum off, so nothing cleans up behind the test's back).
//!
//! One cluster serves every scenario (initdb is the slow part); scenarios run in order inside one
//! test. Every session a scenario opens is closed before the next one, and the last check is that
//! no client session is left.
//!
//! PostgreSQL 15 by default; it also passes against 13 and 18 (`PGDIAG_PG_BINDIR` pointing at
//! their binaries, see `../shared/PG-VERSIONS.md`).

#[path = "common/pg.rs"]
mod pg;

use std::process::Command;
use std::time::{Duration, Instant};

use pgdiag::collect::{self, Snapshot};
use pgdiag::rules::{self, EngineSettings, Finding};
use tokio_postgres::{Client, NoTls};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Connects as `user` (the superuser when `None`); the connection runs on a spawned task.
async fn connect(pg: &pg::PgCluster, user: Option<(&str, &str)>) -> Client {
    let mut c = pg.config();
    if let Some((u, p)) = user {
        c.user(u).password(p);
    }
    let (client, conn) = c.connect(NoTls).await.expect("connect");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

fn settings(sets: &[(&str, &str, f64)]) -> EngineSettings {
    let mut s = EngineSettings::default();
    for (rule, key, v) in sets {
        s.thresholds.insert((rule.to_string(), key.to_string()), *v);
    }
    s
}

fn of<'a>(findings: &'a [Finding], rule: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn for_table<'a>(findings: &'a [Finding], rule: &str, table: &str) -> Option<&'a Finding> {
    findings
        .iter()
        .find(|f| f.rule == rule && f.evidence.get("table").and_then(|t| t.as_str()) == Some(table))
}

/// Polls `sql` (one bigint) until `ok` holds: backends flush their statistics when they go idle
/// or exit, not at once.
async fn wait_for(client: &Client, sql: &str, ok: impl Fn(i64) -> bool) {
    let start = Instant::now();
    loop {
        let v: i64 = client.query_one(sql, &[]).await.unwrap().get(0);
        if ok(v) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "statistics never caught up: {sql} = {v}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A saved snapshot of a busy server, replayed without a server: every database rule reads it
/// as it would a live one.
#[test]
fn replayed_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/busy.json");
    let snap: Snapshot = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    // Counts by state are derived when collected; derive them for the hand-saved file too.
    let snap = Snapshot {
        activity: collect::Activity::from_sessions(snap.activity.sessions.clone()),
        ..snap
    };
    let f = rules::check_database(&snap, &EngineSettings::default());
    let ids: Vec<&str> = f.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(ids.len(), 6, "{f:#?}");
    for id in ["D001", "D003", "D004", "D005", "D006", "D007"] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    let dead = &of(&f, "D001")[0];
    assert!(
        dead.message.contains("replication slot old_replica"),
        "{}",
        dead.message
    );
    assert!(dead
        .advice
        .contains("pg_drop_replication_slot('old_replica')"));
    let blocked = &of(&f, "D006")[0];
    assert_eq!(blocked.evidence["blocking_pids"], serde_json::json!([4101]));
    assert_eq!(of(&f, "D005")[0].severity, pgdiag::rules::Severity::Info);
    assert!(
        of(&f, "D003")[0].message.contains("90.0 GB"),
        "{}",
        of(&f, "D003")[0].message
    );

    // The CLI replays it too, and reports what it found.
    let out = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(["health", "--from-snapshot", path, "--format", "concise"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 6, "{text}");
    assert!(text.starts_with("db:shop: "), "{text}");
}

#[test]
fn live_server() {
    let pg = pg::PgCluster::start_with_config("autovacuum = off\nmax_prepared_transactions = 2\n")
        .unwrap();
    pg.execute(
        "create table bloat (id int primary key, v int);
         insert into bloat select g, g from generate_series(1, 20000) g;
         create table fresh (id int primary key, v int);
         insert into fresh select g, g from generate_series(1, 20000) g;
         create table stale (id int primary key, v int);
         insert into stale select g, g from generate_series(1, 10000) g;",
    );
    pg.execute("vacuum analyze bloat");
    pg.execute("vacuum analyze fresh");
    pg.execute("vacuum analyze stale");
    pg.execute(
        "update bloat set v = v + 1;
         insert into stale select g, g from generate_series(10001, 20000) g;",
    );
    pg.execute("create role mon login password 'mon-pw-1234' in role pg_monitor");
    pg.execute("create role plain login password 'plain-pw-1234'");

    let rt = rt();
    rt.block_on(async {
        let c = connect(&pg, None).await;
        wait_for(
            &c,
            "select pg_stat_get_dead_tuples('bloat'::regclass)",
            |v| v >= 20000,
        )
        .await;
        wait_for(
            &c,
            "select pg_stat_get_mod_since_analyze('stale'::regclass)",
            |v| v >= 10000,
        )
        .await;
        tables(&c).await;
        temp_files(&pg, &c).await;
        idle_in_transaction(&pg, &c).await;
        blocking(&pg, &c).await;
        prepared(&pg, &c).await;
        connections(&pg, &c).await;
        plans_joined(&c).await;
    });
    cli(&pg);
    rt.block_on(async {
        let c = connect(&pg, None).await;
        no_sessions_left(&c).await;
    });
}

/// Dead tuples and stale statistics on the tables health picks, and not on the fresh one.
async fn tables(c: &Client) {
    let snap = collect::health_snapshot(c).await.unwrap();
    // PostgreSQL 15 unless PGDIAG_PG_BINDIR points at another major.
    assert!(
        snap.server.version_num >= 130000,
        "{:?}",
        snap.server.version
    );
    assert!(snap.server.can_monitor);
    assert!(!snap.server.in_recovery);
    assert!(snap.not_visible.is_empty(), "{:?}", snap.not_visible);
    let names: Vec<&str> = snap.tables.iter().map(|t| t.relation.as_str()).collect();
    assert!(
        names.contains(&"bloat") && names.contains(&"stale"),
        "{names:?}"
    );
    assert!(!names.contains(&"fresh"), "{names:?}");

    let f = rules::check_database(&snap, &EngineSettings::default());
    let dead = for_table(&f, "D001", "public.bloat").expect("dead-tuples on bloat");
    let ratio = dead.evidence["dead_ratio"].as_f64().unwrap();
    assert!((0.45..=0.55).contains(&ratio), "dead share {ratio}");
    assert_eq!(dead.evidence["n_dead_tup"], 20000);
    assert!(
        dead.message.contains("public.bloat: 20,000 dead rows"),
        "{}",
        dead.message
    );
    assert!(for_table(&f, "D001", "public.stale").is_none(), "{f:#?}");

    let st = for_table(&f, "D002", "public.stale").expect("stale-statistics on stale");
    assert_eq!(st.evidence["n_mod_since_analyze"], 10000);
    assert_eq!(st.evidence["changed_ratio"], 1.0);
    assert!(st.advice.contains("ANALYZE public.stale"), "{}", st.advice);

    // The healthy counterpart, asked for by name (as diagnose does for a plan's tables).
    let snap = collect::snapshot(c, &["fresh".to_string(), "public.nosuch".to_string()])
        .await
        .unwrap();
    assert_eq!(snap.tables.len(), 1);
    let t = &snap.tables[0];
    assert_eq!(
        (t.schema.as_str(), t.relation.as_str()),
        ("public", "fresh")
    );
    assert_eq!(t.reltuples, 20000.0);
    assert!(t.size_bytes > 0 && t.last_analyze_at.is_some());
    assert_eq!(snap.indexes.len(), 1);
    assert_eq!(snap.indexes[0].index, "fresh_pkey");
    assert_eq!(snap.indexes[0].key_columns, vec!["id".to_string()]);
    assert!(snap.indexes[0].is_primary && snap.indexes[0].is_valid);
    let f = rules::check_database(&snap, &EngineSettings::default());
    assert!(
        of(&f, "D001").is_empty() && of(&f, "D002").is_empty(),
        "{f:#?}"
    );

    // Saved and replayed: the snapshot is plain data.
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);
}

/// A sort with a tiny work_mem spills; the database counters show it.
async fn temp_files(pg: &pg::PgCluster, c: &Client) {
    let low = settings(&[("D003", "min_temp_mb", 1.0)]);
    let before = collect::snapshot(c, &[]).await.unwrap();
    assert!(of(&rules::check_database(&before, &low), "D003").is_empty());

    let s = connect(pg, None).await;
    s.batch_execute(
        "set work_mem = '64kB';
         select count(*) from (select g from generate_series(1, 300000) g order by g desc) x;",
    )
    .await
    .unwrap();
    drop(s); // exiting flushes its statistics
    wait_for(
        c,
        "select temp_files from pg_stat_database where datname = current_database()",
        |v| v > 0,
    )
    .await;
    let snap = collect::snapshot(c, &[]).await.unwrap();
    let db = snap.database.as_ref().unwrap();
    assert!(db.temp_bytes > 1 << 20, "{db:?}");
    let f = rules::check_database(&snap, &low);
    let spill = of(&f, "D003");
    assert_eq!(spill.len(), 1, "{f:#?}");
    assert_eq!(spill[0].evidence["temp_files"], db.temp_files);
    assert!(
        spill[0].message.contains("temporary files"),
        "{}",
        spill[0].message
    );
    // Under the default floor (1 GB) a few MB are not worth a finding.
    assert!(of(
        &rules::check_database(&snap, &EngineSettings::default()),
        "D003"
    )
    .is_empty());
}

/// A session idle in a transaction, seen by the superuser and a pg_monitor role, and what a role
/// without pg_monitor cannot see.
async fn idle_in_transaction(pg: &pg::PgCluster, c: &Client) {
    let quick = settings(&[("D004", "min_age_s", 1.0), ("D007", "min_xact_age_s", 1.0)]);
    let before = collect::snapshot(c, &[]).await.unwrap();
    let f = rules::check_database(&before, &quick);
    assert!(
        of(&f, "D004").is_empty() && of(&f, "D007").is_empty(),
        "{f:#?}"
    );

    let idle = connect(pg, None).await;
    let pid: i32 = idle
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    idle.batch_execute("begin; select 1;").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    for who in [None, Some(("mon", "mon-pw-1234"))] {
        let client = match who {
            None => connect(pg, None).await,
            Some(u) => connect(pg, Some(u)).await,
        };
        let snap = collect::snapshot(&client, &[]).await.unwrap();
        assert!(snap.server.can_monitor, "{who:?}");
        assert!(
            snap.not_visible.is_empty(),
            "{who:?}: {:?}",
            snap.not_visible
        );
        let s = snap.activity.by_pid(pid).expect("the idle session");
        assert_eq!(s.state.as_deref(), Some("idle in transaction"));
        assert!(
            s.query.as_deref().is_some_and(|q| q.contains("select 1")),
            "{s:?}"
        );
        let f = rules::check_database(&snap, &quick);
        let d4 = of(&f, "D004");
        assert_eq!(d4.len(), 1, "{who:?}: {f:#?}");
        assert_eq!(d4[0].evidence["oldest_pid"], pid);
        assert_eq!(d4[0].evidence["count"], 1);
        let age = d4[0].evidence["oldest_idle_s"].as_f64().unwrap();
        assert!((2.0..60.0).contains(&age), "age {age}");
        assert!(
            d4[0]
                .advice
                .contains("ALTER ROLE postgres SET idle_in_transaction_session_timeout"),
            "{}",
            d4[0].advice
        );
        let d7 = of(&f, "D007");
        assert_eq!(d7.len(), 1, "{f:#?}");
        assert_eq!(d7[0].evidence["oldest_pid"], pid);
        // The default threshold (a minute) is not reached.
        assert!(of(
            &rules::check_database(&snap, &EngineSettings::default()),
            "D004"
        )
        .is_empty());
        let by: Vec<&str> = snap
            .activity
            .by_state
            .iter()
            .map(|s| s.state.as_str())
            .collect();
        assert!(by.contains(&"idle in transaction"), "{by:?}");
    }

    // The pg_monitor role also finds the tables health looks at.
    let mon = connect(pg, Some(("mon", "mon-pw-1234"))).await;
    let snap = collect::health_snapshot(&mon).await.unwrap();
    let f = rules::check_database(&snap, &EngineSettings::default());
    assert!(for_table(&f, "D001", "public.bloat").is_some(), "{f:#?}");
    drop(mon);

    // Without pg_monitor: the session is there, its state and query are not, and the snapshot
    // says so.
    let plain = connect(pg, Some(("plain", "plain-pw-1234"))).await;
    let snap = collect::snapshot(&plain, &[]).await.unwrap();
    assert!(!snap.server.can_monitor);
    let s = snap.activity.by_pid(pid).expect("the idle session, hidden");
    assert!(s.is_hidden() && s.state.is_none(), "{s:?}");
    assert!(snap.activity.hidden >= 1);
    assert!(
        snap.not_visible.iter().any(|n| n.contains("pg_monitor")),
        "{:?}",
        snap.not_visible
    );
    let f = rules::check_database(&snap, &quick);
    assert!(of(&f, "D004").is_empty(), "{f:#?}");
    let report = pgdiag_health_report(&snap, &quick);
    assert!(report.contains("not visible:"), "{report}");
    drop(plain);

    idle.batch_execute("rollback").await.unwrap();
    drop(idle);
}

fn pgdiag_health_report(snap: &Snapshot, s: &EngineSettings) -> String {
    use pgdiag::report::{self, DatabaseReport, OutputFormat, RenderOptions, Report};
    let r = Report {
        plans: vec![],
        database: Some(DatabaseReport {
            server_version: snap.server.version.clone(),
            in_recovery: snap.server.in_recovery,
            database: snap.server.database.clone(),
            role: snap.server.role.clone(),
            findings: rules::check_database(snap, s),
            not_visible: snap.not_visible.clone(),
        }),
        baseline: None,
    };
    let mut out = Vec::new();
    report::write(&r, OutputFormat::Table, &RenderOptions::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// One session holds a lock, another waits for it.
async fn blocking(pg: &pg::PgCluster, c: &Client) {
    let quick = settings(&[("D006", "min_wait_s", 1.0)]);
    let before = collect::snapshot(c, &[]).await.unwrap();
    assert!(of(&rules::check_database(&before, &quick), "D006").is_empty());

    let holder = connect(pg, None).await;
    let holder_pid: i32 = holder
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    holder
        .batch_execute("begin; update fresh set v = 0 where id = 1;")
        .await
        .unwrap();
    let waiter = connect(pg, None).await;
    let waiter_pid: i32 = waiter
        .query_one("select pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let wait = tokio::spawn(async move {
        waiter
            .execute("update fresh set v = 1 where id = 1", &[])
            .await
            .map(|n| (n, waiter))
    });
    tokio::time::sleep(Duration::from_millis(2000)).await;

    let snap = collect::snapshot(c, &[]).await.unwrap();
    let f = rules::check_database(&snap, &quick);
    let d6 = of(&f, "D006");
    assert_eq!(d6.len(), 1, "{f:#?}");
    assert_eq!(
        d6[0].evidence["blocked_pids"],
        serde_json::json!([waiter_pid])
    );
    assert_eq!(
        d6[0].evidence["blocking_pids"],
        serde_json::json!([holder_pid])
    );
    assert!(
        d6[0].message.contains(&format!("pid {waiter_pid}"))
            && d6[0].message.contains("update fresh set v = 1"),
        "{}",
        d6[0].message
    );
    assert!(
        d6[0].advice.contains(&format!("pid {holder_pid}")),
        "{}",
        d6[0].advice
    );
    // The holder, which wrote, now holds back vacuum's horizon: the snapshot lists it.
    assert!(
        snap.xmin_holders.iter().any(|h| h.pid == Some(holder_pid)),
        "{:?}",
        snap.xmin_holders
    );
    // … and dead-tuples names it as what vacuum waits for.
    let snap = collect::snapshot(c, &["bloat".to_string()]).await.unwrap();
    let f = rules::check_database(&snap, &settings(&[("D001", "holder_min_age_s", 1.0)]));
    let dead = for_table(&f, "D001", "public.bloat").expect("dead-tuples");
    assert!(
        dead.message.contains(&format!(
            "held back by idle in transaction pid {holder_pid}"
        )),
        "{}",
        dead.message
    );
    assert!(
        dead.advice
            .contains(&format!("pg_terminate_backend({holder_pid})")),
        "{}",
        dead.advice
    );

    holder.batch_execute("rollback").await.unwrap();
    let (n, waiter) = tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("the waiter finishes once the lock is released")
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    drop(waiter);
    drop(holder);
}

/// A prepared transaction nobody finished: a long transaction and a vacuum holder, with the
/// COMMIT/ROLLBACK PREPARED to end it.
async fn prepared(pg: &pg::PgCluster, c: &Client) {
    let s = connect(pg, None).await;
    s.batch_execute("begin; update fresh set v = 2 where id = 2; prepare transaction 'forgotten';")
        .await
        .unwrap();
    drop(s);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let snap = collect::snapshot(c, &["bloat".to_string()]).await.unwrap();
    let h = snap
        .xmin_holders
        .iter()
        .find(|h| h.kind == "prepared transaction")
        .expect("the prepared transaction");
    assert_eq!(h.name, "forgotten");
    let f = rules::check_database(&snap, &settings(&[("D007", "min_xact_age_s", 1.0)]));
    let d7 = of(&f, "D007");
    assert_eq!(d7.len(), 1, "{f:#?}");
    assert!(
        d7[0].message.contains("prepared transaction 'forgotten'"),
        "{}",
        d7[0].message
    );
    let dead = for_table(&f, "D001", "public.bloat").expect("dead-tuples");
    assert!(
        dead.advice.contains("ROLLBACK PREPARED 'forgotten'"),
        "{}",
        dead.advice
    );
    c.batch_execute("rollback prepared 'forgotten'")
        .await
        .unwrap();
}

/// Connections near max_connections (20 in the test cluster, 3 reserved), mostly idle.
async fn connections(pg: &pg::PgCluster, c: &Client) {
    let quiet = collect::snapshot(c, &[]).await.unwrap();
    assert!(of(
        &rules::check_database(&quiet, &EngineSettings::default()),
        "D005"
    )
    .is_empty());
    let mut idle = Vec::new();
    for _ in 0..13 {
        idle.push(connect(pg, None).await);
    }
    let snap = collect::snapshot(c, &[]).await.unwrap();
    let f = rules::check_database(&snap, &settings(&[("D005", "min_idle", 10.0)]));
    let d5 = of(&f, "D005");
    assert_eq!(d5.len(), 1, "{f:#?}");
    // 13 idle + the collector's own session = 14 of 17.
    assert_eq!(d5[0].evidence["connections"], 14.0);
    assert_eq!(d5[0].evidence["available"], 17.0);
    assert!(d5[0].advice.contains("PgBouncer"), "{}", d5[0].advice);
    drop(idle);
}

/// EXPLAIN output from the server, checked, then joined with the statistics of its tables.
async fn explain(c: &Client, sql: &str) -> pgdiag::plan::Plan {
    let row = c
        .query_one(
            &format!("explain (analyze, buffers, format json) {sql}"),
            &[],
        )
        .await
        .unwrap();
    let v: serde_json::Value = row.get(0);
    pgdiag::plan::parse_source("live.json", &v.to_string())
        .unwrap()
        .remove(0)
}

/// The join of plan findings and table statistics, on plans from this server: a misestimate on a
/// table with stale statistics says so; a sequential scan whose index exists says that.
async fn plans_joined(c: &Client) {
    let s = EngineSettings::default();
    // `stale` was analyzed at 10,000 rows; the 10,000 added since have v beyond its histogram.
    let plan = explain(c, "select * from stale where v > 10000").await;
    let found = rules::check_plan(&plan, &s);
    assert!(!of(&found, "P002").is_empty(), "{found:#?}");
    let names = rules::join::plan_relations(&plan);
    assert_eq!(names, vec!["stale".to_string()]);
    let snap = collect::snapshot(c, &names).await.unwrap();
    let joined = rules::join::with_table_stats(&plan, found, &snap, &s);
    let p2 = of(&joined, "P002")[0];
    assert_eq!(p2.evidence["statistics_stale"], true, "{p2:#?}");
    assert!(
        p2.message
            .contains("statistics on public.stale are stale: 10,000 rows changed"),
        "{}",
        p2.message
    );
    assert!(
        p2.advice.starts_with("Run `ANALYZE public.stale;`"),
        "{}",
        p2.advice
    );

    // An index on fresh(v) exists, but the planner may not use it here: P001 must not propose
    // it again.
    c.batch_execute("create index fresh_v_idx on fresh (v)")
        .await
        .unwrap();
    c.batch_execute("set enable_indexscan = off; set enable_bitmapscan = off")
        .await
        .unwrap();
    let plan = explain(c, "select * from fresh where v = 5").await;
    c.batch_execute("reset enable_indexscan; reset enable_bitmapscan")
        .await
        .unwrap();
    let found = rules::check_plan(&plan, &s);
    let p1 = of(&found, "P001");
    assert_eq!(p1.len(), 1, "{found:#?}");
    assert_eq!(p1[0].evidence["index_columns"], serde_json::json!(["v"]));
    let snap = collect::snapshot(c, &rules::join::plan_relations(&plan))
        .await
        .unwrap();
    let joined = rules::join::with_table_stats(&plan, found, &snap, &s);
    let p1 = of(&joined, "P001")[0];
    assert!(!p1.evidence.contains_key("suggested_index"), "{p1:#?}");
    assert_eq!(p1.evidence["existing_index"], "fresh_v_idx");
    assert!(p1.advice.contains("already exists"), "{}", p1.advice);
    assert!(
        p1.message.contains("the table holds about 20,000 rows"),
        "{}",
        p1.message
    );
    assert!(p1.evidence["table_size_bytes"].as_i64().unwrap() > 0);
}

/// `pgdiag health` as a user runs it: formats, exit codes, a failed connection.
fn cli(pg: &pg::PgCluster) {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgdiag"));
        cmd.arg("health").args(args).env("HOME", home.path());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        cmd.output().unwrap()
    };
    let conninfo = pg.conninfo();
    let out = run(&[&conninfo, "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["plans"], serde_json::json!([]));
    let db = &doc["database"];
    assert!(
        db["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric),
        "{db}"
    );
    assert_eq!(db["in_recovery"], false);
    let rules: Vec<&str> = db["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&"D001") && rules.contains(&"D002"),
        "{rules:?}"
    );

    let out = run(&[&conninfo, "--format", "concise", "--fail-on", "none"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("db:postgres: warning D001[dead-tuples]: public.bloat")),
        "{text}"
    );
    for format in ["table", "markdown"] {
        let out = run(&[
            &conninfo,
            "--format",
            format,
            "--fail-on",
            "none",
            "--color",
            "never",
        ]);
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("database postgres on PostgreSQL 1"), "{text}");
        assert!(text.contains("dead-tuples"), "{text}");
        if std::env::var_os("PGDIAG_SHOW").is_some() {
            eprintln!("{text}");
        }
    }
    let out = run(&[
        &conninfo,
        "--disable",
        "D001",
        "--disable",
        "D002",
        "--format",
        "concise",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // --save-snapshot writes what the rules read; --from-snapshot replays it.
    let saved = home.path().join("snap.json");
    let out = run(&[
        &conninfo,
        "--format",
        "concise",
        "--save-snapshot",
        saved.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let snap: Snapshot = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert!(snap.tables.iter().any(|t| t.relation == "bloat"));
    let replay = run(&[
        "--from-snapshot",
        saved.to_str().unwrap(),
        "--format",
        "concise",
    ]);
    assert_eq!(replay.stdout, out.stdout);

    // `analyze` output is unchanged: no database section.
    let out = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
        .args(["analyze", "--format", "json", "--fail-on", "none"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/rules/planning-dominates/quiet.json"
        ))
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.get("database").is_none());

    // A wrong password: one line on stderr, exit 2, the password never shown.
    let bad = format!(
        "{} password='wrong-secret-9876'",
        pg.conninfo_without_password()
    );
    let out = run(&[&bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("pgdiag: error: "), "{err}");
    assert!(
        !err.contains("wrong-secret-9876") && !err.contains(&pg.password),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

/// Every session the test opened is gone.
async fn no_sessions_left(c: &Client) {
    let start = Instant::now();
    loop {
        let n: i64 = c
            .query_one(
                "select count(*) from pg_stat_activity
                  where backend_type = 'client backend' and pid <> pg_backend_pid()",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if n == 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{n} sessions left behind"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
