//! Live schemas: catalog rows folded into tenant-relative snapshots, in batches.
//!
//! Tenants are inspected in rounds of at most [`MAX_BATCH`] databases, each round one
//! pass of the `catalog` queries. The rows are folded into one [`SchemaSnapshot`] per
//! database, tenant-relative: the database's own name is removed from foreign key
//! targets and from every expression (defaults, generated columns, checks, index
//! expressions, view and trigger bodies; see [`relative`]), so a clone of a template
//! inspects identical to the template. Columns carry their dense `ORDINAL_POSITION`.

mod options;
mod programs;
mod relative;

pub(crate) use programs::routine_of_key;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::snapshot::{
    CheckConstraint, Column, ForeignKey, ForeignKeyAction, Generated, Identity, Index, IndexPart,
    PrimaryKey, SchemaSnapshot, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject,
    View,
};
use schema_sync_core::{Error, Phase, Result, TenantContext};

use crate::catalog::{
    self, Catalog, CheckRow, ColumnRow, ForeignKeyColumnRow, IndexPartRow, QueryError, TableRow,
    TriggerRow, ViewRow,
};
use crate::connect::{Flavor, Server, ServerInfo};
use crate::error::{self, Message};
use crate::sql::quote_ident;
use crate::types::{normalize_default, on_update, parse_column_type};
use relative::strip_database;

/// How many databases one round of catalog queries covers at most.
///
/// Each catalog statement has one `UNION ALL` branch per database, and MariaDB 10.11
/// spends more per branch the more branches a statement has: on a server of 1,000
/// databases of 30 tables, `validate` took 15–19 s in rounds of 500, 9–12 s in rounds of
/// 10 and 7 s in rounds of 4 (8.7–9.3 s with one database per round, where round trips
/// dominate).
const MAX_BATCH: usize = 4;

/// Inspects one tenant.
///
/// # Errors
/// A database error naming the tenant, also when its database does not exist.
pub(crate) async fn inspect_one(server: &Server, tenant: &TenantContext) -> Result<SchemaSnapshot> {
    let mut results = inspect_many(server, std::slice::from_ref(tenant)).await;
    results.pop().unwrap_or_else(|| {
        Err(Error::Internal {
            tenant: Some(tenant.id().clone()),
            message: "inspection returned no result".into(),
        })
    })
}

/// Inspects tenants on one pooled connection, in rounds of at most [`MAX_BATCH`]
/// databases; the results are aligned with `tenants`. A failure that hits a whole round
/// (no connection, a failed catalog query) is reported for each tenant of the round.
pub(crate) async fn inspect_many(
    server: &Server,
    tenants: &[TenantContext],
) -> Vec<Result<SchemaSnapshot>> {
    if tenants.is_empty() {
        return Vec::new();
    }
    let mut conn = match server.pool.get_conn().await {
        Ok(conn) => conn,
        Err(e) => {
            let e = Arc::new(e);
            let context = format!("get a connection to {}", server.url);
            return tenants
                .iter()
                .map(|t| Err(error::shared(t.id(), Phase::Inspect, &context, &e)))
                .collect();
        }
    };
    let mut out = Vec::with_capacity(tenants.len());
    for chunk in tenants.chunks(MAX_BATCH) {
        let names: Vec<&str> = chunk.iter().map(TenantContext::namespace).collect();
        match inspect_schemas(&mut conn, server.info, &names, server.read_only).await {
            Ok(snapshots) => {
                for (tenant, snapshot) in chunk.iter().zip(snapshots) {
                    out.push(snapshot.ok_or_else(|| missing(tenant)));
                }
            }
            Err((what, e)) => {
                let e = Arc::new(e);
                out.extend(
                    chunk
                        .iter()
                        .map(|t| Err(error::shared(t.id(), Phase::Inspect, what, &e))),
                );
            }
        }
    }
    out
}

fn missing(tenant: &TenantContext) -> Error {
    Error::database(
        Some(tenant.id()),
        Phase::Inspect,
        Some(format!("database {}", quote_ident(tenant.namespace()))),
        Message("the database does not exist; create it or check the tenant id".into()),
    )
}

/// Inspects `schemas` (database names) in one round of queries.
///
/// The result is aligned with `schemas`; `None` marks a database that does not exist.
///
/// # Errors
/// The catalog query that failed, with the driver's error.
pub(crate) async fn inspect_schemas(
    conn: &mut Conn,
    server: ServerInfo,
    schemas: &[&str],
    read_only: bool,
) -> std::result::Result<Vec<Option<SchemaSnapshot>>, QueryError> {
    let unique: Vec<&str> = schemas
        .iter()
        .copied()
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    if unique.is_empty() {
        return Ok(Vec::new());
    }
    if read_only {
        conn.query_drop("START TRANSACTION READ ONLY")
            .await
            .map_err(|e| ("start a read-only transaction", e))?;
    }
    let result = catalog::read(conn, server, &unique).await;
    if read_only {
        conn.query_drop("COMMIT")
            .await
            .map_err(|e| ("end the read-only transaction", e))?;
    }
    let mut built = assemble(server.flavor, result?);
    Ok(schemas
        .iter()
        .map(|s| built.get_mut(*s).map(|b| b.snapshot.clone()))
        .collect())
}

/// The per-database state while rows are folded in.
struct Builder {
    db: String,
    snapshot: SchemaSnapshot,
    /// Each base table's default collation, to tell which columns differ from it.
    table_collations: HashMap<String, String>,
    /// Raw view definitions, before the database name is removed.
    raw_views: BTreeMap<String, String>,
    /// The comments of sequences (read with the tables), until their settings come.
    sequence_comments: HashMap<String, Option<String>>,
}

impl Builder {
    fn unsupported(&mut self, kind: &str, name: String) {
        self.snapshot
            .unsupported
            .insert(UnsupportedObject::new(kind, name));
    }

    /// An unmodelled object hanging off the table or view `parent`: dropping or
    /// recreating the parent would lose it, so the engine refuses such plans.
    fn dependent(&mut self, kind: &str, name: String, parent: &str) {
        self.snapshot
            .unsupported
            .insert(UnsupportedObject::dependent_of(kind, name, parent));
    }

    /// The expression tenant-relative: every qualifier naming this database removed
    /// (see [`strip_database`]).
    fn relative(&self, sql: &str) -> String {
        strip_database(sql, &self.db)
    }
}

/// Folds the catalog rows of a batch into one builder per existing database.
fn assemble(flavor: Flavor, catalog: Catalog) -> BTreeMap<String, Builder> {
    let Catalog {
        databases,
        tables,
        columns,
        index_parts,
        checks,
        foreign_key_columns,
        views,
        triggers,
        routines,
        parameters,
        events,
        sequences,
    } = catalog;
    let mut builders: BTreeMap<String, Builder> = databases
        .into_iter()
        .map(|db| {
            let builder = Builder {
                db: db.clone(),
                snapshot: SchemaSnapshot::empty(),
                table_collations: HashMap::new(),
                raw_views: BTreeMap::new(),
                sequence_comments: HashMap::new(),
            };
            (db, builder)
        })
        .collect();
    for row in tables {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_table(b, row);
        }
    }
    for row in columns {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_column(b, flavor, row);
        }
    }
    let mut indexes: BTreeMap<(String, String, String), RawIndex> = BTreeMap::new();
    for row in index_parts {
        add_index_row(&mut indexes, row);
    }
    for ((db, table, name), raw) in indexes {
        if let Some(b) = builders.get_mut(&db) {
            add_index(b, table, name, raw);
        }
    }
    for row in checks {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_check(b, row);
        }
    }
    for row in foreign_key_columns {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_foreign_key_column(b, row);
        }
    }
    for row in views {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_view(b, row);
        }
    }
    for row in triggers {
        if let Some(b) = builders.get_mut(&row.schema) {
            add_trigger(b, row);
        }
    }
    for row in sequences {
        if let Some(b) = builders.get_mut(&row.schema) {
            programs::add_sequence(b, row);
        }
    }
    let mut routine_parameters: HashMap<(String, String, String), Vec<_>> = HashMap::new();
    for row in parameters {
        routine_parameters
            .entry((row.schema.clone(), row.kind.clone(), row.routine.clone()))
            .or_default()
            .push(row);
    }
    for row in routines {
        if let Some(b) = builders.get_mut(&row.schema) {
            let key = (row.schema.clone(), row.kind.clone(), row.name.clone());
            let parameters = routine_parameters.remove(&key).unwrap_or_default();
            programs::add_routine(b, flavor, row, &parameters);
        }
    }
    for row in events {
        if let Some(b) = builders.get_mut(&row.schema) {
            programs::add_event(b, flavor, row);
        }
    }
    for b in builders.values_mut() {
        finish(b);
    }
    builders
}

fn add_table(b: &mut Builder, row: TableRow) {
    let TableRow {
        name,
        kind,
        engine,
        collation,
        create_options,
        comment,
        charset,
        ..
    } = row;
    match kind.as_str() {
        "VIEW" => return,
        "BASE TABLE" => {}
        // Dropping and creating the table again from the model would lose its history
        // and its versioning: the engine refuses plans that drop it.
        "SYSTEM VERSIONED" => b.dependent("system versioning", name.clone(), &name),
        "SEQUENCE" => {
            b.sequence_comments
                .insert(name, comment.filter(|c| !c.is_empty()));
            return;
        }
        other => {
            b.unsupported(&other.to_ascii_lowercase(), name);
            return;
        }
    }
    let mut options = TableOptions {
        engine,
        charset: None,
        collation: collation.clone(),
        ..TableOptions::default()
    };
    for option in create_options.split_whitespace() {
        if option == "partitioned" {
            // Recreating the table from the model would lose its partitions.
            b.dependent("partitioning", name.clone(), &name);
        } else if !options::apply_create_option(&mut options, option) {
            b.unsupported("table option", format!("{name}: {option}"));
        }
    }
    let comment = comment.filter(|c| !c.is_empty());
    options.charset = charset.or_else(|| {
        collation
            .as_deref()
            .and_then(|c| c.split('_').next())
            .map(str::to_string)
    });
    if let Some(collation) = &collation {
        b.table_collations.insert(name.clone(), collation.clone());
    }
    b.snapshot.tables.insert(
        name,
        Table {
            comment,
            options,
            ..Table::default()
        },
    );
}

fn add_column(b: &mut Builder, flavor: Flavor, row: ColumnRow) {
    let ColumnRow {
        table,
        name,
        default,
        nullable,
        column_type,
        collation,
        extra,
        comment,
        generation,
        position,
        srid,
        ..
    } = row;
    let comment = comment.filter(|c| !c.is_empty());
    let generation = generation.filter(|g| !g.is_empty());
    let position = position.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    if !b.snapshot.tables.contains_key(&table) {
        return; // a view's column
    }
    let object = format!("{table}.{name}");
    let parsed = match parse_column_type(&column_type) {
        Ok(parsed) => parsed,
        Err(reason) => {
            b.unsupported("column type", format!("{object}: {reason}"));
            return;
        }
    };
    let lower_extra = extra.to_ascii_lowercase();
    let generated = if lower_extra.contains("generated")
        && !lower_extra.contains("default_generated")
        || generation.is_some()
    {
        Some(Generated {
            expression: b.relative(generation.as_deref().unwrap_or_default()),
            stored: lower_extra.contains("stored") || lower_extra.contains("persistent"),
        })
    } else {
        None
    };
    let table_collation = b.table_collations.get(&table);
    let mut column = Column::new(parsed.data_type.clone());
    column.nullable = nullable;
    column.default = if generated.is_some() {
        None
    } else {
        normalize_default(flavor, default.as_deref(), &extra, &parsed.data_type)
            .map(|d| b.relative(&d))
    };
    column.identity = lower_extra
        .contains("auto_increment")
        .then_some(Identity::AutoIncrement);
    column.generated = generated;
    column.collation = collation.filter(|c| Some(c) != table_collation);
    column.on_update = on_update(&extra);
    column.comment = comment;
    column.position = position;
    column.invisible = lower_extra.split_whitespace().any(|w| w == "invisible");
    column.compressed = parsed.compressed;
    column.srid = srid.and_then(|n| u32::try_from(n).ok());
    if let Some(t) = b.snapshot.tables.get_mut(&table) {
        t.columns.insert(name, column);
    }
}

/// The rows of one index, gathered before it is classified.
struct RawIndex {
    non_unique: bool,
    index_type: String,
    comment: Option<String>,
    invisible: bool,
    parts: Vec<IndexPart>,
}

fn add_index_row(indexes: &mut BTreeMap<(String, String, String), RawIndex>, row: IndexPartRow) {
    let IndexPartRow {
        schema: db,
        table,
        name,
        non_unique,
        column,
        prefix_length,
        descending,
        index_type,
        comment,
        invisible,
        expression,
    } = row;
    let comment = comment.filter(|c| !c.is_empty());
    let part = match (column, expression) {
        (Some(name), _) => IndexPart::Column {
            name,
            descending,
            prefix_length,
            options: Default::default(),
        },
        (None, Some(sql)) => IndexPart::Expression {
            sql,
            descending,
            options: Default::default(),
        },
        (None, None) => IndexPart::Expression {
            sql: String::new(),
            descending,
            options: Default::default(),
        },
    };
    indexes
        .entry((db, table, name))
        .or_insert_with(|| RawIndex {
            non_unique,
            index_type,
            comment,
            invisible,
            parts: Vec::new(),
        })
        .parts
        .push(part);
}

fn add_index(b: &mut Builder, table: String, name: String, mut raw: RawIndex) {
    for part in &mut raw.parts {
        if let IndexPart::Expression { sql, .. } = part {
            *sql = b.relative(sql);
        }
    }
    if raw.index_type == "SPATIAL" {
        // MariaDB reports a key length (32) for the parts of a spatial index, which
        // cannot be written back: a spatial key always covers the whole value.
        for part in &mut raw.parts {
            if let IndexPart::Column { prefix_length, .. } = part {
                *prefix_length = None;
            }
        }
    }
    let plain_columns: Option<Vec<String>> = raw
        .parts
        .iter()
        .map(|p| match p {
            IndexPart::Column {
                name,
                descending: false,
                prefix_length: None,
                ..
            } => Some(name.clone()),
            _ => None,
        })
        .collect();
    let method = match raw.index_type.as_str() {
        "BTREE" | "" => None,
        other => Some(other.to_ascii_lowercase()),
    };
    let Some(t) = b.snapshot.tables.get_mut(&table) else {
        return;
    };
    if name == "PRIMARY" {
        match plain_columns {
            Some(columns) => {
                t.primary_key = Some(PrimaryKey {
                    name: None,
                    columns,
                    comment: None,
                })
            }
            None => b.unsupported("primary key with prefix or descending parts", table),
        }
        return;
    }
    match plain_columns {
        Some(columns)
            if !raw.non_unique && method.is_none() && !raw.invisible && raw.comment.is_none() =>
        {
            t.uniques.insert(
                name,
                UniqueConstraint {
                    columns,
                    nulls_not_distinct: false,
                    deferrable: Default::default(),
                    comment: None,
                },
            );
        }
        _ => {
            t.indexes.insert(
                name,
                Index {
                    parts: raw.parts,
                    unique: !raw.non_unique,
                    method,
                    predicate: None,
                    include: Vec::new(),
                    invisible: raw.invisible,
                    comment: raw.comment,
                    ..Default::default()
                },
            );
        }
    }
}

fn add_check(b: &mut Builder, row: CheckRow) {
    let CheckRow {
        table,
        name,
        clause,
        enforced,
        ..
    } = row;
    if !enforced {
        b.unsupported("not enforced check", format!("{table}.{name}"));
    }
    // MariaDB's JSON is LONGTEXT with a CHECK (json_valid(`c`)) named after the column.
    let json_check = format!("json_valid({})", quote_ident(&name));
    let expression = b.relative(&clause);
    let Some(t) = b.snapshot.tables.get_mut(&table) else {
        return;
    };
    if clause == json_check
        && let Some(column) = t.columns.get_mut(&name)
        && column.data_type.name == "longtext"
    {
        column.data_type.name = "json".to_string();
        column.collation = None;
        return;
    }
    t.checks.insert(
        name,
        CheckConstraint {
            expression,
            ..Default::default()
        },
    );
}

fn add_foreign_key_column(b: &mut Builder, row: ForeignKeyColumnRow) {
    let ForeignKeyColumnRow {
        table,
        name,
        column,
        referenced_schema,
        referenced_table,
        referenced_column,
        update_rule,
        delete_rule,
        ..
    } = row;
    let referenced_schema = referenced_schema.filter(|s| *s != b.db);
    let on_update = action(update_rule.as_deref());
    let on_delete = action(delete_rule.as_deref());
    let Some(t) = b.snapshot.tables.get_mut(&table) else {
        return;
    };
    let fk = t.foreign_keys.entry(name).or_insert_with(|| ForeignKey {
        columns: Vec::new(),
        referenced_schema,
        referenced_table,
        referenced_columns: Vec::new(),
        on_delete,
        on_update,
        deferrable: Default::default(),
        ..Default::default()
    });
    fk.columns.push(column);
    fk.referenced_columns.push(referenced_column);
}

/// InnoDB treats `RESTRICT` and `NO ACTION` alike, and reports either for an unspecified
/// action depending on the server: both are the default.
fn action(rule: Option<&str>) -> ForeignKeyAction {
    match rule.unwrap_or_default().to_ascii_uppercase().as_str() {
        "CASCADE" => ForeignKeyAction::Cascade,
        "SET NULL" => ForeignKeyAction::SetNull,
        "SET DEFAULT" => ForeignKeyAction::SetDefault,
        _ => ForeignKeyAction::NoAction,
    }
}

fn add_view(b: &mut Builder, row: ViewRow) {
    let ViewRow {
        name,
        definition,
        check_option,
        security,
        algorithm,
        ..
    } = row;
    // Recreating the view from the model would silently drop these options.
    if security != "DEFINER" {
        b.dependent(
            "view option",
            format!("{name}: sql security {}", security.to_ascii_lowercase()),
            &name,
        );
    }
    if algorithm != "UNDEFINED" {
        b.dependent(
            "view option",
            format!("{name}: algorithm {}", algorithm.to_ascii_lowercase()),
            &name,
        );
    }
    let mut body = definition.trim().to_string();
    if check_option != "NONE" && !check_option.is_empty() {
        body.push_str(&format!(" WITH {check_option} CHECK OPTION"));
    }
    b.raw_views.insert(name, body);
}

fn add_trigger(b: &mut Builder, row: TriggerRow) {
    let TriggerRow {
        name,
        event,
        table,
        timing,
        body,
        order,
        ..
    } = row;
    let order = order.unwrap_or(1);
    if order > 1 {
        // Several triggers for one event fire in creation order (or FOLLOWS/PRECEDES),
        // which the model does not keep: report the order so a difference shows.
        b.unsupported(
            "trigger order",
            format!("{table}.{name}: {timing} {event} trigger number {order}"),
        );
    }
    let definition = format!(
        "CREATE TRIGGER {} {timing} {event} ON {} FOR EACH ROW {}",
        quote_ident(&name),
        quote_ident(&table),
        b.relative(body.trim())
    );
    match b.snapshot.tables.get_mut(&table) {
        Some(t) => {
            t.triggers.insert(
                name,
                Trigger {
                    definition,
                    ..Default::default()
                },
            );
        }
        None => b.dependent("trigger", format!("{table}.{name}"), &table),
    }
}

/// Resolves what needs every row: view dependencies and tenant-relative view bodies.
fn finish(b: &mut Builder) {
    for table in b.snapshot.tables.values_mut() {
        // Catalog ordinals are dense already; renumbering keeps them so if a column was
        // skipped (an unsupported type).
        table.renumber_columns();
    }
    let db = quote_ident(&b.db);
    let relations: Vec<String> = b
        .snapshot
        .tables
        .keys()
        .chain(b.raw_views.keys())
        .cloned()
        .collect();
    let raw_views = std::mem::take(&mut b.raw_views);
    for (name, raw) in raw_views {
        // The server qualifies every table a view reads as `db`.`name`: no parsing needed.
        let depends_on = relations
            .iter()
            .filter(|r| **r != name && raw.contains(&format!("{db}.{}", quote_ident(r))))
            .cloned()
            .collect();
        let view = View {
            definition: b.relative(&raw),
            materialized: false,
            depends_on,
            comment: None,
            ..Default::default()
        };
        b.snapshot.views.insert(name, view);
    }
    // The versioned-migration history is bookkeeping, not schema.
    schema_sync_core::migrate::strip_history_table(&mut b.snapshot);
}
