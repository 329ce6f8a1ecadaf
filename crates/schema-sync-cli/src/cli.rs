//! Command-line arguments, parsed once by clap.
//!
//! Flags belong to the commands that use them, in the manner of cargo and sqlx-cli: each
//! group below is a small `Args` struct with its own help heading, flattened only into
//! the commands that honour it. Only `--config`, `--format`, `-q` and `-v` are global.
//! A command never accepts a flag it would ignore.
//!
//! | group | flags | commands |
//! |---|---|---|
//! | [`ConnectionArgs`] | `--url` | every command that reads tenants |
//! | [`SelectionArgs`] | `--tenant`, `--all-tenants`, `--tenant-pattern`, `--exclude`, `--shard` | the same |
//! | [`TargetArgs`] | `--target`, `--allow-empty-target`, `--strict-column-order` | `sync`, `diff`, `validate`, `plan` |
//! | [`ExecutionArgs`] | `--concurrency`, `--lock-timeout`, `--statement-timeout` | every command that inspects tenants |
//! | [`FailureArgs`] | `--max-failures` | `sync`, `diff`, `validate`, `plan`, `migrate` |
//! | [`MigrationDirArgs`] | `--dir` | `migrate`, `migrate status` |
//! | [`StoreArgs`] | `--snapshot-store` | `snapshot *`, and the commands that save or read snapshots |
//! | [`SaveArgs`] | `--save-snapshots` | `sync`, `validate`, `audit` |
//! | [`ReportArgs`] | `--group-by` | `sync`, `diff`, `validate`, `audit` |
//! | [`LedgerArgs`] | `--ledger` | `sync`, `validate`, `runs *` |
//! | [`RecordArgs`] | `--no-ledger`, `--run-id` (and `validate --record`) | `sync`, `validate` |
//! | [`ResumeArgs`] | `--resume`, `--retry-failed` | `sync` |
//! | [`RolloutArgs`] | `--canary`, `--canary-tenants`, `--waves` | `sync` |
//!
//! `tenants` lists tenants only: no inspection, so no execution flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::shard::Shard;

/// The exit codes, the same for every command: the one source of `--help`'s list and of
/// the tables in the README and the user guide ([`crate::reference`](mod@crate::reference)).
pub const EXIT_CODES: &[(u8, &str)] = &[
    (
        0,
        "success: every tenant in sync (validate), synced (sync), or the command completed",
    ),
    (
        1,
        "drift found (validate), a tenant behind the migrations directory (migrate status), \
         or a tenant failed, was refused, or was skipped because --max-failures was reached \
         (a skipped tenant was never checked), in any command",
    ),
    (
        2,
        "usage, configuration, target or connection error, an empty target without \
         --allow-empty-target, a run ledger that cannot be opened, or a snapshot store \
         or run ledger that failed after a run (the run's report is printed first)",
    ),
];

/// The exit codes as `--help` prints them.
pub fn exit_codes_help() -> String {
    let mut help = String::from("Exit codes (every command):");
    for (code, meaning) in EXIT_CODES {
        // Wrapped at 88 columns, continuation lines under the meaning.
        let mut line = format!("\n  {code} ");
        for word in meaning.split_whitespace() {
            if line.len() + 1 + word.len() > 88 {
                help.push_str(&line);
                line = String::from("\n     ");
            } else {
                line.push(' ');
            }
            line.push_str(word);
        }
        help.push_str(&line);
    }
    help
}

/// Keep many tenants' database schemas in step with one desired schema.
#[derive(Debug, Parser)]
#[command(name = "schema-sync", version, about, after_help = exit_codes_help())]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan and apply the changes that bring each tenant to the target.
    Sync(SyncArgs),
    /// Show what differs from the target; change nothing.
    Diff(DiffArgs),
    /// Check that every tenant equals the target; exit 1 on drift.
    Validate(ValidateArgs),
    /// Inspect tenants read-only: snapshot hash and objects. No target, no locks.
    Audit(AuditArgs),
    /// Print the SQL that sync would run, or write one file per tenant.
    Plan(PlanArgs),
    /// List the tenants of the database (all of them, or those the selection names).
    Tenants(TenantsArgs),
    /// Apply a directory of versioned SQL migrations (plain or sqlx layout) to each
    /// tenant; `migrate status` shows which tenants have which version.
    Migrate(MigrateArgs),
    /// Save, list, show, diff and tag snapshots in a snapshot store.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// List and show the runs recorded in the run ledger.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Print a shell completion script (e.g. `schema-sync completions bash > schema-sync.bash`).
    Completions(CompletionsArgs),
}

/// The `snapshot` subcommands. A REF is `tenant@hash`, `tenant@tag`, `tenant@latest`,
/// `tenant` (latest) or a snapshot `.json` file.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Inspect the selected tenants and save their snapshots.
    Save(SnapshotSaveArgs),
    /// List a tenant's saved snapshots, oldest first.
    List {
        /// The tenant.
        tenant: String,
        /// The snapshot store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print one snapshot as JSON.
    Show {
        /// The snapshot (a `.json` file needs no store).
        reference: String,
        /// The snapshot store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show what differs between two snapshots.
    Diff {
        /// The older snapshot.
        from: String,
        /// The newer snapshot.
        to: String,
        /// The snapshot store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Point a tag (`v42`, `baseline`) at a snapshot.
    Tag {
        /// The snapshot.
        reference: String,
        /// The tag.
        tag: String,
        /// The snapshot store.
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `migrate`: apply the pending migrations of a directory, or (`migrate status`) show
/// which tenants have which version.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MigrateArgs {
    /// `status`, or none to apply.
    #[command(subcommand)]
    pub command: Option<MigrateCommand>,
    /// The flags of applying.
    #[command(flatten)]
    pub apply: MigrateApplyArgs,
}

/// The `migrate` subcommands.
#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Show, per version, how many tenants have it applied and which lag behind; exit 1
    /// when any tenant lags, has a changed file or cannot be read.
    Status(MigrateStatusArgs),
}

/// The migrations directory.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Migrations")]
pub struct MigrationDirArgs {
    /// The directory of migration files: `<version>_<name>.up.sql` (with optional
    /// `.down.sql`, not applied) or `<version>_<name>.sql`; a first line
    /// `-- no-transaction` runs the file outside the tenant's transaction.
    #[arg(long, value_name = "DIR", required = true)]
    pub dir: Option<PathBuf>,
}

/// Flags of `migrate` (applying).
#[derive(Debug, Clone, Default, Args)]
pub struct MigrateApplyArgs {
    /// `--dir`.
    #[command(flatten)]
    pub dir: MigrationDirArgs,
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The failure limit.
    #[command(flatten)]
    pub failures: FailureArgs,
}

/// Flags of `migrate status`: it reads each tenant's history without locks, so it takes
/// no lock or statement timeout.
#[derive(Debug, Clone, Args)]
pub struct MigrateStatusArgs {
    /// `--dir`.
    #[command(flatten)]
    pub dir: MigrationDirArgs,
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// How many tenants are read at once (and the connection pool size).
    #[arg(long, value_name = "N", help_heading = "Execution")]
    pub concurrency: Option<usize>,
}

/// The `runs` subcommands: read the run ledger.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List recorded runs, newest first.
    List {
        /// How many runs to list.
        #[arg(long, value_name = "N", default_value_t = 20)]
        limit: usize,
        /// The run ledger.
        #[command(flatten)]
        ledger: LedgerArgs,
    },
    /// Show one run and its tenants; with --tenant, that tenant's statements.
    Show {
        /// The run id (as printed by `sync` and `runs list`).
        run: String,
        /// Show this tenant's statements, each with its duration.
        #[arg(long, value_name = "ID")]
        tenant: Option<String>,
        /// The run ledger.
        #[command(flatten)]
        ledger: LedgerArgs,
    },
}

/// Where runs are recorded.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Run ledger")]
pub struct LedgerArgs {
    /// The run ledger: a SQLite file path (default .schema-sync/ledger.db), a
    /// postgres://... URL (tables in the schema_sync_ledger schema) or a mysql://... URL
    /// (tables in the URL's database, else in schema_sync_ledger).
    #[arg(
        long,
        env = "SCHEMA_SYNC_LEDGER",
        value_name = "PATH|URL",
        hide_env_values = true
    )]
    pub ledger: Option<String>,
}

/// Whether a run is recorded in the ledger.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Run ledger")]
pub struct RecordArgs {
    /// Record nothing in the run ledger (and need none).
    #[arg(long, conflicts_with = "ledger")]
    pub no_ledger: bool,
    /// Record the run under this id instead of a new one (letters, digits, `.`, `_`,
    /// `-`; at most 64): the shards of one run (CI matrix jobs) given the same id share
    /// one run in a shared ledger.
    #[arg(long, value_name = "ID", conflicts_with = "no_ledger", value_parser = crate::ledger::parse_run_id)]
    pub run_id: Option<String>,
}

/// A staged sync: canary tenants first, then waves.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Canary and waves")]
pub struct RolloutArgs {
    /// Sync the first N selected tenants first (wave 0); if any of them fails or is
    /// refused, stop before any other tenant is touched.
    #[arg(long, value_name = "N", conflicts_with = "canary_tenants")]
    pub canary: Option<usize>,
    /// Like --canary, with the selected tenants whose id matches GLOB as the canary.
    #[arg(long, value_name = "GLOB")]
    pub canary_tenants: Option<String>,
    /// Sync in waves ending at these cumulative boundaries, tenant counts or percentages
    /// of the tenants (after the canary), e.g. 1,10%,100%. A wave starts only while the
    /// run has fewer failed or refused tenants than --max-failures (none, without it).
    #[arg(long, value_name = "BOUNDARIES")]
    pub waves: Option<crate::waves::WaveSpec>,
}

/// Resuming a recorded run.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Run ledger")]
pub struct ResumeArgs {
    /// Work only on the tenants of run RUN that failed, were refused or skipped, or
    /// never finished; refused when the target changed since. Replaces tenant selection
    /// (--shard keeps one shard's part).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["retry_failed", "no_ledger"])]
    pub resume: Option<String>,
    /// Work only on the tenants of run RUN that failed or were refused. Replaces tenant
    /// selection (--shard keeps one shard's part).
    #[arg(long, value_name = "RUN", conflicts_with = "no_ledger")]
    pub retry_failed: Option<String>,
}

/// Flags of every command: the only global ones.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalArgs {
    /// Config file (default: schema-sync.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Print only problems (failed, refused or skipped tenants, unmodelled objects) and
    /// the summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every tenant, including those in sync.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// Where the tenants live.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Database URL: sqlite:///dir, sqlite:///file.db, postgres://..., mysql://...
    #[arg(long, env = "SCHEMA_SYNC_URL", hide_env_values = true)]
    pub url: Option<String>,
}

/// Which tenants to work on.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Tenant selection")]
pub struct SelectionArgs {
    /// A tenant to work on (repeatable).
    #[arg(long = "tenant", value_name = "ID")]
    pub tenants: Vec<String>,
    /// Work on every tenant of the database.
    #[arg(long)]
    pub all_tenants: bool,
    /// Work on tenants whose id matches this glob (e.g. 'tenant_*').
    #[arg(long, value_name = "GLOB")]
    pub tenant_pattern: Option<String>,
    /// Leave out tenants whose id matches this glob (repeatable; added to the config
    /// file's `exclude`).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Work on the I-th of N disjoint parts of the selected tenants (e.g. 2/3), split by
    /// a stable hash of server and tenant id: N machines given 1/N to N/N cover every
    /// tenant exactly once.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

/// The desired schema and how strictly tenants are compared with it.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// Desired schema: a .sql file, a directory of .sql files, tenant:NAME, a snapshot
    /// .json, or snapshot:REF (a snapshot in the --snapshot-store).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Accept a target with no objects at all. Without it an empty (or comments-only)
    /// target is refused, since syncing to it drops every table.
    #[arg(long)]
    pub allow_empty_target: bool,
    /// Count a different column order as drift, and reorder columns where the database
    /// can (MySQL, SQLite). Without it a column-order difference is reported, not synced.
    #[arg(long)]
    pub strict_column_order: bool,
    /// Compare and sync the privileges granted on tenant objects (PostgreSQL: tables,
    /// views, sequences, functions). Without it grants are not compared; ownership
    /// never is.
    #[arg(long)]
    pub include_privileges: bool,
}

/// How tenants are inspected: how many at once and how long a wait may last.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Execution")]
pub struct ExecutionArgs {
    /// How many tenants are worked on at once (and the connection pool size).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// How long to wait for a lock on a tenant, with a unit: 500ms, 5s, 1m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Longest a single statement may run, with a unit: 500ms, 30s, 1m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub statement_timeout: Option<Duration>,
}

/// When a fleet run stops starting tenants.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Execution")]
pub struct FailureArgs {
    /// Stop starting new tenants after this many failed or refused tenants (at least 1;
    /// omit the flag for no limit). Tenants not started are reported as skipped, and any
    /// skipped tenant makes the run exit 1.
    #[arg(long, value_name = "N")]
    pub max_failures: Option<usize>,
}

/// The snapshot store.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Snapshot store")]
pub struct StoreArgs {
    /// Snapshot store: file://DIR, sqlite://FILE, postgres://..., git+file:///DIR, s3://bucket/prefix.
    #[arg(
        long,
        env = "SCHEMA_SYNC_SNAPSHOT_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub snapshot_store: Option<String>,
}

/// The snapshot cache: tenants whose change cookie did not move are not read again.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Snapshot cache")]
pub struct CacheArgs {
    /// Inspect every tenant in full, even one whose change cookie has not moved since
    /// the cache recorded it; what is read still refreshes the cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Where the snapshot cache lives (default: `cache/` inside a file:// snapshot store,
    /// else the user's cache directory, such as ~/.cache/schema-sync).
    #[arg(long, env = "SCHEMA_SYNC_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Recording snapshots after a run.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Snapshot store")]
pub struct SaveArgs {
    /// Record each tenant's snapshot in the snapshot store after the run.
    #[arg(long)]
    pub save_snapshots: bool,
}

/// How the text report lays out tenants.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct ReportArgs {
    /// One block per distinct outcome (`shape`: its changes once, how many tenants, the
    /// first few ids) or one line per tenant (`tenant`). Default: `shape` in text output
    /// when more than 50 tenants are selected, else `tenant`. JSON always has both.
    #[arg(long, value_enum, value_name = "BY")]
    pub group_by: Option<GroupBy>,
}

/// How a plan changes live tenants (`--strategy`, config key `strategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// One transaction per tenant, every step in it (the default).
    #[default]
    Plain,
    /// Keep tenants serving writes: PostgreSQL builds indexes concurrently and validates
    /// constraints after a short transaction, retrying lock timeouts; MySQL/MariaDB ask
    /// for `ALGORITHM=INSTANT`, then `INPLACE` with `LOCK=NONE`, and refuse to copy a
    /// table without `--allow-copy`. SQLite runs as plain (one writer per file).
    Online,
}

/// `--strategy`, on the commands that plan.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Execution")]
pub struct StrategyArgs {
    /// How the plan changes live tenants: `plain` (one transaction) or `online`
    /// (PostgreSQL: concurrent index builds and constraint validation after commit, with
    /// lock-timeout retries; MySQL/MariaDB: `ALGORITHM=INSTANT` or `INPLACE, LOCK=NONE`,
    /// no table copy without `sync --allow-copy`). Default: the config key `strategy`,
    /// else `plain`.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub strategy: Option<Strategy>,
}

/// Flags of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The failure limit.
    #[command(flatten)]
    pub failures: FailureArgs,
    /// Allow steps that drop tables or columns or narrow types.
    #[arg(long, help_heading = "Execution")]
    pub allow_destructive: bool,
    /// `--strategy`.
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// With `--strategy online` on MySQL/MariaDB: let a change the server cannot make
    /// without blocking writes (`ALGORITHM=COPY`) run anyway, as `plain` would run it.
    /// Without it such a change fails the tenant. Default: the config key `allow_copy`.
    #[arg(long, help_heading = "Execution")]
    pub allow_copy: bool,
    /// The snapshot store (for --save-snapshots and --target snapshot:REF).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Saving snapshots.
    #[command(flatten)]
    pub save: SaveArgs,
    /// The snapshot cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The report layout.
    #[command(flatten)]
    pub report: ReportArgs,
    /// The run ledger.
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// `--no-ledger`.
    #[command(flatten)]
    pub record: RecordArgs,
    /// `--resume`, `--retry-failed`.
    #[command(flatten)]
    pub resume: ResumeArgs,
    /// `--canary`, `--canary-tenants`, `--waves`.
    #[command(flatten)]
    pub rollout: RolloutArgs,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// `--strategy`: the plan shown is the one `sync` would run with it.
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The failure limit.
    #[command(flatten)]
    pub failures: FailureArgs,
    /// The snapshot store (for --target snapshot:REF).
    #[command(flatten)]
    pub store: StoreArgs,
    /// The snapshot cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The report layout.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The failure limit.
    #[command(flatten)]
    pub failures: FailureArgs,
    /// The snapshot store (for --save-snapshots and --target snapshot:REF).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Saving snapshots.
    #[command(flatten)]
    pub save: SaveArgs,
    /// The snapshot cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The report layout.
    #[command(flatten)]
    pub report: ReportArgs,
    /// The run ledger.
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// `--no-ledger`.
    #[command(flatten)]
    pub record: RecordArgs,
    /// Record this validate run in the run ledger (validate runs are not recorded
    /// otherwise; config key `record_validate`).
    #[arg(
        long = "record",
        help_heading = "Run ledger",
        conflicts_with = "no_ledger"
    )]
    pub record_run: bool,
}

/// Flags of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Include each tenant's full snapshot in the output.
    #[arg(long)]
    pub snapshots: bool,
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The snapshot store (for --save-snapshots).
    #[command(flatten)]
    pub store: StoreArgs,
    /// Saving snapshots.
    #[command(flatten)]
    pub save: SaveArgs,
    /// The snapshot cache.
    #[command(flatten)]
    pub cache: CacheArgs,
    /// The report layout.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Flags of `plan`. A plan shows every step, with destructive ones marked, and applies
/// nothing; `--allow-destructive` exists only with `--layout`, whose migration files
/// other tools apply without asking.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Write one `<tenant>.sql` file per drifted tenant into this directory; with
    /// `--layout`, one versioned migration per distinct drift shape and a
    /// `manifest.json`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The migration tool whose file conventions `--out` follows: sqlx's (and `plain`)
    /// `<version>_<name>.up.sql` and `.down.sql`, refinery's `V<n>__<name>.sql`, diesel's
    /// `<timestamp>_<name>/up.sql` and `down.sql`.
    #[arg(long, value_enum, value_name = "LAYOUT", requires = "out")]
    pub layout: Option<Layout>,
    /// With `--layout`: write migrations whose up or down steps lose data (each file
    /// says what at its top). Without it such a shape, or its down migration, is refused.
    #[arg(long, requires = "layout")]
    pub allow_destructive: bool,
    /// Count, read-only, the rows each step would fail on (a new NOT NULL, unique key,
    /// check or foreign key) or lose (a dropped column or table), per tenant.
    #[arg(long, conflicts_with = "layout")]
    pub check_data: bool,
    /// `--strategy`: the plan shown is the one `sync` would run with it.
    #[command(flatten)]
    pub strategy: StrategyArgs,
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// The target.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The failure limit.
    #[command(flatten)]
    pub failures: FailureArgs,
    /// The snapshot store (for --target snapshot:REF).
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Flags of `tenants`: where, and which. Without selection flags (or config keys) it
/// lists every tenant.
#[derive(Debug, Args)]
pub struct TenantsArgs {
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// Flags of `snapshot save`.
#[derive(Debug, Args)]
pub struct SnapshotSaveArgs {
    /// Where the tenants live.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Which tenants.
    #[command(flatten)]
    pub selection: SelectionArgs,
    /// Concurrency and timeouts.
    #[command(flatten)]
    pub execution: ExecutionArgs,
    /// The snapshot store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// Flags of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print a completion script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable text, colored on a terminal.
    Text,
    /// One stable JSON document on stdout, printed when the run ends.
    Json,
    /// JSON Lines: one object per tenant as soon as it finishes, then one summary object.
    Jsonl,
}

/// The file conventions of `plan --out DIR --layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Layout {
    /// `<version>_<name>.up.sql` and `.down.sql`, as sqlx names them; what `schema-sync
    /// migrate` reads.
    Plain,
    /// sqlx's reversible migrations: `<version>_<name>.up.sql` and `.down.sql`.
    Sqlx,
    /// refinery's `V<n>__<name>.sql`; down migrations in `down/`.
    Refinery,
    /// diesel's `<timestamp>_<name>/up.sql`, `down.sql` and `metadata.toml`.
    Diesel,
}

/// How text reports group tenants (`--group-by`, config key `group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// One block per distinct outcome, largest first.
    Shape,
    /// One line per tenant, as each finishes.
    Tenant,
}

/// Parses a duration with a unit (`500ms`, `5s`, `1m`, `1h 30m`).
///
/// # Errors
/// A number without a unit, or text that is no duration, with an example of the form.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "{text:?} has no unit: write {text}ms, {text}s or {text}m"
        ));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a duration like 500ms, 5s or 1m: {e}"))
}

/// Every flag a command can give, each group present only when the command has it.
/// [`crate::config::Settings::resolve`] merges them over the config file.
#[derive(Debug, Default)]
pub struct Flags {
    /// Global flags.
    pub global: GlobalArgs,
    /// `--url`.
    pub connection: ConnectionArgs,
    /// Tenant selection.
    pub selection: SelectionArgs,
    /// Target flags.
    pub target: TargetArgs,
    /// Concurrency and timeouts.
    pub execution: ExecutionArgs,
    /// `--max-failures`.
    pub failures: FailureArgs,
    /// `sync --allow-destructive`.
    pub allow_destructive: bool,
    /// `sync --allow-copy`.
    pub allow_copy: bool,
    /// `--strategy` of `sync`, `diff` and `plan`.
    pub strategy: StrategyArgs,
    /// `--snapshot-store`.
    pub store: StoreArgs,
    /// `--save-snapshots`.
    pub save: SaveArgs,
    /// `--no-cache`, `--cache-dir`.
    pub cache: CacheArgs,
    /// `--group-by`.
    pub report: ReportArgs,
    /// `--ledger`.
    pub ledger: LedgerArgs,
    /// `--no-ledger`.
    pub record: RecordArgs,
    /// `validate --record`.
    pub record_validate: bool,
    /// `sync --resume`, `--retry-failed`.
    pub resume: ResumeArgs,
    /// `sync --canary`, `--canary-tenants`, `--waves`.
    pub rollout: RolloutArgs,
}

impl Cli {
    /// The flags this invocation gave, gathered from its command's groups.
    pub fn flags(&self) -> Flags {
        let mut flags = Flags {
            global: self.global.clone(),
            ..Flags::default()
        };
        match &self.command {
            Command::Sync(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.target = args.target.clone();
                flags.execution = args.execution.clone();
                flags.failures = args.failures.clone();
                flags.allow_destructive = args.allow_destructive;
                flags.allow_copy = args.allow_copy;
                flags.strategy = args.strategy.clone();
                flags.store = args.store.clone();
                flags.save = args.save.clone();
                flags.cache = args.cache.clone();
                flags.report = args.report.clone();
                flags.ledger = args.ledger.clone();
                flags.record = args.record.clone();
                flags.resume = args.resume.clone();
                flags.rollout = args.rollout.clone();
            }
            Command::Diff(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.target = args.target.clone();
                flags.execution = args.execution.clone();
                flags.failures = args.failures.clone();
                flags.store = args.store.clone();
                flags.cache = args.cache.clone();
                flags.report = args.report.clone();
                flags.strategy = args.strategy.clone();
            }
            Command::Validate(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.target = args.target.clone();
                flags.execution = args.execution.clone();
                flags.failures = args.failures.clone();
                flags.store = args.store.clone();
                flags.save = args.save.clone();
                flags.cache = args.cache.clone();
                flags.report = args.report.clone();
                flags.ledger = args.ledger.clone();
                flags.record = args.record.clone();
                flags.record_validate = args.record_run;
            }
            Command::Audit(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.execution = args.execution.clone();
                flags.store = args.store.clone();
                flags.save = args.save.clone();
                flags.cache = args.cache.clone();
                flags.report = args.report.clone();
            }
            Command::Plan(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.target = args.target.clone();
                flags.execution = args.execution.clone();
                flags.failures = args.failures.clone();
                flags.store = args.store.clone();
                flags.strategy = args.strategy.clone();
            }
            Command::Tenants(args) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
            }
            Command::Migrate(MigrateArgs {
                command: Some(MigrateCommand::Status(args)),
                ..
            }) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.execution = ExecutionArgs {
                    concurrency: args.concurrency,
                    ..ExecutionArgs::default()
                };
            }
            Command::Migrate(MigrateArgs { apply: args, .. }) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.execution = args.execution.clone();
                flags.failures = args.failures.clone();
            }
            Command::Snapshot(SnapshotCommand::Save(args)) => {
                flags.connection = args.connection.clone();
                flags.selection = args.selection.clone();
                flags.execution = args.execution.clone();
                flags.store = args.store.clone();
            }
            Command::Snapshot(
                SnapshotCommand::List { store, .. }
                | SnapshotCommand::Show { store, .. }
                | SnapshotCommand::Diff { store, .. }
                | SnapshotCommand::Tag { store, .. },
            ) => flags.store = store.clone(),
            Command::Runs(RunsCommand::List { ledger, .. } | RunsCommand::Show { ledger, .. }) => {
                flags.ledger = ledger.clone();
            }
            Command::Completions(_) => {}
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        let error = parse_duration("5000").err().unwrap_or_default();
        assert!(error.contains("5000ms"), "{error}");
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn the_command_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
