//! Statistics collectors: what the server says about itself, its sessions and the tables a plan
//! touches, gathered into one [`Snapshot`].
//!
//! One file per area, each running one query from `sql/` (read them there; they are cheap by
//! design and work for a role with only `pg_monitor`). The snapshot is plain data
//! (Serialize + Deserialize): the database rules (`rules::check_database`) are pure functions of
//! it, so tests feed them hand-made or saved snapshots.
//!
//! What the connected role cannot see (other roles' sessions without `pg_monitor`, say) is
//! recorded in [`Snapshot::not_visible`], and the reports say so.
//!
//! Live diagnosis of a query uses it like this (all but the first line are pure):
//!
//! ```text
//! let snap = collect::snapshot(&client, &rules::join::plan_relations(&plan)).await?;
//! let findings = rules::join::with_table_stats(&plan, rules::check_plan(&plan, &s), &snap, &s);
//! let db_findings = rules::check_database(&snap, &s);   // for Report.database, if wanted
//! ```

pub mod activity;
pub mod database;
pub mod server;
pub mod tables;
pub mod xmin;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

pub use activity::{Activity, Session, StateCount};
pub use database::DatabaseStats;
pub use server::{Server, Setting};
pub use tables::{IndexInfo, TableStats};
pub use xmin::XminHolder;

/// Everything the database rules read, taken at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub server: Server,
    /// Counters of the current database (`pg_stat_database`).
    pub database: Option<DatabaseStats>,
    pub activity: Activity,
    /// What holds back vacuum's cleanup horizon, oldest first: long transactions (from
    /// activity), prepared transactions, replication slots.
    pub xmin_holders: Vec<XminHolder>,
    /// Statistics of the tables asked for (those a plan touches, or health's candidates).
    pub tables: Vec<TableStats>,
    /// Existing indexes of those tables.
    pub indexes: Vec<IndexInfo>,
    /// What the role could not see, one sentence each.
    pub not_visible: Vec<String>,
}

/// A collector query failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot collect {what}: {message}")]
pub struct CollectError {
    pub what: &'static str,
    pub message: String,
}

impl CollectError {
    pub(crate) fn new(what: &'static str, e: tokio_postgres::Error) -> Self {
        CollectError {
            what,
            message: crate::conn::describe_error(&e),
        }
    }
}

/// Collect a snapshot: server, database, activity, xmin holders, and the statistics and indexes
/// of `relations` (names as plans print them: `relname` or `schema.relname`; unknown names are
/// skipped).
pub async fn snapshot(client: &Client, relations: &[String]) -> Result<Snapshot, CollectError> {
    let server = server::collect(client).await?;
    let database = database::collect(client).await?;
    let activity = activity::collect(client).await?;
    let mut xmin_holders = xmin::collect(client).await?;
    xmin_holders.extend(xmin::from_activity(&activity));
    xmin::sort(&mut xmin_holders);
    let (tables, indexes) = if relations.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let t = tables::collect(client, relations).await?;
        let oids: Vec<u32> = t.iter().map(|t| t.oid as u32).collect();
        let i = tables::collect_indexes(client, &oids).await?;
        (t, i)
    };
    let mut not_visible = Vec::new();
    if !server.can_monitor {
        not_visible.push(format!(
            "role {} has neither pg_monitor nor superuser: other roles' sessions, queries and \
             transaction ages are hidden",
            server.role
        ));
    }
    if activity.hidden > 0 {
        not_visible.push(format!(
            "{} session(s) of other roles: state, query and ages not visible (needs pg_monitor)",
            activity.hidden
        ));
    }
    Ok(Snapshot {
        server,
        database,
        activity,
        xmin_holders,
        tables,
        indexes,
        not_visible,
    })
}

/// For `pgdiag health`: the tables worth a look (most dead or changed rows, or never analyzed;
/// at most `limit`, each with at least `min_rows` such rows), found with one bounded query.
pub async fn candidate_tables(
    client: &Client,
    min_rows: i64,
    limit: i64,
) -> Result<Vec<String>, CollectError> {
    let rows = client
        .query(
            include_str!("sql/candidate_tables.sql"),
            &[&min_rows, &limit],
        )
        .await
        .map_err(|e| CollectError::new("candidate tables", e))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// `pgdiag health`'s snapshot: the server, plus the candidate tables.
pub async fn health_snapshot(client: &Client) -> Result<Snapshot, CollectError> {
    let names = candidate_tables(client, 1000, 50).await?;
    snapshot(client, &names).await
}
