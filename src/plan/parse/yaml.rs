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
                Some(Frame::Map { map, line, .. }) => self.insert(Value::Object(map), line),
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
                "Triggers": null,
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
    fn a_scalar_document_is_not_a_plan() {
        let e = parse("hello\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
