//! The plan model: one typed tree for every EXPLAIN format.
//!
//! The vocabulary is the one PostgreSQL uses in `FORMAT JSON` (see `explain.c`): a text plan's
//! `Hash Left Join` becomes node type `Hash Join` with join type `Left`, and so on. Every parser
//! (JSON, text, YAML, XML) ends in the same deserializer (`parse::json`), so the same statement
//! gives the same model whatever format it was printed in.
//!
//! Nodes live in a flat arena in pre-order: `id` is the position, `parent` the id of the parent.
//! That keeps huge plans cheap (no recursion to walk or drop them) and gives stable node ids.

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

/// One EXPLAIN output: a plan tree plus the per-statement facts printed after it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Where the plan came from: a file path, `-` for stdin, or a query label.
    pub source: String,
    /// `json`, `text`, `yaml` or `xml`.
    pub format: String,
    /// Position of this plan in its source (0 for the first), for sources holding several.
    pub index_in_source: usize,
    /// 1-based line in the source where this plan starts.
    pub line: usize,
    pub nodes: Vec<Node>,
    pub planning_ms: Option<f64>,
    pub execution_ms: Option<f64>,
    pub planning_buffers: Option<Buffers>,
    /// Planner memory (PG 17+ `MEMORY`): used and allocated, in kB.
    pub planning_memory_used_kb: Option<f64>,
    pub planning_memory_allocated_kb: Option<f64>,
    pub triggers: Vec<Trigger>,
    pub jit: Option<Jit>,
    pub settings: Vec<(String, String)>,
    pub serialization: Option<Serialization>,
    pub query_text: Option<String>,
    pub query_identifier: Option<String>,
    /// Top-level keys we do not model, kept verbatim so nothing printed is lost.
    pub extra: Vec<(String, serde_json::Value)>,
}

/// Block counts as printed by `BUFFERS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Buffers {
    pub shared_hit: f64,
    pub shared_read: f64,
    pub shared_dirtied: f64,
    pub shared_written: f64,
    pub local_hit: f64,
    pub local_read: f64,
    pub local_dirtied: f64,
    pub local_written: f64,
    pub temp_read: f64,
    pub temp_written: f64,
}

impl Buffers {
    pub fn is_zero(&self) -> bool {
        *self == Buffers::default()
    }
    /// Blocks this node touched in shared buffers, found or read.
    pub fn shared_total(&self) -> f64 {
        self.shared_hit + self.shared_read
    }
    /// Apply `f` to every count.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Buffers {
        self.zip_with(self, |a, _| f(a))
    }

    /// Combine two sets of counts field by field.
    pub fn zip_with(&self, other: &Buffers, f: impl Fn(f64, f64) -> f64) -> Buffers {
        Buffers {
            shared_hit: f(self.shared_hit, other.shared_hit),
            shared_read: f(self.shared_read, other.shared_read),
            shared_dirtied: f(self.shared_dirtied, other.shared_dirtied),
            shared_written: f(self.shared_written, other.shared_written),
            local_hit: f(self.local_hit, other.local_hit),
            local_read: f(self.local_read, other.local_read),
            local_dirtied: f(self.local_dirtied, other.local_dirtied),
            local_written: f(self.local_written, other.local_written),
            temp_read: f(self.temp_read, other.temp_read),
            temp_written: f(self.temp_written, other.temp_written),
        }
    }

    /// `self - other`, clamped at zero field by field: buffers are cumulative up the tree, but a
    /// child's figure can exceed its parent's in parallel plans (leader-only accounting).
    pub fn saturating_sub(&self, other: &Buffers) -> Buffers {
        self.zip_with(other, |a, b| (a - b).max(0.0))
    }

    pub fn add(&mut self, other: &Buffers) {
        *self = self.zip_with(other, |a, b| a + b);
    }
}

/// I/O timings in ms. PG 13–16 print `I/O Read Time`/`I/O Write Time` (shared+local);
/// PG 17+ split them into shared and local; PG 15+ add temp. The old spelling is stored as shared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IoTimings {
    pub shared_read_ms: Option<f64>,
    pub shared_write_ms: Option<f64>,
    pub local_read_ms: Option<f64>,
    pub local_write_ms: Option<f64>,
    pub temp_read_ms: Option<f64>,
    pub temp_write_ms: Option<f64>,
}

impl IoTimings {
    const NONE: IoTimings = IoTimings {
        shared_read_ms: None,
        shared_write_ms: None,
        local_read_ms: None,
        local_write_ms: None,
        temp_read_ms: None,
        temp_write_ms: None,
    };

    pub fn is_empty(&self) -> bool {
        *self == IoTimings::default()
    }
}

/// WAL usage (`WAL` option, PG 13+).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Wal {
    pub records: Option<f64>,
    pub fpi: Option<f64>,
    pub bytes: Option<f64>,
    pub buffers_full: Option<f64>,
}

impl Wal {
    const NONE: Wal = Wal {
        records: None,
        fpi: None,
        bytes: None,
        buffers_full: None,
    };

    pub fn is_empty(&self) -> bool {
        *self == Wal::default()
    }
}

/// Per-worker figures of a parallel node (VERBOSE, or text `Worker N:` lines).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Worker {
    pub number: i64,
    pub actual_startup_ms: Option<f64>,
    pub actual_total_ms: Option<f64>,
    pub actual_rows: Option<f64>,
    pub actual_loops: Option<f64>,
    pub buffers: Option<Buffers>,
    pub io: IoTimings,
    pub wal: Wal,
    pub sort_method: Option<String>,
    pub sort_space_used_kb: Option<f64>,
    pub sort_space_type: Option<String>,
    pub hash_batches: Option<f64>,
    pub disk_usage_kb: Option<f64>,
    pub peak_memory_kb: Option<f64>,
    pub jit: Option<Jit>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Trigger {
    pub name: String,
    pub constraint_name: Option<String>,
    pub relation: Option<String>,
    pub time_ms: Option<f64>,
    pub calls: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Jit {
    pub functions: Option<f64>,
    pub inlining: Option<bool>,
    pub optimization: Option<bool>,
    pub expressions: Option<bool>,
    pub deforming: Option<bool>,
    pub generation_ms: Option<f64>,
    pub deform_ms: Option<f64>,
    pub inlining_ms: Option<f64>,
    pub optimization_ms: Option<f64>,
    pub emission_ms: Option<f64>,
    pub total_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Serialization {
    pub time_ms: Option<f64>,
    pub output_kb: Option<f64>,
    pub format: Option<String>,
}

/// One plan node. Field names follow PostgreSQL's JSON keys, in snake case.
///
/// A node keeps inline only what most nodes print; the groups most nodes lack (sort/hash/memory
/// statistics, the rarer conditions and keys, parallel workers, unknown keys) live in
/// `details`, and I/O timings and WAL (printed only with `track_io_timing`/`WAL`) in `io_wal`,
/// each allocated only when a node has one of their keys. A 50,000-node plan is then tens of
/// megabytes smaller (see BENCHMARKS.md). Read them through `details()`, `io()` and `wal()`,
/// write through `details_mut()`, `io_mut()` and `wal_mut()`. The JSON report still lists every
/// field in one flat object (the `Serialize` impl below).
#[derive(Debug, Clone, Default)]
pub struct Node {
    // ---- position in the tree (filled by the arena builder) ----
    pub id: usize,
    pub parent: Option<usize>,
    pub depth: usize,
    pub children: Vec<usize>,
    /// `Outer`, `Inner`, `Member`, `InitPlan`, `SubPlan`, `Subquery`, … (`Parent Relationship`).
    pub relationship: Option<String>,

    // ---- what the node is ----
    pub node_type: String,
    pub join_type: Option<String>,
    pub strategy: Option<String>,
    pub partial_mode: Option<String>,
    pub parallel_aware: bool,
    /// PostgreSQL 14+ prints it for every node.
    pub async_capable: Option<bool>,
    /// PG 18: node disabled by an `enable_*` setting (printed for every node).
    pub disabled: Option<bool>,
    pub relation: Option<String>,
    pub schema: Option<String>,
    pub alias: Option<String>,
    pub index: Option<String>,

    // ---- estimates ----
    pub startup_cost: Option<f64>,
    pub total_cost: Option<f64>,
    pub plan_rows: Option<f64>,
    pub plan_width: Option<f64>,

    // ---- actuals (per loop, as printed) ----
    pub actual_startup_ms: Option<f64>,
    pub actual_total_ms: Option<f64>,
    pub actual_rows: Option<f64>,
    pub actual_loops: Option<f64>,
    pub never_executed: bool,

    // ---- the conditions most scans print ----
    pub filter: Option<String>,
    pub index_cond: Option<String>,
    pub output: Vec<String>,
    pub rows_removed_by_filter: Option<f64>,

    // ---- I/O ----
    pub buffers: Option<Buffers>,
    /// I/O timings and WAL usage; `None` when the node printed neither.
    pub io_wal: Option<Box<IoWal>>,

    /// Everything else PostgreSQL prints for some nodes only; `None` when the node has none of it.
    pub details: Option<Box<NodeDetails>>,

    // ---- derived (see `derive.rs`) ----
    /// Time spent in this node and below, over all loops, in ms.
    pub inclusive_ms: Option<f64>,
    /// Time spent in this node alone, in ms; never negative.
    pub exclusive_ms: Option<f64>,
    /// `exclusive_ms` as a share of the plan's total time (0..=1).
    pub time_share: Option<f64>,
    /// Buffers touched by this node alone.
    pub exclusive_buffers: Option<Buffers>,
}

/// I/O timings and WAL usage of a node, boxed together (a plan prints them for all its nodes
/// or for none).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IoWal {
    pub io: IoTimings,
    pub wal: Wal,
}

/// The parts of a node that only some nodes print (see `Node`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeDetails {
    // ---- what the node is ----
    /// `InitPlan 1 (returns $0)`, `SubPlan 2`, `CTE foo` (`Subplan Name`).
    pub subplan_name: Option<String>,
    pub scan_direction: Option<String>,
    pub operation: Option<String>,
    pub cte_name: Option<String>,
    pub function_name: Option<String>,
    pub custom_plan_provider: Option<String>,
    pub single_copy: Option<bool>,

    // ---- conditions ----
    pub recheck_cond: Option<String>,
    pub hash_cond: Option<String>,
    pub merge_cond: Option<String>,
    pub join_filter: Option<String>,
    pub one_time_filter: Option<String>,
    pub tid_cond: Option<String>,
    pub sort_key: Vec<String>,
    pub presorted_key: Vec<String>,
    pub group_key: Vec<String>,
    pub hash_key: Vec<String>,
    pub rows_removed_by_index_recheck: Option<f64>,
    pub rows_removed_by_join_filter: Option<f64>,
    pub heap_fetches: Option<f64>,
    pub index_searches: Option<f64>,

    // ---- sorting, hashing, memory ----
    pub sort_method: Option<String>,
    pub sort_space_used_kb: Option<f64>,
    pub sort_space_type: Option<String>,
    pub hash_buckets: Option<f64>,
    pub original_hash_buckets: Option<f64>,
    pub hash_batches: Option<f64>,
    pub original_hash_batches: Option<f64>,
    pub peak_memory_kb: Option<f64>,
    /// HashAggregate: planned partitions, batches, disk usage (kB) — PG 13+.
    pub planned_partitions: Option<f64>,
    pub hashagg_batches: Option<f64>,
    pub disk_usage_kb: Option<f64>,
    pub exact_heap_blocks: Option<f64>,
    pub lossy_heap_blocks: Option<f64>,
    /// PG 18: `Storage: Memory|Disk  Maximum Storage: NkB` (Material, CTE Scan, WindowAgg…).
    pub storage: Option<String>,
    pub maximum_storage_kb: Option<f64>,

    // ---- parallelism ----
    pub workers_planned: Option<f64>,
    pub workers_launched: Option<f64>,
    pub workers: Vec<Worker>,

    /// Keys we do not model, kept verbatim.
    pub extra: Vec<(String, serde_json::Value)>,
}

impl NodeDetails {
    /// A node without details: what `Node::details` reads when there are none.
    const NONE: NodeDetails = NodeDetails {
        subplan_name: None,
        scan_direction: None,
        operation: None,
        cte_name: None,
        function_name: None,
        custom_plan_provider: None,
        single_copy: None,
        recheck_cond: None,
        hash_cond: None,
        merge_cond: None,
        join_filter: None,
        one_time_filter: None,
        tid_cond: None,
        sort_key: Vec::new(),
        presorted_key: Vec::new(),
        group_key: Vec::new(),
        hash_key: Vec::new(),
        rows_removed_by_index_recheck: None,
        rows_removed_by_join_filter: None,
        heap_fetches: None,
        index_searches: None,
        sort_method: None,
        sort_space_used_kb: None,
        sort_space_type: None,
        hash_buckets: None,
        original_hash_buckets: None,
        hash_batches: None,
        original_hash_batches: None,
        peak_memory_kb: None,
        planned_partitions: None,
        hashagg_batches: None,
        disk_usage_kb: None,
        exact_heap_blocks: None,
        lossy_heap_blocks: None,
        storage: None,
        maximum_storage_kb: None,
        workers_planned: None,
        workers_launched: None,
        workers: Vec::new(),
        extra: Vec::new(),
    };
}

static NO_DETAILS: NodeDetails = NodeDetails::NONE;
static NO_IO_WAL: IoWal = IoWal {
    io: IoTimings::NONE,
    wal: Wal::NONE,
};

impl Serialize for Node {
    /// One flat object, every field in the order the model had before the rare groups were
    /// boxed (the JSON report's contract): a boxed field reads as its value, or null/empty.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.details();
        let mut m = s.serialize_struct("Node", 75)?;
        macro_rules! fields {
            ($($key:ident: $value:expr),* $(,)?) => {
                $(m.serialize_field(stringify!($key), $value)?;)*
            };
        }
        fields! {
            id: &self.id,
            parent: &self.parent,
            depth: &self.depth,
            relationship: &self.relationship,
            subplan_name: &d.subplan_name,
            node_type: &self.node_type,
            join_type: &self.join_type,
            strategy: &self.strategy,
            partial_mode: &self.partial_mode,
            parallel_aware: &self.parallel_aware,
            async_capable: &self.async_capable,
            scan_direction: &d.scan_direction,
            operation: &d.operation,
            relation: &self.relation,
            schema: &self.schema,
            alias: &self.alias,
            index: &self.index,
            cte_name: &d.cte_name,
            function_name: &d.function_name,
            custom_plan_provider: &d.custom_plan_provider,
            single_copy: &d.single_copy,
            startup_cost: &self.startup_cost,
            total_cost: &self.total_cost,
            plan_rows: &self.plan_rows,
            plan_width: &self.plan_width,
            actual_startup_ms: &self.actual_startup_ms,
            actual_total_ms: &self.actual_total_ms,
            actual_rows: &self.actual_rows,
            actual_loops: &self.actual_loops,
            never_executed: &self.never_executed,
            filter: &self.filter,
            index_cond: &self.index_cond,
            recheck_cond: &d.recheck_cond,
            hash_cond: &d.hash_cond,
            merge_cond: &d.merge_cond,
            join_filter: &d.join_filter,
            one_time_filter: &d.one_time_filter,
            tid_cond: &d.tid_cond,
            sort_key: &d.sort_key,
            presorted_key: &d.presorted_key,
            group_key: &d.group_key,
            hash_key: &d.hash_key,
            output: &self.output,
            rows_removed_by_filter: &self.rows_removed_by_filter,
            rows_removed_by_index_recheck: &d.rows_removed_by_index_recheck,
            rows_removed_by_join_filter: &d.rows_removed_by_join_filter,
            heap_fetches: &d.heap_fetches,
            index_searches: &d.index_searches,
            sort_method: &d.sort_method,
            sort_space_used_kb: &d.sort_space_used_kb,
            sort_space_type: &d.sort_space_type,
            hash_buckets: &d.hash_buckets,
            original_hash_buckets: &d.original_hash_buckets,
            hash_batches: &d.hash_batches,
            original_hash_batches: &d.original_hash_batches,
            peak_memory_kb: &d.peak_memory_kb,
            planned_partitions: &d.planned_partitions,
            hashagg_batches: &d.hashagg_batches,
            disk_usage_kb: &d.disk_usage_kb,
            exact_heap_blocks: &d.exact_heap_blocks,
            lossy_heap_blocks: &d.lossy_heap_blocks,
            storage: &d.storage,
            maximum_storage_kb: &d.maximum_storage_kb,
            disabled: &self.disabled,
            workers_planned: &d.workers_planned,
            workers_launched: &d.workers_launched,
            workers: &d.workers,
            buffers: &self.buffers,
            io: self.io(),
            wal: self.wal(),
            extra: &d.extra,
            inclusive_ms: &self.inclusive_ms,
            exclusive_ms: &self.exclusive_ms,
            time_share: &self.time_share,
            exclusive_buffers: &self.exclusive_buffers,
        }
        m.end()
    }
}

impl Node {
    /// The rarely printed parts of the node (all absent when it printed none).
    pub fn details(&self) -> &NodeDetails {
        self.details.as_deref().unwrap_or(&NO_DETAILS)
    }

    /// The rarely printed parts, allocated on first write.
    pub fn details_mut(&mut self) -> &mut NodeDetails {
        self.details.get_or_insert_with(Default::default)
    }

    /// I/O timings (all absent when the node printed none).
    pub fn io(&self) -> &IoTimings {
        &self.io_wal.as_deref().unwrap_or(&NO_IO_WAL).io
    }

    /// WAL usage (all absent when the node printed none).
    pub fn wal(&self) -> &Wal {
        &self.io_wal.as_deref().unwrap_or(&NO_IO_WAL).wal
    }

    /// I/O timings, allocated (with WAL) on first write.
    pub fn io_mut(&mut self) -> &mut IoTimings {
        &mut self.io_wal.get_or_insert_with(Default::default).io
    }

    /// WAL usage, allocated (with I/O timings) on first write.
    pub fn wal_mut(&mut self) -> &mut Wal {
        &mut self.io_wal.get_or_insert_with(Default::default).wal
    }

    /// Whether the plan was run with ANALYZE (it printed actuals or `never executed`).
    pub fn analyzed(&self) -> bool {
        self.actual_loops.is_some() || self.never_executed
    }

    /// Loops, 0 when never executed, 1 when not printed.
    pub fn loops(&self) -> f64 {
        if self.never_executed {
            0.0
        } else {
            self.actual_loops.unwrap_or(1.0)
        }
    }

    /// Rows produced over all loops.
    pub fn total_actual_rows(&self) -> Option<f64> {
        self.actual_rows.map(|r| r * self.loops())
    }

    /// Rows the planner expected over all loops (plan rows are per loop, like actual rows).
    pub fn total_plan_rows(&self) -> Option<f64> {
        self.plan_rows.map(|r| r * self.loops().max(1.0))
    }

    /// How far the estimate was off: `max(actual, plan) / min(actual, plan)` with both counted
    /// over all loops and floored at 1 row (a zero is "less than one row", not infinitely off).
    /// Above 1 means off by that factor; the direction says which way.
    pub fn estimate_factor(&self) -> Option<(f64, EstimateDirection)> {
        if self.never_executed {
            return None;
        }
        let actual = self.total_actual_rows()?.max(1.0);
        let planned = self.total_plan_rows()?.max(1.0);
        if actual >= planned {
            Some((actual / planned, EstimateDirection::Under))
        } else {
            Some((planned / actual, EstimateDirection::Over))
        }
    }

    /// The name a reader knows the node by: `Seq Scan on orders o`, `Hash Join`, …
    pub fn label(&self) -> String {
        let mut s = String::new();
        self.write_label(&mut s);
        s
    }

    /// `label`, appended to `s`.
    pub fn write_label(&self, s: &mut String) {
        let d = self.details();
        if self.parallel_aware {
            s.push_str("Parallel ");
        }
        if let Some(pm) = &self.partial_mode {
            if pm != "Simple" {
                s.push_str(pm);
                s.push(' ');
            }
        }
        // Joins print as explain.c does: `Hash Left Join`, `Merge Anti Join`, `Nested Loop Semi Join`.
        let join = self.join_type.as_deref().filter(|j| *j != "Inner");
        match (self.node_type.as_str(), self.strategy.as_deref(), join) {
            ("Aggregate", Some("Hashed"), _) => s.push_str("HashAggregate"),
            ("Aggregate", Some("Sorted"), _) => s.push_str("GroupAggregate"),
            ("Aggregate", Some("Mixed"), _) => s.push_str("MixedAggregate"),
            ("SetOp", Some("Hashed"), _) => s.push_str("HashSetOp"),
            ("ModifyTable", _, _) => s.push_str(d.operation.as_deref().unwrap_or("ModifyTable")),
            ("Nested Loop", _, Some(j)) => {
                s.push_str("Nested Loop ");
                s.push_str(j);
                s.push_str(" Join");
            }
            (t, _, Some(j)) if t.ends_with(" Join") => {
                s.push_str(&t[..t.len() - " Join".len()]);
                s.push(' ');
                s.push_str(j);
                s.push_str(" Join");
            }
            (t, _, _) => s.push_str(t),
        }
        if let Some(idx) = &self.index {
            s.push_str(" using ");
            s.push_str(idx);
        }
        let target = self
            .relation
            .as_deref()
            .or(d.cte_name.as_deref())
            .or(d.function_name.as_deref());
        if let Some(rel) = target {
            s.push_str(" on ");
            if let Some(schema) = &self.schema {
                s.push_str(schema);
                s.push('.');
            }
            s.push_str(rel);
            if let Some(alias) = &self.alias {
                if alias != rel {
                    s.push(' ');
                    s.push_str(alias);
                }
            }
        }
    }
}

/// Which way a row estimate was off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EstimateDirection {
    /// More rows came than the planner expected.
    Under,
    /// Fewer rows came than the planner expected.
    Over,
}

impl Plan {
    pub fn root(&self) -> Option<&Node> {
        self.nodes.first()
    }

    /// Whether the plan carries actuals (EXPLAIN ANALYZE).
    pub fn analyzed(&self) -> bool {
        self.nodes.iter().any(|n| n.analyzed())
    }

    /// Total time of the statement: execution time when printed, else the root's inclusive time.
    pub fn total_ms(&self) -> Option<f64> {
        self.execution_ms
            .or_else(|| self.root().and_then(|r| r.inclusive_ms))
    }

    /// A readable path from the root to a node: `Hash Join > Seq Scan on orders`.
    pub fn path(&self, id: usize) -> String {
        let mut chain = Vec::with_capacity(self.nodes[id].depth + 1);
        let mut s = String::with_capacity((self.nodes[id].depth + 1) * 24);
        self.write_path(id, &mut chain, &mut s);
        s
    }

    /// `path`, appended to `out`, with `chain` as scratch space for the ids on the way (a caller
    /// writing thousands of paths reuses both). Labels are written straight into `out`: no label
    /// or string is allocated per ancestor.
    pub fn write_path(&self, id: usize, chain: &mut Vec<usize>, out: &mut String) {
        chain.clear();
        let mut cur = Some(id);
        while let Some(i) = cur {
            chain.push(i);
            cur = self.nodes[i].parent;
        }
        for (k, &i) in chain.iter().rev().enumerate() {
            if k > 0 {
                out.push_str(" > ");
            }
            self.nodes[i].write_label(out);
        }
    }

    /// Ids of the node's ancestors, nearest first.
    pub fn ancestors(&self, id: usize) -> impl Iterator<Item = &Node> {
        let mut cur = self.nodes[id].parent;
        std::iter::from_fn(move || {
            let i = cur?;
            cur = self.nodes[i].parent;
            Some(&self.nodes[i])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(node_type: &str, join: Option<&str>) -> Node {
        Node {
            node_type: node_type.into(),
            join_type: join.map(Into::into),
            ..Node::default()
        }
    }

    #[test]
    fn join_labels_read_as_postgresql_prints_them() {
        assert_eq!(node("Hash Join", Some("Left")).label(), "Hash Left Join");
        assert_eq!(node("Merge Join", Some("Anti")).label(), "Merge Anti Join");
        assert_eq!(
            node("Nested Loop", Some("Semi")).label(),
            "Nested Loop Semi Join"
        );
        assert_eq!(node("Nested Loop", Some("Inner")).label(), "Nested Loop");
        assert_eq!(node("Hash Join", Some("Inner")).label(), "Hash Join");
    }

    #[test]
    fn scan_labels_name_the_relation_and_index() {
        let mut n = node("Index Scan", None);
        n.index = Some("orders_pkey".into());
        n.relation = Some("orders".into());
        n.alias = Some("o".into());
        assert_eq!(n.label(), "Index Scan using orders_pkey on orders o");
        let mut p = node("Seq Scan", None);
        p.parallel_aware = true;
        p.relation = Some("big".into());
        p.alias = Some("big".into());
        assert_eq!(p.label(), "Parallel Seq Scan on big");
    }

    #[test]
    fn a_node_stays_small() {
        // Big plans hold tens of thousands of nodes: the rare groups are boxed so that the
        // arena stays small (1,672 bytes a node before; see BENCHMARKS.md).
        assert!(std::mem::size_of::<Node>() <= 768);
    }

    #[test]
    fn absent_details_read_as_empty_and_are_allocated_on_write() {
        let mut n = node("Sort", None);
        assert!(n.details.is_none() && n.io_wal.is_none());
        assert_eq!(n.details(), &NodeDetails::default());
        assert!(n.io().is_empty() && n.wal().is_empty());
        n.details_mut().sort_method = Some("quicksort".into());
        n.wal_mut().records = Some(3.0);
        assert_eq!(n.details().sort_method.as_deref(), Some("quicksort"));
        assert_eq!(n.wal().records, Some(3.0));
        assert!(n.io().is_empty());
    }

    #[test]
    fn estimate_factor_counts_all_loops_and_floors_at_one_row() {
        let mut n = node("Index Scan", None);
        n.plan_rows = Some(1.0);
        n.actual_rows = Some(50.0);
        n.actual_loops = Some(100.0);
        let (f, d) = n.estimate_factor().unwrap();
        assert_eq!(d, EstimateDirection::Under);
        assert!((f - 50.0).abs() < 1e-9);
        n.actual_rows = Some(0.0);
        n.plan_rows = Some(1000.0);
        n.actual_loops = Some(1.0);
        assert_eq!(
            n.estimate_factor().unwrap(),
            (1000.0, EstimateDirection::Over)
        );
    }
}
