//! Privileges and ownership of views that a plan drops and creates again: the query.
//!
//! A changed view body (or a change to a table a view reads) is applied by dropping the
//! view and creating it again, which loses its `GRANT`s and makes the migrating role its
//! owner. The model has no place for privileges, and tenants often differ in them (a
//! role per tenant), so they are not compared: instead the runner reads them from the
//! tenant, inside the migration's transaction, and the renderer re-issues them right
//! after the `CREATE VIEW` (`render/privileges.rs`), then gives the view back to its
//! owner. A grant or owner change the migrating role is not allowed to make fails the
//! step and rolls the tenant back; nothing is lost silently.

use std::collections::HashMap;

use tokio_postgres::types::Type;

use super::{CatalogClient, PgResult};

/// One privilege granted on a view or on one of its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// `SELECT`, `INSERT`, ... as `aclexplode` spells it.
    pub privilege: String,
    /// The role, or `None` for `PUBLIC`.
    pub grantee: Option<String>,
    /// The column, for a column privilege.
    pub column: Option<String>,
    /// `WITH GRANT OPTION`.
    pub grantable: bool,
}

/// What a view loses when it is dropped: its grants and, when it is not the migrating
/// role, its owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ViewPrivileges {
    /// The owner to give the view back to, when it is not the migrating role.
    pub owner: Option<String>,
    /// Grants to other roles than the owner.
    pub grants: Vec<Grant>,
}

/// Privileges of views by view name.
pub(crate) type Privileges = HashMap<String, ViewPrivileges>;

const VIEW_PRIVILEGES: &str = "
WITH v AS (
    SELECT c.oid, c.relname::text AS view, c.relowner, c.relacl
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('v', 'm')
)
SELECT v.view, pg_catalog.pg_get_userbyid(v.relowner)::text AS owner,
       v.relowner <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) AS foreign_owner,
       a.privilege_type::text AS privilege,
       CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS grantee,
       NULL::text AS column_name, a.is_grantable AS grantable
FROM v LEFT JOIN LATERAL pg_catalog.aclexplode(v.relacl) a ON a.grantee <> v.relowner
UNION ALL
SELECT v.view, pg_catalog.pg_get_userbyid(v.relowner)::text,
       v.relowner <> (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user),
       a.privilege_type::text,
       CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
       att.attname::text, a.is_grantable
FROM v
JOIN pg_catalog.pg_attribute att ON att.attrelid = v.oid AND att.attnum > 0 AND att.attacl IS NOT NULL
CROSS JOIN LATERAL pg_catalog.aclexplode(att.attacl) a
WHERE a.grantee <> v.relowner";

/// Reads the owners and grants of the views `names` of `schema`.
pub(crate) async fn read(
    client: CatalogClient<'_>,
    schema: &str,
    names: &[String],
) -> PgResult<Privileges> {
    let mut out = Privileges::new();
    if names.is_empty() {
        return Ok(out);
    }
    let rows = client
        .query(
            VIEW_PRIVILEGES,
            &[(&schema, Type::TEXT), (&names, Type::TEXT_ARRAY)],
        )
        .await?;
    for row in rows {
        let view: String = row.try_get("view")?;
        let entry = out.entry(view).or_default();
        if row.try_get::<_, bool>("foreign_owner")? {
            entry.owner = Some(row.try_get("owner")?);
        }
        if let Some(privilege) = row.try_get::<_, Option<String>>("privilege")? {
            entry.grants.push(Grant {
                privilege,
                grantee: row.try_get("grantee")?,
                column: row.try_get("column_name")?,
                grantable: row
                    .try_get::<_, Option<bool>>("grantable")?
                    .unwrap_or(false),
            });
        }
    }
    Ok(out)
}
