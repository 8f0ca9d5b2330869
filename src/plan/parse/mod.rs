//! Reading plans: detect the format, undo what psql added around it, and build the model.
//!
//! Data flows one way: bytes → (psql decorations removed) → JSON-shaped plan → model (`json.rs`)
//! → derived figures (`derive.rs`). Every format ends in `json.rs`, so the same statement gives the
//! same model whatever format it was printed in.

mod decimal;
pub mod doc;
pub mod json;
mod json_reader;
mod json_split;
pub mod psql;
pub mod text;
pub mod xml;
pub mod yaml;

use std::fmt;

use crate::plan::derive::derive;
use crate::plan::model::Plan;

/// The formats EXPLAIN prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Text,
    Yaml,
    Xml,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Text => "text",
            Format::Yaml => "yaml",
            Format::Xml => "xml",
        }
    }
}

/// An error inside one format reader: the line (1-based, in the text the reader was given) and
/// what was expected there.
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedError {
    pub line: Option<usize>,
    pub message: String,
}

impl LocatedError {
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        LocatedError {
            line: Some(line),
            message: message.into(),
        }
    }
    pub fn nowhere(message: impl Into<String>) -> Self {
        LocatedError {
            line: None,
            message: message.into(),
        }
    }
}

/// A plan source that could not be read: which source, which line of it, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub source: String,
    pub line: Option<usize>,
    pub format: Option<Format>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: ", self.source, l)?,
            None => write!(f, "{}: ", self.source)?,
        }
        if let Some(fmt) = self.format {
            write!(f, "cannot read {} plan: ", fmt.name())?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Guess the format of (psql-cleaned) plan text from its first meaningful characters.
///
/// A pasted JSON, YAML or XML plan may follow a line or two that is not part of it (the psql
/// prompt and the statement, `$ explain (format yaml) …`): when the text does not start like a
/// plan, the first line that does start a JSON, YAML or XML document decides, provided it comes
/// before anything that looks like a text plan node.
pub fn detect_format(text: &str) -> Format {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(f) = document_format(t) {
        return f;
    }
    document_start(text).map_or(Format::Text, |(_, f)| f)
}

/// The format a document starting at `t` (trimmed) is in, if it starts like a non-text plan.
fn document_format(t: &str) -> Option<Format> {
    // `- Plan:` from EXPLAIN; `Query Text:` first from auto_explain.
    let y = t.strip_prefix('-').map_or(t, str::trim_start);
    let yaml = y.starts_with("Plan:") || y.starts_with("Query Text:");
    if t.starts_with('[') || t.starts_with('{') {
        Some(Format::Json)
    } else if t.starts_with("<?xml") || t.starts_with("<explain") {
        Some(Format::Xml)
    } else if yaml {
        Some(Format::Yaml)
    } else {
        None
    }
}

/// The byte offset of the first line starting a JSON/YAML/XML document, and its format, when it
/// comes before any line that looks like a text plan node. A JSON start must be a line of its
/// own (`[`, `{`, `[{`…), so a text plan's bracketed lines are not taken for one.
fn document_start(text: &str) -> Option<(usize, Format)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        // psql's continuation mark, when this runs before cleaning (` [     +`).
        let t = t.strip_suffix('+').map_or(t, str::trim_end);
        if t.contains("(cost=") || t.contains("(actual ") || t.starts_with("->") {
            return None;
        }
        let json_like = t == "[" || t == "{" || t.starts_with("[{") || t.starts_with("{\"Plan\"");
        match document_format(t) {
            Some(Format::Json) if !json_like => {}
            Some(f) => return Some((offset, f)),
            None => {}
        }
        offset += line.len();
    }
    None
}

/// `text` with the lines before its JSON/YAML/XML document blanked (kept as empty lines, so line
/// numbers in errors still count from the top of the input).
fn blank_prelude(text: &str) -> std::borrow::Cow<'_, str> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if document_format(t).is_some() {
        return std::borrow::Cow::Borrowed(text);
    }
    match document_start(text) {
        Some((offset, _)) if offset > 0 => {
            let newlines = text[..offset].matches('\n').count();
            let mut s = "\n".repeat(newlines);
            s.push_str(&text[offset..]);
            std::borrow::Cow::Owned(s)
        }
        _ => std::borrow::Cow::Borrowed(text),
    }
}

/// Read every plan in `text`, whatever its format; `source` names it in errors and reports.
pub fn parse_source(source: &str, text: &str) -> Result<Vec<Plan>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fail = |format: Option<Format>, e: LocatedError| ParseError {
        source: source.to_string(),
        line: e.line,
        format,
        message: e.message,
    };
    // Fast path: a bare JSON document needs no cleaning (and no copy of a 100 MB file).
    let direct = document_format(text.trim_start());
    // A session pasted with its psql prompt (`[123]user@db=# …`) also starts with `[`: when the
    // bare JSON does not parse, try again after cleaning, unless the cleaned text is JSON too.
    let direct_json = (direct == Some(Format::Json)).then(|| json::parse_plans(text));
    let direct_json = match direct_json {
        Some(Err(e))
            if document_format(psql::clean(text).text.trim_start()) == Some(Format::Json) =>
        {
            return Err(fail(Some(Format::Json), json_error(&e, None)));
        }
        other => other.and_then(Result::ok),
    };
    let (format, plans, line_of) = if let Some(plans) = direct_json {
        (Format::Json, plans, None)
    } else {
        // Blank what precedes a JSON/YAML/XML document before psql cleaning too: a shell prompt
        // or an echoed statement (`$ explain (format yaml) …`, a statement's second line) would
        // otherwise be taken for plan text and change how the document's lines are cleaned.
        let raw = blank_prelude(text);
        let mut cleaned = psql::clean(&raw);
        let format = detect_format(&cleaned.text);
        if format != Format::Text {
            if let std::borrow::Cow::Owned(s) = blank_prelude(&cleaned.text) {
                cleaned.text = std::borrow::Cow::Owned(s);
            }
        }
        let map = |e: LocatedError| LocatedError {
            line: e.line.map(|l| cleaned.original_line(l)),
            message: e.message,
        };
        let plans = match format {
            Format::Json => json::parse_plans(&cleaned.text)
                .map(|mut plans| {
                    // Lines found by the reader (several documents) are lines of the cleaned text.
                    for p in &mut plans {
                        if p.line != 0 {
                            p.line = cleaned.original_line(p.line);
                        }
                    }
                    plans
                })
                .map_err(|e| json_error(&e, Some(&cleaned))),
            Format::Text => text::plans(&cleaned),
            Format::Yaml => yaml::parse(&cleaned.text).map_err(map).and_then(|v| {
                json::plans_from_value(v).map_err(|e| LocatedError::nowhere(e.to_string()))
            }),
            Format::Xml => xml::parse(&cleaned.text).map_err(map).and_then(|v| {
                json::plans_from_value(v).map_err(|e| LocatedError::nowhere(e.to_string()))
            }),
        }
        .map_err(|e| fail(Some(format), e))?;
        // The plan starts on the first line that is not blank (a prelude was blanked above).
        let first = cleaned
            .lines()
            .find(|(_, l)| !l.trim().is_empty())
            .map_or_else(|| cleaned.first_line(), |(n, _)| n);
        (format, plans, Some(first))
    };
    let mut plans = plans;
    for (i, p) in plans.iter_mut().enumerate() {
        p.source = source.to_string();
        p.format = format.name().to_string();
        p.index_in_source = i;
        if p.line == 0 {
            p.line = line_of.unwrap_or(1);
        }
        derive(p);
    }
    if plans.is_empty() {
        return Err(fail(Some(format), LocatedError::nowhere("no plan found")));
    }
    Ok(plans)
}

/// Turn a serde_json error into a located one, mapping its line back through psql cleaning.
fn json_error(e: &serde_json::Error, cleaned: Option<&psql::Cleaned<'_>>) -> LocatedError {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; we print the line ourselves.
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let line = if e.line() == 0 {
        None
    } else {
        Some(match cleaned {
            Some(c) => c.original_line(e.line()),
            None => e.line(),
        })
    };
    LocatedError {
        line,
        message: format!(
            "{msg}{}",
            if e.column() > 0 {
                format!(" (column {})", e.column())
            } else {
                String::new()
            }
        ),
    }
}
