//! Column order: tables created and rebuilt by sync get the template's order, not the
//! alphabetical one (issue #12), and the inspector reports it.

mod common;

use std::collections::BTreeMap;

use common::SqliteFleet;
use schema_sync_core::plan::ColumnPlacement;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::testing::{plan_of, tenant_id};
use schema_sync_core::{
    DatabaseAdapter, Engine, ExecuteOptions, MigrationPlan, Operation, SchemaSnapshot, SyncOptions,
    TenantContext,
};

/// Deliberately not alphabetical, key not first, a generated column in the middle.
const TEMPLATE: &str = "
CREATE TABLE invoices (
    number TEXT NOT NULL,
    customer TEXT NOT NULL,
    total_cents INTEGER NOT NULL DEFAULT 0,
    total_eur REAL GENERATED ALWAYS AS (total_cents / 100.0) VIRTUAL,
    id INTEGER PRIMARY KEY,
    issued_at TEXT NOT NULL DEFAULT (datetime('now')),
    memo TEXT,
    CONSTRAINT total_non_negative CHECK (total_cents >= 0)
);
";
const ORDER: [&str; 7] = [
    "number",
    "customer",
    "total_cents",
    "total_eur",
    "id",
    "issued_at",
    "memo",
];

fn columns(fleet: &SqliteFleet, tenant: &str, pragma: &str) -> Vec<String> {
    fleet
        .query_strings(
            tenant,
            &format!("SELECT name FROM pragma_{pragma}('invoices') ORDER BY cid"),
        )
        .into_iter()
        .map(|v| {
            v.trim_start_matches("Text(\"")
                .trim_end_matches("\")")
                .to_string()
        })
        .collect()
}

fn assert_template_order(fleet: &SqliteFleet, tenant: &str) {
    assert_eq!(columns(fleet, tenant, "table_xinfo"), ORDER, "{tenant}");
    let visible: Vec<&str> = ORDER.into_iter().filter(|c| *c != "total_eur").collect();
    assert_eq!(columns(fleet, tenant, "table_info"), visible, "{tenant}");
}

async fn target(fleet: &SqliteFleet) -> SchemaSnapshot {
    fleet
        .sqlite()
        .snapshot_from_sql(TEMPLATE)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn sync(fleet: &SqliteFleet, tenant: &TenantContext, target: &SchemaSnapshot) -> usize {
    let outcome = Engine::new(fleet.sqlite())
        .sync_tenant(
            tenant,
            target,
            // Order is what these tests are about: make it drift.
            &SyncOptions::default()
                .with_execute(true)
                .with_strict_column_order(true),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    outcome.execution.map_or(0, |e| e.statements_executed)
}

#[tokio::test]
async fn the_inspector_reports_cid_order_densely() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(
            &tenant_id("positions"),
            &format!("{TEMPLATE} ALTER TABLE invoices ADD COLUMN dropped TEXT; ALTER TABLE invoices ADD COLUMN tail TEXT; ALTER TABLE invoices DROP COLUMN dropped;"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let live = fleet
        .sqlite()
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let table = &live.tables["invoices"];
    let mut expected: Vec<&str> = ORDER.to_vec();
    expected.push("tail");
    assert_eq!(table.column_order(), expected);
    let positions: BTreeMap<&str, u32> = table
        .columns
        .iter()
        .map(|(n, c)| (n.as_str(), c.position))
        .collect();
    assert_eq!(positions["number"], 1);
    assert_eq!(positions["total_eur"], 4, "generated columns count");
    assert_eq!(
        positions["tail"], 8,
        "positions are dense after a dropped column"
    );
}

#[tokio::test]
async fn a_table_created_by_sync_has_the_template_order() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(
            &tenant_id("fresh"),
            "CREATE TABLE other (id INTEGER PRIMARY KEY);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut target = target(&fleet).await;
    let other = fleet
        .sqlite()
        .snapshot_from_sql("CREATE TABLE other (id INTEGER PRIMARY KEY);")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    target.tables.extend(other.tables);
    assert!(sync(&fleet, &tenant, &target).await > 0);
    assert_template_order(&fleet, "fresh");
}

#[tokio::test]
async fn a_table_rebuilt_by_sync_keeps_the_template_order_and_its_rows() {
    let fleet = SqliteFleet::new();
    // The template before it gained the check and `memo`: adding the check rebuilds.
    let older = TEMPLATE
        .replace(
            ",\n    CONSTRAINT total_non_negative CHECK (total_cents >= 0)",
            "",
        )
        .replace(",\n    memo TEXT", "");
    let tenant = fleet
        .create_tenant(&tenant_id("rebuilt"), &older)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .execute(
            &tenant,
            "INSERT INTO invoices (id, number, customer, total_cents, issued_at) VALUES \
             (7, 'F-7', 'acme', 1250, '2026-01-01'), (9, 'F-9', 'globex', 0, '2026-02-01');",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows =
        "SELECT id, number, customer, total_cents, total_eur, issued_at FROM invoices ORDER BY id";
    let before = fleet.query_strings("rebuilt", rows);
    let target = target(&fleet).await;
    assert!(sync(&fleet, &tenant, &target).await >= 4, "a rebuild ran");
    assert_template_order(&fleet, "rebuilt");
    assert_eq!(fleet.query_strings("rebuilt", rows), before);
}

#[tokio::test]
async fn a_tenant_in_another_order_is_rebuilt_into_the_template_order() {
    let fleet = SqliteFleet::new();
    // What the old renderer made: key first, then alphabetical.
    let alphabetical = "CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, \
        issued_at TEXT NOT NULL DEFAULT (datetime('now')), memo TEXT, number TEXT NOT NULL, \
        total_cents INTEGER NOT NULL DEFAULT 0, \
        total_eur REAL GENERATED ALWAYS AS (total_cents / 100.0) VIRTUAL, \
        CONSTRAINT total_non_negative CHECK (total_cents >= 0));";
    let tenant = fleet
        .create_tenant(&tenant_id("sorted"), alphabetical)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .execute(
            &tenant,
            "INSERT INTO invoices (id, number, customer, total_cents, issued_at, memo) VALUES \
             (1, 'F-1', 'acme', 99, '2026-03-01', 'first');",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = "SELECT id, number, customer, total_cents, total_eur, issued_at, memo FROM invoices";
    let before = fleet.query_strings("sorted", rows);
    let target = target(&fleet).await;
    assert!(sync(&fleet, &tenant, &target).await > 0);
    assert_template_order(&fleet, "sorted");
    assert_eq!(fleet.query_strings("sorted", rows), before);
}

/// Runs a hand-made plan through the runner's lock.
async fn execute(fleet: &SqliteFleet, tenant: &TenantContext, operations: Vec<Operation>) {
    let adapter = fleet.sqlite();
    let live = adapter
        .inspector()
        .inspect(tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = MigrationPlan {
        source_hash: live.hash(),
        target_hash: live.hash(),
        ..plan_of(operations)
    };
    let lock = adapter
        .runner()
        .acquire_lock(tenant, &ExecuteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    lock.execute(&plan).await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn reorder_and_placed_add_column_rebuild_in_the_planned_order() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(
            &tenant_id("placed"),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, b TEXT, a TEXT); INSERT INTO t VALUES (1, 'b1', 'a1');",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let live = fleet
        .sqlite()
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let table = &live.tables["t"];
    let to: Vec<String> = ["a", "id", "b"].map(String::from).to_vec();
    execute(
        &fleet,
        &tenant,
        vec![Operation::ReorderColumns {
            table: "t".into(),
            from: table.column_order().into_iter().map(String::from).collect(),
            to: to.clone(),
            columns: table.columns.clone(),
            required: true,
        }],
    )
    .await;
    let names = |fleet: &SqliteFleet| {
        fleet.query_strings(
            "placed",
            "SELECT name FROM pragma_table_info('t') ORDER BY cid",
        )
    };
    assert_eq!(
        names(&fleet),
        ["Text(\"a\")", "Text(\"id\")", "Text(\"b\")"]
    );

    let mut column = table.columns["a"].clone();
    column.position = 0;
    execute(
        &fleet,
        &tenant,
        vec![Operation::AddColumn {
            table: "t".into(),
            name: "c".into(),
            column,
            placement: ColumnPlacement::After("a".into()),
        }],
    )
    .await;
    assert_eq!(
        names(&fleet),
        ["Text(\"a\")", "Text(\"c\")", "Text(\"id\")", "Text(\"b\")"]
    );
    assert_eq!(
        fleet.query_strings("placed", "SELECT id, a, b, c FROM t"),
        ["Integer(1)|Text(\"a1\")|Text(\"b1\")|Null"]
    );
}
