//! The versioned-migration history of a tenant database: its `_schema_sync_migrations`
//! table (the columns of sqlx's `_sqlx_migrations`) and how a migration file runs.
//!
//! MySQL commits every DDL statement by itself, so a file cannot be undone. As sqlx
//! does, the row is written first with `success = FALSE`, the file runs (every
//! statement of it, on the text protocol), and the row is then marked successful. A
//! file that fails partway leaves its row unfinished: the next `migrate` refuses the
//! tenant and says to repair it by hand, instead of running a half-applied file again.

use std::time::Instant;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::migrate::{AppliedMigration, HISTORY_TABLE, Migration};
use schema_sync_core::{Phase, Result, StatementTiming, TenantContext};

use crate::error;
use crate::sql::quote_ident;

/// The history table of `database`, qualified and quoted.
fn table(database: &str) -> String {
    format!("{}.{}", quote_ident(database), quote_ident(HISTORY_TABLE))
}

/// Creates the tenant's history table when it is missing.
pub(crate) async fn create(conn: &mut Conn, tenant: &TenantContext) -> Result<()> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum VARBINARY(64) NOT NULL,
            execution_time BIGINT NOT NULL
        )",
        table(tenant.namespace())
    );
    conn.query_drop(ddl).await.map_err(|e| {
        error::database(
            Some(tenant.id()),
            Phase::Execute,
            format!(
                "create {HISTORY_TABLE} in database {:?}",
                tenant.namespace()
            ),
            e,
        )
    })
}

/// The tenant's history rows in version order; none when the table does not exist.
pub(crate) async fn read(conn: &mut Conn, tenant: &TenantContext) -> Result<Vec<AppliedMigration>> {
    let failed = |e| {
        error::database(
            Some(tenant.id()),
            Phase::Inspect,
            format!("read {HISTORY_TABLE} of database {:?}", tenant.namespace()),
            e,
        )
    };
    let exists: Option<i64> = conn
        .exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (tenant.namespace(), HISTORY_TABLE),
        )
        .await
        .map_err(failed)?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, String, String, bool, Vec<u8>, i64)> = conn
        .query(format!(
            "SELECT version, description, CAST(installed_on AS CHAR), success, checksum, execution_time
             FROM {} ORDER BY version",
            table(tenant.namespace())
        ))
        .await
        .map_err(failed)?;
    Ok(rows
        .into_iter()
        .map(
            |(version, description, installed_on, success, checksum, execution_time_ms)| {
                AppliedMigration {
                    version,
                    description,
                    installed_on,
                    success,
                    checksum,
                    execution_time_ms,
                }
            },
        )
        .collect())
}

/// Records `migration` as started, runs it, and marks it successful.
pub(crate) async fn apply(
    conn: &mut Conn,
    tenant: &TenantContext,
    migration: &Migration,
) -> Result<StatementTiming> {
    let history = table(tenant.namespace());
    let failed =
        |what: String| move |e| error::database(Some(tenant.id()), Phase::Execute, what, e);
    conn.exec_drop(
        format!(
            "INSERT INTO {history} (version, description, success, checksum, execution_time)
             VALUES (?, ?, FALSE, ?, 0)"
        ),
        (
            migration.version,
            migration.description.as_str(),
            migration.checksum.as_bytes(),
        ),
    )
    .await
    .map_err(failed(format!(
        "record {} as started in {HISTORY_TABLE}",
        migration.file
    )))?;
    let started = Instant::now();
    conn.query_drop(migration.sql.as_str())
        .await
        .map_err(failed(format!("run {}", migration.file)))?;
    let timing = StatementTiming::since(migration.sql.as_str(), started);
    let elapsed = i64::try_from(timing.duration_ms).unwrap_or(i64::MAX);
    conn.exec_drop(
        format!("UPDATE {history} SET success = TRUE, execution_time = ? WHERE version = ?"),
        (elapsed, migration.version),
    )
    .await
    .map_err(failed(format!(
        "record {} as finished in {HISTORY_TABLE}",
        migration.file
    )))?;
    Ok(timing)
}
