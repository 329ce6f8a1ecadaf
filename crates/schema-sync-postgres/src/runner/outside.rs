//! Statements that run outside the tenant's transaction, after it commits (the online
//! strategy, [`crate::OnlinePlanner`]), and the lock-timeout retries of locking
//! statements.
//!
//! `CREATE INDEX CONCURRENTLY` cannot run in a transaction block, and a `VALIDATE
//! CONSTRAINT` inside the transaction that added the constraint would scan under the
//! strong lock the `ADD` took. So the runner holds a session advisory lock on the tenant
//! across `COMMIT` (no other run slips in between) and runs these statements one by
//! one, in autocommit, each under the run's `lock_timeout`: a lock that is not granted
//! in time is tried again after a growing pause, up to `lock_retries` times, so a busy
//! table delays the step instead of stalling the application's writers behind it.
//!
//! A concurrent build that fails leaves an INVALID index behind; it is dropped
//! (`DROP INDEX CONCURRENTLY`) before the error is returned or the build retried, and
//! one found before a build (a run killed half way) is dropped first too.

use std::time::Duration;

use schema_sync_core::plan::{Operation, RenderedStatement};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::error;
use crate::sql::quote_ident;

/// The pause before retry `attempt` (0-based) of a statement whose lock was not granted:
/// 200 ms doubling, at most 5 s.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1u64 << attempt.min(5))).min(Duration::from_secs(5))
}

/// One statement that runs after commit.
#[derive(Debug, Clone)]
pub(super) struct Deferred {
    /// Its step, as text.
    pub operation: String,
    /// The statement.
    pub sql: String,
    /// The index a concurrent build creates, whose INVALID leftover must go.
    pub builds_index: Option<String>,
}

impl Deferred {
    /// The statement `rendered` carrying out `operation`.
    pub(super) fn new(rendered: &RenderedStatement, operation: Option<&Operation>) -> Self {
        Self {
            operation: operation.map(ToString::to_string).unwrap_or_default(),
            sql: rendered.sql.clone(),
            builds_index: rendered.builds_index.clone(),
        }
    }
}

/// Drops index `name` of `schema` if it exists and is INVALID (the leftover of a failed
/// or interrupted concurrent build): concurrently, or for a partitioned table's index
/// (which cannot be dropped concurrently, and takes the indexes attached to it along)
/// plainly.
///
/// # Errors
/// A database error reading the catalog or dropping the index.
pub(super) async fn drop_invalid_index(
    client: &Client,
    schema: &str,
    name: &str,
) -> Result<bool, tokio_postgres::Error> {
    let rows = client
        .query_typed(
            "SELECT NOT i.indisvalid, c.relkind = 'I'
             FROM pg_catalog.pg_index i
             JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2",
            &[(&schema, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
    let (invalid, partitioned) = match rows.first() {
        Some(row) => (row.try_get::<_, bool>(0)?, row.try_get::<_, bool>(1)?),
        None => (false, false),
    };
    if invalid {
        client
            .batch_execute(&format!(
                "DROP INDEX {}IF EXISTS {}.{}",
                if partitioned { "" } else { "CONCURRENTLY " },
                quote_ident(schema),
                quote_ident(name)
            ))
            .await?;
    }
    Ok(invalid)
}

/// Runs `statement` in the tenant's open transaction. With `retries`, it runs under a
/// savepoint, so a lock timeout undoes only this statement, which is tried again after
/// a pause ([`backoff`]).
///
/// # Errors
/// The statement's last error.
pub(super) async fn run_in_transaction(
    client: &Client,
    statement: &str,
    retries: u32,
) -> Result<(), tokio_postgres::Error> {
    if retries == 0 {
        return client.query_typed(statement, &[]).await.map(drop);
    }
    let mut attempt = 0;
    loop {
        client.batch_execute("SAVEPOINT schema_sync_step").await?;
        match client.query_typed(statement, &[]).await {
            Ok(_) => {
                return client
                    .batch_execute("RELEASE SAVEPOINT schema_sync_step")
                    .await;
            }
            Err(e) if error::is_lock_timeout(&e) && attempt < retries => {
                client
                    .batch_execute("ROLLBACK TO SAVEPOINT schema_sync_step")
                    .await?;
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs `deferred` in autocommit, retrying a lock timeout up to `retries` times and
/// cleaning up the INVALID leftover of a failed concurrent build.
///
/// # Errors
/// The statement's last error (a lock timeout once the retries are spent, or any other
/// error at once).
pub(super) async fn run(
    client: &Client,
    schema: &str,
    deferred: &Deferred,
    retries: u32,
) -> Result<(), tokio_postgres::Error> {
    let mut attempt = 0;
    loop {
        if let Some(index) = &deferred.builds_index {
            drop_invalid_index(client, schema, index).await?;
        }
        let outcome = client.batch_execute(&deferred.sql).await;
        let Err(e) = outcome else {
            return Ok(());
        };
        if let Some(index) = &deferred.builds_index {
            // A failed cleanup must not hide why the build failed; the next run's
            // build drops the leftover first.
            let _ = drop_invalid_index(client, schema, index).await;
        }
        if error::is_lock_timeout(&e) && attempt < retries {
            tokio::time::sleep(backoff(attempt)).await;
            attempt += 1;
            continue;
        }
        return Err(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(200));
        assert_eq!(backoff(1), Duration::from_millis(400));
        assert_eq!(backoff(4), Duration::from_millis(3200));
        assert_eq!(backoff(5), Duration::from_secs(5));
        assert_eq!(backoff(40), Duration::from_secs(5));
    }
}
