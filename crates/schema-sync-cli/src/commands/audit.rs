//! `audit`: read-only inspection. No target, no planner, no runner, no lock.

use std::process::ExitCode;
use std::time::Instant;

use anstream::println;
use anyhow::Result;
use schema_sync_core::{Engine, FleetOptions, SchemaSnapshot, TenantContext, TenantId};
use serde_json::{Value, json};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::json;
use crate::output::message::{self, count};
use crate::output::style::{BOLD, DIM, RED, Styled, YELLOW};
use crate::output::{shapes, text};
use crate::progress::Progress;
use crate::select::{Asking, select_on_servers};
use crate::servers::Servers;

/// Runs `audit`. A snapshot store that fails after the run is reported after the run's
/// output, with exit code 2.
///
/// # Errors
/// A usage, store or connection error found before any tenant was inspected.
pub async fn run(servers: &Servers, settings: &Settings, snapshots: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let store = if settings.save_snapshots {
        Some(super::snapshot::open(settings).await?)
    } else {
        None
    };
    let picked = select_on_servers(servers, &settings.selection, None, Asking::Run).await?;
    let options = FleetOptions::default()
        .with_concurrency(settings.concurrency)
        .with_refresh_cache(settings.no_cache);
    let engines: Vec<Option<Engine>> = servers
        .list()
        .iter()
        .map(|s| s.engine.as_ref().ok().cloned())
        .collect();
    let tenant_count = picked.len();
    let format = settings.format;
    let quiet = settings.quiet;
    let grouped = shapes::grouped(settings.group_by, format, tenant_count);
    let progress = Progress::new(tenant_count, quiet || format != Format::Text);
    let on_done = |tenant: &TenantId, result: &schema_sync_core::Result<SchemaSnapshot>| {
        progress.suspend(|| match format {
            Format::Text if grouped => {}
            Format::Text => print_tenant(tenant, result, snapshots, quiet),
            Format::Jsonl => {
                let mut line = json!({ "type": "tenant", "command": "audit" });
                if let (Some(fields), Value::Object(value)) = (
                    line.as_object_mut(),
                    json::audit_tenant_value(tenant, result, snapshots),
                ) {
                    fields.extend(value);
                }
                json::print_line(&line);
            }
            Format::Json => {}
        });
        progress.tick(result.is_err());
    };
    // Tenants named on a server that cannot be reached fail first, untouched.
    let mut results = Vec::new();
    for (position, id) in &picked.unreachable {
        let server = &servers.list()[position.to_owned()];
        let why = server.engine.as_ref().err().cloned().unwrap_or_default();
        let failed: schema_sync_core::Result<SchemaSnapshot> = Err(server.unreachable(&why));
        on_done(id, &failed);
        results.push((id.clone(), failed));
    }
    let fleet = servers.fleet(picked.tenants, &engines, &[])?;
    let on_done = |tenant: &TenantContext, result: &schema_sync_core::Result<SchemaSnapshot>| {
        on_done(tenant.id(), result)
    };
    let inspected = schema_sync_core::inspect_servers(fleet, &options, &on_done).await;
    results.extend(inspected.into_iter().map(|(t, r)| (t.id().clone(), r)));
    progress.finish();
    for engine in engines.iter().flatten() {
        crate::cache::flush(engine.cache(), quiet || format != Format::Text).await;
    }
    let elapsed = started.elapsed().as_millis();
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let per_server = crate::output::servers::Breakdown::audit(servers, &results, &picked.down);
    let mut store_error = None;
    if let Some(store) = &store {
        for (tenant, snapshot) in results
            .iter()
            .filter_map(|(t, r)| r.as_ref().ok().map(|s| (t, s)))
        {
            if let Err(error) = store.save(tenant, snapshot).await {
                store_error = Some(anyhow::Error::from(error).context(format!(
                    "the audit above finished, but the snapshot of tenant {:?} could not be saved",
                    tenant.as_str()
                )));
                break;
            }
        }
    }

    match format {
        Format::Json => {
            let mut document = json::audit_document(&results, snapshots, elapsed);
            document["servers"] = per_server.json();
            json::print_document(format, &document)
        }
        Format::Jsonl => {
            let mut line =
                json::summary_line("audit", None, json::audit_summary(&results, elapsed));
            line["servers"] = per_server.json();
            json::print_line(&line)
        }
        Format::Text => {
            if grouped {
                let detail = text::Detail::from_flags(quiet, settings.verbose);
                let groups = shapes::audit_shapes(&results);
                shapes::print_audit(&results, &groups, detail, snapshots);
            }
            println!(
                "{} audited, {failed} failed ({:.1} s)",
                count(results.len(), "tenant"),
                elapsed as f64 / 1000.0
            );
            per_server.print();
        }
    }
    if let Some(error) = store_error {
        return Ok(super::report_error(&error));
    }
    Ok(exit(if failed > 0 || !picked.down.is_empty() {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    }))
}

/// Prints one audited tenant: its hash and counts, its unmodelled objects, or its error.
/// Quiet prints only tenants with a problem (an error or unmodelled objects).
fn print_tenant(
    tenant: &TenantId,
    result: &schema_sync_core::Result<SchemaSnapshot>,
    snapshots: bool,
    quiet: bool,
) {
    match result {
        Ok(snapshot) => {
            if quiet && snapshot.unsupported.is_empty() {
                return;
            }
            println!(
                "{}  {}  {}, {}",
                Styled(BOLD, tenant.as_str()),
                Styled(DIM, snapshot.hash().short()),
                count(snapshot.tables.len(), "table"),
                count(snapshot.object_count(), "object")
            );
            for object in &snapshot.unsupported {
                println!(
                    "    {}",
                    Styled(
                        YELLOW,
                        &format!("! {} {} is not modelled", object.kind, object.name)
                    )
                );
            }
            if snapshots && !quiet {
                println!("{}", snapshot.to_pretty_json());
            }
        }
        Err(error) => println!(
            "{}  {}",
            Styled(BOLD, tenant.as_str()),
            Styled(RED, &message::core_error(error))
        ),
    }
}
