//! The file store against a real temporary directory.
#![cfg(feature = "file")]

#[macro_use]
mod common;

use std::fs;
use std::path::Path;

use async_trait::async_trait;
use schema_sync_core::{Error, Result, SnapshotHash, SnapshotStore, TenantId};
use schema_sync_snapshots::conformance::{StoreHooks, sample_snapshot};
use schema_sync_snapshots::{FileSnapshotStore, PrunableStore, open_prunable_store, open_store};
use tempfile::TempDir;

use common::{Backend, fail};

struct FileBackend {
    _dir: TempDir,
    store: FileSnapshotStore,
}

async fn file_backend() -> Result<FileBackend> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let store = FileSnapshotStore::open(dir.path().join("store"))?;
    Ok(FileBackend { _dir: dir, store })
}

fn stored_objects(root: &Path) -> Result<Vec<SnapshotHash>> {
    let mut hashes = Vec::new();
    for entry in fs::read_dir(root.join("objects")).map_err(fail)? {
        let name = entry
            .map_err(fail)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if let Some(stem) = name
            .strip_suffix(".json")
            .filter(|s| !s.starts_with(".tmp-"))
        {
            hashes.push(SnapshotHash::parse(stem)?);
        }
    }
    Ok(hashes)
}

#[async_trait]
impl StoreHooks for FileBackend {
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()> {
        fs::write(self.store.object_path(hash), bytes).map_err(fail)
    }

    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>> {
        stored_objects(self.store.root())
    }
}

impl Backend for FileBackend {
    fn store(&self) -> &dyn PrunableStore {
        &self.store
    }
}

conformance_tests!(file_backend());

fn tenant(id: &str) -> Result<TenantId> {
    TenantId::new(id)
}

#[tokio::test]
async fn the_directory_is_readable_json() -> Result<()> {
    let backend = file_backend().await?;
    let store = &backend.store;
    let t = tenant("acme")?;
    let snapshot = sample_snapshot("layout");
    let hash = store.save(&t, &snapshot).await?.hash;
    store.tag(&t, &hash, "baseline").await?;

    let object = fs::read_to_string(store.object_path(&hash)).map_err(fail)?;
    assert_eq!(object, snapshot.to_pretty_json() + "\n");
    assert_eq!(
        store.history_path(&t),
        store.root().join("tenants/acme/history.jsonl")
    );
    let history = fs::read_to_string(store.history_path(&t)).map_err(fail)?;
    assert!(
        history.starts_with(&format!("{{\"hash\":\"{hash}\",\"saved_at\":")),
        "{history}"
    );
    let tags = fs::read_to_string(store.tags_path(&t)).map_err(fail)?;
    assert_eq!(tags, format!("{{\n  \"baseline\": \"{hash}\"\n}}\n"));
    Ok(())
}

#[tokio::test]
async fn hostile_ids_stay_inside_their_directory() -> Result<()> {
    let backend = file_backend().await?;
    schema_sync_snapshots::conformance::hostile_tenant_ids_are_isolated(&backend.store).await?;
    let outside: Vec<_> = fs::read_dir(backend._dir.path())
        .map_err(fail)?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(
        outside,
        vec!["store"],
        "something was written beside the store"
    );
    let tenants = fs::read_dir(backend.store.root().join("tenants")).map_err(fail)?;
    for entry in tenants {
        let entry = entry.map_err(fail)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(['.', '/', '\\', '"', ' ']),
            "tenant directory {name:?}"
        );
        assert!(
            entry.path().join("history.jsonl").is_file(),
            "{name:?} has no history of its own"
        );
    }
    assert!(store_has_only_store_files(backend.store.root())?);
    Ok(())
}

/// The root holds the marker, objects/, tenants/, .gitignore and .lock, nothing else.
fn store_has_only_store_files(root: &Path) -> Result<bool> {
    let mut names: Vec<_> = fs::read_dir(root)
        .map_err(fail)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    Ok(names
        == [
            ".gitignore",
            ".lock",
            "objects",
            "schema-sync-store.json",
            "tenants",
        ])
}

#[tokio::test]
async fn a_torn_history_line_is_skipped_and_repaired() -> Result<()> {
    let backend = file_backend().await?;
    let store = &backend.store;
    let t = tenant("torn")?;
    let first = store.save(&t, &sample_snapshot("torn_1")).await?;
    // A crash in the middle of an append leaves a line without its newline.
    let path = store.history_path(&t);
    let mut text = fs::read_to_string(&path).map_err(fail)?;
    text.push_str("{\"hash\":\"ab");
    fs::write(&path, text).map_err(fail)?;
    assert_eq!(store.history(&t).await?, vec![first.clone()]);

    let second = store.save(&t, &sample_snapshot("torn_2")).await?;
    assert_eq!(store.history(&t).await?, vec![first, second]);
    assert_eq!(fs::read_to_string(&path).map_err(fail)?.lines().count(), 2);
    Ok(())
}

#[tokio::test]
async fn a_damaged_history_line_names_the_line() -> Result<()> {
    let backend = file_backend().await?;
    let store = &backend.store;
    let t = tenant("damaged")?;
    store.save(&t, &sample_snapshot("damaged")).await?;
    let path = store.history_path(&t);
    fs::write(&path, "not json\n").map_err(fail)?;
    let err = store.history(&t).await.err();
    assert!(
        matches!(&err, Some(Error::Snapshot { location, .. }) if location.ends_with("history.jsonl:1")),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn leftovers_of_a_crashed_write_are_ignored() -> Result<()> {
    let backend = file_backend().await?;
    let store = &backend.store;
    let t = tenant("crash")?;
    let hash = store.save(&t, &sample_snapshot("crash")).await?.hash;
    // A crash between writing the temporary file and renaming it.
    fs::write(
        store
            .root()
            .join("objects")
            .join(format!(".tmp-1-0-{hash}.json")),
        "{",
    )
    .map_err(fail)?;
    assert_eq!(stored_objects(store.root())?, vec![hash.clone()]);
    store.load(&t, &hash).await?;
    assert_eq!(store.prune(&t, 1).await?.objects_removed, 0);
    Ok(())
}

#[tokio::test]
async fn a_foreign_directory_is_refused() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    fs::write(dir.path().join("notes.txt"), "mine").map_err(fail)?;
    let err = FileSnapshotStore::open(dir.path()).err();
    assert!(
        matches!(&err, Some(Error::Snapshot { message, .. }) if message.contains("not a snapshot store")),
        "{err:?}"
    );
    assert_eq!(
        fs::read_dir(dir.path()).map_err(fail)?.count(),
        1,
        "the store wrote into a foreign directory"
    );
    Ok(())
}

#[tokio::test]
async fn opens_from_urls_and_plain_paths() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let root = dir.path().join("my store");
    let url = format!("file://{}", root.display()).replace(' ', "%20");
    let t = tenant("url")?;
    let snapshot = sample_snapshot("url");
    let hash = open_store(&url).await?.save(&t, &snapshot).await?.hash;
    let again = open_prunable_store(&root.display().to_string()).await?;
    assert_eq!(again.load(&t, &hash).await?, snapshot);
    assert_eq!(again.prune(&t, 0).await?.objects_removed, 1);
    Ok(())
}

#[tokio::test]
async fn concurrent_saves_all_land() -> Result<()> {
    let backend = file_backend().await?;
    let store = std::sync::Arc::new(backend.store.clone());
    let t = tenant("concurrent")?;
    let snapshots: Vec<_> = (0..4)
        .map(|i| sample_snapshot(&format!("concurrent_{i}")))
        .collect();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (store, t, snapshot) = (store.clone(), t.clone(), snapshots[i % 4].clone());
        tasks.push(tokio::spawn(async move { store.save(&t, &snapshot).await }));
    }
    for task in tasks {
        task.await.map_err(fail)??;
    }
    assert_eq!(store.history(&t).await?.len(), 16);
    assert_eq!(stored_objects(store.root())?.len(), 4);
    Ok(())
}
