//! The catalog floor of a MySQL/MariaDB fleet.
//!
//! Several complete passes are timed, each on one connection, one database after the
//! other, rows read and dropped:
//!
//! - `information_schema`, `TABLE_SCHEMA = ?`: one query per database and catalog table.
//!   MariaDB then opens only that database's tables (triggers are looked up by
//!   `EVENT_OBJECT_SCHEMA`, their table's database);
//! - `information_schema`, `TABLE_SCHEMA IN (...)` of every tenant: one query per catalog
//!   table. MariaDB answers an `IN` list by walking every database on the server;
//! - `SHOW CREATE`: `SHOW FULL TABLES`, `SHOW CREATE TABLE` (or `VIEW`) of each, `SHOW
//!   TRIGGERS`, and routines and events from `information_schema` by equality, per
//!   database. Each table is opened once, where `information_schema` opens it once per
//!   catalog table read; but the result is DDL text, which schema-sync does not parse.
//!
//! The floor is the fastest of them. The `information_schema` passes read the columns the
//! adapter reads (the server opens less of a table for some columns than for others), of
//! the catalog tables it needs; foreign keys are read from `KEY_COLUMN_USAGE` and
//! `REFERENTIAL_CONSTRAINTS` apart, as joining them is the reader's business.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::{Floor, Pass};
use crate::servers;

/// One catalog table: its name, the column naming the database, the columns read.
const CATALOG: [(&str, &str, &str); 10] = [
    (
        "TABLES",
        "TABLE_SCHEMA",
        "TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, CREATE_OPTIONS, TABLE_COMMENT",
    ),
    (
        "COLUMNS",
        "TABLE_SCHEMA",
        "TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, COLLATION_NAME, \
         EXTRA, COLUMN_COMMENT, GENERATION_EXPRESSION, ORDINAL_POSITION",
    ),
    (
        "STATISTICS",
        "TABLE_SCHEMA",
        "TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION, \
         INDEX_TYPE, INDEX_COMMENT",
    ),
    (
        "CHECK_CONSTRAINTS",
        "CONSTRAINT_SCHEMA",
        "TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE",
    ),
    (
        "KEY_COLUMN_USAGE",
        "TABLE_SCHEMA",
        "TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION, REFERENCED_TABLE_SCHEMA, \
         REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME",
    ),
    (
        "REFERENTIAL_CONSTRAINTS",
        "CONSTRAINT_SCHEMA",
        "TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE",
    ),
    (
        "VIEWS",
        "TABLE_SCHEMA",
        "TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE",
    ),
    (
        "TRIGGERS",
        "EVENT_OBJECT_SCHEMA",
        "TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, \
         ACTION_STATEMENT, ACTION_ORDER",
    ),
    ("ROUTINES", "ROUTINE_SCHEMA", "ROUTINE_TYPE, ROUTINE_NAME"),
    ("EVENTS", "EVENT_SCHEMA", "EVENT_NAME"),
];

/// The pass whose per-catalog-table times are printed.
pub const PER_DATABASE: &str = "information_schema, TABLE_SCHEMA = ? per database";
const IN_LIST: &str = "information_schema, TABLE_SCHEMA IN (every tenant)";
const SHOW_CREATE: &str = "SHOW CREATE TABLE/VIEW + SHOW TRIGGERS per table";

/// Times every complete pass over the catalogs of `databases`.
///
/// # Errors
/// When the server cannot be reached or refuses a catalog query.
pub fn measure(server_url: &str, databases: &[String]) -> Result<Floor> {
    servers::runtime()?.block_on(async {
        let opts = mysql_async::Opts::from_url(server_url).context("invalid MySQL URL")?;
        let mut conn = Conn::new(opts)
            .await
            .with_context(|| format!("cannot connect to {}", servers::redact(server_url)))?;
        let passes = vec![
            information_schema(&mut conn, databases, true).await?,
            information_schema(&mut conn, databases, false).await?,
            show_create(&mut conn, databases).await?,
        ];
        conn.disconnect().await.context("disconnect failed")?;
        Ok(Floor::new(passes, PER_DATABASE))
    })
}

/// A pass over [`CATALOG`] through `information_schema`: one query per database and
/// catalog table (`TABLE_SCHEMA = ?`), or one per catalog table with every database in
/// an `IN` list.
async fn information_schema(
    conn: &mut Conn,
    databases: &[String],
    per_database: bool,
) -> Result<Pass> {
    let names: Vec<Value> = databases.iter().map(|d| Value::from(d.as_str())).collect();
    let marks = vec!["?"; databases.len()].join(", ");
    let mut pass = Pass {
        strategy: if per_database { PER_DATABASE } else { IN_LIST },
        elapsed: Duration::ZERO,
        rows: 0,
        per_table: Vec::new(),
    };
    for (table, schema_column, columns) in CATALOG {
        let select =
            format!("SELECT {columns} FROM information_schema.{table} WHERE {schema_column}");
        let queries: Vec<(String, Vec<Value>)> = if per_database {
            let sql = format!("{select} = ?");
            names
                .iter()
                .map(|n| (sql.clone(), vec![n.clone()]))
                .collect()
        } else {
            vec![(format!("{select} IN ({marks})"), names.clone())]
        };
        let started = Instant::now();
        for (sql, params) in queries {
            pass.rows += rows(conn, &sql, params).await?;
        }
        pass.per_table.push((table, started.elapsed()));
    }
    pass.elapsed = pass.per_table.iter().map(|(_, e)| *e).sum();
    Ok(pass)
}

async fn show_create(conn: &mut Conn, databases: &[String]) -> Result<Pass> {
    let started = Instant::now();
    let mut read = 0;
    for database in databases {
        let db = quote(database);
        let tables: Vec<Row> = conn
            .query(format!("SHOW FULL TABLES FROM {db}"))
            .await
            .with_context(|| format!("cannot list the tables of {db}"))?;
        read += tables.len() as u64;
        for mut table in tables {
            let name: String = table.take(0).context("SHOW FULL TABLES without a name")?;
            let shown: Vec<Row> = conn
                .query(format!("SHOW CREATE TABLE {db}.{}", quote(&name)))
                .await
                .with_context(|| format!("cannot show {db}.{name}"))?;
            read += shown.len() as u64;
        }
        let triggers: Vec<Row> = conn
            .query(format!("SHOW TRIGGERS FROM {db}"))
            .await
            .with_context(|| format!("cannot show the triggers of {db}"))?;
        read += triggers.len() as u64;
        let unmodelled = CATALOG
            .iter()
            .filter(|(table, _, _)| matches!(*table, "ROUTINES" | "EVENTS"));
        for (table, schema_column, columns) in unmodelled {
            let sql = format!(
                "SELECT {columns} FROM information_schema.{table} WHERE {schema_column} = ?"
            );
            read += rows(conn, &sql, vec![Value::from(database.as_str())]).await?;
        }
    }
    Ok(Pass {
        strategy: SHOW_CREATE,
        elapsed: started.elapsed(),
        rows: read,
        per_table: Vec::new(),
    })
}

/// Runs `sql`, drops the rows and counts them.
async fn rows(conn: &mut Conn, sql: &str, params: Vec<Value>) -> Result<u64> {
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .with_context(|| format!("catalog query failed: {sql}"))?;
    result
        .reduce(0u64, |n, _: Row| n + 1)
        .await
        .with_context(|| format!("catalog query failed: {sql}"))
}

/// A database or table name, as the server listed it, quoted as an identifier.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
