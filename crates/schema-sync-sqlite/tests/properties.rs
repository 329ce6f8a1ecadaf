//! Property: for random schemas A and B, a tenant created from A and synced to B inspects
//! exactly equal to B, on real SQLite files.

mod common;

use common::SqliteFleet;
use proptest::prelude::*;
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{DatabaseAdapter, Engine, SyncOptions};

const TABLES: &[&str] = &["alpha", "beta", "gamma", "delta"];
const COLUMNS: &[&str] = &["a", "b", "c", "d", "e"];
const TYPES: &[(&str, &str)] = &[
    ("INTEGER", "0"),
    ("TEXT", "'n/a'"),
    ("REAL", "1.5"),
    ("VARCHAR(20)", "''"),
    ("NUMERIC(8,2)", "0"),
];

#[derive(Debug, Clone)]
struct ColumnSpec {
    name: &'static str,
    type_index: usize,
    not_null: bool,
    with_default: bool,
    unique: bool,
    check: bool,
}

#[derive(Debug, Clone)]
struct TableSpec {
    name: &'static str,
    columns: Vec<ColumnSpec>,
    /// Foreign key from the first column to an earlier table, with ON DELETE CASCADE if true.
    foreign_key: Option<(usize, bool)>,
    /// Indexes: (column position, kind 0 plain / 1 desc / 2 expression / 3 partial).
    indexes: Vec<(usize, u8)>,
}

fn column_spec() -> impl Strategy<Value = ColumnSpec> {
    (
        prop::sample::select(COLUMNS),
        0..TYPES.len(),
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(name, type_index, not_null, with_default, unique, check)| ColumnSpec {
                name,
                type_index,
                not_null,
                with_default: with_default || not_null,
                unique,
                check,
            },
        )
}

fn table_spec(name: &'static str) -> impl Strategy<Value = TableSpec> {
    (
        prop::collection::vec(column_spec(), 1..4),
        prop::option::of((0usize..4, any::<bool>())),
        prop::collection::vec((0usize..4, 0u8..4), 0..3),
    )
        .prop_map(move |(columns, foreign_key, indexes)| {
            let mut seen = std::collections::BTreeSet::new();
            let columns = columns
                .into_iter()
                .filter(|c| seen.insert(c.name))
                .collect();
            TableSpec {
                name,
                columns,
                foreign_key,
                indexes,
            }
        })
}

fn schema_spec() -> impl Strategy<Value = (Vec<TableSpec>, bool)> {
    (
        prop::sample::subsequence(TABLES, 0..=TABLES.len()),
        any::<bool>(),
    )
        .prop_flat_map(|(names, view)| {
            let tables: Vec<_> = names.into_iter().map(table_spec).collect();
            (tables, Just(view))
        })
}

fn render((tables, view): &(Vec<TableSpec>, bool)) -> String {
    let mut sql = String::new();
    for (position, table) in tables.iter().enumerate() {
        let mut items = vec!["id INTEGER PRIMARY KEY".to_string()];
        for column in &table.columns {
            let (type_name, default) = TYPES[column.type_index];
            let mut item = format!("{} {type_name}", column.name);
            if column.not_null {
                item.push_str(" NOT NULL");
            }
            if column.with_default {
                item.push_str(&format!(" DEFAULT {default}"));
            }
            if column.unique {
                item.push_str(" UNIQUE");
            }
            if column.check {
                item.push_str(&format!(" CHECK (length({}) < 100)", column.name));
            }
            items.push(item);
        }
        if let (Some((target, cascade)), Some(first)) = (table.foreign_key, table.columns.first())
            && position > 0
        {
            let parent = tables[target % position].name;
            let action = if cascade { " ON DELETE CASCADE" } else { "" };
            items.push(format!(
                "FOREIGN KEY ({}) REFERENCES {parent} (id){action}",
                first.name
            ));
        }
        sql.push_str(&format!(
            "CREATE TABLE {} ({});\n",
            table.name,
            items.join(", ")
        ));
        for (i, (column, kind)) in table.indexes.iter().enumerate() {
            let column = table.columns[column % table.columns.len()].name;
            let body = match kind {
                0 => format!("({column})"),
                1 => format!("({column} DESC, id)"),
                2 => format!("(lower({column}))"),
                _ => format!("({column}) WHERE {column} IS NOT NULL"),
            };
            sql.push_str(&format!(
                "CREATE INDEX {}_idx{i} ON {} {body};\n",
                table.name, table.name
            ));
        }
    }
    if let (true, Some(first)) = (view, tables.first()) {
        sql.push_str(&format!(
            "CREATE VIEW summary AS SELECT id, count(*) AS n FROM {} GROUP BY id;\n",
            first.name
        ));
    }
    sql
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn sync_reaches_any_target(a in schema_spec(), b in schema_spec()) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
            .unwrap_or_else(|e| panic!("{e}"));
        let (from, to) = (render(&a), render(&b));
        runtime.block_on(async {
            let fleet = SqliteFleet::new();
            let adapter = fleet.sqlite();
            let tenant = fleet.create_tenant(&unique_tenant_id("prop"), &from).await.unwrap_or_else(|e| panic!("{e}\n{from}"));
            let target = adapter.snapshot_from_sql(&to).await.unwrap_or_else(|e| panic!("{e}\n{to}"));
            let engine = Engine::new(adapter.clone());
            // Column order is not strict by default: the tenant then matches the target
            // in everything but, where no rebuild happened, the order of its columns.
            let loose = SyncOptions::default()
.with_execute(true)
.with_allow_destructive(true);
            engine.sync_tenant(&tenant, &target, &loose).await
                .unwrap_or_else(|e| panic!("sync failed: {e}\nfrom:\n{from}\nto:\n{to}"));
            let live = adapter.inspector().inspect(&tenant).await.unwrap_or_else(|e| panic!("{e}"));
            let remaining = engine.plan(&live, &target).map(|(diff, _)| diff).unwrap_or_else(|e| panic!("{e}"));
            assert!(remaining.is_in_sync(false), "from:\n{from}\nto:\n{to}\n{}", remaining.to_text());
            // Strict: exactly the target, column order included.
            let strict = loose
.with_strict_column_order(true);
            engine.sync_tenant(&tenant, &target, &strict).await
                .unwrap_or_else(|e| panic!("strict sync failed: {e}\nfrom:\n{from}\nto:\n{to}"));
            let live = adapter.inspector().inspect(&tenant).await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(live, target, "from:\n{from}\nto:\n{to}");
        });
    }
}
