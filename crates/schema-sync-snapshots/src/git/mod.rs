//! [`GitSnapshotStore`]: a git repository with one commit per save.
//!
//! The working tree has the layout of the file store (`objects/<hash>.json`, pretty
//! JSON, and `tenants/<encoded id>/tags.json`), plus `tenants/<encoded id>/latest.json`,
//! which every save rewrites and commits together with the object. The tenant's history
//! is the `git log` of that file: each save's commit carries `Snapshot-Hash`,
//! `Snapshot-Saved-At` and `Snapshot-Save` trailers, so `git log tenants/acme` is the
//! audit trail a person reads, and `git diff` between two saves shows what changed in the
//! tenant's schema. Tags live in the committed `tags.json`, so moving a tag is a commit too.
//!
//! # Why the `git` command and not a library
//!
//! The store drives the installed `git` through [`std::process::Command`] instead of
//! linking libgit2 or gix. Neither would add anything the store needs, both are large to
//! compile, and going through the user's own git means the repository behaves exactly as
//! it does at the user's prompt (its format, its config for pushing elsewhere). Every call
//! names the repository explicitly, fixes the committer identity, turns hooks and signing
//! off, and passes arguments without a shell (see `command.rs`).
//!
//! # Atomicity and pruning
//!
//! A save writes its files atomically (temporary file, fsync, rename) and then commits;
//! the commit is what makes the save part of history, so a crash before it leaves no
//! history entry. Git history is immutable by design: [`prune`](PrunableStore::prune)
//! records the cut in a committed `tenants/<id>/pruned.json` and deletes unreferenced
//! objects from the tree in a commit, but their content stays in git's past commits until
//! someone rewrites history (`git filter-repo`). Pruning reads the log of every tenant.

mod command;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use schema_sync_core::{
    Result, SchemaSnapshot, SnapshotHash, SnapshotRecord, SnapshotStore, TenantId,
};
use serde::{Deserialize, Serialize};

use self::command::Git;
use crate::error::{snapshot_error, snapshot_error_from, unknown_tag_target};
use crate::fsutil::{atomic_write, read_optional};
use crate::prune::{PrunableStore, PruneReport, split_history, unreferenced};
use crate::record::{HistoryEntry, attach_tags, now_secs, validate_tag};
use crate::tree::{Tree, read_error, to_pretty, write_error};
use schema_sync_core::run_blocking;

/// The file whose log is a tenant's history.
const LATEST: &str = "latest.json";
/// The committed record of a tenant's last prune.
const PRUNED: &str = "pruned.json";

/// `tenants/<id>/latest.json`: the newest save, rewritten by every save.
#[derive(Debug, Serialize, Deserialize)]
struct Latest {
    hash: SnapshotHash,
    saved_at: u64,
    /// Counts the tenant's saves, so that the file changes even when the snapshot does not.
    save: u64,
}

/// `tenants/<id>/pruned.json`: saves numbered up to `through_save` were pruned.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pruned {
    through_save: u64,
}

/// One save read back from the log.
struct LoggedSave {
    entry: HistoryEntry,
    save: u64,
}

/// A snapshot store in a git repository, one commit per save.
#[derive(Debug, Clone)]
pub struct GitSnapshotStore {
    tree: Tree,
    git: Git,
}

impl GitSnapshotStore {
    /// Opens the store in the repository at `dir`, creating the directory and running
    /// `git init` when needed.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when git is missing, the
    /// directory holds files that are not a store, or the first commit fails.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        run_blocking(move || {
            let git = Git::new(&dir);
            if !git.exists() {
                crate::fsutil::create_dir(&dir).map_err(|e| write_error(&dir, e))?;
                git.run(&["init", "--quiet"])?;
            }
            let tree = Tree::open(&dir, dir.join(".git").join("schema-sync.lock"), &[".git"])?;
            let store = Self { tree, git };
            if !store.git.has_head()? {
                let _lock = store.tree.lock()?;
                let ignore = dir.join(".gitignore");
                atomic_write(&ignore, b".tmp-*\n").map_err(|e| write_error(&ignore, e))?;
                store
                    .git
                    .run(&["add", "--", ".gitignore", "schema-sync-store.json"])?;
                store.git.commit("schema-sync snapshot store", now_secs())?;
            }
            Ok(store)
        })
        .await
    }

    /// The repository's working tree.
    pub fn root(&self) -> &Path {
        self.tree.root()
    }

    /// The file holding the snapshot `hash` in the working tree (it may not exist).
    pub fn object_path(&self, hash: &SnapshotHash) -> PathBuf {
        self.tree.object_path(hash)
    }

    /// The tenant's `latest.json`, whose `git log` is its history (it may not exist).
    pub fn latest_path(&self, tenant: &TenantId) -> PathBuf {
        self.tree.tenant_dir(tenant).join(LATEST)
    }

    /// `path` relative to the working tree, as git takes it.
    fn relative(&self, path: &Path) -> Result<String> {
        path.strip_prefix(self.root())
            .ok()
            .and_then(|p| p.to_str())
            .map(str::to_string)
            .ok_or_else(|| {
                snapshot_error(path.display().to_string(), "is outside the store's repository; this is a schema-sync bug, please report it")
            })
    }

    /// The saves logged for the tenant directory `dir`, oldest first, after its last prune.
    fn logged_saves(&self, dir: &Path) -> Result<Vec<LoggedSave>> {
        if !self.git.has_head()? {
            return Ok(Vec::new());
        }
        let pruned: Pruned = read_json(&dir.join(PRUNED))?.unwrap_or_default();
        let latest = self.relative(&dir.join(LATEST))?;
        let log = self.git.run(&[
            "log",
            "--reverse",
            "--format=%x1e%(trailers:key=Snapshot-Hash,valueonly,separator=%x2c)%x1f%(trailers:key=Snapshot-Saved-At,valueonly,separator=%x2c)%x1f%(trailers:key=Snapshot-Save,valueonly,separator=%x2c)",
            "--",
            &latest,
        ])?;
        let mut saves = Vec::new();
        for record in log.split('\u{1e}').map(str::trim).filter(|r| !r.is_empty()) {
            let fields: Vec<&str> = record.split('\u{1f}').map(str::trim).collect();
            let [hash, saved_at, save] = fields[..] else {
                return Err(bad_log(&latest, record));
            };
            if hash.is_empty() {
                // A commit that touched the file without being a save (made by hand).
                continue;
            }
            let save: u64 = save.parse().map_err(|_| bad_log(&latest, record))?;
            if save <= pruned.through_save {
                continue;
            }
            saves.push(LoggedSave {
                entry: HistoryEntry {
                    hash: SnapshotHash::parse(hash).map_err(|_| bad_log(&latest, record))?,
                    saved_at: saved_at.parse().map_err(|_| bad_log(&latest, record))?,
                },
                save,
            });
        }
        Ok(saves)
    }
}

fn bad_log(path: &str, record: &str) -> schema_sync_core::Error {
    snapshot_error(
        path,
        format!(
            "a commit of this file has malformed Snapshot-* trailers ({record:?}); amend or revert the commit that was made by hand"
        ),
    )
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    match read_optional(path) {
        Ok(Some(text)) => serde_json::from_str(&text).map(Some).map_err(|e| {
            snapshot_error_from(
                path.display().to_string(),
                "is not valid JSON of the git store; restore it with `git checkout -- <file>`",
                e,
            )
        }),
        Ok(None) => Ok(None),
        Err(e) => Err(read_error(path, e)),
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = to_pretty(value) + "\n";
    atomic_write(path, text.as_bytes()).map_err(|e| write_error(path, e))
}

#[async_trait]
impl SnapshotStore for GitSnapshotStore {
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord> {
        let (store, tenant, snapshot) = (self.clone(), tenant.clone(), snapshot.clone());
        run_blocking(move || {
            let hash = snapshot.hash();
            let _lock = store.tree.lock()?;
            let object = store.tree.write_object(&snapshot, &hash)?;
            store.tree.create_tenant_dir(&tenant)?;
            let latest_path = store.latest_path(&tenant);
            let previous: Option<Latest> = read_json(&latest_path)?;
            let latest = Latest {
                hash: hash.clone(),
                saved_at: now_secs(),
                save: previous.map_or(0, |p| p.save) + 1,
            };
            write_json(&latest_path, &latest)?;
            let (object, latest_rel) = (store.relative(&object)?, store.relative(&latest_path)?);
            store.git.run(&["add", "--", &object, &latest_rel])?;
            let message = format!(
                "snapshot {} for tenant {:?}\n\nSnapshot-Hash: {hash}\nSnapshot-Saved-At: {}\nSnapshot-Save: {}\n",
                hash.short(),
                tenant.as_str(),
                latest.saved_at,
                latest.save
            );
            store.git.commit(&message, latest.saved_at)?;
            Ok(HistoryEntry {
                hash,
                saved_at: latest.saved_at,
            }
            .into_record(&tenant))
        })
        .await
    }

    async fn load(&self, _tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        let (tree, hash) = (self.tree.clone(), hash.clone());
        run_blocking(move || tree.read_object(&hash)).await
    }

    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>> {
        let (store, tenant) = (self.clone(), tenant.clone());
        run_blocking(move || {
            let mut records: Vec<_> = store
                .logged_saves(&store.tree.tenant_dir(&tenant))?
                .into_iter()
                .map(|s| s.entry.into_record(&tenant))
                .collect();
            attach_tags(&mut records, &store.tree.read_tags(&tenant)?);
            Ok(records)
        })
        .await
    }

    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()> {
        validate_tag(tag)?;
        let (store, tenant, hash, tag) =
            (self.clone(), tenant.clone(), hash.clone(), tag.to_string());
        run_blocking(move || {
            let _lock = store.tree.lock()?;
            if !store.tree.has_object(&hash) {
                return Err(unknown_tag_target(
                    store.object_path(&hash).display().to_string(),
                    &hash,
                    &tag,
                ));
            }
            let mut tags = store.tree.read_tags(&tenant)?;
            if tags.get(&tag) == Some(&hash) {
                return Ok(());
            }
            tags.insert(tag.clone(), hash.clone());
            let path = store.tree.write_tags(&tenant, &tags)?;
            store.git.run(&["add", "--", &store.relative(&path)?])?;
            let message = format!(
                "tag {} as {tag:?} for tenant {:?}\n",
                hash.short(),
                tenant.as_str()
            );
            store.git.commit(&message, now_secs())?;
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
impl PrunableStore for GitSnapshotStore {
    async fn prune(&self, tenant: &TenantId, keep_last: usize) -> Result<PruneReport> {
        let (store, tenant) = (self.clone(), tenant.clone());
        run_blocking(move || {
            let _lock = store.tree.lock()?;
            let dir = store.tree.tenant_dir(&tenant);
            let (dropped, _) = split_history(store.logged_saves(&dir)?, keep_last);
            let mut changed = Vec::new();
            if let Some(last) = dropped.last() {
                let path = dir.join(PRUNED);
                write_json(
                    &path,
                    &Pruned {
                        through_save: last.save,
                    },
                )?;
                changed.push(store.relative(&path)?);
            }
            let mut referenced = BTreeSet::new();
            for dir in store.tree.tenant_dirs()? {
                referenced.extend(store.logged_saves(&dir)?.into_iter().map(|s| s.entry.hash));
                referenced.extend(Tree::tagged_in(&dir)?);
            }
            let garbage = unreferenced(store.tree.object_hashes()?, &referenced);
            for hash in &garbage {
                store.tree.remove_object(hash)?;
            }
            if !garbage.is_empty() {
                // The whole directory: a removed object may never have been committed.
                changed.push("objects".to_string());
            }
            if !changed.is_empty() {
                let mut args = vec!["add", "--all", "--"];
                args.extend(changed.iter().map(String::as_str));
                store.git.run(&args)?;
                let message = format!(
                    "prune tenant {:?}: {} saves and {} snapshots removed\n",
                    tenant.as_str(),
                    dropped.len(),
                    garbage.len()
                );
                store.git.commit(&message, now_secs())?;
            }
            Ok(PruneReport {
                history_removed: dropped.len(),
                objects_removed: garbage.len(),
            })
        })
        .await
    }
}
