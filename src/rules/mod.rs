//! The rule engine: rules are pure functions of the plan model that emit findings.
//!
//! Each rule is one file here (`src/rules/<name>.rs`, its logic and tests) plus one TOML file under
//! `rules/` (its id, name, title, severity, thresholds, explanation and advice), embedded in the
//! binary. The registry below is the one list of rules: one line each.

pub mod dbutil;
pub mod join;
pub mod meta;
pub mod predicate;
mod util;

mod filter_removes_most_rows;
mod heap_fetches;
mod hot_spot;
mod jit_dominates;
mod lossy_bitmap;
mod low_cache_hit;
mod nested_loop_many_loops;
mod planning_dominates;
mod row_estimate_mismatch;
mod seq_scan_large_table;
mod triggers_dominate;
mod work_mem_spill;
mod workers_not_launched;

pub mod plan_regression;

mod blocking_locks;
mod connection_saturation;
mod dead_tuples;
mod idle_in_transaction;
mod long_running_transaction;
mod stale_statistics;
mod temp_file_spills;

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;

use serde::Serialize;

use crate::collect::Snapshot;
use crate::plan::Plan;
pub use meta::{RuleMeta, Severity};
pub use plan_regression::BaselineInput;
pub(crate) use work_mem_spill::spilled_nodes;

/// What a rule says about a plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule id (`P001`).
    pub rule: String,
    /// Rule name (`seq-scan-large-table`).
    pub name: String,
    pub severity: Severity,
    /// Node id (pre-order position) the finding is about; `None` for whole-plan findings.
    pub node: Option<usize>,
    /// Readable path from the root to that node.
    pub path: Option<String>,
    /// What was measured.
    pub message: String,
    /// What to do about it.
    pub advice: String,
    /// The figures behind the finding, by name. The rules' names are literals, borrowed rather
    /// than copied (big plans have thousands of findings with ten figures each).
    pub evidence: BTreeMap<Cow<'static, str>, serde_json::Value>,
}

/// A rule's check: reads the plan, pushes findings.
pub type CheckFn = fn(&Plan, &RuleCtx, &mut Vec<Finding>);

/// A rule's check of some of the plan's nodes (a range of node ids): pushes the findings about
/// those nodes, in node order. The engine may split a big plan's nodes between threads, so the
/// findings for one range must not depend on which other ranges are checked.
pub type NodesCheckFn = fn(&Plan, &RuleCtx, Range<usize>, &mut Vec<Finding>);

/// A plan rule: a per-node part, run over ranges of nodes, and/or a part that needs the whole
/// plan at once (totals, rankings, plan-level findings), run after it.
#[derive(Clone, Copy)]
pub struct PlanCheck {
    pub nodes: Option<NodesCheckFn>,
    pub whole: Option<CheckFn>,
}

impl PlanCheck {
    /// Both parts over the whole plan, in the order the engine's sequential path runs them.
    fn run(&self, plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
        if let Some(nodes) = self.nodes {
            nodes(plan, ctx, 0..plan.nodes.len(), out);
        }
        if let Some(whole) = self.whole {
            whole(plan, ctx, out);
        }
    }
}

/// A database rule's check: reads a statistics snapshot, pushes findings.
pub type SnapshotCheckFn = fn(&Snapshot, &RuleCtx, &mut Vec<Finding>);

/// A baseline rule's check: reads a recorded plan and today's, pushes findings.
pub type BaselineCheckFn = fn(&BaselineInput, &RuleCtx, &mut Vec<Finding>);

/// What a rule checks: a plan (`check_plan`), a statistics snapshot (`check_database`), or a plan
/// against its baseline (`check_baseline`).
#[derive(Clone, Copy)]
pub enum Check {
    Plan(PlanCheck),
    Snapshot(SnapshotCheckFn),
    Baseline(BaselineCheckFn),
}

/// One registry entry: the embedded TOML and the check function.
pub struct RuleDef {
    pub toml: &'static str,
    pub check: Check,
}

/// A rule that looks at the plan as a whole.
macro_rules! rule {
    ($module:ident, $file:literal) => {
        RuleDef {
            toml: include_str!(concat!("../../rules/", $file)),
            check: Check::Plan(PlanCheck {
                nodes: None,
                whole: Some($module::check),
            }),
        }
    };
}

/// A rule that looks at each node on its own (`check` takes a range of nodes).
macro_rules! node_rule {
    ($module:ident, $file:literal) => {
        RuleDef {
            toml: include_str!(concat!("../../rules/", $file)),
            check: Check::Plan(PlanCheck {
                nodes: Some($module::check),
                whole: None,
            }),
        }
    };
}

macro_rules! db_rule {
    ($module:ident, $file:literal) => {
        RuleDef {
            toml: include_str!(concat!("../../rules/", $file)),
            check: Check::Snapshot($module::check),
        }
    };
}

macro_rules! baseline_rule {
    ($module:ident, $file:literal) => {
        RuleDef {
            toml: include_str!(concat!("../../rules/", $file)),
            check: Check::Baseline($module::check),
        }
    };
}

/// The registry: one line per rule.
static REGISTRY: &[RuleDef] = &[
    node_rule!(seq_scan_large_table, "P001-seq-scan-large-table.toml"),
    node_rule!(row_estimate_mismatch, "P002-row-estimate-mismatch.toml"),
    rule!(work_mem_spill, "P003-work-mem-spill.toml"),
    node_rule!(
        filter_removes_most_rows,
        "P004-filter-removes-most-rows.toml"
    ),
    rule!(low_cache_hit, "P005-low-cache-hit.toml"),
    node_rule!(lossy_bitmap, "P006-lossy-bitmap.toml"),
    node_rule!(heap_fetches, "P007-heap-fetches.toml"),
    node_rule!(nested_loop_many_loops, "P008-nested-loop-many-loops.toml"),
    node_rule!(workers_not_launched, "P009-workers-not-launched.toml"),
    rule!(jit_dominates, "P010-jit-dominates.toml"),
    rule!(planning_dominates, "P011-planning-dominates.toml"),
    rule!(hot_spot, "P012-hot-spot.toml"),
    rule!(triggers_dominate, "P013-triggers-dominate.toml"),
    db_rule!(dead_tuples, "D001-dead-tuples.toml"),
    db_rule!(stale_statistics, "D002-stale-statistics.toml"),
    db_rule!(temp_file_spills, "D003-temp-file-spills.toml"),
    db_rule!(idle_in_transaction, "D004-idle-in-transaction.toml"),
    db_rule!(connection_saturation, "D005-connection-saturation.toml"),
    db_rule!(blocking_locks, "D006-blocking-locks.toml"),
    db_rule!(
        long_running_transaction,
        "D007-long-running-transaction.toml"
    ),
    baseline_rule!(plan_regression, "R001-plan-regression.toml"),
];

/// A rule with its metadata parsed.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: Check,
}

impl Rule {
    /// Whether the rule reads plans (`true`) or statistics snapshots.
    pub fn checks_plans(&self) -> bool {
        matches!(self.check, Check::Plan(_))
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    REGISTRY
        .iter()
        .map(|d| Rule {
            // The TOML is part of the binary and checked by the catalog tests: a bad file is a
            // build defect, not user input.
            meta: RuleMeta::from_toml(d.toml)
                .unwrap_or_else(|e| panic!("embedded rule metadata is invalid: {e}")),
            check: d.check,
        })
        .collect()
});

/// Every rule, in registry order.
pub fn all() -> &'static [Rule] {
    &RULES
}

/// Find a rule by id (`P001`) or name (`seq-scan-large-table`), case-insensitively.
pub fn find(key: &str) -> Option<&'static Rule> {
    all()
        .iter()
        .find(|r| r.meta.id.eq_ignore_ascii_case(key) || r.meta.name.eq_ignore_ascii_case(key))
}

/// Thresholds and severity a rule runs with: the TOML defaults, overridden by configuration.
#[derive(Debug, Clone)]
pub struct RuleCtx<'a> {
    pub meta: &'a RuleMeta,
    pub severity: Severity,
    pub thresholds: BTreeMap<String, f64>,
}

impl<'a> RuleCtx<'a> {
    /// The rule's defaults.
    pub fn defaults(meta: &'a RuleMeta) -> Self {
        RuleCtx {
            meta,
            severity: meta.severity,
            thresholds: meta
                .thresholds
                .iter()
                .map(|(k, t)| (k.clone(), t.default))
                .collect(),
        }
    }

    /// A threshold the rule's TOML declares. Asking for an undeclared one is a bug in the rule,
    /// caught by the rule's tests.
    pub fn threshold(&self, key: &str) -> f64 {
        match self.thresholds.get(key) {
            Some(v) => *v,
            None => panic!(
                "rule {} asks for threshold `{key}`, which rules/{}-{}.toml does not declare",
                self.meta.id, self.meta.id, self.meta.name
            ),
        }
    }

    /// Start a finding that is about the database, not a plan node.
    pub fn db_finding(&self) -> FindingBuilder {
        FindingBuilder {
            finding: Box::new(Finding {
                rule: self.meta.id.clone(),
                name: self.meta.name.clone(),
                severity: self.severity,
                node: None,
                path: None,
                message: String::new(),
                advice: String::new(),
                evidence: BTreeMap::new(),
            }),
        }
    }

    /// Start a finding for this rule at the default severity.
    pub fn finding(&self, plan: &Plan, node: Option<usize>) -> FindingBuilder {
        FindingBuilder {
            finding: Box::new(Finding {
                rule: self.meta.id.clone(),
                name: self.meta.name.clone(),
                severity: self.severity,
                node,
                path: node.map(|n| node_path(plan, n)),
                message: String::new(),
                advice: String::new(),
                evidence: BTreeMap::new(),
            }),
        }
    }
}

/// Scratch space for `node_path`, one per thread, reused from one finding to the next.
struct PathScratch {
    /// The ids from the node up to the root.
    chain: Vec<usize>,
    /// The last path written: its ids from the root, where each label ends in `text`, the text.
    ids: Vec<usize>,
    ends: Vec<usize>,
    text: String,
    /// Whether the last path may be reused: only inside `reusing_paths`, where every path is of
    /// the same plan.
    reuse: bool,
}

thread_local! {
    static PATH_SCRATCH: RefCell<PathScratch> = const {
        RefCell::new(PathScratch {
            chain: Vec::new(),
            ids: Vec::new(),
            ends: Vec::new(),
            text: String::new(),
            reuse: false,
        })
    };
}

/// Runs `f` with `node_path` reusing, on this thread, the labels of the previous path's ancestors
/// (findings on a big plan are thousands of paths through the same few upper nodes). Every path
/// asked for inside must be of one plan: `check_plan` runs each thread's rules, which all get one
/// plan, inside it.
fn reusing_paths<R>(f: impl FnOnce() -> R) -> R {
    /// Forgets the plan's paths when `f` returns or unwinds.
    struct Forget;
    impl Drop for Forget {
        fn drop(&mut self) {
            PATH_SCRATCH.with_borrow_mut(|s| {
                s.reuse = false;
                s.ids.clear();
                s.ends.clear();
                s.text.clear();
            });
        }
    }
    PATH_SCRATCH.with_borrow_mut(|s| {
        s.reuse = true;
        s.ids.clear();
        s.ends.clear();
        s.text.clear();
    });
    let _forget = Forget;
    f()
}

/// `Plan::path`, written in reused scratch space and copied out once at its final size (a path
/// string grown label by label reallocates several times, once for each of thousands of
/// findings on a big plan). Inside `reusing_paths`, the labels it shares with the previous path
/// (the same ancestors from the root down) are not written again.
fn node_path(plan: &Plan, id: usize) -> String {
    PATH_SCRATCH.with_borrow_mut(|s| {
        if !s.reuse {
            s.ids.clear();
        }
        // Up from the node until an ancestor of the last path: found where its depth says, the
        // ids before it are its own ancestors (that is how the last path was built), so the walk
        // stops there. A depth that does not match only means walking further up.
        s.chain.clear();
        let mut shared = 0;
        let mut cur = Some(id);
        while let Some(i) = cur {
            if s.ids.get(plan.nodes[i].depth) == Some(&i) {
                shared = plan.nodes[i].depth + 1;
                break;
            }
            s.chain.push(i);
            cur = plan.nodes[i].parent;
        }
        s.ids.truncate(shared);
        s.ends.truncate(shared);
        s.text.truncate(s.ends.last().copied().unwrap_or(0));
        for &i in s.chain.iter().rev() {
            if !s.ids.is_empty() {
                s.text.push_str(" > ");
            }
            plan.nodes[i].write_label(&mut s.text);
            s.ids.push(i);
            s.ends.push(s.text.len());
        }
        String::from(s.text.as_str())
    })
}

/// Builds one finding; `push` adds it to the output.
pub struct FindingBuilder {
    /// Boxed: every call of the builder moves it, and a finding is ~200 bytes.
    finding: Box<Finding>,
}

impl FindingBuilder {
    pub fn severity(mut self, s: Severity) -> Self {
        self.finding.severity = s;
        self
    }
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.finding.message = m.into();
        self
    }
    pub fn advice(mut self, a: impl Into<String>) -> Self {
        self.finding.advice = a.into();
        self
    }
    pub fn evidence(
        mut self,
        key: impl Into<Cow<'static, str>>,
        v: impl Into<serde_json::Value>,
    ) -> Self {
        self.finding.evidence.insert(key.into(), v.into());
        self
    }
    pub fn build(self) -> Finding {
        *self.finding
    }
    pub fn push(self, out: &mut Vec<Finding>) {
        out.push(*self.finding);
    }
}

/// Settings the engine runs with: which rules, and per-rule overrides.
#[derive(Debug, Clone, Default)]
pub struct EngineSettings {
    /// Rule ids or names to skip.
    pub disabled: Vec<String>,
    /// `(rule id, threshold name) → value`.
    pub thresholds: BTreeMap<(String, String), f64>,
    /// `rule id → severity`.
    pub severities: BTreeMap<String, Severity>,
}

impl EngineSettings {
    /// The context `rule` runs with under these settings; `None` when it is disabled.
    pub fn ctx<'a>(&self, rule: &'a Rule) -> Option<RuleCtx<'a>> {
        let m = &rule.meta;
        if self
            .disabled
            .iter()
            .any(|d| d.eq_ignore_ascii_case(&m.id) || d.eq_ignore_ascii_case(&m.name))
        {
            return None;
        }
        let mut ctx = RuleCtx::defaults(m);
        if let Some(s) = self.severities.get(&m.id) {
            ctx.severity = *s;
        }
        for ((id, key), v) in &self.thresholds {
            if id == &m.id {
                ctx.thresholds.insert(key.clone(), *v);
            }
        }
        Some(ctx)
    }
}

fn sort_findings(out: &mut [Finding]) {
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.node.cmp(&b.node))
            .then(a.rule.cmp(&b.rule))
    });
}

/// Plans with at least this many nodes are checked on several threads (when the machine has
/// more than one core); below it, starting threads costs more than it saves.
pub const MIN_NODES_FOR_THREADS: usize = 2_000;

/// How many ranges of nodes each thread gets, on average: a thread that finishes early (or whose
/// core is busy with something else) leaves the remaining ranges to the others.
const NODE_RANGES_PER_THREAD: usize = 4;

/// Run every enabled rule over a plan. Findings come sorted by severity (worst first), then by node.
pub fn check_plan(plan: &Plan, settings: &EngineSettings) -> Vec<Finding> {
    check_plan_with(
        plan,
        settings,
        MIN_NODES_FOR_THREADS,
        crate::threads::available(),
    )
}

/// `check_plan` on up to `threads` threads when the plan has at least `min_nodes_for_threads`
/// nodes, on the calling thread otherwise. The findings are the same, in the same order, either
/// way (the tests compare both paths with the threshold forced low).
pub fn check_plan_with(
    plan: &Plan,
    settings: &EngineSettings,
    min_nodes_for_threads: usize,
    threads: usize,
) -> Vec<Finding> {
    let checks: Vec<(PlanCheck, RuleCtx)> = all()
        .iter()
        .filter_map(|rule| match rule.check {
            Check::Plan(check) => settings.ctx(rule).map(|ctx| (check, ctx)),
            _ => None,
        })
        .collect();
    let mut out = if threads > 1 && plan.nodes.len() >= min_nodes_for_threads.max(2) {
        check_on_threads(plan, &checks, threads)
    } else {
        reusing_paths(|| {
            let mut out = Vec::new();
            for (check, ctx) in &checks {
                check.run(plan, ctx, &mut out);
            }
            out
        })
    };
    sort_findings(&mut out);
    out
}

/// What one task of `check_on_threads` found: its findings, and after each check (in `checks`
/// order) how many of them there were by then.
struct TaskFindings {
    findings: Vec<Finding>,
    ends: Vec<usize>,
}

/// The rules over the plan, its nodes split into ranges that threads take in turn. Task 0 runs
/// the whole-plan parts; task `i ≥ 1` the per-node parts over the `i`-th range. The findings are
/// then put in the order the sequential path produces them — check by check, the ranges in node
/// order, then the check's whole-plan part — so the stable sort that follows gives the same
/// result, ties included (one rule's two findings on one node, plan-level findings).
fn check_on_threads(plan: &Plan, checks: &[(PlanCheck, RuleCtx)], threads: usize) -> Vec<Finding> {
    let n = plan.nodes.len();
    let range_count = (threads * NODE_RANGES_PER_THREAD).min(n).max(1);
    let ranges: Vec<Range<usize>> = (0..range_count)
        .map(|i| i * n / range_count..(i + 1) * n / range_count)
        .collect();
    let task_count = range_count + 1;
    let next_task = AtomicUsize::new(0);
    let work = || {
        reusing_paths(|| {
            let mut done: Vec<(usize, TaskFindings)> = Vec::new();
            loop {
                let task = next_task.fetch_add(1, Ordering::Relaxed);
                if task >= task_count {
                    return done;
                }
                let mut findings = Vec::new();
                let mut ends = Vec::with_capacity(checks.len());
                for (check, ctx) in checks {
                    if task == 0 {
                        if let Some(whole) = check.whole {
                            whole(plan, ctx, &mut findings);
                        }
                    } else if let Some(nodes) = check.nodes {
                        nodes(plan, ctx, ranges[task - 1].clone(), &mut findings);
                    }
                    ends.push(findings.len());
                }
                done.push((task, TaskFindings { findings, ends }));
            }
        })
    };
    let mut by_task: Vec<Option<TaskFindings>> = (0..task_count).map(|_| None).collect();
    std::thread::scope(|scope| {
        // A thread the system cannot start is no error: the threads that did start (the calling
        // thread alone, if need be) take the tasks between them.
        let helpers: Vec<_> = (1..threads.min(task_count))
            .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut done = work();
        for helper in helpers {
            // A rule that panics on a helper thread panics the caller, as it would sequentially.
            done.extend(
                helper
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        for (task, found) in done {
            by_task[task] = Some(found);
        }
    });
    let by_task: Vec<TaskFindings> = by_task.into_iter().flatten().collect();
    let total = by_task.iter().map(|t| t.findings.len()).sum();
    let mut taken = vec![0; by_task.len()];
    let mut ends = Vec::with_capacity(by_task.len());
    let mut findings = Vec::with_capacity(by_task.len());
    for t in by_task {
        ends.push(t.ends.into_iter());
        findings.push(t.findings.into_iter());
    }
    let mut out = Vec::with_capacity(total);
    for _ in checks {
        for task in (1..findings.len()).chain([0]) {
            // Every task noted an end for every check.
            let end = ends[task].next().unwrap_or(taken[task]);
            out.extend(findings[task].by_ref().take(end - taken[task]));
            taken[task] = end;
        }
    }
    out
}

/// Run every enabled database rule over a statistics snapshot. Findings come sorted by severity
/// (worst first), then by rule.
pub fn check_database(snapshot: &Snapshot, settings: &EngineSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in all() {
        let Check::Snapshot(check) = rule.check else {
            continue;
        };
        if let Some(ctx) = settings.ctx(rule) {
            check(snapshot, &ctx, &mut out);
        }
    }
    sort_findings(&mut out);
    out
}

/// Run every enabled baseline rule over a plan and its recorded counterpart. Findings come sorted
/// like `check_plan`'s.
pub fn check_baseline(input: &BaselineInput, settings: &EngineSettings) -> Vec<Finding> {
    let mut out = Vec::new();
    for rule in all() {
        let Check::Baseline(check) = rule.check else {
            continue;
        };
        if let Some(ctx) = settings.ctx(rule) {
            check(input, &ctx, &mut out);
        }
    }
    sort_findings(&mut out);
    out
}

/// Sort findings as the checks return them: by severity (worst first), then by node and rule.
pub fn sort(findings: &mut [Finding]) {
    sort_findings(findings);
}

/// Run one rule with its defaults (used by tests). A database rule finds nothing in a plan.
pub fn check_one(plan: &Plan, key: &str) -> Vec<Finding> {
    let rule = find(key).unwrap_or_else(|| panic!("no rule {key}"));
    let ctx = RuleCtx::defaults(&rule.meta);
    let mut out = Vec::new();
    if let Check::Plan(check) = rule.check {
        check.run(plan, &ctx, &mut out);
    }
    out
}

/// Run one database rule over a snapshot with its defaults, or with `thresholds` overriding them
/// (used by tests).
pub fn check_one_snapshot(
    snapshot: &Snapshot,
    key: &str,
    thresholds: &[(&str, f64)],
) -> Vec<Finding> {
    let rule = find(key).unwrap_or_else(|| panic!("no rule {key}"));
    let mut ctx = RuleCtx::defaults(&rule.meta);
    for (k, v) in thresholds {
        assert!(
            ctx.thresholds.contains_key(*k),
            "rule {key} has no threshold {k}"
        );
        ctx.thresholds.insert(k.to_string(), *v);
    }
    let mut out = Vec::new();
    if let Check::Snapshot(check) = rule.check {
        check(snapshot, &ctx, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reused_finding_paths_are_the_plans_paths() {
        let mut plans = util::testing::corpus();
        // The same plans with depths that do not match the tree: paths must not depend on them.
        let scrambled: Vec<(String, Plan)> = plans
            .iter()
            .map(|(name, plan)| {
                let mut plan = plan.clone();
                for n in &mut plan.nodes {
                    n.depth = (n.id * 5) % 4;
                }
                (format!("{name} (scrambled depths)"), plan)
            })
            .collect();
        plans.extend(scrambled);
        for (name, plan) in plans {
            let n = plan.nodes.len();
            // Forward, backward, and jumping about (a stride coprime with most sizes).
            let orders: [Vec<usize>; 3] = [
                (0..n).collect(),
                (0..n).rev().collect(),
                (0..n).map(|i| (i * 7 + 3) % n).collect(),
            ];
            for order in orders {
                reusing_paths(|| {
                    for &id in &order {
                        assert_eq!(node_path(&plan, id), plan.path(id), "{name}, node {id}");
                    }
                });
            }
        }
        // Outside, nothing of the last plan is reused: another plan's node 0 is its own.
        let plans = util::testing::corpus();
        let (a, b) = (&plans[0].1, &plans[1].1);
        reusing_paths(|| node_path(a, 0));
        assert_eq!(node_path(b, 0), b.path(0));
    }

    #[test]
    fn finding_paths_are_the_plans_paths() {
        for (name, plan) in util::testing::corpus() {
            for n in &plan.nodes {
                assert_eq!(
                    node_path(&plan, n.id),
                    plan.path(n.id),
                    "{name}, node {}",
                    n.id
                );
            }
        }
    }
}
