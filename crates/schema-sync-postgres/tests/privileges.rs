//! Privileges on tenant objects, compared and synced only when asked
//! (`include_privileges`): a missing, extra or changed grant is found and fixed, objects
//! the plan creates or recreates get their grants, and without the option grants are
//! not compared at all.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{ConnectOptions, Engine, FleetOptions, SyncOptions, TenantStatus};

fn sync_all() -> FleetOptions {
    FleetOptions::default().with_sync(
        SyncOptions::default()
            .with_execute(true)
            .with_allow_destructive(true),
    )
}

/// The template, granting to `reader`.
fn template(reader: &str) -> String {
    format!(
        "CREATE TABLE accounts (id int PRIMARY KEY, name text);
         CREATE SEQUENCE invoice_numbers;
         CREATE VIEW account_names AS SELECT id, name FROM accounts;
         CREATE FUNCTION account_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM accounts';
         GRANT SELECT, INSERT ON accounts TO {reader};
         GRANT SELECT ON account_names TO {reader} WITH GRANT OPTION;
         GRANT USAGE ON SEQUENCE invoice_numbers TO {reader};
         REVOKE EXECUTE ON FUNCTION account_count() FROM PUBLIC;
         GRANT EXECUTE ON FUNCTION account_count() TO {reader};"
    )
}

/// Privileges of the tenant as `has_*_privilege` sees them: the independent check.
async fn effective(db: &common::PgDb, schema: &str, reader: &str) -> Vec<bool> {
    let s = common::qi(schema);
    let row = db
        .admin
        .query_one(
            &format!(
                "SELECT has_table_privilege($1, '{s}.accounts', 'SELECT'),
                        has_table_privilege($1, '{s}.accounts', 'INSERT'),
                        has_table_privilege($1, '{s}.accounts', 'DELETE'),
                        has_table_privilege($1, '{s}.account_names', 'SELECT WITH GRANT OPTION'),
                        has_sequence_privilege($1, '{s}.invoice_numbers', 'USAGE'),
                        has_function_privilege($1, '{s}.account_count()', 'EXECUTE'),
                        has_function_privilege('public', '{s}.account_count()', 'EXECUTE')"
            ),
            &[&reader],
        )
        .await
        .unwrap();
    (0..7).map(|i| row.get::<_, bool>(i)).collect()
}

#[tokio::test]
async fn grants_are_found_and_synced_only_when_included() {
    let with = common::db_with(&ConnectOptions::default().with_include_privileges(true)).await;
    let without = common::db().await;
    let reader = unique_tenant_id("ss_reader").as_str().to_string();
    with.admin
        .batch_execute(&format!("CREATE ROLE {}", common::qi(&reader)))
        .await
        .unwrap();
    let sql = template(&common::qi(&reader));
    let tpl = with
        .create_tenant(&unique_tenant_id("priv_tpl"), &sql)
        .await
        .unwrap();
    let clone = with
        .create_tenant(&unique_tenant_id("priv_clone"), &sql)
        .await
        .unwrap();
    // Drift: a grant missing, one extra, one changed, and the function open to PUBLIC;
    // the view differs too, so the plan recreates it and must grant on it again.
    let drifted = with
        .create_tenant(&unique_tenant_id("priv_drift"), &sql)
        .await
        .unwrap();
    let r = common::qi(&reader);
    with.execute(
        &drifted,
        &format!(
            "REVOKE INSERT ON accounts FROM {r};
             GRANT DELETE ON accounts TO {r};
             REVOKE USAGE ON SEQUENCE invoice_numbers FROM {r};
             GRANT EXECUTE ON FUNCTION account_count() TO PUBLIC;
             CREATE OR REPLACE VIEW account_names AS SELECT id, name, 1 AS extra FROM accounts;
             GRANT SELECT ON account_names TO {r} WITH GRANT OPTION"
        ),
    )
    .await
    .unwrap();

    let target = with.inspect(&tpl).await;
    assert_eq!(target.privileges.len(), 4, "{:?}", target.privileges);
    let engine = Engine::new(with.dyn_adapter());
    let validated = engine
        .run_fleet(
            vec![clone.clone(), drifted.clone()],
            &target,
            &FleetOptions::default(),
            &|_| {},
        )
        .await;
    let plain = Engine::new(without.dyn_adapter());
    let plain_target = without.inspect(&tpl).await;
    let ignored = plain
        .run_fleet(
            vec![drifted.clone()],
            &plain_target,
            &FleetOptions::default(),
            &|_| {},
        )
        .await;
    // The view body differs, so drifted is drifted either way; grants are not compared
    // without the option.
    let plain_diff = ignored.tenants[0]
        .diff
        .as_ref()
        .map(|d| d.privileges.len())
        .unwrap_or_default();
    let synced = engine
        .run_fleet(vec![drifted.clone()], &target, &sync_all(), &|_| {})
        .await;
    let after = with.inspect(&drifted).await;
    let expected = effective(&with, tpl.namespace(), &reader).await;
    let actual = effective(&with, drifted.namespace(), &reader).await;
    for tenant in [&tpl, &clone, &drifted] {
        with.drop_tenant(tenant).await.unwrap();
    }
    with.admin
        .batch_execute(&format!("DROP ROLE {}", common::qi(&reader)))
        .await
        .unwrap();

    assert_eq!(validated.tenants[0].status, TenantStatus::InSync);
    let diff = validated.tenants[1].diff.as_ref().expect("a diff");
    assert_eq!(diff.privileges.len(), 3, "{}", diff.to_text());
    assert_eq!(plain_diff, 0, "grants compared without the option");
    assert_eq!(
        synced.tenants[0].status,
        TenantStatus::Synced,
        "{:?}",
        synced.tenants[0].error
    );
    assert_eq!(after.privileges, target.privileges);
    assert_eq!(
        expected,
        vec![true, true, false, true, true, true, false],
        "the template's own privileges"
    );
    assert_eq!(actual, expected, "effective privileges after sync");
}
