//! Tests of the default planner.

use crate::diff::{DefaultDiffCalculator, DiffCalculator};
use crate::plan::{DefaultPlanner, Planner};
use crate::snapshot::{Function, Policy, SchemaSnapshot};
use crate::testing::{TableBuilder, snapshot};

#[test]
fn foreign_keys_between_new_tables_follow_both_tables() {
    let from = SchemaSnapshot::empty();
    let to = snapshot([
        (
            "a",
            TableBuilder::new()
                .column("id", "integer", true)
                .primary_key(&["id"])
                .index("a_idx", &["id"])
                .build(),
        ),
        (
            "b",
            TableBuilder::new()
                .column("id", "integer", true)
                .column("a_id", "integer", false)
                .foreign_key("b_a_fk", &["a_id"], "a", &["id"])
                .build(),
        ),
    ]);
    let plan = DefaultPlanner
        .plan(&from, &to, &DefaultDiffCalculator.diff(&from, &to))
        .unwrap_or_else(|e| panic!("{e}"));
    let described: Vec<(String, Vec<usize>)> = plan
        .steps
        .iter()
        .map(|s| (s.operation.to_string(), s.depends_on.clone()))
        .collect();
    assert_eq!(
        described,
        [
            ("create table a (1 column)".to_string(), vec![]),
            ("create table b (2 columns)".to_string(), vec![]),
            ("create index a_idx on a".to_string(), vec![0]),
            (
                "add foreign key b_a_fk on b (a_id) -> a".to_string(),
                vec![1, 2]
            ),
        ]
    );
}

/// The plan from `from` to `to`, each step as it prints, checked to reach `to` in memory.
fn steps(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Vec<String> {
    let plan = DefaultPlanner
        .plan(from, to, &DefaultDiffCalculator.diff(from, to))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut applied = from.clone();
    plan.apply_to(&mut applied)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        DefaultDiffCalculator.diff(&applied, to).is_empty(),
        "the plan does not reach the target"
    );
    plan.steps.iter().map(|s| s.operation.to_string()).collect()
}

fn with_table(table: crate::snapshot::Table) -> SchemaSnapshot {
    snapshot([("t", table)])
}

fn base_table() -> crate::snapshot::Table {
    TableBuilder::new()
        .column("id", "integer", true)
        .primary_key(&["id"])
        .index("t_idx", &["id"])
        .build()
}

#[test]
fn a_comment_only_change_is_set_in_place_not_rebuilt() {
    let from = with_table(base_table());
    let mut table = base_table();
    if let Some(index) = table.indexes.get_mut("t_idx") {
        index.comment = Some("lookup".into());
    }
    let to = with_table(table);
    assert_eq!(
        steps(&from, &to),
        ["set comment on index t_idx on t to 'lookup'"]
    );
    assert_eq!(
        steps(&to, &from),
        ["remove the comment on index t_idx on t"]
    );
}

#[test]
fn a_trigger_state_change_is_made_in_place() {
    use crate::snapshot::{Trigger, TriggerEnabled};
    let trigger = Trigger {
        definition: "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()".into(),
        ..Trigger::default()
    };
    let mut live = base_table();
    live.triggers.insert("tr".into(), trigger.clone());
    let mut target = live.clone();
    target.triggers.insert(
        "tr".into(),
        Trigger {
            enabled: TriggerEnabled::Disabled,
            comment: Some("paused".into()),
            ..trigger
        },
    );
    assert_eq!(
        steps(&with_table(live), &with_table(target)),
        [
            "trigger tr on t: enabled -> disabled",
            "set comment on trigger tr on t to 'paused'"
        ]
    );
}

#[test]
fn not_valid_constraints_are_validated_and_a_valid_one_satisfies_a_not_valid_target() {
    use crate::snapshot::CheckConstraint;
    let check = |not_valid| CheckConstraint {
        expression: "(id > 0)".into(),
        not_valid,
        comment: None,
    };
    let mut live = base_table();
    live.checks.insert("t_id_check".into(), check(true));
    let mut target = base_table();
    target.checks.insert("t_id_check".into(), check(false));
    assert_eq!(
        steps(&with_table(live.clone()), &with_table(target.clone())),
        ["validate constraint t_id_check on t"]
    );
    let diff = DefaultDiffCalculator.diff(&with_table(target), &with_table(live));
    assert!(diff.is_empty(), "{diff:?}");
}

#[test]
fn a_materialized_view_keeps_its_data_when_only_indexes_and_comments_change() {
    use crate::snapshot::{IndexPart, View};
    let table = base_table();
    let live_view = View {
        definition: "SELECT id FROM t".into(),
        materialized: true,
        depends_on: ["t".to_string()].into(),
        ..View::default()
    };
    let mut target_view = live_view.clone();
    target_view.comment = Some("daily totals".into());
    target_view
        .column_comments
        .insert("id".into(), "the key".into());
    target_view.indexes.insert(
        "mv_id".into(),
        crate::snapshot::Index {
            parts: vec![IndexPart::column("id")],
            unique: true,
            comment: Some("refresh concurrently".into()),
            ..Default::default()
        },
    );
    let mut from = with_table(table.clone());
    from.views.insert("mv".into(), live_view);
    let mut to = with_table(table);
    to.views.insert("mv".into(), target_view);
    assert_eq!(
        steps(&from, &to),
        [
            "create unique index mv_id on mv",
            "set comment on materialized view mv to 'daily totals'",
            "set comment on column mv.id to 'the key'",
            "set comment on index mv_id on mv to 'refresh concurrently'",
        ]
    );
}

#[test]
fn created_objects_get_their_comments_after_they_exist() {
    let mut table = base_table();
    if let Some(index) = table.indexes.get_mut("t_idx") {
        index.comment = Some("lookup".into());
    }
    if let Some(key) = table.primary_key.as_mut() {
        key.name = Some("t_pkey".into());
        key.comment = Some("identity".into());
    }
    let to = with_table(table);
    assert_eq!(
        steps(&SchemaSnapshot::empty(), &to),
        [
            "create table t (1 column)",
            "create index t_idx on t",
            "set comment on constraint t_pkey on t to 'identity'",
            "set comment on index t_idx on t to 'lookup'",
        ]
    );
}

#[test]
fn a_view_stays_when_a_column_it_reads_changes_only_its_comment() {
    use crate::snapshot::View;
    let view = View {
        definition: "SELECT id FROM t".into(),
        depends_on: ["t".to_string()].into(),
        ..View::default()
    };
    let mut from = with_table(base_table());
    from.views.insert("v".into(), view.clone());
    let mut to = from.clone();
    if let Some(column) = to.tables.get_mut("t").and_then(|t| t.columns.get_mut("id")) {
        column.comment = Some("the key".into());
    }
    let planned = steps(&from, &to);
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert!(planned[0].starts_with("alter column t.id"), "{planned:?}");
}

fn policy(using: &str) -> Policy {
    Policy {
        roles: vec!["public".into()],
        using: Some(using.into()),
        ..Policy::default()
    }
}

#[test]
fn policies_of_a_new_table_come_after_functions_and_policies_are_dropped_first() {
    let mut accounts = TableBuilder::new()
        .column("id", "integer", true)
        .column("tenant_id", "integer", true)
        .build();
    accounts
        .policies
        .insert("by_tenant".into(), policy("(tenant_id = current_tenant())"));
    accounts.options.row_security = true;
    let mut to = snapshot([("accounts", accounts.clone())]);
    to.functions.insert(
        "current_tenant()".into(),
        Function {
            definition: "CREATE FUNCTION current_tenant() ...".into(),
            comment: None,
        },
    );
    assert_eq!(
        steps(&SchemaSnapshot::empty(), &to),
        [
            "create function current_tenant()",
            "create table accounts (2 columns)",
            "create policy by_tenant on accounts",
        ]
    );

    // A changed policy and a removed one are dropped before anything else of the table.
    let mut from = to.clone();
    let live = from.tables.get_mut("accounts").unwrap_or_else(|| panic!());
    live.policies
        .insert("by_tenant".into(), policy("(tenant_id = 0)"));
    live.policies.insert("stray".into(), policy("true"));
    live.indexes.insert(
        "stray_idx".into(),
        TableBuilder::new()
            .index("stray_idx", &["id"])
            .build()
            .indexes["stray_idx"]
            .clone(),
    );
    assert_eq!(
        steps(&from, &to),
        [
            "drop policy by_tenant on accounts",
            "drop policy stray on accounts",
            "drop index stray_idx on accounts",
            "create policy by_tenant on accounts",
        ]
    );
}

#[test]
fn unchanged_policies_step_aside_while_a_column_of_their_table_changes_type() {
    let table = |tenant_type: &str| {
        let mut t = TableBuilder::new()
            .column("id", "integer", true)
            .column("tenant_id", tenant_type, true)
            .build();
        t.policies
            .insert("by_tenant".into(), policy("(tenant_id = 1)"));
        t
    };
    let from = snapshot([("accounts", table("bigint"))]);
    let to = snapshot([("accounts", table("integer"))]);
    assert_eq!(
        steps(&from, &to),
        [
            "drop policy by_tenant on accounts",
            "alter column accounts.tenant_id: type bigint -> integer",
            "create policy by_tenant on accounts",
        ]
    );
}
