//! What every backend stores besides snapshot bodies, and how bodies are verified.
//!
//! A body is only ever handed out after [`decode_object`] parsed it and recomputed its
//! hash: a damaged or hand-edited object is an [`Error::Snapshot`], never a snapshot.

use std::collections::BTreeMap;

use schema_sync_core::{Error, Result, SchemaSnapshot, SnapshotHash, SnapshotRecord};

use crate::error::snapshot_error;

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
/// One save in a tenant's history, as the file, git and S3 stores write it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct HistoryEntry {
    /// The saved snapshot.
    pub hash: SnapshotHash,
    /// Seconds since the Unix epoch.
    pub saved_at: u64,
}

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
impl HistoryEntry {
    /// The record the [`SnapshotStore`](schema_sync_core::SnapshotStore) API returns, without tags.
    pub fn into_record(self, tenant: &schema_sync_core::TenantId) -> SnapshotRecord {
        SnapshotRecord {
            tenant: tenant.clone(),
            hash: self.hash,
            saved_at: self.saved_at,
            tags: Vec::new(),
        }
    }
}

/// A tenant's tags: tag name to snapshot hash, in name order.
pub(crate) type TagMap = BTreeMap<String, SnapshotHash>;

/// Fills in `tags` of every record from the tenant's tag map.
pub(crate) fn attach_tags(records: &mut [SnapshotRecord], tags: &TagMap) {
    for record in records {
        record.tags = tags
            .iter()
            .filter(|(_, hash)| **hash == record.hash)
            .map(|(tag, _)| tag.clone())
            .collect();
    }
}

/// The longest tag accepted, in bytes.
pub(crate) const MAX_TAG_LEN: usize = 128;

/// Checks a tag name: 1 to [`MAX_TAG_LEN`] bytes, no control characters.
///
/// # Errors
/// [`Error::Config`] naming the tag and the rule.
pub(crate) fn validate_tag(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.chars().any(char::is_control) {
        return Err(Error::config(format!(
            "invalid snapshot tag {tag:?}: use 1 to {MAX_TAG_LEN} printable characters, for example \"v42\" or \"baseline\""
        )));
    }
    Ok(())
}

/// Parses a stored snapshot body and checks it hashes to `expected`.
///
/// # Errors
/// [`Error::Snapshot`] naming `location` when the body is not a snapshot, is of a newer
/// format, or does not match its hash.
pub(crate) fn decode_object(
    text: &str,
    expected: &SnapshotHash,
    location: &str,
) -> Result<SchemaSnapshot> {
    let snapshot = SchemaSnapshot::from_json(text, location).map_err(|e| match e {
        Error::Snapshot {
            location,
            message,
            source,
        } => Error::Snapshot {
            location,
            message: format!(
                "{message}; the stored object for {expected} cannot be used: restore it from a backup or save the snapshot again"
            ),
            source,
        },
        other => other,
    })?;
    let actual = snapshot.hash();
    if &actual != expected {
        return Err(snapshot_error(
            location,
            format!(
                "content does not match its hash {expected} (it hashes to {actual}), so it was modified or damaged; restore it from a backup or save the snapshot again"
            ),
        ));
    }
    Ok(snapshot)
}

#[cfg(any(
    feature = "file",
    feature = "git",
    feature = "sqlite",
    feature = "postgres",
    feature = "testing"
))]
/// Now, in seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_verifies_the_hash() {
        let snapshot = SchemaSnapshot::empty();
        let hash = snapshot.hash();
        let text = snapshot.to_pretty_json();
        assert_eq!(decode_object(&text, &hash, "x").ok(), Some(snapshot));

        let mut other = SchemaSnapshot::empty();
        other.tables.insert("t".into(), Default::default());
        let err = decode_object(&other.to_pretty_json(), &hash, "objects/x.json");
        assert!(
            matches!(&err, Err(Error::Snapshot { location, message, .. })
                if location == "objects/x.json" && message.contains("does not match"))
        );
        assert!(matches!(
            decode_object("{ nope", &hash, "x"),
            Err(Error::Snapshot { .. })
        ));
    }

    #[test]
    fn tags_are_checked() {
        assert!(validate_tag("v42").is_ok());
        assert!(validate_tag("release/2024 q1").is_ok());
        assert!(validate_tag("").is_err());
        assert!(validate_tag("a\nb").is_err());
        assert!(validate_tag(&"x".repeat(MAX_TAG_LEN + 1)).is_err());
    }
}
