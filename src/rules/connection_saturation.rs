//! `connection-saturation`: client connections close to the server's limit, and many of them
//! idle (the sign that a pooler would serve them with far fewer server connections).
//!
//! Available = max_connections − superuser_reserved_connections − reserved_connections (16+).
//! Used = client sessions of the whole server, the collector's own included. Fires at
//! `warn_ratio` (an error from `error_ratio`); without saturation, `min_idle` idle connections
//! that are at least `idle_ratio` of all still get an info finding about pooling.

use super::dbutil::{count, pct};
use super::{Finding, RuleCtx, Severity};
use crate::collect::Snapshot;

pub fn check(snap: &Snapshot, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    let Some(max) = snap.server.setting_f64("max_connections") else {
        return;
    };
    let reserved = snap
        .server
        .setting_f64("superuser_reserved_connections")
        .unwrap_or(0.0)
        + snap
            .server
            .setting_f64("reserved_connections")
            .unwrap_or(0.0);
    let available = (max - reserved).max(1.0);
    // + 1: the collector's own session is not in the activity list.
    let used = snap.activity.clients().count() as f64 + 1.0;
    let idle = snap
        .activity
        .clients()
        .filter(|s| s.state.as_deref() == Some("idle"))
        .count() as f64;
    let ratio = used / available;
    let idle_share = idle / used;
    let many_idle = idle >= ctx.threshold("min_idle") && idle_share >= ctx.threshold("idle_ratio");
    let saturated = ratio >= ctx.threshold("warn_ratio");
    if !saturated && !many_idle {
        return;
    }
    let severity = if ratio >= ctx.threshold("error_ratio") {
        Severity::Error
    } else if saturated {
        ctx.severity
    } else {
        Severity::Info
    };
    let by_state = snap
        .activity
        .by_state
        .iter()
        .map(|s| format!("{} {}", s.count, s.state))
        .collect::<Vec<_>>()
        .join(", ");
    let mut message = format!(
        "{} of {} available connections in use ({}; max_connections {} minus {} reserved)",
        count(used),
        count(available),
        pct(ratio),
        count(max),
        count(reserved)
    );
    if !by_state.is_empty() {
        message.push_str(&format!(": {by_state}, plus this session"));
    }
    let mut advice = String::new();
    if many_idle {
        advice.push_str(&format!(
            "{} connections ({}) are idle: each still costs the server memory and a process. Put \
             a connection pooler in front of the server, such as PgBouncer in transaction mode, \
             so many clients share a few server connections; or shrink the applications' pool \
             sizes. ",
            count(idle),
            pct(idle_share)
        ));
    }
    if saturated {
        advice.push_str(
            "When the limit is reached new connections fail with \"too many clients\". Raising \
             max_connections costs memory per connection and needs a restart; pooling is usually \
             the better fix. Find who holds the connections: `SELECT usename, application_name, \
             state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3 ORDER BY 4 DESC;`.",
        );
    }
    ctx.db_finding()
        .severity(severity)
        .message(message)
        .advice(advice.trim().to_string())
        .evidence("connections", used)
        .evidence("available", available)
        .evidence("max_connections", max)
        .evidence("usage_ratio", ratio)
        .evidence("idle", idle)
        .push(out);
}

#[cfg(test)]
mod tests {
    use super::super::check_one_snapshot;
    use super::super::dbutil::testing::{session, snapshot};
    use super::Severity;

    fn sessions(active: i32, idle: i32) -> Vec<crate::collect::Session> {
        (0..active)
            .map(|i| session(i, "active", 1.0))
            .chain((0..idle).map(|i| session(1000 + i, "idle", 100.0)))
            .collect()
    }

    #[test]
    fn saturated_with_idle_recommends_pooler() {
        // 100 - 3 reserved = 97 available; 10 + 80 + 1 = 91 used.
        let f = check_one_snapshot(&snapshot(sessions(10, 80)), "D005", &[]);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert_eq!(f[0].evidence["connections"], 91.0);
        assert_eq!(f[0].evidence["available"], 97.0);
        assert!(
            f[0].advice.contains("PgBouncer in transaction mode"),
            "{}",
            f[0].advice
        );
        assert!(f[0].message.contains("80 idle"), "{}", f[0].message);
    }

    #[test]
    fn nearly_full_is_an_error() {
        let f = check_one_snapshot(&snapshot(sessions(95, 0)), "D005", &[]);
        assert_eq!(f[0].severity, Severity::Error);
        assert!(!f[0].advice.contains("PgBouncer"));
    }

    #[test]
    fn idle_without_saturation_is_info_and_few_is_quiet() {
        let f = check_one_snapshot(&snapshot(sessions(2, 40)), "D005", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Info);
        assert!(check_one_snapshot(&snapshot(sessions(5, 5)), "D005", &[]).is_empty());
    }
}
