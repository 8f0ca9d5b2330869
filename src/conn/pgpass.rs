//! The password file (`~/.pgpass` or `PGPASSFILE`), as described in libpq's "The Password File".
//!
//! Each line is `hostname:port:database:username:password`. A field of `*` matches anything;
//! `\:` and `\\` stand for a literal colon and backslash. Lines starting with `#` are comments.
//! The first matching line wins. A file that is group- or world-accessible is ignored with a
//! warning, as libpq does; it never makes the connection fail.

use std::path::{Path, PathBuf};

/// What to look up: the final host (or socket directory), port, database and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// A host name, an IP address, or a Unix-socket directory (starting with `/`).
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// The outcome of a look-up.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub password: Option<String>,
    /// Warnings to show the user (e.g. insecure permissions), one line each.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookup")
            .field("password", &self.password.as_ref().map(|_| super::REDACTED))
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// The password file to use: `passfile` (from the conninfo or `PGPASSFILE`), else `~/.pgpass`.
pub fn default_path(passfile: Option<&str>, home: Option<&Path>) -> Option<PathBuf> {
    match passfile {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => home.map(|h| h.join(".pgpass")),
    }
}

/// The host name that .pgpass lines are matched against: libpq uses `localhost` for a
/// Unix-socket connection.
pub fn match_host(host: &str) -> &str {
    if host.is_empty() || host.starts_with('/') || host.starts_with('@') {
        "localhost"
    } else {
        host
    }
}

/// Looks `target` up in the file at `path`. A missing or unreadable file gives no password and
/// no error; an insecure one gives a warning.
pub fn lookup(path: &Path, target: &Target<'_>) -> Lookup {
    let mut out = Lookup::default();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return out,
    };
    if !meta.is_file() {
        out.warnings.push(format!(
            "WARNING: password file \"{}\" is not a plain file",
            path.display()
        ));
        return out;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            out.warnings.push(format!(
                "WARNING: password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            ));
            return out;
        }
    }
    let Ok(bytes) = std::fs::read(path) else {
        return out;
    };
    let text = String::from_utf8_lossy(&bytes);
    out.password = find_password(&text, target);
    out
}

/// The password of the first line of `text` that matches `target`.
pub fn find_password(text: &str, target: &Target<'_>) -> Option<String> {
    let port = target.port.to_string();
    let wanted = [
        match_host(target.host),
        port.as_str(),
        target.dbname,
        target.user,
    ];
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(fields) = split_line(line) else {
            continue;
        };
        let matches = fields[..4]
            .iter()
            .zip(wanted.iter())
            .all(|(f, w)| f.wildcard || f.value == *w);
        if matches {
            return Some(fields[4].value.clone());
        }
    }
    None
}

struct Field {
    value: String,
    /// The field was an unescaped `*`.
    wildcard: bool,
}

/// Splits a line into 5 fields at unescaped colons; the fifth field (the password) takes the
/// rest of the line, and colons in it need no escaping. Lines with fewer fields are skipped.
fn split_line(line: &str) -> Option<[Field; 5]> {
    let mut fields: Vec<Field> = Vec::with_capacity(5);
    let mut cur = String::new();
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                raw.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                    raw.push(n);
                }
            }
            ':' if fields.len() < 4 => {
                fields.push(Field {
                    wildcard: raw == "*",
                    value: std::mem::take(&mut cur),
                });
                raw.clear();
            }
            c => {
                cur.push(c);
                raw.push(c);
            }
        }
    }
    if fields.len() < 4 {
        return None;
    }
    fields.push(Field {
        wildcard: false,
        value: cur,
    });
    fields.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn t<'a>(host: &'a str, port: u16, dbname: &'a str, user: &'a str) -> Target<'a> {
        Target {
            host,
            port,
            dbname,
            user,
        }
    }

    #[test]
    fn matching_table() {
        let file = "\
# comment line: host:port:db:user:pw
db.example:5432:shop:alice:alice-shop
db.example:5432:*:alice:alice-any
*:5433:*:*:any-5433
localhost:5432:*:bob:bob-local
we\\:ird:5432:d\\\\b:u\\:x:esc-ok
h:5432:d:u:pa\\:ss\\\\word:with:colons
\\*:5432:*:star:literal-star
*:*:*:carol:
incomplete:line
";
        let cases: &[(Target, Option<&str>)] = &[
            (t("db.example", 5432, "shop", "alice"), Some("alice-shop")),
            (t("db.example", 5432, "other", "alice"), Some("alice-any")),
            (t("db.example", 5433, "shop", "alice"), Some("any-5433")),
            (t("anything", 5433, "x", "y"), Some("any-5433")),
            (t("db.example", 5432, "shop", "mallory"), None),
            (t("localhost", 5432, "x", "bob"), Some("bob-local")),
            (
                t("/var/run/postgresql", 5432, "x", "bob"),
                Some("bob-local"),
            ),
            (t("/tmp", 5432, "x", "bob"), Some("bob-local")),
            (t("", 5432, "x", "bob"), Some("bob-local")),
            (t("127.0.0.1", 5432, "x", "bob"), None),
            (t("we:ird", 5432, "d\\b", "u:x"), Some("esc-ok")),
            (t("h", 5432, "d", "u"), Some("pa:ss\\word:with:colons")),
            (t("*", 5432, "x", "star"), Some("literal-star")),
            (t("other", 5432, "x", "star"), None),
            (t("h", 1, "d", "carol"), Some("")),
            (t("incomplete", 5432, "line", "x"), None),
        ];
        for (target, want) in cases {
            assert_eq!(find_password(file, target).as_deref(), *want, "{target:?}");
        }
    }

    #[test]
    fn first_match_wins_and_crlf() {
        let file = "h:5432:d:u:first\r\nh:5432:d:u:second\r\n";
        assert_eq!(
            find_password(file, &t("h", 5432, "d", "u")).as_deref(),
            Some("first")
        );
    }

    fn write(dir: &Path, mode: u32, text: &str) -> PathBuf {
        let p = dir.join("pgpass");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn permission_rule() {
        let dir = tempfile::tempdir().unwrap();
        let target = t("h", 5432, "d", "u");
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o700, true),
            (0o640, false),
            (0o604, false),
            (0o660, false),
            (0o644, false),
            (0o666, false),
            (0o610, false),
        ] {
            let p = write(dir.path(), mode, "h:5432:d:u:secret\n");
            let got = lookup(&p, &target);
            if ok {
                assert_eq!(got.password.as_deref(), Some("secret"), "{mode:o}");
                assert!(got.warnings.is_empty(), "{mode:o}");
            } else {
                assert_eq!(got.password, None, "{mode:o}");
                assert_eq!(got.warnings.len(), 1, "{mode:o}");
                let w = &got.warnings[0];
                assert!(
                    w.starts_with("WARNING: password file \"")
                        && w.ends_with(
                            "has group or world access; permissions should be u=rw (0600) or less"
                        ),
                    "{w}"
                );
                assert!(!w.contains("secret"));
            }
        }
    }

    #[test]
    fn missing_file_and_directory() {
        let dir = tempfile::tempdir().unwrap();
        let target = t("h", 5432, "d", "u");
        assert_eq!(lookup(&dir.path().join("nope"), &target), Lookup::default());
        let got = lookup(dir.path(), &target);
        assert_eq!(got.password, None);
        assert!(got.warnings[0].contains("is not a plain file"));
    }

    #[test]
    fn default_path_rules() {
        let home = Path::new("/home/a");
        assert_eq!(
            default_path(None, Some(home)),
            Some(PathBuf::from("/home/a/.pgpass"))
        );
        assert_eq!(
            default_path(Some(""), Some(home)),
            Some(PathBuf::from("/home/a/.pgpass"))
        );
        assert_eq!(
            default_path(Some("/x/pw"), Some(home)),
            Some(PathBuf::from("/x/pw"))
        );
        assert_eq!(default_path(None, None), None);
    }

    #[test]
    fn debug_redacts() {
        let l = Lookup {
            password: Some("hunter2".into()),
            warnings: vec![],
        };
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}
