//! The bench results: a table for people and a JSON document for comparing commits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::floor::Floor;
use crate::servers::Database;

/// One timed phase.
#[derive(Debug, Clone)]
pub struct Phase {
    /// `create fleet`, `catalog floor`, `validate (cold)`, `validate (warm)`, `sync`, ...
    pub name: &'static str,
    /// Wall time.
    pub elapsed: Duration,
    /// Peak resident memory of the CLI in KiB (`None` for in-process phases).
    pub peak_rss_kib: Option<u64>,
    /// How many tenants the phase changed (the drifted ones, for `sync`), when it changes
    /// any: the report adds the time per changed tenant.
    pub changes: Option<usize>,
    /// What the phase found, in a few words.
    pub result: String,
}

/// The results on one database.
#[derive(Debug, Clone)]
pub struct DatabaseResult {
    /// Which database.
    pub database: Database,
    /// Where the server came from (masked URL).
    pub server: String,
    /// Tenants in the fleet.
    pub tenants: usize,
    /// Tenants drifted.
    pub drifted: usize,
    /// The phases in order.
    pub phases: Vec<Phase>,
    /// Every catalog pass timed for the floor (PostgreSQL and MySQL).
    pub floor: Option<Floor>,
    /// Wall time of all phases.
    pub total: Duration,
    /// Why the run on this database failed, if it did (its later phases are missing).
    pub failure: Option<String>,
    /// A writer's stall under `sync` of a loaded table, per strategy (PostgreSQL).
    pub stalls: Vec<Stall>,
}

/// What a concurrent writer saw while `sync` changed a loaded table under one strategy
/// ([`super::stall`]).
#[derive(Debug, Clone)]
pub struct Stall {
    /// `online` or `plain`.
    pub strategy: &'static str,
    /// The sync's wall time.
    pub sync: Duration,
    /// The writer's longest wait for one statement.
    pub longest: Duration,
    /// Statements the writer ran.
    pub statements: usize,
    /// Statements that failed.
    pub errors: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone)]
pub struct Report {
    /// Tenants per database.
    pub tenants: usize,
    /// Tables in the template.
    pub tables: usize,
    /// Objects in the template (tables, columns, constraints, indexes, views).
    pub objects: usize,
    /// Drift percentage asked for.
    pub drift_percent: f64,
    /// Seed.
    pub seed: u64,
    /// `git describe` of the working tree, when available.
    pub commit: Option<String>,
    /// What `--target` the CLI got (`sql file` or `tenant:bench_template`).
    pub target: &'static str,
    /// How often each drift kind was applied.
    pub drift_kinds: BTreeMap<&'static str, usize>,
    /// Per database.
    pub databases: Vec<DatabaseResult>,
}

impl DatabaseResult {
    /// Cold `validate`'s time over the catalog floor's, when both were measured.
    pub fn validate_over_floor(&self) -> Option<f64> {
        let seconds = |name: &str| {
            self.phases
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.elapsed.as_secs_f64())
        };
        let floor = seconds("catalog floor").filter(|s| *s > 0.0)?;
        Some(seconds("validate (cold)")? / floor)
    }
}

fn per_second(tenants: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        tenants as f64 / secs
    } else {
        0.0
    }
}

/// Milliseconds per tenant: flat from 1,000 to 10,000 tenants is what scaling means.
fn ms_per(tenants: usize, elapsed: Duration) -> Option<f64> {
    (tenants > 0).then(|| elapsed.as_secs_f64() * 1000.0 / tenants as f64)
}

impl Phase {
    /// Milliseconds per changed tenant, for the phases that change some.
    fn ms_per_change(&self) -> Option<f64> {
        self.changes.and_then(|n| ms_per(n, self.elapsed))
    }
}

impl Report {
    /// The table people read.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "schema-sync bench: {} tenants x {} tables ({} objects), {}% drift, seed {}, target {}{}",
            self.tenants,
            self.tables,
            self.objects,
            self.drift_percent,
            self.seed,
            self.target,
            self.commit
                .as_deref()
                .map(|c| format!(", commit {c}"))
                .unwrap_or_default()
        );
        let kinds: Vec<String> = self
            .drift_kinds
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        let _ = writeln!(out, "drift kinds: {}", kinds.join(", "));
        for db in &self.databases {
            let _ = writeln!(
                out,
                "\n{} ({}), {} tenants, {} drifted",
                db.database, db.server, db.tenants, db.drifted
            );
            let _ = writeln!(
                out,
                "  {:<27} {:>9} {:>10} {:>9} {:>9}  result",
                "phase", "seconds", "tenants/s", "ms/tenant", "peak MiB"
            );
            for phase in &db.phases {
                let memory = phase
                    .peak_rss_kib
                    .map_or("-".to_string(), |kib| format!("{:.1}", kib as f64 / 1024.0));
                let per_change = phase
                    .ms_per_change()
                    .map(|ms| format!(" ({ms:.1} ms per drifted tenant)"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:<27} {:>9.2} {:>10.1} {:>9.3} {:>9}  {}{per_change}",
                    phase.name,
                    phase.elapsed.as_secs_f64(),
                    per_second(db.tenants, phase.elapsed),
                    ms_per(db.tenants, phase.elapsed).unwrap_or_default(),
                    memory,
                    phase.result
                );
            }
            let _ = writeln!(
                out,
                "  {:<27} {:>9.2} {:>10.1} {:>9.3}",
                "total",
                db.total.as_secs_f64(),
                per_second(db.tenants, db.total),
                ms_per(db.tenants, db.total).unwrap_or_default()
            );
            if let Some(ratio) = db.validate_over_floor() {
                let _ = writeln!(out, "  validate (cold) / catalog floor: {ratio:.2}x");
            }
            if let Some(floor) = &db.floor {
                let _ = writeln!(out, "  catalog passes: {}", floor.summary());
                let _ = writeln!(out, "  {}", floor.breakdown());
            }
            if !db.stalls.is_empty() {
                let _ = writeln!(
                    out,
                    "  writer stall while sync adds an index, a foreign key, a check and a NOT NULL to {} rows:",
                    schema_sync_core::testing::load::ORDERS_ROWS
                );
            }
            for stall in &db.stalls {
                let _ = writeln!(
                    out,
                    "    {:<7} longest wait {:>6} ms over {} statements, {} errors, sync {:.2} s{}",
                    stall.strategy,
                    stall.longest.as_millis(),
                    stall.statements,
                    stall.errors,
                    stall.sync.as_secs_f64(),
                    stall
                        .first_error
                        .as_deref()
                        .map(|e| format!(" (first: {e})"))
                        .unwrap_or_default()
                );
            }
            if let Some(failure) = &db.failure {
                let first = failure.lines().next().unwrap_or_default();
                let _ = writeln!(out, "  FAILED: {first}");
            }
        }
        out
    }

    /// The JSON document, stable for comparisons across commits.
    pub fn json(&self) -> Value {
        json!({
            "bench": "schema-sync",
            "commit": self.commit,
            "tenants": self.tenants,
            "tables": self.tables,
            "objects": self.objects,
            "drift_percent": self.drift_percent,
            "seed": self.seed,
            "target": self.target,
            "drift_kinds": self.drift_kinds,
            "databases": self.databases.iter().map(|db| json!({
                "database": db.database.name(),
                "server": db.server,
                "tenants": db.tenants,
                "drifted": db.drifted,
                "total_seconds": db.total.as_secs_f64(),
                "error": db.failure,
                "validate_over_floor": db.validate_over_floor(),
                "catalog_passes": db.floor.as_ref().map(|f| f.passes.iter().map(|p| json!({
                    "strategy": p.strategy,
                    "seconds": p.elapsed.as_secs_f64(),
                    "rows": p.rows,
                    "per_table_seconds": p.per_table.iter()
                        .map(|(t, e)| (t.to_string(), e.as_secs_f64()))
                        .collect::<BTreeMap<_, _>>(),
                })).collect::<Vec<_>>()),
                "phases": db.phases.iter().map(|p| json!({
                    "phase": p.name,
                    "seconds": p.elapsed.as_secs_f64(),
                    "tenants_per_second": per_second(db.tenants, p.elapsed),
                    "ms_per_tenant": ms_per(db.tenants, p.elapsed),
                    "drifted_tenants": p.changes,
                    "ms_per_drifted_tenant": p.ms_per_change(),
                    "peak_rss_kib": p.peak_rss_kib,
                    "result": p.result,
                })).collect::<Vec<_>>(),
                "writer_stalls": db.stalls.iter().map(|s| json!({
                    "strategy": s.strategy,
                    "longest_ms": s.longest.as_secs_f64() * 1000.0,
                    "statements": s.statements,
                    "errors": s.errors,
                    "first_error": s.first_error,
                    "sync_seconds": s.sync.as_secs_f64(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(name: &'static str, seconds: u64, changes: Option<usize>) -> Phase {
        Phase {
            name,
            elapsed: Duration::from_secs(seconds),
            peak_rss_kib: None,
            changes,
            result: String::new(),
        }
    }

    #[test]
    fn prints_the_cost_per_tenant_and_the_floor_ratio() {
        let db = DatabaseResult {
            database: Database::Postgres,
            server: "local".into(),
            tenants: 1000,
            drifted: 100,
            phases: vec![
                phase("catalog floor", 4, None),
                phase("validate (cold)", 6, None),
                phase("sync", 20, Some(100)),
            ],
            floor: None,
            total: Duration::from_secs(30),
            failure: None,
            stalls: vec![Stall {
                strategy: "online",
                sync: Duration::from_secs(1),
                longest: Duration::from_millis(34),
                statements: 216,
                errors: 0,
                first_error: None,
            }],
        };
        assert_eq!(db.validate_over_floor(), Some(1.5));
        assert_eq!(ms_per(db.tenants, db.phases[1].elapsed), Some(6.0));
        assert_eq!(db.phases[2].ms_per_change(), Some(200.0));
        assert_eq!(db.phases[1].ms_per_change(), None);
        let report = Report {
            tenants: 1000,
            tables: 30,
            objects: 1,
            drift_percent: 10.0,
            seed: 1,
            commit: None,
            target: "sql file",
            drift_kinds: BTreeMap::new(),
            databases: vec![db],
        };
        let table = report.table();
        assert!(table.contains("ms/tenant"), "{table}");
        assert!(table.contains("200.0 ms per drifted tenant"), "{table}");
        assert!(
            table.contains("validate (cold) / catalog floor: 1.50x"),
            "{table}"
        );
        let json = report.json();
        assert_eq!(
            json["databases"][0]["phases"][2]["ms_per_drifted_tenant"],
            200.0
        );
        assert_eq!(json["databases"][0]["phases"][1]["ms_per_tenant"], 6.0);
        assert!(
            table.contains("online  longest wait     34 ms over 216 statements"),
            "{table}"
        );
        assert_eq!(json["databases"][0]["writer_stalls"][0]["longest_ms"], 34.0);
    }
}
