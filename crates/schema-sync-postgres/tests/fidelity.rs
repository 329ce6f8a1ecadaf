//! What `sync` leaves behind is exactly the target or exactly what was there: verification
//! runs before commit and rolls a diverging tenant back, rendered SQL never names another
//! tenant, and a schema whose name cannot be a tenant is reported, never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::pg_dump;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, Error, FleetOptions, SyncOptions, TenantStatus};

const TABLES: &str = "
CREATE TABLE plans (id int PRIMARY KEY, kind varchar(20) NOT NULL);
CREATE TABLE accounts (
    id int PRIMARY KEY,
    plan_id int REFERENCES plans (id),
    balance numeric(12,2) NOT NULL DEFAULT 0
);
INSERT INTO plans VALUES (1, 'billing');
INSERT INTO accounts VALUES (1, 1, 10);
";

fn sync_all() -> FleetOptions {
    FleetOptions::default().with_sync(
        SyncOptions::default()
            .with_execute(true)
            .with_allow_destructive(true),
    )
}

#[tokio::test]
async fn a_plan_that_would_diverge_is_rolled_back_before_commit() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(&unique_tenant_id("fid_verify"), TABLES)
        .await
        .unwrap();
    // A target whose check is spelled differently from how PostgreSQL deparses it: the
    // plan adds the check, and the tenant then differs from the target. This is what an
    // expression that does not round-trip does; it must never be committed half-right.
    let mut target = db.inspect(&tenant).await;
    target.tables.get_mut("plans").unwrap().checks.insert(
        "plans_kind_check".into(),
        schema_sync_core::snapshot::CheckConstraint {
            expression: "kind IN ('billing','usage')".into(),
            ..Default::default()
        },
    );
    target.tables.get_mut("accounts").unwrap().comment = Some("added by the plan".into());
    let before_hash = db.inspect(&tenant).await.hash();
    let before_dump = pg_dump(tenant.namespace());

    let engine = Engine::new(db.dyn_adapter());
    let report = engine
        .run_fleet(vec![tenant.clone()], &target, &sync_all(), &|_| {})
        .await;
    let after_hash = db.inspect(&tenant).await.hash();
    let after_dump = pg_dump(tenant.namespace());
    db.drop_tenant(&tenant).await.unwrap();

    match &report.tenants[0].error {
        Some(Error::Diverged { rolled_back, .. }) => assert!(rolled_back),
        other => panic!("expected a divergence, got {other:?}"),
    }
    assert_eq!(after_hash, before_hash, "same snapshot as before the run");
    assert_eq!(after_dump, before_dump, "same pg_dump as before the run");
}

#[tokio::test]
async fn the_runner_refuses_sql_that_names_another_tenant() {
    let db = common::db().await;
    let victim = db
        .create_tenant(&unique_tenant_id("fid_victim"), TABLES)
        .await
        .unwrap();
    let other = db
        .create_tenant(&unique_tenant_id("fid_other"), TABLES)
        .await
        .unwrap();
    // A target view that reads another tenant's table: syncing it would couple tenants.
    let mut target = db.inspect(&victim).await;
    target.views.insert(
        "leak".into(),
        schema_sync_core::snapshot::View {
            definition: format!(" SELECT id FROM {}.plans", common::qi(other.namespace())),
            materialized: false,
            depends_on: Default::default(),
            comment: None,
            ..Default::default()
        },
    );
    let engine = Engine::new(db.dyn_adapter());
    let mut options = sync_all();
    options.sync.execute_options.isolation = engine.isolation_guard(None, &[]).await.unwrap();
    let before = pg_dump(victim.namespace());
    let report = engine
        .run_fleet(vec![victim.clone()], &target, &options, &|_| {})
        .await;
    let after = pg_dump(victim.namespace());
    db.drop_tenant(&victim).await.unwrap();
    db.drop_tenant(&other).await.unwrap();

    match &report.tenants[0].error {
        Some(Error::Isolation { namespace, .. }) => assert_eq!(namespace, other.namespace()),
        other => panic!("expected an isolation refusal, got {other:?}"),
    }
    assert_eq!(after, before, "nothing ran");
}

#[tokio::test]
async fn a_schema_name_that_cannot_be_a_tenant_is_reported_not_skipped() {
    let db = common::db().await;
    let good = db
        .create_tenant(&unique_tenant_id("fid_good"), "CREATE TABLE t (id int)")
        .await
        .unwrap();
    let bad = format!("{}\nbad", good.namespace());
    db.sql(&format!("CREATE SCHEMA {}", common::qi(&bad))).await;
    let engine = Engine::new(db.dyn_adapter());
    let listed = engine.list_tenants().await;
    db.sql(&format!("DROP SCHEMA {} CASCADE", common::qi(&bad)))
        .await;
    let mine: Vec<_> = listed
        .unwrap()
        .into_iter()
        .filter(|t| t.id().as_str().starts_with(good.namespace()))
        .collect();
    let target = db.inspect(&good).await;
    let report = engine
        .run_fleet(mine, &target, &FleetOptions::default(), &|_| {})
        .await;
    db.drop_tenant(&good).await.unwrap();

    assert_eq!(report.tenants.len(), 2, "{:?}", report.tenants);
    let rejected = report
        .tenants
        .iter()
        .find(|t| t.status == TenantStatus::Failed)
        .expect("the bad name is a failed tenant");
    assert_eq!(
        rejected.tenant.as_str(),
        format!("{}\\nbad", good.namespace())
    );
    assert!(matches!(
        rejected.error,
        Some(Error::InvalidTenantId { .. })
    ));
    assert_eq!(report.summary.in_sync, 1);
}

/// Objects whose expressions PostgreSQL prints differently once the printout is parsed
/// again: `IN` lists over `varchar`, in a check, a partial index and a default.
const REPARSED: &str = "
CREATE TABLE invoices (
    id int PRIMARY KEY,
    kind varchar(20) NOT NULL CHECK (kind IN ('billing', 'shipping')),
    tags varchar(10)[] NOT NULL DEFAULT ARRAY['new', 'open']
);
CREATE INDEX invoices_open ON invoices (id) WHERE kind IN ('billing', 'usage');
";

#[tokio::test]
async fn an_expression_printed_differently_once_reparsed_is_not_drift_after_sync() {
    let db = common::db().await;
    let template = db
        .create_tenant(&unique_tenant_id("fid_reparse_tpl"), REPARSED)
        .await
        .unwrap();
    let bare = "CREATE TABLE invoices (id int PRIMARY KEY, kind varchar(20) NOT NULL, tags varchar(10)[] NOT NULL)";
    let engine = Engine::new(db.dyn_adapter());
    let targets = [
        schema_sync_core::Target::Tenant(template.id().clone()),
        schema_sync_core::Target::Sql {
            label: "reparsed.sql".into(),
            sql: REPARSED.into(),
        },
    ];
    for target in targets {
        let resolved = engine.resolve_target(&target).await.unwrap();
        assert!(
            !resolved.equivalences.is_empty(),
            "{target}: no spelling was learnt"
        );
        let tenant = db
            .create_tenant(&unique_tenant_id("fid_reparse"), bare)
            .await
            .unwrap();
        let synced = engine
            .run_fleet(vec![tenant.clone()], &resolved, &sync_all(), &|_| {})
            .await;
        let validated = engine
            .run_fleet(
                vec![tenant.clone(), template.clone()],
                &resolved,
                &FleetOptions::default(),
                &|_| {},
            )
            .await;
        let live_check = db.inspect(&tenant).await.tables["invoices"]
            .checks
            .values()
            .map(|c| c.expression.clone())
            .collect::<Vec<_>>();
        db.drop_tenant(&tenant).await.unwrap();
        assert_eq!(
            synced.tenants[0].status,
            TenantStatus::Synced,
            "{target}: {:?}",
            synced.tenants[0].error
        );
        for report in &validated.tenants {
            assert_eq!(
                report.status,
                TenantStatus::InSync,
                "{target}: {} after sync: {:?}",
                report.tenant,
                report.diff.as_ref().map(|d| d.to_text())
            );
        }
        // The synced tenant really does spell the check differently from the template.
        let template_check = resolved.tables["invoices"]
            .checks
            .values()
            .map(|c| c.expression.clone())
            .collect::<Vec<_>>();
        assert_ne!(
            live_check, template_check,
            "{target}: the spellings are the same"
        );
    }
    db.drop_tenant(&template).await.unwrap();
}
