//! Starting the local servers the gate needs, so that `cargo xtask ci` passes on a fresh
//! machine as typed.
//!
//! For PostgreSQL and MariaDB: when no `SCHEMA_SYNC_TEST_*_URL` names a server and the
//! local one does not answer, start it the way this machine's packages install it
//! (`pg_ctlcluster ... main start`, `start-stop-daemon ... mariadbd`) and wait until it
//! accepts connections. For the S3 snapshot-store tests: run `.ci/s3-server`, which starts
//! moto on loopback (installing it with pip when missing). A server that cannot be started
//! this way is left to the test matrix, which falls back to Docker or reports it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::cmd;
use crate::servers::{self, Database};

/// How long a started server gets to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Starts every local server that is down and can be started here.
///
/// # Errors
/// When a server was started but never answered, or the S3 test server did not start.
pub fn ensure_local_servers() -> Result<()> {
    for database in [Database::Postgres, Database::Mysql] {
        ensure(database)?;
    }
    ensure_s3()
}

fn ensure(database: Database) -> Result<()> {
    let (Some(env_var), Some(url)) = (database.env_var(), database.local_url()) else {
        return Ok(());
    };
    if std::env::var(env_var).is_ok_and(|v| !v.trim().is_empty()) {
        return Ok(()); // The user named a server; the matrix uses or reports it.
    }
    if servers::probe(database, url).is_ok() {
        eprintln!(
            "xtask: {} answers at {}",
            database.name(),
            servers::redact(url)
        );
        return Ok(());
    }
    let Some(mut start) = start_command(database) else {
        eprintln!(
            "xtask: {} is down and cannot be started here; the test matrix will try Docker",
            database.name()
        );
        return Ok(());
    };
    eprintln!("xtask: starting {}", database.name());
    if let Err(error) = cmd::run(&mut start) {
        // It may already be starting; waiting tells.
        eprintln!("xtask: {error:#}; waiting in case it is already starting");
    }
    let started = Instant::now();
    while started.elapsed() < READY_TIMEOUT {
        if servers::probe(database, url).is_ok() {
            eprintln!("xtask: {} is ready", database.name());
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    bail!(
        "{} did not accept connections within {}s after starting it; {}",
        database.name(),
        READY_TIMEOUT.as_secs(),
        database.start_hint()
    )
}

/// The command that starts `database` on this kind of machine, when it has one.
fn start_command(database: Database) -> Option<Command> {
    match database {
        Database::Postgres => {
            let version = std::fs::read_dir("/etc/postgresql")
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .max()?;
            let mut command = Command::new("pg_ctlcluster");
            command.args(["--skip-systemctl-redirect", &version, "main", "start"]);
            Some(command)
        }
        Database::Mysql => {
            let daemon = Path::new("/usr/sbin/mariadbd");
            if !daemon.exists() {
                return None;
            }
            // mariadbd needs its socket directory, which a reboot may have removed.
            let _ = Command::new("install")
                .args(["-d", "-o", "mysql", "-g", "mysql", "/run/mysqld"])
                .status();
            let mut command = Command::new("start-stop-daemon");
            command.args(["--start", "--oknodo", "--background", "--exec"]);
            command.arg(daemon);
            Some(command)
        }
        Database::Sqlite => None,
    }
}

fn ensure_s3() -> Result<()> {
    let script = cmd::workspace_root().join(".ci").join("s3-server");
    cmd::run(Command::new("bash").arg(&script))
        .with_context(|| format!("the S3 test server did not start ({})", script.display()))
}
