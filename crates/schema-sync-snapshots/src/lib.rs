//! Snapshot stores for schema-sync: where the history of every tenant's schema is kept.
//!
//! After inspecting a tenant, schema-sync can save its [`SchemaSnapshot`] so that later
//! runs can say what changed, when, and roll a report back to a tagged `baseline`. The
//! contract is core's [`SnapshotStore`]; this crate implements it on four kinds of
//! storage, each behind a cargo feature so a build carries only the drivers it uses:
//!
//! | feature | store | for |
//! | --- | --- | --- |
//! | `file` (default) | `FileSnapshotStore` | a directory of pretty JSON to read, diff and back up |
//! | `sqlite`, `postgres` | `DatabaseSnapshotStore` | a few tables next to the data, with transactions |
//! | `git` | `GitSnapshotStore` | one commit per save: `git log` is the audit trail |
//! | `s3` | `S3SnapshotStore` | S3-compatible object storage shared by many runners |
//!
//! [`open_store`] picks one from a URL (`file://`, `sqlite://`, `postgres://`,
//! `git+file://`, `s3://`).
//!
//! # Why it is shaped this way
//!
//! **Content addressing.** A snapshot is stored once under its blake3 hash and the
//! history of each tenant is a list of `(hash, saved_at)` entries. Fleets are the point
//! of schema-sync: a thousand tenants on the same schema share one object, and saving an
//! unchanged schema costs one history entry. Because objects are shared, `load` finds a
//! hash whichever tenant saved it; histories and tags are per tenant.
//!
//! **Nothing unverified is ever returned.** Every load parses the stored body and
//! recomputes its hash. Bad JSON, a hand edit or a newer format is an
//! [`Error::Snapshot`](schema_sync_core::Error::Snapshot) naming where the object lives
//! and how to fix it. Saving the snapshot again rewrites a damaged object.
//!
//! **Atomic writes, each backend its own way.** Files are written to a temporary name,
//! fsynced and renamed; databases use a transaction; git commits; S3 puts are atomic. The
//! object is always written before the history entry that refers to it, so a crash can
//! leave an unreferenced object (pruned later) but never a history entry without one.
//!
//! **Tenant ids are data, not paths.** Ids may hold quotes, slashes, dots and unicode.
//! Where an id names a directory or key it is percent-encoded into one segment that
//! cannot climb out (see `encode.rs`); databases bind it as a parameter.
//!
//! **Deleting is an operator's policy.** The engine never deletes, so core's trait has
//! no delete. [`PrunableStore::prune`] keeps a tenant's newest saves and removes objects
//! nothing refers to, with the policy decided once in `prune.rs`.
//!
//! **One conformance suite.** `conformance` (feature `testing`) holds the checks every
//! backend passes against the real thing: a directory, a git repository, a SQLite file,
//! a PostgreSQL schema and an S3-compatible server.
#![deny(missing_docs)]
// A build without any backend keeps only `open_store`, which then explains which feature
// to enable; the shared helpers are unused there.
#![cfg_attr(
    not(any(
        feature = "file",
        feature = "sqlite",
        feature = "postgres",
        feature = "git",
        feature = "s3"
    )),
    allow(dead_code, unused_imports)
)]

#[cfg(any(feature = "file", feature = "git", feature = "sqlite"))]
mod encode;
mod error;
mod open;
mod prune;
mod record;

#[cfg(any(feature = "file", feature = "git"))]
mod fsutil;
#[cfg(any(feature = "file", feature = "git"))]
mod tree;

#[cfg(feature = "file")]
pub mod cache;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod database;
#[cfg(feature = "file")]
pub mod file;
#[cfg(feature = "git")]
pub mod git;
#[cfg(feature = "s3")]
pub mod s3;

#[cfg(feature = "testing")]
pub mod conformance;

#[cfg(feature = "file")]
pub use cache::DirectorySnapshotCache;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use database::DatabaseSnapshotStore;
#[cfg(feature = "file")]
pub use file::FileSnapshotStore;
#[cfg(feature = "git")]
pub use git::GitSnapshotStore;
/// The `object_store` crate, to configure an [`S3SnapshotStore`] by hand.
#[cfg(feature = "s3")]
pub use object_store;
#[cfg(feature = "s3")]
pub use s3::S3SnapshotStore;

pub use open::{open_prunable_store, open_store};
pub use prune::{PrunableStore, PruneReport};
pub use schema_sync_core::{SchemaSnapshot, SnapshotHash, SnapshotRecord, SnapshotStore};
