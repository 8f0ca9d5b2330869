//! Text plans (`EXPLAIN` default format) → the JSON shape read by `json.rs`.

use super::psql::Cleaned;
use super::LocatedError;

/// Parse cleaned text into JSON-shaped plan documents, each with the cleaned line it starts on.
pub fn parse(_text: &Cleaned) -> Result<Vec<(usize, serde_json::Value)>, LocatedError> {
    Err(LocatedError::nowhere("text plans are not supported yet"))
}
