//! The shared conformance suite of schema-sync, run against the real MySQL/MariaDB server.

mod common;

use schema_sync_core::testing::conformance;

use common::{RICH_OLD as OLD, RICH_TEMPLATE};

fn ok<T>(result: schema_sync_core::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clone_of_rich_template_diffs_empty() {
    let db = common::db().await;
    let snapshot = ok(conformance::clone_of_template_diffs_empty(&db, RICH_TEMPLATE).await);
    assert_eq!(snapshot.tables.len(), 2);
    assert_eq!(snapshot.views.len(), 2);
    assert!(
        snapshot.unsupported.is_empty(),
        "{:?}",
        snapshot.unsupported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_empty_and_old_versions_converges() {
    let db = common::db().await;
    ok(conformance::sync_converges(&db, "", "", RICH_TEMPLATE).await);
    let old = r#"
        CREATE TABLE customers (
          id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
          email VARCHAR(100) NOT NULL,
          name VARCHAR(50) NULL,
          legacy_code CHAR(4) NULL,
          KEY idx_customers_legacy (legacy_code)
        );
        CREATE TABLE obsolete (id INT PRIMARY KEY);
        CREATE VIEW customer_totals AS SELECT id, email FROM customers;
    "#;
    let seed = "INSERT INTO customers (email, name) VALUES ('a@example.com', 'A'), ('b@example.com', 'B');";
    ok(conformance::sync_converges(&db, old, seed, RICH_TEMPLATE).await);
    ok(conformance::sync_converges(&db, RICH_TEMPLATE, "", old).await);
    ok(conformance::sync_converges(&db, RICH_TEMPLATE, "", RICH_TEMPLATE).await);
    // Widening a key that foreign keys reference, on both sides of the reference.
    let narrow = "CREATE TABLE p (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY); \
                  CREATE TABLE c (id INT PRIMARY KEY, p_id INT NOT NULL, \
                    CONSTRAINT fk_c_p FOREIGN KEY (p_id) REFERENCES p (id));";
    let wide = "CREATE TABLE p (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY); \
                CREATE TABLE c (id INT PRIMARY KEY, p_id BIGINT NOT NULL, \
                  CONSTRAINT fk_c_p FOREIGN KEY (p_id) REFERENCES p (id));";
    let rows = "INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (10, 1), (20, 2);";
    ok(conformance::sync_converges(&db, narrow, rows, wide).await);
    // Generation changes are drop-and-add: the indexes using the column must survive.
    let virtual_column = "CREATE TABLE g (id INT PRIMARY KEY, a INT NULL, \
                            v INT AS (a * 2) VIRTUAL, KEY ix_v (v, id), UNIQUE KEY uq_v (v));";
    let stored_column = "CREATE TABLE g (id INT PRIMARY KEY, a INT NULL, \
                           v INT AS (a * 2) STORED, KEY ix_v (v, id), UNIQUE KEY uq_v (v));";
    let plain_column = "CREATE TABLE g (id INT PRIMARY KEY, a INT NULL, \
                          v INT NULL, KEY ix_v (v, id), UNIQUE KEY uq_v (v));";
    let rows = "INSERT INTO g (id, a) VALUES (1, 1), (2, 2);";
    ok(conformance::sync_converges(&db, virtual_column, rows, stored_column).await);
    ok(conformance::sync_converges(&db, stored_column, rows, plain_column).await);
    ok(conformance::sync_converges(&db, plain_column, "", virtual_column).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destructive_changes_are_refused_naming_the_object() {
    let db = common::db().await;
    let from = "CREATE TABLE accounts (id INT PRIMARY KEY, legacy VARCHAR(10), amount BIGINT);";
    let drop_column = "CREATE TABLE accounts (id INT PRIMARY KEY, amount BIGINT);";
    ok(conformance::destructive_change_is_refused(&db, from, drop_column, "accounts.legacy").await);
    let narrow = "CREATE TABLE accounts (id INT PRIMARY KEY, legacy VARCHAR(10), amount INT);";
    ok(conformance::destructive_change_is_refused(&db, from, narrow, "accounts.amount").await);
    ok(conformance::destructive_change_is_refused(&db, from, "", "drop table accounts").await);
}

const HOSTILE_FROM: &str = "CREATE TABLE t (id INT PRIMARY KEY, old_name VARCHAR(10));";
const HOSTILE_TO: &str = r#"
    CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'x',
      parent INT NULL, CONSTRAINT fk_t_parent FOREIGN KEY (parent) REFERENCES t (id));
    CREATE TABLE u (id INT PRIMARY KEY, t_id INT, CONSTRAINT fk_u_t FOREIGN KEY (t_id) REFERENCES t (id));
    CREATE VIEW v AS SELECT t.id, t.name FROM t JOIN u ON u.t_id = t.id;
    CREATE TRIGGER trg BEFORE INSERT ON u FOR EACH ROW SET NEW.t_id = NEW.t_id;
"#;

schema_sync_core::conformance_tests! {
    database: common::db().await,
    template: RICH_TEMPLATE,
    template_rows: "INSERT INTO customers (email, name) VALUES ('a@example.com', 'A'), ('b@example.com', 'B');",
    changed: OLD,
    destructive: (
        "CREATE TABLE accounts (id INT PRIMARY KEY, legacy VARCHAR(10), amount BIGINT);",
        "CREATE TABLE accounts (id INT PRIMARY KEY, amount BIGINT);",
        "accounts.legacy",
    ),
    hostile: (HOSTILE_FROM, HOSTILE_TO),
}
