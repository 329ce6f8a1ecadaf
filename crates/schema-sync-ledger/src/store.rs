//! The ledger's logic, once for every backend: records in, records out.

use std::collections::HashMap;

use async_trait::async_trait;
use schema_sync_core::ledger::{
    LedgerTenantStatus, RunLedger, RunRecord, RunStatus, SelectedTenant, TenantRecord,
};
use schema_sync_core::{Result, StatementTiming, TenantId};

use crate::driver::{Dialect, Driver, Row, Statement, Value, opt_int, opt_text, query_error, text};

const INSERT_RUN: &str = "INSERT INTO ledger_runs (id, command, started_at_ms, ended_at_ms, status, os_user, db_user, host, version, command_line, target_hash, resumes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
// A shard of a shared run (`--run-id`) records the run unless another shard did.
const JOIN_RUN: &str = "INSERT INTO ledger_runs (id, command, started_at_ms, ended_at_ms, status, os_user, db_user, host, version, command_line, target_hash, resumes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING";
// The same on MySQL, which has no `ON CONFLICT` (`INSERT IGNORE` would also turn
// errors other than the duplicate key into warnings).
const JOIN_RUN_MYSQL: &str = "INSERT INTO ledger_runs (id, command, started_at_ms, ended_at_ms, status, os_user, db_user, host, version, command_line, target_hash, resumes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON DUPLICATE KEY UPDATE id = id";
const INSERT_TENANT: &str = "INSERT INTO ledger_tenants (run_id, tenant, status, steps_done, steps_total, wave) VALUES ($1, $2, $3, 0, 0, $4)";
// SQLite numbers `$N` parameters in order of first appearance, whatever N says: every
// statement uses them in order, so positions agree on both databases.
const START_TENANT: &str =
    "UPDATE ledger_tenants SET status = $1, started_at_ms = $2 WHERE run_id = $3 AND tenant = $4";
const FINISH_TENANT: &str = "UPDATE ledger_tenants SET status = $1, before_hash = $2, after_hash = $3, steps_done = $4, steps_total = $5, error = $6, ended_at_ms = $7 WHERE run_id = $8 AND tenant = $9";
const CLEAR_STATEMENTS: &str = "DELETE FROM ledger_statements WHERE run_id = $1 AND tenant = $2";
const INSERT_STATEMENT: &str = "INSERT INTO ledger_statements (run_id, tenant, position, statement, duration_ms) VALUES ($1, $2, $3, $4, $5)";
// A run shared by shards stays failed once one shard failed, and running while a
// tenant of another shard is pending or in flight.
const END_RUN: &str = "UPDATE ledger_runs SET status = CASE WHEN $1 = 'failed' OR status = 'failed' THEN 'failed' WHEN EXISTS (SELECT 1 FROM ledger_tenants WHERE run_id = $2 AND status IN ('pending', 'started')) THEN 'running' ELSE $1 END, ended_at_ms = $3 WHERE id = $2";
const LIST_RUNS: &str = "SELECT id, command, started_at_ms, ended_at_ms, status, os_user, db_user, host, version, command_line, target_hash, resumes FROM ledger_runs ORDER BY started_at_ms DESC, id DESC LIMIT $1";
const ONE_RUN: &str = "SELECT id, command, started_at_ms, ended_at_ms, status, os_user, db_user, host, version, command_line, target_hash, resumes FROM ledger_runs WHERE id = $1";
const TENANTS: &str = "SELECT tenant, status, before_hash, after_hash, steps_done, steps_total, error, started_at_ms, ended_at_ms, wave FROM ledger_tenants WHERE run_id = $1 ORDER BY tenant";
const STATEMENTS: &str = "SELECT tenant, statement, duration_ms FROM ledger_statements WHERE run_id = $1 ORDER BY tenant, position";

/// A ledger on any [`Driver`].
pub(crate) struct Ledger<D> {
    driver: D,
}

impl<D: Driver> Ledger<D> {
    /// A ledger on an opened, migrated driver.
    pub(crate) fn new(driver: D) -> Self {
        Self { driver }
    }

    fn run_record(&self, row: &Row) -> Result<RunRecord> {
        let at = self.driver.location();
        Ok(RunRecord {
            id: text(row, 0, at)?,
            command: text(row, 1, at)?,
            started_at_ms: opt_int(row, 2, at)?.unwrap_or(0),
            ended_at_ms: opt_int(row, 3, at)?,
            status: RunStatus::parse(&text(row, 4, at)?, at)?,
            os_user: text(row, 5, at)?,
            db_user: opt_text(row, 6, at)?,
            host: text(row, 7, at)?,
            version: text(row, 8, at)?,
            command_line: text(row, 9, at)?,
            target_hash: text(row, 10, at)?,
            resumes: opt_text(row, 11, at)?,
        })
    }

    fn tenant_record(&self, row: &Row) -> Result<TenantRecord> {
        let at = self.driver.location();
        let count = |i| -> Result<u64> {
            Ok(u64::try_from(opt_int(row, i, at)?.unwrap_or(0)).unwrap_or(0))
        };
        Ok(TenantRecord {
            tenant: text(row, 0, at)?,
            status: LedgerTenantStatus::parse(&text(row, 1, at)?, at)?,
            before_hash: opt_text(row, 2, at)?,
            after_hash: opt_text(row, 3, at)?,
            steps_done: count(4)?,
            steps_total: count(5)?,
            error: opt_text(row, 6, at)?,
            started_at_ms: opt_int(row, 7, at)?,
            ended_at_ms: opt_int(row, 8, at)?,
            statements: Vec::new(),
            wave: opt_int(row, 9, at)?.and_then(|w| u32::try_from(w).ok()),
        })
    }
}

/// The statements that record `run` (with `insert`) and its tenants, all `pending`.
fn run_statements(
    insert: &'static str,
    run: &RunRecord,
    tenants: &[SelectedTenant],
) -> Vec<Statement> {
    let mut statements: Vec<Statement> = Vec::with_capacity(tenants.len() + 1);
    statements.push((
        insert,
        vec![
            Value::Text(run.id.clone()),
            Value::Text(run.command.clone()),
            Value::Int(run.started_at_ms),
            run.ended_at_ms.into(),
            Value::Text(run.status.as_str().into()),
            Value::Text(run.os_user.clone()),
            run.db_user.clone().into(),
            Value::Text(run.host.clone()),
            Value::Text(run.version.clone()),
            Value::Text(run.command_line.clone()),
            Value::Text(run.target_hash.clone()),
            run.resumes.clone().into(),
        ],
    ));
    for tenant in tenants {
        statements.push((
            INSERT_TENANT,
            vec![
                Value::Text(run.id.clone()),
                Value::Text(tenant.id.to_string()),
                Value::Text(LedgerTenantStatus::Pending.as_str().into()),
                tenant.wave.map(i64::from).into(),
            ],
        ));
    }
    statements
}

fn int(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

#[async_trait]
impl<D: Driver> RunLedger for Ledger<D> {
    fn location(&self) -> &str {
        self.driver.location()
    }

    async fn begin_run(&self, run: &RunRecord, tenants: &[SelectedTenant]) -> Result<()> {
        self.driver
            .transaction(run_statements(INSERT_RUN, run, tenants))
            .await
    }

    async fn join_run(&self, run: &RunRecord, tenants: &[SelectedTenant]) -> Result<()> {
        let insert = match D::DIALECT {
            Dialect::Standard => JOIN_RUN,
            Dialect::MySql => JOIN_RUN_MYSQL,
        };
        self.driver
            .transaction(run_statements(insert, run, tenants))
            .await
    }

    async fn tenant_started(&self, run: &str, tenant: &TenantId, at_ms: i64) -> Result<()> {
        self.driver
            .transaction(vec![(
                START_TENANT,
                vec![
                    Value::Text(LedgerTenantStatus::Started.as_str().into()),
                    Value::Int(at_ms),
                    Value::Text(run.into()),
                    Value::Text(tenant.to_string()),
                ],
            )])
            .await
    }

    async fn tenant_finished(&self, run: &str, record: &TenantRecord) -> Result<()> {
        let key = || vec![Value::Text(run.into()), Value::Text(record.tenant.clone())];
        let mut statements: Vec<Statement> = Vec::with_capacity(record.statements.len() + 2);
        let mut finish = vec![
            Value::Text(record.status.as_str().into()),
            record.before_hash.clone().into(),
            record.after_hash.clone().into(),
            int(record.steps_done),
            int(record.steps_total),
            record.error.clone().into(),
            record.ended_at_ms.into(),
        ];
        finish.extend(key());
        statements.push((FINISH_TENANT, finish));
        statements.push((CLEAR_STATEMENTS, key()));
        for (position, statement) in record.statements.iter().enumerate() {
            let mut row = key();
            row.extend([
                int(position as u64),
                Value::Text(statement.sql.clone()),
                int(statement.duration_ms),
            ]);
            statements.push((INSERT_STATEMENT, row));
        }
        self.driver.transaction(statements).await
    }

    async fn end_run(&self, run: &str, status: RunStatus, ended_at_ms: i64) -> Result<()> {
        self.driver
            .transaction(vec![(
                END_RUN,
                vec![
                    Value::Text(status.as_str().into()),
                    Value::Text(run.into()),
                    Value::Int(ended_at_ms),
                ],
            )])
            .await
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>> {
        let rows = self
            .driver
            .query(LIST_RUNS, vec![int(limit as u64)])
            .await?;
        rows.iter().map(|row| self.run_record(row)).collect()
    }

    async fn run(&self, id: &str) -> Result<Option<RunRecord>> {
        let rows = self
            .driver
            .query(ONE_RUN, vec![Value::Text(id.into())])
            .await?;
        rows.first().map(|row| self.run_record(row)).transpose()
    }

    async fn tenants(&self, run: &str, with_statements: bool) -> Result<Vec<TenantRecord>> {
        let rows = self
            .driver
            .query(TENANTS, vec![Value::Text(run.into())])
            .await?;
        let mut tenants: Vec<TenantRecord> = rows
            .iter()
            .map(|row| self.tenant_record(row))
            .collect::<Result<_>>()?;
        if with_statements {
            let at = self.driver.location();
            let rows = self
                .driver
                .query(STATEMENTS, vec![Value::Text(run.into())])
                .await?;
            let index: HashMap<String, usize> = tenants
                .iter()
                .enumerate()
                .map(|(i, t)| (t.tenant.clone(), i))
                .collect();
            for row in &rows {
                let tenant = text(row, 0, at)?;
                let Some(record) = index.get(&tenant).and_then(|&i| tenants.get_mut(i)) else {
                    return Err(query_error(
                        at,
                        format!("statement of tenant {tenant:?}, which the run does not list"),
                    ));
                };
                record.statements.push(StatementTiming {
                    sql: text(row, 1, at)?,
                    duration_ms: u64::try_from(opt_int(row, 2, at)?.unwrap_or(0)).unwrap_or(0),
                });
            }
        }
        Ok(tenants)
    }
}
