//! Snapshots already derived in this process, by the shape of the stored DDL.
//!
//! A fleet is mostly copies of a few schemas, and deriving a snapshot is most of the
//! cost of inspecting a file: the pragmas compile a statement per table and per index,
//! and the stored DDL is read token by token. Yet for one SQLite build the snapshot is a
//! function of what `sqlite_schema` stores: SQLite parses those rows into its schema,
//! and every pragma reports from that. One thing outside the rows changes the result:
//! files of schema format 1 to 3 (SQLite before 3.3.0, or `legacy_file_format`) ignore
//! `DESC` in indexes. So only format-4 files take part.
//!
//! Inspecting a file therefore reads its `sqlite_schema` first (one light statement,
//! [`read_shape`]), and when a file of the same shape was inspected before, takes that
//! snapshot instead of running the pragmas and reading the DDL again. Every file is
//! still opened and its stored DDL read and compared in full: nothing is assumed
//! unchanged from a cookie or from an earlier run. This only avoids deriving the same
//! snapshot twice from the same DDL, which is what "once per distinct shape" means for
//! SQLite.
//!
//! The snapshot of a shape is kept with its hash and handed out shared (an `Arc`), so a
//! file of a known shape costs no clone and no hashing. The digest it was looked up by
//! is also the file's change cookie ([`change_cookie`]), returned with the snapshot: the
//! engine need not open the file a second time to learn it.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use schema_sync_core::{ChangeCookie, Inspection, SchemaSnapshot, SnapshotHash};

use crate::catalog::{Catalog, read_shape};

/// The most shapes remembered; past it, new shapes are derived but not remembered.
const MAX_SHAPES: usize = 256;

/// The schema format number from which SQLite honours `DESC` in indexes.
const CURRENT_SCHEMA_FORMAT: u32 = 4;

/// Snapshots, with their hashes, by the digest of the `sqlite_schema` rows they were
/// derived from.
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    known: Mutex<HashMap<blake3::Hash, (Arc<SchemaSnapshot>, SnapshotHash)>>,
}

impl Shapes {
    /// Inspects the file behind `conn` (no transaction open), taking the snapshot and
    /// hash of a file with the same stored DDL when there was one, and returning the
    /// change cookie of what was read ([`change_cookie`]).
    ///
    /// The cookie comes from the same statement as the snapshot: the digest of the rows
    /// the snapshot was derived from, or that equal those of the known snapshot taken.
    pub(crate) fn inspect(
        &self,
        conn: &Connection,
        format: Option<u32>,
    ) -> rusqlite::Result<Inspection> {
        if format != Some(CURRENT_SCHEMA_FORMAT) {
            return Ok(Inspection::new(super::inspect_connection(conn)?));
        }
        let shape = read_shape(conn)?;
        if let Some((snapshot, hash)) = self.get(&shape) {
            return Ok(Inspection::shared(snapshot, hash, Some(cookie_of(&shape))));
        }
        // The full read computes the shape of what it read itself, in the same
        // statement: a writer committing since `read_shape` cannot mislabel it.
        let catalog = Catalog::read(conn)?;
        let snapshot = super::snapshot_of(&catalog);
        let hash = snapshot.hash();
        let snapshot = Arc::new(snapshot);
        self.remember(catalog.shape, &snapshot, &hash);
        Ok(Inspection::shared(
            snapshot,
            hash,
            Some(cookie_of(&catalog.shape)),
        ))
    }

    fn get(&self, shape: &blake3::Hash) -> Option<(Arc<SchemaSnapshot>, SnapshotHash)> {
        self.known.lock().ok()?.get(shape).cloned()
    }

    fn remember(&self, shape: blake3::Hash, snapshot: &Arc<SchemaSnapshot>, hash: &SnapshotHash) {
        if let Ok(mut known) = self.known.lock()
            && known.len() < MAX_SHAPES
        {
            known.insert(shape, (snapshot.clone(), hash.clone()));
        }
    }
}

/// The cookie of a file whose `sqlite_schema` rows have the digest `shape`.
fn cookie_of(shape: &blake3::Hash) -> ChangeCookie {
    ChangeCookie::new(format!("sqlite {} {shape}", rusqlite::version()))
}

/// The change cookie of the file at `path` behind `conn`: the SQLite version and the
/// digest of every `sqlite_schema` row, the whole of what its snapshot is derived from
/// (see the module documentation). Any DDL rewrites a row of `sqlite_schema`, so any
/// change the snapshot can show moves the cookie; a new SQLite build, which could read
/// the same rows differently, moves it too. `None` for files of an older schema format,
/// which are always read in full.
///
/// `format` is the file's schema format, read with [`schema_format`] before `conn` was
/// opened; `None` under a tenant's lock, where the file was inspected (and its format
/// checked) before the lock was taken.
pub(crate) fn change_cookie(
    conn: &Connection,
    format: Option<u32>,
) -> rusqlite::Result<Option<ChangeCookie>> {
    if format.is_some_and(|f| f != CURRENT_SCHEMA_FORMAT) {
        return Ok(None);
    }
    Ok(Some(cookie_of(&read_shape(conn)?)))
}

/// The schema format number in the header of the database file at `path` (bytes 44 to
/// 47, big-endian), or `None` when it cannot be read.
///
/// Call it only while this process has no SQLite connection to the file open: closing
/// any other descriptor of a file drops every POSIX lock the process holds on it, so a
/// connection holding the write lock would lose it to another process.
pub(crate) fn schema_format(path: &Path) -> Option<u32> {
    let mut header = [0u8; 48];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    Some(u32::from_be_bytes([
        header[44], header[45], header[46], header[47],
    ]))
}
