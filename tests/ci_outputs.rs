//! The CI output formats (sarif, junit, github, gitlab) and `--output FILE`: snapshots of each
//! format over reports analysed from plan fixtures and over a hand-built `diagnose`-like report
//! (query origins, a suppressed finding, an unreadable query, a database finding); SARIF checked
//! against the official 2.1.0 schema (tests/data), JUnit parsed back, GitHub escaping, and the
//! command line end to end (the file written, stdout, exit codes, GitHub Actions environment).

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use pgdiag::plan::parse_source;
use pgdiag::report::{
    write, DatabaseReport, OutputFormat, PlanReport, QueryOrigin, RenderOptions, Report,
    SuppressedFinding,
};
use pgdiag::rules::{check_plan, EngineSettings, Finding, Severity};
use serde_json::{json, Value};

const SEQ_SCAN: &str = "fixtures/rules/seq-scan-large-table/fire.json";
const HASHJOIN: &str = "fixtures/plans/generated/pg17/d_hashjoin_batches.json";
/// A migration file name with the characters GitHub properties must escape.
const MIGRATION: &str = "db/migrations/0042_orders:fix, v2.sql";

// ---------------------------------------------------------------------------------- reports

/// What `analyze` makes of two fixtures and one unreadable file.
fn analyzed_report() -> Report {
    let mut plans = Vec::new();
    for path in [SEQ_SCAN, HASHJOIN] {
        let text = std::fs::read_to_string(common::root().join(path)).unwrap();
        for plan in parse_source(path, &text).unwrap() {
            plans.push(PlanReport {
                source: path.to_string(),
                findings: check_plan(&plan, &EngineSettings::default()),
                plan: Some(plan),
                ..PlanReport::default()
            });
        }
    }
    let bad = "plans/bad.json";
    let err = parse_source(bad, "[{\"Plan\": {\n\"Node Type\": ").unwrap_err();
    plans.push(PlanReport {
        source: bad.to_string(),
        error: Some(err.to_string()),
        ..PlanReport::default()
    });
    Report {
        plans,
        ..Report::default()
    }
}

fn plan_of(path: &str, source: &str) -> pgdiag::plan::Plan {
    let text = std::fs::read_to_string(common::root().join(path)).unwrap();
    parse_source(source, &text).unwrap().remove(0)
}

fn finding(rule: &str, name: &str, sev: Severity, node: Option<usize>, msg: &str) -> Finding {
    Finding {
        rule: rule.to_string(),
        name: name.to_string(),
        severity: sev,
        node,
        path: node.map(|n| format!("Sort > node {n}")),
        message: msg.to_string(),
        advice: "Do something.".to_string(),
        evidence: BTreeMap::from([("figure".into(), json!(42))]),
    }
}

/// What `diagnose -f MIGRATION -c …` reports: a query from a file with a finding and a
/// suppressed one, a `-c` query, a query that failed, and the database section.
fn diagnosed_report(line: usize) -> Report {
    let sql = "SELECT * FROM orders\n  WHERE status = 'shipped'";
    let source = format!("{MIGRATION}:{line}");
    let plan = plan_of(SEQ_SCAN, &source);
    let findings = check_plan(&plan, &EngineSettings::default());
    let (hot, kept): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(|f| f.rule == "P012");
    assert!(
        !kept.is_empty() && !hot.is_empty(),
        "the fixture fires P001 and P012"
    );
    let q1 = PlanReport {
        source: source.clone(),
        plan: Some(plan),
        findings: kept,
        in_baseline: Vec::new(),
        suppressed: hot
            .into_iter()
            .map(|f| SuppressedFinding {
                finding: f,
                line: line - 1,
                scope: "statement",
                reason: Some("nightly batch, 100% scan expected".to_string()),
            })
            .collect(),
        error: None,
        query: Some(QueryOrigin {
            index: 1,
            file: Some(MIGRATION.to_string()),
            line: Some(line),
            sql: sql.to_string(),
        }),
    };
    let q2 = PlanReport {
        source: "-c #2".to_string(),
        plan: Some(plan_of(HASHJOIN, "-c #2")),
        findings: vec![finding(
            "P003",
            "work-mem-spill",
            Severity::Error,
            Some(3),
            "Hash spilled 100% of its rows\nto disk: a,b",
        )],
        query: Some(QueryOrigin {
            index: 2,
            file: None,
            line: None,
            sql: "SELECT 1".to_string(),
        }),
        ..PlanReport::default()
    };
    let q3 = PlanReport {
        source: format!("{MIGRATION}:30"),
        error: Some(format!(
            "{MIGRATION}:30: ERROR: relation \"nope\" does not exist"
        )),
        query: Some(QueryOrigin {
            index: 3,
            file: Some(MIGRATION.to_string()),
            line: Some(30),
            sql: "SELECT * FROM nope".to_string(),
        }),
        ..PlanReport::default()
    };
    let mut dead = finding(
        "D001",
        "dead-tuples",
        Severity::Warning,
        None,
        "public.orders is 40% dead rows",
    );
    dead.path = None;
    dead.evidence.insert("table".into(), json!("public.orders"));
    Report {
        plans: vec![q1, q2, q3],
        database: Some(DatabaseReport {
            server_version: "15.4 (Debian 15.4-1.pgdg120+1)".to_string(),
            in_recovery: false,
            database: "shop".to_string(),
            role: "app".to_string(),
            findings: vec![dead],
            not_visible: vec!["other roles' queries".to_string()],
        }),
        baseline: None,
    }
}

fn render(report: &Report, format: OutputFormat, fail_on: Option<Severity>) -> String {
    let mut out = Vec::new();
    let opts = RenderOptions {
        fail_on,
        ..RenderOptions::default()
    };
    write(report, format, &opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn warning() -> Option<Severity> {
    Some(Severity::Warning)
}

// ---------------------------------------------------------------------------------- snapshots

/// Compare `actual` with `tests/snapshots/<name>`; `UPDATE_SNAPSHOTS=1` rewrites the file.
fn snapshot(name: &str, actual: &str) {
    // The version changes with every release; the snapshot should not.
    let actual = actual.replace(
        &format!("\"{}\"", env!("CARGO_PKG_VERSION")),
        "\"<version>\"",
    );
    let path = common::root().join("tests/snapshots").join(name);
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_SNAPSHOTS=1 to create)", path.display()));
    if expected != actual {
        let got = path.with_extension("new");
        std::fs::write(&got, &actual).unwrap();
        panic!(
            "{name} differs from its snapshot: diff {} {} (UPDATE_SNAPSHOTS=1 to accept)",
            path.display(),
            got.display()
        );
    }
}

/// The SARIF document without the rule catalog (checked on its own), for smaller snapshots.
fn sarif_without_rules(text: &str) -> String {
    let mut doc: Value = serde_json::from_str(text).unwrap();
    let rules = doc["runs"][0]["tool"]["driver"]["rules"].take();
    assert_eq!(rules.as_array().unwrap().len(), pgdiag::rules::all().len());
    doc["runs"][0]["tool"]["driver"]["rules"] = json!("<the rule catalog>");
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

#[test]
fn snapshots_of_each_format() {
    let a = analyzed_report();
    let d = diagnosed_report(12);
    snapshot(
        "ci.analyze.sarif",
        &sarif_without_rules(&render(&a, OutputFormat::Sarif, warning())),
    );
    snapshot(
        "ci.diagnose.sarif",
        &sarif_without_rules(&render(&d, OutputFormat::Sarif, warning())),
    );
    snapshot(
        "ci.analyze.junit.xml",
        &render(&a, OutputFormat::Junit, warning()),
    );
    snapshot(
        "ci.diagnose.junit.xml",
        &render(&d, OutputFormat::Junit, warning()),
    );
    snapshot(
        "ci.analyze.github.txt",
        &render(&a, OutputFormat::Github, warning()),
    );
    snapshot(
        "ci.diagnose.github.txt",
        &render(&d, OutputFormat::Github, warning()),
    );
    snapshot(
        "ci.analyze.gitlab.json",
        &render(&a, OutputFormat::Gitlab, warning()),
    );
    snapshot(
        "ci.diagnose.gitlab.json",
        &render(&d, OutputFormat::Gitlab, warning()),
    );
}

// ---------------------------------------------------------------------------------- SARIF

fn sarif_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(common::root().join("tests/data/sarif-schema-2.1.0.json")).unwrap();
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    // The official schema's `language` patterns (run, toolComponent) have a stray `]`, which
    // ECMAScript reads as a literal (Annex B) but the validator's meta-schema check refuses as a
    // regex. Escaping it keeps the same meaning; pgdiag never writes `language` anyway.
    let fixed = escape_stray_bracket(&mut schema);
    assert_eq!(
        fixed, 2,
        "the schema file changed: look at this work-around again"
    );
    // Draft 7 asserts formats (`uri`, `uri-reference`, `date-time`) by default.
    jsonschema::options().build(&schema).unwrap()
}

fn escape_stray_bracket(v: &mut Value) -> usize {
    const STRAY: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    match v {
        Value::Object(m) => {
            let mut n = 0;
            for (k, x) in m.iter_mut() {
                if k == "pattern" && x == STRAY {
                    *x = json!(STRAY.replace("}]", "}\\]"));
                    n += 1;
                } else {
                    n += escape_stray_bracket(x);
                }
            }
            n
        }
        Value::Array(a) => a.iter_mut().map(escape_stray_bracket).sum(),
        _ => 0,
    }
}

fn assert_valid_sarif(v: &jsonschema::Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let v = sarif_validator();
    for report in [analyzed_report(), diagnosed_report(12), Report::default()] {
        let doc: Value =
            serde_json::from_str(&render(&report, OutputFormat::Sarif, warning())).unwrap();
        assert_valid_sarif(&v, &doc);
    }
    // Every plan fixture, as `analyze` reports them.
    let out = pgdiag(
        &[
            "analyze",
            "fixtures/plans",
            "--fail-on",
            "none",
            "-F",
            "sarif",
        ],
        &[],
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["runs"][0]["results"].as_array().unwrap().len() > 100);
    assert_valid_sarif(&v, &doc);
    // The validator does reject what the schema forbids, so the checks above mean something.
    let mut doc: Value =
        serde_json::from_str(&render(&analyzed_report(), OutputFormat::Sarif, warning())).unwrap();
    doc["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(!v.is_valid(&doc));
    let mut doc: Value =
        serde_json::from_str(&render(&analyzed_report(), OutputFormat::Sarif, warning())).unwrap();
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] =
        json!("a b:c");
    assert!(!v.is_valid(&doc), "uri-reference format is checked");
}

#[test]
fn sarif_marks_new_and_baselined_results() {
    let mut report = analyzed_report();
    let first = report
        .plans
        .iter_mut()
        .find(|p| p.findings.len() >= 2)
        .expect("a plan with two findings");
    let known = first.findings.remove(0);
    first.in_baseline.push(known.clone());
    report.baseline = Some(pgdiag::report::BaselineSummary {
        file: "pgdiag-baseline.json".into(),
        matched: 1,
        ..Default::default()
    });
    let doc: Value =
        serde_json::from_str(&render(&report, OutputFormat::Sarif, warning())).unwrap();
    assert_valid_sarif(&sarif_validator(), &doc);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let states: Vec<&str> = results
        .iter()
        .filter_map(|r| r["baselineState"].as_str())
        .collect();
    assert!(
        states.contains(&"unchanged") && states.contains(&"new"),
        "{states:?}"
    );
    let unchanged = results
        .iter()
        .find(|r| r["baselineState"] == "unchanged")
        .unwrap();
    assert_eq!(unchanged["ruleId"], known.rule.as_str());
    // Without a baseline, no result claims a baseline state.
    let doc: Value =
        serde_json::from_str(&render(&analyzed_report(), OutputFormat::Sarif, warning())).unwrap();
    assert!(doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.get("baselineState").is_none()));
}

#[test]
fn sarif_rules_results_suppressions_and_errors() {
    let doc: Value = serde_json::from_str(&render(
        &diagnosed_report(12),
        OutputFormat::Sarif,
        warning(),
    ))
    .unwrap();
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "pgdiag");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let p001 = rules.iter().find(|r| r["id"] == "P001").unwrap();
    assert_eq!(p001["name"], "seq-scan-large-table");
    assert_eq!(p001["defaultConfiguration"]["level"], "warning");
    assert!(p001["help"]["text"].as_str().unwrap().len() > 20);
    assert!(p001["helpUri"].as_str().unwrap().starts_with("https://"));
    assert!(!p001["fullDescription"]["text"].as_str().unwrap().is_empty());

    let results = run["results"].as_array().unwrap();
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at the rule"
        );
    }
    // The query from the file: located at the file and the statement's line.
    let p = results.iter().find(|r| r["ruleId"] == "P001").unwrap();
    assert_eq!(p["level"], "warning");
    let phys = &p["locations"][0]["physicalLocation"];
    assert_eq!(
        phys["artifactLocation"]["uri"],
        "db/migrations/0042_orders%3Afix%2C%20v2.sql"
    );
    assert_eq!(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(phys["region"]["startLine"], 12);
    assert!(p.get("suppressions").is_none());
    // The suppressed finding: present, marked in source, with the reason and the comment's line.
    let s = results.iter().find(|r| r["ruleId"] == "P012").unwrap();
    assert_eq!(s["level"], "note");
    let sup = &s["suppressions"][0];
    assert_eq!(sup["kind"], "inSource");
    assert_eq!(sup["justification"], "nightly batch, 100% scan expected");
    assert_eq!(
        sup["location"]["physicalLocation"]["region"]["startLine"],
        11
    );
    // The -c query: no file to point at, the node as a logical location.
    let c = results.iter().find(|r| r["ruleId"] == "P003").unwrap();
    assert_eq!(c["level"], "error");
    assert!(c["locations"][0].get("physicalLocation").is_none());
    assert_eq!(c["locations"][0]["logicalLocations"][0]["kind"], "planNode");
    // The database finding.
    let d = results.iter().find(|r| r["ruleId"] == "D001").unwrap();
    assert_eq!(d["locations"][0]["logicalLocations"][0]["name"], "shop");
    // The failed query: a notification, and the run did not fully succeed.
    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["level"], "error");
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("relation \"nope\" does not exist"));
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        30
    );
    // A clean run succeeds.
    let clean: Value =
        serde_json::from_str(&render(&Report::default(), OutputFormat::Sarif, warning())).unwrap();
    assert_eq!(
        clean["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
}

fn fingerprints(report: &Report) -> Vec<(String, String)> {
    let doc: Value = serde_json::from_str(&render(report, OutputFormat::Sarif, warning())).unwrap();
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap().to_string(),
                r["partialFingerprints"]["pgdiag/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_are_stable_and_tell_findings_apart() {
    let a = fingerprints(&diagnosed_report(12));
    assert_eq!(
        a,
        fingerprints(&diagnosed_report(12)),
        "same run, same prints"
    );
    // The statement moved down the file: the same problem keeps its fingerprint.
    assert_eq!(a, fingerprints(&diagnosed_report(40)));
    let mut distinct: Vec<&String> = a.iter().map(|(_, f)| f).collect();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), a.len(), "{a:?}");
    // Another query in the same file is another problem.
    let mut other = diagnosed_report(12);
    other.plans[0].query.as_mut().unwrap().sql = "SELECT * FROM orders WHERE id > 0".into();
    assert_ne!(a[0], fingerprints(&other)[0]);
}

// ---------------------------------------------------------------------------------- JUnit

fn junit_doc(text: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(text).unwrap_or_else(|e| panic!("not XML: {e}\n{text}"))
}

fn attr<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    n.attribute(name)
        .unwrap_or_else(|| panic!("no {name} on {n:?}"))
}

#[test]
fn junit_parses_back_with_one_case_per_query_and_failures_at_fail_on() {
    let report = diagnosed_report(12);
    let text = render(&report, OutputFormat::Junit, warning());
    let doc = junit_doc(&text);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(attr(suite, "name"), "pgdiag");
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    // Three queries and the database.
    assert_eq!(cases.len(), 4);
    assert_eq!(attr(suite, "tests"), "4");
    assert_eq!(attr(root, "tests"), "4");
    let names: Vec<&str> = cases.iter().map(|c| attr(*c, "name")).collect();
    assert_eq!(
        names,
        [
            format!("{MIGRATION}:12").as_str(),
            "-c #2",
            format!("{MIGRATION}:30").as_str(),
            "database shop on PostgreSQL 15.4 (primary), as app",
        ]
    );
    assert_eq!(attr(cases[0], "classname"), MIGRATION);
    assert_eq!(attr(cases[0], "line"), "12");
    assert_eq!(attr(cases[1], "classname"), "command-line");

    let failures = |c: roxmltree::Node| -> Vec<String> {
        c.children()
            .filter(|n| n.has_tag_name("failure"))
            .map(|n| attr(n, "message").to_string())
            .collect()
    };
    // Query 1: P001 (warning) fails; the suppressed P012 only shows in system-out.
    let f0 = failures(cases[0]);
    assert_eq!(f0.len(), 1, "{f0:?}");
    assert!(f0[0].starts_with("P001 seq-scan-large-table: "), "{f0:?}");
    let out0 = cases[0]
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(out0.contains("suppressed: P012 hot-spot"), "{out0}");
    // The multi-line message survives the attribute round trip.
    assert_eq!(
        failures(cases[1]),
        ["P003 work-mem-spill: Hash spilled 100% of its rows to disk: a,b"]
    );
    let err = cases[2]
        .children()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert!(attr(err, "message").contains("relation \"nope\" does not exist"));
    assert_eq!(failures(cases[3]).len(), 1, "D001 is a warning");
    assert_eq!(attr(suite, "failures"), "3");
    assert_eq!(attr(suite, "errors"), "1");

    // The floor reaches the renderer.
    let doc_text = render(&report, OutputFormat::Junit, Some(Severity::Error));
    let doc = junit_doc(&doc_text);
    let failed: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| attr(n, "type"))
        .collect();
    assert_eq!(failed, ["error"]);
    let none = render(&report, OutputFormat::Junit, None);
    assert_eq!(
        junit_doc(&none)
            .descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
    assert!(none.contains(r#"failures="0" errors="1""#));
}

// ---------------------------------------------------------------------------------- GitHub, GitLab

#[test]
fn github_annotations_escape_properties_and_data() {
    let text = render(&diagnosed_report(12), OutputFormat::Github, warning());
    let lines: Vec<&str> = text.lines().collect();
    // P001 (warning), P003 (error), the failed query, D001; the suppressed P012 is not annotated.
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines.iter().all(|l| l.starts_with("::")), "{text}");
    assert!(!text.contains("P012"), "{text}");
    let file = "file=db/migrations/0042_orders%3Afix%2C v2.sql";
    assert!(
        lines[0].starts_with(&format!(
            "::warning {file},line=12,title=P001 seq-scan-large-table::"
        )),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::error title=P003 work-mem-spill::-c #2: node 3: Hash spilled 100%25 of its rows%0Ato disk: a,b%0AAdvice: Do something."),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(&format!(
            "::error {file},line=30,title=pgdiag%3A unreadable input::"
        )),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].starts_with(
            "::warning title=D001 dead-tuples::database shop: public.orders is 40%25 dead rows"
        ),
        "{}",
        lines[3]
    );
}

#[test]
fn gitlab_code_quality_fields() {
    let text = render(&diagnosed_report(12), OutputFormat::Gitlab, warning());
    let issues: Vec<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(issues.len(), 4, "{text}");
    let mut prints = Vec::new();
    for i in &issues {
        for k in ["description", "check_name", "fingerprint", "severity"] {
            assert!(i[k].is_string(), "{k} in {i}");
        }
        assert!(["info", "minor", "major", "critical", "blocker"]
            .contains(&i["severity"].as_str().unwrap()));
        assert!(i["location"]["path"].is_string());
        assert!(i["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
        prints.push(i["fingerprint"].as_str().unwrap().to_string());
    }
    prints.sort();
    prints.dedup();
    assert_eq!(prints.len(), 4);
    let checks: Vec<&str> = issues
        .iter()
        .map(|i| i["check_name"].as_str().unwrap())
        .collect();
    assert_eq!(checks, ["P001", "P003", "pgdiag-error", "D001"]);
    assert_eq!(issues[0]["location"]["path"], MIGRATION);
    assert_eq!(issues[0]["location"]["lines"]["begin"], 12);
    assert_eq!(issues[1]["severity"], "major");
    assert_eq!(issues[3]["location"]["path"], "db:shop");
}

// ---------------------------------------------------------------------------------- CLI

/// `pgdiag ARGS…` in the project root, outside GitHub Actions unless `env` says otherwise.
fn pgdiag(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgdiag"));
    c.args(args)
        .current_dir(common::root())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn output_file_gets_the_format_and_stdout_the_concise_report() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.sarif");
    let f = file.to_str().unwrap();
    let plain = pgdiag(&["analyze", SEQ_SCAN, "--format", "concise"], &[]);
    let out = pgdiag(
        &["analyze", SEQ_SCAN, "--format", "sarif", "--output", f],
        &[],
    );
    assert_eq!(out.status.code(), plain.status.code());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&plain.stdout), "concise on stdout");
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_valid_sarif(&sarif_validator(), &doc);
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "P001");
    // Nothing else is left in the directory (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    // The format from the extension; a second run replaces the file.
    let xml = dir.path().join("junit.xml");
    let out = pgdiag(
        &[
            "analyze",
            SEQ_SCAN,
            "--fail-on",
            "none",
            "-o",
            xml.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let body = std::fs::read_to_string(&xml).unwrap();
    let doc = junit_doc(&body);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("failure"))
            .count(),
        0
    );
    assert!(text(&out.stdout).contains("P001[seq-scan-large-table]"));

    // An extension that names no format is refused before any work, with exit 2.
    let out = pgdiag(
        &[
            "analyze",
            SEQ_SCAN,
            "-o",
            dir.path().join("r.txt").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--format"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("r.txt").exists());

    // A file that cannot be written is an error (exit 2), not a silent loss.
    let out = pgdiag(
        &[
            "analyze",
            SEQ_SCAN,
            "-o",
            dir.path().join("no/dir/r.sarif").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("r.sarif"),
        "{}",
        text(&out.stderr)
    );

    // An unreadable input still gives exit 2, and the report still goes to the file.
    let out = pgdiag(
        &[
            "analyze",
            SEQ_SCAN,
            "no/such.json",
            "--format",
            "gitlab",
            "-o",
            f,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let issues: Vec<Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(issues.iter().any(|i| i["check_name"] == "pgdiag-error"));
}

#[test]
fn github_actions_adds_annotations_and_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let s = summary.to_str().unwrap();
    let gh = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", s)];

    let out = pgdiag(&["analyze", SEQ_SCAN, "--format", "concise"], &gh);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let concise_lines = stdout.lines().filter(|l| l.starts_with(SEQ_SCAN)).count();
    let annotations: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(concise_lines, 2, "{stdout}");
    assert_eq!(annotations.len(), 2, "{stdout}");
    assert!(annotations[0].starts_with(&format!("::warning file={SEQ_SCAN},line=1,title=P001")));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("earlier step\n"),
        "appended, not replaced: {md}"
    );
    assert!(md.contains(&format!("## {SEQ_SCAN}")), "{md}");
    assert!(md.contains("seq-scan-large-table"), "{md}");

    // Turned off.
    let out = pgdiag(
        &[
            "analyze",
            SEQ_SCAN,
            "--format",
            "concise",
            "--no-github-annotations",
        ],
        &gh,
    );
    assert!(
        !text(&out.stdout).lines().any(|l| l.starts_with("::")),
        "{}",
        text(&out.stdout)
    );
    // Never mixed into a machine format on stdout.
    let out = pgdiag(&["analyze", SEQ_SCAN, "--format", "json"], &gh);
    assert_eq!(out.status.code(), Some(1));
    serde_json::from_slice::<Value>(&out.stdout).expect("stdout is still JSON");
    // Outside GitHub Actions, no annotations.
    let out = pgdiag(&["analyze", SEQ_SCAN, "--format", "concise"], &[]);
    assert!(!text(&out.stdout).lines().any(|l| l.starts_with("::")));
}

// ---------------------------------------------------------------------------------- diagnose

/// `diagnose -f FILE --format sarif` on a live server: results point at the `.sql` file and the
/// statement's line; a `-- pgdiag: ignore` comment becomes a SARIF suppression; a failing
/// statement becomes a notification.
#[test]
fn diagnose_sarif_points_at_the_sql_file_and_line() {
    let pg = pg::PgCluster::start().unwrap();
    pg.execute(
        "CREATE TABLE big (id int, k int, pad text);
         INSERT INTO big SELECT g, g % 5000, repeat('x', 40) FROM generate_series(1, 50000) g;
         ANALYZE big;",
    );
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("q.sql");
    std::fs::write(
        &sql,
        "-- migration checks\nSELECT id FROM big WHERE k = 42;\n\n\
         -- pgdiag: ignore P001 reviewed, table stays small\nSELECT pad FROM big WHERE k = 7;\n\
         SELECT * FROM nope;\n",
    )
    .unwrap();
    let report = dir.path().join("r.sarif");
    let home = tempfile::tempdir().unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_pgdiag"));
    c.arg("diagnose")
        .arg(pg.conninfo())
        .args(["-f", sql.to_str().unwrap(), "--no-stats", "-o"])
        .arg(&report)
        .env("HOME", home.path())
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY");
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            c.env_remove(k);
        }
    }
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a statement failed: {}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_valid_sarif(&sarif_validator(), &doc);
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap();
    assert!(
        uri.starts_with("file:///") && uri.ends_with("/q.sql"),
        "{uri}"
    );
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let p001: Vec<&Value> = results.iter().filter(|r| r["ruleId"] == "P001").collect();
    assert_eq!(p001.len(), 2, "{doc:#}");
    let line = |r: &Value| r["locations"][0]["physicalLocation"]["region"]["startLine"].clone();
    assert_eq!(line(p001[0]), 2);
    assert!(p001[0].get("suppressions").is_none());
    assert_eq!(line(p001[1]), 5);
    assert_eq!(p001[1]["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        p001[1]["suppressions"][0]["justification"],
        "reviewed, table stays small"
    );
    let inv = &doc["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert_eq!(
        inv["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]["region"]
            ["startLine"],
        6
    );
    assert!(Path::new(&report).exists());
}

#[test]
fn unreadable_standard_input_keeps_its_line_in_every_format() {
    use std::io::Write as _;
    for format in ["github", "gitlab", "junit", "sarif"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_pgdiag"))
            .args(["analyze", "-", "--format", format])
            .env_remove("GITHUB_ACTIONS")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"[{\"Plan\":\n{")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{format}");
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("-:2: cannot read json plan"),
            "{format}: {stdout}"
        );
    }
}
