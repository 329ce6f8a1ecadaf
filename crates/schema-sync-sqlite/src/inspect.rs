//! Assembling the catalog's rows into a [`SchemaSnapshot`].
//!
//! Pragmas (`table_xinfo`, `index_list`, `index_xinfo`, `foreign_key_list`) give the
//! structure; the stored DDL gives what pragmas do not (see [`crate::catalog`]). Names
//! SQLite does not keep (unique constraints, foreign keys, unnamed checks) are derived
//! from their content so that equal schemas always get equal names ([`names`]).

pub(crate) mod names;
mod shapes;

pub(crate) use shapes::{Shapes, change_cookie as change_cookie_of};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rusqlite::Connection;
use schema_sync_core::snapshot::{
    CheckConstraint, Column, Deferrable, ForeignKey, ForeignKeyAction, Generated, Identity, Index,
    IndexPart, PrimaryKey, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject, View,
};
use std::path::{Path, PathBuf};

use schema_sync_core::{
    ChangeCookie, Inspection, Result, SchemaSnapshot, TenantContext, TenantId, run_blocking,
};

use crate::catalog::tokens::{self, Token};
use crate::catalog::{Catalog, ForeignKeyRow, IndexRow, SchemaRow, TableRows, ddl};
use crate::connect::{self, Access};
use crate::tenants;
use crate::types::parse_declared_type;

/// Inspects the files of `tenants` one after the other in one task on the blocking
/// pool, rolling a hot journal back first when `access` allows it. Each file is opened
/// once, and its change cookie comes from the same read as its snapshot.
///
/// # Errors
/// Per tenant, an [`Error`](schema_sync_core::Error) naming the tenant and its file when
/// the file is missing or cannot be read.
pub(crate) async fn inspect_tenants(
    tenants: &[TenantContext],
    access: Access,
    shapes: &Arc<Shapes>,
) -> Vec<Result<Inspection>> {
    let shapes = shapes.clone();
    for_each_file(tenants, move |id, path| {
        // Read before the connection opens (see `schema_format`).
        let format = shapes::schema_format(path);
        connect::read_for_inspection(id, path, access, |conn| shapes.inspect(conn, format))
    })
    .await
}

/// The change cookies of the files of `tenants` ([`shapes::change_cookie`]), read one
/// after the other in one task on the blocking pool.
pub(crate) async fn change_cookies(
    tenants: &[TenantContext],
    access: Access,
) -> Vec<Result<Option<ChangeCookie>>> {
    for_each_file(tenants, move |id, path| {
        // Read before the connection opens (see `schema_format`).
        let format = shapes::schema_format(path);
        connect::read_for_inspection(id, path, access, |conn| shapes::change_cookie(conn, format))
    })
    .await
}

/// Runs `read` on the id and file of every tenant, in order, in one blocking task: one
/// hand-over to the blocking pool per batch rather than per file.
async fn for_each_file<T: Send + 'static>(
    tenants: &[TenantContext],
    read: impl Fn(&TenantId, &Path) -> Result<T> + Send + 'static,
) -> Vec<Result<T>> {
    let files: Vec<(TenantId, PathBuf)> = tenants
        .iter()
        .map(|t| (t.id().clone(), tenants::path_of(t)))
        .collect();
    let count = files.len();
    let done = run_blocking(move || {
        Ok(files
            .iter()
            .map(|(id, path)| read(id, path))
            .collect::<Vec<_>>())
    })
    .await;
    match done {
        Ok(results) => results,
        // The blocking task itself failed (panicked or was cancelled): every tenant
        // of the batch gets that error.
        Err(error) => {
            let message = error.to_string();
            tenants
                .iter()
                .take(count)
                .map(|t| {
                    Err(schema_sync_core::Error::Internal {
                        tenant: Some(t.id().clone()),
                        message: message.clone(),
                    })
                })
                .collect()
        }
    }
}

/// Inspects every user object of the database behind `conn`, in whatever transaction is
/// open (under the tenant's lock, the runner's own).
///
/// The catalog is read by one statement ([`Catalog::read`]), so SQLite holds one shared
/// lock for all of it: a concurrent writer cannot commit between two catalog reads and
/// tear the picture (an index in `sqlite_schema` but not yet in its table's index list).
pub(crate) fn inspect_connection(conn: &Connection) -> rusqlite::Result<SchemaSnapshot> {
    Ok(snapshot_of(&Catalog::read(conn)?))
}

/// Assembles the rows of a catalog into a snapshot.
fn snapshot_of(catalog: &Catalog) -> SchemaSnapshot {
    let rows = &catalog.objects;
    let mut snapshot = SchemaSnapshot::empty();
    let no_rows = TableRows::default();
    for row in rows.iter().filter(|r| r.kind == "table") {
        if catalog.shadow_tables.contains(&row.name) {
            continue; // Part of its (unsupported) virtual table.
        }
        if catalog.virtual_tables.contains(&row.name) {
            snapshot
                .unsupported
                .insert(UnsupportedObject::new("virtual table", row.name.clone()));
            continue;
        }
        let sql = row.sql.as_deref().unwrap_or_default();
        let pragmas = catalog.tables.get(&row.name).unwrap_or(&no_rows);
        let table = inspect_table(&row.name, sql, pragmas, catalog);
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
    report_unmodelled_dependents(rows, &mut snapshot);
    // The versioned-migration history is bookkeeping, not schema.
    schema_sync_core::migrate::strip_history_table(&mut snapshot);
    snapshot
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

fn inspect_table(name: &str, sql: &str, pragmas: &TableRows, catalog: &Catalog) -> Table {
    let table_ddl = ddl::parse_create_table(sql);
    let column_ddl: BTreeMap<String, &ddl::ColumnDdl> = table_ddl
        .columns
        .iter()
        .map(|(n, column)| (n.to_lowercase(), column))
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
    for row in &pragmas.columns {
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
        table.columns.insert(row.name.clone(), column);
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

    inspect_indexes(name, &pragmas.indexes, catalog, &table_ddl, &mut table);
    table.foreign_keys = inspect_foreign_keys(name, &pragmas.foreign_keys, &table_ddl);
    table
}

fn inspect_indexes(
    table_name: &str,
    indexes: &[IndexRow],
    catalog: &Catalog,
    table_ddl: &ddl::TableDdl,
    table: &mut Table,
) {
    for index in indexes {
        let (index_name, unique, keys) = (&index.name, index.unique, &index.keys);
        match index.origin.as_str() {
            "u" => {
                let columns: Vec<String> = keys.iter().filter_map(|k| k.name.clone()).collect();
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
                let sql = catalog.index_sql(index_name);
                let index_ddl = ddl::parse_create_index(sql.unwrap_or_default());
                let parts = keys
                    .iter()
                    .enumerate()
                    .map(|(i, key)| match &key.name {
                        Some(name) if key.cid >= 0 => IndexPart::Column {
                            name: name.clone(),
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
                table.indexes.insert(index_name.clone(), index);
            }
            _ => {} // The primary key's own index.
        }
    }
}

fn inspect_foreign_keys(
    table_name: &str,
    rows: &[ForeignKeyRow],
    table_ddl: &ddl::TableDdl,
) -> BTreeMap<String, ForeignKey> {
    let mut grouped: BTreeMap<i64, ForeignKey> = BTreeMap::new();
    for row in rows {
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
        fk.referenced_table.clone_from(&row.table);
        fk.columns.push(row.from.clone());
        if let Some(to) = &row.to {
            fk.referenced_columns.push(to.clone());
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
    out
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
