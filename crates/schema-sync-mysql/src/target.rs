//! The target schema from SQL: DDL applied in a scratch database, inspected, dropped.
//!
//! The scratch database is named `schema_sync_scratch_<pid>_<n>_<nanos>`, a prefix that
//! discovery never lists as a tenant. The DDL runs as one text-protocol query, so the
//! server splits the statements itself (trigger bodies included); it must not switch or
//! drop databases. The scratch database is dropped also when the DDL fails.
//!
//! MySQL cannot create a database inside a transaction, so a run killed while it loads a
//! target would leave its scratch database behind. Each run therefore holds a named lock
//! (`GET_LOCK`, owned by its session) for as long as its scratch database exists, and
//! every run first drops the scratch databases whose lock is free: their owner is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::{Error, Phase, Result, SchemaSnapshot};

use crate::connect::{Server, ServerInfo};
use crate::error;
use crate::inspect::inspect_schemas;
use crate::sql::quote_ident;
use crate::tenants::SCRATCH_PREFIX;

/// Applies `sql` in a fresh scratch database on `server`, inspects it and drops it.
///
/// # Errors
/// [`Error::Config`] on a read-only connection; [`Error::Target`] when the scratch
/// database cannot be created or dropped or the DDL does not apply.
pub(crate) async fn snapshot_from_sql(server: &Server, sql: &str) -> Result<SchemaSnapshot> {
    server.ensure_writable("load a target from SQL (it needs a scratch database)")?;
    let mut conn = server.conn(None, Phase::Target).await?;
    apply_in_scratch(&mut conn, server.info, sql).await
}

/// A database name no other run uses: `schema_sync_scratch_<pid>_<n>_<nanos>`.
fn scratch_name() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() % (1 << 48))
        .unwrap_or(0);
    format!("{SCRATCH_PREFIX}{:x}_{n}_{nanos:x}", std::process::id())
}

/// The server lock a run holds while its scratch database `name` exists (lock names are
/// at most 64 characters).
fn scratch_lock(name: &str) -> String {
    let hash = blake3::hash(name.as_bytes()).to_hex();
    format!("schema-sync-scratch:{}", &hash.as_str()[..40])
}

/// Drops scratch databases whose owner's lock is free: runs that were killed while they
/// loaded a target. Best effort: a failure here never stops the run that found it.
async fn drop_abandoned_scratch_databases(conn: &mut Conn) {
    let pattern = format!("{}%", SCRATCH_PREFIX.replace('_', "\\_"));
    let Ok(names) = conn
        .exec::<String, _, _>(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?",
            (pattern,),
        )
        .await
    else {
        return;
    };
    for name in names {
        let free: Option<Option<i64>> = conn
            .exec_first("SELECT IS_FREE_LOCK(?)", (scratch_lock(&name),))
            .await
            .ok();
        if free.flatten() == Some(1) {
            let _ = conn
                .query_drop(format!("DROP DATABASE IF EXISTS {}", quote_ident(&name)))
                .await;
        }
    }
}

fn target_error(message: String, source: Option<mysql_async::Error>) -> Error {
    Error::Target {
        target: "SQL".into(),
        message,
        source: source.map(error::source),
    }
}

/// Applies `sql` in a fresh scratch database, inspects it and drops it, also when the
/// DDL fails.
async fn apply_in_scratch(
    conn: &mut Conn,
    server: ServerInfo,
    sql: &str,
) -> Result<SchemaSnapshot> {
    if sql.lines().any(|l| {
        l.trim_start()
            .to_ascii_uppercase()
            .starts_with("DELIMITER ")
    }) {
        return Err(target_error(
            "DELIMITER is a command of the mysql client, not SQL; remove the DELIMITER lines: the server reads BEGIN ... END bodies as they are".into(),
            None,
        ));
    }
    drop_abandoned_scratch_databases(conn).await;
    let name = scratch_name();
    let quoted = quote_ident(&name);
    let owned: Option<i64> = conn
        .exec_first("SELECT GET_LOCK(?, 0)", (scratch_lock(&name),))
        .await
        .map_err(|e| {
            error::database(
                None,
                Phase::Target,
                "locking the scratch database".to_string(),
                e,
            )
        })?;
    if owned != Some(1) {
        return Err(target_error(
            format!("cannot take the lock of the scratch database {name}; retry"),
            None,
        ));
    }
    conn.query_drop(format!("CREATE DATABASE {quoted}"))
        .await
        .map_err(|e| {
            target_error(
                format!(
                    "cannot create the scratch database {name} ({}); the user needs CREATE and DROP privileges on it",
                    error::server_message(&e)
                ),
                Some(e),
            )
        })?;
    let result = apply_and_inspect(conn, server, &name, sql).await;
    let dropped = conn
        .query_drop(format!("DROP DATABASE IF EXISTS {quoted}"))
        .await;
    // Released with the session anyway; releasing now keeps the pooled session clean.
    let _ = conn
        .exec_drop("SELECT RELEASE_LOCK(?)", (scratch_lock(&name),))
        .await;
    let snapshot = result?;
    dropped.map_err(|e| {
        target_error(
            format!(
                "cannot drop the scratch database {name} ({}); drop it by hand",
                error::server_message(&e)
            ),
            Some(e),
        )
    })?;
    Ok(snapshot)
}

async fn apply_and_inspect(
    conn: &mut Conn,
    server: ServerInfo,
    name: &str,
    sql: &str,
) -> Result<SchemaSnapshot> {
    let quoted = quote_ident(name);
    conn.query_drop(format!("USE {quoted}"))
        .await
        .map_err(|e| error::database(None, Phase::Target, format!("use {quoted}"), e))?;
    if !sql.trim().is_empty() {
        // The text protocol runs every statement of the text in order and stops at the
        // first error; the server itself splits the statements (triggers included).
        if let Err(e) = conn.query_drop(sql).await {
            const EMPTY_QUERY: u16 = 1065;
            if error::server_code(&e) != Some(EMPTY_QUERY) {
                return Err(target_error(
                    format!("the DDL does not apply: {}", error::server_message(&e)),
                    Some(e),
                ));
            }
        }
    }
    let mut snapshots = inspect_schemas(conn, server, &[name], false)
        .await
        .map_err(|(what, e)| error::database(None, Phase::Target, what, e))?;
    snapshots.pop().flatten().ok_or_else(|| {
        target_error(
            format!(
                "the scratch database {name} disappeared; the DDL must not drop or switch databases"
            ),
            None,
        )
    })
}
