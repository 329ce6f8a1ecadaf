//! Settings: flags over environment over `schema-sync.toml` over defaults, validated
//! once before any work starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::{Format, GlobalOptions};

/// The default config file, read from the working directory when present.
pub const DEFAULT_CONFIG: &str = "schema-sync.toml";

/// The keys of `schema-sync.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Database URL.
    pub url: Option<String>,
    /// Desired schema.
    pub target: Option<String>,
    /// Tenants to work on.
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Work on every tenant.
    #[serde(default)]
    pub all_tenants: bool,
    /// Glob of tenants to work on.
    pub tenant_pattern: Option<String>,
    /// Globs of tenants to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Output format.
    pub format: Option<Format>,
    /// Tenants worked on at once.
    pub concurrency: Option<usize>,
    /// Failure limit.
    pub max_failures: Option<usize>,
    /// Allow destructive steps.
    #[serde(default)]
    pub allow_destructive: bool,
    /// Accept a target with no objects.
    #[serde(default)]
    pub allow_empty_target: bool,
    /// Lock timeout in milliseconds.
    pub lock_timeout_ms: Option<u64>,
    /// Statement timeout in milliseconds.
    pub statement_timeout_ms: Option<u64>,
    /// Snapshot store URL.
    pub snapshot_store: Option<String>,
    /// Save snapshots after sync, validate and audit.
    #[serde(default)]
    pub save_snapshots: bool,
    /// Count a different column order as drift.
    #[serde(default)]
    pub strict_column_order: bool,
    /// Namespaces every tenant may reference (a shared lookup schema, an extensions
    /// schema); the cross-tenant guard never refuses SQL that names them.
    #[serde(default)]
    pub shared_namespaces: Vec<String>,
}

/// How tenants are selected.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Explicit ids.
    pub tenants: Vec<String>,
    /// Every tenant.
    pub all: bool,
    /// Ids matching this glob.
    pub pattern: Option<String>,
    /// Globs to leave out.
    pub exclude: Vec<String>,
}

/// Validated settings for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database URL, when given.
    pub url: Option<String>,
    /// Desired schema, when the command needs one.
    pub target: Option<String>,
    /// Tenant selection.
    pub selection: Selection,
    /// Output format.
    pub format: Format,
    /// Tenants at once.
    pub concurrency: usize,
    /// Failure limit.
    pub max_failures: Option<usize>,
    /// Allow destructive steps (config; the `sync` flag can also set it).
    pub allow_destructive: bool,
    /// Accept a target with no objects (config; the flag of the target commands can also
    /// set it).
    pub allow_empty_target: bool,
    /// Lock timeout.
    pub lock_timeout: Duration,
    /// Statement timeout.
    pub statement_timeout: Option<Duration>,
    /// Snapshot store URL.
    pub snapshot_store: Option<String>,
    /// Save snapshots after sync, validate and audit (config; the flags can also set it).
    pub save_snapshots: bool,
    /// Count a different column order as drift.
    pub strict_column_order: bool,
    /// Namespaces tenants share, which the cross-tenant guard allows.
    pub shared_namespaces: Vec<String>,
    /// Quiet output.
    pub quiet: bool,
    /// Verbose output.
    pub verbose: bool,
}

/// Reads the config file: `explicit` must exist; otherwise `schema-sync.toml` is read when present.
pub fn load_config_file(explicit: Option<&Path>) -> Result<ConfigFile> {
    let path: PathBuf = match explicit {
        Some(path) => path.to_path_buf(),
        None if Path::new(DEFAULT_CONFIG).is_file() => PathBuf::from(DEFAULT_CONFIG),
        None => return Ok(ConfigFile::default()),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| {
        format!(
            "config file {} is not valid: fix the key or value named above",
            path.display()
        )
    })
}

impl Settings {
    /// Merges flags over the config file and validates the result.
    pub fn resolve(flags: &GlobalOptions, file: ConfigFile) -> Result<Self> {
        let url = flags.url.clone().or(file.url);
        let concurrency = flags.concurrency.or(file.concurrency).unwrap_or(4);
        if concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let max_failures = flags.max_failures.or(file.max_failures);
        if max_failures == Some(0) {
            bail!(
                "--max-failures 0 would skip every tenant: give at least 1, or omit --max-failures (and the max_failures key of {DEFAULT_CONFIG}) for no limit"
            );
        }
        let selection =
            if !flags.tenants.is_empty() || flags.all_tenants || flags.tenant_pattern.is_some() {
                Selection {
                    tenants: flags.tenants.clone(),
                    all: flags.all_tenants,
                    pattern: flags.tenant_pattern.clone(),
                    exclude: flags.exclude.clone(),
                }
            } else {
                let mut exclude = file.exclude;
                exclude.extend(flags.exclude.iter().cloned());
                Selection {
                    tenants: file.tenants,
                    all: file.all_tenants,
                    pattern: file.tenant_pattern,
                    exclude,
                }
            };
        Ok(Self {
            url,
            target: flags.target.clone().or(file.target),
            selection,
            format: flags.format.or(file.format).unwrap_or(Format::Text),
            concurrency,
            max_failures,
            allow_destructive: file.allow_destructive,
            allow_empty_target: file.allow_empty_target,
            lock_timeout: Duration::from_millis(
                flags
                    .lock_timeout
                    .or(file.lock_timeout_ms)
                    .unwrap_or(10_000),
            ),
            statement_timeout: flags
                .statement_timeout
                .or(file.statement_timeout_ms)
                .map(Duration::from_millis),
            snapshot_store: flags.snapshot_store.clone().or(file.snapshot_store),
            save_snapshots: file.save_snapshots,
            strict_column_order: flags.strict_column_order || file.strict_column_order,
            shared_namespaces: file.shared_namespaces,
            quiet: flags.quiet,
            verbose: flags.verbose,
        })
    }

    /// The database URL, or an error saying how to give one.
    pub fn require_url(&self) -> Result<&str> {
        match &self.url {
            Some(url) => Ok(url),
            None => bail!(
                "no database URL: pass --url, set SCHEMA_SYNC_URL, or add `url = \"...\"` to {DEFAULT_CONFIG}"
            ),
        }
    }

    /// The target, or an error saying how to give one.
    pub fn require_target(&self) -> Result<&str> {
        self.target
            .as_deref()
            .context("no target schema: pass --target schema.sql (or a directory, tenant:NAME, or a snapshot .json), or add `target = \"...\"` to schema-sync.toml")
    }
}
