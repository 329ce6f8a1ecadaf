//! The lock each step takes on PostgreSQL, and counting the rows a plan would fail on.
//!
//! Lock levels follow the PostgreSQL 15 documentation of `ALTER TABLE`, `CREATE INDEX`,
//! `CREATE TRIGGER` and "Explicit Locking": most `ALTER TABLE` forms, `DROP` of a table,
//! index, view or trigger, and policies take `ACCESS EXCLUSIVE` (reads wait too);
//! `ADD FOREIGN KEY`, `CREATE TRIGGER` and enabling or disabling a trigger take `SHARE ROW EXCLUSIVE`; a plain
//! `CREATE INDEX` takes `SHARE`. `VALIDATE CONSTRAINT`, `ATTACH PARTITION` on the parent,
//! comments and storage parameters take `SHARE UPDATE EXCLUSIVE`, which blocks neither
//! reads nor writes, so it is no hazard.

use schema_sync_core::plan::{DataCheck, Hazard, MigrationPlan, Naming, Operation, count_queries};
use schema_sync_core::{Phase, Result, TenantContext};

use crate::PostgresAdapter;
use crate::catalog::tenant_search_path;
use crate::error;
use crate::sql::quote_ident;

/// Adds the lock level each step of `plan` takes. An index built or dropped outside the
/// transaction (`--strategy online`) is built `CONCURRENTLY`, under `SHARE UPDATE
/// EXCLUSIVE`: it blocks neither reads nor writes. A unique constraint added after
/// commit builds its index so too, and keeps only the brief ACCESS EXCLUSIVE lock of
/// `ADD CONSTRAINT ... USING INDEX`.
pub(crate) fn refine(plan: &mut MigrationPlan) {
    for index in 0..plan.steps.len() {
        let step = &mut plan.steps[index];
        if step.outside_transaction {
            use Operation::*;
            match step.operation {
                CreateIndex { .. } | DropIndex { .. } => {
                    step.hazards.retain(|h| *h != Hazard::BlocksWrites);
                    continue;
                }
                // Its index is built concurrently; `USING INDEX` then locks the table
                // only for the catalog change.
                AddUnique { .. } => step.hazards.retain(|h| *h != Hazard::BlocksWrites),
                _ => {}
            }
        }
        if let Some(lock) = lock_of(&step.operation) {
            plan.add_hazards(index, &[lock]);
        }
    }
}

/// The lock a step's statement takes on its table, when it blocks reads or writes.
fn lock_of(operation: &Operation) -> Option<Hazard> {
    use Operation::*;
    match operation {
        CreateIndex { .. } => Some(Hazard::ShareLock),
        AddForeignKey { .. } | CreateTrigger { .. } | SetTriggerEnabled { .. } => {
            Some(Hazard::ShareRowExclusiveLock)
        }
        DropTable { .. }
        | AddColumn { .. }
        | DropColumn { .. }
        | AlterColumn { .. }
        | AddPrimaryKey { .. }
        | DropPrimaryKey { .. }
        | AddUnique { .. }
        | DropUnique { .. }
        | AddCheck { .. }
        | DropCheck { .. }
        | DropForeignKey { .. }
        | DropIndex { .. }
        | DropTrigger { .. }
        | CreatePolicy { .. }
        | DropPolicy { .. }
        | DetachPartition { .. } => Some(Hazard::AccessExclusiveLock),
        // The partition being attached is locked ACCESS EXCLUSIVE (the parent only
        // SHARE UPDATE EXCLUSIVE).
        AttachPartition { .. } => Some(Hazard::AccessExclusiveLock),
        // Dropping (or replacing) a view locks it; a materialized view is read by
        // nobody while it is rebuilt.
        DropView { .. } => Some(Hazard::AccessExclusiveLock),
        AlterTableOptions { from, to, .. }
            if from.row_security != to.row_security
                || from.force_row_security != to.force_row_security
                || from.unlogged != to.unlogged =>
        {
            Some(Hazard::AccessExclusiveLock)
        }
        _ => None,
    }
}

/// Counts, in a read-only transaction with the tenant's `search_path`, the rows each
/// step of `plan` would fail on or lose.
pub(crate) async fn check_data(
    adapter: &PostgresAdapter,
    tenant: &TenantContext,
    plan: &MigrationPlan,
) -> Result<Vec<DataCheck>> {
    let schema = tenant.namespace();
    let queries = count_queries(
        plan,
        &Naming {
            quote: &quote_ident,
            namespace: schema,
        },
    );
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let fail = |context: String, e| error::database(Some(tenant.id()), Phase::Plan, context, e);
    let mut client = adapter.client().await?;
    let transaction = client
        .build_transaction()
        .read_only(true)
        .start()
        .await
        .map_err(|e| {
            fail(
                "cannot open a read-only transaction to count rows".into(),
                e,
            )
        })?;
    transaction
        .batch_execute(&format!(
            "SET LOCAL search_path TO {}",
            tenant_search_path(schema)
        ))
        .await
        .map_err(|e| fail("cannot set search_path".into(), e))?;
    let mut checks = Vec::with_capacity(queries.len());
    for query in &queries {
        let row = transaction
            .query_one(&query.sql, &[])
            .await
            .map_err(|e| fail(query.describe(), e))?;
        let rows: i64 = row.get(0);
        checks.push(query.result(u64::try_from(rows).unwrap_or(0)));
    }
    transaction
        .rollback()
        .await
        .map_err(|e| fail("cannot end the read-only transaction".into(), e))?;
    Ok(checks)
}
