//! Plans to SQLite statements.
//!
//! SQLite's `ALTER TABLE` can add a plain column and rename; everything else (changing a
//! column, adding or dropping a constraint or foreign key, reordering columns) rebuilds
//! the table: rename the live table away, create the new one under the real name, copy
//! every row, drop the old one, recreate its indexes and triggers (see
//! [`rebuild_table`]). The runner does this inside one transaction with foreign keys
//! off and `legacy_alter_table` on (so nothing that names the table is rewritten), and
//! checks `PRAGMA foreign_key_check` before committing.
//!
//! Rendering needs the live schema: a rebuilt table is created with its complete final
//! definition, which is the live table with the plan applied in memory.
//!
//! Column order is the target's (`Column.position`): `CREATE TABLE` and every rebuild
//! list columns in that order, `ADD COLUMN` runs in place only for a column placed last,
//! and `ReorderColumns` (or an added column placed elsewhere) rebuilds the table.
//!
//! The text of `CREATE TABLE` and `CREATE INDEX` is [`create`]'s.

mod create;

use std::collections::{BTreeMap, BTreeSet};

use schema_sync_core::plan::RenderedStatement;
use schema_sync_core::snapshot::{Column, Identity, Table};
use schema_sync_core::{
    Error, MigrationPlan, Operation, Result, SchemaSnapshot, TenantContext, TenantId,
};

use crate::catalog::{REBUILD_PREFIX, StoredSql};
use crate::sql::{quote_ident, quote_literal};
use create::{Previous, column_definition, create_index, create_table};

/// What rendering a plan for one tenant needs besides the plan.
pub(crate) struct RenderContext<'a> {
    /// The tenant, named in errors.
    pub tenant: &'a TenantContext,
    /// Its schema as inspected, which the plan is applied to.
    pub live: &'a SchemaSnapshot,
    /// What its `sqlite_schema` stores: the text a rebuild keeps, and every index and
    /// trigger a dropped or rebuilt table would take with it.
    pub stored: &'a StoredSql,
}

/// Renders `plan` for the tenant of `context`, whose schema is `context.live`: each
/// statement with the index of the plan step it carries out.
///
/// # Errors
/// [`Error::Unsupported`] when the plan does not fit the live schema, has an operation
/// SQLite cannot express, or would drop an index or trigger the model cannot recreate.
pub(crate) fn render_plan(
    plan: &MigrationPlan,
    context: &RenderContext<'_>,
) -> Result<Vec<RenderedStatement>> {
    let RenderContext {
        tenant,
        live,
        stored,
    } = *context;
    let tenant = tenant.id();
    if let Some(step) = plan.steps.iter().find(|s| postgres_only(&s.operation)) {
        return Err(Error::Unsupported {
            tenant: Some(tenant.clone()),
            object: step.operation.to_string(),
            message: "row level security, policies, UNLOGGED, storage parameters and disabled \
                      or replica triggers are PostgreSQL's; use a target written for SQLite"
                .into(),
        });
    }
    if let Some(step) = plan.steps.iter().find(|s| mysql_only(&s.operation)) {
        return Err(Error::Unsupported {
            tenant: Some(tenant.clone()),
            object: step.operation.to_string(),
            message: "ROW_FORMAT, KEY_BLOCK_SIZE, STATS_* and Aria's TRANSACTIONAL and \
                      PAGE_CHECKSUM are MySQL table options; use a target written for SQLite"
                .into(),
        });
    }
    if let Some((object, attributes)) = plan
        .steps
        .iter()
        .find_map(|s| s.operation.mysql_only_attributes())
    {
        return Err(Error::Unsupported {
            tenant: Some(tenant.clone()),
            object,
            message: format!(
                "{} exist only in MySQL/MariaDB; remove them from the target",
                attributes.join(", ")
            ),
        });
    }
    let mut final_schema = live.clone();
    plan.apply_to(&mut final_schema)
        .map_err(|message| Error::Unsupported {
            tenant: Some(tenant.clone()),
            object: "plan".into(),
            message: format!(
                "the plan does not fit the live schema ({message}); run again to re-plan"
            ),
        })?;
    let created: BTreeSet<&str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::CreateTable { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let rebuilt: BTreeSet<&str> = plan
        .steps
        .iter()
        .filter(|s| needs_rebuild(&s.operation))
        .filter_map(|s| s.operation.table())
        .filter(|t| !created.contains(t) && final_schema.tables.contains_key(*t))
        .collect();

    refuse_lost_dependents(tenant, live, stored, plan, &rebuilt)?;

    let mut out = Vec::new();
    let mut done_rebuilds: BTreeSet<&str> = BTreeSet::new();
    for (step, plan_step) in plan.steps.iter().enumerate() {
        let mut emit = |sql: String| out.push(RenderedStatement::for_step(step, sql));
        let operation = &plan_step.operation;
        if let Some(table) = operation.table()
            && rebuilt.contains(table)
        {
            if done_rebuilds.insert(table) {
                let old = &live.tables[table];
                let mut new = final_schema.tables[table].clone();
                new.set_column_order(&target_order(table, old, &new, plan));
                rebuild_table(table, old, &new, stored)
                    .into_iter()
                    .for_each(&mut emit);
            }
            continue;
        }
        match operation {
            Operation::CreateTable { name, .. } => {
                let table = &final_schema.tables[name.as_str()];
                emit(create_table(name, table, None));
            }
            Operation::DropTable { name, .. } => emit(format!("DROP TABLE {}", quote_ident(name))),
            Operation::AddColumn {
                table,
                name,
                column,
                ..
            } => emit(format!(
                "ALTER TABLE {} ADD COLUMN {}",
                quote_ident(table),
                column_definition(name, column, false)
            )),
            Operation::AddForeignKey { table, .. } if created.contains(table.as_str()) => {} // Part of CREATE TABLE.
            Operation::CreateIndex { table, name, index } => emit(create_index(table, name, index)),
            Operation::DropIndex { name, .. } => emit(format!("DROP INDEX {}", quote_ident(name))),
            Operation::CreateTrigger { trigger, .. } => emit(trigger.definition.clone()),
            Operation::DropTrigger { name, .. } => {
                emit(format!("DROP TRIGGER {}", quote_ident(name)))
            }
            Operation::CreateView { name, view } => emit(format!(
                "CREATE VIEW {} AS {}",
                quote_ident(name),
                view.definition
            )),
            Operation::DropView { name, .. } => emit(format!("DROP VIEW {}", quote_ident(name))),
            Operation::ReorderColumns {
                required: false, ..
            } => {} // The table is not rebuilt: its order stays.
            other => return Err(unsupported(tenant, other)),
        }
    }
    Ok(out)
}

/// Refuses a plan that would drop, with a table it drops or rebuilds or a view it drops,
/// an index or trigger the live model does not know (and so cannot recreate), reading
/// what is attached from `sqlite_schema` itself rather than trusting the snapshot.
fn refuse_lost_dependents(
    tenant: &TenantId,
    live: &SchemaSnapshot,
    stored: &StoredSql,
    plan: &MigrationPlan,
    rebuilt: &BTreeSet<&str>,
) -> Result<()> {
    let mut replaced: BTreeSet<(&str, &str)> = rebuilt.iter().map(|t| (*t, "rebuilt")).collect();
    for step in &plan.steps {
        match &step.operation {
            Operation::DropTable { name, .. } => {
                replaced.insert((name.as_str(), "dropped"));
            }
            Operation::DropView { name, .. } => {
                replaced.insert((name.as_str(), "dropped"));
            }
            _ => {}
        }
    }
    for (relation, how) in replaced {
        let known = live.tables.get(relation);
        for (kind, name) in stored.attached_to(relation) {
            let modelled = known
                .is_some_and(|t| t.indexes.contains_key(name) || t.triggers.contains_key(name));
            if !modelled {
                return Err(Error::Unsupported {
                    tenant: Some(tenant.clone()),
                    object: format!("{kind} {name} on {relation}"),
                    message: format!(
                        "the plan would drop {relation} ({how}) and with it this {kind}, which \
                         schema-sync does not model and cannot recreate; nothing was changed. \
                         Drop the {kind} before syncing and recreate it afterwards, or change \
                         the target so that {relation} is left as it is"
                    ),
                });
            }
        }
    }
    Ok(())
}

fn unsupported(tenant: &TenantId, operation: &Operation) -> Error {
    Error::Unsupported {
        tenant: Some(tenant.clone()),
        object: operation.to_string(),
        message: "SQLite has no such object (enums, sequences, functions, events, extensions and comments do \
                  not exist in SQLite); use a target written for SQLite"
            .into(),
    }
}

/// Whether an operation asks for something only PostgreSQL has. Refused before anything
/// else: a table step would otherwise rebuild the table and silently leave it out.
fn postgres_only(operation: &Operation) -> bool {
    match operation {
        Operation::CreatePolicy { .. }
        | Operation::DropPolicy { .. }
        | Operation::SetTriggerEnabled { .. } => true,
        Operation::CreateTable { table, .. } => {
            table.options.has_postgres_options()
                || !table.policies.is_empty()
                || table.triggers.values().any(|t| !t.enabled.is_default())
        }
        Operation::AlterTableOptions { to, .. } => to.has_postgres_options(),
        Operation::CreateTrigger { trigger, .. } => !trigger.enabled.is_default(),
        _ => false,
    }
}

/// Whether an operation asks for a MySQL create option. Refused before anything else, like
/// [`postgres_only`].
fn mysql_only(operation: &Operation) -> bool {
    match operation {
        Operation::CreateTable { table, .. } => table.options.has_mysql_create_options(),
        Operation::AlterTableOptions { to, .. } => to.has_mysql_create_options(),
        _ => false,
    }
}

/// Whether an operation on an existing table needs the rebuild procedure.
fn needs_rebuild(operation: &Operation) -> bool {
    match operation {
        // ADD COLUMN can only append: any other placement rebuilds in the target's order.
        Operation::AddColumn {
            column, placement, ..
        } => !placement.is_last() || !can_add_in_place(column),
        // Not strict: the order is restored only if the table is rebuilt for another step.
        Operation::ReorderColumns {
            required: false, ..
        } => false,
        Operation::CreateTable { .. }
        | Operation::DropTable { .. }
        | Operation::CreateIndex { .. }
        | Operation::DropIndex { .. }
        | Operation::CreateTrigger { .. }
        | Operation::DropTrigger { .. } => false,
        other => other.table().is_some(),
    }
}

/// SQLite's `ADD COLUMN` restrictions: no key, no expression default, no stored
/// generation, and NOT NULL only with a non-NULL default.
fn can_add_in_place(column: &Column) -> bool {
    let default_ok = match &column.default {
        None => column.nullable,
        Some(default) => {
            let upper = default.to_ascii_uppercase();
            !default.contains('(')
                && !upper.starts_with("CURRENT_")
                && (column.nullable || upper != "NULL")
        }
    };
    default_ok && column.identity.is_none() && column.generated.as_ref().is_none_or(|g| !g.stored)
}

/// The column order a rebuilt table gets: the target's.
///
/// With a `ReorderColumns` step, the plan applied in memory already has it. Otherwise
/// the added and altered columns carry their target positions (`Column.position` of the
/// target), and every other column kept its live position, which, because positions
/// are compared, is its target position too; the final table's order breaks ties. This
/// lets a rebuild restore the target's order even when the planner only appends.
fn target_order(name: &str, old: &Table, new: &Table, plan: &MigrationPlan) -> Vec<String> {
    let reordered = plan
        .steps
        .iter()
        .any(|s| matches!(&s.operation, Operation::ReorderColumns { table, .. } if table == name));
    let mut hinted: BTreeMap<&str, u32> = BTreeMap::new();
    for step in &plan.steps {
        match &step.operation {
            Operation::AddColumn {
                table,
                name: column,
                column: definition,
                ..
            }
            | Operation::AlterColumn {
                table,
                name: column,
                to: definition,
                ..
            } if table == name && definition.position > 0 => {
                hinted.insert(column, definition.position);
            }
            _ => {}
        }
    }
    let final_order = new.column_order();
    if reordered || hinted.is_empty() || !new.has_column_positions() {
        return final_order.into_iter().map(str::to_string).collect();
    }
    let mut keyed: Vec<(u32, usize, &str)> = final_order
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let position = hinted
                .get(column)
                .copied()
                .or_else(|| old.columns.get(*column).map(|c| c.position))
                .unwrap_or(u32::MAX);
            (position, index, *column)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, c)| c.to_string()).collect()
}

/// The statements of the table-rebuild procedure.
///
/// The live table is renamed away (with `legacy_alter_table` on, nothing that refers to
/// it by name is rewritten), the new one is created under the real name, so SQLite
/// stores its `CREATE TABLE` exactly as written, the rows are copied, the old table is
/// dropped with its indexes and triggers, and those are created again. Indexes and
/// triggers the plan does not change get their stored SQL back verbatim.
fn rebuild_table(name: &str, old: &Table, new: &Table, stored: &StoredSql) -> Vec<String> {
    let old_copy = format!("{REBUILD_PREFIX}{name}");
    let copied: Vec<String> = new
        .ordered_columns()
        .into_iter()
        .filter(|(c, column)| {
            column.generated.is_none() && old.columns.get(*c).is_some_and(|o| o.generated.is_none())
        })
        .map(|(c, _)| quote_ident(c))
        .collect();
    let previous = stored
        .get("table", name)
        .map(|sql| Previous { table: old, sql });
    let mut statements = vec![
        format!(
            "ALTER TABLE {} RENAME TO {}",
            quote_ident(name),
            quote_ident(&old_copy)
        ),
        create_table(name, new, previous),
    ];
    if !copied.is_empty() {
        let list = copied.join(", ");
        statements.push(format!(
            "INSERT INTO {} ({list}) SELECT {list} FROM {}",
            quote_ident(name),
            quote_ident(&old_copy)
        ));
    }
    let autoincrement = |t: &Table| {
        t.columns
            .values()
            .any(|c| c.identity == Some(Identity::AutoIncrement))
    };
    if autoincrement(old) && autoincrement(new) {
        // Keep the AUTOINCREMENT high-water mark, which may be above the largest key.
        statements.push(format!(
            "DELETE FROM sqlite_sequence WHERE name = {}",
            quote_literal(name)
        ));
        statements.push(format!(
            "UPDATE sqlite_sequence SET name = {} WHERE name = {}",
            quote_literal(name),
            quote_literal(&old_copy)
        ));
    }
    statements.push(format!("DROP TABLE {}", quote_ident(&old_copy)));
    for (index_name, index) in &new.indexes {
        let kept = (old.indexes.get(index_name) == Some(index))
            .then(|| stored.get("index", index_name))
            .flatten();
        statements.push(kept.map_or_else(|| create_index(name, index_name, index), str::to_string));
    }
    for (trigger_name, trigger) in &new.triggers {
        let kept = (old.triggers.get(trigger_name) == Some(trigger))
            .then(|| stored.get("trigger", trigger_name))
            .flatten();
        statements.push(kept.map_or_else(|| trigger.definition.clone(), str::to_string));
    }
    statements
}

#[cfg(test)]
mod tests {
    use schema_sync_core::snapshot::{Policy, TableOptions, Trigger, TriggerEnabled};

    use super::*;

    #[test]
    fn postgres_only_operations_are_recognised() {
        let mut table = Table::default();
        let create = |table: &Table| Operation::CreateTable {
            name: "t".into(),
            table: table.clone(),
        };
        assert!(!postgres_only(&create(&table)));
        table.options.row_security = true;
        assert!(postgres_only(&create(&table)));
        table.options = TableOptions::default();
        table.policies.insert("p".into(), Policy::default());
        assert!(postgres_only(&create(&table)));
        let trigger = Trigger {
            definition: "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END".into(),
            enabled: TriggerEnabled::Replica,
            comment: None,
        };
        assert!(postgres_only(&Operation::CreateTrigger {
            table: "t".into(),
            name: "tr".into(),
            trigger,
        }));
        let options = |unlogged| Operation::AlterTableOptions {
            table: "t".into(),
            from: TableOptions::default(),
            to: TableOptions {
                unlogged,
                strict: true,
                ..TableOptions::default()
            },
        };
        assert!(postgres_only(&options(true)));
        assert!(mysql_only(&Operation::AlterTableOptions {
            table: "t".into(),
            from: TableOptions::default(),
            to: TableOptions {
                row_format: Some("COMPRESSED".into()),
                ..TableOptions::default()
            },
        }));
        assert!(!mysql_only(&options(false)));
        assert!(!postgres_only(&options(false)));
        assert!(postgres_only(&Operation::DropPolicy {
            table: "t".into(),
            name: "p".into(),
            from: Policy::default(),
        }));
    }
}
