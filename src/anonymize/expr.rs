//! Plan expressions (`Filter`, `Index Cond`, `Sort Key`, `Output`, …) rewritten token by token,
//! with the tokenizer the rules read them with (`rules::predicate`).

use super::names::{self, KeywordClass};
use super::{unquote, Anonymizer, NameKind};
use crate::rules::predicate::{scan, Kind};

impl Anonymizer {
    /// `((status = 'shipped'::text) AND (o.total > 100))` →
    /// `((column_1 = 'literal_1'::text) AND (alias_1.column_2 > 1001))`.
    pub fn expression(&mut self, s: &str) -> String {
        let mut toks: Vec<(Kind, &str)> = Vec::new();
        scan(s, |k, t| toks.push((k, t)));
        // Positions of the tokens that are not blanks, to look at neighbours.
        let solid: Vec<usize> = (0..toks.len())
            .filter(|&i| toks[i].0 != Kind::Space)
            .collect();
        let mut out = String::with_capacity(s.len() + 16);
        // After `::`: a type name, its extra words and its modifiers are kept.
        let mut in_type = false;
        let mut typmod_depth = 0usize;
        for (k, &i) in solid.iter().enumerate() {
            // Blanks before this token, as they were.
            let from = if k == 0 { 0 } else { solid[k - 1] + 1 };
            for t in &toks[from..i] {
                out.push_str(t.1);
            }
            let (kind, text) = toks[i];
            let prev = k.checked_sub(1).map(|p| toks[solid[p]]);
            let next = solid.get(k + 1).map(|&n| toks[n]);
            if typmod_depth > 0 {
                match kind {
                    Kind::Open => typmod_depth += 1,
                    Kind::Close => typmod_depth -= 1,
                    _ => {}
                }
                out.push_str(text);
                continue;
            }
            if in_type {
                let type_name = kind == Kind::Ident
                    && (prev.is_some_and(|p| p.0 == Kind::Cast) || names::is_type_word(text));
                if type_name {
                    out.push_str(text);
                    continue;
                }
                in_type = false;
                if kind == Kind::Open && text == "(" {
                    typmod_depth = 1;
                    out.push_str(text);
                    continue;
                }
            }
            match kind {
                Kind::Cast => {
                    in_type = true;
                    out.push_str(text);
                }
                Kind::Ident => {
                    let r = self.expression_word(text, prev, next);
                    out.push_str(&r);
                }
                Kind::Other if text.starts_with('\'') => {
                    let content = text
                        .strip_prefix('\'')
                        .map(|x| x.strip_suffix('\'').unwrap_or(x))
                        .unwrap_or(text)
                        .replace("''", "'");
                    out.push('\'');
                    out.push_str(&self.literal(&content));
                    out.push('\'');
                }
                Kind::Other if text.starts_with(|c: char| c.is_ascii_digit()) => {
                    // `SubPlan 1`, `InitPlan 2`: the plan's own numbering, not a value.
                    let plan_number = prev.is_some_and(|p| {
                        p.1.eq_ignore_ascii_case("subplan") || p.1.eq_ignore_ascii_case("initplan")
                    });
                    if plan_number {
                        out.push_str(text);
                    } else {
                        out.push_str(&self.number(text));
                    }
                }
                _ => out.push_str(text),
            }
        }
        if let Some(&last) = solid.last() {
            for t in &toks[last + 1..] {
                out.push_str(t.1);
            }
        } else {
            out.push_str(s);
        }
        out
    }

    /// One word of an expression: kept (keyword, built-in function, system schema) or replaced.
    fn expression_word(
        &mut self,
        text: &str,
        prev: Option<(Kind, &str)>,
        next: Option<(Kind, &str)>,
    ) -> String {
        let quoted = text.starts_with('"');
        let name = unquote(text);
        let name = name.as_ref();
        let after_dot = prev.is_some_and(|p| p.0 == Kind::Dot);
        let before_dot = next.is_some_and(|n| n.0 == Kind::Dot);
        let call = next.is_some_and(|n| n.0 == Kind::Open && n.1 == "(");
        if !quoted && !after_dot {
            // PostgreSQL quotes a name that is a reserved keyword or has an upper-case letter, so
            // a bare one is its own vocabulary (`PARTIAL sum(x)`, `SubPlan 1`, `NULLS FIRST`).
            if names::keyword(text) == Some(KeywordClass::Reserved)
                || names::is_plan_word(text)
                || text.bytes().any(|b| b.is_ascii_uppercase())
            {
                return text.to_string();
            }
            let after_nulls = prev.is_some_and(|p| p.1.eq_ignore_ascii_case("nulls"));
            if after_nulls
                && (text.eq_ignore_ascii_case("first") || text.eq_ignore_ascii_case("last"))
            {
                return text.to_string();
            }
            if before_dot && names::is_system_schema(text) {
                return text.to_string();
            }
            // An operator class in an index key (`email text_pattern_ops`).
            if text.ends_with("_ops") && prev.is_some_and(|p| p.0 == Kind::Ident) {
                return text.to_string();
            }
        }
        if call {
            return self.function(name);
        }
        let kind = if after_dot {
            NameKind::Column
        } else if before_dot {
            NameKind::Alias
        } else {
            NameKind::Column
        };
        self.name(name, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(s: &str) -> String {
        Anonymizer::new().expression(s)
    }

    #[test]
    fn names_and_values_are_replaced_and_postgresql_words_kept() {
        assert_eq!(
            anon("((o.status = 'shipped'::text) AND (o.total > 100))"),
            "((alias_1.column_1 = 'literal_1'::text) AND (alias_1.column_2 > 1001))"
        );
        assert_eq!(
            anon("(lower(email) ~~ 'ab%'::text)"),
            "(lower(column_1) ~~ 'literal_1'::text)"
        );
        assert_eq!(
            anon("(id = ANY ('{1,2,3}'::integer[]))"),
            "(column_1 = ANY ('{1001,1002,1003}'::integer[]))"
        );
        assert_eq!(
            anon("(created > '2024-01-01 00:00:00'::timestamp without time zone)"),
            "(column_1 > 'literal_1'::timestamp without time zone)"
        );
        assert_eq!(
            anon("((amount)::numeric(10,2) > '5'::numeric)"),
            "((column_1)::numeric(10,2) > '1001'::numeric)"
        );
    }

    #[test]
    fn plan_vocabulary_survives() {
        assert_eq!(anon("(NOT (hashed SubPlan 1))"), "(NOT (hashed SubPlan 1))");
        assert_eq!(
            anon("big.c DESC NULLS LAST"),
            "alias_1.column_1 DESC NULLS LAST"
        );
        assert_eq!(
            anon("(x IS NULL) OR (pg_catalog.my_fn(y) = $1)"),
            "(column_1 IS NULL) OR (pg_catalog.function_1(column_2) = $1)"
        );
        assert_eq!(
            anon("(\"Weird Name\" = 'it''s')"),
            "(column_1 = 'literal_1')"
        );
    }

    #[test]
    fn same_name_same_placeholder_across_expressions() {
        let mut a = Anonymizer::new();
        a.name("orders", NameKind::Table);
        assert_eq!(
            a.expression("(orders.id = b.order_id)"),
            "(table_1.column_1 = alias_1.column_2)"
        );
        assert_eq!(a.expression("orders.id"), "table_1.column_1");
    }
}
