//! Deparse once per shape is sound: inspecting a fleet in one batch, where tenants of
//! one shape share a single deparse, gives every tenant exactly the snapshot it gets
//! when inspected alone (deparsed itself), for clones created from differently spelled
//! scripts and for tenants drifted in every kind of deparsed text; and clones do share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{SchemaInspector, TenantContext};

use common::coverage::{DRIFTS, TEMPLATE};

/// Drifts that change only deparsed text (the raw catalog differs in a stored tree or in
/// a name a tree prints), on top of the fleet's per-kind drifts.
const TEXT_DRIFTS: &[&str] = &[
    "ALTER TABLE accounts RENAME COLUMN kind TO category",
    "ALTER TABLE sessions ALTER COLUMN seen_at SET DEFAULT clock_timestamp()",
    "ALTER TABLE accounts ALTER COLUMN plan SET DEFAULT 'pro'",
    "ALTER TYPE plan_kind RENAME VALUE 'free' TO 'basic'",
    "ALTER SEQUENCE invoice_no RENAME TO invoice_number",
    "DROP INDEX accounts_owner_prefix; CREATE INDEX accounts_owner_prefix ON accounts (owner text_pattern_ops) WHERE kind = 'billing'",
    "CREATE INDEX accounts_lower_owner ON accounts (lower(owner))",
    "DROP TRIGGER accounts_touch ON accounts; CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW WHEN (OLD.owner IS DISTINCT FROM NEW.owner) EXECUTE FUNCTION touch_updated_at()",
    "DROP TABLE events_2025; CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2025-07-01')",
    "ALTER DOMAIN positive_amount DROP CONSTRAINT positive_amount_check; ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0)",
    "ALTER DOMAIN positive_amount SET DEFAULT 1",
    "ALTER TABLE invoices RENAME COLUMN total TO amount",
    "CREATE FUNCTION lower(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT $1 $$",
    "CREATE TYPE text AS ENUM ('x')",
];

#[tokio::test]
async fn one_batch_gives_every_tenant_the_snapshot_it_gets_alone_and_clones_share_a_deparse() {
    let db = common::db().await;
    let mut tenants: Vec<TenantContext> = Vec::new();
    // Clones: the same script, the same script spelled with other offsets (stored trees
    // record where each expression stood in the statement), and a clone made in steps.
    for ddl in [
        TEMPLATE.to_string(),
        TEMPLATE.to_string(),
        format!(
            "-- a migration tool's header\n\n{}",
            TEMPLATE.replace("    ", "  ")
        ),
    ] {
        tenants.push(
            db.create_tenant(&unique_tenant_id("shp"), &ddl)
                .await
                .unwrap(),
        );
    }
    let clones = tenants.len();
    for drift in DRIFTS.iter().chain(TEXT_DRIFTS) {
        let tenant = db
            .create_tenant(&unique_tenant_id("shp"), TEMPLATE)
            .await
            .unwrap();
        db.execute(&tenant, drift)
            .await
            .unwrap_or_else(|e| panic!("drift {drift}: {e}"));
        tenants.push(tenant);
    }

    let groups = db.adapter.shape_groups(&tenants).await.unwrap();
    assert!(
        groups[..clones].iter().all(|g| *g == Some(0)),
        "clones must share the first clone's deparse: {groups:?}"
    );

    let batch = db.adapter.inspect_many(&tenants).await;
    for ((tenant, batched), group) in tenants.iter().zip(batch).zip(&groups) {
        let batched = batched.unwrap();
        let alone = db.adapter.inspect(tenant).await.unwrap();
        assert_eq!(
            batched.to_pretty_json(),
            alone.to_pretty_json(),
            "tenant {} (grouped with #{group:?}) differs from its own inspection",
            tenant.id()
        );
    }
    // Every text drift is its own shape: no drifted tenant borrowed the clones' text.
    for (position, group) in groups.iter().enumerate().skip(clones) {
        if DRIFTS.len() + clones <= position {
            assert_eq!(*group, Some(position), "text drift #{position} was grouped");
        }
    }
    for tenant in &tenants {
        db.drop_tenant(tenant).await.unwrap();
    }
}
