//! Parsing, checking and resolving `pgdiag.toml`.

use super::*;
use crate::rules::EngineSettings;

fn parse_ok(text: &str) -> Config {
    parse(Path::new("dir/pgdiag.toml"), Path::new("dir"), text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// The one-line error, as printed.
fn error(text: &str) -> String {
    match parse(Path::new("dir/pgdiag.toml"), Path::new("dir"), text) {
        Ok(c) => panic!("{text:?} was accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

fn origin(line: usize) -> Origin {
    Origin::File {
        path: PathBuf::from("dir/pgdiag.toml"),
        line,
    }
}

#[test]
fn an_empty_file_changes_nothing() {
    let c = parse_ok("# nothing\n");
    assert_eq!(c.fail_on(None).value, FailOn::Warning);
    assert_eq!(c.fail_on(None).origin, Origin::Default);
    assert!(c.format(None).is_none());
    assert!(c.connection_defaults().is_empty());
    let s = resolve::engine_settings(&c.rules(&EngineSettings::default()));
    assert!(s.disabled.is_empty() && s.severities.is_empty() && s.thresholds.is_empty());
}

#[test]
fn every_section_is_read_with_its_line() {
    let c = parse_ok(
        r#"fail-on = "error"
format = "json"

[connection]
host = "db.internal"
port = 6432
dbname = "app"
application_name = "ci"

[diagnose]
files = ["sql/a.sql", "/abs/b.sql"]
statement-timeout = "10s"
lock-timeout = "0"
jobs = 3

[rules.seq-scan-large-table]
enabled = false

[rules.P002]
severity = "error"
error-factor = 50
min_rows = 12.5
"#,
    );
    assert_eq!(
        c.fail_on(None),
        Resolved {
            value: FailOn::Error,
            origin: origin(1)
        }
    );
    assert_eq!(c.format(None).map(|f| f.value), Some(OutputFormat::Json));
    let conn: Vec<(String, String, String)> = c
        .connection_defaults()
        .into_iter()
        .map(|d| (d.key, d.value, d.at))
        .collect();
    assert_eq!(
        conn,
        vec![
            (
                "host".into(),
                "db.internal".into(),
                "dir/pgdiag.toml:5".into()
            ),
            ("port".into(), "6432".into(), "dir/pgdiag.toml:6".into()),
            ("dbname".into(), "app".into(), "dir/pgdiag.toml:7".into()),
            (
                "application_name".into(),
                "ci".into(),
                "dir/pgdiag.toml:8".into()
            ),
        ]
    );
    assert_eq!(
        c.diagnose_files().unwrap().value,
        vec![PathBuf::from("dir/sql/a.sql"), PathBuf::from("/abs/b.sql")]
    );
    assert_eq!(c.statement_timeout(None).value, "10s");
    assert_eq!(c.lock_timeout(None).origin, origin(13));
    assert_eq!(c.jobs(None).value, 3);

    let rules = c.rules(&EngineSettings::default());
    let p001 = rules.iter().find(|r| r.id == "P001").unwrap();
    assert!(!p001.enabled.value);
    assert_eq!(p001.enabled.origin, origin(17));
    let p002 = rules.iter().find(|r| r.id == "P002").unwrap();
    assert_eq!(p002.severity.value, Severity::Error);
    let factor = &p002
        .thresholds
        .iter()
        .find(|(n, _)| n == "error_factor")
        .unwrap()
        .1;
    assert_eq!((factor.value, &factor.origin), (50.0, &origin(21)));
    let min_rows = &p002
        .thresholds
        .iter()
        .find(|(n, _)| n == "min_rows")
        .unwrap()
        .1;
    assert_eq!(min_rows.value, 12.5);

    let s = resolve::engine_settings(&rules);
    assert_eq!(s.disabled, vec!["P001".to_string()]);
    assert_eq!(s.severities.get("P002"), Some(&Severity::Error));
    assert_eq!(
        s.thresholds.get(&("P002".into(), "error_factor".into())),
        Some(&50.0)
    );
}

#[test]
fn the_command_line_wins() {
    let c = parse_ok("fail-on = \"info\"\n[diagnose]\njobs = 4\n[rules.P002]\nerror_factor = 50\n");
    assert_eq!(
        c.fail_on(Some(FailOn::None)),
        Resolved {
            value: FailOn::None,
            origin: Origin::CommandLine
        }
    );
    assert_eq!(c.jobs(Some(2)).value, 2);
    let mut cli = EngineSettings::default();
    cli.thresholds
        .insert(("P002".into(), "error_factor".into()), 7.0);
    cli.disabled.push("row-estimate-mismatch".into());
    let rules = c.rules(&cli);
    let p002 = rules.iter().find(|r| r.id == "P002").unwrap();
    let factor = &p002
        .thresholds
        .iter()
        .find(|(n, _)| n == "error_factor")
        .unwrap()
        .1;
    assert_eq!((factor.value, &factor.origin), (7.0, &Origin::CommandLine));
    assert_eq!(
        (p002.enabled.value, &p002.enabled.origin),
        (false, &Origin::CommandLine)
    );
}

#[test]
fn errors_point_at_file_line_and_column() {
    let cases: &[(&str, &str)] = &[
        // TOML syntax.
        ("fail-on = \"error\"\nx = [\n", "dir/pgdiag.toml:2:"),
        // Unknown keys, with the valid ones listed.
        (
            "\nfail_on = \"error\"\n",
            "dir/pgdiag.toml:2:1: unknown field `fail_on`, expected one of `fail-on`",
        ),
        ("[connection]\nhots = \"x\"\n", "dir/pgdiag.toml:2:1: unknown field `hots`"),
        ("[diagnose]\nfile = []\n", "dir/pgdiag.toml:2:1: unknown field `file`"),
        // Unknown rule, with the ids listed.
        (
            "[rules.P999]\nenabled = true\n",
            "dir/pgdiag.toml:1:8: unknown rule `P999` (rules: P001, P002",
        ),
        // Unknown threshold, with the rule's settings listed.
        (
            "[rules.P001]\n\nmin_rows = 5\n",
            "dir/pgdiag.toml:3:1: rule P001 (seq-scan-large-table) has no setting `min_rows` (it has: enabled, severity, max_include_columns, min_discard_ratio, min_rows_read)",
        ),
        // Wrong types.
        (
            "[rules.P001]\nmin_rows_read = \"many\"\n",
            "dir/pgdiag.toml:2:17: threshold P001.min_rows_read must be a number, not a string",
        ),
        (
            "[rules.P001]\nenabled = \"no\"\n",
            "dir/pgdiag.toml:2:11: rules.P001.enabled must be true or false, not a string",
        ),
        (
            "format = 3\n",
            "dir/pgdiag.toml:1:10: `format`: invalid type: integer `3`, expected a string",
        ),
        (
            "[rules]\nP001 = 3\n",
            "dir/pgdiag.toml:2:8: `P001`: invalid type: integer `3`, expected a table",
        ),
        (
            "[connection]\nhost = 5\n",
            "dir/pgdiag.toml:2:8: connection `host` must be a string, not an integer",
        ),
        // Thresholds that are not finite, or negative.
        (
            "[rules.P001]\nmin_rows_read = nan\n",
            "dir/pgdiag.toml:2:17: threshold P001.min_rows_read must be a finite number",
        ),
        (
            "[rules.P001]\nmin_rows_read = -inf\n",
            "dir/pgdiag.toml:2:17: threshold P001.min_rows_read must be a finite number",
        ),
        (
            "[rules.P001]\nmin_rows_read = -1\n",
            "dir/pgdiag.toml:2:17: threshold P001.min_rows_read must be a finite number, 0 or more",
        ),
        // Bad choices.
        (
            "[rules.P001]\nseverity = \"fatal\"\n",
            "dir/pgdiag.toml:2:12: rules.P001.severity must be \"error\", \"warning\" or \"info\"",
        ),
        (
            "fail-on = \"never\"\n",
            "dir/pgdiag.toml:1:11: `fail-on` must be one of error, warning, info, none, not `never`",
        ),
        (
            "format = \"html\"\n",
            "dir/pgdiag.toml:1:10: `format` must be one of table, json",
        ),
        (
            "[connection]\nsslmode = \"always\"\n",
            "dir/pgdiag.toml:2:11: connection `sslmode` `always` is not one of disable",
        ),
        (
            "[connection]\nport = 70000\n",
            "dir/pgdiag.toml:2:8: connection `port` must be a port number",
        ),
        // Never a password.
        (
            "[connection]\nuser = \"ci\"\npassword = \"hunter2\"\n",
            "dir/pgdiag.toml:3:12: `password` is not read from the configuration file",
        ),
        // Durations and jobs.
        (
            "[diagnose]\nstatement-timeout = \"10 parsecs\"\n",
            "dir/pgdiag.toml:2:21: `statement-timeout`: `10 parsecs`: unknown unit",
        ),
        (
            "[diagnose]\nlock-timeout = \"5\"\n",
            "dir/pgdiag.toml:2:16: `lock-timeout`: `5` needs a unit",
        ),
        (
            "[diagnose]\njobs = 0\n",
            "dir/pgdiag.toml:2:8: `jobs` must be from 1 to 64, not 0",
        ),
        (
            "[diagnose]\nfiles = [\"\"]\n",
            "dir/pgdiag.toml:2:10: an empty file name in `files`",
        ),
        // One threshold set twice, in both spellings.
        (
            "[rules.P002]\nerror_factor = 1\nerror-factor = 2\n",
            "dir/pgdiag.toml:3:1: threshold P002.error_factor is already set on line 2",
        ),
        // One rule configured twice, by id and by name.
        (
            "[rules.P001]\nenabled = true\n[rules.seq-scan-large-table]\nenabled = false\n",
            "dir/pgdiag.toml:3:8: rule P001 (seq-scan-large-table) is already configured on line 1",
        ),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(
            got.starts_with(want),
            "{text:?}\n got: {got}\nwant: {want}…"
        );
        assert!(!got.contains('\n'), "not one line: {got:?}");
        assert!(!got.contains("hunter2"), "the password was shown: {got}");
    }
}

#[test]
fn the_first_error_in_the_file_is_reported() {
    // Tables are held in a sorted map; the report must still follow the file.
    let got = error("[rules.P002]\nbogus = 1\n[rules.P001]\nbogus = 1\n");
    assert!(got.starts_with("dir/pgdiag.toml:2:1: rule P002"), "{got}");
}

#[test]
fn columns_count_characters() {
    assert_eq!(line_col("a\nxé = 1", 2), (2, 1));
    assert_eq!(line_col("a\nxé = 1", 6), (2, 4));
    // Inside a multi-byte character: the character's column.
    assert_eq!(line_col("é", 1), (1, 1));
    assert_eq!(line_col("", 10), (1, 1));
}

#[test]
fn find_prefers_flag_then_variable_then_the_nearest_parent() {
    let root = tempfile::tempdir().unwrap();
    let deep = root.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(root.path().join(FILE_NAME), "").unwrap();
    std::fs::write(root.path().join("a").join(FILE_NAME), "").unwrap();

    let found = find(None, false, None, &deep).unwrap();
    assert_eq!(
        found,
        (root.path().join("a").join(FILE_NAME), FoundBy::Search)
    );

    let flag = Path::new("x.toml");
    assert_eq!(
        find(Some(flag), false, Some("y.toml".into()), &deep),
        Some((flag.to_path_buf(), FoundBy::Flag))
    );
    assert_eq!(
        find(None, false, Some("y.toml".into()), &deep),
        Some((PathBuf::from("y.toml"), FoundBy::Env))
    );
    // An empty variable is unset.
    assert_eq!(
        find(None, false, Some("".into()), &deep).unwrap().1,
        FoundBy::Search
    );
    assert_eq!(find(Some(flag), true, Some("y.toml".into()), &deep), None);
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let e = load(Path::new("/nonexistent/pgdiag.toml")).unwrap_err();
    assert_eq!(e.at, None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/pgdiag.toml: cannot read the configuration file"),
        "{e}"
    );
}
