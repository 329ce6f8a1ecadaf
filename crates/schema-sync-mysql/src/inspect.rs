//! Reading live schemas from `information_schema`, many databases per round of queries.
//!
//! Every query filters on `TABLE_SCHEMA IN (?, ...)` with bound parameters and carries the
//! schema name in its rows, so one round of eight queries reads a whole batch of tenants.
//! Rows are folded into one [`SchemaSnapshot`] per database, tenant-relative: the
//! database's own name is removed from foreign key targets and from every expression
//! (defaults, generated columns, checks, index expressions, view and trigger bodies; see
//! [`strip_database`]), so a clone of a template inspects identical to the template.
//! Columns carry their dense `ORDINAL_POSITION`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use schema_sync_core::snapshot::{
    CheckConstraint, Column, ForeignKey, ForeignKeyAction, Generated, Identity, Index, IndexPart,
    PrimaryKey, SchemaSnapshot, Table, TableOptions, Trigger, UniqueConstraint, UnsupportedObject,
    View,
};

use crate::connect::{Flavor, ServerInfo};
use crate::qualify::strip_database;
use crate::sql::quote_ident;
use crate::types::{normalize_default, on_update, parse_column_type};

/// A failed catalog query: which one, and the driver's error.
pub(crate) type QueryError = (&'static str, mysql_async::Error);

/// Inspects `schemas` (database names) in one round of queries.
///
/// The result is aligned with `schemas`; `None` marks a database that does not exist.
pub(crate) async fn inspect_schemas(
    conn: &mut Conn,
    server: ServerInfo,
    schemas: &[&str],
    read_only: bool,
) -> Result<Vec<Option<SchemaSnapshot>>, QueryError> {
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
    let result = read_catalog(conn, server, &unique).await;
    if read_only {
        conn.query_drop("COMMIT")
            .await
            .map_err(|e| ("end the read-only transaction", e))?;
    }
    let mut built = result?;
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

async fn read_catalog(
    conn: &mut Conn,
    server: ServerInfo,
    schemas: &[&str],
) -> Result<BTreeMap<String, Builder>, QueryError> {
    let marks = vec!["?"; schemas.len()].join(", ");
    let params = || -> Vec<Value> { schemas.iter().map(|s| Value::from(*s)).collect() };
    let twice = || -> Vec<Value> { params().into_iter().chain(params()).collect() };
    let mut builders: BTreeMap<String, Builder> = BTreeMap::new();

    let sql = format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})"
    );
    for mut row in query(conn, "list databases", &sql, params()).await? {
        let db = text(&mut row, 0).unwrap_or_default();
        builders.insert(
            db.clone(),
            Builder {
                db,
                snapshot: SchemaSnapshot::empty(),
                table_collations: HashMap::new(),
                raw_views: BTreeMap::new(),
            },
        );
    }

    let sql = format!(
        "SELECT t.TABLE_SCHEMA, t.TABLE_NAME, t.TABLE_TYPE, t.ENGINE, t.TABLE_COLLATION, \
         t.CREATE_OPTIONS, t.TABLE_COMMENT, c.CHARACTER_SET_NAME \
         FROM information_schema.TABLES t \
         LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY c \
         ON c.COLLATION_NAME = t.TABLE_COLLATION \
         WHERE t.TABLE_SCHEMA IN ({marks})"
    );
    for mut row in query(conn, "read tables", &sql, params()).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_table(b, &mut row);
    }

    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, \
         COLLATION_NAME, EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION, ORDINAL_POSITION \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN ({marks})"
    );
    for mut row in query(conn, "read columns", &sql, params()).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_column(b, server.flavor, &mut row);
    }

    let (hidden, expression) = match server.flavor {
        Flavor::MariaDb if server.at_least(10, 6) => ("IGNORED", "NULL"),
        Flavor::MariaDb => ("'NO'", "NULL"),
        Flavor::MySql => ("IF(IS_VISIBLE = 'NO', 'YES', 'NO')", "EXPRESSION"),
    };
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, \
         SUB_PART, COLLATION, INDEX_TYPE, INDEX_COMMENT, {hidden}, {expression} \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN ({marks}) \
         ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
    );
    let mut indexes: BTreeMap<(String, String, String), RawIndex> = BTreeMap::new();
    for mut row in query(conn, "read indexes", &sql, params()).await? {
        add_index_row(&mut indexes, &mut row);
    }
    for ((db, table, name), raw) in indexes {
        if let Some(b) = builders.get_mut(&db) {
            add_index(b, table, name, raw);
        }
    }

    let sql = match server.flavor {
        Flavor::MariaDb => format!(
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, 'YES' \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA IN ({marks})"
        ),
        Flavor::MySql => format!(
            "SELECT tc.TABLE_SCHEMA, tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, \
             tc.ENFORCED FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
             ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
             AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA IN ({marks}) \
             AND cc.CONSTRAINT_SCHEMA IN ({marks})"
        ),
    };
    let check_params = match server.flavor {
        Flavor::MariaDb => params(),
        Flavor::MySql => twice(),
    };
    for mut row in query(conn, "read check constraints", &sql, check_params).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_check(b, &mut row);
    }

    let sql = format!(
        "SELECT k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, \
         k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, \
         r.UPDATE_RULE, r.DELETE_RULE \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME \
         AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
         WHERE k.TABLE_SCHEMA IN ({marks}) AND r.CONSTRAINT_SCHEMA IN ({marks}) \
         AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION"
    );
    for mut row in query(conn, "read foreign keys", &sql, twice()).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_foreign_key_column(b, &mut row);
    }

    let algorithm = match server.flavor {
        Flavor::MariaDb => "ALGORITHM",
        Flavor::MySql => "'UNDEFINED'",
    };
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, \
         {algorithm} FROM information_schema.VIEWS WHERE TABLE_SCHEMA IN ({marks})"
    );
    for mut row in query(conn, "read views", &sql, params()).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_view(b, &mut row);
    }

    let sql = format!(
        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, \
         ACTION_TIMING, ACTION_STATEMENT, ACTION_ORDER FROM information_schema.TRIGGERS \
         WHERE TRIGGER_SCHEMA IN ({marks}) \
         ORDER BY TRIGGER_SCHEMA, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, \
         ACTION_ORDER"
    );
    for mut row in query(conn, "read triggers", &sql, params()).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        add_trigger(b, &mut row);
    }

    let sql = format!(
        "SELECT ROUTINE_SCHEMA, LOWER(ROUTINE_TYPE), ROUTINE_NAME \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA IN ({marks}) \
         UNION ALL SELECT EVENT_SCHEMA, 'event', EVENT_NAME \
         FROM information_schema.EVENTS WHERE EVENT_SCHEMA IN ({marks}) \
         UNION ALL SELECT DISTINCT TABLE_SCHEMA, 'partitioning', TABLE_NAME \
         FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA IN ({marks}) \
         AND PARTITION_NAME IS NOT NULL"
    );
    let three: Vec<Value> = twice().into_iter().chain(params()).collect();
    for mut row in query(conn, "read routines, events and partitions", &sql, three).await? {
        let Some(b) = builder(&mut builders, &mut row) else {
            continue;
        };
        let kind = text(&mut row, 1).unwrap_or_default();
        let name = text(&mut row, 2).unwrap_or_default();
        b.unsupported(&kind, name);
    }

    for b in builders.values_mut() {
        finish(b);
    }
    Ok(builders)
}

async fn query(
    conn: &mut Conn,
    what: &'static str,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Row>, QueryError> {
    conn.exec(sql, params).await.map_err(|e| (what, e))
}

/// The builder for the schema named in column 0 of `row`.
fn builder<'a>(
    builders: &'a mut BTreeMap<String, Builder>,
    row: &mut Row,
) -> Option<&'a mut Builder> {
    let db = text(row, 0)?;
    builders.get_mut(&db)
}

/// Column `index` as text; `NULL` is `None`.
fn text(row: &mut Row, index: usize) -> Option<String> {
    match row.take::<Value, _>(index)? {
        Value::NULL => None,
        Value::Bytes(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        other => Some(other.as_sql(true)),
    }
}

/// Column `index` as a number; `NULL` or non-numbers are `None`.
fn number(row: &mut Row, index: usize) -> Option<u64> {
    text(row, index).and_then(|t| t.trim().parse().ok())
}

fn add_table(b: &mut Builder, row: &mut Row) {
    let name = text(row, 1).unwrap_or_default();
    let kind = text(row, 2).unwrap_or_default();
    match kind.as_str() {
        "VIEW" => return,
        "BASE TABLE" => {}
        "SYSTEM VERSIONED" => b.unsupported("system versioning", name.clone()),
        "SEQUENCE" => {
            b.unsupported("sequence", name);
            return;
        }
        other => {
            b.unsupported(&other.to_ascii_lowercase(), name);
            return;
        }
    }
    let engine = text(row, 3);
    let collation = text(row, 4);
    for option in text(row, 5).unwrap_or_default().split_whitespace() {
        if option != "partitioned" {
            b.unsupported("table option", format!("{name}: {option}"));
        }
    }
    let comment = text(row, 6).filter(|c| !c.is_empty());
    let charset = text(row, 7).or_else(|| {
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
            options: TableOptions {
                engine,
                charset,
                collation,
                ..TableOptions::default()
            },
            ..Table::default()
        },
    );
}

fn add_column(b: &mut Builder, flavor: Flavor, row: &mut Row) {
    let table = text(row, 1).unwrap_or_default();
    let name = text(row, 2).unwrap_or_default();
    let default = text(row, 3);
    let nullable = text(row, 4).as_deref() == Some("YES");
    let column_type = text(row, 5).unwrap_or_default();
    let collation = text(row, 6);
    let extra = text(row, 7).unwrap_or_default();
    let comment = text(row, 8).filter(|c| !c.is_empty());
    let generation = text(row, 9).filter(|g| !g.is_empty());
    let position = number(row, 10)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
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
    if parsed.zerofill {
        b.unsupported("zerofill column", object.clone());
    }
    let lower_extra = extra.to_ascii_lowercase();
    if lower_extra.split_whitespace().any(|w| w == "invisible") {
        b.unsupported("invisible column", object.clone());
    }
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

fn add_index_row(indexes: &mut BTreeMap<(String, String, String), RawIndex>, row: &mut Row) {
    let db = text(row, 0).unwrap_or_default();
    let table = text(row, 1).unwrap_or_default();
    let name = text(row, 2).unwrap_or_default();
    let non_unique = number(row, 3).unwrap_or(1) != 0;
    let column = text(row, 5);
    let prefix_length = number(row, 6).and_then(|n| u32::try_from(n).ok());
    let descending = text(row, 7).as_deref() == Some("D");
    let index_type = text(row, 8).unwrap_or_default();
    let comment = text(row, 9).filter(|c| !c.is_empty());
    let invisible = text(row, 10).as_deref() == Some("YES");
    let expression = text(row, 11);
    let part = match (column, expression) {
        (Some(name), _) => IndexPart::Column {
            name,
            descending,
            prefix_length,
        },
        (None, Some(sql)) => IndexPart::Expression { sql, descending },
        (None, None) => IndexPart::Expression {
            sql: String::new(),
            descending,
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
    let object = format!("{table}.{name}");
    for part in &mut raw.parts {
        if let IndexPart::Expression { sql, .. } = part {
            *sql = b.relative(sql);
        }
    }
    if raw.comment.is_some() {
        b.unsupported("index comment", object.clone());
    }
    let plain_columns: Option<Vec<String>> = raw
        .parts
        .iter()
        .map(|p| match p {
            IndexPart::Column {
                name,
                descending: false,
                prefix_length: None,
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
                })
            }
            None => b.unsupported("primary key with prefix or descending parts", table),
        }
        return;
    }
    match plain_columns {
        Some(columns) if !raw.non_unique && method.is_none() && !raw.invisible => {
            t.uniques.insert(
                name,
                UniqueConstraint {
                    columns,
                    nulls_not_distinct: false,
                    deferrable: Default::default(),
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
                },
            );
        }
    }
}

fn add_check(b: &mut Builder, row: &mut Row) {
    let table = text(row, 1).unwrap_or_default();
    let name = text(row, 2).unwrap_or_default();
    let clause = text(row, 3).unwrap_or_default();
    let enforced = text(row, 4).as_deref() != Some("NO");
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
    t.checks.insert(name, CheckConstraint { expression });
}

fn add_foreign_key_column(b: &mut Builder, row: &mut Row) {
    let table = text(row, 1).unwrap_or_default();
    let name = text(row, 2).unwrap_or_default();
    let column = text(row, 3).unwrap_or_default();
    let referenced_schema = text(row, 4).filter(|s| *s != b.db);
    let referenced_table = text(row, 5).unwrap_or_default();
    let referenced_column = text(row, 6).unwrap_or_default();
    let on_update = action(text(row, 7).as_deref());
    let on_delete = action(text(row, 8).as_deref());
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

fn add_view(b: &mut Builder, row: &mut Row) {
    let name = text(row, 1).unwrap_or_default();
    let definition = text(row, 2).unwrap_or_default();
    let check_option = text(row, 3).unwrap_or_default();
    let security = text(row, 4).unwrap_or_default();
    let algorithm = text(row, 5).unwrap_or_default();
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

fn add_trigger(b: &mut Builder, row: &mut Row) {
    let name = text(row, 1).unwrap_or_default();
    let event = text(row, 2).unwrap_or_default();
    let table = text(row, 3).unwrap_or_default();
    let timing = text(row, 4).unwrap_or_default();
    let body = text(row, 5).unwrap_or_default();
    let order = number(row, 6).unwrap_or(1);
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
            t.triggers.insert(name, Trigger { definition });
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
        };
        b.snapshot.views.insert(name, view);
    }
}
