//! The SQLite adapter of schema-sync: one database file per tenant.
//!
//! SQLite is the embedded default: no server, and a directory of files is a fleet.
//! `sqlite:///path/dir` makes every `*.db`, `*.sqlite` and `*.sqlite3` file a tenant
//! named by its file stem; `sqlite:///path/file.db` is a single tenant.
//!
//! - **Inspection** reads pragmas and, for what pragmas do not say (checks, generated
//!   expressions, collations, index expressions), the DDL SQLite stores, normalised so
//!   formatting never shows up as drift ([`ddl`]).
//! - **Targets from SQL** are applied to an in-memory database and inspected: SQLite
//!   itself is the parser.
//! - **Execution** runs in one `BEGIN IMMEDIATE` transaction per tenant (the lock), using
//!   SQLite's documented table-rebuild procedure for every change `ALTER TABLE` cannot
//!   make, keeping every row, and checking foreign keys before commit. A failure rolls
//!   the tenant back whole.
//! - rusqlite is blocking: every call runs on tokio's blocking pool, never on executor
//!   threads.
#![deny(missing_docs)]

pub mod ddl;
mod error;
mod inspect;
mod render;
mod runner;
mod tenants;
mod types;

use std::path::PathBuf;

use async_trait::async_trait;
use rusqlite::Connection;
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, Error, ExecuteOptions, MigrationPlan, MigrationRunner, Phase,
    Result, SchemaInspector, SchemaSnapshot, TenantContext, TenantId, TenantLock,
};

pub use tenants::{Location, TENANT_EXTENSIONS};

use error::sqlite_error;
use inspect::inspect_connection;
use render::render_plan;
use runner::{SqliteLock, open, with_tenant};
use schema_sync_core::run_blocking;

/// Tenants stored as SQLite files.
#[derive(Debug, Clone)]
pub struct SqliteAdapter {
    location: Location,
}

/// Opens the SQLite tenants at `url` (`sqlite:///dir` or `sqlite:///file.db`).
///
/// SQLite needs no pool; `options` is accepted for symmetry with server adapters.
/// Inspection always opens files read-only, so audit never writes.
///
/// # Errors
/// [`Error::Config`] when the URL is not a `sqlite://` URL or its path does not exist.
pub async fn connect(url: &str, _options: &ConnectOptions) -> Result<SqliteAdapter> {
    Ok(SqliteAdapter {
        location: Location::from_url(url)?,
    })
}

impl SqliteAdapter {
    /// An adapter for a known location.
    pub fn new(location: Location) -> Self {
        Self { location }
    }

    /// Where the tenants are.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

fn tenant_path(tenant: &TenantContext) -> PathBuf {
    PathBuf::from(tenant.namespace())
}

#[async_trait]
impl SchemaInspector for SqliteAdapter {
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        let (id, path) = (tenant.id().clone(), tenant_path(tenant));
        run_blocking(move || {
            let fail = |e| sqlite_error(Some(&id), Phase::Inspect, &path, e);
            if !path.is_file() {
                return Err(Error::database(
                    Some(&id),
                    Phase::Inspect,
                    Some(path.display().to_string()),
                    "no such tenant file; check the tenant id or run `schema-sync tenants`",
                ));
            }
            let conn = open(&path, false).map_err(fail)?;
            inspect_connection(&conn).map_err(fail)
        })
        .await
    }
}

#[async_trait]
impl MigrationRunner for SqliteAdapter {
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        let live = self.inspect(tenant).await?;
        let statements = render_plan(&live, plan).map_err(|e| with_tenant(e, tenant.id()))?;
        let mut sql = vec![
            "PRAGMA foreign_keys = OFF".to_string(),
            "PRAGMA legacy_alter_table = ON".to_string(),
            "BEGIN IMMEDIATE".to_string(),
        ];
        sql.extend(statements.into_iter().map(|s| s.sql));
        sql.push("PRAGMA foreign_key_check".into());
        sql.push("COMMIT".into());
        Ok(sql)
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        Ok(Box::new(
            SqliteLock::acquire(tenant.id().clone(), tenant_path(tenant), options).await?,
        ))
    }
}

#[async_trait]
impl DatabaseAdapter for SqliteAdapter {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        let location = self.location.clone();
        run_blocking(move || location.list_tenants()).await
    }

    fn context(&self, tenant: &TenantId) -> Result<TenantContext> {
        self.location.context(tenant)
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        let sql = sql.to_string();
        run_blocking(move || {
            let target_error = |message: String, e: rusqlite::Error| Error::Target {
                target: "SQL".into(),
                message,
                source: Some(Box::new(e)),
            };
            let conn = Connection::open_in_memory()
                .map_err(|e| target_error("cannot open an in-memory database".into(), e))?;
            conn.execute_batch(&sql)
                .map_err(|e| target_error(format!("SQLite rejected the DDL: {e}"), e))?;
            inspect_connection(&conn)
                .map_err(|e| target_error("cannot inspect the DDL's result".into(), e))
        })
        .await
    }
}
