//! A [`SnapshotCache`] in a local directory: what lets a repeated `validate` of an
//! unchanged fleet cost little more than reading each tenant's change cookie.
//!
//! One directory per scope (the database it describes), named by the blake3 hash of the
//! scope, so that caches of different servers never mix:
//!
//! ```text
//! <dir>/<scope hash>/index.json        {"version":1,"scope":"...","entries":{namespace:{cookie,hash}}}
//! <dir>/<scope hash>/objects/<hash>.json   one compact snapshot per distinct hash
//! ```
//!
//! Snapshots are content-addressed, so a fleet on one schema stores it once. Nothing in
//! the cache is trusted blindly: an object is parsed and its hash recomputed before use,
//! and anything that does not check out is a miss (the tenant is inspected). Files are
//! replaced by rename, never rewritten in place, but not fsynced: a cache lost in a crash
//! only costs a full read. Two processes sharing a cache can each overwrite the other's
//! index, which loses entries, never pairs a cookie with the wrong snapshot: every entry
//! is a pair recorded together.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use schema_sync_core::cache::{CachedSnapshot, ChangeCookie, SnapshotCache};
use schema_sync_core::{Result, SchemaSnapshot, SnapshotHash};
use serde::{Deserialize, Serialize};

use crate::error::snapshot_error_from;

/// The version of `index.json`; another version is read as empty.
const INDEX_VERSION: u32 = 1;

/// One tenant's entry: the cookie read before the inspection, and the snapshot's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    cookie: ChangeCookie,
    hash: SnapshotHash,
}

/// `index.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    scope: String,
    entries: BTreeMap<String, Entry>,
}

/// What the cache holds in memory.
#[derive(Default)]
struct State {
    entries: BTreeMap<String, Entry>,
    /// Objects parsed (and checked) in this process, by hash, while some tenant of the run
    /// still holds them: tenants of one shape share one parse, and a fleet's thousands of
    /// distinct snapshots are not all kept to the end of the run.
    loaded: HashMap<SnapshotHash, Weak<SchemaSnapshot>>,
    /// Objects known to be on disk.
    written: HashSet<SnapshotHash>,
    /// Whether `entries` changed since the index was read.
    dirty: bool,
}

/// A snapshot cache in a directory of its own (see the module documentation).
pub struct DirectorySnapshotCache {
    dir: PathBuf,
    scope: String,
    state: Mutex<State>,
}

impl DirectorySnapshotCache {
    /// Opens the cache of `scope` (text naming the database, without secrets) under
    /// `root`, reading its index. A missing or unreadable index is an empty cache.
    pub fn open(root: &Path, scope: &str) -> Self {
        let dir = root.join(blake3::hash(scope.as_bytes()).to_hex().as_str());
        let entries = fs::read_to_string(dir.join("index.json"))
            .ok()
            .and_then(|text| serde_json::from_str::<Index>(&text).ok())
            .filter(|index| index.version == INDEX_VERSION && index.scope == scope)
            .map(|index| index.entries)
            .unwrap_or_default();
        Self {
            dir,
            scope: scope.to_string(),
            state: Mutex::new(State {
                entries,
                ..State::default()
            }),
        }
    }

    /// The directory of this scope.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many tenants have an entry.
    pub fn len(&self) -> usize {
        self.with_state(|s| s.entries.len())
    }

    /// Whether no tenant has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    fn object_path(&self, hash: &SnapshotHash) -> PathBuf {
        self.dir
            .join("objects")
            .join(format!("{}.json", hash.as_str()))
    }

    /// Reads and checks one object; `None` when missing or not what its name says.
    fn read_object(&self, hash: &SnapshotHash) -> Option<Arc<SchemaSnapshot>> {
        let path = self.object_path(hash);
        let text = fs::read_to_string(&path).ok()?;
        let snapshot = SchemaSnapshot::from_json(&text, &path.display().to_string()).ok()?;
        (&snapshot.hash() == hash).then(|| Arc::new(snapshot))
    }
}

#[async_trait]
impl SnapshotCache for DirectorySnapshotCache {
    async fn lookup(&self, namespace: &str, cookie: &ChangeCookie) -> Option<CachedSnapshot> {
        let (hash, loaded) = self.with_state(|s| {
            let entry = s.entries.get(namespace).filter(|e| &e.cookie == cookie)?;
            let loaded = s.loaded.get(&entry.hash).and_then(Weak::upgrade);
            Some((entry.hash.clone(), loaded))
        })?;
        let snapshot = match loaded {
            Some(snapshot) => snapshot,
            None => {
                let snapshot = self.read_object(&hash)?;
                self.with_state(|s| {
                    s.written.insert(hash.clone());
                    // Another lookup may have parsed it meanwhile: share that one.
                    let live = s.loaded.get(&hash).and_then(Weak::upgrade);
                    let shared = live.unwrap_or(snapshot);
                    s.loaded.insert(hash.clone(), Arc::downgrade(&shared));
                    shared
                })
            }
        };
        Some(CachedSnapshot { snapshot, hash })
    }

    async fn record(
        &self,
        namespace: &str,
        cookie: &ChangeCookie,
        snapshot: &Arc<SchemaSnapshot>,
        hash: &SnapshotHash,
    ) {
        let write = self.with_state(|s| s.written.insert(hash.clone()));
        if write && !self.object_path(hash).is_file() {
            let json = serde_json::to_string(snapshot.as_ref()).unwrap_or_default();
            if replace_file(&self.object_path(hash), json.as_bytes()).is_err() {
                // Without its object the entry would be a miss anyway.
                self.with_state(|s| s.written.remove(hash));
                return;
            }
        }
        self.with_state(|s| {
            let entry = Entry {
                cookie: cookie.clone(),
                hash: hash.clone(),
            };
            if s.entries.get(namespace) != Some(&entry) {
                s.entries.insert(namespace.to_string(), entry);
                s.dirty = true;
            }
        });
    }

    async fn forget(&self, namespace: &str) {
        self.with_state(|s| {
            if s.entries.remove(namespace).is_some() {
                s.dirty = true;
            }
        });
    }

    fn may_have(&self, namespace: &str) -> bool {
        self.with_state(|s| s.entries.contains_key(namespace))
    }

    async fn flush(&self) -> Result<()> {
        let index = self.with_state(|s| {
            if !s.dirty {
                return None;
            }
            s.dirty = false;
            Some(Index {
                version: INDEX_VERSION,
                scope: self.scope.clone(),
                entries: s.entries.clone(),
            })
        });
        let Some(index) = index else {
            return Ok(());
        };
        let location = self.dir.display().to_string();
        let json = serde_json::to_vec(&index)
            .map_err(|e| snapshot_error_from(&location, "cannot encode the cache index", e))?;
        replace_file(&self.dir.join("index.json"), &json).map_err(|e| {
            snapshot_error_from(
                &location,
                "cannot write the snapshot cache; check the directory's permissions, or run with --no-cache",
                e,
            )
        })?;
        prune_objects(&self.dir.join("objects"), &index.entries);
        Ok(())
    }
}

/// Removes objects no entry refers to. Best effort: another process's index may still
/// name one removed here, which is then a miss for it, never a wrong answer.
fn prune_objects(objects: &Path, entries: &BTreeMap<String, Entry>) {
    let referenced: HashSet<String> = entries
        .values()
        .map(|e| format!("{}.json", e.hash.as_str()))
        .collect();
    let Ok(listing) = fs::read_dir(objects) else {
        return;
    };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !referenced.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Replaces `path` with `bytes` by writing a temporary file beside it and renaming it
/// over `path`, creating the directory if needed. Not fsynced: see the module docs.
fn replace_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no parent directory"))?;
    fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::write(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_sync_core::testing::{TableBuilder, snapshot};

    fn sample() -> Arc<SchemaSnapshot> {
        Arc::new(snapshot([(
            "orders",
            TableBuilder::new().column("id", "integer", true).build(),
        )]))
    }

    #[tokio::test]
    async fn entries_survive_a_reopen_and_only_match_their_own_cookie() -> Result<()> {
        let root = tempfile::tempdir().map_err(|e| snapshot_error_from("tmp", "tempdir", e))?;
        let snapshot = sample();
        let hash = snapshot.hash();
        let cookie = ChangeCookie::new("c1");
        let cache = DirectorySnapshotCache::open(root.path(), "postgres a");
        cache.record("t1", &cookie, &snapshot, &hash).await;
        cache.record("t2", &cookie, &snapshot, &hash).await;
        cache.flush().await?;

        let reopened = DirectorySnapshotCache::open(root.path(), "postgres a");
        assert_eq!(reopened.len(), 2);
        let found = reopened.lookup("t1", &cookie).await;
        assert_eq!(found.map(|c| c.hash), Some(hash.clone()));
        assert!(
            reopened
                .lookup("t1", &ChangeCookie::new("c2"))
                .await
                .is_none()
        );
        assert!(
            DirectorySnapshotCache::open(root.path(), "postgres b").is_empty(),
            "another scope shares nothing"
        );
        let objects = fs::read_dir(reopened.dir().join("objects"))
            .map(|d| d.count())
            .unwrap_or_default();
        assert_eq!(objects, 1, "one object for equal snapshots");
        Ok(())
    }

    #[tokio::test]
    async fn a_damaged_object_or_index_is_a_miss_not_an_answer() -> Result<()> {
        let root = tempfile::tempdir().map_err(|e| snapshot_error_from("tmp", "tempdir", e))?;
        let snapshot = sample();
        let hash = snapshot.hash();
        let cookie = ChangeCookie::new("c1");
        let cache = DirectorySnapshotCache::open(root.path(), "s");
        cache.record("t1", &cookie, &snapshot, &hash).await;
        cache.flush().await?;
        let object = cache.object_path(&hash);
        let other = serde_json::to_string(&SchemaSnapshot::empty()).unwrap_or_default();
        fs::write(&object, other).map_err(|e| snapshot_error_from("obj", "write", e))?;
        let reopened = DirectorySnapshotCache::open(root.path(), "s");
        assert!(reopened.lookup("t1", &cookie).await.is_none());

        fs::write(reopened.dir().join("index.json"), "{not json")
            .map_err(|e| snapshot_error_from("index", "write", e))?;
        assert!(DirectorySnapshotCache::open(root.path(), "s").is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn forgotten_tenants_and_their_objects_go_at_flush() -> Result<()> {
        let root = tempfile::tempdir().map_err(|e| snapshot_error_from("tmp", "tempdir", e))?;
        let snapshot = sample();
        let hash = snapshot.hash();
        let cache = DirectorySnapshotCache::open(root.path(), "s");
        cache
            .record("t1", &ChangeCookie::new("c"), &snapshot, &hash)
            .await;
        cache.flush().await?;
        cache.forget("t1").await;
        cache.flush().await?;
        assert!(!cache.object_path(&hash).exists());
        assert!(DirectorySnapshotCache::open(root.path(), "s").is_empty());
        Ok(())
    }
}
