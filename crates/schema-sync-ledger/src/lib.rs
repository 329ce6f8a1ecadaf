//! The run ledger of schema-sync: an audit trail of every sync, and the source of
//! `sync --resume` and `--retry-failed`.
//!
//! A fleet run is long and can be killed at any point. The ledger records, durably and
//! as it happens, the run (who, where, which version, which target, the command line
//! with every secret redacted), the tenants it selected, each tenant as `started` before
//! its plan runs, and each tenant's outcome with every statement executed and its
//! duration. After `kill -9` the ledger says exactly which tenants were done, which
//! were in flight and which never started; a resume takes the latter two.
//!
//! It is a real database, because it is read back by people and by later runs:
//! - **SQLite** (feature `sqlite`, the default): a file of its own,
//!   `.schema-sync/ledger.db` unless configured. WAL with `synchronous=FULL` and one
//!   commit per tenant, so a committed tenant survives a crash.
//! - **PostgreSQL** (feature `postgres`): tables in a `schema_sync_ledger` schema,
//!   created on first use, for a ledger shared by many machines or CI jobs.
//! - **MySQL/MariaDB** (feature `mysql`): InnoDB tables in the database a `mysql://`
//!   (or `mariadb://`) URL names, or in `schema_sync_ledger` when it names none; the
//!   database is created on first use. A strict session, so a long statement or error
//!   is stored whole or refused, never truncated.
//!
//! As in the snapshot stores, each backend implements two primitives (a query, a
//! transaction) and the ledger's logic lives once (`store.rs`). The schema is versioned
//! with its own migrations (`ledger_version`); a ledger newer than this build is refused
//! rather than written with an older layout.
#![deny(missing_docs)]

mod driver;
mod migrate;
#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

use std::path::Path;
use std::sync::Arc;

use schema_sync_core::Result;
use schema_sync_core::ledger::RunLedger;

pub use migrate::{LATEST_VERSION, now_ms};
#[cfg(feature = "postgres")]
pub use postgres::LEDGER_SCHEMA;
/// The database of a MySQL ledger whose URL names none; never listed as a tenant.
#[cfg(feature = "mysql")]
pub use schema_sync_mysql::LEDGER_DATABASE as MYSQL_LEDGER_DATABASE;

/// Where the ledger lives when nothing says otherwise, relative to the working directory.
pub const DEFAULT_LEDGER_PATH: &str = ".schema-sync/ledger.db";

/// Opens the ledger `location` names, creating and migrating its tables: a
/// `postgres://` (or `postgresql://`) URL, a `mysql://` (or `mariadb://`) URL, a
/// `sqlite://` URL, or a file path.
///
/// # Errors
/// [`Error::Ledger`](schema_sync_core::Error::Ledger) when the ledger cannot be opened or
/// created, or is newer than this build; [`Error::Config`](schema_sync_core::Error::Config)
/// for a backend this build lacks; a connection error for an unreachable server.
pub async fn open(location: &str) -> Result<Arc<dyn RunLedger>> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        return open_postgres(location).await;
    }
    if location.starts_with("mysql://") || location.starts_with("mariadb://") {
        return open_mysql(location).await;
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    open_sqlite(Path::new(path)).await
}

#[cfg(feature = "sqlite")]
async fn open_sqlite(path: &Path) -> Result<Arc<dyn RunLedger>> {
    let driver = sqlite::SqliteDriver::open(path).await?;
    Ok(Arc::new(store::Ledger::new(driver)))
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(path: &Path) -> Result<Arc<dyn RunLedger>> {
    Err(schema_sync_core::Error::config(format!(
        "ledger {}: this build has no SQLite ledger (cargo feature `sqlite`); pass --ledger postgres://... or --no-ledger",
        path.display()
    )))
}

#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<Arc<dyn RunLedger>> {
    let driver = postgres::PostgresDriver::connect(url).await?;
    Ok(Arc::new(store::Ledger::new(driver)))
}

#[cfg(feature = "mysql")]
async fn open_mysql(url: &str) -> Result<Arc<dyn RunLedger>> {
    let driver = mysql::MysqlDriver::connect(url).await?;
    Ok(Arc::new(store::Ledger::new(driver)))
}

#[cfg(not(feature = "mysql"))]
async fn open_mysql(url: &str) -> Result<Arc<dyn RunLedger>> {
    Err(schema_sync_core::Error::config(format!(
        "ledger {}: this build has no MySQL/MariaDB ledger (cargo feature `mysql`); use a SQLite file, --ledger postgres://... or --no-ledger",
        schema_sync_core::redact_url(url)
    )))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(url: &str) -> Result<Arc<dyn RunLedger>> {
    Err(schema_sync_core::Error::config(format!(
        "ledger {}: this build has no PostgreSQL ledger (cargo feature `postgres`); use a SQLite file or --no-ledger",
        schema_sync_core::redact_url(url)
    )))
}
