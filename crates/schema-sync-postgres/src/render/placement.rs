//! Where PostgreSQL puts a new column: only after the last one. Under
//! `--strict-column-order` a plan that needs a new column elsewhere cannot be carried out,
//! and is refused before anything runs, as a reorder of existing columns is.

use std::collections::HashMap;

use schema_sync_core::plan::{ColumnPlacement, MigrationPlan, Operation};
use schema_sync_core::{Error, SchemaSnapshot, TenantId};

/// The refusal of a strict `plan` that adds a column to a table of `live` where appending
/// cannot put it; `None` when every new column goes where the target has it, or when
/// column order is not strict.
pub(super) fn refusal(
    plan: &MigrationPlan,
    live: &SchemaSnapshot,
    tenant: &TenantId,
) -> Option<Error> {
    if !plan.strict_column_order {
        return None;
    }
    // Each live table's columns as the plan's steps leave them, in order.
    let mut orders: HashMap<&str, Vec<&str>> = HashMap::new();
    for step in &plan.steps {
        match &step.operation {
            Operation::DropColumn { table, name, .. } => {
                if let Some(order) = order_of(&mut orders, live, table) {
                    order.retain(|c| *c != name.as_str());
                }
            }
            Operation::AddColumn {
                table,
                name,
                placement,
                ..
            } => {
                let Some(order) = order_of(&mut orders, live, table) else {
                    continue;
                };
                let placed = match placement {
                    ColumnPlacement::Last => true,
                    ColumnPlacement::First => order.is_empty(),
                    ColumnPlacement::After(previous) => order.last() == Some(&previous.as_str()),
                };
                if !placed {
                    let wanted = match placement {
                        ColumnPlacement::After(previous) => format!("after column {previous}"),
                        _ => "first".to_string(),
                    };
                    return Some(Error::Unsupported {
                        tenant: Some(tenant.clone()),
                        object: table.clone(),
                        message: format!(
                            "PostgreSQL adds a column only after the last one, so new column {name} cannot go {wanted} as the target has it; run without --strict-column-order (the column is then appended), or recreate the table"
                        ),
                    });
                }
                order.push(name.as_str());
            }
            _ => {}
        }
    }
    None
}

/// The columns of `table` so far, starting from its live order; `None` for a table the
/// tenant does not have (the plan creates it with its columns in order).
fn order_of<'a, 'p>(
    orders: &'p mut HashMap<&'a str, Vec<&'a str>>,
    live: &'a SchemaSnapshot,
    table: &'a str,
) -> Option<&'p mut Vec<&'a str>> {
    let columns = live.tables.get(table)?;
    Some(
        orders
            .entry(table)
            .or_insert_with(|| columns.column_order()),
    )
}
