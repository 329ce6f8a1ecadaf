//! The versioned-migration history of a tenant file: its `_schema_sync_migrations`
//! table (the columns of sqlx's `_sqlx_migrations`) and how a migration file runs.
//!
//! A file runs with `execute_batch` inside the lock's `BEGIN IMMEDIATE` transaction and
//! its history row is written in the same transaction, so a failure rolls back both. A
//! file marked `-- no-transaction` (`VACUUM`, for one) commits the transaction first,
//! runs on its own, and the next transaction takes the write lock again.

use std::time::Instant;

use rusqlite::{Connection, OptionalExtension};
use schema_sync_core::StatementTiming;
use schema_sync_core::migrate::{AppliedMigration, HISTORY_TABLE, Migration};

use crate::sql::quote_ident;

/// Creates the history table when it is missing.
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {} (
            version INTEGER PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success INTEGER NOT NULL,
            checksum BLOB NOT NULL,
            execution_time INTEGER NOT NULL
        )",
        quote_ident(HISTORY_TABLE)
    ))
}

/// The history rows in version order; none when the table does not exist.
pub(crate) fn read(conn: &Connection) -> rusqlite::Result<Vec<AppliedMigration>> {
    let exists = conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [HISTORY_TABLE],
            |_| Ok(()),
        )
        .optional()?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    let mut statement = conn.prepare(&format!(
        "SELECT version, description, installed_on, success, checksum, execution_time
         FROM {} ORDER BY version",
        quote_ident(HISTORY_TABLE)
    ))?;
    statement
        .query_map([], |row| {
            Ok(AppliedMigration {
                version: row.get(0)?,
                description: row.get(1)?,
                installed_on: row.get(2)?,
                success: row.get(3)?,
                checksum: row.get(4)?,
                execution_time_ms: row.get(5)?,
            })
        })?
        .collect()
}

/// Runs `migration` and records it, inside the open transaction, or between two
/// transactions when the file is marked `-- no-transaction`.
pub(crate) fn apply(conn: &Connection, migration: &Migration) -> rusqlite::Result<StatementTiming> {
    if migration.no_transaction {
        conn.execute_batch("COMMIT")?;
    }
    let started = Instant::now();
    let ran = conn.execute_batch(&migration.sql).and_then(|()| {
        let elapsed = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        conn.execute(
            &format!(
                "INSERT INTO {} (version, description, success, checksum, execution_time)
                 VALUES (?1, ?2, 1, ?3, ?4)",
                quote_ident(HISTORY_TABLE)
            ),
            (
                migration.version,
                &migration.description,
                migration.checksum.as_bytes(),
                elapsed,
            ),
        )
    });
    let timing = StatementTiming::since(migration.sql.as_str(), started);
    if migration.no_transaction {
        // The lock's unit of work goes on (and a failure is rolled back by it) either way.
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        ran?;
        begun?;
    } else {
        ran?;
    }
    Ok(timing)
}
