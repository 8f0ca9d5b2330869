//! Text plans (`EXPLAIN` default format) → the JSON shape read by `json.rs`.
//!
//! The output uses PostgreSQL's `FORMAT JSON` vocabulary (see `ExplainNode` in `explain.c`):
//! `Hash Left Join` becomes `"Node Type": "Hash Join", "Join Type": "Left"`, `Buffers: shared
//! hit=3` becomes `"Shared Hit Blocks": 3`, and so on, so that `json.rs` stays the one place that
//! maps property names to the model.
//!
//! How the tree is read: a node line is either the root or starts with `->`; a node's properties,
//! its children's arrows and its subplan labels (`InitPlan 1`, `SubPlan 2`, `CTE x`) are indented
//! deeper than its name. A stack of open frames (nodes, labels, workers, plan-level blocks) is
//! popped while the frame's column is at or right of the new line's, so no recursion is needed.
//! Lines a terminal wrapped (they cannot start a node, a property or a label) are joined to the
//! previous line before anything else.

use std::borrow::Cow;

use super::doc::{Doc, Obj, Text};

use super::json;
use super::psql::{find_byte, split_lines, split_on, Cleaned, FastTrim};
use super::LocatedError;
use crate::plan::model::Plan;

// ----------------------------------------------------------------------------------------------
// Line classification

/// What a line (without its indentation) can be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Blank,
    Arrow,
    Label,
    Worker,
    Trigger,
    Property,
    Node,
    Continuation,
}

fn classify(t: &str) -> Kind {
    // The first byte rules out most kinds before any prefix is compared.
    let Some(&first) = t.as_bytes().first() else {
        return Kind::Blank;
    };
    if first == b'-' && t.starts_with("->") {
        Kind::Arrow
    } else if matches!(first, b'I' | b'S' | b'C') && is_label(t) {
        Kind::Label
    } else if first == b'W' && is_worker(t) {
        Kind::Worker
    } else if first == b'T' && t.starts_with("Trigger ") && t.contains(':') {
        Kind::Trigger
    } else if property_label(t).is_some() {
        Kind::Property
    } else if starts_node(t) {
        Kind::Node
    } else {
        Kind::Continuation
    }
}

/// Whether a line (trimmed) cannot start anything in a text plan, so it continues the previous
/// one (a line the terminal wrapped). Used by the psql cleaner to leave such lines as they are.
pub(crate) fn is_continuation(t: &str) -> bool {
    classify(t) == Kind::Continuation
}

/// `InitPlan 1 (returns $0)`, `InitPlan 2`, `SubPlan 1`, `InitPlan` (8.x), `CTE name`.
fn is_label(t: &str) -> bool {
    for p in ["InitPlan", "SubPlan"] {
        if let Some(rest) = t.strip_prefix(p) {
            if rest.is_empty() {
                return true;
            }
            let Some(rest) = rest.strip_prefix(' ') else {
                return false;
            };
            let d = rest.bytes().take_while(u8::is_ascii_digit).count();
            let after = &rest[d..];
            return d > 0
                && (after.is_empty() || (after.starts_with(" (returns ") && after.ends_with(')')));
        }
    }
    if let Some(rest) = t.strip_prefix("CTE ") {
        return read_name(rest).is_some_and(|(_, r)| r.ftrim().is_empty());
    }
    false
}

fn is_worker(t: &str) -> bool {
    let Some(rest) = t.strip_prefix("Worker ") else {
        return false;
    };
    let d = rest.bytes().take_while(u8::is_ascii_digit).count();
    d > 0 && rest.as_bytes().get(d) == Some(&b':')
}

/// Bytes a property label is made of (`A-Z a-z 0-9`, space, `/`, `-`, `_`): one lookup a byte.
const LABEL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b' ' | b'/' | b'-' | b'_');
        c += 1;
    }
    t
};

/// The label of a `Label: value` line (`Rows Removed by Filter`, `I/O Timings`, `JIT`, …).
fn property_label(t: &str) -> Option<&str> {
    let b = t.as_bytes();
    if !b.first()?.is_ascii_uppercase() {
        return None;
    }
    for (i, &c) in b.iter().enumerate().take(48) {
        if LABEL_BYTE[usize::from(c)] {
            continue;
        }
        if c != b':' {
            return None;
        }
        let next = b.get(i + 1);
        if next.is_none() || next == Some(&b' ') {
            let label = &t[..i];
            if label.ends_with(' ') {
                return None;
            }
            return Some(label);
        }
        return None;
    }
    None
}

/// Whether a line starts with a node name (possibly followed by a wrapped, partial header).
fn starts_node(t: &str) -> bool {
    let name = match find_header_parens(t) {
        Some(p) => &t[..p],
        None => t.split("  (").next().unwrap_or(t),
    };
    parse_node_name(name.ftrim_end()).is_some()
}

// ----------------------------------------------------------------------------------------------
// Node names

/// Node names as `explain.c` prints them in text, with the JSON `Node Type` they stand for.
/// Longest first, so `Index Only Scan` wins over `Index Scan`.
const NODE_NAMES: &[(&str, &str)] = &[
    ("Named Tuplestore Scan", "Named Tuplestore Scan"),
    ("Table Function Scan", "Table Function Scan"),
    ("Bitmap Index Scan", "Bitmap Index Scan"),
    ("Bitmap Heap Scan", "Bitmap Heap Scan"),
    ("Incremental Sort", "Incremental Sort"),
    ("Index Only Scan", "Index Only Scan"),
    ("Recursive Union", "Recursive Union"),
    ("Function Scan", "Function Scan"),
    ("Subquery Scan", "Subquery Scan"),
    ("WorkTable Scan", "WorkTable Scan"),
    ("Tid Range Scan", "Tid Range Scan"),
    ("Foreign Insert", "Foreign Scan"),
    ("Foreign Update", "Foreign Scan"),
    ("Foreign Delete", "Foreign Scan"),
    ("Foreign Scan", "Foreign Scan"),
    ("Custom Scan", "Custom Scan"),
    ("Gather Merge", "Gather Merge"),
    ("Merge Append", "Merge Append"),
    ("Values Scan", "Values Scan"),
    ("Sample Scan", "Sample Scan"),
    ("Nested Loop", "Nested Loop"),
    ("Materialize", "Materialize"),
    ("Index Scan", "Index Scan"),
    ("ProjectSet", "ProjectSet"),
    ("Seq Scan", "Seq Scan"),
    ("CTE Scan", "CTE Scan"),
    ("Tid Scan", "Tid Scan"),
    ("BitmapAnd", "BitmapAnd"),
    ("BitmapOr", "BitmapOr"),
    ("WindowAgg", "WindowAgg"),
    ("LockRows", "LockRows"),
    ("Memoize", "Memoize"),
    ("Result", "Result"),
    ("Append", "Append"),
    ("Unique", "Unique"),
    ("Gather", "Gather"),
    ("Limit", "Limit"),
    ("Group", "Group"),
    ("Sort", "Sort"),
];

const JOIN_TYPES: &[(&str, &str)] = &[
    (" Right Semi Join", "Right Semi"),
    (" Right Anti Join", "Right Anti"),
    (" Left Join", "Left"),
    (" Full Join", "Full"),
    (" Right Join", "Right"),
    (" Semi Join", "Semi"),
    (" Anti Join", "Anti"),
    (" Join", "Inner"),
];

fn s(v: &str) -> Doc {
    Doc::Str(Cow::Owned(v.to_string()))
}

/// One of PostgreSQL's fixed words (no allocation).
fn st(v: &'static str) -> Doc {
    Doc::Str(Cow::Borrowed(v))
}

fn num(v: f64) -> Doc {
    Doc::num(v)
}

/// Split off a word at the start of `t` ending at a space or the end.
fn word_prefix<'a>(t: &'a str, w: &str) -> Option<&'a str> {
    // Most candidates differ in the first byte: say so before comparing the rest.
    if !w.is_empty() && t.as_bytes().first() != w.as_bytes().first() {
        return None;
    }
    let rest = t.strip_prefix(w)?;
    (rest.is_empty() || rest.starts_with(' ')).then_some(rest)
}

/// A string value taken as it is (no second copy when it was already owned).
fn owned(v: Cow<'_, str>) -> Doc {
    Doc::Str(Cow::Owned(v.into_owned()))
}

/// `read_ident` for a name of one part (an index, an alias): `None` when it has several, as
/// when `read_ident` has no answer. Borrowed from the line when nothing is quoted.
fn read_name(t: &str) -> Option<(Cow<'_, str>, &str)> {
    let end = find_byte(t.as_bytes(), b' ').unwrap_or(t.len());
    let word = &t[..end];
    if find_byte(word.as_bytes(), b'"').is_none() {
        if !word.bytes().any(|b| b != b'.') || find_byte(word.as_bytes(), b'.').is_some() {
            return None;
        }
        return Some((Cow::Borrowed(word), &t[end..]));
    }
    let (mut parts, rest) = read_ident(t)?;
    if parts.len() != 1 {
        return None;
    }
    Some((Cow::Owned(parts.pop()?), rest))
}

/// Read one identifier (`name`, `"quoted ""name"""`, `schema.name`), returning its parts
/// unquoted and the rest of the text.
fn read_ident(t: &str) -> Option<(Vec<String>, &str)> {
    // The common case, no quotes up to the first space: parts are slices between dots.
    let end = t.find(' ').unwrap_or(t.len());
    let word = &t[..end];
    if !word.contains('"') {
        if !word.bytes().any(|b| b != b'.') {
            return None;
        }
        return Some((word.split('.').map(str::to_string).collect(), &t[end..]));
    }
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = t.char_indices().peekable();
    let mut end = t.len();
    let mut any = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                any = true;
                let mut closed = false;
                while let Some((_, c2)) = chars.next() {
                    if c2 == '"' {
                        if chars.peek().map(|x| x.1) == Some('"') {
                            chars.next();
                            cur.push('"');
                        } else {
                            closed = true;
                            break;
                        }
                    } else {
                        cur.push(c2);
                    }
                }
                if !closed {
                    return None;
                }
            }
            '.' => {
                parts.push(std::mem::take(&mut cur));
            }
            ' ' => {
                end = i;
                break;
            }
            c => {
                any = true;
                cur.push(c);
            }
        }
    }
    if !any {
        return None;
    }
    parts.push(cur);
    Some((parts, &t[end..]))
}

/// The scan target after ` on `: `[schema.]name [alias]`.
/// A scan target: schema, name and alias, borrowed from the line when nothing was quoted.
type Target<'a> = (Option<Cow<'a, str>>, Cow<'a, str>, Option<Cow<'a, str>>);

fn read_target(t: &str) -> Option<Target<'_>> {
    let t = t.ftrim_start();
    if find_byte(t.as_bytes(), b'"').is_none() {
        // No quotes: the same reading as below, by slicing.
        let end = find_byte(t.as_bytes(), b' ').unwrap_or(t.len());
        let word = &t[..end];
        if !word.bytes().any(|b| b != b'.') {
            return None;
        }
        // `schema.name` or `name`; a second dot is one part too many.
        let (schema, name) = match split_once_byte(word, b'.') {
            Some((_, n)) if find_byte(n.as_bytes(), b'.').is_some() => return None,
            Some((sc, n)) => (Some(sc), n),
            None => (None, word),
        };
        let rest = t[end..].ftrim();
        let alias = if rest.is_empty() {
            None
        } else {
            let e2 = find_byte(rest.as_bytes(), b' ').unwrap_or(rest.len());
            let a = &rest[..e2];
            if !a.bytes().any(|b| b != b'.')
                || find_byte(a.as_bytes(), b'.').is_some()
                || !rest[e2..].ftrim().is_empty()
            {
                return None;
            }
            Some(Cow::Borrowed(a))
        };
        return Some((schema.map(Cow::Borrowed), Cow::Borrowed(name), alias));
    }
    let (mut parts, rest) = read_ident(t)?;
    let name = parts.pop()?;
    let schema = match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => return None,
    };
    let rest = rest.ftrim();
    let alias = if rest.is_empty() {
        None
    } else {
        let (mut a, rest2) = read_ident(rest)?;
        if a.len() != 1 || !rest2.ftrim().is_empty() {
            return None;
        }
        a.pop()
    };
    Some((
        schema.map(Cow::Owned),
        Cow::Owned(name),
        alias.map(Cow::Owned),
    ))
}

/// Parse a node name (the text before the `(cost=…)` groups) into JSON properties.
fn parse_node_name(name: &str) -> Option<Obj> {
    // Room for the header, the usual details and the tree's keys added later.
    let mut m = Obj::with_capacity(18);
    let mut t = name.ftrim();
    let mut parallel = false;
    let mut async_capable = false;
    if let Some(r) = word_prefix(t, "Parallel") {
        parallel = true;
        t = r.ftrim_start();
    }
    if let Some(r) = word_prefix(t, "Async") {
        async_capable = true;
        t = r.ftrim_start();
    }
    let mut partial = None;
    for p in ["Partial", "Finalize"] {
        if let Some(r) = word_prefix(t, p) {
            partial = Some(p);
            t = r.ftrim_start();
        }
    }
    let node_type: &'static str;
    let mut rest: &str;
    // Aggregates and set operations.
    let aggs = [
        ("HashAggregate", "Hashed"),
        ("GroupAggregate", "Sorted"),
        ("MixedAggregate", "Mixed"),
        ("Aggregate", "Plain"),
    ];
    if let Some((r, strat)) = aggs
        .iter()
        .find_map(|(n, st)| word_prefix(t, n).map(|r| (r, *st)))
    {
        node_type = "Aggregate";
        m.insert("Node Type".into(), st(node_type));
        m.insert("Strategy".into(), st(strat));
        m.insert("Partial Mode".into(), st(partial.unwrap_or("Simple")));
        rest = r;
    } else if partial.is_some() {
        return None;
    } else if let Some((r, strat)) = [("HashSetOp", "Hashed"), ("SetOp", "Sorted")]
        .iter()
        .find_map(|(n, st)| word_prefix(t, n).map(|r| (r, *st)))
    {
        node_type = "SetOp";
        m.insert("Node Type".into(), st(node_type));
        m.insert("Strategy".into(), st(strat));
        let cmd = r.ftrim();
        match cmd {
            "Intersect" | "Intersect All" | "Except" | "Except All" => {
                m.insert("Command".into(), s(cmd));
            }
            _ => return None,
        }
        rest = "";
    } else if let Some(r) = word_prefix(t, "Nested Loop") {
        node_type = "Nested Loop";
        m.insert("Node Type".into(), st(node_type));
        let (jt, r2) = if r.is_empty() {
            ("Inner", r)
        } else {
            let (suffix, jt) = JOIN_TYPES.iter().find(|(sfx, _)| r.starts_with(sfx))?;
            (*jt, &r[suffix.len()..])
        };
        m.insert("Join Type".into(), st(jt));
        rest = r2;
    } else if let Some((base, jt, r)) = ["Hash", "Merge"].iter().find_map(|b| {
        let r = t.strip_prefix(b)?;
        let (sfx, jt) = JOIN_TYPES.iter().find(|(sfx, _)| r.starts_with(sfx))?;
        Some((*b, *jt, &r[sfx.len()..]))
    }) {
        node_type = if base == "Hash" {
            "Hash Join"
        } else {
            "Merge Join"
        };
        m.insert("Node Type".into(), st(node_type));
        m.insert("Join Type".into(), st(jt));
        rest = r;
    } else if let Some((op, r)) = ["Insert", "Update", "Delete", "Merge"]
        .iter()
        .find_map(|op| {
            t.strip_prefix(op)
                .and_then(|r| r.strip_prefix(" on "))
                .map(|r| (*op, r))
        })
    {
        node_type = "ModifyTable";
        m.insert("Node Type".into(), st(node_type));
        m.insert("Operation".into(), st(op));
        rest = r;
        let (schema, name, alias) = read_target(rest)?;
        if let Some(sc) = schema {
            m.insert("Schema".into(), s(&sc));
        }
        m.insert("Alias".into(), s(alias.as_deref().unwrap_or(&name)));
        m.insert("Relation Name".into(), s(&name));
        rest = "";
    } else if let Some(r) = word_prefix(t, "Hash") {
        node_type = "Hash";
        m.insert("Node Type".into(), st(node_type));
        rest = r;
    } else {
        let (text_name, nt) = NODE_NAMES
            .iter()
            .find(|(n, _)| word_prefix(t, n).is_some())?;
        node_type = nt;
        m.insert("Node Type".into(), st(nt));
        rest = &t[text_name.len()..];
        if node_type == "Foreign Scan" {
            let op = match *text_name {
                "Foreign Insert" => "Insert",
                "Foreign Update" => "Update",
                "Foreign Delete" => "Delete",
                _ => "Select",
            };
            m.insert("Operation".into(), st(op));
        }
    }
    // Scan details.
    if matches!(node_type, "Index Scan" | "Index Only Scan") {
        let mut dir = "Forward";
        if let Some(r) = word_prefix(rest.ftrim_start(), "Backward") {
            dir = "Backward";
            rest = r;
        }
        m.insert("Scan Direction".into(), st(dir));
        let r = rest.ftrim_start().strip_prefix("using ")?;
        let (idx, r) = read_name(r)?;
        m.insert("Index Name".into(), owned(idx));
        rest = r;
    }
    if node_type == "Custom Scan" {
        if let Some(r) = rest.ftrim_start().strip_prefix('(') {
            let close = r.find(')')?;
            m.insert("Custom Plan Provider".into(), s(&r[..close]));
            rest = &r[close + 1..];
        }
    }
    let rest = rest.ftrim();
    if !rest.is_empty() {
        let target = match rest.strip_prefix("on ") {
            Some(t) => t,
            // 8.x printed `Subquery Scan alias` without `on`.
            None if node_type == "Subquery Scan" => rest,
            None => return None,
        };
        match node_type {
            "Bitmap Index Scan" => {
                let (idx, r) = read_name(target.ftrim_start())?;
                if !r.ftrim().is_empty() {
                    return None;
                }
                m.insert("Index Name".into(), owned(idx));
            }
            "Values Scan" | "Subquery Scan" => {
                let (a, r) = read_name(target.ftrim_start())?;
                if !r.ftrim().is_empty() {
                    return None;
                }
                m.insert("Alias".into(), owned(a));
            }
            _ => {
                let (schema, name, alias) = read_target(target)?;
                let key = match node_type {
                    "Function Scan" => "Function Name",
                    "Table Function Scan" => "Table Function Name",
                    "CTE Scan" | "WorkTable Scan" => "CTE Name",
                    "Named Tuplestore Scan" => "Tuplestore Name",
                    "Seq Scan" | "Sample Scan" | "Index Scan" | "Index Only Scan"
                    | "Bitmap Heap Scan" | "Tid Scan" | "Tid Range Scan" | "Foreign Scan"
                    | "Custom Scan" => "Relation Name",
                    _ => return None,
                };
                m.insert(key.into(), s(&name));
                if let Some(sc) = schema {
                    m.insert("Schema".into(), s(&sc));
                }
                m.insert("Alias".into(), s(alias.as_deref().unwrap_or(&name)));
            }
        }
    } else if matches!(
        node_type,
        "Index Scan" | "Index Only Scan" | "Bitmap Index Scan"
    ) {
        // An index scan always names its table (or, for a bitmap index scan, its index).
        if node_type == "Bitmap Index Scan" {
            return None;
        }
    }
    m.insert("Parallel Aware".into(), Doc::Bool(parallel));
    if async_capable {
        m.insert("Async Capable".into(), Doc::Bool(true));
    }
    Some(m)
}

// ----------------------------------------------------------------------------------------------
// Node header: `(cost=…) (actual …)`

/// Byte offset of the first `(cost=`, `(actual` or `(never executed)` group.
fn find_header_parens(t: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(p) = t.get(from..).and_then(|x| find_byte(x.as_bytes(), b'(')) {
        let at = from + p;
        let r = &t[at..];
        if r.starts_with("(cost=") || r.starts_with("(actual ") || r.starts_with("(never executed)")
        {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// A number at the start of `t` (`12`, `0.5`, `1e+06`, `-3`), and the rest.
#[inline]
fn lead_num(t: &str) -> Option<(f64, &str)> {
    // The usual figure (unsigned, at most one dot, no exponent, at most 15 digits) in one pass,
    // exact (the digits make an integer below 2^53 and the power of ten is exact, so one
    // division rounds correctly); anything else is read by `lead_num_general`.
    let b = t.as_bytes();
    let mut mant: u64 = 0;
    let mut digits = 0;
    let mut frac: Option<usize> = None;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c.is_ascii_digit() {
            if digits == 15 {
                return lead_num_general(t);
            }
            mant = mant * 10 + u64::from(c - b'0');
            digits += 1;
            if let Some(f) = frac.as_mut() {
                *f += 1;
            }
        } else if c == b'.' {
            // Stop before `..` (the range separator in `0.00..1.00`).
            if b.get(i + 1) == Some(&b'.') {
                break;
            }
            if frac.is_some() {
                return lead_num_general(t);
            }
            frac = Some(0);
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 || matches!(b.get(i), Some(b'e' | b'E')) {
        return lead_num_general(t);
    }
    // At most 15 digits and 15 decimals: always exact. `i` follows ASCII bytes only, so it is a
    // char boundary.
    match super::decimal::exact(mant, -(frac.unwrap_or(0) as i64)) {
        Some(value) => Some((value, &t[i..])),
        None => lead_num_general(t),
    }
}

/// `lead_num` for any figure: signs, exponents, long mantissas.
#[cold]
fn lead_num_general(t: &str) -> Option<(f64, &str)> {
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let start_digits = i;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
        // Stop before `..` (the range separator in `0.00..1.00`).
        if b[i] == b'.' && b.get(i + 1) == Some(&b'.') {
            break;
        }
        i += 1;
    }
    if i == start_digits {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    // `lead_num` has read every figure the exact fast path can: what comes here needs std's.
    let v = t[..i].parse().ok()?;
    Some((v, &t[i..]))
}

/// `key=` in a header group, tolerant of the space lost when a terminal wrapped the line there.
fn group_value<'a>(g: &'a str, key: &str) -> Option<&'a str> {
    // A byte scan: groups are short, and a substring searcher costs more to set up.
    let b = g.as_bytes();
    let k = key.as_bytes();
    let first = *k.first()?;
    let mut at = 0;
    while at + k.len() <= b.len() {
        if b[at] == first
            && &b[at..at + k.len()] == k
            && (at == 0 || b[at - 1] == b' ' || b[at - 1].is_ascii_digit())
        {
            // `key` is ASCII, so `at + k.len()` is a char boundary.
            return g.get(at + k.len()..);
        }
        at += 1;
    }
    None
}

fn range_of(g: &str, key: &str) -> Option<(f64, f64)> {
    range_at(group_value(g, key)?)
}

/// `A..B` at the start of `r`.
fn range_at(r: &str) -> Option<(f64, f64)> {
    let (a, r) = lead_num(r)?;
    let r = r.strip_prefix("..")?;
    let (b, _) = lead_num(r)?;
    Some((a, b))
}

fn num_of(g: &str, key: &str) -> Option<f64> {
    lead_num(group_value(g, key)?).map(|x| x.0)
}

/// Parse the header groups into `m`; `Err` names what was expected.
fn parse_header_groups(mut t: &str, m: &mut Obj) -> Result<(), String> {
    loop {
        t = t.ftrim_start();
        if t.is_empty() {
            return Ok(());
        }
        let Some(after_open) = t.strip_prefix('(') else {
            return Err(format!(
                "expected '(cost=…)' or '(actual …)', found \"{}\"",
                clip(t)
            ));
        };
        let Some(close) = find_byte(after_open.as_bytes(), b')') else {
            return Err(format!("expected ')' closing \"{}\"", clip(t)));
        };
        let g = &after_open[..close];
        let inner_end = close + 1;
        if let Some([a, b, rows, width]) = g
            .strip_prefix("cost=")
            .and_then(|gc| canonical_group(gc, " rows=", " width="))
        {
            m.insert("Startup Cost".into(), num(a));
            m.insert("Total Cost".into(), num(b));
            m.insert("Plan Rows".into(), num(rows));
            m.insert("Plan Width".into(), num(width));
        } else if let Some(gc) = g.strip_prefix("cost=") {
            let (a, b) = range_of(g, "cost=").ok_or_else(|| bad_group(g))?;
            let rows = num_of(gc, "rows=").ok_or_else(|| bad_group(g))?;
            let width = num_of(gc, "width=").ok_or_else(|| bad_group(g))?;
            m.insert("Startup Cost".into(), num(a));
            m.insert("Total Cost".into(), num(b));
            m.insert("Plan Rows".into(), num(rows));
            m.insert("Plan Width".into(), num(width));
        } else if g == "never executed" {
            m.insert("Actual Startup Time".into(), num(0.0));
            m.insert("Actual Total Time".into(), num(0.0));
            m.insert("Actual Rows".into(), num(0.0));
            m.insert("Actual Loops".into(), num(0.0));
        } else if let Some(ga) = g.strip_prefix("actual") {
            parse_actuals(ga, m).ok_or_else(|| bad_group(g))?;
        } else {
            return Err(bad_group(g));
        }
        t = &t[inner_end + 1..];
    }
}

/// `A..B<k1>N<k2>M` and nothing more, read left to right in one pass: the form PostgreSQL prints
/// (`0.00..1.00 rows=10 width=4`). `None` for anything else; the general reading (which looks
/// each key up anywhere in the group) then runs, and gives the same figures on this form.
fn canonical_group(g: &str, k1: &str, k2: &str) -> Option<[f64; 4]> {
    let (a, r) = lead_num(g)?;
    let (b, r) = lead_num(r.strip_prefix("..")?)?;
    let (n, r) = lead_num(r.strip_prefix(k1)?)?;
    let (l, r) = lead_num(r.strip_prefix(k2)?)?;
    r.is_empty().then_some([a, b, n, l])
}

/// `time=a..b rows=r loops=l` or `rows=r loops=l` (TIMING OFF).
fn parse_actuals(g: &str, m: &mut Obj) -> Option<()> {
    // The usual form first, in one pass (see `canonical_group`).
    if let Some([a, b, rows, loops]) = g
        .strip_prefix(" time=")
        .and_then(|r| canonical_group(r, " rows=", " loops="))
    {
        m.insert("Actual Startup Time".into(), num(a));
        m.insert("Actual Total Time".into(), num(b));
        m.insert("Actual Rows".into(), num(rows));
        m.insert("Actual Loops".into(), num(loops));
        return Some(());
    }
    if let Some(r) = group_value(g, "time=") {
        let (a, b) = range_at(r)?;
        m.insert("Actual Startup Time".into(), num(a));
        m.insert("Actual Total Time".into(), num(b));
    }
    let rows = num_of(g, "rows=")?;
    let loops = num_of(g, "loops=")?;
    m.insert("Actual Rows".into(), num(rows));
    m.insert("Actual Loops".into(), num(loops));
    Some(())
}

fn bad_group(g: &str) -> String {
    format!(
        "expected '(cost=A..B rows=N width=W)', '(actual time=A..B rows=N loops=L)' or '(never executed)', found \"({})\"",
        clip(g)
    )
}

fn clip(t: &str) -> String {
    let mut out: String = t.chars().take(60).collect();
    if out.len() < t.len() {
        out.push('…');
    }
    out
}

/// A whole node line (after `->`): name and header groups.
fn parse_node_line(t: &str) -> Result<Obj, String> {
    let (name, groups) = match find_header_parens(t) {
        Some(p) => (&t[..p], &t[p..]),
        None => (t, ""),
    };
    let mut m = parse_node_name(name.ftrim_end())
        .ok_or_else(|| format!("expected a plan node, found \"{}\"", clip(t)))?;
    parse_header_groups(groups, &mut m)?;
    Some(()).map(|_| m).ok_or_else(String::new)
}

// ----------------------------------------------------------------------------------------------
// Properties

/// Split a list (`Sort Key: a, (b + c), d`) on top-level commas.
fn split_list(v: &str) -> Vec<Doc> {
    let mut out = Vec::new();
    let mut depth: i32 = 0;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let bytes = v.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                    out.push(s(v[start..i].ftrim()));
                    start = i + 2;
                    i += 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    let last = v.get(start..).unwrap_or("").ftrim();
    if !last.is_empty() || out.is_empty() {
        out.push(s(last));
    }
    out
}

/// `1234kB` → 1234.
fn kb(v: &str) -> Option<f64> {
    let v = v.ftrim();
    let v = v.strip_suffix("kB").unwrap_or(v);
    lead_num(v).filter(|(_, r)| r.is_empty()).map(|x| x.0)
}

fn ms(v: &str) -> Option<f64> {
    let v = v.ftrim();
    let v = v.strip_suffix("ms").unwrap_or(v).ftrim_end();
    lead_num(v).filter(|(_, r)| r.is_empty()).map(|x| x.0)
}

/// A plain number, or the text as a string.
fn num_or_str(v: &str) -> Doc {
    match lead_num(v.ftrim()) {
        Some((n, "")) => num(n),
        _ => s(v.ftrim()),
    }
}

/// `Label: value  Label2: value2` (two spaces between pairs, as explain.c prints them).
fn pairs(t: &str) -> impl Iterator<Item = (&str, &str)> {
    split_two_spaces(t)
        .filter(|x| !x.ftrim().is_empty())
        .filter_map(|x| {
            let (k, v) = split_once_byte(x, b':')?;
            Some((k.ftrim(), v.ftrim()))
        })
}

/// `t.split("  ")`, with `find_byte` (a substring searcher costs more to set up than the
/// search, on these short lines).
fn split_two_spaces(t: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(t);
    std::iter::from_fn(move || {
        let r = rest?;
        let b = r.as_bytes();
        let mut from = 0;
        while let Some(i) = find_byte(&b[from..], b' ').map(|i| from + i) {
            if b.get(i + 1) == Some(&b' ') {
                // Spaces are ASCII: `i` and `i + 2` are char boundaries.
                rest = Some(&r[i + 2..]);
                return Some(&r[..i]);
            }
            from = i + 1;
        }
        rest = None;
        Some(r)
    })
}

/// `s.split_once(sep)` for an ASCII `sep`, searching with `find_byte`.
fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    // `sep` is ASCII: `i` and `i + 1` are char boundaries.
    find_byte(s.as_bytes(), sep).map(|i| (&s[..i], &s[i + 1..]))
}

/// `key=value key2=value2` → pairs (used by Buffers, I/O Timings, WAL, Heap Blocks).
fn eq_pairs(t: &str) -> EqPairs<'_> {
    if t.is_ascii() {
        EqPairs::Ascii(t)
    } else {
        EqPairs::General(t.split_whitespace())
    }
}

/// The words of `split_whitespace` that hold a `=`, split at the first one; ASCII text is cut
/// byte by byte (the same words: ASCII's whitespace characters are all ASCII).
enum EqPairs<'a> {
    Ascii(&'a str),
    General(std::str::SplitWhitespace<'a>),
}

impl<'a> Iterator for EqPairs<'a> {
    type Item = (&'a str, &'a str);
    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        // `char::is_whitespace` on ASCII: `\t`, `\n`, `\x0B`, `\x0C`, `\r` and the space.
        let space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        match self {
            EqPairs::General(words) => words.find_map(|x| x.split_once('=')),
            EqPairs::Ascii(rest) => loop {
                let b = rest.as_bytes();
                let Some(start) = b.iter().position(|c| !space(c)) else {
                    *rest = "";
                    return None;
                };
                let end = b[start..]
                    .iter()
                    .position(space)
                    .map_or(b.len(), |e| start + e);
                // The text is ASCII: every offset is a char boundary.
                let word = &rest[start..end];
                *rest = &rest[end..];
                if let Some(eq) = find_byte(word.as_bytes(), b'=') {
                    return Some((&word[..eq], &word[eq + 1..]));
                }
            },
        }
    }
}

fn buffers(v: &str, m: &mut Obj) -> Result<(), String> {
    for seg in split_on(v, b',') {
        let seg = seg.ftrim();
        let (kind, rest) = split_once_byte(seg, b' ').ok_or_else(|| {
            format!(
                "expected 'shared|local|temp key=N', found \"{}\"",
                clip(seg)
            )
        })?;
        // `{Shared|Local|Temp} {Hit|Read|Dirtied|Written} Blocks`, spelled out: no allocation.
        let keys: [&'static str; 4] = match kind {
            "shared" => [
                "Shared Hit Blocks",
                "Shared Read Blocks",
                "Shared Dirtied Blocks",
                "Shared Written Blocks",
            ],
            "local" => [
                "Local Hit Blocks",
                "Local Read Blocks",
                "Local Dirtied Blocks",
                "Local Written Blocks",
            ],
            "temp" => [
                "Temp Hit Blocks",
                "Temp Read Blocks",
                "Temp Dirtied Blocks",
                "Temp Written Blocks",
            ],
            _ => {
                return Err(format!(
                    "expected 'shared', 'local' or 'temp', found \"{kind}\""
                ))
            }
        };
        for (k, n) in eq_pairs(rest) {
            let key = match k {
                "hit" => keys[0],
                "read" => keys[1],
                "dirtied" => keys[2],
                "written" => keys[3],
                _ => return Err(format!("expected hit/read/dirtied/written, found \"{k}\"")),
            };
            let (n, _) = lead_num(n).ok_or_else(|| format!("expected a number, found \"{n}\""))?;
            m.insert(Cow::Borrowed(key), num(n));
        }
    }
    Ok(())
}

fn io_timings(v: &str, m: &mut Obj) -> Result<(), String> {
    for seg in split_on(v, b',') {
        let seg = seg.ftrim();
        let (prefix, rest) = if let Some(r) = seg.strip_prefix("shared/local ") {
            ("", r)
        } else if let Some(r) = seg.strip_prefix("shared ") {
            ("Shared ", r)
        } else if let Some(r) = seg.strip_prefix("local ") {
            ("Local ", r)
        } else if let Some(r) = seg.strip_prefix("temp ") {
            ("Temp ", r)
        } else {
            ("", seg)
        };
        for (k, n) in eq_pairs(rest) {
            let key = match k {
                "read" => "Read",
                "write" => "Write",
                _ => return Err(format!("expected read= or write=, found \"{k}\"")),
            };
            let (n, _) = lead_num(n).ok_or_else(|| format!("expected a number, found \"{n}\""))?;
            m.insert(format!("{prefix}I/O {key} Time").into(), num(n));
        }
    }
    Ok(())
}

/// `Sort Method: external merge  Disk: 1234kB` (the value part, after `Sort Method:`).
fn sort_method(v: &str, m: &mut Obj) {
    let v = v.ftrim();
    let (method, space) = match v.split_once("  ") {
        Some((a, b)) => (a.ftrim(), Some(b.ftrim())),
        None => (v, None),
    };
    m.insert("Sort Method".into(), s(method));
    if let Some((kind, amount)) = space.and_then(|x| x.split_once(':')) {
        m.insert("Sort Space Type".into(), s(kind.ftrim()));
        if let Some(n) = kb(amount) {
            m.insert("Sort Space Used".into(), num(n));
        }
    }
}

/// Incremental Sort: `Full-sort Groups: 1  Sort Method: quicksort  Average Memory: 123kB  Peak
/// Memory: 234kB` → the object JSON prints (`Group Count`, `Sort Methods Used`, `Sort Space …`).
fn sort_groups(whole: &str) -> Doc {
    let mut g = Obj::new();
    let mut memory = Obj::new();
    let mut disk = Obj::new();
    for (k, v) in pairs(whole) {
        match k {
            "Full-sort Groups" | "Pre-sorted Groups" => {
                g.insert("Group Count".into(), num_or_str(v));
            }
            "Sort Method" | "Sort Methods" => {
                g.insert(
                    "Sort Methods Used".into(),
                    Doc::Arr(v.split(", ").map(|x| s(x.ftrim())).collect()),
                );
            }
            "Average Memory" | "Peak Memory" | "Average Disk" | "Peak Disk" => {
                let (avg, target) = match k {
                    "Average Memory" => (true, &mut memory),
                    "Peak Memory" => (false, &mut memory),
                    "Average Disk" => (true, &mut disk),
                    _ => (false, &mut disk),
                };
                let key = if avg {
                    "Average Sort Space Used"
                } else {
                    "Peak Sort Space Used"
                };
                target.insert(key.into(), kb(v).map(num).unwrap_or_else(|| s(v)));
            }
            other => {
                g.insert(key(other), num_or_str(v));
            }
        }
    }
    if !memory.is_empty() {
        g.insert("Sort Space Memory".into(), Doc::Obj(memory));
    }
    if !disk.is_empty() {
        g.insert("Sort Space Disk".into(), Doc::Obj(disk));
    }
    Doc::Obj(g)
}

/// `1024 (originally 512)` → (1024, 512); `1024` → (1024, 1024).
fn with_original(v: &str) -> Option<(f64, f64)> {
    let (n, r) = lead_num(v.ftrim())?;
    let r = r.ftrim();
    if r.is_empty() {
        return Some((n, n));
    }
    let o = r.strip_prefix("(originally ")?.strip_suffix(')')?;
    Some((n, lead_num(o)?.0))
}

/// Apply one `Label: value` line to a node (or worker) object.
fn apply_property(
    node_type: &str,
    label: &str,
    value: &str,
    whole: &str,
    m: &mut Obj,
) -> Result<(), String> {
    let value = value.ftrim();
    match label {
        "Output"
        | "Sort Key"
        | "Presorted Key"
        | "Group Key"
        | "Hash Key"
        | "Conflict Arbiter Indexes" => {
            let list = split_list(value);
            match m.get_mut(label) {
                Some(Doc::Arr(a)) => a.extend(list),
                _ => {
                    m.insert(key(label), Doc::Arr(list));
                }
            }
        }
        "Filter"
        | "Index Cond"
        | "Recheck Cond"
        | "Hash Cond"
        | "Merge Cond"
        | "Join Filter"
        | "One-Time Filter"
        | "TID Cond"
        | "Cache Key"
        | "Cache Mode"
        | "Order By"
        | "Run Condition"
        | "Remote SQL"
        | "Relations"
        | "Conflict Resolution"
        | "Sampling"
        | "Window"
        | "Storage Type"
        | "Replaces" => {
            m.insert(key(label), s(value));
        }
        "Sort Method" => sort_method(value, m),
        "Full-sort Groups" | "Pre-sorted Groups" => {
            m.insert(key(label), sort_groups(whole));
        }
        "Buffers" => buffers(value, m)?,
        "I/O Timings" => io_timings(value, m)?,
        "WAL" => {
            for (k, n) in eq_pairs(&value.replace("buffers full=", "buffers_full=")) {
                let key = match k {
                    "records" => "WAL Records",
                    "fpi" => "WAL FPI",
                    "bytes" => "WAL Bytes",
                    "buffers_full" => "WAL Buffers Full",
                    _ => {
                        return Err(format!(
                            "expected records/fpi/bytes/buffers full, found \"{k}\""
                        ))
                    }
                };
                m.insert(key.into(), num_or_str(n));
            }
        }
        "Heap Blocks" => {
            for (k, n) in eq_pairs(value) {
                let key = match k {
                    "exact" => "Exact Heap Blocks",
                    "lossy" => "Lossy Heap Blocks",
                    _ => return Err(format!("expected exact= or lossy=, found \"{k}\"")),
                };
                m.insert(key.into(), num_or_str(n));
            }
        }
        "Disabled" | "Single Copy" | "Async Capable" | "Inner Unique" => {
            m.insert(
                key(label),
                match value {
                    "true" => Doc::Bool(true),
                    "false" => Doc::Bool(false),
                    other => s(other),
                },
            );
        }
        // Lines holding several `Label: value` pairs.
        "Buckets" | "Batches" | "Planned Partitions" | "Hits" | "Storage" => {
            let hash = node_type == "Hash";
            for (k, v) in pairs(whole) {
                let bad = || format!("cannot read \"{k}: {v}\"");
                match k {
                    "Buckets" => {
                        let (n, o) = with_original(v).ok_or_else(bad)?;
                        m.insert("Hash Buckets".into(), num(n));
                        m.insert("Original Hash Buckets".into(), num(o));
                    }
                    "Batches" if hash => {
                        let (n, o) = with_original(v).ok_or_else(bad)?;
                        m.insert("Hash Batches".into(), num(n));
                        m.insert("Original Hash Batches".into(), num(o));
                    }
                    "Batches" => {
                        m.insert("HashAgg Batches".into(), num_or_str(v));
                    }
                    "Memory Usage" => {
                        m.insert("Peak Memory Usage".into(), num(kb(v).ok_or_else(bad)?));
                    }
                    "Disk Usage" => {
                        m.insert("Disk Usage".into(), num(kb(v).ok_or_else(bad)?));
                    }
                    "Maximum Storage" => {
                        m.insert("Maximum Storage".into(), num(kb(v).ok_or_else(bad)?));
                    }
                    "Hits" | "Misses" | "Evictions" | "Overflows" => {
                        m.insert(format!("Cache {k}").into(), num_or_str(v));
                    }
                    other => {
                        m.insert(key(other), num_or_str(v));
                    }
                }
            }
        }
        _ => {
            // Unknown lines are kept under their label, as JSON would print them.
            m.insert(key(label), num_or_str(value));
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------------
// Plan-level lines

/// Labels only a node prints: at the plan's own level they mean the indentation was lost.
const NODE_LABELS: &[&str] = &[
    "Output",
    "Filter",
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "One-Time Filter",
    "TID Cond",
    "Sort Key",
    "Presorted Key",
    "Group Key",
    "Hash Key",
    "Sort Method",
    "Rows Removed by Filter",
    "Rows Removed by Index Recheck",
    "Rows Removed by Join Filter",
    "Heap Fetches",
    "Heap Blocks",
    "Index Searches",
    "Buckets",
    "Batches",
    "Workers Planned",
    "Workers Launched",
    "Cache Key",
    "Cache Mode",
    "Hits",
    "Planned Partitions",
    "Disabled",
    "Storage",
    "WAL",
    "Full-sort Groups",
    "Pre-sorted Groups",
];

const PLAN_LEVEL: &[&str] = &[
    "Planning Time",
    "Planning time",
    "Execution Time",
    "Execution time",
    "Total runtime",
    "Planning",
    "JIT",
    "Settings",
    "Query Identifier",
    "Serialization",
];

/// Other labels and keys a plan prints (besides `NODE_LABELS` and `PLAN_LEVEL`).
const OTHER_KEYS: &[&str] = &[
    "Rows Removed by Filter",
    "Rows Removed by Index Recheck",
    "Rows Removed by Join Filter",
    "Rows Removed by Conflict Filter",
    "Heap Fetches",
    "Index Searches",
    "Workers Planned",
    "Workers Launched",
    "Worker Number",
    "Conflict Arbiter Indexes",
    "Conflict Resolution",
    "Conflicting Tuples",
    "Tuples Inserted",
    "Order By",
    "Run Condition",
    "Remote SQL",
    "Relations",
    "Sampling",
    "Window",
    "Storage Type",
    "Replaces",
    "Single Copy",
    "Async Capable",
    "Inner Unique",
    "Presorted Key",
    "Group Count",
    "Sort Methods Used",
    "Functions",
    "Options",
    "Timing",
    "Generation",
    "Inlining",
    "Optimization",
    "Emission",
    "Deform",
    "Total",
    "Expressions",
    "Misses",
    "Evictions",
    "Overflows",
    "Memory Usage",
    "Disk Usage",
    "Maximum Storage",
];

/// A label read from the plan as an object key: PostgreSQL's known ones without allocating.
fn key(label: &str) -> Text {
    NODE_LABELS
        .iter()
        .chain(PLAN_LEVEL)
        .chain(OTHER_KEYS)
        .find(|k| **k == label)
        .map_or_else(|| Cow::Owned(label.to_string()), |k| Cow::Borrowed(*k))
}

fn settings(v: &str) -> Result<Obj, String> {
    let mut out = Obj::new();
    let mut rest = v.ftrim();
    while !rest.is_empty() {
        let (name, r) = rest
            .split_once(" = '")
            .ok_or_else(|| format!("expected \"name = 'value'\", found \"{}\"", clip(rest)))?;
        // The value runs to the next lone quote ('' is an escaped quote).
        let mut val = String::new();
        let mut it = r.char_indices().peekable();
        let mut end = None;
        while let Some((i, c)) = it.next() {
            if c == '\'' {
                if it.peek().map(|x| x.1) == Some('\'') {
                    it.next();
                    val.push('\'');
                } else {
                    end = Some(i + 1);
                    break;
                }
            } else {
                val.push(c);
            }
        }
        let end = end.ok_or_else(|| format!("unterminated setting value \"{}\"", clip(r)))?;
        out.insert(
            Cow::Owned(name.ftrim().to_string()),
            Doc::Str(Cow::Owned(val)),
        );
        rest = r[end..].ftrim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).ftrim_start();
    }
    Ok(out)
}

/// `Trigger RI_x for constraint fk on t: time=1.2 calls=3` → a `Triggers` entry.
fn trigger(t: &str) -> Result<Doc, String> {
    let body = t.strip_prefix("Trigger").unwrap_or(t);
    let (head, stats) = body.rsplit_once(": ").ok_or_else(|| {
        format!(
            "expected 'Trigger name: time=… calls=…', found \"{}\"",
            clip(t)
        )
    })?;
    let mut m = Obj::new();
    let head = head.ftrim();
    let (head, relation) = match head.rsplit_once(" on ") {
        Some((h, r)) => (h, Some(r)),
        None => (head, None),
    };
    let (name, constraint) = match head.split_once("for constraint ") {
        Some((n, c)) => (n.ftrim(), Some(c.ftrim())),
        None => (head, None),
    };
    if !name.is_empty() {
        m.insert("Trigger Name".into(), s(name));
    }
    if let Some(c) = constraint {
        m.insert("Constraint Name".into(), s(c));
    }
    if let Some(r) = relation {
        m.insert("Relation".into(), s(r.ftrim()));
    }
    for (k, v) in eq_pairs(stats) {
        match k {
            "time" => {
                m.insert("Time".into(), num_or_str(v));
            }
            "calls" => {
                m.insert("Calls".into(), num_or_str(v));
            }
            _ => return Err(format!("expected time= or calls=, found \"{k}\"")),
        }
    }
    Ok(Doc::Obj(m))
}

fn jit_line(label: &str, value: &str, jit: &mut Obj) -> Result<(), String> {
    match label {
        "Functions" => {
            jit.insert("Functions".into(), num_or_str(value));
        }
        "Options" => {
            let mut o = Obj::new();
            for part in value.split(',') {
                let (k, v) = part.ftrim().rsplit_once(' ').ok_or_else(|| {
                    format!("expected 'Name true|false', found \"{}\"", part.ftrim())
                })?;
                o.insert(key(k), Doc::Bool(v == "true"));
            }
            jit.insert("Options".into(), Doc::Obj(o));
        }
        "Timing" => {
            let mut o = Obj::new();
            for part in value.split(", ") {
                let part = part.ftrim();
                let (k, v) = part
                    .split_once(' ')
                    .ok_or_else(|| format!("expected 'Name N ms', found \"{part}\""))?;
                if let Some((total, deform)) = v.split_once("(Deform ") {
                    let mut g = Obj::new();
                    g.insert(
                        "Deform".into(),
                        num(ms(deform.trim_end_matches(')')).unwrap_or(0.0)),
                    );
                    g.insert("Total".into(), num(ms(total).unwrap_or(0.0)));
                    o.insert(key(k), Doc::Obj(g));
                } else {
                    let n = ms(v).ok_or_else(|| format!("expected 'N ms', found \"{v}\""))?;
                    o.insert(key(k), num(n));
                }
            }
            jit.insert("Timing".into(), Doc::Obj(o));
        }
        other => {
            jit.insert(key(other), num_or_str(value));
        }
    }
    Ok(())
}

fn planning_line(label: &str, value: &str, m: &mut Obj) -> Result<(), String> {
    match label {
        "Buffers" => buffers(value, m),
        "I/O Timings" => io_timings(value, m),
        "Memory" => {
            for (k, v) in eq_pairs(value) {
                let key = match k {
                    "used" => "Memory Used",
                    "allocated" => "Memory Allocated",
                    _ => return Err(format!("expected used= or allocated=, found \"{k}\"")),
                };
                m.insert(
                    key.into(),
                    num(kb(v).ok_or_else(|| format!("expected NkB, found \"{v}\""))?),
                );
            }
            Ok(())
        }
        other => {
            m.insert(key(other), num_or_str(value));
            Ok(())
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The tree builder

struct NodeB {
    map: Obj,
    /// Children as a list threaded through the nodes (first, last, next sibling; `NONE` ends
    /// it), in reading order: no `Vec` to allocate per parent.
    first_child: usize,
    last_child: usize,
    next_sibling: usize,
    child_count: usize,
    /// Parent Relationship and Subplan Name, when a label said so.
    rel: Option<(Text, Option<String>)>,
    workers: Vec<Obj>,
    /// Column of this node's detail lines, labels, workers and children's arrows (all must
    /// agree).
    prop_col: Option<usize>,
    /// Children not named by a subplan label, so far.
    plain_kids: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    Planning,
    Jit,
}

enum Frame {
    Node {
        id: usize,
        col: usize,
    },
    Label {
        col: usize,
        owner: usize,
        idx: usize,
        child_col: Option<usize>,
    },
    Worker {
        col: usize,
        node: usize,
        idx: usize,
    },
    Block {
        col: usize,
        kind: BlockKind,
    },
}

impl Frame {
    fn col(&self) -> usize {
        match self {
            Frame::Node { col, .. }
            | Frame::Label { col, .. }
            | Frame::Worker { col, .. }
            | Frame::Block { col, .. } => *col,
        }
    }
}

struct Label {
    rel: &'static str,
    name: Option<String>,
}

/// No node: the end of a child list.
const NONE: usize = usize::MAX;

#[derive(Default)]
struct PlanB {
    start_line: usize,
    nodes: Vec<NodeB>,
    root_col: usize,
    top: Obj,
    planning: Obj,
    jit: Obj,
    triggers: Vec<Doc>,
    labels: Vec<Label>,
    stack: Vec<Frame>,
    /// Custom scans with children (their relationship is settled at the end).
    custom: Vec<usize>,
}

impl PlanB {
    fn pop_to(&mut self, col: usize) {
        while self.stack.last().is_some_and(|f| f.col() >= col) {
            self.stack.pop();
        }
    }

    /// The ids of a node's children, in reading order.
    fn children(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        let first = self.nodes[id].first_child;
        std::iter::successors((first != NONE).then_some(first), |&c| {
            let next = self.nodes[c].next_sibling;
            (next != NONE).then_some(next)
        })
    }

    fn add_node(
        &mut self,
        map: Obj,
        parent: Option<usize>,
        rel: Option<(Text, Option<String>)>,
    ) -> usize {
        let id = self.nodes.len();
        // The relationship of a child no label named follows from its parent (`ExplainNode`):
        // decided now, while the parent is at hand, rather than in a second pass over the tree.
        let rel = match (rel, parent) {
            (Some(r), _) => Some(r),
            (None, None) => None,
            (None, Some(p)) => {
                let k = self.nodes[p].plain_kids;
                self.nodes[p].plain_kids += 1;
                let pm = &self.nodes[p].map;
                let pt = pm.get("Node Type").and_then(Doc::as_str).unwrap_or("");
                let rel = match pt {
                    "Append" | "Merge Append" | "BitmapAnd" | "BitmapOr" => "Member",
                    // explain.c's ExplainCustomChildren prints `child` or `children`: known
                    // once all children are read (see `finish`).
                    "Custom Scan" => "children",
                    "Subquery Scan" => "Subquery",
                    // Before PG 14 ModifyTable listed its subplans as members; since then its
                    // one child is an outer plan and (without RETURNING) it estimates 0 rows.
                    "ModifyTable"
                        if pm
                            .get("Plan Rows")
                            .and_then(Doc::as_f64)
                            .is_some_and(|r| r > 0.0) =>
                    {
                        "Member"
                    }
                    _ if k == 0 => "Outer",
                    _ => "Inner",
                };
                if pt == "Custom Scan" && k == 0 {
                    self.custom.push(p);
                }
                Some((Cow::Borrowed(rel), None))
            }
        };
        self.nodes.push(NodeB {
            map,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            child_count: 0,
            rel,
            workers: Vec::new(),
            prop_col: None,
            plain_kids: 0,
        });
        if let Some(p) = parent {
            match self.nodes[p].last_child {
                NONE => self.nodes[p].first_child = id,
                last => self.nodes[last].next_sibling = id,
            }
            self.nodes[p].last_child = id;
            self.nodes[p].child_count += 1;
        }
        id
    }

    /// Detail lines of one node must share a column; otherwise which node a line belongs to is
    /// a guess.
    fn check_prop_col(&mut self, id: usize, col: usize) -> Result<(), String> {
        match self.nodes[id].prop_col {
            Some(c) if c != col => Err(format!(
                "inconsistent indentation: this node's details start at column {}, this line at column {}",
                c + 1,
                col + 1
            )),
            Some(_) => Ok(()),
            None => {
                self.nodes[id].prop_col = Some(col);
                Ok(())
            }
        }
    }

    fn node_type(&self, id: usize) -> &str {
        self.nodes[id]
            .map
            .get("Node Type")
            .and_then(Doc::as_str)
            .unwrap_or("")
    }

    /// Build the JSON document, bottom-up without recursion (children have larger ids).
    fn finish(mut self) -> Doc {
        // A custom scan's only own child is its `child`.
        for p in std::mem::take(&mut self.custom) {
            if self.nodes[p].plain_kids == 1 {
                let kids: Vec<usize> = self.children(p).collect();
                for c in kids {
                    if let Some((rel, None)) = &mut self.nodes[c].rel {
                        if rel == "children" {
                            *rel = Cow::Borrowed("child");
                        }
                    }
                }
            }
        }
        let n = self.nodes.len();
        let mut built: Vec<Option<Doc>> = Vec::with_capacity(n);
        built.resize_with(n, || None);
        for id in (0..n).rev() {
            let node = &mut self.nodes[id];
            let mut map = std::mem::take(&mut node.map);
            // The keys added below, reserved at once: a node read with 18 or more properties
            // would otherwise double its pairs for them.
            let extra = match &node.rel {
                Some((_, Some(_))) => 2,
                Some((_, None)) => 1,
                None => 0,
            } + usize::from(!node.workers.is_empty())
                + usize::from(node.child_count > 0);
            map.reserve_exact(extra);
            if let Some((rel, name)) = node.rel.take() {
                map.insert("Parent Relationship".into(), Doc::Str(rel));
                if let Some(name) = name {
                    map.insert("Subplan Name".into(), Doc::Str(Cow::Owned(name)));
                }
            }
            if !node.workers.is_empty() {
                let ws = std::mem::take(&mut node.workers);
                map.insert(
                    "Workers".into(),
                    Doc::Arr(ws.into_iter().map(Doc::Obj).collect()),
                );
            }
            if node.child_count > 0 {
                let mut plans: Vec<Doc> = Vec::with_capacity(node.child_count);
                let mut c = node.first_child;
                while c != NONE {
                    plans.extend(built.get_mut(c).and_then(Option::take));
                    c = self.nodes[c].next_sibling;
                }
                map.insert("Plans".into(), Doc::Arr(plans));
            }
            built[id] = Some(Doc::Obj(map));
        }
        let mut doc = Obj::new();
        doc.insert(
            "Plan".into(),
            built
                .first_mut()
                .and_then(Option::take)
                .unwrap_or(Doc::Null),
        );
        if !self.planning.is_empty() {
            doc.insert("Planning".into(), Doc::Obj(self.planning));
        }
        for (k, v) in self.top {
            doc.insert(k, v);
        }
        if !self.triggers.is_empty() {
            doc.insert("Triggers".into(), Doc::Arr(self.triggers));
        }
        if !self.jit.is_empty() {
            doc.insert("JIT".into(), Doc::Obj(self.jit));
        }
        Doc::Obj(doc)
    }
}

/// A logical line: physical lines joined, with the cleaned line number it starts on.
struct Logical<'a> {
    line: usize,
    indent: usize,
    text: std::borrow::Cow<'a, str>,
    kind: Kind,
}

/// Read the plans of a (cleaned) text plan: the documents `parse` builds, read by `json.rs`,
/// each plan with the original line it starts on and its unprinted zero buffers filled in.
pub fn plans(cleaned: &Cleaned<'_>) -> Result<Vec<Plan>, LocatedError> {
    let docs = parse(cleaned).map_err(|e| LocatedError {
        line: e.line.map(|l| cleaned.original_line(l)),
        message: e.message,
    })?;
    let mut plans = Vec::new();
    for (line, doc) in docs {
        let line = cleaned.original_line(line);
        let mut ps =
            json::plans_from_doc(doc).map_err(|e| LocatedError::at(line, e.to_string()))?;
        for p in &mut ps {
            p.line = line;
            fill_unprinted_zero_buffers(p);
        }
        plans.extend(ps);
    }
    Ok(plans)
}

/// Text plans leave out a `Buffers:` line when every count is zero; JSON prints the zeros.
/// When any node of a text plan printed buffers (so `BUFFERS` was on), the silent ones had zero,
/// which is what the JSON of the same statement says.
fn fill_unprinted_zero_buffers(plan: &mut Plan) {
    if plan.nodes.iter().any(|n| n.buffers.is_some()) {
        for n in &mut plan.nodes {
            n.buffers.get_or_insert_with(Default::default);
        }
        // Likewise the `Planning:` section (PG 13+), printed only when planning touched a block.
        if plan.planning_ms.is_some() {
            plan.planning_buffers.get_or_insert_with(Default::default);
        }
    }
}

/// Parse cleaned text into JSON-shaped plan documents, each with the cleaned line it starts on.
pub fn parse(text: &Cleaned<'_>) -> Result<Vec<(usize, Doc)>, LocatedError> {
    let mut out = Vec::new();
    let mut plan: Option<PlanB> = None;
    let mut pending: Option<Logical> = None;
    // The run of skipped lines just before this one: (first line, its text, last line).
    let mut skipped: Option<(usize, &str, usize)> = None;

    for (i, raw) in split_lines(&text.text).enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let body = raw.ftrim_start();
        let indent = raw.len() - body.len();
        let kind = classify(body.ftrim_end());
        let in_plan = plan.is_some() || pending.is_some();
        match kind {
            Kind::Continuation if in_plan => {
                if let Some(p) = pending.as_mut() {
                    p.text.to_mut().push_str(raw.trim_end_matches(['\r', '\n']));
                }
                continue;
            }
            Kind::Continuation => {
                // Text before the plan (a prompt, a query, prose) is skipped.
                skipped = match skipped {
                    Some((l, t, last)) if last + 1 == line => Some((l, t, line)),
                    _ => Some((line, body.ftrim_end(), line)),
                };
                continue;
            }
            // A plan whose first line is a child node right under unreadable text: that text
            // is most likely the top node, damaged (say, wrapped inside its name).
            Kind::Arrow if !in_plan => {
                if let Some((l, t, _)) = skipped.filter(|(_, t, last)| {
                    *last + 1 == line && t.starts_with(|c: char| c.is_ascii_uppercase())
                }) {
                    return Err(LocatedError::at(
                        l,
                        format!("expected a plan node, found \"{}\"", clip(t)),
                    ));
                }
            }
            _ => {}
        }
        skipped = None;
        if let Some(p) = pending.take() {
            process(p, &mut plan, &mut out)?;
        }
        match kind {
            Kind::Blank => {
                // A blank line ends a plan; text after it is not part of it.
                if let Some(p) = plan.take() {
                    out.push((p.start_line, p.finish()));
                }
            }
            Kind::Arrow | Kind::Node => {
                pending = Some(Logical {
                    line,
                    indent,
                    text: std::borrow::Cow::Borrowed(body),
                    kind,
                });
            }
            _ if plan.is_none() => {} // a property-like line before any plan
            _ => {
                pending = Some(Logical {
                    line,
                    indent,
                    text: std::borrow::Cow::Borrowed(body),
                    kind,
                });
            }
        }
    }
    if let Some(p) = pending.take() {
        process(p, &mut plan, &mut out)?;
    }
    if let Some(p) = plan.take() {
        out.push((p.start_line, p.finish()));
    }
    if out.is_empty() {
        return Err(LocatedError::nowhere(
            "expected a text plan (a line such as \"Seq Scan on t  (cost=…)\"), found none",
        ));
    }
    Ok(out)
}

fn process(
    l: Logical<'_>,
    plan: &mut Option<PlanB>,
    out: &mut Vec<(usize, Doc)>,
) -> Result<(), LocatedError> {
    let err = |m: String| LocatedError::at(l.line, m);
    let t = l.text.ftrim_end();
    let i = l.indent;
    match l.kind {
        Kind::Node | Kind::Arrow => {
            let (name_col, node_text) = if l.kind == Kind::Arrow {
                let after = &t[2..];
                let trimmed = after.ftrim_start();
                (i + 2 + (after.len() - trimmed.len()), trimmed)
            } else {
                (i, t)
            };
            // A node line at or left of the root's column starts a new plan.
            if let Some(p) = plan.as_mut() {
                if l.kind == Kind::Node {
                    p.pop_to(i);
                    if p.stack.is_empty() && i <= p.root_col {
                        let done = plan.take().map(|p| (p.start_line, p.finish()));
                        out.extend(done);
                    } else {
                        return Err(err(format!(
                            "expected '->' before the child node \"{}\"",
                            clip(t)
                        )));
                    }
                }
            }
            let map = parse_node_line(node_text).map_err(err)?;
            let Some(p) = plan.as_mut() else {
                let mut p = PlanB {
                    start_line: l.line,
                    root_col: name_col,
                    ..PlanB::default()
                };
                let id = p.add_node(map, None, None);
                p.stack.push(Frame::Node { id, col: name_col });
                *plan = Some(p);
                return Ok(());
            };
            p.pop_to(i);
            let (parent, rel) = match p.stack.last_mut() {
                None => {
                    return Err(err(format!(
                        "expected a child node indented deeper than its parent, found \"{}\" at column {}",
                        clip(t),
                        i + 1
                    )))
                }
                Some(Frame::Node { id, .. }) => {
                    let id = *id;
                    // A node's children, details and labels all sit at one column.
                    match p.nodes[id].prop_col {
                        Some(c) if c != i => {
                            return Err(err(format!(
                                "inconsistent indentation: the lines under this node's parent start at column {}, this one at column {}",
                                c + 1,
                                i + 1
                            )))
                        }
                        _ => p.nodes[id].prop_col = Some(i),
                    }
                    (id, None)
                }
                Some(Frame::Label { owner, idx, child_col, .. }) => {
                    match *child_col {
                        Some(c) if c != i => {
                            return Err(err(format!(
                                "inconsistent indentation: the subplan's first node was at column {}, this one is at column {}",
                                c + 1,
                                i + 1
                            )))
                        }
                        _ => *child_col = Some(i),
                    }
                    let lab = &p.labels[*idx];
                    (*owner, Some((Cow::Borrowed(lab.rel), lab.name.clone())))
                }
                Some(_) => {
                    return Err(err(format!(
                        "expected a property, found the node \"{}\" inside a worker or summary block",
                        clip(t)
                    )))
                }
            };
            let id = p.add_node(map, Some(parent), rel);
            p.stack.push(Frame::Node { id, col: name_col });
        }
        Kind::Label => {
            let Some(p) = plan.as_mut() else {
                return Ok(());
            };
            p.pop_to(i);
            let Some(Frame::Node { id, .. }) = p.stack.last() else {
                return Err(err(format!("expected \"{}\" under a plan node", clip(t))));
            };
            let owner = *id;
            p.check_prop_col(owner, i).map_err(err)?;
            let label = if let Some(name) = t.strip_prefix("CTE ") {
                Label {
                    rel: "InitPlan",
                    name: Some(format!("CTE {}", name.ftrim())),
                }
            } else if t.starts_with("InitPlan") {
                Label {
                    rel: "InitPlan",
                    name: (t != "InitPlan").then(|| t.to_string()),
                }
            } else {
                Label {
                    rel: "SubPlan",
                    name: (t != "SubPlan").then(|| t.to_string()),
                }
            };
            p.labels.push(label);
            let idx = p.labels.len() - 1;
            p.stack.push(Frame::Label {
                col: i,
                owner,
                idx,
                child_col: None,
            });
        }
        Kind::Worker => {
            let Some(p) = plan.as_mut() else {
                return Ok(());
            };
            p.pop_to(i);
            let Some(Frame::Node { id, .. }) = p.stack.last() else {
                return Err(err(format!("expected \"{}\" under a plan node", clip(t))));
            };
            let node = *id;
            p.check_prop_col(node, i).map_err(err)?;
            let rest = t.strip_prefix("Worker ").unwrap_or(t);
            let (n, rest) = rest.split_once(':').unwrap_or((rest, ""));
            let number = n
                .ftrim()
                .parse::<f64>()
                .map_err(|_| err(format!("expected a worker number, found \"{n}\"")))?;
            let mut w = Obj::new();
            w.insert("Worker Number".into(), num(number));
            let rest = rest.ftrim();
            let nt = p.node_type(node).to_string();
            if let Some(a) = rest.strip_prefix("actual") {
                parse_actuals(a, &mut w).ok_or_else(|| {
                    err(format!(
                        "expected 'actual time=… rows=… loops=…', found \"{}\"",
                        clip(rest)
                    ))
                })?;
            } else if let Some(label) = property_label(rest) {
                let value = &rest[label.len() + 1..];
                apply_property(&nt, label, value, rest, &mut w).map_err(err)?;
            } else if !rest.is_empty() {
                w.insert("Details".into(), s(rest));
            }
            // Several `Worker N:` lines for one worker (old versions print one per property).
            let ws = &mut p.nodes[node].workers;
            let idx = match ws
                .iter()
                .position(|x| x.get("Worker Number") == Some(&num(number)))
            {
                Some(k) => {
                    for (k2, v) in w {
                        ws[k].insert(k2, v);
                    }
                    k
                }
                None => {
                    ws.push(w);
                    ws.len() - 1
                }
            };
            p.stack.push(Frame::Worker { col: i, node, idx });
        }
        Kind::Trigger => {
            let Some(p) = plan.as_mut() else {
                return Ok(());
            };
            p.pop_to(0);
            p.triggers.push(trigger(t).map_err(err)?);
        }
        Kind::Property => {
            let Some(p) = plan.as_mut() else {
                return Ok(());
            };
            let label = property_label(t).unwrap_or("");
            let value = t.get(label.len() + 1..).unwrap_or("").ftrim();
            // Summary lines belong to the plan wherever a paste put them; only `JIT:` also
            // appears under a worker (VERBOSE), so it is the plan's only at the plan's column.
            let plan_level = PLAN_LEVEL.contains(&label) && (label != "JIT" || i <= p.root_col + 1);
            if plan_level {
                p.stack.clear();
            } else {
                p.pop_to(i);
            }
            match p.stack.last() {
                None if NODE_LABELS.contains(&label) => {
                    return Err(err(format!(
                        "expected \"{label}:\" indented under a plan node (it is at column {}, the plan's first node at column {})",
                        i + 1,
                        p.root_col + 1
                    )))
                }
                None => plan_property(p, label, value, i).map_err(err)?,
                Some(Frame::Node { id, .. }) => {
                    let id = *id;
                    p.check_prop_col(id, i).map_err(err)?;
                    let nt = static_type(p.node_type(id));
                    apply_property(nt, label, value, t, &mut p.nodes[id].map).map_err(err)?;
                }
                Some(Frame::Worker { node, idx, .. }) => {
                    let (node, idx) = (*node, *idx);
                    let nt = static_type(p.node_type(node));
                    apply_property(nt, label, value, t, &mut p.nodes[node].workers[idx])
                        .map_err(err)?;
                }
                Some(Frame::Block { kind, .. }) => match kind {
                    BlockKind::Planning => planning_line(label, value, &mut p.planning).map_err(err)?,
                    BlockKind::Jit => jit_line(label, value, &mut p.jit).map_err(err)?,
                },
                Some(Frame::Label { .. }) => {
                    return Err(err(format!(
                        "expected '->' and a node after the subplan label, found \"{}\"",
                        clip(t)
                    )))
                }
            }
        }
        Kind::Blank | Kind::Continuation => {}
    }
    Ok(())
}

/// The one node type property parsing depends on, without borrowing the node.
fn static_type(t: &str) -> &'static str {
    if t == "Hash" {
        "Hash"
    } else {
        ""
    }
}

fn plan_property(p: &mut PlanB, label: &str, value: &str, col: usize) -> Result<(), String> {
    let time = |v: &str| {
        ms(v)
            .map(num)
            .ok_or_else(|| format!("expected 'N ms', found \"{v}\""))
    };
    match label {
        "Planning Time" | "Planning time" => {
            p.top.insert("Planning Time".into(), time(value)?);
        }
        "Execution Time" | "Execution time" | "Total runtime" => {
            p.top.insert("Execution Time".into(), time(value)?);
        }
        "Planning" | "JIT" => {
            let kind = if label == "JIT" {
                BlockKind::Jit
            } else {
                BlockKind::Planning
            };
            p.stack.push(Frame::Block { col, kind });
        }
        "Settings" => {
            p.top.insert("Settings".into(), Doc::Obj(settings(value)?));
        }
        "Query Identifier" => {
            p.top.insert("Query Identifier".into(), s(value));
        }
        "Serialization" => {
            let mut m = Obj::new();
            for part in value.split("  ").filter(|x| !x.ftrim().is_empty()) {
                let (k, v) = part
                    .ftrim()
                    .split_once('=')
                    .ok_or_else(|| format!("expected key=value, found \"{}\"", part.ftrim()))?;
                match k {
                    "time" => {
                        m.insert("Time".into(), time(v)?);
                    }
                    "output" => {
                        let n = kb(v).ok_or_else(|| format!("expected NkB, found \"{v}\""))?;
                        m.insert("Output Volume".into(), num(n));
                    }
                    "format" => {
                        m.insert("Format".into(), s(v));
                    }
                    other => {
                        m.insert(key(other), s(v));
                    }
                }
            }
            p.top.insert("Serialization".into(), Doc::Obj(m));
        }
        other => {
            p.top.insert(key(other), num_or_str(value));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse::psql::clean;
    use serde_json::{json, Value};

    fn docs(t: &str) -> Vec<Value> {
        parse(&clean(t))
            .unwrap()
            .into_iter()
            .map(|x| x.1.to_value())
            .collect()
    }
    fn one(t: &str) -> Value {
        let mut d = docs(t);
        assert_eq!(d.len(), 1, "{d:?}");
        d.pop().unwrap()
    }
    fn err(t: &str) -> LocatedError {
        parse(&clean(t)).unwrap_err()
    }
    fn name(t: &str) -> Value {
        Doc::Obj(parse_node_name(t).unwrap_or_else(|| panic!("no node: {t}"))).to_value()
    }

    #[test]
    fn join_names() {
        let v = name("Hash Left Join");
        assert_eq!(v["Node Type"], "Hash Join");
        assert_eq!(v["Join Type"], "Left");
        let v = name("Nested Loop Anti Join");
        assert_eq!(
            (v["Node Type"].as_str(), v["Join Type"].as_str()),
            (Some("Nested Loop"), Some("Anti"))
        );
        let v = name("Nested Loop");
        assert_eq!(v["Join Type"], "Inner");
        let v = name("Merge Right Anti Join");
        assert_eq!(
            (v["Node Type"].as_str(), v["Join Type"].as_str()),
            (Some("Merge Join"), Some("Right Anti"))
        );
        let v = name("Hash");
        assert_eq!(v["Node Type"], "Hash");
        assert!(v.get("Join Type").is_none());
    }

    #[test]
    fn scan_names() {
        let v = name("Parallel Seq Scan on t x");
        assert_eq!(v["Node Type"], "Seq Scan");
        assert_eq!(v["Parallel Aware"], true);
        assert_eq!(v["Relation Name"], "t");
        assert_eq!(v["Alias"], "x");
        let v = name("Seq Scan on public.t");
        assert_eq!(
            (
                v["Schema"].as_str(),
                v["Relation Name"].as_str(),
                v["Alias"].as_str()
            ),
            (Some("public"), Some("t"), Some("t"))
        );
        let v = name("Index Scan Backward using i on t");
        assert_eq!(
            (v["Scan Direction"].as_str(), v["Index Name"].as_str()),
            (Some("Backward"), Some("i"))
        );
        let v = name("Index Only Scan using \"my idx\" on public.\"My:T\" \"a b\"");
        assert_eq!(v["Node Type"], "Index Only Scan");
        assert_eq!(v["Scan Direction"], "Forward");
        assert_eq!(v["Index Name"], "my idx");
        assert_eq!(v["Relation Name"], "My:T");
        assert_eq!(v["Alias"], "a b");
        let v = name("Bitmap Index Scan on idx");
        assert_eq!(v["Index Name"], "idx");
        assert!(v.get("Relation Name").is_none());
        let v = name("CTE Scan on x x_1");
        assert_eq!(
            (v["CTE Name"].as_str(), v["Alias"].as_str()),
            (Some("x"), Some("x_1"))
        );
        let v = name("Function Scan on pg_catalog.generate_series s");
        assert_eq!(
            (
                v["Function Name"].as_str(),
                v["Schema"].as_str(),
                v["Alias"].as_str()
            ),
            (Some("generate_series"), Some("pg_catalog"), Some("s"))
        );
        let v = name("Values Scan on \"*VALUES*\"");
        assert_eq!(v["Alias"], "*VALUES*");
        let v = name("Subquery Scan on s");
        assert_eq!(v["Alias"], "s");
        let v = name("Custom Scan (Citus Adaptive)");
        assert_eq!(
            (v["Node Type"].as_str(), v["Custom Plan Provider"].as_str()),
            (Some("Custom Scan"), Some("Citus Adaptive"))
        );
        let v = name("Async Foreign Scan on population_frara population_1");
        assert_eq!(v["Node Type"], "Foreign Scan");
        assert_eq!(v["Async Capable"], true);
        assert_eq!(v["Operation"], "Select");
        let v = name("WorkTable Scan on nested_templates nt");
        assert_eq!(v["CTE Name"], "nested_templates");
        assert!(parse_node_name("Seq Scan on").is_none());
        assert!(parse_node_name("Seq Scan on a b c").is_none());
        assert!(parse_node_name("Frobnicate").is_none());
        assert!(parse_node_name("Index Scan on t").is_none());
    }

    #[test]
    fn aggregate_setop_modify_names() {
        let v = name("Partial HashAggregate");
        assert_eq!(
            (
                v["Node Type"].as_str(),
                v["Strategy"].as_str(),
                v["Partial Mode"].as_str()
            ),
            (Some("Aggregate"), Some("Hashed"), Some("Partial"))
        );
        let v = name("Finalize GroupAggregate");
        assert_eq!(
            (v["Strategy"].as_str(), v["Partial Mode"].as_str()),
            (Some("Sorted"), Some("Finalize"))
        );
        let v = name("Aggregate");
        assert_eq!(
            (v["Strategy"].as_str(), v["Partial Mode"].as_str()),
            (Some("Plain"), Some("Simple"))
        );
        let v = name("MixedAggregate");
        assert_eq!(v["Strategy"], "Mixed");
        let v = name("HashSetOp Except");
        assert_eq!(
            (
                v["Node Type"].as_str(),
                v["Strategy"].as_str(),
                v["Command"].as_str()
            ),
            (Some("SetOp"), Some("Hashed"), Some("Except"))
        );
        let v = name("SetOp Intersect All");
        assert_eq!(
            (v["Strategy"].as_str(), v["Command"].as_str()),
            (Some("Sorted"), Some("Intersect All"))
        );
        for (t, op) in [
            ("Insert on t", "Insert"),
            ("Update on t", "Update"),
            ("Delete on t", "Delete"),
            ("Merge on public.tb", "Merge"),
        ] {
            let v = name(t);
            assert_eq!(v["Node Type"], "ModifyTable");
            assert_eq!(v["Operation"], op);
        }
        let v = name("Foreign Update on ft");
        assert_eq!(
            (v["Node Type"].as_str(), v["Operation"].as_str()),
            (Some("Foreign Scan"), Some("Update"))
        );
        assert!(parse_node_name("Partial Sort").is_none());
    }

    #[test]
    fn header_variants() {
        let v = one("Seq Scan on t  (cost=0.00..1.50 rows=50 width=4) (actual time=0.010..0.020 rows=1.00 loops=3)");
        let p = &v["Plan"];
        assert_eq!(p["Startup Cost"], json!(0.0));
        assert_eq!(p["Total Cost"], json!(1.5));
        assert_eq!(p["Plan Rows"], json!(50.0));
        assert_eq!(p["Plan Width"], json!(4.0));
        assert_eq!(p["Actual Startup Time"], json!(0.01));
        assert_eq!(p["Actual Total Time"], json!(0.02));
        assert_eq!(p["Actual Rows"], json!(1.0));
        assert_eq!(p["Actual Loops"], json!(3.0));
        let p = &one("Seq Scan on t (actual rows=698 loops=1)")["Plan"];
        assert!(p.get("Actual Total Time").is_none());
        assert_eq!(p["Actual Rows"], json!(698.0));
        let p = &one("Seq Scan on t")["Plan"];
        assert!(p.get("Total Cost").is_none());
        let p = &one("Hash  (cost=6.12..6.12 rows=212 width=1346) (never executed)")["Plan"];
        assert_eq!(p["Actual Loops"], json!(0.0));
        assert_eq!(p["Actual Rows"], json!(0.0));
        let p = &one("Merge Left Join  (cost=5011308.38..3776629009464611840.00 rows=75483853771278204928 width=777)")["Plan"];
        assert_eq!(p["Plan Rows"], json!(75483853771278204928.0));
        let e = err("Seq Scan on t  (cost=0.00..1.50 rows=50 width=4) (actual time=0.010 rows=1)");
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("expected"), "{}", e.message);
    }

    #[test]
    fn tree_and_relationships() {
        let v = one("Hash Join  (cost=1..2 rows=1 width=4)\n  Hash Cond: (a.id = b.id)\n  ->  Seq Scan on a  (cost=1..2 rows=1 width=4)\n  ->  Hash  (cost=1..2 rows=1 width=4)\n        ->  Seq Scan on b  (cost=1..2 rows=1 width=4)\n              Filter: (x > 1)\n");
        let p = &v["Plan"];
        assert_eq!(p["Hash Cond"], "(a.id = b.id)");
        assert_eq!(p["Plans"][0]["Parent Relationship"], "Outer");
        assert_eq!(p["Plans"][1]["Parent Relationship"], "Inner");
        assert_eq!(p["Plans"][1]["Plans"][0]["Filter"], "(x > 1)");
        assert_eq!(p["Plans"][1]["Plans"][0]["Parent Relationship"], "Outer");
        let v = one("Append\n  ->  Seq Scan on a\n  ->  Seq Scan on b\n");
        assert_eq!(v["Plan"]["Plans"][1]["Parent Relationship"], "Member");
        let v = one("Subquery Scan on s\n  ->  Result\n");
        assert_eq!(v["Plan"]["Plans"][0]["Parent Relationship"], "Subquery");
        let v = one("Custom Scan (X)\n  ->  Result\n");
        assert_eq!(v["Plan"]["Plans"][0]["Parent Relationship"], "child");
        let v = one("Custom Scan (X)\n  ->  Result\n  ->  Result\n");
        assert_eq!(v["Plan"]["Plans"][1]["Parent Relationship"], "children");
        let v = one("Update on t  (cost=1..2 rows=5 width=4)\n  ->  Seq Scan on t\n");
        assert_eq!(v["Plan"]["Plans"][0]["Parent Relationship"], "Member");
        let v = one("Update on t  (cost=1..2 rows=0 width=0)\n  ->  Seq Scan on t\n");
        assert_eq!(v["Plan"]["Plans"][0]["Parent Relationship"], "Outer");
    }

    #[test]
    fn splitting_helpers_match_std() {
        for t in [
            "",
            " ",
            "  ",
            "   ",
            "a  b",
            "a   b",
            "a    b  ",
            "Buckets: 1024  Batches: 1  Memory Usage: 9kB",
            "é  ü ",
        ] {
            assert_eq!(
                split_two_spaces(t).collect::<Vec<_>>(),
                t.split("  ").collect::<Vec<_>>(),
                "{t:?}"
            );
            assert_eq!(split_once_byte(t, b' '), t.split_once(' '), "{t:?}");
        }
        for t in [
            "",
            "hit=1 read=2",
            " hit=1\tread=2\x0b x=\x0c=y\r\n",
            "hit=1\u{a0}read=2 w=3",
            "a b c=",
            "==",
        ] {
            assert_eq!(
                eq_pairs(t).collect::<Vec<_>>(),
                t.split_whitespace()
                    .filter_map(|x| x.split_once('='))
                    .collect::<Vec<_>>(),
                "{t:?}"
            );
        }
    }

    #[test]
    fn figures_match_str_parse() {
        for t in [
            "0",
            "12",
            "0.5",
            "123456.78",
            ".5",
            "5.",
            "1e+06",
            "-3",
            "+2",
            "1.2.3",
            "..",
            "5..6",
            "123456789012345",
            "1234567890123456",
            "0.0000000000001",
            "7e",
            "9E-2",
            "1.25 rows",
            // The exact fast path against std's parse (was `fast_decimal`'s own test).
            "0",
            "1",
            "12.5",
            "0.010",
            "99999999999999.9",
            "0.000000000000001",
            ".",
            "",
            "75483853771278204928",
            "-1",
            "3776629009464611840.00",
            "0.1",
            "0.3",
            "2.675",
            "1e5",
        ] {
            let expected = {
                let n = t
                    .bytes()
                    .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+'))
                    .count();
                t[..n]
                    .split("..")
                    .next()
                    .and_then(|x| x.parse::<f64>().ok())
            };
            let got = lead_num(t).map(|x| x.0);
            if !t.contains(['e', 'E']) {
                assert_eq!(got, expected, "{t:?}");
            }
            assert_eq!(got, lead_num_general(t).map(|x| x.0), "{t:?}");
            assert_eq!(
                lead_num(t).map(|x| x.1),
                lead_num_general(t).map(|x| x.1),
                "{t:?}"
            );
        }
    }

    #[test]
    fn subplan_labels() {
        let v = one("Result\n  InitPlan 1 (returns $0)\n    ->  Result\n  InitPlan 2\n    ->  Result\n  CTE x\n    ->  Values Scan on \"*VALUES*\"\n  ->  Seq Scan on t\n        SubPlan 3\n          ->  Result\n");
        let p = &v["Plan"]["Plans"];
        assert_eq!(p[0]["Parent Relationship"], "InitPlan");
        assert_eq!(p[0]["Subplan Name"], "InitPlan 1 (returns $0)");
        assert_eq!(p[1]["Subplan Name"], "InitPlan 2");
        assert_eq!(p[2]["Parent Relationship"], "InitPlan");
        assert_eq!(p[2]["Subplan Name"], "CTE x");
        assert_eq!(p[3]["Parent Relationship"], "Outer");
        assert_eq!(p[3]["Plans"][0]["Parent Relationship"], "SubPlan");
        assert_eq!(p[3]["Plans"][0]["Subplan Name"], "SubPlan 3");
        // 8.x: a bare label over several children.
        let v = one("Result\n  InitPlan\n    ->  Result\n    ->  Result\n  ->  Result\n");
        let p = &v["Plan"]["Plans"];
        assert_eq!(p[1]["Parent Relationship"], "InitPlan");
        assert!(p[1].get("Subplan Name").is_none());
        assert_eq!(p[2]["Parent Relationship"], "Outer");
    }

    #[test]
    fn detail_lines() {
        let v = one(concat!(
            "Sort  (cost=1..2 rows=1 width=4)\n",
            "  Output: a, (b + c), f(d, e)\n",
            "  Sort Key: a DESC, b\n",
            "  Sort Method: external merge  Disk: 1234kB\n",
            "  Buffers: shared hit=1 read=2 dirtied=3 written=4, local hit=5, temp read=6 written=7\n",
            "  I/O Timings: shared read=1.5 write=2.5, local read=3.5, temp read=4.5 write=5.5\n",
            "  WAL: records=1 fpi=2 bytes=3 buffers full=4\n",
            "  Heap Blocks: exact=1 lossy=2\n",
            "  Rows Removed by Filter: 10\n",
            "  Disabled: true\n",
            "  Storage: Memory  Maximum Storage: 17kB\n",
            "  Index Searches: 1\n",
            "  Frobs: 3 frobs\n",
            "  Worker 0:  actual time=0.1..0.2 rows=3 loops=1\n",
            "    Buffers: shared hit=9\n",
            "  Worker 1:  Sort Method: quicksort  Memory: 25kB\n",
        ));
        let p = &v["Plan"];
        assert_eq!(p["Output"], json!(["a", "(b + c)", "f(d, e)"]));
        assert_eq!(p["Sort Key"], json!(["a DESC", "b"]));
        assert_eq!(p["Sort Method"], "external merge");
        assert_eq!(p["Sort Space Type"], "Disk");
        assert_eq!(p["Sort Space Used"], json!(1234.0));
        assert_eq!(p["Shared Hit Blocks"], json!(1.0));
        assert_eq!(p["Shared Written Blocks"], json!(4.0));
        assert_eq!(p["Local Hit Blocks"], json!(5.0));
        assert_eq!(p["Temp Written Blocks"], json!(7.0));
        assert_eq!(p["Shared I/O Read Time"], json!(1.5));
        assert_eq!(p["Local I/O Read Time"], json!(3.5));
        assert_eq!(p["Temp I/O Write Time"], json!(5.5));
        assert_eq!(p["WAL Buffers Full"], json!(4.0));
        assert_eq!(p["Lossy Heap Blocks"], json!(2.0));
        assert_eq!(p["Rows Removed by Filter"], json!(10.0));
        assert_eq!(p["Disabled"], true);
        assert_eq!(p["Storage"], "Memory");
        assert_eq!(p["Maximum Storage"], json!(17.0));
        assert_eq!(p["Index Searches"], json!(1.0));
        assert_eq!(p["Frobs"], "3 frobs");
        assert_eq!(p["Workers"][0]["Worker Number"], json!(0.0));
        assert_eq!(p["Workers"][0]["Actual Rows"], json!(3.0));
        assert_eq!(p["Workers"][0]["Shared Hit Blocks"], json!(9.0));
        assert_eq!(p["Workers"][1]["Sort Method"], "quicksort");
        assert_eq!(p["Workers"][1]["Sort Space Used"], json!(25.0));
    }

    #[test]
    fn hash_and_hashagg_lines() {
        let v = one("Hash\n  Buckets: 1024 (originally 512)  Batches: 4 (originally 1)  Memory Usage: 40kB\n");
        let p = &v["Plan"];
        assert_eq!(p["Hash Buckets"], json!(1024.0));
        assert_eq!(p["Original Hash Buckets"], json!(512.0));
        assert_eq!(p["Hash Batches"], json!(4.0));
        assert_eq!(p["Original Hash Batches"], json!(1.0));
        assert_eq!(p["Peak Memory Usage"], json!(40.0));
        let v = one("HashAggregate\n  Group Key: name\n  Planned Partitions: 32  Batches: 193  Memory Usage: 4153kB  Disk Usage: 31752kB\n");
        let p = &v["Plan"];
        assert_eq!(p["Planned Partitions"], json!(32.0));
        assert_eq!(p["HashAgg Batches"], json!(193.0));
        assert_eq!(p["Disk Usage"], json!(31752.0));
        assert_eq!(p["Group Key"], json!(["name"]));
        // Old spelling: `I/O Timings: read=… write=…`.
        let v = one("Seq Scan on t\n  I/O Timings: read=1.25 write=0.5\n");
        assert_eq!(v["Plan"]["I/O Read Time"], json!(1.25));
        assert_eq!(v["Plan"]["I/O Write Time"], json!(0.5));
        let v = one(
            "Seq Scan on t\n  I/O Timings: shared/local read=16.962 write=0.018, temp read=1\n",
        );
        assert_eq!(v["Plan"]["I/O Read Time"], json!(16.962));
        assert_eq!(v["Plan"]["Temp I/O Read Time"], json!(1.0));
    }

    #[test]
    fn plan_level_lines() {
        let v = one(concat!(
            "Update on t  (cost=1..2 rows=0 width=0)\n",
            "  ->  Seq Scan on t  (cost=1..2 rows=1 width=4)\n",
            "Settings: search_path = 'public, magasin', work_mem = '8MB', x = 'it''s'\n",
            "Query Identifier: -5424821330993577306\n",
            "Planning:\n",
            "  Buffers: shared hit=91\n",
            "  Memory: used=20kB  allocated=32kB\n",
            "Planning Time: 0.291 ms\n",
            "Trigger RI_ConstraintTrigger_c_1 for constraint fk on t: time=18.814 calls=5000\n",
            "Trigger for constraint fk2: time=1.0 calls=2\n",
            "Trigger touch: calls=5\n",
            "JIT:\n",
            "  Functions: 10\n",
            "  Options: Inlining false, Optimization false, Expressions true, Deforming true\n",
            "  Timing: Generation 0.492 ms (Deform 0.134 ms), Inlining 0.000 ms, Total 4.442 ms\n",
            "Serialization: time=0.006 ms  output=1kB  format=text\n",
            "Execution Time: 57.758 ms\n",
        ));
        assert_eq!(v["Plan"]["Plans"][0]["Parent Relationship"], "Outer");
        assert_eq!(
            v["Settings"],
            json!({"search_path": "public, magasin", "work_mem": "8MB", "x": "it's"})
        );
        assert_eq!(v["Query Identifier"], "-5424821330993577306");
        assert_eq!(v["Planning"]["Shared Hit Blocks"], json!(91.0));
        assert_eq!(v["Planning"]["Memory Used"], json!(20.0));
        assert_eq!(v["Planning"]["Memory Allocated"], json!(32.0));
        assert_eq!(v["Planning Time"], json!(0.291));
        assert_eq!(v["Execution Time"], json!(57.758));
        assert_eq!(v["Triggers"][0]["Trigger Name"], "RI_ConstraintTrigger_c_1");
        assert_eq!(v["Triggers"][0]["Constraint Name"], "fk");
        assert_eq!(v["Triggers"][0]["Relation"], "t");
        assert_eq!(v["Triggers"][0]["Calls"], json!(5000.0));
        assert!(v["Triggers"][1].get("Trigger Name").is_none());
        assert_eq!(v["Triggers"][1]["Constraint Name"], "fk2");
        assert_eq!(v["Triggers"][2]["Trigger Name"], "touch");
        assert_eq!(v["JIT"]["Functions"], json!(10.0));
        assert_eq!(v["JIT"]["Options"]["Deforming"], true);
        assert_eq!(v["JIT"]["Timing"]["Generation"]["Deform"], json!(0.134));
        assert_eq!(v["JIT"]["Timing"]["Generation"]["Total"], json!(0.492));
        assert_eq!(v["JIT"]["Timing"]["Total"], json!(4.442));
        assert_eq!(v["Serialization"]["Output Volume"], json!(1.0));
        assert_eq!(v["Serialization"]["Format"], "text");
        let v = one("Result\nTotal runtime: 0.083 ms\n");
        assert_eq!(v["Execution Time"], json!(0.083));
    }

    #[test]
    fn wrapped_lines_are_joined() {
        let v = one(" Sort  (cos\nt=32.88..32.9\n6 rows=32 wid\nth=224) (actual time=0.532..0.532 \nrows=0 loops=1)\n   Sort Key: a\n   ->  Seq Scan on t  (cost=0.00..29.84 rows=64 width=73\n) (actual time=0.026..0.397 rows=128 loops=1)\n         Filter: (a >\n b)\n");
        let p = &v["Plan"];
        assert_eq!(p["Total Cost"], json!(32.96));
        assert_eq!(p["Plan Width"], json!(224.0));
        assert_eq!(p["Actual Rows"], json!(0.0));
        assert_eq!(p["Plans"][0]["Actual Rows"], json!(128.0));
        assert_eq!(p["Plans"][0]["Filter"], "(a > b)");
    }

    #[test]
    fn several_plans_and_surrounding_text() {
        let d = docs("db=# explain select 1;\n QUERY PLAN\n------\n Result\n(1 row)\n\nTime: 0.5 ms\n QUERY PLAN\n------\n Limit\n   ->  Result\n(2 rows)\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[1]["Plan"]["Node Type"], "Limit");
        assert!(d[0].get("Time").is_none());
        // Back to back, without a blank line.
        let d = docs("Result\nPlanning Time: 1 ms\nLimit\n  ->  Result\n");
        assert_eq!(d.len(), 2);
        let cleaned = clean("Result\n\nLimit\n  ->  Result\n");
        let r = parse(&cleaned).unwrap();
        assert_eq!(r[1].0, 3);
    }

    #[test]
    fn errors_name_a_line() {
        // Children of one node at different columns: the tree is ambiguous.
        let e = err("Append\n  ->  Seq Scan on a\n    ->  Seq Scan on b\n");
        assert_eq!(e.line, Some(3), "{e:?}");
        assert!(
            e.message.contains("inconsistent indentation"),
            "{}",
            e.message
        );
        let e =
            err("Append\n  ->  Seq Scan on a\n        ->  Seq Scan on b\n   ->  Seq Scan on c\n");
        assert_eq!(e.line, Some(4), "{e:?}");
        assert!(
            e.message.contains("inconsistent indentation"),
            "{}",
            e.message
        );
        // A child node without its arrow.
        let e = err("Limit\n  Seq Scan on t  (cost=1..2 rows=1 width=4)\n");
        assert_eq!(e.line, Some(2));
        // A bad buffers line.
        let e = err("Seq Scan on t\n  Buffers: shared lots=3\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("expected"), "{}", e.message);
        // A label with no node under it, then a property.
        let e = err("Result\n  InitPlan 1\n    Filter: x\n");
        assert_eq!(e.line, Some(3));
        // No plan at all.
        assert!(parse(&clean("hello\nworld\n")).is_err());
    }

    #[test]
    fn incremental_sort_groups() {
        let v = one("Incremental Sort\n  Sort Key: a, b\n  Presorted Key: a\n  Full-sort Groups: 1  Sort Method: quicksort  Average Memory: 123kB  Peak Memory: 234kB\n  Pre-sorted Groups: 5  Sort Methods: top-N heapsort, quicksort  Average Disk: 4kB  Peak Disk: 8kB\n");
        let p = &v["Plan"];
        assert_eq!(p["Presorted Key"], json!(["a"]));
        assert_eq!(p["Full-sort Groups"]["Group Count"], json!(1.0));
        assert_eq!(
            p["Full-sort Groups"]["Sort Methods Used"],
            json!(["quicksort"])
        );
        assert_eq!(
            p["Full-sort Groups"]["Sort Space Memory"]["Peak Sort Space Used"],
            json!(234.0)
        );
        assert_eq!(
            p["Pre-sorted Groups"]["Sort Methods Used"],
            json!(["top-N heapsort", "quicksort"])
        );
        assert_eq!(
            p["Pre-sorted Groups"]["Sort Space Disk"]["Average Sort Space Used"],
            json!(4.0)
        );
    }

    #[test]
    fn lost_indentation_is_an_error() {
        let e = err("Seq Scan on t\nFilter: (a = 1)\n");
        assert_eq!(e.line, Some(2));
        assert!(
            e.message.contains("indented under a plan node"),
            "{}",
            e.message
        );
        // Unknown plan-level lines are kept, not lost.
        let v = one("Result\nFrobnication: 3\n");
        assert_eq!(v["Frobnication"], json!(3.0));
    }

    #[test]
    fn label_lookalikes_in_wrapped_text() {
        // A wrapped filter whose second half starts with `SubPlan 1)`: a continuation.
        let v = one("Seq Scan on t\n  Filter: (a = (\nSubPlan 1))\n  SubPlan 1\n    ->  Result\n");
        assert_eq!(v["Plan"]["Filter"], "(a = (SubPlan 1))");
        assert_eq!(v["Plan"]["Plans"][0]["Subplan Name"], "SubPlan 1");
        assert!(is_label("InitPlan 3 (returns $2,$3)"));
        assert!(is_label("CTE \"my cte\""));
        assert!(!is_label("CTE Scan on x"));
        assert!(!is_label("SubPlan 1)"));
    }

    #[test]
    fn summary_lines_at_odd_columns() {
        let v = one("Seq Scan on t1 (cost=0.00..21370.00 rows=333333 width=22)\n   Disabled: true\n Settings: enable_seqscan = 'off'\n   Planning Time: 0.1 ms\n");
        assert_eq!(v["Plan"]["Disabled"], true);
        assert_eq!(v["Settings"]["enable_seqscan"], "off");
        assert_eq!(v["Planning Time"], json!(0.1));
        assert!(v["Plan"].get("Planning Time").is_none());
    }

    #[test]
    fn misplaced_detail_line_is_an_error() {
        let e = err("Limit\n  Buffers: shared hit=1\n  ->  Seq Scan on t\n     Filter: (a = 1)\n");
        assert_eq!(e.line, Some(4), "{e:?}");
        let e = err("Limit\n  ->  Seq Scan on t\n     Filter: (a = 1)\n");
        assert_eq!(e.line, Some(3), "{e:?}");
        let e = err("Limit\n  Filter: (a = 1)\n   ->  Seq Scan on t\n");
        assert_eq!(e.line, Some(3), "{e:?}");
        assert!(
            e.message.contains("inconsistent indentation"),
            "{}",
            e.message
        );
    }

    #[test]
    fn damaged_top_node_is_an_error() {
        let e = err("Bitmap Heap Sc\nan on t\n  ->  Bitmap Index Scan on i\n");
        // "an on t" continues the damaged first line; the error names where the damage starts.
        assert_eq!(e.line, Some(1), "{e:?}");
        // A fragment starting with a child node is fine on its own.
        let v = one("->  Seq Scan on t\n      Filter: (a = 1)\n");
        assert_eq!(v["Plan"]["Filter"], "(a = 1)");
    }

    #[test]
    fn errors_map_to_original_lines() {
        let c = clean("   QUERY PLAN\n-----------\n Limit\n   Seq Scan on t  (cost=1..2 rows=1 width=4)\n(2 rows)\n");
        let e = parse(&c).unwrap_err();
        assert_eq!(c.original_line(e.line.unwrap()), 4);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for t in [
            "->",
            "-> ",
            "->  (",
            "Seq Scan on \"",
            "Seq Scan on t  (cost=",
            "Seq Scan on t  (cost=1..)",
            "Worker 0:",
            "Result\n  Worker 0:  actual",
            "Result\n  Worker 99999999999999999999:",
            "InitPlan 1",
            "Result\n ->  é (cost=1..2 rows=1 width=1)",
            "Result\n  Buckets: x",
            "Result\n  Sort Method:",
            "Result\nSettings: a = 'b",
            "Result\nTrigger : ",
            "Result\n  ->  Result\n ->  Result",
            "é\u{301}  (cost=1..2 rows=1 width=1)",
            "Custom Scan (x",
            "Result\nJIT:\n  Timing: Generation",
            "Result\n  I/O Timings: read=",
        ] {
            let _ = parse(&clean(t));
        }
    }
}
