//! Deleting by policy: keep a tenant's newest saves, drop what nothing refers to.
//!
//! The core [`SnapshotStore`] trait has no delete, because the engine never needs one.
//! Pruning is an operator's job, so it lives here as [`PrunableStore`], implemented by
//! every backend of this crate. The policy is the same everywhere and decided once, in
//! [`split_history`] and [`unreferenced`]:
//!
//! 1. the tenant's history keeps its newest `keep_last` entries;
//! 2. a snapshot object is deleted only when no history entry and no tag of *any* tenant
//!    refers to it (objects are shared: tenants with equal schemas store one object), so
//!    a tagged snapshot (`baseline`) survives pruning of the saves that produced it.

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
use std::collections::BTreeSet;

use async_trait::async_trait;
#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
use schema_sync_core::SnapshotHash;
use schema_sync_core::{Result, SnapshotStore, TenantId};
use serde::Serialize;

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// History entries of the tenant that were dropped.
    pub history_removed: usize,
    /// Snapshot objects that no history entry or tag referred to any more, and were deleted.
    pub objects_removed: usize,
}

/// A [`SnapshotStore`] that can delete old history by policy.
#[async_trait]
pub trait PrunableStore: SnapshotStore {
    /// Keeps the newest `keep_last` entries of the tenant's history and deletes the
    /// snapshot objects that no history entry or tag of any tenant refers to any more.
    ///
    /// Tags are kept, and so are the snapshots they point at. Run it when no save to the
    /// same store is in progress in another process: object stores cannot lock, so a save
    /// racing a prune may find its object deleted.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the store cannot be read
    /// or written.
    async fn prune(&self, tenant: &TenantId, keep_last: usize) -> Result<PruneReport>;
}

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
/// Splits a history, oldest first, into `(dropped, kept)` where `kept` holds the newest
/// `keep_last` entries.
pub(crate) fn split_history<T>(mut entries: Vec<T>, keep_last: usize) -> (Vec<T>, Vec<T>) {
    let cut = entries.len().saturating_sub(keep_last);
    let kept = entries.split_off(cut);
    (entries, kept)
}

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
/// The stored objects that are not in `referenced`.
pub(crate) fn unreferenced(
    stored: impl IntoIterator<Item = SnapshotHash>,
    referenced: &BTreeSet<SnapshotHash>,
) -> Vec<SnapshotHash> {
    stored
        .into_iter()
        .filter(|hash| !referenced.contains(hash))
        .collect()
}

#[cfg(all(test, any(feature = "file", feature = "git", feature = "s3")))]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest() {
        assert_eq!(split_history(vec![1, 2, 3, 4], 2), (vec![1, 2], vec![3, 4]));
        assert_eq!(split_history(vec![1, 2], 5), (vec![], vec![1, 2]));
        assert_eq!(split_history(vec![1, 2], 0), (vec![1, 2], vec![]));
    }
}
