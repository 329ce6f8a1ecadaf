//! Shared test support: the real server, tenants created and dropped per test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod coverage;

use std::sync::Arc;

use async_trait::async_trait;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, Error, Result, SchemaSnapshot, TenantContext, TenantId,
};
use schema_sync_postgres::{PostgresAdapter, connect};
use tokio_postgres::{Client, NoTls};

/// An engine with `planner`, and options that execute with a lock timeout of 5 s and 2
/// lock retries (a concurrent build waits for every older transaction of the database,
/// other tests' included).
pub fn sync_engine(
    db: &PgDb,
    planner: Arc<dyn schema_sync_core::Planner>,
) -> (schema_sync_core::Engine, schema_sync_core::SyncOptions) {
    let engine = schema_sync_core::Engine::new(db.dyn_adapter()).with_planner(planner);
    let options = schema_sync_core::SyncOptions::default()
        .with_execute(true)
        .with_execute_options(
            schema_sync_core::ExecuteOptions::default()
                .with_lock_timeout(std::time::Duration::from_secs(5))
                .with_lock_retries(2),
        );
    (engine, options)
}

/// The test server: `SCHEMA_SYNC_TEST_PG_URL` or the local one.
pub fn url() -> String {
    std::env::var("SCHEMA_SYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A schema outside every tenant, holding objects tenants reference (a domain and a
/// table), created once per server.
pub const SHARED: &str = "schema_sync_test_shared";

/// Quotes an identifier.
pub fn qi(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The real database under test. Creating it fails (never skips) when the server is
/// unreachable.
pub struct PgDb {
    pub adapter: Arc<PostgresAdapter>,
    pub admin: Client,
}

/// Connects the adapter and an administrative client, and makes sure the shared schema
/// exists.
pub async fn db() -> PgDb {
    db_with(&ConnectOptions::default()).await
}

/// As [`db`], with connect options.
pub async fn db_with(options: &ConnectOptions) -> PgDb {
    let url = url();
    let adapter = connect(&url, options)
        .await
        .unwrap_or_else(|e| panic!("the PostgreSQL test server at {url} must be reachable: {e}"));
    let admin = admin().await;
    admin
        .batch_execute(&format!(
            "SELECT pg_advisory_lock(7262);
             CREATE SCHEMA IF NOT EXISTS {SHARED};
             DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                              WHERE n.nspname = '{SHARED}' AND t.typname = 'email') THEN
                 CREATE DOMAIN {SHARED}.email AS text CHECK (VALUE LIKE '%@%');
               END IF;
             END $$;
             CREATE TABLE IF NOT EXISTS {SHARED}.countries (code char(2) PRIMARY KEY);
             SELECT pg_advisory_unlock(7262);"
        ))
        .await
        .unwrap();
    PgDb {
        adapter: Arc::new(adapter),
        admin,
    }
}

/// `pg_dump --schema-only` of one schema, without the lines that change from run to run:
/// the independent view of what is there.
pub fn pg_dump(schema: &str) -> String {
    let output = std::process::Command::new("pg_dump")
        .arg(format!("--dbname={}", url()))
        .arg("--schema-only")
        .arg(format!("--schema={schema}"))
        .output()
        .expect("pg_dump must be installed");
    assert!(
        output.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| {
            !l.starts_with("-- Dumped")
                && !l.starts_with("\\restrict")
                && !l.starts_with("\\unrestrict")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A plain driver connection for setting up and checking tenants.
pub async fn admin() -> Client {
    let url = url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("the PostgreSQL test server at {url} must be reachable: {e}"));
    tokio::spawn(connection);
    client
}

impl PgDb {
    /// The adapter as a trait object.
    pub fn dyn_adapter(&self) -> Arc<dyn DatabaseAdapter> {
        self.adapter.clone()
    }

    /// Inspects a tenant, panicking on error.
    pub async fn inspect(&self, tenant: &TenantContext) -> SchemaSnapshot {
        self.adapter.inspector().inspect(tenant).await.unwrap()
    }

    /// Loads a target, panicking on error.
    pub async fn target(&self, sql: &str) -> SchemaSnapshot {
        self.adapter.snapshot_from_sql(sql).await.unwrap()
    }

    /// Runs SQL as the administrator, panicking on error.
    pub async fn sql(&self, sql: &str) {
        self.admin
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }

    /// A count from the tenant.
    pub async fn count(&self, tenant: &TenantContext, query: &str) -> i64 {
        self.admin
            .batch_execute(&format!("SET search_path TO {}", qi(tenant.namespace())))
            .await
            .unwrap();
        let row = self.admin.query_one(query, &[]).await.unwrap();
        self.admin.batch_execute("RESET search_path").await.unwrap();
        row.get(0)
    }
}

fn failed(context: &str, e: tokio_postgres::Error) -> Error {
    Error::Internal {
        tenant: None,
        message: format!("{}: {e:?}", context.chars().take(60).collect::<String>()),
    }
}

#[async_trait]
impl TestDatabase for PgDb {
    fn adapter(&self) -> Arc<dyn DatabaseAdapter> {
        self.adapter.clone()
    }

    /// PostgreSQL appends added columns and cannot reorder without a rebuild.
    fn reorders_columns(&self) -> bool {
        false
    }

    async fn create_tenant(&self, id: &TenantId, ddl: &str) -> Result<TenantContext> {
        let tenant = self.adapter.context(id)?;
        let schema = qi(tenant.namespace());
        self.admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(|e| failed("create schema", e))?;
        if let Err(e) = self.execute(&tenant, ddl).await {
            let _ = self.drop_tenant(&tenant).await;
            return Err(e);
        }
        Ok(tenant)
    }

    async fn execute(&self, tenant: &TenantContext, sql: &str) -> Result<()> {
        let schema = qi(tenant.namespace());
        let result = self
            .admin
            .batch_execute(&format!(
                "BEGIN; SET LOCAL search_path TO {schema};\n{sql};\nCOMMIT"
            ))
            .await;
        if let Err(e) = result {
            let _ = self.admin.batch_execute("ROLLBACK").await;
            return Err(failed(sql, e));
        }
        Ok(())
    }

    async fn drop_tenant(&self, tenant: &TenantContext) -> Result<()> {
        self.admin
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                qi(tenant.namespace())
            ))
            .await
            .map_err(|e| failed("drop schema", e))
    }
}

/// A template with every object kind the inspector models, and a few it reports.
pub const RICH: &str = r#"
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'it''s done');
CREATE SEQUENCE invoice_numbers AS integer START WITH 1000 INCREMENT BY 5 CACHE 10;
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email schema_sync_test_shared.email NOT NULL,
    name text COLLATE "C",
    country char(2) REFERENCES schema_sync_test_shared.countries (code),
    referrer_id bigint REFERENCES customers (id) ON DELETE SET NULL,
    created_at timestamptz(3) NOT NULL DEFAULT now(),
    score double precision,
    flags bit(4),
    ratio real,
    span interval day to second(2),
    CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON TABLE customers IS 'people who buy';
COMMENT ON COLUMN customers.email IS 'login, it''s lower-case';
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id bigint NOT NULL,
    status order_status NOT NULL DEFAULT 'new',
    total numeric(10,2) NOT NULL CHECK (total >= 0),
    tax numeric(10,2) GENERATED ALWAYS AS (total * 0.2) STORED,
    tags text[] NOT NULL DEFAULT '{}',
    matrix int[][],
    history order_status[],
    invoice integer DEFAULT nextval('invoice_numbers'),
    notes varchar(200),
    seq_no bigint GENERATED BY DEFAULT AS IDENTITY,
    updated_at timestamp,
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
        ON DELETE CASCADE ON UPDATE RESTRICT DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT orders_notes_check CHECK (notes IS NULL OR length(notes) > 2)
);
CREATE TABLE order_lines (
    order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no smallint NOT NULL,
    sku char(8) NOT NULL,
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0),
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_sku_key UNIQUE NULLS NOT DISTINCT (order_id, sku) DEFERRABLE
);
CREATE TABLE departments (id int PRIMARY KEY, manager_id int, name text NOT NULL);
CREATE TABLE employees (
    id int PRIMARY KEY,
    department_id int REFERENCES departments (id) DEFERRABLE,
    boss_id int REFERENCES employees (id) ON DELETE SET DEFAULT
);
ALTER TABLE departments ADD CONSTRAINT departments_manager_fk FOREIGN KEY (manager_id)
    REFERENCES employees (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX orders_open_idx ON orders (customer_id) WHERE status <> 'shipped';
CREATE INDEX orders_lower_notes_idx ON orders (lower(notes) DESC, (total + 1));
CREATE UNIQUE INDEX orders_invoice_idx ON orders (invoice) INCLUDE (total);
CREATE INDEX orders_tags_idx ON orders USING gin (tags);
CREATE INDEX departments_name_idx ON departments USING hash (name);
CREATE VIEW paid_orders AS
    SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id
    WHERE o.status = 'paid';
CREATE VIEW big_paid_orders AS SELECT id, total FROM paid_orders WHERE total > 100;
COMMENT ON VIEW paid_orders IS 'orders that were paid';
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id;
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders
    FOR EACH ROW WHEN (OLD.total IS DISTINCT FROM NEW.total) EXECUTE FUNCTION touch_updated_at();
CREATE FUNCTION order_count(customer bigint) RETURNS bigint LANGUAGE sql STABLE
    AS $$ SELECT count(*) FROM orders WHERE customer_id = customer $$;
"#;

/// [`RICH`] with a change of every kind: enum label added, sequence options, column
/// type, collation, default, identity, generation, nullability and comment changes,
/// constraints, foreign key actions, indexes, views, functions and triggers changed, a
/// table added and a reference cycle dropped.
pub const RICH_V2: &str = r#"
CREATE TYPE order_status AS ENUM ('new', 'paid', 'refunded', 'shipped', 'it''s done');
CREATE SEQUENCE invoice_numbers AS bigint START WITH 1000 INCREMENT BY 10 CACHE 20 CYCLE;
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email schema_sync_test_shared.email NOT NULL,
    name text COLLATE "POSIX",
    country char(2) REFERENCES schema_sync_test_shared.countries (code) ON DELETE SET NULL,
    referrer_id bigint REFERENCES customers (id) ON DELETE SET NULL,
    created_at timestamptz(3) NOT NULL DEFAULT clock_timestamp(),
    score numeric(12,4),
    ratio double precision,
    phone varchar(30),
    span interval day to second(2),
    CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON COLUMN customers.email IS 'login';
COMMENT ON COLUMN customers.phone IS 'with country code';
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id bigint NOT NULL,
    status order_status NOT NULL DEFAULT 'new',
    total numeric(12,2) NOT NULL CHECK (total >= 0),
    tax numeric(12,2) GENERATED ALWAYS AS (total * 0.25) STORED,
    tags text[] NOT NULL DEFAULT '{}',
    matrix int[][],
    history order_status[],
    invoice bigint DEFAULT nextval('invoice_numbers'),
    notes varchar(300),
    seq_no bigint GENERATED ALWAYS AS IDENTITY,
    priority integer NOT NULL DEFAULT 0,
    updated_at timestamptz,
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE RESTRICT,
    CONSTRAINT orders_notes_check CHECK (notes IS NULL OR length(notes) > 3)
);
COMMENT ON TABLE orders IS 'one per checkout';
CREATE TABLE order_lines (
    order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no integer NOT NULL,
    sku varchar(12) NOT NULL,
    quantity integer NOT NULL DEFAULT 1 CHECK (quantity > 0 AND quantity < 1000),
    PRIMARY KEY (order_id, line_no),
    CONSTRAINT order_lines_sku_key UNIQUE (order_id, sku)
);
CREATE TABLE payments (
    id uuid PRIMARY KEY,
    order_id integer NOT NULL REFERENCES orders (id),
    amount numeric(12,2) NOT NULL,
    paid_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_open_idx ON orders (customer_id) WHERE status NOT IN ('shipped', 'it''s done');
CREATE INDEX orders_lower_notes_idx ON orders (lower(notes) DESC, (total + 1));
CREATE UNIQUE INDEX orders_invoice_idx ON orders (invoice) INCLUDE (total, status);
CREATE INDEX orders_status_idx ON orders (status, customer_id DESC);
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE VIEW paid_orders AS
    SELECT o.id, o.total, c.email FROM orders o JOIN customers c ON c.id = o.customer_id
    WHERE o.status = 'paid';
CREATE VIEW big_paid_orders AS SELECT id, total FROM paid_orders WHERE total > 200;
CREATE VIEW payment_totals AS SELECT order_id, sum(amount) AS paid FROM payments GROUP BY order_id;
COMMENT ON VIEW paid_orders IS 'orders paid in full';
CREATE MATERIALIZED VIEW order_totals AS
    SELECT customer_id, sum(total) AS total, count(*) AS orders FROM orders GROUP BY customer_id;
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
CREATE FUNCTION order_total(customer bigint) RETURNS numeric LANGUAGE sql STABLE
    AS $$ SELECT sum(total) FROM orders WHERE customer_id = customer $$;
"#;

/// Rows for [`RICH`], so changes run against data.
pub const RICH_ROWS: &str = r#"
INSERT INTO schema_sync_test_shared.countries VALUES ('FR') ON CONFLICT DO NOTHING;
INSERT INTO customers (email, name, country, score, ratio) VALUES
    ('a@example.com', 'Ann', 'FR', 1.5, 0.25), ('b@example.com', 'Bob', NULL, 2, 0.5);
INSERT INTO orders (customer_id, status, total, tags, notes, updated_at)
    SELECT id, 'paid', 150, '{x,y}', 'first order', '2024-01-02 03:04:05' FROM customers;
INSERT INTO order_lines (order_id, line_no, sku, quantity) SELECT id, 1, 'SKU-0001', 2 FROM orders;
"#;

/// `snapshot` with every column position cleared. PostgreSQL can only append a column, so
/// a tenant synced to a target that has a new column in the middle matches it except for
/// that order; tests of convergence compare these (column order has its own test).
pub fn without_column_order(snapshot: &SchemaSnapshot) -> SchemaSnapshot {
    let mut out = snapshot.clone();
    for table in out.tables.values_mut() {
        for column in table.columns.values_mut() {
            column.position = 0;
        }
    }
    out
}

/// [`pg_dump`] of `schema` with its name replaced by `SCHEMA`, to compare two tenants.
pub fn pg_dump_relative(schema: &str) -> String {
    pg_dump(schema).replace(schema, "SCHEMA")
}

/// Sync options that execute and allow destructive steps.
pub fn allow_all() -> schema_sync_core::SyncOptions {
    schema_sync_core::SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true)
}

/// Syncs `tenant` to `target`, checks it then equals the target (column order aside) and
/// that a second run does nothing; returns the first run.
pub async fn sync_and_check(
    engine: &schema_sync_core::Engine,
    db: &PgDb,
    tenant: &TenantContext,
    target: &SchemaSnapshot,
    label: &str,
) -> schema_sync_core::SyncOutcome {
    let first = engine
        .sync_tenant(tenant, target, &allow_all())
        .await
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    assert!(!first.already_in_sync, "{label}: drift was not detected");
    assert_eq!(
        without_column_order(&db.inspect(tenant).await).hash(),
        without_column_order(target).hash(),
        "{label}"
    );
    let second = engine
        .sync_tenant(tenant, target, &allow_all())
        .await
        .unwrap();
    assert!(
        second.already_in_sync,
        "{label}: second run was not a no-op: {}",
        second.diff.to_text()
    );
    first
}
