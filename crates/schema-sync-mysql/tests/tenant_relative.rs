//! Tenant isolation of expressions on the real server: a template and three tenants whose
//! defaults draw from their own sequence, whose view calls their own stored function and
//! whose trigger writes their own tables. Clean tenants diff empty against
//! `tenant:<template>`, and syncing a drifted tenant leaves no reference to the template.

mod common;

use std::process::Command;
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use schema_sync_core::testing::conformance::{TestDatabase, unique_tenant_id};
use schema_sync_core::{
    DatabaseAdapter, Engine, Error, Result, SyncOptions, Target, TenantContext,
};

/// The fleet's schema, in database `db`. MariaDB refuses stored functions in defaults,
/// generated columns and checks (error 1901), so the tenant's own function is called from
/// the view and the trigger; the trigger also names its own database explicitly (quoted
/// and bare), as
/// authors do.
fn fleet_ddl(db: &str) -> String {
    let q = format!("`{}`", db.replace('`', "``"));
    format!(
        r#"
CREATE SEQUENCE seq;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE TABLE invoices (
  id INT NOT NULL AUTO_INCREMENT,
  number VARCHAR(20) NOT NULL DEFAULT concat('INV-', lpad(nextval(seq), 8, '0')),
  amount INT NOT NULL DEFAULT 0,
  last_no BIGINT NULL DEFAULT (lastval(seq)),
  doubled INT AS (amount * 2) VIRTUAL,
  PRIMARY KEY (id),
  CONSTRAINT chk_amount CHECK (amount >= 0)
);
CREATE TABLE audit (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  invoice_id INT NULL,
  note VARCHAR(60) NULL
);
CREATE VIEW invoice_view AS
  SELECT i.id, i.number, twice(i.amount) AS doubled_amount,
    (SELECT count(*) FROM audit a WHERE a.invoice_id = i.id) AS audits
  FROM invoices i;
CREATE TRIGGER trg_invoices_audit AFTER INSERT ON invoices FOR EACH ROW
  INSERT INTO {q}.audit (invoice_id, note)
  VALUES (NEW.id, concat(NEW.number, ':', twice(NEW.amount), ':', nextval({db}.seq)));
"#
    )
}

/// A tenant drifted from the fleet: `number` (the sequence default) is missing, the
/// view lacks it, and `last_no` draws from the template's sequence, as the old `sync`
/// left every tenant.
fn drifted_ddl(template: &str) -> String {
    let t = format!("`{}`", template.replace('`', "``"));
    format!(
        r#"
CREATE SEQUENCE seq;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
CREATE TABLE invoices (
  id INT NOT NULL AUTO_INCREMENT,
  amount INT NOT NULL DEFAULT 5,
  last_no BIGINT NULL DEFAULT (nextval({t}.seq)),
  doubled INT AS (amount * 2) VIRTUAL,
  PRIMARY KEY (id),
  CONSTRAINT chk_amount CHECK (amount >= 0)
);
CREATE TABLE audit (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  invoice_id INT NULL,
  note VARCHAR(60) NULL
);
CREATE VIEW invoice_view AS
  SELECT i.id, twice(i.amount) AS doubled_amount,
    (SELECT count(*) FROM audit a WHERE a.invoice_id = i.id) AS audits
  FROM invoices i;
CREATE TRIGGER trg_invoices_audit AFTER INSERT ON invoices FOR EACH ROW
  INSERT INTO audit (invoice_id, note) VALUES (NEW.id, concat(twice(NEW.amount), ':', nextval(seq)));
"#,
    )
}

async fn create(
    db: &common::MysqlTestDb,
    prefix: &str,
    ddl: impl Fn(&str) -> String,
) -> TenantContext {
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

fn mysqldump(database: &str) -> String {
    let out = Command::new("/usr/bin/mysqldump")
        .args([
            "--no-data",
            "--routines",
            "--triggers",
            "--skip-comments",
            "-h",
            "127.0.0.1",
            "-u",
            "root",
            database,
        ])
        .output();
    match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => panic!(
            "mysqldump {database} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run /usr/bin/mysqldump: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_tenants_match_the_template_and_sync_keeps_each_tenant_on_its_own_objects() {
    let db = common::db().await;
    let template = create(&db, "reltmpl", fleet_ddl).await;
    let mut tenants = Vec::new();
    for _ in 0..2 {
        tenants.push(create(&db, "relclean", fleet_ddl).await);
    }
    let tmpl_name = template.namespace().to_string();
    let drifted = create(&db, "reldrift", |_| drifted_ddl(&tmpl_name)).await;
    let result: Result<()> = async {
        let adapter: Arc<dyn DatabaseAdapter> = db.adapter.clone();
        let engine = Engine::new(adapter);
        let target = engine
            .resolve_target(&Target::Tenant(template.id().clone()))
            .await?;
        let invoices = &target.tables["invoices"];
        let number = invoices.columns["number"].default.as_deref().unwrap_or_default();
        assert!(number.contains("nextval(`seq`)"), "{number}");
        assert!(!format!("{target:?}").contains(template.namespace()));
        let options = SyncOptions::default()
.with_execute(true)
.with_allow_destructive(true);
        let dry = SyncOptions::default()
.with_execute(false);
        for tenant in &tenants {
            let outcome = engine.sync_tenant(tenant, &target, &dry).await?;
            assert!(
                outcome.already_in_sync && outcome.diff.is_empty(),
                "clean tenant {tenant} shows drift:\n{}",
                outcome.diff.to_text()
            );
        }

        let outcome = engine.sync_tenant(&drifted, &target, &options).await?;
        assert!(!outcome.already_in_sync);
        let again = engine.sync_tenant(&drifted, &target, &dry).await?;
        assert!(again.already_in_sync, "{}", again.diff.to_text());

        let dump = mysqldump(drifted.namespace());
        assert!(
            !dump.contains(template.namespace()),
            "the synced tenant still names the template {}:\n{dump}",
            template.namespace()
        );
        let own = format!("nextval(`{}`.`seq`)", drifted.namespace());
        let number_line = dump
            .lines()
            .find(|l| l.trim_start().starts_with("`number`"))
            .unwrap_or_default();
        assert!(number_line.contains(&own), "{number_line}\n{dump}");
        let last_no = dump
            .lines()
            .find(|l| l.trim_start().starts_with("`last_no`"))
            .unwrap_or_default();
        assert!(
            last_no.contains(&format!("lastval(`{}`.`seq`)", drifted.namespace())),
            "{last_no}"
        );

        // Invoice numbers come from the tenant's own sequence; the template's is untouched.
        db.run(&drifted, "INSERT INTO invoices (amount) VALUES (7)").await;
        let mut conn = mysql_async::Conn::new(
            mysql_async::Opts::from_url(&common::url()).map_err(|e| Error::config(e.to_string()))?,
        )
        .await
        .map_err(|e| Error::config(e.to_string()))?;
        let q = |n: &str| format!("`{}`", n.replace('`', "``"));
        let row: Option<(String, String)> = conn
            .query_first(format!(
                "SELECT i.number, a.note FROM {0}.invoices i JOIN {0}.audit a ON a.invoice_id = i.id",
                q(drifted.namespace())
            ))
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        assert_eq!(
            row,
            Some(("INV-00000001".to_string(), "INV-00000001:14:2".to_string()))
        );
        let template_next: Option<i64> = conn
            .query_first(format!(
                "SELECT next_not_cached_value FROM {}.seq",
                q(template.namespace())
            ))
            .await
            .map_err(|e| Error::config(e.to_string()))?;
        assert_eq!(template_next, Some(1), "the template's sequence was used");
        let _ = conn.disconnect().await;
        Ok(())
    }
    .await;
    for tenant in tenants.iter().chain([&template, &drifted]) {
        db.cleanup(tenant).await;
    }
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A target loaded from SQL runs in a scratch database that is dropped afterwards: its
/// name must not stay in the expressions either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_targets_do_not_keep_the_scratch_database_name() {
    let db = common::db().await;
    let target = db
        .target(
            "CREATE SEQUENCE seq; \
             CREATE TABLE t (id INT PRIMARY KEY, n BIGINT NULL DEFAULT (nextval(seq))); \
             CREATE VIEW v AS SELECT id, lastval(seq) AS last FROM t;",
        )
        .await;
    assert_eq!(
        target.tables["t"].columns["n"].default.as_deref(),
        Some("nextval(`seq`)")
    );
    let body = &target.views["v"].definition;
    assert!(
        body.contains("lastval(`seq`)") && body.contains("from `t`"),
        "{body}"
    );
    // MariaDB refuses a stored function in a default (and in generated columns and
    // checks): only views and triggers can call the tenant's own functions.
    let refused = db
        .adapter
        .snapshot_from_sql(
            "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1; \
             CREATE TABLE t (x INT NULL DEFAULT (f()));",
        )
        .await;
    match refused {
        Err(e) => {
            let mut chain = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                chain.push_str(&format!(" / {s}"));
                source = s.source();
            }
            assert!(chain.contains("1901"), "{chain}");
        }
        Ok(_) => panic!("MariaDB accepted a stored function in a default"),
    }
}
