//! Mapping driver and pool errors into core [`Error`]s that name the tenant, the phase,
//! the object and the fix.
//!
//! The driver error always stays the `source`; the messages built here only add what the
//! driver cannot know (which tenant, which statement, what to do next). No message ever
//! contains a password: connection errors carry the URL through
//! [`redact_url`](schema_sync_core::redact_url) only.

use std::fmt;

use schema_sync_core::{Error, Phase, TenantId};
use tokio_postgres::error::{ErrorPosition, SqlState};

/// A connection failure with the advice that goes with it, keeping the driver error as
/// its source.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    advice: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.advice)
    }
}

impl std::error::Error for ConnectFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// An [`Error::Connection`] for `target` (already redacted) with advice and no driver error.
pub(crate) fn connection_message(target: &str, advice: impl Into<String>) -> Error {
    Error::Connection {
        target: target.to_string(),
        source: Box::new(ConnectFailure {
            advice: advice.into(),
            source: None,
        }),
    }
}

/// An [`Error::Connection`] for `target` (already redacted) caused by a driver error.
pub(crate) fn connection_error(target: &str, error: tokio_postgres::Error) -> Error {
    let advice = connection_advice(&error);
    Error::Connection {
        target: target.to_string(),
        source: Box::new(ConnectFailure {
            advice,
            source: Some(Box::new(error)),
        }),
    }
}

/// An [`Error::Connection`] for a pool failure (timeout, closed pool, backend error).
pub(crate) fn pool_error(target: &str, error: deadpool_postgres::PoolError) -> Error {
    match error {
        deadpool_postgres::PoolError::Backend(e) => connection_error(target, e),
        deadpool_postgres::PoolError::Timeout(_) => connection_message(
            target,
            "timed out waiting for a free connection; lower the concurrency or raise max_connections",
        ),
        other => Error::Connection {
            target: target.to_string(),
            source: Box::new(ConnectFailure {
                advice: "the connection pool failed; reconnect".into(),
                source: Some(Box::new(other)),
            }),
        },
    }
}

/// What to tell a user whose connection failed.
fn connection_advice(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let fix = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            "check the user and password in the URL (or SCHEMA_SYNC_URL) and pg_hba.conf"
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            "check the database name in the URL; create the database first"
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            "the server has no free connection slots; lower the concurrency"
        } else {
            "check the URL and the server's log"
        };
        return format!(
            "the server refused the connection ({}); {fix}",
            db.message()
        );
    }
    if error.is_closed() {
        return "the server closed the connection; check the server's log and sslmode".into();
    }
    let chain = describe_chain(error);
    if chain.contains("invalid peer certificate") {
        let fix = if chain.contains("not valid for name") || chain.contains("NotValidForName") {
            "the server's certificate does not name the host of the URL; connect by a name or address the certificate carries, or use sslmode=verify-ca to check the chain only"
        } else {
            "the server's certificate was refused; name the CA that signed it with sslrootcert=PATH (a PEM file), or use sslmode=require to encrypt without checking the certificate"
        };
        return format!("{chain}; {fix}");
    }
    format!(
        "{chain}; check that PostgreSQL runs at this address, that the URL is right and that sslmode suits the server"
    )
}

/// The driver's error and its causes on one line (the driver's top-level text alone, such
/// as "error connecting to server", does not say what happened).
fn describe_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    parts.dedup();
    parts.join(": ")
}

/// An [`Error::Database`] for a driver error met in `phase`.
pub(crate) fn database(
    tenant: Option<&TenantId>,
    phase: Phase,
    context: impl Into<String>,
    error: tokio_postgres::Error,
) -> Error {
    Error::database(tenant, phase, Some(context.into()), advised(error))
}

/// Whether the error is PostgreSQL's "lock not available" (lock_timeout expired).
pub(crate) fn is_lock_timeout(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE)
}

/// A line to add to an execution error so the user knows what to do.
pub(crate) fn execution_advice(error: &tokio_postgres::Error) -> Option<&'static str> {
    let code = error.code()?;
    Some(if *code == SqlState::LOCK_NOT_AVAILABLE {
        "another session held a lock on the table past the lock timeout"
    } else if *code == SqlState::QUERY_CANCELED {
        "the statement ran longer than the statement timeout; raise the statement timeout"
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        "the role lacks a privilege; connect as the owner of the tenant's schema"
    } else if *code == SqlState::NOT_NULL_VIOLATION || *code == SqlState::CHECK_VIOLATION {
        "existing rows violate the new constraint; fix the data or give the column a default"
    } else {
        return None;
    })
}

/// A driver error whose message says what the server said (the driver's own text for a
/// server error is only "db error"), with advice when there is some; the driver error
/// stays chained as the source.
#[derive(Debug)]
pub(crate) struct DriverError {
    advice: Option<&'static str>,
    source: tokio_postgres::Error,
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source.as_db_error() {
            Some(db) => {
                write!(f, "{}", db.message())?;
                if let Some(detail) = db.detail() {
                    write!(f, " ({detail})")?;
                }
                if let Some(hint) = db.hint() {
                    write!(f, "; hint: {hint}")?;
                }
            }
            None => f.write_str(&describe_chain(&self.source))?,
        }
        if let Some(advice) = self.advice {
            write!(f, "; {advice}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DriverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The driver error as a boxed source that prints the server's message, with advice
/// when there is some to give.
pub(crate) fn advised(error: tokio_postgres::Error) -> schema_sync_core::BoxError {
    Box::new(DriverError {
        advice: execution_advice(&error),
        source: error,
    })
}

/// Describes a DDL error in the user's own SQL: the server's message, where it happened
/// (line and column of `sql`) and the server's hint.
pub(crate) fn describe_ddl_error(error: &tokio_postgres::Error, sql: &str) -> String {
    let Some(db) = error.as_db_error() else {
        return describe_chain(error);
    };
    let mut message = db.message().to_string();
    if let Some(ErrorPosition::Original(position)) = db.position() {
        let (line, column) = line_and_column(sql, *position as usize);
        message.push_str(&format!(" at line {line}, column {column}"));
    }
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("; hint: {hint}"));
    }
    message
}

/// The 1-based line and column of the 1-based character `position` in `text`.
fn line_and_column(text: &str, position: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for c in text.chars().take(position.saturating_sub(1)) {
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_lines_and_columns() {
        let sql = "CREATE TABLE a (id int);\nCREATE TABLE b (id nope);";
        let offset = sql.find("nope").map(|i| i + 1).unwrap_or_default();
        assert_eq!(line_and_column(sql, offset), (2, 20));
        assert_eq!(line_and_column("ünï x", 5), (1, 5));
    }
}
