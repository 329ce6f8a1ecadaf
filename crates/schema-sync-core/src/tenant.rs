//! Tenant identity: every operation is scoped to a validated [`TenantContext`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest tenant id accepted, in bytes.
///
/// PostgreSQL truncates identifiers at 63 bytes and MySQL at 64 characters, so an id that
/// fits here fits every supported database as a namespace name.
pub const MAX_TENANT_ID_LEN: usize = 63;

/// A validated tenant identifier.
///
/// A tenant id is never empty, at most [`MAX_TENANT_ID_LEN`] bytes long and free of
/// control characters. Quotes, spaces, dots and unicode are allowed: adapters quote every
/// identifier, so such names are safe.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Validates `id` and wraps it.
    ///
    /// # Errors
    /// [`Error::InvalidTenantId`] when the id is empty, longer than [`MAX_TENANT_ID_LEN`]
    /// bytes, or contains a control character (including NUL).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > MAX_TENANT_ID_LEN {
            Some("it is longer than 63 bytes")
        } else if id.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidTenantId { id, reason }),
            None => Ok(Self(id)),
        }
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        TenantId::new(raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for TenantId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A tenant and where its schema lives.
///
/// The namespace is adapter-defined: a schema name on PostgreSQL, a database name on
/// MySQL, a file path on SQLite. Only adapters build contexts, through
/// [`DatabaseAdapter::context`](crate::DatabaseAdapter::context), so no public API takes a
/// raw namespace string from a caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantContext {
    id: TenantId,
    namespace: String,
}

impl TenantContext {
    /// Builds a context. Meant for adapters, which know how ids map to namespaces.
    pub fn new(id: TenantId, namespace: impl Into<String>) -> Self {
        Self {
            id,
            namespace: namespace.into(),
        }
    }

    /// The tenant id.
    pub fn id(&self) -> &TenantId {
        &self.id
    }

    /// The adapter-defined namespace (schema, database or file path).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
}

impl fmt::Display for TenantContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.id, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hostile_but_printable_names() {
        for id in [
            "tenant_1",
            "a\"b",
            "with space",
            "dot.ted",
            "ünïcødé",
            "'; DROP TABLE x; --",
        ] {
            assert_eq!(
                TenantId::new(id).map(|t| t.to_string()).ok().as_deref(),
                Some(id)
            );
        }
    }

    #[test]
    fn rejects_empty_long_and_control_ids() {
        for (id, reason) in [
            (String::new(), "it is empty"),
            ("x".repeat(64), "it is longer than 63 bytes"),
            ("a\0b".to_string(), "it contains a control character"),
            ("a\nb".to_string(), "it contains a control character"),
        ] {
            match TenantId::new(id) {
                Err(Error::InvalidTenantId { reason: got, .. }) => assert_eq!(got, reason),
                other => panic!("expected InvalidTenantId, got {other:?}"),
            }
        }
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<TenantId>("\"\"").is_err());
        assert!(serde_json::from_str::<TenantId>("\"ok\"").is_ok());
    }
}
