//! `--format github`: GitHub Actions workflow commands, which GitHub shows as annotations on the
//! pull request and the run.
//!
//! ```text
//! ::warning file=queries.sql,line=12,title=P001 seq-scan-large-table::node 2 (Seq Scan on big b): Seq Scan read …
//! ::error file=plans/bad.json,line=7,title=pgdiag: unreadable input::cannot read json plan: …
//! ::warning title=D001 dead-tuples::database shop: …
//! ```
//!
//! - error → `::error`, warning → `::warning`, info → `::notice`. Annotations never fail a job by
//!   themselves: the exit code does (`--fail-on`).
//! - `file` and `line`: the `.sql` file and line of the statement (`diagnose`), or the plan file
//!   and the line the plan starts on (`analyze`); left out for `-c` queries, standard input and
//!   database findings, whose message then starts with where they come from.
//! - The advice follows the message on a second line.
//! - Findings silenced by `-- pgdiag: ignore` are not annotated (the step summary lists them).
//! - Escaping follows GitHub's workflow-command rules: in the message `%`, CR and LF become `%25`,
//!   `%0D`, `%0A`; in properties (`file`, `title`) `:` and `,` also become `%3A` and `%2C`.

use std::io::{self, BufWriter, Write};

use super::ci;
use super::fmt;
use super::Report;
use crate::rules::Severity;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    for pr in &report.plans {
        let loc = ci::location(pr);
        let prefix = if loc.is_none() {
            format!("{}: ", pr.source)
        } else {
            String::new()
        };
        // With a file and line, the annotation says where; without, the text keeps them.
        let error = if loc.is_some() {
            ci::error_message(pr)
        } else {
            ci::error_text(pr)
        };
        if let Some(msg) = error {
            annotate(
                &mut w,
                "error",
                loc.as_ref(),
                "pgdiag: unreadable input",
                &msg,
            )?;
        }
        for (_, group) in fmt::by_severity(&pr.findings) {
            for f in group {
                let node = ci::node_text(pr, f)
                    .map(|n| format!("{n}: "))
                    .unwrap_or_default();
                let mut message = format!("{prefix}{node}{}", f.message);
                if !f.advice.is_empty() {
                    message.push_str(&format!("\nAdvice: {}", f.advice));
                }
                annotate(
                    &mut w,
                    command(f.severity),
                    loc.as_ref(),
                    &format!("{} {}", f.rule, f.name),
                    &message,
                )?;
            }
        }
    }
    if let Some(db) = &report.database {
        for (_, group) in fmt::by_severity(&db.findings) {
            for f in group {
                let mut message = format!("database {}: {}", db.database, f.message);
                if !f.advice.is_empty() {
                    message.push_str(&format!("\nAdvice: {}", f.advice));
                }
                annotate(
                    &mut w,
                    command(f.severity),
                    None,
                    &format!("{} {}", f.rule, f.name),
                    &message,
                )?;
            }
        }
    }
    w.flush()
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

fn annotate(
    w: &mut dyn Write,
    command: &str,
    loc: Option<&ci::FileLocation>,
    title: &str,
    message: &str,
) -> io::Result<()> {
    let mut props = Vec::new();
    if let Some(loc) = loc {
        props.push(format!("file={}", escape_property(&loc.path)));
        if let Some(line) = loc.line {
            props.push(format!("line={line}"));
        }
    }
    props.push(format!("title={}", escape_property(title)));
    writeln!(
        w,
        "::{command} {}::{}",
        props.join(","),
        escape_data(message)
    )
}

/// A workflow command's message: `%`, CR and LF are encoded, so one annotation stays one line.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as the message, plus `:` and `,`, which separate
/// properties.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50%\r\nx: a,b"), "50%25%0D%0Ax: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
