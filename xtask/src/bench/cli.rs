//! Running the release CLI as a child process: wall time, peak memory, parsed JSON.
//!
//! Peak memory is the child's `VmHWM` (resident high-water mark) from
//! `/proc/<pid>/status`, sampled every few milliseconds while it runs: the kernel keeps the
//! maximum itself, so the last sample before exit misses at most the growth of the final
//! interval. This avoids `getrusage(RUSAGE_CHILDREN)`, which needs `unsafe` (forbidden in
//! the workspace) and reports the maximum over every child ever waited for, cargo
//! included.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::cmd;

const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// The release build of `schema-sync`.
#[derive(Debug)]
pub struct Cli {
    binary: PathBuf,
}

/// One finished run of the CLI.
#[derive(Debug)]
pub struct Run {
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// Peak resident memory in KiB, when `/proc` could be read.
    pub peak_rss_kib: Option<u64>,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Cli {
    /// Builds the CLI in release mode and finds the binary.
    ///
    /// # Errors
    /// When the build fails or cargo does not report a target directory.
    pub fn build() -> Result<Cli> {
        cmd::run(&mut cmd::cargo([
            "build",
            "--release",
            "-p",
            "schema-sync-cli",
        ]))?;
        let binary = cmd::target_dir()?.join("release").join("schema-sync");
        if !binary.is_file() {
            bail!("the release build produced no {}", binary.display());
        }
        Ok(Cli { binary })
    }

    /// Runs the CLI with `args` in `workdir` (so no stray `schema-sync.toml` is read).
    ///
    /// # Errors
    /// When the binary cannot be started or waited for.
    pub fn run(&self, args: &[String], workdir: &Path) -> Result<Run> {
        let mut command = Command::new(&self.binary);
        command
            .args(args)
            .current_dir(workdir)
            .env_remove("SCHEMA_SYNC_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let shown = cmd::display(&command);
        eprintln!("$ {shown}");
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
        let mut peak = None;
        let status = loop {
            if let Some(status) = child.try_wait().context("cannot wait for the CLI")? {
                break status;
            }
            if let Some(hwm) = read_hwm(&status_file) {
                peak = Some(peak.map_or(hwm, |p: u64| p.max(hwm)));
            }
            std::thread::sleep(SAMPLE_EVERY);
        };
        let elapsed = started.elapsed();
        Ok(Run {
            elapsed,
            peak_rss_kib: peak,
            code: status.code(),
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
}

/// `VmHWM` in KiB from a `/proc/<pid>/status` file.
fn read_hwm(path: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    parse_hwm(&status)
}

fn parse_hwm(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
}

/// One tenant of a `validate` or `sync` JSON report.
#[derive(Debug, Clone)]
pub struct TenantOutcome {
    /// Tenant id.
    pub tenant: String,
    /// `in_sync`, `drifted`, `synced`, `refused`, `failed` or `skipped`.
    pub status: String,
    /// Hash of the live schema before any change.
    pub hash: Option<String>,
    /// The error, as `kind: message`.
    pub error: Option<String>,
    /// Milliseconds the tenant's plan took to apply (`execution.duration_ms`), in `sync`.
    pub apply_ms: Option<u64>,
    /// Milliseconds from asking for the tenant's lock to its commit
    /// (`execution.locked_ms`), in `sync`.
    pub locked_ms: Option<u64>,
}

/// The parts of a `validate` or `sync` JSON report the bench checks.
#[derive(Debug)]
pub struct Report {
    /// Hash of the target snapshot.
    pub target_hash: String,
    /// Every tenant.
    pub tenants: Vec<TenantOutcome>,
    /// `summary.distinct_schemas`, when present.
    pub distinct_schemas: Option<u64>,
}

/// Parses the one JSON document `--format json` prints.
///
/// # Errors
/// When stdout is not that document.
pub fn parse_report(stdout: &str) -> Result<Report> {
    let value: Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!(
            "the CLI did not print one JSON document: {}",
            stdout.chars().take(400).collect::<String>()
        )
    })?;
    let target_hash = value["target_hash"]
        .as_str()
        .ok_or_else(|| anyhow!("the JSON report has no target_hash"))?
        .to_string();
    let tenants = value["tenants"]
        .as_array()
        .ok_or_else(|| anyhow!("the JSON report has no tenants array"))?
        .iter()
        .map(|t| {
            let error = match &t["error"] {
                Value::Null => None,
                e => Some(format!(
                    "{}: {}",
                    e["kind"].as_str().unwrap_or("error"),
                    e["message"].as_str().unwrap_or_default()
                )),
            };
            Ok(TenantOutcome {
                tenant: t["tenant"]
                    .as_str()
                    .ok_or_else(|| anyhow!("a tenant entry has no name: {t}"))?
                    .to_string(),
                status: t["status"].as_str().unwrap_or_default().to_string(),
                hash: t["hash"].as_str().map(str::to_string),
                error,
                apply_ms: t["execution"]["duration_ms"].as_u64(),
                locked_ms: t["execution"]["locked_ms"].as_u64(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Report {
        target_hash,
        tenants,
        distinct_schemas: value["summary"]["distinct_schemas"].as_u64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vmhwm() {
        let status =
            "Name:\tschema-sync\nVmPeak:\t  20000 kB\nVmHWM:\t    4242 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(parse_hwm(status), Some(4242));
        assert_eq!(parse_hwm("Name: x\n"), None);
    }

    #[test]
    fn parses_the_documented_report() -> Result<()> {
        let json = r#"{"command":"validate","target_hash":"ab","tenants":[
            {"tenant":"bench_t00001","status":"in_sync","in_sync":true,"hash":"ab","changes":0,"destructive":false,"error":null},
            {"tenant":"bench_t00002","status":"failed","in_sync":false,"hash":null,"changes":0,"destructive":false,"error":{"kind":"connection","message":"gone"}}],
            "summary":{"total":2,"in_sync":1,"drifted":0,"synced":0,"refused":0,"failed":1,"skipped":0,"distinct_schemas":1,"duration_ms":12}}"#;
        let report = parse_report(json)?;
        assert_eq!(report.target_hash, "ab");
        assert_eq!(report.tenants.len(), 2);
        assert_eq!(report.tenants[1].error.as_deref(), Some("connection: gone"));
        assert_eq!(report.distinct_schemas, Some(1));
        Ok(())
    }

    #[test]
    fn reads_a_synced_tenants_apply_and_lock_times() -> Result<()> {
        let json = r#"{"command":"sync","target_hash":"ab","tenants":[
            {"tenant":"bench_t00001","status":"synced","hash":"aa","error":null,
             "execution":{"steps_total":1,"steps_succeeded":1,"statements_executed":1,"duration_ms":3,"locked_ms":21}}],
            "summary":{"total":1,"synced":1}}"#;
        let report = parse_report(json)?;
        assert_eq!(report.tenants[0].apply_ms, Some(3));
        assert_eq!(report.tenants[0].locked_ms, Some(21));
        Ok(())
    }
}
