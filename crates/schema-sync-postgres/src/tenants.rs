//! Tenants are schemas.
//!
//! Discovery lists every schema except PostgreSQL's own (`pg_*`, `information_schema`)
//! and `public`, which is the default home of shared objects rather than a tenant (it can
//! still be chosen by name through [`context`]), and `schema_sync_ledger`, where a run
//! ledger kept in the tenants' own database lives. The tenant id is the schema name, so a
//! context needs no lookup.

use schema_sync_core::{Error, Phase, Result, TenantId};
use tokio_postgres::Client;

use crate::error;

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

/// Whether `name` is a schema PostgreSQL owns (never a tenant).
pub(crate) fn is_system_schema(name: &str) -> bool {
    name.starts_with("pg_") || name == "information_schema"
}

/// Every tenant schema name, sorted. Names that cannot be tenant ids (control characters)
/// are listed too: the engine reports them as failed tenants instead of skipping them.
pub(crate) async fn list(client: &Client) -> Result<Vec<String>> {
    let rows = client
        .query_typed(
            "SELECT n.nspname::text FROM pg_catalog.pg_namespace n
             WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname NOT IN ('information_schema', 'public', 'schema_sync_ledger')",
            &[],
        )
        .await
        .map_err(|e| error::database(None, Phase::Discover, "listing schemas", e))?;
    let mut tenants = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row
            .try_get(0)
            .map_err(|e| error::database(None, Phase::Discover, "listing schemas", e))?;
        if is_system_schema(&name) {
            continue;
        }
        tenants.push(name);
    }
    tenants.sort();
    Ok(tenants)
}

/// The context of `tenant`: the schema of the same name.
///
/// # Errors
/// [`Error::Config`] for a system schema or a name longer than PostgreSQL's 63-byte
/// identifier limit.
pub(crate) fn namespace_of(tenant: &TenantId) -> Result<String> {
    if tenant.as_str().len() > MAX_IDENTIFIER_BYTES {
        return Err(Error::config(format!(
            "tenant {:?}: PostgreSQL schema names are at most {MAX_IDENTIFIER_BYTES} bytes; use a shorter tenant id",
            tenant.as_str()
        )));
    }
    if is_system_schema(tenant.as_str()) {
        return Err(Error::config(format!(
            "{:?} is a PostgreSQL system schema, not a tenant; choose one of your own schemas",
            tenant.as_str()
        )));
    }
    Ok(tenant.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_schemas_are_not_tenants() {
        for name in ["pg_catalog", "pg_toast", "information_schema"] {
            let id = TenantId::new(name).map_err(|e| e.to_string());
            assert!(matches!(
                id.map(|id| namespace_of(&id)),
                Ok(Err(Error::Config { .. }))
            ));
        }
        let public = TenantId::new("public").map_err(|e| e.to_string());
        assert_eq!(
            public.map(|id| namespace_of(&id).ok()),
            Ok(Some("public".to_string()))
        );
    }
}
