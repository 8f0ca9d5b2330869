//! `conn` against a real, throwaway PostgreSQL: connecting through a connection string, the PG*
//! environment (injected), a `.pgpass` file and a service file, and a wrong password whose
//! error does not show it.
//!
//! One cluster serves every scenario (initdb is the slow part); scenarios run in order inside
//! one test, and the cluster is stopped and removed at the end, also when one fails.

#[path = "common/pg.rs"]
mod pg;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pgdiag::conn::{self, ConnSettings, Defaults, EmptyEnv, Env, Source};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn defaults() -> Defaults {
    // No default socket directory, so that nothing here reaches a system server by accident.
    Defaults {
        os_user: Some("nobody-in-particular".into()),
        socket_dirs: vec![],
    }
}

fn resolve(conninfo: Option<&str>, env: &dyn Env, home: &Path) -> ConnSettings {
    conn::resolve_with(conninfo, env, Some(home), &defaults())
        .unwrap_or_else(|e| panic!("resolve {conninfo:?}: {e}"))
}

/// Connects and returns (current_user, current_database, application_name).
fn whoami(settings: &ConnSettings) -> Result<(String, String, String), String> {
    rt().block_on(async {
        let (client, task) = conn::connect(settings).await.map_err(|e| e.to_string())?;
        let row = client
            .query_one(
                "select current_user::text, current_database()::text, current_setting('application_name')",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = task.await;
        Ok((row.get(0), row.get(1), row.get(2)))
    })
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn live_cluster() {
    let Some(pg) = pg::PgCluster::start() else {
        return;
    };
    // psql-free setup through tokio-postgres.
    pg.execute("create role app login password 'app-secret-4711'");
    pg.execute("create database shop owner app");
    let home = tempfile::tempdir().unwrap();
    let sock = pg.socket_dir.display().to_string();
    let port = pg.port.to_string();

    through_conninfo(&pg, home.path());
    through_uri(&pg, home.path(), &sock);
    through_env(&pg, home.path(), &sock, &port);
    through_pgpass(&pg, home.path(), &sock);
    through_service(&pg, home.path(), &sock);
    wrong_password(&pg, home.path());
    missing_password(&pg, home.path());
}

fn through_conninfo(pg: &pg::PgCluster, home: &Path) {
    let s = resolve(Some(&pg.conninfo()), &EmptyEnv, home);
    assert_eq!(s.password_source, Some(Source::Conninfo));
    assert_eq!(
        whoami(&s).unwrap(),
        ("postgres".into(), "postgres".into(), "pgdiag".into())
    );
    // sslmode is ignored on a Unix socket, as in libpq.
    let s = resolve(
        Some(&format!("{} sslmode=require", pg.conninfo())),
        &EmptyEnv,
        home,
    );
    assert!(whoami(&s).is_ok());
}

fn through_uri(pg: &pg::PgCluster, home: &Path, sock: &str) {
    let enc = sock.replace('/', "%2F");
    let uri = format!(
        "postgresql://app:app-secret-4711@{enc}:{}/shop?application_name=uri%20test&connect_timeout=10",
        pg.port
    );
    let s = resolve(Some(&uri), &EmptyEnv, home);
    assert_eq!(
        whoami(&s).unwrap(),
        ("app".into(), "shop".into(), "uri test".into())
    );
}

fn through_env(pg: &pg::PgCluster, home: &Path, sock: &str, port: &str) {
    let env = [
        ("PGHOST", sock),
        ("PGPORT", port),
        ("PGUSER", "postgres"),
        ("PGPASSWORD", pg.password.as_str()),
        ("PGDATABASE", "shop"),
        ("PGAPPNAME", "from-env"),
    ];
    let s = resolve(None, &env, home);
    assert_eq!(s.password_source, Some(Source::Env("PGPASSWORD")));
    assert_eq!(
        whoami(&s).unwrap(),
        ("postgres".into(), "shop".into(), "from-env".into())
    );
    // The connection string beats the environment.
    let s = resolve(
        Some("user=app password=app-secret-4711 application_name=ci"),
        &env,
        home,
    );
    assert_eq!(
        whoami(&s).unwrap(),
        ("app".into(), "shop".into(), "ci".into())
    );
}

fn through_pgpass(pg: &pg::PgCluster, home: &Path, sock: &str) {
    let pgpass = home.join(".pgpass");
    // A Unix-socket connection matches "localhost". The first matching line wins.
    let text = format!(
        "# test\nlocalhost:{port}:shop:app:app-secret-4711\nlocalhost:{port}:*:app:wrong\n*:*:*:postgres:{pw}\n",
        port = pg.port,
        pw = pg.password.replace('\\', "\\\\").replace(':', "\\:")
    );
    write_private(&pgpass, &text, 0o600);
    let s = resolve(
        Some(&format!(
            "host={sock} port={} user=app dbname=shop",
            pg.port
        )),
        &EmptyEnv,
        home,
    );
    assert_eq!(s.password_source, Some(Source::PassFile(pgpass.clone())));
    assert_eq!(
        whoami(&s).unwrap(),
        ("app".into(), "shop".into(), "pgdiag".into())
    );
    let s = resolve(Some(&pg.conninfo_without_password()), &EmptyEnv, home);
    assert_eq!(whoami(&s).unwrap().0, "postgres");

    // Group-readable: ignored with libpq's warning, and the server then wants a password.
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o640)).unwrap();
    let s = resolve(Some(&pg.conninfo_without_password()), &EmptyEnv, home);
    assert_eq!(s.password(), None);
    assert!(
        s.warnings
            .iter()
            .any(|w| w
                .contains("has group or world access; permissions should be u=rw (0600) or less")),
        "{:?}",
        s.warnings
    );
    assert!(whoami(&s).is_err());
    std::fs::remove_file(&pgpass).unwrap();
}

fn through_service(pg: &pg::PgCluster, home: &Path, sock: &str) {
    let file: PathBuf = home.join("services.conf");
    std::fs::write(
        &file,
        format!(
            "[shop]\nhost={sock}\nport={}\nuser=app\ndbname=shop\npassword=app-secret-4711\n",
            pg.port
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let env = [("PGSERVICEFILE", f), ("PGSYSCONFDIR", "/nonexistent")];
    let s = resolve(Some("service=shop application_name=svc"), &env, home);
    assert_eq!(
        whoami(&s).unwrap(),
        ("app".into(), "shop".into(), "svc".into())
    );
    let env = [
        ("PGSERVICEFILE", f),
        ("PGSERVICE", "shop"),
        ("PGSYSCONFDIR", "/nonexistent"),
    ];
    let s = resolve(None, &env, home);
    assert_eq!(whoami(&s).unwrap().0, "app");
}

fn wrong_password(pg: &pg::PgCluster, home: &Path) {
    let secret = "Wr0ng-Passw0rd-zz9";
    let s = resolve(
        Some(&format!(
            "{} password={secret}",
            pg.conninfo_without_password()
        )),
        &EmptyEnv,
        home,
    );
    let err = rt().block_on(conn::connect(&s)).map(|_| ()).unwrap_err();
    for text in [
        err.to_string(),
        format!("{err:?}"),
        s.to_string(),
        format!("{s:?}"),
    ] {
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
    let msg = err.to_string();
    let want = format!(
        "cannot connect to host \"{}\" port {} (socket \"{}/.s.PGSQL.{}\"): FATAL: password authentication failed for user \"postgres\"",
        pg.socket_dir.display(),
        pg.port,
        pg.socket_dir.display(),
        pg.port
    );
    assert!(msg.starts_with(&want), "{msg}\nwant: {want}");
    assert!(
        msg.ends_with("(password from the connection string)"),
        "{msg}"
    );

    // From PGPASSWORD: the message says so, and still hides it.
    let s = resolve(
        Some(&pg.conninfo_without_password()),
        &[("PGPASSWORD", secret)],
        home,
    );
    let msg = rt()
        .block_on(conn::connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with("(password from PGPASSWORD)") && !msg.contains(secret),
        "{msg}"
    );
}

fn missing_password(pg: &pg::PgCluster, home: &Path) {
    let s = resolve(Some(&pg.conninfo_without_password()), &EmptyEnv, home);
    assert_eq!(s.password(), None);
    let msg = rt()
        .block_on(conn::connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("the server asked for a password"), "{msg}");
    assert!(
        msg.contains(&home.join(".pgpass").display().to_string()),
        "{msg}"
    );
}

/// Runs openssl, panicking with its output on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a server certificate for DNS name `localhost` signed by it; a second, unrelated CA.
fn make_certs(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (ca, subject) in [
        ("ca", "/CN=pgdiag test CA"),
        ("other-ca", "/CN=unrelated CA"),
    ] {
        let (key, crt) = (format!("{ca}.key"), format!("{ca}.crt"));
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend([
            "-keyout",
            &key,
            "-out",
            &crt,
            "-days",
            "2",
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &args);
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

/// Connects and says whether the session is encrypted, or returns the error.
fn ssl_in_use(settings: &ConnSettings) -> Result<bool, String> {
    rt().block_on(async {
        let (client, task) = conn::connect(settings).await.map_err(|e| e.to_string())?;
        let row = client
            .query_one(
                "select ssl from pg_stat_ssl where pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = task.await;
        Ok(row.get(0))
    })
}

#[test]
fn live_tls() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: live_tls needs the openssl command to make certificates");
        return;
    }
    let Some(pg) = pg::PgCluster::start_with(pg::Options {
        tcp: true,
        ..Default::default()
    }) else {
        return;
    };
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let read = |f: &str| std::fs::read(certs.path().join(f)).unwrap();
    pg.write_data_file("server.crt", &read("server.crt"), 0o644);
    pg.write_data_file("server.key", &read("server.key"), 0o600);
    pg.execute("alter system set ssl_cert_file = 'server.crt'");
    pg.execute("alter system set ssl_key_file = 'server.key'");
    pg.execute("alter system set ssl = on");
    pg.execute("select pg_reload_conf()");

    let home = tempfile::tempdir().unwrap();
    let ca = certs.path().join("ca.crt");
    let other = certs.path().join("other-ca.crt");
    let base = |host: &str, extra: &str| {
        format!(
            "host={host} port={} user=postgres password='{}' {extra}",
            pg.port, pg.password
        )
    };
    let settings = |ci: String| resolve(Some(&ci), &EmptyEnv, home.path());

    // The reload is asynchronous: wait until TLS is offered.
    let mut ok = false;
    for _ in 0..50 {
        if ssl_in_use(&settings(base("127.0.0.1", "sslmode=require"))) == Ok(true) {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "TLS never came up; server log:\n{}", pg.log());

    let ca_s = ca.display().to_string();
    let other_s = other.display().to_string();
    // (host, extra parameters, expected: Ok(ssl) or Err(substring))
    let cases: Vec<(&str, String, Result<bool, &str>)> = vec![
        ("127.0.0.1", "sslmode=disable".into(), Ok(false)),
        ("127.0.0.1", "sslmode=allow".into(), Ok(true)),
        ("127.0.0.1", "sslmode=prefer".into(), Ok(true)),
        ("127.0.0.1", "sslmode=require".into(), Ok(true)),
        // verify-ca: the chain is checked, the name (localhost ≠ 127.0.0.1) is not.
        (
            "127.0.0.1",
            format!("sslmode=verify-ca sslrootcert={ca_s}"),
            Ok(true),
        ),
        (
            "127.0.0.1",
            format!("sslmode=verify-ca sslrootcert={other_s}"),
            Err("UnknownIssuer"),
        ),
        // verify-full: both.
        (
            "127.0.0.1",
            format!("sslmode=verify-full sslrootcert={ca_s}"),
            Err("not valid for name"),
        ),
        (
            "localhost",
            format!("hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={ca_s}"),
            Ok(true),
        ),
        (
            "localhost",
            format!("hostaddr=127.0.0.1 sslmode=verify-full sslrootcert={other_s}"),
            Err("certificate"),
        ),
        // require with an explicit root file behaves as verify-ca (libpq's rule).
        (
            "127.0.0.1",
            format!("sslmode=require sslrootcert={other_s}"),
            Err("certificate"),
        ),
        (
            "127.0.0.1",
            format!("sslmode=require sslrootcert={ca_s}"),
            Ok(true),
        ),
    ];
    for (host, extra, want) in cases {
        let ci = base(host, &extra);
        let got = ssl_in_use(&settings(ci.clone()));
        match (&got, want) {
            (Ok(g), Ok(w)) => assert_eq!(*g, w, "{extra}"),
            (Err(e), Err(w)) => {
                assert!(e.contains(w), "{extra}: {e}");
                assert!(e.contains("(sslmode="), "{e}");
                assert!(
                    e.starts_with(&format!("cannot connect to host \"{host}\"")),
                    "{e}"
                );
                assert!(!e.contains(&pg.password), "{e}");
            }
            _ => panic!("{host} {extra}: got {got:?}, want {want:?}"),
        }
    }

    // The default root file ~/.postgresql/root.crt turns require into verify-ca.
    std::fs::create_dir(home.path().join(".postgresql")).unwrap();
    std::fs::copy(&other, home.path().join(".postgresql/root.crt")).unwrap();
    let got = ssl_in_use(&settings(base("127.0.0.1", "sslmode=require")));
    assert!(
        got.as_ref().is_err_and(|e| e.contains("certificate")),
        "{got:?}"
    );
    std::fs::copy(&ca, home.path().join(".postgresql/root.crt")).unwrap();
    assert_eq!(
        ssl_in_use(&settings(base("127.0.0.1", "sslmode=require"))),
        Ok(true)
    );
}
