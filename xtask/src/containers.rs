//! Throwaway database containers for machines with Docker and no local servers.
//!
//! With the `containers` feature, testcontainers starts the official PostgreSQL or MariaDB
//! image (through testcontainers-modules) and removes it when the [`Container`] is dropped
//! at the end of the run. Without the feature this module only says how to get it, so the
//! default build of xtask never compiles a Docker client.

use std::fmt;

use anyhow::Result;

use crate::servers::Database;

/// A running container, removed when dropped.
pub struct Container {
    #[cfg(feature = "containers")]
    inner: running::Running,
    image: &'static str,
}

impl fmt::Debug for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Container")
            .field("image", &self.image)
            .finish()
    }
}

impl fmt::Display for Container {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        #[cfg(feature = "containers")]
        {
            write!(f, "{} ({})", self.inner.id(), self.image)
        }
        #[cfg(not(feature = "containers"))]
        {
            f.write_str(self.image)
        }
    }
}

/// Starts a container for `database` and returns it with the URL that logs in to it.
///
/// # Errors
/// When xtask was built without the `containers` feature, or the container does not start
/// or never accepts a login.
pub fn start(database: Database) -> Result<(Container, String)> {
    #[cfg(feature = "containers")]
    {
        let (inner, image, url) = running::start(database)?;
        wait_for_login(database, &url)?;
        Ok((Container { inner, image }, url))
    }
    #[cfg(not(feature = "containers"))]
    {
        anyhow::bail!(
            "a Docker engine answers, but this xtask was built without the `containers` feature; \
             run `cargo xtask-docker test` to start a {} container",
            database.name()
        )
    }
}

#[cfg(feature = "containers")]
fn wait_for_login(database: Database, url: &str) -> Result<()> {
    use std::time::{Duration, Instant};

    use anyhow::Context;

    /// How long a fresh container may take to accept a login after its ready signal.
    const READY_TIMEOUT: Duration = Duration::from_secs(60);
    let started = Instant::now();
    loop {
        match crate::servers::probe(database, url) {
            Ok(()) => return Ok(()),
            Err(error) if started.elapsed() > READY_TIMEOUT => {
                return Err(error).with_context(|| {
                    format!(
                        "the {} container did not accept a login within {}s",
                        database.name(),
                        READY_TIMEOUT.as_secs()
                    )
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

#[cfg(feature = "containers")]
mod running {
    use anyhow::{Context, Result, bail};
    use testcontainers_modules::mariadb::Mariadb;
    use testcontainers_modules::postgres::Postgres;
    use testcontainers_modules::testcontainers::Container;
    use testcontainers_modules::testcontainers::runners::SyncRunner;

    use crate::servers::Database;

    /// The container of one database kind.
    pub enum Running {
        Postgres(Container<Postgres>),
        Mariadb(Container<Mariadb>),
    }

    impl Running {
        pub fn id(&self) -> &str {
            let id = match self {
                Running::Postgres(c) => c.id(),
                Running::Mariadb(c) => c.id(),
            };
            id.get(..12).unwrap_or(id)
        }
    }

    /// Starts the image for `database`: trust auth (PostgreSQL) or a root login without a
    /// password (MariaDB), and a database named `test`, like the local servers.
    pub fn start(database: Database) -> Result<(Running, &'static str, String)> {
        eprintln!("xtask: starting a {database} container with testcontainers");
        match database {
            Database::Postgres => {
                let container = Postgres::default()
                    .with_host_auth()
                    .with_db_name("test")
                    .start()
                    .context("the PostgreSQL container did not start")?;
                let port = container.get_host_port_ipv4(5432)?;
                let url = format!("postgres://postgres@127.0.0.1:{port}/test");
                Ok((Running::Postgres(container), "postgres", url))
            }
            Database::Mysql => {
                let container = Mariadb::default()
                    .start()
                    .context("the MariaDB container did not start")?;
                let port = container.get_host_port_ipv4(3306)?;
                let url = format!("mysql://root@127.0.0.1:{port}/test");
                Ok((Running::Mariadb(container), "mariadb", url))
            }
            Database::Sqlite => bail!("SQLite needs no container"),
        }
    }
}
