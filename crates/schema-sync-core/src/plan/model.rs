//! The plan model: ordered steps with dependencies, safety flags and hazards.

use serde::{Deserialize, Serialize};

use super::operation::Operation;
use crate::error::{Error, Result};
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::TenantId;

/// A risk of running a step on a live database, shown to the user before execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// Stored data is dropped or may be truncated.
    DataLoss,
    /// The table may be rewritten, taking time proportional to its size.
    TableRewrite,
    /// Writes to the table are blocked while the step runs.
    BlocksWrites,
    /// Every row is scanned to validate the change, which fails if a row violates it.
    ValidatesRows,
    /// A materialized view is dropped and created again: its query runs in full to
    /// repopulate it, and readers of the view wait until it has.
    Repopulates,
}

/// One SQL statement a runner sends, with the plan steps it carries out: usually one,
/// several where a dialect combines steps (MySQL's one `ALTER TABLE` per table), and the
/// same step in several statements where one step needs more than one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedStatement {
    /// Indexes into [`MigrationPlan::steps`].
    pub steps: Vec<usize>,
    /// The SQL, every identifier quoted.
    pub sql: String,
}

impl RenderedStatement {
    /// A statement carrying out one step.
    pub fn for_step(step: usize, sql: impl Into<String>) -> Self {
        Self {
            steps: vec![step],
            sql: sql.into(),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    /// What to change.
    pub operation: Operation,
    /// Whether the step drops data or narrows a type.
    pub destructive: bool,
    /// Risks of running this step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hazards: Vec<Hazard>,
    /// Indexes of earlier steps that must run first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<usize>,
    /// The step runs outside the tenant's transaction, after it commits (an online
    /// strategy's `CREATE INDEX CONCURRENTLY` or `VALIDATE CONSTRAINT`): a failure there
    /// cannot be rolled back with the rest, and the next run finishes the step.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_transaction: bool,
}

impl PlanStep {
    /// A step for `operation`, classified as the default planner classifies it
    /// (destructive or not, and its hazards), with no dependencies, inside the
    /// transaction.
    pub fn new(operation: Operation) -> Self {
        let (destructive, hazards) = super::classify::classify(&operation);
        Self {
            operation,
            destructive,
            hazards,
            depends_on: Vec::new(),
            outside_transaction: false,
        }
    }
}

/// An ordered, database-agnostic list of steps that turns one schema into another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationPlan {
    /// Hash of the snapshot the plan starts from.
    pub source_hash: SnapshotHash,
    /// Hash of the snapshot the plan leads to.
    pub target_hash: SnapshotHash,
    /// Steps in execution order.
    pub steps: Vec<PlanStep>,
    /// Differences the plan cannot resolve (objects schema-sync does not model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unresolved: Vec<String>,
}

impl MigrationPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The destructive steps, described as what they would lose.
    pub fn losses(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.destructive)
            .map(|s| loss(&s.operation))
            .collect()
    }

    /// Whether any step runs outside the tenant's transaction, after it commits.
    pub fn has_outside_steps(&self) -> bool {
        self.steps.iter().any(|s| s.outside_transaction)
    }

    /// The tenant as it stands when the transaction commits and before the steps that
    /// run outside it: `live` with only the transaction's steps applied. The engine
    /// verifies the transaction against it before committing.
    ///
    /// # Errors
    /// [`ApplyError`](super::ApplyError) when a step does not apply to `live`.
    pub fn committed_state(
        &self,
        live: &SchemaSnapshot,
    ) -> std::result::Result<SchemaSnapshot, super::ApplyError> {
        let mut state = live.clone();
        for (index, step) in self.steps.iter().enumerate() {
            if !step.outside_transaction {
                step.operation
                    .apply_to(&mut state)
                    .map_err(|e| super::ApplyError {
                        step: Some(index + 1),
                        ..e
                    })?;
            }
        }
        Ok(state)
    }

    /// Whether any step is destructive.
    pub fn is_destructive(&self) -> bool {
        self.steps.iter().any(|s| s.destructive)
    }

    /// Refuses the plan for `tenant` when it has destructive steps that are not allowed.
    ///
    /// # Errors
    /// [`Error::DestructiveRefused`] naming every step that would lose data.
    pub fn ensure_allowed(&self, tenant: &TenantId, allow_destructive: bool) -> Result<()> {
        let losses = self.losses();
        if allow_destructive || losses.is_empty() {
            Ok(())
        } else {
            Err(Error::DestructiveRefused {
                tenant: tenant.clone(),
                losses,
            })
        }
    }
}

/// What a destructive operation would lose, in words a person can weigh.
fn loss(operation: &Operation) -> String {
    match operation {
        Operation::DropTable { name, from } => format!(
            "drop table {name} with all its rows ({} column{})",
            from.columns.len(),
            if from.columns.len() == 1 { "" } else { "s" }
        ),
        Operation::DropColumn { table, name, from } => {
            format!(
                "drop column {table}.{name} ({}) and every value in it",
                from.data_type
            )
        }
        Operation::AlterColumn {
            table,
            name,
            from,
            to,
        } => format!(
            "narrow {table}.{name} from {} to {}: values that do not fit would be truncated or rounded (when allowed, a value that does not fit fails the tenant instead)",
            from.data_type, to.data_type
        ),
        Operation::AlterEnum { name, from, to } => {
            let removed: Vec<&str> = from
                .values
                .iter()
                .filter(|v| !to.values.contains(v))
                .map(String::as_str)
                .collect();
            format!(
                "remove label{} {} from enum {name}: rows holding them could not keep their value",
                if removed.len() == 1 { "" } else { "s" },
                removed.join(", ")
            )
        }
        Operation::DropSequence { name, .. } => {
            format!("drop sequence {name} and its current value")
        }
        other => other.to_string(),
    }
}
