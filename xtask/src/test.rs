//! `cargo xtask test`: the test matrix.
//!
//! Unit and property tests of every crate, then each adapter's integration tests against a
//! real server of its database. Servers are found by [`crate::servers::find`] and handed to
//! the tests through `SCHEMA_SYNC_TEST_PG_URL` / `SCHEMA_SYNC_TEST_MYSQL_URL`; a database
//! without a server means its adapter package is left out of the run.
//!
//! A skipped database is never silent: the matrix is printed before and after the tests,
//! with the skip in capitals and every place that was tried. With `CI=true` or
//! `--require-all` a skip is an error instead.
//!
//! All selected packages go to one cargo invocation (`-p a -p b ...`) so they share one
//! build. `cargo nextest run` is used when installed, `cargo test` otherwise. nextest does
//! not run doctests: when a library has a Rust code block in its docs, a `cargo test --doc`
//! for those crates runs first, so the run still ends with the main runner's summary.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;

use crate::cmd;
use crate::servers::{self, Attempt, Database, Server};

/// Packages tested whatever the database selection.
const ALWAYS: &[&str] = &[
    "schema-sync-core",
    "schema-sync-snapshots",
    "schema-sync-ledger",
    "schema-sync-cli",
];
/// Features the tests need: core's mocks and builders.
const FEATURES: &str = "schema-sync-core/testing";

/// Flags of `cargo xtask test`.
#[derive(Debug, Clone, Default, Args)]
pub struct TestArgs {
    /// Databases to test, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub db: Vec<Database>,
    /// Fail when a selected database cannot be reached instead of skipping it
    /// (implied by CI=true).
    #[arg(long)]
    pub require_all: bool,
}

/// What happened to one database of the matrix.
enum Entry {
    /// A server answered; its adapter is tested.
    Ready(Server),
    /// Selected but unreachable: its adapter is not tested.
    Skipped(Database, Vec<Attempt>),
    /// Left out by `--db`.
    NotSelected(Database),
}

/// Runs the matrix.
///
/// # Errors
/// When a required database is unreachable, cargo cannot run, or any test fails.
pub fn run(args: &TestArgs) -> Result<()> {
    let require_all = args.require_all || ci_env();
    let entries: Vec<Entry> = Database::ALL
        .into_iter()
        .map(|database| {
            if !args.db.is_empty() && !args.db.contains(&database) {
                return Entry::NotSelected(database);
            }
            match servers::find(database) {
                Ok(server) => Entry::Ready(server),
                Err(attempts) => Entry::Skipped(database, attempts),
            }
        })
        .collect();
    print_matrix(&entries, require_all);
    if require_all {
        let missing: Vec<String> = entries
            .iter()
            .filter_map(|entry| match entry {
                Entry::Skipped(database, attempts) => {
                    Some(unreachable_message(*database, attempts))
                }
                _ => None,
            })
            .collect();
        if !missing.is_empty() {
            let why = if args.require_all {
                "--require-all"
            } else {
                "CI=true"
            };
            bail!(
                "{} required database(s) unreachable ({why} forbids skipping):\n{}",
                missing.len(),
                missing.join("\n")
            );
        }
    }

    let mut packages: Vec<&str> = ALWAYS
        .iter()
        .copied()
        .filter(|package| *package != "schema-sync-snapshots" || has_tests(package))
        .collect();
    let mut env: Vec<(&str, Option<&str>)> = Vec::new();
    for entry in &entries {
        let (database, url) = match entry {
            Entry::Ready(server) => {
                packages.push(server.database.adapter_package());
                (server.database, server.url.as_deref())
            }
            Entry::Skipped(database, _) | Entry::NotSelected(database) => (*database, None),
        };
        if let Some(var) = database.env_var() {
            env.push((var, url));
        }
    }

    let features = snapshot_store_features(&packages, &env, require_all)?;
    let nextest = cmd::succeeds(&mut cmd::cargo(["nextest", "--version"]));
    let started = Instant::now();
    // nextest cannot run doctests. When a crate has some, they run first, so that the run
    // still ends with the main runner's summary.
    let with_doctests: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| has_doctests(p))
        .collect();
    let doctests = if nextest && !with_doctests.is_empty() {
        let mut doctests = cmd::cargo(["test", "--doc", "--no-fail-fast"]);
        add_packages(&mut doctests, &with_doctests, &features, &env);
        cmd::run(&mut doctests)
    } else {
        Ok(())
    };
    let mut command = if nextest {
        cmd::cargo(["nextest", "run", "--no-fail-fast"])
    } else {
        cmd::cargo(["test", "--no-fail-fast"])
    };
    add_packages(&mut command, &packages, &features, &env);
    // The CLI's snapshot cache goes to a directory of this run's own, not the user's: a
    // test run starts cold and leaves nothing behind.
    let cache = std::env::temp_dir().join(format!("schema-sync-test-cache-{}", std::process::id()));
    command.env("SCHEMA_SYNC_CACHE_DIR", &cache);
    let result = cmd::run(&mut command).and(doctests);
    let _ = std::fs::remove_dir_all(&cache);

    print_matrix(&entries, require_all);
    match &result {
        Ok(()) => eprintln!("xtask test: passed in {}", cmd::seconds(started.elapsed())),
        Err(_) => eprintln!(
            "xtask test: FAILED after {}",
            cmd::seconds(started.elapsed())
        ),
    }
    result
}

/// The snapshot-store backends to test: SQLite and git always, PostgreSQL when its server
/// is in the matrix, S3 when an S3-compatible server answers (start one with
/// `.ci/s3-server`). A missing S3 server is a failure when every backend is required.
fn snapshot_store_features(
    packages: &[&str],
    env: &[(&str, Option<&str>)],
    require_all: bool,
) -> Result<Vec<&'static str>> {
    if !packages.contains(&"schema-sync-snapshots") {
        return Ok(Vec::new());
    }
    let mut features = vec!["schema-sync-snapshots/sqlite", "schema-sync-snapshots/git"];
    if env
        .iter()
        .any(|(var, url)| *var == "SCHEMA_SYNC_TEST_PG_URL" && url.is_some())
    {
        features.push("schema-sync-snapshots/postgres");
    }
    let endpoint = std::env::var("SCHEMA_SYNC_TEST_S3_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let address = endpoint
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let reachable = std::net::ToSocketAddrs::to_socket_addrs(&address.as_str())
        .ok()
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        });
    if reachable {
        eprintln!("xtask test: s3 snapshot store: {endpoint}");
        features.push("schema-sync-snapshots/s3");
    } else if require_all {
        bail!(
            "no S3-compatible server answers at {endpoint}: run `.ci/s3-server` (or set SCHEMA_SYNC_TEST_S3_ENDPOINT)"
        );
    } else {
        eprintln!(
            "xtask test: SKIPPED: s3 snapshot store tests (nothing answers at {endpoint}; run .ci/s3-server)"
        );
    }
    Ok(features)
}

/// Whether CI=true (or 1) is set, as CI services do.
fn ci_env() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn add_packages(
    command: &mut Command,
    packages: &[&str],
    features: &[&str],
    env: &[(&str, Option<&str>)],
) {
    for package in packages {
        command.args(["-p", package]);
    }
    if packages.contains(&"schema-sync-core") {
        command.args(["--features", FEATURES]);
    }
    let selected = |feature: &&&str| {
        feature
            .split_once('/')
            .is_some_and(|(package, _)| packages.contains(&package))
    };
    for feature in features.iter().filter(selected) {
        command.args(["--features", feature]);
    }
    for (var, url) in env {
        match url {
            Some(url) => command.env(var, url),
            None => command.env_remove(var),
        };
    }
}

fn package_dir(package: &str) -> std::path::PathBuf {
    cmd::workspace_root().join("crates").join(package)
}

/// Whether a library crate has a code block in its doc comments that rustdoc would
/// compile: an untagged fence or one tagged only with Rust attributes.
fn has_doctests(package: &str) -> bool {
    let dir = package_dir(package);
    dir.join("src/lib.rs").is_file() && any_source(&dir.join("src"), &has_rust_doc_block)
}

fn has_rust_doc_block(text: &str) -> bool {
    let mut open = false;
    for line in text.lines() {
        let line = line.trim_start();
        let Some(doc) = line
            .strip_prefix("///")
            .or_else(|| line.strip_prefix("//!"))
        else {
            continue;
        };
        let Some(tag) = doc.trim().strip_prefix("```") else {
            continue;
        };
        if open {
            open = false;
            continue;
        }
        open = true;
        let rust = tag.split(',').all(|t| {
            matches!(
                t.trim(),
                "" | "rust"
                    | "no_run"
                    | "should_panic"
                    | "compile_fail"
                    | "edition2021"
                    | "edition2024"
            )
        });
        if rust {
            return true;
        }
    }
    false
}

/// Whether a crate has any test: a `tests/` file, or a test attribute or proptest block in
/// its sources.
fn has_tests(package: &str) -> bool {
    let dir = package_dir(package);
    let integration = std::fs::read_dir(dir.join("tests"))
        .map(|mut entries| entries.next().is_some())
        .unwrap_or(false);
    integration
        || any_source(&dir.join("src"), &|text| {
            ["#[test]", "#[tokio::test", "proptest!"]
                .iter()
                .any(|marker| text.contains(marker))
        })
}

/// Whether any `.rs` file under `dir` satisfies `matches`.
fn any_source(dir: &Path, matches: &dyn Fn(&str) -> bool) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            return any_source(&path, matches);
        }
        path.extension().is_some_and(|e| e == "rs")
            && std::fs::read_to_string(&path).is_ok_and(|text| matches(&text))
    })
}

fn unreachable_message(database: Database, attempts: &[Attempt]) -> String {
    let tried: Vec<String> = attempts.iter().map(|a| format!("    tried {a}")).collect();
    format!(
        "  {database}: no server reachable, so {} cannot be tested\n{}\n    {}",
        database.adapter_package(),
        tried.join("\n"),
        database.start_hint()
    )
}

fn print_matrix(entries: &[Entry], require_all: bool) {
    let rule = "=".repeat(72);
    eprintln!("{rule}");
    eprintln!("schema-sync test matrix");
    let mut skipped = 0;
    for entry in entries {
        match entry {
            Entry::Ready(server) => eprintln!(
                "  {:<9} tested    {}",
                server.database.name(),
                server.describe()
            ),
            Entry::NotSelected(database) => {
                eprintln!("  {:<9} -         not selected (--db)", database.name())
            }
            Entry::Skipped(database, attempts) => {
                skipped += 1;
                eprintln!(
                    "  {:<9} SKIPPED   {} NOT TESTED: no server reachable",
                    database.name(),
                    database.adapter_package()
                );
                for attempt in attempts {
                    eprintln!("            tried {attempt}");
                }
                eprintln!("            {}", database.start_hint());
            }
        }
    }
    if skipped > 0 {
        let consequence = if require_all {
            "this run fails"
        } else {
            "their adapters' integration tests DID NOT RUN (CI=true or --require-all makes this an error)"
        };
        eprintln!("  !!! {skipped} DATABASE(S) SKIPPED: {consequence}");
    }
    eprintln!("{rule}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rust_doc_blocks_only() {
        assert!(has_rust_doc_block("/// ```\n/// let x = 1;\n/// ```\n"));
        assert!(has_rust_doc_block("//! ```no_run\n//! x();\n//! ```\n"));
        assert!(!has_rust_doc_block("//! ```text\n//! a -> b\n//! ```\n"));
        assert!(!has_rust_doc_block(
            "/// ```sql\n/// SELECT 1\n/// ```\n/// text\n"
        ));
        assert!(!has_rust_doc_block("fn main() {}\n"));
    }
}
