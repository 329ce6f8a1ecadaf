//! Where the tenants are, and opening their files.
//!
//! A `sqlite://` URL names a directory of tenant files or a single file ([`Location`]);
//! the connect options say whether a file may ever be opened read-write and how long to
//! wait for another writer ([`Access`]). SQLite needs no pool: every operation opens its
//! tenant's file ([`open`]), read-only unless it writes. An inspection that meets a hot
//! journal rolls it back first when it may ([`journal`]).

mod journal;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use schema_sync_core::{ConnectOptions, Error, Phase, Result, TenantId};

use crate::error::sqlite_error;

/// How long to wait for another writer when no timeout is configured.
const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the tenants are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory of tenant files.
    Directory(PathBuf),
    /// A single tenant file.
    File(PathBuf),
}

impl Location {
    /// Parses a `sqlite://` URL (`sqlite:///abs/path`, `sqlite://relative/path`,
    /// `sqlite:path`) and checks that the path exists.
    ///
    /// # Errors
    /// [`Error::Config`] when the scheme is wrong or the path does not exist.
    pub fn from_url(url: &str) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::config(format!("{url:?} is not a sqlite:// URL; use sqlite:///path/to/dir or sqlite:///path/to/file.db")))?;
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(Error::config(
                "the sqlite:// URL has no path; use sqlite:///path/to/dir or sqlite:///path/to/file.db",
            ));
        }
        let path = PathBuf::from(path);
        if path.is_dir() {
            Ok(Location::Directory(path))
        } else if path.is_file() {
            Ok(Location::File(path))
        } else {
            Err(Error::config(format!(
                "{} does not exist; create the directory of tenant files, or point the URL at an existing .db file",
                path.display()
            )))
        }
    }
}

/// What the connect options allow when a file is opened outside a migration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    /// Never open a file read-write outside a run that may change it (audit).
    pub read_only: bool,
    /// How long a hot-journal rollback waits for another writer.
    pub lock_timeout: Duration,
}

impl Access {
    /// `options.read_only`, and `options.lock_timeout` or ten seconds.
    pub(crate) fn from_options(options: &ConnectOptions) -> Self {
        Self {
            read_only: options.read_only,
            lock_timeout: options.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT),
        }
    }
}

/// Opens a tenant file, read-only unless `write`. Never creates a file.
pub(crate) fn open(path: &Path, write: bool) -> rusqlite::Result<Connection> {
    let mode = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    };
    Connection::open_with_flags(path, mode | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// Runs `read` on a read-only connection to `tenant`'s file at `path`, for inspection
/// (blocking: call it on the blocking pool).
///
/// When the file has a hot journal, the journal is rolled back under the write lock and
/// `read` runs again; with `access.read_only` the tenant fails with the fix instead.
///
/// # Errors
/// [`Error::Database`] when the file is missing, cannot be opened or read, or has a hot
/// journal that may not be rolled back.
pub(crate) fn read_for_inspection<T>(
    tenant: &TenantId,
    path: &Path,
    access: Access,
    read: impl Fn(&Connection) -> rusqlite::Result<T>,
) -> Result<T> {
    let fail = |e| sqlite_error(Some(tenant), Phase::Inspect, path, e);
    if !path.is_file() {
        return Err(Error::database(
            Some(tenant),
            Phase::Inspect,
            Some(path.display().to_string()),
            "no such tenant file; check the tenant id or run `schema-sync tenants`",
        ));
    }
    let conn = open(path, false).map_err(fail)?;
    match read(&conn) {
        Err(e) if journal::is_hot_journal(&e) => {
            drop(conn);
            if access.read_only {
                return Err(journal::hot_journal_error(
                    Some(tenant),
                    Phase::Inspect,
                    path,
                    e,
                ));
            }
            let writer = open(path, true).map_err(fail)?;
            journal::roll_back(&writer, access.lock_timeout).map_err(fail)?;
            drop(writer);
            let conn = open(path, false).map_err(fail)?;
            read(&conn).map_err(fail)
        }
        other => other.map_err(fail),
    }
}
