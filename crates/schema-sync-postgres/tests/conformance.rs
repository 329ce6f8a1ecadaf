//! The shared conformance suite of `schema-sync-core`, run against PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

schema_sync_core::conformance_tests! {
    database: common::db().await,
    template: common::RICH,
    template_rows: common::RICH_ROWS,
    changed: common::RICH_V2,
    destructive: (
        "CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL, name text);
         INSERT INTO users VALUES (1, 'a@example.com', 'Ann');",
        "CREATE TABLE users (id bigint PRIMARY KEY, name text);",
        "users.email",
    ),
    hostile: (
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
    ),
}
