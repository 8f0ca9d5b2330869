//! SQL text (the query `diagnose` ran, `Query Text`, SQL quoted in findings) rewritten token by
//! token with the project's SQL lexer (`sql::lex`).

use super::names::{self, KeywordClass};
use super::{unquote, Anonymizer, NameKind};
use crate::sql::lex::{Kind, Lexer, Token};

/// Whose SQL it is, which decides what in it is user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlSource {
    /// A user's query: every name and constant is theirs.
    Query,
    /// SQL that pgdiag wrote as advice (`CREATE INDEX CONCURRENTLY ON orders (status)`,
    /// `SELECT pg_cancel_backend(123)`, `` count `backend_type = 'parallel worker'` ``): its
    /// words, literals and numbers are pgdiag's, except the names and values it took from the
    /// plan or the statistics (already replaced elsewhere, so known here) and the role or
    /// database it names (`ALTER ROLE app SET …`).
    Advice,
}

impl Anonymizer {
    /// `SELECT * FROM orders o WHERE o.email = 'a@b.c' LIMIT 5` →
    /// `SELECT * FROM table_1 alias_1 WHERE alias_1.column_1 = 'literal_1' LIMIT 1001`.
    /// Comments are emptied except `-- pgdiag:` directives. Text the lexer cannot read past (an
    /// unterminated quote) is dropped.
    pub fn sql(&mut self, src: &str, source: SqlSource) -> String {
        let mut out = String::with_capacity(src.len() + 16);
        let mut toks: Vec<Token> = Vec::new();
        let mut unreadable = false;
        for t in Lexer::new(src) {
            match t {
                Ok(t) => toks.push(t),
                Err(_) => {
                    unreadable = true;
                    break;
                }
            }
        }
        let significant: Vec<usize> = (0..toks.len()).filter(|&i| !toks[i].is_comment()).collect();
        // Whether the current statement is a CREATE (`CREATE INDEX … ON name`).
        let mut create = false;
        // The kind each significant token was given, to classify the words after it.
        let mut given: Vec<Option<NameKind>> = vec![None; toks.len()];
        let mut last_end = 0;
        let mut sig_pos: usize = 0;
        for (i, t) in toks.iter().enumerate() {
            out.push_str(&src[last_end..t.start]);
            last_end = t.end;
            let text = t.text(src);
            if t.is_comment() {
                let c = self.comment(t.kind, text);
                out.push_str(&c);
                continue;
            }
            let k = sig_pos;
            sig_pos += 1;
            let prev = |n: usize| {
                k.checked_sub(n)
                    .map(|p| (&toks[significant[p]], significant[p]))
            };
            let next = significant.get(k + 1).map(|&n| &toks[n]);
            if prev(1).is_none_or(|(p, _)| p.is_punct(src, b';')) {
                create = t.is_word(src, "create");
            }
            if source == SqlSource::Advice {
                out.push_str(&self.advice_token(t, src, prev(1)));
                continue;
            }
            match t.kind {
                Kind::Word | Kind::QuotedIdent => {
                    let (r, kind) = self.sql_word(t, src, prev(1), create, next, &given);
                    given[i] = kind;
                    out.push_str(&r);
                }
                // A user's `SET application_name = 'billing'` is user data like any value.
                Kind::String | Kind::DollarString | Kind::Number => {
                    if t.kind == Kind::Number {
                        out.push_str(&self.number(text));
                    } else {
                        out.push('\'');
                        out.push_str(&self.literal(&literal_content(t.kind, text)));
                        out.push('\'');
                    }
                }
                Kind::Meta => out.push('\\'),
                Kind::CopyData { .. } => {}
                Kind::Param | Kind::Punct => out.push_str(text),
                Kind::LineComment | Kind::BlockComment => {}
            }
        }
        if unreadable {
            out.push_str(" …");
        } else {
            out.push_str(&src[last_end..]);
        }
        out
    }

    /// A token of pgdiag's advice: replaced only when it is a known name or value, or the
    /// role or database an `ALTER ROLE`/`ALTER DATABASE` names.
    fn advice_token(&mut self, t: &Token, src: &str, prev: Option<(&Token, usize)>) -> String {
        let text = t.text(src);
        match t.kind {
            Kind::Word | Kind::QuotedIdent => {
                let name = if t.kind == Kind::QuotedIdent {
                    unquote(text).into_owned()
                } else {
                    text.to_ascii_lowercase()
                };
                if let Some(p) = self.known(&name).or_else(|| self.known(text)) {
                    return p.to_string();
                }
                let named = |w: &str| prev.is_some_and(|(p, _)| p.is_word(src, w));
                let is_name = name.chars().any(char::is_alphanumeric);
                if is_name && (named("role") || named("user")) {
                    self.name(&name, NameKind::Role)
                } else if is_name && named("database") {
                    self.name(&name, NameKind::Database)
                } else {
                    text.to_string()
                }
            }
            Kind::String | Kind::DollarString => {
                match self.known_literal(&literal_content(t.kind, text)) {
                    Some(p) => format!("'{p}'"),
                    None => text.to_string(),
                }
            }
            Kind::Number => self.known_number(text).unwrap_or_else(|| text.to_string()),
            Kind::LineComment | Kind::BlockComment => self.comment(t.kind, text),
            _ => text.to_string(),
        }
    }

    /// One word: its replacement, and the kind it was given when it is a name.
    fn sql_word(
        &mut self,
        t: &Token,
        src: &str,
        prev: Option<(&Token, usize)>,
        create: bool,
        next: Option<&Token>,
        given: &[Option<NameKind>],
    ) -> (String, Option<NameKind>) {
        let text = t.text(src);
        let quoted = t.kind == Kind::QuotedIdent;
        let after_dot = prev.is_some_and(|(p, _)| p.is_punct(src, b'.'));
        let before_dot = next.is_some_and(|n| n.is_punct(src, b'.'));
        let call = next.is_some_and(|n| n.is_punct(src, b'('));
        // Unquoted names fold to lower case, as PostgreSQL reads them.
        let name = if quoted {
            unquote(text.trim_start_matches("U&")).into_owned()
        } else {
            text.to_ascii_lowercase()
        };
        if !quoted && prev.is_some_and(|(p, _)| is_setting_name(src, t, p)) {
            return (text.to_string(), None);
        }
        if !quoted && !after_dot {
            let keyword = names::keyword(text);
            if keyword == Some(KeywordClass::Reserved) {
                return (text.to_string(), None);
            }
            // An unreserved keyword is a name only when the plan used it as one.
            if let Some(p) = self.known(&name) {
                return (p.to_string(), Some(NameKind::Column));
            }
            if keyword.is_some()
                || names::is_setting(&name)
                || (before_dot && names::is_system_schema(&name))
            {
                return (text.to_string(), None);
            }
            if call && names::is_builtin_function(&name) {
                return (text.to_string(), None);
            }
            let after_cast = prev.is_some_and(|(p, _)| p.is_punct(src, b':'));
            if names::is_builtin_type(&name) && (after_cast || !call) && self.known(&name).is_none()
            {
                return (text.to_string(), None);
            }
        }
        if let Some(p) = self.known(&name) {
            return (p.to_string(), Some(NameKind::Column));
        }
        let prev_word = |w: &str| prev.is_some_and(|(p, _)| p.is_word(src, w));
        let kind = if prev_word("on") && create {
            // `CREATE INDEX … ON name (…)`.
            NameKind::Table
        } else if call {
            NameKind::Function
        } else if prev_word("role") || prev_word("user") {
            NameKind::Role
        } else if prev_word("database") {
            NameKind::Database
        } else if prev_word("index") || prev_word("concurrently") {
            NameKind::Index
        } else if after_dot {
            NameKind::Column
        } else if ["from", "join", "update", "into", "table", "only"]
            .iter()
            .any(|w| prev_word(w))
        {
            NameKind::Table
        } else if before_dot
            || prev_word("as")
            || prev.is_some_and(|(_, i)| given[i] == Some(NameKind::Table))
        {
            NameKind::Alias
        } else {
            NameKind::Column
        };
        (self.name(&name, kind), Some(kind))
    }
}

impl Anonymizer {
    /// A comment's replacement: `-- pgdiag:` directives stay (they say which rules were
    /// silenced), their reason rewritten like a sentence; other comments lose their text.
    fn comment(&mut self, kind: Kind, text: &str) -> String {
        let body = text.trim_start_matches("--").trim_start();
        match body.strip_prefix("pgdiag:") {
            Some(rest) if kind == Kind::LineComment => {
                format!("-- pgdiag:{}", self.prose(rest, &[]))
            }
            _ if kind == Kind::LineComment => "--".to_string(),
            _ => "/* */".to_string(),
        }
    }
}

/// The value of a string literal token: without its prefix (`E`, `U&`, `B`, `X`, `N`), quotes
/// and doubled quotes; a dollar-quoted string without its tags.
fn literal_content(kind: Kind, text: &str) -> String {
    if kind == Kind::DollarString {
        let tag_len = text[1..].find('$').map(|i| i + 2).unwrap_or(text.len());
        let end = text.len().saturating_sub(tag_len).max(tag_len);
        return text[tag_len.min(text.len())..end].to_string();
    }
    let escapes = text.starts_with(['E', 'e']);
    let Some(open) = text.find('\'') else {
        return text.to_string();
    };
    let inner = &text[open + 1..];
    let inner = inner.strip_suffix('\'').unwrap_or(inner);
    let mut s = inner.replace("''", "'");
    if escapes {
        s = s.replace("\\'", "'");
    }
    s
}

/// A server setting's name after `SET` (not a column of `UPDATE … SET`: the name must be one of
/// PostgreSQL's settings).
fn is_setting_name(src: &str, t: &Token, prev: &Token) -> bool {
    t.kind == Kind::Word && prev.is_word(src, "set") && names::is_setting(t.text(src))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(s: &str) -> String {
        Anonymizer::new().sql(s, SqlSource::Query)
    }

    #[test]
    fn a_query_keeps_its_shape_and_loses_its_names_and_values() {
        assert_eq!(
            anon("SELECT o.id, count(*) FROM orders o WHERE o.email = 'alice@example.com' AND o.n > 5 GROUP BY 1"),
            "SELECT alias_1.column_1, count(*) FROM table_1 alias_1 WHERE alias_1.column_2 = 'literal_1' AND alias_1.column_3 > 1001 GROUP BY 1002"
        );
        assert_eq!(
            anon("select * from \"Accounts\" where note = E'it\\'s' -- secret\n"),
            "select * from table_1 where column_1 = 'literal_1' --\n"
        );
        assert_eq!(
            anon("SELECT $$dollar secret$$, x::text FROM t -- pgdiag: ignore P001"),
            "SELECT 'literal_1', column_1::text FROM table_1 -- pgdiag: ignore P001"
        );
        assert_eq!(
            anon("SELECT 1 FROM tiny -- pgdiag: ignore P001 tiny stays small"),
            "SELECT 1001 FROM table_1 -- pgdiag: ignore P001 table_1 stays small"
        );
    }

    #[test]
    fn plan_names_win_over_unreserved_keywords_and_values_match_the_plan() {
        let mut a = Anonymizer::new();
        a.name("name", NameKind::Column);
        a.literal("x");
        assert_eq!(
            a.sql("SELECT Name FROM t WHERE name = 'x'", SqlSource::Query),
            "SELECT column_1 FROM table_1 WHERE column_1 = 'literal_1'"
        );
    }

    #[test]
    fn advice_sql_replaces_only_known_names_and_values() {
        let mut a = Anonymizer::new();
        a.name("big", NameKind::Table);
        a.name("c", NameKind::Column);
        assert_eq!(
            a.sql(
                "ALTER ROLE app SET work_mem = '64MB'; SELECT pg_cancel_backend(42); CREATE INDEX ON big (c)",
                SqlSource::Advice
            ),
            "ALTER ROLE role_1 SET work_mem = '64MB'; SELECT pg_cancel_backend(42); CREATE INDEX ON table_1 (column_1)"
        );
        a.literal("x");
        assert_eq!(
            a.sql(
                "count backend_type = 'parallel worker' in pg_stat_activity; ALTER ROLE … SET jit = off; x = 'x'",
                SqlSource::Advice
            ),
            "count backend_type = 'parallel worker' in pg_stat_activity; ALTER ROLE … SET jit = off; x = 'literal_1'"
        );
    }
}
