//! `--anonymize`: for real plans (the generated corpus, JSON and text, and the rules' firing
//! fixtures), every name and literal of the statement beside each plan is gone from every output
//! format, the findings are the same, two runs print the same thing, and the mapping file maps
//! placeholders back to the originals. `diagnose --anonymize` against a real server keeps a secret
//! literal and distinctive names out of stdout.

#[path = "common/pg.rs"]
mod pg;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pg::PgCluster;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_pgdiag");
const FORMATS: &[&str] = &["json", "table", "markdown", "concise"];

/// SQL words of the fixtures' statements that are PostgreSQL's, not the user's.
const SQL_WORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "explain",
    "analyze",
    "buffers",
    "verbose",
    "settings",
    "wal",
    "memory",
    "serialize",
    "format",
    "json",
    "join",
    "left",
    "on",
    "using",
    "by",
    "group",
    "order",
    "and",
    "or",
    "like",
    "as",
    "with",
    "materialized",
    "count",
    "sum",
    "avg",
    "lower",
    "any",
    "limit",
    "offset",
    "update",
    "set",
    "not",
    "null",
    "in",
    "is",
    "true",
    "false",
    "costs",
    "timing",
    "summary",
];

/// Names that are also English words of pgdiag's sentences: replaced in plans and wherever they
/// read as code, kept in prose ("found by a bitmap"). Checked in code positions only.
const ENGLISH: &[&str] = &["a", "name", "order", "time", "rows", "key"];

fn pgdiag(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The text a reader sees: JSON's string values (its keys are pgdiag's schema), Markdown without
/// its backslash escapes (`table\_1`).
fn visible(format: &str, out: &str) -> String {
    fn strings(v: &Value, acc: &mut String) {
        match v {
            Value::String(s) => {
                acc.push_str(s);
                acc.push('\n');
            }
            Value::Array(a) => a.iter().for_each(|x| strings(x, acc)),
            Value::Object(m) => m.values().for_each(|x| strings(x, acc)),
            _ => {}
        }
    }
    match format {
        "json" => {
            let v: Value = serde_json::from_str(out).expect("JSON output parses");
            let mut acc = String::new();
            strings(&v, &mut acc);
            acc
        }
        "markdown" => out.replace('\\', ""),
        _ => out.to_string(),
    }
}

/// The plans to check, each with the SQL it came from: the generated corpus of three releases
/// and every rule fixture (firing or quiet).
fn corpus() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for version in ["pg13", "pg16", "pg18"] {
        let generated = root.join("plans/generated").join(version);
        for e in std::fs::read_dir(&generated).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            if !(name.ends_with(".json") || name.ends_with(".txt")) {
                continue;
            }
            // `x.verbose.json` beside `x.verbose.sql`; `x.psql_aligned.txt` beside `x.sql`.
            let stem = name.rsplit_once('.').unwrap().0;
            let sql = [generated.join(format!("{stem}.sql")), {
                let base = stem.split('.').next().unwrap();
                generated.join(format!("{base}.sql"))
            }]
            .into_iter()
            .find(|s| s.exists())
            .unwrap();
            out.push((p, sql));
        }
    }
    for rule in std::fs::read_dir(root.join("rules")).unwrap() {
        let dir = rule.unwrap().path();
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".json") || name.ends_with(".txt") {
                let sql = p.with_extension("sql");
                if sql.exists() {
                    out.push((p, sql));
                }
            }
        }
    }
    out.sort();
    assert!(out.len() > 40, "too few fixtures: {}", out.len());
    out
}

/// What the user wrote in the EXPLAIN statement(s) of `sql`: names, string literals, numbers.
#[derive(Debug, Default)]
struct UserData {
    names: BTreeSet<String>,
    strings: BTreeSet<String>,
    numbers: BTreeSet<String>,
}

fn user_data(sql: &str) -> UserData {
    let mut d = UserData::default();
    let statements: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    for stmt in statements.split(';') {
        if !stmt.to_ascii_lowercase().contains("explain") {
            continue;
        }
        // Strings first, then the rest without them.
        let mut rest = String::new();
        let mut parts = stmt.split('\'');
        rest.push_str(parts.next().unwrap());
        let mut inside = true;
        for p in parts {
            if inside {
                d.strings.insert(p.to_string());
            } else {
                rest.push_str(p);
            }
            inside = !inside;
        }
        let mut word = String::new();
        for c in rest.chars().chain([' ']) {
            if c.is_ascii_alphanumeric() || c == '_' {
                word.push(c);
                continue;
            }
            if !word.is_empty() {
                let w = std::mem::take(&mut word).to_ascii_lowercase();
                if w.chars().all(|c| c.is_ascii_digit()) {
                    d.numbers.insert(w);
                } else if !SQL_WORDS.contains(&w.as_str()) {
                    d.names.insert(w);
                }
            }
        }
    }
    d
}

/// Byte offsets where `word` stands alone in `text`.
fn whole_word_at(text: &str, word: &str) -> Vec<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word)
        .filter(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            // `join's`: a possessive, not the name `s`.
            let possessive = text[..*i]
                .strip_suffix('\'')
                .is_some_and(|t| t.ends_with(char::is_alphabetic));
            !before.is_some_and(is_word) && !after.is_some_and(is_word) && !possessive
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether the occurrence of `len` bytes at `i` reads as code: qualified (`x.a`, `a.x`) or
/// followed by a separator or operator (`a,` `a)` `a =`).
fn in_code(text: &str, i: usize, len: usize) -> bool {
    let after = text[i + len..].trim_start_matches(' ').chars().next();
    text[..i].ends_with('.') || after.is_some_and(|c| ".,)=<>[]:".contains(c))
}

/// Numbers of the statement printed as values: after an operator, or quoted.
fn number_leaks(text: &str, n: &str) -> Vec<String> {
    let mut leaks = Vec::new();
    for op in ["= ", "< ", "> ", "% ", "+ ", "'"] {
        let pat = format!("{op}{n}");
        for (i, _) in text.match_indices(&pat) {
            let after = text[i + pat.len()..].chars().next();
            if !after.is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',') {
                leaks.push(text[i.saturating_sub(20)..(i + pat.len() + 5).min(text.len())].into());
            }
        }
    }
    leaks
}

fn check_no_leak(label: &str, out: &str, data: &UserData) {
    for name in &data.names {
        for i in whole_word_at(out, name) {
            if !ENGLISH.contains(&name.as_str()) || in_code(out, i, name.len()) {
                let ctx = &out[i.saturating_sub(60)..(i + name.len() + 60).min(out.len())];
                panic!("{label}: name `{name}` survived: …{ctx}…");
            }
        }
    }
    for s in &data.strings {
        let bare = s.trim_matches('%');
        assert!(
            bare.is_empty() || whole_word_at(out, bare).is_empty(),
            "{label}: literal '{s}' survived"
        );
    }
    for n in &data.numbers {
        let leaks = number_leaks(out, n);
        assert!(leaks.is_empty(), "{label}: number {n} survived: {leaks:?}");
    }
}

#[test]
fn no_name_or_literal_of_the_statement_survives_in_any_format() {
    // `rules/P012-hot-spot.toml` → `hot-spot`.
    let rule_names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| {
                let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
                stem.split_once('-').unwrap().1.to_string()
            })
            .collect();
    assert!(rule_names.len() > 10, "{rule_names:?}");
    for (plan, sql) in corpus() {
        let data = user_data(&std::fs::read_to_string(&sql).unwrap());
        assert!(!data.names.is_empty(), "{}: no names read", sql.display());
        let p = plan.to_str().unwrap();
        // The check has something to find: without --anonymize the names are there.
        let plain = visible("json", &stdout(&pgdiag(&["analyze", "-F", "json", p])));
        assert!(
            data.names
                .iter()
                .any(|n| !whole_word_at(&plain, n).is_empty()),
            "{p}: none of {:?} in the plain report",
            data.names
        );
        for format in FORMATS {
            let o = pgdiag(&["analyze", "--anonymize", "-F", format, p]);
            assert_ne!(o.status.code(), Some(2), "{p}: {o:?}");
            let out = visible(format, &stdout(&o));
            // The source path is kept on purpose (the user chose it); check the rest. `e.g.` is
            // English, not the name `g` qualifying `e`.
            let mut out = out.replace(p, "<source>").replace("e.g.", "eg");
            // Rule names are pgdiag's (`hot-spot` is not the table `hot`).
            for rule in &rule_names {
                out = out.replace(rule.as_str(), "<rule>");
            }
            check_no_leak(&format!("{p} -F {format}"), &out, &data);
        }
    }
}

/// (rule, node, severity) of every finding, in order.
fn findings(report: &Value) -> Vec<(String, Value, String)> {
    report["plans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["node"].clone(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn json_of(args: &[&str]) -> Value {
    let o = pgdiag(args);
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
}

#[test]
fn the_findings_and_measurements_stay_the_same() {
    for (plan, _) in corpus() {
        let p = plan.to_str().unwrap();
        let plain = json_of(&["analyze", "-F", "json", p]);
        let anon = json_of(&["analyze", "--anonymize", "-F", "json", p]);
        assert_eq!(findings(&plain), findings(&anon), "{p}");
        let nodes = |r: &Value| -> Vec<(Value, Value, Value, Value)> {
            r["plans"][0]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| {
                    (
                        n["node_type"].clone(),
                        n["actual_rows"].clone(),
                        n["total_cost"].clone(),
                        n["buffers"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(nodes(&plain), nodes(&anon), "{p}");
    }
}

#[test]
fn two_runs_print_the_same_placeholders() {
    let all: Vec<String> = corpus()
        .iter()
        .map(|(p, _)| p.to_str().unwrap().to_string())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let run = |map: &Path| {
        let mut args = vec!["analyze", "--anonymize", "-F", "json", "--anonymize-map"];
        args.push(map.to_str().unwrap());
        args.extend(all.iter().map(String::as_str));
        let o = pgdiag(&args);
        (stdout(&o), std::fs::read_to_string(map).unwrap())
    };
    let first = run(&dir.path().join("1.json"));
    let second = run(&dir.path().join("2.json"));
    assert_eq!(first, second);
    assert!(first.0.contains("table_1"), "{}", &first.0[..500]);
}

#[test]
fn the_mapping_file_maps_placeholders_back_to_the_plan() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plans/generated/pg16/d_hashjoin_batches.verbose.json");
    let p = fixture.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let map_file = dir.path().join("map.json");
    let plain = json_of(&["analyze", "-F", "json", p]);
    let o = pgdiag(&[
        "analyze",
        "--anonymize",
        "-F",
        "json",
        "--anonymize-map",
        map_file.to_str().unwrap(),
        p,
    ]);
    let anon: Value = serde_json::from_slice(&o.stdout).unwrap();
    let map: Value = serde_json::from_str(&std::fs::read_to_string(&map_file).unwrap()).unwrap();
    let back = |placeholder: &str| -> String {
        map["names"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["placeholder"] == placeholder)
            .map(|m| m["original"].as_str().unwrap().to_string())
            .unwrap_or_else(|| placeholder.to_string())
    };
    let mut checked = 0;
    let plain_nodes = plain["plans"][0]["nodes"].as_array().unwrap();
    let anon_nodes = anon["plans"][0]["nodes"].as_array().unwrap();
    for (a, b) in plain_nodes.iter().zip(anon_nodes) {
        for key in ["relation", "alias", "index", "schema"] {
            if let Some(orig) = a[key].as_str() {
                let placeholder = b[key].as_str().unwrap();
                assert_eq!(back(placeholder), orig, "{key}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 4, "only {checked} names checked");
    // Numbers and literals round-trip too: `b.a < 50` became `… < N` with N mapped back to 50.
    let numbers = map["numbers"].as_array().unwrap();
    assert!(numbers.iter().any(|n| n["original"] == "50"), "{map}");
    // The mapping is printed nowhere else.
    assert!(!stdout(&o).contains("\"original\""));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn the_map_needs_anonymize_and_an_unwritable_map_is_an_error() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plans/generated/pg16/a_seqscan_selective.json");
    let p = fixture.to_str().unwrap();
    let o = pgdiag(&["analyze", "--anonymize-map", "/tmp/x.json", p]);
    assert_eq!(o.status.code(), Some(2));
    let o = pgdiag(&[
        "analyze",
        "--anonymize",
        "--anonymize-map",
        "/nonexistent-dir/map.json",
        p,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("/nonexistent-dir/map.json"),
        "{o:?}"
    );
}

#[test]
fn diagnose_keeps_a_secret_literal_and_its_names_off_stdout() {
    let pg = PgCluster::start().unwrap();
    pg.execute(
        "CREATE TABLE customer_secrets (id int PRIMARY KEY, email text, zorblax_score int);
         INSERT INTO customer_secrets SELECT i, 'user' || i || '@example.com', i % 97
           FROM generate_series(1, 20000) i;
         INSERT INTO customer_secrets VALUES (0, 'alice@example.com', 4242);
         ANALYZE customer_secrets;",
    );
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.sql");
    std::fs::write(
        &file,
        "SELECT cs.id, cs.zorblax_score FROM customer_secrets cs\n  WHERE cs.email = 'alice@example.com' AND cs.zorblax_score > 4241;\n",
    )
    .unwrap();
    // A session idle in a transaction whose last query holds the secret too: the database
    // section quotes it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let idle = rt.block_on(async {
        let c = pg.client().await;
        c.batch_execute(
            "set application_name = 'zorblax_app'; begin; \
             select * from customer_secrets where email = 'alice@example.com'",
        )
        .await
        .unwrap();
        c
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    for format in FORMATS {
        let mut c = Command::new(BIN);
        c.arg("diagnose").arg(pg.conninfo()).args([
            "-f",
            file.to_str().unwrap(),
            "--anonymize",
            "--set",
            "D004.min_age_s=1",
            "-F",
            format,
        ]);
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                c.env_remove(k);
            }
        }
        c.env("HOME", home.path()).env("NO_COLOR", "1");
        let o = c.stdin(Stdio::null()).output().unwrap();
        let out = visible(format, &stdout(&o));
        assert_ne!(o.status.code(), Some(2), "{o:?}");
        assert!(out.contains("table_1"), "-F {format}: {out}");
        if *format == "json" {
            assert!(out.contains("session(s) idle in transaction"), "{out}");
        }
        for secret in [
            "alice@example.com",
            "alice",
            "customer_secrets",
            "zorblax_score",
            "zorblax_app",
            "email",
            "4241",
        ] {
            assert!(
                !out.contains(secret),
                "-F {format}: `{secret}` survived:\n{out}"
            );
        }
        // The alias, and the role and database (both `postgres`).
        for name in ["cs", "postgres"] {
            assert!(
                whole_word_at(&out, name).is_empty(),
                "-F {format}: `{name}` survived:\n{out}"
            );
        }
    }
    rt.block_on(async {
        idle.batch_execute("rollback").await.unwrap();
    });
}

#[test]
fn an_error_keeps_its_location_and_loses_the_input_it_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Actual Rows": "zorblax_val"}}]"#,
    )
    .unwrap();
    let p = bad.to_str().unwrap();
    let plain = pgdiag(&["analyze", "-F", "concise", p]);
    assert!(String::from_utf8_lossy(&plain.stderr).contains("zorblax_val"));
    let o = pgdiag(&["analyze", "--anonymize", "-F", "concise", p]);
    assert_eq!(o.status.code(), Some(2));
    let (out, err) = (stdout(&o), String::from_utf8_lossy(&o.stderr).into_owned());
    assert!(
        err.contains(&format!("{p}:1: cannot read json plan")),
        "{err}"
    );
    assert!(
        !out.contains("zorblax") && !err.contains("zorblax"),
        "{out}{err}"
    );
}
