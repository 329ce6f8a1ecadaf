//! The PostgreSQL adapter of schema-sync: one schema per tenant.
//!
//! Everything the adapter does is scoped by a [`TenantContext`] and every identifier it
//! sends is quoted, so tenant names with quotes, spaces, dots or unicode are safe. This
//! file holds the adapter struct and the trait wiring only; each method delegates to one
//! of the modules below.
//!
//! - `connect.rs` parses the URL, builds the deadpool pool of `max_connections` and
//!   checks the server version (12 or newer). In read-only mode (audit) every session
//!   starts with `default_transaction_read_only = on`. TLS follows libpq's `sslmode` and
//!   `sslrootcert` with rustls (`connect/tls.rs`); [`connect_client`] opens one
//!   connection the same way for other crates (the PostgreSQL snapshot store).
//!   Passwords never reach an error or a log: messages carry the URL through
//!   [`redact_url`](schema_sync_core::redact_url).
//! - `tenants.rs` lists the tenant schemas and maps a tenant id to its schema (the id is
//!   the schema name).
//! - `catalog.rs` holds the `pg_catalog` queries and their row types. They filter by
//!   arrays of namespace and relation oids, so a whole batch of schemas costs a fixed
//!   number of round trips; the text PostgreSQL deparses (defaults, checks, index
//!   expressions, view bodies, functions, triggers) comes from one simple-protocol
//!   message that pins `search_path` to each tenant in turn (`catalog/deparse.rs`).
//!   `catalog/privileges.rs` reads the grants of views a plan recreates.
//!   `catalog/cookie.rs` reads a batch's change cookies for the snapshot cache: a
//!   fingerprint of the `xmin` of every catalog row a snapshot is built from.
//!   `catalog/client.rs` sends a batch's queries unnamed and prepares those that read
//!   one tenant alone (the cookie and inspection under a sync's lock) once per
//!   connection.
//! - `inspect.rs` assembles those rows into tenant-relative snapshots: pinning
//!   `search_path` makes the tenant's own objects print unqualified while
//!   `public.citext` stays qualified, so a clone of a template inspects byte-identical to
//!   it. Inspection runs under the lock and statement timeouts of the
//!   [`ConnectOptions`](schema_sync_core::ConnectOptions); a batch that times out is
//!   inspected again tenant by tenant, so only the locked tenant fails
//!   (`inspect/timeouts.rs`).
//! - `target.rs` loads the target from SQL by letting PostgreSQL parse it: the DDL runs
//!   in a uniquely named scratch schema inside a transaction, is inspected there and
//!   rolled back.
//! - `types.rs` normalises types from `pg_type` and `atttypmod` (never by re-parsing
//!   `format_type`) and knows which type changes can round values.
//! - `render.rs` turns a plan into DDL statements tagged with their step
//!   (`render/columns.rs`, `render/objects.rs`, `render/privileges.rs`,
//!   `render/type_sql.rs`).
//! - `runner.rs` runs a tenant's whole plan in one transaction: `pg_advisory_xact_lock`
//!   keyed by the tenant serialises concurrent runs, `SET LOCAL` timeouts bound the
//!   waits, and any failure rolls the tenant back whole (PostgreSQL DDL is
//!   transactional).
//! - `history.rs` keeps a tenant's versioned migrations in its own
//!   `_schema_sync_migrations` table and runs migration files in the runner's
//!   transaction (`schema-sync migrate`).
//! - `hazards.rs` names the lock each step takes and counts, read-only, the rows a plan
//!   would fail on or lose (`plan --check-data`).
//! - `sql.rs` quotes identifiers and literals and imports nothing else from the crate.
//!   `sql/relative.rs` swaps the tenant's schema in the two parts of a function
//!   definition PostgreSQL stores as written (a `SET search_path` option and a string
//!   body) for a stand-in, and back for the synced tenant.
//! - `error.rs` maps driver and pool errors to core errors with the tenant, the phase
//!   and the fix.
#![deny(missing_docs)]

mod catalog;
mod connect;
mod error;
mod hazards;
mod history;
mod inspect;
mod online;
mod render;
mod runner;
mod sql;
mod target;
mod tenants;
mod types;

use async_trait::async_trait;
use deadpool_postgres::Pool;
use schema_sync_core::plan::{MigrationPlan, ScriptPart};
use schema_sync_core::{
    ChangeCookie, DatabaseAdapter, ExecuteOptions, MigrationRunner, Result, SchemaInspector,
    SchemaSnapshot, TenantContext, TenantId, TenantLock,
};

pub use connect::{connect, connect_client};
pub use online::OnlinePlanner;

/// The PostgreSQL adapter: tenant discovery, inspection and migration on one server.
///
/// Built by [`connect`]. It implements [`DatabaseAdapter`], [`SchemaInspector`] and
/// [`MigrationRunner`]; [`inspector`](DatabaseAdapter::inspector) and
/// [`runner`](DatabaseAdapter::runner) return the adapter itself.
pub struct PostgresAdapter {
    pool: Pool,
    /// The URL with the password removed, for messages.
    target: String,
    /// Every session is read-only (audit mode); the runner refuses to lock.
    read_only: bool,
    /// `server_version_num`.
    server_version: i32,
    /// Read and compare privileges on tenant objects (`--include-privileges`).
    include_privileges: bool,
    /// Timeouts set in every inspection transaction.
    inspect_timeouts: inspect::Timeouts,
    /// Text of the shapes fleet batches deparsed, for the batches after them.
    shape_cache: inspect::ShapeCache,
}

impl std::fmt::Debug for PostgresAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAdapter")
            .field("target", &self.target)
            .field("read_only", &self.read_only)
            .field("server_version", &self.server_version)
            .field("include_privileges", &self.include_privileges)
            .field("inspect_timeouts", &self.inspect_timeouts)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl DatabaseAdapter for PostgresAdapter {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        tenants::list(&client).await
    }

    fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        tenants::namespace_of(tenant)
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        target::snapshot_from_sql(self, sql).await
    }

    async fn expression_equivalences(
        &self,
        target: &SchemaSnapshot,
    ) -> Result<schema_sync_core::snapshot::Equivalences> {
        target::learn_equivalences(self, target).await
    }
}

#[async_trait]
impl SchemaInspector for PostgresAdapter {
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        self.inspect_one(tenant).await
    }

    async fn inspect_many(&self, tenants: &[TenantContext]) -> Vec<Result<SchemaSnapshot>> {
        self.inspect_each(tenants).await
    }

    /// A fingerprint of the tenant's catalog rows (`catalog/cookie.rs`); the cache tests
    /// (`tests/cache.rs`) change every modelled kind of object and check that it moves.
    async fn change_cookies(&self, tenants: &[TenantContext]) -> Option<Vec<Option<ChangeCookie>>> {
        Some(self.read_change_cookies(tenants).await)
    }
}

#[async_trait]
impl MigrationRunner for PostgresAdapter {
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        self.render_statements(tenant, plan).await
    }

    async fn render_shared(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        from: &SchemaSnapshot,
    ) -> Result<Vec<ScriptPart>> {
        self.render_shared_parts(tenant, plan, from).await
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        self.lock_tenant(tenant, options).await
    }

    fn refine_hazards(&self, plan: &mut MigrationPlan) {
        hazards::refine(plan);
    }

    async fn check_data(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<schema_sync_core::DataCheck>> {
        hazards::check_data(self, tenant, plan).await
    }

    async fn migration_history(
        &self,
        tenant: &TenantContext,
    ) -> Result<Vec<schema_sync_core::migrate::AppliedMigration>> {
        history::read(&*self.client().await?, tenant).await
    }
}
