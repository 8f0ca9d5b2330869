//! `FORMAT JSON` → model, and the one place that knows PostgreSQL's property names.
//!
//! Every other format (text, YAML, XML) is first turned into the JSON shape and then comes through
//! here, so a key is mapped to a model field exactly once.
//!
//! The deserializer writes nodes straight into the pre-order arena (a `DeserializeSeed` per node),
//! so a 100 MB plan never exists as a `serde_json::Value` tree, and deep plans cost no recursion
//! when dropped. Values are read leniently: numbers may come as strings (YAML, XML) and lists as a
//! single string, because the other formats cannot say which is which.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::plan::model::{
    Buffers, IoTimings, Jit, Node, Plan, Serialization, Trigger, Wal, Worker,
};

/// Red zone and new-stack size for `stacker::maybe_grow` at the recursive seeds (`NodeSeed`,
/// `Verbatim`): the values `serde_stacker` uses. Only these seeds recurse (serde_json skips
/// ignored values without recursion), so the JSON path checks the stack once per node instead of
/// wrapping the deserializer, which checked it on every value.
const RED_ZONE: usize = 64 * 1024;
const STACK_SIZE: usize = 2 * 1024 * 1024;

/// Parse JSON text holding one plan, an array of plans, or several such documents in a row.
pub fn parse_plans(text: &str) -> Result<Vec<Plan>, serde_json::Error> {
    // The common case, one well-formed document, through the fast reader; anything else (an
    // error to report, several documents) through serde_json.
    if let Some(plans) = parse_plans_fast(text) {
        return Ok(plans);
    }
    parse_plans_with_serde_json(text)
}

/// The fast reader alone: `None` where it gives up (then `parse_plans` asks serde_json). For the
/// tests that check it serves real plans rather than silently handing them all to serde_json.
pub fn parse_plans_fast(text: &str) -> Option<Vec<Plan>> {
    super::json_split::read_whole(text, TopSeed)
}

/// The fast reader on up to `threads` threads whatever the text's size, for the tests that check
/// that reading a plan in chunks gives the same plans as reading it in one go; with the number of
/// nodes the other threads read.
pub fn parse_plans_fast_on(text: &str, threads: usize) -> (Option<Vec<Plan>>, usize) {
    super::json_split::read_whole_counting(text, TopSeed, threads)
}

/// `parse_plans` through serde_json alone: the reference the fast reader must agree with, and
/// the source of every error message.
pub fn parse_plans_with_serde_json(text: &str) -> Result<Vec<Plan>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    de.disable_recursion_limit();
    let plans = TopSeed.deserialize(&mut de)?;
    match de.end() {
        Ok(()) => Ok(plans),
        // Trailing text: several documents in one file (one EXPLAIN output after another).
        Err(_) => parse_stream(text),
    }
}

/// Several JSON documents one after another (a file holding the output of several EXPLAINs).
fn parse_stream(text: &str) -> Result<Vec<Plan>, serde_json::Error> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            return Ok(out);
        }
        let offset = text.len() - trimmed.len();
        let mut stream = serde_json::Deserializer::from_str(trimmed).into_iter::<IgnoredAny>();
        match stream.next() {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(relocate(e, text, offset)),
            None => return Ok(out),
        }
        let end = stream.byte_offset();
        let doc = &trimmed[..end];
        let mut de = serde_json::Deserializer::from_str(doc);
        de.disable_recursion_limit();
        let mut plans = TopSeed
            .deserialize(&mut de)
            .map_err(|e| relocate(e, text, offset))?;
        // Each document's plans start on the document's own line.
        let line = text[..offset].matches('\n').count() + 1;
        for p in &mut plans {
            p.line = line;
        }
        out.extend(plans);
        rest = &trimmed[end..];
    }
}

/// Shift an error found in a slice starting at `offset` to the line of the whole text.
fn relocate(e: serde_json::Error, text: &str, offset: usize) -> serde_json::Error {
    let line_before = text[..offset].matches('\n').count();
    if line_before == 0 {
        return e;
    }
    let msg = e.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    de::Error::custom(format!(
        "{msg} at line {} column {}",
        e.line() + line_before,
        e.column()
    ))
}

/// Build plans from the text reader's document (see `doc.rs`). Read directly, like the JSON
/// path: the document recurses only through the seeds that grow the stack themselves
/// (`NodeSeed`, `Verbatim`), so a deep plan does not overflow it, and wrapping every value in
/// `serde_stacker` cost ~15 % of a text parse's instructions.
pub fn plans_from_doc(doc: super::doc::Doc) -> Result<Vec<Plan>, serde_json::Error> {
    TopSeed.deserialize(doc)
}

/// Build plans from a JSON-shaped value (the output of the YAML and XML readers).
/// Through `serde_stacker` like the JSON path: a 10,000-deep plan must not overflow the stack.
pub fn plans_from_value(value: serde_json::Value) -> Result<Vec<Plan>, serde_json::Error> {
    TopSeed.deserialize(serde_stacker::Deserializer::new(value))
}

// ----------------------------------------------------------------------------------------------
// Values kept verbatim

/// Deepest nesting kept for a value we do not model (PostgreSQL nests such values 2–3 levels);
/// anything deeper is replaced by `null`. A `serde_json::Value` is dropped and serialized
/// recursively, so an unbounded one (`"Foo": [[[[…100,000 levels…]]]]`) would overflow the stack.
const VERBATIM_DEPTH: usize = 64;

/// A `serde_json::Value` at nesting depth `.0`, cut at `VERBATIM_DEPTH`.
struct Verbatim(usize);

impl<'de> DeserializeSeed<'de> for Verbatim {
    type Value = serde_json::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        if self.0 >= VERBATIM_DEPTH {
            d.deserialize_ignored_any(IgnoredAny)?;
            return Ok(serde_json::Value::Null);
        }
        stacker::maybe_grow(RED_ZONE, STACK_SIZE, || d.deserialize_any(self))
    }
}

impl<'de> Visitor<'de> for Verbatim {
    type Value = serde_json::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E: de::Error>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<serde_json::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Verbatim(self.0 + 1))? {
            out.push(v);
        }
        Ok(serde_json::Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<serde_json::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Str(k)) = map.next_key()? {
            let v = map.next_value_seed(Verbatim(self.0 + 1))?;
            out.insert(k, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

// ----------------------------------------------------------------------------------------------
// Lenient scalars

/// A number that may be printed as a JSON number or as a string (`"1.00"`, `"12kB"` is refused).
struct Num(f64);

impl<'de> serde::Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                // Rust's float syntax also takes "NaN" and "inf"; EXPLAIN never prints them.
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .map(Num)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

struct Bool(bool);

impl<'de> serde::Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bool;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Bool, E> {
                Ok(Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bool, E> {
                match v.trim() {
                    "true" | "True" | "TRUE" | "on" => Ok(Bool(true)),
                    "false" | "False" | "FALSE" | "off" => Ok(Bool(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A string; numbers and booleans are accepted and printed (YAML may type `Alias: 1`).
struct Str(String);

impl<'de> serde::Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str, E> {
                Ok(Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str, E> {
                Ok(Str(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Str, E> {
                Ok(Str(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Str, E> {
                Ok(Str(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Str, E> {
                Ok(Str(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Str, E> {
                Ok(Str(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A list of strings; a lone string is a list of one.
struct StrList(Vec<String>);

impl<'de> serde::Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StrList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StrList, E> {
                Ok(StrList(vec![v.to_owned()]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<StrList, E> {
                Ok(StrList(vec![v]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrList, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(2));
                while let Some(Str(s)) = seq.next_element()? {
                    out.push(s);
                }
                Ok(StrList(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Settings: an object of name → value.
struct Settings(Vec<(String, String)>);

impl<'de> serde::Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Settings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Settings, A::Error> {
                let mut out = Vec::new();
                while let Some((Str(k), Str(v))) = map.next_entry()? {
                    out.push((k, v));
                }
                Ok(Settings(out))
            }
        }
        d.deserialize_any(V)
    }
}

// ----------------------------------------------------------------------------------------------
// Keys

/// Property names PostgreSQL prints for a node (and for workers, which share most of them).
macro_rules! keys {
    ($($variant:ident = $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum K { $($variant,)* }
        impl K {
            #[cfg(test)]
            const ALL: &'static [(&'static str, K)] = &[$(($name, K::$variant),)*];

            /// The key called `name`. (A hash table was tried: slower than this `match`, which
            /// the compiler turns into a dispatch on the length first.)
            fn from_name(name: &str) -> Option<K> {
                match name { $($name => Some(K::$variant),)* _ => None }
            }
        }
    };
}

keys! {
    NodeType = "Node Type", ParentRelationship = "Parent Relationship",
    SubplanName = "Subplan Name", CustomPlanProvider = "Custom Plan Provider",
    ParallelAware = "Parallel Aware", AsyncCapable = "Async Capable", Strategy = "Strategy",
    PartialMode = "Partial Mode", Operation = "Operation", JoinType = "Join Type",
    ScanDirection = "Scan Direction", IndexName = "Index Name", RelationName = "Relation Name",
    Schema = "Schema", Alias = "Alias", CteName = "CTE Name", FunctionName = "Function Name",
    SingleCopy = "Single Copy",
    StartupCost = "Startup Cost", TotalCost = "Total Cost", PlanRows = "Plan Rows",
    PlanWidth = "Plan Width", ActualStartupTime = "Actual Startup Time",
    ActualTotalTime = "Actual Total Time", ActualRows = "Actual Rows", ActualLoops = "Actual Loops",
    Disabled = "Disabled", Output = "Output", Filter = "Filter", IndexCond = "Index Cond",
    RecheckCond = "Recheck Cond", HashCond = "Hash Cond", MergeCond = "Merge Cond",
    JoinFilter = "Join Filter", OneTimeFilter = "One-Time Filter", TidCond = "TID Cond",
    SortKey = "Sort Key", PresortedKey = "Presorted Key", GroupKey = "Group Key",
    HashKey = "Hash Key",
    RowsRemovedByFilter = "Rows Removed by Filter",
    RowsRemovedByIndexRecheck = "Rows Removed by Index Recheck",
    RowsRemovedByJoinFilter = "Rows Removed by Join Filter", HeapFetches = "Heap Fetches",
    IndexSearches = "Index Searches", SortMethod = "Sort Method",
    SortSpaceUsed = "Sort Space Used", SortSpaceType = "Sort Space Type",
    HashBuckets = "Hash Buckets", OriginalHashBuckets = "Original Hash Buckets",
    HashBatches = "Hash Batches", OriginalHashBatches = "Original Hash Batches",
    PeakMemoryUsage = "Peak Memory Usage", PlannedPartitions = "Planned Partitions",
    HashAggBatches = "HashAgg Batches", DiskUsage = "Disk Usage",
    ExactHeapBlocks = "Exact Heap Blocks", LossyHeapBlocks = "Lossy Heap Blocks",
    Storage = "Storage", MaximumStorage = "Maximum Storage",
    WorkersPlanned = "Workers Planned", WorkersLaunched = "Workers Launched", Workers = "Workers",
    WorkerNumber = "Worker Number",
    SharedHit = "Shared Hit Blocks", SharedRead = "Shared Read Blocks",
    SharedDirtied = "Shared Dirtied Blocks", SharedWritten = "Shared Written Blocks",
    LocalHit = "Local Hit Blocks", LocalRead = "Local Read Blocks",
    LocalDirtied = "Local Dirtied Blocks", LocalWritten = "Local Written Blocks",
    TempRead = "Temp Read Blocks", TempWritten = "Temp Written Blocks",
    IoReadTime = "I/O Read Time", IoWriteTime = "I/O Write Time",
    SharedIoReadTime = "Shared I/O Read Time", SharedIoWriteTime = "Shared I/O Write Time",
    LocalIoReadTime = "Local I/O Read Time", LocalIoWriteTime = "Local I/O Write Time",
    TempIoReadTime = "Temp I/O Read Time", TempIoWriteTime = "Temp I/O Write Time",
    WalRecords = "WAL Records", WalFpi = "WAL FPI", WalBytes = "WAL Bytes",
    WalBuffersFull = "WAL Buffers Full", Plans = "Plans", Jit = "JIT",
}

/// A map key: known keys become `K` without allocating; others keep their name.
enum Key {
    Known(K),
    Other(String),
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match K::from_name(v) {
                    Some(k) => Key::Known(k),
                    None => Key::Other(v.to_owned()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// Where a node or a worker keeps its buffers, I/O timings and WAL usage (a node allocates
/// the last two on first write).
trait SharedFields {
    fn buffers(&mut self) -> &mut Buffers;
    fn io(&mut self) -> &mut IoTimings;
    fn wal(&mut self) -> &mut Wal;
}

impl SharedFields for Node {
    fn buffers(&mut self) -> &mut Buffers {
        self.buffers.get_or_insert_with(Buffers::default)
    }
    fn io(&mut self) -> &mut IoTimings {
        self.io_mut()
    }
    fn wal(&mut self) -> &mut Wal {
        self.wal_mut()
    }
}

impl SharedFields for Worker {
    fn buffers(&mut self) -> &mut Buffers {
        self.buffers.get_or_insert_with(Buffers::default)
    }
    fn io(&mut self) -> &mut IoTimings {
        &mut self.io
    }
    fn wal(&mut self) -> &mut Wal {
        &mut self.wal
    }
}

/// Fields shared by nodes and workers, set from one key. Returns false if the key is not one.
fn set_shared_field<'de, A: MapAccess<'de>>(
    k: K,
    map: &mut A,
    target: &mut impl SharedFields,
) -> Result<bool, A::Error> {
    macro_rules! buf {
        ($f:ident) => {{
            let Num(v) = map.next_value()?;
            target.buffers().$f = v;
        }};
    }
    macro_rules! opt {
        ($group:ident . $f:ident) => {{
            let Num(v) = map.next_value()?;
            target.$group().$f = Some(v);
        }};
    }
    match k {
        K::SharedHit => buf!(shared_hit),
        K::SharedRead => buf!(shared_read),
        K::SharedDirtied => buf!(shared_dirtied),
        K::SharedWritten => buf!(shared_written),
        K::LocalHit => buf!(local_hit),
        K::LocalRead => buf!(local_read),
        K::LocalDirtied => buf!(local_dirtied),
        K::LocalWritten => buf!(local_written),
        K::TempRead => buf!(temp_read),
        K::TempWritten => buf!(temp_written),
        // Before PG 17 one pair of timings covered shared and local blocks: kept as shared.
        K::IoReadTime | K::SharedIoReadTime => opt!(io.shared_read_ms),
        K::IoWriteTime | K::SharedIoWriteTime => opt!(io.shared_write_ms),
        K::LocalIoReadTime => opt!(io.local_read_ms),
        K::LocalIoWriteTime => opt!(io.local_write_ms),
        K::TempIoReadTime => opt!(io.temp_read_ms),
        K::TempIoWriteTime => opt!(io.temp_write_ms),
        K::WalRecords => opt!(wal.records),
        K::WalFpi => opt!(wal.fpi),
        K::WalBytes => opt!(wal.bytes),
        K::WalBuffersFull => opt!(wal.buffers_full),
        _ => return Ok(false),
    }
    Ok(true)
}

// ----------------------------------------------------------------------------------------------
// Nodes

pub(super) struct NodeSeed<'a> {
    pub(super) arena: &'a mut Vec<Node>,
    pub(super) parent: Option<usize>,
    pub(super) depth: usize,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // The one recursion of a plan (node → `Plans` → node): grow the stack here.
        stacker::maybe_grow(RED_ZONE, STACK_SIZE, || d.deserialize_map(self))
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a plan node (an object with \"Node Type\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // Read ahead by another thread (a big plan read in chunks): take those nodes instead.
        if super::json_split::claim(self.arena, self.parent, self.depth) {
            return Ok(());
        }
        let id = self.arena.len();
        self.arena.push(Node {
            id,
            parent: self.parent,
            depth: self.depth,
            ..Node::default()
        });
        if let Some(p) = self.parent {
            self.arena[p].children.push(id);
        }
        let mut saw_type = false;
        while let Some(key) = map.next_key::<Key>()? {
            let k = match key {
                Key::Known(k) => k,
                Key::Other(name) => {
                    let v = map.next_value_seed(Verbatim(0))?;
                    self.arena[id].details_mut().extra.push((name, v));
                    continue;
                }
            };
            if k == K::Plans {
                map.next_value_seed(ChildrenSeed {
                    arena: &mut *self.arena,
                    parent: id,
                    depth: self.depth + 1,
                })?;
                continue;
            }
            let n = &mut self.arena[id];
            if set_shared_field(k, &mut map, n)? {
                continue;
            }
            macro_rules! s {
                ($($f:tt)+) => {{
                    let Str(v) = map.next_value()?;
                    n.$($f)+ = Some(v);
                }};
            }
            macro_rules! f {
                ($($f:tt)+) => {{
                    let Num(v) = map.next_value()?;
                    n.$($f)+ = Some(v);
                }};
            }
            macro_rules! b {
                ($($f:tt)+) => {{
                    let Bool(v) = map.next_value()?;
                    n.$($f)+ = Some(v);
                }};
            }
            macro_rules! l {
                ($($f:tt)+) => {{
                    let StrList(v) = map.next_value()?;
                    n.$($f)+ = v;
                }};
            }
            match k {
                K::NodeType => {
                    let Str(v) = map.next_value()?;
                    n.node_type = v;
                    saw_type = true;
                }
                K::ParentRelationship => s!(relationship),
                K::SubplanName => s!(details_mut().subplan_name),
                K::CustomPlanProvider => s!(details_mut().custom_plan_provider),
                K::ParallelAware => {
                    let Bool(v) = map.next_value()?;
                    n.parallel_aware = v;
                }
                K::AsyncCapable => b!(async_capable),
                K::Strategy => s!(strategy),
                K::PartialMode => s!(partial_mode),
                K::Operation => s!(details_mut().operation),
                K::JoinType => s!(join_type),
                K::ScanDirection => s!(details_mut().scan_direction),
                K::IndexName => s!(index),
                K::RelationName => s!(relation),
                K::Schema => s!(schema),
                K::Alias => s!(alias),
                K::CteName => s!(details_mut().cte_name),
                K::FunctionName => s!(details_mut().function_name),
                K::SingleCopy => b!(details_mut().single_copy),
                K::StartupCost => f!(startup_cost),
                K::TotalCost => f!(total_cost),
                K::PlanRows => f!(plan_rows),
                K::PlanWidth => f!(plan_width),
                K::ActualStartupTime => f!(actual_startup_ms),
                K::ActualTotalTime => f!(actual_total_ms),
                K::ActualRows => f!(actual_rows),
                K::ActualLoops => f!(actual_loops),
                K::Disabled => b!(disabled),
                K::Output => l!(output),
                K::Filter => s!(filter),
                K::IndexCond => s!(index_cond),
                K::RecheckCond => s!(details_mut().recheck_cond),
                K::HashCond => s!(details_mut().hash_cond),
                K::MergeCond => s!(details_mut().merge_cond),
                K::JoinFilter => s!(details_mut().join_filter),
                K::OneTimeFilter => s!(details_mut().one_time_filter),
                K::TidCond => s!(details_mut().tid_cond),
                K::SortKey => l!(details_mut().sort_key),
                K::PresortedKey => l!(details_mut().presorted_key),
                K::GroupKey => l!(details_mut().group_key),
                K::HashKey => l!(details_mut().hash_key),
                K::RowsRemovedByFilter => f!(rows_removed_by_filter),
                K::RowsRemovedByIndexRecheck => f!(details_mut().rows_removed_by_index_recheck),
                K::RowsRemovedByJoinFilter => f!(details_mut().rows_removed_by_join_filter),
                K::HeapFetches => f!(details_mut().heap_fetches),
                K::IndexSearches => f!(details_mut().index_searches),
                K::SortMethod => s!(details_mut().sort_method),
                K::SortSpaceUsed => f!(details_mut().sort_space_used_kb),
                K::SortSpaceType => s!(details_mut().sort_space_type),
                K::HashBuckets => f!(details_mut().hash_buckets),
                K::OriginalHashBuckets => f!(details_mut().original_hash_buckets),
                K::HashBatches => f!(details_mut().hash_batches),
                K::OriginalHashBatches => f!(details_mut().original_hash_batches),
                K::PeakMemoryUsage => f!(details_mut().peak_memory_kb),
                K::PlannedPartitions => f!(details_mut().planned_partitions),
                K::HashAggBatches => f!(details_mut().hashagg_batches),
                K::DiskUsage => f!(details_mut().disk_usage_kb),
                K::ExactHeapBlocks => f!(details_mut().exact_heap_blocks),
                K::LossyHeapBlocks => f!(details_mut().lossy_heap_blocks),
                K::Storage => s!(details_mut().storage),
                K::MaximumStorage => f!(details_mut().maximum_storage_kb),
                K::WorkersPlanned => f!(details_mut().workers_planned),
                K::WorkersLaunched => f!(details_mut().workers_launched),
                K::Workers => {
                    let WorkerList(v) = map.next_value()?;
                    n.details_mut().workers = v;
                }
                other => {
                    // A worker-only or plan-level key on a node: keep it rather than lose it.
                    let v = map.next_value_seed(Verbatim(0))?;
                    n.details_mut().extra.push((format!("{other:?}"), v));
                }
            }
        }
        if !saw_type {
            return Err(de::Error::missing_field("Node Type"));
        }
        let n = &mut self.arena[id];
        // JSON prints loops = 0 for a node that never ran; text prints "(never executed)".
        if n.actual_loops == Some(0.0) {
            n.never_executed = true;
        }
        Ok(())
    }
}

struct ChildrenSeed<'a> {
    arena: &'a mut Vec<Node>,
    parent: usize,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for ChildrenSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ChildrenSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of plan nodes")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(NodeSeed {
                arena: &mut *self.arena,
                parent: Some(self.parent),
                depth: self.depth,
            })?
            .is_some()
        {}
        Ok(())
    }
    /// XML and YAML readers may hand a single child as an object rather than a list.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let seed = NodeSeed {
            arena: self.arena,
            parent: Some(self.parent),
            depth: self.depth,
        };
        stacker::maybe_grow(RED_ZONE, STACK_SIZE, || seed.visit_map(map))
    }
}

// ----------------------------------------------------------------------------------------------
// Workers

struct WorkerList(Vec<Worker>);

impl<'de> serde::Deserialize<'de> for WorkerList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = WorkerList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of workers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WorkerList, A::Error> {
                let mut out = Vec::new();
                while let Some(w) = seq.next_element::<WorkerOne>()? {
                    out.push(w.0);
                }
                Ok(WorkerList(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<WorkerList, A::Error> {
                Ok(WorkerList(vec![WorkerVisitor.visit_map(map)?.0]))
            }
        }
        d.deserialize_any(V)
    }
}

struct WorkerOne(Worker);
struct WorkerVisitor;

impl<'de> serde::Deserialize<'de> for WorkerOne {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(WorkerVisitor)
    }
}

impl<'de> Visitor<'de> for WorkerVisitor {
    type Value = WorkerOne;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a worker")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WorkerOne, A::Error> {
        let mut w = Worker::default();
        while let Some(key) = map.next_key::<Key>()? {
            let k = match key {
                Key::Known(k) => k,
                Key::Other(_) => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if set_shared_field(k, &mut map, &mut w)? {
                continue;
            }
            macro_rules! f {
                ($f:ident) => {{
                    let Num(v) = map.next_value()?;
                    w.$f = Some(v);
                }};
            }
            match k {
                K::WorkerNumber => {
                    let Num(v) = map.next_value()?;
                    w.number = v as i64;
                }
                K::ActualStartupTime => f!(actual_startup_ms),
                K::ActualTotalTime => f!(actual_total_ms),
                K::ActualRows => f!(actual_rows),
                K::ActualLoops => f!(actual_loops),
                K::SortMethod => {
                    let Str(v) = map.next_value()?;
                    w.sort_method = Some(v);
                }
                K::SortSpaceType => {
                    let Str(v) = map.next_value()?;
                    w.sort_space_type = Some(v);
                }
                K::SortSpaceUsed => f!(sort_space_used_kb),
                K::HashAggBatches | K::HashBatches => f!(hash_batches),
                K::DiskUsage => f!(disk_usage_kb),
                K::PeakMemoryUsage => f!(peak_memory_kb),
                K::Jit => {
                    let JitValue(j) = map.next_value()?;
                    w.jit = Some(j);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(WorkerOne(w))
    }
}

// ----------------------------------------------------------------------------------------------
// Plan-level objects

struct JitValue(Jit);

impl<'de> serde::Deserialize<'de> for JitValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Verbatim(0).deserialize(d)?;
        Ok(JitValue(jit_from_value(&v)))
    }
}

fn num_of(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn bool_of(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) => match s.trim() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn str_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn jit_from_value(v: &serde_json::Value) -> Jit {
    let mut j = Jit {
        functions: v.get("Functions").and_then(num_of),
        ..Jit::default()
    };
    if let Some(o) = v.get("Options") {
        j.inlining = o.get("Inlining").and_then(bool_of);
        j.optimization = o.get("Optimization").and_then(bool_of);
        j.expressions = o.get("Expressions").and_then(bool_of);
        j.deforming = o.get("Deforming").and_then(bool_of);
    }
    if let Some(t) = v.get("Timing") {
        let ms = |k: &str| {
            t.get(k).and_then(|x| {
                // PG 17 nests {"Generation": {"Deform": …, "Total": …}}.
                num_of(x).or_else(|| x.get("Total").and_then(num_of))
            })
        };
        j.generation_ms = ms("Generation");
        j.deform_ms = t
            .get("Generation")
            .and_then(|g| g.get("Deform"))
            .and_then(num_of);
        j.inlining_ms = ms("Inlining");
        j.optimization_ms = ms("Optimization");
        j.emission_ms = ms("Emission");
        j.total_ms = ms("Total");
    }
    j
}

fn trigger_from_value(v: &serde_json::Value) -> Trigger {
    Trigger {
        name: v.get("Trigger Name").and_then(str_of).unwrap_or_default(),
        constraint_name: v.get("Constraint Name").and_then(str_of),
        relation: v.get("Relation").and_then(str_of),
        time_ms: v.get("Time").and_then(num_of),
        calls: v.get("Calls").and_then(num_of),
    }
}

/// Planning buffers and memory (`"Planning": {...}`, PG 13+; memory PG 17+).
fn planning_from_value(plan: &mut Plan, v: &serde_json::Value) {
    let mut b = Buffers::default();
    let mut any = false;
    let mut set = |k: &str, slot: &mut f64| {
        if let Some(x) = v.get(k).and_then(num_of) {
            *slot = x;
            any = true;
        }
    };
    set("Shared Hit Blocks", &mut b.shared_hit);
    set("Shared Read Blocks", &mut b.shared_read);
    set("Shared Dirtied Blocks", &mut b.shared_dirtied);
    set("Shared Written Blocks", &mut b.shared_written);
    set("Local Hit Blocks", &mut b.local_hit);
    set("Local Read Blocks", &mut b.local_read);
    set("Local Dirtied Blocks", &mut b.local_dirtied);
    set("Local Written Blocks", &mut b.local_written);
    set("Temp Read Blocks", &mut b.temp_read);
    set("Temp Written Blocks", &mut b.temp_written);
    if any {
        plan.planning_buffers = Some(b);
    }
    plan.planning_memory_used_kb = v.get("Memory Used").and_then(num_of);
    plan.planning_memory_allocated_kb = v.get("Memory Allocated").and_then(num_of);
}

struct PlanSeed;

impl<'de> DeserializeSeed<'de> for PlanSeed {
    type Value = Plan;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Plan, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PlanSeed {
    type Value = Plan;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EXPLAIN result (an object with \"Plan\")")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Plan, A::Error> {
        let mut plan = Plan::default();
        let mut saw_plan = false;
        while let Some(Str(key)) = map.next_key()? {
            match key.as_str() {
                "Plan" => {
                    if saw_plan {
                        return Err(de::Error::duplicate_field("Plan"));
                    }
                    saw_plan = true;
                    map.next_value_seed(NodeSeed {
                        arena: &mut plan.nodes,
                        parent: None,
                        depth: 0,
                    })?;
                }
                "Planning Time" | "Total Planning Time" => {
                    plan.planning_ms = Some(map.next_value::<Num>()?.0)
                }
                "Execution Time" | "Total Runtime" => {
                    plan.execution_ms = Some(map.next_value::<Num>()?.0)
                }
                "Query Text" => plan.query_text = Some(map.next_value::<Str>()?.0),
                "Query Identifier" => plan.query_identifier = Some(map.next_value::<Str>()?.0),
                "Settings" => plan.settings = map.next_value::<Settings>()?.0,
                "Triggers" => {
                    let v = map.next_value_seed(Verbatim(0))?;
                    let list = match &v {
                        serde_json::Value::Array(a) => a.iter().collect(),
                        serde_json::Value::Object(_) => vec![&v],
                        _ => vec![],
                    };
                    plan.triggers = list.into_iter().map(trigger_from_value).collect();
                }
                "JIT" => plan.jit = Some(map.next_value::<JitValue>()?.0),
                "Planning" => {
                    let v = map.next_value_seed(Verbatim(0))?;
                    planning_from_value(&mut plan, &v);
                }
                "Serialization" => {
                    let v = map.next_value_seed(Verbatim(0))?;
                    plan.serialization = Some(Serialization {
                        time_ms: v.get("Time").and_then(num_of),
                        output_kb: v.get("Output Volume").and_then(num_of),
                        format: v.get("Format").and_then(str_of),
                    });
                }
                _ => {
                    let v = map.next_value_seed(Verbatim(0))?;
                    plan.extra.push((key, v));
                }
            }
        }
        if !saw_plan {
            return Err(de::Error::missing_field("Plan"));
        }
        Ok(plan)
    }
}

/// The top of a document: one plan object, or an array of them.
struct TopSeed;

impl<'de> DeserializeSeed<'de> for TopSeed {
    type Value = Vec<Plan>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Plan>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed {
    type Value = Vec<Plan>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an EXPLAIN (FORMAT JSON) result: [ { \"Plan\": … } ]")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Plan>, A::Error> {
        let mut out = Vec::new();
        while let Some(p) = seq.next_element_seed(PlanSeed)? {
            out.push(p);
        }
        if out.is_empty() {
            return Err(de::Error::invalid_length(0, &"at least one plan"));
        }
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<Plan>, A::Error> {
        Ok(vec![PlanSeed.visit_map(map)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read `text` once in one go and once with a reader ahead from the `{` before each marker
    /// (`@N` in `text`, removed): the same plans, children included. Returns the nodes taken
    /// from the readers ahead.
    fn read_with_cuts_at_markers(marked: &str) -> usize {
        let mut text = String::new();
        let mut cuts = Vec::new();
        for (i, part) in marked.split('@').enumerate() {
            if i > 0 {
                cuts.push(text.len());
            }
            text.push_str(part);
        }
        let whole =
            super::super::json_split::read_at_cuts(&text, TopSeed, &[]).expect("reads in one go");
        let (cut, claimed) = super::super::json_split::read_at_cuts_counting(&text, TopSeed, &cuts);
        let cut = cut.expect("reads with cuts");
        let show = crate::fuzzing::plans_fingerprint;
        assert_eq!(show(&cut), show(&whole), "{marked}");
        claimed
    }

    #[test]
    fn a_cut_is_used_only_where_a_plan_node_is_read() {
        // An object shaped like a node under a key the model does not know: kept verbatim, never
        // taken from the reader ahead.
        let verbatim = r#"[{"Plan": {"Node Type": "Result", "Custom": @{"Node Type": "Seq Scan",
            "Plans": [{"Node Type": "Hash"}]}, "Plans": [{"Node Type": "Seq Scan"}]}}]"#;
        assert_eq!(read_with_cuts_at_markers(verbatim), 0);
        // A plan object (not a node) that starts with a "Node Type" key: the offer made for it
        // must be withdrawn before its "Plan" node is read.
        let plan_like_node = r#"[@{"Node Type": "odd", "Plan": {"Node Type": "Result"}}]"#;
        assert_eq!(read_with_cuts_at_markers(plan_like_node), 0);
        // The root node of a second plan in one document.
        let second_plan = r#"[{"Plan": {"Node Type": "Result"}, "Planning Time": 1},
            {"Plan": @{"Node Type": "Sort", "Plans": [{"Node Type": "Seq Scan"}]},
             "Execution Time": 2}]"#;
        assert_eq!(read_with_cuts_at_markers(second_plan), 2);
        // Keys after "Plans" (PostgreSQL prints it last, other tools may not), siblings after
        // the parent, and a climb of two levels.
        let keys_after_plans = r#"[{"Plan": {"Node Type": "Append", "Plans": [
            {"Node Type": "Hash Join", "Plans": [@{"Node Type": "Seq Scan"},
              {"Node Type": "Hash", "Plans": [{"Node Type": "Seq Scan"}], "Actual Rows": 5}],
             "Actual Rows": 7, "Filter": "x > 1"},
            {"Node Type": "Result"}]}}]"#;
        assert_eq!(read_with_cuts_at_markers(keys_after_plans), 4);
        // A single child given as an object rather than a list.
        let single_child = r#"[{"Plan": {"Node Type": "Limit", "Plans": @{"Node Type": "Sort",
            "Plans": [{"Node Type": "Seq Scan"}]}}}]"#;
        assert_eq!(read_with_cuts_at_markers(single_child), 2);
        // Two readers ahead, the second one's subtrees passed on by the first.
        let chained = r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "Result"},
            @{"Node Type": "Result"}, {"Node Type": "Append", "Plans": [@{"Node Type": "Result"},
            {"Node Type": "Result"}]}, {"Node Type": "Result"}]}}]"#;
        assert_eq!(read_with_cuts_at_markers(chained), 5);
        // A reader ahead that meets something it cannot read stops; the first reader reads the
        // rest itself (here, and gives up on it as it would have anyway).
        let broken_after_cut = r#"[{"Plan": {"Node Type": "Append", "Plans": [
            @{"Node Type": "Result"}, {"Node Type": "Result", "Plan Rows": nope}]}}]"#;
        let text = broken_after_cut.replace('@', "");
        let cut = broken_after_cut.find('@').unwrap();
        assert!(super::super::json_split::read_at_cuts(&text, TopSeed, &[cut]).is_none());
    }

    /// Wherever the readers ahead start (any character boundary for one reader; every `{` for
    /// two or three chained readers), the plans, or the giving up, are those of one reader: node
    /// objects under keys that are not nodes (workers, verbatim values, plan-level objects, a
    /// string), a plan object opening with "Node Type", a second "Plans", a non-object or nested
    /// array among children, a missing comma, a value a node refuses, trailing text.
    #[test]
    fn any_cut_reads_what_one_reader_reads() {
        let texts = [
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A", "Workers": [{"Node Type": "W", "Actual Rows": 1}]}, {"Node Type": "B", "X": {"Node Type": "V", "Plans": [{"Node Type": "Q"}]}, "Plans": [{"Node Type": "C"}, {"Node Type": "D", "Plans": []}]}, {"Node Type": "E", "Filter": "{ \"Node Type\": 1 }"}]}, "Triggers": [{"Node Type": "T"}]}, {"Plan": {"Node Type": "F", "Plans": {"Node Type": "G", "Plans": [{"Node Type": "H"}]}}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B", "Plan Rows": "x"}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B"}]}}] trailing"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B"}], "Plans": [{"Node Type": "C"}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B"}, 3, {"Node Type": "C"}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, [{"Node Type": "B"}], {"Node Type": "C"}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B"} {"Node Type": "C"}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B", "Relation Name": {"Node Type": "C"}}]}}]"#,
            r#"[{"Plan": {"Node Type": "Append", "Plans": [{"Node Type": "A"}, {"Node Type": "B"}]}, "Planning": {"Node Type": "P"}, "JIT": {"Node Type": "J"}, "Settings": {"Node Type": "S"}}]"#,
            r#"{"Node Type": "Result", "Plan": {"Node Type": "A", "Plans": [{"Node Type": "B"}]}}"#,
            r#"[{"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B", "Plans": [{"Node Type": "C"}]}]}}, {"Node Type": "D", "Plan": {"Node Type": "E"}}]"#,
            r#"[{"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B", "Plans": [{"Node Type": "C"}]}, {"Node Type": "D", "Plans": [{"Node Type": "E"}]}]}}]"#,
            r#"[{"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B"}]}, "x": "]}, {\"Node Type\": \"C\"}"}]"#,
            r#"[{"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B", "Workers": {"Node Type": "W"}}, {"Node Type": "C"}]}}]"#,
            r#"[{"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B"}, {"Node Type": "C"}]}}, {"Plan": {"Node Type": "A", "Plans": [{"Node Type": "B"}, {"Node Type": "C"}]}}]"#,
        ];
        let show =
            |plans: Option<Vec<Plan>>| plans.as_deref().map(crate::fuzzing::plans_fingerprint);
        let read = |text: &str, cuts: &[usize]| {
            show(super::super::json_split::read_at_cuts(text, TopSeed, cuts))
        };
        for text in texts {
            let whole = read(text, &[]);
            for at in (1..text.len()).filter(|&i| text.is_char_boundary(i)) {
                assert_eq!(read(text, &[at]), whole, "{text} cut at {at}");
            }
            let opens: Vec<usize> = (0..text.len())
                .filter(|&i| text.as_bytes()[i] == b'{')
                .collect();
            for (i, &a) in opens.iter().enumerate() {
                for (j, &b) in opens.iter().enumerate().skip(i + 1) {
                    assert_eq!(read(text, &[a, b]), whole, "{text} cuts at {a} {b}");
                    for &c in &opens[j + 1..] {
                        assert_eq!(read(text, &[a, b, c]), whole, "{text} cuts at {a} {b} {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn every_key_is_found_by_its_name_and_no_other() {
        for &(name, k) in K::ALL {
            assert_eq!(K::from_name(name), Some(k), "{name}");
            // A near miss (one byte changed, one byte more or less) is not a key.
            assert_eq!(K::from_name(&name[..name.len() - 1]), None, "{name}");
            assert_eq!(K::from_name(&format!("{name} ")), None, "{name}");
            assert_eq!(K::from_name(&name.to_lowercase()), None, "{name}");
        }
        assert_eq!(K::from_name(""), None);
        assert_eq!(K::from_name("Query Text"), None);
    }
}
