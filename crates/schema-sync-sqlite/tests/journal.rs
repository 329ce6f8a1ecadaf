//! Hot journals left by a writer killed mid-transaction (`kill -9`), on real files.
//!
//! The crashed writer is the `sqlite3` shell: it starts a large update with a one-page
//! cache (so SQLite spills changed pages into the file and the originals into the
//! journal), says it is ready, and is killed with SIGKILL.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use common::SqliteFleet;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, Engine, Error, SyncOptions, TenantContext,
};
use schema_sync_sqlite::{Location, SqliteAdapter};

const SCHEMA: &str = "
PRAGMA journal_mode = DELETE;
CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body BLOB);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 2000)
INSERT INTO docs SELECT x, 'doc ' || x, randomblob(400) FROM n;
";

/// Kills a `sqlite3` process in the middle of a large write transaction on `file`.
fn crash_mid_transaction(file: &Path) {
    let mut child = Command::new("/usr/bin/sqlite3")
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start /usr/bin/sqlite3: {e}"));
    let mut stdin = child
        .stdin
        .take()
        .unwrap_or_else(|| panic!("no stdin for sqlite3"));
    stdin
        .write_all(
            b"PRAGMA cache_size = 1;\nBEGIN;\nUPDATE docs SET title = 'half-written', body = zeroblob(500);\nSELECT 'ready';\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    stdin.flush().unwrap_or_else(|e| panic!("{e}"));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("no stdout for sqlite3"));
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        line.trim(),
        "ready",
        "the writer reached the middle of its transaction"
    );
    child
        .kill()
        .unwrap_or_else(|e| panic!("cannot kill sqlite3: {e}")); // SIGKILL
    child.wait().unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
}

/// A tenant whose file has a hot journal, and the rows it had before the crash.
async fn crashed_tenant(fleet: &SqliteFleet, name: &str) -> (TenantContext, Vec<String>) {
    let tenant = fleet
        .create_tenant(&tenant_id(name), SCHEMA)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = fleet.query_strings(name, "SELECT id, title, hex(body) FROM docs ORDER BY id");
    crash_mid_transaction(&fleet.file(name));
    let journal = format!("{}-journal", fleet.file(name).display());
    let size = std::fs::metadata(&journal).map_or(0, |m| m.len());
    assert!(size > 0, "the crash left a journal at {journal}");
    (tenant, before)
}

fn adapter(fleet: &SqliteFleet, read_only: bool) -> SqliteAdapter {
    SqliteAdapter::with_options(
        Location::Directory(fleet.path().to_path_buf()),
        &ConnectOptions::default().with_read_only(read_only),
    )
}

/// Opens the file the way a careless reader would, to see the journal is really hot.
fn read_only_count(file: &Path) -> rusqlite::Result<i64> {
    let conn =
        rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.query_row("SELECT count(*) FROM docs", [], |r| r.get(0))
}

fn assert_recovered(fleet: &SqliteFleet, name: &str, before: &[String]) {
    assert_eq!(
        fleet.query_strings(name, "SELECT id, title, hex(body) FROM docs ORDER BY id"),
        before,
        "the rows are the ones from before the crash"
    );
    assert_eq!(
        fleet.query_strings(name, "PRAGMA integrity_check"),
        ["Text(\"ok\")"]
    );
    assert!(
        !Path::new(&format!("{}-journal", fleet.file(name).display())).exists(),
        "the journal was rolled back"
    );
}

#[tokio::test]
async fn audit_names_the_hot_journal_and_the_fix() {
    let fleet = SqliteFleet::new();
    let (tenant, before) = crashed_tenant(&fleet, "crashed").await;
    assert!(
        read_only_count(&fleet.file("crashed")).is_err(),
        "a read-only reader cannot use a file with a hot journal"
    );
    let error = adapter(&fleet, true)
        .inspector()
        .inspect(&tenant)
        .await
        .err()
        .unwrap_or_else(|| panic!("a read-only inspection must not roll the journal back"));
    let message = error.to_string();
    let file = fleet.file("crashed").display().to_string();
    for needle in [
        file.as_str(),
        "hot journal",
        "interrupted write",
        "schema-sync sync --tenant crashed",
        "sqlite3",
    ] {
        assert!(
            message.contains(needle),
            "{needle:?} missing from: {message}"
        );
    }
    assert!(matches!(error, Error::Database { .. }), "{error:?}");
    assert!(
        Path::new(&format!("{file}-journal")).exists(),
        "audit never writes, so the journal is still there"
    );
    // Then sync repairs it.
    let target = adapter(&fleet, false)
        .snapshot_from_sql(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body BLOB);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let writer = adapter(&fleet, false);
    Engine::new(std::sync::Arc::new(writer))
        .sync_tenant(&tenant, &target, &SyncOptions::default().with_execute(true))
        .await
        .unwrap_or_else(|e| panic!("sync must recover the hot journal: {e}"));
    assert_recovered(&fleet, "crashed", &before);
    assert_eq!(read_only_count(&fleet.file("crashed")), Ok(2000));
}

#[tokio::test]
async fn sync_rolls_the_journal_back_and_then_changes_the_schema() {
    let fleet = SqliteFleet::new();
    let (tenant, before) = crashed_tenant(&fleet, "resync").await;
    let writer = adapter(&fleet, false);
    let target = writer
        .snapshot_from_sql(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body BLOB, tag TEXT);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let outcome = Engine::new(std::sync::Arc::new(writer))
        .sync_tenant(&tenant, &target, &SyncOptions::default().with_execute(true))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.execution.is_some(), "the added column was applied");
    assert_recovered(&fleet, "resync", &before);
    assert_eq!(
        fleet.query_strings("resync", "SELECT count(*) FROM docs WHERE tag IS NULL"),
        ["Integer(2000)"]
    );
}

#[tokio::test]
async fn validate_recovers_instead_of_failing_forever() {
    let fleet = SqliteFleet::new();
    let (tenant, before) = crashed_tenant(&fleet, "checked").await;
    let writer = adapter(&fleet, false);
    let target = writer
        .snapshot_from_sql(
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT NOT NULL, body BLOB);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Validate is a sync without execution.
    let outcome = Engine::new(std::sync::Arc::new(writer))
        .sync_tenant(&tenant, &target, &SyncOptions::default())
        .await
        .unwrap_or_else(|e| panic!("validate must not fail on a hot journal: {e}"));
    assert!(outcome.already_in_sync, "{}", outcome.diff.to_text());
    assert_recovered(&fleet, "checked", &before);
}
