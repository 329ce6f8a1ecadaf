//! Which plan steps can share one table statement, and what orders them.

use std::collections::BTreeSet;

use schema_sync_core::Operation;

/// The tables and views an operation changes or relies on.
pub(super) fn relations(op: &Operation) -> BTreeSet<&str> {
    let mut out: BTreeSet<&str> = op.table().into_iter().collect();
    match op {
        Operation::AddForeignKey {
            foreign_key: fk, ..
        }
        | Operation::DropForeignKey { from: fk, .. }
            if fk.referenced_schema.is_none() =>
        {
            out.insert(&fk.referenced_table);
        }
        Operation::CreateView { name, view } | Operation::DropView { name, from: view } => {
            out.insert(name);
            out.extend(view.depends_on.iter().map(String::as_str));
        }
        _ => {}
    }
    out
}

/// Operations that are one clause of an `ALTER TABLE`.
pub(crate) fn is_alter_clause(op: &Operation) -> bool {
    use Operation::*;
    matches!(
        op,
        AddColumn { .. }
            | ReorderColumns { .. }
            | DropColumn { .. }
            | AlterColumn { .. }
            | AddPrimaryKey { .. }
            | DropPrimaryKey { .. }
            | AddUnique { .. }
            | DropUnique { .. }
            | AddCheck { .. }
            | DropCheck { .. }
            | AddForeignKey { .. }
            | DropForeignKey { .. }
            | CreateIndex { .. }
            | DropIndex { .. }
            | SetTableComment { .. }
            | AlterTableOptions { .. }
    )
}

/// Operations that can be written inside a `CREATE TABLE`.
pub(super) fn is_create_clause(op: &Operation) -> bool {
    use Operation::*;
    matches!(
        op,
        AddPrimaryKey { .. }
            | AddUnique { .. }
            | AddCheck { .. }
            | AddForeignKey { .. }
            | CreateIndex { .. }
            | SetTableComment { .. }
    )
}
