//! `cargo xtask docs` and `cargo xtask man`: the command-line reference, generated from
//! the CLI's clap command (`schema_sync_cli::command()`), never written by hand.
//!
//! - `docs` rewrites the generated parts of `docs/src/commands.md` (one flag table per
//!   command, the exit codes) and `README.md` (the exit codes). The CLI's `tests/docs.rs`
//!   fails when they differ from the binary, so a flag cannot change without its docs.
//! - `man` writes `schema-sync.1` and one page per command (`schema-sync-sync.1`,
//!   `schema-sync-snapshot-save.1`, ...) into `target/man/` with clap_mangen.

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use schema_sync_cli::reference;

use crate::cmd;

/// Rewrites the generated parts of the docs.
///
/// # Errors
/// A file that cannot be read or written, or that lacks its markers.
pub fn update() -> Result<()> {
    let root = cmd::workspace_root();
    rewrite(
        &root.join("docs/src/commands.md"),
        reference::update_commands_doc,
    )?;
    rewrite(&root.join("README.md"), reference::update_readme)
}

fn rewrite(path: &Path, update: fn(&str) -> Result<String, String>) -> Result<()> {
    let current =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let updated = update(&current).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if updated == current {
        eprintln!("xtask docs: {} is up to date", path.display());
        return Ok(());
    }
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("xtask docs: rewrote {}", path.display());
    Ok(())
}

/// Writes the man pages into `target/man/`.
///
/// # Errors
/// A page that cannot be rendered or written.
pub fn man() -> Result<()> {
    let dir = cmd::workspace_root().join("target/man");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut command = schema_sync_cli::command();
    command.build();
    let count = write_pages(&dir, &command, "schema-sync")?;
    eprintln!("xtask man: {count} pages in {}", dir.display());
    Ok(())
}

/// Writes the page of `command` (named `name`) and of each of its subcommands.
fn write_pages(dir: &Path, command: &clap::Command, name: &str) -> Result<usize> {
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone().display_name(name.to_string()))
        .render(&mut page)
        .with_context(|| format!("cannot render the man page of {name}"))?;
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    let mut count = 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        count += write_pages(dir, sub, &format!("{name}-{}", sub.get_name()))?;
    }
    Ok(count)
}
