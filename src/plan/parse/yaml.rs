//! `FORMAT YAML` → the JSON shape read by `json.rs`.
//!
//! PostgreSQL prints YAML the way it prints JSON, one property per line: strings double-quoted
//! (`escape_yaml` is `escape_json`), numbers and booleans plain, lists as `- item` sequences, and
//! an empty group (`Triggers:` on PG 9.0–9.x) as an empty value. We read it with yaml-rust2's
//! event parser rather than its typed loader, so that a scalar's text reaches `json.rs` exactly as
//! printed: a quoted scalar is always a string (`Alias: "on"`, `Filter: "(a = 1)"`), and only a
//! plain scalar may become a number, boolean or null (see [`scalar_value`]).

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::LocatedError;

/// Parse YAML plan text (psql decorations already removed) into `[{"Plan": …}, …]`.
///
/// Several YAML documents in one input (`---` separated) are concatenated into one array.
pub fn parse(text: &str) -> Result<Value, LocatedError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut builder, true).map_err(|e| {
        LocatedError::at(
            e.marker().line().max(1),
            format!("invalid YAML: {}", e.info()),
        )
    })?;
    if let Some(e) = builder.error {
        return Err(e);
    }
    let mut out = Vec::new();
    for (line, doc) in builder.docs {
        match doc {
            Value::Array(items) => {
                for item in items {
                    if !item.is_object() {
                        return Err(LocatedError::at(
                            line,
                            "expected a list of EXPLAIN results (`- Plan:`)",
                        ));
                    }
                    out.push(item);
                }
            }
            Value::Object(_) => out.push(doc),
            Value::Null => {}
            _ => {
                return Err(LocatedError::at(
                    line,
                    "expected an EXPLAIN (FORMAT YAML) result starting with `- Plan:`",
                ))
            }
        }
    }
    if out.is_empty() {
        return Err(LocatedError::nowhere("no YAML plan found (`- Plan:`)"));
    }
    Ok(Value::Array(out))
}

/// Keys whose values are text even when they look like numbers or booleans: names, conditions,
/// expressions. PostgreSQL quotes them, but hand-edited YAML may not.
pub(super) fn is_text_key(key: &str) -> bool {
    matches!(
        key,
        "Node Type"
            | "Parent Relationship"
            | "Subplan Name"
            | "Custom Plan Provider"
            | "Strategy"
            | "Partial Mode"
            | "Operation"
            | "Join Type"
            | "Scan Direction"
            | "Index Name"
            | "Relation Name"
            | "Schema"
            | "Alias"
            | "CTE Name"
            | "Function Name"
            | "Table Function Name"
            | "Output"
            | "Filter"
            | "Index Cond"
            | "Recheck Cond"
            | "Hash Cond"
            | "Merge Cond"
            | "Join Filter"
            | "One-Time Filter"
            | "TID Cond"
            | "Order By"
            | "Run Condition"
            | "Sort Key"
            | "Presorted Key"
            | "Group Key"
            | "Hash Key"
            | "Cache Key"
            | "Sort Method"
            | "Sort Space Type"
            | "Query Text"
            | "Query Identifier"
            | "Trigger Name"
            | "Constraint Name"
            | "Relation"
            | "Remote SQL"
            | "Conflict Filter"
            | "Conflict Arbiter Indexes"
            | "Sampling Method"
            | "Sampling Parameters"
            | "Repeatable Seed"
            | "Function Call"
            | "Table Function Call"
            | "Storage"
            | "Format"
    )
}

/// The JSON value of a scalar printed as `text`. Quoted scalars are strings. A plain scalar is a
/// number when it is a JSON number, a boolean when `true`/`false`, null when empty or `~`/`null`,
/// and otherwise a string; under a text key (see [`is_text_key`]) it stays a string whatever it
/// looks like. Numbers keep their printed digits (`float_roundtrip`), and `json.rs` reads
/// numeric strings too, so nothing is lost either way.
pub(super) fn scalar_value(key: Option<&str>, text: &str, quoted: bool) -> Value {
    if quoted || key.is_some_and(is_text_key) {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if text
        .bytes()
        .next()
        .is_some_and(|b| b == b'-' || b.is_ascii_digit())
    {
        if let Ok(n) = text.parse::<serde_json::Number>() {
            return Value::Number(n);
        }
    }
    Value::String(text.to_string())
}

/// A container being built, with the line it started on.
enum Frame {
    Map {
        map: Map<String, Value>,
        key: Option<String>,
        line: usize,
    },
    Seq {
        items: Vec<Value>,
        line: usize,
    },
}

enum Role {
    Query,
    Node,
    Other,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    /// Finished documents with the line each started on.
    docs: Vec<(usize, Value)>,
    /// Root value of the document being read.
    root: Option<(usize, Value)>,
    error: Option<LocatedError>,
}

impl Builder {
    /// The key the next value belongs to (the enclosing map's pending key, or the key of the map
    /// holding the enclosing sequence: list items of `Output` are text too).
    fn context_key(&self) -> Option<&str> {
        match self.stack.last()? {
            Frame::Map { key, .. } => key.as_deref(),
            Frame::Seq { .. } => match self.stack.iter().rev().nth(1)? {
                Frame::Map { key, .. } => key.as_deref(),
                Frame::Seq { .. } => None,
            },
        }
    }

    /// Put a finished value into the enclosing container (or make it the document root).
    fn insert(&mut self, value: Value, line: usize) {
        match self.stack.last_mut() {
            None => self.root = Some((line, value)),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                Some(k) => {
                    // PostgreSQL prints an empty array (`Workers`, `Triggers`, …) as an empty
                    // value, which YAML reads as null.
                    let value = if value.is_null()
                        && (super::xml::is_object_array(&k) || super::xml::is_string_list(&k))
                    {
                        Value::Array(Vec::new())
                    } else {
                        value
                    };
                    map.insert(k, value);
                }
                None => {
                    // A key: PostgreSQL's keys are plain strings; anything else is not a plan.
                    let k = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => String::new(),
                        _ => {
                            self.fail(line, "a property name must be a plain string");
                            return;
                        }
                    };
                    *key = Some(k);
                }
            },
        }
    }

    /// What the mapping just closed is, from its place on the stack.
    fn role(&self) -> Role {
        let n = self.stack.len();
        match self.stack.last() {
            None => Role::Query,
            Some(Frame::Map { key, .. }) if key.as_deref() == Some("Plan") => Role::Node,
            Some(Frame::Seq { .. }) if n == 1 => Role::Query,
            Some(Frame::Seq { .. }) => match &self.stack[n - 2] {
                Frame::Map { key, .. } if key.as_deref() == Some("Plans") => Role::Node,
                _ => Role::Other,
            },
            _ => Role::Other,
        }
    }

    fn fail(&mut self, line: usize, msg: &str) {
        if self.error.is_none() {
            self.error = Some(LocatedError::at(line, msg));
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = mark.line().max(1);
        match ev {
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                map: Map::new(),
                key: None,
                line,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq {
                items: Vec::new(),
                line,
            }),
            Event::MappingEnd | Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Map { map, line, .. }) => {
                    // Name the line of a plan node or a query that json.rs would reject
                    // without one.
                    match self.role() {
                        Role::Node if !map.contains_key("Node Type") => {
                            self.fail(line, "a plan node without `Node Type`")
                        }
                        Role::Query if !map.contains_key("Plan") => {
                            self.fail(line, "an EXPLAIN result without `Plan`")
                        }
                        _ => {}
                    }
                    self.insert(Value::Object(map), line)
                }
                Some(Frame::Seq { items, line }) => self.insert(Value::Array(items), line),
                None => self.fail(line, "unbalanced YAML structure"),
            },
            Event::Scalar(text, style, _, _) => {
                let is_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
                let value = if is_key {
                    Value::String(text)
                } else {
                    let quoted = style != TScalarStyle::Plain;
                    scalar_value(self.context_key(), &text, quoted)
                };
                self.insert(value, line);
            }
            Event::Alias(_) => self.fail(line, "YAML aliases do not occur in EXPLAIN output"),
            Event::DocumentEnd => {
                if let Some(doc) = self.root.take() {
                    self.docs.push(doc);
                }
            }
            Event::StreamEnd => {
                if let Some(doc) = self.root.take() {
                    self.docs.push(doc);
                }
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_a_plan_with_children_and_lists() {
        let v = parse(
            "- Plan:\n    Node Type: \"Sort\"\n    Plan Rows: 10\n    Actual Rows: 2.50\n    Sort Key:\n      - \"a\"\n      - \"1\"\n    Plans:\n      - Node Type: \"Seq Scan\"\n        Alias: \"on\"\n        Parallel Aware: false\n  Triggers:\n  Planning Time: 0.5\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!([{
                "Plan": {
                    "Node Type": "Sort", "Plan Rows": 10, "Actual Rows": 2.5,
                    "Sort Key": ["a", "1"],
                    "Plans": [{"Node Type": "Seq Scan", "Alias": "on", "Parallel Aware": false}]
                },
                "Triggers": [],
                "Planning Time": 0.5
            }])
        );
    }

    #[test]
    fn plain_text_under_text_keys_stays_text() {
        let v = parse("- Plan:\n    Node Type: Seq Scan\n    Alias: on\n    Relation Name: 2024\n    Filter: true\n")
            .unwrap();
        let p = &v[0]["Plan"];
        assert_eq!(p["Alias"], json!("on"));
        assert_eq!(p["Relation Name"], json!("2024"));
        assert_eq!(p["Filter"], json!("true"));
    }

    #[test]
    fn errors_carry_the_line() {
        let e = parse("- Plan:\n    Node Type: \"Limit\"\n    Plans: [\n").unwrap_err();
        assert!(e.line.is_some_and(|l| l >= 3), "{e:?}");
        let e = parse("- Plan:\n    Node Type: \"Limit\n    Total Cost: 1\n").unwrap_err();
        assert!(e.line.is_some(), "{e:?}");
    }

    #[test]
    fn several_psql_outputs_and_a_prompt() {
        let block = "$ explain (format yaml) select 1;\n     QUERY PLAN\n-------------------\n - Plan:           +\n     Node Type: \"Result\" +\n     Plan Rows: 1  +\n   Planning Time: 0.01\n(1 row)\n\n";
        let plans = crate::plan::parse_source("two.yaml", &block.repeat(2));
        // The second prompt sits between the documents: it is not YAML, and says so with its line.
        match plans {
            Ok(p) => assert_eq!(p.len(), 2),
            Err(e) => assert_eq!(e.line, Some(10), "{e}"),
        }
        let one = crate::plan::parse_source("one.yaml", block).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].format, "yaml");
        assert_eq!(one[0].line, 4);
        assert_eq!(one[0].nodes[0].plan_rows, Some(1.0));
        let two = block
            .replacen("$ explain (format yaml) select 1;\n", "", 1)
            .repeat(2);
        let plans = crate::plan::parse_source("two.yaml", &two).unwrap();
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].index_in_source, 1);
    }

    #[test]
    fn errors_are_located_in_the_input_file() {
        let text = "     QUERY PLAN\n-------------------\n - Plan:           +\n     Node Type: \"Result\" +\n     Plan Rows: [1  +\n(1 row)\n";
        let e = crate::plan::parse_source("bad.yaml", text).unwrap_err();
        assert!(e.line.is_some_and(|l| (5..=6).contains(&l)), "{e}");
        assert!(e.to_string().contains("yaml"), "{e}");
    }

    #[test]
    fn a_node_without_a_type_is_named_by_its_line() {
        let e = parse("- Plan:\n    Node Type: \"Limit\"\n    Plans:\n      - Plan Rows: 1\n        Total Cost: 2\n")
            .unwrap_err();
        assert_eq!(e.line, Some(4), "{e:?}");
        assert!(e.message.contains("Node Type"), "{e:?}");
        let e = parse("- Planning Time: 1\n").unwrap_err();
        assert_eq!(e.line, Some(1), "{e:?}");
    }

    #[test]
    fn a_scalar_document_is_not_a_plan() {
        let e = parse("hello\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}

/// Every JSON fixture printed as PostgreSQL prints YAML (block style, strings double-quoted with
/// JSON escapes, numbers and booleans plain) must give the same model as the JSON itself.
#[cfg(test)]
mod round_trip {

    use serde_json::Value;

    fn scalar(v: &Value) -> String {
        match v {
            Value::Null => String::new(),
            // escape_yaml is escape_json: a double-quoted JSON string is a valid YAML scalar.
            other => other.to_string(),
        }
    }

    fn object(out: &mut String, m: &serde_json::Map<String, Value>, ind: usize) {
        let pad = " ".repeat(ind);
        for (k, v) in m {
            match v {
                Value::Object(o) => {
                    out.push_str(&format!("{pad}{k}: \n"));
                    object(out, o, ind + 2);
                }
                Value::Array(a) if a.is_empty() => out.push_str(&format!("{pad}{k}: \n")),
                Value::Array(a) => {
                    out.push_str(&format!("{pad}{k}: \n"));
                    seq(out, a, ind + 2);
                }
                _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(v))),
            }
        }
    }

    fn seq(out: &mut String, a: &[Value], ind: usize) {
        let pad = " ".repeat(ind);
        for it in a {
            match it {
                Value::Object(o) => {
                    // PostgreSQL prints `Plan` first (serde_json's map has sorted the keys).
                    let mut o = o.clone();
                    let mut first = serde_json::Map::new();
                    if let Some(p) = o.remove("Plan") {
                        first.insert("Plan".into(), p);
                    }
                    let mut inner = String::new();
                    object(&mut inner, &first, ind + 2);
                    object(&mut inner, &o, ind + 2);
                    // The first property goes on the `- ` line.
                    out.push_str(&format!("{pad}- {}", &inner[ind + 2..]));
                }
                _ => out.push_str(&format!("{pad}- {}\n", scalar(it))),
            }
        }
    }

    #[test]
    fn every_json_fixture_reads_the_same_as_yaml() {
        crate::plan::parse::xml::round_trip::assert_every_fixture_reads_like_json("yaml", |doc| {
            let mut yaml = String::new();
            seq(&mut yaml, doc.as_array().unwrap(), 0);
            yaml
        });
    }
}
