//! The versions applied to a tenant, and what is pending given them.
//!
//! Each tenant keeps its history in a table of its own namespace, [`HISTORY_TABLE`],
//! with the columns of sqlx's `_sqlx_migrations`: `version` (primary key),
//! `description`, `installed_on`, `success`, `checksum`, `execution_time`. Adapters
//! create, read and write it; the rules for what the rows mean live here, once.

use crate::error::{Error, Result};
use crate::snapshot::SchemaSnapshot;
use crate::tenant::TenantId;

use super::source::{Migration, MigrationSet, short_hex};

/// The per-tenant history table. Inspectors leave it out of snapshots
/// ([`strip_history_table`]): it is bookkeeping, not part of the desired schema.
pub const HISTORY_TABLE: &str = "_schema_sync_migrations";

/// One row of a tenant's [`HISTORY_TABLE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The migration's version.
    pub version: i64,
    /// Its description when it was applied.
    pub description: String,
    /// When it was applied, as the database prints the timestamp.
    pub installed_on: String,
    /// `false` for a migration that started but did not finish (MySQL, where DDL
    /// cannot be rolled back): the tenant may be half migrated.
    pub success: bool,
    /// The checksum of the file as applied.
    pub checksum: Vec<u8>,
    /// How long it ran, in milliseconds.
    pub execution_time_ms: i64,
}

/// Removes the history table, and whatever the inspector reported as hanging off it,
/// from a tenant's snapshot: without this every migrated tenant would look drifted and
/// `sync` would drop its history. Every inspector calls it on every snapshot it builds.
pub fn strip_history_table(snapshot: &mut SchemaSnapshot) {
    if snapshot.tables.remove(HISTORY_TABLE).is_none() {
        return;
    }
    snapshot
        .unsupported
        .retain(|u| u.parent.as_deref() != Some(HISTORY_TABLE) && u.name != HISTORY_TABLE);
    snapshot.privileges.remove(HISTORY_TABLE);
}

impl MigrationSet {
    /// The migrations of this set for `tenant` ([`Migration::is_for`]) not yet applied
    /// to it, in version order, given the tenant's history rows.
    ///
    /// # Errors
    /// [`Error::Migration`] when a recorded migration did not finish (the tenant may be
    /// half migrated), when a file changed since it was applied to the tenant, or when
    /// the tenant has a version no file has (the directory is older than the tenant).
    pub fn pending(
        &self,
        tenant: &TenantId,
        applied: &[AppliedMigration],
    ) -> Result<Vec<&Migration>> {
        for row in applied {
            let Some(file) = self.get(row.version) else {
                return Err(Error::Migration {
                    tenant: Some(tenant.clone()),
                    file: format!("version {} ({})", row.version, row.description),
                    message: format!(
                        "recorded in {HISTORY_TABLE}, but no file in {} has that version; migrate with the directory this tenant was migrated from",
                        self.location
                    ),
                });
            };
            if !row.success {
                return Err(Error::Migration {
                    tenant: Some(tenant.clone()),
                    file: file.file.clone(),
                    message: format!(
                        "{} started on an earlier run and did not finish, so the tenant may be half migrated; repair it by hand, then delete the row of version {} from {HISTORY_TABLE}",
                        file.label(),
                        row.version
                    ),
                });
            }
            if row.checksum != file.checksum.as_bytes() {
                return Err(Error::Migration {
                    tenant: Some(tenant.clone()),
                    file: file.file.clone(),
                    message: format!(
                        "{} changed since it was applied to this tenant (checksum applied {}, file now {}); restore the file as it was applied and put the change in a new migration",
                        file.label(),
                        short_hex(&row.checksum),
                        file.checksum.short()
                    ),
                });
            }
        }
        Ok(self
            .iter()
            .filter(|m| m.is_for(tenant) && !applied.iter().any(|row| row.version == m.version))
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;
    use crate::migrate::MigrationStatus;
    use crate::snapshot::{Table, UnsupportedObject};

    fn set() -> MigrationSet {
        MigrationSet::from_files(
            "migrations",
            vec![
                ("1_create.sql".into(), "CREATE TABLE t (id int);".into()),
                ("2_add.up.sql".into(), "ALTER TABLE t ADD x int;".into()),
            ],
        )
        .unwrap()
    }

    fn row(migration: &Migration) -> AppliedMigration {
        AppliedMigration {
            version: migration.version,
            description: migration.description.clone(),
            installed_on: "2026-01-01 00:00:00".into(),
            success: true,
            checksum: migration.checksum.as_bytes().to_vec(),
            execution_time_ms: 1,
        }
    }

    fn tenant() -> TenantId {
        TenantId::new("acme").unwrap()
    }

    #[test]
    fn pending_skips_applied_versions() {
        let set = set();
        let first = row(set.get(1).unwrap());
        let pending: Vec<i64> = set
            .pending(&tenant(), &[first])
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(pending, [2]);
        let all: Vec<i64> = set
            .pending(&tenant(), &[])
            .unwrap()
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(all, [1, 2]);
    }

    #[test]
    fn a_changed_file_is_refused_by_name() {
        let set = set();
        let mut first = row(set.get(1).unwrap());
        first.checksum = vec![0; 32];
        let error = set.pending(&tenant(), &[first]).unwrap_err().to_string();
        assert!(error.contains("tenant \"acme\""), "{error}");
        assert!(error.contains("1_create.sql"), "{error}");
        assert!(error.contains("changed since it was applied"), "{error}");
    }

    #[test]
    fn an_unfinished_migration_is_refused() {
        let set = set();
        let mut first = row(set.get(1).unwrap());
        first.success = false;
        let error = set.pending(&tenant(), &[first]).unwrap_err().to_string();
        assert!(error.contains("half migrated"), "{error}");
    }

    #[test]
    fn a_version_without_a_file_is_refused() {
        let set = set();
        let mut other = row(set.get(1).unwrap());
        other.version = 7;
        let error = set.pending(&tenant(), &[other]).unwrap_err().to_string();
        assert!(error.contains("version 7"), "{error}");
    }

    #[test]
    fn a_manifest_gives_each_migration_to_its_tenants_only() {
        let manifest = r#"{"format": 1, "migrations": [
            {"version": "2", "up": "2_add.up.sql", "tenants": ["acme", "globex"]}]}"#;
        let set = set().scoped_by(manifest).unwrap();
        let pending = |id: &str| -> Vec<i64> {
            let tenant = TenantId::new(id).unwrap();
            set.pending(&tenant, &[])
                .unwrap()
                .iter()
                .map(|m| m.version)
                .collect()
        };
        assert_eq!(pending("acme"), [1, 2]);
        assert_eq!(pending("initech"), [1], "version 2 is not for initech");
        let histories = vec![
            (tenant(), Ok(vec![row(set.get(1).unwrap())])),
            (
                TenantId::new("initech").unwrap(),
                Ok(vec![row(set.get(1).unwrap())]),
            ),
        ];
        let status = MigrationStatus::new(&set, histories);
        assert_eq!(status.versions[1].lagging, [tenant()], "only acme lags");
    }

    #[test]
    fn a_manifest_naming_a_missing_file_or_broken_is_refused() {
        let missing = r#"{"migrations": [{"up": "9_gone.up.sql", "tenants": ["acme"]}]}"#;
        let error = set().scoped_by(missing).unwrap_err().to_string();
        assert!(
            error.contains("manifest.json") && error.contains("9_gone.up.sql"),
            "{error}"
        );
        let error = set().scoped_by("{").unwrap_err().to_string();
        assert!(error.contains("is not a manifest"), "{error}");
    }

    #[test]
    fn the_history_table_leaves_the_snapshot() {
        let mut snapshot = SchemaSnapshot::empty();
        snapshot
            .tables
            .insert(HISTORY_TABLE.into(), Table::default());
        snapshot.tables.insert("t".into(), Table::default());
        let mut dependent = UnsupportedObject::new("trigger", "audit");
        dependent.parent = Some(HISTORY_TABLE.into());
        snapshot.unsupported.insert(dependent);
        strip_history_table(&mut snapshot);
        assert_eq!(snapshot.tables.keys().collect::<Vec<_>>(), ["t"]);
        assert!(snapshot.unsupported.is_empty());
    }
}
