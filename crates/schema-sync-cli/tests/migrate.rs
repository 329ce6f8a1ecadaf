//! `schema-sync migrate` and `migrate status` end to end on real SQLite files, PostgreSQL
//! schemas and MariaDB databases: one story per database over a fleet of three tenants.
//!
//! The story: a hand-written sqlx-style directory (create a table; add a column and an
//! index) migrates the fleet, after which `validate` against the equivalent target SQL
//! exits 0 (so the history table is not drift); a second `migrate` applies nothing; a new
//! version applied to one tenant makes `migrate status` name the two that lag; a changed
//! file is refused by name; a file that fails in one tenant leaves that tenant as it was
//! (PostgreSQL, SQLite) or marked unfinished (MariaDB) while the others go on.
//!
//! PostgreSQL and MariaDB stories are skipped (with the reason on stderr) when the
//! server is absent, except under `CI=true`, as in `servers.rs`.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use common::{mysql, postgres, unique};
use serde_json::Value;

/// A fleet of three empty tenants on one database, dropped with the value.
trait Fleet {
    /// The `--url` of the tenants.
    fn url(&self) -> String;
    /// The tenant ids, in order.
    fn tenants(&self) -> &[String];
    /// Runs `sql` in `tenant`'s namespace (test setup only).
    fn exec(&self, tenant: &str, sql: &str);
    /// Whether a failed migration rolls the tenant back.
    fn transactional(&self) -> bool;
    /// The first migration: `CREATE TABLE items`, in this database's types.
    fn create_items(&self) -> &'static str;
}

const ADD_EMAIL: &str = "ALTER TABLE items ADD COLUMN email VARCHAR(200);\nCREATE INDEX items_email ON items (email);\n";
const ADD_NOTE: &str = "ALTER TABLE items ADD COLUMN note VARCHAR(50);\n";
/// Fails where a row with id 1 exists, after its first statement ran.
const BROKEN: &str =
    "ALTER TABLE items ADD COLUMN flag INT;\nINSERT INTO items (id, name) VALUES (1, 'first');\n";

/// The binary with `--url` set, running `args`.
fn cmd(fleet: &dyn Fleet, args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    command
        .env("NO_COLOR", "1")
        .env("SCHEMA_SYNC_URL", fleet.url())
        .args(args);
    command
}

/// Runs `args` with `--format json`, expecting exit `code`.
fn json(fleet: &dyn Fleet, args: &[&str], code: i32) -> Value {
    let output = cmd(fleet, args)
        .args(["--format", "json"])
        .assert()
        .code(code)
        .get_output()
        .clone();
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// `(tenant, status, applied versions)` of a `migrate` document.
fn outcomes(document: &Value) -> Vec<(String, String, Vec<i64>)> {
    document["tenants"]
        .as_array()
        .unwrap_or_else(|| panic!("no tenants: {document}"))
        .iter()
        .map(|t| {
            let applied = t["applied"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["version"].as_i64()).collect())
                .unwrap_or_default();
            (
                t["tenant"].as_str().unwrap_or_default().to_string(),
                t["status"].as_str().unwrap_or_default().to_string(),
                applied,
            )
        })
        .collect()
}

/// The snapshot hash `audit` reports for `tenant`.
fn hash_of(fleet: &dyn Fleet, tenant: &str) -> String {
    let audit = json(fleet, &["audit", "--tenant", tenant], 0);
    audit["tenants"][0]["hash"]
        .as_str()
        .unwrap_or_else(|| panic!("no hash: {audit}"))
        .to_string()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The whole story on one fleet.
fn story(fleet: &dyn Fleet) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir: PathBuf = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let dir_arg = dir.display().to_string();
    write(&dir.join("1_create_items.up.sql"), fleet.create_items());
    write(&dir.join("1_create_items.down.sql"), "DROP TABLE items;\n");
    write(&dir.join("0002_add_email.sql"), ADD_EMAIL);
    let tenants = fleet.tenants().to_vec();
    let (first, second, third) = (&tenants[0], &tenants[1], &tenants[2]);
    let all: Vec<&str> = tenants
        .iter()
        .flat_map(|t| ["--tenant", t.as_str()])
        .collect();
    let migrate = |extra: &[&str], code: i32| {
        json(
            fleet,
            &[&["migrate", "--dir", &dir_arg][..], extra].concat(),
            code,
        )
    };
    let status = |code: i32| {
        json(
            fleet,
            &[&["migrate", "status", "--dir", &dir_arg][..], &all].concat(),
            code,
        )
    };

    // Every tenant gets versions 1 and 2, in order.
    let migrated = migrate(&all, 0);
    assert_eq!(migrated["summary"]["migrated"], 3, "{migrated}");
    assert_eq!(
        migrated["versions"],
        serde_json::json!([1, 2]),
        "{migrated}"
    );
    for (_, status, applied) in outcomes(&migrated) {
        assert_eq!((status.as_str(), applied), ("migrated", vec![1, 2]));
    }

    // The result equals the declarative target: the history table is not drift.
    let target = work.path().join("target.sql");
    write(&target, &format!("{}{ADD_EMAIL}", fleet.create_items()));
    let target_arg = target.display().to_string();
    let validated = json(
        fleet,
        &[&["validate", "--target", &target_arg][..], &all].concat(),
        0,
    );
    assert_eq!(validated["summary"]["in_sync"], 3, "{validated}");

    // Applying twice is a no-op.
    let again = migrate(&all, 0);
    assert_eq!(again["summary"]["up_to_date"], 3, "{again}");
    assert!(
        outcomes(&again)
            .iter()
            .all(|(_, s, a)| s == "up_to_date" && a.is_empty())
    );
    let current = status(0);
    assert_eq!(current["current"], true, "{current}");
    assert_eq!(current["versions"][1]["applied"], 3, "{current}");

    // A new version on one tenant: the other two lag.
    write(&dir.join("3_add_note.sql"), ADD_NOTE);
    let one = migrate(&["--tenant", first], 0);
    assert_eq!(
        outcomes(&one),
        [(first.clone(), "migrated".into(), vec![3])]
    );
    let lagging = status(1);
    assert_eq!(lagging["versions"][2]["applied"], 1, "{lagging}");
    assert_eq!(
        lagging["versions"][2]["lagging"],
        serde_json::json!([second, third]),
        "{lagging}"
    );
    let text = cmd(
        fleet,
        &[&["migrate", "status", "--dir", &dir_arg][..], &all].concat(),
    )
    .assert()
    .code(1)
    .get_output()
    .stdout
    .clone();
    let text = String::from_utf8_lossy(&text);
    assert!(text.contains("1/3 applied"), "{text}");
    assert!(
        text.contains(&format!("lagging: {second}, {third}")),
        "{text}"
    );

    // A changed file is refused, by name, in every tenant that has it.
    let create = dir.join("1_create_items.up.sql");
    write(&create, &format!("{}-- edited\n", fleet.create_items()));
    let tampered = migrate(&all, 1);
    assert_eq!(tampered["summary"]["failed"], 3, "{tampered}");
    for tenant in tampered["tenants"].as_array().into_iter().flatten() {
        let message = tenant["error"]["message"].as_str().unwrap_or_default();
        assert_eq!(tenant["error"]["kind"], "migration", "{tenant}");
        assert!(
            message.contains("1_create_items.up.sql")
                && message.contains("changed since it was applied"),
            "{message}"
        );
    }
    let changed = status(1);
    assert_eq!(
        changed["versions"][0]["changed"].as_array().map(Vec::len),
        Some(3)
    );
    write(&create, fleet.create_items());

    // A file failing in one tenant: that tenant is left as it was (or, on MySQL, marked
    // unfinished), the others go on.
    fleet.exec(third, "INSERT INTO items (id, name) VALUES (1, 'seed')");
    write(&dir.join("4_broken.sql"), BROKEN);
    let before = hash_of(fleet, third);
    let broken = migrate(&all, 1);
    assert_eq!(broken["summary"]["migrated"], 2, "{broken}");
    assert_eq!(broken["summary"]["failed"], 1, "{broken}");
    let outcomes = outcomes(&broken);
    assert_eq!(outcomes[0], (first.clone(), "migrated".into(), vec![4]));
    assert_eq!(outcomes[1], (second.clone(), "migrated".into(), vec![3, 4]));
    let failed = &broken["tenants"][2];
    let message = failed["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("4_broken.sql"), "{message}");
    let history = status(1);
    if fleet.transactional() {
        assert!(message.contains("rolled back"), "{message}");
        assert_eq!(hash_of(fleet, third), before, "the failed tenant changed");
        assert_eq!(
            history["versions"][2]["lagging"],
            serde_json::json!([third])
        );
        assert_eq!(
            history["versions"][3]["lagging"],
            serde_json::json!([third])
        );
    } else {
        // Version 3 stays applied and version 4 is recorded as unfinished: the next run
        // refuses the tenant instead of running a half-applied file again.
        assert_eq!(history["versions"][2]["lagging"], serde_json::json!([]));
        assert_eq!(
            history["versions"][3]["lagging"],
            serde_json::json!([third])
        );
        let refused = migrate(&["--tenant", third], 1);
        let message = refused["tenants"][0]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(message.contains("half migrated"), "{message}");
    }
}

/// Three SQLite tenant files in a temporary directory.
struct SqliteFleet {
    dir: tempfile::TempDir,
    tenants: Vec<String>,
}

impl SqliteFleet {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let tenants: Vec<String> = (0..3).map(|i| format!("tenant_{i}")).collect();
        let fleet = Self { dir, tenants };
        for tenant in &fleet.tenants {
            fleet.exec(tenant, "PRAGMA user_version = 1");
        }
        fleet
    }
}

impl Fleet for SqliteFleet {
    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().display())
    }

    fn tenants(&self) -> &[String] {
        &self.tenants
    }

    fn exec(&self, tenant: &str, sql: &str) {
        let conn = rusqlite::Connection::open(self.dir.path().join(format!("{tenant}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}"));
    }

    fn transactional(&self) -> bool {
        true
    }

    fn create_items(&self) -> &'static str {
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
    }
}

#[test]
fn sqlite_migrate_story() {
    story(&SqliteFleet::new());
}

/// Three PostgreSQL tenant schemas, dropped at the end.
struct PgFleet {
    url: String,
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    tenants: Vec<String>,
}

impl PgFleet {
    fn new(url: String) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
            tokio::spawn(connection);
            client
        });
        let prefix = unique("cli_mig");
        let tenants: Vec<String> = (0..3).map(|i| format!("{prefix}_{i}")).collect();
        let fleet = Self {
            url,
            runtime,
            client,
            tenants,
        };
        for tenant in &fleet.tenants {
            fleet.batch(&format!("CREATE SCHEMA \"{tenant}\""));
        }
        fleet
    }

    fn batch(&self, sql: &str) {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for PgFleet {
    fn drop(&mut self) {
        for tenant in &self.tenants {
            let _ = self.runtime.block_on(
                self.client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{tenant}\" CASCADE")),
            );
        }
    }
}

impl Fleet for PgFleet {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn tenants(&self) -> &[String] {
        &self.tenants
    }

    fn exec(&self, tenant: &str, sql: &str) {
        self.batch(&format!(
            "SET search_path TO \"{tenant}\"; {sql}; RESET search_path"
        ));
    }

    fn transactional(&self) -> bool {
        true
    }

    fn create_items(&self) -> &'static str {
        "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);\n"
    }
}

#[test]
fn postgres_migrate_story() {
    let Some(url) = postgres() else { return };
    story(&PgFleet::new(url));
}

/// Three MariaDB tenant databases, dropped at the end.
struct MysqlFleet {
    url: String,
    runtime: tokio::runtime::Runtime,
    conn: std::sync::Mutex<Option<mysql_async::Conn>>,
    tenants: Vec<String>,
}

impl MysqlFleet {
    fn new(url: String) -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let opts = mysql_async::Opts::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
        let conn = runtime
            .block_on(mysql_async::Conn::new(opts))
            .unwrap_or_else(|e| panic!("MariaDB at {url} is required: {e}"));
        let prefix = unique("cli_mig");
        let tenants: Vec<String> = (0..3).map(|i| format!("{prefix}_{i}")).collect();
        let fleet = Self {
            url,
            runtime,
            conn: std::sync::Mutex::new(Some(conn)),
            tenants,
        };
        for tenant in &fleet.tenants {
            fleet.query(&format!("CREATE DATABASE `{tenant}`"));
        }
        fleet
    }

    fn query(&self, sql: &str) {
        use mysql_async::prelude::Queryable;
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let conn = guard.as_mut().unwrap_or_else(|| panic!("no connection"));
        self.runtime
            .block_on(conn.query_drop(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for MysqlFleet {
    fn drop(&mut self) {
        use mysql_async::prelude::Queryable;
        let mut guard = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(conn) = guard.as_mut() {
            for tenant in &self.tenants {
                let _ = self
                    .runtime
                    .block_on(conn.query_drop(format!("DROP DATABASE IF EXISTS `{tenant}`")));
            }
        }
    }
}

impl Fleet for MysqlFleet {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn tenants(&self) -> &[String] {
        &self.tenants
    }

    fn exec(&self, tenant: &str, sql: &str) {
        self.query(&format!("USE `{tenant}`; {sql}"));
    }

    fn transactional(&self) -> bool {
        false
    }

    fn create_items(&self) -> &'static str {
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);\n"
    }
}

#[test]
fn mysql_migrate_story() {
    let Some(url) = mysql() else { return };
    story(&MysqlFleet::new(url));
}

/// A directory that breaks the naming pattern, or repeats a version, is refused before
/// any tenant is touched (exit 2), naming the file.
#[test]
fn a_bad_directory_is_refused_before_any_tenant() {
    let fleet = SqliteFleet::new();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().display().to_string();
    write(&work.path().join("1_a.sql"), "CREATE TABLE a (id INTEGER);");
    write(
        &work.path().join("01_b.up.sql"),
        "CREATE TABLE b (id INTEGER);",
    );
    let output = cmd(&fleet, &["migrate", "--dir", &dir, "--all-tenants"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("01_b.up.sql") && stderr.contains("1_a.sql"),
        "{stderr}"
    );
    std::fs::remove_file(work.path().join("01_b.up.sql")).unwrap_or_else(|e| panic!("{e}"));
    write(
        &work.path().join("create_c.sql"),
        "CREATE TABLE c (id INTEGER);",
    );
    let output = cmd(&fleet, &["migrate", "--dir", &dir, "--all-tenants"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("create_c.sql") && stderr.contains("<version>_<name>.up.sql"),
        "{stderr}"
    );
    // Nothing ran: no tenant has the history table or the first migration's table.
    for tenant in fleet.tenants() {
        let conn = rusqlite::Connection::open(fleet.dir.path().join(format!("{tenant}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tables, 0, "{tenant}");
    }
}

/// A `-- no-transaction` file runs outside the tenant's transaction, between files that
/// run inside it: `statement` is one the database refuses inside a transaction.
fn no_transaction_story(fleet: &dyn Fleet, statement: &str, target_extra: &str) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let migrations = work.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap_or_else(|e| panic!("{e}"));
    let dir = migrations.display().to_string();
    write(&migrations.join("1_create_items.sql"), fleet.create_items());
    write(
        &migrations.join("2_outside.sql"),
        &format!("-- no-transaction\n{statement}\n"),
    );
    write(&migrations.join("3_add_note.sql"), ADD_NOTE);
    let tenant = &fleet.tenants()[0];
    let migrated = json(fleet, &["migrate", "--dir", &dir, "--tenant", tenant], 0);
    assert_eq!(
        outcomes(&migrated),
        [(tenant.clone(), "migrated".into(), vec![1, 2, 3])],
        "{migrated}"
    );
    let target = work.path().join("target.sql");
    write(
        &target,
        &format!("{}{ADD_NOTE}{target_extra}", fleet.create_items()),
    );
    let target = target.display().to_string();
    json(
        fleet,
        &["validate", "--target", &target, "--tenant", tenant],
        0,
    );
    let status = json(
        fleet,
        &["migrate", "status", "--dir", &dir, "--tenant", tenant],
        0,
    );
    assert_eq!(status["current"], true, "{status}");
}

#[test]
fn sqlite_no_transaction_file_runs_outside_the_transaction() {
    // VACUUM fails inside a transaction.
    no_transaction_story(&SqliteFleet::new(), "VACUUM;", "");
}

#[test]
fn postgres_no_transaction_file_runs_outside_the_transaction() {
    let Some(url) = postgres() else { return };
    // CREATE INDEX CONCURRENTLY fails inside a transaction block.
    no_transaction_story(
        &PgFleet::new(url),
        "CREATE INDEX CONCURRENTLY items_name ON items (name);",
        "CREATE INDEX items_name ON items (name);\n",
    );
}
