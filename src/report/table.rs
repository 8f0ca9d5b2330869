//! `--format table`: for a person at a terminal. Per plan: a header, the plan tree with time, rows
//! and buffers per node (hot nodes marked), then the findings grouped by severity.
//!
//! ```text
//! ══ plans/x.json ══
//! json · planning 0.559 ms · execution 57.0 ms · 3 nodes · 1 error, 1 warning
//!
//!    #  node                                    time     share  rows est → actual      loops   buffers
//!  ───  ──────────────────────────────────────  ───────  ─────  ─────────────────────  ──────  ──────────
//!    0  Nested Loop                              5.1 ms   9.0%  19,628 → 20,000           1
//!  ▶ 2  └─ Index Scan using big_pkey on big b    41.9 ms  73.5%  1 → 1                20,000  hit 80,000
//! ```
//!
//! Colour (severity, hot rows) only when `opts.color`; otherwise the output holds no escape codes.
//! With `opts.width` the tree is fitted to the width: each node keeps one line, long cells are cut
//! with `…`.

use std::io::{self, BufWriter, Write};

use comfy_table::{CellAlignment, Color, ContentArrangement, LineStyle, Row, Table, TableStyle};

use super::fmt::{self, Columns, Paint};
use super::{PlanReport, RenderOptions, Report};
use crate::plan::Plan;
use crate::rules::Finding;

/// Marks a hot node in the `#` column.
pub const HOT_MARK: &str = "▶";

/// Columns separated by two spaces, a rule under the header, no borders.
const STYLE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('─'));

pub fn write(report: &Report, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    let paint = Paint { on: opts.color };
    for (i, pr) in report.plans.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        write_plan(report, pr, opts, paint, &mut w)?;
    }
    w.flush()
}

fn write_plan(
    report: &Report,
    pr: &PlanReport,
    opts: &RenderOptions,
    paint: Paint,
    w: &mut dyn Write,
) -> io::Result<()> {
    let width = opts.width.map(usize::from);
    let title = fmt::one_line(&fmt::plan_title(report, pr));
    writeln!(w, "{}", paint.bold(&format!("══ {title} ══")))?;
    if let Some(err) = &pr.error {
        let (line, msg) = fmt::split_error(&pr.source, err);
        let loc = match line {
            Some(l) => format!("{}:{l}", pr.source),
            None => pr.source.clone(),
        };
        let text = fmt::wrap_after(&format!("{loc}: {msg}"), width, "error: ".len(), "  ");
        writeln!(w, "{} {text}", paint.red("error:"))?;
    }
    let Some(plan) = &pr.plan else {
        if pr.error.is_none() {
            writeln!(w, "{} no plan", paint.red("error:"))?;
        }
        return write_findings(pr, None, width, paint, w);
    };
    let parts = summary_parts(plan, &pr.findings);
    writeln!(w, "{}", fmt::wrap_list(&parts, " · ", width))?;
    for line in extras(plan) {
        writeln!(w, "{}", fmt::wrap(&line, width, "  "))?;
    }
    if !plan.nodes.is_empty() {
        writeln!(w)?;
        write_tree(plan, opts, w)?;
    }
    write_findings(pr, Some(plan), width, paint, w)
}

/// `json · planning 0.559 ms · execution 57.0 ms · 3 nodes · 1 error, 1 warning`
pub(crate) fn summary(plan: &Plan, findings: &[Finding]) -> String {
    summary_parts(plan, findings).join(" · ")
}

fn summary_parts(plan: &Plan, findings: &[Finding]) -> Vec<String> {
    let mut parts = vec![plan.format.clone()];
    if let Some(p) = plan.planning_ms {
        parts.push(format!("planning {}", fmt::duration_ms(p)));
    }
    if let Some(e) = plan.execution_ms {
        parts.push(format!("execution {}", fmt::duration_ms(e)));
    } else if let Some(t) = plan.total_ms() {
        parts.push(format!("total {}", fmt::duration_ms(t)));
    }
    if !plan.analyzed() {
        parts.push("estimates only (no ANALYZE)".to_string());
    }
    let n = plan.nodes.len();
    parts.push(format!(
        "{} node{}",
        fmt::count(n as f64),
        if n == 1 { "" } else { "s" }
    ));
    parts.push(fmt::finding_counts(findings));
    parts.retain(|p| !p.is_empty());
    parts
}

/// Lines about triggers and JIT, when the plan printed them.
pub(crate) fn extras(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for t in &plan.triggers {
        let mut s = format!("trigger {}", t.name);
        if let Some(r) = &t.relation {
            s.push_str(&format!(" on {r}"));
        }
        if let Some(ms) = t.time_ms {
            s.push_str(&format!(": {}", fmt::duration_ms(ms)));
        }
        if let Some(c) = t.calls {
            s.push_str(&format!(", {} calls", fmt::count(c)));
        }
        out.push(s);
    }
    if let Some(j) = &plan.jit {
        let mut s = "JIT".to_string();
        if let Some(f) = j.functions {
            s.push_str(&format!(": {} functions", fmt::count(f)));
        }
        if let Some(t) = j.total_ms {
            s.push_str(&format!(", {} total", fmt::duration_ms(t)));
        }
        out.push(s);
    }
    out
}

fn write_tree(plan: &Plan, opts: &RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    let cols = Columns::for_plan(plan);
    let headers = cols.headers();
    let hot = fmt::hot_nodes(plan);
    let never_ran: Vec<bool> = plan.nodes.iter().map(|n| n.never_executed).collect();
    let prefixes = fmt::tree_prefixes(plan, ' ');

    // Every cell first, so the layout can be decided before anything is drawn.
    let rows: Vec<Vec<String>> = plan
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let id = if hot[i] {
                format!("{HOT_MARK} {i}")
            } else {
                i.to_string()
            };
            let mut cells = vec![id, fmt::node_text(node)];
            cells.extend(cols.cells(node));
            cells
        })
        .collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| width_of(h)).collect();
    for (i, r) in rows.iter().enumerate() {
        for (c, cell) in r.iter().enumerate() {
            let wd = if c == NODE {
                width_of(&prefixes[i]) + width_of(cell)
            } else {
                width_of(cell)
            };
            widths[c] = widths[c].max(wd);
        }
    }
    let layout = Layout::fit(&headers, &widths, opts.width.map(usize::from));
    if !layout.dropped.is_empty() {
        let mut parts = vec![format!(
            "(left out to fit {} columns:",
            opts.width.unwrap_or_default()
        )];
        parts.extend(layout.dropped.iter().map(|d| d.to_string()));
        let last = parts.len() - 1;
        parts[last].push(')');
        for (k, p) in parts.iter_mut().enumerate().skip(1) {
            if k < last {
                p.push(',');
            }
        }
        writeln!(
            w,
            "{}",
            fmt::wrap_list(&parts, " ", opts.width.map(usize::from))
        )?;
    }

    let mut table = Table::new();
    table.load_style(STYLE);
    table.force_no_tty();
    if opts.color {
        table.enforce_styling();
    }
    // The layout is decided above: comfy-table only aligns, so no cell is ever wrapped.
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(layout.keep.iter().map(|&c| headers[c]));
    for (i, cells) in rows.into_iter().enumerate() {
        let mut row = Row::new();
        for (c, text) in cells.into_iter().enumerate() {
            if !layout.keep.contains(&c) {
                continue;
            }
            let text = if c == NODE {
                node_cell(&prefixes[i], &text, layout.node_width)
            } else {
                text
            };
            let mut cell = comfy_table::Cell::new_owned(text);
            if opts.color && hot[i] {
                cell = cell.fg(Color::Red);
                if c == NODE {
                    cell = cell.add_attribute(comfy_table::Attribute::Bold);
                }
            } else if opts.color && never_ran[i] {
                cell = cell.fg(Color::DarkGrey);
            }
            row.add_cell(cell);
        }
        table.add_row(row);
    }
    let last = layout.keep.len().saturating_sub(1);
    for (k, &c) in layout.keep.iter().enumerate() {
        if let Some(col) = table.column_mut(k) {
            // No padding after the last column: the rule under the header ends with the text.
            col.set_padding((1, if k == last { 0 } else { 1 }));
            if cols.right_aligned(c) {
                col.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    for line in table.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Index of the node column.
const NODE: usize = 1;
/// The node column is never cut below this many characters.
const MIN_NODE_WIDTH: usize = 24;
/// …except on terminals too narrow for anything else.
const LAST_RESORT_NODE_WIDTH: usize = 10;
/// Columns given up, in this order, when the table is wider than the terminal.
const DROP_ORDER: [&str; 5] = [
    fmt::H_BUFFERS,
    fmt::H_LOOPS,
    fmt::H_COST,
    fmt::H_ROWS,
    fmt::H_SHARE,
];

/// Which columns to draw and how wide the node column may be.
struct Layout {
    keep: Vec<usize>,
    dropped: Vec<&'static str>,
    node_width: Option<usize>,
}

impl Layout {
    fn fit(headers: &[&'static str], widths: &[usize], width: Option<usize>) -> Layout {
        let mut keep: Vec<usize> = (0..headers.len()).collect();
        let mut dropped = Vec::new();
        let Some(width) = width else {
            return Layout {
                keep,
                dropped,
                node_width: None,
            };
        };
        // Each column has one space of padding on either side.
        let total = |keep: &[usize], node: usize| -> usize {
            keep.iter()
                .map(|&c| if c == NODE { node } else { widths[c] } + 2)
                .sum()
        };
        let node_min = widths[NODE].min(MIN_NODE_WIDTH);
        for name in DROP_ORDER {
            if total(&keep, node_min) <= width {
                break;
            }
            if let Some(pos) = keep.iter().position(|&c| headers[c] == name) {
                keep.remove(pos);
                dropped.push(name);
            }
        }
        // Every kept column but the node's text (its padding included); the node column takes
        // the rest, down to a last-resort minimum on very narrow terminals.
        let others = total(&keep, 0);
        let node_width = width
            .saturating_sub(others)
            .max(widths[NODE].min(LAST_RESORT_NODE_WIDTH));
        Layout {
            keep,
            dropped,
            node_width: (node_width < widths[NODE]).then_some(node_width),
        }
    }
}

/// The tree prefix and the node's text, cut to `max` characters with `…` when given.
fn node_cell(prefix: &str, text: &str, max: Option<usize>) -> String {
    let (pw, tw) = (width_of(prefix), width_of(text));
    match max {
        Some(max) if pw + tw > max => {
            // Keep at least a few characters of the label; a deep prefix gives way first.
            let keep_label = max.saturating_sub(pw).max(8.min(max));
            let prefix: String = if pw + keep_label > max {
                let cut = pw + keep_label - max + 1;
                std::iter::once('⋯')
                    .chain(prefix.chars().skip(cut))
                    .collect()
            } else {
                prefix.to_string()
            };
            let room = max.saturating_sub(width_of(&prefix));
            let mut label: String = text.chars().take(room.saturating_sub(1)).collect();
            label.push('…');
            format!("{prefix}{label}")
        }
        _ => format!("{prefix}{text}"),
    }
}

/// Display width, counted in characters (the figures and glyphs used here are one column wide).
fn width_of(s: &str) -> usize {
    s.chars().count()
}

fn write_findings(
    pr: &PlanReport,
    plan: Option<&Plan>,
    width: Option<usize>,
    paint: Paint,
    w: &mut dyn Write,
) -> io::Result<()> {
    if pr.findings.is_empty() {
        if plan.is_some() {
            writeln!(w)?;
            writeln!(w, "No findings.")?;
        }
        return Ok(());
    }
    for (sev, group) in fmt::by_severity(&pr.findings) {
        writeln!(w)?;
        let title = match (sev, group.len()) {
            (crate::rules::Severity::Info, n) => format!("Info ({n})"),
            (s, n) => {
                let name = s.as_str();
                let mut cap = name[..1].to_uppercase();
                cap.push_str(&name[1..]);
                format!("{cap}s ({n})")
            }
        };
        writeln!(w, "{}", paint.severity(sev, &title))?;
        for f in group {
            let mut head = f.name.clone();
            match (f.node, plan) {
                (Some(id), Some(p)) if id < p.nodes.len() => {
                    head.push_str(&format!(" · node {id}: {}", p.nodes[id].label()));
                }
                (Some(id), _) => head.push_str(&format!(" · node {id}")),
                (None, _) => head.push_str(" · whole plan"),
            }
            let used = 2 + f.rule.chars().count() + 1;
            let head = fmt::wrap_after(&head, width, used, "    ");
            writeln!(
                w,
                "  {} {head}",
                paint.severity(sev, &fmt::one_line(&f.rule))
            )?;
            if !f.message.is_empty() {
                writeln!(w, "    {}", fmt::wrap(&f.message, width, "    "))?;
            }
            if !f.advice.is_empty() {
                writeln!(
                    w,
                    "    {} {}",
                    paint.dim("→"),
                    fmt::wrap(&f.advice, width, "      ")
                )?;
            }
        }
    }
    Ok(())
}
