//! The run ledger: what every `sync` did, tenant by tenant, durable as it happens.
//!
//! A ledger is the audit trail ("who changed what, when, with which statements") and the
//! source of `--resume`: a run records the tenants it selected before any starts, each
//! tenant as `started` before its plan runs, and each tenant's outcome as soon as it
//! finishes. A run killed halfway therefore leaves behind exactly which tenants were done,
//! which were in flight and which never started.
//!
//! The records here are plain data; the backends (a SQLite file, a PostgreSQL or MySQL
//! table) live in the `schema-sync-ledger` crate and implement [`RunLedger`].

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::adapter::StatementTiming;
use crate::engine::{TenantReport, TenantStatus};
use crate::error::{Error, Result};
use crate::snapshot::SnapshotHash;
use crate::tenant::TenantId;

/// How a run ended, as far as the ledger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Started and not (yet) ended: still running, or killed.
    Running,
    /// Every tenant ended in sync (or, for `validate`, without drift).
    Succeeded,
    /// Some tenant failed, was refused, was skipped or (`validate`) drifted.
    Failed,
}

impl RunStatus {
    /// The name stored in the ledger and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// [`Error::Ledger`] for a name this build does not know.
    pub fn parse(name: &str, location: &str) -> Result<Self> {
        match name {
            "running" => Ok(RunStatus::Running),
            "succeeded" => Ok(RunStatus::Succeeded),
            "failed" => Ok(RunStatus::Failed),
            other => Err(unknown_value(location, "run status", other)),
        }
    }
}

/// Where one tenant of a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerTenantStatus {
    /// Selected by the run, not started.
    Pending,
    /// Its plan was about to run; no outcome recorded (in flight, or the run was killed).
    Started,
    /// Already equal to the target.
    InSync,
    /// Differs from the target, left unchanged (validate).
    Drifted,
    /// Changed and now equal to the target.
    Synced,
    /// Destructive steps refused.
    Refused,
    /// Failed with an error.
    Failed,
    /// Not processed: the failure limit was reached.
    Skipped,
}

impl LedgerTenantStatus {
    /// Every status, for parsing.
    const ALL: [LedgerTenantStatus; 8] = [
        LedgerTenantStatus::Pending,
        LedgerTenantStatus::Started,
        LedgerTenantStatus::InSync,
        LedgerTenantStatus::Drifted,
        LedgerTenantStatus::Synced,
        LedgerTenantStatus::Refused,
        LedgerTenantStatus::Failed,
        LedgerTenantStatus::Skipped,
    ];

    /// The name stored in the ledger and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerTenantStatus::Pending => "pending",
            LedgerTenantStatus::Started => "started",
            LedgerTenantStatus::InSync => "in_sync",
            LedgerTenantStatus::Drifted => "drifted",
            LedgerTenantStatus::Synced => "synced",
            LedgerTenantStatus::Refused => "refused",
            LedgerTenantStatus::Failed => "failed",
            LedgerTenantStatus::Skipped => "skipped",
        }
    }

    /// Parses a stored name.
    ///
    /// # Errors
    /// [`Error::Ledger`] for a name this build does not know.
    pub fn parse(name: &str, location: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == name)
            .ok_or_else(|| unknown_value(location, "tenant status", name))
    }

    /// Whether the tenant reached the end of its work (in sync or synced): what
    /// `--resume` leaves alone.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            LedgerTenantStatus::InSync | LedgerTenantStatus::Synced | LedgerTenantStatus::Drifted
        )
    }

    /// Whether the tenant failed or was refused: what `--retry-failed` picks.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            LedgerTenantStatus::Failed | LedgerTenantStatus::Refused
        )
    }
}

impl From<TenantStatus> for LedgerTenantStatus {
    fn from(status: TenantStatus) -> Self {
        match status {
            TenantStatus::InSync => LedgerTenantStatus::InSync,
            TenantStatus::Drifted => LedgerTenantStatus::Drifted,
            TenantStatus::Synced => LedgerTenantStatus::Synced,
            TenantStatus::Refused => LedgerTenantStatus::Refused,
            TenantStatus::Failed => LedgerTenantStatus::Failed,
            TenantStatus::Skipped => LedgerTenantStatus::Skipped,
        }
    }
}

fn unknown_value(location: &str, what: &str, value: &str) -> Error {
    Error::Ledger {
        location: location.to_string(),
        message: format!(
            "unknown {what} {value:?}: the ledger was written by a newer schema-sync; upgrade schema-sync"
        ),
        source: None,
    }
}

/// One run, as recorded when it starts and updated when it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run id.
    pub id: String,
    /// The command (`sync`, `validate`).
    pub command: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// When it ended, if it did.
    pub ended_at_ms: Option<i64>,
    /// How it ended.
    pub status: RunStatus,
    /// The operating-system user who ran it.
    pub os_user: String,
    /// The database user of the tenants' URL, if it names one.
    pub db_user: Option<String>,
    /// The machine it ran on.
    pub host: String,
    /// The schema-sync version.
    pub version: String,
    /// The command line, every secret redacted.
    pub command_line: String,
    /// The hash of the target schema.
    pub target_hash: String,
    /// The run this one resumes (`--resume`, `--retry-failed`).
    pub resumes: Option<String>,
}

/// One tenant of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// The tenant.
    pub tenant: String,
    /// Where it stands.
    pub status: LedgerTenantStatus,
    /// Its schema hash before the run changed anything.
    pub before_hash: Option<String>,
    /// Its schema hash after the run (the target's, once in sync).
    pub after_hash: Option<String>,
    /// Plan steps done.
    pub steps_done: u64,
    /// Plan steps in all.
    pub steps_total: u64,
    /// The error, for failed and refused tenants.
    pub error: Option<String>,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: Option<i64>,
    /// When it finished.
    pub ended_at_ms: Option<i64>,
    /// The statements executed, in order, with their durations (empty when nothing ran,
    /// and when a transactional database rolled the tenant back).
    pub statements: Vec<StatementTiming>,
    /// The wave the run put the tenant in (`--canary` is wave 0, `--waves` count from
    /// 1), recorded when the run starts; `None` for a run without waves.
    pub wave: Option<u32>,
}

/// A tenant a run selected, recorded `pending` when the run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedTenant {
    /// The tenant.
    pub id: TenantId,
    /// Its wave, when the run proceeds in waves.
    pub wave: Option<u32>,
}

impl From<TenantId> for SelectedTenant {
    fn from(id: TenantId) -> Self {
        Self { id, wave: None }
    }
}

impl TenantRecord {
    /// The record of a finished tenant, from its report. `target` is its hash after a
    /// successful sync; `error_text` renders the error (the CLI's wording, redacted).
    pub fn finished(
        report: &TenantReport,
        target: &SnapshotHash,
        error_text: Option<String>,
        ended_at_ms: i64,
    ) -> Self {
        let status = LedgerTenantStatus::from(report.status);
        let before_hash = report.hash.as_ref().map(ToString::to_string);
        let after_hash = match status {
            LedgerTenantStatus::Synced => Some(target.to_string()),
            LedgerTenantStatus::InSync
            | LedgerTenantStatus::Drifted
            | LedgerTenantStatus::Refused => before_hash.clone(),
            _ => None,
        };
        let (mut steps_done, mut steps_total) = (0, 0);
        let mut statements = Vec::new();
        if let Some(execution) = &report.execution {
            steps_done = execution.steps_succeeded as u64;
            steps_total = execution.steps_total as u64;
            statements = execution.statements.clone();
        } else if let Some(Error::Execute {
            steps_succeeded,
            steps_total: total,
            ..
        }) = &report.error
        {
            steps_done = *steps_succeeded as u64;
            steps_total = *total as u64;
        } else if let Some(plan) = &report.plan {
            steps_total = plan.steps.len() as u64;
        }
        Self {
            tenant: report.tenant.to_string(),
            status,
            before_hash,
            after_hash,
            steps_done,
            steps_total,
            error: error_text,
            started_at_ms: None,
            ended_at_ms: Some(ended_at_ms),
            statements,
            wave: None,
        }
    }
}

/// A place runs are recorded: the audit trail and the source of `--resume`.
///
/// Every write is durable when it returns (committed, and on SQLite synced to disk), so a
/// killed process loses at most the tenants in flight.
#[async_trait]
pub trait RunLedger: Send + Sync {
    /// Where the ledger lives (a path, or a URL without its password), for messages.
    fn location(&self) -> &str;

    /// Records a new run and the tenants it selected, all `pending`, each with its wave.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be written (or the id is taken).
    async fn begin_run(&self, run: &RunRecord, tenants: &[SelectedTenant]) -> Result<()>;

    /// Adds `tenants` to run `run.id`, recording the run first when no other process
    /// has: how the shards of one run (`--run-id`) share it. The caller checks first
    /// that the run's command and target are its own.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be written, or a tenant is already
    /// recorded in the run.
    async fn join_run(&self, run: &RunRecord, tenants: &[SelectedTenant]) -> Result<()>;

    /// Marks `tenant` of `run` as `started`, at `at_ms`.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be written.
    async fn tenant_started(&self, run: &str, tenant: &TenantId, at_ms: i64) -> Result<()>;

    /// Records the outcome of one tenant of `run`, with its statements.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be written.
    async fn tenant_finished(&self, run: &str, record: &TenantRecord) -> Result<()>;

    /// Records how `run` (or this process's part of it) ended. A run shared by several
    /// processes stays `failed` once one part failed, and `running` while any of its
    /// tenants is still pending or started.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be written.
    async fn end_run(&self, run: &str, status: RunStatus, ended_at_ms: i64) -> Result<()>;

    /// The newest `limit` runs, newest first.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be read.
    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>>;

    /// One run, if recorded.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be read.
    async fn run(&self, id: &str) -> Result<Option<RunRecord>>;

    /// The tenants of `run` sorted by id, each with its statements when
    /// `with_statements`.
    ///
    /// # Errors
    /// [`Error::Ledger`] when the ledger cannot be read.
    async fn tenants(&self, run: &str, with_statements: bool) -> Result<Vec<TenantRecord>>;
}
