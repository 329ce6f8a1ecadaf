//! The snapshot store contract: content-addressed history of tenant snapshots.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::TenantId;

/// One saved snapshot in a tenant's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// The tenant.
    pub tenant: TenantId,
    /// The snapshot's content hash.
    pub hash: SnapshotHash,
    /// When it was saved, in seconds since the Unix epoch.
    pub saved_at: u64,
    /// Tags pointing at this snapshot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Saves, loads and lists snapshots by tenant and hash.
///
/// Saving is content-addressed (saving the same snapshot twice stores it once, though the
/// history records both saves) and atomic (a crash mid-save never leaves a snapshot that
/// later loads half-written). Loading verifies the content hash.
#[async_trait]
pub trait SnapshotStore: Send + Sync {
    /// Saves `snapshot` as the tenant's newest.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when the backend cannot write.
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord>;

    /// Loads the snapshot with `hash`, verifying its content.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when missing, unreadable or corrupt.
    async fn load(&self, tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot>;

    /// The tenant's saves, oldest first.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when the backend cannot be read.
    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>>;

    /// Points `tag` at `hash` for the tenant, moving it if it existed.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when the hash is unknown.
    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()>;

    /// The hash a tag points at.
    ///
    /// # Errors
    /// [`Error::Snapshot`](crate::Error::Snapshot) when the backend cannot be read.
    async fn resolve_tag(&self, tenant: &TenantId, tag: &str) -> Result<Option<SnapshotHash>>;

    /// The newest saved snapshot, if any.
    ///
    /// # Errors
    /// As [`history`](Self::history) and [`load`](Self::load).
    async fn latest(&self, tenant: &TenantId) -> Result<Option<(SnapshotRecord, SchemaSnapshot)>> {
        let Some(record) = self.history(tenant).await?.pop() else {
            return Ok(None);
        };
        let snapshot = self.load(tenant, &record.hash).await?;
        Ok(Some((record, snapshot)))
    }
}
