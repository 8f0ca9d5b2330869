//! `blocking-locks`: sessions waiting for a lock another session holds, and who holds it.
//!
//! A session is blocked when `pg_blocking_pids` is not empty; it counts once it has waited (its
//! current query has run) at least `min_wait_s`. The blockers at the head of each chain (blocking
//! others, not blocked themselves) are named with what they are doing: those are the ones to end.

use std::collections::BTreeSet;

use super::dbutil::duration_s;
use super::{Finding, RuleCtx, Severity};
use crate::collect::{Session, Snapshot};

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let min_wait = ctx.threshold("min_wait_s");
    let mut blocked: Vec<&Session> = snap
        .activity
        .blocked()
        .filter(|s| s.query_age_s.unwrap_or(0.0) >= min_wait)
        .collect();
    if blocked.is_empty() {
        return;
    }
    blocked.sort_by(|a, b| {
        b.query_age_s
            .partial_cmp(&a.query_age_s)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let longest = blocked[0].query_age_s.unwrap_or(0.0);
    // Heads of the chains: blockers that are not blocked themselves (all blockers if a cycle).
    let blockers: BTreeSet<i32> = blocked
        .iter()
        .flat_map(|s| s.blocked_by.iter().copied())
        .collect();
    let mut heads: Vec<i32> = blockers
        .iter()
        .copied()
        .filter(|p| {
            snap.activity
                .by_pid(*p)
                .is_none_or(|s| s.blocked_by.is_empty())
        })
        .collect();
    if heads.is_empty() {
        heads = blockers.iter().copied().collect();
    }
    let first = blocked[0];
    let mut message = format!(
        "{} session(s) waiting for locks; the longest, {}, has waited {}",
        blocked.len(),
        first.describe(),
        duration_s(longest)
    );
    if let Some(q) = first.query_excerpt(100) {
        message.push_str(&format!(" on `{q}`"));
    }
    message.push_str(&format!(
        ", blocked by pid {}",
        first
            .blocked_by
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let head_text: Vec<String> = heads.iter().map(|&p| describe_blocker(snap, p)).collect();
    message.push_str(&format!(". Holding the locks: {}", head_text.join("; ")));
    let advice =
        format!(
        "End the blocking transaction{}: in the application, or `SELECT pg_cancel_backend(pid);` \
         to cancel its query, `SELECT pg_terminate_backend(pid);` to end an idle transaction ({}). \
         To keep it from happening: short transactions, and a `lock_timeout` for DDL and \
         maintenance so they give up instead of queueing everyone behind them.",
        if heads.len() > 1 { "s" } else { "" },
        heads.iter().map(|p| format!("pid {p}")).collect::<Vec<_>>().join(", ")
    );
    let severity = if longest >= ctx.threshold("error_wait_s") {
        Severity::Error
    } else {
        ctx.severity
    };
    ctx.db_finding()
        .severity(severity)
        .message(message)
        .advice(advice)
        .evidence("blocked", blocked.len())
        .evidence("longest_wait_s", longest)
        .evidence(
            "blocked_pids",
            blocked.iter().map(|s| s.pid).collect::<Vec<_>>(),
        )
        .evidence("blocking_pids", heads)
        .push(out);
}

fn describe_blocker(snap: &Snapshot, pid: i32) -> String {
    let Some(s) = snap.activity.by_pid(pid) else {
        return format!("pid {pid}");
    };
    let mut t = s.describe();
    if s.is_hidden() {
        t.push_str(" (details not visible)");
        return t;
    }
    if let Some(state) = &s.state {
        t.push_str(&format!(", {state}"));
        if let Some(a) = s.state_age_s {
            t.push_str(&format!(" for {}", duration_s(a)));
        }
    }
    if let Some(x) = s.xact_age_s {
        t.push_str(&format!(", transaction open {}", duration_s(x)));
    }
    if let Some(q) = s.query_excerpt(100) {
        t.push_str(&format!(", last query `{q}`"));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{session, snapshot};

    #[test]
    fn names_the_head_of_the_chain() {
        let mut holder = session(10, "idle in transaction", 300.0);
        holder.query = Some("UPDATE t SET x = 1 WHERE id = 1".into());
        let mut w1 = session(11, "active", 30.0);
        w1.blocked_by = vec![10];
        w1.query = Some("UPDATE t SET x = 2 WHERE id = 1".into());
        let mut w2 = session(12, "active", 20.0);
        w2.blocked_by = vec![11];
        let snap = snapshot(vec![holder, w1, w2]);
        let f = check_one_snapshot(&snap, "D006", &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].evidence["blocked"], 2);
        assert_eq!(f[0].evidence["blocking_pids"], serde_json::json!([10]));
        assert!(f[0].message.contains("pid 11"), "{}", f[0].message);
        assert!(
            f[0].message.contains("idle in transaction for 5 min"),
            "{}",
            f[0].message
        );
        assert!(f[0].advice.contains("pid 10"), "{}", f[0].advice);
    }

    #[test]
    fn short_waits_are_quiet() {
        let mut w = session(11, "active", 1.0);
        w.blocked_by = vec![10];
        let snap = snapshot(vec![session(10, "active", 2.0), w]);
        assert!(check_one_snapshot(&snap, "D006", &[]).is_empty());
        assert!(
            check_one_snapshot(&snapshot(vec![session(1, "active", 100.0)]), "D006", &[])
                .is_empty()
        );
    }
}
