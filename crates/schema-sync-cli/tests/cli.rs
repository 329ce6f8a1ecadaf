//! The `schema-sync` binary end to end on real SQLite tenant files: every command and
//! every exit code.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const SCHEMA: &str = include_str!("../../../examples/quickstart/schema.sql");

/// A fleet of tenant files: 0 and 3 in sync, 1 missing an index and a view, 2 with an extra column.
struct Fleet {
    dir: tempfile::TempDir,
}

impl Fleet {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fleet = Self { dir };
        for (i, drift) in [
            "",
            "DROP VIEW active_projects; DROP INDEX projects_active;",
            "ALTER TABLE users ADD COLUMN legacy TEXT;",
            "",
        ]
        .iter()
        .enumerate()
        {
            fleet.create(&format!("tenant_{i}"), &format!("{SCHEMA}\n{drift}"));
        }
        std::fs::write(fleet.schema(), SCHEMA).unwrap_or_else(|e| panic!("{e}"));
        fleet
    }

    fn tenants(&self) -> PathBuf {
        self.dir.path().join("tenants")
    }

    fn schema(&self) -> PathBuf {
        self.dir.path().join("schema.sql")
    }

    fn create(&self, name: &str, sql: &str) {
        std::fs::create_dir_all(self.tenants()).unwrap_or_else(|e| panic!("{e}"));
        let conn = rusqlite::Connection::open(self.tenants().join(format!("{name}.db")))
            .unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}"));
    }

    /// The binary with the fleet's URL set.
    fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
        cmd.current_dir(self.dir.path())
            .env(
                "SCHEMA_SYNC_URL",
                format!("sqlite://{}", self.tenants().display()),
            )
            .env("NO_COLOR", "1");
        cmd
    }

    /// The binary running `args`; a command that takes a target gets the fleet's
    /// `--target` after them, unless `args` name one.
    fn run(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd();
        cmd.args(args);
        let takes_target = matches!(args.first(), Some(&("sync" | "diff" | "validate" | "plan")));
        if takes_target && !args.contains(&"--target") {
            cmd.args(["--target", &self.schema().display().to_string()]);
        }
        cmd
    }

    fn json(&self, args: &[&str], code: i32) -> Value {
        let output = self
            .run(args)
            .args(["--format", "json"])
            .assert()
            .code(code)
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&output)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output)))
    }
}

fn statuses(document: &Value) -> Vec<(String, String)> {
    document["tenants"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["tenant"].as_str().unwrap_or("").to_string(),
                        t["status"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn validate_finds_drift_and_exits_one() {
    let fleet = Fleet::new();
    fleet
        .run(&["validate", "--all-tenants"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("drifted  tenant_1  2 changes"))
        .stdout(predicate::str::contains(
            "2 in sync, 2 drifted, 0 failed (4 tenants",
        ));
    let document = fleet.json(&["validate", "--all-tenants"], 1);
    assert_eq!(document["command"], "validate");
    assert_eq!(document["summary"]["drifted"], 2);
    assert_eq!(document["summary"]["distinct_schemas"], 3);
    assert_eq!(document["tenants"][0]["hash"], document["target_hash"]);
    assert_eq!(document["tenants"][2]["destructive"], true);
    assert_eq!(document["tenants"][1]["changes"], 2);
}

#[test]
fn diff_prints_changes_and_exits_zero() {
    let fleet = Fleet::new();
    fleet
        .run(&["diff", "--tenant", "tenant_1"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("+ index projects_active"))
        .stdout(predicate::str::contains("+ view active_projects"));
    let document = fleet.json(&["diff", "--tenant", "tenant_1"], 0);
    assert_eq!(
        document["tenants"][0]["diff"]["views"][0]["name"],
        "active_projects"
    );
    assert!(
        document["tenants"][0]["plan"]["steps"]
            .as_array()
            .is_some_and(|s| s.len() == 2)
    );
}

#[test]
fn sync_refuses_destructive_changes_then_applies_when_allowed() {
    let fleet = Fleet::new();
    let document = fleet.json(&["sync", "--all-tenants"], 1);
    assert_eq!(
        statuses(&document),
        [
            ("tenant_0", "in_sync"),
            ("tenant_1", "synced"),
            ("tenant_2", "refused"),
            ("tenant_3", "in_sync")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        document["tenants"][2]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("drop column users.legacy")
                && m.contains(": 0 rows in `users` hold data in `legacy`")),
        "the refusal counts the rows it would lose: {}",
        document["tenants"][2]["error"]
    );
    assert_eq!(
        document["tenants"][2]["error"]["kind"],
        "destructive_refused"
    );

    fleet
        .run(&["sync", "--all-tenants", "--allow-destructive"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("synced   tenant_2"));
    let after = fleet.json(&["validate", "--all-tenants"], 0);
    assert_eq!(after["summary"]["in_sync"], 4);
    assert!(
        after["tenants"]
            .as_array()
            .is_some_and(|t| t.iter().all(|t| t["hash"] == after["target_hash"]))
    );
}

#[test]
fn plan_prints_sql_or_writes_one_file_per_tenant() {
    let fleet = Fleet::new();
    fleet
        .run(&["plan", "--tenant", "tenant_2"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "-- DESTRUCTIVE: drop column users.legacy",
        ))
        // The rebuild renames the old table away and drops it once the copy is in place.
        .stdout(predicate::str::contains(
            "DROP TABLE \"_schema_sync_old_users\";",
        ));
    let out = fleet.dir.path().join("plans");
    fleet
        .run(&["plan", "--all-tenants"])
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["tenant_1.sql", "tenant_2.sql"]);
    let sql = std::fs::read_to_string(out.join("tenant_1.sql")).unwrap_or_else(|e| panic!("{e}"));
    assert!(sql.contains("CREATE INDEX projects_active"), "{sql}");
}

#[test]
fn plan_check_data_counts_rows_and_every_command_shows_hazards() {
    let fleet = Fleet::new();
    fleet.create(
        "tenant_9",
        &format!(
            "{SCHEMA}
             ALTER TABLE users ADD COLUMN legacy TEXT;
             INSERT INTO organizations (id, name) VALUES (1, 'acme');
             INSERT INTO users (id, organization_id, email, legacy)
                 VALUES (1, 1, 'a@x', 'old'), (2, 1, 'b@x', NULL), (3, 1, 'c@x', 'z');"
        ),
    );
    let before =
        std::fs::read(fleet.tenants().join("tenant_9.db")).unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["plan", "--tenant", "tenant_9", "--check-data"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "-- CHECK DATA step 1: 2 rows in `users` hold data in `legacy`",
        ))
        .stdout(predicate::str::contains(
            "-- HAZARD step 1 drop column users.legacy (text)  [deletes data",
        ));
    let document = fleet.json(&["plan", "--tenant", "tenant_9", "--check-data"], 0);
    let tenant = &document["tenants"][0];
    assert_eq!(tenant["data_checks"][0]["rows"], 2, "{tenant}");
    assert_eq!(tenant["data_checks"][0]["kind"], "hold_data_in", "{tenant}");
    assert_eq!(tenant["hazards"][0]["hazards"][0], "data_loss", "{tenant}");
    let without = fleet.json(&["plan", "--tenant", "tenant_9"], 0);
    assert_eq!(without["tenants"][0]["data_checks"], Value::Null);
    fleet
        .run(&["diff", "--tenant", "tenant_9"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("    hazards:"))
        .stdout(predicate::str::contains(
            "step 1 drop column users.legacy (text)  [deletes data",
        ));
    let after =
        std::fs::read(fleet.tenants().join("tenant_9.db")).unwrap_or_else(|e| panic!("{e}"));
    assert!(after == before, "plan --check-data never writes");
}

#[test]
fn audit_reports_hashes_read_only() {
    let fleet = Fleet::new();
    // Read both sides with a panic on error: two failed reads must not compare equal.
    let read =
        || std::fs::read(fleet.tenants().join("tenant_1.db")).unwrap_or_else(|e| panic!("{e}"));
    let before = read();
    assert!(!before.is_empty(), "tenant_1.db is a real database file");
    let document = fleet.json(&["audit", "--all-tenants"], 0);
    assert_eq!(document["summary"]["total"], 4);
    assert_eq!(document["summary"]["distinct_schemas"], 3);
    assert_eq!(document["tenants"][0]["tables"], 4);
    assert!(read() == before, "audit never writes");
    fleet
        .run(&["audit", "--tenant", "tenant_0"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("tenant_0"));
}

#[test]
fn tenants_lists_and_selection_filters() {
    let fleet = Fleet::new();
    fleet
        .cmd()
        .arg("tenants")
        .assert()
        .code(0)
        .stdout("tenant_0\ntenant_1\ntenant_2\ntenant_3\n");
    let document = fleet.json(
        &[
            "validate",
            "--tenant-pattern",
            "tenant_[12]",
            "--exclude",
            "tenant_2",
        ],
        1,
    );
    assert_eq!(
        statuses(&document),
        [("tenant_1".to_string(), "drifted".to_string())]
    );
}

#[test]
fn reference_tenant_target_is_not_part_of_the_fleet() {
    let fleet = Fleet::new();
    let document = fleet.json(
        &["validate", "--all-tenants", "--target", "tenant:tenant_0"],
        1,
    );
    let names: Vec<String> = statuses(&document).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["tenant_1", "tenant_2", "tenant_3"]);
}

#[test]
fn config_file_supplies_settings() {
    let fleet = Fleet::new();
    let config = format!(
        "url = \"sqlite://{}\"\ntarget = \"{}\"\nall_tenants = true\nexclude = [\"tenant_2\"]\nformat = \"json\"\n",
        fleet.tenants().display(),
        fleet.schema().display()
    );
    std::fs::write(fleet.dir.path().join("schema-sync.toml"), config)
        .unwrap_or_else(|e| panic!("{e}"));
    let output = Command::cargo_bin("schema-sync")
        .unwrap_or_else(|e| panic!("{e}"))
        .current_dir(fleet.dir.path())
        .env_remove("SCHEMA_SYNC_URL")
        .arg("validate")
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let document: Value = serde_json::from_slice(&output).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(document["summary"]["total"], 3);

    std::fs::write(
        fleet.dir.path().join("bad.toml"),
        "concurrency = \"many\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["validate", "--all-tenants", "--config", "bad.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.toml is not valid"));
}

#[test]
fn usage_and_input_errors_exit_two_with_a_fix() {
    let fleet = Fleet::new();
    let cases: &[(&[&str], &str)] = &[
        (&["validate"], "no tenants selected"),
        (
            &["validate", "--all-tenants", "--target", "missing.sql"],
            "target missing.sql does not exist",
        ),
        (
            &["validate", "--all-tenants", "--url", "oracle://u:pw@h/db"],
            "unsupported database URL",
        ),
        (
            &[
                "validate",
                "--all-tenants",
                "--url",
                "sqlite:///no/such/dir",
            ],
            "/no/such/dir does not exist",
        ),
        (&["validate", "--tenant", ""], "invalid tenant id"),
        (
            &["validate", "--all-tenants", "--tenant-pattern", "[x"],
            "invalid tenant glob",
        ),
        (&["nonsense"], "unrecognized subcommand"),
    ];
    for (args, message) in cases {
        fleet
            .run(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*message));
    }
    let bad_sql = fleet.dir.path().join("bad.sql");
    std::fs::write(&bad_sql, "CREATE TABLE t (id INTEGER PRIMARY KEY,);")
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["validate", "--all-tenants", "--target"])
        .arg(&bad_sql)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("SQLite rejected the DDL"));
    fleet
        .cmd()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit codes (every command):"));
}

#[test]
fn a_broken_tenant_fails_alone() {
    let fleet = Fleet::new();
    std::fs::write(
        fleet.tenants().join("broken.db"),
        b"definitely not a database file, just text",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let document = fleet.json(&["sync", "--all-tenants", "--allow-destructive"], 1);
    assert_eq!(document["summary"]["failed"], 1);
    assert_eq!(document["summary"]["synced"], 2);
    assert!(
        document["tenants"][0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("broken.db"))
    );
}

#[test]
fn snapshot_json_is_a_valid_target() {
    let fleet = Fleet::new();
    let audit = fleet.json(&["audit", "--tenant", "tenant_0", "--snapshots"], 0);
    let snapshot_path: &Path = &fleet.dir.path().join("snapshot.json");
    std::fs::write(
        snapshot_path,
        serde_json::to_string(&audit["tenants"][0]["snapshot"]).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let document = fleet.json(
        &[
            "validate",
            "--all-tenants",
            "--target",
            &snapshot_path.display().to_string(),
        ],
        1,
    );
    assert_eq!(document["summary"]["in_sync"], 2);
    std::fs::write(snapshot_path, "{\"version\": 1, \"tables\": 7}")
        .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&[
            "validate",
            "--all-tenants",
            "--target",
            &snapshot_path.display().to_string(),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid schema-sync snapshot"));
}

#[test]
fn snapshot_history_shows_drift_across_two_saves() {
    let fleet = Fleet::new();
    let store = format!("file://{}", fleet.dir.path().join("store").display());
    let with_store = |args: &[&str]| {
        let mut cmd = fleet.run(args);
        cmd.args(["--snapshot-store", &store]);
        cmd
    };
    // First save: tenant_1 is drifted (no index, no view).
    let saved = with_store(&[
        "snapshot", "save", "--tenant", "tenant_1", "--format", "json",
    ])
    .assert()
    .code(0)
    .get_output()
    .stdout
    .clone();
    let saved: Value = serde_json::from_slice(&saved).unwrap_or_else(|e| panic!("{e}"));
    let first = saved["tenants"][0]["hash"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(first.len(), 64);
    with_store(&[
        "snapshot",
        "tag",
        &format!("tenant_1@{first}"),
        "before-fix",
    ])
    .assert()
    .code(0);

    // Second save, through sync: the tenant now equals the target.
    with_store(&["sync", "--tenant", "tenant_1", "--save-snapshots"])
        .assert()
        .code(0);
    with_store(&["snapshot", "list", "tenant_1"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("[before-fix]"))
        .stdout(predicate::str::contains("changed"))
        .stdout(predicate::str::contains("2 snapshots of tenant tenant_1"));
    with_store(&["snapshot", "diff", "tenant_1@before-fix", "tenant_1@latest"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("+ view active_projects"))
        .stdout(predicate::str::contains("2 changes"));
    let diff = with_store(&[
        "snapshot",
        "diff",
        "tenant_1@before-fix",
        "tenant_1",
        "--format",
        "json",
    ])
    .assert()
    .code(0)
    .get_output()
    .stdout
    .clone();
    let diff: Value = serde_json::from_slice(&diff).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(diff["changes"], 2);
    assert_eq!(diff["from"]["hash"], first.as_str());

    // A stored snapshot is a target: tenant_2 differs from tenant_1's latest.
    let document = {
        let output = with_store(&[
            "validate",
            "--tenant",
            "tenant_2",
            "--target",
            "snapshot:tenant_1@latest",
            "--format",
            "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
        serde_json::from_slice::<Value>(&output).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(document["summary"]["drifted"], 1);
    with_store(&["snapshot", "show", "tenant_1@nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no snapshot tagged \"nope\""));
    fleet
        .run(&["snapshot", "list", "tenant_1"])
        .env_remove("SCHEMA_SYNC_SNAPSHOT_STORE")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no snapshot store"));
}

/// The tables of a tenant file.
fn table_count(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap_or_else(|e| panic!("{e}"));
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        [],
        |row| row.get(0),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_empty_target_is_refused_unless_allowed() {
    let fleet = Fleet::new();
    let tables_before = table_count(&fleet.tenants().join("tenant_0.db"));
    for (name, text) in [
        ("empty.sql", ""),
        ("comments.sql", "-- the schema\n/* nothing yet */\n\n"),
    ] {
        let target = fleet.dir.path().join(name);
        std::fs::write(&target, text).unwrap_or_else(|e| panic!("{e}"));
        for args in [
            &["sync", "--allow-destructive"][..],
            &["diff"],
            &["validate"],
            &["plan"],
        ] {
            fleet
                .cmd()
                .args(args)
                .args(["--all-tenants", "--target"])
                .arg(&target)
                .assert()
                .code(2)
                .stderr(predicate::str::contains("has no tables"))
                .stderr(predicate::str::contains("--allow-empty-target"));
        }
    }
    assert_eq!(
        table_count(&fleet.tenants().join("tenant_0.db")),
        tables_before,
        "a refused empty target changes nothing"
    );
    let empty = fleet.dir.path().join("empty.sql");
    fleet
        .run(&["audit", "--all-tenants", "--allow-empty-target"])
        .assert()
        .code(2);
    fleet
        .run(&["diff", "--all-tenants", "--allow-empty-target", "--target"])
        .arg(&empty)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("- table users"));
    std::fs::write(
        fleet.dir.path().join("schema-sync.toml"),
        "allow_empty_target = true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&[
            "sync",
            "--allow-destructive",
            "--tenant",
            "tenant_3",
            "--target",
        ])
        .arg(&empty)
        .assert()
        .code(0);
    assert_eq!(table_count(&fleet.tenants().join("tenant_3.db")), 0);
}

#[test]
fn max_failures_zero_is_a_usage_error() {
    let fleet = Fleet::new();
    fleet
        .run(&["sync", "--all-tenants", "--max-failures", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("omit --max-failures"));
    std::fs::write(
        fleet.dir.path().join("schema-sync.toml"),
        "max_failures = 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["validate", "--all-tenants"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--max-failures 0"));
    fleet
        .cmd()
        .args(["validate", "--help"])
        .assert()
        .stdout(predicate::str::contains("omit the flag for no limit"));
}

#[test]
fn skipped_tenants_make_the_run_fail() {
    let fleet = Fleet::new();
    std::fs::write(fleet.tenants().join("a_broken.db"), b"not a database file")
        .unwrap_or_else(|e| panic!("{e}"));
    let args = [
        "diff",
        "--all-tenants",
        "--max-failures",
        "1",
        "--concurrency",
        "1",
    ];
    let document = fleet.json(&args, 1);
    assert_eq!(document["summary"]["failed"], 1, "{document}");
    assert!(
        document["summary"]["skipped"]
            .as_u64()
            .is_some_and(|s| s >= 1),
        "{document}"
    );
    fleet
        .run(&args)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("skipped tenant"))
        .stdout(predicate::str::contains("--max-failures limit was reached"));
}

/// stdout and stderr of a run, as one string.
fn all_output(cmd: &mut Command) -> String {
    let output = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn passwords_never_reach_the_output() {
    let fleet = Fleet::new();
    let urls = [
        "postgres:/user:PW_SECRET_1@127.0.0.1:1/db",
        "mysql:/user:PW_SECRET_1@127.0.0.1:1/db",
        "postgresql:user:PW_SECRET_1@127.0.0.1:1/db",
        "postgres://user:PW_SECRET_1@127.0.0.1:1/db",
        "postgres://user:PW/SECRET_1@127.0.0.1:1/db",
        "mysql://root:PW_SECRET_1@127.0.0.1:1/test",
        "postgres://127.0.0.1:1/db?user=u&password=PW_SECRET_1",
        "postgres://u@127.0.0.1:1/db?sslpassword=PW_SECRET_1",
        "host=127.0.0.1 port=1 user=u password=PW_SECRET_1 dbname=db",
        "host=127.0.0.1 password = 'PW SECRET_1' dbname=db",
    ];
    for url in urls {
        for command in ["validate", "tenants", "audit"] {
            let output = all_output(&mut fleet.run(&[command, "--all-tenants", "--url", url]));
            assert!(
                !output.contains("SECRET_1") && output.contains("error"),
                "{command} --url {url:?} printed: {output}"
            );
        }
        std::fs::write(
            fleet.dir.path().join("schema-sync.toml"),
            format!("url = {url:?}\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let output = all_output(
            fleet
                .run(&["validate", "--all-tenants", "--format", "json"])
                .env_remove("SCHEMA_SYNC_URL"),
        );
        assert!(!output.contains("SECRET_1"), "config url {url:?}: {output}");
    }
}

#[test]
fn connection_errors_say_each_cause_once() {
    let fleet = Fleet::new();
    let output = all_output(&mut fleet.run(&[
        "validate",
        "--all-tenants",
        "--url",
        "postgres://u@127.0.0.1:1/db",
    ]));
    assert_eq!(output.matches("Connection refused").count(), 1, "{output}");
}

#[test]
fn quiet_audit_prints_problems_and_the_summary_only() {
    let fleet = Fleet::new();
    let output = fleet
        .run(&["audit", "--all-tenants", "-q"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let output = String::from_utf8_lossy(&output);
    assert_eq!(output.lines().count(), 1, "{output}");
    assert!(
        output.starts_with("4 tenants audited, 0 failed"),
        "{output}"
    );
    std::fs::write(fleet.tenants().join("broken.db"), b"not a database file")
        .unwrap_or_else(|e| panic!("{e}"));
    let output = all_output(&mut fleet.run(&["audit", "--all-tenants", "-q"]));
    assert!(output.contains("broken"), "{output}");
    assert!(!output.contains("tenant_0"), "{output}");
}

#[test]
fn one_tenant_is_singular() {
    let fleet = Fleet::new();
    for command in ["validate", "audit", "diff"] {
        let output = all_output(&mut fleet.run(&[command, "--tenant", "tenant_0"]));
        assert!(
            output.contains("(1 tenant,") || output.contains("1 tenant audited"),
            "{command}: {output}"
        );
        assert!(!output.contains("1 tenants"), "{command}: {output}");
    }
}

#[test]
fn jsonl_prints_a_line_per_tenant_then_the_summary() {
    let fleet = Fleet::new();
    let output = fleet
        .run(&[
            "sync",
            "--all-tenants",
            "--allow-destructive",
            "--format",
            "jsonl",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<Value> = String::from_utf8_lossy(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    let (summary, tenants) = lines.split_last().unwrap_or_else(|| panic!("no lines"));
    assert!(
        tenants
            .iter()
            .all(|t| t["type"] == "tenant" && t["command"] == "sync")
    );
    let mut names: Vec<_> = tenants
        .iter()
        .filter_map(|t| t["tenant"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["tenant_0", "tenant_1", "tenant_2", "tenant_3"]);
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["summary"]["synced"], 2, "{summary}");
    for command in ["audit", "plan", "validate"] {
        let output = fleet
            .run(&[command, "--all-tenants", "--format", "jsonl"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text.lines().last().unwrap_or_default();
        let last: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(last["type"], "summary", "{command}: {text}");
    }
}

/// A run whose last tenant is held by a read lock: the other tenants' results must be on
/// stdout while the run still waits, so a killed run leaves them behind.
#[test]
fn results_stream_out_before_the_run_ends() {
    use std::io::BufRead as _;
    for format in ["jsonl", "text"] {
        let fleet = Fleet::new();
        let blocker = rusqlite::Connection::open(fleet.tenants().join("tenant_3.db"))
            .unwrap_or_else(|e| panic!("{e}"));
        // tenant_3 drifts, so syncing it must write, which waits for the reader below.
        blocker
            .execute_batch(
                "ALTER TABLE users ADD COLUMN extra TEXT; BEGIN; SELECT count(*) FROM users;",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("schema-sync"))
            .current_dir(fleet.dir.path())
            .env(
                "SCHEMA_SYNC_URL",
                format!("sqlite://{}", fleet.tenants().display()),
            )
            .env("NO_COLOR", "1")
            .args([
                "sync",
                "--all-tenants",
                "--allow-destructive",
                "--concurrency",
                "1",
            ])
            .args(["--target", &fleet.schema().display().to_string()])
            .args(["--lock-timeout", "60s", "--format", format])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        // tenant_1 and tenant_2 are synced (one line each in text); in jsonl every
        // tenant has a line, so three lines are tenant_0..2.
        let wanted = if format == "jsonl" { 3 } else { 2 };
        let mut lines = Vec::new();
        while lines.len() < wanted {
            match receive.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(line) if !line.trim().is_empty() && !line.starts_with("    ") => {
                    lines.push(line)
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = child.kill();
                    panic!("{format}: only {lines:?} before the run ended: {e}");
                }
            }
        }
        let still_running = child.try_wait().ok().flatten().is_none();
        let _ = child.kill();
        let _ = child.wait();
        drop(blocker);
        assert!(still_running, "{format}: the run had ended: {lines:?}");
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("tenant_3") && !l.contains("summary")),
            "{format}: {lines:?}"
        );
        if format == "jsonl" {
            for line in &lines {
                let value: Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert_eq!(value["type"], "tenant");
            }
        }
    }
}

#[test]
fn a_failed_sync_says_what_was_applied() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tenants = dir.path().join("tenants");
    std::fs::create_dir_all(&tenants).unwrap_or_else(|e| panic!("{e}"));
    let conn = rusqlite::Connection::open(tenants.join("a.db")).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO u (name) VALUES (NULL);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("schema.sql");
    std::fs::write(
        &target,
        "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT NOT NULL); CREATE TABLE v (id INTEGER);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for format in ["json", "jsonl"] {
        let output = Command::cargo_bin("schema-sync")
            .unwrap_or_else(|e| panic!("{e}"))
            .current_dir(dir.path())
            .env("SCHEMA_SYNC_URL", format!("sqlite://{}", tenants.display()))
            .args([
                "sync",
                "--all-tenants",
                "--allow-destructive",
                "--format",
                format,
            ])
            .arg("--target")
            .arg(&target)
            .assert()
            .code(1)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&output);
        let tenant: Value = if format == "json" {
            let document: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
            document["tenants"][0].clone()
        } else {
            serde_json::from_str(text.lines().next().unwrap_or_default())
                .unwrap_or_else(|e| panic!("{e}: {text}"))
        };
        let execution = &tenant["execution"];
        assert_eq!(tenant["status"], "failed", "{tenant}");
        assert_eq!(execution["steps_total"], 2, "{tenant}");
        assert_eq!(execution["steps_succeeded"], 1, "{tenant}");
        assert_eq!(execution["rolled_back"], true, "{tenant}");
        assert!(execution["failed_statement"].is_string(), "{tenant}");
    }
}

#[test]
fn text_output_says_what_changed_in_sql_terms() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tenants = dir.path().join("tenants");
    std::fs::create_dir_all(&tenants).unwrap_or_else(|e| panic!("{e}"));
    let conn = rusqlite::Connection::open(tenants.join("a.db")).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "CREATE TABLE orgs (id INTEGER PRIMARY KEY);
         CREATE TABLE users (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES orgs (id) ON DELETE RESTRICT, name VARCHAR(50), score INTEGER);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("schema.sql");
    std::fs::write(
        &target,
        "CREATE TABLE orgs (id INTEGER PRIMARY KEY);
         CREATE TABLE users (id INTEGER PRIMARY KEY, org_id INTEGER REFERENCES orgs (id) ON DELETE CASCADE, name VARCHAR(100) NOT NULL, score INTEGER DEFAULT 0);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let run = |command: &str| {
        let output = Command::cargo_bin("schema-sync")
            .unwrap_or_else(|e| panic!("{e}"))
            .current_dir(dir.path())
            .env("SCHEMA_SYNC_URL", format!("sqlite://{}", tenants.display()))
            .env("NO_COLOR", "1")
            .args([command, "--all-tenants"])
            .arg("--target")
            .arg(&target)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let diff = run("diff");
    for expected in [
        "on delete restrict -> cascade",
        "type varchar(50) -> varchar(100)",
        "nullable -> not null",
        "default none -> 0",
    ] {
        assert!(
            diff.contains(expected),
            "{expected:?} missing from:\n{diff}"
        );
    }
    let plan = run("plan");
    for output in [&diff, &plan] {
        for debug in ["Some(", "None", "{ "] {
            assert!(!output.contains(debug), "{debug:?} in:\n{output}");
        }
    }
}

#[test]
fn snapshot_save_ends_with_a_summary_and_quiet_prints_only_that() {
    let fleet = Fleet::new();
    let store = format!("file://{}", fleet.dir.path().join("store").display());
    let output = fleet
        .run(&[
            "snapshot",
            "save",
            "--tenant",
            "tenant_0",
            "--snapshot-store",
            &store,
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let output = String::from_utf8_lossy(&output);
    assert!(output.contains("tenant_0"), "{output}");
    assert!(output.contains("1 snapshot saved, 0 failed"), "{output}");
    let output = fleet
        .run(&[
            "snapshot",
            "save",
            "--all-tenants",
            "-q",
            "--snapshot-store",
            &store,
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let output = String::from_utf8_lossy(&output);
    assert_eq!(output.lines().count(), 1, "{output}");
    assert!(
        output.starts_with("4 snapshots saved, 0 failed"),
        "{output}"
    );
}

/// The column names of `table` in `file`, in `PRAGMA table_info` order.
fn column_order(file: &Path, table: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(file).unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn column_order_is_reported_and_synced_only_when_strict() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tenants = dir.path().join("tenants");
    std::fs::create_dir_all(&tenants).unwrap_or_else(|e| panic!("{e}"));
    let target = dir.path().join("schema.sql");
    std::fs::write(
        &target,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = tenants.join("acme.db");
    let conn = rusqlite::Connection::open(&file).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL);
         INSERT INTO users VALUES (1, 'a@example.com', 'Ann');",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let run = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
        cmd.current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("SCHEMA_SYNC_URL", format!("sqlite://{}", tenants.display()))
            .args(args)
            .args(["--all-tenants", "--target", &target.display().to_string()]);
        cmd
    };
    run(&["validate"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("column order differs in 1 table"));
    run(&["diff"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "~ column order (id, email, name) -> (id, name, email)",
        ));
    run(&["validate", "--strict-column-order"]).assert().code(1);
    assert_eq!(column_order(&file, "users"), ["id", "email", "name"]);
    run(&["sync", "--strict-column-order"]).assert().code(0);
    assert_eq!(column_order(&file, "users"), ["id", "name", "email"]);
    run(&["validate", "--strict-column-order"]).assert().code(0);
    let conn = rusqlite::Connection::open(&file).unwrap_or_else(|e| panic!("{e}"));
    let row: (i64, String, String) = conn
        .query_row("SELECT id, name, email FROM users", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        row,
        (1, "Ann".into(), "a@example.com".into()),
        "rows survive"
    );
}

#[test]
fn tenants_honours_the_selection() {
    let fleet = Fleet::new();
    fleet
        .run(&[
            "tenants",
            "--tenant-pattern",
            "tenant_*",
            "--exclude",
            "tenant_1",
        ])
        .assert()
        .code(0)
        .stdout("tenant_0\ntenant_2\ntenant_3\n");
    fleet
        .run(&["tenants", "--tenant", "tenant_2", "--tenant", "nobody"])
        .assert()
        .code(0)
        .stdout("tenant_2\n");
    let document = fleet.json(&["tenants", "--exclude", "tenant_[03]"], 0);
    assert_eq!(
        document["tenants"],
        serde_json::json!(["tenant_1", "tenant_2"])
    );
}

#[test]
fn exclude_flags_add_to_the_config_files() {
    let fleet = Fleet::new();
    std::fs::write(
        fleet.dir.path().join("schema-sync.toml"),
        "exclude = [\"tenant_0\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let document = fleet.json(&["validate", "--all-tenants", "--exclude", "tenant_3"], 1);
    let names: Vec<String> = statuses(&document).into_iter().map(|(t, _)| t).collect();
    assert_eq!(names, ["tenant_1", "tenant_2"]);
    fleet
        .run(&["tenants", "--exclude", "tenant_3"])
        .assert()
        .code(0)
        .stdout("tenant_1\ntenant_2\n");
}

#[test]
fn a_command_refuses_flags_it_cannot_honour() {
    let fleet = Fleet::new();
    for args in [
        &["snapshot", "list", "tenant_0", "--target", "schema.sql"][..],
        &["snapshot", "show", "x.json", "--url", "sqlite:///tmp"],
        &["tenants", "--concurrency", "2"],
        &["tenants", "--target", "schema.sql"],
        &["audit", "--all-tenants", "--target", "schema.sql"],
        &["audit", "--all-tenants", "--max-failures", "1"],
        // --allow-destructive exists on plan only with --layout (tests/export.rs).
        &["plan", "--all-tenants", "--resume", "x"],
        &["diff", "--all-tenants", "--save-snapshots"],
        &["--target", "schema.sql", "validate", "--all-tenants"],
    ] {
        fleet
            .cmd()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("unexpected argument"));
    }
    fleet
        .cmd()
        .args(["snapshot", "list", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--snapshot-store"))
        .stdout(predicate::str::contains("--lock-timeout").not())
        .stdout(predicate::str::contains("--url").not());
    fleet
        .cmd()
        .args(["sync", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Tenant selection:"))
        .stdout(predicate::str::contains("Execution:"))
        .stdout(predicate::str::contains("--allow-destructive"));
}

#[test]
fn durations_take_units_in_flags_and_config() {
    let fleet = Fleet::new();
    fleet
        .run(&["validate", "--all-tenants", "--lock-timeout", "5000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("5000ms"));
    fleet
        .run(&[
            "validate",
            "--all-tenants",
            "--lock-timeout",
            "5s",
            "--statement-timeout",
            "500ms",
        ])
        .assert()
        .code(1);
    let config = fleet.dir.path().join("schema-sync.toml");
    std::fs::write(
        &config,
        "lock_timeout = \"5s\"\nstatement_timeout = \"1m\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    fleet.run(&["validate", "--all-tenants"]).assert().code(1);
    std::fs::write(&config, "statement_timeout = \"60\"\n").unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["validate", "--all-tenants"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("statement_timeout"))
        .stderr(predicate::str::contains("60s"));
    std::fs::write(&config, "lock_timeout_ms = 5000\n").unwrap_or_else(|e| panic!("{e}"));
    fleet
        .run(&["validate", "--all-tenants"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("lock_timeout = \"5s\""));
}

#[test]
fn snapshot_files_need_no_store() {
    let fleet = Fleet::new();
    let audit = fleet.json(&["audit", "--tenant", "tenant_0", "--snapshots"], 0);
    let file = fleet.dir.path().join("s.json");
    std::fs::write(
        &file,
        serde_json::to_string(&audit["tenants"][0]["snapshot"]).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    let shown = fleet
        .cmd()
        .env_remove("SCHEMA_SYNC_SNAPSHOT_STORE")
        .args(["snapshot", "show", &file])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let shown: Value = serde_json::from_slice(&shown).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shown["tables"], audit["tenants"][0]["snapshot"]["tables"]);
    fleet
        .cmd()
        .env_remove("SCHEMA_SYNC_SNAPSHOT_STORE")
        .args(["snapshot", "diff", &file, &file])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("are the same schema"));
}

#[test]
fn a_store_error_after_sync_comes_after_the_report() {
    let fleet = Fleet::new();
    let dir = fleet.dir.path().join("store");
    let store = format!("file://{}", dir.display());
    fleet
        .run(&[
            "snapshot",
            "save",
            "--tenant",
            "tenant_0",
            "--snapshot-store",
            &store,
        ])
        .assert()
        .code(0);
    // A file where tenant_1's directory belongs: the store opens, saving tenant_1 fails.
    std::fs::write(dir.join("tenants").join("tenant_1"), "in the way")
        .unwrap_or_else(|e| panic!("{e}"));
    let sync = [
        "sync",
        "--tenant",
        "tenant_1",
        "--save-snapshots",
        "--snapshot-store",
        &store,
    ];
    let output = fleet
        .run(&sync)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("snapshots could not be saved"))
        .get_output()
        .stdout
        .clone();
    let stdout = String::from_utf8_lossy(&output);
    assert!(
        stdout.contains("synced") && stdout.contains("tenant_1"),
        "{stdout}"
    );
    let document = fleet.json(&sync, 2);
    assert_eq!(document["summary"]["total"], 1, "{document}");
}

#[test]
fn completions_are_printed_for_each_shell() {
    let fleet = Fleet::new();
    for (shell, marker) in [
        ("bash", "_schema__sync()"),
        ("zsh", "#compdef schema-sync"),
        ("fish", "complete -c schema-sync"),
    ] {
        fleet
            .cmd()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker))
            .stdout(predicate::str::contains("snapshot-store"));
    }
}

impl Fleet {
    /// Copies tenant file `from` to one tenant per name: a large fleet in a moment.
    fn copy(&self, from: &str, names: impl IntoIterator<Item = String>) {
        let source = self.tenants().join(format!("{from}.db"));
        for name in names {
            std::fs::copy(&source, self.tenants().join(format!("{name}.db")))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    /// The standard fleet grown to `total` tenants: a tenth (at most 9 more) like
    /// tenant_1 (`miss_*`), 39 more like tenant_2 when there is room (`extra_*`), the
    /// rest in sync (`ok_*`).
    fn grown(total: usize) -> Self {
        let fleet = Self::new();
        let missing = (total / 10).min(9);
        let extra = if total >= 100 { 39 } else { 0 };
        let in_sync = total - 4 - missing - extra;
        fleet.copy("tenant_1", (0..missing).map(|i| format!("miss_{i:03}")));
        fleet.copy("tenant_2", (0..extra).map(|i| format!("extra_{i:02}")));
        fleet.copy("tenant_0", (0..in_sync).map(|i| format!("ok_{i:04}")));
        fleet
    }
}

/// The `tenant_count` of each element of a document's `shapes`.
fn shape_counts(document: &Value) -> Vec<u64> {
    let shapes = document["shapes"].as_array().into_iter().flatten();
    shapes.filter_map(|s| s["tenant_count"].as_u64()).collect()
}

/// The ids of a JSON array of tenant reports, or of a `tenants` document's strings.
fn ids(values: &Value) -> Vec<String> {
    values
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["tenant"].as_str().or(v.as_str()).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_thousand_tenants_print_one_block_per_shape() {
    let fleet = Fleet::grown(1000);
    let output = fleet
        .run(&["validate", "--all-tenants"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&output);
    let lines: Vec<&str> = text.lines().collect();
    let (summary, blocks) = lines.split_last().unwrap_or_else(|| panic!("no output"));
    assert_eq!(
        blocks,
        [
            "950 tenants: in sync",
            "    ok_0000, ok_0001, ok_0002, ok_0003, ok_0004 and 945 more",
            "40 tenants: drifted, 1 change, destructive",
            "    ~ table users",
            "        - column legacy text",
            "    hazards:",
            "      step 1 drop column users.legacy (text)  [deletes data]",
            "    extra_00, extra_01, extra_02, extra_03, extra_04 and 35 more",
            "10 tenants: drifted, 2 changes",
            "    ~ table projects",
            "        + index projects_active (organization_id, name) where archived_at is null",
            "    + view active_projects",
            "    hazards:",
            "      step 1 create index projects_active on projects where archived_at is null  [blocks writes, builds an index]",
            "    miss_000, miss_001, miss_002, miss_003, miss_004 and 5 more",
        ],
        "{text}"
    );
    assert!(
        summary.starts_with("950 in sync, 50 drifted, 0 failed (1000 tenants, 3 distinct schemas,"),
        "{summary}"
    );

    let document = fleet.json(&["validate", "--all-tenants"], 1);
    let shapes = document["shapes"].as_array().cloned().unwrap_or_default();
    let counts = shape_counts(&document);
    assert_eq!(counts, [950, 40, 10]);
    assert_eq!(counts.iter().sum::<u64>(), 1000);
    assert_eq!(document["summary"]["total"], 1000);
    // Every tenant in exactly one shape, with its own status.
    let mut in_shapes: Vec<String> = shapes.iter().flat_map(|s| ids(&s["tenants"])).collect();
    in_shapes.sort();
    assert_eq!(in_shapes, ids(&document["tenants"]));
    let status_of: std::collections::BTreeMap<String, String> =
        statuses(&document).into_iter().collect();
    for shape in &shapes {
        for tenant in ids(&shape["tenants"]) {
            assert_eq!(
                Some(&status_of[&tenant]),
                shape["status"].as_str().map(str::to_string).as_ref()
            );
        }
        assert_eq!(
            shape["tenant_count"].as_u64(),
            Some(ids(&shape["tenants"]).len() as u64)
        );
    }
    assert_eq!(shapes[1]["diff"]["tables"][0]["name"], "users");
    assert_eq!(shapes[1]["changes"], 1);
    assert_eq!(shapes[2]["tenants"][9], "tenant_1");
    // Hashes are stable: a second run gives the same shapes.
    let again = fleet.json(&["validate", "--all-tenants"], 1);
    assert_eq!(again["shapes"], document["shapes"]);

    let audit = fleet.json(&["audit", "--all-tenants"], 0);
    assert_eq!(shape_counts(&audit), [950, 40, 10]);
    assert_eq!(audit["shapes"][0]["hash"], document["target_hash"]);
}

#[test]
fn the_default_groups_by_shape_above_fifty_tenants() {
    let per_tenant = "drifted  tenant_1  2 changes";
    let grouped = "tenants: drifted, 2 changes";
    let fifty = Fleet::grown(50);
    let text = fifty.run(&["diff", "--all-tenants"]).assert().code(0);
    let text = String::from_utf8_lossy(&text.get_output().stdout).to_string();
    assert!(
        text.contains(per_tenant) && !text.contains(grouped),
        "{text}"
    );
    assert!(text.contains("43 in sync, 7 drifted"), "{text}");

    let fifty_one = Fleet::grown(51);
    fifty_one.copy("tenant_0", ["ok_extra".to_string()]);
    for (args, expect_grouped) in [
        (&["diff", "--all-tenants"][..], true),
        (
            &["diff", "--all-tenants", "--group-by", "tenant"][..],
            false,
        ),
        (
            &[
                "sync",
                "--all-tenants",
                "--allow-destructive",
                "--group-by",
                "tenant",
            ][..],
            false,
        ),
        (
            &["audit", "--all-tenants", "--group-by", "tenant"][..],
            false,
        ),
    ] {
        let output = fifty_one.run(args).assert().get_output().stdout.clone();
        let text = String::from_utf8_lossy(&output);
        let blocks = text
            .lines()
            .filter(|l| {
                !l.starts_with(' ') && (l.contains(" tenants: ") || l.contains(" tenant: "))
            })
            .count();
        if expect_grouped {
            assert!(
                text.contains("6 tenants: drifted, 2 changes"),
                "{args:?}: {text}"
            );
            assert!(!text.contains(per_tenant), "{args:?}: {text}");
            assert_eq!(blocks, 3, "{args:?}: {text}");
        } else {
            assert_eq!(blocks, 0, "{args:?}: {text}");
            // A line per tenant instead: tenant_1's names it first.
            assert!(text.contains("tenant_1  "), "{args:?}: {text}");
        }
    }
    // sync above printed lines per tenant and synced every drifted tenant.
    let synced = fifty_one.json(&["validate", "--all-tenants"], 0);
    assert_eq!(synced["summary"]["in_sync"], 52);
    assert_eq!(synced["shapes"].as_array().map(Vec::len), Some(1));

    // --group-by shape on a small fleet, and the config key.
    let small = Fleet::new();
    small
        .run(&["validate", "--all-tenants", "--group-by", "shape"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "2 tenants: in sync\n    tenant_0, tenant_3\n1 tenant: drifted, 2 changes\n",
        ));
    std::fs::write(
        small.dir.path().join("schema-sync.toml"),
        "group_by = \"shape\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    small
        .run(&["audit", "--all-tenants"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("2 tenants: snapshot "))
        .stdout(predicate::str::contains("    tenant_0, tenant_3\n"));
    small
        .run(&["validate", "--all-tenants", "--group-by", "tenant"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("drifted  tenant_1  2 changes"));
    small
        .run(&["validate", "--all-tenants", "--group-by", "shapes"])
        .assert()
        .code(2);
}

#[test]
fn shards_cover_every_sqlite_tenant_exactly_once() {
    let fleet = Fleet::grown(120);
    let selections: [&[&str]; 3] = [
        &["--all-tenants"],
        &["--tenant-pattern", "ok_*", "--exclude", "ok_00[0-4]*"],
        &[
            "--tenant", "tenant_1", "--tenant", "tenant_2", "--tenant", "ok_0007",
        ],
    ];
    for selection in selections {
        let whole = ids(&fleet.json(&[&["tenants"][..], selection].concat(), 0)["tenants"]);
        assert!(whole.len() >= 3, "{selection:?}: {whole:?}");
        let mut parts: Vec<String> = Vec::new();
        for shard in ["1/3", "2/3", "3/3"] {
            let args = [&["audit"][..], selection, &["--shard", shard]].concat();
            let part = ids(&fleet.json(&args, 0)["tenants"]);
            if whole.len() >= 30 {
                assert!(!part.is_empty(), "{selection:?} {shard} is empty");
            }
            // `tenants` and `audit` agree on the part.
            let listed = ids(&fleet.json(
                &[&["tenants"][..], selection, &["--shard", shard]].concat(),
                0,
            )["tenants"]);
            assert_eq!(listed, part, "{selection:?} {shard}");
            parts.extend(part);
        }
        parts.sort();
        assert_eq!(parts, whole, "{selection:?}");
    }
    let all = ids(&fleet.json(&["tenants", "--shard", "1/1"], 0)["tenants"]);
    assert_eq!(all.len(), 120);
    for (bad, says) in [
        ("0/3", "shard 0 of 3 does not exist"),
        ("4/3", "give 1/3 to 3/3"),
        ("1/0", "at least 1"),
        ("two", "not of the form i/n"),
    ] {
        fleet
            .run(&["validate", "--all-tenants", "--shard", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn sqlite_runs_the_online_strategy_as_plain() {
    let fleet = Fleet::new();
    std::fs::write(
        fleet.dir.path().join("schema-sync.toml"),
        "strategy = \"online\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let diff = fleet.json(&["diff", "--tenant", "tenant_1"], 0);
    let steps = diff["tenants"][0]["plan"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!steps.is_empty(), "{diff}");
    assert!(
        steps.iter().all(|s| s.get("outside_transaction").is_none()),
        "one writer per file: nothing runs outside the transaction: {diff}"
    );
    let synced = fleet.json(&["sync", "--tenant", "tenant_1", "--no-ledger"], 0);
    assert_eq!(synced["summary"]["synced"], 1, "{synced}");
    fleet
        .run(&["diff", "--tenant", "tenant_1", "--strategy", "bogus"])
        .assert()
        .code(2);
}
