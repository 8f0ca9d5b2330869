//! The configuration file, `pgdiag.toml`.
//!
//! Two layers, as ruff and squawk keep them: [`file::ConfigFile`] is what the user wrote (serde,
//! unknown keys refused, every value spanned); [`Config`] is that file checked against the rule
//! catalog, each value with the line it came from. [`resolve`] then puts the command line over
//! it and the defaults under it, and says where each setting came from.
//!
//! Finding the file: `--no-config` ignores it; else `--config FILE`; else the `PGDIAG_CONFIG`
//! variable; else the first `pgdiag.toml` found walking up from the current directory.
//!
//! Every error is one line, `path:line:column: what`.

pub mod file;
pub mod resolve;

use std::ffi::OsString;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use toml::Spanned;

use crate::cli::args::FailOn;
use crate::report::OutputFormat;
use crate::rules::{self, Severity};
use file::ConfigFile;
pub use resolve::{Origin, Resolved, RuleSettings};

/// The name looked for in the current directory and its parents.
pub const FILE_NAME: &str = "pgdiag.toml";

/// The variable naming a configuration file, below `--config`.
pub const ENV_VAR: &str = "PGDIAG_CONFIG";

/// The `sslmode` values libpq knows.
const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// Why the configuration could not be used: one line, `path:line:column: what` (or `path: what`
/// when the problem has no place in the file, such as a file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", .at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    pub path: String,
    /// Line and column, 1-based.
    pub at: Option<(usize, usize)>,
    pub message: String,
}

/// A value of the file and the line it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub line: usize,
}

/// One `[rules.X]` table, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleConfig {
    /// The rule's id, whichever of id or name the table used.
    pub id: String,
    pub enabled: Option<At<bool>>,
    pub severity: Option<At<Severity>>,
    /// Threshold name and value, as the rule's TOML declares them.
    pub thresholds: Vec<(String, At<f64>)>,
}

/// A connection default: a libpq parameter and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnParam {
    pub key: String,
    pub value: String,
    pub line: usize,
}

/// The configuration file, checked. [`Config::default`] is "no file".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// The file read, as it is named in messages; `None` when there is none.
    pub path: Option<PathBuf>,
    /// How the file was found.
    pub found_by: Option<FoundBy>,
    pub fail_on: Option<At<FailOn>>,
    pub format: Option<At<OutputFormat>>,
    pub connection: Vec<ConnParam>,
    /// Query files of `[diagnose]`, already made relative to the configuration's directory.
    pub diagnose_files: Option<At<Vec<PathBuf>>>,
    pub statement_timeout: Option<At<String>>,
    pub lock_timeout: Option<At<String>>,
    pub jobs: Option<At<u16>>,
    pub rules: Vec<RuleConfig>,
}

/// How the file was found, for `pgdiag config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// `--config FILE`.
    Flag,
    /// The `PGDIAG_CONFIG` variable.
    Env,
    /// Walking up from the current directory.
    Search,
}

impl fmt::Display for FoundBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FoundBy::Flag => "--config",
            FoundBy::Env => ENV_VAR,
            FoundBy::Search => "found from the current directory",
        })
    }
}

/// Which file to read: `None` under `--no-config` or when there is none. `env_value` is the
/// value of [`ENV_VAR`]; `cwd` the directory the search starts from.
pub fn find(
    flag: Option<&Path>,
    no_config: bool,
    env_value: Option<OsString>,
    cwd: &Path,
) -> Option<(PathBuf, FoundBy)> {
    if no_config {
        return None;
    }
    if let Some(p) = flag {
        return Some((p.to_path_buf(), FoundBy::Flag));
    }
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        return Some((PathBuf::from(v), FoundBy::Env));
    }
    cwd.ancestors()
        .map(|dir| dir.join(FILE_NAME))
        .find(|p| p.is_file())
        .map(|p| (p, FoundBy::Search))
}

/// Finds and reads the configuration as the command line asks: [`Config::default`] when there
/// is no file. A file named by `--config` or `PGDIAG_CONFIG` must exist.
pub fn discover_and_load(flag: Option<&Path>, no_config: bool) -> Result<Config, ConfigError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    match find(flag, no_config, std::env::var_os(ENV_VAR), &cwd) {
        None => Ok(Config::default()),
        Some((path, how)) => {
            let mut c = load(&path)?;
            c.found_by = Some(how);
            Ok(c)
        }
    }
}

/// Reads and checks one file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        path: path.display().to_string(),
        at: None,
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    parse(path, base, &text)
}

/// Checks the text of a configuration file named `path`; `base` is the directory relative
/// query files are taken from.
pub fn parse(path: &Path, base: &Path, text: &str) -> Result<Config, ConfigError> {
    let checker = Checker { path, text };
    let raw: ConfigFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // serde's type errors do not name the key; the line does.
        let message = e.message().replace("a map", "a table");
        let message = match key_before(text, span.start) {
            Some(key) if message.starts_with("invalid ") => format!("`{key}`: {message}"),
            _ => message,
        };
        checker.error(span, message)
    })?;
    checker.check(raw, base)
}

/// Turns the raw file into a [`Config`], with errors located in `text`.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Checker<'_> {
    fn error(&self, span: Range<usize>, message: impl AsRef<str>) -> ConfigError {
        let (line, col) = line_col(self.text, span.start);
        ConfigError {
            path: self.path.display().to_string(),
            at: Some((line, col)),
            message: one_line(message.as_ref()),
        }
    }

    fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_col(self.text, s.span().start).0
    }

    fn at<T, U>(&self, s: &Spanned<T>, value: U) -> At<U> {
        At {
            value,
            line: self.line(s),
        }
    }

    fn check(&self, raw: ConfigFile, base: &Path) -> Result<Config, ConfigError> {
        let mut c = Config {
            path: Some(self.path.to_path_buf()),
            ..Config::default()
        };
        if let Some(s) = &raw.fail_on {
            let v = choice::<FailOn>(s.get_ref()).ok_or_else(|| {
                self.error(s.span(), bad_choice::<FailOn>("fail-on", s.get_ref()))
            })?;
            c.fail_on = Some(self.at(s, v));
        }
        if let Some(s) = &raw.format {
            let v = choice::<OutputFormat>(s.get_ref()).ok_or_else(|| {
                self.error(s.span(), bad_choice::<OutputFormat>("format", s.get_ref()))
            })?;
            c.format = Some(self.at(s, v));
        }
        if let Some(conn) = &raw.connection {
            c.connection = self.connection(conn)?;
        }
        if let Some(d) = &raw.diagnose {
            self.diagnose(d, base, &mut c)?;
        }
        c.rules = self.rules(&raw.rules)?;
        Ok(c)
    }

    fn connection(&self, conn: &file::ConnectionOptions) -> Result<Vec<ConnParam>, ConfigError> {
        if let Some(p) = &conn.password {
            return Err(self.error(
                p.span(),
                "`password` is not read from the configuration file (it is often committed): \
                 use the password file (~/.pgpass) or PGPASSWORD",
            ));
        }
        let mut out = Vec::new();
        for (key, v) in conn.params() {
            let value = match v.get_ref() {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(n) if matches!(key, "port" | "connect_timeout") => {
                    n.to_string()
                }
                other => {
                    return Err(self.error(
                        v.span(),
                        format!(
                            "connection `{key}` must be a string{}, not {}",
                            if matches!(key, "port" | "connect_timeout") {
                                " or an integer"
                            } else {
                                ""
                            },
                            type_name(other)
                        ),
                    ))
                }
            };
            if key == "port" {
                let ok = value
                    .split(',')
                    .all(|p| p.trim().parse::<u16>().is_ok_and(|n| n > 0));
                if !ok {
                    return Err(self.error(
                        v.span(),
                        format!("connection `port` must be a port number (1-65535), not `{value}`"),
                    ));
                }
            }
            if key == "sslmode" && !SSL_MODES.contains(&value.as_str()) {
                return Err(self.error(
                    v.span(),
                    format!(
                        "connection `sslmode` `{value}` is not one of {}",
                        SSL_MODES.join(", ")
                    ),
                ));
            }
            out.push(ConnParam {
                key: key.to_string(),
                value,
                line: self.line(v),
            });
        }
        Ok(out)
    }

    fn diagnose(
        &self,
        d: &file::DiagnoseOptions,
        base: &Path,
        c: &mut Config,
    ) -> Result<(), ConfigError> {
        if let Some(files) = &d.files {
            let mut paths = Vec::new();
            for f in files.get_ref() {
                if f.get_ref().trim().is_empty() {
                    return Err(self.error(f.span(), "an empty file name in `files`"));
                }
                paths.push(base.join(f.get_ref()));
            }
            c.diagnose_files = Some(self.at(files, paths));
        }
        for (key, given, slot) in [
            (
                "statement-timeout",
                &d.statement_timeout,
                &mut c.statement_timeout,
            ),
            ("lock-timeout", &d.lock_timeout, &mut c.lock_timeout),
        ] {
            if let Some(s) = given {
                crate::explain::parse_duration(s.get_ref())
                    .map_err(|e| self.error(s.span(), format!("`{key}`: {e}")))?;
                *slot = Some(self.at(s, s.get_ref().clone()));
            }
        }
        if let Some(j) = &d.jobs {
            let n = u16::try_from(*j.get_ref())
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    self.error(
                        j.span(),
                        format!("`jobs` must be from 1 to 64, not {}", j.get_ref()),
                    )
                })?;
            c.jobs = Some(self.at(j, n));
        }
        Ok(())
    }

    fn rules(
        &self,
        raw: &std::collections::BTreeMap<Spanned<String>, Spanned<file::RuleTable>>,
    ) -> Result<Vec<RuleConfig>, ConfigError> {
        // In file order, so that the first error reported is the first in the file.
        let mut tables: Vec<_> = raw.iter().collect();
        tables.sort_by_key(|(k, _)| k.span().start);
        let mut out: Vec<(RuleConfig, usize)> = Vec::new();
        for (key, table) in tables {
            let Some(rule) = rules::find(key.get_ref()) else {
                return Err(self.error(
                    key.span(),
                    format!(
                        "unknown rule `{}` (rules: {}; or their names, see `pgdiag rules`)",
                        key.get_ref(),
                        rules::all()
                            .iter()
                            .map(|r| r.meta.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let meta = &rule.meta;
            if let Some((_, first)) = out.iter().find(|(r, _)| r.id == meta.id) {
                return Err(self.error(
                    key.span(),
                    format!(
                        "rule {} ({}) is already configured on line {first}",
                        meta.id, meta.name
                    ),
                ));
            }
            let mut rc = RuleConfig {
                id: meta.id.clone(),
                enabled: None,
                severity: None,
                thresholds: Vec::new(),
            };
            let mut entries: Vec<_> = table.get_ref().iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start);
            for (k, v) in entries {
                match k.get_ref().as_str() {
                    "enabled" => match v.get_ref() {
                        toml::Value::Boolean(b) => rc.enabled = Some(self.at(v, *b)),
                        other => {
                            return Err(self.error(
                                v.span(),
                                format!(
                                    "rules.{}.enabled must be true or false, not {}",
                                    key.get_ref(),
                                    type_name(other)
                                ),
                            ))
                        }
                    },
                    "severity" => {
                        let s = v
                            .get_ref()
                            .as_str()
                            .and_then(Severity::parse)
                            .ok_or_else(|| {
                                self.error(
                                    v.span(),
                                    format!(
                                        "rules.{}.severity must be \"error\", \"warning\" or \"info\", not {}",
                                        key.get_ref(),
                                        v.get_ref()
                                    ),
                                )
                            })?;
                        rc.severity = Some(self.at(v, s));
                    }
                    // Thresholds are declared in snake_case; the file's other keys are
                    // kebab-case, so both spellings are taken.
                    given if meta.thresholds.contains_key(&given.replace('-', "_")) => {
                        let name = given.replace('-', "_");
                        let name = name.as_str();
                        let n = match v.get_ref() {
                            toml::Value::Integer(i) => *i as f64,
                            toml::Value::Float(f) => *f,
                            other => {
                                return Err(self.error(
                                    v.span(),
                                    format!(
                                        "threshold {}.{name} must be a number, not {}",
                                        meta.id,
                                        type_name(other)
                                    ),
                                ))
                            }
                        };
                        if !n.is_finite() || n < 0.0 {
                            return Err(self.error(
                                v.span(),
                                format!(
                                    "threshold {}.{name} must be a finite number, 0 or more, not {}",
                                    meta.id,
                                    v.get_ref()
                                ),
                            ));
                        }
                        if let Some((_, first)) = rc.thresholds.iter().find(|(t, _)| t == name) {
                            return Err(self.error(
                                k.span(),
                                format!(
                                    "threshold {}.{name} is already set on line {}",
                                    meta.id, first.line
                                ),
                            ));
                        }
                        rc.thresholds.push((name.to_string(), self.at(v, n)));
                    }
                    name => {
                        let mut known: Vec<&str> = vec!["enabled", "severity"];
                        known.extend(meta.thresholds.keys().map(String::as_str));
                        return Err(self.error(
                            k.span(),
                            format!(
                                "rule {} ({}) has no setting `{name}` (it has: {})",
                                meta.id,
                                meta.name,
                                known.join(", ")
                            ),
                        ));
                    }
                }
            }
            out.push((rc, self.line(key)));
        }
        Ok(out.into_iter().map(|(r, _)| r).collect())
    }
}

/// A clap value (`warning`, `json`) by name, as on the command line.
fn choice<T: ValueEnum>(s: &str) -> Option<T> {
    T::from_str(s, false).ok()
}

fn bad_choice<T: ValueEnum>(key: &str, got: &str) -> String {
    let names: Vec<String> = T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    format!("`{key}` must be one of {}, not `{got}`", names.join(", "))
}

fn type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

/// The key of a `key = value` line when `offset` is in the value.
fn key_before(text: &str, offset: usize) -> Option<&str> {
    let before = text.get(..offset)?;
    let line = &before[before.rfind('\n').map(|i| i + 1).unwrap_or(0)..];
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    (!key.is_empty()).then_some(key)
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests;
