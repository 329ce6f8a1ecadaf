//! Timeouts of inspection: a tenant whose catalog read waits on a lock (someone holds
//! one of its tables) or runs too long fails alone, with the `lock` kind.

use std::time::Duration;

use schema_sync_core::{Error, TenantId};
use tokio_postgres::error::SqlState;

use crate::error;

/// The lock and statement timeouts of inspection ([`schema_sync_core::ConnectOptions`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Timeouts {
    /// How long a catalog read may wait for a lock on a tenant's table or view.
    pub lock: Option<Duration>,
    /// The longest one inspection query may run.
    pub statement: Option<Duration>,
}

impl Timeouts {
    /// `SET LOCAL` statements for the current transaction (empty when nothing is limited).
    /// A zero lock timeout means "do not wait" here (PostgreSQL reads 0 as "forever").
    pub(crate) fn set_local(&self) -> String {
        let mut sql = String::new();
        if let Some(lock) = self.lock {
            let ms = lock.as_millis().max(1);
            sql.push_str(&format!("SET LOCAL lock_timeout = '{ms}ms';"));
        }
        if let Some(statement) = self.statement {
            let ms = statement.as_millis().max(1);
            sql.push_str(&format!("SET LOCAL statement_timeout = '{ms}ms';"));
        }
        sql
    }
}

/// Whether `error` is a lock or statement timeout: the tenant was busy, not broken.
pub(crate) fn is_timeout(error: &tokio_postgres::Error) -> bool {
    error::is_lock_timeout(error) || error.code() == Some(&SqlState::QUERY_CANCELED)
}

/// The [`Error::Lock`] of a tenant whose inspection ran out of time in `doing`.
pub(crate) fn inspection_timeout(
    tenant: &TenantId,
    doing: &str,
    error: tokio_postgres::Error,
) -> Error {
    let what = if error::is_lock_timeout(&error) {
        "a lock on one of its tables or views was not granted within the lock timeout (another session holds it; see pg_locks); retry when the tenant is less busy"
    } else {
        "a catalog query ran longer than the statement timeout; retry when the server is less busy or raise the statement timeout"
    };
    Error::Lock {
        tenant: tenant.clone(),
        message: format!("{doing} timed out: {what}"),
        source: Some(error::advised(error)),
        progress: None,
    }
}
