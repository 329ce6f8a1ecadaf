//! The `schema-sync` binary as a child process that can be killed.
//!
//! Output goes to files in the work directory rather than pipes, so a `SIGKILL` never
//! leaves a reader thread waiting and the output of a killed run can still be read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use super::fleet::ChaosFleet;
use crate::cmd;

/// The built CLI.
#[derive(Debug)]
pub struct Cli {
    binary: PathBuf,
    workdir: PathBuf,
    runs: AtomicUsize,
}

/// A CLI process that is running.
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    started: Instant,
    /// What ran, for messages.
    pub shown: String,
}

/// A finished CLI process.
#[derive(Debug)]
pub struct Finished {
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Its stdout.
    pub stdout: String,
    /// Its stderr.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
    /// What ran.
    pub shown: String,
}

impl Finished {
    /// The last lines of stderr, for a violation message.
    pub fn stderr_tail(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        lines[lines.len().saturating_sub(4)..].join(" | ")
    }

    /// Whether the process panicked (Rust's exit code 101 or the panic message).
    pub fn panicked(&self) -> bool {
        self.code == Some(101) || self.stderr.contains("panicked at")
    }
}

impl Cli {
    /// Builds `schema-sync` (debug, or release with `release`) and finds the binary.
    ///
    /// # Errors
    /// When the build fails.
    pub fn build(release: bool, workdir: &Path) -> Result<Cli> {
        let mut args = vec!["build", "-p", "schema-sync-cli"];
        if release {
            args.push("--release");
        }
        cmd::run(&mut cmd::cargo(args))?;
        let profile = if release { "release" } else { "debug" };
        let binary = cmd::target_dir()?.join(profile).join("schema-sync");
        if !binary.is_file() {
            bail!("the build produced no {}", binary.display());
        }
        Ok(Cli {
            binary,
            workdir: workdir.to_path_buf(),
            runs: AtomicUsize::new(0),
        })
    }

    /// Starts the CLI with `args` in the work directory.
    ///
    /// # Errors
    /// When it cannot be started.
    pub fn spawn(&self, args: &[String]) -> Result<Running> {
        let run = self.runs.fetch_add(1, Ordering::Relaxed);
        let stdout = self.workdir.join(format!("run-{run}.out"));
        let stderr = self.workdir.join(format!("run-{run}.err"));
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(&self.workdir)
            .env_remove("SCHEMA_SYNC_URL")
            .env_remove("SCHEMA_SYNC_SNAPSHOT_STORE")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).context("cannot create an output file")?)
            .stderr(std::fs::File::create(&stderr).context("cannot create an output file")?);
        let shown = cmd::display(&command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        Ok(Running {
            child,
            stdout,
            stderr,
            started: Instant::now(),
            shown,
        })
    }

    /// Runs the CLI to completion.
    ///
    /// # Errors
    /// When it cannot be started or waited for.
    pub fn run(&self, args: &[String]) -> Result<Finished> {
        self.spawn(args)?.wait()
    }

    /// Every tenant's snapshot hash from `audit --format json`.
    ///
    /// # Errors
    /// When audit fails or prints no report; a tenant audit could not read is an error
    /// naming it.
    pub fn audit(&self, fleet: &ChaosFleet) -> Result<BTreeMap<String, String>> {
        let (hashes, errors) = self.audit_report(fleet)?;
        if let Some((tenant, error)) = errors.iter().next() {
            bail!("audit could not read tenant {tenant}: {error}");
        }
        Ok(hashes)
    }

    /// The hashes audit read, and the error of each tenant it could not read.
    ///
    /// # Errors
    /// When audit prints no report.
    pub fn audit_report(
        &self,
        fleet: &ChaosFleet,
    ) -> Result<(BTreeMap<String, String>, BTreeMap<String, String>)> {
        let finished = self.run(&fleet_args(fleet, "audit", &[]))?;
        let report = parse(&finished)?;
        let mut hashes = BTreeMap::new();
        let mut errors = BTreeMap::new();
        for tenant in tenants(&report)? {
            let name = tenant["tenant"].as_str().unwrap_or_default().to_string();
            match tenant["hash"].as_str() {
                Some(hash) => {
                    hashes.insert(name, hash.to_string());
                }
                None => {
                    errors.insert(name, tenant["error"].to_string());
                }
            }
        }
        if errors.is_empty() && finished.code != Some(0) {
            bail!(
                "`{}` exited with {:?}: {}",
                finished.shown,
                finished.code,
                finished.stderr_tail()
            );
        }
        Ok((hashes, errors))
    }
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    ///
    /// # Errors
    /// When it cannot be polled.
    pub fn is_running(&mut self) -> Result<bool> {
        Ok(self
            .child
            .try_wait()
            .context("cannot poll the CLI")?
            .is_none())
    }

    /// Sends `SIGKILL` (if still running) and reaps it; `true` when it was still running.
    ///
    /// # Errors
    /// When it cannot be killed or waited for.
    pub fn kill(&mut self) -> Result<bool> {
        let running = self.is_running()?;
        if running {
            self.child.kill().context("cannot kill the CLI")?;
        }
        Ok(running)
    }

    /// Waits for the exit and reads the output.
    ///
    /// # Errors
    /// When it cannot be waited for.
    pub fn wait(mut self) -> Result<Finished> {
        let status = self.child.wait().context("cannot wait for the CLI")?;
        self.finish(status)
    }

    /// Waits at most `limit`; kills it after that and reports `None`.
    ///
    /// # Errors
    /// When it cannot be waited for.
    pub fn wait_at_most(mut self, limit: Duration) -> Result<Option<Finished>> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().context("cannot poll the CLI")? {
                return self.finish(status).map(Some);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill()?;
        let _ = self.wait()?;
        Ok(None)
    }

    fn finish(self, status: ExitStatus) -> Result<Finished> {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        Ok(Finished {
            code: status.code(),
            stdout: read(&self.stdout),
            stderr: read(&self.stderr),
            elapsed: self.started.elapsed(),
            shown: self.shown,
        })
    }
}

/// `command --url .. --all-tenants --tenant-pattern .. --format json` plus `extra`, and
/// `--target` for every command but audit.
pub fn fleet_args(fleet: &ChaosFleet, command: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![command.into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(
        [
            "--url",
            &fleet.url,
            "--all-tenants",
            "--tenant-pattern",
            &fleet.pattern,
            "--format",
            "json",
        ]
        .map(String::from),
    );
    if command != "audit" {
        args.push("--target".into());
        args.push(fleet.target_file.to_string_lossy().into_owned());
    }
    args
}

/// The JSON document a finished run printed.
///
/// # Errors
/// When stdout is not one JSON document.
pub fn parse(finished: &Finished) -> Result<Value> {
    serde_json::from_str(finished.stdout.trim()).map_err(|e| {
        anyhow!(
            "`{}` (exit {:?}) printed no JSON report ({e}): {}",
            finished.shown,
            finished.code,
            finished.stderr_tail()
        )
    })
}

/// The `tenants` array of a report.
///
/// # Errors
/// When there is none.
pub fn tenants(report: &Value) -> Result<&Vec<Value>> {
    report["tenants"]
        .as_array()
        .ok_or_else(|| anyhow!("the JSON report has no tenants array"))
}
