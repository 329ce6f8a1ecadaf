//! Partitioning: a partitioned table keeps its key, a partition its parent and bound,
//! both as PostgreSQL prints them with `search_path` pinned to the tenant.
//!
//! A partition has exactly its parent's columns, and what its parent has (check and key
//! constraints, indexes, triggers) PostgreSQL clones into it. None of that is repeated
//! on the partition's [`Table`](schema_sync_core::snapshot::Table): the parent creates
//! it, and a diff that listed it twice would create it twice. A partition keeps only
//! what is its own: local checks, indexes not attached to a parent index, its own
//! triggers.

use schema_sync_core::snapshot::PartitionOf;

use super::Assembler;
use crate::catalog::{ConstraintRow, Relation};

/// A table's place in partitioning.
#[derive(Debug, Default)]
pub(super) struct Partitioning {
    /// The partition key of a partitioned table.
    pub by: Option<String>,
    /// The parent and bound of a partition.
    pub of: Option<PartitionOf>,
}

impl Assembler<'_> {
    /// Whether the relation (a table or an index) `oid` is a partition.
    pub(super) fn is_partition(&self, oid: u32) -> bool {
        self.relations.get(&oid).is_some_and(|r| r.partition)
    }

    /// Whether a constraint is a partition's copy of its parent's (or a foreign key's
    /// copy for each partition of the table it references): the parent's own constraint
    /// stands for it.
    pub(super) fn inherited_constraint(&self, c: &ConstraintRow) -> bool {
        c.cloned || (!c.local && self.is_partition(c.table))
    }

    /// The partition key and parent of table `r`; `None` (reported) for a partition of a
    /// table in another schema, which the tenant cannot own alone.
    pub(super) fn partitioning(&mut self, r: &Relation) -> Option<Partitioning> {
        let by = if r.kind == "p" {
            self.text('P', r.oid, 0)
        } else {
            None
        };
        if !r.partition {
            return Some(Partitioning { by, of: None });
        }
        let parent = r
            .parent
            .and_then(|oid| self.relations.get(&oid))
            .filter(|p| p.namespace == self.namespace);
        let Some(parent) = parent else {
            self.unsupported("partition of a table in another schema", r.name.clone());
            return None;
        };
        Some(Partitioning {
            by,
            of: Some(PartitionOf {
                parent: parent.name.clone(),
                bound: self.text('B', r.oid, 0).unwrap_or_default(),
            }),
        })
    }
}
