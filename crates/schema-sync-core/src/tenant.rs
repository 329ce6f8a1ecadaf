//! Tenant identity: every operation is scoped to a validated [`TenantContext`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest tenant id accepted anywhere, in bytes: the longest file name on common
/// file systems.
///
/// Each database has its own, tighter rule, which its adapter applies when it maps an id
/// to a namespace ([`DatabaseAdapter::context`](crate::DatabaseAdapter::context)):
/// PostgreSQL identifiers are at most 63 bytes, MySQL database names at most 64
/// characters, while a SQLite tenant is a file stem.
pub const MAX_TENANT_ID_LEN: usize = 255;

/// A validated tenant identifier.
///
/// A tenant id is never empty, at most [`MAX_TENANT_ID_LEN`] bytes long and free of
/// control characters (so it prints safely on a terminal and in logs). Quotes, spaces,
/// dots and unicode are allowed: adapters quote every identifier, so such names are safe.
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
            Some("it is longer than 255 bytes")
        } else if id.chars().any(char::is_control) {
            Some("it contains a control character")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidTenantId {
                id,
                reason: reason.to_string(),
            }),
            None => Ok(Self(id)),
        }
    }

    /// A printable label for a namespace name that is not a valid id, so that a report
    /// can name it: control characters are escaped (`a\nb`), an empty name reads
    /// `<empty>`, and the label is cut to [`MAX_TENANT_ID_LEN`] bytes. Never used to
    /// address a namespace.
    pub fn label_for_invalid(raw: &str) -> Self {
        let mut label = String::new();
        for c in raw.chars() {
            let piece: String = if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            };
            if label.len() + piece.len() > MAX_TENANT_ID_LEN {
                break;
            }
            label.push_str(&piece);
        }
        if label.is_empty() {
            label.push_str("<empty>");
        }
        Self(label)
    }

    /// The id of tenant `id` of a fleet over several servers, qualified by the name of
    /// its server: `eu-1/acme`. Such an id names a tenant in reports and in the run
    /// ledger; it never addresses a namespace. It may be longer than
    /// [`MAX_TENANT_ID_LEN`], since both parts are validated on their own.
    ///
    /// # Errors
    /// [`Error::Config`] when `server` cannot name a server ([`check_server_name`]).
    pub fn qualified(server: &str, id: &TenantId) -> Result<Self> {
        check_server_name(server)?;
        Ok(Self::qualified_unchecked(server, id))
    }

    /// [`qualified`](Self::qualified) with a server name already checked.
    pub(crate) fn qualified_unchecked(server: &str, id: &TenantId) -> Self {
        let mut qualified = String::with_capacity(server.len() + 1 + id.0.len());
        qualified.push_str(server);
        qualified.push('/');
        qualified.push_str(&id.0);
        Self(qualified)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks that `name` can name a server of a fleet over several: not empty, no `/` (which
/// separates it from the tenant in a qualified id) and no control character.
///
/// # Errors
/// [`Error::Config`] naming the server and what is wrong.
pub fn check_server_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "is empty"
    } else if name.contains('/') {
        "contains `/`, which separates the server from the tenant in `server/tenant`"
    } else if name.chars().any(char::is_control) {
        "contains a control character"
    } else {
        return Ok(());
    };
    Err(Error::Config {
        message: format!(
            "server name {:?} {why}: name each server with letters, digits, `.`, `_` or `-`",
            TenantId::label_for_invalid(name).as_str()
        ),
    })
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
    rejection: Option<String>,
}

impl TenantContext {
    /// Builds a context. Only [`DatabaseAdapter::context`](crate::DatabaseAdapter::context)
    /// calls this, with the adapter's own mapping of ids to namespaces.
    pub(crate) fn new(id: TenantId, namespace: impl Into<String>) -> Self {
        Self {
            id,
            namespace: namespace.into(),
            rejection: None,
        }
    }

    /// A namespace that discovery found but that cannot be a tenant (its name breaks the
    /// database's rule). A fleet run reports it as a failed tenant with `reason`, so it is
    /// never skipped silently, and never inspects or changes it.
    pub(crate) fn rejected(raw_name: &str, reason: String) -> Self {
        Self {
            id: TenantId::label_for_invalid(raw_name),
            namespace: String::new(),
            rejection: Some(reason),
        }
    }

    /// This tenant on server `server` of a fleet over several: the same namespace, with
    /// its id qualified by the server's name ([`TenantId::qualified`]), as observers and
    /// reports of such a fleet see it.
    pub(crate) fn qualified(&self, server: &str) -> Self {
        Self {
            id: TenantId::qualified_unchecked(server, &self.id),
            namespace: self.namespace.clone(),
            rejection: self.rejection.clone(),
        }
    }

    /// Why this namespace cannot be a tenant, when discovery rejected it.
    pub fn rejection(&self) -> Option<&str> {
        self.rejection.as_deref()
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
            ("x".repeat(256), "it is longer than 255 bytes"),
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
