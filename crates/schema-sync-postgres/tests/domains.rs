//! Domains and partitioning inside one tenant schema against the real server: a clone
//! inspects like its template, and every drift (missing, extra, changed) is found and
//! fixed by a sync, checked by inspection and, independently, by `pg_dump`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, Error, SyncOptions, TenantContext};

const TEMPLATE: &str = r#"
CREATE TYPE mood AS ENUM ('calm', 'angry');
CREATE DOMAIN amount AS numeric(10,2) NOT NULL DEFAULT 0 CONSTRAINT amount_positive CHECK (VALUE >= 0);
CREATE DOMAIN code AS text COLLATE "C" CONSTRAINT code_upper CHECK (VALUE = upper(VALUE));
ALTER DOMAIN code ADD CONSTRAINT code_short CHECK (length(VALUE) < 20) NOT VALID;
CREATE DOMAIN feeling AS mood DEFAULT 'calm';
CREATE DOMAIN labels AS text[];
CREATE DOMAIN spare AS smallint;
CREATE TABLE accounts (
    id int PRIMARY KEY,
    code code NOT NULL,
    balance amount,
    feeling feeling,
    labels labels
);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TABLE events (
    id bigint NOT NULL,
    at date NOT NULL,
    amount amount,
    CONSTRAINT events_id_positive CHECK (id > 0),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events (CONSTRAINT events_2025_small CHECK (id < 1000000))
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE events_other PARTITION OF events DEFAULT;
CREATE INDEX events_at ON events (at);
CREATE INDEX events_2025_amount ON events_2025 (amount);
CREATE TRIGGER events_touch BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE notes (
    id int PRIMARY KEY,
    event_id bigint,
    event_at date,
    CONSTRAINT notes_event_fk FOREIGN KEY (event_id, event_at) REFERENCES events (id, at)
);
CREATE TABLE regions (code text NOT NULL, population int) PARTITION BY LIST (code);
CREATE TABLE regions_eu PARTITION OF regions FOR VALUES IN ('de', 'fr');
CREATE TABLE regions_us PARTITION OF regions FOR VALUES IN ('us');
"#;

const ROWS: &str = "
INSERT INTO accounts VALUES (1, 'ACME', 10, 'angry', '{a,b}');
INSERT INTO events VALUES (1, '2024-03-01', 5), (2, '2025-03-01', 6), (3, '2030-01-01', 7);
INSERT INTO notes VALUES (1, 1, '2024-03-01');
INSERT INTO regions VALUES ('de', 80), ('us', 330);
";

fn allow_all() -> SyncOptions {
    SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true)
}

/// `pg_dump --schema-only` of one schema with its name replaced by `as_name`.
fn pg_dump(schema: &str, as_name: &str) -> String {
    common::pg_dump(schema).replace(schema, as_name)
}

/// A tenant made from the template, with rows.
async fn tenant(db: &common::PgDb, label: &str) -> TenantContext {
    let tenant = db
        .create_tenant(&unique_tenant_id(label), TEMPLATE)
        .await
        .unwrap();
    db.execute(&tenant, ROWS).await.unwrap();
    tenant
}

#[tokio::test]
async fn a_clone_inspects_like_the_template_and_models_everything() {
    let db = common::db().await;
    let target = db.target(TEMPLATE).await;
    let clone = tenant(&db, "dom_clone").await;
    let live = db.inspect(&clone).await;
    db.drop_tenant(&clone).await.unwrap();
    assert_eq!(live, target);
    assert!(target.unsupported.is_empty(), "{:?}", target.unsupported);

    let amount = &target.domains["amount"];
    assert_eq!(amount.data_type.name, "numeric");
    assert_eq!(amount.data_type.precision, Some(10));
    assert!(amount.not_null);
    assert_eq!(amount.default.as_deref(), Some("0"));
    assert_eq!(
        amount.checks["amount_positive"].expression,
        "(VALUE >= (0)::numeric)"
    );
    let code = &target.domains["code"];
    assert_eq!(code.collation.as_deref(), Some("C"));
    assert!(code.checks["code_short"].not_valid);
    assert!(!code.checks["code_upper"].not_valid);
    let feeling = &target.domains["feeling"];
    assert_eq!(feeling.data_type.name, "mood");
    assert_eq!(feeling.data_type.schema, None);
    assert_eq!(feeling.default.as_deref(), Some("'calm'::mood"));
    assert_eq!(target.domains["labels"].data_type.array_dimensions, 1);
    let balance = &target.tables["accounts"].columns["balance"].data_type;
    assert_eq!(
        (balance.name.as_str(), balance.schema.as_deref()),
        ("amount", None)
    );
    assert_eq!(target.tables["accounts"].columns["code"].collation, None);

    let events = &target.tables["events"];
    assert_eq!(events.partition_by.as_deref(), Some("RANGE (at)"));
    assert_eq!(events.columns.len(), 3);
    assert!(events.indexes.contains_key("events_at"));
    assert!(events.triggers.contains_key("events_touch"));
    let y2025 = &target.tables["events_2025"];
    let bound = y2025
        .partition_of
        .as_ref()
        .map(|p| (p.parent.as_str(), p.bound.as_str()));
    assert_eq!(
        bound,
        Some(("events", "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"))
    );
    // Only what is the partition's own: no columns, key, inherited check, attached
    // index or cloned trigger.
    assert!(y2025.columns.is_empty());
    assert!(y2025.primary_key.is_none());
    assert_eq!(
        y2025.checks.keys().collect::<Vec<_>>(),
        ["events_2025_small"]
    );
    assert_eq!(
        y2025.indexes.keys().collect::<Vec<_>>(),
        ["events_2025_amount"]
    );
    assert!(y2025.triggers.is_empty());
    assert_eq!(
        target.tables["events_other"]
            .partition_of
            .as_ref()
            .map(|p| p.bound.as_str()),
        Some("DEFAULT")
    );
    assert_eq!(
        target.tables["regions"].partition_by.as_deref(),
        Some("LIST (code)")
    );
    // The foreign key to the partitioned table once, not once per partition.
    assert_eq!(target.tables["notes"].foreign_keys.len(), 1);
}

#[tokio::test]
async fn every_domain_and_partition_drift_is_found_and_fixed() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let target = db.target(TEMPLATE).await;
    let template = tenant(&db, "dom_tpl").await;
    let expected_dump = pg_dump(template.namespace(), "TENANT");
    let drifts = [
        // Missing domain, with the column that uses it.
        "ALTER TABLE accounts DROP COLUMN labels; DROP DOMAIN labels",
        // Extra domain, used by an extra column.
        "CREATE DOMAIN extra AS int CHECK (VALUE > 1); ALTER TABLE accounts ADD COLUMN extra extra",
        // Changed default, NOT NULL, checks removed, added, changed and validated.
        "ALTER DOMAIN amount SET DEFAULT 5",
        "ALTER DOMAIN amount DROP DEFAULT; ALTER DOMAIN amount DROP NOT NULL",
        "ALTER DOMAIN code DROP CONSTRAINT code_upper",
        "ALTER DOMAIN code ADD CONSTRAINT code_extra CHECK (VALUE <> '')",
        "ALTER DOMAIN amount DROP CONSTRAINT amount_positive; ALTER DOMAIN amount ADD CONSTRAINT amount_positive CHECK (VALUE > -1)",
        "ALTER DOMAIN code VALIDATE CONSTRAINT code_short",
        // A domain whose base type changes while no column uses it.
        "DROP DOMAIN spare; CREATE DOMAIN spare AS bigint",
        // Missing and extra partitions, a partition of a referenced table among them.
        "DROP TABLE regions_eu",
        "ALTER TABLE events DETACH PARTITION events_2025; DROP TABLE events_2025",
        "CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
        // A changed bound: the rows stay.
        "ALTER TABLE regions DETACH PARTITION regions_us; ALTER TABLE regions ATTACH PARTITION regions_us FOR VALUES IN ('us', 'ca')",
        // A missing and an extra partitioned table.
        "DROP TABLE regions",
        "CREATE TABLE logs (at date NOT NULL, line text) PARTITION BY RANGE (at);
         CREATE TABLE logs_2024 PARTITION OF logs FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE INDEX logs_at ON logs (at)",
        // Indexes on the partitioned table and on one partition.
        "DROP INDEX events_at",
        "DROP INDEX events_2025_amount; CREATE INDEX events_extra ON events (amount)",
    ];
    for drift in drifts {
        let tenant = tenant(&db, "dom_drift").await;
        db.execute(&tenant, drift).await.unwrap();
        let report = engine
            .sync_tenant(&tenant, &target, &allow_all())
            .await
            .unwrap_or_else(|e| panic!("{drift}: {e}"));
        assert!(!report.already_in_sync, "{drift}: drift was not detected");
        assert_eq!(db.inspect(&tenant).await, target, "{drift}");
        assert_eq!(
            pg_dump(tenant.namespace(), "TENANT"),
            expected_dump,
            "{drift}"
        );
        let second = engine
            .sync_tenant(&tenant, &target, &allow_all())
            .await
            .unwrap();
        assert!(
            second.already_in_sync,
            "{drift}: second run was not a no-op: {}",
            second.diff.to_text()
        );
        if drift.contains("regions_us") && !drift.starts_with("DROP TABLE regions") {
            assert_eq!(
                db.count(&tenant, "SELECT count(*) FROM regions_us").await,
                1,
                "{drift}: the rows of a re-bounded partition survive"
            );
        }
        assert_eq!(
            db.count(&tenant, "SELECT count(*) FROM events_2024").await,
            1,
            "{drift}"
        );
        db.drop_tenant(&tenant).await.unwrap();
    }
    db.drop_tenant(&template).await.unwrap();
}

#[tokio::test]
async fn a_changed_partition_key_or_a_used_domain_retyped_is_refused_with_the_fix() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let target = db.target(TEMPLATE).await;
    let drifts = [
        (
            "DROP TABLE regions; CREATE TABLE regions (code text NOT NULL, population int) PARTITION BY LIST (lower(code))",
            "table regions",
        ),
        (
            "ALTER TABLE accounts DROP COLUMN balance; DROP DOMAIN amount CASCADE;
             CREATE DOMAIN amount AS bigint NOT NULL DEFAULT 0 CONSTRAINT amount_positive CHECK (VALUE >= 0);
             ALTER TABLE accounts ADD COLUMN balance amount",
            "domain amount",
        ),
    ];
    for (drift, object) in drifts {
        let tenant = tenant(&db, "dom_refuse").await;
        db.execute(&tenant, drift).await.unwrap();
        let err = engine
            .sync_tenant(&tenant, &target, &allow_all())
            .await
            .expect_err(drift);
        match &err {
            Error::Unsupported { object: o, .. } => assert_eq!(o, object, "{err}"),
            other => panic!("{drift}: expected a refusal, got {other:?}"),
        }
        db.drop_tenant(&tenant).await.unwrap();
    }
}
