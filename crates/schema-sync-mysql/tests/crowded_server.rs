//! Inspection on a crowded server: a tenant among a thousand other databases inspects
//! exactly as it does on a quiet server, alone and in a batch with some of the others.
//!
//! The catalog is read with one equality branch per database so that its cost follows
//! the batch, not the server; whether that holds is measured by `cargo xtask bench --db
//! mysql`, which prints the catalog floor beside `validate`. This test pins the result:
//! nothing here asserts a time.

mod common;

use mysql_async::prelude::Queryable;
use schema_sync_core::testing::conformance::unique_tenant_id;
use schema_sync_core::{DatabaseAdapter, TenantId};

/// Databases created beside the tenant.
const CROWD: usize = 1000;
/// Databases created or dropped per statement batch.
const BATCH: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_among_a_thousand_databases_inspects_as_on_a_quiet_server() {
    let db = common::db().await;
    let tenant = db.tenant("crowdtpl", common::RICH_TEMPLATE).await;
    let quiet = db.inspect(&tenant).await;

    let base = unique_tenant_id("crowd");
    let names: Vec<String> = (0..CROWD)
        .map(|i| format!("{}_{i:04}", base.as_str()))
        .collect();
    let created = crowd(&db, &names, |name| {
        format!(
            "CREATE DATABASE `{name}`; \
             CREATE TABLE `{name}`.t (id INT PRIMARY KEY, v VARCHAR(10) NULL);"
        )
    })
    .await;

    let alone = db.adapter.inspector().inspect(&tenant).await;
    let mut contexts = vec![tenant.clone()];
    for name in [&names[0], &names[CROWD / 2], &names[CROWD - 1]] {
        let context = TenantId::new(name.as_str()).and_then(|id| db.adapter.context(&id));
        contexts.push(context.unwrap_or_else(|e| panic!("{name} is no tenant: {e}")));
    }
    let batch = db.adapter.inspector().inspect_many(&contexts).await;

    let dropped = crowd(&db, &names, |name| {
        format!("DROP DATABASE IF EXISTS `{name}`;")
    })
    .await;
    db.cleanup(&tenant).await;

    if let Err(e) = created {
        panic!("cannot create the crowd: {e}");
    }
    if let Err(e) = dropped {
        panic!("cannot drop the crowd: {e}");
    }
    let alone = alone.unwrap_or_else(|e| panic!("inspect {tenant} among the crowd: {e}"));
    assert_eq!(alone, quiet, "inspected alone among the crowd");
    assert_eq!(alone.hash(), quiet.hash());
    assert_eq!(batch.len(), contexts.len());
    let mut batch = batch.into_iter();
    let first = batch.next().and_then(Result::ok);
    assert_eq!(first.as_ref(), Some(&quiet), "inspected in a batch");
    for (other, context) in batch.zip(&contexts[1..]) {
        let other = other.unwrap_or_else(|e| panic!("inspect {context}: {e}"));
        let tables: Vec<&String> = other.tables.keys().collect();
        assert_eq!(tables, ["t"], "{context} holds its own table only");
        let columns: Vec<&String> = other.tables["t"].columns.keys().collect();
        assert_eq!(columns, ["id", "v"], "{context}");
        assert!(
            other.views.is_empty() && other.unsupported.is_empty(),
            "{context}"
        );
    }
}

/// Runs `statement` for every name, [`BATCH`] names per round trip on one connection.
async fn crowd(
    db: &common::MysqlTestDb,
    names: &[String],
    statement: impl Fn(&str) -> String,
) -> Result<(), mysql_async::Error> {
    let mut conn = db.admin.get_conn().await?;
    for chunk in names.chunks(BATCH) {
        let sql: String = chunk.iter().map(|n| statement(n)).collect();
        conn.query_drop(sql).await?;
    }
    Ok(())
}
