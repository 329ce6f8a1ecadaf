//! What SQLite's catalog says: `sqlite_schema`, the pragmas, and the DDL it stores.
//!
//! [`Catalog::read`] reads everything inspection needs in one statement and returns the
//! rows as plain types, in the order SQLite gives them; turning them into a snapshot is
//! `inspect.rs`'s job.
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
    /// Whether it has a root page: every table and index but virtual tables.
    pub has_root: bool,
}

/// The columns of `sqlite_schema` a [`SchemaRow`] reads, in its order.
const SCHEMA_COLUMNS: &str =
    r#""type", "name", "tbl_name", "sql", coalesce("rootpage", 0) <> 0 FROM "sqlite_schema""#;

impl SchemaRow {
    /// Reads a row whose columns 1 to 5 are [`SCHEMA_COLUMNS`].
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(SchemaRow {
            kind: r.get(1)?,
            name: r.get(2)?,
            table: r.get(3)?,
            sql: r.get(4)?,
            has_root: r.get(5)?,
        })
    }
}

/// A digest of every row of `sqlite_schema` (SQLite's own objects included), sorted by
/// type and name: two databases with the same digest have the same stored DDL, so SQLite
/// parses them into the same schema and every pragma says the same of both. `rows` ends
/// up sorted.
fn shape_of(rows: &mut [SchemaRow]) -> blake3::Hash {
    rows.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    let mut hasher = blake3::Hasher::new();
    for row in rows.iter() {
        for field in [&row.kind, &row.name, &row.table] {
            hasher.update(&(field.len() as u64).to_le_bytes());
            hasher.update(field.as_bytes());
        }
        let sql = row.sql.as_deref().unwrap_or_default();
        hasher.update(&[u8::from(row.sql.is_some()), u8::from(row.has_root)]);
        hasher.update(&(sql.len() as u64).to_le_bytes());
        hasher.update(sql.as_bytes());
    }
    hasher.finalize()
}

/// The digest [`Catalog::read`] would give the database behind `conn` ([`shape_of`]),
/// read with one light statement: `sqlite_schema` only, no pragma.
pub(crate) fn read_shape(conn: &Connection) -> rusqlite::Result<blake3::Hash> {
    let mut stmt = conn.prepare(&format!("SELECT 0, {SCHEMA_COLUMNS}"))?;
    let mut rows: Vec<SchemaRow> = stmt
        .query_map([], SchemaRow::from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(shape_of(&mut rows))
}

/// Everything inspection reads from one database, read by one statement.
///
/// A file's catalog used to take a statement per pragma per table (about 130 for a
/// 30-table schema), and preparing them cost more than running them. The pragmas are
/// table-valued functions, so one `UNION ALL` of joins reads them all ([`CATALOG_QUERY`]).
/// One statement also reads under one shared lock: a concurrent writer cannot commit
/// between two parts of the picture, so no explicit read transaction is needed.
pub(crate) struct Catalog {
    /// Every user object's row of `sqlite_schema` by type and name, without SQLite's own
    /// objects and the runner's rebuild leftovers.
    pub objects: Vec<SchemaRow>,
    /// The digest of every row of `sqlite_schema` ([`shape_of`]).
    pub shape: blake3::Hash,
    /// Virtual tables (no root page).
    pub virtual_tables: BTreeSet<String>,
    /// Shadow tables: the tables that store a virtual table's data.
    pub shadow_tables: BTreeSet<String>,
    /// The pragma rows of every ordinary table (shadow tables included), by name.
    pub tables: BTreeMap<String, TableRows>,
}

/// The pragma rows of one table, each list in SQLite's order.
#[derive(Default)]
pub(crate) struct TableRows {
    /// `pragma_table_xinfo`, in `cid` order.
    pub columns: Vec<ColumnRow>,
    /// `pragma_index_list`, in `seq` order, each with its key parts.
    pub indexes: Vec<IndexRow>,
    /// `pragma_foreign_key_list`, by key number and position.
    pub foreign_keys: Vec<ForeignKeyRow>,
}

/// The statement behind [`Catalog::read`]. Column 0 says which part a row belongs to;
/// the other columns depend on it. Order is restored in Rust, not by `ORDER BY`.
///
/// Ordinary tables are the `table` rows with a root page; a virtual table has none, and
/// the pragmas are not run on it (they would need its module). `pragma_table_list`,
/// which says which tables are a virtual table's shadow tables, is only read when there
/// is a virtual table: it compiles every view to count its columns, which costs as much
/// as all the other pragmas.
const CATALOG_QUERY: &str = r#"WITH "tables" AS (
  SELECT "name" FROM "sqlite_schema"
  WHERE "type" = 'table' AND "rootpage" <> 0 AND "name" NOT LIKE 'sqlite\_%' ESCAPE '\'
)
SELECT 0, "type", "name", "tbl_name", "sql", coalesce("rootpage", 0) <> 0, NULL, NULL, NULL, NULL
  FROM "sqlite_schema"
UNION ALL
SELECT 1, NULL, "name", NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM pragma_table_list
  WHERE "schema" = 'main' AND "type" = 'shadow' AND EXISTS (
    SELECT 1 FROM "sqlite_schema" WHERE "type" = 'table' AND coalesce("rootpage", 0) = 0
  )
UNION ALL
SELECT 2, t."name", c."cid", c."name", c."type", c."notnull", c."dflt_value", c."pk", c."hidden", NULL
  FROM "tables" AS t JOIN pragma_table_xinfo(t."name", 'main') AS c
UNION ALL
SELECT 3, t."name", l."seq", l."name", l."unique", l."origin", x."seqno", x."cid", x."name", x."desc"
  FROM "tables" AS t JOIN pragma_index_list(t."name", 'main') AS l
  JOIN pragma_index_xinfo(l."name", 'main') AS x
  WHERE x."key" = 1
UNION ALL
SELECT 4, t."name", f."id", f."seq", f."table", f."from", f."to", f."on_update", f."on_delete", NULL
  FROM "tables" AS t JOIN pragma_foreign_key_list(t."name", 'main') AS f"#;

impl Catalog {
    /// Reads the catalog of the database behind `conn`, in whatever transaction is open.
    pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Self> {
        let mut catalog = Catalog {
            objects: Vec::new(),
            shape: blake3::Hash::from_bytes([0; 32]),
            virtual_tables: BTreeSet::new(),
            shadow_tables: BTreeSet::new(),
            tables: BTreeMap::new(),
        };
        // Each list with the key that puts it back in SQLite's order.
        let mut columns: BTreeMap<String, Keyed<i64, ColumnRow>> = BTreeMap::new();
        let mut indexes: BTreeMap<(String, i64), (IndexRow, Keyed<i64, IndexKeyRow>)> =
            BTreeMap::new();
        let mut foreign_keys: BTreeMap<String, Keyed<(i64, i64), ForeignKeyRow>> = BTreeMap::new();
        let mut stored = Vec::new();
        let mut stmt = conn.prepare(CATALOG_QUERY)?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            match r.get::<_, i64>(0)? {
                0 => stored.push(SchemaRow::from_row(r)?),
                1 => {
                    catalog.shadow_tables.insert(r.get(2)?);
                }
                2 => columns.entry(r.get(1)?).or_default().push((
                    r.get(2)?,
                    ColumnRow {
                        name: r.get(3)?,
                        declared: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                        not_null: r.get::<_, i64>(5)? != 0,
                        default: r.get(6)?,
                        pk: r.get(7)?,
                        hidden: r.get(8)?,
                    },
                )),
                3 => {
                    let (index, parts) = indexes.entry((r.get(1)?, r.get(2)?)).or_default();
                    if index.name.is_empty() {
                        index.name = r.get(3)?;
                        index.unique = r.get::<_, i64>(4)? == 1;
                        index.origin = r.get(5)?;
                    }
                    parts.push((
                        r.get(6)?,
                        IndexKeyRow {
                            cid: r.get(7)?,
                            name: r.get(8)?,
                            descending: r.get::<_, i64>(9)? == 1,
                        },
                    ));
                }
                _ => foreign_keys.entry(r.get(1)?).or_default().push((
                    (r.get(2)?, r.get(3)?),
                    ForeignKeyRow {
                        id: r.get(2)?,
                        table: r.get(4)?,
                        from: r.get(5)?,
                        to: r.get(6)?,
                        on_update: r.get(7)?,
                        on_delete: r.get(8)?,
                    },
                )),
            }
        }
        catalog.shape = shape_of(&mut stored);
        for row in stored {
            if row.kind == "table" && !row.has_root {
                catalog.virtual_tables.insert(row.name.clone());
            }
            let internal = row
                .name
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"));
            if !internal && !row.name.starts_with(REBUILD_PREFIX) {
                catalog.objects.push(row);
            }
        }
        for (table, rows) in columns {
            catalog.tables.entry(table).or_default().columns = in_order(rows);
        }
        // By table, then by the index's `seq`.
        for ((table, _), (mut index, parts)) in indexes {
            index.keys = in_order(parts);
            catalog.tables.entry(table).or_default().indexes.push(index);
        }
        for (table, rows) in foreign_keys {
            catalog.tables.entry(table).or_default().foreign_keys = in_order(rows);
        }
        Ok(catalog)
    }

    /// The stored SQL of the index `name`.
    pub(crate) fn index_sql(&self, name: &str) -> Option<&str> {
        self.objects
            .iter()
            .find(|r| r.kind == "index" && r.name == name)
            .and_then(|r| r.sql.as_deref())
    }
}

/// Rows, each with the key that puts it back in SQLite's order.
type Keyed<K, T> = Vec<(K, T)>;

/// The items of `rows` sorted by their keys.
fn in_order<K: Ord, T>(mut rows: Keyed<K, T>) -> Vec<T> {
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
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

/// One row of `pragma_index_list`, with its key columns from `pragma_index_xinfo`.
#[derive(Default)]
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
