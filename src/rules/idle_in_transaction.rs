//! `idle-in-transaction`: sessions that opened a transaction and sit idle inside it, holding
//! locks and (when they took a snapshot or wrote) vacuum's cleanup horizon.
//!
//! Counts sessions in `idle in transaction` (or `… (aborted)`) for at least `min_age_s`; reports
//! the count and the oldest, and advises `idle_in_transaction_session_timeout` for the roles and
//! databases involved.

use std::collections::BTreeSet;

use super::dbutil::{duration_s, timeout_literal};
use super::{Finding, RuleCtx};
use crate::collect::Snapshot;
use crate::rules::predicate::quote_ident;

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_age = ctx.threshold("min_age_s");
    let mut idle: Vec<_> = snap
        .activity
        .idle_in_transaction()
        .filter(|s| s.state_age_s.is_some_and(|a| a >= min_age))
        .collect();
    if idle.is_empty() {
        return;
    }
    idle.sort_by(|a, b| {
        b.state_age_s
            .partial_cmp(&a.state_age_s)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let oldest = idle[0];
    let oldest_age = oldest.state_age_s.unwrap_or(0.0);
    let mut message = format!(
        "{} session(s) idle in transaction for at least {}; the oldest, {}, has been idle for {}",
        idle.len(),
        duration_s(min_age),
        oldest.describe(),
        duration_s(oldest_age)
    );
    if let Some(x) = oldest.xact_age_s {
        message.push_str(&format!(" in a transaction open {}", duration_s(x)));
    }
    if let Some(q) = oldest.query_excerpt(120) {
        message.push_str(&format!("; last query: {q}"));
    }
    let roles: BTreeSet<&str> = idle.iter().filter_map(|s| s.usename.as_deref()).collect();
    let dbs: BTreeSet<&str> = idle.iter().filter_map(|s| s.datname.as_deref()).collect();
    let timeout = timeout_literal(min_age.max(60.0));
    let current = snap
        .server
        .setting_display("idle_in_transaction_session_timeout")
        .unwrap_or_else(|| "?".into());
    let mut advice = format!(
        "An idle transaction holds its locks and keeps vacuum from removing dead rows: make the \
         application commit or roll back promptly (no user input or remote calls inside a \
         transaction). idle_in_transaction_session_timeout is {} on this server; set it for the \
         roles or databases involved, e.g. {}.",
        if current == "0" {
            "off (0)".to_string()
        } else {
            current
        },
        roles
            .iter()
            .map(|r| format!(
                "`ALTER ROLE {} SET idle_in_transaction_session_timeout = {timeout};`",
                quote_ident(r)
            ))
            .chain(dbs.iter().map(|d| format!(
                "`ALTER DATABASE {} SET idle_in_transaction_session_timeout = {timeout};`",
                quote_ident(d)
            )))
            .collect::<Vec<_>>()
            .join(" or ")
    );
    advice.push_str(&format!(
        " To end the oldest now: `SELECT pg_terminate_backend({});`.",
        oldest.pid
    ));
    ctx.db_finding()
        .message(message)
        .advice(advice)
        .evidence("count", idle.len())
        .evidence("oldest_pid", oldest.pid)
        .evidence("oldest_idle_s", oldest_age)
        .evidence("pids", idle.iter().map(|s| s.pid).collect::<Vec<_>>())
        .evidence(
            "roles",
            roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        )
        .push(out);
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{session, snapshot};

    #[test]
    fn counts_and_names_the_oldest() {
        let snap = snapshot(vec![
            session(1, "idle in transaction", 120.0),
            session(2, "idle in transaction (aborted)", 900.0),
            session(3, "idle in transaction", 5.0),
            session(4, "idle", 9000.0),
            session(5, "active", 9000.0),
        ]);
        let f = check_one_snapshot(&snap, "D004", &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["count"], 2);
        assert_eq!(f[0].evidence["oldest_pid"], 2);
        assert_eq!(f[0].evidence["oldest_idle_s"], 900.0);
        assert!(f[0].message.contains("15 min"), "{}", f[0].message);
        assert!(
            f[0].advice
                .contains("ALTER ROLE app SET idle_in_transaction_session_timeout = '1min'"),
            "{}",
            f[0].advice
        );
        assert!(f[0].advice.contains("off (0)"), "{}", f[0].advice);
    }

    #[test]
    fn quiet_without_idle_transactions() {
        let snap = snapshot(vec![
            session(1, "idle", 1000.0),
            session(2, "idle in transaction", 3.0),
        ]);
        assert!(check_one_snapshot(&snap, "D004", &[]).is_empty());
    }
}
