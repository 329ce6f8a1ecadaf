//! The binary against the real PostgreSQL and MariaDB servers: validate, diff, sync and
//! audit over a small fleet. URLs come from `SCHEMA_SYNC_TEST_PG_URL` and
//! `SCHEMA_SYNC_TEST_MYSQL_URL` (default: the local servers); an unreachable server fails.

use assert_cmd::Command;
use serde_json::Value;

const PG_SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, mood mood);
CREATE TABLE posts (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, title varchar(200) NOT NULL);
CREATE INDEX posts_title ON posts (lower(title));
CREATE VIEW post_titles AS SELECT title FROM posts;
";
const MYSQL_SCHEMA: &str = "
CREATE TABLE accounts (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, mood ENUM('happy','sad'));
CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, account_id BIGINT UNSIGNED NOT NULL, title VARCHAR(200) NOT NULL,
  CONSTRAINT posts_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE);
CREATE INDEX posts_title ON posts (title);
CREATE VIEW post_titles AS SELECT title FROM posts;
";

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos:x}", std::process::id())
}

fn run(url: &str, schema: &std::path::Path, args: &[&str], code: i32) -> Value {
    let output = Command::cargo_bin("schema-sync")
        .unwrap_or_else(|e| panic!("{e}"))
        .env("SCHEMA_SYNC_URL", url)
        .args([
            "--target",
            &schema.display().to_string(),
            "--format",
            "json",
        ])
        .args(args)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output)))
}

/// validate (drift, exit 1) -> diff -> sync (exit 0) -> validate (exit 0) -> audit.
fn fleet_story(url: &str, schema_sql: &str, pattern: &str, drifted: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, schema_sql).unwrap_or_else(|e| panic!("{e}"));
    let select = ["--tenant-pattern", pattern];
    let before = run(url, &schema, &[&["validate"][..], &select].concat(), 1);
    assert_eq!(before["summary"]["total"], 3, "{before}");
    assert_eq!(before["summary"]["drifted"], 1, "{before}");
    let diff = run(url, &schema, &["diff", "--tenant", drifted], 0);
    assert!(
        diff["tenants"][0]["changes"]
            .as_u64()
            .is_some_and(|c| c >= 1),
        "{diff}"
    );
    let synced = run(url, &schema, &[&["sync"][..], &select].concat(), 0);
    assert_eq!(synced["summary"]["synced"], 1, "{synced}");
    let after = run(url, &schema, &[&["validate"][..], &select].concat(), 0);
    assert_eq!(after["summary"]["in_sync"], 3, "{after}");
    let audit = run(url, &schema, &[&["audit"][..], &select].concat(), 0);
    assert_eq!(audit["summary"]["distinct_schemas"], 1, "{audit}");
    assert!(
        audit["tenants"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["hash"] == after["target_hash"]))
    );
}

#[tokio::test]
async fn postgres_fleet_validate_diff_sync_audit() {
    let url = std::env::var("SCHEMA_SYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
    tokio::spawn(connection);
    let prefix = unique("cli_pg");
    let tenants: Vec<String> = (0..3).map(|i| format!("{prefix}_{i}")).collect();
    for (i, tenant) in tenants.iter().enumerate() {
        let drift = if i == 1 {
            "DROP VIEW post_titles; DROP INDEX posts_title; ALTER TABLE posts DROP COLUMN title;"
        } else {
            ""
        };
        let sql = format!(
            "CREATE SCHEMA \"{tenant}\"; SET search_path TO \"{tenant}\"; {PG_SCHEMA} {drift} RESET search_path;"
        );
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let result = std::panic::catch_unwind(|| {
        fleet_story(&url, PG_SCHEMA, &format!("{prefix}_*"), &tenants[1])
    });
    for tenant in &tenants {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{tenant}\" CASCADE"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn mysql_fleet_validate_diff_sync_audit() {
    use mysql_async::prelude::Queryable;
    let url = std::env::var("SCHEMA_SYNC_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let opts = mysql_async::Opts::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("MariaDB at {url} is required: {e}"));
    let prefix = unique("cli_my");
    let tenants: Vec<String> = (0..3).map(|i| format!("{prefix}_{i}")).collect();
    for (i, tenant) in tenants.iter().enumerate() {
        let drift = if i == 1 {
            "DROP VIEW post_titles; ALTER TABLE posts DROP INDEX posts_title;"
        } else {
            ""
        };
        let sql = format!("CREATE DATABASE `{tenant}`; USE `{tenant}`; {MYSQL_SCHEMA} {drift}");
        conn.query_drop(sql).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let result = std::panic::catch_unwind(|| {
        fleet_story(&url, MYSQL_SCHEMA, &format!("{prefix}_*"), &tenants[1])
    });
    for tenant in &tenants {
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{tenant}`"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
