//! Correctness checks on the CLI's reports: the bench asserts results, never times.
//!
//! - cold `validate`: exactly the tenants the bench drifted are `drifted`, the others are
//!   `in_sync` with the target's hash; exit code 1 when any drifted, else 0.
//! - `sync --allow-destructive`: the drifted tenants are `synced`, the others `in_sync`;
//!   nothing failed or was refused; exit code 0.
//! - `validate` after the sync: every tenant `in_sync`, its hash equal to the target's,
//!   one distinct schema; exit code 0.

use std::collections::BTreeSet;

use anyhow::{Result, bail};

use super::cli::{Report, Run, TenantOutcome, parse_report};

/// What the fleet should look like to one command.
pub struct Expectation<'a> {
    /// Command name, for messages.
    pub command: &'a str,
    /// Every tenant of the fleet.
    pub tenants: &'a BTreeSet<String>,
    /// Tenants expected in `changed_status`; all others must be `in_sync`.
    pub changed: &'a BTreeSet<String>,
    /// The status of changed tenants (`drifted` for validate, `synced` for sync).
    pub changed_status: &'a str,
    /// The exit code the command must return.
    pub exit_code: i32,
}

/// Checks `run` against `expected`; returns the parsed report.
///
/// # Errors
/// Naming up to ten offending tenants when anything differs.
pub fn check(run: &Run, expected: &Expectation<'_>) -> Result<Report> {
    let command = expected.command;
    if run.code == Some(2) || run.code.is_none() {
        bail!(
            "`{command}` failed with {}: {}",
            run.code
                .map_or("a signal".to_string(), |c| format!("exit code {c}")),
            run.stderr.trim()
        );
    }
    let report = parse_report(&run.stdout)?;
    let mut problems: Vec<String> = Vec::new();
    let seen: BTreeSet<String> = report.tenants.iter().map(|t| t.tenant.clone()).collect();
    if &seen != expected.tenants {
        let missing: Vec<_> = expected.tenants.difference(&seen).take(5).collect();
        let extra: Vec<_> = seen.difference(expected.tenants).take(5).collect();
        problems.push(format!(
            "reported {} tenants, expected {} (missing {missing:?}, unexpected {extra:?})",
            seen.len(),
            expected.tenants.len()
        ));
    }
    for tenant in &report.tenants {
        if let Some(problem) = tenant_problem(tenant, &report.target_hash, expected) {
            problems.push(problem);
        }
    }
    if run.code != Some(expected.exit_code) {
        problems.push(format!(
            "exit code {:?}, expected {}",
            run.code, expected.exit_code
        ));
    }
    if expected.changed.is_empty() && report.distinct_schemas.is_some_and(|d| d != 1) {
        problems.push(format!(
            "{} distinct schemas, expected 1",
            report.distinct_schemas.unwrap_or_default()
        ));
    }
    if !problems.is_empty() {
        let count = problems.len();
        problems.truncate(10);
        bail!(
            "`{command}` is wrong in {count} way(s):\n  {}\nstderr: {}",
            problems.join("\n  "),
            run.stderr.trim().chars().take(2000).collect::<String>()
        );
    }
    Ok(report)
}

fn tenant_problem(
    tenant: &TenantOutcome,
    target_hash: &str,
    expected: &Expectation<'_>,
) -> Option<String> {
    let name = &tenant.tenant;
    if let Some(error) = &tenant.error {
        return Some(format!("{name}: {} with error {error}", tenant.status));
    }
    let want = if expected.changed.contains(name) {
        expected.changed_status
    } else {
        "in_sync"
    };
    if tenant.status != want {
        return Some(format!("{name}: status {}, expected {want}", tenant.status));
    }
    let matches_target = tenant.hash.as_deref() == Some(target_hash);
    if want == "in_sync" && !matches_target {
        return Some(format!(
            "{name}: in sync but hash {:?} differs from the target's {target_hash}",
            tenant.hash
        ));
    }
    if want != "in_sync" && matches_target {
        return Some(format!("{name}: {want} but its hash equals the target's"));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn run(code: i32, tenants: &[(&str, &str, &str)]) -> Run {
        let tenants: Vec<String> = tenants
            .iter()
            .map(|(t, s, h)| {
                format!(r#"{{"tenant":"{t}","status":"{s}","hash":"{h}","error":null}}"#)
            })
            .collect();
        Run {
            elapsed: Duration::ZERO,
            peak_rss_kib: None,
            code: Some(code),
            stdout: format!(
                r#"{{"target_hash":"T","tenants":[{}],"summary":{{"distinct_schemas":1}}}}"#,
                tenants.join(",")
            ),
            stderr: String::new(),
        }
    }

    #[test]
    fn accepts_the_expected_drift_and_rejects_other() {
        let tenants: BTreeSet<String> = ["a", "b"].map(String::from).into();
        let changed: BTreeSet<String> = ["b"].map(String::from).into();
        let expected = Expectation {
            command: "validate",
            tenants: &tenants,
            changed: &changed,
            changed_status: "drifted",
            exit_code: 1,
        };
        assert!(
            check(
                &run(1, &[("a", "in_sync", "T"), ("b", "drifted", "X")]),
                &expected
            )
            .is_ok()
        );
        assert!(
            check(
                &run(1, &[("a", "drifted", "X"), ("b", "drifted", "X")]),
                &expected
            )
            .is_err()
        );
        assert!(
            check(
                &run(0, &[("a", "in_sync", "T"), ("b", "drifted", "X")]),
                &expected
            )
            .is_err()
        );
        assert!(
            check(
                &run(1, &[("a", "in_sync", "X"), ("b", "drifted", "X")]),
                &expected
            )
            .is_err()
        );
        assert!(check(&run(1, &[("a", "in_sync", "T")]), &expected).is_err());
    }
}
