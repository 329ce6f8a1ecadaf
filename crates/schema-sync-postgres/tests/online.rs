//! The online strategy against the real server, under load: a concurrent writer keeps
//! inserting and updating while `sync` adds an index, a foreign key, a check and a NOT
//! NULL to a table of 200,000 rows. Online, the writer never errors and never waits much
//! longer than `lock_timeout`; plain, the same change stalls it for the whole scan.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::load::{
    ORDERS_ROWS, POSTGRES_ORDERS_LIVE, POSTGRES_ORDERS_TARGET, WriterReport, orders_statement,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, Error, ExecuteOptions, Planner, SyncOptions, TenantContext};
use schema_sync_postgres::OnlinePlanner;

/// The lock timeout of the online run.
const LOCK_TIMEOUT: Duration = Duration::from_millis(200);

/// What an online writer may wait beyond `lock_timeout`: the tenant's short transaction
/// (catalog changes and the verifying read, on a debug build) and scheduling.
const MARGIN: Duration = Duration::from_millis(800);

/// Inserts and updates `orders` of `schema` in autocommit until `stop`, timing each
/// statement.
async fn writer(schema: String, stop: Arc<AtomicBool>) -> WriterReport {
    let client = common::admin().await;
    client
        .batch_execute(&format!("SET search_path TO {}", common::qi(&schema)))
        .await
        .unwrap();
    let mut report = WriterReport::default();
    let mut n: i64 = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let statement = orders_statement(n, ORDERS_ROWS);
        let started = Instant::now();
        let outcome = client.batch_execute(&statement).await;
        report.record(&statement, started, outcome);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    report
}

/// Syncs a loaded tenant with `planner` while a writer runs; the sync's outcome, the
/// writer's report and the tenant.
async fn sync_under_load(
    db: &common::PgDb,
    prefix: &str,
    planner: Arc<dyn Planner>,
    options: ExecuteOptions,
) -> (Result<(), Error>, WriterReport, TenantContext) {
    let tenant = db
        .create_tenant(&unique_tenant_id(prefix), POSTGRES_ORDERS_LIVE)
        .await
        .unwrap();
    let target = db.target(POSTGRES_ORDERS_TARGET).await;
    let engine = Engine::new(db.dyn_adapter()).with_planner(planner);
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn(writer(tenant.namespace().to_string(), stop.clone()));
    // Let the writer get going before the change starts.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let synced = engine
        .sync_tenant(
            &tenant,
            &target,
            &SyncOptions::default()
                .with_execute(true)
                .with_execute_options(options),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let report = writing.await.unwrap();
    (synced.map(drop), report, tenant)
}

/// An engine with the online planner ([`common::sync_engine`]): its lock timeout is
/// longer than the load test's.
fn online_engine(db: &common::PgDb) -> (Engine, SyncOptions) {
    common::sync_engine(db, Arc::new(OnlinePlanner))
}

#[tokio::test]
async fn online_sync_keeps_a_writer_going_and_plain_stalls_it() {
    let db = common::db().await;
    let (online, online_writer, online_tenant) = sync_under_load(
        &db,
        "online_load",
        Arc::new(OnlinePlanner),
        ExecuteOptions::default()
            .with_lock_timeout(LOCK_TIMEOUT)
            .with_lock_retries(5),
    )
    .await;
    let (plain, plain_writer, plain_tenant) = sync_under_load(
        &db,
        "plain_load",
        Arc::new(schema_sync_core::DefaultPlanner),
        ExecuteOptions::default().with_lock_timeout(Duration::from_secs(30)),
    )
    .await;
    eprintln!(
        "online: writer ran {} statements, longest stall {} ms; plain: {} statements, longest stall {} ms",
        online_writer.statements,
        online_writer.longest.as_millis(),
        plain_writer.statements,
        plain_writer.longest.as_millis()
    );
    eprintln!("online: {online:?}; plain: {plain:?}");
    let target = db.target(POSTGRES_ORDERS_TARGET).await;
    for tenant in [&online_tenant, &plain_tenant] {
        let live = db.inspect(tenant).await;
        let (diff, _) = Engine::new(db.dyn_adapter()).plan(&live, &target).unwrap();
        assert!(
            diff.is_in_sync(false),
            "{}: {}",
            tenant.id(),
            diff.to_text()
        );
    }
    // No helper check is left behind, and every constraint is valid.
    assert_eq!(
        db.count(
            &online_tenant,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'orders'::regclass AND (NOT convalidated OR conname LIKE 'schema_sync_%')"
        )
        .await,
        0
    );
    // Independently of our inspector: pg_dump cannot tell the two tenants apart.
    let online_dump = common::pg_dump_relative(online_tenant.namespace());
    let plain_dump = common::pg_dump_relative(plain_tenant.namespace());
    for tenant in [&online_tenant, &plain_tenant] {
        db.drop_tenant(tenant).await.unwrap();
    }
    assert_eq!(
        online_dump, plain_dump,
        "pg_dump of the online and plain tenants"
    );
    online.unwrap();
    plain.unwrap();
    online_writer.assert_undisturbed("online (lock_timeout + margin)", LOCK_TIMEOUT + MARGIN);
    assert!(plain_writer.errors.is_empty(), "{:?}", plain_writer.errors);
    assert!(
        plain_writer.longest > online_writer.longest,
        "plain must stall the writer longer than online ({} ms against {} ms)",
        plain_writer.longest.as_millis(),
        online_writer.longest.as_millis()
    );
}

#[tokio::test]
async fn a_failed_concurrent_build_leaves_no_invalid_index_and_the_next_run_converges() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("online_fail"),
            "CREATE TABLE users (id int PRIMARY KEY, email text);
             INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 1000) g;
             INSERT INTO users VALUES (1001, 'u1')",
        )
        .await
        .unwrap();
    let target = db
        .target(
            "CREATE TABLE users (id int PRIMARY KEY, email text, name text);
             CREATE UNIQUE INDEX users_email_key ON users (email)",
        )
        .await;
    let (engine, options) = online_engine(&db);
    let index_count = "SELECT count(*) FROM pg_class WHERE relname = 'users_email_key' AND relnamespace = current_schema()::regnamespace";

    let failed = engine.sync_tenant(&tenant, &target, &options).await;
    let committed_column = db
        .count(
            &tenant,
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'name'",
        )
        .await;
    let leftover = db.count(&tenant, index_count).await;

    db.sql(&format!(
        "DELETE FROM {}.users WHERE id = 1001",
        common::qi(tenant.namespace())
    ))
    .await;
    let second = engine.sync_tenant(&tenant, &target, &options).await;
    let built = db.count(&tenant, index_count).await;
    let third = engine.sync_tenant(&tenant, &target, &options).await;
    db.drop_tenant(&tenant).await.unwrap();

    match failed {
        Err(Error::Execute {
            rolled_back,
            statement,
            ..
        }) => {
            assert!(!rolled_back, "the transaction's part was committed");
            assert!(statement.contains("CONCURRENTLY"), "{statement}");
        }
        other => panic!("the concurrent build must fail on the duplicate: {other:?}"),
    }
    assert_eq!(
        committed_column, 1,
        "the column added in the transaction stays"
    );
    assert_eq!(
        leftover, 0,
        "the INVALID index of the failed build is dropped"
    );
    let second = second.unwrap();
    assert!(!second.already_in_sync);
    assert!(
        second.plan.steps.iter().all(|s| matches!(
            s.operation,
            schema_sync_core::plan::Operation::CreateIndex { .. }
        )),
        "the next run finishes only the index: {:?}",
        second.plan.steps
    );
    assert_eq!(built, 1);
    assert!(third.unwrap().already_in_sync);
}

#[tokio::test]
async fn an_invalid_leftover_of_an_interrupted_build_is_rebuilt() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("online_left"),
            "CREATE TABLE users (id int PRIMARY KEY, email text);
             INSERT INTO users VALUES (1, 'a'), (2, 'a')",
        )
        .await
        .unwrap();
    let schema = common::qi(tenant.namespace());
    // What a build killed half way leaves: an INVALID index under the target's name.
    let failed = db
        .admin
        .batch_execute(&format!(
            "CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON {schema}.users (email)"
        ))
        .await;
    let invalid = "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'users_email_key' AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid";
    let leftovers = db.count(&tenant, invalid).await;
    let inspected = db.inspect(&tenant).await;
    db.sql(&format!("DELETE FROM {schema}.users WHERE id = 2"))
        .await;
    let target = db
        .target(
            "CREATE TABLE users (id int PRIMARY KEY, email text);
             CREATE UNIQUE INDEX users_email_key ON users (email)",
        )
        .await;
    let (engine, options) = online_engine(&db);
    let synced = engine.sync_tenant(&tenant, &target, &options).await;
    let still_invalid = db.count(&tenant, invalid).await;
    let again = engine.sync_tenant(&tenant, &target, &options).await;
    db.drop_tenant(&tenant).await.unwrap();

    assert!(failed.is_err(), "the duplicate must fail the build");
    assert_eq!(leftovers, 1, "the failed build left an INVALID index");
    assert!(
        !inspected.tables["users"]
            .indexes
            .contains_key("users_email_key"),
        "an INVALID index is not inspected as present"
    );
    assert!(!synced.unwrap().already_in_sync);
    assert_eq!(still_invalid, 0);
    assert!(again.unwrap().already_in_sync);
}

#[tokio::test]
async fn a_failed_validation_leaves_the_constraint_not_valid_and_the_next_run_validates_it() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("online_check"),
            "CREATE TABLE items (id int PRIMARY KEY, qty int, note text);
             INSERT INTO items SELECT g, g, 'n' FROM generate_series(1, 1000) g;
             INSERT INTO items VALUES (1001, -1, NULL)",
        )
        .await
        .unwrap();
    let target = db
        .target(
            "CREATE TABLE items (id int PRIMARY KEY, qty int CONSTRAINT items_qty_positive CHECK (qty > 0), note text NOT NULL)",
        )
        .await;
    let (engine, options) = online_engine(&db);
    let not_valid = "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND NOT convalidated";
    let failed = engine.sync_tenant(&tenant, &target, &options).await;
    let left_not_valid = db.count(&tenant, not_valid).await;
    db.sql(&format!(
        "UPDATE {}.items SET qty = 1, note = 'n' WHERE id = 1001",
        common::qi(tenant.namespace())
    ))
    .await;
    let second = engine.sync_tenant(&tenant, &target, &options).await;
    let still_not_valid = db.count(&tenant, not_valid).await;
    let helpers = db
        .count(
            &tenant,
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'items'::regclass AND conname LIKE 'schema_sync_%'",
        )
        .await;
    let third = engine.sync_tenant(&tenant, &target, &options).await;
    db.drop_tenant(&tenant).await.unwrap();

    match failed {
        Err(Error::Execute { rolled_back, .. }) => assert!(!rolled_back),
        other => panic!("the validation must fail on the negative qty: {other:?}"),
    }
    assert_eq!(
        left_not_valid, 2,
        "the check and the NOT NULL helper stay, NOT VALID (the first validation stopped the run)"
    );
    assert!(!second.unwrap().already_in_sync);
    assert_eq!(still_not_valid, 0);
    assert_eq!(helpers, 0, "no helper check is left behind");
    assert!(third.unwrap().already_in_sync);
}
