//! Inspection against the real server: server quirks folded, tenant-relative snapshots,
//! unmodelled objects reported, batches aligned, tenants discovered.

mod common;

use schema_sync_core::snapshot::{ForeignKeyAction, Identity};
use schema_sync_core::testing::conformance::unique_tenant_id;
use schema_sync_core::{ConnectOptions, DatabaseAdapter, Error, TenantId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_quirks_are_normalised() {
    let db = common::db().await;
    let tenant = db
        .tenant(
            "quirks",
            r#"CREATE TABLE q (
                 id INT(11) NOT NULL AUTO_INCREMENT PRIMARY KEY,
                 big BIGINT(20) UNSIGNED NULL,
                 s VARCHAR(10) NULL DEFAULT 'abc',
                 n INT NULL DEFAULT NULL,
                 implicit INT NULL,
                 literal_null VARCHAR(4) NULL DEFAULT 'NULL',
                 ts TIMESTAMP NOT NULL DEFAULT current_timestamp() ON UPDATE now(),
                 dt DATETIME(6) NULL DEFAULT NOW(6),
                 expr INT NULL DEFAULT (1 + 2),
                 doc JSON NULL,
                 flag BOOL NOT NULL DEFAULT FALSE,
                 CONSTRAINT chk_q CHECK (n > 0)
               ) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;"#,
        )
        .await;
    let snapshot = db.inspect(&tenant).await;
    db.cleanup(&tenant).await;
    let q = &snapshot.tables["q"];
    let col = |name: &str| &q.columns[name];
    assert_eq!(col("id").data_type.to_string(), "integer");
    assert_eq!(col("id").identity, Some(Identity::AutoIncrement));
    assert_eq!(col("big").data_type.to_string(), "bigint unsigned");
    assert_eq!(col("s").default.as_deref(), Some("'abc'"));
    assert_eq!(col("n").default, None);
    assert_eq!(col("implicit").default, None);
    assert_eq!(col("literal_null").default.as_deref(), Some("'NULL'"));
    assert_eq!(col("ts").default.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert_eq!(col("ts").on_update.as_deref(), Some("CURRENT_TIMESTAMP"));
    assert_eq!(col("dt").default.as_deref(), Some("CURRENT_TIMESTAMP(6)"));
    assert_eq!(col("dt").data_type.precision, Some(6));
    assert_eq!(col("expr").default.as_deref(), Some("(1 + 2)"));
    assert_eq!(col("doc").data_type.to_string(), "json");
    assert_eq!(col("doc").collation, None);
    assert_eq!(
        col("flag").data_type.to_string(),
        "tinyint(1)",
        "BOOL is TINYINT(1)"
    );
    assert_eq!(col("flag").default.as_deref(), Some("0"));
    assert_eq!(col("s").collation, None, "same as the table default");
    assert_eq!(
        q.checks.keys().collect::<Vec<_>>(),
        vec!["chk_q"],
        "the JSON check is folded into the type"
    );
    assert_eq!(q.options.engine.as_deref(), Some("InnoDB"));
    assert_eq!(q.options.charset.as_deref(), Some("utf8mb4"));
    assert_eq!(q.options.collation.as_deref(), Some("utf8mb4_general_ci"));
    assert!(
        snapshot.unsupported.is_empty(),
        "{:?}",
        snapshot.unsupported
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_tenant_relative() {
    let db = common::db().await;
    let shared = db
        .tenant("shared", "CREATE TABLE ref (id INT PRIMARY KEY);")
        .await;
    let ddl = |db_name: &str| {
        let q = format!("`{}`", db_name.replace('`', "``"));
        let s = format!("`{}`", shared.namespace().replace('`', "``"));
        format!(
            "CREATE TABLE p (id INT PRIMARY KEY, ext INT NULL, \
               CONSTRAINT fk_ext FOREIGN KEY (ext) REFERENCES {s}.ref (id) ON DELETE RESTRICT); \
             CREATE TABLE c (id INT PRIMARY KEY, p_id INT NULL, \
               CONSTRAINT fk_c_p FOREIGN KEY (p_id) REFERENCES {q}.p (id) ON DELETE SET NULL); \
             CREATE TABLE log (n INT NULL); \
             CREATE VIEW v AS SELECT p.id, c.id AS c_id FROM {q}.p JOIN {q}.c ON c.p_id = p.id; \
             CREATE TRIGGER trg AFTER INSERT ON c FOR EACH ROW INSERT INTO {q}.log VALUES (NEW.id);"
        )
    };
    let id_a = unique_tenant_id("rel_a");
    let id_b = unique_tenant_id("rel_b");
    let a = db.adapter.context(&id_a).unwrap_or_else(|e| panic!("{e}"));
    let b = db.adapter.context(&id_b).unwrap_or_else(|e| panic!("{e}"));
    let made_a = common_create(&db, &id_a, &ddl(a.namespace())).await;
    let made_b = common_create(&db, &id_b, &ddl(b.namespace())).await;
    let sa = db.inspect(&made_a).await;
    let sb = db.inspect(&made_b).await;
    for t in [&made_a, &made_b, &shared] {
        db.cleanup(t).await;
    }
    assert_eq!(sa.hash(), sb.hash());
    let json = sa.canonical_json();
    assert!(!json.contains(a.namespace()), "{json}");
    let fk = &sa.tables["c"].foreign_keys["fk_c_p"];
    assert_eq!(fk.referenced_schema, None);
    assert_eq!(fk.on_delete, ForeignKeyAction::SetNull);
    let ext = &sa.tables["p"].foreign_keys["fk_ext"];
    assert_eq!(ext.referenced_schema.as_deref(), Some(shared.namespace()));
    assert_eq!(
        ext.on_delete,
        ForeignKeyAction::NoAction,
        "RESTRICT is the default"
    );
    assert_eq!(
        sa.views["v"].depends_on.iter().collect::<Vec<_>>(),
        vec!["c", "p"]
    );
    assert!(
        sa.tables["c"].triggers["trg"]
            .definition
            .contains("INSERT INTO log")
    );
}

async fn common_create(
    db: &common::MysqlTestDb,
    id: &TenantId,
    ddl: &str,
) -> schema_sync_core::TenantContext {
    use schema_sync_core::testing::conformance::TestDatabase;
    db.create_tenant(id, ddl)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{ddl}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmodelled_objects_are_reported() {
    let db = common::db().await;
    let tenant = db
        .tenant(
            "unsup",
            "CREATE TABLE t (id INT PRIMARY KEY, z INT(5) ZEROFILL NULL, hidden INT INVISIBLE NULL, \
               KEY ix_z (z) COMMENT 'why') CHECKSUM=1; \
             CREATE TABLE parts (id INT NOT NULL) PARTITION BY HASH (id) PARTITIONS 2; \
             CREATE TABLE versioned (id INT) WITH SYSTEM VERSIONING; \
             CREATE SEQUENCE seq; \
             CREATE PROCEDURE proc() SELECT 1; \
             CREATE FUNCTION fn() RETURNS INT DETERMINISTIC RETURN 1; \
             CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DO SELECT 1; \
             CREATE SQL SECURITY INVOKER VIEW iv AS SELECT id FROM t; \
             CREATE ALGORITHM = MERGE VIEW mv AS SELECT id FROM t; \
             CREATE TRIGGER trg_one BEFORE INSERT ON t FOR EACH ROW SET NEW.z = 1; \
             CREATE TRIGGER trg_two BEFORE INSERT ON t FOR EACH ROW SET NEW.z = 2;",
        )
        .await;
    let snapshot = db.inspect(&tenant).await;
    db.cleanup(&tenant).await;
    let found: Vec<(String, String)> = snapshot
        .unsupported
        .iter()
        .map(|u| (u.kind.clone(), u.name.clone()))
        .collect();
    for (kind, name) in [
        ("partitioning", "parts"),
        ("system versioning", "versioned"),
        ("table option", "t: checksum=1"),
        ("view option", "iv: sql security invoker"),
        ("view option", "mv: algorithm merge"),
        ("trigger order", "t.trg_two: BEFORE INSERT trigger number 2"),
    ] {
        assert!(
            found.contains(&(kind.to_string(), name.to_string())),
            "{kind} {name} not reported in {found:?}"
        );
    }
    // Sequences, routines and events are modelled, not reported.
    assert!(snapshot.sequences.contains_key("seq"));
    assert!(
        snapshot.functions.contains_key("fn") && snapshot.functions.contains_key("procedure proc")
    );
    assert!(snapshot.events.contains_key("ev"));
    assert!(
        !found.iter().any(
            |(kind, _)| ["sequence", "procedure", "function", "event"].contains(&kind.as_str())
        ),
        "{found:?}"
    );
    // ZEROFILL, INVISIBLE and index comments are modelled, not reported.
    let t = &snapshot.tables["t"];
    assert!(t.columns["z"].data_type.zerofill && t.columns["hidden"].invisible);
    assert_eq!(t.indexes["ix_z"].comment.as_deref(), Some("why"));
    // View options vanish when the view is recreated, partitions and history when the
    // table is: they name the view or table as parent, so the engine refuses to drop or
    // recreate it.
    let parents: Vec<(&str, Option<&str>)> = snapshot
        .unsupported
        .iter()
        .filter(|u| {
            matches!(
                u.kind.as_str(),
                "view option" | "partitioning" | "system versioning"
            )
        })
        .map(|u| (u.name.as_str(), u.parent.as_deref()))
        .collect();
    assert_eq!(
        parents,
        [
            ("parts", Some("parts")),
            ("versioned", Some("versioned")),
            ("iv: sql security invoker", Some("iv")),
            ("mv: algorithm merge", Some("mv")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_align_and_tenants_are_discovered() {
    let db = common::db().await;
    let a = db
        .tenant("batch_a", "CREATE TABLE a (id INT PRIMARY KEY);")
        .await;
    let b = db
        .tenant("batch_b", "CREATE TABLE b (id INT PRIMARY KEY);")
        .await;
    let missing = db
        .adapter
        .context(&unique_tenant_id("batch_missing"))
        .unwrap_or_else(|e| panic!("{e}"));
    let results = db
        .adapter
        .inspector()
        .inspect_many(&[b.clone(), a.clone(), missing.clone(), b.clone()])
        .await;
    let listed = db.adapter.list_tenants().await;
    db.cleanup(&a).await;
    db.cleanup(&b).await;
    assert_eq!(results.len(), 4);
    let tables = |i: usize| match &results[i] {
        Ok(s) => s.tables.keys().cloned().collect::<Vec<_>>(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(tables(0), vec!["b"]);
    assert_eq!(tables(1), vec!["a"]);
    assert_eq!(tables(3), vec!["b"]);
    match &results[2] {
        Err(e) => {
            assert_eq!(e.tenant(), Some(missing.id()));
            assert!(e.to_string().contains("does not exist"), "{e}");
        }
        Ok(_) => panic!("a missing database inspected fine"),
    }
    let listed = listed.unwrap_or_else(|e| panic!("{e}"));
    assert!(listed.contains(&a.id().to_string()) && listed.contains(&b.id().to_string()));
    for system in ["mysql", "sys", "information_schema", "performance_schema"] {
        assert!(!listed.iter().any(|t| t.as_str() == system));
    }
    assert!(
        !listed
            .iter()
            .any(|t| t.as_str().starts_with("schema_sync_scratch_"))
    );
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(listed, sorted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_reject_system_databases() {
    let db = common::db().await;
    for bad in ["mysql", "INFORMATION_SCHEMA", "trailing "] {
        let id = TenantId::new(bad).unwrap_or_else(|e| panic!("{e}"));
        match db.adapter.context(&id) {
            Err(Error::Config { message }) => assert!(message.contains(bad), "{message}"),
            other => panic!("{bad}: expected a config error, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_adapters_inspect_but_never_write() {
    let writer = common::db().await;
    let tenant = writer
        .tenant("ro", "CREATE TABLE t (id INT PRIMARY KEY);")
        .await;
    let reader = common::db_with(
        ConnectOptions::default()
            .with_max_connections(1)
            .with_read_only(true),
    )
    .await;
    let inspected = reader.adapter.inspector().inspect(&tenant).await;
    let lock = reader
        .adapter
        .runner()
        .acquire_lock(&tenant, &Default::default())
        .await;
    let target = reader
        .adapter
        .snapshot_from_sql("CREATE TABLE x (id INT);")
        .await;
    writer.cleanup(&tenant).await;
    match inspected {
        Ok(s) => assert!(s.tables.contains_key("t")),
        Err(e) => panic!("{e}"),
    }
    assert!(matches!(lock, Err(Error::Config { .. })));
    assert!(matches!(target, Err(Error::Config { .. })));
}
