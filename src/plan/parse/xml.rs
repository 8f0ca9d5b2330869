//! `FORMAT XML` → the JSON shape read by `json.rs`.
//!
//! PostgreSQL's XML (`explain.c`) is its JSON with different punctuation:
//! - every property is an element whose tag is the JSON name with each character outside
//!   `[A-Za-z0-9._-]` replaced by `-` (`ExplainXMLTag`): `Node Type` → `Node-Type`,
//!   `I/O Read Time` → `I-O-Read-Time`; `One-Time Filter` keeps its own hyphen, so the way back
//!   is `-` → space except for the few names that contain a hyphen or a slash (see [`json_name`]);
//! - a list of strings (`Output`, `Sort Key`, …) holds one `<Item>` per entry;
//! - an array of objects (`Plans`, `Workers`, `Triggers`, …) holds one element per object, named
//!   after the object's kind (`<Plan>`, `<Worker>`, `<Trigger>`);
//! - a nested object (`JIT`, `Planning`, `Settings`, `Serialization`) holds its properties;
//! - the document is `<explain xmlns="http://www.postgresql.org/2009/explain">` holding one
//!   `<Query>` per statement, which becomes one `{"Plan": …}` object of the top-level array.

use serde_json::{Map, Value};

use super::yaml::scalar_value;
use super::LocatedError;

/// Parse XML plan text (psql decorations already removed) into `[{"Plan": …}, …]`.
///
/// Several `<explain>` documents one after another (the output of several EXPLAINs) are read in
/// turn and concatenated.
pub fn parse(text: &str) -> Result<Value, LocatedError> {
    let mut out = Vec::new();
    let mut rest_start = 0;
    while let Some(start) = find_document_start(&text[rest_start..]).map(|s| s + rest_start) {
        let end = match text[start..].find("</explain>") {
            Some(e) => start + e + "</explain>".len(),
            None => text.len(),
        };
        let line_offset = text[..start].matches('\n').count();
        let chunk = &text[start..end];
        parse_document(chunk, line_offset, &mut out)?;
        rest_start = end;
        if end >= text.len() {
            break;
        }
    }
    if out.is_empty() {
        return Err(LocatedError::nowhere(
            "no XML plan found (`<explain xmlns=\"http://www.postgresql.org/2009/explain\">`)",
        ));
    }
    Ok(Value::Array(out))
}

/// Where the next document starts: an XML declaration or the `<explain` element.
fn find_document_start(text: &str) -> Option<usize> {
    let decl = text.find("<?xml");
    let explain = text.find("<explain");
    match (decl, explain) {
        (Some(d), Some(e)) => Some(d.min(e)),
        (d, e) => d.or(e),
    }
}

fn parse_document(
    chunk: &str,
    line_offset: usize,
    out: &mut Vec<Value>,
) -> Result<(), LocatedError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(chunk, opts).map_err(|e| {
        LocatedError::at(
            e.pos().row as usize + line_offset,
            format!("invalid XML: {e}"),
        )
    })?;
    let line_of =
        |node: roxmltree::Node| doc.text_pos_at(node.range().start).row as usize + line_offset;
    let root = doc.root_element();
    match root.tag_name().name() {
        "explain" => {
            for q in root.children().filter(|n| n.is_element()) {
                if q.tag_name().name() != "Query" {
                    return Err(LocatedError::at(
                        line_of(q),
                        format!("expected <Query>, found <{}>", q.tag_name().name()),
                    ));
                }
                out.push(object(q, &line_of)?);
            }
        }
        "Query" => out.push(object(root, &line_of)?),
        other => {
            return Err(LocatedError::at(
                line_of(root),
                format!("expected <explain>, found <{other}>"),
            ))
        }
    }
    Ok(())
}

/// The JSON property name of an XML tag (the inverse of `ExplainXMLTag`).
pub fn json_name(tag: &str) -> String {
    // Names that really contain a hyphen in PostgreSQL's vocabulary.
    const HYPHENATED: &[&str] = &["One-Time Filter", "Full-sort Groups", "Pre-sorted Groups"];
    for name in HYPHENATED {
        if name.replace(' ', "-") == tag {
            return name.to_string();
        }
    }
    let spaced = tag.replace('-', " ");
    // `I/O` is the only slash PostgreSQL prints in a property name (`I/O Read Time`,
    // `Shared I/O Read Time`, `Temp I/O Write Time`, …).
    if spaced.starts_with("I O ") || spaced.contains(" I O ") {
        return spaced.replacen("I O ", "I/O ", 1);
    }
    spaced
}

/// Properties whose value is an array of objects (`ExplainOpenGroup(…, labeled = false)`), each
/// child element being one object.
pub(super) fn is_object_array(name: &str) -> bool {
    matches!(
        name,
        "Plans"
            | "Workers"
            | "Triggers"
            | "Grouping Sets"
            | "Group Keys"
            | "Hash Keys"
            | "Target Tables"
    )
}

/// Properties printed by `ExplainPropertyList`: `<Item>` children, possibly none.
pub(super) fn is_string_list(name: &str) -> bool {
    matches!(
        name,
        "Output"
            | "Sort Key"
            | "Presorted Key"
            | "Group Key"
            | "Hash Key"
            | "Sort Methods Used"
            | "Sampling Parameters"
            | "Conflict Arbiter Indexes"
            | "Function Call"
    )
}

/// Settings keep their names: they are GUC names, not EXPLAIN labels (`enable_seqscan`).
fn is_verbatim_object(name: &str) -> bool {
    name == "Settings"
}

type LineOf<'a> = dyn Fn(roxmltree::Node) -> usize + 'a;

/// The text of an element without child elements (entities already decoded by roxmltree).
fn text_of(node: roxmltree::Node) -> String {
    let mut s = String::new();
    for c in node.children() {
        if let Some(t) = c.text() {
            s.push_str(t);
        }
    }
    s
}

fn elements<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(|n| n.is_element())
}

/// An element holding properties → a JSON object.
fn object(node: roxmltree::Node, line_of: &LineOf) -> Result<Value, LocatedError> {
    let verbatim = is_verbatim_object(&json_name(node.tag_name().name()));
    let mut map = Map::new();
    for child in elements(node) {
        let tag = child.tag_name().name();
        let key = if verbatim {
            tag.to_string()
        } else {
            json_name(tag)
        };
        let value = value(child, &key, line_of)?;
        map.insert(key, value);
    }
    // Name the line of a plan node or a query that json.rs would reject without one.
    match node.tag_name().name() {
        "Plan" if !map.contains_key("Node Type") => Err(LocatedError::at(
            line_of(node),
            "a <Plan> without <Node-Type>",
        )),
        "Query" if !map.contains_key("Plan") => {
            Err(LocatedError::at(line_of(node), "a <Query> without <Plan>"))
        }
        _ => Ok(Value::Object(map)),
    }
}

/// The value of the property element `node` named `key`.
fn value(node: roxmltree::Node, key: &str, line_of: &LineOf) -> Result<Value, LocatedError> {
    let kids: Vec<_> = elements(node).collect();
    if is_object_array(key) {
        let mut items = Vec::with_capacity(kids.len());
        for k in kids {
            items.push(if key == "Group Keys" || key == "Hash Keys" {
                // Grouping sets: each entry is a list of keys.
                string_list(k)
            } else {
                object(k, line_of)?
            });
        }
        return Ok(Value::Array(items));
    }
    if is_string_list(key)
        || (!kids.is_empty() && kids.iter().all(|k| k.tag_name().name() == "Item"))
    {
        if kids.is_empty() && !text_of(node).trim().is_empty() {
            // A list printed as one string (not PostgreSQL, but harmless): keep it.
            return Ok(scalar_value(Some(key), &text_of(node), false));
        }
        return Ok(string_list(node));
    }
    if !kids.is_empty() {
        return object(node, line_of);
    }
    let text = text_of(node);
    // An empty group PostgreSQL may print with a line break inside (`<Triggers>\n</Triggers>`).
    if text.trim().is_empty() && text.contains('\n') {
        return Ok(Value::Null);
    }
    Ok(scalar_value(Some(key), &text, false))
}

fn string_list(node: roxmltree::Node) -> Value {
    Value::Array(elements(node).map(|i| Value::String(text_of(i))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_tags_back_to_json_names() {
        assert_eq!(json_name("Node-Type"), "Node Type");
        assert_eq!(json_name("I-O-Read-Time"), "I/O Read Time");
        assert_eq!(json_name("Shared-I-O-Write-Time"), "Shared I/O Write Time");
        assert_eq!(json_name("Temp-I-O-Read-Time"), "Temp I/O Read Time");
        assert_eq!(json_name("One-Time-Filter"), "One-Time Filter");
        assert_eq!(
            json_name("Rows-Removed-by-Filter"),
            "Rows Removed by Filter"
        );
        assert_eq!(json_name("TID-Cond"), "TID Cond");
        assert_eq!(json_name("Full-sort-Groups"), "Full-sort Groups");
        assert_eq!(json_name("WAL-FPI"), "WAL FPI");
    }

    #[test]
    fn reads_nested_plans_lists_workers_and_groups() {
        let xml = r#"<explain xmlns="http://www.postgresql.org/2009/explain">
  <Query>
    <Plan>
      <Node-Type>Gather</Node-Type>
      <Output>
        <Item>a</Item>
        <Item>(b &gt; 1)</Item>
      </Output>
      <One-Time-Filter>false</One-Time-Filter>
      <Plans>
        <Plan>
          <Node-Type>Seq Scan</Node-Type>
          <Alias>on</Alias>
          <Actual-Rows>2.50</Actual-Rows>
          <I-O-Read-Time>1.5</I-O-Read-Time>
          <Workers>
            <Worker>
              <Worker-Number>0</Worker-Number>
            </Worker>
          </Workers>
        </Plan>
      </Plans>
    </Plan>
    <Settings>
      <work_mem>64MB</work_mem>
    </Settings>
    <Triggers>
    </Triggers>
    <JIT>
      <Functions>3</Functions>
      <Options>
        <Inlining>false</Inlining>
      </Options>
    </JIT>
  </Query>
</explain>"#;
        let v = parse(xml).unwrap();
        assert_eq!(
            v,
            json!([{
                "Plan": {
                    "Node Type": "Gather",
                    "Output": ["a", "(b > 1)"],
                    "One-Time Filter": "false",
                    "Plans": [{
                        "Node Type": "Seq Scan", "Alias": "on", "Actual Rows": 2.5,
                        "I/O Read Time": 1.5,
                        "Workers": [{"Worker Number": 0}]
                    }]
                },
                "Settings": {"work_mem": "64MB"},
                "Triggers": [],
                "JIT": {"Functions": 3, "Options": {"Inlining": false}}
            }])
        );
    }

    #[test]
    fn errors_carry_the_line() {
        let e = parse("<explain>\n  <Query>\n    <Plan>\n      <Node-Type>Limit</Node-Typo>\n")
            .unwrap_err();
        assert_eq!(e.line, Some(4), "{e:?}");
        // After a prelude the line is still the line of the whole text.
        let e = parse("junk\n<explain>\n<Query>\n<Plan>\n</Query>\n</explain>\n").unwrap_err();
        assert_eq!(e.line, Some(5), "{e:?}");
        assert!(parse("no xml here")
            .unwrap_err()
            .message
            .contains("no XML plan"));
    }

    #[test]
    fn a_plan_without_a_type_is_named_by_its_line() {
        let xml = "<explain>\n<Query>\n<Plan>\n<Node-Type>Limit</Node-Type>\n<Plans>\n<Plan>\n<Plan-Rows>1</Plan-Rows>\n</Plan>\n</Plans>\n</Plan>\n</Query>\n</explain>\n";
        let e = parse(xml).unwrap_err();
        assert_eq!(e.line, Some(6), "{e:?}");
        let e = parse("<explain>\n<Query>\n<Planning-Time>1</Planning-Time>\n</Query>\n</explain>")
            .unwrap_err();
        assert_eq!(e.line, Some(2), "{e:?}");
    }

    #[test]
    fn several_documents() {
        let one = "<explain><Query><Plan><Node-Type>Result</Node-Type></Plan></Query></explain>\n";
        let v = parse(&format!("{one}{one}")).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
    }
}

/// Every JSON fixture printed as PostgreSQL prints XML (`ExplainXMLTag` and friends) must give the
/// same model as the JSON itself: every property name, list, group and array of the corpus.
#[cfg(test)]
pub(super) mod round_trip {
    use serde_json::Value;

    fn tag(key: &str) -> String {
        key.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }

    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }

    fn scalar(v: &Value) -> String {
        match v {
            Value::String(s) => esc(s),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    fn prop(out: &mut String, key: &str, v: &Value, ind: usize) {
        let pad = "  ".repeat(ind);
        let t = tag(key);
        match v {
            Value::Object(m) => {
                out.push_str(&format!("{pad}<{t}>\n"));
                for (k, x) in m {
                    prop(out, k, x, ind + 1);
                }
                out.push_str(&format!("{pad}</{t}>\n"));
            }
            Value::Array(items) => {
                let member = match key {
                    "Plans" => Some("Plan"),
                    "Workers" => Some("Worker"),
                    "Triggers" => Some("Trigger"),
                    _ => None,
                };
                out.push_str(&format!("{pad}<{t}>\n"));
                for it in items {
                    match (member, it) {
                        (Some(m), Value::Object(o)) => {
                            out.push_str(&format!("{pad}  <{m}>\n"));
                            for (k, x) in o {
                                prop(out, k, x, ind + 2);
                            }
                            out.push_str(&format!("{pad}  </{m}>\n"));
                        }
                        _ => out.push_str(&format!("{pad}  <Item>{}</Item>\n", scalar(it))),
                    }
                }
                out.push_str(&format!("{pad}</{t}>\n"));
            }
            _ => out.push_str(&format!("{pad}<{t}>{}</{t}>\n", scalar(v))),
        }
    }

    pub(crate) fn to_xml(doc: &Value) -> String {
        let mut out = String::from("<explain xmlns=\"http://www.postgresql.org/2009/explain\">\n");
        for q in doc.as_array().unwrap() {
            out.push_str("  <Query>\n");
            for (k, v) in q.as_object().unwrap() {
                prop(&mut out, k, v, 2);
            }
            out.push_str("  </Query>\n");
        }
        out.push_str("</explain>\n");
        out
    }

    /// The model as a comparable value, without what legitimately differs between formats.
    pub(crate) fn model(plans: &[crate::plan::model::Plan]) -> Value {
        let mut v = serde_json::to_value(plans).unwrap();
        for p in v.as_array_mut().unwrap() {
            let o = p.as_object_mut().unwrap();
            o.remove("format");
            o.remove("source");
            o.remove("line");
            // The readers build a serde_json::Map, which (without serde_json's `preserve_order`)
            // sorts keys: settings and unmodelled keys may come in another order.
            sort_pairs(o.get_mut("settings"));
            sort_pairs(o.get_mut("extra"));
            for n in o
                .get_mut("nodes")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                sort_pairs(n.get_mut("extra"));
            }
        }
        v
    }

    fn sort_pairs(v: Option<&mut Value>) {
        if let Some(Value::Array(a)) = v {
            a.sort_by_key(|x| x[0].to_string());
        }
    }

    pub(crate) fn fixtures() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans/generated");
        let mut out = Vec::new();
        for sub in std::fs::read_dir(&dir).unwrap().flatten() {
            if !sub.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
                let p = f.path();
                if p.extension().is_some_and(|e| e == "json") {
                    out.push((
                        p.display().to_string(),
                        std::fs::read_to_string(&p).unwrap(),
                    ));
                }
            }
        }
        out.sort();
        out
    }

    /// Every JSON fixture, printed in another format by `render`, must read as the same model.
    pub(crate) fn assert_every_fixture_reads_like_json(
        format: &str,
        render: impl Fn(&Value) -> String,
    ) {
        let files = fixtures();
        assert!(files.len() > 50);
        for (name, text) in files {
            let doc: Value = serde_json::from_str(&text).unwrap();
            let other = render(&doc);
            let from_json = crate::plan::parse_source(&name, &text).unwrap();
            let from_other =
                crate::plan::parse_source(&name, &other).unwrap_or_else(|e| panic!("{e}\n{other}"));
            assert_eq!(from_other[0].format, format);
            let (a, b) = (model(&from_json), model(&from_other));
            if a != b {
                let (a, b) = (a.to_string(), b.to_string());
                let at = a
                    .bytes()
                    .zip(b.bytes())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                panic!(
                    "{name}: {format} model differs at byte {at}:\n json: …{}\n {format}: …{}",
                    &a[at.saturating_sub(200)..(at + 200).min(a.len())],
                    &b[at.saturating_sub(200)..(at + 200).min(b.len())]
                );
            }
        }
    }

    #[test]
    fn every_json_fixture_reads_the_same_as_xml() {
        assert_every_fixture_reads_like_json("xml", to_xml);
    }
}
