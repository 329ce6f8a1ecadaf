//! `runs list` and `runs show`: read the run ledger.

use std::process::ExitCode;

use anyhow::{Result, bail};
use schema_sync_core::ledger::{RunRecord, TenantRecord};
use serde_json::json;

use super::{EXIT_OK, exit};
use crate::cli::{Format, RunsCommand};
use crate::config::Settings;
use crate::output::json::print_document;

/// Runs a `runs` subcommand.
///
/// # Errors
/// The ledger cannot be opened or read, or the run (or tenant) is not in it.
pub async fn run(command: &RunsCommand, settings: &Settings) -> Result<ExitCode> {
    let ledger = crate::ledger::open(settings).await?;
    let json_output = settings.format != Format::Text;
    match command {
        RunsCommand::List { limit, .. } => {
            let runs = ledger.list_runs(*limit).await?;
            if json_output {
                print_document(settings.format, &json!({ "runs": runs }));
            } else if runs.is_empty() {
                anstream::println!("no runs recorded in {}", ledger.location());
            } else {
                for run in &runs {
                    anstream::println!("{}", run_line(run));
                }
            }
        }
        RunsCommand::Show { run, tenant, .. } => {
            let Some(record) = ledger.run(run).await? else {
                bail!(
                    "no run {run} in the ledger {}; `schema-sync runs list` shows the recorded runs",
                    ledger.location()
                );
            };
            let mut tenants = ledger.tenants(run, tenant.is_some()).await?;
            if let Some(tenant) = tenant {
                tenants.retain(|t| &t.tenant == tenant);
                if tenants.is_empty() {
                    bail!(
                        "run {run} has no tenant {tenant:?}; `schema-sync runs show {run}` lists its tenants"
                    );
                }
            }
            if json_output {
                print_document(
                    settings.format,
                    &json!({ "run": record, "tenants": tenants }),
                );
            } else {
                print_run(&record, &tenants, tenant.is_some());
            }
        }
    }
    Ok(exit(EXIT_OK))
}

/// One line of `runs list`.
fn run_line(run: &RunRecord) -> String {
    let mut line = format!(
        "{}  {}  {:<9}  {:<8}  {}@{}  target {}",
        run.id,
        utc(run.started_at_ms),
        run.status.as_str(),
        run.command,
        run.os_user,
        run.host,
        short(&run.target_hash),
    );
    if let Some(resumes) = &run.resumes {
        line.push_str(&format!("  resumes {resumes}"));
    }
    line
}

fn print_run(run: &RunRecord, tenants: &[TenantRecord], statements: bool) {
    anstream::println!("run {} ({}, {})", run.id, run.command, run.status.as_str());
    anstream::println!(
        "  started   {}{}",
        utc(run.started_at_ms),
        run.ended_at_ms
            .map(|end| format!(", ended {}", utc(end)))
            .unwrap_or_default()
    );
    anstream::println!(
        "  by        {} on {} (database user {}), schema-sync {}",
        run.os_user,
        run.host,
        run.db_user.as_deref().unwrap_or("-"),
        run.version
    );
    anstream::println!("  command   {}", run.command_line);
    anstream::println!("  target    {}", run.target_hash);
    if let Some(resumes) = &run.resumes {
        anstream::println!("  resumes   {resumes}");
    }
    for tenant in tenants {
        let mut line = format!(
            "{:<24} {:<8} steps {}/{}",
            tenant.tenant,
            tenant.status.as_str(),
            tenant.steps_done,
            tenant.steps_total
        );
        if let (Some(before), Some(after)) = (&tenant.before_hash, &tenant.after_hash) {
            line.push_str(&format!("  {} -> {}", short(before), short(after)));
        }
        if let Some(error) = &tenant.error {
            line.push_str(&format!("  error: {error}"));
        }
        anstream::println!("{line}");
        if statements {
            for statement in &tenant.statements {
                anstream::println!("  {:>6} ms  {}", statement.duration_ms, statement.sql);
            }
        }
    }
}

/// The first 12 characters of a hash.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_709_210_096_000), "2024-02-29 12:34:56 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }
}
