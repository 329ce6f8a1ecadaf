//! Fleets over several database servers: one run, a run-wide limit and a limit per server.
//!
//! A fleet that outgrew one server is still one fleet: one target, one plan per distinct
//! schema, one failure limit, one report. Each server has its own [`Engine`] (its own
//! adapter and connection pool) and the run drives all of them at once, so a slow or
//! distant server does not hold the others back.
//!
//! Two limits apply. [`FleetOptions::concurrency`] caps the tenants (and inspection
//! batches) in flight over the whole run: a permit of one shared [`Semaphore`] is held
//! while a batch is read and while a tenant is planned and changed. A server's own
//! [`FleetServer::concurrency`] caps its share, so that it never has more of its tenants
//! in flight than it can take, however many permits are free. With one server no
//! semaphore is made at all: the run is [`Engine::run_fleet`] itself.
//!
//! Tenants of a named server are reported (and shown to the
//! [`FleetObserver`](super::FleetObserver), the run ledger) under ids qualified by the server's name,
//! `eu-1/acme` ([`TenantId::qualified`]), so equal tenant ids on two servers stay apart.
//! The servers share the run's plan cache, so they must use the same kind of adapter and
//! the same planner: a tenant with a schema seen on another server reuses its plan.

use std::sync::atomic::AtomicUsize;

use futures::future::join_all;
use tokio::sync::Semaphore;

use super::fleet::Lane;
use super::report::{FleetReport, TenantReport};
use super::{Engine, FleetOptions, PlanCache};
use crate::error::Result;
use crate::isolation::NamespaceGuard;
use crate::snapshot::SchemaSnapshot;
use crate::tenant::{TenantContext, check_server_name};

/// One database server of a fleet run, with its tenants.
pub struct FleetServer {
    name: Option<String>,
    engine: Engine,
    tenants: Vec<TenantContext>,
    concurrency: Option<usize>,
    isolation: Option<NamespaceGuard>,
}

impl FleetServer {
    /// Server `name` with its `engine` and the `tenants` to run there. Its tenants are
    /// reported as `name/tenant`.
    ///
    /// # Errors
    /// [`Error::Config`](crate::Error::Config) when `name` cannot name a server
    /// ([`check_server_name`]).
    pub fn named(
        name: impl Into<String>,
        engine: Engine,
        tenants: Vec<TenantContext>,
    ) -> Result<Self> {
        let name = name.into();
        check_server_name(&name)?;
        Ok(Self {
            name: Some(name),
            ..Self::unnamed(engine, tenants)
        })
    }

    /// The only server of a run, whose tenants keep their ids as they are.
    pub fn unnamed(engine: Engine, tenants: Vec<TenantContext>) -> Self {
        Self {
            name: None,
            engine,
            tenants,
            concurrency: None,
            isolation: None,
        }
    }

    /// Never more than `limit` of this server's tenants in flight at once (at least 1).
    /// Without a limit, only the run-wide [`FleetOptions::concurrency`] applies.
    pub fn with_concurrency(mut self, limit: Option<usize>) -> Self {
        self.concurrency = limit.map(|limit| limit.max(1));
        self
    }

    /// The cross-tenant guard of this server's sync
    /// ([`ExecuteOptions::isolation`](crate::ExecuteOptions::isolation)), in place of the
    /// run's: each server has its own tenants.
    pub fn with_isolation(mut self, guard: NamespaceGuard) -> Self {
        self.isolation = Some(guard);
        self
    }

    /// The server's name, when it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// How many tenants it has to run.
    pub fn tenant_count(&self) -> usize {
        self.tenants.len()
    }

    /// The options of this server's part of a run: the run's, with its own limit and
    /// guard.
    fn options(&self, run: &FleetOptions) -> FleetOptions {
        let mut options = run.clone();
        let total = run.concurrency.max(1);
        options.concurrency = self.concurrency.map_or(total, |limit| limit.min(total));
        if let Some(guard) = &self.isolation {
            options.sync.execute_options.isolation = guard.clone();
        }
        options
    }
}

/// The run-wide semaphore: none for a single server, whose own limit is the run's.
fn shared_limit(servers: &[FleetServer], options: &FleetOptions) -> Option<Semaphore> {
    (servers.len() > 1).then(|| Semaphore::new(options.concurrency.max(1)))
}

/// Runs every server's tenants against `target` at once, within the run-wide and the
/// per-server limits, calling `on_done` as each tenant finishes. Reports come back server
/// by server in the order given, each server's in the order of its tenants.
///
/// As in [`Engine::run_fleet`], one tenant's failure never stops the others unless
/// `max_failures` is reached, counting the failures of every server; tenants not yet
/// started are then reported as skipped.
pub async fn run_servers(
    servers: Vec<FleetServer>,
    target: &SchemaSnapshot,
    options: &FleetOptions,
    on_done: &(dyn Fn(&TenantReport) + Send + Sync),
) -> FleetReport {
    let cache = PlanCache::default();
    let failures = AtomicUsize::new(0);
    let shared = shared_limit(&servers, options);
    let (cache, failures, shared) = (&cache, &failures, shared.as_ref());
    let runs = servers.into_iter().map(|server| async move {
        let options = server.options(options);
        let lane = Lane {
            server: server.name.as_deref(),
            shared,
            failures,
            cache,
        };
        server
            .engine
            .run_lane(server.tenants, target, &options, on_done, &lane)
            .await
    });
    let reports: Vec<TenantReport> = join_all(runs).await.into_iter().flatten().collect();
    FleetReport::from_reports(reports, cache.len())
}

/// Inspects every server's tenants at once without planning or locking (audit mode),
/// within the run-wide and the per-server limits. Results come back server by server in
/// the order given; the contexts of a named server's tenants carry qualified ids.
pub async fn inspect_servers(
    servers: Vec<FleetServer>,
    options: &FleetOptions,
    on_done: &(dyn Fn(&TenantContext, &Result<SchemaSnapshot>) + Send + Sync),
) -> Vec<(TenantContext, Result<SchemaSnapshot>)> {
    let shared = shared_limit(&servers, options);
    let shared = shared.as_ref();
    let runs = servers.into_iter().map(|server| async move {
        let options = server.options(options);
        server
            .engine
            .inspect_lane(
                server.tenants,
                &options,
                on_done,
                server.name.as_deref(),
                shared,
            )
            .await
    });
    join_all(runs).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;
    use crate::engine::{FleetObserver, SyncOptions, TenantStatus};
    use crate::testing::{MockAdapter, TableBuilder, snapshot, tenant_id};

    fn target() -> SchemaSnapshot {
        snapshot([(
            "users",
            TableBuilder::new()
                .column("id", "integer", true)
                .column("email", "text", true)
                .primary_key(&["id"])
                .build(),
        )])
    }

    /// A server's engine over `n` tenants `t000`, ... with `schema`, and their contexts.
    fn server(n: usize, schema: &SchemaSnapshot) -> (MockAdapter, Engine, Vec<TenantContext>) {
        let ids: Vec<_> = (0..n).map(|i| tenant_id(&format!("t{i:03}"))).collect();
        let adapter = MockAdapter::new(ids.iter().map(|id| (id.clone(), schema.clone())));
        let engine = Engine::new(Arc::new(adapter.clone()));
        let tenants = ids
            .iter()
            .map(|id| TenantContext::new(id.clone(), id.as_str()))
            .collect();
        (adapter, engine, tenants)
    }

    /// Tenants in flight now and at most, on one server and over the run.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl Gauge {
        fn enter(&self) {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(now, Ordering::SeqCst);
        }

        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }

        fn max(&self) -> usize {
            self.max.load(Ordering::SeqCst)
        }
    }

    /// Counts a server's tenants in flight (from start to finish, which the engine awaits
    /// under the tenant's permits), holding each a little so that they overlap, and keeps
    /// the ids it is shown.
    struct InFlight {
        server: Arc<Gauge>,
        run: Arc<Gauge>,
        seen: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl FleetObserver for InFlight {
        async fn tenant_started(&self, tenant: &TenantContext) {
            self.server.enter();
            self.run.enter();
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(tenant.id().to_string());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        async fn tenant_finished(&self, report: &TenantReport) {
            if report.status != TenantStatus::Skipped {
                self.server.leave();
                self.run.leave();
            }
        }
    }

    fn observed(engine: Engine, run: &Arc<Gauge>) -> (Engine, Arc<InFlight>) {
        let observer = Arc::new(InFlight {
            server: Arc::new(Gauge::default()),
            run: Arc::clone(run),
            seen: std::sync::Mutex::new(Vec::new()),
        });
        (engine.with_observer(observer.clone()), observer)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_server_keeps_to_its_limit_and_the_run_to_its_own() {
        let run = Arc::new(Gauge::default());
        let (_, a, a_tenants) = server(16, &target());
        let (_, b, b_tenants) = server(16, &target());
        let (a, a_seen) = observed(a, &run);
        let (b, b_seen) = observed(b, &run);
        let servers = vec![
            FleetServer::named("eu-1", a, a_tenants)
                .map(|s| s.with_concurrency(Some(2)))
                .unwrap_or_else(|e| panic!("{e}")),
            FleetServer::named("eu-2", b, b_tenants).unwrap_or_else(|e| panic!("{e}")),
        ];
        let options = FleetOptions {
            concurrency: 5,
            batch_size: 1,
            ..FleetOptions::default()
        };
        let report = run_servers(servers, &target(), &options, &|_| {}).await;
        assert_eq!(report.summary.in_sync, 32);
        assert_eq!(report.summary.distinct_schemas, 1, "one plan for both");
        // eu-1 never exceeds its limit, though the run would allow more: eu-2, with no
        // limit of its own, goes past 2 and the run reaches its own limit.
        assert_eq!(a_seen.server.max(), 2);
        assert!(b_seen.server.max() > 2, "{}", b_seen.server.max());
        assert!(b_seen.server.max() <= 5, "{}", b_seen.server.max());
        assert_eq!(run.max(), 5);
        // Ids carry the server, in reports and for observers (the ledger).
        assert_eq!(report.tenants[0].tenant.as_str(), "eu-1/t000");
        assert_eq!(report.tenants[16].tenant.as_str(), "eu-2/t000");
        let seen = b_seen.seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(seen.iter().all(|id| id.starts_with("eu-2/t0")), "{seen:?}");
    }

    #[tokio::test]
    async fn failures_count_over_every_server() {
        let mut drifted = target();
        if let Some(users) = drifted.tables.get_mut("users") {
            users.columns.remove("email");
        }
        let (a_adapter, a, a_tenants) = server(3, &drifted);
        let (b_adapter, b, b_tenants) = server(3, &drifted);
        a_adapter.fail_execute(&tenant_id("t000"));
        b_adapter.fail_execute(&tenant_id("t000"));
        let servers = vec![
            FleetServer::named("a", a, a_tenants).unwrap_or_else(|e| panic!("{e}")),
            FleetServer::named("b", b, b_tenants).unwrap_or_else(|e| panic!("{e}")),
        ];
        let options = FleetOptions {
            sync: SyncOptions {
                execute: true,
                ..SyncOptions::default()
            },
            concurrency: 1,
            batch_size: 1,
            max_failures: Some(2),
            ..FleetOptions::default()
        };
        let report = run_servers(servers, &target(), &options, &|_| {}).await;
        // Both first tenants fail (one on each server); the limit, reached over the two
        // servers, skips what had not started.
        assert_eq!(report.summary.failed, 2, "{:?}", report.summary);
        assert!(report.summary.skipped >= 2, "{:?}", report.summary);
        assert_eq!(report.summary.total, 6);
    }

    #[tokio::test]
    async fn a_single_unnamed_server_keeps_its_ids() {
        let (_, engine, tenants) = server(2, &target());
        let report = run_servers(
            vec![FleetServer::unnamed(engine, tenants)],
            &target(),
            &FleetOptions::default(),
            &|_| {},
        )
        .await;
        let ids: Vec<&str> = report.tenants.iter().map(|r| r.tenant.as_str()).collect();
        assert_eq!(ids, ["t000", "t001"]);
    }

    #[test]
    fn server_names_are_checked() {
        for bad in ["", "eu/1", "a\nb"] {
            let (_, engine, tenants) = server(0, &target());
            assert!(
                matches!(
                    FleetServer::named(bad, engine, tenants),
                    Err(crate::Error::Config { .. })
                ),
                "{bad:?}"
            );
        }
    }
}
