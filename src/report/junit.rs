//! `--format junit`: JUnit XML, for CI systems that show test results (GitLab, Jenkins, Azure…).
//!
//! ```xml
//! <testsuites name="pgdiag" tests="3" failures="1" errors="1">
//!   <testsuite name="pgdiag" tests="3" failures="1" errors="1" skipped="0">
//!     <testcase name="queries.sql:12" classname="queries.sql" file="queries.sql" line="12" time="0.057">
//!       <failure type="warning" message="P001 seq-scan-large-table: Seq Scan read …">…</failure>
//!       <system-out>…findings below --fail-on, suppressed findings…</system-out>
//!     </testcase>
//!     <testcase name="plans/bad.json" classname="plans/bad.json"><error message="…"/></testcase>
//!     <testcase name="database shop on PostgreSQL 15.4 (primary), as app" classname="database"/>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! - One test case per query or plan (`name` = its source, with `(plan K)` when a file holds
//!   several; `classname` = its file), plus one for the database when the report has a database
//!   section.
//! - One `<failure>` per finding at or above `--fail-on`; `failures` counts the test cases that
//!   have at least one (a test case fails once, however many findings it has).
//! - An input that could not be read is an `<error>`; `errors` counts those test cases.
//! - Findings below `--fail-on` and findings silenced by `-- pgdiag: ignore` never fail a test
//!   case: they are listed in its `<system-out>`.
//! - `time` is the plan's execution time in seconds, when the plan has one.

use std::io::{self, BufWriter, Write};

use super::ci;
use super::fmt;
use super::{PlanReport, RenderOptions, Report};
use crate::rules::{Finding, Severity};

/// One test case, before it is written.
struct Case {
    name: String,
    classname: String,
    file: Option<ci::FileLocation>,
    time_s: Option<f64>,
    /// (type, message, body)
    failures: Vec<(String, String, String)>,
    error: Option<String>,
    out: Vec<String>,
}

pub fn write(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let mut cases: Vec<Case> = report
        .plans
        .iter()
        .map(|pr| plan_case(report, pr, opts.fail_on))
        .collect();
    if let Some(db) = &report.database {
        let mut case = Case {
            name: db.title(),
            classname: "database".to_string(),
            file: None,
            time_s: None,
            failures: Vec::new(),
            error: None,
            out: db
                .not_visible
                .iter()
                .map(|nv| format!("not visible: {nv}"))
                .collect(),
        };
        add_findings(&mut case, None, &db.findings, opts.fail_on);
        cases.push(case);
    }

    let tests = cases.len();
    let failures = cases.iter().filter(|c| !c.failures.is_empty()).count();
    let errors = cases.iter().filter(|c| c.error.is_some()).count();
    let counts = format!(r#"tests="{tests}" failures="{failures}" errors="{errors}""#);

    let mut w = BufWriter::with_capacity(64 * 1024, w);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(w, r#"<testsuites name="pgdiag" {counts}>"#)?;
    writeln!(w, r#"  <testsuite name="pgdiag" {counts} skipped="0">"#)?;
    for c in &cases {
        write_case(c, &mut w)?;
    }
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "</testsuites>")?;
    w.flush()
}

fn plan_case(report: &Report, pr: &PlanReport, fail_on: Option<Severity>) -> Case {
    let file = ci::location(pr);
    let classname = match (&file, &pr.query) {
        (Some(loc), _) => loc.path.clone(),
        (None, Some(q)) if q.file.is_none() => "command-line".to_string(),
        (None, _) => pr.source.clone(),
    };
    let mut case = Case {
        name: fmt::plan_title(report, pr),
        classname,
        file,
        time_s: pr
            .plan
            .as_ref()
            .and_then(|p| p.execution_ms)
            .map(|ms| ms / 1000.0),
        failures: Vec::new(),
        error: ci::error_text(pr),
        out: Vec::new(),
    };
    add_findings(&mut case, Some(pr), &pr.findings, fail_on);
    case.out.extend(
        fmt::suppressed_lines(pr)
            .into_iter()
            .map(|l| format!("suppressed: {l}")),
    );
    case
}

fn add_findings(
    case: &mut Case,
    pr: Option<&PlanReport>,
    findings: &[Finding],
    fail_on: Option<Severity>,
) {
    for (_, group) in fmt::by_severity(findings) {
        for f in group {
            let node = pr.and_then(|pr| ci::node_text(pr, f));
            let headline = format!("{} {}: {}", f.rule, f.name, fmt::one_line(&f.message));
            if fail_on.is_some_and(|floor| f.severity >= floor) {
                let mut body = String::new();
                if let Some(n) = &node {
                    body.push_str(&format!("at {n}\n"));
                }
                body.push_str(&format!("{}: {}\n", f.severity, f.message));
                if !f.advice.is_empty() {
                    body.push_str(&format!("advice: {}\n", f.advice));
                }
                case.failures.push((f.severity.to_string(), headline, body));
            } else {
                let at = node.map(|n| format!(" at {n}")).unwrap_or_default();
                case.out.push(format!("{} {headline}{at}", f.severity));
            }
        }
    }
}

fn write_case(c: &Case, w: &mut dyn Write) -> io::Result<()> {
    let mut attrs = format!(
        r#"name="{}" classname="{}""#,
        attr(&c.name),
        attr(&c.classname)
    );
    if let Some(loc) = &c.file {
        attrs.push_str(&format!(r#" file="{}""#, attr(&loc.path)));
        if let Some(line) = loc.line {
            attrs.push_str(&format!(r#" line="{line}""#));
        }
    }
    if let Some(t) = c.time_s.filter(|t| t.is_finite() && *t >= 0.0) {
        attrs.push_str(&format!(r#" time="{t:.3}""#));
    }
    if c.failures.is_empty() && c.error.is_none() && c.out.is_empty() {
        return writeln!(w, "    <testcase {attrs}/>");
    }
    writeln!(w, "    <testcase {attrs}>")?;
    if let Some(e) = &c.error {
        writeln!(w, r#"      <error type="error" message="{}"/>"#, attr(e))?;
    }
    for (kind, message, body) in &c.failures {
        writeln!(
            w,
            r#"      <failure type="{}" message="{}">{}</failure>"#,
            attr(kind),
            attr(message),
            text(body)
        )?;
    }
    if !c.out.is_empty() {
        let mut out = c.out.join("\n");
        out.push('\n');
        writeln!(w, "      <system-out>{}</system-out>", text(&out))?;
    }
    writeln!(w, "    </testcase>")
}

/// Text for an attribute value: markup characters escaped, line breaks and tabs kept as
/// character references (an XML parser would turn them into spaces otherwise).
fn attr(s: &str) -> String {
    escape(s, true)
}

/// Text for element content.
fn text(s: &str) -> String {
    escape(s, false)
}

/// XML escaping; quotes, line feeds and tabs only matter inside attribute values.
fn escape(s: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\'' if in_attribute => out.push_str("&apos;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(ch),
            c => push_xml_char(&mut out, c),
        }
    }
    out
}

/// XML 1.0 cannot hold most control characters, even escaped: they become U+FFFD.
fn push_xml_char(out: &mut String, c: char) {
    let allowed = matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    out.push(if allowed { c } else { '\u{FFFD}' });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(attr("a<b & \"c\"\n"), "a&lt;b &amp; &quot;c&quot;&#10;");
        assert_eq!(text("x\u{1}y > z\n"), "x\u{FFFD}y &gt; z\n");
    }
}
