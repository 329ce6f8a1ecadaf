//! The faults, and the checks run after each one.
//!
//! Every fault starts from the same state: the drifted tenants rebuilt and refilled
//! ([`ChaosFleet::reset_drifted`]), then a baseline of every tenant's snapshot hash (from
//! `schema-sync audit`) and row checksum. After the fault, [`Scene::verify`] checks the
//! invariants and [`Scene::converge`] that a plain re-run repairs the fleet:
//!
//! - no tenant is half-applied: its hash is its baseline hash or the target hash
//!   (PostgreSQL and SQLite apply a tenant in one transaction; MySQL cannot roll DDL back,
//!   so a killed MySQL tenant may legitimately stop in between, and is counted in the
//!   notes instead);
//! - every row survives: the row checksums equal the baseline's;
//! - nothing of the CLI is left on the server ([`super::probe::leftovers`]) and every
//!   SQLite file passes `PRAGMA integrity_check`;
//! - a final `sync` exits 0 and a `validate` after it exits 0, with the rows still intact.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use serde_json::Value;

use super::cli::{self, Cli, fleet_args};
use super::fleet::{ChaosFleet, Checksums, my_connect, pg_connect};
use super::probe;
use crate::bench::drift::{DriftKind, Rng};
use crate::servers::{self, Database};

/// The outcome of one kind of fault on one database.
#[derive(Debug)]
pub struct Tally {
    /// The kind of fault.
    pub kind: &'static str,
    /// The database, or what else the faults hit.
    pub target: String,
    /// Faults actually injected (a kill that came after the run finished is not one).
    pub injected: usize,
    /// Tenant checks made after the faults.
    pub checked: usize,
    /// Broken invariants, each a sentence naming the tenant.
    pub violations: Vec<String>,
    /// Expected events worth counting (hot journals, MySQL partial progress, ...).
    pub notes: BTreeMap<String, usize>,
}

impl Tally {
    /// An empty tally.
    pub fn new(kind: &'static str, target: impl ToString) -> Tally {
        Tally {
            kind,
            target: target.to_string(),
            injected: 0,
            checked: 0,
            violations: Vec::new(),
            notes: BTreeMap::new(),
        }
    }

    pub fn note(&mut self, what: impl Into<String>) {
        *self.notes.entry(what.into()).or_default() += 1;
    }

    pub fn violation(&mut self, what: String) {
        eprintln!(
            "xtask chaos: VIOLATION ({} on {}): {what}",
            self.kind, self.target
        );
        self.violations.push(what);
    }
}

/// Every tenant's state before a fault.
#[derive(Debug)]
pub struct Baseline {
    hashes: BTreeMap<String, String>,
    sums: Checksums,
}

/// One database's fleet, its CLI and what the faults need to know.
pub struct Scene<'a> {
    /// The CLI.
    pub cli: &'a Cli,
    /// The fleet.
    pub fleet: &'a ChaosFleet,
    /// The target snapshot's hash.
    pub target_hash: String,
    /// How long an undisturbed sync of the fleet took: kills land within it.
    pub sync_time: Duration,
    /// Every CLI process started on the fleet (their scratch databases are ours).
    pub pids: Vec<u32>,
    /// Random moments and choices.
    pub rng: Rng,
}

/// How long a CLI run may take before it counts as hung.
const HANG: Duration = Duration::from_secs(180);
/// The `--lock-timeout` of the lock faults, in milliseconds.
const LOCK_TIMEOUT_MS: u64 = 2000;
/// How much longer than `--lock-timeout` a blocked sync may take before it counts as hung.
const LOCK_MARGIN: Duration = Duration::from_secs(15);

impl Scene<'_> {
    /// Rebuilds the drift and records the baseline.
    ///
    /// # Errors
    /// When the fleet cannot be rebuilt or read.
    pub fn baseline(&self) -> Result<Baseline> {
        self.fleet.reset_drifted()?;
        Ok(Baseline {
            hashes: self.cli.audit(self.fleet)?,
            sums: self.fleet.checksums()?,
        })
    }

    fn sync_args(&self, extra: &[&str]) -> Vec<String> {
        let mut flags = vec!["--allow-destructive"];
        flags.extend_from_slice(extra);
        fleet_args(self.fleet, "sync", &flags)
    }

    /// The undisturbed run: baseline, sync, checks. Measures [`Scene::sync_time`].
    ///
    /// # Errors
    /// When the fleet cannot be read.
    pub fn calibrate(&mut self, tally: &mut Tally) -> Result<()> {
        let base = self.baseline()?;
        let running = self.cli.spawn(&self.sync_args(&[]))?;
        self.pids.push(running.pid());
        let finished = running.wait()?;
        self.sync_time = finished.elapsed;
        if finished.code != Some(0) {
            tally.violation(format!(
                "an undisturbed sync exited with {:?}: {}",
                finished.code,
                finished.stderr_tail()
            ));
        }
        self.verify(&base, tally, false)?;
        self.converge(&base, tally)
    }

    /// `SIGKILL` at a random moment of a sync.
    ///
    /// # Errors
    /// When the fleet cannot be read or the CLI cannot be run.
    pub fn kill(&mut self, tally: &mut Tally) -> Result<()> {
        let base = self.baseline()?;
        let mut running = self.cli.spawn(&self.sync_args(&[]))?;
        self.pids.push(running.pid());
        let window = (self.sync_time.as_millis() * 9 / 10).max(50) as usize;
        let delay = Duration::from_millis(self.rng.below(window) as u64);
        std::thread::sleep(delay);
        if running.kill()? {
            tally.injected += 1;
        } else {
            tally.note("sync finished before the kill");
        }
        let finished = running.wait()?;
        if finished.panicked() {
            tally.violation(format!("the CLI panicked: {}", finished.stderr_tail()));
        }
        self.verify(&base, tally, self.fleet.database == Database::Mysql)?;
        self.converge(&base, tally)
    }

    /// Four syncs at once: every drifted tenant is synced by exactly one of them.
    ///
    /// # Errors
    /// When the fleet cannot be read or the CLI cannot be run.
    pub fn concurrent(&mut self, tally: &mut Tally) -> Result<()> {
        let base = self.baseline()?;
        let mut running = Vec::new();
        for _ in 0..4 {
            let run = self.cli.spawn(&self.sync_args(&[]))?;
            self.pids.push(run.pid());
            running.push(run);
        }
        tally.injected += 1;
        let mut synced: BTreeMap<String, usize> = BTreeMap::new();
        for run in running {
            let Some(finished) = run.wait_at_most(HANG)? else {
                tally.violation("one of four concurrent syncs hung".into());
                continue;
            };
            if finished.code != Some(0) {
                tally.violation(format!(
                    "a concurrent sync exited with {:?}: {}",
                    finished.code,
                    finished.stderr_tail()
                ));
            }
            let report = match cli::parse(&finished) {
                Ok(report) => report,
                Err(error) => {
                    tally.violation(format!("{error:#}"));
                    continue;
                }
            };
            for tenant in cli::tenants(&report)? {
                let name = tenant["tenant"].as_str().unwrap_or_default().to_string();
                match tenant["status"].as_str().unwrap_or_default() {
                    "synced" => *synced.entry(name).or_default() += 1,
                    "in_sync" => {}
                    other => tally.violation(format!(
                        "tenant {name}: {other} in a concurrent sync: {}",
                        tenant["error"]
                    )),
                }
            }
        }
        let drifted = self.fleet.drifted();
        for tenant in self.fleet.tenants() {
            let times = synced.get(&tenant).copied().unwrap_or(0);
            let wanted = usize::from(drifted.contains(&tenant));
            if times != wanted {
                tally.violation(format!(
                    "tenant {tenant}: synced {times} times by four concurrent syncs (want {wanted})"
                ));
            }
        }
        self.verify(&base, tally, false)?;
        self.converge(&base, tally)
    }

    /// Another session holds locks on two drifted tenants' tables: one for longer than
    /// `--lock-timeout` (the tenant must fail cleanly and alone), one for less (it must
    /// wait and sync).
    ///
    /// # Errors
    /// When the fleet cannot be read or the locks cannot be taken.
    pub fn lock(&mut self, tally: &mut Tally) -> Result<()> {
        let candidates: Vec<usize> = self
            .fleet
            .model
            .drifted
            .iter()
            .filter(|(_, (_, kinds))| kinds.iter().any(|k| table_level(*k)))
            .map(|(&i, _)| i)
            .collect();
        let (Some(&held), Some(&brief)) = (candidates.first(), candidates.get(1)) else {
            tally.note("fewer than two tenants with table-level drift: no lock fault");
            return Ok(());
        };
        let base = self.baseline()?;
        let (release, released) = mpsc::channel::<()>();
        let holders = [
            self.hold_locks(held, None, released)?,
            self.hold_locks(
                brief,
                Some(Duration::from_millis(LOCK_TIMEOUT_MS / 4)),
                mpsc::channel::<()>().1,
            )?,
        ];
        tally.injected += 1;
        let lock_timeout = format!("{LOCK_TIMEOUT_MS}ms");
        let running = self
            .cli
            .spawn(&self.sync_args(&["--lock-timeout", &lock_timeout]))?;
        self.pids.push(running.pid());
        // Past the timeout plus a generous margin, the run counts as hung.
        let finished =
            running.wait_at_most(Duration::from_millis(LOCK_TIMEOUT_MS) + LOCK_MARGIN)?;
        let _ = release.send(());
        for holder in holders {
            if let Err(error) = holder.join().unwrap_or_else(|_| Ok(())) {
                tally.violation(format!("the lock holder failed: {error:#}"));
            }
        }
        let Some(finished) = finished else {
            tally.violation(format!(
                "a sync with --lock-timeout {LOCK_TIMEOUT_MS}ms was still running {}s after another session locked the tables of tenant {} (killed)",
                (Duration::from_millis(LOCK_TIMEOUT_MS) + LOCK_MARGIN).as_secs(),
                self.fleet.tenant(held)
            ));
            return self
                .verify(&base, tally, true)
                .and_then(|()| self.converge(&base, tally));
        };
        let held_name = self.fleet.tenant(held);
        let brief_name = self.fleet.tenant(brief);
        match cli::parse(&finished) {
            Err(error) => tally.violation(format!("{error:#}")),
            Ok(report) => {
                for tenant in cli::tenants(&report)? {
                    let name = tenant["tenant"].as_str().unwrap_or_default();
                    let status = tenant["status"].as_str().unwrap_or_default();
                    if name == held_name {
                        self.check_held(tenant, &base, tally)?;
                    } else if status == "failed" || status == "refused" {
                        tally.violation(format!(
                            "tenant {name}: {status} although {} was not locked: {}",
                            if name == brief_name {
                                "it was only briefly"
                            } else {
                                "it"
                            },
                            tenant["error"]
                        ));
                    }
                }
            }
        }
        self.verify(&base, tally, self.fleet.database == Database::Mysql)?;
        self.converge(&base, tally)
    }

    /// The tenant whose lock was held past the timeout: failed with the lock named, and on
    /// MySQL with exact partial progress.
    fn check_held(&self, tenant: &Value, base: &Baseline, tally: &mut Tally) -> Result<()> {
        let name = tenant["tenant"].as_str().unwrap_or_default();
        let status = tenant["status"].as_str().unwrap_or_default();
        let kind = tenant["error"]["kind"].as_str().unwrap_or_default();
        let message = tenant["error"]["message"].as_str().unwrap_or_default();
        if status != "failed" {
            tally.violation(format!(
                "tenant {name}: {status} although another session held its tables locked past --lock-timeout"
            ));
            return Ok(());
        }
        tally.note(format!("held tenant failed with {kind}"));
        let hashes = self.cli.audit(self.fleet)?;
        let now = hashes.get(name).cloned().unwrap_or_default();
        let before = base.hashes.get(name).cloned().unwrap_or_default();
        // The structured progress of a failed run (json `execution`), or its message's
        // `step k of n` where an older CLI had no such field.
        let execution = &tenant["execution"];
        let structured = execution["steps_succeeded"]
            .as_u64()
            .zip(execution["steps_total"].as_u64())
            .map(|(done, total)| {
                (
                    usize::try_from(done).unwrap_or(usize::MAX),
                    usize::try_from(total).unwrap_or(usize::MAX),
                    execution["rolled_back"].as_bool().unwrap_or(false),
                )
            });
        match structured.or_else(|| progress(message)) {
            Some((succeeded, total, rolled_back)) => {
                if succeeded > total {
                    tally.violation(format!(
                        "tenant {name}: reports {succeeded} of {total} steps applied: {message}"
                    ));
                } else if (succeeded == 0 || rolled_back) && now != before {
                    tally.violation(format!(
                        "tenant {name}: reports no step applied (or rolled back) but its schema changed: {message}"
                    ));
                } else if succeeded > 0 && !rolled_back && now == before {
                    tally.violation(format!(
                        "tenant {name}: reports {succeeded} of {total} steps applied but its schema is unchanged: {message}"
                    ));
                } else {
                    tally.note(format!(
                        "held tenant: {succeeded} of {total} steps applied{}",
                        if rolled_back { ", rolled back" } else { "" }
                    ));
                }
            }
            None if now != before => tally.violation(format!(
                "tenant {name}: failed without reporting progress but its schema changed: {message}"
            )),
            None => {}
        }
        if now == self.target_hash {
            tally.violation(format!(
                "tenant {name}: reported failed but equals the target"
            ));
        }
        Ok(())
    }

    /// Starts a session holding every table of tenant `index` locked, for `hold` or until
    /// `release` fires; returns once the locks are held.
    fn hold_locks(
        &self,
        index: usize,
        hold: Option<Duration>,
        release: mpsc::Receiver<()>,
    ) -> Result<std::thread::JoinHandle<Result<()>>> {
        let tenant = self.fleet.tenant(index);
        let tables: Vec<String> = self
            .fleet
            .schema(index)
            .tables
            .iter()
            .map(|t| t.name.clone())
            .collect();
        let database = self.fleet.database;
        let url = match database {
            Database::Mysql => self.fleet.server_url.clone().unwrap_or_default(),
            _ => self.fleet.url.clone(),
        };
        let (ready, is_ready) = mpsc::channel::<Result<()>>();
        let holder = std::thread::spawn(move || -> Result<()> {
            let runtime = servers::runtime()?;
            runtime.block_on(async move {
                // Blocking is fine: the runtime has nothing else to do while the locks
                // are held, and the server keeps them for the idle session.
                let wait = move || match hold {
                    Some(hold) => std::thread::sleep(hold),
                    None => {
                        let _ = release.recv_timeout(HANG);
                    }
                };
                match database {
                    Database::Postgres => {
                        let client = match pg_connect(&url).await {
                            Ok(client) => client,
                            Err(error) => {
                                let _ = ready.send(Err(error));
                                return Ok(());
                            }
                        };
                        let list: Vec<String> = tables
                            .iter()
                            .map(|t| format!("\"{tenant}\".\"{t}\""))
                            .collect();
                        let locked = client
                            .batch_execute(&format!(
                                "BEGIN; LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                                list.join(", ")
                            ))
                            .await
                            .context("cannot lock the tables");
                        let failed = locked.is_err();
                        let _ = ready.send(locked);
                        if failed {
                            return Ok(());
                        }
                        wait();
                        client
                            .batch_execute("COMMIT")
                            .await
                            .context("cannot release the locks")
                    }
                    _ => {
                        let mut conn = match my_connect(&url).await {
                            Ok(conn) => conn,
                            Err(error) => {
                                let _ = ready.send(Err(error));
                                return Ok(());
                            }
                        };
                        let mut sql = String::from("START TRANSACTION;");
                        for t in &tables {
                            sql.push_str(&format!("SELECT COUNT(*) FROM `{tenant}`.`{t}`;"));
                        }
                        let locked = conn
                            .query_drop(sql)
                            .await
                            .context("cannot take the metadata locks");
                        let failed = locked.is_err();
                        let _ = ready.send(locked);
                        if failed {
                            return Ok(());
                        }
                        wait();
                        conn.query_drop("COMMIT")
                            .await
                            .context("cannot release the locks")?;
                        conn.disconnect().await.context("disconnect failed")
                    }
                }
            })
        });
        is_ready
            .recv()
            .context("the lock holder died before locking")??;
        Ok(holder)
    }

    /// Restarts the PostgreSQL cluster at a random moment of a sync.
    ///
    /// # Errors
    /// When the fleet cannot be read or the server does not come back.
    pub fn restart(&mut self, tally: &mut Tally) -> Result<()> {
        let base = self.baseline()?;
        let running = self.cli.spawn(&self.sync_args(&[]))?;
        self.pids.push(running.pid());
        let window = self.sync_time.as_millis().max(50) as usize;
        std::thread::sleep(Duration::from_millis(self.rng.below(window) as u64));
        let mut restart = std::process::Command::new("pg_ctlcluster");
        restart.args(["--skip-systemctl-redirect", "15", "main", "restart"]);
        crate::cmd::run(&mut restart)?;
        tally.injected += 1;
        match running.wait_at_most(HANG)? {
            None => tally.violation("the CLI hung after the server restarted".into()),
            Some(finished) if finished.panicked() => {
                tally.violation(format!("the CLI panicked: {}", finished.stderr_tail()))
            }
            Some(finished) => tally.note(format!("CLI exit {:?}", finished.code)),
        }
        let started = Instant::now();
        while servers::probe(Database::Postgres, &self.fleet.url).is_err() {
            if started.elapsed() > Duration::from_secs(60) {
                anyhow::bail!("PostgreSQL did not come back within 60s of the restart");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        self.verify(&base, tally, false)?;
        self.converge(&base, tally)
    }

    /// The invariants after a fault.
    ///
    /// # Errors
    /// When the server or the files cannot be read at all.
    pub fn verify(&self, base: &Baseline, tally: &mut Tally, partial_ok: bool) -> Result<()> {
        let leftovers = probe::leftovers(self.fleet)?;
        if !leftovers.is_empty() {
            for leftover in leftovers {
                tally.violation(leftover);
            }
            // Reported once: clear them so the next fault is judged on its own.
            probe::clear(self.fleet, &self.pids)?;
        }
        // SQLite files with a hot journal are left for the CLI to meet first: its audit
        // (read-only by design) must refuse them, naming the journal and the fix; its
        // validate must recover them (rolling the killed transaction back), after which
        // they must read as they were before it.
        let hot = if self.fleet.database == Database::Sqlite {
            let hot = probe::hot_journals(self.fleet);
            for _ in &hot {
                tally.note("hot journal left by the kill");
            }
            for _ in probe::stale_journals(self.fleet) {
                tally.note("journal without a header left by the kill (not hot)");
            }
            for problem in probe::sqlite_integrity(self.fleet, &hot)? {
                tally.violation(problem);
            }
            hot
        } else {
            Vec::new()
        };
        let mut audited = self.cli.audit_report(self.fleet);
        if let Ok((_, errors)) = &audited
            && !hot.is_empty()
        {
            for (tenant, error) in errors {
                let documented =
                    error.contains("hot journal") && error.contains("schema-sync sync");
                if hot.contains(tenant) && documented {
                    tally.note("audit named the hot journal and its fix");
                } else if hot.contains(tenant) {
                    tally.violation(format!(
                        "tenant {tenant}: audit met a hot journal without saying what to do: {error}"
                    ));
                }
            }
            // What a user is told to do: a command that may write recovers the file.
            let recovered = self.cli.run(&fleet_args(self.fleet, "validate", &[]))?;
            if !matches!(recovered.code, Some(0 | 1)) {
                tally.violation(format!(
                    "validate could not recover the hot journals: exit {:?}: {}",
                    recovered.code,
                    recovered.stderr_tail()
                ));
            }
            for tenant in probe::hot_journals(self.fleet) {
                tally.violation(format!(
                    "tenant {tenant}: validate left its hot journal in place"
                ));
            }
            audited = self.cli.audit_report(self.fleet);
        }
        match audited {
            Err(error) => tally.violation(format!("audit after the fault failed: {error:#}")),
            Ok((hashes, errors)) => {
                for (tenant, error) in errors {
                    tally.violation(format!(
                        "tenant {tenant}: audit cannot read it after the fault: {error}"
                    ));
                }
                for tenant in self.fleet.tenants() {
                    let Some(now) = hashes.get(&tenant).map(String::as_str) else {
                        continue;
                    };
                    let before = base.hashes.get(&tenant).map(String::as_str);
                    if Some(now) == before || now == self.target_hash {
                        continue;
                    }
                    if partial_ok {
                        tally.note("MySQL tenant stopped between steps");
                    } else {
                        tally.violation(format!(
                            "tenant {tenant}: half-applied: hash {now} is neither its pre-run hash {} nor the target {}",
                            before.unwrap_or("(none)"),
                            self.target_hash
                        ));
                    }
                }
            }
        }
        // The hot journals were recovered by the CLI above, so the rows read as committed.
        self.check_rows(base, tally, "after the fault")?;
        tally.checked += self.fleet.model.tenants;
        Ok(())
    }

    /// A final sync and validate converge, and the rows survive them.
    ///
    /// # Errors
    /// When the CLI cannot be run or the rows cannot be read.
    pub fn converge(&self, base: &Baseline, tally: &mut Tally) -> Result<()> {
        for (command, args) in [
            ("sync", self.sync_args(&[])),
            ("validate", fleet_args(self.fleet, "validate", &[])),
        ] {
            let finished = self.cli.run(&args)?;
            if finished.code != Some(0) {
                let failed: Vec<String> = cli::parse(&finished)
                    .ok()
                    .and_then(|report| {
                        report["tenants"].as_array().map(|tenants| {
                            tenants
                                .iter()
                                .filter(|t| {
                                    !matches!(t["status"].as_str(), Some("in_sync" | "synced"))
                                })
                                .map(|t| format!("{} {} {}", t["tenant"], t["status"], t["error"]))
                                .collect()
                        })
                    })
                    .unwrap_or_default();
                tally.violation(format!(
                    "the re-run {command} exited with {:?}: {} {}",
                    finished.code,
                    failed.join("; "),
                    finished.stderr_tail()
                ));
            }
        }
        for name in probe::scratch_databases(self.fleet, &self.pids)? {
            tally.violation(format!(
                "scratch database {name} of a killed run survived the next target load"
            ));
        }
        if self.fleet.database == Database::Sqlite {
            for tenant in probe::hot_journals(self.fleet) {
                tally.violation(format!(
                    "tenant {tenant}: the re-run sync left its hot journal in place"
                ));
            }
            for problem in probe::sqlite_integrity(self.fleet, &[])? {
                tally.violation(format!("after the re-run: {problem}"));
            }
        }
        self.check_rows(base, tally, "after the re-run")
    }

    fn check_rows(&self, base: &Baseline, tally: &mut Tally, when: &str) -> Result<()> {
        match self.fleet.checksums() {
            Err(error) => tally.violation(format!("rows unreadable {when}: {error:#}")),
            Ok(sums) => {
                for (tenant, before) in &base.sums {
                    if sums.get(tenant) != Some(before) {
                        tally.violation(format!("tenant {tenant}: rows changed {when}"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Drift that `ALTER`s an existing table, so a lock on the tenant's tables blocks it.
fn table_level(kind: DriftKind) -> bool {
    !matches!(kind, DriftKind::ChangedView | DriftKind::MissingTable)
}

/// `(steps succeeded, steps total, rolled back)` from an execute error's message
/// (`step 3 of 7 failed (...)`, see core's `Error::Execute`).
pub fn progress(message: &str) -> Option<(usize, usize, bool)> {
    let rest = &message[message.find("step ")? + 5..];
    let (failing, rest) = rest.split_once(" of ")?;
    let total: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let failing: usize = failing.trim().parse().ok()?;
    let total: usize = total.parse().ok()?;
    Some((
        failing.checked_sub(1)?,
        total,
        message.contains("tenant rolled back"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_progress_from_execute_errors() {
        assert_eq!(
            progress("tenant \"a\": step 3 of 7 failed (add column x): lock wait timeout"),
            Some((2, 7, false))
        );
        assert_eq!(
            progress("tenant \"a\": step 1 of 2 failed (x), tenant rolled back: boom"),
            Some((0, 2, true))
        );
        assert_eq!(progress("tenant \"a\": lock not granted"), None);
    }
}
