//! Column order on the real server: tables created and columns added by sync end in the
//! template's `ORDINAL_POSITION` order, and a `ReorderColumns` step puts a scrambled
//! table into the template's order with its rows and every column attribute kept.

mod common;

use std::sync::Arc;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use schema_sync_core::plan::PlanStep;
use schema_sync_core::{
    DatabaseAdapter, Engine, Error, ExecuteOptions, Operation, Result, SyncOptions, TenantContext,
};

/// Non-alphabetical on purpose, with every attribute a `MODIFY` must restate.
const TEMPLATE: &str = r#"
CREATE TABLE items (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  zed VARCHAR(10) COLLATE utf8mb4_bin NOT NULL DEFAULT 'z' COMMENT 'last letter',
  mid INT NULL DEFAULT 5,
  alpha INT NOT NULL DEFAULT 1,
  doubled INT AS (alpha * 2) VIRTUAL,
  beta TEXT NULL,
  touched TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
);
CREATE TABLE notes (z INT NULL, y VARCHAR(5) NULL, x INT NOT NULL, w INT NULL);
"#;

fn engine(db: &common::MysqlTestDb) -> Engine {
    let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
    Engine::new(adapter)
}

fn db_error(e: mysql_async::Error) -> Error {
    Error::config(e.to_string())
}

/// Column names of `table` in `ORDINAL_POSITION` order, straight from the catalog.
async fn ordinal_order(tenant: &TenantContext, table: &str) -> Result<Vec<String>> {
    let opts =
        mysql_async::Opts::from_url(&common::url()).map_err(|e| Error::config(e.to_string()))?;
    let mut conn = mysql_async::Conn::new(opts).await.map_err(db_error)?;
    let names: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (tenant.namespace(), table),
        )
        .await
        .map_err(db_error)?;
    let _ = conn.disconnect().await;
    Ok(names)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_tables_and_added_columns_follow_the_template_order() {
    let db = common::db().await;
    let template = db.tenant("order_tmpl", TEMPLATE).await;
    let tenant = db
        .tenant(
            "order_add",
            "CREATE TABLE items (
               id INT UNSIGNED NOT NULL AUTO_INCREMENT,
               zed VARCHAR(10) COLLATE utf8mb4_bin NOT NULL DEFAULT 'z' COMMENT 'last letter',
               alpha INT NOT NULL DEFAULT 1,
               doubled INT AS (alpha * 2) VIRTUAL,
               beta TEXT NULL,
               touched TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
               PRIMARY KEY (id)
             );",
        )
        .await;
    let result: Result<()> = async {
        let target = db.inspect(&template).await;
        assert_eq!(
            target.tables["items"].column_order(),
            ["id", "zed", "mid", "alpha", "doubled", "beta", "touched"]
        );
        let options = SyncOptions::default().with_execute(true);
        let outcome = engine(&db).sync_tenant(&tenant, &target, &options).await?;
        assert!(outcome.execution.is_some());
        for table in ["items", "notes"] {
            assert_eq!(
                ordinal_order(&tenant, table).await?,
                ordinal_order(&template, table).await?,
                "{table}"
            );
        }
        assert_eq!(db.inspect(&tenant).await.hash(), target.hash());
        Ok(())
    }
    .await;
    db.cleanup(&tenant).await;
    db.cleanup(&template).await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorder_columns_puts_a_scrambled_table_in_order_with_rows_kept() {
    let db = common::db().await;
    let template = db.tenant("order_tmpl", TEMPLATE).await;
    let tenant = db
        .tenant(
            "order_scramble",
            "CREATE TABLE items (
               beta TEXT NULL,
               touched TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
               alpha INT NOT NULL DEFAULT 1,
               zed VARCHAR(10) COLLATE utf8mb4_bin NOT NULL DEFAULT 'z' COMMENT 'last letter',
               doubled INT AS (alpha * 2) VIRTUAL,
               id INT UNSIGNED NOT NULL AUTO_INCREMENT,
               mid INT NULL DEFAULT 5,
               PRIMARY KEY (id)
             );
             CREATE TABLE notes (x INT NOT NULL, w INT NULL, z INT NULL, y VARCHAR(5) NULL);
             INSERT INTO items (beta, alpha, zed) VALUES ('b1', 10, 'Zz'), ('b2', 20, 'a');
             INSERT INTO notes VALUES (1, 2, 3, 'y');",
        )
        .await;
    let result: Result<()> = async {
        let target = db.inspect(&template).await;
        let live = db.inspect(&tenant).await;
        let engine = engine(&db);
        let (_, mut plan) = engine.plan(&live, &live)?;
        for (name, table) in &target.tables {
            plan.steps.push(PlanStep {
                operation: Operation::ReorderColumns {
                    table: name.clone(),
                    from: live.tables[name]
                        .column_order()
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    to: table
                        .column_order()
                        .into_iter()
                        .map(str::to_string)
                        .collect(),
                    columns: table.columns.clone(),
                    required: true,
                },
                destructive: false,
                hazards: Vec::new(),
                depends_on: Vec::new(),
                outside_transaction: false,
                algorithm: None,
            });
        }
        let before = rows(&tenant).await?;
        let options = ExecuteOptions::default().with_lock_timeout(Duration::from_secs(10));
        let lock = db.adapter.runner().acquire_lock(&tenant, &options).await?;
        let done = lock.execute(&plan).await?;
        assert_eq!(done.statements_executed, 2, "one ALTER TABLE per table");
        // Each statement is recorded with its duration, for the run ledger.
        assert_eq!(done.statements.len(), 2);
        assert!(
            done.statements
                .iter()
                .all(|s| s.sql.starts_with("ALTER TABLE `")),
            "{:?}",
            done.statements
        );
        for table in ["items", "notes"] {
            assert_eq!(
                ordinal_order(&tenant, table).await?,
                ordinal_order(&template, table).await?,
                "{table}"
            );
        }
        // Every attribute survived the MODIFY: the tenant now equals the template.
        assert_eq!(db.inspect(&tenant).await.hash(), target.hash());
        assert_eq!(rows(&tenant).await?, before);
        Ok(())
    }
    .await;
    db.cleanup(&tenant).await;
    db.cleanup(&template).await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The rows of `items` and `notes` by column name, order-independent.
async fn rows(tenant: &TenantContext) -> Result<Vec<String>> {
    let opts =
        mysql_async::Opts::from_url(&common::url()).map_err(|e| Error::config(e.to_string()))?;
    let mut conn = mysql_async::Conn::new(opts).await.map_err(db_error)?;
    let q = format!("`{}`", tenant.namespace().replace('`', "``"));
    let mut rows: Vec<String> = conn
        .query(format!(
            "SELECT CONCAT_WS('|', id, zed, alpha, doubled, beta, IFNULL(mid, 'null')) \
             FROM {q}.items ORDER BY id"
        ))
        .await
        .map_err(db_error)?;
    let notes: Vec<String> = conn
        .query(format!(
            "SELECT CONCAT_WS('|', x, IFNULL(w, 'null'), IFNULL(z, 'null'), IFNULL(y, 'null')) \
             FROM {q}.notes ORDER BY x"
        ))
        .await
        .map_err(db_error)?;
    let _ = conn.disconnect().await;
    rows.extend(notes);
    Ok(rows)
}
