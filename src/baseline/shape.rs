//! A plan's shape: what a baseline records of a plan so a later run can be compared with it.
//!
//! Only what is stable between two runs of the same plan on the same data is used to gate:
//! node types, relations, indexes, join types and tree structure, the root's estimated rows and
//! total cost, and the shared buffers touched (hit + read, which do not depend on what was cached).
//! Execution time is recorded for reports and `--gate-timing`, rounded to two significant digits
//! so a refreshed baseline of an unchanged plan does not churn in git over noise.

use serde::{Deserialize, Serialize};

use crate::plan::Plan;
use crate::rules::{self, Finding};

/// The shape and headline figures of one plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanShape {
    /// Nodes in pre-order (the plan model's ids).
    pub nodes: Vec<ShapeNode>,
    /// The relations scanned, left to right (pre-order): the join order.
    pub join_order: Vec<String>,
    /// The root's estimated rows.
    pub plan_rows: Option<f64>,
    /// The root's total cost.
    pub total_cost: Option<f64>,
    /// Shared buffers hit + read by the whole plan (the root's inclusive figure).
    pub shared_buffers: Option<f64>,
    /// Execution time in ms, two significant digits.
    pub execution_ms: Option<f64>,
    /// Sorts, hashes and aggregates that spilled to disk (as `work-mem-spill` sees them).
    pub spills: Vec<ShapeSpill>,
}

/// One node of a recorded plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeNode {
    /// As readers know it: `Index Scan using orders_customer_idx on orders o`.
    pub label: String,
    pub node_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
}

/// A node that spilled to disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeSpill {
    pub node: usize,
    pub label: String,
    /// `external merge on o.created_at`, `hash table in 4 batches of about 2,048 kB each`.
    pub what: String,
}

/// A finding as a baseline remembers it: enough to tell whether it is new.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    pub rule: String,
    pub name: String,
    /// The relation the finding is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation: Option<String>,
    /// Where in the plan it was (for readers; not used to match, since a path changes with the
    /// plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl FindingKey {
    pub fn of(plan: &Plan, f: &Finding) -> FindingKey {
        FindingKey {
            rule: f.rule.clone(),
            name: f.name.clone(),
            relation: finding_relation(plan, f),
            path: f.path.clone(),
        }
    }

    /// Whether `self` and `other` are the same finding: same rule, same relation (or both on
    /// none).
    pub fn same(&self, other: &FindingKey) -> bool {
        self.rule == other.rule && self.relation == other.relation
    }
}

/// The relation a finding is about: the one its evidence names, else its node's.
pub fn finding_relation(plan: &Plan, f: &Finding) -> Option<String> {
    if let Some(r) = f.evidence.get("relation").and_then(|v| v.as_str()) {
        return Some(r.to_string());
    }
    let node = plan.nodes.get(f.node?)?;
    node.relation.clone()
}

/// The findings to record for a plan, sorted so the file is stable. Plan-regression findings
/// are comparisons, not facts about the plan, and are never recorded.
pub fn finding_keys<'a>(
    plan: &Plan,
    findings: impl IntoIterator<Item = &'a Finding>,
) -> Vec<FindingKey> {
    let mut keys: Vec<FindingKey> = findings
        .into_iter()
        .filter(|f| f.rule != crate::rules::plan_regression::ID)
        .map(|f| FindingKey::of(plan, f))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

impl PlanShape {
    pub fn of(plan: &Plan) -> PlanShape {
        let nodes = plan
            .nodes
            .iter()
            .map(|n| ShapeNode {
                label: n.label(),
                node_type: n.node_type.clone(),
                join_type: n.join_type.clone(),
                relation: n.relation.clone(),
                alias: n.alias.clone().filter(|a| Some(a) != n.relation.as_ref()),
                index: n.index.clone(),
                parent: n.parent,
            })
            .collect();
        let join_order = plan
            .nodes
            .iter()
            .filter_map(|n| n.relation.clone())
            .collect();
        let root = plan.root();
        let spills = rules::spilled_nodes(plan)
            .into_iter()
            .map(|(id, what)| ShapeSpill {
                node: id,
                label: plan.nodes[id].label(),
                what,
            })
            .collect();
        PlanShape {
            nodes,
            join_order,
            plan_rows: root.and_then(|r| r.plan_rows),
            total_cost: root.and_then(|r| r.total_cost),
            shared_buffers: root.and_then(|r| r.buffers).map(|b| b.shared_total()),
            execution_ms: plan.execution_ms.map(two_digits),
            spills,
        }
    }
}

/// `v` rounded to two significant digits.
fn two_digits(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    let mag = v.abs().log10().floor() as i32;
    let f = 10f64.powi(1 - mag);
    let r = (v * f).round() / f;
    // Undo binary noise (`0.0012000000000000001`) so the file shows what was meant.
    format!("{r:.prec$}", prec = (1 - mag).max(0) as usize)
        .parse()
        .unwrap_or(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_source;

    /// A plan file of `fixtures/baseline/`.
    pub(crate) fn fixture(name: &str) -> Plan {
        let path = format!("{}/fixtures/baseline/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        parse_source(&path, &text).unwrap().remove(0)
    }

    #[test]
    fn shape_records_nodes_join_order_and_figures() {
        let plan = fixture("index_scan.json");
        let s = PlanShape::of(&plan);
        assert_eq!(s.nodes.len(), 2);
        assert_eq!(
            s.nodes[1].label,
            "Index Scan using orders_customer_idx on orders o"
        );
        assert_eq!(s.nodes[1].index.as_deref(), Some("orders_customer_idx"));
        assert_eq!(s.nodes[1].alias.as_deref(), Some("o"));
        assert_eq!(s.nodes[1].parent, Some(0));
        assert_eq!(s.join_order, vec!["orders".to_string()]);
        assert_eq!(s.total_cost, Some(8.47));
        assert_eq!(s.plan_rows, Some(1.0));
        assert_eq!(s.shared_buffers, Some(12.0));
        assert_eq!(s.execution_ms, Some(0.073));
        assert!(s.spills.is_empty());
    }

    #[test]
    fn spills_are_the_ones_work_mem_spill_sees() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/plans/generated/pg15/c_sort_external_merge.json"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let plan = parse_source(path, &text).unwrap().remove(0);
        let s = PlanShape::of(&plan);
        assert_eq!(s.spills.len(), 1, "{:?}", s.spills);
        assert!(s.spills[0].label.contains("Sort"), "{:?}", s.spills);
        assert!(s.spills[0].what.contains("external"), "{:?}", s.spills);
    }

    #[test]
    fn two_significant_digits() {
        assert_eq!(two_digits(0.0734), 0.073);
        assert_eq!(two_digits(1234.5), 1200.0);
        assert_eq!(two_digits(15.49), 15.0);
        assert_eq!(two_digits(0.0), 0.0);
    }
}
