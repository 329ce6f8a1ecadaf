//! A SQLite fleet: one file per tenant in a directory of its own.
//!
//! The template DDL is executed once into `bench_template.db`, in the fleet directory so it
//! can be the reference tenant; every tenant in sync is a copy of that file. A drifted tenant is created from its own drifted DDL instead of being copied
//! and altered, because SQLite cannot `ALTER` most kinds of drift (types, defaults,
//! nullability, constraints) without rebuilding the table, which is the very code under
//! test.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Built, Fleet, TEMPLATE};
use crate::bench::render::{self, Dialect};

fn fleet_dir(workdir: &Path) -> PathBuf {
    workdir.join("sqlite-fleet")
}

/// Builds the fleet under `workdir`; the URL names the directory.
pub fn create(fleet: &Fleet, workdir: &Path) -> Result<Built> {
    destroy(workdir)?;
    let dir = fleet_dir(workdir);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let template_file = dir.join(format!("{TEMPLATE}.db"));
    execute(
        &template_file,
        &render::ddl(&fleet.template, Dialect::Sqlite),
    )
    .context("the template DDL was rejected")?;
    for i in 0..fleet.tenants {
        let file = dir.join(format!("{}.db", Fleet::name(i)));
        match fleet.drifted_ddl(i, Dialect::Sqlite) {
            Some(ddl) => execute(&file, &ddl),
            None => fs::copy(&template_file, &file)
                .map(|_| ())
                .with_context(|| format!("cannot copy the template to {}", file.display())),
        }
        .with_context(|| format!("cannot create tenant {}", Fleet::name(i)))?;
    }
    Ok(Built {
        url: format!("sqlite://{}", dir.display()),
    })
}

/// Removes the fleet directory.
pub fn destroy(workdir: &Path) -> Result<()> {
    let dir = fleet_dir(workdir);
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    Ok(())
}

fn execute(file: &Path, ddl: &str) -> Result<()> {
    let conn = rusqlite::Connection::open(file)
        .with_context(|| format!("cannot open {}", file.display()))?;
    conn.execute_batch(ddl)
        .with_context(|| format!("DDL rejected by {}", file.display()))?;
    conn.close()
        .map_err(|(_, error)| error)
        .with_context(|| format!("cannot close {}", file.display()))
}
