//! A fleet on a realistic multi-tenant schema, with every object kind a SaaS schema on
//! PostgreSQL uses (row-level security and policies, materialized views with unique
//! indexes, disabled triggers, storage parameters, unlogged tables, operator classes,
//! domains, partitions, comments, NOT VALID foreign keys), each tenant drifted in one
//! of them: one `sync --allow-destructive` run converges every tenant, none is refused
//! or diverged, and afterwards every tenant's `pg_dump --schema-only` equals the
//! template's, the schema name aside.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, FleetOptions, SyncOptions, Target, TenantStatus};

use common::coverage::{DRIFTS, RESPELLED, TEMPLATE};

/// `pg_dump --schema-only` of `schema`, with the schema's name replaced.
fn dump(schema: &str) -> String {
    common::pg_dump(schema)
        .lines()
        .map(|l| sorted_storage_parameters(&l.replace(schema, "TENANT")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A `WITH (a='1', b='2')` line with its parameters sorted: PostgreSQL keeps them in the
/// order they were set, which is not part of the schema.
fn sorted_storage_parameters(line: &str) -> String {
    match line
        .strip_prefix("WITH (")
        .and_then(|rest| rest.strip_suffix(");"))
    {
        Some(list) => {
            let mut parameters: Vec<&str> = list.split(", ").collect();
            parameters.sort_unstable();
            format!("WITH ({});", parameters.join(", "))
        }
        None => line.to_string(),
    }
}

#[tokio::test]
async fn a_fleet_drifted_in_every_modelled_object_kind_converges_in_one_sync() {
    let db = common::db().await;
    let template = db
        .create_tenant(&unique_tenant_id("cov_tpl"), TEMPLATE)
        .await
        .unwrap();
    let tenants = common::coverage::drifted_tenants(&db, "cov", DRIFTS).await;
    let clone = db
        .create_tenant(&unique_tenant_id("cov_clone"), TEMPLATE)
        .await
        .unwrap();
    let engine = Engine::new(db.dyn_adapter());
    let target = engine
        .resolve_target(&Target::Tenant(template.id().clone()))
        .await
        .unwrap();
    let mut fleet: Vec<_> = tenants.iter().map(|(t, _)| t.clone()).collect();
    fleet.push(clone.clone());

    let before = engine
        .run_fleet(fleet.clone(), &target, &FleetOptions::default(), &|_| {})
        .await;
    let sync = FleetOptions::default().with_sync(
        SyncOptions::default()
            .with_execute(true)
            .with_allow_destructive(true),
    );
    let synced = engine
        .run_fleet(fleet.clone(), &target, &sync, &|_| {})
        .await;
    let after = engine
        .run_fleet(fleet.clone(), &target, &FleetOptions::default(), &|_| {})
        .await;
    let template_dump = dump(template.namespace());
    let dumps: Vec<String> = tenants.iter().map(|(t, _)| dump(t.namespace())).collect();
    let clone_dump = dump(clone.namespace());
    for tenant in fleet.iter().chain([&template]) {
        db.drop_tenant(tenant).await.unwrap();
    }

    let unmodelled: Vec<String> = target
        .unsupported
        .iter()
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    assert!(
        unmodelled.is_empty(),
        "the template has unmodelled objects: {unmodelled:?}"
    );
    for (report, (_, drift)) in before.tenants.iter().zip(&tenants) {
        assert_eq!(report.status, TenantStatus::Drifted, "not found: {drift}");
    }
    assert_eq!(
        before.tenants.last().map(|r| r.status),
        Some(TenantStatus::InSync),
        "the clone"
    );
    for (report, (_, drift)) in synced.tenants.iter().zip(&tenants) {
        assert_eq!(
            report.status,
            TenantStatus::Synced,
            "{drift}: {:?}\n{}",
            report.error,
            report
                .plan
                .as_ref()
                .map(|p| p
                    .steps
                    .iter()
                    .map(|s| s.operation.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"))
                .unwrap_or_default()
        );
    }
    for (report, (_, drift)) in after.tenants.iter().zip(&tenants) {
        assert_eq!(
            report.status,
            TenantStatus::InSync,
            "{drift}: {}",
            report
                .diff
                .as_ref()
                .map(|d| d.to_text())
                .unwrap_or_default()
        );
    }
    assert_eq!(clone_dump, template_dump, "the clone");
    for (dumped, (_, drift)) in dumps.iter().zip(&tenants) {
        if RESPELLED.contains(drift) {
            // The check's own line differs in spelling only; everything else is equal.
            let without_check = |dump: &str| {
                dump.lines()
                    .filter(|l| !l.contains("accounts_kind_check"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(
                without_check(dumped),
                without_check(&template_dump),
                "{drift}"
            );
            continue;
        }
        assert_eq!(
            dumped, &template_dump,
            "pg_dump after sync differs: {drift}"
        );
    }
}
