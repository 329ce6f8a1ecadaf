//! Rows for the fleet's tables, and the queries that checksum them.
//!
//! Every table gets rows `1..=n` with a non-NULL value in every column (a drifted tenant may
//! have flipped any column to `NOT NULL`), values that satisfy the table's checks, foreign
//! keys pointing at the same id in the referenced table (filled earlier: tables only
//! reference tables before them), and distinct text so unique indexes hold.
//!
//! The checksum reads, per table the tenant shares with the template, the columns both
//! have, as text ordered by id: exactly the data a sync must keep. Columns a sync may
//! drop (the drift's extra columns) or add are left out; the bench's type drift only
//! widens (`integer` to `bigint`, `varchar(n)` to `varchar(2n)` or `text`), which keeps
//! every value's text.

use std::fmt::Write as _;

use crate::bench::render::Dialect;
use crate::bench::schema::{Column, ColumnType, DefaultValue, Schema, Table};

/// `INSERT` statements filling the tables of `schema` with `rows` rows each.
///
/// A table is left empty when it references (in `schema` or in `template`) a table that is
/// missing or empty, or lacks a `NOT NULL` column without default of the template: a sync
/// would otherwise meet rows that violate the foreign key or the `NOT NULL`, a data
/// conflict no sync can resolve.
pub fn insert_sql(schema: &Schema, template: &Schema, dialect: Dialect, rows: usize) -> String {
    let mut out = String::new();
    if rows == 0 {
        return out;
    }
    let mut filled: Vec<&str> = Vec::new();
    for table in &schema.tables {
        let wanted = template.tables.iter().find(|t| t.name == table.name);
        let references_empty = table
            .foreign_keys
            .iter()
            .chain(wanted.into_iter().flat_map(|t| t.foreign_keys.iter()))
            .any(|fk| !filled.contains(&fk.table.as_str()));
        // A column the sync must add as NOT NULL without a default cannot be added to
        // a table with rows: a data conflict, not a fault.
        let needs_value = wanted.is_some_and(|wanted| {
            wanted.columns.iter().any(|w| {
                // A sequence default exists only on PostgreSQL (see the bench renderer).
                let has_default = match w.default {
                    None => false,
                    Some(DefaultValue::NextVal) => dialect == Dialect::Postgres,
                    Some(_) => true,
                };
                !w.nullable
                    && !has_default
                    && w.ty != ColumnType::Id
                    && !table.columns.iter().any(|c| c.name == w.name)
            })
        });
        if references_empty || needs_value {
            continue;
        }
        filled.push(&table.name);
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let values: Vec<String> = (1..=rows)
            .map(|id| {
                let row: Vec<String> = table
                    .columns
                    .iter()
                    .map(|c| value(table, c, id, dialect))
                    .collect();
                format!("({})", row.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "INSERT INTO {} ({}) VALUES {};",
            table.name,
            columns.join(", "),
            values.join(", ")
        );
    }
    out
}

/// The literal of `column` in row `id`.
fn value(table: &Table, column: &Column, id: usize, dialect: Dialect) -> String {
    // By name, not by the table's own foreign keys: a tenant that lost a foreign key
    // still gets it back from the sync, so its column must hold valid references.
    let is_fk = column.name.starts_with("ref_t")
        || table.foreign_keys.iter().any(|fk| fk.column == column.name);
    let checked = table
        .checks
        .iter()
        .find(|check| check.column == column.name)
        .map(|check| match check.op {
            ">" | "<>" | "!=" => check.value + 1 + id as i64,
            "<" => check.value - 1 - id as i64,
            "<=" => check.value - id as i64,
            "=" => check.value,
            _ => check.value + id as i64,
        });
    match column.ty {
        ColumnType::Id => id.to_string(),
        _ if is_fk => id.to_string(),
        ColumnType::BigInt | ColumnType::Integer => checked.unwrap_or(id as i64 * 7).to_string(),
        ColumnType::Numeric(_, scale) => {
            let whole = checked.unwrap_or(id as i64 * 3);
            if scale == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{}", "5".repeat(scale.min(2) as usize))
            }
        }
        ColumnType::Varchar(_) | ColumnType::Text => format!("'{}{id}'", short(&column.name)),
        ColumnType::Boolean => match (dialect, id.is_multiple_of(2)) {
            (Dialect::Postgres, true) => "true".into(),
            (Dialect::Postgres, false) => "false".into(),
            (_, true) => "1".into(),
            (_, false) => "0".into(),
        },
        ColumnType::Timestamp => format!("'2024-01-{:02} 03:04:05'", 1 + id % 28),
        ColumnType::Status => "'active'".into(),
    }
}

/// At most 8 characters of a column name, so every text fits a `varchar(16)`.
fn short(name: &str) -> &str {
    name.get(..8).unwrap_or(name)
}

/// `(table, query)` pairs whose rows (one text column) are the checksum of `tenant`, whose
/// schema is `pre`, against `template`.
pub fn checksum_queries(
    pre: &Schema,
    template: &Schema,
    dialect: Dialect,
    tenant: &str,
) -> Vec<(String, String)> {
    pre.tables
        .iter()
        .filter_map(|table| {
            let wanted = template.tables.iter().find(|t| t.name == table.name)?;
            let columns: Vec<&str> = table
                .columns
                .iter()
                .filter(|c| wanted.columns.iter().any(|w| w.name == c.name))
                .map(|c| c.name.as_str())
                .collect();
            let query = match dialect {
                Dialect::Postgres => format!(
                    "SELECT concat_ws('|', {}) FROM \"{tenant}\".\"{}\" ORDER BY id",
                    columns
                        .iter()
                        .map(|c| format!("\"{c}\"::text"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    table.name
                ),
                Dialect::Mysql => format!(
                    "SELECT CONCAT_WS('|', {}) FROM `{tenant}`.`{}` ORDER BY id",
                    columns
                        .iter()
                        .map(|c| format!("CAST(`{c}` AS CHAR)"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    table.name
                ),
                Dialect::Sqlite => format!(
                    "SELECT {} FROM \"{}\" ORDER BY id",
                    columns
                        .iter()
                        .map(|c| format!("ifnull(CAST(\"{c}\" AS TEXT), '')"))
                        .collect::<Vec<_>>()
                        .join(" || '|' || "),
                    table.name
                ),
            };
            Some((table.name.clone(), query))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_gets_rows_and_a_checksum() {
        let template = Schema::template(6, 7);
        let sql = insert_sql(&template, &template, Dialect::Postgres, 3);
        assert_eq!(sql.matches("INSERT INTO").count(), template.tables.len());
        let queries = checksum_queries(&template, &template, Dialect::Mysql, "t");
        assert_eq!(queries.len(), template.tables.len());
        assert!(
            queries[0].1.contains("`t`.`t00_accounts`"),
            "{}",
            queries[0].1
        );
    }

    #[test]
    fn rows_load_into_sqlite() -> anyhow::Result<()> {
        let template = Schema::template(8, 11);
        let conn = rusqlite::Connection::open_in_memory()?;
        conn.execute_batch(&crate::bench::render::ddl(&template, Dialect::Sqlite))?;
        conn.execute_batch(&insert_sql(&template, &template, Dialect::Sqlite, 4))?;
        for (table, query) in checksum_queries(&template, &template, Dialect::Sqlite, "t") {
            let mut statement = conn.prepare(&query)?;
            let rows: Vec<String> = statement
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            assert_eq!(rows.len(), 4, "{table}");
        }
        Ok(())
    }
}
