//! The default planner: orders operations so that every step finds what it needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::model::{Hazard, MigrationPlan, PlanStep};
use super::operation::{ColumnPlacement, Operation};
use crate::diff::{Change, Named, SchemaDiff, TableChange, TableModification};
use crate::error::Result;
use crate::snapshot::{Column, SchemaSnapshot, Table, TypeChange, View};

/// Turns a diff into an ordered [`MigrationPlan`].
pub trait Planner: Send + Sync {
    /// Plans the change from `from` (live) to `to` (target), given their `diff`.
    ///
    /// The snapshots are passed along with the diff so a planner can see objects the diff
    /// does not mention, such as views that must be recreated around a column change.
    ///
    /// # Errors
    /// A planner may refuse a diff it cannot plan; the default planner never does.
    fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        diff: &SchemaDiff,
    ) -> Result<MigrationPlan>;
}

/// Plans in dependency-safe phases.
///
/// 1. drop views that are removed, changed, or read a table that changes shape;
/// 2. drop triggers, foreign keys, indexes and constraints that go away or change;
/// 3. drop tables, referencing tables before the tables they reference;
/// 4. create extensions, enums, sequences and new functions;
/// 5. create tables (without foreign keys), then add, alter and drop columns;
/// 6. add keys, constraints and indexes, then every new foreign key (so foreign keys
///    between new tables, even cyclic ones, always find their target);
/// 7. drop sequences, enums and extensions no longer used;
/// 8. recreate changed functions, then views (dependencies first) and triggers.
///
/// Every step is classified as destructive or not; the engine refuses destructive plans
/// unless the caller allows them.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultPlanner;

impl Planner for DefaultPlanner {
    fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        diff: &SchemaDiff,
    ) -> Result<MigrationPlan> {
        let mut builder = PlanBuilder::new(from, to);
        let modified: BTreeMap<&str, &TableModification> = diff
            .tables
            .iter()
            .filter_map(|t| match &t.change {
                TableChange::Modified(m) => Some((t.name.as_str(), m)),
                _ => None,
            })
            .collect();
        let removed_tables: BTreeMap<&str, &Table> = diff
            .tables
            .iter()
            .filter_map(|t| match &t.change {
                TableChange::Removed { from } => Some((t.name.as_str(), from)),
                _ => None,
            })
            .collect();

        // Phase 1: views.
        let views_to_drop = views_to_drop(from, diff, &modified, &removed_tables);
        for name in view_order(&from.views, &views_to_drop).into_iter().rev() {
            if let Some(view) = from.views.get(name) {
                builder.push(Operation::DropView {
                    name: name.to_string(),
                    from: view.clone(),
                });
            }
        }

        // Phase 2: table parts that go away or change.
        let readd_fks = foreign_keys_blocking_key_changes(from, &modified, &removed_tables);
        for (table, m) in &modified {
            for trigger in &m.triggers {
                if let Some(old) = trigger.change.from() {
                    builder.push(Operation::DropTrigger {
                        table: table.to_string(),
                        name: trigger.name.clone(),
                        from: old.clone(),
                    });
                }
            }
        }
        for (table, m) in &modified {
            for fk in &m.foreign_keys {
                if let Some(old) = fk.change.from() {
                    builder.push(Operation::DropForeignKey {
                        table: table.to_string(),
                        name: fk.name.clone(),
                        from: old.clone(),
                    });
                }
            }
        }
        for (table, name, fk) in &readd_fks {
            builder.push(Operation::DropForeignKey {
                table: table.clone(),
                name: name.clone(),
                from: fk.clone(),
            });
        }
        for (table, m) in &modified {
            for index in &m.indexes {
                if let Some(old) = index.change.from() {
                    builder.push(Operation::DropIndex {
                        table: table.to_string(),
                        name: index.name.clone(),
                        from: old.clone(),
                    });
                }
            }
            for check in &m.checks {
                if let Some(old) = check.change.from() {
                    builder.push(Operation::DropCheck {
                        table: table.to_string(),
                        name: check.name.clone(),
                        from: old.clone(),
                    });
                }
            }
            for unique in &m.uniques {
                if let Some(old) = unique.change.from() {
                    builder.push(Operation::DropUnique {
                        table: table.to_string(),
                        name: unique.name.clone(),
                        from: old.clone(),
                    });
                }
            }
            if let Some(old) = m.primary_key.as_ref().and_then(Change::from) {
                builder.push(Operation::DropPrimaryKey {
                    table: table.to_string(),
                    from: old.clone(),
                });
            }
        }

        // Phase 3: dropped tables, referencing before referenced; cycles broken by
        // dropping the foreign keys that close them.
        let (drop_order, cycle_fks) = drop_order(&removed_tables);
        for (table, name, fk) in cycle_fks {
            builder.push(Operation::DropForeignKey {
                table,
                name,
                from: fk,
            });
        }
        for name in drop_order {
            if let Some(table) = removed_tables.get(name.as_str()) {
                builder.push(Operation::DropTable {
                    name: name.clone(),
                    from: (*table).clone(),
                });
            }
        }

        // Phase 4: types and sequences that tables may use.
        for ext in &diff.extensions {
            if let Change::Added { to } = &ext.change {
                builder.push(Operation::CreateExtension {
                    name: ext.name.clone(),
                    extension: to.clone(),
                });
            }
        }
        for e in &diff.enums {
            match &e.change {
                Change::Added { to } => builder.push(Operation::CreateEnum {
                    name: e.name.clone(),
                    values: to.values.clone(),
                }),
                Change::Modified { from, to } => builder.push(Operation::AlterEnum {
                    name: e.name.clone(),
                    from: from.clone(),
                    to: to.clone(),
                }),
                Change::Removed { .. } => {}
            }
        }
        for s in &diff.sequences {
            match &s.change {
                Change::Added { to } => builder.push(Operation::CreateSequence {
                    name: s.name.clone(),
                    sequence: to.clone(),
                }),
                Change::Modified { from, to } => builder.push(Operation::AlterSequence {
                    name: s.name.clone(),
                    from: from.clone(),
                    to: to.clone(),
                }),
                Change::Removed { .. } => {}
            }
        }

        // New functions come before tables: defaults, checks and generated columns may call them.
        for f in &diff.functions {
            if let Change::Added { to } = &f.change {
                builder.push(Operation::CreateFunction {
                    name: f.name.clone(),
                    function: to.clone(),
                });
            }
        }

        // Phase 5: tables and columns.
        for table in &diff.tables {
            if let TableChange::Added { to } = &table.change {
                let bare = Table {
                    foreign_keys: BTreeMap::new(),
                    indexes: BTreeMap::new(),
                    triggers: BTreeMap::new(),
                    ..to.clone()
                };
                builder.push(Operation::CreateTable {
                    name: table.name.clone(),
                    table: bare,
                });
            }
        }
        for (table, m) in &modified {
            // New columns go in target order, each placed after its target predecessor.
            let target_table = to.tables.get(*table);
            let mut added: Vec<(&String, &Column)> = m
                .columns
                .iter()
                .filter_map(|c| match &c.change {
                    Change::Added { to } => Some((&c.name, to)),
                    _ => None,
                })
                .collect();
            added.sort_by_key(|(name, column)| (column.position, name.as_str()));
            for (name, column) in added {
                builder.push(Operation::AddColumn {
                    table: table.to_string(),
                    name: name.clone(),
                    column: column.clone(),
                    placement: target_table
                        .map_or(ColumnPlacement::Last, |t| placement_in(t, name)),
                });
            }
            for column in &m.columns {
                match &column.change {
                    Change::Added { .. } => {}
                    Change::Modified { from, to } => builder.push(Operation::AlterColumn {
                        table: table.to_string(),
                        name: column.name.clone(),
                        from: from.clone(),
                        to: to.clone(),
                    }),
                    Change::Removed { .. } => {}
                }
            }
            for column in &m.columns {
                if let Change::Removed { from } = &column.change {
                    builder.push(Operation::DropColumn {
                        table: table.to_string(),
                        name: column.name.clone(),
                        from: from.clone(),
                    });
                }
            }
            // Only present when column order is strict: the engine strips it otherwise.
            if let (Some(order), Some(target)) = (&m.column_order, target_table) {
                builder.push(Operation::ReorderColumns {
                    table: table.to_string(),
                    from: order.from.clone(),
                    to: order.to.clone(),
                    columns: target.columns.clone(),
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

        // Phase 6: keys, constraints, indexes, then foreign keys.
        for (table, m) in &modified {
            if let Some(key) = m.primary_key.as_ref().and_then(Change::to) {
                builder.push(Operation::AddPrimaryKey {
                    table: table.to_string(),
                    key: key.clone(),
                });
            }
            for unique in &m.uniques {
                if let Some(new) = unique.change.to() {
                    builder.push(Operation::AddUnique {
                        table: table.to_string(),
                        name: unique.name.clone(),
                        unique: new.clone(),
                    });
                }
            }
            for check in &m.checks {
                if let Some(new) = check.change.to() {
                    builder.push(Operation::AddCheck {
                        table: table.to_string(),
                        name: check.name.clone(),
                        check: new.clone(),
                    });
                }
            }
        }
        for (table, name, index) in new_parts(diff, &modified, |t| &t.indexes, |m| &m.indexes) {
            builder.push(Operation::CreateIndex { table, name, index });
        }
        for (table, name, foreign_key) in
            new_parts(diff, &modified, |t| &t.foreign_keys, |m| &m.foreign_keys)
        {
            builder.push(Operation::AddForeignKey {
                table,
                name,
                foreign_key,
            });
        }
        for (table, name, fk) in readd_fks {
            builder.push(Operation::AddForeignKey {
                table,
                name,
                foreign_key: fk,
            });
        }

        // Phase 7: objects nothing uses any more.
        for s in &diff.sequences {
            if let Change::Removed { from } = &s.change {
                builder.push(Operation::DropSequence {
                    name: s.name.clone(),
                    from: from.clone(),
                });
            }
        }
        for e in &diff.enums {
            if let Change::Removed { from } = &e.change {
                builder.push(Operation::DropEnum {
                    name: e.name.clone(),
                    from: from.clone(),
                });
            }
        }
        for f in &diff.functions {
            if let Some(old) = f.change.from() {
                builder.push(Operation::DropFunction {
                    name: f.name.clone(),
                    from: old.clone(),
                });
            }
        }
        for ext in &diff.extensions {
            if let Change::Removed { from } = &ext.change {
                builder.push(Operation::DropExtension {
                    name: ext.name.clone(),
                    from: from.clone(),
                });
            }
        }

        // Phase 8: changed functions (dropped in phase 7), views, triggers.
        for f in &diff.functions {
            if let Change::Modified { to: new, .. } = &f.change {
                builder.push(Operation::CreateFunction {
                    name: f.name.clone(),
                    function: new.clone(),
                });
            }
        }
        let views_to_create: BTreeSet<&str> = to
            .views
            .keys()
            .map(String::as_str)
            .filter(|name| views_to_drop.contains(name) || !from.views.contains_key(*name))
            .collect();
        for name in view_order(&to.views, &views_to_create) {
            if let Some(view) = to.views.get(name) {
                builder.push(Operation::CreateView {
                    name: name.to_string(),
                    view: view.clone(),
                });
            }
        }
        for (table, name, trigger) in new_parts(diff, &modified, |t| &t.triggers, |m| &m.triggers) {
            builder.push(Operation::CreateTrigger {
                table,
                name,
                trigger,
            });
        }

        let unresolved = diff
            .unsupported
            .iter()
            .filter_map(|c| {
                c.to()
                    .or(c.from())
                    .map(|o| format!("{} {} differs but is not modelled", o.kind, o.name))
            })
            .collect();
        Ok(MigrationPlan {
            source_hash: from.hash(),
            target_hash: to.hash(),
            steps: builder.steps,
            unresolved,
        })
    }
}

/// Where `column` goes in `target`: first, after its predecessor, or (when it is the
/// last column, or the table keeps no order) at the end.
fn placement_in(target: &Table, column: &str) -> ColumnPlacement {
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
fn views_to_drop<'a>(
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

/// Whether a table modification drops or alters columns (which views may read).
fn reshapes_columns(m: &TableModification) -> bool {
    m.columns
        .iter()
        .any(|c| !matches!(c.change, Change::Added { .. }))
}

/// Orders `selected` views so that each comes after the views it reads.
fn view_order<'a>(views: &'a BTreeMap<String, View>, selected: &BTreeSet<&str>) -> Vec<&'a str> {
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

/// Orders dropped tables so that a table is dropped before the tables it references.
/// Returns the order and the foreign keys to drop first to break reference cycles.
fn drop_order(
    removed: &BTreeMap<&str, &Table>,
) -> (
    Vec<String>,
    Vec<(String, String, crate::snapshot::ForeignKey)>,
) {
    let mut remaining: BTreeSet<&str> = removed.keys().copied().collect();
    let mut order = Vec::new();
    let mut cycle_fks = Vec::new();
    while !remaining.is_empty() {
        // A table can go once no other remaining table references it.
        let referenced: BTreeSet<&str> = remaining
            .iter()
            .flat_map(|t| {
                removed[t]
                    .foreign_keys
                    .values()
                    .filter(move |fk| fk.referenced_schema.is_none() && fk.referenced_table != *t)
                    .map(|fk| fk.referenced_table.as_str())
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
                            cycle_fks.push((other.to_string(), name.clone(), fk.clone()));
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
fn foreign_keys_blocking_key_changes(
    from: &SchemaSnapshot,
    modified: &BTreeMap<&str, &TableModification>,
    removed_tables: &BTreeMap<&str, &Table>,
) -> Vec<(String, String, crate::snapshot::ForeignKey)> {
    let changed_keys: BTreeSet<&str> = modified
        .iter()
        .filter(|(_, m)| {
            m.primary_key.as_ref().is_some_and(|c| c.from().is_some())
                || m.uniques.iter().any(|u| u.change.from().is_some())
                || m.columns.iter().any(|c| matches!(&c.change, Change::Modified { from, to } if from.data_type != to.data_type))
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
                m.columns.iter().any(|c| fk.columns.contains(&c.name) && matches!(&c.change, Change::Modified { from, to } if from.data_type != to.data_type))
            });
            let target_changes = fk.referenced_schema.is_none()
                && changed_keys.contains(fk.referenced_table.as_str());
            if !already_dropped && (target_changes || columns_change) {
                out.push((table.clone(), name.clone(), fk.clone()));
            }
        }
    }
    out
}

/// New or changed parts of one kind (indexes, foreign keys, triggers), from added tables
/// and modified tables, as `(table, name, part)`.
fn new_parts<T: Clone>(
    diff: &SchemaDiff,
    modified: &BTreeMap<&str, &TableModification>,
    of_table: impl Fn(&Table) -> &BTreeMap<String, T>,
    of_modification: impl Fn(&TableModification) -> &Vec<Named<T>>,
) -> Vec<(String, String, T)> {
    let mut out = Vec::new();
    for table in &diff.tables {
        if let TableChange::Added { to } = &table.change {
            out.extend(
                of_table(to)
                    .iter()
                    .map(|(name, part)| (table.name.clone(), name.clone(), part.clone())),
            );
        }
    }
    for (table, m) in modified {
        for part in of_modification(m) {
            if let Some(new) = part.change.to() {
                out.push((table.to_string(), part.name.clone(), new.clone()));
            }
        }
    }
    out
}

/// Collects steps, classifying each and recording what it depends on.
struct PlanBuilder {
    steps: Vec<PlanStep>,
    /// The latest step that touched each object (`table:x`, `view:y`, ...).
    last_touch: HashMap<String, usize>,
    /// Enum types of either schema: the only column types that link steps (built-in
    /// types like `integer` are not objects a step can depend on).
    enum_names: BTreeSet<String>,
}

impl PlanBuilder {
    fn new(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Self {
        let enum_names = from.enums.keys().chain(to.enums.keys()).cloned().collect();
        Self {
            steps: Vec::new(),
            last_touch: HashMap::new(),
            enum_names,
        }
    }

    fn push(&mut self, operation: Operation) {
        let index = self.steps.len();
        let objects = touched_objects(&operation, &self.enum_names);
        let mut depends_on: Vec<usize> = objects
            .iter()
            .filter_map(|o| self.last_touch.get(o).copied())
            .collect();
        depends_on.sort_unstable();
        depends_on.dedup();
        for object in objects {
            self.last_touch.insert(object, index);
        }
        let (destructive, hazards) = classify(&operation);
        self.steps.push(PlanStep {
            operation,
            destructive,
            hazards,
            depends_on,
        });
    }
}

/// The objects an operation changes or relies on, as `kind:name` keys.
fn touched_objects(operation: &Operation, enum_names: &BTreeSet<String>) -> Vec<String> {
    let mut objects = Vec::new();
    if let Some(table) = operation.table() {
        objects.push(format!("relation:{table}"));
    }
    match operation {
        Operation::AddForeignKey {
            foreign_key: fk, ..
        }
        | Operation::DropForeignKey { from: fk, .. }
            if fk.referenced_schema.is_none() =>
        {
            objects.push(format!("relation:{}", fk.referenced_table));
        }
        Operation::CreateView { name, view } | Operation::DropView { name, from: view } => {
            objects.push(format!("relation:{name}"));
            objects.extend(view.depends_on.iter().map(|d| format!("relation:{d}")));
        }
        Operation::CreateEnum { name, .. }
        | Operation::AlterEnum { name, .. }
        | Operation::DropEnum { name, .. } => {
            objects.push(format!("type:{name}"));
        }
        Operation::CreateSequence { name, .. }
        | Operation::AlterSequence { name, .. }
        | Operation::DropSequence { name, .. } => {
            objects.push(format!("sequence:{name}"));
        }
        Operation::CreateFunction { name, .. } | Operation::DropFunction { name, .. } => {
            objects.push(format!("function:{name}"));
        }
        Operation::CreateExtension { name, .. } | Operation::DropExtension { name, .. } => {
            objects.push(format!("extension:{name}"));
        }
        _ => {}
    }
    let column_types: Vec<&Column> = match operation {
        Operation::CreateTable { table, .. } | Operation::DropTable { from: table, .. } => {
            table.columns.values().collect()
        }
        Operation::AddColumn { column, .. } | Operation::DropColumn { from: column, .. } => {
            vec![column]
        }
        Operation::AlterColumn { from, to, .. } => vec![from, to],
        _ => Vec::new(),
    };
    objects.extend(
        column_types
            .into_iter()
            .filter(|c| c.data_type.schema.is_none() && enum_names.contains(&c.data_type.name))
            .map(|c| format!("type:{}", c.data_type.name)),
    );
    objects
}

/// Whether an operation loses data, and what risks it carries.
fn classify(operation: &Operation) -> (bool, Vec<Hazard>) {
    use Operation::*;
    match operation {
        DropTable { .. } | DropColumn { .. } => (true, vec![Hazard::DataLoss]),
        DropSequence { .. } => (true, vec![Hazard::DataLoss]),
        AlterEnum { from, to, .. } => {
            let removes = from.values.iter().any(|v| !to.values.contains(v));
            if removes {
                (true, vec![Hazard::DataLoss, Hazard::TableRewrite])
            } else {
                (false, Vec::new())
            }
        }
        AlterColumn { from, to, .. } => {
            let mut hazards = Vec::new();
            let mut destructive = false;
            match from.data_type.change_to(&to.data_type) {
                TypeChange::None => {}
                TypeChange::Widening => hazards.push(Hazard::TableRewrite),
                TypeChange::Narrowing => {
                    destructive = true;
                    hazards.extend([Hazard::DataLoss, Hazard::TableRewrite]);
                }
            }
            if from.nullable && !to.nullable {
                hazards.push(Hazard::ValidatesRows);
            }
            if from.generated != to.generated && !hazards.contains(&Hazard::TableRewrite) {
                hazards.push(Hazard::TableRewrite);
            }
            (destructive, hazards)
        }
        AddColumn { column, .. } => {
            let needs_value = !column.nullable
                && column.default.is_none()
                && column.generated.is_none()
                && column.identity.is_none();
            (
                false,
                if needs_value {
                    vec![Hazard::ValidatesRows]
                } else {
                    Vec::new()
                },
            )
        }
        AddPrimaryKey { .. } | AddUnique { .. } | AddCheck { .. } | AddForeignKey { .. } => {
            (false, vec![Hazard::ValidatesRows, Hazard::BlocksWrites])
        }
        CreateIndex { .. } => (false, vec![Hazard::BlocksWrites]),
        AlterTableOptions { .. } => (false, vec![Hazard::TableRewrite]),
        _ => (false, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{DefaultDiffCalculator, DiffCalculator};
    use crate::testing::{TableBuilder, snapshot};

    #[test]
    fn foreign_keys_between_new_tables_follow_both_tables() {
        let from = SchemaSnapshot::empty();
        let to = snapshot([
            (
                "a",
                TableBuilder::new()
                    .column("id", "integer", true)
                    .primary_key(&["id"])
                    .index("a_idx", &["id"])
                    .build(),
            ),
            (
                "b",
                TableBuilder::new()
                    .column("id", "integer", true)
                    .column("a_id", "integer", false)
                    .foreign_key("b_a_fk", &["a_id"], "a", &["id"])
                    .build(),
            ),
        ]);
        let plan = DefaultPlanner
            .plan(&from, &to, &DefaultDiffCalculator.diff(&from, &to))
            .unwrap_or_else(|e| panic!("{e}"));
        let described: Vec<(String, Vec<usize>)> = plan
            .steps
            .iter()
            .map(|s| (s.operation.to_string(), s.depends_on.clone()))
            .collect();
        assert_eq!(
            described,
            [
                ("create table a (1 column)".to_string(), vec![]),
                ("create table b (2 columns)".to_string(), vec![]),
                ("create index a_idx on a".to_string(), vec![0]),
                (
                    "add foreign key b_a_fk on b (a_id) -> a".to_string(),
                    vec![1, 2]
                ),
            ]
        );
    }
}
