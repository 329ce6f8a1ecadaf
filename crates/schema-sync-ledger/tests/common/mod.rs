//! The ledger suite every backend runs: a run written tenant by tenant reads back
//! exactly and survives reopening (the records are committed as they are written), and
//! shards join one run. Each function takes the location of a new, empty ledger.
#![allow(dead_code)]

use std::sync::Arc;

use schema_sync_core::ledger::{
    LedgerTenantStatus, RunLedger, RunRecord, RunStatus, SelectedTenant, TenantRecord,
};
use schema_sync_core::{StatementTiming, TenantId};

pub fn run(id: &str, started_at_ms: i64) -> RunRecord {
    RunRecord {
        id: id.into(),
        command: "sync".into(),
        started_at_ms,
        ended_at_ms: None,
        status: RunStatus::Running,
        os_user: "deploy".into(),
        db_user: Some("app".into()),
        host: "ci-7".into(),
        version: "0.1.0".into(),
        command_line: "schema-sync sync --url postgres://app:***@db/app".into(),
        target_hash: "73e1".into(),
        resumes: None,
    }
}

pub fn id(name: &str) -> TenantId {
    TenantId::new(name).unwrap_or_else(|e| panic!("{e}"))
}

pub fn selected(name: &str, wave: Option<u32>) -> SelectedTenant {
    SelectedTenant { id: id(name), wave }
}

/// Records a run, reopens the ledger and reads everything back.
pub async fn a_run_reads_back_and_survives_reopening(location: &str) {
    let ledger = schema_sync_ledger::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .begin_run(
            &run("r1", 1_000),
            &[
                selected("a", Some(0)),
                selected("b", Some(1)),
                selected("c", None),
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .tenant_started("r1", &id("a"), 1_001)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let finished = TenantRecord {
        tenant: "a".into(),
        status: LedgerTenantStatus::Synced,
        before_hash: Some("5b1d".into()),
        after_hash: Some("73e1".into()),
        steps_done: 2,
        steps_total: 2,
        error: None,
        started_at_ms: None,
        ended_at_ms: Some(1_005),
        wave: None,
        statements: vec![
            StatementTiming {
                sql: "ALTER TABLE a ADD COLUMN e text".into(),
                duration_ms: 3,
            },
            StatementTiming {
                sql: "CREATE INDEX i ON a (e)".into(),
                duration_ms: 1,
            },
        ],
    };
    ledger
        .tenant_finished("r1", &finished)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .tenant_started("r1", &id("b"), 1_006)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .begin_run(&run("r2", 2_000), &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    ledger
        .end_run("r2", RunStatus::Succeeded, 2_001)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    drop(ledger);

    let ledger = schema_sync_ledger::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let runs = ledger.list_runs(10).await.unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<(&str, RunStatus)> = runs.iter().map(|r| (r.id.as_str(), r.status)).collect();
    assert_eq!(
        ids,
        [("r2", RunStatus::Succeeded), ("r1", RunStatus::Running)]
    );
    assert_eq!(runs[1], run("r1", 1_000));
    assert_eq!(ledger.list_runs(1).await.map(|r| r.len()).ok(), Some(1));
    let tenants = ledger
        .tenants("r1", true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<(&str, LedgerTenantStatus)> = tenants
        .iter()
        .map(|t| (t.tenant.as_str(), t.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("a", LedgerTenantStatus::Synced),
            ("b", LedgerTenantStatus::Started),
            ("c", LedgerTenantStatus::Pending)
        ]
    );
    assert_eq!(
        tenants[0],
        TenantRecord {
            started_at_ms: Some(1_001),
            wave: Some(0),
            ..finished
        }
    );
    let waves: Vec<Option<u32>> = tenants.iter().map(|t| t.wave).collect();
    assert_eq!(waves, [Some(0), Some(1), None]);
    assert_eq!(tenants[1].started_at_ms, Some(1_006));
    let without = ledger
        .tenants("r1", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(without[0].statements.is_empty());
    assert_eq!(ledger.run("nope").await.ok(), Some(None));
    // The same run id twice is an error, not a silent merge.
    assert!(ledger.begin_run(&run("r1", 3_000), &[]).await.is_err());
}

/// Two shards join one run; its status waits for both and stays failed once one failed.
pub async fn shards_join_one_run_and_its_status_waits_for_every_shard(location: &str) {
    let ledger = schema_sync_ledger::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ok = |r: schema_sync_core::Result<()>| r.unwrap_or_else(|e| panic!("{e}"));
    // Two shards join the same run; the second's run record is ignored, its tenants added.
    ok(ledger
        .join_run(&run("shared", 1_000), &[selected("a", None)])
        .await);
    ok(ledger
        .join_run(&run("shared", 1_500), &[selected("b", None)])
        .await);
    let record = ledger.run("shared").await.ok().flatten();
    assert_eq!(record.map(|r| r.started_at_ms), Some(1_000));
    // A tenant already in the run cannot join it twice.
    assert!(
        ledger
            .join_run(&run("shared", 2_000), &[selected("a", None)])
            .await
            .is_err()
    );
    let finished = |tenant: &str, status| TenantRecord {
        tenant: tenant.into(),
        status,
        before_hash: None,
        after_hash: None,
        steps_done: 0,
        steps_total: 0,
        error: None,
        started_at_ms: None,
        ended_at_ms: Some(1_100),
        statements: Vec::new(),
        wave: None,
    };
    // Shard 1 succeeds while shard 2's tenant is pending: the run is still running.
    ok(ledger
        .tenant_finished("shared", &finished("a", LedgerTenantStatus::InSync))
        .await);
    ok(ledger.end_run("shared", RunStatus::Succeeded, 1_200).await);
    let status = |ledger: &std::sync::Arc<dyn schema_sync_core::ledger::RunLedger>| {
        let ledger = ledger.clone();
        async move { ledger.run("shared").await.ok().flatten().map(|r| r.status) }
    };
    assert_eq!(status(&ledger).await, Some(RunStatus::Running));
    // Shard 2 fails: the run failed, and a later success does not hide it.
    ok(ledger
        .tenant_finished("shared", &finished("b", LedgerTenantStatus::Failed))
        .await);
    ok(ledger.end_run("shared", RunStatus::Failed, 1_300).await);
    assert_eq!(status(&ledger).await, Some(RunStatus::Failed));
    ok(ledger.end_run("shared", RunStatus::Succeeded, 1_400).await);
    assert_eq!(status(&ledger).await, Some(RunStatus::Failed));
    // A run whose every tenant finished ends with its own status.
    ok(ledger
        .begin_run(&run("solo", 3_000), &[selected("c", None)])
        .await);
    ok(ledger
        .tenant_finished("solo", &finished("c", LedgerTenantStatus::Synced))
        .await);
    ok(ledger.end_run("solo", RunStatus::Succeeded, 3_100).await);
    let solo = ledger.run("solo").await.ok().flatten();
    assert_eq!(
        solo.map(|r| (r.status, r.ended_at_ms)),
        Some((RunStatus::Succeeded, Some(3_100)))
    );
}

/// A statement and an error longer than 64 KiB, in four-byte characters too, read back
/// whole; tenant ids that differ only in case are two tenants.
pub async fn long_values_and_ids_differing_in_case_read_back_whole(location: &str) {
    let ledger = schema_sync_ledger::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ok = |r: schema_sync_core::Result<()>| r.unwrap_or_else(|e| panic!("{e}"));
    ok(ledger
        .begin_run(
            &run("long", 1_000),
            &[selected("Acme", None), selected("acme", None)],
        )
        .await);
    let statement = format!(
        "INSERT INTO notes (body) VALUES ('{}')",
        "crab 🦀 café ".repeat(20_000)
    );
    let error = format!("ERROR 1406 (22001): {}", "é".repeat(70_000));
    let finished = TenantRecord {
        tenant: "Acme".into(),
        status: LedgerTenantStatus::Failed,
        before_hash: Some("5b1d".into()),
        after_hash: None,
        steps_done: 0,
        steps_total: 1,
        error: Some(error.clone()),
        started_at_ms: None,
        ended_at_ms: Some(1_001),
        wave: None,
        statements: vec![StatementTiming {
            sql: statement.clone(),
            duration_ms: 12,
        }],
    };
    ok(ledger.tenant_finished("long", &finished).await);
    let tenants = ledger
        .tenants("long", true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let summary: Vec<(&str, LedgerTenantStatus, usize)> = tenants
        .iter()
        .map(|t| (t.tenant.as_str(), t.status, t.statements.len()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Acme", LedgerTenantStatus::Failed, 1),
            ("acme", LedgerTenantStatus::Pending, 0)
        ]
    );
    assert_eq!(tenants[0].error.as_deref(), Some(error.as_str()));
    assert_eq!(tenants[0].statements[0].sql, statement);
}

/// Opens a ledger that holds, at version 1, run `old` with tenant `a`: it is upgraded,
/// `a` reads back without a wave, and a new run records its tenants' waves.
pub async fn upgraded_from_version_1(location: &str) -> Arc<dyn RunLedger> {
    let ledger = schema_sync_ledger::open(location)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let old = ledger
        .tenants("old", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        old.iter()
            .map(|t| (t.tenant.as_str(), t.wave))
            .collect::<Vec<_>>(),
        [("a", None)]
    );
    ledger
        .begin_run(&run("new", 10), &[selected("b", Some(2))])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let new = ledger
        .tenants("new", false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(new.first().and_then(|t| t.wave), Some(2));
    ledger
}
