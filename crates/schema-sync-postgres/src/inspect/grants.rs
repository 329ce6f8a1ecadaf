//! Privileges on a tenant's objects, read only when the caller asks to compare them.
//!
//! Tenants often differ in grants on purpose (a role per tenant), so privileges are not
//! part of a snapshot unless `include_privileges` is set
//! ([`ConnectOptions`](schema_sync_core::ConnectOptions)). Then every table, view,
//! materialized view, sequence and function has the set of privileges granted on it to
//! other roles than its owner: the owner's own are implicit and ownership is not
//! compared. An object that was never granted anything has its default privileges
//! (`acldefault`), so a function's default `EXECUTE` for `PUBLIC` is a grant like any
//! other and revoking it is drift. Column privileges are not read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schema_sync_core::SchemaSnapshot;
use schema_sync_core::snapshot::{Grant, PrivilegeTarget};
use tokio_postgres::types::Type;

use crate::catalog::{CatalogClient, PgResult, strip_qualifier};
use crate::inspect::{ShapeCache, inspect_schemas};
use crate::sql::quote_ident;

/// Every privilege granted on the objects of the schemas `$1` to other roles than the
/// object's owner. Function signatures are printed with only `pg_catalog` on the path,
/// so that a type of the tenant is qualified (and the qualifier is then stripped) just
/// as a type of another schema stays qualified.
const GRANTS: &str = "
WITH o AS (
    SELECT n.nspname::text AS schema,
           CASE WHEN c.relkind = 'S' THEN 'sequence' ELSE 'table' END AS kind,
           c.relname::text AS name, c.relowner AS owner,
           coalesce(c.relacl, pg_catalog.acldefault(
               CASE WHEN c.relkind = 'S' THEN 's'::\"char\" ELSE 'r'::\"char\" END, c.relowner)) AS acl
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    UNION ALL
    SELECT n.nspname::text, 'function',
           pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
           p.proowner, coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY($1) AND p.prokind <> 'a'
)
SELECT o.schema, o.kind, o.name,
       CASE WHEN a.grantee = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS grantee,
       a.privilege_type::text AS privilege, a.is_grantable AS grantable
FROM o CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) a
WHERE a.grantee <> o.owner";

/// Privileges by object key, by schema.
type GrantsBySchema = HashMap<String, BTreeMap<String, BTreeSet<Grant>>>;

/// [`inspect_schemas`], with each snapshot's privileges when `privileges` is set.
/// Must run inside a transaction (it sets `search_path` locally).
///
/// # Errors
/// A driver error; it concerns the whole batch.
pub(crate) async fn inspect_schemas_with(
    client: CatalogClient<'_>,
    server_version: i32,
    schemas: &[String],
    privileges: bool,
    shape_cache: Option<&ShapeCache>,
) -> PgResult<Vec<Option<SchemaSnapshot>>> {
    let mut snapshots = inspect_schemas(client, server_version, schemas, shape_cache).await?;
    if !privileges {
        return Ok(snapshots);
    }
    let mut grants = read(client, schemas).await?;
    for (schema, snapshot) in schemas.iter().zip(snapshots.iter_mut()) {
        if let (Some(snapshot), Some(found)) = (snapshot.as_mut(), grants.remove(schema)) {
            snapshot.privileges = found
                .into_iter()
                // Identity sequences, aggregates and unmodelled relations are left out.
                .filter(|(key, _)| snapshot.has_privilege_target(key))
                .collect();
        }
    }
    Ok(snapshots)
}

/// Reads the grants of `schemas`. Runs after [`inspect_schemas`], which leaves only
/// `pg_catalog` on `search_path`: the path the identity arguments are printed relative to.
async fn read(client: CatalogClient<'_>, schemas: &[String]) -> PgResult<GrantsBySchema> {
    let rows = client
        .query(GRANTS, &[(&schemas, Type::TEXT_ARRAY)])
        .await?;
    let mut out = GrantsBySchema::new();
    for row in rows {
        let schema: String = row.try_get("schema")?;
        let kind: String = row.try_get("kind")?;
        let name: String = row.try_get("name")?;
        let object = match kind.as_str() {
            "sequence" => PrivilegeTarget::Sequence(name),
            "function" => PrivilegeTarget::Function(strip_qualifier(&name, &quote_ident(&schema))),
            _ => PrivilegeTarget::Table(name),
        };
        let grant = Grant {
            grantee: row.try_get("grantee")?,
            privilege: row.try_get("privilege")?,
            grantable: row.try_get("grantable")?,
        };
        out.entry(schema)
            .or_default()
            .entry(object.key())
            .or_default()
            .insert(grant);
    }
    Ok(out)
}
