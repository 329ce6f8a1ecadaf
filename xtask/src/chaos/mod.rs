//! `cargo xtask chaos`: the standing fault suite.
//!
//! For each database it builds a small drifted fleet with rows in every table
//! ([`fleet`], [`rows`]), runs one undisturbed sync to check the fleet and time it, and
//! then injects faults into `schema-sync sync --all-tenants --allow-destructive` runs
//! ([`faults`]):
//!
//! - `SIGKILL` of the CLI at a random moment of the sync;
//! - four syncs at once on the same fleet (every drifted tenant synced exactly once);
//! - another session holding a tenant's tables locked (PostgreSQL `ACCESS EXCLUSIVE`,
//!   MySQL metadata locks) past `--lock-timeout`, and a second one for less;
//! - in full mode on PostgreSQL, a restart of the cluster mid-run (`--no-restart` skips
//!   it). Quick mode never restarts a server.
//!
//! After each fault it checks that no tenant is half-applied, no row changed, nothing of
//! the CLI is left on the server ([`probe`]), every SQLite file is sound, and a re-run
//! converges. Then it runs the fuzz tests ([`fuzz`]) with the requested case count, and
//! prints a table of fault kind, faults injected, tenants checked and violations. Any
//! violation fails the run.
//!
//! `--quick` is the CI variant (`cargo xtask ci` runs it after the tests): small fleets,
//! three kills per database, the debug CLI `ci` already built.

mod cli;
mod faults;
mod fleet;
mod fuzz;
mod probe;
mod rows;

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use self::cli::Cli;
use self::faults::{Scene, Tally};
use self::fleet::ChaosFleet;
use crate::bench::drift::Rng;
use crate::bench::fleet::Fleet;
use crate::cmd;
use crate::servers::{self, Database};

/// Flags of `cargo xtask chaos`.
#[derive(Debug, Clone, Args)]
pub struct ChaosArgs {
    /// The CI variant: small fleets, few faults, no server restart.
    #[arg(long)]
    pub quick: bool,
    /// Databases to run on, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub db: Vec<Database>,
    /// Tenants per database (default: 16 quick, 200 full).
    #[arg(long)]
    pub tenants: Option<usize>,
    /// `SIGKILL`s per database (default: 3 quick, 20 full).
    #[arg(long)]
    pub kills: Option<usize>,
    /// Seed of the fleet and the kill moments (default: random, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Do not restart the PostgreSQL cluster (full mode restarts it once).
    #[arg(long)]
    pub no_restart: bool,
    /// Use the release build of the CLI (default: debug, which `ci` already built).
    #[arg(long)]
    pub release: bool,
    /// Cases per fuzz property (default: the tests' own small count); 1000000 is the long
    /// mode. Process-spawning properties run a thousandth of it (at least 32).
    #[arg(long)]
    pub fuzz_cases: Option<u64>,
    /// Skip the fuzz tests.
    #[arg(long)]
    pub no_fuzz: bool,
    /// Skip the fault runs (only fuzz).
    #[arg(long)]
    pub no_faults: bool,
}

impl ChaosArgs {
    /// The flags `cargo xtask ci` runs with.
    pub fn quick() -> ChaosArgs {
        ChaosArgs {
            quick: true,
            db: Vec::new(),
            tenants: None,
            kills: None,
            seed: None,
            no_restart: true,
            release: false,
            fuzz_cases: None,
            no_fuzz: false,
            no_faults: false,
        }
    }
}

/// The shape of the fleets and how many faults of each kind.
#[derive(Debug)]
struct Plan {
    tenants: usize,
    tables: usize,
    drift_percent: f64,
    rows: usize,
    kills: usize,
    concurrent: usize,
    restart: bool,
}

/// Runs the suite and prints the table.
///
/// # Errors
/// When a server is unreachable, the CLI cannot be built, or any invariant was violated.
pub fn run(args: &ChaosArgs) -> Result<()> {
    let started = Instant::now();
    let plan = Plan {
        tenants: args.tenants.unwrap_or(if args.quick { 16 } else { 200 }),
        tables: if args.quick { 6 } else { 10 },
        drift_percent: if args.quick { 50.0 } else { 20.0 },
        rows: if args.quick { 3 } else { 5 },
        kills: args.kills.unwrap_or(if args.quick { 3 } else { 20 }),
        concurrent: if args.quick { 1 } else { 3 },
        restart: !args.quick && !args.no_restart,
    };
    if plan.tenants < 2 || plan.tenants > 99_999 {
        bail!("--tenants must be between 2 and 99999");
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1)
    });
    eprintln!(
        "xtask chaos: {} mode, seed {seed} (repeat with --seed {seed}), {:?}",
        if args.quick { "quick" } else { "full" },
        plan
    );
    let mut tallies = Vec::new();
    let mut errors = Vec::new();
    if !args.no_faults {
        let databases: Vec<Database> = Database::ALL
            .into_iter()
            .filter(|d| args.db.is_empty() || args.db.contains(d))
            .collect();
        let mut found = Vec::new();
        for database in databases {
            match servers::find(database) {
                Ok(server) => found.push(server),
                Err(attempts) => {
                    let tried: Vec<String> =
                        attempts.iter().map(|a| format!("  tried {a}")).collect();
                    bail!(
                        "{database}: no server reachable\n{}\n  {} (or leave it out with --db)",
                        tried.join("\n"),
                        database.start_hint()
                    );
                }
            }
        }
        let suffix = fleet::random_suffix();
        let workdir = std::env::temp_dir().join(format!("chaos_{suffix}"));
        std::fs::create_dir_all(&workdir)
            .with_context(|| format!("cannot create {}", workdir.display()))?;
        let cli = Cli::build(args.release, &workdir)?;
        for server in &found {
            eprintln!(
                "xtask chaos: {} on {} ({:.0?} so far)",
                server.database,
                server.describe(),
                started.elapsed()
            );
            let model = Fleet::new(plan.tenants, plan.tables, plan.drift_percent, seed);
            let fleet = ChaosFleet::new(
                server.database,
                server.url.as_deref(),
                model,
                plan.rows,
                &workdir,
                &suffix,
            )?;
            let mut pids = Vec::new();
            let outcome = on_database(&cli, &fleet, &plan, seed, &mut tallies, &mut pids);
            if let Err(error) = &outcome {
                eprintln!("xtask chaos: {} FAILED: {error:#}", server.database);
                errors.push(format!("{}: {error:#}", server.database));
            }
            if let Err(error) = fleet.destroy(&pids) {
                errors.push(format!(
                    "{}: cannot drop the chaos fleet: {error:#}",
                    server.database
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&workdir);
    }
    if !args.no_fuzz {
        tallies.extend(fuzz::run(args.fuzz_cases)?);
    }

    print!("{}", table(&tallies));
    eprintln!("xtask chaos: done in {}", cmd::seconds(started.elapsed()));
    let violations: usize = tallies.iter().map(|t| t.violations.len()).sum();
    if violations > 0 || !errors.is_empty() {
        bail!(
            "chaos found {violations} violation(s){}{}",
            if errors.is_empty() { "" } else { "; errors:\n" },
            errors.join("\n")
        );
    }
    Ok(())
}

/// Builds the fleet and runs every fault on one database.
fn on_database(
    cli: &Cli,
    fleet: &ChaosFleet,
    plan: &Plan,
    seed: u64,
    tallies: &mut Vec<Tally>,
    pids: &mut Vec<u32>,
) -> Result<()> {
    let database = fleet.database;
    fleet.create()?;
    let validate = cli.run(&cli::fleet_args(fleet, "validate", &[]))?;
    let report = cli::parse(&validate)?;
    let target_hash = report["target_hash"]
        .as_str()
        .context("validate printed no target_hash")?
        .to_string();
    let mut scene = Scene {
        cli,
        fleet,
        target_hash,
        sync_time: std::time::Duration::ZERO,
        pids: vec![],
        rng: Rng::new(seed ^ database as u64),
    };
    let result = all_faults(&mut scene, plan, tallies);
    pids.append(&mut scene.pids);
    result
}

fn all_faults(scene: &mut Scene<'_>, plan: &Plan, tallies: &mut Vec<Tally>) -> Result<()> {
    let database = scene.fleet.database;
    repeat("undisturbed sync", 1, scene, Scene::calibrate, tallies)?;
    repeat(
        "SIGKILL during sync",
        plan.kills,
        scene,
        Scene::kill,
        tallies,
    )?;
    repeat(
        "4 concurrent syncs",
        plan.concurrent,
        scene,
        Scene::concurrent,
        tallies,
    )?;
    if database != Database::Sqlite {
        repeat("lock held past timeout", 1, scene, Scene::lock, tallies)?;
    }
    if database == Database::Postgres && plan.restart {
        repeat("server restart", 1, scene, Scene::restart, tallies)?;
    }
    Ok(())
}

/// Runs `fault` `times` times into one tally, stopping at the first error.
fn repeat<'a>(
    kind: &'static str,
    times: usize,
    scene: &mut Scene<'a>,
    fault: fn(&mut Scene<'a>, &mut Tally) -> Result<()>,
    tallies: &mut Vec<Tally>,
) -> Result<()> {
    let mut tally = Tally::new(kind, scene.fleet.database);
    let mut result = Ok(());
    for _ in 0..times {
        result = fault(scene, &mut tally);
        if result.is_err() {
            break;
        }
    }
    eprintln!(
        "xtask chaos: {} on {}: {} injected, {} checked, {} violation(s)",
        tally.kind,
        tally.target,
        tally.injected,
        tally.checked,
        tally.violations.len()
    );
    tallies.push(tally);
    result
}

/// The result table.
fn table(tallies: &[Tally]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{:<24} {:<10} {:>8} {:>8} {:>10}  notes\n",
        "fault", "target", "injected", "checked", "violations"
    ));
    for tally in tallies {
        let notes: Vec<String> = tally
            .notes
            .iter()
            .map(|(what, count)| format!("{what}: {count}"))
            .collect();
        out.push_str(&format!(
            "{:<24} {:<10} {:>8} {:>8} {:>10}  {}\n",
            tally.kind,
            tally.target,
            tally.injected,
            tally.checked,
            tally.violations.len(),
            notes.join("; ")
        ));
    }
    let violations: usize = tallies.iter().map(|t| t.violations.len()).sum();
    out.push_str(&format!("total violations: {violations}\n"));
    for tally in tallies {
        for violation in &tally.violations {
            out.push_str(&format!(
                "  {} / {}: {violation}\n",
                tally.kind, tally.target
            ));
        }
    }
    out
}
