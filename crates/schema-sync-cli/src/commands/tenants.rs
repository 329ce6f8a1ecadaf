//! `tenants`: list the tenants of the database, or those the selection names.

use std::process::ExitCode;

use anstream::println;
use anyhow::Result;
use serde_json::json;

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::Format;
use crate::config::Settings;
use crate::select::{Asking, select_on_servers};
use crate::servers::Servers;

/// Runs `tenants`: every tenant without a selection, else the selected ones, minus
/// `--exclude` and the config file's `exclude`, on every server (as `eu-1/acme` with
/// named servers). A server that cannot be reached is reported and exits 1.
///
/// # Errors
/// An invalid glob or a connection error of the single server.
pub async fn run(servers: &Servers, settings: &Settings) -> Result<ExitCode> {
    let picked = select_on_servers(servers, &settings.selection, None, Asking::List).await?;
    let tenants: Vec<String> = picked
        .tenants
        .iter()
        .map(|(position, t)| {
            servers.list()[*position]
                .qualify(t.id())
                .map(|id| id.to_string())
        })
        .collect::<Result<_>>()?;
    let down: Vec<String> = picked
        .down
        .iter()
        .map(|(position, why)| servers.list()[*position].unreachable(why).to_string())
        .collect();
    if settings.format != Format::Text {
        let mut document = json!({ "command": "tenants", "tenants": tenants });
        if servers.named() {
            document["errors"] = json!(down);
        }
        crate::output::json::print_document(settings.format, &document);
    } else {
        for tenant in &tenants {
            println!("{tenant}");
        }
        for error in &down {
            anstream::eprintln!("\x1b[1;31merror:\x1b[0m {error}");
        }
    }
    Ok(exit(if down.is_empty() {
        EXIT_OK
    } else {
        EXIT_DRIFT_OR_FAILURE
    }))
}
