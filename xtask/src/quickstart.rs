//! `cargo xtask quickstart`: the README's first command, on nothing but cargo.
//!
//! Creates `examples/quickstart/tenants/` with six SQLite tenants built from
//! `examples/quickstart/schema.sql`, four of them drifted in different ways (one with data
//! in an extra column, so a plain sync must refuse it), then runs the documented session
//! from `examples/quickstart/`, where `schema-sync.toml` supplies the URL and target:
//! validate (exit 1), diff two tenants (0), sync (1: `initech` refused), sync
//! `--allow-destructive` (0), validate (0). Each step's exit code is checked, so the
//! quickstart doubles as a smoke test of the user's first minutes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The tenants and the SQL that drifts each from the desired schema (run after it).
const TENANTS: &[(&str, &str)] = &[
    ("acme", ""),
    ("globex", ""),
    // An extra column holding data: dropping it loses data, so only a destructive sync
    // may do it.
    (
        "initech",
        "ALTER TABLE users ADD COLUMN fax_number TEXT;
         INSERT INTO users (organization_id, email, fax_number)
             VALUES (1, 'bill@initech.example', '+1 555 0100');",
    ),
    // A missing partial index and an index nobody asked for.
    (
        "wonka",
        "DROP INDEX projects_active;
         CREATE INDEX users_by_display_name ON users (display_name);",
    ),
    // A missing column.
    ("umbrella", "ALTER TABLE users DROP COLUMN display_name;"),
    // A missing table and a view that selects other columns.
    (
        "hooli",
        "DROP TABLE invoices;
         DROP VIEW active_projects;
         CREATE VIEW active_projects AS SELECT p.id, p.name FROM projects p;",
    ),
];

/// The documented session: arguments and the exit code each must return.
const STEPS: &[(&[&str], i32)] = &[
    (&["validate"], 1),
    (&["diff", "--tenant", "initech", "--tenant", "wonka"], 0),
    (&["sync"], 1),
    (&["sync", "--allow-destructive"], 0),
    (&["validate"], 0),
];

/// Builds the quickstart fleet and runs the documented session.
///
/// # Errors
/// When the fleet cannot be created, the CLI cannot be built, or a step returns another
/// exit code than documented.
pub fn run() -> Result<()> {
    let example = cmd::workspace_root().join("examples").join("quickstart");
    let schema = std::fs::read_to_string(example.join("schema.sql"))
        .with_context(|| format!("cannot read {}", example.join("schema.sql").display()))?;
    let tenants = example.join("tenants");
    create_tenants(&tenants, &schema)?;
    eprintln!(
        "xtask quickstart: created {} tenants in {}",
        TENANTS.len(),
        tenants.display()
    );

    cmd::run(&mut cmd::cargo([
        "build",
        "--quiet",
        "-p",
        "schema-sync-cli",
    ]))?;
    let binary = cmd::target_dir()?.join("debug").join("schema-sync");
    for (args, expected) in STEPS {
        let mut command = Command::new(&binary);
        command
            .args(*args)
            .current_dir(&example)
            .env_remove("SCHEMA_SYNC_URL");
        eprintln!("\n$ schema-sync {}", args.join(" "));
        let status = command
            .status()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let code = status.code();
        eprintln!(
            "(exit code {})",
            code.map_or("none".into(), |c| c.to_string())
        );
        if code != Some(*expected) {
            bail!(
                "`schema-sync {}` exited with {status}, the quickstart documents exit code {expected}",
                args.join(" ")
            );
        }
    }
    eprintln!("\nxtask quickstart: every step returned its documented exit code");
    Ok(())
}

fn create_tenants(dir: &Path, schema: &str) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, drift) in TENANTS {
        let file: PathBuf = dir.join(format!("{name}.db"));
        let conn = rusqlite::Connection::open(&file)
            .with_context(|| format!("cannot create {}", file.display()))?;
        let organization = format!(
            "INSERT INTO organizations (name, plan) VALUES ('{}', 'team');",
            name.to_uppercase()
        );
        conn.execute_batch(schema)
            .and_then(|()| conn.execute_batch(&organization))
            .and_then(|()| conn.execute_batch(drift))
            .with_context(|| format!("cannot build tenant {name}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every drift applies to the shipped schema (the CLI is not run here).
    #[test]
    fn tenants_build_from_the_shipped_schema() -> Result<()> {
        let schema =
            std::fs::read_to_string(cmd::workspace_root().join("examples/quickstart/schema.sql"))?;
        let dir = std::env::temp_dir().join(format!("xtask-quickstart-{}", std::process::id()));
        let result = create_tenants(&dir, &schema);
        let _ = std::fs::remove_dir_all(&dir);
        result
    }
}
