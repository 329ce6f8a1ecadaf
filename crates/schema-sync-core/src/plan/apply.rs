//! Applying a plan to a snapshot in memory.
//!
//! This is the model of what a runner does to a real database. It is strict: an
//! operation whose precondition does not hold (creating what exists, dropping what does
//! not, a foreign key to a missing table, dropping a table still referenced) is an error,
//! so property tests catch plans in the wrong order, not only plans with the wrong result.

use std::collections::BTreeMap;
use std::fmt;

use super::model::MigrationPlan;
use super::operation::{ColumnPlacement, CommentTarget, Operation};
use crate::snapshot::{Column, EnumType, SchemaSnapshot, Table};

/// An operation whose precondition does not hold on the snapshot it is applied to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ApplyError {
    /// The 1-based number of the failing step, when a whole plan was applied.
    pub step: Option<usize>,
    /// The failing operation, as it prints (`drop table orders`).
    pub operation: String,
    /// The precondition that does not hold (`table orders does not exist`).
    pub message: String,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(step) => write!(f, "step {step} ({}): {}", self.operation, self.message),
            None => write!(f, "{}: {}", self.operation, self.message),
        }
    }
}

impl MigrationPlan {
    /// Applies every step to `snapshot` in order.
    ///
    /// # Errors
    /// [`ApplyError`] naming the first step whose precondition does not hold; the steps
    /// before it have been applied.
    pub fn apply_to(&self, snapshot: &mut SchemaSnapshot) -> Result<(), ApplyError> {
        for (index, step) in self.steps.iter().enumerate() {
            step.operation.apply_to(snapshot).map_err(|e| ApplyError {
                step: Some(index + 1),
                ..e
            })?;
        }
        Ok(())
    }
}

fn insert_new<T>(
    map: &mut BTreeMap<String, T>,
    name: &str,
    value: T,
    kind: &str,
) -> Result<(), String> {
    if map.contains_key(name) {
        return Err(format!("{kind} {name} already exists"));
    }
    map.insert(name.to_string(), value);
    Ok(())
}

fn remove_existing<T>(map: &mut BTreeMap<String, T>, name: &str, kind: &str) -> Result<T, String> {
    map.remove(name)
        .ok_or_else(|| format!("{kind} {name} does not exist"))
}

fn replace_existing<T>(
    map: &mut BTreeMap<String, T>,
    name: &str,
    value: T,
    kind: &str,
) -> Result<(), String> {
    match map.get_mut(name) {
        Some(slot) => {
            *slot = value;
            Ok(())
        }
        None => Err(format!("{kind} {name} does not exist")),
    }
}

fn table_mut<'a>(snapshot: &'a mut SchemaSnapshot, table: &str) -> Result<&'a mut Table, String> {
    snapshot
        .tables
        .get_mut(table)
        .ok_or_else(|| format!("table {table} does not exist"))
}

impl Operation {
    /// Applies this operation to `snapshot`.
    ///
    /// # Errors
    /// [`ApplyError`] (without a step number) naming the unmet precondition; `snapshot`
    /// is unchanged.
    pub fn apply_to(&self, snapshot: &mut SchemaSnapshot) -> Result<(), ApplyError> {
        self.apply_or_describe(snapshot)
            .map_err(|message| ApplyError {
                step: None,
                operation: self.to_string(),
                message,
            })
    }

    /// Applies this operation, or describes the precondition that does not hold.
    fn apply_or_describe(&self, snapshot: &mut SchemaSnapshot) -> Result<(), String> {
        use Operation::*;
        match self {
            CreateExtension { name, extension } => insert_new(
                &mut snapshot.extensions,
                name,
                extension.clone(),
                "extension",
            ),
            DropExtension { name, .. } => {
                remove_existing(&mut snapshot.extensions, name, "extension").map(drop)
            }
            CreateEnum { name, values } => insert_new(
                &mut snapshot.enums,
                name,
                EnumType {
                    values: values.clone(),
                    comment: None,
                },
                "enum",
            ),
            AlterEnum { name, to, .. } => {
                replace_existing(&mut snapshot.enums, name, to.clone(), "enum")
            }
            DropEnum { name, .. } => {
                let used = snapshot
                    .tables
                    .iter()
                    .flat_map(|(t, table)| table.columns.iter().map(move |(c, col)| (t, c, col)))
                    .find(|(_, _, col)| {
                        col.data_type.schema.is_none() && &col.data_type.name == name
                    });
                if let Some((t, c, _)) = used {
                    return Err(format!("enum {name} is still used by {t}.{c}"));
                }
                remove_existing(&mut snapshot.enums, name, "enum").map(drop)
            }
            CreateSequence { name, sequence } => {
                insert_new(&mut snapshot.sequences, name, sequence.clone(), "sequence")
            }
            AlterSequence { name, to, .. } => {
                replace_existing(&mut snapshot.sequences, name, to.clone(), "sequence")
            }
            DropSequence { name, .. } => {
                remove_existing(&mut snapshot.sequences, name, "sequence").map(drop)
            }
            CreateTable { name, table } => {
                if snapshot.views.contains_key(name) {
                    return Err(format!("a view named {name} exists"));
                }
                insert_new(&mut snapshot.tables, name, table.clone(), "table")
            }
            DropTable { name, .. } => {
                let referencing = snapshot.tables.iter().find(|(t, table)| {
                    *t != name
                        && table.foreign_keys.values().any(|fk| {
                            fk.referenced_schema.is_none() && &fk.referenced_table == name
                        })
                });
                if let Some((t, _)) = referencing {
                    return Err(format!(
                        "table {name} is still referenced by a foreign key of {t}"
                    ));
                }
                if let Some((v, _)) = snapshot
                    .views
                    .iter()
                    .find(|(_, v)| v.depends_on.contains(name))
                {
                    return Err(format!("table {name} is still read by view {v}"));
                }
                remove_existing(&mut snapshot.tables, name, "table").map(drop)
            }
            AddColumn {
                table,
                name,
                column,
                placement,
            } => {
                let t = table_mut(snapshot, table)?;
                if t.columns.contains_key(name) {
                    return Err(format!("column {table}.{name} already exists"));
                }
                let after = match placement {
                    ColumnPlacement::Last => t.column_order().last().map(|c| c.to_string()),
                    ColumnPlacement::First => None,
                    ColumnPlacement::After(prev) => {
                        if !t.columns.contains_key(prev) {
                            return Err(format!(
                                "column {table}.{name} goes after {prev}, which does not exist"
                            ));
                        }
                        Some(prev.clone())
                    }
                };
                t.insert_column_after(name.clone(), column.clone(), after.as_deref());
                Ok(())
            }
            ReorderColumns { table, to, .. } => {
                let t = table_mut(snapshot, table)?;
                let mut live: Vec<&str> = t.column_order();
                let mut wanted: Vec<&str> = to.iter().map(String::as_str).collect();
                live.sort_unstable();
                wanted.sort_unstable();
                if live != wanted {
                    return Err(format!(
                        "reordering {table} names other columns than the table has"
                    ));
                }
                t.set_column_order(to);
                Ok(())
            }
            DropColumn { table, name, .. } => {
                let t = table_mut(snapshot, table)?;
                remove_existing(&mut t.columns, name, "column")?;
                t.renumber_columns();
                Ok(())
            }
            AlterColumn {
                table, name, to, ..
            } => {
                let t = table_mut(snapshot, table)?;
                // Altering a column never moves it.
                let position = t.columns.get(name).map_or(0, |c| c.position);
                let to = Column {
                    position,
                    ..to.clone()
                };
                replace_existing(&mut t.columns, name, to, "column")
            }
            AddPrimaryKey { table, key } => {
                let t = table_mut(snapshot, table)?;
                if t.primary_key.is_some() {
                    return Err(format!("table {table} already has a primary key"));
                }
                if let Some(missing) = key.columns.iter().find(|c| !t.columns.contains_key(*c)) {
                    return Err(format!(
                        "primary key column {table}.{missing} does not exist"
                    ));
                }
                t.primary_key = Some(key.clone());
                Ok(())
            }
            DropPrimaryKey { table, .. } => {
                let t = table_mut(snapshot, table)?;
                t.primary_key
                    .take()
                    .map(drop)
                    .ok_or_else(|| format!("table {table} has no primary key"))
            }
            AddUnique {
                table,
                name,
                unique,
            } => insert_new(
                &mut table_mut(snapshot, table)?.uniques,
                name,
                unique.clone(),
                "unique constraint",
            ),
            DropUnique { table, name, .. } => remove_existing(
                &mut table_mut(snapshot, table)?.uniques,
                name,
                "unique constraint",
            )
            .map(drop),
            AddCheck { table, name, check } => insert_new(
                &mut table_mut(snapshot, table)?.checks,
                name,
                check.clone(),
                "check constraint",
            ),
            DropCheck { table, name, .. } => remove_existing(
                &mut table_mut(snapshot, table)?.checks,
                name,
                "check constraint",
            )
            .map(drop),
            AddForeignKey {
                table,
                name,
                foreign_key,
            } => {
                if foreign_key.referenced_schema.is_none() {
                    let target = snapshot
                        .tables
                        .get(&foreign_key.referenced_table)
                        .ok_or_else(|| {
                            format!(
                                "referenced table {} does not exist",
                                foreign_key.referenced_table
                            )
                        })?;
                    if let Some(missing) = foreign_key
                        .referenced_columns
                        .iter()
                        .find(|c| !target.columns.contains_key(*c))
                    {
                        return Err(format!(
                            "referenced column {}.{missing} does not exist",
                            foreign_key.referenced_table
                        ));
                    }
                }
                insert_new(
                    &mut table_mut(snapshot, table)?.foreign_keys,
                    name,
                    foreign_key.clone(),
                    "foreign key",
                )
            }
            DropForeignKey { table, name, .. } => remove_existing(
                &mut table_mut(snapshot, table)?.foreign_keys,
                name,
                "foreign key",
            )
            .map(drop),
            CreateIndex { table, name, index } => {
                insert_new(indexes_mut(snapshot, table)?, name, index.clone(), "index")
            }
            DropIndex { table, name, .. } => {
                remove_existing(indexes_mut(snapshot, table)?, name, "index").map(drop)
            }
            CreateTrigger {
                table,
                name,
                trigger,
            } => insert_new(
                &mut table_mut(snapshot, table)?.triggers,
                name,
                trigger.clone(),
                "trigger",
            ),
            DropTrigger { table, name, .. } => {
                remove_existing(&mut table_mut(snapshot, table)?.triggers, name, "trigger")
                    .map(drop)
            }
            SetTableComment { table, comment } => {
                table_mut(snapshot, table)?.comment = comment.clone();
                Ok(())
            }
            AlterTableOptions { table, to, .. } => {
                table_mut(snapshot, table)?.options = to.clone();
                Ok(())
            }
            CreateView { name, view } => {
                if snapshot.tables.contains_key(name) {
                    return Err(format!("a table named {name} exists"));
                }
                if let Some(missing) = view
                    .depends_on
                    .iter()
                    .find(|d| !snapshot.tables.contains_key(*d) && !snapshot.views.contains_key(*d))
                {
                    return Err(format!("view {name} reads {missing}, which does not exist"));
                }
                insert_new(&mut snapshot.views, name, view.clone(), "view")
            }
            DropView { name, .. } => {
                if let Some((v, _)) = snapshot
                    .views
                    .iter()
                    .find(|(v, view)| *v != name && view.depends_on.contains(name))
                {
                    return Err(format!("view {name} is still read by view {v}"));
                }
                remove_existing(&mut snapshot.views, name, "view").map(drop)
            }
            CreateFunction { name, function } => {
                insert_new(&mut snapshot.functions, name, function.clone(), "function")
            }
            DropFunction { name, .. } => {
                remove_existing(&mut snapshot.functions, name, "function").map(drop)
            }
            CreateEvent { name, event } => {
                insert_new(&mut snapshot.events, name, event.clone(), "event")
            }
            DropEvent { name, .. } => {
                remove_existing(&mut snapshot.events, name, "event").map(drop)
            }
            SetComment {
                object: CommentTarget::ViewColumn { view, column },
                comment,
            } => {
                let comments = &mut snapshot
                    .views
                    .get_mut(view)
                    .ok_or_else(|| format!("view {view} does not exist"))?
                    .column_comments;
                match comment {
                    Some(text) => comments.insert(column.clone(), text.clone()),
                    None => comments.remove(column),
                };
                Ok(())
            }
            SetComment { object, comment } => {
                *comment_slot(snapshot, object)? = comment.clone();
                Ok(())
            }
            CreatePolicy {
                table,
                name,
                policy,
            } => insert_new(
                &mut table_mut(snapshot, table)?.policies,
                name,
                policy.clone(),
                "policy",
            ),
            DropPolicy { table, name, .. } => {
                remove_existing(&mut table_mut(snapshot, table)?.policies, name, "policy").map(drop)
            }
            SetTriggerEnabled {
                table, name, to, ..
            } => {
                let trigger = table_mut(snapshot, table)?
                    .triggers
                    .get_mut(name)
                    .ok_or_else(|| format!("trigger {name} on {table} does not exist"))?;
                trigger.enabled = *to;
                Ok(())
            }
            ValidateConstraint { table, name } => {
                let t = table_mut(snapshot, table)?;
                if let Some(fk) = t.foreign_keys.get_mut(name) {
                    fk.not_valid = false;
                } else if let Some(check) = t.checks.get_mut(name) {
                    check.not_valid = false;
                } else {
                    return Err(format!(
                        "constraint {name} on {table} is neither a foreign key nor a check"
                    ));
                }
                Ok(())
            }
            CreateDomain { name, domain } => {
                insert_new(&mut snapshot.domains, name, domain.clone(), "domain")
            }
            AlterDomain { name, to, .. } => {
                replace_existing(&mut snapshot.domains, name, to.clone(), "domain")
            }
            DropDomain { name, .. } => {
                let used = snapshot.tables.iter().find_map(|(t, table)| {
                    table
                        .columns
                        .iter()
                        .find(|(_, c)| c.data_type.schema.is_none() && &c.data_type.name == name)
                        .map(|(c, _)| format!("{t}.{c}"))
                });
                if let Some(column) = used {
                    return Err(format!("domain {name} is still used by {column}"));
                }
                remove_existing(&mut snapshot.domains, name, "domain").map(drop)
            }
            AttachPartition { table, partition } => {
                let parent = snapshot.tables.get(&partition.parent).ok_or_else(|| {
                    format!("partitioned table {} does not exist", partition.parent)
                })?;
                if parent.partition_by.is_none() {
                    return Err(format!("table {} is not partitioned", partition.parent));
                }
                let t = table_mut(snapshot, table)?;
                if t.partition_of.is_some() {
                    return Err(format!("table {table} is already a partition"));
                }
                t.partition_of = Some(partition.clone());
                Ok(())
            }
            DetachPartition { table, .. } => table_mut(snapshot, table)?
                .partition_of
                .take()
                .map(drop)
                .ok_or_else(|| format!("table {table} is not a partition")),
            SetPrivileges { object, to, .. } => {
                if to.is_empty() {
                    snapshot.privileges.remove(object);
                } else {
                    snapshot.privileges.insert(object.clone(), to.clone());
                }
                Ok(())
            }
        }
    }
}

/// The indexes of the table or materialized view `relation`.
fn indexes_mut<'a>(
    snapshot: &'a mut SchemaSnapshot,
    relation: &str,
) -> Result<&'a mut BTreeMap<String, crate::snapshot::Index>, String> {
    if !snapshot.views.contains_key(relation) {
        return Ok(&mut table_mut(snapshot, relation)?.indexes);
    }
    match snapshot.views.get_mut(relation) {
        Some(view) if view.materialized => Ok(&mut view.indexes),
        _ => Err(format!(
            "view {relation} is not materialized: it has no indexes"
        )),
    }
}

/// The comment of `object`, to be set.
fn comment_slot<'a>(
    snapshot: &'a mut SchemaSnapshot,
    object: &CommentTarget,
) -> Result<&'a mut Option<String>, String> {
    let missing = || format!("{object} does not exist");
    let view = |snapshot: &'a mut SchemaSnapshot, name: &str| {
        snapshot.views.get_mut(name).ok_or_else(missing)
    };
    Ok(match object {
        CommentTarget::Table { name } => &mut table_mut(snapshot, name)?.comment,
        CommentTarget::Column { table, column } => {
            &mut table_mut(snapshot, table)?
                .columns
                .get_mut(column)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::View { name, .. } => &mut view(snapshot, name)?.comment,
        CommentTarget::ViewColumn { .. } => {
            return Err(format!("{object}: a view column's comment is not a slot"));
        }
        CommentTarget::Index { table, name } => {
            &mut indexes_mut(snapshot, table)?
                .get_mut(name)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::Constraint { table, name } => {
            let t = table_mut(snapshot, table)?;
            if let Some(c) = t.checks.get_mut(name) {
                &mut c.comment
            } else if let Some(c) = t.foreign_keys.get_mut(name) {
                &mut c.comment
            } else if let Some(c) = t.uniques.get_mut(name) {
                &mut c.comment
            } else {
                match &mut t.primary_key {
                    Some(key) if key.name.as_deref() == Some(name.as_str()) => &mut key.comment,
                    _ => return Err(missing()),
                }
            }
        }
        CommentTarget::Trigger { table, name } => {
            &mut table_mut(snapshot, table)?
                .triggers
                .get_mut(name)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::Policy { table, name } => {
            &mut table_mut(snapshot, table)?
                .policies
                .get_mut(name)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::Function { signature } => {
            &mut snapshot
                .functions
                .get_mut(signature)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::Sequence { name } => {
            &mut snapshot
                .sequences
                .get_mut(name)
                .ok_or_else(missing)?
                .comment
        }
        CommentTarget::Type { name } => {
            &mut snapshot.enums.get_mut(name).ok_or_else(missing)?.comment
        }
        CommentTarget::Domain { name } => {
            &mut snapshot.domains.get_mut(name).ok_or_else(missing)?.comment
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanStep;
    use crate::testing::{TableBuilder, snapshot};

    fn step(operation: Operation) -> PlanStep {
        PlanStep {
            outside_transaction: false,
            algorithm: None,
            operation,
            destructive: false,
            hazards: Vec::new(),
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn the_first_unmet_precondition_names_its_step() {
        let orders = TableBuilder::new().column("id", "integer", true).build();
        let mut live = snapshot([("orders", orders.clone())]);
        let drop_orders = Operation::DropTable {
            name: "orders".into(),
            from: orders,
        };
        let plan = MigrationPlan {
            source_hash: live.hash(),
            target_hash: SchemaSnapshot::empty().hash(),
            steps: vec![step(drop_orders.clone()), step(drop_orders)],
            unresolved: Vec::new(),
            strict_column_order: false,
        };
        let error = plan.apply_to(&mut live).err();
        assert_eq!(
            error,
            Some(ApplyError {
                step: Some(2),
                operation: "drop table orders (1 column)".into(),
                message: "table orders does not exist".into(),
            })
        );
        assert_eq!(
            error.map(|e| e.to_string()).unwrap_or_default(),
            "step 2 (drop table orders (1 column)): table orders does not exist"
        );
        assert!(live.tables.is_empty(), "the first step was applied");
    }

    #[test]
    fn an_operation_alone_has_no_step_number() {
        let mut live = SchemaSnapshot::empty();
        let error = Operation::DropIndex {
            table: "orders".into(),
            name: "orders_idx".into(),
            from: crate::snapshot::Index {
                parts: vec![crate::snapshot::IndexPart::column("id")],
                unique: false,
                method: None,
                predicate: None,
                include: Vec::new(),
                invisible: false,
                ..Default::default()
            },
        }
        .apply_to(&mut live)
        .err();
        assert_eq!(error.as_ref().and_then(|e| e.step), None);
        assert_eq!(
            error.map(|e| e.to_string()).unwrap_or_default(),
            "drop index orders_idx on orders: table orders does not exist"
        );
    }
}
