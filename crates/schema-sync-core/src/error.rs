//! The error type shared by core, adapters and stores.
//!
//! Every variant names what it concerns (tenant, object, phase) so that a message printed
//! to a user says what failed and what to do about it. Source errors stay chained.

use std::fmt;

use crate::tenant::TenantId;

/// A boxed error from a driver or the file system, kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of schema-sync.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The phase of the flow in which an error occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Listing tenants.
    Discover,
    /// Reading a live schema.
    Inspect,
    /// Loading the desired schema.
    Target,
    /// Comparing snapshots.
    Diff,
    /// Turning a diff into operations.
    Plan,
    /// Taking the per-tenant lock.
    Lock,
    /// Running operations.
    Execute,
    /// Saving or loading snapshots.
    Store,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Phase::Discover => "discover",
            Phase::Inspect => "inspect",
            Phase::Target => "target",
            Phase::Diff => "diff",
            Phase::Plan => "plan",
            Phase::Lock => "lock",
            Phase::Execute => "execute",
            Phase::Store => "store",
        };
        f.write_str(name)
    }
}

/// Formats `tenant "x": ` when a tenant is known, nothing otherwise.
struct TenantPrefix<'a>(&'a Option<TenantId>);

impl fmt::Display for TenantPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(tenant) => write!(f, "tenant {:?}: ", tenant.as_str()),
            None => Ok(()),
        }
    }
}

/// How far a plan got before it stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The step that did not complete, as text.
    pub step: String,
    /// The statement that did not complete.
    pub statement: String,
    /// Steps completed before it (they stay applied unless rolled back).
    pub steps_succeeded: usize,
    /// The plan's step count.
    pub steps_total: usize,
    /// Whether everything the run did was rolled back.
    pub rolled_back: bool,
}

/// Everything that can go wrong in schema-sync.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tenant id failed validation.
    #[error("invalid tenant id {id:?}: {reason}")]
    InvalidTenantId {
        /// The rejected id.
        id: String,
        /// Why it was rejected, and what to do.
        reason: String,
    },

    /// Configuration or command-line input is wrong.
    #[error("{message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },

    /// A database server or file could not be reached.
    #[error("cannot connect to {target}: {source}")]
    Connection {
        /// The server or path, with any password removed.
        target: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A database object cannot be represented or rendered.
    #[error("{}{object}: {message}", TenantPrefix(tenant))]
    Unsupported {
        /// The tenant, when known.
        tenant: Option<TenantId>,
        /// The object, for example `users.location` or `type geometry`.
        object: String,
        /// What is unsupported and what to do instead.
        message: String,
    },

    /// A database call failed during some phase.
    #[error("{}{phase} failed{}: {source}", TenantPrefix(tenant), context.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Database {
        /// The tenant, when known.
        tenant: Option<TenantId>,
        /// Where in the flow.
        phase: Phase,
        /// The object or query concerned, when known.
        context: Option<String>,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The desired schema could not be loaded.
    #[error("cannot load target {target}: {message}")]
    Target {
        /// The target as the user gave it.
        target: String,
        /// What went wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A plan contains destructive steps and the caller did not allow them.
    #[error(
        "tenant {:?}: refusing {} destructive change{} that {} not allowed: {}",
        tenant.as_str(),
        losses.len(),
        if losses.len() == 1 { "" } else { "s" },
        if losses.len() == 1 { "is" } else { "are" },
        losses.join("; ")
    )]
    DestructiveRefused {
        /// The tenant.
        tenant: TenantId,
        /// What would be lost, one entry per destructive step.
        losses: Vec<String>,
    },

    /// The per-tenant lock could not be taken.
    #[error("tenant {:?}: lock not granted: {message}", tenant.as_str())]
    Lock {
        /// The tenant.
        tenant: TenantId,
        /// What happened, for example a timeout and how to raise it.
        message: String,
        /// The driver's error, if any.
        #[source]
        source: Option<BoxError>,
        /// How far the plan had got, when the lock was a table lock met while applying it
        /// (on MySQL the steps before it stay applied).
        progress: Option<Box<Progress>>,
    },

    /// A step of a plan failed while executing.
    #[error(
        "tenant {:?}: step {} of {} failed ({step}){}: {source}",
        tenant.as_str(),
        steps_succeeded + 1,
        steps_total,
        if *rolled_back { ", tenant rolled back" } else { "" }
    )]
    Execute {
        /// The tenant.
        tenant: TenantId,
        /// The failing step, as text.
        step: String,
        /// The SQL statement that failed.
        statement: String,
        /// How many steps completed before the failure (and stay applied unless rolled back).
        steps_succeeded: usize,
        /// The plan's step count.
        steps_total: usize,
        /// Whether every change of this run was rolled back.
        rolled_back: bool,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// A snapshot could not be read, parsed or verified.
    #[error("snapshot {location}: {message}")]
    Snapshot {
        /// Where the snapshot was read from.
        location: String,
        /// What is wrong and what to do.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// The run ledger could not be opened, read or written.
    #[error("run ledger {location}: {message}")]
    Ledger {
        /// Where the ledger lives (a path, or a URL without its password).
        location: String,
        /// What is wrong and what to do.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },

    /// A plan ran but the tenant would still differ from the target, checked before
    /// commit. Where DDL is transactional the tenant was rolled back and is unchanged.
    #[error(
        "tenant {:?}: the plan did not reach the target, {remaining} difference{} would remain ({details}); {}; this is a schema-sync bug, please report it with the tenant's diff",
        tenant.as_str(),
        if *remaining == 1 { "" } else { "s" },
        if *rolled_back {
            "the tenant was rolled back and is unchanged".to_string()
        } else {
            format!("this database cannot roll back DDL, so {statements_applied} statement{} of the plan stay applied", if *statements_applied == 1 { "" } else { "s" })
        }
    )]
    Diverged {
        /// The tenant.
        tenant: TenantId,
        /// How many differences remain.
        remaining: usize,
        /// The remaining diff as text.
        details: String,
        /// Whether the tenant was rolled back to how it was before the run.
        rolled_back: bool,
        /// Statements that ran (and stay applied unless rolled back).
        statements_applied: usize,
    },

    /// Rendered SQL for one tenant names another tenant's namespace or the template's.
    #[error(
        "tenant {:?}: refusing to run SQL that names namespace {namespace:?}, which is another tenant or the template (statement: {statement}); nothing was run",
        tenant.as_str()
    )]
    Isolation {
        /// The tenant being changed.
        tenant: TenantId,
        /// The namespace the SQL names.
        namespace: String,
        /// The statement that names it.
        statement: String,
    },

    /// A versioned migration file cannot be read or applied as it stands: its name breaks
    /// the pattern, its version is taken, it changed since it was applied to a tenant, or
    /// a tenant's history does not match the directory.
    #[error("{}migration {file}: {message}", TenantPrefix(tenant))]
    Migration {
        /// The tenant, when the problem is one tenant's.
        tenant: Option<TenantId>,
        /// The file name (or `version N` for a version no file has).
        file: String,
        /// What is wrong and what to do.
        message: String,
    },

    /// A task running tenant work panicked or was cancelled.
    #[error("{}internal error: {message}", TenantPrefix(tenant))]
    Internal {
        /// The tenant, when known.
        tenant: Option<TenantId>,
        /// What happened.
        message: String,
    },
}

impl Error {
    /// Wraps a driver error met during `phase` for `tenant`.
    pub fn database(
        tenant: Option<&TenantId>,
        phase: Phase,
        context: impl Into<Option<String>>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Database {
            tenant: tenant.cloned(),
            phase,
            context: context.into(),
            source: source.into(),
        }
    }

    /// A configuration error with a message that says how to fix it.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// The tenant this error concerns, when known.
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Error::Unsupported { tenant, .. }
            | Error::Database { tenant, .. }
            | Error::Migration { tenant, .. }
            | Error::Internal { tenant, .. } => tenant.as_ref(),
            Error::DestructiveRefused { tenant, .. }
            | Error::Lock { tenant, .. }
            | Error::Execute { tenant, .. }
            | Error::Isolation { tenant, .. }
            | Error::Diverged { tenant, .. } => Some(tenant),
            _ => None,
        }
    }

    /// A stable machine-readable name for the error kind, used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidTenantId { .. } => "invalid_tenant_id",
            Error::Config { .. } => "config",
            Error::Connection { .. } => "connection",
            Error::Unsupported { .. } => "unsupported",
            Error::Database { .. } => "database",
            Error::Target { .. } => "target",
            Error::DestructiveRefused { .. } => "destructive_refused",
            Error::Lock { .. } => "lock",
            Error::Execute { .. } => "execute",
            Error::Snapshot { .. } => "snapshot",
            Error::Ledger { .. } => "ledger",
            Error::Diverged { .. } => "diverged",
            Error::Migration { .. } => "migration",
            Error::Isolation { .. } => "isolation",
            Error::Internal { .. } => "internal",
        }
    }

    /// Whether this error comes from input or the environment rather than from a tenant's
    /// schema (the CLI maps these to exit code 2).
    pub fn is_usage_or_connection(&self) -> bool {
        matches!(
            self,
            Error::InvalidTenantId { .. }
                | Error::Config { .. }
                | Error::Connection { .. }
                | Error::Target { .. }
                | Error::Snapshot { .. }
                | Error::Ledger { .. }
        )
    }
}

/// Removes every password from a database URL, a libpq connection string or any message
/// that quotes one, so the text can be printed.
///
/// Handles `scheme://user:secret@host/db` (also malformed forms such as `scheme:/user:secret@host`
/// or `scheme:user:secret@host`), key-value pairs such as `password=secret`,
/// `password = 'sec ret'`, `sslpassword=secret` and query strings such as `?password=secret`:
/// each secret becomes `***`. Text without credentials is returned unchanged.
pub fn redact_url(url: &str) -> String {
    redact_key_values(&redact_userinfo(url))
}

/// Whether `c` ends a URL-like token in free text.
fn ends_token(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | '(' | ')' | ',' | ';')
}

/// Replaces the password of every `scheme:[/...]user:secret@host` in `text`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(colon) = rest.find(':') {
        let scheme_start = rest[..colon]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let scheme = &rest[scheme_start..colon];
        let after = &rest[colon + 1..];
        // A scheme, or at least the `//` of an authority (`://user:pw@host` with the
        // scheme cut off still holds a password).
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) && !after.starts_with("//") {
            out.push_str(&rest[..=colon]);
            rest = &rest[colon + 1..];
            continue;
        }
        let body_start = after.len() - after.trim_start_matches('/').len();
        let body = &after[body_start..];
        let token_end = body.find(ends_token).unwrap_or(body.len());
        // The authority ends at the query or fragment; the last `@` before it ends the user
        // info, so a password holding `@` or `/` is still found whole.
        let authority_end = body[..token_end].find(['?', '#']).unwrap_or(token_end);
        let userinfo_end = body[..authority_end].rfind('@');
        let userinfo_colon = userinfo_end.and_then(|at| body[..at].find(':'));
        out.push_str(&rest[..=colon]);
        match (userinfo_end, userinfo_colon) {
            (Some(at), Some(user_end)) => {
                out.push_str(&after[..body_start]);
                out.push_str(&body[..=user_end]);
                out.push_str("***");
                out.push_str(&body[at..token_end]);
                rest = &body[token_end..];
            }
            // No password here: scan on from the next character, as a URL may start
            // later in the same token.
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the value of every `...password=value` pair (libpq key-value strings, query
/// strings, `sslpassword`), quoted or not, spaces around `=` allowed.
fn redact_key_values(text: &str) -> String {
    const KEY: &str = "password";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(KEY) {
        let key_end = search + found + KEY.len();
        search = key_end;
        let after_key = &text[key_end..];
        let trimmed = after_key.trim_start_matches([' ', '\t']);
        let Some(value) = trimmed.strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start_matches([' ', '\t']);
        let value_start = text.len() - value.len();
        let value_len = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let mut escaped = false;
                let mut end = value.len();
                for (i, c) in value.char_indices().skip(1) {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == quote {
                        end = i + c.len_utf8();
                        break;
                    }
                }
                end
            }
            _ => {
                let end = value
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, '&' | ';' | '"' | '\'' | ',' | ')')
                    })
                    .unwrap_or(value.len());
                // `...password=secret: next part` in a message: the colon is punctuation.
                let punctuation = value[..end].ends_with([':', '.']);
                end - usize::from(punctuation && end > 1)
            }
        };
        if value_len == 0 {
            continue;
        }
        out.push_str(&text[copied..value_start]);
        out.push_str("***");
        copied = value_start + value_len;
        search = copied;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/db?x=1"),
            "postgres://u:***@h:5432/db?x=1"
        );
        assert_eq!(
            redact_url("mysql://root@127.0.0.1/test"),
            "mysql://root@127.0.0.1/test"
        );
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
    }

    #[test]
    fn redacts_malformed_urls() {
        assert_eq!(
            redact_url("postgres:/user:PW@host/db"),
            "postgres:/user:***@host/db"
        );
        assert_eq!(
            redact_url("mysql:/user:PW@host/db"),
            "mysql:/user:***@host/db"
        );
        assert_eq!(redact_url("mysql:user:PW@host"), "mysql:user:***@host");
        assert_eq!(redact_url("postgres://:PW@host"), "postgres://:***@host");
        assert_eq!(
            redact_url("postgres://u:pa/ss@host/db"),
            "postgres://u:***@host/db"
        );
    }

    #[test]
    fn redacts_urls_inside_messages() {
        assert_eq!(
            redact_url("cannot connect to \"postgres://u:PW@h/db\": refused"),
            "cannot connect to \"postgres://u:***@h/db\": refused"
        );
        assert_eq!(
            redact_url("error: tenant \"a\": step 1 of 2 failed"),
            "error: tenant \"a\": step 1 of 2 failed"
        );
    }

    #[test]
    fn redacts_key_value_passwords() {
        assert_eq!(
            redact_url("host=h user=u password=PW dbname=d"),
            "host=h user=u password=*** dbname=d"
        );
        assert_eq!(
            redact_url("host=h password = 'P W\\'x' port=1"),
            "host=h password = *** port=1"
        );
        assert_eq!(
            redact_url("host=h sslpassword=PW2 PASSWORD=PW3"),
            "host=h sslpassword=*** PASSWORD=***"
        );
        assert_eq!(
            redact_url("postgres://h/db?user=u&password=PW&sslmode=off"),
            "postgres://h/db?user=u&password=***&sslmode=off"
        );
        assert_eq!(
            redact_url("cannot parse postgres://h/db?sslpassword=PW: invalid"),
            "cannot parse postgres://h/db?sslpassword=***: invalid"
        );
        assert_eq!(redact_url("the password is wrong"), "the password is wrong");
    }

    #[test]
    fn destructive_refusal_names_losses() {
        let err = Error::DestructiveRefused {
            tenant: TenantId::new("acme").unwrap_or_else(|e| panic!("{e}")),
            losses: vec!["drop column users.email".into()],
        };
        assert_eq!(
            err.to_string(),
            "tenant \"acme\": refusing 1 destructive change that is not allowed: drop column users.email"
        );
    }
}
