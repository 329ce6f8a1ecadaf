//! The online strategy (`--strategy online`): the default plan, reshaped so that live
//! tenants keep serving writes while it runs.
//!
//! [`OnlinePlanner`] asks the [`DefaultPlanner`] for its plan and rewrites the steps
//! that would hold a write-blocking lock while they scan or build, on tables the plan
//! neither creates nor rebuilds (a new table is empty, so the plain step is instant):
//!
//! - a foreign key or check is added `NOT VALID` (a catalog change) inside the tenant's
//!   transaction, and validated by `VALIDATE CONSTRAINT` after it commits, which scans
//!   under SHARE UPDATE EXCLUSIVE only, so writes go on;
//! - `SET NOT NULL` becomes, after commit, a helper `CHECK (col IS NOT NULL) NOT VALID`
//!   (a brief ACCESS EXCLUSIVE lock), its validation, the `SET NOT NULL` itself, which
//!   PostgreSQL 12 and later prove from the valid check without a scan, and the helper's
//!   drop;
//! - `CREATE INDEX` and `DROP INDEX` run `CONCURRENTLY` after commit (they cannot run
//!   inside a transaction block); a partitioned table's new index is built `ON ONLY` the
//!   parent, then concurrently on each partition and attached (where no partition is
//!   partitioned itself), while dropping one stays in the transaction;
//! - a unique constraint's index is built `CONCURRENTLY` after commit, then made the
//!   constraint (`ADD CONSTRAINT ... UNIQUE USING INDEX`, a catalog change);
//! - a step that depends on a step moved out of the transaction moves with it.
//!
//! Every moved step is marked [`PlanStep::outside_transaction`]; the runner keeps their
//! order and runs them after `COMMIT`, each under `lock_timeout` with bounded retries.
//! The design converges: whatever is left half done by a failure outside the
//! transaction (a `NOT VALID` constraint, a helper check, a missing index) is a
//! difference the next run plans and finishes.

use std::collections::{BTreeMap, BTreeSet};

use schema_sync_core::plan::{DefaultPlanner, MigrationPlan, Operation, PlanStep, Planner};
use schema_sync_core::snapshot::CheckConstraint;
use schema_sync_core::{Result, SchemaDiff, SchemaSnapshot};

use crate::sql::quote_ident;

/// The online planner of PostgreSQL: the default plan with its locking steps split into
/// a short transaction and steps that run after it commits (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct OnlinePlanner;

impl Planner for OnlinePlanner {
    fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        diff: &SchemaDiff,
    ) -> Result<MigrationPlan> {
        let plain = DefaultPlanner.plan(from, to, diff)?;
        Ok(reshape(from, plain))
    }
}

/// The name of the helper check that proves `table.column` holds no NULL: short and
/// stable, so a run that stopped half way finds (and drops) the same one.
pub(crate) fn not_null_check_name(table: &str, column: &str) -> String {
    let hash = blake3::hash(format!("{table}\0{column}").as_bytes());
    format!("schema_sync_not_null_{}", &hash.to_hex()[..16])
}

/// Tables the plan creates (empty) or rebuilds.
fn rebuilt_tables(plan: &MigrationPlan) -> BTreeSet<String> {
    plan.steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::CreateTable { name, .. } | Operation::ReorderColumns { table: name, .. } => {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

/// Tables whose steps stay plain: those the plan creates (empty) or rebuilds.
fn plain_tables(from: &SchemaSnapshot, plan: &MigrationPlan) -> BTreeSet<String> {
    let mut tables = rebuilt_tables(plan);
    tables.extend(
        from.tables
            .iter()
            // A concurrent build fails on a partitioned parent: its steps stay plain, but
            // for new indexes, built partition by partition (`split_parents`).
            .filter(|(_, t)| t.partition_by.is_some())
            .map(|(name, _)| name.clone()),
    );
    tables
}

/// Partitioned tables whose new indexes are built partition by partition after commit
/// (`ON ONLY` the parent, a concurrent build per partition, then attached): those the plan
/// neither creates nor rebuilds, none of whose partitions (now or created by the plan)
/// is partitioned itself.
fn split_parents(from: &SchemaSnapshot, plan: &MigrationPlan) -> BTreeSet<String> {
    let rebuilt: BTreeSet<&str> =
        plan.steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::CreateTable { name, .. }
                | Operation::ReorderColumns { table: name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
    let created = plan.steps.iter().filter_map(|s| match &s.operation {
        Operation::CreateTable { table, .. } => Some(table),
        _ => None,
    });
    let nested: BTreeSet<&str> = from
        .tables
        .values()
        .chain(created)
        .filter(|t| t.partition_by.is_some())
        .filter_map(|t| t.partition_of.as_ref().map(|p| p.parent.as_str()))
        .collect();
    from.tables
        .iter()
        .filter(|(name, t)| {
            t.partition_by.is_some()
                && !rebuilt.contains(name.as_str())
                && !nested.contains(name.as_str())
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Tables where the plan drops or retypes a column: dropping it drops its indexes in the
/// transaction, so a concurrent drop of one after commit would find nothing.
fn tables_losing_columns(plan: &MigrationPlan) -> BTreeSet<&str> {
    plan.steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::DropColumn { table, .. } | Operation::AlterColumn { table, .. } => {
                Some(table.as_str())
            }
            _ => None,
        })
        .collect()
}

/// One step of the reshaped plan, before indexes are renumbered.
struct Reshaped {
    /// The original step it came from.
    origin: usize,
    step: PlanStep,
}

/// Rewrites the default plan's locking steps (module docs).
fn reshape(from: &SchemaSnapshot, plain: MigrationPlan) -> MigrationPlan {
    let plain_tables = plain_tables(from, &plain);
    let split_parents = split_parents(from, &plain);
    let losing = tables_losing_columns(&plain)
        .into_iter()
        .map(str::to_string)
        .collect::<BTreeSet<_>>();
    let existing = |table: &str| from.tables.contains_key(table) && !plain_tables.contains(table);
    // A foreign key added in the transaction may need a unique index the plan builds.
    let referenced: BTreeSet<String> = plain
        .steps
        .iter()
        .filter_map(|s| match &s.operation {
            Operation::AddForeignKey { foreign_key, .. } => {
                Some(foreign_key.referenced_table.clone())
            }
            _ => None,
        })
        .collect();
    let MigrationPlan {
        source_hash,
        target_hash,
        steps,
        unresolved,
        strict_column_order,
    } = plain;
    let mut out: Vec<Reshaped> = Vec::with_capacity(steps.len());
    for (origin, step) in steps.into_iter().enumerate() {
        let push = |out: &mut Vec<Reshaped>, step: PlanStep| out.push(Reshaped { origin, step });
        let outside = |operation: Operation| PlanStep {
            outside_transaction: true,
            ..PlanStep::new(operation)
        };
        match step.operation.clone() {
            Operation::AddForeignKey {
                table,
                name,
                mut foreign_key,
            } if existing(&table) && !foreign_key.not_valid => {
                foreign_key.not_valid = true;
                let operation = Operation::AddForeignKey {
                    table: table.clone(),
                    name: name.clone(),
                    foreign_key,
                };
                push(&mut out, PlanStep { operation, ..step });
                push(
                    &mut out,
                    outside(Operation::ValidateConstraint { table, name }),
                );
            }
            Operation::AddCheck {
                table,
                name,
                mut check,
            } if existing(&table) && !check.not_valid => {
                check.not_valid = true;
                let operation = Operation::AddCheck {
                    table: table.clone(),
                    name: name.clone(),
                    check,
                };
                push(&mut out, PlanStep { operation, ..step });
                push(
                    &mut out,
                    outside(Operation::ValidateConstraint { table, name }),
                );
            }
            Operation::AlterColumn {
                table,
                name,
                from: before,
                to,
            } if existing(&table)
                && before.nullable
                && !to.nullable
                && before
                    == (schema_sync_core::snapshot::Column {
                        nullable: true,
                        ..to.clone()
                    }) =>
            {
                let helper = not_null_check_name(&table, &name);
                let check = CheckConstraint {
                    expression: format!("{} IS NOT NULL", quote_ident(&name)),
                    not_valid: true,
                    comment: None,
                };
                // Outside too: the transaction would hold its ACCESS EXCLUSIVE lock
                // until commit, and the check's text is PostgreSQL's to deparse.
                push(
                    &mut out,
                    outside(Operation::AddCheck {
                        table: table.clone(),
                        name: helper.clone(),
                        check: check.clone(),
                    }),
                );
                push(
                    &mut out,
                    outside(Operation::ValidateConstraint {
                        table: table.clone(),
                        name: helper.clone(),
                    }),
                );
                push(
                    &mut out,
                    PlanStep {
                        outside_transaction: true,
                        ..step
                    },
                );
                push(
                    &mut out,
                    outside(Operation::DropCheck {
                        table,
                        name: helper,
                        from: CheckConstraint {
                            not_valid: false,
                            ..check
                        },
                    }),
                );
            }
            Operation::CreateIndex { table, index, .. }
                if (existing(&table) || split_parents.contains(&table))
                    && !(index.unique && referenced.contains(&table)) =>
            {
                push(
                    &mut out,
                    PlanStep {
                        outside_transaction: true,
                        ..step
                    },
                )
            }
            Operation::AddUnique { ref table, .. }
                if existing(table) && !referenced.contains(table) =>
            {
                push(
                    &mut out,
                    PlanStep {
                        outside_transaction: true,
                        ..step
                    },
                )
            }
            Operation::DropIndex { table, .. } if existing(&table) && !losing.contains(&table) => {
                push(
                    &mut out,
                    PlanStep {
                        outside_transaction: true,
                        ..step
                    },
                )
            }
            Operation::ValidateConstraint { .. } => push(
                &mut out,
                PlanStep {
                    outside_transaction: true,
                    ..step
                },
            ),
            _ => push(&mut out, step),
        }
    }
    MigrationPlan {
        source_hash,
        target_hash,
        steps: renumber(out),
        unresolved,
        strict_column_order,
    }
}

/// Maps each original step's dependencies to the new indexes (a dependency on a split
/// step points at its last part) and moves the comment of an object built after commit
/// out with it; other steps of the transaction only lose their ordering after steps that
/// now run after commit.
fn renumber(reshaped: Vec<Reshaped>) -> Vec<PlanStep> {
    let mut last_part: BTreeMap<usize, usize> = BTreeMap::new();
    for (index, r) in reshaped.iter().enumerate() {
        last_part.insert(r.origin, index);
    }
    let mut steps: Vec<PlanStep> = Vec::with_capacity(reshaped.len());
    let mut previous_origin = None;
    for (index, Reshaped { origin, mut step }) in reshaped.into_iter().enumerate() {
        let mut depends_on: Vec<usize> = step
            .depends_on
            .iter()
            .filter_map(|d| last_part.get(d).copied())
            .filter(|&d| d < index)
            .collect();
        // The parts of one split step run in order.
        if previous_origin == Some(origin) {
            depends_on.push(index - 1);
        }
        depends_on.sort_unstable();
        depends_on.dedup();
        step.depends_on = depends_on;
        previous_origin = Some(origin);
        let after_outside = |d: &usize| steps.get(*d).is_some_and(|s| s.outside_transaction);
        if !step.outside_transaction && step.depends_on.iter().any(after_outside) {
            if matches!(step.operation, Operation::SetComment { .. }) {
                // A comment on an index built after commit: it follows the build.
                step.outside_transaction = true;
            } else {
                // Ordered after a step on the same table only; the transaction's step
                // does not need what runs after commit.
                step.depends_on.retain(|d| !after_outside(d));
            }
        }
        steps.push(step);
    }
    steps
}

#[cfg(test)]
mod tests {
    use schema_sync_core::plan::Hazard;
    use schema_sync_core::snapshot::{CheckConstraint, Table};
    use schema_sync_core::testing::{TableBuilder, snapshot};
    use schema_sync_core::{DefaultDiffCalculator, DiffCalculator};

    use super::*;

    fn orgs() -> Table {
        TableBuilder::new()
            .column("id", "integer", true)
            .primary_key(&["id"])
            .build()
    }

    /// `users` with the column `email` nullable or not, and (when `full`) a foreign key,
    /// a check and an index.
    fn users(email_not_null: bool, full: bool) -> Table {
        let mut builder = TableBuilder::new()
            .column("id", "integer", true)
            .column("org_id", "integer", false)
            .column("email", "text", email_not_null)
            .primary_key(&["id"]);
        if full {
            builder = builder
                .foreign_key("users_org_fk", &["org_id"], "orgs", &["id"])
                .index("users_email_idx", &["email"]);
        }
        let mut table = builder.build();
        if full {
            table.checks.insert(
                "users_email_check".into(),
                CheckConstraint {
                    expression: "(email <> '')".into(),
                    not_valid: false,
                    comment: None,
                },
            );
        }
        table
    }

    /// Each step as `(operation, outside the transaction)`.
    fn steps(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Vec<(String, bool)> {
        let diff = DefaultDiffCalculator.diff(from, to);
        let plan = OnlinePlanner
            .plan(from, to, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        plan.steps
            .iter()
            .map(|s| (s.operation.to_string(), s.outside_transaction))
            .collect()
    }

    #[test]
    fn locking_steps_on_a_live_table_are_split_around_the_commit() {
        let from = snapshot([("orgs", orgs()), ("users", users(false, false))]);
        let to = snapshot([("orgs", orgs()), ("users", users(true, true))]);
        let helper = not_null_check_name("users", "email");
        let got = steps(&from, &to);
        let outside: Vec<&str> = got
            .iter()
            .filter(|(_, o)| *o)
            .map(|(s, _)| s.as_str())
            .collect();
        let inside: Vec<&str> = got
            .iter()
            .filter(|(_, o)| !*o)
            .map(|(s, _)| s.as_str())
            .collect();
        assert_eq!(
            inside,
            [
                "add check users_email_check on users ((email <> '')) not valid",
                "add foreign key users_org_fk on users (org_id) -> orgs",
            ],
            "{got:?}"
        );
        let position = |needle: &str| {
            outside
                .iter()
                .position(|s| s.starts_with(needle))
                .unwrap_or_else(|| panic!("no outside step {needle:?} in {outside:?}"))
        };
        // The helper is added, validated, proves NOT NULL, and goes, in that order.
        let helper_steps = [
            position(&format!("add check {helper} on users")),
            position(&format!("validate constraint {helper}")),
            position("alter column users.email: nullable -> not null"),
            position(&format!("drop check {helper}")),
        ];
        assert!(helper_steps.is_sorted(), "{outside:?}");
        position("validate constraint users_email_check");
        position("validate constraint users_org_fk");
        position("create index users_email_idx");
        assert_eq!(outside.len(), 7, "{outside:?}");
        let diff = DefaultDiffCalculator.diff(&from, &to);
        let plan = OnlinePlanner
            .plan(&from, &to, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.steps.iter().any(|s| matches!(
            &s.operation,
            Operation::AddForeignKey { foreign_key, .. } if foreign_key.not_valid && !s.outside_transaction
        )));
    }

    #[test]
    fn a_table_the_plan_creates_keeps_every_step_in_the_transaction() {
        let from = snapshot([("orgs", orgs())]);
        let to = snapshot([("orgs", orgs()), ("users", users(true, true))]);
        let got = steps(&from, &to);
        assert!(got.iter().all(|(_, outside)| !outside), "{got:?}");
    }

    #[test]
    fn an_index_dropped_with_its_column_stays_in_the_transaction() {
        let mut with_index = users(false, false);
        with_index.indexes = users(false, true).indexes;
        let mut without_email = users(false, false);
        without_email.columns.remove("email");
        let from = snapshot([("users", with_index)]);
        let to = snapshot([("users", without_email)]);
        let got = steps(&from, &to);
        assert!(got.iter().all(|(_, outside)| !outside), "{got:?}");
    }

    #[test]
    fn helper_check_names_are_stable_and_short() {
        let name = not_null_check_name("a_very_long_table_name_that_goes_on", "a_column");
        assert_eq!(
            name,
            not_null_check_name("a_very_long_table_name_that_goes_on", "a_column")
        );
        assert_ne!(name, not_null_check_name("t", "c"));
        assert!(name.len() <= 63);
    }

    #[test]
    fn a_concurrent_index_build_carries_no_write_blocking_hazard() {
        let from = snapshot([("orgs", orgs()), ("users", users(false, false))]);
        let to = snapshot([("orgs", orgs()), ("users", users(true, true))]);
        let diff = DefaultDiffCalculator.diff(&from, &to);
        let mut plan = OnlinePlanner
            .plan(&from, &to, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        crate::hazards::refine(&mut plan);
        let build = plan
            .steps
            .iter()
            .find(|s| matches!(s.operation, Operation::CreateIndex { .. }))
            .unwrap_or_else(|| panic!("no index build in {plan:?}"));
        assert!(build.outside_transaction);
        assert!(
            !build.hazards.iter().any(|h| matches!(
                h,
                Hazard::BlocksWrites | Hazard::ShareLock | Hazard::AccessExclusiveLock
            )),
            "{:?}",
            build.hazards
        );
        assert!(build.hazards.contains(&Hazard::BuildsIndex));
    }
}
