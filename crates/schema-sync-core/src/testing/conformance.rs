//! The conformance suite every adapter runs against its real database.
//!
//! Each check takes a [`TestDatabase`] (which knows how to create and drop tenants on
//! the real server) and DDL in the adapter's dialect, and asserts the properties every
//! adapter must have: a clone of the template diffs empty, a sync converges and is
//! idempotent, destructive changes are refused and leave the tenant unchanged, and
//! hostile tenant names are handled safely.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::adapter::DatabaseAdapter;
use crate::engine::{Engine, FleetOptions, SyncOptions, TenantStatus};
use crate::error::{Error, Result};
use crate::snapshot::SchemaSnapshot;
use crate::tenant::{TenantContext, TenantId};

/// A real database on which tests create and drop tenants.
#[async_trait]
pub trait TestDatabase: Send + Sync {
    /// The adapter under test.
    fn adapter(&self) -> Arc<dyn DatabaseAdapter>;

    /// Creates the tenant's namespace and applies `ddl` in it.
    ///
    /// # Errors
    /// When the namespace cannot be created or the DDL fails.
    async fn create_tenant(&self, id: &TenantId, ddl: &str) -> Result<TenantContext>;

    /// Runs `sql` inside the tenant's namespace (to insert rows or make drift).
    ///
    /// # Errors
    /// When the SQL fails.
    async fn execute(&self, tenant: &TenantContext, sql: &str) -> Result<()>;

    /// Drops the tenant's namespace and everything in it.
    ///
    /// # Errors
    /// When the namespace cannot be dropped.
    async fn drop_tenant(&self, tenant: &TenantContext) -> Result<()>;

    /// Whether the database can put columns into the target's order (MySQL moves them,
    /// SQLite rebuilds the table). PostgreSQL can only append, so after a sync its
    /// tenants may differ from the target in column order and nothing else.
    fn reorders_columns(&self) -> bool {
        true
    }
}

/// A tenant id no other test (in this or a parallel process) uses: `prefix_pid_n_time`.
pub fn unique_tenant_id(prefix: &str) -> TenantId {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let id = format!("{prefix}_{}_{n}_{nanos:x}", std::process::id());
    let id: String = id.chars().take(crate::tenant::MAX_TENANT_ID_LEN).collect();
    super::tenant_id(&id)
}

/// Fails with `message` unless `tenant` still has the schema `before`.
async fn unchanged(
    adapter: &dyn DatabaseAdapter,
    tenant: &TenantContext,
    before: &SchemaSnapshot,
    message: &str,
) -> Result<()> {
    if adapter.inspector().inspect(tenant).await?.hash() == before.hash() {
        Ok(())
    } else {
        Err(fail(message.into()))
    }
}

fn fail(message: String) -> Error {
    Error::Internal {
        tenant: None,
        message,
    }
}

/// Creates two tenants from `ddl` and checks that both inspect equal to each other and to
/// the target loaded from the same DDL.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn clone_of_template_diffs_empty(
    db: &dyn TestDatabase,
    ddl: &str,
) -> Result<SchemaSnapshot> {
    let adapter = db.adapter();
    let a = db.create_tenant(&unique_tenant_id("cf_a"), ddl).await?;
    let b = db.create_tenant(&unique_tenant_id("cf_b"), ddl).await?;
    let result = async {
        let sa = adapter.inspector().inspect(&a).await?;
        let sb = adapter.inspector().inspect(&b).await?;
        let target = adapter.snapshot_from_sql(ddl).await?;
        let engine = Engine::new(adapter.clone());
        for (label, s) in [("second tenant", &sb), ("target from SQL", &target)] {
            let (diff, _) = engine.plan(&sa, s)?;
            if !diff.is_empty() || sa.hash() != s.hash() {
                return Err(fail(format!(
                    "clone differs from {label}:\n{}",
                    diff.to_text()
                )));
            }
        }
        let batch = adapter
            .inspector()
            .inspect_many(&[a.clone(), b.clone()])
            .await;
        for snapshot in batch {
            if snapshot?.hash() != sa.hash() {
                return Err(fail("inspect_many differs from inspect".into()));
            }
        }
        Ok(sa)
    }
    .await;
    db.drop_tenant(&a).await?;
    db.drop_tenant(&b).await?;
    result
}

/// Creates a tenant from `from_ddl` (then runs `seed_sql` in it), syncs it to `to_ddl`
/// with destructive changes allowed, and checks that it then inspects equal to the target
/// and that a second sync does nothing.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn sync_converges(
    db: &dyn TestDatabase,
    from_ddl: &str,
    seed_sql: &str,
    to_ddl: &str,
) -> Result<()> {
    let adapter = db.adapter();
    let tenant = db
        .create_tenant(&unique_tenant_id("cf_sync"), from_ddl)
        .await?;
    let result = async {
        if !seed_sql.is_empty() {
            db.execute(&tenant, seed_sql).await?;
        }
        let target = adapter.snapshot_from_sql(to_ddl).await?;
        let engine = Engine::new(adapter.clone());
        let options = SyncOptions {
            execute: true,
            allow_destructive: true,
            ..SyncOptions::default()
        };
        let first = engine.sync_tenant(&tenant, &target, &options).await?;
        let live = adapter.inspector().inspect(&tenant).await?;
        let (remaining, _) = engine.plan(&live, &target)?;
        if !remaining.is_in_sync(false) {
            return Err(fail(format!(
                "after sync the tenant still differs:\n{}",
                remaining.to_text()
            )));
        }
        if db.reorders_columns() {
            // Column order too: a strict sync leaves exactly the target.
            let strict = SyncOptions {
                strict_column_order: true,
                ..options.clone()
            };
            engine.sync_tenant(&tenant, &target, &strict).await?;
            let live = adapter.inspector().inspect(&tenant).await?;
            if live.hash() != target.hash() {
                let (diff, _) = engine.plan(&live, &target)?;
                return Err(fail(format!(
                    "after a strict sync the tenant still differs:\n{}",
                    diff.to_text()
                )));
            }
        }
        if first.already_in_sync != (from_ddl == to_ddl) {
            return Err(fail("already_in_sync is wrong".into()));
        }
        let second = engine.sync_tenant(&tenant, &target, &options).await?;
        if !second.already_in_sync {
            return Err(fail(format!(
                "second sync was not a no-op:\n{}",
                second.diff.to_text()
            )));
        }
        Ok(())
    }
    .await;
    db.drop_tenant(&tenant).await?;
    result
}

/// Creates a tenant from `from_ddl`, syncs it to `to_ddl` (which must drop something)
/// without allowing destructive changes, and checks the refusal names the loss and the
/// tenant is unchanged.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn destructive_change_is_refused(
    db: &dyn TestDatabase,
    from_ddl: &str,
    to_ddl: &str,
    expected_loss: &str,
) -> Result<()> {
    let adapter = db.adapter();
    let tenant = db
        .create_tenant(&unique_tenant_id("cf_destr"), from_ddl)
        .await?;
    let result = async {
        let before = adapter.inspector().inspect(&tenant).await?;
        let target = adapter.snapshot_from_sql(to_ddl).await?;
        let engine = Engine::new(adapter.clone());
        let options = FleetOptions {
            sync: SyncOptions {
                execute: true,
                ..SyncOptions::default()
            },
            ..FleetOptions::default()
        };
        let report = engine
            .run_fleet(vec![tenant.clone()], &target, &options, &|_| {})
            .await;
        let outcome = &report.tenants[0];
        if outcome.status != TenantStatus::Refused {
            return Err(fail(format!(
                "expected a refusal, got {:?} {:?}",
                outcome.status, outcome.error
            )));
        }
        let message = outcome
            .error
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        if !message.contains(expected_loss) {
            return Err(fail(format!(
                "refusal {message:?} does not name {expected_loss:?}"
            )));
        }
        unchanged(
            adapter.as_ref(),
            &tenant,
            &before,
            "a refused tenant was changed",
        )
        .await
    }
    .await;
    db.drop_tenant(&tenant).await?;
    result
}

/// A tenant for [`check_data_counts_rows`], in SQL that PostgreSQL, MySQL/MariaDB and
/// SQLite all accept: rows with NULL emails, negative ages, a shared code, dangling team
/// ids and data in `legacy`.
pub const CHECK_DATA_FROM: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE users (id int PRIMARY KEY, email varchar(100), age int, code varchar(20), team_id int, legacy varchar(50));
INSERT INTO teams VALUES (1);
INSERT INTO users VALUES
    (1, NULL, 10, 'a', 1, 'x'),
    (2, NULL, 20, 'a', 7, NULL),
    (3, 'c@x', -5, 'a', NULL, 'y'),
    (4, 'd@x', 30, 'b', 8, NULL),
    (5, 'e@x', -1, NULL, 1, NULL),
    (6, 'f@x', 40, NULL, 1, NULL);
";

/// The target for [`check_data_counts_rows`]: `email` becomes `NOT NULL`, a check, a
/// unique key and a foreign key are added, `legacy` is dropped.
pub const CHECK_DATA_TO: &str = "
CREATE TABLE teams (id int PRIMARY KEY);
CREATE TABLE users (
    id int PRIMARY KEY,
    email varchar(100) NOT NULL,
    age int,
    code varchar(20),
    team_id int,
    CONSTRAINT users_age_check CHECK (age >= 0),
    CONSTRAINT users_code_key UNIQUE (code),
    CONSTRAINT users_team_fk FOREIGN KEY (team_id) REFERENCES teams (id)
);
";

/// What [`check_data_counts_rows`] must find, in any order.
const CHECK_DATA_FINDINGS: [&str; 5] = [
    "2 rows in `users` hold data in `legacy`",
    "2 rows in `users` have NULL in `email`",
    "2 rows in `users` violate check `users_age_check`",
    "3 rows in `users` share a value of (`code`) with another row",
    "2 rows in `users` have no matching row in `teams` (foreign key `users_team_fk`)",
];

/// Creates a tenant from [`CHECK_DATA_FROM`], plans the change to [`CHECK_DATA_TO`], and
/// checks that [`check_data`](crate::MigrationRunner::check_data) counts exactly the rows
/// each step would fail on or lose, and changed nothing.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn check_data_counts_rows(db: &dyn TestDatabase, prefix: &str) -> Result<()> {
    let adapter = db.adapter();
    let tenant = db
        .create_tenant(&unique_tenant_id(prefix), CHECK_DATA_FROM)
        .await?;
    let result = async {
        let before = adapter.inspector().inspect(&tenant).await?;
        let target = adapter.snapshot_from_sql(CHECK_DATA_TO).await?;
        let (_, plan) = Engine::new(adapter.clone()).plan(&before, &target)?;
        let mut found: Vec<String> = adapter
            .runner()
            .check_data(&tenant, &plan)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect();
        found.sort();
        let mut expected = CHECK_DATA_FINDINGS.to_vec();
        expected.sort_unstable();
        if found != expected {
            return Err(fail(format!(
                "check_data found {found:#?}, expected {expected:#?}"
            )));
        }
        unchanged(
            adapter.as_ref(),
            &tenant,
            &before,
            "check_data changed the tenant",
        )
        .await
    }
    .await;
    db.drop_tenant(&tenant).await?;
    result
}

/// A table [`destructive_refusal_counts_the_rows_lost`] adds to [`CHECK_DATA_FROM`]: the
/// target drops it with its three rows.
pub const DROPPED_NOTES: &str = "
CREATE TABLE notes (id int PRIMARY KEY);
INSERT INTO notes VALUES (1), (2), (3);
";

/// Creates a tenant from [`CHECK_DATA_FROM`] and [`DROPPED_NOTES`], syncs it to
/// [`CHECK_DATA_TO`] without allowing destructive changes, and checks that the refusal
/// names, per loss, the rows it would delete (counted read-only), and changed nothing.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn destructive_refusal_counts_the_rows_lost(
    db: &dyn TestDatabase,
    prefix: &str,
) -> Result<()> {
    let adapter = db.adapter();
    let tenant = db
        .create_tenant(
            &unique_tenant_id(prefix),
            &format!("{CHECK_DATA_FROM}{DROPPED_NOTES}"),
        )
        .await?;
    let result = async {
        let before = adapter.inspector().inspect(&tenant).await?;
        let target = adapter.snapshot_from_sql(CHECK_DATA_TO).await?;
        let options = SyncOptions {
            execute: true,
            ..SyncOptions::default()
        };
        let losses = match Engine::new(adapter.clone())
            .sync_tenant(&tenant, &target, &options)
            .await
        {
            Err(Error::DestructiveRefused { losses, .. }) => losses,
            other => {
                return Err(fail(format!(
                    "expected a destructive refusal, got {:?}",
                    other.map(|o| o.plan)
                )));
            }
        };
        for (dropped, counted) in [
            (
                "drop column users.legacy",
                "2 rows in `users` hold data in `legacy`",
            ),
            ("drop table notes", "3 rows in `notes` would be deleted"),
        ] {
            if !losses
                .iter()
                .any(|l| l.starts_with(dropped) && l.ends_with(counted))
            {
                return Err(fail(format!(
                    "the refusal does not say {dropped:?} ... {counted:?}: {losses:#?}"
                )));
            }
        }
        unchanged(
            adapter.as_ref(),
            &tenant,
            &before,
            "a refused tenant was changed",
        )
        .await
    }
    .await;
    db.drop_tenant(&tenant).await?;
    result
}

/// Creates tenants with hostile names (quotes, spaces, dots, unicode, SQL), syncs each
/// from `from_ddl` to `to_ddl`, and checks each converges and nothing leaked across.
///
/// # Errors
/// A description of the first property that does not hold.
pub async fn hostile_tenant_names_are_safe(
    db: &dyn TestDatabase,
    from_ddl: &str,
    to_ddl: &str,
) -> Result<()> {
    let adapter = db.adapter();
    let engine = Engine::new(adapter.clone());
    let target = adapter.snapshot_from_sql(to_ddl).await?;
    let suffix = unique_tenant_id("h");
    let suffix = &suffix.as_str()[2..];
    let names = [
        "q\"uote",
        "s'quote",
        "sp ace",
        "do.t",
        "ünï",
        "x`; DROP TABLE t; --",
        "back\\slash",
    ];
    for name in names {
        let id = super::tenant_id(
            &format!("{name}_{suffix}")
                .chars()
                .take(crate::tenant::MAX_TENANT_ID_LEN)
                .collect::<String>(),
        );
        let tenant = db.create_tenant(&id, from_ddl).await?;
        let result = async {
            let options = SyncOptions {
                execute: true,
                allow_destructive: true,
                ..SyncOptions::default()
            };
            engine.sync_tenant(&tenant, &target, &options).await?;
            let live = adapter.inspector().inspect(&tenant).await?;
            if live.hash() != target.hash() {
                return Err(fail(format!("tenant {name:?} did not converge")));
            }
            Ok(())
        }
        .await;
        db.drop_tenant(&tenant).await?;
        result?;
    }
    Ok(())
}

/// Generates the conformance suite as `#[tokio::test]` functions, so every adapter runs
/// the same cases the same way. Call it once in the adapter's `tests/conformance.rs`;
/// adapter-specific cases go beside it as ordinary tests.
///
/// - `database`: an expression (it may `.await`) giving a fresh [`TestDatabase`];
/// - `template`: DDL with every object kind the adapter models; `template_rows`: rows
///   that fit it; `changed`: the template with a change of every kind;
/// - `destructive`: `(from, to, loss)`, a change that must be refused, with text the
///   refusal must contain;
/// - `hostile`: `(from, to)`, small DDL used under hostile tenant names.
///
/// ```ignore
/// schema_sync_core::conformance_tests! {
///     database: common::db().await,
///     template: common::RICH,
///     template_rows: common::RICH_ROWS,
///     changed: common::RICH_V2,
///     destructive: (FROM, TO, "users.email"),
///     hostile: (SMALL, SMALL_TARGET),
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    (
        database: $database:expr,
        template: $template:expr,
        template_rows: $rows:expr,
        changed: $changed:expr,
        destructive: ($destructive_from:expr, $destructive_to:expr, $loss:expr $(,)?),
        hostile: ($hostile_from:expr, $hostile_to:expr $(,)?) $(,)?
    ) => {
        mod conformance_suite {
            #[allow(unused_imports)]
            use super::*;
            use $crate::testing::conformance as suite;

            fn check<T>(result: $crate::Result<T>) -> T {
                result.unwrap_or_else(|e| panic!("{e}"))
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn clone_of_template_diffs_empty() {
                let db = $database;
                check(suite::clone_of_template_diffs_empty(&db, $template).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sync_creates_everything_from_nothing() {
                let db = $database;
                check(suite::sync_converges(&db, "", "", $template).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sync_changes_every_kind_of_object_with_rows_in_place() {
                let db = $database;
                check(suite::sync_converges(&db, $template, $rows, $changed).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sync_back_from_the_changed_schema() {
                let db = $database;
                check(suite::sync_converges(&db, $changed, "", $template).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sync_drops_everything() {
                let db = $database;
                check(suite::sync_converges(&db, $template, $rows, "").await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sync_of_an_equal_schema_is_a_no_op() {
                let db = $database;
                check(suite::sync_converges(&db, $template, $rows, $template).await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn destructive_change_is_refused() {
                let db = $database;
                check(
                    suite::destructive_change_is_refused(
                        &db,
                        $destructive_from,
                        $destructive_to,
                        $loss,
                    )
                    .await,
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn destructive_refusal_counts_the_rows_lost() {
                let db = $database;
                check(suite::destructive_refusal_counts_the_rows_lost(&db, "cf_lost").await);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn hostile_tenant_names_are_safe() {
                let db = $database;
                check(suite::hostile_tenant_names_are_safe(&db, $hostile_from, $hostile_to).await);
            }
        }
    };
}
