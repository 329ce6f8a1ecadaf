//! The ledger's own versioned migrations.
//!
//! `ledger_version` has one row per applied version. Opening a ledger creates it if
//! needed, reads the highest version, and applies the missing steps in the same
//! transaction, under a lock (PostgreSQL: an advisory transaction lock; SQLite:
//! `BEGIN IMMEDIATE`) so that two processes opening a new ledger do not race. A ledger
//! whose version is newer than this build knows is refused instead of being written with
//! an older layout. The same SQL serves both databases (`TEXT`, `BIGINT`).
//!
//! MySQL needs its own DDL (`MYSQL_MIGRATIONS`, kept here so that every version reads
//! side by side): keys cannot be `TEXT`, and the tables name their engine and character
//! set. Its DDL is not transactional, so it migrates under `GET_LOCK` instead, one
//! committed step at a time (see `mysql.rs`).

use schema_sync_core::Result;

use crate::driver::ledger_error;

/// Creates the version table.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS ledger_version (version BIGINT NOT NULL, applied_at_ms BIGINT NOT NULL)";
/// The highest applied version (NULL when none).
pub(crate) const CURRENT_VERSION: &str = "SELECT MAX(version) FROM ledger_version";
/// Records an applied version.
pub(crate) const RECORD_VERSION: &str =
    "INSERT INTO ledger_version (version, applied_at_ms) VALUES ($1, $2)";

/// Version 1: runs, their tenants, and each tenant's statements.
const V1: &[&str] = &[
    "CREATE TABLE ledger_runs (id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at_ms BIGINT NOT NULL, ended_at_ms BIGINT, status TEXT NOT NULL, os_user TEXT NOT NULL, db_user TEXT, host TEXT NOT NULL, version TEXT NOT NULL, command_line TEXT NOT NULL, target_hash TEXT NOT NULL, resumes TEXT)",
    "CREATE INDEX ledger_runs_started ON ledger_runs (started_at_ms)",
    "CREATE TABLE ledger_tenants (run_id TEXT NOT NULL REFERENCES ledger_runs (id), tenant TEXT NOT NULL, status TEXT NOT NULL, before_hash TEXT, after_hash TEXT, steps_done BIGINT NOT NULL, steps_total BIGINT NOT NULL, error TEXT, started_at_ms BIGINT, ended_at_ms BIGINT, PRIMARY KEY (run_id, tenant))",
    "CREATE TABLE ledger_statements (run_id TEXT NOT NULL, tenant TEXT NOT NULL, position BIGINT NOT NULL, statement TEXT NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (run_id, tenant, position), FOREIGN KEY (run_id, tenant) REFERENCES ledger_tenants (run_id, tenant))",
];

/// Version 2: each tenant's wave (`--canary`, `--waves`); NULL for runs without waves.
const V2: &[&str] = &["ALTER TABLE ledger_tenants ADD COLUMN wave BIGINT"];

/// Each version's statements, oldest first: entry `i` makes version `i + 1`.
pub(crate) type Migrations = &'static [&'static [&'static str]];

/// Every version's statements for PostgreSQL and SQLite.
const MIGRATIONS: Migrations = &[V1, V2];

/// The version table on MySQL: InnoDB, and a primary key, which servers run with
/// `sql_require_primary_key` (managed MySQL services) demand of every table.
#[cfg(feature = "mysql")]
pub(crate) const MYSQL_CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS ledger_version (version BIGINT NOT NULL PRIMARY KEY, applied_at_ms BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

/// Version 1 on MySQL: the same tables and columns. Keys are `VARCHAR(255)` (a tenant id
/// is at most 255 bytes; `TEXT` cannot be a key), long values `LONGTEXT`, and the
/// collation `utf8mb4_bin`, so that ids compare and sort byte by byte and case-sensitively,
/// as on PostgreSQL and SQLite. The strict session (`mysql.rs`) makes a longer value an
/// error, never a truncation.
#[cfg(feature = "mysql")]
const MYSQL_V1: &[&str] = &[
    "CREATE TABLE ledger_runs (id VARCHAR(255) NOT NULL PRIMARY KEY, command LONGTEXT NOT NULL, started_at_ms BIGINT NOT NULL, ended_at_ms BIGINT, status VARCHAR(32) NOT NULL, os_user LONGTEXT NOT NULL, db_user LONGTEXT, host LONGTEXT NOT NULL, version LONGTEXT NOT NULL, command_line LONGTEXT NOT NULL, target_hash LONGTEXT NOT NULL, resumes LONGTEXT) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE INDEX ledger_runs_started ON ledger_runs (started_at_ms)",
    "CREATE TABLE ledger_tenants (run_id VARCHAR(255) NOT NULL, tenant VARCHAR(255) NOT NULL, status VARCHAR(32) NOT NULL, before_hash LONGTEXT, after_hash LONGTEXT, steps_done BIGINT NOT NULL, steps_total BIGINT NOT NULL, error LONGTEXT, started_at_ms BIGINT, ended_at_ms BIGINT, PRIMARY KEY (run_id, tenant), FOREIGN KEY (run_id) REFERENCES ledger_runs (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
    "CREATE TABLE ledger_statements (run_id VARCHAR(255) NOT NULL, tenant VARCHAR(255) NOT NULL, position BIGINT NOT NULL, statement LONGTEXT NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (run_id, tenant, position), FOREIGN KEY (run_id, tenant) REFERENCES ledger_tenants (run_id, tenant)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
];

/// Every version's statements for MySQL and MariaDB (version 2 is the shared `ALTER`).
#[cfg(feature = "mysql")]
pub(crate) const MYSQL_MIGRATIONS: Migrations = &[MYSQL_V1, V2];

// Every backend knows the same versions.
#[cfg(feature = "mysql")]
const _: () = assert!(MYSQL_MIGRATIONS.len() == MIGRATIONS.len());

/// The newest version this build knows.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The steps to apply to a ledger at `current`, each with the version it makes.
///
/// # Errors
/// [`Error::Ledger`](schema_sync_core::Error::Ledger) when the ledger is newer than this
/// build.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn pending(current: i64, location: &str) -> Result<Vec<(i64, &'static [&'static str])>> {
    pending_in(MIGRATIONS, current, location)
}

/// The steps of `migrations` to apply to a ledger at `current`, as [`pending`].
pub(crate) fn pending_in(
    migrations: Migrations,
    current: i64,
    location: &str,
) -> Result<Vec<(i64, &'static [&'static str])>> {
    if current > LATEST_VERSION {
        return Err(ledger_error(
            location,
            format!(
                "the ledger is at version {current} but this build of schema-sync knows version {LATEST_VERSION}; upgrade schema-sync, or pass --ledger with another ledger (or --no-ledger)"
            ),
        ));
    }
    Ok(migrations
        .iter()
        .enumerate()
        .map(|(i, steps)| (i as i64 + 1, *steps))
        .filter(|(version, _)| *version > current)
        .collect())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_steps() {
        assert_eq!(pending(0, "x").map(|p| p.len()).ok(), Some(2));
        let from_v1 = pending(1, "x").ok().unwrap_or_default();
        assert_eq!(from_v1.iter().map(|(v, _)| *v).collect::<Vec<_>>(), [2]);
        assert_eq!(pending(2, "x").map(|p| p.len()).ok(), Some(0));
        let error = pending(3, "ledger.db").err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "run ledger ledger.db: the ledger is at version 3 but this build of schema-sync knows version 2; upgrade schema-sync, or pass --ledger with another ledger (or --no-ledger)"
            )
        );
    }
}
