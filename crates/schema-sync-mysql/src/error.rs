//! Mapping driver errors into the core [`Error`], with tenant, phase and object.
//!
//! The driver's own error stays chained as the source. A server error is chained as the
//! bare [`mysql_async::ServerError`] (`ERROR 1064 (42000): ...`) and an I/O error as the
//! bare [`std::io::Error`], rather than the driver's wrappers, whose messages repeat
//! their sources.

use std::fmt;
use std::sync::Arc;

use schema_sync_core::{BoxError, Error, Phase, TenantId};

/// The driver error as a chainable source.
pub(crate) fn source(error: mysql_async::Error) -> BoxError {
    match error {
        mysql_async::Error::Server(server) => Box::new(server),
        mysql_async::Error::Io(mysql_async::IoError::Io(io)) => Box::new(io),
        other => Box::new(other),
    }
}

/// The server's own message for a server error, or the driver's description otherwise.
pub(crate) fn server_message(error: &mysql_async::Error) -> String {
    match error {
        mysql_async::Error::Server(server) => server.to_string(),
        other => other.to_string(),
    }
}

/// The MySQL error code of a server error.
pub(crate) fn server_code(error: &mysql_async::Error) -> Option<u16> {
    match error {
        mysql_async::Error::Server(server) => Some(server.code),
        _ => None,
    }
}

/// A database error during `phase`, naming the tenant and the object or query.
pub(crate) fn database(
    tenant: Option<&TenantId>,
    phase: Phase,
    context: impl Into<String>,
    error: mysql_async::Error,
) -> Error {
    Error::database(tenant, phase, Some(context.into()), source(error))
}

/// A batch-wide failure repeated for each tenant of the batch, sharing one source.
pub(crate) fn shared(
    tenant: &TenantId,
    phase: Phase,
    context: &str,
    error: &Arc<mysql_async::Error>,
) -> Error {
    Error::database(
        Some(tenant),
        phase,
        Some(context.to_string()),
        SharedError(error.clone()),
    )
}

/// A connection failure, naming the server (password removed) and what to check.
pub(crate) fn connection(redacted_url: &str, error: mysql_async::Error) -> Error {
    Error::Connection {
        target: redacted_url.to_string(),
        source: Box::new(Hint {
            hint: "check that the server is running and that host, port, user and password in the URL are right",
            source: source(error),
        }),
    }
}

/// Says what to do after the error that made it necessary, which stays chained. Like the
/// core error's own messages, the text includes the cause, for printers that show only
/// the top-level message.
#[derive(Debug)]
struct Hint {
    hint: &'static str,
    source: BoxError,
}

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; {}", self.source, self.hint)
    }
}

impl std::error::Error for Hint {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}

/// One driver error reported for several tenants.
#[derive(Debug, Clone)]
struct SharedError(Arc<mysql_async::Error>);

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&server_message(&self.0))
    }
}

impl std::error::Error for SharedError {}

/// An error with only a message, for conditions the server does not raise itself.
#[derive(Debug)]
pub(crate) struct Message(pub String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}
