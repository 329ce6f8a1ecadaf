//! Timeouts against the real server: a tenant someone holds locked fails alone, quickly,
//! with the `lock` kind, in inspection as in execution.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{ConnectOptions, DatabaseAdapter, Engine, ExecuteOptions, SchemaInspector};

/// How long the holder would keep its lock: inspection must be done well before.
const HOLD: Duration = Duration::from_secs(20);

#[tokio::test]
async fn a_locked_tenant_fails_inspection_alone_with_the_lock_kind() {
    let db = common::db_with(
        &ConnectOptions::default()
            .with_lock_timeout(Some(Duration::from_millis(500)))
            .with_statement_timeout(Some(Duration::from_secs(10))),
    )
    .await;
    let mut tenants = Vec::new();
    // Each tenant of its own shape, so that each is deparsed itself: a clone would get
    // its text from the first tenant of its shape, without touching its own tables.
    for i in 0..3 {
        tenants.push(
            db.create_tenant(
                &unique_tenant_id("tmo_insp"),
                &format!(
                    "CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL DEFAULT 'x{i}' CHECK (name <> ''));
                     CREATE VIEW names AS SELECT name FROM users;"
                ),
            )
            .await
            .unwrap(),
        );
    }
    let locked = &tenants[1];
    let holder = common::admin().await;
    holder
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {}.users IN ACCESS EXCLUSIVE MODE",
            common::qi(locked.namespace())
        ))
        .await
        .unwrap();

    let started = Instant::now();
    let results = tokio::time::timeout(HOLD, db.adapter.inspect_many(&tenants))
        .await
        .expect("inspection must finish while the lock is still held");
    let batch_time = started.elapsed();
    let single = tokio::time::timeout(HOLD, db.adapter.inspect(locked))
        .await
        .expect("a single inspection must time out while the lock is still held");
    holder.batch_execute("ROLLBACK").await.unwrap();

    assert_eq!(results.len(), 3);
    for (i, (tenant, result)) in tenants.iter().zip(&results).enumerate() {
        if i == 1 {
            let err = result.as_ref().unwrap_err();
            assert_eq!(err.kind(), "lock", "{err}");
            assert_eq!(err.tenant(), Some(tenant.id()));
            assert!(err.to_string().contains("lock timeout"), "{err}");
        } else {
            let snapshot = result.as_ref().unwrap_or_else(|e| panic!("{e}"));
            assert!(snapshot.tables["users"].columns["name"].default.is_some());
            assert!(snapshot.views.contains_key("names"));
        }
    }
    let err = single.unwrap_err();
    assert_eq!(err.kind(), "lock", "{err}");
    assert!(batch_time < HOLD / 2, "inspection took {batch_time:?}");
    for t in &tenants {
        db.drop_tenant(t).await.unwrap();
    }
}

#[tokio::test]
async fn a_table_lock_timeout_during_execution_is_a_lock_error() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let tenant = db
        .create_tenant(
            &unique_tenant_id("tmo_exec"),
            "CREATE TABLE accounts (id int PRIMARY KEY, name text);
             INSERT INTO accounts VALUES (1, 'a');",
        )
        .await
        .unwrap();
    let before = db.inspect(&tenant).await;
    let target = db
        .target("CREATE TABLE accounts (id int PRIMARY KEY, name text, note text);")
        .await;
    let (_, plan) = engine.plan(&before, &target).unwrap();

    // A reader holds a share lock: inspection may read, but ALTER TABLE must wait.
    let holder = common::admin().await;
    holder
        .batch_execute(&format!(
            "BEGIN; LOCK TABLE {}.accounts IN ACCESS SHARE MODE",
            common::qi(tenant.namespace())
        ))
        .await
        .unwrap();
    // The struct update keeps this test building when ExecuteOptions gains fields.
    #[allow(clippy::needless_update)]
    let options = ExecuteOptions::default()
        .with_lock_timeout(Duration::from_millis(300))
        .with_statement_timeout(Some(Duration::from_secs(10)));
    let outcome = tokio::time::timeout(HOLD, async {
        let runner = db.adapter.runner();
        let mut lock = runner.acquire_lock(&tenant, &options).await?;
        lock.inspect().await?;
        lock.execute(&plan).await
    })
    .await
    .expect("execution must give up while the lock is still held");
    holder.batch_execute("ROLLBACK").await.unwrap();

    let err = outcome.unwrap_err();
    assert_eq!(err.kind(), "lock", "{err}");
    assert_eq!(err.tenant(), Some(tenant.id()));
    let message = err.to_string();
    assert!(message.contains("ADD COLUMN \"note\""), "{message}");
    assert!(message.contains("rolled back"), "{message}");
    assert_eq!(
        db.inspect(&tenant).await,
        before,
        "the tenant must be unchanged"
    );
    db.drop_tenant(&tenant).await.unwrap();
}
