//! `schema-sync`: find and fix schema drift across a fleet of tenants.
//!
//! Thin glue: the library parses nothing twice and does every command; see
//! [`schema_sync_cli`].
#![deny(missing_docs)]

use std::process::ExitCode;

use clap::Parser;
use schema_sync_cli::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    schema_sync_cli::run(Cli::parse()).await
}
