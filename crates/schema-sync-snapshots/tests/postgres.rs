//! The database store on the real PostgreSQL server, each test in a schema of its own.
//!
//! The server is `SCHEMA_SYNC_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! A test fails, never skips, when it cannot be reached.
#![cfg(feature = "postgres")]

#[macro_use]
mod common;

use async_trait::async_trait;
use schema_sync_core::{Error, Result, SnapshotHash, TenantId};
use schema_sync_snapshots::conformance::{StoreHooks, sample_snapshot};
use schema_sync_snapshots::{DatabaseSnapshotStore, PrunableStore, open_store};
use tokio_postgres::{Client, NoTls};

use common::{Backend, fail, unique_name};

fn server_url() -> String {
    std::env::var("SCHEMA_SYNC_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

async fn admin() -> Result<Client> {
    let url = server_url();
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.map_err(|e| {
        fail(format!(
            "cannot reach the test PostgreSQL server at {url} ({e}); start it or set SCHEMA_SYNC_TEST_PG_URL"
        ))
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// The server URL with `search_path` set to `schema`.
fn url_for(schema: &str) -> String {
    let url = server_url();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}")
}

struct PostgresBackend {
    admin: Client,
    schema: String,
    store: DatabaseSnapshotStore,
}

async fn new_schema(admin: &Client) -> Result<String> {
    let schema = unique_name("snap").replace('-', "_");
    admin
        .batch_execute(&format!("CREATE SCHEMA \"{schema}\""))
        .await
        .map_err(fail)?;
    Ok(schema)
}

async fn postgres_backend() -> Result<PostgresBackend> {
    let admin = admin().await?;
    let schema = new_schema(&admin).await?;
    match DatabaseSnapshotStore::connect_postgres(&url_for(&schema)).await {
        Ok(store) => Ok(PostgresBackend {
            admin,
            schema,
            store,
        }),
        Err(e) => {
            drop_schema(&admin, &schema).await?;
            Err(e)
        }
    }
}

#[async_trait]
impl StoreHooks for PostgresBackend {
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()> {
        let sql = format!(
            "UPDATE \"{}\".schema_sync_snapshots SET body = $1 WHERE hash = $2",
            self.schema
        );
        let body = String::from_utf8_lossy(&bytes).into_owned();
        let n = self
            .admin
            .execute(&sql, &[&body, &hash.as_str()])
            .await
            .map_err(fail)?;
        if n == 1 {
            Ok(())
        } else {
            Err(fail("no object row to damage"))
        }
    }

    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>> {
        let sql = format!("SELECT hash FROM \"{}\".schema_sync_snapshots", self.schema);
        let rows = self.admin.query(&sql, &[]).await.map_err(fail)?;
        rows.iter()
            .map(|row| SnapshotHash::parse(&row.try_get::<_, String>(0).map_err(fail)?))
            .collect()
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    fn store(&self) -> &dyn PrunableStore {
        &self.store
    }

    async fn cleanup(&self) -> Result<()> {
        drop_schema(&self.admin, &self.schema).await
    }
}

async fn drop_schema(admin: &Client, schema: &str) -> Result<()> {
    admin
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await
        .map_err(fail)
}

conformance_tests!(postgres_backend());

#[tokio::test]
async fn the_tables_live_in_the_search_path_schema_and_migrate_once() -> Result<()> {
    let admin = admin().await?;
    let schema = new_schema(&admin).await?;
    let result = async {
        let url = url_for(&schema);
        // Two processes opening a new store at once: the advisory lock serialises them.
        let (a, b) = tokio::join!(open_store(&url), DatabaseSnapshotStore::connect_postgres(&url));
        let (a, _b) = (a?, b?);
        let t = TenantId::new("acme")?;
        let snapshot = sample_snapshot("pg_url");
        let hash = a.save(&t, &snapshot).await?.hash;
        ensure!(
            open_store(&url).await?.load(&t, &hash).await? == snapshot,
            "another connection loads another snapshot"
        );

        let tables = admin
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
                &[&schema],
            )
            .await
            .map_err(fail)?;
        let names: Vec<String> = tables.iter().filter_map(|r| r.try_get(0).ok()).collect();
        ensure!(
            names
                == [
                    "schema_sync_snapshot_history",
                    "schema_sync_snapshot_tags",
                    "schema_sync_snapshots",
                    "schema_sync_store_version"
                ],
            "the test schema holds {names:?}"
        );
        let sql = format!("SELECT COUNT(*) FROM \"{schema}\".schema_sync_store_version");
        let count: i64 = admin.query_one(&sql, &[]).await.map_err(fail)?.try_get(0).map_err(fail)?;
        ensure!(count == 1, "three opens migrated {count} times");
        Ok(())
    }
    .await;
    drop_schema(&admin, &schema).await?;
    result
}

#[tokio::test]
async fn an_unreachable_server_is_a_connection_error_without_the_password() -> Result<()> {
    let err = DatabaseSnapshotStore::connect_postgres("postgres://u:secret@127.0.0.1:1/db")
        .await
        .err();
    assert!(
        matches!(&err, Some(Error::Connection { target, .. }) if target == "postgres://u:***@127.0.0.1:1/db"),
        "{err:?}"
    );
    assert!(
        !err.map(|e| e.to_string())
            .unwrap_or_default()
            .contains("secret")
    );
    Ok(())
}
