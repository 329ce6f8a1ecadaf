//! One run over several servers (`[[databases]]`): two uniquely named PostgreSQL
//! databases on the local server stand for two servers. Per-server limits measured in
//! `pg_stat_activity`, an unreachable server, server-qualified ids in output and ledger,
//! resume, shards, and the checks of the config. Gated like `servers.rs`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use assert_cmd::Command;
use common::{postgres, unique};
use serde_json::Value;

/// A password that trust authentication ignores: it must never be printed or recorded.
const PASSWORD: &str = "Pw4Servers9x";

/// Every tenant has `slow_ok`, and the target checks `items.n` with it: adding the check
/// to a drifted tenant validates its rows, which sleeps, so tenants overlap in flight.
const TENANT: &str = "
CREATE FUNCTION slow_ok(n integer) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(0.02) IS NOT NULL AND n >= 0 $$;
CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL);
INSERT INTO items VALUES (1, 1);
";
const TARGET: &str = "
CREATE FUNCTION slow_ok(n integer) RETURNS boolean LANGUAGE sql AS $$ SELECT pg_sleep(0.02) IS NOT NULL AND n >= 0 $$;
CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL, CONSTRAINT items_n_ok CHECK (slow_ok(n)));
";

/// The URL of database `name` on the server of `base`, with [`PASSWORD`].
fn database_url(base: &str, name: &str) -> String {
    let (server, _) = base.rsplit_once('/').unwrap_or((base, ""));
    let server = server.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{PASSWORD}@"),
        1,
    );
    format!("{server}/{name}")
}

async fn client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
    tokio::spawn(connection);
    client
}

/// Creates database `name` with tenant schemas `t00`.. `t{count-1}`, drifted (they lack
/// the target's check).
async fn create_database(base: &str, name: &str, count: usize) {
    client(base)
        .await
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut sql = String::new();
    for i in 0..count {
        sql.push_str(&format!(
            "CREATE SCHEMA t{i:02}; SET search_path TO t{i:02}; {TENANT} RESET search_path;"
        ));
    }
    client(&database_url(base, name))
        .await
        .batch_execute(&sql)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn drop_database(base: &str, name: &str) {
    let _ = client(base)
        .await
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}

/// Writes `schema-sync.toml` and the target into `dir`.
fn write_config(dir: &Path, entries: &[(&str, String, Option<usize>)]) {
    let mut config = String::new();
    for (name, url, limit) in entries {
        config.push_str(&format!(
            "[[databases]]\nname = \"{name}\"\nurl = \"{url}\"\n"
        ));
        if let Some(limit) = limit {
            config.push_str(&format!("concurrency = {limit}\n"));
        }
    }
    std::fs::write(dir.join("schema-sync.toml"), config).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("target.sql"), TARGET).unwrap_or_else(|e| panic!("{e}"));
}

/// Runs the binary in `dir` with `args` (and `--target`, `--format json` for fleet
/// commands), expecting `code`; returns stdout as JSON and stderr, after checking that
/// neither shows the password.
fn run(dir: &Path, args: &[&str], code: i32) -> (Value, String) {
    let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    command
        .current_dir(dir)
        .env_remove("SCHEMA_SYNC_URL")
        .env("SCHEMA_SYNC_LEDGER", dir.join("ledger.db"))
        .env("SCHEMA_SYNC_CACHE_DIR", dir.join("cache"))
        .args(args)
        .args(["--format", "json"]);
    if args.first() != Some(&"tenants") {
        command.args(["--target", "target.sql"]);
    }
    let output = command.output().unwrap_or_else(|e| panic!("{e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    );
    assert_eq!(output.status.code(), Some(code), "{stdout}\n{stderr}");
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password was printed: {stdout}\n{stderr}"
    );
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (json, stderr)
}

fn ids(document: &Value) -> BTreeSet<String> {
    document["tenants"]
        .as_array()
        .map(|tenants| {
            tenants
                .iter()
                .filter_map(|t| t["tenant"].as_str().or(t.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn server<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["servers"]
        .as_array()
        .and_then(|servers| servers.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no server {name} in {document}"))
}

/// The largest number of connections seen at once on each of `databases`, polling
/// `pg_stat_activity` until `stop`.
async fn watch_connections(
    base: String,
    databases: [String; 2],
    stop: Arc<AtomicBool>,
) -> [i64; 2] {
    let watcher = client(&base).await;
    let mut most = [0i64; 2];
    while !stop.load(Ordering::SeqCst) {
        for (i, database) in databases.iter().enumerate() {
            let row = watcher
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                    &[database],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            most[i] = most[i].max(row.get::<_, i64>(0));
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sync_covers_two_servers_within_each_servers_limit() {
    let Some(base) = postgres() else { return };
    let (a, b) = (unique("ssf_lim_a"), unique("ssf_lim_b"));
    create_database(&base, &a, 24).await;
    create_database(&base, &b, 24).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // eu-1 may take 2 of its tenants at once; eu-2 has no limit of its own, so the run's
    // --concurrency 6 is its limit: the same fleet shows what eu-1 would do unprotected.
    write_config(
        dir.path(),
        &[
            ("eu-1", database_url(&base, &a), Some(2)),
            ("eu-2", database_url(&base, &b), None),
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn(watch_connections(
        base.clone(),
        [a.clone(), b.clone()],
        stop.clone(),
    ));
    let path = dir.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(|| run(&path, &["sync", "--all-tenants", "--concurrency", "6"], 0))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    stop.store(true, Ordering::SeqCst);
    let most = watcher.await.unwrap_or_else(|e| panic!("{e}"));
    drop_database(&base, &a).await;
    drop_database(&base, &b).await;
    let (synced, _) = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));

    assert_eq!(synced["summary"]["synced"], 48, "{synced}");
    assert!(
        most[0] <= 2,
        "eu-1 had {} connections at once, over its limit of 2",
        most[0]
    );
    assert!(most[0] >= 1, "eu-1 was never seen working");
    assert!(
        most[1] > 2,
        "eu-2 never had more than {} connections: the fleet is too fast to show a limit",
        most[1]
    );
    assert!(
        most[1] <= 6,
        "eu-2 had {} connections, over --concurrency 6",
        most[1]
    );
    let ids = ids(&synced);
    assert!(
        ids.contains("eu-1/t00") && ids.contains("eu-2/t23"),
        "{ids:?}"
    );
    for name in ["eu-1", "eu-2"] {
        let entry = server(&synced, name);
        assert_eq!(entry["synced"], 24, "{entry}");
        assert_eq!(entry["total"], 24, "{entry}");
        assert!(entry["error"].is_null(), "{entry}");
        assert!(
            entry["url"]
                .as_str()
                .is_some_and(|u| u.contains(&format!("/{}", if name == "eu-1" { &a } else { &b }))),
            "{entry}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_server_fails_its_tenants_and_resume_finishes_them() {
    let Some(base) = postgres() else { return };
    let (a, b) = (unique("ssf_down_a"), unique("ssf_down_b"));
    create_database(&base, &a, 3).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_config(
        dir.path(),
        &[
            ("up", database_url(&base, &a), None),
            ("down", database_url(&base, &b), None),
        ],
    );
    let path = dir.path().to_path_buf();
    let base2 = base.clone();
    let b2 = b.clone();
    let story = std::panic::AssertUnwindSafe(async move {
        let select = [
            "--tenant", "up/t00", "--tenant", "up/t01", "--tenant", "down/t00", "--tenant",
            "down/t01",
        ];
        let (first, _) = run(&path, &[&["sync"][..], &select].concat(), 1);
        assert_eq!(first["summary"]["synced"], 2, "{first}");
        assert_eq!(first["summary"]["failed"], 2, "{first}");
        for tenant in first["tenants"].as_array().into_iter().flatten() {
            if tenant["tenant"]
                .as_str()
                .is_some_and(|t| t.starts_with("down/"))
            {
                let message = tenant["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    message.contains("server \"down\"") && message.contains(&b2),
                    "{message}"
                );
                assert_eq!(tenant["error"]["kind"], "connection", "{tenant}");
            }
        }
        assert_eq!(server(&first, "down")["failed"], 2, "{first}");
        assert_eq!(server(&first, "up")["synced"], 2, "{first}");

        // A discovery cannot list the server's tenants: the server is reported once.
        let (all, _) = run(&path, &["validate", "--all-tenants"], 1);
        assert_eq!(all["summary"]["total"], 3, "{all}");
        assert!(
            server(&all, "down")["error"]
                .as_str()
                .is_some_and(|e| e.contains("server \"down\"")),
            "{all}"
        );

        // The ledger names the tenants with their servers, and never the password.
        let (run_id, recorded) = recorded_sync(&path.join("ledger.db"));
        assert_eq!(
            recorded,
            [
                ("down/t00".to_string(), "failed".to_string()),
                ("down/t01".into(), "failed".into()),
                ("up/t00".into(), "synced".into()),
                ("up/t01".into(), "synced".into()),
            ]
        );
        let bytes = std::fs::read(path.join("ledger.db")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PASSWORD),
            "the ledger holds the password"
        );

        // The server comes back: the resume takes exactly its failed tenants.
        create_database(&base2, &b2, 3).await;
        let (resumed, _) = run(&path, &["sync", "--resume", &run_id], 0);
        let expected: BTreeSet<String> = ["down/t00", "down/t01"].map(String::from).into();
        assert_eq!(ids(&resumed), expected, "{resumed}");
        assert_eq!(resumed["summary"]["synced"], 2, "{resumed}");
    });
    let result = futures_catch(story).await;
    drop_database(&base, &a).await;
    drop_database(&base, &b).await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The id of the one `sync` run in the ledger at `path`, and its tenants' ids and statuses.
fn recorded_sync(path: &Path) -> (String, Vec<(String, String)>) {
    let ledger = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    let run_id: String = ledger
        .query_row(
            "SELECT id FROM ledger_runs WHERE command = 'sync'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows = ledger
        .prepare("SELECT tenant, status FROM ledger_tenants WHERE run_id = ?1 ORDER BY tenant")
        .unwrap_or_else(|e| panic!("{e}"));
    let recorded = rows
        .query_map([&run_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{e}"));
    (run_id, recorded)
}

/// Awaits `story`, catching its panic so that the databases are dropped first.
async fn futures_catch(
    story: std::panic::AssertUnwindSafe<impl std::future::Future<Output = ()> + Send + 'static>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    tokio::spawn(story.0).await.map_err(|e| {
        e.try_into_panic()
            .unwrap_or_else(|e| Box::new(e.to_string()))
    })
}

#[tokio::test]
async fn shards_over_two_servers_cover_every_tenant_once() {
    let Some(base) = postgres() else { return };
    let (a, b) = (unique("ssf_shard_a"), unique("ssf_shard_b"));
    create_database(&base, &a, 8).await;
    create_database(&base, &b, 8).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_config(
        dir.path(),
        &[
            ("a", database_url(&base, &a), None),
            ("b", database_url(&base, &b), None),
        ],
    );
    let path = dir.path().to_path_buf();
    let result = tokio::task::spawn_blocking(move || {
        let (all, _) = run(&path, &["tenants"], 0);
        let shards: Vec<BTreeSet<String>> = (1..=3)
            .map(|i| ids(&run(&path, &["tenants", "--shard", &format!("{i}/3")], 0).0))
            .collect();
        (ids(&all), shards)
    })
    .await;
    drop_database(&base, &a).await;
    drop_database(&base, &b).await;
    let (all, shards) = result.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_eq!(all.len(), 16, "{all:?}");
    assert!(
        all.iter()
            .all(|t| t.starts_with("a/t") || t.starts_with("b/t")),
        "{all:?}"
    );
    let mut union = BTreeSet::new();
    for shard in &shards {
        assert!(!shard.is_empty(), "{shards:?}");
        for tenant in shard {
            assert!(
                union.insert(tenant.clone()),
                "{tenant} is in two shards: {shards:?}"
            );
        }
    }
    assert_eq!(union, all);
}

/// Runs `args` in a directory holding `config`, expecting exit 2 and an error that
/// contains every one of `expected`.
fn refused(config: &str, args: &[&str], expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("schema-sync.toml"), config).unwrap_or_else(|e| panic!("{e}"));
    let output = Command::cargo_bin("schema-sync")
        .unwrap_or_else(|e| panic!("{e}"))
        .current_dir(dir.path())
        .env_remove("SCHEMA_SYNC_URL")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for text in expected {
        assert!(stderr.contains(text), "{text:?} not in: {stderr}");
    }
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[test]
fn the_config_of_several_servers_is_checked_before_any_work() {
    let url = format!("postgres://app:{PASSWORD}@127.0.0.1:1/app");
    refused(
        &format!(
            "[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\n[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\n"
        ),
        &["tenants"],
        &["two [[databases]] entries are named \"eu-1\""],
    );
    refused(
        &format!("[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\n"),
        &["tenants", "--url", &url],
        &["[[databases]]", "--url", "remove `url`"],
    );
    refused(
        &format!("url = \"{url}\"\n[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\n"),
        &["tenants"],
        &["[[databases]]", "`url` key"],
    );
    refused(
        &format!("[[databases]]\nname = \"eu 1\"\nurl = \"{url}\"\n"),
        &["tenants"],
        &["server name \"eu 1\""],
    );
    refused(
        &format!("[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\nconcurrency = 0\n"),
        &["tenants"],
        &["`concurrency = 0`"],
    );
    refused(
        "[[databases]]\nname = \"eu-1\"\n",
        &["tenants"],
        &["has no `url`"],
    );
    refused(
        &format!(
            "[[databases]]\nname = \"pg\"\nurl = \"{url}\"\n[[databases]]\nname = \"my\"\nurl = \"mysql://root@127.0.0.1:1/x\"\n"
        ),
        &["tenants"],
        &[
            "mixes kinds of database",
            "\"pg\" is postgres",
            "\"my\" is mysql",
        ],
    );
    refused(
        &format!("[[databases]]\nname = \"eu-1\"\nurl = \"{url}\"\nport = 5\n"),
        &["tenants"],
        &["unknown field `port`"],
    );
}
