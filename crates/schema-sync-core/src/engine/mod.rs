//! The engine: inspect, diff, plan and (optionally) execute, for one tenant or a fleet.
//!
//! The engine knows nothing of CLI modes. `sync` is [`SyncOptions::execute`] = true;
//! `diff` and `validate` are the same call with `execute` = false; `audit` is
//! [`Engine::inspect_fleet`], which never touches a runner or a lock.

mod fleet;
mod report;
mod target;

pub use fleet::FleetOptions;
pub use report::{FleetReport, FleetSummary, TenantReport, TenantStatus};
pub use target::Target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::adapter::{DatabaseAdapter, ExecuteOptions, ExecutionResult};
use crate::diff::{DefaultDiffCalculator, DiffCalculator, SchemaDiff};
use crate::error::{Error, Result};
use crate::plan::{DefaultPlanner, MigrationPlan, Planner};
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::{TenantContext, TenantId};

/// How to treat one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// Apply the plan (sync) or only compute it (diff, validate).
    pub execute: bool,
    /// Allow steps that drop data or narrow types.
    pub allow_destructive: bool,
    /// After applying, inspect again and fail unless the tenant equals the target.
    pub verify: bool,
    /// Keep each tenant's inspected snapshot in its report.
    pub keep_snapshots: bool,
    /// Lock and statement limits.
    pub execute_options: ExecuteOptions,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            execute: false,
            allow_destructive: false,
            verify: true,
            keep_snapshots: false,
            execute_options: ExecuteOptions::default(),
        }
    }
}

/// The outcome of [`Engine::sync_tenant`].
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// Whether the tenant already equalled the target.
    pub already_in_sync: bool,
    /// The diff from the live schema to the target.
    pub diff: Arc<SchemaDiff>,
    /// The plan for that diff.
    pub plan: Arc<MigrationPlan>,
    /// What execution did, when executed.
    pub execution: Option<ExecutionResult>,
}

/// A diff and its plan, shared by every tenant whose schema has the same hash.
#[derive(Debug)]
struct Planned {
    diff: Arc<SchemaDiff>,
    plan: Arc<MigrationPlan>,
}

/// Diffs and plans computed during one run, keyed by the live snapshot's hash.
#[derive(Default)]
struct PlanCache {
    entries: Mutex<HashMap<SnapshotHash, Arc<Planned>>>,
}

impl PlanCache {
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

/// Wires an adapter with a diff calculator and a planner.
#[derive(Clone)]
pub struct Engine {
    adapter: Arc<dyn DatabaseAdapter>,
    differ: Arc<dyn DiffCalculator>,
    planner: Arc<dyn Planner>,
}

impl Engine {
    /// An engine with the default diff calculator and planner.
    pub fn new(adapter: Arc<dyn DatabaseAdapter>) -> Self {
        Self {
            adapter,
            differ: Arc::new(DefaultDiffCalculator),
            planner: Arc::new(DefaultPlanner),
        }
    }

    /// Replaces the planner (for example with a safer, online-change planner).
    pub fn with_planner(mut self, planner: Arc<dyn Planner>) -> Self {
        self.planner = planner;
        self
    }

    /// Replaces the diff calculator.
    pub fn with_diff_calculator(mut self, differ: Arc<dyn DiffCalculator>) -> Self {
        self.differ = differ;
        self
    }

    /// The adapter.
    pub fn adapter(&self) -> &dyn DatabaseAdapter {
        self.adapter.as_ref()
    }

    /// Every tenant of the database, as contexts. A namespace whose name cannot be a
    /// tenant here is listed as a rejected context ([`TenantContext::rejection`]): a fleet
    /// run reports it as failed, so one bad name never hides or stops the others.
    ///
    /// # Errors
    /// A connection or listing error.
    pub async fn list_tenants(&self) -> Result<Vec<TenantContext>> {
        let names = self.adapter.list_tenants().await?;
        Ok(names.iter().map(|name| self.listed_tenant(name)).collect())
    }

    /// The context of a discovered namespace, or a rejected one naming why it cannot be
    /// a tenant.
    pub fn listed_tenant(&self, name: &str) -> TenantContext {
        match TenantId::new(name).and_then(|id| self.adapter.context(&id)) {
            Ok(context) => context,
            Err(error) => TenantContext::rejected(name, error.to_string()),
        }
    }

    /// The context of one tenant.
    ///
    /// # Errors
    /// When the adapter cannot map the id to a namespace.
    pub fn tenant(&self, id: &TenantId) -> Result<TenantContext> {
        self.adapter.context(id)
    }

    /// Resolves a target to a snapshot.
    ///
    /// # Errors
    /// [`Error::Target`] when the DDL does not apply or the reference tenant cannot be read.
    pub async fn resolve_target(&self, target: &Target) -> Result<SchemaSnapshot> {
        match target {
            Target::Sql { sql, .. } => self.adapter.snapshot_from_sql(sql).await,
            Target::Snapshot { snapshot, .. } => Ok(snapshot.as_ref().clone()),
            Target::Tenant(id) => {
                let ctx = self.adapter.context(id)?;
                self.adapter
                    .inspector()
                    .inspect(&ctx)
                    .await
                    .map_err(|e| Error::Target {
                        target: target.to_string(),
                        message: format!("cannot inspect reference tenant {:?}", id.as_str()),
                        source: Some(Box::new(e)),
                    })
            }
        }
    }

    /// The diff and plan from `from` to `to`.
    ///
    /// # Errors
    /// When the planner refuses the diff.
    pub fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
    ) -> Result<(SchemaDiff, MigrationPlan)> {
        let diff = self.differ.diff(from, to);
        let plan = self.planner.plan(from, to, &diff)?;
        Ok((diff, plan))
    }

    /// Brings one tenant to `target` (or only computes how, when not executing).
    ///
    /// # Errors
    /// Inspection, planning, lock and execution errors;
    /// [`Error::DestructiveRefused`] when executing a destructive plan not allowed.
    pub async fn sync_tenant(
        &self,
        tenant: &TenantContext,
        target: &SchemaSnapshot,
        options: &SyncOptions,
    ) -> Result<SyncOutcome> {
        let live = self.adapter.inspector().inspect(tenant).await?;
        let cache = PlanCache::default();
        let report = self
            .process_tenant(tenant, live, target, options, &cache)
            .await?;
        let planned = match (report.diff, report.plan) {
            (Some(diff), Some(plan)) => Planned { diff, plan },
            _ => {
                return Err(Error::Internal {
                    tenant: Some(tenant.id().clone()),
                    message: "no plan was computed".into(),
                });
            }
        };
        Ok(SyncOutcome {
            already_in_sync: report.status == TenantStatus::InSync,
            diff: planned.diff,
            plan: planned.plan,
            execution: report.execution,
        })
    }

    /// Looks up or computes the shared diff and plan for a live snapshot.
    fn planned(
        &self,
        live: &SchemaSnapshot,
        hash: &SnapshotHash,
        target: &SchemaSnapshot,
        cache: &PlanCache,
    ) -> Result<Arc<Planned>> {
        if let Some(found) = cache.entries.lock().ok().and_then(|e| e.get(hash).cloned()) {
            return Ok(found);
        }
        let (diff, plan) = self.plan(live, target)?;
        let planned = Arc::new(Planned {
            diff: Arc::new(diff),
            plan: Arc::new(plan),
        });
        if let Ok(mut entries) = cache.entries.lock() {
            entries
                .entry(hash.clone())
                .or_insert_with(|| planned.clone());
        }
        Ok(planned)
    }

    /// The whole flow for one inspected tenant.
    async fn process_tenant(
        &self,
        tenant: &TenantContext,
        live: SchemaSnapshot,
        target: &SchemaSnapshot,
        options: &SyncOptions,
        cache: &PlanCache,
    ) -> Result<TenantReport> {
        let id = tenant.id();
        let hash = live.hash();
        let planned = self.planned(&live, &hash, target, cache)?;
        let mut report = TenantReport::new(id.clone(), TenantStatus::InSync);
        report.hash = Some(hash.clone());
        report.diff = Some(planned.diff.clone());
        report.plan = Some(planned.plan.clone());
        if options.keep_snapshots {
            report.snapshot = Some(Arc::new(live));
        }
        if planned.diff.is_empty() {
            return Ok(report);
        }
        if !options.execute {
            report.status = TenantStatus::Drifted;
            return Ok(report);
        }
        check_executable(id, &planned.plan, options)?;

        let runner = self.adapter.runner();
        let mut lock = runner
            .acquire_lock(tenant, &options.execute_options)
            .await?;
        // Someone may have changed the tenant between inspection and lock: re-plan if so.
        let now = lock.inspect().await?;
        let now_hash = now.hash();
        let planned = if now_hash == hash {
            planned
        } else {
            self.planned(&now, &now_hash, target, cache)?
        };
        if planned.diff.is_empty() {
            lock.release().await?;
            report.diff = Some(planned.diff.clone());
            report.plan = Some(planned.plan.clone());
            return Ok(report);
        }
        check_executable(id, &planned.plan, options)?;
        let execution = lock.execute(&planned.plan).await?;
        report.diff = Some(planned.diff.clone());
        report.plan = Some(planned.plan.clone());
        report.execution = Some(execution);
        report.status = TenantStatus::Synced;

        if options.verify {
            let after = self.adapter.inspector().inspect(tenant).await?;
            let remaining = self.differ.diff(&after, target);
            if !remaining.is_empty() {
                return Err(Error::Diverged {
                    tenant: id.clone(),
                    remaining: remaining.change_count(),
                    details: remaining.to_text().trim_end().replace('\n', "; "),
                });
            }
        }
        Ok(report)
    }
}

/// Refuses plans with destructive steps not allowed, or with differences it cannot fix.
fn check_executable(tenant: &TenantId, plan: &MigrationPlan, options: &SyncOptions) -> Result<()> {
    plan.ensure_allowed(tenant, options.allow_destructive)?;
    if let Some(first) = plan.unresolved.first() {
        return Err(Error::Unsupported {
            tenant: Some(tenant.clone()),
            object: first.clone(),
            message: format!(
                "{} unmodelled difference(s) cannot be synced; fix them by hand or exclude the tenant",
                plan.unresolved.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
