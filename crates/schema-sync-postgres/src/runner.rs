//! The runner: one transaction per tenant, under an advisory lock.
//!
//! [`acquire_lock`](schema_sync_core::MigrationRunner::acquire_lock) opens a transaction, sets
//! `lock_timeout`, `statement_timeout` and `search_path` with `SET LOCAL`, and takes
//! `pg_advisory_xact_lock` on a key derived (blake3) from the schema name, so two runs on
//! one tenant serialise while runs on different tenants never wait for each other. The
//! lock wait is bounded by `lock_timeout` like any other lock wait, and becomes
//! [`Error::Lock`] when it expires.
//!
//! [`TenantLock::execute`] renders the plan inside the same transaction (rebuilding an
//! enum needs to know which columns use it), runs each statement on the extended
//! protocol (one statement per message: a definition in a snapshot cannot smuggle in a
//! second statement) and commits. Any failure rolls back the whole tenant and returns
//! [`Error::Execute`] naming the step, the statement and how many steps had succeeded;
//! a table lock that is not granted within `lock_timeout` is an [`Error::Lock`] instead
//! (the tenant was busy, not broken), naming the step and statement too. Inspection
//! under the lock runs with the same timeouts, and its timeouts are [`Error::Lock`] as
//! well.
//! A lock dropped without `execute` or `release` rolls back too.
//!
//! Steps a plan marks as outside the transaction (the online strategy) are kept aside by
//! `apply` and run by `commit` once the transaction has committed (`runner/outside.rs`).

mod outside;

use std::time::Instant;

use async_trait::async_trait;
use deadpool_postgres::Object;
use schema_sync_core::migrate::{AppliedMigration, Migration};
use schema_sync_core::plan::{MigrationPlan, Operation, RenderedStatement, ScriptPart};
use schema_sync_core::{
    ChangeCookie, Error, ExecuteOptions, ExecutionResult, NamespaceGuard, Phase, Progress, Result,
    SchemaSnapshot, StatementTiming, TenantContext, TenantId, TenantLock,
};
use tokio_postgres::types::Type;

use crate::PostgresAdapter;
use crate::catalog::{CatalogClient, cookie, index_builds, privileges, tenant_search_path};
use crate::error;
use crate::history;
use crate::inspect::{inspect_schemas, inspect_schemas_with, inspection_timeout, is_timeout};
use crate::render::{RenderContext, render_plan};
use outside::Deferred;

/// What a migration file puts before a statement that runs outside the tenant's
/// transaction, after the others commit (the online strategy).
const OUTSIDE_MARK: &str = "/* outside the transaction */";

/// What a migration file runs first when the plan creates functions: the runner turns
/// off function-body checks (new functions precede the tables they read).
const CHECK_FUNCTION_BODIES_OFF: &str = "SET check_function_bodies = off";

/// Whether `plan` creates a function.
fn creates_functions(plan: &MigrationPlan) -> bool {
    plan.steps
        .iter()
        .any(|s| matches!(s.operation, Operation::CreateFunction { .. }))
}

/// The advisory lock key of a tenant schema: 64 bits of blake3 over a fixed prefix and
/// the schema name, so unrelated advisory locks of the application are unlikely to clash.
pub(crate) fn lock_key(schema: &str) -> i64 {
    let hash = blake3::hash(format!("schema-sync tenant lock\0{schema}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    i64::from_le_bytes(bytes)
}

/// Milliseconds since `started`, as the history table stores them.
fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// Reads `tenant` through `client` inside a transaction, to render a plan from it.
async fn read_to_render(
    client: CatalogClient<'_>,
    server_version: i32,
    tenant: &TenantContext,
) -> Result<SchemaSnapshot> {
    let schema = tenant.namespace().to_string();
    inspect_schemas(client, server_version, std::slice::from_ref(&schema), None)
        .await
        .map_err(|e| {
            if is_timeout(&e) {
                return inspection_timeout(tenant.id(), "reading the tenant to render the plan", e);
            }
            error::database(
                Some(tenant.id()),
                Phase::Plan,
                "reading the tenant to render the plan",
                e,
            )
        })?
        .pop()
        .flatten()
        .ok_or_else(|| crate::inspect::missing_schema(tenant.id(), &schema))
}

/// Renders `plan` for the tenant whose schema is `live`, reading the rest it needs (the
/// grants of views it recreates) through `client` inside the tenant's transaction.
/// `qualify`: names carry the tenant's schema; without it they stay bare, for a file
/// that tenants share.
async fn render_with(
    client: CatalogClient<'_>,
    tenant: &TenantContext,
    plan: &MigrationPlan,
    live: &SchemaSnapshot,
    qualify: bool,
) -> Result<Vec<RenderedStatement>> {
    let schema = tenant.namespace().to_string();
    // Views the plan drops and creates again: their grants and owner must come back.
    let recreated: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::CreateView { name, .. } if live.views.contains_key(name) => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect();
    let privileges = privileges::read(client, &schema, &recreated)
        .await
        .map_err(|e| {
            error::database(
                Some(tenant.id()),
                Phase::Plan,
                format!(
                    "reading the grants of views the plan recreates ({})",
                    recreated.join(", ")
                ),
                e,
            )
        })?;
    let index_builds = index_builds::read(client, &schema, plan, live)
        .await
        .map_err(|e| {
            error::database(
                Some(tenant.id()),
                Phase::Plan,
                format!(
                    "reading the catalog for the indexes the plan builds ({})",
                    index_builds::describe(plan)
                ),
                e,
            )
        })?;
    render_plan(
        plan,
        &RenderContext {
            tenant: tenant.id(),
            schema: qualify.then_some(schema.as_str()),
            live,
            privileges: &privileges,
            index_builds: &index_builds,
        },
    )
}

impl PostgresAdapter {
    /// The statements of `plan` for `tenant`, as a migration file runs them
    /// ([`MigrationRunner::render`](schema_sync_core::MigrationRunner::render)).
    pub(crate) async fn render_statements(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<String>> {
        let client = self.client().await?;
        let context = |e| error::database(Some(tenant.id()), Phase::Plan, "reading the tenant", e);
        let begin = format!(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;{}",
            self.inspect_timeouts.set_local()
        );
        let begun = client.batch_execute(&begin).await.map_err(context);
        let rendered = match begun {
            Ok(()) => match read_to_render(
                CatalogClient::prepared(&client),
                self.server_version,
                tenant,
            )
            .await
            {
                Ok(live) => {
                    render_with(CatalogClient::prepared(&client), tenant, plan, &live, true).await
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if client.batch_execute("ROLLBACK").await.is_err() {
            drop(Object::take(client));
        }
        let mut statements: Vec<String> = rendered?
            .into_iter()
            .map(|s| {
                let outside = s
                    .steps
                    .first()
                    .and_then(|&step| plan.steps.get(step))
                    .is_some_and(|step| step.outside_transaction);
                if outside {
                    format!("{OUTSIDE_MARK} {}", s.sql)
                } else {
                    s.sql
                }
            })
            .collect();
        if creates_functions(plan) {
            statements.insert(0, CHECK_FUNCTION_BODIES_OFF.to_string());
        }
        // Expressions, view bodies and function definitions are relative to the tenant's
        // search_path (the runner sets it); a migration file must set it too.
        if !statements.is_empty() {
            statements.insert(
                0,
                format!(
                    "SET search_path TO {}",
                    tenant_search_path(tenant.namespace())
                ),
            );
        }
        Ok(statements)
    }

    /// The parts of a migration file that every tenant of `tenant`'s shape shares
    /// ([`MigrationRunner::render_shared`](schema_sync_core::MigrationRunner::render_shared)):
    /// names unqualified, so the file changes the schema first on the session's
    /// `search_path`; the steps the transaction runs in one part, then each step marked
    /// outside the transaction in a part of its own (PostgreSQL refuses `CREATE INDEX
    /// CONCURRENTLY` in any transaction block, a multi-statement query's included).
    pub(crate) async fn render_shared_parts(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        from: &SchemaSnapshot,
    ) -> Result<Vec<ScriptPart>> {
        let client = self.client().await?;
        let rendered =
            render_with(CatalogClient::prepared(&client), tenant, plan, from, false).await?;
        let mut inside = Vec::new();
        let mut parts = Vec::new();
        for statement in rendered {
            let outside = statement
                .steps
                .first()
                .and_then(|&step| plan.steps.get(step))
                .is_some_and(|step| step.outside_transaction);
            if outside {
                parts.push(ScriptPart::standalone(statement.steps, vec![statement.sql]));
            } else {
                inside.push(statement.sql);
            }
        }
        if !inside.is_empty() {
            if creates_functions(plan) {
                inside.insert(0, CHECK_FUNCTION_BODIES_OFF.to_string());
            }
            let steps = (0..plan.steps.len())
                .filter(|&i| !plan.steps[i].outside_transaction)
                .collect();
            parts.insert(0, ScriptPart::transactional(steps, inside));
        }
        Ok(parts)
    }

    /// Opens the tenant's transaction and takes its advisory lock
    /// ([`MigrationRunner::acquire_lock`](schema_sync_core::MigrationRunner::acquire_lock)).
    pub(crate) async fn lock_tenant(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        let id = tenant.id();
        if self.read_only {
            return Err(Error::Lock {
                tenant: id.clone(),
                message: "the connection is read-only (audit mode); connect without read-only mode to change tenants".into(),
                source: None,
                progress: None,
            });
        }
        let client = self.client().await?;
        let mut lock = PgLock {
            client: Some(client),
            tenant: tenant.clone(),
            server_version: self.server_version,
            include_privileges: self.include_privileges,
            isolation: options.isolation.clone(),
            options: options.clone(),
            steps_applied: 0,
            steps_total: 0,
            deferred: Vec::new(),
        };
        lock.begin(options).await?;
        Ok(Box::new(lock))
    }
}

/// A tenant inside its transaction, holding its advisory lock.
struct PgLock {
    /// `None` once the transaction has ended.
    client: Option<Object>,
    tenant: TenantContext,
    server_version: i32,
    /// Privileges are part of the snapshot (`--include-privileges`).
    include_privileges: bool,
    isolation: NamespaceGuard,
    /// The run's timeouts and lock retries.
    options: ExecuteOptions,
    /// Steps applied in this transaction, for the message of a failed commit.
    steps_applied: usize,
    /// Steps of the plan being applied.
    steps_total: usize,
    /// Statements of steps that run after commit, in plan order.
    deferred: Vec<Deferred>,
}

impl PgLock {
    fn id(&self) -> &TenantId {
        self.tenant.id()
    }

    fn client(&self) -> Result<&Object> {
        self.client.as_ref().ok_or_else(|| Error::Internal {
            tenant: Some(self.id().clone()),
            message: "the tenant's transaction has already ended".into(),
        })
    }

    async fn begin(&mut self, options: &ExecuteOptions) -> Result<()> {
        let lock_ms = options.lock_timeout.as_millis();
        let statement_ms = options
            .statement_timeout
            .map(|d| d.as_millis().max(1))
            .unwrap_or(0);
        let schema = self.tenant.namespace().to_string();
        let id = self.id().clone();
        let client = self.client()?;
        let failed = |e| {
            error::database(
                Some(&id),
                Phase::Lock,
                "starting the tenant's transaction",
                e,
            )
        };
        client
            .batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE")
            .await
            .map_err(failed)?;
        client
            .query_typed(
                "SELECT pg_catalog.set_config('lock_timeout', $1, true),
                        pg_catalog.set_config('statement_timeout', $2, true),
                        pg_catalog.set_config('search_path', $3, true),
                        -- As pg_dump does: new functions are created before the tables
                        -- their bodies read, so bodies are checked when called, not now.
                        pg_catalog.set_config('check_function_bodies', 'off', true)",
                &[
                    (&format!("{lock_ms}ms"), Type::TEXT),
                    (&format!("{statement_ms}ms"), Type::TEXT),
                    (&tenant_search_path(&schema), Type::TEXT),
                ],
            )
            .await
            .map_err(failed)?;
        let key = lock_key(&schema);
        let waited = format!("{:.1}s", options.lock_timeout.as_secs_f64());
        let busy = format!(
            "another run holds the lock of this tenant (waited {waited}); wait for it to finish"
        );
        let granted = if lock_ms == 0 {
            // lock_timeout = 0 means "wait forever" to PostgreSQL: try once instead.
            client
                .query_typed(
                    "SELECT pg_catalog.pg_try_advisory_xact_lock($1)",
                    &[(&key, Type::INT8)],
                )
                .await
                .and_then(|rows| rows.first().map(|r| r.try_get::<_, bool>(0)).transpose())
                .map(|granted| granted.unwrap_or(false))
        } else {
            client
                .query_typed(
                    "SELECT pg_catalog.pg_advisory_xact_lock($1)",
                    &[(&key, Type::INT8)],
                )
                .await
                .map(|_| true)
        };
        match granted {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Lock {
                tenant: id,
                message: busy,
                source: None,
                progress: None,
            }),
            Err(e) if error::is_lock_timeout(&e) => Err(Error::Lock {
                tenant: id,
                message: busy,
                source: Some(error::advised(e)),
                progress: None,
            }),
            Err(e) => Err(error::database(
                Some(&id),
                Phase::Lock,
                "taking the advisory lock",
                e,
            )),
        }
    }

    /// Runs the statements kept aside for after commit, under the session advisory lock
    /// taken before commit, with the run's timeouts set for the session and reset after.
    async fn run_deferred(&mut self) -> Result<()> {
        let id = self.id().clone();
        let schema = self.tenant.namespace().to_string();
        let deferred = std::mem::take(&mut self.deferred);
        let client = self.client()?;
        let lock_ms = self.options.lock_timeout.as_millis().max(1);
        let statement_ms = self
            .options
            .statement_timeout
            .map(|d| d.as_millis().max(1))
            .unwrap_or(0);
        let setup = client
            .query_typed(
                "SELECT pg_catalog.set_config('lock_timeout', $1, false),
                        pg_catalog.set_config('statement_timeout', $2, false),
                        pg_catalog.set_config('search_path', $3, false)",
                &[
                    (&format!("{lock_ms}ms"), Type::TEXT),
                    (&format!("{statement_ms}ms"), Type::TEXT),
                    (&tenant_search_path(&schema), Type::TEXT),
                ],
            )
            .await;
        let mut outcome = setup.map(drop).map_err(|e| (None, e));
        let mut done = 0;
        if outcome.is_ok() {
            for statement in &deferred {
                if let Err(e) =
                    outside::run(client, &schema, statement, self.options.lock_retries).await
                {
                    outcome = Err((Some(statement), e));
                    break;
                }
                done += 1;
            }
        }
        let reset = client
            .batch_execute(
                "RESET lock_timeout; RESET statement_timeout; RESET search_path;
                 SELECT pg_catalog.pg_advisory_unlock_all()",
            )
            .await;
        if reset.is_err() {
            // A session that keeps our settings or lock must not go back to the pool.
            if let Some(client) = self.client.take() {
                drop(Object::take(client));
            }
        }
        let Err((failed, e)) = outcome else {
            return Ok(());
        };
        let Some(failed) = failed else {
            return Err(error::database(
                Some(&id),
                Phase::Execute,
                "setting the timeouts of the steps that run after commit",
                e,
            ));
        };
        let operation = failed.operation.clone();
        let steps_succeeded = self.steps_applied + done;
        let step = format!(
            "{operation}, after the tenant's transaction committed: the committed steps stay and the next run finishes the rest"
        );
        if error::is_lock_timeout(&e) {
            return Err(Error::Lock {
                tenant: id,
                message: format!(
                    "step {operation} waited longer than the lock timeout for a table lock {} times, after the tenant's transaction committed; statement: {}; the next run finishes it, run again when the tenant is less busy",
                    self.options.lock_retries + 1,
                    failed.sql
                ),
                source: Some(error::advised(e)),
                progress: Some(Box::new(Progress {
                    step,
                    statement: failed.sql.clone(),
                    steps_succeeded,
                    steps_total: self.steps_total,
                    rolled_back: false,
                })),
            });
        }
        Err(Error::Execute {
            tenant: id,
            step,
            statement: failed.sql.clone(),
            steps_succeeded,
            steps_total: self.steps_total,
            rolled_back: false,
            source: error::advised(e),
        })
    }

    /// Sets the tenant's `search_path` for the transaction (`local`) or the session.
    async fn set_search_path(&self, local: bool) -> Result<()> {
        self.client()?
            .query_typed(
                "SELECT pg_catalog.set_config('search_path', $1, $2)",
                &[
                    (&tenant_search_path(self.tenant.namespace()), Type::TEXT),
                    (&local, Type::BOOL),
                ],
            )
            .await
            .map(drop)
            .map_err(|e| {
                error::database(
                    Some(self.id()),
                    Phase::Execute,
                    "setting the tenant's search_path",
                    e,
                )
            })
    }

    /// Runs a `-- no-transaction` migration file between two transactions: a session
    /// advisory lock taken before `COMMIT` keeps the tenant, the file and its history
    /// row run on their own, then a new transaction takes the tenant's lock again. On
    /// failure the connection is closed, which frees the session lock.
    async fn apply_outside(&mut self, migration: &Migration) -> Result<StatementTiming> {
        let outcome = self.run_between(migration).await;
        if outcome.is_err()
            && let Some(client) = self.client.take()
        {
            drop(Object::take(client));
        }
        outcome
    }

    async fn run_between(&mut self, migration: &Migration) -> Result<StatementTiming> {
        let key = lock_key(self.tenant.namespace());
        let id = self.id().clone();
        let failed = |what: &'static str| {
            let id = id.clone();
            move |e| error::database(Some(&id), Phase::Execute, what, e)
        };
        let client = self.client()?;
        client
            .query_typed(
                "SELECT pg_catalog.pg_advisory_lock($1)",
                &[(&key, Type::INT8)],
            )
            .await
            .map_err(failed(
                "keeping the tenant's lock across a no-transaction migration",
            ))?;
        client
            .batch_execute("COMMIT")
            .await
            .map_err(failed("committing before a no-transaction migration"))?;
        self.set_search_path(false).await?;
        let client = self.client()?;
        let sent = Instant::now();
        history::run(client, &self.tenant, migration).await?;
        history::record(client, &self.tenant, migration, elapsed_ms(sent)).await?;
        let timing = StatementTiming::since(migration.sql.as_str(), sent);
        client
            .batch_execute("RESET search_path")
            .await
            .map_err(failed(
                "resetting search_path after a no-transaction migration",
            ))?;
        let options = self.options.clone();
        self.begin(&options).await?;
        self.client()?
            .query_typed(
                "SELECT pg_catalog.pg_advisory_unlock($1)",
                &[(&key, Type::INT8)],
            )
            .await
            .map_err(failed("handing the tenant's lock back to its transaction"))?;
        Ok(timing)
    }

    /// Ends the transaction with `ROLLBACK`; a connection that cannot roll back is closed
    /// (which rolls back on the server).
    async fn rollback(&mut self) {
        if let Some(client) = self.client.take()
            && client.batch_execute("ROLLBACK").await.is_err()
        {
            drop(Object::take(client));
        }
    }
}

#[async_trait]
impl TenantLock for PgLock {
    async fn inspect(&mut self) -> Result<SchemaSnapshot> {
        let schema = self.tenant.namespace().to_string();
        let id = self.id().clone();
        let client = self.client()?;
        let mut found = inspect_schemas_with(
            CatalogClient::prepared(client),
            self.server_version,
            std::slice::from_ref(&schema),
            self.include_privileges,
            None,
        )
        .await
        .map_err(|e| {
            if is_timeout(&e) {
                return inspection_timeout(&id, "inspection under the lock", e);
            }
            error::database(
                Some(&id),
                Phase::Inspect,
                format!("reading schema {schema:?} under the lock"),
                e,
            )
        })?;
        found
            .pop()
            .flatten()
            .ok_or_else(|| crate::inspect::missing_schema(&id, &schema))
    }

    async fn change_cookie(&mut self) -> Result<Option<ChangeCookie>> {
        let schema = self.tenant.namespace().to_string();
        let id = self.id().clone();
        let client = self.client()?;
        let read = cookie::read(
            CatalogClient::prepared(client),
            std::slice::from_ref(&schema),
            self.server_version,
            self.include_privileges,
        )
        .await;
        let mut found = read.map_err(|e| {
            if is_timeout(&e) {
                return inspection_timeout(&id, "reading the change cookie under the lock", e);
            }
            error::database(
                Some(&id),
                Phase::Inspect,
                format!("reading the change cookie of schema {schema:?} under the lock"),
                e,
            )
        })?;
        Ok(found.remove(&schema))
    }

    async fn apply(
        &mut self,
        plan: &MigrationPlan,
        live: &SchemaSnapshot,
    ) -> Result<ExecutionResult> {
        let started = Instant::now();
        let id = self.id().clone();
        let steps_total = plan.steps.len();
        let client = CatalogClient::prepared(self.client()?);
        let rendered = render_with(client, &self.tenant, plan, live, true).await?;
        // Reading the catalog under the lock moves the path; the plan's text is relative
        // to the tenant's.
        self.set_search_path(true).await?;
        let all: Vec<&str> = rendered.iter().map(|s| s.sql.as_str()).collect();
        self.isolation.check(&self.tenant, &all)?;
        let mut timings = Vec::with_capacity(rendered.len());
        self.steps_total = steps_total;
        self.deferred.clear();
        for rendered in &rendered {
            let statement = &rendered.sql;
            let index = rendered.steps.first().copied().unwrap_or(0);
            let step = plan.steps.get(index);
            if step.is_some_and(|s| s.outside_transaction) {
                self.deferred
                    .push(Deferred::new(rendered, step.map(|s| &s.operation)));
                continue;
            }
            let sent = Instant::now();
            let outcome =
                outside::run_in_transaction(self.client()?, statement, self.options.lock_retries)
                    .await;
            if let Err(e) = outcome {
                self.rollback().await;
                let operation = plan
                    .steps
                    .get(index)
                    .map(|step| step.operation.to_string())
                    .unwrap_or_default();
                if error::is_lock_timeout(&e) {
                    return Err(Error::Lock {
                        tenant: id,
                        message: format!(
                            "step {} of {steps_total} ({operation}) waited longer than the lock timeout for a table lock, tenant rolled back; statement: {statement}; retry when the tenant is less busy",
                            index + 1,
                        ),
                        source: Some(error::advised(e)),
                        progress: Some(Box::new(Progress {
                            step: operation,
                            statement: statement.clone(),
                            steps_succeeded: index,
                            steps_total,
                            rolled_back: true,
                        })),
                    });
                }
                return Err(Error::Execute {
                    tenant: id,
                    step: operation,
                    statement: statement.clone(),
                    steps_succeeded: index,
                    steps_total,
                    rolled_back: true,
                    source: error::advised(e),
                });
            }
            timings.push(StatementTiming::since(statement.as_str(), sent));
        }
        self.steps_applied = plan.steps.iter().filter(|s| !s.outside_transaction).count();
        Ok(ExecutionResult {
            steps_total,
            steps_succeeded: steps_total,
            statements_executed: timings.len(),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            statements: timings,
            ..ExecutionResult::default()
        })
    }

    async fn migration_history(&mut self) -> Result<Vec<AppliedMigration>> {
        let client = self.client()?;
        history::create(client, &self.tenant).await?;
        history::read(client, &self.tenant).await
    }

    async fn apply_migration(&mut self, migration: &Migration) -> Result<StatementTiming> {
        self.isolation
            .check(&self.tenant, &[migration.sql.as_str()])?;
        if migration.no_transaction {
            return self.apply_outside(migration).await;
        }
        self.set_search_path(true).await?;
        let client = self.client()?;
        let sent = Instant::now();
        history::run(client, &self.tenant, migration).await?;
        history::record(client, &self.tenant, migration, elapsed_ms(sent)).await?;
        Ok(StatementTiming::since(migration.sql.as_str(), sent))
    }

    fn is_transactional(&self) -> bool {
        true
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let id = self.id().clone();
        let client = self.client()?;
        if !self.deferred.is_empty() {
            // Held across COMMIT, so no other run changes the tenant before the steps
            // that run after it; released once they ran.
            let key = lock_key(self.tenant.namespace());
            if let Err(e) = client
                .query_typed(
                    "SELECT pg_catalog.pg_advisory_lock($1)",
                    &[(&key, Type::INT8)],
                )
                .await
            {
                self.rollback().await;
                return Err(error::database(
                    Some(&id),
                    Phase::Lock,
                    "keeping the tenant's advisory lock for the steps that run after commit",
                    e,
                ));
            }
        }
        if let Err(e) = client.batch_execute("COMMIT").await {
            if self.deferred.is_empty() {
                self.rollback().await;
            } else if let Some(client) = self.client.take() {
                // Closing the session rolls back and frees its advisory lock.
                drop(Object::take(client));
            }
            return Err(Error::Execute {
                tenant: id,
                step: "commit (deferred constraints are checked here)".into(),
                statement: "COMMIT".into(),
                steps_succeeded: self.steps_applied,
                steps_total: self.steps_applied,
                rolled_back: true,
                source: error::advised(e),
            });
        }
        let outcome = if self.deferred.is_empty() {
            Ok(())
        } else {
            self.run_deferred().await
        };
        // Committed: the connection goes back to the pool.
        self.client = None;
        outcome
    }

    async fn release(mut self: Box<Self>) -> Result<()> {
        self.rollback().await;
        Ok(())
    }
}

impl Drop for PgLock {
    fn drop(&mut self) {
        // Dropped inside its transaction: roll back on a task if the runtime allows,
        // otherwise close the connection, which rolls back on the server.
        if let Some(client) = self.client.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => {
                    handle.spawn(async move {
                        if client.batch_execute("ROLLBACK").await.is_err() {
                            drop(Object::take(client));
                        }
                    });
                }
                Err(_) => drop(Object::take(client)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_per_schema_and_are_stable() {
        assert_eq!(lock_key("tenant_1"), lock_key("tenant_1"));
        assert_ne!(lock_key("tenant_1"), lock_key("tenant_2"));
    }
}
