//! Opening the connection pool: URL parsing, pool options, and which server answers.
//!
//! `mariadb://` URLs are read as `mysql://` ones. The server's `SELECT VERSION()` decides
//! the [`Flavor`] (MySQL or MariaDB) and version, which the catalog queries and the
//! renderer consult where the two servers differ.

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};
use schema_sync_core::{ConnectOptions, Error, Phase, Result, TenantId, redact_url};

use crate::error;

/// Which server family answers: the catalogs and some DDL differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// MariaDB.
    MariaDb,
    /// MySQL (8.0 and later).
    MySql,
}

/// The server family and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerInfo {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version (MySQL 8.0 added features in patch releases).
    pub patch: u32,
}

impl ServerInfo {
    /// Reads `SELECT VERSION()` output such as `10.11.6-MariaDB-0+deb12u1` or `8.0.36`.
    pub(crate) fn parse(version: &str) -> Self {
        let flavor = if version.to_ascii_lowercase().contains("mariadb") {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        };
        let mut numbers = version
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u32>().ok());
        // MariaDB behind old replication proxies reports `5.5.5-10.11.6-MariaDB`.
        let (mut major, mut minor, mut patch) = (
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
            numbers.next().unwrap_or(0),
        );
        if flavor == Flavor::MariaDb && version.starts_with("5.5.5-") {
            major = numbers.next().unwrap_or(major);
            minor = numbers.next().unwrap_or(minor);
            patch = numbers.next().unwrap_or(patch);
        }
        Self {
            flavor,
            major,
            minor,
            patch,
        }
    }

    /// Whether this server is at least `major.minor`.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// Whether this server is at least `major.minor.patch`.
    pub fn at_least_patch(&self, major: u32, minor: u32, patch: u32) -> bool {
        (self.major, self.minor, self.patch) >= (major, minor, patch)
    }
}

/// An open pool on one server, and what is known about that server.
pub(crate) struct Server {
    /// The connection pool.
    pub pool: Pool,
    /// The server family and version.
    pub info: ServerInfo,
    /// Whether the connection was opened read-only (audit).
    pub read_only: bool,
    /// The URL, password removed, for messages.
    pub url: Arc<str>,
}

/// How long the first connection may take, handshake and login included.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens a pool on the server at `url` (`mysql://` or `mariadb://`) and checks that it
/// answers.
///
/// # Errors
/// [`Error::Config`] for a URL that is not a MySQL URL; [`Error::Connection`] naming the
/// URL (password removed) when the server cannot be reached, refuses the login, or does
/// not speak MySQL's protocol within [`CONNECT_TIMEOUT`].
pub(crate) async fn open(url: &str, options: &ConnectOptions) -> Result<Server> {
    let redacted = redact_url(url);
    let opts = parse_url(url)?;
    let max = options.max_connections.max(1);
    let constraints = PoolConstraints::new(0, max)
        .ok_or_else(|| Error::config(format!("invalid pool size {max}")))?;
    let opts =
        OptsBuilder::from_opts(opts).pool_opts(PoolOpts::default().with_constraints(constraints));
    let pool = Pool::new(opts);
    let version: Option<String> = first_contact(&redacted, async {
        let mut conn = pool.get_conn().await?;
        conn.query_first("SELECT VERSION()").await
    })
    .await?;
    Ok(Server {
        pool,
        info: ServerInfo::parse(version.as_deref().unwrap_or_default()),
        read_only: options.read_only,
        url: redacted.into(),
    })
}

/// Reads a `mysql://` or `mariadb://` URL into the driver's options.
///
/// # Errors
/// [`Error::Config`] naming the URL (password removed) when it is not a MySQL URL or
/// the driver cannot read it.
pub fn parse_url(url: &str) -> Result<Opts> {
    let redacted = redact_url(url);
    let driver_url = if let Some(rest) = url.strip_prefix("mariadb://") {
        format!("mysql://{rest}")
    } else if url.starts_with("mysql://") {
        url.to_string()
    } else {
        return Err(Error::config(format!(
            "{redacted} is not a MySQL URL; use mysql://user:password@host:port/database or mariadb://..."
        )));
    };
    Opts::from_url(&driver_url).map_err(|e| {
        Error::config(format!(
            "invalid MySQL URL {redacted}: {e}; use mysql://user:password@host:port/database"
        ))
    })
}

/// Opens one connection, outside any pool, for a caller that keeps one session (the
/// run ledger). `redacted_url` names the server in errors.
///
/// # Errors
/// [`Error::Connection`] naming `redacted_url` when the server cannot be reached,
/// refuses the login, or does not speak MySQL's protocol within ten seconds.
pub async fn connect_conn(opts: Opts, redacted_url: &str) -> Result<Conn> {
    first_contact(redacted_url, Conn::new(opts)).await
}

/// Awaits the first exchange with a server, within [`CONNECT_TIMEOUT`].
async fn first_contact<T>(
    redacted_url: &str,
    contact: impl Future<Output = mysql_async::Result<T>>,
) -> Result<T> {
    // A server of another kind on that port (PostgreSQL waits for the client to speak
    // first, as MySQL's protocol has the server speak first) would wait forever.
    tokio::time::timeout(CONNECT_TIMEOUT, contact)
        .await
        .map_err(|_| Error::Connection {
            target: redacted_url.to_string(),
            source: format!(
                "no MySQL handshake within {}s; check that the URL names a MySQL or MariaDB server",
                CONNECT_TIMEOUT.as_secs()
            )
            .into(),
        })?
        .map_err(|e| error::connection(redacted_url, e))
}

impl Server {
    /// A pooled connection, for `phase` of `tenant`.
    ///
    /// # Errors
    /// A database error naming the server when no connection can be had.
    pub(crate) async fn conn(&self, tenant: Option<&TenantId>, phase: Phase) -> Result<Conn> {
        self.pool.get_conn().await.map_err(|e| {
            error::database(
                tenant,
                phase,
                format!("get a connection to {}", self.url),
                e,
            )
        })
    }

    /// Refuses writes through a read-only connection.
    ///
    /// # Errors
    /// [`Error::Config`] saying that the connection is read-only.
    pub(crate) fn ensure_writable(&self, what: &str) -> Result<()> {
        if self.read_only {
            return Err(Error::config(format!(
                "cannot {what}: the connection to {} was opened read-only (audit); open it without read_only",
                self.url
            )));
        }
        Ok(())
    }

    /// Closes every pooled connection.
    ///
    /// # Errors
    /// A driver error while closing.
    pub(crate) async fn disconnect(self) -> Result<()> {
        self.pool
            .disconnect()
            .await
            .map_err(|e| error::database(None, Phase::Execute, "disconnect", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_server_versions() {
        let maria = ServerInfo::parse("10.11.19-MariaDB-0+deb12u1");
        assert_eq!(maria.flavor, Flavor::MariaDb);
        assert!(maria.at_least(10, 6) && !maria.at_least(11, 0));
        let proxied = ServerInfo::parse("5.5.5-10.6.12-MariaDB");
        assert_eq!((proxied.major, proxied.minor, proxied.patch), (10, 6, 12));
        let mysql = ServerInfo::parse("8.0.36");
        assert_eq!(mysql.flavor, Flavor::MySql);
        assert!(mysql.at_least(8, 0));
        assert!(mysql.at_least_patch(8, 0, 23) && !mysql.at_least_patch(8, 0, 37));
    }
}
