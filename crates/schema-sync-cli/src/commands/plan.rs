//! `plan`: the SQL that sync would run, printed or written one file per tenant, or with
//! `--layout` one versioned migration per drift shape (`export.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use anyhow::{Context, Result};
use schema_sync_core::{Engine, TenantStatus};
use serde_json::json;

use super::check::{fleet_options, prepare, run_with_progress};
use super::export::{ExportRequest, Exported, MANIFEST_FILE, export};
use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::{Format, Layout};
use crate::config::Settings;
use crate::output::json::{error_value, print_document, print_line, summary_line};
use crate::output::message::{self, count};
use crate::output::style::{BOLD, DIM, RED, Styled};

/// What `plan` was asked for beyond the shared settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions<'a> {
    /// `--out DIR`: write one script per tenant there.
    pub out: Option<&'a Path>,
    /// `--layout`: write versioned migrations per drift shape into `out` instead.
    pub layout: Option<Layout>,
    /// `--allow-destructive` (or the config key): with `layout`, write migrations that
    /// lose data.
    pub allow_destructive: bool,
    /// `--check-data`: count the rows each step would fail on or lose.
    pub check_data: bool,
}

/// Runs `plan`.
pub async fn run(
    engine: &Engine,
    settings: &Settings,
    options: &PlanOptions<'_>,
) -> Result<ExitCode> {
    let out = options.out;
    if let (Some(dir), Some(_)) = (out, options.layout) {
        refuse_an_earlier_export(dir)?;
    }
    let (target, tenants) = prepare(engine, settings).await?;
    let contexts: BTreeMap<_, _> = tenants
        .iter()
        .map(|t| (t.id().clone(), t.clone()))
        .collect();
    let mut fleet = fleet_options(settings, false, true);
    // Shapes are exported from their live snapshots.
    fleet.sync.keep_snapshots = options.layout.is_some();
    let json_output = settings.format != Format::Text;
    let report = run_with_progress(
        engine,
        tenants,
        &target,
        &fleet,
        settings.quiet || json_output,
        &|_| {},
    )
    .await;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    if let (Some(dir), Some(layout)) = (out, options.layout) {
        let request = ExportRequest {
            dir,
            layout,
            allow_destructive: options.allow_destructive,
            strict_column_order: settings.strict_column_order,
        };
        let mut shared = settings.shared_namespaces.clone();
        shared.extend(target.referenced_namespaces());
        let guard = engine.isolation_guard(None, &shared).await?;
        let exported = export(engine, &report, &contexts, &target, &guard, &request).await?;
        return Ok(print_export(settings, &report, &target, dir, &exported));
    }
    let mut failures = report.summary.failed;
    let mut documents = Vec::new();
    let mut report_error = |tenant: &schema_sync_core::TenantId,
                            error: &schema_sync_core::Error| {
        documents.push(json!({ "tenant": tenant, "error": error_value(Some(error)) }));
        if !json_output {
            println!(
                "{}  {}",
                Styled(BOLD, tenant.as_str()),
                Styled(RED, &message::core_error(error))
            );
        }
    };
    let mut scripts = Vec::new();
    for tenant in &report.tenants {
        let (Some(plan), Some(context)) = (&tenant.plan, contexts.get(&tenant.tenant)) else {
            if let Some(error) = &tenant.error {
                report_error(&tenant.tenant, error);
            }
            continue;
        };
        if tenant.status == TenantStatus::InSync {
            continue;
        }
        let runner = engine.adapter().runner();
        let rendered = match runner.render(context, plan).await {
            Ok(statements) if options.check_data => runner
                .check_data(context, plan)
                .await
                .map(|checks| (statements, checks)),
            Ok(statements) => Ok((statements, Vec::new())),
            Err(error) => Err(error),
        };
        match rendered {
            Ok((statements, checks)) => scripts.push((tenant, plan, statements, checks)),
            Err(error) => {
                failures += 1;
                report_error(&tenant.tenant, &error);
            }
        }
    }
    for (tenant, plan, statements, checks) in scripts {
        let script = sql_script(tenant.tenant.as_str(), plan, &statements, &checks);
        let checks_json = options.check_data.then(|| json!(checks));
        if let Some(dir) = out {
            let path = dir.join(format!("{}.sql", file_name(tenant.tenant.as_str())));
            std::fs::write(&path, &script)
                .with_context(|| format!("cannot write {}", path.display()))?;
            documents.push(
                json!({ "tenant": tenant.tenant, "file": path, "statements": statements.len(), "hazards": hazards_json(plan), "data_checks": checks_json }),
            );
            if !json_output {
                println!(
                    "{}  {}",
                    Styled(BOLD, tenant.tenant.as_str()),
                    Styled(DIM, &path.display().to_string())
                );
            }
        } else {
            documents.push(json!({ "tenant": tenant.tenant, "statements": statements, "hazards": hazards_json(plan), "data_checks": checks_json }));
            if !json_output {
                println!("{script}");
            }
        }
    }
    let skipped = report.summary.skipped;
    match settings.format {
        Format::Json => print_document(
            settings.format,
            &json!({ "command": "plan", "target_hash": target.hash(), "tenants": documents }),
        ),
        Format::Jsonl => {
            for mut document in documents {
                document["type"] = json!("tenant");
                document["command"] = json!("plan");
                print_line(&document);
            }
            let summary =
                json!({ "total": report.summary.total, "failed": failures, "skipped": skipped });
            print_line(&summary_line("plan", Some(&target.hash()), summary));
        }
        Format::Text if skipped > 0 => println!(
            "{}",
            Styled(
                RED,
                &format!(
                    "{} not planned: the --max-failures limit was reached",
                    count(skipped, "skipped tenant")
                )
            )
        ),
        Format::Text => {}
    }
    Ok(exit(if failures + skipped > 0 {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    }))
}

/// Prints what an export wrote and what it refused, and returns the exit code: 1 when a
/// tenant failed, a shape or a down migration was refused or failed, or tenants were
/// skipped.
fn print_export(
    settings: &Settings,
    report: &schema_sync_core::FleetReport,
    target: &schema_sync_core::SchemaSnapshot,
    dir: &Path,
    exported: &Exported,
) -> ExitCode {
    let failed: Vec<_> = report
        .tenants
        .iter()
        .filter_map(|t| t.error.as_ref().map(|e| (&t.tenant, e)))
        .collect();
    let manifest_path = dir.join(MANIFEST_FILE);
    if settings.format == Format::Text {
        for (tenant, error) in &failed {
            println!(
                "{}  {}",
                Styled(BOLD, tenant.as_str()),
                Styled(RED, &message::core_error(error))
            );
        }
        for migration in &exported.manifest.migrations {
            println!(
                "{}  {}  {}",
                Styled(BOLD, &migration.version),
                Styled(DIM, &dir.join(&migration.up).display().to_string()),
                count(migration.tenants.len(), "tenant")
            );
        }
        for problem in &exported.problems {
            println!(
                "{}  {}",
                Styled(BOLD, &problem.label()),
                Styled(RED, &problem.message)
            );
        }
        println!("{}", Styled(DIM, &manifest_path.display().to_string()));
    } else {
        let problems: Vec<_> = exported
            .problems
            .iter()
            .map(|p| {
                json!({ "shape_hash": p.shape, "tenants": p.tenants, "refused": p.refused, "error": p.message })
            })
            .collect();
        let tenants: Vec<_> = failed
            .iter()
            .map(|(tenant, error)| json!({ "tenant": tenant, "error": error_value(Some(error)) }))
            .collect();
        if settings.format == Format::Jsonl {
            let lines = [
                ("migration", json!(exported.manifest.migrations)),
                ("problem", json!(problems)),
                ("tenant", json!(tenants)),
            ];
            for (kind, values) in lines {
                for mut value in values.as_array().cloned().unwrap_or_default() {
                    value["type"] = json!(kind);
                    value["command"] = json!("plan");
                    print_line(&value);
                }
            }
            let summary = json!({
                "layout": exported.manifest.layout,
                "manifest": manifest_path,
                "migrations": exported.manifest.migrations.len(),
                "problems": problems.len(),
                "failed": tenants.len(),
                "skipped": report.summary.skipped,
            });
            print_line(&summary_line("plan", Some(&target.hash()), summary));
        } else {
            print_document(
                settings.format,
                &json!({
                    "command": "plan",
                    "target_hash": target.hash(),
                    "layout": exported.manifest.layout,
                    "manifest": manifest_path,
                    "migrations": exported.manifest.migrations,
                    "problems": problems,
                    "tenants": tenants,
                }),
            );
        }
    }
    let trouble = failed.len() + exported.problems.len() + report.summary.skipped;
    exit(if trouble > 0 {
        EXIT_DRIFT_OR_FAILURE
    } else {
        EXIT_OK
    })
}

/// Each step with hazards, as `{ "step": 3, "operation": "...", "hazards": [...] }`
/// (`step` indexes the plan's steps from 0, as `depends_on` and `data_checks` do).
fn hazards_json(plan: &schema_sync_core::MigrationPlan) -> serde_json::Value {
    plan.steps
        .iter()
        .enumerate()
        .filter(|(_, step)| !step.hazards.is_empty())
        .map(|(index, step)| {
            json!({
                "step": index,
                "operation": step.operation.to_string(),
                "hazards": step.hazards,
            })
        })
        .collect()
}

/// A migration file: a header naming the tenant, each destructive step, each step's
/// hazards and the rows `--check-data` counted, then the SQL.
fn sql_script(
    tenant: &str,
    plan: &schema_sync_core::MigrationPlan,
    statements: &[String],
    checks: &[schema_sync_core::DataCheck],
) -> String {
    let mut script = format!(
        "-- schema-sync plan for tenant {tenant}\n-- from {} to {}\n",
        plan.source_hash.short(),
        plan.target_hash.short()
    );
    for loss in plan.losses() {
        script.push_str(&format!("-- DESTRUCTIVE: {loss}\n"));
    }
    script.push_str(&crate::output::hazards::script_comments(plan, checks));
    let outside = plan.steps.iter().filter(|s| s.outside_transaction).count();
    if outside > 0 {
        script.push_str(&format!(
            "-- {outside} step(s) marked /* outside the transaction */ run after the others commit, each on its own and not in a transaction block (CONCURRENTLY, VALIDATE)\n"
        ));
    }
    for statement in statements {
        script.push_str(statement.trim_end_matches(';'));
        script.push_str(";\n");
    }
    script
}

/// A file name for a tenant id: characters that are unsafe in paths become `_`.
fn file_name(tenant: &str) -> String {
    tenant
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses an export into `dir` when it holds an earlier export's manifest: the new
/// manifest would replace it, and the earlier migrations, no longer listed, would then
/// be for every tenant (`migrate` gives an unlisted file to all of them).
///
/// # Errors
/// When `dir` has a `manifest.json`.
fn refuse_an_earlier_export(dir: &Path) -> Result<()> {
    let manifest = dir.join(super::export::MANIFEST_FILE);
    if manifest.exists() {
        anyhow::bail!(
            "{} holds an earlier export ({}); export into an empty directory, or apply and move away the earlier migrations first: a new manifest would leave them unscoped, for every tenant",
            dir.display(),
            manifest.display()
        );
    }
    Ok(())
}
