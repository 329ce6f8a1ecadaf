//! The catalog floor: how fast the server can hand over every tenant's catalog in one
//! sequential pass, whoever reads it.
//!
//! `validate` cannot be faster than reading the catalog, so its time is judged against
//! this floor (the report prints `validate (cold) / catalog floor`). Each database has its
//! own passes, timed on one connection with the rows read and dropped: [`mysql`] times
//! three ways through `information_schema` and `SHOW CREATE`, [`postgres`] one read of the
//! raw `pg_catalog` rows. The floor is the fastest pass.

mod mysql;
mod postgres;

use std::time::Duration;

use anyhow::{Result, bail};

use crate::servers::Database;

/// One timed complete pass.
#[derive(Debug, Clone)]
pub struct Pass {
    /// How the catalog was read.
    pub strategy: &'static str,
    /// Wall time of the whole pass.
    pub elapsed: Duration,
    /// Rows read.
    pub rows: u64,
    /// Time per catalog table (empty when the pass does not read table by table).
    pub per_table: Vec<(&'static str, Duration)>,
}

/// Every pass timed, fastest first: the first is the floor.
#[derive(Debug, Clone)]
pub struct Floor {
    /// The passes, fastest first.
    pub passes: Vec<Pass>,
    /// The strategy whose time per catalog table [`Floor::breakdown`] prints.
    detailed: &'static str,
}

impl Floor {
    /// The floor of `passes`; `detailed` names the pass whose breakdown is printed.
    pub fn new(mut passes: Vec<Pass>, detailed: &'static str) -> Floor {
        passes.sort_by_key(|p| p.elapsed);
        Floor { passes, detailed }
    }

    /// The fastest pass.
    pub fn fastest(&self) -> Option<&Pass> {
        self.passes.first()
    }

    /// One line: the fastest pass, then the others' times.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (i, pass) in self.passes.iter().enumerate() {
            let label = if i == 0 { "floor = " } else { "" };
            parts.push(format!(
                "{label}{} {:.2}s",
                pass.strategy,
                pass.elapsed.as_secs_f64()
            ));
        }
        parts.join("; ")
    }

    /// The time per catalog table of the detailed pass, slowest first.
    pub fn breakdown(&self) -> String {
        let Some(pass) = self.passes.iter().find(|p| p.strategy == self.detailed) else {
            return String::new();
        };
        let mut tables = pass.per_table.clone();
        tables.sort_by_key(|t| std::cmp::Reverse(t.1));
        let parts: Vec<String> = tables
            .iter()
            .map(|(table, elapsed)| format!("{table} {:.2}", elapsed.as_secs_f64()))
            .collect();
        format!(
            "{}, seconds per catalog table: {}",
            self.detailed,
            parts.join(", ")
        )
    }
}

/// Times the catalog passes of `database` over the tenants `names` (MySQL databases or
/// PostgreSQL schemas) of the fleet at `url`.
///
/// # Errors
/// When the server cannot be reached or refuses a catalog query; SQLite has no floor.
pub fn measure(database: Database, url: &str, names: &[String]) -> Result<Floor> {
    match database {
        Database::Mysql => mysql::measure(url, names),
        Database::Postgres => postgres::measure(url, names),
        Database::Sqlite => bail!("SQLite has no catalog floor: its catalog is in each file"),
    }
}
