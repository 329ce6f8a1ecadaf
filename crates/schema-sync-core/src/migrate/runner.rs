//! [`SqlFileMigrationRunner`]: a directory of SQL files applied under the database's
//! own tenant lock.
//!
//! The runner adds no lock, transaction or connection of its own. For each tenant it
//! takes the database runner's [`acquire_lock`](MigrationRunner::acquire_lock) (the
//! advisory lock and transaction on PostgreSQL, `GET_LOCK` on MySQL, `BEGIN IMMEDIATE`
//! on SQLite), reads the tenant's history in that unit of work, applies each pending
//! file with [`TenantLock::apply_migration`] and commits once. Where DDL is
//! transactional a failing file rolls the tenant back whole: every file of the run, and
//! their history rows. On MySQL the files before it stay applied, and the failing one is
//! recorded as unfinished (see the MySQL adapter).
//!
//! It is a [`MigrationRunner`] itself: declarative plans pass through to the database's
//! runner, so the engine can sync with it in place of the database runner, and the
//! versioned path reuses the same locks. A diesel-layout or Rust-code runner would be a
//! sibling of this type: the same lock primitives, other [`Migration`]s.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};

use crate::adapter::{DatabaseAdapter, ExecuteOptions, MigrationRunner, TenantLock};
use crate::engine::{FleetOptions, FleetSummary, TenantStatus, rejected};
use crate::error::{Error, Result};
use crate::plan::{DataCheck, MigrationPlan};
use crate::tenant::{TenantContext, TenantId};

use super::history::AppliedMigration;
use super::source::{Migration, MigrationSet};

/// Applies a [`MigrationSet`] to tenants of one database.
#[derive(Clone)]
pub struct SqlFileMigrationRunner {
    database: Arc<dyn DatabaseAdapter>,
    migrations: Arc<MigrationSet>,
}

/// One file applied to a tenant by a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedFile {
    /// Its version.
    pub version: i64,
    /// Its description.
    pub description: String,
    /// Its file name.
    pub file: String,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

/// The outcome of `migrate` for one tenant.
#[derive(Debug)]
pub struct MigrateReport {
    /// The tenant.
    pub tenant: TenantId,
    /// [`TenantStatus::InSync`] when nothing was pending, [`TenantStatus::Synced`] when
    /// files were applied, [`TenantStatus::Failed`] or [`TenantStatus::Skipped`].
    pub status: TenantStatus,
    /// The files applied, in order (none when failed: where DDL is transactional they
    /// were rolled back, and on MySQL the error says how many stay).
    pub applied: Vec<AppliedFile>,
    /// The error of a failed tenant.
    pub error: Option<Error>,
}

impl MigrateReport {
    fn new(tenant: TenantId, status: TenantStatus) -> Self {
        Self {
            tenant,
            status,
            applied: Vec::new(),
            error: None,
        }
    }

    fn failed(tenant: TenantId, error: Error) -> Self {
        Self {
            error: Some(error),
            ..Self::new(tenant, TenantStatus::Failed)
        }
    }
}

/// The outcome of `migrate` for a fleet, one report per tenant in the order given.
#[derive(Debug, Default)]
pub struct MigrateFleetReport {
    /// Per-tenant outcomes.
    pub tenants: Vec<MigrateReport>,
    /// Counts: `in_sync` (nothing pending), `synced` (migrated), `failed`, `skipped`.
    pub summary: FleetSummary,
}

impl SqlFileMigrationRunner {
    /// A runner of `migrations` on the tenants of `database`.
    pub fn new(database: Arc<dyn DatabaseAdapter>, migrations: MigrationSet) -> Self {
        Self {
            database,
            migrations: Arc::new(migrations),
        }
    }

    /// The migrations this runner applies.
    pub fn migrations(&self) -> &MigrationSet {
        &self.migrations
    }

    /// The history of `tenant`, read without a lock and without creating anything.
    ///
    /// # Errors
    /// As [`MigrationRunner::migration_history`] of the database.
    pub async fn history(&self, tenant: &TenantContext) -> Result<Vec<AppliedMigration>> {
        self.database.runner().migration_history(tenant).await
    }

    /// Applies every pending migration to `tenant` under its lock, in one unit of work
    /// (split only by files marked `-- no-transaction`), and commits.
    ///
    /// # Errors
    /// [`Error::Lock`] when the lock is not granted; [`Error::Migration`] when the
    /// tenant's history does not match the directory (a changed file, an unfinished
    /// migration, a version without a file), before anything runs; [`Error::Execute`]
    /// naming the file that failed and how many files of the run succeeded.
    pub async fn migrate_tenant(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<MigrateReport> {
        let mut lock = self.acquire_lock(tenant, options).await?;
        match self.apply_pending(lock.as_mut(), tenant).await {
            Ok(applied) => {
                lock.commit().await?;
                let status = if applied.is_empty() {
                    TenantStatus::InSync
                } else {
                    TenantStatus::Synced
                };
                Ok(MigrateReport {
                    applied,
                    ..MigrateReport::new(tenant.id().clone(), status)
                })
            }
            Err(error) => {
                // The apply error is what the caller needs; a failed rollback on top of
                // it leaves the transaction to the server, which rolls back on disconnect.
                let _ = lock.release().await;
                Err(error)
            }
        }
    }

    /// Reads the history under the lock and applies what is pending, without ending the
    /// unit of work.
    async fn apply_pending(
        &self,
        lock: &mut dyn TenantLock,
        tenant: &TenantContext,
    ) -> Result<Vec<AppliedFile>> {
        let history = lock.migration_history().await?;
        let pending = self.migrations.pending(tenant.id(), &history)?;
        if let Some(first) = pending.first() {
            check_exported_from(lock, tenant, first).await?;
        }
        let mut applied = Vec::with_capacity(pending.len());
        for (index, migration) in pending.iter().enumerate() {
            let started = Instant::now();
            match lock.apply_migration(migration).await {
                Ok(_) => applied.push(AppliedFile {
                    version: migration.version,
                    description: migration.description.clone(),
                    file: migration.file.clone(),
                    duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                }),
                // Nothing ran: the guard refused the file before sending it.
                Err(error @ Error::Isolation { .. }) => return Err(error),
                Err(error) => {
                    // Files before a `-- no-transaction` one were committed with it.
                    let committed = pending[..=index].iter().any(|m| m.no_transaction);
                    return Err(Error::Execute {
                        tenant: tenant.id().clone(),
                        step: format!("migration {} from {}", migration.label(), migration.file),
                        statement: migration.sql.trim().to_string(),
                        steps_succeeded: index,
                        steps_total: pending.len(),
                        rolled_back: lock.is_transactional() && !committed,
                        source: Box::new(error),
                    });
                }
            }
        }
        Ok(applied)
    }

    /// Migrates every tenant of `tenants`, `options.concurrency` at a time, calling
    /// `on_done` as each one finishes. One tenant's failure never stops the others,
    /// unless `options.max_failures` is reached: tenants not yet started are then
    /// skipped. Only [`FleetOptions::sync`]'s execute options (timeouts, isolation
    /// guard) apply.
    pub async fn migrate_fleet(
        &self,
        tenants: Vec<TenantContext>,
        options: &FleetOptions,
        on_done: &(dyn Fn(&MigrateReport) + Send + Sync),
    ) -> MigrateFleetReport {
        let failures = AtomicUsize::new(0);
        let limit_reached = || {
            options
                .max_failures
                .is_some_and(|max| failures.load(Ordering::SeqCst) >= max)
        };
        let (failures, limit_reached) = (&failures, &limit_reached);
        let mut results: Vec<(usize, MigrateReport)> =
            stream::iter(tenants.into_iter().enumerate())
                .map(|(index, tenant)| async move {
                    let report = if limit_reached() {
                        MigrateReport::new(tenant.id().clone(), TenantStatus::Skipped)
                    } else if let Some(error) = rejected(&tenant) {
                        MigrateReport::failed(tenant.id().clone(), error)
                    } else {
                        self.migrate_tenant(&tenant, &options.sync.execute_options)
                            .await
                            .unwrap_or_else(|error| {
                                MigrateReport::failed(tenant.id().clone(), error)
                            })
                    };
                    if report.status.is_failure() {
                        failures.fetch_add(1, Ordering::SeqCst);
                    }
                    on_done(&report);
                    (index, report)
                })
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
        results.sort_by_key(|(index, _)| *index);
        let tenants: Vec<MigrateReport> = results.into_iter().map(|(_, r)| r).collect();
        let mut summary = FleetSummary {
            total: tenants.len(),
            ..FleetSummary::default()
        };
        for report in &tenants {
            summary.count(report.status);
        }
        MigrateFleetReport { tenants, summary }
    }
}

/// Declarative plans pass through to the database's runner; the versioned path
/// ([`SqlFileMigrationRunner::migrate_tenant`]) takes its locks from here too.
#[async_trait]
impl MigrationRunner for SqlFileMigrationRunner {
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        self.database.runner().render(tenant, plan).await
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        self.database.runner().acquire_lock(tenant, options).await
    }

    fn refine_hazards(&self, plan: &mut MigrationPlan) {
        self.database.runner().refine_hazards(plan);
    }

    async fn check_data(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<DataCheck>> {
        self.database.runner().check_data(tenant, plan).await
    }

    async fn migration_history(&self, tenant: &TenantContext) -> Result<Vec<AppliedMigration>> {
        self.history(tenant).await
    }
}

/// Refuses `migration` for `tenant` when it was exported from another schema than the
/// tenant's now ([`Migration::from_hash`]): applied to a tenant that changed since the
/// export, it would not lead where the export planned.
///
/// # Errors
/// [`Error::Migration`] naming the file and both hashes; an inspection error.
async fn check_exported_from(
    lock: &mut dyn TenantLock,
    tenant: &TenantContext,
    migration: &Migration,
) -> Result<()> {
    let Some(expected) = migration.from_hash.as_deref() else {
        return Ok(());
    };
    let live = lock.inspect().await?.hash();
    if live.to_string() == expected {
        return Ok(());
    }
    Err(Error::Migration {
        tenant: Some(tenant.id().clone()),
        file: migration.file.clone(),
        message: format!(
            "was exported for tenants whose schema hashes {expected}, and this tenant's hashes {live}: it changed since the export; export again (plan --out DIR --layout) for its schema, or sync it"
        ),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use crate::snapshot::SchemaSnapshot;
    use crate::testing::{MockAdapter, tenant_id};

    fn set(files: &[(&str, &str)]) -> MigrationSet {
        let files = files
            .iter()
            .map(|(name, sql)| (name.to_string(), sql.to_string()))
            .collect();
        MigrationSet::from_files("migrations", files).unwrap()
    }

    fn fleet(database: &MockAdapter, ids: &[&str]) -> Vec<TenantContext> {
        ids.iter()
            .map(|id| database.context(&tenant_id(id)).unwrap())
            .collect()
    }

    fn database(ids: &[&str]) -> MockAdapter {
        MockAdapter::new(
            ids.iter()
                .map(|id| (tenant_id(id), SchemaSnapshot::empty())),
        )
    }

    #[tokio::test]
    async fn a_failing_tenant_keeps_its_history_and_the_others_go_on() {
        let database = database(&["a", "b", "c"]);
        database.fail_execute(&tenant_id("b"));
        let files = [("1_one.sql", "SELECT 1"), ("2_two.sql", "SELECT 2")];
        let runner = SqlFileMigrationRunner::new(Arc::new(database.clone()), set(&files));
        let options = FleetOptions::default();
        let report = runner
            .migrate_fleet(fleet(&database, &["a", "b", "c"]), &options, &|_| {})
            .await;
        assert_eq!((report.summary.synced, report.summary.failed), (2, 1));
        assert_eq!(database.applied_versions(&tenant_id("a")), [1, 2]);
        assert!(database.applied_versions(&tenant_id("b")).is_empty());
        match &report.tenants[1].error {
            Some(Error::Execute {
                step,
                steps_succeeded: 0,
                steps_total: 2,
                rolled_back: true,
                ..
            }) => assert!(step.contains("1_one.sql"), "{step}"),
            other => panic!("{other:?}"),
        }
        // A second run finds nothing pending where the first succeeded.
        let again = runner
            .migrate_fleet(fleet(&database, &["a", "c"]), &options, &|_| {})
            .await;
        assert_eq!(again.summary.in_sync, 2);
        assert!(again.tenants.iter().all(|t| t.applied.is_empty()));
    }

    #[tokio::test]
    async fn the_failure_limit_skips_the_tenants_not_started() {
        let database = database(&["a", "b", "c"]);
        database.fail_execute(&tenant_id("a"));
        let runner = SqlFileMigrationRunner::new(
            Arc::new(database.clone()),
            set(&[("1_one.sql", "SELECT 1")]),
        );
        let options = FleetOptions {
            concurrency: 1,
            max_failures: Some(1),
            ..FleetOptions::default()
        };
        let report = runner
            .migrate_fleet(fleet(&database, &["a", "b", "c"]), &options, &|_| {})
            .await;
        let statuses: Vec<TenantStatus> = report.tenants.iter().map(|t| t.status).collect();
        assert_eq!(
            statuses,
            [
                TenantStatus::Failed,
                TenantStatus::Skipped,
                TenantStatus::Skipped
            ]
        );
        assert!(database.applied_versions(&tenant_id("b")).is_empty());
    }

    #[tokio::test]
    async fn a_file_naming_another_tenant_is_refused_before_it_runs() {
        let database = database(&["a", "b"]);
        let other = database.context(&tenant_id("b")).unwrap();
        let sql = format!("CREATE TABLE \"{}\".t (id int)", other.namespace());
        let runner = SqlFileMigrationRunner::new(
            Arc::new(database.clone()),
            set(&[("1_steal.sql", sql.as_str())]),
        );
        let mut options = FleetOptions::default();
        options.sync.execute_options.isolation =
            crate::NamespaceGuard::new([other.namespace().to_string()]);
        let report = runner
            .migrate_fleet(fleet(&database, &["a"]), &options, &|_| {})
            .await;
        assert!(
            matches!(report.tenants[0].error, Some(Error::Isolation { .. })),
            "{:?}",
            report.tenants[0].error
        );
        assert!(database.applied_versions(&tenant_id("a")).is_empty());
    }

    #[tokio::test]
    async fn an_exported_migration_is_refused_for_a_tenant_that_changed_since() {
        let database = database(&["a", "b"]);
        let exported_from = SchemaSnapshot::empty().hash().to_string();
        let manifest = format!(
            r#"{{"migrations": [{{"up": "1_shape.up.sql", "tenants": ["a", "b"], "from_hash": "{exported_from}", "part": 1}}]}}"#
        );
        let set = set(&[("1_shape.up.sql", "SELECT 1")])
            .scoped_by(&manifest)
            .unwrap();
        let mut changed = SchemaSnapshot::empty();
        changed.tables.insert("t".into(), Default::default());
        database.set_schema(&tenant_id("b"), changed);
        let runner = SqlFileMigrationRunner::new(Arc::new(database.clone()), set);
        let report = runner
            .migrate_fleet(
                fleet(&database, &["a", "b"]),
                &FleetOptions::default(),
                &|_| {},
            )
            .await;
        assert_eq!(database.applied_versions(&tenant_id("a")), [1]);
        assert!(database.applied_versions(&tenant_id("b")).is_empty());
        let error = report.tenants[1]
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(error.contains("changed since the export"), "{error}");
    }
}
