//! Applying plans: one `BEGIN IMMEDIATE` transaction per tenant.
//!
//! `BEGIN IMMEDIATE` takes SQLite's write lock up front (waiting up to the lock timeout
//! through the busy handler), so it is the per-tenant lock. Foreign keys are switched off
//! for the connection before the transaction (SQLite ignores the pragma inside one), as
//! the rebuild procedure requires, and `PRAGMA foreign_key_check` must come back empty
//! before commit. Any failure rolls the whole tenant back.

use std::path::{Path, PathBuf};
use std::time::Instant;

use async_trait::async_trait;
use rusqlite::Connection;
use schema_sync_core::migrate::{AppliedMigration, Migration};
use schema_sync_core::{
    ChangeCookie, Error, ExecuteOptions, ExecutionResult, MigrationPlan, NamespaceGuard, Phase,
    Result, SchemaSnapshot, StatementTiming, TenantContext, TenantId, TenantLock,
};

use crate::catalog::{StoredSql, foreign_key_violations};
use crate::connect::open;
use crate::error::{is_busy, sqlite_error};
use crate::history;
use crate::inspect::inspect_connection;
use crate::render::{RenderContext, render_plan};
use crate::tenants;
use schema_sync_core::run_blocking;

/// What the lock runs on its connection before `BEGIN IMMEDIATE`: SQLite ignores both
/// pragmas inside a transaction, and the rebuild procedure needs both.
const SESSION_PRAGMAS: [&str; 2] = [
    "PRAGMA foreign_keys = OFF",
    "PRAGMA legacy_alter_table = ON",
];

/// The whole script a run executes for `plan` on `tenant`, whose schema is `live`, for
/// showing it (`plan`, `--dry-run`): the session pragmas, `BEGIN IMMEDIATE`, the
/// rendered statements, the foreign key check, `COMMIT`. Reads the stored DDL from the
/// tenant's file (read-only) on the blocking pool.
///
/// # Errors
/// As [`render_plan`], and the SQLite error when the file cannot be read.
pub(crate) async fn render_script(
    tenant: &TenantContext,
    live: &SchemaSnapshot,
    plan: &MigrationPlan,
) -> Result<Vec<String>> {
    let (id, path) = (tenant.id().clone(), tenants::path_of(tenant));
    let stored = run_blocking(move || {
        let conn =
            open(&path, false).map_err(|e| sqlite_error(Some(&id), Phase::Plan, &path, e))?;
        StoredSql::read(&conn).map_err(|e| sqlite_error(Some(&id), Phase::Plan, &path, e))
    })
    .await?;
    let context = RenderContext {
        tenant,
        live,
        stored: &stored,
    };
    let statements = render_plan(plan, &context)?;
    let mut sql: Vec<String> = SESSION_PRAGMAS.iter().map(|p| p.to_string()).collect();
    sql.push("BEGIN IMMEDIATE".to_string());
    sql.extend(statements.into_iter().map(|s| s.sql));
    sql.push("PRAGMA foreign_key_check".into());
    sql.push("COMMIT".into());
    Ok(sql)
}

/// A tenant file inside an open `BEGIN IMMEDIATE` transaction.
pub(crate) struct SqliteLock {
    tenant: TenantId,
    path: PathBuf,
    /// Taken out while a blocking task uses it; dropping it rolls back.
    conn: Option<Connection>,
    isolation: NamespaceGuard,
    /// The tenant and its file, for the isolation guard.
    context: TenantContext,
}

impl SqliteLock {
    /// Opens the tenant's file and takes the write lock, waiting up to
    /// `options.lock_timeout`.
    pub(crate) async fn acquire(context: TenantContext, options: &ExecuteOptions) -> Result<Self> {
        let path = tenants::path_of(&context);
        let tenant = context.id().clone();
        let timeout = options.lock_timeout;
        let (task_tenant, task_path) = (tenant.clone(), path.clone());
        let conn = run_blocking(move || {
            let fail = |e| sqlite_error(Some(&task_tenant), Phase::Lock, &task_path, e);
            let conn = open(&task_path, true).map_err(fail)?;
            conn.busy_timeout(timeout).map_err(fail)?;
            conn.execute_batch(&SESSION_PRAGMAS.join("; "))
                .map_err(fail)?;
            match conn.execute_batch("BEGIN IMMEDIATE") {
                Ok(()) => Ok(conn),
                Err(e) if is_busy(&e) => Err(Error::Lock {
                    tenant: task_tenant.clone(),
                    message: format!(
                        "{} is locked by another writer after waiting {} ms; retry when it is free",
                        task_path.display(),
                        timeout.as_millis()
                    ),
                    source: Some(Box::new(e)),
                    progress: None,
                }),
                Err(e) => Err(fail(e)),
            }
        })
        .await?;
        Ok(Self {
            tenant,
            path,
            conn: Some(conn),
            isolation: options.isolation.clone(),
            context,
        })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &mut self,
        work: impl FnOnce(&Connection, &TenantId, &Path) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let conn = self.conn.take().ok_or_else(|| Error::Internal {
            tenant: Some(self.tenant.clone()),
            message: "the SQLite connection was lost after an earlier failure".into(),
        })?;
        let (tenant, path) = (self.tenant.clone(), self.path.clone());
        let (conn, result) = run_blocking(move || {
            let result = work(&conn, &tenant, &path);
            Ok((conn, result))
        })
        .await?;
        self.conn = Some(conn);
        result
    }
}

#[async_trait]
impl TenantLock for SqliteLock {
    async fn inspect(&mut self) -> Result<SchemaSnapshot> {
        self.with_conn(|conn, tenant, path| {
            inspect_connection(conn)
                .map_err(|e| sqlite_error(Some(tenant), Phase::Inspect, path, e))
        })
        .await
    }

    async fn change_cookie(&mut self) -> Result<Option<ChangeCookie>> {
        // The file's header must not be read here: this process holds the write lock,
        // and closing another descriptor of the file would drop it (see
        // `schema_format`). Its format was checked when it was inspected.
        self.with_conn(|conn, tenant, path| {
            crate::inspect::change_cookie_of(conn, None)
                .map_err(|e| sqlite_error(Some(tenant), Phase::Inspect, path, e))
        })
        .await
    }

    async fn apply(
        &mut self,
        plan: &MigrationPlan,
        _live: &SchemaSnapshot,
    ) -> Result<ExecutionResult> {
        // The file is read again in the transaction: in-process and cheap, and the stored
        // SQL the renderer rebuilds tables from is not part of the snapshot.
        let plan = plan.clone();
        let (isolation, context) = (self.isolation.clone(), self.context.clone());
        self.with_conn(move |conn, tenant, path| {
            apply(conn, tenant, path, &plan, &isolation, &context)
        })
        .await
    }

    async fn migration_history(&mut self) -> Result<Vec<AppliedMigration>> {
        self.with_conn(|conn, tenant, path| {
            history::create(conn)
                .and_then(|()| history::read(conn))
                .map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e))
        })
        .await
    }

    async fn apply_migration(&mut self, migration: &Migration) -> Result<StatementTiming> {
        // A file cannot name another tenant's file without ATTACH; the guard still sees
        // every file, as on every database.
        self.isolation
            .check(&self.context, &[migration.sql.as_str()])?;
        let migration = migration.clone();
        self.with_conn(move |conn, tenant, path| {
            history::apply(conn, &migration)
                .map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e))
        })
        .await
    }

    fn is_transactional(&self) -> bool {
        true
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        self.with_conn(|conn, tenant, path| {
            let committed = conn
                .execute_batch("COMMIT")
                .map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e));
            if committed.is_err() {
                // Leave nothing half-done: a failed COMMIT keeps the transaction open.
                let _ = conn.execute_batch("ROLLBACK");
            }
            committed
        })
        .await
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        self.with_conn(|conn, tenant, path| {
            conn.execute_batch("ROLLBACK")
                .map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e))
        })
        .await
    }
}

/// Renders and runs the plan inside the open transaction (no commit, no rollback).
fn apply(
    conn: &Connection,
    tenant: &TenantId,
    path: &Path,
    plan: &MigrationPlan,
    isolation: &NamespaceGuard,
    context: &TenantContext,
) -> Result<ExecutionResult> {
    let started = Instant::now();
    let read = |conn: &Connection| Ok((inspect_connection(conn)?, StoredSql::read(conn)?));
    let (live, stored) =
        read(conn).map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e))?;
    let render = RenderContext {
        tenant: context,
        live: &live,
        stored: &stored,
    };
    let statements = render_plan(plan, &render)?;
    // A SQLite tenant is a file and SQL cannot name another file without ATTACH, which
    // no plan renders; the guard still sees every statement, as on every database.
    let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
    isolation.check(context, &sql)?;
    let failure =
        |step: usize, statement: String, source: schema_sync_core::BoxError| Error::Execute {
            tenant: tenant.clone(),
            step: plan
                .steps
                .get(step)
                .map(|s| s.operation.to_string())
                .unwrap_or_default(),
            statement,
            steps_succeeded: step,
            steps_total: plan.steps.len(),
            rolled_back: true,
            source,
        };
    let mut timings = Vec::with_capacity(statements.len());
    for statement in &statements {
        // The first step a statement carries out is the first that did not succeed.
        let step = statement.steps.iter().copied().min().unwrap_or_default();
        let sent = Instant::now();
        conn.execute_batch(&statement.sql)
            .map_err(|e| failure(step, statement.sql.clone(), Box::new(e)))?;
        timings.push(StatementTiming::since(statement.sql.as_str(), sent));
    }
    let violations = foreign_key_violations(conn)
        .map_err(|e| sqlite_error(Some(tenant), Phase::Execute, path, e))?;
    if let Some((table, rowid, parent)) = violations.first() {
        let message = format!(
            "{} row(s) violate foreign keys, first {table} rowid {rowid} referencing {parent}; fix the data or the target",
            violations.len()
        );
        return Err(failure(
            plan.steps.len().saturating_sub(1),
            "PRAGMA foreign_key_check".into(),
            message.into(),
        ));
    }
    Ok(ExecutionResult {
        steps_total: plan.steps.len(),
        steps_succeeded: plan.steps.len(),
        statements_executed: statements.len(),
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        statements: timings,
        ..ExecutionResult::default()
    })
}
