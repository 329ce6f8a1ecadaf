//! [`S3SnapshotStore`]: snapshots on S3-compatible object storage, through `object_store`.
//!
//! ```text
//! <prefix>/objects/<hash>.json                              pretty snapshot per content hash
//! <prefix>/tenants/<encoded id>/history/<nanos>-<hash>.json  one object per save
//! <prefix>/tenants/<encoded id>/tags/<encoded tag>.json      {"hash": "…"} per tag
//! ```
//!
//! Object stores have no append and no transactions, but every put is atomic: a reader
//! sees the whole new object or none. So nothing is ever read-modified-written. A save
//! puts the snapshot object, then a new history object whose key starts with the save's
//! time in nanoseconds (zero-padded, so a listing is in save order); a tag is one object
//! of its own, replaced by a put. Two runners saving at once therefore never lose each
//! other's entries. Ids and tags are encoded as in the file store (`%XX`); object_store
//! escapes `%` on the wire, so any S3-compatible server accepts the keys.
//!
//! [`S3SnapshotStore::from_url`] takes `s3://bucket/prefix` and the usual AWS variables
//! (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
//! `AWS_ALLOW_HTTP` for a plain-HTTP endpoint such as a local MinIO or moto).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use schema_sync_core::{
    Error, Result, SchemaSnapshot, SnapshotHash, SnapshotRecord, SnapshotStore, TenantId,
};
use serde::{Deserialize, Serialize};

use crate::encode::{encode_segment, percent_decode};
use crate::error::{not_found, snapshot_error, snapshot_error_from, unknown_tag_target};
use crate::prune::{PrunableStore, PruneReport, split_history, unreferenced};
use crate::record::{HistoryEntry, TagMap, attach_tags, decode_object, validate_tag};

/// The body of a tag object.
#[derive(Serialize, Deserialize)]
struct TagObject {
    hash: SnapshotHash,
}

/// A history object: the key carries the order, the body repeats it for readers.
struct HistoryObject {
    key: Path,
    entry: HistoryEntry,
}

/// A snapshot store on S3-compatible object storage.
#[derive(Debug)]
pub struct S3SnapshotStore {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// The bucket as messages name it, for example `s3://bucket`.
    bucket: String,
    /// The last history key's time, so keys from this process strictly increase.
    last_nanos: std::sync::Mutex<u128>,
    /// Serialises this process's writes (prune against save).
    writes: tokio::sync::Mutex<()>,
}

impl S3SnapshotStore {
    /// A store under `prefix` (may be empty) of an already configured `store`; `bucket`
    /// names the bucket in messages, for example `s3://bucket`.
    ///
    /// # Errors
    /// [`Error::Config`] when `prefix` is not a valid object key prefix.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        prefix: &str,
        bucket: impl Into<String>,
    ) -> Result<Self> {
        let prefix = prefix.trim_matches('/').to_string();
        if !prefix.is_empty() {
            Path::parse(&prefix).map_err(|e| {
                Error::config(format!(
                    "invalid S3 prefix {prefix:?}: {e}; use slash-separated names without empty, `.` or `..` parts"
                ))
            })?;
        }
        Ok(Self {
            store,
            prefix,
            bucket: bucket.into(),
            last_nanos: std::sync::Mutex::new(0),
            writes: tokio::sync::Mutex::new(()),
        })
    }

    /// A store at `s3://bucket/prefix`, configured from the process's `AWS_*` variables.
    ///
    /// # Errors
    /// [`Error::Config`] when the URL or the configuration is invalid.
    pub fn from_url(url: &str) -> Result<Self> {
        Self::from_url_and_vars(url, std::env::vars())
    }

    /// As [`from_url`](Self::from_url), with these variables instead of the process
    /// environment (names as in the environment: `AWS_ENDPOINT_URL`, `AWS_REGION`, …).
    ///
    /// # Errors
    /// [`Error::Config`] when the URL or the configuration is invalid.
    pub fn from_url_and_vars(
        url: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| {
            Error::config(format!("{url:?} is not an S3 URL; use s3://bucket/prefix"))
        })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::config(format!(
                "S3 URL {url:?} names no bucket; use s3://bucket/prefix"
            )));
        }
        let mut builder = AmazonS3Builder::new();
        for (name, value) in vars {
            if !name.starts_with("AWS_") {
                continue;
            }
            if let Ok(key) = name.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(key, value);
            }
        }
        Self::from_builder(builder, bucket, prefix)
    }

    /// A store in `bucket` under `prefix`, from a builder configured by the caller.
    ///
    /// # Errors
    /// [`Error::Config`] when the builder's configuration is invalid.
    pub fn from_builder(builder: AmazonS3Builder, bucket: &str, prefix: &str) -> Result<Self> {
        let store = builder.with_bucket_name(bucket).build().map_err(|e| {
            Error::config(format!(
                "cannot configure the S3 store s3://{bucket}/{prefix}: {e}; check AWS_ENDPOINT_URL, AWS_REGION and the credentials (AWS_ALLOW_HTTP=true for an http:// endpoint)"
            ))
        })?;
        Self::new(Arc::new(store), prefix, format!("s3://{bucket}"))
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key of the object holding snapshot `hash`.
    pub fn object_key(&self, hash: &SnapshotHash) -> Path {
        self.key(&["objects", &format!("{hash}.json")])
    }

    fn key(&self, parts: &[&str]) -> Path {
        let mut key = self.prefix.clone();
        for part in parts {
            if !key.is_empty() {
                key.push('/');
            }
            key.push_str(part);
        }
        // Every part is a hash, a fixed name or an encoded id: always a valid key.
        Path::parse(&key).unwrap_or_else(|_| Path::from(key.as_str()))
    }

    fn tenant_key(&self, tenant: &TenantId, part: &str) -> Path {
        self.key(&["tenants", &encode_segment(tenant.as_str()), part])
    }

    fn tag_key(&self, tenant: &TenantId, tag: &str) -> Path {
        let name = format!("{}.json", encode_segment(tag));
        self.key(&["tenants", &encode_segment(tenant.as_str()), "tags", &name])
    }

    /// Where the store lives: `s3://bucket/prefix`.
    pub fn location(&self) -> String {
        if self.prefix.is_empty() {
            self.bucket.clone()
        } else {
            format!("{}/{}", self.bucket, self.prefix)
        }
    }

    fn describe(&self, key: &Path) -> String {
        format!("{}/{key}", self.bucket)
    }

    fn io_error(&self, key: &Path, what: &str, e: object_store::Error) -> Error {
        snapshot_error_from(
            self.describe(key),
            format!(
                "cannot {what}; check the endpoint, the bucket and the credentials (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
            ),
            e,
        )
    }

    async fn put(&self, key: &Path, body: String) -> Result<()> {
        self.store
            .put(key, PutPayload::from(body))
            .await
            .map(|_| ())
            .map_err(|e| self.io_error(key, "write", e))
    }

    /// The object's text, or `None` when it does not exist.
    async fn get_text(&self, key: &Path) -> Result<Option<String>> {
        let bytes = match self.store.get(key).await {
            Ok(result) => result
                .bytes()
                .await
                .map_err(|e| self.io_error(key, "read", e))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.io_error(key, "read", e)),
        };
        String::from_utf8(bytes.to_vec()).map(Some).map_err(|e| {
            snapshot_error_from(
                self.describe(key),
                "is not UTF-8 text, so it was modified or damaged; restore it from a backup or save the snapshot again",
                e,
            )
        })
    }

    async fn list(&self, prefix: &Path) -> Result<Vec<Path>> {
        let metas: Vec<_> = self
            .store
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|e| self.io_error(prefix, "list", e))?;
        let mut keys: Vec<Path> = metas.into_iter().map(|m| m.location).collect();
        keys.sort();
        Ok(keys)
    }

    /// A nanosecond timestamp greater than any this process used before.
    fn next_nanos(&self) -> u128 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut last = match self.last_nanos.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *last = now.max(*last + 1);
        *last
    }

    async fn history_objects(&self, tenant: &TenantId) -> Result<Vec<HistoryObject>> {
        let keys = self.list(&self.tenant_key(tenant, "history")).await?;
        keys.into_iter()
            .map(|key| {
                let entry = parse_history_name(key.filename().unwrap_or_default())
                    .ok_or_else(|| {
                        snapshot_error(
                            self.describe(&key),
                            "is not a history object (<nanoseconds>-<hash>.json); delete it or move it out of the store's prefix",
                        )
                    })?;
                Ok(HistoryObject { key, entry })
            })
            .collect()
    }

    async fn tags(&self, tenant: &TenantId) -> Result<TagMap> {
        let mut tags = TagMap::new();
        for key in self
            .list(&self.key(&["tenants", &encode_segment(tenant.as_str()), "tags"]))
            .await?
        {
            let name = key
                .filename()
                .and_then(|f| f.strip_suffix(".json"))
                .and_then(percent_decode);
            if let (Some(name), Some(hash)) = (name, self.read_tag(&key).await?) {
                tags.insert(name, hash);
            }
        }
        Ok(tags)
    }

    async fn read_tag(&self, key: &Path) -> Result<Option<SnapshotHash>> {
        let Some(text) = self.get_text(key).await? else {
            return Ok(None);
        };
        let tag: TagObject = serde_json::from_str(&text).map_err(|e| {
            snapshot_error_from(
                self.describe(key),
                "is not a tag object ({\"hash\": \"…\"}); tag the snapshot again to replace it",
                e,
            )
        })?;
        Ok(Some(tag.hash))
    }
}

/// Parses `<nanoseconds>-<hash>.json`.
fn parse_history_name(name: &str) -> Option<HistoryEntry> {
    let (nanos, hash) = name.strip_suffix(".json")?.split_once('-')?;
    let nanos: u128 = nanos.parse().ok()?;
    Some(HistoryEntry {
        hash: SnapshotHash::parse(hash).ok()?,
        saved_at: u64::try_from(nanos / 1_000_000_000).ok()?,
    })
}

#[async_trait]
impl SnapshotStore for S3SnapshotStore {
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord> {
        let _writing = self.writes.lock().await;
        let hash = snapshot.hash();
        self.put(&self.object_key(&hash), snapshot.to_pretty_json() + "\n")
            .await?;
        let nanos = self.next_nanos();
        let entry = HistoryEntry {
            hash: hash.clone(),
            saved_at: u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
        };
        let key = self.key(&[
            "tenants",
            &encode_segment(tenant.as_str()),
            "history",
            &format!("{nanos:020}-{hash}.json"),
        ]);
        // A struct of a string and a number always serialises.
        self.put(
            &key,
            serde_json::to_string(&entry).unwrap_or_default() + "\n",
        )
        .await?;
        Ok(entry.into_record(tenant))
    }

    async fn load(&self, _tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        let key = self.object_key(hash);
        match self.get_text(&key).await? {
            Some(text) => decode_object(&text, hash, &self.describe(&key)),
            None => Err(not_found(self.describe(&key), hash)),
        }
    }

    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>> {
        let mut records: Vec<_> = self
            .history_objects(tenant)
            .await?
            .into_iter()
            .map(|o| o.entry.into_record(tenant))
            .collect();
        attach_tags(&mut records, &self.tags(tenant).await?);
        Ok(records)
    }

    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()> {
        validate_tag(tag)?;
        let _writing = self.writes.lock().await;
        let object = self.object_key(hash);
        match self.store.head(&object).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(unknown_tag_target(self.describe(&object), hash, tag));
            }
            Err(e) => return Err(self.io_error(&object, "read", e)),
        }
        let body =
            serde_json::to_string(&TagObject { hash: hash.clone() }).unwrap_or_default() + "\n";
        self.put(&self.tag_key(tenant, tag), body).await
    }

    async fn resolve_tag(&self, tenant: &TenantId, tag: &str) -> Result<Option<SnapshotHash>> {
        self.read_tag(&self.tag_key(tenant, tag)).await
    }
}

#[async_trait]
impl PrunableStore for S3SnapshotStore {
    async fn prune(&self, tenant: &TenantId, keep_last: usize) -> Result<PruneReport> {
        let _writing = self.writes.lock().await;
        let (dropped, _) = split_history(self.history_objects(tenant).await?, keep_last);
        for object in &dropped {
            self.store
                .delete(&object.key)
                .await
                .map_err(|e| self.io_error(&object.key, "delete", e))?;
        }

        let mut referenced = BTreeSet::new();
        for key in self.list(&self.key(&["tenants"])).await? {
            let parts: Vec<_> = key.parts().collect();
            let parent = parts.len().checked_sub(2).and_then(|i| parts.get(i));
            match parent.map(|p| p.as_ref()) {
                Some("history") => {
                    if let Some(entry) = parse_history_name(key.filename().unwrap_or_default()) {
                        referenced.insert(entry.hash);
                    }
                }
                Some("tags") => referenced.extend(self.read_tag(&key).await?),
                _ => {}
            }
        }
        let stored = self
            .list(&self.key(&["objects"]))
            .await?
            .iter()
            .filter_map(|key| key.filename()?.strip_suffix(".json").map(str::to_string))
            .filter_map(|stem| SnapshotHash::parse(&stem).ok())
            .collect::<Vec<_>>();
        let garbage = unreferenced(stored, &referenced);
        for hash in &garbage {
            let key = self.object_key(hash);
            self.store
                .delete(&key)
                .await
                .map_err(|e| self.io_error(&key, "delete", e))?;
        }
        Ok(PruneReport {
            history_removed: dropped.len(),
            objects_removed: garbage.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_names_round_trip() {
        let hash = SchemaSnapshot::empty().hash();
        let entry = parse_history_name(&format!(
            "{:020}-{hash}.json",
            1_700_000_000_123_456_789u128
        ));
        assert_eq!(
            entry,
            Some(HistoryEntry {
                hash,
                saved_at: 1_700_000_000
            })
        );
        assert_eq!(parse_history_name("x-y.json"), None);
    }

    #[test]
    fn urls_and_keys() -> Result<()> {
        let vars = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "k"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let store = S3SnapshotStore::from_url_and_vars("s3://bucket/some/prefix/", vars.clone())?;
        assert_eq!(store.location(), "s3://bucket/some/prefix");
        let tenant = TenantId::new("../a b")?;
        assert_eq!(
            store.tenant_key(&tenant, "history").as_ref(),
            "some/prefix/tenants/%2E%2E%2Fa%20b/history"
        );
        let bare = S3SnapshotStore::from_url_and_vars("s3://bucket", vars.clone())?;
        assert_eq!(
            bare.object_key(&SchemaSnapshot::empty().hash())
                .as_ref()
                .split('/')
                .next(),
            Some("objects")
        );
        assert!(S3SnapshotStore::from_url_and_vars("s3:///prefix", vars.clone()).is_err());
        assert!(S3SnapshotStore::from_url_and_vars("s3://bucket/a//b", vars).is_err());
        Ok(())
    }
}
