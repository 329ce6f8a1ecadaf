//! The traits a database adapter implements: discovery, inspection and execution.
//!
//! Following refinery's lead, adapters implement a few small primitives and the logic
//! that combines them lives once, here or in the [`Engine`](crate::Engine).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::cache::ChangeCookie;
use crate::error::Result;
use crate::isolation::NamespaceGuard;
use crate::migrate::{AppliedMigration, Migration};
use crate::plan::{MigrationPlan, ScriptPart};
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
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

    /// Inspects many tenants for a fleet run; the result is aligned with `tenants`. Each
    /// snapshot comes shared and hashed, with the tenant's change cookie when the adapter
    /// reads it in the same read as the snapshot
    /// ([`cookies_with_inspection`](Self::cookies_with_inspection)).
    ///
    /// The default calls [`inspect_many`](Self::inspect_many) and hashes each snapshot,
    /// without cookies. An adapter whose tenants are mostly copies of a few schemas
    /// overrides it to derive and hash one snapshot per distinct shape and hand out
    /// that one to every tenant of the shape.
    async fn inspect_many_shared(&self, tenants: &[TenantContext]) -> Vec<Result<Inspection>> {
        self.inspect_many(tenants)
            .await
            .into_iter()
            .map(|live| live.map(Inspection::new))
            .collect()
    }

    /// Whether [`inspect_many_shared`](Self::inspect_many_shared) returns each tenant's
    /// change cookie, read in the same read as its snapshot (so the cookie describes
    /// exactly what was inspected). The engine then reads cookies on their own only for
    /// tenants the snapshot cache may answer, and records the others under the cookie
    /// their inspection returned: one visit per tenant instead of two on a cold cache.
    /// The default is `false`.
    fn cookies_with_inspection(&self) -> bool {
        false
    }

    /// The change cookies of `tenants`, aligned with them ([`crate::cache`]), or `None`
    /// when this adapter has none, which is the default. A tenant whose cookie cannot be
    /// read (it does not exist, the query failed) gets `None` and is inspected in full.
    ///
    /// An adapter returns cookies only where a test proves that every kind of change it
    /// models moves them: a cookie that stays put across a change makes the next run
    /// report a stale snapshot.
    async fn change_cookies(&self, tenants: &[TenantContext]) -> Option<Vec<Option<ChangeCookie>>> {
        let _ = tenants;
        None
    }
}

/// A tenant's snapshot as inspected for a fleet run: shared, hashed once, and with the
/// change cookie read with it when the adapter has one
/// ([`SchemaInspector::inspect_many_shared`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// The snapshot; tenants of one shape may share it.
    pub snapshot: Arc<SchemaSnapshot>,
    /// Its hash.
    pub hash: SnapshotHash,
    /// The change cookie read before the snapshot or in the same read, if any.
    pub cookie: Option<ChangeCookie>,
}

impl Inspection {
    /// A snapshot just read, hashed here, without a cookie.
    pub fn new(snapshot: SchemaSnapshot) -> Self {
        let hash = snapshot.hash();
        Self::shared(Arc::new(snapshot), hash, None)
    }

    /// A snapshot with its known `hash` and the `cookie` read with it.
    ///
    /// `hash` must be `snapshot.hash()`: the engine shares diffs and plans by it.
    pub fn shared(
        snapshot: Arc<SchemaSnapshot>,
        hash: SnapshotHash,
        cookie: Option<ChangeCookie>,
    ) -> Self {
        Self {
            snapshot,
            hash,
            cookie,
        }
    }
}

/// Limits and guards that apply while a tenant is locked and changed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecuteOptions {
    /// How long to wait for the per-tenant lock (and for table locks where the database
    /// has a lock timeout).
    pub lock_timeout: Duration,
    /// The longest any one statement may run, if limited.
    pub statement_timeout: Option<Duration>,
    /// The namespaces no tenant's SQL may name (other tenants, the template). Runners
    /// call [`NamespaceGuard::check`] on every rendered statement before running any.
    pub isolation: NamespaceGuard,
    /// How many times a locking statement whose table lock was not granted within
    /// `lock_timeout` is tried again, after a growing pause, before the tenant fails
    /// (the online strategy). 0: the first lock timeout fails the tenant.
    pub lock_retries: u32,
    /// Whether an online strategy may fall back to a change that blocks writes (MySQL
    /// `ALGORITHM=COPY`) where the server cannot make it online. `false`: such a change
    /// fails the tenant, naming the table and the change.
    pub allow_copy: bool,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(10),
            statement_timeout: None,
            isolation: NamespaceGuard::default(),
            lock_retries: 0,
            allow_copy: false,
        }
    }
}

/// How an adapter connects, common to every database.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Read privileges granted on tenant objects into snapshots, so that they are
    /// compared and synced (PostgreSQL). Off by default: tenants often differ in grants
    /// on purpose. Ownership is never compared.
    pub include_privileges: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 4,
            read_only: false,
            lock_timeout: None,
            statement_timeout: None,
            include_privileges: false,
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
    /// In `sync`, milliseconds from asking for the tenant's lock to its commit: the
    /// change-cookie check, rendering, the statements, verification and the commit (with
    /// the steps an online plan runs after it). Set by the engine; runners leave it 0.
    /// Beyond `duration_ms`, it is what a sync costs a tenant on top of its DDL.
    #[serde(default)]
    pub locked_ms: u64,
    /// Each statement sent, in order, with how long it took: what the run ledger
    /// records. Left out of the JSON output, which counts statements only.
    #[serde(default, skip_serializing)]
    pub statements: Vec<StatementTiming>,
}

/// One SQL statement a runner executed and its duration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatementTiming {
    /// The statement as sent.
    pub sql: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

impl StatementTiming {
    /// `sql`, timed from `started` until now.
    pub fn since(sql: impl Into<String>, started: std::time::Instant) -> Self {
        Self {
            sql: sql.into(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
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

    /// The SQL of `plan` for a migration file that every tenant of `tenant`'s shape
    /// shares ([`ScriptPart`]): no statement names the tenant's namespace, and the file
    /// runs on a session whose default namespace is the tenant's. `from` is the schema
    /// the plan starts from (the shape's live schema for an up migration, the target for
    /// a down migration); the runner renders from it instead of reading the tenant, and
    /// reads from `tenant` only what a snapshot does not hold. The parts run in order,
    /// each as one migration.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) by default, for an adapter that
    /// cannot render without naming the tenant, and for an object whose definition names
    /// the tenant's namespace (a PostgreSQL function pinned to it with `SET
    /// search_path`); as [`render`](Self::render) otherwise.
    async fn render_shared(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        from: &SchemaSnapshot,
    ) -> Result<Vec<ScriptPart>> {
        let _ = (plan, from);
        Err(crate::Error::Unsupported {
            tenant: Some(tenant.id().clone()),
            object: "shared migration files".into(),
            message: "this database adapter renders SQL for one tenant only; run plan --out without --layout for one file per tenant".into(),
        })
    }

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

    /// Locks `tenant`, applies `plan`, commits and releases the lock.
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

    /// Refines core's dialect-neutral hazards with what this database does: the lock
    /// level a statement takes, whether the table is copied. Called once per plan, after
    /// planning; the default keeps core's hazards.
    fn refine_hazards(&self, plan: &mut MigrationPlan) {
        let _ = plan;
    }

    /// `plan --check-data`: counts, in a read-only transaction on `tenant`, the rows each
    /// step of `plan` would fail on (a new `NOT NULL`, unique key, check or foreign key)
    /// or lose (a dropped column or table). See [`count_queries`](crate::plan::count_queries).
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) by default, for an adapter that
    /// cannot count; a database error naming the tenant.
    async fn check_data(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<crate::plan::DataCheck>> {
        let _ = plan;
        Err(crate::Error::Unsupported {
            tenant: Some(tenant.id().clone()),
            object: "plan --check-data".into(),
            message: "this database adapter cannot count rows; run plan without --check-data"
                .into(),
        })
    }
    /// The versioned migrations recorded as applied to `tenant`
    /// ([`HISTORY_TABLE`](crate::migrate::HISTORY_TABLE)), in version order, read
    /// without the tenant's lock and without creating anything: empty when the tenant
    /// was never migrated. What `migrate status` reads.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) by default, for an adapter
    /// without versioned migrations; a database error naming the tenant.
    async fn migration_history(&self, tenant: &TenantContext) -> Result<Vec<AppliedMigration>> {
        Err(no_versioned_migrations(Some(tenant.id())))
    }
}

/// The error of an adapter that has no versioned migrations.
fn no_versioned_migrations(tenant: Option<&TenantId>) -> crate::Error {
    crate::Error::Unsupported {
        tenant: tenant.cloned(),
        object: "migrate".into(),
        message: "this database adapter cannot apply versioned migrations; use sync with a target instead".into(),
    }
}

/// A tenant held under its schema lock, inside one unit of work.
///
/// The engine's flow is: [`inspect`](Self::inspect) (has anyone changed the tenant?),
/// [`apply`](Self::apply), `inspect` again (does the tenant now equal the target?), then
/// [`commit`](Self::commit), or [`release`](Self::release) to roll back. Where the
/// database has transactional DDL (PostgreSQL, SQLite), everything `apply` did is still
/// undone by `release`, so a tenant that would diverge from the target is left exactly as
/// it was. Dropping the lock without `commit` must behave like `release`.
#[async_trait]
pub trait TenantLock: Send {
    /// Inspects the tenant as it is under the lock, including what
    /// [`apply`](Self::apply) changed in this unit of work.
    ///
    /// # Errors
    /// A database error.
    async fn inspect(&mut self) -> Result<SchemaSnapshot>;

    /// The tenant's change cookie as it is under the lock
    /// ([`SchemaInspector::change_cookies`]), or `None` where the adapter has none. When
    /// it equals the cookie read before the tenant was last inspected, the tenant has not
    /// changed since, and the engine skips [`inspect`](Self::inspect).
    ///
    /// # Errors
    /// A database error.
    async fn change_cookie(&mut self) -> Result<Option<ChangeCookie>> {
        Ok(None)
    }

    /// Applies `plan` without ending the unit of work. Before running anything it checks
    /// every rendered statement with the [`ExecuteOptions::isolation`] guard.
    ///
    /// `live` is the tenant as it stands in this unit of work: read under this lock
    /// ([`inspect`](Self::inspect)), or read before it and proven unchanged by an unmoved
    /// [`change_cookie`](Self::change_cookie). A runner renders from it instead of reading
    /// the tenant again.
    ///
    /// # Errors
    /// [`Error::Execute`](crate::Error::Execute) naming the failing step and statement
    /// and how many steps succeeded; [`Error::Isolation`](crate::Error::Isolation) when a
    /// statement names another tenant's namespace. After an error, call
    /// [`release`](Self::release).
    async fn apply(
        &mut self,
        plan: &MigrationPlan,
        live: &SchemaSnapshot,
    ) -> Result<ExecutionResult>;

    /// The versioned migrations recorded as applied to the tenant, in version order,
    /// read in this unit of work; creates the tenant's
    /// [`HISTORY_TABLE`](crate::migrate::HISTORY_TABLE) first when it is missing.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) by default; a database error.
    async fn migration_history(&mut self) -> Result<Vec<AppliedMigration>> {
        Err(no_versioned_migrations(None))
    }

    /// Runs `migration`'s SQL in the tenant's namespace and records it in the history
    /// table, returning how long the file took. Where DDL is transactional both happen
    /// in this unit of work, so [`release`](Self::release) undoes them; a migration
    /// marked `no_transaction` commits the unit of work first and runs on its own, with
    /// the tenant's lock still held. Before running anything the file's SQL goes through
    /// the [`ExecuteOptions::isolation`] guard.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) by default;
    /// [`Error::Isolation`](crate::Error::Isolation); the database's error for the file.
    async fn apply_migration(&mut self, migration: &Migration) -> Result<StatementTiming> {
        let _ = migration;
        Err(no_versioned_migrations(None))
    }

    /// Whether [`release`](Self::release) undoes what [`apply`](Self::apply) did
    /// (transactional DDL). MySQL commits every DDL statement at once, so it cannot.
    fn is_transactional(&self) -> bool;

    /// Makes the changes permanent and releases the lock.
    ///
    /// # Errors
    /// A database error while committing (deferred constraints are checked here); the
    /// tenant is then rolled back where the database can.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Ends the unit of work without committing: rolls back whatever
    /// [`apply`](Self::apply) did (where DDL is transactional) and releases the lock.
    ///
    /// # Errors
    /// A database error while ending the unit of work.
    async fn release(self: Box<Self>) -> Result<()>;

    /// Reads the tenant, applies `plan` and commits: [`inspect`](Self::inspect),
    /// [`apply`](Self::apply) then [`commit`](Self::commit), releasing (rolling back) on
    /// failure.
    ///
    /// # Errors
    /// As `inspect`, `apply` and `commit`.
    async fn execute(mut self: Box<Self>, plan: &MigrationPlan) -> Result<ExecutionResult> {
        let applied = match self.inspect().await {
            Ok(live) => self.apply(plan, &live).await,
            Err(error) => Err(error),
        };
        match applied {
            Ok(result) => {
                self.commit().await?;
                Ok(result)
            }
            Err(error) => {
                // The apply error is what the caller needs; a failed rollback on top of it
                // leaves the transaction to the server, which rolls back on disconnect.
                let _ = self.release().await;
                Err(error)
            }
        }
    }
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

    /// Where `tenant`'s schema lives on this database (a schema or database name, a file
    /// path), after the database's own naming rule.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when the id cannot name a namespace here.
    fn namespace_of(&self, tenant: &TenantId) -> Result<String>;

    /// The context for `tenant`. Contexts are made only here, from
    /// [`namespace_of`](Self::namespace_of), so no caller can pair a tenant with a
    /// namespace of its choosing; adapters do not override this.
    ///
    /// # Errors
    /// As [`namespace_of`](Self::namespace_of).
    fn context(&self, tenant: &TenantId) -> Result<TenantContext> {
        Ok(TenantContext::new(
            tenant.clone(),
            self.namespace_of(tenant)?,
        ))
    }

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

    /// Which spellings of the target's expressions this database takes for the same
    /// expression ([`Equivalences`](crate::snapshot::Equivalences)), learnt by creating
    /// `target` anew in a scratch namespace and inspecting it: an expression the
    /// database prints differently once reparsed must not make a synced tenant look
    /// drifted. [`snapshot_from_sql`](Self::snapshot_from_sql) fills them itself.
    ///
    /// The default learns nothing (for databases that store expressions as written).
    ///
    /// # Errors
    /// A connection error, or the target does not apply; callers may carry on without
    /// equivalences, at the price of reporting such spellings as drift.
    async fn expression_equivalences(
        &self,
        target: &SchemaSnapshot,
    ) -> Result<crate::snapshot::Equivalences> {
        let _ = target;
        Ok(crate::snapshot::Equivalences::default())
    }
}
