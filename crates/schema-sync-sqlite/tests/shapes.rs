//! Files with the same stored DDL share one derived snapshot, and a file whose DDL
//! changed never gets the snapshot of its old shape.

mod common;

use std::sync::Arc;

use common::SqliteFleet;
use rusqlite::Connection;
use schema_sync_core::{DatabaseAdapter, Inspection, SchemaInspector, TenantContext, TenantId};
use schema_sync_sqlite::{Location, SqliteAdapter};

const DDL: &str = "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE CASCADE,
  n REAL DEFAULT .5 CHECK (n >= 0), label TEXT COLLATE NOCASE);
CREATE INDEX c_label ON c (lower(label) DESC, n) WHERE n > 0;
CREATE VIEW v AS SELECT c.id, p.code FROM c JOIN p ON p.id = c.p_id;
CREATE TRIGGER c_touch AFTER UPDATE ON c BEGIN SELECT 1; END;";

fn create(fleet: &SqliteFleet, tenant: &str, ddl: &str) -> TenantContext {
    let conn = Connection::open(fleet.file(tenant)).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(ddl).unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let id = TenantId::new(tenant).unwrap_or_else(|e| panic!("{e}"));
    fleet
        .sqlite()
        .context(&id)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// What an adapter that has seen no other file makes of `tenant`.
async fn fresh(fleet: &SqliteFleet, tenant: &TenantContext) -> schema_sync_core::SchemaSnapshot {
    let adapter = SqliteAdapter::new(Location::Directory(fleet.path().to_path_buf()));
    adapter
        .inspect(tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_file_of_a_known_shape_gets_the_snapshot_a_fresh_inspection_gives() {
    let fleet = SqliteFleet::new();
    let (a, b) = (create(&fleet, "a", DDL), create(&fleet, "b", DDL));
    let adapter = fleet.sqlite();
    let first = adapter.inspect(&a).await.unwrap_or_else(|e| panic!("{e}"));
    let second = adapter.inspect(&b).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, fresh(&fleet, &b).await);
    assert_eq!(first.hash(), second.hash());
    assert!(second.tables["c"].indexes.contains_key("c_label"));
}

#[tokio::test]
async fn a_file_whose_ddl_changed_is_inspected_again() {
    let fleet = SqliteFleet::new();
    let (a, b) = (create(&fleet, "a", DDL), create(&fleet, "b", DDL));
    let adapter = fleet.sqlite();
    let before = adapter.inspect(&a).await.unwrap_or_else(|e| panic!("{e}"));
    adapter.inspect(&b).await.unwrap_or_else(|e| panic!("{e}"));

    let conn = Connection::open(fleet.file("b")).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "ALTER TABLE c ADD COLUMN extra TEXT; DROP INDEX c_label; \
         CREATE INDEX c_label ON c (lower(label), n) WHERE n > 0;",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);

    let after = adapter.inspect(&b).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after, fresh(&fleet, &b).await);
    assert_ne!(after, before);
    assert!(after.tables["c"].columns.contains_key("extra"));
    // The first shape is still served to the file that still has it.
    let again = adapter.inspect(&a).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, before);
}

#[tokio::test]
async fn files_one_byte_apart_in_one_create_statement_are_told_apart_in_one_batch() {
    let fleet = SqliteFleet::new();
    // The same DDL but for one byte of one CHECK: `n >= 0` against `n >= 1`.
    let other = DDL.replacen("CHECK (n >= 0)", "CHECK (n >= 1)", 1);
    assert_eq!(other.len(), DDL.len());
    assert_eq!(
        other
            .bytes()
            .zip(DDL.bytes())
            .filter(|(x, y)| x != y)
            .count(),
        1
    );
    let tenants = [
        create(&fleet, "a", DDL),
        create(&fleet, "b", &other),
        create(&fleet, "c", DDL),
        create(&fleet, "d", &other),
    ];
    let adapter = fleet.sqlite();
    let read: Vec<Inspection> = adapter
        .inspect_many_shared(&tenants)
        .await
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let cookies = adapter
        .change_cookies(&tenants)
        .await
        .unwrap_or_else(|| panic!("SQLite offers cookies"));
    for (i, tenant) in tenants.iter().enumerate() {
        let alone = fresh(&fleet, tenant).await;
        assert_eq!(*read[i].snapshot, alone, "{}", tenant.id());
        assert_eq!(read[i].hash, alone.hash(), "{}", tenant.id());
        assert!(read[i].cookie.is_some());
        assert_eq!(
            read[i].cookie, cookies[i],
            "the cookie read with the snapshot"
        );
    }
    assert_ne!(read[0].hash, read[1].hash);
    assert_ne!(read[0].cookie, read[1].cookie);
    let check_of = |i: usize| {
        let checks = &read[i].snapshot.tables["c"].checks;
        checks.values().next().map(|c| c.expression.clone())
    };
    assert_eq!(check_of(0).as_deref(), Some("n >= 0"));
    assert_eq!(check_of(1).as_deref(), Some("n >= 1"));
    // Same shape, same snapshot: shared, not derived again.
    assert!(Arc::ptr_eq(&read[0].snapshot, &read[2].snapshot));
    assert!(Arc::ptr_eq(&read[1].snapshot, &read[3].snapshot));
    assert!(!Arc::ptr_eq(&read[0].snapshot, &read[1].snapshot));
}
