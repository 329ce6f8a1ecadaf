//! `plan --out DIR --layout`: on SQLite files, PostgreSQL schemas and MariaDB databases,
//! a fleet with three drift shapes is exported in every layout; the layout is parsed
//! (file names, versions, up/down pairs, the manifest), the up files are applied to each
//! shape's tenants (`plain` with `schema-sync migrate`, the others through the database
//! driver), `validate` then exits 0, and the down files bring every tenant back to the
//! hash it had before.
//!
//! The PostgreSQL and MariaDB tests gate themselves like `servers.rs` (see there).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use common::{MYSQL_SCHEMA, MysqlFleet, PG_SCHEMA, PgFleet, mysql, postgres, run_json};
use serde_json::Value;

const SQLITE_SCHEMA: &str = include_str!("../../../examples/quickstart/schema.sql");

const LAYOUTS: [&str; 4] = ["plain", "sqlx", "refinery", "diesel"];

/// Where the tenants live and how a migration file is run on one of them, as a
/// migration tool would: on a session whose default namespace is the tenant's.
enum Fleet {
    Sqlite(PathBuf),
    Postgres(Arc<PgFleet>),
    Mysql(String),
}

impl Fleet {
    fn url(&self) -> String {
        match self {
            Fleet::Sqlite(dir) => format!("sqlite://{}", dir.display()),
            Fleet::Postgres(pg) => pg.url.clone(),
            Fleet::Mysql(url) => url.clone(),
        }
    }

    /// Runs a migration file's SQL on `tenant`, in a transaction when `transactional`.
    async fn apply(&self, tenant: &str, sql: &str, transactional: bool) {
        match self {
            Fleet::Sqlite(dir) => {
                let conn = rusqlite::Connection::open(dir.join(format!("{tenant}.db")))
                    .unwrap_or_else(|e| panic!("{e}"));
                let sql = if transactional {
                    format!("BEGIN; {sql}\nCOMMIT;")
                } else {
                    sql.to_string()
                };
                conn.execute_batch(&sql)
                    .unwrap_or_else(|e| panic!("{tenant}: {e}\n{sql}"));
            }
            Fleet::Postgres(pg) => {
                let (begin, end) = if transactional {
                    ("BEGIN;", "COMMIT;")
                } else {
                    ("", "")
                };
                // On its own: PostgreSQL runs a multi-statement query in one transaction,
                // where CREATE INDEX CONCURRENTLY is refused.
                let search_path = format!("SET search_path TO \"{tenant}\"");
                let sql = format!("{begin}\n{sql}\n{end}");
                for sql in [search_path.as_str(), &sql, "RESET search_path"] {
                    pg.conn
                        .batch_execute(sql)
                        .await
                        .unwrap_or_else(|e| panic!("{tenant}: {e:?}\n{sql}"));
                }
            }
            Fleet::Mysql(url) => {
                use mysql_async::prelude::Queryable;
                let opts = mysql_async::Opts::from_url(url).unwrap_or_else(|e| panic!("{e}"));
                let mut conn = mysql_async::Conn::new(opts)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let sql = format!("USE `{tenant}`;\n{sql}");
                conn.query_drop(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{tenant}: {e}\n{sql}"));
            }
        }
    }
}

/// Runs the binary on the fleet ([`run_json`]).
fn run(fleet: &Fleet, schema: &Path, args: &[&str], code: i32) -> Value {
    run_json(&fleet.url(), schema, args, code)
}

/// tenant -> hash, from `audit`.
fn hashes(fleet: &Fleet, schema: &Path, pattern: &str) -> BTreeMap<String, String> {
    let audit = run(fleet, schema, &["audit", "--tenant-pattern", pattern], 0);
    audit["tenants"]
        .as_array()
        .unwrap_or_else(|| panic!("{audit}"))
        .iter()
        .map(|t| {
            let field = |name: &str| {
                t[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: {t}"))
                    .to_string()
            };
            (field("tenant"), field("hash"))
        })
        .collect()
}

/// Every file under `dir`, relative, with `/` separators.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap_or_else(|e| panic!("{e}"));
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Checks the files of `layout` in `dir` against its manifest and the tool's naming
/// rules, and that no file names a tenant; returns the manifest's migrations.
fn parse_layout(layout: &str, dir: &Path, tenants: &[String]) -> Vec<Value> {
    let manifest: Value =
        serde_json::from_str(&text(&dir.join("manifest.json"))).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(manifest["layout"], layout, "{manifest}");
    assert_eq!(manifest["format"], 1, "{manifest}");
    let migrations = manifest["migrations"]
        .as_array()
        .unwrap_or_else(|| panic!("{manifest}"))
        .clone();
    let versions: Vec<&str> = migrations
        .iter()
        .map(|m| m["version"].as_str().unwrap_or_else(|| panic!("{m}")))
        .collect();
    // Versions are unique and in the order the tool applies them.
    let ordered: Vec<&str> = match layout {
        "diesel" => {
            let mut sorted = versions.clone();
            sorted.sort();
            sorted
        }
        _ => {
            let mut sorted = versions.clone();
            sorted.sort_by_key(|v| v.parse::<i64>().unwrap_or_else(|e| panic!("{v}: {e}")));
            sorted
        }
    };
    assert_eq!(versions, ordered, "{manifest}");
    assert_eq!(
        versions.iter().collect::<BTreeSet<_>>().len(),
        versions.len(),
        "{manifest}"
    );
    let mut expected = BTreeSet::from(["manifest.json".to_string()]);
    for migration in &migrations {
        let (version, name) = (
            migration["version"].as_str().unwrap_or(""),
            migration["name"].as_str().unwrap_or(""),
        );
        assert!(
            name.starts_with("sync_shape_")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        let (up, down) = match layout {
            "plain" | "sqlx" => {
                assert_eq!(version.len(), 14, "YYYYMMDDHHMMSS: {version}");
                (
                    format!("{version}_{name}.up.sql"),
                    format!("{version}_{name}.down.sql"),
                )
            }
            "refinery" => (
                format!("V{version}__{name}.sql"),
                format!("down/V{version}__{name}.down.sql"),
            ),
            _ => {
                let bytes = version.as_bytes();
                assert!(
                    version.len() == 17 && [4, 7, 10].iter().all(|&i| bytes[i] == b'-'),
                    "YYYY-MM-DD-HHMMSS: {version}"
                );
                (
                    format!("{version}_{name}/up.sql"),
                    format!("{version}_{name}/down.sql"),
                )
            }
        };
        assert_eq!(migration["up"], up.as_str(), "{migration}");
        assert_eq!(migration["down"], down.as_str(), "{migration}");
        let outside = migration["outside_transaction"] == true
            || migration["down_outside_transaction"] == true;
        if layout == "diesel" && outside {
            let metadata = format!("{version}_{name}/metadata.toml");
            assert_eq!(text(&dir.join(&metadata)), "run_in_transaction = false\n");
            expected.insert(metadata);
        }
        for (file, outside) in [
            (&up, migration["outside_transaction"] == true),
            (&down, migration["down_outside_transaction"] == true),
        ] {
            let sql = text(&dir.join(file));
            if matches!(layout, "plain" | "sqlx") {
                assert_eq!(sql.starts_with("-- no-transaction\n"), outside, "{file}");
            }
            for tenant in tenants {
                assert!(
                    !sql.contains(tenant.as_str()),
                    "{file} names {tenant}:\n{sql}"
                );
            }
        }
        expected.insert(up);
        expected.insert(down);
    }
    if layout == "refinery" {
        // refinery's own file pattern: every up file matches it, no down file does.
        let refinery = |path: &str| {
            let stem = path.strip_suffix(".sql").unwrap_or("");
            let Some((version, name)) = stem
                .strip_prefix('V')
                .or_else(|| stem.strip_prefix('U'))
                .and_then(|s| s.split_once("__"))
            else {
                return false;
            };
            version.chars().all(|c| c.is_ascii_digit())
                && !name.is_empty()
                && name.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        for file in &expected {
            let name = file.rsplit('/').next().unwrap_or(file);
            assert_eq!(
                refinery(name),
                !file.starts_with("down/") && file.ends_with(".sql"),
                "{file}"
            );
        }
    }
    assert_eq!(files_under(dir), expected);
    migrations
}

/// The export story on a fleet whose tenants `pattern` selects; `tenants` are their
/// names, three shapes are among them and one tenant is in sync. `strategy` is
/// `plain` or `online` (PostgreSQL: index builds outside the transaction).
async fn export_story(
    fleet: &Fleet,
    schema_sql: &str,
    pattern: &str,
    tenants: &[String],
    strategy: &str,
) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, schema_sql).unwrap_or_else(|e| panic!("{e}"));
    let select = ["--tenant-pattern", pattern];
    let strategy = ["--strategy", strategy];
    let before = hashes(fleet, &schema, pattern);
    let validate = run(fleet, &schema, &[&["validate"][..], &select].concat(), 1);
    let drifted: BTreeSet<String> = validate["tenants"]
        .as_array()
        .unwrap_or_else(|| panic!("{validate}"))
        .iter()
        .filter(|t| t["status"] == "drifted")
        .filter_map(|t| t["tenant"].as_str().map(str::to_string))
        .collect();
    assert_eq!(drifted.len(), tenants.len() - 1, "{validate}");

    // Without --allow-destructive: the shape whose up loses data is refused, the shape
    // whose down loses data gets no down file, the third is written whole.
    let out = dir.path().join("refused");
    let out_arg = out.display().to_string();
    let plan = [
        &["plan", "--out", &out_arg, "--layout", "sqlx"][..],
        &select,
        &strategy,
    ]
    .concat();
    let refused = run(fleet, &schema, &plan, 1);
    let problems = refused["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("{refused}"));
    assert_eq!(problems.len(), 2, "{refused}");
    assert!(
        problems.iter().all(|p| p["refused"] == true
            && p["error"]
                .as_str()
                .is_some_and(|e| e.contains("--allow-destructive"))),
        "{refused}"
    );
    let migrations = refused["migrations"]
        .as_array()
        .unwrap_or_else(|| panic!("{refused}"));
    assert_eq!(shapes_of(migrations), 2, "{refused}");
    assert_eq!(
        migrations
            .iter()
            .filter(|m| m["down_refused"] == true && m["down"].is_null())
            .count(),
        1,
        "{refused}"
    );

    for layout in LAYOUTS {
        let out = dir.path().join(layout);
        let out_arg = out.display().to_string();
        let plan = [
            &[
                "plan",
                "--out",
                &out_arg,
                "--layout",
                layout,
                "--allow-destructive",
            ][..],
            &select,
            &strategy,
        ]
        .concat();
        let outside = strategy[1] == "online" || matches!(fleet, Fleet::Sqlite(_));
        if layout == "refinery" && outside {
            // SQLite scripts run their own transaction, and online index builds run
            // outside one; refinery cannot run a migration outside a transaction, so
            // those shapes are refused with the way out.
            let refused = run(fleet, &schema, &plan, 1);
            assert!(
                refused["problems"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty()),
                "{refused}"
            );
            assert!(
                refused.to_string().contains("--layout sqlx or diesel"),
                "{refused}"
            );
            continue;
        }
        let exported = run(fleet, &schema, &plan, 0);
        let migrations = parse_layout(layout, &out, tenants);
        assert_eq!(exported["migrations"].as_array(), Some(&migrations));
        assert_eq!(
            shapes_of(&migrations),
            3,
            "one migration per shape: {exported}"
        );
        assert_eq!(
            migrations.iter().any(|m| m["outside_transaction"] == true),
            outside,
            "{exported}"
        );
        let mut seen: Vec<String> = migrations
            .iter()
            .filter(|m| m["part"] == 1)
            .flat_map(|m| m["tenants"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            drifted.iter().cloned().collect::<Vec<_>>(),
            "every drifted tenant exactly once"
        );
        assert!(
            migrations.iter().any(|m| m["destructive"] == true)
                && migrations.iter().any(|m| !m["down_losses"].is_null()),
            "{exported}"
        );
        // The plain layout goes through `schema-sync migrate` once per fleet (its history
        // then holds these versions), the others through the driver as a tool would.
        let through_migrate = layout == "plain" && strategy[1] == "plain";
        for migration in &migrations {
            let sql = text(&out.join(migration["up"].as_str().unwrap_or("")));
            for tenant in migration["tenants"].as_array().into_iter().flatten() {
                let tenant = tenant.as_str().unwrap_or("");
                assert_eq!(
                    before[tenant],
                    migration["shape_hash"].as_str().unwrap_or("")
                );
                if migration["part"] == 1 {
                    assert_eq!(
                        before[tenant],
                        migration["from_hash"].as_str().unwrap_or("")
                    );
                }
                if !through_migrate {
                    fleet
                        .apply(
                            tenant,
                            strip_mark(&sql),
                            migration["outside_transaction"] != true,
                        )
                        .await;
                }
            }
        }
        if through_migrate {
            migrate_export(fleet, &out, &select, dir.path(), drifted.len());
        }
        let validated = run(fleet, &schema, &[&["validate"][..], &select].concat(), 0);
        assert_eq!(
            validated["summary"]["in_sync"],
            tenants.len(),
            "{layout}: {validated}"
        );
        for migration in migrations.iter().rev() {
            let down = migration["down"]
                .as_str()
                .unwrap_or_else(|| panic!("{migration}"));
            let sql = text(&out.join(down));
            if migration["down_losses"].is_array() {
                assert!(
                    sql.starts_with("-- WARNING: reverting this migration loses data:")
                        || sql.starts_with("-- no-transaction\n-- WARNING"),
                    "{sql}"
                );
            }
            for tenant in migration["tenants"].as_array().into_iter().flatten() {
                fleet
                    .apply(
                        tenant.as_str().unwrap_or(""),
                        strip_mark(&sql),
                        migration["down_outside_transaction"] != true,
                    )
                    .await;
            }
        }
        assert_eq!(
            hashes(fleet, &schema, pattern),
            before,
            "{layout}: down restores every hash"
        );
    }
}

/// Applies the whole export with `schema-sync migrate` over the fleet selected by
/// `select`: its `manifest.json` gives each migration to its shape's tenants only, so
/// every drifted tenant is migrated once, and `migrate status` then finds every tenant
/// current (a migration is not pending for the tenants of other shapes).
fn migrate_export(fleet: &Fleet, out: &Path, select: &[&str], work: &Path, drifted: usize) {
    let migrate = |args: &[&str], code: i32| -> Value {
        let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
        let output = command
            .env("SCHEMA_SYNC_URL", fleet.url())
            .env("SCHEMA_SYNC_LEDGER", work.join("ledger.db"))
            .args(args)
            .args(["--dir", &out.display().to_string(), "--format", "json"])
            .args(select)
            .assert()
            .code(code)
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&output)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output)))
    };
    let report = migrate(&["migrate"], 0);
    assert_eq!(report["summary"]["migrated"], drifted, "{report}");
    let status = migrate(&["migrate", "status"], 0);
    assert_eq!(status["current"], true, "{status}");
    let versions = status["versions"]
        .as_array()
        .unwrap_or_else(|| panic!("{status}"));
    assert!(!versions.is_empty(), "{status}");
    let applied: u64 = versions.iter().filter_map(|v| v["applied"].as_u64()).sum();
    assert!(
        applied >= drifted as u64,
        "each drifted tenant has its shape's versions: {status}"
    );
    assert!(
        versions.iter().all(|v| v["pending"] == 0),
        "no version is pending for tenants of another shape: {status}"
    );
}

/// `migrations` grouped by `shape_hash`, each shape's in version order.
fn by_shape(migrations: &[Value]) -> BTreeMap<&str, Vec<&Value>> {
    let mut shapes: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for migration in migrations {
        let shape = migration["shape_hash"]
            .as_str()
            .unwrap_or_else(|| panic!("{migration}"));
        shapes.entry(shape).or_default().push(migration);
    }
    shapes
}

/// How many shapes `migrations` are for, checking that each shape's parts are all there,
/// numbered from 1 and chained by hash.
fn shapes_of(migrations: &[Value]) -> usize {
    let shapes = by_shape(migrations);
    for parts in shapes.values() {
        for (index, part) in parts.iter().enumerate() {
            assert_eq!(part["part"], index + 1, "{part}");
            assert_eq!(part["parts"], parts.len(), "{part}");
            if index > 0 {
                assert_eq!(part["from_hash"], parts[index - 1]["to_hash"], "{part}");
            }
        }
    }
    shapes.len()
}

/// The SQL without sqlx's `-- no-transaction` line (a comment anyway).
fn strip_mark(sql: &str) -> &str {
    sql.strip_prefix("-- no-transaction\n").unwrap_or(sql)
}

#[tokio::test]
async fn sqlite_fleet_exports_every_layout_and_round_trips() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tenants_dir = dir.path().join("tenants");
    std::fs::create_dir_all(&tenants_dir).unwrap_or_else(|e| panic!("{e}"));
    let drifts = [
        "DROP VIEW active_projects; DROP INDEX projects_active;",
        "DROP VIEW active_projects; DROP INDEX projects_active;",
        "DROP VIEW active_projects; DROP INDEX projects_active;",
        "ALTER TABLE invoices DROP COLUMN currency;",
        "ALTER TABLE invoices DROP COLUMN currency;",
        "ALTER TABLE users ADD COLUMN legacy TEXT;",
        "",
    ];
    let mut tenants = Vec::new();
    for (i, drift) in drifts.iter().enumerate() {
        let name = format!("tenant_{i}");
        let conn = rusqlite::Connection::open(tenants_dir.join(format!("{name}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(&format!("{SQLITE_SCHEMA}\n{drift}"))
            .unwrap_or_else(|e| panic!("{e}"));
        tenants.push(name);
    }
    let fleet = Fleet::Sqlite(tenants_dir);
    export_story(&fleet, SQLITE_SCHEMA, "tenant_*", &tenants, "plain").await;
}

/// The drift of tenant `i` of a server fleet: three shapes over six tenants, one in sync.
fn server_drift(i: usize, index_and_view: &'static str) -> &'static str {
    match i {
        0..=2 => index_and_view,
        3 | 4 => "ALTER TABLE accounts DROP COLUMN mood;",
        5 => "ALTER TABLE posts ADD COLUMN legacy text;",
        _ => "",
    }
}

#[tokio::test]
async fn postgres_fleet_exports_every_layout_and_round_trips() {
    let Some(url) = postgres() else { return };
    let drift = |i| server_drift(i, "DROP VIEW post_titles; DROP INDEX posts_title;");
    let pg = Arc::new(PgFleet::create(url, "cli_export", 7, drift).await);
    let result = tokio::spawn({
        let fleet = Fleet::Postgres(pg.clone());
        async move {
            let Fleet::Postgres(pg) = &fleet else {
                unreachable!("made on PostgreSQL")
            };
            pg.created.clone().unwrap_or_else(|e| panic!("{e}"));
            for strategy in ["plain", "online"] {
                export_story(&fleet, PG_SCHEMA, &pg.pattern, &pg.tenants, strategy).await;
            }
        }
    })
    .await;
    pg.drop_schemas().await;
    if let Err(failed) = result {
        std::panic::resume_unwind(failed.into_panic());
    }
}

#[tokio::test]
async fn mysql_fleet_exports_every_layout_and_round_trips() {
    let Some(url) = mysql() else { return };
    let drift = |i| {
        server_drift(
            i,
            "DROP VIEW post_titles; ALTER TABLE posts DROP INDEX posts_title;",
        )
    };
    let mut my = MysqlFleet::create(url, "cli_export", 7, drift).await;
    let result = tokio::spawn({
        let (url, pattern, tenants) = (my.url.clone(), my.pattern.clone(), my.tenants.clone());
        let created = my.created.clone();
        async move {
            created.unwrap_or_else(|e| panic!("{e}"));
            let fleet = Fleet::Mysql(url);
            export_story(&fleet, MYSQL_SCHEMA, &pattern, &tenants, "plain").await;
        }
    })
    .await;
    my.drop_databases().await;
    if let Err(failed) = result {
        std::panic::resume_unwind(failed.into_panic());
    }
}

/// One small export as it is written: every file of the sqlx layout for a fleet whose
/// one drifted tenant lacks an index and a view.
#[test]
fn sqlite_sqlx_layout_as_written() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tenants_dir = dir.path().join("tenants");
    std::fs::create_dir_all(&tenants_dir).unwrap_or_else(|e| panic!("{e}"));
    for (name, drift) in [
        (
            "tenant_a",
            "DROP VIEW active_projects; DROP INDEX projects_active;",
        ),
        ("tenant_b", ""),
    ] {
        let conn = rusqlite::Connection::open(tenants_dir.join(format!("{name}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(&format!("{SQLITE_SCHEMA}\n{drift}"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let schema = dir.path().join("schema.sql");
    std::fs::write(&schema, SQLITE_SCHEMA).unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("migrations");
    let out_arg = out.display().to_string();
    let fleet = Fleet::Sqlite(tenants_dir);
    run(
        &fleet,
        &schema,
        &[
            "plan",
            "--all-tenants",
            "--out",
            &out_arg,
            "--layout",
            "sqlx",
        ],
        0,
    );
    let written: String = files_under(&out)
        .iter()
        .map(|file| format!("==> {file}\n{}", text(&out.join(file))))
        .collect();
    insta::assert_snapshot!(written);

    // A second export into the same directory would replace the manifest and leave the
    // first export's migrations unscoped: refused, nothing touched.
    let manifest = text(&out.join("manifest.json"));
    let second = std::process::Command::new(assert_cmd::cargo::cargo_bin("schema-sync"))
        .env("SCHEMA_SYNC_URL", fleet.url())
        .env("NO_COLOR", "1")
        .args([
            "plan",
            "--all-tenants",
            "--target",
            &schema.display().to_string(),
        ])
        .args(["--out", &out_arg, "--layout", "sqlx"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("holds an earlier export"), "{stderr}");
    assert_eq!(text(&out.join("manifest.json")), manifest);
}

/// `--layout` needs `--out`, `--allow-destructive` needs `--layout`, and `--check-data`
/// (which counts rows per tenant) does not combine with a per-shape export.
#[test]
fn export_flags_come_only_together() {
    for (args, why) in [
        (
            &["plan", "--layout", "sqlx"][..],
            "not provided:\n  --out <DIR>",
        ),
        (&["plan", "--allow-destructive"], "--layout <LAYOUT>"),
        (
            &["plan", "--out", "x", "--allow-destructive"],
            "not provided:\n  --layout <LAYOUT>",
        ),
        (
            &["plan", "--out", "x", "--layout", "sqlx", "--check-data"],
            "cannot be used with '--check-data'",
        ),
        (
            &["plan", "--out", "x", "--layout", "liquibase"],
            "[possible values: plain, sqlx, refinery, diesel]",
        ),
    ] {
        Command::cargo_bin("schema-sync")
            .unwrap_or_else(|e| panic!("{e}"))
            .env_remove("SCHEMA_SYNC_URL")
            .env("NO_COLOR", "1")
            .args(args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(why));
    }
}
