//! `row-estimate-mismatch`: the planner's row estimate for a node was off by a large factor.
//!
//! The factor is `Node::estimate_factor()`: max(actual, planned) / min(actual, planned), both over
//! all loops and floored at one row. It fires at `warn_factor` (warning) and is an error from
//! `error_factor`. Tiny counts are skipped: the larger of the two must reach `min_rows`.
//!
//! **One finding per origin.** A misestimate propagates: the join above a misestimated scan is off
//! by (at least) the same factor. A node is reported only when its own contribution is large: its
//! factor divided by the worst factor among its input children *in the same direction* must reach
//! `origin_ratio`. A leaf is always an origin. So a join is reported when its join selectivity
//! adds its own error, not when it merely inherits one; InitPlans/SubPlans are not inputs and do
//! not count as children here.
//!
//! ModifyTable nodes are skipped: they return no rows without RETURNING.
//!
//! **Nodes stopped early are not over-estimates.** Under a Limit, a Merge Join, a semi/anti join,
//! or inside a SubPlan/InitPlan, execution may stop before a node produced everything the planner
//! expected, so "fewer rows than planned" is not an error there; only under-estimates are reported.

use super::predicate::{self, Analysis};
use super::util::{count, own_names, relation_name};
use super::{Finding, RuleCtx, Severity};
use crate::plan::{EstimateDirection, Node, Plan};
use std::ops::Range;

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let warn = ctx.threshold("warn_factor");
    let error = ctx.threshold("error_factor");
    let min_rows = ctx.threshold("min_rows");
    let origin_ratio = ctx.threshold("origin_ratio");
    for node in &plan.nodes[nodes] {
        // INSERT/UPDATE/DELETE return no rows without RETURNING, whatever the planner printed
        // (PostgreSQL 13 prints the input's estimate).
        if node.node_type == "ModifyTable" {
            continue;
        }
        let Some((factor, dir)) = node.estimate_factor() else {
            continue;
        };
        if factor < warn {
            continue;
        }
        let (Some(actual), Some(planned)) = (node.total_actual_rows(), node.total_plan_rows())
        else {
            continue;
        };
        if actual.max(planned) < min_rows {
            continue;
        }
        if dir == EstimateDirection::Over && may_stop_early(plan, node) {
            continue;
        }
        let child_factor = input_children(plan, node)
            .filter_map(|c| c.estimate_factor())
            .filter(|(_, d)| *d == dir)
            .map(|(f, _)| f)
            .fold(1.0f64, f64::max);
        if factor / child_factor < origin_ratio {
            continue;
        }
        report(
            plan,
            ctx,
            node,
            factor,
            dir,
            actual,
            planned,
            child_factor,
            error,
            out,
        );
    }
}

/// Children that feed the node rows (not InitPlans/SubPlans).
fn input_children<'a>(plan: &'a Plan, node: &'a Node) -> impl Iterator<Item = &'a Node> {
    node.children.iter().map(|&c| &plan.nodes[c]).filter(|c| {
        !matches!(
            c.relationship.as_deref(),
            Some("InitPlan") | Some("SubPlan")
        )
    })
}

fn may_stop_early(plan: &Plan, node: &Node) -> bool {
    if matches!(
        node.relationship.as_deref(),
        Some("InitPlan") | Some("SubPlan")
    ) {
        return true;
    }
    plan.ancestors(node.id).any(|a| {
        a.node_type == "Limit"
            || a.node_type == "Merge Join"
            || matches!(a.join_type.as_deref(), Some("Semi") | Some("Anti"))
            || matches!(
                a.relationship.as_deref(),
                Some("InitPlan") | Some("SubPlan")
            )
    })
}

/// The causes are phrases written to follow other text; as the advice's second sentence the
/// first one starts with a capital.
fn capitalize_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    plan: &Plan,
    ctx: &RuleCtx,
    node: &Node,
    factor: f64,
    dir: EstimateDirection,
    actual: f64,
    planned: f64,
    child_factor: f64,
    error: f64,
    out: &mut Vec<Finding>,
) {
    let (word, how) = match dir {
        EstimateDirection::Under => ("under-estimated", "more"),
        EstimateDirection::Over => ("over-estimated", "fewer"),
    };
    let loops = node.loops();
    // Below a Gather, `loops` counts the processes that ran the node (leader and workers), and
    // both figures are per process.
    let processes = plan
        .ancestors(node.id)
        .find(|a| matches!(a.node_type.as_str(), "Gather" | "Gather Merge"))
        .and_then(|g| g.details().workers_launched)
        .map(|w| w + 1.0)
        .filter(|p| loops <= *p);
    let (unit, per) = if processes.is_some() {
        ("parallel processes", "process")
    } else {
        ("loops", "loop")
    };
    let per_loop = if loops > 1.0 {
        format!(
            " ({} {unit}, {} vs {} per {per})",
            count(loops),
            count(node.plan_rows.unwrap_or(0.0)),
            count(node.actual_rows.unwrap_or(0.0))
        )
    } else {
        String::new()
    };
    let mut message = format!(
        "{}: the planner expected {} {}, {} came{per_loop}, {factor:.0}× {how} ({word})",
        node.label(),
        count(planned),
        if count(planned) == "1" { "row" } else { "rows" },
        count(actual),
    );
    if child_factor > 1.5 {
        message.push_str(&format!(
            " (its inputs were already off {child_factor:.0}×; this node adds the rest)"
        ));
    }
    if let Some(effect) = effect_above(plan, node, dir, planned, actual) {
        message.push_str("; ");
        message.push_str(&effect);
    }

    let (causes, stats) = causes(node, dir);
    let advice = format!(
        "Likely causes, most likely first. {} Then re-run EXPLAIN ANALYZE and check the estimate.",
        capitalize_first(&causes.join(" "))
    );
    let severity = if factor >= error {
        Severity::Error
    } else {
        ctx.severity
    };
    let mut f = ctx
        .finding(plan, Some(node.id))
        .severity(severity)
        .message(message)
        .advice(advice)
        .evidence("planned_rows", planned)
        .evidence("actual_rows", actual)
        .evidence("factor", factor)
        .evidence(
            "direction",
            match dir {
                EstimateDirection::Under => "under",
                EstimateDirection::Over => "over",
            },
        )
        .evidence("loops", loops);
    if child_factor > 1.0 {
        f = f.evidence("input_factor", child_factor);
    }
    if let Some(s) = stats {
        f = f.evidence("suggested_statistics", s);
    }
    f.push(out);
}

/// What the misestimate did to the plan above, from the nearest join (or sort/aggregate).
fn effect_above(
    plan: &Plan,
    node: &Node,
    dir: EstimateDirection,
    planned: f64,
    actual: f64,
) -> Option<String> {
    let mut child = node.id;
    for a in plan.ancestors(node.id) {
        let is_outer = a.children.first() == Some(&child);
        match (a.node_type.as_str(), dir) {
            ("Nested Loop", EstimateDirection::Under) if is_outer => {
                let inner_loops = a
                    .children
                    .get(1)
                    .map(|&i| plan.nodes[i].loops())
                    .unwrap_or(actual);
                return Some(format!(
                    "the Nested Loop above (node {}) was chosen for ~{} outer rows and ran its \
                     inner side {} times; with the right estimate a hash or merge join may win",
                    a.id,
                    count(planned),
                    count(inner_loops)
                ));
            }
            ("Nested Loop", EstimateDirection::Under) => {
                return Some(format!(
                    "the Nested Loop above (node {}) expected this inner side to be cheap ({} rows)",
                    a.id,
                    count(planned)
                ));
            }
            ("Hash Join", EstimateDirection::Under) if !is_outer => {
                return Some(format!(
                    "the Hash Join above (node {}) sized its hash table for ~{} rows but got {} \
                     (more memory or batches than planned)",
                    a.id,
                    count(planned),
                    count(actual)
                ));
            }
            ("Nested Loop" | "Hash Join" | "Merge Join", EstimateDirection::Over) => {
                return Some(format!(
                    "the {} above (node {}) was costed for {} rows from this side; with only {} a \
                     nested loop over an index might have been cheaper",
                    a.label(),
                    a.id,
                    count(planned),
                    count(actual)
                ));
            }
            ("Hash Join" | "Merge Join", _) => {
                return Some(format!(
                    "the join above (node {}) and everything after it was costed for {} rows \
                     from this side, not {}",
                    a.id,
                    count(planned),
                    count(actual)
                ));
            }
            ("Aggregate", _) if a.strategy.as_deref() != Some("Hashed") => {}
            ("Sort" | "Aggregate" | "Hash", EstimateDirection::Under) => {
                return Some(format!(
                    "the {} above (node {}) was sized for {} rows, not {}",
                    a.label(),
                    a.id,
                    count(planned),
                    count(actual)
                ));
            }
            _ => {}
        }
        child = a.id;
    }
    None
}

/// Likely causes for this node, and a `CREATE STATISTICS` statement when correlated columns are
/// the likely cause.
fn causes(node: &Node, dir: EstimateDirection) -> (Vec<String>, Option<String>) {
    let mut out = Vec::new();
    let mut stats = None;
    let table = relation_name(node);
    let own = own_names(node);
    let mut a = Analysis::default();
    for c in [&node.index_cond, &node.details().recheck_cond, &node.filter]
        .into_iter()
        .flatten()
    {
        a.conds.extend(predicate::analyze(c, &own).conds);
    }
    if let Some(t) = &table {
        out.push(format!(
            "Stale statistics on {t}: run `ANALYZE {t};` (and check autovacuum is keeping up \
             with its changes)."
        ));
        let plain: Vec<String> = {
            let mut v = Vec::new();
            for k in a.equality().into_iter().chain(a.range()) {
                if let Some(c) = k.column {
                    predicate::push_unique(&mut v, c);
                }
            }
            v
        };
        if plain.len() >= 2 {
            let rel = node.relation.clone().unwrap_or_default();
            let mut name = format!("{}_{}_stats", rel, plain.join("_"))
                .to_lowercase()
                .replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "");
            name.truncate(63);
            let s = format!(
                "CREATE STATISTICS {name} (dependencies, mcv) ON {} FROM {t}",
                plain.join(", ")
            );
            out.push(format!(
                "Correlated predicates: the planner multiplies the selectivities of {} as if \
                 independent; `{s};` then `ANALYZE {t};` teaches it how they relate.",
                plain.join(" and ")
            ));
            stats = Some(s);
        }
        let exprs: Vec<String> = a
            .equality()
            .into_iter()
            .chain(a.range())
            .filter(|k| k.column.is_none())
            .map(|k| k.text)
            .collect();
        if let Some(e) = exprs.first() {
            out.push(format!(
                "A function or expression without statistics: {e} is estimated with a default \
                 selectivity; an expression index on it or `CREATE STATISTICS … ON {e} FROM {t}` \
                 (PostgreSQL 14+), then ANALYZE, gives the planner real numbers."
            ));
        }
        if !a.ors().is_empty() {
            out.push(
                "OR conditions are estimated as independent alternatives, which often over- or \
                 under-counts."
                    .into(),
            );
        }
        if dir == EstimateDirection::Under && node.filter.is_some() {
            out.push(
                "If values beyond the last ANALYZE were added (e.g. recent dates or ids), the \
                 histogram does not know them yet: ANALYZE after bulk loads."
                    .into(),
            );
        }
    } else if node.node_type.ends_with("Join") || node.node_type == "Nested Loop" {
        let cond = node
            .details()
            .hash_cond
            .as_deref()
            .or(node.details().merge_cond.as_deref())
            .or(node.details().join_filter.as_deref());
        out.push(format!(
            "the join selectivity{}: the planner guesses it from n_distinct and the most common \
             values of the join columns; ANALYZE both sides (raise the columns' statistics target \
             with `ALTER TABLE … ALTER COLUMN … SET STATISTICS 1000` for skewed keys); joins on \
             several correlated columns or on expressions are estimated as independent.",
            cond.map(|c| format!(" of {c}")).unwrap_or_default()
        ));
    } else if node.node_type == "Aggregate" || node.node_type == "Group" {
        let keys = node.details().group_key.join(", ");
        out.push(format!(
            "the number of groups{}: the planner multiplies the distinct counts of the grouping \
             columns; `CREATE STATISTICS … (ndistinct) ON <columns> FROM <table>` and ANALYZE help \
             when they are correlated.",
            if keys.is_empty() {
                String::new()
            } else {
                format!(" for GROUP BY {keys}")
            }
        ));
    } else if node.node_type == "Function Scan" {
        out.push(
            "set-returning functions have a fixed row estimate (ROWS, 1000 by default): declare \
             a realistic one with `ALTER FUNCTION … ROWS n`."
                .into(),
        );
    } else {
        out.push(
            "stale statistics on the tables below (ANALYZE them), correlated predicates \
             (CREATE STATISTICS), or expressions the planner has no statistics for."
                .into(),
        );
    }
    (out, stats)
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};
    use super::Severity;

    const DIR: &str = "row-estimate-mismatch";

    #[test]
    fn correlated_predicates_flag_the_scan_not_the_join() {
        let plan = fixture(DIR, "fire");
        let f = check_one(&plan, "P002");
        assert_eq!(f.len(), 1, "{f:#?}");
        let n = &plan.nodes[f[0].node.unwrap()];
        assert_eq!(n.node_type, "Seq Scan");
        assert_eq!(n.relation.as_deref(), Some("t"));
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].evidence["direction"], "under");
        assert_eq!(
            f[0].evidence["suggested_statistics"],
            "CREATE STATISTICS t_a_b_stats (dependencies, mcv) ON a, b FROM t"
        );
        assert!(
            f[0].message.contains("Nested Loop above"),
            "{}",
            f[0].message
        );
        assert!(f[0].advice.contains("ANALYZE t"), "{}", f[0].advice);
    }

    #[test]
    fn one_planned_row_is_singular_and_the_advice_starts_a_sentence() {
        let plan =
            super::super::util::testing::plan_of(super::super::util::testing::SORT_WITHOUT_INPUT);
        let f = check_one(&plan, "P002");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("expected 1 row, 498 came"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].advice
                .starts_with("Likely causes, most likely first. Stale"),
            "{}",
            f[0].advice
        );
    }

    #[test]
    fn parallel_figures_are_per_process_not_per_loop() {
        let text = "\
Gather  (cost=1000.00..30000.00 rows=62499 width=4) (actual time=1.0..900.0 rows=999999 loops=1)
  Workers Planned: 2
  Workers Launched: 2
  ->  Hash Join  (cost=0.00..20000.00 rows=20833 width=4) (actual time=1.0..800.0 rows=333333 loops=3)
        Hash Cond: (a.bid = b.bid)
        ->  Parallel Seq Scan on a  (cost=0.00..10000.00 rows=416667 width=8) (actual time=0.01..100.0 rows=333333 loops=3)
        ->  Hash  (cost=1.00..1.00 rows=10 width=4) (actual time=0.01..0.01 rows=10 loops=3)
              ->  Seq Scan on b  (cost=0.00..1.00 rows=10 width=4) (actual time=0.01..0.01 rows=10 loops=3)
Execution Time: 950.000 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P002");
        let join = f
            .iter()
            .find(|f| plan.nodes[f.node.unwrap()].node_type == "Hash Join")
            .expect("the join is flagged");
        assert!(
            join.message
                .contains("(3 parallel processes, 20,833 vs 333,333 per process)"),
            "{}",
            join.message
        );
    }

    #[test]
    fn stale_statistics_are_an_error() {
        let plan = fixture(DIR, "fire_stale");
        let f = check_one(&plan, "P002");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(plan.nodes[f[0].node.unwrap()].node_type, "Seq Scan");
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].evidence["factor"].as_f64().unwrap() >= 1000.0);
    }

    #[test]
    fn rows_cut_short_by_limit_are_not_over_estimates() {
        let json = r#"[{"Plan": {"Node Type": "Limit", "Plan Rows": 10, "Actual Rows": 10,
            "Actual Loops": 1, "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer",
            "Relation Name": "t", "Alias": "t", "Plan Rows": 1000000, "Actual Rows": 10,
            "Actual Loops": 1}]}}]"#;
        let plan = super::super::util::testing::plan_of(json);
        assert!(check_one(&plan, "P002").is_empty());
    }

    #[test]
    fn good_estimates_are_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P002").is_empty());
    }

    #[test]
    fn corpus_no_ancestor_repeats() {
        for (name, plan) in corpus() {
            let f = check_one(&plan, "P002");
            // Never both a node and its parent for the same direction with the same factor.
            for a in &f {
                for b in &f {
                    let (na, nb) = (a.node.unwrap(), b.node.unwrap());
                    if plan.nodes[nb].parent == Some(na)
                        && a.evidence["direction"] == b.evidence["direction"]
                    {
                        let fa = a.evidence["factor"].as_f64().unwrap();
                        let fb = b.evidence["factor"].as_f64().unwrap();
                        assert!(fa / fb >= 10.0, "{name}: {a:#?} {b:#?}");
                    }
                }
            }
        }
    }
}
