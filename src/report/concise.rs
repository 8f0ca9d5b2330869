//! `--format concise`: one line per finding and one per unreadable source, for grep, editors and
//! CI logs. No colour, no blank lines, nothing at all when there is nothing to say.
//!
//! ```text
//! plans/x.json:3: warning P001[seq-scan-large-table] Seq Scan on orders: 1,000,000 rows read, 12 kept
//! plans/x.json: info P011[planning-dominates]: planning took 80% of the time
//! plans/y.txt[2]:0: error P003[work-mem-spill] Sort: …
//! plans/bad.json:7: error: cannot read json plan: EOF while parsing an object (column 3)
//! ```
//!
//! The form is `LOCATION: SEVERITY RULE[NAME] NODE-LABEL: MESSAGE`:
//! - a finding's location is `source:node`, the node id being its pre-order position in the plan
//!   (the `id` of `--format json`), or just `source` for a whole-plan finding;
//! - when the report holds several plans from one source, the source is written `source[K]`
//!   (K = 1-based position of the plan in the source);
//! - an unreadable source is `source:line: error: what` (`source: error: what` when the line is not
//!   known), `line` being a line of the file.
//!
//! With `--baseline`: `BASELINE: baseline: N matched, N new, N gone`, then
//! `file:line: new query (not in baseline BASELINE)` and `file:line: SQL (gone since baseline
//! BASELINE)`, one line each. Findings the baseline already had are not listed.
//!
//! Findings come in severity order (error, warning, info) within each plan, plans in input order.

use std::io::{self, BufWriter, Write};

use super::fmt;
use super::Report;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    for pr in &report.plans {
        let source = fmt::one_line(&pr.source);
        if let Some(err) = &pr.error {
            let (line, msg) = fmt::split_error(&pr.source, err);
            let msg = fmt::one_line(msg);
            match line {
                Some(l) => writeln!(w, "{source}:{l}: error: {msg}")?,
                None => writeln!(w, "{source}: error: {msg}")?,
            }
        } else if pr.plan.is_none() {
            writeln!(w, "{source}: error: no plan")?;
        }
        let loc_source = match fmt::plan_number(report, pr) {
            Some(k) => format!("{source}[{k}]"),
            None => source,
        };
        for (_, group) in fmt::by_severity(&pr.findings) {
            for f in group {
                // The node's label, unless the message already opens with it.
                let label = match (f.node, &pr.plan) {
                    (Some(id), Some(p)) if id < p.nodes.len() => {
                        let label = fmt::one_line(&p.nodes[id].label());
                        if f.message.starts_with(label.as_str()) {
                            String::new()
                        } else {
                            format!(" {label}")
                        }
                    }
                    _ => String::new(),
                };
                let loc = match f.node {
                    // Not `file:N:`, which editors and CI read as a line number.
                    Some(id) => format!("{loc_source} node {id}"),
                    None => loc_source.clone(),
                };
                writeln!(
                    w,
                    "{loc}: {} {}[{}]{label}: {}",
                    f.severity,
                    fmt::one_line(&f.rule),
                    fmt::one_line(&f.name),
                    fmt::one_line(&f.message)
                )?;
            }
        }
    }
    if let Some(db) = &report.database {
        // `db:NAME: SEVERITY RULE[NAME]: MESSAGE`, and `db:NAME: not visible: what`.
        let loc = format!("db:{}", fmt::one_line(&db.database));
        for nv in &db.not_visible {
            writeln!(w, "{loc}: not visible: {}", fmt::one_line(nv))?;
        }
        for (_, group) in fmt::by_severity(&db.findings) {
            for f in group {
                writeln!(
                    w,
                    "{loc}: {} {}[{}]: {}",
                    f.severity,
                    fmt::one_line(&f.rule),
                    fmt::one_line(&f.name),
                    fmt::one_line(&f.message)
                )?;
            }
        }
    }
    if let Some(b) = &report.baseline {
        // New queries at their own location, so editors jump to them; gone ones at theirs.
        let file = fmt::one_line(&b.file);
        writeln!(
            w,
            "{file}: baseline: {} matched, {} new, {} gone",
            b.matched,
            b.new.len(),
            b.gone.len()
        )?;
        for n in &b.new {
            writeln!(
                w,
                "{}: new query (not in baseline {file})",
                fmt::one_line(n)
            )?;
        }
        for g in &b.gone {
            writeln!(
                w,
                "{}",
                fmt::one_line(&format!("{} (gone since baseline {file})", g.describe()))
            )?;
        }
    }
    w.flush()
}
