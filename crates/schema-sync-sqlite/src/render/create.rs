//! `CREATE TABLE` and `CREATE INDEX` text: what the target says, as the target says it.
//!
//! A table created by sync is rendered from the model: columns in the target's order,
//! declared types, constraint names (a derived name, see [`crate::inspect::names`], stays
//! unnamed), `STRICT` and `WITHOUT ROWID`, names bare unless they need quotes.
//!
//! A rebuilt table starts from its own stored DDL: every column definition and table
//! constraint whose meaning the plan does not change is kept verbatim (type spelling,
//! inline constraints, expression formatting, constraint names, even clauses the model
//! cannot carry such as `ON CONFLICT`), and only what changes is rendered from the
//! model. A rebuild therefore changes the text of exactly what it changes.

use std::collections::BTreeSet;

use schema_sync_core::snapshot::{
    Column, Deferrable, ForeignKey, Identity, Index, IndexPart, Table,
};

use crate::catalog::ddl::{TableDdl, TableItem, parse_create_table, same_columns};
use crate::inspect::names;
use crate::sql::render_ident;
use crate::types::render_type;

/// The live version of a table being rebuilt: its model and its stored DDL.
pub(crate) struct Previous<'a> {
    /// The live table as inspected.
    pub table: &'a Table,
    /// Its `CREATE TABLE` statement from `sqlite_schema`.
    pub sql: &'a str,
}

/// One constraint of a table, by its name in the model.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    PrimaryKey,
    Unique(String),
    Check(String),
    ForeignKey(String),
}

impl Slot {
    /// Whether the constraint is the same in `old` and `new` (and exists in `old`).
    fn unchanged(&self, old: &Table, new: &Table) -> bool {
        match self {
            Slot::PrimaryKey => old.primary_key.is_some() && old.primary_key == new.primary_key,
            Slot::Unique(n) => old
                .uniques
                .get(n)
                .is_some_and(|u| new.uniques.get(n) == Some(u)),
            Slot::Check(n) => old
                .checks
                .get(n)
                .is_some_and(|c| new.checks.get(n) == Some(c)),
            Slot::ForeignKey(n) => old
                .foreign_keys
                .get(n)
                .is_some_and(|f| new.foreign_keys.get(n) == Some(f)),
        }
    }

    /// The constraint as written from the model of `table`, when `table` has it.
    fn render(&self, name: &str, table: &Table) -> Option<String> {
        match self {
            Slot::PrimaryKey => table.primary_key.as_ref().map(|pk| {
                format!(
                    "{}PRIMARY KEY ({})",
                    constraint_prefix(pk.name.as_deref()),
                    ident_list(&pk.columns)
                )
            }),
            Slot::Unique(n) => table.uniques.get(n).map(|unique| {
                let given = (!names::is_derived_unique(name, n, unique)).then_some(n.as_str());
                format!(
                    "{}UNIQUE ({})",
                    constraint_prefix(given),
                    ident_list(&unique.columns)
                )
            }),
            Slot::Check(n) => table.checks.get(n).map(|check| {
                let given =
                    (!names::is_derived_check(name, n, &check.expression)).then_some(n.as_str());
                format!("{}CHECK ({})", constraint_prefix(given), check.expression)
            }),
            Slot::ForeignKey(n) => table.foreign_keys.get(n).map(|fk| {
                let given = (!names::is_derived_foreign_key(name, n, fk)).then_some(n.as_str());
                format!("{}{}", constraint_prefix(given), foreign_key_clause(fk))
            }),
        }
    }
}

/// Every constraint of `table`, primary key first.
fn all_slots(table: &Table) -> Vec<Slot> {
    let mut slots = Vec::new();
    if table.primary_key.is_some() {
        slots.push(Slot::PrimaryKey);
    }
    slots.extend(table.uniques.keys().cloned().map(Slot::Unique));
    slots.extend(table.checks.keys().cloned().map(Slot::Check));
    slots.extend(table.foreign_keys.keys().cloned().map(Slot::ForeignKey));
    slots
}

/// `CREATE TABLE name (...)` for `table`, keeping the unchanged items of `previous`.
///
/// Columns come in the table's order; a kept column keeps its text. Table constraints
/// keep their live order: unchanged ones verbatim, changed ones rendered in their
/// place; constraints that are new come last.
pub(crate) fn create_table(name: &str, table: &Table, previous: Option<Previous<'_>>) -> String {
    let parsed: Option<(&Table, TableDdl)> = previous.map(|p| (p.table, parse_create_table(p.sql)));
    let mut covered: BTreeSet<Slot> = BTreeSet::new();
    let mut kept_columns: Vec<(String, String)> = Vec::new();
    let mut constraints: Vec<String> = Vec::new();
    if let Some((old, ddl)) = &parsed {
        for item in &ddl.items {
            let Some(slots) = item_slots(name, item, old) else {
                continue;
            };
            let column_kept = match &item.column {
                Some(column) => same_column_in(old, table, column),
                None => true,
            };
            if column_kept && slots.iter().all(|s| s.unchanged(old, table)) {
                covered.extend(slots);
                match &item.column {
                    Some(column) => kept_columns.push((column.clone(), item.text.clone())),
                    None => constraints.push(item.text.clone()),
                }
            } else if item.column.is_none() {
                for slot in slots {
                    if !covered.contains(&slot)
                        && let Some(text) = slot.render(name, table)
                    {
                        constraints.push(text);
                        covered.insert(slot);
                    }
                }
            }
        }
    }

    let inline_key = table
        .primary_key
        .as_ref()
        .filter(|pk| {
            pk.columns.len() == 1
                && pk.name.is_none()
                && table
                    .columns
                    .get(&pk.columns[0])
                    .is_some_and(|c| c.identity == Some(Identity::AutoIncrement))
        })
        .map(|pk| pk.columns[0].as_str());
    let mut items: Vec<String> = Vec::new();
    for (column_name, column) in table.ordered_columns() {
        let kept = kept_columns
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(column_name));
        match kept {
            Some((_, text)) => items.push(text.clone()),
            None => {
                let inline = inline_key == Some(column_name.as_str())
                    && !covered.contains(&Slot::PrimaryKey);
                if inline {
                    covered.insert(Slot::PrimaryKey);
                }
                items.push(column_definition(column_name, column, inline));
            }
        }
    }
    items.extend(constraints);
    for slot in all_slots(table) {
        if !covered.contains(&slot)
            && let Some(text) = slot.render(name, table)
        {
            items.push(text);
        }
    }

    let (open, separator, close) = match &parsed {
        Some((_, ddl)) if ddl.multiline => ("(\n    ", ",\n    ", "\n)"),
        _ => ("(", ", ", ")"),
    };
    let options = match &parsed {
        Some((old, ddl)) if old.options == table.options => ddl.options_text.clone(),
        _ => render_options(table),
    };
    format!(
        "CREATE TABLE {} {open}{}{close}{options}",
        render_ident(name),
        items.join(separator)
    )
}

fn render_options(table: &Table) -> String {
    let mut options = Vec::new();
    if table.options.without_rowid {
        options.push("WITHOUT ROWID");
    }
    if table.options.strict {
        options.push("STRICT");
    }
    if options.is_empty() {
        String::new()
    } else {
        format!(" {}", options.join(", "))
    }
}

/// The constraints `item` declares, by their names in the live table `old`; `None`
/// when one cannot be matched to the model (then the item is not kept).
fn item_slots(name: &str, item: &TableItem, old: &Table) -> Option<Vec<Slot>> {
    let mut slots = Vec::new();
    if item.primary_key.is_some() {
        slots.push(Slot::PrimaryKey);
    }
    for (given, expression) in &item.checks {
        let check_name = given
            .clone()
            .unwrap_or_else(|| names::check(name, expression));
        slots.push(Slot::Check(check_name));
    }
    for (given, columns) in &item.uniques {
        let (unique_name, _) = old.uniques.iter().find(|(n, u)| {
            same_columns(&u.columns, columns) && given.as_ref().is_none_or(|g| g == *n)
        })?;
        slots.push(Slot::Unique(unique_name.clone()));
    }
    for (given, columns, _) in &item.foreign_keys {
        let (fk_name, _) = old.foreign_keys.iter().find(|(n, fk)| {
            same_columns(&fk.columns, columns)
                && given.as_ref().is_none_or(|g| g == *n)
                && !slots.contains(&Slot::ForeignKey((*n).clone()))
        })?;
        slots.push(Slot::ForeignKey(fk_name.clone()));
    }
    Some(slots)
}

/// Whether `column` (as the DDL spells it) is the same in `old` and `new`.
fn same_column_in(old: &Table, new: &Table, column: &str) -> bool {
    find_ci(&old.columns, column)
        .and_then(|(n, o)| new.columns.get(n).map(|c| same_column(o, c)))
        .unwrap_or(false)
}

fn find_ci<'a, T>(
    map: &'a std::collections::BTreeMap<String, T>,
    key: &str,
) -> Option<(&'a String, &'a T)> {
    map.get_key_value(key)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

/// Equal apart from position (order is the table's business, not the item's).
fn same_column(a: &Column, b: &Column) -> bool {
    Column {
        position: 0,
        ..a.clone()
    } == Column {
        position: 0,
        ..b.clone()
    }
}

fn constraint_prefix(name: Option<&str>) -> String {
    name.map(|n| format!("CONSTRAINT {} ", render_ident(n)))
        .unwrap_or_default()
}

fn foreign_key_clause(fk: &ForeignKey) -> String {
    let mut clause = format!(
        "FOREIGN KEY ({}) REFERENCES {} ({})",
        ident_list(&fk.columns),
        render_ident(&fk.referenced_table),
        ident_list(&fk.referenced_columns)
    );
    if !fk.on_delete.is_no_action() {
        clause.push_str(&format!(" ON DELETE {}", fk.on_delete.as_sql()));
    }
    if !fk.on_update.is_no_action() {
        clause.push_str(&format!(" ON UPDATE {}", fk.on_update.as_sql()));
    }
    match fk.deferrable {
        Deferrable::NotDeferrable => {}
        Deferrable::InitiallyImmediate => clause.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
        Deferrable::InitiallyDeferred => clause.push_str(" DEFERRABLE INITIALLY DEFERRED"),
    }
    clause
}

/// One column's definition; `inline_key` adds `PRIMARY KEY AUTOINCREMENT`.
pub(crate) fn column_definition(name: &str, column: &Column, inline_key: bool) -> String {
    let mut text = render_ident(name);
    let type_name = render_type(&column.data_type);
    if !type_name.is_empty() {
        text.push(' ');
        text.push_str(&type_name);
    }
    if inline_key {
        text.push_str(" PRIMARY KEY AUTOINCREMENT");
    }
    if let Some(collation) = &column.collation {
        text.push_str(&format!(" COLLATE {}", render_ident(collation)));
    }
    if !column.nullable {
        text.push_str(" NOT NULL");
    }
    if let Some(default) = &column.default {
        if is_literal(default) {
            text.push_str(&format!(" DEFAULT {default}"));
        } else {
            text.push_str(&format!(" DEFAULT ({default})"));
        }
    }
    if let Some(generated) = &column.generated {
        let kind = if generated.stored {
            "STORED"
        } else {
            "VIRTUAL"
        };
        text.push_str(&format!(
            " GENERATED ALWAYS AS ({}) {kind}",
            generated.expression
        ));
    }
    text
}

/// Whether a default can be written without parentheses: a number, a string, a blob,
/// `NULL`, `TRUE`/`FALSE` or a `CURRENT_*` keyword.
fn is_literal(default: &str) -> bool {
    let unsigned = default.strip_prefix(['-', '+']).unwrap_or(default);
    let number = !unsigned.is_empty()
        && unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
        && unsigned.chars().any(|c| c.is_ascii_digit());
    let quoted = default.len() >= 2
        && default.starts_with('\'')
        && default.ends_with('\'')
        && !default[1..default.len() - 1]
            .replace("''", "")
            .contains('\'');
    let blob = (default.starts_with("x'") || default.starts_with("X'")) && default.ends_with('\'');
    number
        || quoted
        || blob
        || [
            "null",
            "true",
            "false",
            "current_time",
            "current_date",
            "current_timestamp",
        ]
        .contains(&default.to_ascii_lowercase().as_str())
}

/// `CREATE [UNIQUE] INDEX name ON table (parts) [WHERE predicate]`.
pub(crate) fn create_index(table: &str, name: &str, index: &Index) -> String {
    let parts: Vec<String> = index
        .parts
        .iter()
        .map(|part| {
            let (text, descending) = match part {
                IndexPart::Column {
                    name, descending, ..
                } => (render_ident(name), *descending),
                IndexPart::Expression {
                    sql, descending, ..
                } => (sql.clone(), *descending),
            };
            if descending {
                format!("{text} DESC")
            } else {
                text
            }
        })
        .collect();
    let mut sql = format!(
        "CREATE {}INDEX {} ON {} ({})",
        if index.unique { "UNIQUE " } else { "" },
        render_ident(name),
        render_ident(table),
        parts.join(", ")
    );
    if let Some(predicate) = &index.predicate {
        sql.push_str(&format!(" WHERE {predicate}"));
    }
    sql
}

fn ident_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| render_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_sync_core::snapshot::{CheckConstraint, DataType};

    /// All 147 SQLite keywords (<https://sqlite.org/lang_keywords.html>).
    const ALL_KEYWORDS: &[&str] = &[
        "abort",
        "action",
        "add",
        "after",
        "all",
        "alter",
        "always",
        "analyze",
        "and",
        "as",
        "asc",
        "attach",
        "autoincrement",
        "before",
        "begin",
        "between",
        "by",
        "cascade",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "commit",
        "conflict",
        "constraint",
        "create",
        "cross",
        "current",
        "current_date",
        "current_time",
        "current_timestamp",
        "database",
        "default",
        "deferrable",
        "deferred",
        "delete",
        "desc",
        "detach",
        "distinct",
        "do",
        "drop",
        "each",
        "else",
        "end",
        "escape",
        "except",
        "exclude",
        "exclusive",
        "exists",
        "explain",
        "fail",
        "filter",
        "first",
        "following",
        "for",
        "foreign",
        "from",
        "full",
        "generated",
        "glob",
        "group",
        "groups",
        "having",
        "if",
        "ignore",
        "immediate",
        "in",
        "index",
        "indexed",
        "initially",
        "inner",
        "insert",
        "instead",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "last",
        "left",
        "like",
        "limit",
        "match",
        "materialized",
        "natural",
        "no",
        "not",
        "nothing",
        "notnull",
        "null",
        "nulls",
        "of",
        "offset",
        "on",
        "or",
        "order",
        "others",
        "outer",
        "over",
        "partition",
        "plan",
        "pragma",
        "preceding",
        "primary",
        "query",
        "raise",
        "range",
        "recursive",
        "references",
        "regexp",
        "reindex",
        "release",
        "rename",
        "replace",
        "restrict",
        "returning",
        "right",
        "rollback",
        "row",
        "rows",
        "savepoint",
        "select",
        "set",
        "table",
        "temp",
        "temporary",
        "then",
        "ties",
        "to",
        "transaction",
        "trigger",
        "unbounded",
        "union",
        "unique",
        "update",
        "using",
        "vacuum",
        "values",
        "view",
        "virtual",
        "when",
        "where",
        "window",
        "with",
        "without",
    ];

    /// Every SQLite keyword, and a few awkward names, as column, table, index and
    /// constraint names: SQLite accepts what is rendered and reads back the same names.
    #[test]
    fn rendered_names_are_accepted_by_sqlite() {
        assert_eq!(ALL_KEYWORDS.len(), 147);
        let conn = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let awkward = ["Mixed Case", "a\"b", "_x1", "2fast"];
        for name in ALL_KEYWORDS.iter().chain(&awkward) {
            let mut table = Table::default();
            table.push_column(*name, Column::new(DataType::named("integer")));
            table.push_column("other", Column::new(DataType::named("text")));
            table.checks.insert(
                (*name).to_string(),
                CheckConstraint {
                    expression: "other <> ''".into(),
                    ..Default::default()
                },
            );
            let table_name = name.to_string();
            let sql = create_table(&table_name, &table, None);
            let index = Index {
                parts: vec![IndexPart::column(*name)],
                unique: false,
                method: None,
                predicate: None,
                include: Vec::new(),
                invisible: false,
                ..Default::default()
            };
            let index_sql = create_index(&table_name, &format!("i_{name}"), &index);
            conn.execute_batch(&format!("{sql}; {index_sql};"))
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            let first: String = conn
                .query_row(
                    "SELECT name FROM pragma_table_info(?1) WHERE cid = 0",
                    [&table_name],
                    |r| r.get(0),
                )
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(first, *name, "{sql}");
        }
    }
}
