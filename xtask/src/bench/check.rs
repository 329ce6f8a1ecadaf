//! Correctness checks on the CLI's reports: the bench asserts results, never times.
//!
//! - cold `validate`: exactly the tenants the bench drifted are `drifted`, the others are
//!   `in_sync` with the target's hash; exit code 1 when any drifted, else 0.
//! - `sync --allow-destructive`: the drifted tenants are `synced`, the others `in_sync`;
//!   nothing failed or was refused; exit code 0.
//! - `validate` after the sync: every tenant `in_sync`, its hash equal to the target's,
//!   one distinct schema; exit code 0.
//! - a warm `validate` (answered from the snapshot cache): the same as above, and every
//!   tenant's status and hash the same as in the full read before it ([`same_tenants`]).

use std::collections::{BTreeMap, BTreeSet};

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

/// Checks that `report` says of every tenant what `reference` (the report of the phase
/// `reference_name`) said: the same target hash, and per tenant the same status and hash.
///
/// # Errors
/// Naming up to ten tenants that differ.
pub fn same_tenants(
    report: &Report,
    reference: &Report,
    command: &str,
    reference_name: &str,
) -> Result<()> {
    let mut problems = Vec::new();
    if report.target_hash != reference.target_hash {
        problems.push(format!(
            "target hash {}, {reference_name} had {}",
            report.target_hash, reference.target_hash
        ));
    }
    let outcomes = |report: &Report| -> BTreeMap<String, (String, Option<String>)> {
        report
            .tenants
            .iter()
            .map(|t| (t.tenant.clone(), (t.status.clone(), t.hash.clone())))
            .collect()
    };
    let before = outcomes(reference);
    let now = outcomes(report);
    for (tenant, outcome) in &now {
        match before.get(tenant) {
            Some(earlier) if earlier == outcome => {}
            Some(earlier) => problems.push(format!(
                "{tenant}: {} with hash {:?}, {reference_name} said {} with hash {:?}",
                outcome.0, outcome.1, earlier.0, earlier.1
            )),
            None => problems.push(format!("{tenant}: not in {reference_name}")),
        }
    }
    for tenant in before.keys().filter(|t| !now.contains_key(*t)) {
        problems.push(format!("{tenant}: missing, {reference_name} had it"));
    }
    if !problems.is_empty() {
        let count = problems.len();
        problems.truncate(10);
        bail!(
            "`{command}` differs from {reference_name} in {count} way(s):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(())
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
    fn a_warm_report_must_repeat_the_full_read() -> Result<()> {
        let full = parse_report(&run(1, &[("a", "in_sync", "T"), ("b", "drifted", "X")]).stdout)?;
        let same = parse_report(&run(1, &[("b", "drifted", "X"), ("a", "in_sync", "T")]).stdout)?;
        same_tenants(&same, &full, "validate", "cold")?;
        let other_hash =
            parse_report(&run(1, &[("a", "in_sync", "T"), ("b", "drifted", "Y")]).stdout)?;
        assert!(same_tenants(&other_hash, &full, "validate", "cold").is_err());
        let fewer = parse_report(&run(1, &[("a", "in_sync", "T")]).stdout)?;
        assert!(same_tenants(&fewer, &full, "validate", "cold").is_err());
        assert!(same_tenants(&full, &fewer, "validate", "cold").is_err());
        Ok(())
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
