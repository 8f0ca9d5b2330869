//! `cargo bench --bench live`: pgdiag against a live PostgreSQL 15, compared with psql doing the
//! same work. A plain binary: it prints a table (best of `PGDIAG_BENCH_RUNS`, default 5) and
//! asserts nothing about time.
//!
//! (a) 100 queries: `pgdiag diagnose --jobs 1` (and `--jobs 4`) on a file of 100 SELECTs, against
//!     one `psql -f` session running `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of each.
//!     Targets: jobs 1 ≤ 1.15 × psql; jobs 4 < psql.
//! (b) `pgdiag health` on a database of 10,000 tables, against one psql query of
//!     `SELECT * FROM pg_stat_user_tables`. Target: ≤ 2 × psql.
//!
//! Both sides are whole processes (start, connect with SCRAM over the Unix socket, run, print to
//! /dev/null). The server: `PGDIAG_PG_BINDIR`, else `/usr/lib/postgresql/15/bin` (the harness of
//! `tests/common/pg.rs`). `PGDIAG_BENCH_KEEP=1` keeps the cluster up at the end and prints how
//! to connect (for EXPLAINing the collector SQL by hand).

#[path = "../tests/common/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PGDIAG: &str = env!("CARGO_BIN_EXE_pgdiag");

fn runs() -> usize {
    std::env::var("PGDIAG_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
}

/// Runs `cmd` with stdout to /dev/null; panics if it fails (exit code above `max_ok`).
fn time(cmd: &mut Command, max_ok: i32) -> Duration {
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let t = Instant::now();
    let out = cmd.output().expect("spawn");
    let d = t.elapsed();
    let code = out.status.code().unwrap_or(-1);
    if !(0..=max_ok).contains(&code) {
        panic!(
            "{cmd:?} exited {code}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    d
}

fn best(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..n).map(|_| f()).min().unwrap()
}

fn psql(pg: &pg::PgCluster, db: &str) -> Command {
    let mut c = Command::new("psql");
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSWORD", &pg.password)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(&pg.socket_dir)
        .args(["-p", &pg.port.to_string(), "-U", &pg.superuser, "-d", db]);
    c
}

fn pgdiag(pg: &pg::PgCluster, db: &str, sub: &str) -> Command {
    let mut c = Command::new(PGDIAG);
    c.arg(sub)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("PGPASSWORD", &pg.password)
        .arg(format!(
            "host='{}' port={} user={} dbname={db}",
            pg.socket_dir.display(),
            pg.port,
            pg.superuser
        ));
    c
}

/// The 100 queries: index lookups, range scans, aggregates, joins, sorts; each a few ms.
fn queries() -> Vec<String> {
    let mut q = Vec::new();
    for i in 0..100 {
        let k = i * 997 % 100_000;
        q.push(match i % 10 {
            0 => format!("SELECT * FROM orders WHERE id = {k}"),
            1 => format!("SELECT count(*) FROM orders WHERE customer_id = {}", k % 5000),
            2 => format!(
                "SELECT status, count(*), sum(amount) FROM orders WHERE id BETWEEN {k} AND {} GROUP BY status",
                k + 5000
            ),
            3 => format!(
                "SELECT c.name, sum(o.amount) FROM customers c JOIN orders o ON o.customer_id = c.id \
                 WHERE c.id BETWEEN {} AND {} GROUP BY c.name ORDER BY 2 DESC LIMIT 10",
                k % 5000,
                k % 5000 + 50
            ),
            4 => format!(
                "SELECT * FROM orders WHERE note LIKE 'n{}%' ORDER BY amount DESC LIMIT 20",
                k % 100
            ),
            5 => format!(
                "SELECT customer_id, max(created) FROM orders WHERE created > date '2024-01-01' + {} \
                 GROUP BY customer_id ORDER BY 2 DESC LIMIT 5",
                k % 300
            ),
            6 => format!(
                "SELECT * FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id \
                 AND o.amount > {}) LIMIT 50",
                900 + k % 90
            ),
            7 => format!(
                "SELECT o.* FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.region = {} \
                 AND o.id < {}",
                k % 10,
                k + 2000
            ),
            8 => format!(
                "SELECT region, count(*) FROM customers WHERE id % 7 = {} GROUP BY region",
                k % 7
            ),
            _ => format!(
                "SELECT id, amount FROM orders WHERE id > {k} ORDER BY id LIMIT 100"
            ),
        });
    }
    q
}

fn setup_queries_db(pg: &pg::PgCluster) {
    pg.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, name text, region int);
         INSERT INTO customers SELECT g, 'c' || g, g % 10 FROM generate_series(0, 4999) g;
         CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric, status int,
                              created date, note text);
         INSERT INTO orders SELECT g, g % 5000, (g * 37 % 1000), g % 5,
                                   date '2024-01-01' + g % 365, 'n' || (g % 1000)
           FROM generate_series(0, 99999) g;
         CREATE INDEX ON orders (customer_id);",
    );
    pg.execute("VACUUM ANALYZE customers");
    pg.execute("VACUUM ANALYZE orders");
}

/// 10,000 tables in database `many`; a few hundred with rows, dead rows or changes since ANALYZE,
/// so health's candidate query finds some (at most 50 are collected).
fn setup_many_db(pg: &pg::PgCluster) {
    pg.execute("CREATE DATABASE many");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut cfg = pg.config();
        cfg.dbname("many");
        let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        for batch in 0..20 {
            let lo = batch * 500;
            client
                .batch_execute(&format!(
                    "DO $$ BEGIN FOR i IN {lo}..{} LOOP
                       EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i);
                     END LOOP; END $$;",
                    lo + 499
                ))
                .await
                .unwrap();
        }
        client
            .batch_execute(
                "DO $$ BEGIN FOR i IN 0..299 LOOP
                   EXECUTE format('INSERT INTO t%s SELECT g, g FROM generate_series(1, 3000) g', i * 33);
                   IF i % 2 = 0 THEN EXECUTE format('DELETE FROM t%s WHERE id <= 1500', i * 33); END IF;
                 END LOOP; END $$;",
            )
            .await
            .unwrap();
        client.batch_execute("ANALYZE t0, t33, t66").await.unwrap();
    });
}

fn main() {
    if std::env::var_os("PGDIAG_PG_BINDIR").is_none() {
        let d = Path::new("/usr/lib/postgresql/15/bin");
        if d.join("initdb").is_file() {
            std::env::set_var("PGDIAG_PG_BINDIR", d);
        }
    }
    let n = runs();
    let pg = pg::PgCluster::start_with_config(
        "max_connections = 30\nshared_buffers = 128MB\nautovacuum = off\nmax_locks_per_transaction = 256\n",
    )
    .unwrap();
    let version = {
        let o = psql(&pg, "postgres")
            .args(["-At", "-c", "SHOW server_version"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    eprintln!(
        "live bench: PostgreSQL {version} at {}",
        pg.bin_dir.display()
    );

    // (a)
    setup_queries_db(&pg);
    let dir = tempfile::tempdir().unwrap();
    let qs = queries();
    let plain = dir.path().join("queries.sql");
    let explained = dir.path().join("explained.sql");
    std::fs::write(
        &plain,
        qs.iter().map(|q| format!("{q};\n")).collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        &explained,
        qs.iter()
            .map(|q| format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {q};\n"))
            .collect::<String>(),
    )
    .unwrap();
    let diag = |jobs: &str| {
        let mut c = pgdiag(&pg, "postgres", "diagnose");
        c.args([
            "--jobs",
            jobs,
            "--format",
            "json",
            "--fail-on",
            "none",
            "-f",
        ])
        .arg(&plain);
        c
    };
    // Warm the caches once on each side, and check that pgdiag did the whole job.
    time(psql(&pg, "postgres").arg("-f").arg(&explained), 0);
    let out = diag("1").output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("diagnose JSON");
    let plans = doc["plans"].as_array().map_or(0, |p| p.len());
    let findings: usize = doc["plans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["findings"].as_array().map_or(0, |f| f.len()))
        .sum();
    assert_eq!(plans, 100, "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("live bench: diagnose: {plans} plans, {findings} findings");
    let mut a_psql = Duration::MAX;
    let mut a_j1 = Duration::MAX;
    let mut a_j4 = Duration::MAX;
    // Interleaved, so a change of load on the shared machine hits each side alike.
    for _ in 0..n {
        a_psql = a_psql.min(time(psql(&pg, "postgres").arg("-f").arg(&explained), 0));
        a_j1 = a_j1.min(time(&mut diag("1"), 1));
        a_j4 = a_j4.min(time(&mut diag("4"), 1));
    }

    // (b)
    let t = Instant::now();
    setup_many_db(&pg);
    eprintln!("live bench: 10,000 tables created in {:.1?}", t.elapsed());
    let health = || {
        let mut c = pgdiag(&pg, "many", "health");
        c.args(["--format", "json", "--fail-on", "none"]);
        c
    };
    let stat_q = || {
        let mut c = psql(&pg, "many");
        c.args(["-c", "SELECT * FROM pg_stat_user_tables"]);
        c
    };
    time(&mut stat_q(), 0);
    let out = health().output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("health JSON");
    eprintln!(
        "live bench: health: {} findings",
        doc["database"]["findings"]
            .as_array()
            .map_or(0, |f| f.len())
    );
    let mut b_psql = Duration::MAX;
    let mut b_health = Duration::MAX;
    for _ in 0..n {
        b_psql = b_psql.min(time(&mut stat_q(), 0));
        b_health = b_health.min(time(&mut health(), 1));
    }
    // Connection setup alone, for reading the figures: psql connecting and running nothing.
    let connect = best(n, || time(psql(&pg, "postgres").args(["-c", ""]), 0));
    // What one snapshot of all collectors costs, connection included, on a small database (what
    // diagnose will pay once collectors are wired into it).
    let small = best(n, || {
        let mut c = pgdiag(&pg, "postgres", "health");
        time(c.args(["--format", "json", "--fail-on", "none"]), 1)
    });

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    println!("PostgreSQL {version}; best of {n} runs; whole processes, output to /dev/null");
    println!();
    println!("| measurement | time | ratio | target |");
    println!("|---|---:|---:|---|");
    println!(
        "| (a) psql -f, 100 × EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) | {:.1} ms | 1.00 × | |",
        ms(a_psql)
    );
    println!(
        "| (a) pgdiag diagnose --jobs 1, same 100 queries | {:.1} ms | {:.2} × | ≤ 1.15 ×: {} |",
        ms(a_j1),
        ratio(a_j1, a_psql),
        verdict(ratio(a_j1, a_psql) <= 1.15)
    );
    println!(
        "| (a) pgdiag diagnose --jobs 4 | {:.1} ms | {:.2} × | < 1 ×: {} |",
        ms(a_j4),
        ratio(a_j4, a_psql),
        verdict(a_j4 < a_psql)
    );
    println!(
        "| (b) psql -c 'SELECT * FROM pg_stat_user_tables', 10,000 tables | {:.1} ms | 1.00 × | |",
        ms(b_psql)
    );
    println!(
        "| (b) pgdiag health, same database | {:.1} ms | {:.2} × | ≤ 2 ×: {} |",
        ms(b_health),
        ratio(b_health, b_psql),
        verdict(ratio(b_health, b_psql) <= 2.0)
    );
    println!(
        "| psql connecting and running nothing (for reference) | {:.1} ms | | |",
        ms(connect)
    );
    println!("| pgdiag health on the small database: connect + all collectors (for reference) | {:.1} ms | | |", ms(small));

    if std::env::var("PGDIAG_BENCH_KEEP").as_deref() == Ok("1") {
        eprintln!(
            "live bench: cluster kept up until Enter: PGPASSWORD='{}' psql -h '{}' -p {} -U {} many",
            pg.password,
            pg.socket_dir.display(),
            pg.port,
            pg.superuser
        );
        let mut s = String::new();
        let _ = std::io::stdin().read_line(&mut s);
    }
}
