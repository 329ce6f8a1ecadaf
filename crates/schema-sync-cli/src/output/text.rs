//! The text output: a line (and the diff) per tenant as it finishes, a one-line summary at
//! the end.

use std::collections::BTreeMap;
use std::sync::Mutex;

use anstream::println;
use schema_sync_core::{FleetSummary, MigrationPlan, SchemaDiff, TenantReport, TenantStatus};

use super::message::{self, count};
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

impl Detail {
    /// The detail `-q` and `-v` ask for.
    pub fn from_flags(quiet: bool, verbose: bool) -> Self {
        match (quiet, verbose) {
            (true, _) => Detail::Quiet,
            (false, true) => Detail::Full,
            (false, false) => Detail::Normal,
        }
    }
}

/// The status as the text output prints it, colored.
pub fn status_word(status: TenantStatus) -> Styled<'static> {
    match status {
        TenantStatus::InSync => Styled(GREEN, "in sync"),
        TenantStatus::Drifted => Styled(YELLOW, "drifted"),
        TenantStatus::Synced => Styled(CYAN, "synced "),
        TenantStatus::Refused => Styled(RED, "refused"),
        TenantStatus::Failed => Styled(RED, "failed "),
        TenantStatus::Skipped => Styled(DIM, "skipped"),
    }
}

/// Prints each tenant's outcome as it finishes; the diff of drifted tenants when
/// `show_diff`. Tenants whose schema equals one already shown point at it instead of
/// repeating the diff.
pub struct TenantPrinter {
    detail: Detail,
    show_diff: bool,
    /// Snapshot hash to the first tenant whose diff was shown.
    shown: Mutex<BTreeMap<String, String>>,
}

impl TenantPrinter {
    /// A printer for one run.
    pub fn new(detail: Detail, show_diff: bool) -> Self {
        Self {
            detail,
            show_diff,
            shown: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints one tenant's lines, if this level of detail shows it.
    pub fn print(&self, tenant: &TenantReport) {
        // In sync but with columns in another order: reported, not drift.
        let reordered = tenant.status == TenantStatus::InSync && column_order_changes(tenant) > 0;
        let interesting =
            reordered || !matches!(tenant.status, TenantStatus::InSync | TenantStatus::Skipped);
        let print = match self.detail {
            Detail::Quiet => tenant.status.is_failure(),
            Detail::Normal => interesting,
            Detail::Full => true,
        };
        if !print {
            return;
        }
        println!(
            "{}  {}{}",
            status_word(tenant.status),
            Styled(BOLD, tenant.tenant.as_str()),
            summary_suffix(tenant)
        );
        if let Some(error) = &tenant.error {
            println!("    {}", Styled(RED, &message::core_error(error)));
        }
        let wants_diff = self.show_diff || self.detail == Detail::Full;
        if wants_diff
            && (reordered
                || matches!(
                    tenant.status,
                    TenantStatus::Drifted | TenantStatus::Synced | TenantStatus::Refused
                ))
        {
            self.print_diff_once(tenant);
        }
    }

    fn print_diff_once(&self, tenant: &TenantReport) {
        let (Some(hash), Some(diff)) = (&tenant.hash, &tenant.diff) else {
            return;
        };
        {
            let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(first) = shown.get(hash.as_str()) {
                println!("    {}", Styled(DIM, &format!("same changes as {first}")));
                return;
            }
            shown.insert(
                hash.as_str().to_string(),
                tenant.tenant.as_str().to_string(),
            );
        }
        print_changes(diff, tenant.plan.as_deref());
    }
}

/// Prints a diff's changes, indented and colored by kind (`+` added, `-` dropped, `~`
/// changed), then what the plan cannot resolve and the hazards of its steps: the one rendering of changes that the
/// per-tenant lines and the shape blocks share.
pub fn print_changes(diff: &SchemaDiff, plan: Option<&MigrationPlan>) {
    for line in diff.to_text().lines() {
        let color = match line.trim_start().chars().next() {
            Some('+') => GREEN,
            Some('-') => RED,
            _ => YELLOW,
        };
        println!("    {}", Styled(color, line));
    }
    for unresolved in plan.map_or(&[][..], |p| &p.unresolved) {
        println!("    {}", Styled(RED, &format!("! {unresolved}")));
    }
    if let Some(plan) = plan {
        super::hazards::print_hazards(plan);
    }
    print_outside_steps(plan);
}

/// Lists the steps that run outside the tenant's transaction, after it commits
/// (`--strategy online`): a failure there is not rolled back, and the next run finishes.
fn print_outside_steps(plan: Option<&MigrationPlan>) {
    let outside: Vec<String> = plan
        .map_or(&[][..], |p| &p.steps)
        .iter()
        .filter(|s| s.outside_transaction)
        .map(|s| s.operation.to_string())
        .collect();
    if outside.is_empty() {
        return;
    }
    println!(
        "    {}",
        Styled(
            DIM,
            &format!(
                "after commit, outside the transaction ({}):",
                count(outside.len(), "step")
            )
        )
    );
    for step in outside {
        println!("      {}", Styled(DIM, &step));
    }
}

fn column_order_changes(tenant: &TenantReport) -> usize {
    tenant.diff.as_ref().map_or(0, |d| d.column_order_changes())
}

fn summary_suffix(tenant: &TenantReport) -> String {
    let changes = tenant.diff.as_ref().map_or(0, |d| d.change_count());
    match (tenant.status, &tenant.execution) {
        (TenantStatus::InSync, _) if column_order_changes(tenant) > 0 => format!(
            "  column order differs in {} (not drift without --strict-column-order)",
            count(column_order_changes(tenant), "table")
        ),
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
            format!("  {}{destructive}", count(changes, "change"))
        }
        _ => String::new(),
    }
}

/// `998 in sync, 2 drifted, 0 failed` plus any other non-zero counts and timing.
pub fn summary_line(summary: &FleetSummary, duration_ms: u128) -> String {
    format!(
        "{} ({}, {}, {:.1} s)",
        status_counts(summary),
        count(summary.total, "tenant"),
        count(summary.distinct_schemas, "distinct schema"),
        duration_ms as f64 / 1000.0
    )
}

/// `998 in sync, 2 drifted, 0 failed` plus any other non-zero counts.
pub fn status_counts(summary: &FleetSummary) -> String {
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
    parts.join(", ")
}

/// Prints the summary line, colored by outcome, and what skipped tenants mean.
pub fn print_summary(summary: &FleetSummary, duration_ms: u128) {
    let color = if summary.failed + summary.refused + summary.skipped > 0 {
        RED
    } else if summary.drifted > 0 {
        YELLOW
    } else {
        GREEN
    };
    println!("{}", Styled(color, &summary_line(summary, duration_ms)));
    if summary.skipped > 0 {
        println!(
            "{}",
            Styled(
                RED,
                &format!(
                    "{} not checked: the --max-failures limit was reached; fix the failures and run again",
                    count(summary.skipped, "skipped tenant")
                )
            )
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_says_tenant_in_singular() {
        let summary = FleetSummary {
            total: 1,
            in_sync: 1,
            distinct_schemas: 1,
            ..FleetSummary::default()
        };
        assert_eq!(
            summary_line(&summary, 1500),
            "1 in sync, 0 drifted, 0 failed (1 tenant, 1 distinct schema, 1.5 s)"
        );
    }
}
