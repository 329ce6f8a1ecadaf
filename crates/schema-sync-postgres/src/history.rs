//! The versioned-migration history of a tenant schema: its `_schema_sync_migrations`
//! table (the columns of sqlx's `_sqlx_migrations`) and how a migration file runs.
//!
//! A file runs in the tenant's transaction on the simple query protocol, which takes
//! several statements in one message, with the tenant's `search_path`; its history row
//! is written in the same transaction, so a failure rolls back both. A file marked
//! `-- no-transaction` runs in the runner (`runner.rs`) between two transactions.

use schema_sync_core::migrate::{AppliedMigration, HISTORY_TABLE, Migration};
use schema_sync_core::{Phase, Result, TenantContext};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use crate::error;
use crate::sql::quote_ident;

/// The history table of `schema`, qualified and quoted.
fn table(schema: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(HISTORY_TABLE))
}

/// Creates the tenant's history table when it is missing.
pub(crate) async fn create(client: &Client, tenant: &TenantContext) -> Result<()> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version bigint PRIMARY KEY,
            description text NOT NULL,
            installed_on timestamptz NOT NULL DEFAULT now(),
            success boolean NOT NULL,
            checksum bytea NOT NULL,
            execution_time bigint NOT NULL
        )",
        table(tenant.namespace())
    );
    client.batch_execute(&ddl).await.map_err(|e| {
        error::database(
            Some(tenant.id()),
            Phase::Execute,
            format!(
                "creating {HISTORY_TABLE} in schema {:?}",
                tenant.namespace()
            ),
            e,
        )
    })
}

/// The tenant's history rows in version order; none when the table does not exist.
pub(crate) async fn read(client: &Client, tenant: &TenantContext) -> Result<Vec<AppliedMigration>> {
    let failed = |e| {
        error::database(
            Some(tenant.id()),
            Phase::Inspect,
            format!("reading {HISTORY_TABLE} of schema {:?}", tenant.namespace()),
            e,
        )
    };
    let exists = client
        .query_typed(
            "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2",
            &[
                (&tenant.namespace(), Type::TEXT),
                (&HISTORY_TABLE, Type::TEXT),
            ],
        )
        .await
        .map_err(failed)?;
    if exists.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            &format!(
                "SELECT version, description, installed_on::text, success, checksum, execution_time
                 FROM {} ORDER BY version",
                table(tenant.namespace())
            ),
            &[],
        )
        .await
        .map_err(failed)?;
    rows.iter()
        .map(|row| {
            Ok(AppliedMigration {
                version: row.try_get(0)?,
                description: row.try_get(1)?,
                installed_on: row.try_get(2)?,
                success: row.try_get(3)?,
                checksum: row.try_get(4)?,
                execution_time_ms: row.try_get(5)?,
            })
        })
        .collect::<std::result::Result<_, tokio_postgres::Error>>()
        .map_err(failed)
}

/// Runs `migration`'s SQL as one simple-protocol message on `client`.
pub(crate) async fn run(
    client: &Client,
    tenant: &TenantContext,
    migration: &Migration,
) -> Result<()> {
    client.batch_execute(&migration.sql).await.map_err(|e| {
        error::database(
            Some(tenant.id()),
            Phase::Execute,
            format!("running {}", migration.file),
            e,
        )
    })
}

/// Records `migration` as applied, `execution_ms` after it started.
pub(crate) async fn record(
    client: &Client,
    tenant: &TenantContext,
    migration: &Migration,
    execution_ms: i64,
) -> Result<()> {
    client
        .query_typed(
            &format!(
                "INSERT INTO {} (version, description, success, checksum, execution_time)
                 VALUES ($1, $2, true, $3, $4)",
                table(tenant.namespace())
            ),
            &[
                (&migration.version, Type::INT8),
                (&migration.description, Type::TEXT),
                (&migration.checksum.as_bytes(), Type::BYTEA),
                (&execution_ms, Type::INT8),
            ],
        )
        .await
        .map(drop)
        .map_err(|e| {
            error::database(
                Some(tenant.id()),
                Phase::Execute,
                format!("recording {} in {HISTORY_TABLE}", migration.file),
                e,
            )
        })
}
