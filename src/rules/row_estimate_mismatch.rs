//! Not implemented yet.

use super::{Finding, RuleCtx};
use crate::plan::Plan;

pub fn check(_plan: &Plan, _ctx: &RuleCtx, _out: &mut Vec<Finding>) {}
