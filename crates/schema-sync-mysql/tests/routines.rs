//! Stored functions and procedures, events, sequences and table create options on the
//! real server: a fleet template with all of them; a clone diffs empty (whatever its
//! `AUTO_INCREMENT` counter and sequence position); every missing, extra and changed
//! object is found and fixed by one sync, after which the tenant inspects equal to the
//! template, `mariadb-dump --no-data` of both is the same, the catalog rows of their
//! routines and events are the same, and a second sync is a no-op.

mod common;

use std::sync::Arc;

use mysql_async::prelude::Queryable;
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{
    DatabaseAdapter, Engine, Error, Result, SchemaSnapshot, SyncOptions, Target, TenantContext,
};

use common::MysqlTestDb;

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The fleet's schema in database `db`: the procedure names its own database, as authors
/// do, and a function and a procedure share a name.
fn fleet_ddl(db: &str) -> String {
    let q = quote(db);
    format!(
        r#"
CREATE SEQUENCE invoice_seq START WITH 100 INCREMENT BY 10 MINVALUE 1 MAXVALUE 999999
  CACHE 5 NOCYCLE COMMENT 'invoice numbers';
CREATE TABLE invoices (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  number BIGINT NOT NULL DEFAULT nextval(invoice_seq),
  amount INT NOT NULL DEFAULT 0
) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8 STATS_PERSISTENT=1 AUTO_INCREMENT=50;
CREATE TABLE audit_log (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note VARCHAR(100) NULL
) ENGINE=Aria TRANSACTIONAL=1 PAGE_CHECKSUM=1;
CREATE FUNCTION invoice_total(p_min INT) RETURNS BIGINT
  DETERMINISTIC READS SQL DATA COMMENT 'sum of invoices'
  RETURN (SELECT COALESCE(SUM(amount), 0) FROM {q}.invoices WHERE amount >= p_min);
CREATE FUNCTION label(p_name VARCHAR(20)) RETURNS VARCHAR(40) NO SQL
  RETURN concat('<', p_name, '>');
CREATE PROCEDURE add_invoice(IN p_amount INT, OUT p_id INT)
MODIFIES SQL DATA SQL SECURITY INVOKER
BEGIN
  INSERT INTO {q}.invoices (amount) VALUES (p_amount);
  SET p_id = LAST_INSERT_ID();
  INSERT INTO audit_log (note) VALUES (label(p_amount));
END;
CREATE PROCEDURE invoice_total(INOUT p_total BIGINT) READS SQL DATA
  SET p_total = invoice_total(p_total);
CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 03:00:00'
  ON COMPLETION PRESERVE DISABLE COMMENT 'nightly purge'
  DO DELETE FROM {q}.audit_log WHERE id < 0;
"#
    )
}

async fn create(db: &MysqlTestDb, prefix: &str, ddl: impl Fn(&str) -> String) -> TenantContext {
    let id = unique_tenant_id(prefix);
    let namespace = match db.adapter.context(&id) {
        Ok(ctx) => ctx.namespace().to_string(),
        Err(e) => panic!("{e}"),
    };
    match db.create_tenant(&id, &ddl(&namespace)).await {
        Ok(tenant) => tenant,
        Err(e) => panic!("create {id}: {e}"),
    }
}

/// `mariadb-dump --no-data` of `database` ([`common::mariadb_dump_in_server_order`]),
/// without the sequence positions it still holds (`DO SETVAL(...)`: data).
fn dump(database: &str) -> String {
    common::mariadb_dump_in_server_order(database)
        .lines()
        .filter(|line| !line.starts_with("DO SETVAL("))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The catalog's own rows for the routines, parameters and events of `database`, without
/// definer and timestamps, with qualifiers naming the database itself removed and its
/// name replaced: an independent check of what the sync created.
async fn programs(db: &MysqlTestDb, database: &str) -> Result<Vec<String>> {
    let mut conn = db
        .admin
        .get_conn()
        .await
        .map_err(|e| Error::config(e.to_string()))?;
    let mut rows: Vec<String> = Vec::new();
    let queries = [
        "SELECT CONCAT_WS('|', ROUTINE_TYPE, ROUTINE_NAME, DTD_IDENTIFIER, ROUTINE_DEFINITION, \
         IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT) \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
        "SELECT CONCAT_WS('|', ROUTINE_TYPE, SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, \
         PARAMETER_NAME, DTD_IDENTIFIER, CHARACTER_SET_NAME) \
         FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ?",
        "SELECT CONCAT_WS('|', EVENT_NAME, TIME_ZONE, EVENT_DEFINITION, EVENT_TYPE, \
         INTERVAL_VALUE, INTERVAL_FIELD, STARTS, ENDS, STATUS, ON_COMPLETION, SQL_MODE, \
         EVENT_COMMENT) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
    ];
    for sql in queries {
        let found: Vec<String> = conn
            .exec(sql, (database,))
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        // A body that names its own database is stored tenant-relative: the copy reads
        // `invoices` where the template's author wrote `db`.invoices.
        let own = format!("{}.", quote(database));
        rows.extend(
            found
                .into_iter()
                .map(|r| r.replace(&own, "").replace(database, "DB")),
        );
    }
    rows.sort();
    Ok(rows)
}

/// Syncs `tenant` to `target` and checks the result three ways, then that a second sync
/// is a no-op. `expect` names objects the first diff must mention.
async fn sync_and_check(
    db: &MysqlTestDb,
    engine: &Engine,
    template: &TenantContext,
    target: &SchemaSnapshot,
    tenant: &TenantContext,
    expect: &[&str],
) -> Result<()> {
    let options = SyncOptions::default()
        .with_execute(true)
        .with_allow_destructive(true);
    let drifted = db.inspect(tenant).await;
    let (diff, _) = engine.plan(&drifted, target)?;
    let text = diff.to_text();
    for name in expect {
        assert!(text.contains(name), "the diff misses {name}:\n{text}");
    }
    let first = engine.sync_tenant(tenant, target, &options).await?;
    assert!(!first.already_in_sync, "nothing to do for {tenant}");
    let live = db.inspect(tenant).await;
    assert_eq!(
        &live, target,
        "{tenant} does not inspect equal to the template"
    );
    assert_eq!(
        dump(tenant.namespace()),
        dump(template.namespace()),
        "mariadb-dump differs for {tenant}"
    );
    assert_eq!(
        programs(db, tenant.namespace()).await?,
        programs(db, template.namespace()).await?,
        "routines or events differ for {tenant}"
    );
    let second = engine.sync_tenant(tenant, target, &options).await?;
    assert!(
        second.already_in_sync,
        "second sync of {tenant} not a no-op:\n{}",
        second.diff.to_text()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routines_events_sequences_and_options_are_inspected_and_synced() {
    let db = common::db().await;
    let template = create(&db, "rtntmpl", fleet_ddl).await;
    let clone = create(&db, "rtnclone", fleet_ddl).await;
    let empty = create(&db, "rtnempty", |_| String::new()).await;
    let drifted = create(&db, "rtndrift", |db| {
        let q = quote(db);
        // Missing: the function label and the event. Extra: a function, a procedure, an
        // event and a sequence. Changed: a function body and comment, a procedure's
        // parameters, the sequence, every table option.
        format!(
            r#"
CREATE SEQUENCE invoice_seq START WITH 1 INCREMENT BY 1 CACHE 1000 COMMENT 'old';
CREATE SEQUENCE stray_seq;
CREATE TABLE invoices (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  number BIGINT NOT NULL DEFAULT nextval(invoice_seq),
  amount INT NOT NULL DEFAULT 0
) ENGINE=InnoDB ROW_FORMAT=DYNAMIC STATS_PERSISTENT=0 STATS_SAMPLE_PAGES=12;
CREATE TABLE audit_log (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  note VARCHAR(100) NULL
) ENGINE=Aria TRANSACTIONAL=0;
CREATE FUNCTION invoice_total(p_min INT) RETURNS BIGINT
  DETERMINISTIC READS SQL DATA COMMENT 'old comment'
  RETURN (SELECT COALESCE(SUM(amount), 0) FROM {q}.invoices WHERE amount > p_min);
CREATE FUNCTION stray() RETURNS INT RETURN 1;
CREATE PROCEDURE add_invoice(IN p_amount BIGINT)
MODIFIES SQL DATA
  INSERT INTO invoices (amount) VALUES (p_amount);
CREATE PROCEDURE invoice_total(INOUT p_total BIGINT) READS SQL DATA
  SET p_total = invoice_total(p_total);
CREATE PROCEDURE stray_proc() SELECT 1;
CREATE EVENT stray_event ON SCHEDULE AT '2035-01-01 00:00:00' DISABLE DO SELECT 1;
"#
        )
    })
    .await;
    let result: Result<()> = async {
        let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
        let engine = Engine::new(adapter);
        let target = engine
            .resolve_target(&Target::Tenant(template.id().clone()))
            .await?;
        assert!(
            target.unsupported.is_empty(),
            "reported as unsupported: {:?}",
            target.unsupported
        );
        assert!(!format!("{target:?}").contains(template.namespace()));
        let keys: Vec<&str> = target.functions.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "invoice_total",
                "label",
                "procedure add_invoice",
                "procedure invoice_total"
            ]
        );
        let total = &target.functions["invoice_total"];
        assert_eq!(total.comment.as_deref(), Some("sum of invoices"));
        assert!(
            total.definition.contains(
                "CREATE FUNCTION `invoice_total`(`p_min` int(11)) RETURNS bigint(20) \
                 DETERMINISTIC READS SQL DATA SQL SECURITY DEFINER"
            ),
            "{}",
            total.definition
        );
        let add = &target.functions["procedure add_invoice"].definition;
        assert!(
            add.contains("(IN `p_amount` int(11), OUT `p_id` int(11))")
                && add.contains("MODIFIES SQL DATA SQL SECURITY INVOKER")
                && add.contains("INSERT INTO invoices"),
            "{add}"
        );
        let event = &target.events["purge_audit"].definition;
        assert!(
            event.contains(
                "ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 03:00:00' ON COMPLETION PRESERVE \
                 DISABLE COMMENT 'nightly purge' DO DELETE FROM audit_log"
            ),
            "{event}"
        );
        let seq = &target.sequences["invoice_seq"];
        assert_eq!(
            (
                seq.start,
                seq.increment,
                seq.min_value,
                seq.max_value,
                seq.cache,
                seq.cycle
            ),
            (100, 10, 1, 999_999, 5, false)
        );
        assert_eq!(seq.comment.as_deref(), Some("invoice numbers"));
        let invoices = &target.tables["invoices"].options;
        assert_eq!(invoices.row_format.as_deref(), Some("COMPRESSED"));
        assert_eq!(
            (invoices.key_block_size, invoices.stats_persistent),
            (Some(8), Some(true))
        );
        let audit = &target.tables["audit_log"].options;
        assert_eq!(
            (
                audit.engine.as_deref(),
                audit.transactional,
                audit.page_checksum
            ),
            (Some("Aria"), Some(true), Some(true))
        );
        assert_eq!(
            target.tables["invoices"].columns["number"]
                .default
                .as_deref(),
            Some("nextval(`invoice_seq`)")
        );

        // A clone that has been used (counter and sequence moved on) is in sync.
        db.run(&clone, "CALL add_invoice(5, @id)").await;
        let dry = SyncOptions::default().with_execute(false);
        let outcome = engine.sync_tenant(&clone, &target, &dry).await?;
        assert!(
            outcome.already_in_sync,
            "the clone shows drift:\n{}",
            outcome.diff.to_text()
        );

        sync_and_check(
            &db,
            &engine,
            &template,
            &target,
            &empty,
            &["label", "purge_audit", "invoice_seq", "invoices"],
        )
        .await?;
        sync_and_check(
            &db,
            &engine,
            &template,
            &target,
            &drifted,
            &[
                "function label",
                "event purge_audit",
                "stray_event",
                "function stray",
                "procedure stray_proc",
                "stray_seq",
                "procedure add_invoice",
                "invoice_total",
                "row_format DYNAMIC -> COMPRESSED",
                "transactional 0 -> 1",
                "stats_sample_pages 12 -> default",
            ],
        )
        .await?;

        // The synced tenants' objects are their own: the procedure writes the tenant's
        // table and the default draws from the tenant's sequence.
        // The drifted tenant's sequence keeps its position (data), as the template's
        // does: only its settings changed.
        for (tenant, number) in [(&empty, 100), (&drifted, 1)] {
            db.run(tenant, "CALL add_invoice(7, @id)").await;
            let mut conn = db
                .admin
                .get_conn()
                .await
                .map_err(|e| Error::config(e.to_string()))?;
            let row: Option<(i64, String)> = conn
                .query_first(format!(
                    "SELECT i.number, a.note FROM {0}.invoices i JOIN {0}.audit_log a",
                    quote(tenant.namespace())
                ))
                .await
                .map_err(|e| Error::config(e.to_string()))?;
            assert_eq!(row, Some((number, "<7>".to_string())), "{tenant}");
        }
        let mut conn = db
            .admin
            .get_conn()
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        let template_rows: Option<i64> = conn
            .query_first(format!(
                "SELECT COUNT(*) FROM {}.invoices",
                quote(template.namespace())
            ))
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        assert_eq!(template_rows, Some(0), "a tenant wrote the template");
        Ok(())
    }
    .await;
    for tenant in [&template, &clone, &empty, &drifted] {
        db.cleanup(tenant).await;
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}
