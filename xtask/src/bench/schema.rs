//! The bench's own small, dialect-neutral schema model and the template generator.
//!
//! The template is data, not SQL: drift is a mutation of this model, and each dialect
//! renders a tenant's (possibly drifted) model to DDL ([`super::render`]). That keeps
//! every kind of drift expressible on every database, including SQLite, which cannot
//! `ALTER` most of them.
//!
//! The generator is deterministic for a given table count and seed, and the template looks
//! like an application's: tables referencing earlier tables through foreign keys with
//! indexes on them, an enum-typed status, money with a check, timestamps with defaults,
//! partial and expression indexes, a sequence-backed number, and views.

use super::drift::Rng;

/// Labels of the status enum.
pub const STATUS_VALUES: &[&str] = &["draft", "active", "archived"];
/// Name of the status enum type (PostgreSQL).
pub const STATUS_TYPE: &str = "record_status";
/// Name of the sequence behind the invoice number (PostgreSQL).
pub const SEQUENCE: &str = "document_number_seq";

const TABLE_NAMES: &[&str] = &[
    "accounts",
    "users",
    "teams",
    "projects",
    "tasks",
    "comments",
    "products",
    "orders",
    "order_items",
    "invoices",
    "payments",
    "refunds",
    "suppliers",
    "warehouses",
    "stock_levels",
    "shipments",
    "addresses",
    "plans",
    "subscriptions",
    "coupons",
    "events",
    "sessions",
    "tags",
    "reviews",
    "messages",
    "attachments",
    "webhooks",
    "api_keys",
    "audit_log",
    "settings",
];

/// A whole schema: what one tenant holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    /// Tables in creation order: a table only references tables before it.
    pub tables: Vec<Table>,
    /// Views, created after every table.
    pub views: Vec<View>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Name, unique in the schema.
    pub name: String,
    /// Columns; the first is always the `id` primary key.
    pub columns: Vec<Column>,
    /// Named check constraints.
    pub checks: Vec<Check>,
    /// Named foreign keys, each on one column referencing another table's `id`.
    pub foreign_keys: Vec<ForeignKey>,
    /// Named indexes.
    pub indexes: Vec<Index>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type.
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default value.
    pub default: Option<DefaultValue>,
}

/// A dialect-neutral column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// The generated primary key.
    Id,
    /// 64-bit integer.
    BigInt,
    /// 32-bit integer.
    Integer,
    /// Bounded text.
    Varchar(u32),
    /// Unbounded text.
    Text,
    /// Boolean.
    Boolean,
    /// Date and time.
    Timestamp,
    /// Exact decimal (precision, scale).
    Numeric(u32, u32),
    /// The status enum.
    Status,
}

/// A column default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultValue {
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
    /// A string literal (also an enum label).
    Text(String),
    /// The current time.
    Now,
    /// The next value of [`SEQUENCE`] (PostgreSQL; no default elsewhere).
    NextVal,
}

/// A check constraint `column op value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Constraint name.
    pub name: String,
    /// Checked column.
    pub column: String,
    /// Comparison operator.
    pub op: &'static str,
    /// Right-hand side.
    pub value: i64,
}

/// A foreign key `column -> table(id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing column.
    pub column: String,
    /// Referenced table.
    pub table: String,
    /// `ON DELETE` action, as SQL.
    pub on_delete: &'static str,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name.
    pub name: String,
    /// Key columns.
    pub columns: Vec<String>,
    /// `UNIQUE`.
    pub unique: bool,
    /// Kind of index; dialects without it render a plain index.
    pub kind: IndexKind,
    /// Backs a foreign key (MySQL would not let it be dropped; drift leaves it alone).
    pub backs_foreign_key: bool,
}

/// What is special about an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Plain column index.
    Plain,
    /// Partial: `WHERE deleted_at IS NULL` (PostgreSQL, SQLite).
    LiveRows,
    /// Expression: `lower(column)` on its single column (PostgreSQL, SQLite).
    Lower,
}

/// A view `SELECT id, name, status, created_at FROM table WHERE deleted_at IS [NOT] NULL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// View name.
    pub name: String,
    /// The table it reads.
    pub table: String,
    /// Selects the deleted rows instead of the live ones (the "changed view" drift).
    pub deleted_rows: bool,
}

/// Columns every view reads.
pub const VIEW_COLUMNS: &[&str] = &["id", "name", "status", "created_at"];

impl Schema {
    /// Generates the template: `tables` tables, deterministic for `seed`.
    pub fn template(tables: usize, seed: u64) -> Schema {
        let mut rng = Rng::new(seed);
        let mut schema = Schema {
            tables: Vec::with_capacity(tables),
            views: Vec::new(),
        };
        // The table that carries the sequence-backed document number.
        let numbered = tables.min(10).saturating_sub(1);
        for i in 0..tables {
            let base = TABLE_NAMES
                .get(i % TABLE_NAMES.len())
                .copied()
                .unwrap_or("items");
            let name = format!("t{i:02}_{base}");
            let mut table = Table {
                name: name.clone(),
                columns: vec![column("id", ColumnType::Id, false, None)],
                checks: Vec::new(),
                foreign_keys: Vec::new(),
                indexes: Vec::new(),
            };
            let prefix = format!("t{i:02}");

            // Up to two references to earlier tables, each with an index.
            let references = if i == 0 { 0 } else { rng.below(3).min(i) };
            let mut referenced = Vec::new();
            while referenced.len() < references {
                let target = rng.below(i);
                if !referenced.contains(&target) {
                    referenced.push(target);
                }
            }
            referenced.sort_unstable();
            for target in referenced {
                let target_name = schema.tables[target].name.clone();
                let fk_column = format!("ref_t{target:02}_id");
                let nullable = rng.chance(30);
                let on_delete = match (nullable, rng.below(3)) {
                    (true, 0) => "SET NULL",
                    (_, 1) => "CASCADE",
                    _ => "NO ACTION",
                };
                table
                    .columns
                    .push(column(&fk_column, ColumnType::BigInt, nullable, None));
                table.foreign_keys.push(ForeignKey {
                    name: format!("fk_{prefix}_t{target:02}"),
                    column: fk_column.clone(),
                    table: target_name,
                    on_delete,
                });
                table.indexes.push(Index {
                    name: format!("ix_{prefix}_ref_t{target:02}"),
                    columns: vec![fk_column],
                    unique: false,
                    kind: IndexKind::Plain,
                    backs_foreign_key: true,
                });
            }

            table.columns.extend([
                column("name", ColumnType::Varchar(120), false, None),
                column(
                    "status",
                    ColumnType::Status,
                    false,
                    Some(DefaultValue::Text(STATUS_VALUES[0].into())),
                ),
                column(
                    "amount",
                    ColumnType::Numeric(12, 2),
                    false,
                    Some(DefaultValue::Int(0)),
                ),
                column(
                    "is_active",
                    ColumnType::Boolean,
                    false,
                    Some(DefaultValue::Bool(true)),
                ),
                column(
                    "created_at",
                    ColumnType::Timestamp,
                    false,
                    Some(DefaultValue::Now),
                ),
                column("deleted_at", ColumnType::Timestamp, true, None),
                column("notes", ColumnType::Text, true, None),
                column(
                    "score",
                    ColumnType::Integer,
                    true,
                    Some(DefaultValue::Int(0)),
                ),
                column("code", ColumnType::Varchar(32), true, None),
            ]);
            table.checks.push(Check {
                name: format!("ck_{prefix}_amount"),
                column: "amount".into(),
                op: ">=",
                value: 0,
            });
            if rng.chance(50) {
                table.columns.push(column(
                    "quantity",
                    ColumnType::Integer,
                    false,
                    Some(DefaultValue::Int(1)),
                ));
                table.checks.push(Check {
                    name: format!("ck_{prefix}_quantity"),
                    column: "quantity".into(),
                    op: ">",
                    value: 0,
                });
            }
            if i == numbered {
                table.columns.push(column(
                    "document_number",
                    ColumnType::BigInt,
                    false,
                    Some(DefaultValue::NextVal),
                ));
            }
            table.indexes.push(Index {
                name: format!("ix_{prefix}_created_at"),
                columns: vec!["created_at".into()],
                unique: false,
                kind: IndexKind::Plain,
                backs_foreign_key: false,
            });
            if rng.chance(50) {
                table.indexes.push(Index {
                    name: format!("ix_{prefix}_live_status"),
                    columns: vec!["status".into()],
                    unique: false,
                    kind: IndexKind::LiveRows,
                    backs_foreign_key: false,
                });
            }
            if rng.chance(40) {
                table
                    .columns
                    .push(column("email", ColumnType::Varchar(255), true, None));
                table.indexes.push(Index {
                    name: format!("ix_{prefix}_email_lower"),
                    columns: vec!["email".into()],
                    unique: false,
                    kind: IndexKind::Lower,
                    backs_foreign_key: false,
                });
            }
            if rng.chance(30) {
                table.indexes.push(Index {
                    name: format!("ux_{prefix}_name"),
                    columns: vec!["name".into()],
                    unique: true,
                    kind: IndexKind::Plain,
                    backs_foreign_key: false,
                });
            } else if rng.chance(40) {
                table.indexes.push(Index {
                    name: format!("ix_{prefix}_status_created"),
                    columns: vec!["status".into(), "created_at".into()],
                    unique: false,
                    kind: IndexKind::Plain,
                    backs_foreign_key: false,
                });
            }
            if i % 5 == 2 {
                schema.views.push(View {
                    name: format!("v_{prefix}_live"),
                    table: name,
                    deleted_rows: false,
                });
            }
            schema.tables.push(table);
        }
        schema
    }

    /// Whether any column defaults to the sequence.
    #[cfg(test)]
    pub fn uses_sequence(&self) -> bool {
        self.tables
            .iter()
            .flat_map(|t| &t.columns)
            .any(|c| c.default == Some(DefaultValue::NextVal))
    }

    /// Whether `table` is referenced by another table's foreign key or by a view.
    pub fn is_referenced(&self, table: &str) -> bool {
        self.views.iter().any(|v| v.table == table)
            || self
                .tables
                .iter()
                .flat_map(|t| &t.foreign_keys)
                .any(|fk| fk.table == table)
    }

    /// Number of objects of the template: tables, columns, constraints, indexes, views.
    pub fn object_count(&self) -> usize {
        self.views.len()
            + self
                .tables
                .iter()
                .map(|t| {
                    1 + t.columns.len() + t.checks.len() + t.foreign_keys.len() + t.indexes.len()
                })
                .sum::<usize>()
    }
}

impl Table {
    /// Whether a column is used by the key, a check, a foreign key, an index or a view of
    /// `schema` (such a column is not dropped or retyped by drift).
    pub fn is_column_referenced(&self, schema: &Schema, column: &str) -> bool {
        column == "id"
            || self.checks.iter().any(|c| c.column == column)
            || self.foreign_keys.iter().any(|fk| fk.column == column)
            || self.indexes.iter().any(|ix| {
                ix.columns.iter().any(|c| c == column)
                    || (ix.kind == IndexKind::LiveRows && column == "deleted_at")
            })
            || (VIEW_COLUMNS.contains(&column) || column == "deleted_at")
                && schema.views.iter().any(|v| v.table == self.name)
    }
}

fn column(name: &str, ty: ColumnType, nullable: bool, default: Option<DefaultValue>) -> Column {
    Column {
        name: name.into(),
        ty,
        nullable,
        default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_deterministic_and_consistent() {
        let a = Schema::template(30, 7);
        assert_eq!(a, Schema::template(30, 7));
        assert_ne!(a, Schema::template(30, 8));
        assert_eq!(a.tables.len(), 30);
        assert!(a.uses_sequence());
        assert!(!a.views.is_empty());
        for (i, table) in a.tables.iter().enumerate() {
            for fk in &table.foreign_keys {
                let target = a.tables.iter().position(|t| t.name == fk.table);
                assert!(
                    target.is_some_and(|t| t < i),
                    "{} -> {}",
                    table.name,
                    fk.table
                );
                let column = table.columns.iter().find(|c| c.name == fk.column);
                assert!(column.is_some_and(|c| c.nullable || fk.on_delete != "SET NULL"));
            }
            for index in &table.indexes {
                for column in &index.columns {
                    assert!(table.columns.iter().any(|c| &c.name == column));
                }
            }
        }
    }

    #[test]
    fn small_templates_work() {
        for tables in 1..5 {
            let schema = Schema::template(tables, 1);
            assert_eq!(schema.tables.len(), tables);
            assert!(schema.uses_sequence());
        }
    }
}
