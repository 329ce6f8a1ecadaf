//! The few primitives a database gives the ledger.
//!
//! As in refinery, each backend implements small primitives and the ledger's logic lives
//! once in `store.rs`. Parameters are numbered `$1`, `$2`, … in order of first use, which
//! both PostgreSQL and SQLite accept, and the PostgreSQL connection's `search_path` is
//! the ledger's own schema, so one SQL text serves both. The MySQL driver rewrites `$N`
//! into `?`; the one statement MySQL spells differently is chosen by [`Dialect`].

use async_trait::async_trait;
use schema_sync_core::{BoxError, Error, Result};

/// A parameter or column value: the ledger only stores text and integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A `TEXT` value.
    Text(String),
    /// A `BIGINT` value.
    Int(i64),
    /// SQL `NULL`.
    Null,
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Self {
        value.map_or(Value::Null, Value::Text)
    }
}

impl From<Option<i64>> for Value {
    fn from(value: Option<i64>) -> Self {
        value.map_or(Value::Null, Value::Int)
    }
}

/// A result row.
pub(crate) type Row = Vec<Value>;

/// One statement of a transaction.
pub(crate) type Statement = (&'static str, Vec<Value>);

/// Which SQL the ledger's logic writes for a database, where one text cannot serve all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// PostgreSQL and SQLite: `INSERT ... ON CONFLICT (key) DO NOTHING`.
    Standard,
    /// MySQL and MariaDB: `INSERT ... ON DUPLICATE KEY UPDATE key = key`.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    MySql,
}

/// A connection to the ledger's database.
#[async_trait]
pub(crate) trait Driver: Send + Sync {
    /// Which SQL this database takes.
    const DIALECT: Dialect = Dialect::Standard;

    /// Where the ledger lives, without any password, for messages.
    fn location(&self) -> &str;

    /// Runs one query and returns its rows.
    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>>;

    /// Runs `statements` in one transaction, committed (durably) before it returns.
    async fn transaction(&self, statements: Vec<Statement>) -> Result<()>;
}

/// A ledger error at `location`.
pub(crate) fn ledger_error(location: &str, message: impl Into<String>) -> Error {
    Error::Ledger {
        location: location.to_string(),
        message: message.into(),
        source: None,
    }
}

/// A failed database call.
pub(crate) fn query_error(location: &str, source: impl Into<BoxError>) -> Error {
    Error::Ledger {
        location: location.to_string(),
        message: "a query on the ledger tables failed; check that the database is reachable and that its user may read and write the ledger tables (or pass --no-ledger)".into(),
        source: Some(source.into()),
    }
}

/// Reads column `i` of `row` as text, `None` for NULL.
pub(crate) fn opt_text(row: &Row, i: usize, location: &str) -> Result<Option<String>> {
    match row.get(i) {
        Some(Value::Text(text)) => Ok(Some(text.clone())),
        Some(Value::Null) => Ok(None),
        other => Err(query_error(
            location,
            format!("column {i} is {other:?}, expected text"),
        )),
    }
}

/// Reads column `i` of `row` as non-null text.
pub(crate) fn text(row: &Row, i: usize, location: &str) -> Result<String> {
    opt_text(row, i, location)?
        .ok_or_else(|| query_error(location, format!("column {i} is NULL, expected text")))
}

/// Reads column `i` of `row` as an integer, `None` for NULL.
pub(crate) fn opt_int(row: &Row, i: usize, location: &str) -> Result<Option<i64>> {
    match row.get(i) {
        Some(Value::Int(n)) => Ok(Some(*n)),
        Some(Value::Null) => Ok(None),
        other => Err(query_error(
            location,
            format!("column {i} is {other:?}, expected an integer"),
        )),
    }
}
