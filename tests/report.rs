mod common;
use pgdiag::report::*;

#[test]
fn scratch_print() {
    let path = std::env::var("P").unwrap_or("fixtures/plans/generated/pg17/d_hashjoin_batches.json".into());
    let text = std::fs::read_to_string(&path).unwrap();
    let plans = pgdiag::plan::parse_source(&path, &text).unwrap();
    let report = Report { plans: plans.into_iter().map(|p| PlanReport { source: path.clone(), plan: Some(p), findings: vec![], error: None }).collect() };
    let fmt = match std::env::var("F").as_deref() { Ok("md") => OutputFormat::Markdown, Ok("json") => OutputFormat::Json, Ok("c") => OutputFormat::Concise, _ => OutputFormat::Table };
    let opts = RenderOptions { color: std::env::var("C").is_ok(), width: std::env::var("W").ok().map(|w| w.parse().unwrap()) };
    let mut out = Vec::new();
    write(&report, fmt, &opts, &mut out).unwrap();
    println!("{}", String::from_utf8(out).unwrap());
}
