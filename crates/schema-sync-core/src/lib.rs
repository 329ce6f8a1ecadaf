//! The core of schema-sync: one desired schema, many tenants.
//!
//! For each tenant the flow is **inspect** (read the live schema through an adapter's
//! [`SchemaInspector`]), **snapshot** (normalise it into a tenant-relative
//! [`SchemaSnapshot`] with a content hash), **diff** ([`DiffCalculator`] against the
//! target), **plan** ([`Planner`] into ordered, classified [`Operation`]s) and, in sync
//! mode only, **execute** (the adapter's [`MigrationRunner`] under a per-tenant lock).
//!
//! This crate depends on no database driver and no CLI library: adapters implement its
//! traits, the CLI chooses a mode, and the [`Engine`] stays mode-agnostic. The models are
//! plain data (ordered maps, enums of operations) so they can be printed, serialised,
//! hashed, tested in memory and rendered by each dialect.
//!
//! # Example
//!
//! One tenant, one pass through the flow. `database` stands for an adapter: here a
//! hidden in-memory one whose [`TenantLock`] applies a plan with
//! [`MigrationPlan::apply_to`]; a real adapter (`schema-sync-postgres`, ...) renders the
//! plan to SQL instead. The [`Engine`] runs these same steps for a whole fleet, with
//! caching, verification before commit and reports.
//!
//! ```
//! # use std::sync::{Arc, Mutex};
//! # use async_trait::async_trait;
//! # use schema_sync_core::{
//! #     DatabaseAdapter, Error, ExecutionResult, Phase, Result, TenantLock,
//! # };
//! # /// A database that keeps one schema in memory.
//! # struct Memory(Arc<Mutex<SchemaSnapshot>>);
//! # struct MemoryLock {
//! #     live: Arc<Mutex<SchemaSnapshot>>,
//! #     pending: Option<SchemaSnapshot>,
//! # }
//! # fn schema(live: &Mutex<SchemaSnapshot>) -> SchemaSnapshot {
//! #     live.lock().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
//! # }
//! # #[async_trait]
//! # impl SchemaInspector for Memory {
//! #     async fn inspect(&self, _tenant: &TenantContext) -> Result<SchemaSnapshot> {
//! #         Ok(schema(&self.0))
//! #     }
//! # }
//! # #[async_trait]
//! # impl MigrationRunner for Memory {
//! #     async fn render(&self, _: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
//! #         Ok(plan.steps.iter().map(|s| s.operation.to_string()).collect())
//! #     }
//! #     async fn acquire_lock(
//! #         &self,
//! #         _: &TenantContext,
//! #         _: &ExecuteOptions,
//! #     ) -> Result<Box<dyn TenantLock>> {
//! #         Ok(Box::new(MemoryLock { live: Arc::clone(&self.0), pending: None }))
//! #     }
//! # }
//! # #[async_trait]
//! # impl DatabaseAdapter for Memory {
//! #     fn name(&self) -> &'static str { "memory" }
//! #     async fn list_tenants(&self) -> Result<Vec<String>> { Ok(vec!["acme".into()]) }
//! #     fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
//! #         Ok(format!("tenant_{tenant}"))
//! #     }
//! #     fn inspector(&self) -> &dyn SchemaInspector { self }
//! #     fn runner(&self) -> &dyn MigrationRunner { self }
//! #     async fn snapshot_from_sql(&self, _: &str) -> Result<SchemaSnapshot> {
//! #         Err(Error::config("the in-memory database has no SQL"))
//! #     }
//! # }
//! # #[async_trait]
//! # impl TenantLock for MemoryLock {
//! #     async fn inspect(&mut self) -> Result<SchemaSnapshot> {
//! #         Ok(self.pending.clone().unwrap_or_else(|| schema(&self.live)))
//! #     }
//! #     async fn apply(&mut self, plan: &MigrationPlan, _: &SchemaSnapshot) -> Result<ExecutionResult> {
//! #         let mut next = self.inspect().await?;
//! #         plan.apply_to(&mut next).map_err(|e| Error::Database {
//! #             tenant: None,
//! #             phase: Phase::Execute,
//! #             context: None,
//! #             source: Box::new(e),
//! #         })?;
//! #         self.pending = Some(next);
//! #         Ok(ExecutionResult {
//! #             steps_total: plan.steps.len(),
//! #             steps_succeeded: plan.steps.len(),
//! #             statements_executed: plan.steps.len(),
//! #             duration_ms: 0,
//! #             statements: Vec::new(),
//! #             ..ExecutionResult::default()
//! #         })
//! #     }
//! #     fn is_transactional(&self) -> bool {
//! #         true
//! #     }
//! #     async fn commit(self: Box<Self>) -> Result<()> {
//! #         if let (Some(next), Ok(mut live)) = (self.pending, self.live.lock()) {
//! #             *live = next;
//! #         }
//! #         Ok(())
//! #     }
//! #     async fn release(self: Box<Self>) -> Result<()> {
//! #         Ok(())
//! #     }
//! # }
//! use schema_sync_core::snapshot::{Column, DataType, Table};
//! use schema_sync_core::{
//!     DefaultDiffCalculator, DefaultPlanner, DiffCalculator, ExecuteOptions, MigrationPlan,
//!     MigrationRunner, Planner, SchemaInspector, SchemaSnapshot, TenantContext, TenantId,
//! };
//!
//! # fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! // The target: one table, `accounts (id integer not null, email text)`.
//! let mut accounts = Table::default();
//! let mut id = Column::new(DataType::named("integer"));
//! id.nullable = false;
//! accounts.push_column("id", id);
//! accounts.push_column("email", Column::new(DataType::named("text")));
//! let mut target = SchemaSnapshot::empty();
//! target.tables.insert("accounts".into(), accounts);
//!
//! // A tenant whose schema is still empty.
//! let database = Memory(Arc::new(Mutex::new(SchemaSnapshot::empty())));
//! // Contexts come from the adapter, which maps a tenant id to its namespace.
//! let tenant = database.context(&TenantId::new("acme")?)?;
//!
//! // Inspect: the live schema, as a tenant-relative snapshot with a content hash.
//! let live = database.inspect(&tenant).await?;
//! assert_ne!(live.hash(), target.hash());
//!
//! // Diff and plan: what differs, then the ordered, classified steps that fix it.
//! let diff = DefaultDiffCalculator.diff(&live, &target);
//! let plan = DefaultPlanner.plan(&live, &target, &diff)?;
//! let steps: Vec<String> = plan.steps.iter().map(|s| s.operation.to_string()).collect();
//! assert_eq!(steps, ["create table accounts (2 columns)"]);
//! plan.ensure_allowed(tenant.id(), false)?; // nothing destructive
//!
//! // Execute: under the tenant's lock, then the tenant matches the target.
//! let result = database
//!     .execute(&tenant, &plan, &ExecuteOptions::default())
//!     .await?;
//! assert_eq!(result.steps_succeeded, 1);
//! assert_eq!(database.inspect(&tenant).await?.hash(), target.hash());
//! # Ok(())
//! # })
//! # }
//! ```
#![deny(missing_docs)]

mod adapter;
mod blocking;
pub mod cache;
pub mod diff;
mod engine;
mod error;
mod isolation;
pub mod ledger;
pub mod migrate;
mod options;
pub mod plan;
pub mod snapshot;
mod store;
mod tenant;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use adapter::{
    ConnectOptions, DatabaseAdapter, ExecuteOptions, ExecutionResult, Inspection, MigrationRunner,
    SchemaInspector, StatementTiming, TenantLock,
};
pub use blocking::run_blocking;
pub use cache::{ChangeCookie, SnapshotCache};
pub use diff::{DefaultDiffCalculator, DiffCalculator, SchemaDiff};
pub use engine::{
    Engine, FleetObserver, FleetOptions, FleetReport, FleetServer, FleetSummary, SYNC_BATCH_SIZE,
    SyncOptions, SyncOutcome, Target, TenantReport, TenantStatus, inspect_servers, run_servers,
};
pub use error::{BoxError, Error, Phase, Progress, Result, redact_url};
pub use isolation::NamespaceGuard;
pub use plan::{DataCheck, DefaultPlanner, Hazard, MigrationPlan, Operation, PlanStep, Planner};
pub use snapshot::{SchemaSnapshot, SnapshotHash};
pub use store::{SnapshotRecord, SnapshotStore};
pub use tenant::{MAX_TENANT_ID_LEN, TenantContext, TenantId, check_server_name};
#[cfg(test)]
mod proptests;
