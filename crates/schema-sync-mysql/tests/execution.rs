//! Execution against the real server: partial progress on failure and convergence on
//! re-run, serialised concurrent syncs, the lock's timeout and release on every path.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use schema_sync_core::{
    DatabaseAdapter, Engine, Error, ExecuteOptions, Result, SyncOptions, SyncOutcome,
};

fn sync_options(lock_timeout: Duration) -> SyncOptions {
    SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true)
        .with_execute_options(
            ExecuteOptions::default()
                .with_lock_timeout(lock_timeout)
                .with_statement_timeout(Some(Duration::from_secs(30))),
        )
}

fn engine(db: &common::MysqlTestDb) -> Engine {
    let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
    Engine::new(adapter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_mid_plan_reports_progress_and_a_rerun_converges() {
    let db = common::db().await;
    let from = "CREATE TABLE a (id INT PRIMARY KEY); \
                CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(10) NULL);";
    let to = "CREATE TABLE a (id INT PRIMARY KEY, name VARCHAR(20) NULL); \
              CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(10) NULL, UNIQUE KEY uq_b_v (v)); \
              CREATE TABLE c (id INT PRIMARY KEY);";
    let tenant = db.tenant("exec_fail", from).await;
    let result: Result<()> = async {
        db.run(&tenant, "INSERT INTO b VALUES (1, 'dup'), (2, 'dup')")
            .await;
        let target = db.target(to).await;
        let engine = engine(&db);
        // A short lock timeout: a lock left held by the failure would fail the re-run.
        let options = sync_options(Duration::from_secs(1));
        match engine.sync_tenant(&tenant, &target, &options).await {
            Err(Error::Execute {
                steps_succeeded,
                steps_total,
                statement,
                rolled_back,
                step,
                ..
            }) => {
                assert!(!rolled_back);
                assert_eq!(steps_total, 3, "{step}");
                assert_eq!(steps_succeeded, 2, "{step}");
                assert!(statement.contains("ALTER TABLE `b`"), "{statement}");
                assert!(step.contains("uq_b_v"), "{step}");
            }
            other => panic!("expected an execution error, got {other:?}"),
        }
        let live = db.inspect(&tenant).await;
        assert!(live.tables.contains_key("c"));
        assert!(live.tables["a"].columns.contains_key("name"));
        db.run(&tenant, "DELETE FROM b WHERE id = 2").await;
        let rerun = engine.sync_tenant(&tenant, &target, &options).await?;
        assert_eq!(rerun.plan.steps.len(), 1, "only the failed step is left");
        assert_eq!(db.inspect(&tenant).await.hash(), target.hash());
        let again = engine.sync_tenant(&tenant, &target, &options).await?;
        assert!(again.already_in_sync);
        Ok(())
    }
    .await;
    db.cleanup(&tenant).await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_syncs_of_one_tenant_serialise() {
    let db = common::db().await;
    let tenant = db
        .tenant("exec_conc", "CREATE TABLE t (id INT PRIMARY KEY);")
        .await;
    let target = db.target(common::RICH_TEMPLATE).await;
    let engine = engine(&db);
    let options = sync_options(Duration::from_secs(60));
    let (first, second) = tokio::join!(
        engine.sync_tenant(&tenant, &target, &options),
        engine.sync_tenant(&tenant, &target, &options)
    );
    let live = db.inspect(&tenant).await;
    db.cleanup(&tenant).await;
    let outcomes: Vec<SyncOutcome> = [first, second]
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("a concurrent sync failed: {e}")))
        .collect();
    let executed = outcomes.iter().filter(|o| o.execution.is_some()).count();
    assert_eq!(
        executed, 1,
        "exactly one sync applies the plan, the other finds it done"
    );
    assert_eq!(live.hash(), target.hash());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_times_out_and_is_released_on_every_path() {
    let db = common::db().await;
    let tenant = db
        .tenant("exec_lock", "CREATE TABLE t (id INT PRIMARY KEY);")
        .await;
    let runner = db.adapter.runner();
    let short = ExecuteOptions::default()
        .with_lock_timeout(Duration::from_millis(300))
        .with_statement_timeout(None);
    let result: Result<()> = async {
        let held = runner.acquire_lock(&tenant, &short).await?;
        let started = Instant::now();
        match runner.acquire_lock(&tenant, &short).await {
            Err(Error::Lock { message, .. }) => {
                assert!(message.contains("lock timeout"), "{message}");
            }
            Err(other) => panic!("expected a lock error, got {other}"),
            Ok(_) => panic!("the lock was granted twice"),
        }
        assert!(started.elapsed() < Duration::from_secs(5));
        // Dropped without release: the lock goes anyway.
        drop(held);
        let again = acquire_within(&db, &tenant, Duration::from_secs(5)).await?;
        again.release().await?;
        let mut third = acquire_within(&db, &tenant, Duration::from_secs(1)).await?;
        assert!(third.inspect().await?.tables.contains_key("t"));
        let empty = engine(&db)
            .plan(&third.inspect().await?, &third.inspect().await?)?
            .1;
        let done = third.execute(&empty).await?;
        assert_eq!(done.steps_total, 0);
        // Released after execute.
        acquire_within(&db, &tenant, Duration::from_secs(1))
            .await?
            .release()
            .await
    }
    .await;
    db.cleanup(&tenant).await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn acquire_within(
    db: &common::MysqlTestDb,
    tenant: &schema_sync_core::TenantContext,
    timeout: Duration,
) -> Result<Box<dyn schema_sync_core::TenantLock>> {
    let options = ExecuteOptions::default()
        .with_lock_timeout(timeout)
        .with_statement_timeout(None);
    db.adapter.runner().acquire_lock(tenant, &options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_sql_is_quoted_and_combined() {
    let db = common::db().await;
    let tenant = db
        .tenant(
            "exec_render",
            "CREATE TABLE t (id INT PRIMARY KEY, a INT NULL);",
        )
        .await;
    let target = db
        .target(
            "CREATE TABLE t (id INT PRIMARY KEY, a BIGINT NULL, b VARCHAR(10) NULL, \
             KEY ix_b (b), CONSTRAINT chk_t CHECK (a > 0));",
        )
        .await;
    let live = db.inspect(&tenant).await;
    let result = async {
        let (_, plan) = engine(&db).plan(&live, &target)?;
        db.adapter.runner().render(&tenant, &plan).await
    }
    .await;
    db.cleanup(&tenant).await;
    let sql = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sql.len(), 2, "{sql:?}");
    assert_eq!(sql[0], format!("USE `{}`", tenant.namespace()));
    // One statement; the clauses follow the plan's step order, which is the planner's.
    let clauses = sql[1]
        .strip_prefix("ALTER TABLE `t` ")
        .unwrap_or_else(|| panic!("{}", sql[1]));
    let mut clauses: Vec<&str> = clauses.split(", ").collect();
    clauses.sort_unstable();
    assert_eq!(
        clauses,
        [
            "ADD COLUMN `b` VARCHAR(10) NULL",
            "ADD CONSTRAINT `chk_t` CHECK (`a` > 0)",
            "ADD INDEX `ix_b` (`b`)",
            "MODIFY COLUMN `a` BIGINT NULL",
        ]
    );
}

/// A table lock held by another session (an open transaction that read the table holds
/// its metadata lock) makes the `ALTER TABLE` wait `lock_wait_timeout`, set from the
/// execute options: the tenant fails with a lock error, not an execution error, naming
/// the waiting statement and exactly the statements applied before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_lock_held_elsewhere_fails_the_tenant_with_a_lock_error() {
    use mysql_async::prelude::Queryable;

    let db = common::db().await;
    let tenant = db
        .tenant("exec_mdl", "CREATE TABLE t (id INT PRIMARY KEY);")
        .await;
    let result: Result<()> = async {
        let target = db
            .target(
                "CREATE TABLE a_new (id INT PRIMARY KEY); \
                 CREATE TABLE t (id INT PRIMARY KEY, extra INT NULL);",
            )
            .await;
        let opts = mysql_async::Opts::from_url(&common::url())
            .map_err(|e| Error::config(e.to_string()))?;
        let mut blocker = mysql_async::Conn::new(opts)
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        let hold = format!(
            "USE `{}`; START TRANSACTION; SELECT * FROM t;",
            tenant.namespace()
        );
        blocker
            .query_drop(hold)
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        let options = sync_options(Duration::from_secs(1));
        let started = Instant::now();
        let outcome = engine(&db).sync_tenant(&tenant, &target, &options).await;
        let waited = started.elapsed();
        let _ = blocker.query_drop("ROLLBACK").await;
        let _ = blocker.disconnect().await;
        match outcome {
            Err(e @ Error::Lock { .. }) => {
                assert_eq!(e.kind(), "lock");
                let Error::Lock {
                    message, progress, ..
                } = &e
                else {
                    unreachable!()
                };
                // The same progress, as data for JSON and the fault suite.
                let progress = progress
                    .as_ref()
                    .unwrap_or_else(|| panic!("no progress: {message}"));
                assert_eq!((progress.steps_succeeded, progress.steps_total), (1, 2));
                assert!(!progress.rolled_back);
                assert!(progress.statement.contains("ALTER TABLE `t`"));
                assert!(message.contains("ALTER TABLE `t`"), "{message}");
                assert!(message.contains("1 of 2 steps were applied"), "{message}");
                assert!(message.contains("`CREATE TABLE `a_new`"), "{message}");
                assert!(message.contains("1s (lock_wait_timeout)"), "{message}");
            }
            Err(other) => panic!("expected a lock error, got {} {other}", other.kind()),
            Ok(_) => panic!("the ALTER TABLE went through a held table lock"),
        }
        assert!(waited < Duration::from_secs(10), "waited {waited:?}");
        let live = db.inspect(&tenant).await;
        assert!(live.tables.contains_key("a_new"));
        assert!(!live.tables["t"].columns.contains_key("extra"));
        // Once the blocker is gone, a re-run finishes the plan.
        let rerun = engine(&db).sync_tenant(&tenant, &target, &options).await?;
        assert_eq!(rerun.plan.steps.len(), 1);
        Ok(())
    }
    .await;
    db.cleanup(&tenant).await;
    if let Err(e) = result {
        panic!("{e}");
    }
}
