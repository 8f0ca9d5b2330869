//! `seq-scan-large-table`: a Seq Scan (parallel or not) that reads many rows and whose filter
//! throws most of them away, with the index that would fix it.
//!
//! Measured over all loops (`Rows Removed by Filter` and `Actual Rows` are per-loop averages):
//! rows read = rows removed + rows returned. Fires when rows read ≥ `min_rows_read` and
//! removed / read ≥ `min_discard_ratio`. A scan that keeps most of its table is the right plan and
//! stays quiet; a plan without ANALYZE has no removed-row counts and stays quiet too.
//!
//! The suggested index comes from the filter (see `predicate.rs`): equality columns first, then
//! range columns, then the sort order of a Sort directly above the scan (through Gather/Result/
//! Materialize only), without repeats. Columns the query reads (the scan's `Output`, printed by
//! VERBOSE) that are not keys, plus filter columns a btree cannot use, go to `INCLUDE (…)` when
//! they are plain columns and at most `max_include_columns` of them, so an index-only scan can
//! serve. An `OR` filter gets one index per branch (combined by a BitmapOr) or, if a branch cannot
//! be indexed, a plain explanation; a filter nothing can be read from gets its column list only.

use super::predicate::{self, index_columns, Analysis, Cond, IndexKey};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use super::util::{own_names, push_count, push_one_decimal, push_pct, relation_name};
use super::{Finding, RuleCtx};
use crate::plan::{Node, Plan};

pub fn check(plan: &Plan, ctx: &RuleCtx, nodes: Range<usize>, out: &mut Vec<Finding>) {
    let min_read = ctx.threshold("min_rows_read");
    let min_ratio = ctx.threshold("min_discard_ratio");
    let max_include = ctx.threshold("max_include_columns");
    let mut analyses = Analyses::default();
    for node in &plan.nodes[nodes] {
        if node.node_type != "Seq Scan" || node.never_executed {
            continue;
        }
        let (Some(removed), Some(returned)) = (
            node.rows_removed_by_filter.map(|r| r * node.loops()),
            node.total_actual_rows(),
        ) else {
            continue;
        };
        let read = removed + returned;
        if read <= 0.0 || read < min_read {
            continue;
        }
        let ratio = removed / read;
        if ratio < min_ratio {
            continue;
        }
        report(
            plan,
            ctx,
            node,
            removed,
            returned,
            ratio,
            max_include,
            &mut analyses,
            out,
        );
    }
}

/// Filters already read, by filter text and the scan's names that occur in it: a big plan is big
/// because thousands of partitions repeat the same few filters, each under its own relation name.
/// `predicate::analyze` reads the scan's names only to recognise qualifiers, so a name that does
/// not occur in the filter (ASCII case aside) cannot change the result and stays out of the key.
#[derive(Default)]
struct Analyses<'p> {
    by_filter: HashMap<(&'p str, Vec<&'p str>), Analysis>,
}

impl<'p> Analyses<'p> {
    fn of(&mut self, filter: &'p str, own: &[&'p str]) -> &Analysis {
        let names_in_filter: Vec<&str> = own
            .iter()
            .copied()
            .filter(|name| contains_ignore_ascii_case(filter, name))
            .collect();
        self.by_filter
            .entry((filter, names_in_filter))
            .or_insert_with(|| predicate::analyze(filter, own))
    }
}

fn contains_ignore_ascii_case(text: &str, part: &str) -> bool {
    let (text, part) = (text.as_bytes(), part.as_bytes());
    let Some((first, rest)) = part.split_first() else {
        return true;
    };
    // Compared in full only where the first byte matches (this runs for every scan checked).
    (0..text.len().saturating_sub(rest.len())).any(|i| {
        text[i].eq_ignore_ascii_case(first)
            && text[i + 1..i + part.len()].eq_ignore_ascii_case(rest)
    })
}

/// What to build for one scan.
#[derive(Debug, Default)]
pub(crate) struct Suggestion {
    /// `CREATE INDEX …` statements (one, or one per OR branch).
    pub statements: Vec<String>,
    pub columns: Vec<String>,
    pub include: Vec<String>,
    /// Explanation of the column order and caveats (most are fixed sentences, not copied).
    pub notes: Vec<Cow<'static, str>>,
}

#[allow(clippy::too_many_arguments)]
fn report<'p>(
    plan: &Plan,
    ctx: &RuleCtx,
    node: &'p Node,
    removed: f64,
    returned: f64,
    ratio: f64,
    max_include: f64,
    analyses: &mut Analyses<'p>,
    out: &mut Vec<Finding>,
) {
    let filter = node.filter.as_deref().unwrap_or("");
    let own = own_names(node);
    let analysis = analyses.of(filter, &own);
    let sort = sort_keys_above(plan, node.id, &own);
    let table = relation_name(node).unwrap_or_else(|| "the table".to_string());
    let mut sug = suggest(
        &table,
        analysis,
        &sort,
        &node.output,
        &own,
        max_include as usize,
    );

    // Message and advice are written piece by piece into one buffer each (this rule can fire on
    // thousands of partitions): no `format!` string per piece.
    let loops = node.loops();
    let mut message = String::with_capacity(160 + filter.len());
    node.write_label(&mut message);
    message.push_str(" read ");
    push_count(&mut message, removed + returned);
    message.push_str(" rows");
    if loops > 1.0 {
        message.push_str(if node.parallel_aware {
            " across "
        } else {
            " over "
        });
        push_count(&mut message, loops);
        message.push_str(if node.parallel_aware {
            " parallel processes"
        } else {
            " loops"
        });
    }
    message.push_str(" and its filter discarded ");
    push_count(&mut message, removed);
    message.push_str(" of them (");
    push_pct(&mut message, ratio);
    message.push_str("), keeping ");
    push_count(&mut message, returned);
    if !filter.is_empty() {
        message.push_str("; Filter: ");
        message.push_str(filter);
    }
    if let Some(ms) = node.inclusive_ms {
        message.push_str(" (");
        push_one_decimal(&mut message, ms);
        message.push_str(" ms");
        if let Some(share) = node.time_share {
            message.push_str(", ");
            push_pct(&mut message, share);
            message.push_str(" of the query");
        }
        message.push(')');
    }

    let mut advice = String::with_capacity(
        800 + sug.statements.iter().map(String::len).sum::<usize>()
            + sug.notes.iter().map(|n| n.len()).sum::<usize>(),
    );
    match sug.statements.len() {
        0 => advice.push_str("No condition in the filter can use a btree index as written."),
        1 => {
            advice.push_str("Create an index so PostgreSQL reads only the matching rows: `");
            advice.push_str(&sug.statements[0]);
            advice.push_str("`.");
        }
        _ => {
            advice.push_str(
                "The filter is an OR, which one btree index cannot serve; one index per branch \
                 lets PostgreSQL combine them with a BitmapOr: ",
            );
            for (i, st) in sug.statements.iter().enumerate() {
                if i > 0 {
                    advice.push_str(" and ");
                }
                advice.push('`');
                advice.push_str(st);
                advice.push('`');
            }
            advice.push('.');
        }
    }
    for n in &sug.notes {
        advice.push(' ');
        advice.push_str(n);
    }
    // `~~` is LIKE, `~~*` ILIKE, `~` and `~*` regular expressions (spaces around them: `!~~` is
    // NOT LIKE, which a trigram index cannot serve).
    if sug.statements.is_empty()
        && [" ~~ ", " ~~* ", " ~ ", " ~* "]
            .iter()
            .any(|op| filter.contains(op))
    {
        advice.push_str(
            " A LIKE, ILIKE or regular-expression match without a fixed prefix can use a \
             trigram index: `CREATE EXTENSION pg_trgm;` then `CREATE INDEX … USING gin (<column> \
             gin_trgm_ops)`.",
        );
    }
    if !sug.statements.is_empty() {
        advice.push_str(" CONCURRENTLY avoids blocking writes on a live table; check the plan again afterwards.");
    }
    // The advice as trimmed text, without copying it when (as usual) there is nothing to trim.
    let trimmed = advice.trim();
    let advice = if trimmed.len() == advice.len() {
        advice
    } else {
        trimmed.to_string()
    };

    let mut f = ctx
        .finding(plan, Some(node.id))
        .message(message)
        .advice(advice)
        .evidence("rows_read", removed + returned)
        .evidence("rows_removed", removed)
        .evidence("rows_returned", returned)
        .evidence("discard_ratio", ratio)
        .evidence("loops", loops)
        .evidence("index_columns", std::mem::take(&mut sug.columns))
        .evidence("filter_columns", analysis.columns());
    if !filter.is_empty() {
        f = f.evidence("filter", filter);
    }
    if !sug.include.is_empty() {
        f = f.evidence("include_columns", std::mem::take(&mut sug.include));
    }
    match sug.statements.len() {
        0 => {}
        1 => f = f.evidence("suggested_index", sug.statements.swap_remove(0)),
        _ => f = f.evidence("suggested_indexes", std::mem::take(&mut sug.statements)),
    }
    if let Some(ms) = node.inclusive_ms {
        f = f.evidence("scan_ms", ms);
    }
    f.push(out);
}

/// The index (or indexes) for a filter on `table`, given the sort order above and the columns read.
pub(crate) fn suggest(
    table: &str,
    a: &Analysis,
    sort: &[IndexKey],
    output: &[String],
    own: &[&str],
    max_include: usize,
) -> Suggestion {
    let mut s = Suggestion::default();
    // The keys borrowed from the analysis (copied only into the index's column list).
    let eq: Vec<&IndexKey> = a
        .conds
        .iter()
        .filter_map(|c| match c {
            Cond::Eq(k) => Some(k),
            _ => None,
        })
        .collect();
    let range: Vec<&IndexKey> = a
        .conds
        .iter()
        .filter_map(|c| match c {
            Cond::Range(k) => Some(k),
            _ => None,
        })
        .collect();
    let ors = a.ors();
    if eq.is_empty() && range.is_empty() {
        // Only OR groups or unusable terms.
        if let Some(branches) = ors.first() {
            let mut stmts = Vec::new();
            let mut all = true;
            for b in branches.iter() {
                let ba = Analysis { conds: b.clone() };
                let cols = index_columns(&ba.equality(), &ba.range(), &[]);
                if cols.is_empty() {
                    all = false;
                    break;
                }
                let stmt = create(table, &cols, &[]);
                if !stmts.contains(&stmt) {
                    stmts.push(stmt);
                }
            }
            if all && !stmts.is_empty() {
                s.statements = stmts;
                s.notes.push(
                    "Alternatively, if one branch is a fixed condition, a partial index \
                     (`… WHERE <that condition>`) or rewriting the OR as a UNION ALL of indexed \
                     queries may serve better."
                        .into(),
                );
            } else {
                s.notes.push(format!(
                    "The filter is an OR with a branch no btree can serve, so an index may not help; \
                     consider a partial index or rewriting the OR as a UNION of queries that can \
                     each use an index. Columns it reads: {}.",
                    join_or_none(&a.columns())
                ).into());
            }
            return s;
        }
        let cols = a.columns();
        s.notes.push(if cols.is_empty() {
            "Nothing in the filter could be mapped to a table column; look at the condition: \
             can it be written as `column <op> constant`?"
                .into()
        } else {
            format!(
                "The filter reads {}; conditions such as `<>`, a LIKE with a leading wildcard or a \
                 comparison between two columns cannot use a btree. Rewrite the condition as \
                 `column <op> constant` or a prefix match, index an expression that matches it \
                 exactly, or use a partial index (`WHERE <condition>`) if the condition is fixed.",
                join_or_none(&cols)
            )
            .into()
        });
        return s;
    }

    let keys = predicate::index_columns_in_order(
        eq.iter().copied().chain(range.iter().copied()).chain(sort),
    );
    s.columns = keys.iter().map(|k| k.text.clone()).collect();
    // INCLUDE: the other columns the query reads, when all are plain columns.
    let key_cols: Vec<&str> = keys.iter().filter_map(|k| k.column.as_deref()).collect();
    let mut include: Vec<String> = Vec::new();
    let mut include_ok = !output.is_empty();
    for o in output {
        match plain_output_column(o, own) {
            Some(c) => {
                if !key_cols.contains(&c.as_str()) {
                    predicate::push_unique(&mut include, c);
                }
            }
            None => include_ok = false,
        }
    }
    if include_ok {
        for (cols, _) in a.residuals() {
            for c in cols {
                if !key_cols.contains(&c.as_str()) {
                    predicate::push_unique(&mut include, c.clone());
                }
            }
        }
        for b in &ors {
            for c in predicate::or_columns(b) {
                if !key_cols.contains(&c.as_str()) {
                    predicate::push_unique(&mut include, c);
                }
            }
        }
    }
    if !include_ok || include.len() > max_include {
        include.clear();
    }
    s.statements.push(create(table, &keys, &include));
    s.include = include;
    let include = &s.include;

    let mut order = String::with_capacity(160);
    order.push_str("Column order: ");
    let sort_refs: Vec<&IndexKey> = sort.iter().collect();
    // An index hands rows over in the order of its columns after the equality ones only if no
    // range column comes first (a range on the leading sort column itself keeps the order).
    let sorted_by_index = match range.as_slice() {
        [] => true,
        [only] => sort.first().is_some_and(|k| k.same_target(only)),
        _ => false,
    };
    let mut first = true;
    for (keys, what, after) in [
        (&eq, "equality columns first", ")"),
        (&range, "range columns", ")"),
        (&sort_refs, "the sort order of the Sort above", ""),
    ] {
        if keys.is_empty() {
            continue;
        }
        if !first {
            order.push_str(", then ");
        }
        first = false;
        order.push_str(what);
        order.push_str(" (");
        push_key_texts(&mut order, keys.iter().copied());
        order.push_str(after);
    }
    if !sort_refs.is_empty() {
        if sorted_by_index {
            order.push_str("), so the index returns rows already sorted");
        } else {
            // The index that would return the rows in order: equality columns, then the sort.
            let in_order = predicate::index_columns_in_order(eq.iter().copied().chain(sort));
            order.push_str(
                "); after a range column an index cannot return rows in that order, so the Sort \
                 stays: an index on (",
            );
            push_key_texts(&mut order, in_order.iter());
            order.push_str(
                ") would avoid it, but reads the whole index to apply the range (worth it when a \
                 LIMIT stops the scan early)",
            );
        }
    }
    order.push('.');
    // A one-column index without a sort above has no order to explain.
    if keys.len() > 1 || !sort_refs.is_empty() {
        s.notes.push(order.into());
    }
    if keys.iter().any(|k| k.text.contains("_pattern_ops")) {
        s.notes.push(
            "The `*_pattern_ops` operator class lets a prefix LIKE use the index whatever the \
             database collation (not needed with the C collation)."
                .into(),
        );
    }
    if keys
        .iter()
        .any(|k| k.column.is_none() && k.text.starts_with('('))
    {
        s.notes.push(
            "An expression index serves only queries that use the very same expression; run \
             ANALYZE afterwards so the planner has statistics on it."
                .into(),
        );
    }
    if !include.is_empty() {
        s.notes.push(
            format!(
            "INCLUDE ({}) adds the other columns the query reads, so an index-only scan can answer \
             without visiting the table (as long as VACUUM keeps the visibility map current).",
            include.join(", ")
        )
            .into(),
        );
    }
    let residual_columns = a.conds.iter().any(|c| match c {
        Cond::Residual { columns, .. } => !columns.is_empty(),
        _ => false,
    });
    if residual_columns || !ors.is_empty() {
        s.notes.push(
            "The rest of the filter (conditions a btree cannot use, or OR groups) stays a filter on \
             the rows the index returns."
                .into(),
        );
    }
    s
}

fn join_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "no recognisable column".into()
    } else {
        v.join(", ")
    }
}

/// The keys' texts, comma-separated, appended to `out`.
fn push_key_texts<'k>(out: &mut String, keys: impl IntoIterator<Item = &'k IndexKey>) {
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&k.text);
    }
}

fn create(table: &str, keys: &[IndexKey], include: &[String]) -> String {
    let mut s = String::with_capacity(64 + table.len());
    s.push_str("CREATE INDEX CONCURRENTLY ON ");
    s.push_str(table);
    s.push_str(" (");
    push_key_texts(&mut s, keys);
    s.push(')');
    if !include.is_empty() {
        s.push_str(" INCLUDE (");
        for (i, c) in include.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(c);
        }
        s.push(')');
    }
    s
}

/// An `Output` entry that is one of the scan's own plain columns.
fn plain_output_column(o: &str, own: &[&str]) -> Option<String> {
    let bare = o.trim();
    // The usual entry, `name` or `qualifier.name` in plain ASCII, answered without tokenizing.
    // Gives what the general reading below gives for it: a lone non-keyword name is the column;
    // `q.name` is the column when `q` is one of `own` exactly (a keyword `q` reads differently,
    // so it takes the general path).
    let simple = |w: &str| {
        w.as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
    };
    match bare.split_once('.') {
        None if simple(bare) => {
            return (!predicate::is_keyword(bare)).then(|| bare.to_string());
        }
        Some((q, c)) if simple(q) && simple(c) && !predicate::is_keyword(q) => {
            return own.contains(&q).then(|| c.to_string());
        }
        _ => {}
    }
    let (mine, outer) = predicate::columns_in(o, own);
    if mine.len() != 1 || !outer.is_empty() {
        return None;
    }
    let c = &mine[0];
    // `bare == format!("{q}.{c}")` for one of `own`, compared in place.
    let qualified_ok = own.iter().any(|q| {
        bare.len() == q.len() + 1 + c.len()
            && bare.starts_with(q)
            && bare[q.len()..].starts_with('.')
            && bare.ends_with(c.as_str())
    });
    (bare == c || qualified_ok).then(|| c.clone())
}

/// Sort keys of a Sort directly above the scan (through nodes that pass rows through unchanged),
/// as long as they are the scan's own columns; stops at the first key that is not.
pub(crate) fn sort_keys_above(plan: &Plan, id: usize, own: &[&str]) -> Vec<IndexKey> {
    for a in plan.ancestors(id) {
        match a.node_type.as_str() {
            "Sort" | "Incremental Sort" => {
                let mut keys = Vec::new();
                for k in &a.details().sort_key {
                    match predicate::sort_key(k, own) {
                        Some(ik) => keys.push(ik),
                        None => break,
                    }
                }
                return keys;
            }
            "Gather" | "Gather Merge" | "Result" | "Materialize" => continue,
            _ => return Vec::new(),
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::super::check_one;
    use super::super::util::testing::{corpus, fixture};
    use serde_json::json;

    const DIR: &str = "seq-scan-large-table";

    #[test]
    fn a_remembered_analysis_is_the_one_each_scan_would_get() {
        let filters = [
            "((t.a = 1) AND (returns_p0.b > 2))",
            "((T.a = 1) AND (\"Returns_P0\".b > 2))",
            "((t.a = 1) AND (t.b <> ALL ('{x,y}'::text[])))",
            "(a = 1)",
            "((x.a = 1) OR (t.b < 3))",
            "(tt.a = 1)",
        ];
        let owns: [&[&str]; 6] = [
            &["t", "returns_p0"],
            &["t", "returns_p1"],
            &["x", "returns_p0"],
            &["tt"],
            &["T", "Returns_P0"],
            &[],
        ];
        // Each scan against a fresh reading, in both orders of the scans.
        for order in [false, true] {
            let mut analyses = super::Analyses::default();
            for i in 0..owns.len() {
                let own = owns[if order { owns.len() - 1 - i } else { i }];
                for f in filters {
                    assert_eq!(
                        analyses.of(f, own),
                        &super::predicate::analyze(f, own),
                        "{f} {own:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn names_are_found_in_a_filter_ascii_case_aside() {
        use super::contains_ignore_ascii_case as has;
        assert!(has("(T.a = 1)", "t"));
        assert!(has("(x.a = 1) AND (Returns_P0.b)", "returns_p0"));
        assert!(has("abc", "abc") && has("abc", "c") && has("abc", ""));
        assert!(!has("ab", "abc") && !has("", "a") && !has("(tx.a = 1)", "ty"));
    }

    #[test]
    fn a_regex_filter_gets_a_trigram_index_and_single_spaces() {
        let text = "\
Seq Scan on comments c  (cost=0.00..2500.00 rows=10 width=40) (actual time=223.1..223.2 rows=0 loops=1)
  Filter: ((body)::text ~ '.*performance.*'::text)
  Rows Removed by Filter: 100000
Execution Time: 224.000 ms
";
        let plan = super::super::util::testing::plan_of(text);
        let f = check_one(&plan, "P001");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].advice.contains("gin_trgm_ops"), "{}", f[0].advice);
        assert!(!f[0].advice.contains("  "), "{}", f[0].advice);
    }

    /// The index suggested for a filter on `t` under a Sort on `sort`.
    fn suggestion(filter: &str, sort: &[&str]) -> super::Suggestion {
        let own = ["t"];
        let analysis = super::predicate::analyze(filter, &own);
        let sort: Vec<_> = sort
            .iter()
            .filter_map(|k| super::predicate::sort_key(k, &own))
            .collect();
        super::suggest("public.t", &analysis, &sort, &[], &own, 5)
    }

    fn order_note(s: &super::Suggestion) -> &str {
        s.notes
            .iter()
            .find(|n| n.starts_with("Column order"))
            .expect("a column-order note")
    }

    #[test]
    fn a_one_column_index_has_no_column_order_note() {
        let s = suggestion("(t.status = 'paid'::text)", &[]);
        assert_eq!(s.columns, ["status"]);
        assert!(
            !s.notes.iter().any(|n| n.starts_with("Column order")),
            "{:?}",
            s.notes
        );
    }

    #[test]
    fn equality_then_sort_returns_rows_sorted() {
        let s = suggestion("(t.status = 'paid'::text)", &["t.created_at DESC"]);
        assert_eq!(s.columns, ["status", "created_at DESC"]);
        assert!(
            order_note(&s).contains("already sorted"),
            "{}",
            order_note(&s)
        );
    }

    #[test]
    fn a_column_enters_the_index_once_even_when_sorted_descending() {
        // Range on created_at, sorted by (customer_id, created_at DESC): created_at is already the
        // range column; after it the index cannot return rows in the sort order, and says so.
        let s = suggestion(
            "(t.created_at >= '2024-12-01'::date)",
            &["t.customer_id", "t.created_at DESC"],
        );
        assert_eq!(s.columns, ["created_at", "customer_id"]);
        let note = order_note(&s);
        assert!(!note.contains("already sorted"), "{note}");
        assert!(note.contains("the Sort stays"), "{note}");
        assert!(
            note.contains("an index on (customer_id, created_at DESC) would avoid it"),
            "{note}"
        );
        assert!(note.starts_with("Column order: range columns"), "{note}");
    }

    #[test]
    fn a_range_on_the_leading_sort_column_keeps_the_order() {
        let s = suggestion(
            "((t.status = 'paid'::text) AND (t.created_at >= '2024-12-01'::date))",
            &["t.created_at DESC"],
        );
        assert_eq!(s.columns, ["status", "created_at"]);
        assert!(
            order_note(&s).contains("already sorted"),
            "{}",
            order_note(&s)
        );
    }

    #[test]
    fn equality_range_sort_and_include() {
        let plan = fixture(DIR, "fire");
        let f = check_one(&plan, "P001");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(plan.nodes[f.node.unwrap()].node_type, "Seq Scan");
        assert_eq!(f.node, Some(1));
        assert_eq!(f.evidence["index_columns"], json!(["status", "created_at"]));
        assert_eq!(f.evidence["include_columns"], json!(["id", "total"]));
        assert_eq!(
            f.evidence["suggested_index"],
            json!("CREATE INDEX CONCURRENTLY ON public.orders (status, created_at) INCLUDE (id, total)")
        );
        assert_eq!(f.evidence["rows_removed"], json!(198995.0));
        assert!(
            f.message.contains("Seq Scan on public.orders"),
            "{}",
            f.message
        );
        assert!(f.message.contains("198,995"), "{}", f.message);
        assert!(
            f.advice.contains("CREATE INDEX CONCURRENTLY"),
            "{}",
            f.advice
        );
    }

    #[test]
    fn expression_index_for_function_of_column() {
        let plan = fixture(DIR, "fire_lower");
        let f = check_one(&plan, "P001");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].evidence["suggested_index"],
            json!("CREATE INDEX CONCURRENTLY ON orders ((lower(email)))")
        );
    }

    #[test]
    fn parallel_or_filter_gets_one_index_per_branch() {
        let plan = fixture(DIR, "fire_parallel");
        let f = check_one(&plan, "P001");
        assert_eq!(f.len(), 1, "{f:#?}");
        let n = &plan.nodes[f[0].node.unwrap()];
        assert!(n.parallel_aware && n.node_type == "Seq Scan");
        // Removed rows are summed over the leader and both workers.
        assert_eq!(f[0].evidence["loops"], json!(3.0));
        assert!(f[0].evidence["rows_read"].as_f64().unwrap() >= 199_000.0);
        assert_eq!(
            f[0].evidence["suggested_indexes"],
            json!([
                "CREATE INDEX CONCURRENTLY ON orders (customer_id)",
                "CREATE INDEX CONCURRENTLY ON orders (total)"
            ])
        );
        assert!(f[0].advice.contains("BitmapOr"));
    }

    #[test]
    fn scan_returning_most_of_the_table_is_quiet() {
        assert!(check_one(&fixture(DIR, "quiet"), "P001").is_empty());
    }

    #[test]
    fn corpus_obvious_cases() {
        for (name, plan) in corpus() {
            let f = check_one(&plan, "P001");
            if name.contains("a_seqscan_selective")
                && !name.contains("noanalyze")
                && plan.analyzed()
            {
                assert_eq!(f.len(), 1, "{name}");
                let cols = f[0].evidence["index_columns"].clone();
                assert_eq!(cols, json!(["c"]), "{name}");
            }
            if name.contains("noanalyze") {
                assert!(f.is_empty(), "{name}");
            }
        }
    }
}
