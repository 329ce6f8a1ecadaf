//! The SQLite adapter of schema-sync: one database file per tenant.
//!
//! SQLite is the embedded default: no server, and a directory of files is a fleet.
//! `sqlite:///path/dir` makes every `*.db`, `*.sqlite` and `*.sqlite3` file a tenant
//! named by its file stem; `sqlite:///path/file.db` is a single tenant.
//!
//! - **Inspection** reads pragmas and, for what pragmas do not say (checks, generated
//!   expressions, collations, index expressions), the DDL SQLite stores, normalised so
//!   formatting never shows up as drift.
//! - **Targets from SQL** are applied to an in-memory database and inspected: SQLite
//!   itself is the parser.
//! - **Execution** runs in one `BEGIN IMMEDIATE` transaction per tenant (the lock), using
//!   a table rebuild for every change `ALTER TABLE` cannot make, keeping every row, and
//!   checking foreign keys before commit. A failure rolls the tenant back whole.
//! - **Fidelity**: tables are created in the target's column order with its constraint
//!   names, `STRICT` and `WITHOUT ROWID`; a rebuild keeps the stored text of every column
//!   and constraint it does not change, so `.schema` reads like the template. Declared
//!   types are compared lowercased, so a table created from scratch spells them
//!   lowercase.
//! - **Unmodelled dependents**: an index or trigger attached to a table or view that
//!   the model does not cover is reported as a dependent of it, and the runner refuses a
//!   plan that would drop it with its parent.
//! - **Hot journals** left by a writer killed mid-transaction are rolled back under the
//!   tenant's write lock when the command may write (`sync`, `validate`), and reported
//!   with the fix when it may not (`audit`).
//! - rusqlite is blocking: every call runs on tokio's blocking pool (`run_blocking`),
//!   never on executor threads.
//!
//! ## Modules
//!
//! The same file set as every adapter; this file only wires the traits to them.
//!
//! - `connect.rs`: the `sqlite://` URL ([`Location`]) and the connect options, and
//!   opening a tenant file read-only or read-write. `connect/journal.rs` rolls back the
//!   hot journal an inspection meets, or says how to.
//! - `hazards.rs`: `plan --check-data`, counting on a read-only connection the rows a
//!   plan would fail on or lose.
//! - `tenants.rs`: discovery (every tenant file's stem) and `namespace_of`, the path of
//!   a tenant's file.
//! - `catalog.rs`: the one statement that reads `sqlite_schema` and the pragmas of
//!   every table, with its row types.
//!   `catalog/tokens.rs` lexes and normalises stored DDL; `catalog/ddl.rs` reads from it
//!   what pragmas do not say, item by item and verbatim.
//! - `inspect.rs`: assembles the catalog rows into a snapshot. `inspect/names.rs`
//!   derives the names SQLite does not keep for unique constraints, foreign keys and
//!   checks. `inspect/shapes.rs` derives one snapshot per distinct stored DDL: a file
//!   whose `sqlite_schema` rows equal an already inspected file's takes its snapshot
//!   and hash, shared, and the digest of those rows is the file's change cookie, so a
//!   fleet run opens each file once. A batch runs in one task on the blocking pool.
//! - `target.rs`: `snapshot_from_sql`, the target DDL applied to an in-memory database.
//! - `types.rs`: declared types to and from the model's `DataType`.
//! - `render.rs`: a plan to statements, with the table-rebuild procedure.
//!   `render/create.rs` writes `CREATE TABLE` and `CREATE INDEX`, keeping the stored text
//!   of what a rebuild does not change.
//! - `runner.rs`: the tenant lock (`BEGIN IMMEDIATE`): renders inside the lock, checks
//!   every statement with the namespace guard, runs it, and checks foreign keys.
//! - `history.rs`: the file's `_schema_sync_migrations` table and how a versioned
//!   migration file runs in the lock's transaction (`schema-sync migrate`).
//! - `sql.rs`: quoting of identifiers and literals; a leaf that imports nothing from the
//!   crate.
//! - `error.rs`: rusqlite errors to schema-sync errors with the tenant, phase, file and
//!   a hint.
#![deny(missing_docs)]

mod catalog;
mod connect;
mod error;
mod hazards;
mod history;
mod inspect;
mod render;
mod runner;
mod sql;
mod target;
mod tenants;
mod types;

use std::sync::Arc;

use async_trait::async_trait;
use schema_sync_core::plan::ScriptPart;
use schema_sync_core::{
    ChangeCookie, ConnectOptions, DatabaseAdapter, ExecuteOptions, Inspection, MigrationPlan,
    MigrationRunner, Result, SchemaInspector, SchemaSnapshot, TenantContext, TenantId, TenantLock,
};

pub use connect::Location;
pub use tenants::TENANT_EXTENSIONS;

use connect::Access;
use inspect::Shapes;
use runner::SqliteLock;

/// Tenants stored as SQLite files.
#[derive(Debug, Clone)]
pub struct SqliteAdapter {
    location: Location,
    /// Whether files may be opened read-write outside a migration, and how long to wait.
    access: Access,
    /// Snapshots already derived, by the shape of the stored DDL; shared by clones.
    shapes: Arc<Shapes>,
}

/// Opens the SQLite tenants at `url` (`sqlite:///dir` or `sqlite:///file.db`).
///
/// SQLite needs no pool. Inspection always opens files read-only; with
/// `options.read_only` (audit) a file is never opened read-write, not even to roll back
/// a hot journal. `options.lock_timeout` bounds the wait for another writer then.
///
/// # Errors
/// [`Error::Config`](schema_sync_core::Error::Config) when the URL is not a `sqlite://`
/// URL or its path does not exist.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<SqliteAdapter> {
    Ok(SqliteAdapter::with_options(
        Location::from_url(url)?,
        options,
    ))
}

impl SqliteAdapter {
    /// An adapter for a known location that may roll back hot journals (not read-only).
    pub fn new(location: Location) -> Self {
        Self::with_options(location, &ConnectOptions::default())
    }

    /// An adapter for a known location with `options` (`read_only`, `lock_timeout`).
    pub fn with_options(location: Location, options: &ConnectOptions) -> Self {
        Self {
            location,
            access: Access::from_options(options),
            shapes: Arc::default(),
        }
    }

    /// Where the tenants are.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

#[async_trait]
impl SchemaInspector for SqliteAdapter {
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        let mut inspected = self.inspect_many_shared(std::slice::from_ref(tenant)).await;
        let inspected = inspected.pop().unwrap_or_else(|| {
            Err(schema_sync_core::Error::Internal {
                tenant: Some(tenant.id().clone()),
                message: "the inspection returned no result".into(),
            })
        })?;
        Ok(Arc::unwrap_or_clone(inspected.snapshot))
    }

    async fn inspect_many(&self, tenants: &[TenantContext]) -> Vec<Result<SchemaSnapshot>> {
        self.inspect_many_shared(tenants)
            .await
            .into_iter()
            .map(|inspected| inspected.map(|i| Arc::unwrap_or_clone(i.snapshot)))
            .collect()
    }

    /// One visit per file: the snapshot of a shape already seen is shared, not derived
    /// or hashed again, and the change cookie is the digest the snapshot was read under.
    async fn inspect_many_shared(&self, tenants: &[TenantContext]) -> Vec<Result<Inspection>> {
        inspect::inspect_tenants(tenants, self.access, &self.shapes).await
    }

    fn cookies_with_inspection(&self) -> bool {
        true
    }

    async fn change_cookies(&self, tenants: &[TenantContext]) -> Option<Vec<Option<ChangeCookie>>> {
        let cookies = inspect::change_cookies(tenants, self.access).await;
        Some(cookies.into_iter().map(|c| c.ok().flatten()).collect())
    }
}

#[async_trait]
impl MigrationRunner for SqliteAdapter {
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        let live = self.inspect(tenant).await?;
        runner::render_script(tenant, &live, plan).await
    }

    /// The whole script as [`render`](MigrationRunner::render) writes it, in one part
    /// that runs outside the migration tool's transaction: SQLite names no namespace,
    /// and the script's own `PRAGMA foreign_keys = OFF` only works before its `BEGIN
    /// IMMEDIATE` (a table rebuild with foreign keys on would cascade its `DROP TABLE`).
    async fn render_shared(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        from: &SchemaSnapshot,
    ) -> Result<Vec<ScriptPart>> {
        let script = runner::render_script(tenant, from, plan).await?;
        Ok(vec![ScriptPart::whole(plan.steps.len(), false, script)])
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        Ok(Box::new(
            SqliteLock::acquire(tenant.clone(), options).await?,
        ))
    }

    async fn check_data(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<schema_sync_core::DataCheck>> {
        hazards::check_data(tenant, plan, self.access).await
    }

    async fn migration_history(
        &self,
        tenant: &TenantContext,
    ) -> Result<Vec<schema_sync_core::migrate::AppliedMigration>> {
        let (id, path, access) = (tenant.id().clone(), tenants::path_of(tenant), self.access);
        schema_sync_core::run_blocking(move || {
            connect::read_for_inspection(&id, &path, access, history::read)
        })
        .await
    }
}

#[async_trait]
impl DatabaseAdapter for SqliteAdapter {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        tenants::list(&self.location).await
    }

    fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        tenants::namespace_of(&self.location, tenant)
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        target::snapshot_from_sql(sql).await
    }
}
