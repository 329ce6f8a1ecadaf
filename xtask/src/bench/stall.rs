//! The writer stall of `sync` on a live PostgreSQL table: how long an application's
//! writer waits while `sync` adds an index, a foreign key, a check and a `NOT NULL` to a
//! table of 200,000 rows, with `--strategy online` and with `--strategy plain`.
//!
//! For each strategy a scratch schema gets the loaded table; a writer on its own thread
//! inserts and updates rows in autocommit (a statement every 2 ms), timing each
//! statement, while the CLI syncs the schema to the target. The phase reports the
//! writer's longest wait, how many statements it ran and how many failed. Online, the
//! longest wait stays near `--lock-timeout` (the short transaction and the brief locks of
//! the steps after it); plain, the writer waits for whole scans and builds.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use schema_sync_core::testing::load::{
    ORDERS_ROWS, POSTGRES_ORDERS_LIVE, POSTGRES_ORDERS_TARGET, WriterReport, orders_statement,
};

use super::cli::Cli;
use super::fleet::postgres::connect;
use super::report::Stall;
use crate::servers;

/// The online run's `--lock-timeout`.
const ONLINE_LOCK_TIMEOUT: &str = "200ms";

/// Times the writer's stall under `sync --strategy online` and `--strategy plain` in the
/// database at `url`.
///
/// # Errors
/// When the scratch schema cannot be built or dropped, the CLI cannot run, or the sync
/// fails.
pub fn measure(url: &str, cli: &Cli, workdir: &Path) -> Result<Vec<Stall>> {
    let target = workdir.join("stall-target.sql");
    std::fs::write(&target, POSTGRES_ORDERS_TARGET)
        .with_context(|| format!("cannot write {}", target.display()))?;
    let mut stalls = Vec::new();
    for (strategy, lock_timeout) in [("online", ONLINE_LOCK_TIMEOUT), ("plain", "30s")] {
        let schema = format!("bench_stall_{strategy}");
        run_sql(
            url,
            &format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}; {POSTGRES_ORDERS_LIVE}"
            ),
        )?;
        let stop = Arc::new(AtomicBool::new(false));
        let writing = {
            let (url, schema, stop) = (url.to_string(), schema.clone(), stop.clone());
            std::thread::spawn(move || write_until(&url, &schema, &stop))
        };
        std::thread::sleep(Duration::from_millis(300));
        let args: Vec<String> = [
            "sync",
            "--url",
            url,
            "--target",
            &target.to_string_lossy(),
            "--tenant",
            &schema,
            "--strategy",
            strategy,
            "--lock-timeout",
            lock_timeout,
            "--format",
            "json",
        ]
        .map(String::from)
        .to_vec();
        let run = cli.run(&args, workdir);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        let writer = writing
            .join()
            .map_err(|_| anyhow!("the writer thread panicked"))??;
        run_sql(url, &format!("DROP SCHEMA {schema} CASCADE"))?;
        let run = run?;
        if run.code != Some(0) {
            return Err(anyhow!(
                "sync --strategy {strategy} of the loaded table exited {:?}: {}",
                run.code,
                run.stderr.trim()
            ));
        }
        stalls.push(Stall {
            strategy,
            sync: run.elapsed,
            longest: writer.longest,
            statements: writer.statements,
            errors: writer.errors.len(),
            first_error: writer.errors.into_iter().next(),
        });
    }
    Ok(stalls)
}

/// Runs `sql` on its own connection to `url`.
fn run_sql(url: &str, sql: &str) -> Result<()> {
    servers::runtime()?.block_on(async {
        let client = connect(url).await?;
        client
            .batch_execute(sql)
            .await
            .context("cannot build or drop the writer-stall schema")
    })
}

/// Inserts and updates `orders` of `schema` in autocommit until `stop`, timing each
/// statement.
fn write_until(url: &str, schema: &str, stop: &AtomicBool) -> Result<WriterReport> {
    servers::runtime()?.block_on(async {
        let client = connect(url).await?;
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .context("cannot set the writer's search_path")?;
        let mut writer = WriterReport::default();
        let mut n: i64 = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let statement = orders_statement(n, ORDERS_ROWS);
            let started = Instant::now();
            let outcome = client.batch_execute(&statement).await;
            writer.record(&statement, started, outcome);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(writer)
    })
}
