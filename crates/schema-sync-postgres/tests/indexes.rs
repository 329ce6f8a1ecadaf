//! Index key options (operator classes with parameters, collations, nulls order), unique
//! indexes with `NULLS NOT DISTINCT`, index storage parameters, access methods, `INCLUDE`
//! and partial indexes, foreign key options (`MATCH FULL`, `ON DELETE SET NULL (cols)`,
//! deferrable, `NOT VALID`), `NOT VALID` checks and materialized views with their indexes:
//! each is modelled, a clone matches its template, and each kind of drift (missing,
//! extra, changed) is found and fixed so that the tenant inspects like the target and
//! `pg_dump` prints it like the template.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::snapshot::{ForeignKeyAction, IndexPart, KeyOptions};
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{Engine, Hazard, Operation, SchemaSnapshot, TenantContext};

/// Rows that break the `NOT VALID` constraints are inserted before them: re-adding those
/// constraints as valid would fail.
const TEMPLATE: &str = r#"
CREATE TABLE owners (id int, key int, PRIMARY KEY (id, key));
CREATE TABLE docs (
    id int PRIMARY KEY,
    parent_id int,
    owner_id int,
    tenant_key int,
    body jsonb,
    title text,
    code varchar(20),
    rank int,
    created date,
    status int,
    search tsvector,
    ref_id int,
    CONSTRAINT docs_owner_fk FOREIGN KEY (owner_id, tenant_key) REFERENCES owners (id, key) MATCH FULL,
    CONSTRAINT docs_owner_set_fk FOREIGN KEY (owner_id, tenant_key) REFERENCES owners (id, key)
        ON DELETE SET NULL (owner_id)
);
INSERT INTO docs (id, ref_id, rank, title, code) VALUES (1, 999, -1, 'a', 'x'), (2, NULL, 3, 'b', NULL);
ALTER TABLE docs ADD CONSTRAINT docs_rank_check CHECK (rank >= 0) NOT VALID;
ALTER TABLE docs ADD CONSTRAINT docs_ref_nv_fk FOREIGN KEY (ref_id) REFERENCES docs (id) NOT VALID;
ALTER TABLE docs ADD CONSTRAINT docs_parent_fk FOREIGN KEY (parent_id) REFERENCES docs (id)
    DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX docs_body_idx ON docs USING gin (body jsonb_path_ops);
CREATE INDEX docs_title_pattern_idx ON docs (title text_pattern_ops);
CREATE INDEX docs_title_c_idx ON docs (title COLLATE "C");
CREATE INDEX docs_rank_idx ON docs (rank DESC NULLS LAST, created ASC NULLS FIRST);
CREATE UNIQUE INDEX docs_code_key ON docs (code) NULLS NOT DISTINCT;
CREATE INDEX docs_created_ff_idx ON docs (created) WITH (fillfactor = 70);
CREATE INDEX docs_title_incl_idx ON docs (title) INCLUDE (rank);
CREATE INDEX docs_partial_idx ON docs (rank) WHERE status IS NOT NULL;
CREATE INDEX docs_created_brin ON docs USING brin (created) WITH (pages_per_range = 16);
CREATE INDEX docs_code_hash ON docs USING hash (code);
CREATE INDEX docs_search_idx ON docs USING gist (search tsvector_ops (siglen = 100));
CREATE INDEX docs_expr_idx ON docs ((lower(title)) COLLATE "POSIX" text_pattern_ops DESC);
CREATE MATERIALIZED VIEW doc_ranks AS SELECT id, rank FROM docs;
CREATE UNIQUE INDEX doc_ranks_id_idx ON doc_ranks (id);
CREATE INDEX doc_ranks_rank_idx ON doc_ranks (rank DESC NULLS LAST) WITH (fillfactor = 80);
"#;

/// Syncs `tenant` to `target` ([`common::sync_and_check`]); it must also `pg_dump` like
/// `template`. Returns the plan's steps with their hazards.
async fn sync_and_check(
    engine: &Engine,
    db: &common::PgDb,
    tenant: &TenantContext,
    template: &TenantContext,
    target: &SchemaSnapshot,
    label: &str,
) -> Vec<(Operation, Vec<Hazard>)> {
    let first = common::sync_and_check(engine, db, tenant, target, label).await;
    assert_eq!(
        common::pg_dump_relative(tenant.namespace()),
        common::pg_dump_relative(template.namespace()),
        "{label}: pg_dump differs from the template's"
    );
    first
        .plan
        .steps
        .iter()
        .map(|s| (s.operation.clone(), s.hazards.clone()))
        .collect()
}

fn key(snapshot: &SchemaSnapshot, table: &str, index: &str, part: usize) -> (bool, KeyOptions) {
    let index = snapshot
        .tables
        .get(table)
        .and_then(|t| t.indexes.get(index))
        .or_else(|| snapshot.views.get(table).and_then(|v| v.indexes.get(index)))
        .unwrap_or_else(|| panic!("index {table}.{index}"));
    match &index.parts[part] {
        IndexPart::Column {
            descending,
            options,
            ..
        }
        | IndexPart::Expression {
            descending,
            options,
            ..
        } => (*descending, options.clone()),
    }
}

fn options(class: Option<&str>, collation: Option<&str>, nulls_first: Option<bool>) -> KeyOptions {
    KeyOptions {
        operator_class: class.map(str::to_string),
        collation: collation.map(str::to_string),
        nulls_first,
    }
}

#[tokio::test]
async fn index_options_foreign_key_options_and_matview_indexes_are_modelled() {
    let db = common::db().await;
    let target = db.target(TEMPLATE).await;
    assert!(
        target.unsupported.is_empty(),
        "nothing reported: {:?}",
        target.unsupported
    );
    let expected = [
        (
            "docs",
            "docs_body_idx",
            0,
            false,
            options(Some("jsonb_path_ops"), None, None),
        ),
        (
            "docs",
            "docs_title_pattern_idx",
            0,
            false,
            options(Some("text_pattern_ops"), None, None),
        ),
        (
            "docs",
            "docs_title_c_idx",
            0,
            false,
            options(None, Some("C"), None),
        ),
        (
            "docs",
            "docs_rank_idx",
            0,
            true,
            options(None, None, Some(false)),
        ),
        (
            "docs",
            "docs_rank_idx",
            1,
            false,
            options(None, None, Some(true)),
        ),
        (
            "docs",
            "docs_search_idx",
            0,
            false,
            options(Some("tsvector_ops(siglen='100')"), None, None),
        ),
        (
            "docs",
            "docs_expr_idx",
            0,
            true,
            options(Some("text_pattern_ops"), Some("POSIX"), None),
        ),
        ("docs", "docs_code_hash", 0, false, KeyOptions::default()),
        (
            "doc_ranks",
            "doc_ranks_rank_idx",
            0,
            true,
            options(None, None, Some(false)),
        ),
    ];
    for (table, index, part, descending, options) in expected {
        assert_eq!(
            key(&target, table, index, part),
            (descending, options),
            "{index} key {part}"
        );
    }
    let docs = &target.tables["docs"];
    assert!(docs.indexes["docs_code_key"].nulls_not_distinct);
    assert_eq!(
        docs.indexes["docs_created_ff_idx"].storage_parameters,
        [("fillfactor".to_string(), "70".to_string())].into()
    );
    assert_eq!(
        docs.indexes["docs_created_brin"].method.as_deref(),
        Some("brin")
    );
    assert_eq!(docs.indexes["docs_title_incl_idx"].include, ["rank"]);
    assert_eq!(
        docs.indexes["docs_partial_idx"].predicate.as_deref(),
        Some("(status IS NOT NULL)")
    );
    assert!(docs.foreign_keys["docs_owner_fk"].match_full);
    let set = &docs.foreign_keys["docs_owner_set_fk"];
    assert_eq!(
        (set.on_delete, set.delete_set_columns.as_slice()),
        (
            ForeignKeyAction::SetNull,
            ["owner_id".to_string()].as_slice()
        )
    );
    assert!(docs.foreign_keys["docs_ref_nv_fk"].not_valid);
    assert!(!docs.foreign_keys["docs_parent_fk"].not_valid);
    assert!(docs.checks["docs_rank_check"].not_valid);
    let ranks = &target.views["doc_ranks"];
    assert!(ranks.indexes["doc_ranks_id_idx"].unique);
    assert_eq!(ranks.indexes.len(), 2);

    // A clone inspects exactly like the target.
    let clone = db
        .create_tenant(&unique_tenant_id("idx_clone"), TEMPLATE)
        .await
        .unwrap();
    let inspected = db.inspect(&clone).await;
    db.drop_tenant(&clone).await.unwrap();
    assert_eq!(inspected, target);
}

#[tokio::test]
async fn missing_extra_and_changed_index_and_constraint_options_are_fixed() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let target = db.target(TEMPLATE).await;
    let template = db
        .create_tenant(&unique_tenant_id("idx_template"), TEMPLATE)
        .await
        .unwrap();
    let tenant = db
        .create_tenant(&unique_tenant_id("idx_drift"), TEMPLATE)
        .await
        .unwrap();
    let drifts = [
        // Missing.
        "DROP INDEX docs_body_idx",
        "DROP INDEX docs_search_idx",
        "DROP INDEX doc_ranks_id_idx",
        "ALTER TABLE docs DROP CONSTRAINT docs_owner_fk",
        "ALTER TABLE docs DROP CONSTRAINT docs_owner_set_fk",
        "ALTER TABLE docs DROP CONSTRAINT docs_rank_check",
        "ALTER TABLE docs DROP CONSTRAINT docs_ref_nv_fk",
        "DROP MATERIALIZED VIEW doc_ranks",
        // Extra.
        "CREATE INDEX stray_idx ON docs (code varchar_pattern_ops DESC NULLS LAST)",
        "CREATE INDEX doc_ranks_stray ON doc_ranks (rank)",
        "ALTER TABLE docs ADD CONSTRAINT stray_fk FOREIGN KEY (owner_id, tenant_key) REFERENCES owners MATCH FULL NOT VALID",
        "ALTER TABLE docs ADD CONSTRAINT stray_check CHECK (rank < 100) NOT VALID",
        // Changed.
        "DROP INDEX docs_title_pattern_idx; CREATE INDEX docs_title_pattern_idx ON docs (title)",
        "DROP INDEX docs_title_c_idx; CREATE INDEX docs_title_c_idx ON docs (title COLLATE \"POSIX\")",
        "DROP INDEX docs_rank_idx; CREATE INDEX docs_rank_idx ON docs (rank DESC, created)",
        "DROP INDEX docs_code_key; CREATE UNIQUE INDEX docs_code_key ON docs (code)",
        "ALTER INDEX docs_created_ff_idx SET (fillfactor = 90)",
        "DROP INDEX docs_search_idx; CREATE INDEX docs_search_idx ON docs USING gist (search tsvector_ops (siglen = 50))",
        "DROP INDEX docs_expr_idx; CREATE INDEX docs_expr_idx ON docs ((lower(title)) DESC)",
        "DROP INDEX docs_title_incl_idx; CREATE INDEX docs_title_incl_idx ON docs (title)",
        "DROP INDEX docs_partial_idx; CREATE INDEX docs_partial_idx ON docs (rank) WHERE status > 1",
        "DROP INDEX docs_code_hash; CREATE INDEX docs_code_hash ON docs (code)",
        "DROP INDEX docs_created_brin; CREATE INDEX docs_created_brin ON docs USING brin (created)",
        "ALTER TABLE docs DROP CONSTRAINT docs_owner_fk, ADD CONSTRAINT docs_owner_fk FOREIGN KEY (owner_id, tenant_key) REFERENCES owners",
        "ALTER TABLE docs DROP CONSTRAINT docs_owner_set_fk, ADD CONSTRAINT docs_owner_set_fk FOREIGN KEY (owner_id, tenant_key) REFERENCES owners ON DELETE SET NULL",
        "ALTER TABLE docs DROP CONSTRAINT docs_parent_fk, ADD CONSTRAINT docs_parent_fk FOREIGN KEY (parent_id) REFERENCES docs",
        "ALTER TABLE docs DROP CONSTRAINT docs_rank_check, ADD CONSTRAINT docs_rank_check CHECK (rank >= -5) NOT VALID",
        "DROP INDEX doc_ranks_rank_idx; CREATE INDEX doc_ranks_rank_idx ON doc_ranks (rank)",
        // The whole table, with its NOT VALID constraints, and the matview reading it.
        "DROP TABLE docs CASCADE",
    ];
    for drift in drifts {
        db.execute(&tenant, drift)
            .await
            .unwrap_or_else(|e| panic!("{drift}: {e}"));
        sync_and_check(&engine, &db, &tenant, &template, &target, drift).await;
    }
    db.drop_tenant(&tenant).await.unwrap();
    db.drop_tenant(&template).await.unwrap();
}

#[tokio::test]
async fn a_changed_materialized_view_is_recreated_with_its_indexes_and_flagged() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let target = db.target(TEMPLATE).await;
    let template = db
        .create_tenant(&unique_tenant_id("idx_mv_template"), TEMPLATE)
        .await
        .unwrap();
    let tenant = db
        .create_tenant(&unique_tenant_id("idx_mv"), TEMPLATE)
        .await
        .unwrap();
    db.execute(
        &tenant,
        "DROP MATERIALIZED VIEW doc_ranks;
         CREATE MATERIALIZED VIEW doc_ranks AS SELECT id, rank FROM docs WHERE rank > 0;
         CREATE UNIQUE INDEX doc_ranks_id_idx ON doc_ranks (id)",
    )
    .await
    .unwrap();
    let steps = sync_and_check(&engine, &db, &tenant, &template, &target, "matview").await;
    let rows = db.count(&tenant, "SELECT count(*) FROM doc_ranks").await;
    db.drop_tenant(&tenant).await.unwrap();
    db.drop_tenant(&template).await.unwrap();
    let flagged: Vec<String> = steps
        .iter()
        .filter(|(_, hazards)| hazards.contains(&Hazard::Repopulates))
        .map(|(op, _)| op.to_string())
        .collect();
    assert_eq!(flagged.len(), 2, "drop and create are flagged: {steps:?}");
    assert_eq!(rows, 2, "the recreated view is populated");
}

#[tokio::test]
async fn a_matview_dropped_around_an_enum_rebuild_gets_its_indexes_back() {
    let db = common::db().await;
    let engine = Engine::new(db.dyn_adapter());
    let from = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE people (id int PRIMARY KEY, mood mood NOT NULL);
        INSERT INTO people VALUES (1, 'ok'), (2, 'happy');
        CREATE MATERIALIZED VIEW moods AS SELECT id, mood FROM people;
        CREATE UNIQUE INDEX moods_id_idx ON moods (id) WITH (fillfactor = 60);
        CREATE INDEX moods_mood_idx ON moods (mood DESC NULLS LAST);";
    let to = from.replace("('sad', 'ok', 'happy')", "('happy', 'ok', 'sad')");
    let template = db
        .create_tenant(&unique_tenant_id("idx_enum_template"), &to)
        .await
        .unwrap();
    let tenant = db
        .create_tenant(&unique_tenant_id("idx_enum"), from)
        .await
        .unwrap();
    let target = db.target(&to).await;
    sync_and_check(&engine, &db, &tenant, &template, &target, "enum rebuild").await;
    let rows = db.count(&tenant, "SELECT count(*) FROM moods").await;
    db.drop_tenant(&tenant).await.unwrap();
    db.drop_tenant(&template).await.unwrap();
    assert_eq!(rows, 2);
}
