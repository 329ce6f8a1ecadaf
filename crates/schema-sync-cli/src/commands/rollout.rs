//! Running a sync in waves: the canary first, then each wave only while the run's
//! failures allow it.
//!
//! Each wave is one `Engine::run_fleet` call, so the plan cache (one diff per distinct
//! schema) is per wave: a shape seen in two waves is diffed twice, once per wave. The
//! engine keeps its cache private to a call, and a diff per shape per wave is cheap next
//! to the DDL a wave runs. The failure count runs across the waves: a wave starts only
//! while the run's failed and refused tenants are fewer than `--max-failures` (none,
//! without it), and is given what is left of the limit. A failing canary stops the run
//! whatever the limit. The tenants of waves that do not start are reported (and recorded
//! in the ledger) as `skipped`, never touched.

use std::collections::HashMap;

use anyhow::Result;
use schema_sync_core::{
    Engine, FleetObserver, FleetOptions, FleetReport, FleetSummary, NamespaceGuard, SchemaSnapshot,
    TenantId, TenantReport, TenantStatus,
};

use serde_json::{Value, json};

use super::check::{Item, run_servers_with_progress};
use crate::servers::Servers;
use crate::waves::Wave;

/// How one wave went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveOutcome {
    /// Its number (0 for the canary).
    pub number: u32,
    /// Whether it was the canary.
    pub canary: bool,
    /// How many tenants it had.
    pub tenants: usize,
    /// Whether it started.
    pub started: bool,
    /// Its failed and refused tenants.
    pub failures: usize,
}

/// What a run in waves did.
pub struct Rollout {
    /// Every tenant's report, wave by wave.
    pub report: FleetReport,
    /// Each wave's outcome, in order.
    pub waves: Vec<WaveOutcome>,
    /// Why waves were left unstarted, naming the failing tenants and the fix.
    pub stopped: Option<String>,
}

/// How the waves are run and shown.
pub struct RolloutContext<'a> {
    /// The run's servers.
    pub servers: &'a Servers,
    /// Each server's engine (with the ledger's observer, when recording); `None` for a
    /// server that cannot be reached.
    pub engines: &'a [Option<Engine>],
    /// Each server's cross-tenant guard, in sync.
    pub guards: &'a [Option<NamespaceGuard>],
    /// The target.
    pub target: &'a SchemaSnapshot,
    /// The run's fleet options; each wave gets what is left of `max_failures`.
    pub options: &'a FleetOptions,
    /// Hide the progress bars.
    pub quiet_progress: bool,
    /// Print a line as each wave starts and finishes (text output).
    pub print_lines: bool,
    /// Records the tenants of waves that never start (the ledger's recorder).
    pub observer: Option<&'a dyn FleetObserver>,
    /// The run id, for the fix in the stop message.
    pub run_id: Option<&'a str>,
    /// Tenants that failed before the waves (named on a server that cannot be reached):
    /// they count toward `max_failures`.
    pub failed_before: usize,
}

/// Runs `waves` in order, stopping as the failure rules say.
///
/// # Errors
/// A server name core refuses (never, after the config's checks).
pub async fn run(
    context: &RolloutContext<'_>,
    waves: Vec<Wave<Item>>,
    on_done: &(dyn Fn(&TenantReport) + Send + Sync),
) -> Result<Rollout> {
    let last = waves.iter().map(|w| w.number).max().unwrap_or(0);
    let max_failures = context.options.max_failures;
    let mut reports: Vec<TenantReport> = Vec::new();
    let mut outcomes = Vec::with_capacity(waves.len());
    let (mut failures, mut distinct) = (context.failed_before, 0usize);
    let mut stop: Option<Stop> = None;
    for wave in waves {
        let mut outcome = WaveOutcome {
            number: wave.number,
            canary: wave.canary,
            tenants: wave.tenants.len(),
            started: false,
            failures: 0,
        };
        if stop.is_some() || wave.tenants.is_empty() {
            for item in wave.tenants {
                let report = TenantReport::new(item.id, TenantStatus::Skipped);
                if let Some(observer) = context.observer {
                    observer.tenant_finished(&report).await;
                }
                on_done(&report);
                reports.push(report);
            }
            outcomes.push(outcome);
            continue;
        }
        let name = wave_name(&wave, last);
        if context.print_lines {
            anstream::println!("{name} started: {}", count(outcome.tenants));
        }
        let mut options = context.options.clone();
        options.max_failures = max_failures.map(|max| max.saturating_sub(failures).max(1));
        let tenants = wave.tenants.into_iter().map(|i| (i.server, i.tenant));
        let fleet = context
            .servers
            .fleet(tenants.collect(), context.engines, context.guards)?;
        let report = run_servers_with_progress(
            fleet,
            context.target,
            &options,
            context.quiet_progress,
            on_done,
        )
        .await;
        outcome.started = true;
        outcome.failures = report.summary.failed + report.summary.refused;
        failures += outcome.failures;
        distinct += report.summary.distinct_schemas;
        if context.print_lines {
            anstream::println!("{name} finished: {}", summary_text(&report.summary));
        }
        let failing: Vec<TenantId> = report
            .tenants
            .iter()
            .filter(|r| r.status.is_failure())
            .map(|r| r.tenant.clone())
            .collect();
        if wave.canary && !failing.is_empty() {
            stop = Some(Stop::Canary(failing));
        } else if failures > 0 && max_failures.is_none_or(|max| failures >= max) {
            stop = Some(Stop::Wave {
                number: wave.number,
                failures,
            });
        }
        reports.extend(report.tenants);
        outcomes.push(outcome);
    }
    let report = FleetReport::from_reports(reports, distinct);
    let skipped_later = outcomes
        .iter()
        .filter(|o| !o.started)
        .map(|o| o.tenants)
        .sum::<usize>();
    let stopped = stop
        .filter(|_| skipped_later > 0)
        .map(|stop| stop.message(skipped_later, max_failures, context.run_id));
    Ok(Rollout {
        report,
        waves: outcomes,
        stopped,
    })
}

/// Each tenant's wave number.
pub fn wave_numbers(waves: &[Wave<Item>]) -> HashMap<TenantId, u32> {
    waves
        .iter()
        .flat_map(|w| w.tenants.iter().map(|t| (t.id.clone(), w.number)))
        .collect()
}

/// Adds the waves to a `--format json` document: `wave` on each tenant, a `waves` array
/// (number, canary, tenants, started, failures) and `stopped` (the message, or null).
pub fn annotate(document: &mut Value, rollout: &Rollout, wave_of: &HashMap<TenantId, u32>) {
    if let Some(tenants) = document["tenants"].as_array_mut() {
        for (tenant, report) in tenants.iter_mut().zip(&rollout.report.tenants) {
            tenant["wave"] = json!(wave_of.get(&report.tenant));
        }
    }
    document["waves"] = json!(
        rollout
            .waves
            .iter()
            .map(|w| json!({
                "wave": w.number,
                "canary": w.canary,
                "tenants": w.tenants,
                "started": w.started,
                "failures": w.failures,
            }))
            .collect::<Vec<_>>()
    );
    document["stopped"] = json!(rollout.stopped);
}

/// Why the run stopped starting waves.
enum Stop {
    /// These canary tenants failed or were refused.
    Canary(Vec<TenantId>),
    /// The run had this many failures when wave `number` finished.
    Wave { number: u32, failures: usize },
}

impl Stop {
    fn message(&self, skipped: usize, max_failures: Option<usize>, run: Option<&str>) -> String {
        let fix = match run {
            Some(run) => format!("then run `schema-sync sync --resume {run}` to finish the run"),
            None => "then run the same command again".to_string(),
        };
        match self {
            Stop::Canary(tenants) => {
                let names: Vec<String> = tenants.iter().map(|t| format!("\"{t}\"")).collect();
                format!(
                    "the canary failed: {} failed or {} refused, so the run stopped before any other tenant was touched ({} skipped); fix {} (the error is above), {fix}",
                    names.join(", "),
                    if tenants.len() == 1 { "was" } else { "were" },
                    count(skipped),
                    if tenants.len() == 1 {
                        "that tenant"
                    } else {
                        "those tenants"
                    },
                )
            }
            Stop::Wave { number, failures } => {
                let limit = match max_failures {
                    Some(max) => format!("reaching --max-failures {max}"),
                    None => "and without --max-failures any failure stops the waves".into(),
                };
                format!(
                    "wave {number} finished with {failures} failed or refused tenant{} in the run, {limit}: the later waves were not started ({} skipped); fix the failed tenants (the errors are above), {fix}",
                    if *failures == 1 { "" } else { "s" },
                    count(skipped),
                )
            }
        }
    }
}

fn wave_name(wave: &Wave<Item>, last: u32) -> String {
    if wave.canary {
        "canary (wave 0)".to_string()
    } else {
        format!("wave {} of {last}", wave.number)
    }
}

fn count(tenants: usize) -> String {
    format!("{tenants} tenant{}", if tenants == 1 { "" } else { "s" })
}

fn summary_text(summary: &FleetSummary) -> String {
    format!(
        "{} synced, {} in sync, {} failed, {} refused, {} skipped",
        summary.synced, summary.in_sync, summary.failed, summary.refused, summary.skipped
    )
}
