//! A MariaDB fleet on a realistic schema with every object kind the adapter models
//! (stored functions and procedures, an event, a sequence used as a column default, an
//! Aria table with its options, compressed row format, prefix, full-text and descending
//! indexes, invisible columns, checks and foreign keys), each tenant drifted in one of
//! them: one `sync --allow-destructive` run converges every tenant, none is refused, and
//! afterwards every tenant's `mariadb-dump --no-data` equals the template's, the
//! database name, counters and sequence positions aside.

mod common;

use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::{Engine, FleetOptions, SyncOptions, Target, TenantStatus};

const TEMPLATE: &str = r#"
CREATE SEQUENCE invoice_seq START WITH 100 INCREMENT BY 10 MINVALUE 1 MAXVALUE 999999 CACHE 5 NOCYCLE;
CREATE TABLE customers (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL,
  name VARCHAR(200) NOT NULL,
  bio TEXT NULL,
  internal_note VARCHAR(50) NULL INVISIBLE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  UNIQUE KEY customers_email (email),
  KEY customers_name_prefix (name(20)),
  KEY customers_recent (created_at DESC),
  FULLTEXT KEY customers_bio (bio) COMMENT 'search'
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='people who buy';
CREATE TABLE invoices (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  number BIGINT NOT NULL DEFAULT nextval(invoice_seq),
  customer_id INT NOT NULL,
  amount INT NOT NULL DEFAULT 0,
  CONSTRAINT invoices_amount CHECK (amount >= 0),
  CONSTRAINT invoices_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8 STATS_PERSISTENT=1;
CREATE TABLE audit_log (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note VARCHAR(100) NULL
) ENGINE=Aria TRANSACTIONAL=1 PAGE_CHECKSUM=1;
CREATE FUNCTION invoice_total(p_min INT) RETURNS BIGINT
  DETERMINISTIC READS SQL DATA COMMENT 'sum of invoices'
  RETURN (SELECT COALESCE(SUM(amount), 0) FROM invoices WHERE amount >= p_min);
CREATE PROCEDURE add_invoice(IN p_customer INT, IN p_amount INT, OUT p_id INT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  INSERT INTO invoices (customer_id, amount) VALUES (p_customer, p_amount);
  SET p_id = LAST_INSERT_ID();
  INSERT INTO audit_log (note) VALUES (concat('invoice ', p_id));
END;
CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 03:00:00'
  ON COMPLETION PRESERVE DISABLE COMMENT 'nightly purge'
  DO DELETE FROM audit_log WHERE id < 0;
CREATE VIEW big_invoices AS SELECT id, amount FROM invoices WHERE amount > 1000;
CREATE TRIGGER audit_invoice AFTER INSERT ON invoices FOR EACH ROW
  INSERT INTO audit_log (note) VALUES (concat('new ', NEW.id));
"#;

/// One drift per tenant.
const DRIFTS: &[&str] = &[
    "DROP FUNCTION invoice_total",
    "DROP PROCEDURE add_invoice; CREATE PROCEDURE add_invoice(IN p_customer INT, IN p_amount INT, OUT p_id INT) SET p_id = 0",
    "CREATE FUNCTION extra_fn() RETURNS INT NO SQL RETURN 1",
    "DROP EVENT purge_audit",
    "ALTER EVENT purge_audit ENABLE",
    "ALTER TABLE audit_log ENGINE=InnoDB",
    "ALTER TABLE invoices ROW_FORMAT=DYNAMIC KEY_BLOCK_SIZE=0",
    "ALTER TABLE customers DROP INDEX customers_name_prefix, ADD INDEX customers_name_prefix (name(10))",
    "ALTER TABLE customers DROP INDEX customers_bio",
    "ALTER TABLE customers MODIFY internal_note VARCHAR(50) NULL",
    "ALTER SEQUENCE invoice_seq INCREMENT BY 1",
    "ALTER TABLE invoices ALTER COLUMN number SET DEFAULT 0",
    "DROP TRIGGER audit_invoice",
    "ALTER TABLE invoices DROP CONSTRAINT invoices_amount",
    "CREATE TABLE scratch_extra (id INT PRIMARY KEY)",
];

/// Drifts after which the tenant's trigger is created again from the inspected
/// definition: MariaDB keeps a trigger's statement as it was typed, and `mariadb-dump`
/// prints that text, so the recreated one differs in quoting and line breaks only.
const RESPELLED: &[&str] = &["DROP TRIGGER audit_invoice"];

/// `mariadb-dump --no-data`, normalised, without sequence positions (data).
fn dump(database: &str) -> String {
    common::mariadb_dump(database)
        .lines()
        .filter(|l| !l.contains("SETVAL"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_fleet_drifted_in_every_modelled_object_kind_converges_in_one_sync() {
    let db = common::db().await;
    let template = db.tenant("mcov_tpl", TEMPLATE).await;
    let mut tenants = Vec::new();
    for drift in DRIFTS {
        let tenant = db.tenant("mcov", TEMPLATE).await;
        db.run(&tenant, drift).await;
        tenants.push((tenant, *drift));
    }
    let clone = db.tenant("mcov_clone", TEMPLATE).await;
    let engine = Engine::new(db.adapter());
    let target = engine
        .resolve_target(&Target::Tenant(template.id().clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut fleet: Vec<_> = tenants.iter().map(|(t, _)| t.clone()).collect();
    fleet.push(clone.clone());

    let before = engine
        .run_fleet(fleet.clone(), &target, &FleetOptions::default(), &|_| {})
        .await;
    let sync = FleetOptions::default().with_sync(
        SyncOptions::default()
            .with_execute(true)
            .with_allow_destructive(true),
    );
    let synced = engine
        .run_fleet(fleet.clone(), &target, &sync, &|_| {})
        .await;
    let after = engine
        .run_fleet(fleet.clone(), &target, &FleetOptions::default(), &|_| {})
        .await;
    let template_dump = dump(template.namespace());
    let dumps: Vec<String> = tenants.iter().map(|(t, _)| dump(t.namespace())).collect();
    let clone_dump = dump(clone.namespace());
    for tenant in fleet.iter().chain([&template]) {
        db.cleanup(tenant).await;
    }

    let unmodelled: Vec<String> = target
        .unsupported
        .iter()
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    assert!(
        unmodelled.is_empty(),
        "unmodelled in the template: {unmodelled:?}"
    );
    for (report, (_, drift)) in before.tenants.iter().zip(&tenants) {
        assert_eq!(report.status, TenantStatus::Drifted, "not found: {drift}");
    }
    assert_eq!(
        before.tenants.last().map(|r| r.status),
        Some(TenantStatus::InSync),
        "the clone"
    );
    for (report, (_, drift)) in synced.tenants.iter().zip(&tenants) {
        assert_eq!(
            report.status,
            TenantStatus::Synced,
            "{drift}: {:?}",
            report.error
        );
    }
    for (report, (_, drift)) in after.tenants.iter().zip(&tenants) {
        assert_eq!(
            report.status,
            TenantStatus::InSync,
            "{drift}: {}",
            report
                .diff
                .as_ref()
                .map(|d| d.to_text())
                .unwrap_or_default()
        );
    }
    assert_eq!(clone_dump, template_dump, "the clone");
    for (dumped, (_, drift)) in dumps.iter().zip(&tenants) {
        if RESPELLED.contains(drift) {
            assert_eq!(
                common::spelling_aside(dumped),
                common::spelling_aside(&template_dump),
                "mariadb-dump after sync differs: {drift}"
            );
            continue;
        }
        assert_eq!(
            dumped, &template_dump,
            "mariadb-dump after sync differs: {drift}"
        );
    }
}
