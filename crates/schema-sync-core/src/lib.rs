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
#![deny(missing_docs)]

mod adapter;
mod blocking;
pub mod diff;
mod engine;
mod error;
mod isolation;
pub mod plan;
pub mod snapshot;
mod store;
mod tenant;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use adapter::{
    ConnectOptions, DatabaseAdapter, ExecuteOptions, ExecutionResult, MigrationRunner,
    SchemaInspector, TenantLock,
};
pub use blocking::run_blocking;
pub use diff::{DefaultDiffCalculator, DiffCalculator, SchemaDiff};
pub use engine::{
    Engine, FleetOptions, FleetReport, FleetSummary, SyncOptions, SyncOutcome, Target,
    TenantReport, TenantStatus,
};
pub use error::{BoxError, Error, Phase, Result, redact_url};
pub use isolation::NamespaceGuard;
pub use plan::{DefaultPlanner, Hazard, MigrationPlan, Operation, PlanStep, Planner};
pub use snapshot::{SchemaSnapshot, SnapshotHash};
pub use store::{SnapshotRecord, SnapshotStore};
pub use tenant::{MAX_TENANT_ID_LEN, TenantContext, TenantId};
#[cfg(test)]
mod proptests;
