//! Parsing of a positional connection string, as psql accepts it: a `postgresql://` URI, a
//! `key=value` string, or a bare database name.
//!
//! Written from the libpq documentation ("Connection Strings", section 34.1.1). The result is an
//! ordered list of libpq parameters, still as strings: interpretation (ports, lists of hosts,
//! sslmode values) happens in `conn::resolve`.

use super::ConnError;

/// Every connection parameter keyword that libpq (PostgreSQL 17) accepts.
pub const KNOWN_KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslnegotiation",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslkeylogfile",
    "sslpassword",
    "sslcertmode",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "service",
    "target_session_attrs",
    "load_balance_hosts",
];

/// Whether `key` is a libpq connection parameter.
pub fn is_known_key(key: &str) -> bool {
    KNOWN_KEYS.contains(&key)
}

/// An ordered map of libpq parameters. Setting a key twice keeps its first position and the
/// last value, as libpq does for `host=a host=b`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(String, String)>,
}

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(e) => e.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// Sets `key` only if it has no non-empty value yet. Returns whether it was set.
    pub fn set_default(&mut self, key: &str, value: impl Into<String>) -> bool {
        if self.get(key).is_some() {
            return false;
        }
        self.set(key, value);
        true
    }

    /// The value of `key`, or `None` when it is unset or empty (libpq treats an empty value as
    /// "use the default").
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// The value of `key` even when empty.
    pub fn get_raw(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(i).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Never prints the password.
impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.entries {
            if k == "password" || k == "sslpassword" {
                m.entry(k, &super::REDACTED);
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

/// Parses a positional connection argument the way psql does: a URI when it starts with
/// `postgresql://` or `postgres://`, a `key=value` string when it contains `=`, and otherwise a
/// database name.
pub fn parse(s: &str) -> Result<Params, ConnError> {
    if s.trim().is_empty() {
        Ok(Params::new())
    } else if uri_prefix_len(s).is_some() {
        parse_uri(s)
    } else if s.contains('=') {
        parse_keyword_value(s)
    } else {
        let mut p = Params::new();
        p.set("dbname", s);
        Ok(p)
    }
}

fn uri_prefix_len(s: &str) -> Option<usize> {
    ["postgresql://", "postgres://"]
        .iter()
        .find(|p| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p))
        .map(|p| p.len())
}

/// Parses `key = value key2 = 'quoted \' value'`.
pub fn parse_keyword_value(s: &str) -> Result<Params, ConnError> {
    let bad = |msg: String| ConnError::Conninfo(msg);
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut i = 0;
    let mut out = Params::new();
    let n = chars.len();
    loop {
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        if i >= n {
            break;
        }
        let key_start = chars[i].0;
        let mut key = String::new();
        while i < n && chars[i].1 != '=' && !chars[i].1.is_whitespace() {
            key.push(chars[i].1);
            i += 1;
        }
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        if i >= n || chars[i].1 != '=' {
            return Err(bad(format!(
                "missing \"=\" after \"{key}\" at offset {key_start} of the connection string"
            )));
        }
        i += 1; // '='
        while i < n && chars[i].1.is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < n && chars[i].1 == '\'' {
            let quote_at = chars[i].0;
            i += 1;
            let mut closed = false;
            while i < n {
                match chars[i].1 {
                    '\\' if i + 1 < n => {
                        value.push(chars[i + 1].1);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(bad(format!(
                    "unterminated quoted string for \"{key}\" starting at offset {quote_at} of the connection string"
                )));
            }
        } else {
            while i < n && !chars[i].1.is_whitespace() {
                if chars[i].1 == '\\' && i + 1 < n {
                    value.push(chars[i + 1].1);
                    i += 2;
                } else {
                    value.push(chars[i].1);
                    i += 1;
                }
            }
        }
        if !is_known_key(&key) {
            return Err(bad(format!(
                "invalid connection option \"{key}\" at offset {key_start} of the connection string"
            )));
        }
        out.set(&key, value);
    }
    Ok(out)
}

/// Decodes `%XX` sequences. `what` names the part, for the error message.
fn percent_decode(s: &str, what: &str) -> Result<String, ConnError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(0) => {
                    return Err(ConnError::Conninfo(format!(
                        "forbidden value %00 in percent-encoded value in the {what} of the URI"
                    )))
                }
                Some(v) if hex.is_some_and(|h| h.bytes().all(|c| c.is_ascii_hexdigit())) => {
                    out.push(v);
                    i += 3;
                }
                _ => {
                    return Err(ConnError::Conninfo(format!(
                        "invalid percent-encoded token at offset {i} in the {what} of the URI"
                    )))
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        ConnError::Conninfo(format!(
            "percent-decoded {what} of the URI is not valid UTF-8"
        ))
    })
}

/// Parses `postgresql://[userspec@][hostspec][/dbname][?paramspec]`.
pub fn parse_uri(s: &str) -> Result<Params, ConnError> {
    let prefix = uri_prefix_len(s).ok_or_else(|| {
        ConnError::Conninfo("a URI must start with postgresql:// or postgres://".into())
    })?;
    let mut out = Params::new();
    let rest = &s[prefix..];
    // Split off the query first: '?' cannot appear unencoded elsewhere.
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    // userinfo ends at the last '@' of the authority (the authority ends at the first '/').
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let (userinfo, hostspec) = match authority.rfind('@') {
        Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
        None => (None, authority),
    };
    if userinfo.is_none() && path.contains('@') {
        // e.g. postgresql://user:pa/ss@host: the '/' ends the authority early, so the password
        // would be taken for a host and port. Refuse without echoing any of it.
        return Err(ConnError::Conninfo(
            "\"@\" after the first \"/\" of the URI: percent-encode \"/\" as %2F and \"@\" as %40 in the user name, password and database name".into(),
        ));
    }
    if let Some(ui) = userinfo {
        let (user, pass) = match ui.find(':') {
            Some(c) => (&ui[..c], Some(&ui[c + 1..])),
            None => (ui, None),
        };
        if !user.is_empty() {
            out.set("user", percent_decode(user, "user name")?);
        }
        if let Some(p) = pass {
            if !p.is_empty() {
                out.set("password", percent_decode(p, "password")?);
            }
        }
    }
    if !hostspec.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for (idx, spec) in hostspec.split(',').enumerate() {
            let (host, port) = if let Some(inner) = spec.strip_prefix('[') {
                let close = inner.find(']').ok_or_else(|| {
                    ConnError::Conninfo(format!(
                        "missing \"]\" in IPv6 host address of host number {} in the URI",
                        idx + 1
                    ))
                })?;
                let host = &inner[..close];
                if host.is_empty() {
                    return Err(ConnError::Conninfo(format!(
                        "IPv6 host address may not be empty (host number {} in the URI)",
                        idx + 1
                    )));
                }
                let after = &inner[close + 1..];
                let port = match after {
                    "" => "",
                    a => a.strip_prefix(':').ok_or_else(|| {
                        ConnError::Conninfo(format!(
                            "unexpected character \"{}\" after IPv6 host address of host number {} in the URI",
                            a.chars().next().unwrap_or(' '),
                            idx + 1
                        ))
                    })?,
                };
                (host, port)
            } else {
                match spec.rfind(':') {
                    Some(c) => (&spec[..c], &spec[c + 1..]),
                    None => (spec, ""),
                }
            };
            hosts.push(percent_decode(host, "host")?);
            ports.push(percent_decode(port, "port")?);
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            out.set("host", hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            out.set("port", ports.join(","));
        }
    }
    if let Some(db) = path.strip_prefix('/') {
        if !db.is_empty() {
            out.set("dbname", percent_decode(db, "database name")?);
        }
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                ConnError::Conninfo(format!(
                    "missing key/value separator \"=\" in URI query parameter: \"{pair}\""
                ))
            })?;
            let k = percent_decode(k, "query")?;
            let v = percent_decode(v, "query")?;
            // libpq accepts the JDBC-style ssl=true as sslmode=require.
            if k == "ssl" && v == "true" {
                out.set("sslmode", "require");
                continue;
            }
            if !is_known_key(&k) {
                return Err(ConnError::Conninfo(format!(
                    "invalid URI query parameter: \"{k}\""
                )));
            }
            out.set(&k, v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &Params) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ok(s: &str) -> Vec<(String, String)> {
        pairs(&parse(s).unwrap_or_else(|e| panic!("{s}: {e}")))
    }

    fn kv(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn uris() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("postgresql://", &[]),
            ("postgres://", &[]),
            ("postgresql://localhost", &[("host", "localhost")]),
            (
                "postgresql://localhost:5433",
                &[("host", "localhost"), ("port", "5433")],
            ),
            (
                "postgresql://localhost/mydb",
                &[("host", "localhost"), ("dbname", "mydb")],
            ),
            (
                "postgresql://user@localhost",
                &[("user", "user"), ("host", "localhost")],
            ),
            (
                "postgresql://user:secret@localhost",
                &[
                    ("user", "user"),
                    ("password", "secret"),
                    ("host", "localhost"),
                ],
            ),
            (
                "postgresql://user:pass@host1:5432,host2/db?sslmode=require&application_name=x",
                &[
                    ("user", "user"),
                    ("password", "pass"),
                    ("host", "host1,host2"),
                    ("port", "5432,"),
                    ("dbname", "db"),
                    ("sslmode", "require"),
                    ("application_name", "x"),
                ],
            ),
            (
                "postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
                &[
                    ("user", "other"),
                    ("host", "localhost"),
                    ("dbname", "otherdb"),
                    ("connect_timeout", "10"),
                    ("application_name", "myapp"),
                ],
            ),
            (
                "postgresql://[::1]:5433/db",
                &[("host", "::1"), ("port", "5433"), ("dbname", "db")],
            ),
            (
                "postgresql://[2001:db8::1234]",
                &[("host", "2001:db8::1234")],
            ),
            (
                "postgresql://[::1],[fe80::1]:6000",
                &[("host", "::1,fe80::1"), ("port", ",6000")],
            ),
            (
                "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
                &[("host", "/var/run/postgresql"), ("dbname", "db")],
            ),
            (
                "postgresql:///mydb?host=%2Fvar%2Frun%2Fpostgresql",
                &[("dbname", "mydb"), ("host", "/var/run/postgresql")],
            ),
            (
                "postgresql:///mydb?host=/tmp&port=5433",
                &[("dbname", "mydb"), ("host", "/tmp"), ("port", "5433")],
            ),
            (
                "postgresql://us%40er:p%3Aa%40ss%2F@h/d%20b",
                &[
                    ("user", "us@er"),
                    ("password", "p:a@ss/"),
                    ("host", "h"),
                    ("dbname", "d b"),
                ],
            ),
            (
                "postgresql://h?ssl=true",
                &[("host", "h"), ("sslmode", "require")],
            ),
            ("POSTGRESQL://h", &[("host", "h")]),
            ("postgresql://:5433", &[("port", "5433")]),
            ("postgresql://u:@h", &[("user", "u"), ("host", "h")]),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), kv(want), "{input}");
        }
    }

    #[test]
    fn keyword_values() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("   ", &[]),
            ("host=localhost", &[("host", "localhost")]),
            (
                "host = localhost  port= 5433 ",
                &[("host", "localhost"), ("port", "5433")],
            ),
            (
                "dbname='my db' user=bob",
                &[("dbname", "my db"), ("user", "bob")],
            ),
            (
                r"password='it\'s' user=x",
                &[("password", "it's"), ("user", "x")],
            ),
            (r"password='back\\slash'", &[("password", r"back\slash")]),
            (r"password=a\ b", &[("password", "a b")]),
            ("password=''", &[("password", "")]),
            // As in libpq, a value starts after the blanks that follow "=".
            ("host= port=1", &[("host", "port=1")]),
            ("host=a host=b", &[("host", "b")]),
            (
                "host=/var/run/postgresql port=5432",
                &[("host", "/var/run/postgresql"), ("port", "5432")],
            ),
            (
                "options='-c work_mem=64MB'",
                &[("options", "-c work_mem=64MB")],
            ),
            ("host=h1,h2 port=1,2", &[("host", "h1,h2"), ("port", "1,2")]),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input), kv(want), "{input:?}");
        }
    }

    #[test]
    fn bare_word_is_a_database_name() {
        assert_eq!(ok("mydb"), kv(&[("dbname", "mydb")]));
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases: &[(&str, &str)] = &[
            (
                "host=x foo=bar",
                "invalid connection option \"foo\" at offset 7",
            ),
            ("hostx=1", "invalid connection option \"hostx\" at offset 0"),
            ("host x=1", "missing \"=\" after \"host\" at offset 0"),
            ("host=x port", "missing \"=\" after \"port\" at offset 7"),
            (
                "dbname='abc",
                "unterminated quoted string for \"dbname\" starting at offset 7",
            ),
            (
                "postgresql://h?foo=1",
                "invalid URI query parameter: \"foo\"",
            ),
            (
                "postgresql://h?sslmode",
                "missing key/value separator \"=\" in URI query parameter: \"sslmode\"",
            ),
            (
                "postgresql://[::1/db",
                "missing \"]\" in IPv6 host address of host number 1",
            ),
            (
                "postgresql://[::1]x/db",
                "unexpected character \"x\" after IPv6 host address",
            ),
            (
                "postgresql://h/d%zz",
                "invalid percent-encoded token at offset 1 in the database name",
            ),
            ("postgresql://h/d%00", "forbidden value %00"),
            ("postgresql://u:pa/ss@h/db", "percent-encode \"/\" as %2F"),
        ];
        for (input, want) in cases {
            let err = parse(input).expect_err(input).to_string();
            assert!(err.contains(want), "{input:?}: got {err:?}, want {want:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_password() {
        for input in [
            "password=hunter2 bogus=1",
            "postgresql://u:hunter2@h?bogus=1",
            "password='hunter2",
            "postgresql://u:hunt/er2@h/db",
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{input}: {err}");
        }
    }

    #[test]
    fn params_debug_redacts() {
        let p = parse("user=u password=hunter2").unwrap();
        let d = format!("{p:?}");
        assert!(!d.contains("hunter2") && d.contains("********"), "{d}");
    }

    #[test]
    fn set_default_keeps_existing() {
        let mut p = parse("host=a port=").unwrap();
        assert!(!p.set_default("host", "b"));
        assert!(p.set_default("port", "1"));
        assert_eq!(p.get("host"), Some("a"));
        assert_eq!(p.get("port"), Some("1"));
    }
}
