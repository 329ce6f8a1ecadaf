//! `migrate status`: per version, how many tenants have it and which lag behind.

use futures::stream::{self, StreamExt};

use crate::engine::rejected;
use crate::error::Error;
use crate::tenant::{TenantContext, TenantId};

use super::history::AppliedMigration;
use super::runner::SqlFileMigrationRunner;
use super::source::MigrationSet;

/// One version of the directory across the tenants read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionStatus {
    /// The version.
    pub version: i64,
    /// Its description.
    pub description: String,
    /// Its file name.
    pub file: String,
    /// How many tenants have it applied (and finished).
    pub applied: usize,
    /// The tenants it is for that do not have it yet, in the order read.
    pub lagging: Vec<TenantId>,
    /// The tenants that have it applied from a file whose checksum differs from the
    /// file now: `migrate` refuses them until the file is restored.
    pub changed: Vec<TenantId>,
}

/// The migration state of a fleet against a directory.
#[derive(Debug, Default)]
pub struct MigrationStatus {
    /// Every version of the directory, in order.
    pub versions: Vec<VersionStatus>,
    /// Tenants whose history was read.
    pub tenants_read: usize,
    /// Tenants whose history could not be read, with the error.
    pub failed: Vec<(TenantId, Error)>,
}

impl MigrationStatus {
    /// The status of `set` given each tenant's history (or the error reading it).
    pub fn new(
        set: &MigrationSet,
        histories: Vec<(TenantId, crate::Result<Vec<AppliedMigration>>)>,
    ) -> Self {
        let mut status = Self {
            versions: set
                .iter()
                .map(|m| VersionStatus {
                    version: m.version,
                    description: m.description.clone(),
                    file: m.file.clone(),
                    applied: 0,
                    lagging: Vec::new(),
                    changed: Vec::new(),
                })
                .collect(),
            ..Self::default()
        };
        for (tenant, history) in histories {
            let history = match history {
                Ok(history) => history,
                Err(error) => {
                    status.failed.push((tenant, error));
                    continue;
                }
            };
            status.tenants_read += 1;
            for version in &mut status.versions {
                let row = history
                    .iter()
                    .find(|row| row.version == version.version && row.success);
                let for_tenant = set.get(version.version).is_none_or(|m| m.is_for(&tenant));
                match row {
                    None if !for_tenant => {}
                    None => version.lagging.push(tenant.clone()),
                    Some(row) => {
                        version.applied += 1;
                        let file = set.get(version.version).map(|m| m.checksum.as_bytes());
                        if file != Some(row.checksum.as_slice()) {
                            version.changed.push(tenant.clone());
                        }
                    }
                }
            }
        }
        status
    }

    /// Whether every tenant read has every version, unchanged, and none failed.
    pub fn is_current(&self) -> bool {
        self.failed.is_empty()
            && self
                .versions
                .iter()
                .all(|v| v.lagging.is_empty() && v.changed.is_empty())
    }
}

impl SqlFileMigrationRunner {
    /// Reads the history of every tenant of `tenants`, `concurrency` at a time, without
    /// locks, and compares it with the directory.
    pub async fn status(&self, tenants: Vec<TenantContext>, concurrency: usize) -> MigrationStatus {
        let mut histories: Vec<(usize, TenantId, crate::Result<Vec<AppliedMigration>>)> =
            stream::iter(tenants.into_iter().enumerate())
                .map(|(index, tenant)| async move {
                    let history = match rejected(&tenant) {
                        Some(error) => Err(error),
                        None => self.history(&tenant).await,
                    };
                    (index, tenant.id().clone(), history)
                })
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
        histories.sort_by_key(|(index, _, _)| *index);
        MigrationStatus::new(
            self.migrations(),
            histories.into_iter().map(|(_, t, h)| (t, h)).collect(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A failed unwrap is a failed test.
mod tests {
    use super::*;

    #[test]
    fn lagging_and_changed_tenants_are_named_per_version() {
        let set = MigrationSet::from_files(
            "m",
            vec![
                ("1_a.sql".into(), "CREATE TABLE a (id int);".into()),
                ("2_b.sql".into(), "CREATE TABLE b (id int);".into()),
            ],
        )
        .unwrap();
        let row = |version: i64, checksum: Vec<u8>| AppliedMigration {
            version,
            description: String::new(),
            installed_on: String::new(),
            success: true,
            checksum,
            execution_time_ms: 0,
        };
        let sum = |v: i64| set.get(v).unwrap().checksum.as_bytes().to_vec();
        let id = |s: &str| TenantId::new(s).unwrap();
        let status = MigrationStatus::new(
            &set,
            vec![
                (id("new"), Ok(vec![row(1, sum(1)), row(2, sum(2))])),
                (id("old"), Ok(vec![row(1, sum(1))])),
                (id("edited"), Ok(vec![row(1, vec![9; 32])])),
                (id("gone"), Err(Error::config("unreachable"))),
            ],
        );
        assert_eq!(status.tenants_read, 3);
        assert_eq!(status.failed.len(), 1);
        let v1 = &status.versions[0];
        assert_eq!((v1.applied, v1.lagging.len()), (3, 0));
        assert_eq!(v1.changed, [id("edited")]);
        let v2 = &status.versions[1];
        assert_eq!(v2.applied, 1);
        assert_eq!(v2.lagging, [id("old"), id("edited")]);
        assert!(!status.is_current());
    }
}
