//! The snapshot cache: a tenant whose change cookie has not moved since its last
//! inspection is not inspected again.
//!
//! A [`ChangeCookie`] is a cheap value an adapter reads from a tenant (SQLite: a hash of
//! `sqlite_schema`; PostgreSQL: a fingerprint of the transaction ids of the tenant's
//! catalog rows) that changes whenever anything its snapshot is made of changes. The
//! engine reads the cookies of a batch *before* inspecting it, and records each
//! inspected snapshot under the cookie read before it: a change that lands between the
//! two moves the cookie past the recorded one, so the next run reads the tenant again.
//! A recorded cookie can therefore only ever be older than its snapshot, never newer.
//!
//! An adapter offers cookies only where a test proves that every kind of change it models
//! moves them ([`SchemaInspector::change_cookies`](crate::SchemaInspector::change_cookies));
//! where it cannot prove that (MySQL), there is no cache.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::snapshot::{SchemaSnapshot, SnapshotHash};

/// A value read cheaply from a tenant that changes whenever its schema does. Opaque:
/// only equality means anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChangeCookie(String);

impl ChangeCookie {
    /// A cookie from the text an adapter read.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChangeCookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A snapshot found in the cache, with its hash (so that it need not be hashed again).
#[derive(Debug, Clone)]
pub struct CachedSnapshot {
    /// The snapshot recorded under the cookie.
    pub snapshot: Arc<SchemaSnapshot>,
    /// Its hash.
    pub hash: SnapshotHash,
}

/// Remembers, per tenant namespace, the last inspected snapshot and the cookie read
/// before it. One cache serves one database (its scope is chosen when it is opened).
///
/// Failures to read or write a cache must never fail a run: the engine inspects instead.
/// So `lookup` answers `None` for anything it cannot read, and only
/// [`flush`](Self::flush) reports errors.
#[async_trait]
pub trait SnapshotCache: Send + Sync {
    /// The snapshot recorded for `namespace`, if it was recorded under `cookie`.
    async fn lookup(&self, namespace: &str, cookie: &ChangeCookie) -> Option<CachedSnapshot>;

    /// Records that `namespace` had `snapshot` (hash `hash`) when its cookie was `cookie`.
    async fn record(
        &self,
        namespace: &str,
        cookie: &ChangeCookie,
        snapshot: &Arc<SchemaSnapshot>,
        hash: &SnapshotHash,
    );

    /// Forgets `namespace` (it changed under a lock, or no longer exists).
    async fn forget(&self, namespace: &str);

    /// Whether `namespace` may have an entry, under any cookie. `false` lets the engine
    /// skip reading the tenant's cookie before inspecting it, where the adapter returns
    /// cookies with its inspections
    /// ([`cookies_with_inspection`](crate::SchemaInspector::cookies_with_inspection)).
    /// The default, `true`, is always correct.
    fn may_have(&self, namespace: &str) -> bool {
        let _ = namespace;
        true
    }

    /// Writes whatever is buffered.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when the cache cannot be written.
    async fn flush(&self) -> Result<()>;
}

/// A cache held in memory for the life of the process (tests, and long-running
/// programs that validate the same fleet again and again).
#[derive(Debug, Default)]
pub struct MemorySnapshotCache {
    entries: Mutex<HashMap<String, (ChangeCookie, CachedSnapshot)>>,
}

impl MemorySnapshotCache {
    /// How many namespaces have an entry.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether no namespace has an entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl SnapshotCache for MemorySnapshotCache {
    async fn lookup(&self, namespace: &str, cookie: &ChangeCookie) -> Option<CachedSnapshot> {
        let entries = self.entries.lock().ok()?;
        let (recorded, cached) = entries.get(namespace)?;
        (recorded == cookie).then(|| cached.clone())
    }

    async fn record(
        &self,
        namespace: &str,
        cookie: &ChangeCookie,
        snapshot: &Arc<SchemaSnapshot>,
        hash: &SnapshotHash,
    ) {
        if let Ok(mut entries) = self.entries.lock() {
            let cached = CachedSnapshot {
                snapshot: snapshot.clone(),
                hash: hash.clone(),
            };
            entries.insert(namespace.to_string(), (cookie.clone(), cached));
        }
    }

    async fn forget(&self, namespace: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(namespace);
        }
    }

    fn may_have(&self, namespace: &str) -> bool {
        self.entries
            .lock()
            .map_or(true, |e| e.contains_key(namespace))
    }

    async fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_snapshot_is_found_only_under_the_cookie_it_was_recorded_with() {
        let cache = MemorySnapshotCache::default();
        let snapshot = Arc::new(SchemaSnapshot::empty());
        let hash = snapshot.hash();
        let (old, new) = (ChangeCookie::new("1"), ChangeCookie::new("2"));
        assert!(cache.lookup("t1", &old).await.is_none());
        cache.record("t1", &old, &snapshot, &hash).await;
        assert_eq!(cache.lookup("t1", &old).await.map(|c| c.hash), Some(hash));
        assert!(cache.lookup("t1", &new).await.is_none());
        assert!(cache.lookup("t2", &old).await.is_none());
        cache.forget("t1").await;
        assert!(cache.lookup("t1", &old).await.is_none());
        assert!(cache.is_empty());
    }
}
