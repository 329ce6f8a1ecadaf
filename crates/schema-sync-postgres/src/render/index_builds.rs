//! Building an index: in the tenant's transaction, or after commit without blocking
//! writers (the online strategy), partition by partition on a partitioned table.
//!
//! `CREATE INDEX CONCURRENTLY` fails on a partitioned table. After commit, its index is
//! built as PostgreSQL documents for that case: `CREATE INDEX ... ON ONLY` the parent (a
//! catalog entry, INVALID while partitions lack theirs), then for each partition a
//! concurrent build under the name a plain build would have chosen
//! (`render/index_names.rs`) and `ALTER INDEX ... ATTACH PARTITION`; the parent's index
//! turns valid when the last one is attached. A run stopped part way leaves an INVALID
//! parent index, which inspection leaves out, so the next run plans the index again and
//! its build drops the leftover (with the indexes attached to it) first.
//!
//! A unique constraint added after commit is built the same way as a unique index,
//! `CREATE UNIQUE INDEX CONCURRENTLY` under the constraint's name, then made the
//! constraint by `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX`, which takes
//! its ACCESS EXCLUSIVE lock only for the catalog change, without a scan.

use schema_sync_core::plan::{Operation, RenderedStatement};
use schema_sync_core::snapshot::{Index, UniqueConstraint};

use super::{Renderer, deferrable_clause, idents, unique_clause};
use crate::sql::quote_ident;

impl Renderer<'_> {
    /// The statements of step `step` when its `operation` builds an index: a
    /// `CreateIndex`, or an `AddUnique`; `None` for any other operation.
    pub(super) fn index_build_statements(
        &self,
        step: usize,
        operation: &Operation,
    ) -> Option<Vec<RenderedStatement>> {
        match operation {
            Operation::CreateIndex { table, name, index } => {
                Some(self.create_index_statements(step, table, name, index))
            }
            Operation::AddUnique {
                table,
                name,
                unique,
            } => Some(self.add_unique_statements(step, table, name, unique)),
            _ => None,
        }
    }

    /// Whether step `step` runs after commit.
    fn outside(&self, step: usize) -> bool {
        self.plan
            .steps
            .get(step)
            .is_some_and(|s| s.outside_transaction)
    }

    /// `DROP INDEX IF EXISTS` of an INVALID leftover named `name`, when there is one: in
    /// the transaction it would stand in the way of the index or constraint built there.
    /// A file shared by the tenants of a shape (no schema) always has it: inspection
    /// leaves leftovers out, so tenants with and without one share the shape.
    fn drop_leftover(&self, step: usize, name: &str) -> Option<RenderedStatement> {
        let shared = self.schema.is_none();
        (shared || self.index_builds.leftovers.contains_key(name)).then(|| {
            RenderedStatement::for_step(step, format!("DROP INDEX IF EXISTS {}", self.q(name)))
        })
    }

    /// The statements of step `step`, which adds unique constraint `name` to `table`: in
    /// the transaction, `ADD CONSTRAINT`; after commit, a concurrent build of its index
    /// and `ADD CONSTRAINT ... USING INDEX` (module docs).
    fn add_unique_statements(
        &self,
        step: usize,
        table: &str,
        name: &str,
        unique: &UniqueConstraint,
    ) -> Vec<RenderedStatement> {
        if !self.outside(step) {
            let add = format!(
                "ALTER TABLE {} ADD {}",
                self.q(table),
                unique_clause(name, unique)
            );
            return self
                .drop_leftover(step, name)
                .into_iter()
                .chain([RenderedStatement::for_step(step, add)])
                .collect();
        }
        let build = format!(
            "CREATE UNIQUE INDEX CONCURRENTLY {} ON {} ({}){}",
            quote_ident(name),
            self.q(table),
            idents(&unique.columns),
            if unique.nulls_not_distinct {
                " NULLS NOT DISTINCT"
            } else {
                ""
            }
        );
        let attach = format!(
            "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE USING INDEX {}{}",
            self.q(table),
            quote_ident(name),
            quote_ident(name),
            deferrable_clause(unique.deferrable)
        );
        vec![
            RenderedStatement::for_step(step, build).building_index(name),
            RenderedStatement::for_step(step, attach),
        ]
    }

    /// The statements of step `step`, which builds index `name` of `table` (module docs):
    /// each statement that builds an index outside the transaction names it, so the
    /// runner can drop its INVALID leftover.
    fn create_index_statements(
        &self,
        step: usize,
        table: &str,
        name: &str,
        index: &Index,
    ) -> Vec<RenderedStatement> {
        if !self.outside(step) {
            let create = self.create_index_with(table, name, index, "");
            return self
                .drop_leftover(step, name)
                .into_iter()
                .chain([RenderedStatement::for_step(step, create)])
                .collect();
        }
        let partitioned = self
            .live
            .tables
            .get(table)
            .is_some_and(|t| t.partition_by.is_some());
        if !partitioned {
            return vec![
                RenderedStatement::for_step(
                    step,
                    self.create_index_with(table, name, index, "CONCURRENTLY "),
                )
                .building_index(name),
            ];
        }
        let Some(partitions) = self.index_builds.partitions.get(&step) else {
            // A partition is partitioned itself: one plain build, after commit.
            return vec![
                RenderedStatement::for_step(step, self.create_index_with(table, name, index, ""))
                    .building_index(name),
            ];
        };
        let only = format!("ONLY {}", self.q(table));
        let mut out = vec![
            RenderedStatement::for_step(step, self.index_statement(name, &only, index, ""))
                .building_index(name),
        ];
        for partition in partitions {
            out.push(
                RenderedStatement::for_step(
                    step,
                    self.create_index_with(
                        &partition.partition,
                        &partition.index,
                        index,
                        "CONCURRENTLY ",
                    ),
                )
                .building_index(&partition.index),
            );
            out.push(RenderedStatement::for_step(
                step,
                format!(
                    "ALTER INDEX {} ATTACH PARTITION {}",
                    self.q(name),
                    self.q(&partition.index)
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use schema_sync_core::TenantId;
    use schema_sync_core::plan::{Operation, PlanStep};
    use schema_sync_core::snapshot::IndexPart;
    use schema_sync_core::testing::{TableBuilder, plan_of, snapshot};

    use super::*;
    use crate::catalog::index_builds::{IndexBuilds, PartitionIndex};
    use crate::render::{RenderContext, render_plan};

    fn index() -> Index {
        Index {
            parts: vec![IndexPart::column("amount")],
            ..Index::default()
        }
    }

    fn render(outside: bool, builds: &IndexBuilds) -> Vec<RenderedStatement> {
        let mut table = TableBuilder::new()
            .column("amount", "integer", false)
            .build();
        table.partition_by = Some("RANGE (amount)".into());
        let live = snapshot(vec![("events", table)]);
        let mut plan = plan_of(vec![Operation::CreateIndex {
            table: "events".into(),
            name: "events_amount_idx".into(),
            index: index(),
        }]);
        plan.steps[0] = PlanStep {
            outside_transaction: outside,
            ..plan.steps[0].clone()
        };
        render_plan(
            &plan,
            &RenderContext {
                tenant: &TenantId::new("t").unwrap_or_else(|e| panic!("{e}")),
                schema: Some("t"),
                live: &live,
                privileges: &Default::default(),
                index_builds: builds,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_partitioned_tables_index_is_built_per_partition_and_attached() {
        let mut builds = IndexBuilds::default();
        builds.partitions.insert(
            0,
            vec![
                PartitionIndex {
                    partition: "events_2025".into(),
                    index: "events_2025_amount_idx".into(),
                },
                PartitionIndex {
                    partition: "events_2026".into(),
                    index: "events_2026_amount_idx".into(),
                },
            ],
        );
        let statements = render(true, &builds);
        let sql: Vec<&str> = statements.iter().map(|s| s.sql.as_str()).collect();
        assert_eq!(
            sql,
            [
                r#"CREATE INDEX "events_amount_idx" ON ONLY "t"."events" ("amount")"#,
                r#"CREATE INDEX CONCURRENTLY "events_2025_amount_idx" ON "t"."events_2025" ("amount")"#,
                r#"ALTER INDEX "t"."events_amount_idx" ATTACH PARTITION "t"."events_2025_amount_idx""#,
                r#"CREATE INDEX CONCURRENTLY "events_2026_amount_idx" ON "t"."events_2026" ("amount")"#,
                r#"ALTER INDEX "t"."events_amount_idx" ATTACH PARTITION "t"."events_2026_amount_idx""#,
            ]
        );
        let built: Vec<Option<&str>> = statements
            .iter()
            .map(|s| s.builds_index.as_deref())
            .collect();
        assert_eq!(
            built,
            [
                Some("events_amount_idx"),
                Some("events_2025_amount_idx"),
                None,
                Some("events_2026_amount_idx"),
                None
            ]
        );
        assert!(statements.iter().all(|s| s.steps == [0]));
    }

    #[test]
    fn a_leftover_is_dropped_before_a_build_in_the_transaction() {
        let mut builds = IndexBuilds::default();
        builds.leftovers.insert("events_amount_idx".into(), true);
        let sql: Vec<String> = render(false, &builds).into_iter().map(|s| s.sql).collect();
        assert_eq!(
            sql,
            [
                r#"DROP INDEX IF EXISTS "t"."events_amount_idx""#,
                r#"CREATE INDEX "events_amount_idx" ON "t"."events" ("amount")"#,
            ]
        );
    }
}
