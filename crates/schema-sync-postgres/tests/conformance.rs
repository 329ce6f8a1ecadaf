//! The shared conformance suite of `schema-sync-core`, run against PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::testing::conformance;

#[tokio::test]
async fn clone_of_template_diffs_empty() {
    let db = common::db().await;
    conformance::clone_of_template_diffs_empty(&db, common::RICH)
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_creates_everything_from_nothing() {
    let db = common::db().await;
    conformance::sync_converges(&db, "", "", common::RICH)
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_changes_every_kind_of_object_with_rows_in_place() {
    let db = common::db().await;
    conformance::sync_converges(&db, common::RICH, common::RICH_ROWS, common::RICH_V2)
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_back_from_the_changed_schema() {
    let db = common::db().await;
    conformance::sync_converges(&db, common::RICH_V2, "", common::RICH)
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_drops_everything() {
    let db = common::db().await;
    conformance::sync_converges(&db, common::RICH, common::RICH_ROWS, "")
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_of_an_equal_schema_is_a_no_op() {
    let db = common::db().await;
    conformance::sync_converges(&db, common::RICH, common::RICH_ROWS, common::RICH)
        .await
        .unwrap();
}

#[tokio::test]
async fn destructive_change_is_refused() {
    let db = common::db().await;
    conformance::destructive_change_is_refused(
        &db,
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);
         INSERT INTO users VALUES (1, 'a@example.com', 'Ann');",
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
        "users.email",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn hostile_tenant_names_are_safe() {
    let db = common::db().await;
    conformance::hostile_tenant_names_are_safe(
        &db,
        "CREATE TABLE notes (id int PRIMARY KEY, body text);",
        r#"
        CREATE TYPE "mood ""x""" AS ENUM ('o''k', 'sad');
        CREATE TABLE notes (
            id serial PRIMARY KEY,
            body text NOT NULL DEFAULT 'it''s',
            "mood ""x""" "mood ""x""",
            parent_id int REFERENCES notes (id)
        );
        CREATE INDEX "notes.body idx" ON notes (lower(body)) WHERE body <> '';
        CREATE VIEW "a view" AS SELECT id, body FROM notes;
        CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER notes_stamp BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION stamp();
        COMMENT ON TABLE notes IS 'x''; DROP TABLE notes; --';
        "#,
    )
    .await
    .unwrap();
}
