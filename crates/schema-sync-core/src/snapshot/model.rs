//! The database-agnostic schema model.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::types::DataType;

/// The current snapshot format version. Bumped when the serialised form changes meaning.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 2;

/// A normalised, tenant-relative picture of one schema.
///
/// Every collection is an ordered map keyed by object name, so the serialised form (and
/// the [`hash`](SchemaSnapshot::hash)) does not depend on the order in which a catalog
/// returned rows. The tenant's own namespace never appears: a tenant cloned from a
/// template has the same snapshot as the template.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchemaSnapshot {
    /// Format version of this serialisation ([`SNAPSHOT_FORMAT_VERSION`]).
    pub version: u32,
    /// Tables by name.
    #[serde(default)]
    pub tables: BTreeMap<String, Table>,
    /// Views and materialized views by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<String, View>,
    /// Standalone and serial sequences by name. Identity columns' own sequences are part
    /// of the column ([`Identity`]), not listed here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequences: BTreeMap<String, Sequence>,
    /// Enum types by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub enums: BTreeMap<String, EnumType>,
    /// Functions and procedures keyed by signature (`name(arg types)`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Function>,
    /// Extensions the schema relies on, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Extension>,
    /// Objects the inspector found but does not model. They are reported, never ignored.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unsupported: BTreeSet<UnsupportedObject>,
}

/// A table and everything that hangs off it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Columns by name. Their order lives in [`Column::position`]: use
    /// [`Table::ordered_columns`] wherever order matters (creating or rebuilding a table).
    pub columns: BTreeMap<String, Column>,
    /// The primary key, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<PrimaryKey>,
    /// Unique constraints by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uniques: BTreeMap<String, UniqueConstraint>,
    /// Check constraints by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, CheckConstraint>,
    /// Foreign keys by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub foreign_keys: BTreeMap<String, ForeignKey>,
    /// Indexes (not backing a constraint) by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Index>,
    /// Triggers by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers: BTreeMap<String, Trigger>,
    /// Table comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Storage options (MySQL engine, charset, collation).
    #[serde(default, skip_serializing_if = "TableOptions::is_empty")]
    pub options: TableOptions,
}

/// Storage options of a table, where the database has them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableOptions {
    /// Storage engine (MySQL `InnoDB`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// Default character set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// Default collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// SQLite `WITHOUT ROWID`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub without_rowid: bool,
    /// SQLite `STRICT`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
}

impl Table {
    /// Columns in position order; names break ties, so a table without positions (format
    /// 1) lists them by name.
    pub fn ordered_columns(&self) -> Vec<(&String, &Column)> {
        let mut columns: Vec<(&String, &Column)> = self.columns.iter().collect();
        columns.sort_by(|(a_name, a), (b_name, b)| {
            (a.position, a_name.as_str()).cmp(&(b.position, b_name.as_str()))
        });
        columns
    }

    /// Column names in position order.
    pub fn column_order(&self) -> Vec<&str> {
        self.ordered_columns()
            .into_iter()
            .map(|(name, _)| name.as_str())
            .collect()
    }

    /// Whether every column has a known position, so that order can be compared.
    pub fn has_column_positions(&self) -> bool {
        self.columns.values().all(|c| c.position > 0)
    }

    /// Adds `column` after the last one, giving it the next position.
    pub fn push_column(&mut self, name: impl Into<String>, mut column: Column) {
        column.position = self.columns.values().map(|c| c.position).max().unwrap_or(0) + 1;
        self.columns.insert(name.into(), column);
    }

    /// Inserts `column` so that it directly follows `after` (`None`: first), shifting the
    /// columns behind it. Used by in-memory appliers; positions stay dense.
    pub fn insert_column_after(
        &mut self,
        name: impl Into<String>,
        mut column: Column,
        after: Option<&str>,
    ) {
        let name = name.into();
        let mut order: Vec<String> = self
            .column_order()
            .into_iter()
            .map(str::to_string)
            .collect();
        order.retain(|n| n != &name);
        let at = match after {
            None => 0,
            Some(prev) => order
                .iter()
                .position(|n| n == prev)
                .map_or(order.len(), |i| i + 1),
        };
        order.insert(at, name.clone());
        column.position = 0;
        self.columns.insert(name, column);
        self.set_column_order(&order);
    }

    /// Gives the columns positions 1..n in the order of `names`; columns not named keep
    /// their relative order after them.
    pub fn set_column_order(&mut self, names: &[String]) {
        let mut order: Vec<String> = names
            .iter()
            .filter(|n| self.columns.contains_key(n.as_str()))
            .cloned()
            .collect();
        for name in self.column_order() {
            if !order.iter().any(|n| n == name) {
                order.push(name.to_string());
            }
        }
        for (index, name) in order.iter().enumerate() {
            if let Some(column) = self.columns.get_mut(name) {
                column.position = u32::try_from(index + 1).unwrap_or(u32::MAX);
            }
        }
    }

    /// Closes gaps so positions are 1..n in their current order (after the inspector set
    /// raw catalog ordinals, or after a column was dropped).
    pub fn renumber_columns(&mut self) {
        let order: Vec<String> = self
            .column_order()
            .into_iter()
            .map(str::to_string)
            .collect();
        self.set_column_order(&order);
    }
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

impl TableOptions {
    /// Whether no option is set.
    pub fn is_empty(&self) -> bool {
        self == &TableOptions::default()
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// 1-based position among the table's columns, dense (the catalog's ordinal with the
    /// gaps of dropped columns closed). 0 means unknown: snapshots of format 1 kept no
    /// order, and a table with an unknown position has no order to compare.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub position: u32,
    /// Normalised data type.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression as the database normalises it, tenant-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Identity or auto-increment behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Generated (computed) column definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
    /// Collation, when it differs from the database default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// MySQL `ON UPDATE` expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
    /// Column comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Column {
    /// A nullable column of `data_type` with nothing else set.
    pub fn new(data_type: DataType) -> Self {
        Self {
            position: 0,
            data_type,
            nullable: true,
            default: None,
            identity: None,
            generated: None,
            collation: None,
            on_update: None,
            comment: None,
        }
    }
}

/// How a column generates its own values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    /// SQL `GENERATED ALWAYS AS IDENTITY`.
    Always,
    /// SQL `GENERATED BY DEFAULT AS IDENTITY`.
    ByDefault,
    /// MySQL `AUTO_INCREMENT` or SQLite `AUTOINCREMENT`.
    AutoIncrement,
}

/// A generated column's expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generated {
    /// The expression, as the database normalises it.
    pub expression: String,
    /// Stored (true) or computed on read (false, `VIRTUAL`).
    pub stored: bool,
}

/// A primary key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Constraint name where the database keeps one that matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key columns in order.
    pub columns: Vec<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueConstraint {
    /// Key columns in order.
    pub columns: Vec<String>,
    /// PostgreSQL 15 `NULLS NOT DISTINCT`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nulls_not_distinct: bool,
    /// PostgreSQL deferrability.
    #[serde(default, skip_serializing_if = "Deferrable::is_not_deferrable")]
    pub deferrable: Deferrable,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConstraint {
    /// The boolean expression, as the database normalises it.
    pub expression: String,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// Referencing columns in order.
    pub columns: Vec<String>,
    /// Schema of the referenced table when it lies outside the tenant; `None` means the
    /// tenant's own namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_schema: Option<String>,
    /// Referenced table.
    pub referenced_table: String,
    /// Referenced columns in order.
    pub referenced_columns: Vec<String>,
    /// `ON DELETE` action.
    #[serde(default, skip_serializing_if = "ForeignKeyAction::is_no_action")]
    pub on_delete: ForeignKeyAction,
    /// `ON UPDATE` action.
    #[serde(default, skip_serializing_if = "ForeignKeyAction::is_no_action")]
    pub on_update: ForeignKeyAction,
    /// Deferrability.
    #[serde(default, skip_serializing_if = "Deferrable::is_not_deferrable")]
    pub deferrable: Deferrable,
}

/// What a foreign key does when the referenced row changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignKeyAction {
    /// `NO ACTION` (the default).
    #[default]
    NoAction,
    /// `RESTRICT`.
    Restrict,
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
}

impl ForeignKeyAction {
    /// Whether this is the default action.
    pub fn is_no_action(&self) -> bool {
        *self == ForeignKeyAction::NoAction
    }

    /// The SQL keywords of this action.
    pub fn as_sql(&self) -> &'static str {
        match self {
            ForeignKeyAction::NoAction => "NO ACTION",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::Cascade => "CASCADE",
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// Constraint deferrability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deferrable {
    /// `NOT DEFERRABLE` (the default).
    #[default]
    NotDeferrable,
    /// `DEFERRABLE INITIALLY IMMEDIATE`.
    InitiallyImmediate,
    /// `DEFERRABLE INITIALLY DEFERRED`.
    InitiallyDeferred,
}

impl Deferrable {
    /// Whether this is the default.
    pub fn is_not_deferrable(&self) -> bool {
        *self == Deferrable::NotDeferrable
    }
}

/// An index that does not back a primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// Key parts in order.
    pub parts: Vec<IndexPart>,
    /// `UNIQUE`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// Access method (`btree`, `gin`, `fulltext`, `spatial`), when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Partial index predicate (`WHERE ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// Non-key `INCLUDE` columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// MySQL invisible index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invisible: bool,
}

/// One key part of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexPart {
    /// A plain column.
    Column {
        /// Column name.
        name: String,
        /// Descending order.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        descending: bool,
        /// MySQL prefix length.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefix_length: Option<u32>,
    },
    /// An expression.
    Expression {
        /// The expression, as the database normalises it.
        sql: String,
        /// Descending order.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        descending: bool,
    },
}

impl IndexPart {
    /// An ascending column part.
    pub fn column(name: impl Into<String>) -> Self {
        IndexPart::Column {
            name: name.into(),
            descending: false,
            prefix_length: None,
        }
    }
}

/// A trigger, kept as the database's own definition (triggers are dialect-specific).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// The complete `CREATE TRIGGER` statement, tenant-relative.
    pub definition: String,
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The `SELECT` body, tenant-relative.
    pub definition: String,
    /// Materialized view.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub materialized: bool,
    /// Tables and views of the tenant this view reads, when the database reports them.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub depends_on: BTreeSet<String>,
    /// View comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// The value type (`bigint` by default).
    pub data_type: DataType,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min_value: i64,
    /// `MAXVALUE`.
    pub max_value: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
    /// The column that owns it (`table.column`), for serial and identity sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    /// Labels in sort order.
    pub values: Vec<String>,
}

/// A function or procedure, kept as the database's own definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// The complete `CREATE FUNCTION` statement, tenant-relative.
    pub definition: String,
}

/// An extension.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Extension {
    /// Schema the extension is installed in, when outside the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
}

/// An object the inspector saw but does not model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UnsupportedObject {
    /// The kind of object (`rule`, `policy`, `virtual table`).
    pub kind: String,
    /// Its name, tenant-relative.
    pub name: String,
    /// The modelled table or view it hangs off, when it has one (a materialized view's
    /// index, a grant on a view, a trigger on a view). A plan that drops or recreates that
    /// object would silently lose this one, so such a plan is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

impl UnsupportedObject {
    /// An unmodelled object that hangs off nothing the model knows.
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            parent: None,
        }
    }

    /// An unmodelled object that hangs off the table or view `parent`.
    pub fn dependent_of(
        kind: impl Into<String>,
        name: impl Into<String>,
        parent: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
            parent: Some(parent.into()),
        }
    }
}
