//! Which spellings of an expression PostgreSQL takes for the same expression.
//!
//! PostgreSQL stores an expression as a parse tree and prints it back on demand, and the
//! printout does not always parse back to the same tree: a check written
//! `kind IN ('a', 'b')` on a `varchar` column prints as
//! `((kind)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))`,
//! and that text, applied to a tenant by a sync, prints as
//! `((kind)::text = ANY (ARRAY[('a'::character varying)::text, ('b'::character varying)::text]))`.
//! Both mean the same; compared as text, every synced tenant would look drifted and the
//! check after a sync would call it a bug.
//!
//! [`round_trip`] creates the target anew in a scratch schema with the same renderer a
//! sync uses, inspects it, and records every text that reads differently as an
//! equivalent pair ([`Equivalences::between`]). The diff then takes either spelling for
//! the other. Everything happens under a savepoint that is rolled back: nothing persists.

use schema_sync_core::diff::{DefaultDiffCalculator, DiffCalculator};
use schema_sync_core::plan::{DefaultPlanner, Planner};
use schema_sync_core::snapshot::Equivalences;
use schema_sync_core::{Error, Phase, Result, SchemaSnapshot, TenantId};
use tokio_postgres::Client;

use crate::catalog::CatalogClient;
use crate::catalog::privileges::Privileges;
use crate::error;
use crate::inspect::inspect_schemas;
use crate::render::{RenderContext, render_plan};
use crate::sql::quote_ident;

/// Creates `target` in the scratch schema `scratch` and returns the spellings that
/// changed on the way. Must run inside a transaction; the work is undone with a
/// savepoint whatever happens.
///
/// # Errors
/// The target cannot be planned, rendered or applied (an object PostgreSQL cannot
/// create from the snapshot alone), or a driver error.
pub(crate) async fn round_trip(
    client: &Client,
    server_version: i32,
    target: &SchemaSnapshot,
    scratch: &str,
) -> Result<Equivalences> {
    let failed = |what: &str, e| error::database(None, Phase::Target, what, e);
    client
        .batch_execute("SAVEPOINT schema_sync_equivalences")
        .await
        .map_err(|e| failed("setting a savepoint", e))?;
    let result = reparse(client, server_version, target, scratch).await;
    client
        .batch_execute("ROLLBACK TO SAVEPOINT schema_sync_equivalences")
        .await
        .map_err(|e| failed("rolling back to the savepoint", e))?;
    let reparsed = result?;
    Ok(Equivalences::between(target, &reparsed))
}

/// `target` as PostgreSQL prints it after creating it in `scratch`.
async fn reparse(
    client: &Client,
    server_version: i32,
    target: &SchemaSnapshot,
    scratch: &str,
) -> Result<SchemaSnapshot> {
    let empty = SchemaSnapshot::empty();
    let plan = DefaultPlanner.plan(&empty, target, &DefaultDiffCalculator.diff(&empty, target))?;
    let label = TenantId::new(scratch)?;
    let statements = render_plan(
        &plan,
        &RenderContext {
            tenant: &label,
            schema: Some(scratch),
            live: &empty,
            privileges: &Privileges::default(),
            index_builds: &Default::default(),
        },
    )?;
    let schema = quote_ident(scratch);
    let setup = format!(
        "CREATE SCHEMA {schema}; SET LOCAL search_path TO {schema}; SET LOCAL check_function_bodies = off"
    );
    let failed = |what: &str, e| error::database(None, Phase::Target, what, e);
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| failed("creating the scratch schema to reparse the target", e))?;
    for statement in &statements {
        client
            .batch_execute(&statement.sql)
            .await
            .map_err(|e| failed("creating the target anew to reparse its expressions", e))?;
    }
    inspect_schemas(
        CatalogClient::unprepared(client),
        server_version,
        &[scratch.to_string()],
        None,
    )
    .await
    .map_err(|e| failed("inspecting the reparsed target", e))?
    .pop()
    .flatten()
    .ok_or_else(|| Error::Internal {
        tenant: None,
        message: "the scratch schema of the reparsed target vanished".into(),
    })
}
