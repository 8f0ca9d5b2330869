//! Sessions of the whole server (`sql/activity.sql`), with counts by state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::CollectError;

/// What `pg_stat_activity` shows in `query` for a session the role may not see.
pub const HIDDEN_QUERY: &str = "<insufficient privilege>";

/// One other session (the collector's own is left out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    pub pid: i32,
    pub usename: Option<String>,
    pub datname: Option<String>,
    pub application_name: Option<String>,
    pub client_addr: Option<String>,
    pub backend_type: Option<String>,
    /// `active`, `idle`, `idle in transaction`, …; `None` for background processes and for
    /// sessions the role may not see.
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    pub backend_age_s: Option<f64>,
    pub xact_age_s: Option<f64>,
    pub query_age_s: Option<f64>,
    pub state_age_s: Option<f64>,
    pub backend_xmin: Option<String>,
    /// The transaction id, once the transaction wrote something.
    pub backend_xid: Option<String>,
    /// Age of the older of `backend_xmin` and `backend_xid`, in transactions.
    pub xmin_age: Option<i32>,
    /// The first 300 characters of the current or last query.
    pub query: Option<String>,
    /// Sessions this one waits for (`pg_blocking_pids`).
    pub blocked_by: Vec<i32>,
}

impl Session {
    /// A client connection (not autovacuum, WAL sender or another background process). Hidden
    /// sessions of other roles count as clients: only clients are hidden.
    pub fn is_client(&self) -> bool {
        match self.backend_type.as_deref() {
            Some(t) => t == "client backend",
            None => self.is_hidden(),
        }
    }

    /// A session whose details the role may not see.
    pub fn is_hidden(&self) -> bool {
        self.query.as_deref() == Some(HIDDEN_QUERY)
    }

    /// `idle in transaction` or `idle in transaction (aborted)`.
    pub fn is_idle_in_transaction(&self) -> bool {
        self.state
            .as_deref()
            .is_some_and(|s| s.starts_with("idle in transaction"))
    }

    /// `pid 123 (app@db, application "x")`: who this is, for messages.
    pub fn describe(&self) -> String {
        let mut s = format!("pid {}", self.pid);
        let who = match (&self.usename, &self.datname) {
            (Some(u), Some(d)) => Some(format!("{u}@{d}")),
            (Some(u), None) => Some(u.clone()),
            (None, Some(d)) => Some(format!("@{d}")),
            _ => None,
        };
        let mut parts = Vec::new();
        if let Some(w) = who {
            parts.push(w);
        }
        if let Some(a) = self.application_name.as_deref().filter(|a| !a.is_empty()) {
            parts.push(format!("application \"{a}\""));
        }
        if let Some(c) = self.client_addr.as_deref() {
            parts.push(format!("from {c}"));
        }
        if !parts.is_empty() {
            s.push_str(&format!(" ({})", parts.join(", ")));
        }
        s
    }

    /// The query, on one line and shortened, when visible.
    pub fn query_excerpt(&self, max: usize) -> Option<String> {
        let q = self
            .query
            .as_deref()
            .filter(|q| !self.is_hidden() && !q.trim().is_empty())?;
        let one: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
        if one.chars().count() > max {
            Some(format!("{}…", one.chars().take(max).collect::<String>()))
        } else {
            Some(one)
        }
    }
}

/// Client sessions in one state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StateCount {
    /// The state, or `not visible`.
    pub state: String,
    pub count: usize,
    /// The longest time a session has been in this state, in seconds.
    pub oldest_s: Option<f64>,
}

/// Every other session, and client sessions counted by state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Activity {
    pub sessions: Vec<Session>,
    /// Client sessions by state (the collector's own session is not counted).
    pub by_state: Vec<StateCount>,
    /// Sessions whose details the role may not see.
    pub hidden: usize,
}

impl Activity {
    /// Build from sessions (counts derived here, so hand-made snapshots stay consistent).
    pub fn from_sessions(sessions: Vec<Session>) -> Activity {
        let mut by: BTreeMap<String, StateCount> = BTreeMap::new();
        for s in sessions.iter().filter(|s| s.is_client()) {
            let state = if s.is_hidden() {
                "not visible".to_string()
            } else {
                s.state.clone().unwrap_or_else(|| "unknown".into())
            };
            let e = by.entry(state.clone()).or_insert_with(|| StateCount {
                state,
                count: 0,
                oldest_s: None,
            });
            e.count += 1;
            if let Some(a) = s.state_age_s {
                e.oldest_s = Some(e.oldest_s.map_or(a, |o: f64| o.max(a)));
            }
        }
        let mut by_state: Vec<StateCount> = by.into_values().collect();
        by_state.sort_by(|a, b| b.count.cmp(&a.count).then(a.state.cmp(&b.state)));
        let hidden = sessions.iter().filter(|s| s.is_hidden()).count();
        Activity {
            sessions,
            by_state,
            hidden,
        }
    }

    /// Client sessions, the collector's own excluded.
    pub fn clients(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(|s| s.is_client())
    }

    pub fn idle_in_transaction(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(|s| s.is_idle_in_transaction())
    }

    /// Sessions waiting for a lock another session holds.
    pub fn blocked(&self) -> impl Iterator<Item = &Session> {
        self.sessions.iter().filter(|s| !s.blocked_by.is_empty())
    }

    pub fn by_pid(&self, pid: i32) -> Option<&Session> {
        self.sessions.iter().find(|s| s.pid == pid)
    }
}

pub async fn collect(client: &Client) -> Result<Activity, CollectError> {
    let rows = client
        .query(include_str!("sql/activity.sql"), &[])
        .await
        .map_err(|e| CollectError::new("activity", e))?;
    let sessions = rows
        .iter()
        .map(|r| Session {
            pid: r.get("pid"),
            usename: r.get("usename"),
            datname: r.get("datname"),
            application_name: r.get("application_name"),
            client_addr: r.get("client_addr"),
            backend_type: r.get("backend_type"),
            state: r.get("state"),
            wait_event_type: r.get("wait_event_type"),
            wait_event: r.get("wait_event"),
            backend_age_s: r.get("backend_age_s"),
            xact_age_s: r.get("xact_age_s"),
            query_age_s: r.get("query_age_s"),
            state_age_s: r.get("state_age_s"),
            backend_xmin: r.get("backend_xmin"),
            backend_xid: r.get("backend_xid"),
            xmin_age: r.get("xmin_age"),
            query: r.get("query"),
            blocked_by: r
                .get::<_, Option<Vec<i32>>>("blocked_by")
                .unwrap_or_default(),
        })
        .collect();
    Ok(Activity::from_sessions(sessions))
}
