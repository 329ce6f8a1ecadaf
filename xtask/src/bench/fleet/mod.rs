//! The fleet: which tenants exist, which drifted and how, and building it on each database.
//!
//! A [`Fleet`] is pure data computed from the flags and the seed; the per-database modules
//! turn it into schemas, databases or files as fast as each server allows, and drop it
//! again. Every fleet object is named `bench_t00000`, `bench_t00001`, ... so leftovers of
//! an interrupted run are found and dropped by name. Beside the tenants, each database
//! keeps the template itself in a namespace named [`TEMPLATE`], the reference tenant of
//! `--target-from template`.

mod mysql;
pub(crate) mod postgres;
mod sqlite;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;

use super::drift::{self, DriftKind};
use super::render::{self, Dialect};
use super::schema::Schema;
use crate::servers::Database;

/// Prefix of every tenant's name.
pub const TENANT_PREFIX: &str = "bench_t";
/// A glob that matches the tenants and nothing else the bench creates.
pub const TENANT_GLOB: &str = "bench_t[0-9]*";
/// The namespace that holds the template itself, for `--target tenant:bench_template`.
/// Not matched by [`TENANT_GLOB`].
pub const TEMPLATE: &str = "bench_template";

/// The desired schema and every tenant's deviation from it.
#[derive(Debug)]
pub struct Fleet {
    /// Number of tenants.
    pub tenants: usize,
    /// The desired schema.
    pub template: Schema,
    /// Drifted tenants by index: their schema and the kinds of drift applied.
    pub drifted: BTreeMap<usize, (Schema, Vec<DriftKind>)>,
}

impl Fleet {
    /// The fleet for these flags; the same arguments always give the same fleet.
    pub fn new(tenants: usize, tables: usize, drift_percent: f64, seed: u64) -> Fleet {
        let template = Schema::template(tables, seed);
        let drifted = drift::choose_drifted(tenants, drift_percent, seed)
            .into_iter()
            .enumerate()
            .map(|(ordinal, tenant)| (tenant, drift::drift(&template, tenant, ordinal, seed)))
            .collect();
        Fleet {
            tenants,
            template,
            drifted,
        }
    }

    /// The name of tenant `index`.
    pub fn name(index: usize) -> String {
        format!("{TENANT_PREFIX}{index:05}")
    }

    /// Every tenant's name.
    pub fn names(&self) -> BTreeSet<String> {
        (0..self.tenants).map(Fleet::name).collect()
    }

    /// The names of the drifted tenants.
    pub fn drifted_names(&self) -> BTreeSet<String> {
        self.drifted.keys().map(|&i| Fleet::name(i)).collect()
    }

    /// How often each kind of drift was applied.
    pub fn kind_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts: BTreeMap<&'static str, usize> =
            DriftKind::ALL.iter().map(|k| (k.name(), 0)).collect();
        for (_, kinds) in self.drifted.values() {
            for kind in kinds {
                *counts.entry(kind.name()).or_default() += 1;
            }
        }
        counts
    }

    /// The DDL of tenant `index` in `dialect`, or `None` when it equals the template's.
    pub fn drifted_ddl(&self, index: usize, dialect: Dialect) -> Option<String> {
        self.drifted
            .get(&index)
            .map(|(schema, _)| render::ddl(schema, dialect))
    }
}

/// Where the CLI finds a built fleet.
#[derive(Debug)]
pub struct Built {
    /// The `--url` of the fleet.
    pub url: String,
}

/// Drops any leftover fleet, then builds `fleet` for `database`.
///
/// `server_url` is the server's URL (unused for SQLite); `workdir` is a private
/// directory for files.
///
/// # Errors
/// When the server refuses the DDL or the files cannot be written; the error names the
/// tenant.
pub fn create(
    database: Database,
    server_url: Option<&str>,
    fleet: &Fleet,
    workdir: &Path,
) -> Result<Built> {
    match database {
        Database::Sqlite => sqlite::create(fleet, workdir),
        Database::Postgres => postgres::create(required(server_url)?, fleet),
        Database::Mysql => mysql::create(required(server_url)?, fleet),
    }
}

/// The fleet an earlier `--keep` or `--reuse` run left on the server, when it was built
/// from the same flags, with its drifted tenants built again (a bench's `sync` changed
/// them); `None` when there is none, and always for SQLite and MySQL, whose fleets are
/// cheap to build.
///
/// # Errors
/// When the server refuses to rebuild the drifted tenants.
pub fn reuse(database: Database, server_url: Option<&str>, fleet: &Fleet) -> Result<Option<Built>> {
    match database {
        Database::Postgres => postgres::reuse(required(server_url)?, fleet),
        Database::Sqlite | Database::Mysql => Ok(None),
    }
}

/// Drops every tenant of the fleet and anything else the bench created on the server.
///
/// # Errors
/// When the server refuses to drop them.
pub fn destroy(database: Database, server_url: Option<&str>, workdir: &Path) -> Result<()> {
    match database {
        Database::Sqlite => sqlite::destroy(workdir),
        Database::Postgres => postgres::destroy(required(server_url)?),
        Database::Mysql => mysql::destroy(required(server_url)?),
    }
}

/// A session-level lock on the server, held for one database's whole bench: a second
/// bench on the same server would drop this one's fleet as leftovers. Released when
/// dropped (the session closes with the runtime).
pub struct ServerLock {
    _runtime: tokio::runtime::Runtime,
    _session: Box<dyn std::any::Any>,
}

/// Takes the bench lock of the server; `None` for SQLite, whose fleet is per process.
///
/// # Errors
/// When another bench holds the lock, or the server cannot be reached.
pub fn lock(database: Database, server_url: Option<&str>) -> Result<Option<ServerLock>> {
    let runtime = crate::servers::runtime()?;
    let session: Box<dyn std::any::Any> = match database {
        Database::Sqlite => return Ok(None),
        Database::Postgres => Box::new(runtime.block_on(postgres::lock(required(server_url)?))?),
        Database::Mysql => Box::new(runtime.block_on(mysql::lock(required(server_url)?))?),
    };
    Ok(Some(ServerLock {
        _runtime: runtime,
        _session: session,
    }))
}

/// The message when another bench holds the lock.
fn busy(database: Database) -> anyhow::Error {
    anyhow::anyhow!(
        "another `cargo xtask bench` is running on this {database} server (it holds the bench \
         lock); wait for it to finish: running both would drop each other's fleet"
    )
}

fn required(url: Option<&str>) -> Result<&str> {
    url.ok_or_else(|| anyhow::anyhow!("no server URL"))
}
