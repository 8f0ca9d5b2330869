//! The walk over a finished report: every string field of plans, findings, queries and the
//! database section, in a fixed order (plans in input order, nodes in pre-order, then each
//! plan's query, findings and suppressed findings, then the database section).

use serde_json::Value;

use super::sql::SqlSource;
use super::{Anonymizer, Mapping, NameKind};
use crate::plan::{Node, Plan};
use crate::report::{DatabaseReport, PlanReport, Report};
use crate::rules::predicate::strip_outer_parens;
use crate::rules::Finding;

/// `report` with its names and values replaced, and what was replaced.
pub fn anonymize_report(report: &Report) -> (Report, Mapping) {
    let mut a = Anonymizer::new();
    let plans = report.plans.iter().map(|p| a.plan_report(p)).collect();
    let database = report.database.as_ref().map(|d| a.database(d));
    // Query labels (`file:line`) are kept like sources; a gone query's SQL is user SQL.
    let baseline = report.baseline.as_ref().map(|b| {
        let mut b = b.clone();
        for g in &mut b.gone {
            g.sql = a.sql(&g.sql, SqlSource::Query);
        }
        b
    });
    (
        Report {
            plans,
            database,
            baseline,
        },
        a.mapping.clone(),
    )
}

/// (original, anonymised) expressions a finding's text may quote.
type Exprs = Vec<(String, String)>;

impl Anonymizer {
    fn plan_report(&mut self, pr: &PlanReport) -> PlanReport {
        let mut exprs_by_node: Vec<Exprs> = Vec::new();
        let plan = pr.plan.as_ref().map(|p| {
            let (plan, exprs) = self.plan(p);
            exprs_by_node = exprs;
            plan
        });
        let query = pr.query.as_ref().map(|q| {
            let mut q = q.clone();
            q.sql = self.sql(&q.sql, SqlSource::Query);
            q
        });
        let findings = pr
            .findings
            .iter()
            .map(|f| self.finding(f, plan.as_ref(), &exprs_by_node))
            .collect();
        let suppressed = pr
            .suppressed
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.finding = self.finding(&s.finding, plan.as_ref(), &exprs_by_node);
                s.reason = s.reason.as_ref().map(|r| self.prose(r, &[]));
                s
            })
            .collect();
        let in_baseline = pr
            .in_baseline
            .iter()
            .map(|f| self.finding(f, plan.as_ref(), &exprs_by_node))
            .collect();
        let error = pr.error.as_ref().map(|e| self.error(e, &pr.source));
        PlanReport {
            source: pr.source.clone(),
            plan,
            findings,
            suppressed,
            in_baseline,
            error,
            query,
        }
    }

    /// An error keeps its location (`source`, kept like `source` itself) and its wording; what it
    /// quotes from the input is replaced like any sentence's, and a server error's DETAIL (which
    /// prints row values unquoted: `Key (email)=(…)`) is dropped.
    fn error(&mut self, e: &str, source: &str) -> String {
        let (location, text) = match e.strip_prefix(source) {
            Some(rest) => (source, rest),
            None => ("", e),
        };
        let (text, detail) = match text.find(" DETAIL: ") {
            Some(at) => {
                // The HINT after a DETAIL is PostgreSQL's advice: kept (and rewritten).
                let hint = text[at..].find(" HINT: ").map(|h| &text[at + h..]);
                (&text[..at], Some(hint.unwrap_or("")))
            }
            None => (text, None),
        };
        let mut out = format!("{location}{}", self.prose(text, &[]));
        if let Some(hint) = detail {
            out.push_str(" DETAIL: (left out by --anonymize)");
            out.push_str(&self.prose(hint, &[]));
        }
        out
    }

    /// The plan, and for each node the expressions its findings may quote.
    fn plan(&mut self, p: &Plan) -> (Plan, Vec<Exprs>) {
        let mut plan = p.clone();
        // Names the plan states as such come first, so they get their own kind even when an
        // expression of a parent node mentions them earlier (`Sort Key: orders.id`).
        for n in &plan.nodes {
            if let Some(s) = &n.schema {
                self.schema(s);
            }
            let cte = n
                .details()
                .subplan_name
                .as_ref()
                .and_then(|s| s.strip_prefix("CTE "));
            // An alias last: a CTE's or table's own name is what it is named after.
            for (name, kind) in [
                (&cte.map(str::to_string), NameKind::Cte),
                (&n.details().cte_name, NameKind::Cte),
                (&n.relation, NameKind::Table),
                (&n.index, NameKind::Index),
                (&n.alias, NameKind::Alias),
            ] {
                if let Some(x) = name {
                    self.name(x, kind);
                }
            }
        }
        let mut exprs = Vec::with_capacity(plan.nodes.len());
        for (n, original) in plan.nodes.iter_mut().zip(&p.nodes) {
            let mut e = self.node(n);
            // Sentences name nodes by their label (`Seq Scan on one`): replaced whole, so a
            // name that is also an English word is caught there too.
            let (before, after) = (original.label(), n.label());
            if before != after {
                e.push((before, after));
            }
            exprs.push(e);
        }
        for t in &mut plan.triggers {
            // `RI_ConstraintTrigger_a_16412`: PostgreSQL's own name for a foreign key check.
            if !t.name.starts_with("RI_ConstraintTrigger") {
                t.name = self.name(&t.name, NameKind::Trigger);
            }
            t.constraint_name = t
                .constraint_name
                .as_ref()
                .map(|c| self.name(c, NameKind::Constraint));
            t.relation = t
                .relation
                .as_ref()
                .map(|r| self.qualified(r, NameKind::Table));
        }
        for (name, value) in &mut plan.settings {
            if name == "search_path" {
                *value = self.search_path(value);
            }
        }
        plan.query_text = plan
            .query_text
            .as_ref()
            .map(|q| self.sql(q, SqlSource::Query));
        let extra = std::mem::take(&mut plan.extra);
        plan.extra = extra
            .into_iter()
            .map(|(k, v)| {
                let v = self.extra_value(&k, v);
                (k, v)
            })
            .collect();
        (plan, exprs)
    }

    fn node(&mut self, n: &mut Node) -> Exprs {
        n.schema = n.schema.as_ref().map(|s| self.schema(s));
        n.relation = n.relation.as_ref().map(|r| self.name(r, NameKind::Table));
        n.alias = n.alias.as_ref().map(|r| self.name(r, NameKind::Alias));
        n.index = n.index.as_ref().map(|r| self.name(r, NameKind::Index));
        let mut exprs = Exprs::new();
        let mut conditions: Vec<&mut Option<String>> = vec![&mut n.filter, &mut n.index_cond];
        let mut lists: Vec<&mut Vec<String>> = Vec::new();
        if let Some(d) = n.details.as_deref_mut() {
            d.cte_name = d.cte_name.as_ref().map(|r| self.name(r, NameKind::Cte));
            d.function_name = d.function_name.as_ref().map(|f| self.function(f));
            d.subplan_name = d
                .subplan_name
                .as_ref()
                .map(|s| match s.strip_prefix("CTE ") {
                    Some(cte) => format!("CTE {}", self.name(cte, NameKind::Cte)),
                    None => self.expression(s),
                });
            conditions.extend([
                &mut d.recheck_cond,
                &mut d.hash_cond,
                &mut d.merge_cond,
                &mut d.join_filter,
                &mut d.one_time_filter,
                &mut d.tid_cond,
            ]);
            lists.extend([
                &mut d.sort_key,
                &mut d.presorted_key,
                &mut d.group_key,
                &mut d.hash_key,
            ]);
        }
        lists.push(&mut n.output);
        for field in conditions.into_iter().flatten() {
            let anon = self.expression(field);
            remember(&mut exprs, field, &anon);
            *field = anon;
        }
        for list in lists {
            for e in list.iter_mut() {
                let anon = self.expression(e);
                remember(&mut exprs, e, &anon);
                *e = anon;
            }
        }
        // Unknown keys last, as they always were: names are numbered in the order they are met.
        if let Some(d) = n.details.as_deref_mut() {
            let extra = std::mem::take(&mut d.extra);
            d.extra = extra
                .into_iter()
                .map(|(k, v)| {
                    let v = self.extra_value(&k, v);
                    (k, v)
                })
                .collect();
        }
        exprs
    }

    /// A key the model does not know: names by the key's wording, modes kept, anything else
    /// read as an expression. Numbers are measurements.
    fn extra_value(&mut self, key: &str, v: Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.extra_string(key, &s)),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|x| self.extra_value(key, x))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| {
                        let x = self.extra_value(&k, x);
                        (k, x)
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn extra_string(&mut self, key: &str, s: &str) -> String {
        let k = key.to_ascii_lowercase();
        let mode = [
            "mode",
            "method",
            "type",
            "direction",
            "strategy",
            "format",
            "provider",
        ]
        .iter()
        .any(|w| k.ends_with(w))
            || k.contains("methods");
        if mode {
            s.to_string()
        } else if k.contains("function name") {
            self.function(s)
        } else if k.contains("index") {
            self.name(s, NameKind::Index)
        } else if k.contains("table") || k.contains("relation") {
            self.qualified(s, NameKind::Table)
        } else if k.contains("schema") {
            self.schema(s)
        } else if k.contains("alias") {
            self.name(s, NameKind::Alias)
        } else {
            self.expression(s)
        }
    }

    /// `"$user", public, sales` → `"$user", public, schema_1`.
    fn search_path(&mut self, value: &str) -> String {
        value
            .split(',')
            .map(|part| {
                let t = part.trim();
                let bare = t.trim_matches('"');
                if bare == "$user" || bare.is_empty() {
                    t.to_string()
                } else {
                    self.schema(bare)
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn finding(&mut self, f: &Finding, plan: Option<&Plan>, exprs: &[Exprs]) -> Finding {
        let mut f = f.clone();
        // The expressions of the node, its parent and its children: what a rule may quote.
        let mut quoted: Exprs = Vec::new();
        match (f.node, plan) {
            (Some(id), Some(p)) if id < p.nodes.len() => {
                let n = &p.nodes[id];
                for i in std::iter::once(id)
                    .chain(n.parent)
                    .chain(n.children.iter().copied())
                {
                    if let Some(e) = exprs.get(i) {
                        quoted.extend(e.iter().cloned());
                    }
                }
            }
            _ => {
                for e in exprs {
                    quoted.extend(e.iter().cloned());
                }
            }
        }
        quoted.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        // Evidence first: it names tables, roles and indexes the sentences then mention.
        let evidence = std::mem::take(&mut f.evidence);
        f.evidence = evidence
            .into_iter()
            .map(|(k, v)| {
                let v = self.evidence(&k, v, &quoted);
                (k, v)
            })
            .collect();
        f.path = match (f.node, plan) {
            // The path is the labels of the (already anonymised) plan's nodes.
            (Some(id), Some(p)) if id < p.nodes.len() => Some(p.path(id)),
            _ => f.path.as_ref().map(|s| self.prose(s, &quoted)),
        };
        f.message = self.prose(&f.message, &quoted);
        f.advice = self.prose(&f.advice, &quoted);
        f
    }

    fn evidence(&mut self, key: &str, v: Value, quoted: &Exprs) -> Value {
        match v {
            Value::String(s) => Value::String(self.evidence_string(key, &s, quoted)),
            Value::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|x| self.evidence(key, x, quoted))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, x)| {
                        let x = self.evidence(&k, x, quoted);
                        (k, x)
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    fn evidence_string(&mut self, key: &str, s: &str, quoted: &Exprs) -> String {
        match key {
            "table" | "relation" => self.qualified(s, NameKind::Table),
            "roles" | "role" => self.name(s, NameKind::Role),
            "index" | "existing_index" => self.name(s, NameKind::Index),
            "filter" | "join_condition" | "index_columns" | "filter_columns"
            | "include_columns" => self.expression(s),
            "suggested_index"
            | "suggested_indexes"
            | "proposed_index_exists"
            | "existing_index_definition"
            | "suggested_statistics" => self.sql(s, SqlSource::Advice),
            "node_type" | "suggested_work_mem" | "work_mem" => s.to_string(),
            _ => self.prose(s, quoted),
        }
    }

    fn database(&mut self, d: &DatabaseReport) -> DatabaseReport {
        let mut d = d.clone();
        d.database = self.name(&d.database, NameKind::Database);
        d.role = self.name(&d.role, NameKind::Role);
        d.findings = d
            .findings
            .iter()
            .map(|f| self.finding(f, None, &[]))
            .collect();
        d.not_visible = d.not_visible.iter().map(|s| self.prose(s, &[])).collect();
        d
    }
}

/// Remember `orig` → `anon`, also without the outer parentheses (rules quote both forms). A
/// lone name is left to the word-by-word pass.
fn remember(exprs: &mut Exprs, orig: &str, anon: &str) {
    let is_name = |s: &str| s.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !is_name(orig) {
        exprs.push((orig.to_string(), anon.to_string()));
    }
    let (o, a) = (strip_outer_parens(orig), strip_outer_parens(anon));
    if o.len() != orig.len() && !is_name(o) {
        exprs.push((o.to_string(), a.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Trigger;
    use crate::plan::NodeDetails;
    use crate::report::{QueryOrigin, SuppressedFinding};
    use crate::rules::Severity;

    fn finding(node: Option<usize>, message: &str, advice: &str) -> Finding {
        Finding {
            rule: "P001".into(),
            name: "seq-scan-large-table".into(),
            severity: Severity::Warning,
            node,
            path: Some("Seq Scan on accounts a".into()),
            message: message.into(),
            advice: advice.into(),
            evidence: [
                ("table".into(), Value::from("sales.accounts")),
                ("filter".into(), Value::from("(email = 'bob@x.org'::text)")),
                ("rows_read".into(), Value::from(12345)),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn report() -> Report {
        let scan = Node {
            id: 0,
            node_type: "Seq Scan".into(),
            relation: Some("accounts".into()),
            schema: Some("sales".into()),
            alias: Some("a".into()),
            filter: Some("(email = 'bob@x.org'::text)".into()),
            output: vec!["a.id".into(), "a.email".into()],
            details: Some(Box::new(NodeDetails {
                extra: vec![
                    ("Cache Mode".into(), Value::from("logical")),
                    ("Cache Key".into(), Value::from("a.tenant_id")),
                ],
                ..NodeDetails::default()
            })),
            ..Node::default()
        };
        let plan = Plan {
            source: "plans/p1.txt".into(),
            nodes: vec![scan],
            triggers: vec![Trigger {
                name: "audit_accounts".into(),
                relation: Some("accounts".into()),
                ..Trigger::default()
            }],
            settings: vec![
                ("search_path".into(), "\"$user\", public, sales".into()),
                ("work_mem".into(), "64MB".into()),
            ],
            query_text: Some("SELECT id FROM accounts WHERE email = 'bob@x.org'".into()),
            ..Plan::default()
        };
        let f = finding(
            Some(0),
            "Seq Scan on sales.accounts a read 12,345 rows; Filter: (email = 'bob@x.org'::text)",
            "`CREATE INDEX CONCURRENTLY ON sales.accounts (email)`",
        );
        Report {
            plans: vec![
                PlanReport {
                    source: "plans/p1.txt".into(),
                    plan: Some(plan),
                    findings: vec![f.clone()],
                    suppressed: vec![SuppressedFinding {
                        finding: f,
                        line: 3,
                        scope: "statement",
                        reason: Some("accounts is small in production".into()),
                    }],
                    in_baseline: Vec::new(),
                    error: None,
                    query: Some(QueryOrigin {
                        index: 1,
                        file: Some("q.sql".into()),
                        line: Some(1),
                        sql: "SELECT id FROM accounts WHERE email = 'bob@x.org'".into(),
                    }),
                },
                PlanReport {
                    source: "q.sql:9".into(),
                    error: Some(
                        "q.sql:9: ERROR: duplicate key value violates unique constraint \"accounts_email_key\" DETAIL: Key (email)=(bob@x.org) already exists."
                            .into(),
                    ),
                    ..PlanReport::default()
                },
            ],
            database: Some(DatabaseReport {
                server_version: "15.4".into(),
                database: "shop".into(),
                role: "app".into(),
                findings: vec![Finding {
                    node: None,
                    path: None,
                    ..finding(
                        None,
                        "1 session(s) idle in transaction; the oldest, pid 7 (app@shop, application \"billing\"), last query: UPDATE accounts SET balance = 10 WHERE id = 99",
                        "`ALTER ROLE app SET idle_in_transaction_session_timeout = '5min';`",
                    )
                }],
                ..DatabaseReport::default()
            }),
            baseline: Some(crate::report::BaselineSummary {
                file: "pgdiag-baseline.json".into(),
                matched: 1,
                new: vec!["q.sql:1".into()],
                gone: vec![crate::report::GoneQuery {
                    file: Some("q.sql".into()),
                    line: Some(9),
                    sql: "SELECT email FROM sales.accounts WHERE id = 4242".into(),
                }],
            }),
        }
    }

    /// Every string the report holds, through its Debug form (all fields, whatever renders them).
    fn everything(r: &Report) -> String {
        format!("{r:?}")
    }

    #[test]
    fn every_field_loses_names_and_values() {
        let (anon, mapping) = anonymize_report(&report());
        let text = everything(&anon);
        for secret in [
            "accounts",
            "sales",
            "email",
            "bob@x.org",
            "tenant_id",
            "audit_accounts",
            "shop",
            "billing",
            "balance",
            "99",
        ] {
            assert!(!text.contains(secret), "`{secret}` survived in {text}");
        }
        let node = &anon.plans[0].plan.as_ref().unwrap().nodes[0];
        assert_eq!(node.label(), "Seq Scan on schema_1.table_1 alias_1");
        assert_eq!(
            node.filter.as_deref(),
            Some("(column_1 = 'literal_1'::text)")
        );
        assert_eq!(node.details().extra[0].1, Value::from("logical"));
        let f = &anon.plans[0].findings[0];
        assert_eq!(
            f.path.as_deref(),
            Some("Seq Scan on schema_1.table_1 alias_1")
        );
        assert_eq!(
            f.message,
            "Seq Scan on schema_1.table_1 alias_1 read 12,345 rows; Filter: (column_1 = 'literal_1'::text)"
        );
        assert_eq!(f.evidence["rows_read"], Value::from(12345));
        assert_eq!(f.evidence["table"], Value::from("schema_1.table_1"));
        let plan = anon.plans[0].plan.as_ref().unwrap();
        assert_eq!(plan.settings[0].1, "\"$user\", public, schema_1");
        assert_eq!(plan.settings[1].1, "64MB");
        assert_eq!(plan.source, "plans/p1.txt");
        assert_eq!(
            anon.plans[0].query.as_ref().unwrap().sql,
            "SELECT column_2 FROM table_1 WHERE column_1 = 'literal_1'"
        );
        assert_eq!(
            anon.plans[1].error.as_deref(),
            Some("q.sql:9: ERROR: duplicate key value violates unique constraint \"name_1\" DETAIL: (left out by --anonymize)")
        );
        let gone = &anon.baseline.as_ref().unwrap().gone[0];
        assert_eq!(
            gone.sql,
            "SELECT column_1 FROM schema_1.table_1 WHERE column_2 = 1003"
        );
        assert_eq!(gone.line, Some(9), "locations are kept");
        let db = anon.database.as_ref().unwrap();
        assert_eq!(
            (db.database.as_str(), db.role.as_str()),
            ("database_1", "role_1")
        );
        assert!(
            db.findings[0].advice.contains("'5min'"),
            "{}",
            db.findings[0].advice
        );
        assert!(mapping
            .names
            .iter()
            .any(|m| m.original == "accounts" && m.placeholder == "table_1"));
    }

    #[test]
    fn the_same_report_gives_the_same_output() {
        let (a, ma) = anonymize_report(&report());
        let (b, mb) = anonymize_report(&report());
        assert_eq!(everything(&a), everything(&b));
        assert_eq!(ma, mb);
    }
}
