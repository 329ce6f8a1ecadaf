//! The traits a database adapter implements: discovery, inspection and execution.
//!
//! Following refinery's lead, adapters implement a few small primitives and the logic
//! that combines them lives once, here or in the [`Engine`](crate::Engine).

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::plan::MigrationPlan;
use crate::snapshot::SchemaSnapshot;
use crate::tenant::{TenantContext, TenantId};

/// Reads live schemas. Read-only: audit mode uses nothing else.
#[async_trait]
pub trait SchemaInspector: Send + Sync {
    /// Inspects one tenant.
    ///
    /// # Errors
    /// A connection or catalog error, or [`Error::Unsupported`](crate::Error::Unsupported)
    /// for an object that cannot be represented.
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot>;

    /// Inspects many tenants; the result is aligned with `tenants`.
    ///
    /// The default calls [`inspect`](Self::inspect) once per tenant. Server adapters
    /// override it to read the catalog for the whole batch in one round of queries.
    async fn inspect_many(&self, tenants: &[TenantContext]) -> Vec<Result<SchemaSnapshot>> {
        let mut out = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            out.push(self.inspect(tenant).await);
        }
        out
    }
}

/// Limits that apply while a tenant is locked and changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecuteOptions {
    /// How long to wait for the per-tenant lock (and for table locks where the database
    /// has a lock timeout).
    pub lock_timeout: Duration,
    /// The longest any one statement may run, if limited.
    pub statement_timeout: Option<Duration>,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(10),
            statement_timeout: None,
        }
    }
}

/// How an adapter connects, common to every database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The most connections the adapter may open to one server (its pool size).
    pub max_connections: usize,
    /// Open every connection read-only (audit mode): nothing can be written even by
    /// mistake, and a role that can only read the catalog is enough.
    pub read_only: bool,
    /// How long inspection may wait for a lock on a tenant's objects (a catalog read
    /// that deparses an expression of a table someone holds locked waits for it). A
    /// tenant whose inspection runs out of time fails alone, with the `lock` kind.
    /// `None`: the server's default.
    pub lock_timeout: Option<Duration>,
    /// The longest one inspection query may run. `None`: no limit.
    pub statement_timeout: Option<Duration>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            read_only: false,
            lock_timeout: None,
            statement_timeout: None,
        }
    }
}

/// What an execution did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExecutionResult {
    /// Steps in the plan.
    pub steps_total: usize,
    /// Steps completed.
    pub steps_succeeded: usize,
    /// SQL statements sent.
    pub statements_executed: usize,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
}

/// Renders plans to SQL and applies them under a per-tenant lock.
#[async_trait]
pub trait MigrationRunner: Send + Sync {
    /// The SQL statements that would carry out `plan` on `tenant`, in order, with every
    /// identifier quoted.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) for an operation this database
    /// cannot express; a database error where rendering needs to read the tenant.
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>>;

    /// Takes the per-tenant lock and opens the unit of work that changes the tenant.
    ///
    /// # Errors
    /// [`Error::Lock`](crate::Error::Lock) when the lock is not granted within
    /// [`ExecuteOptions::lock_timeout`]; a connection error.
    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>>;

    /// Locks `tenant`, applies `plan` and releases the lock.
    ///
    /// # Errors
    /// As [`acquire_lock`](Self::acquire_lock) and [`TenantLock::execute`].
    async fn execute(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        options: &ExecuteOptions,
    ) -> Result<ExecutionResult> {
        let lock = self.acquire_lock(tenant, options).await?;
        lock.execute(plan).await
    }
}

/// A tenant held under its schema lock.
///
/// Dropping it without calling [`execute`](Self::execute) or [`release`](Self::release)
/// must release the lock and leave the tenant unchanged.
#[async_trait]
pub trait TenantLock: Send {
    /// Inspects the tenant as it is under the lock, so a plan can be checked against
    /// changes made by someone else since it was computed.
    ///
    /// # Errors
    /// A database error.
    async fn inspect(&mut self) -> Result<SchemaSnapshot>;

    /// Applies `plan` and releases the lock. Where the database has transactional DDL a
    /// failure leaves the tenant exactly as it was.
    ///
    /// # Errors
    /// [`Error::Execute`](crate::Error::Execute) naming the failing step and statement
    /// and how many steps succeeded.
    async fn execute(self: Box<Self>, plan: &MigrationPlan) -> Result<ExecutionResult>;

    /// Releases the lock without changing anything.
    ///
    /// # Errors
    /// A database error while ending the unit of work.
    async fn release(self: Box<Self>) -> Result<()>;
}

/// One kind of database: how tenants are found and where the inspector and runner are.
#[async_trait]
pub trait DatabaseAdapter: Send + Sync {
    /// A short name (`sqlite`, `postgres`, `mysql`).
    fn name(&self) -> &'static str;

    /// The name of every tenant namespace on this database, system and scratch
    /// namespaces excluded, sorted. Names are raw: one that breaks the database's naming
    /// rule is listed too, so that a fleet run reports it instead of skipping it silently.
    ///
    /// # Errors
    /// A connection or listing error.
    async fn list_tenants(&self) -> Result<Vec<String>>;

    /// The context for `tenant`: where its schema lives on this database.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the id cannot name a namespace here.
    fn context(&self, tenant: &TenantId) -> Result<TenantContext>;

    /// The inspector.
    fn inspector(&self) -> &dyn SchemaInspector;

    /// The runner.
    fn runner(&self) -> &dyn MigrationRunner;

    /// Loads a desired schema from DDL by applying it in a scratch namespace of this
    /// database and inspecting the result: the database is the parser.
    ///
    /// # Errors
    /// [`Error::Target`](crate::Error::Target) with the database's own message when the
    /// DDL does not apply.
    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot>;
}
