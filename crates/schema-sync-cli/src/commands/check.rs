//! `sync`, `diff` and `validate`: one engine call, three modes.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, bail};
use schema_sync_core::{
    Engine, ExecuteOptions, FleetOptions, FleetReport, FleetSummary, SchemaSnapshot, SyncOptions,
    Target, TenantContext, TenantId, TenantReport,
};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::{json, shapes, text};
use crate::progress::Progress;
use crate::select::select_tenants;
use crate::target::load_target;

/// Which of the three commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Apply plans.
    Sync,
    /// Show diffs.
    Diff,
    /// Exit 1 on drift.
    Validate,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::Diff => "diff",
            Mode::Validate => "validate",
        }
    }
}

/// Resolves the target and selects the tenants: what every planning command needs.
pub async fn prepare(
    engine: &Engine,
    settings: &Settings,
) -> Result<(SchemaSnapshot, Vec<TenantContext>)> {
    let spec = settings.require_target()?;
    let target = match spec.strip_prefix("snapshot:") {
        Some(reference) => {
            let store = super::snapshot::LazyStore::new(settings);
            let snapshot = super::snapshot::resolve(&store, reference).await?;
            Target::Snapshot {
                label: spec.to_string(),
                snapshot: Box::new(snapshot),
            }
        }
        None => load_target(spec)?,
    };
    let reference = match &target {
        Target::Tenant(id) => Some(id.clone()),
        _ => None,
    };
    let snapshot = engine.resolve_target(&target).await?;
    refuse_empty_target(spec, &snapshot, settings.allow_empty_target)?;
    let tenants = select_tenants(engine, &settings.selection, reference.as_ref()).await?;
    Ok((snapshot, tenants))
}

/// Refuses a target with no objects at all, unless allowed: an empty or comments-only
/// file (or a mistyped directory) would otherwise mean "drop every table".
pub fn refuse_empty_target(spec: &str, target: &SchemaSnapshot, allowed: bool) -> Result<()> {
    if allowed || target.object_count() > 0 || !target.unsupported.is_empty() {
        return Ok(());
    }
    bail!(
        "target {spec} has no tables, views or other objects (is the file empty or only comments?): \
         syncing to it would drop every table of every tenant. Check --target; if an empty \
         schema is really wanted, pass --allow-empty-target (or set `allow_empty_target = true` \
         in schema-sync.toml)"
    )
}

/// The exit code of a fleet run: 1 when a tenant failed, was refused or was skipped (a
/// skipped tenant was never checked, so the run cannot vouch for it), or drifted when
/// drift is an error.
pub fn fleet_exit(summary: &FleetSummary, drift_fails: bool) -> ExitCode {
    let failed = summary.failed + summary.refused + summary.skipped > 0;
    let drift = drift_fails && summary.drifted > 0;
    exit(if failed || drift {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    })
}

/// Fleet options from settings.
pub fn fleet_options(settings: &Settings, execute: bool, allow_destructive: bool) -> FleetOptions {
    FleetOptions::default()
        .with_sync(
            SyncOptions::default()
                .with_execute(execute)
                .with_allow_destructive(allow_destructive)
                .with_strict_column_order(settings.strict_column_order)
                .with_execute_options(
                    ExecuteOptions::default()
                        .with_lock_timeout(settings.lock_timeout)
                        .with_statement_timeout(settings.statement_timeout),
                ),
        )
        .with_concurrency(settings.concurrency)
        .with_max_failures(settings.max_failures)
        .with_refresh_cache(settings.no_cache)
}

/// Runs the fleet with a progress bar, calling `on_done` (with the bar cleared) as each
/// tenant finishes, so results stream out while the fleet runs.
pub async fn run_with_progress(
    engine: &Engine,
    tenants: Vec<TenantContext>,
    target: &SchemaSnapshot,
    options: &FleetOptions,
    quiet: bool,
    on_done: &(dyn Fn(&TenantReport) + Send + Sync),
) -> FleetReport {
    let progress = Progress::new(tenants.len(), quiet);
    let report = engine
        .run_fleet(tenants, target, options, &|r| {
            progress.suspend(|| on_done(r));
            progress.tick(r.status.is_failure());
        })
        .await;
    progress.finish();
    report
}

/// Runs `sync`, `diff` or `validate`.
///
/// A snapshot store that fails after the run never hides the run: the report is printed
/// first, then the store error, and the run exits 2.
///
/// # Errors
/// A usage, target, store or connection error found before any tenant ran.
pub async fn run(mode: Mode, engine: &Engine, settings: &Settings) -> Result<ExitCode> {
    let started = Instant::now();
    // `diff` has no --save-snapshots; the config key covers sync and validate.
    let save_snapshots = settings.save_snapshots && mode != Mode::Diff;
    // Open the store before any work, so a bad store URL fails fast.
    let store = if save_snapshots {
        Some(super::snapshot::open(settings).await?)
    } else {
        None
    };
    let (target, tenants) = prepare(engine, settings).await?;
    let grouped = shapes::grouped(settings.group_by, settings.format, tenants.len());
    let allow_destructive = mode == Mode::Sync && settings.allow_destructive;
    let mut options = fleet_options(settings, mode == Mode::Sync, allow_destructive);
    if mode == Mode::Sync {
        // The cross-tenant guard: no tenant's SQL may name another tenant or the template.
        let template = settings
            .require_target()?
            .strip_prefix("tenant:")
            .map(TenantId::new)
            .transpose()?;
        // Namespaces the target itself names in its structure (a foreign key to a shared
        // lookup table, a type or extension in a shared schema) are shared by design.
        let mut shared = settings.shared_namespaces.clone();
        shared.extend(target.referenced_namespaces());
        options.sync.execute_options.isolation =
            engine.isolation_guard(template.as_ref(), &shared).await?;
    }
    options.sync.keep_snapshots = save_snapshots;
    let include_plan = mode != Mode::Validate || settings.verbose;
    let detail = text::Detail::from_flags(settings.quiet, settings.verbose);
    let printer = text::TenantPrinter::new(detail, mode != Mode::Validate);
    let format = settings.format;
    let json_output = format != Format::Text;
    let on_done = |tenant: &TenantReport| match format {
        Format::Text if grouped => {}
        Format::Text => printer.print(tenant),
        Format::Jsonl => json::print_line(&json::tenant_line(mode.name(), tenant, include_plan)),
        Format::Json => {}
    };
    let report = run_with_progress(
        engine,
        tenants,
        &target,
        &options,
        settings.quiet || json_output,
        &on_done,
    )
    .await;
    crate::cache::flush(engine.cache(), settings.quiet || json_output).await;
    let saved = match &store {
        Some(store) => {
            Some(super::snapshot::save_after_run(store.as_ref(), &report, &target).await)
        }
        None => None,
    };
    let elapsed = started.elapsed().as_millis();

    match format {
        Format::Json => {
            let document =
                json::fleet_document(mode.name(), &target.hash(), &report, include_plan, elapsed);
            anstream::println!("{}", serde_json::to_string_pretty(&document)?);
        }
        Format::Jsonl => json::print_line(&json::summary_line(
            mode.name(),
            Some(&target.hash()),
            json::summary_value(&report.summary, elapsed),
        )),
        Format::Text => {
            if grouped {
                let groups = shapes::fleet_shapes(&report.tenants);
                shapes::print_fleet(&report.tenants, &groups, detail);
            }
            text::print_summary(&report.summary, elapsed);
        }
    }
    match saved {
        Some(Err(error)) => Ok(super::report_error(
            &error.context("the run above finished, but its snapshots could not be saved"),
        )),
        Some(Ok(saved)) => {
            if !json_output && !settings.quiet {
                anstream::eprintln!(
                    "saved {saved} snapshot{}",
                    if saved == 1 { "" } else { "s" }
                );
            }
            Ok(fleet_exit(&report.summary, mode == Mode::Validate))
        }
        None => Ok(fleet_exit(&report.summary, mode == Mode::Validate)),
    }
}
