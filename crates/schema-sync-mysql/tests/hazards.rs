//! Hazards on MySQL/MariaDB: which steps the server can only run as `ALGORITHM=COPY`,
//! and `plan --check-data` counting, read-only, the rows a new `NOT NULL`, `CHECK`,
//! `UNIQUE` or foreign key would fail on and the rows holding data in a dropped column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::check_data_counts_rows;
use schema_sync_core::{Engine, Hazard, Operation};

const FROM: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE users (id int PRIMARY KEY, email varchar(100), age int, code varchar(20), team_id int, legacy varchar(50));
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
    email varchar(100) NOT NULL,
    age int,
    code varchar(20),
    team_id int,
    CONSTRAINT users_age_check CHECK (age >= 0),
    UNIQUE KEY users_code_key (code),
    CONSTRAINT users_team_fk FOREIGN KEY (team_id) REFERENCES teams (id)
);
";

#[tokio::test]
async fn check_data_counts_the_rows_each_step_would_fail_on_or_lose() {
    let db = common::db().await;
    check_data_counts_rows(
        &db,
        "hz_my",
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
async fn checks_foreign_keys_and_type_changes_copy_the_table() {
    let db = common::db().await;
    let tenant = db.tenant("hz_my_copy", FROM).await;
    let live = db.inspect(&tenant).await;
    let target = db
        .target(
            &TO.replace("age int,", "age bigint,")
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
