//! Every kind of drift is found, fixed by one sync, and a second sync is a no-op.

mod common;

use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::{DatabaseAdapter, Engine, SchemaSnapshot, SyncOptions};

use common::{MysqlTestDb, RICH_TEMPLATE};

fn template() -> String {
    format!(
        "{RICH_TEMPLATE}\nCREATE TABLE settings (k VARCHAR(50) NOT NULL PRIMARY KEY, v TEXT NULL, \
         n INT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"
    )
}

/// Makes each drift in turn on a fresh clone of the template and checks it is fixed.
async fn check_drifts(db: &MysqlTestDb, target: &SchemaSnapshot, drifts: &[&str]) {
    let adapter: std::sync::Arc<dyn DatabaseAdapter> = db.adapter.clone();
    let engine = Engine::new(adapter);
    let options = SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true);
    for drift in drifts {
        let tenant = db.tenant("drift", &template()).await;
        let result: schema_sync_core::Result<()> = async {
            db.execute(&tenant, drift).await?;
            let drifted = db.inspect(&tenant).await;
            let (diff, _) = engine.plan(&drifted, target)?;
            assert!(!diff.is_empty(), "drift not found: {drift}");
            let first = engine.sync_tenant(&tenant, target, &options).await?;
            assert!(!first.already_in_sync);
            let live = db.inspect(&tenant).await;
            let (left, _) = engine.plan(&live, target)?;
            assert!(left.is_empty(), "not fixed: {drift}\n{}", left.to_text());
            let second = engine.sync_tenant(&tenant, target, &options).await?;
            assert!(second.already_in_sync, "second run not a no-op: {drift}");
            Ok(())
        }
        .await;
        db.cleanup(&tenant).await;
        if let Err(e) = result {
            panic!("{drift}: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn column_drift_is_fixed() {
    let db = common::db().await;
    let target = db.target(&template()).await;
    check_drifts(
        &db,
        &target,
        &[
            "ALTER TABLE customers ADD COLUMN extra INT NULL",
            "ALTER TABLE customers DROP COLUMN motto",
            "ALTER TABLE customers MODIFY email VARCHAR(100) COLLATE utf8mb4_bin NOT NULL",
            "ALTER TABLE customers MODIFY name VARCHAR(100) NULL DEFAULT 'anonymous' COMMENT 'display name'",
            "ALTER TABLE customers ALTER COLUMN visits SET DEFAULT 5",
            "ALTER TABLE customers ALTER COLUMN name DROP DEFAULT",
            "ALTER TABLE customers MODIFY email VARCHAR(190) COLLATE utf8mb4_general_ci NOT NULL",
            "ALTER TABLE customers MODIFY name VARCHAR(100) NOT NULL DEFAULT 'anonymous' COMMENT 'other'",
            "ALTER TABLE orders DROP FOREIGN KEY fk_orders_customer; ALTER TABLE customers MODIFY id INT UNSIGNED NOT NULL",
            "ALTER TABLE customers MODIFY balance_cents BIGINT AS (balance * 1000) STORED",
            "ALTER TABLE customers DROP COLUMN email_domain, ADD COLUMN email_domain VARCHAR(190) AS (SUBSTRING_INDEX(email, '@', -1)) STORED",
            "ALTER TABLE customers DROP COLUMN email_domain, ADD COLUMN email_domain VARCHAR(190) NULL",
            "ALTER TABLE customers MODIFY updated_at DATETIME(3) NULL DEFAULT CURRENT_TIMESTAMP(3)",
            "ALTER TABLE customers MODIFY status ENUM('active','suspended') NOT NULL DEFAULT 'active'",
            "ALTER TABLE customers MODIFY score TINYINT NULL",
            "ALTER TABLE customers MODIFY profile LONGTEXT NULL",
            "ALTER TABLE customers MODIFY ratio FLOAT NULL",
            "ALTER TABLE orders MODIFY note VARCHAR(255) NULL",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_index_and_constraint_drift_is_fixed() {
    let db = common::db().await;
    let target = db.target(&template()).await;
    check_drifts(
        &db,
        &target,
        &[
            "ALTER TABLE settings DROP PRIMARY KEY",
            "ALTER TABLE customers DROP INDEX uq_customers_email",
            "ALTER TABLE customers DROP INDEX idx_customers_name_prefix, ADD INDEX idx_customers_name_prefix (name(20))",
            "ALTER TABLE customers DROP INDEX ft_customers_bio",
            "ALTER TABLE customers ALTER INDEX idx_customers_name_prefix IGNORED",
            "ALTER TABLE customers ADD INDEX idx_extra (score, visits)",
            "ALTER TABLE orders DROP INDEX idx_orders_total, ADD INDEX idx_orders_total (total)",
            "ALTER TABLE customers DROP CONSTRAINT chk_customers_balance",
            "ALTER TABLE customers DROP CONSTRAINT chk_customers_balance, ADD CONSTRAINT chk_customers_balance CHECK (balance > -10)",
            "ALTER TABLE customers ADD CONSTRAINT chk_extra CHECK (visits >= 0)",
            "ALTER TABLE orders DROP FOREIGN KEY fk_orders_customer",
            "ALTER TABLE orders DROP FOREIGN KEY fk_orders_parent",
            "ALTER TABLE orders DROP FOREIGN KEY fk_orders_parent, DROP INDEX fk_orders_parent",
            "ALTER TABLE orders DROP FOREIGN KEY fk_orders_customer; ALTER TABLE orders ADD CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)",
            "ALTER TABLE settings ADD COLUMN c INT UNSIGNED NULL, ADD CONSTRAINT fk_settings_c FOREIGN KEY (c) REFERENCES customers (id)",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_view_and_trigger_drift_is_fixed() {
    let db = common::db().await;
    let target = db.target(&template()).await;
    check_drifts(
        &db,
        &target,
        &[
            "DROP TABLE settings",
            "CREATE TABLE stray (id INT PRIMARY KEY, c INT UNSIGNED, CONSTRAINT fk_stray FOREIGN KEY (c) REFERENCES customers (id))",
            "DROP VIEW big_customers",
            "CREATE OR REPLACE VIEW customer_totals AS SELECT c.id, c.email, COUNT(*) AS total FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email",
            "CREATE VIEW stray_view AS SELECT id FROM customers",
            "DROP TRIGGER trg_orders_total",
            "DROP TRIGGER trg_orders_total; CREATE TRIGGER trg_orders_total BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = NEW.total",
            "CREATE TRIGGER trg_stray AFTER DELETE ON settings FOR EACH ROW SET @x = 1",
            "ALTER TABLE customers COMMENT = 'changed'",
            "ALTER TABLE customers COMMENT = ''",
            "ALTER TABLE settings ENGINE = MyISAM",
            "ALTER TABLE settings DEFAULT CHARSET = latin1 COLLATE = latin1_swedish_ci",
            "ALTER TABLE settings CONVERT TO CHARACTER SET latin1 COLLATE latin1_swedish_ci",
            "ALTER TABLE settings CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "ALTER TABLE settings MODIFY v TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL",
        ],
    )
    .await;
}
