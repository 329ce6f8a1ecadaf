//! Project automation for schema-sync, run as `cargo xtask <command>`.
//!
//! Following rust-analyzer's `xtask`, every subcommand is one module and this file only
//! parses flags and dispatches:
//!
//! - [`test`](mod@test): the test matrix. Unit tests, then every adapter's integration tests against
//!   a real server per database, found from the environment, the local servers or Docker.
//! - [`ci`]: the gate CI runs: formatting, clippy, the full test matrix, rustdoc.
//! - [`bench`](mod@bench): builds a fleet of tenants on the real servers, drifts some of them, and
//!   times the release CLI's `validate` and `sync` over it while checking the results.
//! - [`release`]: `cargo package` for the gate and `release-check`, a full
//!   `cargo publish --dry-run` of every crate.
//! - [`book`]: builds the mdBook user guide.
//! - [`docs`]: the command-line reference (flag tables, exit codes, man pages), generated
//!   from the CLI's clap command.
//! - [`chaos`]: the standing fault suite. Kills, concurrent runs, held locks and (full mode)
//!   a server restart during fleet syncs on the real servers, each followed by invariant
//!   checks, plus the fuzz tests at a chosen case count. `--quick` runs inside `ci`.
//! - [`quickstart`]: the README's first command: a small drifted SQLite fleet in
//!   `examples/quickstart/tenants/` and the documented validate, diff, sync session.
//!
//! Shared plumbing lives in [`cmd`] (running cargo and other programs), [`servers`]
//! (finding a reachable database server for each dialect) and [`start`] (starting the
//! local servers the gate needs when they are down).

#![deny(missing_docs)]

mod bench;
mod book;
mod chaos;
mod ci;
mod cmd;
mod containers;
mod docs;
mod quickstart;
mod release;
mod servers;
mod start;
mod test;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Automation for the schema-sync workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about)]
struct Xtask {
    /// The task to run.
    #[command(subcommand)]
    command: Command,
}

/// The tasks.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run unit tests and every adapter's integration tests against real servers.
    Test(test::TestArgs),
    /// Run the CI gate: fmt, clippy, the full test matrix, the quick fault suite, rustdoc.
    Ci,
    /// Build a fleet on the real servers and time validate and sync over it.
    Bench(bench::BenchArgs),
    /// Inject faults (kills, concurrency, held locks, restarts) into fleet syncs and fuzz
    /// the loaders; fails on any broken invariant.
    Chaos(chaos::ChaosArgs),
    /// Create the quickstart's SQLite fleet and run the documented session on it.
    Quickstart,
    /// `cargo publish --dry-run` of every crate in dependency order (slow; not in CI).
    ReleaseCheck,
    /// Build the user guide (mdBook) into target/book.
    Book,
    /// Regenerate the flag tables and exit codes in docs/src/commands.md and README.md.
    Docs,
    /// Write the man pages of schema-sync into target/man.
    Man,
}

fn main() -> ExitCode {
    let xtask = Xtask::parse();
    let result = match xtask.command {
        Command::Test(args) => test::run(&args),
        Command::Ci => ci::run(),
        Command::Bench(args) => bench::run(&args),
        Command::Chaos(args) => chaos::run(&args),
        Command::Quickstart => quickstart::run(),
        Command::ReleaseCheck => release::check(),
        Command::Book => book::build(),
        Command::Docs => docs::update(),
        Command::Man => docs::man(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
