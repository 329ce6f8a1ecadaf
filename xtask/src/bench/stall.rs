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

use super::cli::Cli;
use super::fleet::postgres::connect;
use super::report::Stall;
use crate::servers;

/// Rows of the loaded table.
pub const ROWS: i64 = 200_000;

/// The online run's `--lock-timeout`.
const ONLINE_LOCK_TIMEOUT: &str = "200ms";

/// The loaded schema every strategy starts from.
const LIVE: &str = "
CREATE TABLE parents (id int PRIMARY KEY);
INSERT INTO parents SELECT g FROM generate_series(1, 100) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, parent_id int, amount int, email text);
INSERT INTO orders (parent_id, amount, email)
  SELECT 1 + g % 100, 1 + g % 1000, 'u' || g || '@example.com' FROM generate_series(1, 200000) g;
ANALYZE orders";

/// The target: an index, a foreign key, a check and a `NOT NULL` more.
const TARGET: &str = "
CREATE TABLE parents (id int PRIMARY KEY);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  parent_id int CONSTRAINT orders_parent_fk REFERENCES parents (id),
  amount int CONSTRAINT orders_amount_positive CHECK (amount > 0),
  email text NOT NULL
);
CREATE INDEX orders_amount_idx ON orders (amount);
";

/// What the writer saw during one sync.
#[derive(Debug, Default)]
struct Writer {
    statements: usize,
    errors: usize,
    first_error: Option<String>,
    longest: Duration,
}

/// Times the writer's stall under `sync --strategy online` and `--strategy plain` in the
/// database at `url`.
///
/// # Errors
/// When the scratch schema cannot be built or dropped, the CLI cannot run, or the sync
/// fails.
pub fn measure(url: &str, cli: &Cli, workdir: &Path) -> Result<Vec<Stall>> {
    let target = workdir.join("stall-target.sql");
    std::fs::write(&target, TARGET)
        .with_context(|| format!("cannot write {}", target.display()))?;
    let mut stalls = Vec::new();
    for (strategy, lock_timeout) in [("online", ONLINE_LOCK_TIMEOUT), ("plain", "30s")] {
        let schema = format!("bench_stall_{strategy}");
        run_sql(
            url,
            &format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}; {LIVE}"
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
            errors: writer.errors,
            first_error: writer.first_error,
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
fn write_until(url: &str, schema: &str, stop: &AtomicBool) -> Result<Writer> {
    servers::runtime()?.block_on(async {
        let client = connect(url).await?;
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .await
            .context("cannot set the writer's search_path")?;
        let mut writer = Writer::default();
        let mut n: i64 = 0;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let statement = if n % 2 == 0 {
                format!(
                    "INSERT INTO orders (parent_id, amount, email) VALUES ({}, {}, 'w{n}@example.com')",
                    1 + n % 100,
                    1 + n % 1000
                )
            } else {
                format!(
                    "UPDATE orders SET amount = amount + 1 WHERE id = {}",
                    1 + (n * 7919) % ROWS
                )
            };
            let started = Instant::now();
            let outcome = client.batch_execute(&statement).await;
            writer.longest = writer.longest.max(started.elapsed());
            writer.statements += 1;
            if let Err(e) = outcome {
                writer.errors += 1;
                writer.first_error.get_or_insert_with(|| e.to_string());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(writer)
    })
}
