//! The baseline file: JSON, one entry per query, written so that a refreshed baseline of
//! unchanged plans is byte-for-byte the same file (queries sorted, no timestamps, fields in a
//! fixed order), and a changed one diffs readably in git.
//!
//! ```text
//! {"schema_version": 1, "pgdiag_version": "0.1.0", "server_version": "15.4 …" | null,
//!  "queries": [{"fingerprint": "9f3c…", "file": "queries.sql" | null, "line": 3 | null,
//!               "sql": "SELECT …", "shape": {…PlanShape…}, "findings": [{"rule", "name",
//!               "relation"?, "path"?}]}]}
//! ```
//!
//! `file` and `line` are null for `-c` queries. A newer `schema_version` than this build knows is
//! refused (rather than misread); unknown fields are ignored so later versions can add some.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::shape::{FindingKey, PlanShape};

/// The `schema_version` this module writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineFile {
    pub schema_version: u32,
    /// The pgdiag that wrote it.
    pub pgdiag_version: String,
    /// `server_version` of the server the plans came from, when known.
    pub server_version: Option<String>,
    pub queries: Vec<BaselineQuery>,
}

/// One query as recorded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineQuery {
    /// See `fingerprint.rs`.
    pub fingerprint: String,
    pub file: Option<String>,
    pub line: Option<usize>,
    pub sql: String,
    pub shape: PlanShape,
    #[serde(default)]
    pub findings: Vec<FindingKey>,
}

impl BaselineQuery {
    /// `queries.sql:3`, or `-c` for a query given on the command line.
    pub fn label(&self) -> String {
        match (&self.file, self.line) {
            (Some(f), Some(l)) => format!("{f}:{l}"),
            (Some(f), None) => f.clone(),
            (None, _) => "-c".to_string(),
        }
    }
}

impl BaselineFile {
    pub fn new(server_version: Option<String>, mut queries: Vec<BaselineQuery>) -> BaselineFile {
        queries.sort_by(|a, b| {
            (&a.file, a.line, &a.fingerprint, &a.sql).cmp(&(
                &b.file,
                b.line,
                &b.fingerprint,
                &b.sql,
            ))
        });
        BaselineFile {
            schema_version: SCHEMA_VERSION,
            pgdiag_version: env!("CARGO_PKG_VERSION").to_string(),
            server_version,
            queries,
        }
    }

    /// Read and check a baseline. The error is one line: `FILE:LINE: what` for JSON that does not
    /// parse, `FILE: what` otherwise.
    pub fn read(path: &Path) -> Result<BaselineFile, String> {
        let name = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{name}: cannot read the baseline: {e}"))?;
        Self::parse(&name.to_string(), &text)
    }

    /// As `read`, from text (`name` is used in errors).
    pub fn parse(name: &str, text: &str) -> Result<BaselineFile, String> {
        // The version first, so a newer file says so instead of failing on a field it renamed.
        #[derive(Deserialize)]
        struct Version {
            schema_version: Option<u32>,
        }
        let v: Version = serde_json::from_str(text).map_err(|e| located(name, &e))?;
        match v.schema_version {
            Some(SCHEMA_VERSION) => {}
            Some(n) => {
                return Err(format!(
                    "{name}: baseline schema_version {n} is not one this pgdiag reads ({SCHEMA_VERSION}); \
                     write it again with --write-baseline"
                ))
            }
            None => return Err(format!("{name}: not a pgdiag baseline (no schema_version)")),
        }
        serde_json::from_str(text).map_err(|e| located(name, &e))
    }

    /// The file's text: pretty JSON ending with a newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a baseline always serialises");
        s.push('\n');
        s
    }

    /// Write atomically: a temporary file next to `path`, then a rename, so a crash or Ctrl-C
    /// never leaves half a baseline behind.
    pub fn write(&self, path: &Path) -> Result<(), String> {
        let name = path.display();
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| format!("{name}: not a file name"))?
            .to_string_lossy();
        let tmp = dir.join(format!(".{file_name}.pgdiag-{}.tmp", std::process::id()));
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(self.to_json().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        result.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{name}: cannot write the baseline: {e}")
        })
    }
}

fn located(name: &str, e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // serde_json ends its messages with ` at line L column C`: the line goes in front instead.
    let msg = msg
        .rsplit_once(" at line ")
        .map(|(m, _)| m.to_string())
        .unwrap_or(msg);
    if e.line() > 0 {
        format!("{name}:{}: not a valid baseline: {msg}", e.line())
    } else {
        format!("{name}: not a valid baseline: {msg}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(file: &str, line: usize) -> BaselineQuery {
        BaselineQuery {
            fingerprint: super::super::fingerprint::fingerprint("SELECT 1"),
            file: Some(file.into()),
            line: Some(line),
            sql: "SELECT 1".into(),
            ..BaselineQuery::default()
        }
    }

    #[test]
    fn written_sorted_and_read_back() {
        let b = BaselineFile::new(
            None,
            vec![query("b.sql", 1), query("a.sql", 9), query("a.sql", 2)],
        );
        let labels: Vec<String> = b.queries.iter().map(|q| q.label()).collect();
        assert_eq!(labels, ["a.sql:2", "a.sql:9", "b.sql:1"]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        b.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, b.to_json());
        assert_eq!(BaselineFile::read(&path).unwrap(), b);
        // Only the baseline is left in the directory (no temporary file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn bad_files_are_one_line_errors_with_the_line() {
        let e = BaselineFile::parse("b.json", "{\n  \"schema_version\": 1,\n  \"queries\": [\n}")
            .unwrap_err();
        assert!(e.starts_with("b.json:4: not a valid baseline: "), "{e}");
        assert!(!e.contains('\n'));
        let e = BaselineFile::parse("b.json", "{\"queries\": []}").unwrap_err();
        assert_eq!(e, "b.json: not a pgdiag baseline (no schema_version)");
        let e = BaselineFile::parse("b.json", "{\"schema_version\": 7}").unwrap_err();
        assert!(e.contains("schema_version 7"), "{e}");
        let e =
            BaselineFile::parse("b.json", "{\"schema_version\": 1, \"queries\": 3}").unwrap_err();
        assert!(
            e.starts_with("b.json:1: not a valid baseline: invalid type"),
            "{e}"
        );
        let e = BaselineFile::read(Path::new("/nonexistent/b.json")).unwrap_err();
        assert!(
            e.starts_with("/nonexistent/b.json: cannot read the baseline"),
            "{e}"
        );
    }
}
