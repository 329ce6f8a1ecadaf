//! SQL fragments: column, index, key and table option definitions.

use schema_sync_core::snapshot::{
    Column, ForeignKey, Identity, Index, IndexPart, TableOptions, UniqueConstraint,
};

use schema_sync_core::Result;
use schema_sync_core::plan::ColumnPlacement;

use super::unsupported;
use crate::connect::{Flavor, ServerInfo};
use crate::sql::{quote_ident, quote_literal};
use crate::types::{is_textual, render_type};

/// A column definition. `collation` is the table's new default collation, written
/// out for text columns that follow the default while that default changes. Every
/// attribute the model has is written, so a `MODIFY COLUMN` that restates the column
/// keeps it (`INVISIBLE`, `COMPRESSED`, `ZEROFILL`, `SRID` included); attributes the
/// server cannot express are refused.
pub(super) fn column(
    server: ServerInfo,
    table: &str,
    name: &str,
    column: &Column,
    collation: Option<&str>,
) -> Result<String> {
    let object = format!("{table}.{name}");
    let mut sql = format!(
        "{} {}",
        quote_ident(name),
        render_type(&column.data_type).map_err(|m| unsupported(&object, m))?
    );
    if column.compressed {
        if server.flavor != Flavor::MariaDb {
            return Err(unsupported(
                object,
                "COMPRESSED columns exist only in MariaDB; remove the attribute from the target",
            ));
        }
        // MariaDB reads COMPRESSED right after the type, before the collation.
        sql.push_str(" COMPRESSED");
    }
    let collation = column
        .collation
        .as_deref()
        .or(collation.filter(|_| is_textual(&column.data_type)));
    if let Some(collation) = collation {
        sql.push_str(&format!(" COLLATE {}", bare_name(&object, collation)?));
    }
    if let Some(generated) = &column.generated {
        sql.push_str(&format!(
            " GENERATED ALWAYS AS ({}) {}",
            generated.expression,
            if generated.stored {
                "STORED"
            } else {
                "VIRTUAL"
            }
        ));
        if !column.nullable {
            sql.push_str(" NOT NULL");
        }
    } else {
        sql.push_str(if column.nullable {
            " NULL"
        } else {
            " NOT NULL"
        });
    }
    if let Some(srid) = column.srid {
        if server.flavor != Flavor::MySql || !server.at_least(8, 0) {
            return Err(unsupported(
                object,
                "the SRID column attribute needs MySQL 8; remove it from the target",
            ));
        }
        sql.push_str(&format!(" SRID {srid}"));
    }
    if let Some(default) = column
        .default
        .as_deref()
        .filter(|_| column.generated.is_none())
    {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    if let Some(on_update) = &column.on_update {
        sql.push_str(&format!(" ON UPDATE {on_update}"));
    }
    match column.identity {
        None => {}
        Some(Identity::AutoIncrement) => sql.push_str(" AUTO_INCREMENT"),
        Some(other) => {
            return Err(unsupported(
                object,
                format!("identity {other:?} has no MySQL form; use AUTO_INCREMENT"),
            ));
        }
    }
    if column.invisible {
        let supported = match server.flavor {
            Flavor::MariaDb => server.at_least(10, 3),
            Flavor::MySql => server.at_least_patch(8, 0, 23),
        };
        if !supported {
            return Err(unsupported(
                object,
                "INVISIBLE columns need MariaDB 10.3 or MySQL 8.0.23; remove the attribute from the target",
            ));
        }
        sql.push_str(" INVISIBLE");
    }
    if let Some(comment) = &column.comment {
        sql.push_str(&format!(" COMMENT {}", quote_literal(comment)));
    }
    Ok(sql)
}

/// ` FIRST` or ` AFTER col` after a column definition; nothing for the end.
pub(super) fn placement(placement: &ColumnPlacement) -> String {
    match placement {
        ColumnPlacement::Last => String::new(),
        ColumnPlacement::First => " FIRST".to_string(),
        ColumnPlacement::After(previous) => format!(" AFTER {}", quote_ident(previous)),
    }
}

/// An index definition, as `ADD ...` or inside `CREATE TABLE`: kind, key parts (prefix
/// lengths, `DESC`), method, full-text parser, comment and visibility.
pub(super) fn index(server: ServerInfo, table: &str, name: &str, index: &Index) -> Result<String> {
    let object = format!("{table}.{name}");
    if index.predicate.is_some() || !index.include.is_empty() {
        return Err(unsupported(
            object,
            "partial indexes and INCLUDE columns do not exist in MySQL; drop them from the target",
        ));
    }
    let (kind, using) = match index.method.as_deref() {
        None => ("", None),
        Some("fulltext") => ("FULLTEXT ", None),
        Some("spatial") => ("SPATIAL ", None),
        Some(m @ ("hash" | "btree" | "rtree")) => ("", Some(m.to_ascii_uppercase())),
        Some(other) => {
            return Err(unsupported(
                object,
                format!("index method {other} does not exist in MySQL"),
            ));
        }
    };
    let descending = index.parts.iter().any(|p| match p {
        IndexPart::Column { descending, .. } | IndexPart::Expression { descending, .. } => {
            *descending
        }
    });
    let honours_desc = match server.flavor {
        Flavor::MariaDb => server.at_least(10, 8),
        Flavor::MySql => server.at_least(8, 0),
    };
    if descending && !honours_desc {
        return Err(unsupported(
            object,
            "descending key parts need MariaDB 10.8 or MySQL 8 (older servers accept DESC and ignore it); remove DESC from the target",
        ));
    }
    let unique = if index.unique { "UNIQUE " } else { "" };
    let parts: Vec<String> = index
        .parts
        .iter()
        .map(|p| match p {
            IndexPart::Column {
                name,
                descending,
                prefix_length,
                ..
            } => format!(
                "{}{}{}",
                quote_ident(name),
                prefix_length.map(|l| format!("({l})")).unwrap_or_default(),
                if *descending { " DESC" } else { "" }
            ),
            IndexPart::Expression {
                sql, descending, ..
            } => {
                format!("({sql}){}", if *descending { " DESC" } else { "" })
            }
        })
        .collect();
    let mut sql = format!(
        "{unique}{kind}INDEX {} ({})",
        quote_ident(name),
        parts.join(", ")
    );
    if let Some(using) = using {
        sql.push_str(&format!(" USING {using}"));
    }
    if let Some(parser) = &index.parser {
        if kind != "FULLTEXT " {
            return Err(unsupported(
                object,
                "WITH PARSER applies to FULLTEXT indexes only; remove it from the target",
            ));
        }
        sql.push_str(&format!(" WITH PARSER {}", quote_ident(parser)));
    }
    if let Some(comment) = &index.comment {
        sql.push_str(&format!(" COMMENT {}", quote_literal(comment)));
    }
    if index.invisible {
        if server.flavor == Flavor::MariaDb && !server.at_least(10, 6) {
            return Err(unsupported(
                object,
                "ignored indexes need MariaDB 10.6; make the index visible in the target",
            ));
        }
        sql.push_str(match server.flavor {
            Flavor::MariaDb => " IGNORED",
            Flavor::MySql => " INVISIBLE",
        });
    }
    Ok(sql)
}

pub(super) fn columns(names: &[String]) -> String {
    names
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn check_unique(table: &str, name: &str, unique: &UniqueConstraint) -> Result<()> {
    if unique.nulls_not_distinct || !unique.deferrable.is_not_deferrable() {
        return Err(unsupported(
            format!("{table}.{name}"),
            "NULLS NOT DISTINCT and deferrable unique constraints do not exist in MySQL",
        ));
    }
    Ok(())
}

pub(super) fn foreign_key_sql(table: &str, name: &str, fk: &ForeignKey) -> Result<String> {
    if !fk.deferrable.is_not_deferrable() {
        return Err(unsupported(
            format!("{table}.{name}"),
            "deferrable foreign keys do not exist in MySQL",
        ));
    }
    let target = match &fk.referenced_schema {
        Some(schema) => format!(
            "{}.{}",
            quote_ident(schema),
            quote_ident(&fk.referenced_table)
        ),
        None => quote_ident(&fk.referenced_table),
    };
    let mut sql = format!(
        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
        quote_ident(name),
        columns(&fk.columns),
        target,
        columns(&fk.referenced_columns)
    );
    if !fk.on_delete.is_no_action() {
        sql.push_str(&format!(" ON DELETE {}", fk.on_delete.as_sql()));
    }
    if !fk.on_update.is_no_action() {
        sql.push_str(&format!(" ON UPDATE {}", fk.on_update.as_sql()));
    }
    Ok(sql)
}

/// Refuses options MySQL cannot express: SQLite's and PostgreSQL's.
pub(super) fn check_options(table: &str, options: &TableOptions) -> Result<()> {
    if options.without_rowid || options.strict {
        return Err(unsupported(
            table,
            "WITHOUT ROWID and STRICT are SQLite table options; remove them from the target",
        ));
    }
    if options.has_postgres_options() {
        return Err(unsupported(
            table,
            "UNLOGGED, storage parameters and row level security are PostgreSQL table options; remove them from the target",
        ));
    }
    Ok(())
}

/// ` ENGINE=... DEFAULT CHARSET=... COLLATE=... COMMENT=...` of a `CREATE TABLE`.
pub(super) fn table_options(
    table: &str,
    options: &TableOptions,
    comment: Option<&str>,
) -> Result<String> {
    check_options(table, options)?;
    let mut sql = String::new();
    if let Some(engine) = &options.engine {
        sql.push_str(&format!(" ENGINE={}", bare_name(table, engine)?));
    }
    if let Some(charset) = &options.charset {
        sql.push_str(&format!(" DEFAULT CHARSET={}", bare_name(table, charset)?));
    }
    if let Some(collation) = &options.collation {
        sql.push_str(&format!(" COLLATE={}", bare_name(table, collation)?));
    }
    for (name, value) in create_options(table, options)? {
        if let Some(value) = value {
            sql.push_str(&format!(" {name}={value}"));
        }
    }
    if let Some(comment) = comment {
        sql.push_str(&format!(" COMMENT={}", quote_literal(comment)));
    }
    Ok(sql)
}

/// The `ROW_FORMAT`, `KEY_BLOCK_SIZE`, `STATS_*`, `TRANSACTIONAL` and `PAGE_CHECKSUM`
/// clauses that turn the options `from` into `to`; an option `to` does not declare goes
/// back to `DEFAULT` (`KEY_BLOCK_SIZE = 0`). When the engine changes, every option `to`
/// declares is restated: MariaDB keeps an option it stored for the old engine
/// (`PAGE_CHECKSUM` of an Aria table that went to InnoDB and back) in `SHOW CREATE TABLE`
/// but drops it from `information_schema`, so only a restated option reads back.
pub(super) fn create_option_changes(
    table: &str,
    from: &TableOptions,
    to: &TableOptions,
) -> Result<Vec<String>> {
    let restate = from.engine != to.engine;
    let mut parts = Vec::new();
    for ((name, old), (_, new)) in create_options(table, from)?
        .into_iter()
        .zip(create_options(table, to)?)
    {
        if old == new && !(restate && new.is_some()) {
            continue;
        }
        let reset = if name == "KEY_BLOCK_SIZE" {
            "0"
        } else {
            "DEFAULT"
        };
        parts.push(format!("{name} = {}", new.as_deref().unwrap_or(reset)));
    }
    Ok(parts)
}

/// Each MySQL create option by its SQL name, with its value when declared.
fn create_options(
    table: &str,
    options: &TableOptions,
) -> Result<[(&'static str, Option<String>); 7]> {
    let flag = |value: Option<bool>| value.map(|v| u8::from(v).to_string());
    let row_format = match &options.row_format {
        Some(format) => Some(bare_name(table, format)?),
        None => None,
    };
    Ok([
        ("ROW_FORMAT", row_format),
        (
            "KEY_BLOCK_SIZE",
            options.key_block_size.map(|v| v.to_string()),
        ),
        ("STATS_PERSISTENT", flag(options.stats_persistent)),
        ("STATS_AUTO_RECALC", flag(options.stats_auto_recalc)),
        (
            "STATS_SAMPLE_PAGES",
            options.stats_sample_pages.map(|v| v.to_string()),
        ),
        ("TRANSACTIONAL", flag(options.transactional)),
        ("PAGE_CHECKSUM", flag(options.page_checksum)),
    ])
}

/// An engine, character set or collation name, which SQL writes unquoted: only letters,
/// digits and underscores are accepted.
pub(super) fn bare_name(object: &str, name: &str) -> Result<String> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(name.to_string())
    } else {
        Err(unsupported(
            object,
            format!("{name:?} is not a valid engine, character set or collation name"),
        ))
    }
}
