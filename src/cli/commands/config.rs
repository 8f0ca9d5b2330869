//! `pgdiag config`: the settings in force and where each came from (`default`,
//! `path/pgdiag.toml:LINE`, `command line`), one per line, or as JSON.

use std::io::{self, Write};

use anyhow::Result;
use clap::ValueEnum;
use serde_json::{json, Map, Value};

use super::output::command_line_rules;
use crate::cli::args::{ConfigArgs, ConfigFormat};
use crate::cli::exit;
use crate::config::{Config, Origin};

/// One setting as shown: dotted key, value, origin.
struct Row {
    key: String,
    value: String,
    origin: String,
}

pub fn run(args: &ConfigArgs, config: &Config) -> Result<u8> {
    let cli_rules = command_line_rules(&args.rules.disable, &args.rules.set)?;
    let shown = Shown::resolve(args, config, &cli_rules);
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format {
        ConfigFormat::Text => write_text(&shown, &mut out)?,
        ConfigFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &shown.json)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(exit::CLEAN)
}

/// The resolved settings, as rows for people and as a JSON document for machines.
struct Shown {
    file: String,
    rows: Vec<Row>,
    json: Value,
}

impl Shown {
    fn resolve(
        args: &ConfigArgs,
        config: &Config,
        cli_rules: &crate::rules::EngineSettings,
    ) -> Shown {
        let mut rows = Vec::new();
        let mut push = |key: String, value: String, origin: &Origin| {
            rows.push(Row {
                key,
                value,
                origin: origin.to_string(),
            })
        };
        let file = match (&config.path, config.found_by) {
            (Some(p), Some(how)) => format!("{} ({how})", p.display()),
            (Some(p), None) => p.display().to_string(),
            (None, _) => "none (defaults and command line only)".to_string(),
        };

        let fail_on = config.fail_on(args.rules.fail_on);
        let fail_on_name = value_name(&fail_on.value);
        push("fail-on".into(), fail_on_name.clone(), &fail_on.origin);
        let format = config.format(None);
        let format_json = match &format {
            Some(f) => {
                push("format".into(), value_name(&f.value), &f.origin);
                json!({"value": value_name(&f.value), "origin": f.origin})
            }
            None => {
                push(
                    "format".into(),
                    "table on a terminal, concise otherwise".into(),
                    &Origin::Default,
                );
                json!({"value": null, "origin": Origin::Default})
            }
        };

        let mut connection = Map::new();
        for p in &config.connection {
            let origin = config.line_origin(p.line);
            push(format!("connection.{}", p.key), p.value.clone(), &origin);
            connection.insert(p.key.clone(), json!({"value": p.value, "origin": origin}));
        }

        let files = config.diagnose_files();
        let files_json = match &files {
            Some(f) => {
                let names: Vec<String> = f.value.iter().map(|p| p.display().to_string()).collect();
                push("diagnose.files".into(), names.join(", "), &f.origin);
                json!({"value": names, "origin": f.origin})
            }
            None => {
                push("diagnose.files".into(), "none".into(), &Origin::Default);
                json!({"value": [], "origin": Origin::Default})
            }
        };
        let statement_timeout = config.statement_timeout(None);
        let lock_timeout = config.lock_timeout(None);
        let jobs = config.jobs(None);
        push(
            "diagnose.statement-timeout".into(),
            statement_timeout.value.clone(),
            &statement_timeout.origin,
        );
        push(
            "diagnose.lock-timeout".into(),
            lock_timeout.value.clone(),
            &lock_timeout.origin,
        );
        push("diagnose.jobs".into(), jobs.value.to_string(), &jobs.origin);

        let rules = config.rules(cli_rules);
        let mut rules_json = Vec::new();
        for r in &rules {
            let prefix = format!("rules.{}", r.id);
            push(
                format!("{prefix}.enabled"),
                r.enabled.value.to_string(),
                &r.enabled.origin,
            );
            push(
                format!("{prefix}.severity"),
                r.severity.value.to_string(),
                &r.severity.origin,
            );
            let mut thresholds = Map::new();
            for (name, v) in &r.thresholds {
                push(format!("{prefix}.{name}"), number(v.value), &v.origin);
                thresholds.insert(name.clone(), json!(v));
            }
            rules_json.push(json!({
                "id": r.id,
                "name": r.name,
                "enabled": r.enabled,
                "severity": r.severity,
                "thresholds": thresholds,
            }));
        }

        let json = json!({
            "config_file": config.path.as_ref().map(|p| p.display().to_string()),
            "fail_on": {"value": fail_on_name, "origin": fail_on.origin},
            "format": format_json,
            "connection": connection,
            "diagnose": {
                "files": files_json,
                "statement_timeout": statement_timeout,
                "lock_timeout": lock_timeout,
                "jobs": jobs,
            },
            "rules": rules_json,
        });
        Shown { file, rows, json }
    }
}

fn write_text(shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "config file: {}", shown.file)?;
    writeln!(
        out,
        "(connection settings are defaults: a connection string and PG* variables win over them)"
    )?;
    writeln!(out)?;
    let key_w = shown.rows.iter().map(|r| r.key.len()).max().unwrap_or(0);
    let val_w = shown
        .rows
        .iter()
        .map(|r| r.value.chars().count())
        .max()
        .unwrap_or(0);
    for r in &shown.rows {
        writeln!(out, "{:key_w$}  {:val_w$}  {}", r.key, r.value, r.origin)?;
    }
    Ok(())
}

/// The name a clap value is typed as (`warning`, `json`).
fn value_name<T: ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// `5000`, not `5000.0`; `0.95` as it is.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}
