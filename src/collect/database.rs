//! Counters of the current database (`sql/database.sql`).

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::CollectError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseStats {
    pub numbackends: i32,
    pub xact_commit: i64,
    pub xact_rollback: i64,
    pub blks_read: i64,
    pub blks_hit: i64,
    pub temp_files: i64,
    pub temp_bytes: i64,
    pub deadlocks: i64,
    pub conflicts: i64,
    /// When the counters were last reset, as the server prints it; `None` = never.
    pub stats_reset: Option<String>,
    /// Seconds the counters cover (since the reset, or since the server started).
    pub stats_age_s: f64,
    pub size_bytes: i64,
}

pub async fn collect(client: &Client) -> Result<Option<DatabaseStats>, CollectError> {
    let row = client
        .query_opt(include_str!("sql/database.sql"), &[])
        .await
        .map_err(|e| CollectError::new("database statistics", e))?;
    Ok(row.map(|r| DatabaseStats {
        numbackends: r.get::<_, Option<i32>>("numbackends").unwrap_or(0),
        xact_commit: r.get::<_, Option<i64>>("xact_commit").unwrap_or(0),
        xact_rollback: r.get::<_, Option<i64>>("xact_rollback").unwrap_or(0),
        blks_read: r.get::<_, Option<i64>>("blks_read").unwrap_or(0),
        blks_hit: r.get::<_, Option<i64>>("blks_hit").unwrap_or(0),
        temp_files: r.get::<_, Option<i64>>("temp_files").unwrap_or(0),
        temp_bytes: r.get::<_, Option<i64>>("temp_bytes").unwrap_or(0),
        deadlocks: r.get::<_, Option<i64>>("deadlocks").unwrap_or(0),
        conflicts: r.get::<_, Option<i64>>("conflicts").unwrap_or(0),
        stats_reset: r.get("stats_reset"),
        stats_age_s: r.get::<_, Option<f64>>("stats_age_s").unwrap_or(0.0),
        size_bytes: r.get::<_, Option<i64>>("size_bytes").unwrap_or(0),
    }))
}
