//! The default diff algorithm: a keyed comparison of ordered maps.

use std::collections::{BTreeMap, BTreeSet};

use super::model::{
    Change, ColumnOrder, Named, SchemaDiff, TableChange, TableDiff, TableModification,
};
use serde::Serialize;

use crate::snapshot::{CheckConstraint, Column, Equivalences, ForeignKey, SchemaSnapshot, Table};

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
        let same = Same {
            equivalences: &to.equivalences,
        };
        let tables = same
            .maps(&from.tables, &to.tables)
            .into_iter()
            .filter_map(|Named { name, change }| {
                let change = match change {
                    Change::Added { to } => TableChange::Added { to },
                    Change::Removed { from } => TableChange::Removed { from },
                    Change::Modified { from, to } => {
                        let modification = same.table(&from, &to);
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
            views: same.maps(&from.views, &to.views),
            sequences: same.maps(&from.sequences, &to.sequences),
            enums: same.maps(&from.enums, &to.enums),
            functions: same.maps(&from.functions, &to.functions),
            events: same.maps(&from.events, &to.events),
            extensions: same.maps(&from.extensions, &to.extensions),
            domains: same.maps(&from.domains, &to.domains),
            privileges: same.maps(&from.privileges, &to.privileges),
            unsupported: diff_sets(&from.unsupported, &to.unsupported),
        }
    }
}

/// Equality up to the target's [`Equivalences`]: two objects are the same when they are
/// equal, or when every text in which they differ is a known pair of spellings of one
/// expression.
#[derive(Clone, Copy)]
struct Same<'a> {
    equivalences: &'a Equivalences,
}

impl Same<'_> {
    /// Whether `a` and `b` are the same object.
    fn objects<T: PartialEq + Serialize>(&self, a: &T, b: &T) -> bool {
        if a == b {
            return true;
        }
        if self.equivalences.is_empty() {
            return false;
        }
        match (serde_json::to_value(a), serde_json::to_value(b)) {
            (Ok(a), Ok(b)) => self.values(&a, &b),
            _ => false,
        }
    }

    fn values(&self, a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value;
        match (a, b) {
            (Value::String(a), Value::String(b)) => self.equivalences.same(a, b),
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| self.values(a, b))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(key, a)| b.get(key).is_some_and(|b| self.values(a, b)))
            }
            _ => a == b,
        }
    }

    fn table(&self, from: &Table, to: &Table) -> TableModification {
        TableModification {
            columns: self.columns(from, to),
            column_order: diff_column_order(from, to),
            primary_key: self.option(from.primary_key.as_ref(), to.primary_key.as_ref()),
            uniques: self.maps(&from.uniques, &to.uniques),
            checks: self.maps_by(&from.checks, &to.checks, |live, target| {
                self.satisfies(live, target, live.not_valid, target.not_valid, |c| {
                    CheckConstraint {
                        not_valid: true,
                        ..c.clone()
                    }
                })
            }),
            foreign_keys: self.maps_by(&from.foreign_keys, &to.foreign_keys, |live, target| {
                self.satisfies(live, target, live.not_valid, target.not_valid, |fk| {
                    ForeignKey {
                        not_valid: true,
                        ..fk.clone()
                    }
                })
            }),
            indexes: self.maps(&from.indexes, &to.indexes),
            triggers: self.maps(&from.triggers, &to.triggers),
            comment: self.option(from.comment.as_ref(), to.comment.as_ref()),
            options: if self.objects(&from.options, &to.options) {
                None
            } else {
                Some(Change::Modified {
                    from: from.options.clone(),
                    to: to.options.clone(),
                })
            },
            policies: self.maps(&from.policies, &to.policies),
            partition_by: self.option(from.partition_by.as_ref(), to.partition_by.as_ref()),
            partition_of: self.option(from.partition_of.as_ref(), to.partition_of.as_ref()),
        }
    }

    /// Column changes, ignoring position: a column that only moved is not a changed
    /// column, order is compared once per table by [`diff_column_order`].
    fn columns(&self, from: &Table, to: &Table) -> Vec<Named<Column>> {
        let unplaced = |c: &Column| Column {
            position: 0,
            ..c.clone()
        };
        self.maps(&from.columns, &to.columns)
            .into_iter()
            .filter(|named| match &named.change {
                Change::Modified { from, to } => !self.objects(&unplaced(from), &unplaced(to)),
                _ => true,
            })
            .collect()
    }

    /// Whether the live constraint `live` satisfies `target`: they are the same, or
    /// they differ only in that the target is `NOT VALID` and the live one is valid (a
    /// checked constraint is all a `NOT VALID` one promises, and making a valid
    /// constraint `NOT VALID` again would mean dropping it). `unvalidated` marks a
    /// constraint `NOT VALID`.
    fn satisfies<T: PartialEq + Serialize>(
        &self,
        live: &T,
        target: &T,
        live_not_valid: bool,
        target_not_valid: bool,
        unvalidated: impl Fn(&T) -> T,
    ) -> bool {
        self.objects(live, target)
            || (target_not_valid && !live_not_valid && self.objects(&unvalidated(live), target))
    }

    /// Changes between two maps keyed by name, in name order.
    fn maps<T: Clone + PartialEq + Serialize>(
        &self,
        from: &BTreeMap<String, T>,
        to: &BTreeMap<String, T>,
    ) -> Vec<Named<T>> {
        self.maps_by(from, to, |a, b| self.objects(a, b))
    }

    /// Changes between two maps keyed by name, in name order, where `same(live, target)`
    /// says whether an object present on both sides is unchanged.
    fn maps_by<T: Clone>(
        &self,
        from: &BTreeMap<String, T>,
        to: &BTreeMap<String, T>,
        same: impl Fn(&T, &T) -> bool,
    ) -> Vec<Named<T>> {
        let names: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
        names
            .into_iter()
            .filter_map(|name| {
                let change = match (from.get(name), to.get(name)) {
                    (Some(live), Some(target)) if same(live, target) => return None,
                    (live, target) => self.option_by(live, target, |_, _| false)?,
                };
                Some(Named {
                    name: name.clone(),
                    change,
                })
            })
            .collect()
    }

    fn option<T: Clone + PartialEq + Serialize>(
        &self,
        from: Option<&T>,
        to: Option<&T>,
    ) -> Option<Change<T>> {
        self.option_by(from, to, |a, b| self.objects(a, b))
    }

    fn option_by<T: Clone>(
        &self,
        from: Option<&T>,
        to: Option<&T>,
        same: impl Fn(&T, &T) -> bool,
    ) -> Option<Change<T>> {
        match (from, to) {
            (None, None) => None,
            (None, Some(to)) => Some(Change::Added { to: to.clone() }),
            (Some(from), None) => Some(Change::Removed { from: from.clone() }),
            (Some(from), Some(to)) if same(from, to) => None,
            (Some(from), Some(to)) => Some(Change::Modified {
                from: from.clone(),
                to: to.clone(),
            }),
        }
    }
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

fn diff_sets<T: Clone + Ord>(from: &BTreeSet<T>, to: &BTreeSet<T>) -> Vec<Change<T>> {
    let removed = from
        .difference(to)
        .map(|o| Change::Removed { from: o.clone() });
    let added = to.difference(from).map(|o| Change::Added { to: o.clone() });
    removed.chain(added).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::CheckConstraint;
    use crate::testing::{TableBuilder, snapshot};

    fn with_check(expression: &str) -> SchemaSnapshot {
        let mut table = TableBuilder::new().column("kind", "varchar", true).build();
        table.checks.insert(
            "kind_check".into(),
            CheckConstraint {
                expression: expression.into(),
                ..CheckConstraint::default()
            },
        );
        snapshot([("t", table)])
    }

    #[test]
    fn spellings_learnt_from_the_database_compare_equal_and_nothing_else_does() {
        let written = with_check("(kind)::text = ANY ((ARRAY['a'::varchar])::text[])");
        let reparsed = with_check("(kind)::text = ANY (ARRAY[('a'::varchar)::text])");
        let other = with_check("(kind)::text = ANY (ARRAY[('b'::varchar)::text])");
        let mut target = written.clone();
        assert!(!DefaultDiffCalculator.diff(&reparsed, &target).is_empty());
        target.equivalences = Equivalences::between(&written, &reparsed);
        assert_eq!(target.equivalences.len(), 1);
        assert!(DefaultDiffCalculator.diff(&reparsed, &target).is_empty());
        assert!(DefaultDiffCalculator.diff(&written, &target).is_empty());
        assert!(!DefaultDiffCalculator.diff(&other, &target).is_empty());
        assert_eq!(target.hash(), written.hash(), "equivalences are not hashed");
    }
}
