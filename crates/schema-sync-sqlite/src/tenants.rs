//! SQLite tenants: one database file per tenant.
//!
//! In a directory ([`Location::Directory`]) every `*.db`, `*.sqlite` and `*.sqlite3`
//! file is a tenant named by its file stem; a single file ([`Location::File`]) is one
//! tenant. A tenant's namespace is the path of its file.

use std::path::{Path, PathBuf};

use schema_sync_core::{Error, Result, TenantContext, TenantId, run_blocking};

use crate::connect::Location;

/// File extensions that make a file a tenant.
pub const TENANT_EXTENSIONS: &[&str] = &["db", "sqlite", "sqlite3"];

/// Every tenant's name (the file stem), sorted. A stem that is not a valid tenant id is
/// listed too, so the engine reports it instead of the fleet stopping.
///
/// # Errors
/// [`Error::Connection`] when the directory cannot be read.
pub(crate) async fn list(location: &Location) -> Result<Vec<String>> {
    let location = location.clone();
    run_blocking(move || list_blocking(&location)).await
}

fn list_blocking(location: &Location) -> Result<Vec<String>> {
    let mut tenants = match location {
        Location::File(path) => vec![stem_of(path)],
        Location::Directory(dir) => {
            let entries = std::fs::read_dir(dir).map_err(|e| Error::Connection {
                target: dir.display().to_string(),
                source: Box::new(e),
            })?;
            let mut tenants = Vec::new();
            for entry in entries {
                let path = entry
                    .map_err(|e| Error::Connection {
                        target: dir.display().to_string(),
                        source: Box::new(e),
                    })?
                    .path();
                if path.is_file() && has_tenant_extension(&path) {
                    tenants.push(stem_of(&path));
                }
            }
            tenants
        }
    };
    tenants.sort();
    tenants.dedup();
    Ok(tenants)
}

/// The file of `tenant` at `location`.
///
/// # Errors
/// [`Error::Config`] when the id could escape the directory (path separators, a
/// leading dot) or does not name this location's single file.
pub(crate) fn namespace_of(location: &Location, tenant: &TenantId) -> Result<String> {
    let id = tenant.as_str();
    if id.chars().any(std::path::is_separator) || id.starts_with('.') {
        return Err(Error::config(format!(
            "tenant {id:?}: a SQLite tenant id is a file stem and cannot contain path separators or start with a dot"
        )));
    }
    let path = match location {
        Location::File(path) => {
            if tenant_of_file(path)? != *tenant {
                return Err(Error::config(format!(
                    "tenant {id:?} is not {}; the URL names a single file",
                    path.display()
                )));
            }
            path.clone()
        }
        Location::Directory(dir) => TENANT_EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{id}.{ext}")))
            .find(|p| p.is_file())
            .unwrap_or_else(|| dir.join(format!("{id}.db"))),
    };
    Ok(path.to_string_lossy().into_owned())
}

/// The file of a tenant whose namespace [`namespace_of`] gave.
pub(crate) fn path_of(tenant: &TenantContext) -> PathBuf {
    PathBuf::from(tenant.namespace())
}

fn has_tenant_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| TENANT_EXTENSIONS.contains(&e))
}

/// The tenant name of a file: its stem (lossily decoded when it is not UTF-8, so that a
/// report can still name it).
fn stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn tenant_of_file(path: &Path) -> Result<TenantId> {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    TenantId::new(stem)
}
