//! The plan property against the real server: for random schemas A and B from a small
//! grammar, a tenant created from A and synced to B (destructive changes allowed)
//! inspects equal to B, dumps (`mariadb-dump --no-data`, the independent view) the same
//! as a twin created from B directly, and a second sync does nothing.

mod common;

use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use schema_sync_core::{DatabaseAdapter, Engine, SyncOptions};

/// Column types of the grammar, with a default that suits each.
const TYPES: &[(&str, Option<&str>)] = &[
    ("INT", Some("7")),
    ("BIGINT UNSIGNED", Some("0")),
    ("VARCHAR(20)", Some("'x'")),
    ("VARCHAR(40) COLLATE utf8mb4_bin", Some("'it''s'")),
    ("DECIMAL(10,2)", Some("1.50")),
    ("TEXT", None),
    ("DATETIME", Some("CURRENT_TIMESTAMP")),
    ("ENUM('x','y')", Some("'y'")),
    ("TINYINT", None),
    ("JSON", None),
];
const COLUMNS: &[&str] = &["a", "b", "c", "d"];

#[derive(Debug, Clone)]
struct ColumnSpec {
    type_index: usize,
    not_null: bool,
    with_default: bool,
}

#[derive(Debug, Clone)]
struct TableSpec {
    columns: Vec<Option<ColumnSpec>>,
    index_on: Option<usize>,
    unique_on: Option<usize>,
    check: bool,
    references_t0: bool,
    comment: bool,
}

fn column() -> impl Strategy<Value = Option<ColumnSpec>> {
    proptest::option::of((0..TYPES.len(), any::<bool>(), any::<bool>()).prop_map(
        |(type_index, not_null, with_default)| ColumnSpec {
            type_index,
            not_null,
            with_default,
        },
    ))
}

fn table() -> impl Strategy<Value = Option<TableSpec>> {
    proptest::option::of(
        (
            proptest::collection::vec(column(), COLUMNS.len()),
            proptest::option::of(0..COLUMNS.len()),
            proptest::option::of(0..COLUMNS.len()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(columns, index_on, unique_on, check, references_t0, comment)| TableSpec {
                    columns,
                    index_on,
                    unique_on,
                    check,
                    references_t0,
                    comment,
                },
            ),
    )
}

fn schema() -> impl Strategy<Value = (Vec<Option<TableSpec>>, bool)> {
    (proptest::collection::vec(table(), 3), any::<bool>())
}

/// Whether a key can be built on a column of this type without a prefix length.
fn indexable(type_index: usize) -> bool {
    !matches!(TYPES[type_index].0, "TEXT" | "JSON")
}

fn ddl((tables, view): &(Vec<Option<TableSpec>>, bool)) -> String {
    let mut sql = String::new();
    let has_t0 = tables.first().is_some_and(Option::is_some);
    for (t, spec) in tables.iter().enumerate() {
        let Some(spec) = spec else { continue };
        let mut lines = vec![
            "id INT NOT NULL AUTO_INCREMENT PRIMARY KEY".to_string(),
            "k INT NOT NULL DEFAULT 0".to_string(),
        ];
        for (c, column) in spec.columns.iter().enumerate() {
            let Some(column) = column else { continue };
            let (ty, default) = TYPES[column.type_index];
            let mut line = format!("{} {ty}", COLUMNS[c]);
            line.push_str(if column.not_null {
                " NOT NULL"
            } else {
                " NULL"
            });
            if let (true, Some(default)) = (column.with_default, default) {
                line.push_str(&format!(" DEFAULT {default}"));
            }
            lines.push(line);
        }
        let keyable = |c: Option<usize>| {
            c.filter(|c| {
                spec.columns[*c]
                    .as_ref()
                    .is_some_and(|col| indexable(col.type_index))
            })
        };
        if let Some(c) = keyable(spec.index_on) {
            lines.push(format!("KEY ix_t{t}_{0} ({0})", COLUMNS[c]));
        }
        if let Some(c) = keyable(spec.unique_on) {
            lines.push(format!("UNIQUE KEY uq_t{t}_{0} ({0})", COLUMNS[c]));
        }
        if spec.check {
            lines.push(format!("CONSTRAINT chk_t{t} CHECK (k >= 0)"));
        }
        if spec.references_t0 && has_t0 && t > 0 {
            lines.push("t0_id INT NULL".to_string());
            lines.push(format!(
                "CONSTRAINT fk_t{t}_t0 FOREIGN KEY (t0_id) REFERENCES t0 (id) ON DELETE CASCADE"
            ));
        }
        let comment = if spec.comment { " COMMENT='table'" } else { "" };
        sql.push_str(&format!(
            "CREATE TABLE t{t} (\n  {}\n){comment};\n",
            lines.join(",\n  ")
        ));
    }
    if *view && has_t0 {
        sql.push_str("CREATE VIEW v AS SELECT id FROM t0 WHERE id > 1;\n");
    }
    sql
}

#[test]
fn random_targets_are_reached_on_the_real_server() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("{e}"),
    };
    let db = runtime.block_on(common::db());
    let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
    let engine = Engine::new(adapter);
    let mut runner = TestRunner::new(Config {
        // 12 keeps the suite fast; PROPTEST_CASES=200 searches harder.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(12),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(schema(), schema()), |(from, to)| {
        let (from, to) = (ddl(&from), ddl(&to));
        runtime.block_on(async {
            let target = db.target(&to).await;
            let tenant = db.tenant("prop", &from).await;
            let outcome: Result<(), TestCaseError> = async {
                let options = SyncOptions::default()
                    .with_execute(true)
                    .with_allow_destructive(true);
                engine
                    .sync_tenant(&tenant, &target, &options)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("sync: {e}")))?;
                let live = db.inspect(&tenant).await;
                let (diff, _) = engine
                    .plan(&live, &target)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(diff.is_empty(), "still differs:\n{}", diff.to_text());
                prop_assert_eq!(live.hash(), target.hash());
                let twin = db.tenant("proptwin", &to).await;
                let (synced_dump, twin_dump) = (
                    common::mariadb_dump(tenant.namespace()),
                    common::mariadb_dump(twin.namespace()),
                );
                db.cleanup(&twin).await;
                prop_assert_eq!(synced_dump, twin_dump, "the dump differs from a twin's");
                let again = engine
                    .sync_tenant(&tenant, &target, &options)
                    .await
                    .map_err(|e| TestCaseError::fail(format!("second sync: {e}")))?;
                prop_assert!(again.already_in_sync);
                Ok(())
            }
            .await;
            db.cleanup(&tenant).await;
            outcome.map_err(|e| TestCaseError::fail(format!("{e}\nfrom:\n{from}\nto:\n{to}")))
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
