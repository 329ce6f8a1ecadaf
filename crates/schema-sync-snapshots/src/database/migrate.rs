//! The store's own tiny versioned migrations.
//!
//! `schema_sync_store_version` has one row per applied version. Opening a store creates
//! it if needed, reads the highest version, and applies the missing steps in the same
//! transaction, under a lock (PostgreSQL: an advisory transaction lock; SQLite:
//! `BEGIN IMMEDIATE`) so that two processes opening a new store do not race. A database
//! whose version is newer than this build knows is refused instead of being written with
//! an older layout.

use schema_sync_core::Result;

use super::driver::Dialect;
use crate::error::snapshot_error;

/// Creates the version table.
pub(crate) const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_sync_store_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)";
/// The highest applied version (NULL when none).
pub(crate) const CURRENT_VERSION: &str = "SELECT MAX(version) FROM schema_sync_store_version";
/// Records an applied version.
pub(crate) const RECORD_VERSION: &str = "INSERT INTO schema_sync_store_version (version, applied_at) VALUES (CAST($1 AS INTEGER), CAST($2 AS BIGINT))";

/// Version 1: snapshot bodies, history and tags.
const V1_SQLITE: &[&str] = &[
    "CREATE TABLE schema_sync_snapshots (hash TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE schema_sync_snapshot_history (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant TEXT NOT NULL, hash TEXT NOT NULL REFERENCES schema_sync_snapshots (hash), saved_at BIGINT NOT NULL)",
    "CREATE INDEX schema_sync_snapshot_history_tenant ON schema_sync_snapshot_history (tenant, id)",
    "CREATE TABLE schema_sync_snapshot_tags (tenant TEXT NOT NULL, tag TEXT NOT NULL, hash TEXT NOT NULL REFERENCES schema_sync_snapshots (hash), PRIMARY KEY (tenant, tag))",
];
const V1_POSTGRES: &[&str] = &[
    "CREATE TABLE schema_sync_snapshots (hash TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE schema_sync_snapshot_history (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, tenant TEXT NOT NULL, hash TEXT NOT NULL REFERENCES schema_sync_snapshots (hash), saved_at BIGINT NOT NULL)",
    "CREATE INDEX schema_sync_snapshot_history_tenant ON schema_sync_snapshot_history (tenant, id)",
    "CREATE TABLE schema_sync_snapshot_tags (tenant TEXT NOT NULL, tag TEXT NOT NULL, hash TEXT NOT NULL REFERENCES schema_sync_snapshots (hash), PRIMARY KEY (tenant, tag))",
];

/// Every version's statements, oldest first: entry `i` makes version `i + 1`.
fn migrations(dialect: Dialect) -> &'static [&'static [&'static str]] {
    match dialect {
        Dialect::Sqlite => &[V1_SQLITE],
        Dialect::Postgres => &[V1_POSTGRES],
    }
}

/// The steps to apply to a store at `current`, each with the version it makes.
///
/// # Errors
/// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the store is newer than
/// this build.
pub(crate) fn pending(
    dialect: Dialect,
    current: i64,
    location: &str,
) -> Result<Vec<(i64, &'static [&'static str])>> {
    let all = migrations(dialect);
    let latest = all.len() as i64;
    if current > latest {
        return Err(snapshot_error(
            location,
            format!(
                "the snapshot tables are at version {current} but this build knows version {latest}; upgrade schema-sync"
            ),
        ));
    }
    Ok(all
        .iter()
        .enumerate()
        .map(|(i, steps)| (i as i64 + 1, *steps))
        .filter(|(version, _)| *version > current)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_steps() {
        assert_eq!(
            pending(Dialect::Sqlite, 0, "x").map(|p| p.len()).ok(),
            Some(1)
        );
        assert_eq!(
            pending(Dialect::Postgres, 1, "x").map(|p| p.len()).ok(),
            Some(0)
        );
        assert!(pending(Dialect::Sqlite, 2, "x").is_err());
    }
}
