//! Rule metadata, read from `rules/<id>-<name>.toml`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A tunable number a rule reads, with its default and what it means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub default: f64,
    pub description: String,
    /// Unit shown to users (`rows`, `ms`, `ratio`, `kB`…).
    #[serde(default)]
    pub unit: Option<String>,
}

/// Everything about a rule that is data, not logic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMeta {
    /// Stable id (`P001`).
    pub id: String,
    /// Kebab-case name (`seq-scan-large-table`); accepted wherever an id is.
    pub name: String,
    /// One line for tables and lists.
    pub title: String,
    /// `plan`, or (later) `table`, `connection`, `settings`.
    pub category: String,
    pub severity: Severity,
    /// Why it matters: shown by `pgdiag rules ID`.
    pub explanation: String,
    /// What to do in general; findings add specific advice.
    pub advice: String,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
    #[serde(default)]
    pub references: Vec<String>,
}

impl RuleMeta {
    pub fn from_toml(text: &str) -> Result<RuleMeta, toml::de::Error> {
        toml::from_str(text)
    }
}
