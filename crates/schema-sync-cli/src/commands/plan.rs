//! `plan`: the SQL that sync would run, printed or written one file per tenant.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use anstream::println;
use anyhow::{Context, Result};
use schema_sync_core::{Engine, TenantStatus};
use serde_json::json;

use super::check::{fleet_options, prepare, run_with_progress};
use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::output::json::{error_value, print_document, print_line, summary_line};
use crate::output::message::{self, count};
use crate::output::style::{BOLD, DIM, RED, Styled};

/// What `plan` was asked for beyond the shared settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions<'a> {
    /// `--out DIR`: write one script per tenant there.
    pub out: Option<&'a Path>,
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
    let (target, tenants) = prepare(engine, settings).await?;
    let contexts: BTreeMap<_, _> = tenants
        .iter()
        .map(|t| (t.id().clone(), t.clone()))
        .collect();
    let fleet = fleet_options(settings, false, true);
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
