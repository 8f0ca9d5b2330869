//! Size and statistics of the relations plans touch (`sql/tables.sql`) and their existing
//! indexes (`sql/indexes.sql`).

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use super::CollectError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TableStats {
    pub schema: String,
    pub relation: String,
    pub oid: i64,
    pub relkind: String,
    /// The planner's row count (`pg_class.reltuples`; -1 = never vacuumed or analyzed, 14+).
    pub reltuples: f64,
    pub relpages: i64,
    pub size_bytes: i64,
    pub total_bytes: i64,
    pub n_live_tup: i64,
    pub n_dead_tup: i64,
    pub n_mod_since_analyze: i64,
    pub seq_scan: i64,
    pub seq_tup_read: i64,
    pub idx_scan: Option<i64>,
    pub last_analyze_at: Option<String>,
    pub analyze_age_s: Option<f64>,
    pub last_vacuum_at: Option<String>,
    pub vacuum_age_s: Option<f64>,
    pub reloptions: Vec<String>,
}

impl TableStats {
    /// `schema.relation`, quoted as needed.
    pub fn qualified(&self) -> String {
        use crate::rules::predicate::quote_ident;
        format!(
            "{}.{}",
            quote_ident(&self.schema),
            quote_ident(&self.relation)
        )
    }

    /// Rows as best known: reltuples when set, else the live-row counter.
    pub fn rows(&self) -> f64 {
        if self.reltuples >= 0.0 {
            self.reltuples.max(self.n_live_tup as f64)
        } else {
            self.n_live_tup as f64
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IndexInfo {
    pub table_oid: i64,
    pub index: String,
    pub is_unique: bool,
    pub is_primary: bool,
    pub is_valid: bool,
    pub is_partial: bool,
    pub definition: String,
    /// Key columns (or expressions) in order, without INCLUDE columns or operator classes.
    pub key_columns: Vec<String>,
    pub size_bytes: i64,
    pub idx_scan: Option<i64>,
}

pub async fn collect(
    client: &Client,
    relations: &[String],
) -> Result<Vec<TableStats>, CollectError> {
    let rows = client
        .query(include_str!("sql/tables.sql"), &[&relations])
        .await
        .map_err(|e| CollectError::new("table statistics", e))?;
    Ok(rows
        .iter()
        .map(|r| TableStats {
            schema: r.get("schema"),
            relation: r.get("relation"),
            oid: r.get("oid"),
            relkind: r.get("relkind"),
            reltuples: r.get::<_, Option<f64>>("reltuples").unwrap_or(-1.0),
            relpages: r.get::<_, Option<i64>>("relpages").unwrap_or(0),
            size_bytes: r.get::<_, Option<i64>>("size_bytes").unwrap_or(0),
            total_bytes: r.get::<_, Option<i64>>("total_bytes").unwrap_or(0),
            n_live_tup: r.get::<_, Option<i64>>("n_live_tup").unwrap_or(0),
            n_dead_tup: r.get::<_, Option<i64>>("n_dead_tup").unwrap_or(0),
            n_mod_since_analyze: r.get::<_, Option<i64>>("n_mod_since_analyze").unwrap_or(0),
            seq_scan: r.get::<_, Option<i64>>("seq_scan").unwrap_or(0),
            seq_tup_read: r.get::<_, Option<i64>>("seq_tup_read").unwrap_or(0),
            idx_scan: r.get("idx_scan"),
            last_analyze_at: r.get("last_analyze_at"),
            analyze_age_s: r.get("analyze_age_s"),
            last_vacuum_at: r.get("last_vacuum_at"),
            vacuum_age_s: r.get("vacuum_age_s"),
            reloptions: r
                .get::<_, Option<Vec<String>>>("reloptions")
                .unwrap_or_default(),
        })
        .collect())
}

pub async fn collect_indexes(
    client: &Client,
    table_oids: &[u32],
) -> Result<Vec<IndexInfo>, CollectError> {
    let rows = client
        .query(include_str!("sql/indexes.sql"), &[&table_oids])
        .await
        .map_err(|e| CollectError::new("indexes", e))?;
    Ok(rows
        .iter()
        .map(|r| IndexInfo {
            table_oid: r.get("table_oid"),
            index: r.get("index"),
            is_unique: r.get("is_unique"),
            is_primary: r.get("is_primary"),
            is_valid: r.get("is_valid"),
            is_partial: r.get("is_partial"),
            definition: r.get("definition"),
            key_columns: r
                .get::<_, Option<Vec<String>>>("key_columns")
                .unwrap_or_default(),
            size_bytes: r.get::<_, Option<i64>>("size_bytes").unwrap_or(0),
            idx_scan: r.get("idx_scan"),
        })
        .collect())
}
