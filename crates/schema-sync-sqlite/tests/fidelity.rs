//! Rebuild fidelity (issue #12): a rebuilt table reads, in `sqlite3 .schema`, like the
//! template that defines it: constraint names, declared type spelling, column order,
//! STRICT / WITHOUT ROWID, defaults, checks, foreign keys and generated columns.
//!
//! The independent check is the `sqlite3` shell's `.schema`, compared with the
//! template's own file with whitespace removed and nothing else normalised.

mod common;

use std::process::Command;

use common::SqliteFleet;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{DatabaseAdapter, Engine, SchemaSnapshot, SyncOptions, TenantContext};

const CUSTOMERS: &str = "
CREATE TABLE customers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email VARCHAR(255) NOT NULL COLLATE NOCASE,
    country CHAR(2) NOT NULL DEFAULT 'FR',
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT customers_email_unique UNIQUE (email),
    CONSTRAINT customers_country_check CHECK (length(country) = 2)
);";
const SUBSCRIPTIONS: &str = "
CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    referrer_id INTEGER REFERENCES customers (id) ON DELETE SET NULL,
    plan Text NOT NULL CHECK (plan IN ('free', 'pro', 'team')),
    Seats SmallInt NOT NULL DEFAULT 1,
    price_cents BigInt NOT NULL DEFAULT 0,
    total_cents INTEGER GENERATED ALWAYS AS (price_cents * Seats) VIRTUAL,
    starts_on DATE NOT NULL DEFAULT (date('now')),
    ends_on DATE,
    CONSTRAINT subscriptions_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT subscriptions_dates_check CHECK (ends_on IS NULL OR ends_on >= starts_on),
    CONSTRAINT subscriptions_price_non_negative CHECK (price_cents >= 0)
);
CREATE INDEX subscriptions_customer_idx ON subscriptions (customer_id, starts_on DESC);
CREATE TRIGGER subscriptions_touch AFTER UPDATE OF plan ON subscriptions
BEGIN
    UPDATE subscriptions SET ends_on = NULL WHERE id = NEW.id AND NEW.plan = 'free';
END;";
const PRICES: &str = "
CREATE TABLE plan_prices (
    plan TEXT NOT NULL,
    currency TEXT NOT NULL DEFAULT 'EUR',
    cents INTEGER NOT NULL,
    CONSTRAINT plan_prices_pk PRIMARY KEY (plan, currency)
) STRICT, WITHOUT ROWID;";

fn template() -> String {
    format!("{CUSTOMERS}{SUBSCRIPTIONS}{PRICES}")
}

const ROWS: &str = "
INSERT INTO customers (id, email, country) VALUES (1, 'a@example.com', 'FR'), (2, 'b@example.com', 'DE'), (3, 'c@example.com', 'IT');
DELETE FROM customers WHERE id = 3;
INSERT INTO subscriptions (id, customer_id, referrer_id, plan, Seats, price_cents, starts_on)
    VALUES (10, 1, NULL, 'pro', 3, 900, '2026-01-01'), (11, 2, 1, 'free', 1, 0, '2026-02-01');
INSERT INTO plan_prices (plan, currency, cents) VALUES ('pro', 'EUR', 900), ('team', 'USD', 2500);
";

/// `sqlite3 <file> .schema <table>`, with all whitespace removed.
fn schema(file: &std::path::Path, table: &str) -> String {
    let output = Command::new("/usr/bin/sqlite3")
        .arg(file)
        .arg(format!(".schema {table}"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run /usr/bin/sqlite3: {e}"));
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

async fn sync(fleet: &SqliteFleet, tenant: &TenantContext, target: &SchemaSnapshot) {
    Engine::new(fleet.sqlite())
        .sync_tenant(
            tenant,
            target,
            &SyncOptions::default()
                .with_execute(true)
                .with_allow_destructive(true),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// A tenant made of `ddl` (with the sample rows when `seed`), and the template's snapshot.
async fn setup(
    fleet: &SqliteFleet,
    name: &str,
    ddl: &str,
    seed: bool,
) -> (TenantContext, SchemaSnapshot) {
    let tenant = fleet
        .create_tenant(&tenant_id(name), ddl)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if seed {
        fleet
            .execute(&tenant, ROWS)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let reference = fleet
        .create_tenant(&tenant_id("template"), &template())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let target = fleet
        .sqlite()
        .inspector()
        .inspect(&reference)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (tenant, target)
}

fn rows(fleet: &SqliteFleet, tenant: &str) -> Vec<String> {
    let mut out = fleet.query_strings(
        tenant,
        "SELECT id, email, country, created_at FROM customers ORDER BY id",
    );
    out.extend(fleet.query_strings(
        tenant,
        "SELECT id, customer_id, referrer_id, plan, Seats, price_cents, total_cents, starts_on, ends_on FROM subscriptions ORDER BY id",
    ));
    out.extend(fleet.query_strings(
        tenant,
        "SELECT plan, currency, cents FROM plan_prices ORDER BY plan",
    ));
    out
}

#[tokio::test]
async fn rebuilt_tables_read_like_the_template() {
    let fleet = SqliteFleet::new();
    // Every table has a column the template dropped: each is rebuilt.
    let drifted = template()
        .replace(
            "    country CHAR(2)",
            "    legacy_ref TEXT,\n    country CHAR(2)",
        )
        .replace(
            "    ends_on DATE,",
            "    ends_on DATE,\n    legacy_note TEXT,",
        )
        .replace(
            "    cents INTEGER NOT NULL,",
            "    cents INTEGER NOT NULL,\n    legacy_flag INTEGER,",
        );
    let (tenant, target) = setup(&fleet, "drifted", &drifted, true).await;
    let before = rows(&fleet, "drifted");
    for table in ["customers", "subscriptions", "plan_prices"] {
        assert_ne!(
            schema(&fleet.file("drifted"), table),
            schema(&fleet.file("template"), table),
            "{table} starts out different"
        );
    }
    sync(&fleet, &tenant, &target).await;
    for table in ["customers", "subscriptions", "plan_prices"] {
        assert_eq!(
            schema(&fleet.file("drifted"), table),
            schema(&fleet.file("template"), table),
            "{table}"
        );
    }
    // The rows minus the dropped columns, and the AUTOINCREMENT mark of the deleted row 3.
    assert_eq!(rows(&fleet, "drifted"), before);
    assert_eq!(
        fleet.query_strings(
            "drifted",
            "SELECT seq FROM sqlite_sequence WHERE name = 'customers'"
        ),
        ["Integer(3)"]
    );
    assert_eq!(
        fleet.query_strings("drifted", "PRAGMA integrity_check"),
        ["Text(\"ok\")"]
    );
    assert!(
        fleet
            .query_strings("drifted", "PRAGMA foreign_key_check")
            .is_empty()
    );
}

#[tokio::test]
async fn a_rebuild_keeps_names_and_spelling_and_renders_only_the_change() {
    let fleet = SqliteFleet::new();
    // The template before it gained the price check: adding a check rebuilds.
    let older = template().replace(
        ",\n    CONSTRAINT subscriptions_price_non_negative CHECK (price_cents >= 0)",
        "",
    );
    let (tenant, target) = setup(&fleet, "older", &older, true).await;
    let before = rows(&fleet, "older");
    sync(&fleet, &tenant, &target).await;
    assert_eq!(
        schema(&fleet.file("older"), "subscriptions"),
        schema(&fleet.file("template"), "subscriptions")
    );
    assert_eq!(rows(&fleet, "older"), before);
}

#[tokio::test]
async fn a_created_table_keeps_constraint_names_order_and_options() {
    let fleet = SqliteFleet::new();
    let (tenant, target) = setup(
        &fleet,
        "fresh",
        "CREATE TABLE unrelated (id INTEGER PRIMARY KEY);",
        false,
    )
    .await;
    sync(&fleet, &tenant, &target).await;
    let subscriptions = schema(&fleet.file("fresh"), "subscriptions");
    for needle in [
        "CONSTRAINTsubscriptions_customer_fkFOREIGNKEY(customer_id)REFERENCEScustomers(id)ONDELETECASCADEDEFERRABLEINITIALLYDEFERRED",
        "CONSTRAINTsubscriptions_dates_checkCHECK(",
        "CHECK(planin('free','pro','team'))",
        // Columns in the template's order; `plan` is a keyword SQLite reads as a name.
        "CREATETABLEsubscriptions(idinteger,customer_idintegerNOTNULL,referrer_idinteger,plantextNOTNULL,SeatssmallintNOTNULL",
    ] {
        assert!(
            subscriptions.contains(needle),
            "{needle} not in {subscriptions}"
        );
    }
    let prices = schema(&fleet.file("fresh"), "plan_prices");
    assert!(
        prices.contains("CONSTRAINTplan_prices_pkPRIMARYKEY(plan,currency)"),
        "{prices}"
    );
    assert!(prices.ends_with("WITHOUTROWID,STRICT;"), "{prices}");
    assert!(
        schema(&fleet.file("fresh"), "customers")
            .contains("CONSTRAINTcustomers_email_uniqueUNIQUE(email)")
    );
}

#[tokio::test]
async fn a_foreign_key_that_lost_its_deferrability_is_drift_and_is_restored() {
    let fleet = SqliteFleet::new();
    let immediate = template().replace(" DEFERRABLE INITIALLY DEFERRED", "");
    let (tenant, target) = setup(&fleet, "immediate", &immediate, true).await;
    let live = fleet
        .sqlite()
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let diff = Engine::new(fleet.sqlite())
        .plan(&live, &target)
        .unwrap_or_else(|e| panic!("{e}"))
        .0;
    assert!(
        diff.to_text().contains("subscriptions_customer_fk"),
        "{}",
        diff.to_text()
    );
    let before = rows(&fleet, "immediate");
    sync(&fleet, &tenant, &target).await;
    assert_eq!(
        schema(&fleet.file("immediate"), "subscriptions"),
        schema(&fleet.file("template"), "subscriptions")
    );
    assert_eq!(rows(&fleet, "immediate"), before);
}
