//! Is a statement safe to run under `EXPLAIN ANALYZE`, which executes it?
//!
//! Decided from tokens (the lexer in `lex.rs`), never from raw text: `select 'drop table t'` and
//! `/* delete */ select 1` only read. The first keyword decides, after any leading `(`:
//!
//! | first keyword | class | why |
//! | --- | --- | --- |
//! | SELECT, VALUES, TABLE, WITH | `ReadOnly`, unless a check below finds a write | queries |
//! | SHOW | `ReadOnly` | reads a setting (the server will not EXPLAIN it) |
//! | INSERT, UPDATE, DELETE, MERGE, TRUNCATE | `Writes` | change rows |
//! | COPY … FROM | `Writes` | loads rows |
//! | CREATE, ALTER, DROP, COMMENT, SECURITY LABEL, IMPORT, REFRESH | `Writes` | change the schema or stored data |
//! | GRANT, REVOKE, REASSIGN | `Writes` | change privileges or ownership |
//! | VACUUM, ANALYZE, CLUSTER, REINDEX, CHECKPOINT | `Writes` | maintenance that writes |
//! | LOCK | `Writes` | takes table locks |
//! | CALL, DO | `Writes` | run arbitrary procedural code |
//! | NOTIFY | `Writes` | sends a notification |
//! | EXPLAIN | `Refused` | pgdiag adds its own EXPLAIN; give the query alone |
//! | BEGIN, START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE, PREPARE TRANSACTION | `Refused` | would end or alter pgdiag's own transaction |
//! | SET, RESET, DISCARD, LOAD, LISTEN, UNLISTEN | `Refused` | change the session pgdiag runs in |
//! | PREPARE, EXECUTE, DEALLOCATE, DECLARE, FETCH, MOVE, CLOSE | `Refused` | refer to session objects (prepared statements, cursors) pgdiag does not have |
//! | COPY … TO | `Refused` | a data transfer, not a query: EXPLAIN the query inside it instead |
//! | anything else, or no keyword | `Refused` | unknown: refuse rather than guess |
//!
//! Queries that start like reads are `Writes` when they contain, outside strings and comments:
//! - `INSERT`/`UPDATE`/`DELETE`/`MERGE` opening a CTE body (`AS (`, `AS [NOT] MATERIALIZED (`),
//!   or anywhere outside parentheses of a `WITH` statement (`WITH … DELETE FROM t`);
//! - a locking clause `FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE`, `FOR KEY SHARE` (row locks);
//! - `INTO` (`SELECT … INTO t` creates a table);
//! - a call of a known volatile built-in (`nextval`, `setval`, `pg_advisory_lock`, `lo_*`,
//!   `dblink*`, `pg_notify`, `set_config`, … see [`VOLATILE`] and [`VOLATILE_PREFIXES`]).
//!
//! These checks lean towards `Writes`: a column named `update` outside parentheses of a WITH
//! query, or a user function called `lo_something`, is taken for a write.
//!
//! What cannot be known from tokens: a user-defined function, a view or a rule that writes, or a
//! built-in not listed here. `ReadOnly` means "nothing here is known to write", not "proven
//! read-only": the harness must still run statements inside `BEGIN READ ONLY … ROLLBACK`, and it
//! is that read-only transaction which stops those writes ("cannot execute … in a read-only
//! transaction").
//!
//! More than one statement (a `;` followed by more tokens, outside a `BEGIN ATOMIC` body; a `;`
//! inside parentheses counts, since the server splits there) is `Multiple`. A psql backslash
//! command, or text the lexer cannot read, is `Refused`.

use super::lex::{Kind, Lexer, Nesting, Token};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Nothing in it is known to write. Still run it in a read-only transaction.
    ReadOnly,
    /// Changes data, schema, locks or server state; the reason says what.
    Writes(String),
    /// pgdiag does not send it at all; the reason says why.
    Refused(String),
    /// More than one statement.
    Multiple,
}

impl Class {
    pub fn is_read_only(&self) -> bool {
        *self == Class::ReadOnly
    }
}

/// Built-in functions with side effects, each with what it does.
pub const VOLATILE: &[(&str, &str)] = &[
    ("nextval", "advances a sequence"),
    ("setval", "sets a sequence"),
    ("txid_current", "assigns a transaction ID"),
    ("pg_current_xact_id", "assigns a transaction ID"),
    ("pg_terminate_backend", "terminates another session"),
    ("pg_cancel_backend", "cancels another session's query"),
    ("pg_notify", "sends a notification"),
    ("set_config", "changes a setting"),
    ("pg_reload_conf", "reloads the server configuration"),
    ("pg_rotate_logfile", "rotates the server log"),
    ("pg_switch_wal", "switches the WAL file"),
    ("pg_promote", "promotes a standby"),
    ("pg_wal_replay_pause", "pauses WAL replay"),
    ("pg_wal_replay_resume", "resumes WAL replay"),
    ("pg_backup_start", "starts a backup"),
    ("pg_backup_stop", "stops a backup"),
    ("pg_drop_replication_slot", "drops a replication slot"),
    ("pg_replication_slot_advance", "advances a replication slot"),
    ("pg_import_system_collations", "creates collations"),
    ("pg_log_backend_memory_contexts", "writes to the server log"),
    ("pg_file_write", "writes a server file"),
    ("pg_truncate_visibility_map", "truncates a visibility map"),
    ("pg_start_backup", "starts a backup"),
    ("pg_stop_backup", "stops a backup"),
    ("pg_log_standby_snapshot", "writes to the WAL"),
    ("pg_logical_emit_message", "writes to the WAL"),
    ("pg_sync_replication_slots", "changes replication slots"),
];

/// Families of built-ins with side effects, by name prefix.
pub const VOLATILE_PREFIXES: &[(&str, &str)] = &[
    ("pg_advisory_", "takes or releases an advisory lock"),
    ("pg_try_advisory_", "takes an advisory lock"),
    ("lo_", "works on large objects, which may write"),
    (
        "dblink",
        "runs SQL on another connection, outside this transaction",
    ),
    ("pg_stat_reset", "resets statistics"),
    ("pg_stat_statements_reset", "resets statistics"),
    ("pg_create_", "creates a replication slot or restore point"),
    (
        "pg_logical_slot_get_",
        "consumes changes from a replication slot",
    ),
    ("pg_replication_origin_", "may change a replication origin"),
];

/// Classify one statement (as `split` returns it; a trailing `;` is allowed).
pub fn classify(sql: &str) -> Class {
    let mut toks = Vec::new();
    for tok in Lexer::new(sql) {
        match tok {
            Err(e) => return Class::Refused(format!("cannot be read: {e}")),
            Ok(t) if t.kind == Kind::Meta => {
                return Class::Refused(format!("contains a psql command `{}`", t.text(sql).trim()));
            }
            Ok(t) if t.is_comment() => {}
            Ok(t) => toks.push(t),
        }
    }
    if is_multiple(&toks, sql) {
        return Class::Multiple;
    }
    let Some(first) = toks.iter().find(|t| !t.is_punct(sql, b'(')) else {
        return Class::Refused("empty statement".into());
    };
    let kw = if first.kind == Kind::Word {
        first.text(sql).to_ascii_uppercase()
    } else {
        String::new()
    };
    let writes = |what: &str| Class::Writes(format!("{kw} {what}"));
    let refused = |why: &str| Class::Refused(format!("{kw}: {why}"));
    match kw.as_str() {
        "SELECT" | "VALUES" | "TABLE" | "WITH" => match find_write(&toks, sql, kw == "WITH") {
            Some(reason) => Class::Writes(reason),
            None => Class::ReadOnly,
        },
        "SHOW" => Class::ReadOnly,
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE" => writes("changes rows"),
        "COPY" => {
            if toks.iter().any(|t| t.is_word(sql, "from"))
                && !toks.iter().any(|t| t.is_word(sql, "to"))
            {
                writes("… FROM loads rows")
            } else {
                refused("a data transfer, not a query; give the query inside it instead")
            }
        }
        "CREATE" | "ALTER" | "DROP" | "COMMENT" | "SECURITY" | "IMPORT" | "REFRESH" => {
            writes("changes the schema or stored data")
        }
        "GRANT" | "REVOKE" | "REASSIGN" => writes("changes privileges or ownership"),
        "VACUUM" | "ANALYZE" | "ANALYSE" | "CLUSTER" | "REINDEX" | "CHECKPOINT" => {
            writes("is maintenance that writes")
        }
        "LOCK" => writes("takes a table lock"),
        "CALL" | "DO" => writes("runs procedural code, which may write"),
        "NOTIFY" => writes("sends a notification"),
        "EXPLAIN" => refused("pgdiag adds its own EXPLAIN; give the query alone"),
        "PREPARE" if !toks.get(1).is_some_and(|t| t.is_word(sql, "transaction")) => {
            refused("refers to a prepared statement or cursor of another session")
        }
        "BEGIN" | "START" | "COMMIT" | "END" | "ROLLBACK" | "ABORT" | "SAVEPOINT" | "RELEASE"
        | "PREPARE" => refused("transaction control would end or alter pgdiag's own transaction"),
        "SET" | "RESET" | "DISCARD" | "LOAD" | "LISTEN" | "UNLISTEN" => {
            refused("changes the session pgdiag runs in")
        }
        "EXECUTE" | "DEALLOCATE" | "DECLARE" | "FETCH" | "MOVE" | "CLOSE" => {
            refused("refers to a prepared statement or cursor of another session")
        }
        "" => Class::Refused(format!(
            "does not start with a keyword: `{}`",
            first.text(sql)
        )),
        _ => refused("not a statement pgdiag knows; refused rather than guessed"),
    }
}

/// A `;` outside a `BEGIN ATOMIC` body with more tokens after it.
fn is_multiple(toks: &[Token], sql: &str) -> bool {
    let mut nest = Nesting::default();
    let mut ended = false;
    for t in toks {
        if t.is_punct(sql, b';') {
            ended |= !nest.in_atomic();
        } else if ended {
            return true;
        }
        nest.feed(t, sql);
    }
    false
}

/// The first write in a query that starts like a read, as a reason.
fn find_write(toks: &[Token], sql: &str, with: bool) -> Option<String> {
    let word = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.is_word(sql, kw));
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if t.is_punct(sql, b'(') {
            depth += 1;
        } else if t.is_punct(sql, b')') {
            depth = depth.saturating_sub(1);
        }
        if t.kind == Kind::Word {
            let w = t.text(sql).to_ascii_uppercase();
            let dml = matches!(w.as_str(), "INSERT" | "UPDATE" | "DELETE" | "MERGE");
            if dml
                && (cte_body_start(toks, i, sql)
                    || (with && depth == 0 && !word(i.wrapping_sub(1), "for")))
            {
                return Some(format!("WITH … {w}: a data-modifying statement in WITH"));
            }
            if w == "FOR"
                && (word(i + 1, "update")
                    || word(i + 1, "share")
                    || (word(i + 1, "no") && word(i + 2, "key") && word(i + 3, "update"))
                    || (word(i + 1, "key") && word(i + 2, "share")))
            {
                return Some("SELECT … FOR UPDATE/SHARE takes row locks".into());
            }
            if w == "INTO" {
                return Some("SELECT … INTO creates a table".into());
            }
        }
        if toks.get(i + 1).is_some_and(|n| n.is_punct(sql, b'(')) {
            if let Some(reason) = volatile_call(t, sql) {
                return Some(reason);
            }
        }
    }
    None
}

/// `toks[i]` is the first token inside `AS (`, `AS MATERIALIZED (` or `AS NOT MATERIALIZED (`.
fn cte_body_start(toks: &[Token], i: usize, sql: &str) -> bool {
    let back = |n: usize, kw: &str| i >= n && toks[i - n].is_word(sql, kw);
    i >= 1
        && toks[i - 1].is_punct(sql, b'(')
        && (back(2, "as")
            || (back(2, "materialized") && (back(3, "as") || (back(3, "not") && back(4, "as")))))
}

/// A call of a known volatile built-in: `t` is the function name (unquoted, or quoted in
/// lower case as the catalog spells it) and a `(` follows.
fn volatile_call(t: &Token, sql: &str) -> Option<String> {
    let name = match t.kind {
        Kind::Word => t.text(sql).to_ascii_lowercase(),
        Kind::QuotedIdent if t.text(sql).starts_with('"') => {
            t.text(sql).trim_matches('"').to_string()
        }
        _ => return None,
    };
    let why = VOLATILE
        .iter()
        .find(|(f, _)| *f == name)
        .or_else(|| VOLATILE_PREFIXES.iter().find(|(p, _)| name.starts_with(p)))?
        .1;
    Some(format!("calls {name}(), which {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(sql: &str) -> Vec<Token> {
        Lexer::new(sql)
            .map(|t| t.unwrap())
            .filter(|t| !t.is_comment())
            .collect()
    }

    #[test]
    fn cte_body_starts() {
        for (sql, i, expected) in [
            ("x AS (DELETE", 3, true),
            ("x AS MATERIALIZED (DELETE", 4, true),
            ("x as not materialized /* c */ (delete", 5, true),
            ("x IN (DELETE", 3, false),
            ("NOT MATERIALIZED (DELETE", 3, false),
            ("(DELETE", 1, false),
        ] {
            assert_eq!(cte_body_start(&toks(sql), i, sql), expected, "{sql}");
        }
    }

    #[test]
    fn volatile_names() {
        let call = |sql: &str| volatile_call(&toks(sql)[0], sql);
        assert_eq!(
            call("NextVal").as_deref(),
            Some("calls nextval(), which advances a sequence")
        );
        assert_eq!(
            call("pg_advisory_unlock_all").as_deref(),
            Some("calls pg_advisory_unlock_all(), which takes or releases an advisory lock")
        );
        assert_eq!(
            call("dblink").as_deref(),
            Some("calls dblink(), which runs SQL on another connection, outside this transaction")
        );
        // Quoted names are case-sensitive, as in the catalog.
        assert_eq!(call("\"NEXTVAL\""), None);
        assert_eq!(call("currval"), None);
        assert_eq!(call("lower"), None);
        assert_eq!(call("'nextval'"), None);
    }

    #[test]
    fn multiple_ignores_semicolons_in_atomic_bodies_only() {
        let m = |sql: &str| is_multiple(&toks(sql), sql);
        assert!(!m("CREATE f() BEGIN ATOMIC a; b; END;"));
        assert!(m("CREATE f() BEGIN ATOMIC a; END; b"));
        assert!(m("SELECT (a; b)"));
        assert!(!m("SELECT a;;;"));
    }
}
