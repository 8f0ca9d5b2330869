//! The settings in force: the command line over the configuration file over the defaults, each
//! with where it came from.

use std::fmt;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use super::{At, Config};
use crate::cli::args::FailOn;
use crate::conn::ConfigDefault;
use crate::report::OutputFormat;
use crate::rules::{self, EngineSettings, Severity};

/// `--statement-timeout` when neither the command line nor the file gives one.
pub const DEFAULT_STATEMENT_TIMEOUT: &str = "30s";
/// `--lock-timeout` when neither the command line nor the file gives one.
pub const DEFAULT_LOCK_TIMEOUT: &str = "2s";
/// `--jobs` when neither the command line nor the file gives one.
pub const DEFAULT_JOBS: u16 = 1;
/// `--fail-on` when neither the command line nor the file gives one.
pub const DEFAULT_FAIL_ON: FailOn = FailOn::Warning;

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    /// A line of the configuration file.
    File {
        path: PathBuf,
        line: usize,
    },
    CommandLine,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A setting's value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Resolved<T> {
    pub value: T,
    pub origin: Origin,
}

/// One rule as it will run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSettings {
    pub id: String,
    pub name: String,
    pub enabled: Resolved<bool>,
    pub severity: Resolved<Severity>,
    /// Every threshold the rule declares, in its TOML's order (by name).
    pub thresholds: Vec<(String, Resolved<f64>)>,
}

impl Config {
    /// A line of the file, as an origin.
    pub fn line_origin(&self, line: usize) -> Origin {
        match &self.path {
            Some(path) => Origin::File {
                path: path.clone(),
                line,
            },
            None => Origin::Default,
        }
    }

    fn origin<T>(&self, at: &At<T>) -> Origin {
        self.line_origin(at.line)
    }

    /// The command line's value, else the file's, else `default`.
    fn pick<T: Clone>(&self, cli: Option<T>, file: Option<&At<T>>, default: T) -> Resolved<T> {
        match (cli, file) {
            (Some(value), _) => Resolved {
                value,
                origin: Origin::CommandLine,
            },
            (None, Some(at)) => Resolved {
                value: at.value.clone(),
                origin: self.origin(at),
            },
            (None, None) => Resolved {
                value: default,
                origin: Origin::Default,
            },
        }
    }

    pub fn fail_on(&self, cli: Option<FailOn>) -> Resolved<FailOn> {
        self.pick(cli, self.fail_on.as_ref(), DEFAULT_FAIL_ON)
    }

    /// The report format; `None` when nobody chose one (the command then picks by terminal).
    pub fn format(&self, cli: Option<OutputFormat>) -> Option<Resolved<OutputFormat>> {
        match (cli, &self.format) {
            (Some(value), _) => Some(Resolved {
                value,
                origin: Origin::CommandLine,
            }),
            (None, Some(at)) => Some(Resolved {
                value: at.value,
                origin: self.origin(at),
            }),
            (None, None) => None,
        }
    }

    pub fn statement_timeout(&self, cli: Option<&str>) -> Resolved<String> {
        self.pick(
            cli.map(str::to_string),
            self.statement_timeout.as_ref(),
            DEFAULT_STATEMENT_TIMEOUT.to_string(),
        )
    }

    pub fn lock_timeout(&self, cli: Option<&str>) -> Resolved<String> {
        self.pick(
            cli.map(str::to_string),
            self.lock_timeout.as_ref(),
            DEFAULT_LOCK_TIMEOUT.to_string(),
        )
    }

    pub fn jobs(&self, cli: Option<u16>) -> Resolved<u16> {
        self.pick(cli, self.jobs.as_ref(), DEFAULT_JOBS)
    }

    /// `[diagnose].files`, used when the command line names no query.
    pub fn diagnose_files(&self) -> Option<Resolved<Vec<PathBuf>>> {
        self.diagnose_files.as_ref().map(|at| Resolved {
            value: at.value.clone(),
            origin: self.origin(at),
        })
    }

    /// `[connection]`, for [`crate::conn::resolve_with_config`].
    pub fn connection_defaults(&self) -> Vec<ConfigDefault> {
        self.connection
            .iter()
            .map(|p| ConfigDefault {
                key: p.key.clone(),
                value: p.value.clone(),
                at: self.line_origin(p.line).to_string(),
            })
            .collect()
    }

    /// Every rule of the catalog as it will run: `cli` holds what `--disable` and `--set` said,
    /// and wins over `[rules.*]`.
    pub fn rules(&self, cli: &EngineSettings) -> Vec<RuleSettings> {
        rules::all()
            .iter()
            .map(|rule| {
                let m = &rule.meta;
                let file = self.rules.iter().find(|r| r.id == m.id);
                let cli_disabled = cli
                    .disabled
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(&m.id) || d.eq_ignore_ascii_case(&m.name));
                let enabled = self.pick(
                    cli_disabled.then_some(false),
                    file.and_then(|f| f.enabled.as_ref()),
                    true,
                );
                let severity = self.pick(
                    cli.severities.get(&m.id).copied(),
                    file.and_then(|f| f.severity.as_ref()),
                    m.severity,
                );
                let thresholds = m
                    .thresholds
                    .iter()
                    .map(|(name, t)| {
                        let from_cli = cli.thresholds.get(&(m.id.clone(), name.clone())).copied();
                        let from_file = file.and_then(|f| {
                            f.thresholds.iter().find(|(n, _)| n == name).map(|(_, a)| a)
                        });
                        (name.clone(), self.pick(from_cli, from_file, t.default))
                    })
                    .collect();
                RuleSettings {
                    id: m.id.clone(),
                    name: m.name.clone(),
                    enabled,
                    severity,
                    thresholds,
                }
            })
            .collect()
    }
}

/// What the rule engine reads, from the resolved rules.
pub fn engine_settings(rules: &[RuleSettings]) -> EngineSettings {
    let mut s = EngineSettings::default();
    for r in rules {
        if !r.enabled.value {
            s.disabled.push(r.id.clone());
        }
        if r.severity.origin != Origin::Default {
            s.severities.insert(r.id.clone(), r.severity.value);
        }
        for (name, v) in &r.thresholds {
            if v.origin != Origin::Default {
                s.thresholds.insert((r.id.clone(), name.clone()), v.value);
            }
        }
    }
    s
}
