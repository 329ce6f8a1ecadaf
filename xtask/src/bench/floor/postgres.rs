//! The catalog floor of a PostgreSQL fleet: the raw `pg_catalog` rows of every tenant's
//! schema, read once.
//!
//! One connection reads, catalog table after catalog table, every row that describes an
//! object in the tenants' namespaces: `pg_namespace` first (which also yields their
//! OIDs), then `pg_class`, `pg_attribute` (user columns), `pg_attrdef`, `pg_constraint`,
//! `pg_index`, `pg_trigger`, `pg_policy`, `pg_rewrite`, `pg_proc`, `pg_type`, `pg_enum`,
//! `pg_sequence`, `pg_description`, `pg_depend`, `pg_inherits` and
//! `pg_partitioned_table`. Rows are read whole (`SELECT *`) and dropped; nothing is
//! deparsed: no `pg_get_*def`, no `pg_get_expr`, the `pg_node_tree` columns arrive as the
//! server stores them. Each catalog table is one query over all the namespaces at once,
//! the cheapest way for the server (one scan or index walk per catalog table, not one per
//! tenant).
//!
//! The queries go through the simple query protocol, so every value arrives as text: the
//! extended protocol asks for binary results, and `aclitem` (in `relacl`, `proacl`, ...)
//! has no binary output. The rows are streamed and dropped as they come, so a fleet of
//! ten thousand tenants (millions of catalog rows) is read in constant memory.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use futures::StreamExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::{Floor, Pass};
use crate::servers;

/// The one pass timed.
const STRATEGY: &str = "raw pg_catalog rows, one query per catalog table";

/// `{ns}` in the queries stands for the namespaces' OIDs as an `oid[]` literal.
const NAMESPACES: &str = "{ns}";

/// The OIDs of every relation in the namespaces.
const CLASSES: &str = "SELECT oid FROM pg_catalog.pg_class WHERE relnamespace = ANY({ns})";

/// Catalog tables after `pg_namespace`, each with the query reading its rows for objects
/// in the namespaces.
const CATALOG: [(&str, &str); 16] = [
    (
        "pg_class",
        "SELECT * FROM pg_catalog.pg_class WHERE relnamespace = ANY({ns})",
    ),
    (
        "pg_attribute",
        "SELECT * FROM pg_catalog.pg_attribute WHERE attnum > 0 AND attrelid IN ({classes})",
    ),
    (
        "pg_attrdef",
        "SELECT * FROM pg_catalog.pg_attrdef WHERE adrelid IN ({classes})",
    ),
    (
        "pg_constraint",
        "SELECT * FROM pg_catalog.pg_constraint WHERE connamespace = ANY({ns})",
    ),
    (
        "pg_index",
        "SELECT * FROM pg_catalog.pg_index WHERE indrelid IN ({classes})",
    ),
    (
        "pg_trigger",
        "SELECT * FROM pg_catalog.pg_trigger WHERE tgrelid IN ({classes})",
    ),
    (
        "pg_policy",
        "SELECT * FROM pg_catalog.pg_policy WHERE polrelid IN ({classes})",
    ),
    (
        "pg_rewrite",
        "SELECT * FROM pg_catalog.pg_rewrite WHERE ev_class IN ({classes})",
    ),
    (
        "pg_proc",
        "SELECT * FROM pg_catalog.pg_proc WHERE pronamespace = ANY({ns})",
    ),
    (
        "pg_type",
        "SELECT * FROM pg_catalog.pg_type WHERE typnamespace = ANY({ns})",
    ),
    (
        "pg_enum",
        "SELECT * FROM pg_catalog.pg_enum WHERE enumtypid IN \
         (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace = ANY({ns}))",
    ),
    (
        "pg_sequence",
        "SELECT * FROM pg_catalog.pg_sequence WHERE seqrelid IN ({classes})",
    ),
    // Comments on the object kinds a tenant's schema holds; `objsubid` > 0 are columns.
    (
        "pg_description",
        "SELECT * FROM pg_catalog.pg_description WHERE \
         (classoid = 'pg_catalog.pg_class'::regclass AND objoid IN ({classes})) \
         OR (classoid = 'pg_catalog.pg_namespace'::regclass AND objoid = ANY({ns})) \
         OR (classoid = 'pg_catalog.pg_constraint'::regclass AND objoid IN \
             (SELECT oid FROM pg_catalog.pg_constraint WHERE connamespace = ANY({ns}))) \
         OR (classoid = 'pg_catalog.pg_type'::regclass AND objoid IN \
             (SELECT oid FROM pg_catalog.pg_type WHERE typnamespace = ANY({ns}))) \
         OR (classoid = 'pg_catalog.pg_proc'::regclass AND objoid IN \
             (SELECT oid FROM pg_catalog.pg_proc WHERE pronamespace = ANY({ns}))) \
         OR (classoid = 'pg_catalog.pg_trigger'::regclass AND objoid IN \
             (SELECT oid FROM pg_catalog.pg_trigger WHERE tgrelid IN ({classes}))) \
         OR (classoid = 'pg_catalog.pg_policy'::regclass AND objoid IN \
             (SELECT oid FROM pg_catalog.pg_policy WHERE polrelid IN ({classes})))",
    ),
    // What the namespaces' relations, views (their rewrite rules), defaults and
    // constraints depend on: sequence ownership, view dependencies, defaults' sequences.
    (
        "pg_depend",
        "SELECT * FROM pg_catalog.pg_depend WHERE \
         (classid = 'pg_catalog.pg_class'::regclass AND objid IN ({classes})) \
         OR (classid = 'pg_catalog.pg_rewrite'::regclass AND objid IN \
             (SELECT oid FROM pg_catalog.pg_rewrite WHERE ev_class IN ({classes}))) \
         OR (classid = 'pg_catalog.pg_attrdef'::regclass AND objid IN \
             (SELECT oid FROM pg_catalog.pg_attrdef WHERE adrelid IN ({classes}))) \
         OR (classid = 'pg_catalog.pg_constraint'::regclass AND objid IN \
             (SELECT oid FROM pg_catalog.pg_constraint WHERE connamespace = ANY({ns})))",
    ),
    (
        "pg_inherits",
        "SELECT * FROM pg_catalog.pg_inherits WHERE inhrelid IN ({classes})",
    ),
    (
        "pg_partitioned_table",
        "SELECT * FROM pg_catalog.pg_partitioned_table WHERE partrelid IN ({classes})",
    ),
];

/// Times one raw pass over the catalog rows of the schemas `tenants` in the database at
/// `url`.
///
/// # Errors
/// When the server cannot be reached, refuses a catalog query, or lacks a tenant.
pub fn measure(url: &str, tenants: &[String]) -> Result<Floor> {
    servers::runtime()?.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .with_context(|| format!("cannot connect to {}", servers::redact(url)))?;
        tokio::spawn(connection);
        // The `IN (subquery)` filters hash the fleet's relation oids: millions of them at
        // ten thousand tenants. Past `work_mem` (4 MB by default) PostgreSQL gives up the
        // hash and searches the subquery's rows once per outer row, and the floor would
        // take hours instead of seconds.
        client
            .batch_execute("SET work_mem = '1GB'; SET jit = off")
            .await
            .context("cannot set work_mem for the floor")?;
        let pass = pass(&client, tenants).await?;
        Ok(Floor::new(vec![pass], STRATEGY))
    })
}

async fn pass(client: &Client, tenants: &[String]) -> Result<Pass> {
    let started = Instant::now();
    let names: Vec<String> = tenants.iter().map(|t| literal(t)).collect();
    let namespaces = format!(
        "SELECT * FROM pg_catalog.pg_namespace WHERE nspname = ANY(ARRAY[{}]::text[])",
        names.join(", ")
    );
    let mut oids = Vec::with_capacity(tenants.len());
    let rows = read(client, &namespaces, |row| {
        let oid = row
            .try_get("oid")
            .context("cannot read pg_namespace.oid")?
            .ok_or_else(|| anyhow!("pg_namespace row without an oid"))?;
        oids.push(oid.to_string());
        Ok(())
    })
    .await?;
    if oids.len() != tenants.len() {
        return Err(anyhow!(
            "{} of the {} tenant schemas exist",
            oids.len(),
            tenants.len()
        ));
    }
    let mut pass = Pass {
        strategy: STRATEGY,
        elapsed: Duration::ZERO,
        rows,
        per_table: vec![("pg_namespace", started.elapsed())],
    };
    let ns = format!("'{{{}}}'::pg_catalog.oid[]", oids.join(","));
    for (table, sql) in CATALOG {
        let sql = sql.replace("{classes}", CLASSES).replace(NAMESPACES, &ns);
        let started = Instant::now();
        pass.rows += read(client, &sql, |_| Ok(())).await?;
        pass.per_table.push((table, started.elapsed()));
    }
    pass.elapsed = pass.per_table.iter().map(|(_, e)| *e).sum();
    Ok(pass)
}

/// Streams the rows of `sql` through `each`, dropping them; returns how many came.
async fn read(
    client: &Client,
    sql: &str,
    mut each: impl FnMut(&tokio_postgres::SimpleQueryRow) -> Result<()>,
) -> Result<u64> {
    let fail = || format!("catalog query failed: {}", abbreviated(sql));
    let stream = client.simple_query_raw(sql).await.with_context(fail)?;
    let mut stream = std::pin::pin!(stream);
    let mut rows = 0;
    while let Some(message) = stream.next().await {
        if let SimpleQueryMessage::Row(row) = message.with_context(fail)? {
            each(&row)?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// A string as a SQL literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// `sql` without its inlined list of thousands of OIDs or names, for error messages.
fn abbreviated(sql: &str) -> String {
    sql.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_is_bound_to_the_namespaces() {
        for (table, sql) in CATALOG {
            assert!(sql.contains(table), "{table}: reads another table");
            assert!(
                sql.contains("{ns}") || sql.contains("{classes}"),
                "{table}: not filtered by namespace"
            );
            assert!(!sql.contains("pg_get_"), "{table}: deparses");
        }
    }

    #[test]
    fn quotes_literals() {
        assert_eq!(literal("a'b"), "'a''b'");
    }
}
