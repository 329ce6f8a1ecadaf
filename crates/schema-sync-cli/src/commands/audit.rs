//! `audit`: read-only inspection. No target, no planner, no runner, no lock.

use std::process::ExitCode;
use std::time::Instant;

use anstream::println;
use anyhow::Result;
use schema_sync_core::{Engine, FleetOptions};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::json;
use crate::output::style::{BOLD, DIM, RED, Styled, YELLOW};
use crate::progress::Progress;
use crate::select::select_tenants;

/// Runs `audit`.
pub async fn run(
    engine: &Engine,
    settings: &Settings,
    snapshots: bool,
    save_snapshots: bool,
) -> Result<ExitCode> {
    let started = Instant::now();
    let store = if save_snapshots || settings.save_snapshots {
        Some(super::snapshot::open(settings).await?)
    } else {
        None
    };
    let tenants = select_tenants(engine, &settings.selection, None).await?;
    let options = FleetOptions {
        concurrency: settings.concurrency,
        ..FleetOptions::default()
    };
    let json_output = settings.format == Format::Json;
    let progress = Progress::new(tenants.len(), settings.quiet || json_output);
    let results = engine
        .inspect_fleet(tenants, &options, &|_, r| progress.tick(r.is_err()))
        .await;
    progress.finish();
    let elapsed = started.elapsed().as_millis();
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    if let Some(store) = &store {
        for (tenant, snapshot) in results
            .iter()
            .filter_map(|(t, r)| r.as_ref().ok().map(|s| (t, s)))
        {
            store.save(tenant.id(), snapshot).await?;
        }
    }

    if json_output {
        println!(
            "{}",
            serde_json::to_string_pretty(&json::audit_document(&results, snapshots, elapsed))?
        );
    } else {
        for (tenant, result) in &results {
            match result {
                Ok(snapshot) => {
                    let hash = snapshot.hash();
                    println!(
                        "{}  {}  {} tables, {} objects",
                        Styled(BOLD, tenant.id().as_str()),
                        Styled(DIM, hash.short()),
                        snapshot.tables.len(),
                        snapshot.object_count()
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
                    if snapshots {
                        println!("{}", snapshot.to_pretty_json());
                    }
                }
                Err(error) => println!(
                    "{}  {}",
                    Styled(BOLD, tenant.id().as_str()),
                    Styled(RED, &error.to_string())
                ),
            }
        }
        println!(
            "{} tenants audited, {failed} failed ({:.1} s)",
            results.len(),
            elapsed as f64 / 1000.0
        );
    }
    Ok(exit(if failed > 0 {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    }))
}
