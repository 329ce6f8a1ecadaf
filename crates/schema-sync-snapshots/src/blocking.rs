//! Running blocking work (file system, `git`, rusqlite) off the async executor.

use schema_sync_core::{Error, Result};

/// Runs `work` on tokio's blocking pool and returns its result.
///
/// # Errors
/// What `work` returns, or [`Error::Internal`] when the task panicked or was cancelled.
pub(crate) async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Error::Internal {
            tenant: None,
            message: format!("a snapshot store task failed: {e}"),
        })
    })
}
