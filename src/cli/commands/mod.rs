//! One file per subcommand, and what they share (`output`).

pub mod analyze;
pub mod baseline;
pub mod compare;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod health;
pub mod output;
pub mod report_output;
pub mod rules;
