//! Formatting shared by the text renderers (table, Markdown, concise): numbers, durations, rows,
//! buffers, the tree prefix of a node, hot nodes, severity groups. One place for each rule, so the
//! formats agree with each other.
//!
//! Nothing here analyses the plan: it only formats figures the model already holds.

use crate::plan::{Buffers, EstimateDirection, Node, Plan};
use crate::rules::{Finding, Severity};

use super::{PlanReport, Report};

/// Severities in the order reports list them: worst first.
pub const SEVERITY_ORDER: [Severity; 3] = [Severity::Error, Severity::Warning, Severity::Info];

/// A node is marked hot when its own time is at least this share of the plan's total…
pub const HOT_SHARE: f64 = 0.10;
/// …and it is among this many nodes with the most exclusive time.
pub const HOT_MAX: usize = 3;

/// Tree levels drawn in full; deeper nodes show the last levels after a `⋯N` depth marker, so a
/// 50,000-level plan costs a bounded prefix per row.
pub const MAX_TREE_LEVELS: usize = 24;

/// `52,000`; fractions (PG 18 prints `rows=20.50`) keep two decimals; non-finite numbers give `?`.
pub fn count(v: f64) -> String {
    if !v.is_finite() {
        return "?".to_string();
    }
    let neg = v < 0.0;
    let a = v.abs();
    let rounded = (a * 100.0).round() / 100.0;
    let int_part = rounded.trunc();
    let frac = rounded - int_part;
    let digits = format!("{int_part:.0}");
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 4);
    if neg && rounded != 0.0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if frac > 0.0 {
        let f = format!("{frac:.2}");
        // `0.50` → `.50`
        out.push_str(f.trim_start_matches('0'));
    }
    out
}

/// A duration given in ms: `0.052 ms`, `7.43 ms`, `54.4 ms`, `1.23 s`, `12.3 s`, `2 min 03 s`,
/// `1 h 02 min`.
pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        return "?".to_string();
    }
    let a = ms.abs();
    if a < 1.0 {
        format!("{ms:.3} ms")
    } else if a < 10.0 {
        format!("{ms:.2} ms")
    } else if a < 1000.0 {
        format!("{ms:.1} ms")
    } else if a < 10_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if a < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if a < 3_600_000.0 {
        let s = (ms / 1000.0).round() as u64;
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        let m = (ms / 60_000.0).round() as u64;
        format!("{} h {:02} min", m / 60, m % 60)
    }
}

/// A share (0..=1) as a percentage: `62.3%`.
pub fn percent(share: f64) -> String {
    if !share.is_finite() {
        return "?".to_string();
    }
    format!("{:.1}%", share * 100.0)
}

/// An estimate factor with its direction: `▲52000×` (more rows than planned), `▼3.5×` (fewer).
/// Empty when the estimate was right to within display precision.
pub fn factor(f: f64, dir: EstimateDirection) -> String {
    if !f.is_finite() {
        return String::new();
    }
    let arrow = match dir {
        EstimateDirection::Under => '▲',
        EstimateDirection::Over => '▼',
    };
    if f < 1.05 {
        String::new()
    } else if f < 10.0 {
        format!("{arrow}{f:.1}×")
    } else {
        format!("{arrow}{f:.0}×")
    }
}

/// Estimated vs actual rows (both per loop, as printed) and the factor over all loops:
/// `1 → 52,000 ▲52000×`. Without ANALYZE only the estimate.
pub fn rows(n: &Node) -> String {
    let est = n.plan_rows.map(count).unwrap_or_else(|| "?".to_string());
    if n.never_executed {
        return format!("{est} → never executed");
    }
    match n.actual_rows {
        None => est,
        Some(actual) => {
            let mut s = format!("{est} → {}", count(actual));
            if let Some((f, dir)) = n.estimate_factor() {
                let fs = factor(f, dir);
                if !fs.is_empty() {
                    s.push(' ');
                    s.push_str(&fs);
                }
            }
            s
        }
    }
}

/// Loops as printed; `0` for a node that never ran.
pub fn loops(n: &Node) -> String {
    if n.never_executed {
        "0".to_string()
    } else {
        n.actual_loops.map(count).unwrap_or_default()
    }
}

/// Buffers, non-zero parts only: `hit 80,000 read 12 temp written 1,024`. Empty when all are zero.
pub fn buffers(b: &Buffers) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut add = |name: &str, v: f64| {
        if v != 0.0 {
            parts.push(format!("{name} {}", count(v)));
        }
    };
    add("hit", b.shared_hit);
    add("read", b.shared_read);
    add("local hit", b.local_hit);
    add("local read", b.local_read);
    add("temp read", b.temp_read);
    add("temp written", b.temp_written);
    parts.join(" ")
}

/// Column headers, shared by the table and Markdown.
pub const H_ID: &str = "#";
pub const H_NODE: &str = "node";
/// Exclusive time: the node alone, over all loops.
pub const H_TIME: &str = "self time";
pub const H_SHARE: &str = "share";
pub const H_COST: &str = "cost";
pub const H_ROWS: &str = "rows est → actual";
pub const H_ROWS_EST: &str = "rows est";
pub const H_LOOPS: &str = "loops";
/// Exclusive buffers: blocks the node touched itself.
pub const H_BUFFERS: &str = "self buffers";

/// Which optional columns carry something for this plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// Exclusive time and share: the plan was run with ANALYZE (timing on).
    pub time: bool,
    /// Actual rows and loops: the plan was run with ANALYZE.
    pub actuals: bool,
    /// Total cost: shown only without ANALYZE, where it is the one figure per node.
    pub cost: bool,
    /// Buffers: the plan was run with BUFFERS and some node touched one.
    pub buffers: bool,
}

impl Columns {
    pub fn for_plan(plan: &Plan) -> Columns {
        let actuals = plan.analyzed();
        let time = plan
            .nodes
            .iter()
            .any(|n| n.exclusive_ms.is_some() && !n.never_executed);
        let cost = !actuals && plan.nodes.iter().any(|n| n.total_cost.is_some());
        let buffers = plan
            .nodes
            .iter()
            .any(|n| n.exclusive_buffers.is_some_and(|b| !buffers(&b).is_empty()));
        Columns {
            time,
            actuals,
            cost,
            buffers,
        }
    }

    /// Column headers, in order: `#`, `node`, then the optional ones.
    pub fn headers(&self) -> Vec<&'static str> {
        let mut h = vec![H_ID, H_NODE];
        if self.time {
            h.push(H_TIME);
            h.push(H_SHARE);
        }
        if self.cost {
            h.push(H_COST);
        }
        h.push(if self.actuals { H_ROWS } else { H_ROWS_EST });
        if self.actuals {
            h.push(H_LOOPS);
        }
        if self.buffers {
            h.push(H_BUFFERS);
        }
        h
    }

    /// The cells of one node, matching `headers()` after `#` and `node`.
    pub fn cells(&self, n: &Node) -> Vec<String> {
        let mut c = Vec::with_capacity(6);
        if self.time {
            if n.never_executed {
                c.push("—".to_string());
                c.push("—".to_string());
            } else {
                c.push(n.exclusive_ms.map(duration_ms).unwrap_or_default());
                c.push(n.time_share.map(percent).unwrap_or_default());
            }
        }
        if self.cost {
            c.push(n.total_cost.map(cost).unwrap_or_default());
        }
        c.push(rows(n));
        if self.actuals {
            c.push(loops(n));
        }
        if self.buffers {
            c.push(
                n.exclusive_buffers
                    .as_ref()
                    .map(buffers)
                    .unwrap_or_default(),
            );
        }
        c
    }

    /// Whether the column at `index` (of `headers()`) holds figures to align right.
    pub fn right_aligned(&self, index: usize) -> bool {
        self.headers()
            .get(index)
            .is_some_and(|h| [H_ID, H_TIME, H_SHARE, H_COST, H_LOOPS].contains(h))
    }
}

/// A planner cost: `1,234.56`.
pub fn cost(c: f64) -> String {
    if !c.is_finite() {
        return "?".to_string();
    }
    let s = count(c.trunc());
    format!("{s}.{:02}", ((c.fract() * 100.0).round() as u64).min(99))
}

/// The node as the tree shows it: its label, the InitPlan/SubPlan/CTE it heads, and workers.
/// `[InitPlan 1 (returns $0)] Seq Scan on t`, `Gather (2/2 workers)`.
pub fn node_text(n: &Node) -> String {
    let mut s = String::new();
    match (&n.details().subplan_name, n.relationship.as_deref()) {
        (Some(name), _) => {
            s.push('[');
            s.push_str(name);
            s.push_str("] ");
        }
        (None, Some(r @ ("InitPlan" | "SubPlan"))) => {
            s.push('[');
            s.push_str(r);
            s.push_str("] ");
        }
        _ => {}
    }
    s.push_str(&n.label());
    if let Some(planned) = n.details().workers_planned {
        match n.details().workers_launched {
            Some(l) => s.push_str(&format!(" ({}/{} workers)", count(l), count(planned))),
            None => s.push_str(&format!(" ({} workers planned)", count(planned))),
        }
    }
    one_line(&s)
}

/// Tree prefixes for every node of a plan, in pre-order, with `sp` as the blank (a space, or a
/// non-breaking space for Markdown where leading spaces are dropped): `├─ `, `│  └─ `.
/// Linear in the plan size: deep levels are cut at [`MAX_TREE_LEVELS`].
pub fn tree_prefixes(plan: &Plan, sp: char) -> Vec<String> {
    let n = plan.nodes.len();
    // The last child of each node: in pre-order, later children have larger ids.
    let mut last_child: Vec<Option<usize>> = vec![None; n];
    for node in &plan.nodes {
        if let Some(p) = node.parent {
            if p < n {
                let slot = &mut last_child[p];
                if slot.is_none_or(|c| c < node.id) {
                    *slot = Some(node.id);
                }
            }
        }
    }
    let blank: String = [sp, sp, sp].iter().collect();
    let bar: String = ['│', sp, sp].iter().collect();
    let tee: String = ['├', '─', sp].iter().collect();
    let elbow: String = ['└', '─', sp].iter().collect();
    // more[k]: whether the ancestor at level k+1 has siblings after it (draw a bar under it).
    let mut more: Vec<bool> = Vec::new();
    let mut out = Vec::with_capacity(n);
    for node in &plan.nodes {
        let d = node.depth;
        if d == 0 || node.parent.is_none() {
            more.clear();
            out.push(String::new());
            continue;
        }
        more.resize(d - 1, false);
        let mut s = String::new();
        let from = if d - 1 > MAX_TREE_LEVELS {
            s.push('⋯');
            s.push_str(&d.to_string());
            s.push(sp);
            d - 1 - MAX_TREE_LEVELS
        } else {
            0
        };
        for &m in &more[from..] {
            s.push_str(if m { &bar } else { &blank });
        }
        let is_last = node
            .parent
            .and_then(|p| last_child.get(p).copied().flatten())
            == Some(node.id);
        s.push_str(if is_last { &elbow } else { &tee });
        more.push(!is_last);
        out.push(s);
    }
    out
}

/// The hot nodes: up to [`HOT_MAX`] nodes with the most exclusive time whose share is at least
/// [`HOT_SHARE`]. Returns a flag per node.
pub fn hot_nodes(plan: &Plan) -> Vec<bool> {
    let mut flags = vec![false; plan.nodes.len()];
    let mut cands: Vec<(f64, usize)> = plan
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.time_share.is_some_and(|s| s >= HOT_SHARE))
        .map(|(i, n)| (n.exclusive_ms.unwrap_or(0.0), i))
        .collect();
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in cands.into_iter().take(HOT_MAX) {
        flags[i] = true;
    }
    flags
}

/// Findings grouped by severity, worst first; input order kept within a group. Empty groups are
/// left out.
pub fn by_severity(findings: &[Finding]) -> Vec<(Severity, Vec<&Finding>)> {
    SEVERITY_ORDER
        .iter()
        .map(|&s| {
            (
                s,
                findings
                    .iter()
                    .filter(|f| f.severity == s)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// `1 error, 2 warnings, 1 info`, or `no findings`.
pub fn finding_counts(findings: &[Finding]) -> String {
    let groups = by_severity(findings);
    if groups.is_empty() {
        return "no findings".to_string();
    }
    groups
        .iter()
        .map(|(s, v)| match (s, v.len()) {
            (Severity::Info, n) => format!("{n} info"),
            (s, 1) => format!("1 {s}"),
            (s, n) => format!("{n} {s}s"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Errors (2)`, `Warnings (1)`, `Info (3)`.
/// One line per suppressed finding: `P001 seq-scan-large-table (ignored at line 3: reason)`.
pub fn suppressed_lines(pr: &crate::report::PlanReport) -> Vec<String> {
    pr.suppressed
        .iter()
        .map(|s| {
            let what = if s.scope == "file" {
                "ignore-file"
            } else {
                "ignore"
            };
            let reason = s
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            format!(
                "{} {} (`pgdiag: {what}` at line {}{reason})",
                s.finding.rule, s.finding.name, s.line
            )
        })
        .collect()
}

/// One line per finding the baseline already had: `P001 seq-scan-large-table · node 1: Seq Scan on
/// orders`.
pub fn in_baseline_lines(pr: &crate::report::PlanReport) -> Vec<String> {
    pr.in_baseline
        .iter()
        .map(|f| {
            let at = match (f.node, &pr.plan) {
                (Some(id), Some(p)) if id < p.nodes.len() => {
                    format!(" · node {id}: {}", p.nodes[id].label())
                }
                _ => String::new(),
            };
            format!("{} {}{at}", f.rule, f.name)
        })
        .collect()
}

/// The baseline section: a summary line, then one line per new and per gone query.
pub fn baseline_lines(b: &crate::report::BaselineSummary) -> Vec<String> {
    let mut out = vec![format!(
        "{} matched, {} new, {} gone",
        plural(b.matched, "query", "queries"),
        b.new.len(),
        b.gone.len()
    )];
    out.extend(b.new.iter().map(|n| format!("new: {n}")));
    out.extend(b.gone.iter().map(|g| format!("gone: {}", g.describe())));
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

pub fn severity_title(sev: Severity, n: usize) -> String {
    match sev {
        Severity::Error => format!("Errors ({n})"),
        Severity::Warning => format!("Warnings ({n})"),
        Severity::Info => format!("Info ({n})"),
    }
}

/// The summary line of a plan:
/// `json · planning 0.559 ms · execution 57.0 ms · 3 nodes · 1 error, 1 warning`
pub fn summary(plan: &Plan, findings: &[Finding]) -> String {
    summary_parts(plan, findings).join(" · ")
}

pub fn summary_parts(plan: &Plan, findings: &[Finding]) -> Vec<String> {
    let mut parts = vec![plan.format.clone()];
    if let Some(p) = plan.planning_ms {
        parts.push(format!("planning {}", duration_ms(p)));
    }
    if let Some(e) = plan.execution_ms {
        parts.push(format!("execution {}", duration_ms(e)));
    } else if let Some(t) = plan.total_ms() {
        parts.push(format!("total {}", duration_ms(t)));
    }
    if !plan.analyzed() {
        parts.push("estimates only (no ANALYZE)".to_string());
    }
    let n = plan.nodes.len();
    parts.push(format!(
        "{} node{}",
        count(n as f64),
        if n == 1 { "" } else { "s" }
    ));
    parts.push(finding_counts(findings));
    parts.retain(|p| !p.is_empty());
    parts
}

/// Lines about triggers and JIT, when the plan printed them.
pub fn extras(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for t in &plan.triggers {
        let mut s = format!("trigger {}", t.name);
        if let Some(r) = &t.relation {
            s.push_str(&format!(" on {r}"));
        }
        if let Some(ms) = t.time_ms {
            s.push_str(&format!(": {}", duration_ms(ms)));
        }
        if let Some(c) = t.calls {
            s.push_str(&format!(", {} calls", count(c)));
        }
        out.push(s);
    }
    if let Some(j) = &plan.jit {
        let mut parts = Vec::new();
        if let Some(f) = j.functions {
            parts.push(format!("{} functions", count(f)));
        }
        if let Some(t) = j.total_ms {
            parts.push(format!("{} total", duration_ms(t)));
        }
        if parts.is_empty() {
            out.push("JIT".to_string());
        } else {
            out.push(format!("JIT: {}", parts.join(", ")));
        }
    }
    out
}

/// How a plan report is named: its source, with `(plan K)` when the report holds several plans
/// from the same source.
pub fn plan_title(report: &Report, pr: &PlanReport) -> String {
    match plan_number(report, pr) {
        Some(k) => format!("{} (plan {k})", pr.source),
        None => pr.source.clone(),
    }
}

/// The 1-based position of the plan in its source, when the report holds several plans from it.
pub fn plan_number(report: &Report, pr: &PlanReport) -> Option<usize> {
    let idx = pr.plan.as_ref().map(|p| p.index_in_source)?;
    if idx > 0 {
        return Some(idx + 1);
    }
    let same = report
        .plans
        .iter()
        .filter(|o| o.source == pr.source && o.plan.is_some())
        .take(2)
        .count();
    (same > 1).then_some(1)
}

/// Split a parse error (`source:line: what`, as `ParseError` prints it) into line and message.
/// Text that does not start with the source is returned whole.
pub fn split_error<'a>(source: &str, error: &'a str) -> (Option<usize>, &'a str) {
    let Some(rest) = error.strip_prefix(source).and_then(|r| r.strip_prefix(':')) else {
        return (None, error.trim());
    };
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 {
        if let Some(msg) = rest[digits..].strip_prefix(':') {
            if let Ok(line) = rest[..digits].parse() {
                return (Some(line), msg.trim());
            }
        }
    }
    (None, rest.trim())
}

/// Text on one line: newlines and tabs become spaces.
pub fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r', '\t']) {
        s.split(['\n', '\r', '\t'])
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        s.to_string()
    }
}

/// Word-wrap `text` to `width` characters per line (at least 20), each line after the first
/// starting with `indent` — which the first line's caller already printed.
pub fn wrap(text: &str, width: Option<usize>, indent: &str) -> String {
    wrap_after(text, width, indent.chars().count(), indent)
}

/// [`wrap`] for text printed after `used` columns of the first line.
pub fn wrap_after(text: &str, width: Option<usize>, used: usize, indent: &str) -> String {
    let text = one_line(text);
    let Some(width) = width else {
        return text;
    };
    let ind = indent.chars().count();
    let avail = width.saturating_sub(ind).max(20);
    let mut out = String::with_capacity(text.len() + 16);
    // Columns used on the current line, counted from the indent.
    let mut col = used.saturating_sub(ind);
    let mut first = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let wl = word.chars().count();
        let sep = usize::from(!first);
        first = false;
        if col > 0 && col + sep + wl > avail {
            out.push('\n');
            out.push_str(indent);
            col = 0;
        } else if sep == 1 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += wl;
    }
    out
}

/// Join `parts` with `sep`, breaking lines only between parts so none exceeds `width` (a part
/// longer than the width gets a line of its own).
pub fn wrap_list(parts: &[String], sep: &str, width: Option<usize>) -> String {
    let parts: Vec<String> = parts.iter().map(|p| one_line(p)).collect();
    let Some(width) = width else {
        return parts.join(sep);
    };
    let sep_w = sep.chars().count();
    let sep_end = sep.trim_end();
    let mut out = String::new();
    let mut col = 0usize;
    for (i, p) in parts.iter().enumerate() {
        let pw = p.chars().count();
        if i > 0 {
            if col + sep_w + pw > width {
                out.push_str(sep_end);
                out.push('\n');
                col = 0;
            } else {
                out.push_str(sep);
                col += sep_w;
            }
        }
        out.push_str(p);
        col += pw;
    }
    out
}

/// ANSI styling, or nothing at all when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub on: bool,
}

impl Paint {
    fn wrap(&self, s: &str, code: &str) -> String {
        if self.on && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap(s, "1")
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap(s, "2")
    }
    pub fn severity(&self, sev: Severity, s: &str) -> String {
        match sev {
            Severity::Error => self.wrap(s, "1;31"),
            Severity::Warning => self.wrap(s, "1;33"),
            Severity::Info => self.wrap(s, "1;36"),
        }
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap(s, "1;31")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(count(0.0), "0");
        assert_eq!(count(1.0), "1");
        assert_eq!(count(999.0), "999");
        assert_eq!(count(52000.0), "52,000");
        assert_eq!(count(1234567.0), "1,234,567");
        assert_eq!(count(20.5), "20.50");
        assert_eq!(count(-1234.0), "-1,234");
        assert_eq!(count(f64::NAN), "?");
        assert!(count(1e300).len() > 300);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0.052), "0.052 ms");
        assert_eq!(duration_ms(7.426), "7.43 ms");
        assert_eq!(duration_ms(54.416), "54.4 ms");
        assert_eq!(duration_ms(1234.0), "1.23 s");
        assert_eq!(duration_ms(12345.0), "12.3 s");
        assert_eq!(duration_ms(123_000.0), "2 min 03 s");
        assert_eq!(duration_ms(3_720_000.0), "1 h 02 min");
    }

    #[test]
    fn factors() {
        assert_eq!(factor(52000.0, EstimateDirection::Under), "▲52000×");
        assert_eq!(factor(3.5, EstimateDirection::Over), "▼3.5×");
        assert_eq!(factor(1.0, EstimateDirection::Over), "");
    }

    #[test]
    fn costs() {
        assert_eq!(cost(57738.3), "57,738.30");
        assert_eq!(cost(0.0), "0.00");
    }

    #[test]
    fn errors_split() {
        assert_eq!(
            split_error("a.json", "a.json:3: cannot read json plan: EOF"),
            (Some(3), "cannot read json plan: EOF")
        );
        assert_eq!(
            split_error("a.json", "a.json: no plan found"),
            (None, "no plan found")
        );
        assert_eq!(split_error("a.json", "boom"), (None, "boom"));
    }

    #[test]
    fn wraps_lists() {
        let parts: Vec<String> = [
            "json",
            "planning 0.605 ms",
            "execution 663.2 ms",
            "1 error, 2 warnings",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            wrap_list(&parts, " · ", None),
            "json · planning 0.605 ms · execution 663.2 ms · 1 error, 2 warnings"
        );
        assert_eq!(
            wrap_list(&parts, " · ", Some(30)),
            "json · planning 0.605 ms ·\nexecution 663.2 ms ·\n1 error, 2 warnings"
        );
    }

    #[test]
    fn wraps() {
        assert_eq!(wrap("a b c", None, "  "), "a b c");
        let w = wrap(&"word ".repeat(20), Some(30), "  ");
        assert!(w.lines().all(|l| l.chars().count() <= 30));
        assert!(w.lines().skip(1).all(|l| l.starts_with("  ")));
        let w = wrap_after(&"word ".repeat(20), Some(30), 10, "  ");
        assert!(w.lines().next().unwrap().chars().count() <= 20, "{w}");
    }
}
