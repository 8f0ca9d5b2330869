//! Plan findings joined with live table statistics: a pure function of (plan, its findings, a
//! [`Snapshot`]), run by live diagnosis after `check_plan`.
//!
//! - `row-estimate-mismatch` (P002) on a scan of a table whose statistics are stale (by the
//!   thresholds of `stale-statistics`, D002) says so, with the numbers and the ANALYZE to run;
//!   when they are fresh, the advice says stale statistics are an unlikely cause.
//! - `seq-scan-large-table` (P001) gets the table's real size (`reltuples`, bytes), and does not
//!   propose an index that exists: when an existing index's leading key columns are the proposed
//!   ones, the finding names it and says why the planner may not have used it.

use super::dbutil::{bytes, count, duration_s};
use super::stale_statistics::staleness;
use super::{find, EngineSettings, Finding, RuleCtx};
use crate::collect::{IndexInfo, Snapshot, TableStats};
use crate::plan::{Node, Plan};

/// The relation names a plan's scans print (`schema.relname` when VERBOSE printed the schema,
/// else `relname`), without repeats: what to pass to `collect::snapshot`.
pub fn plan_relations(plan: &Plan) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in &plan.nodes {
        let Some(rel) = n.relation.as_deref() else {
            continue;
        };
        let name = match n.schema.as_deref() {
            Some(s) => format!("{s}.{rel}"),
            None => rel.to_string(),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The snapshot's statistics for the table a node scans.
pub fn table_for<'a>(snap: &'a Snapshot, node: &Node) -> Option<&'a TableStats> {
    let rel = node.relation.as_deref()?;
    let mut hits = snap
        .tables
        .iter()
        .filter(|t| t.relation == rel && node.schema.as_deref().is_none_or(|s| s == t.schema));
    let first = hits.next()?;
    // A bare name that matches tables of several schemas is ambiguous: say nothing.
    hits.next().is_none().then_some(first)
}

/// `findings` of `plan`, with what `snap` adds (see the module documentation).
pub fn with_table_stats(
    plan: &Plan,
    mut findings: Vec<Finding>,
    snap: &Snapshot,
    settings: &EngineSettings,
) -> Vec<Finding> {
    let d002 = find("D002").map(|r| thresholds_of(r, settings));
    for f in &mut findings {
        let Some(node) = f.node.and_then(|i| plan.nodes.get(i)) else {
            continue;
        };
        let Some(t) = table_for(snap, node) else {
            continue;
        };
        match f.rule.as_str() {
            "P002" => {
                if let Some(ctx) = &d002 {
                    join_estimate(f, t, ctx);
                }
            }
            "P001" => join_seq_scan(f, t, &snap.indexes),
            _ => {}
        }
    }
    findings
}

/// The context `rule` runs with under `settings`, also when the rule is disabled (its thresholds
/// still define "stale" for the join).
fn thresholds_of<'a>(rule: &'a super::Rule, settings: &EngineSettings) -> RuleCtx<'a> {
    let mut ctx = RuleCtx::defaults(&rule.meta);
    for ((id, key), v) in &settings.thresholds {
        if id == &rule.meta.id {
            ctx.thresholds.insert(key.clone(), *v);
        }
    }
    ctx
}

fn join_estimate(f: &mut Finding, t: &TableStats, d002: &RuleCtx) {
    let name = t.qualified();
    let stats = serde_json::json!({
        "table": name,
        "reltuples": t.reltuples,
        "n_mod_since_analyze": t.n_mod_since_analyze,
        "analyze_age_s": t.analyze_age_s,
        "last_analyze_at": t.last_analyze_at,
    });
    f.evidence.insert("table_stats".into(), stats);
    match staleness(
        t,
        d002.threshold("min_changed_ratio"),
        d002.threshold("min_changed_rows"),
    ) {
        Some(s) => {
            let factor = f.evidence.get("factor").and_then(|v| v.as_f64());
            f.message.push_str(&format!(
                "; statistics on {name} are stale: {}{}",
                s.describe(),
                factor
                    .map(|x| format!(" (estimate off {x:.0}×)"))
                    .unwrap_or_default()
            ));
            f.advice = format!(
                "Run `ANALYZE {name};` first: {}. {}",
                s.describe(),
                f.advice
            );
            f.evidence.insert("statistics_stale".into(), true.into());
            if let Some(r) = s.ratio {
                f.evidence.insert("changed_ratio".into(), r.into());
            }
        }
        None => {
            f.evidence.insert("statistics_stale".into(), false.into());
            let when = t
                .analyze_age_s
                .map(|a| format!("analyzed {} ago", duration_s(a)))
                .unwrap_or_else(|| "analyzed".into());
            f.advice = format!(
                "Statistics on {name} are recent ({when}, {} rows changed since), so stale \
                 statistics are an unlikely cause. {}",
                count(t.n_mod_since_analyze as f64),
                f.advice
            );
        }
    }
}

fn join_seq_scan(f: &mut Finding, t: &TableStats, indexes: &[IndexInfo]) {
    f.evidence.insert("table_rows".into(), t.rows().into());
    f.evidence
        .insert("table_size_bytes".into(), t.size_bytes.into());
    f.message.push_str(&format!(
        "; the table holds about {} rows, {} on disk",
        count(t.rows()),
        bytes(t.size_bytes as f64)
    ));
    let wanted: Vec<String> = match f.evidence.get("index_columns") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str())
            .map(normalize_key)
            .collect(),
        _ => Vec::new(),
    };
    if wanted.is_empty() || !f.evidence.contains_key("suggested_index") {
        return;
    }
    let mine: Vec<&IndexInfo> = indexes.iter().filter(|i| i.table_oid == t.oid).collect();
    let covering = mine.iter().find(|i| {
        let keys: Vec<String> = i.key_columns.iter().map(|k| normalize_key(k)).collect();
        keys.len() >= wanted.len() && keys[..wanted.len()] == wanted[..]
    });
    let Some(ix) = covering else {
        if let Some(ix) = mine.iter().find(|i| {
            i.key_columns
                .first()
                .is_some_and(|k| normalize_key(k) == wanted[0])
        }) {
            f.advice.push_str(&format!(
                " An index with the same leading column exists ({}: `{}`); the proposed one \
                 may replace it.",
                ix.index, ix.definition
            ));
        }
        return;
    };
    let proposed = f.evidence.remove("suggested_index");
    if let Some(p) = proposed {
        f.evidence.insert("proposed_index_exists".into(), p);
    }
    f.evidence
        .insert("existing_index".into(), ix.index.clone().into());
    f.evidence.insert(
        "existing_index_definition".into(),
        ix.definition.clone().into(),
    );
    let why = if !ix.is_valid {
        format!(
            "It is INVALID (left by a failed CREATE INDEX CONCURRENTLY), so the planner ignores \
             it: rebuild it with `REINDEX INDEX CONCURRENTLY {};`.",
            ix.index
        )
    } else if ix.is_partial {
        "It is a partial index, and this query's condition does not imply its WHERE clause, so \
         the planner cannot use it; widen the index's condition or write the query's to match."
            .to_string()
    } else {
        format!(
            "The planner chose not to use it{}: check that the filter compares the column with a \
             value of the same type (a cast on the column, or a function around it, hides the \
             index), that the statistics are fresh (ANALYZE) so it does not expect most rows to \
             match, and that random_page_cost suits the storage (1.1 for SSDs).",
            match ix.idx_scan {
                Some(0) =>
                    " (and it has never been used since the statistics were reset)".to_string(),
                Some(n) => format!(" (other queries used it {} times)", count(n as f64)),
                None => String::new(),
            }
        )
    };
    f.advice = format!(
        "An index that serves this filter already exists: {} (`{}`), so do not create another. {why}",
        ix.index, ix.definition
    );
}

/// An index key as text, comparable between the proposal and `pg_get_indexdef`: lower case,
/// without quotes, blanks, surrounding parentheses or ASC/DESC/NULLS.
fn normalize_key(k: &str) -> String {
    let mut s = k.trim().to_lowercase();
    for suffix in [" nulls first", " nulls last", " desc", " asc"] {
        if let Some(x) = s.strip_suffix(suffix) {
            s = x.trim_end().to_string();
        }
    }
    let mut s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '"')
        .collect();
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].to_string();
    }
    s
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::dbutil::testing::{snapshot, table};
    use crate::rules::util::testing::fixture;
    use crate::rules::{check_plan, EngineSettings};
    use serde_json::json;

    fn orders(changed: i64, reltuples: f64) -> TableStats {
        let mut t = table("orders", reltuples as i64, 0, changed, reltuples);
        t.size_bytes = 1 << 30;
        t
    }

    #[test]
    fn normalizes_keys() {
        assert_eq!(normalize_key("(lower(email))"), "lower(email)");
        assert_eq!(normalize_key("\"Status\""), "status");
        assert_eq!(normalize_key("created_at DESC"), "created_at");
        assert_eq!(normalize_key("(a) + (b)"), "(a)+(b)");
    }

    #[test]
    fn seq_scan_gets_size_and_existing_index() {
        let plan = fixture("seq-scan-large-table", "fire");
        let settings = EngineSettings::default();
        let findings = check_plan(&plan, &settings);
        let mut snap = snapshot(vec![]);
        snap.tables.push(orders(0, 2_000_000.0));
        // Without an index: the proposal stays, with the table's size.
        let f = with_table_stats(&plan, findings.clone(), &snap, &settings);
        let p1 = f.iter().find(|f| f.rule == "P001").unwrap();
        assert!(
            p1.message.contains("about 2,000,000 rows, 1.0 GB"),
            "{}",
            p1.message
        );
        assert_eq!(p1.evidence["table_rows"], 2_000_000.0);
        assert!(p1.evidence.contains_key("suggested_index"));
        // An existing index on (status, created_at, id) covers (status, created_at).
        snap.indexes.push(IndexInfo {
            table_oid: 16384,
            index: "orders_status_created_idx".into(),
            is_valid: true,
            definition: "CREATE INDEX orders_status_created_idx ON public.orders USING btree (status, created_at, id)".into(),
            key_columns: vec!["status".into(), "created_at".into(), "id".into()],
            idx_scan: Some(0),
            ..IndexInfo::default()
        });
        let f = with_table_stats(&plan, findings, &snap, &settings);
        let p1 = f.iter().find(|f| f.rule == "P001").unwrap();
        assert!(!p1.evidence.contains_key("suggested_index"));
        assert_eq!(
            p1.evidence["existing_index"],
            json!("orders_status_created_idx")
        );
        assert!(p1.advice.contains("already exists"), "{}", p1.advice);
        assert!(p1.advice.contains("never been used"), "{}", p1.advice);
    }

    #[test]
    fn estimate_mismatch_on_stale_table() {
        let plan = fixture("row-estimate-mismatch", "fire_stale");
        let settings = EngineSettings::default();
        let findings = check_plan(&plan, &settings);
        let p2 = findings.iter().find(|f| f.rule == "P002").unwrap();
        let node = &plan.nodes[p2.node.unwrap()];
        let rel = node.relation.clone().unwrap();
        let mut snap = snapshot(vec![]);
        let mut t = table(&rel, 10_000, 0, 4_000, 10_000.0);
        t.schema = node.schema.clone().unwrap_or_else(|| "public".into());
        snap.tables.push(t.clone());
        let f = with_table_stats(&plan, findings.clone(), &snap, &settings);
        let p2 = f.iter().find(|f| f.rule == "P002").unwrap();
        assert_eq!(p2.evidence["statistics_stale"], true);
        assert!(
            p2.message.contains("40.0% of the rows it counted"),
            "{}",
            p2.message
        );
        assert!(p2.message.contains("estimate off"), "{}", p2.message);
        assert!(
            p2.advice
                .starts_with(&format!("Run `ANALYZE {}", t.qualified())),
            "{}",
            p2.advice
        );
        // Fresh statistics: said so, nothing stale claimed.
        snap.tables[0].n_mod_since_analyze = 10;
        let f = with_table_stats(&plan, findings, &snap, &settings);
        let p2 = f.iter().find(|f| f.rule == "P002").unwrap();
        assert_eq!(p2.evidence["statistics_stale"], false);
        assert!(p2.advice.contains("unlikely cause"), "{}", p2.advice);
    }

    #[test]
    fn relations_of_a_plan() {
        let plan = fixture("seq-scan-large-table", "fire");
        assert_eq!(plan_relations(&plan), vec!["public.orders".to_string()]);
    }
}
