//! `--format json`: the machine-readable contract (`schema_version` 1). Extend, never rename.
//!
//! ```text
//! {"schema_version": 1,
//!  "plans": [{"source", <diagnose only: "query": {"index", "file", "line", "sql"}>, "format", "planning_ms", "execution_ms",
//!             <plan extras: index_in_source, line, planning_buffers, planning_memory_*_kb,
//!              triggers, jit, serialization, query_text, query_identifier, settings{}, extra{},
//!              total_ms, analyzed>,
//!             "nodes": [{"id", "parent", "depth", "relationship", "subplan_name", "node_type",
//!                        "join_type", "strategy", "partial_mode", "parallel_aware", …every field
//!                        of `plan::Node`…, "inclusive_ms", "exclusive_ms", "time_share",
//!                        "exclusive_buffers", "extra"{},
//!                        <node extras: label, estimate_factor, estimate_direction, path, children>}],
//!             "findings": [{"rule", "name", "severity", "node", "path", "message", "advice",
//!                           "evidence"{}, <extra: node_label>}],
//!             "suppressed": [{"finding": {…as in findings…}, "line", "scope": "statement"|"file",
//!                             "reason"}],   (diagnose: silenced by `-- pgdiag: ignore`)
//!             "in_baseline": [{…as in findings…}],   (diagnose --baseline only: findings the
//!                                                    baseline already had; they do not fail)
//!             "error": null | "source:line: what"}],
//!  "database": {"server_version", "in_recovery", "database", "role", "findings": [...],
//!               "not_visible": ["what the role could not see", …]},   (only from `health`)
//!  "baseline": {"file", "matched": N, "new": ["queries.sql:7", …],
//!               "gone": [{"file", "line", "sql": "first line of the SQL"}]}}
//!                                                    (only from `diagnose --baseline`)
//! ```
//!
//! - Nodes are in pre-order; `id` is the position, `parent` the parent's id or null, `children`
//!   the children's ids. Times are in ms; `actual_rows` is per loop, as printed.
//! - `extra` (keys PostgreSQL printed that the model does not know) and `settings` are objects.
//! - `estimate_factor` ≥ 1 and `estimate_direction` (`under`: more rows than planned, `over`:
//!   fewer) compare rows over all loops; null without ANALYZE or for a node that never ran.
//! - `path` is the labels from the root, joined by ` > `; below depth 24 the middle is elided
//!   (`… N more …`) so a very deep plan gives output linear in its size.
//! - A plan that could not be read has `format`, `planning_ms`, `execution_ms` null, no nodes, and
//!   `error` set.
//!
//! The document is written straight from the model with serde (no `serde_json::Value` tree), so
//! memory stays flat for a 100 MB plan.

use std::io::{self, BufWriter, Write};

use serde::ser::{self, Impossible, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

use super::Report;
use super::{PlanReport, SuppressedFinding};
use crate::plan::{Node, Plan};
use crate::rules::Finding;

/// The `schema_version` this module writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Path elements kept at each end when a path is elided.
const PATH_HEAD: usize = 4;
const PATH_TAIL: usize = 19;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut w, &Doc(report)).map_err(io::Error::other)?;
    writeln!(w)?;
    w.flush()
}

struct Doc<'a>(&'a Report);

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("schema_version", &SCHEMA_VERSION)?;
        let with_baseline = self.0.baseline.is_some();
        m.serialize_entry("plans", &Seq(&self.0.plans, |p| PlanOut(p, with_baseline)))?;
        if let Some(db) = &self.0.database {
            m.serialize_entry("database", &DatabaseOut(db))?;
        }
        if let Some(b) = &self.0.baseline {
            m.serialize_entry("baseline", b)?;
        }
        m.end()
    }
}

/// A slice serialised element by element through a wrapper.
struct Seq<'a, T, F>(&'a [T], F);

impl<'a, T, W: Serialize, F: Fn(&'a T) -> W> Serialize for Seq<'a, T, F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&(self.1)(item))?;
        }
        seq.end()
    }
}

/// A plan, and whether the run was compared with a baseline (then `in_baseline` is written).
struct PlanOut<'a>(&'a PlanReport, bool);

/// Plan fields written by hand (contract keys, lists turned into objects, the node arena).
const PLAN_OWN: &[&str] = &[
    "source",
    "query",
    "format",
    "planning_ms",
    "execution_ms",
    "nodes",
    "settings",
    "extra",
    "total_ms",
    "analyzed",
    "findings",
    "error",
];

impl Serialize for PlanOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pr = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("source", &pr.source)?;
        if let Some(q) = &pr.query {
            m.serialize_entry("query", q)?;
        }
        let plan = pr.plan.as_ref();
        m.serialize_entry("format", &plan.map(|p| &p.format))?;
        m.serialize_entry("planning_ms", &plan.and_then(|p| p.planning_ms))?;
        m.serialize_entry("execution_ms", &plan.and_then(|p| p.execution_ms))?;
        match plan {
            Some(p) => {
                p.serialize(Fields {
                    map: &mut m,
                    skip: PLAN_OWN,
                })?;
                m.serialize_entry("settings", &Pairs(&p.settings))?;
                m.serialize_entry("extra", &Pairs(&p.extra))?;
                m.serialize_entry("total_ms", &p.total_ms())?;
                m.serialize_entry("analyzed", &p.analyzed())?;
                m.serialize_entry("nodes", &Nodes(p))?;
            }
            None => {
                m.serialize_entry("nodes", &[] as &[()])?;
            }
        }
        m.serialize_entry("findings", &Seq(&pr.findings, |f| FindingOut(f, plan)))?;
        m.serialize_entry(
            "suppressed",
            &Seq(&pr.suppressed, |x| SuppressedOut(x, plan)),
        )?;
        if self.1 {
            m.serialize_entry(
                "in_baseline",
                &Seq(&pr.in_baseline, |f| FindingOut(f, plan)),
            )?;
        }
        m.serialize_entry("error", &pr.error)?;
        m.end()
    }
}

/// `[(k, v), …]` as an object.
struct Pairs<'a, V>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The node arena, in pre-order, with labels and paths computed in one pass.
struct Nodes<'a>(&'a Plan);

impl Serialize for Nodes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let plan = self.0;
        let mut seq = s.serialize_seq(Some(plan.nodes.len()))?;
        // Labels of the current node's ancestors, root first.
        let mut chain: Vec<String> = Vec::new();
        for node in &plan.nodes {
            let label = node.label();
            chain.truncate(node.depth.min(chain.len()));
            chain.push(label);
            seq.serialize_element(&NodeOut {
                node,
                label: chain.last().map(String::as_str).unwrap_or_default(),
                path: path(&chain),
            })?;
        }
        seq.end()
    }
}

/// Round a derived figure to 9 significant digits (at least 1e-6 absolute precision for ms).
fn round(v: f64) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    let mag = v.abs().log10().floor() as i32;
    let decimals = (8 - mag).clamp(6, 15);
    let f = 10f64.powi(decimals);
    let r = (v * f).round() / f;
    if r.is_finite() {
        r
    } else {
        v
    }
}

/// `Hash Join > Seq Scan on orders`, the middle elided on very deep chains.
fn path(chain: &[String]) -> String {
    if chain.len() <= PATH_HEAD + PATH_TAIL + 1 {
        return chain.join(" > ");
    }
    let hidden = chain.len() - PATH_HEAD - PATH_TAIL;
    let mut parts: Vec<&str> = chain[..PATH_HEAD].iter().map(String::as_str).collect();
    let mid = format!("… {hidden} more …");
    parts.push(&mid);
    parts.extend(chain[chain.len() - PATH_TAIL..].iter().map(String::as_str));
    parts.join(" > ")
}

struct NodeOut<'a> {
    node: &'a Node,
    label: &'a str,
    path: String,
}

impl Serialize for NodeOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.node;
        let mut m = s.serialize_map(None)?;
        n.serialize(Fields {
            map: &mut m,
            skip: &[
                "extra",
                "inclusive_ms",
                "exclusive_ms",
                "time_share",
                // Keys added below: a model field of the same name must not appear twice.
                "label",
                "estimate_factor",
                "estimate_direction",
                "path",
                "children",
            ],
        })?;
        // Derived figures, rounded to drop the float noise of the subtractions (8.986999999999995).
        m.serialize_entry("inclusive_ms", &n.inclusive_ms.map(round))?;
        m.serialize_entry("exclusive_ms", &n.exclusive_ms.map(round))?;
        m.serialize_entry("time_share", &n.time_share.map(round))?;
        m.serialize_entry("extra", &Pairs(&n.details().extra))?;
        m.serialize_entry("label", self.label)?;
        let est = n.estimate_factor();
        m.serialize_entry("estimate_factor", &est.map(|e| round(e.0)))?;
        m.serialize_entry("estimate_direction", &est.map(|e| e.1))?;
        m.serialize_entry("path", &self.path)?;
        m.serialize_entry("children", &n.children)?;
        m.end()
    }
}

/// `"database": {"server_version", "in_recovery", "database", "role", "findings": [...],
/// "not_visible": [...]}`, present only when the report has a database section.
struct DatabaseOut<'a>(&'a super::DatabaseReport);

impl Serialize for DatabaseOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let db = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("server_version", &db.server_version)?;
        m.serialize_entry("in_recovery", &db.in_recovery)?;
        m.serialize_entry("database", &db.database)?;
        m.serialize_entry("role", &db.role)?;
        m.serialize_entry("findings", &Seq(&db.findings, |f| FindingOut(f, None)))?;
        m.serialize_entry("not_visible", &db.not_visible)?;
        m.end()
    }
}

struct FindingOut<'a>(&'a Finding, Option<&'a Plan>);

impl Serialize for FindingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(None)?;
        f.serialize(Fields {
            map: &mut m,
            skip: &["node_label"],
        })?;
        let label = match (f.node, self.1) {
            (Some(id), Some(p)) if id < p.nodes.len() => Some(p.nodes[id].label()),
            _ => None,
        };
        m.serialize_entry("node_label", &label)?;
        m.end()
    }
}

/// A suppressed finding: the finding's keys, then what silenced it.
struct SuppressedOut<'a>(&'a SuppressedFinding, Option<&'a Plan>);

impl Serialize for SuppressedOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let x = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("finding", &FindingOut(&x.finding, self.1))?;
        m.serialize_entry("line", &x.line)?;
        m.serialize_entry("scope", &x.scope)?;
        m.serialize_entry("reason", &x.reason)?;
        m.end()
    }
}

/// A serializer that writes a struct's fields, except those in `skip`, as entries of an open map.
/// It lets a derived `Serialize` (every field of `Node`, `Plan`, `Finding`, including ones added
/// later) be extended with more keys without building a `Value`.
struct Fields<'a, M> {
    map: &'a mut M,
    skip: &'a [&'a str],
}

fn not_a_struct<E: ser::Error>() -> E {
    E::custom("report::json: only a struct's fields can be written into a map")
}

macro_rules! reject {
    ($($name:ident($($arg:ty),*);)*) => {
        $(fn $name(self, $(_: $arg),*) -> Result<(), Self::Error> { Err(not_a_struct()) })*
    };
}

impl<'a, M: SerializeMap> Serializer for Fields<'a, M> {
    type Ok = ();
    type Error = M::Error;
    type SerializeSeq = Impossible<(), M::Error>;
    type SerializeTuple = Impossible<(), M::Error>;
    type SerializeTupleStruct = Impossible<(), M::Error>;
    type SerializeTupleVariant = Impossible<(), M::Error>;
    type SerializeMap = Impossible<(), M::Error>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), M::Error>;

    reject! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_bytes(&[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Err(not_a_struct())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        Err(not_a_struct())
    }
}

impl<M: SerializeMap> SerializeStruct for Fields<'_, M> {
    type Ok = ();
    type Error = M::Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        if self.skip.contains(&key) {
            return Ok(());
        }
        self.map.serialize_entry(key, value)
    }

    fn end(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_elided_when_deep() {
        let chain: Vec<String> = (0..100).map(|i| format!("N{i}")).collect();
        let p = path(&chain);
        assert!(p.starts_with("N0 > N1 > N2 > N3 > … 77 more … > N81 > "));
        assert!(p.ends_with("> N99"));
        assert_eq!(path(&chain[..3]), "N0 > N1 > N2");
    }

    #[test]
    fn rounding() {
        assert_eq!(round(8.986999999999995), 8.987);
        assert_eq!(round(0.0931565635624844), 0.0931565636);
        assert_eq!(round(0.0), 0.0);
        assert_eq!(round(123456789.123), 123456789.123);
    }
}
