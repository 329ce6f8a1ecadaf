//! The S3 store against a real S3-compatible server on loopback, one bucket per test.
//!
//! The server is `SCHEMA_SYNC_TEST_S3_ENDPOINT` (default `http://127.0.0.1:9000`); start
//! one with `.ci/s3-server`. A test fails, never skips, when it cannot be reached.
#![cfg(feature = "s3")]

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;
use schema_sync_core::{Result, SnapshotHash, SnapshotStore, TenantId};
use schema_sync_snapshots::conformance::{StoreHooks, sample_snapshot};
use schema_sync_snapshots::object_store::aws::AmazonS3Builder;
use schema_sync_snapshots::object_store::path::Path;
use schema_sync_snapshots::object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use schema_sync_snapshots::{PrunableStore, S3SnapshotStore};

use common::{Backend, fail, unique_name};

fn endpoint() -> String {
    std::env::var("SCHEMA_SYNC_TEST_S3_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:9000".to_string())
}

/// Sends one bare HTTP request to the endpoint (bucket creation and removal need no
/// signature on a test server) and returns the status code.
fn http(method: &str, path: &str) -> Result<u16> {
    let endpoint = endpoint();
    let authority = endpoint
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| {
            fail(format!(
                "SCHEMA_SYNC_TEST_S3_ENDPOINT {endpoint:?} is not an http:// URL"
            ))
        })?;
    let unreachable = |e: std::io::Error| {
        fail(format!(
            "cannot reach the S3-compatible test server at {endpoint} ({e}); start it with `.ci/s3-server` or set SCHEMA_SYNC_TEST_S3_ENDPOINT"
        ))
    };
    let mut stream = TcpStream::connect(authority).map_err(unreachable)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(unreachable)?;
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .map_err(unreachable)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(unreachable)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            fail(format!(
                "the S3 test server answered {method} {path} with {response:?}"
            ))
        })
}

fn builder() -> AmazonS3Builder {
    AmazonS3Builder::new()
        .with_endpoint(endpoint())
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
}

async fn create_bucket() -> Result<String> {
    let bucket = unique_name("snapshots");
    let created = tokio::task::spawn_blocking({
        let path = format!("/{bucket}");
        move || http("PUT", &path)
    })
    .await
    .map_err(fail)??;
    if created != 200 {
        return Err(fail(format!("creating bucket {bucket} answered {created}")));
    }
    Ok(bucket)
}

async fn remove_bucket(bucket: &str) -> Result<()> {
    let store = builder().with_bucket_name(bucket).build().map_err(fail)?;
    let keys: Vec<_> = store
        .list(None)
        .map_ok(|m| m.location)
        .try_collect()
        .await
        .map_err(fail)?;
    for key in keys {
        store.delete(&key).await.map_err(fail)?;
    }
    let path = format!("/{bucket}");
    let status = tokio::task::spawn_blocking(move || http("DELETE", &path))
        .await
        .map_err(fail)??;
    if status == 204 || status == 200 {
        Ok(())
    } else {
        Err(fail(format!("removing bucket {bucket} answered {status}")))
    }
}

struct S3Backend {
    bucket: String,
    store: S3SnapshotStore,
}

async fn s3_backend() -> Result<S3Backend> {
    let bucket = create_bucket().await?;
    let store = S3SnapshotStore::from_builder(builder(), &bucket, "fleet/prod")?;
    Ok(S3Backend { bucket, store })
}

#[async_trait]
impl StoreHooks for S3Backend {
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()> {
        let key = self.store.object_key(hash);
        self.store
            .object_store()
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(fail)?;
        Ok(())
    }

    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>> {
        let prefix = Path::from("fleet/prod/objects");
        let keys: Vec<_> = self
            .store
            .object_store()
            .list(Some(&prefix))
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .map_err(fail)?;
        keys.iter()
            .map(|key| {
                let name = key.filename().unwrap_or_default();
                SnapshotHash::parse(name.strip_suffix(".json").unwrap_or(name))
            })
            .collect()
    }
}

#[async_trait]
impl Backend for S3Backend {
    fn store(&self) -> &dyn PrunableStore {
        &self.store
    }

    async fn cleanup(&self) -> Result<()> {
        remove_bucket(&self.bucket).await
    }
}

conformance_tests!(s3_backend());

#[tokio::test]
async fn the_url_and_aws_variables_configure_the_store() -> Result<()> {
    let bucket = create_bucket().await?;
    let result = async {
        let vars = [
            ("AWS_ENDPOINT_URL", endpoint()),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_REGION", "eu-west-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v));
        let store = S3SnapshotStore::from_url_and_vars(&format!("s3://{bucket}/a/b"), vars)?;
        let t = TenantId::new("ünï \"q\"")?;
        let snapshot = sample_snapshot("s3_url");
        let record = store.save(&t, &snapshot).await?;
        ensure!(
            store.load(&t, &record.hash).await? == snapshot,
            "the snapshot did not load back"
        );

        // The layout a person finds in the bucket.
        let raw = builder().with_bucket_name(&bucket).build().map_err(fail)?;
        let mut keys: Vec<String> = raw
            .list(None)
            .map_ok(|m| m.location.to_string())
            .try_collect()
            .await
            .map_err(fail)?;
        keys.sort();
        ensure!(
            keys.len() == 2
                && keys[0] == format!("a/b/objects/{}.json", record.hash)
                && keys[1].starts_with("a/b/tenants/%C3%BCn%C3%AF%20%22q%22/history/")
                && keys[1].ends_with(&format!("-{}.json", record.hash)),
            "unexpected keys {keys:?}"
        );
        let body = raw
            .get(&Path::from(keys[0].as_str()))
            .await
            .map_err(fail)?
            .bytes()
            .await
            .map_err(fail)?;
        ensure!(
            body.as_ref() == (snapshot.to_pretty_json() + "\n").as_bytes(),
            "the object is not the pretty snapshot"
        );
        Ok(())
    }
    .await;
    remove_bucket(&bucket).await?;
    result
}

#[tokio::test]
async fn two_runners_saving_at_once_lose_nothing() -> Result<()> {
    let bucket = create_bucket().await?;
    let result = async {
        let a = Arc::new(S3SnapshotStore::from_builder(builder(), &bucket, "")?);
        let b = Arc::new(S3SnapshotStore::from_builder(builder(), &bucket, "")?);
        let t = TenantId::new("shared")?;
        let mut tasks = Vec::new();
        for i in 0..10 {
            for store in [a.clone(), b.clone()] {
                let (t, snapshot) = (t.clone(), sample_snapshot(&format!("race_{i}")));
                tasks.push(tokio::spawn(async move { store.save(&t, &snapshot).await }));
            }
        }
        for task in tasks {
            task.await.map_err(fail)??;
        }
        let saved = a.history(&t).await?.len();
        ensure!(
            saved == 20,
            "20 concurrent saves left {saved} history entries"
        );
        Ok(())
    }
    .await;
    remove_bucket(&bucket).await?;
    result
}

#[tokio::test]
async fn a_missing_bucket_is_an_error_naming_it() -> Result<()> {
    let store = S3SnapshotStore::from_builder(builder(), "no-such-bucket-schema-sync", "p")?;
    let err = store.history(&TenantId::new("t")?).await.err();
    assert!(
        matches!(&err, Some(schema_sync_core::Error::Snapshot { location, .. }) if location.starts_with("s3://no-such-bucket-schema-sync/p/")),
        "{err:?}"
    );
    Ok(())
}
