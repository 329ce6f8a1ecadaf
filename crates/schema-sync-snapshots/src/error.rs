//! Building [`Error::Snapshot`] values that name where the problem is and what to do.
//!
//! Every backend reports through these helpers so that the same failure (a missing
//! object, a corrupt one, an unreadable history) reads the same whatever the store.

use schema_sync_core::{BoxError, Error, SnapshotHash};

/// An [`Error::Snapshot`] without an underlying error.
pub(crate) fn snapshot_error(location: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Snapshot {
        location: location.into(),
        message: message.into(),
        source: None,
    }
}

/// An [`Error::Snapshot`] that keeps `source` chained.
pub(crate) fn snapshot_error_from(
    location: impl Into<String>,
    message: impl Into<String>,
    source: impl Into<BoxError>,
) -> Error {
    Error::Snapshot {
        location: location.into(),
        message: message.into(),
        source: Some(source.into()),
    }
}

/// The snapshot `hash` is not in the store.
pub(crate) fn not_found(location: impl Into<String>, hash: &SnapshotHash) -> Error {
    snapshot_error(
        location,
        format!(
            "no snapshot with hash {hash} is stored; check the hash against the tenant's history, or save the snapshot again"
        ),
    )
}

/// A tag was asked to point at a snapshot the store does not hold.
pub(crate) fn unknown_tag_target(
    location: impl Into<String>,
    hash: &SnapshotHash,
    tag: &str,
) -> Error {
    snapshot_error(
        location,
        format!(
            "cannot tag {tag:?}: no snapshot with hash {hash} is stored; save the snapshot before tagging it"
        ),
    )
}
