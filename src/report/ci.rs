//! What the CI formats (`sarif`, `junit`, `github`, `gitlab`) share: where a plan or query lives
//! in the user's files, and a fingerprint of a finding that stays the same from run to run.
//!
//! Locations:
//! - `diagnose`: the query's `.sql` file and the line the statement starts on;
//! - `analyze`: the plan file and the line the plan starts on;
//! - none for standard input (`-`), `-c` queries and database findings.

use super::fmt;
use super::{DatabaseReport, PlanReport};
use crate::rules::Finding;

/// A place in a user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLocation {
    /// The path as the user gave it.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
}

/// Where a plan report points: see the module documentation.
pub fn location(pr: &PlanReport) -> Option<FileLocation> {
    if let Some(q) = &pr.query {
        let file = q.file.as_deref().filter(|f| *f != "-")?;
        return Some(FileLocation {
            path: file.to_string(),
            line: q.line,
        });
    }
    if pr.source == "-" || pr.source.is_empty() {
        return None;
    }
    let line = match (&pr.plan, &pr.error) {
        (Some(p), _) if p.line > 0 => Some(p.line),
        (_, Some(err)) => fmt::split_error(&pr.source, err).0,
        _ => None,
    };
    Some(FileLocation {
        path: pr.source.clone(),
        line,
    })
}

/// The error of a plan report that could not be read, on one line and as printed on stderr
/// (`source:line: what`); `source: no plan` when the source held none.
pub fn error_text(pr: &PlanReport) -> Option<String> {
    match (&pr.error, &pr.plan) {
        (Some(err), _) => Some(fmt::one_line(err)),
        (None, None) => Some(format!("{}: no plan", pr.source)),
        (None, Some(_)) => None,
    }
}

/// [`error_text`] without its `source:line:` prefix, for a format that gives the location apart.
pub fn error_message(pr: &PlanReport) -> Option<String> {
    match (&pr.error, &pr.plan) {
        (Some(err), _) => {
            let (_, msg) = fmt::split_error(&pr.source, err);
            Some(fmt::one_line(msg))
        }
        (None, None) => Some("no plan".to_string()),
        (None, Some(_)) => None,
    }
}

/// A stable fingerprint of a plan finding: the rule, the file, the query (its SQL with
/// whitespace collapsed, or the plan's query text, or its position in the file) and the node's
/// path in the plan. Line numbers and measured figures are left out on purpose, so the same
/// problem keeps its fingerprint when lines move or timings change.
pub fn fingerprint(pr: &PlanReport, f: &Finding) -> String {
    let mut h = Fnv64::new();
    h.field(&f.rule);
    match location(pr) {
        Some(loc) => h.field(&loc.path),
        None => h.field(&pr.source),
    }
    if let Some(q) = &pr.query {
        h.field(&collapse_whitespace(&q.sql));
    } else if let Some(text) = pr.plan.as_ref().and_then(|p| p.query_text.as_deref()) {
        h.field(&collapse_whitespace(text));
    } else {
        let index = pr.plan.as_ref().map_or(0, |p| p.index_in_source);
        h.field(&index.to_string());
    }
    h.field(&node_subject(pr, f));
    h.hex()
}

/// A stable fingerprint of a database finding: the rule, the database and the table it names.
pub fn database_fingerprint(db: &DatabaseReport, f: &Finding) -> String {
    let mut h = Fnv64::new();
    h.field(&f.rule);
    h.field(&db.database);
    h.field(
        f.evidence
            .get("table")
            .and_then(|v| v.as_str())
            .unwrap_or(""),
    );
    h.hex()
}

/// A fingerprint for an input that could not be read.
pub fn error_fingerprint(pr: &PlanReport) -> String {
    let mut h = Fnv64::new();
    h.field("error");
    h.field(&pr.source);
    h.hex()
}

/// What a finding is about inside its plan: the node path, else the node label, else nothing.
fn node_subject(pr: &PlanReport, f: &Finding) -> String {
    if let Some(path) = &f.path {
        return path.clone();
    }
    match (f.node, &pr.plan) {
        (Some(id), Some(p)) if id < p.nodes.len() => p.nodes[id].label(),
        (Some(id), _) => id.to_string(),
        (None, _) => String::new(),
    }
}

/// The node a finding is about, as `node 2 (Seq Scan on big b)` (just `node 2` when the message
/// already opens with the label), or `None` for a whole-plan finding.
pub fn node_text(pr: &PlanReport, f: &Finding) -> Option<String> {
    let id = f.node?;
    Some(match &pr.plan {
        Some(p) if id < p.nodes.len() => {
            let label = fmt::one_line(&p.nodes[id].label());
            if f.message.starts_with(label.as_str()) {
                format!("node {id}")
            } else {
                format!("node {id} ({label})")
            }
        }
        _ => format!("node {id}"),
    })
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// FNV-1a, 64 bits: small and specified, so fingerprints do not change with the Rust version
/// (std's hasher makes no such promise).
struct Fnv64(u64);

impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// A field, followed by a separator no text contains, so `ab`+`c` differs from `a`+`bc`.
    fn field(&mut self, s: &str) {
        self.bytes(s.as_bytes());
        self.bytes(&[0xff]);
    }
    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// A path as a URI reference: relative paths stay relative (with `/` separators, `./` dropped),
/// absolute ones become `file://` URIs; characters outside the URI alphabet are percent-encoded.
/// Returns the URI and whether it is relative.
pub fn path_uri(path: &str) -> (String, bool) {
    let mut p = path.replace('\\', "/");
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_string();
    }
    let windows_drive =
        p.len() >= 3 && p.as_bytes()[0].is_ascii_alphabetic() && &p.as_bytes()[1..3] == b":/";
    if p.starts_with('/') {
        (format!("file://{}", percent_encode(&p, true)), false)
    } else if windows_drive {
        (format!("file:///{}", percent_encode(&p, true)), false)
    } else {
        // A `:` in the first segment of a relative reference would read as a scheme.
        (percent_encode(&p, false), true)
    }
}

fn percent_encode(s: &str, keep_colon: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b':' if keep_colon => out.push(':'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(
            path_uri("plans/a b.json"),
            ("plans/a%20b.json".into(), true)
        );
        assert_eq!(path_uri("./q/x.sql"), ("q/x.sql".into(), true));
        assert_eq!(path_uri("/tmp/x.sql"), ("file:///tmp/x.sql".into(), false));
        assert_eq!(
            path_uri("C:\\work\\x.sql"),
            ("file:///C:/work/x.sql".into(), false)
        );
        assert_eq!(path_uri("ü%.sql"), ("%C3%BC%25.sql".into(), true));
        assert_eq!(path_uri("a:b.sql"), ("a%3Ab.sql".into(), true));
    }

    #[test]
    fn fingerprint_fields_do_not_run_together() {
        let mut a = Fnv64::new();
        a.field("ab");
        a.field("c");
        let mut b = Fnv64::new();
        b.field("a");
        b.field("bc");
        assert_ne!(a.hex(), b.hex());
    }
}
