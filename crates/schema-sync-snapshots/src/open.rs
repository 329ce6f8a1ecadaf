//! Choosing a store from a URL.
//!
//! As in sqlx's driver registry, every scheme is one row of [`SCHEMES`]: the URL prefixes
//! it answers to, the cargo feature that builds it, and the function that opens it, which
//! is present only when that feature is on. A known scheme whose feature is off is a
//! configuration error naming the feature; an unknown scheme lists the supported ones.

use std::future::Future;
use std::pin::Pin;

use schema_sync_core::{Error, Result, SnapshotStore, redact_url};

use crate::encode::percent_decode;
use crate::prune::PrunableStore;

/// A boxed store, as the openers return it.
type Opened = Result<Box<dyn PrunableStore>>;
/// Opens a store from the full URL.
type OpenFn = for<'a> fn(&'a str) -> Pin<Box<dyn Future<Output = Opened> + Send + 'a>>;

/// One supported kind of store URL.
struct Scheme {
    /// The URL prefixes it answers to.
    prefixes: &'static [&'static str],
    /// The cargo feature of this crate that builds it.
    feature: &'static str,
    /// The opener, when the feature is on.
    open: Option<OpenFn>,
}

/// Every scheme this crate knows, whether or not its feature is on.
const SCHEMES: &[Scheme] = &[
    Scheme {
        prefixes: &["file://"],
        feature: "file",
        open: FILE,
    },
    Scheme {
        prefixes: &["sqlite://"],
        feature: "sqlite",
        open: SQLITE,
    },
    Scheme {
        prefixes: &["postgres://", "postgresql://"],
        feature: "postgres",
        open: POSTGRES,
    },
    Scheme {
        prefixes: &["git+file://"],
        feature: "git",
        open: GIT,
    },
    Scheme {
        prefixes: &["s3://"],
        feature: "s3",
        open: S3,
    },
];

#[cfg(feature = "file")]
const FILE: Option<OpenFn> = Some(|url| {
    Box::pin(async move {
        let path = local_path(url, "file://")?;
        Ok(Box::new(crate::file::FileSnapshotStore::open(path)?) as Box<dyn PrunableStore>)
    })
});
#[cfg(not(feature = "file"))]
const FILE: Option<OpenFn> = None;

#[cfg(feature = "sqlite")]
const SQLITE: Option<OpenFn> = Some(|url| {
    Box::pin(async move {
        let path = local_path(url, "sqlite://")?;
        let store = crate::database::DatabaseSnapshotStore::open_sqlite(path).await?;
        Ok(Box::new(store) as Box<dyn PrunableStore>)
    })
});
#[cfg(not(feature = "sqlite"))]
const SQLITE: Option<OpenFn> = None;

#[cfg(feature = "postgres")]
const POSTGRES: Option<OpenFn> = Some(|url| {
    Box::pin(async move {
        let store = crate::database::DatabaseSnapshotStore::connect_postgres(url).await?;
        Ok(Box::new(store) as Box<dyn PrunableStore>)
    })
});
#[cfg(not(feature = "postgres"))]
const POSTGRES: Option<OpenFn> = None;

#[cfg(feature = "git")]
const GIT: Option<OpenFn> = Some(|url| {
    Box::pin(async move {
        let path = local_path(url, "git+file://")?;
        let store = crate::git::GitSnapshotStore::open(path).await?;
        Ok(Box::new(store) as Box<dyn PrunableStore>)
    })
});
#[cfg(not(feature = "git"))]
const GIT: Option<OpenFn> = None;

#[cfg(feature = "s3")]
const S3: Option<OpenFn> = Some(|url| {
    Box::pin(async move {
        let store = crate::s3::S3SnapshotStore::from_url(url)?;
        Ok(Box::new(store) as Box<dyn PrunableStore>)
    })
});
#[cfg(not(feature = "s3"))]
const S3: Option<OpenFn> = None;

/// Opens the snapshot store a URL names.
///
/// | URL | store | feature |
/// | --- | --- | --- |
/// | `file:///var/lib/snapshots`, or a plain path | `FileSnapshotStore` | `file` (default) |
/// | `sqlite:///var/lib/snapshots.db` (`sqlite://relative.db`) | `DatabaseSnapshotStore` in its own SQLite file | `sqlite` |
/// | `postgres://user@host/db` (`postgresql://`) | `DatabaseSnapshotStore` in that database | `postgres` |
/// | `git+file:///var/lib/snapshots` | `GitSnapshotStore`, one commit per save | `git` |
/// | `s3://bucket/prefix` | `S3SnapshotStore`; endpoint and credentials from `AWS_*` variables | `s3` |
///
/// Paths may be percent-encoded (`file:///my%20dir`).
///
/// # Errors
/// [`Error::Config`] for an unknown scheme or one whose feature is not enabled; otherwise
/// what opening the store returns.
pub async fn open_store(url: &str) -> Result<Box<dyn SnapshotStore>> {
    Ok(open_prunable_store(url).await?)
}

/// As [`open_store`], keeping access to [`PrunableStore::prune`].
///
/// # Errors
/// As [`open_store`].
pub async fn open_prunable_store(url: &str) -> Result<Box<dyn PrunableStore>> {
    let url = url.trim();
    if url.is_empty() {
        return Err(Error::config(
            "the snapshot store URL is empty; give a directory or a URL such as file:///var/lib/schema-sync",
        ));
    }
    let scheme = if url.contains("://") {
        SCHEMES
            .iter()
            .find(|s| s.prefixes.iter().any(|p| starts_with_ignore_case(url, p)))
    } else {
        // A plain path is a file store.
        SCHEMES.iter().find(|s| s.feature == "file")
    };
    let Some(scheme) = scheme else {
        return Err(Error::config(format!(
            "unsupported snapshot store URL {:?}; use a directory (file://DIR), sqlite://FILE, postgres://USER@HOST/DB, git+file:///DIR or s3://BUCKET/PREFIX",
            redact_url(url)
        )));
    };
    match scheme.open {
        Some(open) if url.contains("://") => open(url).await,
        Some(open) => open(&format!("file://{url}")).await,
        None => Err(Error::config(format!(
            "snapshot store {:?} needs the `{feature}` feature of schema-sync-snapshots, which this build does not have; rebuild with `--features {feature}`",
            redact_url(url),
            feature = scheme.feature
        ))),
    }
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The local path of a `file://`-like URL: `scheme:///abs` is `/abs`, `scheme://rel` is
/// `rel`, `scheme://localhost/abs` is `/abs`; percent-escapes are decoded.
#[cfg_attr(
    not(any(feature = "file", feature = "sqlite", feature = "git")),
    allow(dead_code)
)]
fn local_path(url: &str, prefix: &str) -> Result<String> {
    let rest = url.get(prefix.len()..).unwrap_or_default();
    // `localhost` is the only host a local path may name; keep the slash after it.
    let rest = if rest.starts_with("localhost/") {
        &rest["localhost".len()..]
    } else {
        rest
    };
    if rest.is_empty() {
        return Err(Error::config(format!(
            "snapshot store URL {url:?} has no path; write {prefix}/absolute/path or {prefix}relative/path"
        )));
    }
    percent_decode(rest).ok_or_else(|| {
        Error::config(format!(
            "snapshot store URL {url:?} has a broken percent-escape; write `%20` for a space and `%25` for `%`"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_from_urls() {
        let path = |url: &str, prefix: &str| local_path(url, prefix).ok();
        assert_eq!(path("file:///tmp/a", "file://").as_deref(), Some("/tmp/a"));
        assert_eq!(path("file://rel/a", "file://").as_deref(), Some("rel/a"));
        assert_eq!(
            path("file://localhost/tmp/a", "file://").as_deref(),
            Some("/tmp/a")
        );
        assert_eq!(
            path("git+file:///my%20dir", "git+file://").as_deref(),
            Some("/my dir")
        );
        assert_eq!(path("sqlite://", "sqlite://"), None);
        assert_eq!(path("file:///a%zz", "file://"), None);
    }

    #[tokio::test]
    async fn unknown_schemes_and_missing_features_are_config_errors() {
        let err = open_store("ftp://host/x").await.err();
        assert!(
            matches!(&err, Some(Error::Config { message }) if message.contains("unsupported") && message.contains("s3://")),
            "{err:?}"
        );
        #[cfg(not(feature = "s3"))]
        {
            let err = open_store("s3://bucket/prefix").await.err();
            assert!(
                matches!(&err, Some(Error::Config { message }) if message.contains("`s3` feature")),
                "{err:?}"
            );
        }
        let err = open_store("postgres://u:secret@127.0.0.1:1/db").await.err();
        assert!(!format!("{err:?}").contains("secret"), "{err:?}");
    }
}
