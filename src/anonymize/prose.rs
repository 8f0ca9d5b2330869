//! Sentences (finding messages and advice, errors, database notes) rewritten with the mapping:
//! the plan expressions they quote, SQL between backticks, parenthesised conditions, quoted
//! values and names, and names already seen as whole words. Other numbers are measurements and
//! stay.

use super::sql::SqlSource;
use super::{Anonymizer, NameKind};

/// Short English words pgdiag's own sentences use: a name spelled like one is replaced only where
/// it reads as code, so `a` in "by a bitmap" stays while `a` in "sorting by a, d" does not.
const ENGLISH: &[&str] = &[
    "a", "an", "the", "of", "on", "in", "at", "by", "to", "is", "it", "its", "as", "or", "and",
    "for", "no", "not", "all", "any", "one", "so", "be", "if", "do", "up", "off", "out", "per",
    "than", "then", "this", "that", "with", "from", "into", "only", "was", "were", "has", "have",
    "time", "rows", "loops", "read", "hit", "index", "table", "filter", "sort", "hash", "key",
    "size", "memory", "disk", "data", "name", "value", "type", "count", "total", "plan", "query",
    "order", "group", "limit", "ms", "here", "more", "most", "less", "each", "every", "them",
];

/// Characters next to a word that make it code rather than prose.
fn is_code_char(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '(' | ')' | '=' | '<' | '>' | '[' | ']' | ':' | '+' | '-' | '*' | '/' | '~'
    )
}

/// Operators as PostgreSQL prints them: a parenthesised group holding one is an expression,
/// not an aside.
const CONDITION_MARKS: &[&str] = &["=", "<", ">", "~~", "::", " % ", " + ", " - ", " * ", " / "];

impl Anonymizer {
    /// `text` with the mapping applied. `exprs` are (original, anonymised) plan expressions the
    /// text may quote verbatim; they are replaced whole, numbers included.
    pub fn prose(&mut self, text: &str, exprs: &[(String, String)]) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        // Backticks enclose SQL (pgdiag's advice, or a session's query).
        let parts: Vec<&str> = text.split('`').collect();
        let closed = parts.len() % 2 == 1;
        for (i, part) in parts.iter().enumerate() {
            let in_ticks = i % 2 == 1 && (closed || i + 1 < parts.len());
            if i > 0 {
                out.push('`');
            }
            if in_ticks {
                // A session's query is quoted as `… on `q`` or `last query `q``.
                let before = parts[i - 1];
                let session = before.ends_with("query ") || before.ends_with(" on ");
                let source = if session || is_users_query(part) {
                    SqlSource::Query
                } else {
                    SqlSource::Advice
                };
                out.push_str(&self.sql(part, source));
            } else {
                self.sentence(part, exprs, &mut out);
            }
        }
        out
    }

    /// Text outside backticks.
    fn sentence(&mut self, text: &str, exprs: &[(String, String)], out: &mut String) {
        // `…; last query: SELECT …` (a session's query quoted to the end of the message).
        const LAST_QUERY: &str = "last query: ";
        if let Some(at) = text.find(LAST_QUERY) {
            self.sentence(&text[..at], exprs, out);
            out.push_str(LAST_QUERY);
            out.push_str(&self.sql(&text[at + LAST_QUERY.len()..], SqlSource::Query));
            return;
        }
        let mut rest = text;
        while !rest.is_empty() {
            match find_expression(rest, exprs) {
                Some((at, len, anon)) => {
                    self.words(&rest[..at], out);
                    out.push_str(anon);
                    rest = &rest[at + len..];
                }
                None => {
                    self.words(rest, out);
                    break;
                }
            }
        }
    }

    /// Parenthesised conditions as expressions; everything else word by word.
    fn words(&mut self, text: &str, out: &mut String) {
        let mut rest = text;
        while let Some(open) = rest.find('(') {
            let Some(len) = group_len(&rest[open..]) else {
                break;
            };
            let group = &rest[open..open + len];
            // A condition quoted from the plan: its values were replaced there, so the numbers
            // known as values are replaced here too. In an aside, numbers are measurements.
            let condition = CONDITION_MARKS.iter().any(|m| group.contains(m));
            self.plain_words(&rest[..open], out, false);
            self.plain_words(group, out, condition);
            rest = &rest[open + len..];
        }
        self.plain_words(rest, out, false);
    }

    /// Quoted values and names, `role@database`, and known names as whole words; with
    /// `known_numbers`, numbers replaced elsewhere as values.
    fn plain_words(&mut self, text: &str, out: &mut String, known_numbers: bool) {
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        // Whether the last word was a name: a word right after one is its alias (`orders o`).
        let mut after_name = false;
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            let prev = i.checked_sub(1).map(|p| chars[p].1);
            if c == '\'' && !prev.is_some_and(char::is_alphanumeric) {
                if let Some(end) = closing_quote(&chars, i, '\'') {
                    let inner = &text[at + 1..chars[end].0];
                    out.push('\'');
                    out.push_str(&self.literal(&inner.replace("''", "'")));
                    out.push('\'');
                    i = end + 1;
                    continue;
                }
            }
            if c == '"' {
                if let Some(end) = closing_quote(&chars, i, '"') {
                    let inner = text[at + 1..chars[end].0].replace("\"\"", "\"");
                    out.push('"');
                    if is_plan_key(&inner) {
                        out.push_str(&inner);
                    } else {
                        out.push_str(&self.name(&inner, NameKind::Name));
                    }
                    out.push('"');
                    i = end + 1;
                    continue;
                }
            }
            // `e.g.`, `i.e.`: not a qualified name.
            let abbreviation = ["e.g.", "i.e."].iter().find(|a| text[at..].starts_with(*a));
            if let (Some(a), false) = (abbreviation, prev.is_some_and(char::is_alphanumeric)) {
                out.push_str(a);
                i += a.len();
                continue;
            }
            if known_numbers && c.is_ascii_digit() && !prev.is_some_and(char::is_alphanumeric) {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].1.is_ascii_digit()
                        || (chars[j].1 == '.'
                            && chars.get(j + 1).is_some_and(|x| x.1.is_ascii_digit())))
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |x| x.0);
                let number = &text[at..end];
                let standalone = !chars.get(j).is_some_and(|x| x.1.is_alphanumeric());
                match self.known_number(number) {
                    Some(p) if standalone => out.push_str(&p),
                    _ => out.push_str(number),
                }
                i = j;
                continue;
            }
            // `join's`: the `s` of a possessive, not a name.
            if prev == Some('\'') && c.is_alphanumeric() {
                let mut j = i;
                while j < chars.len() && chars[j].1.is_alphanumeric() {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |x| x.0);
                out.push_str(&text[at..end]);
                i = j;
                continue;
            }
            if c.is_alphanumeric() || c == '_' {
                let mut j = i;
                while j < chars.len()
                    && (chars[j].1.is_alphanumeric() || matches!(chars[j].1, '_' | '$'))
                {
                    j += 1;
                }
                let end = chars.get(j).map_or(text.len(), |x| x.0);
                let word = &text[at..end];
                let next = chars.get(j).map(|x| x.1);
                let after = chars.get(j + 1).map(|x| x.1);
                let alias_spot = after_name && prev == Some(' ');
                let r = self.prose_word(word, prev, next, after, alias_spot);
                after_name = r != word;
                out.push_str(&r);
                i = j;
                continue;
            }
            if !c.is_whitespace() {
                after_name = false;
            }
            out.push(c);
            i += 1;
        }
    }

    fn prose_word(
        &mut self,
        word: &str,
        prev: Option<char>,
        next: Option<char>,
        after: Option<char>,
        alias_spot: bool,
    ) -> String {
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            return word.to_string();
        }
        // `role@database`, as session descriptions print them.
        if next == Some('@') && after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            return self.name(word, NameKind::Role);
        }
        if prev == Some('@') {
            return self.name(word, NameKind::Database);
        }
        let Some(p) = self.known(word) else {
            return word.to_string();
        };
        let code = alias_spot || prev.is_some_and(is_code_char) || next.is_some_and(is_code_char);
        if ENGLISH.contains(&word) && !code {
            return word.to_string();
        }
        p.to_string()
    }
}

/// A key of EXPLAIN's text format as a parse error quotes it (`"Sort Key:"`): capitalised words
/// and a colon, which no unquoted user name has.
fn is_plan_key(s: &str) -> bool {
    s.strip_suffix(':').is_some_and(|k| {
        !k.is_empty()
            && k.split(' ').all(|w| {
                w.starts_with(|c: char| c.is_ascii_uppercase())
                    && w.chars().all(|c| c.is_ascii_alphabetic() || c == '/')
            })
    })
}

/// A query a session ran, as opposed to a statement pgdiag proposes.
fn is_users_query(sql: &str) -> bool {
    let first = sql.split_whitespace().next().unwrap_or("");
    let starts_query = [
        "select", "with", "insert", "update", "delete", "values", "table",
    ]
    .iter()
    .any(|k| first.eq_ignore_ascii_case(k));
    let pgdiag_call = sql
        .trim_start()
        .get(..10)
        .is_some_and(|p| p.eq_ignore_ascii_case("select pg_"));
    starts_query && !pgdiag_call
}

/// The first of `exprs` in `text` (standing alone, not inside a longer word): its byte offset,
/// its length, and its replacement. The longest wins at the same offset.
fn find_expression<'e>(
    text: &str,
    exprs: &'e [(String, String)],
) -> Option<(usize, usize, &'e str)> {
    let mut best: Option<(usize, usize, &str)> = None;
    for (orig, anon) in exprs {
        let mut from = 0;
        while let Some(pos) = text[from..].find(orig.as_str()) {
            let at = from + pos;
            let end = at + orig.len();
            let word_char = |c: char| c.is_alphanumeric() || c == '_';
            let clean_start = !orig.starts_with(word_char)
                || !text[..at].chars().next_back().is_some_and(word_char);
            let clean_end =
                !orig.ends_with(word_char) || !text[end..].chars().next().is_some_and(word_char);
            if clean_start && clean_end {
                if best.is_none_or(|(b, l, _)| at < b || (at == b && orig.len() > l)) {
                    best = Some((at, orig.len(), anon.as_str()));
                }
                break;
            }
            from = at + orig.chars().next().map_or(1, char::len_utf8);
        }
    }
    best
}

/// Length of the balanced `(…)` group `s` starts with (quotes respected), if it closes.
fn group_len(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Index of the quote closing the one at `open` (a doubled quote is part of the text).
fn closing_quote(chars: &[(usize, char)], open: usize, q: char) -> Option<usize> {
    let mut j = open + 1;
    while j < chars.len() {
        if chars[j].1 == q {
            if chars.get(j + 1).is_some_and(|x| x.1 == q) {
                j += 2;
                continue;
            }
            return Some(j);
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Anonymizer {
        let mut a = Anonymizer::new();
        a.name("big", NameKind::Table);
        a.name("a", NameKind::Column);
        a.name("c", NameKind::Column);
        a.name("big_pkey", NameKind::Index);
        a
    }

    #[test]
    fn quoted_expressions_lose_their_values_and_measurements_stay() {
        let mut a = known();
        let exprs = vec![(
            "(c = 'v12345'::text)".to_string(),
            a.expression("(c = 'v12345'::text)"),
        )];
        assert_eq!(
            a.prose(
                "Seq Scan on big read 1,000,000 rows, keeping 20; Filter: (c = 'v12345'::text) (115.2 ms, 100.0% of the query)",
                &exprs
            ),
            "Seq Scan on table_1 read 1,000,000 rows, keeping 20; Filter: (column_2 = 'literal_1'::text) (115.2 ms, 100.0% of the query)"
        );
        a.number("100");
        assert_eq!(
            a.prose("rechecked against (a < 100); 845,464 rows removed", &[]),
            "rechecked against (column_1 < 1001); 845,464 rows removed"
        );
        // A measurement in an aside stays, even when the same number was a value.
        assert_eq!(a.prose("(100 ms)", &[]), "(100 ms)");
    }

    #[test]
    fn english_words_stay_unless_they_read_as_code() {
        let mut a = known();
        assert_eq!(
            a.prose("found by a bitmap, sorting by a, c using big_pkey", &[]),
            "found by a bitmap, sorting by column_1, column_2 using index_1"
        );
        assert_eq!(
            a.prose("the planner's estimate (big.a) isn't 'secret'", &[]),
            "the planner's estimate (table_1.column_1) isn't 'literal_1'"
        );
        a.name("g", NameKind::Cte);
        a.name("s", NameKind::Alias);
        assert_eq!(
            a.prose("the join's own work (e.g. `g.x`)", &[]),
            "the join's own work (e.g. `cte_1.x`)"
        );
    }

    #[test]
    fn sql_in_backticks_and_sessions() {
        let mut a = known();
        assert_eq!(
            a.prose(
                "Add `CREATE INDEX CONCURRENTLY ON big (c)`; pid 7 (app@shop, application \"billing\"), last query: SELECT * FROM big WHERE id = 42",
                &[]
            ),
            "Add `CREATE INDEX CONCURRENTLY ON table_1 (column_2)`; pid 7 (role_1@database_1, application \"name_1\"), last query: SELECT * FROM table_1 WHERE column_3 = 1001"
        );
        assert_eq!(
            a.prose(
                "expected \"Sort Key:\" under a node, found \"big foo\"",
                &[]
            ),
            "expected \"Sort Key:\" under a node, found \"name_2\""
        );
        // 42 was a value of the query above: the same number in advice is replaced too.
        assert_eq!(
            a.prose("cancel it: `SELECT pg_cancel_backend(42);`", &[]),
            "cancel it: `SELECT pg_cancel_backend(1001);`"
        );
        let mut fresh = known();
        assert_eq!(
            fresh.prose("cancel it: `SELECT pg_cancel_backend(42);`", &[]),
            "cancel it: `SELECT pg_cancel_backend(42);`"
        );
    }
}
