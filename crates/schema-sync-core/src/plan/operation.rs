//! Plan operations: changes as data, rendered to SQL by each adapter's runner.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::diff::column_definition;
use crate::diff::render_columns as columns;
use crate::snapshot::{
    CheckConstraint, Column, Domain, EnumType, Event, Extension, ForeignKey, Function, Grant,
    Index, PartitionOf, Policy, PrimaryKey, Sequence, Table, TableOptions, Trigger, TriggerEnabled,
    UniqueConstraint, View,
};

fn required_by_default() -> bool {
    true
}

/// Where an added column goes, relative to the columns the table already has.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnPlacement {
    /// After every existing column (the only place PostgreSQL can add one).
    #[default]
    Last,
    /// Before every existing column (MySQL `FIRST`).
    First,
    /// Directly after the named column (MySQL `AFTER col`).
    After(String),
}

impl ColumnPlacement {
    /// Whether the column simply goes at the end.
    pub fn is_last(&self) -> bool {
        *self == ColumnPlacement::Last
    }
}

/// The object a comment is set on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(missing_docs)] // Field names (table, name, column) say what they hold.
pub enum CommentTarget {
    /// A table.
    Table { name: String },
    /// A table's column.
    Column { table: String, column: String },
    /// A view or materialized view.
    View { name: String, materialized: bool },
    /// A view's or materialized view's column.
    ViewColumn { view: String, column: String },
    /// An index of a table or materialized view.
    Index { table: String, name: String },
    /// A table constraint (primary key, unique, check, foreign key).
    Constraint { table: String, name: String },
    /// A trigger.
    Trigger { table: String, name: String },
    /// A row-level security policy.
    Policy { table: String, name: String },
    /// A function or procedure, by signature.
    Function { signature: String },
    /// A sequence.
    Sequence { name: String },
    /// An enum type.
    Type { name: String },
    /// A domain.
    Domain { name: String },
}

impl fmt::Display for CommentTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommentTarget::Table { name } => write!(f, "table {name}"),
            CommentTarget::Column { table, column } => write!(f, "column {table}.{column}"),
            CommentTarget::View { name, materialized } => {
                let kind = if *materialized {
                    "materialized view"
                } else {
                    "view"
                };
                write!(f, "{kind} {name}")
            }
            CommentTarget::ViewColumn { view, column } => write!(f, "column {view}.{column}"),
            CommentTarget::Index { table, name } => write!(f, "index {name} on {table}"),
            CommentTarget::Constraint { table, name } => {
                write!(f, "constraint {name} on {table}")
            }
            CommentTarget::Trigger { table, name } => write!(f, "trigger {name} on {table}"),
            CommentTarget::Policy { table, name } => write!(f, "policy {name} on {table}"),
            CommentTarget::Function { signature } => write!(f, "function {signature}"),
            CommentTarget::Sequence { name } => write!(f, "sequence {name}"),
            CommentTarget::Type { name } => write!(f, "type {name}"),
            CommentTarget::Domain { name } => write!(f, "domain {name}"),
        }
    }
}

/// One database-agnostic schema change.
///
/// Drop operations carry the dropped object so a renderer has everything it needs and a
/// refusal can say exactly what would be lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
#[allow(missing_docs)] // Field names (table, name, from, to) say what they hold.
pub enum Operation {
    /// Install an extension.
    CreateExtension { name: String, extension: Extension },
    /// Remove an extension.
    DropExtension { name: String, from: Extension },
    /// Create an enum type.
    CreateEnum { name: String, values: Vec<String> },
    /// Change an enum's labels.
    AlterEnum {
        name: String,
        from: EnumType,
        to: EnumType,
    },
    /// Drop an enum type.
    DropEnum { name: String, from: EnumType },
    /// Create a sequence.
    CreateSequence { name: String, sequence: Sequence },
    /// Change a sequence's parameters.
    AlterSequence {
        name: String,
        from: Sequence,
        to: Sequence,
    },
    /// Drop a sequence.
    DropSequence { name: String, from: Sequence },
    /// Create a table with its columns, primary key, unique and check constraints, comment
    /// and options. Indexes, foreign keys and triggers follow as their own steps.
    CreateTable { name: String, table: Table },
    /// Drop a table.
    DropTable { name: String, from: Table },
    /// Add a column. `placement` says where the target has it; a database that can only
    /// append (PostgreSQL) appends and leaves a column-order difference.
    AddColumn {
        table: String,
        name: String,
        column: Column,
        #[serde(default, skip_serializing_if = "ColumnPlacement::is_last")]
        placement: ColumnPlacement,
    },
    /// Put a table's existing columns into the target's order (MySQL `MODIFY ... AFTER`,
    /// a SQLite rebuild); `columns` holds the target's definition of every column, for
    /// dialects that must restate it. When not `required` (column order is not strict)
    /// it is a hint: a database that rebuilds the table anyway uses this order, others
    /// do nothing.
    ReorderColumns {
        table: String,
        from: Vec<String>,
        to: Vec<String>,
        columns: BTreeMap<String, Column>,
        #[serde(default = "required_by_default")]
        required: bool,
    },
    /// Drop a column.
    DropColumn {
        table: String,
        name: String,
        from: Column,
    },
    /// Change a column's type, nullability, default, identity, generation, collation or comment.
    AlterColumn {
        table: String,
        name: String,
        from: Column,
        to: Column,
    },
    /// Add a primary key.
    AddPrimaryKey { table: String, key: PrimaryKey },
    /// Drop the primary key.
    DropPrimaryKey { table: String, from: PrimaryKey },
    /// Add a unique constraint.
    AddUnique {
        table: String,
        name: String,
        unique: UniqueConstraint,
    },
    /// Drop a unique constraint.
    DropUnique {
        table: String,
        name: String,
        from: UniqueConstraint,
    },
    /// Add a check constraint.
    AddCheck {
        table: String,
        name: String,
        check: CheckConstraint,
    },
    /// Drop a check constraint.
    DropCheck {
        table: String,
        name: String,
        from: CheckConstraint,
    },
    /// Add a foreign key.
    AddForeignKey {
        table: String,
        name: String,
        foreign_key: ForeignKey,
    },
    /// Drop a foreign key.
    DropForeignKey {
        table: String,
        name: String,
        from: ForeignKey,
    },
    /// Create an index.
    CreateIndex {
        table: String,
        name: String,
        index: Index,
    },
    /// Drop an index.
    DropIndex {
        table: String,
        name: String,
        from: Index,
    },
    /// Create a trigger.
    CreateTrigger {
        table: String,
        name: String,
        trigger: Trigger,
    },
    /// Drop a trigger.
    DropTrigger {
        table: String,
        name: String,
        from: Trigger,
    },
    /// Set or clear a table comment.
    SetTableComment {
        table: String,
        comment: Option<String>,
    },
    /// Change a table's storage options.
    AlterTableOptions {
        table: String,
        from: TableOptions,
        to: TableOptions,
    },
    /// Create a view or materialized view.
    CreateView { name: String, view: View },
    /// Drop a view or materialized view.
    DropView { name: String, from: View },
    /// Create a function.
    CreateFunction { name: String, function: Function },
    /// Drop a function.
    DropFunction { name: String, from: Function },
    /// Create a scheduled event (MySQL).
    CreateEvent { name: String, event: Event },
    /// Drop a scheduled event (MySQL).
    DropEvent { name: String, from: Event },
    /// Set or clear the comment on any object other than a table (see
    /// [`SetTableComment`](Operation::SetTableComment)) or a table column (part of
    /// [`AlterColumn`](Operation::AlterColumn)).
    SetComment {
        object: CommentTarget,
        comment: Option<String>,
    },
    /// Create a row-level security policy.
    CreatePolicy {
        table: String,
        name: String,
        policy: Policy,
    },
    /// Drop a row-level security policy.
    DropPolicy {
        table: String,
        name: String,
        from: Policy,
    },
    /// Change when a trigger fires (enable, disable, replica, always).
    SetTriggerEnabled {
        table: String,
        name: String,
        from: TriggerEnabled,
        to: TriggerEnabled,
    },
    /// Check the existing rows against a `NOT VALID` constraint and mark it valid.
    ValidateConstraint { table: String, name: String },
    /// Create a domain.
    CreateDomain { name: String, domain: Domain },
    /// Change a domain's default, nullability or checks.
    AlterDomain {
        name: String,
        from: Domain,
        to: Domain,
    },
    /// Drop a domain.
    DropDomain { name: String, from: Domain },
    /// Attach an existing table as a partition of a partitioned table.
    AttachPartition {
        table: String,
        partition: PartitionOf,
    },
    /// Detach a partition from its partitioned table; the table and its rows stay.
    DetachPartition { table: String, from: PartitionOf },
    /// Grant and revoke privileges on one object so that it has exactly `to`; `object`
    /// is a [`PrivilegeTarget`](crate::snapshot::PrivilegeTarget) key.
    SetPrivileges {
        object: String,
        from: std::collections::BTreeSet<Grant>,
        to: std::collections::BTreeSet<Grant>,
    },
}

impl Operation {
    /// The MySQL/MariaDB-only column and index attributes this operation would create
    /// (`INVISIBLE`, `COMPRESSED`, `SRID`, `ZEROFILL`, key prefix lengths, `WITH
    /// PARSER`), with the object that has them, if any: the other adapters refuse such
    /// an operation rather than drop the attribute.
    pub fn mysql_only_attributes(&self) -> Option<(String, Vec<&'static str>)> {
        use Operation::*;
        let found = |object: String, attributes: Vec<&'static str>| {
            (!attributes.is_empty()).then_some((object, attributes))
        };
        let indexes = |relation: &str, indexes: &BTreeMap<String, Index>| {
            indexes.iter().find_map(|(name, index)| {
                found(format!("{relation}.{name}"), index.mysql_only_attributes())
            })
        };
        match self {
            CreateTable { name, table } => table
                .columns
                .iter()
                .find_map(|(column, c)| {
                    found(format!("{name}.{column}"), c.mysql_only_attributes())
                })
                .or_else(|| indexes(name, &table.indexes)),
            AddColumn {
                table,
                name,
                column,
                ..
            } => found(format!("{table}.{name}"), column.mysql_only_attributes()),
            AlterColumn {
                table, name, to, ..
            } => found(format!("{table}.{name}"), to.mysql_only_attributes()),
            CreateIndex { table, name, index } => {
                found(format!("{table}.{name}"), index.mysql_only_attributes())
            }
            CreateView { name, view } => indexes(name, &view.indexes),
            _ => None,
        }
    }

    /// The table this operation changes, for table-level operations.
    pub fn table(&self) -> Option<&str> {
        use Operation::*;
        match self {
            CreateTable { name, .. } | DropTable { name, .. } => Some(name),
            AddColumn { table, .. }
            | ReorderColumns { table, .. }
            | DropColumn { table, .. }
            | AlterColumn { table, .. }
            | AddPrimaryKey { table, .. }
            | DropPrimaryKey { table, .. }
            | AddUnique { table, .. }
            | DropUnique { table, .. }
            | AddCheck { table, .. }
            | DropCheck { table, .. }
            | AddForeignKey { table, .. }
            | DropForeignKey { table, .. }
            | CreateIndex { table, .. }
            | DropIndex { table, .. }
            | CreateTrigger { table, .. }
            | DropTrigger { table, .. }
            | SetTableComment { table, .. }
            | AlterTableOptions { table, .. }
            | CreatePolicy { table, .. }
            | DropPolicy { table, .. }
            | SetTriggerEnabled { table, .. }
            | ValidateConstraint { table, .. }
            | AttachPartition { table, .. }
            | DetachPartition { table, .. } => Some(table),
            _ => None,
        }
    }
}

impl fmt::Display for Operation {
    /// One line in SQL terms: `add column users.email text not null after name`,
    /// `alter column users.name: type varchar(50) -> varchar(100), nullable -> not null`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Operation::*;
        match self {
            CreateExtension { name, extension } => {
                write!(f, "create extension {name}")?;
                if extension.schema.is_some() {
                    write!(f, " ({extension})")?;
                }
                Ok(())
            }
            DropExtension { name, .. } => write!(f, "drop extension {name}"),
            CreateEnum { name, values } => write!(
                f,
                "create enum {name} {}",
                EnumType {
                    values: values.clone(),
                    comment: None,
                }
            ),
            AlterEnum { name, from, to } => write!(f, "alter enum {name} {from} -> {to}"),
            DropEnum { name, from } => write!(f, "drop enum {name} {from}"),
            CreateSequence { name, sequence } => write!(f, "create sequence {name} {sequence}"),
            AlterSequence { name, from, to } => write!(
                f,
                "alter sequence {name}: {}",
                crate::diff::Change::Modified {
                    from: from.clone(),
                    to: to.clone()
                }
            ),
            DropSequence { name, .. } => write!(f, "drop sequence {name}"),
            CreateTable { name, table } => {
                write!(f, "create table {name} ({})", columns(table.columns.len()))
            }
            DropTable { name, from } => {
                write!(f, "drop table {name} ({})", columns(from.columns.len()))
            }
            AddColumn {
                table,
                name,
                column,
                placement,
            } => {
                write!(f, "add column {table}.{name} {}", column_definition(column))?;
                match placement {
                    ColumnPlacement::Last => Ok(()),
                    ColumnPlacement::First => write!(f, ", as the first column"),
                    ColumnPlacement::After(prev) => write!(f, ", after column {prev}"),
                }
            }
            ReorderColumns {
                table,
                from,
                to,
                required,
                ..
            } => write!(
                f,
                "reorder columns of {table}: ({}) -> ({}){}",
                from.join(", "),
                to.join(", "),
                if *required {
                    ""
                } else {
                    ", only if the table is rebuilt"
                }
            ),
            DropColumn { table, name, from } => {
                write!(
                    f,
                    "drop column {table}.{name} ({})",
                    column_definition(from)
                )
            }
            AlterColumn {
                table,
                name,
                from,
                to,
            } => write!(
                f,
                "alter column {table}.{name}: {}",
                crate::diff::Change::Modified {
                    from: from.clone(),
                    to: to.clone()
                }
            ),
            AddPrimaryKey { table, key } => write!(f, "add primary key on {table} {key}"),
            DropPrimaryKey { table, from } => write!(f, "drop primary key on {table} {from}"),
            AddUnique {
                table,
                name,
                unique,
            } => write!(f, "add unique {name} on {table} {unique}"),
            DropUnique { table, name, .. } => write!(f, "drop unique {name} on {table}"),
            AddCheck { table, name, check } => write!(f, "add check {name} on {table} {check}"),
            DropCheck { table, name, .. } => write!(f, "drop check {name} on {table}"),
            AddForeignKey {
                table,
                name,
                foreign_key,
            } => {
                write!(
                    f,
                    "add foreign key {name} on {table} ({}) -> {}",
                    foreign_key.columns.join(", "),
                    foreign_key.referenced_table
                )?;
                if !foreign_key.on_delete.is_no_action() {
                    write!(f, " on delete {}", foreign_key.on_delete)?;
                }
                if !foreign_key.on_update.is_no_action() {
                    write!(f, " on update {}", foreign_key.on_update)?;
                }
                if !foreign_key.deferrable.is_not_deferrable() {
                    write!(f, " {}", foreign_key.deferrable)?;
                }
                Ok(())
            }
            DropForeignKey { table, name, .. } => write!(f, "drop foreign key {name} on {table}"),
            CreateIndex { table, name, index } => {
                let unique = if index.unique { "unique " } else { "" };
                write!(f, "create {unique}index {name} on {table}")?;
                if let Some(method) = &index.method {
                    write!(f, " using {method}")?;
                }
                if let Some(predicate) = &index.predicate {
                    write!(f, " where {predicate}")?;
                }
                Ok(())
            }
            DropIndex { table, name, .. } => write!(f, "drop index {name} on {table}"),
            CreateTrigger { table, name, .. } => write!(f, "create trigger {name} on {table}"),
            DropTrigger { table, name, .. } => write!(f, "drop trigger {name} on {table}"),
            SetTableComment { table, comment } => match comment {
                Some(comment) => write!(
                    f,
                    "set comment on {table} to '{}'",
                    comment.replace('\'', "''")
                ),
                None => write!(f, "remove the comment on {table}"),
            },
            AlterTableOptions { table, from, to } => write!(
                f,
                "alter options of {table}: {}",
                crate::diff::Change::Modified {
                    from: from.clone(),
                    to: to.clone()
                }
            ),
            CreateView { name, view } => {
                write!(
                    f,
                    "create {}view {name}",
                    if view.materialized {
                        "materialized "
                    } else {
                        ""
                    }
                )
            }
            DropView { name, from } => {
                write!(
                    f,
                    "drop {}view {name}",
                    if from.materialized {
                        "materialized "
                    } else {
                        ""
                    }
                )
            }
            CreateFunction { name, .. } => write!(f, "create function {name}"),
            DropFunction { name, .. } => write!(f, "drop function {name}"),
            CreateEvent { name, .. } => write!(f, "create event {name}"),
            DropEvent { name, .. } => write!(f, "drop event {name}"),
            SetComment { object, comment } => match comment {
                Some(comment) => write!(
                    f,
                    "set comment on {object} to '{}'",
                    comment.replace('\'', "''")
                ),
                None => write!(f, "remove the comment on {object}"),
            },
            CreatePolicy { table, name, .. } => write!(f, "create policy {name} on {table}"),
            DropPolicy { table, name, .. } => write!(f, "drop policy {name} on {table}"),
            SetTriggerEnabled {
                table,
                name,
                from,
                to,
            } => write!(f, "trigger {name} on {table}: {from} -> {to}"),
            ValidateConstraint { table, name } => {
                write!(f, "validate constraint {name} on {table}")
            }
            CreateDomain { name, .. } => write!(f, "create domain {name}"),
            AlterDomain { name, .. } => write!(f, "alter domain {name}"),
            DropDomain { name, .. } => write!(f, "drop domain {name}"),
            AttachPartition { table, partition } => write!(
                f,
                "attach {table} to {} {}",
                partition.parent, partition.bound
            ),
            DetachPartition { table, from } => {
                write!(f, "detach partition {table} from {}", from.parent)
            }
            SetPrivileges { object, from, to } => {
                let grants = |set: &std::collections::BTreeSet<Grant>| -> String {
                    set.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                write!(
                    f,
                    "privileges on {object}: [{}] -> [{}]",
                    grants(from),
                    grants(to)
                )
            }
        }
    }
}
