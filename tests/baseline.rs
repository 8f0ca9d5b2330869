//! Baselines end to end, against a real throwaway PostgreSQL (`common/pg.rs`): record a
//! baseline, re-run unchanged 20 times (no false regression), add a useful index (passes),
//! change the queries file (new and gone queries reported), refresh, drop the index a query
//! relies on (exit 1 with a plan-regression finding at the query's file and line). And without a
//! server: `pgdiag compare` on two plan files, and a bad baseline file.

#[path = "common/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use pg::PgCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");

/// `pgdiag ARGS…` with no PG* variables and an empty home directory.
fn pgdiag(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new(BIN);
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("HOME", home.path()).env("NO_COLOR", "1");
    c.stdin(Stdio::null());
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", text(&o.stdout), text(&o.stderr)))
}

/// `diagnose CONNINFO -f FILE --no-stats EXTRA…`, in JSON unless EXTRA has a `--format`.
fn diagnose(pg: &PgCluster, file: &Path, extra: &[&str]) -> Output {
    let conninfo = pg.conninfo();
    let mut args = vec![
        "diagnose",
        conninfo.as_str(),
        "-f",
        file.to_str().unwrap(),
        "--no-stats",
    ];
    if !extra.contains(&"--format") {
        args.extend(["--format", "json"]);
    }
    args.extend_from_slice(extra);
    pgdiag(&args)
}

/// Every R001 finding of the report, with the plan it belongs to.
fn regressions(doc: &Value) -> Vec<(Value, Value)> {
    let mut out = Vec::new();
    for p in doc["plans"].as_array().unwrap() {
        for f in p["findings"].as_array().unwrap() {
            if f["rule"] == "R001" {
                out.push((p.clone(), f.clone()));
            }
        }
    }
    out
}

/// Each plan's findings, one line each, for failure messages.
fn findings_of(doc: &Value) -> String {
    let mut out = String::new();
    for p in doc["plans"].as_array().unwrap() {
        out.push_str(&format!("{} error={}\n", p["source"], p["error"]));
        for f in p["findings"].as_array().unwrap() {
            out.push_str(&format!(
                "  {} {} {}\n",
                f["rule"], f["severity"], f["message"]
            ));
        }
    }
    out
}

const QUERIES: &str = "-- orders of one customer (index on customer_id)\n\
SELECT count(*) FROM orders WHERE customer_id = 42;\n\
\n\
-- orders of one amount (no index yet)\n\
SELECT count(*) FROM orders WHERE amount = 17;\n";

#[test]
fn baseline_lifecycle_against_a_live_server() {
    let pg = PgCluster::start().unwrap();
    pg.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, amount int NOT NULL,
                              pad text);
         INSERT INTO orders SELECT g, g % 5000, g % 3000, repeat('x', 60)
           FROM generate_series(1, 200000) g;
         CREATE INDEX orders_customer_idx ON orders (customer_id);",
    );
    // Settled visibility map and statistics: autovacuum has nothing left to change under the runs.
    pg.execute("VACUUM ANALYZE orders");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queries.sql");
    std::fs::write(&file, QUERIES).unwrap();
    let f = file.to_str().unwrap().to_string();
    let base = dir.path().join("baseline.json");
    let b = base.to_str().unwrap();

    // 1. Record. The seq scan on amount is a finding today: recorded, so later runs pass.
    let o = diagnose(&pg, &file, &["--write-baseline", b, "--fail-on", "none"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&format!("baseline of 2 queries written to {b}")),
        "{}",
        text(&o.stderr)
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert_eq!(recorded["schema_version"], 1);
    let qs = recorded["queries"].as_array().unwrap();
    assert_eq!(qs.len(), 2);
    assert_eq!(qs[0]["file"], f.as_str());
    assert_eq!(qs[0]["line"], 2);
    assert_eq!(qs[1]["line"], 5);
    let q1_scans: Vec<&str> = qs[0]["shape"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_type"].as_str().unwrap())
        .collect();
    assert!(
        q1_scans
            .iter()
            .any(|t| t.starts_with("Index") || t.starts_with("Bitmap")),
        "query 1 should use orders_customer_idx: {q1_scans:?}"
    );
    assert!(
        qs[1]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["rule"] == "P001"),
        "the seq scan on amount is recorded: {:#}",
        qs[1]
    );

    // 2. Unchanged database, 20 runs: stable (shape and buffers, not timing).
    for run in 1..=20 {
        let o = diagnose(&pg, &file, &["--baseline", b, "--fail-on", "warning"]);
        let doc = json(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "run {run}: {}\n{}",
            text(&o.stderr),
            findings_of(&doc)
        );
        assert!(
            regressions(&doc).is_empty(),
            "run {run}: {}",
            findings_of(&doc)
        );
        assert_eq!(doc["baseline"]["matched"], 2, "run {run}");
        let p2 = &doc["plans"][1];
        assert!(
            p2["in_baseline"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["rule"] == "P001"),
            "run {run}: the known finding is in in_baseline: {p2:#}"
        );
        assert!(
            p2["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["rule"] != "P001"),
            "run {run}"
        );
    }

    // The text formats show the known finding and the baseline section.
    let o = diagnose(&pg, &file, &["--baseline", b, "--format", "table"]);
    let out = text(&o.stdout);
    assert!(out.contains("Already in the baseline ("), "{out}");
    assert!(
        out.contains("  P001 seq-scan-large-table · node 1: Seq Scan on public.orders"),
        "{out}"
    );
    assert!(out.contains(&format!("══ baseline {b} ══")), "{out}");
    assert!(out.contains("2 queries matched, 0 new, 0 gone"), "{out}");

    // 3. A migration that adds a useful index: the plan improves, nothing regresses.
    pg.execute("CREATE INDEX orders_amount_idx ON orders (amount); ANALYZE orders;");
    let o = diagnose(&pg, &file, &["--baseline", b]);
    let doc = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}\n{doc:#}", text(&o.stderr));
    assert!(regressions(&doc).is_empty(), "{doc:#}");

    // Compare then refresh in one run: the new file has the better plan and no P001.
    let o = diagnose(&pg, &file, &["--baseline", b, "--write-baseline", b]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let refreshed: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert!(
        refreshed["queries"][1]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["rule"] != "P001"),
        "{refreshed:#}"
    );

    // 4. The queries file changes: the first query moves and is reformatted (still matched),
    //    the second is gone, a third is new. Reported, not failing.
    let moved = dir.path().join("queries.sql");
    std::fs::write(
        &moved,
        "-- reformatted\nselect count(*)\n  from orders\n where customer_id = 42;\n\nSELECT max(id) FROM orders;\n",
    )
    .unwrap();
    let o = diagnose(&pg, &moved, &["--baseline", b]);
    let doc = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}\n{doc:#}", text(&o.stderr));
    assert_eq!(doc["baseline"]["matched"], 1, "{doc:#}");
    assert_eq!(
        doc["baseline"]["new"],
        serde_json::json!([format!("{f}:6")])
    );
    let gone = &doc["baseline"]["gone"];
    assert_eq!(gone.as_array().unwrap().len(), 1, "{doc:#}");
    assert_eq!(gone[0]["file"], f.as_str());
    assert_eq!(gone[0]["line"], 5);
    assert_eq!(
        gone[0]["sql"],
        "SELECT count(*) FROM orders WHERE amount = 17"
    );
    let o = diagnose(&pg, &moved, &["--baseline", b, "--format", "concise"]);
    let out = text(&o.stdout);
    assert!(
        out.contains(&format!("{f}:6: new query (not in baseline {b})")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{f}:5: SELECT count(*) FROM orders WHERE amount = 17 (gone since baseline {b})"
        )),
        "{out}"
    );
    std::fs::write(&file, QUERIES).unwrap();

    // 5. A migration that drops the index query 1 relies on: exit 1, R001 at queries.sql:2.
    pg.execute("DROP INDEX orders_customer_idx; ANALYZE orders;");
    let o = diagnose(&pg, &file, &["--baseline", b, "--fail-on", "warning"]);
    let doc = json(&o);
    assert_eq!(o.status.code(), Some(1), "{}\n{doc:#}", text(&o.stderr));
    let regs = regressions(&doc);
    let (plan, finding) = regs
        .iter()
        .find(|(_, f)| {
            let m = f["message"].as_str().unwrap();
            m.contains("orders_customer_idx") && m.contains(" became Seq Scan on public.orders")
        })
        .unwrap_or_else(|| panic!("an index-to-seq-scan regression: {doc:#}"));
    assert_eq!(plan["source"], format!("{f}:2"));
    assert_eq!(plan["query"]["file"], f.as_str());
    assert_eq!(plan["query"]["line"], 2);
    assert_eq!(finding["severity"], "warning");
    assert_eq!(finding["name"], "plan-regression");
    let msg = finding["message"].as_str().unwrap();
    assert!(msg.contains("Seq Scan on public.orders"), "{msg}");
    assert!(msg.contains("shared buffers"), "{msg}");
    // The concise line is located at the query, for CI logs and editors.
    let o = diagnose(&pg, &file, &["--baseline", b, "--format", "concise"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("{f}:2 node ")) && l.contains("R001[plan-regression]")),
        "{out}"
    );

    // 6. A query that fails is not recorded, and the run says so (exit 2 for the error).
    let partial = dir.path().join("partial.sql");
    std::fs::write(&partial, "SELECT 1;\nSELECT * FROM no_such_table;\n").unwrap();
    let other = dir.path().join("partial.json");
    let o = diagnose(
        &pg,
        &partial,
        &["--write-baseline", other.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("1 of the queries failed and are not in the baseline"),
        "{err}"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    assert_eq!(written["queries"].as_array().unwrap().len(), 1);
}

#[test]
fn a_bad_baseline_file_is_a_located_error_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("b.json");
    std::fs::write(&base, "{\n  \"schema_version\": 1,\n  \"queries\": [\n").unwrap();
    let b = base.to_str().unwrap();
    // No server is needed: the baseline is read first.
    let o = pgdiag(&[
        "diagnose",
        "host=/nonexistent port=1 dbname=x",
        "-c",
        "SELECT 1",
        "--baseline",
        b,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("pgdiag: error: {b}:4: not a valid baseline")),
        "{err}"
    );

    let o = pgdiag(&["diagnose", "x", "-c", "SELECT 1", "--gate-timing"]);
    assert_eq!(o.status.code(), Some(2), "--gate-timing needs --baseline");
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/baseline/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn compare_shows_the_node_diff_and_the_regression() {
    let (ix, seq) = (fixture("index_scan.json"), fixture("seq_scan.json"));
    let o = pgdiag(&["compare", &ix, &seq]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(out.starts_with(&format!("══ {ix} → {seq} ══\n")), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with("  Aggregate · cost 8.47 → 3,814.04 · est rows 1 · rows 1 · time "),
        "{out}"
    );
    assert!(lines[1].ends_with("· buffers 12 → 2,145"), "{out}");
    assert!(
        lines[2].starts_with(
            "~   Seq Scan on orders o (was Index Scan using orders_customer_idx on orders o) · cost 8.44 → 3,814.00"
        ),
        "{out}"
    );
    assert!(out.contains("\nRegressions ("), "{out}");
    assert!(
        out.contains(
            "Index Scan using orders_customer_idx on orders o became Seq Scan on orders o; \
             shared buffers 12 → 2,145 (179×)"
        ),
        "{out}"
    );

    // The other way round is an improvement.
    let o = pgdiag(&["compare", &seq, &ix]);
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o.stdout).contains("No plan regressions."));

    // JSON, and --fail-on decides the exit code.
    let o = pgdiag(&[
        "compare",
        &ix,
        &seq,
        "--format",
        "json",
        "--fail-on",
        "error",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let doc = json(&o);
    let c = &doc["comparisons"][0];
    assert_eq!(c["nodes"][1]["change"], "changed");
    assert_eq!(
        c["nodes"][1]["before_label"],
        "Index Scan using orders_customer_idx on orders o"
    );
    assert_eq!(c["nodes"][1]["after_figures"]["shared_buffers"], 2145.0);
    assert!(c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "R001" && f["node"] == 1));

    // The same plan against itself: nothing changed, nothing to report.
    let o = pgdiag(&["compare", &seq, &seq]);
    assert_eq!(o.status.code(), Some(0));
    let out = text(&o.stdout);
    assert!(
        out.lines().skip(1).take(2).all(|l| l.starts_with("  ")),
        "{out}"
    );
    assert!(
        !out.contains('→') || out.lines().next().unwrap().contains('→'),
        "{out}"
    );

    // Thresholds come from --set: a lenient cost and buffers factor leaves only the plan change.
    let o = pgdiag(&[
        "compare",
        &ix,
        &seq,
        "--set",
        "R001.buffers_factor=1000",
        "--set",
        "R001.cost_factor=1000",
    ]);
    let out = text(&o.stdout);
    assert!(
        out.contains(
            "Index Scan using orders_customer_idx on orders o became Seq Scan on orders o\n"
        ),
        "{out}"
    );

    // CI formats report the regression on AFTER; --output writes one while the diff goes to stdout.
    let dir = tempfile::tempdir().unwrap();
    let sarif_file = dir.path().join("compare.sarif");
    let o = pgdiag(&[
        "compare",
        &ix,
        &seq,
        "--output",
        sarif_file.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("\nRegressions ("),
        "{}",
        text(&o.stdout)
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sarif_file).unwrap()).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "R001"), "{sarif:#}");
    // --anonymize: one mapping for both files, the regression still found.
    let o = pgdiag(&["compare", &ix, &seq, "--anonymize"]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(!out.contains("orders"), "{out}");
    assert!(
        out.contains(
            "Index Scan using index_1 on table_1 alias_1 became Seq Scan on table_1 alias_1"
        ),
        "{out}"
    );
    let o = pgdiag(&["compare", &ix, &seq, "--format", "junit"]);
    let junit = text(&o.stdout);
    assert!(
        junit.starts_with("<?xml") && junit.contains("R001"),
        "{junit}"
    );

    // Unreadable input: exit 2, one located line.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[{\"Plan\": {\n").unwrap();
    let o = pgdiag(&["compare", &ix, bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!("pgdiag: error: {}:", bad.display())),
        "{err}"
    );
}

#[test]
fn compare_pairs_the_plans_of_two_files_by_position() {
    let (b, a) = (
        fixture("two_plans_before.txt"),
        fixture("two_plans_after.txt"),
    );
    let o = pgdiag(&["compare", &b, &a, "--format", "json"]);
    let doc = json(&o);
    let cs = doc["comparisons"].as_array().unwrap();
    assert_eq!(cs.len(), 2, "{doc:#}");
    // The first query kept its plan: no regression, every node the same.
    assert!(cs[0]["findings"].as_array().unwrap().is_empty(), "{doc:#}");
    assert!(cs[0]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["change"] == "same"));
    // The second lost its index. Buffers grew 3 → 55, past 2× but under the 100-block floor, so
    // they are not mentioned; the cost (0.50 → 180) passed both its factor and its floor.
    let f = cs[1]["findings"].as_array().unwrap();
    assert_eq!(f.len(), 1, "{doc:#}");
    assert_eq!(
        f[0]["message"],
        "Index Only Scan using customers_pkey on customers c became Seq Scan on customers c; \
         total cost 0.50 → 180.00 (360×)"
    );
    assert_eq!(o.status.code(), Some(1));

    // Text: one section per pair, numbered.
    let o = pgdiag(&["compare", &b, &a]);
    let out = text(&o.stdout);
    assert!(out.contains(&format!("══ {b} → {a} [1] ══\n")), "{out}");
    assert!(out.contains(&format!("══ {b} → {a} [2] ══\n")), "{out}");
    assert!(out.contains("\nNo plan regressions.\n"), "{out}");

    // Files with different numbers of plans: the common ones, and a warning.
    let o = pgdiag(&["compare", &b, &fixture("seq_scan.json")]);
    assert!(
        text(&o.stderr).contains("holds 2 plans and"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(sections(&text(&o.stdout)), 1);
}

/// Sections in a text `compare` output.
fn sections(out: &str) -> usize {
    out.lines().filter(|l| l.starts_with("══ ")).count()
}

/// A report compared with a baseline, built through the library: the query at `q.sql:2` had an
/// index scan when recorded and a seq scan now; `q.sql:9` is new and `q.sql:5` is gone.
fn compared_report() -> pgdiag::report::Report {
    use pgdiag::report::{PlanReport, QueryOrigin, Report};
    use pgdiag::rules::{check_plan, EngineSettings};
    let load = |name: &str| {
        let path = fixture(name);
        let text = std::fs::read_to_string(&path).unwrap();
        pgdiag::plan::parse_source(&path, &text).unwrap().remove(0)
    };
    let plan_report = |plan: pgdiag::plan::Plan, line: usize, sql: &str| PlanReport {
        source: format!("q.sql:{line}"),
        findings: check_plan(&plan, &EngineSettings::default()),
        plan: Some(plan),
        query: Some(QueryOrigin {
            index: line,
            file: Some("q.sql".into()),
            line: Some(line),
            sql: sql.into(),
        }),
        ..PlanReport::default()
    };
    let q1 = "SELECT count(*) FROM orders o WHERE customer_id = 42";
    let then = Report {
        plans: vec![
            plan_report(load("index_scan.json"), 2, q1),
            plan_report(
                load("seq_scan.json"),
                5,
                "SELECT count(*) FROM orders o\nWHERE amount = 1",
            ),
        ],
        ..Report::default()
    };
    let baseline = pgdiag::baseline::record(&then);
    let mut now = Report {
        plans: vec![
            plan_report(load("seq_scan.json"), 2, q1),
            plan_report(load("index_scan.json"), 9, "SELECT 9"),
        ],
        ..Report::default()
    };
    pgdiag::baseline::apply(
        &mut now,
        &baseline,
        "b.json",
        &EngineSettings::default(),
        false,
    );
    now
}

fn render(r: &pgdiag::report::Report, format: pgdiag::report::OutputFormat) -> String {
    let mut out = Vec::new();
    pgdiag::report::write(r, format, &Default::default(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn every_format_shows_the_baseline_section() {
    use pgdiag::report::OutputFormat;
    let r = compared_report();
    let s = r.baseline.as_ref().unwrap();
    assert_eq!((s.matched, s.new.len(), s.gone.len()), (1, 1, 1));
    assert!(r.plans[0].findings.iter().any(|f| f.rule == "R001"));

    let table = render(&r, OutputFormat::Table);
    assert!(
        table.ends_with("══ baseline b.json ══\n1 query matched, 1 new, 1 gone\nnew: q.sql:9\ngone: q.sql:5: SELECT count(*) FROM orders o\n"),
        "{table}"
    );
    let md = render(&r, OutputFormat::Markdown);
    assert!(
        md.ends_with("## Baseline b.json\n\n- 1 query matched, 1 new, 1 gone\n- new: q.sql:9\n- gone: q.sql:5: SELECT count(\\*) FROM orders o\n"),
        "{md}"
    );
    assert!(md.contains("**R001** `plan-regression` (node 1: Seq Scan on orders o): Index Scan using orders\\_customer\\_idx"), "{md}");
    let concise = render(&r, OutputFormat::Concise);
    assert!(
        concise.contains("q.sql:2 node 1: warning R001[plan-regression] Seq Scan on orders o: Index Scan using orders_customer_idx on orders o became Seq Scan on orders o; shared buffers 12 → 2,145 (179×)"),
        "{concise}"
    );
    assert!(concise.ends_with("b.json: baseline: 1 matched, 1 new, 1 gone\nq.sql:9: new query (not in baseline b.json)\nq.sql:5: SELECT count(*) FROM orders o (gone since baseline b.json)\n"), "{concise}");
    let doc: Value = serde_json::from_str(&render(&r, OutputFormat::Json)).unwrap();
    assert_eq!(doc["baseline"]["file"], "b.json");
    assert_eq!(doc["baseline"]["matched"], 1);
    assert_eq!(doc["baseline"]["new"], serde_json::json!(["q.sql:9"]));
    assert_eq!(doc["baseline"]["gone"][0]["line"], 5);
    assert!(doc["plans"][0]["in_baseline"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(doc["plans"][1]["in_baseline"].is_array());
}

#[test]
fn known_findings_move_to_in_baseline_and_stop_failing() {
    use pgdiag::report::OutputFormat;
    use pgdiag::rules::{check_plan, EngineSettings};
    let r = compared_report();
    // Re-record the run that has the seq scan: its P001 is then known, not new.
    let baseline = pgdiag::baseline::record(&r);
    let mut again = r.clone();
    for p in &mut again.plans {
        p.findings = check_plan(p.plan.as_ref().unwrap(), &EngineSettings::default());
        p.in_baseline.clear();
    }
    pgdiag::baseline::apply(
        &mut again,
        &baseline,
        "b.json",
        &EngineSettings::default(),
        false,
    );
    let p = &again.plans[0];
    assert!(
        p.findings
            .iter()
            .all(|f| f.severity < pgdiag::rules::Severity::Warning),
        "{:#?}",
        p.findings
    );
    assert!(
        p.in_baseline.iter().any(|f| f.rule == "P001"),
        "{:#?}",
        p.in_baseline
    );
    // R001 findings are never recorded.
    assert!(baseline
        .queries
        .iter()
        .all(|q| q.findings.iter().all(|k| k.rule != "R001")));
    let table = render(&again, OutputFormat::Table);
    assert!(table.contains("Already in the baseline ("), "{table}");
    assert!(
        table.contains("  P001 seq-scan-large-table · node 1: Seq Scan on orders o"),
        "{table}"
    );
    let md = render(&again, OutputFormat::Markdown);
    assert!(md.contains("Already in the baseline ("), "{md}");
}
