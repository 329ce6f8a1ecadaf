//! Settings: flags over environment over `schema-sync.toml` over defaults, validated
//! once before any work starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::cli::{Flags, Format, GroupBy, Strategy, parse_duration};
use crate::shard::{Shard, server_name};
use crate::waves::{Canary, WaveSpec};

/// The default config file, read from the working directory when present.
pub const DEFAULT_CONFIG: &str = "schema-sync.toml";

/// The keys of `schema-sync.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Database URL.
    pub url: Option<String>,
    /// A fleet over several servers, in place of `url`.
    #[serde(default)]
    pub databases: Vec<DatabaseEntry>,
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
    /// How plans change live tenants, like `--strategy`.
    pub strategy: Option<Strategy>,
    /// Let the online strategy block writes where the server cannot change a table
    /// online, like `sync --allow-copy`.
    #[serde(default)]
    pub allow_copy: bool,
    /// Accept a target with no objects.
    #[serde(default)]
    pub allow_empty_target: bool,
    /// Lock timeout, a duration with a unit (`"5s"`), like `--lock-timeout`.
    pub lock_timeout: Option<String>,
    /// Statement timeout, a duration with a unit (`"1m"`), like `--statement-timeout`.
    pub statement_timeout: Option<String>,
    /// The old name of `lock_timeout`, in milliseconds: refused with the new key to write.
    pub lock_timeout_ms: Option<toml::Value>,
    /// The old name of `statement_timeout`, in milliseconds: refused likewise.
    pub statement_timeout_ms: Option<toml::Value>,
    /// Snapshot store URL.
    pub snapshot_store: Option<String>,
    /// Save snapshots after sync, validate and audit.
    #[serde(default)]
    pub save_snapshots: bool,
    /// Count a different column order as drift.
    #[serde(default)]
    pub strict_column_order: bool,
    /// Compare and sync privileges on tenant objects.
    #[serde(default)]
    pub include_privileges: bool,
    /// Namespaces every tenant may reference (a shared lookup schema, an extensions
    /// schema); the cross-tenant guard never refuses SQL that names them.
    #[serde(default)]
    pub shared_namespaces: Vec<String>,
    /// Where the snapshot cache lives, like `--cache-dir`.
    pub cache_dir: Option<PathBuf>,
    /// How text reports group tenants, like `--group-by`.
    pub group_by: Option<GroupBy>,
    /// The run ledger, like `--ledger`: a SQLite file path or a postgres:// URL.
    pub ledger: Option<String>,
    /// Record validate runs in the ledger too, like `validate --record`.
    #[serde(default)]
    pub record_validate: bool,
}

/// One server of a fleet over several: a `[[databases]]` entry of `schema-sync.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseEntry {
    /// The server's name: it qualifies its tenants' ids (`eu-1/acme`) and its shards.
    #[serde(default)]
    pub name: String,
    /// The server's URL.
    #[serde(default)]
    pub url: String,
    /// At most this many of its tenants in flight at once.
    pub concurrency: Option<usize>,
    /// Only its tenants whose id matches this glob.
    pub tenant_pattern: Option<String>,
    /// Leave out its tenants whose id matches one of these globs.
    #[serde(default)]
    pub exclude: Vec<String>,
}

/// The longest server name, in characters.
const MAX_SERVER_NAME: usize = 64;

/// Checks the `[[databases]]` entries once, before any work: unique names of safe
/// characters, a URL each, limits of at least 1, one kind of database.
fn check_databases(databases: &[DatabaseEntry]) -> Result<()> {
    let mut kinds: Vec<(&str, &str)> = Vec::new();
    for (i, entry) in databases.iter().enumerate() {
        let at = format!("[[databases]] entry {} of {DEFAULT_CONFIG}", i + 1);
        let name = &entry.name;
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if name.is_empty() {
            bail!(
                "{at} has no `name`: give each server a name such as \"eu-1\" (it qualifies tenant ids, eu-1/acme)"
            );
        }
        if name.chars().count() > MAX_SERVER_NAME
            || !name.chars().all(safe)
            || !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        {
            bail!(
                "{at}: server name {name:?} must be 1 to {MAX_SERVER_NAME} letters, digits, `.`, `_` or `-`, starting with a letter or digit (it is part of tenant ids such as {name}/acme)"
            );
        }
        if databases[..i].iter().any(|other| &other.name == name) {
            bail!(
                "{at}: two [[databases]] entries are named {name:?}: give each server its own name"
            );
        }
        if entry.url.trim().is_empty() {
            bail!("{at} ({name:?}) has no `url`: add `url = \"postgres://user@host/db\"`");
        }
        if entry.concurrency == Some(0) {
            bail!(
                "{at} ({name:?}): `concurrency = 0` would never work on its tenants: give at least 1, or leave the key out for no limit of its own"
            );
        }
        kinds.push((name, crate::registry::kind(&entry.url)));
    }
    if let Some((first, kind)) = kinds.first()
        && let Some((other, other_kind)) = kinds.iter().find(|(_, k)| k != kind)
    {
        bail!(
            "[[databases]] mixes kinds of database: {first:?} is {kind} and {other:?} is {other_kind}; one run compares tenants with one target on one kind of database, so run each kind with its own config file"
        );
    }
    Ok(())
}

/// Which recorded run a sync resumes, and which of its tenants it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The run id.
    pub run: String,
    /// `--retry-failed`: only failed and refused tenants; `--resume` also takes those
    /// skipped, in flight or never started.
    pub failed_only: bool,
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
    /// `--shard`: only this part of the selected tenants.
    pub shard: Option<Sharding>,
}

/// One part of the selected tenants (`--shard i/n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharding {
    /// Which part.
    pub shard: Shard,
    /// The single server's name in the shard hash ([`server_name`] of its URL); `None`
    /// for named `[[databases]]`, whose tenant ids carry their server's name.
    pub server: Option<String>,
}

impl Sharding {
    /// Whether `tenant` (an id as reports and the ledger write it: `eu-1/acme` with
    /// named servers) is in this part.
    pub fn keeps(&self, tenant: &str) -> bool {
        match &self.server {
            Some(server) => self.shard.keeps(server, tenant),
            None => {
                let (server, id) = tenant.split_once('/').unwrap_or(("", tenant));
                self.shard.keeps(server, id)
            }
        }
    }

    /// Whether tenant `id` of server `server` (its shard name) is in this part.
    pub fn keeps_on(&self, server: &str, id: &str) -> bool {
        self.shard.keeps(server, id)
    }
}

/// Validated settings for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database URL, when given.
    pub url: Option<String>,
    /// The servers of a fleet over several (`[[databases]]`), checked; empty with `url`.
    pub databases: Vec<DatabaseEntry>,
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
    /// Allow destructive steps (`sync --allow-destructive` or the config key).
    pub allow_destructive: bool,
    /// How plans change live tenants (`--strategy` or the config key).
    pub strategy: Strategy,
    /// The online strategy may copy a table (blocking writes) where the server cannot
    /// change it online (`sync --allow-copy` or the config key).
    pub allow_copy: bool,
    /// Accept a target with no objects (the flag of the target commands or the config key).
    pub allow_empty_target: bool,
    /// Lock timeout.
    pub lock_timeout: Duration,
    /// Statement timeout.
    pub statement_timeout: Option<Duration>,
    /// Snapshot store URL.
    pub snapshot_store: Option<String>,
    /// Save snapshots after sync, validate and audit (the flag or the config key).
    pub save_snapshots: bool,
    /// Count a different column order as drift.
    pub strict_column_order: bool,
    /// Compare and sync privileges on tenant objects.
    pub include_privileges: bool,
    /// Namespaces tenants share, which the cross-tenant guard allows.
    pub shared_namespaces: Vec<String>,
    /// `--no-cache`: read every tenant in full.
    pub no_cache: bool,
    /// Where the snapshot cache lives, when set.
    pub cache_dir: Option<PathBuf>,
    /// `--group-by` or the config key; `None` picks by fleet size.
    pub group_by: Option<GroupBy>,
    /// The run ledger (`--ledger`, `SCHEMA_SYNC_LEDGER` or the config key), else the
    /// default file.
    pub ledger: String,
    /// `--no-ledger`: record nothing.
    pub no_ledger: bool,
    /// Record validate runs (`validate --record` or `record_validate`).
    pub record_validate: bool,
    /// `sync --resume` or `--retry-failed`.
    pub resume: Option<Resume>,
    /// `--run-id`: the run's id, shared by the shards of one run.
    pub run_id: Option<String>,
    /// `sync --canary` or `--canary-tenants`.
    pub canary: Option<Canary>,
    /// `sync --waves`.
    pub waves: Option<WaveSpec>,
    /// Quiet output.
    pub quiet: bool,
    /// Verbose output.
    pub verbose: bool,
}

/// Reads the config file: `explicit` must exist; otherwise `schema-sync.toml` is read when present.
///
/// # Errors
/// An unreadable file, invalid TOML or an unknown key.
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

/// Refuses a millisecond key of older versions, naming the key and value to write instead.
fn refuse_old_key(old: &str, new: &str, value: Option<&toml::Value>) -> Result<()> {
    let Some(value) = value else {
        return Ok(());
    };
    let suggestion = match value.as_integer() {
        Some(ms) if ms >= 0 => humantime::format_duration(Duration::from_millis(ms.unsigned_abs()))
            .to_string()
            .replace(' ', ""),
        _ => "10s".to_string(),
    };
    bail!(
        "config key `{old}` was renamed: write `{new} = \"{suggestion}\"` in {DEFAULT_CONFIG} (a duration with a unit, like the --{} flag)",
        new.replace('_', "-")
    )
}

/// Parses a duration config key.
fn duration_key(key: &str, value: Option<&str>) -> Result<Option<Duration>> {
    value
        .map(|text| parse_duration(text).map_err(|e| anyhow::anyhow!("config key `{key}`: {e}")))
        .transpose()
}

impl Settings {
    /// Merges the command's flags (and the environment, which clap reads into them) over
    /// the config file and validates the result.
    ///
    /// # Errors
    /// An invalid value, or a key of an older version, with the fix.
    pub fn resolve(flags: &Flags, file: ConfigFile) -> Result<Self> {
        refuse_old_key(
            "lock_timeout_ms",
            "lock_timeout",
            file.lock_timeout_ms.as_ref(),
        )?;
        refuse_old_key(
            "statement_timeout_ms",
            "statement_timeout",
            file.statement_timeout_ms.as_ref(),
        )?;
        let execution = &flags.execution;
        if !file.databases.is_empty() {
            if let Some(url) = flags.connection.url.as_deref().or(file.url.as_deref()) {
                bail!(
                    "{DEFAULT_CONFIG} lists [[databases]] and a single database URL is given too ({}, by --url, SCHEMA_SYNC_URL or the `url` key): use one or the other: remove `url` (and unset SCHEMA_SYNC_URL, leave out --url) to run over the [[databases]], or use a config without [[databases]]",
                    schema_sync_core::redact_url(url)
                );
            }
            check_databases(&file.databases)?;
        }
        let url = flags.connection.url.clone().or(file.url);
        let concurrency = execution.concurrency.or(file.concurrency).unwrap_or(4);
        if concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let max_failures = flags.failures.max_failures.or(file.max_failures);
        if max_failures == Some(0) {
            bail!(
                "--max-failures 0 would skip every tenant: give at least 1, or omit --max-failures (and the max_failures key of {DEFAULT_CONFIG}) for no limit"
            );
        }
        let chosen = &flags.selection;
        // The file's excludes always apply; --exclude adds to them.
        let mut exclude = file.exclude;
        exclude.extend(chosen.exclude.iter().cloned());
        // Shards split the server's tenants; its name (not the password) is hashed.
        let shard = chosen.shard.map(|shard| Sharding {
            shard,
            server: file
                .databases
                .is_empty()
                .then(|| server_name(None, url.as_deref().unwrap_or_default())),
        });
        let selection = if !chosen.tenants.is_empty()
            || chosen.all_tenants
            || chosen.tenant_pattern.is_some()
        {
            Selection {
                tenants: chosen.tenants.clone(),
                all: chosen.all_tenants,
                pattern: chosen.tenant_pattern.clone(),
                exclude,
                shard: shard.clone(),
            }
        } else {
            Selection {
                tenants: file.tenants,
                all: file.all_tenants,
                pattern: file.tenant_pattern,
                exclude,
                shard,
            }
        };
        let resuming = flags.resume.resume.is_some() || flags.resume.retry_failed.is_some();
        if resuming
            && (!chosen.tenants.is_empty()
                || chosen.all_tenants
                || chosen.tenant_pattern.is_some()
                || !chosen.exclude.is_empty())
        {
            bail!(
                "--resume and --retry-failed take the tenants of the recorded run: leave out --tenant, --all-tenants, --tenant-pattern and --exclude (--shard keeps one shard's part of them)"
            );
        }
        let lock_timeout = match execution.lock_timeout {
            Some(timeout) => timeout,
            None => duration_key("lock_timeout", file.lock_timeout.as_deref())?
                .unwrap_or(Duration::from_secs(10)),
        };
        let statement_timeout = match execution.statement_timeout {
            Some(timeout) => Some(timeout),
            None => duration_key("statement_timeout", file.statement_timeout.as_deref())?,
        };
        let global = &flags.global;
        Ok(Self {
            url,
            databases: file.databases,
            target: flags.target.target.clone().or(file.target),
            selection,
            format: global.format.or(file.format).unwrap_or(Format::Text),
            concurrency,
            max_failures,
            allow_destructive: flags.allow_destructive || file.allow_destructive,
            strategy: flags
                .strategy
                .strategy
                .or(file.strategy)
                .unwrap_or_default(),
            allow_copy: flags.allow_copy || file.allow_copy,
            allow_empty_target: flags.target.allow_empty_target || file.allow_empty_target,
            lock_timeout,
            statement_timeout,
            snapshot_store: flags.store.snapshot_store.clone().or(file.snapshot_store),
            save_snapshots: flags.save.save_snapshots || file.save_snapshots,
            strict_column_order: flags.target.strict_column_order || file.strict_column_order,
            include_privileges: flags.target.include_privileges || file.include_privileges,
            shared_namespaces: file.shared_namespaces,
            no_cache: flags.cache.no_cache,
            cache_dir: flags.cache.cache_dir.clone().or(file.cache_dir),
            group_by: flags.report.group_by.or(file.group_by),
            ledger: flags
                .ledger
                .ledger
                .clone()
                .or(file.ledger)
                .unwrap_or_else(|| schema_sync_ledger::DEFAULT_LEDGER_PATH.to_string()),
            no_ledger: flags.record.no_ledger,
            record_validate: flags.record_validate || file.record_validate,
            resume: match (&flags.resume.resume, &flags.resume.retry_failed) {
                (Some(run), _) => Some(Resume {
                    run: run.clone(),
                    failed_only: false,
                }),
                (None, Some(run)) => Some(Resume {
                    run: run.clone(),
                    failed_only: true,
                }),
                (None, None) => None,
            },
            run_id: flags.record.run_id.clone(),
            canary: match (&flags.rollout.canary, &flags.rollout.canary_tenants) {
                (Some(n), _) => Some(Canary::First(*n)),
                (None, Some(glob)) => Some(Canary::Matching(glob.clone())),
                (None, None) => None,
            },
            waves: flags.rollout.waves.clone(),
            quiet: global.quiet,
            verbose: global.verbose,
        })
    }

    /// The database URL, or an error saying how to give one.
    ///
    /// # Errors
    /// When no flag, environment variable or config key gives one.
    pub fn require_url(&self) -> Result<&str> {
        match &self.url {
            Some(url) => Ok(url),
            None => bail!(
                "no database URL: pass --url, set SCHEMA_SYNC_URL, or add `url = \"...\"` (or [[databases]] entries) to {DEFAULT_CONFIG}"
            ),
        }
    }

    /// The target, or an error saying how to give one.
    ///
    /// # Errors
    /// When neither `--target` nor the config file names one.
    pub fn require_target(&self) -> Result<&str> {
        self.target
            .as_deref()
            .context("no target schema: pass --target schema.sql (or a directory, tenant:NAME, or a snapshot .json), or add `target = \"...\"` to schema-sync.toml")
    }
}
