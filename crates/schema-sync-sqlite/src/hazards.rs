//! `plan --check-data` on SQLite: counting the rows a plan would fail on or lose.
//!
//! SQLite takes no table locks a reader would notice and never copies a table behind the
//! user's back beyond the documented rebuild (already a `table_rewrite` hazard), so the
//! adapter adds no hazards of its own. The counts run on a read-only connection inside
//! one deferred transaction, so every count sees the same snapshot of the file.

use rusqlite::Connection;
use schema_sync_core::plan::{CountQuery, DataCheck, MigrationPlan, Naming, count_queries};
use schema_sync_core::{Result, TenantContext, run_blocking};

use crate::connect::{self, Access};
use crate::sql::quote_ident;
use crate::tenants;

/// Counts the rows each step of `plan` would fail on or lose in `tenant`'s file.
pub(crate) async fn check_data(
    tenant: &TenantContext,
    plan: &MigrationPlan,
    access: Access,
) -> Result<Vec<DataCheck>> {
    let queries = count_queries(
        plan,
        &Naming {
            quote: &quote_ident,
            namespace: "main",
        },
    );
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let id = tenant.id().clone();
    let path = tenants::path_of(tenant);
    run_blocking(move || {
        connect::read_for_inspection(&id, &path, access, |conn| count_all(conn, &queries))
    })
    .await
}

/// Runs every query in one read transaction.
fn count_all(conn: &Connection, queries: &[CountQuery]) -> rusqlite::Result<Vec<DataCheck>> {
    conn.execute_batch("BEGIN")?;
    let counted = queries
        .iter()
        .map(|query| {
            let rows: i64 = conn.query_row(&query.sql, [], |row| row.get(0))?;
            Ok(query.result(u64::try_from(rows).unwrap_or(0)))
        })
        .collect::<rusqlite::Result<Vec<_>>>();
    conn.execute_batch("COMMIT")?;
    counted
}
