//! One module per command family.

pub mod audit;
pub mod check;
pub mod export;
pub mod migrate;
pub mod plan;
pub mod rollout;
pub mod runs;
pub mod snapshot;
pub mod tenants;

use std::process::ExitCode;

/// All in order.
pub const EXIT_OK: u8 = 0;
/// Drift (validate), or a failed, refused or skipped tenant (any command).
pub const EXIT_DRIFT_OR_FAILURE: u8 = 1;
/// Usage, configuration, target or connection error (also a snapshot store that fails
/// after a run).
pub const EXIT_USAGE: u8 = 2;

/// Prints an error on stderr the way `main` does, and returns exit code 2: for errors
/// found after a run's report was printed.
pub fn report_error(error: &anyhow::Error) -> ExitCode {
    anstream::eprintln!(
        "\x1b[1;31merror:\x1b[0m {}",
        crate::output::message::any_error(error)
    );
    exit(EXIT_USAGE)
}

/// Exit code helper.
pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
