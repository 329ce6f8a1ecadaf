//! One module per command family.

pub mod audit;
pub mod check;
pub mod plan;
pub mod snapshot;
pub mod tenants;

use std::process::ExitCode;

/// All in order.
pub const EXIT_OK: u8 = 0;
/// Drift (validate) or a failed or refused tenant.
pub const EXIT_DRIFT_OR_FAILURE: u8 = 1;
/// Usage, configuration, target or connection error.
pub const EXIT_USAGE: u8 = 2;

/// Exit code helper.
pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
