//! `--anonymize`: a finished report with every user name and value replaced by a placeholder, so
//! plans can be pasted into tickets.
//!
//! The report's data is rewritten, not its rendering, so every output format is anonymised by
//! construction. One [`Anonymizer`] serves a whole run: the same name or value gets the same
//! placeholder in every plan, finding and query of it, and placeholders are numbered in order of
//! first appearance in a fixed walk of the report, so two runs print the same thing.
//!
//! What is replaced and what is kept:
//! - Names (tables, schemas, aliases, indexes, CTEs, columns, user functions, triggers,
//!   constraints, roles, databases) become `table_1`, `column_3`, `index_2`, … A name gets the
//!   kind it was first seen as (an alias equal to its table's name stays `table_1`).
//! - String literals become `'literal_4'`; one that holds a number, and numeric constants, become
//!   numbers from 1001 up (so they still read as numbers). Array literals keep their shape:
//!   `'{1001,literal_2}'`.
//! - Kept: keywords, operators, built-in functions and types (see `names`), the system schemas
//!   `public`, `pg_catalog`, `information_schema` and `pg_toast`, node types, the measured figures
//!   (rows, costs, times, buffers), rule ids, settings other than `search_path`, and
//!   `PlanReport.source` (a path the user chose).
//! - Finding texts quote plan expressions and names in sentences; they are rewritten with the same
//!   mapping (`prose`). Numbers in them are measurements, replaced only inside a quoted plan
//!   expression or a session's query. A name that is also a short English word (`a`, `time`, …)
//!   is replaced in a sentence only where it reads as code (next to `.`, `,`, `(`, `)`, an
//!   operator, or right after another name). SQL that pgdiag proposes (between backticks) keeps
//!   its own words and values; only names and values known from the plan, and the roles and
//!   databases it names, are replaced.
//! - A user's SQL (the query `diagnose` ran, `Query Text`, a session's query) loses every name and
//!   value, `SET` values included; comments are emptied except `-- pgdiag:` directives.
//! - An error keeps its location (`file:line:`) and wording; a server error's DETAIL, which prints
//!   row values unquoted, is left out.
//! - Names share one namespace, so a word is one placeholder everywhere: a column `b` and an alias
//!   `b` print the same placeholder, of the kind first seen.

mod expr;
mod names;
mod prose;
mod report;
mod sql;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use report::anonymize_report;

/// `report` anonymised for printing; with `map_file`, the mapping is written there (JSON).
pub fn for_output(
    report: &crate::report::Report,
    map_file: Option<&std::path::Path>,
) -> anyhow::Result<crate::report::Report> {
    let (anonymized, mapping) = anonymize_report(report);
    if let Some(path) = map_file {
        let json = serde_json::to_string_pretty(&mapping)?;
        std::fs::write(path, json + "\n")
            .map_err(|e| anyhow::anyhow!("{}: cannot write the mapping: {e}", path.display()))?;
    }
    Ok(anonymized)
}

/// What a name was first seen as; it sets the placeholder's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameKind {
    Table,
    Schema,
    Alias,
    Index,
    Cte,
    Column,
    Function,
    Trigger,
    Constraint,
    Role,
    Database,
    /// A quoted name in a sentence whose role is unknown (an application name).
    Name,
}

impl NameKind {
    fn prefix(self) -> &'static str {
        match self {
            NameKind::Table => "table",
            NameKind::Schema => "schema",
            NameKind::Alias => "alias",
            NameKind::Index => "index",
            NameKind::Cte => "cte",
            NameKind::Column => "column",
            NameKind::Function => "function",
            NameKind::Trigger => "trigger",
            NameKind::Constraint => "constraint",
            NameKind::Role => "role",
            NameKind::Database => "database",
            NameKind::Name => "name",
        }
    }
}

/// One replaced name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedName {
    pub kind: NameKind,
    pub original: String,
    pub placeholder: String,
}

/// One replaced value: a string literal's content, or a number as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedValue {
    pub original: String,
    pub placeholder: String,
}

/// Everything replaced in a run, in order of first appearance: what `--anonymize-map` writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    pub names: Vec<MappedName>,
    /// String literals: `original` is the content without quotes, `placeholder` too.
    pub literals: Vec<MappedValue>,
    pub numbers: Vec<MappedValue>,
}

/// Placeholders handed out so far. Names are matched exactly, as PostgreSQL prints them
/// (unquoted names are lower case); SQL text folds its unquoted words before asking.
#[derive(Debug, Default)]
pub struct Anonymizer {
    names: HashMap<String, usize>,
    literals: HashMap<String, usize>,
    numbers: HashMap<String, usize>,
    per_kind: HashMap<NameKind, usize>,
    mapping: Mapping,
}

/// First number handed out for numeric constants: a value no one reads as a real measurement.
const FIRST_NUMBER: usize = 1001;

impl Anonymizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// What was replaced so far.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// The placeholder of a name already seen.
    pub fn known(&self, original: &str) -> Option<&str> {
        self.names
            .get(original)
            .map(|&i| self.mapping.names[i].placeholder.as_str())
    }

    /// The placeholder of `original`, given one of `kind` if it is new.
    pub fn name(&mut self, original: &str, kind: NameKind) -> String {
        if let Some(p) = self.known(original) {
            return p.to_string();
        }
        let n = self.per_kind.entry(kind).or_insert(0);
        *n += 1;
        let placeholder = format!("{}_{n}", kind.prefix());
        self.names
            .insert(original.to_string(), self.mapping.names.len());
        self.mapping.names.push(MappedName {
            kind,
            original: original.to_string(),
            placeholder: placeholder.clone(),
        });
        placeholder
    }

    /// A schema name: kept when it is a system schema.
    pub fn schema(&mut self, original: &str) -> String {
        if names::is_system_schema(original) {
            original.to_string()
        } else {
            self.name(original, NameKind::Schema)
        }
    }

    /// A function name: kept when built in.
    pub fn function(&mut self, original: &str) -> String {
        if self.known(original).is_none() && names::is_builtin_function(original) {
            original.to_string()
        } else {
            self.name(original, NameKind::Function)
        }
    }

    /// `schema.name` or `name`, the name of `kind`.
    pub fn qualified(&mut self, original: &str, kind: NameKind) -> String {
        match original.split_once('.') {
            Some((schema, name)) if !schema.is_empty() && !name.is_empty() => {
                let s = self.schema(unquote(schema).as_ref());
                format!("{s}.{}", self.name(unquote(name).as_ref(), kind))
            }
            _ => self.name(unquote(original).as_ref(), kind),
        }
    }

    /// A number as printed (`42`, `3.5`, `-1e3`): its placeholder, a number of the same kind
    /// (integer or not).
    pub fn number(&mut self, original: &str) -> String {
        let i = match self.numbers.get(original) {
            Some(&i) => i,
            None => {
                let i = self.mapping.numbers.len();
                let n = FIRST_NUMBER + i;
                let integer = original
                    .trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit());
                let placeholder = if integer {
                    n.to_string()
                } else {
                    format!("{n}.5")
                };
                self.numbers.insert(original.to_string(), i);
                self.mapping.numbers.push(MappedValue {
                    original: original.to_string(),
                    placeholder,
                });
                i
            }
        };
        self.mapping.numbers[i].placeholder.clone()
    }

    /// The placeholder of a number already replaced.
    pub fn known_number(&self, original: &str) -> Option<String> {
        self.numbers
            .get(original)
            .map(|&i| self.mapping.numbers[i].placeholder.clone())
    }

    /// The placeholder of a string literal's content already replaced.
    pub fn known_literal(&self, content: &str) -> Option<String> {
        if looks_numeric(content) {
            return self.known_number(content);
        }
        self.literals
            .get(content)
            .map(|&i| self.mapping.literals[i].placeholder.clone())
    }

    /// The placeholder for a string literal's content (without quotes): a number for numeric
    /// content, an array of placeholders for an array literal, else `literal_N`.
    pub fn literal(&mut self, content: &str) -> String {
        if looks_numeric(content) {
            return self.number(content);
        }
        if content.starts_with('{') && content.ends_with('}') {
            return self.array(content);
        }
        if let Some(&i) = self.literals.get(content) {
            return self.mapping.literals[i].placeholder.clone();
        }
        let i = self.mapping.literals.len();
        let placeholder = format!("literal_{}", i + 1);
        self.literals.insert(content.to_string(), i);
        self.mapping.literals.push(MappedValue {
            original: content.to_string(),
            placeholder: placeholder.clone(),
        });
        placeholder
    }

    /// `{1,2,"a b",NULL}` → `{1001,1002,literal_1,NULL}`: elements replaced one by one, braces
    /// and commas kept.
    fn array(&mut self, content: &str) -> String {
        let mut out = String::with_capacity(content.len());
        let mut element = String::new();
        // Inside `"…"`, and whether the current element was quoted (a quoted `"NULL"` is text).
        let mut in_quotes = false;
        let mut was_quoted = false;
        let mut chars = content.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    in_quotes = !in_quotes;
                    was_quoted = true;
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        element.push(n);
                    }
                }
                '{' | '}' | ',' if !in_quotes => {
                    self.array_element(&element, was_quoted, &mut out);
                    element.clear();
                    was_quoted = false;
                    out.push(c);
                }
                _ => element.push(c),
            }
        }
        self.array_element(&element, was_quoted, &mut out);
        out
    }

    fn array_element(&mut self, element: &str, quoted: bool, out: &mut String) {
        let t = element.trim();
        if t.is_empty() && !quoted {
            return;
        }
        if !quoted && t.eq_ignore_ascii_case("null") {
            out.push_str(t);
        } else {
            out.push_str(&self.literal(t));
        }
    }
}

/// `"Foo ""x"""` → `Foo "x"`; an unquoted name as it is.
fn unquote(s: &str) -> std::borrow::Cow<'_, str> {
    match s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\"").into(),
        None => s.into(),
    }
}

/// A literal whose content is a plain number (`'42'::integer`, `'-1.5'::numeric`).
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    !t.is_empty()
        && t.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && t.parse::<f64>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_their_first_placeholder_and_kinds_count_separately() {
        let mut a = Anonymizer::new();
        assert_eq!(a.name("orders", NameKind::Table), "table_1");
        assert_eq!(a.name("o", NameKind::Alias), "alias_1");
        assert_eq!(a.name("orders", NameKind::Alias), "table_1");
        assert_eq!(a.name("status", NameKind::Column), "column_1");
        assert_eq!(a.name("big", NameKind::Table), "table_2");
        assert_eq!(a.schema("public"), "public");
        assert_eq!(a.schema("sales"), "schema_1");
        assert_eq!(a.function("lower"), "lower");
        assert_eq!(a.function("child_touch"), "function_1");
        assert_eq!(
            a.qualified("sales.orders", NameKind::Table),
            "schema_1.table_1"
        );
        assert_eq!(a.mapping().names.len(), 6);
    }

    /// Every rewriter on `s`, with a fresh mapping.
    fn all_rewrites(s: &str) -> (String, String, String, String, Mapping) {
        let mut a = Anonymizer::new();
        let e = a.expression(s);
        let q = a.sql(s, sql::SqlSource::Query);
        let d = a.sql(s, sql::SqlSource::Advice);
        let p = a.prose(s, &[(s.to_string(), e.clone())]);
        (e, q, d, p, a.mapping)
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_rewritten_without_panic_and_the_same_way_twice(s in "\\PC{0,80}") {
            proptest::prop_assert_eq!(all_rewrites(&s), all_rewrites(&s));
        }

        #[test]
        fn any_sql_like_text_too(s in "[()a-z_. '=<>:~%$0-9é\\[\\]\"`@{},;E-]{0,60}") {
            proptest::prop_assert_eq!(all_rewrites(&s), all_rewrites(&s));
        }
    }

    #[test]
    fn deep_nesting_is_no_crash() {
        let deep = format!("{}a = 1{}", "(".repeat(20_000), ")".repeat(20_000));
        let aside = format!("{}x{}", "(".repeat(20_000), ")".repeat(20_000));
        let (e, q, _, p, _) = all_rewrites(&deep);
        assert!(e.contains("column_1 = 1001"));
        assert!(q.contains("column_1 = 1001"));
        assert!(p.contains("column_1 = 1001"));
        all_rewrites(&aside);
        assert_eq!(Anonymizer::new().prose(&aside, &[]), aside);
    }

    #[test]
    fn values_become_stable_placeholders_of_the_same_shape() {
        let mut a = Anonymizer::new();
        assert_eq!(a.literal("shipped"), "literal_1");
        assert_eq!(a.literal("42"), "1001");
        assert_eq!(a.number("42"), "1001");
        assert_eq!(a.number("2.5"), "1002.5");
        assert_eq!(a.literal("shipped"), "literal_1");
        assert_eq!(
            a.literal("{1,x,\"a b\",NULL}"),
            "{1003,literal_2,literal_3,NULL}"
        );
        assert_eq!(a.literal("{}"), "{}");
    }
}
