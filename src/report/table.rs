//! `--format table`: for a person at a terminal. Per plan: a header, the plan tree with time, rows
//! and buffers per node (hot nodes marked), then the findings grouped by severity.
//!
//! ```text
//! ══ plans/hashjoin.json ══
//! json · planning 0.605 ms · execution 663.2 ms · 5 nodes · 1 error, 2 warnings, 1 info
//!
//!    #  node                           self time  share  rows est → actual  loops  self buffers
//! ──────────────────────────────────────────────────────────────────────────────────────────────
//!    0  Aggregate                        11.0 ms   1.7%  1 → 1                  1
//!  ▶ 1  └─ Hash Join                    278.2 ms  42.0%  149,210 → 150,000      1  temp read 2,664 …
//!  ▶ 2     ├─ Seq Scan on big b         195.5 ms  29.5%  497,367 → 500,000      1  hit 9,345 read 1
//!    3     └─ Hash                       78.3 ms  11.8%  300,000 → 300,000      1  temp written 1,129
//!  ▶ 4        └─ Seq Scan on orders o   100.1 ms  15.1%  300,000 → 300,000      1  read 1,911
//!
//! Errors (1)
//!   P003 work-mem-spill · node 1: Hash Join
//!     Hash Join spilled 1,535 blocks to disk
//!     → Raise work_mem to 64MB for this query.
//! ```
//!
//! - Time and buffers are the node's own (exclusive); share is of the plan's total time; rows are
//!   per loop as printed, the factor (`▲` more rows than planned, `▼` fewer) over all loops.
//! - `▶` marks the hot nodes: at most three, the ones with most exclusive time among those with at
//!   least 10% of the total.
//! - Columns with nothing to show for the plan are left out (no ANALYZE: no times, actuals; no
//!   BUFFERS: no buffers; cost only without ANALYZE).
//! - Colour (severity, hot rows, never-executed rows) only when `opts.color`; otherwise the output
//!   holds no escape codes at all.
//! - With `opts.width`, every line fits: columns are left out (buffers first, then loops, cost,
//!   rows, share, and a note says so) and the node column is cut with `…`; each node keeps one line.
//!   Deep trees are drawn with at most 24 levels of indentation (`⋯N` gives the depth).

use std::io::{self, BufWriter, Write};

use comfy_table::{CellAlignment, Color, ContentArrangement, LineStyle, Row, Table, TableStyle};

use super::fmt::{self, Columns, Paint};
use super::{PlanReport, RenderOptions, Report};
use crate::plan::Plan;

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
    if let Some(db) = &report.database {
        if !report.plans.is_empty() {
            writeln!(w)?;
        }
        write_database(db, opts, paint, &mut w)?;
    }
    if let Some(b) = &report.baseline {
        if !report.plans.is_empty() || report.database.is_some() {
            writeln!(w)?;
        }
        let title = format!("══ baseline {} ══", fmt::one_line(&b.file));
        writeln!(w, "{}", paint.bold(&title))?;
        for line in fmt::baseline_lines(b) {
            writeln!(w, "{}", fmt::wrap(&line, opts.width.map(usize::from), "  "))?;
        }
    }
    w.flush()
}

fn write_database(
    db: &super::DatabaseReport,
    opts: &RenderOptions,
    paint: Paint,
    w: &mut dyn Write,
) -> io::Result<()> {
    let width = opts.width.map(usize::from);
    writeln!(
        w,
        "{}",
        paint.bold(&format!("══ {} ══", fmt::one_line(&db.title())))
    )?;
    for nv in &db.not_visible {
        writeln!(
            w,
            "{} {}",
            paint.dim("not visible:"),
            fmt::wrap_after(nv, width, 13, "  ")
        )?;
    }
    let pr = PlanReport {
        findings: db.findings.clone(),
        ..PlanReport::default()
    };
    if db.findings.is_empty() {
        writeln!(w)?;
        writeln!(w, "No findings.")?;
        return Ok(());
    }
    write_findings(&pr, None, width, paint, w)
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
    let parts = fmt::summary_parts(plan, &pr.findings);
    writeln!(w, "{}", fmt::wrap_list(&parts, " · ", width))?;
    for line in fmt::extras(plan) {
        writeln!(w, "{}", fmt::wrap(&line, width, "  "))?;
    }
    if !plan.nodes.is_empty() {
        writeln!(w)?;
        write_tree(plan, opts, w)?;
    }
    write_findings(pr, Some(plan), width, paint, w)?;
    let suppressed = fmt::suppressed_lines(pr);
    if !suppressed.is_empty() {
        writeln!(w)?;
        writeln!(
            w,
            "{}",
            paint.dim(&format!("Suppressed ({}):", suppressed.len()))
        )?;
        for line in suppressed {
            writeln!(w, "  {}", paint.dim(&fmt::wrap(&line, width, "    ")))?;
        }
    }
    let known = fmt::in_baseline_lines(pr);
    if !known.is_empty() {
        writeln!(w)?;
        let title = format!("Already in the baseline ({}):", known.len());
        writeln!(w, "{}", paint.dim(&title))?;
        for line in known {
            writeln!(w, "  {}", paint.dim(&fmt::wrap(&line, width, "    ")))?;
        }
    }
    Ok(())
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
        let title = fmt::severity_title(sev, group.len());
        writeln!(w, "{}", paint.severity(sev, &title))?;
        for f in group {
            let mut head = f.name.clone();
            match (f.node, plan) {
                (Some(id), Some(p)) if id < p.nodes.len() => {
                    head.push_str(&format!(" · node {id}: {}", p.nodes[id].label()));
                }
                (Some(id), _) => head.push_str(&format!(" · node {id}")),
                (None, _) if f.rule.starts_with('D') => {}
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
