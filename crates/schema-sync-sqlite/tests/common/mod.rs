//! Shared fixtures: a temporary directory of SQLite tenant files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::Connection;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::{DatabaseAdapter, Error, Result, TenantContext, TenantId};
use schema_sync_sqlite::{Location, SqliteAdapter};

/// A fleet directory that is deleted when dropped.
pub struct SqliteFleet {
    dir: tempfile::TempDir,
    adapter: Arc<SqliteAdapter>,
}

impl SqliteFleet {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let adapter = Arc::new(SqliteAdapter::new(Location::Directory(
            dir.path().to_path_buf(),
        )));
        Self { dir, adapter }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn sqlite(&self) -> Arc<SqliteAdapter> {
        self.adapter.clone()
    }

    pub fn file(&self, tenant: &str) -> PathBuf {
        self.dir.path().join(format!("{tenant}.db"))
    }

    pub fn query_strings(&self, tenant: &str, sql: &str) -> Vec<String> {
        let conn = Connection::open(self.file(tenant)).unwrap_or_else(|e| panic!("{e}"));
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{e}"));
        let rows = stmt
            .query_map([], |r| {
                let n = r.as_ref().column_count();
                let mut parts = Vec::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    parts.push(format!("{v:?}"));
                }
                Ok(parts.join("|"))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        rows.map(|r| r.unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    /// Every row of every object in the file, and the schema text: a fingerprint of the file.
    pub fn fingerprint(&self, tenant: &str) -> Vec<String> {
        let mut out = self.query_strings(
            tenant,
            "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name",
        );
        let tables = self.query_strings(
            tenant,
            "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
        );
        for table in tables {
            let name = table
                .trim_start_matches("Text(\"")
                .trim_end_matches("\")")
                .to_string();
            out.extend(self.query_strings(
                tenant,
                &format!(
                    "SELECT * FROM \"{}\" ORDER BY rowid",
                    name.replace('"', "\"\"")
                ),
            ));
        }
        out
    }
}

#[async_trait]
impl TestDatabase for SqliteFleet {
    fn adapter(&self) -> Arc<dyn DatabaseAdapter> {
        self.adapter.clone()
    }

    async fn create_tenant(&self, id: &TenantId, ddl: &str) -> Result<TenantContext> {
        let path = self.dir.path().join(format!("{id}.db"));
        let conn = Connection::open(&path).map_err(|e| Error::Internal {
            tenant: Some(id.clone()),
            message: e.to_string(),
        })?;
        conn.execute_batch(ddl).map_err(|e| Error::Internal {
            tenant: Some(id.clone()),
            message: e.to_string(),
        })?;
        self.adapter.context(id)
    }

    async fn execute(&self, tenant: &TenantContext, sql: &str) -> Result<()> {
        let conn = Connection::open(tenant.namespace()).map_err(|e| Error::Internal {
            tenant: None,
            message: e.to_string(),
        })?;
        conn.execute_batch(sql).map_err(|e| Error::Internal {
            tenant: Some(tenant.id().clone()),
            message: e.to_string(),
        })
    }

    async fn drop_tenant(&self, tenant: &TenantContext) -> Result<()> {
        std::fs::remove_file(tenant.namespace()).map_err(|e| Error::Internal {
            tenant: None,
            message: e.to_string(),
        })
    }
}

/// A rich template touching every object kind SQLite has.
pub const TEMPLATE: &str = r#"
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL COLLATE NOCASE,
    plan TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro')),
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (name)
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email VARCHAR(255) NOT NULL,
    manager_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    balance DECIMAL(10, 2) NOT NULL DEFAULT 0,
    email_domain TEXT GENERATED ALWAYS AS (substr(email, instr(email, '@') + 1)) VIRTUAL,
    CONSTRAINT balance_non_negative CHECK (balance >= 0)
);
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));
CREATE INDEX users_org_idx ON users (org_id, id DESC) WHERE manager_id IS NOT NULL;
CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users (id),
    org_id INTEGER NOT NULL REFERENCES orgs (id),
    role TEXT NOT NULL DEFAULT 'member',
    PRIMARY KEY (user_id, org_id)
) WITHOUT ROWID;
CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT, at INTEGER NOT NULL) STRICT;
CREATE VIEW active_users AS SELECT u.id, u.email, o.name AS org FROM users u JOIN orgs o ON o.id = u.org_id;
CREATE VIEW pro_users AS SELECT * FROM active_users WHERE org IN (SELECT name FROM orgs WHERE plan = 'pro');
CREATE TRIGGER users_audit AFTER INSERT ON users BEGIN INSERT INTO events (payload, at) VALUES (new.email, 0); END;
"#;
