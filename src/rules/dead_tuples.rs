//! `dead-tuples`: a table where dead row versions are a large share of its rows, and what holds
//! vacuum back from removing them.
//!
//! Share = n_dead_tup / (n_live_tup + n_dead_tup), from the table statistics of the snapshot.
//! Fires at `min_dead_ratio` when there are at least `min_dead_tuples` dead rows. The oldest
//! xmin holder (a long or idle-in-transaction session, a prepared transaction, a replication
//! slot) open at least `holder_min_age_s` (slots and prepared transactions always count) is named:
//! while it lives, VACUUM cannot remove rows that died after it started.

use super::dbutil::{count, duration_s, pct};
use super::{Finding, RuleCtx};
use crate::collect::{Snapshot, XminHolder};

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_ratio = ctx.threshold("min_dead_ratio");
    let min_dead = ctx.threshold("min_dead_tuples");
    let holder = oldest_holder(snap, ctx.threshold("holder_min_age_s"));
    for t in &snap.tables {
        let dead = t.n_dead_tup as f64;
        let total = (t.n_live_tup + t.n_dead_tup) as f64;
        if dead < min_dead || total <= 0.0 {
            continue;
        }
        let ratio = dead / total;
        if ratio < min_ratio {
            continue;
        }
        let name = t.qualified();
        let vacuumed = match t.vacuum_age_s {
            Some(a) => format!("last vacuumed {} ago", duration_s(a)),
            None => "never vacuumed since the statistics were reset".into(),
        };
        let mut message = format!(
            "{name}: {} dead rows, {} of its rows ({} live); {vacuumed}",
            count(dead),
            pct(ratio),
            count(t.n_live_tup as f64)
        );
        let mut advice = format!(
            "Run `VACUUM (VERBOSE, ANALYZE) {name};` and check in its output how many dead rows \
             it could not remove yet."
        );
        if let Some(h) = &holder {
            message.push_str(&format!(
                "; vacuum's cleanup horizon is held back by {}",
                h.describe()
            ));
            advice.push(' ');
            advice.push_str(&release_advice(h));
        }
        if snap.server.setting("autovacuum") == Some("off") {
            advice.push_str(" autovacuum is off on this server: turn it on (`autovacuum = on`).");
        } else {
            advice.push_str(&format!(
                " If autovacuum does not keep up with this table, make it start earlier: \
                 `ALTER TABLE {name} SET (autovacuum_vacuum_scale_factor = 0.02);`."
            ));
        }
        let mut f = ctx
            .db_finding()
            .message(message)
            .advice(advice)
            .evidence("table", name)
            .evidence("n_dead_tup", t.n_dead_tup)
            .evidence("n_live_tup", t.n_live_tup)
            .evidence("dead_ratio", ratio);
        if let Some(a) = t.vacuum_age_s {
            f = f.evidence("vacuum_age_s", a);
        }
        if let Some(h) = &holder {
            f = f.evidence(
                "xmin_holder",
                serde_json::to_value(h).unwrap_or(serde_json::Value::Null),
            );
        }
        f.push(out);
    }
}

/// The oldest holder worth naming.
pub(crate) fn oldest_holder(snap: &Snapshot, min_age_s: f64) -> Option<XminHolder> {
    snap.xmin_holders
        .iter()
        .filter(|h| match h.kind.as_str() {
            "replication slot" | "prepared transaction" => true,
            _ => h.age_s.is_some_and(|a| a >= min_age_s),
        })
        .max_by(|a, b| {
            a.xmin_age
                .unwrap_or(-1)
                .cmp(&b.xmin_age.unwrap_or(-1))
                .then(
                    a.age_s
                        .unwrap_or(0.0)
                        .partial_cmp(&b.age_s.unwrap_or(0.0))
                        .unwrap_or(std::cmp::Ordering::Equal),
                )
        })
        .cloned()
}

/// How to release a holder.
pub(crate) fn release_advice(h: &XminHolder) -> String {
    match h.kind.as_str() {
        "prepared transaction" => format!(
            "Finish the forgotten prepared transaction: `COMMIT PREPARED '{0}';` or \
             `ROLLBACK PREPARED '{0}';`.",
            h.name.replace('\'', "''")
        ),
        "replication slot" => format!(
            "The replication slot {0} keeps old rows for its consumer: restart the consumer, or \
             drop the slot if it is abandoned (`SELECT pg_drop_replication_slot('{1}');`).",
            h.name,
            h.name.replace('\'', "''")
        ),
        _ => match h.pid {
            Some(pid) => format!(
                "End that transaction in the application, or terminate it: \
                 `SELECT pg_terminate_backend({pid});`."
            ),
            None => "End that transaction.".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{session, snapshot, table};
    use crate::collect::{xmin, XminHolder};

    #[test]
    fn fires_with_share_and_names_the_holder() {
        let mut s = session(42, "idle in transaction", 7200.0);
        s.backend_xmin = Some("1000".into());
        s.xmin_age = Some(5000);
        let mut snap = snapshot(vec![s, session(43, "active", 1.0)]);
        snap.xmin_holders = xmin::from_activity(&snap.activity);
        snap.xmin_holders.push(XminHolder {
            kind: "replication slot".into(),
            name: "old".into(),
            detail: "physical (inactive)".into(),
            xmin_age: Some(10),
            ..XminHolder::default()
        });
        snap.tables
            .push(table("orders", 60_000, 40_000, 0, 60_000.0));
        let f = check_one_snapshot(&snap, "D001", &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["dead_ratio"], 0.4);
        assert!(f[0].message.contains("40.0%"), "{}", f[0].message);
        assert!(
            f[0].message.contains("idle in transaction pid 42"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].advice.contains("pg_terminate_backend(42)"),
            "{}",
            f[0].advice
        );
        assert!(f[0].advice.contains("VACUUM"), "{}", f[0].advice);
    }

    #[test]
    fn prepared_transaction_named() {
        let mut snap = snapshot(vec![]);
        snap.xmin_holders.push(XminHolder {
            kind: "prepared transaction".into(),
            name: "tx1".into(),
            detail: "app".into(),
            xmin_age: Some(100),
            age_s: Some(5.0),
            pid: None,
        });
        snap.tables
            .push(table("orders", 10_000, 50_000, 0, 60_000.0));
        let f = check_one_snapshot(&snap, "D001", &[]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].advice.contains("ROLLBACK PREPARED 'tx1'"),
            "{}",
            f[0].advice
        );
    }

    #[test]
    fn quiet_below_thresholds() {
        let mut snap = snapshot(vec![]);
        snap.tables.push(table("small", 100, 900, 0, 100.0)); // 90% but few rows
        snap.tables.push(table("clean", 1_000_000, 50_000, 0, 1e6)); // many, but under 20%
        assert!(check_one_snapshot(&snap, "D001", &[]).is_empty());
        assert_eq!(
            check_one_snapshot(&snap, "D001", &[("min_dead_tuples", 500.0)]).len(),
            1
        );
    }
}
