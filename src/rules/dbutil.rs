//! Formatting helpers for the database rules and the collectors: counts, shares, durations,
//! sizes, and (for tests) hand-made snapshots.

pub use super::util::{count, pct};

/// `42 s`, `12 min`, `3.5 h`, `2.1 days`.
pub fn duration_s(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "?".into();
    }
    if s < 90.0 {
        format!("{s:.0} s")
    } else if s < 90.0 * 60.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} days", s / 86400.0)
    }
}

/// `512 B`, `12.3 kB`, `4.0 MB`, `1.2 GB` (powers of 1024, as PostgreSQL's pg_size_pretty).
pub fn bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} {}", units[i])
    } else {
        format!("{v:.1} {}", units[i])
    }
}

/// A PostgreSQL interval literal for a timeout of about `s` seconds, rounded to a readable value
/// (`'30s'`, `'5min'`, `'1h'`).
pub fn timeout_literal(s: f64) -> String {
    if s < 60.0 {
        format!("'{}s'", s.max(1.0).round())
    } else if s < 3600.0 {
        format!("'{}min'", (s / 60.0).round())
    } else {
        format!("'{}h'", (s / 3600.0).round())
    }
}

#[cfg(test)]
pub mod testing {
    use crate::collect::{Activity, Server, Session, Setting, Snapshot, TableStats};

    /// A PostgreSQL 15 server with the defaults the rules read.
    pub fn server() -> Server {
        let mut s = Server {
            version_num: 150004,
            version: "15.4".into(),
            database: "shop".into(),
            role: "postgres".into(),
            can_monitor: true,
            ..Server::default()
        };
        for (k, v, u) in [
            ("max_connections", "100", None),
            ("superuser_reserved_connections", "3", None),
            ("work_mem", "4096", Some("kB")),
            ("idle_in_transaction_session_timeout", "0", Some("ms")),
            ("autovacuum", "on", None),
            ("lock_timeout", "0", Some("ms")),
        ] {
            s.settings.insert(
                k.into(),
                Setting {
                    setting: v.into(),
                    unit: u.map(str::to_string),
                    source: "default".into(),
                },
            );
        }
        s
    }

    pub fn snapshot(sessions: Vec<Session>) -> Snapshot {
        Snapshot {
            server: server(),
            activity: Activity::from_sessions(sessions),
            ..Snapshot::default()
        }
    }

    /// A client session in `state` for `age_s` seconds.
    pub fn session(pid: i32, state: &str, age_s: f64) -> Session {
        Session {
            pid,
            usename: Some("app".into()),
            datname: Some("shop".into()),
            application_name: Some("web".into()),
            backend_type: Some("client backend".into()),
            state: Some(state.into()),
            state_age_s: Some(age_s),
            query_age_s: Some(age_s),
            xact_age_s: (state != "idle").then_some(age_s),
            backend_age_s: Some(age_s + 100.0),
            query: Some("SELECT 1".into()),
            ..Session::default()
        }
    }

    pub fn table(name: &str, live: i64, dead: i64, changed: i64, reltuples: f64) -> TableStats {
        TableStats {
            schema: "public".into(),
            relation: name.into(),
            oid: 16384,
            relkind: "r".into(),
            reltuples,
            n_live_tup: live,
            n_dead_tup: dead,
            n_mod_since_analyze: changed,
            size_bytes: 8192 * 100,
            total_bytes: 8192 * 120,
            last_analyze_at: Some("2026-11-27 10:00:00+00".into()),
            analyze_age_s: Some(3600.0),
            last_vacuum_at: Some("2026-11-27 10:00:00+00".into()),
            vacuum_age_s: Some(3600.0),
            ..TableStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration_s(42.0), "42 s");
        assert_eq!(duration_s(600.0), "10 min");
        assert_eq!(duration_s(7200.0), "2.0 h");
        assert_eq!(bytes(5.0 * 1024.0 * 1024.0), "5.0 MB");
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(timeout_literal(300.0), "'5min'");
    }
}
