//! The default diff algorithm: a keyed comparison of ordered maps.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{
    Change, ColumnOrder, Named, SchemaDiff, TableChange, TableDiff, TableModification,
};
use crate::snapshot::{Column, SchemaSnapshot, Table};

/// Turns two snapshots into a [`SchemaDiff`].
///
/// Implementations must be deterministic and must return an empty diff for equal
/// snapshots. The engine shares one diff among all tenants with the same snapshot hash.
pub trait DiffCalculator: Send + Sync {
    /// The changes that turn `from` (the live schema) into `to` (the target).
    fn diff(&self, from: &SchemaSnapshot, to: &SchemaSnapshot) -> SchemaDiff;
}

/// Compares snapshots object by object, keyed by name.
///
/// Renames are not guessed: a renamed column is a drop and an add, which the planner
/// marks destructive, so a rename is never carried out by accident.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultDiffCalculator;

impl DiffCalculator for DefaultDiffCalculator {
    fn diff(&self, from: &SchemaSnapshot, to: &SchemaSnapshot) -> SchemaDiff {
        let tables = diff_maps(&from.tables, &to.tables)
            .into_iter()
            .filter_map(|Named { name, change }| {
                let change = match change {
                    Change::Added { to } => TableChange::Added { to },
                    Change::Removed { from } => TableChange::Removed { from },
                    Change::Modified { from, to } => {
                        let modification = diff_table(&from, &to);
                        if modification.is_empty() {
                            return None;
                        }
                        TableChange::Modified(modification)
                    }
                };
                Some(TableDiff { name, change })
            })
            .collect();
        SchemaDiff {
            tables,
            views: diff_maps(&from.views, &to.views),
            sequences: diff_maps(&from.sequences, &to.sequences),
            enums: diff_maps(&from.enums, &to.enums),
            functions: diff_maps(&from.functions, &to.functions),
            extensions: diff_maps(&from.extensions, &to.extensions),
            unsupported: diff_sets(&from.unsupported, &to.unsupported),
        }
    }
}

fn diff_table(from: &Table, to: &Table) -> TableModification {
    TableModification {
        columns: diff_columns(from, to),
        column_order: diff_column_order(from, to),
        primary_key: diff_option(&from.primary_key, &to.primary_key),
        uniques: diff_maps(&from.uniques, &to.uniques),
        checks: diff_maps(&from.checks, &to.checks),
        foreign_keys: diff_maps(&from.foreign_keys, &to.foreign_keys),
        indexes: diff_maps(&from.indexes, &to.indexes),
        triggers: diff_maps(&from.triggers, &to.triggers),
        comment: diff_option(&from.comment, &to.comment),
        options: if from.options == to.options {
            None
        } else {
            Some(Change::Modified {
                from: from.options.clone(),
                to: to.options.clone(),
            })
        },
    }
}

/// Column changes, ignoring position: a column that only moved is not a changed column,
/// order is compared once per table by [`diff_column_order`].
fn diff_columns(from: &Table, to: &Table) -> Vec<Named<Column>> {
    let unplaced = |c: &Column| Column {
        position: 0,
        ..c.clone()
    };
    diff_maps(&from.columns, &to.columns)
        .into_iter()
        .filter(|named| match &named.change {
            Change::Modified { from, to } => unplaced(from) != unplaced(to),
            _ => true,
        })
        .collect()
}

/// The order difference of the columns both tables have, when both know their order.
/// Added and dropped columns do not count: where they go is the placement of the step
/// that adds them.
fn diff_column_order(from: &Table, to: &Table) -> Option<ColumnOrder> {
    if !from.has_column_positions() || !to.has_column_positions() {
        return None;
    }
    let live = from.column_order();
    let target = to.column_order();
    let shared = |order: &[&str], other: &Table| -> Vec<String> {
        order
            .iter()
            .filter(|name| other.columns.contains_key(**name))
            .map(|name| name.to_string())
            .collect()
    };
    if shared(&live, to) == shared(&target, from) {
        return None;
    }
    Some(ColumnOrder {
        from: live.iter().map(|c| c.to_string()).collect(),
        to: target.iter().map(|c| c.to_string()).collect(),
        optional: false,
    })
}

/// Changes between two maps keyed by name, in name order.
fn diff_maps<T: Clone + PartialEq>(
    from: &BTreeMap<String, T>,
    to: &BTreeMap<String, T>,
) -> Vec<Named<T>> {
    let names: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let change = diff_option_ref(from.get(name), to.get(name))?;
            Some(Named {
                name: name.clone(),
                change,
            })
        })
        .collect()
}

fn diff_option<T: Clone + PartialEq>(from: &Option<T>, to: &Option<T>) -> Option<Change<T>> {
    diff_option_ref(from.as_ref(), to.as_ref())
}

fn diff_option_ref<T: Clone + PartialEq>(from: Option<&T>, to: Option<&T>) -> Option<Change<T>> {
    match (from, to) {
        (None, None) => None,
        (None, Some(to)) => Some(Change::Added { to: to.clone() }),
        (Some(from), None) => Some(Change::Removed { from: from.clone() }),
        (Some(from), Some(to)) if from == to => None,
        (Some(from), Some(to)) => Some(Change::Modified {
            from: from.clone(),
            to: to.clone(),
        }),
    }
}

fn diff_sets<T: Clone + Ord>(from: &BTreeSet<T>, to: &BTreeSet<T>) -> Vec<Change<T>> {
    let removed = from
        .difference(to)
        .map(|o| Change::Removed { from: o.clone() });
    let added = to.difference(from).map(|o| Change::Added { to: o.clone() });
    removed.chain(added).collect()
}
