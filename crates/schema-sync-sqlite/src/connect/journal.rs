//! Hot journals: the half-written transaction a crashed writer leaves behind.
//!
//! In rollback-journal mode a writer copies the original pages to `<file>-journal`
//! before it changes the file. If it dies mid-transaction (`kill -9`, power loss), the
//! journal stays "hot": the file may hold half-written pages, and the next connection
//! that reads it must first copy the originals back. Only a read-write connection can do
//! that; a read-only one fails every statement with `SQLITE_READONLY_ROLLBACK`
//! ("attempt to write a readonly database"), forever.
//!
//! Inspection opens files read-only, so:
//! - when the adapter may write (`sync`, `validate`, `diff`, `plan`), a read-only
//!   inspection that meets a hot journal opens the file read-write, takes the tenant's
//!   write lock (`BEGIN IMMEDIATE`, waiting up to the lock timeout), which makes SQLite
//!   roll the interrupted transaction back, and inspects again. This restores the rows
//!   the file had before the crash; it changes no schema, so `validate` does it too
//!   rather than failing the tenant until someone else repairs it;
//! - when the adapter is read-only (`audit`, `tenants`), it never writes: the tenant
//!   fails with an error that names the file, the journal, and the fix.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use schema_sync_core::{Error, Phase, TenantId};

/// Whether `error` is SQLite refusing to read a file whose hot journal it cannot roll
/// back from a read-only connection.
pub(crate) fn is_hot_journal(error: &rusqlite::Error) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(e, _)
            if e.extended_code == rusqlite::ffi::SQLITE_READONLY_ROLLBACK
    )
}

/// The journal file SQLite keeps next to `path`.
fn journal_path(path: &Path) -> String {
    format!("{}-journal", path.display())
}

/// The error a read-only run reports for a file with a hot journal: what happened and
/// the two ways to roll it back.
pub(crate) fn hot_journal_error(
    tenant: Option<&TenantId>,
    phase: Phase,
    path: &Path,
    error: rusqlite::Error,
) -> Error {
    let tenant_flag = tenant
        .map(|t| format!(" --tenant {}", t.as_str()))
        .unwrap_or_default();
    Error::database(
        tenant,
        phase,
        Some(format!(
            "{} has a hot journal ({}) left by an interrupted write, which a read-only \
             inspection cannot roll back; run `schema-sync sync{tenant_flag}` (it rolls the \
             journal back under the tenant's lock), or open the file read-write once with \
             `sqlite3 {} 'PRAGMA integrity_check'`",
            path.display(),
            journal_path(path),
            path.display()
        )),
        error,
    )
}

/// Rolls back the hot journal of the file behind `conn`, a read-write connection: takes
/// the write lock (waiting up to `lock_timeout` for another writer), which makes SQLite
/// restore the pre-crash pages, then releases the lock without changing anything.
///
/// # Errors
/// The SQLite error when the file stays locked or cannot be read.
pub(crate) fn roll_back(conn: &Connection, lock_timeout: Duration) -> rusqlite::Result<()> {
    conn.busy_timeout(lock_timeout)?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    // Reading the schema is the first access; the rollback has happened by now.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })?;
    conn.execute_batch("ROLLBACK")
}
