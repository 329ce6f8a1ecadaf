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

use cli::{Cli, Command};
use commands::check::Mode;
use config::{Settings, load_config_file};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            anstream::eprintln!("\x1b[1;31merror:\x1b[0m {error:#}");
            commands::exit(commands::EXIT_USAGE)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let file = load_config_file(cli.options.config.as_deref())?;
    let settings = Settings::resolve(&cli.options, file)?;
    let read_only = !matches!(cli.command, Command::Sync(_));
    let options = ConnectOptions {
        max_connections: settings.concurrency.max(1),
        read_only,
    };
    let adapter = registry::connect(&settings.url, options).await?;
    let engine = Engine::new(adapter);
    match cli.command {
        Command::Sync(args) => {
            commands::check::run(Mode::Sync, &engine, &settings, args.allow_destructive).await
        }
        Command::Diff => commands::check::run(Mode::Diff, &engine, &settings, false).await,
        Command::Validate => commands::check::run(Mode::Validate, &engine, &settings, false).await,
        Command::Audit(args) => commands::audit::run(&engine, &settings, args.snapshots).await,
        Command::Plan(args) => commands::plan::run(&engine, &settings, args.out.as_deref()).await,
        Command::Tenants => commands::tenants::run(&engine, &settings).await,
    }
}
