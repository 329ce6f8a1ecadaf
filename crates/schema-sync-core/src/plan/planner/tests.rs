//! Tests of the default planner.

use crate::diff::{DefaultDiffCalculator, DiffCalculator};
use crate::plan::{DefaultPlanner, Planner};
use crate::snapshot::SchemaSnapshot;
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
