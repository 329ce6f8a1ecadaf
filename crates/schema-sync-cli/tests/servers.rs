//! The binary against the real PostgreSQL and MariaDB servers: validate, diff, sync and
//! audit over a small fleet.
//!
//! This package is in every run of `cargo xtask test`, whatever `--db` selects, so these
//! tests gate themselves the way the matrix does. The URL comes from
//! `SCHEMA_SYNC_TEST_PG_URL` / `SCHEMA_SYNC_TEST_MYSQL_URL`, which the matrix sets for
//! the databases it selected and found, and removes for the others. When the variable is
//! set, the server must answer (an error fails the test). When it is not, the local
//! server is tried; when nothing answers there the test is SKIPPED with the reason on
//! stderr, except under `CI=true`, where an unreachable server fails the test.

mod common;

use assert_cmd::Command;
use common::{
    MYSQL_SCHEMA, MysqlFleet, PG_SCHEMA, PgFleet, mysql, postgres, run_json as run, server, unique,
};
use serde_json::Value;

/// The SQL script `plan` prints with `args` and `--target schema` (exit 0).
fn plan_script(url: &str, schema: &std::path::Path, args: &[&str]) -> String {
    let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    let output = command
        .env("SCHEMA_SYNC_URL", url)
        .args(["plan", "--target", &schema.display().to_string()])
        .args(args)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    String::from_utf8_lossy(&output).into_owned()
}

/// validate (drift, exit 1) -> diff -> sync (exit 0) -> validate (exit 0) -> audit.
fn fleet_story(url: &str, schema_sql: &str, pattern: &str, drifted: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, schema_sql).unwrap_or_else(|e| panic!("{e}"));
    let select = ["--tenant-pattern", pattern];
    let before = run(url, &schema, &[&["validate"][..], &select].concat(), 1);
    assert_eq!(before["summary"]["total"], 3, "{before}");
    assert_eq!(before["summary"]["drifted"], 1, "{before}");
    let diff = run(url, &schema, &["diff", "--tenant", drifted], 0);
    assert!(
        diff["tenants"][0]["changes"]
            .as_u64()
            .is_some_and(|c| c >= 1),
        "{diff}"
    );
    let synced = run(url, &schema, &[&["sync"][..], &select].concat(), 0);
    assert_eq!(synced["summary"]["synced"], 1, "{synced}");
    let after = run(url, &schema, &[&["validate"][..], &select].concat(), 0);
    assert_eq!(after["summary"]["in_sync"], 3, "{after}");
    let audit = run(url, &schema, &[&["audit"][..], &select].concat(), 0);
    assert_eq!(audit["summary"]["distinct_schemas"], 1, "{audit}");
    assert!(
        audit["tenants"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["hash"] == after["target_hash"]))
    );
}

/// Creates `count` PostgreSQL tenant schemas ([`PgFleet`]) from [`PG_SCHEMA`] plus
/// `drift(i)`, runs `story` with the server's URL, the tenants' glob and their names, and
/// drops the schemas whatever happened.
async fn with_pg_fleet(
    prefix: &str,
    count: usize,
    drift: impl Fn(usize) -> &'static str,
    story: impl FnOnce(&str, &str, &[String]) + std::panic::UnwindSafe,
) {
    let Some(url) = postgres() else { return };
    with_pg_fleet_at(url, prefix, count, drift, story).await;
}

/// [`with_pg_fleet`] in a database of its own, dropped afterwards: a concurrent index
/// build waits for every older transaction of its database, and other tests keep
/// transactions open in the shared one.
async fn with_pg_fleet_in_own_database(
    prefix: &str,
    count: usize,
    drift: impl Fn(usize) -> &'static str,
    story: impl FnOnce(&str, &str, &[String]) + std::panic::UnwindSafe,
) {
    let Some(url) = postgres() else { return };
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
    tokio::spawn(connection);
    let database = unique(prefix);
    admin
        .batch_execute(&format!("CREATE DATABASE \"{database}\""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let own = with_database(&url, &database);
    with_pg_fleet_at(own, prefix, count, drift, story).await;
    admin
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `url` with its database (the path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let host_start = url.find("://").map_or(0, |i| i + 3);
    let (head, rest) = url.split_at(host_start);
    let path = rest.find('/').unwrap_or(rest.len());
    let query = rest[path..].find('?').map_or("", |q| &rest[path + q..]);
    format!("{head}{}/{database}{query}", &rest[..path])
}

/// [`with_pg_fleet`] on the server at `url`.
async fn with_pg_fleet_at(
    url: String,
    prefix: &str,
    count: usize,
    drift: impl Fn(usize) -> &'static str,
    story: impl FnOnce(&str, &str, &[String]) + std::panic::UnwindSafe,
) {
    let fleet = PgFleet::create(url, prefix, count, drift).await;
    let (url, pattern, tenants) = (&fleet.url, &fleet.pattern, &fleet.tenants);
    let created = fleet.created.clone();
    let result = std::panic::catch_unwind(|| {
        created.unwrap_or_else(|e| panic!("{e}"));
        story(url, pattern, tenants);
    });
    fleet.drop_schemas().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_database_replaces_the_path_of_a_url() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}

#[tokio::test]
async fn postgres_fleet_validate_diff_sync_audit() {
    let drift = |i| match i {
        1 => "DROP VIEW post_titles; DROP INDEX posts_title; ALTER TABLE posts DROP COLUMN title;",
        _ => "",
    };
    with_pg_fleet("cli_pg", 3, drift, |url, pattern, tenants| {
        fleet_story(url, PG_SCHEMA, pattern, &tenants[1])
    })
    .await;
}

#[tokio::test]
async fn mysql_fleet_validate_diff_sync_audit() {
    let Some(url) = mysql() else { return };
    let drift = |i| match i {
        1 => "DROP VIEW post_titles; ALTER TABLE posts DROP INDEX posts_title;",
        _ => "",
    };
    let mut fleet = MysqlFleet::create(url, "cli_my", 3, drift).await;
    let (url, pattern, tenants) = (&fleet.url, &fleet.pattern, &fleet.tenants);
    let created = fleet.created.clone();
    let result = std::panic::catch_unwind(|| {
        created.unwrap_or_else(|e| panic!("{e}"));
        fleet_story(url, MYSQL_SCHEMA, pattern, &tenants[1])
    });
    fleet.drop_databases().await;
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// stdout and stderr of a run of the binary.
fn output_of(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("schema-sync"))
        .env("NO_COLOR", "1")
        .env_remove("SCHEMA_SYNC_URL")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn passwords_stay_hidden_with_reachable_servers() {
    // The URLs below name the local servers: they must answer for the test to mean much.
    let (Some(_), Some(_)) = (postgres(), mysql()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, "CREATE TABLE t (id integer);").unwrap_or_else(|e| panic!("{e}"));
    let schema = schema.display().to_string();
    let urls = [
        "postgres://postgres:PW_SECRET_2@127.0.0.1:5432/no_such_database_x",
        "postgres:/postgres:PW_SECRET_2@127.0.0.1:5432/test",
        "postgres://postgres@127.0.0.1:5432/test?sslpassword=PW_SECRET_2",
        "postgres://127.0.0.1:5432/no_such_database_x?user=postgres&password=PW_SECRET_2",
        "host=127.0.0.1 port=5432 user=postgres password=PW_SECRET_2 dbname=test",
        "mysql://root:PW_SECRET_2@127.0.0.1:3306/test",
        "mysql:/root:PW_SECRET_2@127.0.0.1:3306/test",
        "mysql://root@127.0.0.1:3306/test?password=PW_SECRET_2",
    ];
    for url in urls {
        for args in [
            &["validate", "--all-tenants"][..],
            &["tenants"],
            &["audit", "--all-tenants", "--format", "json"],
        ] {
            let target: &[&str] = if args[0] == "validate" {
                &["--target", &schema]
            } else {
                &[]
            };
            let (code, output) = output_of(&[args, &["--url", url], target].concat());
            assert!(
                !output.contains("SECRET_2"),
                "{args:?} --url {url:?} (exit {code:?}) printed: {output}"
            );
        }
    }
    let (code, output) = output_of(&[
        "snapshot",
        "list",
        "x",
        "--snapshot-store",
        "postgres://postgres:PW_SECRET_2@127.0.0.1:5432/no_such_database_x",
    ]);
    assert!(
        code == Some(2) && !output.contains("SECRET_2"),
        "{code:?}: {output}"
    );
}

#[tokio::test]
async fn postgres_sql_target_without_create_privilege_says_what_works() {
    let Some(url) = postgres() else { return };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
    tokio::spawn(connection);
    let role = unique("cli_ro");
    client
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, "CREATE TABLE t (id integer);").unwrap_or_else(|e| panic!("{e}"));
    let role_url = format!("postgres://{role}@127.0.0.1:5432/test");
    let (code, output) = output_of(&[
        "diff",
        "--all-tenants",
        "--url",
        &role_url,
        "--target",
        &schema.display().to_string(),
    ]);
    client
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("CREATE privilege on the database")
            && output.contains("--target tenant:NAME")
            && !output.contains("owner"),
        "{output}"
    );
}

#[test]
fn an_unreachable_server_is_skipped_loudly_or_fails_in_ci() {
    let probe = || {
        server(
            "the self-check's unreachable server (an expected skip)",
            "SCHEMA_SYNC_TEST_NOTHING_URL",
            "postgres://127.0.0.1:1/x",
            "127.0.0.1:1",
        )
    };
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if ci {
        let message = std::panic::catch_unwind(probe)
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| panic!("CI=true must fail on an unreachable server"));
        assert!(
            message.contains("SCHEMA_SYNC_TEST_NOTHING_URL"),
            "{message}"
        );
    } else {
        assert_eq!(probe(), None);
    }
}

/// `validate` with a cache directory: the second run reads the tenants' snapshots from
/// the cache (their cookies did not move), and a tenant changed by hand after that is read
/// again and reported as drifted.
#[tokio::test]
async fn postgres_validate_with_a_cache_sees_a_change_made_between_runs() {
    let Some(url) = postgres() else { return };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
    tokio::spawn(connection);
    let prefix = unique("cli_cache");
    let tenants: Vec<String> = (0..2).map(|i| format!("{prefix}_{i}")).collect();
    for tenant in &tenants {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA \"{tenant}\"; SET search_path TO \"{tenant}\"; {PG_SCHEMA} RESET search_path;"
            ))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, PG_SCHEMA).unwrap_or_else(|e| panic!("{e}"));
    let cache = dir.path().join("cache");
    let cache_dir = cache.display().to_string();
    let pattern = format!("{prefix}_*");
    let validate = [
        "validate",
        "--tenant-pattern",
        &pattern,
        "--cache-dir",
        &cache_dir,
    ];
    let result = std::panic::catch_unwind(|| {
        let first = run(&url, &schema, &validate, 0);
        let second = run(&url, &schema, &validate, 0);
        (first, second)
    });
    let change = client
        .batch_execute(&format!(
            "ALTER TABLE \"{}\".accounts ADD COLUMN nickname text",
            tenants[1]
        ))
        .await;
    let third = std::panic::catch_unwind(|| run(&url, &schema, &validate, 1));
    // What the cache recorded: one index per scope, naming every tenant.
    let indexes: Vec<String> = std::fs::read_dir(&cache)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| std::fs::read_to_string(e.path().join("index.json")).ok())
                .collect()
        })
        .unwrap_or_default();
    for tenant in &tenants {
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{tenant}\" CASCADE"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let (first, second) = result.unwrap_or_else(|p| std::panic::resume_unwind(p));
    change.unwrap_or_else(|e| panic!("{e}"));
    let third = third.unwrap_or_else(|p| std::panic::resume_unwind(p));
    assert_eq!(first["summary"]["in_sync"], 2, "{first}");
    assert_eq!(second["summary"]["in_sync"], 2, "{second}");
    assert_eq!(third["summary"]["drifted"], 1, "{third}");
    assert_eq!(indexes.len(), 1, "one cache scope: {indexes:?}");
    assert!(
        tenants.iter().all(|t| indexes[0].contains(t.as_str())),
        "every tenant is in the cache: {indexes:?}"
    );
}

/// The tenant ids of a document's `tenants`.
fn tenant_ids(document: &Value) -> Vec<String> {
    document["tenants"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["tenant"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `sync --shard 1/3`, `2/3` and `3/3` on a PostgreSQL fleet: the three parts are
/// disjoint, cover every tenant, and together sync every drifted one.
fn shards_story(
    url: &str,
    schema_sql: &str,
    pattern: &str,
    tenants: &[String],
    drifted: &[String],
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, schema_sql).unwrap_or_else(|e| panic!("{e}"));
    let before = run(url, &schema, &["validate", "--tenant-pattern", pattern], 1);
    assert_eq!(tenant_ids(&before), tenants, "{before}");
    let shapes = before["shapes"].as_array().into_iter().flatten();
    let counts: Vec<u64> = shapes.filter_map(|s| s["tenant_count"].as_u64()).collect();
    assert_eq!(counts, [tenants.len() as u64 - 2, 2], "{before}");
    let mut seen: Vec<String> = Vec::new();
    let mut synced: Vec<String> = Vec::new();
    for shard in ["1/3", "2/3", "3/3"] {
        let args = ["sync", "--tenant-pattern", pattern, "--shard", shard];
        let part = run(url, &schema, &args, 0);
        for tenant in part["tenants"].as_array().into_iter().flatten() {
            if tenant["status"] == "synced" {
                synced.extend(tenant["tenant"].as_str().map(str::to_string));
            }
        }
        let ids = tenant_ids(&part);
        assert!(
            !ids.is_empty(),
            "shard {shard} of {} tenants is empty",
            tenants.len()
        );
        seen.extend(ids);
    }
    seen.sort();
    assert_eq!(seen, tenants, "every tenant in exactly one shard");
    synced.sort();
    assert_eq!(synced, drifted);
    let after = run(url, &schema, &["validate", "--tenant-pattern", pattern], 0);
    assert_eq!(after["summary"]["in_sync"], tenants.len(), "{after}");
}

#[tokio::test]
async fn postgres_shards_cover_every_tenant_exactly_once() {
    let drift = |i| match i {
        4 | 11 => "DROP VIEW post_titles; DROP INDEX posts_title;",
        _ => "",
    };
    with_pg_fleet("cli_shard", 15, drift, |url, pattern, tenants| {
        let drifted = [tenants[4].clone(), tenants[11].clone()];
        shards_story(url, PG_SCHEMA, pattern, tenants, &drifted)
    })
    .await;
}

#[tokio::test]
async fn postgres_online_strategy_shows_and_runs_steps_after_commit() {
    let drift = |i| match i {
        1 => "DROP INDEX posts_title;",
        _ => "",
    };
    with_pg_fleet_in_own_database("cli_online", 2, drift, |url, _, tenants| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let schema = dir.path().join("schema.sql");
        std::fs::write(&schema, PG_SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        let drifted = &tenants[1];
        let online = ["--tenant", drifted, "--strategy", "online"];
        let diff = run(url, &schema, &[&["diff"][..], &online].concat(), 0);
        let steps = &diff["tenants"][0]["plan"]["steps"];
        assert_eq!(
            steps[0]["outside_transaction"], true,
            "the index is built after commit: {diff}"
        );
        let plain = run(url, &schema, &["diff", "--tenant", drifted], 0);
        assert!(
            plain["tenants"][0]["plan"]["steps"][0]
                .get("outside_transaction")
                .is_none(),
            "{plain}"
        );
        let script = plan_script(url, &schema, &online);
        assert!(
            script.contains("/* outside the transaction */ CREATE INDEX CONCURRENTLY"),
            "{script}"
        );
        let synced = run(url, &schema, &[&["sync"][..], &online].concat(), 0);
        assert_eq!(synced["summary"]["synced"], 1, "{synced}");
        let after = run(url, &schema, &["validate", "--tenant", drifted], 0);
        assert_eq!(after["summary"]["in_sync"], 1, "{after}");
    })
    .await;
}

#[tokio::test]
async fn mysql_online_strategy_asks_for_online_algorithms_and_copies_only_when_allowed() {
    use mysql_async::prelude::Queryable;
    let Some(url) = mysql() else { return };
    let opts = mysql_async::Opts::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
    let mut conn = mysql_async::Conn::new(opts)
        .await
        .unwrap_or_else(|e| panic!("MariaDB at {url} is required: {e}"));
    let tenant = unique("cli_my_online");
    // A second tenant, allowed to copy by the config key rather than the flag.
    let keyed = format!("{tenant}_key");
    // Each tenant lacks an index (built in place) and has `notes.n` as INT where the
    // target has BIGINT (the server copies the table for that).
    let notes = "CREATE TABLE notes (id INT PRIMARY KEY, n INT NULL);";
    for db in [&tenant, &keyed] {
        conn.query_drop(format!(
            "CREATE DATABASE `{db}`; USE `{db}`; {MYSQL_SCHEMA} {notes} DROP INDEX posts_title ON posts;"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let result = std::panic::catch_unwind(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let schema = dir.path().join("schema.sql");
        std::fs::write(
            &schema,
            format!("{MYSQL_SCHEMA} CREATE TABLE notes (id INT PRIMARY KEY, n BIGINT NULL);"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let online = ["--tenant", tenant.as_str(), "--strategy", "online"];
        let diff = run(&url, &schema, &[&["diff"][..], &online].concat(), 0);
        let algorithms: Vec<&str> = diff["tenants"][0]["plan"]["steps"]
            .as_array()
            .unwrap_or_else(|| panic!("{diff}"))
            .iter()
            .filter_map(|s| s["algorithm"].as_str())
            .collect();
        assert_eq!(algorithms, ["copy", "inplace"], "{diff}");
        let script = plan_script(&url, &schema, &online);
        assert!(
            script.contains("ADD INDEX `posts_title` (`title`), ALGORITHM=INPLACE, LOCK=NONE;"),
            "{script}"
        );
        assert!(script.contains("ALGORITHM=COPY;"), "{script}");
        let sync = [&["sync"][..], &online].concat();
        let refused = run(&url, &schema, &sync, 1);
        assert_eq!(refused["summary"]["failed"], 1, "{refused}");
        let text = refused.to_string();
        assert!(
            text.contains("table `notes`") && text.contains("--allow-copy"),
            "{refused}"
        );
        let copied = run(&url, &schema, &[&sync[..], &["--allow-copy"]].concat(), 0);
        assert_eq!(copied["summary"]["synced"], 1, "{copied}");
        let config = dir.path().join("schema-sync.toml");
        std::fs::write(&config, "allow_copy = true\n").unwrap_or_else(|e| panic!("{e}"));
        let config = config.display().to_string();
        let by_key = [
            "sync",
            "--config",
            &config,
            "--tenant",
            &keyed,
            "--strategy",
            "online",
        ];
        let copied = run(&url, &schema, &by_key, 0);
        assert_eq!(copied["summary"]["synced"], 1, "{copied}");
        let after = run(
            &url,
            &schema,
            &["validate", "--tenant", &tenant, "--tenant", &keyed],
            0,
        );
        assert_eq!(after["summary"]["in_sync"], 2, "{after}");
    });
    for db in [&tenant, &keyed] {
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{db}`"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
