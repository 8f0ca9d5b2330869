//! The safe harness: run one query under `EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON)` on a live
//! server without changing anything.
//!
//! Layers of protection, each enough on its own for the common cases:
//!
//! 1. [`vet`] refuses, from tokens (`sql::classify`), statements that write, that pgdiag must not
//!    send at all (transaction control, `SET`, `EXPLAIN`, …) and strings holding several
//!    statements — unless `allow_writes`, and then only the writing ones.
//! 2. The query is sent with the extended protocol (`Parse`/`Bind`/`Execute`), which the server
//!    refuses for more than one statement: a `;` that fooled the lexer cannot smuggle in a
//!    `COMMIT`.
//! 3. It runs in its own transaction, `BEGIN READ ONLY` (read-write only for statements allowed
//!    by `allow_writes`), which stops writes the lexer cannot see (a function, a view or a rule
//!    that writes), with `statement_timeout`, `lock_timeout` and
//!    `idle_in_transaction_session_timeout` set `LOCAL` to it.
//! 4. The transaction is always rolled back, also when the query failed; a connection that was
//!    lost rolls back on the server by itself.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::Client;

use crate::sql::{classify, Class};

/// How queries are run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `EXPLAIN ANALYZE` (executes the query) rather than plain `EXPLAIN`.
    pub analyze: bool,
    /// Run statements that write, in a read-write transaction that is rolled back.
    pub allow_writes: bool,
    /// `None`: no limit.
    pub statement_timeout: Option<Duration>,
    /// `None`: wait forever.
    pub lock_timeout: Option<Duration>,
    /// Ends the session if pgdiag stalls inside its transaction.
    pub idle_in_transaction_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            analyze: true,
            allow_writes: false,
            statement_timeout: Some(Duration::from_secs(30)),
            lock_timeout: Some(Duration::from_secs(2)),
            idle_in_transaction_timeout: Duration::from_secs(60),
        }
    }
}

/// The transaction a query runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ReadOnly,
    /// Only for statements that write, with `allow_writes`; always rolled back.
    ReadWrite,
}

/// Whether `sql` may be sent, and in which transaction; else why not (one line).
pub fn vet(sql: &str, opts: &Options) -> Result<Mode, String> {
    match classify(sql) {
        Class::ReadOnly => Ok(Mode::ReadOnly),
        // Plain EXPLAIN does not execute: a DML statement is only planned, and the read-only
        // transaction still stops anything the planner might run.
        Class::Writes(_) if !opts.analyze => Ok(Mode::ReadOnly),
        // Sequences, advisory locks, other sessions, the server's configuration: a rollback
        // does not undo what these built-ins do.
        Class::Writes(why) if opts.allow_writes && why.starts_with("calls ") => Err(format!(
            "refused even with --allow-writes: the statement {why}, which a rollback does not undo"
        )),
        Class::Writes(_) if opts.allow_writes => Ok(Mode::ReadWrite),
        Class::Writes(why) => Err(format!(
            "refused: the statement writes ({why}), and EXPLAIN ANALYZE would execute it; \
             --allow-writes runs it in a transaction that is rolled back, --no-analyze only plans it"
        )),
        Class::Refused(why) => Err(format!("refused: {why}")),
        Class::Multiple => Err(
            "refused: several statements in one query; give each on its own (-c is one statement, -f splits a file)"
                .to_string(),
        ),
    }
}

/// What pgdiag needs to know about the server, asked once per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerInfo {
    /// `server_version_num`, e.g. 150004.
    pub version_num: u32,
    /// A hot standby (`pg_is_in_recovery()`).
    pub in_recovery: bool,
}

/// Ask the server its version and whether it is a standby.
pub async fn server_info(client: &Client) -> Result<ServerInfo, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int4, pg_is_in_recovery()",
            &[],
        )
        .await?;
    Ok(ServerInfo {
        version_num: row.get::<_, i32>(0).max(0) as u32,
        in_recovery: row.get(1),
    })
}

/// The EXPLAIN statement sent for `sql`.
pub fn explain_statement(sql: &str, opts: &Options, server: &ServerInfo, mode: Mode) -> String {
    let mut o = Vec::new();
    if opts.analyze {
        o.extend(["ANALYZE", "BUFFERS"]);
    }
    // VERBOSE prints each node's output columns, from which the rules suggest covering
    // indexes (INCLUDE), and schema-qualified names for the suggested statements.
    o.extend(["VERBOSE", "FORMAT JSON"]);
    if server.version_num >= 120000 {
        o.push("SETTINGS");
    }
    if opts.analyze && mode == Mode::ReadWrite && server.version_num >= 130000 {
        o.push("WAL");
    }
    format!("EXPLAIN ({}) {}", o.join(", "), strip_semicolon(sql))
}

/// The statement without a trailing `;` (and the white space around it).
fn strip_semicolon(sql: &str) -> &str {
    let t = sql.trim();
    t.strip_suffix(';').map(str::trim_end).unwrap_or(t)
}

/// `SET LOCAL` value in milliseconds; 0 disables.
fn ms(d: Option<Duration>) -> u128 {
    d.map(|d| d.as_millis().max(1)).unwrap_or(0)
}

/// Why a query produced no plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The server refused or stopped the query; the session is still usable.
    Query(String),
    /// The session is gone (terminated, network lost): reconnect for the next query.
    Lost(String),
}

impl RunError {
    pub fn message(&self) -> &str {
        match self {
            RunError::Query(m) | RunError::Lost(m) => m,
        }
    }
}

/// Runs `sql` (already accepted by [`vet`] with `mode`) under EXPLAIN in its own transaction,
/// always rolled back, and returns the JSON text of the plan.
pub async fn run(
    client: &Client,
    server: &ServerInfo,
    sql: &str,
    opts: &Options,
    mode: Mode,
) -> Result<String, RunError> {
    let begin = match mode {
        Mode::ReadOnly => "BEGIN READ ONLY",
        Mode::ReadWrite => "BEGIN READ WRITE",
    };
    let setup = setup_statements(begin, opts, server);
    let result = match client.batch_execute(&setup).await {
        Ok(()) => {
            let stmt = explain_statement(sql, opts, server, mode);
            // The extended protocol (Parse, Bind, Execute): one statement, never several.
            let rows = match client.prepare(&stmt).await {
                Ok(p) if !p.params().is_empty() => {
                    return finish(client, Err(PARAMS.to_string())).await;
                }
                Ok(p) => client.query(&p, &[]).await,
                Err(e) => Err(e),
            };
            match rows {
                Ok(rows) => {
                    let mut text = String::new();
                    for r in rows {
                        match r.try_get::<_, Text>(0) {
                            Ok(Text(t)) => {
                                text.push_str(&t);
                                text.push('\n');
                            }
                            Err(e) => {
                                return finish(client, Err(describe(&e, opts))).await;
                            }
                        }
                    }
                    Ok(text)
                }
                Err(e) => Err(describe(&e, opts)),
            }
        }
        Err(e) => Err(describe(&e, opts)),
    };
    finish(client, result).await
}

/// The transaction's start: `BEGIN …; SET LOCAL …` (idle_in_transaction_session_timeout exists
/// from PostgreSQL 9.6 on).
fn setup_statements(begin: &str, opts: &Options, server: &ServerInfo) -> String {
    let mut s = format!(
        "{begin}; SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}",
        ms(opts.statement_timeout),
        ms(opts.lock_timeout),
    );
    if server.version_num >= 90600 {
        s.push_str(&format!(
            "; SET LOCAL idle_in_transaction_session_timeout = {}",
            ms(Some(opts.idle_in_transaction_timeout))
        ));
    }
    s
}

const PARAMS: &str =
    "the query has parameters ($1, …) and pgdiag cannot bind them: put values in place of $N";

/// Always roll back; a session that is gone is reported as lost.
async fn finish(client: &Client, result: Result<String, String>) -> Result<String, RunError> {
    let rollback = client.batch_execute("ROLLBACK").await;
    match (result, rollback) {
        (Ok(t), Ok(())) => Ok(t),
        (Ok(_), Err(e)) => Err(lost_or_query(
            client,
            format!("cannot roll back: {}", crate::conn::describe_error(&e)),
        )),
        (Err(m), _) => Err(lost_or_query(client, m)),
    }
}

fn lost_or_query(client: &Client, msg: String) -> RunError {
    if client.is_closed() {
        RunError::Lost(msg)
    } else {
        RunError::Query(msg)
    }
}

/// One line, with which of pgdiag's limits stopped the query when one did.
fn describe(e: &tokio_postgres::Error, opts: &Options) -> String {
    let mut m = crate::conn::describe_error(e);
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::QUERY_CANCELED && db.message().contains("statement timeout") {
            if let Some(t) = opts.statement_timeout {
                m.push_str(&format!(
                    " (--statement-timeout {}; raise it to let the query finish)",
                    show_duration(t)
                ));
            }
        } else if *db.code() == SqlState::LOCK_NOT_AVAILABLE {
            if let Some(t) = opts.lock_timeout {
                m.push_str(&format!(
                    " (another session holds a conflicting lock; --lock-timeout {})",
                    show_duration(t)
                ));
            }
        } else if db.message().starts_with("there is no parameter $") {
            m.push_str(&format!(" ({PARAMS})"));
        } else if *db.code() == SqlState::READ_ONLY_SQL_TRANSACTION {
            m.push_str(
                " (pgdiag runs queries in a READ ONLY transaction: something in the query writes)",
            );
        }
    }
    m
}

/// `500ms`, `30s`, `2min`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Reads `500ms`, `30s`, `2min`, `1h`, or `0` (no limit, `None`). A unit is required.
pub fn parse_duration(s: &str) -> Result<Option<Duration>, String> {
    let t = s.trim();
    if t == "0" {
        return Ok(None);
    }
    let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 500ms, 30s, 2min)"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.saturating_mul(1000),
        "min" | "m" => n.saturating_mul(60_000),
        "h" => n.saturating_mul(3_600_000),
        "" => return Err(format!("`{s}` needs a unit: ms, s, min or h (e.g. 30s)")),
        u => return Err(format!("`{s}`: unknown unit `{u}` (use ms, s, min or h)")),
    };
    // PostgreSQL's limit for these settings.
    if ms > i32::MAX as u64 {
        return Err(format!("`{s}` is too long (at most about 24 days)"));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

/// EXPLAIN's output column: `json` for FORMAT JSON (text for the others), read as text.
struct Text(String);

impl<'a> FromSql<'a> for Text {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Text(std::str::from_utf8(raw)?.to_string()))
    }
    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::JSON | Type::TEXT | Type::VARCHAR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("500ms"),
            Ok(Some(Duration::from_millis(500)))
        );
        assert_eq!(parse_duration("30s"), Ok(Some(Duration::from_secs(30))));
        assert_eq!(parse_duration("2min"), Ok(Some(Duration::from_secs(120))));
        assert_eq!(parse_duration("0"), Ok(None));
        assert!(parse_duration("30").is_err());
        assert!(parse_duration("3x").is_err());
        assert!(parse_duration("-1s").is_err());
        assert_eq!(show_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(show_duration(Duration::from_secs(30)), "30s");
    }

    #[test]
    fn vetting() {
        let o = Options::default();
        assert_eq!(vet("select 1", &o), Ok(Mode::ReadOnly));
        assert!(vet("delete from t", &o).is_err());
        assert!(vet("select 1; drop table t", &o).is_err());
        assert!(vet("select nextval('s')", &o).is_err());
        assert!(vet("begin", &o).is_err());
        let w = Options {
            allow_writes: true,
            ..Options::default()
        };
        assert_eq!(vet("delete from t", &w), Ok(Mode::ReadWrite));
        assert!(vet("select 1; drop table t", &w).is_err());
        assert!(vet("commit", &w).is_err());
        assert!(vet("select nextval('s')", &w).is_err());
        let plan = Options {
            analyze: false,
            ..Options::default()
        };
        assert_eq!(vet("delete from t", &plan), Ok(Mode::ReadOnly));
    }

    #[test]
    fn statement() {
        let s = ServerInfo {
            version_num: 150000,
            in_recovery: false,
        };
        let o = Options::default();
        assert_eq!(
            explain_statement("select 1 ;", &o, &s, Mode::ReadOnly),
            "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON, SETTINGS) select 1"
        );
        assert_eq!(
            explain_statement("delete from t", &o, &s, Mode::ReadWrite),
            "EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON, SETTINGS, WAL) delete from t"
        );
        let old = ServerInfo {
            version_num: 110000,
            ..s
        };
        let plan = Options {
            analyze: false,
            ..o
        };
        assert_eq!(
            explain_statement("select 1", &plan, &old, Mode::ReadOnly),
            "EXPLAIN (VERBOSE, FORMAT JSON) select 1"
        );
        assert_eq!(
            setup_statements("BEGIN READ ONLY", &o, &s),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 2000; \
             SET LOCAL idle_in_transaction_session_timeout = 60000"
        );
        let older = ServerInfo {
            version_num: 90500,
            ..s
        };
        assert_eq!(
            setup_statements("BEGIN READ ONLY", &plan, &older),
            "BEGIN READ ONLY; SET LOCAL statement_timeout = 30000; SET LOCAL lock_timeout = 2000"
        );
    }
}
