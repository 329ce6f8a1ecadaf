//! How many rows a refused destructive plan would have lost.
//!
//! A refusal that only says "drop column users.legacy" leaves the user to find out
//! whether the column is empty. When sync refuses destructive steps, the engine counts,
//! read-only through [`MigrationRunner::check_data`](crate::MigrationRunner::check_data),
//! the rows holding data in each dropped column and the rows of each dropped table, and
//! names them in the refusal. It runs only on the refusal path (one `count(*)` per
//! dropped column or table), so a plan that is allowed pays nothing. Counting is a
//! courtesy: when it fails (a read-only replica that cannot open a transaction, an
//! adapter that cannot count), the refusal is returned as it was.

use crate::adapter::MigrationRunner;
use crate::error::Error;
use crate::plan::{DataCheck, Finding, MigrationPlan};
use crate::tenant::TenantContext;

/// `refusal` with, when it is [`Error::DestructiveRefused`], each loss followed by the
/// rows it would delete: `drop column users.legacy (varchar(50)) and every value in it:
/// 2 rows in `users` hold data in `legacy``. Any other error is returned unchanged.
pub(super) async fn count_losses(
    runner: &dyn MigrationRunner,
    tenant: &TenantContext,
    plan: &MigrationPlan,
    refusal: Error,
) -> Error {
    let Error::DestructiveRefused {
        tenant: id,
        mut losses,
    } = refusal
    else {
        return refusal;
    };
    // `losses` lists the destructive steps in plan order: a plan of those steps alone
    // numbers its steps as `losses` does.
    let destructive = MigrationPlan {
        steps: plan
            .steps
            .iter()
            .filter(|s| s.destructive)
            .cloned()
            .collect(),
        unresolved: Vec::new(),
        ..plan.clone()
    };
    if let Ok(checks) = runner.check_data(tenant, &destructive).await {
        annotate(&mut losses, &checks);
    }
    Error::DestructiveRefused { tenant: id, losses }
}

/// Appends to each loss the counts of rows it would delete.
fn annotate(losses: &mut [String], checks: &[DataCheck]) {
    for check in checks {
        let deletes = matches!(
            check.finding,
            Finding::HoldDataIn { .. } | Finding::WouldBeDeleted
        );
        if let (true, Some(loss)) = (deletes, losses.get_mut(check.step)) {
            loss.push_str(&format!(": {check}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_loss_gets_its_own_count_and_other_findings_are_left_out() {
        let mut losses = vec![
            "drop column users.legacy".to_string(),
            "drop table notes".into(),
        ];
        let check = |step, finding| DataCheck {
            step,
            table: if step == 0 { "users" } else { "notes" }.into(),
            rows: 2,
            finding,
        };
        annotate(
            &mut losses,
            &[
                check(
                    0,
                    Finding::HoldDataIn {
                        column: "legacy".into(),
                    },
                ),
                check(
                    0,
                    Finding::NullIn {
                        column: "email".into(),
                    },
                ),
                check(1, Finding::WouldBeDeleted),
                check(7, Finding::WouldBeDeleted),
            ],
        );
        assert_eq!(
            losses,
            [
                "drop column users.legacy: 2 rows in `users` hold data in `legacy`",
                "drop table notes: 2 rows in `notes` would be deleted",
            ]
        );
    }
}
