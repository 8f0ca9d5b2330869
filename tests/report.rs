//! The report renderers: table, Markdown, concise and JSON, over a fixed report built from a real
//! generated plan, hand-made findings of each severity and one unreadable source.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use pgdiag::plan::{parse_source, Buffers, Node, Plan};
use pgdiag::report::{write, OutputFormat, PlanReport, RenderOptions, Report};
use pgdiag::rules::{Finding, Severity};
use serde_json::{json, Value};

const HASHJOIN: &str = "fixtures/plans/generated/pg17/d_hashjoin_batches.json";
const SOURCE: &str = "plans/hashjoin.json";
const BAD: &str = "plans/bad.json";
const BAD_ERROR: &str =
    "plans/bad.json:7: cannot read json plan: EOF while parsing an object (column 3)";

/// Labels of the hash-join plan, in pre-order, with depth.
const LABELS: [(&str, usize); 5] = [
    ("Aggregate", 0),
    ("Hash Join", 1),
    ("Seq Scan on big b", 2),
    ("Hash", 2),
    ("Seq Scan on orders o", 3),
];

fn load(path: &str, source: &str) -> Plan {
    let text = std::fs::read_to_string(common::root().join(path)).unwrap();
    let mut plans = parse_source(source, &text).unwrap();
    assert_eq!(plans.len(), 1, "{path}");
    plans.remove(0)
}

fn finding(
    rule: &str,
    name: &str,
    sev: Severity,
    node: Option<usize>,
    msg: &str,
    advice: &str,
) -> Finding {
    let mut evidence = BTreeMap::new();
    evidence.insert("figure".into(), json!(42));
    Finding {
        rule: rule.to_string(),
        name: name.to_string(),
        severity: sev,
        node,
        path: None,
        message: msg.to_string(),
        advice: advice.to_string(),
        evidence,
    }
}

/// Findings out of severity order on purpose: the renderers group them.
fn findings() -> Vec<Finding> {
    vec![
        finding(
            "P011",
            "planning-dominates",
            Severity::Info,
            None,
            "planning took 0.1% of the time",
            "Nothing to do.",
        ),
        finding(
            "P001",
            "seq-scan-large-table",
            Severity::Warning,
            Some(2),
            "Seq Scan read 500,000 rows of big",
            "Add an index on big (id).",
        ),
        finding(
            "P003",
            "work-mem-spill",
            Severity::Error,
            Some(1),
            "Hash Join spilled 1,535 blocks to disk",
            "Raise work_mem to 64MB for this query.",
        ),
        finding(
            "P012",
            "hot-spot",
            Severity::Warning,
            Some(1),
            "42% of the time is spent in Hash Join",
            "Look at this node first.",
        ),
    ]
}

/// The fixed report: the hash-join plan with findings, and an unreadable source.
fn report() -> Report {
    Report {
        database: None,
        baseline: None,
        plans: vec![
            PlanReport {
                suppressed: Vec::new(),
                in_baseline: Vec::new(),
                source: SOURCE.to_string(),
                plan: Some(load(HASHJOIN, SOURCE)),
                findings: findings(),
                error: None,
                query: None,
            },
            PlanReport {
                suppressed: Vec::new(),
                in_baseline: Vec::new(),
                source: BAD.to_string(),
                plan: None,
                findings: vec![],
                error: Some(BAD_ERROR.to_string()),
                query: None,
            },
        ],
    }
}

fn render(report: &Report, format: OutputFormat, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    write(report, format, opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn plain() -> RenderOptions {
    RenderOptions {
        color: false,
        width: None,
        ..Default::default()
    }
}

/// The line holding each needle, in order, each after the previous one; panics when one is missing.
fn lines_in_order(text: &str, needles: &[&str]) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut at = Vec::new();
    for n in needles {
        let pos = lines[from..]
            .iter()
            .position(|l| l.contains(n))
            .unwrap_or_else(|| panic!("`{n}` not found after line {from} in:\n{text}"));
        at.push(from + pos);
        from += pos + 1;
    }
    at
}

// ---------------------------------------------------------------- table

#[test]
fn table_lists_every_node_in_order_with_figures() {
    let out = render(&report(), OutputFormat::Table, &plain());
    assert!(
        !out.contains('\x1b'),
        "escape codes with colour off:\n{out}"
    );

    // Header.
    let header = lines_in_order(&out, &["══ plans/hashjoin.json ══"])[0];
    let summary = out.lines().nth(header + 1).unwrap();
    assert_eq!(
        summary,
        "json · planning 0.605 ms · execution 663.2 ms · 5 nodes · 1 error, 2 warnings, 1 info"
    );

    // Column headers: ANALYZE and BUFFERS, so every column is there.
    let head = lines_in_order(&out, &["#  node"])[0];
    let head_line = out.lines().nth(head).unwrap();
    let cols: Vec<&str> = head_line
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cols,
        [
            "#",
            "node",
            "self time",
            "share",
            "rows est → actual",
            "loops",
            "self buffers"
        ]
    );

    // One row per node, in pre-order, indented by depth with tree glyphs.
    let rows: Vec<&str> = out.lines().skip(head + 2).take(5).collect();
    let node_col = head_line[..head_line.find("node").unwrap()].chars().count();
    for (row, (label, depth)) in rows.iter().zip(LABELS) {
        assert!(row.contains(label), "{row} lacks {label}");
        let at = row[..row.find(label).unwrap()].chars().count();
        let tree: String = row.chars().skip(node_col).take(at - node_col).collect();
        // Three columns of tree per level: `├─ `, `└─ `, `│  ` or blanks.
        assert_eq!(tree.chars().count(), 3 * depth, "{row}");
        if depth > 0 {
            assert!(tree.ends_with("└─ ") || tree.ends_with("├─ "), "{row}");
        }
    }
    assert!(rows[2].contains("   ├─ Seq Scan on big b"), "{}", rows[2]);
    assert!(rows[3].contains("   └─ Hash"), "{}", rows[3]);
    assert!(
        rows[4].contains("      └─ Seq Scan on orders o"),
        "{}",
        rows[4]
    );
    assert_eq!(
        rows[1].split_whitespace().collect::<Vec<_>>(),
        [
            "▶", "1", "└─", "Hash", "Join", "278.2", "ms", "42.0%", "149,210", "→", "150,000", "1",
            "temp", "read", "2,664", "temp", "written", "1,535"
        ]
    );
    assert!(rows[2].contains("9,345") && rows[2].contains("hit") && rows[2].contains("read 1"));

    // Hot nodes: the three with most exclusive time and ≥ 10% (Hash at 11.8% is fourth).
    let hot: Vec<bool> = rows
        .iter()
        .map(|r| r.trim_start().starts_with('▶'))
        .collect();
    assert_eq!(hot, [false, true, true, false, true]);

    // Findings grouped by severity, worst first, each with node, message and advice.
    let at = lines_in_order(
        &out,
        &[
            "Errors (1)",
            "P003 work-mem-spill · node 1: Hash Join",
            "Hash Join spilled 1,535 blocks to disk",
            "→ Raise work_mem to 64MB for this query.",
            "Warnings (2)",
            "P001 seq-scan-large-table · node 2: Seq Scan on big b",
            "Add an index on big (id).",
            "P012 hot-spot · node 1: Hash Join",
            "Info (1)",
            "P011 planning-dominates · whole plan",
            "══ plans/bad.json ══",
            "error: plans/bad.json:7: cannot read json plan: EOF while parsing an object (column 3)",
        ],
    );
    assert!(at[0] > head + 6);
    assert!(!out.contains("\n\n\n"), "{out}");
}

#[test]
fn table_leaves_out_columns_without_data() {
    // EXPLAIN without ANALYZE: no times, actuals or buffers; cost instead.
    let plan = load(
        "fixtures/plans/generated/pg17/a_seqscan_selective.noanalyze.json",
        "x.json",
    );
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            source: "x.json".into(),
            plan: Some(plan),
            ..Default::default()
        }],
    };
    let out = render(&r, OutputFormat::Table, &plain());
    let head = out.lines().find(|l| l.contains("#  node")).unwrap();
    let cols: Vec<&str> = head
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cols, ["#", "node", "cost", "rows est"], "{out}");
    assert!(out.contains("Seq Scan on big  21,846.00  20"), "{out}");
    assert!(out.contains("estimates only (no ANALYZE)"));
    assert!(out.contains("No findings."));

    // ANALYZE without BUFFERS (PG 17): no buffers column.
    let plan = load(
        "fixtures/plans/generated/pg17/a_seqscan_selective.analyze_only.json",
        "y.json",
    );
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            source: "y.json".into(),
            plan: Some(plan),
            ..Default::default()
        }],
    };
    let out = render(&r, OutputFormat::Table, &plain());
    let head = out.lines().find(|l| l.contains("#  node")).unwrap();
    let cols: Vec<&str> = head
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cols,
        [
            "#",
            "node",
            "self time",
            "share",
            "rows est → actual",
            "loops"
        ],
        "{out}"
    );
    // The one node has all the time.
    assert!(out.contains("▶ 0  Seq Scan on big"), "{out}");
    assert!(out.contains("100.0%"));
}

#[test]
fn table_colour_only_when_asked() {
    let r = report();
    let coloured = render(
        &r,
        OutputFormat::Table,
        &RenderOptions {
            color: true,
            width: None,
            ..Default::default()
        },
    );
    assert!(
        coloured.contains("\x1b[1;31mErrors (1)\x1b[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\x1b[1;33mWarnings (2)\x1b[0m"));
    assert!(coloured.contains("\x1b[1;36mInfo (1)\x1b[0m"));
    // Hot rows are coloured by comfy-table.
    let hot_row = coloured
        .lines()
        .find(|l| l.contains("Seq Scan on orders o"))
        .unwrap();
    assert!(hot_row.contains('\x1b'), "{hot_row}");
    let cold_row = coloured.lines().find(|l| l.contains("Aggregate")).unwrap();
    assert!(!cold_row.contains('\x1b'), "{cold_row}");

    for format in [
        OutputFormat::Table,
        OutputFormat::Markdown,
        OutputFormat::Concise,
        OutputFormat::Json,
    ] {
        for width in [None, Some(50)] {
            let out = render(
                &r,
                format,
                &RenderOptions {
                    color: false,
                    width,
                    ..Default::default()
                },
            );
            assert!(!out.contains('\x1b'), "{format:?} {width:?}:\n{out}");
        }
    }
}

#[test]
fn table_fits_the_width() {
    let r = report();
    let full = render(&r, OutputFormat::Table, &plain());
    let widest = full.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest > 100, "{full}");
    for width in [30u16, 40, 60, 80, 100, 120, 200] {
        let out = render(
            &r,
            OutputFormat::Table,
            &RenderOptions {
                color: false,
                width: Some(width),
                ..Default::default()
            },
        );
        for line in out.lines() {
            assert!(
                line.chars().count() <= usize::from(width),
                "width {width}: `{line}`\n{out}"
            );
        }
        // Every node keeps its row, in order; labels may be cut with `…`.
        let at = lines_in_order(&out, &[" 0  ", " 1  ", " 2  ", " 3  ", " 4  "]);
        assert_eq!(
            at.windows(2).filter(|w| w[1] == w[0] + 1).count(),
            4,
            "{out}"
        );
        if width >= 60 {
            for (label, _) in LABELS {
                assert!(out.contains(label), "width {width}: {label}\n{out}");
            }
        }
        if width < 120 {
            assert!(out.contains("(left out to fit"), "{out}");
        }
    }
}

// ---------------------------------------------------------------- markdown

/// Split a GFM table row into cells (pipes escaped with `\` do not split).
fn md_cells(row: &str) -> Vec<String> {
    assert!(row.starts_with("| ") && row.ends_with(" |"), "{row}");
    let inner = &row[1..row.len() - 1];
    let mut cells = vec![String::new()];
    let mut prev = ' ';
    for ch in inner.chars() {
        if ch == '|' && prev != '\\' {
            cells.push(String::new());
        } else {
            cells.last_mut().unwrap().push(ch);
        }
        prev = ch;
    }
    cells
        .iter()
        .map(|c| c.trim_matches(' ').to_string())
        .collect()
}

#[test]
fn markdown_table_and_findings() {
    let mut r = report();
    // A label with a pipe must not break the table.
    r.plans[0].plan.as_mut().unwrap().nodes[2].alias = Some("b|x".into());
    let out = render(&r, OutputFormat::Markdown, &plain());
    assert!(!out.contains('\x1b'));

    let headings: Vec<&str> = out.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(headings, ["## plans/hashjoin.json", "## plans/bad.json"]);
    assert!(out.contains(
        "\njson · planning 0.605 ms · execution 663.2 ms · 5 nodes · 1 error, 2 warnings, 1 info\n"
    ));

    let table: Vec<&str> = out.lines().filter(|l| l.starts_with('|')).collect();
    assert_eq!(table.len(), 2 + 5, "{out}");
    assert_eq!(
        md_cells(table[0]),
        [
            "#",
            "node",
            "self time",
            "share",
            "rows est → actual",
            "loops",
            "self buffers"
        ]
    );
    assert_eq!(
        md_cells(table[1]),
        ["--:", "---", "--:", "--:", "---", "--:", "---"]
    );
    for row in &table {
        assert_eq!(md_cells(row).len(), 7, "{row}");
    }
    // The table is one block: a blank line before it and after it.
    let first = out.find(table[0]).unwrap();
    assert!(out[..first].ends_with("\n\n"));
    let last = table[6];
    let end = out.find(last).unwrap() + last.len();
    assert!(out[end..].starts_with("\n\n"));

    let cells = md_cells(table[2 + 2]);
    assert_eq!(cells[0], "▶ **2**");
    assert_eq!(
        cells[1],
        "\u{a0}\u{a0}\u{a0}├─\u{a0}**Seq Scan on big b\\|x**"
    );
    assert_eq!(cells[2], "195.5 ms");
    assert_eq!(cells[4], "497,367 → 500,000");
    assert_eq!(md_cells(table[2])[1], "Aggregate");
    assert_eq!(md_cells(table[2 + 3])[0], "3");
    assert_eq!(md_cells(table[2 + 3])[1], "\u{a0}\u{a0}\u{a0}└─\u{a0}Hash");

    let at = lines_in_order(
        &out,
        &[
            "### Errors (1)",
            "- **P003** `work-mem-spill` (node 1: Hash Join): Hash Join spilled 1,535 blocks to disk",
            "  - *Advice:* Raise work\\_mem to 64MB for this query.",
            "### Warnings (2)",
            "- **P001** `seq-scan-large-table` (node 2: Seq Scan on big b\\|x): Seq Scan read 500,000 rows of big",
            "  - *Advice:* Add an index on big (id).",
            "- **P012** `hot-spot` (node 1: Hash Join): 42% of the time is spent in Hash Join",
            "### Info (1)",
            "- **P011** `planning-dominates` (whole plan): planning took 0.1% of the time",
            "## plans/bad.json",
            "**Error:** plans/bad.json:7: cannot read json plan: EOF while parsing an object (column 3)",
        ],
    );
    // Blocks are separated by exactly one blank line; the document ends with its last line.
    assert!(!out.contains("\n\n\n"), "{out}");
    assert!(out.ends_with("(column 3)\n"), "{out}");
    // Headings and list blocks are separated by blank lines.
    let lines: Vec<&str> = out.lines().collect();
    for &i in &[at[0], at[3], at[7]] {
        assert_eq!(lines[i - 1], "", "{out}");
        assert_eq!(lines[i + 1], "", "{out}");
    }
}

// ---------------------------------------------------------------- concise

#[test]
fn concise_one_line_per_finding() {
    let out = render(&report(), OutputFormat::Concise, &plain());
    assert_eq!(
        out,
        "plans/hashjoin.json node 1: error P003[work-mem-spill]: Hash Join spilled 1,535 blocks to disk\n\
         plans/hashjoin.json node 2: warning P001[seq-scan-large-table] Seq Scan on big b: Seq Scan read 500,000 rows of big\n\
         plans/hashjoin.json node 1: warning P012[hot-spot] Hash Join: 42% of the time is spent in Hash Join\n\
         plans/hashjoin.json: info P011[planning-dominates]: planning took 0.1% of the time\n\
         plans/bad.json:7: error: cannot read json plan: EOF while parsing an object (column 3)\n"
    );
}

#[test]
fn concise_is_empty_without_findings_and_one_line_per_message() {
    let mut r = report();
    r.plans.truncate(1);
    r.plans[0].findings.clear();
    assert_eq!(render(&r, OutputFormat::Concise, &plain()), "");

    // Multi-line messages stay on one line; an error without a line number keeps `source: error:`.
    r.plans[0].findings = vec![finding(
        "P002",
        "row-estimate-mismatch",
        Severity::Warning,
        Some(4),
        "estimated 1 row\nactual 52,000",
        "",
    )];
    r.plans.push(PlanReport {
        suppressed: Vec::new(),
        in_baseline: Vec::new(),
        source: "-".into(),
        plan: None,
        findings: vec![],
        error: Some("-: no plan found".into()),
        query: None,
    });
    assert_eq!(
        render(&r, OutputFormat::Concise, &plain()),
        "plans/hashjoin.json node 4: warning P002[row-estimate-mismatch] Seq Scan on orders o: estimated 1 row actual 52,000\n\
         -: error: no plan found\n"
    );
}

#[test]
fn concise_error_from_the_parser() {
    let err =
        parse_source("broken.json", "[{\"Plan\": {\"Node Type\": \"Seq Scan\",\n").unwrap_err();
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            suppressed: Vec::new(),
            in_baseline: Vec::new(),
            source: "broken.json".into(),
            plan: None,
            findings: vec![],
            error: Some(err.to_string()),
            query: None,
        }],
    };
    let out = render(&r, OutputFormat::Concise, &plain());
    assert_eq!(out.lines().count(), 1, "{out}");
    let line = err.line.expect("the parser reports a line");
    assert!(
        out.starts_with(&format!("broken.json:{line}: error: ")),
        "{out}"
    );
}

#[test]
fn concise_numbers_plans_sharing_a_source() {
    let text = std::fs::read_to_string(common::root().join(HASHJOIN)).unwrap();
    let both = format!("{text}\n{text}");
    let plans = parse_source("two.json", &both).unwrap();
    assert_eq!(plans.len(), 2);
    let r = Report {
        database: None,
        baseline: None,
        plans: plans
            .into_iter()
            .map(|p| PlanReport {
                suppressed: Vec::new(),
                in_baseline: Vec::new(),
                source: "two.json".into(),
                plan: Some(p),
                findings: vec![finding(
                    "P012",
                    "hot-spot",
                    Severity::Info,
                    Some(0),
                    "m",
                    "a",
                )],
                error: None,
                query: None,
            })
            .collect(),
    };
    assert_eq!(
        render(&r, OutputFormat::Concise, &plain()),
        "two.json[1] node 0: info P012[hot-spot] Aggregate: m\ntwo.json[2] node 0: info P012[hot-spot] Aggregate: m\n"
    );
    let table = render(&r, OutputFormat::Table, &plain());
    lines_in_order(
        &table,
        &["══ two.json (plan 1) ══", "══ two.json (plan 2) ══"],
    );
}

// ---------------------------------------------------------------- json

/// The contract: key → JSON type (`n` number, `s` string, `b` bool, `a` array, `o` object, with
/// `?` for nullable).
const PLAN_KEYS: &[(&str, &str)] = &[
    ("source", "s"),
    ("format", "s?"),
    ("planning_ms", "n?"),
    ("execution_ms", "n?"),
    ("nodes", "a"),
    ("findings", "a"),
    ("error", "s?"),
];
const NODE_KEYS: &[(&str, &str)] = &[
    ("id", "n"),
    ("parent", "n?"),
    ("depth", "n"),
    ("relationship", "s?"),
    ("node_type", "s"),
    ("join_type", "s?"),
    ("strategy", "s?"),
    ("partial_mode", "s?"),
    ("parallel_aware", "b"),
    ("operation", "s?"),
    ("relation", "s?"),
    ("schema", "s?"),
    ("alias", "s?"),
    ("index", "s?"),
    ("startup_cost", "n?"),
    ("total_cost", "n?"),
    ("plan_rows", "n?"),
    ("plan_width", "n?"),
    ("actual_startup_ms", "n?"),
    ("actual_total_ms", "n?"),
    ("actual_rows", "n?"),
    ("actual_loops", "n?"),
    ("never_executed", "b"),
    ("inclusive_ms", "n?"),
    ("exclusive_ms", "n?"),
    // Extensions.
    ("time_share", "n?"),
    ("extra", "o"),
    ("label", "s"),
    ("estimate_factor", "n?"),
    ("estimate_direction", "s?"),
    ("path", "s"),
    ("children", "a"),
];
const FINDING_KEYS: &[(&str, &str)] = &[
    ("rule", "s"),
    ("name", "s"),
    ("severity", "s"),
    ("node", "n?"),
    ("message", "s"),
    ("advice", "s"),
    ("evidence", "o"),
    // Extensions.
    ("path", "s?"),
    ("node_label", "s?"),
];

fn check_type(v: &Value, ty: &str, what: &str) {
    let nullable = ty.ends_with('?');
    if nullable && v.is_null() {
        return;
    }
    let ok = match ty.trim_end_matches('?') {
        "n" => v.is_number(),
        "s" => v.is_string(),
        "b" => v.is_boolean(),
        "a" => v.is_array(),
        "o" => v.is_object(),
        t => panic!("bad type {t}"),
    };
    assert!(ok, "{what}: expected {ty}, got {v}");
}

fn check_keys(obj: &Value, keys: &[(&str, &str)], what: &str) {
    let map = obj
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object"));
    for (k, ty) in keys {
        let v = map
            .get(*k)
            .unwrap_or_else(|| panic!("{what} lacks `{k}`: {obj}"));
        check_type(v, ty, &format!("{what}.{k}"));
    }
}

#[test]
fn json_keeps_the_contract() {
    let r = report();
    let out = render(&r, OutputFormat::Json, &plain());
    let doc: Value = serde_json::from_str(&out).unwrap();
    let top: Vec<&String> = doc.as_object().unwrap().keys().collect();
    // schema_version comes first, so a reader can check it before the (possibly huge) plans.
    assert_eq!(top, ["schema_version", "plans"]);
    assert_eq!(doc["schema_version"], 1);
    let plans = doc["plans"].as_array().unwrap();
    assert_eq!(plans.len(), 2);

    let p = &plans[0];
    check_keys(p, PLAN_KEYS, "plan");
    assert_eq!(p["source"], SOURCE);
    assert_eq!(p["format"], "json");
    assert_eq!(p["planning_ms"], 0.605);
    assert_eq!(p["execution_ms"], 663.152);
    assert!(p["error"].is_null());
    // Plan extras.
    assert_eq!(p["total_ms"], 663.152);
    assert_eq!(p["analyzed"], true);
    assert!(p["settings"].is_object() && p["extra"].is_object() && p["triggers"].is_array());

    let nodes = p["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    let plan = r.plans[0].plan.as_ref().unwrap();
    for (i, n) in nodes.iter().enumerate() {
        check_keys(n, NODE_KEYS, &format!("node {i}"));
        let model = &plan.nodes[i];
        assert_eq!(n["id"], i);
        assert_eq!(n["label"], LABELS[i].0);
        assert_eq!(n["depth"], LABELS[i].1);
        assert_eq!(n["node_type"], model.node_type.as_str());
        assert_eq!(n["actual_rows"].as_f64(), model.actual_rows);
        assert_eq!(n["actual_loops"].as_f64(), model.actual_loops);
        // Parent links: pre-order, the parent comes first and lists the node as a child.
        match n["parent"].as_u64() {
            None => assert_eq!(i, 0),
            Some(par) => {
                let par = par as usize;
                assert!(par < i);
                assert_eq!(
                    nodes[par]["depth"].as_u64().unwrap() + 1,
                    n["depth"].as_u64().unwrap()
                );
                assert!(nodes[par]["children"]
                    .as_array()
                    .unwrap()
                    .contains(&json!(i)));
            }
        }
        let exclusive = n["exclusive_ms"].as_f64().unwrap();
        assert!((exclusive - model.exclusive_ms.unwrap()).abs() < 1e-6);
    }
    let parents: Vec<Value> = nodes.iter().map(|n| n["parent"].clone()).collect();
    assert_eq!(
        parents,
        [json!(null), json!(0), json!(1), json!(1), json!(3)]
    );
    assert_eq!(
        nodes[4]["path"],
        "Aggregate > Hash Join > Hash > Seq Scan on orders o"
    );
    assert_eq!(nodes[1]["exclusive_ms"], 278.2);
    assert_eq!(nodes[1]["estimate_direction"], "under");
    assert!(nodes[1]["extra"].is_object());
    assert_eq!(nodes[0]["relationship"], Value::Null);
    assert_eq!(nodes[3]["relationship"], "Inner");

    // Findings: as given (the engine sorts them), with the contract's keys.
    let fs = p["findings"].as_array().unwrap();
    assert_eq!(fs.len(), 4);
    for f in fs {
        check_keys(f, FINDING_KEYS, "finding");
        assert_eq!(f["evidence"]["figure"], 42);
    }
    assert_eq!(fs[2]["rule"], "P003");
    assert_eq!(fs[2]["severity"], "error");
    assert_eq!(fs[2]["node"], 1);
    assert_eq!(fs[2]["node_label"], "Hash Join");
    assert_eq!(fs[0]["node"], Value::Null);

    // The unreadable source.
    let bad = &plans[1];
    check_keys(bad, PLAN_KEYS, "bad plan");
    assert_eq!(bad["source"], BAD);
    assert_eq!(bad["error"], BAD_ERROR);
    assert!(
        bad["format"].is_null() && bad["planning_ms"].is_null() && bad["execution_ms"].is_null()
    );
    assert_eq!(bad["nodes"], json!([]));
    assert_eq!(bad["findings"], json!([]));
}

#[test]
fn json_extra_is_an_object_and_settings_too() {
    let plan = load(
        "fixtures/plans/generated/pg17/k_update_fk_triggers.full.json",
        "k.json",
    );
    let expected_settings = plan.settings.clone();
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            source: "k.json".into(),
            plan: Some(plan),
            ..Default::default()
        }],
    };
    let doc: Value = serde_json::from_str(&render(&r, OutputFormat::Json, &plain())).unwrap();
    let p = &doc["plans"][0];
    for (k, v) in expected_settings {
        assert_eq!(p["settings"][&k], v.as_str());
    }
    assert_eq!(p["triggers"].as_array().unwrap().len(), 2);
    assert_eq!(p["triggers"][1]["name"], "child_touch");
    assert_eq!(p["nodes"][0]["label"], "Update on public.child");
}

// ---------------------------------------------------------------- every plan we have

fn render_all_formats(path: &Path, source: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let plans = match parse_source(source, &text) {
        Ok(p) => p,
        Err(e) => {
            // Not this module's concern; still, an error must render.
            let r = Report {
                database: None,
                baseline: None,
                plans: vec![PlanReport {
                    suppressed: Vec::new(),
                    in_baseline: Vec::new(),
                    source: source.into(),
                    plan: None,
                    findings: vec![],
                    error: Some(e.to_string()),
                    query: None,
                }],
            };
            for f in [
                OutputFormat::Table,
                OutputFormat::Markdown,
                OutputFormat::Concise,
                OutputFormat::Json,
            ] {
                render(&r, f, &plain());
            }
            return;
        }
    };
    let counts: Vec<usize> = plans.iter().map(|p| p.nodes.len()).collect();
    let r = Report {
        database: None,
        baseline: None,
        plans: plans
            .into_iter()
            .map(|p| PlanReport {
                suppressed: Vec::new(),
                in_baseline: Vec::new(),
                source: source.into(),
                findings: vec![finding(
                    "P012",
                    "hot-spot",
                    Severity::Warning,
                    Some(0),
                    "m",
                    "a",
                )],
                plan: Some(p),
                error: None,
                query: None,
            })
            .collect(),
    };
    for width in [None, Some(80)] {
        let opts = RenderOptions {
            color: false,
            width,
            ..Default::default()
        };
        let table = render(&r, OutputFormat::Table, &opts);
        assert!(!table.contains('\x1b'));
        if let Some(w) = width {
            // The title holds the path, which cannot be cut; everything else fits.
            for l in table.lines().filter(|l| !l.starts_with("══")) {
                assert!(l.chars().count() <= usize::from(w), "{source}: `{l}`");
            }
        }
    }
    let md = render(&r, OutputFormat::Markdown, &plain());
    let rows = md.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(
        rows,
        counts.iter().map(|c| c + 2).sum::<usize>(),
        "{source}"
    );
    let concise = render(&r, OutputFormat::Concise, &plain());
    assert_eq!(concise.lines().count(), counts.len(), "{source}");
    let doc: Value = serde_json::from_str(&render(&r, OutputFormat::Json, &plain())).unwrap();
    for (p, n) in doc["plans"].as_array().unwrap().iter().zip(&counts) {
        let nodes = p["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), *n, "{source}");
        for (i, node) in nodes.iter().enumerate() {
            check_keys(node, NODE_KEYS, &format!("{source} node {i}"));
        }
    }
}

#[test]
fn renders_every_generated_plan() {
    let dir = common::root().join("fixtures/plans/generated");
    let files = common::files_with_ext(&dir, &["json"]);
    assert!(files.len() > 50);
    for f in files {
        let source = f
            .strip_prefix(common::root())
            .unwrap()
            .display()
            .to_string();
        render_all_formats(&f, &source);
    }
}

#[test]
fn renders_every_real_json_plan() {
    let Some(dir) = common::shared_plans() else {
        return;
    };
    let files = common::files_with_ext(&dir.join("real/plans"), &["json"]);
    assert!(!files.is_empty());
    for f in files {
        render_all_formats(&f, &f.display().to_string());
    }
}

#[test]
fn initplans_subplans_and_ctes_are_shown() {
    let Some(dir) = common::shared_plans() else {
        return;
    };
    let path = dir.join("real/plans/pg_flame/docs-cte.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let plan = parse_source("cte.json", &text).unwrap().remove(0);
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            source: "cte.json".into(),
            plan: Some(plan),
            ..Default::default()
        }],
    };
    let out = render(&r, OutputFormat::Table, &plain());
    assert!(
        out.contains("├─ [CTE sql_posts] Seq Scan on posts"),
        "{out}"
    );
    assert!(out.contains("CTE Scan on sql_posts sp"), "{out}");
    assert!(out.contains("1 → never executed"), "{out}");
}

// ---------------------------------------------------------------- big plans

/// A synthetic analysed plan of `n` nodes: a chain (each node the child of the previous one) or a
/// root with `n - 1` children.
fn big_plan(n: usize, chain: bool) -> Plan {
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let parent = match (i, chain) {
            (0, _) => None,
            (_, true) => Some(i - 1),
            (_, false) => Some(0),
        };
        let depth = match (i, chain) {
            (0, _) => 0,
            (_, true) => i,
            (_, false) => 1,
        };
        nodes.push(Node {
            id: i,
            parent,
            depth,
            children: Vec::new(),
            node_type: if i % 2 == 0 {
                "Nested Loop".into()
            } else {
                "Seq Scan".into()
            },
            relation: (i % 2 == 1).then(|| format!("t{i}")),
            plan_rows: Some(10.0),
            actual_rows: Some(1000.0),
            actual_loops: Some(1.0),
            actual_startup_ms: Some(0.0),
            actual_total_ms: Some(if chain {
                (n - i) as f64
            } else if i == 0 {
                n as f64
            } else {
                0.5
            }),
            total_cost: Some(1.0),
            buffers: Some(Buffers {
                shared_hit: 10.0,
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    for i in 1..n {
        let p = nodes[i].parent.unwrap();
        nodes[p].children.push(i);
    }
    let mut plan = Plan {
        source: "big.json".into(),
        format: "json".into(),
        nodes,
        execution_ms: Some(n as f64),
        ..Default::default()
    };
    pgdiag::plan::derive::derive(&mut plan);
    plan
}

fn big_report(n: usize, chain: bool) -> Report {
    Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            suppressed: Vec::new(),
            in_baseline: Vec::new(),
            source: "big.json".into(),
            findings: vec![finding(
                "P012",
                "hot-spot",
                Severity::Warning,
                Some(n - 1),
                "m",
                "a",
            )],
            plan: Some(big_plan(n, chain)),
            error: None,
            query: None,
        }],
    }
}

/// Render and check the size is linear: at most `per_node` bytes per node.
fn render_big(
    r: &Report,
    n: usize,
    format: OutputFormat,
    width: Option<u16>,
    per_node: usize,
) -> String {
    let start = Instant::now();
    let out = render(
        r,
        format,
        &RenderOptions {
            color: false,
            width,
            ..Default::default()
        },
    );
    let took = start.elapsed();
    eprintln!(
        "{format:?} width={width:?}: {n} nodes in {took:?}, {} bytes",
        out.len()
    );
    // Debug build on a shared 2-core machine: generous, but far below quadratic.
    assert!(took < Duration::from_secs(60), "{format:?}: {took:?}");
    assert!(
        out.len() / n < per_node,
        "{format:?}: {} bytes per node",
        out.len() / n
    );
    out
}

#[test]
fn big_plans_text_formats() {
    let n = 50_000;
    for chain in [true, false] {
        let r = big_report(n, chain);
        let table = render_big(&r, n, OutputFormat::Table, None, 300);
        assert!(table.lines().count() > n);
        let last = table
            .lines()
            .find(|l| l.contains(&format!("Seq Scan on t{}", n - 1)))
            .unwrap();
        if chain {
            // The deep tree is cut to a bounded prefix with its depth.
            assert!(last.contains(&format!("⋯{} ", n - 1)), "{last}");
        }
        if chain {
            let narrow = render_big(&r, n, OutputFormat::Table, Some(100), 300);
            assert!(narrow.lines().all(|l| l.chars().count() <= 100));
        }
        let md = render_big(&r, n, OutputFormat::Markdown, None, 300);
        assert_eq!(md.lines().filter(|l| l.starts_with('|')).count(), n + 2);
        let concise = render_big(&r, n, OutputFormat::Concise, None, 300);
        assert_eq!(
            concise,
            format!(
                "big.json node {}: warning P012[hot-spot] Seq Scan on t{}: m\n",
                n - 1,
                n - 1
            )
        );
    }
}

#[test]
fn big_plans_json() {
    // 50,000 nodes give 200 MB of pretty JSON: slow in a debug build, so 10,000 here and the full
    // size in `big_plans_json_50k` (run with `cargo test --release -- --ignored`).
    big_json(10_000);
}

#[test]
#[ignore = "slow in debug builds; run with --release -- --ignored"]
fn big_plans_json_50k() {
    big_json(50_000);
}

fn big_json(n: usize) {
    for chain in [true, false] {
        let r = big_report(n, chain);
        let out = render_big(&r, n, OutputFormat::Json, None, 6000);
        let doc: Value = serde_json::from_str(&out).unwrap();
        let nodes = doc["plans"][0]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        if chain {
            assert_eq!(nodes[n - 1]["parent"], n - 2);
            assert_eq!(nodes[n - 1]["depth"], n - 1);
            let path = nodes[n - 1]["path"].as_str().unwrap();
            assert!(
                path.starts_with("Nested Loop > Seq Scan on t1 > "),
                "{path}"
            );
            assert!(
                path.contains(&format!(" > … {} more … > ", n - 23)),
                "{path}"
            );
            assert!(
                path.ends_with(&format!(" > Seq Scan on t{}", n - 1)),
                "{path}"
            );
        } else {
            assert_eq!(nodes[0]["children"].as_array().unwrap().len(), n - 1);
        }
    }
}

#[test]
#[ignore = "prints the fixed report for a person to look at"]
fn show() {
    let r = report();
    let f = match std::env::var("F").as_deref() {
        Ok("md") => OutputFormat::Markdown,
        Ok("json") => OutputFormat::Json,
        Ok("c") => OutputFormat::Concise,
        _ => OutputFormat::Table,
    };
    let width = std::env::var("W").ok().and_then(|w| w.parse().ok());
    print!(
        "{}",
        render(
            &r,
            f,
            &RenderOptions {
                color: std::env::var("C").is_ok(),
                width,
                ..Default::default()
            }
        )
    );
}

#[test]
#[ignore = "prints the plan file in $P for a person to look at"]
fn show_file() {
    let Ok(path) = std::env::var("P") else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let report = match parse_source(&path, &text) {
        Ok(plans) => Report {
            database: None,
            baseline: None,
            plans: plans
                .into_iter()
                .map(|p| PlanReport {
                    source: path.clone(),
                    plan: Some(p),
                    ..Default::default()
                })
                .collect(),
        },
        Err(e) => Report {
            database: None,
            baseline: None,
            plans: vec![PlanReport {
                source: path.clone(),
                error: Some(e.to_string()),
                query: None,
                ..Default::default()
            }],
        },
    };
    let f = match std::env::var("F").as_deref() {
        Ok("md") => OutputFormat::Markdown,
        Ok("json") => OutputFormat::Json,
        Ok("c") => OutputFormat::Concise,
        _ => OutputFormat::Table,
    };
    let width = std::env::var("W").ok().and_then(|w| w.parse().ok());
    let opts = RenderOptions {
        color: std::env::var("C").is_ok(),
        width,
        ..Default::default()
    };
    print!("{}", render(&report, f, &opts));
}

// ---------------------------------------------------------------- snapshots

/// Compare `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites the file. On a
/// mismatch the new output is written beside it as `<name>.new` for a diff.
fn snapshot(name: &str, actual: &str) {
    let path = common::root().join("tests/snapshots").join(name);
    let new = path.with_file_name(format!("{name}.new"));
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        let _ = std::fs::remove_file(&new);
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        std::fs::write(&new, actual).unwrap();
        panic!(
            "{name} differs from its snapshot: diff {} {} (UPDATE_SNAPSHOTS=1 to accept)",
            path.display(),
            new.display()
        );
    }
}

#[test]
fn snapshots_of_the_fixed_report() {
    let r = report();
    let opts = |color, width| RenderOptions {
        color,
        width,
        ..Default::default()
    };
    snapshot(
        "report.table.txt",
        &render(&r, OutputFormat::Table, &opts(false, None)),
    );
    snapshot(
        "report.table-w60.txt",
        &render(&r, OutputFormat::Table, &opts(false, Some(60))),
    );
    snapshot(
        "report.table-color.txt",
        &render(&r, OutputFormat::Table, &opts(true, None)),
    );
    snapshot(
        "report.md",
        &render(&r, OutputFormat::Markdown, &opts(false, None)),
    );
    snapshot(
        "report.concise.txt",
        &render(&r, OutputFormat::Concise, &opts(false, None)),
    );
    snapshot(
        "report.json",
        &render(&r, OutputFormat::Json, &opts(false, None)),
    );
}

#[test]
fn odd_inputs_do_not_panic() {
    let mut r = report();
    // A finding about a node the plan does not have, an empty plan, a source with neither plan
    // nor error.
    r.plans[0]
        .findings
        .push(finding("P099", "x", Severity::Error, Some(99), "m", "a"));
    r.plans.push(PlanReport {
        suppressed: Vec::new(),
        in_baseline: Vec::new(),
        source: "empty.json".into(),
        plan: Some(Plan::default()),
        findings: vec![finding("P098", "y", Severity::Info, Some(0), "m", "")],
        error: None,
        query: None,
    });
    r.plans.push(PlanReport {
        source: "nothing.json".into(),
        ..Default::default()
    });
    for format in [
        OutputFormat::Table,
        OutputFormat::Markdown,
        OutputFormat::Concise,
        OutputFormat::Json,
    ] {
        for width in [None, Some(0), Some(1), Some(20), Some(u16::MAX)] {
            for color in [false, true] {
                let out = render(
                    &r,
                    format,
                    &RenderOptions {
                        color,
                        width,
                        ..Default::default()
                    },
                );
                assert!(!out.is_empty());
                if !color {
                    assert!(!out.contains('\x1b'));
                }
            }
        }
    }
    let concise = render(&r, OutputFormat::Concise, &plain());
    assert!(
        concise.contains("plans/hashjoin.json node 99: error P099[x]: m\n"),
        "{concise}"
    );
    assert!(
        concise.contains("empty.json node 0: info P098[y]: m\n"),
        "{concise}"
    );
    assert!(
        concise.ends_with("nothing.json: error: no plan\n"),
        "{concise}"
    );
    let doc: Value = serde_json::from_str(&render(&r, OutputFormat::Json, &plain())).unwrap();
    assert_eq!(doc["plans"].as_array().unwrap().len(), 4);
    assert_eq!(doc["plans"][2]["nodes"], json!([]));
    assert!(doc["plans"][3]["format"].is_null());
}

#[test]
fn triggers_and_jit_are_listed() {
    let mut plan = load(HASHJOIN, SOURCE);
    plan.jit = Some(pgdiag::plan::model::Jit {
        functions: Some(12.0),
        total_ms: Some(48.5),
        ..Default::default()
    });
    plan.triggers.push(pgdiag::plan::model::Trigger {
        name: "RI_ConstraintTrigger_c_1".into(),
        relation: Some("child".into()),
        time_ms: Some(18.31),
        calls: Some(5000.0),
        ..Default::default()
    });
    let r = Report {
        database: None,
        baseline: None,
        plans: vec![PlanReport {
            source: SOURCE.into(),
            plan: Some(plan),
            ..Default::default()
        }],
    };
    let table = render(&r, OutputFormat::Table, &plain());
    lines_in_order(
        &table,
        &[
            "5 nodes · no findings",
            "trigger RI_ConstraintTrigger_c_1 on child: 18.3 ms, 5,000 calls",
            "JIT: 12 functions, 48.5 ms total",
            "#  node",
        ],
    );
    let md = render(&r, OutputFormat::Markdown, &plain());
    lines_in_order(
        &md,
        &[
            "- trigger RI\\_ConstraintTrigger\\_c\\_1 on child: 18.3 ms, 5,000 calls",
            "- JIT: 12 functions, 48.5 ms total",
            "| # | node |",
        ],
    );
    let doc: Value = serde_json::from_str(&render(&r, OutputFormat::Json, &plain())).unwrap();
    assert_eq!(doc["plans"][0]["jit"]["functions"], 12.0);
    assert_eq!(doc["plans"][0]["triggers"][0]["calls"], 5000.0);
}
