//! The database store on a real SQLite file.
#![cfg(feature = "sqlite")]

#[macro_use]
mod common;

use std::path::PathBuf;

use async_trait::async_trait;
use schema_sync_core::{Error, Result, SnapshotHash, TenantId};
use schema_sync_snapshots::conformance::{StoreHooks, sample_snapshot};
use schema_sync_snapshots::{DatabaseSnapshotStore, PrunableStore, open_store};
use tempfile::TempDir;

use common::{Backend, fail};

struct SqliteBackend {
    _dir: TempDir,
    path: PathBuf,
    store: DatabaseSnapshotStore,
}

async fn sqlite_backend() -> Result<SqliteBackend> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("snapshots.db");
    let store = DatabaseSnapshotStore::open_sqlite(&path).await?;
    Ok(SqliteBackend {
        _dir: dir,
        path,
        store,
    })
}

/// Runs `work` on a connection of the test's own, off the async executor.
async fn with_db<T: Send + 'static>(
    path: PathBuf,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let connection = rusqlite::Connection::open(path).map_err(fail)?;
        work(&connection).map_err(fail)
    })
    .await
    .map_err(fail)?
}

#[async_trait]
impl StoreHooks for SqliteBackend {
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()> {
        let (hash, body) = (
            hash.to_string(),
            String::from_utf8_lossy(&bytes).into_owned(),
        );
        let n = with_db(self.path.clone(), move |db| {
            db.execute(
                "UPDATE schema_sync_snapshots SET body = ?1 WHERE hash = ?2",
                [body, hash],
            )
        })
        .await?;
        if n == 1 {
            Ok(())
        } else {
            Err(fail("no object row to damage"))
        }
    }

    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>> {
        let hashes = with_db(self.path.clone(), |db| {
            let mut statement = db.prepare("SELECT hash FROM schema_sync_snapshots")?;
            let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await?;
        hashes.iter().map(|h| SnapshotHash::parse(h)).collect()
    }
}

impl Backend for SqliteBackend {
    fn store(&self) -> &dyn PrunableStore {
        &self.store
    }
}

conformance_tests!(sqlite_backend());

#[tokio::test]
async fn the_url_opens_the_same_file_and_the_tables_are_versioned() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let path = dir.path().join("store.db");
    let url = format!("sqlite://{}", path.display());
    let t = TenantId::new("acme")?;
    let snapshot = sample_snapshot("sqlite_url");
    let hash = open_store(&url).await?.save(&t, &snapshot).await?.hash;
    let again = open_store(&url).await?;
    assert_eq!(again.load(&t, &hash).await?, snapshot);
    let versions = with_db(path.clone(), |db| {
        db.query_row(
            "SELECT COUNT(*), MAX(version) FROM schema_sync_store_version",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )
    })
    .await?;
    assert_eq!(versions, (1, 1), "opening twice migrates once");
    Ok(())
}

#[tokio::test]
async fn a_newer_store_is_refused() -> Result<()> {
    let backend = sqlite_backend().await?;
    with_db(backend.path.clone(), |db| {
        db.execute(
            "INSERT INTO schema_sync_store_version (version, applied_at) VALUES (99, 0)",
            [],
        )
    })
    .await?;
    let err = DatabaseSnapshotStore::open_sqlite(&backend.path)
        .await
        .err();
    assert!(
        matches!(&err, Some(Error::Snapshot { message, .. }) if message.contains("version 99") && message.contains("upgrade")),
        "{err:?}"
    );
    Ok(())
}

#[tokio::test]
async fn an_unopenable_file_is_a_connection_error() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let err = DatabaseSnapshotStore::open_sqlite(dir.path().join("missing/dir/x.db"))
        .await
        .err();
    assert!(
        matches!(&err, Some(Error::Connection { target, .. }) if target.contains("missing/dir")),
        "{err:?}"
    );
    Ok(())
}
