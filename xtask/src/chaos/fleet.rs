//! A chaos fleet: the bench's generated template and drift, under names of its own, with
//! rows in every table.
//!
//! The schema model, the drift and the DDL come from the bench ([`crate::bench::schema`],
//! [`crate::bench::drift`], [`crate::bench::render`]); the builders are separate because a
//! fault run must never share names with a bench or with another chaos run on the same
//! server. Every name carries the run's random suffix:
//!
//! - PostgreSQL: a database `chaos_<suffix>` holding one schema per tenant (`chaos_t00000`,
//!   ...), so the sessions, locks and scratch schemas of the run are all found by database;
//! - MySQL/MariaDB: databases `chaos_<suffix>_t00000`, ..., and `chaos_<suffix>_home`, the
//!   default database of the CLI's URL, so even its idle sessions are recognisable in
//!   `PROCESSLIST`;
//! - SQLite: files `chaos_t00000.db`, ... in a directory `chaos_<suffix>` under the temp dir.
//!
//! Before each fault the drifted tenants are rebuilt from their drifted DDL and refilled, so
//! every fault meets the same drift; in-sync tenants keep their rows across faults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use mysql_async::prelude::Queryable;

use super::rows;
use crate::bench::drift::Rng;
use crate::bench::fleet::Fleet;
use crate::bench::render::{self, Dialect};
use crate::bench::schema::Schema;
use crate::servers::{self, Database};

/// Per-tenant row checksums: tenant id to the text of every checked row, table by table.
pub type Checksums = BTreeMap<String, String>;

/// A fleet on one database, built under the run's unique names.
#[derive(Debug)]
pub struct ChaosFleet {
    /// Which database.
    pub database: Database,
    /// The run's random suffix, part of every name.
    pub suffix: String,
    /// The schema model and drift.
    pub model: Fleet,
    /// Rows inserted per table.
    pub rows: usize,
    /// The server's own URL (`None` for SQLite).
    pub server_url: Option<String>,
    /// The `--url` the CLI gets.
    pub url: String,
    /// The `--tenant-pattern` that selects exactly this fleet.
    pub pattern: String,
    /// The target DDL file.
    pub target_file: PathBuf,
    /// The SQLite fleet directory (unused elsewhere).
    pub dir: PathBuf,
}

/// A random hex suffix for this run's names.
pub fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = Rng::new(nanos ^ u64::from(std::process::id()).rotate_left(32));
    format!("{:08x}", rng.next_u64() as u32)
}

impl ChaosFleet {
    /// Plans the fleet; nothing is created yet.
    ///
    /// # Errors
    /// When the server URL is missing or malformed.
    pub fn new(
        database: Database,
        server_url: Option<&str>,
        model: Fleet,
        rows: usize,
        workdir: &Path,
        suffix: &str,
    ) -> Result<ChaosFleet> {
        let dir = workdir.join(format!("chaos_{suffix}_{}", database.name()));
        let target_file = workdir.join(format!("target-{}.sql", database.name()));
        let (url, pattern) = match database {
            Database::Sqlite => (
                format!("sqlite://{}", dir.display()),
                "chaos_t[0-9]*".to_string(),
            ),
            Database::Postgres => (
                crate::bench::fleet::postgres::with_database(
                    required(server_url)?,
                    &format!("chaos_{suffix}"),
                )?,
                "chaos_t[0-9]*".to_string(),
            ),
            Database::Mysql => (
                crate::bench::fleet::postgres::with_database(
                    required(server_url)?,
                    &format!("chaos_{suffix}_home"),
                )?,
                format!("chaos_{suffix}_t[0-9]*"),
            ),
        };
        Ok(ChaosFleet {
            database,
            suffix: suffix.to_string(),
            model,
            rows,
            server_url: server_url.map(str::to_string),
            url,
            pattern,
            target_file,
            dir,
        })
    }

    /// The dialect of the DDL.
    pub fn dialect(&self) -> Dialect {
        match self.database {
            Database::Sqlite => Dialect::Sqlite,
            Database::Postgres => Dialect::Postgres,
            Database::Mysql => Dialect::Mysql,
        }
    }

    /// The tenant id of tenant `index`, as the CLI reports it.
    pub fn tenant(&self, index: usize) -> String {
        match self.database {
            Database::Mysql => format!("chaos_{}_t{index:05}", self.suffix),
            _ => format!("chaos_t{index:05}"),
        }
    }

    /// Every tenant id.
    pub fn tenants(&self) -> Vec<String> {
        (0..self.model.tenants).map(|i| self.tenant(i)).collect()
    }

    /// The ids of the drifted tenants.
    pub fn drifted(&self) -> Vec<String> {
        self.model.drifted.keys().map(|&i| self.tenant(i)).collect()
    }

    /// The schema tenant `index` is built with.
    pub fn schema(&self, index: usize) -> &Schema {
        self.model
            .drifted
            .get(&index)
            .map_or(&self.model.template, |(schema, _)| schema)
    }

    /// The PostgreSQL database of the fleet.
    pub fn pg_database(&self) -> String {
        format!("chaos_{}", self.suffix)
    }

    /// Writes the target file and creates every tenant with its rows.
    ///
    /// # Errors
    /// When the server refuses the DDL or the rows; the error names the tenant.
    pub fn create(&self) -> Result<()> {
        std::fs::write(
            &self.target_file,
            render::ddl(&self.model.template, self.dialect()),
        )
        .with_context(|| format!("cannot write {}", self.target_file.display()))?;
        match self.database {
            Database::Sqlite => std::fs::create_dir_all(&self.dir)
                .with_context(|| format!("cannot create {}", self.dir.display()))?,
            Database::Postgres => servers::runtime()?.block_on(async {
                let admin = pg_connect(required(self.server_url.as_deref())?).await?;
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{}\"", self.pg_database()))
                    .await
                    .context("cannot create the chaos database")?;
                let client = pg_connect(&self.url).await?;
                client
                    .batch_execute("DROP SCHEMA IF EXISTS public CASCADE")
                    .await
                    .context("cannot drop schema public of the chaos database")
            })?,
            Database::Mysql => servers::runtime()?.block_on(async {
                let mut conn = my_connect(required(self.server_url.as_deref())?).await?;
                conn.query_drop(format!("CREATE DATABASE `chaos_{}_home`", self.suffix))
                    .await
                    .context("cannot create the chaos home database")?;
                conn.disconnect().await.context("disconnect failed")
            })?,
        }
        let all: Vec<usize> = (0..self.model.tenants).collect();
        self.rebuild(&all)
    }

    /// Rebuilds the drifted tenants from their drifted DDL, with fresh rows.
    ///
    /// # Errors
    /// As [`ChaosFleet::create`].
    pub fn reset_drifted(&self) -> Result<()> {
        let drifted: Vec<usize> = self.model.drifted.keys().copied().collect();
        self.rebuild(&drifted)
    }

    /// Drops and recreates tenants `indexes`, each with its schema and rows.
    fn rebuild(&self, indexes: &[usize]) -> Result<()> {
        let dialect = self.dialect();
        let scripts: Vec<(String, String)> = indexes
            .iter()
            .map(|&i| {
                let schema = self.schema(i);
                let sql = format!(
                    "{}{}",
                    render::ddl(schema, dialect),
                    rows::insert_sql(schema, &self.model.template, dialect, self.rows)
                );
                (self.tenant(i), sql)
            })
            .collect();
        match self.database {
            Database::Sqlite => {
                for (tenant, sql) in scripts {
                    let file = self.dir.join(format!("{tenant}.db"));
                    for extra in ["", "-journal", "-wal", "-shm"] {
                        let path = PathBuf::from(format!("{}{extra}", file.display()));
                        if path.exists() {
                            std::fs::remove_file(&path)
                                .with_context(|| format!("cannot remove {}", path.display()))?;
                        }
                    }
                    let conn = rusqlite::Connection::open(&file)
                        .with_context(|| format!("cannot create {}", file.display()))?;
                    conn.execute_batch(&format!("BEGIN;\n{sql}COMMIT;"))
                        .with_context(|| format!("cannot build tenant {tenant}"))?;
                }
                Ok(())
            }
            Database::Postgres => servers::runtime()?.block_on(async {
                let client = pg_connect(&self.url).await?;
                client
                    .batch_execute("SET synchronous_commit = off")
                    .await
                    .context("cannot set synchronous_commit")?;
                for (tenant, sql) in scripts {
                    client
                        .batch_execute(&format!(
                            "BEGIN;\nDROP SCHEMA IF EXISTS \"{tenant}\" CASCADE;\n\
                             CREATE SCHEMA \"{tenant}\";\n\
                             SET LOCAL search_path TO \"{tenant}\";\n{sql}COMMIT;\n"
                        ))
                        .await
                        .with_context(|| format!("cannot build tenant {tenant}"))?;
                }
                anyhow::Ok(())
            }),
            Database::Mysql => servers::runtime()?.block_on(async {
                let mut conn = my_connect(required(self.server_url.as_deref())?).await?;
                for (tenant, sql) in scripts {
                    conn.query_drop(format!(
                        "DROP DATABASE IF EXISTS `{tenant}`;\nCREATE DATABASE `{tenant}`;\n\
                         USE `{tenant}`;\n{sql}"
                    ))
                    .await
                    .with_context(|| format!("cannot build tenant {tenant}"))?;
                }
                conn.disconnect().await.context("disconnect failed")
            }),
        }
    }

    /// The row checksum of every tenant: the rows of each table the tenant shares with the
    /// template, over the columns both have, as text in id order.
    ///
    /// # Errors
    /// When a table cannot be read; the error names the tenant and table.
    pub fn checksums(&self) -> Result<Checksums> {
        let dialect = self.dialect();
        let queries: Vec<(String, Vec<(String, String)>)> = (0..self.model.tenants)
            .map(|i| {
                let tenant = self.tenant(i);
                let queries =
                    rows::checksum_queries(self.schema(i), &self.model.template, dialect, &tenant);
                (tenant, queries)
            })
            .collect();
        let mut sums = Checksums::new();
        match self.database {
            Database::Sqlite => {
                for (tenant, queries) in queries {
                    let file = self.dir.join(format!("{tenant}.db"));
                    let conn = rusqlite::Connection::open_with_flags(
                        &file,
                        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
                    )
                    .with_context(|| format!("cannot open {}", file.display()))?;
                    let mut text = String::new();
                    for (table, query) in queries {
                        let mut statement = conn
                            .prepare(&query)
                            .with_context(|| format!("tenant {tenant}: cannot read {table}"))?;
                        let lines = statement
                            .query_map([], |row| row.get::<_, String>(0))
                            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                            .with_context(|| format!("tenant {tenant}: cannot read {table}"))?;
                        push_table(&mut text, &table, &lines);
                    }
                    sums.insert(tenant, text);
                }
            }
            Database::Postgres => servers::runtime()?.block_on(async {
                let client = pg_connect(&self.url).await?;
                for (tenant, queries) in queries {
                    let mut text = String::new();
                    for (table, query) in queries {
                        let lines: Vec<String> = client
                            .query(&query, &[])
                            .await
                            .with_context(|| format!("tenant {tenant}: cannot read {table}"))?
                            .iter()
                            .map(|row| row.try_get::<_, String>(0))
                            .collect::<Result<_, _>>()
                            .with_context(|| format!("tenant {tenant}: cannot read {table}"))?;
                        push_table(&mut text, &table, &lines);
                    }
                    sums.insert(tenant, text);
                }
                anyhow::Ok(())
            })?,
            Database::Mysql => servers::runtime()?.block_on(async {
                let mut conn = my_connect(required(self.server_url.as_deref())?).await?;
                for (tenant, queries) in queries {
                    let mut text = String::new();
                    for (table, query) in queries {
                        let lines: Vec<String> = conn
                            .query(query)
                            .await
                            .with_context(|| format!("tenant {tenant}: cannot read {table}"))?;
                        push_table(&mut text, &table, &lines);
                    }
                    sums.insert(tenant, text);
                }
                conn.disconnect().await.context("disconnect failed")
            })?,
        }
        Ok(sums)
    }

    /// Drops everything of the fleet: the PostgreSQL database, the MySQL databases named
    /// with the suffix and the scratch databases of the CLI processes in `cli_pids`, or
    /// the SQLite directory.
    ///
    /// # Errors
    /// When the server refuses.
    pub fn destroy(&self, cli_pids: &[u32]) -> Result<()> {
        match self.database {
            Database::Sqlite => {
                if self.dir.exists() {
                    std::fs::remove_dir_all(&self.dir)
                        .with_context(|| format!("cannot remove {}", self.dir.display()))?;
                }
                Ok(())
            }
            Database::Postgres => servers::runtime()?.block_on(async {
                let admin = pg_connect(required(self.server_url.as_deref())?).await?;
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                        self.pg_database()
                    ))
                    .await
                    .context("cannot drop the chaos database")
            }),
            Database::Mysql => servers::runtime()?.block_on(async {
                let mut conn = my_connect(required(self.server_url.as_deref())?).await?;
                let mut names: Vec<String> = conn
                    .exec(
                        "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?",
                        (format!("chaos\\_{}\\_%", self.suffix),),
                    )
                    .await
                    .context("cannot list the chaos databases")?;
                names.extend(mysql_scratch_databases(&mut conn, cli_pids).await?);
                for name in names {
                    conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await
                        .with_context(|| format!("cannot drop database {name}"))?;
                }
                conn.disconnect().await.context("disconnect failed")
            }),
        }
    }
}

/// The `LIKE` pattern of the MySQL scratch databases of CLI process `pid`
/// (`schema_sync_scratch_<pid in hex>_...`, see the MySQL adapter's `target.rs`).
fn mysql_scratch_like(pid: u32) -> String {
    format!("schema\\_sync\\_scratch\\_{pid:x}\\_%")
}

/// The MySQL scratch databases that the CLI processes `pids` created and that still exist.
///
/// # Errors
/// When the server cannot list its databases.
pub async fn mysql_scratch_databases(
    conn: &mut mysql_async::Conn,
    pids: &[u32],
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for pid in pids {
        let scratch: Vec<String> = conn
            .exec(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?",
                (mysql_scratch_like(*pid),),
            )
            .await
            .context("cannot list scratch databases")?;
        names.extend(scratch);
    }
    Ok(names)
}

fn push_table(text: &mut String, table: &str, lines: &[String]) {
    text.push_str(table);
    text.push_str(&format!(" ({} rows)\n", lines.len()));
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
}

fn required(url: Option<&str>) -> Result<&str> {
    match url {
        Some(url) => Ok(url),
        None => bail!("no server URL"),
    }
}

/// A PostgreSQL connection whose driver task runs on the current runtime.
///
/// # Errors
/// When the server does not accept the login.
pub async fn pg_connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to {}", servers::redact(url)))?;
    tokio::spawn(connection);
    Ok(client)
}

/// A MySQL connection.
///
/// # Errors
/// When the URL is invalid or the server does not accept the login.
pub async fn my_connect(url: &str) -> Result<mysql_async::Conn> {
    let opts = mysql_async::Opts::from_url(url).context("invalid MySQL URL")?;
    mysql_async::Conn::new(opts)
        .await
        .with_context(|| format!("cannot connect to {}", servers::redact(url)))
}
