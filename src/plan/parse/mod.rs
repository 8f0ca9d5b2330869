//! Reading plans: detect the format, undo what psql added around it, and build the model.
//!
//! Data flows one way: bytes → (psql decorations removed) → JSON-shaped plan → model (`json.rs`)
//! → derived figures (`derive.rs`). Every format ends in `json.rs`, so the same statement gives the
//! same model whatever format it was printed in.

pub mod json;
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
pub fn detect_format(text: &str) -> Format {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('[') || t.starts_with('{') {
        Format::Json
    } else if t.starts_with("<?xml") || t.starts_with("<explain") {
        Format::Xml
    } else if t.starts_with("- Plan:") || t.starts_with("Plan:") || t.starts_with("-   Plan:") {
        Format::Yaml
    } else {
        Format::Text
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
    let direct = detect_format(text);
    // A session pasted with its psql prompt (`[123]user@db=# …`) also starts with `[`: when the
    // bare JSON does not parse, try again after cleaning, unless the cleaned text is JSON too.
    let direct_json = (direct == Format::Json).then(|| json::parse_plans(text));
    let direct_json = match direct_json {
        Some(Err(e)) if detect_format(&psql::clean(text).text) == Format::Json => {
            return Err(fail(Some(Format::Json), json_error(&e, None)));
        }
        other => other.and_then(Result::ok),
    };
    let (format, plans, line_of) = if let Some(plans) = direct_json {
        (Format::Json, plans, None)
    } else {
        let cleaned = psql::clean(text);
        let format = detect_format(&cleaned.text);
        let map = |e: LocatedError| LocatedError {
            line: e.line.map(|l| cleaned.original_line(l)),
            message: e.message,
        };
        let plans = match format {
            Format::Json => {
                json::parse_plans(&cleaned.text).map_err(|e| json_error(&e, Some(&cleaned)))
            }
            Format::Text => text::parse(&cleaned).map_err(map).and_then(|vals| {
                let mut plans = Vec::new();
                for (line, v) in vals {
                    let mut ps = json::plans_from_value(v).map_err(|e| {
                        LocatedError::at(cleaned.original_line(line), e.to_string())
                    })?;
                    for p in &mut ps {
                        p.line = cleaned.original_line(line);
                    }
                    plans.extend(ps);
                }
                Ok(plans)
            }),
            Format::Yaml => yaml::parse(&cleaned.text).map_err(map).and_then(|v| {
                json::plans_from_value(v).map_err(|e| LocatedError::nowhere(e.to_string()))
            }),
            Format::Xml => xml::parse(&cleaned.text).map_err(map).and_then(|v| {
                json::plans_from_value(v).map_err(|e| LocatedError::nowhere(e.to_string()))
            }),
        }
        .map_err(|e| fail(Some(format), e))?;
        (format, plans, Some(cleaned.first_line()))
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
fn json_error(e: &serde_json::Error, cleaned: Option<&psql::Cleaned>) -> LocatedError {
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
