//! [`FileSnapshotStore`]: a directory of pretty JSON that a person can read and `git diff`.
//!
//! ```text
//! <root>/schema-sync-store.json
//! <root>/objects/<hash>.json                 pretty snapshot, written once per content hash
//! <root>/tenants/<encoded id>/history.jsonl  {"hash":"…","saved_at":…} per save, appended
//! <root>/tenants/<encoded id>/tags.json      {"baseline": "<hash>"}, replaced atomically
//! ```
//!
//! Objects and tags files are written to a temporary name, fsynced and renamed; history
//! lines are appended and fsynced. An object becomes visible before the history line that
//! refers to it, so a crash between the two leaves an unreferenced object (removed by the
//! next [`prune`](PrunableStore::prune)), never a history entry without its snapshot.
//! Writers hold an advisory lock on `<root>/.lock`, so several processes may share a store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use schema_sync_core::{
    Result, SchemaSnapshot, SnapshotHash, SnapshotRecord, SnapshotStore, TenantId,
};

use crate::error::{snapshot_error_from, unknown_tag_target};
use crate::fsutil::{append_line, atomic_write, complete_lines, read_optional};
use crate::prune::{PrunableStore, PruneReport, split_history, unreferenced};
use crate::record::{HistoryEntry, attach_tags, now_secs, validate_tag};
use crate::tree::{Tree, read_error, write_error};
use schema_sync_core::run_blocking;

/// The history file in a tenant's directory.
const HISTORY: &str = "history.jsonl";

/// A snapshot store in a local directory.
#[derive(Debug, Clone)]
pub struct FileSnapshotStore {
    tree: Tree,
}

impl FileSnapshotStore {
    /// Opens the store in `root`, creating the directory when it is missing or empty.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the directory cannot be
    /// created, is a non-empty directory that is not a store, or was written by a newer
    /// schema-sync.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let tree = Tree::open(&root, root.join(".lock"), &[".git", ".gitignore"])?;
        let ignore = root.join(".gitignore");
        if !ignore.exists() {
            atomic_write(&ignore, b".lock\n.tmp-*\n").map_err(|e| write_error(&ignore, e))?;
        }
        Ok(Self { tree })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        self.tree.root()
    }

    /// The file holding the snapshot `hash` (it may not exist).
    pub fn object_path(&self, hash: &SnapshotHash) -> PathBuf {
        self.tree.object_path(hash)
    }

    /// The tenant's history file (it may not exist).
    pub fn history_path(&self, tenant: &TenantId) -> PathBuf {
        self.tree.tenant_dir(tenant).join(HISTORY)
    }

    /// The tenant's tags file (it may not exist).
    pub fn tags_path(&self, tenant: &TenantId) -> PathBuf {
        self.tree.tags_path(tenant)
    }
}

/// Reads a history file, oldest first; a missing file is an empty history.
fn read_history(path: &Path) -> Result<Vec<HistoryEntry>> {
    let text = match read_optional(path) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(Vec::new()),
        Err(e) => return Err(read_error(path, e)),
    };
    complete_lines(&text)
        .map(|(number, line)| {
            serde_json::from_str(line).map_err(|e| {
                snapshot_error_from(
                    format!("{}:{number}", path.display()),
                    "not a valid history line ({\"hash\": …, \"saved_at\": …}); repair or delete the line",
                    e,
                )
            })
        })
        .collect()
}

fn history_line(entry: &HistoryEntry) -> String {
    // A struct of a string and a number always serialises.
    serde_json::to_string(entry).unwrap_or_default()
}

#[async_trait]
impl SnapshotStore for FileSnapshotStore {
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord> {
        let (tree, tenant, snapshot) = (self.tree.clone(), tenant.clone(), snapshot.clone());
        let history = self.history_path(&tenant);
        run_blocking(move || {
            let hash = snapshot.hash();
            let _lock = tree.lock()?;
            tree.write_object(&snapshot, &hash)?;
            tree.create_tenant_dir(&tenant)?;
            let entry = HistoryEntry {
                hash,
                saved_at: now_secs(),
            };
            append_line(&history, &history_line(&entry)).map_err(|e| write_error(&history, e))?;
            Ok(entry.into_record(&tenant))
        })
        .await
    }

    async fn load(&self, _tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        let (tree, hash) = (self.tree.clone(), hash.clone());
        run_blocking(move || tree.read_object(&hash)).await
    }

    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>> {
        let (tree, tenant) = (self.tree.clone(), tenant.clone());
        let path = self.history_path(&tenant);
        run_blocking(move || {
            let mut records: Vec<_> = read_history(&path)?
                .into_iter()
                .map(|entry| entry.into_record(&tenant))
                .collect();
            attach_tags(&mut records, &tree.read_tags(&tenant)?);
            Ok(records)
        })
        .await
    }

    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()> {
        validate_tag(tag)?;
        let (tree, tenant, hash, tag) = (
            self.tree.clone(),
            tenant.clone(),
            hash.clone(),
            tag.to_string(),
        );
        run_blocking(move || {
            let _lock = tree.lock()?;
            if !tree.has_object(&hash) {
                return Err(unknown_tag_target(
                    tree.object_path(&hash).display().to_string(),
                    &hash,
                    &tag,
                ));
            }
            let mut tags = tree.read_tags(&tenant)?;
            tags.insert(tag, hash);
            tree.write_tags(&tenant, &tags)?;
            Ok(())
        })
        .await
    }

    async fn resolve_tag(&self, tenant: &TenantId, tag: &str) -> Result<Option<SnapshotHash>> {
        let (tree, tenant, tag) = (self.tree.clone(), tenant.clone(), tag.to_string());
        run_blocking(move || Ok(tree.read_tags(&tenant)?.remove(&tag))).await
    }
}

#[async_trait]
impl PrunableStore for FileSnapshotStore {
    async fn prune(&self, tenant: &TenantId, keep_last: usize) -> Result<PruneReport> {
        let tree = self.tree.clone();
        let path = self.history_path(tenant);
        run_blocking(move || {
            let _lock = tree.lock()?;
            let (dropped, kept) = split_history(read_history(&path)?, keep_last);
            if !dropped.is_empty() {
                let text: String = kept.iter().map(|e| history_line(e) + "\n").collect();
                atomic_write(&path, text.as_bytes()).map_err(|e| write_error(&path, e))?;
            }
            let mut referenced = BTreeSet::new();
            for dir in tree.tenant_dirs()? {
                referenced.extend(
                    read_history(&dir.join(HISTORY))?
                        .into_iter()
                        .map(|e| e.hash),
                );
                referenced.extend(Tree::tagged_in(&dir)?);
            }
            let garbage = unreferenced(tree.object_hashes()?, &referenced);
            for hash in &garbage {
                tree.remove_object(hash)?;
            }
            Ok(PruneReport {
                history_removed: dropped.len(),
                objects_removed: garbage.len(),
            })
        })
        .await
    }
}
