//! `sync`, `diff` and `validate`: one engine call, three modes.

use std::process::ExitCode;
use std::time::Instant;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use schema_sync_core::ledger::{RunLedger, SelectedTenant};
use schema_sync_core::{
    Engine, ExecuteOptions, FleetObserver, FleetOptions, FleetReport, FleetServer, FleetSummary,
    NamespaceGuard, SchemaSnapshot, SyncOptions, Target, TenantContext, TenantId, TenantReport,
};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::{Resume, Settings};
use crate::ledger::Recorder;
use crate::output::{json, shapes, text};
use crate::progress::Progress;
use crate::select::{Asking, Picked, select_on_servers, select_tenants};
use crate::servers::Servers;
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

/// Resolves the target and selects the tenants of one server: what `plan` needs.
pub async fn prepare(
    engine: &Engine,
    settings: &Settings,
) -> Result<(SchemaSnapshot, Vec<TenantContext>)> {
    let target = load(settings).await?;
    let reference = match &target {
        Target::Tenant(id) => Some(id.clone()),
        _ => None,
    };
    let snapshot = resolve(engine, settings, &target).await?;
    let tenants = select_tenants(engine, &settings.selection, reference.as_ref()).await?;
    Ok((snapshot, tenants))
}

/// Reads the target the settings name (`snapshot:REF` from the store).
async fn load(settings: &Settings) -> Result<Target> {
    let spec = settings.require_target()?;
    Ok(match spec.strip_prefix("snapshot:") {
        Some(reference) => {
            let store = super::snapshot::LazyStore::new(settings);
            let snapshot = super::snapshot::resolve(&store, reference).await?;
            Target::Snapshot {
                label: spec.to_string(),
                snapshot: Box::new(snapshot),
            }
        }
        None => load_target(spec)?,
    })
}

/// Resolves `target` on `engine`, refusing an empty one.
async fn resolve(engine: &Engine, settings: &Settings, target: &Target) -> Result<SchemaSnapshot> {
    let snapshot = engine.resolve_target(target).await?;
    refuse_empty_target(
        settings.require_target()?,
        &snapshot,
        settings.allow_empty_target,
    )?;
    Ok(snapshot)
}

/// Resolves the target once for every server, with the reference tenant of a
/// `tenant:NAME` target and its server: with named servers it must be
/// `tenant:SERVER/NAME`. Other targets are applied on the first server that answers.
async fn prepare_target(
    servers: &Servers,
    settings: &Settings,
) -> Result<(SchemaSnapshot, Option<(usize, TenantId)>)> {
    let target = load(settings).await?;
    let Target::Tenant(id) = &target else {
        return Ok((
            resolve(servers.first_reachable()?, settings, &target).await?,
            None,
        ));
    };
    let (position, bare) = servers.split(id.as_str()).with_context(|| {
        format!("--target tenant:{id}: with [[databases]], a tenant target names its server: write tenant:SERVER/NAME")
    })?;
    let bare = TenantId::new(bare)?;
    let server = &servers.list()[position];
    let engine = server
        .engine
        .as_ref()
        .map_err(|why| anyhow::Error::new(server.unreachable(why)))
        .with_context(|| format!("cannot read the target tenant:{id}"))?;
    let snapshot = resolve(engine, settings, &Target::Tenant(bare.clone())).await?;
    Ok((snapshot, Some((position, bare))))
}

/// The target and tenants of a sync that resumes a recorded run: the run's tenants
/// that `--resume` or `--retry-failed` takes, on the servers their ids name.
async fn prepare_resume(
    servers: &Servers,
    settings: &Settings,
    ledger: &dyn RunLedger,
    resume: &Resume,
) -> Result<(SchemaSnapshot, Option<(usize, TenantId)>, Picked)> {
    let (snapshot, reference) = prepare_target(servers, settings).await?;
    let names = crate::ledger::resume_tenants(
        ledger,
        resume,
        &snapshot.hash(),
        settings.selection.shard.as_ref(),
    )
    .await?;
    let mut picked = Picked::default();
    for name in &names {
        let (position, bare) = servers.split(name)?;
        let server = &servers.list()[position];
        let bare = TenantId::new(bare)?;
        match &server.engine {
            Ok(engine) => picked.tenants.push((position, engine.tenant(&bare)?)),
            Err(_) => picked.unreachable.push((position, server.qualify(&bare)?)),
        }
    }
    Ok((snapshot, reference, picked))
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
                        .with_statement_timeout(settings.statement_timeout)
                        .with_lock_retries(crate::strategy::lock_retries(settings.strategy))
                        .with_allow_copy(settings.allow_copy),
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

/// Runs the fleet over its servers with a progress bar, like [`run_with_progress`].
pub async fn run_servers_with_progress(
    servers: Vec<FleetServer>,
    target: &SchemaSnapshot,
    options: &FleetOptions,
    quiet: bool,
    on_done: &(dyn Fn(&TenantReport) + Send + Sync),
) -> FleetReport {
    let tenants = servers.iter().map(FleetServer::tenant_count).sum();
    let progress = Progress::new(tenants, quiet);
    let report = schema_sync_core::run_servers(servers, target, options, &|r| {
        progress.suspend(|| on_done(r));
        progress.tick(r.status.is_failure());
    })
    .await;
    progress.finish();
    report
}

/// One tenant of a run: its server, its context and its id as reported.
pub struct Item {
    /// The server's position.
    pub server: usize,
    /// The tenant there.
    pub tenant: TenantContext,
    /// Its id in reports and the ledger (`eu-1/acme` on named servers).
    pub id: TenantId,
}

/// Runs `sync`, `diff` or `validate` over every server of the run.
///
/// A snapshot store that fails after the run never hides the run: the report is printed
/// first, then the store error, and the run exits 2.
///
/// # Errors
/// A usage, target, store or connection error found before any tenant ran.
pub async fn run(mode: Mode, servers: &Servers, settings: &Settings) -> Result<ExitCode> {
    let started = Instant::now();
    // `diff` has no --save-snapshots; the config key covers sync and validate.
    let save_snapshots = settings.save_snapshots && mode != Mode::Diff;
    // Open the store before any work, so a bad store URL fails fast.
    let store = if save_snapshots {
        Some(super::snapshot::open(settings).await?)
    } else {
        None
    };
    // Open the ledger before any work too: a run that must be recorded and cannot be
    // fails before any tenant is touched.
    let record = !settings.no_ledger
        && match mode {
            Mode::Sync => true,
            Mode::Validate => settings.record_validate,
            Mode::Diff => false,
        };
    let ledger = if record {
        Some(crate::ledger::open(settings).await?)
    } else {
        None
    };
    let (target, reference, picked) = match (&settings.resume, &ledger) {
        (Some(resume), Some(ledger)) => {
            prepare_resume(servers, settings, ledger.as_ref(), resume).await?
        }
        _ => {
            let (target, reference) = prepare_target(servers, settings).await?;
            let picked = select_on_servers(
                servers,
                &settings.selection,
                reference.as_ref().map(|(p, id)| (*p, id)),
                Asking::Run,
            )
            .await?;
            (target, reference, picked)
        }
    };
    if settings.run_id.is_some() && ledger.is_none() {
        bail!(
            "--run-id names the run recorded in the ledger, but this {} records none: add --record (or `record_validate = true` in schema-sync.toml)",
            mode.name()
        );
    }
    let target_hash = target.hash();
    let Picked {
        tenants,
        unreachable,
        down,
    } = picked;
    let items: Vec<Item> = tenants
        .into_iter()
        .map(|(server, tenant)| {
            let id = servers.list()[server].qualify(tenant.id())?;
            Ok(Item { server, tenant, id })
        })
        .collect::<Result<_>>()?;
    // Canary and waves (sync only); without them the run is one unnumbered wave.
    let staged = settings.canary.is_some() || settings.waves.is_some();
    let waves = if staged {
        crate::waves::assign(
            items,
            |t| t.id.as_str(),
            settings.canary.as_ref(),
            settings.waves.as_ref(),
        )?
    } else {
        vec![crate::waves::Wave {
            number: 1,
            canary: false,
            tenants: items,
        }]
    };
    let tenant_count: usize =
        waves.iter().map(|w| w.tenants.len()).sum::<usize>() + unreachable.len();
    let wave_of = if staged {
        super::rollout::wave_numbers(&waves)
    } else {
        HashMap::new()
    };
    let recording = match &ledger {
        Some(ledger) => {
            let resumes = settings.resume.as_ref().map(|r| r.run.as_str());
            let run = crate::ledger::run_record(mode.name(), settings, &target_hash, resumes);
            let selected: Vec<SelectedTenant> = unreachable
                .iter()
                .map(|(_, id)| SelectedTenant {
                    id: id.clone(),
                    wave: None,
                })
                .chain(waves.iter().flat_map(|wave| {
                    wave.tenants.iter().map(move |t| SelectedTenant {
                        id: t.id.clone(),
                        wave: staged.then_some(wave.number),
                    })
                }))
                .collect();
            crate::ledger::begin(ledger.as_ref(), &run, &selected, settings.run_id.is_some())
                .await?;
            if settings.format == Format::Text && !settings.quiet {
                anstream::eprintln!("run {} (recorded in {})", run.id, ledger.location());
            }
            let recorder = Arc::new(Recorder::new(
                Arc::clone(ledger),
                run.id.clone(),
                target_hash.clone(),
            ));
            Some((run.id, recorder))
        }
        None => None,
    };
    let observer = recording
        .as_ref()
        .map(|(_, recorder)| recorder.clone() as Arc<dyn FleetObserver>);
    let engines: Vec<Option<Engine>> = servers
        .list()
        .iter()
        .map(|server| {
            let engine = server.engine.as_ref().ok()?.clone();
            Some(match &observer {
                Some(observer) => engine.with_observer(observer.clone()),
                None => engine,
            })
        })
        .collect();
    let grouped = shapes::grouped(settings.group_by, settings.format, tenant_count);
    let allow_destructive = mode == Mode::Sync && settings.allow_destructive;
    let mut options = fleet_options(settings, mode == Mode::Sync, allow_destructive);
    let mut guards: Vec<Option<NamespaceGuard>> = vec![None; engines.len()];
    if mode == Mode::Sync {
        // The cross-tenant guard of each server: no tenant's SQL may name another tenant
        // of its server or the template. Namespaces the target itself names in its
        // structure (a foreign key to a shared lookup table, a type or extension in a
        // shared schema) are shared by design.
        let mut shared = settings.shared_namespaces.clone();
        shared.extend(target.referenced_namespaces());
        for (position, engine) in engines.iter().enumerate() {
            let Some(engine) = engine else { continue };
            let template = reference
                .as_ref()
                .filter(|(p, _)| *p == position)
                .map(|(_, id)| id);
            guards[position] = Some(engine.isolation_guard(template, &shared).await?);
        }
        if let [Some(guard)] = guards.as_slice() {
            options.sync.execute_options.isolation = guard.clone();
        }
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
        Format::Jsonl => {
            let mut line = json::tenant_line(mode.name(), tenant, include_plan);
            if let Some(wave) = wave_of.get(&tenant.tenant) {
                line["wave"] = serde_json::json!(wave);
            }
            json::print_line(&line);
        }
        Format::Json => {}
    };
    // Tenants named on a server that cannot be reached fail first, untouched.
    let mut failed_first = Vec::with_capacity(unreachable.len());
    for (position, id) in unreachable {
        let server = &servers.list()[position];
        let why = server.engine.as_ref().err().cloned().unwrap_or_default();
        let report = TenantReport::failed(id, server.unreachable(&why));
        if let Some(observer) = &observer {
            observer.tenant_finished(&report).await;
        }
        on_done(&report);
        failed_first.push(report);
    }
    let run_id = recording.as_ref().map(|(run, _)| run.as_str());
    let rollout = super::rollout::RolloutContext {
        servers,
        engines: &engines,
        guards: &guards,
        target: &target,
        options: &options,
        quiet_progress: settings.quiet || json_output,
        print_lines: staged && format == Format::Text && !settings.quiet,
        observer: observer.as_deref(),
        run_id,
        failed_before: failed_first.len(),
    };
    let mut rollout = super::rollout::run(&rollout, waves, &on_done).await?;
    if !failed_first.is_empty() {
        let distinct = rollout.report.summary.distinct_schemas;
        failed_first.append(&mut rollout.report.tenants);
        rollout.report = FleetReport::from_reports(failed_first, distinct);
    }
    let report = &rollout.report;
    for engine in engines.iter().flatten() {
        crate::cache::flush(engine.cache(), settings.quiet || json_output).await;
    }
    let saved = match &store {
        Some(store) => Some(super::snapshot::save_after_run(store.as_ref(), report, &target).await),
        None => None,
    };
    let elapsed = started.elapsed().as_millis();
    let ledger_error = match (&recording, &ledger) {
        (Some((run, recorder)), Some(ledger)) => {
            let status = if down.is_empty() {
                crate::ledger::run_status(&report.summary, mode == Mode::Validate)
            } else {
                schema_sync_core::ledger::RunStatus::Failed
            };
            let ended = ledger
                .end_run(run, status, schema_sync_ledger::now_ms())
                .await;
            recorder.take_error().or(ended.err())
        }
        _ => None,
    };
    let per_server = crate::output::servers::Breakdown::new(servers, &report.tenants, &down);

    match format {
        Format::Json => {
            let mut document =
                json::fleet_document(mode.name(), &target_hash, report, include_plan, elapsed);
            document["servers"] = per_server.json();
            if let Some(run_id) = run_id {
                document["run_id"] = serde_json::json!(run_id);
            }
            if staged {
                super::rollout::annotate(&mut document, &rollout, &wave_of);
            }
            anstream::println!("{}", serde_json::to_string_pretty(&document)?);
        }
        Format::Jsonl => {
            let mut line = json::summary_line(
                mode.name(),
                Some(&target_hash),
                json::summary_value(&report.summary, elapsed),
            );
            line["servers"] = per_server.json();
            if let Some(run_id) = run_id {
                line["run_id"] = serde_json::json!(run_id);
            }
            json::print_line(&line);
        }
        Format::Text => {
            if grouped {
                let groups = shapes::fleet_shapes(&report.tenants);
                shapes::print_fleet(&report.tenants, &groups, detail);
            }
            text::print_summary(&report.summary, elapsed);
            per_server.print();
        }
    }
    if let Some(stopped) = &rollout.stopped
        && format != Format::Json
    {
        anstream::eprintln!("\x1b[1;31mstopped:\x1b[0m {stopped}");
    }
    if let Some(error) = ledger_error {
        return Ok(super::report_error(&anyhow::Error::new(error).context(
            "the run above finished, but the run ledger could not record all of it",
        )));
    }
    let exit_code = |summary: &FleetSummary| {
        if down.is_empty() {
            fleet_exit(summary, mode == Mode::Validate)
        } else {
            exit(EXIT_DRIFT_OR_FAILURE)
        }
    };
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
            Ok(exit_code(&report.summary))
        }
        None => Ok(exit_code(&report.summary)),
    }
}
