//! Recording runs in the run ledger: opening it, the run's record, one observer that
//! writes each tenant as it starts and finishes, and the tenants a resume takes.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use async_trait::async_trait;
use schema_sync_core::ledger::{RunLedger, RunRecord, RunStatus, SelectedTenant, TenantRecord};
use schema_sync_core::{
    Error, FleetObserver, FleetSummary, SnapshotHash, TenantContext, TenantReport, redact_url,
};
use schema_sync_ledger::now_ms;

use crate::config::{Resume, Settings, Sharding};

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

/// Checks a `--run-id`: 1 to 64 letters, digits, `.`, `_` or `-`, starting with a
/// letter or digit, so it reads the same in a shell, a URL and a file name.
///
/// # Errors
/// The id, what is wrong with it and the form to use.
pub fn parse_run_id(text: &str) -> Result<String, String> {
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let why = if text.is_empty() {
        "is empty"
    } else if text.len() > 64 {
        "is longer than 64 characters"
    } else if !text.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        "does not start with a letter or digit"
    } else if !text.chars().all(valid_char) {
        "has a character other than a letter, digit, `.`, `_` or `-`"
    } else {
        return Ok(text.to_string());
    };
    Err(format!(
        "run id {text:?} {why}: use letters, digits, `.`, `_` and `-` (at most 64), e.g. deploy-2026-03-02.${{GITHUB_RUN_ID}}"
    ))
}

/// Records the start of `run` with its tenants: a new run, or with `--run-id` this
/// process's part of a run that other shards may share. Joining checks that the run is
/// the same command on the same target and that none of `tenants` is already in it.
///
/// # Errors
/// The run id is taken by another kind of run, a tenant is already recorded in it, or
/// the ledger cannot be written.
pub async fn begin(
    ledger: &dyn RunLedger,
    run: &RunRecord,
    tenants: &[SelectedTenant],
    shared: bool,
) -> Result<()> {
    let context = || {
        format!(
            "cannot record the run in the ledger {}; fix it, or pass --no-ledger",
            ledger.location()
        )
    };
    if !shared {
        return ledger.begin_run(run, tenants).await.with_context(context);
    }
    if let Some(existing) = ledger.run(&run.id).await.with_context(context)? {
        if existing.command != run.command || existing.target_hash != run.target_hash {
            bail!(
                "--run-id {}: the ledger {} already has that run as a `{}` with target {}, and this is a `{}` with target {}: the shards of one run must run the same command on the same target; use another --run-id",
                run.id,
                ledger.location(),
                existing.command,
                existing.target_hash,
                run.command,
                run.target_hash
            );
        }
        let recorded: HashSet<String> = ledger
            .tenants(&run.id, false)
            .await
            .with_context(context)?
            .into_iter()
            .map(|t| t.tenant)
            .collect();
        let again: Vec<String> = tenants
            .iter()
            .map(|t| t.id.to_string())
            .filter(|t| recorded.contains(t))
            .collect();
        if let Some(first) = again.first() {
            bail!(
                "--run-id {}: {} of the selected tenants (first \"{first}\") are already recorded in that run: each shard of a run must take its own tenants (give each job its own --shard I/N); to finish that run's tenants use `schema-sync sync --resume {}`",
                run.id,
                again.len(),
                run.id
            );
        }
    }
    ledger.join_run(run, tenants).await.with_context(context)
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
        id: settings
            .run_id
            .clone()
            .unwrap_or_else(|| new_run_id(started_at_ms)),
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

/// The tenants of a recorded run that `resume` takes (only `shard`'s part of them when
/// given: each shard of a run resumes its own), after checking that the target is the
/// run's.
///
/// # Errors
/// The run is not in the ledger, was not a sync, or had another target.
pub async fn resume_tenants(
    ledger: &dyn RunLedger,
    resume: &Resume,
    target: &SnapshotHash,
    shard: Option<&Sharding>,
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
        .filter(|t| shard.is_none_or(|s| s.keeps(&t.tenant)))
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
