//! Where the snapshot cache of a run lives, and opening it.
//!
//! The cache ([`schema_sync_core::cache`]) is used only by adapters whose change cookies
//! a test proves complete (PostgreSQL, SQLite); the others ignore it. It is a local
//! directory: `--cache-dir` (or `SCHEMA_SYNC_CACHE_DIR`, or the `cache_dir` key), else
//! `cache/` inside a `file://` snapshot store, else the user's cache directory. Each
//! database gets its own scope inside it, named by the adapter, the URL without its
//! secrets, whether privileges are compared, this program's version and its snapshot format
//! (a new version may inspect differently, so it starts afresh).

use std::path::PathBuf;
use std::sync::Arc;

use etcetera::BaseStrategy;
use schema_sync_core::{SnapshotCache, redact_url};
use schema_sync_snapshots::DirectorySnapshotCache;

use crate::config::Settings;

/// Opens the cache for a run on `adapter` (its short name) at `url`, or `None` when
/// there is no directory to keep it in. Each server of a run has its own scope.
pub fn open(settings: &Settings, adapter: &str, url: &str) -> Option<Arc<dyn SnapshotCache>> {
    let root = root(settings)?;
    let url = redact_url(url);
    let scope = format!(
        "schema-sync {} snapshot format {} {adapter} {url} privileges={}",
        env!("CARGO_PKG_VERSION"),
        schema_sync_core::snapshot::SNAPSHOT_FORMAT_VERSION,
        settings.include_privileges
    );
    Some(Arc::new(DirectorySnapshotCache::open(&root, &scope)))
}

/// The cache directory in force.
fn root(settings: &Settings) -> Option<PathBuf> {
    if let Some(dir) = &settings.cache_dir {
        return Some(dir.clone());
    }
    if let Some(dir) = settings
        .snapshot_store
        .as_deref()
        .and_then(|url| url.strip_prefix("file://"))
    {
        return Some(PathBuf::from(dir).join("cache"));
    }
    etcetera::choose_base_strategy()
        .ok()
        .map(|strategy| strategy.cache_dir().join("schema-sync"))
}

/// Writes the cache after a run. A cache that cannot be written never fails the run: it
/// only costs the next run a full read, so this warns and carries on.
pub async fn flush(cache: Option<&Arc<dyn SnapshotCache>>, quiet: bool) {
    let Some(cache) = cache else {
        return;
    };
    if let Err(error) = cache.flush().await
        && !quiet
    {
        anstream::eprintln!("warning: {}", crate::output::message::core_error(&error));
    }
}
