//! pgdiag: why a PostgreSQL query is slow, and what to do about it.
//!
//! Data flows one way: input → plan model (`plan`) → findings (`rules`) → report (`report`).

pub mod alloc_tuning;
pub mod anonymize;
pub mod baseline;
pub mod cli;
pub mod collect;
pub mod config;
pub mod conn;
pub mod demo;
pub mod explain;
#[doc(hidden)]
pub mod fuzzing;
pub mod plan;
pub mod report;
pub mod rules;
pub mod sql;
pub mod threads;
