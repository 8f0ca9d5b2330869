//! `plan-regression`: the plan got worse than the one recorded for the same query (a baseline
//! written by `diagnose --write-baseline`, or the BEFORE plan of `pgdiag compare`).
//!
//! Unlike the other rules it reads two plans: the recorded shape and findings (`BaselineQuery`)
//! and today's plan with the findings the other rules gave it. What is reported:
//! - a relation scanned by an index, index-only or bitmap scan that is now read by a Seq Scan
//!   (and by no index scan any more); the finding is on the new Seq Scan;
//! - a node that spills to disk where the recorded plan had no such spill (same tests as
//!   `work-mem-spill`, without its size floor);
//! - a finding at warning or error of another rule that the baseline did not have (same rule on
//!   the same relation), at most at that finding's severity. New `info` findings are not
//!   regressions: some follow timing (`hot-spot`), and a gate must not be flaky;
//! - shared buffers (hit + read) or the root's total cost grown by more than `buffers_factor` /
//!   `cost_factor`, ignored below `min_buffers` / `min_cost`. When a structural change above
//!   explains the growth, the figures are added to its message instead of a finding of their own;
//! - execution time grown by more than `time_factor` (above `min_time_ms`): `info` unless
//!   `--gate-timing`, because a single timing is noisy.

use super::util::count;
use super::{Finding, RuleCtx, Severity};
use crate::baseline::file::BaselineQuery;
use crate::baseline::shape::{FindingKey, PlanShape};
use crate::plan::Plan;

/// This rule's id, for code that must tell its findings apart (they are never recorded).
pub const ID: &str = "R001";

/// What a baseline rule reads.
pub struct BaselineInput<'a> {
    /// The recorded query: its plan's shape and findings.
    pub before: &'a BaselineQuery,
    /// Today's plan, its shape, and the findings of the other rules on it.
    pub plan: &'a Plan,
    pub shape: &'a PlanShape,
    pub findings: &'a [Finding],
    /// Execution time gates (at the rule's severity) instead of being info.
    pub gate_timing: bool,
}

/// One regression before it becomes a finding.
struct Change {
    node: Option<usize>,
    /// Lower than the rule's own when the change is a new finding of lower severity.
    severity: Option<Severity>,
    message: String,
    advice: String,
    evidence: Vec<(&'static str, serde_json::Value)>,
}

pub fn check(input: &BaselineInput, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let before = &input.before.shape;
    let now = input.shape;
    let plan = input.plan;
    let mut changes: Vec<Change> = Vec::new();

    // Index access that became a sequential scan.
    for node in &plan.nodes {
        if node.node_type != "Seq Scan" {
            continue;
        }
        let Some(rel) = node.relation.as_deref() else {
            continue;
        };
        let on_rel = |n: &&crate::baseline::shape::ShapeNode| n.relation.as_deref() == Some(rel);
        let still_indexed = now
            .nodes
            .iter()
            .filter(on_rel)
            .any(|n| is_index_scan(&n.node_type));
        let was_seq = before
            .nodes
            .iter()
            .filter(on_rel)
            .any(|n| n.node_type == "Seq Scan");
        if still_indexed || was_seq {
            continue;
        }
        let Some(old) = before
            .nodes
            .iter()
            .filter(on_rel)
            .find(|n| is_index_scan(&n.node_type))
        else {
            continue;
        };
        // A bitmap scan names its index on the Bitmap Index Scan below it.
        let old_index = old.index.clone().or_else(|| {
            let id = before.nodes.iter().position(|n| std::ptr::eq(n, old))?;
            before
                .nodes
                .iter()
                .filter(|n| n.parent == Some(id))
                .find_map(|n| n.index.clone())
        });
        let old_label = match (&old.index, &old_index) {
            (None, Some(ix)) => format!("{} (using {ix})", old.label),
            _ => old.label.clone(),
        };
        let mut evidence = vec![
            ("relation", rel.into()),
            ("before", old_label.clone().into()),
        ];
        if let Some(ix) = &old_index {
            evidence.push(("index", ix.clone().into()));
        }
        changes.push(Change {
            node: Some(node.id),
            severity: None,
            message: format!("{old_label} became {}", node.label()),
            advice: match &old_index {
                Some(ix) => format!(
                    "Check that index {ix} still exists and is valid (a migration may have dropped \
                     or changed it, or changed the column types), and that statistics on {rel} are \
                     current (ANALYZE {rel})."
                ),
                None => format!("Check the indexes on {rel} and its statistics (ANALYZE {rel})."),
            },
            evidence,
        });
    }

    // New spills.
    for s in &now.spills {
        if before.spills.iter().any(|b| b.label == s.label) {
            continue;
        }
        changes.push(Change {
            node: (s.node < plan.nodes.len()).then_some(s.node),
            severity: None,
            message: format!(
                "{} now spills to disk ({}); the baseline's plan did not",
                s.label, s.what
            ),
            advice: "See the work-mem-spill finding for the work_mem it needs; more rows than \
                     before, or a changed plan, may be the cause."
                .into(),
            evidence: vec![("spill", s.what.clone().into())],
        });
    }

    // Findings the baseline did not have. Info findings are not regressions (they are still
    // listed with the plan): some follow timing (`hot-spot`), which would make the gate flaky.
    for f in input
        .findings
        .iter()
        .filter(|f| f.rule != ID && f.severity > Severity::Info)
    {
        let key = FindingKey::of(plan, f);
        if input.before.findings.iter().any(|k| k.same(&key)) {
            continue;
        }
        let on = key
            .relation
            .as_deref()
            .map(|r| format!(" on {r}"))
            .unwrap_or_default();
        changes.push(Change {
            node: f.node,
            // Never above the new finding's own severity.
            severity: Some(f.severity.min(ctx.severity)),
            message: format!("new finding {} {}{on}: {}", f.rule, f.name, f.message),
            advice: format!("The baseline's plan did not have it. {}", f.advice),
            evidence: vec![("new_rule", f.rule.clone().into())],
        });
    }

    // Work grown beyond the factors.
    let mut figures: Vec<(String, Vec<(&'static str, serde_json::Value)>)> = Vec::new();
    if let Some(g) = growth(
        before.shared_buffers,
        now.shared_buffers,
        ctx.threshold("buffers_factor"),
        ctx.threshold("min_buffers"),
    ) {
        figures.push((
            format!(
                "shared buffers {} → {} ({})",
                count(g.0),
                count(g.1),
                factor(g.0, g.1)
            ),
            vec![
                ("buffers_before", g.0.into()),
                ("buffers_after", g.1.into()),
            ],
        ));
    }
    if let Some(g) = growth(
        before.total_cost,
        now.total_cost,
        ctx.threshold("cost_factor"),
        ctx.threshold("min_cost"),
    ) {
        figures.push((
            format!(
                "total cost {} → {} ({})",
                cost(g.0),
                cost(g.1),
                factor(g.0, g.1)
            ),
            vec![("cost_before", g.0.into()), ("cost_after", g.1.into())],
        ));
    }
    if !figures.is_empty() {
        let text = figures
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let evidence: Vec<_> = figures.into_iter().flat_map(|(_, e)| e).collect();
        match changes.first_mut() {
            Some(first) => {
                first.message = format!("{}; {text}", first.message);
                first.evidence.extend(evidence);
            }
            None => changes.push(Change {
                node: None,
                severity: None,
                message: format!("{text}, with the same kind of plan"),
                advice: "More data, or a plan that reads more of it (compare the two plans node \
                         by node with `pgdiag compare`)."
                    .into(),
                evidence,
            }),
        }
    }

    for c in changes {
        let mut f = ctx
            .finding(plan, c.node)
            .message(c.message)
            .advice(c.advice)
            .evidence("query", input.before.label());
        if let Some(sev) = c.severity {
            f = f.severity(sev);
        }
        for (k, v) in c.evidence {
            f = f.evidence(k, v);
        }
        f.push(out);
    }

    // Timing, apart: noisy, so it gates only when asked.
    if let Some(g) = growth(
        before.execution_ms,
        input.plan.execution_ms,
        ctx.threshold("time_factor"),
        ctx.threshold("min_time_ms"),
    ) {
        let sev = if input.gate_timing {
            ctx.severity
        } else {
            Severity::Info
        };
        ctx.finding(plan, None)
            .severity(sev)
            .message(format!(
                "execution time {} → {} ({})",
                super::util::ms(g.0),
                super::util::ms(g.1),
                factor(g.0, g.1)
            ))
            .advice(
                "Timing varies between runs (cache, load); it gates CI only with --gate-timing. \
                 Compare the plans node by node with `pgdiag compare`.",
            )
            .evidence("query", input.before.label())
            .evidence("time_ms_before", g.0)
            .evidence("time_ms_after", g.1)
            .push(out);
    }
}

fn is_index_scan(node_type: &str) -> bool {
    matches!(
        node_type,
        "Index Scan" | "Index Only Scan" | "Bitmap Heap Scan"
    )
}

/// `(before, after)` when `after` exceeds `before × factor` and reaches `floor`.
fn growth(before: Option<f64>, after: Option<f64>, factor: f64, floor: f64) -> Option<(f64, f64)> {
    let (b, a) = (before?, after?);
    (a >= floor && a > b * factor && a.is_finite() && b.is_finite()).then_some((b, a))
}

/// `178×`, `2.4×`; `new` when there was nothing before.
fn factor(before: f64, after: f64) -> String {
    if before <= 0.0 {
        return "from none".into();
    }
    let f = after / before;
    if f >= 10.0 {
        format!("{}×", count(f))
    } else {
        format!("{f:.1}×")
    }
}

/// A cost as EXPLAIN prints it, with thousands separators from 1,000 on.
fn cost(c: f64) -> String {
    if c >= 1000.0 {
        count(c)
    } else {
        format!("{c:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::shape::{finding_keys, PlanShape};
    use crate::rules::{check_plan, EngineSettings};

    fn fixture(name: &str) -> Plan {
        let path = format!("{}/fixtures/baseline/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        crate::plan::parse_source(&path, &text).unwrap().remove(0)
    }

    fn recorded(plan: &Plan) -> BaselineQuery {
        let findings = check_plan(plan, &EngineSettings::default());
        BaselineQuery {
            fingerprint: "f".into(),
            file: Some("q.sql".into()),
            line: Some(3),
            sql: "SELECT count(*) FROM orders o WHERE customer_id = 42".into(),
            shape: PlanShape::of(plan),
            findings: finding_keys(plan, &findings),
        }
    }

    fn regressions(
        before: &Plan,
        after: &Plan,
        settings: &EngineSettings,
        gate: bool,
    ) -> Vec<Finding> {
        let b = recorded(before);
        let shape = PlanShape::of(after);
        let findings = check_plan(after, settings);
        let input = BaselineInput {
            before: &b,
            plan: after,
            shape: &shape,
            findings: &findings,
            gate_timing: gate,
        };
        crate::rules::check_baseline(&input, settings)
    }

    #[test]
    fn index_scan_that_became_a_seq_scan() {
        let (ix, seq) = (fixture("index_scan.json"), fixture("seq_scan.json"));
        let f = regressions(&ix, &seq, &EngineSettings::default(), false);
        let structural: Vec<&Finding> = f.iter().filter(|f| f.node == Some(1)).collect();
        assert!(!structural.is_empty(), "{f:#?}");
        assert_eq!(
            structural[0].message,
            "Index Scan using orders_customer_idx on orders o became Seq Scan on orders o; \
             shared buffers 12 → 2,145 (179×); total cost 8.47 → 3,814 (450×)"
        );
        assert_eq!(structural[0].severity, Severity::Warning);
        assert_eq!(structural[0].evidence["query"], "q.sql:3");
        // No whole-plan buffers finding besides: the scan explains the growth.
        assert!(
            f.iter()
                .all(|f| f.node.is_some() || f.severity == Severity::Info),
            "{f:#?}"
        );
    }

    #[test]
    fn the_same_plan_or_a_better_one_is_no_regression() {
        let (ix, seq) = (fixture("index_scan.json"), fixture("seq_scan.json"));
        for (b, a) in [(&ix, &ix), (&seq, &seq), (&seq, &ix)] {
            let f = regressions(b, a, &EngineSettings::default(), true);
            assert!(f.is_empty(), "{f:#?}");
        }
    }

    #[test]
    fn thresholds_come_from_the_settings() {
        let (ix, seq) = (fixture("index_scan.json"), fixture("seq_scan.json"));
        // Same shape, more buffers: a seq scan plan compared with itself but the baseline's
        // buffers lowered, so only the factor decides.
        let mut b = recorded(&seq);
        b.shape.shared_buffers = Some(1000.0);
        let shape = PlanShape::of(&seq);
        let run = |settings: &EngineSettings| {
            let input = BaselineInput {
                before: &b,
                plan: &seq,
                shape: &shape,
                findings: &[],
                gate_timing: false,
            };
            crate::rules::check_baseline(&input, settings)
        };
        let f = run(&EngineSettings::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(
            f[0].message,
            "shared buffers 1,000 → 2,145 (2.1×), with the same kind of plan"
        );
        let mut lenient = EngineSettings::default();
        lenient
            .thresholds
            .insert(("R001".into(), "buffers_factor".into()), 3.0);
        assert!(run(&lenient).is_empty());
        let _ = ix;
    }

    #[test]
    fn timing_is_info_unless_gated() {
        let seq = fixture("seq_scan.json");
        let mut b = recorded(&seq);
        b.shape.execution_ms = Some(2.0);
        let mut slow = seq.clone();
        slow.execution_ms = Some(250.0);
        let shape = PlanShape::of(&slow);
        for (gate, sev) in [(false, Severity::Info), (true, Severity::Warning)] {
            let findings = check_plan(&slow, &EngineSettings::default());
            let input = BaselineInput {
                before: &b,
                plan: &slow,
                shape: &shape,
                findings: &findings,
                gate_timing: gate,
            };
            let f = crate::rules::check_baseline(&input, &EngineSettings::default());
            assert_eq!(f.len(), 1, "{f:#?}");
            assert_eq!(f[0].severity, sev);
            assert_eq!(f[0].message, "execution time 2.0 ms → 250 ms (125×)");
        }
    }

    #[test]
    fn a_finding_the_baseline_lacked_is_new() {
        let (ix, seq) = (fixture("index_scan.json"), fixture("seq_scan.json"));
        let f = regressions(&ix, &seq, &EngineSettings::default(), false);
        let p001 = check_plan(&seq, &EngineSettings::default());
        assert!(p001.iter().any(|x| x.rule == "P001"), "{p001:#?}");
        assert!(
            f.iter().any(|x| x
                .message
                .starts_with("new finding P001 seq-scan-large-table on orders")),
            "{f:#?}"
        );
        // A finding already recorded is not new.
        let mut b = recorded(&seq);
        b.shape = PlanShape::of(&seq);
        let shape = PlanShape::of(&seq);
        let input = BaselineInput {
            before: &b,
            plan: &seq,
            shape: &shape,
            findings: &p001,
            gate_timing: false,
        };
        assert!(crate::rules::check_baseline(&input, &EngineSettings::default()).is_empty());
    }

    #[test]
    fn a_new_spill() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/plans/generated/pg15/c_sort_external_merge.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = crate::plan::parse_source(path, &text).unwrap().remove(0);
        let shape = PlanShape::of(&plan);
        assert_eq!(shape.spills.len(), 1);
        // The same plan, recorded when its sort still fitted in memory.
        let mut b = recorded(&plan);
        b.shape.spills.clear();
        let input = BaselineInput {
            before: &b,
            plan: &plan,
            shape: &shape,
            findings: &[],
            gate_timing: false,
        };
        let f = crate::rules::check_baseline(&input, &EngineSettings::default());
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].node, Some(shape.spills[0].node));
        assert!(
            f[0].message.starts_with(&format!(
                "{} now spills to disk (external",
                shape.spills[0].label
            )),
            "{}",
            f[0].message
        );
        // Recorded with the spill: nothing new.
        let b = recorded(&plan);
        let input = BaselineInput {
            before: &b,
            ..input
        };
        assert!(crate::rules::check_baseline(&input, &EngineSettings::default()).is_empty());
    }
}
