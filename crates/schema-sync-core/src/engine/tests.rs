use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::testing::{MockAdapter, TableBuilder, snapshot, tenant_id};

fn target() -> SchemaSnapshot {
    snapshot([
        (
            "orgs",
            TableBuilder::new()
                .column("id", "integer", true)
                .primary_key(&["id"])
                .build(),
        ),
        (
            "users",
            TableBuilder::new()
                .column("id", "integer", true)
                .column("org_id", "integer", true)
                .column("email", "text", true)
                .primary_key(&["id"])
                .foreign_key("users_org_fk", &["org_id"], "orgs", &["id"])
                .index("users_email_idx", &["email"])
                .build(),
        ),
    ])
}

/// The target without `users.email` and its index: a drift that sync must fix.
fn drifted() -> SchemaSnapshot {
    let mut s = target();
    if let Some(users) = s.tables.get_mut("users") {
        users.columns.remove("email");
        users.indexes.clear();
    }
    s
}

fn fleet(n: usize, schema: &SchemaSnapshot) -> (MockAdapter, Engine, Vec<TenantContext>) {
    let adapter =
        MockAdapter::new((0..n).map(|i| (tenant_id(&format!("t{i:03}")), schema.clone())));
    let engine = Engine::new(Arc::new(adapter.clone()));
    let tenants = (0..n)
        .map(|i| TenantContext::new(tenant_id(&format!("t{i:03}")), format!("t{i:03}")))
        .collect();
    (adapter, engine, tenants)
}

fn sync_options() -> FleetOptions {
    FleetOptions {
        sync: SyncOptions {
            execute: true,
            ..SyncOptions::default()
        },
        ..FleetOptions::default()
    }
}

#[tokio::test]
async fn tenant_equal_to_target_is_in_sync_and_untouched() {
    let (adapter, engine, tenants) = fleet(1, &target());
    let outcome = engine
        .sync_tenant(
            &tenants[0],
            &target(),
            &SyncOptions {
                execute: true,
                ..SyncOptions::default()
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.already_in_sync);
    assert!(outcome.diff.is_empty() && outcome.plan.is_empty());
    assert_eq!(adapter.executions(), 0);
}

#[tokio::test]
async fn diff_mode_reports_drift_without_changing_anything() {
    let (adapter, engine, tenants) = fleet(3, &drifted());
    let report = engine
        .run_fleet(tenants, &target(), &FleetOptions::default(), &|_| {})
        .await;
    assert_eq!(report.summary.drifted, 3);
    assert_eq!(adapter.executions(), 0);
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(drifted()));
    let plan = report.tenants[0]
        .plan
        .clone()
        .unwrap_or_else(|| panic!("plan"));
    let ops: Vec<String> = plan.steps.iter().map(|s| s.operation.to_string()).collect();
    assert_eq!(
        ops,
        [
            "add column users.email text not null",
            "create index users_email_idx on users"
        ]
    );
}

#[tokio::test]
async fn sync_fixes_drift_and_shares_one_plan_across_equal_tenants() {
    let (adapter, engine, tenants) = fleet(50, &drifted());
    let done = AtomicUsize::new(0);
    let options = FleetOptions {
        batch_size: 10,
        ..sync_options()
    };
    let report = engine
        .run_fleet(tenants, &target(), &options, &|_| {
            done.fetch_add(1, Ordering::SeqCst);
        })
        .await;
    assert_eq!(report.summary.synced, 50, "{:?}", report.summary);
    assert_eq!(report.summary.distinct_schemas, 1);
    assert_eq!(done.load(Ordering::SeqCst), 50);
    assert_eq!(adapter.inspect_many_calls(), 5);
    assert!(
        report.tenants.windows(2).all(|w| w[0].tenant < w[1].tenant),
        "reports keep input order"
    );
    let first_plan = report.tenants[0].plan.clone();
    assert!(report.tenants.iter().all(|t| match (&t.plan, &first_plan) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }));
    assert_eq!(adapter.schema(&tenant_id("t049")), Some(target()));
}

#[tokio::test]
async fn failing_tenant_does_not_stop_the_others() {
    let (adapter, engine, tenants) = fleet(5, &drifted());
    adapter.fail_inspect(&tenant_id("t001"));
    adapter.fail_execute(&tenant_id("t003"));
    let report = engine
        .run_fleet(tenants, &target(), &sync_options(), &|_| {})
        .await;
    assert_eq!(report.summary.synced, 3);
    assert_eq!(report.summary.failed, 2);
    assert_eq!(report.tenants[1].status, TenantStatus::Failed);
    assert!(matches!(
        report.tenants[3].error,
        Some(Error::Execute { .. })
    ));
    assert_eq!(
        adapter.schema(&tenant_id("t003")),
        Some(drifted()),
        "failed tenant is unchanged"
    );
}

#[tokio::test]
async fn destructive_changes_are_refused_unless_allowed() {
    let mut live = target();
    if let Some(users) = live.tables.get_mut("users") {
        users.columns.insert(
            "legacy".into(),
            crate::snapshot::Column::new(crate::snapshot::DataType::named("text")),
        );
    }
    let (adapter, engine, tenants) = fleet(1, &live);
    let report = engine
        .run_fleet(tenants.clone(), &target(), &sync_options(), &|_| {})
        .await;
    assert_eq!(report.summary.refused, 1);
    match &report.tenants[0].error {
        Some(Error::DestructiveRefused { losses, .. }) => {
            assert_eq!(
                losses,
                &["drop column users.legacy (text) and every value in it"]
            )
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(live));

    let mut allowed = sync_options();
    allowed.sync.allow_destructive = true;
    let report = engine
        .run_fleet(tenants, &target(), &allowed, &|_| {})
        .await;
    assert_eq!(report.summary.synced, 1);
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(target()));
}

#[tokio::test]
async fn max_failures_skips_the_rest() {
    let (adapter, engine, tenants) = fleet(10, &drifted());
    for i in 0..10 {
        adapter.fail_execute(&tenant_id(&format!("t{i:03}")));
    }
    let options = FleetOptions {
        concurrency: 1,
        batch_size: 1,
        max_failures: Some(2),
        ..sync_options()
    };
    let report = engine
        .run_fleet(tenants, &target(), &options, &|_| {})
        .await;
    assert_eq!(report.summary.failed, 2, "{:?}", report.summary);
    assert_eq!(report.summary.skipped, 8);
    assert_eq!(report.summary.total, 10);
}

#[tokio::test]
async fn replans_when_the_tenant_changed_before_the_lock() {
    // The tenant is inspected drifted, but by the time the lock is taken it equals the target.
    let (adapter, engine, tenants) = fleet(1, &drifted());
    let live = adapter.schema(&tenant_id("t000")).unwrap_or_default();
    adapter.set_schema(&tenant_id("t000"), target());
    let cache = PlanCache::default();
    let options = SyncOptions {
        execute: true,
        ..SyncOptions::default()
    };
    let report = engine
        .process_tenant(
            &tenants[0],
            Inspection::new(live),
            &target(),
            &options,
            &cache,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.status, TenantStatus::InSync);
    assert_eq!(adapter.executions(), 0);
}

#[tokio::test]
async fn audit_inspects_every_tenant_in_order() {
    let (adapter, engine, tenants) = fleet(7, &target());
    adapter.fail_inspect(&tenant_id("t002"));
    let results = engine
        .inspect_fleet(
            tenants,
            &FleetOptions {
                batch_size: 3,
                ..FleetOptions::default()
            },
            &|_, _| {},
        )
        .await;
    assert_eq!(results.len(), 7);
    assert!(results[2].1.is_err());
    assert!(
        results
            .iter()
            .enumerate()
            .all(|(i, (t, r))| t.id().as_str() == format!("t{i:03}") && (i == 2 || r.is_ok()))
    );
}

#[tokio::test]
async fn a_plan_that_diverges_is_rolled_back_before_commit() {
    let (adapter, engine, tenants) = fleet(2, &drifted());
    adapter.diverge_execute(&tenant_id("t000"));
    let report = engine
        .run_fleet(tenants, &target(), &sync_options(), &|_| {})
        .await;
    match &report.tenants[0].error {
        Some(Error::Diverged { rolled_back, .. }) => assert!(rolled_back),
        other => panic!("expected a divergence, got {other:?}"),
    }
    assert_eq!(
        adapter.schema(&tenant_id("t000")),
        Some(drifted()),
        "the diverging tenant is exactly as it was"
    );
    assert_eq!(adapter.schema(&tenant_id("t001")), Some(target()));
}

#[tokio::test]
async fn a_plan_dropping_an_object_with_an_unmodelled_dependent_is_refused() {
    use crate::snapshot::{UnsupportedObject, View};
    let view = |definition: &str| View {
        definition: definition.into(),
        materialized: true,
        depends_on: ["users".to_string()].into(),
        comment: None,
        ..Default::default()
    };
    let mut live = target();
    live.views.insert("stats".into(), view("SELECT 1"));
    live.unsupported.insert(UnsupportedObject::dependent_of(
        "materialized view index",
        "stats_uidx",
        "stats",
    ));
    let mut wanted = live.clone();
    wanted.views.insert("stats".into(), view("SELECT 2"));
    let (adapter, engine, tenants) = fleet(1, &live);
    let report = engine
        .run_fleet(tenants, &wanted, &sync_options(), &|_| {})
        .await;
    match &report.tenants[0].error {
        Some(Error::Unsupported {
            object, message, ..
        }) => {
            assert!(object.contains("stats_uidx"), "{object}");
            assert!(
                message.contains("drop materialized view stats"),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(live));
}

fn reordered(schema: &SchemaSnapshot) -> SchemaSnapshot {
    let mut s = schema.clone();
    if let Some(users) = s.tables.get_mut("users") {
        users.set_column_order(&["email".into(), "id".into(), "org_id".into()]);
    }
    s
}

#[tokio::test]
async fn column_order_is_reported_and_is_drift_only_when_strict() {
    let (adapter, engine, tenants) = fleet(1, &reordered(&target()));
    let check = FleetOptions::default();
    let report = engine
        .run_fleet(tenants.clone(), &target(), &check, &|_| {})
        .await;
    assert_eq!(report.tenants[0].status, TenantStatus::InSync);
    let diff = report.tenants[0].diff.clone();
    assert_eq!(diff.map(|d| d.column_order_changes()), Some(1));

    let strict = FleetOptions {
        sync: SyncOptions {
            strict_column_order: true,
            ..SyncOptions::default()
        },
        ..FleetOptions::default()
    };
    let report = engine
        .run_fleet(tenants.clone(), &target(), &strict, &|_| {})
        .await;
    assert_eq!(report.tenants[0].status, TenantStatus::Drifted);

    let strict_sync = FleetOptions {
        sync: SyncOptions {
            execute: true,
            strict_column_order: true,
            ..SyncOptions::default()
        },
        ..FleetOptions::default()
    };
    let report = engine
        .run_fleet(tenants, &target(), &strict_sync, &|_| {})
        .await;
    assert_eq!(report.tenants[0].status, TenantStatus::Synced);
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(target()));
}

#[tokio::test]
async fn the_runner_refuses_sql_naming_another_tenant() {
    use crate::adapter::MigrationRunner;
    use crate::isolation::NamespaceGuard;
    let (adapter, engine, tenants) = fleet(2, &drifted());
    let options = ExecuteOptions {
        isolation: NamespaceGuard::new(["t000".to_string(), "t001".to_string()]),
        ..ExecuteOptions::default()
    };
    let (_, mut plan) = engine
        .plan(&drifted(), &target())
        .unwrap_or_else(|e| panic!("{e}"));
    // The mock renders each step as its text: a step naming the other tenant's
    // namespace is what a leaking renderer would produce.
    if let Some(step) = plan.steps.last_mut() {
        step.operation = Operation::DropView {
            name: "t001.users_view".into(),
            from: crate::snapshot::View {
                definition: "SELECT 1".into(),
                materialized: false,
                depends_on: Default::default(),
                comment: None,
                ..Default::default()
            },
        };
    }
    match adapter.execute(&tenants[0], &plan, &options).await {
        Err(Error::Isolation { namespace, .. }) => assert_eq!(namespace, "t001"),
        other => panic!("expected an isolation refusal, got {other:?}"),
    }
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(drifted()));
    // Its own namespace is fine.
    let (_, own) = engine
        .plan(&drifted(), &target())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(adapter.execute(&tenants[0], &own, &options).await.is_ok());
}

#[tokio::test]
async fn rejected_names_fail_alone_instead_of_being_skipped() {
    let (_adapter, engine, mut tenants) = fleet(2, &drifted());
    tenants.insert(
        1,
        TenantContext::rejected("bad\nname", "it contains a control character".into()),
    );
    let report = engine
        .run_fleet(tenants, &target(), &FleetOptions::default(), &|_| {})
        .await;
    assert_eq!(report.tenants.len(), 3);
    assert_eq!(report.tenants[1].status, TenantStatus::Failed);
    assert_eq!(report.tenants[1].tenant.as_str(), "bad\\nname");
    assert!(matches!(
        report.tenants[1].error,
        Some(Error::InvalidTenantId { .. })
    ));
    assert_eq!(report.summary.drifted, 2);
}

/// A fleet whose mock offers change cookies, on an engine with an in-memory cache.
fn cached_fleet(
    n: usize,
    schema: &SchemaSnapshot,
) -> (
    MockAdapter,
    Engine,
    Vec<TenantContext>,
    Arc<crate::cache::MemorySnapshotCache>,
) {
    let (adapter, _, tenants) = fleet(n, schema);
    let adapter = adapter.with_cookies();
    let cache = Arc::new(crate::cache::MemorySnapshotCache::default());
    let engine = Engine::new(Arc::new(adapter.clone())).with_cache(cache.clone());
    (adapter, engine, tenants, cache)
}

#[tokio::test]
async fn a_tenant_whose_cookie_did_not_move_is_not_read_again_and_a_changed_one_is() {
    let (adapter, engine, tenants, cache) = cached_fleet(4, &target());
    let options = FleetOptions::default();
    let first = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!(first.summary.in_sync, 4);
    assert_eq!(adapter.tenants_read(), 4);
    assert_eq!(cache.len(), 4);

    let warm = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!(warm.summary.in_sync, 4);
    assert_eq!(adapter.tenants_read(), 4, "nothing moved: nothing is read");
    let hashes = |r: &FleetReport| r.tenants.iter().map(|t| t.hash.clone()).collect::<Vec<_>>();
    assert_eq!(hashes(&warm), hashes(&first));

    // A change between runs moves that tenant's cookie: it alone is read again.
    adapter.set_schema(&tenant_id("t002"), drifted());
    let changed = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!(adapter.tenants_read(), 5);
    assert_eq!(changed.summary.drifted, 1);
    assert_eq!(changed.tenants[2].status, TenantStatus::Drifted);

    // --no-cache reads everyone, and still finds the same.
    let refreshed = engine
        .run_fleet(
            tenants,
            &target(),
            &FleetOptions {
                refresh_cache: true,
                ..options
            },
            &|_| {},
        )
        .await;
    assert_eq!(adapter.tenants_read(), 9);
    assert_eq!(hashes(&refreshed), hashes(&changed));
}

#[tokio::test]
async fn cookies_read_with_inspections_spare_the_cold_run_its_cookie_reads() {
    let (adapter, _, tenants) = fleet(4, &target());
    let adapter = adapter.with_cookies_in_inspections();
    let cache = Arc::new(crate::cache::MemorySnapshotCache::default());
    let engine = Engine::new(Arc::new(adapter.clone())).with_cache(cache.clone());
    let options = FleetOptions::default();
    let hashes = |r: &FleetReport| r.tenants.iter().map(|t| t.hash.clone()).collect::<Vec<_>>();

    let cold = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!(cold.summary.in_sync, 4);
    assert_eq!(
        adapter.cookies_read(),
        0,
        "an empty cache: no cookie read apart"
    );
    assert_eq!(adapter.tenants_read(), 4);
    assert_eq!(cache.len(), 4, "recorded under the cookies read with them");

    let warm = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!(adapter.cookies_read(), 4);
    assert_eq!(adapter.tenants_read(), 4, "nothing moved: nothing is read");
    assert_eq!(hashes(&warm), hashes(&cold));

    adapter.set_schema(&tenant_id("t001"), drifted());
    let changed = engine
        .run_fleet(tenants.clone(), &target(), &options, &|_| {})
        .await;
    assert_eq!((adapter.cookies_read(), adapter.tenants_read()), (8, 5));
    assert_eq!(changed.tenants[1].status, TenantStatus::Drifted);

    // --no-cache reads everyone once, and records what it read.
    adapter.set_schema(&tenant_id("t003"), drifted());
    let refreshed = engine
        .run_fleet(
            tenants.clone(),
            &target(),
            &FleetOptions {
                refresh_cache: true,
                ..options.clone()
            },
            &|_| {},
        )
        .await;
    assert_eq!((adapter.cookies_read(), adapter.tenants_read()), (8, 9));
    assert_eq!(refreshed.summary.drifted, 2);
    let after = engine
        .run_fleet(tenants, &target(), &options, &|_| {})
        .await;
    assert_eq!((adapter.cookies_read(), adapter.tenants_read()), (12, 9));
    assert_eq!(hashes(&after), hashes(&refreshed));
}

#[tokio::test]
async fn without_cookies_the_cache_is_never_consulted() {
    let (adapter, _, tenants) = fleet(3, &target());
    let cache = Arc::new(crate::cache::MemorySnapshotCache::default());
    let engine = Engine::new(Arc::new(adapter.clone())).with_cache(cache.clone());
    for _ in 0..2 {
        engine
            .run_fleet(
                tenants.clone(),
                &target(),
                &FleetOptions::default(),
                &|_| {},
            )
            .await;
    }
    assert_eq!(adapter.tenants_read(), 6);
    assert!(cache.is_empty());
}

#[tokio::test]
async fn sync_trusts_an_unmoved_cookie_under_the_lock_and_rereads_a_moved_one() {
    let (adapter, engine, tenants, _cache) = cached_fleet(3, &drifted());
    let report = engine
        .run_fleet(tenants.clone(), &target(), &sync_options(), &|_| {})
        .await;
    assert_eq!(report.summary.synced, 3, "{:?}", report.summary);
    // Only the verification after applying inspects under the lock.
    assert_eq!(adapter.lock_inspections(), 3);
    assert_eq!(adapter.schema(&tenant_id("t001")), Some(target()));

    // The synced tenants' cookies moved: the next run reads them again and finds them
    // in sync.
    let after = engine
        .run_fleet(tenants, &target(), &FleetOptions::default(), &|_| {})
        .await;
    assert_eq!(after.summary.in_sync, 3);
    assert_eq!(adapter.tenants_read(), 6);
}

#[tokio::test]
async fn a_change_after_the_cookie_was_read_is_caught_under_the_lock() {
    // A concurrent change between the fleet's read and the lock moves the cookie: the
    // engine inspects under the lock and plans from what it finds.
    let (adapter, engine, tenants, cache) = cached_fleet(1, &drifted());
    engine
        .run_fleet(
            tenants.clone(),
            &target(),
            &FleetOptions::default(),
            &|_| {},
        )
        .await;
    assert_eq!(cache.len(), 1);
    // The tenant is fixed by someone else: the cache still says drifted under the old
    // cookie, but the cookie moved.
    adapter.set_schema(&tenant_id("t000"), target());
    let report = engine
        .run_fleet(tenants, &target(), &sync_options(), &|_| {})
        .await;
    assert_eq!(report.summary.in_sync, 1, "{:?}", report.summary);
    assert_eq!(adapter.executions(), 0);
}

/// Records the order of observer calls.
#[derive(Default)]
struct Recording(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl FleetObserver for Recording {
    async fn tenant_started(&self, tenant: &TenantContext) {
        if let Ok(mut events) = self.0.lock() {
            events.push(format!("start {}", tenant.id()));
        }
    }

    async fn tenant_finished(&self, report: &TenantReport) {
        if let Ok(mut events) = self.0.lock() {
            events.push(format!("finish {} {:?}", report.tenant, report.status));
        }
    }
}

#[tokio::test]
async fn the_observer_sees_each_tenant_start_before_it_runs_and_finish() {
    let (adapter, engine, tenants) = fleet(4, &drifted());
    adapter.fail_execute(&tenant_id("t001"));
    let observer = Arc::new(Recording::default());
    let engine = engine.with_observer(observer.clone());
    let options = FleetOptions {
        concurrency: 1,
        batch_size: 1,
        max_failures: Some(1),
        ..sync_options()
    };
    let done = std::sync::Mutex::new(Vec::new());
    let report = engine
        .run_fleet(tenants, &target(), &options, &|r| {
            if let Ok(mut done) = done.lock() {
                done.push(r.tenant.to_string());
            }
        })
        .await;
    assert_eq!(report.summary.synced, 1);
    let events = observer.0.lock().map(|e| e.clone()).unwrap_or_default();
    // Skipped tenants never start, but their outcome is recorded.
    assert_eq!(
        events,
        [
            "start t000",
            "finish t000 Synced",
            "start t001",
            "finish t001 Failed",
            "finish t002 Skipped",
            "finish t003 Skipped",
        ]
    );
    let with_statements = report.tenants[0]
        .execution
        .as_ref()
        .map_or(0, |e| e.statements.len());
    assert_eq!(with_statements, 2, "the mock runner times each step");
}

/// The default plan with its index builds moved after commit, as an online planner
/// moves them.
struct IndexesAfterCommit;

impl Planner for IndexesAfterCommit {
    fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        diff: &SchemaDiff,
    ) -> Result<MigrationPlan> {
        let mut plan = DefaultPlanner.plan(from, to, diff)?;
        for step in &mut plan.steps {
            step.outside_transaction = matches!(step.operation, Operation::CreateIndex { .. });
        }
        Ok(plan)
    }
}

#[tokio::test]
async fn steps_after_commit_are_verified_in_two_stages_and_converge() {
    let (adapter, engine, tenants) = fleet(1, &drifted());
    let engine = engine.with_planner(Arc::new(IndexesAfterCommit));
    let report = engine
        .run_fleet(tenants, &target(), &sync_options(), &|_| {})
        .await;
    let tenant = &report.tenants[0];
    assert!(tenant.error.is_none(), "{:?}", tenant.error);
    assert_eq!(tenant.status, TenantStatus::Synced);
    let plan = tenant.plan.as_ref().map(|p| p.has_outside_steps());
    assert_eq!(plan, Some(true));
    // The transaction was verified against its committed state (no index yet), and the
    // tenant against the target once the index was built after commit.
    assert_eq!(adapter.schema(&tenant_id("t000")), Some(target()));
}

#[test]
fn the_committed_state_leaves_out_the_steps_after_commit() {
    let (_, plan) = Engine::new(Arc::new(MockAdapter::new([])))
        .with_planner(Arc::new(IndexesAfterCommit))
        .plan(&drifted(), &target())
        .unwrap_or_else(|e| panic!("{e}"));
    let committed = plan
        .committed_state(&drifted())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut expected = target();
    if let Some(users) = expected.tables.get_mut("users") {
        users.indexes.clear();
    }
    assert_eq!(committed, expected);
}
