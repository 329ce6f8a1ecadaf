//! Tenants are databases: discovery, and the rule that maps a tenant id to its database.
//!
//! Every database is a tenant except the server's own, the scratch databases that
//! `target` creates, and `schema_sync_ledger`, where a run ledger kept on the tenants'
//! own server lives by default; a tenant id names its database as it is, within the
//! server's limits on database names.

use mysql_async::prelude::Queryable;
use schema_sync_core::{Error, Phase, Result, TenantId};

use crate::connect::Server;
use crate::error;

/// Databases of the server itself, never tenants.
pub(crate) const SYSTEM_DATABASES: [&str; 4] =
    ["mysql", "sys", "information_schema", "performance_schema"];

/// The prefix of the scratch databases in which target DDL is applied; never tenants.
pub(crate) const SCRATCH_PREFIX: &str = "schema_sync_scratch_";

/// The run ledger's default database (`--ledger mysql://host` without a database);
/// never a tenant.
pub const LEDGER_DATABASE: &str = "schema_sync_ledger";

/// The longest database name MySQL and MariaDB accept, in characters.
const MAX_DATABASE_NAME_CHARS: usize = 64;

/// Whether `name` is a system database (compared as the server does, case-insensitively).
fn is_system(name: &str) -> bool {
    SYSTEM_DATABASES
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
}

/// Every tenant database name, sorted; system, scratch and ledger databases are left out. Names
/// that cannot be tenant ids are listed too: the engine reports them as failed tenants.
///
/// # Errors
/// A database error when no connection can be had or the query fails.
pub(crate) async fn list(server: &Server) -> Result<Vec<String>> {
    let mut conn = server.conn(None, Phase::Discover).await?;
    let names: Vec<String> = conn
        .query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
        .await
        .map_err(|e| error::database(None, Phase::Discover, "list databases", e))?;
    let mut tenants: Vec<String> = names
        .into_iter()
        .filter(|n| !is_system(n) && !n.starts_with(SCRATCH_PREFIX) && n != LEDGER_DATABASE)
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
