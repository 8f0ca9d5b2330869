//! Precedence, defaults, redaction and connection-error tests for `conn::resolve`/`connect`.

use super::*;
use std::os::unix::fs::PermissionsExt;

/// A variable list for an injected environment.
type Vars<'a> = &'a [(&'a str, &'a str)];

fn defaults() -> Defaults {
    Defaults {
        os_user: Some("osuser".into()),
        socket_dirs: vec![PathBuf::from("/var/run/postgresql"), PathBuf::from("/tmp")],
    }
}

fn no_home() -> Option<&'static Path> {
    None
}

fn res(conninfo: Option<&str>, env: &[(&str, &str)]) -> Result<ConnSettings, ConnError> {
    resolve_with(conninfo, &env, no_home(), &defaults())
}

fn ok(conninfo: Option<&str>, env: &[(&str, &str)]) -> ConnSettings {
    res(conninfo, env).unwrap_or_else(|e| panic!("{conninfo:?} {env:?}: {e}"))
}

fn tcp(h: &str, port: u16) -> Endpoint {
    Endpoint {
        host: Host::Tcp(h.into()),
        hostaddr: None,
        port,
    }
}

fn unix(d: &str, port: u16) -> Endpoint {
    Endpoint {
        host: Host::Unix(d.into()),
        hostaddr: None,
        port,
    }
}

#[test]
fn defaults_like_libpq() {
    let s = ok(None, &[]);
    assert_eq!(s.endpoints, vec![unix("/var/run/postgresql", 5432)]);
    assert_eq!((s.user.as_str(), s.dbname.as_str()), ("osuser", "osuser"));
    assert_eq!(s.application_name, "pgdiag");
    assert_eq!(s.password(), None);
    assert_eq!(s.tls.mode, SslMode::Prefer);
    assert_eq!(s.connect_timeout, None);
    assert_eq!(s.target_session_attrs, TargetSessionAttrs::Any);

    let only_tmp = Defaults {
        os_user: Some("u".into()),
        socket_dirs: vec!["/tmp".into()],
    };
    let s = resolve_with(None, &EmptyEnv, None, &only_tmp).unwrap();
    assert_eq!(s.endpoints, vec![unix("/tmp", 5432)]);

    let none = Defaults {
        os_user: None,
        socket_dirs: vec![],
    };
    let s = resolve_with(Some("user=x"), &EmptyEnv, None, &none).unwrap();
    assert_eq!(s.endpoints, vec![tcp("localhost", 5432)]);
    let err = resolve_with(None, &EmptyEnv, None, &none)
        .unwrap_err()
        .to_string();
    assert!(err.contains("could not determine the user name"), "{err}");
}

#[test]
fn precedence_table() {
    // (conninfo, env, expected host, port, user, dbname, application_name)
    type Case<'a> = (
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        Endpoint,
        &'a str,
        &'a str,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            None,
            &[("PGHOST", "envhost"), ("PGPORT", "6000")],
            tcp("envhost", 6000),
            "osuser",
            "osuser",
            "pgdiag",
        ),
        (
            Some("host=cihost"),
            &[
                ("PGHOST", "envhost"),
                ("PGPORT", "6000"),
                ("PGUSER", "envuser"),
            ],
            tcp("cihost", 6000),
            "envuser",
            "envuser",
            "pgdiag",
        ),
        (
            Some("postgresql://ciuser@cihost:7000/cidb?application_name=ciapp"),
            &[
                ("PGHOST", "envhost"),
                ("PGPORT", "6000"),
                ("PGUSER", "envuser"),
                ("PGDATABASE", "envdb"),
                ("PGAPPNAME", "envapp"),
            ],
            tcp("cihost", 7000),
            "ciuser",
            "cidb",
            "ciapp",
        ),
        (
            None,
            &[
                ("PGUSER", "envuser"),
                ("PGDATABASE", "envdb"),
                ("PGAPPNAME", "envapp"),
            ],
            unix("/var/run/postgresql", 5432),
            "envuser",
            "envdb",
            "envapp",
        ),
        (
            Some("mydb"),
            &[("PGDATABASE", "envdb")],
            unix("/var/run/postgresql", 5432),
            "osuser",
            "mydb",
            "pgdiag",
        ),
        (
            Some("host=/tmp port=5433"),
            &[],
            unix("/tmp", 5433),
            "osuser",
            "osuser",
            "pgdiag",
        ),
        (
            Some("host='' port=''"),
            &[("PGHOST", "envhost")],
            tcp("envhost", 5432),
            "osuser",
            "osuser",
            "pgdiag",
        ),
        (
            Some("fallback_application_name=fb"),
            &[],
            unix("/var/run/postgresql", 5432),
            "osuser",
            "osuser",
            "fb",
        ),
        (
            Some("fallback_application_name=fb"),
            &[("PGAPPNAME", "envapp")],
            unix("/var/run/postgresql", 5432),
            "osuser",
            "osuser",
            "envapp",
        ),
    ];
    for (ci, env, ep, user, db, app) in cases {
        let s = ok(*ci, env);
        assert_eq!(s.endpoints, vec![ep.clone()], "{ci:?} {env:?}");
        assert_eq!(s.user, *user, "{ci:?} {env:?}");
        assert_eq!(s.dbname, *db, "{ci:?} {env:?}");
        assert_eq!(s.application_name, *app, "{ci:?} {env:?}");
    }
}

#[test]
fn other_env_variables() {
    let s = ok(
        None,
        &[
            ("PGCONNECT_TIMEOUT", "10"),
            ("PGTARGETSESSIONATTRS", "read-write"),
            ("PGOPTIONS", "-c work_mem=64MB"),
            ("PGSSLMODE", "disable"),
            ("PGHOSTADDR", "127.0.0.1"),
        ],
    );
    assert_eq!(s.connect_timeout, Some(Duration::from_secs(10)));
    assert_eq!(s.target_session_attrs, TargetSessionAttrs::ReadWrite);
    assert_eq!(s.options.as_deref(), Some("-c work_mem=64MB"));
    assert_eq!(s.tls.mode, SslMode::Disable);
    assert_eq!(
        s.endpoints,
        vec![Endpoint {
            host: Host::Tcp("127.0.0.1".into()),
            hostaddr: Some("127.0.0.1".parse().unwrap()),
            port: 5432
        }]
    );
    let s = ok(Some("host=db.example"), &[("PGHOSTADDR", "10.0.0.5")]);
    assert_eq!(s.endpoints[0].hostaddr, Some("10.0.0.5".parse().unwrap()));
    assert!(s.endpoints[0]
        .describe()
        .contains("host \"db.example\" (address 10.0.0.5) port 5432"));
}

#[test]
fn connect_timeout_rules() {
    for (v, want) in [
        ("0", None),
        ("-1", None),
        ("1", Some(2)),
        ("2", Some(2)),
        (" 30", Some(30)),
    ] {
        let s = ok(Some(&format!("connect_timeout='{v}'")), &[]);
        assert_eq!(s.connect_timeout, want.map(Duration::from_secs), "{v}");
    }
    let err = res(None, &[("PGCONNECT_TIMEOUT", "soon")])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "invalid integer value \"soon\" for connection option \"connect_timeout\" (from PGCONNECT_TIMEOUT)"
    );
}

#[test]
fn multiple_hosts_and_ports() {
    let s = ok(Some("postgresql://a:1,b,[::1]:3/db"), &[]);
    assert_eq!(
        s.endpoints,
        vec![tcp("a", 1), tcp("b", 5432), tcp("::1", 3)]
    );
    let s = ok(Some("host=a,b,/tmp port=7"), &[]);
    assert_eq!(s.endpoints, vec![tcp("a", 7), tcp("b", 7), unix("/tmp", 7)]);
    let s = ok(Some("host=a,"), &[]);
    assert_eq!(
        s.endpoints,
        vec![tcp("a", 5432), unix("/var/run/postgresql", 5432)]
    );
    let cfg = ok(Some("host=a,b port=1,2"), &[]).to_config();
    assert_eq!(cfg.get_ports(), &[1, 2]);
    assert_eq!(cfg.get_hosts().len(), 2);
}

#[test]
fn bad_values_say_what_and_where() {
    let cases: &[(Option<&str>, Vars, &str)] = &[
        (
            Some("port=abc"),
            &[],
            "invalid port number: \"abc\" (from the connection string)",
        ),
        (
            None,
            &[("PGPORT", "99999")],
            "invalid port number: \"99999\" (from PGPORT)",
        ),
        (
            Some("host=a,b,c port=1,2"),
            &[],
            "could not match 2 port numbers to 3 hosts",
        ),
        (
            Some("host=a,b hostaddr=127.0.0.1"),
            &[],
            "could not match 2 host names to 1 hostaddr values",
        ),
        (
            Some("hostaddr=db.example"),
            &[],
            "invalid hostaddr \"db.example\" (from the connection string)",
        ),
        (
            None,
            &[("PGSSLMODE", "on")],
            "invalid sslmode value: \"on\"",
        ),
        (None, &[("PGSSLMODE", "on")], "(from PGSSLMODE)"),
        (
            Some("target_session_attrs=primary"),
            &[],
            "target_session_attrs \"primary\" (from the connection string) is not supported",
        ),
        (
            None,
            &[("PGTARGETSESSIONATTRS", "bogus")],
            "invalid target_session_attrs value: \"bogus\" (from PGTARGETSESSIONATTRS)",
        ),
        (
            Some("nonsense=1"),
            &[],
            "invalid connection string: invalid connection option \"nonsense\" at offset 0",
        ),
    ];
    for (ci, env, want) in cases {
        let err = res(*ci, env).unwrap_err().to_string();
        assert!(
            err.contains(want),
            "{ci:?} {env:?}: got {err:?}, want {want:?}"
        );
    }
}

#[test]
fn unsupported_parameters_warn() {
    let s = ok(Some("gssencmode=disable"), &[]);
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].contains("\"gssencmode\" (from the connection string) is not supported"));
}

#[test]
fn password_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join(".pgpass");
    std::fs::write(
        &pgpass,
        "localhost:5432:*:osuser:from-file\nh:5432:*:*:file-h\n",
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let home = Some(dir.path());
    let r =
        |ci: Option<&str>, env: &[(&str, &str)]| resolve_with(ci, &env, home, &defaults()).unwrap();

    let s = r(Some("password=from-ci"), &[("PGPASSWORD", "from-env")]);
    assert_eq!(
        (s.password(), s.password_source.clone()),
        (Some("from-ci"), Some(Source::Conninfo))
    );

    let s = r(None, &[("PGPASSWORD", "from-env")]);
    assert_eq!(
        (s.password(), s.password_source.clone()),
        (Some("from-env"), Some(Source::Env("PGPASSWORD")))
    );

    // Unix socket → matched as localhost.
    let s = r(None, &[]);
    assert_eq!(s.password(), Some("from-file"));
    assert_eq!(s.password_source, Some(Source::PassFile(pgpass.clone())));

    // Matched against the final host/port/db/user.
    let s = r(Some("host=h user=other dbname=x"), &[]);
    assert_eq!(s.password(), Some("file-h"));
    let s = r(Some("host=h port=5433"), &[]);
    assert_eq!(s.password(), None);
    let s = r(Some("host=nothere"), &[]);
    assert_eq!(s.password(), None);

    // An empty password counts as none.
    let s = r(Some("password=''"), &[]);
    assert_eq!(s.password(), Some("from-file"));

    // PGPASSFILE and passfile= move the file.
    let other = dir.path().join("other");
    std::fs::write(&other, "*:*:*:*:other-file\n").unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = r(None, &[("PGPASSFILE", other.to_str().unwrap())]);
    assert_eq!(s.password(), Some("other-file"));
    let s = r(Some(&format!("passfile={}", other.display())), &[]);
    assert_eq!(s.password(), Some("other-file"));
    assert_eq!(s.passfile.as_deref(), Some(other.as_path()));

    // The second host of a list can be the one that matches.
    let s = r(Some("host=nothere,h"), &[]);
    assert_eq!(s.password(), Some("file-h"));
}

#[test]
fn insecure_pgpass_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join(".pgpass");
    std::fs::write(&pgpass, "*:*:*:*:secret\n").unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = resolve_with(Some("host=a,b"), &EmptyEnv, Some(dir.path()), &defaults()).unwrap();
    assert_eq!(s.password(), None);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0]
        .contains("has group or world access; permissions should be u=rw (0600) or less"));
}

#[test]
fn service_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let user_file = dir.path().join(".pg_service.conf");
    std::fs::write(
        &user_file,
        "[shop]\nhost=svchost\nport=6543\ndbname=svcdb\nuser=svcuser\npassword=svc-pw\napplication_name=svcapp\n",
    )
    .unwrap();
    let sysdir = dir.path().join("etc");
    std::fs::create_dir(&sysdir).unwrap();
    std::fs::write(sysdir.join("pg_service.conf"), "[sys]\nhost=syshost\n").unwrap();
    let home = Some(dir.path());
    let sys = sysdir.to_str().unwrap();
    let r = |ci: Option<&str>, env: &[(&str, &str)]| resolve_with(ci, &env, home, &defaults());

    // service= in the conninfo: the service beats the environment…
    let s = r(
        Some("service=shop"),
        &[
            ("PGSYSCONFDIR", sys),
            ("PGHOST", "envhost"),
            ("PGPASSWORD", "env-pw"),
        ],
    )
    .unwrap();
    assert_eq!(s.endpoints, vec![tcp("svchost", 6543)]);
    assert_eq!(
        (
            s.user.as_str(),
            s.dbname.as_str(),
            s.application_name.as_str()
        ),
        ("svcuser", "svcdb", "svcapp")
    );
    assert_eq!(s.password(), Some("svc-pw"));
    assert_eq!(
        s.password_source,
        Some(Source::Service {
            name: "shop".into(),
            file: user_file.clone()
        })
    );
    // …and the conninfo beats the service.
    let s = r(
        Some("service=shop host=cihost dbname=cidb"),
        &[("PGSYSCONFDIR", sys)],
    )
    .unwrap();
    assert_eq!(s.endpoints, vec![tcp("cihost", 6543)]);
    assert_eq!(s.dbname, "cidb");
    // PGSERVICE names it too; the system file is searched after the user's.
    let s = r(
        None,
        &[("PGSERVICE", "sys"), ("PGSYSCONFDIR", sys), ("PGPORT", "7")],
    )
    .unwrap();
    assert_eq!(s.endpoints, vec![tcp("syshost", 7)]);
    // The conninfo's service beats PGSERVICE.
    let s = r(
        Some("service=shop"),
        &[("PGSERVICE", "sys"), ("PGSYSCONFDIR", sys)],
    )
    .unwrap();
    assert_eq!(s.endpoints, vec![tcp("svchost", 6543)]);
    // PGSERVICEFILE replaces ~/.pg_service.conf.
    let custom = dir.path().join("custom.conf");
    std::fs::write(&custom, "[c]\nhost=customhost\n").unwrap();
    let s = r(
        None,
        &[
            ("PGSERVICE", "c"),
            ("PGSERVICEFILE", custom.to_str().unwrap()),
            ("PGSYSCONFDIR", sys),
        ],
    )
    .unwrap();
    assert_eq!(s.endpoints, vec![tcp("customhost", 5432)]);

    // An unknown service names itself and every file searched.
    let err = r(Some("service=nope"), &[("PGSYSCONFDIR", sys)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("definition of service \"nope\" not found"),
        "{err}"
    );
    assert!(err.contains(user_file.to_str().unwrap()), "{err}");
    assert!(
        err.contains(&sysdir.join("pg_service.conf").display().to_string()),
        "{err}"
    );
}

#[test]
fn display_and_debug_redact_the_password() {
    let s = ok(
        Some("postgresql://alice:hunter2@db.example:6543/shop?sslmode=require&application_name=x"),
        &[],
    );
    let shown = s.to_string();
    assert_eq!(
        shown,
        "host=db.example port=6543 user=alice dbname=shop password=******** sslmode=require application_name=x"
    );
    let dbg = format!("{s:?}");
    let pretty = format!("{s:#?}");
    for text in [&shown, &dbg, &pretty] {
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("********"), "{text}");
    }
    // tokio-postgres' own Debug also redacts, but check ours does not leak through it either.
    let s = ok(None, &[("PGPASSWORD", "hunter2")]);
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!(!s.to_string().contains("hunter2"));
    let s = ok(Some("user='a b' dbname=x"), &[]);
    assert_eq!(s.to_string(), "host=/var/run/postgresql port=5432 user='a b' dbname=x sslmode=prefer application_name=pgdiag");
}

#[test]
fn errors_never_contain_the_password() {
    let cases: &[(Option<&str>, Vars)] = &[
        (Some("postgresql://u:hunter2@h:hunter2/db"), &[]),
        (Some("password=hunter2 port=hunter2"), &[]),
        (Some("password=hunter2 bogus=1"), &[]),
        (Some("postgresql://u:hunt/er2@h/db"), &[]),
        (
            Some("host=hunter2,b port=1,2,3"),
            &[("PGPASSWORD", "hunter2")],
        ),
        (None, &[("PGPASSWORD", "hunter2"), ("PGPORT", "hunter2")]),
        (None, &[("PGPASSWORD", "hunter2"), ("PGSSLMODE", "hunter2")]),
        (
            None,
            &[("PGPASSWORD", "hunter2"), ("PGCONNECT_TIMEOUT", "hunter2")],
        ),
    ];
    for (ci, env) in cases {
        let err = res(*ci, env).unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("hunt/er2"),
            "{ci:?} {env:?}: {text}"
        );
    }
}

#[test]
fn tokio_config_mapping() {
    let s = ok(
        Some("host=db port=6000 user=u dbname=d password=pw sslmode=verify-full sslrootcert=/nonexistent options='-c a=b' connect_timeout=5 target_session_attrs=read-only"),
        &[],
    );
    let c = s.to_config();
    assert_eq!(c.get_user(), Some("u"));
    assert_eq!(c.get_dbname(), Some("d"));
    assert_eq!(c.get_password(), Some(&b"pw"[..]));
    assert_eq!(c.get_application_name(), Some("pgdiag"));
    assert_eq!(c.get_options(), Some("-c a=b"));
    assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(5)));
    assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    assert_eq!(c.get_target_session_attrs(), TargetSessionAttrs::ReadOnly);
    assert_eq!(
        c.get_hosts(),
        &[tokio_postgres::config::Host::Tcp("db".into())]
    );
    assert_eq!(s.ssl_mode(), SslMode::VerifyFull);
    // Unix sockets never try TLS, whatever the sslmode.
    let s = ok(Some("host=/tmp sslmode=require"), &[]);
    let c = s.endpoint_config(&s.endpoints[0]);
    assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn connect_error_is_one_line_with_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    // Nobody listens on this socket.
    let s = ok(
        Some(&format!(
            "host={} port=5999 password=hunter2",
            dir.path().display()
        )),
        &[],
    );
    let err = rt()
        .block_on(connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    let want = format!(
        "cannot connect to host \"{}\" port 5999 (socket \"{}/.s.PGSQL.5999\"): ",
        dir.path().display(),
        dir.path().display()
    );
    assert!(err.starts_with(&want), "{err}");
    assert!(!err.contains('\n') && !err.contains("hunter2"), "{err}");

    // A TCP port nobody listens on (bound, then closed).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = ok(
        Some(&format!(
            "host=127.0.0.1 port={port} sslmode=disable password=hunter2"
        )),
        &[],
    );
    let err = rt()
        .block_on(connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "cannot connect to host \"127.0.0.1\" port {port}: "
        )),
        "{err}"
    );
    assert!(!err.contains('\n') && !err.contains("hunter2"), "{err}");

    // Two hosts: both failures reported, in order.
    let s = ok(
        Some(&format!(
            "host=127.0.0.1,{} port={port},5999",
            dir.path().display()
        )),
        &[],
    );
    let err = rt()
        .block_on(connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    let first = err.find("host \"127.0.0.1\"").unwrap();
    let second = err
        .find(&format!("host \"{}\"", dir.path().display()))
        .unwrap();
    assert!(first < second, "{err}");
}

#[test]
fn connect_timeout_is_honoured() {
    // A server that accepts and then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let s = ok(
        Some(&format!(
            "host=127.0.0.1 port={port} connect_timeout=1 sslmode=disable"
        )),
        &[],
    );
    let started = std::time::Instant::now();
    let err = rt()
        .block_on(connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert_eq!(
        err,
        format!("cannot connect to host \"127.0.0.1\" port {port}: timeout expired after 2 s")
    );
    drop(listener);
}

#[test]
fn tls_setup_errors_come_before_connecting() {
    let s = ok(
        Some("host=db.invalid sslmode=verify-full sslrootcert=/nonexistent/root.crt"),
        &[],
    );
    let err = rt()
        .block_on(connect(&s))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("root certificate file \"/nonexistent/root.crt\" does not exist"),
        "{err}"
    );
}

#[test]
fn redact_rules() {
    let secrets = vec![
        "ab".to_string(),
        "hunter2".to_string(),
        "hunter2-long".to_string(),
    ];
    assert_eq!(
        redact("x hunter2-long y hunter2 ab", &secrets),
        "x ******** y ******** ab"
    );
    let e = ConnError::Connect("bad hunter2".into()).redact(&secrets);
    assert_eq!(e.to_string(), "bad ********");
}

#[test]
fn make_tls_follows_sslmode() {
    assert!(ok(Some("sslmode=disable"), &[])
        .make_tls()
        .unwrap()
        .is_none());
    assert!(ok(Some("sslmode=require"), &[])
        .make_tls()
        .unwrap()
        .is_some());
}

#[test]
fn mixed_hostaddr_config() {
    let s = ok(Some("host=a,b hostaddr=127.0.0.1,"), &[]);
    assert_eq!(s.endpoints[0].hostaddr, Some("127.0.0.1".parse().unwrap()));
    assert_eq!(s.endpoints[1].hostaddr, None);
    assert!(s.to_config().get_hostaddrs().is_empty());
    let s = ok(Some("host=a,b hostaddr=127.0.0.1,::1"), &[]);
    assert_eq!(s.to_config().get_hostaddrs().len(), 2);
    assert!(
        s.to_string()
            .starts_with("host=a,b hostaddr=127.0.0.1,::1 port=5432 "),
        "{s}"
    );
}

fn config_default(key: &str, value: &str, line: usize) -> ConfigDefault {
    ConfigDefault {
        key: key.into(),
        value: value.into(),
        at: format!("pgdiag.toml:{line}"),
    }
}

#[test]
fn config_defaults_rank_below_conninfo_and_environment() {
    let config = [
        config_default("host", "cfg-host", 2),
        config_default("port", "6000", 3),
        config_default("dbname", "cfg-db", 4),
        config_default("user", "cfg-user", 5),
    ];
    let env: Vars = &[("PGPORT", "7000")];
    let s = resolve_inner(Some("dbname=cli-db"), &env, no_home(), &defaults(), &config).unwrap();
    assert_eq!(s.endpoints, vec![tcp("cfg-host", 7000)]);
    assert_eq!((s.user.as_str(), s.dbname.as_str()), ("cfg-user", "cli-db"));

    // Without them, the configuration's values; without it, libpq's defaults.
    let s = resolve_inner(None, &EmptyEnv, no_home(), &defaults(), &config).unwrap();
    assert_eq!(s.endpoints, vec![tcp("cfg-host", 6000)]);
    let s = resolve_inner(None, &EmptyEnv, no_home(), &defaults(), &[]).unwrap();
    assert_eq!(s.endpoints, vec![unix("/var/run/postgresql", 5432)]);
}

#[test]
fn a_bad_config_default_says_where_it_is() {
    let config = [config_default("target_session_attrs", "sideways", 7)];
    let e = resolve_inner(None, &EmptyEnv, no_home(), &defaults(), &config).unwrap_err();
    assert!(e.to_string().contains("(from pgdiag.toml:7)"), "{e}");
}
