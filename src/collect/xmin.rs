//! What holds back vacuum's cleanup horizon (`sql/xmin_holders.sql`, plus long transactions from
//! activity).

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::{Activity, CollectError};

/// One thing keeping old row versions alive.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XminHolder {
    /// `transaction`, `idle in transaction`, `prepared transaction` or `replication slot`.
    pub kind: String,
    /// The session (`pid 123 (app@shop)`), the prepared transaction's gid, or the slot's name.
    pub name: String,
    /// Owner, slot type and state, or the session's query.
    pub detail: String,
    /// Age of its xmin, in transactions.
    pub xmin_age: Option<i32>,
    /// How long it has been open, in seconds (not known for slots).
    pub age_s: Option<f64>,
    /// The session's pid, for transactions.
    pub pid: Option<i32>,
}

impl XminHolder {
    /// `idle in transaction pid 123 (app@shop), open 2 h, 1,234 transactions behind`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.kind, self.name);
        if !self.detail.is_empty()
            && self.kind != "transaction"
            && self.kind != "idle in transaction"
        {
            s.push_str(&format!(" ({})", self.detail));
        }
        if let Some(a) = self.age_s {
            s.push_str(&format!(", open {}", crate::rules::dbutil::duration_s(a)));
        }
        if let Some(x) = self.xmin_age {
            s.push_str(&format!(
                ", {} transactions old",
                crate::rules::dbutil::count(x as f64)
            ));
        }
        s
    }
}

pub async fn collect(client: &Client) -> Result<Vec<XminHolder>, CollectError> {
    let rows = client
        .query(include_str!("sql/xmin_holders.sql"), &[])
        .await
        .map_err(|e| CollectError::new("xmin holders", e))?;
    Ok(rows
        .iter()
        .map(|r| XminHolder {
            kind: r.get("kind"),
            name: r.get("name"),
            detail: r.get::<_, Option<String>>("detail").unwrap_or_default(),
            xmin_age: r.get("xmin_age"),
            age_s: r.get("age_s"),
            pid: None,
        })
        .collect())
}

/// Sessions holding a snapshot (a `backend_xmin`) inside a transaction.
pub fn from_activity(a: &Activity) -> Vec<XminHolder> {
    a.sessions
        .iter()
        .filter(|s| (s.backend_xmin.is_some() || s.backend_xid.is_some()) && s.xact_age_s.is_some())
        .map(|s| XminHolder {
            kind: if s.is_idle_in_transaction() {
                "idle in transaction".into()
            } else {
                "transaction".into()
            },
            name: s.describe(),
            detail: s.query_excerpt(120).unwrap_or_default(),
            xmin_age: s.xmin_age,
            age_s: s.xact_age_s,
            pid: Some(s.pid),
        })
        .collect()
}

/// Oldest xmin first (then longest open).
pub fn sort(v: &mut [XminHolder]) {
    v.sort_by(|a, b| {
        b.xmin_age
            .unwrap_or(-1)
            .cmp(&a.xmin_age.unwrap_or(-1))
            .then(
                b.age_s
                    .unwrap_or(0.0)
                    .partial_cmp(&a.age_s.unwrap_or(0.0))
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
    });
}
