//! `pgdiag rules [ID]`: list the rules, or print one with its thresholds and explanation.

use std::io::{self, Write};

use anyhow::{bail, Result};

use crate::cli::args::RulesArgs;
use crate::cli::exit;
use crate::rules::{self, RuleMeta};

pub fn run(args: &RulesArgs) -> Result<u8> {
    let mut out = io::stdout().lock();
    match &args.rule {
        None if args.markdown => write_markdown_table(&mut out)?,
        None => {
            for r in rules::all() {
                let m = &r.meta;
                writeln!(
                    out,
                    "{:<5} {:<26} {:<8} {}",
                    m.id, m.name, m.severity, m.title
                )?;
            }
        }
        Some(key) => match rules::find(key) {
            Some(r) => write_rule(&r.meta, &mut out)?,
            None => bail!("no rule `{key}` (see `pgdiag rules` for the list)"),
        },
    }
    out.flush()?;
    Ok(exit::CLEAN)
}

/// The full description of one rule, as `pgdiag rules ID` prints it.
pub fn write_rule(m: &RuleMeta, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{} {}: {}", m.id, m.name, m.title)?;
    writeln!(
        out,
        "category: {}   default severity: {}",
        m.category, m.severity
    )?;
    writeln!(out)?;
    writeln!(out, "{}", m.explanation.trim())?;
    writeln!(out)?;
    writeln!(out, "What to do:")?;
    writeln!(out, "{}", m.advice.trim())?;
    if !m.thresholds.is_empty() {
        writeln!(out)?;
        writeln!(out, "Thresholds (override with --set {}.NAME=VALUE):", m.id)?;
        for (name, t) in &m.thresholds {
            let unit = t
                .unit
                .as_deref()
                .map(|u| format!(" {u}"))
                .unwrap_or_default();
            writeln!(
                out,
                "  {name} = {}{unit}\n      {}",
                t.default,
                t.description.trim()
            )?;
        }
    }
    if !m.references.is_empty() {
        writeln!(out)?;
        writeln!(out, "References:")?;
        for r in &m.references {
            writeln!(out, "  {r}")?;
        }
    }
    Ok(())
}

/// The rule table of README.md (between `<!-- rules:start -->` and `<!-- rules:end -->`).
pub fn write_markdown_table(out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "| id | name | severity | what it finds | thresholds (defaults) |"
    )?;
    writeln!(out, "| --- | --- | --- | --- | --- |")?;
    for r in rules::all() {
        let m = &r.meta;
        let thresholds: Vec<String> = m
            .thresholds
            .iter()
            .map(|(k, t)| format!("`{k}` = {}", t.default))
            .collect();
        writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            m.id,
            m.name,
            m.severity,
            m.title.replace('|', "\\|"),
            thresholds.join(", ")
        )?;
    }
    Ok(())
}
