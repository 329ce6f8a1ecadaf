//! `tenants`: list the tenants of the database, or those the selection names.

use std::process::ExitCode;

use anstream::println;
use anyhow::Result;
use schema_sync_core::Engine;
use serde_json::json;

use super::{EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::select::list_selected;

/// Runs `tenants`: every tenant without a selection, else the selected ones, minus
/// `--exclude` and the config file's `exclude`.
///
/// # Errors
/// An invalid glob or a connection error.
pub async fn run(engine: &Engine, settings: &Settings) -> Result<ExitCode> {
    let tenants: Vec<String> = list_selected(engine, &settings.selection)
        .await?
        .into_iter()
        .map(|t| t.id().to_string())
        .collect();
    if settings.format != Format::Text {
        crate::output::json::print_document(
            settings.format,
            &json!({ "command": "tenants", "tenants": tenants }),
        );
    } else {
        for tenant in &tenants {
            println!("{tenant}");
        }
    }
    Ok(exit(EXIT_OK))
}
