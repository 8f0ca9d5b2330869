//! What the user wrote in `pgdiag.toml`, as serde reads it: every field optional, unknown keys
//! refused, every value spanned so that a later check can point at its line.
//!
//! Nothing here is checked beyond TOML types; [`super::Config`] is the checked form.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// `error`, `warning`, `info` or `none`.
    pub fail_on: Option<Spanned<String>>,
    /// A report format of `--format`.
    pub format: Option<Spanned<String>>,
    pub connection: Option<ConnectionOptions>,
    pub diagnose: Option<DiagnoseOptions>,
    /// `[rules.P001]` or `[rules.seq-scan-large-table]`: `enabled`, `severity` and thresholds.
    /// The keys vary with the rule, so the table is read as it is and checked against the
    /// rule catalog afterwards.
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, Spanned<RuleTable>>,
}

/// The keys of one `[rules.X]` table: `enabled`, `severity`, or a threshold of that rule.
pub type RuleTable = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

/// `[connection]`: libpq parameters, under the names libpq gives them (as in a conninfo string).
/// A value may be a string or, for numbers such as `port`, an integer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionOptions {
    pub host: Option<Spanned<toml::Value>>,
    pub hostaddr: Option<Spanned<toml::Value>>,
    pub port: Option<Spanned<toml::Value>>,
    pub dbname: Option<Spanned<toml::Value>>,
    pub user: Option<Spanned<toml::Value>>,
    pub sslmode: Option<Spanned<toml::Value>>,
    pub sslrootcert: Option<Spanned<toml::Value>>,
    pub sslcert: Option<Spanned<toml::Value>>,
    pub sslkey: Option<Spanned<toml::Value>>,
    #[serde(alias = "application-name")]
    pub application_name: Option<Spanned<toml::Value>>,
    #[serde(alias = "connect-timeout")]
    pub connect_timeout: Option<Spanned<toml::Value>>,
    #[serde(alias = "target-session-attrs")]
    pub target_session_attrs: Option<Spanned<toml::Value>>,
    pub options: Option<Spanned<toml::Value>>,
    pub passfile: Option<Spanned<toml::Value>>,
    /// Read only to refuse it: a file that is committed to a repository is no place for a
    /// password.
    pub password: Option<Spanned<toml::Value>>,
}

impl ConnectionOptions {
    /// The parameters given, in libpq's names, password excluded.
    pub fn params(&self) -> Vec<(&'static str, &Spanned<toml::Value>)> {
        let all = [
            ("host", &self.host),
            ("hostaddr", &self.hostaddr),
            ("port", &self.port),
            ("dbname", &self.dbname),
            ("user", &self.user),
            ("sslmode", &self.sslmode),
            ("sslrootcert", &self.sslrootcert),
            ("sslcert", &self.sslcert),
            ("sslkey", &self.sslkey),
            ("application_name", &self.application_name),
            ("connect_timeout", &self.connect_timeout),
            ("target_session_attrs", &self.target_session_attrs),
            ("options", &self.options),
            ("passfile", &self.passfile),
        ];
        all.into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .collect()
    }
}

/// `[diagnose]`: what `pgdiag diagnose` runs and how.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DiagnoseOptions {
    /// Query files, relative to the directory of the configuration file.
    pub files: Option<Spanned<Vec<Spanned<String>>>>,
    pub statement_timeout: Option<Spanned<String>>,
    pub lock_timeout: Option<Spanned<String>>,
    pub jobs: Option<Spanned<i64>>,
}
