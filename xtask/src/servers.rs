//! Finding a database server to test or benchmark against.
//!
//! For PostgreSQL and MySQL the order is fixed: the URL in `SCHEMA_SYNC_TEST_*_URL` when
//! it is set (and then only that: a URL the user named is never silently replaced), else
//! the local server on its standard port, else a throwaway container when a Docker engine
//! answers. A server counts as reachable only after a TCP connect *and* a real login that
//! runs `SELECT 1`, so a port held by something else is not mistaken for a database.
//!
//! The Docker fallback uses the `testcontainers` crate (with testcontainers-modules'
//! PostgreSQL and MariaDB images) behind xtask's `containers` feature, because its Docker
//! API client and HTTP stack cost more to compile than the rest of xtask together: CI,
//! which has local servers, only compile-checks it. A user with Docker and no local
//! servers runs `cargo xtask-docker test` (an alias for xtask with that feature).

use std::fmt;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::ValueEnum;

use crate::cmd;

/// How long one probe may take, connect and login together.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// A database the project supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Database {
    /// SQLite, bundled into the binary: always available.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Database {
    /// Every database, in the order the matrix reports them.
    pub const ALL: [Database; 3] = [Database::Sqlite, Database::Postgres, Database::Mysql];

    /// Lowercase name, as `--db` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Database::Sqlite => "sqlite",
            Database::Postgres => "postgres",
            Database::Mysql => "mysql",
        }
    }

    /// The environment variable that names this database's test server.
    pub fn env_var(self) -> Option<&'static str> {
        match self {
            Database::Sqlite => None,
            Database::Postgres => Some("SCHEMA_SYNC_TEST_PG_URL"),
            Database::Mysql => Some("SCHEMA_SYNC_TEST_MYSQL_URL"),
        }
    }

    /// The URL of the local server this machine runs.
    pub fn local_url(self) -> Option<&'static str> {
        match self {
            Database::Sqlite => None,
            Database::Postgres => Some("postgres://postgres@127.0.0.1:5432/test"),
            Database::Mysql => Some("mysql://root@127.0.0.1:3306/test"),
        }
    }

    /// The adapter crate whose integration tests need this database.
    pub fn adapter_package(self) -> &'static str {
        match self {
            Database::Sqlite => "schema-sync-sqlite",
            Database::Postgres => "schema-sync-postgres",
            Database::Mysql => "schema-sync-mysql",
        }
    }

    /// How to start the local server, for error messages.
    pub fn start_hint(self) -> &'static str {
        match self {
            Database::Sqlite => "nothing to start: SQLite is bundled",
            Database::Postgres => {
                "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                 (or run `bash .ci/run`), or set SCHEMA_SYNC_TEST_PG_URL"
            }
            Database::Mysql => {
                "start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` \
                 (or run `bash .ci/run`), or set SCHEMA_SYNC_TEST_MYSQL_URL"
            }
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a reachable server came from.
#[derive(Debug)]
pub enum Source {
    /// SQLite: nothing to reach.
    Bundled,
    /// The `SCHEMA_SYNC_TEST_*_URL` variable.
    Env,
    /// The local server on the standard port.
    Local,
    /// A container this process started; removed when dropped.
    Docker(Box<crate::containers::Container>),
}

/// A server that accepted a login.
#[derive(Debug)]
pub struct Server {
    /// Which database.
    pub database: Database,
    /// Its URL; `None` for SQLite.
    pub url: Option<String>,
    /// Where it came from.
    pub source: Source,
}

impl Server {
    /// One line saying where the server came from, password masked.
    pub fn describe(&self) -> String {
        let url = self.url.as_deref().map(redact).unwrap_or_default();
        match &self.source {
            Source::Bundled => "bundled SQLite (always available)".to_string(),
            Source::Env => format!("{} {url}", self.database.env_var().unwrap_or("environment")),
            Source::Local => format!("local server {url}"),
            Source::Docker(container) => format!("docker container {container} at {url}"),
        }
    }
}

/// One place that was tried and did not answer.
#[derive(Debug)]
pub struct Attempt {
    /// What was tried (`local server`, `docker`).
    pub what: String,
    /// Why it failed.
    pub error: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.error)
    }
}

/// Looks for a reachable server for `database`, in the documented order.
///
/// Returns the server, or every attempt that failed.
pub fn find(database: Database) -> std::result::Result<Server, Vec<Attempt>> {
    let (Some(env_var), Some(local_url)) = (database.env_var(), database.local_url()) else {
        return Ok(Server {
            database,
            url: None,
            source: Source::Bundled,
        });
    };
    if let Some(url) = std::env::var(env_var).ok().filter(|u| !u.trim().is_empty()) {
        // The user named this server: use it or report it, never fall back.
        return match probe(database, &url) {
            Ok(()) => Ok(Server {
                database,
                url: Some(url),
                source: Source::Env,
            }),
            Err(error) => Err(vec![Attempt {
                what: format!("{env_var}={}", redact(&url)),
                error: format!("{error:#}"),
            }]),
        };
    }
    let mut attempts = vec![Attempt {
        what: env_var.to_string(),
        error: "not set".into(),
    }];
    match probe(database, local_url) {
        Ok(()) => {
            return Ok(Server {
                database,
                url: Some(local_url.to_string()),
                source: Source::Local,
            });
        }
        Err(error) => attempts.push(Attempt {
            what: format!("local server {local_url}"),
            error: format!("{error:#}"),
        }),
    }
    if !cmd::succeeds(Command::new("docker").arg("info")) {
        attempts.push(Attempt {
            what: "docker".into(),
            error: "no Docker engine answers (`docker info` failed)".into(),
        });
        return Err(attempts);
    }
    match crate::containers::start(database) {
        Ok((container, url)) => Ok(Server {
            database,
            url: Some(url),
            source: Source::Docker(Box::new(container)),
        }),
        Err(error) => {
            attempts.push(Attempt {
                what: "docker".into(),
                error: format!("{error:#}"),
            });
            Err(attempts)
        }
    }
}

/// Connects over TCP, logs in and runs `SELECT 1`.
///
/// # Errors
/// When the URL does not parse, nothing listens, or the login or query fails.
pub fn probe(database: Database, url: &str) -> Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async {
        tokio::time::timeout(PROBE_TIMEOUT, probe_async(database, url))
            .await
            .map_err(|_| anyhow!("no answer within {}s", PROBE_TIMEOUT.as_secs()))?
    })
}

async fn probe_async(database: Database, url: &str) -> Result<()> {
    match database {
        Database::Sqlite => Ok(()),
        Database::Postgres => {
            let config: tokio_postgres::Config = url.parse().context("invalid PostgreSQL URL")?;
            for (index, host) in config.get_hosts().iter().enumerate() {
                if let tokio_postgres::config::Host::Tcp(name) = host {
                    let port = config.get_ports().get(index).copied().unwrap_or(5432);
                    tcp_connect(name, port)?;
                }
            }
            let (client, connection) = config
                .connect(tokio_postgres::NoTls)
                .await
                .context("login failed")?;
            let driver = tokio::spawn(connection);
            client
                .simple_query("SELECT 1")
                .await
                .context("SELECT 1 failed")?;
            drop(client);
            let _ = driver.await;
            Ok(())
        }
        Database::Mysql => {
            use mysql_async::prelude::Queryable;
            let opts = mysql_async::Opts::from_url(url).context("invalid MySQL URL")?;
            tcp_connect(opts.ip_or_hostname(), opts.tcp_port())?;
            let mut conn = mysql_async::Conn::new(opts).await.context("login failed")?;
            conn.query_drop("SELECT 1")
                .await
                .context("SELECT 1 failed")?;
            conn.disconnect().await.context("disconnect failed")?;
            Ok(())
        }
    }
}

fn tcp_connect(host: &str, port: u16) -> Result<()> {
    let addresses: Vec<_> = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    let mut last = None;
    for address in addresses {
        match TcpStream::connect_timeout(&address, PROBE_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(error) => last = Some(error),
        }
    }
    match last {
        Some(error) => Err(error).with_context(|| format!("cannot connect to {host}:{port}")),
        None => bail!("{host} resolves to no address"),
    }
}

/// A current-thread tokio runtime for the drivers.
///
/// # Errors
/// When the runtime cannot be built (no threads or no I/O driver).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start a tokio runtime")
}

/// `url` with the password, if any, replaced by `***` (core's redaction, so xtask and the
/// CLI never disagree about what is secret).
pub fn redact(url: &str) -> String {
    schema_sync_core::redact_url(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_only_the_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("mysql://root@127.0.0.1:3306/test"),
            "mysql://root@127.0.0.1:3306/test"
        );
        assert_eq!(redact("sqlite:///tmp/x"), "sqlite:///tmp/x");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(redact("postgres://h/db?x=a@b"), "postgres://h/db?x=a@b");
    }
}
