//! What is PostgreSQL's own vocabulary, and so is kept: keywords, built-in functions and types,
//! system schemas.
//!
//! The three lists are PostgreSQL 15's catalogs, read once with
//! `SELECT word, catcode FROM pg_get_keywords()`,
//! `SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace` and
//! `SELECT DISTINCT typname FROM pg_type WHERE typnamespace = 'pg_catalog'::regnamespace AND
//! typname NOT LIKE '\_%' AND typrelid = 0`. A function added by a later release is treated as a
//! user function and replaced, which errs on the safe side.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// How PostgreSQL's grammar treats a keyword (`pg_get_keywords().catcode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordClass {
    /// `U`: usable as any name, so in a plan it may well be a column (`name`, `data`, `year`).
    Unreserved,
    /// `C`, `T`, `R`: PostgreSQL quotes such a word when it is a name, so bare it is a keyword.
    Reserved,
}

static KEYWORDS: LazyLock<HashMap<&'static str, KeywordClass>> = LazyLock::new(|| {
    include_str!("keywords.txt")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(w, c)| {
            let class = if c.trim() == "U" {
                KeywordClass::Unreserved
            } else {
                KeywordClass::Reserved
            };
            (w, class)
        })
        .collect()
});

static FUNCTIONS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("builtin_functions.txt").lines().collect());

static SETTINGS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("settings.txt").lines().collect());

static TYPES: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("builtin_types.txt").lines().collect());

/// `word` lower-cased, for the catalog lookups (the catalogs hold lower-case names).
fn lower(word: &str) -> String {
    word.to_ascii_lowercase()
}

pub fn keyword(word: &str) -> Option<KeywordClass> {
    KEYWORDS.get(lower(word).as_str()).copied()
}

/// A function of `pg_catalog` (`count`, `lower`, `date_trunc`, `pg_terminate_backend`).
pub fn is_builtin_function(name: &str) -> bool {
    FUNCTIONS.contains(lower(name).as_str())
}

/// A base type of `pg_catalog` (`text`, `int4`, `timestamptz`).
pub fn is_builtin_type(name: &str) -> bool {
    TYPES.contains(lower(name).as_str())
}

/// A server setting (`work_mem`, `statement_timeout`), as `SET` and `ALTER ROLE … SET` name it.
pub fn is_setting(name: &str) -> bool {
    SETTINGS.contains(lower(name).as_str())
}

/// Schemas every database has: naming them tells nothing about the user's data, and keeping
/// them keeps plans readable (`public.table_1`).
pub fn is_system_schema(name: &str) -> bool {
    matches!(
        name,
        "public" | "pg_catalog" | "information_schema" | "pg_toast"
    ) || name.starts_with("pg_temp")
}

/// Words of EXPLAIN's own vocabulary inside expressions that are not reserved keywords:
/// `(SubPlan 1)`, `hashed SubPlan 2`, `InitPlan 1 (returns $0)`, `NULLS LAST`, `ESCAPE`.
pub fn is_plan_word(word: &str) -> bool {
    matches!(
        lower(word).as_str(),
        "subplan" | "initplan" | "hashed" | "alternatives" | "returns" | "nulls" | "escape"
    )
}

/// Words that may follow a type name after `::` (`timestamp without time zone`).
pub fn is_type_word(word: &str) -> bool {
    matches!(
        lower(word).as_str(),
        "without" | "with" | "time" | "zone" | "varying" | "precision"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_tell_postgresql_words_from_user_names() {
        assert_eq!(keyword("SELECT"), Some(KeywordClass::Reserved));
        assert_eq!(keyword("and"), Some(KeywordClass::Reserved));
        assert_eq!(keyword("name"), Some(KeywordClass::Unreserved));
        assert_eq!(keyword("orders"), None);
        assert!(is_builtin_function("count"));
        assert!(is_builtin_function("DATE_TRUNC"));
        assert!(!is_builtin_function("child_touch"));
        assert!(is_builtin_type("timestamptz"));
        assert!(!is_builtin_type("order_status"));
    }
}
