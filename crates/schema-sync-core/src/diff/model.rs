//! The hierarchical diff model: schema, then table, then column, constraint and index.

use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

use crate::snapshot::{
    CheckConstraint, Column, Domain, EnumType, Event, Extension, ForeignKey, Function, Grant,
    Index, PartitionOf, Policy, PrimaryKey, Sequence, Table, TableOptions, Trigger,
    UniqueConstraint, UnsupportedObject, View,
};

/// One object's change, carrying the full before and after states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change<T> {
    /// Present in the target only.
    Added {
        /// The object to create.
        to: T,
    },
    /// Present in the live schema only.
    Removed {
        /// The object to drop.
        from: T,
    },
    /// Present in both, different.
    Modified {
        /// The live state.
        from: T,
        /// The desired state.
        to: T,
    },
}

impl<T> Change<T> {
    /// The state before the change, if the object existed.
    pub fn from(&self) -> Option<&T> {
        match self {
            Change::Added { .. } => None,
            Change::Removed { from } | Change::Modified { from, .. } => Some(from),
        }
    }

    /// The state after the change, if the object remains.
    pub fn to(&self) -> Option<&T> {
        match self {
            Change::Removed { .. } => None,
            Change::Added { to } | Change::Modified { to, .. } => Some(to),
        }
    }

    /// `+`, `-` or `~`.
    pub fn sign(&self) -> char {
        match self {
            Change::Added { .. } => '+',
            Change::Removed { .. } => '-',
            Change::Modified { .. } => '~',
        }
    }
}

/// A change to a named object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named<T> {
    /// The object's name.
    pub name: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Change<T>,
}

/// Everything that differs between a live schema and the target.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchemaDiff {
    /// Table changes, by table name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<TableDiff>,
    /// View changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<Named<View>>,
    /// Sequence changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<Named<Sequence>>,
    /// Enum type changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<Named<EnumType>>,
    /// Function changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<Named<Function>>,
    /// Event changes (MySQL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Named<Event>>,
    /// Extension changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<Named<Extension>>,
    /// Domain changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<Named<Domain>>,
    /// Privilege changes, by object key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub privileges: Vec<Named<BTreeSet<Grant>>>,
    /// Differences in objects schema-sync does not model; these cannot be planned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unsupported: Vec<Change<UnsupportedObject>>,
}

/// One table's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDiff {
    /// Table name.
    pub name: String,
    /// What changed.
    #[serde(flatten)]
    pub change: TableChange,
}

/// How a table changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
// One diff is built per distinct schema, not per tenant: the variants' size difference
// costs nothing worth a Box in every match.
#[allow(clippy::large_enum_variant)]
pub enum TableChange {
    /// A new table.
    Added {
        /// Its full definition.
        to: Table,
    },
    /// A table to drop.
    Removed {
        /// Its live definition.
        from: Table,
    },
    /// A table whose parts differ.
    Modified(TableModification),
}

/// The parts of a table that differ.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableModification {
    /// Column changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Named<Column>>,
    /// Primary key change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Change<PrimaryKey>>,
    /// Unique constraint changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Named<UniqueConstraint>>,
    /// Check constraint changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Named<CheckConstraint>>,
    /// Foreign key changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<Named<ForeignKey>>,
    /// Index changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Named<Index>>,
    /// Trigger changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Named<Trigger>>,
    /// Comment change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<Change<String>>,
    /// Storage option change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Change<TableOptions>>,
    /// Row-level security policy changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<Named<Policy>>,
    /// Partition key change (a table becomes or stops being partitioned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<Change<String>>,
    /// Change of the partitioned table this one is attached to, or of its bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<Change<PartitionOf>>,
    /// The columns both sides have are in a different order. Reported, but drift only
    /// when column order is strict ([`SchemaDiff::is_in_sync`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_order: Option<ColumnOrder>,
}

/// A difference in column order: the full live order and the full target order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnOrder {
    /// The live table's columns in order.
    pub from: Vec<String>,
    /// The target table's columns in order.
    pub to: Vec<String>,
    /// Not drift (column order is not strict): a plan restores the order only where it
    /// rebuilds the table anyway.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

impl TableModification {
    /// Whether nothing differs, column order included.
    pub fn is_empty(&self) -> bool {
        self.change_count() == 0 && self.column_order.is_none()
    }

    /// The number of changed parts, not counting a column-order difference.
    pub fn change_count(&self) -> usize {
        self.columns.len()
            + usize::from(self.primary_key.is_some())
            + self.uniques.len()
            + self.checks.len()
            + self.foreign_keys.len()
            + self.indexes.len()
            + self.triggers.len()
            + usize::from(self.comment.is_some())
            + usize::from(self.options.is_some())
            + self.policies.len()
            + usize::from(self.partition_by.is_some())
            + usize::from(self.partition_of.is_some())
    }
}

impl SchemaDiff {
    /// Whether the two schemas are equal, column order included.
    pub fn is_empty(&self) -> bool {
        self.change_count() == 0 && self.column_order_changes() == 0
    }

    /// Whether the live schema counts as in sync with the target: nothing differs but
    /// (unless `strict_column_order`) the order of columns.
    pub fn is_in_sync(&self, strict_column_order: bool) -> bool {
        self.change_count() == 0 && (!strict_column_order || self.column_order_changes() == 0)
    }

    /// The number of tables whose columns are in a different order.
    pub fn column_order_changes(&self) -> usize {
        self.tables
            .iter()
            .filter(|t| matches!(&t.change, TableChange::Modified(m) if m.column_order.is_some()))
            .count()
    }

    /// This diff with its column-order differences marked optional: what a planner gets
    /// when column order is not strict. The order is then restored only where a table is
    /// rebuilt anyway (SQLite), never by a step of its own.
    pub fn with_optional_column_order(&self) -> SchemaDiff {
        let mut diff = self.clone();
        for table in &mut diff.tables {
            if let TableChange::Modified(m) = &mut table.change
                && let Some(order) = &mut m.column_order
            {
                order.optional = true;
            }
        }
        diff
    }

    /// The number of changed objects, counting each changed table part once and not
    /// counting column-order differences.
    pub fn change_count(&self) -> usize {
        let tables: usize = self
            .tables
            .iter()
            .map(|t| match &t.change {
                TableChange::Added { .. } | TableChange::Removed { .. } => 1,
                TableChange::Modified(m) => m.change_count(),
            })
            .sum();
        tables
            + self.views.len()
            + self.sequences.len()
            + self.enums.len()
            + self.functions.len()
            + self.events.len()
            + self.extensions.len()
            + self.domains.len()
            + self.privileges.len()
            + self.unsupported.len()
    }
}
