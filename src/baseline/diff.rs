//! Node-by-node alignment of two plans of the same query, for `pgdiag compare`.
//!
//! When both trees have the same structure (same number of nodes, same parents) nodes pair by
//! position, so a node whose type changed in place (`Index Scan` → `Seq Scan`) shows as changed.
//! Otherwise nodes pair greedily, in pre-order, by increasingly loose keys: node type + relation +
//! index, node type + relation, relation alone (a scan that changed method), then node type alone
//! for nodes on no relation. What is left is added (in AFTER only) or removed (in BEFORE only).
//! Rows come in AFTER's order, each removed node right after the row of the nearest node before
//! it that was paired.

use serde::Serialize;

use crate::plan::{Node, Plan};

/// How a node differs between the two plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Paired, same label.
    Same,
    /// Paired, different label (node type, index or relation changed).
    Changed,
    /// Only in AFTER.
    Added,
    /// Only in BEFORE.
    Removed,
}

impl Change {
    /// `' '`, `~`, `+`, `-`.
    pub fn mark(self) -> char {
        match self {
            Change::Same => ' ',
            Change::Changed => '~',
            Change::Added => '+',
            Change::Removed => '-',
        }
    }
}

/// One row of the diff: node ids in BEFORE and AFTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NodeDiff {
    pub change: Change,
    pub before: Option<usize>,
    pub after: Option<usize>,
}

/// The rows of the diff, in display order.
pub fn align(before: &Plan, after: &Plan) -> Vec<NodeDiff> {
    let (b, a) = (&before.nodes, &after.nodes);
    let same_tree = b.len() == a.len() && b.iter().zip(a).all(|(x, y)| x.parent == y.parent);
    let mut pair: Vec<Option<usize>> = vec![None; b.len()];
    if same_tree {
        for (i, p) in pair.iter_mut().enumerate() {
            *p = Some(i);
        }
    } else {
        let mut taken = vec![false; a.len()];
        let keys: [fn(&Node, &Node) -> bool; 4] = [
            |x, y| x.node_type == y.node_type && x.relation == y.relation && x.index == y.index,
            |x, y| x.node_type == y.node_type && x.relation == y.relation,
            |x, y| x.relation.is_some() && x.relation == y.relation,
            |x, y| x.relation.is_none() && y.relation.is_none() && x.node_type == y.node_type,
        ];
        for same in keys {
            for (i, x) in b.iter().enumerate() {
                if pair[i].is_some() {
                    continue;
                }
                if let Some(j) = (0..a.len()).find(|&j| !taken[j] && same(x, &a[j])) {
                    pair[i] = Some(j);
                    taken[j] = true;
                }
            }
        }
    }
    let mut paired_after: Vec<Option<usize>> = vec![None; a.len()];
    for (i, p) in pair.iter().enumerate() {
        if let Some(j) = p {
            paired_after[*j] = Some(i);
        }
    }
    // Removed nodes, by the AFTER row they follow (`None`: before every row).
    let mut removed_after: Vec<(Option<usize>, usize)> = Vec::new();
    for i in (0..b.len()).filter(|&i| pair[i].is_none()) {
        let anchor = (0..i).rev().find_map(|k| pair[k]);
        removed_after.push((anchor, i));
    }
    let removed = |anchor: Option<usize>| {
        removed_after
            .iter()
            .filter(move |(a, _)| *a == anchor)
            .map(|(_, i)| NodeDiff {
                change: Change::Removed,
                before: Some(*i),
                after: None,
            })
    };
    let mut rows: Vec<NodeDiff> = removed(None).collect();
    for (j, node) in a.iter().enumerate() {
        rows.push(match paired_after[j] {
            Some(i) => NodeDiff {
                change: if b[i].label() == node.label() {
                    Change::Same
                } else {
                    Change::Changed
                },
                before: Some(i),
                after: Some(j),
            },
            None => NodeDiff {
                change: Change::Added,
                before: None,
                after: Some(j),
            },
        });
        rows.extend(removed(Some(j)));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(nodes: &[(&str, Option<&str>, Option<usize>)]) -> Plan {
        Plan {
            nodes: nodes
                .iter()
                .enumerate()
                .map(|(id, (t, rel, parent))| Node {
                    id,
                    node_type: t.to_string(),
                    relation: rel.map(Into::into),
                    parent: *parent,
                    ..Node::default()
                })
                .collect(),
            ..Plan::default()
        }
    }

    fn marks(rows: &[NodeDiff]) -> String {
        rows.iter().map(|r| r.change.mark()).collect()
    }

    #[test]
    fn same_tree_pairs_by_position() {
        let b = plan(&[
            ("Aggregate", None, None),
            ("Index Scan", Some("orders"), Some(0)),
        ]);
        let a = plan(&[
            ("Aggregate", None, None),
            ("Seq Scan", Some("orders"), Some(0)),
        ]);
        let rows = align(&b, &a);
        assert_eq!(marks(&rows), " ~");
        assert_eq!(rows[1].before, Some(1));
        assert_eq!(rows[1].after, Some(1));
    }

    #[test]
    fn different_trees_pair_by_relation_and_type() {
        // Bitmap Heap Scan + Bitmap Index Scan became a Seq Scan.
        let b = plan(&[
            ("Aggregate", None, None),
            ("Bitmap Heap Scan", Some("orders"), Some(0)),
            ("Bitmap Index Scan", None, Some(1)),
        ]);
        let a = plan(&[
            ("Aggregate", None, None),
            ("Seq Scan", Some("orders"), Some(0)),
        ]);
        let rows = align(&b, &a);
        assert_eq!(marks(&rows), " ~-");
        assert_eq!((rows[1].before, rows[1].after), (Some(1), Some(1)));
        assert_eq!((rows[2].before, rows[2].after), (Some(2), None));

        // A Sort added on top.
        let b = plan(&[
            ("Aggregate", None, None),
            ("Index Scan", Some("orders"), Some(0)),
        ]);
        let a = plan(&[
            ("Sort", None, None),
            ("Aggregate", None, Some(0)),
            ("Seq Scan", Some("orders"), Some(1)),
        ]);
        let rows = align(&b, &a);
        assert_eq!(marks(&rows), "+ ~");
        assert_eq!(rows[1].before, Some(0));
    }
}
