//! Partitioning in the plan.
//!
//! A partition is created after its partitioned table (phase 5) and dropped before it
//! (phase 3, see [`order::drop_order`](super::order::drop_order)). A partition whose
//! bound or parent changes is detached in phase 2 and attached again at the end of
//! phase 6, so its rows survive. A table that becomes or stops being partitioned, or a
//! partition key that changes, would need the table rebuilt with its rows moved: the plan
//! is refused with the fix instead.

use std::collections::BTreeMap;

use super::PlanContext;
use crate::diff::{Change, TableChange, TableModification};
use crate::error::{Error, Result};
use crate::plan::operation::Operation;
use crate::snapshot::Table;

/// Refuses table changes that only a rebuild could make: a changed partition key, or a
/// table that becomes or stops being a partition.
///
/// # Errors
/// [`Error::Unsupported`] naming the table, the change and the fix.
pub(super) fn check(modified: &BTreeMap<&str, &TableModification>) -> Result<()> {
    for (table, m) in modified {
        let refuse = |message: String| Error::Unsupported {
            tenant: None,
            object: format!("table {table}"),
            message,
        };
        if let Some(change) = &m.partition_by {
            let key = |k: Option<&String>| k.map_or("none".to_string(), Clone::clone);
            return Err(refuse(format!(
                "the partition key changes ({} -> {}), which needs the table rebuilt and its rows moved; create the new table under another name, copy the rows, then swap the names",
                key(change.from()),
                key(change.to())
            )));
        }
        match &m.partition_of {
            Some(Change::Added { to }) => {
                return Err(refuse(format!(
                    "the table must become a partition of {}; attach it by hand (ALTER TABLE {} ATTACH PARTITION {table} {})",
                    to.parent, to.parent, to.bound
                )));
            }
            Some(Change::Removed { from }) => {
                return Err(refuse(format!(
                    "the table must stop being a partition of {}; detach it by hand (ALTER TABLE {} DETACH PARTITION {table})",
                    from.parent, from.parent
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// How many partitioned tables of `tables` lie above `table` (0 for a table that is not
/// a partition).
fn depth(tables: &BTreeMap<String, Table>, table: &Table) -> usize {
    let mut depth = 0;
    let mut current = table;
    while let Some(partition) = &current.partition_of {
        depth += 1;
        match tables.get(&partition.parent) {
            // A chain longer than the table count is a cycle no database can hold.
            Some(parent) if depth <= tables.len() => current = parent,
            _ => break,
        }
    }
    depth
}

/// The new tables of the diff in creation order: every partitioned table before its
/// partitions, names breaking ties.
pub(super) fn creation_order<'a>(cx: &PlanContext<'a>) -> Vec<(&'a str, &'a Table)> {
    let mut added: Vec<(usize, &str, &Table)> = cx
        .diff
        .tables
        .iter()
        .filter_map(|t| match &t.change {
            TableChange::Added { to } => Some((depth(&cx.to.tables, to), t.name.as_str(), to)),
            _ => None,
        })
        .collect();
    added.sort_by_key(|(depth, name, _)| (*depth, *name));
    added
        .into_iter()
        .map(|(_, name, table)| (name, table))
        .collect()
}

/// Phase 2: detaches the partitions whose parent or bound changes.
pub(super) fn detach_moved(cx: &mut PlanContext<'_>) {
    for (table, m) in &cx.modified {
        if let Some(Change::Modified { from, .. }) = &m.partition_of {
            cx.builder.push(Operation::DetachPartition {
                table: table.to_string(),
                from: from.clone(),
            });
        }
    }
}

/// End of phase 6: attaches the partitions phase 2 detached, with their target bound.
pub(super) fn attach_moved(cx: &mut PlanContext<'_>) {
    for (table, m) in &cx.modified {
        if let Some(Change::Modified { to, .. }) = &m.partition_of {
            cx.builder.push(Operation::AttachPartition {
                table: table.to_string(),
                partition: to.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use crate::diff::{DefaultDiffCalculator, DiffCalculator};
    use crate::error::Error;
    use crate::plan::{DefaultPlanner, MigrationPlan, Planner};
    use crate::snapshot::{CheckConstraint, DataType, Domain, PartitionOf, SchemaSnapshot, Table};
    use crate::testing::{TableBuilder, snapshot};

    fn plan(from: &SchemaSnapshot, to: &SchemaSnapshot) -> crate::Result<MigrationPlan> {
        DefaultPlanner.plan(from, to, &DefaultDiffCalculator.diff(from, to))
    }

    fn steps(plan: &MigrationPlan) -> Vec<String> {
        plan.steps.iter().map(|s| s.operation.to_string()).collect()
    }

    fn partition(parent: &str, bound: &str) -> Table {
        Table {
            partition_of: Some(PartitionOf {
                parent: parent.to_string(),
                bound: bound.to_string(),
            }),
            ..Table::default()
        }
    }

    fn positive(base: &str) -> Domain {
        Domain {
            data_type: DataType::named(base),
            not_null: false,
            default: None,
            collation: None,
            checks: BTreeMap::from([(
                "positive".to_string(),
                CheckConstraint {
                    expression: "(VALUE > 0)".to_string(),
                    ..Default::default()
                },
            )]),
            comment: None,
        }
    }

    /// A partitioned table `events` (by `amount`, a domain over an enum-free base) with
    /// partitions `a_old` (itself partitioned), `a_old_1` and `z_new`: names sort against
    /// the creation order.
    fn partitioned() -> SchemaSnapshot {
        let mut events = TableBuilder::new()
            .column("id", "integer", true)
            .column("amount", "amount", true)
            .index("events_idx", &["id"])
            .build();
        events.partition_by = Some("RANGE (id)".to_string());
        let mut old = partition("events", "FOR VALUES FROM (0) TO (10)");
        old.partition_by = Some("LIST (amount)".to_string());
        let mut to = snapshot([
            ("a_old_1", partition("a_old", "FOR VALUES IN (1)")),
            ("a_old", old),
            ("events", events),
            ("z_new", partition("events", "DEFAULT")),
        ]);
        to.domains.insert("amount".to_string(), positive("integer"));
        to
    }

    #[test]
    fn creates_domains_before_tables_and_partitions_after_their_parent() {
        let from = SchemaSnapshot::empty();
        let to = partitioned();
        let plan = plan(&from, &to).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            steps(&plan),
            [
                "create domain amount",
                "create table events (2 columns)",
                "create table a_old (0 columns)",
                "create table z_new (0 columns)",
                "create table a_old_1 (0 columns)",
                "create index events_idx on events",
            ]
        );
        // Partitions depend on the step that created their parent, the table on the
        // domain its column uses.
        assert_eq!(plan.steps[1].depends_on, [0]);
        assert_eq!(plan.steps[2].depends_on, [1]);
        assert_eq!(plan.steps[4].depends_on, [2]);
        let mut applied = from.clone();
        plan.apply_to(&mut applied)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied, to);
    }

    #[test]
    fn drops_partitions_before_their_parent_and_domains_after_the_tables() {
        let from = partitioned();
        let to = SchemaSnapshot::empty();
        let plan = plan(&from, &to).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            steps(&plan),
            [
                "drop table a_old_1 (0 columns)",
                "drop table z_new (0 columns)",
                "drop table a_old (0 columns)",
                "drop table events (2 columns)",
                "drop domain amount",
            ]
        );
        let mut applied = from.clone();
        plan.apply_to(&mut applied)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied, to);
    }

    #[test]
    fn a_changed_bound_detaches_and_attaches_again() {
        let from = partitioned();
        let mut to = partitioned();
        if let Some(p) = to
            .tables
            .get_mut("a_old")
            .and_then(|t| t.partition_of.as_mut())
        {
            p.bound = "FOR VALUES FROM (0) TO (20)".to_string();
        }
        let plan = plan(&from, &to).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            steps(&plan),
            [
                "detach partition a_old from events",
                "attach a_old to events FOR VALUES FROM (0) TO (20)",
            ]
        );
        assert!(plan.steps.iter().all(|s| !s.destructive));
        let mut applied = from.clone();
        plan.apply_to(&mut applied)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(applied, to);
    }

    #[test]
    fn refuses_a_changed_partition_key() {
        let from = partitioned();
        let mut to = partitioned();
        if let Some(t) = to.tables.get_mut("events") {
            t.partition_by = Some("RANGE (amount)".to_string());
        }
        match plan(&from, &to) {
            Err(Error::Unsupported {
                object, message, ..
            }) => {
                assert_eq!(object, "table events");
                assert!(
                    message.contains("RANGE (id) -> RANGE (amount)"),
                    "{message}"
                );
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_domain_whose_base_changes_is_rebuilt_only_when_unused() {
        let mut from = SchemaSnapshot::empty();
        from.domains
            .insert("amount".to_string(), positive("integer"));
        let mut to = SchemaSnapshot::empty();
        to.domains.insert("amount".to_string(), positive("bigint"));
        let plan = plan(&from, &to).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps(&plan), ["drop domain amount", "create domain amount"]);

        let from = partitioned();
        let mut to = partitioned();
        to.domains.insert("amount".to_string(), positive("bigint"));
        match super::tests::plan(&from, &to) {
            Err(Error::Unsupported {
                object, message, ..
            }) => {
                assert_eq!(object, "domain amount");
                assert!(message.contains("events.amount"), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_changed_domain_is_altered_before_the_tables_and_a_comment_alone_is_set_in_place() {
        let mut from = partitioned();
        let mut to = partitioned();
        if let Some(d) = to.domains.get_mut("amount") {
            d.not_null = true;
        }
        if let Some(t) = to.tables.get_mut("events") {
            t.columns.insert(
                "extra".to_string(),
                crate::snapshot::Column::new(DataType::named("amount")),
            );
        }
        let plan = plan(&from, &to).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            steps(&plan),
            ["alter domain amount", "add column events.extra amount"]
        );
        assert_eq!(plan.steps[1].depends_on, [0]);
        assert!(!plan.steps[0].hazards.is_empty());

        if let Some(d) = from.domains.get_mut("amount") {
            d.comment = Some("money".to_string());
        }
        let plan = super::tests::plan(&from, &partitioned()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(steps(&plan), ["remove the comment on domain amount"]);
    }
}
