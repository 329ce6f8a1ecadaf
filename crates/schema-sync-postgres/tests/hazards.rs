//! Hazards on PostgreSQL: the lock level each step takes, and `plan --check-data`
//! counting, read-only, the rows a new `NOT NULL`, `CHECK`, `UNIQUE` or foreign key would
//! fail on and the rows that hold data in a column that would be dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{
    CHECK_DATA_FROM, CHECK_DATA_TO, TestDatabase, check_data_counts_rows, unique_tenant_id,
};
use schema_sync_core::{Engine, Hazard, Operation};

#[tokio::test]
async fn check_data_counts_the_rows_each_step_would_fail_on_or_lose() {
    let db = common::db().await;
    check_data_counts_rows(&db, "hz_pg").await.unwrap();
}

#[tokio::test]
async fn steps_name_the_lock_they_take() {
    let db = common::db().await;
    let adapter = db.dyn_adapter();
    let tenant = db
        .create_tenant(&unique_tenant_id("hz_pg_lock"), CHECK_DATA_FROM)
        .await
        .unwrap();
    let live = db.inspect(&tenant).await;
    let target = db
        .target(&format!(
            "{CHECK_DATA_TO} CREATE INDEX users_age_idx ON users (age);
             CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
             CREATE TRIGGER users_stamp BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION stamp();"
        ))
        .await;
    let (_, plan) = Engine::new(adapter).plan(&live, &target).unwrap();
    db.drop_tenant(&tenant).await.unwrap();
    let hazards_of = |wanted: fn(&Operation) -> bool| {
        plan.steps
            .iter()
            .find(|s| wanted(&s.operation))
            .map(|s| s.hazards.clone())
            .unwrap_or_else(|| panic!("no such step in {plan:#?}"))
    };
    let index = hazards_of(|o| matches!(o, Operation::CreateIndex { .. }));
    assert_eq!(
        index,
        [Hazard::BlocksWrites, Hazard::BuildsIndex, Hazard::ShareLock]
    );
    let not_null = hazards_of(|o| matches!(o, Operation::AlterColumn { .. }));
    assert_eq!(
        not_null,
        [
            Hazard::ValidatesRows,
            Hazard::MayFailOnRows,
            Hazard::AccessExclusiveLock
        ]
    );
    let fk = hazards_of(|o| matches!(o, Operation::AddForeignKey { .. }));
    assert!(fk.contains(&Hazard::ShareRowExclusiveLock), "{fk:?}");
    assert!(!fk.contains(&Hazard::AccessExclusiveLock), "{fk:?}");
    let trigger = hazards_of(|o| matches!(o, Operation::CreateTrigger { .. }));
    assert_eq!(trigger, [Hazard::ShareRowExclusiveLock]);
    let drop = hazards_of(|o| matches!(o, Operation::DropColumn { .. }));
    assert_eq!(drop, [Hazard::DataLoss, Hazard::AccessExclusiveLock]);
    assert!(
        plan.steps
            .iter()
            .all(|s| !s.hazards.contains(&Hazard::AlgorithmCopy))
    );
}
