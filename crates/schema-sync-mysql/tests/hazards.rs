//! Hazards on MySQL/MariaDB: which steps the server can only run as `ALGORITHM=COPY`,
//! and `plan --check-data` counting, read-only, the rows a new `NOT NULL`, `CHECK`,
//! `UNIQUE` or foreign key would fail on and the rows holding data in a dropped column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{
    CHECK_DATA_FROM, CHECK_DATA_TO, check_data_counts_rows,
};
use schema_sync_core::{Engine, Hazard, Operation};

#[tokio::test]
async fn check_data_counts_the_rows_each_step_would_fail_on_or_lose() {
    let db = common::db().await;
    check_data_counts_rows(&db, "hz_my").await.unwrap();
}

#[tokio::test]
async fn checks_foreign_keys_and_type_changes_copy_the_table() {
    let db = common::db().await;
    let tenant = db.tenant("hz_my_copy", CHECK_DATA_FROM).await;
    let live = db.inspect(&tenant).await;
    let target = db
        .target(
            &CHECK_DATA_TO
                .replace("age int,", "age bigint,")
                .replace("code varchar(20)", "code varchar(60)"),
        )
        .await;
    let (_, plan) = Engine::new(db.adapter.clone())
        .plan(&live, &target)
        .unwrap();
    db.cleanup(&tenant).await;
    let copies = |wanted: fn(&Operation) -> bool| {
        plan.steps
            .iter()
            .filter(|s| wanted(&s.operation))
            .map(|s| s.hazards.contains(&Hazard::AlgorithmCopy))
            .collect::<Vec<_>>()
    };
    assert_eq!(copies(|o| matches!(o, Operation::AddCheck { .. })), [true]);
    assert_eq!(
        copies(|o| matches!(o, Operation::AddForeignKey { .. })),
        [true]
    );
    let altered: Vec<(String, bool)> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::AlterColumn { name, .. } => {
                Some((name.clone(), s.hazards.contains(&Hazard::AlgorithmCopy)))
            }
            _ => None,
        })
        .collect();
    // age changes type (copy); code only grows (in place on MariaDB); email only gains
    // NOT NULL (in place).
    assert!(altered.contains(&("age".into(), true)), "{altered:?}");
    assert!(altered.contains(&("email".into(), false)), "{altered:?}");
    if db.adapter.is_mariadb() {
        assert!(altered.contains(&("code".into(), false)), "{altered:?}");
    }
    assert!(
        plan.steps
            .iter()
            .all(|s| !s.hazards.contains(&Hazard::AccessExclusiveLock)),
        "PostgreSQL lock levels on a MySQL plan"
    );
}
