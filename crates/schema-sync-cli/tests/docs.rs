//! The docs cannot drift from the binary: the flag tables and exit codes of
//! `docs/src/commands.md` and the exit codes of `README.md` are regenerated from the clap
//! command and compared with the files. `cargo xtask docs` rewrites them.

use std::path::PathBuf;

use schema_sync_cli::reference;

fn workspace_file(path: &str) -> (PathBuf, String) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    (path, text)
}

/// Fails with the first differing line and the command that fixes it.
fn assert_current(name: &str, current: &str, expected: &str) {
    if current == expected {
        return;
    }
    let line = current
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| current.lines().count().min(expected.lines().count()));
    panic!(
        "{name} is out of date with the schema-sync binary's flags (first difference at line {}):\n  \
         file:      {:?}\n  generated: {:?}\nrun `cargo xtask docs` to regenerate it",
        line + 1,
        current.lines().nth(line).unwrap_or("<end of file>"),
        expected.lines().nth(line).unwrap_or("<end of file>"),
    );
}

#[test]
fn commands_md_matches_the_binary() {
    let (path, current) = workspace_file("docs/src/commands.md");
    let expected = reference::update_commands_doc(&current)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_current("docs/src/commands.md", &current, &expected);
}

#[test]
fn readme_exit_codes_match_the_binary() {
    let (path, current) = workspace_file("README.md");
    let expected =
        reference::update_readme(&current).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_current("README.md", &current, &expected);
}

#[test]
fn every_command_has_a_flag_table() {
    let tables = reference::flag_tables(&schema_sync_cli::command());
    for name in [
        "sync",
        "diff",
        "validate",
        "audit",
        "plan",
        "tenants",
        "migrate",
        "migrate status",
        "snapshot save",
        "snapshot list",
        "snapshot show",
        "snapshot diff",
        "snapshot tag",
        "completions",
    ] {
        assert!(
            tables.contains(&format!("### `schema-sync {name}`")),
            "no table for {name}"
        );
    }
    assert!(tables.contains("`--snapshot-store <URL>`"));
    assert!(tables.contains("Tenant selection:"));
}

#[test]
fn a_stale_table_is_caught() {
    let (_, current) = workspace_file("docs/src/commands.md");
    let stale = current.replacen("--lock-timeout <DURATION>", "--lock-timeout <MS>", 1);
    assert_ne!(stale, current, "commands.md documents --lock-timeout");
    let expected = reference::update_commands_doc(&stale).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(stale, expected, "regenerating repairs a stale table");
}
