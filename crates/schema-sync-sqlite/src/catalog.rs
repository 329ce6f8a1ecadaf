//! What SQLite's catalog says: `sqlite_schema`, the pragmas, and the DDL it stores.
//!
//! Each function here runs one catalog query and returns its rows as plain types, in
//! the order SQLite gives them; turning them into a snapshot is `inspect.rs`'s job.
//! What pragmas do not report (checks, generated expressions, collations, index
//! expressions) is only in the stored `CREATE` text, which [`ddl`] reads from the
//! tokens of [`tokens`].

pub(crate) mod ddl;
pub(crate) mod tokens;

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;

/// Prefix of the temporary tables the runner creates while rebuilding a table; the
/// catalog reads skip them.
pub(crate) const REBUILD_PREFIX: &str = "_schema_sync_old_";

/// What `sqlite_schema` stores for each object: `(type, name)` to `(tbl_name, sql)`.
#[derive(Debug, Default)]
pub(crate) struct StoredSql(BTreeMap<(String, String), (String, Option<String>)>);

impl StoredSql {
    /// Reads every object's row.
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut stmt = conn.prepare("SELECT type, name, tbl_name, sql FROM sqlite_schema")?;
        let rows = stmt.query_map([], |r| Ok(((r.get(0)?, r.get(1)?), (r.get(2)?, r.get(3)?))))?;
        Ok(Self(rows.collect::<rusqlite::Result<_>>()?))
    }

    /// The stored SQL of the `kind` (`table`, `index`, `trigger`) object `name`.
    pub(crate) fn get(&self, kind: &str, name: &str) -> Option<&str> {
        self.0
            .get(&(kind.to_string(), name.to_string()))
            .and_then(|(_, sql)| sql.as_deref())
    }

    /// The `(type, name)` of every index and trigger SQLite drops with `relation`, apart
    /// from the indexes it makes itself for keys (those have no SQL).
    pub(crate) fn attached_to<'a>(
        &'a self,
        relation: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |((kind, _), (table, sql))| {
                (kind == "index" || kind == "trigger")
                    && sql.is_some()
                    && table.eq_ignore_ascii_case(relation)
            })
            .map(|((kind, name), _)| (kind.as_str(), name.as_str()))
    }
}

/// One row of `sqlite_schema`.
pub(crate) struct SchemaRow {
    /// `table`, `view`, `index` or `trigger`.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The table or view it belongs to (its own name for a table or view).
    pub table: String,
    /// Its `CREATE` statement as written; `None` for the indexes SQLite makes for keys.
    pub sql: Option<String>,
}

/// Every user object's row of `sqlite_schema`, by type and name, without SQLite's own
/// objects and the runner's rebuild leftovers.
pub(crate) fn schema_rows(conn: &Connection) -> rusqlite::Result<Vec<SchemaRow>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema \
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(SchemaRow {
            kind: r.get(0)?,
            name: r.get(1)?,
            table: r.get(2)?,
            sql: r.get(3)?,
        })
    })?;
    rows.filter(|r| !matches!(r, Ok(row) if row.name.starts_with(REBUILD_PREFIX)))
        .collect()
}

/// Tables that store a virtual table's data; they belong to the (unsupported) virtual table.
pub(crate) fn shadow_tables(conn: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

/// One row of `pragma_table_xinfo`.
pub(crate) struct ColumnRow {
    /// The column's name.
    pub name: String,
    /// The declared type as written (empty when none was declared).
    pub declared: String,
    /// `NOT NULL`.
    pub not_null: bool,
    /// The default's text as written.
    pub default: Option<String>,
    /// 1-based position in the primary key, 0 when not part of it.
    pub pk: i64,
    /// 0 plain, 1 hidden (virtual tables), 2 virtual generated, 3 stored generated.
    pub hidden: i64,
}

/// The columns of `table`, in declaration (`cid`) order.
pub(crate) fn columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ColumnRow>> {
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?;
    let rows = stmt.query_map([table], |r| {
        Ok(ColumnRow {
            name: r.get(0)?,
            declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            not_null: r.get::<_, i64>(2)? != 0,
            default: r.get(3)?,
            pk: r.get(4)?,
            hidden: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// One row of `pragma_index_list`, with its key columns from `pragma_index_xinfo`.
pub(crate) struct IndexRow {
    /// The index's name (`sqlite_autoindex_*` for the ones SQLite makes for keys).
    pub name: String,
    /// `UNIQUE`.
    pub unique: bool,
    /// `c` created by `CREATE INDEX`, `u` for a `UNIQUE` constraint, `pk` for the key.
    pub origin: String,
    /// The key parts, in order.
    pub keys: Vec<IndexKeyRow>,
}

/// One key part of an index (a row of `pragma_index_xinfo` with `key = 1`).
pub(crate) struct IndexKeyRow {
    /// The column's `cid`: -1 for the rowid, -2 for an expression.
    pub cid: i64,
    /// The column's name; `None` for an expression.
    pub name: Option<String>,
    /// `DESC`.
    pub descending: bool,
}

/// The indexes of `table` with their key parts.
pub(crate) fn indexes(conn: &Connection, table: &str) -> rusqlite::Result<Vec<IndexRow>> {
    let mut list = conn.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")?;
    let indexes: Vec<(String, bool, String)> = list
        .query_map([table], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? == 1, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut info = conn.prepare(
        "SELECT cid, name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
    )?;
    indexes
        .into_iter()
        .map(|(name, unique, origin)| {
            let keys = info
                .query_map([&name], |r| {
                    Ok(IndexKeyRow {
                        cid: r.get(0)?,
                        name: r.get(1)?,
                        descending: r.get::<_, i64>(2)? == 1,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(IndexRow {
                name,
                unique,
                origin,
                keys,
            })
        })
        .collect()
}

/// One row of `pragma_foreign_key_list`: one column pair of one foreign key.
pub(crate) struct ForeignKeyRow {
    /// The key's number; SQLite numbers keys from the last declared.
    pub id: i64,
    /// The referenced table, as written.
    pub table: String,
    /// The local column.
    pub from: String,
    /// The referenced column; `None` when the key names only the table (its primary key).
    pub to: Option<String>,
    /// `ON UPDATE` action, as SQLite spells it (`NO ACTION`, `CASCADE`, ...).
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
}

/// The foreign keys of `table`, column pairs by key number and position.
pub(crate) fn foreign_keys(conn: &Connection, table: &str) -> rusqlite::Result<Vec<ForeignKeyRow>> {
    let mut stmt =
        conn.prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")?;
    let rows = stmt.query_map([table], |r| {
        Ok(ForeignKeyRow {
            id: r.get(0)?,
            table: r.get(1)?,
            from: r.get(2)?,
            to: r.get(3)?,
            on_update: r.get(4)?,
            on_delete: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// One row of `PRAGMA foreign_key_check`: `(table, rowid, referenced table)`.
pub(crate) type ForeignKeyViolation = (String, i64, String);

/// Every row that violates a foreign key.
pub(crate) fn foreign_key_violations(
    conn: &Connection,
) -> rusqlite::Result<Vec<ForeignKeyViolation>> {
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
            r.get(2)?,
        ))
    })?;
    rows.collect()
}
