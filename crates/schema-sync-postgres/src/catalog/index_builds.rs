//! What rendering a plan's index builds needs from the catalog beyond the snapshot:
//! INVALID leftovers of earlier builds under the names the plan builds, and, for an index
//! of a partitioned table built after commit (the online strategy), its partitions and
//! the names PostgreSQL would give their indexes.
//!
//! Every lookup goes through an index of the catalog (names, `pg_inherits` by parent),
//! and none runs for a plan that builds no index, so a sync on a server of ten thousand
//! tenants never scans the catalog here.

use std::collections::{BTreeMap, BTreeSet};

use schema_sync_core::SchemaSnapshot;
use schema_sync_core::plan::{MigrationPlan, Operation};
use schema_sync_core::snapshot::Index;
use tokio_postgres::types::Type;

use super::{CatalogClient, PgResult, get};
use crate::render::index_names::partition_index_name;

/// How many of PostgreSQL's name attempts (`idx`, `idx1`, ...) are tried per partition.
const NAME_ATTEMPTS: usize = 100;

/// What the catalog says about the indexes a plan builds.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilds {
    /// INVALID indexes of the tenant under names the plan builds an index under (the
    /// leftovers of a failed or interrupted concurrent build), each with whether it is a
    /// partitioned table's index.
    pub leftovers: BTreeMap<String, bool>,
    /// For each step (by position) that builds an index of a partitioned table after
    /// commit: the partitions in creation order, each with the name PostgreSQL would give
    /// its index. Absent where a partition is partitioned itself or a foreign table (the
    /// build stays plain).
    pub partitions: BTreeMap<usize, Vec<PartitionIndex>>,
}

/// The index a partition gets when its parent's index is built partition by partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionIndex {
    /// The partition.
    pub partition: String,
    /// The name of its index.
    pub index: String,
}

/// A step of the plan that builds an index: a `CreateIndex`, or an `AddUnique` (whose
/// index has the constraint's name).
struct Build<'a> {
    step: usize,
    table: &'a str,
    name: &'a str,
    /// The index of a `CreateIndex`.
    index: Option<&'a Index>,
    outside: bool,
}

/// The indexes `plan` builds (its new indexes and unique constraints), as
/// `name on table`, for an error's context.
pub(crate) fn describe(plan: &MigrationPlan) -> String {
    builds(plan)
        .iter()
        .map(|b| format!("{} on {}", b.name, b.table))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The indexes `plan` builds, in step order.
fn builds(plan: &MigrationPlan) -> Vec<Build<'_>> {
    plan.steps
        .iter()
        .enumerate()
        .filter_map(|(step, s)| match &s.operation {
            Operation::CreateIndex { table, name, index } => Some(Build {
                step,
                table,
                name,
                index: Some(index),
                outside: s.outside_transaction,
            }),
            Operation::AddUnique { table, name, .. } => Some(Build {
                step,
                table,
                name,
                index: None,
                outside: s.outside_transaction,
            }),
            _ => None,
        })
        .collect()
}

/// Reads what rendering `plan` for the tenant of `schema` (whose snapshot is `live`)
/// needs about its index builds; nothing at all for a plan that builds none.
///
/// # Errors
/// A database error.
pub(crate) async fn read(
    client: CatalogClient<'_>,
    schema: &str,
    plan: &MigrationPlan,
    live: &SchemaSnapshot,
) -> PgResult<IndexBuilds> {
    let builds = builds(plan);
    let mut out = IndexBuilds::default();
    if builds.is_empty() {
        return Ok(out);
    }
    let names: Vec<&str> = builds.iter().map(|b| b.name).collect();
    for relation in relations_named(client, schema, &names).await? {
        if relation.invalid {
            out.leftovers.insert(relation.name, relation.partitioned);
        }
    }
    let (created, freed) = names_created_and_freed(plan);
    for build in builds.iter().filter(|b| b.outside) {
        let Some(index) = build.index else {
            continue;
        };
        if live
            .tables
            .get(build.table)
            .is_none_or(|t| t.partition_by.is_none())
        {
            continue;
        }
        let Some(partitions) = partitions_of(client, schema, build.table, plan).await? else {
            continue;
        };
        let candidates: Vec<Vec<String>> = partitions
            .iter()
            .map(|p| {
                (0..NAME_ATTEMPTS)
                    .map(|pass| partition_index_name(p, index, pass))
                    .collect()
            })
            .collect();
        let all: Vec<&str> = candidates.iter().flatten().map(String::as_str).collect();
        let mut taken: BTreeSet<String> = created.clone();
        for relation in relations_named(client, schema, &all).await? {
            // A leftover this run drops first, or an index attached to one, is not in
            // the way; neither is what the plan drops before.
            let dropped = relation.invalid
                || relation
                    .attached_to_invalid
                    .as_ref()
                    .is_some_and(|parent| names.contains(&parent.as_str()))
                || freed.contains(&relation.name);
            if !dropped {
                taken.insert(relation.name);
            }
        }
        let mut chosen = Vec::with_capacity(partitions.len());
        for (partition, candidates) in partitions.into_iter().zip(candidates) {
            let Some(index) = candidates.into_iter().find(|c| !taken.contains(c)) else {
                // Never in practice; PostgreSQL would go on counting, the build stays plain.
                chosen.clear();
                break;
            };
            taken.insert(index.clone());
            chosen.push(PartitionIndex { partition, index });
        }
        if !chosen.is_empty() {
            out.partitions.insert(build.step, chosen);
        }
    }
    Ok(out)
}

/// Names of relations the plan creates (taken when the builds after commit run) and
/// drops (free by then).
fn names_created_and_freed(plan: &MigrationPlan) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut created, mut freed) = (BTreeSet::new(), BTreeSet::new());
    for step in &plan.steps {
        match &step.operation {
            Operation::CreateTable { name, .. }
            | Operation::CreateSequence { name, .. }
            | Operation::CreateView { name, .. } => {
                created.insert(name.clone());
            }
            Operation::CreateIndex { name, .. } | Operation::AddUnique { name, .. }
                if !step.outside_transaction =>
            {
                created.insert(name.clone());
            }
            Operation::DropTable { name, .. } | Operation::DropIndex { name, .. } => {
                freed.insert(name.clone());
            }
            _ => {}
        }
    }
    (created, freed)
}

/// A relation of the tenant found by name.
struct NamedRelation {
    name: String,
    /// An INVALID index.
    invalid: bool,
    /// A partitioned table's index (relkind `I`).
    partitioned: bool,
    /// The INVALID partitioned index this index is attached to, if any.
    attached_to_invalid: Option<String>,
}

/// The relations of `schema` among `names`.
async fn relations_named(
    client: CatalogClient<'_>,
    schema: &str,
    names: &[&str],
) -> PgResult<Vec<NamedRelation>> {
    let rows = client
        .query(
            "SELECT c.relname::text AS name,
                    COALESCE(NOT i.indisvalid, false) AS invalid,
                    c.relkind = 'I' AS partitioned,
                    (SELECT pc.relname::text FROM pg_catalog.pg_inherits h
                       JOIN pg_catalog.pg_index pi ON pi.indexrelid = h.inhparent
                       JOIN pg_catalog.pg_class pc ON pc.oid = h.inhparent
                      WHERE h.inhrelid = c.oid AND NOT pi.indisvalid) AS attached_to_invalid
             FROM unnest($2::text[]) s(name)
             JOIN pg_catalog.pg_class c ON c.relname = s.name
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1
             LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid",
            &[(&schema, Type::TEXT), (&names, Type::TEXT_ARRAY)],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(NamedRelation {
                name: get(row, "name")?,
                invalid: get(row, "invalid")?,
                partitioned: get(row, "partitioned")?,
                attached_to_invalid: get(row, "attached_to_invalid")?,
            })
        })
        .collect()
}

/// The partitions of `table` when its index is built: those it has now (oldest first)
/// that the plan does not drop, then those the plan creates. `None` when one of them is
/// partitioned itself or a foreign table, which `CREATE INDEX CONCURRENTLY` cannot build.
async fn partitions_of(
    client: CatalogClient<'_>,
    schema: &str,
    table: &str,
    plan: &MigrationPlan,
) -> PgResult<Option<Vec<String>>> {
    let rows = client
        .query(
            "SELECT c.relname::text AS name, c.relkind IN ('p', 'f') AS concurrent_build_fails
             FROM pg_catalog.pg_namespace n
             JOIN pg_catalog.pg_class p ON p.relnamespace = n.oid AND p.relname = $2
             JOIN pg_catalog.pg_inherits h ON h.inhparent = p.oid
             JOIN pg_catalog.pg_class c ON c.oid = h.inhrelid
             WHERE n.nspname = $1
             ORDER BY c.oid",
            &[(&schema, Type::TEXT), (&table, Type::TEXT)],
        )
        .await?;
    let mut partitions = Vec::with_capacity(rows.len());
    for row in &rows {
        if get::<bool>(row, "concurrent_build_fails")? {
            return Ok(None);
        }
        partitions.push(get::<String>(row, "name")?);
    }
    for step in &plan.steps {
        match &step.operation {
            Operation::DropTable { name, .. } => partitions.retain(|p| p != name),
            Operation::CreateTable {
                name,
                table: created,
            } => {
                let of_this = created
                    .partition_of
                    .as_ref()
                    .is_some_and(|p| p.parent == table);
                if of_this {
                    if created.partition_by.is_some() {
                        return Ok(None);
                    }
                    partitions.push(name.clone());
                }
            }
            _ => {}
        }
    }
    Ok(Some(partitions))
}

#[cfg(test)]
mod tests {
    use schema_sync_core::plan::Operation;
    use schema_sync_core::snapshot::{Index, IndexPart, UniqueConstraint};
    use schema_sync_core::testing::plan_of;

    use super::describe;

    #[test]
    fn describe_names_each_index_and_unique_constraint_with_its_table() {
        let plan = plan_of(vec![
            Operation::CreateIndex {
                table: "users".into(),
                name: "users_email_idx".into(),
                index: Index {
                    parts: vec![IndexPart::column("email")],
                    ..Index::default()
                },
            },
            Operation::AddUnique {
                table: "orders".into(),
                name: "orders_number_key".into(),
                unique: UniqueConstraint::default(),
            },
        ]);
        assert_eq!(
            describe(&plan),
            "users_email_idx on users, orders_number_key on orders"
        );
    }
}
