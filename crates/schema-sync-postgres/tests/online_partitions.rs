//! The online strategy on partitioned tables, against the real server: a new index of a
//! partitioned table is built `ON ONLY` the parent, concurrently on each partition and
//! attached, under the names a plain build gives the partitions' indexes (`pg_dump`
//! cannot tell the two tenants apart), and a build stopped part way is finished by the
//! next run, online or plain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{DefaultPlanner, Engine, Planner, SchemaSnapshot, TenantContext};
use schema_sync_postgres::OnlinePlanner;

const LIVE: &str = "
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, amount int)
  PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO events SELECT g, DATE '2025-01-01' + (g % 700), g % 1000 FROM generate_series(1, 20000) g";

/// The live schema plus two indexes on the parent; PostgreSQL names the partitions'
/// indexes (`events_2025_amount_idx`, `events_2025_at_expr_id_idx`, ...).
const TARGET: &str = "
CREATE TABLE events (id bigint NOT NULL, at date NOT NULL, amount int)
  PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_amount_idx ON events (amount);
CREATE INDEX ON events (at, (amount + 1)) INCLUDE (id)";

/// The statements the online plan for `tenant` runs.
async fn online_statements(
    db: &common::PgDb,
    tenant: &TenantContext,
    target: &SchemaSnapshot,
) -> Vec<String> {
    let (engine, _) = common::sync_engine(db, Arc::new(OnlinePlanner));
    let live = db.inspect(tenant).await;
    let (_, plan) = engine.plan(&live, target).unwrap();
    db.dyn_adapter()
        .runner()
        .render(tenant, &plan)
        .await
        .unwrap()
}

/// Whether `tenant` equals `target` by our inspection.
async fn in_sync(db: &common::PgDb, tenant: &TenantContext, target: &SchemaSnapshot) -> bool {
    let live = db.inspect(tenant).await;
    let (diff, _) = Engine::new(db.dyn_adapter()).plan(&live, target).unwrap();
    diff.is_in_sync(false)
}

/// Two tenants built from `live`, one synced to `target` online and one plain.
struct Twins {
    /// The statements of the online plan.
    statements: String,
    /// The online sync changed the tenant, and a second online sync found nothing to do.
    online_converged: bool,
    /// The plain sync changed its tenant.
    plain_synced: bool,
    /// INVALID indexes left in the online tenant.
    invalid_indexes: i64,
    online_dump: String,
    plain_dump: String,
}

/// Syncs twins of `live` to `target`, online and plain, and drops them.
async fn sync_twins(db: &common::PgDb, prefix: &str, live: &str, target: &str) -> Twins {
    let target = db.target(target).await;
    let online = db
        .create_tenant(&unique_tenant_id(&format!("{prefix}_online")), live)
        .await
        .unwrap();
    let plain = db
        .create_tenant(&unique_tenant_id(&format!("{prefix}_plain")), live)
        .await
        .unwrap();
    let statements = online_statements(db, &online, &target).await.join("\n");
    let (online_engine, options) = common::sync_engine(db, Arc::new(OnlinePlanner));
    let synced = online_engine.sync_tenant(&online, &target, &options).await;
    let (plain_engine, plain_options) = common::sync_engine(db, Arc::new(DefaultPlanner));
    let plain_synced = plain_engine
        .sync_tenant(&plain, &target, &plain_options)
        .await;
    let again = online_engine.sync_tenant(&online, &target, &options).await;
    let converged = in_sync(db, &online, &target).await;
    let invalid_indexes = db
        .count(
            &online,
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid",
        )
        .await;
    let online_dump = common::pg_dump_relative(online.namespace());
    let plain_dump = common::pg_dump_relative(plain.namespace());
    for tenant in [&online, &plain] {
        db.drop_tenant(tenant).await.unwrap();
    }
    Twins {
        statements,
        online_converged: !synced.unwrap().already_in_sync
            && again.unwrap().already_in_sync
            && converged,
        plain_synced: !plain_synced.unwrap().already_in_sync,
        invalid_indexes,
        online_dump,
        plain_dump,
    }
}

#[tokio::test]
async fn a_partitioned_tables_new_index_is_built_per_partition_under_plain_names() {
    let db = common::db().await;
    let twins = sync_twins(&db, "part", LIVE, TARGET).await;

    let text = &twins.statements;
    assert!(
        text.contains(r#"CREATE INDEX "events_amount_idx" ON ONLY"#),
        "{text}"
    );
    assert!(
        text.contains(r#"CREATE INDEX CONCURRENTLY "events_2026_at_expr_id_idx" ON"#),
        "the partitions' indexes are named as PostgreSQL names them: {text}"
    );
    assert_eq!(text.matches("ATTACH PARTITION").count(), 4, "{text}");
    assert!(twins.online_converged);
    assert!(twins.plain_synced);
    assert_eq!(
        twins.invalid_indexes, 0,
        "every index is valid once all are attached"
    );
    assert!(
        twins.online_dump.contains("events_2025_amount_idx"),
        "{}",
        twins.online_dump
    );
    assert_eq!(
        twins.online_dump, twins.plain_dump,
        "pg_dump tells the online-synced tenant from the plain-synced one"
    );
}

/// Leaves in `tenant` what a partition by partition build of `events_amount_idx`
/// stopped after its first partition leaves: an INVALID parent index with one partition
/// attached.
async fn stop_a_build_part_way(db: &common::PgDb, tenant: &TenantContext) {
    let schema = common::qi(tenant.namespace());
    db.sql(&format!(
        "CREATE INDEX events_amount_idx ON ONLY {schema}.events (amount);
         CREATE INDEX events_2025_amount_idx ON {schema}.events_2025 (amount);
         ALTER INDEX {schema}.events_amount_idx ATTACH PARTITION {schema}.events_2025_amount_idx"
    ))
    .await;
}

#[tokio::test]
async fn a_build_stopped_part_way_is_finished_by_the_next_run_online_or_plain() {
    let db = common::db().await;
    let target = db.target(TARGET).await;
    let reference = db
        .create_tenant(&unique_tenant_id("part_ref"), TARGET)
        .await
        .unwrap();
    let reference_dump = common::pg_dump_relative(reference.namespace());
    let mut outcomes = Vec::new();
    for (label, planner) in [
        ("online", Arc::new(OnlinePlanner) as Arc<dyn Planner>),
        ("plain", Arc::new(DefaultPlanner)),
    ] {
        let tenant = db
            .create_tenant(&unique_tenant_id(&format!("part_stop_{label}")), LIVE)
            .await
            .unwrap();
        stop_a_build_part_way(&db, &tenant).await;
        let inspected = db.inspect(&tenant).await;
        let statements = online_statements(&db, &tenant, &target).await.join("\n");
        let (engine, options) = common::sync_engine(&db, planner);
        let synced = engine.sync_tenant(&tenant, &target, &options).await;
        let converged = in_sync(&db, &tenant, &target).await;
        let dump = common::pg_dump_relative(tenant.namespace());
        db.drop_tenant(&tenant).await.unwrap();
        outcomes.push((label, inspected, statements, synced, converged, dump));
    }
    db.drop_tenant(&reference).await.unwrap();

    for (label, inspected, statements, synced, converged, dump) in outcomes {
        assert!(
            statements.contains(r#"CREATE INDEX "events_amount_idx" ON ONLY"#),
            "the online plan builds the index partition by partition: {statements}"
        );
        assert!(
            !inspected.tables["events"]
                .indexes
                .contains_key("events_amount_idx"),
            "{label}: an INVALID partitioned index is not inspected as present"
        );
        assert!(!synced.unwrap().already_in_sync, "{label}");
        assert!(converged, "{label}");
        assert_eq!(dump, reference_dump, "{label}: pg_dump");
    }
}

#[tokio::test]
async fn a_unique_constraint_is_built_concurrently_then_attached_as_plain_would_add_it() {
    let db = common::db().await;
    let twins = sync_twins(
        &db,
        "uniq",
        "CREATE TABLE users (id int PRIMARY KEY, email text);
         INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 10000) g",
        "CREATE TABLE users (id int PRIMARY KEY, email text,
           CONSTRAINT users_email_key UNIQUE NULLS NOT DISTINCT (email) DEFERRABLE)",
    )
    .await;

    let statements = &twins.statements;
    assert!(
        statements.contains(r#"CREATE UNIQUE INDEX CONCURRENTLY "users_email_key""#)
            && statements.contains(r#"UNIQUE USING INDEX "users_email_key" DEFERRABLE"#),
        "{statements}"
    );
    assert!(twins.online_converged);
    assert!(twins.plain_synced);
    assert_eq!(twins.invalid_indexes, 0);
    assert!(
        twins.online_dump.contains("users_email_key"),
        "{}",
        twins.online_dump
    );
    assert_eq!(
        twins.online_dump, twins.plain_dump,
        "pg_dump of the online and plain tenants"
    );
}
