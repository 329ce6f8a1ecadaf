//! Per-tenant and fleet outcomes.

use std::sync::Arc;

use serde::Serialize;

use crate::adapter::ExecutionResult;
use crate::diff::SchemaDiff;
use crate::error::Error;
use crate::plan::MigrationPlan;
use crate::snapshot::{SchemaSnapshot, SnapshotHash};
use crate::tenant::TenantId;

/// Where a tenant ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    /// Already equal to the target.
    InSync,
    /// Differs from the target; nothing was changed (diff and validate).
    Drifted,
    /// Changed and now equal to the target.
    Synced,
    /// The plan had destructive steps that were not allowed; nothing was changed.
    Refused,
    /// An error stopped this tenant.
    Failed,
    /// Not processed because the failure limit was reached.
    Skipped,
}

impl TenantStatus {
    /// Whether the tenant counts as a failure for exit codes and `--max-failures`.
    pub fn is_failure(self) -> bool {
        matches!(self, TenantStatus::Failed | TenantStatus::Refused)
    }
}

/// The outcome for one tenant.
#[derive(Debug)]
pub struct TenantReport {
    /// The tenant.
    pub tenant: TenantId,
    /// Where it ended up.
    pub status: TenantStatus,
    /// The hash of the schema as inspected before any change.
    pub hash: Option<SnapshotHash>,
    /// The schema as inspected, when the caller asked to keep snapshots.
    pub snapshot: Option<Arc<SchemaSnapshot>>,
    /// The diff against the target (shared among tenants with equal snapshots).
    pub diff: Option<Arc<SchemaDiff>>,
    /// The plan (shared among tenants with equal snapshots).
    pub plan: Option<Arc<MigrationPlan>>,
    /// What execution did, in sync mode.
    pub execution: Option<ExecutionResult>,
    /// The error, for failed and refused tenants.
    pub error: Option<Error>,
}

impl TenantReport {
    /// A report with a status and nothing else: how a tenant that was never worked on
    /// (skipped) is reported.
    pub fn new(tenant: TenantId, status: TenantStatus) -> Self {
        Self {
            tenant,
            status,
            hash: None,
            snapshot: None,
            diff: None,
            plan: None,
            execution: None,
            error: None,
        }
    }

    /// The report of a tenant that `error` stopped: refused for a destructive plan not
    /// allowed, failed otherwise.
    pub fn failed(tenant: TenantId, error: Error) -> Self {
        let status = if matches!(error, Error::DestructiveRefused { .. }) {
            TenantStatus::Refused
        } else {
            TenantStatus::Failed
        };
        Self {
            error: Some(error),
            ..Self::new(tenant, status)
        }
    }
}

/// Counts of tenants by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FleetSummary {
    /// Tenants processed or skipped.
    pub total: usize,
    /// Already in sync.
    pub in_sync: usize,
    /// Drifted and left unchanged.
    pub drifted: usize,
    /// Changed to match the target.
    pub synced: usize,
    /// Refused for destructive changes.
    pub refused: usize,
    /// Failed with an error.
    pub failed: usize,
    /// Skipped after the failure limit.
    pub skipped: usize,
    /// Distinct snapshot hashes seen (and so distinct diffs computed).
    pub distinct_schemas: usize,
}

/// The outcome of a fleet run, one report per tenant in the order given.
#[derive(Debug, Default)]
pub struct FleetReport {
    /// Per-tenant outcomes.
    pub tenants: Vec<TenantReport>,
    /// Counts.
    pub summary: FleetSummary,
}

impl FleetReport {
    /// The report of `tenants` with their counts; `distinct_schemas` is the number of
    /// distinct snapshot hashes seen (diffs computed).
    pub fn from_reports(tenants: Vec<TenantReport>, distinct_schemas: usize) -> Self {
        let mut summary = FleetSummary {
            total: tenants.len(),
            distinct_schemas,
            ..FleetSummary::default()
        };
        for report in &tenants {
            summary.count(report.status);
        }
        Self { tenants, summary }
    }
}

impl FleetSummary {
    /// Counts one more tenant with `status` (not in `total`).
    pub fn count(&mut self, status: TenantStatus) {
        match status {
            TenantStatus::InSync => self.in_sync += 1,
            TenantStatus::Drifted => self.drifted += 1,
            TenantStatus::Synced => self.synced += 1,
            TenantStatus::Refused => self.refused += 1,
            TenantStatus::Failed => self.failed += 1,
            TenantStatus::Skipped => self.skipped += 1,
        }
    }
}
