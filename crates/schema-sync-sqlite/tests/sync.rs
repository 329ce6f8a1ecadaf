//! Drift found and fixed on real SQLite files, with rows kept and failures rolled back.

mod common;

use common::{SqliteFleet, TEMPLATE};
use schema_sync_core::testing::conformance::{self, TestDatabase};
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{DatabaseAdapter, Engine, Error, SyncOptions};

const BASE: &str = "
CREATE TABLE parents (id INTEGER PRIMARY KEY, code TEXT NOT NULL);
CREATE TABLE items (id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT, qty INTEGER DEFAULT 1);
CREATE INDEX items_name ON items (name);
CREATE VIEW item_names AS SELECT name FROM items;
";
const SEED: &str = "
INSERT INTO parents VALUES (1, 'a'), (2, 'b');
INSERT INTO items VALUES (1, 1, 'x', 5), (2, 2, 'y', 6), (3, NULL, 'z', 7);
";
/// Rows that fit every drifted shape of `items` (the reverse direction starts from those).
const ITEMS_SEED: &str =
    "INSERT INTO items (id, parent_id, name) VALUES (1, NULL, 'x'), (2, NULL, 'y');";

/// Each drift kind as the target that `BASE` must be synced to.
const DRIFTS: &[(&str, &str)] = &[
    ("add column", "ALTER TABLE items ADD COLUMN note TEXT;"),
    (
        "add not-null column with default",
        "ALTER TABLE items ADD COLUMN flag INTEGER NOT NULL DEFAULT 0;",
    ),
    ("drop column", "ALTER TABLE items DROP COLUMN qty;"),
    (
        "change type",
        "DROP VIEW item_names; CREATE TABLE x (id INTEGER PRIMARY KEY, parent_id INTEGER, name VARCHAR(40), qty INTEGER DEFAULT 1); INSERT INTO x SELECT * FROM items; DROP TABLE items; ALTER TABLE x RENAME TO items; CREATE INDEX items_name ON items (name); CREATE VIEW item_names AS SELECT name FROM items;",
    ),
    (
        "change default",
        "DROP VIEW item_names; DROP INDEX items_name; CREATE TABLE x (id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT, qty INTEGER DEFAULT 2); DROP TABLE items; ALTER TABLE x RENAME TO items; CREATE INDEX items_name ON items (name); CREATE VIEW item_names AS SELECT name FROM items;",
    ),
    (
        "set not null",
        "DROP VIEW item_names; DROP INDEX items_name; CREATE TABLE x (id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT NOT NULL, qty INTEGER DEFAULT 1); DROP TABLE items; ALTER TABLE x RENAME TO items; CREATE INDEX items_name ON items (name); CREATE VIEW item_names AS SELECT name FROM items;",
    ),
    (
        "add foreign key and check",
        "DROP VIEW item_names; DROP INDEX items_name; CREATE TABLE x (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parents (id) ON DELETE CASCADE, name TEXT, qty INTEGER DEFAULT 1 CHECK (qty > 0)); DROP TABLE items; ALTER TABLE x RENAME TO items; CREATE INDEX items_name ON items (name); CREATE VIEW item_names AS SELECT name FROM items;",
    ),
    (
        "add unique",
        "DROP VIEW item_names; DROP INDEX items_name; CREATE TABLE x (id INTEGER PRIMARY KEY, parent_id INTEGER, name TEXT UNIQUE, qty INTEGER DEFAULT 1); DROP TABLE items; ALTER TABLE x RENAME TO items; CREATE INDEX items_name ON items (name); CREATE VIEW item_names AS SELECT name FROM items;",
    ),
    (
        "change index",
        "DROP INDEX items_name; CREATE INDEX items_name ON items (lower(name)) WHERE qty > 1;",
    ),
    ("drop index", "DROP INDEX items_name;"),
    (
        "add table",
        "CREATE TABLE tags (id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items (id), tag TEXT);",
    ),
    ("drop table", "DROP TABLE parents;"),
    (
        "change view",
        "DROP VIEW item_names; CREATE VIEW item_names AS SELECT name, qty FROM items;",
    ),
    (
        "add trigger",
        "CREATE TRIGGER items_touch AFTER UPDATE ON items BEGIN UPDATE items SET qty = qty WHERE id = new.id; END;",
    ),
    (
        "add generated column",
        "ALTER TABLE items ADD COLUMN double_qty INTEGER GENERATED ALWAYS AS (qty * 2) VIRTUAL;",
    ),
];

#[tokio::test]
async fn every_drift_kind_is_found_fixed_and_idempotent() {
    let fleet = SqliteFleet::new();
    for (kind, change) in DRIFTS {
        let target = format!("{BASE}{change}");
        // Forwards (the tenant lacks the change) and backwards (the tenant has an extra change).
        conformance::sync_converges(&fleet, BASE, SEED, &target)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        conformance::sync_converges(&fleet, &target, ITEMS_SEED, BASE)
            .await
            .unwrap_or_else(|e| panic!("{kind} (reverse): {e}"));
    }
}

#[tokio::test]
async fn rows_survive_a_table_rebuild() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("rows"), BASE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .execute(&tenant, SEED)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = fleet.query_strings(
        "rows",
        "SELECT id, parent_id, name, qty FROM items ORDER BY id",
    );
    let target = format!("{BASE}{}", DRIFTS[6].1);
    let adapter = fleet.sqlite();
    let target = adapter
        .snapshot_from_sql(&target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::new(adapter.clone());
    let outcome = engine
        .sync_tenant(&tenant, &target, &SyncOptions::default().with_execute(true))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        outcome
            .execution
            .is_some_and(|e| e.statements_executed >= 4),
        "a rebuild ran"
    );
    assert_eq!(
        fleet.query_strings(
            "rows",
            "SELECT id, parent_id, name, qty FROM items ORDER BY id"
        ),
        before
    );
    assert_eq!(
        fleet.query_strings(
            "rows",
            "SELECT count(*) FROM sqlite_schema WHERE name LIKE '_schema_sync%'"
        ),
        ["Integer(0)"]
    );
}

#[tokio::test]
async fn a_failure_mid_plan_leaves_the_file_unchanged() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("fails"), BASE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .execute(&tenant, SEED)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = fleet.fingerprint("fails");
    // A new table (succeeds), then a NOT NULL column without a default on a table with rows (fails).
    let target = format!(
        "{BASE}CREATE TABLE audit (id INTEGER PRIMARY KEY); ALTER TABLE parents ADD COLUMN owner TEXT NOT NULL DEFAULT 'x';"
    );
    let mut target = fleet
        .sqlite()
        .snapshot_from_sql(&target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(owner) = target
        .tables
        .get_mut("parents")
        .and_then(|t| t.columns.get_mut("owner"))
    {
        owner.default = None;
    }
    let engine = Engine::new(fleet.sqlite());
    let result = engine
        .sync_tenant(&tenant, &target, &SyncOptions::default().with_execute(true))
        .await;
    match result {
        Err(Error::Execute {
            rolled_back,
            steps_succeeded,
            statement,
            ..
        }) => {
            assert!(rolled_back);
            assert!(
                steps_succeeded >= 1,
                "the first step succeeded before the failure"
            );
            assert!(statement.contains("parents"), "{statement}");
        }
        other => panic!("expected an execution error, got {other:?}"),
    }
    assert_eq!(fleet.fingerprint("fails"), before);
}

#[tokio::test]
async fn not_a_database_and_missing_paths_are_clear_errors() {
    let fleet = SqliteFleet::new();
    std::fs::write(
        fleet.file("junk"),
        b"this is not sqlite at all, just some text bytes here",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let tenant = adapter
        .context(&tenant_id("junk"))
        .unwrap_or_else(|e| panic!("{e}"));
    let error = adapter
        .inspector()
        .inspect(&tenant)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("junk.db") && error.contains("not a SQLite database"),
        "{error}"
    );

    let missing = adapter
        .context(&tenant_id("missing"))
        .unwrap_or_else(|e| panic!("{e}"));
    let error = adapter
        .inspector()
        .inspect(&missing)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("missing.db") && error.contains("no such tenant file"),
        "{error}"
    );

    let url = format!("sqlite://{}/nope", fleet.path().display());
    let error = schema_sync_sqlite::connect(&url, &Default::default())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        error.contains("nope") && error.contains("does not exist"),
        "{error}"
    );
    assert!(adapter.context(&tenant_id("../escape")).is_err());
}

#[tokio::test]
async fn lists_tenant_files_by_extension() {
    let fleet = SqliteFleet::new();
    for file in ["a.db", "b.sqlite", "c.sqlite3", "notes.txt", "d.db-journal"] {
        std::fs::write(fleet.path().join(file), b"").unwrap_or_else(|e| panic!("{e}"));
    }
    let tenants = fleet
        .sqlite()
        .list_tenants()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = tenants.iter().map(|t| t.as_str()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let context = fleet
        .sqlite()
        .context(&tenant_id("b"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(context.namespace().ends_with("b.sqlite"));
}

#[tokio::test]
async fn a_second_writer_waits_for_the_lock() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("locked"), TEMPLATE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let options = schema_sync_core::ExecuteOptions::default()
        .with_lock_timeout(std::time::Duration::from_millis(200))
        .with_statement_timeout(None);
    let held = adapter
        .runner()
        .acquire_lock(&tenant, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let second = adapter.runner().acquire_lock(&tenant, &options).await;
    assert!(
        matches!(second, Err(Error::Lock { .. })),
        "a second writer must time out on the lock"
    );
    held.release().await.unwrap_or_else(|e| panic!("{e}"));
    let third = adapter.runner().acquire_lock(&tenant, &options).await;
    assert!(third.is_ok(), "the lock is free again after release");
}

#[tokio::test]
async fn hostile_object_names_are_quoted() {
    let fleet = SqliteFleet::new();
    let from = r#"CREATE TABLE "we""ird tab" ("col ""x""" TEXT, "select" INTEGER);"#;
    let to = r#"CREATE TABLE "we""ird tab" ("col ""x""" TEXT NOT NULL DEFAULT 'it''s', "select" INTEGER, "new; DROP TABLE x" TEXT);
               CREATE INDEX "idx ""q""" ON "we""ird tab" ("select" DESC);
               CREATE VIEW "v'iew" AS SELECT "select" FROM "we""ird tab";"#;
    conformance::sync_converges(
        &fleet,
        from,
        r#"INSERT INTO "we""ird tab" VALUES ('a', 1);"#,
        to,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    conformance::sync_converges(&fleet, to, "", from)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn unmodelled_objects_are_reported_and_block_sync() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(
            &tenant_id("fts"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE VIRTUAL TABLE docs USING fts5(body);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let live = adapter
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        live.unsupported
            .iter()
            .any(|o| o.kind == "virtual table" && o.name == "docs"),
        "{:?}",
        live.unsupported
    );
    assert_eq!(
        live.tables.keys().collect::<Vec<_>>(),
        ["t"],
        "shadow tables belong to the virtual table"
    );
    let target = adapter
        .snapshot_from_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT);")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let result = Engine::new(adapter.clone())
        .sync_tenant(
            &tenant,
            &target,
            &SyncOptions::default()
                .with_execute(true)
                .with_allow_destructive(true),
        )
        .await;
    match result {
        Err(Error::Unsupported { object, .. }) => assert!(object.contains("docs"), "{object}"),
        other => panic!("expected an unsupported-object refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_view_naming_the_database_it_was_attached_as_is_a_clear_error() {
    let fleet = SqliteFleet::new();
    let file = fleet.file("attached");
    let conn = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(&format!(
        "ATTACH '{}' AS tenant_x; CREATE TABLE tenant_x.t (id INTEGER PRIMARY KEY); \
         CREATE VIEW tenant_x.v AS SELECT id FROM tenant_x.t; DETACH tenant_x;",
        file.display().to_string().replace('\'', "''")
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let adapter = fleet.sqlite();
    let tenant = adapter
        .context(&tenant_id("attached"))
        .unwrap_or_else(|e| panic!("{e}"));
    let error = adapter
        .inspector()
        .inspect(&tenant)
        .await
        .err()
        .unwrap_or_else(|| panic!("SQLite cannot read such a file"));
    let message = error.to_string();
    assert!(message.contains("attached.db"), "{message}");
    assert!(message.contains("without that qualifier"), "{message}");
    assert!(
        message.contains("cannot reference objects in database tenant_x"),
        "{message}"
    );
}
