//! The online strategy against the real server: each change to a live table asks for
//! `ALGORITHM=INSTANT`, then `INPLACE, LOCK=NONE`; a change that needs a table copy is
//! refused without `allow_copy` (before anything runs when it is expected, at run time
//! when only the server knows) and applied with it; and a writer keeps going while an
//! index is built on a table of 200,000 rows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::load::WriterReport;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use schema_sync_core::plan::Algorithm;
use schema_sync_core::{
    DatabaseAdapter, DefaultPlanner, Engine, Error, ExecuteOptions, Operation, Planner,
    SchemaSnapshot, SyncOptions, SyncOutcome, TenantContext,
};
use schema_sync_mysql::OnlinePlanner;

/// An engine planning with `planner`.
fn engine(db: &common::MysqlTestDb, planner: Arc<dyn Planner>) -> Engine {
    let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
    Engine::new(adapter).with_planner(planner)
}

/// Options that execute, copying only when `allow_copy`.
fn options(allow_copy: bool) -> SyncOptions {
    SyncOptions::default()
        .with_execute(true)
        .with_execute_options(
            ExecuteOptions::default()
                .with_lock_timeout(Duration::from_secs(5))
                .with_allow_copy(allow_copy),
        )
}

/// Syncs `tenant` to `target` online.
async fn sync_online(
    db: &common::MysqlTestDb,
    tenant: &TenantContext,
    target: &SchemaSnapshot,
    allow_copy: bool,
) -> Result<SyncOutcome, Error> {
    engine(db, Arc::new(OnlinePlanner))
        .sync_tenant(tenant, target, &options(allow_copy))
        .await
}

/// The statements a sync sent, as sent.
fn sent(outcome: &SyncOutcome) -> Vec<String> {
    outcome
        .execution
        .as_ref()
        .map(|e| e.statements.iter().map(|s| s.sql.clone()).collect())
        .unwrap_or_default()
}

/// The algorithm the plan expected for the first step matching `wanted`.
fn expected(outcome: &SyncOutcome, wanted: fn(&Operation) -> bool) -> Option<Algorithm> {
    outcome
        .plan
        .steps
        .iter()
        .find(|s| wanted(&s.operation))
        .unwrap_or_else(|| panic!("no such step in {:?}", outcome.plan.steps))
        .algorithm
}

async fn assert_converged(
    db: &common::MysqlTestDb,
    tenant: &TenantContext,
    target: &SchemaSnapshot,
) {
    let live = db.inspect(tenant).await;
    assert_eq!(
        live.hash(),
        target.hash(),
        "{} did not converge",
        tenant.id()
    );
}

const LIVE: &str = "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, code INT NULL); \
                    INSERT INTO t VALUES (1, 10, 7), (2, 20, 8);";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nullable_column_goes_instant_and_an_index_in_place() {
    let db = common::db().await;
    let tenant = db.tenant("on_my_instant", LIVE).await;
    let with_column = db
        .target(
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, code INT NULL, note VARCHAR(20) NULL);",
        )
        .await;
    let with_index = db
        .target(
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, code INT NULL, note VARCHAR(20) NULL, KEY t_a_idx (a));",
        )
        .await;
    let column = sync_online(&db, &tenant, &with_column, false).await;
    let index = match &column {
        Ok(_) => Some(sync_online(&db, &tenant, &with_index, false).await),
        Err(_) => None,
    };
    let live = db.inspect(&tenant).await;
    db.cleanup(&tenant).await;
    let column = column.unwrap();
    assert_eq!(
        expected(&column, |o| matches!(o, Operation::AddColumn { .. })),
        Some(Algorithm::Instant)
    );
    assert_eq!(
        sent(&column),
        ["ALTER TABLE `t` ADD COLUMN `note` VARCHAR(20) NULL, ALGORITHM=INSTANT"]
    );
    let index = index.unwrap().unwrap();
    assert_eq!(
        expected(&index, |o| matches!(o, Operation::CreateIndex { .. })),
        Some(Algorithm::Inplace)
    );
    assert_eq!(
        sent(&index),
        ["ALTER TABLE `t` ADD INDEX `t_a_idx` (`a`), ALGORITHM=INPLACE, LOCK=NONE"]
    );
    assert_eq!(live.hash(), with_index.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_change_that_copies_is_refused_without_allow_copy_and_applied_with_it() {
    // int to bigint widens (not destructive) but the server copies the table for it.
    let db = common::db().await;
    let tenant = db
        .tenant(
            "on_my_copy",
            &format!("{LIVE} CREATE TABLE other (id INT PRIMARY KEY);"),
        )
        .await;
    // `other` gains an instant column: the refusal must come before it is added.
    let target = db
        .target(
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, code BIGINT NULL); \
             CREATE TABLE other (id INT PRIMARY KEY, flag INT NULL);",
        )
        .await;
    let refused = sync_online(&db, &tenant, &target, false).await;
    let untouched = db.inspect(&tenant).await;
    let copied = sync_online(&db, &tenant, &target, true).await;
    let live = db.inspect(&tenant).await;
    let mut conn = db.admin.get_conn().await.unwrap();
    let codes: Vec<i64> = conn
        .query(format!(
            "SELECT code FROM `{}`.t ORDER BY id",
            tenant.namespace()
        ))
        .await
        .unwrap();
    drop(conn);
    db.cleanup(&tenant).await;
    match refused {
        Err(Error::Unsupported {
            tenant: Some(id),
            object,
            message,
        }) => {
            assert_eq!(&id, tenant.id());
            assert!(object.contains("table `t`"), "{object}");
            assert!(object.contains("code"), "{object}");
            assert!(message.contains("ALGORITHM=COPY"), "{message}");
            assert!(message.contains("--allow-copy"), "{message}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        !untouched.tables["other"].columns.contains_key("flag"),
        "nothing runs before the refusal"
    );
    let copied = copied.unwrap();
    let statements = sent(&copied);
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("ALTER TABLE `t` MODIFY COLUMN `code`")
                && !s.contains("ALGORITHM")),
        "the copy runs as plain runs it: {statements:?}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s.starts_with("ALTER TABLE `other`") && s.ends_with("ALGORITHM=INSTANT")),
        "{statements:?}"
    );
    assert_eq!(live.hash(), target.hash());
    assert_eq!(codes, [7, 8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_the_server_refuses_online_at_run_time_fails_naming_it() {
    let db = common::db().await;
    let tenant = db
        .tenant(
            "on_my_fulltext",
            "CREATE TABLE docs (id INT PRIMARY KEY, body TEXT NULL); \
             INSERT INTO docs VALUES (1, 'hello world');",
        )
        .await;
    // The first FULLTEXT index of a table needs a shared lock: the plan expects it in
    // place, the server refuses LOCK=NONE.
    let target = db
        .target("CREATE TABLE docs (id INT PRIMARY KEY, body TEXT NULL, FULLTEXT KEY docs_body (body));")
        .await;
    let refused = sync_online(&db, &tenant, &target, false).await;
    let untouched = db.inspect(&tenant).await;
    let allowed = sync_online(&db, &tenant, &target, true).await;
    let live = db.inspect(&tenant).await;
    db.cleanup(&tenant).await;
    match refused {
        Err(Error::Execute {
            step,
            statement,
            steps_succeeded,
            rolled_back,
            source,
            ..
        }) => {
            assert!(step.contains("docs_body"), "{step}");
            assert!(statement.starts_with("ALTER TABLE `docs`"), "{statement}");
            assert_eq!(steps_succeeded, 0);
            assert!(!rolled_back);
            let message = source.to_string();
            assert!(
                message.contains("cannot change table `docs` online"),
                "{message}"
            );
            assert!(message.contains("LOCK=NONE"), "{message}");
            assert!(message.contains("--allow-copy"), "{message}");
        }
        other => panic!("expected a run-time refusal, got {other:?}"),
    }
    assert!(untouched.tables["docs"].indexes.is_empty());
    let allowed = allowed.unwrap();
    assert_eq!(
        expected(&allowed, |o| matches!(o, Operation::CreateIndex { .. })),
        Some(Algorithm::Inplace)
    );
    assert_eq!(live.hash(), target.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_script_shows_the_expected_algorithm_of_each_statement() {
    let db = common::db().await;
    let tenant = db.tenant("on_my_script", LIVE).await;
    let target = db
        .target(
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL, code VARCHAR(20) NULL); \
             CREATE TABLE fresh (id INT PRIMARY KEY, KEY fresh_id (id));",
        )
        .await;
    let live = db.inspect(&tenant).await;
    let (_, plan) = engine(&db, Arc::new(OnlinePlanner))
        .plan(&live, &target)
        .unwrap();
    let script = db.adapter.runner().render(&tenant, &plan).await;
    db.cleanup(&tenant).await;
    let script = script.unwrap();
    assert!(
        script
            .iter()
            .any(|s| s.starts_with("ALTER TABLE `t` MODIFY COLUMN `code`")
                && s.ends_with(", ALGORITHM=COPY")),
        "{script:?}"
    );
    assert!(
        script
            .iter()
            .any(|s| s.starts_with("CREATE TABLE `fresh`") && !s.contains("ALGORITHM")),
        "a new table is created as it is: {script:?}"
    );
}

/// Every kind of change converges online when copying is allowed: each of these plans
/// holds changes the server can only copy for (a check, a stored column, a collation,
/// a generation switch), so its `ALTER TABLE` is asked for `INSTANT` and `INPLACE`,
/// refused, and run as plain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_change_converges_online_with_allow_copy() {
    let db = common::db().await;
    let seed = "INSERT INTO customers (email, name) VALUES ('a@example.com', 'A'), ('b@example.com', 'B');";
    let virtual_column = "CREATE TABLE g (id INT PRIMARY KEY, a INT NULL, \
                            v INT AS (a * 2) VIRTUAL, KEY ix_v (v, id), UNIQUE KEY uq_v (v));";
    let stored_column = "CREATE TABLE g (id INT PRIMARY KEY, a INT NULL, \
                           v INT AS (a * 2) STORED, KEY ix_v (v, id), UNIQUE KEY uq_v (v) COMMENT 'v');";
    for (from, rows, to) in [
        (common::RICH_OLD, seed, common::RICH_TEMPLATE),
        (common::RICH_TEMPLATE, seed, common::RICH_OLD),
        (
            virtual_column,
            "INSERT INTO g (id, a) VALUES (1, 1);",
            stored_column,
        ),
    ] {
        let tenant = db.tenant("on_my_every", from).await;
        db.run(&tenant, rows).await;
        let target = db.target(to).await;
        let synced = engine(&db, Arc::new(OnlinePlanner))
            .sync_tenant(
                &tenant,
                &target,
                &options(true).with_allow_destructive(true),
            )
            .await;
        let live = db.inspect(&tenant).await;
        let twin = db.tenant("on_my_twin", to).await;
        // Triggers the sync created are spelled as rendered, the twin's as typed.
        let (synced_dump, twin_dump) = (
            common::spelling_aside(&common::mariadb_dump(tenant.namespace())),
            common::spelling_aside(&common::mariadb_dump(twin.namespace())),
        );
        db.cleanup(&tenant).await;
        db.cleanup(&twin).await;
        if let Err(e) = synced {
            panic!("{e}");
        }
        assert_eq!(live.hash(), target.hash(), "{to}");
        assert_eq!(
            synced_dump, twin_dump,
            "the dump differs from a twin's: {to}"
        );
    }
}

// ---- under load ----

/// Rows of the loaded table.
const ROWS: u64 = 200_000;

/// The lock timeout of the online run.
const LOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// What a writer may wait beyond the lock timeout: the brief exclusive metadata locks
/// at the start and end of an in-place build, and scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_millis(800);

/// 200,000 rows from a cross join of digits (portable: no sequence engine, no deep
/// recursion).
const LOADED: &str = "
CREATE TABLE digits (d INT PRIMARY KEY);
INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9);
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, amount INT NOT NULL, email VARCHAR(60) NULL);
INSERT INTO orders (amount, email)
  SELECT 1 + n % 1000, CONCAT('u', n, '@example.com') FROM (
    SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d + 100000 * g.d AS n
    FROM digits a, digits b, digits c, digits e, digits f, digits g
  ) s WHERE n < 200000;";

const LOADED_TARGET: &str = "
CREATE TABLE digits (d INT PRIMARY KEY);
CREATE TABLE orders (
  id BIGINT AUTO_INCREMENT PRIMARY KEY,
  amount INT NOT NULL,
  email VARCHAR(60) NULL,
  note VARCHAR(20) NULL,
  KEY orders_amount_idx (amount),
  KEY orders_email_idx (email)
);";

/// Inserts and updates `orders` of `database` until `stop`, timing each statement.
async fn writer(pool: mysql_async::Pool, database: String, stop: Arc<AtomicBool>) -> WriterReport {
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop(format!("USE `{database}`")).await.unwrap();
    let mut report = WriterReport::default();
    let mut n: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        n += 1;
        let statement = if n.is_multiple_of(2) {
            format!(
                "INSERT INTO orders (amount, email) VALUES ({}, 'w{n}@example.com')",
                1 + n % 1000
            )
        } else {
            format!(
                "UPDATE orders SET amount = amount + 1 WHERE id = {}",
                1 + (n * 7919) % ROWS
            )
        };
        let started = Instant::now();
        let outcome = conn.query_drop(statement.as_str()).await;
        report.record(&statement, started, outcome);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    report
}

/// `LOADED` with `orders.amount` widened to `BIGINT`: the server copies the table.
const COPYING_TARGET: &str = "
CREATE TABLE digits (d INT PRIMARY KEY);
CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, amount BIGINT NOT NULL, email VARCHAR(60) NULL);";

/// Syncs a loaded tenant to `target` with `planner` while a writer runs.
async fn sync_under_load(
    db: &common::MysqlTestDb,
    prefix: &str,
    planner: Arc<dyn Planner>,
    target: &str,
) -> (Result<SyncOutcome, Error>, WriterReport, TenantContext) {
    let tenant = db.tenant(prefix, LOADED).await;
    let target = db.target(target).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writing = tokio::spawn(writer(
        db.admin.clone(),
        tenant.namespace().to_string(),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let synced = engine(db, planner)
        .sync_tenant(
            &tenant,
            &target,
            &SyncOptions::default()
                .with_execute(true)
                .with_execute_options(ExecuteOptions::default().with_lock_timeout(LOCK_TIMEOUT)),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    let report = writing.await.unwrap();
    (synced, report, tenant)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_keeps_going_while_indexes_are_built_online() {
    let db = common::db().await;
    let (online, online_writer, online_tenant) =
        sync_under_load(&db, "on_my_load", Arc::new(OnlinePlanner), LOADED_TARGET).await;
    let (plain, plain_writer, plain_tenant) =
        sync_under_load(&db, "on_my_plain", Arc::new(DefaultPlanner), LOADED_TARGET).await;
    // The contrast MariaDB shows: plain builds an index in place without a lock as well,
    // but a change that copies the table stalls the writer; online refuses it.
    let (copied, copy_writer, copy_tenant) = sync_under_load(
        &db,
        "on_my_copy_plain",
        Arc::new(DefaultPlanner),
        COPYING_TARGET,
    )
    .await;
    let (refused, refused_writer, refused_tenant) = sync_under_load(
        &db,
        "on_my_copy_online",
        Arc::new(OnlinePlanner),
        COPYING_TARGET,
    )
    .await;
    let target = db.target(LOADED_TARGET).await;
    let copying = db.target(COPYING_TARGET).await;
    for tenant in [&online_tenant, &plain_tenant] {
        assert_converged(&db, tenant, &target).await;
    }
    assert_converged(&db, &copy_tenant, &copying).await;
    let refused_live = db.inspect(&refused_tenant).await;
    for tenant in [&online_tenant, &plain_tenant, &copy_tenant, &refused_tenant] {
        db.cleanup(tenant).await;
    }
    assert_ne!(refused_live.hash(), copying.hash(), "online must not copy");
    assert!(
        matches!(refused, Err(Error::Unsupported { .. })),
        "{refused:?}"
    );
    copied.unwrap();
    eprintln!(
        "copying change: plain stalls the writer {} ms ({} statements); online refuses it, writer's longest wait {} ms",
        copy_writer.longest.as_millis(),
        copy_writer.statements,
        refused_writer.longest.as_millis()
    );
    assert!(copy_writer.errors.is_empty(), "{:?}", copy_writer.errors);
    assert!(
        copy_writer.longest > refused_writer.longest,
        "copying the table should stall the writer longer than refusing it: {} ms vs {} ms",
        copy_writer.longest.as_millis(),
        refused_writer.longest.as_millis()
    );
    let online = online.unwrap();
    let plain = plain.unwrap();
    let took = |o: &SyncOutcome| o.execution.as_ref().map_or(0, |e| e.duration_ms);
    eprintln!(
        "online ({} ms, {:?}): writer ran {} statements, longest stall {} ms; plain ({} ms): {} statements, longest stall {} ms",
        took(&online),
        sent(&online),
        online_writer.statements,
        online_writer.longest.as_millis(),
        took(&plain),
        plain_writer.statements,
        plain_writer.longest.as_millis()
    );
    assert!(
        sent(&online)
            .iter()
            .all(|s| s.ends_with("ALGORITHM=INPLACE, LOCK=NONE")),
        "{:?}",
        sent(&online)
    );
    online_writer.assert_undisturbed("online", LOCK_TIMEOUT + MARGIN);
    assert!(plain_writer.errors.is_empty(), "{:?}", plain_writer.errors);
    assert!(online_writer.statements > 10, "{online_writer:?}");
}
