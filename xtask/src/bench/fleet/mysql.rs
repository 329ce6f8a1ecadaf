//! A MySQL/MariaDB fleet: one database per tenant.
//!
//! Databases are server-wide, so the fleet shares the server with whatever else is there
//! and is found by name: leftovers matching `bench_t%` (which includes the template
//! database `bench_template`) are dropped before and after. Each
//! tenant is one multi-statement query (`CREATE DATABASE; USE; CREATE TABLE ...`) on one of
//! [`CONNECTIONS`] connections. Expect this to be the slowest fleet to build: InnoDB
//! creates a file per table, so the cost is the file system's, not the round trips'.

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use tokio::task::JoinSet;

use super::{Built, Fleet, TEMPLATE, TENANT_PREFIX};
use crate::bench::render::{self, Dialect};
use crate::servers;

/// Connections creating or dropping tenants at once.
const CONNECTIONS: usize = 4;

/// Drops leftovers, then builds the fleet; the CLI uses the server's own URL.
pub fn create(server_url: &str, fleet: &Fleet) -> Result<Built> {
    destroy(server_url)?;
    let template = render::ddl(&fleet.template, Dialect::Mysql);
    servers::runtime()?.block_on(async {
        let mut workers = JoinSet::new();
        for worker in 0..CONNECTIONS {
            let mut queries: Vec<(String, String)> = (worker..fleet.tenants)
                .step_by(CONNECTIONS)
                .map(|i| {
                    let ddl = fleet.drifted_ddl(i, Dialect::Mysql);
                    let ddl = ddl.as_deref().unwrap_or(&template);
                    (Fleet::name(i), ddl.to_string())
                })
                .collect();
            if worker == 0 {
                queries.insert(0, (TEMPLATE.to_string(), template.clone()));
            }
            let queries: Vec<(String, String)> = queries
                .into_iter()
                .map(|(name, ddl)| {
                    let sql = format!("CREATE DATABASE {name};\nUSE {name};\n{ddl}");
                    (name, sql)
                })
                .collect();
            let url = server_url.to_string();
            workers.spawn(async move {
                let mut conn = connect(&url).await?;
                for (name, sql) in queries {
                    conn.query_drop(sql)
                        .await
                        .with_context(|| format!("cannot create tenant {name}"))?;
                }
                conn.disconnect().await.context("disconnect failed")?;
                anyhow::Ok(())
            });
        }
        while let Some(joined) = workers.join_next().await {
            joined.context("a fleet worker panicked")??;
        }
        anyhow::Ok(())
    })?;
    Ok(Built {
        url: server_url.to_string(),
    })
}

/// Takes the server-wide named lock of the bench; the returned connection holds it.
pub async fn lock(server_url: &str) -> Result<mysql_async::Conn> {
    let mut conn = connect(server_url).await?;
    let locked: Option<Option<i64>> = conn
        .query_first("SELECT GET_LOCK('schema_sync_bench', 0)")
        .await
        .context("cannot take the bench lock")?;
    if locked.flatten() != Some(1) {
        return Err(super::busy(crate::servers::Database::Mysql));
    }
    Ok(conn)
}

/// Drops every database named `bench_t...` (the template `bench_template` included).
pub fn destroy(server_url: &str) -> Result<()> {
    servers::runtime()?.block_on(async {
        let mut conn = connect(server_url).await?;
        let names: Vec<String> = conn
            .query(format!(
                "SELECT schema_name FROM information_schema.schemata \
                 WHERE schema_name LIKE '{}%'",
                TENANT_PREFIX.replace('_', "\\_")
            ))
            .await
            .context("cannot list leftover bench databases")?;
        conn.disconnect().await.context("disconnect failed")?;
        let mut workers = JoinSet::new();
        for worker in 0..CONNECTIONS {
            let mine: Vec<String> = names
                .iter()
                .skip(worker)
                .step_by(CONNECTIONS)
                .cloned()
                .collect();
            let url = server_url.to_string();
            workers.spawn(async move {
                let mut conn = connect(&url).await?;
                for name in mine {
                    conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await
                        .with_context(|| format!("cannot drop database {name}"))?;
                }
                conn.disconnect().await.context("disconnect failed")?;
                anyhow::Ok(())
            });
        }
        while let Some(joined) = workers.join_next().await {
            joined.context("a cleanup worker panicked")??;
        }
        anyhow::Ok(())
    })
}

async fn connect(url: &str) -> Result<mysql_async::Conn> {
    let opts = mysql_async::Opts::from_url(url).context("invalid MySQL URL")?;
    mysql_async::Conn::new(opts)
        .await
        .with_context(|| format!("cannot connect to {}", servers::redact(url)))
}
