//! Which steps MySQL or MariaDB can only run as `ALGORITHM=COPY`, and counting the rows
//! a plan would fail on.
//!
//! InnoDB runs most changes `INSTANT` or `INPLACE` with concurrent writes; the ones
//! below copy the table row by row while writes wait. Checked against MariaDB 10.11 by
//! asking for `ALGORITHM=INPLACE` (the server answers "Try ALGORITHM=COPY"), and against
//! the MySQL 8.0 online DDL tables: a new check constraint, a foreign key while
//! `foreign_key_checks` is on, a column type or collation change, a stored generated
//! column, a change of engine or character set. Extending a `VARCHAR`/`VARBINARY` is in
//! place, except on MySQL when the length prefix grows from one byte to two (past 255
//! bytes, counting four bytes a character).

use mysql_async::prelude::Queryable;
use schema_sync_core::plan::{DataCheck, Hazard, MigrationPlan, Naming, Operation, count_queries};
use schema_sync_core::snapshot::{Column, DataType};
use schema_sync_core::{Phase, Result, TenantContext};

use crate::connect::{Flavor, Server, ServerInfo};
use crate::error;
use crate::sql::quote_ident;

/// Marks the steps of `plan` this server can only run as `ALGORITHM=COPY`, and sets the
/// algorithm of each step the online strategy marked.
pub(crate) fn refine(plan: &mut MigrationPlan, server: ServerInfo) {
    crate::online::refine(plan, server);
    for index in 0..plan.steps.len() {
        if copies(&plan.steps[index].operation, server) {
            plan.add_hazards(index, &[Hazard::AlgorithmCopy, Hazard::BlocksWrites]);
        }
    }
}

/// Whether InnoDB on `server` must copy the table for `operation`.
pub(crate) fn copies(operation: &Operation, server: ServerInfo) -> bool {
    match operation {
        Operation::AddCheck { .. } | Operation::AddForeignKey { .. } => true,
        Operation::AddColumn { column, .. } => is_stored_generated(column),
        Operation::AlterColumn { from, to, .. } => {
            (from.data_type != to.data_type
                && !extends_in_place(&from.data_type, &to.data_type, server))
                || from.collation != to.collation
                || (from.generated != to.generated && is_stored_generated(to))
        }
        Operation::AlterTableOptions { from, to, .. } => {
            from.engine != to.engine || from.charset != to.charset
        }
        _ => false,
    }
}

fn is_stored_generated(column: &Column) -> bool {
    column.generated.as_ref().is_some_and(|g| g.stored)
}

/// Whether a type change only extends a variable-length string in place.
fn extends_in_place(from: &DataType, to: &DataType, server: ServerInfo) -> bool {
    let bytes_per_char = match from.name.as_str() {
        "varchar" => 4,
        "varbinary" => 1,
        _ => return false,
    };
    let (Some(old), Some(new)) = (from.length, to.length) else {
        return false;
    };
    let same_otherwise = DataType {
        length: from.length,
        ..to.clone()
    } == *from;
    if !same_otherwise || new < old {
        return false;
    }
    match server.flavor {
        Flavor::MariaDb => true,
        Flavor::MySql => (old * bytes_per_char < 256) == (new * bytes_per_char < 256),
    }
}

/// Counts, in a read-only transaction, the rows each step of `plan` would fail on or lose.
pub(crate) async fn check_data(
    server: &Server,
    tenant: &TenantContext,
    plan: &MigrationPlan,
) -> Result<Vec<DataCheck>> {
    let queries = count_queries(
        plan,
        &Naming {
            quote: &quote_ident,
            namespace: tenant.namespace(),
        },
    );
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    let fail = |context: String, e| error::database(Some(tenant.id()), Phase::Plan, context, e);
    let mut conn = server.conn(Some(tenant.id()), Phase::Plan).await?;
    conn.query_drop("START TRANSACTION READ ONLY")
        .await
        .map_err(|e| {
            fail(
                "cannot open a read-only transaction to count rows".into(),
                e,
            )
        })?;
    let mut checks = Vec::with_capacity(queries.len());
    for query in &queries {
        let rows: Option<u64> = conn
            .query_first(&query.sql)
            .await
            .map_err(|e| fail(query.describe(), e))?;
        checks.push(query.result(rows.unwrap_or(0)));
    }
    conn.query_drop("COMMIT")
        .await
        .map_err(|e| fail("cannot end the read-only transaction".into(), e))?;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varchar(length: u32) -> DataType {
        DataType {
            length: Some(length),
            ..DataType::named("varchar")
        }
    }

    #[test]
    fn varchar_extension_copies_only_on_mysql_past_the_one_byte_prefix() {
        let mariadb = ServerInfo::parse("10.11.6-MariaDB");
        let mysql = ServerInfo::parse("8.0.36");
        assert!(extends_in_place(&varchar(10), &varchar(50), mysql));
        assert!(!extends_in_place(&varchar(10), &varchar(100), mysql));
        assert!(extends_in_place(&varchar(10), &varchar(100), mariadb));
        assert!(!extends_in_place(&varchar(50), &varchar(10), mariadb));
        assert!(!extends_in_place(
            &DataType::named("int"),
            &DataType::named("bigint"),
            mariadb
        ));
    }

    #[test]
    fn type_changes_and_checks_copy_adding_a_plain_column_does_not() {
        let mariadb = ServerInfo::parse("10.11.6-MariaDB");
        let column = |data_type| Column::new(data_type);
        let retype = Operation::AlterColumn {
            table: "t".into(),
            name: "a".into(),
            from: column(DataType::named("int")),
            to: column(DataType::named("bigint")),
        };
        assert!(copies(&retype, mariadb));
        let add = Operation::AddColumn {
            table: "t".into(),
            name: "b".into(),
            column: column(DataType::named("int")),
            placement: Default::default(),
        };
        assert!(!copies(&add, mariadb));
    }
}
