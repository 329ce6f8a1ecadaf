//! `migrate` and `migrate status`: versioned SQL migrations across the fleet.
//!
//! Both read the directory once into a [`MigrationSet`] (a bad file name or a duplicate
//! version stops the command before any tenant is touched, exit 2) and run through core's
//! [`SqlFileMigrationRunner`] on the database's own tenant locks.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anstream::println;
use anyhow::Result;
use schema_sync_core::migrate::{
    MigrateReport, MigrationSet, MigrationStatus, SqlFileMigrationRunner,
};
use schema_sync_core::{Engine, TenantId, TenantStatus};
use serde_json::{Value, json};

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::message::{self, count};
use crate::output::style::{BOLD, CYAN, DIM, GREEN, RED, Styled, YELLOW};
use crate::output::{json, shapes};
use crate::progress::Progress;
use crate::select::select_tenants;

/// The runner of the directory `dir` on `engine`'s database.
fn runner(engine: &Engine, dir: &Path) -> Result<SqlFileMigrationRunner> {
    let set = MigrationSet::from_dir(dir)?;
    Ok(SqlFileMigrationRunner::new(engine.shared_adapter(), set))
}

/// The status as `migrate` names it: `migrated`, `up_to_date`, `failed`, `skipped`.
fn status_name(status: TenantStatus) -> &'static str {
    match status {
        TenantStatus::Synced => "migrated",
        TenantStatus::InSync => "up_to_date",
        TenantStatus::Skipped => "skipped",
        _ => "failed",
    }
}

/// One tenant's outcome as JSON.
fn tenant_value(report: &MigrateReport) -> Value {
    json!({
        "tenant": report.tenant,
        "status": status_name(report.status),
        "applied": report.applied.iter().map(|file| json!({
            "version": file.version,
            "description": file.description,
            "file": file.file,
            "duration_ms": file.duration_ms,
        })).collect::<Vec<_>>(),
        "error": json::error_value(report.error.as_ref()),
    })
}

/// Prints one tenant's outcome as text; quiet prints failed and skipped ones only.
fn print_tenant(report: &MigrateReport, quiet: bool) {
    let tenant = Styled(BOLD, report.tenant.as_str());
    match (report.status, &report.error) {
        (_, Some(error)) => println!(
            "{tenant}  {}  {}",
            Styled(RED, "failed  "),
            Styled(RED, &message::core_error(error))
        ),
        (TenantStatus::Skipped, None) => println!("{tenant}  {}", Styled(DIM, "skipped")),
        _ if quiet => {}
        (TenantStatus::Synced, None) => {
            let files: Vec<String> = report
                .applied
                .iter()
                .map(|f| format!("{} {} ({} ms)", f.version, f.description, f.duration_ms))
                .collect();
            println!(
                "{tenant}  {}  {}",
                Styled(CYAN, "migrated"),
                files.join(", ")
            );
        }
        _ => println!("{tenant}  {}", Styled(GREEN, "up to date")),
    }
}

/// Runs `migrate`: applies the pending files of `dir` to every selected tenant.
///
/// # Errors
/// A usage, directory or connection error found before any tenant was touched.
pub async fn run(engine: &Engine, settings: &Settings, dir: &Path) -> Result<ExitCode> {
    let started = Instant::now();
    let runner = runner(engine, dir)?;
    let tenants = select_tenants(engine, &settings.selection, None).await?;
    let mut options = super::check::fleet_options(settings, true, false);
    // No file may name another tenant's namespace, as no plan may.
    options.sync.execute_options.isolation = engine
        .isolation_guard(None, &settings.shared_namespaces)
        .await?;
    let format = settings.format;
    let quiet = settings.quiet;
    let progress = Progress::new(tenants.len(), quiet || format != Format::Text);
    let on_done = |report: &MigrateReport| {
        progress.suspend(|| match format {
            Format::Text => print_tenant(report, quiet),
            Format::Jsonl => {
                let mut line = json!({ "type": "tenant", "command": "migrate" });
                if let (Some(fields), Value::Object(value)) =
                    (line.as_object_mut(), tenant_value(report))
                {
                    fields.extend(value);
                }
                json::print_line(&line);
            }
            Format::Json => {}
        });
        progress.tick(report.status.is_failure());
    };
    let report = runner.migrate_fleet(tenants, &options, &on_done).await;
    progress.finish();
    let elapsed = started.elapsed().as_millis();
    let summary = &report.summary;
    let summary_value = json!({
        "total": summary.total,
        "migrated": summary.synced,
        "up_to_date": summary.in_sync,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "duration_ms": elapsed,
    });
    let versions: Vec<i64> = runner.migrations().iter().map(|m| m.version).collect();
    match format {
        Format::Json => json::print_document(
            format,
            &json!({
                "command": "migrate",
                "dir": dir.display().to_string(),
                "versions": versions,
                "summary": summary_value,
                "tenants": report.tenants.iter().map(tenant_value).collect::<Vec<_>>(),
            }),
        ),
        Format::Jsonl => json::print_line(&json::summary_line("migrate", None, summary_value)),
        Format::Text => {
            let color = if summary.failed + summary.skipped > 0 {
                RED
            } else {
                GREEN
            };
            let line = format!(
                "{} migrated, {} up to date, {} failed{} ({}, {} in {}, {:.1} s)",
                summary.synced,
                summary.in_sync,
                summary.failed,
                if summary.skipped > 0 {
                    format!(", {} skipped", summary.skipped)
                } else {
                    String::new()
                },
                count(summary.total, "tenant"),
                count(versions.len(), "migration"),
                dir.display(),
                elapsed as f64 / 1000.0
            );
            println!("{}", Styled(color, &line));
        }
    }
    let failed = summary.failed + summary.skipped > 0;
    Ok(exit(if failed {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    }))
}

/// Runs `migrate status`: which tenants have which version of `dir`.
///
/// # Errors
/// A usage, directory or connection error found before any tenant was read.
pub async fn status(engine: &Engine, settings: &Settings, dir: &Path) -> Result<ExitCode> {
    let runner = runner(engine, dir)?;
    let tenants = select_tenants(engine, &settings.selection, None).await?;
    let status = runner.status(tenants, settings.concurrency).await;
    match settings.format {
        Format::Text => print_status(&status, settings.quiet),
        format => json::print_document(format, &status_value(dir, &status)),
    }
    Ok(exit(if status.is_current() {
        EXIT_OK
    } else {
        EXIT_DRIFT_OR_FAILURE
    }))
}

/// Ids as JSON strings.
fn ids(tenants: &[TenantId]) -> Vec<&str> {
    tenants.iter().map(TenantId::as_str).collect()
}

/// The `migrate status` document.
fn status_value(dir: &Path, status: &MigrationStatus) -> Value {
    json!({
        "command": "migrate status",
        "dir": dir.display().to_string(),
        "tenants": status.tenants_read + status.failed.len(),
        "current": status.is_current(),
        "versions": status.versions.iter().map(|v| json!({
            "version": v.version,
            "description": v.description,
            "file": v.file,
            "applied": v.applied,
            "pending": v.lagging.len(),
            "lagging": ids(&v.lagging),
            "changed": ids(&v.changed),
        })).collect::<Vec<_>>(),
        "failed": status.failed.iter().map(|(tenant, error)| json!({
            "tenant": tenant,
            "error": json::error_value(Some(error)),
        })).collect::<Vec<_>>(),
    })
}

/// How many lagging tenants a text line names before `and N more`.
const NAMED: usize = 10;

/// `a, b, c and 4 more`.
fn some_ids(tenants: &[TenantId]) -> String {
    shapes::some_ids(tenants, NAMED)
}

/// The `migrate status` text: one line per version, the lagging tenants under it.
fn print_status(status: &MigrationStatus, quiet: bool) {
    let read = status.tenants_read;
    for version in &status.versions {
        let behind = !version.lagging.is_empty() || !version.changed.is_empty();
        if quiet && !behind {
            continue;
        }
        let color = if behind { YELLOW } else { GREEN };
        println!(
            "{}  {}  {}",
            Styled(BOLD, &format!("{:>6}", version.version)),
            Styled(color, &format!("{}/{read} applied", version.applied)),
            Styled(DIM, &format!("{} ({})", version.description, version.file)),
        );
        if !version.lagging.is_empty() {
            println!(
                "        {} {}",
                Styled(YELLOW, "lagging:"),
                some_ids(&version.lagging)
            );
        }
        if !version.changed.is_empty() {
            println!(
                "        {} {}",
                Styled(RED, "file changed since applied to:"),
                some_ids(&version.changed)
            );
        }
    }
    for (tenant, error) in &status.failed {
        println!(
            "{}  {}",
            Styled(BOLD, tenant.as_str()),
            Styled(RED, &message::core_error(error))
        );
    }
    let line = format!(
        "{} read, {} behind, {} failed",
        count(read, "tenant"),
        status
            .versions
            .iter()
            .flat_map(|v| v.lagging.iter().chain(&v.changed))
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        status.failed.len()
    );
    let color = if status.is_current() { GREEN } else { YELLOW };
    println!("{}", Styled(color, &line));
}
