//! What `sync` leaves behind is exactly the target or exactly what was there, and every
//! file of the directory is a tenant whatever its name.

mod common;

use std::process::Command;

use common::SqliteFleet;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{Engine, Error, FleetOptions, SyncOptions, TenantStatus};

const TABLES: &str = "
CREATE TABLE plans (id INTEGER PRIMARY KEY, kind TEXT NOT NULL);
CREATE TABLE accounts (id INTEGER PRIMARY KEY, plan_id INTEGER REFERENCES plans (id), balance NUMERIC NOT NULL DEFAULT 0);
INSERT INTO plans VALUES (1, 'billing');
INSERT INTO accounts VALUES (1, 1, 10);
";

/// `sqlite3 FILE .schema`: the independent view of what is in the file.
fn dot_schema(fleet: &SqliteFleet, tenant: &str) -> String {
    let output = Command::new("sqlite3")
        .arg(fleet.file(tenant))
        .arg(".schema")
        .output()
        .unwrap_or_else(|e| panic!("sqlite3 runs: {e}"));
    assert!(output.status.success());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn sync_all() -> FleetOptions {
    FleetOptions::default().with_sync(
        SyncOptions::default()
            .with_execute(true)
            .with_allow_destructive(true),
    )
}

#[tokio::test]
async fn a_plan_that_would_diverge_is_rolled_back_before_commit() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("acme"), TABLES)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A target whose new check holds a comment SQLite keeps in the DDL but the inspector
    // drops: once applied the tenant would differ from the target, so it must not commit.
    let mut target = fleet
        .adapter()
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(accounts) = target.tables.get_mut("accounts") {
        accounts.checks.insert(
            "accounts_balance_check".into(),
            schema_sync_core::snapshot::CheckConstraint {
                expression: "balance >= 0 /* never negative */".into(),
                ..Default::default()
            },
        );
    }
    let before_hash = fleet
        .adapter()
        .inspector()
        .inspect(&tenant)
        .await
        .map(|s| s.hash())
        .unwrap_or_else(|e| panic!("{e}"));
    let before_schema = dot_schema(&fleet, "acme");
    let before_rows = fleet.fingerprint("acme");

    let engine = Engine::new(fleet.adapter());
    let report = engine
        .run_fleet(vec![tenant.clone()], &target, &sync_all(), &|_| {})
        .await;

    match &report.tenants[0].error {
        Some(Error::Diverged { rolled_back, .. }) => assert!(rolled_back),
        other => panic!("expected a divergence, got {other:?}"),
    }
    let after_hash = fleet
        .adapter()
        .inspector()
        .inspect(&tenant)
        .await
        .map(|s| s.hash())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(after_hash, before_hash, "same snapshot as before the run");
    assert_eq!(dot_schema(&fleet, "acme"), before_schema, "same .schema");
    assert_eq!(fleet.fingerprint("acme"), before_rows, "same rows");
}

#[tokio::test]
async fn a_file_name_longer_than_63_bytes_is_a_tenant_and_a_bad_one_fails_alone() {
    let fleet = SqliteFleet::new();
    let long = "t".repeat(100);
    for name in [long.as_str(), "ok"] {
        fleet
            .create_tenant(&tenant_id(name), TABLES)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // A stem with a control character cannot be a tenant id: it must be reported.
    std::fs::write(fleet.path().join("bad\u{1}name.db"), b"").unwrap_or_else(|e| panic!("{e}"));
    let engine = Engine::new(fleet.adapter());
    let tenants = engine
        .list_tenants()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let target = fleet
        .adapter()
        .inspector()
        .inspect(
            &tenants
                .iter()
                .find(|t| t.id().as_str() == "ok")
                .cloned()
                .unwrap_or_else(|| panic!("ok is listed")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let report = engine
        .run_fleet(tenants, &target, &FleetOptions::default(), &|_| {})
        .await;
    let status = |name: &str| {
        report
            .tenants
            .iter()
            .find(|t| t.tenant.as_str() == name)
            .map(|t| t.status)
    };
    assert_eq!(status(&long), Some(TenantStatus::InSync));
    assert_eq!(status("ok"), Some(TenantStatus::InSync));
    assert_eq!(
        status("bad\\u{1}name"),
        Some(TenantStatus::Failed),
        "{:?}",
        report.tenants
    );
}
