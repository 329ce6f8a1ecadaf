//! The shared adapter conformance suite, on real SQLite files.

mod common;

use common::{SqliteFleet, TEMPLATE};
use schema_sync_core::testing::conformance;

const SMALL: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);";
const SMALL_TARGET: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', score REAL); CREATE INDEX t_name ON t (name);";

schema_sync_core::conformance_tests! {
    database: SqliteFleet::new(),
    template: TEMPLATE,
    template_rows: "INSERT INTO orgs (name) VALUES ('acme'); INSERT INTO users (org_id, email) VALUES (1, 'a@acme.test');",
    changed: SMALL_TARGET,
    destructive: (SMALL_TARGET, SMALL, "drop column t.score"),
    hostile: (SMALL, SMALL_TARGET),
}

#[tokio::test]
async fn clone_of_template_diffs_empty() {
    let fleet = SqliteFleet::new();
    let snapshot = conformance::clone_of_template_diffs_empty(&fleet, TEMPLATE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(snapshot.tables.len(), 4);
    assert_eq!(snapshot.views.len(), 2);
    assert!(snapshot.unsupported.is_empty());
}

#[tokio::test]
async fn sync_converges_from_empty_and_from_drift() {
    let fleet = SqliteFleet::new();
    conformance::sync_converges(&fleet, "", "", TEMPLATE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    conformance::sync_converges(
        &fleet,
        SMALL,
        "INSERT INTO t VALUES (1, 'a'), (2, 'b');",
        SMALL_TARGET,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    conformance::sync_converges(&fleet, TEMPLATE, "", SMALL)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn template_snapshot_models_every_object() {
    use schema_sync_core::DatabaseAdapter;
    let fleet = SqliteFleet::new();
    let snapshot = fleet
        .sqlite()
        .snapshot_from_sql(TEMPLATE)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(&snapshot).unwrap_or_default();
    check_template_details(&json);
}

/// Spot checks of the inspected template: every detail the pragmas and DDL carry.
fn check_template_details(json: &serde_json::Value) {
    let users = &json["tables"]["users"];
    assert_eq!(users["columns"]["email"]["type"]["name"], "varchar");
    assert_eq!(users["columns"]["email"]["type"]["length"], 255);
    assert_eq!(users["columns"]["balance"]["type"]["precision"], 10);
    assert_eq!(users["columns"]["balance"]["default"], "0");
    assert_eq!(
        users["columns"]["email_domain"]["generated"]["expression"],
        "substr(email, instr(email, '@') + 1)"
    );
    assert_eq!(
        users["columns"]["email_domain"]["generated"]["stored"],
        false
    );
    assert_eq!(
        users["checks"]["balance_non_negative"]["expression"],
        "balance >= 0"
    );
    assert_eq!(
        users["foreign_keys"]["users_org_id_fkey"]["on_delete"],
        "cascade"
    );
    assert_eq!(
        users["foreign_keys"]["users_manager_id_fkey"]["referenced_table"],
        "users"
    );
    assert_eq!(users["indexes"]["users_email_idx"]["unique"], true);
    assert_eq!(
        users["indexes"]["users_email_idx"]["parts"][0]["expression"]["sql"],
        "lower(email)"
    );
    assert_eq!(
        users["indexes"]["users_org_idx"]["predicate"],
        "manager_id is not null"
    );
    assert_eq!(
        users["indexes"]["users_org_idx"]["parts"][1]["column"]["descending"],
        true
    );
    assert!(
        users["triggers"]["users_audit"]["definition"]
            .as_str()
            .is_some_and(|d| d.starts_with("create trigger users_audit"))
    );
    let orgs = &json["tables"]["orgs"];
    assert_eq!(orgs["columns"]["id"]["identity"], "auto_increment");
    assert_eq!(orgs["columns"]["name"]["collation"], "nocase");
    assert_eq!(
        orgs["columns"]["created_at"]["default"],
        "current_timestamp"
    );
    assert_eq!(orgs["uniques"]["orgs_name_key"]["columns"][0], "name");
    assert_eq!(
        json["tables"]["memberships"]["options"]["without_rowid"],
        true
    );
    assert_eq!(
        json["tables"]["memberships"]["primary_key"]["columns"],
        serde_json::json!(["user_id", "org_id"])
    );
    assert_eq!(json["tables"]["events"]["options"]["strict"], true);
    assert_eq!(
        json["views"]["pro_users"]["depends_on"],
        serde_json::json!(["active_users", "orgs"])
    );
}
