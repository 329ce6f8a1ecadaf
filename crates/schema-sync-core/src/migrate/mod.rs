//! Versioned SQL migrations: the apply side of the plain and sqlx layouts.
//!
//! Declarative sync computes what to run from the live schema; a versioned migration is
//! SQL a team wrote and reviewed, run once per tenant in version order. Both live in one
//! tool: `migrate` applies the files, `validate` then checks that every tenant still
//! equals the desired schema.
//!
//! The dialect-neutral parts live here, one concept per file:
//! - [`source`]: reading a directory of `<version>_<name>.up.sql` / `<version>_<name>.sql`
//!   files into a [`MigrationSet`], with each file's checksum;
//! - [`history`]: the rows of the per-tenant [`HISTORY_TABLE`] and what is pending given
//!   them (a changed file is an error, never a silent re-run);
//! - [`runner`]: [`SqlFileMigrationRunner`], which applies pending files under the
//!   database's own tenant lock and transaction, tenant by tenant or for a fleet;
//! - [`status`]: per version, how many tenants have it and which lag behind.
//!
//! Each adapter supplies the primitives through [`TenantLock`](crate::TenantLock)
//! (`migration_history`, `apply_migration`) and
//! [`MigrationRunner::migration_history`](crate::MigrationRunner::migration_history): the
//! table's DDL and queries, and how a file runs inside (or outside) its transaction.
//! Another engine (diesel's directory layout, migrations written in Rust) plugs in the
//! same way: it produces [`Migration`]s, or drives the same lock primitives itself.

pub mod history;
pub mod runner;
pub mod source;
pub mod status;

pub use history::{AppliedMigration, HISTORY_TABLE, strip_history_table};
pub use runner::{AppliedFile, MigrateFleetReport, MigrateReport, SqlFileMigrationRunner};
pub use source::{Checksum, MANIFEST_FILE, Migration, MigrationSet};
pub use status::{MigrationStatus, VersionStatus};
