//! `--format json`: the machine-readable contract (`schema_version` 1). Extend, never rename.

use std::io::{self, Write};

use serde_json::{json, Value};

use super::Report;
use crate::plan::Node;

pub fn write(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    let plans: Vec<Value> = report
        .plans
        .iter()
        .map(|pr| {
            let (format, planning, execution, nodes) = match &pr.plan {
                Some(p) => (
                    json!(p.format),
                    json!(p.planning_ms),
                    json!(p.execution_ms),
                    Value::Array(p.nodes.iter().map(node_json).collect()),
                ),
                None => (Value::Null, Value::Null, Value::Null, json!([])),
            };
            json!({
                "source": pr.source,
                "format": format,
                "planning_ms": planning,
                "execution_ms": execution,
                "nodes": nodes,
                "findings": pr.findings,
                "error": pr.error,
            })
        })
        .collect();
    let doc = json!({ "schema_version": 1, "plans": plans });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

fn node_json(n: &Node) -> Value {
    serde_json::to_value(n).unwrap_or(Value::Null)
}
