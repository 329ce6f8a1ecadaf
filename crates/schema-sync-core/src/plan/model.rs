//! The plan model: ordered steps with dependencies, safety flags and hazards.

use serde::{Deserialize, Serialize};

use super::operation::Operation;
use crate::error::{Error, Result};
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::TenantId;

/// A risk of running a step on a live database, shown to the user before execution.
///
/// Core's classification sets the dialect-neutral kinds; an adapter refines them with
/// what its database does ([`MigrationRunner::refine_hazards`](crate::MigrationRunner::refine_hazards)):
/// the lock PostgreSQL takes, or whether MySQL must copy the table. The serialized names
/// are stable: JSON consumers match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// Stored data is dropped or may be truncated (deletes data).
    DataLoss,
    /// The table may be rewritten, taking time proportional to its size.
    TableRewrite,
    /// Writes to the table are blocked while the step runs.
    BlocksWrites,
    /// Every row is scanned to validate the change.
    ValidatesRows,
    /// A materialized view is dropped and created again: its query runs in full to
    /// repopulate it, and readers of the view wait until it has.
    Repopulates,
    /// An index is built, reading the whole table.
    BuildsIndex,
    /// The step fails if an existing row violates it: a new `NOT NULL`, `UNIQUE`,
    /// `CHECK` or foreign key, or a narrowing a value does not fit.
    /// `plan --check-data` counts those rows.
    MayFailOnRows,
    /// PostgreSQL takes an `ACCESS EXCLUSIVE` lock: reads and writes of the table wait.
    AccessExclusiveLock,
    /// PostgreSQL takes a `SHARE ROW EXCLUSIVE` lock (foreign keys, triggers): writes
    /// wait, reads go on.
    ShareRowExclusiveLock,
    /// PostgreSQL takes a `SHARE` lock (`CREATE INDEX`): writes wait, reads go on.
    ShareLock,
    /// MySQL/MariaDB cannot make this change `INSTANT` or `INPLACE`: it runs as
    /// `ALGORITHM=COPY`, copying the table while writes wait.
    AlgorithmCopy,
}

impl Hazard {
    /// Every kind, in display order.
    pub const ALL: [Hazard; 11] = [
        Hazard::DataLoss,
        Hazard::TableRewrite,
        Hazard::BlocksWrites,
        Hazard::ValidatesRows,
        Hazard::Repopulates,
        Hazard::BuildsIndex,
        Hazard::MayFailOnRows,
        Hazard::AccessExclusiveLock,
        Hazard::ShareRowExclusiveLock,
        Hazard::ShareLock,
        Hazard::AlgorithmCopy,
    ];

    /// A short phrase for text output: `rewrites the table`, `takes ACCESS EXCLUSIVE lock`.
    pub fn describe(self) -> &'static str {
        match self {
            Hazard::DataLoss => "deletes data",
            Hazard::TableRewrite => "rewrites the table",
            Hazard::BlocksWrites => "blocks writes",
            Hazard::ValidatesRows => "scans the table to validate",
            Hazard::Repopulates => "repopulates the view",
            Hazard::BuildsIndex => "builds an index",
            Hazard::MayFailOnRows => "may fail on existing rows",
            Hazard::AccessExclusiveLock => "takes ACCESS EXCLUSIVE lock",
            Hazard::ShareRowExclusiveLock => "takes SHARE ROW EXCLUSIVE lock",
            Hazard::ShareLock => "takes SHARE lock",
            Hazard::AlgorithmCopy => "ALGORITHM=COPY",
        }
    }

    /// Whether the hazard can lose data or fail the tenant, rather than only cost time.
    pub fn is_severe(self) -> bool {
        matches!(self, Hazard::DataLoss | Hazard::MayFailOnRows)
    }
}

impl std::fmt::Display for Hazard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// How an online strategy asks MySQL/MariaDB to run an `ALTER TABLE` step, from the
/// cheapest to the most blocking. The order is meaningful: a statement carrying several
/// steps runs as the greatest of theirs.
///
/// The online planner marks the steps it runs online; the adapter sets the algorithm it
/// expects from what its server documents. The server has the last word at run time:
/// the runner asks for `INSTANT`, then `INPLACE` with `LOCK=NONE`, and copies only
/// where copying was allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// `ALGORITHM=INSTANT`: only the table's metadata changes.
    Instant,
    /// `ALGORITHM=INPLACE, LOCK=NONE`: the table or an index is built in place while
    /// writes go on.
    Inplace,
    /// `ALGORITHM=COPY`: the table is copied while writes wait; the online strategy
    /// refuses it unless copying is allowed.
    Copy,
}

impl Algorithm {
    /// The clause that asks for it: `ALGORITHM=INPLACE, LOCK=NONE`.
    pub fn clause(self) -> &'static str {
        match self {
            Algorithm::Instant => "ALGORITHM=INSTANT",
            Algorithm::Inplace => "ALGORITHM=INPLACE, LOCK=NONE",
            Algorithm::Copy => "ALGORITHM=COPY",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.clause())
    }
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
    /// The index this statement builds outside a transaction (`CREATE INDEX
    /// CONCURRENTLY`, or PostgreSQL's `ON ONLY` index of a partitioned table), whose
    /// INVALID leftover the runner drops before the statement runs and after it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builds_index: Option<String>,
}

impl RenderedStatement {
    /// A statement carrying out one step.
    pub fn for_step(step: usize, sql: impl Into<String>) -> Self {
        Self::for_steps(vec![step], sql)
    }

    /// A statement carrying out `steps` together.
    pub fn for_steps(steps: Vec<usize>, sql: impl Into<String>) -> Self {
        Self {
            steps,
            sql: sql.into(),
            builds_index: None,
        }
    }

    /// This statement, marked as building index `name` ([`builds_index`](Self::builds_index)).
    #[must_use]
    pub fn building_index(mut self, name: impl Into<String>) -> Self {
        self.builds_index = Some(name.into());
        self
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
    /// The online algorithm the step is expected to run with (MySQL/MariaDB under
    /// `--strategy online`); `None`: the database's default, as the plain strategy runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
}

impl PlanStep {
    /// What the step would lose, when it is destructive.
    pub fn loss(&self) -> Option<String> {
        self.destructive.then(|| loss(&self.operation))
    }

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
            algorithm: None,
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
    /// Whether column order is part of the target (`--strict-column-order`): a database
    /// that cannot put a new column where the target has it must refuse the plan rather
    /// than leave the columns in another order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict_column_order: bool,
}

impl MigrationPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The destructive steps, described as what they would lose.
    pub fn losses(&self) -> Vec<String> {
        self.steps.iter().filter_map(PlanStep::loss).collect()
    }

    /// Adds `hazards` to step `index`, keeping each step's hazards sorted and unique.
    pub fn add_hazards(&mut self, index: usize, hazards: &[Hazard]) {
        if let Some(step) = self.steps.get_mut(index) {
            step.hazards.extend_from_slice(hazards);
            step.hazards.sort_unstable();
            step.hazards.dedup();
        }
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
