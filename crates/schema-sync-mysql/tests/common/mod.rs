//! Shared support for the tests against the real server: the conformance
//! [`TestDatabase`], the rich template DDL and helpers.
//!
//! The server comes from `SCHEMA_SYNC_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306/test`). An unreachable server fails the test: nothing
//! here skips.
#![allow(dead_code, missing_docs)]

use std::sync::Arc;

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, Error, Phase, Result, SchemaSnapshot, TenantContext, TenantId,
};
use schema_sync_mysql::MysqlAdapter;

/// The test server's URL.
pub fn url() -> String {
    std::env::var("SCHEMA_SYNC_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_string())
}

/// The real server under test, with an administrative pool for setup.
pub struct MysqlTestDb {
    pub adapter: Arc<MysqlAdapter>,
    pub admin: mysql_async::Pool,
}

/// Connects to the test server; panics (failing the test) when it cannot be reached.
pub async fn db() -> MysqlTestDb {
    db_with(ConnectOptions::default()).await
}

/// As [`db`], with connect options.
pub async fn db_with(options: ConnectOptions) -> MysqlTestDb {
    let url = url();
    let adapter = match schema_sync_mysql::connect(&url, &options).await {
        Ok(adapter) => adapter,
        Err(e) => panic!(
            "the MySQL/MariaDB test server at {} is unreachable ({}); start it or set SCHEMA_SYNC_TEST_MYSQL_URL",
            schema_sync_core::redact_url(&url),
            e
        ),
    };
    let admin = match mysql_async::Opts::from_url(&url) {
        Ok(opts) => mysql_async::Pool::new(opts),
        Err(e) => panic!("bad SCHEMA_SYNC_TEST_MYSQL_URL: {e}"),
    };
    MysqlTestDb {
        adapter: Arc::new(adapter),
        admin,
    }
}

fn fail(tenant: &TenantId, what: &str, e: mysql_async::Error) -> Error {
    Error::database(Some(tenant), Phase::Execute, Some(what.to_string()), e)
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

impl MysqlTestDb {
    /// Runs `sql` (any number of statements) with no default database.
    pub async fn admin_sql(&self, sql: &str) -> Result<()> {
        let tenant = TenantId::new("admin")?;
        let mut conn = self
            .admin
            .get_conn()
            .await
            .map_err(|e| fail(&tenant, "connect", e))?;
        conn.query_drop(sql)
            .await
            .map_err(|e| fail(&tenant, sql, e))
    }

    /// Inspects a tenant, panicking on error.
    pub async fn inspect(&self, tenant: &TenantContext) -> SchemaSnapshot {
        match self.adapter.inspector().inspect(tenant).await {
            Ok(s) => s,
            Err(e) => panic!("inspect {tenant}: {e}"),
        }
    }

    /// Loads a target from SQL, panicking on error.
    pub async fn target(&self, sql: &str) -> SchemaSnapshot {
        match self.adapter.snapshot_from_sql(sql).await {
            Ok(s) => s,
            Err(e) => panic!("snapshot_from_sql: {e}\n{sql}"),
        }
    }

    /// Creates a uniquely named tenant from `ddl`, panicking on error.
    pub async fn tenant(&self, prefix: &str, ddl: &str) -> TenantContext {
        match self.create_tenant(&unique_tenant_id(prefix), ddl).await {
            Ok(t) => t,
            Err(e) => panic!("create tenant: {e}\n{ddl}"),
        }
    }

    /// Runs `sql` in the tenant, panicking on error.
    pub async fn run(&self, tenant: &TenantContext, sql: &str) {
        if let Err(e) = self.execute(tenant, sql).await {
            panic!("{sql}: {e}");
        }
    }

    /// Drops the tenant, ignoring errors (cleanup).
    pub async fn cleanup(&self, tenant: &TenantContext) {
        let _ = self.drop_tenant(tenant).await;
    }
}

#[async_trait]
impl TestDatabase for MysqlTestDb {
    fn adapter(&self) -> Arc<dyn DatabaseAdapter> {
        self.adapter.clone()
    }

    async fn create_tenant(&self, id: &TenantId, ddl: &str) -> Result<TenantContext> {
        let tenant = self.adapter.context(id)?;
        let db = quote(tenant.namespace());
        let mut conn = self
            .admin
            .get_conn()
            .await
            .map_err(|e| fail(id, "connect", e))?;
        conn.query_drop(format!("CREATE DATABASE {db}"))
            .await
            .map_err(|e| fail(id, "create database", e))?;
        conn.query_drop(format!("USE {db}"))
            .await
            .map_err(|e| fail(id, "use database", e))?;
        if !ddl.trim().is_empty()
            && let Err(e) = conn.query_drop(ddl).await
        {
            let _ = self.drop_tenant(&tenant).await;
            return Err(fail(id, ddl, e));
        }
        Ok(tenant)
    }

    async fn execute(&self, tenant: &TenantContext, sql: &str) -> Result<()> {
        let mut conn = self
            .admin
            .get_conn()
            .await
            .map_err(|e| fail(tenant.id(), "connect", e))?;
        conn.query_drop(format!("USE {}", quote(tenant.namespace())))
            .await
            .map_err(|e| fail(tenant.id(), "use database", e))?;
        conn.query_drop(sql)
            .await
            .map_err(|e| fail(tenant.id(), sql, e))
    }

    async fn drop_tenant(&self, tenant: &TenantContext) -> Result<()> {
        self.admin_sql(&format!(
            "DROP DATABASE IF EXISTS {}",
            quote(tenant.namespace())
        ))
        .await
    }
}

/// An older version of [`RICH_TEMPLATE`]: fewer columns, a table since dropped.
pub const RICH_OLD: &str = r#"
    CREATE TABLE customers (
      id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      email VARCHAR(190) NOT NULL,
      name VARCHAR(50) NULL,
      legacy_code CHAR(4) NULL,
      KEY idx_customers_legacy (legacy_code)
    );
    CREATE TABLE obsolete (id INT PRIMARY KEY);
    CREATE VIEW customer_totals AS SELECT id, email FROM customers;
"#;

/// A template using every object kind the inspector models.
pub const RICH_TEMPLATE: &str = r#"
CREATE TABLE customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email VARCHAR(190) COLLATE utf8mb4_bin NOT NULL,
  name VARCHAR(100) NOT NULL DEFAULT 'anonymous' COMMENT 'display name',
  motto VARCHAR(60) NULL DEFAULT 'it''s a \\ backslash',
  status ENUM('active','suspended','it''s closed') NOT NULL DEFAULT 'active',
  tags SET('vip','beta','staff') NULL,
  balance DECIMAL(10,2) NOT NULL DEFAULT 0.00,
  score TINYINT UNSIGNED NULL,
  visits INT(11) NOT NULL DEFAULT 0,
  big BIGINT(20) UNSIGNED NULL,
  ratio DOUBLE NULL,
  weight FLOAT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  bio TEXT NULL,
  profile JSON NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at DATETIME(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  email_domain VARCHAR(190) AS (SUBSTRING_INDEX(email, '@', -1)) VIRTUAL,
  balance_cents BIGINT AS (balance * 100) STORED,
  PRIMARY KEY (id),
  UNIQUE KEY uq_customers_email (email),
  KEY idx_customers_name_prefix (name(10)),
  KEY idx_customers_domain (email_domain, id),
  FULLTEXT KEY ft_customers_bio (bio),
  CONSTRAINT chk_customers_balance CHECK (balance >= 0)
) ENGINE=InnoDB COMMENT='people who buy';

CREATE TABLE orders (
  customer_id INT UNSIGNED NOT NULL,
  order_no INT NOT NULL,
  total DECIMAL(10,2) NOT NULL,
  parent_customer_id INT UNSIGNED NULL,
  parent_order_no INT NULL,
  note VARCHAR(255) CHARACTER SET latin1 COLLATE latin1_swedish_ci NULL,
  PRIMARY KEY (customer_id, order_no),
  KEY idx_orders_total (total DESC),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id)
    ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT fk_orders_parent FOREIGN KEY (parent_customer_id, parent_order_no)
    REFERENCES orders (customer_id, order_no) ON DELETE SET NULL,
  CONSTRAINT chk_orders_total CHECK (total >= 0)
);

CREATE VIEW customer_totals AS
  SELECT c.id, c.email, SUM(o.total) AS total
  FROM customers c JOIN orders o ON o.customer_id = c.id
  GROUP BY c.id, c.email;

CREATE VIEW big_customers AS SELECT id, email FROM customer_totals WHERE total > 100;

CREATE TRIGGER trg_orders_total BEFORE INSERT ON orders
  FOR EACH ROW SET NEW.total = GREATEST(NEW.total, 0);

CREATE TRIGGER trg_customers_score BEFORE UPDATE ON customers FOR EACH ROW
BEGIN
  IF NEW.score > 100 THEN
    SET NEW.score = 100;
  END IF;
END;
"#;

/// `mariadb-dump --no-data` of `database` as the server prints it, from the test server
/// (`SCHEMA_SYNC_TEST_MYSQL_URL`), with the database name replaced by `DB`, the
/// `AUTO_INCREMENT=n` counters and the comment lines (the dump date) removed, keys in the
/// order the server lists them.
pub fn mariadb_dump_in_server_order(database: &str) -> String {
    let opts = match mysql_async::Opts::from_url(&url()) {
        Ok(opts) => opts,
        Err(e) => panic!("bad SCHEMA_SYNC_TEST_MYSQL_URL: {e}"),
    };
    let mut command = std::process::Command::new("mariadb-dump");
    command
        .arg("--no-data")
        .arg("--skip-comments")
        .arg("--skip-dump-date")
        .arg(format!("--host={}", opts.ip_or_hostname()))
        .arg(format!("--port={}", opts.tcp_port()))
        .arg(format!("--user={}", opts.user().unwrap_or("root")));
    if let Some(password) = opts.pass() {
        command.env("MYSQL_PWD", password);
    }
    let output = match command.arg(database).output() {
        Ok(output) => output,
        Err(e) => panic!("mariadb-dump must be installed: {e}"),
    };
    assert!(
        output.status.success(),
        "mariadb-dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .replace(database, "DB")
        .lines()
        .filter(|line| !line.starts_with("--"))
        .map(|line| {
            line.split(' ')
                .filter(|word| !word.starts_with("AUTO_INCREMENT="))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// [`mariadb_dump_in_server_order`] with each table's keys sorted (the server lists them
/// in creation order, which no tool can choose short of recreating the table; the model
/// keeps none). Two databases with the same schema dump the same text.
pub fn mariadb_dump(database: &str) -> String {
    let text = mariadb_dump_in_server_order(database);
    let mut out: Vec<String> = Vec::new();
    let mut keys: Vec<String> = Vec::new();
    for line in text.lines() {
        let line = line.to_string();
        let body = line.trim_end_matches(',');
        let is_key = ["KEY ", "UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY "]
            .iter()
            .any(|k| body.trim_start().starts_with(k));
        if is_key {
            keys.push(body.to_string());
            continue;
        }
        keys.sort();
        out.append(&mut keys);
        out.push(if line.starts_with("  ") {
            body.to_string()
        } else {
            line
        });
    }
    out.join("\n")
}

/// `dump` with identifier quotes and runs of white space left out: MariaDB keeps a
/// trigger's statement as it was typed, and `mariadb-dump` prints that text, so a trigger
/// that sync created from its inspected definition differs from a typed one in quoting
/// and line breaks only.
pub fn spelling_aside(dump: &str) -> String {
    dump.replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
