//! `sync`, `diff` and `validate`: one engine call, three modes.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use schema_sync_core::{
    Engine, ExecuteOptions, FleetOptions, FleetReport, SchemaSnapshot, SyncOptions, Target,
    TenantContext, TenantId,
};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::{json, text};
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

/// Flags that only some of the three commands have.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckFlags {
    /// `sync --allow-destructive`.
    pub allow_destructive: bool,
    /// `--save-snapshots`.
    pub save_snapshots: bool,
}

/// Resolves the target and selects the tenants: what every planning command needs.
pub async fn prepare(
    engine: &Engine,
    settings: &Settings,
) -> Result<(SchemaSnapshot, Vec<TenantContext>)> {
    let spec = settings.require_target()?;
    let target = match spec.strip_prefix("snapshot:") {
        Some(reference) => {
            let store = super::snapshot::open(settings).await?;
            let snapshot = super::snapshot::resolve(Some(store.as_ref()), reference).await?;
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
    let tenants = select_tenants(engine, &settings.selection, reference.as_ref()).await?;
    Ok((snapshot, tenants))
}

/// Fleet options from settings.
pub fn fleet_options(settings: &Settings, execute: bool, allow_destructive: bool) -> FleetOptions {
    FleetOptions {
        sync: SyncOptions {
            execute,
            allow_destructive,
            strict_column_order: settings.strict_column_order,
            execute_options: ExecuteOptions {
                lock_timeout: settings.lock_timeout,
                statement_timeout: settings.statement_timeout,
                ..ExecuteOptions::default()
            },
            ..SyncOptions::default()
        },
        concurrency: settings.concurrency,
        max_failures: settings.max_failures,
        ..FleetOptions::default()
    }
}

/// Runs the fleet with a progress bar.
pub async fn run_with_progress(
    engine: &Engine,
    tenants: Vec<TenantContext>,
    target: &SchemaSnapshot,
    options: &FleetOptions,
    quiet: bool,
) -> FleetReport {
    let progress = Progress::new(tenants.len(), quiet);
    let report = engine
        .run_fleet(tenants, target, options, &|r| {
            progress.tick(r.status.is_failure())
        })
        .await;
    progress.finish();
    report
}

/// Runs `sync`, `diff` or `validate`.
pub async fn run(
    mode: Mode,
    engine: &Engine,
    settings: &Settings,
    flags: CheckFlags,
) -> Result<ExitCode> {
    let started = Instant::now();
    let save_snapshots = flags.save_snapshots || settings.save_snapshots;
    // Open the store before any work, so a bad store URL fails fast.
    let store = if save_snapshots {
        Some(super::snapshot::open(settings).await?)
    } else {
        None
    };
    let (target, tenants) = prepare(engine, settings).await?;
    let allow_destructive = flags.allow_destructive || settings.allow_destructive;
    let mut options = fleet_options(settings, mode == Mode::Sync, allow_destructive);
    if mode == Mode::Sync {
        // The cross-tenant guard: no tenant's SQL may name another tenant or the template.
        let template = settings
            .require_target()?
            .strip_prefix("tenant:")
            .map(TenantId::new)
            .transpose()?;
        options.sync.execute_options.isolation = engine
            .isolation_guard(template.as_ref(), &settings.shared_namespaces)
            .await?;
    }
    options.sync.keep_snapshots = save_snapshots;
    let json_output = settings.format == Format::Json;
    let report = run_with_progress(
        engine,
        tenants,
        &target,
        &options,
        settings.quiet || json_output,
    )
    .await;
    if let Some(store) = &store {
        let saved = super::snapshot::save_after_run(store.as_ref(), &report, &target).await?;
        if !json_output && !settings.quiet {
            anstream::eprintln!(
                "saved {saved} snapshot{}",
                if saved == 1 { "" } else { "s" }
            );
        }
    }
    let elapsed = started.elapsed().as_millis();

    if json_output {
        let document = json::fleet_document(
            mode.name(),
            &target.hash(),
            &report,
            mode != Mode::Validate || settings.verbose,
            elapsed,
        );
        anstream::println!("{}", serde_json::to_string_pretty(&document)?);
    } else {
        let detail = if settings.quiet {
            text::Detail::Quiet
        } else if settings.verbose {
            text::Detail::Full
        } else {
            text::Detail::Normal
        };
        text::print_fleet(&report, detail, mode != Mode::Validate);
        text::print_summary(&report.summary, elapsed);
    }

    let summary = report.summary;
    let failed = summary.failed + summary.refused > 0;
    let drift = mode == Mode::Validate && summary.drifted > 0;
    Ok(exit(if failed || drift {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    }))
}
