//! The directory layout shared by the file and git stores.
//!
//! ```text
//! <root>/schema-sync-store.json        {"format": 1}: marks the directory as a store
//! <root>/objects/<hash>.json           one pretty-printed snapshot per content hash
//! <root>/tenants/<encoded id>/tags.json {"baseline": "<hash>", ...}, replaced atomically
//! <root>/tenants/<encoded id>/...       the backend's history (history.jsonl, latest.json)
//! ```
//!
//! Tenant ids are encoded by [`encode_segment`](crate::encode::encode_segment), so every
//! tenant has one directory of its own under `tenants/` whatever its id holds.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use schema_sync_core::{Result, SchemaSnapshot, SnapshotHash, TenantId};
use serde::{Deserialize, Serialize};

use crate::encode::encode_segment;
use crate::error::{not_found, snapshot_error, snapshot_error_from};
use crate::fsutil::{FileLock, atomic_write, create_dir, read_optional};
use crate::record::{TagMap, decode_object};

/// The layout version this build writes and reads.
const TREE_FORMAT: u32 = 1;
/// The marker file at the root of a store.
const MARKER: &str = "schema-sync-store.json";
/// The tags file in a tenant's directory.
const TAGS: &str = "tags.json";

#[derive(Serialize, Deserialize)]
struct Marker {
    format: u32,
}

/// A store directory: objects, tenant directories and the writers' lock.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    root: PathBuf,
    lock_path: PathBuf,
}

impl Tree {
    /// Opens the store at `root`, creating it when the directory is missing or empty.
    ///
    /// `ignored` names entries an empty directory may already hold (`.git`).
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the directory cannot be
    /// created, holds other files, or was written by a newer schema-sync.
    pub fn open(root: &Path, lock_path: PathBuf, ignored: &[&str]) -> Result<Self> {
        let location = root.display().to_string();
        let io_error = |e: io::Error| {
            snapshot_error_from(
                location.clone(),
                "cannot create the snapshot store directory; check the path and its permissions",
                e,
            )
        };
        create_dir(root).map_err(io_error)?;
        let marker_path = root.join(MARKER);
        match read_optional(&marker_path).map_err(io_error)? {
            Some(text) => {
                let marker: Marker = serde_json::from_str(&text).map_err(|e| {
                    snapshot_error_from(
                        marker_path.display().to_string(),
                        "not a valid store marker; restore it or point the store at another directory",
                        e,
                    )
                })?;
                if marker.format > TREE_FORMAT {
                    return Err(snapshot_error(
                        location,
                        format!(
                            "store format {} is newer than this build reads ({TREE_FORMAT}); upgrade schema-sync",
                            marker.format
                        ),
                    ));
                }
            }
            None => {
                let foreign = fs::read_dir(root)
                    .map_err(io_error)?
                    .filter_map(|entry| entry.ok())
                    .any(|entry| !ignored.contains(&entry.file_name().to_string_lossy().as_ref()));
                if foreign {
                    return Err(snapshot_error(
                        location,
                        format!(
                            "the directory is not empty and has no {MARKER}, so it is not a snapshot store; choose a new or empty directory"
                        ),
                    ));
                }
                let text = to_pretty(&Marker {
                    format: TREE_FORMAT,
                });
                atomic_write(&marker_path, text.as_bytes()).map_err(io_error)?;
            }
        }
        create_dir(&root.join("objects")).map_err(io_error)?;
        create_dir(&root.join("tenants")).map_err(io_error)?;
        Ok(Self {
            root: root.to_path_buf(),
            lock_path,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Takes the writers' lock, blocking until it is free.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the lock file cannot be opened.
    pub fn lock(&self) -> Result<FileLock> {
        FileLock::acquire(&self.lock_path).map_err(|e| {
            snapshot_error_from(
                self.lock_path.display().to_string(),
                "cannot take the store's write lock; check the directory's permissions",
                e,
            )
        })
    }

    /// Where the object `hash` lives.
    pub fn object_path(&self, hash: &SnapshotHash) -> PathBuf {
        self.root.join("objects").join(format!("{hash}.json"))
    }

    /// The tenant's own directory.
    pub fn tenant_dir(&self, tenant: &TenantId) -> PathBuf {
        self.root
            .join("tenants")
            .join(encode_segment(tenant.as_str()))
    }

    /// The tenant's tags file.
    pub fn tags_path(&self, tenant: &TenantId) -> PathBuf {
        self.tenant_dir(tenant).join(TAGS)
    }

    /// Creates the tenant's directory.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when it cannot be created.
    pub fn create_tenant_dir(&self, tenant: &TenantId) -> Result<PathBuf> {
        let dir = self.tenant_dir(tenant);
        create_dir(&dir).map_err(|e| write_error(&dir, e))?;
        Ok(dir)
    }

    /// Writes `snapshot` as its object unless an identical one is there; returns its path.
    ///
    /// An object that exists with other bytes (damaged or hand-edited) is replaced, so
    /// saving a snapshot again repairs it.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the file cannot be written.
    pub fn write_object(&self, snapshot: &SchemaSnapshot, hash: &SnapshotHash) -> Result<PathBuf> {
        let path = self.object_path(hash);
        let mut text = snapshot.to_pretty_json();
        text.push('\n');
        if fs::read(&path).is_ok_and(|bytes| bytes == text.as_bytes()) {
            return Ok(path);
        }
        atomic_write(&path, text.as_bytes()).map_err(|e| write_error(&path, e))?;
        Ok(path)
    }

    /// Whether the object `hash` exists.
    pub fn has_object(&self, hash: &SnapshotHash) -> bool {
        self.object_path(hash).is_file()
    }

    /// Reads and verifies the object `hash`.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when it is missing,
    /// unreadable or does not match its hash.
    pub fn read_object(&self, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        let path = self.object_path(hash);
        let location = path.display().to_string();
        match read_optional(&path) {
            Ok(Some(text)) => decode_object(&text, hash, &location),
            Ok(None) => Err(not_found(location, hash)),
            Err(e) => Err(read_error(&path, e)),
        }
    }

    /// The hashes of every stored object.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when `objects/` cannot be listed.
    pub fn object_hashes(&self) -> Result<Vec<SnapshotHash>> {
        let dir = self.root.join("objects");
        let entries = fs::read_dir(&dir).map_err(|e| read_error(&dir, e))?;
        Ok(entries
            .filter_map(|entry| entry.ok())
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str()?.strip_suffix(".json")?;
                SnapshotHash::parse(stem).ok()
            })
            .collect())
    }

    /// Deletes the object `hash`.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when it cannot be removed.
    pub fn remove_object(&self, hash: &SnapshotHash) -> Result<()> {
        let path = self.object_path(hash);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(write_error(&path, e)),
        }
    }

    /// The directory of every tenant that ever saved or tagged.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when `tenants/` cannot be listed.
    pub fn tenant_dirs(&self) -> Result<Vec<PathBuf>> {
        let dir = self.root.join("tenants");
        let entries = fs::read_dir(&dir).map_err(|e| read_error(&dir, e))?;
        Ok(entries
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path())
            .filter(|path| path.is_dir())
            .collect())
    }

    /// The tenant's tags (empty when it has none).
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the tags file is unreadable.
    pub fn read_tags(&self, tenant: &TenantId) -> Result<TagMap> {
        read_tags_file(&self.tags_path(tenant))
    }

    /// Replaces the tenant's tags file atomically.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when it cannot be written.
    pub fn write_tags(&self, tenant: &TenantId, tags: &TagMap) -> Result<PathBuf> {
        self.create_tenant_dir(tenant)?;
        let path = self.tags_path(tenant);
        let mut text = to_pretty(tags);
        text.push('\n');
        atomic_write(&path, text.as_bytes()).map_err(|e| write_error(&path, e))?;
        Ok(path)
    }

    /// The hashes the tags in the tenant directory `dir` point at.
    ///
    /// # Errors
    /// As [`read_tags`](Self::read_tags).
    pub fn tagged_in(dir: &Path) -> Result<BTreeSet<SnapshotHash>> {
        Ok(read_tags_file(&dir.join(TAGS))?.into_values().collect())
    }
}

fn read_tags_file(path: &Path) -> Result<TagMap> {
    match read_optional(path) {
        Ok(Some(text)) => serde_json::from_str(&text).map_err(|e| {
            snapshot_error_from(
                path.display().to_string(),
                "not a valid tags file (a JSON object of tag to snapshot hash); repair it or restore it from a backup",
                e,
            )
        }),
        Ok(None) => Ok(TagMap::new()),
        Err(e) => Err(read_error(path, e)),
    }
}

/// Pretty JSON of plain data (maps of strings), which cannot fail to serialise.
pub(crate) fn to_pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A file could not be written.
pub(crate) fn write_error(path: &Path, e: io::Error) -> schema_sync_core::Error {
    snapshot_error_from(
        path.display().to_string(),
        "cannot write; check the directory's permissions and free space",
        e,
    )
}

/// A file could not be read.
pub(crate) fn read_error(path: &Path, e: io::Error) -> schema_sync_core::Error {
    snapshot_error_from(
        path.display().to_string(),
        "cannot read; check the file's permissions",
        e,
    )
}
