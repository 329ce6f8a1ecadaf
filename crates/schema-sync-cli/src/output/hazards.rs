//! Hazards in text: one compact line per plan step that carries any, shared by `diff`,
//! `sync` (under the changes) and `plan` (as comments in the script).

use anstream::println;
use schema_sync_core::{DataCheck, MigrationPlan};

use super::style::{DIM, RED, Styled, YELLOW};

/// One annotated step: `step 3 add unique users_email_key on users  [builds an index, ...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HazardLine {
    /// Whether a hazard of the step can lose data or fail the tenant.
    pub severe: bool,
    /// The line, without color.
    pub text: String,
}

/// The hazard line of every step of `plan` that has hazards, in step order.
pub fn hazard_lines(plan: &MigrationPlan) -> Vec<HazardLine> {
    plan.steps
        .iter()
        .enumerate()
        .filter(|(_, step)| !step.hazards.is_empty())
        .map(|(index, step)| HazardLine {
            severe: step.hazards.iter().any(|h| h.is_severe()),
            text: format!(
                "step {} {}  [{}]",
                index + 1,
                step.operation,
                step.hazards
                    .iter()
                    .map(|h| h.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

/// Prints the hazards of `plan` under a tenant's changes: red where a step can lose data
/// or fail on existing rows, yellow where it only costs time or locks.
pub fn print_hazards(plan: &MigrationPlan) {
    let lines = hazard_lines(plan);
    if lines.is_empty() {
        return;
    }
    println!("    {}", Styled(DIM, "hazards:"));
    for line in lines {
        let color = if line.severe { RED } else { YELLOW };
        println!("      {}", Styled(color, &line.text));
    }
}

/// `-- HAZARD step 2 ...` and `-- CHECK DATA ...` header lines of a plan script.
pub fn script_comments(plan: &MigrationPlan, checks: &[DataCheck]) -> String {
    let mut out = String::new();
    for line in hazard_lines(plan) {
        out.push_str(&format!("-- HAZARD {}\n", line.text));
    }
    for check in checks {
        out.push_str(&format!("-- CHECK DATA step {}: {check}\n", check.step + 1));
    }
    out
}

#[cfg(test)]
mod tests {
    use schema_sync_core::plan::{Finding, PlanStep};
    use schema_sync_core::snapshot::{Column, DataType};
    use schema_sync_core::{Hazard, Operation, SchemaSnapshot};

    use super::*;

    /// One step per hazard kind, and one without hazards (not shown).
    fn plan_with_every_hazard() -> MigrationPlan {
        let mut steps: Vec<PlanStep> = Hazard::ALL
            .iter()
            .enumerate()
            .map(|(i, hazard)| PlanStep {
                operation: Operation::DropColumn {
                    table: "users".into(),
                    name: format!("c{i}"),
                    from: Column::new(DataType::named("text")),
                },
                destructive: false,
                hazards: vec![*hazard],
                depends_on: Vec::new(),
                outside_transaction: false,
                algorithm: None,
            })
            .collect();
        steps.push(PlanStep {
            operation: Operation::SetTableComment {
                table: "users".into(),
                comment: None,
            },
            destructive: false,
            hazards: Vec::new(),
            depends_on: Vec::new(),
            outside_transaction: false,
            algorithm: None,
        });
        steps.push(PlanStep {
            operation: Operation::AlterColumn {
                table: "users".into(),
                name: "email".into(),
                from: Column::new(DataType::named("text")),
                to: Column {
                    nullable: false,
                    ..Column::new(DataType::named("text"))
                },
            },
            destructive: false,
            hazards: vec![
                Hazard::ValidatesRows,
                Hazard::MayFailOnRows,
                Hazard::AccessExclusiveLock,
            ],
            depends_on: Vec::new(),
            outside_transaction: false,
            algorithm: None,
        });
        MigrationPlan {
            source_hash: SchemaSnapshot::empty().hash(),
            target_hash: SchemaSnapshot::empty().hash(),
            steps,
            unresolved: Vec::new(),
            strict_column_order: false,
        }
    }

    #[test]
    fn every_hazard_kind_renders_as_a_step_line() {
        let lines: Vec<String> = hazard_lines(&plan_with_every_hazard())
            .into_iter()
            .map(|l| format!("{} {}", if l.severe { "!" } else { " " }, l.text))
            .collect();
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn plan_scripts_carry_hazards_and_row_counts_as_comments() {
        let plan = plan_with_every_hazard();
        let checks = [
            DataCheck {
                step: 0,
                table: "users".into(),
                rows: 1,
                finding: Finding::HoldDataIn {
                    column: "c0".into(),
                },
            },
            DataCheck {
                step: 12,
                table: "users".into(),
                rows: 42,
                finding: Finding::NullIn {
                    column: "email".into(),
                },
            },
        ];
        insta::assert_snapshot!(script_comments(&plan, &checks));
    }
}
