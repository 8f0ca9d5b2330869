//! `long-running-transaction`: transactions open longer than `min_xact_age_s` (client sessions,
//! active or idle in them, and prepared transactions). An error from `error_xact_age_s`.

use super::dbutil::duration_s;
use super::{Finding, RuleCtx, Severity};
use crate::collect::Snapshot;

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_age = ctx.threshold("min_xact_age_s");
    // (age, description, pid or prepared gid)
    let mut long: Vec<(f64, String, Option<i32>)> = snap
        .activity
        .clients()
        .filter_map(|s| {
            let age = s.xact_age_s.filter(|a| *a >= min_age)?;
            let mut d = format!("{} ({}", s.describe(), s.state.as_deref().unwrap_or("?"));
            if let Some(q) = s.query_excerpt(100) {
                d.push_str(&format!(", query `{q}`"));
            }
            d.push(')');
            Some((age, d, Some(s.pid)))
        })
        .collect();
    for h in &snap.xmin_holders {
        if h.kind == "prepared transaction" && h.age_s.is_some_and(|a| a >= min_age) {
            long.push((
                h.age_s.unwrap_or(0.0),
                format!("prepared transaction '{}' (owner {})", h.name, h.detail),
                None,
            ));
        }
    }
    if long.is_empty() {
        return;
    }
    long.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    let (oldest, what, pid) = &long[0];
    let message = format!(
        "{} transaction(s) open for more than {}; the oldest has been open {}: {what}",
        long.len(),
        duration_s(min_age),
        duration_s(*oldest)
    );
    let end = match pid {
        Some(p) => format!("`SELECT pg_terminate_backend({p});` ends the oldest."),
        None => {
            "A prepared transaction ends only with COMMIT PREPARED or ROLLBACK PREPARED.".into()
        }
    };
    let advice = format!(
        "A long transaction keeps its locks and stops VACUUM from removing rows that died after it \
         began, in every table. Check whether it is still doing useful work; {end} Split long \
         batch jobs into shorter transactions, and bound them with `statement_timeout`{}.",
        if snap.server.version_num >= 170000 {
            " or `transaction_timeout`"
        } else {
            ""
        }
    );
    let severity = if *oldest >= ctx.threshold("error_xact_age_s") {
        Severity::Error
    } else {
        ctx.severity
    };
    let mut f = ctx
        .db_finding()
        .severity(severity)
        .message(message)
        .advice(advice)
        .evidence("count", long.len())
        .evidence("oldest_xact_age_s", *oldest);
    if let Some(p) = pid {
        f = f.evidence("oldest_pid", *p);
    }
    f.push(out);
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{session, snapshot};
    use super::Severity;
    use crate::collect::XminHolder;

    #[test]
    fn oldest_client_transaction() {
        let snap = snapshot(vec![
            session(1, "active", 400.0),
            session(2, "idle in transaction", 4000.0),
            session(3, "active", 10.0),
            session(4, "idle", 99999.0),
        ]);
        let f = check_one_snapshot(&snap, "D007", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence["count"], 2);
        assert_eq!(f[0].evidence["oldest_pid"], 2);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(f[0].message.contains("67 min"), "{}", f[0].message);
    }

    #[test]
    fn prepared_transactions_count() {
        let mut snap = snapshot(vec![]);
        snap.xmin_holders.push(XminHolder {
            kind: "prepared transaction".into(),
            name: "tx9".into(),
            detail: "app".into(),
            age_s: Some(600.0),
            ..XminHolder::default()
        });
        let f = check_one_snapshot(&snap, "D007", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].message.contains("prepared transaction 'tx9'"));
    }

    #[test]
    fn short_transactions_are_quiet() {
        let snap = snapshot(vec![session(1, "active", 30.0)]);
        assert!(check_one_snapshot(&snap, "D007", &[]).is_empty());
    }
}
