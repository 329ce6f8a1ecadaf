//! Property tests of the models: hashing, diffing and planning.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::diff::{DefaultDiffCalculator, DiffCalculator, SchemaDiff};
use crate::plan::{DefaultPlanner, MigrationPlan, Planner};
use crate::snapshot::*;

const TABLES: &[&str] = &["accounts", "orders", "items", "tags", "audit"];
const COLUMNS: &[&str] = &["id", "name", "amount", "owner", "created", "note"];
const TYPES: &[&str] = &["integer", "bigint", "text", "varchar", "status", "kind"];
const ENUMS: &[&str] = &["status", "kind"];
const VIEWS: &[&str] = &["active_orders", "summary"];

fn column() -> impl Strategy<Value = Column> {
    (
        prop::sample::select(TYPES),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["0", "'x'", "now()"][..])),
        prop::option::of(prop::sample::select(&["a comment", "another"][..])),
    )
        .prop_map(|(ty, nullable, default, comment)| {
            let mut data_type = DataType::named(ty);
            if ty == "varchar" {
                data_type.length = Some(if nullable { 50 } else { 255 });
            }
            Column {
                position: 0,
                data_type,
                nullable,
                default: default.map(str::to_string),
                identity: None,
                generated: None,
                collation: None,
                on_update: None,
                comment: comment.map(str::to_string),
            }
        })
}

fn raw_table() -> impl Strategy<Value = (Table, Vec<(String, usize, usize)>)> {
    (
        prop::collection::btree_map(
            prop::sample::select(COLUMNS).prop_map(str::to_string),
            column(),
            1..5,
        ),
        any::<bool>(),
        prop::collection::vec((0usize..6, 0usize..6, any::<bool>()), 0..3),
        prop::collection::vec((0usize..5, 0usize..6, 0usize..6), 0..2),
        prop::option::of(prop::sample::select(&["orders > 0", "amount >= 0"][..])),
        prop::collection::vec(any::<u8>(), 5),
    )
        .prop_map(
            |(columns, with_pk, index_specs, fk_specs, check, order_keys)| {
                let names: Vec<String> = columns.keys().cloned().collect();
                let mut table = Table {
                    columns,
                    ..Table::default()
                };
                // Column order is part of the schema: draw it independently of the names.
                let mut order = names.clone();
                order.sort_by_key(|name| {
                    let i = names.iter().position(|n| n == name).unwrap_or(0);
                    (order_keys[i % order_keys.len()], i)
                });
                table.set_column_order(&order);
                if with_pk {
                    table.primary_key = Some(PrimaryKey {
                        name: None,
                        columns: vec![names[0].clone()],
                    });
                }
                for (i, (a, b, unique)) in index_specs.into_iter().enumerate() {
                    let mut parts = vec![IndexPart::column(names[a % names.len()].clone())];
                    if b % 2 == 0 {
                        parts.push(IndexPart::Expression {
                            sql: format!("lower({})", names[b % names.len()]),
                            descending: b % 3 == 0,
                        });
                    }
                    let index = Index {
                        parts,
                        unique,
                        method: None,
                        predicate: None,
                        include: Vec::new(),
                        invisible: false,
                    };
                    table.indexes.insert(format!("idx_{i}"), index);
                }
                if unique_worthy(&names) {
                    table.uniques.insert(
                        "uq_last".into(),
                        UniqueConstraint {
                            columns: vec![names[names.len() - 1].clone()],
                            nulls_not_distinct: false,
                            deferrable: Deferrable::NotDeferrable,
                        },
                    );
                }
                if let Some(check) = check {
                    table.checks.insert(
                        "chk".into(),
                        CheckConstraint {
                            expression: check.into(),
                        },
                    );
                }
                let fks = fk_specs
                    .into_iter()
                    .map(|(t, c, rc)| (names[c % names.len()].clone(), t, rc))
                    .collect();
                (table, fks)
            },
        )
}

fn unique_worthy(names: &[String]) -> bool {
    names.len() > 2
}

/// A valid snapshot: foreign keys, views and enum-typed columns only name objects that exist.
fn snapshot_strategy() -> impl Strategy<Value = SchemaSnapshot> {
    (
        prop::collection::btree_map(
            prop::sample::select(TABLES).prop_map(str::to_string),
            raw_table(),
            0..5,
        ),
        prop::collection::btree_map(
            prop::sample::select(ENUMS).prop_map(str::to_string),
            prop::collection::vec(
                prop::sample::select(&["a", "b", "c", "d"][..]).prop_map(str::to_string),
                1..4,
            ),
            0..3,
        ),
        prop::collection::btree_map(
            prop::sample::select(VIEWS).prop_map(str::to_string),
            (0usize..5, 0usize..5, any::<bool>()),
            0..3,
        ),
        prop::collection::btree_map(
            prop::sample::select(&["seq_a", "seq_b"][..]).prop_map(str::to_string),
            1i64..100,
            0..2,
        ),
    )
        .prop_map(|(raw_tables, enums, views, sequences)| {
            let mut snapshot = SchemaSnapshot::empty();
            snapshot.enums = enums
                .into_iter()
                .map(|(name, values)| {
                    let values: Vec<String> = values
                        .into_iter()
                        .collect::<BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    (name, EnumType { values })
                })
                .collect();
            let table_names: Vec<String> = raw_tables.keys().cloned().collect();
            let mut fk_specs = BTreeMap::new();
            for (name, (mut table, fks)) in raw_tables {
                for column in table.columns.values_mut() {
                    if ENUMS.contains(&column.data_type.name.as_str())
                        && !snapshot.enums.contains_key(&column.data_type.name)
                    {
                        column.data_type = DataType::named("text");
                    }
                }
                fk_specs.insert(name.clone(), fks);
                snapshot.tables.insert(name, table);
            }
            for (name, fks) in fk_specs {
                for (i, (column, target, ref_column)) in fks.into_iter().enumerate() {
                    let target_name = table_names[target % table_names.len()].clone();
                    let target_columns: Vec<String> = snapshot.tables[&target_name]
                        .columns
                        .keys()
                        .cloned()
                        .collect();
                    let fk = ForeignKey {
                        columns: vec![column],
                        referenced_schema: None,
                        referenced_table: target_name,
                        referenced_columns: vec![
                            target_columns[ref_column % target_columns.len()].clone(),
                        ],
                        on_delete: if i % 2 == 0 {
                            ForeignKeyAction::Cascade
                        } else {
                            ForeignKeyAction::NoAction
                        },
                        on_update: ForeignKeyAction::NoAction,
                        deferrable: Deferrable::NotDeferrable,
                    };
                    if let Some(table) = snapshot.tables.get_mut(&name) {
                        table.foreign_keys.insert(format!("fk_{i}"), fk);
                    }
                }
            }
            for (name, (a, b, materialized)) in views {
                if table_names.is_empty() {
                    break;
                }
                let depends_on: BTreeSet<String> = [
                    &table_names[a % table_names.len()],
                    &table_names[b % table_names.len()],
                ]
                .into_iter()
                .cloned()
                .collect();
                let definition = format!(
                    "SELECT * FROM {}",
                    depends_on.iter().cloned().collect::<Vec<_>>().join(", ")
                );
                snapshot.views.insert(
                    name,
                    View {
                        definition,
                        materialized,
                        depends_on,
                        comment: None,
                    },
                );
            }
            // The second view may read the first.
            if let (Some(first), true) = (
                snapshot.views.keys().next().cloned(),
                snapshot.views.len() > 1,
            ) && let Some(last) = snapshot.views.values_mut().last()
            {
                last.depends_on.insert(first);
            }
            snapshot.sequences = sequences
                .into_iter()
                .map(|(name, start)| {
                    let sequence = Sequence {
                        data_type: DataType::named("bigint"),
                        start,
                        increment: 1,
                        min_value: 1,
                        max_value: i64::MAX,
                        cache: 1,
                        cycle: false,
                        owned_by: None,
                    };
                    (name, sequence)
                })
                .collect();
            snapshot
        })
}

fn plan(a: &SchemaSnapshot, b: &SchemaSnapshot) -> (SchemaDiff, MigrationPlan) {
    let diff = DefaultDiffCalculator.diff(a, b);
    let plan = DefaultPlanner
        .plan(a, b, &diff)
        .unwrap_or_else(|e| panic!("planning failed: {e}"));
    (diff, plan)
}

/// Rebuilds a snapshot with every map filled in reverse key order.
fn reinserted(s: &SchemaSnapshot) -> SchemaSnapshot {
    fn rev<T: Clone>(m: &BTreeMap<String, T>) -> BTreeMap<String, T> {
        let mut out = BTreeMap::new();
        for (k, v) in m.iter().rev() {
            out.insert(k.clone(), v.clone());
        }
        out
    }
    let mut out = s.clone();
    out.tables = BTreeMap::new();
    for (name, table) in s.tables.iter().rev() {
        let mut t = table.clone();
        t.columns = rev(&table.columns);
        t.indexes = rev(&table.indexes);
        t.foreign_keys = rev(&table.foreign_keys);
        out.tables.insert(name.clone(), t);
    }
    out.views = rev(&s.views);
    out.enums = rev(&s.enums);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hash_is_independent_of_insertion_order(s in snapshot_strategy()) {
        prop_assert_eq!(s.hash(), reinserted(&s).hash());
    }

    #[test]
    fn diff_of_a_snapshot_with_itself_is_empty(s in snapshot_strategy()) {
        let (diff, plan) = plan(&s, &s);
        prop_assert!(diff.is_empty());
        prop_assert!(plan.is_empty());
    }

    #[test]
    fn applying_the_plan_reaches_the_target(a in snapshot_strategy(), b in snapshot_strategy()) {
        let (diff, plan) = plan(&a, &b);
        let mut applied = a.clone();
        if let Err(e) = plan.apply_to(&mut applied) {
            prop_assert!(false, "{e}\nplan:\n{}", plan.steps.iter().map(|s| s.operation.to_string()).collect::<Vec<_>>().join("\n"));
        }
        prop_assert_eq!(applied.hash(), b.hash());
        prop_assert_eq!(&applied, &b);
        prop_assert_eq!(diff.is_empty(), a == b);
        for (i, step) in plan.steps.iter().enumerate() {
            prop_assert!(step.depends_on.iter().all(|d| *d < i), "dependencies point backwards");
        }
    }

    #[test]
    fn json_round_trip_is_lossless(a in snapshot_strategy(), b in snapshot_strategy()) {
        let (diff, plan) = plan(&a, &b);
        let back: SchemaSnapshot = serde_json::from_str(&a.to_pretty_json()).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(&back, &a);
        let diff_back: SchemaDiff = serde_json::from_str(&serde_json::to_string(&diff).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(&diff_back, &diff);
        let plan_back: MigrationPlan = serde_json::from_str(&serde_json::to_string(&plan).unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
        prop_assert_eq!(&plan_back, &plan);
    }
}
