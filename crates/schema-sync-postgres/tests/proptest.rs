//! The core property against the real server: for random schemas A and B from a small
//! grammar, a tenant created from A and synced to B (destructive changes allowed)
//! inspects equal to B, dumps (`pg_dump --schema-only`, column order aside) the same as a
//! twin created from B directly, and a second sync does nothing. The grammar covers row-level
//! security and policies, storage parameters, unlogged tables, trigger states, operator
//! classes, NOT VALID checks, comments on constraints and indexes, domains and
//! materialized views with unique indexes, besides tables, columns, keys and views.
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
    "jsonb",
    "amount",
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
    /// Table-level extras: 0 none, 1 row-level security with a policy, 2 forced row-level
    /// security with a restrictive policy, 3 a storage parameter, 4 unlogged.
    extra: u8,
    /// A trigger: 0 none, 1 enabled, 2 disabled, 3 enabled always.
    trigger: u8,
    /// The check is `NOT VALID`, and commented.
    check_not_valid: bool,
    /// The view is a materialized view with a commented unique index.
    materialized: bool,
}

#[derive(Debug, Clone)]
struct SchemaSpec {
    labels: Vec<&'static str>,
    tables: Vec<TableSpec>,
    sequence: Option<i64>,
    /// The lower bound of the `amount` domain's check.
    domain_minimum: u8,
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
        (
            any::<bool>(),
            prop::collection::vec(column(), 0..4),
            prop::option::of(0..3usize),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
        (0..5u8, 0..4u8, any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (big_id, columns, references, check, comment, view),
                (extra, trigger, check_not_valid, materialized),
            )| TableSpec {
                big_id,
                columns,
                references,
                check,
                comment,
                view,
                extra,
                trigger,
                check_not_valid,
                materialized,
            },
        )
}

fn schema() -> impl Strategy<Value = SchemaSpec> {
    (
        prop::sample::subsequence(vec!["sad", "ok", "happy", "meh"], 1..=4).prop_shuffle(),
        prop::collection::vec(table(), 0..4),
        prop::option::of(1..50i64),
        0..2u8,
    )
        .prop_map(|(labels, tables, sequence, domain_minimum)| SchemaSpec {
            labels,
            tables,
            sequence,
            domain_minimum,
        })
}

fn default_for(ty: &str, labels: &[&str]) -> String {
    match ty {
        "integer" | "bigint" => "7".into(),
        "boolean" => "true".into(),
        "timestamptz" => "now()".into(),
        "text[]" => "'{}'".into(),
        "mood" => format!("'{}'", labels[0]),
        "jsonb" => "'{}'".into(),
        "amount" => "5".into(),
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
    out.push_str(&format!(
        "CREATE DOMAIN amount AS integer CHECK (VALUE >= {});\n\
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n",
        spec.domain_minimum
    ));
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
            if c.unique && !matches!(ty, "text[]" | "jsonb") {
                def.push_str(&format!(" CONSTRAINT t{i}_{name}_key UNIQUE"));
            }
            parts.push(def);
            match (c.indexed, ty) {
                (1, "text[]") => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_idx ON t{i} USING gin ({name});"
                )),
                (_, "jsonb") => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_idx ON t{i} USING gin ({name} jsonb_path_ops);"
                )),
                (1, "text") => extras.push(format!(
                    "CREATE INDEX t{i}_{name}_idx ON t{i} ({name} text_pattern_ops);\n\
                     COMMENT ON INDEX t{i}_{name}_idx IS 'prefix search';"
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
        if t.check && !t.check_not_valid {
            parts.push(format!("CONSTRAINT t{i}_id_check CHECK (id > 0)"));
        }
        let (persistence, options) = match t.extra {
            3 => ("", " WITH (fillfactor = 70)"),
            // A permanent table cannot reference an unlogged one, nor the reverse here.
            4 if t.references.is_none()
                && !spec.tables[i + 1..]
                    .iter()
                    .any(|later| later.references == Some(i)) =>
            {
                ("UNLOGGED ", "")
            }
            _ => ("", ""),
        };
        out.push_str(&format!(
            "CREATE {persistence}TABLE t{i} ({}){options};\n",
            parts.join(", ")
        ));
        if t.check && t.check_not_valid {
            out.push_str(&format!(
                "ALTER TABLE t{i} ADD CONSTRAINT t{i}_id_check CHECK (id > 0) NOT VALID;\n\
                 COMMENT ON CONSTRAINT t{i}_id_check ON t{i} IS 'checked later';\n"
            ));
        }
        match t.extra {
            1 => out.push_str(&format!(
                "ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY;\n\
                 CREATE POLICY t{i}_own ON t{i} USING (id > 0);\n"
            )),
            2 => out.push_str(&format!(
                "ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;\n\
                 CREATE POLICY t{i}_limit ON t{i} AS RESTRICTIVE FOR SELECT TO PUBLIC USING (id < 1000);\n"
            )),
            _ => {}
        }
        if t.trigger > 0 {
            out.push_str(&format!(
                "CREATE TRIGGER t{i}_touch BEFORE UPDATE ON t{i} FOR EACH ROW EXECUTE FUNCTION touch();\n"
            ));
            match t.trigger {
                2 => out.push_str(&format!("ALTER TABLE t{i} DISABLE TRIGGER t{i}_touch;\n")),
                3 => out.push_str(&format!(
                    "ALTER TABLE t{i} ENABLE ALWAYS TRIGGER t{i}_touch;\n"
                )),
                _ => {}
            }
        }
        for e in extras {
            out.push_str(&e);
            out.push('\n');
        }
        if t.comment {
            out.push_str(&format!("COMMENT ON TABLE t{i} IS 'table {i}';\n"));
        }
        if t.view && t.materialized {
            out.push_str(&format!(
                "CREATE MATERIALIZED VIEW v{i} AS SELECT id FROM t{i} WHERE id > 1;\n\
                 CREATE UNIQUE INDEX v{i}_id ON v{i} (id);\n\
                 COMMENT ON INDEX v{i}_id IS 'for concurrent refresh';\n"
            ));
        } else if t.view {
            out.push_str(&format!(
                "CREATE VIEW v{i} AS SELECT id FROM t{i} WHERE id > 1;\n"
            ));
        }
    }
    out
}

/// `dump` with the lines of each `CREATE TABLE` sorted: PostgreSQL appends a column it
/// adds, and column order is not strict here.
fn columns_in_any_order(dump: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    for line in dump.lines() {
        match &mut columns {
            Some(list) if line.starts_with(')') => {
                list.sort();
                out.append(list);
                columns = None;
                out.push(line.to_string());
            }
            Some(list) => list.push(line.trim_end_matches(',').to_string()),
            None => {
                // `CREATE TABLE`, `CREATE UNLOGGED TABLE`: a table whose columns follow.
                if line.starts_with("CREATE ") && line.contains(" TABLE ") && line.ends_with('(') {
                    columns = Some(Vec::new());
                }
                out.push(line.to_string());
            }
        }
    }
    out.join("\n")
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
                // Compared with the diff, which knows the target's equivalent spellings.
                let (diff, _) = engine.plan(&live, &target).map_err(|e| e.to_string())?;
                if !diff.is_in_sync(false) {
                    return Err(format!("differs after sync:\n{}", diff.to_text()));
                }
                let again = engine
                    .sync_tenant(&tenant, &target, &options)
                    .await
                    .map_err(|e| format!("second sync: {e}"))?;
                if !again.already_in_sync {
                    return Err("the second sync was not a no-op".into());
                }
                // The independent view: pg_dump of the tenant equals that of a twin
                // created from the target directly. Not where the target has a NOT VALID
                // constraint: a validated one satisfies it by design (it is stronger,
                // and validating again would only cost a scan), and pg_dump prints the
                // two differently.
                if to_ddl.contains("NOT VALID") {
                    return Ok(());
                }
                let twin = db
                    .create_tenant(&unique_tenant_id("proptwin"), &to_ddl)
                    .await
                    .map_err(|e| format!("creating the twin: {e}"))?;
                let (synced, direct) = (
                    columns_in_any_order(&common::pg_dump_relative(tenant.namespace())),
                    columns_in_any_order(&common::pg_dump_relative(twin.namespace())),
                );
                db.drop_tenant(&twin).await.map_err(|e| e.to_string())?;
                if synced != direct {
                    return Err(format!(
                        "pg_dump differs from a twin's:\n--- synced ---\n{synced}\n--- twin ---\n{direct}"
                    ));
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
