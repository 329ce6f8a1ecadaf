//! The default planner: orders operations so that every step finds what it needs.
//!
//! [`DefaultPlanner::plan`] is a list of phases ([`phases`]) run over one [`PlanContext`];
//! the ordering questions the phases ask (which views to drop, in what order tables go,
//! where an added column is placed) are answered in [`order`], and every step is
//! classified as it is pushed ([`PlanBuilder`]).

mod domains;
mod in_place;
mod order;
mod partitions;
mod phases;
mod privileges;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use super::classify::PlanBuilder;
use super::model::MigrationPlan;
use crate::diff::{SchemaDiff, TableChange, TableModification};
use crate::error::Result;
use crate::snapshot::{ForeignKey, Policy, SchemaSnapshot, Table};
use order::TablePart;

/// Turns a diff into an ordered [`MigrationPlan`].
pub trait Planner: Send + Sync {
    /// Plans the change from `from` (live) to `to` (target), given their `diff`.
    ///
    /// The snapshots are passed along with the diff so a planner can see objects the diff
    /// does not mention, such as views that must be recreated around a column change.
    ///
    /// # Errors
    /// A planner may refuse a diff it cannot plan. The default planner refuses a changed
    /// partition key, a table that becomes or stops being a partition, and a changed base
    /// type of a domain that columns use ([`Error::Unsupported`](crate::Error::Unsupported)).
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
/// 2. detach partitions that move, drop policies, triggers, foreign keys, indexes and
///    constraints that go away or change;
/// 3. drop tables, referencing tables and partitions before the tables they reference
///    or belong to;
/// 4. create extensions, enums, sequences, domains and new functions;
/// 5. create tables (without foreign keys; partitioned tables before their partitions),
///    then add, alter and drop columns;
/// 6. add keys, constraints and indexes, then every new foreign key (so foreign keys
///    between new tables, even cyclic ones, always find their target), then attach the
///    partitions phase 2 detached;
/// 7. drop sequences, domains, enums and extensions no longer used, and functions and
///    events that go away or change;
/// 8. recreate changed functions, then views (dependencies first), events, triggers and
///    policies;
/// 9. change in place what needs no rebuild (comments, trigger states, validation of
///    `NOT VALID` constraints, indexes of materialized views that stay), then give
///    every created object its comment, then set the privileges that differ and those
///    of created objects (when the snapshots include privileges).
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
        let split = in_place::split(diff);
        let mut cx = PlanContext::new(from, to, &split.diff);
        partitions::check(&cx.modified)?;
        domains::check(from, to, &split.diff.domains)?;
        let recreated_views = cx.views_to_drop.clone();
        let on_kept_views =
            |steps: Vec<_>| in_place::without_recreated_views(steps, &recreated_views);
        phases::drop_views(&mut cx);
        phases::drop_table_parts(&mut cx);
        cx.push_all(on_kept_views(split.view_index_drops));
        phases::drop_tables(&mut cx);
        phases::create_types_sequences_and_functions(&mut cx);
        phases::tables_and_columns(&mut cx);
        phases::keys_constraints_indexes_and_foreign_keys(&mut cx);
        cx.push_all(on_kept_views(split.view_index_creations));
        phases::drop_unused_objects(&mut cx);
        phases::recreate_functions_views_and_triggers(&mut cx);
        // Phase 9: what changes in place, then the comments of what was created.
        let created = cx.builder.operations();
        let mut last = on_kept_views(split.steps);
        last.extend(in_place::comments_of_created(&created, to));
        cx.push_all(in_place::first_comment_per_object(last));
        cx.push_all(privileges::steps(&split.diff, to, &created));
        Ok(cx.finish())
    }
}

/// What every phase reads, and the steps they write.
struct PlanContext<'a> {
    /// The live snapshot.
    from: &'a SchemaSnapshot,
    /// The target snapshot.
    to: &'a SchemaSnapshot,
    /// The diff from `from` to `to`.
    diff: &'a SchemaDiff,
    /// Tables present on both sides whose parts differ, by name.
    modified: BTreeMap<&'a str, &'a TableModification>,
    /// Tables to drop, by name, with their live definition.
    removed_tables: BTreeMap<&'a str, &'a Table>,
    /// Live views dropped in phase 1 (and created again in phase 8 if the target has them).
    views_to_drop: BTreeSet<&'a str>,
    /// Foreign keys of surviving tables dropped in phase 2 and added again in phase 6,
    /// because a key they reference, or their own columns' type, changes.
    foreign_keys_to_readd: Vec<TablePart<ForeignKey>>,
    /// Unchanged policies of surviving tables dropped in phase 2 and created again in
    /// phase 8, because a column of their table changes type.
    policies_to_readd: Vec<TablePart<Policy>>,
    /// The steps planned so far.
    builder: PlanBuilder,
}

impl<'a> PlanContext<'a> {
    fn new(from: &'a SchemaSnapshot, to: &'a SchemaSnapshot, diff: &'a SchemaDiff) -> Self {
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
        let views_to_drop = order::views_to_drop(from, diff, &modified, &removed_tables);
        let foreign_keys_to_readd =
            order::foreign_keys_blocking_key_changes(from, &modified, &removed_tables);
        let policies_to_readd = order::policies_blocking_column_changes(from, &modified);
        Self {
            from,
            to,
            diff,
            modified,
            removed_tables,
            views_to_drop,
            foreign_keys_to_readd,
            policies_to_readd,
            builder: PlanBuilder::new(from, to),
        }
    }

    /// Pushes every operation of `operations`, in order.
    fn push_all(&mut self, operations: Vec<crate::plan::operation::Operation>) {
        for operation in operations {
            self.builder.push(operation);
        }
    }

    /// The plan: the steps, and the differences no step can resolve.
    fn finish(self) -> MigrationPlan {
        let unresolved = self
            .diff
            .unsupported
            .iter()
            .filter_map(|c| {
                c.to()
                    .or(c.from())
                    .map(|o| format!("{} {} differs but is not modelled", o.kind, o.name))
            })
            .collect();
        MigrationPlan {
            source_hash: self.from.hash(),
            target_hash: self.to.hash(),
            steps: self.builder.into_steps(),
            unresolved,
            strict_column_order: false,
        }
    }
}
