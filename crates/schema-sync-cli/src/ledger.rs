//! Recording runs in the run ledger: opening it, the run's record, one observer that
//! writes each tenant as it starts and finishes, and the tenants a resume takes.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use schema_sync_core::ledger::{RunLedger, RunRecord, RunStatus, TenantRecord};
use schema_sync_core::{
    Error, FleetObserver, FleetSummary, SnapshotHash, TenantContext, TenantReport, redact_url,
};
use schema_sync_ledger::now_ms;

use crate::config::{Resume, Settings};

/// Opens the ledger the settings name, creating it on first use.
///
/// # Errors
/// The ledger cannot be opened or created, or is newer than this build: the message
/// names the path or URL (without its password) and the fix.
pub async fn open(settings: &Settings) -> Result<Arc<dyn RunLedger>> {
    schema_sync_ledger::open(&settings.ledger)
        .await
        .with_context(|| {
            format!(
                "cannot open the run ledger {}: fix --ledger (or the `ledger` key of schema-sync.toml), or pass --no-ledger to run without recording",
                redact_url(&settings.ledger)
            )
        })
}

/// A new run id: the start time in milliseconds and a few bits of this process, in
/// hex, so ids sort by time and two machines starting together differ.
pub fn new_run_id(started_at_ms: i64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let salt = (std::process::id() ^ nanos.rotate_left(7)) & 0xffff;
    format!("{started_at_ms:011x}-{salt:04x}")
}

/// The database user a URL names, if any (`postgres://app:pw@host` is `app`).
fn url_user(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let user = userinfo.split(':').next()?;
    (!user.is_empty()).then(|| user.to_string())
}

/// The command line of this process, with every password redacted.
fn command_line() -> String {
    std::env::args()
        .map(|arg| redact_url(&arg))
        .collect::<Vec<_>>()
        .join(" ")
}

fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
        .or_else(passwd_user)
        .unwrap_or_else(|| "unknown".into())
}

/// The name of this process's real uid in /etc/passwd (Linux), for environments that
/// set no `USER` (containers, cron).
fn passwd_user() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_string())
    })
}

fn host() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The record of a run starting now.
pub fn run_record(
    command: &str,
    settings: &Settings,
    target: &SnapshotHash,
    resumes: Option<&str>,
) -> RunRecord {
    let started_at_ms = now_ms();
    RunRecord {
        id: new_run_id(started_at_ms),
        command: command.to_string(),
        started_at_ms,
        ended_at_ms: None,
        status: RunStatus::Running,
        os_user: os_user(),
        db_user: settings.url.as_deref().and_then(url_user),
        host: host(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        command_line: command_line(),
        target_hash: target.to_string(),
        resumes: resumes.map(str::to_string),
    }
}

/// How a run ended, from its summary.
pub fn run_status(summary: &FleetSummary, drift_fails: bool) -> RunStatus {
    let failed = summary.failed + summary.refused + summary.skipped > 0;
    if failed || (drift_fails && summary.drifted > 0) {
        RunStatus::Failed
    } else {
        RunStatus::Succeeded
    }
}

/// The tenants of a recorded run that `resume` takes, after checking that the target
/// is the run's.
///
/// # Errors
/// The run is not in the ledger, was not a sync, or had another target.
pub async fn resume_tenants(
    ledger: &dyn RunLedger,
    resume: &Resume,
    target: &SnapshotHash,
) -> Result<Vec<String>> {
    let flag = if resume.failed_only {
        "--retry-failed"
    } else {
        "--resume"
    };
    let Some(run) = ledger.run(&resume.run).await? else {
        bail!(
            "{flag} {}: no such run in the ledger {}; `schema-sync runs list` shows the recorded runs (pass the same --ledger as the run used)",
            resume.run,
            ledger.location()
        );
    };
    if run.command != "sync" {
        bail!(
            "{flag} {}: that run was a `{}`, which changed nothing; run `schema-sync sync` instead",
            run.id,
            run.command
        );
    }
    if run.target_hash != target.to_string() {
        bail!(
            "{flag} {}: the target changed since that run (its target hash was {}, the target is now {}); a resume must apply the same target: restore the run's target, or start a new run with `schema-sync sync` and a tenant selection",
            run.id,
            run.target_hash,
            target
        );
    }
    let tenants = ledger.tenants(&run.id, false).await?;
    Ok(tenants
        .into_iter()
        .filter(|t| {
            if resume.failed_only {
                t.status.is_failure()
            } else {
                !t.status.is_done()
            }
        })
        .map(|t| t.tenant)
        .collect())
}

/// Writes each tenant of a run to the ledger as it starts and finishes.
///
/// A failed write does not stop the tenants (one tenant's bookkeeping must not decide
/// another's fate); the first error is kept and the run exits 2 with it after its report.
pub struct Recorder {
    ledger: Arc<dyn RunLedger>,
    run: String,
    target: SnapshotHash,
    error: Mutex<Option<Error>>,
}

impl Recorder {
    /// A recorder of run `run` into `ledger`.
    pub fn new(ledger: Arc<dyn RunLedger>, run: String, target: SnapshotHash) -> Self {
        Self {
            ledger,
            run,
            target,
            error: Mutex::new(None),
        }
    }

    fn keep(&self, result: schema_sync_core::Result<()>) {
        if let Err(error) = result {
            let mut first = match self.error.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            first.get_or_insert(error);
        }
    }

    /// The first write that failed, if any.
    pub fn take_error(&self) -> Option<Error> {
        match self.error.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

#[async_trait]
impl FleetObserver for Recorder {
    async fn tenant_started(&self, tenant: &TenantContext) {
        let result = self
            .ledger
            .tenant_started(&self.run, tenant.id(), now_ms())
            .await;
        self.keep(result);
    }

    async fn tenant_finished(&self, report: &TenantReport) {
        let error = report
            .error
            .as_ref()
            .map(|e| redact_url(&crate::output::message::core_error(e)));
        let record = TenantRecord::finished(report, &self.target, error, now_ms());
        let result = self.ledger.tenant_finished(&self.run, &record).await;
        self.keep(result);
    }
}
