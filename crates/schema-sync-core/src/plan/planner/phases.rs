//! The phases of the default planner, one function each, in the order
//! [`DefaultPlanner`](super::DefaultPlanner) runs them, and the small helpers that push
//! one operation per changed object.

use std::collections::{BTreeMap, BTreeSet};

use super::order::{self, TablePart};
use super::{PlanContext, domains, partitions};
use crate::diff::{Change, Named, TableModification};
use crate::plan::classify::PlanBuilder;
use crate::plan::operation::{ColumnPlacement, Operation};
use crate::snapshot::{Column, EnumType, ForeignKey, Table};

/// Phase 1: drops views that are removed, changed, or read a table that changes shape,
/// each before the views it reads.
pub(super) fn drop_views(cx: &mut PlanContext<'_>) {
    let from = cx.from;
    for name in order::view_order(&from.views, &cx.views_to_drop)
        .into_iter()
        .rev()
    {
        if let Some(view) = from.views.get(name) {
            cx.builder.push(Operation::DropView {
                name: name.to_string(),
                from: view.clone(),
            });
        }
    }
}

/// Phase 2: detaches partitions that move, then drops the policies, triggers, foreign
/// keys, indexes, constraints and primary keys of surviving tables that go away or
/// change, the policies that must step aside while a column of their table changes type,
/// and the foreign keys that must step aside while a key they reference changes.
pub(super) fn drop_table_parts(cx: &mut PlanContext<'_>) {
    partitions::detach_moved(cx);
    let builder = &mut cx.builder;
    for (table, m) in &cx.modified {
        // Policies first: their expressions may read what is dropped below.
        push_parts(
            builder,
            table,
            &m.policies,
            Change::from,
            |table, name, from| Operation::DropPolicy { table, name, from },
        );
    }
    push_table_parts(
        builder,
        cx.policies_to_readd.iter().cloned(),
        |table, name, from| Operation::DropPolicy { table, name, from },
    );
    for (table, m) in &cx.modified {
        push_parts(
            builder,
            table,
            &m.triggers,
            Change::from,
            |table, name, from| Operation::DropTrigger { table, name, from },
        );
    }
    for (table, m) in &cx.modified {
        push_parts(
            builder,
            table,
            &m.foreign_keys,
            Change::from,
            drop_foreign_key,
        );
    }
    push_table_parts(
        builder,
        cx.foreign_keys_to_readd.iter().cloned(),
        drop_foreign_key,
    );
    for (table, m) in &cx.modified {
        push_parts(
            builder,
            table,
            &m.indexes,
            Change::from,
            |table, name, from| Operation::DropIndex { table, name, from },
        );
        push_parts(
            builder,
            table,
            &m.checks,
            Change::from,
            |table, name, from| Operation::DropCheck { table, name, from },
        );
        push_parts(
            builder,
            table,
            &m.uniques,
            Change::from,
            |table, name, from| Operation::DropUnique { table, name, from },
        );
        if let Some(old) = m.primary_key.as_ref().and_then(Change::from) {
            builder.push(Operation::DropPrimaryKey {
                table: table.to_string(),
                from: old.clone(),
            });
        }
    }
}

/// Phase 3: drops tables, referencing before referenced; reference cycles are broken by
/// first dropping the foreign keys that close them.
pub(super) fn drop_tables(cx: &mut PlanContext<'_>) {
    let (drop_order, cycle_foreign_keys) = order::drop_order(&cx.removed_tables);
    push_table_parts(&mut cx.builder, cycle_foreign_keys, drop_foreign_key);
    for name in drop_order {
        if let Some(table) = cx.removed_tables.get(name.as_str()) {
            cx.builder.push(Operation::DropTable {
                from: (*table).clone(),
                name,
            });
        }
    }
}

/// Phase 4: creates extensions, creates or alters enums, sequences and domains (a domain
/// may be over an enum, and its default may read a sequence), and creates new functions:
/// tables may use all of them (defaults, checks and generated columns may call
/// functions).
pub(super) fn create_types_sequences_and_functions(cx: &mut PlanContext<'_>) {
    let diff = cx.diff;
    let builder = &mut cx.builder;
    push_objects(builder, &diff.extensions, added, |name, extension| {
        Operation::CreateExtension { name, extension }
    });
    push_created_or_altered(
        builder,
        &diff.enums,
        |name, created: EnumType| Operation::CreateEnum {
            name,
            values: created.values,
        },
        |name, from, to| Operation::AlterEnum { name, from, to },
    );
    push_created_or_altered(
        builder,
        &diff.sequences,
        |name, sequence| Operation::CreateSequence { name, sequence },
        |name, from, to| Operation::AlterSequence { name, from, to },
    );
    domains::create_or_alter(cx);
    push_objects(&mut cx.builder, &diff.functions, added, |name, function| {
        Operation::CreateFunction { name, function }
    });
}

/// Phase 5: creates new tables without their foreign keys, indexes, triggers and policies
/// (phases 6 and 8 add those; partitioned tables before their partitions), then adds,
/// alters, drops and reorders the columns of surviving tables and changes their comment
/// and options.
pub(super) fn tables_and_columns(cx: &mut PlanContext<'_>) {
    let target = cx.to;
    for (name, to) in partitions::creation_order(cx) {
        let bare = Table {
            foreign_keys: BTreeMap::new(),
            indexes: BTreeMap::new(),
            triggers: BTreeMap::new(),
            policies: BTreeMap::new(),
            ..to.clone()
        };
        cx.builder.push(Operation::CreateTable {
            name: name.to_string(),
            table: bare,
        });
    }
    let builder = &mut cx.builder;
    for (table, m) in &cx.modified {
        let target_table = target.tables.get(*table);
        add_columns(builder, table, m, target_table);
        for column in &m.columns {
            if let Change::Modified { from, to } = &column.change {
                builder.push(Operation::AlterColumn {
                    table: table.to_string(),
                    name: column.name.clone(),
                    from: from.clone(),
                    to: to.clone(),
                });
            }
        }
        push_parts(builder, table, &m.columns, removed, |table, name, from| {
            Operation::DropColumn { table, name, from }
        });
        // A required reorder when column order is strict; otherwise a hint for databases
        // that rebuild the table anyway, and only when something else changes it.
        if let (Some(order), Some(target_table)) = (&m.column_order, target_table)
            && (!order.optional || m.change_count() > 0)
        {
            builder.push(Operation::ReorderColumns {
                table: table.to_string(),
                from: order.from.clone(),
                to: order.to.clone(),
                columns: target_table.columns.clone(),
                required: !order.optional,
            });
        }
        if let Some(comment) = &m.comment {
            builder.push(Operation::SetTableComment {
                table: table.to_string(),
                comment: comment.to().cloned(),
            });
        }
        if let Some(Change::Modified { from, to }) = &m.options {
            builder.push(Operation::AlterTableOptions {
                table: table.to_string(),
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
}

/// Adds the new columns of `table` in target order, each placed after its target
/// predecessor (at the end when the target table keeps no order).
fn add_columns(
    builder: &mut PlanBuilder,
    table: &str,
    m: &TableModification,
    target: Option<&Table>,
) {
    let mut columns: Vec<(&String, &Column)> = m
        .columns
        .iter()
        .filter_map(|c| added(&c.change).map(|column| (&c.name, column)))
        .collect();
    columns.sort_by_key(|(name, column)| (column.position, name.as_str()));
    for (name, column) in columns {
        builder.push(Operation::AddColumn {
            table: table.to_string(),
            name: name.clone(),
            column: column.clone(),
            placement: target.map_or(ColumnPlacement::Last, |t| order::placement_in(t, name)),
        });
    }
}

/// Phase 6: adds primary keys, unique and check constraints, then every new index, then
/// every new foreign key (so foreign keys between new tables, even cyclic ones, always
/// find their target), then the foreign keys phase 2 set aside, then attaches the
/// partitions phase 2 detached.
pub(super) fn keys_constraints_indexes_and_foreign_keys(cx: &mut PlanContext<'_>) {
    let diff = cx.diff;
    let builder = &mut cx.builder;
    for (table, m) in &cx.modified {
        if let Some(key) = m.primary_key.as_ref().and_then(Change::to) {
            builder.push(Operation::AddPrimaryKey {
                table: table.to_string(),
                key: key.clone(),
            });
        }
        push_parts(
            builder,
            table,
            &m.uniques,
            Change::to,
            |table, name, unique| Operation::AddUnique {
                table,
                name,
                unique,
            },
        );
        push_parts(
            builder,
            table,
            &m.checks,
            Change::to,
            |table, name, check| Operation::AddCheck { table, name, check },
        );
    }
    push_table_parts(
        builder,
        order::new_parts(diff, &cx.modified, |t| &t.indexes, |m| &m.indexes),
        |table, name, index| Operation::CreateIndex { table, name, index },
    );
    push_table_parts(
        builder,
        order::new_parts(diff, &cx.modified, |t| &t.foreign_keys, |m| &m.foreign_keys),
        add_foreign_key,
    );
    push_table_parts(
        builder,
        cx.foreign_keys_to_readd.iter().cloned(),
        add_foreign_key,
    );
    partitions::attach_moved(cx);
}

/// Phase 7: drops sequences, domains, enums, functions and events (changed ones come back
/// in phase 8) and extensions that the target no longer has, now that nothing uses them.
pub(super) fn drop_unused_objects(cx: &mut PlanContext<'_>) {
    let diff = cx.diff;
    let builder = &mut cx.builder;
    push_objects(builder, &diff.sequences, removed, |name, from| {
        Operation::DropSequence { name, from }
    });
    domains::drop_removed(cx);
    let builder = &mut cx.builder;
    push_objects(builder, &diff.enums, removed, |name, from| {
        Operation::DropEnum { name, from }
    });
    push_objects(builder, &diff.functions, Change::from, |name, from| {
        Operation::DropFunction { name, from }
    });
    push_objects(builder, &diff.events, Change::from, |name, from| {
        Operation::DropEvent { name, from }
    });
    push_objects(builder, &diff.extensions, removed, |name, from| {
        Operation::DropExtension { name, from }
    });
}

/// Phase 8: recreates changed functions (dropped in phase 7), then creates new views and
/// the views phase 1 dropped (dependencies first), then new and changed events, triggers and
/// new, changed and set-aside policies (both may call functions; a policy may read
/// views).
pub(super) fn recreate_functions_views_and_triggers(cx: &mut PlanContext<'_>) {
    let (from, to, diff) = (cx.from, cx.to, cx.diff);
    let builder = &mut cx.builder;
    push_objects(builder, &diff.functions, modified, |name, function| {
        Operation::CreateFunction { name, function }
    });
    let views_to_create: BTreeSet<&str> = to
        .views
        .keys()
        .map(String::as_str)
        .filter(|name| cx.views_to_drop.contains(name) || !from.views.contains_key(*name))
        .collect();
    for name in order::view_order(&to.views, &views_to_create) {
        if let Some(view) = to.views.get(name) {
            builder.push(Operation::CreateView {
                name: name.to_string(),
                view: view.clone(),
            });
        }
    }
    // Events run routines and read tables only when they fire: after both.
    push_objects(builder, &diff.events, Change::to, |name, event| {
        Operation::CreateEvent { name, event }
    });
    push_table_parts(
        builder,
        order::new_parts(diff, &cx.modified, |t| &t.triggers, |m| &m.triggers),
        |table, name, trigger| Operation::CreateTrigger {
            table,
            name,
            trigger,
        },
    );
    let policies = order::new_parts(diff, &cx.modified, |t| &t.policies, |m| &m.policies);
    push_table_parts(
        builder,
        policies
            .into_iter()
            .chain(cx.policies_to_readd.iter().cloned()),
        |table, name, policy| Operation::CreatePolicy {
            table,
            name,
            policy,
        },
    );
}

/// The state of an object that is new in the target.
fn added<T>(change: &Change<T>) -> Option<&T> {
    match change {
        Change::Added { to } => Some(to),
        _ => None,
    }
}

/// The state of an object that the target no longer has.
fn removed<T>(change: &Change<T>) -> Option<&T> {
    match change {
        Change::Removed { from } => Some(from),
        _ => None,
    }
}

/// The target state of an object present on both sides.
fn modified<T>(change: &Change<T>) -> Option<&T> {
    match change {
        Change::Modified { to, .. } => Some(to),
        _ => None,
    }
}

/// Pushes `make(name, state)` for every object in `changes`, in diff order, whose
/// change has the state `select` picks (`Change::from` for drops, [`added`] for
/// creations, ...).
fn push_objects<T: Clone>(
    builder: &mut PlanBuilder,
    changes: &[Named<T>],
    select: fn(&Change<T>) -> Option<&T>,
    make: impl Fn(String, T) -> Operation,
) {
    for change in changes {
        if let Some(state) = select(&change.change) {
            builder.push(make(change.name.clone(), state.clone()));
        }
    }
}

/// Pushes `make(table, name, state)` for every part of `table` in `changes`, in diff
/// order, whose change has the state `select` picks (`Change::from` for drops,
/// `Change::to` for additions).
fn push_parts<T: Clone>(
    builder: &mut PlanBuilder,
    table: &str,
    changes: &[Named<T>],
    select: fn(&Change<T>) -> Option<&T>,
    make: impl Fn(String, String, T) -> Operation,
) {
    for change in changes {
        if let Some(state) = select(&change.change) {
            builder.push(make(table.to_string(), change.name.clone(), state.clone()));
        }
    }
}

/// Pushes `make(table, name, part)` for every part, in order.
fn push_table_parts<T>(
    builder: &mut PlanBuilder,
    parts: impl IntoIterator<Item = TablePart<T>>,
    make: impl Fn(String, String, T) -> Operation,
) {
    for TablePart { table, name, part } in parts {
        builder.push(make(table, name, part));
    }
}

/// Pushes, in diff order, `create(name, to)` for every added object and
/// `alter(name, from, to)` for every modified one.
fn push_created_or_altered<T: Clone>(
    builder: &mut PlanBuilder,
    changes: &[Named<T>],
    create: impl Fn(String, T) -> Operation,
    alter: impl Fn(String, T, T) -> Operation,
) {
    for change in changes {
        let name = change.name.clone();
        match &change.change {
            Change::Added { to } => builder.push(create(name, to.clone())),
            Change::Modified { from, to } => builder.push(alter(name, from.clone(), to.clone())),
            Change::Removed { .. } => {}
        }
    }
}

/// Drops the foreign key `name` of `table`.
fn drop_foreign_key(table: String, name: String, from: ForeignKey) -> Operation {
    Operation::DropForeignKey { table, name, from }
}

/// Adds the foreign key `name` to `table`.
fn add_foreign_key(table: String, name: String, foreign_key: ForeignKey) -> Operation {
    Operation::AddForeignKey {
        table,
        name,
        foreign_key,
    }
}
