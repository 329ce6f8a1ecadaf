//! Applying plans under a per-tenant `GET_LOCK`.
//!
//! The lock is a named server lock, `schema-sync:` followed by a blake3 hash of the
//! database name (lock names are limited to 64 characters, database names are not
//! restricted to safe characters). It belongs to one session, so a [`MysqlLock`] holds a
//! dedicated pooled connection from `GET_LOCK` to `RELEASE_LOCK`; every path releases it:
//! success, failure, [`TenantLock::release`], and dropping the lock unused (the release
//! then runs on a spawned task, and the pool's connection reset is the last resort).
//!
//! DDL commits itself on MySQL, so a failure reports how many steps were applied and the
//! statement that failed, with `rolled_back` false.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::migrate::{AppliedMigration, Migration};
use schema_sync_core::plan::{RenderedStatement, ScriptPart};
use schema_sync_core::{
    Error, ExecuteOptions, ExecutionResult, MigrationPlan, NamespaceGuard, Phase, Progress, Result,
    SchemaSnapshot, StatementTiming, TenantContext, TenantLock,
};

use crate::connect::{Flavor, Server, ServerInfo};
use crate::error::{self, Message};
use crate::history;
use crate::inspect::inspect_schemas;
use crate::online::{self, Failed};
use crate::render::{RenderContext, describe_steps, needs_live_schema, render_plan};
use crate::sql::quote_ident;

/// Takes the lock of `tenant` on a dedicated pooled connection of `server`.
///
/// # Errors
/// [`Error::Config`] on a read-only connection; a database error when no connection can
/// be had; what [`MysqlLock::acquire`] returns.
pub(crate) async fn lock(
    server: &Server,
    tenant: &TenantContext,
    options: &ExecuteOptions,
) -> Result<Box<dyn TenantLock>> {
    server.ensure_writable("change a tenant")?;
    let conn = server.conn(Some(tenant.id()), Phase::Lock).await?;
    let lock = MysqlLock::acquire(conn, server.info, tenant.clone(), options).await?;
    Ok(Box::new(lock))
}

/// The SQL a run would send for `plan`, as the runner's session sends it: `USE` of the
/// tenant's database, then the rendered statements. `live` is the tenant's schema when
/// [`needs_live_schema`] says the plan needs it.
///
/// # Errors
/// [`Error::Unsupported`] for an operation MySQL cannot express.
pub(crate) fn script(
    tenant: &TenantContext,
    plan: &MigrationPlan,
    server: ServerInfo,
    live: Option<&SchemaSnapshot>,
) -> Result<Vec<String>> {
    let context = RenderContext {
        tenant: Some(tenant.id()),
        server,
        live,
    };
    let statements = render_plan(plan, &context)?;
    let mut sql = vec![format!("USE {}", quote_ident(tenant.namespace()))];
    sql.extend(online::annotate(plan, statements));
    Ok(sql)
}

/// The SQL of `plan` for a migration file that tenants share: the rendered statements
/// without `USE`, every name unqualified, so they change the session's default
/// database. `from` is the schema the plan starts from. MySQL commits each DDL
/// statement on its own, so wrapping the part in a transaction neither helps nor harms.
///
/// # Errors
/// [`Error::Unsupported`] for an operation MySQL cannot express.
pub(crate) fn shared_script(
    tenant: &TenantContext,
    plan: &MigrationPlan,
    server: ServerInfo,
    from: &SchemaSnapshot,
) -> Result<Vec<ScriptPart>> {
    let context = RenderContext {
        tenant: Some(tenant.id()),
        server,
        live: Some(from),
    };
    let statements = render_plan(plan, &context)?;
    Ok(vec![ScriptPart::whole(
        plan.steps.len(),
        true,
        statements.into_iter().map(|s| s.sql).collect(),
    )])
}

/// The server lock name of a database: at most 64 characters whatever the name.
pub(crate) fn lock_name(database: &str) -> String {
    let hash = blake3::hash(database.as_bytes()).to_hex();
    format!("schema-sync:{}", &hash.as_str()[..40])
}

/// A tenant database held under its `GET_LOCK`, on a dedicated connection.
pub(crate) struct MysqlLock {
    /// `None` once released.
    conn: Option<Conn>,
    server: ServerInfo,
    tenant: TenantContext,
    lock_name: String,
    isolation: NamespaceGuard,
    /// The session's `lock_wait_timeout`, for messages.
    lock_wait_seconds: u64,
    /// Whether an online statement the server cannot run without blocking writes may
    /// run anyway (`--allow-copy`).
    allow_copy: bool,
}

impl MysqlLock {
    /// Takes the tenant's lock on `conn`, waiting at most `options.lock_timeout`, then
    /// prepares the session: timeouts, `sql_mode` without `NO_BACKSLASH_ESCAPES` (the
    /// renderer escapes with backslashes) and the tenant's database as default.
    ///
    /// # Errors
    /// [`Error::Lock`] on timeout or failure; a database error when the session cannot be
    /// prepared (the lock is then released).
    pub(crate) async fn acquire(
        mut conn: Conn,
        server: ServerInfo,
        tenant: TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Self> {
        let lock_name = lock_name(tenant.namespace());
        let wait = options.lock_timeout.as_secs_f64();
        let granted: std::result::Result<Option<Option<i64>>, _> = conn
            .exec_first("SELECT GET_LOCK(?, ?)", (lock_name.as_str(), wait))
            .await;
        let lock_error = |message: String, source: Option<mysql_async::Error>| Error::Lock {
            tenant: tenant.id().clone(),
            message,
            source: source.map(error::source),
            progress: None,
        };
        match granted {
            Ok(Some(Some(1))) => {}
            Ok(Some(Some(_))) => {
                return Err(lock_error(
                    format!(
                        "another schema-sync run held lock {lock_name:?} for more than {wait}s; wait for it to finish or raise the lock timeout"
                    ),
                    None,
                ));
            }
            Ok(_) => {
                return Err(lock_error(
                    format!(
                        "GET_LOCK({lock_name:?}) returned NULL; the session may have been killed, try again"
                    ),
                    None,
                ));
            }
            Err(e) => {
                return Err(lock_error(
                    format!("GET_LOCK({lock_name:?}) failed"),
                    Some(e),
                ));
            }
        }
        let mut lock = Self {
            conn: Some(conn),
            server,
            tenant,
            lock_name,
            isolation: options.isolation.clone(),
            lock_wait_seconds: lock_wait_seconds(options),
            allow_copy: options.allow_copy,
        };
        if let Err(e) = lock.prepare_session(options).await {
            let _ = lock.release_now().await;
            return Err(e);
        }
        Ok(lock)
    }

    fn conn(&mut self) -> Result<&mut Conn> {
        self.conn.as_mut().ok_or_else(|| Error::Internal {
            tenant: Some(self.tenant.id().clone()),
            message: "the tenant lock was already released".into(),
        })
    }

    async fn prepare_session(&mut self, options: &ExecuteOptions) -> Result<()> {
        let tenant = self.tenant.id().clone();
        let flavor = self.server.flavor;
        let database = quote_ident(self.tenant.namespace());
        let conn = self.conn()?;
        let fail = |what: &str, e| error::database(Some(&tenant), Phase::Lock, what, e);
        let lock_wait = lock_wait_seconds(options);
        conn.exec_drop("SET SESSION lock_wait_timeout = ?", (lock_wait,))
            .await
            .map_err(|e| fail("set lock_wait_timeout", e))?;
        conn.exec_drop("SET SESSION innodb_lock_wait_timeout = ?", (lock_wait,))
            .await
            .map_err(|e| fail("set innodb_lock_wait_timeout", e))?;
        if let (Some(limit), Flavor::MariaDb) = (options.statement_timeout, flavor) {
            conn.exec_drop("SET SESSION max_statement_time = ?", (limit.as_secs_f64(),))
                .await
                .map_err(|e| fail("set max_statement_time", e))?;
        }
        let mode: Option<String> = conn
            .query_first("SELECT @@SESSION.sql_mode")
            .await
            .map_err(|e| fail("read sql_mode", e))?;
        let mode = mode.unwrap_or_default();
        if mode.contains("NO_BACKSLASH_ESCAPES") {
            let kept: Vec<&str> = mode
                .split(',')
                .filter(|m| *m != "NO_BACKSLASH_ESCAPES")
                .collect();
            conn.exec_drop("SET SESSION sql_mode = ?", (kept.join(","),))
                .await
                .map_err(|e| fail("set sql_mode", e))?;
        }
        conn.query_drop(format!("USE {database}"))
            .await
            .map_err(|e| fail(&format!("use database {database}"), e))?;
        Ok(())
    }

    async fn inspect_locked(&mut self) -> Result<SchemaSnapshot> {
        let tenant = self.tenant.clone();
        let server = self.server;
        let conn = self.conn()?;
        let mut found = inspect_schemas(conn, server, &[tenant.namespace()], false)
            .await
            .map_err(|(what, e)| error::database(Some(tenant.id()), Phase::Inspect, what, e))?;
        found.pop().flatten().ok_or_else(|| {
            Error::database(
                Some(tenant.id()),
                Phase::Inspect,
                Some(format!("database {}", quote_ident(tenant.namespace()))),
                Message("the database no longer exists".into()),
            )
        })
    }

    /// Runs the statements, stopping at the first failure.
    async fn run(
        &mut self,
        plan: &MigrationPlan,
        live: &SchemaSnapshot,
    ) -> Result<ExecutionResult> {
        let started = Instant::now();
        let context = RenderContext {
            tenant: Some(self.tenant.id()),
            server: self.server,
            live: needs_live_schema(plan).then_some(live),
        };
        let statements = render_plan(plan, &context)?;
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        self.isolation.check(&self.tenant, &sql)?;
        if !self.allow_copy {
            online::refuse_copies(self.tenant.id(), plan, &statements)?;
        }
        let tenant = self.tenant.id().clone();
        let lock_wait_seconds = self.lock_wait_seconds;
        let allow_copy = self.allow_copy;
        let conn = self.conn()?;
        let mut steps_succeeded = 0;
        let mut timings = Vec::with_capacity(statements.len());
        for (executed, statement) in statements.iter().enumerate() {
            let sent = Instant::now();
            let outcome = match online::statement_algorithm(plan, statement) {
                Some(_) => online::run_statement(conn, plan, statement, allow_copy).await,
                None => conn
                    .query_drop(statement.sql.as_str())
                    .await
                    .map(|()| online::Ran {
                        sql: statement.sql.clone(),
                    })
                    .map_err(|error| Failed::Driver {
                        sql: statement.sql.clone(),
                        error,
                    }),
            };
            let progress = |sql: String| Progress {
                step: describe_steps(plan, &statement.steps),
                statement: sql,
                steps_succeeded,
                steps_total: plan.steps.len(),
                rolled_back: false,
            };
            let (sql, source): (String, schema_sync_core::BoxError) = match outcome {
                Ok(ran) => {
                    steps_succeeded += statement.steps.len();
                    timings.push(StatementTiming::since(ran.sql.as_str(), sent));
                    continue;
                }
                Err(Failed::Driver { sql, error })
                    if error::server_code(&error) == Some(ER_LOCK_WAIT_TIMEOUT) =>
                {
                    return Err(Error::Lock {
                        tenant,
                        message: lock_wait_message(
                            plan,
                            &statements[..executed],
                            statement,
                            steps_succeeded,
                            lock_wait_seconds,
                        ),
                        source: Some(error::source(error)),
                        progress: Some(Box::new(progress(sql))),
                    });
                }
                Err(Failed::Driver { sql, error }) => (sql, error::source(error)),
                Err(Failed::Refused(refused)) => (statement.sql.clone(), refused),
            };
            let Progress {
                step, statement, ..
            } = progress(sql);
            return Err(Error::Execute {
                tenant,
                step,
                statement,
                steps_succeeded,
                steps_total: plan.steps.len(),
                rolled_back: false,
                source: Box::new(StatementFailed { executed, source }),
            });
        }
        Ok(ExecutionResult {
            steps_total: plan.steps.len(),
            steps_succeeded,
            statements_executed: statements.len(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            statements: timings,
            ..ExecutionResult::default()
        })
    }

    /// Releases the lock and returns the connection to the pool.
    async fn release_now(&mut self) -> Result<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        release(conn, &self.lock_name)
            .await
            .map_err(|e| error::database(Some(self.tenant.id()), Phase::Lock, "RELEASE_LOCK", e))
    }
}

async fn release(mut conn: Conn, lock_name: &str) -> std::result::Result<(), mysql_async::Error> {
    conn.exec_drop("SELECT RELEASE_LOCK(?)", (lock_name,)).await
}

/// `ER_LOCK_WAIT_TIMEOUT`: a statement waited longer than `lock_wait_timeout` for a
/// metadata lock (or `innodb_lock_wait_timeout` for a row lock) held by another session.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;

/// The session lock timeouts for `options`: whole seconds, rounded up (both server
/// variables are integers, and 0 would not wait at all).
fn lock_wait_seconds(options: &ExecuteOptions) -> u64 {
    let seconds =
        options.lock_timeout.as_secs() + u64::from(options.lock_timeout.subsec_nanos() > 0);
    seconds.max(1)
}

/// What a lock-wait timeout left behind: the statement that waited, and exactly the
/// statements (and plan steps) applied before it.
fn lock_wait_message(
    plan: &MigrationPlan,
    applied: &[RenderedStatement],
    waited: &RenderedStatement,
    steps_succeeded: usize,
    seconds: u64,
) -> String {
    let list = if applied.is_empty() {
        "none".to_string()
    } else {
        applied
            .iter()
            .map(|s| format!("`{}`", s.sql))
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "statement {} waited more than {seconds}s (lock_wait_timeout) for a table lock another session holds ({}): `{}`; {steps_succeeded} of {} steps were applied, by statements: {list}; DDL is not transactional here: end the blocking session or transaction (see SHOW PROCESSLIST) or raise the lock timeout, then run again (the plan is recomputed from the live schema)",
        applied.len() + 1,
        describe_steps(plan, &waited.steps),
        waited.sql,
        plan.steps.len(),
    )
}

/// The driver error of a failed statement, with how many statements had run.
#[derive(Debug)]
struct StatementFailed {
    executed: usize,
    source: schema_sync_core::BoxError,
}

impl std::fmt::Display for StatementFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (after {} statement{} applied; DDL is not transactional here, so fix the cause and run again: the plan is recomputed from the live schema)",
            self.source,
            self.executed,
            if self.executed == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for StatementFailed {}

impl Drop for MysqlLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let name = self.lock_name.clone();
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    // Nothing can report an error from here; the pool resets the session
                    // (releasing its locks) if this fails.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(30), release(conn, &name)).await;
                });
            }
        }
    }
}

#[async_trait]
impl TenantLock for MysqlLock {
    async fn inspect(&mut self) -> Result<SchemaSnapshot> {
        self.inspect_locked().await
    }

    async fn apply(
        &mut self,
        plan: &MigrationPlan,
        live: &SchemaSnapshot,
    ) -> Result<ExecutionResult> {
        self.run(plan, live).await
    }

    async fn migration_history(&mut self) -> Result<Vec<AppliedMigration>> {
        let tenant = self.tenant.clone();
        let conn = self.conn()?;
        history::create(conn, &tenant).await?;
        history::read(conn, &tenant).await
    }

    async fn apply_migration(&mut self, migration: &Migration) -> Result<StatementTiming> {
        self.isolation
            .check(&self.tenant, &[migration.sql.as_str()])?;
        let tenant = self.tenant.clone();
        history::apply(self.conn()?, &tenant, migration).await
    }

    fn is_transactional(&self) -> bool {
        false
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        // Every DDL statement committed itself; only the lock remains to release.
        self.release_now().await
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        self.release_now().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_names_fit_and_differ() {
        let long = "x".repeat(64);
        for db in ["a", "A", "ünï`; DROP", long.as_str()] {
            assert!(lock_name(db).len() <= 64);
        }
        assert_ne!(lock_name("a"), lock_name("A"));
    }
}
