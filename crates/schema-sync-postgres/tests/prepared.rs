//! A tenant read alone (the change cookie and the inspections under a sync's lock, and
//! `inspect` of one tenant) goes through statements prepared once per connection. That
//! is sound and bounded: each lone read returns exactly what the batch read (unprepared)
//! returns, for clones and for tenants drifted in every modelled kind, once the server
//! has switched to generic plans too (more than five executions per statement); and the
//! connection holds the same number of prepared statements after the last tenant as
//! after the first, so no query text names a tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, ExecuteOptions, SchemaInspector, TenantContext,
};

use common::coverage::{DRIFTS, TEMPLATE};

#[tokio::test]
async fn lone_reads_equal_batch_reads_and_prepare_each_query_once_per_connection() {
    // One connection, so every lone read below runs on the same one.
    let mut options = ConnectOptions::default();
    options.max_connections = 1;
    let db = common::db_with(&options).await;
    let mut tenants: Vec<TenantContext> = Vec::new();
    for _ in 0..3 {
        tenants.push(
            db.create_tenant(&unique_tenant_id("prep"), TEMPLATE)
                .await
                .unwrap(),
        );
    }
    let drifted = common::coverage::drifted_tenants(&db, "prep", DRIFTS).await;
    tenants.extend(drifted.into_iter().map(|(tenant, _)| tenant));
    assert!(tenants.len() > 6, "too few tenants to reach generic plans");

    let batch = db.adapter.inspect_many(&tenants).await;
    let cookies = db.adapter.change_cookies(&tenants).await.unwrap();
    let runner = db.adapter.runner();
    let mut prepared_after_first = None;
    for ((tenant, batched), cookie) in tenants.iter().zip(batch).zip(cookies) {
        let batched = batched.unwrap().to_pretty_json();
        let alone = db.adapter.inspect(tenant).await.unwrap().to_pretty_json();
        assert_eq!(alone, batched, "{}: inspect alone", tenant.id());

        let mut lock = runner
            .acquire_lock(tenant, &ExecuteOptions::default())
            .await
            .unwrap();
        let locked_cookie = lock.change_cookie().await.unwrap();
        let locked = lock.inspect().await.unwrap().to_pretty_json();
        lock.release().await.unwrap();
        assert_eq!(
            locked_cookie,
            cookie,
            "{}: cookie under the lock",
            tenant.id()
        );
        assert_eq!(
            locked,
            batched,
            "{}: inspection under the lock",
            tenant.id()
        );

        let prepared = db.adapter.prepared_statements().await.unwrap();
        match prepared_after_first {
            None => {
                assert!(prepared > 0, "lone reads prepared no statement");
                prepared_after_first = Some(prepared);
            }
            Some(first) => assert_eq!(
                prepared,
                first,
                "{}: the connection prepared new statements for another tenant",
                tenant.id()
            ),
        }
    }
    for tenant in &tenants {
        db.drop_tenant(tenant).await.unwrap();
    }
}
