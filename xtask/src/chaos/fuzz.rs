//! The fuzz tests, run with a chosen case count.
//!
//! The properties live with the code they fuzz, as ordinary integration tests, so
//! `cargo test` runs them at a small count: `crates/schema-sync-core/tests/fuzz.rs` (the
//! snapshot JSON loader and hash, URL redaction) in-process, and
//! `crates/schema-sync-cli/tests/fuzz.rs` (the config file, `--url`, SQL targets) through
//! the binary. `SCHEMA_SYNC_FUZZ_CASES` sets the in-process count and
//! `SCHEMA_SYNC_FUZZ_PROCESS_CASES` the process-spawning one; past 100,000 cases the
//! in-process tests are built in release mode (the process-spawning ones keep the debug
//! binary: their time goes into process starts, and a release CLI is a long build).

use anyhow::Result;

use super::faults::Tally;
use crate::cmd;

/// The fuzz test targets: package, test name, and whether the properties run in process.
const TARGETS: &[(&str, &str, bool)] = &[
    ("schema-sync-core", "fuzz", true),
    ("schema-sync-cli", "fuzz", false),
];

/// Runs every fuzz target; one tally each, with a violation when it failed.
///
/// # Errors
/// Never for a failing test (that is a violation); only when cargo cannot be started.
pub fn run(cases: Option<u64>) -> Result<Vec<Tally>> {
    let mut tallies = Vec::new();
    for &(package, test, in_process) in TARGETS {
        let mut args = vec!["test", "-p", package, "--test", test];
        if in_process && cases.is_some_and(|c| c > 100_000) {
            args.push("--release");
        }
        let mut command = cmd::cargo(args);
        if let Some(cases) = cases {
            command.env("SCHEMA_SYNC_FUZZ_CASES", cases.to_string());
            command.env(
                "SCHEMA_SYNC_FUZZ_PROCESS_CASES",
                (cases / 1000).max(32).to_string(),
            );
        }
        let mut tally = Tally::new(
            "fuzz (0 panics)",
            package.trim_start_matches("schema-sync-"),
        );
        let per_property = match cases {
            Some(cases) if in_process => cases,
            Some(cases) => (cases / 1000).max(32),
            None => 0,
        };
        tally.injected = usize::try_from(per_property).unwrap_or(usize::MAX);
        if cases.is_none() {
            tally.note("default case counts");
        }
        if let Err(error) = cmd::run(&mut command) {
            tally.violation(format!("{error:#}"));
        }
        tallies.push(tally);
    }
    Ok(tallies)
}
