//! The few primitives a database driver gives the store.
//!
//! As in refinery, drivers implement small primitives and the store's logic lives once in
//! `mod.rs`. Parameters are numbered `$1`, `$2`, … in order of first use, which both
//! PostgreSQL and SQLite (where `$1` is a named parameter bound by position) accept, so
//! one SQL text serves both.

use async_trait::async_trait;
use schema_sync_core::{BoxError, Result};

use crate::error::snapshot_error_from;

/// A parameter or column value: the store only uses text and integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Value {
    /// A `TEXT` value.
    Text(String),
    /// A `BIGINT` (or SQLite `INTEGER`) value.
    Int(i64),
    /// SQL `NULL`.
    Null,
}

/// A result row.
pub(crate) type Row = Vec<Value>;

/// One statement of a transaction.
pub(crate) type Statement = (&'static str, Vec<Value>);

/// Which SQL dialect a driver speaks, for the migrations (the only dialect-specific SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite 3.35 or newer.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    Sqlite,
    /// PostgreSQL 11 or newer.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Postgres,
}

/// A connection to the store's database.
#[async_trait]
pub(crate) trait Driver: Send + Sync + std::fmt::Debug {
    /// Where the store lives, without any password, for messages.
    fn location(&self) -> &str;

    /// Runs one query and returns its rows.
    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>>;

    /// Runs `statements` in one transaction and returns the rows each affected.
    async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>>;

    /// Brings the store's tables to the newest version, serialised against other
    /// processes doing the same (see `migrate.rs`).
    async fn migrate(&self) -> Result<()>;
}

/// A failed database call.
pub(crate) fn query_error(location: &str, source: impl Into<BoxError>) -> schema_sync_core::Error {
    snapshot_error_from(
        location,
        "a query on the snapshot tables failed; check that the database is reachable and that its user may read and write the schema_sync_* tables",
        source,
    )
}

/// Reads column `i` of `row` as text.
pub(crate) fn text(row: &Row, i: usize, location: &str) -> Result<String> {
    match row.get(i) {
        Some(Value::Text(text)) => Ok(text.clone()),
        other => Err(query_error(
            location,
            format!("column {i} is {other:?}, expected text"),
        )),
    }
}

/// Reads column `i` of `row` as an integer.
pub(crate) fn int(row: &Row, i: usize, location: &str) -> Result<i64> {
    match row.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        other => Err(query_error(
            location,
            format!("column {i} is {other:?}, expected an integer"),
        )),
    }
}
