//! A directory of versioned SQL migration files, read once and checked.
//!
//! Two layouts are read, as sqlx writes them:
//! - `<version>_<name>.up.sql`, with an optional `<version>_<name>.down.sql` beside it
//!   (down files are not applied by `migrate`, and are skipped here);
//! - `<version>_<name>.sql`, sqlx's simple form.
//!
//! `version` is a whole number (an `i64`); `name` becomes the description, with `_`
//! read as a space. A file whose first line is `-- no-transaction` runs outside the
//! tenant's transaction (sqlx's marker). Files that do not end in `.sql`, and
//! directories, are not migrations and are left alone.
//!
//! A `manifest.json` beside the files, as `plan --out DIR --layout` writes it, says which
//! tenants each migration is for: an export writes one migration per drift shape, for
//! that shape's tenants only. `migrate` applies such a migration to those tenants and
//! does not count it as pending for the others.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::tenant::TenantId;

/// The file beside the migrations that scopes them to tenants.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The first line that makes a migration run outside the tenant's transaction.
pub const NO_TRANSACTION_MARKER: &str = "-- no-transaction";

/// The expected file name pattern, for messages.
const PATTERN: &str = "<version>_<name>.up.sql, <version>_<name>.down.sql or <version>_<name>.sql, with <version> a whole number";

/// A blake3 hash of a migration file's bytes: what detects a file changed after it was
/// applied.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Checksum(pub [u8; 32]);

impl Checksum {
    /// The checksum of `sql`.
    pub fn of(sql: &str) -> Self {
        Self(*blake3::hash(sql.as_bytes()).as_bytes())
    }

    /// The bytes as stored in the history table.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The first 12 hex digits, for messages.
    pub fn short(&self) -> String {
        short_hex(&self.0)
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Checksum({})", self.short())
    }
}

/// The first 12 hex digits of `bytes`.
pub(crate) fn short_hex(bytes: &[u8]) -> String {
    bytes.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// One versioned migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The version the file name starts with.
    pub version: i64,
    /// The name part of the file name, `_` read as a space.
    pub description: String,
    /// The file name, for messages.
    pub file: String,
    /// The file's SQL, as written (one or more statements).
    pub sql: String,
    /// The checksum of [`sql`](Self::sql).
    pub checksum: Checksum,
    /// Whether the first line is `-- no-transaction`: the file runs outside the tenant's
    /// transaction.
    pub no_transaction: bool,
    /// The tenants this migration is for, from the directory's [`MANIFEST_FILE`]; `None`
    /// for every tenant.
    pub tenants: Option<BTreeSet<String>>,
    /// The snapshot hash a tenant had when this migration was exported for it, from the
    /// manifest (the first migration of a drift shape only): a tenant whose schema hashes
    /// otherwise now changed since the export, and the migration is refused for it.
    pub from_hash: Option<String>,
}

impl Migration {
    /// A migration from its file name and content.
    ///
    /// # Errors
    /// [`Error::Migration`] when the name does not follow the pattern; `Ok(None)` for a
    /// down file, which `migrate` does not apply.
    pub fn from_file(file: &str, sql: String) -> Result<Option<Self>> {
        let Some((version, description, kind)) = parse_name(file) else {
            return Err(Error::Migration {
                tenant: None,
                file: file.to_string(),
                message: format!("not a migration file name; expected {PATTERN}"),
            });
        };
        if kind == Kind::Down {
            return Ok(None);
        }
        let no_transaction = sql
            .lines()
            .next()
            .is_some_and(|line| line.trim_end() == NO_TRANSACTION_MARKER);
        Ok(Some(Self {
            version,
            description,
            file: file.to_string(),
            checksum: Checksum::of(&sql),
            sql,
            no_transaction,
            tenants: None,
            from_hash: None,
        }))
    }

    /// Whether this migration is for `tenant` ([`tenants`](Self::tenants)).
    pub fn is_for(&self, tenant: &TenantId) -> bool {
        self.tenants
            .as_ref()
            .is_none_or(|tenants| tenants.contains(tenant.as_str()))
    }

    /// `version 2 (add email)`, for messages.
    pub fn label(&self) -> String {
        format!("version {} ({})", self.version, self.description)
    }
}

/// Which file of a version a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `.up.sql` or the simple `.sql`.
    Up,
    /// `.down.sql`.
    Down,
}

/// `(version, description, kind)` of a file name, or `None` when it breaks the pattern.
fn parse_name(file: &str) -> Option<(i64, String, Kind)> {
    let stem = file.strip_suffix(".sql")?;
    let (stem, kind) = if let Some(up) = stem.strip_suffix(".up") {
        (up, Kind::Up)
    } else if let Some(down) = stem.strip_suffix(".down") {
        (down, Kind::Down)
    } else {
        (stem, Kind::Up)
    };
    let (version, name) = stem.split_once('_')?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) || name.is_empty() {
        return None;
    }
    let version = version.parse().ok()?;
    Some((version, name.replace('_', " "), kind))
}

/// Every migration of a directory, by version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationSet {
    /// Where the files were read from, for messages.
    pub location: String,
    /// The migrations, by version.
    pub migrations: BTreeMap<i64, Migration>,
}

impl MigrationSet {
    /// Reads every `.sql` file of `dir` (not its subdirectories).
    ///
    /// # Errors
    /// [`Error::Config`] when the directory cannot be read or holds no migration;
    /// [`Error::Migration`] naming a file that cannot be read, whose name breaks the
    /// pattern, or whose version another file has too.
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let location = dir.display().to_string();
        let unreadable = |e: std::io::Error| {
            Error::config(format!(
                "cannot read migrations directory {location}: {e}; check --dir"
            ))
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !path.is_file() || !name.ends_with(".sql") {
                continue;
            }
            let sql = std::fs::read_to_string(&path).map_err(|e| Error::Migration {
                tenant: None,
                file: name.clone(),
                message: format!("cannot be read ({e}); check its permissions and encoding"),
            })?;
            files.push((name, sql));
        }
        let set = Self::from_files(&location, files)?;
        let manifest = dir.join(MANIFEST_FILE);
        if !manifest.is_file() {
            return Ok(set);
        }
        let text = std::fs::read_to_string(&manifest).map_err(|e| Error::Migration {
            tenant: None,
            file: MANIFEST_FILE.to_string(),
            message: format!("cannot be read ({e}); check its permissions and encoding"),
        })?;
        set.scoped_by(&text)
    }

    /// This set with each migration a manifest (the JSON `manifest_json`, as `plan --out
    /// --layout` writes it) lists given to the manifest's tenants only, and the first
    /// migration of each shape bound to the schema hash it was exported from.
    ///
    /// # Errors
    /// [`Error::Migration`] naming the manifest when it is not such JSON, or when it lists
    /// an up file the directory does not have.
    pub fn scoped_by(mut self, manifest_json: &str) -> Result<Self> {
        /// The part of a manifest entry read here.
        #[derive(Deserialize)]
        struct Entry {
            up: String,
            tenants: BTreeSet<String>,
            #[serde(default)]
            from_hash: Option<String>,
            #[serde(default)]
            part: Option<usize>,
        }
        /// The part of the manifest read here.
        #[derive(Deserialize)]
        struct Manifest {
            migrations: Vec<Entry>,
        }
        let manifest: Manifest =
            serde_json::from_str(manifest_json).map_err(|e| Error::Migration {
                tenant: None,
                file: MANIFEST_FILE.to_string(),
                message: format!(
                    "is not a manifest of `plan --out --layout` ({e}); remove it, or export again"
                ),
            })?;
        for entry in manifest.migrations {
            let migration = self
                .migrations
                .values_mut()
                .find(|m| m.file == entry.up)
                .ok_or_else(|| Error::Migration {
                    tenant: None,
                    file: MANIFEST_FILE.to_string(),
                    message: format!(
                        "lists {}, which {} does not have; export again, or copy every file of the export",
                        entry.up, self.location
                    ),
                })?;
            migration.tenants = Some(entry.tenants);
            // Later parts start from a state planned in memory, not inspected.
            if entry.part.unwrap_or(1) == 1 {
                migration.from_hash = entry.from_hash;
            }
        }
        Ok(self)
    }

    /// The migrations of files given as `(file name, content)`, read from `location`.
    ///
    /// # Errors
    /// As [`from_dir`](Self::from_dir).
    pub fn from_files(location: &str, files: Vec<(String, String)>) -> Result<Self> {
        let mut migrations: BTreeMap<i64, Migration> = BTreeMap::new();
        for (file, sql) in files {
            let Some(migration) = Migration::from_file(&file, sql)? else {
                continue;
            };
            if let Some(other) = migrations.get(&migration.version) {
                let (first, second) = if other.file < migration.file {
                    (&other.file, &migration.file)
                } else {
                    (&migration.file, &other.file)
                };
                return Err(Error::Migration {
                    tenant: None,
                    file: second.clone(),
                    message: format!(
                        "version {} is also the version of {first}; every migration needs its own version: renumber one of them",
                        migration.version
                    ),
                });
            }
            migrations.insert(migration.version, migration);
        }
        if migrations.is_empty() {
            return Err(Error::config(format!(
                "{location} holds no migration files; expected {PATTERN}"
            )));
        }
        Ok(Self {
            location: location.to_string(),
            migrations,
        })
    }

    /// The migration of `version`, if the directory has it.
    pub fn get(&self, version: i64) -> Option<&Migration> {
        self.migrations.get(&version)
    }

    /// The migrations in version order.
    pub fn iter(&self) -> impl Iterator<Item = &Migration> {
        self.migrations.values()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;

    fn file(name: &str, sql: &str) -> (String, String) {
        (name.to_string(), sql.to_string())
    }

    #[test]
    fn both_sqlx_layouts_are_read_and_down_files_skipped() {
        let set = MigrationSet::from_files(
            "migrations",
            vec![
                file("0002_add_email.up.sql", "ALTER TABLE t ADD email text;"),
                file("0002_add_email.down.sql", "ALTER TABLE t DROP email;"),
                file("1_create_t.sql", "CREATE TABLE t (id int);"),
                file(
                    "3_index.sql",
                    "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (id);",
                ),
            ],
        )
        .unwrap();
        let read: Vec<(i64, &str, &str, bool)> = set
            .iter()
            .map(|m| {
                (
                    m.version,
                    m.description.as_str(),
                    m.file.as_str(),
                    m.no_transaction,
                )
            })
            .collect();
        assert_eq!(
            read,
            [
                (1, "create t", "1_create_t.sql", false),
                (2, "add email", "0002_add_email.up.sql", false),
                (3, "index", "3_index.sql", true),
            ]
        );
        assert_eq!(
            set.get(2).map(|m| m.checksum.clone()),
            Some(Checksum::of("ALTER TABLE t ADD email text;"))
        );
    }

    #[test]
    fn a_name_off_the_pattern_is_refused_with_the_pattern() {
        for name in [
            "create.sql",
            "v1_create.sql",
            "1_.sql",
            "_x.sql",
            "1x_y.up.sql",
        ] {
            let error = MigrationSet::from_files("m", vec![file(name, "SELECT 1")]).unwrap_err();
            let message = error.to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains("<version>_<name>.up.sql"), "{message}");
        }
    }

    #[test]
    fn a_duplicate_version_names_both_files() {
        let error = MigrationSet::from_files(
            "m",
            vec![
                file("1_a.up.sql", "SELECT 1"),
                file("001_b.sql", "SELECT 2"),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("001_b.sql")
                && error.contains("1_a.up.sql")
                && error.contains("version 1 "),
            "{error}"
        );
    }

    #[test]
    fn an_empty_directory_is_refused() {
        let error = MigrationSet::from_files("empty", vec![file("1_a.down.sql", "SELECT 1")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("empty holds no migration files"), "{error}");
    }

    #[test]
    fn the_marker_must_be_the_first_line() {
        let later = Migration::from_file("1_a.sql", "SELECT 1;\n-- no-transaction\n".into())
            .unwrap()
            .unwrap();
        assert!(!later.no_transaction);
    }
}
