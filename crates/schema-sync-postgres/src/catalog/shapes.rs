//! The raw inputs of deparsed text, read for a whole batch without deparsing anything:
//! what [`crate::inspect::shapes`] fingerprints so that only one tenant of each shape
//! is deparsed.
//!
//! `pg_get_expr` and its siblings open every relation they print and look up every name
//! they print; on a server of thousands of tenants that is most of an inspection. The
//! stored trees (`pg_node_tree`) and catalog rows they print from are cheap to read.
//! One query returns, per namespace, rows `(namespace, tag, oid, number, text)`:
//!
//! | tag | what | oid, number | text |
//! |---|---|---|---|
//! | `R` | a relation | its oid | `relkind` and name |
//! | `T` | a type | its oid | `typtype` and name |
//! | `E` | an enum label (a constant of an enum type holds its oid) | its oid | type oid, a tab, label |
//! | `F` | a routine | its oid | name, a tab, `proargtypes` |
//! | `O` | an operator | its oid | name, a tab, left and right type oids |
//! | `N` | another named object (collation, operator class and family, statistics, text search, conversion) | its oid | catalog letter and name |
//! | `K` | a constraint | its oid | owning relation oid, type oid, a tab, name |
//! | `G` | a trigger, not an internal one (named after oids) | its oid | relation oid, a tab, name |
//! | `Q` | a policy | its oid | relation oid, a tab, name |
//! | `A` | a column of a relation | relation oid, `attnum` | name, type oid, typmod, collation oid, dropped |
//! | `d` | a column default | relation oid, `attnum` | `adbin` |
//! | `c` | a table check | constraint oid | `conbin` |
//! | `k` | an index with expressions | index oid | table oid, `indkey`, `indexprs` |
//! | `w` | an index predicate | index oid | `indpred` |
//! | `p` | a policy expression | policy oid, 0 `USING` / 1 `WITH CHECK` | the tree |
//! | `t` | a trigger | trigger oid | the whole `pg_trigger` row as JSON |
//! | `v` | a view or materialized view body | relation oid | the `_RETURN` rule's `ev_action` |
//! | `P` | a partition key | table oid | the whole `pg_partitioned_table` row as JSON |
//! | `B` | a partition bound | table oid | `relpartbound` |
//! | `D` | a domain default | type oid | `typdefaultbin` |
//! | `C` | a domain check | constraint oid | `conbin` |
//! | `U` | the role's `USAGE` on the schema | 0 | `t` or `f` |
//!
//! Functions are not here: their definitions are deparsed for every tenant (they are
//! few, and their text may name the tenant's schema).

use tokio_postgres::Row;
use tokio_postgres::types::Type;

use super::{CatalogClient, PgResult};

/// One raw row (see the module documentation).
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub namespace: u32,
    pub tag: char,
    pub oid: u32,
    pub number: i32,
    pub text: String,
}

/// The query: `$1` the namespaces, `$2` their relations (indexes included), found by
/// the inspection's relation query; types and routines are found through `pg_depend`
/// ([`super::in_namespaces`]), an index lookup whose cost is the batch's own objects.
fn raw_query() -> String {
    let members = |catalog: &str, alias: &str, column: &str| {
        super::in_namespaces("ARRAY(SELECT oid FROM ns)", catalog, alias, column)
    };
    RAW.replace("{typ}", &members("pg_type", "t", "typnamespace"))
        .replace("{proc}", &members("pg_proc", "p", "pronamespace"))
        .replace(
            "{domain_constraints}",
            &super::domain_constraints("t.oid", "k"),
        )
        .replace("{triggers}", TRIGGERS)
}

/// `CROSS JOIN LATERAL` the user triggers (as `g`) of relation `r`: one index lookup per
/// relation. Joined plainly, the planner reads the statistics (nearly every trigger is an
/// internal one of a foreign key) as "no user trigger anywhere" and scans all of
/// `pg_trigger` once per batch, a cost that grows with every tenant on the server.
const TRIGGERS: &str = "CROSS JOIN LATERAL (SELECT g.* FROM pg_catalog.pg_trigger g
    WHERE g.tgrelid = r.oid OFFSET 0) g WHERE NOT g.tgisinternal";

const RAW: &str = "
WITH ns AS MATERIALIZED (SELECT unnest($1::oid[]) AS oid),
rel AS MATERIALIZED (
    SELECT c.oid, c.relnamespace AS ns, c.relname, c.relkind, c.relpartbound
    FROM unnest($2::oid[]) sel(oid) JOIN pg_catalog.pg_class c ON c.oid = sel.oid
),
typ AS MATERIALIZED (SELECT t.oid, t.typnamespace AS ns, t.typname, t.typtype {typ})
SELECT r.ns, 'R' AS tag, r.oid, 0 AS num, r.relkind::text || r.relname::text AS text FROM rel r
UNION ALL SELECT t.ns, 'T', t.oid, 0, t.typtype::text || t.typname::text FROM typ t
UNION ALL SELECT t.ns, 'E', e.oid, 0, e.enumtypid::text || E'\\t' || e.enumlabel::text
  FROM typ t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid WHERE t.typtype = 'e'
UNION ALL SELECT p.pronamespace, 'F', p.oid, 0, p.proname::text || E'\\t' || p.proargtypes::text {proc}
UNION ALL SELECT o.oprnamespace, 'O', o.oid, 0, o.oprname::text || E'\\t' || o.oprleft::text || ' ' || o.oprright::text
  FROM ns JOIN pg_catalog.pg_operator o ON o.oprnamespace = ns.oid
UNION ALL SELECT x.collnamespace, 'N', x.oid, 0, 'L' || x.collname::text
  FROM ns JOIN pg_catalog.pg_collation x ON x.collnamespace = ns.oid
UNION ALL SELECT x.opcnamespace, 'N', x.oid, 0, 'X' || x.opcmethod::text || ' ' || x.opcname::text
  FROM ns JOIN pg_catalog.pg_opclass x ON x.opcnamespace = ns.oid
UNION ALL SELECT x.opfnamespace, 'N', x.oid, 0, 'Y' || x.opfmethod::text || ' ' || x.opfname::text
  FROM ns JOIN pg_catalog.pg_opfamily x ON x.opfnamespace = ns.oid
UNION ALL SELECT x.stxnamespace, 'N', x.oid, 0, 'S' || x.stxname::text
  FROM ns JOIN pg_catalog.pg_statistic_ext x ON x.stxnamespace = ns.oid
UNION ALL SELECT x.cfgnamespace, 'N', x.oid, 0, 'G' || x.cfgname::text
  FROM ns JOIN pg_catalog.pg_ts_config x ON x.cfgnamespace = ns.oid
UNION ALL SELECT x.dictnamespace, 'N', x.oid, 0, 'D' || x.dictname::text
  FROM ns JOIN pg_catalog.pg_ts_dict x ON x.dictnamespace = ns.oid
UNION ALL SELECT x.prsnamespace, 'N', x.oid, 0, 'P' || x.prsname::text
  FROM ns JOIN pg_catalog.pg_ts_parser x ON x.prsnamespace = ns.oid
UNION ALL SELECT x.tmplnamespace, 'N', x.oid, 0, 'M' || x.tmplname::text
  FROM ns JOIN pg_catalog.pg_ts_template x ON x.tmplnamespace = ns.oid
UNION ALL SELECT x.connamespace, 'N', x.oid, 0, 'V' || x.conname::text
  FROM ns JOIN pg_catalog.pg_conversion x ON x.connamespace = ns.oid
UNION ALL SELECT r.ns, 'K', k.oid, 0, k.conrelid::text || ' ' || k.contypid::text || E'\\t' || k.conname::text
  FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
UNION ALL SELECT t.ns, 'K', k.oid, 0, k.conrelid::text || ' ' || k.contypid::text || E'\\t' || k.conname::text
  FROM typ t CROSS JOIN LATERAL {domain_constraints} WHERE t.typtype = 'd'
UNION ALL SELECT r.ns, 'G', g.oid, 0, g.tgrelid::text || E'\\t' || g.tgname::text
  FROM rel r {triggers}
UNION ALL SELECT r.ns, 'Q', p.oid, 0, p.polrelid::text || E'\\t' || p.polname::text
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid
UNION ALL SELECT r.ns, 'A', a.attrelid, a.attnum::int,
       a.attname::text || E'\\t' || a.atttypid::text || ' ' || a.atttypmod::text || ' ' || a.attcollation::text || ' ' || a.attisdropped::text
  FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0
UNION ALL SELECT r.ns, 'd', d.adrelid, d.adnum::int, d.adbin::text
  FROM rel r JOIN pg_catalog.pg_attrdef d ON d.adrelid = r.oid
UNION ALL SELECT r.ns, 'c', k.oid, 0, k.conbin::text
  FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid AND k.contype = 'c'
UNION ALL SELECT r.ns, 'k', i.indexrelid, 0, i.indrelid::text || ' ' || i.indkey::text || E'\\t' || i.indexprs::text
  FROM rel r JOIN pg_catalog.pg_index i ON i.indexrelid = r.oid AND i.indexprs IS NOT NULL
UNION ALL SELECT r.ns, 'w', i.indexrelid, 0, i.indpred::text
  FROM rel r JOIN pg_catalog.pg_index i ON i.indexrelid = r.oid AND i.indpred IS NOT NULL
UNION ALL SELECT r.ns, 'p', p.oid, 0, p.polqual::text
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid AND p.polqual IS NOT NULL
UNION ALL SELECT r.ns, 'p', p.oid, 1, p.polwithcheck::text
  FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid = r.oid AND p.polwithcheck IS NOT NULL
UNION ALL SELECT r.ns, 't', g.oid, 0, pg_catalog.to_jsonb(g)::text
  FROM rel r {triggers}
UNION ALL SELECT r.ns, 'v', r.oid, 0, w.ev_action::text
  FROM rel r JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid AND w.rulename = '_RETURN'
  WHERE r.relkind IN ('v', 'm')
UNION ALL SELECT r.ns, 'P', r.oid, 0, pg_catalog.to_jsonb(pt)::text
  FROM rel r JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = r.oid
UNION ALL SELECT r.ns, 'B', r.oid, 0, r.relpartbound::text FROM rel r WHERE r.relpartbound IS NOT NULL
UNION ALL SELECT t.ns, 'D', t.oid, 0, d.typdefaultbin::text
  FROM typ t JOIN pg_catalog.pg_type d ON d.oid = t.oid AND d.typdefaultbin IS NOT NULL
UNION ALL SELECT t.ns, 'C', k.oid, 0, k.conbin::text
  FROM typ t CROSS JOIN LATERAL {domain_constraints} WHERE t.typtype = 'd' AND k.contype = 'c'
UNION ALL SELECT ns.oid, 'U', 0, 0, pg_catalog.has_schema_privilege(ns.oid, 'USAGE')::text FROM ns";

/// Reads the raw rows of `namespaces`, whose relations (indexes included) are
/// `relations`. Must run in the inspection's transaction.
pub(crate) async fn raw_rows(
    client: CatalogClient<'_>,
    namespaces: &[u32],
    relations: &[u32],
) -> PgResult<Vec<RawRow>> {
    let (namespaces, relations) = (namespaces.to_vec(), relations.to_vec());
    super::stream_rows(
        client,
        &raw_query(),
        &[
            (&namespaces, Type::OID_ARRAY),
            (&relations, Type::OID_ARRAY),
        ],
        read,
    )
    .await
}

fn read(row: &Row) -> PgResult<RawRow> {
    let tag: String = row.try_get(1)?;
    Ok(RawRow {
        namespace: row.try_get(0)?,
        tag: tag.chars().next().unwrap_or(' '),
        oid: row.try_get(2)?,
        number: row.try_get(3)?,
        text: row.try_get::<_, Option<String>>(4)?.unwrap_or_default(),
    })
}
