//! The query input layer: splitting `.sql` text into statements and classifying them.

use pgdiag::sql::{classify, split, Class, LocatedError, Skipped, SplitResult, Suppression};
use proptest::prelude::*;

/// (line, column, sql) of each statement.
fn stmts(r: &SplitResult) -> Vec<(usize, usize, &str)> {
    r.statements
        .iter()
        .map(|s| (s.line, s.column, s.sql.as_str()))
        .collect()
}

/// Split text that must have no errors.
fn ok(text: &str) -> SplitResult {
    let r = split("t.sql", text);
    assert!(r.errors.is_empty(), "unexpected errors: {:?}", r.errors);
    r
}

fn skipped(r: &SplitResult) -> Vec<(usize, &str)> {
    r.skipped
        .iter()
        .map(|s| (s.line, s.what.as_str()))
        .collect()
}

fn writes(sql: &str) -> String {
    match classify(sql) {
        Class::Writes(reason) => reason,
        other => panic!("{sql:?}: expected Writes, got {other:?}"),
    }
}

fn refused(sql: &str) -> String {
    match classify(sql) {
        Class::Refused(reason) => reason,
        other => panic!("{sql:?}: expected Refused, got {other:?}"),
    }
}

// ---------------------------------------------------------------- splitting

#[test]
fn statements_carry_index_file_line_and_column() {
    let r = split("checks/a.sql", "SELECT 1;\n  SELECT 2 ;\n\nselect\n  3");
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT 1"),
            (2, 3, "SELECT 2"),
            (4, 1, "select\n  3")
        ]
    );
    assert_eq!(
        r.statements.iter().map(|s| s.index).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(r.statements.iter().all(|s| s.file == "checks/a.sql"));
    assert!(r.skipped.is_empty() && r.errors.is_empty() && r.ignore_file.is_empty());
}

#[test]
fn semicolons_inside_strings_do_not_split() {
    let r = ok("SELECT 'a;''b;'; SELECT E'it\\'s; \\\\'; SELECT e'x\\';'';';SELECT 4");
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT 'a;''b;'"),
            (1, 18, "SELECT E'it\\'s; \\\\'"),
            (1, 39, "SELECT e'x\\';'';'"),
            (1, 57, "SELECT 4"),
        ]
    );
}

#[test]
fn plain_strings_do_not_treat_backslash_as_escape() {
    // standard_conforming_strings = on: 'C:\' is a complete string.
    let r = ok("SELECT 'C:\\'; SELECT 2;");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 'C:\\'"), (1, 15, "SELECT 2")]
    );
}

#[test]
fn unicode_and_prefixed_strings_and_identifiers() {
    let r = ok(
        "SELECT U&'d\\0061t;a' UESCAPE '!'; SELECT U&\"co;l\", B'10', X'1F;', N'n;';\nSELECT u&'x'",
    );
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT U&'d\\0061t;a' UESCAPE '!'"),
            (1, 35, "SELECT U&\"co;l\", B'10', X'1F;', N'n;'"),
            (2, 1, "SELECT u&'x'"),
        ]
    );
}

#[test]
fn quoted_identifiers_with_doubled_quotes() {
    let r = ok("SELECT \"a;\"\"b\" FROM \"t;\";SELECT 2");
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT \"a;\"\"b\" FROM \"t;\""),
            (1, 26, "SELECT 2")
        ]
    );
}

#[test]
fn dollar_quotes_and_parameters() {
    let text = "SELECT $$a;b$$;\nSELECT $body$ x; $$ not the end; $body$, $1, $2::int;\nSELECT a$b$c, $_x$;$_x$;SELECT $10";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT $$a;b$$"),
            (2, 1, "SELECT $body$ x; $$ not the end; $body$, $1, $2::int"),
            (3, 1, "SELECT a$b$c, $_x$;$_x$"),
            (3, 25, "SELECT $10"),
        ]
    );
}

#[test]
fn comments_hide_semicolons_and_are_trimmed_from_the_ends() {
    let text = "-- lead; comment\nSELECT 1 -- trailing; comment\n, 2 /* a; /* nested; */ still; */ ;\n/* only a comment; */;\nSELECT 3 /* tail */";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (2, 1, "SELECT 1 -- trailing; comment\n, 2"),
            (5, 1, "SELECT 3"),
        ]
    );
}

#[test]
fn operators_next_to_comments() {
    // `--` and `/*` start comments even right after an operator character.
    let r = ok("SELECT 1+--x;\n2; SELECT 3*/**/4");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 1+--x;\n2"), (2, 4, "SELECT 3*/**/4")]
    );
}

#[test]
fn semicolons_inside_parentheses_do_not_split() {
    let text = "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 2;";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))"),
            (2, 1, "SELECT 2"),
        ]
    );
}

#[test]
fn begin_atomic_bodies_keep_their_semicolons() {
    let text = "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT case x when 1 then 2 end;\nEND;\nBEGIN;\nSELECT 1;\nEND;";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "CREATE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;\n  SELECT case x when 1 then 2 end;\nEND"),
            (6, 1, "BEGIN"),
            (7, 1, "SELECT 1"),
            (8, 1, "END"),
        ]
    );
}

#[test]
fn psql_meta_commands_are_skipped_with_their_line() {
    let text = "\\timing on\nSELECT 1;\n  \\set x 'a b;c'\nSELECT :x\n\\gset\n\\i other.sql\nSELECT 2 AS y \\gset p_\nSELECT 3;\n";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (2, 1, "SELECT 1"),
            (4, 1, "SELECT :x"),
            (7, 1, "SELECT 2 AS y"),
            (8, 1, "SELECT 3")
        ]
    );
    assert_eq!(
        skipped(&r),
        vec![
            (1, "\\timing on"),
            (3, "\\set x 'a b;c'"),
            (5, "\\gset"),
            (6, "\\i other.sql"),
            (7, "\\gset p_")
        ]
    );
}

#[test]
fn meta_commands_that_send_the_buffer_end_the_statement() {
    let text =
        "SELECT 1\n\\g\nSELECT 2 \\gx\nSELECT (3\n\\watch 5\nSELECT 4 \\bind 1 \\g\nSELECT 5";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT 1"),
            (3, 1, "SELECT 2"),
            (4, 1, "SELECT (3"),
            (6, 1, "SELECT 4"),
            (7, 1, "SELECT 5")
        ]
    );
    assert_eq!(
        skipped(&r),
        vec![
            (2, "\\g"),
            (3, "\\gx"),
            (5, "\\watch 5"),
            (6, "\\bind 1"),
            (6, "\\g")
        ]
    );
}

#[test]
fn reset_discards_the_statement_being_read() {
    let r = ok("SELECT 1;\nDELETE FROM t\n\\r\nSELECT 2;");
    assert_eq!(stmts(&r), vec![(1, 1, "SELECT 1"), (4, 1, "SELECT 2")]);
    assert_eq!(
        skipped(&r),
        vec![(3, "\\r"), (2, "statement at line 2 (discarded by \\r)")]
    );
}

#[test]
fn meta_commands_inside_a_statement_are_left_out_of_its_text() {
    let r = ok("SELECT 1,\n\\echo hi\n  2 \\set x 1 \\\\ , 3;\nSELECT 4");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 1,\n\n  2  , 3"), (4, 1, "SELECT 4")]
    );
    assert_eq!(skipped(&r), vec![(2, "\\echo hi"), (3, "\\set x 1")]);
}

#[test]
fn backslash_semicolon_separates_statements() {
    let r = ok("SELECT 1 \\; SELECT 2;");
    assert_eq!(stmts(&r), vec![(1, 1, "SELECT 1"), (1, 13, "SELECT 2")]);
    assert!(r.skipped.is_empty());
    assert_eq!(classify("SELECT 1 \\; SELECT 2"), Class::Multiple);
}

#[test]
fn begin_atomic_counts_only_in_create() {
    // `begin` and `atomic` as a column and its alias: not a function body.
    let r = ok("SELECT begin atomic FROM t;\nSELECT 2;");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT begin atomic FROM t"), (2, 1, "SELECT 2")]
    );
}

#[test]
fn double_backslash_returns_to_sql_on_the_same_line() {
    let r = ok("\\set n 3 \\\\ SELECT :n;");
    assert_eq!(stmts(&r), vec![(1, 13, "SELECT :n")]);
    assert_eq!(skipped(&r), vec![(1, "\\set n 3")]);
}

#[test]
fn copy_from_stdin_data_is_skipped() {
    let text = "COPY t (a, b) FROM stdin WITH (FORMAT text);\n1\tx; DROP TABLE t;\n2\t'y\n\\.\nSELECT 1;\ncopy (select 1) to stdout;\nSELECT 2;";
    let r = ok(text);
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "COPY t (a, b) FROM stdin WITH (FORMAT text)"),
            (5, 1, "SELECT 1"),
            (6, 1, "copy (select 1) to stdout"),
            (7, 1, "SELECT 2"),
        ]
    );
    assert_eq!(skipped(&r), vec![(2, "COPY data (2 lines)")]);
}

#[test]
fn copy_data_after_a_comment_on_the_copy_line_and_crlf() {
    let r = ok("COPY t FROM STDIN; -- load\r\na;b\r\n\\.\r\nSELECT 1;");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "COPY t FROM STDIN"), (4, 1, "SELECT 1")]
    );
    assert_eq!(skipped(&r), vec![(2, "COPY data (1 line)")]);
}

#[test]
fn backslash_copy_from_stdin_data_is_skipped() {
    let r = ok("\\copy t from stdin with csv\n1,\"a;b\"\n\\.\nSELECT 1;");
    assert_eq!(stmts(&r), vec![(4, 1, "SELECT 1")]);
    assert_eq!(
        skipped(&r),
        vec![
            (1, "\\copy t from stdin with csv"),
            (2, "COPY data (1 line)")
        ]
    );
}

#[test]
fn copy_data_without_end_marker_is_an_error() {
    let r = split("t.sql", "SELECT 1;\nCOPY t FROM stdin;\n1\n2\n");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 1"), (2, 1, "COPY t FROM stdin")]
    );
    assert_eq!(skipped(&r), vec![(3, "COPY data (2 lines)")]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!((r.errors[0].line, r.errors[0].column), (3, 1));
    assert!(
        r.errors[0].message.contains("no `\\.` line"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn empty_statements_are_dropped() {
    let r = ok(";;SELECT 1;;\n;  ; -- nothing\n/* x */;SELECT 2;;");
    assert_eq!(stmts(&r), vec![(1, 3, "SELECT 1"), (3, 9, "SELECT 2")]);
    assert_eq!(r.statements[1].index, 2);
    assert!(ok("").statements.is_empty());
    assert!(ok(" \n-- only a comment\n").statements.is_empty());
}

#[test]
fn crlf_lone_cr_and_bom() {
    let r = ok("\u{feff}SELECT 1;\r\n  SELECT\r\n 2;\r\nSELECT 3");
    assert_eq!(
        stmts(&r),
        vec![
            (1, 1, "SELECT 1"),
            (2, 3, "SELECT\r\n 2"),
            (4, 1, "SELECT 3")
        ]
    );
    let r = ok("SELECT 1;\rSELECT 2; -- c\rSELECT 3");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 1"), (2, 1, "SELECT 2"), (3, 1, "SELECT 3")]
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let r = ok("SELECT 'é€😀'; SELECT 2");
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 'é€😀'"), (1, 15, "SELECT 2")]
    );
}

#[test]
fn unterminated_constructs_report_where_they_opened() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("SELECT 1;\nSELECT 'abc;\nSELECT 3;", (2, 8), "string '"),
        ("SELECT 1;\nSELECT E'ab\\';", (2, 8), "string E'"),
        ("SELECT 1;\nSELECT U&'ab;", (2, 8), "string U&'"),
        ("SELECT 1;\nSELECT \"ab;", (2, 8), "identifier \""),
        (
            "SELECT 1;\n  SELECT $f$ body; $g$;",
            (2, 10),
            "dollar quote $f$",
        ),
        ("SELECT 1;\nSELECT /* a /* b */ c;", (2, 8), "comment /*"),
    ];
    for (text, (line, column), what) in cases {
        let r = split("t.sql", text);
        assert_eq!(stmts(&r), vec![(1, 1, "SELECT 1")], "{text:?}");
        assert_eq!(
            r.errors,
            vec![LocatedError {
                line: *line,
                column: *column,
                message: format!("{what} opened at line {line} column {column} is never closed"),
            }],
            "{text:?}"
        );
    }
}

#[test]
fn unclosed_parenthesis_or_atomic_body_at_end_of_input() {
    let r = split("t.sql", "SELECT 1;\nSELECT (1, (2);\nSELECT 3;");
    assert_eq!(stmts(&r), vec![(1, 1, "SELECT 1")]);
    assert_eq!(r.errors.len(), 1);
    assert_eq!((r.errors[0].line, r.errors[0].column), (2, 8));
    assert!(
        r.errors[0]
            .message
            .contains("statement starting at line 2 column 1 was not read"),
        "{}",
        r.errors[0].message
    );

    let r = split(
        "t.sql",
        "SELECT 1;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;",
    );
    assert_eq!(stmts(&r), vec![(1, 1, "SELECT 1")]);
    assert_eq!((r.errors[0].line, r.errors[0].column), (2, 46));
    assert!(
        r.errors[0]
            .message
            .starts_with("BEGIN ATOMIC at line 2 column 46"),
        "{}",
        r.errors[0].message
    );
}

#[test]
fn suppression_comments_attach_to_the_next_statement() {
    let text = "\
-- pgdiag: ignore P001
SELECT 1;
-- pgdiag: ignore seq-scan-large-table, P002 small table, fine
-- an ordinary comment in between
/* and a block */ SELECT 2;
-- pgdiag: ignore P003

SELECT 3; -- pgdiag: ignore P004
SELECT 4;
-- pgdiag: ignore-file generated file
SELECT 5 -- pgdiag: ignore P005
;
-- pgdiag: ignore
-- pgdiag: silence P001
SELECT 6;
";
    let r = ok(text);
    let sup = |i: usize| r.statements[i].suppressions.clone();
    assert_eq!(
        sup(0),
        vec![Suppression {
            line: 1,
            rules: vec!["P001".into()],
            reason: None
        }]
    );
    assert_eq!(
        sup(1),
        vec![Suppression {
            line: 3,
            rules: vec!["seq-scan-large-table".into(), "P002".into()],
            reason: Some("small table, fine".into()),
        }]
    );
    for i in 2..6 {
        assert_eq!(sup(i), vec![], "statement {}", i + 1);
    }
    assert_eq!(
        r.ignore_file,
        vec![Suppression {
            line: 10,
            rules: vec![],
            reason: Some("generated file".into())
        }]
    );
    let not_above = "`-- pgdiag: ignore` comment that is not directly above a statement";
    assert_eq!(
        skipped(&r),
        vec![
            (6, not_above),
            (8, not_above),
            (11, not_above),
            (13, "`pgdiag: ignore`: `ignore` names no rule"),
            (
                14,
                "`pgdiag: silence P001`: unknown pgdiag directive `silence`"
            ),
        ]
    );
}

#[test]
fn ignore_file_counts_anywhere() {
    let r = ok("SELECT 1\n-- pgdiag: ignore-file\n, 2;");
    assert_eq!(
        r.ignore_file,
        vec![Suppression {
            line: 2,
            rules: vec![],
            reason: None
        }]
    );
    assert_eq!(
        stmts(&r),
        vec![(1, 1, "SELECT 1\n-- pgdiag: ignore-file\n, 2")]
    );
}

// ---------------------------------------------------------------- fixtures

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/sql/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn migration_check_fixture() {
    let r = split("migration_check.sql", &fixture("migration_check.sql"));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let got: Vec<(usize, usize, String, Class)> = r
        .statements
        .iter()
        .map(|s| {
            (
                s.line,
                s.column,
                s.sql.lines().next().unwrap_or("").to_string(),
                classify(&s.sql),
            )
        })
        .collect();
    let w = |s: &str| Class::Writes(s.into());
    let ddl = w("CREATE changes the schema or stored data");
    let tx = |kw: &str| {
        Class::Refused(format!(
            "{kw}: transaction control would end or alter pgdiag's own transaction"
        ))
    };
    let expected = vec![
        (6, 1, "BEGIN".to_string(), tx("BEGIN")),
        (10, 1, "CREATE OR REPLACE FUNCTION billing.audit_row() RETURNS trigger".into(), ddl.clone()),
        (24, 1, "CREATE FUNCTION billing.net(amount numeric, rate numeric) RETURNS numeric".into(), ddl),
        (30, 1, "COPY billing.rates (code, rate) FROM stdin".into(), w("COPY … FROM loads rows")),
        (35, 1, "COMMIT".into(), tx("COMMIT")),
        (38, 1, "SELECT o.id, o.\"Total;Amount\", billing.net(o.total, r.rate)".into(), Class::ReadOnly),
        (44, 1, "SELECT count(*) AS n FROM billing.audit WHERE op = 'D'".into(), Class::ReadOnly),
        (48, 1, "SELECT id FROM orders WHERE status = 'new' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED".into(), w("SELECT … FOR UPDATE/SHARE takes row locks")),
        (50, 1, "WITH moved AS (".into(), w("WITH … DELETE: a data-modifying statement in WITH")),
        (55, 1, "SELECT nextval('orders_id_seq')".into(), w("calls nextval(), which advances a sequence")),
        (58, 1, "SELECT 'drop table orders; delete from billing.audit' AS reminder".into(), Class::ReadOnly),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (g.0, g.1, g.2.as_str(), &g.3),
            (e.0, e.1, e.2.as_str(), &e.3)
        );
    }
    // The plpgsql body is one statement, ending at the closing $fn$.
    assert!(
        r.statements[1].sql.ends_with("END;\n$fn$"),
        "{}",
        r.statements[1].sql
    );
    assert!(
        r.statements[2].sql.ends_with("END;\nEND"),
        "{}",
        r.statements[2].sql
    );
    assert_eq!(
        r.statements[5].suppressions[0].rules,
        vec!["seq-scan-large-table", "P002"]
    );
    assert_eq!(
        r.statements[5].suppressions[0].reason.as_deref(),
        Some("small table, checked by hand")
    );
    assert_eq!(
        r.skipped,
        vec![
            Skipped {
                line: 3,
                what: "\\set ON_ERROR_STOP on".into()
            },
            Skipped {
                line: 4,
                what: "\\timing on".into()
            },
            Skipped {
                line: 31,
                what: "COPY data (2 lines)".into()
            },
            Skipped {
                line: 44,
                what: "\\gset".into()
            },
            Skipped {
                line: 45,
                what: "\\echo deleted rows: :n".into()
            },
            Skipped {
                line: 57,
                what: "\\i other_checks.sql".into()
            },
        ]
    );
}

#[test]
fn hostile_fixture() {
    let r = split("hostile.sql", &fixture("hostile.sql"));
    let classes: Vec<(usize, Class)> = r
        .statements
        .iter()
        .map(|s| (s.line, classify(&s.sql)))
        .collect();
    let ro = Class::ReadOnly;
    assert!(matches!(classes[0], (1, Class::Writes(_))));
    assert!(matches!(classes[1], (2, Class::Writes(_))));
    assert_eq!(classes[2], (3, ro.clone()));
    assert!(
        matches!(classes[3], (3, Class::Writes(_))),
        "the DROP after `SELECT 1;` is its own statement"
    );
    assert!(matches!(classes[4], (4, Class::Writes(_))));
    assert!(matches!(classes[5], (5, Class::Writes(_))));
    assert!(matches!(classes[6], (6, Class::Writes(_))));
    assert_eq!(classes[7], (7, ro.clone()));
    assert_eq!(classes[8], (8, ro));
    assert_eq!(classes.len(), 9);
}

// ---------------------------------------------------------------- classification

#[test]
fn hostile_statements() {
    assert_eq!(writes("DELETE FROM t"), "DELETE changes rows");
    assert_eq!(
        writes("DROP TABLE t"),
        "DROP changes the schema or stored data"
    );
    assert_eq!(classify("SELECT 1; DROP TABLE t"), Class::Multiple);
    assert_eq!(
        writes("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"),
        "WITH … DELETE: a data-modifying statement in WITH"
    );
    assert_eq!(
        writes("SELECT nextval('s')"),
        "calls nextval(), which advances a sequence"
    );
    assert_eq!(
        writes("SELECT * FROM t FOR UPDATE"),
        "SELECT … FOR UPDATE/SHARE takes row locks"
    );
    assert_eq!(classify("select 'drop table t'"), Class::ReadOnly);
    assert_eq!(classify("/* delete */ select 1"), Class::ReadOnly);
}

#[test]
fn reads() {
    for sql in [
        "SELECT 1",
        "select 1;",
        "  -- hi\n VALUES (1), (2)",
        "TABLE t",
        "(SELECT 1) UNION (SELECT 2)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r",
        "WITH a AS MATERIALIZED (SELECT 1) SELECT * FROM a",
        "SHOW work_mem",
        "SELECT \"delete\", 'update', $$insert$$, E'\\'drop' FROM t -- DELETE",
        "SELECT currval('s'), substring('abc' FROM 1 FOR 2)",
        "SELECT $1::int",
        "SELECT * FROM t WHERE x = 'FOR UPDATE'",
        "SELECT nextval FROM t",
    ] {
        assert_eq!(classify(sql), Class::ReadOnly, "{sql:?}");
    }
}

#[test]
fn writes_by_first_keyword() {
    for (sql, reason) in [
        ("insert into t values (1)", "INSERT changes rows"),
        ("UPDATE t SET a = 1", "UPDATE changes rows"),
        (
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "MERGE changes rows",
        ),
        ("TRUNCATE t", "TRUNCATE changes rows"),
        ("COPY t FROM '/tmp/x'", "COPY … FROM loads rows"),
        (
            "CREATE INDEX ON t (a)",
            "CREATE changes the schema or stored data",
        ),
        (
            "ALTER TABLE t ADD c int",
            "ALTER changes the schema or stored data",
        ),
        (
            "REFRESH MATERIALIZED VIEW v",
            "REFRESH changes the schema or stored data",
        ),
        (
            "GRANT SELECT ON t TO u",
            "GRANT changes privileges or ownership",
        ),
        (
            "REVOKE SELECT ON t FROM u",
            "REVOKE changes privileges or ownership",
        ),
        ("VACUUM (ANALYZE) t", "VACUUM is maintenance that writes"),
        ("ANALYZE t", "ANALYZE is maintenance that writes"),
        ("CLUSTER t", "CLUSTER is maintenance that writes"),
        ("REINDEX TABLE t", "REINDEX is maintenance that writes"),
        ("LOCK TABLE t", "LOCK takes a table lock"),
        ("CALL p()", "CALL runs procedural code, which may write"),
        (
            "DO $$BEGIN PERFORM 1; END$$",
            "DO runs procedural code, which may write",
        ),
        ("NOTIFY c", "NOTIFY sends a notification"),
    ] {
        assert_eq!(writes(sql), reason, "{sql:?}");
    }
}

#[test]
fn writes_hidden_in_queries() {
    let with = "WITH … DELETE: a data-modifying statement in WITH";
    assert_eq!(
        writes("WITH a AS NOT MATERIALIZED (\n  DELETE FROM t RETURNING id) SELECT 1"),
        with
    );
    assert_eq!(writes("WITH a AS (SELECT 1) DELETE FROM t"), with);
    assert_eq!(
        writes("WITH a AS (SELECT 1), b AS (INSERT INTO t SELECT * FROM a RETURNING *) SELECT * FROM b"),
        "WITH … INSERT: a data-modifying statement in WITH"
    );
    assert_eq!(
        writes("with u as (update t set a = 1 returning *) table u"),
        "WITH … UPDATE: a data-modifying statement in WITH"
    );
    let lock = "SELECT … FOR UPDATE/SHARE takes row locks";
    for sql in [
        "SELECT * FROM t FOR NO KEY UPDATE",
        "SELECT * FROM t for share of t nowait",
        "SELECT * FROM t FOR KEY SHARE",
        "WITH a AS (SELECT * FROM t FOR UPDATE) SELECT * FROM a",
    ] {
        assert_eq!(writes(sql), lock, "{sql:?}");
    }
    assert_eq!(
        writes("SELECT * INTO new_t FROM t"),
        "SELECT … INTO creates a table"
    );
    assert_eq!(
        writes("SELECT pg_catalog.setval('s', 1)"),
        "calls setval(), which sets a sequence"
    );
    assert_eq!(
        writes("SELECT \"nextval\"('s')"),
        "calls nextval(), which advances a sequence"
    );
    assert_eq!(
        writes("VALUES (NEXTVAL ('s'))"),
        "calls nextval(), which advances a sequence"
    );
    for (f, why) in [
        ("pg_advisory_lock(1)", "takes or releases an advisory lock"),
        ("pg_try_advisory_xact_lock(1)", "takes an advisory lock"),
        ("txid_current()", "assigns a transaction ID"),
        ("pg_terminate_backend(1)", "terminates another session"),
        ("pg_cancel_backend(1)", "cancels another session's query"),
        ("lo_unlink(1)", "works on large objects, which may write"),
        (
            "dblink_exec('x', 'delete from t')",
            "runs SQL on another connection, outside this transaction",
        ),
        ("pg_notify('c', 'x')", "sends a notification"),
        ("set_config('a.b', 'c', false)", "changes a setting"),
    ] {
        let name = &f[..f.find('(').unwrap()];
        assert_eq!(
            writes(&format!("SELECT {f}")),
            format!("calls {name}(), which {why}"),
            "{f}"
        );
    }
}

#[test]
fn refused_statements() {
    assert_eq!(
        refused("EXPLAIN SELECT 1"),
        "EXPLAIN: pgdiag adds its own EXPLAIN; give the query alone"
    );
    assert_eq!(
        refused("explain (analyze) delete from t"),
        "EXPLAIN: pgdiag adds its own EXPLAIN; give the query alone"
    );
    for kw in [
        "BEGIN",
        "START TRANSACTION",
        "COMMIT",
        "END",
        "ROLLBACK",
        "ABORT",
        "SAVEPOINT s",
        "RELEASE s",
        "PREPARE TRANSACTION 'x'",
    ] {
        assert!(
            refused(kw)
                .ends_with("transaction control would end or alter pgdiag's own transaction"),
            "{kw}"
        );
    }
    for kw in [
        "SET work_mem = '1GB'",
        "RESET ALL",
        "DISCARD ALL",
        "LISTEN c",
    ] {
        assert!(
            refused(kw).ends_with("changes the session pgdiag runs in"),
            "{kw}"
        );
    }
    assert!(refused("FETCH 10 FROM c").starts_with("FETCH: "));
    assert_eq!(
        refused("PREPARE q AS SELECT 1"),
        "PREPARE: refers to a prepared statement or cursor of another session"
    );
    assert!(refused("COPY t TO STDOUT").starts_with("COPY: a data transfer"));
    assert!(refused("COPY (SELECT * FROM t) TO STDOUT").starts_with("COPY: a data transfer"));
    assert_eq!(
        refused("FROBNICATE t"),
        "FROBNICATE: not a statement pgdiag knows; refused rather than guessed"
    );
    assert_eq!(refused(""), "empty statement");
    assert_eq!(refused("-- nothing\n/* here */"), "empty statement");
    assert_eq!(refused("42"), "does not start with a keyword: `42`");
    assert!(refused("SELECT 'abc").starts_with("cannot be read: line 1 column 8: string '"));
    assert_eq!(
        refused("SELECT 1 \\gset"),
        "contains a psql command `\\gset`"
    );
}

#[test]
fn multiple_statements() {
    assert_eq!(classify("SELECT 1;SELECT 2"), Class::Multiple);
    assert_eq!(classify("SELECT 1;\n-- c\nSELECT 2;"), Class::Multiple);
    // The server splits at a `;` inside parentheses too, whatever psql does.
    assert_eq!(classify("SELECT (1; DROP TABLE t)"), Class::Multiple);
    assert_eq!(classify("SELECT 1;;"), Class::ReadOnly);
    assert_eq!(classify("SELECT 1; -- trailing"), Class::ReadOnly);
    assert_eq!(classify("SELECT ';' ; /* ; */"), Class::ReadOnly);
    // A BEGIN ATOMIC body is one statement.
    assert_eq!(
        writes("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END"),
        "CREATE changes the schema or stored data"
    );
}

// ---------------------------------------------------------------- properties

/// One piece of a well-formed statement, never a comment at either end.
fn piece() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "SELECT", "a", "b1", "x$y", "FROM", "t", "WHERE", "=", "+", "-", "*", ",", "::int", "42",
        "1.5e3", "$1", "é",
    ]);
    let text = "[a-z ;'\"$\\\\é\\-*/]{0,8}";
    prop_oneof![
        4 => word.prop_map(str::to_string),
        1 => text.prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        1 => text.prop_map(|s| format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))),
        1 => text.prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        1 => "[a-z ;'\"\\-*/\n]{0,8}".prop_map(|s| format!("$q$ {} $q$", s.replace('$', ""))),
        1 => "[a-z ;'\"\\-*]{0,8}".prop_map(|s| format!("$${s}$$")),
        1 => "[a-z ;'\"\\-]{0,8}".prop_map(|s| format!("/* {} /* {} */ */ x", s.replace('*', ""), s.replace('*', ""))),
        1 => "[a-z ;'\"*/]{0,8}".prop_map(|s| format!("-- {s}\nx")),
        1 => "[a-z ;']{0,6}".prop_map(|s| format!("({})", s.replace(['\'', ';'], " "))),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..8).prop_map(|ps| format!("SELECT {}", ps.join(" ")))
}

/// The text from (line, column) on, as the splitter counts them (\n-only input here).
fn at(text: &str, line: usize, column: usize) -> &str {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = &text[line_start..];
    let (i, _) = rest.char_indices().nth(column - 1).unwrap();
    &rest[i..]
}

/// `small` is `big` with some characters left out.
fn is_subsequence(small: &str, big: &str) -> bool {
    let mut big = big.chars();
    small.chars().all(|c| big.any(|b| b == c))
}

/// What holds for any input: statements are numbered in order, trimmed, non-empty, start where
/// they say, and are input text with at most some parts (backslash commands) cut out.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    let r = split("p.sql", text);
    let mut prev = (0, 0);
    for (i, s) in r.statements.iter().enumerate() {
        prop_assert_eq!(s.index, i + 1);
        prop_assert!(s.line >= 1 && s.column >= 1 && (s.line, s.column) > prev);
        prev = (s.line, s.column);
        prop_assert!(!s.sql.is_empty());
        prop_assert_eq!(
            s.sql.trim_matches(|c: char| c.is_ascii_whitespace()),
            s.sql.as_str()
        );
        prop_assert!(is_subsequence(&s.sql, text));
        if !text.contains('\r') {
            let first = s.sql.chars().next().unwrap();
            let from = at(text.trim_start_matches('\u{feff}'), s.line, s.column);
            prop_assert!(
                from.starts_with(first),
                "{:?} at {}:{}",
                s.sql,
                s.line,
                s.column
            );
        }
        let _ = classify(&s.sql);
    }
    for e in &r.errors {
        prop_assert!(e.line >= 1 && e.column >= 1);
    }
    let _ = classify(text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        check_invariants(&text)?;
    }

    #[test]
    fn never_panics_on_sql_like_noise(text in "[-a-zA-Z0-9 ;'\"$\\\\/*()\\n\\r&.:é\t]{0,120}") {
        check_invariants(&text)?;
    }

    #[test]
    fn join_and_resplit_is_stable(stmts in prop::collection::vec(statement(), 1..6)) {
        let text = stmts.join(";\n");
        let r = split("p.sql", &text);
        prop_assert!(r.errors.is_empty(), "{:?}", r.errors);
        let got: Vec<&str> = r.statements.iter().map(|s| s.sql.as_str()).collect();
        prop_assert_eq!(&got, &stmts.iter().map(String::as_str).collect::<Vec<_>>());
        for s in &r.statements {
            prop_assert!(at(&text, s.line, s.column).starts_with(&s.sql));
        }
        let again = split("p.sql", &format!("{};", got.join(";\n")));
        prop_assert_eq!(again.statements, r.statements);
        for s in &stmts {
            prop_assert_ne!(classify(s), Class::Multiple);
        }
    }
}
