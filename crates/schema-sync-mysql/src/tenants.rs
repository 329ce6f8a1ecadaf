//! Tenants are databases: discovery, contexts, batched inspection, and the scratch
//! database in which target DDL is applied and inspected.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::{Error, Phase, Result, SchemaSnapshot, TenantId};

use crate::connect::ServerInfo;
use crate::error;
use crate::inspect::inspect_schemas;
use crate::sql::quote_ident;

/// Databases of the server itself, never tenants.
pub(crate) const SYSTEM_DATABASES: [&str; 4] =
    ["mysql", "sys", "information_schema", "performance_schema"];

/// The prefix of the scratch databases in which target DDL is applied; never tenants.
pub(crate) const SCRATCH_PREFIX: &str = "schema_sync_scratch_";

/// The longest database name MySQL and MariaDB accept, in characters.
const MAX_DATABASE_NAME_CHARS: usize = 64;

/// Whether `name` is a system database (compared as the server does, case-insensitively).
fn is_system(name: &str) -> bool {
    SYSTEM_DATABASES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

/// Every tenant database name, sorted; system and scratch databases are left out. Names
/// that cannot be tenant ids are listed too: the engine reports them as failed tenants.
pub(crate) async fn list(conn: &mut Conn) -> Result<Vec<String>> {
    let names: Vec<String> = conn
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .await
        .map_err(|e| error::database(None, Phase::Discover, "list databases", e))?;
    let mut tenants: Vec<String> = names
        .into_iter()
        .filter(|n| !is_system(n) && !n.starts_with(SCRATCH_PREFIX))
        .collect();
    tenants.sort();
    Ok(tenants)
}

/// The context of `tenant`: the database of the same name.
pub(crate) fn namespace_of(tenant: &TenantId) -> Result<String> {
    let name = tenant.as_str();
    if name.chars().count() > MAX_DATABASE_NAME_CHARS {
        return Err(Error::config(format!(
            "tenant {name:?}: MySQL database names are at most {MAX_DATABASE_NAME_CHARS} characters; use a shorter tenant id"
        )));
    }
    if name.ends_with(' ') {
        return Err(Error::config(format!(
            "tenant {name:?}: MySQL database names cannot end with a space; remove it"
        )));
    }
    if is_system(name) {
        return Err(Error::config(format!(
            "tenant {name:?}: {name} is a system database, not a tenant; choose another tenant id"
        )));
    }
    Ok(name.to_string())
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

fn target_error(message: String, source: Option<mysql_async::Error>) -> Error {
    Error::Target {
        target: "SQL".into(),
        message,
        source: source.map(error::source),
    }
}

/// Applies `sql` in a fresh scratch database, inspects it and drops it, also when the
/// DDL fails.
pub(crate) async fn snapshot_from_sql(
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
    let name = scratch_name();
    let quoted = quote_ident(&name);
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
