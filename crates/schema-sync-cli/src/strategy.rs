//! `--strategy`: which planner a run plans with, per database.
//!
//! `plain` is the default planner everywhere. `online` is a second planner where the
//! database has one (PostgreSQL's [`OnlinePlanner`](schema_sync_postgres::OnlinePlanner),
//! MySQL/MariaDB's [`OnlinePlanner`](schema_sync_mysql::OnlinePlanner)), and the plain
//! planner where plain already is online (SQLite: one writer per file, so there is no
//! live writer to keep serving). A database without one refuses it, so a user never
//! gets a blocking change they asked to avoid.

use anyhow::{Result, bail};
use schema_sync_core::Engine;

use crate::cli::Strategy;

/// How many times the online strategy tries a locking statement again after its table
/// lock was not granted within `lock_timeout` (with a growing pause between tries).
pub const ONLINE_LOCK_RETRIES: u32 = 5;

/// The lock retries of `strategy`: none for plain, where a lock timeout fails the tenant
/// at once and rolls it back.
pub fn lock_retries(strategy: Strategy) -> u32 {
    match strategy {
        Strategy::Plain => 0,
        Strategy::Online => ONLINE_LOCK_RETRIES,
    }
}

/// `engine` with the planner of `strategy` for its database.
///
/// # Errors
/// `online` on a database that has no online strategy.
pub fn apply(engine: Engine, strategy: Strategy) -> Result<Engine> {
    let database = engine.adapter().name();
    match (strategy, database) {
        (Strategy::Plain, _) | (Strategy::Online, "sqlite") => Ok(engine),
        #[cfg(feature = "postgres")]
        (Strategy::Online, "postgres") => {
            Ok(engine.with_planner(std::sync::Arc::new(schema_sync_postgres::OnlinePlanner)))
        }
        #[cfg(feature = "mysql")]
        (Strategy::Online, "mysql") => {
            Ok(engine.with_planner(std::sync::Arc::new(schema_sync_mysql::OnlinePlanner)))
        }
        (Strategy::Online, other) => bail!(
            "--strategy online is not available for {other} yet: its DDL would block writers; run with --strategy plain (or set strategy = \"plain\") in a maintenance window"
        ),
    }
}
