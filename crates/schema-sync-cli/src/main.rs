//! `schema-sync`: find and fix schema drift across a fleet of tenants.
//!
//! The binary is thin glue: flags and the config file are merged once into validated
//! [`config::Settings`], the [`registry`] picks the adapter by URL scheme, and each
//! command is one call into `schema-sync-core`'s engine plus output.
#![deny(missing_docs)]

mod cli;
mod commands;
mod config;
mod output;
mod progress;
mod registry;
mod select;
mod target;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use schema_sync_core::{ConnectOptions, Engine};

use cli::{Cli, Command, SnapshotCommand};
use commands::check::{CheckFlags, Mode};
use config::{Settings, load_config_file};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            anstream::eprintln!(
                "\x1b[1;31merror:\x1b[0m {}",
                output::message::any_error(&error)
            );
            commands::exit(commands::EXIT_USAGE)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let file = load_config_file(cli.options.config.as_deref())?;
    let mut settings = Settings::resolve(&cli.options, file)?;
    if let Some(target) = target_args(&cli.command) {
        settings.allow_empty_target |= target.allow_empty_target;
    }
    if let Command::Snapshot(command) = &cli.command {
        // Only `snapshot save` reads tenants; the others work on the store alone.
        let engine = match command {
            SnapshotCommand::Save => Some(connect(&settings, true).await?),
            _ => None,
        };
        return commands::snapshot::run(command, &settings, engine.as_ref()).await;
    }
    // Audit and tenant listing are read-only for real. diff, validate and plan change no
    // tenant, but an SQL target is applied in a scratch namespace, which needs writes.
    let read_only = matches!(cli.command, Command::Audit(_) | Command::Tenants);
    let engine = connect(&settings, read_only).await?;
    match cli.command {
        Command::Sync(args) => {
            let flags = CheckFlags {
                allow_destructive: args.allow_destructive,
                save_snapshots: args.save_snapshots,
            };
            commands::check::run(Mode::Sync, &engine, &settings, flags).await
        }
        Command::Diff(_) => {
            commands::check::run(Mode::Diff, &engine, &settings, CheckFlags::default()).await
        }
        Command::Validate(args) => {
            let flags = CheckFlags {
                allow_destructive: false,
                save_snapshots: args.save_snapshots,
            };
            commands::check::run(Mode::Validate, &engine, &settings, flags).await
        }
        Command::Audit(args) => {
            commands::audit::run(&engine, &settings, args.snapshots, args.save_snapshots).await
        }
        Command::Plan(args) => commands::plan::run(&engine, &settings, args.out.as_deref()).await,
        Command::Tenants => commands::tenants::run(&engine, &settings).await,
        Command::Snapshot(_) => unreachable!("handled above"),
    }
}

/// The target flags of the commands that compare with a target.
fn target_args(command: &Command) -> Option<&cli::TargetArgs> {
    match command {
        Command::Sync(args) => Some(&args.target),
        Command::Diff(args) => Some(&args.target),
        Command::Validate(args) => Some(&args.target),
        Command::Plan(args) => Some(&args.target),
        _ => None,
    }
}

/// Connects the adapter the URL names, read-only when asked.
async fn connect(settings: &Settings, read_only: bool) -> Result<Engine> {
    let options = ConnectOptions {
        max_connections: settings.concurrency.max(1),
        read_only,
        lock_timeout: Some(settings.lock_timeout),
        statement_timeout: settings.statement_timeout,
    };
    let adapter = registry::connect(settings.require_url()?, options).await?;
    Ok(Engine::new(adapter))
}
