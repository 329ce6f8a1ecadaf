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
    let drifted =
        common::coverage::drifted_tenants(&db, "shp", DRIFTS.iter().chain(TEXT_DRIFTS)).await;
    tenants.extend(drifted.into_iter().map(|(tenant, _)| tenant));

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

/// A shape deparsed by one batch is handed to the batches after it, and that is sound:
/// each tenant of a later batch still gets exactly its own snapshot. A shape whose text
/// names a user object of another schema is not kept: renaming that object changes the
/// text and not the raw catalog, and the next batch must print the new name.
#[tokio::test]
async fn later_batches_reuse_a_shape_and_one_naming_another_schema_is_deparsed_anew() {
    let db = common::db().await;
    let other = unique_tenant_id("shpx").as_str().to_string();
    let (q_other, stamp) = (common::qi(&other), common::qi("stamp"));
    db.sql(&format!(
        "CREATE SCHEMA {q_other}; CREATE FUNCTION {q_other}.{stamp}() RETURNS timestamptz LANGUAGE sql STABLE AS $$ SELECT now() $$"
    ))
    .await;
    let external = format!(
        "CREATE TABLE notes (id int PRIMARY KEY, at timestamptz DEFAULT {q_other}.{stamp}())"
    );
    let mut plain = Vec::new();
    let mut naming = Vec::new();
    for _ in 0..4 {
        let id = unique_tenant_id("shp");
        plain.push(db.create_tenant(&id, TEMPLATE).await.unwrap());
        let id = unique_tenant_id("shp");
        naming.push(db.create_tenant(&id, &external).await.unwrap());
    }

    for batch in plain.chunks(2) {
        for (tenant, batched) in batch.iter().zip(db.adapter.inspect_many(batch).await) {
            let alone = db.adapter.inspect(tenant).await.unwrap();
            assert_eq!(
                batched.unwrap().to_pretty_json(),
                alone.to_pretty_json(),
                "tenant {} of a later batch differs from its own inspection",
                tenant.id()
            );
        }
    }

    let default_of = |snapshot: &schema_sync_core::SchemaSnapshot| {
        snapshot.tables["notes"].columns["at"]
            .default
            .clone()
            .unwrap_or_default()
    };
    for snapshot in db.adapter.inspect_many(&naming[..2]).await {
        assert!(default_of(&snapshot.unwrap()).contains("stamp()"));
    }
    db.sql(&format!(
        "ALTER FUNCTION {q_other}.{stamp}() RENAME TO {}",
        common::qi("stamp2")
    ))
    .await;
    for snapshot in db.adapter.inspect_many(&naming[2..]).await {
        let default = default_of(&snapshot.unwrap());
        assert!(default.contains("stamp2()"), "stale text: {default}");
    }

    for tenant in plain.iter().chain(&naming) {
        db.drop_tenant(tenant).await.unwrap();
    }
    db.sql(&format!("DROP SCHEMA {q_other} CASCADE")).await;
}
