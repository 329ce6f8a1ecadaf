//! A PostgreSQL fleet: one schema per tenant in a database of its own.
//!
//! The fleet lives in the database [`DATABASE`], created afresh on the server, so leftovers
//! of any earlier run go with one `DROP DATABASE`, the tenant list holds nothing but the
//! fleet, and the tests that share the server never see it. The template DDL is first
//! applied once in schema `bench_template` (kept as the reference tenant), so a DDL error
//! shows up once and clearly; then the tenants are created from a shared queue of batches
//! of [`BATCH`] tenants, one batch per round trip, on [`connections`] connections.
//!
//! Where the time goes: PostgreSQL has no way to copy a schema, so every tenant is its
//! DDL run again. A tenant of the 30-table template is about 250 relations (tables,
//! identity sequences, indexes, TOAST tables and their indexes), and PostgreSQL 15 syncs
//! each new index to disk the moment it is built (`smgrimmedsync` in `btbuild`), so a
//! tenant costs a quarter of a second of server CPU and some 190 `fsync`s. Parsing is a few per
//! cent of it, so one `CREATE SCHEMA ... CREATE TABLE ...` statement per tenant would not
//! be cheaper than the plain statements (and cannot hold the `CREATE TYPE` the template
//! starts with). What does help: many connections, so that one waits for its `fsync`
//! while the others use the CPUs; `synchronous_commit = off`, so no commit waits for the
//! WAL flush; many tenants per round trip; and dropping the template's connection, which
//! would otherwise sit idle while every commit's cache invalidations pile up for it.
//!
//! Each tenant is its own transaction inside the batch (`BEGIN; ... COMMIT;`): a whole
//! batch in one transaction would hold thousands of relation locks and overflow the lock
//! table (`max_locks_per_transaction` is per connection, 64 by default).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use tokio::task::JoinSet;

use super::{Built, Fleet, TEMPLATE};
use crate::bench::render::{self, Dialect};
use crate::servers;

/// The database that holds the fleet.
pub const DATABASE: &str = "schema_sync_bench";
/// Tenants per round trip, each in its own transaction.
const BATCH: usize = 25;

/// Connections creating tenants at once: enough to keep the server's CPUs busy while
/// others wait for the `fsync` of a new index (about four per CPU, as the server is
/// local), at most 16.
fn connections() -> usize {
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    (cpus * 4).clamp(4, 16)
}

/// Builds the fleet; returns the URL of the fleet's database.
pub fn create(server_url: &str, fleet: &Fleet) -> Result<Built> {
    let url = with_database(server_url, DATABASE)?;
    let template = Arc::new(render::ddl(&fleet.template, Dialect::Postgres));
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
        drop(admin);
        let client = connect(&url).await?;
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS public CASCADE; {}",
                tenant_sql(TEMPLATE, &template)
            ))
            .await
            .with_context(|| format!("the template DDL was rejected in schema {TEMPLATE}"))?;
        drop(client);
        create_tenants(&url, fleet, &template, (0..fleet.tenants).collect(), false).await?;
        finish(server_url, &url, &fingerprint(fleet, &template)).await
    })?;
    Ok(Built { url })
}

/// Reuses the fleet a `--keep` or `--reuse` run left on the server when it was built from
/// the same flags and generator: only the drifted tenants, the ones a bench's `sync`
/// changes, are dropped and built again. `None` when there is no such fleet.
pub fn reuse(server_url: &str, fleet: &Fleet) -> Result<Option<Built>> {
    let url = with_database(server_url, DATABASE)?;
    let template = render::ddl(&fleet.template, Dialect::Postgres);
    let runtime = servers::runtime()?;
    runtime.block_on(async {
        let admin = connect(server_url).await?;
        let row = admin
            .query_opt(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                &[&DATABASE],
            )
            .await
            .context("cannot look for a fleet to reuse")?;
        let label: Option<String> = row.and_then(|row| row.get(0));
        let wanted = fingerprint(fleet, &template);
        if label.as_deref() != Some(wanted.as_str()) {
            return Ok(None);
        }
        drop(admin);
        let drifted = fleet.drifted.keys().copied().collect();
        create_tenants(&url, fleet, &template, drifted, true).await?;
        finish(server_url, &url, &wanted).await?;
        Ok(Some(Built { url: url.clone() }))
    })
}

/// What a fleet is built from, in the database's comment: the flags and a hash of every
/// tenant's DDL, so a fleet is reused only by a run that would build the same one.
fn fingerprint(fleet: &Fleet, template: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(template.as_bytes());
    for &index in fleet.drifted.keys() {
        hasher.update(&index.to_le_bytes());
        if let Some(ddl) = fleet.drifted_ddl(index, Dialect::Postgres) {
            hasher.update(ddl.as_bytes());
        }
    }
    format!(
        "schema-sync bench fleet: {} tenants, ddl {}",
        fleet.tenants,
        hasher.finalize().to_hex()
    )
}

/// Analyzes the catalogs and labels the database with `label`, the fleet's
/// [`fingerprint`].
///
/// A production server's autovacuum analyzes its catalogs as they grow; a test server
/// may run without it, and the planner then guesses a catalog of a few hundred rows for
/// one of hundreds of thousands, which makes every catalog query of the bench slower
/// than it would be on a real server.
async fn finish(server_url: &str, url: &str, label: &str) -> Result<()> {
    let client = connect(url).await?;
    let catalogs: Vec<String> = client
        .query(
            "SELECT format('pg_catalog.%I', relname) FROM pg_class \
             WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'",
            &[],
        )
        .await
        .context("cannot list the catalogs")?
        .iter()
        .map(|row| row.get(0))
        .collect();
    client
        .batch_execute(&format!("ANALYZE {}", catalogs.join(", ")))
        .await
        .context("cannot analyze the catalogs")?;
    let admin = connect(server_url).await?;
    let label = label.replace('\'', "''");
    admin
        .batch_execute(&format!("COMMENT ON DATABASE {DATABASE} IS '{label}'"))
        .await
        .context("cannot label the fleet's database")
}

/// Creates the tenants `indices` from a shared queue of batches on [`connections`]
/// connections; with `replace`, each is dropped first.
async fn create_tenants(
    url: &str,
    fleet: &Fleet,
    template: &str,
    indices: Vec<usize>,
    replace: bool,
) -> Result<()> {
    let template = Arc::new(template.to_string());
    let indices = Arc::new(indices);
    // The drifted tenants' DDL, rendered once; the others share the template's.
    let drifted: Arc<Vec<(usize, String)>> = Arc::new(
        fleet
            .drifted
            .keys()
            .filter_map(|&i| fleet.drifted_ddl(i, Dialect::Postgres).map(|d| (i, d)))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..connections() {
        let (url, template, drifted, next, indices) = (
            url.to_string(),
            Arc::clone(&template),
            Arc::clone(&drifted),
            Arc::clone(&next),
            Arc::clone(&indices),
        );
        workers.spawn(async move {
            let client = connect(&url).await?;
            // The fleet is scratch data: no need to wait for the WAL flush per tenant.
            client
                .batch_execute("SET synchronous_commit = off")
                .await
                .context("cannot set synchronous_commit")?;
            loop {
                let first = next.fetch_add(BATCH, Ordering::Relaxed);
                if first >= indices.len() {
                    break;
                }
                let batch = &indices[first..(first + BATCH).min(indices.len())];
                let text: String = batch
                    .iter()
                    .map(|&i| {
                        let ddl = drifted
                            .binary_search_by_key(&i, |(index, _)| *index)
                            .map_or(template.as_str(), |found| drifted[found].1.as_str());
                        let name = Fleet::name(i);
                        let drop = if replace {
                            format!("DROP SCHEMA IF EXISTS {name} CASCADE;\n")
                        } else {
                            String::new()
                        };
                        drop + &tenant_sql(&name, ddl)
                    })
                    .collect();
                client.batch_execute(&text).await.with_context(|| {
                    format!(
                        "cannot create tenants {}..{}",
                        Fleet::name(batch[0]),
                        Fleet::name(batch[batch.len() - 1])
                    )
                })?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = workers.join_next().await {
        joined.context("a fleet worker panicked")??;
    }
    Ok(())
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

/// A client of `url`, its connection driven on the current runtime.
pub(crate) async fn connect(url: &str) -> Result<tokio_postgres::Client> {
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
