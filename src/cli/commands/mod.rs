//! One file per subcommand.

pub mod analyze;
pub mod health;
pub mod rules;
