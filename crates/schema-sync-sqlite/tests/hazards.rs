//! `plan --check-data` on SQLite files: the same rows counted as on the servers, on a
//! read-only connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::SqliteFleet;
use schema_sync_core::testing::conformance::check_data_counts_rows;

#[tokio::test]
async fn check_data_counts_the_rows_each_step_would_fail_on_or_lose() {
    check_data_counts_rows(&SqliteFleet::new(), "hz_lite")
        .await
        .unwrap();
}
