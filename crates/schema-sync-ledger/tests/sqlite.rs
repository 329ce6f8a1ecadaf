//! The SQLite ledger: the shared suite on a file, and the upgrade of a version 1 file.

mod common;

use schema_sync_core::ledger::LedgerTenantStatus;

#[tokio::test]
async fn a_run_reads_back_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("nested").join("ledger.db");
    common::a_run_reads_back_and_survives_reopening(&path.display().to_string()).await;
}

#[tokio::test]
async fn shards_join_one_run_and_its_status_waits_for_every_shard() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.db");
    common::shards_join_one_run_and_its_status_waits_for_every_shard(&path.display().to_string())
        .await;
}

/// A ledger written at version 1 (before waves) is upgraded in place when opened: its
/// runs read back, with no wave, and new runs record waves.
#[tokio::test]
async fn a_version_1_ledger_is_upgraded_keeping_its_runs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.db");
    rusqlite::Connection::open(&path)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE ledger_version (version BIGINT NOT NULL, applied_at_ms BIGINT NOT NULL);
                 INSERT INTO ledger_version VALUES (1, 0);
                 CREATE TABLE ledger_runs (id TEXT PRIMARY KEY, command TEXT NOT NULL, started_at_ms BIGINT NOT NULL, ended_at_ms BIGINT, status TEXT NOT NULL, os_user TEXT NOT NULL, db_user TEXT, host TEXT NOT NULL, version TEXT NOT NULL, command_line TEXT NOT NULL, target_hash TEXT NOT NULL, resumes TEXT);
                 CREATE TABLE ledger_tenants (run_id TEXT NOT NULL REFERENCES ledger_runs (id), tenant TEXT NOT NULL, status TEXT NOT NULL, before_hash TEXT, after_hash TEXT, steps_done BIGINT NOT NULL, steps_total BIGINT NOT NULL, error TEXT, started_at_ms BIGINT, ended_at_ms BIGINT, PRIMARY KEY (run_id, tenant));
                 CREATE TABLE ledger_statements (run_id TEXT NOT NULL, tenant TEXT NOT NULL, position BIGINT NOT NULL, statement TEXT NOT NULL, duration_ms BIGINT NOT NULL, PRIMARY KEY (run_id, tenant, position), FOREIGN KEY (run_id, tenant) REFERENCES ledger_tenants (run_id, tenant));
                 INSERT INTO ledger_runs VALUES ('old', 'sync', 5, 6, 'succeeded', 'deploy', NULL, 'ci-7', '0.1.0', 'schema-sync sync', '73e1', NULL);
                 INSERT INTO ledger_tenants VALUES ('old', 'a', 'synced', '5b1d', '73e1', 1, 1, NULL, 5, 6);",
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger = common::upgraded_from_version_1(&path.display().to_string()).await;
    let old = ledger
        .tenants("old", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        old.first().map(|t| t.status),
        Some(LedgerTenantStatus::Synced)
    );
    let versions: Vec<i64> = rusqlite::Connection::open(&path)
        .and_then(|c| {
            let mut statement = c.prepare("SELECT version FROM ledger_version ORDER BY version")?;
            let rows = statement.query_map([], |row| row.get(0))?;
            rows.collect()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(versions, [1, 2]);
}

#[tokio::test]
async fn long_values_and_ids_differing_in_case_read_back_whole() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.db");
    common::long_values_and_ids_differing_in_case_read_back_whole(&path.display().to_string())
        .await;
}
