//! The SQLite change cookie is complete: every kind of change the adapter models moves
//! it, writing data does not (the first `ANALYZE` does: it creates `sqlite_stat1`), and a fleet run through the engine's snapshot cache sees a
//! file changed between two runs.

mod common;

use std::sync::Arc;

use common::SqliteFleet;
use rusqlite::Connection;
use schema_sync_core::cache::{MemorySnapshotCache, SnapshotCache};
use schema_sync_core::{
    ChangeCookie, DatabaseAdapter, Engine, FleetOptions, SchemaInspector, TenantContext, TenantId,
    TenantStatus,
};

const DDL: &str = "CREATE TABLE p (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id) ON DELETE CASCADE,
  n REAL DEFAULT 0.5 CHECK (n >= 0), label TEXT COLLATE NOCASE);
CREATE INDEX c_label ON c (lower(label) DESC, n) WHERE n > 0;
CREATE VIEW v AS SELECT c.id, p.code FROM c JOIN p ON p.id = c.p_id;
CREATE TRIGGER c_touch AFTER UPDATE ON c BEGIN SELECT 1; END;";

/// One change per modelled kind.
const CHANGES: &[&str] = &[
    "CREATE TABLE extra (id INTEGER PRIMARY KEY)",
    "DROP VIEW v; DROP TABLE c",
    "ALTER TABLE c ADD COLUMN extra TEXT",
    "DROP INDEX c_label; ALTER TABLE c DROP COLUMN label",
    "ALTER TABLE c RENAME COLUMN label TO title",
    "ALTER TABLE p RENAME TO parents",
    "DROP INDEX c_label",
    "DROP INDEX c_label; CREATE INDEX c_label ON c (lower(label), n) WHERE n > 0",
    "CREATE UNIQUE INDEX c_n ON c (n)",
    "DROP VIEW v; CREATE VIEW v AS SELECT c.id FROM c",
    "DROP TRIGGER c_touch",
    "DROP TRIGGER c_touch; CREATE TRIGGER c_touch BEFORE UPDATE ON c BEGIN SELECT 2; END",
    // A rebuilt table: what sync does for a changed type, default, check, nullability,
    // collation or foreign key.
    "PRAGMA foreign_keys = OFF; CREATE TABLE c2 (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id), \
     n REAL DEFAULT 1 CHECK (n >= 1), label TEXT NOT NULL COLLATE BINARY); DROP VIEW v; DROP TABLE c; \
     ALTER TABLE c2 RENAME TO c",
    "CREATE TABLE s (id INTEGER PRIMARY KEY, body TEXT) STRICT, WITHOUT ROWID",
    "ALTER TABLE p ADD COLUMN total REAL GENERATED ALWAYS AS (id * 2) VIRTUAL",
];

fn create(fleet: &SqliteFleet, tenant: &str) -> TenantContext {
    let conn = Connection::open(fleet.file(tenant)).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(DDL).unwrap_or_else(|e| panic!("{e}"));
    let id = TenantId::new(tenant).unwrap_or_else(|e| panic!("{e}"));
    fleet
        .sqlite()
        .context(&id)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn run(fleet: &SqliteFleet, tenant: &str, sql: &str) {
    let conn = Connection::open(fleet.file(tenant)).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn cookie(fleet: &SqliteFleet, tenant: &TenantContext) -> ChangeCookie {
    let cookies = fleet
        .sqlite()
        .change_cookies(std::slice::from_ref(tenant))
        .await
        .unwrap_or_else(|| panic!("SQLite offers cookies"));
    cookies
        .into_iter()
        .next()
        .flatten()
        .unwrap_or_else(|| panic!("a format-4 file has a cookie"))
}

#[tokio::test]
async fn every_modelled_change_moves_the_cookie_and_writing_data_does_not() {
    let fleet = SqliteFleet::new();
    for (i, change) in CHANGES.iter().enumerate() {
        let tenant = create(&fleet, &format!("t{i}"));
        let before = cookie(&fleet, &tenant).await;
        assert_eq!(
            before,
            cookie(&fleet, &tenant).await,
            "stable when unchanged"
        );
        run(&fleet, &format!("t{i}"), change);
        assert_ne!(
            before,
            cookie(&fleet, &tenant).await,
            "{change} must move the cookie"
        );
    }
    let tenant = create(&fleet, "data");
    let before = cookie(&fleet, &tenant).await;
    run(
        &fleet,
        "data",
        "INSERT INTO p (code) VALUES ('a'); INSERT INTO c (p_id, n) VALUES (1, 2); \
         UPDATE c SET n = 3; DELETE FROM c",
    );
    assert_eq!(before, cookie(&fleet, &tenant).await, "data never moves it");
}

/// `target`'s snapshot, and an engine on the fleet with an empty in-memory cache.
async fn cached_engine(
    fleet: &SqliteFleet,
    target: &TenantContext,
) -> (
    schema_sync_core::SchemaSnapshot,
    Engine,
    Arc<MemorySnapshotCache>,
) {
    let adapter = fleet.sqlite();
    let target = adapter
        .inspect(target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cache = Arc::new(MemorySnapshotCache::default());
    (
        target,
        Engine::new(adapter).with_cache(cache.clone()),
        cache,
    )
}

#[tokio::test]
async fn a_cached_fleet_run_sees_a_file_changed_between_runs() {
    let fleet = SqliteFleet::new();
    let tenants: Vec<TenantContext> = (0..3).map(|i| create(&fleet, &format!("f{i}"))).collect();
    let (target, engine, cache) = cached_engine(&fleet, &tenants[0]).await;
    let options = FleetOptions::default();
    let first = engine
        .run_fleet(tenants.clone(), &target, &options, &|_| {})
        .await;
    assert_eq!(first.summary.in_sync, 3);
    assert_eq!(cache.len(), 3);

    run(&fleet, "f1", "ALTER TABLE c ADD COLUMN extra TEXT");
    let second = engine
        .run_fleet(tenants.clone(), &target, &options, &|_| {})
        .await;
    assert_eq!(second.summary.drifted, 1, "{:?}", second.summary);
    assert_eq!(second.tenants[1].status, TenantStatus::Drifted);
    let full = Engine::new(fleet.sqlite())
        .run_fleet(tenants, &target, &options, &|_| {})
        .await;
    let hashes = |r: &schema_sync_core::FleetReport| {
        r.tenants.iter().map(|t| t.hash.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        hashes(&second),
        hashes(&full),
        "the cached run equals a full read"
    );
}

#[tokio::test]
async fn a_cold_or_refreshing_run_records_each_file_under_the_cookie_of_what_it_read() {
    let fleet = SqliteFleet::new();
    let tenants: Vec<TenantContext> = (0..3).map(|i| create(&fleet, &format!("g{i}"))).collect();
    run(&fleet, "g1", "ALTER TABLE c ADD COLUMN extra TEXT");
    let (target, engine, cache) = cached_engine(&fleet, &tenants[0]).await;
    let recorded_as_read = |cache: Arc<MemorySnapshotCache>| {
        let fleet = &fleet;
        let tenants = &tenants;
        async move {
            for tenant in tenants {
                let alone = fleet
                    .sqlite()
                    .inspect(tenant)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let found = cache
                    .lookup(tenant.namespace(), &cookie(fleet, tenant).await)
                    .await;
                assert_eq!(found.map(|c| c.hash), Some(alone.hash()), "{}", tenant.id());
            }
        }
    };
    let cold = engine
        .run_fleet(tenants.clone(), &target, &FleetOptions::default(), &|_| {})
        .await;
    assert_eq!((cold.summary.in_sync, cold.summary.drifted), (2, 1));
    assert_eq!(cache.len(), 3);
    recorded_as_read(cache.clone()).await;

    run(&fleet, "g2", "DROP TRIGGER c_touch");
    let mut refresh = FleetOptions::default();
    refresh.refresh_cache = true;
    let refreshed = engine
        .run_fleet(tenants.clone(), &target, &refresh, &|_| {})
        .await;
    assert_eq!(
        (refreshed.summary.in_sync, refreshed.summary.drifted),
        (1, 2)
    );
    assert_eq!(refreshed.tenants[2].status, TenantStatus::Drifted);
    recorded_as_read(cache).await;
}
