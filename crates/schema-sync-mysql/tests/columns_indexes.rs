//! Column and index attributes on the real server: `INVISIBLE`, `COMPRESSED` and
//! `ZEROFILL` columns; prefix, `FULLTEXT`, `SPATIAL`, ignored and descending indexes with
//! comments. A clone inspects equal to its template; a tenant missing, having extra or
//! differently defined columns and indexes is synced to the template (checked by the
//! model and by `mariadb-dump`); a strict column reorder keeps every attribute; and a
//! plan that would drop a system-versioned or partitioned table is refused.

mod common;

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use schema_sync_core::snapshot::IndexPart;
use schema_sync_core::{
    DatabaseAdapter, Engine, Error, Result, SchemaSnapshot, SyncOptions, TenantContext,
};

/// Every attribute of this slice, on a table that stays empty (a NOT NULL geometry
/// column cannot be added to a table with rows), and one with rows.
const TEMPLATE: &str = r#"
CREATE TABLE docs (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  code INT(6) UNSIGNED ZEROFILL NOT NULL DEFAULT 42,
  title VARCHAR(200) NOT NULL,
  body TEXT NULL,
  archive BLOB COMPRESSED NULL,
  secret VARCHAR(40) NULL INVISIBLE COMMENT 'hidden',
  place GEOMETRY NOT NULL,
  rank_no INT NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY ix_title_prefix (title(20)) COMMENT 'first twenty',
  FULLTEXT KEY ft_body (body) COMMENT 'search',
  SPATIAL KEY sp_place (place),
  KEY ix_rank_ignored (rank_no) IGNORED,
  KEY ix_rank_desc (rank_no DESC, id),
  UNIQUE KEY uq_title_commented (title) COMMENT 'one per title'
);
CREATE TABLE ledger (
  id INT NOT NULL,
  amount DECIMAL(8,2) UNSIGNED ZEROFILL NOT NULL,
  memo TEXT COMPRESSED NULL,
  audit VARCHAR(20) NULL INVISIBLE DEFAULT 'none',
  PRIMARY KEY (id)
);
"#;

fn engine(db: &common::MysqlTestDb) -> Engine {
    let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
    Engine::new(adapter)
}

fn destructive() -> SyncOptions {
    SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true)
}

/// Syncs `tenant` to `target`, then checks that it inspects equal to the target, dumps
/// equal to `template` and that a second sync has nothing to do.
async fn sync_and_check(
    db: &common::MysqlTestDb,
    template: &TenantContext,
    tenant: &TenantContext,
    target: &SchemaSnapshot,
    options: &SyncOptions,
) -> Result<()> {
    let engine = engine(db);
    let outcome = engine.sync_tenant(tenant, target, options).await?;
    assert!(!outcome.already_in_sync, "the tenant differed");
    assert!(outcome.execution.is_some());
    let after = db.inspect(tenant).await;
    assert_eq!(
        after,
        *target,
        "{}",
        engine.plan(&after, target)?.0.to_text()
    );
    assert_eq!(
        common::mariadb_dump(tenant.namespace()),
        common::mariadb_dump(template.namespace())
    );
    let again = engine.sync_tenant(tenant, target, options).await?;
    assert!(again.already_in_sync, "{}", again.plan.steps.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_inspects_equal_with_every_attribute_modelled() {
    let db = common::db().await;
    let template = db.tenant("colidx_tmpl", TEMPLATE).await;
    let clone = db.tenant("colidx_clone", TEMPLATE).await;
    let target = db.inspect(&template).await;
    let copy = db.inspect(&clone).await;
    db.cleanup(&clone).await;
    db.cleanup(&template).await;
    assert_eq!(copy, target);
    assert!(
        target.unsupported.is_empty(),
        "nothing is left unmodelled: {:?}",
        target.unsupported
    );
    let docs = &target.tables["docs"];
    let code = &docs.columns["code"].data_type;
    assert!(code.zerofill && code.unsigned);
    assert_eq!(code.length, Some(6));
    assert!(docs.columns["archive"].compressed);
    assert!(docs.columns["secret"].invisible);
    assert!(!docs.columns["title"].invisible && !docs.columns["title"].compressed);
    let ledger = &target.tables["ledger"];
    assert!(ledger.columns["amount"].data_type.zerofill);
    assert!(ledger.columns["memo"].compressed && ledger.columns["audit"].invisible);

    let index = |name: &str| &docs.indexes[name];
    assert_eq!(
        index("ix_title_prefix").comment.as_deref(),
        Some("first twenty")
    );
    assert!(matches!(
        index("ix_title_prefix").parts[0],
        IndexPart::Column {
            prefix_length: Some(20),
            ..
        }
    ));
    assert_eq!(index("ft_body").method.as_deref(), Some("fulltext"));
    assert_eq!(index("ft_body").comment.as_deref(), Some("search"));
    assert_eq!(index("sp_place").method.as_deref(), Some("spatial"));
    assert!(matches!(
        index("sp_place").parts[0],
        IndexPart::Column {
            prefix_length: None,
            ..
        }
    ));
    assert!(index("ix_rank_ignored").invisible);
    assert!(matches!(
        index("ix_rank_desc").parts[0],
        IndexPart::Column {
            descending: true,
            ..
        }
    ));
    // A commented unique key is an index: a unique constraint has no comment here.
    assert!(index("uq_title_commented").unique);
    assert!(!docs.uniques.contains_key("uq_title_commented"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_extra_and_changed_columns_and_indexes_are_fixed() {
    let db = common::db().await;
    let template = db.tenant("colidx_tmpl", TEMPLATE).await;
    // Missing: place, sp_place, ix_title_prefix, ledger.audit. Extra: junk, ix_extra.
    // Changed: code (no ZEROFILL), archive (not COMPRESSED), secret (visible),
    // ft_body (comment), ix_rank_ignored (visible), ix_rank_desc (ascending),
    // uq_title_commented (no comment), memo (no longer COMPRESSED, now INVISIBLE).
    let tenant = db
        .tenant(
            "colidx_drift",
            "CREATE TABLE docs (
               id INT UNSIGNED NOT NULL AUTO_INCREMENT,
               code INT UNSIGNED NOT NULL DEFAULT 42,
               title VARCHAR(200) NOT NULL,
               body TEXT NULL,
               archive BLOB NULL,
               secret VARCHAR(40) NULL COMMENT 'hidden',
               rank_no INT NOT NULL DEFAULT 0,
               junk INT NULL INVISIBLE,
               PRIMARY KEY (id),
               FULLTEXT KEY ft_body (body) COMMENT 'old search',
               KEY ix_rank_ignored (rank_no),
               KEY ix_rank_desc (rank_no, id),
               KEY ix_extra (body(5)) COMMENT 'extra',
               UNIQUE KEY uq_title_commented (title)
             );
             CREATE TABLE ledger (
               id INT NOT NULL,
               amount DECIMAL(8,2) UNSIGNED ZEROFILL NOT NULL,
               memo TEXT NULL INVISIBLE,
               PRIMARY KEY (id)
             );
             INSERT INTO ledger (id, amount, memo) VALUES (1, 12.5, 'kept');",
        )
        .await;
    let result: Result<()> = async {
        let target = db.inspect(&template).await;
        let live = db.inspect(&tenant).await;
        let (diff, _) = engine(&db).plan(&live, &target)?;
        let text = diff.to_text();
        for expected in [
            "place",
            "sp_place",
            "ix_title_prefix",
            "audit",
            "junk",
            "ix_extra",
            "zerofill",
            "not compressed -> compressed",
            "not invisible -> invisible",
            "visible -> invisible",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
        sync_and_check(&db, &template, &tenant, &target, &destructive()).await?;
        let memo: Option<String> = admin_value(
            &db,
            &format!(
                "SELECT memo FROM `{}`.ledger WHERE id = 1",
                tenant.namespace()
            ),
        )
        .await?;
        assert_eq!(memo.as_deref(), Some("kept"), "rows survive the changes");
        Ok(())
    }
    .await;
    finish(&db, &[&tenant, &template], result).await;
}

/// `TINYINT(1)` is what `BOOLEAN` means, and what drivers read as a boolean: a tenant
/// whose flag is a plain `TINYINT` (or whose plain one is `TINYINT(1)`) differs from the
/// template, and the sync fixes both without being destructive and without touching the
/// values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_boolean_column_is_told_apart_from_a_tinyint_and_synced_without_loss() {
    let db = common::db().await;
    let template = db
        .tenant(
            "colidx_bool_tmpl",
            "CREATE TABLE flags (id INT PRIMARY KEY, active BOOLEAN NOT NULL DEFAULT TRUE, \
             level TINYINT NOT NULL DEFAULT 0);",
        )
        .await;
    let tenant = db
        .tenant(
            "colidx_bool",
            "CREATE TABLE flags (id INT PRIMARY KEY, active TINYINT NOT NULL DEFAULT 1, \
             level TINYINT(1) NOT NULL DEFAULT 0); INSERT INTO flags VALUES (1, 1, 7);",
        )
        .await;
    let target = db.inspect(&template).await;
    let checked = async {
        let options = SyncOptions::default().with_execute(true);
        sync_and_check(&db, &template, &tenant, &target, &options).await?;
        let mut conn = mysql_async::Conn::new(
            mysql_async::Opts::from_url(&common::url())
                .map_err(|e| Error::config(e.to_string()))?,
        )
        .await
        .map_err(|e| Error::config(e.to_string()))?;
        let row: Option<(i64, i64)> = conn
            .query_first(format!(
                "SELECT active, level FROM `{}`.flags WHERE id = 1",
                tenant.namespace()
            ))
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        Ok::<_, Error>(row)
    }
    .await;
    db.cleanup(&tenant).await;
    db.cleanup(&template).await;
    assert_eq!(
        target.tables["flags"].columns["active"]
            .data_type
            .to_string(),
        "tinyint(1)"
    );
    assert_eq!(checked.unwrap_or_else(|e| panic!("{e}")), Some((1, 7)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_reorder_keeps_invisible_compressed_and_zerofill_columns() {
    let db = common::db().await;
    let template = db.tenant("colidx_tmpl", TEMPLATE).await;
    // Same columns and attributes as the template, in another order, with rows.
    let tenant = db
        .tenant(
            "colidx_order",
            "CREATE TABLE docs (
               place GEOMETRY NOT NULL,
               secret VARCHAR(40) NULL INVISIBLE COMMENT 'hidden',
               rank_no INT NOT NULL DEFAULT 0,
               archive BLOB COMPRESSED NULL,
               id INT UNSIGNED NOT NULL AUTO_INCREMENT,
               body TEXT NULL,
               title VARCHAR(200) NOT NULL,
               code INT(6) UNSIGNED ZEROFILL NOT NULL DEFAULT 42,
               PRIMARY KEY (id),
               KEY ix_title_prefix (title(20)) COMMENT 'first twenty',
               FULLTEXT KEY ft_body (body) COMMENT 'search',
               SPATIAL KEY sp_place (place),
               KEY ix_rank_ignored (rank_no) IGNORED,
               KEY ix_rank_desc (rank_no DESC, id),
               UNIQUE KEY uq_title_commented (title) COMMENT 'one per title'
             );
             CREATE TABLE ledger (
               audit VARCHAR(20) NULL INVISIBLE DEFAULT 'none',
               memo TEXT COMPRESSED NULL,
               amount DECIMAL(8,2) UNSIGNED ZEROFILL NOT NULL,
               id INT NOT NULL,
               PRIMARY KEY (id)
             );
             INSERT INTO docs (place, secret, archive, title, code)
               VALUES (POINT(1, 2), 's', 'zipped', 't', 7);
             INSERT INTO ledger (audit, memo, amount, id) VALUES ('a', 'm', 3.5, 1);",
        )
        .await;
    let result: Result<()> = async {
        let target = db.inspect(&template).await;
        let live = db.inspect(&tenant).await;
        let (diff, _) = engine(&db).plan(&live, &target)?;
        assert!(diff.is_in_sync(false), "only the order differs");
        assert!(!diff.is_in_sync(true));
        let options = destructive().with_strict_column_order(true);
        sync_and_check(&db, &template, &tenant, &target, &options).await?;
        let row: Option<String> = admin_value(
            &db,
            &format!(
                "SELECT CONCAT_WS('|', code, secret, archive, title, ST_AsText(place)) \
                 FROM `{}`.docs",
                tenant.namespace()
            ),
        )
        .await?;
        assert_eq!(row.as_deref(), Some("000007|s|zipped|t|POINT(1 2)"));
        let ledger: Option<String> = admin_value(
            &db,
            &format!(
                "SELECT CONCAT_WS('|', audit, memo, amount) FROM `{}`.ledger",
                tenant.namespace()
            ),
        )
        .await?;
        assert_eq!(ledger.as_deref(), Some("a|m|000003.50"));
        Ok(())
    }
    .await;
    finish(&db, &[&tenant, &template], result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_versioned_or_partitioned_table_is_refused() {
    let db = common::db().await;
    for (prefix, extra, kind, table) in [
        (
            "colidx_versioned",
            "CREATE TABLE history (id INT NOT NULL) WITH SYSTEM VERSIONING;",
            "system versioning",
            "history",
        ),
        (
            "colidx_parted",
            "CREATE TABLE parts (id INT NOT NULL) PARTITION BY HASH (id) PARTITIONS 2;",
            "partitioning",
            "parts",
        ),
    ] {
        let tenant = db
            .tenant(
                prefix,
                &format!("CREATE TABLE kept (id INT NOT NULL PRIMARY KEY); {extra}"),
            )
            .await;
        let result: Result<()> = async {
            let target = db
                .target("CREATE TABLE kept (id INT NOT NULL PRIMARY KEY);")
                .await;
            let live = db.inspect(&tenant).await;
            assert!(
                live.unsupported
                    .iter()
                    .any(|u| u.kind == kind && u.parent.as_deref() == Some(table)),
                "{kind} of {table} is reported as hanging off it: {:?}",
                live.unsupported
            );
            match engine(&db)
                .sync_tenant(&tenant, &target, &destructive())
                .await
            {
                Err(Error::Unsupported {
                    object, message, ..
                }) => {
                    assert_eq!(object, format!("{kind} {table}"));
                    assert!(
                        message.contains(&format!("drop table {table}")),
                        "{message}"
                    );
                }
                other => panic!("dropping {table} was not refused: {other:?}"),
            }
            assert!(
                db.inspect(&tenant).await.tables.contains_key(table),
                "nothing was changed"
            );
            Ok(())
        }
        .await;
        finish(&db, &[&tenant], result).await;
    }
}

/// Drops the test's databases, then fails the test if `result` is an error.
async fn finish(db: &common::MysqlTestDb, tenants: &[&TenantContext], result: Result<()>) {
    for tenant in tenants {
        db.cleanup(tenant).await;
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The first column of the first row of `sql`, run on the admin pool.
async fn admin_value(db: &common::MysqlTestDb, sql: &str) -> Result<Option<String>> {
    let mut conn = db
        .admin
        .get_conn()
        .await
        .map_err(|e| Error::config(e.to_string()))?;
    conn.query_first(sql)
        .await
        .map_err(|e| Error::config(e.to_string()))
}
