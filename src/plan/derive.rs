//! Derived figures per node: inclusive and exclusive time, time share, exclusive buffers.
//!
//! The rules, and why:
//! - **Inclusive time** of a node is `actual total time × loops`: PostgreSQL prints the average per
//!   loop. A node that never ran has 0.
//! - **Parallel sections.** Below a `Gather`/`Gather Merge`, each process (the leader and every
//!   launched worker) runs its own copy of the node concurrently, and `loops` counts them all while
//!   the time is their average. Wall-clock time is therefore `total × loops / (workers launched + 1)`.
//!   (When the leader does not participate, `Single Copy` or `parallel_leader_participation=off`,
//!   the divisor is the number of workers.)
//! - **Exclusive time** is the node's inclusive time minus its children's, clamped at zero (rounding
//!   in the printed figures and the per-process averaging can make a child look longer).
//!   InitPlans and SubPlans run inside their parent's execution, so they are subtracted like any
//!   other child.
//! - An InitPlan whose result is used inside another child of its parent (a sibling's `Index
//!   Cond: (id = ANY ($1))`, `(InitPlan 1).col1` from PG 17) runs inside that child, whose time
//!   includes it: that node (the first in pre-order printing the parameter) subtracts it instead of
//!   the parent. Unless the parent uses the parameter itself (`One-Time Filter: $0`).
//! - **CTEs.** A CTE's subplan (`CTE name`, an InitPlan of the node that declares it) runs lazily
//!   inside the `CTE Scan` nodes that read it, so its time is already inside those scans. It is
//!   therefore *not* subtracted from the declaring node; instead each `CTE Scan` gives up a share of
//!   the CTE's time proportional to its own inclusive time. That counts the CTE's time once, in its
//!   own subtree.
//! - With these rules Σ exclusive equals the root's inclusive time on plans without parallelism,
//!   up to the clamping above.
//! - **Exclusive buffers** use the same subtraction. Buffers of a parallel node already sum all
//!   processes, so they need no divisor.

use super::model::{Buffers, Node, Plan};

/// Fill `inclusive_ms`, `exclusive_ms`, `time_share` and `exclusive_buffers` on every node.
pub fn derive(plan: &mut Plan) {
    let n = plan.nodes.len();
    if n == 0 {
        return;
    }
    // Parallel divisor per node, inherited from the nearest Gather above it (pre-order: parents first).
    let mut divisor = vec![1.0f64; n];
    for i in 0..n {
        let node = &plan.nodes[i];
        if let Some(p) = node.parent {
            let parent = &plan.nodes[p];
            divisor[i] = if is_gather(parent) {
                gather_processes(parent)
            } else {
                divisor[p]
            };
        }
    }
    for (i, node) in plan.nodes.iter_mut().enumerate() {
        node.inclusive_ms = if node.never_executed {
            Some(0.0)
        } else {
            node.actual_total_ms
                .map(|t| t * node.actual_loops.unwrap_or(1.0) / divisor[i])
                // Absurd figures (1e308 ms × 1e308 loops) overflow: no time rather than infinity.
                .filter(|t| t.is_finite())
        };
    }

    // CTE subplans: name → (node id, inclusive time); and the CTE Scans reading each.
    let cte_ids: Vec<(String, usize)> = plan
        .nodes
        .iter()
        .filter_map(|nd| {
            let name = nd.details().subplan_name.as_deref()?.strip_prefix("CTE ")?;
            Some((name.trim().to_string(), nd.id))
        })
        .collect();
    // Share of a CTE's time and buffers each CTE Scan gives up.
    let mut cte_time_charge = vec![0.0f64; n];
    let mut cte_buffer_charge: Vec<Option<(usize, f64)>> = vec![None; n];
    let mut is_cte_subplan = vec![false; n];
    for (name, cte_id) in &cte_ids {
        is_cte_subplan[*cte_id] = true;
        let scans: Vec<usize> = plan
            .nodes
            .iter()
            .filter(|nd| {
                nd.node_type == "CTE Scan" && nd.details().cte_name.as_deref() == Some(name)
            })
            .map(|nd| nd.id)
            .collect();
        let cte_time = plan.nodes[*cte_id].inclusive_ms.unwrap_or(0.0);
        let scan_time: f64 = scans
            .iter()
            .map(|&s| plan.nodes[s].inclusive_ms.unwrap_or(0.0))
            .sum();
        for &s in &scans {
            let own = plan.nodes[s].inclusive_ms.unwrap_or(0.0);
            let fraction = if scan_time > 0.0 {
                own / scan_time
            } else {
                1.0 / scans.len() as f64
            };
            cte_time_charge[s] += cte_time * fraction;
            cte_buffer_charge[s] = Some((*cte_id, fraction));
        }
    }

    // InitPlans whose value is used below a sibling: an InitPlan runs when its parameter is first
    // evaluated, so when that happens inside another child of the parent (`Index Cond: (id =
    // ANY ($1))` in the parent's Index Scan), its time is already inside that child. The node
    // that evaluates it gives up the InitPlan's time, and the parent does not subtract it again.
    let mut subtree_end: Vec<usize> = (0..n).collect();
    for i in (0..n).rev() {
        if let Some(p) = plan.nodes[i].parent {
            subtree_end[p] = subtree_end[p].max(subtree_end[i]);
        }
    }
    let mut moved_initplan = vec![false; n];
    let mut initplan_charges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        let node = &plan.nodes[i];
        if is_cte_subplan[i] || node.relationship.as_deref() != Some("InitPlan") {
            continue;
        }
        let (Some(parent), Some(name)) = (node.parent, node.details().subplan_name.as_deref())
        else {
            continue;
        };
        let tokens = initplan_tokens(name);
        // Used by the parent itself (`One-Time Filter: $0`): evaluated there, maybe first.
        if tokens.is_empty() || references(&plan.nodes[parent], &tokens) {
            continue;
        }
        let user = (parent + 1..=subtree_end[parent])
            .filter(|&j| j < i || j > subtree_end[i])
            .find(|&j| references(&plan.nodes[j], &tokens));
        if let Some(j) = user {
            moved_initplan[i] = true;
            initplan_charges[j].push(i);
        }
    }

    for i in 0..n {
        let node = &plan.nodes[i];
        // Iterated in place (twice at most): no list collected per node.
        let children = || {
            node.children
                .iter()
                .copied()
                .filter(|&c| !is_cte_subplan[c] && !moved_initplan[c])
                .chain(initplan_charges[i].iter().copied())
        };
        let exclusive = node.inclusive_ms.map(|inc| {
            let kids: f64 = children()
                .map(|c| plan.nodes[c].inclusive_ms.unwrap_or(0.0))
                .sum();
            (inc - kids - cte_time_charge[i]).max(0.0)
        });
        let exclusive_buffers = node.buffers.map(|b| {
            let mut kids = Buffers::default();
            for c in children() {
                if let Some(cb) = plan.nodes[c].buffers {
                    kids.add(&cb);
                }
            }
            if let Some((cte, fraction)) = cte_buffer_charge[i] {
                if let Some(cb) = plan.nodes[cte].buffers {
                    kids.add(&cb.map(|x| x * fraction));
                }
            }
            // A CTE's blocks are shared out in proportion, so round back to whole blocks.
            b.saturating_sub(&kids).map(f64::round)
        });
        let node = &mut plan.nodes[i];
        node.exclusive_ms = exclusive;
        node.exclusive_buffers = exclusive_buffers;
    }

    let total = plan.nodes[0].inclusive_ms.filter(|t| *t > 0.0);
    for node in &mut plan.nodes {
        node.time_share = match (node.exclusive_ms, total) {
            (Some(e), Some(t)) => Some((e / t).min(1.0)),
            _ => None,
        };
    }
}

/// How other nodes refer to an InitPlan's result: `$0`, `$1` (`InitPlan 1 (returns $0,$1)`, up
/// to PG 16) or `(InitPlan 1)` (`(InitPlan 1).col1`, PG 17+).
fn initplan_tokens(name: &str) -> Vec<String> {
    if let Some(rest) = name.split("(returns ").nth(1) {
        return rest
            .trim_end_matches(')')
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| t.starts_with('$'))
            .collect();
    }
    let head = name.trim();
    if head.starts_with("InitPlan ") {
        vec![format!("({head})")]
    } else {
        Vec::new()
    }
}

/// Whether one of the node's printed expressions uses one of `tokens` (`$1` is not `$10`).
fn references(node: &Node, tokens: &[String]) -> bool {
    let d = node.details();
    let uses = |text: &str| {
        tokens.iter().any(|t| {
            text.match_indices(t.as_str()).any(|(at, _)| {
                !t.starts_with('$')
                    || !text[at + t.len()..]
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_digit())
            })
        })
    };
    [
        &node.filter,
        &node.index_cond,
        &d.recheck_cond,
        &d.hash_cond,
        &d.merge_cond,
        &d.join_filter,
        &d.one_time_filter,
        &d.tid_cond,
    ]
    .into_iter()
    .flatten()
    .any(|t| uses(t))
        || node
            .output
            .iter()
            .chain(&d.sort_key)
            .chain(&d.group_key)
            .any(|t| uses(t))
}

fn is_gather(node: &Node) -> bool {
    node.node_type == "Gather" || node.node_type == "Gather Merge"
}

/// Processes that run the nodes below a Gather: the launched workers, plus the leader unless it
/// only collects (`Single Copy`). Falls back to planned workers when launched is not printed
/// (plans without ANALYZE), and never below one.
fn gather_processes(gather: &Node) -> f64 {
    let workers = gather
        .details()
        .workers_launched
        .or(gather.details().workers_planned)
        .unwrap_or(0.0);
    let leader = if gather.details().single_copy == Some(true) && workers > 0.0 {
        0.0
    } else {
        1.0
    };
    (workers + leader).max(1.0)
}
