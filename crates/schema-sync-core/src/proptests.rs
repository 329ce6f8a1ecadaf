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
        any::<bool>(),
    )
        .prop_map(|(ty, nullable, default, comment, invisible)| {
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
                invisible,
                compressed: false,
                srid: None,
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
                        comment: None,
                    });
                }
                for (i, (a, b, unique)) in index_specs.into_iter().enumerate() {
                    let mut parts = vec![IndexPart::column(names[a % names.len()].clone())];
                    if b % 2 == 0 {
                        parts.push(IndexPart::Expression {
                            sql: format!("lower({})", names[b % names.len()]),
                            descending: b % 3 == 0,
                            options: Default::default(),
                        });
                    }
                    let index = Index {
                        parts,
                        unique,
                        method: None,
                        predicate: None,
                        include: Vec::new(),
                        invisible: false,
                        ..Default::default()
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
                            comment: None,
                        },
                    );
                }
                if let Some(check) = check {
                    table.checks.insert(
                        "chk".into(),
                        CheckConstraint {
                            expression: check.into(),
                            ..Default::default()
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
                    (
                        name,
                        EnumType {
                            values,
                            comment: None,
                        },
                    )
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
                        ..Default::default()
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
                        ..Default::default()
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
                        comment: None,
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

/// The snapshot's JSON with every object's keys in an order drawn from `seed` (or in
/// alphabetical order, never the canonical field order, when `seed` is `None`), and the elements of set-valued arrays (`depends_on`,
/// `unsupported`) shuffled too: what a file written by another tool, another version or a
/// person could look like.
fn permuted_json(snapshot: &SchemaSnapshot, seed: Option<u64>) -> String {
    fn rank(seed: Option<u64>, key: &str, index: usize) -> u64 {
        match seed {
            None => index as u64,
            Some(seed) => {
                let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
                for b in key.bytes().chain(index.to_le_bytes()) {
                    h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
                h
            }
        }
    }
    fn write(value: &serde_json::Value, seed: Option<u64>, set: bool, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(usize, (&String, &serde_json::Value))> =
                    map.iter().enumerate().collect();
                entries.sort_by_key(|(i, (k, _))| rank(seed, k, *i));
                out.push('{');
                for (n, (_, (key, value))) in entries.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(
                        value,
                        seed,
                        key == "depends_on" || key == "unsupported",
                        out,
                    );
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                let mut items: Vec<(usize, &serde_json::Value)> =
                    items.iter().enumerate().collect();
                if set {
                    items.sort_by_key(|(i, item)| rank(seed, &item.to_string(), *i));
                }
                out.push('[');
                for (n, (_, item)) in items.into_iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    write(item, seed, false, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let value = serde_json::to_value(snapshot).unwrap_or_else(|e| panic!("{e}"));
    let mut out = String::new();
    write(&value, seed, false, &mut out);
    out
}

/// Every single-field change this module knows how to make to `s`, by name: each result
/// differs from `s` in exactly one field (or one map key). Changes that do not apply to
/// `s` (no table with two columns, no view, ...) are left out.
fn single_field_changes(s: &SchemaSnapshot) -> Vec<(&'static str, SchemaSnapshot)> {
    type Change = fn(&mut SchemaSnapshot) -> Option<()>;
    fn first_table(s: &mut SchemaSnapshot) -> Option<&mut Table> {
        s.tables.values_mut().next()
    }
    fn first_column(s: &mut SchemaSnapshot) -> Option<&mut Column> {
        first_table(s)?.columns.values_mut().next()
    }
    let changes: &[(&str, Change)] = &[
        ("format version", |s| {
            s.version += 1;
            Some(())
        }),
        ("column position (two columns swap places)", |s| {
            let table = s.tables.values_mut().find(|t| t.columns.len() > 1)?;
            let mut order: Vec<String> = table
                .column_order()
                .into_iter()
                .map(str::to_string)
                .collect();
            order.swap(0, 1);
            table.set_column_order(&order);
            Some(())
        }),
        ("column position (one number)", |s| {
            first_column(s)?.position += 100;
            Some(())
        }),
        ("column nullability", |s| {
            let c = first_column(s)?;
            c.nullable = !c.nullable;
            Some(())
        }),
        ("column type", |s| {
            let c = first_column(s)?;
            c.data_type.name.push_str("_x");
            Some(())
        }),
        ("column length", |s| {
            let c = first_column(s)?;
            c.data_type.length = Some(c.data_type.length.map_or(1, |l| l + 1));
            Some(())
        }),
        ("column default", |s| {
            let c = first_column(s)?;
            c.default = Some(format!("{}1", c.default.clone().unwrap_or_default()));
            Some(())
        }),
        ("column comment", |s| {
            let c = first_column(s)?;
            c.comment = Some(format!("{}!", c.comment.clone().unwrap_or_default()));
            Some(())
        }),
        ("column collation", |s| {
            first_column(s)?.collation = Some("C".into());
            Some(())
        }),
        ("column name", |s| {
            let t = first_table(s)?;
            let (name, column) = t.columns.pop_first()?;
            t.columns.insert(format!("{name}_renamed"), column);
            Some(())
        }),
        ("table name", |s| {
            let (name, table) = s.tables.pop_first()?;
            s.tables.insert(format!("{name}_renamed"), table);
            Some(())
        }),
        ("table comment", |s| {
            first_table(s)?.comment = Some("changed".into());
            Some(())
        }),
        ("table options", |s| {
            first_table(s)?.options.engine = Some("MyISAM".into());
            Some(())
        }),
        ("primary key", |s| {
            let t = first_table(s)?;
            t.primary_key = match t.primary_key.take() {
                Some(_) => None,
                None => Some(PrimaryKey {
                    name: None,
                    columns: vec![t.columns.keys().next()?.clone()],
                    comment: None,
                }),
            };
            Some(())
        }),
        ("index uniqueness", |s| {
            let index = s
                .tables
                .values_mut()
                .find_map(|t| t.indexes.values_mut().next())?;
            index.unique = !index.unique;
            Some(())
        }),
        ("foreign key action", |s| {
            let fk = s
                .tables
                .values_mut()
                .find_map(|t| t.foreign_keys.values_mut().next())?;
            fk.on_delete = if fk.on_delete == ForeignKeyAction::Restrict {
                ForeignKeyAction::SetNull
            } else {
                ForeignKeyAction::Restrict
            };
            Some(())
        }),
        ("check expression", |s| {
            let check = s
                .tables
                .values_mut()
                .find_map(|t| t.checks.values_mut().next())?;
            check.expression.push_str(" and true");
            Some(())
        }),
        ("trigger", |s| {
            first_table(s)?.triggers.insert(
                "trg".into(),
                Trigger {
                    definition: "t".into(),
                    ..Default::default()
                },
            );
            Some(())
        }),
        ("view definition", |s| {
            s.views
                .values_mut()
                .next()?
                .definition
                .push_str(" WHERE true");
            Some(())
        }),
        ("view materialization", |s| {
            let v = s.views.values_mut().next()?;
            v.materialized = !v.materialized;
            Some(())
        }),
        ("view dependency", |s| {
            s.views
                .values_mut()
                .next()?
                .depends_on
                .insert("elsewhere".into());
            Some(())
        }),
        ("enum label", |s| {
            s.enums.values_mut().next()?.values.push("z".into());
            Some(())
        }),
        ("enum label order", |s| {
            let e = s.enums.values_mut().find(|e| e.values.len() > 1)?;
            e.values.swap(0, 1);
            Some(())
        }),
        ("sequence start", |s| {
            s.sequences.values_mut().next()?.start += 1;
            Some(())
        }),
        ("function", |s| {
            s.functions.insert(
                "f()".into(),
                Function {
                    definition: "create function f()".into(),
                    comment: None,
                },
            );
            Some(())
        }),
        ("extension", |s| {
            s.extensions.insert("citext".into(), Extension::default());
            Some(())
        }),
        ("unmodelled object", |s| {
            s.unsupported.insert(UnsupportedObject::new("rule", "r"));
            Some(())
        }),
    ];
    changes
        .iter()
        .filter_map(|(name, change)| {
            let mut changed = s.clone();
            change(&mut changed).map(|()| (*name, changed))
        })
        .collect()
}

proptest! {
    // 256 cases, or PROPTEST_CASES (`with_cases` would ignore the environment).
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn hash_is_independent_of_key_order_in_the_file(s in snapshot_strategy(), seed in any::<u64>()) {
        let canonical = s.canonical_json();
        for seed in [None, Some(seed)] {
            let text = permuted_json(&s, seed);
            if seed.is_none() {
                prop_assert_ne!(&text, &canonical, "sorting the keys changed nothing");
            }
            let back = SchemaSnapshot::from_json(&text, "permuted.json")
                .unwrap_or_else(|e| panic!("{e}\n{text}"));
            prop_assert_eq!(&back, &s);
            prop_assert_eq!(back.canonical_json(), canonical.clone());
            prop_assert_eq!(back.hash(), s.hash());
        }
    }

    #[test]
    fn any_single_field_change_changes_the_hash(s in snapshot_strategy()) {
        for (field, changed) in single_field_changes(&s) {
            prop_assert_ne!(&changed, &s, "changing the {} changed nothing", field);
            prop_assert_ne!(changed.hash(), s.hash(), "the hash ignores the {}", field);
        }
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

/// Every change of [`single_field_changes`] applies to a snapshot with every kind of
/// object, so the property above cannot quietly skip one.
#[test]
fn every_single_field_change_applies_to_a_full_snapshot() {
    use crate::testing::{TableBuilder, snapshot};
    let mut orders = TableBuilder::new()
        .column("id", "integer", true)
        .column("account", "integer", false)
        .primary_key(&["id"])
        .index("orders_account", &["account"])
        .foreign_key("orders_account_fk", &["account"], "accounts", &["id"])
        .build();
    orders.checks.insert(
        "positive".into(),
        CheckConstraint {
            expression: "id > 0".into(),
            ..Default::default()
        },
    );
    let accounts = TableBuilder::new().column("id", "integer", true).build();
    let mut s = snapshot([("orders", orders), ("accounts", accounts)]);
    s.views.insert(
        "open_orders".into(),
        View {
            definition: "SELECT * FROM orders".into(),
            materialized: false,
            depends_on: ["orders".to_string()].into(),
            comment: None,
            ..Default::default()
        },
    );
    s.enums.insert(
        "status".into(),
        EnumType {
            values: vec!["a".into(), "b".into()],
            comment: None,
        },
    );
    s.sequences.insert(
        "seq".into(),
        Sequence {
            data_type: DataType::named("bigint"),
            start: 1,
            increment: 1,
            min_value: 1,
            max_value: i64::MAX,
            cache: 1,
            cycle: false,
            owned_by: None,
            comment: None,
        },
    );
    let changes = single_field_changes(&s);
    assert_eq!(
        changes.len(),
        27,
        "{:?}",
        changes.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    let mut hashes: BTreeSet<SnapshotHash> = changes.iter().map(|(_, c)| c.hash()).collect();
    hashes.insert(s.hash());
    assert_eq!(hashes.len(), changes.len() + 1, "two changes hash alike");
}
