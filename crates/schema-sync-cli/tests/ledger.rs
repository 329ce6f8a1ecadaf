//! The run ledger through the binary: recording, `runs list/show`, `--resume` after
//! `kill -9`, `--retry-failed`, a ledger on PostgreSQL or MariaDB, version refusal and
//! redaction.
//!
//! SQLite fleets need no server. The PostgreSQL and MariaDB tests gate themselves like
//! `servers.rs` (see `common`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{mysql, postgres, unique};
use serde_json::Value;

/// A password the test servers ignore (trust authentication): it must never be recorded.
const PASSWORD: &str = "hunter2secret";

fn bin() -> Command {
    let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    command
        .env("NO_COLOR", "1")
        .env_remove("SCHEMA_SYNC_LEDGER");
    command
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(output)))
}

/// A directory of SQLite tenants, a target and a ledger path inside it.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new(tenants: &[(&str, &str)], target: &str) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("tenants")).unwrap_or_else(|e| panic!("{e}"));
        for (name, sql) in tenants {
            rusqlite::Connection::open(dir.path().join("tenants").join(format!("{name}.db")))
                .and_then(|c| c.execute_batch(sql))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(dir.path().join("schema.sql"), target).unwrap_or_else(|e| panic!("{e}"));
        Self { dir }
    }

    fn tenant(&self, name: &str) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("tenants").join(format!("{name}.db")))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The binary in the fleet's directory, so the default ledger lands there.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut command = bin();
        command
            .current_dir(self.dir.path())
            .env(
                "SCHEMA_SYNC_URL",
                format!("sqlite://{}", self.dir.path().join("tenants").display()),
            )
            .args(args);
        if matches!(args.first(), Some(&"sync" | &"validate")) {
            command
                .arg("--target")
                .arg(self.dir.path().join("schema.sql"));
        }
        command
    }

    /// Runs `args`, expecting exit `code`.
    fn out(&self, args: &[&str], code: i32) -> std::process::Output {
        self.cmd(args).assert().code(code).get_output().clone()
    }

    /// Runs `args`, expecting exit `code`, and parses stdout as JSON.
    fn json(&self, args: &[&str], code: i32) -> Value {
        json(&self.out(args, code).stdout)
    }

    fn default_ledger(&self) -> PathBuf {
        self.dir.path().join(".schema-sync").join("ledger.db")
    }
}

const OLD: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
const NEW: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
                   CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);";

#[test]
fn sync_records_a_run_that_runs_list_and_show_print() {
    let fleet = Fleet::new(&[("acme", OLD), ("globex", OLD), ("initech", NEW)], NEW);
    let output = fleet.out(&["sync", "--all-tenants", "--format", "json"], 0);
    let document = json(&output.stdout);
    let run_id = document["run_id"].as_str().unwrap_or_default().to_string();
    assert!(!run_id.is_empty(), "{document}");
    assert!(fleet.default_ledger().is_file());

    // Text: the run id on stderr at start.
    let text = fleet.out(&["sync", "--all-tenants"], 0);
    let stderr = String::from_utf8_lossy(&text.stderr);
    let second = stderr
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert!(
        stderr.contains(&format!(
            "run {second} (recorded in .schema-sync/ledger.db)"
        )),
        "{stderr}"
    );

    let list = fleet.json(&["runs", "list", "--format", "json"], 0);
    let ids: Vec<&str> = list["runs"]
        .as_array()
        .map(|runs| runs.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        ids,
        [second.as_str(), run_id.as_str()],
        "newest first: {list}"
    );
    assert_eq!(list["runs"][1]["status"], "succeeded");
    assert_eq!(list["runs"][1]["command"], "sync");
    assert_eq!(list["runs"][1]["target_hash"], document["target_hash"]);
    let limited = fleet.json(&["runs", "list", "--limit", "1", "--format", "json"], 0);
    assert_eq!(limited["runs"].as_array().map(Vec::len), Some(1));

    let text_list = fleet.out(&["runs", "list"], 0);
    let text_list = String::from_utf8_lossy(&text_list.stdout).into_owned();
    let lines: Vec<&str> = text_list.lines().collect();
    assert_eq!(lines.len(), 2, "{text_list}");
    assert!(lines[1].starts_with(&format!("{run_id}  ")), "{text_list}");
    assert!(lines[1].contains("  succeeded  sync "), "{text_list}");

    let show = fleet.json(&["runs", "show", &run_id, "--format", "json"], 0);
    let statuses: Vec<(String, String)> = show["tenants"]
        .as_array()
        .map(|tenants| {
            tenants
                .iter()
                .map(|t| {
                    (
                        t["tenant"].as_str().unwrap_or_default().to_string(),
                        t["status"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        statuses,
        [
            ("acme".to_string(), "synced".to_string()),
            ("globex".into(), "synced".into()),
            ("initech".into(), "in_sync".into())
        ]
    );
    assert_eq!(show["tenants"][0]["steps_done"], 2, "{show}");
    assert_eq!(show["tenants"][0]["steps_total"], 2, "{show}");
    assert_eq!(show["tenants"][0]["after_hash"], document["target_hash"]);
    assert_ne!(show["tenants"][0]["before_hash"], document["target_hash"]);

    // With --tenant: each statement and its duration.
    let one = fleet.json(
        &[
            "runs", "show", &run_id, "--tenant", "acme", "--format", "json",
        ],
        0,
    );
    let statements = one["tenants"][0]["statements"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(statements.len(), 2, "{one}");
    assert!(
        statements.iter().all(|s| s["duration_ms"].is_u64()),
        "{one}"
    );
    assert!(
        statements
            .iter()
            .any(|s| s["sql"].as_str().is_some_and(|q| q.contains("email"))),
        "{one}"
    );
    let text_show = fleet.out(&["runs", "show", &run_id, "--tenant", "acme"], 0);
    let text_show = String::from_utf8_lossy(&text_show.stdout).into_owned();
    assert!(
        text_show.starts_with(&format!("run {run_id} (sync, succeeded)\n")),
        "{text_show}"
    );
    assert!(text_show.contains("\nacme "), "{text_show}");
    assert!(!text_show.contains("globex"), "{text_show}");
    assert_eq!(
        text_show.lines().filter(|l| l.contains(" ms  ")).count(),
        2,
        "{text_show}"
    );

    let missing = fleet.out(&["runs", "show", "nope"], 2);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no run nope in the ledger"));

    // diff never records; --no-ledger records nothing.
    fleet.out(&["sync", "--all-tenants", "--no-ledger"], 0);
    let after = fleet.json(&["runs", "list", "--format", "json"], 0);
    assert_eq!(after["runs"].as_array().map(Vec::len), Some(2), "{after}");
}

#[test]
fn validate_records_only_when_asked() {
    let fleet = Fleet::new(&[("acme", OLD)], NEW);
    fleet.cmd(&["validate", "--all-tenants"]).assert().code(1);
    assert!(
        !fleet.default_ledger().exists(),
        "validate recorded without --record"
    );
    let output = fleet.out(
        &["validate", "--all-tenants", "--record", "--format", "json"],
        1,
    );
    let run_id = json(&output.stdout)["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let show = fleet.json(&["runs", "show", &run_id, "--format", "json"], 0);
    assert_eq!(show["run"]["command"], "validate");
    assert_eq!(show["run"]["status"], "failed");
    assert_eq!(show["tenants"][0]["status"], "drifted");
    // A validate run cannot be resumed.
    let refused = fleet.out(&["sync", "--resume", &run_id], 2);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("that run was a `validate`"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

#[test]
fn retry_failed_takes_only_the_failed_tenants() {
    // A NOT NULL column without a default cannot be added to a table with rows.
    let old = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);";
    let target =
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, code TEXT NOT NULL);";
    let full = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO users VALUES (1, 'a');";
    let fleet = Fleet::new(&[("a", old), ("b", full), ("c", old)], target);
    let first = fleet.out(&["sync", "--all-tenants", "--format", "json"], 1);
    let first = json(&first.stdout);
    let run_id = first["run_id"].as_str().unwrap_or_default().to_string();
    let show = fleet.json(&["runs", "show", &run_id, "--format", "json"], 0);
    assert_eq!(show["run"]["status"], "failed");
    assert_eq!(show["tenants"][1]["tenant"], "b");
    assert_eq!(show["tenants"][1]["status"], "failed");
    assert!(
        show["tenants"][1]["error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{show}"
    );

    fleet
        .tenant("b")
        .execute_batch("DELETE FROM users")
        .unwrap_or_else(|e| panic!("{e}"));
    let retry = fleet.out(&["sync", "--retry-failed", &run_id, "--format", "json"], 0);
    let retry = json(&retry.stdout);
    let tenants: Vec<&str> = retry["tenants"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["tenant"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(tenants, ["b"], "{retry}");
    assert_eq!(retry["tenants"][0]["status"], "synced");
    let second = fleet.json(
        &[
            "runs",
            "show",
            retry["run_id"].as_str().unwrap_or_default(),
            "--format",
            "json",
        ],
        0,
    );
    assert_eq!(second["run"]["resumes"], run_id.as_str());

    // Selection flags cannot be mixed with a resume.
    let mixed = fleet.out(&["sync", "--resume", &run_id, "--tenant", "a"], 2);
    assert!(
        String::from_utf8_lossy(&mixed.stderr).contains("take the tenants of the recorded run")
    );
    let excluded = fleet.out(&["sync", "--resume", &run_id, "--exclude", "a"], 2);
    assert!(
        String::from_utf8_lossy(&excluded.stderr).contains("--tenant-pattern and --exclude"),
        "{}",
        String::from_utf8_lossy(&excluded.stderr)
    );
}

#[test]
fn a_newer_ledger_is_refused_before_any_tenant_runs() {
    let fleet = Fleet::new(&[("acme", OLD)], NEW);
    fleet.out(&["runs", "list"], 0);
    rusqlite::Connection::open(fleet.default_ledger())
        .and_then(|c| c.execute_batch("INSERT INTO ledger_version VALUES (99, 0)"))
        .unwrap_or_else(|e| panic!("{e}"));
    let output = fleet.out(&["sync", "--all-tenants"], 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(".schema-sync/ledger.db")
            && stderr.contains("the ledger is at version 99 but this build of schema-sync knows version 2; upgrade schema-sync"),
        "{stderr}"
    );
    // Nothing ran: the tenant still lacks the column.
    fleet.cmd(&["validate", "--all-tenants"]).assert().code(1);

    // A ledger that cannot be opened fails fast, naming the path and the fix.
    let blocked = fleet.dir.path().join("blocked");
    std::fs::write(&blocked, "a file, not a directory").unwrap_or_else(|e| panic!("{e}"));
    let ledger = blocked.join("ledger.db");
    let ledger_arg = ledger.display().to_string();
    let output = fleet.out(&["sync", "--all-tenants", "--ledger", &ledger_arg], 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot open the run ledger {}", ledger.display()))
            && stderr.contains("--no-ledger"),
        "{stderr}"
    );
    fleet.cmd(&["validate", "--all-tenants"]).assert().code(1);
}

/// `url` with [`PASSWORD`] as the user's password (when it has a user and none).
fn with_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) if !user.contains(':') => {
                format!("{scheme}://{user}:{PASSWORD}@{host}")
            }
            _ => url.to_string(),
        },
        None => url.to_string(),
    }
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    client
}

/// Every file under `dir` and the given outputs, as one lossy string (for grepping).
fn everything(dir: &Path, outputs: &[&[u8]]) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            all.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    for output in outputs {
        all.push_str(&String::from_utf8_lossy(output));
    }
    all
}

/// Kills a 200-tenant PostgreSQL sync once the ledger shows some tenants done, then
/// resumes it: exactly the rest is processed, every tenant ends at the target, every
/// statement is recorded once, no tenant is half-applied and no password is recorded.
#[tokio::test]
async fn postgres_sync_killed_then_resumed() {
    let Some(url) = postgres() else { return };
    let secret_url = with_password(&url);
    let client = pg_client(&url).await;
    let prefix = unique("ldg");
    const TENANTS: usize = 200;
    let names: Vec<String> = (0..TENANTS).map(|i| format!("{prefix}_{i:03}")).collect();
    let mut setup = String::new();
    for name in &names {
        setup.push_str(&format!(
            "CREATE SCHEMA \"{name}\"; CREATE TABLE \"{name}\".accounts (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO \"{name}\".accounts VALUES (1, 'a');"
        ));
    }
    client
        .batch_execute(&setup)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ledger_dir = dir.path().join("ledger");
    let ledger = ledger_dir.join("ledger.db");
    let target = dir.path().join("schema.sql");
    std::fs::write(
        &target,
        "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, email text);
         CREATE INDEX accounts_email ON accounts (email);
         CREATE TABLE notes (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts (id), body text);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pattern = format!("{prefix}_*");
    let stdout_path = dir.path().join("first.out");
    let stderr_path = dir.path().join("first.err");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("schema-sync"))
        .env("NO_COLOR", "1")
        .env_remove("SCHEMA_SYNC_LEDGER")
        .args([
            "sync",
            "--concurrency",
            "1",
            "--tenant-pattern",
            &pattern,
            "--url",
            &secret_url,
        ])
        .arg("--target")
        .arg(&target)
        .arg("--ledger")
        .arg(&ledger)
        .stdout(std::fs::File::create(&stdout_path).unwrap_or_else(|e| panic!("{e}")))
        .stderr(std::fs::File::create(&stderr_path).unwrap_or_else(|e| panic!("{e}")))
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let done_count = |path: &Path| -> i64 {
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM ledger_tenants WHERE status = 'synced'",
                    [],
                    |row| row.get(0),
                )
            })
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            panic!("the sync ended ({status}) before it could be killed: make it slower");
        }
        if done_count(&ledger) >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "no tenant done after 120 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
    let _ = child.wait();

    let read = rusqlite::Connection::open(&ledger).unwrap_or_else(|e| panic!("{e}"));
    let first_run: String = read
        .query_row("SELECT id FROM ledger_runs", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    let first_status: String = read
        .query_row("SELECT status FROM ledger_runs", [], |row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first_status, "running", "a killed run never ends");
    let statuses: Vec<(String, String)> = read
        .prepare("SELECT tenant, status FROM ledger_tenants WHERE run_id = ?1 ORDER BY tenant")
        .and_then(|mut s| {
            s.query_map([&first_run], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        statuses.len(),
        TENANTS,
        "the run records its selection at start"
    );
    let done: BTreeSet<&str> = statuses
        .iter()
        .filter(|(_, s)| s == "synced")
        .map(|(t, _)| t.as_str())
        .collect();
    let remaining: BTreeSet<&str> = statuses
        .iter()
        .filter(|(_, s)| s != "synced")
        .map(|(t, _)| t.as_str())
        .collect();
    assert!(done.len() >= 10 && !remaining.is_empty(), "{done:?}");
    assert!(
        statuses
            .iter()
            .all(|(_, s)| ["synced", "started", "pending"].contains(&s.as_str())),
        "{statuses:?}"
    );

    // No tenant is half-applied: each has the old shape or the target's.
    let shapes = client
        .query(
            "SELECT n.nspname::text,
                    (SELECT count(*) FROM information_schema.columns c WHERE c.table_schema = n.nspname AND c.table_name = 'accounts'),
                    (SELECT count(*) FROM information_schema.tables t WHERE t.table_schema = n.nspname AND t.table_name = 'notes'),
                    (SELECT count(*) FROM pg_indexes i WHERE i.schemaname = n.nspname AND i.indexname = 'accounts_email')
             FROM pg_namespace n WHERE n.nspname LIKE $1",
            &[&format!("{prefix}\\_%")],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shapes.len(), TENANTS);
    for row in &shapes {
        let tenant: String = row.get(0);
        let shape: (i64, i64, i64) = (row.get(1), row.get(2), row.get(3));
        assert!(
            shape == (2, 0, 0) || shape == (3, 1, 1),
            "tenant {tenant} is half-applied: {shape:?}"
        );
        if done.contains(tenant.as_str()) {
            assert_eq!(shape, (3, 1, 1), "tenant {tenant} recorded synced");
        }
    }

    // Resume: exactly the remaining tenants.
    let resumed = bin()
        .args([
            "sync",
            "--resume",
            &first_run,
            "--format",
            "json",
            "--url",
            &secret_url,
        ])
        .arg("--target")
        .arg(&target)
        .arg("--ledger")
        .arg(&ledger)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let document = json(&resumed.stdout);
    let processed: BTreeSet<&str> = document["tenants"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["tenant"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(processed, remaining);
    let second_run = document["run_id"].as_str().unwrap_or_default().to_string();
    let resumes: Option<String> = read
        .query_row(
            "SELECT resumes FROM ledger_runs WHERE id = ?1",
            [&second_run],
            |row| row.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumes.as_deref(), Some(first_run.as_str()));

    // Every tenant equals the target.
    let validated = bin()
        .args([
            "validate",
            "--tenant-pattern",
            &pattern,
            "--format",
            "json",
            "--url",
            &url,
        ])
        .arg("--target")
        .arg(&target)
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(json(&validated.stdout)["summary"]["in_sync"], TENANTS);

    // Each statement once across the two runs: every tenant has the same statements,
    // recorded in one run only.
    let per_tenant: Vec<(String, i64, i64)> = read
        .prepare(
            "SELECT tenant, count(*), count(DISTINCT run_id) FROM ledger_statements GROUP BY tenant",
        )
        .and_then(|mut s| {
            s.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                .collect()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        per_tenant.len(),
        TENANTS,
        "every tenant's statements are recorded"
    );
    let expected = per_tenant[0].1;
    assert!(expected >= 3, "{per_tenant:?}");
    assert!(
        per_tenant
            .iter()
            .all(|(_, n, runs)| *n == expected && *runs == 1),
        "{per_tenant:?}"
    );
    let distinct: i64 = read
        .query_row(
            "SELECT count(*) FROM (SELECT DISTINCT tenant, statement FROM ledger_statements)",
            [],
            |row| row.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        distinct,
        expected * TENANTS as i64,
        "a statement recorded twice"
    );

    // A resume with another target is refused, naming both hashes.
    let first_hash: String = read
        .query_row(
            "SELECT target_hash FROM ledger_runs WHERE id = ?1",
            [&first_run],
            |row| row.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let changed = dir.path().join("changed.sql");
    std::fs::write(
        &changed,
        format!(
            "{}\nCREATE TABLE extra (id bigint PRIMARY KEY);",
            std::fs::read_to_string(&target).unwrap_or_default()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = bin()
        .args(["sync", "--resume", &first_run, "--url", &secret_url])
        .arg("--target")
        .arg(&changed)
        .arg("--ledger")
        .arg(&ledger)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("the target changed since that run")
            && message.contains(&format!("its target hash was {first_hash}")),
        "{message}"
    );

    // No password anywhere: ledger files (WAL included) and every output.
    let first_out = std::fs::read(&stdout_path).unwrap_or_default();
    let first_err = std::fs::read(&stderr_path).unwrap_or_default();
    let all = everything(
        &ledger_dir,
        &[
            &first_out,
            &first_err,
            &resumed.stdout,
            &resumed.stderr,
            &refused.stderr,
        ],
    );
    assert!(
        all.contains("***"),
        "the command line is recorded, redacted"
    );
    assert!(
        !all.contains(PASSWORD),
        "the password was recorded or printed"
    );

    let mut drop = String::new();
    for name in &names {
        drop.push_str(&format!("DROP SCHEMA \"{name}\" CASCADE;"));
    }
    client
        .batch_execute(&drop)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Syncs the fleet recording into the ledger at `ledger_url` (not the default SQLite
/// file) and returns the output and the run id.
fn sync_into(fleet: &Fleet, ledger_url: &str) -> (std::process::Output, String) {
    let synced = fleet.out(
        &[
            "sync",
            "--all-tenants",
            "--format",
            "json",
            "--ledger",
            ledger_url,
        ],
        0,
    );
    let run_id = json(&synced.stdout)["run_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !run_id.is_empty(),
        "{}",
        String::from_utf8_lossy(&synced.stdout)
    );
    assert!(
        !fleet.default_ledger().exists(),
        "the SQLite ledger was used"
    );
    (synced, run_id)
}

/// `runs show RUN --tenant acme` on the ledger at `ledger_url`: acme was synced with two
/// statements. Returns the command's output.
fn show_acme_synced(fleet: &Fleet, run_id: &str, ledger_url: &str) -> std::process::Output {
    let show = fleet.out(
        &[
            "runs", "show", run_id, "--tenant", "acme", "--format", "json", "--ledger", ledger_url,
        ],
        0,
    );
    let shown = json(&show.stdout);
    assert_eq!(shown["tenants"][0]["status"], "synced", "{shown}");
    assert_eq!(
        shown["tenants"][0]["statements"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
    show
}

/// `--ledger postgres://...`: the tables live in a `schema_sync_ledger` schema, created
/// on first use, and `runs list/show` read them back. The schema's name is fixed, so the
/// test drops it afterwards (`CREATE DATABASE` takes seconds on the test server).
#[tokio::test]
async fn a_ledger_on_postgres() {
    let Some(url) = postgres() else { return };
    let client = pg_client(&url).await;
    let ledger_url = with_password(&url);
    let fleet = Fleet::new(&[("acme", OLD), ("globex", NEW)], NEW);
    let (_, run_id) = sync_into(&fleet, &ledger_url);
    let list = fleet.out(
        &["runs", "list", "--format", "json", "--ledger", &ledger_url],
        0,
    );
    let list = json(&list.stdout);
    let run = list["runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|r| r["id"] == run_id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert!(
        run["command_line"]
            .as_str()
            .is_some_and(|c| c.contains("--ledger postgres://")
                && c.contains("***")
                && !c.contains(PASSWORD)),
        "{list}"
    );
    assert_eq!(run["status"], "succeeded", "{list}");
    show_acme_synced(&fleet, &run_id, &ledger_url);

    let version: i64 = client
        .query_one(
            "SELECT max(version) FROM schema_sync_ledger.ledger_version",
            &[],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version, schema_sync_ledger::LATEST_VERSION);
    let tenants: i64 = client
        .query_one(
            "SELECT count(*) FROM schema_sync_ledger.ledger_tenants WHERE run_id = $1",
            &[&run_id],
        )
        .await
        .map(|row| row.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tenants, 2);
    client
        .batch_execute("DROP SCHEMA schema_sync_ledger CASCADE")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Runs `sql` on the MariaDB server at `url`.
async fn mysql_admin(url: &str, sql: &str) {
    use mysql_async::prelude::Queryable;
    let opts = mysql_async::Opts::from_url(url).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    conn.query_drop(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A MariaDB database and a user with a password granted only that database, dropped
/// when the test ends, passed or not.
struct MysqlLedger {
    admin_url: String,
    name: String,
}

impl MysqlLedger {
    async fn new(admin_url: String) -> Self {
        let name = unique("cli_ledger");
        let ledger = Self { admin_url, name };
        ledger
            .admin(&format!(
                "CREATE DATABASE `{0}`; CREATE USER '{0}'@'%' IDENTIFIED BY '{PASSWORD}'; GRANT ALL ON `{0}`.* TO '{0}'@'%'",
                ledger.name
            ))
            .await;
        ledger
    }

    async fn admin(&self, sql: &str) {
        mysql_admin(&self.admin_url, sql).await;
    }

    /// Every text the ledger recorded about runs, tenants and statements.
    async fn recorded(&self) -> String {
        use mysql_async::prelude::Queryable;
        let opts = mysql_async::Opts::from_url(&self.admin_url).unwrap_or_else(|e| panic!("{e}"));
        let mut conn = mysql_async::Conn::new(opts)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut all = String::new();
        for query in [
            "SELECT CONCAT_WS(' ', id, command, os_user, db_user, host, command_line, target_hash) FROM `{}`.ledger_runs",
            "SELECT CONCAT_WS(' ', tenant, status, error) FROM `{}`.ledger_tenants",
            "SELECT statement FROM `{}`.ledger_statements",
        ] {
            let rows: Vec<String> = conn
                .query(query.replace("{}", &self.name))
                .await
                .unwrap_or_else(|e| panic!("{query}: {e}"));
            all.push_str(&rows.join("\n"));
        }
        all
    }

    /// The ledger URL: the test user, with its password, and its database.
    fn url(&self) -> String {
        let opts = mysql_async::Opts::from_url(&self.admin_url).unwrap_or_else(|e| panic!("{e}"));
        format!(
            "mysql://{0}:{PASSWORD}@{1}:{2}/{0}",
            self.name,
            opts.ip_or_hostname(),
            opts.tcp_port()
        )
    }
}

impl Drop for MysqlLedger {
    fn drop(&mut self) {
        let sql = format!(
            "DROP DATABASE IF EXISTS `{0}`; DROP USER IF EXISTS '{0}'@'%'",
            self.name
        );
        let admin_url = self.admin_url.clone();
        // Drop runs outside the test's runtime, possibly while it unwinds.
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(mysql_admin(&admin_url, &sql)))
        })
        .join();
        if !std::thread::panicking() {
            assert!(matches!(dropped, Ok(Ok(()))), "cleanup failed");
        }
    }
}

/// `--ledger mysql://user:password@host/db`: the tables live in the URL's database,
/// `runs list/show` read them back, the password shows nowhere, and a ledger written by
/// a newer schema-sync is refused before any tenant runs.
#[tokio::test]
async fn a_ledger_on_mysql() {
    let Some(url) = mysql() else { return };
    let db = MysqlLedger::new(url).await;
    let ledger_url = db.url();
    let fleet = Fleet::new(&[("acme", OLD), ("globex", NEW)], NEW);
    let (synced, run_id) = sync_into(&fleet, &ledger_url);
    let list = fleet.out(
        &["runs", "list", "--format", "json", "--ledger", &ledger_url],
        0,
    );
    let runs = json(&list.stdout);
    assert_eq!(runs["runs"][0]["id"], run_id.as_str(), "{runs}");
    assert_eq!(runs["runs"][0]["status"], "succeeded", "{runs}");
    assert!(
        runs["runs"][0]["command_line"]
            .as_str()
            .is_some_and(|c| c.contains("--ledger mysql://") && c.contains("***")),
        "{runs}"
    );
    let show = show_acme_synced(&fleet, &run_id, &ledger_url);
    let text = fleet.out(&["runs", "show", &run_id, "--ledger", &ledger_url], 0);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("globex"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );

    let recorded = db.recorded().await;
    assert!(
        recorded.contains(&run_id) && recorded.contains("acme") && !recorded.contains(PASSWORD),
        "{recorded}"
    );

    db.admin(&format!(
        "INSERT INTO `{}`.ledger_version VALUES (99, 0)",
        db.name
    ))
    .await;
    let refused = fleet.out(&["sync", "--all-tenants", "--ledger", &ledger_url], 2);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&schema_sync_core::redact_url(&ledger_url))
            && stderr.contains("the ledger is at version 99 but this build of schema-sync knows version 2; upgrade schema-sync"),
        "{stderr}"
    );
    let outputs = [
        &synced.stdout[..],
        &synced.stderr,
        &list.stdout,
        &list.stderr,
        &show.stdout,
        &show.stderr,
        &text.stdout,
        &text.stderr,
        &refused.stdout,
        &refused.stderr,
    ];
    let all = everything(fleet.dir.path(), &outputs);
    assert!(!all.contains(PASSWORD), "the password was shown: {all}");
}

#[test]
fn the_config_key_places_the_ledger_and_jsonl_names_the_run() {
    let fleet = Fleet::new(&[("acme", OLD)], NEW);
    std::fs::write(
        fleet.dir.path().join("schema-sync.toml"),
        "ledger = \"audit/runs.db\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let output = fleet.out(&["sync", "--all-tenants", "--format", "jsonl"], 0);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary = stdout
        .lines()
        .last()
        .map(|l| json(l.as_bytes()))
        .unwrap_or_default();
    assert_eq!(summary["type"], "summary", "{stdout}");
    let run_id = summary["run_id"].as_str().unwrap_or_default().to_string();
    assert!(!run_id.is_empty(), "{stdout}");
    assert!(fleet.dir.path().join("audit").join("runs.db").is_file());
    assert!(!fleet.default_ledger().exists());
    let list = fleet.json(&["runs", "list", "--format", "json"], 0);
    assert_eq!(list["runs"][0]["id"], run_id.as_str(), "{list}");
}
