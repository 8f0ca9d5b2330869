//! `triggers-dominate`: a trigger that takes at least `min_share` of the statement's time (and at
//! least `min_trigger_ms`), with what to do about it — above all the foreign-key check that scans
//! the referencing table once per deleted row because its columns have no index.

use super::{util, Finding, RuleCtx};
use crate::plan::model::Trigger;
use crate::plan::Plan;

/// What a trigger is, as far as the plan tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A foreign key's action on the referenced table (`RI_ConstraintTrigger_a_…`): each call
    /// looks for rows referencing the deleted or updated key.
    ReferencedSide,
    /// A foreign key's check on the referencing table (`RI_ConstraintTrigger_c_…`): each call
    /// checks that the inserted or updated row's key exists.
    ReferencingSide,
    /// A constraint's trigger whose side the plan does not tell (text format without VERBOSE
    /// prints no trigger name, and an UPDATE may fire either side).
    Constraint,
    /// A trigger of the user's own.
    Own,
}

fn kind(trigger: &Trigger, operation: Option<&str>) -> Kind {
    if trigger.name.starts_with("RI_ConstraintTrigger_a_") {
        return Kind::ReferencedSide;
    }
    if trigger.name.starts_with("RI_ConstraintTrigger_c_") {
        return Kind::ReferencingSide;
    }
    if trigger.constraint_name.is_none() {
        return Kind::Own;
    }
    // A constraint trigger named by its author (CREATE CONSTRAINT TRIGGER) is one of their own.
    if !trigger.name.is_empty() {
        return Kind::Own;
    }
    // The name is not printed (text format without VERBOSE): the statement tells which side
    // fired (a DELETE fires only the referenced side's, an INSERT only the referencing side's).
    // A user's constraint trigger prints the same way, hence the hedged wording of `Constraint`.
    match operation {
        Some("Delete") => Kind::ReferencedSide,
        Some("Insert") => Kind::ReferencingSide,
        _ => Kind::Constraint,
    }
}

pub fn check(plan: &Plan, ctx: &RuleCtx, out: &mut Vec<Finding>) {
    if plan.triggers.is_empty() {
        return;
    }
    let trigger_total: f64 = plan.triggers.iter().filter_map(|t| t.time_ms).sum();
    // Execution Time includes the AFTER triggers; without it, the plan's time plus theirs.
    let statement_ms = plan.execution_ms.or_else(|| {
        let root = plan.nodes.first()?.inclusive_ms?;
        Some(root + trigger_total)
    });
    let Some(statement_ms) = statement_ms.filter(|t| *t > 0.0) else {
        return;
    };
    let writer = plan.nodes.iter().find(|n| n.node_type == "ModifyTable");
    let operation = writer.and_then(|n| n.details().operation.as_deref());
    let (min_ms, min_share) = (ctx.threshold("min_trigger_ms"), ctx.threshold("min_share"));
    for trigger in &plan.triggers {
        let Some(time) = trigger.time_ms else {
            continue;
        };
        let share = (time / statement_ms).min(1.0);
        if time < min_ms || share < min_share {
            continue;
        }
        let kind = kind(trigger, operation);
        let mut message = format!(
            "{} took {}{}, {} of the statement's {}",
            label(trigger),
            util::ms(time),
            trigger
                .calls
                .filter(|c| *c > 0.0)
                .map(|c| format!(
                    " in {} calls ({} a call)",
                    util::whole(c),
                    util::ms(time / c)
                ))
                .unwrap_or_default(),
            util::pct(share),
            util::ms(statement_ms)
        );
        message.push_str(match kind {
            Kind::ReferencedSide => {
                ": a foreign key's check on the referenced table, which looks for the rows that \
                 reference each deleted or updated key; without an index on the referencing \
                 columns each call reads the whole referencing table"
            }
            Kind::ReferencingSide => {
                ": a foreign key's check on the referencing table, which looks up the referenced \
                 key of each inserted or updated row"
            }
            Kind::Constraint => {
                ": a constraint's trigger, once per row (for a foreign key: looking for \
                 referencing rows, or looking up the referenced key)"
            }
            Kind::Own => ": its function runs once per row",
        });
        let advice = match (kind, trigger.constraint_name.as_deref()) {
            (Kind::ReferencedSide | Kind::Constraint, Some(constraint)) => format!(
                "Index the referencing columns of {constraint}; this query names the table and \
                 its columns: `{}`. Then `CREATE INDEX CONCURRENTLY ON <that table> (<those \
                 columns>)`: each check becomes an index lookup.{}",
                referencing_columns_query(constraint),
                if kind == Kind::Constraint {
                    " If the check is the referencing side's (an INSERT or UPDATE of the table \
                     holding the foreign key), it costs a lookup per row: load in bulk, then add \
                     the constraint with NOT VALID and VALIDATE CONSTRAINT."
                } else {
                    ""
                }
            ),
            (Kind::ReferencingSide, _) => "Each row pays a lookup of its referenced key. For a \
                 bulk load, load first and add the constraint afterwards (`ALTER TABLE … ADD \
                 CONSTRAINT … NOT VALID`, then `VALIDATE CONSTRAINT`, one pass over the rows); \
                 otherwise write in fewer, larger statements."
                .to_string(),
            _ => "Look at what the trigger's function does per row (`auto_explain` with \
                 `log_nested_statements = on` logs the plans of its queries), or make it a \
                 statement-level trigger with transition tables (`REFERENCING NEW TABLE AS …`), \
                 which does the work once per statement."
                .to_string(),
        };
        let mut b = ctx
            .finding(plan, writer.map(|n| n.id))
            .message(message)
            .advice(advice)
            .evidence("time_ms", util::round_to(time, 3))
            .evidence("share", util::round_to(share, 4))
            .evidence("statement_ms", util::round_to(statement_ms, 3));
        if !trigger.name.is_empty() {
            b = b.evidence("trigger", trigger.name.as_str());
        }
        if let Some(c) = &trigger.constraint_name {
            b = b.evidence("constraint", c.as_str());
        }
        if let Some(r) = &trigger.relation {
            b = b.evidence("relation", r.as_str());
        }
        if let Some(c) = trigger.calls {
            b = b.evidence("calls", c);
        }
        b.push(out);
    }
}

/// `Trigger RI_ConstraintTrigger_a_16398 for constraint child_parent_id_fkey on parent`, as
/// EXPLAIN's text format prints it (the parts the plan has).
fn label(t: &Trigger) -> String {
    let mut s = String::from("Trigger");
    if !t.name.is_empty() {
        s.push(' ');
        s.push_str(&t.name);
    }
    if let Some(c) = &t.constraint_name {
        s.push_str(" for constraint ");
        s.push_str(c);
    }
    if let Some(r) = &t.relation {
        s.push_str(" on ");
        s.push_str(r);
    }
    s
}

/// The catalog query that names a foreign key's referencing table and columns, in key order.
fn referencing_columns_query(constraint: &str) -> String {
    format!(
        "SELECT c.conrelid::regclass AS referencing_table, string_agg(a.attname, ', ' ORDER BY \
         k.n) AS columns FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY AS k(attnum, n), \
         pg_attribute a WHERE c.conname = '{}' AND a.attrelid = c.conrelid AND a.attnum = \
         k.attnum GROUP BY 1",
        constraint.replace('\'', "''")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::check_one;
    use crate::rules::util::testing::{fixture, plan_of};

    #[test]
    fn fires_on_a_foreign_key_without_an_index_on_the_referencing_side() {
        let plan = fixture("triggers-dominate", "fire");
        let f = check_one(&plan, "P013");
        assert_eq!(f.len(), 1, "{f:#?}");
        let f = &f[0];
        assert_eq!(f.node, Some(0), "points at the Delete");
        assert_eq!(f.evidence["constraint"], "child_parent_id_fkey");
        assert_eq!(f.evidence["relation"], "parent");
        assert_eq!(f.evidence["calls"], 200.0);
        assert!(
            f.evidence["share"].as_f64().unwrap() > 0.9,
            "{:?}",
            f.evidence
        );
        assert!(
            f.message.starts_with(
                "Trigger RI_ConstraintTrigger_a_16398 for constraint child_parent_id_fkey on parent took"
            ),
            "{}",
            f.message
        );
        assert!(f.message.contains("in 200 calls"), "{}", f.message);
        assert!(f.message.contains("referenced table"), "{}", f.message);
        assert!(
            f.advice
                .contains("WHERE c.conname = 'child_parent_id_fkey'"),
            "{}",
            f.advice
        );
        assert!(
            f.advice.contains("CREATE INDEX CONCURRENTLY"),
            "{}",
            f.advice
        );
    }

    #[test]
    fn quiet_when_the_referencing_columns_are_indexed() {
        // The same delete, 200 calls: 1.7 ms in all (84 % of a 2 ms statement, under min_trigger_ms).
        assert!(check_one(&fixture("triggers-dominate", "quiet"), "P013").is_empty());
    }

    #[test]
    fn the_text_form_without_trigger_names_is_told_by_the_statement() {
        let delete = "Delete on parent  (cost=0.28..12.78 rows=0 width=0) (actual time=0.233..0.233 rows=0 loops=1)\n\
             \x20 ->  Index Scan using parent_pkey on parent  (cost=0.28..12.78 rows=200 width=6) (actual time=0.024..0.050 rows=200 loops=1)\n\
             Planning Time: 0.386 ms\n\
             Trigger for constraint child_parent_id_fkey: time=571.411 calls=200\n\
             Execution Time: 571.849 ms\n";
        let f = check_one(&plan_of(delete), "P013");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("referenced table"),
            "{}",
            f[0].message
        );
        assert!(f[0].advice.contains("CREATE INDEX CONCURRENTLY"));
        assert!(!f[0].evidence.contains_key("trigger"));

        let insert = delete
            .replace("Delete on parent", "Insert on child")
            .replace(
                "child_parent_id_fkey: time=571.411",
                "child_parent_id_fkey: time=400.0",
            );
        let f = check_one(&plan_of(&insert), "P013");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].message.contains("referencing table"),
            "{}",
            f[0].message
        );
        assert!(f[0].advice.contains("NOT VALID"), "{}", f[0].advice);

        let update = delete.replace("Delete on parent", "Update on parent");
        let f = check_one(&plan_of(&update), "P013");
        assert!(
            f[0].message.contains("a constraint's trigger"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].advice.contains("CREATE INDEX CONCURRENTLY") && f[0].advice.contains("NOT VALID")
        );
    }

    #[test]
    fn a_trigger_of_ones_own_gets_advice_about_its_function() {
        let text = "Insert on t  (cost=0.00..0.01 rows=0 width=0) (actual time=1.0..1.0 rows=0 loops=1)\n\
             \x20 ->  Result  (cost=0.00..0.01 rows=1 width=4) (actual time=0.001..0.001 rows=1000 loops=1)\n\
             Trigger audit_t: time=90.000 calls=1000\n\
             Execution Time: 100.000 ms\n";
        let f = check_one(&plan_of(text), "P013");
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(f[0].message.starts_with("Trigger audit_t took 90.0 ms in 1000 calls (0.090 ms a call), 90.0% of the statement's 100 ms: its function runs once per row"), "{}", f[0].message);
        assert!(
            f[0].advice.contains("log_nested_statements"),
            "{}",
            f[0].advice
        );
    }

    #[test]
    fn thresholds_gate() {
        let mut plan = fixture("triggers-dominate", "fire");
        let time = plan.triggers[0].time_ms.unwrap();
        // A smaller share of the statement than min_share.
        plan.execution_ms = Some(time / 0.29);
        assert!(check_one(&plan, "P013").is_empty(), "below min_share");
        plan.execution_ms = Some(time / 0.31);
        assert_eq!(check_one(&plan, "P013").len(), 1, "above min_share");
        plan.triggers[0].time_ms = Some(9.9);
        plan.execution_ms = Some(10.0);
        assert!(check_one(&plan, "P013").is_empty(), "below min_trigger_ms");
        // No execution time: the plan's time plus the triggers'.
        plan.triggers[0].time_ms = Some(time);
        plan.execution_ms = None;
        assert_eq!(
            check_one(&plan, "P013").len(),
            1,
            "share of plan + triggers"
        );
    }

    #[test]
    fn a_quote_in_a_constraint_name_is_doubled_in_the_query() {
        assert!(referencing_columns_query("it's").contains("conname = 'it''s'"));
    }
}
