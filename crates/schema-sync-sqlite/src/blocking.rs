//! Running rusqlite calls off the async executor.
//!
//! rusqlite is blocking. Every call goes through [`run_blocking`], which moves the work to
//! tokio's blocking pool so executor threads stay free for other tenants.

use schema_sync_core::{Error, Result};

/// Runs `work` on the blocking pool and returns its result.
///
/// # Errors
/// What `work` returns, or [`Error::Internal`] when the task panicked.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Error::Internal {
            tenant: None,
            message: format!("a SQLite task failed: {e}"),
        })
    })
}
