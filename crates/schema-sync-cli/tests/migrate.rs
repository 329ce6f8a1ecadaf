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
struct Fleet {
    /// The `--url` of the tenants.
    url: String,
    /// The tenant ids, in order.
    tenants: Vec<String>,
    /// Whether a failed migration rolls the tenant back.
    transactional: bool,
    /// The first migration: `CREATE TABLE items`, in this database's types.
    create_items: &'static str,
    /// The connection the test sets tenants up with; dropping it drops the tenants.
    backend: Box<dyn Backend>,
}

/// Test setup on the fleet's database.
trait Backend {
    /// Creates the empty tenant `tenant`.
    fn create(&self, tenant: &str);
    /// Runs `sql` in `tenant`'s namespace.
    fn exec(&self, tenant: &str, sql: &str);
}

impl Fleet {
    /// Creates `tenants` through `backend`.
    fn new(
        url: String,
        tenants: Vec<String>,
        transactional: bool,
        create_items: &'static str,
        backend: Box<dyn Backend>,
    ) -> Self {
        for tenant in &tenants {
            backend.create(tenant);
        }
        Self {
            url,
            tenants,
            transactional,
            create_items,
            backend,
        }
    }

    fn exec(&self, tenant: &str, sql: &str) {
        self.backend.exec(tenant, sql);
    }
}

/// Three tenant names unique to this run.
fn unique_tenants() -> Vec<String> {
    let prefix = unique("cli_mig");
    (0..3).map(|i| format!("{prefix}_{i}")).collect()
}

const ADD_EMAIL: &str = "ALTER TABLE items ADD COLUMN email VARCHAR(200);\nCREATE INDEX items_email ON items (email);\n";
const ADD_NOTE: &str = "ALTER TABLE items ADD COLUMN note VARCHAR(50);\n";
/// Fails where a row with id 1 exists, after its first statement ran.
const BROKEN: &str =
    "ALTER TABLE items ADD COLUMN flag INT;\nINSERT INTO items (id, name) VALUES (1, 'first');\n";

/// The binary with `--url` set, running `args`.
fn cmd(fleet: &Fleet, args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    command
        .env("NO_COLOR", "1")
        .env("SCHEMA_SYNC_URL", &fleet.url)
        .args(args);
    command
}

/// Runs `args` with `--format json`, expecting exit `code`.
fn json(fleet: &Fleet, args: &[&str], code: i32) -> Value {
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
fn hash_of(fleet: &Fleet, tenant: &str) -> String {
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
fn story(fleet: &Fleet) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir: PathBuf = work.path().join("migrations");
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let dir_arg = dir.display().to_string();
    write(&dir.join("1_create_items.up.sql"), fleet.create_items);
    write(&dir.join("1_create_items.down.sql"), "DROP TABLE items;\n");
    write(&dir.join("0002_add_email.sql"), ADD_EMAIL);
    let tenants = fleet.tenants.to_vec();
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
    write(&target, &format!("{}{ADD_EMAIL}", fleet.create_items));
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
    write(&create, &format!("{}-- edited\n", fleet.create_items));
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
    write(&create, fleet.create_items);

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
    if fleet.transactional {
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
struct SqliteFiles(tempfile::TempDir);

impl Backend for SqliteFiles {
    fn create(&self, tenant: &str) {
        self.exec(tenant, "PRAGMA user_version = 1");
    }

    fn exec(&self, tenant: &str, sql: &str) {
        let conn = rusqlite::Connection::open(self.0.path().join(format!("{tenant}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn sqlite_fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    Fleet::new(
        format!("sqlite://{}", dir.path().display()),
        (0..3).map(|i| format!("tenant_{i}")).collect(),
        true,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
        Box::new(SqliteFiles(dir)),
    )
}

#[test]
fn sqlite_migrate_story() {
    story(&sqlite_fleet());
}

/// Three PostgreSQL tenant schemas, dropped at the end.
struct PgSchemas {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
    tenants: Vec<String>,
}

impl PgSchemas {
    fn batch(&self, sql: &str) {
        self.runtime
            .block_on(self.client.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Backend for PgSchemas {
    fn create(&self, tenant: &str) {
        self.batch(&format!("CREATE SCHEMA \"{tenant}\""));
    }

    fn exec(&self, tenant: &str, sql: &str) {
        self.batch(&format!(
            "SET search_path TO \"{tenant}\"; {sql}; RESET search_path"
        ));
    }
}

impl Drop for PgSchemas {
    fn drop(&mut self) {
        for tenant in &self.tenants {
            let _ = self.runtime.block_on(
                self.client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{tenant}\" CASCADE")),
            );
        }
    }
}

fn pg_fleet(url: String) -> Fleet {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let client = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
        tokio::spawn(connection);
        client
    });
    let tenants = unique_tenants();
    let schemas = PgSchemas {
        runtime,
        client,
        tenants: tenants.clone(),
    };
    let create_items = "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL);\n";
    Fleet::new(url, tenants, true, create_items, Box::new(schemas))
}

#[test]
fn postgres_migrate_story() {
    let Some(url) = postgres() else { return };
    story(&pg_fleet(url));
}

/// Three MariaDB tenant databases, dropped at the end.
struct MysqlDatabases {
    runtime: tokio::runtime::Runtime,
    conn: std::sync::Mutex<mysql_async::Conn>,
    tenants: Vec<String>,
}

impl MysqlDatabases {
    fn query(&self, sql: &str) {
        use mysql_async::prelude::Queryable;
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        self.runtime
            .block_on(conn.query_drop(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Backend for MysqlDatabases {
    fn create(&self, tenant: &str) {
        self.query(&format!("CREATE DATABASE `{tenant}`"));
    }

    fn exec(&self, tenant: &str, sql: &str) {
        self.query(&format!("USE `{tenant}`; {sql}"));
    }
}

impl Drop for MysqlDatabases {
    fn drop(&mut self) {
        use mysql_async::prelude::Queryable;
        let conn = self.conn.get_mut().unwrap_or_else(|e| e.into_inner());
        for tenant in &self.tenants {
            let _ = self
                .runtime
                .block_on(conn.query_drop(format!("DROP DATABASE IF EXISTS `{tenant}`")));
        }
    }
}

fn mysql_fleet(url: String) -> Fleet {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let opts = mysql_async::Opts::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
    let conn = runtime
        .block_on(mysql_async::Conn::new(opts))
        .unwrap_or_else(|e| panic!("MariaDB at {url} is required: {e}"));
    let tenants = unique_tenants();
    let databases = MysqlDatabases {
        runtime,
        conn: std::sync::Mutex::new(conn),
        tenants: tenants.clone(),
    };
    let create_items = "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL);\n";
    Fleet::new(url, tenants, false, create_items, Box::new(databases))
}

#[test]
fn mysql_migrate_story() {
    let Some(url) = mysql() else { return };
    story(&mysql_fleet(url));
}

/// A directory that breaks the naming pattern, or repeats a version, is refused before
/// any tenant is touched (exit 2), naming the file.
#[test]
fn a_bad_directory_is_refused_before_any_tenant() {
    let fleet = sqlite_fleet();
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dir = work.path().display().to_string();
    write(&work.path().join("1_a.sql"), "CREATE TABLE a (id INTEGER);");
    write(
        &work.path().join("01_b.up.sql"),
        "CREATE TABLE b (id INTEGER);",
    );
    let refused = || {
        let output = cmd(&fleet, &["migrate", "--dir", &dir, "--all-tenants"])
            .assert()
            .code(2)
            .get_output()
            .clone();
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = refused();
    assert!(
        stderr.contains("01_b.up.sql") && stderr.contains("1_a.sql"),
        "{stderr}"
    );
    std::fs::remove_file(work.path().join("01_b.up.sql")).unwrap_or_else(|e| panic!("{e}"));
    write(
        &work.path().join("create_c.sql"),
        "CREATE TABLE c (id INTEGER);",
    );
    let stderr = refused();
    assert!(
        stderr.contains("create_c.sql") && stderr.contains("<version>_<name>.up.sql"),
        "{stderr}"
    );
    // Nothing ran: no tenant has the history table or the first migration's table.
    for tenant in fleet.tenants {
        let file = format!("{}/{tenant}.db", fleet.url.trim_start_matches("sqlite://"));
        let conn = rusqlite::Connection::open(file).unwrap_or_else(|e| panic!("{e}"));
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tables, 0, "{tenant}");
    }
}

/// A `-- no-transaction` file runs outside the tenant's transaction, between files that
/// run inside it: `statement` is one the database refuses inside a transaction.
fn no_transaction_story(fleet: &Fleet, statement: &str, target_extra: &str) {
    let work = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let migrations = work.path().join("migrations");
    std::fs::create_dir(&migrations).unwrap_or_else(|e| panic!("{e}"));
    let dir = migrations.display().to_string();
    write(&migrations.join("1_create_items.sql"), fleet.create_items);
    write(
        &migrations.join("2_outside.sql"),
        &format!("-- no-transaction\n{statement}\n"),
    );
    write(&migrations.join("3_add_note.sql"), ADD_NOTE);
    let tenant = &fleet.tenants[0];
    let migrated = json(fleet, &["migrate", "--dir", &dir, "--tenant", tenant], 0);
    assert_eq!(
        outcomes(&migrated),
        [(tenant.clone(), "migrated".into(), vec![1, 2, 3])],
        "{migrated}"
    );
    let target = work.path().join("target.sql");
    write(
        &target,
        &format!("{}{ADD_NOTE}{target_extra}", fleet.create_items),
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
    no_transaction_story(&sqlite_fleet(), "VACUUM;", "");
}

#[test]
fn postgres_no_transaction_file_runs_outside_the_transaction() {
    let Some(url) = postgres() else { return };
    // CREATE INDEX CONCURRENTLY fails inside a transaction block.
    no_transaction_story(
        &pg_fleet(url),
        "CREATE INDEX CONCURRENTLY items_name ON items (name);",
        "CREATE INDEX items_name ON items (name);\n",
    );
}
