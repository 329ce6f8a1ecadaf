//! The catalog queries behind inspection, and their rows.
//!
//! Every query covers a whole batch of tenant schemas: it filters by an array of
//! namespace oids or of relation oids found by an earlier query, so a
//! batch of a hundred tenants costs the same handful of round trips as one tenant.
//! Queries run through a [`CatalogClient`], which prepares them when one tenant is read
//! alone, again and again on one connection (`catalog/client.rs`). All
//! queries read `pg_catalog` (not `information_schema`, which hides objects the role does
//! not own), so a role that may only read the catalog can inspect.
//!
//! Text that PostgreSQL deparses (defaults, checks, index expressions, view bodies,
//! function and trigger definitions) depends on `search_path`; it is fetched separately
//! by [`deparse`], once per tenant but in a single round trip for the batch, with
//! `search_path` pinned to each tenant in turn so that the tenant's own objects print
//! unqualified and other schemas' objects print qualified.

use std::collections::HashMap;

use futures::TryStreamExt;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

pub(crate) use client::{CatalogClient, Param};

/// A driver error.
pub(crate) type PgResult<T> = Result<T, tokio_postgres::Error>;

fn get<'a, T: FromSql<'a>>(row: &'a Row, column: &str) -> PgResult<T> {
    row.try_get(column)
}

/// One `oid[]` parameter.
fn oids(values: &Vec<u32>) -> [Param<'_>; 1] {
    [(values, Type::OID_ARRAY)]
}

/// Reads rows of one query into values.
fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> PgResult<T>) -> PgResult<Vec<T>> {
    rows.iter().map(f).collect()
}

/// Runs one query and reads each row into a value as it arrives, so that the driver's
/// rows are never held all at once: a batch of a hundred tenants returns tens of
/// thousands. Queries joined with `try_join!` are still pipelined, and each is read while
/// the next is on its way.
async fn stream_rows<T>(
    client: CatalogClient<'_>,
    sql: &str,
    params: &[Param<'_>],
    f: impl Fn(&Row) -> PgResult<T>,
) -> PgResult<Vec<T>> {
    let stream = client.query_raw(sql, params).await?;
    let mut stream = std::pin::pin!(stream);
    let mut values = Vec::new();
    while let Some(row) = stream.try_next().await? {
        values.push(f(&row)?);
    }
    Ok(values)
}

/// `(oid, name)` of each schema in `names` that exists.
pub(crate) async fn namespaces(
    client: CatalogClient<'_>,
    names: &[String],
) -> PgResult<Vec<(u32, String)>> {
    let found = client
        .query(
            "SELECT n.oid, n.nspname::text AS name FROM pg_catalog.pg_namespace n WHERE n.nspname = ANY($1)",
            &[(&names, Type::TEXT_ARRAY)],
        )
        .await?;
    rows(found, |r| Ok((get(r, "oid")?, get(r, "name")?)))
}

/// Not a member of an extension (extension objects belong to the extension). The
/// subquery starts from `pg_extension` in `pg_depend`'s `refclassid` index, so it reads
/// only extension memberships and is hashed once per query.
fn not_extension_member(catalog: &str, oid: &str) -> String {
    format!(
        "{oid} NOT IN (SELECT x.objid FROM pg_catalog.pg_depend x WHERE x.refclassid = 'pg_catalog.pg_extension'::regclass AND x.classid = 'pg_catalog.{catalog}'::regclass AND x.deptype = 'e')"
    )
}

/// The query parameter most catalog queries take: the oids of the batch's namespaces.
pub(crate) const NAMESPACES_PARAM: &str = "$1::oid[]";

/// `FROM` the namespaces of the oid array `namespaces` (an SQL expression, usually
/// [`NAMESPACES_PARAM`]; as `sel(oid)`) `JOIN` the rows of `catalog` (as `alias`) that
/// live in them, found through each object's dependency on its schema in `pg_depend` (by
/// its reference index) rather than by the catalog's namespace column, which no index
/// leads with: a scan of the whole catalog per batch would grow with every tenant on the
/// server. Every relation (but indexes and TOAST tables), type (but array and row types)
/// and routine records that dependency; `ALTER ... SET SCHEMA` moves it.
pub(crate) fn in_namespaces(
    namespaces: &str,
    catalog: &str,
    alias: &str,
    namespace_column: &str,
) -> String {
    format!(
        "FROM unnest({namespaces}) sel(oid)
JOIN pg_catalog.pg_depend nsd ON nsd.refclassid = 'pg_catalog.pg_namespace'::regclass AND nsd.refobjid = sel.oid
     AND nsd.refobjsubid = 0 AND nsd.classid = 'pg_catalog.{catalog}'::regclass AND nsd.objsubid = 0 AND nsd.deptype = 'n'
JOIN pg_catalog.{catalog} {alias} ON {alias}.oid = nsd.objid AND {alias}.{namespace_column} = sel.oid"
    )
}

/// The planner settings of every catalog read, for the rest of its transaction.
///
/// - `jit = off`: a catalog of thousands of tenants makes the planner's estimates large
///   enough to switch JIT compilation on, which costs hundreds of milliseconds a query
///   for a result that takes two to compute.
/// - `random_page_cost = 1`: the catalog lives in shared buffers, so a page read at random
///   costs what one read in order does. At the default (4, for disks) the planner prefers
///   hashing all of `pg_constraint` or `pg_index` to probing their indexes once per
///   relation of the batch: half a second per query on a server of ten thousand tenants,
///   against tens of milliseconds for the probes, and a cost that grows with the server.
pub(crate) const READ_SETTINGS: &str = "SET LOCAL jit = off; SET LOCAL random_page_cost = 1";

/// Only `pg_catalog` on the path, for the rest of the transaction: catalog reads name
/// everything they use in it, so no function, operator or type of a tenant can stand in
/// for a built-in, and the plans [`CatalogClient`] keeps stay valid from one tenant to
/// the next (PostgreSQL plans a prepared statement again when the path has changed).
pub(crate) const PG_CATALOG_PATH: &str = "SET LOCAL search_path TO pg_catalog";

/// A subquery of the constraints (as `alias`, every column of `pg_constraint` and `xmin`) of the
/// domain whose oid is the SQL expression `domain`, to put after `FROM` or `CROSS JOIN
/// LATERAL`. It finds them through their `pg_depend` dependency on the domain rather than
/// by `contypid`: nearly every row of `pg_constraint` has `contypid = 0` (table
/// constraints), so its statistics say one value, the planner expects any domain to own
/// half the catalog, and it scans the whole of it once per domain, seconds per batch on
/// a server of thousands of tenants.
pub(crate) fn domain_constraints(domain: &str, alias: &str) -> String {
    format!(
        "(SELECT {alias}.*, {alias}.xmin FROM pg_catalog.pg_depend {alias}_dep
    JOIN pg_catalog.pg_constraint {alias} ON {alias}.oid = {alias}_dep.objid AND {alias}.contypid = {domain}
    WHERE {alias}_dep.refclassid = 'pg_catalog.pg_type'::regclass AND {alias}_dep.refobjid = {domain}
      AND {alias}_dep.refobjsubid = 0 AND {alias}_dep.classid = 'pg_catalog.pg_constraint'::regclass
    OFFSET 0) {alias}"
    )
}

/// A relation: table, view, materialized view, sequence, foreign or partitioned table.
#[derive(Debug, Clone)]
pub(crate) struct Relation {
    pub oid: u32,
    pub namespace: u32,
    pub name: String,
    pub kind: String,
    pub unlogged: bool,
    pub partition: bool,
    pub has_options: bool,
    /// `reloptions`: storage parameters as `name=value`.
    pub options: Vec<String>,
    /// The TOAST table's `reloptions`, each prefixed with `toast.`.
    pub toast_options: Vec<String>,
    pub row_security: bool,
    pub force_row_security: bool,
    pub typed: bool,
    pub inherits: bool,
    /// The access method of an index (`btree`, `gin`); empty for other relations.
    pub method: String,
    pub comment: Option<String>,
    /// The partitioned table (or index) this partition belongs to.
    pub parent: Option<u32>,
}

/// Types defined in a tenant schema (row types of tables and array types excluded).
#[derive(Debug, Clone)]
pub(crate) struct UserType {
    pub namespace: u32,
    pub name: String,
    pub kind: String,
    pub labels: Vec<String>,
    pub comment: Option<String>,
}

/// A function or procedure.
#[derive(Debug, Clone)]
pub(crate) struct Routine {
    pub oid: u32,
    pub namespace: u32,
    pub name: String,
    pub kind: String,
    pub comment: Option<String>,
}

/// An object schema-sync does not model, found in a tenant schema.
#[derive(Debug, Clone)]
pub(crate) struct Other {
    pub namespace: u32,
    pub kind: String,
    pub name: String,
}

/// What lives directly in the schemas: relations, types, routines, extensions, others,
/// and domains with their checks.
#[derive(Debug, Default)]
pub(crate) struct SchemaObjects {
    pub relations: Vec<Relation>,
    pub types: Vec<UserType>,
    pub routines: Vec<Routine>,
    pub extensions: Vec<(u32, String)>,
    pub others: Vec<Other>,
    pub domains: Vec<DomainRow>,
    pub domain_checks: Vec<DomainCheckRow>,
}

/// Relations of the namespaces: those found through `pg_depend`, and their indexes.
fn relations_query() -> String {
    format!(
        "
WITH own AS MATERIALIZED (
    SELECT c.oid {}
), rel AS (
    SELECT own.oid FROM own
    UNION ALL SELECT i.indexrelid FROM own JOIN pg_catalog.pg_index i ON i.indrelid = own.oid
)
SELECT c.oid, c.relnamespace AS namespace, c.relname::text AS name, c.relkind::text AS kind,
       c.relpersistence = 'u' AS unlogged, c.relispartition AS partition,
       COALESCE(cardinality(c.reloptions), 0) > 0 AS has_options,
       COALESCE(c.reloptions::text[], '{{}}') AS options,
       ARRAY(SELECT 'toast.' || o FROM pg_catalog.pg_class tc, unnest(tc.reloptions) o
             WHERE tc.oid = c.reltoastrelid) AS toast_options,
       c.relrowsecurity AS row_security, c.relforcerowsecurity AS force_row_security,
       c.reloftype <> 0 AS typed,
       c.oid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i) AS inherits,
       COALESCE(am.amname::text, '') AS method, d.description AS comment,
       CASE WHEN c.relispartition THEN (SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) END AS parent
FROM rel
JOIN pg_catalog.pg_class c ON c.oid = rel.oid
LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
LEFT JOIN pg_catalog.pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')",
        in_namespaces(NAMESPACES_PARAM, "pg_class", "c", "relnamespace")
    )
}

/// Types: enums are modelled; domains, composite, range and base types are reported.
fn types_query() -> String {
    format!(
        "
SELECT t.typnamespace AS namespace, t.typname::text AS name, t.typtype::text AS kind,
       ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
       d.description AS comment
{}
LEFT JOIN pg_catalog.pg_class r ON r.oid = t.typrelid
LEFT JOIN pg_catalog.pg_description d ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::regclass AND d.objsubid = 0
WHERE NOT (t.typcategory = 'A' AND t.typelem <> 0 AND t.typtype = 'b')
  AND t.typtype <> 'm'
  AND (t.typrelid = 0 OR r.relkind = 'c')
  AND {}",
        in_namespaces(NAMESPACES_PARAM, "pg_type", "t", "typnamespace"),
        not_extension_member("pg_type", "t.oid")
    )
}

fn routines_query() -> String {
    format!(
        "
SELECT p.oid, p.pronamespace AS namespace, p.proname::text AS name, p.prokind::text AS kind,
       d.description AS comment
{}
LEFT JOIN pg_catalog.pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_catalog.pg_proc'::regclass AND d.objsubid = 0
WHERE {}",
        in_namespaces(NAMESPACES_PARAM, "pg_proc", "p", "pronamespace"),
        not_extension_member("pg_proc", "p.oid")
    )
}

const EXTENSIONS: &str = "
SELECT e.extnamespace AS namespace, e.extname::text AS name
FROM unnest($1::oid[]) sel(oid) JOIN pg_catalog.pg_extension e ON e.extnamespace = sel.oid";

/// Objects of kinds schema-sync does not model, by namespace.
fn others_query() -> String {
    let kinds = [
        ("pg_collation", "collnamespace", "collname", "collation"),
        ("pg_operator", "oprnamespace", "oprname", "operator"),
        ("pg_opclass", "opcnamespace", "opcname", "operator class"),
        ("pg_opfamily", "opfnamespace", "opfname", "operator family"),
        (
            "pg_statistic_ext",
            "stxnamespace",
            "stxname",
            "statistics object",
        ),
        (
            "pg_ts_config",
            "cfgnamespace",
            "cfgname",
            "text search configuration",
        ),
        (
            "pg_ts_dict",
            "dictnamespace",
            "dictname",
            "text search dictionary",
        ),
        (
            "pg_ts_parser",
            "prsnamespace",
            "prsname",
            "text search parser",
        ),
        (
            "pg_ts_template",
            "tmplnamespace",
            "tmplname",
            "text search template",
        ),
        ("pg_conversion", "connamespace", "conname", "conversion"),
    ];
    kinds
        .iter()
        .map(|(catalog, namespace, name, kind)| {
            // Statistics on the schema's own tables are dependents of those tables
            // (see DEPENDENTS); only those on other schemas' tables are listed here.
            let own_table = if *catalog == "pg_statistic_ext" {
                " AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class r WHERE r.oid = o.stxrelid AND r.relnamespace = sel.oid)"
            } else {
                ""
            };
            format!(
                "SELECT o.{namespace} AS namespace, '{kind}' AS kind, o.{name}::text AS name FROM unnest($1::oid[]) sel(oid) JOIN pg_catalog.{catalog} o ON o.{namespace} = sel.oid WHERE {}{own_table}",
                not_extension_member(catalog, "o.oid")
            )
        })
        .collect::<Vec<_>>()
        .join("\nUNION ALL ")
}

/// Everything that lives directly in the namespaces, in one pipelined round trip.
pub(crate) async fn schema_objects(
    client: CatalogClient<'_>,
    namespaces: &[u32],
) -> PgResult<SchemaObjects> {
    let namespaces = namespaces.to_vec();
    let ns = oids(&namespaces);
    let (relations_sql, types_sql, routines_sql, others_sql) = (
        relations_query(),
        types_query(),
        routines_query(),
        others_query(),
    );
    let (domains_sql, domain_checks_sql) = domains::queries();
    let (relations, types, routines, extensions, others, domains, domain_checks) = futures::try_join!(
        stream_rows(client, &relations_sql, &ns, |r| {
            Ok(Relation {
                oid: get(r, "oid")?,
                namespace: get(r, "namespace")?,
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                unlogged: get(r, "unlogged")?,
                partition: get(r, "partition")?,
                has_options: get(r, "has_options")?,
                options: get(r, "options")?,
                toast_options: get(r, "toast_options")?,
                row_security: get(r, "row_security")?,
                force_row_security: get(r, "force_row_security")?,
                typed: get(r, "typed")?,
                inherits: get(r, "inherits")?,
                method: get(r, "method")?,
                comment: get(r, "comment")?,
                parent: get(r, "parent")?,
            })
        }),
        stream_rows(client, &types_sql, &ns, |r| {
            Ok(UserType {
                namespace: get(r, "namespace")?,
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                labels: get(r, "labels")?,
                comment: get(r, "comment")?,
            })
        }),
        stream_rows(client, &routines_sql, &ns, |r| {
            Ok(Routine {
                oid: get(r, "oid")?,
                namespace: get(r, "namespace")?,
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                comment: get(r, "comment")?,
            })
        }),
        stream_rows(client, EXTENSIONS, &ns, |r| Ok((
            get(r, "namespace")?,
            get(r, "name")?
        ))),
        stream_rows(client, &others_sql, &ns, |r| {
            Ok(Other {
                namespace: get(r, "namespace")?,
                kind: get(r, "kind")?,
                name: get(r, "name")?,
            })
        }),
        client.query(&domains_sql, &ns),
        client.query(&domain_checks_sql, &ns),
    )?;
    let (domains, domain_checks) = domains::read(domains, domain_checks)?;
    Ok(SchemaObjects {
        domains,
        domain_checks,
        relations,
        types,
        routines,
        extensions,
        others,
    })
}

/// A type as a column or a domain uses it, with the collation when it is not the
/// type's own. Queries select these columns under these names.
#[derive(Debug, Clone)]
pub(crate) struct TypeRow {
    /// The declared array dimensions.
    pub dimensions: i32,
    /// Whether the type is an array type (`type_name` is then its element type).
    pub is_array: bool,
    /// The type modifier.
    pub typmod: i32,
    /// `format_type`, only for `interval` field qualifiers.
    pub formatted: String,
    /// The type, or its element type for an array.
    pub type_name: String,
    pub type_namespace: u32,
    pub type_schema: String,
    pub collation: Option<String>,
    pub collation_namespace: Option<u32>,
    pub collation_schema: Option<String>,
}

impl TypeRow {
    /// Reads the type columns of `r`.
    pub(crate) fn read(r: &Row) -> PgResult<Self> {
        Ok(Self {
            dimensions: get(r, "dimensions")?,
            is_array: get(r, "is_array")?,
            typmod: get(r, "typmod")?,
            formatted: get(r, "formatted")?,
            type_name: get(r, "type_name")?,
            type_namespace: get(r, "type_namespace")?,
            type_schema: get(r, "type_schema")?,
            collation: get(r, "collation")?,
            collation_namespace: get(r, "collation_namespace")?,
            collation_schema: get(r, "collation_schema")?,
        })
    }
}

/// A table column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnRow {
    pub table: u32,
    pub number: i16,
    pub name: String,
    pub not_null: bool,
    pub identity: String,
    pub generated: String,
    /// Its type and collation.
    pub ty: TypeRow,
    pub comment: Option<String>,
}

const COLUMNS: &str = "
WITH a AS MATERIALIZED (
    SELECT a.attrelid, a.attnum, a.attname, a.attnotnull, a.attidentity, a.attgenerated, a.attndims,
           a.atttypid, a.atttypmod, a.attcollation
    FROM unnest($1::oid[]) sel(oid)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = sel.oid
    WHERE a.attnum > 0 AND NOT a.attisdropped
), ty AS MATERIALIZED (
    SELECT t.oid, (t.typcategory = 'A' AND t.typelem <> 0 AND t.typtype = 'b') AS is_array, t.typcollation,
           et.typname::text AS type_name, et.typnamespace AS type_namespace, etn.nspname::text AS type_schema
    FROM (SELECT DISTINCT atttypid FROM a) u
    JOIN pg_catalog.pg_type t ON t.oid = u.atttypid
    JOIN pg_catalog.pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 AND t.typtype = 'b' THEN t.typelem ELSE t.oid END
    JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
), co AS MATERIALIZED (
    SELECT co.oid, co.collname::text AS collname, co.collnamespace, n.nspname::text AS nspname
    FROM (SELECT DISTINCT attcollation FROM a) u
    JOIN pg_catalog.pg_collation co ON co.oid = u.attcollation
    JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
)
SELECT a.attrelid AS table_oid, a.attnum AS number, a.attname::text AS name, a.attnotnull AS not_null,
       a.attidentity::text AS identity, a.attgenerated::text AS generated, a.attndims AS dimensions,
       ty.is_array, a.atttypmod AS typmod,
       CASE WHEN ty.type_name = 'interval' THEN pg_catalog.format_type(a.atttypid, a.atttypmod) ELSE '' END AS formatted,
       ty.type_name, ty.type_namespace, ty.type_schema,
       CASE WHEN a.attcollation <> ty.typcollation AND a.attcollation <> 0 THEN co.collname END AS collation,
       CASE WHEN a.attcollation <> ty.typcollation AND a.attcollation <> 0 THEN co.collnamespace END AS collation_namespace,
       CASE WHEN a.attcollation <> ty.typcollation AND a.attcollation <> 0 THEN co.nspname END AS collation_schema,
       ds.description AS comment
FROM a
JOIN ty ON ty.oid = a.atttypid
LEFT JOIN co ON co.oid = a.attcollation
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = a.attrelid AND ds.classoid = 'pg_catalog.pg_class'::regclass AND ds.objsubid = a.attnum";

/// A constraint of a table.
#[derive(Debug, Clone)]
pub(crate) struct ConstraintRow {
    pub oid: u32,
    pub table: u32,
    pub name: String,
    pub kind: String,
    /// `conkey`: column numbers, named through the table's columns.
    pub column_numbers: Vec<i16>,
    /// `confrelid`: the referenced relation of a foreign key (0 otherwise).
    pub referenced_relation: u32,
    /// `confkey`: referenced column numbers.
    pub referenced_numbers: Vec<i16>,
    pub on_update: String,
    pub on_delete: String,
    pub match_full: bool,
    /// `confdelsetcols` (PostgreSQL 15): the columns `ON DELETE SET NULL|DEFAULT` sets.
    pub delete_set_numbers: Vec<i16>,
    /// `convalidated`: false for a `NOT VALID` constraint.
    pub validated: bool,
    pub deferrable: bool,
    pub deferred: bool,
    /// `conindid`: the index behind a key (or used by a foreign key).
    pub index_oid: u32,
    pub comment: Option<String>,
    /// `conislocal`: defined on the table itself, not (only) inherited from a parent.
    pub local: bool,
    /// A clone of a parent's constraint (`conparentid`): a partition's copy of its
    /// partitioned table's key, or a foreign key's copy per partition it references.
    pub cloned: bool,
}

fn constraints_query(server_version: i32) -> String {
    let set_columns = if server_version >= 150_000 {
        "COALESCE(c.confdelsetcols, '{}')"
    } else {
        "'{}'::int2[]"
    };
    format!(
        "
SELECT c.oid, c.conrelid AS table_oid, c.conname::text AS name, c.contype::text AS kind,
       COALESCE(c.conkey, '{{}}') AS column_numbers, c.confrelid AS referenced_relation,
       COALESCE(c.confkey, '{{}}') AS referenced_numbers,
       c.confupdtype::text AS on_update, c.confdeltype::text AS on_delete, c.confmatchtype = 'f' AS match_full,
       {set_columns} AS delete_set_numbers, c.convalidated AS validated,
       c.condeferrable AS deferrable, c.condeferred AS deferred,
       c.conindid AS index_oid, ds.description AS comment,
       c.conislocal AS local, c.conparentid <> 0 AS cloned
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_constraint c ON c.conrelid = sel.oid
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_catalog.pg_constraint'::regclass AND ds.objsubid = 0"
    )
}

/// An index of a table or materialized view.
#[derive(Debug, Clone)]
pub(crate) struct IndexRow {
    pub oid: u32,
    pub table: u32,
    pub unique: bool,
    pub key_count: i16,
    /// `indkey`: column numbers (0 for an expression), named through the table's columns.
    pub column_numbers: Vec<i16>,
    /// `indoption`: per key, bit 1 descending, bit 2 nulls first.
    pub options: Vec<i16>,
    pub nulls_not_distinct: bool,
    pub has_include: bool,
    /// The index relation's `reloptions` (`fillfactor=70`).
    pub storage_parameters: Vec<String>,
}

/// A key of an index whose operator class or collation is not the default.
#[derive(Debug, Clone)]
pub(crate) struct IndexKeyRow {
    /// The index.
    pub index: u32,
    /// The key's position, from 0.
    pub key: i16,
    /// The operator class when it is not the default for the key (or has parameters).
    pub operator_class: Option<String>,
    pub operator_class_namespace: u32,
    pub operator_class_schema: String,
    /// Operator class parameters (`siglen=32`).
    pub parameters: Vec<String>,
    /// The key's collation when it is not the column's (or the expression type's).
    pub collation: Option<String>,
    pub collation_namespace: Option<u32>,
    pub collation_schema: Option<String>,
}

/// Keys with a non-default operator class (one that is not `opcdefault`, or the default
/// of another type where the key's type has its own) or operator class parameters, or a
/// collation other than the column's. An expression key's own collation is not known to
/// SQL; its type's default stands in for it, so an explicit collation equal to the
/// expression's is kept (recreating the index with it changes nothing).
const INDEX_KEYS: &str = "
WITH k AS MATERIALIZED (
    SELECT i.indexrelid, i.indrelid, n.k, i.indkey[n.k] AS attnum, i.indclass[n.k] AS opclass,
           i.indcollation[n.k] AS coll
    FROM unnest($1::oid[]) sel(oid)
    JOIN pg_catalog.pg_index i ON i.indrelid = sel.oid
    CROSS JOIN LATERAL generate_series(0, i.indnkeyatts - 1) n(k)
), o AS (
    SELECT k.indexrelid AS oid, k.k::int2 AS key,
           CASE WHEN ia.attoptions IS NOT NULL OR NOT (oc.opcdefault AND (ta.atttypid IS NULL
                     OR oc.opcintype = ta.atttypid
                     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_opclass d WHERE d.opcmethod = oc.opcmethod
                                    AND d.opcdefault AND d.opcintype = ta.atttypid)))
                THEN oc.opcname::text END AS operator_class,
           oc.opcnamespace AS operator_class_namespace, ocn.nspname::text AS operator_class_schema,
           COALESCE(ia.attoptions, '{}') AS parameters,
           CASE WHEN k.coll <> 0 AND k.coll <> COALESCE(ta.attcollation, ty.typcollation) THEN co.collname::text END
               AS collation,
           co.collnamespace AS collation_namespace, con.nspname::text AS collation_schema
    FROM k
    JOIN pg_catalog.pg_opclass oc ON oc.oid = k.opclass
    JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
    -- Lateral lookups (OFFSET 0 keeps them from being flattened): with a thousand
    -- tenants on the server, a join would hash all of pg_attribute for a few keys.
    CROSS JOIN LATERAL (
        SELECT a.attoptions, a.atttypid FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = k.indexrelid AND a.attnum = k.k + 1 OFFSET 0
    ) ia
    LEFT JOIN pg_catalog.pg_type ty ON ty.oid = ia.atttypid
    LEFT JOIN LATERAL (
        SELECT a.atttypid, a.attcollation FROM pg_catalog.pg_attribute a
        WHERE a.attrelid = k.indrelid AND a.attnum = k.attnum AND k.attnum <> 0 OFFSET 0
    ) ta ON true
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = k.coll
    LEFT JOIN pg_catalog.pg_namespace con ON con.oid = co.collnamespace
)
SELECT * FROM o WHERE o.operator_class IS NOT NULL OR o.collation IS NOT NULL";

/// Indexes; their names, access methods, options and comments come with the relations.
///
/// An INVALID index is left out: the leftover of a failed or interrupted `CREATE INDEX
/// CONCURRENTLY`, or a partitioned table's index some partitions lack (`ON ONLY`, a
/// partition by partition build stopped part way). It serves no query, or not all, and
/// enforces nothing, so the tenant lacks that index, and the next build drops the
/// leftover first.
fn indexes_query(server_version: i32) -> String {
    let nulls = if server_version >= 150_000 {
        "i.indnullsnotdistinct"
    } else {
        "false"
    };
    format!(
        "
SELECT i.indexrelid AS oid, i.indrelid AS table_oid, i.indisunique AS is_unique, i.indnkeyatts AS key_count,
       i.indkey::int2[] AS column_numbers, i.indoption::int2[] AS options,
       {nulls} AS nulls_not_distinct, i.indnatts > i.indnkeyatts AS has_include,
       COALESCE(ic.reloptions, '{{}}') AS storage_parameters
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_index i ON i.indrelid = sel.oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
WHERE i.indisvalid"
    )
}

/// A trigger (internal triggers of foreign keys excluded).
#[derive(Debug, Clone)]
pub(crate) struct TriggerRow {
    pub oid: u32,
    pub table: u32,
    pub name: String,
    pub enabled: String,
    pub comment: Option<String>,
    /// A partition's clone of its partitioned table's trigger (`tgparentid`, PostgreSQL
    /// 13 and later; older servers mark clones internal).
    pub cloned: bool,
}

fn triggers_query(server_version: i32) -> String {
    let cloned = if server_version >= 130_000 {
        "t.tgparentid <> 0"
    } else {
        "false"
    };
    format!(
        "
SELECT t.oid, t.tgrelid AS table_oid, t.tgname::text AS name, t.tgenabled::text AS enabled,
       ds.description AS comment, {cloned} AS cloned
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_trigger t ON t.tgrelid = sel.oid
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = t.oid AND ds.classoid = 'pg_catalog.pg_trigger'::regclass AND ds.objsubid = 0
WHERE NOT t.tgisinternal"
    )
}

/// A sequence with its parameters and owning column.
#[derive(Debug, Clone)]
pub(crate) struct SequenceRow {
    pub oid: u32,
    pub type_name: String,
    pub start: i64,
    pub increment: i64,
    pub min_value: i64,
    pub max_value: i64,
    pub cache: i64,
    pub cycle: bool,
    pub owner_kind: Option<String>,
    pub owner_table: Option<u32>,
    pub owner_column: Option<String>,
}

const SEQUENCES: &str = "
SELECT s.seqrelid AS oid, t.typname::text AS type_name, s.seqstart AS start, s.seqincrement AS increment,
       s.seqmin AS min_value, s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycle,
       d.deptype::text AS owner_kind, d.refobjid AS owner_table, oa.attname::text AS owner_column
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_sequence s ON s.seqrelid = sel.oid
JOIN pg_catalog.pg_type t ON t.oid = s.seqtypid
LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = s.seqrelid
     AND d.objsubid = 0 AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid";

/// `(relation, name)` of rewrite rules other than a view's own `_RETURN` rule.
const RULES: &str = "
SELECT r.ev_class AS table_oid, r.rulename::text AS name
FROM unnest($1::oid[]) sel(oid) JOIN pg_catalog.pg_rewrite r ON r.ev_class = sel.oid WHERE r.rulename <> '_RETURN'";

/// A row-level security policy; its expressions are deparsed with the tenant's
/// `search_path` ([`deparse`]).
#[derive(Debug, Clone)]
pub(crate) struct PolicyRow {
    pub oid: u32,
    pub table: u32,
    pub name: String,
    /// `polcmd`: `*` all, `r` select, `a` insert, `w` update, `d` delete.
    pub command: String,
    pub permissive: bool,
    /// Role names sorted, `public` for everyone.
    pub roles: Vec<String>,
    pub comment: Option<String>,
}

const POLICIES: &str = "
SELECT p.oid, p.polrelid AS table_oid, p.polname::text AS name, p.polcmd::text AS command,
       p.polpermissive AS permissive,
       ARRAY(SELECT n.name FROM unnest(p.polroles) r(oid)
             CROSS JOIN LATERAL (SELECT CASE WHEN r.oid = 0 THEN 'public'
                                             ELSE pg_catalog.pg_get_userbyid(r.oid)::text END AS name) n
             ORDER BY n.name COLLATE \"C\") AS roles,
       ds.description AS comment
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_policy p ON p.polrelid = sel.oid
LEFT JOIN pg_catalog.pg_description ds ON ds.objoid = p.oid AND ds.classoid = 'pg_catalog.pg_policy'::regclass AND ds.objsubid = 0";

/// `(view, relation it reads)`.
const VIEW_DEPENDENCIES: &str = "
SELECT DISTINCT r.ev_class AS table_oid, d.refobjid AS reads
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_rewrite r ON r.ev_class = sel.oid
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_catalog.pg_class'::regclass
WHERE d.refobjid <> r.ev_class";

/// An object that disappears with a modelled table or view (an automatic or internal
/// dependency in `pg_depend`) and that no other query reads: statistics objects, publication memberships, defaults of view columns,
/// sequences of other schemas owned by a column, ...
#[derive(Debug, Clone)]
pub(crate) struct DependentRow {
    /// The table or view it hangs off.
    pub parent: u32,
    /// `pg_identify_object`'s type (`statistics object`, `publication relation`).
    pub kind: String,
    /// `pg_identify_object`'s identity, which may name the parent's schema.
    pub identity: String,
    /// The parent's schema, quoted as PostgreSQL quotes it, to strip from `identity`.
    pub qualifier: String,
}

/// Dependents that the model has no place for. Left out because another query reads
/// them: row types, rules (and a view's own `_RETURN` rule), constraints, triggers,
/// policies, indexes, TOAST tables, defaults of table columns, sequences and partitions
/// of the same schema (which are modelled with their owner), and a partitioned table's
/// dependency on its own key columns.
const DEPENDENTS: &str = "
WITH d AS MATERIALIZED (
    SELECT DISTINCT d.refobjid, d.classid, d.objid, p.relnamespace
    FROM unnest($1::oid[]) sel(oid)
    JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = sel.oid
         AND d.deptype IN ('a', 'i')
    JOIN pg_catalog.pg_class p ON p.oid = d.refobjid
    LEFT JOIN pg_catalog.pg_class dc ON d.classid = 'pg_catalog.pg_class'::regclass AND dc.oid = d.objid
    WHERE d.classid NOT IN ('pg_catalog.pg_type'::regclass, 'pg_catalog.pg_rewrite'::regclass,
                            'pg_catalog.pg_constraint'::regclass, 'pg_catalog.pg_trigger'::regclass,
                            'pg_catalog.pg_policy'::regclass)
      AND NOT (d.classid = 'pg_catalog.pg_attrdef'::regclass AND p.relkind = 'r')
      AND (dc.oid IS NULL OR (dc.relkind NOT IN ('i', 'I', 't')
                              AND NOT (dc.relkind = 'S' AND dc.relnamespace = p.relnamespace)
                              AND dc.oid <> p.oid
                              AND NOT (dc.relispartition AND dc.relnamespace = p.relnamespace)))
)
SELECT d.refobjid AS table_oid, o.type AS kind, o.identity, pg_catalog.quote_ident(n.nspname) AS qualifier
FROM d
JOIN pg_catalog.pg_namespace n ON n.oid = d.relnamespace
CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classid, d.objid, 0) o";

/// A comment on a column of a view or materialized view.
#[derive(Debug, Clone)]
pub(crate) struct ViewColumnComment {
    pub view: u32,
    pub column: String,
    pub comment: String,
}

/// Comments on the columns of views and materialized views (those of tables come with
/// the columns).
const VIEW_COLUMN_COMMENTS: &str = "
SELECT ds.objoid AS table_oid, a.attname::text AS name, ds.description AS comment
FROM unnest($1::oid[]) sel(oid)
JOIN pg_catalog.pg_description ds ON ds.objoid = sel.oid AND ds.classoid = 'pg_catalog.pg_class'::regclass AND ds.objsubid > 0
JOIN pg_catalog.pg_attribute a ON a.attrelid = sel.oid AND a.attnum = ds.objsubid AND NOT a.attisdropped";

/// What hangs off the relations: columns, constraints, indexes, triggers, sequences,
/// rules, policies, view dependencies, comments on view columns and unmodelled
/// dependents.
#[derive(Debug, Default)]
pub(crate) struct RelationParts {
    pub columns: Vec<ColumnRow>,
    pub constraints: Vec<ConstraintRow>,
    pub indexes: Vec<IndexRow>,
    pub index_keys: Vec<IndexKeyRow>,
    pub triggers: Vec<TriggerRow>,
    pub sequences: Vec<SequenceRow>,
    pub rules: Vec<(u32, String)>,
    pub policies: Vec<PolicyRow>,
    pub view_dependencies: Vec<(u32, u32)>,
    pub view_column_comments: Vec<ViewColumnComment>,
    pub dependents: Vec<DependentRow>,
}

impl RelationParts {
    /// Splits a batch's rows by the namespace of the relation each hangs off
    /// (`namespace_of`: relation oid to namespace oid), so that assembling one tenant
    /// reads its own rows only, not the whole batch's; rows of other relations go.
    pub(crate) fn split(self, namespace_of: &HashMap<u32, u32>) -> HashMap<u32, RelationParts> {
        let mut out: HashMap<u32, RelationParts> = HashMap::new();
        macro_rules! spread {
            ($field:ident, $relation:expr) => {
                for row in self.$field {
                    if let Some(ns) = namespace_of.get(&$relation(&row)) {
                        out.entry(*ns).or_default().$field.push(row);
                    }
                }
            };
        }
        spread!(columns, |r: &ColumnRow| r.table);
        spread!(constraints, |r: &ConstraintRow| r.table);
        spread!(indexes, |r: &IndexRow| r.table);
        spread!(index_keys, |r: &IndexKeyRow| r.index);
        spread!(triggers, |r: &TriggerRow| r.table);
        spread!(sequences, |r: &SequenceRow| r.oid);
        spread!(rules, |r: &(u32, String)| r.0);
        spread!(policies, |r: &PolicyRow| r.table);
        spread!(view_dependencies, |r: &(u32, u32)| r.0);
        spread!(view_column_comments, |r: &ViewColumnComment| r.view);
        spread!(dependents, |r: &DependentRow| r.parent);
        out
    }
}

/// Reads the parts of `tables` (tables: constraints), `relations` (tables, views and
/// materialized views: columns, indexes and the rest) and `sequences` in one pipelined
/// round trip.
pub(crate) async fn relation_parts(
    client: CatalogClient<'_>,
    server_version: i32,
    tables: &[u32],
    relations: &[u32],
    views: &[u32],
    sequences: &[u32],
) -> PgResult<RelationParts> {
    let (tables, relations, views, sequences) = (
        tables.to_vec(),
        relations.to_vec(),
        views.to_vec(),
        sequences.to_vec(),
    );
    let constraints_sql = constraints_query(server_version);
    let indexes_sql = indexes_query(server_version);
    let triggers_sql = triggers_query(server_version);
    let (tables, relations, views, sequences) = (
        oids(&tables),
        oids(&relations),
        oids(&views),
        oids(&sequences),
    );
    let pair = |r: &Row| -> PgResult<(u32, String)> { Ok((get(r, "table_oid")?, get(r, "name")?)) };
    let (
        columns,
        constraints,
        indexes,
        index_keys,
        triggers,
        sequences,
        rules,
        policies,
        view_dependencies,
        view_column_comments,
        dependents,
    ) = futures::try_join!(
        stream_rows(client, COLUMNS, &relations, |r| {
            Ok(ColumnRow {
                table: get(r, "table_oid")?,
                number: get(r, "number")?,
                name: get(r, "name")?,
                not_null: get(r, "not_null")?,
                identity: get(r, "identity")?,
                generated: get(r, "generated")?,
                ty: TypeRow::read(r)?,
                comment: get(r, "comment")?,
            })
        }),
        stream_rows(client, &constraints_sql, &tables, |r| {
            Ok(ConstraintRow {
                oid: get(r, "oid")?,
                table: get(r, "table_oid")?,
                name: get(r, "name")?,
                kind: get(r, "kind")?,
                column_numbers: get(r, "column_numbers")?,
                referenced_relation: get(r, "referenced_relation")?,
                referenced_numbers: get(r, "referenced_numbers")?,
                on_update: get(r, "on_update")?,
                on_delete: get(r, "on_delete")?,
                match_full: get(r, "match_full")?,
                delete_set_numbers: get(r, "delete_set_numbers")?,
                validated: get(r, "validated")?,
                deferrable: get(r, "deferrable")?,
                deferred: get(r, "deferred")?,
                index_oid: get(r, "index_oid")?,
                comment: get(r, "comment")?,
                local: get(r, "local")?,
                cloned: get(r, "cloned")?,
            })
        }),
        stream_rows(client, &indexes_sql, &relations, |r| {
            Ok(IndexRow {
                oid: get(r, "oid")?,
                table: get(r, "table_oid")?,
                unique: get(r, "is_unique")?,
                key_count: get(r, "key_count")?,
                column_numbers: get(r, "column_numbers")?,
                options: get(r, "options")?,
                nulls_not_distinct: get(r, "nulls_not_distinct")?,
                has_include: get(r, "has_include")?,
                storage_parameters: get(r, "storage_parameters")?,
            })
        }),
        stream_rows(client, INDEX_KEYS, &relations, |r| {
            Ok(IndexKeyRow {
                index: get(r, "oid")?,
                key: get(r, "key")?,
                operator_class: get(r, "operator_class")?,
                operator_class_namespace: get(r, "operator_class_namespace")?,
                operator_class_schema: get(r, "operator_class_schema")?,
                parameters: get(r, "parameters")?,
                collation: get(r, "collation")?,
                collation_namespace: get(r, "collation_namespace")?,
                collation_schema: get(r, "collation_schema")?,
            })
        }),
        stream_rows(client, &triggers_sql, &relations, |r| {
            Ok(TriggerRow {
                oid: get(r, "oid")?,
                table: get(r, "table_oid")?,
                name: get(r, "name")?,
                enabled: get(r, "enabled")?,
                comment: get(r, "comment")?,
                cloned: get(r, "cloned")?,
            })
        }),
        stream_rows(client, SEQUENCES, &sequences, |r| {
            Ok(SequenceRow {
                oid: get(r, "oid")?,
                type_name: get(r, "type_name")?,
                start: get(r, "start")?,
                increment: get(r, "increment")?,
                min_value: get(r, "min_value")?,
                max_value: get(r, "max_value")?,
                cache: get(r, "cache")?,
                cycle: get(r, "cycle")?,
                owner_kind: get(r, "owner_kind")?,
                owner_table: get(r, "owner_table")?,
                owner_column: get(r, "owner_column")?,
            })
        }),
        stream_rows(client, RULES, &relations, pair),
        stream_rows(client, POLICIES, &relations, |r| {
            Ok(PolicyRow {
                oid: get(r, "oid")?,
                table: get(r, "table_oid")?,
                name: get(r, "name")?,
                command: get(r, "command")?,
                permissive: get(r, "permissive")?,
                roles: get(r, "roles")?,
                comment: get(r, "comment")?,
            })
        }),
        stream_rows(client, VIEW_DEPENDENCIES, &views, |r| {
            Ok((get(r, "table_oid")?, get(r, "reads")?))
        }),
        stream_rows(client, VIEW_COLUMN_COMMENTS, &views, |r| {
            Ok(ViewColumnComment {
                view: get(r, "table_oid")?,
                column: get(r, "name")?,
                comment: get(r, "comment")?,
            })
        }),
        stream_rows(client, DEPENDENTS, &relations, |r| {
            Ok(DependentRow {
                parent: get(r, "table_oid")?,
                kind: get(r, "kind")?,
                identity: get(r, "identity")?,
                qualifier: get(r, "qualifier")?,
            })
        }),
    )?;
    Ok(RelationParts {
        columns,
        constraints,
        indexes,
        index_keys,
        triggers,
        sequences,
        rules,
        policies,
        view_dependencies,
        view_column_comments,
        dependents,
    })
}

/// A relation outside the batch that a foreign key references: `(oid, name, namespace
/// oid, schema name, column number, column name)` per column.
pub(crate) type ExternalColumn = (u32, String, u32, String, i16, String);

/// Names of relations outside the batch (foreign key targets in other schemas) and of
/// their columns.
pub(crate) async fn external_relations(
    client: CatalogClient<'_>,
    relations: &[u32],
) -> PgResult<Vec<ExternalColumn>> {
    if relations.is_empty() {
        return Ok(Vec::new());
    }
    let relations = relations.to_vec();
    let found = client
        .query(
            "SELECT c.oid, c.relname::text AS name, c.relnamespace AS namespace, n.nspname::text AS schema,
                    a.attnum AS number, a.attname::text AS column_name
             FROM unnest($1::oid[]) sel(oid)
             JOIN pg_catalog.pg_class c ON c.oid = sel.oid
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped",
            &oids(&relations),
        )
        .await?;
    rows(found, |r| {
        Ok((
            get(r, "oid")?,
            get(r, "name")?,
            get(r, "namespace")?,
            get(r, "schema")?,
            get(r, "number")?,
            get(r, "column_name")?,
        ))
    })
}

mod client;
pub(crate) mod cookie;
mod deparse;
mod domains;
pub(crate) mod index_builds;
pub(crate) mod privileges;
mod shapes;
pub(crate) use shapes::{RawRow, raw_rows};

pub(crate) use domains::{DomainCheckRow, DomainRow};

pub(crate) use deparse::{DeparseRequest, Deparsed, deparse, strip_qualifier, tenant_search_path};
