//! `--format gitlab`: a GitLab code quality report (a JSON array of issues, in the Code Climate
//! subset GitLab reads), for `artifacts:reports:codequality`.
//!
//! ```json
//! [{"description": "P001 seq-scan-large-table: node 2 (Seq Scan on big b): Seq Scan read …",
//!   "check_name": "P001", "fingerprint": "…", "severity": "minor",
//!   "location": {"path": "queries.sql", "lines": {"begin": 12}}}]
//! ```
//!
//! - Severity: error → `major`, warning → `minor`, info → `info` (GitLab's `critical` and
//!   `blocker` are left for problems worse than a slow query).
//! - `location.path`: the `.sql` file (`diagnose`) or the plan file (`analyze`); `lines.begin` the
//!   statement's or plan's first line (1 when unknown). Queries given with `-c` or on standard
//!   input use their source (`-c #1`, `-`), and database findings `db:NAME`: GitLab shows them
//!   without a link.
//! - `fingerprint`: rule + file + query + node path (see `ci::fingerprint`), stable across runs,
//!   so GitLab can tell new issues from old ones.
//! - An input that could not be read is an issue too (`check_name` `pgdiag-error`, severity
//!   `major`): leaving it out would make an unchecked migration look clean in the merge request.
//! - Findings silenced by `-- pgdiag: ignore` are left out: GitLab has no notion of a suppressed
//!   issue.

use std::io::{self, BufWriter, Write};

use serde_json::{json, Value};

use super::ci;
use super::fmt;
use super::Report;
use crate::rules::Severity;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut issues = Vec::new();
    for pr in &report.plans {
        let loc = ci::location(pr);
        let (path, line) = match &loc {
            Some(l) => (l.path.clone(), l.line.unwrap_or(1)),
            None => (pr.source.clone(), 1),
        };
        if let Some(text) = ci::error_text(pr) {
            issues.push(issue(
                text,
                "pgdiag-error",
                ci::error_fingerprint(pr),
                "major",
                &path,
                line,
            ));
        }
        for (_, group) in fmt::by_severity(&pr.findings) {
            for f in group {
                let node = ci::node_text(pr, f)
                    .map(|n| format!("{n}: "))
                    .unwrap_or_default();
                issues.push(issue(
                    format!("{} {}: {node}{}", f.rule, f.name, fmt::one_line(&f.message)),
                    &f.rule,
                    ci::fingerprint(pr, f),
                    severity(f.severity),
                    &path,
                    line,
                ));
            }
        }
    }
    if let Some(db) = &report.database {
        for (_, group) in fmt::by_severity(&db.findings) {
            for f in group {
                issues.push(issue(
                    format!("{} {}: {}", f.rule, f.name, fmt::one_line(&f.message)),
                    &f.rule,
                    ci::database_fingerprint(db, f),
                    severity(f.severity),
                    &format!("db:{}", db.database),
                    1,
                ));
            }
        }
    }
    // GitLab merges issues with one fingerprint: the same statement twice in a file keeps both.
    let mut seen = std::collections::HashMap::new();
    for i in &mut issues {
        let fp = i["fingerprint"].as_str().unwrap_or_default().to_string();
        let n = seen.entry(fp.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            i["fingerprint"] = json!(format!("{fp}-{n}"));
        }
    }
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut w, &issues).map_err(io::Error::other)?;
    writeln!(w)?;
    w.flush()
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "major",
        Severity::Warning => "minor",
        Severity::Info => "info",
    }
}

fn issue(
    description: String,
    check_name: &str,
    fingerprint: String,
    severity: &str,
    path: &str,
    line: usize,
) -> Value {
    json!({
        "description": description,
        "check_name": check_name,
        "fingerprint": fingerprint,
        "severity": severity,
        "location": { "path": path, "lines": { "begin": line } },
    })
}
