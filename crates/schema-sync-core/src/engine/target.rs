//! Where the desired schema comes from.

use std::fmt;

use crate::snapshot::SchemaSnapshot;
use crate::tenant::TenantId;

/// The desired schema, before it is resolved to a snapshot.
#[derive(Debug, Clone)]
pub enum Target {
    /// DDL applied in a scratch namespace and inspected.
    Sql {
        /// Where the DDL came from (file or directory), for messages.
        label: String,
        /// The DDL.
        sql: String,
    },
    /// A reference tenant or template schema on the same database.
    Tenant(TenantId),
    /// A saved snapshot.
    Snapshot {
        /// Where it came from, for messages.
        label: String,
        /// The snapshot.
        snapshot: Box<SchemaSnapshot>,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Sql { label, .. } | Target::Snapshot { label, .. } => f.write_str(label),
            Target::Tenant(id) => write!(f, "tenant:{id}"),
        }
    }
}
