//! The connection service file (`pg_service.conf`), as described in libpq's "The Connection
//! Service File".
//!
//! Files searched, first hit wins: `PGSERVICEFILE` (or `~/.pg_service.conf`), then
//! `PGSYSCONFDIR/pg_service.conf`. Sections are `[name]`; lines are `key=value` with any libpq
//! parameter except `service`. `#` starts a comment line.

use std::path::{Path, PathBuf};

use super::conninfo::{is_known_key, Params};
use super::env::{non_empty, Env, PGSERVICEFILE, PGSYSCONFDIR};
use super::ConnError;

/// Where the system-wide service file lives when `PGSYSCONFDIR` is unset: the directory that
/// Debian's and Ubuntu's libpq was built with.
pub const DEFAULT_SYSCONFDIR: &str = "/etc/postgresql-common";

/// The files to search, in order.
pub fn service_files(env: &dyn Env, home: Option<&Path>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    match non_empty(env, PGSERVICEFILE) {
        Some(f) => files.push(PathBuf::from(f)),
        None => {
            if let Some(h) = home {
                files.push(h.join(".pg_service.conf"));
            }
        }
    }
    let sysconf = non_empty(env, PGSYSCONFDIR).unwrap_or_else(|| DEFAULT_SYSCONFDIR.to_string());
    files.push(Path::new(&sysconf).join("pg_service.conf"));
    files
}

/// The parameters of service `name`, from the first of `files` that defines it.
/// Returns them with the file they came from. A service defined nowhere is an error naming the
/// service and the files searched.
pub fn lookup(name: &str, files: &[PathBuf]) -> Result<(Params, PathBuf), ConnError> {
    for file in files {
        let text = match std::fs::read(file) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ConnError::Service(format!(
                    "cannot read service file \"{}\": {e}",
                    file.display()
                )))
            }
        };
        if let Some(p) = parse_section(&text, name, file)? {
            return Ok((p, file.clone()));
        }
    }
    let searched: Vec<String> = files
        .iter()
        .map(|f| format!("\"{}\"", f.display()))
        .collect();
    Err(ConnError::Service(format!(
        "definition of service \"{name}\" not found (searched {})",
        searched.join(", ")
    )))
}

/// The parameters in section `[name]` of `text`, or `None` if there is no such section.
/// Syntax errors are reported only inside that section, like libpq, which reads on only until
/// it has found the service.
pub fn parse_section(text: &str, name: &str, file: &Path) -> Result<Option<Params>, ConnError> {
    let mut found: Option<Params> = None;
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(sec) = line.strip_prefix('[') {
            if found.is_some() {
                break; // the section ended
            }
            let sec = sec.strip_suffix(']').unwrap_or(sec);
            in_section = sec == name;
            if in_section {
                found = Some(Params::new());
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConnError::Service(format!(
                "syntax error in service file \"{}\", line {lineno}: expected key=value",
                file.display()
            )));
        };
        let key = key.trim();
        let value = value.trim();
        if key == "service" {
            return Err(ConnError::Service(format!(
                "nested \"service\" specifications not supported in service file \"{}\", line {lineno}",
                file.display()
            )));
        }
        if !is_known_key(key) {
            return Err(ConnError::Service(format!(
                "invalid connection option \"{key}\" in service file \"{}\", line {lineno}",
                file.display()
            )));
        }
        if let Some(p) = found.as_mut() {
            // Within a service, the first setting of a key wins.
            if p.get_raw(key).is_none() {
                p.set(key, value);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# a comment
[shop]
host=db.example
port = 6543
dbname=shop
user=alice
# inside
sslmode=verify-full

[local]
host=/var/run/postgresql
dbname=local
password=hunter2

[broken]
this line is wrong

[nested]
service=shop

[unknown]
colour=blue
";

    fn pairs(p: &Params) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sections() {
        let f = Path::new("/x/pg_service.conf");
        type Case<'a> = (&'a str, Option<&'a [(&'a str, &'a str)]>);
        let cases: &[Case] = &[
            (
                "shop",
                Some(&[
                    ("host", "db.example"),
                    ("port", "6543"),
                    ("dbname", "shop"),
                    ("user", "alice"),
                    ("sslmode", "verify-full"),
                ]),
            ),
            (
                "local",
                Some(&[
                    ("host", "/var/run/postgresql"),
                    ("dbname", "local"),
                    ("password", "hunter2"),
                ]),
            ),
            ("missing", None),
        ];
        for (name, want) in cases {
            let got = parse_section(FILE, name, f).unwrap().map(|p| pairs(&p));
            let want = want.map(|w| {
                w.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            });
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn errors_name_file_and_line() {
        let f = Path::new("/x/pg_service.conf");
        let cases = [
            ("broken", "syntax error in service file \"/x/pg_service.conf\", line 16"),
            ("nested", "nested \"service\" specifications not supported in service file \"/x/pg_service.conf\", line 19"),
            ("unknown", "invalid connection option \"colour\" in service file \"/x/pg_service.conf\", line 22"),
        ];
        for (name, want) in cases {
            let err = parse_section(FILE, name, f).unwrap_err().to_string();
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn files_searched_in_order() {
        let home = Path::new("/home/a");
        let env = [("PGSYSCONFDIR", "/etc/pg")];
        assert_eq!(
            service_files(&env, Some(home)),
            vec![
                PathBuf::from("/home/a/.pg_service.conf"),
                PathBuf::from("/etc/pg/pg_service.conf")
            ]
        );
        let env = [("PGSERVICEFILE", "/s/my.conf")];
        assert_eq!(
            service_files(&env, Some(home)),
            vec![
                PathBuf::from("/s/my.conf"),
                PathBuf::from("/etc/postgresql-common/pg_service.conf")
            ]
        );
    }

    #[test]
    fn user_file_first_then_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        let sys = dir.path().join("sys.conf");
        std::fs::write(&user, "[a]\nhost=user-a\n").unwrap();
        std::fs::write(&sys, "[a]\nhost=sys-a\n[b]\nhost=sys-b\n").unwrap();
        let files = vec![dir.path().join("absent.conf"), user.clone(), sys.clone()];
        let (a, from) = lookup("a", &files).unwrap();
        assert_eq!((a.get("host"), from), (Some("user-a"), user.clone()));
        let (b, from) = lookup("b", &files).unwrap();
        assert_eq!((b.get("host"), from), (Some("sys-b"), sys.clone()));
        let err = lookup("zzz", &files).unwrap_err().to_string();
        assert!(
            err.contains("definition of service \"zzz\" not found"),
            "{err}"
        );
        for f in &files {
            assert!(err.contains(&f.display().to_string()), "{err}");
        }
    }
}
