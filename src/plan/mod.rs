//! The plan model and everything that builds it.

pub mod derive;
pub mod model;
pub mod parse;

pub use model::{Buffers, EstimateDirection, Node, NodeDetails, Plan};
pub use parse::{parse_source, Format, ParseError};
