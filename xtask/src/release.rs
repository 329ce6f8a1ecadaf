//! Publishing readiness: `cargo package` in the gate (cheap), `cargo publish --dry-run` of
//! every crate in dependency order in `cargo xtask release-check` (slow: it builds each
//! crate from its packaged sources, as crates.io would).
//!
//! Both cover the whole workspace in one cargo call, so crates that depend on each other
//! resolve against the packages being made, not against crates.io.

use anyhow::Result;

use crate::cmd;

/// Every crate `cargo install schema-sync-cli` needs: the workspace without xtask.
const PACKAGE_ARGS: [&str; 4] = ["--workspace", "--exclude", "xtask", "--allow-dirty"];

/// `cargo package --no-verify` for every published crate: metadata complete, files
/// included, path dependencies versioned.
///
/// # Errors
/// When cargo refuses to package a crate.
pub fn package() -> Result<()> {
    let mut command = cmd::cargo(["package", "--no-verify"]);
    command.args(PACKAGE_ARGS);
    cmd::run(&mut command)
}

/// `cargo publish --dry-run` for every published crate, in dependency order.
///
/// # Errors
/// When a crate would not publish or its packaged sources do not build.
pub fn check() -> Result<()> {
    let mut command = cmd::cargo(["publish", "--dry-run"]);
    command.args(PACKAGE_ARGS);
    cmd::run(&mut command)
}
