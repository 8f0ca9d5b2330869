//! `--format sarif`: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.
//!
//! One run. `tool.driver.rules` is the whole rule catalog (id, name, title, explanation, advice as
//! text and Markdown, the first reference as `helpUri`, the default level), so `ruleIndex` is a
//! rule's position in `pgdiag rules`. Each finding is a result:
//! - `level`: error → `error`, warning → `warning`, info → `note`;
//! - `locations`: the `.sql` file and line of the statement (`diagnose`) or the plan file and the
//!   line the plan starts on (`analyze`); relative paths stay relative (`uriBaseId`
//!   `%SRCROOT%`), absolute ones are `file://` URIs. Findings on a query given with `-c` or read
//!   from standard input have no physical location;
//! - the location's `logicalLocations`: the plan node (`kind` `planNode`), or the database
//!   (`kind` `database`) for database findings;
//! - `partialFingerprints["pgdiag/v1"]`: rule + file + query + node path (see `ci::fingerprint`),
//!   stable across runs;
//! - findings silenced by `-- pgdiag: ignore` are results too, with a `suppressions` entry
//!   (`kind` `inSource`, the comment's line, its reason as `justification`), so viewers show them
//!   as suppressed rather than losing them.
//!
//! - with `--baseline`, results carry `baselineState`: `new` for the run's findings (plan
//!   regressions and findings the baseline did not have), `unchanged` for the findings it had.
//!
//! An input that could not be read is a `toolExecutionNotifications` entry (level `error`) of the
//! one invocation, whose `executionSuccessful` is then false.

use std::io::{self, BufWriter, Write};

use serde_json::{json, Map, Value};

use super::ci::{self, FileLocation};
use super::{PlanReport, Report, SuppressedFinding};
use crate::rules::{self, Finding, Severity};

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut w, &document(report)).map_err(io::Error::other)?;
    writeln!(w)?;
    w.flush()
}

/// The SARIF log as a JSON value.
pub fn document(report: &Report) -> Value {
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for pr in &report.plans {
        if let Some(text) = ci::error_text(pr) {
            let mut n = json!({
                "level": "error",
                "message": { "text": text },
            });
            if let Some(loc) = ci::location(pr) {
                n["locations"] = json!([physical_location(&loc)]);
            }
            notifications.push(n);
        }
        // Compared with a baseline, a run says which results are new and which the baseline
        // already had (SARIF's `baselineState`); the latter do not fail the run.
        let compared = report.baseline.is_some();
        for f in &pr.findings {
            let mut r = plan_result(pr, f, None);
            if compared {
                r["baselineState"] = json!("new");
            }
            results.push(r);
        }
        for f in &pr.in_baseline {
            let mut r = plan_result(pr, f, None);
            r["baselineState"] = json!("unchanged");
            results.push(r);
        }
        for s in &pr.suppressed {
            results.push(plan_result(pr, &s.finding, Some(s)));
        }
    }
    if let Some(db) = &report.database {
        for f in &db.findings {
            let mut r = result_head(f);
            r.insert(
                "locations".into(),
                json!([{ "logicalLocations": [{ "name": db.database, "kind": "database" }] }]),
            );
            r.insert(
                "partialFingerprints".into(),
                json!({ "pgdiag/v1": ci::database_fingerprint(db, f) }),
            );
            r.insert("properties".into(), properties(f));
            results.push(Value::Object(r));
        }
    }

    let mut invocation = json!({ "executionSuccessful": notifications.is_empty() });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": driver() },
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn driver() -> Value {
    let mut d = Map::new();
    d.insert("name".into(), json!("pgdiag"));
    d.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    d.insert("semanticVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    // Only when the package names one: a made-up address would be worse than none.
    let info = [env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_HOMEPAGE")]
        .into_iter()
        .find(|u| !u.is_empty());
    if let Some(uri) = info {
        d.insert("informationUri".into(), json!(uri));
    }
    let rules: Vec<Value> = rules::all()
        .iter()
        .map(|r| {
            let m = &r.meta;
            let mut rule = json!({
                "id": m.id,
                "name": m.name,
                "shortDescription": { "text": m.title },
                "fullDescription": { "text": m.explanation.trim() },
                "help": { "text": m.advice.trim(), "markdown": m.advice.trim() },
                "defaultConfiguration": { "level": level(m.severity) },
                "properties": { "category": m.category, "tags": [m.category] },
            });
            if let Some(uri) = m.references.first() {
                rule["helpUri"] = json!(uri);
            }
            rule
        })
        .collect();
    d.insert("rules".into(), Value::Array(rules));
    Value::Object(d)
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `ruleId`, `ruleIndex` (when the rule is in the catalog), `level`, `message`.
fn result_head(f: &Finding) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(f.rule));
    if let Some(i) = rules::all().iter().position(|x| x.meta.id == f.rule) {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(f.severity)));
    r.insert("message".into(), json!({ "text": f.message }));
    r
}

fn plan_result(pr: &PlanReport, f: &Finding, suppressed: Option<&SuppressedFinding>) -> Value {
    let mut r = result_head(f);
    let loc = ci::location(pr);
    // One location: the file and line, and the plan node as a logical location.
    let mut location = match &loc {
        Some(loc) => physical_location(loc),
        None => json!({}),
    };
    if let Some(node) = f.node {
        let mut l = json!({ "kind": "planNode" });
        if let Some(p) = pr.plan.as_ref().filter(|p| node < p.nodes.len()) {
            l["name"] = json!(p.nodes[node].label());
        }
        if let Some(path) = &f.path {
            l["fullyQualifiedName"] = json!(path);
        }
        location["logicalLocations"] = json!([l]);
    }
    if location.as_object().is_some_and(|o| !o.is_empty()) {
        r.insert("locations".into(), json!([location]));
    }
    r.insert(
        "partialFingerprints".into(),
        json!({ "pgdiag/v1": ci::fingerprint(pr, f) }),
    );
    if let Some(s) = suppressed {
        let mut sup = json!({ "kind": "inSource" });
        if let Some(reason) = &s.reason {
            sup["justification"] = json!(reason);
        }
        if let Some(loc) = &loc {
            sup["location"] = physical_location(&FileLocation {
                path: loc.path.clone(),
                line: Some(s.line).filter(|l| *l > 0),
            });
        }
        sup["properties"] = json!({ "scope": s.scope });
        r.insert("suppressions".into(), json!([sup]));
    }
    let mut props = properties(f);
    props["source"] = json!(pr.source);
    r.insert("properties".into(), props);
    Value::Object(r)
}

/// The advice, the node and the figures behind a finding, which SARIF has no field for.
fn properties(f: &Finding) -> Value {
    let mut p = json!({ "severity": f.severity.as_str(), "ruleName": f.name });
    if !f.advice.is_empty() {
        p["advice"] = json!(f.advice);
    }
    if let Some(n) = f.node {
        p["node"] = json!(n);
    }
    if !f.evidence.is_empty() {
        p["evidence"] = json!(f.evidence);
    }
    p
}

fn physical_location(loc: &FileLocation) -> Value {
    let (uri, relative) = ci::path_uri(&loc.path);
    let mut artifact = json!({ "uri": uri });
    if relative {
        artifact["uriBaseId"] = json!("%SRCROOT%");
    }
    let mut phys = json!({ "artifactLocation": artifact });
    if let Some(line) = loc.line.filter(|l| *l > 0) {
        phys["region"] = json!({ "startLine": line });
    }
    json!({ "physicalLocation": phys })
}
