//! What a fault may leave behind, looked up on the server once the CLI is gone.
//!
//! - PostgreSQL: sessions in the fleet's database (`pg_stat_activity`), advisory locks in
//!   it (`pg_locks`), and scratch schemas (`schema_sync_scratch_*`, see the adapter's
//!   `target.rs`) in it. The fleet has a database of its own, so all three are ours.
//! - MySQL/MariaDB: sessions whose default database is one of the fleet's (the CLI's URL
//!   names the fleet's home database, so even idle pooled sessions count), the tenants'
//!   `GET_LOCK` names (`schema-sync:` + 40 hex of blake3 over the database name, see the
//!   adapter's `runner.rs`) still in use, and the scratch databases of the killed processes
//!   (`schema_sync_scratch_<pid hex>_*`).
//! - SQLite: hot journals, `PRAGMA integrity_check` of every file, stray files.
//!
//! A server notices a killed client only when it next reads its socket, so the server
//! checks poll for a few seconds before reporting a leftover.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;

use super::fleet::{ChaosFleet, my_connect, mysql_scratch_databases, pg_connect};
use crate::servers::{self, Database};

/// How long leftovers may take to go away after the CLI died.
const SETTLE: Duration = Duration::from_secs(10);

/// Everything the fleet's CLI runs left behind (sessions, locks, PostgreSQL scratch
/// schemas): one line per leftover, empty when clean. Polls for up to [`SETTLE`].
///
/// # Errors
/// When the server cannot be asked.
pub fn leftovers(fleet: &ChaosFleet) -> Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let found = leftovers_now(fleet)?;
        if found.is_empty() || started.elapsed() > SETTLE {
            return Ok(found);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn leftovers_now(fleet: &ChaosFleet) -> Result<Vec<String>> {
    match fleet.database {
        Database::Sqlite => Ok(Vec::new()),
        Database::Postgres => servers::runtime()?.block_on(async {
            let client = pg_connect(&fleet.url).await?;
            let mut found = Vec::new();
            for row in client
                .query(
                    "SELECT pid, coalesce(application_name, ''), coalesce(state, ''), left(coalesce(query, ''), 80) \
                     FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
                     AND backend_type = 'client backend'",
                    &[],
                )
                .await
                .context("cannot read pg_stat_activity")?
            {
                let pid: i32 = row.try_get(0)?;
                let app: String = row.try_get(1)?;
                let state: String = row.try_get(2)?;
                let query: String = row.try_get(3)?;
                found.push(format!(
                    "session pid {pid} ({app}, {state}) still open: {query}"
                ));
            }
            let locks: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = \
                     (SELECT oid FROM pg_database WHERE datname = current_database())",
                    &[],
                )
                .await
                .context("cannot read pg_locks")?
                .try_get(0)?;
            if locks > 0 {
                found.push(format!("{locks} advisory lock(s) still held"));
            }
            for row in client
                .query(
                    "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'schema\\_sync\\_scratch%'",
                    &[],
                )
                .await
                .context("cannot read pg_namespace")?
            {
                let name: String = row.try_get(0)?;
                found.push(format!("scratch schema {name} left behind"));
            }
            anyhow::Ok(found)
        }),
        Database::Mysql => servers::runtime()?.block_on(async {
            let server = fleet.server_url.as_deref().unwrap_or(&fleet.url);
            let mut conn = my_connect(server).await?;
            let mut found = Vec::new();
            let sessions: Vec<(u64, Option<String>, String, Option<String>)> = conn
                .exec(
                    "SELECT ID, DB, COMMAND, LEFT(INFO, 80) FROM information_schema.PROCESSLIST \
                     WHERE ID <> CONNECTION_ID() AND DB LIKE ?",
                    (format!("chaos\\_{}\\_%", fleet.suffix),),
                )
                .await
                .context("cannot read PROCESSLIST")?;
            for (id, db, command, info) in sessions {
                found.push(format!(
                    "session {id} ({command}) still open on {}: {}",
                    db.unwrap_or_default(),
                    info.unwrap_or_default()
                ));
            }
            for tenant in fleet.tenants() {
                let name = mysql_lock_name(&tenant);
                let holder: Option<Option<u64>> = conn
                    .exec_first("SELECT IS_USED_LOCK(?)", (name.as_str(),))
                    .await
                    .context("cannot ask IS_USED_LOCK")?;
                if let Some(Some(holder)) = holder {
                    found.push(format!(
                        "GET_LOCK {name:?} of tenant {tenant} still held by session {holder}"
                    ));
                }
            }
            // A killed run's scratch database is dropped by the next target load (its
            // lock is free): checked after the re-run, by `scratch_databases`.
            conn.disconnect().await.context("disconnect failed")?;
            anyhow::Ok(found)
        }),
    }
}

/// The MySQL scratch databases of the runs `pids` that still exist. A killed run's is
/// left until the next run loads a target, which drops every scratch database whose
/// owner's lock is free; after a re-run there must be none.
///
/// # Errors
/// When the server cannot be asked.
pub fn scratch_databases(fleet: &ChaosFleet, pids: &[u32]) -> Result<Vec<String>> {
    if fleet.database != Database::Mysql {
        return Ok(Vec::new());
    }
    servers::runtime()?.block_on(async {
        let server = fleet.server_url.as_deref().unwrap_or(&fleet.url);
        let mut conn = my_connect(server).await?;
        let found = mysql_scratch_databases(&mut conn, pids).await?;
        conn.disconnect().await.context("disconnect failed")?;
        anyhow::Ok(found)
    })
}

/// Removes what [`leftovers`] found: ends the fleet's other sessions (PostgreSQL: in its
/// database; MySQL: on its databases) and drops the scratch databases of `pids`.
///
/// # Errors
/// When the server refuses.
pub fn clear(fleet: &ChaosFleet, pids: &[u32]) -> Result<()> {
    match fleet.database {
        Database::Sqlite => Ok(()),
        Database::Postgres => servers::runtime()?.block_on(async {
            let client = pg_connect(&fleet.url).await?;
            client
                .batch_execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                )
                .await
                .context("cannot end leftover sessions")?;
            let scratch: Vec<String> = client
                .query(
                    "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'schema\\_sync\\_scratch%'",
                    &[],
                )
                .await
                .context("cannot read pg_namespace")?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            for name in scratch {
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
                    .with_context(|| format!("cannot drop {name}"))?;
            }
            anyhow::Ok(())
        }),
        Database::Mysql => servers::runtime()?.block_on(async {
            let server = fleet.server_url.as_deref().unwrap_or(&fleet.url);
            let mut conn = my_connect(server).await?;
            let sessions: Vec<u64> = conn
                .exec(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND DB LIKE ?",
                    (format!("chaos\\_{}\\_%", fleet.suffix),),
                )
                .await
                .context("cannot read PROCESSLIST")?;
            for id in sessions {
                let _ = conn.query_drop(format!("KILL {id}")).await;
            }
            for name in mysql_scratch_databases(&mut conn, pids).await? {
                conn.query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await
                    .with_context(|| format!("cannot drop {name}"))?;
            }
            conn.disconnect().await.context("disconnect failed")
        }),
    }
}

/// The MySQL adapter's `GET_LOCK` name of tenant database `database`.
pub fn mysql_lock_name(database: &str) -> String {
    let hash = blake3::hash(database.as_bytes()).to_hex();
    format!("schema-sync:{}", &hash.as_str()[..40])
}

/// The first bytes of a rollback journal whose header SQLite wrote: only such a journal is
/// "hot" (rolled back by the next read-write open). A process killed before its journal
/// header reached the disk leaves a journal of zeros, which SQLite ignores and overwrites.
const JOURNAL_MAGIC: [u8; 8] = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

/// The SQLite tenants with a hot journal: a `-journal` file with a valid header, left by a
/// process killed inside a transaction.
pub fn hot_journals(fleet: &ChaosFleet) -> Vec<String> {
    fleet
        .tenants()
        .into_iter()
        .filter(|tenant| {
            std::fs::read(fleet.dir.join(format!("{tenant}.db-journal")))
                .is_ok_and(|bytes| bytes.starts_with(&JOURNAL_MAGIC))
        })
        .collect()
}

/// The SQLite tenants with a journal file that is not hot (its header never reached the
/// disk): harmless, SQLite overwrites it on the next write.
pub fn stale_journals(fleet: &ChaosFleet) -> Vec<String> {
    fleet
        .tenants()
        .into_iter()
        .filter(|tenant| {
            std::fs::read(fleet.dir.join(format!("{tenant}.db-journal")))
                .is_ok_and(|bytes| !bytes.is_empty() && !bytes.starts_with(&JOURNAL_MAGIC))
        })
        .collect()
}

/// `PRAGMA integrity_check` failures of every SQLite tenant but `skip`, and stray files in
/// the fleet directory. The check opens read-write, which would roll a hot journal back:
/// tenants with one are skipped until the CLI has met them.
///
/// # Errors
/// When the directory cannot be read.
pub fn sqlite_integrity(fleet: &ChaosFleet, skip: &[String]) -> Result<Vec<String>> {
    let mut broken = Vec::new();
    for tenant in fleet.tenants() {
        if skip.contains(&tenant) {
            continue;
        }
        let file = fleet.dir.join(format!("{tenant}.db"));
        let checked = rusqlite::Connection::open_with_flags(
            &file,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE,
        )
        .and_then(|conn| {
            let mut statement = conn.prepare("PRAGMA integrity_check")?;
            let lines: Vec<String> = statement
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(lines)
        });
        match checked {
            Ok(lines) if lines == ["ok"] => {}
            Ok(lines) => broken.push(format!(
                "tenant {tenant}: integrity_check: {}",
                lines.join("; ")
            )),
            Err(error) => broken.push(format!("tenant {tenant}: cannot check: {error}")),
        }
    }
    let strays: Vec<String> = std::fs::read_dir(&fleet.dir)
        .with_context(|| format!("cannot read {}", fleet.dir.display()))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            !(name.starts_with("chaos_t")
                && (name.ends_with(".db") || name.ends_with(".db-journal")))
        })
        .collect();
    for stray in strays {
        broken.push(format!("stray file {stray} in the fleet directory"));
    }
    Ok(broken)
}
