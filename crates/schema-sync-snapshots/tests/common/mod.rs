//! Shared by every backend's test file: the fixture trait and the macro that turns the
//! conformance suite into one test per check, each on a fresh store.
#![allow(dead_code, unused_macros)]

use async_trait::async_trait;
use schema_sync_core::{Error, Result};
use schema_sync_snapshots::PrunableStore;
use schema_sync_snapshots::conformance::StoreHooks;

/// A fresh store on a real backend, with its hooks and its clean-up.
#[async_trait]
pub trait Backend: StoreHooks {
    /// The store under test.
    fn store(&self) -> &dyn PrunableStore;

    /// Removes what the test created (a schema, a bucket); directories clean themselves.
    async fn cleanup(&self) -> Result<()> {
        Ok(())
    }
}

/// A test failure that is not a store error.
pub fn fail(message: impl std::fmt::Display) -> Error {
    Error::Internal {
        tenant: None,
        message: message.to_string(),
    }
}

/// A name no other test (in this or a parallel process) uses, for schemas and buckets.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Fails the test with an error instead of a panic, so that its clean-up still runs.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(common::fail(format!($($message)+)));
        }
    };
}

/// One `#[tokio::test]` per conformance check; `$make` is an async expression giving a
/// fresh `Result<impl Backend>`.
macro_rules! conformance_tests {
    ($make:expr) => {
        mod conformance_suite {
            use super::*;
            use schema_sync_snapshots::conformance;

            conformance_tests!(@store $make;
                round_trip,
                history_is_ordered_with_timestamps,
                latest_is_the_newest_save,
                tags_set_move_and_resolve,
                hostile_tenant_ids_are_isolated);
            conformance_tests!(@hooks $make;
                saves_are_content_addressed,
                corrupt_objects_are_rejected,
                prune_keeps_the_newest);
        }
    };
    (@store $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() -> schema_sync_core::Result<()> {
                let backend = $make.await?;
                let result = conformance::$check(common::Backend::store(&backend)).await;
                common::Backend::cleanup(&backend).await?;
                result
            }
        )*
    };
    (@hooks $make:expr; $($check:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() -> schema_sync_core::Result<()> {
                let backend = $make.await?;
                let result = conformance::$check(common::Backend::store(&backend), &backend).await;
                common::Backend::cleanup(&backend).await?;
                result
            }
        )*
    };
}
