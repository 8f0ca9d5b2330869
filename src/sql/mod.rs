//! The query input layer: `.sql` text → statements with their origin (`split`), and whether a
//! statement only reads (`classify`).
//!
//! Both sit on one hand-written lexer (`lex.rs`), so a word inside a string, a quoted identifier, a
//! dollar quote or a comment is never mistaken for a keyword or a `;`. See `/work/shared/DEPENDENCIES.md`
//! for why this is not sqlparser or pg_query.

mod classify;
pub(crate) mod lex;
mod split;

use serde::Serialize;

pub use classify::{classify, Class};
pub use split::split;

/// One statement of the input, as it will be sent to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// 1-based position among the statements of this input (empty statements are not counted).
    pub index: usize,
    /// The source name given to `split` (a file path, or `<stdin>`, …).
    pub file: String,
    /// 1-based line of the statement's first token (comments before it are not part of it).
    pub line: usize,
    /// 1-based column of that token, in characters.
    pub column: usize,
    /// The original text from the first token to the end of the last one: no leading or trailing
    /// white space or comments, no `;`. Comments inside the statement are kept as written.
    pub sql: String,
    /// `-- pgdiag: ignore …` comments on the lines directly above the statement.
    pub suppressions: Vec<Suppression>,
}

/// A `-- pgdiag: ignore <rule>[, <rule>] [reason]` or `-- pgdiag: ignore-file [<rule>, …] [reason]`
/// comment. `diagnose` moves the findings they name into the report's `suppressed` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// Line of the comment.
    pub line: usize,
    /// Rule IDs or names as written. Empty only for `ignore-file`, where it means every rule.
    pub rules: Vec<String>,
    /// Free text after the rule list, if any.
    pub reason: Option<String>,
}

/// Input that is not a statement and was left out: psql backslash commands, COPY data blocks,
/// and `pgdiag:` comments that apply to nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub line: usize,
    /// What was skipped: the backslash command as written (`\set x 1`), `COPY data (3 lines)`, …
    pub what: String,
}

/// Something in the input that could not be read, where it starts.
///
/// Separate from `plan::parse::LocatedError`, which has no column and an optional line: here
/// both are always known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LocatedError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for LocatedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for LocatedError {}

/// What `split` found. Statements before an error are always returned; the statement an error
/// is in, and everything after an unterminated quote or comment, is not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SplitResult {
    pub statements: Vec<Statement>,
    pub skipped: Vec<Skipped>,
    pub errors: Vec<LocatedError>,
    /// Every `-- pgdiag: ignore-file` comment, wherever it is in the input.
    pub ignore_file: Vec<Suppression>,
}
