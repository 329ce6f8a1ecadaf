//! The database-agnostic schema model.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::types::DataType;

/// The current snapshot format version. Bumped when the serialised form changes meaning.
pub const SNAPSHOT_FORMAT_VERSION: u32 = 3;

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
    /// Functions and procedures. PostgreSQL keys them by signature (`name(arg types)`);
    /// MySQL has no overloading but keeps functions and procedures apart, so it keys a
    /// function by its bare name (`total`) and a procedure by `procedure ` and its name
    /// (`procedure add_order`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Function>,
    /// Scheduled events (MySQL) by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, Event>,
    /// Extensions the schema relies on, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Extension>,
    /// Domains (PostgreSQL) by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub domains: BTreeMap<String, Domain>,
    /// Privileges granted on the tenant's objects, keyed by [`PrivilegeTarget`] text
    /// (`table users`, `sequence orders_id_seq`, `function total(integer)`). Empty unless
    /// the inspector was asked to read privileges: they are compared only on request.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub privileges: BTreeMap<String, BTreeSet<Grant>>,
    /// Objects the inspector found but does not model. They are reported, never ignored.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub unsupported: BTreeSet<UnsupportedObject>,
    /// Pairs of expression texts the database showed to mean the same thing (see
    /// [`Equivalences`]). Knowledge about the snapshot, not part of it: never serialised,
    /// never hashed, ignored by `==`.
    #[serde(skip)]
    pub equivalences: Equivalences,
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
    /// Table options (MySQL engine, charset, collation; PostgreSQL persistence, storage
    /// parameters and row-level security).
    #[serde(default, skip_serializing_if = "TableOptions::is_empty")]
    pub options: TableOptions,
    /// Row-level security policies by name (PostgreSQL).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Policy>,
    /// The partition key of a partitioned table, as the database prints it
    /// (`RANGE (created_at)`), tenant-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<String>,
    /// The partitioned table this table is a partition of, with its bound. A partition's
    /// columns, and the constraints and indexes it inherits, belong to the parent and are
    /// not repeated here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<PartitionOf>,
}

/// Where a partition sits in its partitioned table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartitionOf {
    /// The partitioned table, in the same tenant.
    pub parent: String,
    /// The bound as the database prints it (`FOR VALUES FROM ('2024-01-01') TO
    /// ('2025-01-01')`, `DEFAULT`).
    pub bound: String,
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
    /// PostgreSQL `UNLOGGED`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unlogged: bool,
    /// PostgreSQL storage parameters (`fillfactor`, `autovacuum_enabled`, ...), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_parameters: BTreeMap<String, String>,
    /// PostgreSQL `ENABLE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub row_security: bool,
    /// PostgreSQL `FORCE ROW LEVEL SECURITY` (policies apply to the owner too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_row_security: bool,
    /// MySQL `ROW_FORMAT` as declared (`COMPRESSED`, `DYNAMIC`), upper case; `None` when
    /// the table was created without one (the engine's default, whatever it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_format: Option<String>,
    /// MySQL `KEY_BLOCK_SIZE` in KiB, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_block_size: Option<u32>,
    /// MySQL `STATS_PERSISTENT` (`None`: `DEFAULT`, the server setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_persistent: Option<bool>,
    /// MySQL `STATS_AUTO_RECALC` (`None`: `DEFAULT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_auto_recalc: Option<bool>,
    /// MySQL `STATS_SAMPLE_PAGES` (`None`: `DEFAULT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats_sample_pages: Option<u32>,
    /// MariaDB Aria `TRANSACTIONAL`, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional: Option<bool>,
    /// MariaDB Aria `PAGE_CHECKSUM`, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_checksum: Option<bool>,
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

    /// Whether a PostgreSQL-only option is set (`UNLOGGED`, storage parameters, row-level
    /// security): MySQL and SQLite cannot express them.
    pub fn has_postgres_options(&self) -> bool {
        self.unlogged
            || !self.storage_parameters.is_empty()
            || self.row_security
            || self.force_row_security
    }

    /// Whether a MySQL or SQLite option is set (engine, charset, collation, `WITHOUT
    /// ROWID`, `STRICT`, the MySQL create options): PostgreSQL cannot express them.
    pub fn has_mysql_or_sqlite_options(&self) -> bool {
        self.engine.is_some()
            || self.charset.is_some()
            || self.collation.is_some()
            || self.without_rowid
            || self.strict
            || self.has_mysql_create_options()
    }

    /// Whether a MySQL create option is set (`ROW_FORMAT`, `KEY_BLOCK_SIZE`, the
    /// `STATS_*` options, Aria's `TRANSACTIONAL` and `PAGE_CHECKSUM`): neither
    /// PostgreSQL nor SQLite can express them.
    pub fn has_mysql_create_options(&self) -> bool {
        self.row_format.is_some()
            || self.key_block_size.is_some()
            || self.stats_persistent.is_some()
            || self.stats_auto_recalc.is_some()
            || self.stats_sample_pages.is_some()
            || self.transactional.is_some()
            || self.page_checksum.is_some()
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
    /// MySQL/MariaDB `INVISIBLE`: left out of `SELECT *` and of inserts without a column
    /// list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invisible: bool,
    /// MariaDB `COMPRESSED`: the value is stored compressed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compressed: bool,
    /// MySQL 8 spatial reference system of a geometry column (`SRID 4326`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srid: Option<u32>,
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
            invisible: false,
            compressed: false,
            srid: None,
        }
    }

    /// The MySQL/MariaDB-only attributes this column sets (`INVISIBLE`, `COMPRESSED`,
    /// `SRID`, `ZEROFILL`), as SQL keywords: adapters of other databases refuse them.
    pub fn mysql_only_attributes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.invisible {
            out.push("INVISIBLE");
        }
        if self.compressed {
            out.push("COMPRESSED");
        }
        if self.srid.is_some() {
            out.push("SRID");
        }
        if self.data_type.zerofill {
            out.push("ZEROFILL");
        }
        out
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Constraint name where the database keeps one that matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Key columns in order.
    pub columns: Vec<String>,
    /// Constraint comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UniqueConstraint {
    /// Key columns in order.
    pub columns: Vec<String>,
    /// PostgreSQL 15 `NULLS NOT DISTINCT`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nulls_not_distinct: bool,
    /// PostgreSQL deferrability.
    #[serde(default, skip_serializing_if = "Deferrable::is_not_deferrable")]
    pub deferrable: Deferrable,
    /// Constraint comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckConstraint {
    /// The boolean expression, as the database normalises it.
    pub expression: String,
    /// PostgreSQL `NOT VALID`: existing rows were never checked. A valid constraint
    /// satisfies a target that asks for a `NOT VALID` one (see the diff).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_valid: bool,
    /// Constraint comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// `MATCH FULL` (the default is `MATCH SIMPLE`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub match_full: bool,
    /// The columns an `ON DELETE SET NULL (...)` or `SET DEFAULT (...)` action sets
    /// (PostgreSQL 15); empty means all referencing columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete_set_columns: Vec<String>,
    /// PostgreSQL `NOT VALID`: existing rows were never checked. A valid key satisfies a
    /// target that asks for a `NOT VALID` one (see the diff).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_valid: bool,
    /// Constraint comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// PostgreSQL 15 `NULLS NOT DISTINCT` of a unique index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub nulls_not_distinct: bool,
    /// PostgreSQL index storage parameters (`fillfactor`, `fastupdate`, ...), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_parameters: BTreeMap<String, String>,
    /// Index comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// MySQL full-text parser plugin (`WITH PARSER ngram`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
}

impl Index {
    /// The MySQL/MariaDB-only attributes this index sets (invisible, key prefix lengths,
    /// a full-text parser), as SQL keywords: adapters of other databases refuse them.
    pub fn mysql_only_attributes(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.invisible {
            out.push("INVISIBLE");
        }
        if self.parts.iter().any(|p| {
            matches!(
                p,
                IndexPart::Column {
                    prefix_length: Some(_),
                    ..
                }
            )
        }) {
            out.push("a key prefix length");
        }
        if self.parser.is_some() {
            out.push("WITH PARSER");
        }
        out
    }
}

/// How one index key is compared and sorted beyond its direction (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyOptions {
    /// A non-default operator class with its parameters, tenant-relative
    /// (`jsonb_path_ops`, `gist_trgm_ops(siglen='32')`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_class: Option<String>,
    /// A collation other than the column's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// An explicit `NULLS FIRST` (true) or `NULLS LAST` (false) where it differs from
    /// the direction's default; `None` when it is the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nulls_first: Option<bool>,
}

impl KeyOptions {
    /// Whether every option is the default.
    pub fn is_default(&self) -> bool {
        self == &KeyOptions::default()
    }
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
        /// Operator class, collation and nulls order.
        #[serde(default, flatten, skip_serializing_if = "KeyOptions::is_default")]
        options: KeyOptions,
    },
    /// An expression.
    Expression {
        /// The expression, as the database normalises it.
        sql: String,
        /// Descending order.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        descending: bool,
        /// Operator class, collation and nulls order.
        #[serde(default, flatten, skip_serializing_if = "KeyOptions::is_default")]
        options: KeyOptions,
    },
}

impl IndexPart {
    /// An ascending column part.
    pub fn column(name: impl Into<String>) -> Self {
        IndexPart::Column {
            name: name.into(),
            descending: false,
            prefix_length: None,
            options: KeyOptions::default(),
        }
    }
}

/// A trigger, kept as the database's own definition (triggers are dialect-specific).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trigger {
    /// The complete `CREATE TRIGGER` statement, tenant-relative.
    pub definition: String,
    /// When the trigger fires (PostgreSQL `ALTER TABLE ... DISABLE/ENABLE TRIGGER`).
    #[serde(default, skip_serializing_if = "TriggerEnabled::is_default")]
    pub enabled: TriggerEnabled,
    /// Trigger comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// When a PostgreSQL trigger fires, after `session_replication_role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerEnabled {
    /// Fires in `origin` and `local` mode (the default, `ENABLE TRIGGER`).
    #[default]
    Origin,
    /// Never fires (`DISABLE TRIGGER`).
    Disabled,
    /// Fires only in `replica` mode (`ENABLE REPLICA TRIGGER`).
    Replica,
    /// Fires in every mode (`ENABLE ALWAYS TRIGGER`).
    Always,
}

impl TriggerEnabled {
    /// Whether this is the default state.
    pub fn is_default(&self) -> bool {
        *self == TriggerEnabled::Origin
    }
}

/// A row-level security policy (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// The command it applies to.
    #[serde(default, skip_serializing_if = "PolicyCommand::is_all")]
    pub command: PolicyCommand,
    /// `AS RESTRICTIVE` (the default is permissive).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restrictive: bool,
    /// Roles it applies to, sorted; `public` for everyone.
    pub roles: Vec<String>,
    /// The `USING` expression, tenant-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub using: Option<String>,
    /// The `WITH CHECK` expression, tenant-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_check: Option<String>,
    /// Policy comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The command a policy applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyCommand {
    /// Every command (`FOR ALL`, the default).
    #[default]
    All,
    /// `FOR SELECT`.
    Select,
    /// `FOR INSERT`.
    Insert,
    /// `FOR UPDATE`.
    Update,
    /// `FOR DELETE`.
    Delete,
}

impl PolicyCommand {
    /// Whether this is `FOR ALL`.
    pub fn is_all(&self) -> bool {
        *self == PolicyCommand::All
    }

    /// The SQL keyword.
    pub fn as_sql(&self) -> &'static str {
        match self {
            PolicyCommand::All => "ALL",
            PolicyCommand::Select => "SELECT",
            PolicyCommand::Insert => "INSERT",
            PolicyCommand::Update => "UPDATE",
            PolicyCommand::Delete => "DELETE",
        }
    }
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// Comments on the view's columns, by column name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub column_comments: BTreeMap<String, String>,
    /// A materialized view's indexes by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Index>,
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
    /// Sequence comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EnumType {
    /// Labels in sort order.
    pub values: Vec<String>,
    /// Type comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A domain: a base type with a default, nullability and checks (PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// The base type.
    #[serde(rename = "type")]
    pub data_type: DataType,
    /// `NOT NULL`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_null: bool,
    /// Default expression, tenant-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Collation, when not the base type's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// Check constraints by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<String, CheckConstraint>,
    /// Domain comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A function or procedure, kept as the database's own definition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Function {
    /// The complete `CREATE FUNCTION` (or `CREATE PROCEDURE`) statement, tenant-relative,
    /// without the comment (set on its own) and, on MySQL, without `DEFINER` (the
    /// account that runs the sync becomes the definer; it is not compared).
    pub definition: String,
    /// Function comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A scheduled event (MySQL `CREATE EVENT`), kept as the database's own definition.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Event {
    /// The complete `CREATE EVENT` statement, tenant-relative and without `DEFINER`:
    /// schedule (with its explicit `STARTS`, so a copy fires when the original does),
    /// `ON COMPLETION`, status (`ENABLE`, `DISABLE`, `DISABLE ON SLAVE`), comment and
    /// body. An event is changed by dropping and creating it again.
    pub definition: String,
}

/// One privilege granted to one role on one object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The role (`public` for everyone).
    pub grantee: String,
    /// The privilege keyword (`SELECT`, `USAGE`, `EXECUTE`, ...).
    pub privilege: String,
    /// `WITH GRANT OPTION`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grantable: bool,
}

/// The object a set of privileges is on; its text is the key of
/// [`SchemaSnapshot::privileges`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum PrivilegeTarget {
    /// A table, view or materialized view.
    Table(String),
    /// A sequence.
    Sequence(String),
    /// A function or procedure, by signature.
    Function(String),
}

impl PrivilegeTarget {
    /// The key text (`table users`).
    pub fn key(&self) -> String {
        match self {
            PrivilegeTarget::Table(name) => format!("table {name}"),
            PrivilegeTarget::Sequence(name) => format!("sequence {name}"),
            PrivilegeTarget::Function(name) => format!("function {name}"),
        }
    }

    /// Parses a key made by [`key`](Self::key).
    pub fn parse(key: &str) -> Option<Self> {
        let (kind, name) = key.split_once(' ')?;
        let name = name.to_string();
        match kind {
            "table" => Some(PrivilegeTarget::Table(name)),
            "sequence" => Some(PrivilegeTarget::Sequence(name)),
            "function" => Some(PrivilegeTarget::Function(name)),
            _ => None,
        }
    }
}

/// Pairs of texts that spell the same expression, learnt from the database.
///
/// PostgreSQL does not always print an expression the way it prints that printout once
/// parsed again (`(ARRAY['a'::varchar])::text[]` comes back as
/// `ARRAY[('a'::varchar)::text]`), so a check copied from a template can read differently
/// in the tenant it was applied to. An adapter that can ask the database which spellings
/// are the same fills this on the target; the diff then treats each pair as equal text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Equivalences(BTreeSet<(String, String)>);

impl Equivalences {
    /// Records that `a` and `b` spell the same expression.
    pub fn insert(&mut self, a: impl Into<String>, b: impl Into<String>) {
        let (a, b) = (a.into(), b.into());
        if a != b {
            self.0.insert(if a < b { (a, b) } else { (b, a) });
        }
    }

    /// Whether `a` and `b` are the same text or a known pair.
    pub fn same(&self, a: &str, b: &str) -> bool {
        a == b || {
            let pair = if a < b { (a, b) } else { (b, a) };
            self.0
                .iter()
                .any(|(x, y)| x.as_str() == pair.0 && y.as_str() == pair.1)
        }
    }

    /// The pairs of texts in which `original` and `reparsed` differ, object by object:
    /// `reparsed` is `original` created anew by the database and inspected again, so
    /// where the same field of the same object reads differently, both spellings mean
    /// the same. Objects present on one side only teach nothing.
    pub fn between(original: &SchemaSnapshot, reparsed: &SchemaSnapshot) -> Self {
        let mut out = Self::default();
        if let (Ok(a), Ok(b)) = (
            serde_json::to_value(original),
            serde_json::to_value(reparsed),
        ) {
            out.learn(&a, &b);
        }
        out
    }

    fn learn(&mut self, a: &serde_json::Value, b: &serde_json::Value) {
        use serde_json::Value;
        match (a, b) {
            (Value::String(a), Value::String(b)) => self.insert(a.as_str(), b.as_str()),
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
                for (a, b) in a.iter().zip(b) {
                    self.learn(a, b);
                }
            }
            (Value::Object(a), Value::Object(b)) => {
                for (key, a) in a {
                    if let Some(b) = b.get(key) {
                        self.learn(a, b);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether no pair is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of known pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl PartialEq for Equivalences {
    /// Always equal: equivalences are knowledge about a snapshot, not part of it.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Equivalences {}

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
