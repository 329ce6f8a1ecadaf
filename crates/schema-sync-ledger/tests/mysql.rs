//! The MySQL/MariaDB ledger on the real server: the shared suite, each test in a
//! database of its own (created by the ledger, dropped afterwards), then what is MySQL's
//! own: concurrent first opens, an interrupted migration, a newer ledger, the tables'
//! engine and collation, passwords, and the default database.
//!
//! The server is `SCHEMA_SYNC_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`),
//! whose user may create databases and users. A test fails, never skips, when it cannot
//! be reached.
#![cfg(feature = "mysql")]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use common::{run, selected};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts};
use schema_sync_core::{ConnectOptions, DatabaseAdapter};

/// A password the ledger must never show.
const PASSWORD: &str = "hunter2secret";

fn server_url() -> String {
    std::env::var("SCHEMA_SYNC_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_string())
}

/// The server URL with `database` in place of its own (none for `""`).
fn url_for(database: &str) -> String {
    let url = server_url();
    let (url, query) = url.split_once('?').unwrap_or((&url, ""));
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    let path = if database.is_empty() {
        String::new()
    } else {
        format!("/{database}")
    };
    format!("{}{path}{query}", &url[..authority_end])
}

async fn admin() -> Conn {
    let opts = Opts::from_url(&server_url())
        .unwrap_or_else(|e| panic!("bad SCHEMA_SYNC_TEST_MYSQL_URL: {e}"));
    Conn::new(opts).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach the test MySQL server ({e}); start it or set SCHEMA_SYNC_TEST_MYSQL_URL"
        )
    })
}

async fn admin_sql(sql: &str) {
    admin()
        .await
        .query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A uniquely named database, dropped (with the test's user, if any) when the test ends,
/// passed or not.
struct Database {
    name: String,
}

impl Database {
    fn new(prefix: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Self {
            name: format!("{prefix}_{}_{nanos:x}_{n}", std::process::id()),
        }
    }

    /// The ledger URL of this database.
    fn url(&self) -> String {
        url_for(&self.name)
    }

    async fn versions(&self) -> Vec<i64> {
        admin()
            .await
            .query(format!(
                "SELECT version FROM `{}`.ledger_version ORDER BY version",
                self.name
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!(
            "DROP DATABASE IF EXISTS `{0}`; DROP USER IF EXISTS '{0}'@'%'",
            self.name
        );
        // Drop runs outside the test's runtime, possibly while it unwinds.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(admin_sql(&sql)))
        })
        .join();
        if !std::thread::panicking() {
            assert!(matches!(dropped, Ok(Ok(()))), "cleanup failed");
        }
    }
}

#[tokio::test]
async fn a_run_reads_back_and_survives_reopening() {
    let db = Database::new("ledger_rb");
    common::a_run_reads_back_and_survives_reopening(&db.url()).await;
}

#[tokio::test]
async fn shards_join_one_run_and_its_status_waits_for_every_shard() {
    let db = Database::new("ledger_sh");
    common::shards_join_one_run_and_its_status_waits_for_every_shard(&db.url()).await;
}

#[tokio::test]
async fn long_values_and_ids_differing_in_case_read_back_whole() {
    let db = Database::new("ledger_lv");
    common::long_values_and_ids_differing_in_case_read_back_whole(&db.url()).await;
}

/// Four processes' worth of first opens at once: one migrates, the others wait for its
/// lock and find the ledger current. The tables are InnoDB and `utf8mb4_bin`.
#[tokio::test]
async fn concurrent_first_opens_migrate_once_into_innodb_tables() {
    let db = Database::new("ledger_cc");
    let url = db.url();
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { schema_sync_ledger::open(&url).await.map(drop) })
        })
        .collect();
    for open in opens {
        let opened = open.await.unwrap_or_else(|e| panic!("{e}"));
        opened.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(db.versions().await, [1, 2]);
    let tables: Vec<(String, String, String)> = admin()
        .await
        .exec(
            "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (&db.name,),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let expected: Vec<(String, String, String)> = [
        "ledger_runs",
        "ledger_statements",
        "ledger_tenants",
        "ledger_version",
    ]
    .iter()
    .map(|t| (t.to_string(), "InnoDB".into(), "utf8mb4_bin".into()))
    .collect();
    assert_eq!(tables, expected);
}

/// MySQL commits each DDL step on its own: a process killed after the steps but before
/// their version rows leaves tables without versions. The next open applies the versions
/// again, takes the existing tables, index and column as applied, and keeps the runs.
#[tokio::test]
async fn an_interrupted_migration_is_finished_keeping_the_runs() {
    let db = Database::new("ledger_im");
    let ledger = schema_sync_ledger::open(&db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .begin_run(&run("before", 1_000), &[selected("a", Some(1))])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(ledger);
    admin_sql(&format!("DELETE FROM `{}`.ledger_version", db.name)).await;
    let ledger = schema_sync_ledger::open(&db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.versions().await, [1, 2]);
    let tenants = ledger
        .tenants("before", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        tenants
            .iter()
            .map(|t| (t.tenant.as_str(), t.wave))
            .collect::<Vec<_>>(),
        [("a", Some(1))]
    );
}

/// A ledger written at version 1 (before waves) is upgraded in place when opened.
#[tokio::test]
async fn a_version_1_ledger_is_upgraded_keeping_its_runs() {
    let db = Database::new("ledger_v1");
    let ledger = schema_sync_ledger::open(&db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .begin_run(&run("old", 5), &[selected("a", None)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(ledger);
    // Back to version 1's layout.
    admin_sql(&format!(
        "ALTER TABLE `{0}`.ledger_tenants DROP COLUMN wave; DELETE FROM `{0}`.ledger_version WHERE version = 2",
        db.name
    ))
    .await;
    assert_eq!(db.versions().await, [1]);
    common::upgraded_from_version_1(&db.url()).await;
    assert_eq!(db.versions().await, [1, 2]);
}

/// A ledger a newer schema-sync wrote is refused, naming the ledger and the fix.
#[tokio::test]
async fn a_newer_ledger_is_refused() {
    let db = Database::new("ledger_nw");
    drop(
        schema_sync_ledger::open(&db.url())
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    admin_sql(&format!(
        "INSERT INTO `{}`.ledger_version VALUES (99, 0)",
        db.name
    ))
    .await;
    let error = schema_sync_ledger::open(&db.url())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        error,
        format!(
            "run ledger {}: the ledger is at version 99 but this build of schema-sync knows version 2; upgrade schema-sync, or pass --ledger with another ledger (or --no-ledger)",
            schema_sync_core::redact_url(&db.url())
        )
    );
}

/// A user granted only the ledger's (existing) database can use it, and its password
/// shows nowhere: not in the location, not in a login error.
#[tokio::test]
async fn a_user_with_a_password_granted_only_the_ledger_database() {
    let db = Database::new("ledger_pw");
    admin_sql(&format!(
        "CREATE DATABASE `{0}`; CREATE USER '{0}'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON `{0}`.* TO '{0}'@'%'",
        db.name
    ))
    .await;
    let server = Opts::from_url(&server_url()).unwrap_or_else(|e| panic!("{e}"));
    let with_password = |password: &str| {
        format!(
            "mysql://{0}:{password}@{1}:{2}/{0}",
            db.name,
            server.ip_or_hostname(),
            server.tcp_port()
        )
    };
    let url = with_password(PASSWORD);
    let ledger = schema_sync_ledger::open(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ledger.location().contains("***") && !ledger.location().contains(PASSWORD),
        "{}",
        ledger.location()
    );
    ledger
        .begin_run(&run("r", 1), &[selected("a", None)])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.versions().await, [1, 2]);
    let wrong = format!("{PASSWORD}x");
    let error = schema_sync_ledger::open(&with_password(&wrong))
        .await
        .err()
        .map(|e| format!("{e} {e:?}"))
        .unwrap_or_default();
    assert!(
        error.contains("Access denied") && !error.contains(PASSWORD),
        "{error}"
    );
}

/// A URL that names no database keeps the ledger in `schema_sync_ledger`, which the MySQL
/// adapter never lists as a tenant. The name is fixed, so only this test uses it.
#[tokio::test]
async fn without_a_database_the_ledger_is_schema_sync_ledger_and_no_tenant() {
    let db = Database {
        name: schema_sync_ledger::MYSQL_LEDGER_DATABASE.to_string(),
    };
    let ledger = schema_sync_ledger::open(&url_for(""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .begin_run(&run("default", 1), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(db.versions().await, [1, 2]);
    let adapter = schema_sync_mysql::connect(&server_url(), &ConnectOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tenants = adapter
        .list_tenants()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!tenants.iter().any(|t| t == &db.name), "{tenants:?}");
}

/// The session is strict: a value longer than its column is refused, never truncated
/// into another run's id.
#[tokio::test]
async fn a_value_too_long_for_its_column_is_refused_not_truncated() {
    let db = Database::new("ledger_st");
    let ledger = schema_sync_ledger::open(&db.url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let long_id = "r".repeat(300);
    let error = ledger
        .begin_run(&run(&long_id, 1), &[])
        .await
        .err()
        .map(|e| format!("{e} {e:?}"))
        .unwrap_or_default();
    assert!(error.contains("Data too long"), "{error}");
    assert_eq!(ledger.list_runs(10).await.map(|r| r.len()).ok(), Some(0));
}
