//! Tenant-relative expressions against the real server: what a tenant's own objects say
//! about its own schema (sequences in defaults, functions in checks, index expressions
//! and predicates, tables in views and function bodies) never names that schema in a
//! snapshot, and lands on the synced tenant's own objects when applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{DatabaseAdapter, Engine, SyncOptions, TenantContext};

/// Objects that call the schema's own sequences, functions and tables everywhere an
/// expression can; `{schema}` is the tenant's own schema, as a function body written
/// for one tenant would name it.
const TEMPLATE: &str = r#"
CREATE SEQUENCE order_no;
CREATE TYPE order_state AS ENUM ('open', 'closed');
CREATE FUNCTION is_positive(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS $$ SELECT n > 0 $$;
CREATE FUNCTION normalize_code(t text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT lower(trim(t)) $$;
-- Shares the name of a built-in: PostgreSQL qualifies it unless the path puts it first.
CREATE FUNCTION btrim(t text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT pg_catalog.btrim(t, ' -') $$;
CREATE TABLE orders (
    id bigint PRIMARY KEY DEFAULT nextval('order_no'),
    code text NOT NULL CONSTRAINT orders_code_trimmed CHECK ({schema}.btrim(code) = code AND btrim(code) <> ''),
    total numeric(10,2) CONSTRAINT orders_total_positive CHECK (is_positive(total)),
    state order_state NOT NULL DEFAULT 'open'::order_state,
    norm text GENERATED ALWAYS AS (normalize_code(code)) STORED
);
CREATE TABLE lines (
    order_id bigint NOT NULL REFERENCES orders (id),
    line_no bigint NOT NULL DEFAULT nextval('order_no'::regclass),
    PRIMARY KEY (order_id, line_no)
);
CREATE INDEX orders_code_idx ON orders (normalize_code(code)) WHERE is_positive(total);
CREATE VIEW open_orders AS
    SELECT o.id, normalize_code(o.code) AS code, count(l.line_no) AS lines
    FROM orders o LEFT JOIN lines l ON l.order_id = o.id
    WHERE o.state = 'open' GROUP BY o.id, o.code;
CREATE FUNCTION order_total(order_id bigint) RETURNS numeric LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT total FROM orders WHERE id = order_id;
END;
CREATE FUNCTION order_count() RETURNS bigint LANGUAGE sql STABLE SET search_path FROM CURRENT
    AS $$ SELECT count(*) FROM orders $$;
CREATE FUNCTION line_count() RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM {schema}.lines WHERE nextval('{schema}.order_no') > 0);
END
$$;
CREATE FUNCTION stamp_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.line_no := nextval('order_no');
    RETURN NEW;
END
$$;
CREATE TRIGGER lines_stamp BEFORE INSERT ON lines FOR EACH ROW
    WHEN (is_positive(NEW.order_id)) EXECUTE FUNCTION stamp_line();
"#;

/// An older state of [`TEMPLATE`].
const DRIFTED: &str = "CREATE SEQUENCE order_no;
    CREATE TYPE order_state AS ENUM ('open', 'closed');
    CREATE FUNCTION is_positive(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE
        AS $$ SELECT n >= 0 $$;
    CREATE TABLE orders (id bigint PRIMARY KEY, code text NOT NULL, total numeric(10,2),
        state order_state NOT NULL DEFAULT 'open');";

/// A tenant made from `ddl` with `{schema}` replaced by its own schema.
async fn create(db: &common::PgDb, prefix: &str, ddl: &str) -> TenantContext {
    let id = unique_tenant_id(prefix);
    let schema = db.adapter.context(&id).unwrap().namespace().to_string();
    db.create_tenant(&id, &ddl.replace("{schema}", &schema))
        .await
        .unwrap()
}

/// `pg_dump --schema-only` of the tenant's schema.
fn dump(tenant: &TenantContext) -> String {
    let output = Command::new("pg_dump")
        .arg(format!("--dbname={}", common::url()))
        .args(["--schema-only", "--no-owner", "-n"])
        .arg(format!("\"{}\"", tenant.namespace()))
        .output()
        .expect("pg_dump must be installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn expressions_never_name_the_tenant_and_land_on_the_synced_tenant() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let template = create(&db, "rel_template", TEMPLATE).await;
    let clone = create(&db, "rel_clone", TEMPLATE).await;
    // Drifted: older versions of the functions, no index, no view, a different check.
    let drifted = create(&db, "rel_drifted", DRIFTED).await;
    let by_file = create(&db, "rel_file", DRIFTED).await;

    // `tenant:template`: the template's live snapshot is the target.
    let target = db.inspect(&template).await;
    let json = target.canonical_json();
    assert!(
        !json.contains(template.namespace()),
        "the snapshot names the template's schema: {json}"
    );
    assert!(target.unsupported.is_empty(), "{:?}", target.unsupported);
    let (diff, _) = engine.plan(&db.inspect(&clone).await, &target).unwrap();
    assert!(diff.is_empty(), "clone differs: {}", diff.to_text());

    let options = SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true);
    engine
        .sync_tenant(&drifted, &target, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (diff, _) = engine.plan(&db.inspect(&drifted).await, &target).unwrap();
    assert!(
        diff.is_empty(),
        "drifted tenant differs: {}",
        diff.to_text()
    );
    let text = dump(&drifted);
    assert!(text.contains("CREATE INDEX orders_code_idx"), "{text}");
    let leaks: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(template.namespace()))
        .collect();
    assert!(
        leaks.is_empty(),
        "the synced tenant references the template's schema:\n{}",
        leaks.join("\n")
    );
    // The synced tenant's objects work on its own data.
    db.execute(
        &drifted,
        "INSERT INTO orders (code, total) VALUES ('A1', 5); INSERT INTO lines (order_id) VALUES (1)",
    )
    .await
    .unwrap();
    assert_eq!(
        db.count(
            &drifted,
            "SELECT count(*) FROM open_orders WHERE code = 'a1' AND lines = 1"
        )
        .await,
        1
    );
    assert_eq!(db.count(&drifted, "SELECT order_count()").await, 1);
    assert_eq!(db.count(&drifted, "SELECT line_count()").await, 1);
    // The check calls the tenant's own btrim and the built-in one, as in the template.
    let refused = db
        .execute(
            &drifted,
            "INSERT INTO orders (code, total) VALUES ('-b2-', 5)",
        )
        .await;
    assert!(
        refused.is_err(),
        "the tenant's btrim must be the one checked"
    );

    // The same plan as a migration file, run by an ordinary session whose search_path
    // is the default one, lands on that tenant too.
    let (_, plan) = engine.plan(&db.inspect(&by_file).await, &target).unwrap();
    let file = db.adapter.runner().render(&by_file, &plan).await.unwrap();
    db.sql(&format!("BEGIN;\n{};\nCOMMIT", file.join(";\n")))
        .await;
    let (diff, _) = engine.plan(&db.inspect(&by_file).await, &target).unwrap();
    assert!(diff.is_empty(), "migration file: {}", diff.to_text());
    assert!(!dump(&by_file).contains(template.namespace()));
    for t in [&template, &clone, &drifted, &by_file] {
        db.drop_tenant(t).await.unwrap();
    }
}
