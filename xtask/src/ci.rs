//! `cargo xtask ci`: the gate every change passes.
//!
//! First the local servers are started when they are down ([`start`]). Then the stages,
//! in order: `cargo fmt --all --check`, clippy with warnings denied over every target and
//! feature, the full test matrix with every database required ([`crate::test::run`]
//! called directly, not through a nested cargo), the quick fault suite ([`crate::chaos`]
//! with `--quick`: it reuses the debug CLI the tests built), rustdoc with warnings denied,
//! `cargo package` of every published crate, and the mdBook guide. Every stage runs even
//! when an earlier one failed, so one CI run reports all problems; the run fails when any
//! stage did. A short summary with durations closes the output.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::test::{self, TestArgs};
use crate::{book, cmd, release, start};

/// A named stage of the gate.
struct Stage {
    name: &'static str,
    run: fn() -> Result<()>,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "fmt",
        run: || cmd::run(&mut cmd::cargo(["fmt", "--all", "--check"])),
    },
    Stage {
        name: "clippy",
        run: || {
            cmd::run(&mut cmd::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]))
        },
    },
    Stage {
        name: "test",
        run: || {
            test::run(&TestArgs {
                db: Vec::new(),
                require_all: true,
            })
        },
    },
    Stage {
        name: "chaos",
        run: || crate::chaos::run(&crate::chaos::ChaosArgs::quick()),
    },
    Stage {
        name: "doc",
        run: || {
            let mut command = cmd::cargo(["doc", "--workspace", "--no-deps"]);
            command.env("RUSTDOCFLAGS", "-Dwarnings");
            cmd::run(&mut command)
        },
    },
    Stage {
        name: "package",
        run: release::package,
    },
    Stage {
        name: "book",
        run: book::build,
    },
];

/// Runs every stage and prints the summary.
///
/// # Errors
/// When any stage failed; each failure is printed in the summary.
pub fn run() -> Result<()> {
    let started = Instant::now();
    // The gate needs every server: start the local ones that are down, so that the
    // README's command passes on a fresh machine as typed.
    start::ensure_local_servers()?;
    let mut results: Vec<(&str, Duration, Result<()>)> = Vec::new();
    for stage in STAGES {
        eprintln!("xtask ci: stage {}", stage.name);
        let stage_started = Instant::now();
        let result = (stage.run)();
        if let Err(error) = &result {
            eprintln!("xtask ci: stage {} failed: {error:#}", stage.name);
        }
        results.push((stage.name, stage_started.elapsed(), result));
    }

    eprintln!("xtask ci summary");
    let mut failed = Vec::new();
    for (name, duration, result) in &results {
        let status = if result.is_ok() { "ok" } else { "FAILED" };
        eprintln!("  {name:<8} {status:<7} {:>8}", cmd::seconds(*duration));
        if result.is_err() {
            failed.push(*name);
        }
    }
    eprintln!(
        "  {:<8} {:<7} {:>8}",
        "total",
        "",
        cmd::seconds(started.elapsed())
    );
    if !failed.is_empty() {
        bail!("ci failed: {}", failed.join(", "));
    }
    Ok(())
}
