//! Test support: snapshot builders and in-memory mock implementations of every trait.
//!
//! Enabled by the `testing` feature. The mocks model a database with the same strict
//! semantics as [`MigrationPlan::apply_to`], so engine tests exercise real plans.
//! [`conformance`] is the suite every adapter runs against its real database; [`load`]
//! records what a concurrent writer saw in the online strategies' load tests.

pub mod conformance;
pub mod load;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::adapter::{
    DatabaseAdapter, ExecuteOptions, ExecutionResult, Inspection, MigrationRunner, SchemaInspector,
    TenantLock,
};
use crate::cache::ChangeCookie;
use crate::error::{Error, Phase, Result};
use crate::plan::{MigrationPlan, Operation, PlanStep};
use crate::snapshot::{
    Column, DataType, ForeignKey, Index, IndexPart, PrimaryKey, SNAPSHOT_FORMAT_VERSION,
    SchemaSnapshot, SnapshotHash, Table,
};
use crate::store::{SnapshotRecord, SnapshotStore};
use crate::tenant::{TenantContext, TenantId};

/// Builds a table fluently.
#[derive(Debug, Clone, Default)]
pub struct TableBuilder(Table);

impl TableBuilder {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column of `type_name` after the others, nullable unless `not_null`.
    pub fn column(mut self, name: &str, type_name: &str, not_null: bool) -> Self {
        let mut column = Column::new(DataType::named(type_name));
        column.nullable = !not_null;
        self.0.push_column(name, column);
        self
    }

    /// Sets the primary key.
    pub fn primary_key(mut self, columns: &[&str]) -> Self {
        self.0.primary_key = Some(PrimaryKey {
            name: None,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            comment: None,
        });
        self
    }

    /// Adds a foreign key `name` from `columns` to `table(referenced)`.
    pub fn foreign_key(
        mut self,
        name: &str,
        columns: &[&str],
        table: &str,
        referenced: &[&str],
    ) -> Self {
        self.0.foreign_keys.insert(
            name.to_string(),
            ForeignKey {
                columns: columns.iter().map(|c| c.to_string()).collect(),
                referenced_schema: None,
                referenced_table: table.to_string(),
                referenced_columns: referenced.iter().map(|c| c.to_string()).collect(),
                on_delete: Default::default(),
                on_update: Default::default(),
                deferrable: Default::default(),
                ..Default::default()
            },
        );
        self
    }

    /// Adds a plain index on `columns`.
    pub fn index(mut self, name: &str, columns: &[&str]) -> Self {
        self.0.indexes.insert(
            name.to_string(),
            Index {
                parts: columns.iter().map(|c| IndexPart::column(*c)).collect(),
                unique: false,
                method: None,
                predicate: None,
                include: Vec::new(),
                invisible: false,
                ..Default::default()
            },
        );
        self
    }

    /// The table.
    pub fn build(self) -> Table {
        self.0
    }
}

/// Builds a snapshot from tables.
pub fn snapshot(tables: impl IntoIterator<Item = (&'static str, Table)>) -> SchemaSnapshot {
    SchemaSnapshot {
        version: SNAPSHOT_FORMAT_VERSION,
        tables: tables
            .into_iter()
            .map(|(n, t)| (n.to_string(), t))
            .collect(),
        ..SchemaSnapshot::default()
    }
}

/// A plan of `operations` taken as they are: no step destructive, no hazards, none
/// depending on another or outside the transaction, between two empty snapshots. For
/// tests of renderers and of what a plan reads, not of the planner.
pub fn plan_of(operations: Vec<Operation>) -> MigrationPlan {
    let hash = SchemaSnapshot::empty().hash();
    MigrationPlan {
        source_hash: hash.clone(),
        target_hash: hash,
        steps: operations
            .into_iter()
            .map(|operation| PlanStep {
                operation,
                destructive: false,
                hazards: Vec::new(),
                depends_on: Vec::new(),
                outside_transaction: false,
                algorithm: None,
            })
            .collect(),
        unresolved: Vec::new(),
        strict_column_order: false,
    }
}

/// Shorthand for a validated tenant id in tests.
///
/// # Panics
/// When `id` is not a valid tenant id.
#[allow(clippy::expect_used)]
pub fn tenant_id(id: &str) -> TenantId {
    TenantId::new(id).expect("valid test tenant id")
}

/// The shared state of a [`MockAdapter`].
#[derive(Default)]
struct MockState {
    schemas: BTreeMap<TenantId, SchemaSnapshot>,
    failing_inspect: BTreeSet<TenantId>,
    failing_execute: BTreeSet<TenantId>,
    diverging_execute: BTreeSet<TenantId>,
    inspect_many_calls: usize,
    executions: usize,
    /// Whether the mock offers change cookies.
    cookies: bool,
    /// Per tenant, how many times its schema was replaced: the mock's change cookie.
    versions: BTreeMap<TenantId, u64>,
    /// Tenants read by `inspect_many`, in all.
    tenants_read: usize,
    /// Inspections made under a lock.
    lock_inspections: usize,
    /// Whether `inspect_many_shared` returns each tenant's cookie with its snapshot.
    cookies_with_inspection: bool,
    /// Tenants whose cookie was read by `change_cookies`, in all.
    cookies_read: usize,
    /// Each tenant's versioned-migration history, as committed.
    histories: BTreeMap<TenantId, Vec<crate::migrate::AppliedMigration>>,
}

/// An in-memory database of tenants, implementing adapter, inspector and runner.
#[derive(Clone, Default)]
pub struct MockAdapter {
    state: Arc<Mutex<MockState>>,
    locks: Arc<Mutex<HashMap<TenantId, Arc<tokio::sync::Mutex<()>>>>>,
}

impl MockAdapter {
    /// An adapter with these tenants.
    pub fn new(tenants: impl IntoIterator<Item = (TenantId, SchemaSnapshot)>) -> Self {
        let adapter = Self::default();
        adapter.with_state(|s| s.schemas.extend(tenants));
        adapter
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut MockState) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Makes inspecting `tenant` fail.
    pub fn fail_inspect(&self, tenant: &TenantId) {
        self.with_state(|s| s.failing_inspect.insert(tenant.clone()));
    }

    /// Makes executing any plan on `tenant` fail (leaving it unchanged).
    pub fn fail_execute(&self, tenant: &TenantId) {
        self.with_state(|s| s.failing_execute.insert(tenant.clone()));
    }

    /// Makes executing any plan on `tenant` end in a schema that differs from the target
    /// (the first table vanishes), as an unmodelled side effect would.
    pub fn diverge_execute(&self, tenant: &TenantId) {
        self.with_state(|s| s.diverging_execute.insert(tenant.clone()));
    }

    /// The versions recorded as applied to `tenant`, as committed.
    pub fn applied_versions(&self, tenant: &TenantId) -> Vec<i64> {
        self.with_state(|s| {
            s.histories
                .get(tenant)
                .map(|rows| rows.iter().map(|row| row.version).collect())
                .unwrap_or_default()
        })
    }

    /// The tenant's current schema.
    pub fn schema(&self, tenant: &TenantId) -> Option<SchemaSnapshot> {
        self.with_state(|s| s.schemas.get(tenant).cloned())
    }

    /// Replaces the tenant's schema, as a concurrent change would.
    pub fn set_schema(&self, tenant: &TenantId, schema: SchemaSnapshot) {
        self.with_state(|s| {
            s.schemas.insert(tenant.clone(), schema);
            *s.versions.entry(tenant.clone()).or_default() += 1;
        });
    }

    /// Offers change cookies: each tenant's counts the times its schema was replaced.
    pub fn with_cookies(self) -> Self {
        self.with_state(|s| s.cookies = true);
        self
    }

    /// Offers change cookies and returns them with its inspections
    /// ([`SchemaInspector::cookies_with_inspection`]), as the SQLite adapter does.
    pub fn with_cookies_in_inspections(self) -> Self {
        self.with_state(|s| {
            s.cookies = true;
            s.cookies_with_inspection = true;
        });
        self
    }

    /// How many tenants' cookies `change_cookies` has read, in all calls.
    pub fn cookies_read(&self) -> usize {
        self.with_state(|s| s.cookies_read)
    }

    /// How many tenants `inspect_many` has read, in all calls.
    pub fn tenants_read(&self) -> usize {
        self.with_state(|s| s.tenants_read)
    }

    /// How many inspections were made under a tenant's lock.
    pub fn lock_inspections(&self) -> usize {
        self.with_state(|s| s.lock_inspections)
    }

    fn cookie(&self, tenant: &TenantId) -> Option<ChangeCookie> {
        self.with_state(|s| {
            (s.cookies && s.schemas.contains_key(tenant)).then(|| {
                let version = s.versions.get(tenant).copied().unwrap_or_default();
                ChangeCookie::new(version.to_string())
            })
        })
    }

    /// How many times `inspect_many` was called.
    pub fn inspect_many_calls(&self) -> usize {
        self.with_state(|s| s.inspect_many_calls)
    }

    /// How many plans were executed successfully.
    pub fn executions(&self) -> usize {
        self.with_state(|s| s.executions)
    }

    fn read(&self, tenant: &TenantId) -> Result<SchemaSnapshot> {
        self.with_state(|s| {
            if s.failing_inspect.contains(tenant) {
                return Err(Error::database(
                    Some(tenant),
                    Phase::Inspect,
                    None,
                    "mock inspection failure",
                ));
            }
            s.schemas.get(tenant).cloned().ok_or_else(|| {
                Error::database(Some(tenant), Phase::Inspect, None, "no such tenant")
            })
        })
    }
}

#[async_trait]
impl SchemaInspector for MockAdapter {
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        self.read(tenant.id())
    }

    async fn inspect_many(&self, tenants: &[TenantContext]) -> Vec<Result<SchemaSnapshot>> {
        self.with_state(|s| {
            s.inspect_many_calls += 1;
            s.tenants_read += tenants.len();
        });
        tenants.iter().map(|t| self.read(t.id())).collect()
    }

    async fn inspect_many_shared(&self, tenants: &[TenantContext]) -> Vec<Result<Inspection>> {
        let with_cookies = self.with_state(|s| s.cookies_with_inspection);
        let read = self.inspect_many(tenants).await;
        read.into_iter()
            .zip(tenants)
            .map(|(live, tenant)| {
                let mut inspection = Inspection::new(live?);
                if with_cookies {
                    inspection.cookie = self.cookie(tenant.id());
                }
                Ok(inspection)
            })
            .collect()
    }

    fn cookies_with_inspection(&self) -> bool {
        self.with_state(|s| s.cookies_with_inspection)
    }

    async fn change_cookies(&self, tenants: &[TenantContext]) -> Option<Vec<Option<ChangeCookie>>> {
        if !self.with_state(|s| s.cookies) {
            return None;
        }
        self.with_state(|s| s.cookies_read += tenants.len());
        Some(tenants.iter().map(|t| self.cookie(t.id())).collect())
    }
}

/// The lock of a [`MockAdapter`] tenant: a transactional unit of work whose changes
/// become visible to others only on commit.
struct MockLock {
    adapter: MockAdapter,
    tenant: TenantContext,
    options: ExecuteOptions,
    pending: Option<SchemaSnapshot>,
    /// Steps that run outside the transaction: applied at commit, as a runner runs them
    /// once the transaction has committed.
    after_commit: Vec<crate::plan::Operation>,
    /// The migration history as changed in this unit of work, once read.
    history: Option<Vec<crate::migrate::AppliedMigration>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl TenantLock for MockLock {
    async fn inspect(&mut self) -> Result<SchemaSnapshot> {
        self.adapter.with_state(|s| s.lock_inspections += 1);
        match &self.pending {
            Some(pending) => Ok(pending.clone()),
            None => self.adapter.read(self.tenant.id()),
        }
    }

    async fn apply(
        &mut self,
        plan: &MigrationPlan,
        _live: &SchemaSnapshot,
    ) -> Result<ExecutionResult> {
        let statements = self.adapter.render(&self.tenant, plan).await?;
        self.options.isolation.check(&self.tenant, &statements)?;
        let tenant = self.tenant.id().clone();
        let mut schema = match &self.pending {
            Some(pending) => pending.clone(),
            None => self.adapter.read(&tenant)?,
        };
        let (failing, diverging) = self.adapter.with_state(|s| {
            (
                s.failing_execute.contains(&tenant),
                s.diverging_execute.contains(&tenant),
            )
        });
        let failure = if failing {
            Some("mock execution failure".to_string())
        } else {
            match plan.committed_state(&schema) {
                Ok(committed) => {
                    schema = committed;
                    None
                }
                Err(e) => Some(e.to_string()),
            }
        };
        if let Some(message) = failure {
            let step = plan
                .steps
                .first()
                .map(|s| s.operation.to_string())
                .unwrap_or_default();
            return Err(Error::Execute {
                tenant,
                step,
                statement: String::new(),
                steps_succeeded: 0,
                steps_total: plan.steps.len(),
                rolled_back: true,
                source: message.into(),
            });
        }
        if diverging {
            // As if the database had silently lost an object the plan did not mention.
            schema.tables.pop_first();
        }
        self.pending = Some(schema);
        self.after_commit = plan
            .steps
            .iter()
            .filter(|s| s.outside_transaction)
            .map(|s| s.operation.clone())
            .collect();
        Ok(ExecutionResult {
            steps_total: plan.steps.len(),
            steps_succeeded: plan.steps.len(),
            statements_executed: plan.steps.len(),
            duration_ms: 0,
            statements: plan
                .steps
                .iter()
                .map(|step| crate::StatementTiming {
                    sql: step.operation.to_string(),
                    duration_ms: 0,
                })
                .collect(),
            ..ExecutionResult::default()
        })
    }

    async fn change_cookie(&mut self) -> Result<Option<ChangeCookie>> {
        Ok(self.adapter.cookie(self.tenant.id()))
    }

    async fn migration_history(&mut self) -> Result<Vec<crate::migrate::AppliedMigration>> {
        let tenant = self.tenant.id();
        let committed = self
            .adapter
            .with_state(|s| s.histories.get(tenant).cloned().unwrap_or_default());
        Ok(self.history.get_or_insert(committed).clone())
    }

    /// Records the migration; fails without recording for a tenant set to
    /// [`fail_execute`](MockAdapter::fail_execute).
    async fn apply_migration(
        &mut self,
        migration: &crate::migrate::Migration,
    ) -> Result<crate::StatementTiming> {
        self.options
            .isolation
            .check(&self.tenant, &[migration.sql.as_str()])?;
        let tenant = self.tenant.id().clone();
        if self
            .adapter
            .with_state(|s| s.failing_execute.contains(&tenant))
        {
            return Err(Error::database(
                Some(&tenant),
                Phase::Execute,
                Some(migration.file.clone()),
                "mock execution failure",
            ));
        }
        let row = crate::migrate::AppliedMigration {
            version: migration.version,
            description: migration.description.clone(),
            installed_on: String::new(),
            success: true,
            checksum: migration.checksum.as_bytes().to_vec(),
            execution_time_ms: 0,
        };
        self.history.get_or_insert_with(Vec::new).push(row);
        Ok(crate::StatementTiming {
            sql: migration.sql.clone(),
            duration_ms: 0,
        })
    }

    fn is_transactional(&self) -> bool {
        true
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        if let Some(history) = self.history.clone() {
            let tenant = self.tenant.id().clone();
            self.adapter
                .with_state(|s| s.histories.insert(tenant, history));
        }
        if let Some(mut schema) = self.pending {
            let tenant = self.tenant.id().clone();
            for operation in &self.after_commit {
                operation
                    .apply_to(&mut schema)
                    .map_err(|e| Error::Execute {
                        tenant: tenant.clone(),
                        step: operation.to_string(),
                        statement: String::new(),
                        steps_succeeded: 0,
                        steps_total: self.after_commit.len(),
                        rolled_back: false,
                        source: e.to_string().into(),
                    })?;
            }
            self.adapter.with_state(|s| {
                s.schemas.insert(tenant.clone(), schema);
                *s.versions.entry(tenant).or_default() += 1;
                s.executions += 1;
            });
        }
        Ok(())
    }

    async fn release(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

#[async_trait]
impl MigrationRunner for MockAdapter {
    async fn render(&self, _tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        Ok(plan.steps.iter().map(|s| s.operation.to_string()).collect())
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        let mutex = {
            let mut locks = match self.locks.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            locks.entry(tenant.id().clone()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        Ok(Box::new(MockLock {
            adapter: self.clone(),
            tenant: tenant.clone(),
            options: options.clone(),
            pending: None,
            after_commit: Vec::new(),
            history: None,
            _guard: guard,
        }))
    }
}

#[async_trait]
impl DatabaseAdapter for MockAdapter {
    fn name(&self) -> &'static str {
        "mock"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        Ok(self.with_state(|s| s.schemas.keys().map(|id| id.to_string()).collect()))
    }

    fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        Ok(tenant.as_str().to_string())
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        SchemaSnapshot::from_json(sql, "mock sql target")
    }
}

/// An in-memory [`SnapshotStore`].
#[derive(Default)]
pub struct MockSnapshotStore {
    inner: Mutex<MockStoreState>,
}

#[derive(Default)]
struct MockStoreState {
    objects: HashMap<SnapshotHash, SchemaSnapshot>,
    history: BTreeMap<TenantId, Vec<SnapshotRecord>>,
    tags: BTreeMap<(TenantId, String), SnapshotHash>,
    clock: u64,
}

impl MockSnapshotStore {
    fn with<R>(&self, f: impl FnOnce(&mut MockStoreState) -> R) -> R {
        let mut guard = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }
}

fn not_found(tenant: &TenantId, what: &str) -> Error {
    Error::Snapshot {
        location: format!("mock store/{tenant}"),
        message: format!("{what} not found"),
        source: None,
    }
}

#[async_trait]
impl SnapshotStore for MockSnapshotStore {
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord> {
        let hash = snapshot.hash();
        Ok(self.with(|s| {
            s.clock += 1;
            s.objects
                .entry(hash.clone())
                .or_insert_with(|| snapshot.clone());
            let record = SnapshotRecord {
                tenant: tenant.clone(),
                hash,
                saved_at: s.clock,
                tags: Vec::new(),
            };
            s.history
                .entry(tenant.clone())
                .or_default()
                .push(record.clone());
            record
        }))
    }

    async fn load(&self, tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        self.with(|s| s.objects.get(hash).cloned())
            .ok_or_else(|| not_found(tenant, hash.as_str()))
    }

    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>> {
        Ok(self.with(|s| {
            let tags = s.tags.clone();
            let mut records = s.history.get(tenant).cloned().unwrap_or_default();
            for record in &mut records {
                record.tags = tags
                    .iter()
                    .filter(|((t, _), h)| t == tenant && **h == record.hash)
                    .map(|((_, tag), _)| tag.clone())
                    .collect();
            }
            records
        }))
    }

    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()> {
        self.with(|s| {
            if !s.objects.contains_key(hash) {
                return Err(not_found(tenant, hash.as_str()));
            }
            s.tags
                .insert((tenant.clone(), tag.to_string()), hash.clone());
            Ok(())
        })
    }

    async fn resolve_tag(&self, tenant: &TenantId, tag: &str) -> Result<Option<SnapshotHash>> {
        Ok(self.with(|s| s.tags.get(&(tenant.clone(), tag.to_string())).cloned()))
    }
}
