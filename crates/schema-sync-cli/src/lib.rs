//! `schema-sync`: find and fix schema drift across a fleet of tenants.
//!
//! The binary (`src/main.rs`) is thin glue around this library: flags and the config file
//! are merged once into validated [`config::Settings`], the registry picks the adapter
//! by URL scheme, and each command is one call into `schema-sync-core`'s engine plus
//! output. The library exists so that `xtask` can reach the clap [`command`] without
//! copying it: the man page and the flag tables of `docs/src/commands.md` are generated
//! from it ([`reference`](mod@reference)), so the docs cannot drift from the binary.
#![deny(missing_docs)]

mod cache;
pub mod cli;
mod commands;
pub mod config;
mod ledger;
mod output;
mod progress;
pub mod reference;
mod registry;
mod select;
mod servers;
pub mod shard;
mod strategy;
mod target;
pub mod waves;

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use cli::{Cli, Command, MigrateCommand, SnapshotCommand};
use commands::check::Mode;
use config::{Settings, load_config_file};
use servers::Servers;

/// The clap command of `schema-sync`, with every subcommand and flag.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs a parsed command line and returns the process exit code; errors are printed on
/// stderr with what to do about them (exit 2).
pub async fn run(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(code) => code,
        Err(error) => commands::report_error(&error),
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::Completions(args) = &cli.command {
        // Needs no config: a broken schema-sync.toml must not break the shell.
        clap_complete::generate(
            args.shell,
            &mut command(),
            "schema-sync",
            &mut std::io::stdout(),
        );
        return Ok(commands::exit(commands::EXIT_OK));
    }
    let file = load_config_file(cli.global.config.as_deref())?;
    let settings = Settings::resolve(&cli.flags(), file)?;
    if let Command::Snapshot(command) = &cli.command {
        // Only `snapshot save` reads tenants; the others work on the store (or files) alone.
        let servers = match command {
            SnapshotCommand::Save(_) => Some(Servers::connect(&settings, true, false).await?),
            _ => None,
        };
        let engine = servers
            .as_ref()
            .map(|s| s.single("snapshot save"))
            .transpose()?;
        return commands::snapshot::run(command, &settings, engine).await;
    }
    if let Command::Runs(command) = &cli.command {
        // The ledger alone: no database URL needed.
        return commands::runs::run(command, &settings).await;
    }
    // Audit and tenant listing are read-only for real. diff, validate and plan change no
    // tenant, but an SQL target is applied in a scratch namespace, which needs writes.
    let read_only = matches!(
        cli.command,
        Command::Audit(_)
            | Command::Tenants(_)
            | Command::Migrate(cli::MigrateArgs {
                command: Some(MigrateCommand::Status(_)),
                ..
            })
    );
    let fleet_command = matches!(
        cli.command,
        Command::Sync(_) | Command::Diff(_) | Command::Validate(_) | Command::Audit(_)
    );
    let servers = Servers::connect(&settings, read_only, fleet_command).await?;
    match cli.command {
        Command::Sync(_) => commands::check::run(Mode::Sync, &servers, &settings).await,
        Command::Diff(_) => commands::check::run(Mode::Diff, &servers, &settings).await,
        Command::Validate(_) => commands::check::run(Mode::Validate, &servers, &settings).await,
        Command::Audit(args) => commands::audit::run(&servers, &settings, args.snapshots).await,
        Command::Plan(args) => {
            let plan_options = commands::plan::PlanOptions {
                out: args.out.as_deref(),
                layout: args.layout,
                allow_destructive: args.allow_destructive || settings.allow_destructive,
                check_data: args.check_data,
            };
            commands::plan::run(servers.single("plan")?, &settings, &plan_options).await
        }
        Command::Tenants(_) => commands::tenants::run(&servers, &settings).await,
        Command::Migrate(args) => {
            let (dir, status) = match &args.command {
                Some(MigrateCommand::Status(status)) => (&status.dir.dir, true),
                None => (&args.apply.dir.dir, false),
            };
            let dir = dir.as_deref().ok_or_else(|| {
                anyhow::anyhow!("migrate needs --dir DIR, the directory of migration files")
            })?;
            if status {
                commands::migrate::status(servers.single("migrate status")?, &settings, dir).await
            } else {
                commands::migrate::run(servers.single("migrate")?, &settings, dir).await
            }
        }
        Command::Snapshot(_) | Command::Runs(_) | Command::Completions(_) => {
            unreachable!("handled above")
        }
    }
}
