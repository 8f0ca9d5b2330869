//! `pgdiag demo`: a throwaway PostgreSQL cluster with a schema in which every checklist item is
//! present (`schema.sql`), diagnosed by the same code as `pgdiag diagnose`.
//!
//! [`Cluster::start`] finds the server binaries (`PGDIAG_PG_BINDIR`, the newest
//! `/usr/lib/postgresql/*/bin`, `pg_config --bindir`), runs `initdb` into a new temporary
//! directory (trust authentication: nothing listens on TCP, `listen_addresses = ''`, and the
//! socket directory is private), and starts the server with `pg_ctl` on a free port. Run as root,
//! the binaries run as `postgres` (or `nobody`) through `runuser`, owning the directory, since
//! PostgreSQL refuses to run as root. [`Cluster`]'s drop stops the server (`pg_ctl -m immediate`)
//! and removes the directory, also on an error or a panic; Ctrl-C is caught by
//! [`watch_ctrl_c`] so that it too ends there.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// The demo's data (run statement by statement).
pub const SCHEMA_SQL: &str = include_str!("schema.sql");
/// The queries the demo diagnoses.
pub const QUERIES_SQL: &str = include_str!("queries.sql");

/// The demo's database.
pub const DATABASE: &str = "demo";
/// The cluster's superuser, as whom the demo connects.
pub const SUPERUSER: &str = "postgres";

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Rows inserted plus rows updated in `orders` by the end of each part of `schema.sql`.
const CHANGES_AFTER_PART: [i64; 2] = [200_000, 300_000];

/// From now on Ctrl-C no longer kills the process: it sets a flag ([`interrupted`]) that the
/// demo checks between steps, and cancels a running diagnosis, so the cluster is always removed.
pub fn watch_ctrl_c() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(_) => return,
    };
    // Register the handler before returning, then listen on a thread of its own.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        rt.block_on(async {
            let mut first = true;
            loop {
                let signal = tokio::signal::ctrl_c();
                if first {
                    first = false;
                    let _ = tx.send(());
                }
                if signal.await.is_err() {
                    return;
                }
                INTERRUPTED.store(true, Ordering::SeqCst);
            }
        })
    });
    let _ = rx.recv_timeout(Duration::from_secs(2));
}

/// Whether Ctrl-C was pressed.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A running throwaway cluster; stopped and removed on drop.
pub struct Cluster {
    root: PathBuf,
    bin_dir: PathBuf,
    data_dir: PathBuf,
    /// The server's socket directory (the `host` to connect to).
    pub socket_dir: PathBuf,
    pub port: u16,
    /// PostgreSQL's version, from `initdb --version` (`PostgreSQL 15.4`).
    pub version: String,
    run_as: Option<String>,
    log_file: PathBuf,
    running: bool,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, if there is one.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PGDIAG_PG_BINDIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    found.sort();
    if let Some((_, b)) = found.pop() {
        return Some(b);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    dir.join("initdb").is_file().then_some(dir)
}

/// PostgreSQL refuses to run as root: when we are root, the OS user to run the server as
/// (`postgres`, else `nobody`) with its uid and gid; `None` when we are not root. Shared with the
/// test harness's throwaway clusters (tests/common/pg.rs).
#[doc(hidden)]
pub fn server_user_if_root() -> Result<Option<(String, u32, u32)>, String> {
    if !is_root() {
        return Ok(None);
    }
    let user = ["postgres", "nobody"]
        .into_iter()
        .find(|u| id_of(u, "-u").is_some())
        .ok_or("running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as")?;
    let uid = id_of(user, "-u").unwrap_or(65534);
    let gid = id_of(user, "-g").unwrap_or(65534);
    Ok(Some((user.to_string(), uid, gid)))
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn id_of(user: &str, flag: &str) -> Option<u32> {
    let o = Command::new("id").args([flag, user]).output().ok()?;
    if !o.status.success() {
        return None;
    }
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

/// Give `path` and everything below it to `uid`:`gid` (the server's user, see
/// `server_user_if_root`).
#[doc(hidden)]
pub fn chown_tree(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if path.is_dir() {
        for e in std::fs::read_dir(path)?.flatten() {
            chown_tree(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// A new, private directory under the temporary directory.
fn make_root() -> Result<PathBuf, String> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for n in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = base.join(format!("pgdiag-demo-{}-{:x}{n}", std::process::id(), nanos));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
    Err(format!("cannot create a directory in {}", base.display()))
}

/// A port nothing listens on right now (it only names the socket: there is no TCP).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(5432 + (std::process::id() % 20000) as u16)
}

impl Cluster {
    /// Creates and starts the cluster. On an error, what was made is removed.
    pub fn start() -> Result<Cluster, String> {
        let bin_dir = find_bin_dir().ok_or(
            "PostgreSQL server binaries not found (looked at PGDIAG_PG_BINDIR, \
             /usr/lib/postgresql/*/bin and `pg_config --bindir`): install them, e.g. \
             `apt-get install postgresql`, or point PGDIAG_PG_BINDIR at them",
        )?;
        let version = Command::new(bin_dir.join("initdb"))
            .arg("--version")
            .output()
            .map(|o| {
                let v = String::from_utf8_lossy(&o.stdout);
                let v = v.trim();
                match v.strip_prefix("initdb (PostgreSQL) ") {
                    Some(n) => format!("PostgreSQL {n}"),
                    None => v.to_string(),
                }
            })
            .map_err(|e| format!("cannot run {}: {e}", bin_dir.join("initdb").display()))?;
        let root = make_root()?;
        let mut cluster = Cluster {
            data_dir: root.join("data"),
            socket_dir: root.join("sock"),
            log_file: root.join("server.log"),
            root,
            bin_dir,
            port: free_port(),
            version,
            run_as: None,
            running: false,
        };
        // From here on, drop removes the directory.
        cluster.init()?;
        Ok(cluster)
    }

    fn init(&mut self) -> Result<(), String> {
        std::fs::create_dir(&self.socket_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.socket_dir.display()))?;
        if let Some((user, uid, gid)) = server_user_if_root()? {
            chown_tree(&self.root, uid, gid)
                .map_err(|e| format!("cannot give {} to {user}: {e}", self.root.display()))?;
            self.run_as = Some(user);
        }
        let data = self.data_dir.display().to_string();
        self.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        let conf = format!(
            "\n# pgdiag demo cluster\nlisten_addresses = ''\nunix_socket_directories = '{}'\n\
             port = {}\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             shared_buffers = 32MB\nmax_connections = 20\nautovacuum = off\njit = off\n",
            self.socket_dir.display(),
            self.port
        );
        let conf_path = self.data_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path)
            .map_err(|e| format!("cannot read {}: {e}", conf_path.display()))?;
        text.push_str(&conf);
        std::fs::write(&conf_path, text)
            .map_err(|e| format!("cannot write {}: {e}", conf_path.display()))?;
        let log = self.log_file.display().to_string();
        self.running = true; // from here on, drop stops it
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )?;
        Ok(())
    }

    /// The temporary directory holding everything.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A `key=value` connection string to `dbname` as the superuser (trust: no password).
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host='{}' port={} user={SUPERUSER} dbname={dbname} sslmode=disable",
            self.socket_dir.display(),
            self.port
        )
    }

    /// Connects to `dbname` as the superuser; the connection runs on a spawned task.
    pub async fn client(&self, dbname: &str) -> Result<Client, String> {
        let (client, conn) = tokio_postgres::Config::new()
            .host_path(&self.socket_dir)
            .port(self.port)
            .user(SUPERUSER)
            .dbname(dbname)
            .application_name("pgdiag-demo")
            .connect(NoTls)
            .await
            .map_err(|e| format!("cannot connect to the demo server: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        // Keep the caller's PG* variables away from initdb and pg_ctl.
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("LC_ALL", "C");
        cmd.current_dir(&self.root);
        cmd
    }

    /// Runs one of the server's programs; an error carries its output and the server log's end.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .output()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(format!(
            "{program} failed ({}): {} {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim(),
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        ))
    }

    /// Stops the server at once (`pg_ctl -m immediate`); the data is thrown away anyway.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let data = self.data_dir.display().to_string();
        let r = self.run(
            "pg_ctl",
            &["-D", &data, "-m", "immediate", "-w", "-t", "30", "stop"],
        );
        if r.is_err() && self.data_dir.join("postmaster.pid").exists() {
            // Last resort: SIGQUIT the postmaster (an immediate shutdown).
            if let Some(pid) = std::fs::read_to_string(self.data_dir.join("postmaster.pid"))
                .ok()
                .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            {
                let _ = Command::new("kill")
                    .args(["-QUIT", &pid.to_string()])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(10);
                while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!(
                    "pgdiag: warning: cannot remove {}: {e}",
                    self.root.display()
                );
            }
        }
    }
}

/// Creates the demo database and loads `schema.sql`, checking for Ctrl-C between statements.
pub async fn load(cluster: &Cluster) -> Result<(), String> {
    let admin = cluster.client("postgres").await?;
    let setup = [
        format!("CREATE DATABASE {DATABASE}"),
        // A small work_mem, so the sort of the demo spills; no parallel workers, so the plans
        // stay simple and the demo quick on a small machine.
        format!("ALTER DATABASE {DATABASE} SET work_mem = '64kB'"),
        format!("ALTER DATABASE {DATABASE} SET max_parallel_workers_per_gather = 0"),
    ];
    for sql in &setup {
        admin
            .batch_execute(sql)
            .await
            .map_err(|e| sql_error(sql, e))?;
    }
    drop(admin);
    for (i, part) in schema_parts().iter().enumerate() {
        let c = cluster.client(DATABASE).await?;
        let split = crate::sql::split("schema.sql", part);
        if let Some(e) = split.errors.first() {
            return Err(format!("schema.sql:{}: {}", e.line, e.message));
        }
        for st in split.statements {
            if interrupted() {
                return Err("interrupted".into());
            }
            c.batch_execute(&st.sql)
                .await
                .map_err(|e| sql_error(&st.sql, e))?;
        }
        // The session's counters are sent to the statistics views when it ends.
        drop(c);
        let expected = CHANGES_AFTER_PART.get(i).copied().unwrap_or(0);
        wait_for_statistics(cluster, expected).await?;
    }
    Ok(())
}

/// `schema.sql` cut at its `-- pgdiag-demo: new session` lines (each part keeps its lines, so
/// line numbers in errors stay those of the file).
fn schema_parts() -> Vec<String> {
    let mut parts = vec![String::new()];
    for line in SCHEMA_SQL.lines() {
        if line.starts_with("-- pgdiag-demo: new session") {
            parts.push(String::new());
        }
        let last = parts.last_mut().expect("one part");
        last.push_str(if line.starts_with("-- pgdiag-demo:") {
            ""
        } else {
            line
        });
        last.push('\n');
    }
    parts
}

fn sql_error(sql: &str, e: tokio_postgres::Error) -> String {
    let first = sql.lines().next().unwrap_or_default();
    match e.as_db_error() {
        Some(db) => format!("demo setup `{first}…` failed: {}", db.message()),
        None => format!("demo setup `{first}…` failed: {e}"),
    }
}

/// Waits (at most ten seconds) until the statistics views show `expected` rows inserted or
/// updated in `orders` (and dead rows, after an update): a session's counters arrive shortly after it ends.
async fn wait_for_statistics(cluster: &Cluster, expected: i64) -> Result<(), String> {
    let c = cluster.client(DATABASE).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && !interrupted() {
        let row = c
            .query_one(
                "SELECT coalesce(n_tup_ins + n_tup_upd, 0), \
                        coalesce(n_tup_upd, 0) = 0 OR n_dead_tup > 0 \
                 FROM pg_stat_user_tables WHERE relid = 'orders'::regclass",
                &[],
            )
            .await
            .map_err(|e| sql_error("SELECT … FROM pg_stat_user_tables", e))?;
        let (changes, dead_seen): (i64, bool) = (row.get(0), row.get(1));
        if changes >= expected && dead_seen {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Opens a session that begins a transaction, reads, and then waits: idle in transaction until
/// the returned client is dropped.
pub async fn idle_in_transaction(cluster: &Cluster) -> Result<Client, String> {
    let c = cluster.client(DATABASE).await?;
    c.batch_execute("BEGIN; SELECT count(*) FROM orders WHERE id <= 10")
        .await
        .map_err(|e| sql_error("BEGIN", e))?;
    Ok(c)
}

/// The demo's queries: (`queries.sql:LINE`, SQL).
pub fn queries() -> Vec<(String, String)> {
    crate::sql::split("queries.sql", QUERIES_SQL)
        .statements
        .into_iter()
        .map(|s| (format!("demo:{}", s.line), s.sql))
        .collect()
}
