//! Mapping rusqlite errors to schema-sync errors with tenant, phase and path.

use std::path::Path;

use schema_sync_core::{Error, Phase, TenantId};

/// Wraps a SQLite error met during `phase` on `path` for `tenant`, with a hint for the
/// common cases (not a database, locked, missing file).
pub(crate) fn sqlite_error(
    tenant: Option<&TenantId>,
    phase: Phase,
    path: &Path,
    error: rusqlite::Error,
) -> Error {
    let hint = match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => {
            " (the file is not a SQLite database: remove it from the tenant directory)"
        }
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            " (another process holds a write lock: retry, or raise the lock timeout)"
        }
        Some(rusqlite::ErrorCode::CannotOpen) => " (check that the file exists and is readable)",
        Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            " (SQLite cannot read the file's stored schema or pages: check it with \
             `sqlite3 <file> 'PRAGMA integrity_check'`; a view or trigger that was created while \
             the file was attached, and names it by its attached name (`other.t`), also makes \
             the schema unreadable: recreate it without that qualifier)"
        }
        _ => "",
    };
    Error::database(
        tenant,
        phase,
        Some(format!("{}{hint}", path.display())),
        error,
    )
}

/// Whether the error means another connection holds the write lock.
pub(crate) fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
