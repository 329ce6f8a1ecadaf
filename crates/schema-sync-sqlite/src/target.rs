//! Targets written as SQL: SQLite itself is the parser.
//!
//! The DDL runs in a fresh in-memory database, which is then inspected like a tenant, so
//! a target means exactly what SQLite makes of it and no file is ever created.

use rusqlite::Connection;
use schema_sync_core::{Error, Result, SchemaSnapshot, run_blocking};

use crate::inspect::inspect_connection;

/// The schema `sql` creates in an empty database, inspected (on the blocking pool).
///
/// # Errors
/// [`Error::Target`] when SQLite rejects the DDL or its result cannot be inspected.
pub(crate) async fn snapshot_from_sql(sql: &str) -> Result<SchemaSnapshot> {
    let sql = sql.to_string();
    run_blocking(move || {
        let target_error = |message: String, e: rusqlite::Error| Error::Target {
            target: "SQL".into(),
            message,
            source: Some(Box::new(e)),
        };
        let conn = Connection::open_in_memory()
            .map_err(|e| target_error("cannot open an in-memory database".into(), e))?;
        conn.execute_batch(&sql)
            .map_err(|e| target_error(format!("SQLite rejected the DDL: {e}"), e))?;
        inspect_connection(&conn)
            .map_err(|e| target_error("cannot inspect the DDL's result".into(), e))
    })
    .await
}
