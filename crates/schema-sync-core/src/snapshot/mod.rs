//! Snapshots: the normalised, tenant-relative model of a schema, and its content hash.

mod model;
mod types;

pub use model::*;
pub use types::{DataType, TypeChange};

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// The blake3 content hash of a snapshot's canonical serialisation, as 64 hex digits.
///
/// Every value holds exactly 64 lowercase hex digits: [`parse`](Self::parse) and
/// deserialisation (of a plan, a history line, a record) reject anything else, so a
/// hand-edited file is an error where it is read, not a panic where it is printed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct SnapshotHash(String);

impl<'de> Deserialize<'de> for SnapshotHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl SnapshotHash {
    /// Parses a hex hash.
    ///
    /// # Errors
    /// [`Error::Config`] when `hex` is not 64 lowercase hex digits.
    pub fn parse(hex: &str) -> Result<Self> {
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(hex.to_string()))
        } else {
            Err(Error::config(format!(
                "{hex:?} is not a snapshot hash (64 lowercase hex digits)"
            )))
        }
    }

    /// The hash as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        // Always 64 ASCII digits, so this is the first 12; `get` keeps it panic-free
        // even if that invariant were ever broken.
        self.0.get(..12).unwrap_or(&self.0)
    }
}

impl fmt::Display for SnapshotHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SchemaSnapshot {
    /// An empty snapshot of the current format version.
    pub fn empty() -> Self {
        Self {
            version: SNAPSHOT_FORMAT_VERSION,
            ..Self::default()
        }
    }

    /// The namespaces outside the tenant that this snapshot's structure names: foreign
    /// keys to another schema, column and sequence types from another schema, extensions
    /// installed in another schema. (Expressions are text and are not searched.)
    pub fn referenced_namespaces(&self) -> std::collections::BTreeSet<String> {
        let mut names = std::collections::BTreeSet::new();
        for table in self.tables.values() {
            names.extend(
                table
                    .foreign_keys
                    .values()
                    .filter_map(|fk| fk.referenced_schema.clone()),
            );
            names.extend(
                table
                    .columns
                    .values()
                    .filter_map(|c| c.data_type.schema.clone()),
            );
        }
        names.extend(
            self.sequences
                .values()
                .filter_map(|s| s.data_type.schema.clone()),
        );
        names.extend(self.extensions.values().filter_map(|e| e.schema.clone()));
        names
    }

    /// Whether this snapshot models the object a [`PrivilegeTarget`] key names (a table,
    /// view or materialized view; a sequence; a function by signature).
    pub fn has_privilege_target(&self, key: &str) -> bool {
        match PrivilegeTarget::parse(key) {
            Some(PrivilegeTarget::Table(name)) => {
                self.tables.contains_key(&name) || self.views.contains_key(&name)
            }
            Some(PrivilegeTarget::Sequence(name)) => self.sequences.contains_key(&name),
            Some(PrivilegeTarget::Function(signature)) => self.functions.contains_key(&signature),
            None => false,
        }
    }

    /// The canonical serialisation: compact JSON with every map in key order.
    pub fn canonical_json(&self) -> String {
        // Serialising plain data (strings, numbers, ordered maps) cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The blake3 hash of [`canonical_json`](Self::canonical_json).
    pub fn hash(&self) -> SnapshotHash {
        SnapshotHash(
            blake3::hash(self.canonical_json().as_bytes())
                .to_hex()
                .to_string(),
        )
    }

    /// Pretty JSON, for files a person reads and diffs.
    pub fn to_pretty_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a snapshot from JSON, checking its format version.
    ///
    /// `location` names where the text came from, for the error message.
    ///
    /// # Errors
    /// [`Error::Snapshot`] when the JSON is malformed or of a newer format version.
    pub fn from_json(text: &str, location: &str) -> Result<Self> {
        let snapshot: SchemaSnapshot = serde_json::from_str(text).map_err(|e| Error::Snapshot {
            location: location.to_string(),
            message: format!("not a valid schema-sync snapshot ({e}); regenerate it with `schema-sync snapshot save`"),
            source: Some(Box::new(e)),
        })?;
        if snapshot.version == 0 || snapshot.version > SNAPSHOT_FORMAT_VERSION {
            return Err(Error::Snapshot {
                location: location.to_string(),
                message: format!(
                    "format version {} is not supported (this build reads version {SNAPSHOT_FORMAT_VERSION}); upgrade schema-sync",
                    snapshot.version
                ),
                source: None,
            });
        }
        Ok(snapshot)
    }

    /// The number of modelled objects (tables, columns, constraints, indexes, views, ...).
    pub fn object_count(&self) -> usize {
        let table_objects: usize = self
            .tables
            .values()
            .map(|t| {
                1 + t.columns.len()
                    + usize::from(t.primary_key.is_some())
                    + t.uniques.len()
                    + t.checks.len()
                    + t.foreign_keys.len()
                    + t.indexes.len()
                    + t.triggers.len()
            })
            .sum();
        table_objects
            + self.views.len()
            + self.sequences.len()
            + self.enums.len()
            + self.functions.len()
            + self.events.len()
            + self.extensions.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_future_versions_and_garbage() {
        let mut s = SchemaSnapshot::empty();
        s.version = 99;
        let text = s.canonical_json();
        assert!(matches!(
            SchemaSnapshot::from_json(&text, "x.json"),
            Err(Error::Snapshot { .. })
        ));
        assert!(matches!(
            SchemaSnapshot::from_json("{", "x.json"),
            Err(Error::Snapshot { .. })
        ));
    }

    #[test]
    fn hash_is_hex_and_stable() {
        let s = SchemaSnapshot::empty();
        let h = s.hash();
        assert_eq!(h.as_str().len(), 64);
        assert_eq!(h, s.clone().hash());
        assert!(SnapshotHash::parse(h.as_str()).is_ok());
        assert!(SnapshotHash::parse("nothex").is_err());
    }

    #[test]
    fn a_hash_that_is_not_64_lowercase_hex_digits_does_not_deserialise() {
        let good = SchemaSnapshot::empty().hash();
        let json = serde_json::to_string(&good).unwrap_or_default();
        assert_eq!(serde_json::from_str::<SnapshotHash>(&json).ok(), Some(good));
        let wrong = [
            String::new(),
            "abc".to_string(),
            "0".repeat(63),
            "0".repeat(65),
            "A".repeat(64),
            "g".repeat(64),
            "é".repeat(32),
        ];
        for text in wrong {
            let json = serde_json::to_string(&text).unwrap_or_default();
            match serde_json::from_str::<SnapshotHash>(&json) {
                Ok(hash) => panic!("{text:?} was accepted as a hash ({})", hash.short()),
                Err(e) => assert!(
                    e.to_string().contains("is not a snapshot hash"),
                    "unexpected error for {text:?}: {e}"
                ),
            }
        }
    }

    #[test]
    fn a_history_record_with_a_short_hash_is_an_error() {
        let line = r#"{"tenant":"acme","hash":"abc123","saved_at":1}"#;
        let parsed = serde_json::from_str::<crate::SnapshotRecord>(line);
        assert!(parsed.is_err(), "{parsed:?}");
    }

    #[test]
    fn short_is_the_first_twelve_digits() {
        let hash = SchemaSnapshot::empty().hash();
        assert_eq!(hash.short().len(), 12);
        assert!(hash.as_str().starts_with(hash.short()));
    }
}
