//! Staged syncs on the real PostgreSQL server: a failing canary stops the run before any
//! other tenant is touched; waves stop at `--max-failures` and otherwise run in order
//! with their numbers in the ledger; three shards given one `--run-id` share one run in
//! a PostgreSQL ledger, and resume their own tenants.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use assert_cmd::Command;
use common::{postgres, unique};
use serde_json::Value;

/// Every tenant has `accounts`; the target adds a NOT NULL column without a default,
/// which PostgreSQL cannot add to a table with rows: a tenant with a row fails.
const OLD: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL)";
const TARGET: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL, code text NOT NULL);\nCREATE INDEX accounts_name ON accounts (name);";

/// `n` PostgreSQL tenants `PREFIX_000`…, a target file and a SQLite ledger path.
struct PgFleet {
    url: String,
    client: tokio_postgres::Client,
    names: Vec<String>,
    dir: tempfile::TempDir,
}

impl PgFleet {
    /// Creates the tenants; those in `failing` get a row, so they cannot be synced.
    async fn new(url: &str, tag: &str, n: usize, failing: &[usize]) -> Self {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(connection);
        let prefix = unique(tag);
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}_{i:03}")).collect();
        let mut setup = String::new();
        for (i, name) in names.iter().enumerate() {
            setup.push_str(&format!(
                "CREATE SCHEMA \"{name}\"; SET search_path TO \"{name}\"; {OLD};"
            ));
            if failing.contains(&i) {
                setup.push_str("INSERT INTO accounts VALUES (1, 'a');");
            }
        }
        client
            .batch_execute(&setup)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("schema.sql"), TARGET).unwrap_or_else(|e| panic!("{e}"));
        Self {
            url: url.to_string(),
            client,
            names,
            dir,
        }
    }

    fn pattern(&self) -> String {
        self.names[0].trim_end_matches("_000").to_string() + "_*"
    }

    fn ledger(&self) -> PathBuf {
        self.dir.path().join("ledger.db")
    }

    /// `sync` of every tenant of the fleet with `args`, expecting exit `code`.
    fn sync(&self, args: &[&str], code: i32) -> std::process::Output {
        let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
        command
            .env("NO_COLOR", "1")
            .env_remove("SCHEMA_SYNC_LEDGER")
            .current_dir(self.dir.path())
            .args(["sync", "--url", &self.url, "--target", "schema.sql"])
            .args(args);
        if !args.iter().any(|a| *a == "--resume" || *a == "--ledger") {
            command.arg("--tenant-pattern").arg(self.pattern());
        }
        if !args.contains(&"--ledger") {
            command.arg("--ledger").arg(self.ledger());
        }
        let output = command.output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            output.status.code(),
            Some(code),
            "stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// `runs show RUN --format json` on `ledger`.
    fn show(&self, run: &str, ledger: &str) -> Value {
        let output = Command::cargo_bin("schema-sync")
            .unwrap_or_else(|e| panic!("{e}"))
            .args(["runs", "show", run, "--format", "json", "--ledger", ledger])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        json(&output.stdout)
    }

    /// Each tenant's (status, wave) in the ledger's record of `run`.
    fn recorded(&self, run: &str) -> BTreeMap<String, (String, Option<u64>)> {
        let show = self.show(run, &self.ledger().display().to_string());
        tenants_of(&show)
            .into_iter()
            .map(|t| {
                let status = t["status"].as_str().unwrap_or_default().to_string();
                (
                    t["tenant"].as_str().unwrap_or_default().to_string(),
                    (status, t["wave"].as_u64()),
                )
            })
            .collect()
    }

    /// The tenants that have the target's `code` column: those the sync changed.
    async fn changed(&self) -> Vec<String> {
        let rows = self
            .client
            .query(
                "SELECT table_schema FROM information_schema.columns WHERE table_schema = ANY($1) AND table_name = 'accounts' AND column_name = 'code' ORDER BY 1",
                &[&self.names],
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        rows.iter().map(|r| r.get(0)).collect()
    }

    async fn clear_rows(&self, tenant: usize) {
        self.client
            .batch_execute(&format!("DELETE FROM \"{}\".accounts", self.names[tenant]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    async fn drop_all(&self) {
        let mut drop = String::new();
        for name in &self.names {
            drop.push_str(&format!("DROP SCHEMA \"{name}\" CASCADE;"));
        }
        self.client
            .batch_execute(&drop)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn json(output: &[u8]) -> Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(output)))
}

fn tenants_of(document: &Value) -> Vec<Value> {
    document["tenants"].as_array().cloned().unwrap_or_default()
}

fn run_id(document: &Value) -> String {
    document["run_id"].as_str().unwrap_or_default().to_string()
}

/// The run id a text run prints on stderr as it starts.
fn printed_run(stderr: &str) -> String {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("run "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_failing_canary_stops_the_run_before_any_other_tenant_is_touched() {
    let Some(url) = postgres() else { return };
    let fleet = PgFleet::new(&url, "cnr", 6, &[0]).await;
    let names = &fleet.names;

    // --canary 1: the first tenant in selection order, which fails.
    let output = fleet.sync(&["--canary", "1", "--concurrency", "4"], 1);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    let run = printed_run(&stderr);
    assert!(
        stdout.contains("canary (wave 0) started: 1 tenant\n")
            && stdout.contains("canary (wave 0) finished: 0 synced, 0 in sync, 1 failed"),
        "{stdout}"
    );
    assert!(!stdout.contains("wave 1 of 1 started"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "stopped: the canary failed: \"{}\" failed or was refused, so the run stopped before any other tenant was touched (5 tenants skipped); fix that tenant (the error is above), then run `schema-sync sync --resume {run}` to finish the run",
            names[0]
        )),
        "{stderr}"
    );
    // Nothing changed anywhere: the canary rolled back, the others never started.
    assert_eq!(fleet.changed().await, Vec::<String>::new());
    let recorded = fleet.recorded(&run);
    assert_eq!(recorded.len(), 6);
    assert_eq!(recorded[&names[0]], ("failed".to_string(), Some(0)));
    for name in &names[1..] {
        assert_eq!(recorded[name], ("skipped".to_string(), Some(1)), "{name}");
    }
    // Not started, so never marked started either.
    let show = fleet.show(&run, &fleet.ledger().display().to_string());
    assert!(
        tenants_of(&show)
            .iter()
            .filter(|t| t["status"] == "skipped")
            .all(|t| t["started_at_ms"].is_null()),
        "{show}"
    );
    assert_eq!(show["run"]["status"], "failed");

    // --canary-tenants GLOB, JSON: the matching tenants first, the stop in the document.
    let glob = format!("{}_00[03]", fleet.pattern().trim_end_matches("_*"));
    let output = fleet.sync(&["--canary-tenants", &glob, "--format", "json"], 1);
    let document = json(&output.stdout);
    let order: Vec<(String, String, u64)> = tenants_of(&document)
        .iter()
        .map(|t| {
            (
                t["tenant"].as_str().unwrap_or_default().to_string(),
                t["status"].as_str().unwrap_or_default().to_string(),
                t["wave"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    let expected: Vec<(String, String, u64)> = [0, 3, 1, 2, 4, 5]
        .iter()
        .map(|&i| {
            let (status, wave) = match i {
                0 => ("failed", 0),
                3 => ("synced", 0),
                _ => ("skipped", 1),
            };
            (names[i].clone(), status.to_string(), wave)
        })
        .collect();
    assert_eq!(order, expected, "{document}");
    assert_eq!(document["summary"]["skipped"], 4);
    assert_eq!(
        document["waves"],
        serde_json::json!([
            {"wave": 0, "canary": true, "tenants": 2, "started": true, "failures": 1},
            {"wave": 1, "canary": false, "tenants": 4, "started": false, "failures": 0},
        ])
    );
    assert!(
        document["stopped"]
            .as_str()
            .is_some_and(|s| s.starts_with(&format!("the canary failed: \"{}\"", names[0]))),
        "{document}"
    );
    // Only the passing canary changed.
    assert_eq!(fleet.changed().await, vec![names[3].clone()]);

    // Usage errors: both canary flags, a glob matching nothing (exit 2, nothing touched).
    let both = fleet.sync(&["--canary", "1", "--canary-tenants", "x"], 2);
    assert!(text(&both.stderr).contains("cannot be used with"));
    let none = fleet.sync(&["--canary-tenants", "nomatch_*"], 2);
    assert!(
        text(&none.stderr)
            .contains("--canary-tenants \"nomatch_*\" matches none of the 6 selected tenants"),
        "{}",
        text(&none.stderr)
    );
    assert_eq!(fleet.changed().await, vec![names[3].clone()]);
    fleet.drop_all().await;
}

#[tokio::test]
async fn waves_stop_at_the_failure_limit_and_otherwise_run_in_order() {
    let Some(url) = postgres() else { return };
    let fleet = PgFleet::new(&url, "wav", 10, &[0]).await;
    let names = &fleet.names;
    let waves_of = |recorded: &BTreeMap<String, (String, Option<u64>)>| -> Vec<Option<u64>> {
        names.iter().map(|n| recorded[n].1).collect()
    };
    // 1, then 50% (cumulative: tenants 2-5), then the rest.
    let expected_waves: Vec<Option<u64>> = [1, 2, 2, 2, 2, 3, 3, 3, 3, 3]
        .iter()
        .map(|&w| Some(w))
        .collect();

    // Wave 1 fails; with --max-failures 1 the later waves do not start.
    let output = fleet.sync(
        &[
            "--waves",
            "1,50%,100%",
            "--max-failures",
            "1",
            "--format",
            "json",
        ],
        1,
    );
    let document = json(&output.stdout);
    let run = run_id(&document);
    let recorded = fleet.recorded(&run);
    assert_eq!(waves_of(&recorded), expected_waves);
    assert_eq!(recorded[&names[0]].0, "failed");
    assert!(
        names[1..].iter().all(|n| recorded[n].0 == "skipped"),
        "{recorded:?}"
    );
    assert_eq!(fleet.changed().await, Vec::<String>::new());
    assert_eq!(
        document["stopped"],
        "wave 1 finished with 1 failed or refused tenant in the run, reaching --max-failures 1: the later waves were not started (9 tenants skipped); fix the failed tenants (the errors are above), then run `schema-sync sync --resume "
            .to_string()
            + &run
            + "` to finish the run"
    );
    let started: Vec<bool> = document["waves"]
        .as_array()
        .map(|w| w.iter().map(|w| w["started"] == true).collect())
        .unwrap_or_default();
    assert_eq!(started, [true, false, false]);

    // Without --max-failures any failure stops the waves too.
    let output = fleet.sync(&["--waves", "1,50%,100%"], 1);
    assert!(
        text(&output.stderr).contains("without --max-failures any failure stops the waves"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(fleet.changed().await, Vec::<String>::new());

    // With --max-failures 2 one failure still lets every later wave start.
    let output = fleet.sync(
        &[
            "--waves",
            "1,50%,100%",
            "--max-failures",
            "2",
            "--format",
            "json",
        ],
        1,
    );
    let document = json(&output.stdout);
    assert!(document["stopped"].is_null(), "{document}");
    assert_eq!(document["summary"]["synced"], 9);
    assert_eq!(document["summary"]["failed"], 1);
    assert_eq!(fleet.changed().await, names[1..].to_vec());

    // No failures: every wave runs, in order, and the ledger has the boundaries.
    fleet.clear_rows(0).await;
    let output = fleet.sync(&["--waves", "1,50%,100%", "--concurrency", "3"], 0);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    let wave_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("wave ")).collect();
    assert_eq!(
        wave_lines,
        [
            "wave 1 of 3 started: 1 tenant",
            "wave 1 of 3 finished: 1 synced, 0 in sync, 0 failed, 0 refused, 0 skipped",
            "wave 2 of 3 started: 4 tenants",
            "wave 2 of 3 finished: 0 synced, 4 in sync, 0 failed, 0 refused, 0 skipped",
            "wave 3 of 3 started: 5 tenants",
            "wave 3 of 3 finished: 0 synced, 5 in sync, 0 failed, 0 refused, 0 skipped",
        ],
        "{stdout}"
    );
    let run = printed_run(&stderr);
    let show = fleet.show(&run, &fleet.ledger().display().to_string());
    let recorded = fleet.recorded(&run);
    assert_eq!(waves_of(&recorded), expected_waves);
    assert_eq!(show["run"]["status"], "succeeded");
    // In order: every tenant of a wave finished before any of the next one started.
    let mut spans: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    for t in tenants_of(&show) {
        let wave = t["wave"].as_u64().unwrap_or(0);
        let (start, end) = (
            t["started_at_ms"].as_i64().unwrap_or(i64::MAX),
            t["ended_at_ms"].as_i64().unwrap_or(i64::MAX),
        );
        let span = spans.entry(wave).or_insert((start, end));
        *span = (span.0.min(start), span.1.max(end));
    }
    let spans: Vec<(i64, i64)> = spans.into_values().collect();
    assert_eq!(spans.len(), 3);
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "waves overlapped: {spans:?}"
    );

    // Boundaries the fleet cannot satisfy are usage errors, before anything runs.
    let short = fleet.sync(&["--waves", "1,10%"], 2);
    assert!(
        text(&short.stderr).contains(
            "--waves: the last wave ends at 10%, which covers 1 of the 10 tenants; end --waves with 100%"
        ),
        "{}",
        text(&short.stderr)
    );
    let bad = fleet.sync(&["--waves", "10%,5%"], 2);
    assert!(
        text(&bad.stderr).contains("wave 2 ends at 5%, not after 10%"),
        "{}",
        text(&bad.stderr)
    );
    fleet.drop_all().await;
}

/// Three shards of one run, named by `--run-id`, into one PostgreSQL ledger (in a
/// database of its own, since the ledger's schema name is fixed).
#[tokio::test]
async fn three_shards_share_one_run_in_a_postgres_ledger() {
    let Some(url) = postgres() else { return };
    let fleet = PgFleet::new(&url, "shr", 12, &[5]).await;
    let names = &fleet.names;
    let database = unique("ss_ledger");
    fleet
        .client
        .batch_execute(&format!("CREATE DATABASE \"{database}\""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ledger = match url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{database}"),
        None => panic!("no database in {url}"),
    };
    let run = format!("deploy-{}", unique("r"));
    let pattern = fleet.pattern();
    let shard_args = |shard: &str| -> Vec<String> {
        [
            "--tenant-pattern",
            pattern.as_str(),
            "--shard",
            shard,
            "--run-id",
            run.as_str(),
            "--ledger",
            ledger.as_str(),
            "--format",
            "json",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut owner: BTreeMap<String, usize> = BTreeMap::new();
    for i in 1..=3 {
        let shard = format!("{i}/3");
        let args = shard_args(&shard);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let owns_failing = {
            // The shard that owns the failing tenant exits 1.
            let listed = Command::cargo_bin("schema-sync")
                .unwrap_or_else(|e| panic!("{e}"))
                .args(["tenants", "--url", &url, "--tenant-pattern", &pattern])
                .args(["--shard", &shard, "--format", "json"])
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            json(&listed.stdout)["tenants"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == names[5].as_str()))
        };
        let output = fleet.sync(&args, if owns_failing { 1 } else { 0 });
        let document = json(&output.stdout);
        assert_eq!(run_id(&document), run);
        for t in tenants_of(&document) {
            let name = t["tenant"].as_str().unwrap_or_default().to_string();
            assert_eq!(owner.insert(name.clone(), i), None, "{name} in two shards");
        }
    }
    assert_eq!(owner.keys().cloned().collect::<Vec<_>>(), *names);

    // `runs show` lists every tenant of every shard exactly once.
    let show = fleet.show(&run, &ledger);
    let listed: Vec<String> = tenants_of(&show)
        .iter()
        .map(|t| t["tenant"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(listed, *names);
    assert_eq!(show["run"]["status"], "failed", "one shard failed: {show}");
    let failing_shard = owner[&names[5]];

    // A shard run twice under the same id is refused: its tenants are already in it.
    let again = shard_args(&format!("{failing_shard}/3"));
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let refused = fleet.sync(&again, 2);
    assert!(
        text(&refused.stderr).contains(&format!(
            "--run-id {run}: {} of the selected tenants (first",
            owner.values().filter(|&&s| s == failing_shard).count()
        )) && text(&refused.stderr).contains(&format!("`schema-sync sync --resume {run}`")),
        "{}",
        text(&refused.stderr)
    );
    let invalid = fleet.sync(&["--run-id", "no spaces"], 2);
    assert!(
        text(&invalid.stderr).contains(
            "run id \"no spaces\" has a character other than a letter, digit, `.`, `_` or `-`"
        ),
        "{}",
        text(&invalid.stderr)
    );

    // A validate names its run only when it records one.
    let unrecorded = Command::cargo_bin("schema-sync")
        .unwrap_or_else(|e| panic!("{e}"))
        .current_dir(fleet.dir.path())
        .args(["validate", "--url", &url, "--target", "schema.sql"])
        .args(["--tenant-pattern", &pattern, "--run-id", "v1"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unrecorded.status.code(), Some(2));
    assert!(
        text(&unrecorded.stderr).contains(
            "--run-id names the run recorded in the ledger, but this validate records none: add --record"
        ),
        "{}",
        text(&unrecorded.stderr)
    );

    // --resume with --shard takes that shard's unfinished tenants only.
    fleet.clear_rows(5).await;
    let resume_args = |shard: usize| -> Vec<String> {
        [
            "--resume".to_string(),
            run.clone(),
            "--shard".to_string(),
            format!("{shard}/3"),
            "--ledger".to_string(),
            ledger.clone(),
            "--format".to_string(),
            "json".to_string(),
        ]
        .to_vec()
    };
    let other = failing_shard % 3 + 1;
    let args = resume_args(other);
    let output = fleet.sync(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    assert_eq!(tenants_of(&json(&output.stdout)), Vec::<Value>::new());
    let args = resume_args(failing_shard);
    let output = fleet.sync(&args.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    let resumed: Vec<(String, String)> = tenants_of(&json(&output.stdout))
        .iter()
        .map(|t| {
            (
                t["tenant"].as_str().unwrap_or_default().to_string(),
                t["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(resumed, [(names[5].clone(), "synced".to_string())]);
    assert_eq!(fleet.changed().await, *names);

    fleet.drop_all().await;
    // The ledger's database: close nothing of ours is left in it, then drop it.
    fleet
        .client
        .batch_execute(&format!("DROP DATABASE \"{database}\" WITH (FORCE)"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
