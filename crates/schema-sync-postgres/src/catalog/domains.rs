//! Domains of the batch's schemas: the base type (as the columns query reads a column's
//! type), nullability and collation, and their check constraints. Defaults and check
//! expressions depend on `search_path` and come from [`deparse`](super::deparse).

use tokio_postgres::Row;

use super::{PgResult, TypeRow, get, not_extension_member, rows};

/// A domain and its base type.
#[derive(Debug, Clone)]
pub(crate) struct DomainRow {
    pub oid: u32,
    pub namespace: u32,
    pub name: String,
    pub not_null: bool,
    /// The base type and the collation, when it is not the base type's.
    pub ty: TypeRow,
    pub comment: Option<String>,
}

/// A check constraint of a domain; its expression is deparsed (`C`).
#[derive(Debug, Clone)]
pub(crate) struct DomainCheckRow {
    pub oid: u32,
    pub domain: u32,
    pub name: String,
    pub validated: bool,
}

fn domains_query() -> String {
    format!(
        "
SELECT t.oid, t.typnamespace AS namespace, t.typname::text AS name, t.typnotnull AS not_null,
       (bt.typcategory = 'A' AND bt.typelem <> 0 AND bt.typtype = 'b') AS is_array,
       t.typndims AS dimensions, t.typtypmod AS typmod,
       CASE WHEN et.typname = 'interval' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod) ELSE '' END AS formatted,
       et.typname::text AS type_name, et.typnamespace AS type_namespace, etn.nspname::text AS type_schema,
       CASE WHEN t.typcollation <> bt.typcollation THEN co.collname::text END AS collation,
       CASE WHEN t.typcollation <> bt.typcollation THEN co.collnamespace END AS collation_namespace,
       CASE WHEN t.typcollation <> bt.typcollation THEN cn.nspname::text END AS collation_schema,
       d.description AS comment
{}
JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
JOIN pg_catalog.pg_type et ON et.oid = CASE WHEN bt.typcategory = 'A' AND bt.typelem <> 0 AND bt.typtype = 'b' THEN bt.typelem ELSE bt.oid END
JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_catalog.pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::regclass AND d.objsubid = 0
WHERE t.typtype = 'd' AND {}",
        super::in_namespaces(super::NAMESPACES_PARAM, "pg_type", "t", "typnamespace"),
        not_extension_member("pg_type", "t.oid")
    )
}

fn domain_checks_query() -> String {
    format!(
        "
SELECT c.oid, c.contypid AS domain, c.conname::text AS name, c.convalidated AS validated
{}
CROSS JOIN LATERAL {}
WHERE t.typtype = 'd' AND c.contype = 'c'",
        super::in_namespaces(super::NAMESPACES_PARAM, "pg_type", "t", "typnamespace"),
        super::domain_constraints("t.oid", "c")
    )
}

/// The queries: domains, then their checks, each taking the namespace oids as `$1`.
pub(super) fn queries() -> (String, String) {
    (domains_query(), domain_checks_query())
}

/// Reads the rows of the two [`queries`].
pub(super) fn read(
    domains: Vec<Row>,
    checks: Vec<Row>,
) -> PgResult<(Vec<DomainRow>, Vec<DomainCheckRow>)> {
    Ok((
        rows(domains, |r| {
            Ok(DomainRow {
                oid: get(r, "oid")?,
                namespace: get(r, "namespace")?,
                name: get(r, "name")?,
                not_null: get(r, "not_null")?,
                ty: TypeRow::read(r)?,
                comment: get(r, "comment")?,
            })
        })?,
        rows(checks, |r| {
            Ok(DomainCheckRow {
                oid: get(r, "oid")?,
                domain: get(r, "domain")?,
                name: get(r, "name")?,
                validated: get(r, "validated")?,
            })
        })?,
    ))
}
