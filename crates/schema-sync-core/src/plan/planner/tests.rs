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

/// The plan's steps as text, in order.
fn steps(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Vec<String> {
    let plan = DefaultPlanner
        .plan(from, to, &DefaultDiffCalculator.diff(from, to))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut applied = from.clone();
    plan.apply_to(&mut applied)
        .unwrap_or_else(|e| panic!("the plan does not apply: {e}"));
    assert_eq!(&applied, to, "the plan does not reach the target");
    plan.steps.iter().map(|s| s.operation.to_string()).collect()
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
