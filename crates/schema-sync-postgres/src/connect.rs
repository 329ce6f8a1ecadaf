//! Opening connections: URL parsing, TLS (`connect/tls.rs`), the adapter's pool and its
//! server version check, and [`connect_client`], the one way another crate (the
//! PostgreSQL snapshot store) opens a connection, so the security code exists once.

mod tls;

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use schema_sync_core::{ConnectOptions, Error, Result, redact_url};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

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
/// `sslmode` (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and
/// `sslrootcert` are honoured as libpq does (see [`connect_client`]).
///
/// # Errors
/// [`Error::Config`] for a URL that is not a PostgreSQL URL or does not parse, or an
/// unreadable `sslrootcert`;
/// [`Error::Connection`] (naming the URL without its password) when the server cannot
/// be reached, refuses the login, or is too old.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<PostgresAdapter> {
    let Parsed {
        mut config,
        tls,
        target,
    } = parse(url, "schema-sync")?;
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
    let manager = match tls {
        None => Manager::from_config(config, NoTls, manager_config),
        Some(tls) => Manager::from_config(config, tls, manager_config),
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
        include_privileges: options.include_privileges,
        inspect_timeouts: inspect::Timeouts {
            lock: options.lock_timeout,
            statement: options.statement_timeout,
        },
        shape_cache: Default::default(),
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

/// Opens one connection to the PostgreSQL server at `url` (`postgres://` or
/// `postgresql://`), with TLS as libpq's parameters ask and the connection task spawned
/// on the current tokio runtime (it ends when the client is dropped; its errors surface
/// as failed queries).
///
/// TLS follows `sslmode` as libpq does: `disable` never encrypts, `prefer` (the default)
/// encrypts when the server offers it, `require` insists on it, none of them checking
/// the certificate; `verify-ca` checks that the certificate chains to a trusted root and
/// `verify-full` also that it names the host. The trusted roots are the PEM file
/// `sslrootcert=PATH`, or the Mozilla roots without it (or with `sslrootcert=system`).
/// `application_name` is set unless the URL sets one; the connect timeout is 10 s unless
/// the URL sets `connect_timeout`.
///
/// # Errors
/// [`Error::Config`] for a URL that is not a PostgreSQL URL or does not parse, or an
/// unreadable `sslrootcert`; [`Error::Connection`] (naming the URL without its password,
/// with advice) when the server cannot be reached, refuses the login or its certificate.
pub async fn connect_client(url: &str, application_name: &str) -> Result<Client> {
    let Parsed {
        config,
        tls,
        target,
    } = parse(url, application_name)?;
    let client = match tls {
        None => {
            let (client, connection) = config
                .connect(NoTls)
                .await
                .map_err(|e| error::connection_error(&target, e))?;
            tokio::spawn(connection);
            client
        }
        Some(tls) => {
            let (client, connection) = config
                .connect(tls)
                .await
                .map_err(|e| error::connection_error(&target, e))?;
            tokio::spawn(connection);
            client
        }
    };
    Ok(client)
}

/// A URL ready for tokio-postgres.
struct Parsed {
    config: Config,
    /// The connector `sslmode` asks for; `None` under `disable`.
    tls: Option<MakeRustlsConnect>,
    /// The URL without its password, for messages.
    target: String,
}

/// Parses `url`, takes the TLS settings tokio-postgres does not know off it, and sets
/// `application_name` and a 10 s connect timeout unless the URL sets them.
fn parse(url: &str, application_name: &str) -> Result<Parsed> {
    let target = redact_url(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::config(format!(
            "{target} is not a PostgreSQL URL; use postgres://user@host:5432/database"
        )));
    }
    let (url, settings) = tls::split_tls(url);
    let mut config = Config::from_str(&url).map_err(|e| {
        Error::config(format!(
            "cannot parse the PostgreSQL URL {target}: {e}; see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING"
        ))
    })?;
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let tls = if config.get_ssl_mode() == SslMode::Disable {
        None
    } else {
        Some(
            tls::connector(&settings)
                .map_err(|message| Error::config(format!("{target}: {message}")))?,
        )
    };
    Ok(Parsed {
        config,
        tls,
        target,
    })
}
