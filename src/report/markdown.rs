//! `--format markdown`: for tickets and pull requests (GitHub-flavoured Markdown).
//!
//! Per plan: a `##` heading, a summary line, a table of the nodes (the same columns as the
//! terminal table, without colour), then the findings as a list grouped by severity, each with its
//! advice. Text from the plan or the findings is escaped so it cannot break the table or start
//! Markdown syntax; tree indentation uses non-breaking spaces, which Markdown keeps.

use std::io::{self, BufWriter, Write};

use super::fmt::{self, Columns};
use super::table::HOT_MARK;
use super::{PlanReport, Report};
use crate::plan::Plan;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    for (i, pr) in report.plans.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_plan(report, pr, &mut w)?;
    }
    if let Some(db) = &report.database {
        if !report.plans.is_empty() {
            writeln!(w)?;
        }
        writeln!(w, "## {}", escape(&fmt::one_line(&db.title())))?;
        if !db.not_visible.is_empty() {
            writeln!(w)?;
            for nv in &db.not_visible {
                writeln!(w, "- *Not visible:* {}", escape(nv))?;
            }
        }
        let pr = PlanReport {
            findings: db.findings.clone(),
            ..PlanReport::default()
        };
        if db.findings.is_empty() {
            writeln!(w)?;
            writeln!(w, "No findings.")?;
        } else {
            write_findings(&pr, None, &mut w)?;
        }
    }
    if let Some(b) = &report.baseline {
        if !report.plans.is_empty() || report.database.is_some() {
            writeln!(w)?;
        }
        writeln!(w, "## Baseline {}", escape(&b.file))?;
        writeln!(w)?;
        for line in fmt::baseline_lines(b) {
            writeln!(w, "- {}", escape(&line))?;
        }
    }
    w.flush()
}

// Each block (heading, paragraph, table, list) ends with its own newline; blocks are separated by
// one blank line, written before the next block, so the document never ends with a blank line.

fn write_plan(report: &Report, pr: &PlanReport, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "## {}", escape(&fmt::plan_title(report, pr)))?;
    if let Some(err) = &pr.error {
        let (line, msg) = fmt::split_error(&pr.source, err);
        let loc = match line {
            Some(l) => format!("{}:{l}", pr.source),
            None => pr.source.clone(),
        };
        writeln!(w)?;
        writeln!(w, "**Error:** {}: {}", escape(&loc), escape(msg))?;
    }
    let Some(plan) = &pr.plan else {
        if pr.error.is_none() {
            writeln!(w)?;
            writeln!(w, "**Error:** no plan")?;
        }
        return write_findings(pr, None, w);
    };
    writeln!(w)?;
    writeln!(w, "{}", escape(&fmt::summary(plan, &pr.findings)))?;
    let ex = fmt::extras(plan);
    if !ex.is_empty() {
        writeln!(w)?;
        for line in ex {
            writeln!(w, "- {}", escape(&line))?;
        }
    }
    if !plan.nodes.is_empty() {
        writeln!(w)?;
        write_table(plan, w)?;
    }
    write_findings(pr, Some(plan), w)?;
    let suppressed = fmt::suppressed_lines(pr);
    if !suppressed.is_empty() {
        writeln!(w)?;
        writeln!(w, "Suppressed ({}):", suppressed.len())?;
        writeln!(w)?;
        for line in suppressed {
            writeln!(w, "- {}", escape(&line))?;
        }
    }
    let known = fmt::in_baseline_lines(pr);
    if !known.is_empty() {
        writeln!(w)?;
        writeln!(w, "Already in the baseline ({}):", known.len())?;
        writeln!(w)?;
        for line in known {
            writeln!(w, "- {}", escape(&line))?;
        }
    }
    Ok(())
}

fn write_table(plan: &Plan, w: &mut dyn Write) -> io::Result<()> {
    let cols = Columns::for_plan(plan);
    let headers = cols.headers();
    let hot = fmt::hot_nodes(plan);
    let prefixes = fmt::tree_prefixes(plan, '\u{a0}');

    let mut line = String::from("|");
    for h in &headers {
        line.push(' ');
        line.push_str(&escape(h));
        line.push_str(" |");
    }
    writeln!(w, "{line}")?;
    line.clear();
    line.push('|');
    for c in 0..headers.len() {
        line.push_str(if cols.right_aligned(c) {
            " --: |"
        } else {
            " --- |"
        });
    }
    writeln!(w, "{line}")?;
    for (i, node) in plan.nodes.iter().enumerate() {
        line.clear();
        line.push_str("| ");
        if hot[i] {
            line.push_str(HOT_MARK);
            line.push(' ');
            line.push_str(&format!("**{i}**"));
        } else {
            line.push_str(&i.to_string());
        }
        line.push_str(" | ");
        line.push_str(&prefixes[i]);
        let text = escape(&fmt::node_text(node));
        if hot[i] {
            line.push_str(&format!("**{text}**"));
        } else {
            line.push_str(&text);
        }
        line.push_str(" |");
        for c in cols.cells(node) {
            line.push(' ');
            line.push_str(&escape(&c));
            line.push_str(" |");
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

fn write_findings(pr: &PlanReport, plan: Option<&Plan>, w: &mut dyn Write) -> io::Result<()> {
    if pr.findings.is_empty() {
        if plan.is_some() {
            writeln!(w)?;
            writeln!(w, "No findings.")?;
        }
        return Ok(());
    }
    for (sev, group) in fmt::by_severity(&pr.findings) {
        writeln!(w)?;
        writeln!(w, "### {}", fmt::severity_title(sev, group.len()))?;
        writeln!(w)?;
        for f in group {
            let at = match (f.node, plan) {
                (Some(id), Some(p)) if id < p.nodes.len() => {
                    format!("node {id}: {}", escape(&p.nodes[id].label()))
                }
                (Some(id), _) => format!("node {id}"),
                (None, _) if f.rule.starts_with('D') => "database".to_string(),
                (None, _) => "whole plan".to_string(),
            };
            writeln!(
                w,
                "- **{}** `{}` ({at}): {}",
                escape(&f.rule),
                code(&f.name),
                escape(&f.message)
            )?;
            if !f.advice.is_empty() {
                writeln!(w, "  - *Advice:* {}", escape(&f.advice))?;
            }
        }
    }
    Ok(())
}

/// Escape text for Markdown (inline, and inside table cells): backslash-escape the characters that
/// start Markdown syntax or end a table cell, and keep it on one line.
pub fn escape(s: &str) -> String {
    let s = fmt::one_line(s);
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Text for a code span: backticks cannot be escaped inside one, so they become `'`; `|` is
/// escaped because GitHub splits table cells on it even inside code.
fn code(s: &str) -> String {
    fmt::one_line(s).replace('`', "'").replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("a|b"), "a\\|b");
        assert_eq!(escape("big_pkey"), "big\\_pkey");
        assert_eq!(escape("x\ny"), "x y");
        assert_eq!(escape("SELECT *"), "SELECT \\*");
    }
}
