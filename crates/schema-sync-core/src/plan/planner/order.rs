//! Ordering helpers of the planner: where an added column goes, which views must be
//! dropped and in what order, the order tables are dropped in, and which foreign keys
//! must step aside while the key they reference changes.

use std::collections::{BTreeMap, BTreeSet};

use super::super::operation::ColumnPlacement;
use crate::diff::{Change, Named, SchemaDiff, TableChange, TableModification};
use crate::snapshot::{Column, ForeignKey, Policy, SchemaSnapshot, Table, View};

/// One part (index, foreign key, trigger) of a named table.
#[derive(Debug, Clone)]
pub(super) struct TablePart<T> {
    /// The table the part belongs to.
    pub(super) table: String,
    /// The part's name.
    pub(super) name: String,
    /// The part itself.
    pub(super) part: T,
}

impl<T> TablePart<T> {
    fn new(table: impl Into<String>, name: impl Into<String>, part: T) -> Self {
        Self {
            table: table.into(),
            name: name.into(),
            part,
        }
    }
}

/// Where `column` goes in `target`: first, after its predecessor, or (when it is the
/// last column, or the table keeps no order) at the end.
pub(super) fn placement_in(target: &Table, column: &str) -> ColumnPlacement {
    if !target.has_column_positions() {
        return ColumnPlacement::Last;
    }
    let order = target.column_order();
    match order.iter().position(|c| *c == column) {
        Some(i) if i + 1 == order.len() => ColumnPlacement::Last,
        Some(0) => ColumnPlacement::First,
        Some(i) => ColumnPlacement::After(order[i - 1].to_string()),
        None => ColumnPlacement::Last,
    }
}

/// Views to drop before table changes: removed or changed views, views reading a table
/// that is dropped or whose columns change, and (transitively) views reading those.
pub(super) fn views_to_drop<'a>(
    from: &'a SchemaSnapshot,
    diff: &'a SchemaDiff,
    modified: &BTreeMap<&str, &TableModification>,
    removed_tables: &BTreeMap<&str, &Table>,
) -> BTreeSet<&'a str> {
    let mut affected: BTreeSet<&str> = removed_tables.keys().copied().collect();
    affected.extend(
        modified
            .iter()
            .filter(|(_, m)| reshapes_columns(m))
            .map(|(t, _)| *t),
    );
    let mut drop: BTreeSet<&str> = diff
        .views
        .iter()
        .filter(|v| v.change.from().is_some())
        .filter_map(|v| from.views.get_key_value(&v.name).map(|(k, _)| k.as_str()))
        .collect();
    loop {
        let before = drop.len();
        for (name, view) in &from.views {
            let reads_affected = view
                .depends_on
                .iter()
                .any(|d| affected.contains(d.as_str()) || drop.contains(d.as_str()));
            if reads_affected {
                drop.insert(name);
            }
        }
        if drop.len() == before {
            return drop;
        }
    }
}

/// Whether a table modification drops or alters columns (which views may read); a
/// column whose comment alone changes keeps its shape.
fn reshapes_columns(m: &TableModification) -> bool {
    m.columns.iter().any(|c| match &c.change {
        Change::Added { .. } => false,
        Change::Modified { from, to } => {
            Column {
                comment: to.comment.clone(),
                ..from.clone()
            } != *to
        }
        Change::Removed { .. } => true,
    })
}

/// Orders `selected` views so that each comes after the views it reads.
pub(super) fn view_order<'a>(
    views: &'a BTreeMap<String, View>,
    selected: &BTreeSet<&str>,
) -> Vec<&'a str> {
    let mut ordered: Vec<&str> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<&str> = views
        .keys()
        .map(String::as_str)
        .filter(|n| selected.contains(n))
        .collect();
    while !pending.is_empty() {
        let ready: Vec<&str> = pending
            .iter()
            .copied()
            .filter(|name| {
                views[*name].depends_on.iter().all(|d| {
                    d == name || placed.contains(d.as_str()) || !pending.contains(&d.as_str())
                })
            })
            .collect();
        // A dependency cycle cannot exist in a real database; take the rest in name order.
        let batch = if ready.is_empty() {
            pending.clone()
        } else {
            ready
        };
        for name in &batch {
            placed.insert(name);
            ordered.push(name);
        }
        pending.retain(|n| !placed.contains(n));
    }
    ordered
}

/// Orders dropped tables so that a table is dropped before the tables it references and
/// a partition before its partitioned table.
/// Returns the order and the foreign keys to drop first to break reference cycles.
pub(super) fn drop_order(
    removed: &BTreeMap<&str, &Table>,
) -> (Vec<String>, Vec<TablePart<ForeignKey>>) {
    let mut remaining: BTreeSet<&str> = removed.keys().copied().collect();
    let mut order = Vec::new();
    let mut cycle_fks = Vec::new();
    while !remaining.is_empty() {
        // A table can go once no other remaining table references it or is one of its
        // partitions (dropping a partitioned table drops its partitions with it).
        let referenced: BTreeSet<&str> = remaining
            .iter()
            .flat_map(|t| {
                removed[t]
                    .foreign_keys
                    .values()
                    .filter(move |fk| fk.referenced_schema.is_none() && fk.referenced_table != *t)
                    .map(|fk| fk.referenced_table.as_str())
                    .chain(removed[t].partition_of.iter().map(|p| p.parent.as_str()))
            })
            .collect();
        let free: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|t| !referenced.contains(t))
            .collect();
        if free.is_empty() {
            // Cycle: drop the foreign keys that point at the first remaining table, then it.
            if let Some(first) = remaining.iter().next().copied() {
                for other in remaining.iter().filter(|t| **t != first) {
                    for (name, fk) in &removed[other].foreign_keys {
                        if fk.referenced_schema.is_none() && fk.referenced_table == first {
                            cycle_fks.push(TablePart::new(*other, name.clone(), fk.clone()));
                        }
                    }
                }
                order.push(first.to_string());
                remaining.remove(first);
            }
            continue;
        }
        for t in free {
            order.push(t.to_string());
            remaining.remove(t);
        }
    }
    (order, cycle_fks)
}

/// Foreign keys of surviving tables that point at a primary key or unique constraint
/// which is dropped or changed: they must be dropped first and added again afterwards.
pub(super) fn foreign_keys_blocking_key_changes(
    from: &SchemaSnapshot,
    modified: &BTreeMap<&str, &TableModification>,
    removed_tables: &BTreeMap<&str, &Table>,
) -> Vec<TablePart<ForeignKey>> {
    let changed_keys: BTreeSet<&str> = modified
        .iter()
        .filter(|(_, m)| {
            m.primary_key.as_ref().is_some_and(|c| c.from().is_some())
                || m.uniques.iter().any(|u| u.change.from().is_some())
                || m.columns.iter().any(retypes)
        })
        .map(|(t, _)| *t)
        .collect();
    let mut out = Vec::new();
    for (table, t) in &from.tables {
        if removed_tables.contains_key(table.as_str()) {
            continue;
        }
        let own_changes = modified.get(table.as_str());
        for (name, fk) in &t.foreign_keys {
            let already_dropped =
                own_changes.is_some_and(|m| m.foreign_keys.iter().any(|c| &c.name == name));
            let columns_change = own_changes.is_some_and(|m| {
                m.columns
                    .iter()
                    .any(|c| fk.columns.contains(&c.name) && retypes(c))
            });
            let target_changes = fk.referenced_schema.is_none()
                && changed_keys.contains(fk.referenced_table.as_str());
            if !already_dropped && (target_changes || columns_change) {
                out.push(TablePart::new(table.clone(), name.clone(), fk.clone()));
            }
        }
    }
    out
}

/// Policies of surviving tables, unchanged themselves, on a table whose columns change
/// type or collation: PostgreSQL cannot retype a column a policy reads, and which
/// columns a policy reads is not modelled, so every such policy is dropped first and
/// created again afterwards.
pub(super) fn policies_blocking_column_changes(
    from: &SchemaSnapshot,
    modified: &BTreeMap<&str, &TableModification>,
) -> Vec<TablePart<Policy>> {
    let mut out = Vec::new();
    for (table, m) in modified {
        let retyped = m.columns.iter().any(|c| {
            retypes(c)
                || matches!(&c.change, Change::Modified { from, to } if from.collation != to.collation)
        });
        let Some(live) = from.tables.get(*table).filter(|_| retyped) else {
            continue;
        };
        for (name, policy) in &live.policies {
            if !m.policies.iter().any(|c| &c.name == name) {
                out.push(TablePart::new(*table, name.clone(), policy.clone()));
            }
        }
    }
    out
}

/// Whether a column change alters the column's type (which a foreign key over it, or
/// one pointing at it, cannot survive).
fn retypes(column: &Named<Column>) -> bool {
    matches!(&column.change, Change::Modified { from, to } if from.data_type != to.data_type)
}

/// New or changed parts of one kind (indexes, foreign keys, triggers), from added tables
/// and modified tables, in diff order.
pub(super) fn new_parts<T: Clone>(
    diff: &SchemaDiff,
    modified: &BTreeMap<&str, &TableModification>,
    of_table: impl Fn(&Table) -> &BTreeMap<String, T>,
    of_modification: impl Fn(&TableModification) -> &Vec<Named<T>>,
) -> Vec<TablePart<T>> {
    let mut out = Vec::new();
    for table in &diff.tables {
        if let TableChange::Added { to } = &table.change {
            out.extend(of_table(to).iter().map(|(name, part)| {
                TablePart::new(table.name.clone(), name.clone(), part.clone())
            }));
        }
    }
    for (table, m) in modified {
        for part in of_modification(m) {
            if let Some(new) = part.change.to() {
                out.push(TablePart::new(*table, part.name.clone(), new.clone()));
            }
        }
    }
    out
}
