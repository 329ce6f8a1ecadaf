//! The fuzz tests, run with a chosen case count.
//!
//! The properties live with the code they fuzz, as ordinary integration tests, so
//! `cargo test` runs them at a small count: `crates/schema-sync-core/tests/fuzz.rs` (the
//! snapshot JSON loader and hash, URL redaction) in-process, and
//! `crates/schema-sync-cli/tests/fuzz.rs` (the config file, `--url`, SQL targets) through
//! the binary. `SCHEMA_SYNC_FUZZ_CASES` sets the in-process count and
//! `SCHEMA_SYNC_FUZZ_PROCESS_CASES` the process-spawning one; past 100,000 cases the tests
//! are built in release mode.

use anyhow::Result;

use super::faults::Tally;
use crate::cmd;

/// The fuzz test targets: package and test name.
const TARGETS: &[(&str, &str)] = &[("schema-sync-core", "fuzz"), ("schema-sync-cli", "fuzz")];

/// Runs every fuzz target; one tally each, with a violation when it failed.
///
/// # Errors
/// Never for a failing test (that is a violation); only when cargo cannot be started.
pub fn run(cases: Option<u64>) -> Result<Vec<Tally>> {
    let mut tallies = Vec::new();
    for (package, test) in TARGETS {
        let mut args = vec!["test", "-p", package, "--test", test];
        if cases.is_some_and(|c| c > 100_000) {
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
        tally.injected = usize::try_from(cases.unwrap_or(0)).unwrap_or(usize::MAX);
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
