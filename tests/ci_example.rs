//! The README's "A CI gate for migrations" section, run as written: its `critical_queries.sql`,
//! its `pgdiag diagnose` commands (taken from the README text, not retyped here) against a
//! throwaway PostgreSQL (`common/pg.rs`; fails when the server binaries are missing), with the
//! connection in PG* variables as in the GitHub Actions job. A migration that drops the index the
//! first query relies on must fail the gate with a plan regression at that query's line.

#[path = "common/pg.rs"]
mod pg;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use pg::PgCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");
const SECTION: &str = "## A CI gate for migrations";

/// The section's text, up to the next `## ` heading.
fn section() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find(SECTION)
        .unwrap_or_else(|| panic!("README.md has no section `{SECTION}`"));
    let rest = &readme[start + SECTION.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The bodies of the fenced blocks of `lang` in `text`, without the fence's indentation.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<(usize, Vec<String>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match &mut current {
            None if trimmed == format!("```{lang}") => current = Some((indent, Vec::new())),
            Some((_, body)) if trimmed == "```" => {
                out.push(body.join("\n") + "\n");
                current = None;
            }
            Some((ind, body)) => body.push(line.get(*ind..).unwrap_or("").to_string()),
            None => {}
        }
    }
    out
}

/// The `pgdiag …` command lines of the section's shell blocks, split into words.
fn commands(text: &str) -> Vec<Vec<String>> {
    blocks(text, "sh")
        .iter()
        .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("pgdiag "))
        .map(|l| l.split_whitespace().skip(1).map(str::to_string).collect())
        .collect()
}

fn run(pg: &PgCluster, dir: &Path, args: &[String]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") || k.starts_with("GITHUB_") {
            c.env_remove(k);
        }
    }
    c.env("HOME", dir)
        .env("NO_COLOR", "1")
        .env("PGHOST", &pg.socket_dir)
        .env("PGPORT", pg.port.to_string())
        .env("PGUSER", &pg.superuser)
        .env("PGPASSWORD", &pg.password)
        .env("PGDATABASE", "postgres");
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_readme_ci_example_gates_a_migration_that_drops_an_index() {
    let section = section();
    let sql = blocks(&section, "sql");
    assert_eq!(sql.len(), 1, "one critical_queries.sql block");
    let cmds = commands(&section);
    assert_eq!(cmds.len(), 2, "record, then check: {cmds:?}");
    let (record, check) = (&cmds[0], &cmds[1]);
    assert!(
        record.contains(&"--write-baseline".to_string()),
        "{record:?}"
    );
    assert!(check.contains(&"--baseline".to_string()), "{check:?}");
    // The GitHub Actions job runs the same check.
    let yaml = blocks(&section, "yaml").join("");
    assert!(
        yaml.contains(&format!("run: pgdiag {}", check.join(" "))),
        "the job's step differs from the shell example"
    );

    let pg = PgCluster::start().unwrap();
    pg.execute(
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, status text,
                              created_at timestamptz, total numeric);
         INSERT INTO orders
           SELECT g, g % 20000, (ARRAY['new','paid','shipped'])[g % 3 + 1],
                  now() - g * interval '1 minute', g % 500
             FROM generate_series(1, 200000) g;
         CREATE INDEX orders_customer_created ON orders (customer_id, created_at);",
    );
    // In a transaction of its own, as after `psql -f seed.sql -c 'ANALYZE'`: an ANALYZE in the
    // loading transaction is followed by that transaction's row counts, which reads as stale.
    pg.execute("ANALYZE orders;");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("critical_queries.sql"), &sql[0]).unwrap();
    let first_line = sql[0]
        .lines()
        .position(|l| l.starts_with("SELECT"))
        .unwrap()
        + 1;

    let o = run(&pg, dir.path(), record);
    assert_eq!(
        o.status.code(),
        Some(0),
        "record: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(dir.path().join("pgdiag-baseline.json").exists());

    // No change: the gate passes, and the SARIF is written.
    let o = run(&pg, dir.path(), check);
    assert_eq!(
        o.status.code(),
        Some(0),
        "unchanged: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pgdiag.sarif")).unwrap())
            .unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.iter().any(|r| r["ruleId"] == "R001"), "{sarif:#}");
    // The second query's sequential scan is accepted by its comment: reported, suppressed.
    let accepted = results
        .iter()
        .find(|r| r["ruleId"] == "P001")
        .unwrap_or_else(|| panic!("the export's P001 is reported: {sarif:#}"));
    assert_eq!(
        accepted["suppressions"][0]["kind"], "inSource",
        "{accepted:#}"
    );

    // A migration drops the index the first query relies on: exit 1, R001 at its file and line.
    pg.execute("DROP INDEX orders_customer_created;");
    let o = run(&pg, dir.path(), check);
    assert_eq!(
        o.status.code(),
        Some(1),
        "dropped index: {}",
        text(&o.stderr)
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("pgdiag.sarif")).unwrap())
            .unwrap();
    let r001 = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "R001")
        .unwrap_or_else(|| panic!("no R001 result: {sarif:#}"));
    let loc = &r001["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"], "critical_queries.sql",
        "{r001:#}"
    );
    assert_eq!(loc["region"]["startLine"], first_line, "{r001:#}");
    let message = r001["message"]["text"].as_str().unwrap();
    assert!(
        message.contains("(using orders_customer_created) became")
            && message.contains("Seq Scan on public.orders"),
        "{r001:#}"
    );
    // The human report went to the log.
    assert!(text(&o.stdout).contains("R001"), "{}", text(&o.stdout));
}
