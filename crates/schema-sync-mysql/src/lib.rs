//! The MySQL and MariaDB adapter of schema-sync: one database per tenant.
//!
//! [`connect()`] opens a [`mysql_async`] pool on a `mysql://` or `mariadb://` URL and
//! returns a [`MysqlAdapter`], which is at once the [`DatabaseAdapter`], the
//! [`SchemaInspector`] and the [`MigrationRunner`]. Every tenant is a database; the
//! database named in the URL is only the connection's default.
//!
//! # Shape
//! The files are the same in every adapter; `lib.rs` only wires the traits to them.
//!
//! - `connect`: parses the URL, opens the pool and reads `SELECT VERSION()` into the
//!   server's `Flavor` (MySQL or MariaDB) and version, which later modules consult where
//!   the two servers differ. [`parse_url`] and [`connect_conn`] serve the MySQL run
//!   ledger, which keeps one session of its own.
//! - `tenants`: discovery (every database but the server's own, the scratch ones and
//!   `schema_sync_ledger`, the run ledger's default database) and
//!   `namespace_of`, which maps a tenant id to the database of the same name.
//! - `catalog`: the `information_schema` queries, one round for a batch of databases,
//!   and the typed rows they return.
//! - `inspect`: folds catalog rows into one tenant-relative snapshot per database, in
//!   rounds of a few tenants; `inspect/relative` removes the tenant's own database
//!   from stored expressions.
//! - `target`: applies target DDL in a scratch database, inspects it and drops it.
//! - `types`: folds catalog spellings of types and defaults into the core's canonical
//!   form and renders types back.
//! - `hazards`: which steps run as `ALGORITHM=COPY` on this server, and counting the
//!   rows a plan would fail on or lose (`plan --check-data`), read-only.
//! - `online`: the online strategy ([`OnlinePlanner`]): each change to a live table asks
//!   for `ALGORITHM=INSTANT`, then `INPLACE` with `LOCK=NONE`, and copies only when
//!   allowed.
//! - `render`: plan to SQL, one statement per table where the server allows
//!   (`render/grouping` says which steps may share a statement, `render/clauses` writes
//!   the column, index, key and option fragments).
//! - `runner`: the per-tenant `GET_LOCK`, the session settings and the execution.
//! - `history`: the database's `_schema_sync_migrations` table and how a versioned
//!   migration file runs (`schema-sync migrate`): recorded as started, run, marked
//!   finished, since MySQL cannot roll a file back.
//! - `sql`: identifier and literal quoting, used by every module that writes SQL
//!   ([`quote_ident`] by the run ledger too).
//! - `error`: driver errors into the core error.
//!
//! # Execution is not transactional
//! MySQL commits every DDL statement on its own, so a failing step leaves the steps before
//! it applied. The runner reports exactly how many steps succeeded and the statement that
//! failed (`rolled_back` is false); because the engine recomputes the plan from the live
//! schema on every run, running again after fixing the cause converges.
//!
//! # MySQL and MariaDB differences handled
//! Tested here against MariaDB 10.11 (the server of this workspace; MySQL 8 paths are
//! written from MySQL's documentation and are not exercised by the test suite):
//!
//! - defaults: MariaDB quotes string defaults (`'abc'`) and reports `DEFAULT NULL` as the
//!   string `NULL`; MySQL reports string defaults bare and marks expressions with
//!   `DEFAULT_GENERATED`. Both fold to quoted SQL literals, `(expr)` and no default
//!   (tested on MariaDB; MySQL's folding is unit-tested only);
//! - `current_timestamp()` (MariaDB) and `CURRENT_TIMESTAMP` (MySQL), in defaults and
//!   `ON UPDATE`, fold to `CURRENT_TIMESTAMP[(n)]` (tested on MariaDB, unit-tested for MySQL);
//! - integer display widths (`int(11)` on MariaDB and MySQL 5.7, `int` on MySQL 8.0.19+)
//!   are dropped, but for `TINYINT(1)`: MySQL 8 still reports it, it is what `BOOLEAN`
//!   means, and drivers read it as a boolean (tested on MariaDB, unit-tested for MySQL);
//! - MariaDB `JSON` is `LONGTEXT` with a `CHECK (json_valid(col))` named after the
//!   column: it inspects as `json` without that check, as on MySQL (tested on MariaDB);
//! - check constraints: MariaDB's `CHECK_CONSTRAINTS` has `TABLE_NAME`, MySQL 8 needs a
//!   join with `TABLE_CONSTRAINTS` (MariaDB query tested; the MySQL query is not run here);
//! - invisible indexes: MariaDB 10.6+ `IGNORED`, MySQL 8 `INVISIBLE`; functional index
//!   parts exist on MySQL only (MariaDB tested);
//! - dropping a check: `DROP CONSTRAINT` on MariaDB, `DROP CHECK` on MySQL (MariaDB tested);
//! - statement timeouts: `max_statement_time` exists on MariaDB only; MySQL's
//!   `max_execution_time` limits `SELECT`s alone, so on MySQL only `lock_wait_timeout` is
//!   set (MariaDB tested);
//! - unspecified foreign key actions are `RESTRICT` on MariaDB and `NO ACTION` on MySQL,
//!   which InnoDB treats alike: both are the default action (tested on MariaDB);
//! - MariaDB cannot `MODIFY` a column into, out of or between `VIRTUAL` and `STORED`
//!   generation, so such a change drops and re-adds the column in one `ALTER TABLE`,
//!   with the indexes using it (tested on MariaDB; MySQL gets the same statements). A
//!   column that stops being generated starts empty: its values were computed;
//! - an index whose only change is its visibility is switched with `ALTER INDEX`:
//!   MariaDB keeps the old visibility when an identical index is dropped and re-added in
//!   one statement (tested on MariaDB);
//! - column attributes: `INVISIBLE` (MariaDB 10.3, MySQL 8.0.23), `ZEROFILL` (its display
//!   width kept), MariaDB `COMPRESSED` (printed in `COLUMN_TYPE` as
//!   `/*M!100301 COMPRESSED*/`) and MySQL 8 `SRID` are modelled, and every `MODIFY` or
//!   `ADD COLUMN` restates them all, so moving a column keeps them. What a server cannot
//!   express is refused, never dropped: `COMPRESSED` on MySQL, `SRID` on MariaDB (tested
//!   on MariaDB; MySQL paths by unit tests);
//! - indexes: an index comment is part of the index, so a comment change drops and adds
//!   the index again in one `ALTER TABLE`; `DESC` key parts need MariaDB 10.8 or MySQL 8
//!   (older servers accept and ignore them, so they are refused there); MariaDB reports a
//!   key length for spatial index parts, which is dropped; `WITH PARSER` is rendered for
//!   `FULLTEXT` indexes but not read back (the catalog does not show it).
//!
//! # Stored programs, sequences and table options
//! Functions, procedures and events are read in batches from `ROUTINES`, `PARAMETERS`
//! and `EVENTS` and kept as complete `CREATE` statements without `DEFINER` (not compared),
//! tenant-relative; on MariaDB they carry their `sql_mode` (and an event its `time_zone`)
//! in `SET STATEMENT ... FOR`, which MySQL lacks: there the session's settings apply and
//! are not compared (rendering is unit-tested for MySQL). A function is keyed by its name,
//! a procedure by `procedure <name>`. MariaDB sequences are read with one `UNION ALL` of
//! the sequence tables themselves (10.11 has no `information_schema.SEQUENCES`); their
//! position is data. Declared table create options come from `CREATE_OPTIONS`, never the
//! effective `ROW_FORMAT`. See `inspect/programs.rs` and `inspect/options.rs`.
//!
//! # Limits
//! Partitioning, system versioning, create options other than the modelled ones, non-SQL
//! and MariaDB package routines, and view options other than the defaults are reported in
//! [`SchemaSnapshot::unsupported`](schema_sync_core::SchemaSnapshot), never ignored;
//! partitioning, system versioning and view options name their table or view, so a plan
//! that would drop it is refused. Aggregate functions (MariaDB `CREATE AGGREGATE
//! FUNCTION`) are not told apart from plain ones by `information_schema`.
//! Databases whose names are longer than a tenant id allows (63 bytes) are not listed as
//! tenants. The target DDL runs in a scratch database: it must not switch databases.
//! A primary key with prefix or descending parts is reported as unsupported. Trigger
//! bodies are kept as written, less the tenant's own database qualifiers.
//!
//! # Tenant-relative expressions
//! Defaults, generated columns, checks, view and trigger bodies and index expressions are
//! read with every qualifier naming the tenant's own database removed (backquoted, bare
//! or double-quoted, also inside calls such as ``nextval(`db`.`seq`)`` and MySQL's
//! `` `db`.`f`() ``), by a lexical scan that leaves string literals and comments alone.
//! Rendered unqualified in a session that `USE`s the tenant, they resolve to the tenant
//! being synced: MariaDB stores ``nextval(`tenant`.`seq`)`` again, never the template's
//! name. Qualifiers naming other databases are kept. MariaDB refuses stored functions in
//! defaults, generated columns and checks (error 1901); views and triggers may call them.
//! An alias or column named exactly like the tenant's database and followed by a dot
//! would be taken for a qualifier.
//!
//! # Column order
//! Columns carry their `ORDINAL_POSITION`; `CREATE TABLE` lists them in that order, an
//! added column is placed with `FIRST` / `AFTER`, and a column-order step restates each
//! moved column (`MODIFY COLUMN ... AFTER`) with its full target definition. A moved column
//! that is `INVISIBLE` (not modelled) is refused rather than made visible.
//!
//! # Unmodelled dependents
//! View options (`SQL SECURITY INVOKER`, a non-default `ALGORITHM`) are reported as
//! dependents of their view, and a trigger on a table the model does not hold as a
//! dependent of that table: recreating or dropping the parent would lose them. The firing
//! order of several triggers for one event is reported (`trigger order`), not modelled.
//! Not reported: grants (they survive `DROP TABLE`/`DROP VIEW` on both servers), views
//! or routines in other databases that read a tenant's table (MariaDB has no
//! `VIEW_TABLE_USAGE`), and foreign keys from other databases (the drop then fails loudly).
//! The `DEFINER` of views and triggers is not modelled: recreated ones get the syncing
//! user.
//!
//! # Inspection cost
//! MariaDB answers `information_schema` by opening table definitions, and answers an `IN`
//! list, a filter on a column that is not the table's lookup column, or a join of two
//! `information_schema` tables by walking far more than asked: every database on the
//! server, or the inner table again for each outer row. The catalog is therefore read
//! with one equality branch per database (`UNION ALL`), triggers by `EVENT_OBJECT_SCHEMA`,
//! partitioning from `TABLES.CREATE_OPTIONS`, and foreign keys and character sets joined
//! in Rust: inspection time follows the batch, not the number of databases on the server.
#![deny(missing_docs)]

mod catalog;
mod connect;
mod error;
mod hazards;
mod history;
mod inspect;
mod online;
mod render;
mod runner;
mod sql;
mod target;
mod tenants;
mod types;

use async_trait::async_trait;
use schema_sync_core::plan::ScriptPart;
use schema_sync_core::{
    ConnectOptions, DatabaseAdapter, ExecuteOptions, MigrationPlan, MigrationRunner, Phase, Result,
    SchemaInspector, SchemaSnapshot, TenantContext, TenantId, TenantLock,
};

use crate::connect::{Flavor, Server};
pub use crate::connect::{connect_conn, parse_url};
pub use crate::online::OnlinePlanner;
pub use crate::sql::quote_ident;
pub use crate::tenants::LEDGER_DATABASE;

/// A MySQL or MariaDB server whose databases are tenants.
///
/// Cheap to share behind an `Arc`: it holds a connection pool of
/// [`ConnectOptions::max_connections`] connections.
pub struct MysqlAdapter {
    server: Server,
}

impl std::fmt::Debug for MysqlAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlAdapter")
            .field("url", &self.server.url)
            .field("server", &self.server.info)
            .field("read_only", &self.server.read_only)
            .finish()
    }
}

/// Connects to the server at `url` (`mysql://` or `mariadb://`) and checks that it
/// answers.
///
/// # Errors
/// [`Error::Config`](schema_sync_core::Error::Config) for a URL that is not a MySQL URL;
/// [`Error::Connection`](schema_sync_core::Error::Connection) naming the URL (password
/// removed) when the server cannot be reached or refuses the login.
pub async fn connect(url: &str, options: &ConnectOptions) -> Result<MysqlAdapter> {
    let server = connect::open(url, options).await?;
    Ok(MysqlAdapter { server })
}

impl MysqlAdapter {
    /// Whether the server is MariaDB (else MySQL).
    pub fn is_mariadb(&self) -> bool {
        self.server.info.flavor == Flavor::MariaDb
    }

    /// Closes every pooled connection.
    ///
    /// # Errors
    /// A driver error while closing.
    pub async fn disconnect(self) -> Result<()> {
        self.server.disconnect().await
    }
}

#[async_trait]
impl SchemaInspector for MysqlAdapter {
    async fn inspect(&self, tenant: &TenantContext) -> Result<SchemaSnapshot> {
        inspect::inspect_one(&self.server, tenant).await
    }

    async fn inspect_many(&self, tenants: &[TenantContext]) -> Vec<Result<SchemaSnapshot>> {
        inspect::inspect_many(&self.server, tenants).await
    }
}

#[async_trait]
impl MigrationRunner for MysqlAdapter {
    async fn render(&self, tenant: &TenantContext, plan: &MigrationPlan) -> Result<Vec<String>> {
        let live = if render::needs_live_schema(plan) {
            Some(self.inspect(tenant).await?)
        } else {
            None
        };
        runner::script(tenant, plan, self.server.info, live.as_ref())
    }

    async fn render_shared(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
        from: &SchemaSnapshot,
    ) -> Result<Vec<ScriptPart>> {
        runner::shared_script(tenant, plan, self.server.info, from)
    }

    async fn acquire_lock(
        &self,
        tenant: &TenantContext,
        options: &ExecuteOptions,
    ) -> Result<Box<dyn TenantLock>> {
        runner::lock(&self.server, tenant, options).await
    }

    fn refine_hazards(&self, plan: &mut MigrationPlan) {
        hazards::refine(plan, self.server.info);
    }

    async fn check_data(
        &self,
        tenant: &TenantContext,
        plan: &MigrationPlan,
    ) -> Result<Vec<schema_sync_core::DataCheck>> {
        hazards::check_data(&self.server, tenant, plan).await
    }

    async fn migration_history(
        &self,
        tenant: &TenantContext,
    ) -> Result<Vec<schema_sync_core::migrate::AppliedMigration>> {
        let mut conn = self.server.conn(Some(tenant.id()), Phase::Inspect).await?;
        history::read(&mut conn, tenant).await
    }
}

#[async_trait]
impl DatabaseAdapter for MysqlAdapter {
    fn name(&self) -> &'static str {
        "mysql"
    }

    async fn list_tenants(&self) -> Result<Vec<String>> {
        tenants::list(&self.server).await
    }

    fn namespace_of(&self, tenant: &TenantId) -> Result<String> {
        tenants::namespace_of(tenant)
    }

    fn inspector(&self) -> &dyn SchemaInspector {
        self
    }

    fn runner(&self) -> &dyn MigrationRunner {
        self
    }

    async fn snapshot_from_sql(&self, sql: &str) -> Result<SchemaSnapshot> {
        target::snapshot_from_sql(&self.server, sql).await
    }
}
