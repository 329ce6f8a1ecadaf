//! The core property against the real server: for random schemas A and B from a small
//! grammar, a tenant created from A and synced to B (destructive changes allowed)
//! inspects equal to B, and a second sync does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, SyncOptions};

/// Column types of the grammar.
const TYPES: &[&str] = &[
    "integer",
    "bigint",
    "text",
    "varchar(20)",
    "varchar(40)",
    "numeric(10,2)",
    "numeric(12,4)",
    "boolean",
    "timestamptz",
    "text[]",
    "mood",
];

#[derive(Debug, Clone)]
struct ColumnSpec {
    name: usize,
    ty: usize,
    not_null: bool,
    default: bool,
    unique: bool,
    indexed: u8,
}

#[derive(Debug, Clone)]
struct TableSpec {
    big_id: bool,
    columns: Vec<ColumnSpec>,
    references: Option<usize>,
    check: bool,
    comment: bool,
    view: bool,
}

#[derive(Debug, Clone)]
struct SchemaSpec {
    labels: Vec<&'static str>,
    tables: Vec<TableSpec>,
    sequence: Option<i64>,
}

fn column() -> impl Strategy<Value = ColumnSpec> {
    (
        0..5usize,
        0..TYPES.len(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0..4u8,
    )
        .prop_map(
            |(name, ty, not_null, default, unique, indexed)| ColumnSpec {
                name,
                ty,
                not_null,
                default,
                unique,
                indexed,
            },
        )
}

fn table() -> impl Strategy<Value = TableSpec> {
    (
        any::<bool>(),
        prop::collection::vec(column(), 0..4),
        prop::option::of(0..3usize),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(big_id, columns, references, check, comment, view)| TableSpec {
                big_id,
                columns,
                references,
                check,
                comment,
                view,
            },
        )
}

fn schema() -> impl Strategy<Value = SchemaSpec> {
    (
        prop::sample::subsequence(vec!["sad", "ok", "happy", "meh"], 1..=4).prop_shuffle(),
        prop::collection::vec(table(), 0..4),
        prop::option::of(1..50i64),
    )
        .prop_map(|(labels, tables, sequence)| SchemaSpec {
            labels,
            tables,
            sequence,
        })
}

fn default_for(ty: &str, labels: &[&str]) -> String {
    match ty {
        "integer" | "bigint" => "7".into(),
        "boolean" => "true".into(),
        "timestamptz" => "now()".into(),
        "text[]" => "'{}'".into(),
        "mood" => format!("'{}'", labels[0]),
        t if t.starts_with("numeric") => "1.5".into(),
        _ => "'x'".into(),
    }
}

/// The DDL of a schema spec.
fn ddl(spec: &SchemaSpec) -> String {
    let mut out = format!(
        "CREATE TYPE mood AS ENUM ({});\n",
        spec.labels
            .iter()
            .map(|l| format!("'{l}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(increment) = spec.sequence {
        out.push_str(&format!(
            "CREATE SEQUENCE counter INCREMENT BY {increment};\n"
        ));
    }
    for (i, t) in spec.tables.iter().enumerate() {
        let id_type = if t.big_id { "bigint" } else { "integer" };
        let mut parts = vec![format!("id {id_type} PRIMARY KEY")];
        let mut seen = Vec::new();
        let mut extras = Vec::new();
        for c in &t.columns {
            if seen.contains(&c.name) {
                continue;
            }
            seen.push(c.name);
            let ty = TYPES[c.ty];
            let name = format!("c{}", c.name);
            let mut def = format!("{name} {ty}");
            if c.not_null {
                def.push_str(" NOT NULL");
            }
            if c.default {
                def.push_str(&format!(" DEFAULT {}", default_for(ty, &spec.labels)));
            }
            if c.unique && ty != "text[]" {
                def.push_str(&format!(" CONSTRAINT t{i}_{name}_key UNIQUE"));
            }
            parts.push(def);
            match (c.indexed, ty) {
                (1, "text[]") => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_idx ON t{i} USING gin ({name});"
                )),
                (1, _) => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_idx ON t{i} ({name} DESC);"
                )),
                (2, _) => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_part ON t{i} (id) WHERE {name} IS NOT NULL;"
                )),
                (3, "text" | "varchar(20)" | "varchar(40)") => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_lower ON t{i} (lower({name}));"
                )),
                _ => {}
            }
        }
        if let Some(r) = t.references
            && r < i
        {
            let ref_type = if spec.tables[r].big_id {
                "bigint"
            } else {
                "integer"
            };
            parts.push(format!(
                "parent_id {ref_type} REFERENCES t{r} (id) ON DELETE CASCADE"
            ));
        }
        if t.check {
            parts.push(format!("CONSTRAINT t{i}_id_check CHECK (id > 0)"));
        }
        out.push_str(&format!("CREATE TABLE t{i} ({});\n", parts.join(", ")));
        for e in extras {
            out.push_str(&e);
            out.push('\n');
        }
        if t.comment {
            out.push_str(&format!("COMMENT ON TABLE t{i} IS 'table {i}';\n"));
        }
        if t.view {
            out.push_str(&format!(
                "CREATE VIEW v{i} AS SELECT id FROM t{i} WHERE id > 1;\n"
            ));
        }
    }
    out
}

#[test]
fn random_target_applied_to_random_tenant_converges() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(common::db());
    let engine = Engine::new(db.dyn_adapter());
    let options = SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true);
    let mut runner = TestRunner::new(Config {
        // 24 cases keep the suite fast; raise it to hunt for bugs.
        cases: std::env::var("SCHEMA_SYNC_PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(24),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&(schema(), schema()), |(from, to)| {
        let (from_ddl, to_ddl) = (ddl(&from), ddl(&to));
        let outcome: Result<(), String> = runtime.block_on(async {
            let tenant = db
                .create_tenant(&unique_tenant_id("prop"), &from_ddl)
                .await
                .map_err(|e| format!("creating the tenant: {e}"))?;
            let checked = async {
                let target = db.adapter_target(&to_ddl).await?;
                engine
                    .sync_tenant(&tenant, &target, &options)
                    .await
                    .map_err(|e| format!("sync: {e}"))?;
                let live = db.inspect(&tenant).await;
                if common::without_column_order(&live) != common::without_column_order(&target) {
                    let (diff, _) = engine.plan(&live, &target).map_err(|e| e.to_string())?;
                    return Err(format!("differs after sync:\n{}", diff.to_text()));
                }
                let again = engine
                    .sync_tenant(&tenant, &target, &options)
                    .await
                    .map_err(|e| format!("second sync: {e}"))?;
                if !again.already_in_sync {
                    return Err("the second sync was not a no-op".into());
                }
                Ok(())
            }
            .await;
            db.drop_tenant(&tenant).await.map_err(|e| e.to_string())?;
            checked
        });
        prop_assert!(
            outcome.is_ok(),
            "{}\n--- from ---\n{from_ddl}\n--- to ---\n{to_ddl}",
            outcome.err().unwrap_or_default()
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

trait Target {
    async fn adapter_target(&self, sql: &str) -> Result<schema_sync_core::SchemaSnapshot, String>;
}

impl Target for common::PgDb {
    async fn adapter_target(&self, sql: &str) -> Result<schema_sync_core::SchemaSnapshot, String> {
        use schema_sync_core::DatabaseAdapter;
        self.adapter
            .snapshot_from_sql(sql)
            .await
            .map_err(|e| format!("target: {e}"))
    }
}
