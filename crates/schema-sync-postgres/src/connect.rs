//! Opening the adapter: URL parsing, the connection pool, TLS (`connect/tls.rs`) and the
//! server version check.

mod tls;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use schema_sync_core::{ConnectOptions, Error, Result, redact_url};
use tokio_postgres::config::SslMode;

use crate::{PostgresAdapter, error, inspect};

/// The oldest server version supported (`server_version_num`): generated columns and
/// `pg_get_functiondef` of procedures need PostgreSQL 12.
const MIN_SERVER_VERSION: i32 = 120_000;

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
    pub(crate) async fn client(&self) -> Result<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| error::pool_error(&self.target, e))
    }
}
