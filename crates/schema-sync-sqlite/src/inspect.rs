//! Assembling the catalog's rows into a [`SchemaSnapshot`].
//!
//! Pragmas (`table_xinfo`, `index_list`, `index_xinfo`, `foreign_key_list`) give the
//! structure; the stored DDL gives what pragmas do not (see [`crate::catalog`]). Names
//! SQLite does not keep (unique constraints, foreign keys, unnamed checks) are derived
//! from their content so that equal schemas always get equal names ([`names`]).

pub(crate) mod names;

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::Connection;
use schema_sync_core::snapshot::{
    CheckConstraint, Column, Deferrable, ForeignKey, ForeignKeyAction, Generated, Identity, Index,
    IndexPart, PrimaryKey, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject, View,
};
use schema_sync_core::{Result, SchemaSnapshot, TenantContext, run_blocking};

use crate::catalog::tokens::{self, Token};
use crate::catalog::{self, SchemaRow, ddl};
use crate::connect::{self, Access};
use crate::tenants;
use crate::types::parse_declared_type;

/// Inspects `tenant`'s file on the blocking pool, rolling a hot journal back first when
/// `access` allows it.
///
/// # Errors
/// An [`Error`](schema_sync_core::Error) naming the tenant and its file when the file is
/// missing or cannot be read.
pub(crate) async fn inspect_tenant(
    tenant: &TenantContext,
    access: Access,
) -> Result<SchemaSnapshot> {
    let (id, path) = (tenant.id().clone(), tenants::path_of(tenant));
    run_blocking(move || connect::read_for_inspection(&id, &path, access, inspect_connection)).await
}

/// Inspects every user object of the database behind `conn`.
pub(crate) fn inspect_connection(conn: &Connection) -> rusqlite::Result<SchemaSnapshot> {
    if !conn.is_autocommit() {
        // Under the tenant's lock: the open transaction already holds the file still.
        return read_snapshot(conn);
    }
    // One read transaction: SQLite keeps its shared lock from the first read to the end,
    // so a concurrent writer cannot commit between two catalog reads and tear the picture
    // (an index in `sqlite_schema` but not yet in its table's index list).
    conn.execute_batch("BEGIN DEFERRED")?;
    let result = read_snapshot(conn);
    // Nothing was written: ending the read transaction either way releases the lock.
    let ended = conn.execute_batch("COMMIT");
    let snapshot = result?;
    ended?;
    Ok(snapshot)
}

/// Reads the catalog of `conn` into a snapshot, in whatever transaction is open.
fn read_snapshot(conn: &Connection) -> rusqlite::Result<SchemaSnapshot> {
    let rows = catalog::schema_rows(conn)?;
    let shadow = catalog::shadow_tables(conn)?;
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
            ..Default::default()
        };
        snapshot.views.insert(row.name.clone(), view);
    }
    for row in rows.iter().filter(|r| r.kind == "trigger") {
        let definition = tokens::normalize(row.sql.as_deref().unwrap_or_default());
        if let Some(table) = snapshot.tables.get_mut(&row.table) {
            table.triggers.insert(
                row.name.clone(),
                Trigger {
                    definition,
                    ..Default::default()
                },
            );
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
    let mut position = 0u32;
    for row in catalog::columns(conn, name)? {
        if row.hidden == 1 {
            continue;
        }
        let details = column_ddl.get(&row.name.to_lowercase());
        let mut column = Column::new(parse_declared_type(&row.declared));
        // Rows come in cid order; hidden (virtual-table) columns were skipped above.
        position += 1;
        column.position = position;
        column.nullable = !row.not_null;
        column.default = row.default.as_deref().map(tokens::normalize);
        column.collation = details.and_then(|d| d.collation.clone());
        if details.is_some_and(|d| d.autoincrement) {
            column.identity = Some(Identity::AutoIncrement);
        }
        if row.hidden == 2 || row.hidden == 3 {
            let expression = details
                .and_then(|d| d.generated.as_ref())
                .map(|(e, _)| e.clone())
                .unwrap_or_default();
            column.generated = Some(Generated {
                expression,
                stored: row.hidden == 3,
            });
        }
        if row.pk > 0 {
            pk_columns.push((row.pk, row.name.clone()));
        }
        table.columns.insert(row.name, column);
    }
    table.renumber_columns();
    pk_columns.sort();
    if !pk_columns.is_empty() {
        table.primary_key = Some(PrimaryKey {
            name: None,
            columns: pk_columns.into_iter().map(|(_, c)| c).collect(),
            comment: None,
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
        table.checks.insert(
            check_name,
            CheckConstraint {
                expression,
                ..Default::default()
            },
        );
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
    for index in catalog::indexes(conn, table_name)? {
        let (index_name, unique, keys) = (index.name, index.unique, index.keys);
        match index.origin.as_str() {
            "u" => {
                let columns: Vec<String> = keys.into_iter().filter_map(|k| k.name).collect();
                let constraint_name = table_ddl
                    .unique_name(&columns)
                    .map_or_else(|| names::unique(table_name, &columns), str::to_string);
                table.uniques.insert(
                    constraint_name,
                    UniqueConstraint {
                        columns,
                        nulls_not_distinct: false,
                        deferrable: Deferrable::NotDeferrable,
                        comment: None,
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
                    .map(|(i, key)| match key.name {
                        Some(name) if key.cid >= 0 => IndexPart::Column {
                            name,
                            descending: key.descending,
                            prefix_length: None,
                            options: Default::default(),
                        },
                        _ => IndexPart::Expression {
                            sql: index_ddl.parts.get(i).cloned().unwrap_or_default(),
                            descending: key.descending,
                            options: Default::default(),
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
                    ..Default::default()
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
    let mut grouped: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for row in catalog::foreign_keys(conn, table_name)? {
        let fk = grouped.entry(row.id).or_insert_with(|| ForeignKey {
            columns: Vec::new(),
            referenced_schema: None,
            referenced_table: String::new(),
            referenced_columns: Vec::new(),
            on_delete: ForeignKeyAction::NoAction,
            on_update: ForeignKeyAction::NoAction,
            deferrable: Deferrable::NotDeferrable,
            ..Default::default()
        });
        fk.referenced_table = row.table;
        fk.columns.push(row.from);
        if let Some(to) = row.to {
            fk.referenced_columns.push(to);
        }
        fk.on_update = parse_action(&row.on_update);
        fk.on_delete = parse_action(&row.on_delete);
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
