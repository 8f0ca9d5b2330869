//! A run against its baseline: which queries match, which findings were already known, and the
//! plan-regression findings; and the other way, the baseline a run records.

use std::collections::BTreeMap;

use super::file::{BaselineFile, BaselineQuery};
use super::fingerprint::fingerprint;
use super::shape::{finding_keys, FindingKey, PlanShape};
use crate::report::{BaselineSummary, GoneQuery, PlanReport, Report};
use crate::rules::{self, BaselineInput, EngineSettings};

/// How the queries of a run pair up with the baseline's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matching {
    /// `(index in the report's plans, index in the baseline's queries)`.
    pub pairs: Vec<(usize, usize)>,
    /// Plans of the run the baseline does not know.
    pub new: Vec<usize>,
    /// Baseline queries the run did not have.
    pub gone: Vec<usize>,
}

/// Pairs by fingerprint; within one fingerprint, in file and line order. Plans that did not come
/// from a query (`analyze`) or whose input could not be read take no part.
pub fn match_queries(baseline: &[BaselineQuery], plans: &[PlanReport]) -> Matching {
    // `(file, line, position)` to order the queries of one fingerprint, and the query's index.
    type Entry<'a> = ((Option<&'a String>, Option<usize>, usize), usize);
    // Per fingerprint: the baseline's queries, then this run's.
    type Sides<'a> = (Vec<Entry<'a>>, Vec<Entry<'a>>);
    let mut groups: BTreeMap<String, Sides> = BTreeMap::new();
    for (i, q) in baseline.iter().enumerate() {
        let key = (q.file.as_ref(), q.line, i);
        groups
            .entry(q.fingerprint.clone())
            .or_default()
            .0
            .push((key, i));
    }
    for (i, pr) in plans.iter().enumerate() {
        let Some(origin) = pr.query.as_ref().filter(|o| !o.sql.is_empty()) else {
            continue;
        };
        let key = (origin.file.as_ref(), origin.line, origin.index);
        groups
            .entry(fingerprint(&origin.sql))
            .or_default()
            .1
            .push((key, i));
    }
    let mut m = Matching::default();
    for (_, (mut before, mut now)) in groups {
        before.sort();
        now.sort();
        let n = before.len().min(now.len());
        m.pairs
            .extend(now.iter().zip(&before).map(|((_, p), (_, b))| (*p, *b)));
        m.new.extend(now[n..].iter().map(|(_, p)| *p));
        m.gone.extend(before[n..].iter().map(|(_, b)| *b));
    }
    m.pairs.sort();
    m.new.sort();
    m.gone.sort();
    m
}

/// Compares the report with `baseline` (read from `file`): moves the findings the baseline
/// already had into `in_baseline`, adds the plan-regression findings, and sets the baseline
/// section. `gate_timing` makes slower execution a regression at R001's severity.
pub fn apply(
    report: &mut Report,
    baseline: &BaselineFile,
    file: &str,
    settings: &EngineSettings,
    gate_timing: bool,
) {
    let m = match_queries(&baseline.queries, &report.plans);
    for &(pi, bi) in &m.pairs {
        let pr = &mut report.plans[pi];
        let Some(plan) = &pr.plan else {
            continue;
        };
        let before = &baseline.queries[bi];
        let all = std::mem::take(&mut pr.findings);
        let (known, fresh): (Vec<_>, Vec<_>) = all.into_iter().partition(|f| {
            let key = FindingKey::of(plan, f);
            before.findings.iter().any(|k| k.same(&key))
        });
        let shape = PlanShape::of(plan);
        let mut current = known.clone();
        current.extend(fresh.iter().cloned());
        let input = BaselineInput {
            before,
            plan,
            shape: &shape,
            findings: &current,
            gate_timing,
        };
        let regressions = rules::check_baseline(&input, settings);
        pr.findings = fresh;
        pr.findings.extend(regressions);
        rules::sort(&mut pr.findings);
        pr.in_baseline = known;
    }
    report.baseline = Some(BaselineSummary {
        file: file.to_string(),
        matched: m.pairs.len(),
        new: m
            .new
            .iter()
            .map(|&i| report.plans[i].source.clone())
            .collect(),
        gone: m
            .gone
            .iter()
            .map(|&i| {
                let q = &baseline.queries[i];
                GoneQuery {
                    file: q.file.clone(),
                    line: q.line,
                    sql: q
                        .sql
                        .lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .unwrap_or("")
                        .to_string(),
                }
            })
            .collect(),
    });
}

/// The baseline of a run: every query that produced a plan, with its shape and findings (those
/// already in a previous baseline included; plan-regression findings never).
pub fn record(report: &Report) -> BaselineFile {
    let queries = report
        .plans
        .iter()
        .filter_map(|pr| {
            let plan = pr.plan.as_ref()?;
            let origin = pr.query.as_ref()?;
            Some(BaselineQuery {
                fingerprint: fingerprint(&origin.sql),
                file: origin.file.clone(),
                line: origin.line,
                sql: origin.sql.clone(),
                shape: PlanShape::of(plan),
                findings: finding_keys(plan, pr.findings.iter().chain(&pr.in_baseline)),
            })
        })
        .collect();
    let server = report
        .database
        .as_ref()
        .map(|d| d.server_version.clone())
        .filter(|v| !v.is_empty());
    BaselineFile::new(server, queries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::QueryOrigin;

    fn plan_report(index: usize, file: &str, line: usize, sql: &str) -> PlanReport {
        PlanReport {
            source: format!("{file}:{line}"),
            query: Some(QueryOrigin {
                index,
                file: Some(file.into()),
                line: Some(line),
                sql: sql.into(),
            }),
            ..PlanReport::default()
        }
    }

    fn recorded(file: &str, line: usize, sql: &str) -> BaselineQuery {
        BaselineQuery {
            fingerprint: fingerprint(sql),
            file: Some(file.into()),
            line: Some(line),
            sql: sql.into(),
            ..BaselineQuery::default()
        }
    }

    #[test]
    fn matching_by_fingerprint_then_line_order() {
        let baseline = vec![
            recorded("q.sql", 1, "SELECT 1"),
            recorded("q.sql", 5, "SELECT 2"),
            recorded("q.sql", 9, "SELECT 2"),
            recorded("q.sql", 12, "SELECT 3"),
        ];
        let plans = vec![
            // Moved down the file and reformatted: still the same query.
            plan_report(1, "q.sql", 3, "select  2;"),
            plan_report(2, "q.sql", 4, "SELECT 1 -- one"),
            plan_report(3, "q.sql", 8, "SELECT 2"),
            plan_report(4, "q.sql", 20, "SELECT 4"),
        ];
        let m = match_queries(&baseline, &plans);
        assert_eq!(m.pairs, vec![(0, 1), (1, 0), (2, 2)]);
        assert_eq!(m.new, vec![3]);
        assert_eq!(m.gone, vec![3]);
    }

    #[test]
    fn summary_names_new_and_gone_queries() {
        let baseline = BaselineFile::new(
            None,
            vec![
                recorded("q.sql", 1, "SELECT 1"),
                recorded("q.sql", 2, "\n  SELECT 2\n  FROM t"),
            ],
        );
        let mut report = Report {
            plans: vec![
                plan_report(1, "q.sql", 1, "SELECT 1"),
                plan_report(2, "q.sql", 7, "SELECT 7"),
            ],
            ..Report::default()
        };
        apply(
            &mut report,
            &baseline,
            "base.json",
            &EngineSettings::default(),
            false,
        );
        let s = report.baseline.unwrap();
        assert_eq!(s.file, "base.json");
        assert_eq!(s.matched, 1);
        assert_eq!(s.new, vec!["q.sql:7".to_string()]);
        assert_eq!(s.gone.len(), 1);
        assert_eq!(s.gone[0].describe(), "q.sql:2: SELECT 2");
    }
}
