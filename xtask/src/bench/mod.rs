//! `cargo xtask bench`: a fleet on the real servers, timed and checked.
//!
//! For each selected database: build a fleet of `--tenants` tenants from a generated
//! template of `--tables` tables, `--drift` percent of them drifted ([`fleet`], [`schema`],
//! [`drift`], [`render`]); on PostgreSQL and MySQL, time the catalog floor ([`floor`])
//! that `validate` is judged against; then time the release CLI ([`cli`]) through cold
//! `validate` (empty snapshot cache), warm `validate`, `sync --allow-destructive`,
//! `validate --no-cache` and warm `validate` again, checking every report ([`check`]);
//! then drop the fleet. The CLI's snapshot cache lives in the bench's private directory,
//! so a run starts cold and leaves the user's cache alone. Results are printed as a
//! table, or as JSON with `--json` ([`report`]), with tenants per second and milliseconds
//! per tenant per phase and the CLI's peak memory.
//!
//! The bench asserts correctness, never a time: a slow run passes, a wrong one fails.

mod check;
pub(crate) mod cli;
pub(crate) mod drift;
pub(crate) mod fleet;
mod floor;
pub(crate) mod render;
mod report;
pub(crate) mod schema;
mod stall;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use self::check::Expectation;
use self::cli::Cli;
use self::fleet::{Fleet, TENANT_GLOB};
use self::render::Dialect;
use self::report::{DatabaseResult, Phase, Report};
use crate::cmd;
use crate::servers::{self, Database, Server};

/// The first `validate`, on an empty snapshot cache.
const VALIDATE_COLD: &str = "validate (cold)";
/// The second `validate`, answered from the cache.
const VALIDATE_WARM: &str = "validate (warm)";
/// The full read (`--no-cache`) after the sync.
const VALIDATE_AFTER_SYNC: &str = "validate (after sync)";

/// Seed used unless `--seed` is given, so runs compare across commits.
const DEFAULT_SEED: u64 = 20_240_601;

/// Flags of `cargo xtask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Tenants per database.
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    /// Tables in the template.
    #[arg(long, default_value_t = 30)]
    tables: usize,
    /// Percentage of tenants drifted from the template.
    #[arg(long, value_name = "PCT", default_value_t = 10.0)]
    drift: f64,
    /// Databases to bench, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    db: Vec<Database>,
    /// Seed of the template and the drift.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Passed to the CLI as `--concurrency` (default: the CLI's own).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Print the results as JSON on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
    /// Keep the fleet afterwards for inspection (it is dropped at the next run's start).
    #[arg(long)]
    keep: bool,
    /// Reuse the PostgreSQL fleet an earlier `--keep` or `--reuse` run left, when it was
    /// built from the same flags: only its drifted tenants are built again. Keeps the
    /// fleet afterwards. For iterating on large fleets, whose creation dominates a run.
    #[arg(long)]
    reuse: bool,
    /// Only build and drop the fleets, timing their creation; the CLI is not run.
    #[arg(long)]
    create_only: bool,
    /// Where the CLI takes the desired schema from: the template's SQL file, or the
    /// template namespace as a reference tenant (`--target tenant:bench_template`).
    #[arg(long, value_enum, default_value_t = TargetFrom::Sql)]
    target_from: TargetFrom,
}

/// The kinds of `--target` the bench can time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetFrom {
    /// The template DDL as a `.sql` file, applied by the CLI in a scratch namespace.
    Sql,
    /// The `bench_template` namespace, a reference tenant.
    Template,
}

/// Runs the bench.
///
/// # Errors
/// When a server is unreachable, the CLI cannot be built, a fleet cannot be created, or
/// any correctness check fails.
pub fn run(args: &BenchArgs) -> Result<()> {
    if args.tenants == 0 || args.tenants > 99_999 {
        bail!("--tenants must be between 1 and 99999");
    }
    if args.tables == 0 || args.tables > 99 {
        bail!("--tables must be between 1 and 99");
    }
    if !(0.0..=100.0).contains(&args.drift) {
        bail!("--drift must be a percentage between 0 and 100");
    }
    let databases = if args.db.is_empty() {
        Database::ALL.to_vec()
    } else {
        Database::ALL
            .into_iter()
            .filter(|d| args.db.contains(d))
            .collect()
    };
    let mut found = Vec::new();
    for database in databases {
        match servers::find(database) {
            Ok(server) => found.push(server),
            Err(attempts) => {
                let tried: Vec<String> = attempts.iter().map(|a| format!("  tried {a}")).collect();
                bail!(
                    "{database}: no server reachable\n{}\n  {} (or leave it out with --db)",
                    tried.join("\n"),
                    database.start_hint()
                );
            }
        }
    }

    let fleet = Fleet::new(args.tenants, args.tables, args.drift, args.seed);
    let cli = if args.create_only {
        None
    } else {
        Some(Cli::build()?)
    };
    let workdir = workdir()?;
    let mut report = Report {
        tenants: args.tenants,
        tables: args.tables,
        objects: fleet.template.object_count(),
        drift_percent: args.drift,
        seed: args.seed,
        commit: commit(),
        drift_kinds: fleet.kind_counts(),
        target: match args.target_from {
            TargetFrom::Sql => "sql file",
            TargetFrom::Template => "tenant:bench_template",
        },
        databases: Vec::new(),
    };
    let mut failures = Vec::new();
    for server in &found {
        eprintln!("xtask bench: {} on {}", server.database, server.describe());
        let mut phases = Vec::new();
        let mut extras = Extras::default();
        let outcome = bench_one(
            server,
            &fleet,
            cli.as_ref(),
            &workdir,
            args,
            &mut phases,
            &mut extras,
        );
        if let Err(error) = &outcome {
            eprintln!("xtask bench: {} FAILED: {error:#}", server.database);
            failures.push(format!("{}: {error:#}", server.database));
        }
        if !phases.is_empty() {
            report.databases.push(DatabaseResult {
                database: server.database,
                server: server.describe(),
                tenants: fleet.tenants,
                drifted: fleet.drifted.len(),
                total: phases.iter().map(|p| p.elapsed).sum(),
                phases,
                floor: extras.floor,
                stalls: extras.stalls,
                failure: outcome.err().map(|e| format!("{e:#}")),
            });
        }
    }
    if !args.keep && !args.reuse {
        let _ = std::fs::remove_dir_all(&workdir);
    }

    if args.json {
        eprint!("{}", report.table());
        println!(
            "{}",
            serde_json::to_string_pretty(&report.json()).context("cannot print the report")?
        );
    } else {
        print!("{}", report.table());
    }
    if !failures.is_empty() {
        bail!("bench failed:\n{}", failures.join("\n"));
    }
    Ok(())
}

/// What a database's run measures besides its phases.
#[derive(Debug, Default)]
struct Extras {
    /// The catalog floor (PostgreSQL and MySQL).
    floor: Option<floor::Floor>,
    /// The writer's stall under sync, per strategy (PostgreSQL).
    stalls: Vec<report::Stall>,
}

/// Builds, measures and drops one database's fleet, recording each finished phase.
fn bench_one(
    server: &Server,
    fleet: &Fleet,
    cli: Option<&Cli>,
    workdir: &Path,
    args: &BenchArgs,
    phases: &mut Vec<Phase>,
    extras: &mut Extras,
) -> Result<()> {
    let database = server.database;
    let dialect = match database {
        Database::Sqlite => Dialect::Sqlite,
        Database::Postgres => Dialect::Postgres,
        Database::Mysql => Dialect::Mysql,
    };
    let target = workdir.join(format!("target-{database}.sql"));
    std::fs::write(&target, render::ddl(&fleet.template, dialect))
        .with_context(|| format!("cannot write {}", target.display()))?;

    let _lock = fleet::lock(database, server.url.as_deref())?;
    let mut started = Instant::now();
    let reused = if args.reuse {
        eprintln!("xtask bench: looking for a {database} fleet to reuse");
        fleet::reuse(database, server.url.as_deref(), fleet)?
    } else {
        None
    };
    let (built, phase) = match reused {
        Some(built) => (Ok(built), "reuse fleet"),
        None => {
            // Leftovers of an interrupted run go first, outside the timed creation.
            fleet::destroy(database, server.url.as_deref(), workdir)?;
            started = Instant::now();
            eprintln!("xtask bench: creating {} {database} tenants", fleet.tenants);
            let built = fleet::create(database, server.url.as_deref(), fleet, workdir);
            (built, "create fleet")
        }
    };
    let measured = built.and_then(|built| {
        phases.push(Phase {
            name: phase,
            elapsed: started.elapsed(),
            peak_rss_kib: None,
            changes: None,
            result: format!("{} tenants, {} drifted", fleet.tenants, fleet.drifted.len()),
        });
        if database != Database::Sqlite && cli.is_some() {
            eprintln!("xtask bench: timing the catalog floor");
            let names: Vec<String> = fleet.names().into_iter().collect();
            let measured = floor::measure(database, &built.url, &names)?;
            if let Some(fastest) = measured.fastest() {
                phases.push(Phase {
                    name: "catalog floor",
                    elapsed: fastest.elapsed,
                    peak_rss_kib: None,
                    changes: None,
                    result: format!("{} ({} rows)", fastest.strategy, fastest.rows),
                });
            }
            extras.floor = Some(measured);
        }
        let Some(cli) = cli else {
            return Ok(());
        };
        measure(&built.url, &target, fleet, cli, workdir, args, phases)?;
        if database == Database::Postgres {
            eprintln!("xtask bench: timing a writer's stall under sync, online and plain");
            extras.stalls = stall::measure(&built.url, cli, workdir)?;
        }
        Ok(())
    });
    if !args.keep && !args.reuse {
        eprintln!("xtask bench: dropping the {database} fleet");
        fleet::destroy(database, server.url.as_deref(), workdir)?;
    }
    measured
}

/// What a sync costs beyond its DDL: the mean time a drifted tenant's plan took to apply
/// (rendering and the statements, from the report); the mean time it was locked (from
/// asking for the lock to the commit) and how much of that was not applying (the cookie
/// check, verification, commit); and the sync's wall time beyond the warm `validate`
/// before it (the same inspection, served from the cache), per drifted tenant.
fn sync_overhead(
    report: &cli::Report,
    changes: usize,
    elapsed: std::time::Duration,
    phases: &[Phase],
) -> String {
    let applied: Vec<u64> = report.tenants.iter().filter_map(|t| t.apply_ms).collect();
    if applied.is_empty() || changes == 0 {
        return String::new();
    }
    let mean = |values: &[u64]| values.iter().sum::<u64>() as f64 / values.len() as f64;
    let mean_apply = mean(&applied);
    let locked: Vec<u64> = report.tenants.iter().filter_map(|t| t.locked_ms).collect();
    let under_lock = (locked.len() == applied.len()).then(|| {
        let mean_locked = mean(&locked);
        format!(
            "; locked {mean_locked:.1} ms mean, {:.1} ms of it beyond applying",
            mean_locked - mean_apply
        )
    });
    let warm = phases
        .iter()
        .find(|p| p.name == VALIDATE_WARM)
        .map(|p| p.elapsed);
    let beyond = warm.map(|warm| {
        format!(
            "; beyond the warm validate {:.1} ms per drifted tenant",
            elapsed.saturating_sub(warm).as_secs_f64() * 1000.0 / changes as f64
        )
    });
    format!(
        "; applying {mean_apply:.1} ms mean{}{}",
        under_lock.unwrap_or_default(),
        beyond.unwrap_or_default()
    )
}

/// One timed run of the CLI in [`measure`].
struct Step<'a> {
    /// The phase's name in the report.
    name: &'static str,
    /// The command and its own flags.
    command: &'static [&'static str],
    /// What the report must say.
    expectation: Expectation<'a>,
    /// The earlier phase whose per-tenant statuses and hashes this one must repeat: a
    /// warm run answers from the cache exactly what the full read answered.
    same_as: Option<&'static str>,
    /// Tenants the phase changes, for the time per changed tenant.
    changes: Option<usize>,
}

/// Times and checks, with the CLI's snapshot cache in `workdir/cache`: cold `validate`
/// (empty cache, which it fills), warm `validate`, `sync`, `validate --no-cache` (a full
/// read) and warm `validate` again.
fn measure(
    url: &str,
    target: &Path,
    fleet: &Fleet,
    cli: &Cli,
    workdir: &Path,
    args: &BenchArgs,
    phases: &mut Vec<Phase>,
) -> Result<()> {
    let tenants = fleet.names();
    let drifted = fleet.drifted_names();
    let nothing = BTreeSet::new();
    let drift_exit = if drifted.is_empty() { 0 } else { 1 };
    let target_arg = match args.target_from {
        TargetFrom::Sql => target.to_string_lossy().into_owned(),
        TargetFrom::Template => format!("tenant:{}", fleet::TEMPLATE),
    };
    // Each database starts cold: no snapshot of an earlier database's fleet.
    let cache = workdir.join("cache");
    if cache.exists() {
        std::fs::remove_dir_all(&cache)
            .with_context(|| format!("cannot empty the cache {}", cache.display()))?;
    }
    let drifted_validate = || Expectation {
        command: "validate",
        tenants: &tenants,
        changed: &drifted,
        changed_status: "drifted",
        exit_code: drift_exit,
    };
    let in_sync_validate = || Expectation {
        command: "validate after sync",
        tenants: &tenants,
        changed: &nothing,
        changed_status: "drifted",
        exit_code: 0,
    };
    let steps = [
        Step {
            name: VALIDATE_COLD,
            command: &["validate"],
            expectation: drifted_validate(),
            same_as: None,
            changes: None,
        },
        Step {
            name: VALIDATE_WARM,
            command: &["validate"],
            expectation: drifted_validate(),
            same_as: Some(VALIDATE_COLD),
            changes: None,
        },
        Step {
            name: "sync",
            command: &["sync", "--allow-destructive"],
            expectation: Expectation {
                command: "sync --allow-destructive",
                tenants: &tenants,
                changed: &drifted,
                changed_status: "synced",
                exit_code: 0,
            },
            same_as: None,
            changes: Some(drifted.len()),
        },
        Step {
            name: VALIDATE_AFTER_SYNC,
            command: &["validate", "--no-cache"],
            expectation: in_sync_validate(),
            same_as: None,
            changes: None,
        },
        Step {
            name: "validate (warm, after sync)",
            command: &["validate"],
            expectation: in_sync_validate(),
            same_as: Some(VALIDATE_AFTER_SYNC),
            changes: None,
        },
    ];
    let mut reports: Vec<(&'static str, cli::Report)> = Vec::new();
    for step in steps {
        let mut cli_args: Vec<String> = step.command.iter().map(|s| s.to_string()).collect();
        cli_args.extend(
            [
                "--url",
                url,
                "--target",
                &target_arg,
                "--all-tenants",
                "--tenant-pattern",
                TENANT_GLOB,
                "--format",
                "json",
            ]
            .map(String::from),
        );
        cli_args.extend([
            "--cache-dir".to_string(),
            cache.to_string_lossy().into_owned(),
        ]);
        if let Some(concurrency) = args.concurrency {
            cli_args.extend(["--concurrency".to_string(), concurrency.to_string()]);
        }
        let run = cli.run(&cli_args, workdir)?;
        let expectation = &step.expectation;
        let checked = check::check(&run, expectation).and_then(|report| {
            let reference = step
                .same_as
                .and_then(|name| reports.iter().find(|(n, _)| *n == name));
            if let Some((name, reference)) = reference {
                check::same_tenants(&report, reference, expectation.command, name)?;
            }
            Ok(report)
        });
        let mut result = match &checked {
            Ok(_) if expectation.changed.is_empty() => "all in sync, hashes = target".to_string(),
            Ok(_) => format!(
                "{} {} = the drifted ones",
                expectation.changed.len(),
                expectation.changed_status
            ),
            Err(_) => "WRONG".to_string(),
        };
        if checked.is_ok()
            && let Some(reference) = step.same_as
        {
            result.push_str(&format!(", as {reference}"));
        }
        if let (Ok(report), Some(changes)) = (&checked, step.changes) {
            result.push_str(&sync_overhead(report, changes, run.elapsed, phases));
        }
        phases.push(Phase {
            name: step.name,
            elapsed: run.elapsed,
            peak_rss_kib: run.peak_rss_kib,
            changes: step.changes,
            result,
        });
        reports.push((step.name, checked?));
    }
    Ok(())
}

/// A private scratch directory; leftovers of dead earlier runs are removed.
fn workdir() -> Result<PathBuf> {
    let temp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&temp) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name.strip_prefix("schema-sync-bench-") else {
                continue;
            };
            if !Path::new("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = temp.join(format!("schema-sync-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// `git describe --always --dirty` of the workspace, when git answers.
fn commit() -> Option<String> {
    let mut git = std::process::Command::new("git");
    git.args(["describe", "--always", "--dirty"])
        .current_dir(cmd::workspace_root());
    cmd::output(&mut git).ok().filter(|c| !c.is_empty())
}
