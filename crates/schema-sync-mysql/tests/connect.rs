//! Connecting, and loading targets from SQL in a scratch database. One binary of its own
//! so no other test of this process creates scratch databases meanwhile.

mod common;

use mysql_async::prelude::Queryable;
use schema_sync_core::{ConnectOptions, DatabaseAdapter, Error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_name_the_server_without_password() {
    let options = ConnectOptions::default();
    match schema_sync_mysql::connect("mysql://root:hunter2@127.0.0.1:1/db", &options).await {
        Err(Error::Connection { target, source }) => {
            assert_eq!(target, "mysql://root:***@127.0.0.1:1/db");
            let text = format!(
                "{} {source}",
                Error::Connection {
                    target: target.clone(),
                    source: "x".into()
                }
            );
            assert!(!text.contains("hunter2"));
            assert!(
                source
                    .to_string()
                    .contains("check that the server is running")
            );
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    match schema_sync_mysql::connect("postgres://u:hunter2@h/db", &options).await {
        Err(Error::Config { message }) => {
            assert!(message.contains("postgres://u:***@h/db") && !message.contains("hunter2"));
        }
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_urls_are_accepted() {
    let url = common::url().replacen("mysql://", "mariadb://", 1);
    match schema_sync_mysql::connect(&url, &ConnectOptions::default()).await {
        Ok(adapter) => assert_eq!(adapter.name(), "mysql"),
        Err(e) => panic!("{e}"),
    }
}

async fn scratch_databases() -> Vec<String> {
    let url = common::url();
    let pool = match mysql_async::Opts::from_url(&url) {
        Ok(opts) => mysql_async::Pool::new(opts),
        Err(e) => panic!("{e}"),
    };
    let pid = format!("schema\\_sync\\_scratch\\_{:x}\\_%", std::process::id());
    let result: Result<Vec<String>, mysql_async::Error> = async {
        let mut conn = pool.get_conn().await?;
        conn.exec(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?",
            (pid,),
        )
        .await
    }
    .await;
    result.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn target_ddl_runs_in_a_scratch_database_that_is_always_dropped() {
    let db = common::db().await;
    let adapter = &db.adapter;
    let good = adapter.snapshot_from_sql(common::RICH_TEMPLATE).await;
    assert!(matches!(&good, Ok(s) if s.tables.len() == 2 && s.views.len() == 2));
    let bad = adapter
        .snapshot_from_sql("CREATE TABLE ok (id INT PRIMARY KEY);\nCREATE TABLE broken (id INT PRIMARY KEY, x NOT_A_TYPE);")
        .await;
    match bad {
        Err(Error::Target { message, .. }) => {
            assert!(message.contains("ERROR "), "{message}");
            assert!(
                message.contains("NOT_A_TYPE"),
                "the server's own message: {message}"
            );
        }
        other => panic!("expected a target error, got {other:?}"),
    }
    let delimiter = adapter
        .snapshot_from_sql("DELIMITER $$\nCREATE TABLE t (id INT)$$\n")
        .await;
    assert!(matches!(delimiter, Err(Error::Target { .. })));
    let empty = adapter.snapshot_from_sql("-- nothing here\n").await;
    assert!(matches!(empty, Ok(s) if s.tables.is_empty()));
    assert_eq!(scratch_databases().await, Vec::<String>::new());
}
