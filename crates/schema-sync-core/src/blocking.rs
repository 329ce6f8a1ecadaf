//! Running blocking work (rusqlite, the file system, child processes) off the async
//! executor.
//!
//! Every blocking driver call in schema-sync goes through [`run_blocking`], which moves
//! it to tokio's blocking pool so executor threads stay free for other tenants.

use crate::error::{Error, Result};

/// Runs `work` on tokio's blocking pool and returns its result.
///
/// # Errors
/// What `work` returns, or [`Error::Internal`] when the task panicked or was cancelled.
pub async fn run_blocking<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(Error::Internal {
            tenant: None,
            message: format!("a blocking task failed: {e}"),
        })
    })
}
