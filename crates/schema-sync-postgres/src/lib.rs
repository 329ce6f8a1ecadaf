//! The PostgreSQL adapter of schema-sync: one schema per tenant.
//!
//! # Shape
//!
//! A tenant is a schema (`tenants.rs`); the tenant id is the schema name. Everything the
//! adapter does is scoped by a [`TenantContext`] and every identifier it sends is quoted,
//! so tenant names with quotes, spaces, dots or unicode are safe.
//!
//! **Inspection** (`inspect.rs`, `catalog.rs`) reads `pg_catalog` for a whole batch of
//! schemas in a fixed number of round trips: the catalog queries filter by arrays of
//! namespace and relation oids, and the text PostgreSQL deparses (defaults, checks,
//! index expressions, view bodies, functions, triggers) is produced in one simple-protocol
//! message that pins `search_path` to each tenant in turn. Pinning is what makes
//! snapshots tenant-relative without rewriting text: the tenant's own objects print
//! unqualified, objects of other schemas (`public.citext`) stay qualified, and a clone of
//! a template inspects byte-identical to it. The two parts of a function definition that
//! PostgreSQL stores as written (a `SET search_path` option and a string body) may still
//! name the tenant's schema; `relative.rs` swaps it for a stand-in that the renderer
//! turns into the synced tenant's schema. Types are normalised from `pg_type` and
//! `atttypmod` (`types.rs`), never by re-parsing `format_type` output. Deparsing takes a
//! share lock on each table and view, so a tenant someone holds `ACCESS EXCLUSIVE` would
//! stall the batch: inspection runs under the lock and statement timeouts of
//! [`ConnectOptions`], and a batch that times out is inspected again tenant by tenant, so
//! only the locked tenant fails (with [`Error::Lock`]).
//!
//! **The target from SQL** (`target.rs`) is loaded by letting PostgreSQL parse it: the DDL
//! runs in a uniquely named scratch schema inside a transaction, is inspected in that
//! transaction and rolled back.
//!
//! **Execution** (`runner.rs`, `render.rs`) renders each plan step to DDL and runs a
//! tenant's whole plan in one transaction: `pg_advisory_xact_lock` keyed by the tenant
//! serialises concurrent runs, `SET LOCAL lock_timeout`/`statement_timeout` bound the
//! waits, and any failure rolls the tenant back whole (PostgreSQL DDL is transactional).
//!
//! **Connections** come from a deadpool pool of `max_connections`. In read-only mode
//! (audit) every session starts with `default_transaction_read_only = on` and the runner
//! refuses to lock, so nothing can be written and a role that can only read the catalog
//! is enough. TLS follows `sslmode` with rustls (`tls.rs`). Passwords never reach an error
//! or a log: connection errors carry the URL through [`redact_url`].
#![deny(missing_docs)]

mod catalog;
mod error;
mod inspect;
mod privileges;
mod relative;
mod render;
mod runner;
mod target;
mod tenants;
mod tls;
mod types;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, Error, MigrationRunner, Result, SchemaInspector,
    SchemaSnapshot, TenantId, redact_url,
};
use tokio_postgres::config::SslMode;

/// The oldest server version supported (`server_version_num`): generated columns and
/// `pg_get_functiondef` of procedures need PostgreSQL 12.
const MIN_SERVER_VERSION: i32 = 120_000;

/// The PostgreSQL adapter: tenant discovery, inspection and migration on one server.
///
/// Built by [`connect`]. It implements [`DatabaseAdapter`], [`SchemaInspector`] and
/// [`MigrationRunner`]; [`inspector`](DatabaseAdapter::inspector) and
/// [`runner`](DatabaseAdapter::runner) return the adapter itself.
pub struct PostgresAdapter {
    pool: Pool,
    /// The URL with the password removed, for messages.
    target: String,
    read_only: bool,
    server_version: i32,
    /// Timeouts set in every inspection transaction.
    inspect_timeouts: inspect::Timeouts,
}

impl std::fmt::Debug for PostgresAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAdapter")
            .field("target", &self.target)
            .field("read_only", &self.read_only)
            .field("server_version", &self.server_version)
            .field("inspect_timeouts", &self.inspect_timeouts)
            .finish_non_exhaustive()
    }
}

/// Connects to the PostgreSQL server at `url` (`postgres://` or `postgresql://`).
///
/// Builds a pool of `options.max_connections` and checks that the server answers and is
/// PostgreSQL 12 or newer. With `options.read_only`, every session is read-only.
/// `options.lock_timeout` and `options.statement_timeout` bound every inspection: a tenant
/// whose catalog read waits longer (a table of it is locked) fails alone with
/// [`Error::Lock`].
/// `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) is honoured.
///
/// # Errors
/// [`Error::Config`] for a URL that is not a PostgreSQL URL or does not parse;
/// [`Error::Connection`] (naming the URL without its password) when the server cannot
/// be reached, refuses the login, or is too old.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresAdapter> {
    let target = redact_url(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::config(format!(
            "{target} is not a PostgreSQL URL; use postgres://user@host:5432/database"
        )));
    }
    let (url, verification) = tls::split_verification(url);
    let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
        Error::config(format!(
            "cannot parse the PostgreSQL URL {target}: {e}; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING"
        ))
    })?;
    if config.get_application_name().is_none() {
        config.application_name("schema-sync");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    if options.read_only {
        let mut session = config.get_options().unwrap_or_default().to_string();
        if !session.is_empty() {
            session.push(' ');
        }
        session.push_str("-c default_transaction_read_only=on");
        config.options(&session);
    }
    let manager_config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = if config.get_ssl_mode() == SslMode::Disable {
        Manager::from_config(config, tokio_postgres::NoTls, manager_config)
    } else {
        let tls = tls::connector(verification)
            .map_err(|message| error::connection_message(&target, message))?;
        Manager::from_config(config, tls, manager_config)
    };
    let pool = Pool::builder(manager)
        .max_size(options.max_connections.max(1))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|e| {
            Error::config(format!(
                "cannot build the connection pool for {target}: {e}"
            ))
        })?;

    let client = pool
        .get()
        .await
        .map_err(|e| error::pool_error(&target, e))?;
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| error::connection_error(&target, e))?;
    let server_version: i32 = row
        .try_get(0)
        .map_err(|e| error::connection_error(&target, e))?;
    drop(client);
    if server_version < MIN_SERVER_VERSION {
        return Err(error::connection_message(
            &target,
            format!(
                "the server runs PostgreSQL {}.{}; schema-sync needs PostgreSQL 12 or newer",
                server_version / 10_000,
                server_version % 10_000
            ),
        ));
    }
    Ok(PostgresAdapter {
        pool,
        target,
        read_only: options.read_only,
        server_version,
        inspect_timeouts: inspect::Timeouts {
            lock: options.lock_timeout,
            statement: options.statement_timeout,
        },
    })
}

impl PostgresAdapter {
    /// A pooled connection, or a connection error naming the server.
    async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| error::pool_error(&self.target, e))
    }
}

#[async_trait]
impl DatabaseAdapter for PostgresAdapter {
    fn name(&self) -> &'static str {
        "postgres"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        let client = self.client().await?;
        tenants::list(&client).await
    }

    fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        tenants::namespace_of(tenant)
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        target::snapshot_from_sql(self, sql).await
    }
}
