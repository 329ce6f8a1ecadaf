//! Never lose what the model cannot see (issue #12): an object attached to a table or
//! view that the model does not cover blocks a plan that would drop it with its parent.

mod common;

use common::SqliteFleet;
use schema_sync_core::snapshot::UnsupportedObject;
use schema_sync_core::testing::conformance::TestDatabase;
use schema_sync_core::testing::tenant_id;
use schema_sync_core::{DatabaseAdapter, Engine, Error, SyncOptions};

const TABLES: &str = "
CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'new', total INTEGER);
INSERT INTO orders VALUES (1, 'new', 10), (2, 'paid', 20);
";
/// An updatable view: the INSTEAD OF trigger is the part SQLite drops with the view.
const VIEW: &str = "
CREATE VIEW open_orders AS SELECT id, status FROM orders WHERE status = 'new';
CREATE TRIGGER open_orders_update INSTEAD OF UPDATE ON open_orders
BEGIN UPDATE orders SET status = NEW.status WHERE id = OLD.id; END;
";

#[tokio::test]
async fn a_trigger_on_a_view_is_a_dependent_and_blocks_replacing_the_view() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("views"), &format!("{TABLES}{VIEW}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let live = adapter
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        live.unsupported.contains(&UnsupportedObject::dependent_of(
            "trigger on a view",
            "open_orders_update",
            "open_orders"
        )),
        "{:?}",
        live.unsupported
    );

    // The target changes the view (and keeps the trigger): the view is dropped and
    // created again, which would silently drop the trigger.
    let changed = format!(
        "{TABLES}{}",
        VIEW.replace("SELECT id, status FROM", "SELECT id, status, total FROM")
    );
    let target = adapter
        .snapshot_from_sql(&changed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let before = fleet.fingerprint("views");
    let result = Engine::new(adapter.clone())
        .sync_tenant(
            &tenant,
            &target,
            &SyncOptions::default()
                .with_execute(true)
                .with_allow_destructive(true),
        )
        .await;
    match result {
        Err(Error::Unsupported {
            object, message, ..
        }) => {
            assert!(object.contains("open_orders_update"), "{object}");
            assert!(message.contains("open_orders"), "{message}");
            assert!(message.contains("recreate it"), "{message}");
        }
        other => panic!("expected a refusal naming the trigger, got {other:?}"),
    }
    assert_eq!(fleet.fingerprint("views"), before, "nothing ran");
    assert_eq!(
        fleet.query_strings(
            "views",
            "SELECT count(*) FROM sqlite_schema WHERE name = 'open_orders_update'"
        ),
        ["Integer(1)"]
    );
}

#[tokio::test]
async fn the_runner_refuses_even_a_dry_run_that_would_lose_the_trigger() {
    let fleet = SqliteFleet::new();
    let tenant = fleet
        .create_tenant(&tenant_id("dry"), &format!("{TABLES}{VIEW}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let engine = Engine::new(adapter.clone());
    let live = adapter
        .inspector()
        .inspect(&tenant)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A target without the view at all: dropping it drops the trigger too.
    let mut target = live.clone();
    target.views.clear();
    let (_, plan) = engine
        .plan(&live, &target)
        .unwrap_or_else(|e| panic!("{e}"));
    match adapter.runner().render(&tenant, &plan).await {
        Err(Error::Unsupported { object, .. }) => {
            assert!(object.contains("open_orders_update"), "{object}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_view_without_dependents_is_replaced() {
    let fleet = SqliteFleet::new();
    let plain_view =
        "CREATE VIEW open_orders AS SELECT id, status FROM orders WHERE status = 'new';";
    let tenant = fleet
        .create_tenant(&tenant_id("plain"), &format!("{TABLES}{plain_view}"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let adapter = fleet.sqlite();
    let target = adapter
        .snapshot_from_sql(&format!(
            "{TABLES}{}",
            plain_view.replace("SELECT id, status FROM", "SELECT id, total FROM")
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Engine::new(adapter.clone())
        .sync_tenant(&tenant, &target, &SyncOptions::default().with_execute(true))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        fleet.query_strings("plain", "SELECT * FROM open_orders"),
        ["Integer(1)|Integer(10)"]
    );
}
