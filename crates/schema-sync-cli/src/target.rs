//! Reading `--target`: SQL file, directory of SQL files, `tenant:NAME`, or snapshot JSON.

use std::path::Path;

use anyhow::{Context, Result, bail};
use schema_sync_core::{SchemaSnapshot, Target, TenantId};

/// Parses and reads the target the user named.
pub fn load_target(spec: &str) -> Result<Target> {
    if let Some(name) = spec.strip_prefix("tenant:") {
        return Ok(Target::Tenant(
            TenantId::new(name).context("--target tenant:NAME needs a valid tenant id")?,
        ));
    }
    let path = Path::new(spec);
    if path.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read target directory {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("target directory {} has no .sql files", path.display());
        }
        let mut sql = String::new();
        for file in &files {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read target file {}", file.display()))?;
            sql.push_str(&text);
            sql.push_str(";\n");
        }
        return Ok(Target::Sql {
            label: spec.to_string(),
            sql,
        });
    }
    if !path.is_file() {
        bail!(
            "target {spec} does not exist: give a .sql file, a directory of .sql files, tenant:NAME, or a snapshot .json"
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read target {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        let snapshot = SchemaSnapshot::from_json(&text, spec)?;
        return Ok(Target::Snapshot {
            label: spec.to_string(),
            snapshot: Box::new(snapshot),
        });
    }
    Ok(Target::Sql {
        label: spec.to_string(),
        sql: text,
    })
}
