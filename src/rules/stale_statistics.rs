//! `stale-statistics`: many rows of a table changed since its last ANALYZE, or it was never
//! analyzed, so the planner estimates from numbers that no longer describe it.
//!
//! Changed share = n_mod_since_analyze / reltuples (reltuples being what the last ANALYZE or
//! VACUUM counted; at least one row). Fires at `min_changed_ratio` with at least
//! `min_changed_rows` changed rows; a table never analyzed fires once it has `min_changed_rows`
//! live rows. [`staleness`] is shared with the join of plan findings and statistics.

use super::dbutil::{count, duration_s, pct};
use super::{Finding, RuleCtx};
use crate::collect::{Snapshot, TableStats};

/// How stale a table's statistics are.
#[derive(Debug, Clone, PartialEq)]
pub struct Staleness {
    /// Rows inserted, updated or deleted since the last ANALYZE.
    pub changed: f64,
    /// `changed` / the rows the last ANALYZE counted; `None` when never analyzed.
    pub ratio: Option<f64>,
    pub analyze_age_s: Option<f64>,
}

impl Staleness {
    /// `40% of its rows changed since the last ANALYZE (2.0 h ago)` or `never analyzed`.
    pub fn describe(&self) -> String {
        match self.ratio {
            None => "it has never been analyzed".into(),
            Some(r) => format!(
                "{} rows changed since its last ANALYZE{} ({} of the rows it counted)",
                count(self.changed),
                self.analyze_age_s
                    .map(|a| format!(" {} ago", duration_s(a)))
                    .unwrap_or_default(),
                pct(r)
            ),
        }
    }
}

/// Whether `t`'s statistics are stale by these thresholds.
pub fn staleness(t: &TableStats, min_ratio: f64, min_rows: f64) -> Option<Staleness> {
    let changed = t.n_mod_since_analyze as f64;
    if t.last_analyze_at.is_none() {
        // Never analyzed (since the statistics were reset): the planner falls back to guesses.
        return (t.n_live_tup as f64 >= min_rows || changed >= min_rows).then_some(Staleness {
            changed,
            ratio: None,
            analyze_age_s: None,
        });
    }
    if changed < min_rows {
        return None;
    }
    let ratio = changed / t.reltuples.max(1.0);
    (ratio >= min_ratio).then_some(Staleness {
        changed,
        ratio: Some(ratio),
        analyze_age_s: t.analyze_age_s,
    })
}

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_ratio = ctx.threshold("min_changed_ratio");
    let min_rows = ctx.threshold("min_changed_rows");
    for t in &snap.tables {
        let Some(s) = staleness(t, min_ratio, min_rows) else {
            continue;
        };
        let name = t.qualified();
        let mut advice = format!(
            "Run `ANALYZE {name};` now. After bulk loads and large updates, ANALYZE in the same \
             job instead of waiting for autovacuum."
        );
        if snap.server.setting("autovacuum") == Some("off") {
            advice.push_str(" autovacuum is off on this server, so nothing analyzes tables for you: turn it on.");
        } else {
            advice.push_str(&format!(
                " If autoanalyze lags on this table, lower its threshold: \
                 `ALTER TABLE {name} SET (autovacuum_analyze_scale_factor = 0.02);`."
            ));
        }
        let mut f = ctx
            .db_finding()
            .message(format!("{name}: {}", s.describe()))
            .advice(advice)
            .evidence("table", name)
            .evidence("n_mod_since_analyze", t.n_mod_since_analyze)
            .evidence("reltuples", t.reltuples)
            .evidence("never_analyzed", s.ratio.is_none());
        if let Some(r) = s.ratio {
            f = f.evidence("changed_ratio", r);
        }
        if let Some(a) = s.analyze_age_s {
            f = f.evidence("analyze_age_s", a);
        }
        f.push(out);
    }
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{snapshot, table};

    #[test]
    fn fires_on_changes_since_analyze() {
        let mut snap = snapshot(vec![]);
        snap.tables
            .push(table("orders", 20_000, 0, 10_000, 10_000.0));
        let f = check_one_snapshot(&snap, "D002", &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["changed_ratio"], 1.0);
        assert!(
            f[0].message.contains("10,000 rows changed"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].advice.contains("ANALYZE public.orders"),
            "{}",
            f[0].advice
        );
    }

    #[test]
    fn fires_when_never_analyzed() {
        let mut snap = snapshot(vec![]);
        let mut t = table("fresh", 50_000, 0, 50_000, -1.0);
        t.last_analyze_at = None;
        t.analyze_age_s = None;
        snap.tables.push(t);
        let f = check_one_snapshot(&snap, "D002", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["never_analyzed"], true);
        assert!(f[0].message.contains("never been analyzed"));
    }

    #[test]
    fn quiet_when_fresh() {
        let mut snap = snapshot(vec![]);
        snap.tables
            .push(table("orders", 100_000, 0, 5_000, 100_000.0)); // 5%
        snap.tables.push(table("tiny", 100, 0, 90, 100.0)); // few rows
        assert!(check_one_snapshot(&snap, "D002", &[]).is_empty());
    }
}
