//! Deparsed text: definitions PostgreSQL prints from its catalog (defaults, checks,
//! index expressions and predicates, triggers, views, functions), produced for a whole
//! batch in one round trip with `search_path` pinned to each tenant in turn.

use std::collections::HashMap;

use tokio_postgres::{Client, SimpleQueryMessage};

use super::PgResult;
use crate::sql::quote_ident;

/// The relations and routines of one tenant whose definitions must be deparsed.
#[derive(Debug, Default, Clone)]
pub(crate) struct DeparseRequest {
    /// The tenant's namespace oid.
    pub namespace: u32,
    /// The tenant's schema name.
    pub schema: String,
    /// Its tables.
    pub tables: Vec<u32>,
    /// Its views and materialized views.
    pub views: Vec<u32>,
    /// Its functions and procedures (not aggregates).
    pub routines: Vec<u32>,
    /// Its domains.
    pub domains: Vec<u32>,
}

/// Deparsed text, keyed by `(kind, oid, number)`:
/// `d` default of column `number`, `c` check constraint, `k` index expression key
/// `number`, `w` index predicate, `t` trigger, `v` view body, `f` function definition,
/// `s` function signature, `q` the function's schema-qualified name as PostgreSQL
/// prints it, `n` its bare name; `P` the partition key of a partitioned table, `B` the
/// bound of a partition; `D` the default of a domain, `C` a domain check constraint's
/// expression (by constraint oid); `p` a policy's `USING` (number 0) and `WITH CHECK`
/// (number 1) expressions; `u` (oid 0) the schema's quoted name when the role
/// lacks `USAGE` on it.
///
/// PostgreSQL leaves a schema the role may not use out of the effective `search_path`,
/// so for such a role (one that may only read the catalog) the tenant's own objects come
/// out schema-qualified; [`strip_qualifier`] then removes the qualifier from the text.
pub(crate) type Deparsed = HashMap<(char, u32, i32), String>;

/// A literal `'{1,2,3}'::oid[]` (numbers only, so nothing to escape).
fn oid_array(oids: &[u32]) -> String {
    let list: Vec<String> = oids.iter().map(u32::to_string).collect();
    format!("'{{{}}}'::pg_catalog.oid[]", list.join(","))
}

/// The `search_path` that deparsed text is tenant-relative to: the tenant first, then
/// `pg_catalog`. Naming `pg_catalog` after the tenant makes a tenant function that shares
/// a built-in's name (`lower`, `normalize`) print unqualified, where the implicit
/// `pg_catalog`-first path would print it qualified with the tenant's schema; the
/// built-in then prints as `pg_catalog.lower`. The runner executes with the same path.
pub(crate) fn tenant_search_path(schema: &str) -> String {
    format!("{}, pg_catalog", quote_ident(schema))
}

/// Deparses definitions for each tenant with `search_path` set to it, all in one round
/// trip (one simple-protocol message whose statements run in order). Must run inside a
/// transaction: `SET LOCAL` ends with it. Returns the text per namespace oid.
pub(crate) async fn deparse(
    client: &Client,
    requests: &[DeparseRequest],
) -> PgResult<HashMap<u32, Deparsed>> {
    let mut sql = String::new();
    let domain_checks = super::domain_constraints("dy.oid", "c");
    for r in requests {
        if r.tables.is_empty()
            && r.views.is_empty()
            && r.routines.is_empty()
            && r.domains.is_empty()
        {
            continue;
        }
        // Tables and materialized views in one array: `= ANY` of one constant array is an
        // index scan, an `OR` of two is a scan of all of pg_index on a large catalog.
        let relations: Vec<u32> = r.tables.iter().chain(&r.views).copied().collect();
        let (t, v, f, y, ns, tv) = (
            oid_array(&r.tables),
            oid_array(&r.views),
            oid_array(&r.routines),
            oid_array(&r.domains),
            r.namespace,
            oid_array(&relations),
        );
        sql.push_str(&format!(
            "SET LOCAL search_path TO {path};
SELECT {ns} AS ns, 'd' AS kind, d.adrelid AS oid, d.adnum::int AS num, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS text
  FROM pg_catalog.pg_attrdef d WHERE d.adrelid = ANY({t})
UNION ALL SELECT {ns}, 'c', c.oid, 0, pg_catalog.pg_get_expr(c.conbin, c.conrelid)
  FROM pg_catalog.pg_constraint c WHERE c.conrelid = ANY({t}) AND c.contype = 'c'
UNION ALL SELECT {ns}, 'k', i.indexrelid, k.n, pg_catalog.pg_get_indexdef(i.indexrelid, k.n, true)
  FROM pg_catalog.pg_index i CROSS JOIN LATERAL generate_series(1, i.indnkeyatts::int) k(n)
  WHERE i.indrelid = ANY({tv}) AND i.indkey[k.n - 1] = 0
UNION ALL SELECT {ns}, 'w', i.indexrelid, 0, pg_catalog.pg_get_expr(i.indpred, i.indrelid)
  FROM pg_catalog.pg_index i WHERE i.indrelid = ANY({tv}) AND i.indpred IS NOT NULL
UNION ALL SELECT {ns}, 'p', p.oid, 0, pg_catalog.pg_get_expr(p.polqual, p.polrelid)
  FROM pg_catalog.pg_policy p WHERE p.polrelid = ANY({t}) AND p.polqual IS NOT NULL
UNION ALL SELECT {ns}, 'p', p.oid, 1, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
  FROM pg_catalog.pg_policy p WHERE p.polrelid = ANY({t}) AND p.polwithcheck IS NOT NULL
UNION ALL SELECT {ns}, 't', g.oid, 0, pg_catalog.pg_get_triggerdef(g.oid, true)
  FROM pg_catalog.pg_trigger g WHERE g.tgrelid = ANY({t}) AND NOT g.tgisinternal
UNION ALL SELECT {ns}, 'v', c.oid, 0, pg_catalog.pg_get_viewdef(c.oid, true)
  FROM pg_catalog.pg_class c WHERE c.oid = ANY({v})
UNION ALL SELECT {ns}, 'f', p.oid, 0, pg_catalog.pg_get_functiondef(p.oid)
  FROM pg_catalog.pg_proc p WHERE p.oid = ANY({f})
UNION ALL SELECT {ns}, 's', p.oid, 0, pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')'
  FROM pg_catalog.pg_proc p WHERE p.oid = ANY({f})
UNION ALL SELECT {ns}, 'q', p.oid, 0, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = ANY({f})
UNION ALL SELECT {ns}, 'n', p.oid, 0, pg_catalog.quote_ident(p.proname)
  FROM pg_catalog.pg_proc p WHERE p.oid = ANY({f})
UNION ALL SELECT {ns}, 'P', c.oid, 0, pg_catalog.pg_get_partkeydef(c.oid)
  FROM pg_catalog.pg_class c WHERE c.oid = ANY({t}) AND c.relkind = 'p'
UNION ALL SELECT {ns}, 'B', c.oid, 0, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
  FROM pg_catalog.pg_class c WHERE c.oid = ANY({t}) AND c.relispartition
UNION ALL SELECT {ns}, 'D', t.oid, 0, pg_catalog.pg_get_expr(t.typdefaultbin, 0)
  FROM pg_catalog.pg_type t WHERE t.oid = ANY({y}) AND t.typdefaultbin IS NOT NULL
UNION ALL SELECT {ns}, 'C', c.oid, 0, pg_catalog.pg_get_expr(c.conbin, 0)
  FROM unnest({y}) dy(oid) CROSS JOIN LATERAL {domain_checks} WHERE c.contype = 'c'
UNION ALL SELECT {ns}, 'u', 0, 0, pg_catalog.quote_ident(n.nspname)
  FROM pg_catalog.pg_namespace n WHERE n.oid = {ns} AND NOT pg_catalog.has_schema_privilege(n.oid, 'USAGE');
",
            path = tenant_search_path(&r.schema),
        ));
    }
    let mut out: HashMap<u32, Deparsed> = HashMap::new();
    if sql.is_empty() {
        return Ok(out);
    }
    // The queries after this one are planned under `pg_catalog` alone
    // (`CatalogClient`'s prepared plans are planned again under another path).
    sql.push_str(super::PG_CATALOG_PATH);
    for message in client.simple_query(&sql).await? {
        let SimpleQueryMessage::Row(row) = message else {
            continue;
        };
        let field = |i: usize| row.try_get(i);
        let (Some(ns), Some(kind), Some(oid), Some(num), Some(text)) =
            (field(0)?, field(1)?, field(2)?, field(3)?, field(4)?)
        else {
            continue;
        };
        let (Ok(ns), Some(kind), Ok(oid), Ok(num)) = (
            ns.parse::<u32>(),
            kind.chars().next(),
            oid.parse::<u32>(),
            num.parse::<i32>(),
        ) else {
            continue;
        };
        out.entry(ns)
            .or_default()
            .insert((kind, oid, num), text.to_string());
    }
    Ok(out)
}

/// Removes `qualifier.` (a schema name quoted as PostgreSQL quotes it) wherever it starts
/// a name: in identifiers and inside literals such as `'tenant.seq'::regclass`.
///
/// Only used when the role cannot use the schema (see [`Deparsed`]): an alias spelled
/// exactly like the schema and followed by a dot would be stripped too.
pub(crate) fn strip_qualifier(text: &str, qualifier: &str) -> String {
    let plain = format!("{qualifier}.");
    let in_literal = plain.replace('\'', "''");
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let boundary =
            !previous.is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | '$' | '"' | '.'));
        let skip = [plain.as_str(), in_literal.as_str()]
            .into_iter()
            .find(|q| boundary && rest.starts_with(q))
            .map(str::len);
        match skip {
            Some(len) => {
                rest = &rest[len..];
                previous = Some('.');
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
                previous = Some(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_the_tenant_qualifier_only_where_it_starts_a_name() {
        assert_eq!(
            strip_qualifier("nextval('t_1.orders_id_seq'::regclass)", "t_1"),
            "nextval('orders_id_seq'::regclass)"
        );
        assert_eq!(
            strip_qualifier("SELECT o.id FROM t_1.orders o JOIN xt_1.a ON true", "t_1"),
            "SELECT o.id FROM orders o JOIN xt_1.a ON true"
        );
        assert_eq!(
            strip_qualifier(
                "'x'::\"s'q\".mood, nextval('\"s''q\".seq'::regclass)",
                "\"s'q\""
            ),
            "'x'::mood, nextval('seq'::regclass)"
        );
    }
}
