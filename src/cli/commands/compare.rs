//! `pgdiag compare BEFORE AFTER`: two plans of the same query, node by node, then the
//! plan-regression (R001) findings of AFTER against BEFORE.
//!
//! ```text
//! ══ before.json → after.json ══
//!   Aggregate · cost 8.47 → 3,814.04 · rows 1 · time 0.050 ms → 21.5 ms · buffers 12 → 2,145
//! ~   Seq Scan on orders o (was Index Scan using orders_customer_idx on orders o) · cost …
//!
//! Regressions (1)
//!   R001 warning · node 1: Seq Scan on orders o
//!     Index Scan using orders_customer_idx on orders o became Seq Scan on orders o; …
//!     → Check that index orders_customer_idx still exists …
//! ```
//!
//! Marks: ` ` same node, `~` changed (type, index or relation), `+` only in AFTER, `-` only in
//! BEFORE. A figure that changed reads `before → after`. Per node: total cost, estimated rows
//! (`est`), actual rows per loop, time (inclusive, all loops) and shared buffers (hit + read,
//! inclusive). BEFORE stands in for a baseline: the same rule and thresholds as
//! `diagnose --baseline` (`--set R001.cost_factor=3` …) decide what is a regression.
//! Formats: the diff as text (`table`, `concise`) or JSON; `markdown`, `sarif`, `junit`, `github`
//! and `gitlab` report the R001 findings on AFTER's plans, as `analyze` would. `--output FILE`
//! works as for the other commands.
//! `--format json` writes `{"schema_version": 1, "before", "after", "comparisons": [{"index",
//! "nodes": [{"change", "before", "after", "before_label", "after_label", "before_figures",
//! "after_figures"}], "findings": [...]}]}` (`before`/`after` in a node are node ids or null).

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use super::output::{engine_settings, exit_code};
use super::report_output;
use crate::baseline::diff::{align, Change, NodeDiff};
use crate::baseline::shape::{finding_keys, PlanShape};
use crate::baseline::BaselineQuery;
use crate::cli::args::CompareArgs;
use crate::cli::exit;
use crate::config::resolve::DEFAULT_FAIL_ON;
use crate::config::Config;
use crate::plan::{parse_source, Node, Plan};
use crate::report::{self, fmt, OutputFormat, PlanReport, RenderOptions, Report};
use crate::rules::{self, BaselineInput, EngineSettings, Finding};

/// One pair of plans compared.
#[derive(Serialize)]
struct Comparison {
    /// 0-based position of the pair in the two files.
    index: usize,
    nodes: Vec<NodeRow>,
    findings: Vec<Finding>,
}

#[derive(Serialize)]
struct NodeRow {
    change: Change,
    before: Option<usize>,
    after: Option<usize>,
    before_label: Option<String>,
    after_label: Option<String>,
    before_figures: Option<Figures>,
    after_figures: Option<Figures>,
    #[serde(skip)]
    depth: usize,
}

/// What `compare` shows of a node.
#[derive(Serialize, Clone, Copy, PartialEq)]
struct Figures {
    cost: Option<f64>,
    plan_rows: Option<f64>,
    actual_rows: Option<f64>,
    time_ms: Option<f64>,
    shared_buffers: Option<f64>,
}

impl Figures {
    fn of(n: &Node) -> Figures {
        Figures {
            cost: n.total_cost,
            plan_rows: n.plan_rows,
            actual_rows: if n.never_executed {
                None
            } else {
                n.actual_rows
            },
            time_ms: n.inclusive_ms,
            shared_buffers: n.buffers.map(|b| b.shared_total()),
        }
    }
}

pub fn run(args: &CompareArgs, config: &Config) -> Result<u8> {
    let settings = engine_settings(&args.report, config)?;
    let (before, after) = match (read(&args.before), read(&args.after)) {
        (Ok(b), Ok(a)) => (b, a),
        (b, a) => {
            for e in [b.err(), a.err()].into_iter().flatten() {
                eprintln!("pgdiag: error: {e}");
            }
            return Ok(exit::ERROR);
        }
    };
    let (before, after) = if args.report.anonymize {
        anonymized(before, after, args.report.anonymize_map.as_deref())?
    } else {
        (before, after)
    };
    if before.len() != after.len() {
        eprintln!(
            "pgdiag: warning: {} holds {} plans and {} holds {}: comparing the first {}",
            args.before.display(),
            before.len(),
            args.after.display(),
            after.len(),
            before.len().min(after.len())
        );
    }
    let comparisons: Vec<Comparison> = before
        .iter()
        .zip(&after)
        .enumerate()
        .map(|(i, (b, a))| compare(i, b, a, &settings, args.gate_timing))
        .collect();

    let names = (
        args.before.display().to_string(),
        args.after.display().to_string(),
    );
    // The findings as a report on AFTER's plans, for the CI formats (SARIF, JUnit, GitHub,
    // GitLab) and Markdown; the diff itself is text or JSON.
    let report = Report {
        plans: after
            .iter()
            .zip(&comparisons)
            .map(|(plan, c)| PlanReport {
                source: names.1.clone(),
                plan: Some(plan.clone()),
                findings: c.findings.clone(),
                ..PlanReport::default()
            })
            .collect(),
        ..Report::default()
    };
    let fail_on = args.report.rules.fail_on.unwrap_or(DEFAULT_FAIL_ON);
    let targets = report_output::targets(&args.report, io::stdout().is_terminal(), &|k| {
        std::env::var(k).ok()
    })?;
    let opts = RenderOptions {
        color: false,
        width: None,
        fail_on: fail_on.floor(),
    };
    let render = |format: OutputFormat, w: &mut dyn Write| -> Result<()> {
        match format {
            OutputFormat::Json => write_json(&names, &comparisons, w)?,
            OutputFormat::Table | OutputFormat::Concise => write_text(&names, &comparisons, w)?,
            other => report::write(&report, other, &opts, w)?,
        }
        Ok(())
    };
    if let Some((path, format)) = &targets.file {
        let mut bytes = Vec::new();
        render(*format, &mut bytes)?;
        report_output::write_bytes(path, &bytes)?;
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    render(targets.stdout, &mut out)?;
    if targets.annotations {
        report::write(&report, OutputFormat::Github, &opts, &mut out)?;
    }
    out.flush()?;

    // The report holds exactly the comparisons' findings: the same exit code as every command.
    Ok(exit_code(&report, fail_on))
}

/// Both files' plans anonymised with one mapping, so a table keeps its placeholder on both sides;
/// the comparison then runs on them and every output is anonymised by construction.
fn anonymized(
    before: Vec<Plan>,
    after: Vec<Plan>,
    map_file: Option<&Path>,
) -> Result<(Vec<Plan>, Vec<Plan>)> {
    let n = before.len();
    let both = Report {
        plans: before
            .into_iter()
            .chain(after)
            .map(|p| PlanReport {
                source: p.source.clone(),
                plan: Some(p),
                ..PlanReport::default()
            })
            .collect(),
        ..Report::default()
    };
    let mut plans: Vec<Plan> = crate::anonymize::for_output(&both, map_file)?
        .plans
        .into_iter()
        .filter_map(|p| p.plan)
        .collect();
    let after = plans.split_off(n);
    Ok((plans, after))
}

/// The plans of one file; the error is one line (`file:line: what`).
fn read(path: &Path) -> Result<Vec<Plan>, String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: cannot read: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    let plans = parse_source(&name, &text).map_err(|e| e.to_string())?;
    if plans.is_empty() {
        return Err(format!("{name}: no plan found"));
    }
    Ok(plans)
}

/// AFTER against BEFORE, BEFORE recorded as a baseline would record it.
fn compare(
    index: usize,
    before: &Plan,
    after: &Plan,
    settings: &EngineSettings,
    gate_timing: bool,
) -> Comparison {
    let recorded = BaselineQuery {
        fingerprint: String::new(),
        file: Some(before.source.clone()),
        line: Some(before.line),
        sql: before.query_text.clone().unwrap_or_default(),
        shape: PlanShape::of(before),
        findings: finding_keys(before, &rules::check_plan(before, settings)),
    };
    let shape = PlanShape::of(after);
    let found = rules::check_plan(after, settings);
    let input = BaselineInput {
        before: &recorded,
        plan: after,
        shape: &shape,
        findings: &found,
        gate_timing,
    };
    let findings = rules::check_baseline(&input, settings);
    let nodes = align(before, after)
        .into_iter()
        .map(|d: NodeDiff| {
            let b = d.before.map(|i| &before.nodes[i]);
            let a = d.after.map(|i| &after.nodes[i]);
            NodeRow {
                change: d.change,
                before: d.before,
                after: d.after,
                before_label: b.map(Node::label),
                after_label: a.map(Node::label),
                before_figures: b.map(Figures::of),
                after_figures: a.map(Figures::of),
                depth: a.or(b).map(|n| n.depth).unwrap_or(0),
            }
        })
        .collect();
    Comparison {
        index,
        nodes,
        findings,
    }
}

fn write_json(
    names: &(String, String),
    comparisons: &[Comparison],
    w: &mut dyn Write,
) -> Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema_version: u32,
        before: &'a str,
        after: &'a str,
        comparisons: &'a [Comparison],
    }
    let doc = Doc {
        schema_version: 1,
        before: &names.0,
        after: &names.1,
        comparisons,
    };
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)?;
    Ok(())
}

fn write_text(
    names: &(String, String),
    comparisons: &[Comparison],
    w: &mut dyn Write,
) -> Result<()> {
    for (k, c) in comparisons.iter().enumerate() {
        if k > 0 {
            writeln!(w)?;
        }
        let number = if comparisons.len() > 1 {
            format!(" [{}]", c.index + 1)
        } else {
            String::new()
        };
        writeln!(
            w,
            "══ {} → {}{number} ══",
            fmt::one_line(&names.0),
            fmt::one_line(&names.1)
        )?;
        for row in &c.nodes {
            writeln!(w, "{}", node_line(row))?;
        }
        writeln!(w)?;
        if c.findings.is_empty() {
            writeln!(w, "No plan regressions.")?;
            continue;
        }
        writeln!(w, "Regressions ({})", c.findings.len())?;
        for f in &c.findings {
            let at = match (f.node, &c.nodes.iter().find(|r| r.after == f.node)) {
                (Some(id), Some(row)) => format!(
                    " · node {id}: {}",
                    row.after_label.as_deref().unwrap_or_default()
                ),
                _ => " · whole plan".to_string(),
            };
            writeln!(w, "  {} {}{at}", f.rule, f.severity)?;
            writeln!(w, "    {}", fmt::one_line(&f.message))?;
            if !f.advice.is_empty() {
                writeln!(w, "    → {}", fmt::one_line(&f.advice))?;
            }
        }
    }
    Ok(())
}

/// `~   Seq Scan on orders (was Index Scan using … on orders) · cost 8.47 → 3,814.04 · …`
fn node_line(row: &NodeRow) -> String {
    let mut s = String::new();
    s.push(row.change.mark());
    s.push(' ');
    s.push_str(&"  ".repeat(row.depth.min(fmt::MAX_TREE_LEVELS)));
    let label = row
        .after_label
        .as_deref()
        .or(row.before_label.as_deref())
        .unwrap_or_default();
    s.push_str(&fmt::one_line(label));
    if row.change == Change::Changed {
        if let Some(old) = &row.before_label {
            s.push_str(&format!(" (was {})", fmt::one_line(old)));
        }
    }
    let figures = match (row.before_figures, row.after_figures) {
        (Some(b), Some(a)) => figure_parts(Some(&b), &a),
        (None, Some(a)) => figure_parts(None, &a),
        (Some(b), None) => figure_parts(None, &b),
        (None, None) => Vec::new(),
    };
    for f in figures {
        s.push_str(" · ");
        s.push_str(&f);
    }
    s
}

/// `cost 8.47 → 3,814.04`, `rows 10`, …: one value when unchanged or when there is one side only.
fn figure_parts(before: Option<&Figures>, after: &Figures) -> Vec<String> {
    type Get = fn(&Figures) -> Option<f64>;
    type Show = fn(f64) -> String;
    let items: [(&str, Get, Show); 5] = [
        ("cost", |f| f.cost, fmt::cost),
        ("est rows", |f| f.plan_rows, fmt::count),
        ("rows", |f| f.actual_rows, fmt::count),
        ("time", |f| f.time_ms, fmt::duration_ms),
        ("buffers", |f| f.shared_buffers, fmt::count),
    ];
    let mut out = Vec::new();
    for (name, get, show) in items {
        let a = get(after);
        let b = before.and_then(get);
        match (b, a) {
            (Some(b), Some(a)) if show(b) != show(a) => {
                out.push(format!("{name} {} → {}", show(b), show(a)))
            }
            (_, Some(a)) => out.push(format!("{name} {}", show(a))),
            (Some(b), None) => out.push(format!("{name} {} → none", show(b))),
            (None, None) => {}
        }
    }
    out
}
