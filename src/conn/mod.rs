//! Connecting to PostgreSQL the way psql does.
//!
//! [`resolve`] turns a positional connection argument (URI, `key=value` string or database
//! name), the PG* environment, the service file and the password file into [`ConnSettings`],
//! with libpq's precedence:
//!
//! 1. the connection string;
//! 2. the service named by `service=` or `PGSERVICE` (`pg_service.conf`);
//! 3. the PG* environment variables;
//! 4. defaults: the first existing Unix-socket directory of `/var/run/postgresql` and `/tmp`
//!    (else `localhost`), port 5432, the OS user, a database named like the user, and
//!    `application_name=pgdiag`.
//!
//! The password comes from the connection string, the service, `PGPASSWORD`, and last the
//! password file (`passfile`, `PGPASSFILE` or `~/.pgpass`) matched against the final host,
//! port, database and user. It is never shown: `Debug` and `Display` print `********`, and
//! error messages never contain it.
//!
//! [`connect`] then opens the session, one host after the other, with `connect_timeout`
//! honoured and errors rewritten into one line saying what failed and where.

pub mod conninfo;
pub mod env;
pub mod pgpass;
pub mod service;
pub mod tls;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_postgres::config::TargetSessionAttrs;
use tokio_postgres::{Client, NoTls};

pub use conninfo::Params;
pub use env::{EmptyEnv, Env, FnEnv, ProcessEnv};
pub use tls::{SslMode, TlsSettings};

/// What is shown instead of a password.
pub const REDACTED: &str = "********";

/// The default port.
pub const DEFAULT_PORT: u16 = 5432;

/// The default `application_name`.
pub const DEFAULT_APPLICATION_NAME: &str = "pgdiag";

/// The Unix-socket directories tried when no host is given, in order.
pub const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// Why connection settings could not be built or a connection could not be opened. Messages
/// are one line and never contain the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnError {
    /// The connection string is malformed.
    #[error("invalid connection string: {0}")]
    Conninfo(String),
    /// The service file is missing the service or is malformed.
    #[error("{0}")]
    Service(String),
    /// A parameter has a bad value.
    #[error("{0}")]
    Config(String),
    /// TLS could not be set up.
    #[error("{0}")]
    Tls(String),
    /// The server could not be reached or refused the session.
    #[error("{0}")]
    Connect(String),
}

impl ConnError {
    fn map_message(self, f: impl Fn(String) -> String) -> Self {
        match self {
            ConnError::Conninfo(m) => ConnError::Conninfo(f(m)),
            ConnError::Service(m) => ConnError::Service(f(m)),
            ConnError::Config(m) => ConnError::Config(f(m)),
            ConnError::Tls(m) => ConnError::Tls(f(m)),
            ConnError::Connect(m) => ConnError::Connect(f(m)),
        }
    }

    /// Replaces every occurrence of each secret by [`REDACTED`].
    fn redact(self, secrets: &[String]) -> Self {
        self.map_message(|m| redact(&m, secrets))
    }
}

/// Secrets shorter than this are not searched for: a one- or two-letter password occurs in
/// any sentence, and replacing it would garble the message without hiding anything.
const MIN_REDACT_LEN: usize = 3;

fn redact(msg: &str, secrets: &[String]) -> String {
    let mut out = msg.to_string();
    let mut secrets: Vec<&String> = secrets
        .iter()
        .filter(|s| s.len() >= MIN_REDACT_LEN)
        .collect();
    // Longest first, so that a password containing another one is hidden whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        out = out.replace(s.as_str(), REDACTED);
    }
    out
}

/// Where a setting came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The connection string given on the command line.
    Conninfo,
    /// A service of a service file.
    Service { name: String, file: PathBuf },
    /// An environment variable.
    Env(&'static str),
    /// The password file.
    PassFile(PathBuf),
    /// A connection default of the configuration file, as `path:line`.
    ConfigFile(String),
    /// A built-in default.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Conninfo => f.write_str("the connection string"),
            Source::Service { name, file } => {
                write!(f, "service \"{name}\" in \"{}\"", file.display())
            }
            Source::Env(var) => f.write_str(var),
            Source::PassFile(p) => write!(f, "the password file \"{}\"", p.display()),
            Source::ConfigFile(at) => f.write_str(at),
            Source::Default => f.write_str("the default"),
        }
    }
}

/// A password that never shows itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    /// The password itself. Use only to hand it to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A host to connect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name or IP address.
    Tcp(String),
    /// A directory holding the server's Unix socket.
    Unix(PathBuf),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Tcp(h) => f.write_str(h),
            Host::Unix(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One place to try: a host, its numeric address if given (`hostaddr`), and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Host,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
}

impl Endpoint {
    /// Says where, for messages: `host "db" port 5432`, with the socket path or address.
    pub fn describe(&self) -> String {
        match (&self.host, self.hostaddr) {
            (Host::Unix(dir), _) => format!(
                "host \"{}\" port {} (socket \"{}\")",
                dir.display(),
                self.port,
                dir.join(format!(".s.PGSQL.{}", self.port)).display()
            ),
            (Host::Tcp(h), Some(a)) if h != &a.to_string() => {
                format!("host \"{h}\" (address {a}) port {}", self.port)
            }
            (Host::Tcp(h), _) => format!("host \"{h}\" port {}", self.port),
        }
    }

    fn is_unix(&self) -> bool {
        matches!(self.host, Host::Unix(_))
    }
}

/// Everything needed to connect. `Debug` and `Display` never show the password.
#[derive(Clone)]
pub struct ConnSettings {
    /// Tried in order; the first that accepts the session wins.
    pub endpoints: Vec<Endpoint>,
    pub user: String,
    pub dbname: String,
    password: Option<Password>,
    /// Where the password came from, if there is one.
    pub password_source: Option<Source>,
    /// The password file consulted (whether or not it gave a password).
    pub passfile: Option<PathBuf>,
    pub application_name: String,
    /// `options` (command-line options sent to the server, e.g. `-c work_mem=64MB`).
    pub options: Option<String>,
    /// `None` means wait forever.
    pub connect_timeout: Option<Duration>,
    pub target_session_attrs: TargetSessionAttrs,
    pub tls: TlsSettings,
    /// Warnings for the user (insecure password file, ignored parameters), one line each.
    /// The caller should print them on stderr, as libpq does.
    pub warnings: Vec<String>,
}

impl ConnSettings {
    /// The password, if any. Use only to hand it to the server.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(Password::expose)
    }

    /// The `tokio_postgres::Config` for all endpoints (tokio-postgres then tries them in order).
    /// [`connect`] uses [`ConnSettings::endpoint_config`] instead, to report each host's error.
    pub fn to_config(&self) -> tokio_postgres::Config {
        // tokio-postgres wants as many hostaddrs as hosts, or none: with a mix, leave them out.
        let mixed = self.endpoints.iter().any(|e| e.hostaddr.is_some())
            && self.endpoints.iter().any(|e| e.hostaddr.is_none());
        let mut c = self.base_config();
        for e in &self.endpoints {
            match mixed {
                true => add_endpoint(
                    &mut c,
                    &Endpoint {
                        hostaddr: None,
                        ..e.clone()
                    },
                ),
                false => add_endpoint(&mut c, e),
            }
        }
        c
    }

    /// The TLS connector to hand tokio-postgres, or `None` for `sslmode=disable` (use `NoTls`).
    pub fn make_tls(&self) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, ConnError> {
        Ok(self
            .tls
            .client_config()?
            .map(tokio_postgres_rustls::MakeRustlsConnect::new))
    }

    /// The `tokio_postgres::Config` for one endpoint. Unix sockets never use TLS (as in libpq).
    pub fn endpoint_config(&self, e: &Endpoint) -> tokio_postgres::Config {
        let mut c = self.base_config();
        add_endpoint(&mut c, e);
        if e.is_unix() {
            c.ssl_mode(tokio_postgres::config::SslMode::Disable);
        }
        c
    }

    /// The TLS mode in force.
    pub fn ssl_mode(&self) -> SslMode {
        self.tls.mode
    }

    fn base_config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .ssl_mode(self.tls.mode.to_tokio())
            .target_session_attrs(self.target_session_attrs);
        if let Some(p) = &self.password {
            c.password(p.expose());
        }
        if let Some(o) = &self.options {
            c.options(o);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        c
    }
}

fn add_endpoint(c: &mut tokio_postgres::Config, e: &Endpoint) {
    match &e.host {
        Host::Tcp(h) => c.host(h),
        Host::Unix(p) => c.host_path(p),
    };
    if let Some(a) = e.hostaddr {
        c.hostaddr(a);
    }
    c.port(e.port);
}

fn tsa_str(t: TargetSessionAttrs) -> &'static str {
    match t {
        TargetSessionAttrs::ReadWrite => "read-write",
        TargetSessionAttrs::ReadOnly => "read-only",
        _ => "any",
    }
}

/// A conninfo-like line: `host=/tmp port=5432 user=u dbname=d password=******** sslmode=prefer …`.
impl fmt::Display for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self.endpoints.iter().map(|e| e.host.to_string()).collect();
        let mut ports: Vec<String> = self.endpoints.iter().map(|e| e.port.to_string()).collect();
        if ports.windows(2).all(|w| w[0] == w[1]) {
            ports.truncate(1);
        }
        write!(f, "host={} ", quote(&hosts.join(",")))?;
        if self.endpoints.iter().any(|e| e.hostaddr.is_some()) {
            let addrs: Vec<String> = self
                .endpoints
                .iter()
                .map(|e| e.hostaddr.map(|a| a.to_string()).unwrap_or_default())
                .collect();
            write!(f, "hostaddr={} ", quote(&addrs.join(",")))?;
        }
        write!(
            f,
            "port={} user={} dbname={}",
            ports.join(","),
            quote(&self.user),
            quote(&self.dbname)
        )?;
        if self.password.is_some() {
            write!(f, " password={REDACTED}")?;
        }
        write!(f, " sslmode={}", self.tls.mode)?;
        write!(f, " application_name={}", quote(&self.application_name))?;
        if let Some(t) = self.connect_timeout {
            write!(f, " connect_timeout={}", t.as_secs())?;
        }
        if let Some(o) = &self.options {
            write!(f, " options={}", quote(o))?;
        }
        if self.target_session_attrs != TargetSessionAttrs::Any {
            write!(
                f,
                " target_session_attrs={}",
                tsa_str(self.target_session_attrs)
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnSettings")
            .field("endpoints", &self.endpoints)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("password", &self.password.as_ref().map(|_| REDACTED))
            .field("password_source", &self.password_source)
            .field("passfile", &self.passfile)
            .field("application_name", &self.application_name)
            .field("options", &self.options)
            .field("connect_timeout", &self.connect_timeout)
            .field("target_session_attrs", &self.target_session_attrs)
            .field("tls", &self.tls)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Quotes a value for a conninfo string when needed.
fn quote(v: &str) -> String {
    if !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
    {
        return v.to_string();
    }
    let mut s = String::from("'");
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// Facts about the machine used for defaults; injectable for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// The OS user name (libpq's default user).
    pub os_user: Option<String>,
    /// Unix-socket directories that exist, in order of preference.
    pub socket_dirs: Vec<PathBuf>,
}

impl Defaults {
    /// This machine: the OS user, and those of [`DEFAULT_SOCKET_DIRS`] that exist.
    pub fn system() -> Self {
        Defaults {
            os_user: whoami::username().ok().filter(|u| !u.is_empty()),
            socket_dirs: DEFAULT_SOCKET_DIRS
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.is_dir())
                .collect(),
        }
    }
}

/// Parameters the resolver honours; others are accepted but ignored with a warning.
const HONOURED: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "connect_timeout",
    "options",
    "application_name",
    "fallback_application_name",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "service",
    "target_session_attrs",
];

/// The merged parameters with where each came from.
#[derive(Default)]
struct Merged {
    entries: Vec<(String, String, Source)>,
}

impl Merged {
    fn add_if_unset(&mut self, key: &str, value: &str, source: Source) {
        if value.is_empty() || self.get(key).is_some() {
            return;
        }
        self.entries
            .push((key.to_string(), value.to_string(), source));
    }
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }
    fn source(&self, key: &str) -> Option<&Source> {
        self.entries
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, s)| s)
    }
    /// " (from PGPORT)" and the like, for messages.
    fn from(&self, key: &str) -> String {
        match self.source(key) {
            Some(s) => format!(" (from {s})"),
            None => String::new(),
        }
    }
}

/// Resolves the connection settings on this machine. `conninfo` is the positional argument;
/// `env` gives the PG* variables; `home` is the user's home directory (for `~/.pgpass`,
/// `~/.pg_service.conf` and `~/.postgresql/`).
pub fn resolve(
    conninfo: Option<&str>,
    env: &dyn Env,
    home: Option<&Path>,
) -> Result<ConnSettings, ConnError> {
    resolve_with(conninfo, env, home, &Defaults::system())
}

/// A connection default from the configuration file: used only where the connection string,
/// the service and the PG* variables say nothing (below them, as libpq ranks its sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigDefault {
    pub key: String,
    pub value: String,
    /// `path:line`, for messages.
    pub at: String,
}

/// [`resolve`] with the configuration file's connection defaults under the environment.
pub fn resolve_with_config(
    conninfo: Option<&str>,
    env: &dyn Env,
    home: Option<&Path>,
    config: &[ConfigDefault],
) -> Result<ConnSettings, ConnError> {
    resolve_inner(conninfo, env, home, &Defaults::system(), config)
}

/// [`resolve`] with the machine's defaults given explicitly.
pub fn resolve_with(
    conninfo: Option<&str>,
    env: &dyn Env,
    home: Option<&Path>,
    defaults: &Defaults,
) -> Result<ConnSettings, ConnError> {
    resolve_inner(conninfo, env, home, defaults, &[])
}

fn resolve_inner(
    conninfo: Option<&str>,
    env: &dyn Env,
    home: Option<&Path>,
    defaults: &Defaults,
    config: &[ConfigDefault],
) -> Result<ConnSettings, ConnError> {
    let mut secrets: Vec<String> = Vec::new();
    if let Some(p) = env::non_empty(env, "PGPASSWORD") {
        secrets.push(p);
    }
    let given = match conninfo {
        Some(s) => conninfo::parse(s).map_err(|e| e.redact(&secrets))?,
        None => Params::new(),
    };
    if let Some(p) = given.get("password") {
        secrets.push(p.to_string());
    }
    resolve_params(&given, env, home, defaults, config, &mut secrets)
        .map_err(|e| e.redact(&secrets))
}

fn resolve_params(
    given: &Params,
    env: &dyn Env,
    home: Option<&Path>,
    defaults: &Defaults,
    config: &[ConfigDefault],
    secrets: &mut Vec<String>,
) -> Result<ConnSettings, ConnError> {
    let mut m = Merged::default();
    for (k, v) in given.iter() {
        m.add_if_unset(k, v, Source::Conninfo);
    }

    // The service: its settings come after the connection string, before the environment.
    let service_name = given
        .get("service")
        .map(str::to_string)
        .or_else(|| env::non_empty(env, "PGSERVICE"));
    if let Some(name) = service_name {
        let files = service::service_files(env, home);
        let (params, file) = service::lookup(&name, &files)?;
        if let Some(p) = params.get("password") {
            secrets.push(p.to_string());
        }
        for (k, v) in params.iter() {
            m.add_if_unset(
                k,
                v,
                Source::Service {
                    name: name.clone(),
                    file: file.clone(),
                },
            );
        }
    }

    for (param, value, var) in env::params_from_env(env) {
        if param != "service" {
            m.add_if_unset(param, &value, Source::Env(var));
        }
    }
    for d in config {
        m.add_if_unset(&d.key, &d.value, Source::ConfigFile(d.at.clone()));
    }

    let mut warnings = Vec::new();
    for (k, _, src) in &m.entries {
        if !HONOURED.contains(&k.as_str()) {
            warnings.push(format!(
                "WARNING: connection option \"{k}\" (from {src}) is not supported by pgdiag and is ignored"
            ));
        }
    }

    let endpoints = endpoints(&m, defaults)?;

    let user = match m.get("user") {
        Some(u) => u.to_string(),
        None => defaults.os_user.clone().ok_or_else(|| {
            ConnError::Config(
                "could not determine the user name: give user= in the connection string or set PGUSER"
                    .into(),
            )
        })?,
    };
    let dbname = m.get("dbname").unwrap_or(&user).to_string();
    let application_name = m
        .get("application_name")
        .or_else(|| m.get("fallback_application_name"))
        .unwrap_or(DEFAULT_APPLICATION_NAME)
        .to_string();

    let connect_timeout = match m.get("connect_timeout") {
        None => None,
        Some(s) => {
            let secs: i64 = s.trim().parse().map_err(|_| {
                ConnError::Config(format!(
                    "invalid integer value \"{s}\" for connection option \"connect_timeout\"{}",
                    m.from("connect_timeout")
                ))
            })?;
            // libpq: zero or negative waits forever; the minimum is 2 seconds.
            (secs > 0).then(|| Duration::from_secs(secs.max(2) as u64))
        }
    };

    let target_session_attrs = match m.get("target_session_attrs") {
        None | Some("any") => TargetSessionAttrs::Any,
        Some("read-write") => TargetSessionAttrs::ReadWrite,
        Some("read-only") => TargetSessionAttrs::ReadOnly,
        Some(v @ ("primary" | "standby" | "prefer-standby")) => {
            return Err(ConnError::Config(format!(
                "target_session_attrs \"{v}\"{} is not supported by pgdiag (use any, read-write or read-only)",
                m.from("target_session_attrs")
            )))
        }
        Some(v) => {
            return Err(ConnError::Config(format!(
                "invalid target_session_attrs value: \"{v}\"{}",
                m.from("target_session_attrs")
            )))
        }
    };

    let tls = TlsSettings::new(
        m.get("sslmode"),
        m.get("sslrootcert"),
        m.get("sslcert"),
        m.get("sslkey"),
        home,
    )
    .map_err(|e| match m.source("sslmode") {
        Some(_) => e.map_message(|msg| format!("{msg}{}", m.from("sslmode"))),
        None => e,
    })?;

    // The password: connection string, service, PGPASSWORD (all merged above), then the file.
    let passfile = pgpass::default_path(m.get("passfile"), home);
    let (password, password_source) = match m.get("password") {
        Some(p) => (Some(Password::new(p)), m.source("password").cloned()),
        None => {
            let mut found = (None, None);
            if let Some(path) = &passfile {
                for e in &endpoints {
                    let host = match &e.host {
                        Host::Tcp(h) => h.clone(),
                        Host::Unix(p) => p.display().to_string(),
                    };
                    let target = pgpass::Target {
                        host: &host,
                        port: e.port,
                        dbname: &dbname,
                        user: &user,
                    };
                    let got = pgpass::lookup(path, &target);
                    for w in got.warnings {
                        if !warnings.contains(&w) {
                            warnings.push(w);
                        }
                    }
                    if let Some(p) = got.password {
                        found = (Some(Password::new(p)), Some(Source::PassFile(path.clone())));
                        break;
                    }
                }
            }
            found
        }
    };

    Ok(ConnSettings {
        endpoints,
        user,
        dbname,
        password,
        password_source,
        passfile,
        application_name,
        options: m.get("options").map(str::to_string),
        connect_timeout,
        target_session_attrs,
        tls,
        warnings,
    })
}

/// Hosts, addresses and ports, matched up as libpq does.
fn endpoints(m: &Merged, defaults: &Defaults) -> Result<Vec<Endpoint>, ConnError> {
    let default_host = || match defaults.socket_dirs.first() {
        Some(d) => Host::Unix(d.clone()),
        None => Host::Tcp("localhost".into()),
    };
    let to_host = |h: &str| {
        if h.is_empty() {
            default_host()
        } else if h.starts_with('/') {
            Host::Unix(PathBuf::from(h))
        } else {
            Host::Tcp(h.to_string())
        }
    };
    let addrs: Vec<Option<IpAddr>> = match m.get("hostaddr") {
        None => Vec::new(),
        Some(list) => list
            .split(',')
            .map(|a| {
                if a.is_empty() {
                    return Ok(None);
                }
                a.trim().parse::<IpAddr>().map(Some).map_err(|_| {
                    ConnError::Config(format!(
                        "invalid hostaddr \"{a}\"{}: it must be a numeric IP address",
                        m.from("hostaddr")
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
    };
    let hosts: Vec<Host> = match m.get("host") {
        Some(list) => list.split(',').map(to_host).collect(),
        None if !addrs.is_empty() => addrs
            .iter()
            .map(|a| {
                a.map(|a| Host::Tcp(a.to_string()))
                    .unwrap_or_else(default_host)
            })
            .collect(),
        None => vec![default_host()],
    };
    if !addrs.is_empty() && addrs.len() != hosts.len() {
        return Err(ConnError::Config(format!(
            "could not match {} host names to {} hostaddr values",
            hosts.len(),
            addrs.len()
        )));
    }
    let ports: Vec<u16> = match m.get("port") {
        None => vec![DEFAULT_PORT],
        Some(list) => list
            .split(',')
            .map(|p| {
                let p = p.trim();
                if p.is_empty() {
                    return Ok(DEFAULT_PORT);
                }
                match p.parse::<u16>() {
                    Ok(n) if n > 0 => Ok(n),
                    _ => Err(ConnError::Config(format!(
                        "invalid port number: \"{p}\"{}",
                        m.from("port")
                    ))),
                }
            })
            .collect::<Result<_, _>>()?,
    };
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(ConnError::Config(format!(
            "could not match {} port numbers to {} hosts",
            ports.len(),
            hosts.len()
        )));
    }
    Ok(hosts
        .into_iter()
        .enumerate()
        .map(|(i, host)| Endpoint {
            host,
            hostaddr: addrs.get(i).copied().flatten(),
            port: if ports.len() == 1 { ports[0] } else { ports[i] },
        })
        .collect())
}

/// The task that drives a connection; it ends when the client is dropped or the server goes.
pub type ConnectionTask = tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>;

/// Opens a session: tries each endpoint in turn and returns the first that works, with the
/// connection driven by a spawned task. `connect_timeout` bounds each attempt. On failure the
/// error is one line per endpoint, such as
/// `cannot connect to host "db" port 5432: connection refused`, and never shows the password.
pub async fn connect(s: &ConnSettings) -> Result<(Client, ConnectionTask), ConnError> {
    let secrets: Vec<String> = s
        .password()
        .map(|p| vec![p.to_string()])
        .unwrap_or_default();
    let tls = s.tls.client_config().map_err(|e| e.redact(&secrets))?;
    let mut failures = Vec::new();
    for e in &s.endpoints {
        let config = s.endpoint_config(e);
        let attempt = connect_one(config, e.is_unix(), tls.clone());
        let result = match s.connect_timeout {
            Some(t) => match tokio::time::timeout(t, attempt).await {
                Ok(r) => r,
                Err(_) => Err(format!("timeout expired after {} s", t.as_secs())),
            },
            None => attempt.await,
        };
        match result {
            Ok(ok) => return Ok(ok),
            Err(why) => {
                let mut msg = format!("cannot connect to {}: {why}", e.describe());
                if let Some(hint) = password_hint(s, &why) {
                    msg.push_str(&hint);
                }
                failures.push(msg);
            }
        }
    }
    Err(ConnError::Connect(redact(&failures.join("; "), &secrets)))
}

async fn connect_one(
    config: tokio_postgres::Config,
    unix: bool,
    tls: Option<rustls::ClientConfig>,
) -> Result<(Client, ConnectionTask), String> {
    match tls {
        Some(c) if !unix => {
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(c);
            let (client, conn) = config
                .connect(connector)
                .await
                .map_err(|e| describe_error(&e))?;
            Ok((client, tokio::spawn(conn)))
        }
        _ => {
            let (client, conn) = config
                .connect(NoTls)
                .await
                .map_err(|e| describe_error(&e))?;
            Ok((client, tokio::spawn(conn)))
        }
    }
}

/// One line from a tokio-postgres error: the server's `FATAL: message` when there is one,
/// else the error and its causes.
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    let text = match e.as_db_error() {
        Some(db) => {
            let mut t = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                t.push_str(&format!(" DETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                t.push_str(&format!(" HINT: {h}"));
            }
            t
        }
        None => {
            let mut t = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                let st = s.to_string();
                if !t.contains(&st) {
                    t.push_str(": ");
                    t.push_str(&st);
                }
                src = s.source();
            }
            t
        }
    };
    one_line(&text)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// After an authentication failure, say where the password came from (never what it is);
/// after a certificate failure, which sslmode and roots were in force.
fn password_hint(s: &ConnSettings, why: &str) -> Option<String> {
    if why.contains("invalid peer certificate") {
        let roots = match &s.tls.root_cert {
            tls::RootCert::System => "the system's trusted roots".to_string(),
            tls::RootCert::File { path, .. } => {
                format!("root certificate file \"{}\"", path.display())
            }
            tls::RootCert::Unset => "no root certificate".to_string(),
        };
        let mode = if s.tls.mode == s.tls.requested {
            s.tls.mode.to_string()
        } else {
            format!(
                "{}, treated as {} because a root certificate file exists",
                s.tls.requested, s.tls.mode
            )
        };
        return Some(format!(" (sslmode={mode}, {roots})"));
    }
    let auth_failed =
        why.contains("password authentication failed") || why.contains("authentication failed");
    if auth_failed {
        return s
            .password_source
            .as_ref()
            .map(|src| format!(" (password from {src})"));
    }
    if why.contains("password missing") {
        let file = s
            .passfile
            .as_ref()
            .map(|p| format!(", or add it to the password file \"{}\"", p.display()))
            .unwrap_or_default();
        return Some(format!(
            " (the server asked for a password: give password= in the connection string, set PGPASSWORD{file})"
        ));
    }
    None
}

#[cfg(test)]
mod tests;
