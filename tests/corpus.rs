//! The real-world plan corpus (`../shared/plans/real`) against the reference answers.
//!
//! Every file under `real/plans/**` must parse through `parse_source` (or, for a genuinely broken
//! file, be rejected with an error naming a line: see [`BROKEN`]). Where Pg::Explain's answer is
//! sound (`pg_explain_ok` and not `suspect`), the trees must agree node by node: count, node type
//! (in a common vocabulary), relation / alias / index / CTE, estimated rows, actual rows, loops,
//! never-executed; inclusive time too where its rules are ours (no parallel section), and
//! planning / execution time where the corpus builder found them. Where the corpus holds pev2's
//! own expected parse (`upstream-expect/pev2`, partial JSON plans), every field it gives must
//! agree too. A disagreement that is the reference's fault is listed in [`REFERENCE_WRONG`] with
//! the reason. And on every analysed plan without parallelism the derived times must add up
//! (no negative exclusive time, Σ exclusive = root inclusive): exceptions in
//! [`TIME_DOES_NOT_ADD_UP`].
//!
//! Each test prints one line per file (`ok`, `PARSE-FAIL`, `DISAGREE`, …) and then fails listing
//! every unexpected problem, so one run shows the whole picture.
//!
//! The text files have their own test (`corpus_text_plans`), since the text reader lives apart.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use pgdiag::plan::model::{Node, Plan};
use pgdiag::plan::parse::parse_source;
use serde_json::Value;

/// Files that are not valid plans and must be rejected with an error naming a line.
/// (path relative to `real/plans`, why.)
const BROKEN: &[(&str, &str)] = &[];

/// Disagreements that are the reference's fault: (file relative to `real/plans`, a substring of
/// the disagreement message, why the reference is wrong).
const REFERENCE_WRONG: &[(&str, &str, &str)] = &[
    (
        "pev2/cte-exclusive-time-04.txt",
        "node 3 (Sort): relationship: ours subnode, reference initplan",
        "`->  Sort` is indented like the `InitPlan 1` label, not like the InitPlan's own `->  Limit`: \
         it is the root's outer child; Pg::Explain attaches every later sibling to the InitPlan",
    ),
    (
        "pev2/cte-exclusive-time-05.txt",
        "node 4 (Index Scan): relationship: ours subnode, reference initplan",
        "`->  Index Scan using pk_vendor` sits at the `InitPlan 2` label's indentation: the \
         Aggregate's outer child, not part of the InitPlan (same Pg::Explain slip)",
    ),
];

/// Plans whose printed times cannot add up, whatever the reader (see [`time_accounting`]).
const TIME_DOES_NOT_ADD_UP: &[(&str, &str)] = &[(
    "pg-explain/as_text-18.txt",
    "the SubPlan under the Index Scan's `Index Cond` takes 0.018 ms × 5570 loops = 100 ms while \
     the Index Scan itself prints 0.003 ms × 19499 loops = 58 ms: an index scan's runtime keys are evaluated when the \
     parent rescans it, outside the node's own timing, so the printed figures cannot nest",
)];

/// Derived times on an analysed plan without parallelism: no exclusive time is negative, and
/// Σ exclusive equals the root's inclusive time, up to the printed rounding (±0.0005 ms per loop
/// of each node) and 1 %.
fn time_accounting(p: &Plan) -> Option<String> {
    if !p.analyzed() {
        return None;
    }
    if let Some(n) = p
        .nodes
        .iter()
        .find(|n| n.exclusive_ms.is_some_and(|e| e < 0.0))
    {
        return Some(format!("node {} has a negative exclusive time", n.id));
    }
    let parallel = p
        .nodes
        .iter()
        .any(|n| n.node_type == "Gather" || n.node_type == "Gather Merge");
    let root = p.nodes[0].inclusive_ms?;
    if parallel {
        return None;
    }
    let sum: f64 = p.nodes.iter().filter_map(|n| n.exclusive_ms).sum();
    let slack: f64 = p
        .nodes
        .iter()
        .map(|n| 0.001 * n.loops().max(1.0))
        .sum::<f64>();
    if (sum - root).abs() > slack.max(0.01 * root) {
        return Some(format!(
            "Σ exclusive time {sum:.3} ms is not the root's inclusive time {root:.3} ms"
        ));
    }
    None
}

#[test]
fn corpus_json_yaml_xml_plans() {
    run_corpus(&["json", "yaml", "xml"]);
}

#[test]
fn corpus_text_plans() {
    run_corpus(&["txt"]);
}

/// The same statement printed in several formats must give the same tree: node types, targets,
/// relationships, estimates. (Actual figures differ: each file is a separate run.)
#[test]
fn corpus_same_statement_in_every_format() {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let dir = shared.join("real/plans/pg-explain");
    let mut groups: Vec<Vec<String>> = (1..=6)
        .map(|i| {
            ["json", "yaml", "xml"]
                .iter()
                .map(|f| format!("{f}-plans-{i}.{}", if *f == "yaml" { "yaml" } else { f }))
                .collect()
        })
        .collect();
    // (`ctes-5-text` is another statement: its CTE scans carry aliases.)
    groups.push(
        [
            "ctes-1-text.txt",
            "ctes-2-xml.xml",
            "ctes-3-json.json",
            "ctes-4-yaml.yaml",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    let shape = |p: &Plan| -> Vec<String> {
        p.nodes
            .iter()
            .map(|n| {
                format!(
                    "{}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}",
                    n.depth,
                    n.node_type,
                    n.join_type,
                    n.strategy,
                    n.relationship,
                    n.details().subplan_name,
                    n.relation,
                    n.alias,
                    n.index,
                    n.details().cte_name,
                    n.startup_cost,
                    n.total_cost,
                    fmt_opt(n.plan_rows)
                )
            })
            .collect()
    };
    let mut problems = Vec::new();
    let mut compared = 0;
    for g in &groups {
        let mut first: Option<(String, Vec<String>)> = None;
        for f in g {
            let text = std::fs::read_to_string(dir.join(f)).unwrap();
            let plans = parse_source(f, &text).unwrap_or_else(|e| panic!("{e}"));
            let s = shape(&plans[0]);
            match &first {
                None => first = Some((f.clone(), s)),
                Some((f0, s0)) => {
                    compared += 1;
                    if *s0 != s {
                        let at = s0.iter().zip(&s).position(|(a, b)| a != b);
                        problems.push(format!(
                            "{f} differs from {f0} ({} vs {} nodes) at node {at:?}: {:?} vs {:?}",
                            s.len(),
                            s0.len(),
                            at.and_then(|i| s.get(i)),
                            at.and_then(|i| s0.get(i))
                        ));
                    }
                }
            }
        }
    }
    println!("{compared} cross-format comparisons");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ------------------------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    files: usize,
    parsed: usize,
    rejected_as_expected: usize,
    compared: usize,
    agreed: usize,
    reference_unsound: usize,
    pev2_compared: usize,
    pev2_nodes: usize,
    failures: Vec<String>,
    excused: Vec<String>,
}

fn run_corpus(exts: &[&str]) {
    let Some(shared) = common::shared_plans() else {
        return;
    };
    let real = shared.join("real");
    let plans_dir = real.join("plans");
    let files = common::files_with_ext(&plans_dir, exts);
    assert!(
        !files.is_empty(),
        "no {exts:?} files under {}",
        plans_dir.display()
    );
    let mut t = Tally::default();
    let mut report = String::new();
    for path in &files {
        let rel = path
            .strip_prefix(&plans_dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        t.files += 1;
        let line = check_file(&real, path, &rel, &mut t);
        let _ = writeln!(report, "{line}");
    }
    println!("{report}");
    println!(
        "{exts:?}: {} files, {} parsed, {} rejected as listed broken; reference sound for {}, \
         agreeing {} (reference unsound for {}); compared with pev2's expectations: {} files \
         ({} nodes); {} excused disagreements",
        t.files,
        t.parsed,
        t.rejected_as_expected,
        t.compared,
        t.agreed,
        t.reference_unsound,
        t.pev2_compared,
        t.pev2_nodes,
        t.excused.len()
    );
    for e in &t.excused {
        println!("  excused: {e}");
    }
    if !t.failures.is_empty() {
        panic!(
            "{} problem(s) in the {exts:?} corpus:\n{}",
            t.failures.len(),
            t.failures.join("\n")
        );
    }
}

/// Check one file; returns its summary line, records problems in `t`.
fn check_file(real: &Path, path: &Path, rel: &str, t: &mut Tally) -> String {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            t.failures.push(format!("{rel}: cannot read: {e}"));
            return format!("READ-FAIL  {rel}");
        }
    };
    let broken = BROKEN.iter().find(|(f, _)| *f == rel);
    let plans = match parse_source(rel, &text) {
        Ok(p) => p,
        Err(e) => {
            if broken.is_some() && e.line.is_some() {
                t.rejected_as_expected += 1;
                return format!("rejected   {rel}: {e}");
            }
            let why = if broken.is_some() {
                "listed broken but its error names no line"
            } else {
                "does not parse"
            };
            t.failures.push(format!("{rel}: {why}: {e}"));
            return format!("PARSE-FAIL {rel}: {e}");
        }
    };
    if broken.is_some() {
        t.failures.push(format!(
            "{rel}: listed in BROKEN but parses ({} plan(s))",
            plans.len()
        ));
    }
    t.parsed += 1;
    for p in &plans {
        if let Some(problem) = time_accounting(p) {
            match TIME_DOES_NOT_ADD_UP.iter().find(|(f, _)| *f == rel) {
                Some((_, why)) => t.excused.push(format!("{rel}: {problem} — {why}")),
                None => t.failures.push(format!("{rel}: {problem}")),
            }
        }
    }
    let n_nodes: usize = plans.iter().map(|p| p.nodes.len()).sum();

    let expected_path = real
        .join("expected")
        .join(Path::new(rel).with_extension("json"));
    let Some(expected) = read_json(&expected_path) else {
        return format!(
            "ok         {rel}: {} plan(s), {n_nodes} nodes (no reference)",
            plans.len()
        );
    };
    let sound = expected["pg_explain_ok"] == Value::Bool(true)
        && expected
            .get("suspect")
            .is_none_or(|s| s.is_null() || s == &Value::Bool(false));
    // pev2's own expected parse, where the corpus has one: a second opinion on every file, and
    // the only one where Pg::Explain's answer is unsound.
    let mut pev2_diffs = Vec::new();
    if let Some(f) = expected["upstream_expect_file"].as_str() {
        let p = real.join(f);
        if let Ok(text) = std::fs::read_to_string(&p) {
            let is_plan = serde_json::from_str::<Value>(&text)
                .ok()
                .is_some_and(|v| v.get("Plan").is_some() || v[0].get("Plan").is_some());
            if is_plan {
                match parse_source(f, &text) {
                    Ok(theirs) => {
                        t.pev2_compared += 1;
                        t.pev2_nodes += theirs[0].nodes.len();
                        pev2_diffs = compare_pev2(&plans[0], &theirs[0]);
                    }
                    Err(e) => pev2_diffs.push(format!("pev2 expectation unreadable: {e}")),
                }
            }
        }
    }
    let mut unexcused_pev2 = Vec::new();
    for d in pev2_diffs {
        let d = format!("pev2: {d}");
        match REFERENCE_WRONG
            .iter()
            .find(|(f, pat, _)| *f == rel && d.contains(pat))
        {
            Some((_, _, why)) => t.excused.push(format!("{rel}: {d} — {why}")),
            None => {
                t.failures.push(format!("{rel}: {d}"));
                unexcused_pev2.push(d);
            }
        }
    }
    let pev2_note = if unexcused_pev2.is_empty() {
        String::new()
    } else {
        format!("; DISAGREES with pev2: {}", unexcused_pev2.join("; "))
    };
    if !sound {
        t.reference_unsound += 1;
        let seen = expected["independent"]["node_lines_seen"].as_u64();
        return format!(
            "{}{rel}: {} plan(s), {n_nodes} nodes (reference unsound; node lines seen by regex: {}){pev2_note}",
            if pev2_note.is_empty() { "ok         " } else { "DISAGREE   " },
            plans.len(),
            seen.map_or("-".to_string(), |s| s.to_string())
        );
    }
    t.compared += 1;
    let diffs = compare(&plans[0], &expected);
    let mut unexcused = Vec::new();
    for d in diffs {
        match REFERENCE_WRONG
            .iter()
            .find(|(f, pat, _)| *f == rel && d.contains(pat))
        {
            Some((_, _, why)) => t.excused.push(format!("{rel}: {d} — {why}")),
            None => unexcused.push(d),
        }
    }
    if unexcused.is_empty() {
        t.agreed += 1;
        format!(
            "{}{rel}: {} plan(s), {n_nodes} nodes, agrees{pev2_note}",
            if pev2_note.is_empty() {
                "ok         "
            } else {
                "DISAGREE   "
            },
            plans.len()
        )
    } else {
        let line = format!(
            "DISAGREE   {rel}: {} difference(s): {}{pev2_note}",
            unexcused.len(),
            unexcused.join("; ")
        );
        for d in unexcused {
            t.failures.push(format!("{rel}: {d}"));
        }
        line
    }
}

fn read_json(path: &PathBuf) -> Option<Value> {
    let s = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&s).ok()
}

// ------------------------------------------------------------------------------------------------
// Comparison

/// Pg::Explain's relationship vocabulary for one of our nodes.
fn relationship(n: &Node) -> &'static str {
    if n.parent.is_none() {
        return "root";
    }
    let sub = n.details().subplan_name.as_deref().unwrap_or("");
    match n.relationship.as_deref() {
        Some("InitPlan") if sub.starts_with("CTE ") => "cte",
        Some("InitPlan") => "initplan",
        Some("SubPlan") => "subplan",
        _ if sub.starts_with("CTE ") => "cte",
        _ => "subnode",
    }
}

/// Children are visited in a fixed order of kinds, each kind in printed order, so that both trees
/// are walked the same way whatever order the reference keeps them in.
fn rank(rel: &str) -> u8 {
    match rel {
        "cte" => 0,
        "initplan" => 1,
        "subnode" => 2,
        "subplan" => 3,
        _ => 4,
    }
}

/// Our nodes in that canonical pre-order.
fn our_order(plan: &Plan) -> Vec<usize> {
    let mut out = Vec::with_capacity(plan.nodes.len());
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        out.push(i);
        let mut kids = plan.nodes[i].children.clone();
        kids.sort_by_key(|&c| rank(relationship(&plan.nodes[c])));
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// The reference's nodes in the same canonical pre-order (from its `parent` links).
fn their_order(nodes: &[Value]) -> Vec<usize> {
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut roots = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        match n["parent"].as_u64() {
            Some(p) => children.entry(p as usize).or_default().push(i),
            None => roots.push(i),
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        out.push(i);
        let mut kids = children.get(&i).cloned().unwrap_or_default();
        kids.sort_by_key(|&c| rank(nodes[c]["relationship"].as_str().unwrap_or("")));
        stack.extend(kids.into_iter().rev());
    }
    out
}

/// A node's name in text-format vocabulary (what Pg::Explain reports), without its target.
fn text_name(n: &Node) -> String {
    let mut s = String::new();
    if let Some(pm) = n.partial_mode.as_deref() {
        if pm != "Simple" {
            s.push_str(pm);
            s.push(' ');
        }
    }
    let base = match (n.node_type.as_str(), n.strategy.as_deref()) {
        ("Aggregate", Some("Hashed")) => "HashAggregate".to_string(),
        ("Aggregate", Some("Sorted")) => "GroupAggregate".to_string(),
        ("Aggregate", Some("Mixed")) => "MixedAggregate".to_string(),
        ("SetOp", Some("Hashed")) => "HashSetOp".to_string(),
        ("ModifyTable", _) => n
            .details()
            .operation
            .clone()
            .unwrap_or_else(|| "ModifyTable".into()),
        (t, _) => t.to_string(),
    };
    s.push_str(&base);
    if let Some(j) = n.join_type.as_deref() {
        if j != "Inner" {
            s.push(' ');
            s.push_str(j);
            if !base.ends_with("Join") || n.node_type == "Nested Loop" {
                s.push_str(" Join");
            } else {
                // `Hash Join` + `Left` → `Hash Left Join`.
                let stem = base.trim_end_matches(" Join");
                s = format!("{stem} {j} Join");
            }
        }
    }
    if n.details().scan_direction.as_deref() == Some("Backward") {
        s.push_str(" Backward");
    }
    s
}

/// Whether the reference's node type names our node: equal, or ours followed by its target
/// (` on <table> …`, or the alias as `Subquery Scan <alias>` prints it).
fn same_type(theirs: &str, n: &Node) -> bool {
    let strip_parallel = |s: &str| s.strip_prefix("Parallel ").unwrap_or(s).to_string();
    let theirs = strip_parallel(theirs);
    // For JSON, YAML and XML sources the reference keeps PostgreSQL's `Node Type` as printed.
    if theirs == n.node_type {
        return true;
    }
    let ours = text_name(n);
    if theirs == ours {
        return true;
    }
    let Some(rest) = theirs.strip_prefix(&format!("{ours} ")) else {
        return false;
    };
    rest.starts_with("on ")
        || n.alias.as_deref() == Some(rest)
        || n.relation.as_deref() == Some(rest)
}

/// Undo `quote_identifier` on each dot-separated part: text plans print `public."my:table"`,
/// JSON (and our model) `my:table` with schema `public`. Pg::Explain keeps the quotes.
fn unquote(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.push('"');
            }
            '"' => quoted = !quoted,
            _ => out.push(c),
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    // The reference keeps three decimals of a product; allow for that and for float noise.
    (a - b).abs() <= 0.0015_f64.max(1e-6 * a.abs().max(b.abs()))
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| x.to_string())
}

/// Node-by-node differences between our plan and the reference's answer.
fn compare(plan: &Plan, expected: &Value) -> Vec<String> {
    let mut diffs = Vec::new();
    let nodes = expected["nodes"].as_array().cloned().unwrap_or_default();
    let count = expected["node_count"]
        .as_u64()
        .unwrap_or(nodes.len() as u64) as usize;
    if plan.nodes.len() != count {
        diffs.push(format!(
            "node count: ours {}, reference {count}",
            plan.nodes.len()
        ));
        return diffs;
    }
    let parallel = plan
        .nodes
        .iter()
        .any(|n| n.node_type == "Gather" || n.node_type == "Gather Merge" || n.parallel_aware);
    let ours = our_order(plan);
    let theirs = their_order(&nodes);
    for (&oi, &ti) in ours.iter().zip(theirs.iter()) {
        let n = &plan.nodes[oi];
        let e = &nodes[ti];
        let at = format!("node {ti} ({})", e["node_type"].as_str().unwrap_or("?"));
        let mut d = |what: String| diffs.push(format!("{at}: {what}"));

        let their_type = e["node_type"].as_str().unwrap_or("");
        if !same_type(their_type, n) {
            d(format!(
                "node type: ours {:?} ({}), reference {their_type:?}",
                text_name(n),
                n.node_type
            ));
        }
        let their_rel = e["relationship"].as_str().unwrap_or("");
        if their_rel != relationship(n) {
            d(format!(
                "relationship: ours {}, reference {their_rel}",
                relationship(n)
            ));
        }
        if let Some(r) = e["relation"].as_str().map(unquote) {
            let r = r.as_str();
            let qualified = match (&n.schema, &n.relation) {
                (Some(s), Some(rel)) => Some(format!("{s}.{rel}")),
                _ => None,
            };
            if n.relation.as_deref() != Some(r) && qualified.as_deref() != Some(r) {
                d(format!("relation: ours {:?}, reference {r:?}", n.relation));
            }
        }
        if let Some(a) = e["alias"].as_str().map(unquote) {
            let a = a.as_str();
            if n.alias.as_deref() != Some(a) {
                d(format!("alias: ours {:?}, reference {a:?}", n.alias));
            }
        }
        if let Some(i) = e["index_name"].as_str().map(unquote) {
            let i = i.as_str();
            if n.index.as_deref() != Some(i) {
                d(format!("index: ours {:?}, reference {i:?}", n.index));
            }
        }
        if let Some(c) = e["cte_name"].as_str() {
            let ours_cte = if their_rel == "cte" {
                n.details()
                    .subplan_name
                    .as_deref()
                    .and_then(|s| s.strip_prefix("CTE "))
                    .map(str::to_string)
            } else {
                n.details().cte_name.clone()
            };
            if ours_cte.as_deref() != Some(c) {
                d(format!("CTE: ours {ours_cte:?}, reference {c:?}"));
            }
        }
        if let Some(r) = e["estimated_rows"].as_f64() {
            if n.plan_rows.is_none_or(|p| !close(p, r)) {
                d(format!(
                    "estimated rows: ours {}, reference {r}",
                    fmt_opt(n.plan_rows)
                ));
            }
        }
        let their_never = e["never_executed"].as_bool().unwrap_or(false);
        if their_never != n.never_executed {
            d(format!(
                "never executed: ours {}, reference {their_never}",
                n.never_executed
            ));
        }
        if let Some(l) = e["actual_loops"].as_f64() {
            if !close(n.loops(), l) {
                d(format!("loops: ours {}, reference {l}", n.loops()));
            }
        }
        if !their_never {
            if let Some(r) = e["actual_rows"].as_f64() {
                if n.actual_rows.is_none_or(|a| !close(a, r)) {
                    d(format!(
                        "actual rows: ours {}, reference {r}",
                        fmt_opt(n.actual_rows)
                    ));
                }
            }
        }
        if !parallel {
            if let Some(inc) = e["total_inclusive_time"].as_f64() {
                if n.inclusive_ms.is_none_or(|a| !close(a, inc)) {
                    d(format!(
                        "inclusive time: ours {}, reference {inc}",
                        fmt_opt(n.inclusive_ms)
                    ));
                }
            }
        }
    }
    let ind = &expected["independent"];
    if let Some(x) = ind["execution_time_ms"].as_f64() {
        if plan.execution_ms.is_none_or(|a| !close(a, x)) {
            diffs.push(format!(
                "execution time: ours {}, reference {x}",
                fmt_opt(plan.execution_ms)
            ));
        }
    }
    if let Some(x) = ind["planning_time_ms"].as_f64() {
        if plan.planning_ms.is_none_or(|a| !close(a, x)) {
            diffs.push(format!(
                "planning time: ours {}, reference {x}",
                fmt_opt(plan.planning_ms)
            ));
        }
    }
    diffs
}

// ------------------------------------------------------------------------------------------------
// pev2's expectations: partial JSON plans (only what its test checks), read with our JSON reader.

/// A node type in a vocabulary both sides can be brought to: pev2 writes `Nested Loop Join`,
/// `Hash Semi Join`; PostgreSQL's JSON `Hash Join` + `Join Type: Semi`.
fn canon_type(s: &str) -> String {
    let s = s.strip_prefix("Parallel ").unwrap_or(s);
    let mut words: Vec<&str> = s
        .split(' ')
        .filter(|w| {
            !matches!(
                *w,
                "Left" | "Right" | "Full" | "Semi" | "Anti" | "Inner" | "Backward"
            )
        })
        .collect();
    if words.starts_with(&["Nested", "Loop"]) {
        words.retain(|w| *w != "Join");
    }
    words.join(" ")
}

fn compare_pev2(ours: &Plan, theirs: &Plan) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut stack = vec![(0usize, 0usize)];
    while let Some((o, t)) = stack.pop() {
        let (n, e) = (&ours.nodes[o], &theirs.nodes[t]);
        let at = format!("node {o} ({})", n.node_type);
        let mut d = |what: String| diffs.push(format!("{at}: {what}"));
        let ct = canon_type(&e.node_type);
        if ct != canon_type(&n.node_type)
            && ct != canon_type(&text_name(n))
            && !same_type(&e.node_type, n)
        {
            d(format!(
                "node type: ours {:?}, pev2 {:?}",
                text_name(n),
                e.node_type
            ));
        }
        macro_rules! same_str {
            ($f:ident) => {
                if let Some(x) = &e.$f {
                    if n.$f.as_deref() != Some(x.as_str()) {
                        d(format!("{}: ours {:?}, pev2 {x:?}", stringify!($f), n.$f));
                    }
                }
            };
        }
        macro_rules! same_num {
            ($f:ident) => {
                same_num!($f, e.$f, n.$f)
            };
            ($f:ident, $theirs:expr, $ours:expr) => {
                if let Some(x) = $theirs {
                    if $ours.is_none_or(|v| !close(v, x)) {
                        d(format!(
                            "{}: ours {}, pev2 {x}",
                            stringify!($f),
                            fmt_opt($ours)
                        ));
                    }
                }
            };
        }
        // pev2 keeps the text's spelling: `schema.table`, quoted identifiers.
        if let Some(x) = e.relation.as_deref().map(unquote) {
            let qualified = n
                .schema
                .as_ref()
                .zip(n.relation.as_ref())
                .map(|(s, r)| format!("{s}.{r}"));
            if n.relation.as_deref() != Some(x.as_str()) && qualified.as_deref() != Some(x.as_str())
            {
                d(format!("relation: ours {:?}, pev2 {x:?}", n.relation));
            }
        }
        if let Some(x) = e.index.as_deref().map(unquote) {
            if n.index.as_deref() != Some(x.as_str()) {
                d(format!("index: ours {:?}, pev2 {x:?}", n.index));
            }
        }
        same_str!(alias);
        same_str!(join_type);
        same_num!(startup_cost);
        same_num!(total_cost);
        same_num!(plan_rows);
        same_num!(actual_total_ms);
        same_num!(actual_rows);
        same_num!(actual_loops);
        same_num!(
            workers_planned,
            e.details().workers_planned,
            n.details().workers_planned
        );
        same_num!(
            workers_launched,
            e.details().workers_launched,
            n.details().workers_launched
        );
        if !e.children.is_empty() {
            if e.children.len() != n.children.len() {
                d(format!(
                    "children: ours {}, pev2 {}",
                    n.children.len(),
                    e.children.len()
                ));
            } else {
                for (&oc, &tc) in n.children.iter().zip(&e.children).rev() {
                    stack.push((oc, tc));
                }
            }
        }
    }
    for (what, a, b) in [
        ("planning time", ours.planning_ms, theirs.planning_ms),
        ("execution time", ours.execution_ms, theirs.execution_ms),
    ] {
        if let Some(b) = b {
            if a.is_none_or(|a| !close(a, b)) {
                diffs.push(format!("{what}: ours {}, pev2 {b}", fmt_opt(a)));
            }
        }
    }
    diffs
}
