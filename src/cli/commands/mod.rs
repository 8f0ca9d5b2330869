//! One file per subcommand, and what they share (`output`).

pub mod analyze;
pub mod baseline;
pub mod compare;
pub mod demo;
pub mod diagnose;
pub mod health;
pub mod output;
pub mod rules;
