//! The `information_schema` queries, many databases per round, and the rows they return.
//!
//! Every catalog table is read in one statement per batch: a `UNION ALL` of one branch per
//! database, each filtered by equality on the table's lookup column with a bound
//! parameter, and the rows carry the schema name, so one round of queries reads a whole
//! batch of tenants. Equality matters on MariaDB: it then opens only that database's
//! tables, where an `IN` list or a filter on another column (`TRIGGER_SCHEMA`) walks
//! every database on the server. No statement joins two `information_schema` tables:
//! MariaDB refills the inner one for every outer row, so foreign keys and table
//! character sets are joined here (stored programs and sequences: [`programs`]). Where MySQL and MariaDB differ (check constraints, index visibility, functional index
//! parts, view algorithms) the query follows the [`Flavor`]. Rows come back as typed
//! structs, in the catalog's spelling: `inspect` folds them into snapshots.

use std::collections::HashMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use crate::connect::{Flavor, ServerInfo};

mod programs;

pub(crate) use programs::{EventRow, ParameterRow, RoutineRow, SequenceRow};

/// A failed catalog query: which one, and the driver's error.
pub(crate) type QueryError = (&'static str, mysql_async::Error);

/// Everything the catalog says about a batch of databases.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// The databases of the batch that exist.
    pub databases: Vec<String>,
    /// `TABLES`: base tables, views, sequences and the like.
    pub tables: Vec<TableRow>,
    /// `COLUMNS`, of tables and views.
    pub columns: Vec<ColumnRow>,
    /// `STATISTICS`: one row per index part, in index and part order.
    pub index_parts: Vec<IndexPartRow>,
    /// `CHECK_CONSTRAINTS`.
    pub checks: Vec<CheckRow>,
    /// `KEY_COLUMN_USAGE` joined with `REFERENTIAL_CONSTRAINTS`: one row per foreign key
    /// column, in key and column order.
    pub foreign_key_columns: Vec<ForeignKeyColumnRow>,
    /// `VIEWS`.
    pub views: Vec<ViewRow>,
    /// `TRIGGERS`, in firing order per table and event.
    pub triggers: Vec<TriggerRow>,
    /// `ROUTINES`: stored functions and procedures.
    pub routines: Vec<RoutineRow>,
    /// `PARAMETERS` of the routines, in routine and parameter order.
    pub parameters: Vec<ParameterRow>,
    /// `EVENTS`.
    pub events: Vec<EventRow>,
    /// The settings of every sequence (MariaDB).
    pub sequences: Vec<SequenceRow>,
}

/// A row of `information_schema.TABLES`, with the table's character set.
#[derive(Debug)]
pub(crate) struct TableRow {
    /// The database.
    pub schema: String,
    /// The table name.
    pub name: String,
    /// `TABLE_TYPE`: `BASE TABLE`, `VIEW`, `SYSTEM VERSIONED`, `SEQUENCE`...
    pub kind: String,
    /// The storage engine.
    pub engine: Option<String>,
    /// The default collation.
    pub collation: Option<String>,
    /// `CREATE_OPTIONS`, space-separated.
    pub create_options: String,
    /// The comment, empty when none.
    pub comment: Option<String>,
    /// The character set of the default collation.
    pub charset: Option<String>,
}

/// A row of `information_schema.COLUMNS`.
#[derive(Debug)]
pub(crate) struct ColumnRow {
    /// The database.
    pub schema: String,
    /// The table or view.
    pub table: String,
    /// The column name.
    pub name: String,
    /// `COLUMN_DEFAULT` as the server prints it.
    pub default: Option<String>,
    /// `IS_NULLABLE = 'YES'`.
    pub nullable: bool,
    /// `COLUMN_TYPE`, such as `int(10) unsigned`.
    pub column_type: String,
    /// The column's collation.
    pub collation: Option<String>,
    /// `EXTRA`: `auto_increment`, `on update ...`, generation, `INVISIBLE`...
    pub extra: String,
    /// The comment, empty when none.
    pub comment: Option<String>,
    /// `GENERATION_EXPRESSION`, empty when not generated.
    pub generation: Option<String>,
    /// `ORDINAL_POSITION`.
    pub position: Option<u64>,
    /// `SRS_ID`: a geometry column's spatial reference system (MySQL 8; `NULL` on
    /// MariaDB).
    pub srid: Option<u64>,
}

/// A row of `information_schema.STATISTICS`: one part of one index.
#[derive(Debug)]
pub(crate) struct IndexPartRow {
    /// The database.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The index name (`PRIMARY` for the primary key).
    pub name: String,
    /// `NON_UNIQUE` (a missing value reads as non-unique).
    pub non_unique: bool,
    /// The column, `NULL` for a functional part.
    pub column: Option<String>,
    /// `SUB_PART`: the prefix length.
    pub prefix_length: Option<u32>,
    /// `COLLATION = 'D'`.
    pub descending: bool,
    /// `INDEX_TYPE`: `BTREE`, `HASH`, `FULLTEXT`...
    pub index_type: String,
    /// The index comment, empty when none.
    pub comment: Option<String>,
    /// Ignored (MariaDB) or invisible (MySQL).
    pub invisible: bool,
    /// The expression of a functional part (MySQL).
    pub expression: Option<String>,
}

/// A check constraint.
#[derive(Debug)]
pub(crate) struct CheckRow {
    /// The database.
    pub schema: String,
    /// The table.
    pub table: String,
    /// The constraint name.
    pub name: String,
    /// `CHECK_CLAUSE` as the server prints it.
    pub clause: String,
    /// Whether it is enforced (always on MariaDB).
    pub enforced: bool,
}

/// One column of a foreign key.
#[derive(Debug)]
pub(crate) struct ForeignKeyColumnRow {
    /// The database.
    pub schema: String,
    /// The referencing table.
    pub table: String,
    /// The constraint name.
    pub name: String,
    /// The referencing column.
    pub column: String,
    /// The referenced table's database.
    pub referenced_schema: Option<String>,
    /// The referenced table.
    pub referenced_table: String,
    /// The referenced column.
    pub referenced_column: String,
    /// `UPDATE_RULE`.
    pub update_rule: Option<String>,
    /// `DELETE_RULE`.
    pub delete_rule: Option<String>,
}

/// A row of `information_schema.VIEWS`.
#[derive(Debug)]
pub(crate) struct ViewRow {
    /// The database.
    pub schema: String,
    /// The view name.
    pub name: String,
    /// `VIEW_DEFINITION`, every table qualified with its database.
    pub definition: String,
    /// `CHECK_OPTION`: `NONE`, `LOCAL` or `CASCADED`.
    pub check_option: String,
    /// `SECURITY_TYPE`: `DEFINER` or `INVOKER`.
    pub security: String,
    /// `ALGORITHM` (MariaDB; `UNDEFINED` on MySQL, which does not report it here).
    pub algorithm: String,
}

/// A row of `information_schema.TRIGGERS`.
#[derive(Debug)]
pub(crate) struct TriggerRow {
    /// The database.
    pub schema: String,
    /// The trigger name.
    pub name: String,
    /// `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
    /// The table.
    pub table: String,
    /// `BEFORE` or `AFTER`.
    pub timing: String,
    /// The body as written.
    pub body: String,
    /// `ACTION_ORDER`: 1 for the first trigger of its table, timing and event.
    pub order: Option<u64>,
}

/// Reads the catalog of `schemas` (distinct database names) in one round of queries.
///
/// # Errors
/// The first query that fails, with the driver's error.
pub(crate) async fn read(
    conn: &mut Conn,
    server: ServerInfo,
    schemas: &[&str],
) -> Result<Catalog, QueryError> {
    let mut catalog = Catalog::default();

    // Listing databases reads directory names only: an `IN` list costs nothing here.
    let marks = vec!["?"; schemas.len()].join(", ");
    let names: Vec<Value> = schemas.iter().map(|s| Value::from(*s)).collect();
    let sql = format!(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN ({marks})"
    );
    for mut row in query(conn, "list databases", &sql, names).await? {
        catalog
            .databases
            .push(text(&mut row, 0).unwrap_or_default());
    }

    let charsets = charsets(conn).await?;
    let sql = "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, \
               CREATE_OPTIONS, TABLE_COMMENT FROM information_schema.TABLES \
               WHERE TABLE_SCHEMA = ?";
    for mut row in per_schema(conn, "read tables", sql, schemas).await? {
        let collation = text(&mut row, 4);
        catalog.tables.push(TableRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            kind: text(&mut row, 2).unwrap_or_default(),
            engine: text(&mut row, 3),
            charset: collation.as_ref().and_then(|c| charsets.get(c).cloned()),
            collation,
            create_options: text(&mut row, 5).unwrap_or_default(),
            comment: text(&mut row, 6),
        });
    }

    let srid = match server.flavor {
        Flavor::MySql if server.at_least(8, 0) => "SRS_ID",
        _ => "NULL",
    };
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, \
         COLLATION_NAME, EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION, ORDINAL_POSITION, {srid} \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?"
    );
    for mut row in per_schema(conn, "read columns", &sql, schemas).await? {
        catalog.columns.push(ColumnRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            table: text(&mut row, 1).unwrap_or_default(),
            name: text(&mut row, 2).unwrap_or_default(),
            default: text(&mut row, 3),
            nullable: text(&mut row, 4).as_deref() == Some("YES"),
            column_type: text(&mut row, 5).unwrap_or_default(),
            collation: text(&mut row, 6),
            extra: text(&mut row, 7).unwrap_or_default(),
            comment: text(&mut row, 8),
            generation: text(&mut row, 9),
            position: number(&mut row, 10),
            srid: number(&mut row, 11),
        });
    }

    let (hidden, expression) = match server.flavor {
        Flavor::MariaDb if server.at_least(10, 6) => ("IGNORED", "NULL"),
        Flavor::MariaDb => ("'NO'", "NULL"),
        Flavor::MySql => ("IF(IS_VISIBLE = 'NO', 'YES', 'NO')", "EXPRESSION"),
    };
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, \
         SUB_PART, COLLATION, INDEX_TYPE, INDEX_COMMENT, {hidden}, {expression} \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ?"
    );
    let mut parts = Vec::new();
    for mut row in per_schema(conn, "read indexes", &sql, schemas).await? {
        let part = IndexPartRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            table: text(&mut row, 1).unwrap_or_default(),
            name: text(&mut row, 2).unwrap_or_default(),
            non_unique: number(&mut row, 3).unwrap_or(1) != 0,
            column: text(&mut row, 5),
            prefix_length: number(&mut row, 6).and_then(|n| u32::try_from(n).ok()),
            descending: text(&mut row, 7).as_deref() == Some("D"),
            index_type: text(&mut row, 8).unwrap_or_default(),
            comment: text(&mut row, 9),
            invisible: text(&mut row, 10).as_deref() == Some("YES"),
            expression: text(&mut row, 11),
        };
        parts.push((number(&mut row, 4).unwrap_or(0), part));
    }
    parts.sort_by(|(a_seq, a), (b_seq, b)| {
        (&a.schema, &a.table, &a.name, a_seq).cmp(&(&b.schema, &b.table, &b.name, b_seq))
    });
    catalog.index_parts = parts.into_iter().map(|(_, part)| part).collect();

    let sql = match server.flavor {
        Flavor::MariaDb => {
            "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, 'YES' \
             FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?"
        }
        Flavor::MySql => {
            "SELECT tc.TABLE_SCHEMA, tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, \
             tc.ENFORCED FROM information_schema.TABLE_CONSTRAINTS tc \
             JOIN information_schema.CHECK_CONSTRAINTS cc \
             ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
             AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.CONSTRAINT_TYPE = 'CHECK' AND tc.TABLE_SCHEMA = ? \
             AND cc.CONSTRAINT_SCHEMA = ?"
        }
    };
    for mut row in per_schema(conn, "read check constraints", sql, schemas).await? {
        catalog.checks.push(CheckRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            table: text(&mut row, 1).unwrap_or_default(),
            name: text(&mut row, 2).unwrap_or_default(),
            clause: text(&mut row, 3).unwrap_or_default(),
            enforced: text(&mut row, 4).as_deref() != Some("NO"),
        });
    }

    catalog.foreign_key_columns = foreign_keys(conn, schemas).await?;

    let algorithm = match server.flavor {
        Flavor::MariaDb => "ALGORITHM",
        Flavor::MySql => "'UNDEFINED'",
    };
    let sql = format!(
        "SELECT TABLE_SCHEMA, TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, \
         {algorithm} FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?"
    );
    for mut row in per_schema(conn, "read views", &sql, schemas).await? {
        catalog.views.push(ViewRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            definition: text(&mut row, 2).unwrap_or_default(),
            check_option: text(&mut row, 3).unwrap_or_default(),
            security: text(&mut row, 4).unwrap_or_default(),
            algorithm: text(&mut row, 5).unwrap_or_default(),
        });
    }

    // A trigger lives in its table's database. MariaDB looks triggers up by the table's
    // database (`EVENT_OBJECT_SCHEMA`); filtered on `TRIGGER_SCHEMA` it opens every table
    // on the server.
    let sql = "SELECT EVENT_OBJECT_SCHEMA, TRIGGER_NAME, EVENT_MANIPULATION, \
               EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT, ACTION_ORDER \
               FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ?";
    for mut row in per_schema(conn, "read triggers", sql, schemas).await? {
        catalog.triggers.push(TriggerRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            event: text(&mut row, 2).unwrap_or_default(),
            table: text(&mut row, 3).unwrap_or_default(),
            timing: text(&mut row, 4).unwrap_or_default(),
            body: text(&mut row, 5).unwrap_or_default(),
            order: number(&mut row, 6),
        });
    }

    (catalog.routines, catalog.parameters) = programs::read_routines(conn, schemas).await?;
    catalog.events = programs::read_events(conn, schemas).await?;
    let sequences: Vec<(String, String)> = catalog
        .tables
        .iter()
        .filter(|t| t.kind == "SEQUENCE")
        .map(|t| (t.schema.clone(), t.name.clone()))
        .collect();
    catalog.sequences = programs::read_sequences(conn, &sequences).await?;
    // Partitioned tables are told by `TABLES.CREATE_OPTIONS` (see `inspect`).
    Ok(catalog)
}

/// The foreign key columns of `schemas`, in key and column order.
///
/// `KEY_COLUMN_USAGE` and `REFERENTIAL_CONSTRAINTS` are read apart and joined here:
/// MariaDB joins two `information_schema` tables by filling the inner one again for
/// every outer row, seconds per batch on a server with many databases.
async fn foreign_keys(
    conn: &mut Conn,
    schemas: &[&str],
) -> Result<Vec<ForeignKeyColumnRow>, QueryError> {
    let sql = "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE \
               FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?";
    // (schema, table, constraint) to (update rule, delete rule).
    type Rules = HashMap<(String, String, String), (Option<String>, Option<String>)>;
    let mut rules = Rules::new();
    for mut row in per_schema(conn, "read foreign key actions", sql, schemas).await? {
        let key = (
            text(&mut row, 0).unwrap_or_default(),
            text(&mut row, 1).unwrap_or_default(),
            text(&mut row, 2).unwrap_or_default(),
        );
        rules.insert(key, (text(&mut row, 3), text(&mut row, 4)));
    }
    let sql = "SELECT TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, \
               REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME, \
               ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE \
               WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL";
    let mut columns = Vec::new();
    for mut row in per_schema(conn, "read foreign keys", sql, schemas).await? {
        let schema = text(&mut row, 0).unwrap_or_default();
        let table = text(&mut row, 1).unwrap_or_default();
        let name = text(&mut row, 2).unwrap_or_default();
        // The catalog's inner join: a key column without its constraint is not a key.
        let Some((update_rule, delete_rule)) = rules
            .get(&(schema.clone(), table.clone(), name.clone()))
            .cloned()
        else {
            continue;
        };
        let position = number(&mut row, 7).unwrap_or(0);
        columns.push((
            position,
            ForeignKeyColumnRow {
                schema,
                table,
                name,
                column: text(&mut row, 3).unwrap_or_default(),
                referenced_schema: text(&mut row, 4),
                referenced_table: text(&mut row, 5).unwrap_or_default(),
                referenced_column: text(&mut row, 6).unwrap_or_default(),
                update_rule,
                delete_rule,
            },
        ));
    }
    columns.sort_by(|(a_pos, a), (b_pos, b)| {
        (&a.schema, &a.table, &a.name, a_pos).cmp(&(&b.schema, &b.table, &b.name, b_pos))
    });
    Ok(columns.into_iter().map(|(_, row)| row).collect())
}

/// The character set of each collation name that belongs to exactly one (MariaDB's
/// `uca1400_*` names are shared by several; tables report full names, which are not).
async fn charsets(conn: &mut Conn) -> Result<HashMap<String, String>, QueryError> {
    let sql = "SELECT COLLATION_NAME, CHARACTER_SET_NAME \
               FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY";
    let mut found: HashMap<String, Option<String>> = HashMap::new();
    for mut row in query(conn, "read character sets", sql, Vec::new()).await? {
        let (Some(collation), Some(charset)) = (text(&mut row, 0), text(&mut row, 1)) else {
            continue;
        };
        found
            .entry(collation)
            .and_modify(|known| {
                if known.as_ref() != Some(&charset) {
                    *known = None;
                }
            })
            .or_insert(Some(charset));
    }
    Ok(found
        .into_iter()
        .filter_map(|(collation, charset)| Some((collation, charset?)))
        .collect())
}

/// Runs `branch` once per schema, as one statement: the branches joined with `UNION ALL`,
/// every `?` of a branch bound to its schema.
///
/// MariaDB answers an `information_schema` query filtered by equality on the table's
/// lookup column (`TABLE_SCHEMA = ?`) by opening that one database; given an `IN` list
/// it walks every database on the server, so small batches would pay for the whole
/// server each time.
async fn per_schema(
    conn: &mut Conn,
    what: &'static str,
    branch: &str,
    schemas: &[&str],
) -> Result<Vec<Row>, QueryError> {
    if schemas.is_empty() {
        return Ok(Vec::new());
    }
    let (sql, params) = union_per_schema(branch, schemas);
    query(conn, what, &sql, params).await
}

/// The statement and parameters of [`per_schema`].
fn union_per_schema(branch: &str, schemas: &[&str]) -> (String, Vec<Value>) {
    let marks = branch.matches('?').count();
    let sql = vec![branch; schemas.len()].join(" UNION ALL ");
    let params = schemas
        .iter()
        .flat_map(|s| std::iter::repeat_n(Value::from(*s), marks))
        .collect();
    (sql, params)
}

async fn query(
    conn: &mut Conn,
    what: &'static str,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<Row>, QueryError> {
    conn.exec(sql, params).await.map_err(|e| (what, e))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_branch_per_schema_with_every_mark_bound_to_it() {
        let (sql, params) = union_per_schema("SELECT 1 WHERE a = ? AND b = ?", &["x", "y"]);
        assert_eq!(
            sql,
            "SELECT 1 WHERE a = ? AND b = ? UNION ALL SELECT 1 WHERE a = ? AND b = ?"
        );
        let names: Vec<Value> = ["x", "x", "y", "y"].into_iter().map(Value::from).collect();
        assert_eq!(params, names);
    }
}
