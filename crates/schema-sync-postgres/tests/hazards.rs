//! Hazards on PostgreSQL: the lock level each step takes, and `plan --check-data`
//! counting, read-only, the rows a new `NOT NULL`, `CHECK`, `UNIQUE` or foreign key would
//! fail on and the rows that hold data in a column that would be dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{
    TestDatabase, check_data_counts_rows, unique_tenant_id,
};
use schema_sync_core::{Engine, Hazard, Operation};

const FROM: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE users (id int PRIMARY KEY, email text, age int, code text, team_id int, legacy text);
INSERT INTO teams VALUES (1);
INSERT INTO users VALUES
    (1, NULL, 10, 'a', 1, 'x'),
    (2, NULL, 20, 'a', 7, NULL),
    (3, 'c@x', -5, 'a', NULL, 'y'),
    (4, 'd@x', 30, 'b', 8, NULL),
    (5, 'e@x', -1, NULL, 1, NULL),
    (6, 'f@x', 40, NULL, 1, NULL);
";

const TO: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE users (
    id int PRIMARY KEY,
    email text NOT NULL,
    age int CONSTRAINT users_age_check CHECK (age >= 0),
    code text CONSTRAINT users_code_key UNIQUE,
    team_id int CONSTRAINT users_team_fk REFERENCES teams (id)
);
";

#[tokio::test]
async fn check_data_counts_the_rows_each_step_would_fail_on_or_lose() {
    let db = common::db().await;
    check_data_counts_rows(
        &db,
        "hz_pg",
        FROM,
        TO,
        &[
            "2 rows in `users` hold data in `legacy`",
            "2 rows in `users` have NULL in `email`",
            "2 rows in `users` violate check `users_age_check`",
            "3 rows in `users` share a value of (`code`) with another row",
            "2 rows in `users` have no matching row in `teams` (foreign key `users_team_fk`)",
        ],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn steps_name_the_lock_they_take() {
    let db = common::db().await;
    let adapter = db.dyn_adapter();
    let tenant = db
        .create_tenant(&unique_tenant_id("hz_pg_lock"), FROM)
        .await
        .unwrap();
    let live = db.inspect(&tenant).await;
    let target = db
        .target(&format!(
            "{TO} CREATE INDEX users_age_idx ON users (age);
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
