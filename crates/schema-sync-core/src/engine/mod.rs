//! The engine: inspect, diff, plan and (optionally) execute, for one tenant or a fleet.
//!
//! The engine knows nothing of CLI modes. `sync` is [`SyncOptions::execute`] = true;
//! `diff` and `validate` are the same call with `execute` = false; `audit` is
//! [`Engine::inspect_fleet`], which never touches a runner or a lock.

mod fleet;
mod losses;
mod report;
mod servers;
mod target;

pub(crate) use fleet::rejected;
pub use fleet::{FleetObserver, FleetOptions, SYNC_BATCH_SIZE};
pub use report::{FleetReport, FleetSummary, TenantReport, TenantStatus};
pub use servers::{FleetServer, inspect_servers, run_servers};
pub use target::Target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::adapter::{DatabaseAdapter, ExecuteOptions, ExecutionResult, Inspection};
use crate::cache::SnapshotCache;
use crate::diff::{DefaultDiffCalculator, DiffCalculator, SchemaDiff};
use crate::error::{Error, Result};
use crate::isolation::NamespaceGuard;
use crate::plan::{DefaultPlanner, MigrationPlan, Operation, Planner};
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::{TenantContext, TenantId};

/// How to treat one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Apply the plan (sync) or only compute it (diff, validate).
    pub execute: bool,
    /// Allow steps that drop data or narrow types.
    pub allow_destructive: bool,
    /// After applying, inspect again inside the tenant's unit of work and roll back
    /// unless the tenant equals the target.
    pub verify: bool,
    /// Count a different column order as drift (and plan reordering where the database
    /// can do it). Off by default: the order difference is reported, not synced.
    pub strict_column_order: bool,
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
            strict_column_order: false,
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

/// Wires an adapter with a diff calculator, a planner and, optionally, a snapshot cache.
#[derive(Clone)]
pub struct Engine {
    adapter: Arc<dyn DatabaseAdapter>,
    differ: Arc<dyn DiffCalculator>,
    planner: Arc<dyn Planner>,
    cache: Option<Arc<dyn SnapshotCache>>,
    observer: Option<Arc<dyn FleetObserver>>,
}

impl Engine {
    /// An engine with the default diff calculator and planner.
    pub fn new(adapter: Arc<dyn DatabaseAdapter>) -> Self {
        Self {
            adapter,
            differ: Arc::new(DefaultDiffCalculator),
            planner: Arc::new(DefaultPlanner),
            cache: None,
            observer: None,
        }
    }

    /// Tells `observer` when each tenant of a fleet run starts and finishes (the run
    /// ledger), awaiting it before the tenant counts as done.
    pub fn with_observer(mut self, observer: Arc<dyn FleetObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Uses `cache` in fleet runs: a tenant whose change cookie has not moved since it
    /// was recorded is not inspected again ([`crate::cache`]). Only adapters that have
    /// cookies use it; [`FleetOptions::refresh_cache`] forces a full read.
    pub fn with_cache(mut self, cache: Arc<dyn SnapshotCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The snapshot cache, if one is set.
    pub fn cache(&self) -> Option<&Arc<dyn SnapshotCache>> {
        self.cache.as_ref()
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

    /// The adapter, shared: for runners built beside the engine, such as
    /// [`SqlFileMigrationRunner`](crate::migrate::SqlFileMigrationRunner).
    pub fn shared_adapter(&self) -> Arc<dyn DatabaseAdapter> {
        Arc::clone(&self.adapter)
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

    /// The guard a sync run needs ([`ExecuteOptions::isolation`]): every tenant namespace
    /// on the database, plus the template's when the target is a tenant, minus the
    /// namespaces all tenants share (`shared`, such as `public` or an extensions schema).
    ///
    /// # Errors
    /// A connection or listing error.
    pub async fn isolation_guard(
        &self,
        template: Option<&TenantId>,
        shared: &[String],
    ) -> Result<NamespaceGuard> {
        let mut namespaces: Vec<String> = self
            .list_tenants()
            .await?
            .into_iter()
            .filter(|t| t.rejection().is_none())
            .map(|t| t.namespace().to_string())
            .collect();
        if let Some(template) = template {
            namespaces.push(self.adapter.context(template)?.namespace().to_string());
        }
        namespaces.retain(|n| !shared.contains(n));
        Ok(NamespaceGuard::new(namespaces))
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
        let mut snapshot = match target {
            // The adapter learns the equivalent spellings while it has the scratch namespace.
            Target::Sql { sql, .. } => return self.adapter.snapshot_from_sql(sql).await,
            Target::Snapshot { snapshot, .. } => snapshot.as_ref().clone(),
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
                    })?
            }
        };
        // Without them a tenant synced to this target may look drifted where the database
        // prints an expression differently once reparsed: a loss of precision in the
        // report, not of safety, so a read-only connection carries on without them.
        if let Ok(equivalences) = self.adapter.expression_equivalences(&snapshot).await {
            snapshot.equivalences = equivalences;
        }
        Ok(snapshot)
    }

    /// The diff and plan from `from` to `to`, column order not strict.
    ///
    /// # Errors
    /// When the planner refuses the diff.
    pub fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
    ) -> Result<(SchemaDiff, MigrationPlan)> {
        self.plan_with(from, to, false)
    }

    /// The diff and plan from `from` to `to`. The diff always reports column-order
    /// differences; the plan fixes them only when `strict_column_order`.
    ///
    /// # Errors
    /// When the planner refuses the diff.
    pub fn plan_with(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        strict_column_order: bool,
    ) -> Result<(SchemaDiff, MigrationPlan)> {
        let diff = self.differ.diff(from, to);
        let mut plan = if strict_column_order || diff.column_order_changes() == 0 {
            self.planner.plan(from, to, &diff)?
        } else {
            self.planner
                .plan(from, to, &diff.with_optional_column_order())?
        };
        plan.strict_column_order = strict_column_order;
        self.adapter.runner().refine_hazards(&mut plan);
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
        let live = Inspection::new(self.adapter.inspector().inspect(tenant).await?);
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
            already_in_sync: report.status == TenantStatus::InSync && report.execution.is_none(),
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
        options: &SyncOptions,
        cache: &PlanCache,
    ) -> Result<Arc<Planned>> {
        if let Some(found) = cache.entries.lock().ok().and_then(|e| e.get(hash).cloned()) {
            return Ok(found);
        }
        let (diff, plan) = self.plan_with(live, target, options.strict_column_order)?;
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
        inspected: Inspection,
        target: &SchemaSnapshot,
        options: &SyncOptions,
        cache: &PlanCache,
    ) -> Result<TenantReport> {
        let id = tenant.id();
        let strict = options.strict_column_order;
        let Inspection {
            snapshot: live,
            hash,
            cookie,
        } = inspected;
        let planned = self.planned(&live, &hash, target, options, cache)?;
        let mut report = TenantReport::new(id.clone(), TenantStatus::InSync);
        report.hash = Some(hash.clone());
        report.diff = Some(planned.diff.clone());
        report.plan = Some(planned.plan.clone());
        if planned.diff.is_in_sync(strict) {
            if options.keep_snapshots {
                report.snapshot = Some(live);
            }
            return Ok(report);
        }
        if !options.execute {
            report.status = TenantStatus::Drifted;
            if options.keep_snapshots {
                report.snapshot = Some(live);
            }
            return Ok(report);
        }
        if let Err(refused) = check_executable(id, &live, &planned.plan, options) {
            // A destructive refusal names the rows each loss would delete.
            return Err(losses::count_losses(
                self.adapter.runner(),
                tenant,
                &planned.plan,
                refused,
            )
            .await);
        }

        let runner = self.adapter.runner();
        let asked = Instant::now();
        let mut lock = runner
            .acquire_lock(tenant, &options.execute_options)
            .await?;
        let outcome = self
            .apply_locked(
                lock.as_mut(),
                tenant,
                Inspection {
                    snapshot: live,
                    hash,
                    cookie,
                },
                planned,
                target,
                options,
                cache,
            )
            .await;
        match outcome {
            Ok(Locked::Unchanged(planned)) => {
                lock.release().await?;
                report.diff = Some(planned.diff.clone());
                report.plan = Some(planned.plan.clone());
                Ok(report)
            }
            Ok(Locked::Applied {
                planned,
                mut execution,
            }) => {
                // The runner runs the steps outside the transaction once it commits.
                lock.commit().await?;
                execution.locked_ms =
                    u64::try_from(asked.elapsed().as_millis()).unwrap_or(u64::MAX);
                if options.verify && planned.plan.has_outside_steps() {
                    let after = self.adapter.inspector().inspect(tenant).await?;
                    self.verify(id, &after, target, strict, false, &execution)?;
                }
                report.diff = Some(planned.diff.clone());
                report.plan = Some(planned.plan.clone());
                report.execution = Some(execution);
                report.status = TenantStatus::Synced;
                Ok(report)
            }
            Err(error) => {
                // Roll back whatever ran (where DDL is transactional) and free the lock;
                // the original error is what the user needs to see.
                let _ = lock.release().await;
                Err(error)
            }
        }
    }

    /// The part of the flow that runs under the tenant's lock, before commit: re-plan if
    /// the tenant changed, apply, and verify from the same unit of work.
    #[allow(clippy::too_many_arguments)] // One flow, split only to release the lock once.
    async fn apply_locked(
        &self,
        lock: &mut dyn crate::adapter::TenantLock,
        tenant: &TenantContext,
        inspected: Inspection,
        planned: Arc<Planned>,
        target: &SchemaSnapshot,
        options: &SyncOptions,
        cache: &PlanCache,
    ) -> Result<Locked> {
        let id = tenant.id();
        let strict = options.strict_column_order;
        // Someone may have changed the tenant between inspection and lock: re-plan if so.
        // An unmoved change cookie proves it did not change, without reading it again.
        let unmoved = match &inspected.cookie {
            Some(before) => lock.change_cookie().await?.as_ref() == Some(before),
            None => false,
        };
        let (planned, live) = if unmoved {
            (planned, inspected.snapshot)
        } else {
            let now = lock.inspect().await?;
            let now_hash = now.hash();
            if now_hash == inspected.hash {
                (planned, inspected.snapshot)
            } else {
                let planned = self.planned(&now, &now_hash, target, options, cache)?;
                (planned, Arc::new(now))
            }
        };
        if planned.diff.is_in_sync(strict) {
            return Ok(Locked::Unchanged(planned));
        }
        check_executable(id, &live, &planned.plan, options)?;
        // Steps that run after commit (an online strategy's concurrent index builds and
        // validations) are not done yet: verify the transaction against the state it
        // should leave, and the whole plan once they ran (`process_tenant`).
        let committed;
        let expected = if planned.plan.has_outside_steps() {
            let mut state = planned
                .plan
                .committed_state(&live)
                .map_err(|e| Error::Internal {
                    tenant: Some(id.clone()),
                    message: format!(
                        "the plan's transaction does not apply to the live schema: {e}"
                    ),
                })?;
            // Expressions of the transaction's steps come from the target: so do the
            // spellings the database may print them in.
            state.equivalences = target.equivalences.clone();
            committed = state;
            &committed
        } else {
            target
        };
        let execution = lock.apply(&planned.plan, &live).await?;
        if options.verify {
            let after = lock.inspect().await?;
            self.verify(
                id,
                &after,
                expected,
                strict,
                lock.is_transactional(),
                &execution,
            )?;
        }
        Ok(Locked::Applied { planned, execution })
    }

    /// Refuses `after` unless it equals `expected`.
    fn verify(
        &self,
        id: &TenantId,
        after: &SchemaSnapshot,
        expected: &SchemaSnapshot,
        strict: bool,
        rolled_back: bool,
        execution: &ExecutionResult,
    ) -> Result<()> {
        let remaining = self.differ.diff(after, expected);
        if remaining.is_in_sync(strict) {
            return Ok(());
        }
        Err(Error::Diverged {
            tenant: id.clone(),
            remaining: remaining
                .change_count()
                .max(remaining.column_order_changes()),
            details: remaining.to_text().trim_end().replace('\n', "; "),
            rolled_back,
            statements_applied: execution.statements_executed,
        })
    }
}

/// What happened under a tenant's lock.
enum Locked {
    /// The tenant already equalled the target when locked.
    Unchanged(Arc<Planned>),
    /// The plan ran and the tenant now equals the target; not yet committed.
    Applied {
        planned: Arc<Planned>,
        execution: ExecutionResult,
    },
}

/// Refuses plans with destructive steps not allowed, with differences they cannot fix,
/// or that would drop an object an unmodelled object hangs off.
fn check_executable(
    tenant: &TenantId,
    live: &SchemaSnapshot,
    plan: &MigrationPlan,
    options: &SyncOptions,
) -> Result<()> {
    plan.ensure_allowed(tenant, options.allow_destructive)?;
    if let Some((step, dependent)) = plan.steps.iter().find_map(|step| {
        let dropped = match &step.operation {
            Operation::DropView { name, .. } | Operation::DropTable { name, .. } => name,
            _ => return None,
        };
        live.unsupported
            .iter()
            .find(|u| u.parent.as_deref() == Some(dropped.as_str()))
            .map(|u| (step, u))
    }) {
        return Err(Error::Unsupported {
            tenant: Some(tenant.clone()),
            object: format!("{} {}", dependent.kind, dependent.name),
            message: format!(
                "the plan would {} and with it this {}, which schema-sync does not model and cannot recreate; nothing was changed: recreate it by hand after changing {} yourself, or drop it first",
                step.operation,
                dependent.kind,
                dependent.parent.as_deref().unwrap_or_default()
            ),
        });
    }
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
