//! Inspection against the real server: every object kind, tenant-relative, batched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use schema_sync_core::snapshot::{
    DataType, Deferrable, ForeignKeyAction, Identity, IndexPart, UnsupportedObject,
};
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{ConnectOptions, DatabaseAdapter, Error, SchemaInspector};

#[tokio::test]
async fn rich_template_is_modelled_tenant_relative() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(&unique_tenant_id("insp_rich"), common::RICH)
        .await
        .unwrap();
    let s = db.inspect(&tenant).await;
    db.drop_tenant(&tenant).await.unwrap();

    let json = s.canonical_json();
    assert!(
        !json.contains(tenant.namespace()),
        "the tenant's schema leaked into its snapshot: {json}"
    );

    let customers = &s.tables["customers"];
    let email = &customers.columns["email"];
    assert_eq!(email.data_type.schema.as_deref(), Some(common::SHARED));
    assert_eq!(email.comment.as_deref(), Some("login, it's lower-case"));
    assert_eq!(customers.columns["id"].identity, Some(Identity::Always));
    assert_eq!(customers.columns["name"].collation.as_deref(), Some("C"));
    assert_eq!(
        customers.columns["score"].data_type,
        DataType::named("double precision")
    );
    assert_eq!(
        customers.columns["span"].data_type.name,
        "interval day to second"
    );
    assert_eq!(customers.columns["span"].data_type.precision, Some(2));
    assert_eq!(customers.comment.as_deref(), Some("people who buy"));
    let country = &customers.foreign_keys["customers_country_fkey"];
    assert_eq!(country.referenced_schema.as_deref(), Some(common::SHARED));
    assert_eq!(
        customers.foreign_keys["customers_referrer_id_fkey"].on_delete,
        ForeignKeyAction::SetNull
    );
    // Indexes backing constraints are not separate indexes.
    assert!(customers.indexes.is_empty());
    assert!(customers.uniques.contains_key("customers_email_key"));

    let orders = &s.tables["orders"];
    assert_eq!(
        orders.columns["id"].default.as_deref(),
        Some("nextval('orders_id_seq'::regclass)")
    );
    assert_eq!(
        s.sequences["orders_id_seq"].owned_by.as_deref(),
        Some("orders.id")
    );
    assert!(
        !s.sequences.contains_key("orders_seq_no_seq"),
        "identity sequences belong to their column"
    );
    assert_eq!(
        orders.columns["total"].data_type,
        DataType::named("numeric").with_precision(10, Some(2))
    );
    assert_eq!(
        orders.columns["notes"].data_type,
        DataType::named("varchar").with_length(200)
    );
    assert_eq!(orders.columns["tags"].data_type.array_dimensions, 1);
    assert_eq!(orders.columns["matrix"].data_type.array_dimensions, 2);
    assert_eq!(orders.columns["history"].data_type.name, "order_status");
    assert_eq!(orders.columns["history"].data_type.schema, None);
    assert_eq!(
        orders.columns["status"].default.as_deref(),
        Some("'new'::order_status")
    );
    let tax = orders.columns["tax"].generated.as_ref().unwrap();
    assert!(tax.stored && tax.expression.contains("total"));
    assert_eq!(orders.columns["seq_no"].identity, Some(Identity::ByDefault));
    let fk = &orders.foreign_keys["orders_customer_fk"];
    assert_eq!(
        (fk.on_delete, fk.on_update, fk.deferrable),
        (
            ForeignKeyAction::Cascade,
            ForeignKeyAction::Restrict,
            Deferrable::InitiallyDeferred
        )
    );
    let open = &orders.indexes["orders_open_idx"];
    assert_eq!(
        open.predicate.as_deref(),
        Some("(status <> 'shipped'::order_status)")
    );
    let lower = &orders.indexes["orders_lower_notes_idx"];
    assert!(matches!(
        &lower.parts[0],
        IndexPart::Expression {
            descending: true,
            ..
        }
    ));
    let invoice = &orders.indexes["orders_invoice_idx"];
    assert!(invoice.unique);
    assert_eq!(invoice.include, vec!["total".to_string()]);
    assert_eq!(
        orders.indexes["orders_tags_idx"].method.as_deref(),
        Some("gin")
    );
    assert!(
        orders.triggers["orders_touch"]
            .definition
            .contains("ON orders ")
    );

    let lines = &s.tables["order_lines"];
    assert_eq!(
        lines.primary_key.as_ref().unwrap().columns,
        vec!["order_id".to_string(), "line_no".to_string()]
    );
    assert!(lines.uniques["order_lines_sku_key"].nulls_not_distinct);
    assert_eq!(
        lines.columns["sku"].data_type,
        DataType::named("char").with_length(8)
    );

    assert_eq!(
        s.enums["order_status"].values,
        vec!["new", "paid", "shipped", "it's done"]
    );
    assert_eq!(s.sequences["invoice_numbers"].increment, 5);
    assert_eq!(
        s.sequences["invoice_numbers"].data_type,
        DataType::named("integer")
    );
    let big = &s.views["big_paid_orders"];
    assert!(big.depends_on.contains("paid_orders"));
    assert!(s.views["order_totals"].materialized);
    assert_eq!(
        s.views["paid_orders"].comment.as_deref(),
        Some("orders that were paid")
    );
    assert!(s.functions.contains_key("order_count(customer bigint)"));
    assert!(
        s.functions["touch_updated_at()"]
            .definition
            .starts_with("CREATE OR REPLACE FUNCTION touch_updated_at()")
    );
    assert!(s.unsupported.is_empty(), "{:?}", s.unsupported);
}

#[tokio::test]
async fn unmodelled_objects_are_reported() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(
            &unique_tenant_id("insp_unsup"),
            "CREATE TABLE base_rooms (id int);
             CREATE TABLE kid_rooms () INHERITS (base_rooms);
             CREATE TABLE rooms (id int PRIMARY KEY, during int4range, label text,
                 EXCLUDE USING gist (during WITH &&));
             CREATE RULE rooms_no_delete AS ON DELETE TO rooms DO INSTEAD NOTHING;
             CREATE POLICY rooms_read ON rooms USING (true);
             ALTER TABLE rooms ENABLE ROW LEVEL SECURITY;
             CREATE INDEX rooms_label_idx ON rooms (label text_pattern_ops);
             COMMENT ON INDEX rooms_pkey IS 'the model keeps key comments on the constraint';",
        )
        .await
        .unwrap();
    let s = db.inspect(&tenant).await;
    db.drop_tenant(&tenant).await.unwrap();
    let kinds: Vec<&str> = s.unsupported.iter().map(|o| o.kind.as_str()).collect();
    for kind in [
        "table inheritance",
        "exclusion constraint",
        "rule",
        "comment",
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind} missing from {:?}",
            s.unsupported
        );
    }
    assert!(s.unsupported.contains(&UnsupportedObject::dependent_of(
        "rule",
        "rooms.rooms_no_delete",
        "rooms"
    )));
    // Row-level security and policies are modelled (tests/rls.rs).
    assert!(s.tables["rooms"].options.row_security);
    assert!(s.tables["rooms"].policies.contains_key("rooms_read"));
    // The exclusion constraint's index is not an index of the model.
    assert!(!s.tables["rooms"].indexes.keys().any(|k| k.contains("excl")));
}

#[tokio::test]
async fn inspect_many_is_aligned_and_isolates_a_missing_schema() {
    let db = common::db().await;
    let mut tenants = Vec::new();
    for i in 0..6 {
        let ddl = format!(
            "CREATE TABLE t{i} (id serial PRIMARY KEY, v varchar({}) DEFAULT 'x');",
            i + 1
        );
        tenants.push(
            db.create_tenant(&unique_tenant_id("insp_many"), &ddl)
                .await
                .unwrap(),
        );
    }
    let missing = db
        .adapter
        .context(&unique_tenant_id("insp_missing"))
        .unwrap();
    let mut batch = tenants.clone();
    batch.insert(3, missing);
    let results = db.adapter.inspect_many(&batch).await;
    assert_eq!(results.len(), batch.len());
    for (i, (tenant, result)) in batch.iter().zip(&results).enumerate() {
        if i == 3 {
            let err = result.as_ref().unwrap_err();
            assert_eq!(err.tenant(), Some(tenant.id()));
            assert!(err.to_string().contains("does not exist"), "{err}");
            continue;
        }
        let snapshot = result.as_ref().unwrap();
        let single = db.inspect(tenant).await;
        assert_eq!(snapshot, &single);
        assert_eq!(snapshot.tables.len(), 1);
        assert!(snapshot.sequences.values().all(|s| s.owned_by.is_some()));
    }
    for t in &tenants {
        db.drop_tenant(t).await.unwrap();
    }
}

#[tokio::test]
async fn tenants_are_schemas_without_system_ones_and_public() {
    let db = common::db().await;
    let id = unique_tenant_id("insp_list");
    let tenant = db.create_tenant(&id, "").await.unwrap();
    let listed = db.adapter.list_tenants().await.unwrap();
    db.drop_tenant(&tenant).await.unwrap();
    assert!(listed.iter().any(|name| name == id.as_str()));
    assert!(listed.windows(2).all(|w| w[0] <= w[1]), "sorted");
    for system in ["public", "pg_catalog", "information_schema", "pg_toast"] {
        assert!(
            !listed.iter().any(|t| t.as_str() == system),
            "{system} listed"
        );
    }
    assert_eq!(db.adapter.context(&id).unwrap().namespace(), id.as_str());
    assert_eq!(
        db.adapter
            .context(&tenant_id("public"))
            .unwrap()
            .namespace(),
        "public"
    );
    assert!(matches!(
        db.adapter.context(&tenant_id("pg_catalog")),
        Err(Error::Config { .. })
    ));
}

#[tokio::test]
async fn target_from_sql_reports_the_database_error_with_its_position() {
    let db = common::db().await;
    let err = db
        .adapter
        .snapshot_from_sql("CREATE TABLE a (id int);\nCREATE TABLE b (id nosuchtype);")
        .await
        .unwrap_err();
    let Error::Target { message, .. } = &err else {
        panic!("expected a target error, got {err:?}");
    };
    assert!(
        message.contains("type \"nosuchtype\" does not exist"),
        "{message}"
    );
    assert!(message.contains("line 2, column 20"), "{message}");

    let err = db
        .adapter
        .snapshot_from_sql("CREATE TABLE a (id int); COMMIT; CREATE TABLE b (id int);")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Target { .. }), "{err:?}");
    // Nothing was left behind by either attempt.
    let leftovers: i64 = db
        .admin
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'schema\\_sync\\_scratch\\_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn read_only_role_that_only_reads_the_catalog_can_inspect() {
    let db = common::db().await;
    let tenant = db
        .create_tenant(&unique_tenant_id("insp_ro"), common::RICH)
        .await
        .unwrap();
    let expected = db.inspect(&tenant).await;
    let role = unique_tenant_id("ro_role").as_str().to_lowercase();
    db.sql(&format!("CREATE ROLE {} LOGIN", common::qi(&role)))
        .await;
    let base = common::url();
    let (scheme, rest) = base.split_once("://").unwrap();
    let host_part = rest.split_once('@').map(|(_, h)| h).unwrap_or(rest);
    let url = format!("{scheme}://{role}@{host_part}");
    let options = ConnectOptions::default()
        .with_max_connections(2)
        .with_read_only(true);
    let result = async {
        let adapter = schema_sync_postgres::connect(&url, &options).await?;
        let snapshot = adapter.inspect(&tenant).await?;
        let lock = adapter
            .runner()
            .acquire_lock(&tenant, &Default::default())
            .await
            .err();
        let target = adapter
            .snapshot_from_sql("CREATE TABLE x (id int)")
            .await
            .err();
        Ok::<_, Error>((snapshot, lock, target))
    }
    .await;
    db.drop_tenant(&tenant).await.unwrap();
    db.sql(&format!("DROP ROLE {}", common::qi(&role))).await;
    let (snapshot, lock, target) = result.unwrap();
    assert_eq!(snapshot, expected);
    assert!(matches!(lock, Some(Error::Lock { .. })), "{lock:?}");
    assert!(matches!(target, Some(Error::Target { .. })), "{target:?}");
}

#[tokio::test]
async fn unreachable_server_is_a_connection_error_without_the_password() {
    let err = schema_sync_postgres::connect(
        "postgres://someone:s3cr3t@127.0.0.1:1/db?connect_timeout=2",
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    let text = format!("{err}");
    assert!(matches!(err, Error::Connection { .. }), "{err:?}");
    assert!(
        !text.contains("s3cr3t") && !format!("{err:?}").contains("s3cr3t"),
        "{text}"
    );
    assert!(text.contains("someone:***@127.0.0.1:1"), "{text}");

    let err = schema_sync_postgres::connect("mysql://root@127.0.0.1/x", &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
}

#[tokio::test]
async fn tls_modes_connect_to_the_local_server() {
    let base = common::url();
    let separator = if base.contains('?') { '&' } else { '?' };
    for mode in ["disable", "prefer"] {
        let url = format!("{base}{separator}sslmode={mode}");
        let adapter = schema_sync_postgres::connect(&url, &ConnectOptions::default())
            .await
            .unwrap_or_else(|e| panic!("sslmode={mode}: {e}"));
        adapter.list_tenants().await.unwrap();
    }
}

#[tokio::test]
async fn unmodelled_dependents_name_the_table_or_view_they_hang_off() {
    let db = common::db().await;
    let ddl = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, price numeric(8,2));
         CREATE MATERIALIZED VIEW item_totals AS SELECT name, sum(price) AS total FROM items GROUP BY name;
         CREATE UNIQUE INDEX item_totals_name ON item_totals (name);
         CREATE VIEW cheap_items AS SELECT id, name FROM items WHERE price < 10;
         ALTER VIEW cheap_items ALTER COLUMN name SET DEFAULT 'unnamed';
         COMMENT ON COLUMN cheap_items.name IS 'shown to buyers';
         CREATE RULE cheap_items_delete AS ON DELETE TO cheap_items DO INSTEAD
             DELETE FROM items WHERE id = OLD.id;
         CREATE FUNCTION cheap_items_insert() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN INSERT INTO items VALUES (NEW.id, NEW.name, 1); RETURN NEW; END $$;
         CREATE TRIGGER cheap_items_insert INSTEAD OF INSERT ON cheap_items
             FOR EACH ROW EXECUTE FUNCTION cheap_items_insert();
         CREATE STATISTICS items_stats (dependencies) ON name, price FROM items;";
    let tenant = db
        .create_tenant(&unique_tenant_id("insp_dep"), ddl)
        .await
        .unwrap();
    let clone = db
        .create_tenant(&unique_tenant_id("insp_dep"), ddl)
        .await
        .unwrap();
    let s = db.inspect(&tenant).await;
    let clone_snapshot = db.inspect(&clone).await;
    let target = db.target(ddl).await;
    db.drop_tenant(&tenant).await.unwrap();
    db.drop_tenant(&clone).await.unwrap();

    assert!(s.views["item_totals"].indexes["item_totals_name"].unique);
    for expected in [
        UnsupportedObject::dependent_of("rule", "cheap_items.cheap_items_delete", "cheap_items"),
        UnsupportedObject::dependent_of(
            "trigger on a view",
            "cheap_items.cheap_items_insert",
            "cheap_items",
        ),
        UnsupportedObject::dependent_of("statistics object", "items: items_stats", "items"),
    ] {
        assert!(
            s.unsupported.contains(&expected),
            "{expected:?} missing from {:#?}",
            s.unsupported
        );
    }
    assert!(
        s.unsupported
            .iter()
            .any(|o| o.kind == "default value" && o.parent.as_deref() == Some("cheap_items")),
        "{:#?}",
        s.unsupported
    );
    // A comment on a view column is modelled, not a dependent.
    assert_eq!(
        s.views["cheap_items"].column_comments.get("name"),
        Some(&"shown to buyers".to_string())
    );
    assert!(
        !s.unsupported.iter().any(|o| o.kind == "comment"),
        "{:#?}",
        s.unsupported
    );
    // Nothing of the tenant's schema name leaks into a name, and equal unmodelled objects
    // are no drift: a clone and the target loaded from the same SQL inspect equal.
    let text = s.canonical_json();
    assert!(!text.contains(tenant.namespace()), "{text}");
    assert_eq!(s, clone_snapshot);
    assert_eq!(s, target);
}

#[tokio::test]
async fn a_realistic_template_with_a_matview_index_diffs_clean_against_its_clone() {
    let db = common::db().await;
    let engine = schema_sync_core::Engine::new(db.dyn_adapter());
    let ddl = format!(
        "{}\nCREATE UNIQUE INDEX order_totals_customer ON order_totals (customer_id);",
        common::RICH
    );
    let template = db
        .create_tenant(&unique_tenant_id("insp_mvidx"), &ddl)
        .await
        .unwrap();
    let clone = db
        .create_tenant(&unique_tenant_id("insp_mvidx"), &ddl)
        .await
        .unwrap();
    let (t, c) = (db.inspect(&template).await, db.inspect(&clone).await);
    db.drop_tenant(&template).await.unwrap();
    db.drop_tenant(&clone).await.unwrap();
    assert!(t.unsupported.is_empty(), "{:?}", t.unsupported);
    assert!(t.views["order_totals"].indexes["order_totals_customer"].unique);
    let (diff, plan) = engine.plan(&c, &t).unwrap();
    assert!(diff.is_empty(), "{}", diff.to_text());
    assert!(plan.steps.is_empty() && plan.unresolved.is_empty());
}
