//! The text output: grouped per tenant, a one-line summary at the end.

use std::collections::BTreeMap;

use anstream::println;
use schema_sync_core::{FleetReport, FleetSummary, TenantReport, TenantStatus};

use super::style::{BOLD, CYAN, DIM, GREEN, RED, Styled, YELLOW};

/// How much to print per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Only failures and the summary.
    Quiet,
    /// Drifted, synced and failed tenants, one line each.
    Normal,
    /// Every tenant, with the diff of each drifted one.
    Full,
}

fn status_word(status: TenantStatus) -> Styled<'static> {
    match status {
        TenantStatus::InSync => Styled(GREEN, "in sync"),
        TenantStatus::Drifted => Styled(YELLOW, "drifted"),
        TenantStatus::Synced => Styled(CYAN, "synced "),
        TenantStatus::Refused => Styled(RED, "refused"),
        TenantStatus::Failed => Styled(RED, "failed "),
        TenantStatus::Skipped => Styled(DIM, "skipped"),
    }
}

/// Prints each tenant's outcome; the diff of drifted tenants when `show_diff`. Tenants
/// whose schema equals one already shown point at it instead of repeating the diff.
pub fn print_fleet(report: &FleetReport, detail: Detail, show_diff: bool) {
    let mut shown: BTreeMap<&str, &str> = BTreeMap::new();
    for tenant in &report.tenants {
        let interesting = !matches!(tenant.status, TenantStatus::InSync | TenantStatus::Skipped);
        let print = match detail {
            Detail::Quiet => tenant.status.is_failure(),
            Detail::Normal => interesting,
            Detail::Full => true,
        };
        if !print {
            continue;
        }
        println!(
            "{}  {}{}",
            status_word(tenant.status),
            Styled(BOLD, tenant.tenant.as_str()),
            summary_suffix(tenant)
        );
        if let Some(error) = &tenant.error {
            println!("    {}", Styled(RED, &error.to_string()));
        }
        let wants_diff = show_diff || detail == Detail::Full;
        if wants_diff
            && matches!(
                tenant.status,
                TenantStatus::Drifted | TenantStatus::Synced | TenantStatus::Refused
            )
        {
            print_diff_once(tenant, &mut shown);
        }
    }
}

/// `1 step`, `4 steps`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn summary_suffix(tenant: &TenantReport) -> String {
    let changes = tenant.diff.as_ref().map_or(0, |d| d.change_count());
    match (tenant.status, &tenant.execution) {
        (TenantStatus::Synced, Some(execution)) => {
            format!(
                "  {}, {} in {} ms",
                count(execution.steps_succeeded, "step"),
                count(execution.statements_executed, "statement"),
                execution.duration_ms
            )
        }
        (TenantStatus::Drifted, _) => {
            let destructive = if tenant.plan.as_ref().is_some_and(|p| p.is_destructive()) {
                ", destructive"
            } else {
                ""
            };
            format!(
                "  {changes} change{}{destructive}",
                if changes == 1 { "" } else { "s" }
            )
        }
        _ => String::new(),
    }
}

fn print_diff_once<'a>(tenant: &'a TenantReport, shown: &mut BTreeMap<&'a str, &'a str>) {
    let (Some(hash), Some(diff)) = (&tenant.hash, &tenant.diff) else {
        return;
    };
    if let Some(first) = shown.get(hash.as_str()) {
        println!("    {}", Styled(DIM, &format!("same changes as {first}")));
        return;
    }
    shown.insert(hash.as_str(), tenant.tenant.as_str());
    for line in diff.to_text().lines() {
        let color = match line.trim_start().chars().next() {
            Some('+') => GREEN,
            Some('-') => RED,
            _ => YELLOW,
        };
        println!("    {}", Styled(color, line));
    }
    if let Some(plan) = &tenant.plan {
        for unresolved in &plan.unresolved {
            println!("    {}", Styled(RED, &format!("! {unresolved}")));
        }
    }
}

/// `998 in sync, 2 drifted, 0 failed` plus any other non-zero counts and timing.
pub fn summary_line(summary: &FleetSummary, duration_ms: u128) -> String {
    let mut parts = vec![format!("{} in sync", summary.in_sync)];
    if summary.synced > 0 {
        parts.push(format!("{} synced", summary.synced));
    }
    parts.push(format!("{} drifted", summary.drifted));
    if summary.refused > 0 {
        parts.push(format!("{} refused", summary.refused));
    }
    parts.push(format!("{} failed", summary.failed));
    if summary.skipped > 0 {
        parts.push(format!("{} skipped", summary.skipped));
    }
    format!(
        "{} ({} tenants, {} distinct schema{}, {:.1} s)",
        parts.join(", "),
        summary.total,
        summary.distinct_schemas,
        if summary.distinct_schemas == 1 {
            ""
        } else {
            "s"
        },
        duration_ms as f64 / 1000.0
    )
}

/// Prints the summary line, colored by outcome.
pub fn print_summary(summary: &FleetSummary, duration_ms: u128) {
    let color = if summary.failed + summary.refused > 0 {
        RED
    } else if summary.drifted > 0 {
        YELLOW
    } else {
        GREEN
    };
    println!("{}", Styled(color, &summary_line(summary, duration_ms)));
}
