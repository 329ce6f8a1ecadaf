//! The online strategy of MySQL and MariaDB (`--strategy online`): every change to a
//! live table asks the server for `ALGORITHM=INSTANT`, then `ALGORITHM=INPLACE,
//! LOCK=NONE`, and copies the table (blocking writes) only where copying was allowed.
//!
//! MySQL has no transactional DDL and no `CONCURRENTLY`: what keeps writers going is the
//! algorithm InnoDB uses for each `ALTER TABLE`. The server knows best which it can use
//! for a change on its version, so the runner lets it decide: an algorithm it cannot use
//! is refused up front (error 1845 or 1846, nothing is changed), and the next one is
//! tried. Three pieces:
//!
//! - [`OnlinePlanner`] takes the default plan as it is and marks every step that alters a
//!   table the tenant already has (a new table is empty: its `CREATE TABLE` stays plain);
//! - [`refine`] (with the hazards, knowing the server) sets the algorithm each marked step
//!   is expected to take, from the MariaDB 10.11 and MySQL 8.0 online DDL tables, so
//!   `plan` and `diff` show it and the rendered script asks for it;
//! - [`run_statement`] runs one statement with the algorithms in turn. Without
//!   [`ExecuteOptions::allow_copy`](schema_sync_core::ExecuteOptions), a statement
//!   expected to copy is refused before anything runs ([`refuse_copies`]), and one the
//!   server refuses online at run time fails the tenant naming the table and the change;
//!   with it, such a statement runs as the plain strategy runs it (the server's default,
//!   which copies the table or, for a `FULLTEXT` index, builds it under a shared lock).
//!
//! A statement that carries several steps of one table runs with the most blocking of
//! their algorithms: the renderer's grouping (one `ALTER TABLE` per table) is kept, as
//! it saves rebuilds.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use schema_sync_core::plan::{
    Algorithm, CommentTarget, DefaultPlanner, MigrationPlan, Operation, Planner, RenderedStatement,
};
use schema_sync_core::snapshot::{Column, DataType};
use schema_sync_core::{Error, Result, SchemaDiff, SchemaSnapshot, TenantId};

use crate::connect::{Flavor, ServerInfo};
use crate::error;
use crate::hazards::copies;
use crate::render::{describe_steps, is_alter_clause};
use crate::sql::quote_ident;

/// The online planner of MySQL and MariaDB: the default plan, with every change to an
/// existing table marked to run `INSTANT` or `INPLACE` without a write lock (see the
/// module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct OnlinePlanner;

impl Planner for OnlinePlanner {
    fn plan(
        &self,
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        diff: &SchemaDiff,
    ) -> Result<MigrationPlan> {
        let mut plan = DefaultPlanner.plan(from, to, diff)?;
        for step in &mut plan.steps {
            if alters_live_table(from, &step.operation) {
                // The adapter's `refine` replaces it with what this server is expected
                // to do; in place without a lock is what online asks for.
                step.algorithm = Some(Algorithm::Inplace);
            }
        }
        Ok(plan)
    }
}

/// Whether `operation` is rendered as an `ALTER TABLE` of a table `from` holds.
fn alters_live_table(from: &SchemaSnapshot, operation: &Operation) -> bool {
    let table = match operation {
        Operation::SetComment {
            object:
                CommentTarget::Column { table, .. }
                | CommentTarget::Index { table, .. }
                | CommentTarget::Table { name: table },
            ..
        } => table.as_str(),
        op if is_alter_clause(op) => match op.table() {
            Some(table) => table,
            None => return false,
        },
        _ => return false,
    };
    from.tables.contains_key(table)
}

/// Sets the algorithm each step marked online is expected to take on `server`.
pub(crate) fn refine(plan: &mut MigrationPlan, server: ServerInfo) {
    for step in &mut plan.steps {
        if step.algorithm.is_some() {
            step.algorithm = Some(expected(&step.operation, server));
        }
    }
}

/// The algorithm `operation` is expected to take on `server`, from the servers' online
/// DDL tables (MariaDB 10.11 checked by asking it; MySQL 8.0 from its manual). Where the
/// two differ or a version matters, the guess leans to the more blocking one; the
/// server decides at run time anyway.
pub(crate) fn expected(operation: &Operation, server: ServerInfo) -> Algorithm {
    use Algorithm::{Copy, Inplace, Instant};
    if copies(operation, server) {
        return Copy;
    }
    let mariadb = server.flavor == Flavor::MariaDb;
    // MySQL 8.0.29 added and drops columns at any position instantly.
    let mysql_instant_columns = !mariadb && server.at_least_patch(8, 0, 29);
    match operation {
        Operation::AddColumn { column, .. } => {
            if column.identity.is_some() {
                // AUTO_INCREMENT fills every row: the table is rebuilt.
                Inplace
            } else if mariadb || mysql_instant_columns {
                Instant
            } else {
                Inplace
            }
        }
        Operation::DropColumn { .. } if mariadb || mysql_instant_columns => Instant,
        Operation::ReorderColumns { .. } if mariadb => Instant,
        Operation::AlterColumn { from, to, .. } => alter_column(from, to, mariadb),
        Operation::DropCheck { .. } | Operation::DropForeignKey { .. } if mariadb => Instant,
        Operation::SetTableComment { .. }
        | Operation::SetComment {
            object: CommentTarget::Column { .. } | CommentTarget::Table { .. },
            ..
        } if mariadb => Instant,
        Operation::AlterTableOptions { from, to, .. }
            if mariadb && from.engine == to.engine && from.charset == to.charset =>
        {
            Instant
        }
        _ => Inplace,
    }
}

/// A column change that does not copy: instant when only its default or comment
/// changes (or, on MariaDB, a `VARCHAR` grows), else in place.
fn alter_column(from: &Column, to: &Column, mariadb: bool) -> Algorithm {
    let metadata_only = Column {
        default: to.default.clone(),
        comment: to.comment.clone(),
        ..from.clone()
    } == *to;
    let grows = |a: &DataType, b: &DataType| a.name == b.name && a.length < b.length;
    let only_grows = Column {
        data_type: to.data_type.clone(),
        ..from.clone()
    } == *to
        && grows(&from.data_type, &to.data_type);
    if metadata_only || (mariadb && only_grows) {
        Algorithm::Instant
    } else {
        Algorithm::Inplace
    }
}

/// The algorithm of one rendered statement: the most blocking of its steps', when it is
/// an `ALTER TABLE` whose every step is marked online; `None` for the others (a new
/// table, a view, a trigger), which run as they are.
pub(crate) fn statement_algorithm(
    plan: &MigrationPlan,
    statement: &RenderedStatement,
) -> Option<Algorithm> {
    if !statement.sql.starts_with("ALTER TABLE ") {
        return None;
    }
    statement
        .steps
        .iter()
        .map(|i| plan.steps.get(*i).and_then(|s| s.algorithm))
        .collect::<Option<Vec<Algorithm>>>()?
        .into_iter()
        .max()
}

/// `sql` asking for `algorithm`.
pub(crate) fn with_algorithm(sql: &str, algorithm: Algorithm) -> String {
    format!("{sql}, {}", algorithm.clause())
}

/// The statements of the script a plan shows: each online `ALTER TABLE` with the
/// algorithm it is expected to take.
pub(crate) fn annotate(plan: &MigrationPlan, statements: Vec<RenderedStatement>) -> Vec<String> {
    statements
        .into_iter()
        .map(|s| match statement_algorithm(plan, &s) {
            Some(algorithm) => with_algorithm(&s.sql, algorithm),
            None => s.sql,
        })
        .collect()
}

/// The first table a statement changes, for messages.
fn table_of(plan: &MigrationPlan, statement: &RenderedStatement) -> String {
    statement
        .steps
        .iter()
        .find_map(|i| plan.steps.get(*i).and_then(|s| s.operation.table()))
        .map(quote_ident)
        .unwrap_or_else(|| "(unknown table)".into())
}

/// Refuses, before anything runs, a plan with statements expected to copy their table
/// when copying is not allowed.
///
/// # Errors
/// [`Error::Unsupported`] naming the tenant, each table and change, and the flags that
/// allow it.
pub(crate) fn refuse_copies(
    tenant: &TenantId,
    plan: &MigrationPlan,
    statements: &[RenderedStatement],
) -> Result<()> {
    let copying: Vec<String> = statements
        .iter()
        .filter(|s| statement_algorithm(plan, s) == Some(Algorithm::Copy))
        .map(|s| {
            format!(
                "table {} ({})",
                table_of(plan, s),
                describe_steps(plan, &s.steps)
            )
        })
        .collect();
    if copying.is_empty() {
        return Ok(());
    }
    Err(Error::Unsupported {
        tenant: Some(tenant.clone()),
        object: copying.join("; "),
        message: "the server can only make this change with ALGORITHM=COPY, which blocks writes while the table is copied, so --strategy online refuses it and applied nothing; run with --allow-copy (config key allow_copy) to copy anyway, or apply it with --strategy plain in a maintenance window".into(),
    })
}

/// What ran for one online statement.
pub(crate) struct Ran {
    /// The statement as sent, with the algorithm the server accepted (or none, for a
    /// permitted blocking fallback).
    pub sql: String,
}

/// Why an online statement did not run.
pub(crate) enum Failed {
    /// The server failed the statement for another reason than the algorithm (its lock
    /// wait, a duplicate, ...): `sql` is what was sent.
    Driver {
        sql: String,
        error: mysql_async::Error,
    },
    /// The server cannot make the change online and copying is not allowed.
    Refused(Box<OnlineRefused>),
}

/// `ER_ALTER_OPERATION_NOT_SUPPORTED` and `..._REASON`: the server cannot use the
/// requested algorithm or lock for this change; it changed nothing.
const NOT_SUPPORTED: [u16; 2] = [1845, 1846];

/// Runs `statement` of `plan` asking for `INSTANT`, then `INPLACE` without a lock, then,
/// when `allow_copy`, as the plain strategy would (the server's own choice, which blocks
/// writes). The server refuses an algorithm it cannot use before changing anything.
pub(crate) async fn run_statement(
    conn: &mut Conn,
    plan: &MigrationPlan,
    statement: &RenderedStatement,
    allow_copy: bool,
) -> std::result::Result<Ran, Failed> {
    let mut reasons = Vec::new();
    for algorithm in [Algorithm::Instant, Algorithm::Inplace] {
        let sql = with_algorithm(&statement.sql, algorithm);
        match conn.query_drop(sql.as_str()).await {
            Ok(()) => return Ok(Ran { sql }),
            Err(e) if error::server_code(&e).is_some_and(|c| NOT_SUPPORTED.contains(&c)) => {
                reasons.push(format!("{}: {e}", algorithm.clause()));
            }
            Err(error) => return Err(Failed::Driver { sql, error }),
        }
    }
    if !allow_copy {
        return Err(Failed::Refused(Box::new(OnlineRefused {
            table: table_of(plan, statement),
            change: describe_steps(plan, &statement.steps),
            reasons,
        })));
    }
    let sql = statement.sql.clone();
    match conn.query_drop(sql.as_str()).await {
        Ok(()) => Ok(Ran { sql }),
        Err(error) => Err(Failed::Driver { sql, error }),
    }
}

/// The server refused to change a table online and copying was not allowed.
#[derive(Debug)]
pub(crate) struct OnlineRefused {
    /// The table, quoted.
    pub table: String,
    /// The change, as plan steps.
    pub change: String,
    /// The server's answer to each algorithm asked for.
    pub reasons: Vec<String>,
}

impl std::fmt::Display for OnlineRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server cannot change table {} online ({}): it refused {}; --strategy online does not block writes without --allow-copy (config key allow_copy): run with it to let the server copy the table, or apply the change with --strategy plain in a maintenance window",
            self.table,
            self.change,
            self.reasons.join("; ")
        )
    }
}

impl std::error::Error for OnlineRefused {}

#[cfg(test)]
mod tests {
    use schema_sync_core::testing::{TableBuilder, snapshot};
    use schema_sync_core::{DefaultDiffCalculator, DiffCalculator};

    use super::*;

    fn mariadb() -> ServerInfo {
        ServerInfo::parse("10.11.6-MariaDB")
    }

    /// The online plan from `from` to `to`, refined for `server`: each step as
    /// `(operation, algorithm)`.
    fn algorithms(
        from: &SchemaSnapshot,
        to: &SchemaSnapshot,
        server: ServerInfo,
    ) -> Vec<(String, Option<Algorithm>)> {
        let diff = DefaultDiffCalculator.diff(from, to);
        let mut plan = OnlinePlanner
            .plan(from, to, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        refine(&mut plan, server);
        plan.steps
            .iter()
            .map(|s| (s.operation.to_string(), s.algorithm))
            .collect()
    }

    fn users(extra: bool) -> schema_sync_core::snapshot::Table {
        let builder = TableBuilder::new()
            .column("id", "int", true)
            .column("email", "varchar", false)
            .primary_key(&["id"]);
        if extra {
            builder
                .column("note", "text", false)
                .index("users_email_idx", &["email"])
                .build()
        } else {
            builder.build()
        }
    }

    #[test]
    fn changes_to_a_live_table_are_marked_and_a_new_table_is_not() {
        let from = snapshot([("users", users(false))]);
        let orgs = TableBuilder::new()
            .column("id", "int", true)
            .index("orgs_id_idx", &["id"])
            .build();
        let to = snapshot([("users", users(true)), ("orgs", orgs)]);
        let got = algorithms(&from, &to, mariadb());
        let of = |needle: &str| {
            got.iter()
                .find(|(op, _)| op.starts_with(needle))
                .unwrap_or_else(|| panic!("no step {needle:?} in {got:?}"))
                .1
        };
        assert_eq!(of("add column users.note"), Some(Algorithm::Instant));
        assert_eq!(of("create index users_email_idx"), Some(Algorithm::Inplace));
        assert_eq!(of("create table orgs"), None);
        assert_eq!(of("create index orgs_id_idx"), None, "{got:?}");
    }

    #[test]
    fn a_type_change_is_expected_to_copy_and_a_default_change_is_instant() {
        let column = |name: &str| Column::new(DataType::named(name));
        let retype = Operation::AlterColumn {
            table: "t".into(),
            name: "a".into(),
            from: column("int"),
            to: column("varchar"),
        };
        assert_eq!(expected(&retype, mariadb()), Algorithm::Copy);
        let redefault = Operation::AlterColumn {
            table: "t".into(),
            name: "a".into(),
            from: column("int"),
            to: Column {
                default: Some("5".into()),
                ..column("int")
            },
        };
        assert_eq!(expected(&redefault, mariadb()), Algorithm::Instant);
        let not_null = Operation::AlterColumn {
            table: "t".into(),
            name: "a".into(),
            from: column("int"),
            to: Column {
                nullable: false,
                ..column("int")
            },
        };
        assert_eq!(expected(&not_null, mariadb()), Algorithm::Inplace);
    }

    #[test]
    fn mysql_before_8_0_29_adds_a_column_in_place() {
        let add = Operation::AddColumn {
            table: "t".into(),
            name: "b".into(),
            column: Column::new(DataType::named("int")),
            placement: Default::default(),
        };
        assert_eq!(
            expected(&add, ServerInfo::parse("8.0.28")),
            Algorithm::Inplace
        );
        assert_eq!(
            expected(&add, ServerInfo::parse("8.0.36")),
            Algorithm::Instant
        );
    }

    #[test]
    fn a_statement_takes_the_most_blocking_algorithm_of_its_steps() {
        let from = snapshot([("users", users(false))]);
        let to = snapshot([("users", users(true))]);
        let diff = DefaultDiffCalculator.diff(&from, &to);
        let mut plan = OnlinePlanner
            .plan(&from, &to, &diff)
            .unwrap_or_else(|e| panic!("{e}"));
        refine(&mut plan, mariadb());
        let all = RenderedStatement::for_steps(
            (0..plan.steps.len()).collect(),
            "ALTER TABLE `users` ADD COLUMN ...",
        );
        assert_eq!(statement_algorithm(&plan, &all), Some(Algorithm::Inplace));
        let create = RenderedStatement {
            sql: "CREATE TABLE `x` (...)".into(),
            ..all.clone()
        };
        assert_eq!(statement_algorithm(&plan, &create), None);
        assert_eq!(
            annotate(&plan, vec![all])[0],
            "ALTER TABLE `users` ADD COLUMN ..., ALGORITHM=INPLACE, LOCK=NONE"
        );
    }
}
