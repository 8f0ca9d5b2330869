//! A throwaway PostgreSQL cluster for integration tests.
//!
//! Include it with `#[path = "common/pg.rs"] mod pg;`. [`PgCluster::start`] runs `initdb` into a
//! temporary directory (SCRAM-SHA-256 authentication, a random password for the superuser
//! `postgres`), listens only on its own Unix-socket directory (`listen_addresses = ''`; TCP on
//! 127.0.0.1 only when [`Options::tcp`] asks for it), and
//! starts the server with `pg_ctl`. Dropping the cluster stops it and removes the directory,
//! also when a test panics.
//!
//! When the tests run as root, `initdb` and `pg_ctl` run as the `postgres` user (or `nobody`)
//! through `runuser`, and the directory is handed to that user, since PostgreSQL refuses to run
//! as root.
//!
//! Binaries: `PGDIAG_PG_BINDIR` if set, else the newest `/usr/lib/postgresql/*/bin`, else
//! `pg_config --bindir`. Without them the test fails with a message saying how to install them:
//! it never skips.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// How to start a cluster.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra lines for `postgresql.conf`.
    pub extra_conf: String,
    /// Also listen on TCP at 127.0.0.1 (on a free port), e.g. for TLS tests. Off by default:
    /// then only the Unix socket is used.
    pub tcp: bool,
}

/// A running throwaway cluster. Stopped and removed on drop.
pub struct PgCluster {
    /// Holds everything below; removed on drop.
    root: Option<tempfile::TempDir>,
    pub bin_dir: PathBuf,
    pub data_dir: PathBuf,
    /// The directory of the server's socket: use it as `host`.
    pub socket_dir: PathBuf,
    pub port: u16,
    pub superuser: String,
    pub password: String,
    /// Whether the server also listens on 127.0.0.1:`port`.
    pub tcp: bool,
    /// The OS user the server runs as, when the tests run as root, with its uid and gid.
    run_as: Option<String>,
    owner: Option<(u32, u32)>,
    log_file: PathBuf,
    running: bool,
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, if there is one.
pub fn find_bin_dir() -> Option<PathBuf> {
    // The same search as `pgdiag demo`: one place decides where the server binaries are.
    pgdiag::demo::find_bin_dir()
}

fn chown_tree(path: &Path, uid: u32, gid: u32) {
    pgdiag::demo::chown_tree(path, uid, gid)
        .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
}

/// A password that is unlikely to appear anywhere by chance.
fn random_password() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "pw-{:x}-{:x}-{}",
        t,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl PgCluster {
    /// Starts a cluster; panics when the PostgreSQL binaries are not installed (the `Option` is
    /// kept for callers written when a missing server was a skip; it is always `Some`).
    pub fn start() -> Option<PgCluster> {
        Self::start_with_config("")
    }

    /// [`PgCluster::start`] with extra lines for `postgresql.conf`.
    pub fn start_with_config(extra_conf: &str) -> Option<PgCluster> {
        Self::start_with(Options {
            extra_conf: extra_conf.to_string(),
            ..Options::default()
        })
    }

    /// Starts a cluster with `opts`; `None` as for [`PgCluster::start`].
    pub fn start_with(opts: Options) -> Option<PgCluster> {
        let extra_conf = opts.extra_conf.as_str();
        let Some(bin_dir) = find_bin_dir() else {
            // Never a silent skip: database behaviour is only tested against a real server.
            panic!(
                "PostgreSQL server binaries not found (looked at PGDIAG_PG_BINDIR, \
                 /usr/lib/postgresql/*/bin and `pg_config --bindir`): install them, e.g. \
                 `apt-get install postgresql`, or run .ci/run which does"
            );
        };
        let root = tempfile::Builder::new()
            .prefix("pgdiag-pg-")
            .tempdir()
            .expect("temp dir");
        let base = root.path().to_path_buf();
        let data_dir = base.join("data");
        let socket_dir = base.join("sock");
        std::fs::create_dir(&socket_dir).unwrap();
        let password = random_password();
        let pwfile = base.join("pwfile");
        std::fs::write(&pwfile, format!("{password}\n")).unwrap();
        let log_file = base.join("server.log");

        let (run_as, owner) = match pgdiag::demo::server_user_if_root().unwrap() {
            Some((user, uid, gid)) => {
                chown_tree(&base, uid, gid);
                (Some(user), Some((uid, gid)))
            }
            None => (None, None),
        };

        let port = if opts.tcp {
            // A port that was free a moment ago.
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            l.local_addr().unwrap().port()
        } else {
            // Any port works: nothing listens on TCP, and the socket directory is ours alone.
            20000 + (std::process::id() % 20000) as u16
        };
        let mut cluster = PgCluster {
            root: Some(root),
            bin_dir,
            data_dir,
            socket_dir,
            port,
            superuser: "postgres".into(),
            password,
            tcp: opts.tcp,
            run_as,
            owner,
            log_file,
            running: false,
        };

        let pwfile_arg = format!("--pwfile={}", pwfile.display());
        cluster.run(
            "initdb",
            &[
                "-D",
                cluster.data_dir.to_str().unwrap(),
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                &pwfile_arg,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        std::fs::remove_file(&pwfile).ok();

        let conf = format!(
            "\n# pgdiag test cluster\nlisten_addresses = '{}'\nunix_socket_directories = '{}'\nport = {}\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n\
             shared_buffers = 16MB\nmax_connections = 20\n{extra_conf}\n",
            if opts.tcp { "127.0.0.1" } else { "" },
            cluster.socket_dir.display(),
            cluster.port
        );
        let conf_path = cluster.data_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).unwrap();
        text.push_str(&conf);
        std::fs::write(&conf_path, text).unwrap();

        let log_arg = cluster.log_file.to_str().unwrap().to_string();
        cluster.running = true; // from here on, drop tries to stop it
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                cluster.data_dir.to_str().unwrap(),
                "-l",
                &log_arg,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        Some(cluster)
    }

    /// Runs one of the cluster's binaries (as the server's user when root), panicking with its
    /// output and the server log if it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args);
        // Keep the caller's PG* variables away from initdb and pg_ctl.
        cmd.env_clear();
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        cmd.env("LC_ALL", "C");
        cmd.current_dir(self.root.as_ref().unwrap().path());
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
        if !out.status.success() {
            let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
            panic!(
                "{program} {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}\nserver log:\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// A `key=value` connection string for the superuser, with the password.
    pub fn conninfo(&self) -> String {
        format!(
            "{} password='{}'",
            self.conninfo_without_password(),
            self.password
        )
    }

    /// The same, without the password.
    pub fn conninfo_without_password(&self) -> String {
        format!(
            "host='{}' port={} user={} dbname=postgres",
            self.socket_dir.display(),
            self.port,
            self.superuser
        )
    }

    /// A tokio-postgres configuration for the superuser (no PG* variables, no files involved).
    pub fn config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host_path(&self.socket_dir)
            .port(self.port)
            .user(&self.superuser)
            .password(&self.password)
            .dbname("postgres");
        c
    }

    /// Connects as the superuser; the connection is driven by a spawned task. Needs a Tokio
    /// runtime.
    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = self
            .config()
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test cluster: {e}"));
        tokio::spawn(async move {
            let _ = conn.await;
        });
        client
    }

    /// Runs SQL as the superuser, without psql. Several statements run as one implicit
    /// transaction, so `CREATE DATABASE` needs a call of its own. Blocking: call it outside a
    /// runtime.
    pub fn execute(&self, sql: &str) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let client = self.client().await;
            client
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| match e.as_db_error() {
                    Some(db) => panic!(
                        "setup SQL failed: {}: {}\n{sql}",
                        db.severity(),
                        db.message()
                    ),
                    None => panic!("setup SQL failed: {e}\n{sql}"),
                });
        });
    }

    /// Writes a file into the data directory, owned by the server's user, with `mode`
    /// (e.g. `server.key` with 0o600), and returns its path.
    pub fn write_data_file(&self, name: &str, contents: &[u8], mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.data_dir.join(name);
        std::fs::write(&path, contents).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        if let Some((uid, gid)) = self.owner {
            chown_tree(&path, uid, gid);
        }
        path
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// Stops the server (fast shutdown). Called by drop.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let exe = self.bin_dir.join("pg_ctl");
        let data = self.data_dir.to_str().unwrap().to_string();
        let args = ["-D", data.as_str(), "-m", "fast", "-w", "-t", "30", "stop"];
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).env_clear().env("LC_ALL", "C");
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
        match cmd.output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                eprintln!(
                    "warning: pg_ctl stop failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                self.kill_postmaster();
            }
            Err(e) => {
                eprintln!("warning: cannot run pg_ctl stop: {e}");
                self.kill_postmaster();
            }
        }
    }

    /// Last resort: SIGQUIT the postmaster named in postmaster.pid (immediate shutdown).
    fn kill_postmaster(&self) {
        let Ok(pidfile) = std::fs::read_to_string(self.data_dir.join("postmaster.pid")) else {
            return;
        };
        if let Some(pid) = pidfile
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<u32>().ok())
        {
            let _ = Command::new("kill")
                .args(["-QUIT", &pid.to_string()])
                .status();
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(root) = self.root.take() {
            let _ = root.close();
        }
    }
}
