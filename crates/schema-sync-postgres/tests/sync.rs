//! Planning and executing against the real server: drift of every kind is found and
//! fixed, failures roll the tenant back, concurrent runs serialise on the lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{
    DatabaseAdapter, Engine, Error, ExecuteOptions, FleetOptions, SyncOptions, TenantContext,
    TenantStatus,
};

use common::{allow_all, sync_and_check};

#[tokio::test]
async fn every_kind_of_drift_is_found_and_fixed() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let target = db.target(common::RICH).await;
    let tenant = db
        .create_tenant(&unique_tenant_id("sync_drift"), common::RICH)
        .await
        .unwrap();
    db.execute(&tenant, common::RICH_ROWS).await.unwrap();
    let drifts = [
        "ALTER TABLE orders ALTER COLUMN notes TYPE text",
        "ALTER TABLE order_lines ALTER COLUMN quantity TYPE bigint",
        "ALTER TABLE customers ALTER COLUMN name TYPE text COLLATE \"POSIX\"",
        "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'paid'",
        "ALTER TABLE orders ALTER COLUMN tags DROP NOT NULL",
        "ALTER TABLE orders ALTER COLUMN seq_no SET GENERATED ALWAYS",
        "ALTER TABLE orders ALTER COLUMN seq_no DROP IDENTITY",
        "ALTER TABLE orders DROP COLUMN tax",
        "ALTER TABLE orders ALTER COLUMN tax DROP EXPRESSION",
        "ALTER TABLE orders ADD COLUMN extra jsonb",
        "ALTER TABLE customers DROP COLUMN span",
        "ALTER TYPE order_status ADD VALUE 'lost'",
        "ALTER TYPE order_status RENAME VALUE 'shipped' TO 'sent'",
        "ALTER SEQUENCE invoice_numbers INCREMENT BY 7 MAXVALUE 99999",
        "ALTER SEQUENCE orders_id_seq OWNED BY NONE",
        "CREATE SEQUENCE stray_seq",
        "COMMENT ON TABLE customers IS 'changed'",
        "COMMENT ON COLUMN customers.email IS NULL",
        "COMMENT ON VIEW paid_orders IS NULL",
        "ALTER TABLE orders DROP CONSTRAINT orders_notes_check",
        "ALTER TABLE order_lines DROP CONSTRAINT order_lines_quantity_check, ADD CONSTRAINT order_lines_quantity_check CHECK (quantity > 1)",
        "ALTER TABLE order_lines DROP CONSTRAINT order_lines_sku_key",
        "ALTER TABLE orders DROP CONSTRAINT orders_customer_fk, ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)",
        "ALTER TABLE departments DROP CONSTRAINT departments_manager_fk",
        "ALTER TABLE order_lines DROP CONSTRAINT order_lines_pkey, ADD PRIMARY KEY (order_id, line_no, sku)",
        "DROP INDEX orders_open_idx",
        "DROP INDEX orders_tags_idx; CREATE INDEX orders_tags_idx ON orders (tags)",
        "CREATE INDEX stray_idx ON customers (created_at DESC)",
        "CREATE OR REPLACE VIEW big_paid_orders AS SELECT id, total FROM paid_orders WHERE total > 1",
        "DROP MATERIALIZED VIEW order_totals",
        "CREATE VIEW stray_view AS SELECT 1 AS one",
        "CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
        "DROP FUNCTION order_count(bigint)",
        "DROP TRIGGER orders_touch ON orders",
        "CREATE TRIGGER stray_trigger AFTER DELETE ON customers FOR EACH ROW EXECUTE FUNCTION touch_updated_at()",
        "DROP TABLE order_lines",
        "CREATE TABLE stray (id int)",
    ];
    for drift in drifts {
        db.execute(&tenant, drift)
            .await
            .unwrap_or_else(|e| panic!("{drift}: {e}"));
        sync_and_check(&engine, &db, &tenant, &target, drift).await;
    }
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn enum_labels_are_removed_and_reordered_by_rebuilding_the_type() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let from = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'gone');
        CREATE TABLE people (id int PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok', past mood[]);
        CREATE VIEW happy_people AS SELECT id FROM people WHERE mood = 'happy';
        CREATE VIEW very_happy AS SELECT id FROM happy_people;
        INSERT INTO people VALUES (1, 'sad', '{ok,happy}'), (2, 'happy', NULL);";
    let to = "CREATE TYPE mood AS ENUM ('happy', 'ok', 'sad');
        CREATE TABLE people (id int PRIMARY KEY, mood mood NOT NULL DEFAULT 'ok', past mood[]);
        CREATE VIEW happy_people AS SELECT id FROM people WHERE mood = 'happy';
        CREATE VIEW very_happy AS SELECT id FROM happy_people;";
    let tenant = db
        .create_tenant(&unique_tenant_id("sync_enum"), from)
        .await
        .unwrap();
    let target = db.target(to).await;
    sync_and_check(&engine, &db, &tenant, &target, "enum rebuild").await;
    assert_eq!(
        db.count(&tenant, "SELECT count(*) FROM happy_people").await,
        1
    );
    assert_eq!(
        db.count(
            &tenant,
            "SELECT count(*) FROM people WHERE past = '{ok,happy}'"
        )
        .await,
        1
    );
    // Adding a label that the same run uses as a default also needs a rebuild.
    let to = to
        .replace("('happy', 'ok', 'sad')", "('happy', 'ok', 'meh', 'sad')")
        .replace("DEFAULT 'ok'", "DEFAULT 'meh'");
    let target = db.target(&to).await;
    sync_and_check(&engine, &db, &tenant, &target, "new label used as default").await;
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn type_changes_convert_existing_rows() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let from = "CREATE TYPE kind AS ENUM ('a', 'b');
        CREATE TABLE t (id int PRIMARY KEY, n text, k kind DEFAULT 'a', s text, small smallint, g int GENERATED ALWAYS AS (small * 2) STORED);
        INSERT INTO t (id, n, k, s, small) VALUES (1, '12', 'b', 'a', 3);";
    let to = "CREATE TYPE kind AS ENUM ('a', 'b');
        CREATE TABLE t (id bigint PRIMARY KEY, n integer, k text DEFAULT 'a', s kind, small bigint, g bigint GENERATED ALWAYS AS (small * 2) STORED);";
    let tenant = db
        .create_tenant(&unique_tenant_id("sync_types"), from)
        .await
        .unwrap();
    let target = db.target(to).await;
    sync_and_check(&engine, &db, &tenant, &target, "type changes").await;
    assert_eq!(
        db.count(
            &tenant,
            "SELECT count(*) FROM t WHERE n = 12 AND k = 'b' AND s = 'a' AND g = 6"
        )
        .await,
        1
    );
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn a_failing_step_rolls_the_whole_tenant_back() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let tenant = db
        .create_tenant(
            &unique_tenant_id("sync_fail"),
            "CREATE TABLE accounts (id int PRIMARY KEY, name text);
             INSERT INTO accounts VALUES (1, 'a'), (2, 'b');",
        )
        .await
        .unwrap();
    let before = db.inspect(&tenant).await;
    let target = db
        .target(
            "CREATE TABLE accounts (id int PRIMARY KEY, name text, created date, owner text NOT NULL);
             CREATE TABLE audit (id int PRIMARY KEY);",
        )
        .await;
    let err = engine
        .sync_tenant(&tenant, &target, &allow_all())
        .await
        .unwrap_err();
    let Error::Execute {
        step,
        statement,
        steps_succeeded,
        steps_total,
        rolled_back,
        ..
    } = &err
    else {
        panic!("expected an execution error, got {err:?}");
    };
    assert!(step.contains("accounts.owner"), "{step}");
    assert!(statement.contains("ADD COLUMN \"owner\""), "{statement}");
    assert!(
        *steps_succeeded >= 1 && *steps_succeeded < *steps_total,
        "{err}"
    );
    assert!(*rolled_back);
    assert!(err.to_string().contains("tenant rolled back"), "{err}");
    assert_eq!(
        db.inspect(&tenant).await,
        before,
        "the tenant must be unchanged"
    );
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn concurrent_syncs_of_one_tenant_serialise_on_the_lock() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("sync_race"),
            "CREATE TABLE t (id int PRIMARY KEY);",
        )
        .await
        .unwrap();
    let target = db.target(common::RICH).await;
    let a = Engine::new(db.dyn_adapter());
    let b = Engine::new(db.dyn_adapter());
    let options = allow_all();
    let (ra, rb) = tokio::join!(
        a.sync_tenant(&tenant, &target, &options),
        b.sync_tenant(&tenant, &target, &options)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let executed = [&ra, &rb].iter().filter(|r| r.execution.is_some()).count();
    assert_eq!(
        executed, 1,
        "exactly one run changes the tenant, the other finds it in sync"
    );
    assert_eq!(db.inspect(&tenant).await.hash(), target.hash());
    db.drop_tenant(&tenant).await.unwrap();
}

/// `execution.locked_ms` covers the whole locked part of a sync, from asking for the lock
/// to the commit: more than the plan's own `duration_ms`, by the lock, the change-cookie
/// check and the verification read at least.
#[tokio::test]
async fn a_synced_tenant_reports_its_time_under_the_lock_beyond_its_statements() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("sync_locked"),
            "CREATE TABLE t (id int PRIMARY KEY);",
        )
        .await
        .unwrap();
    let target = db
        .target("CREATE TABLE t (id int PRIMARY KEY, note text); CREATE INDEX t_note ON t (note);")
        .await;
    let outcome = Engine::new(db.dyn_adapter())
        .sync_tenant(&tenant, &target, &allow_all())
        .await
        .unwrap();
    db.drop_tenant(&tenant).await.unwrap();
    let execution = outcome.execution.expect("the sync changed the tenant");
    assert!(
        execution.locked_ms > execution.duration_ms,
        "locked {} ms, applying {} ms",
        execution.locked_ms,
        execution.duration_ms
    );
}

/// PostgreSQL adds a column only after the last one. Under `--strict-column-order`, a
/// target with a new column between existing ones is refused before anything runs,
/// naming the column and the flag; new columns at the end are added; without the flag
/// the column is appended.
#[tokio::test]
async fn a_strict_order_refuses_a_new_column_between_existing_ones_and_allows_one_at_the_end() {
    let db = common::db().await;
    let live = "CREATE TABLE t (id int PRIMARY KEY, c1 int);";
    let engine = Engine::new(db.dyn_adapter());
    let mut strict = allow_all();
    strict.strict_column_order = true;

    let between = db
        .create_tenant(&unique_tenant_id("sync_strict_mid"), live)
        .await
        .unwrap();
    let target = db
        .target("CREATE TABLE t (id int PRIMARY KEY, c2 int, c1 int);")
        .await;
    let refused = engine.sync_tenant(&between, &target, &strict).await;
    let unchanged = db.inspect(&between).await;
    let appended = engine.sync_tenant(&between, &target, &allow_all()).await;
    db.drop_tenant(&between).await.unwrap();
    match refused {
        Err(Error::Unsupported {
            object, message, ..
        }) => {
            assert_eq!(object, "t");
            assert!(
                message.contains("new column c2 cannot go after column id")
                    && message.contains("--strict-column-order"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!unchanged.tables["t"].columns.contains_key("c2"));
    assert!(appended.is_ok(), "{appended:?}");

    let at_end = db
        .create_tenant(&unique_tenant_id("sync_strict_end"), live)
        .await
        .unwrap();
    let target = db
        .target("CREATE TABLE t (id int PRIMARY KEY, c1 int, c2 int, c3 int);")
        .await;
    let synced = engine.sync_tenant(&at_end, &target, &strict).await;
    let after = db.inspect(&at_end).await;
    db.drop_tenant(&at_end).await.unwrap();
    synced.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        after.tables["t"].column_order(),
        vec!["id", "c1", "c2", "c3"]
    );
}

#[tokio::test]
async fn a_held_lock_times_out_as_a_lock_error() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(&unique_tenant_id("sync_lock"), "CREATE TABLE t (id int);")
        .await
        .unwrap();
    let runner = db.adapter.runner();
    let held = runner
        .acquire_lock(&tenant, &ExecuteOptions::default())
        .await
        .unwrap();
    let options = ExecuteOptions::default()
        .with_lock_timeout(Duration::from_millis(300))
        .with_statement_timeout(Some(Duration::from_secs(30)));
    let err = runner.acquire_lock(&tenant, &options).await.err();
    assert!(matches!(err, Some(Error::Lock { .. })), "{err:?}");
    let zero = ExecuteOptions::default()
        .with_lock_timeout(Duration::ZERO)
        .with_statement_timeout(None);
    assert!(matches!(
        runner.acquire_lock(&tenant, &zero).await.err(),
        Some(Error::Lock { .. })
    ));
    held.release().await.unwrap();
    // Once released (and also after a lock is dropped), the tenant can be locked again.
    let again = runner.acquire_lock(&tenant, &options).await.unwrap();
    drop(again);
    let after_drop = runner.acquire_lock(&tenant, &options).await.unwrap();
    after_drop.release().await.unwrap();
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn destructive_changes_are_refused_and_name_what_would_be_lost() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let tenant = db
        .create_tenant(
            &unique_tenant_id("sync_refuse"),
            "CREATE TABLE keep (id int PRIMARY KEY, note varchar(50));
             CREATE TABLE legacy (id int PRIMARY KEY);",
        )
        .await
        .unwrap();
    let before = db.inspect(&tenant).await;
    let target = db
        .target("CREATE TABLE keep (id int PRIMARY KEY, note varchar(10));")
        .await;
    let report = engine
        .run_fleet(
            vec![tenant.clone()],
            &target,
            &FleetOptions::default().with_sync(SyncOptions::default().with_execute(true)),
            &|_| {},
        )
        .await;
    let outcome = &report.tenants[0];
    assert_eq!(outcome.status, TenantStatus::Refused);
    let message = outcome.error.as_ref().unwrap().to_string();
    assert!(message.contains("drop table legacy"), "{message}");
    assert!(message.contains("keep.note"), "{message}");
    assert_eq!(db.inspect(&tenant).await, before);
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn rendered_sql_quotes_every_identifier() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let id = unique_tenant_id("x\"; DROP SCHEMA public; --");
    let tenant = db.create_tenant(&id, "").await.unwrap();
    let target = db
        .target(
            r#"CREATE TABLE "t""; DROP TABLE x; --" ("c'1" int PRIMARY KEY, "ü b" text DEFAULT 'it''s');
               COMMENT ON TABLE "t""; DROP TABLE x; --" IS 'a''b\c';"#,
        )
        .await;
    let live = db.inspect(&tenant).await;
    let (_, plan) = engine.plan(&live, &target).unwrap();
    let statements = db.adapter.runner().render(&tenant, &plan).await.unwrap();
    let text = statements.join("\n");
    let schema = common::qi(tenant.namespace());
    assert!(
        text.contains(&format!(
            "CREATE TABLE {schema}.\"t\"\"; DROP TABLE x; --\""
        )),
        "{text}"
    );
    assert!(text.contains("\"c'1\" integer NOT NULL"), "{text}");
    assert!(text.contains("IS E'a''b\\\\c'"), "{text}");
    sync_and_check(&engine, &db, &tenant, &target, "hostile identifiers").await;
    db.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test]
async fn fleet_validation_shares_plans_and_reports_drift() {
    let db = common::db().await;
    let adapter: Arc<dyn DatabaseAdapter> = db.dyn_adapter();
    let engine = Engine::new(adapter);
    let target = db.target(common::RICH).await;
    let mut tenants = Vec::new();
    for i in 0..8 {
        let t = db
            .create_tenant(&unique_tenant_id("sync_fleet"), common::RICH)
            .await
            .unwrap();
        if i % 4 == 0 {
            db.execute(&t, "ALTER TABLE orders ADD COLUMN drift int")
                .await
                .unwrap();
        }
        tenants.push(t);
    }
    let report = engine
        .run_fleet(
            tenants.clone(),
            &target,
            &FleetOptions::default().with_batch_size(5),
            &|_| {},
        )
        .await;
    let drifted = report
        .tenants
        .iter()
        .filter(|r| r.status == TenantStatus::Drifted)
        .count();
    let in_sync = report
        .tenants
        .iter()
        .filter(|r| r.status == TenantStatus::InSync)
        .count();
    assert_eq!((drifted, in_sync), (2, 6));
    for t in &tenants {
        db.drop_tenant(t).await.unwrap();
    }
}

/// `id=v` of every row of `t`, as text.
async fn column_values(db: &common::PgDb, tenant: &TenantContext) -> String {
    let query = format!(
        "SELECT string_agg(id || '=' || v::text, ',' ORDER BY id) FROM {}.t",
        common::qi(tenant.namespace())
    );
    db.admin.query_one(&query, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn narrowing_a_type_never_loses_data() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    // (from type, to type, a value that fits, a value that does not)
    let cases = [
        ("varchar(80)", "varchar(50)", "'short'", "repeat('x', 80)"),
        ("char(10)", "char(4)", "'ab'", "'abcdefgh'"),
        ("numeric(10,3)", "numeric(10,2)", "1234.560", "1234.567"),
        ("numeric(10,2)", "numeric(5,2)", "123.45", "123456.78"),
        ("bigint", "integer", "5", "5000000000"),
        (
            "timestamp(6)",
            "timestamp(0)",
            "'2024-01-02 03:04:05'",
            "'2024-01-02 03:04:05.123456'",
        ),
        ("varchar(20)[]", "varchar(3)[]", "'{ab,c}'", "'{ab,abcd}'"),
        ("double precision", "integer", "42", "4.5"),
    ];
    for (from, to, fits, too_big) in cases {
        let label = format!("{from} -> {to}");
        let tenant = db
            .create_tenant(
                &unique_tenant_id("sync_narrow"),
                &format!(
                    "CREATE TABLE t (id int PRIMARY KEY, v {from});
                     INSERT INTO t VALUES (1, {fits}), (2, {too_big});"
                ),
            )
            .await
            .unwrap();
        let target = db
            .target(&format!("CREATE TABLE t (id int PRIMARY KEY, v {to});"))
            .await;
        let before = db.inspect(&tenant).await;
        let data = column_values(&db, &tenant).await;
        let err = engine
            .sync_tenant(&tenant, &target, &allow_all())
            .await
            .err()
            .unwrap_or_else(|| panic!("{label}: a value that does not fit must fail the sync"));
        assert_eq!(err.kind(), "execute", "{label}: {err}");
        let message = err.to_string();
        assert!(
            message.contains("value too long") || message.contains("cannot change column t.v from"),
            "{label}: {message}"
        );
        assert_eq!(db.inspect(&tenant).await, before, "{label}: schema changed");
        assert_eq!(
            column_values(&db, &tenant).await,
            data,
            "{label}: rows changed"
        );

        db.execute(&tenant, "DELETE FROM t WHERE id = 2")
            .await
            .unwrap();
        let kept = column_values(&db, &tenant).await;
        sync_and_check(&engine, &db, &tenant, &target, &label).await;
        assert_eq!(
            db.count(&tenant, &format!("SELECT count(*) FROM t WHERE v = {fits}"))
                .await,
            1,
            "{label}: the value that fits must be kept ({kept})"
        );
        db.drop_tenant(&tenant).await.unwrap();
    }
}

/// Column names of `schema.table` in `attnum` order.
async fn attnum_order(db: &common::PgDb, tenant: &TenantContext, table: &str) -> Vec<String> {
    let rows = db
        .admin
        .query(
            "SELECT a.attname::text FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
             ORDER BY a.attnum",
            &[&tenant.namespace(), &table],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test]
async fn tables_are_created_in_the_template_column_order() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    // Not alphabetical, and with a gap where a column was dropped.
    let template_ddl =
        "CREATE TABLE people (zeta int, alpha text NOT NULL, mid date, id int PRIMARY KEY);
        ALTER TABLE people DROP COLUMN mid;
        ALTER TABLE people ADD COLUMN beta numeric(8,2) DEFAULT 0;
        CREATE TABLE pets (name text, owner_id int REFERENCES people (id), age int);";
    let template = db
        .create_tenant(&unique_tenant_id("sync_order_tpl"), template_ddl)
        .await
        .unwrap();
    let target = db.inspect(&template).await;
    let people = &target.tables["people"];
    assert_eq!(people.column_order(), ["zeta", "alpha", "id", "beta"]);
    assert_eq!(people.columns["beta"].position, 4, "positions are dense");
    let expected = attnum_order(&db, &template, "people").await;

    let fresh = db
        .create_tenant(&unique_tenant_id("sync_order_new"), "")
        .await
        .unwrap();
    sync_and_check(&engine, &db, &fresh, &target, "create in order").await;
    assert_eq!(attnum_order(&db, &fresh, "people").await, expected);
    assert_eq!(
        attnum_order(&db, &fresh, "pets").await,
        ["name", "owner_id", "age"]
    );

    // A clone written without the dropped column diffs empty against the template.
    let clone = db
        .create_tenant(
            &unique_tenant_id("sync_order_clone"),
            "CREATE TABLE people (zeta int, alpha text NOT NULL, id int PRIMARY KEY, beta numeric(8,2) DEFAULT 0);
             CREATE TABLE pets (name text, owner_id int REFERENCES people (id), age int);",
        )
        .await
        .unwrap();
    let (diff, plan) = engine.plan(&db.inspect(&clone).await, &target).unwrap();
    assert!(diff.is_empty(), "{}", diff.to_text());
    assert!(plan.steps.is_empty());
    for t in [&template, &fresh, &clone] {
        db.drop_tenant(t).await.unwrap();
    }
}

#[tokio::test]
async fn a_recreated_view_keeps_its_grants_and_owner() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let id = unique_tenant_id("sync_grants");
    let (reader, owner) = (format!("{id}_reader"), format!("{id}_owner"));
    db.sql(&format!(
        "CREATE ROLE {} NOLOGIN; CREATE ROLE {} NOLOGIN;",
        common::qi(&reader),
        common::qi(&owner)
    ))
    .await;
    let view = |limit: u32| {
        format!(
            "CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(8,2));
                 CREATE VIEW cheap_items AS SELECT id, name FROM items WHERE price < {limit};"
        )
    };
    let tenant = db.create_tenant(&id, &view(10)).await.unwrap();
    let schema = common::qi(tenant.namespace());
    db.sql(&format!(
        "GRANT USAGE ON SCHEMA {schema} TO {reader};
         GRANT SELECT ON {schema}.cheap_items TO {reader} WITH GRANT OPTION;
         GRANT UPDATE (name) ON {schema}.cheap_items TO {reader};
         GRANT SELECT ON {schema}.cheap_items TO PUBLIC;
         ALTER VIEW {schema}.cheap_items OWNER TO {owner};",
        reader = common::qi(&reader),
        owner = common::qi(&owner)
    ))
    .await;
    let privileges = || async {
        let row = db
            .admin
            .query_one(
                "SELECT c.relacl::text, pg_get_userbyid(c.relowner)::text,
                        (SELECT a.attacl::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'name')
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND c.relname = 'cheap_items'",
                &[&tenant.namespace()],
            )
            .await
            .unwrap();
        (
            row.get::<_, Option<String>>(0),
            row.get::<_, String>(1),
            row.get::<_, Option<String>>(2),
        )
    };
    let before = privileges().await;
    assert_eq!(before.1, owner);
    let target = db.target(&view(20)).await;
    let (_, plan) = engine.plan(&db.inspect(&tenant).await, &target).unwrap();
    assert!(
        plan.steps.iter().any(|s| matches!(
            &s.operation,
            schema_sync_core::plan::Operation::DropView { .. }
        )),
        "the view must be recreated for this test to mean anything"
    );
    sync_and_check(&engine, &db, &tenant, &target, "recreated view").await;
    assert_eq!(privileges().await, before);
    db.drop_tenant(&tenant).await.unwrap();
    db.sql(&format!(
        "DROP ROLE {}; DROP ROLE {};",
        common::qi(&reader),
        common::qi(&owner)
    ))
    .await;
}
