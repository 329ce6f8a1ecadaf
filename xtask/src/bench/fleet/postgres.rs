//! A PostgreSQL fleet: one schema per tenant in a database of its own.
//!
//! The fleet lives in the database [`DATABASE`], created afresh on the server, so leftovers
//! of any earlier run go with one `DROP DATABASE`, the tenant list holds nothing but the
//! fleet, and the tests that share the server never see it. The template DDL is first
//! applied once in schema `bench_template` (kept as the reference tenant), so a DDL error
//! shows up once and clearly; then
//! tenants are created by running the (possibly drifted) DDL under each tenant's
//! `search_path`, one transaction per tenant, [`BATCH`] tenants per round trip, on
//! [`CONNECTIONS`] connections at once. One transaction per tenant keeps the lock table
//! small: a whole batch in one transaction would hold thousands of relation locks.

use anyhow::{Context, Result, anyhow};
use tokio::task::JoinSet;

use super::{Built, Fleet, TEMPLATE};
use crate::bench::render::{self, Dialect};
use crate::servers;

/// The database that holds the fleet.
pub const DATABASE: &str = "schema_sync_bench";
/// Tenants per `batch_execute` round trip.
const BATCH: usize = 20;
/// Connections creating tenants at once.
const CONNECTIONS: usize = 2;

/// Builds the fleet; returns the URL of the fleet's database.
pub fn create(server_url: &str, fleet: &Fleet) -> Result<Built> {
    let url = with_database(server_url, DATABASE)?;
    let template = render::ddl(&fleet.template, Dialect::Postgres);
    let runtime = servers::runtime()?;
    runtime.block_on(async {
        let admin = connect(server_url).await?;
        // Two round trips: neither statement may run inside the implicit transaction of
        // a multi-statement query.
        for statement in [
            format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"),
            format!("CREATE DATABASE {DATABASE}"),
        ] {
            admin
                .batch_execute(&statement)
                .await
                .with_context(|| format!("cannot create database {DATABASE}"))?;
        }
        let client = connect(&url).await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS public CASCADE; {}",
                tenant_sql(TEMPLATE, &template)
            ))
            .await
            .with_context(|| format!("the template DDL was rejected in schema {TEMPLATE}"))?;

        let batches: Vec<Vec<usize>> = (0..fleet.tenants)
            .collect::<Vec<_>>()
            .chunks(BATCH)
            .map(<[usize]>::to_vec)
            .collect();
        let mut workers = JoinSet::new();
        for worker in 0..CONNECTIONS {
            let sql: Vec<(String, String)> = batches
                .iter()
                .skip(worker)
                .step_by(CONNECTIONS)
                .map(|batch| {
                    let text: String = batch
                        .iter()
                        .map(|&i| {
                            let ddl = fleet.drifted_ddl(i, Dialect::Postgres);
                            tenant_sql(&Fleet::name(i), ddl.as_deref().unwrap_or(&template))
                        })
                        .collect();
                    let first = batch.first().copied().unwrap_or_default();
                    let last = batch.last().copied().unwrap_or_default();
                    (
                        format!("{}..{}", Fleet::name(first), Fleet::name(last)),
                        text,
                    )
                })
                .collect();
            let url = url.clone();
            workers.spawn(async move {
                let client = connect(&url).await?;
                // The fleet is scratch data: no need to wait for the WAL flush per tenant.
                client
                    .batch_execute("SET synchronous_commit = off")
                    .await
                    .context("cannot set synchronous_commit")?;
                for (range, text) in sql {
                    client
                        .batch_execute(&text)
                        .await
                        .with_context(|| format!("cannot create tenants {range}"))?;
                }
                anyhow::Ok(())
            });
        }
        while let Some(joined) = workers.join_next().await {
            joined.context("a fleet worker panicked")??;
        }
        anyhow::Ok(())
    })?;
    Ok(Built { url })
}

/// Takes the session-level advisory lock of the bench in the server URL's database; the
/// returned client holds it.
pub async fn lock(server_url: &str) -> Result<tokio_postgres::Client> {
    let client = connect(server_url).await?;
    let row = client
        .query_one(
            "SELECT pg_try_advisory_lock(hashtext('schema-sync bench'))",
            &[],
        )
        .await
        .context("cannot take the bench lock")?;
    let locked: bool = row.try_get(0).context("cannot take the bench lock")?;
    if !locked {
        return Err(super::busy(crate::servers::Database::Postgres));
    }
    Ok(client)
}

/// Drops the fleet's database.
pub fn destroy(server_url: &str) -> Result<()> {
    servers::runtime()?.block_on(async {
        let admin = connect(server_url).await?;
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            .await
            .with_context(|| format!("cannot drop database {DATABASE}"))
    })
}

fn tenant_sql(schema: &str, ddl: &str) -> String {
    format!("BEGIN;\nCREATE SCHEMA {schema};\nSET LOCAL search_path TO {schema};\n{ddl}COMMIT;\n")
}

async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to {}", servers::redact(url)))?;
    tokio::spawn(connection);
    Ok(client)
}

/// `url` with its database (the path) replaced by `database`.
pub fn with_database(url: &str, database: &str) -> Result<String> {
    let scheme_end = url
        .find("://")
        .ok_or_else(|| anyhow!("not a URL: {}", servers::redact(url)))?
        + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after_path = rest[authority_end..]
        .find('?')
        .map_or("", |q| &rest[authority_end + q..]);
    Ok(format!(
        "{}{}/{database}{after_path}",
        &url[..scheme_end],
        &rest[..authority_end]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database() -> Result<()> {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x")?,
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(with_database("postgres://h", "x")?, "postgres://h/x");
        assert_eq!(
            with_database("postgres://h:1/db?sslmode=disable", "x")?,
            "postgres://h:1/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h?a=b", "x")?,
            "postgres://h/x?a=b"
        );
        Ok(())
    }
}
