//! Command-line arguments, parsed once by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, documented in `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success: every tenant in sync (validate), synced (sync), or the command completed
  1  drift found (validate), a tenant failed or was refused, or a tenant was skipped
     because --max-failures was reached (a skipped tenant was never checked)
  2  usage, configuration, target or connection error, or an empty target without
     --allow-empty-target";

/// Keep many tenants' database schemas in step with one desired schema.
#[derive(Debug, Parser)]
#[command(name = "schema-sync", version, about, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub options: GlobalOptions,
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
    /// List the tenants of the database.
    Tenants,
    /// Save, list, show, diff and tag snapshots in a snapshot store.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
}

/// The `snapshot` subcommands. A REF is `tenant@hash`, `tenant@tag`, `tenant@latest`,
/// `tenant` (latest) or a snapshot `.json` file.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Inspect the selected tenants and save their snapshots.
    Save,
    /// List a tenant's saved snapshots, oldest first.
    List {
        /// The tenant.
        tenant: String,
    },
    /// Print one snapshot as JSON.
    Show {
        /// The snapshot.
        reference: String,
    },
    /// Show what differs between two snapshots.
    Diff {
        /// The older snapshot.
        from: String,
        /// The newer snapshot.
        to: String,
    },
    /// Point a tag (`v42`, `baseline`) at a snapshot.
    Tag {
        /// The snapshot.
        reference: String,
        /// The tag.
        tag: String,
    },
}

/// Flags of every command that compares tenants with a target.
#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Accept a target with no objects at all. Without it an empty (or comments-only)
    /// target is refused, since syncing to it drops every table.
    #[arg(long)]
    pub allow_empty_target: bool,
}

/// Flags of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The target guard.
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Flags of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The target guard.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Allow steps that drop tables or columns or narrow types.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Record each tenant's snapshot in the snapshot store after the run.
    #[arg(long)]
    pub save_snapshots: bool,
}

/// Flags of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The target guard.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Record each tenant's snapshot in the snapshot store after the run.
    #[arg(long)]
    pub save_snapshots: bool,
}

/// Flags of `audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Include each tenant's full snapshot in the output.
    #[arg(long)]
    pub snapshots: bool,
    /// Record each tenant's snapshot in the snapshot store.
    #[arg(long)]
    pub save_snapshots: bool,
}

/// Flags of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The target guard.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write one `<tenant>.sql` file per drifted tenant into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
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

/// Options shared by every command. Each also has a config-file key.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Database URL: sqlite:///dir, sqlite:///file.db, postgres://..., mysql://...
    #[arg(long, global = true, env = "SCHEMA_SYNC_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// Desired schema: a .sql file, a directory of .sql files, tenant:NAME, or a snapshot .json.
    #[arg(long, global = true, value_name = "TARGET")]
    pub target: Option<String>,
    /// A tenant to work on (repeatable).
    #[arg(long = "tenant", global = true, value_name = "ID")]
    pub tenants: Vec<String>,
    /// Work on every tenant of the database.
    #[arg(long, global = true)]
    pub all_tenants: bool,
    /// Work on tenants whose id matches this glob (e.g. 'tenant_*').
    #[arg(long, global = true, value_name = "GLOB")]
    pub tenant_pattern: Option<String>,
    /// Leave out tenants whose id matches this glob (repeatable).
    #[arg(long, global = true, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Output format.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// How many tenants are worked on at once.
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Stop starting new tenants after this many failed or refused tenants (at least 1;
    /// omit the flag for no limit). Tenants not started are reported as skipped, and any
    /// skipped tenant makes the run exit 1.
    #[arg(long, global = true, value_name = "N")]
    pub max_failures: Option<usize>,
    /// Count a different column order as drift, and reorder columns where the database
    /// can (MySQL, SQLite). Without it a column-order difference is reported, not synced.
    #[arg(long, global = true)]
    pub strict_column_order: bool,
    /// How long to wait for a tenant's lock, in milliseconds.
    #[arg(long, global = true, value_name = "MS")]
    pub lock_timeout: Option<u64>,
    /// Longest a single statement may run, in milliseconds.
    #[arg(long, global = true, value_name = "MS")]
    pub statement_timeout: Option<u64>,
    /// Snapshot store: file://DIR, sqlite://FILE, postgres://..., git+file:///DIR, s3://bucket/prefix.
    #[arg(
        long,
        global = true,
        env = "SCHEMA_SYNC_SNAPSHOT_STORE",
        value_name = "URL",
        hide_env_values = true
    )]
    pub snapshot_store: Option<String>,
    /// Config file (default: schema-sync.toml in the working directory, if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print only problems (failed, refused or skipped tenants, unmodelled objects) and
    /// the summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print every tenant, including those in sync.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}
