//! The user guide: `mdbook build docs`, with mdBook installed by cargo when missing.
//!
//! The binary is installed once into the target directory (`target/tools/bin`) and reused,
//! so the gate pays for it only on a fresh machine. A `mdbook` already on `PATH` is used
//! as it is.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Result;

use crate::cmd;

/// Builds the book into `target/book`, failing on any broken link or summary entry.
///
/// # Errors
/// When mdBook cannot be installed or the book does not build.
pub fn build() -> Result<()> {
    let mdbook = mdbook()?;
    let out = cmd::target_dir()?.join("book");
    let mut command = Command::new(mdbook);
    command
        .arg("build")
        .arg(cmd::workspace_root().join("docs"))
        .arg("--dest-dir")
        .arg(out);
    cmd::run(&mut command)
}

/// The mdBook binary: on `PATH`, cached in the target directory, or installed there.
fn mdbook() -> Result<PathBuf> {
    if cmd::succeeds(Command::new("mdbook").arg("--version")) {
        return Ok(PathBuf::from("mdbook"));
    }
    let root = cmd::target_dir()?.join("tools");
    let cached = root.join("bin").join("mdbook");
    if !cached.is_file() {
        let mut install = cmd::cargo([
            "install",
            "mdbook",
            "--locked",
            "--no-default-features",
            "--root",
        ]);
        install.arg(&root);
        cmd::run(&mut install)?;
    }
    Ok(cached)
}
