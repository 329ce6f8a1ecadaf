//! [`DatabaseSnapshotStore`]: snapshots in a few tables of a SQLite or PostgreSQL database.
//!
//! ```text
//! schema_sync_store_version     (version, applied_at)         the store's own migrations
//! schema_sync_snapshots         (hash PRIMARY KEY, body)      one row per content hash
//! schema_sync_snapshot_history  (id, tenant, hash, saved_at)  one row per save, in id order
//! schema_sync_snapshot_tags     (tenant, tag, hash)           PRIMARY KEY (tenant, tag)
//! ```
//!
//! The tables are created on first use by a tiny versioned migration (`migrate.rs`). Each
//! write is one transaction (object upsert and history row; tag upsert; prune), so a
//! crash leaves the store as before or as after. Tenant ids and tags are bound as
//! parameters, never spliced into SQL. Bodies are canonical JSON and verified against
//! their hash on every load.
//!
//! The drivers are features of their own, `sqlite` (bundled SQLite through rusqlite, run
//! on tokio's blocking pool) and `postgres` (a tokio-postgres connection opened, TLS included, by
//! [`schema_sync_postgres::connect_client`], so it follows `sslmode` and `sslrootcert`
//! exactly as the adapter does), and implement the three primitives of `driver.rs`; all SQL except
//! the migrations is shared. On PostgreSQL the tables go to the first schema of the
//! connection's `search_path`: add `?options=-csearch_path%3Dmy_schema` to the URL to
//! choose another.

mod driver;
mod migrate;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use async_trait::async_trait;
use schema_sync_core::{
    Result, SchemaSnapshot, SnapshotHash, SnapshotRecord, SnapshotStore, TenantId,
};

use self::driver::{Driver, Statement, Value, int, query_error, text};
use crate::error::{not_found, unknown_tag_target};
use crate::prune::{PrunableStore, PruneReport};
use crate::record::{TagMap, attach_tags, decode_object, now_secs, validate_tag};

/// Stores the body once per hash; rewrites a body that differs (a damaged row).
const UPSERT_OBJECT: &str = "INSERT INTO schema_sync_snapshots (hash, body) VALUES ($1, $2) \
     ON CONFLICT (hash) DO UPDATE SET body = excluded.body WHERE schema_sync_snapshots.body <> excluded.body";
const INSERT_HISTORY: &str = "INSERT INTO schema_sync_snapshot_history (tenant, hash, saved_at) VALUES ($1, $2, CAST($3 AS BIGINT))";
const SELECT_OBJECT: &str = "SELECT body FROM schema_sync_snapshots WHERE hash = $1";
const SELECT_HISTORY: &str =
    "SELECT hash, saved_at FROM schema_sync_snapshot_history WHERE tenant = $1 ORDER BY id";
const SELECT_TAGS: &str = "SELECT tag, hash FROM schema_sync_snapshot_tags WHERE tenant = $1";
const SELECT_TAG: &str =
    "SELECT hash FROM schema_sync_snapshot_tags WHERE tenant = $1 AND tag = $2";
/// Sets or moves a tag, only when the snapshot exists (0 rows otherwise).
const UPSERT_TAG: &str = "INSERT INTO schema_sync_snapshot_tags (tenant, tag, hash) \
     SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), hash FROM schema_sync_snapshots WHERE hash = $3 \
     ON CONFLICT (tenant, tag) DO UPDATE SET hash = excluded.hash";
const PRUNE_HISTORY: &str = "DELETE FROM schema_sync_snapshot_history WHERE tenant = $1 AND id NOT IN \
     (SELECT id FROM schema_sync_snapshot_history WHERE tenant = $1 ORDER BY id DESC LIMIT CAST($2 AS BIGINT))";
const PRUNE_OBJECTS: &str = "DELETE FROM schema_sync_snapshots WHERE \
     NOT EXISTS (SELECT 1 FROM schema_sync_snapshot_history h WHERE h.hash = schema_sync_snapshots.hash) \
     AND NOT EXISTS (SELECT 1 FROM schema_sync_snapshot_tags t WHERE t.hash = schema_sync_snapshots.hash)";

/// A snapshot store in database tables.
#[derive(Debug)]
pub struct DatabaseSnapshotStore {
    driver: Box<dyn Driver>,
}

impl DatabaseSnapshotStore {
    async fn with_driver(driver: Box<dyn Driver>) -> Result<Self> {
        driver.migrate().await?;
        Ok(Self { driver })
    }

    /// Opens (creating if needed) the SQLite database file at `path` as a store.
    ///
    /// # Errors
    /// [`Error::Connection`](schema_sync_core::Error::Connection) when the file cannot be
    /// opened; [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the tables
    /// cannot be created or are newer than this build.
    #[cfg(feature = "sqlite")]
    pub async fn open_sqlite(path: impl Into<std::path::PathBuf>) -> Result<Self> {
        Self::with_driver(Box::new(sqlite::SqliteDriver::open(path.into()).await?)).await
    }

    /// Connects to PostgreSQL at `url` (`postgres://user:password@host:port/db`) and
    /// uses the first schema of its `search_path`. TLS follows `sslmode` and
    /// `sslrootcert` as libpq does (see [`schema_sync_postgres::connect_client`]).
    ///
    /// # Errors
    /// [`Error::Config`](schema_sync_core::Error::Config) for a URL that does not parse or
    /// an unreadable `sslrootcert`;
    /// [`Error::Connection`](schema_sync_core::Error::Connection) when the server cannot
    /// be reached or its certificate is refused; [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when the tables
    /// cannot be created or are newer than this build.
    #[cfg(feature = "postgres")]
    pub async fn connect_postgres(url: &str) -> Result<Self> {
        Self::with_driver(Box::new(postgres::PostgresDriver::connect(url).await?)).await
    }

    /// Where the store lives (the URL without its password, or the SQLite file).
    pub fn location(&self) -> &str {
        self.driver.location()
    }

    async fn tags(&self, tenant: &TenantId) -> Result<TagMap> {
        let location = self.location();
        self.driver
            .query(SELECT_TAGS, vec![Value::Text(tenant.to_string())])
            .await?
            .iter()
            .map(|row| {
                Ok((
                    text(row, 0, location)?,
                    parse_hash(&text(row, 1, location)?, location)?,
                ))
            })
            .collect()
    }
}

fn parse_hash(hex: &str, location: &str) -> Result<SnapshotHash> {
    SnapshotHash::parse(hex).map_err(|e| query_error(location, e.to_string()))
}

fn saved_at(secs: u64) -> Value {
    Value::Int(i64::try_from(secs).unwrap_or(i64::MAX))
}

#[async_trait]
impl SnapshotStore for DatabaseSnapshotStore {
    async fn save(&self, tenant: &TenantId, snapshot: &SchemaSnapshot) -> Result<SnapshotRecord> {
        let hash = snapshot.hash();
        let now = now_secs();
        let statements: Vec<Statement> = vec![
            (
                UPSERT_OBJECT,
                vec![
                    Value::Text(hash.to_string()),
                    Value::Text(snapshot.canonical_json()),
                ],
            ),
            (
                INSERT_HISTORY,
                vec![
                    Value::Text(tenant.to_string()),
                    Value::Text(hash.to_string()),
                    saved_at(now),
                ],
            ),
        ];
        self.driver.transaction(statements).await?;
        Ok(SnapshotRecord {
            tenant: tenant.clone(),
            hash,
            saved_at: now,
            tags: Vec::new(),
        })
    }

    async fn load(&self, _tenant: &TenantId, hash: &SnapshotHash) -> Result<SchemaSnapshot> {
        let location = format!(
            "{} table schema_sync_snapshots, hash {hash}",
            self.location()
        );
        let rows = self
            .driver
            .query(SELECT_OBJECT, vec![Value::Text(hash.to_string())])
            .await?;
        match rows.first() {
            Some(row) => decode_object(&text(row, 0, &location)?, hash, &location),
            None => Err(not_found(location, hash)),
        }
    }

    async fn history(&self, tenant: &TenantId) -> Result<Vec<SnapshotRecord>> {
        let location = self.location();
        let rows = self
            .driver
            .query(SELECT_HISTORY, vec![Value::Text(tenant.to_string())])
            .await?;
        let mut records = rows
            .iter()
            .map(|row| {
                Ok(SnapshotRecord {
                    tenant: tenant.clone(),
                    hash: parse_hash(&text(row, 0, location)?, location)?,
                    saved_at: u64::try_from(int(row, 1, location)?).unwrap_or(0),
                    tags: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        attach_tags(&mut records, &self.tags(tenant).await?);
        Ok(records)
    }

    async fn tag(&self, tenant: &TenantId, hash: &SnapshotHash, tag: &str) -> Result<()> {
        validate_tag(tag)?;
        let params = vec![
            Value::Text(tenant.to_string()),
            Value::Text(tag.to_string()),
            Value::Text(hash.to_string()),
        ];
        let affected = self.driver.transaction(vec![(UPSERT_TAG, params)]).await?;
        if affected.first().copied().unwrap_or(0) == 0 {
            let location = format!("{} table schema_sync_snapshots", self.location());
            return Err(unknown_tag_target(location, hash, tag));
        }
        Ok(())
    }

    async fn resolve_tag(&self, tenant: &TenantId, tag: &str) -> Result<Option<SnapshotHash>> {
        let location = self.location();
        let rows = self
            .driver
            .query(
                SELECT_TAG,
                vec![
                    Value::Text(tenant.to_string()),
                    Value::Text(tag.to_string()),
                ],
            )
            .await?;
        rows.first()
            .map(|row| parse_hash(&text(row, 0, location)?, location))
            .transpose()
    }
}

#[async_trait]
impl PrunableStore for DatabaseSnapshotStore {
    async fn prune(&self, tenant: &TenantId, keep_last: usize) -> Result<PruneReport> {
        let keep = Value::Int(i64::try_from(keep_last).unwrap_or(i64::MAX));
        let affected = self
            .driver
            .transaction(vec![
                (PRUNE_HISTORY, vec![Value::Text(tenant.to_string()), keep]),
                (PRUNE_OBJECTS, Vec::new()),
            ])
            .await?;
        let count = |i: usize| {
            affected
                .get(i)
                .map_or(0, |n| usize::try_from(*n).unwrap_or(usize::MAX))
        };
        Ok(PruneReport {
            history_removed: count(0),
            objects_removed: count(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite binds `$n` by order of first appearance, so every statement must first use
    /// `$1`, then `$2`, and so on.
    #[test]
    fn parameters_appear_in_order() {
        for sql in [
            UPSERT_OBJECT,
            INSERT_HISTORY,
            SELECT_OBJECT,
            SELECT_HISTORY,
            SELECT_TAGS,
            SELECT_TAG,
            UPSERT_TAG,
            PRUNE_HISTORY,
            PRUNE_OBJECTS,
            migrate::RECORD_VERSION,
        ] {
            let mut seen = Vec::new();
            let mut rest = sql;
            while let Some(i) = rest.find('$') {
                let digits: String = rest[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let n: usize = digits.parse().unwrap_or(0);
                if !seen.contains(&n) {
                    seen.push(n);
                }
                rest = &rest[i + 1..];
            }
            let expected: Vec<usize> = (1..=seen.len()).collect();
            assert_eq!(seen, expected, "{sql}");
        }
    }
}
