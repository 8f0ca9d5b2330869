//! Baselines: what a run recorded of each query's plan, and the comparison that turns a later
//! run into `plan-regression` (R001) findings.
//!
//! - `fingerprint.rs`: the key that matches a query with its recorded self;
//! - `shape.rs`: what is recorded of a plan (`PlanShape`) and of its findings;
//! - `file.rs`: the baseline file (JSON, deterministic);
//! - `compare.rs`: matching queries with the baseline, moving already-known findings aside,
//!   running R001, and the summary; also `record`, which makes a baseline of a report;
//! - `diff.rs`: node-by-node alignment of two plans, for `pgdiag compare`.
//!
//! Design choices:
//! - Matching is by fingerprint; when several queries share one (the same SQL twice), they pair
//!   up in file and line order. A query's file and line are reported but do not have to match, so
//!   moving a query within its file, or renaming the file, keeps its history.
//! - Findings the baseline already had move to `PlanReport.in_baseline`: they are shown but do
//!   not fail the run. The gate is about what got worse.
//! - Only plan shape, buffers and cost gate by default. Timing gates with `--gate-timing`.

pub mod compare;
pub mod diff;
pub mod file;
pub mod fingerprint;
pub mod shape;

pub use compare::{apply, record};
pub use file::{BaselineFile, BaselineQuery};
pub use fingerprint::fingerprint;
pub use shape::PlanShape;
