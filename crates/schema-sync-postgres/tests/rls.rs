//! Row-level security, policies, `UNLOGGED`, storage parameters and when triggers fire,
//! against the real server: a clone of the template inspects equal to it, and each kind
//! of drift (missing, extra, changed) is found in the diff and fixed by a sync, after
//! which the tenant inspects equal to the target, `pg_dump` of the tenant equals
//! `pg_dump` of a tenant made from the template, and a second sync does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::snapshot::{PolicyCommand, TriggerEnabled};
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, SchemaSnapshot, SyncOptions, TenantContext};

/// Roles the policies name; created once per server (roles are not per schema).
const ROLES: &str = r#"
SELECT pg_advisory_lock(7263);
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'schema_sync_rls_reader') THEN
    CREATE ROLE schema_sync_rls_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'Schema Sync Auditor') THEN
    CREATE ROLE "Schema Sync Auditor" NOLOGIN;
  END IF;
END $$;
SELECT pg_advisory_unlock(7263);
"#;

const TEMPLATE: &str = r#"
CREATE FUNCTION current_tenant() RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT coalesce(current_setting('app.tenant', true), '0')::integer $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE tenants (id integer PRIMARY KEY, active boolean NOT NULL DEFAULT true);
CREATE TABLE accounts (
    id integer PRIMARY KEY,
    tenant_id integer NOT NULL,
    owner name NOT NULL DEFAULT CURRENT_USER,
    balance numeric(12,2) NOT NULL DEFAULT 0,
    note text
) WITH (fillfactor = 70, autovacuum_enabled = false, toast.autovacuum_enabled = false);
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY accounts_tenant ON accounts USING (tenant_id = current_tenant());
COMMENT ON POLICY accounts_tenant ON accounts IS 'each tenant sees its own';
CREATE POLICY accounts_owner ON accounts AS RESTRICTIVE FOR UPDATE
    TO schema_sync_rls_reader, "Schema Sync Auditor"
    USING (owner = CURRENT_USER) WITH CHECK (balance >= 0);
CREATE POLICY accounts_insert ON accounts FOR INSERT WITH CHECK (tenant_id = current_tenant());
CREATE POLICY accounts_active ON accounts FOR SELECT TO schema_sync_rls_reader
    USING (tenant_id IN (SELECT id FROM tenants WHERE active));
CREATE UNLOGGED TABLE scratch (
    id serial PRIMARY KEY,
    payload text
) WITH (autovacuum_vacuum_scale_factor = 0.05);
CREATE TABLE audit (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
CREATE TRIGGER audit_touch BEFORE INSERT ON audit FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER audit_off BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER audit_replica AFTER INSERT ON audit FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TRIGGER audit_always AFTER DELETE ON audit FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE audit DISABLE TRIGGER audit_off;
ALTER TABLE audit ENABLE REPLICA TRIGGER audit_replica;
ALTER TABLE audit ENABLE ALWAYS TRIGGER audit_always;
INSERT INTO tenants VALUES (1, true);
INSERT INTO accounts (id, tenant_id, balance) VALUES (1, 1, 10);
"#;

fn allow_all() -> SyncOptions {
    SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true)
}

/// `pg_dump` of `schema` with its name replaced, and the storage parameters of each
/// `WITH (...)` sorted: PostgreSQL keeps them in the order they were set, which means
/// nothing (the model keeps them by name).
fn dump(schema: &str) -> String {
    common::pg_dump(schema)
        .replace(schema, "TENANT")
        .lines()
        .map(|line| {
            match line
                .strip_prefix("WITH (")
                .and_then(|l| l.strip_suffix(");"))
            {
                Some(list) => {
                    let mut parameters: Vec<&str> = list.split(", ").collect();
                    parameters.sort_unstable();
                    format!("WITH ({});", parameters.join(", "))
                }
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The template loaded as a target, and a tenant made from it (the reference `pg_dump`
/// is taken from it).
async fn setup(db: &common::PgDb) -> (SchemaSnapshot, TenantContext) {
    db.sql(ROLES).await;
    let target = db.target(TEMPLATE).await;
    let reference = db
        .create_tenant(&unique_tenant_id("rls_ref"), TEMPLATE)
        .await
        .unwrap();
    (target, reference)
}

#[tokio::test]
async fn a_clone_of_the_template_inspects_equal_and_models_every_option() {
    let db = common::db().await;
    let (target, reference) = setup(&db).await;
    let clone = db.inspect(&reference).await;
    db.drop_tenant(&reference).await.unwrap();
    assert!(target.unsupported.is_empty(), "{:?}", target.unsupported);
    assert_eq!(clone, target);
    let engine = Engine::new(db.dyn_adapter());
    let (diff, plan) = engine.plan(&clone, &target).unwrap();
    assert!(
        diff.is_empty() && plan.steps.is_empty(),
        "{}",
        diff.to_text()
    );

    let accounts = &target.tables["accounts"];
    assert!(accounts.options.row_security && accounts.options.force_row_security);
    assert!(!accounts.options.unlogged);
    let parameters: Vec<(&str, &str)> = accounts
        .options
        .storage_parameters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        parameters,
        [
            ("autovacuum_enabled", "false"),
            ("fillfactor", "70"),
            ("toast.autovacuum_enabled", "false")
        ]
    );
    let owner = &accounts.policies["accounts_owner"];
    assert!(owner.restrictive);
    assert_eq!(owner.command, PolicyCommand::Update);
    assert_eq!(
        owner.roles,
        ["Schema Sync Auditor", "schema_sync_rls_reader"]
    );
    assert_eq!(owner.using.as_deref(), Some("(owner = CURRENT_USER)"));
    assert_eq!(
        owner.with_check.as_deref(),
        Some("(balance >= (0)::numeric)")
    );
    let tenant = &accounts.policies["accounts_tenant"];
    assert_eq!(tenant.roles, ["public"]);
    assert_eq!(tenant.command, PolicyCommand::All);
    assert_eq!(
        tenant.using.as_deref(),
        Some("(tenant_id = current_tenant())"),
        "tenant-relative: the function is not qualified"
    );
    assert_eq!(tenant.comment.as_deref(), Some("each tenant sees its own"));
    assert_eq!(accounts.policies["accounts_insert"].using, None);
    assert!(target.tables["scratch"].options.unlogged);
    let triggers = &target.tables["audit"].triggers;
    assert_eq!(triggers["audit_touch"].enabled, TriggerEnabled::Origin);
    assert_eq!(triggers["audit_off"].enabled, TriggerEnabled::Disabled);
    assert_eq!(triggers["audit_replica"].enabled, TriggerEnabled::Replica);
    assert_eq!(triggers["audit_always"].enabled, TriggerEnabled::Always);
}

#[tokio::test]
async fn every_drift_is_found_and_fixed() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let (target, reference) = setup(&db).await;
    let expected_dump = dump(reference.namespace());
    db.drop_tenant(&reference).await.unwrap();
    let tenant = db
        .create_tenant(&unique_tenant_id("rls_drift"), TEMPLATE)
        .await
        .unwrap();
    // Each drift, and a line the diff text must show for it.
    let drifts = [
        ("DROP POLICY accounts_tenant ON accounts", "+ policy accounts_tenant to public using ((tenant_id = current_tenant()))"),
        ("CREATE POLICY stray ON accounts FOR DELETE USING (false)", "- policy stray for delete to public using (false)"),
        (
            "DROP POLICY accounts_owner ON accounts;
             CREATE POLICY accounts_owner ON accounts FOR UPDATE TO schema_sync_rls_reader USING (true)",
            "~ policy accounts_owner: permissive -> restrictive, to schema_sync_rls_reader -> Schema Sync Auditor, schema_sync_rls_reader, using true -> (owner = CURRENT_USER), with check none -> (balance >= (0)::numeric)",
        ),
        (
            "ALTER POLICY accounts_insert ON accounts WITH CHECK (tenant_id > 0)",
            "~ policy accounts_insert: with check (tenant_id > 0) -> (tenant_id = current_tenant())",
        ),
        ("ALTER POLICY accounts_tenant ON accounts TO schema_sync_rls_reader", "~ policy accounts_tenant: to schema_sync_rls_reader -> public"),
        ("DROP TABLE tenants CASCADE", "+ table tenants"),
        (
            "COMMENT ON POLICY accounts_tenant ON accounts IS 'changed'",
            "~ policy accounts_tenant: ",
        ),
        ("ALTER TABLE accounts DISABLE ROW LEVEL SECURITY", "~ options no row level security (forced) -> row level security forced"),
        ("ALTER TABLE accounts NO FORCE ROW LEVEL SECURITY", "~ options row level security -> row level security forced"),
        ("ALTER TABLE audit ENABLE ROW LEVEL SECURITY", "~ options row level security -> no row level security"),
        ("ALTER TABLE audit FORCE ROW LEVEL SECURITY", "~ options no row level security (forced) -> no row level security"),
        ("ALTER TABLE scratch SET LOGGED", "~ options logged -> unlogged"),
        ("ALTER TABLE audit SET UNLOGGED", "~ options unlogged -> logged"),
        (
            "ALTER TABLE accounts SET (fillfactor = 90)",
            "~ options storage parameters (autovacuum_enabled=false, fillfactor=90, toast.autovacuum_enabled=false) -> (autovacuum_enabled=false, fillfactor=70, toast.autovacuum_enabled=false)",
        ),
        ("ALTER TABLE accounts RESET (autovacuum_enabled, toast.autovacuum_enabled)", "~ options storage parameters (fillfactor=70) -> "),
        ("ALTER TABLE accounts RESET (fillfactor)", "storage parameters (autovacuum_enabled=false, toast.autovacuum_enabled=false) -> "),
        ("ALTER TABLE audit SET (autovacuum_analyze_threshold = 100, toast.autovacuum_enabled = off)", "-> ()"),
        ("ALTER TABLE scratch RESET (autovacuum_vacuum_scale_factor)", "() -> (autovacuum_vacuum_scale_factor=0.05)"),
        ("ALTER TABLE audit ENABLE TRIGGER audit_off", "~ trigger audit_off: enabled -> disabled"),
        ("ALTER TABLE audit DISABLE TRIGGER audit_touch", "~ trigger audit_touch: disabled -> enabled"),
        ("ALTER TABLE audit ENABLE TRIGGER audit_replica", "~ trigger audit_replica: enabled -> enabled replica"),
        ("ALTER TABLE audit ENABLE REPLICA TRIGGER audit_always", "~ trigger audit_always: enabled replica -> enabled always"),
        ("DROP TRIGGER audit_off ON audit", "+ trigger audit_off disabled"),
        ("DROP TRIGGER audit_replica ON audit", "+ trigger audit_replica enabled replica"),
        (
            "CREATE TRIGGER stray_trigger AFTER UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION touch();
             ALTER TABLE audit DISABLE TRIGGER stray_trigger",
            "- trigger stray_trigger disabled",
        ),
        (
            // The policies read the column, so it cannot change type under them.
            "DROP POLICY accounts_tenant ON accounts;
             DROP POLICY accounts_insert ON accounts;
             DROP POLICY accounts_active ON accounts;
             ALTER TABLE accounts ALTER COLUMN tenant_id TYPE bigint;
             CREATE POLICY accounts_tenant ON accounts USING (tenant_id = current_tenant());
             CREATE POLICY accounts_insert ON accounts FOR INSERT WITH CHECK (tenant_id = current_tenant());
             CREATE POLICY accounts_active ON accounts FOR SELECT TO schema_sync_rls_reader
                 USING (tenant_id IN (SELECT id FROM tenants WHERE active))",
            "~ column tenant_id: type bigint -> integer",
        ),
        ("DROP TABLE accounts", "+ table accounts"),
        ("DROP TABLE scratch", "+ table scratch"),
        ("DROP TABLE audit", "+ table audit"),
        (
            "CREATE UNLOGGED TABLE stray (id int) WITH (fillfactor = 50);
             ALTER TABLE stray ENABLE ROW LEVEL SECURITY;
             CREATE POLICY stray_all ON stray USING (id > 0)",
            "- table stray",
        ),
    ];
    for (drift, shown) in drifts {
        db.execute(&tenant, drift)
            .await
            .unwrap_or_else(|e| panic!("{drift}: {e}"));
        let first = engine
            .sync_tenant(&tenant, &target, &allow_all())
            .await
            .unwrap_or_else(|e| panic!("{drift}: {e}"));
        let text = first.diff.to_text();
        assert!(!first.already_in_sync, "{drift}: not found");
        assert!(
            text.contains(shown),
            "{drift}: the diff does not show {shown:?}:\n{text}"
        );
        if drift.starts_with("ALTER TABLE audit") && drift.contains(" TRIGGER ") {
            // A trigger whose firing state alone differs is changed where it stands.
            let steps: Vec<String> = first
                .plan
                .steps
                .iter()
                .map(|s| s.operation.to_string())
                .collect();
            assert!(
                steps.len() == 1 && steps[0].starts_with("trigger audit_"),
                "{drift}: {steps:?}"
            );
        }
        assert_eq!(db.inspect(&tenant).await, target, "{drift}");
        assert_eq!(
            dump(tenant.namespace()),
            expected_dump,
            "{drift}: pg_dump differs"
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
    }
    db.drop_tenant(&tenant).await.unwrap();
}
