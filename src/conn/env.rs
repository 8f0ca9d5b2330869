//! The PG* environment variables, read through an injectable [`Env`] so tests never touch the
//! process environment.

use std::collections::HashMap;

/// A source of environment variables.
pub trait Env {
    /// The value of `name`, or `None` when unset.
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment. Non-UTF-8 values count as unset.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl Env for HashMap<&str, &str> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).map(|s| s.to_string())
    }
}

impl Env for [(&str, &str)] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

impl<E: Env + ?Sized> Env for &E {
    fn var(&self, name: &str) -> Option<String> {
        (**self).var(name)
    }
}

/// Any closure `Fn(&str) -> Option<String>`.
pub struct FnEnv<F>(pub F);

impl<F: Fn(&str) -> Option<String>> Env for FnEnv<F> {
    fn var(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
}

/// An environment with nothing set.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyEnv;

impl Env for EmptyEnv {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
}

/// The variables that stand for a connection parameter: (variable, parameter).
pub const PARAM_VARS: &[(&str, &str)] = &[
    ("PGHOST", "host"),
    ("PGHOSTADDR", "hostaddr"),
    ("PGPORT", "port"),
    ("PGUSER", "user"),
    ("PGDATABASE", "dbname"),
    ("PGPASSWORD", "password"),
    ("PGPASSFILE", "passfile"),
    ("PGSERVICE", "service"),
    ("PGSSLMODE", "sslmode"),
    ("PGSSLROOTCERT", "sslrootcert"),
    ("PGSSLCERT", "sslcert"),
    ("PGSSLKEY", "sslkey"),
    ("PGAPPNAME", "application_name"),
    ("PGCONNECT_TIMEOUT", "connect_timeout"),
    ("PGTARGETSESSIONATTRS", "target_session_attrs"),
    ("PGOPTIONS", "options"),
];

/// The service file named by the user (not a connection parameter).
pub const PGSERVICEFILE: &str = "PGSERVICEFILE";
/// The directory of the system-wide `pg_service.conf`.
pub const PGSYSCONFDIR: &str = "PGSYSCONFDIR";

/// The variable that sets `param`, if any.
pub fn var_for_param(param: &str) -> Option<&'static str> {
    PARAM_VARS
        .iter()
        .find(|(_, p)| *p == param)
        .map(|(v, _)| *v)
}

/// The connection parameters set in `env`, as (parameter, value, variable), in the order of
/// [`PARAM_VARS`]. Empty values are skipped: libpq treats them as "use the default".
pub fn params_from_env(env: &dyn Env) -> Vec<(&'static str, String, &'static str)> {
    PARAM_VARS
        .iter()
        .filter_map(|(var, param)| {
            env.var(var)
                .filter(|v| !v.is_empty())
                .map(|v| (*param, v, *var))
        })
        .collect()
}

/// A non-empty variable.
pub fn non_empty(env: &dyn Env, name: &str) -> Option<String> {
    env.var(name).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_variable_maps_to_a_known_parameter() {
        for (var, param) in PARAM_VARS {
            assert!(var.starts_with("PG"), "{var}");
            assert!(
                super::super::conninfo::is_known_key(param),
                "{var} -> {param}"
            );
        }
        assert_eq!(PARAM_VARS.len(), 16);
    }

    #[test]
    fn reads_injected_variables_only() {
        let env = [
            ("PGHOST", "db.example"),
            ("PGPORT", "6543"),
            ("PGUSER", "alice"),
            ("PGDATABASE", "shop"),
            ("PGPASSWORD", "pw"),
            ("PGAPPNAME", ""),
            ("HOME", "/home/alice"),
            ("PGSSLMODE", "verify-full"),
            ("PGOPTIONS", "-c statement_timeout=5s"),
        ];
        let got: Vec<(&str, String)> = params_from_env(&env)
            .into_iter()
            .map(|(p, v, _)| (p, v))
            .collect();
        let want: Vec<(&str, String)> = vec![
            ("host", "db.example".into()),
            ("port", "6543".into()),
            ("user", "alice".into()),
            ("dbname", "shop".into()),
            ("password", "pw".into()),
            ("sslmode", "verify-full".into()),
            ("options", "-c statement_timeout=5s".into()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn table_of_variables() {
        let cases = [
            ("PGHOSTADDR", "hostaddr"),
            ("PGPASSFILE", "passfile"),
            ("PGSERVICE", "service"),
            ("PGSSLROOTCERT", "sslrootcert"),
            ("PGSSLCERT", "sslcert"),
            ("PGSSLKEY", "sslkey"),
            ("PGAPPNAME", "application_name"),
            ("PGCONNECT_TIMEOUT", "connect_timeout"),
            ("PGTARGETSESSIONATTRS", "target_session_attrs"),
        ];
        for (var, param) in cases {
            let env = FnEnv(move |n: &str| (n == var).then(|| "v".to_string()));
            let got = params_from_env(&env);
            assert_eq!(got, vec![(param, "v".to_string(), var)], "{var}");
            assert_eq!(var_for_param(param), Some(var));
        }
    }

    #[test]
    fn hashmap_and_empty_envs() {
        let mut m = HashMap::new();
        m.insert("PGUSER".to_string(), "bob".to_string());
        assert_eq!(m.var("PGUSER").as_deref(), Some("bob"));
        assert!(params_from_env(&EmptyEnv).is_empty());
        assert_eq!(non_empty(&[("PGSYSCONFDIR", "")], PGSYSCONFDIR), None);
    }
}
