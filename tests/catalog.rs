//! The rule catalog is consistent: every `rules/*.toml` is registered in `src/rules/mod.rs` and
//! vice versa, ids and names are unique, file names are `<id>-<name>.toml`, no placeholder is
//! left, severities are valid, and every threshold a rule reads is declared in its TOML.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pgdiag::plan::{parse_source, Plan};
use pgdiag::rules::{all, check_one, RuleMeta};
use regex::Regex;

/// `(file name, text, parsed)` for every `rules/*.toml`.
fn toml_files() -> Vec<(String, String, RuleMeta)> {
    let dir = common::root().join("rules");
    let mut out = Vec::new();
    for path in common::files_with_ext(&dir, &["toml"]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let meta = RuleMeta::from_toml(&text).unwrap_or_else(|e| panic!("rules/{name}: {e}"));
        out.push((name, text, meta));
    }
    assert!(!out.is_empty(), "no rules/*.toml");
    out
}

/// `(module, toml file)` for every `rule!(module, "file")` line of the registry.
fn registry_entries() -> Vec<(String, String)> {
    let src = std::fs::read_to_string(common::root().join("src/rules/mod.rs")).unwrap();
    let re = Regex::new(r#"rule!\(\s*(\w+)\s*,\s*"([^"]+)"\s*,?\s*\)"#).unwrap();
    re.captures_iter(&src)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

#[test]
fn every_toml_is_registered_and_vice_versa() {
    let files = toml_files();
    let entries = registry_entries();
    assert_eq!(entries.len(), all().len(), "registry lines vs rules::all()");
    let listed: BTreeSet<&str> = entries.iter().map(|(_, f)| f.as_str()).collect();
    let on_disk: BTreeSet<&str> = files.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        listed.len(),
        entries.len(),
        "a TOML file is registered twice"
    );
    assert_eq!(listed, on_disk, "registered TOML files vs rules/*.toml");
    for (module, _) in &entries {
        let path = common::root().join(format!("src/rules/{module}.rs"));
        assert!(
            path.is_file(),
            "registered module {module} has no {}",
            path.display()
        );
        let src = std::fs::read_to_string(&path).unwrap();
        assert!(
            src.contains("pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>)")
                // A per-node rule (`node_rule!`): the engine hands it a range of nodes.
                || src.contains(
                    "pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>)"
                )
                || src.contains(
                    "pub fn check(_plan: &Plan, _ctx: &RuleCtx, _out: &mut Vec<Finding>)"
                )
                || src.contains(
                    "pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>)"
                )
                || src.contains(
                    "pub fn check(input: &BaselineInput, ctx: &RuleCtx, out: &mut Vec<Finding>)"
                ),
            "{module}: check has the wrong signature"
        );
    }
    // What the binary embeds is what is on disk.
    for (name, _, meta) in &files {
        let hits = all().iter().filter(|r| &r.meta == meta).count();
        assert_eq!(hits, 1, "rules/{name} is not embedded exactly once");
    }
}

#[test]
fn ids_names_and_file_names_agree() {
    let id_re = Regex::new(r"^[PDR]\d{3}$").unwrap();
    let name_re = Regex::new(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$").unwrap();
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for (file, _, m) in toml_files() {
        assert!(id_re.is_match(&m.id), "{file}: bad id {}", m.id);
        assert!(
            name_re.is_match(&m.name),
            "{file}: name {} is not kebab-case",
            m.name
        );
        assert_eq!(file, format!("{}-{}.toml", m.id, m.name), "file name");
        assert!(ids.insert(m.id.clone()), "duplicate id {}", m.id);
        assert!(names.insert(m.name.clone()), "duplicate name {}", m.name);
        assert!(
            !names.contains(&m.id.to_lowercase()),
            "{file}: a name equals an id"
        );
    }
}

#[test]
fn severities_and_categories_are_valid() {
    let sev_re = Regex::new(r#"(?m)^severity\s*=\s*"([^"]*)""#).unwrap();
    for (file, text, m) in toml_files() {
        let raw = sev_re
            .captures(&text)
            .unwrap_or_else(|| panic!("{file}: no severity"))[1]
            .to_string();
        assert!(
            ["info", "warning", "error"].contains(&raw.as_str()),
            "{file}: severity {raw}"
        );
        assert_eq!(m.severity.as_str(), raw);
        assert!(
            [
                "plan",
                "table",
                "connection",
                "settings",
                "database",
                "baseline"
            ]
            .contains(&m.category.as_str()),
            "{file}: category {}",
            m.category
        );
        // Plan rules are P…, database rules (which read a statistics snapshot) D…, baseline rules
        // (which compare a plan with a recorded one) R….
        let rule = pgdiag::rules::find(&m.id).unwrap();
        assert_eq!(
            m.category == "database",
            m.id.starts_with('D'),
            "{file}: category {} vs id {}",
            m.category,
            m.id
        );
        assert_eq!(rule.checks_plans(), m.id.starts_with('P'), "{file}: input");
        assert_eq!(
            m.category == "baseline",
            m.id.starts_with('R'),
            "{file}: category {} vs id {}",
            m.category,
            m.id
        );
    }
}

#[test]
fn no_placeholder_left() {
    let todo: Vec<String> = toml_files()
        .into_iter()
        .filter(|(_, text, _)| text.contains("TODO"))
        .map(|(f, _, _)| format!("rules/{f}"))
        .collect();
    assert!(todo.is_empty(), "TODO left in {}", todo.join(", "));
    for (file, _, m) in toml_files() {
        assert!(!m.title.trim().is_empty(), "{file}: empty title");
        assert!(
            m.explanation.trim().len() > 40,
            "{file}: explanation too short"
        );
        assert!(m.advice.trim().len() > 40, "{file}: advice too short");
        assert!(!m.references.is_empty(), "{file}: no references");
        for r in &m.references {
            assert!(r.starts_with("https://"), "{file}: reference {r}");
        }
        for (k, t) in &m.thresholds {
            assert!(
                !t.description.trim().is_empty(),
                "{file}: threshold {k} undescribed"
            );
            assert!(
                t.unit.as_deref().is_some_and(|u| !u.is_empty()),
                "{file}: threshold {k} has no unit"
            );
            assert!(t.default.is_finite(), "{file}: threshold {k}");
        }
    }
}

/// Statically: the thresholds a rule's source reads (`threshold("x")`) are exactly those declared.
#[test]
fn thresholds_read_are_declared() {
    let re = Regex::new(r#"threshold\("([^"]+)"\)"#).unwrap();
    let files: BTreeMap<String, RuleMeta> =
        toml_files().into_iter().map(|(f, _, m)| (f, m)).collect();
    for (module, file) in registry_entries() {
        let src =
            std::fs::read_to_string(common::root().join(format!("src/rules/{module}.rs"))).unwrap();
        let read: BTreeSet<String> = re.captures_iter(&src).map(|c| c[1].to_string()).collect();
        let meta = &files[&file];
        for k in &read {
            assert!(
                meta.thresholds.contains_key(k),
                "{module} reads threshold `{k}`, which rules/{file} does not declare"
            );
        }
        for k in meta.thresholds.keys() {
            // A key may be read through a constant: ask only that it is named in the source.
            assert!(
                read.contains(k) || src.contains(&format!("\"{k}\"")),
                "rules/{file} declares threshold `{k}`, which {module} never reads"
            );
        }
    }
}

/// Dynamically: every rule runs over every fixture (and a few degenerate plans) without
/// panicking, which also catches undeclared thresholds (`RuleCtx::threshold` panics on them).
#[test]
fn every_rule_runs_on_every_fixture() {
    let mut plans: Vec<(String, Plan)> = vec![
        ("empty".into(), Plan::default()),
        (
            "times only".into(),
            Plan {
                planning_ms: Some(100.0),
                execution_ms: Some(0.0),
                ..Plan::default()
            },
        ),
    ];
    let root = common::root().join("fixtures");
    for path in common::files_with_ext(&root, &["json"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        match parse_source(&name, &text) {
            Ok(ps) => plans.extend(ps.into_iter().map(|p| (name.clone(), p))),
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(plans.len() > 100);
    let mut failures = Vec::new();
    for rule in all() {
        for (name, plan) in &plans {
            let r = catch_unwind(AssertUnwindSafe(|| check_one(plan, &rule.meta.id)));
            match r {
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{} on {name}: {msg}", rule.meta.id));
                }
                Ok(findings) => {
                    for f in findings {
                        if f.rule != rule.meta.id || f.name != rule.meta.name {
                            failures.push(format!(
                                "{} on {name}: finding labelled {}",
                                rule.meta.id, f.rule
                            ));
                        }
                        if f.node.is_some_and(|n| n >= plan.nodes.len()) {
                            failures.push(format!("{} on {name}: node out of range", rule.meta.id));
                        }
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Database rules run on an empty snapshot without panicking (undeclared thresholds) and find
/// nothing there.
#[test]
fn database_rules_run_on_an_empty_snapshot() {
    let snap = pgdiag::collect::Snapshot::default();
    for rule in all().iter().filter(|r| !r.checks_plans()) {
        let f = pgdiag::rules::check_one_snapshot(&snap, &rule.meta.id, &[]);
        assert!(f.is_empty(), "{}: {f:#?}", rule.meta.id);
    }
}
