//! Partitioned tables and partitions: the `CREATE TABLE` statement of either, and
//! attaching and detaching partitions. Partition keys and bounds are PostgreSQL's own
//! text, tenant-relative, run with `search_path` pinned to the tenant.

use schema_sync_core::snapshot::{PartitionOf, Table};

use super::Renderer;

impl Renderer<'_> {
    /// `CREATE TABLE` for `table` with the column and constraint clauses `parts`: a
    /// partition takes its columns from its parent, so only its own constraints go in
    /// parentheses, followed by its bound; a partitioned table ends with its key.
    pub(super) fn create_table_statement(
        &self,
        name: &str,
        table: &Table,
        parts: &[String],
        unlogged: bool,
        storage: &str,
    ) -> String {
        let kind = if unlogged { "UNLOGGED TABLE" } else { "TABLE" };
        let mut out = match &table.partition_of {
            Some(partition) => {
                let mut head = format!(
                    "CREATE {kind} {} PARTITION OF {}",
                    self.q(name),
                    self.q(&partition.parent)
                );
                if !parts.is_empty() {
                    head.push_str(&format!(" (\n    {}\n)", parts.join(",\n    ")));
                }
                head.push(' ');
                head.push_str(&partition.bound);
                head
            }
            None => format!(
                "CREATE {kind} {} (\n    {}\n)",
                self.q(name),
                parts.join(",\n    ")
            ),
        };
        if let Some(key) = &table.partition_by {
            out.push_str(&format!(" PARTITION BY {key}"));
        }
        out.push_str(storage);
        out
    }

    /// `ALTER TABLE parent ATTACH PARTITION table FOR VALUES ...`.
    pub(super) fn attach_partition(&self, table: &str, partition: &PartitionOf) -> String {
        format!(
            "ALTER TABLE {} ATTACH PARTITION {} {}",
            self.q(&partition.parent),
            self.q(table),
            partition.bound
        )
    }

    /// `ALTER TABLE parent DETACH PARTITION table`.
    pub(super) fn detach_partition(&self, table: &str, from: &PartitionOf) -> String {
        format!(
            "ALTER TABLE {} DETACH PARTITION {}",
            self.q(&from.parent),
            self.q(table)
        )
    }
}
