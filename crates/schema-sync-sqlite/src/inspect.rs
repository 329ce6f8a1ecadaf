//! Reading a SQLite database into a [`SchemaSnapshot`].
//!
//! Pragmas (`table_xinfo`, `index_list`, `index_xinfo`, `foreign_key_list`) give the
//! structure; the stored DDL gives what pragmas do not (see [`crate::catalog::ddl`]). Names SQLite
//! does not keep (unique constraints, foreign keys, unnamed checks) are derived from their
//! content so that equal schemas always get equal names.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use schema_sync_core::SchemaSnapshot;
use schema_sync_core::snapshot::{
    CheckConstraint, Column, Deferrable, ForeignKey, ForeignKeyAction, Generated, Identity, Index,
    IndexPart, PrimaryKey, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject, View,
};

use crate::catalog::ddl;
use crate::catalog::tokens::{self, Token};
use crate::names;
use crate::types::parse_declared_type;

/// Prefix of the temporary tables the runner creates while rebuilding a table.
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
struct SchemaRow {
    kind: String,
    name: String,
    table: String,
    sql: Option<String>,
}

/// Inspects every user object of the database behind `conn`.
pub(crate) fn inspect_connection(conn: &Connection) -> rusqlite::Result<SchemaSnapshot> {
    let rows = schema_rows(conn)?;
    let shadow = shadow_tables(conn)?;
    let mut snapshot = SchemaSnapshot::empty();
    for row in rows
        .iter()
        .filter(|r| r.kind == "table" && !shadow.contains(&r.name))
    {
        let sql = row.sql.as_deref().unwrap_or_default();
        if tokens::tokenize(sql)
            .iter()
            .take(3)
            .any(|t| t.is_kw("VIRTUAL"))
        {
            snapshot
                .unsupported
                .insert(UnsupportedObject::new("virtual table", row.name.clone()));
            continue;
        }
        let table = inspect_table(conn, &row.name, sql, &rows)?;
        snapshot.tables.insert(row.name.clone(), table);
    }
    resolve_foreign_keys(&mut snapshot);
    let relation_names: BTreeMap<String, String> = rows
        .iter()
        .filter(|r| r.kind == "table" || r.kind == "view")
        .map(|r| (r.name.to_lowercase(), r.name.clone()))
        .collect();
    for row in rows.iter().filter(|r| r.kind == "view") {
        let sql = row.sql.as_deref().unwrap_or_default();
        let depends_on: BTreeSet<String> = tokens::tokenize(sql)
            .iter()
            .filter_map(Token::ident)
            .filter_map(|ident| relation_names.get(&ident.to_lowercase()))
            .filter(|name| **name != row.name)
            .cloned()
            .collect();
        let view = View {
            definition: ddl::view_body(sql),
            materialized: false,
            depends_on,
            comment: None,
        };
        snapshot.views.insert(row.name.clone(), view);
    }
    for row in rows.iter().filter(|r| r.kind == "trigger") {
        let definition = tokens::normalize(row.sql.as_deref().unwrap_or_default());
        if let Some(table) = snapshot.tables.get_mut(&row.table) {
            table
                .triggers
                .insert(row.name.clone(), Trigger { definition });
        }
    }
    report_unmodelled_dependents(&rows, &mut snapshot);
    Ok(snapshot)
}

/// Reports every index and trigger attached (by `tbl_name`) to a modelled table or
/// view that the snapshot does not model, such as an `INSTEAD OF` trigger on a view, as
/// a dependent of it: dropping or rebuilding the parent would silently drop it.
fn report_unmodelled_dependents(rows: &[SchemaRow], snapshot: &mut SchemaSnapshot) {
    for row in rows
        .iter()
        .filter(|r| (r.kind == "index" || r.kind == "trigger") && r.sql.is_some())
    {
        let modelled = match snapshot.tables.get(&row.table) {
            Some(table) => {
                table.indexes.contains_key(&row.name) || table.triggers.contains_key(&row.name)
            }
            None if snapshot.views.contains_key(&row.table) => false,
            None => continue, // Attached to something unmodelled that is reported itself.
        };
        if !modelled {
            let kind = match (row.kind.as_str(), snapshot.views.contains_key(&row.table)) {
                ("trigger", true) => "trigger on a view",
                ("trigger", false) => "trigger",
                _ => "index",
            };
            snapshot.unsupported.insert(UnsupportedObject::dependent_of(
                kind,
                row.name.clone(),
                row.table.clone(),
            ));
        }
    }
}

/// Tables that store a virtual table's data; they belong to the (unsupported) virtual table.
fn shadow_tables(conn: &Connection) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'shadow'")?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

fn schema_rows(conn: &Connection) -> rusqlite::Result<Vec<SchemaRow>> {
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

fn inspect_table(
    conn: &Connection,
    name: &str,
    sql: &str,
    rows: &[SchemaRow],
) -> rusqlite::Result<Table> {
    let table_ddl = ddl::parse_create_table(sql);
    let column_ddl: BTreeMap<String, ddl::ColumnDdl> = table_ddl
        .columns
        .iter()
        .map(|(n, tokens)| (n.to_lowercase(), ddl::parse_column(tokens)))
        .collect();
    let mut table = Table {
        options: TableOptions {
            without_rowid: table_ddl.without_rowid,
            strict: table_ddl.strict,
            ..TableOptions::default()
        },
        ..Table::default()
    };

    let mut pk_columns: Vec<(i64, String)> = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
    )?;
    let mut column_rows = stmt.query([name])?;
    let mut position = 0u32;
    while let Some(r) = column_rows.next()? {
        let column_name: String = r.get(0)?;
        let hidden: i64 = r.get(5)?;
        if hidden == 1 {
            continue;
        }
        let declared: String = r.get::<_, Option<String>>(1)?.unwrap_or_default();
        let details = column_ddl.get(&column_name.to_lowercase());
        let mut column = Column::new(parse_declared_type(&declared));
        // Rows come in cid order; hidden (virtual-table) columns were skipped above.
        position += 1;
        column.position = position;
        column.nullable = r.get::<_, i64>(2)? == 0;
        column.default = r.get::<_, Option<String>>(3)?.map(|d| tokens::normalize(&d));
        column.collation = details.and_then(|d| d.collation.clone());
        if details.is_some_and(|d| d.autoincrement) {
            column.identity = Some(Identity::AutoIncrement);
        }
        if hidden == 2 || hidden == 3 {
            let expression = details
                .and_then(|d| d.generated.as_ref())
                .map(|(e, _)| e.clone())
                .unwrap_or_default();
            column.generated = Some(Generated {
                expression,
                stored: hidden == 3,
            });
        }
        let pk: i64 = r.get(4)?;
        if pk > 0 {
            pk_columns.push((pk, column_name.clone()));
        }
        table.columns.insert(column_name, column);
    }
    table.renumber_columns();
    pk_columns.sort();
    if !pk_columns.is_empty() {
        table.primary_key = Some(PrimaryKey {
            name: None,
            columns: pk_columns.into_iter().map(|(_, c)| c).collect(),
        });
    }

    if let Some(pk) = table.primary_key.as_mut() {
        pk.name = table_ddl.primary_key_name().map(str::to_string);
    }
    for (check_name, expression) in &table_ddl.checks {
        let check_name = check_name
            .clone()
            .unwrap_or_else(|| names::check(name, expression));
        let expression = expression.clone();
        table
            .checks
            .insert(check_name, CheckConstraint { expression });
    }

    inspect_indexes(conn, name, rows, &table_ddl, &mut table)?;
    table.foreign_keys = inspect_foreign_keys(conn, name, &table_ddl)?;
    Ok(table)
}

fn inspect_indexes(
    conn: &Connection,
    table_name: &str,
    rows: &[SchemaRow],
    table_ddl: &ddl::TableDdl,
    table: &mut Table,
) -> rusqlite::Result<()> {
    let mut list = conn.prepare("SELECT name, \"unique\", origin FROM pragma_index_list(?1)")?;
    let indexes: Vec<(String, bool, String)> = list
        .query_map([table_name], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? == 1, r.get(2)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut info = conn.prepare(
        "SELECT cid, name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
    )?;
    for (index_name, unique, origin) in indexes {
        let keys: Vec<(i64, Option<String>, bool)> = info
            .query_map([&index_name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? == 1))
            })?
            .collect::<Result<_, _>>()?;
        match origin.as_str() {
            "u" => {
                let columns: Vec<String> = keys.into_iter().filter_map(|(_, n, _)| n).collect();
                let constraint_name = table_ddl
                    .unique_name(&columns)
                    .map_or_else(|| names::unique(table_name, &columns), str::to_string);
                table.uniques.insert(
                    constraint_name,
                    UniqueConstraint {
                        columns,
                        nulls_not_distinct: false,
                        deferrable: Deferrable::NotDeferrable,
                    },
                );
            }
            "c" => {
                let sql = rows
                    .iter()
                    .find(|r| r.kind == "index" && r.name == index_name)
                    .and_then(|r| r.sql.as_deref());
                let index_ddl = ddl::parse_create_index(sql.unwrap_or_default());
                let parts = keys
                    .into_iter()
                    .enumerate()
                    .map(|(i, (cid, column, descending))| match column {
                        Some(name) if cid >= 0 => IndexPart::Column {
                            name,
                            descending,
                            prefix_length: None,
                        },
                        _ => IndexPart::Expression {
                            sql: index_ddl.parts.get(i).cloned().unwrap_or_default(),
                            descending,
                        },
                    })
                    .collect();
                let index = Index {
                    parts,
                    unique,
                    method: None,
                    predicate: index_ddl.predicate,
                    include: Vec::new(),
                    invisible: false,
                };
                table.indexes.insert(index_name, index);
            }
            _ => {} // The primary key's own index.
        }
    }
    Ok(())
}

fn inspect_foreign_keys(
    conn: &Connection,
    table_name: &str,
    table_ddl: &ddl::TableDdl,
) -> rusqlite::Result<BTreeMap<String, ForeignKey>> {
    let mut stmt =
        conn.prepare("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete FROM pragma_foreign_key_list(?1) ORDER BY id, seq")?;
    let mut grouped: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    let mut rows = stmt.query([table_name])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let fk = grouped.entry(id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            referenced_schema: None,
            referenced_table: String::new(),
            referenced_columns: Vec::new(),
            on_delete: ForeignKeyAction::NoAction,
            on_update: ForeignKeyAction::NoAction,
            deferrable: Deferrable::NotDeferrable,
        });
        fk.referenced_table = r.get(1)?;
        fk.columns.push(r.get(2)?);
        if let Some(to) = r.get::<_, Option<String>>(3)? {
            fk.referenced_columns.push(to);
        }
        fk.on_update = parse_action(&r.get::<_, String>(4)?);
        fk.on_delete = parse_action(&r.get::<_, String>(5)?);
    }
    // SQLite numbers foreign keys from the last declared; names go in declaration order.
    let mut out = BTreeMap::new();
    for (id, fk) in grouped.into_iter().rev() {
        let given = table_ddl
            .foreign_key_names(&fk.columns)
            .into_iter()
            .find(|n| !out.contains_key(*n));
        let mut fk_name = given.map_or_else(
            || names::foreign_key(table_name, &fk.columns),
            str::to_string,
        );
        if given.is_none() && out.contains_key(&fk_name) {
            fk_name = format!("{fk_name}{id}");
        }
        let deferrable = table_ddl.foreign_key_deferrable(&fk.columns);
        out.insert(fk_name, ForeignKey { deferrable, ..fk });
    }
    Ok(out)
}

/// Resolves references written in another case, and implicit references to a primary key.
fn resolve_foreign_keys(snapshot: &mut SchemaSnapshot) {
    let names: BTreeMap<String, String> = snapshot
        .tables
        .keys()
        .map(|n| (n.to_lowercase(), n.clone()))
        .collect();
    let primary_keys: BTreeMap<String, Vec<String>> = snapshot
        .tables
        .iter()
        .filter_map(|(n, t)| {
            t.primary_key
                .as_ref()
                .map(|pk| (n.clone(), pk.columns.clone()))
        })
        .collect();
    for table in snapshot.tables.values_mut() {
        for fk in table.foreign_keys.values_mut() {
            if let Some(actual) = names.get(&fk.referenced_table.to_lowercase()) {
                fk.referenced_table = actual.clone();
            }
            if fk.referenced_columns.is_empty() {
                fk.referenced_columns = primary_keys
                    .get(&fk.referenced_table)
                    .cloned()
                    .unwrap_or_default();
            }
        }
    }
}

fn parse_action(action: &str) -> ForeignKeyAction {
    match action.to_ascii_uppercase().as_str() {
        "CASCADE" => ForeignKeyAction::Cascade,
        "SET NULL" => ForeignKeyAction::SetNull,
        "SET DEFAULT" => ForeignKeyAction::SetDefault,
        "RESTRICT" => ForeignKeyAction::Restrict,
        _ => ForeignKeyAction::NoAction,
    }
}
