//! SQLite tenants: one database file per tenant.
//!
//! `sqlite:///path/dir` makes every `*.db`, `*.sqlite` and `*.sqlite3` file in the
//! directory a tenant named by its file stem; `sqlite:///path/file.db` is one tenant.

use std::path::{Path, PathBuf};

use schema_sync_core::{Error, Result, TenantId};

/// File extensions that make a file a tenant.
pub const TENANT_EXTENSIONS: &[&str] = &["db", "sqlite", "sqlite3"];

/// Where the tenants are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory of tenant files.
    Directory(PathBuf),
    /// A single tenant file.
    File(PathBuf),
}

impl Location {
    /// Parses a `sqlite://` URL (`sqlite:///abs/path`, `sqlite://relative/path`,
    /// `sqlite:path`) and checks that the path exists.
    ///
    /// # Errors
    /// [`Error::Config`] when the scheme is wrong or the path does not exist.
    pub fn from_url(url: &str) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::config(format!("{url:?} is not a sqlite:// URL; use sqlite:///path/to/dir or sqlite:///path/to/file.db")))?;
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(Error::config(
                "the sqlite:// URL has no path; use sqlite:///path/to/dir or sqlite:///path/to/file.db",
            ));
        }
        let path = PathBuf::from(path);
        if path.is_dir() {
            Ok(Location::Directory(path))
        } else if path.is_file() {
            Ok(Location::File(path))
        } else {
            Err(Error::config(format!(
                "{} does not exist; create the directory of tenant files, or point the URL at an existing .db file",
                path.display()
            )))
        }
    }

    /// Every tenant's name (the file stem), sorted. A stem that is not a valid tenant id
    /// is listed too, so the engine reports it instead of the fleet stopping.
    ///
    /// # Errors
    /// [`Error::Connection`] when the directory cannot be read.
    pub fn list_tenants(&self) -> Result<Vec<String>> {
        let mut tenants = match self {
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

    /// The file of `tenant`.
    ///
    /// # Errors
    /// [`Error::Config`] when the id could escape the directory (path separators, a
    /// leading dot) or does not name this location's single file.
    pub fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        let id = tenant.as_str();
        if id.chars().any(std::path::is_separator) || id.starts_with('.') {
            return Err(Error::config(format!(
                "tenant {id:?}: a SQLite tenant id is a file stem and cannot contain path separators or start with a dot"
            )));
        }
        let path = match self {
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
