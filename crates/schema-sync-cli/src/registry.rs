//! URL schemes to adapters.
//!
//! Like sqlx's driver registry, this is a plain table of function pointers, one row per
//! driver, filled in under `#[cfg(feature)]`. A scheme whose driver was compiled out
//! gets an error that says which feature to enable, never a panic or a silent fallback.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::{Result, bail};
use schema_sync_core::{ConnectOptions, DatabaseAdapter};

/// The future an adapter's connect function returns.
type Connecting =
    Pin<Box<dyn Future<Output = schema_sync_core::Result<Arc<dyn DatabaseAdapter>>> + Send>>;

/// An adapter's connect function, boxed to fit the table.
type ConnectFn = fn(String, ConnectOptions) -> Connecting;

/// One database driver.
struct Driver {
    /// The cargo feature that compiles it in.
    feature: &'static str,
    /// URL schemes it serves.
    schemes: &'static [&'static str],
    /// `None` when the feature is off in this build.
    connect: Option<ConnectFn>,
}

#[cfg(feature = "sqlite")]
fn connect_sqlite(url: String, options: ConnectOptions) -> Connecting {
    Box::pin(async move {
        Ok(Arc::new(schema_sync_sqlite::connect(&url, &options).await?)
            as Arc<dyn DatabaseAdapter>)
    })
}

#[cfg(feature = "postgres")]
fn connect_postgres(url: String, options: ConnectOptions) -> Connecting {
    Box::pin(async move {
        Ok(
            Arc::new(schema_sync_postgres::connect(&url, &options).await?)
                as Arc<dyn DatabaseAdapter>,
        )
    })
}

#[cfg(feature = "mysql")]
fn connect_mysql(url: String, options: ConnectOptions) -> Connecting {
    Box::pin(async move {
        Ok(Arc::new(schema_sync_mysql::connect(&url, &options).await?) as Arc<dyn DatabaseAdapter>)
    })
}

/// Every driver schema-sync knows, compiled in or not.
fn drivers() -> [Driver; 3] {
    [
        Driver {
            feature: "sqlite",
            schemes: &["sqlite"],
            #[cfg(feature = "sqlite")]
            connect: Some(connect_sqlite),
            #[cfg(not(feature = "sqlite"))]
            connect: None,
        },
        Driver {
            feature: "postgres",
            schemes: &["postgres", "postgresql"],
            #[cfg(feature = "postgres")]
            connect: Some(connect_postgres),
            #[cfg(not(feature = "postgres"))]
            connect: None,
        },
        Driver {
            feature: "mysql",
            schemes: &["mysql", "mariadb"],
            #[cfg(feature = "mysql")]
            connect: Some(connect_mysql),
            #[cfg(not(feature = "mysql"))]
            connect: None,
        },
    ]
}

/// The scheme of `url` (`postgres` in `postgres://...`).
fn scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}

/// The kind of database `url` names (`postgres` for `postgres://` and `postgresql://`),
/// compiled in or not; `unknown` for a scheme no driver serves.
pub fn kind(url: &str) -> &'static str {
    let scheme = scheme(url).to_ascii_lowercase();
    drivers()
        .into_iter()
        .find(|d| d.schemes.contains(&scheme.as_str()))
        .map_or("unknown", |d| d.feature)
}

/// Connects to `url` with the driver its scheme names.
pub async fn connect(url: &str, options: ConnectOptions) -> Result<Arc<dyn DatabaseAdapter>> {
    let scheme = scheme(url).to_ascii_lowercase();
    let Some(driver) = drivers()
        .into_iter()
        .find(|d| d.schemes.contains(&scheme.as_str()))
    else {
        bail!(
            "unsupported database URL {:?}: use sqlite:///path, postgres://user@host/db or mysql://user@host/db",
            schema_sync_core::redact_url(url)
        );
    };
    let Some(connect) = driver.connect else {
        bail!(
            "this build of schema-sync has no {} support; reinstall with `cargo install schema-sync-cli --features {}`",
            driver.feature,
            driver.feature
        );
    };
    Ok(connect(url.to_string(), options).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_schemes() {
        assert_eq!(scheme("postgresql://x"), "postgresql");
        assert_eq!(scheme("sqlite:///tmp"), "sqlite");
        assert!(drivers().iter().any(|d| d.schemes.contains(&"mariadb")));
        assert_eq!(kind("postgresql://h/db"), kind("postgres://h/db"));
        assert_eq!(kind("mariadb://h/db"), "mysql");
        assert_eq!(kind("oracle://h/db"), "unknown");
    }

    #[tokio::test]
    async fn unknown_scheme_is_a_clear_error() {
        let error = connect("oracle://u:secret@h/db", ConnectOptions::default())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("unsupported database URL") && !error.contains("secret"),
            "{error}"
        );
    }
}
