//! The desired schema from SQL: PostgreSQL parses it.
//!
//! The DDL runs in a uniquely named scratch schema, inside a transaction, with
//! `search_path` set to that schema; the schema is inspected in the same transaction and
//! the transaction is rolled back, so nothing persists. The connection is closed
//! afterwards rather than returned to the pool, since the DDL may have changed session
//! settings. DDL that ends the transaction itself (`COMMIT`, `ROLLBACK`) is refused and
//! whatever it committed is dropped.
//!
//! Before the rollback, the inspected target is created once more in a second scratch
//! schema, to learn which of its expressions PostgreSQL prints differently once reparsed
//! ([`equivalences`]); [`learn_equivalences`] does the same for targets that come from
//! a reference tenant or a saved snapshot.

mod equivalences;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use schema_sync_core::{Error, Phase, Result, SchemaSnapshot};
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::PostgresAdapter;
use crate::catalog::CatalogClient;
use crate::error::{self, describe_ddl_error};
use crate::inspect::inspect_schemas_with;
use crate::sql::quote_ident;

/// How the target is named in messages (the CLI knows the file name).
const TARGET: &str = "SQL";

/// Why a role that may not create schemas cannot load a `.sql` target, and what works.
const NO_CREATE_PRIVILEGE: &str = "a .sql target is applied in a temporary scratch schema, \
     and this role may not create schemas: it lacks the CREATE privilege on the database. \
     Either grant it (GRANT CREATE ON DATABASE <db> TO <role>), or use a target that needs no \
     writes: --target tenant:NAME (a reference tenant) or a snapshot (.json file or snapshot:REF)";

/// A schema name no other run uses.
fn scratch_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "schema_sync_scratch_{}_{n}_{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    )
}

fn target_error(message: String, source: Option<tokio_postgres::Error>) -> Error {
    Error::Target {
        target: TARGET.to_string(),
        message,
        source: source.map(|e| Box::new(e) as schema_sync_core::BoxError),
    }
}

/// Applies `sql` in a scratch schema and inspects it.
pub(crate) async fn snapshot_from_sql(
    adapter: &PostgresAdapter,
    sql: &str,
) -> Result<SchemaSnapshot> {
    if adapter.read_only {
        return Err(target_error(
            "a .sql target is applied in a temporary scratch schema, which a read-only connection cannot create; connect without read-only mode, or use --target tenant:NAME (a reference tenant) or a snapshot target".into(),
            None,
        ));
    }
    let pooled = adapter.client().await?;
    // Never back to the pool: the DDL may have changed session settings.
    let client = deadpool_postgres::Object::take(pooled);
    let scratch = scratch_name();
    let result = load(&client, adapter, &scratch, sql).await;
    if result.is_err() {
        // Whatever happened, make sure the scratch schema does not outlive this call.
        let _ = client.batch_execute("ROLLBACK").await;
        let _ = client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {} CASCADE",
                quote_ident(&scratch)
            ))
            .await;
    }
    result
}

async fn load(
    client: &Client,
    adapter: &PostgresAdapter,
    scratch: &str,
    sql: &str,
) -> Result<SchemaSnapshot> {
    let server_version = adapter.server_version;
    let setup = |e| error::database(None, Phase::Target, "creating the scratch schema", e);
    client
        .batch_execute(&format!(
            "BEGIN; CREATE SCHEMA {schema}; SET search_path TO {schema}",
            schema = quote_ident(scratch)
        ))
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE) {
                target_error(NO_CREATE_PRIVILEGE.into(), Some(e))
            } else {
                setup(e)
            }
        })?;
    let before = transaction_id(client).await.map_err(setup)?;
    if let Err(e) = client.batch_execute(sql).await {
        return Err(target_error(
            format!("the DDL does not apply: {}", describe_ddl_error(&e, sql)),
            Some(e),
        ));
    }
    let after = transaction_id(client).await.map_err(setup)?;
    if before != after {
        return Err(target_error(
            "the DDL ends the transaction it runs in; remove BEGIN, COMMIT and ROLLBACK from it"
                .into(),
            None,
        ));
    }
    let inspected = inspect_schemas_with(
        CatalogClient::unprepared(client),
        server_version,
        &[scratch.to_string()],
        adapter.include_privileges,
        None,
    )
    .await
    .map_err(|e| error::database(None, Phase::Target, "inspecting the scratch schema", e))?;
    let mut snapshot = inspected.into_iter().next().flatten().ok_or_else(|| {
        target_error(
            "the DDL dropped or renamed the scratch schema it runs in; remove schema-level statements from it".into(),
            None,
        )
    })?;
    // A target that cannot be recreated from its snapshot alone (rare: the plan would
    // then fail on every tenant too) is still a target; only the spellings stay unknown.
    if let Ok(equivalences) =
        equivalences::round_trip(client, server_version, &snapshot, &format!("{scratch}_r")).await
    {
        snapshot.equivalences = equivalences;
    }
    client
        .batch_execute("ROLLBACK")
        .await
        .map_err(|e| error::database(None, Phase::Target, "rolling back the scratch schema", e))?;
    Ok(snapshot)
}

/// The equivalent spellings of `target`'s expressions
/// ([`DatabaseAdapter::expression_equivalences`](schema_sync_core::DatabaseAdapter::expression_equivalences)):
/// `target` is created in a scratch schema inside a transaction that is rolled back.
pub(crate) async fn learn_equivalences(
    adapter: &PostgresAdapter,
    target: &SchemaSnapshot,
) -> Result<schema_sync_core::snapshot::Equivalences> {
    if adapter.read_only {
        return Ok(schema_sync_core::snapshot::Equivalences::default());
    }
    let pooled = adapter.client().await?;
    // Never back to the pool: the scratch DDL ran in this session.
    let client = deadpool_postgres::Object::take(pooled);
    client
        .batch_execute("BEGIN")
        .await
        .map_err(|e| error::database(None, Phase::Target, "starting a transaction", e))?;
    let result =
        equivalences::round_trip(&client, adapter.server_version, target, &scratch_name()).await;
    let _ = client.batch_execute("ROLLBACK").await;
    result
}

/// The id of the current transaction (assigned on first call), to notice DDL that ended it.
async fn transaction_id(client: &Client) -> Result<i64, tokio_postgres::Error> {
    client
        .query_one("SELECT pg_catalog.txid_current()", &[])
        .await
        .and_then(|row| row.try_get::<_, i64>(0))
}
