//! Plan operations to MySQL/MariaDB SQL, with one table's changes combined.
//!
//! Each `ALTER TABLE` may rebuild the table, so the changes a plan makes to one table are
//! gathered into as few statements as the server allows: a new table's indexes and
//! foreign keys go into its `CREATE TABLE`, and the column, key, index, check and option
//! changes of an existing table into one `ALTER TABLE`. Two rules split them:
//!
//! - A step is only moved later, never earlier, and a pending table statement is written
//!   out as soon as a step that depends on it comes (the plan's `depends_on`), so every
//!   statement still finds what it needs.
//! - Foreign keys are dropped in a statement of their own before the rest: InnoDB cannot
//!   drop and re-add a foreign key of the same name in one copying `ALTER TABLE`. Indexes
//!   backing a dropped foreign key are dropped after it, in the main statement, which
//!   also adds any new foreign key together with the index it needs.
//!
//! Identifiers are quoted with backticks and string literals escaped; the only text used
//! verbatim is what the server itself printed (defaults, expressions, view and trigger
//! bodies), which it reads back as the same thing.

use std::collections::{BTreeSet, HashMap};

use schema_sync_core::plan::{ColumnPlacement, CommentTarget, RenderedStatement};
use schema_sync_core::snapshot::{Column, Index, IndexPart, SchemaSnapshot, Table, TableOptions};
use schema_sync_core::{Error, MigrationPlan, Operation, Result, TenantId};

mod clauses;
mod grouping;
mod programs;

use crate::connect::{Flavor, ServerInfo};
use crate::sql::{quote_ident, quote_literal};
use crate::types::is_textual;
use grouping::{is_alter_clause, is_create_clause, relations};

/// What rendering a plan for one tenant needs besides the plan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderContext<'a> {
    /// The tenant, named in errors; `None` where there is none (unit tests).
    pub tenant: Option<&'a TenantId>,
    /// MySQL or MariaDB and its version: some clauses differ.
    pub server: ServerInfo,
    /// The tenant's live schema, when [`needs_live_schema`] says the plan needs it.
    pub live: Option<&'a SchemaSnapshot>,
}

/// An operation MySQL cannot express: the object and what to do. The tenant is filled
/// in by [`render_plan`].
fn unsupported(object: impl Into<String>, message: impl Into<String>) -> Error {
    Error::Unsupported {
        tenant: None,
        object: object.into(),
        message: message.into(),
    }
}

/// Whether rendering `plan` needs the live schema: a table's default collation changes
/// (the columns that follow it move along), a column is dropped and re-added to change
/// its generation (the indexes using it are restored), or the comment of an index that
/// stays changes (the index is added again from its live definition).
pub(crate) fn needs_live_schema(plan: &MigrationPlan) -> bool {
    plan.steps.iter().any(|s| match &s.operation {
        Operation::AlterTableOptions { from, to, .. } => {
            from.collation != to.collation || from.charset != to.charset
        }
        Operation::AlterColumn { from, to, .. } => switches_generation(from, to),
        // A new comment on an index that stays: it is rebuilt from its live definition.
        Operation::SetComment {
            object: CommentTarget::Index { table, name },
            ..
        } => !creates_index(plan, table, name),
        _ => false,
    })
}

/// Whether `plan` creates the index `table.name`, comment included.
fn creates_index(plan: &MigrationPlan, table: &str, name: &str) -> bool {
    plan.steps.iter().any(|s| match &s.operation {
        Operation::CreateIndex {
            table: t, name: n, ..
        } => t == table && n == name,
        Operation::CreateTable {
            name: t,
            table: new,
        } => t == table && new.indexes.contains_key(name),
        _ => false,
    })
}

/// Renders `plan` to statements, in order, each with the plan steps it carries out.
/// `context.live` is the tenant's current schema, used when a table's default collation
/// changes (to move the columns that follow it along), when a column is dropped and
/// re-added (to restore its indexes) and when an index that stays gets a new comment.
///
/// # Errors
/// [`Error::Unsupported`] naming the tenant and object, for an operation MySQL cannot
/// express (sequences on MySQL, enum types, extensions, deferrable constraints, partial
/// indexes, arrays), or that this server's version cannot (`COMPRESSED` on MySQL, `SRID`
/// on MariaDB, `INVISIBLE` columns before MySQL 8.0.23, `DESC` key parts before MariaDB
/// 10.8).
pub(crate) fn render_plan(
    plan: &MigrationPlan,
    context: &RenderContext<'_>,
) -> Result<Vec<RenderedStatement>> {
    render_statements(plan, context).map_err(|mut e| {
        if let Error::Unsupported { tenant, .. } = &mut e {
            *tenant = context.tenant.cloned();
        }
        e
    })
}

fn render_statements(
    plan: &MigrationPlan,
    context: &RenderContext<'_>,
) -> Result<Vec<RenderedStatement>> {
    let mut r = Renderer {
        plan,
        server: context.server,
        flavor: context.server.flavor,
        live: context.live,
        out: Vec::new(),
        pending: Vec::new(),
    };
    for (index, step) in plan.steps.iter().enumerate() {
        let op = &step.operation;
        if matches!(
            op,
            Operation::ReorderColumns {
                required: false,
                ..
            }
        ) {
            // A hint for databases that rebuild tables; MySQL moves columns only when
            // column order is strict (the step is then required).
            continue;
        }
        if let Operation::SetComment {
            object: CommentTarget::Index { table, name },
            comment,
        } = op
        {
            // An index comment is part of the index: one the plan creates has it already,
            // one that stays is dropped and added again with the new comment.
            if !creates_index(plan, table, name) {
                r.flush(table)?;
                let sql = r.recomment_index(table, name, comment.as_deref())?;
                r.out.push(RenderedStatement::for_step(index, sql));
            }
            continue;
        }
        let joins = r.joinable_group(op);
        let mine = relations(op);
        let blocking: Vec<String> = step
            .depends_on
            .iter()
            .filter(|d| {
                // The planner also links steps through column type names, which order
                // user-defined types elsewhere; MySQL has none, so only shared tables
                // and views count.
                r.plan
                    .steps
                    .get(**d)
                    .is_some_and(|dep| !relations(&dep.operation).is_disjoint(&mine))
            })
            .filter_map(|d| r.group_of(*d))
            .filter(|g| Some(g.as_str()) != joins.as_deref())
            .collect();
        for table in blocking {
            r.flush(&table)?;
        }
        match op {
            Operation::CreateTable { name, .. } => r.pending.push(Group {
                table: name.clone(),
                create: true,
                steps: vec![index],
            }),
            _ if joins.is_some() => {
                if let Some(group) = r
                    .pending
                    .iter_mut()
                    .find(|g| Some(&g.table) == joins.as_ref())
                {
                    group.steps.push(index);
                }
            }
            _ => match op.table().filter(|_| is_alter_clause(op)) {
                Some(table) => {
                    if r.pending.iter().any(|g| g.table == table) {
                        r.flush(table)?;
                    }
                    r.pending.push(Group {
                        table: table.to_string(),
                        create: false,
                        steps: vec![index],
                    });
                }
                None => {
                    let sql = r.standalone(op)?;
                    r.out.push(RenderedStatement::for_step(index, sql));
                }
            },
        }
    }
    while let Some(table) = r.pending.first().map(|g| g.table.clone()) {
        r.flush(&table)?;
    }
    Ok(r.out)
}

/// Steps waiting to be written as one table statement.
struct Group {
    table: String,
    /// Starts with `CREATE TABLE` (else `ALTER TABLE`).
    create: bool,
    steps: Vec<usize>,
}

struct Renderer<'a> {
    plan: &'a MigrationPlan,
    server: ServerInfo,
    flavor: Flavor,
    live: Option<&'a SchemaSnapshot>,
    out: Vec<RenderedStatement>,
    pending: Vec<Group>,
}

/// Whether a column change turns a column into or out of a generated one, or switches
/// it between `VIRTUAL` and `STORED`: no server does that in place.
fn switches_generation(from: &Column, to: &Column) -> bool {
    let stored = |c: &Column| c.generated.as_ref().map(|g| g.stored);
    stored(from) != stored(to)
}

impl Renderer<'_> {
    /// The pending group `op` can join, if any.
    fn joinable_group(&self, op: &Operation) -> Option<String> {
        let table = op.table()?;
        let group = self.pending.iter().find(|g| g.table == table)?;
        let fits = if group.create {
            is_create_clause(op)
        } else {
            is_alter_clause(op)
        };
        fits.then(|| table.to_string())
    }

    /// The pending group holding step `index`.
    fn group_of(&self, index: usize) -> Option<String> {
        self.pending
            .iter()
            .find(|g| g.steps.contains(&index))
            .map(|g| g.table.clone())
    }

    /// Writes out the pending statement(s) of `table`.
    fn flush(&mut self, table: &str) -> Result<()> {
        let Some(at) = self.pending.iter().position(|g| g.table == table) else {
            return Ok(());
        };
        let group = self.pending.remove(at);
        if group.create {
            let sql = self.create_table(&group)?;
            self.out
                .push(RenderedStatement::for_steps(group.steps, sql));
            return Ok(());
        }
        let (fk_drops, rest): (Vec<usize>, Vec<usize>) = group.steps.iter().partition(|i| {
            matches!(
                self.plan.steps[**i].operation,
                Operation::DropForeignKey { .. }
            )
        });
        for steps in [fk_drops, rest] {
            if steps.is_empty() {
                continue;
            }
            let sql = self.alter_table(table, &steps)?;
            self.out.push(RenderedStatement::for_steps(steps, sql));
        }
        Ok(())
    }

    fn op(&self, index: usize) -> &Operation {
        &self.plan.steps[index].operation
    }

    fn create_table(&self, group: &Group) -> Result<String> {
        let Some(Operation::CreateTable { name, table }) = group.steps.first().map(|i| self.op(*i))
        else {
            return Err(unsupported(
                &group.table,
                "internal error: no CREATE TABLE step",
            ));
        };
        let mut table: Table = table.clone();
        for index in &group.steps[1..] {
            match self.op(*index) {
                Operation::AddPrimaryKey { key, .. } => table.primary_key = Some(key.clone()),
                Operation::AddUnique { name, unique, .. } => {
                    table.uniques.insert(name.clone(), unique.clone());
                }
                Operation::AddCheck { name, check, .. } => {
                    table.checks.insert(name.clone(), check.clone());
                }
                Operation::AddForeignKey {
                    name, foreign_key, ..
                } => {
                    table.foreign_keys.insert(name.clone(), foreign_key.clone());
                }
                Operation::CreateIndex { name, index, .. } => {
                    table.indexes.insert(name.clone(), index.clone());
                }
                Operation::SetTableComment { comment, .. } => table.comment = comment.clone(),
                _ => {}
            }
        }
        let mut lines = Vec::new();
        for (column_name, column) in table.ordered_columns() {
            lines.push(clauses::column(
                self.server,
                name,
                column_name,
                column,
                None,
            )?);
        }
        if let Some(pk) = &table.primary_key {
            lines.push(format!("PRIMARY KEY ({})", clauses::columns(&pk.columns)));
        }
        for (unique_name, unique) in &table.uniques {
            clauses::check_unique(name, unique_name, unique)?;
            lines.push(format!(
                "UNIQUE KEY {} ({})",
                quote_ident(unique_name),
                clauses::columns(&unique.columns)
            ));
        }
        for (index_name, index) in &table.indexes {
            lines.push(clauses::index(self.server, name, index_name, index)?);
        }
        for (check_name, check) in &table.checks {
            lines.push(format!(
                "CONSTRAINT {} CHECK ({})",
                quote_ident(check_name),
                check.expression
            ));
        }
        for (fk_name, fk) in &table.foreign_keys {
            lines.push(clauses::foreign_key_sql(name, fk_name, fk)?);
        }
        let options = clauses::table_options(name, &table.options, table.comment.as_deref())?;
        Ok(format!(
            "CREATE TABLE {} (\n  {}\n){}",
            quote_ident(name),
            lines.join(",\n  "),
            options
        ))
    }

    fn alter_table(&self, table: &str, steps: &[usize]) -> Result<String> {
        let override_collation = steps.iter().find_map(|i| match self.op(*i) {
            Operation::AlterTableOptions { from, to, .. }
                if from.collation != to.collation || from.charset != to.charset =>
            {
                to.collation.as_deref()
            }
            _ => None,
        });
        let toggled = self.visibility_toggles(steps);
        // A column both changed and moved is restated once, by the move (the server
        // refuses two MODIFY clauses of one column): that carries the target definition.
        let moved: BTreeSet<&str> = steps
            .iter()
            .flat_map(|i| match self.op(*i) {
                Operation::ReorderColumns { from, to, .. } => moved_columns(from, to),
                _ => Vec::new(),
            })
            .collect();
        let mut parts = Vec::new();
        for index in steps {
            match self.op(*index) {
                Operation::AlterColumn { name, from, to, .. }
                    if moved.contains(name.as_str()) && !switches_generation(from, to) => {}
                Operation::DropIndex { name, .. } if toggled.contains(name.as_str()) => {}
                Operation::CreateIndex { name, index, .. } if toggled.contains(name.as_str()) => {
                    let state = match (self.flavor, index.invisible) {
                        (Flavor::MariaDb, true) => "IGNORED",
                        (Flavor::MariaDb, false) => "NOT IGNORED",
                        (Flavor::MySql, true) => "INVISIBLE",
                        (Flavor::MySql, false) => "VISIBLE",
                    };
                    parts.push(format!("ALTER INDEX {} {state}", quote_ident(name)));
                }
                op => parts.extend(self.alter_clauses(table, op, override_collation)?),
            }
        }
        Ok(format!(
            "ALTER TABLE {} {}",
            quote_ident(table),
            parts.join(", ")
        ))
    }

    /// Indexes that `steps` drop and create again differing only in visibility: they are
    /// switched with `ALTER INDEX` instead (no rebuild, and MariaDB keeps the old
    /// visibility when an identical index is dropped and added in one statement).
    fn visibility_toggles(&self, steps: &[usize]) -> BTreeSet<&str> {
        let dropped: HashMap<&str, &Index> = steps
            .iter()
            .filter_map(|i| match self.op(*i) {
                Operation::DropIndex { name, from, .. } => Some((name.as_str(), from)),
                _ => None,
            })
            .collect();
        steps
            .iter()
            .filter_map(|i| match self.op(*i) {
                Operation::CreateIndex { name, index, .. } => {
                    let old = dropped.get(name.as_str())?;
                    let same = Index {
                        invisible: index.invisible,
                        ..(*old).clone()
                    };
                    (same == *index && old.invisible != index.invisible).then_some(name.as_str())
                }
                _ => None,
            })
            .collect()
    }

    fn alter_clauses(
        &self,
        table: &str,
        op: &Operation,
        collation: Option<&str>,
    ) -> Result<Vec<String>> {
        use Operation::*;
        let one = |s: String| Ok(vec![s]);
        match op {
            AddColumn {
                name,
                column,
                placement,
                ..
            } => one(format!(
                "ADD COLUMN {}{}",
                clauses::column(self.server, table, name, column, collation)?,
                clauses::placement(placement)
            )),
            ReorderColumns {
                from, to, columns, ..
            } => self.reorder_clauses(table, from, to, columns, collation),
            DropColumn { name, .. } => one(format!("DROP COLUMN {}", quote_ident(name))),
            AlterColumn { name, from, to, .. } => {
                let definition = clauses::column(self.server, table, name, to, collation)?;
                if !switches_generation(from, to) {
                    return one(format!("MODIFY COLUMN {definition}"));
                }
                // Neither server can turn a column into or out of a generated one, or
                // switch VIRTUAL and STORED, in place: the column is dropped and added
                // again, and the live indexes using it, which the drop would cut, are
                // dropped before and added back after.
                let indexes = self.live_indexes_using(table, name);
                let mut parts: Vec<String> = indexes
                    .iter()
                    .map(|(index, _)| format!("DROP INDEX {}", quote_ident(index)))
                    .collect();
                parts.push(format!("DROP COLUMN {}", quote_ident(name)));
                parts.push(format!(
                    "ADD COLUMN {definition}{}",
                    clauses::placement(&self.readd_placement(table, name, to))
                ));
                for (index, definition) in indexes {
                    parts.push(format!(
                        "ADD {}",
                        clauses::index(self.server, table, &index, &definition)?
                    ));
                }
                Ok(parts)
            }
            AddPrimaryKey { key, .. } => one(format!(
                "ADD PRIMARY KEY ({})",
                clauses::columns(&key.columns)
            )),
            DropPrimaryKey { .. } => one("DROP PRIMARY KEY".to_string()),
            AddUnique { name, unique, .. } => {
                clauses::check_unique(table, name, unique)?;
                one(format!(
                    "ADD UNIQUE KEY {} ({})",
                    quote_ident(name),
                    clauses::columns(&unique.columns)
                ))
            }
            DropUnique { name, .. } | DropIndex { name, .. } => {
                one(format!("DROP INDEX {}", quote_ident(name)))
            }
            AddCheck { name, check, .. } => one(format!(
                "ADD CONSTRAINT {} CHECK ({})",
                quote_ident(name),
                check.expression
            )),
            DropCheck { name, .. } => one(match self.flavor {
                Flavor::MariaDb => format!("DROP CONSTRAINT {}", quote_ident(name)),
                Flavor::MySql => format!("DROP CHECK {}", quote_ident(name)),
            }),
            AddForeignKey {
                name, foreign_key, ..
            } => one(format!(
                "ADD {}",
                clauses::foreign_key_sql(table, name, foreign_key)?
            )),
            DropForeignKey { name, .. } => one(format!("DROP FOREIGN KEY {}", quote_ident(name))),
            CreateIndex { name, index, .. } => one(format!(
                "ADD {}",
                clauses::index(self.server, table, name, index)?
            )),
            SetTableComment { comment, .. } => one(format!(
                "COMMENT = {}",
                quote_literal(comment.as_deref().unwrap_or_default())
            )),
            AlterTableOptions { from, to, .. } => self.option_clauses(table, from, to),
            other => Err(unsupported(table, format!("{other} is not a table change"))),
        }
    }

    /// `ALTER TABLE` that drops the live index `table.name` and adds it again with
    /// `comment`: neither server changes an index comment in place.
    fn recomment_index(&self, table: &str, name: &str, comment: Option<&str>) -> Result<String> {
        let Some(live) = self
            .live
            .and_then(|l| l.tables.get(table))
            .and_then(|t| t.indexes.get(name))
        else {
            return Err(unsupported(
                format!("{table}.{name}"),
                "internal error: the index whose comment changes is not in the live schema; run again to re-plan",
            ));
        };
        let index = Index {
            comment: comment.map(str::to_string),
            ..live.clone()
        };
        Ok(format!(
            "ALTER TABLE {} DROP INDEX {}, ADD {}",
            quote_ident(table),
            quote_ident(name),
            clauses::index(self.server, table, name, &index)?
        ))
    }

    /// Where a column dropped and added again (to change its generation) goes: at the
    /// target's position `to.position` among the live columns the plan keeps, so the
    /// drop leaves no column-order difference; without a live schema or position, last.
    fn readd_placement(&self, table: &str, column: &str, to: &Column) -> ColumnPlacement {
        let Some(live) = self.live.and_then(|l| l.tables.get(table)) else {
            return ColumnPlacement::Last;
        };
        let dropped: BTreeSet<&str> = self
            .plan
            .steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::DropColumn { table: t, name, .. } if t == table => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let kept: Vec<&str> = live
            .column_order()
            .into_iter()
            .filter(|c| *c != column && !dropped.contains(c))
            .collect();
        let position = usize::try_from(to.position).unwrap_or(0);
        match position {
            0 => ColumnPlacement::Last,
            1 => ColumnPlacement::First,
            n => kept.get(n - 2).map_or(ColumnPlacement::Last, |c| {
                ColumnPlacement::After(c.to_string())
            }),
        }
    }

    /// Indexes (and unique keys, as unique indexes) of the live `table` that use
    /// `column` and that the plan does not itself drop or create.
    fn live_indexes_using(&self, table: &str, column: &str) -> Vec<(String, Index)> {
        let Some(live) = self.live.and_then(|l| l.tables.get(table)) else {
            return Vec::new();
        };
        let planned: BTreeSet<&str> = self
            .plan
            .steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::DropIndex { table: t, name, .. }
                | Operation::CreateIndex { table: t, name, .. }
                | Operation::DropUnique { table: t, name, .. }
                | Operation::AddUnique { table: t, name, .. }
                    if t == table =>
                {
                    Some(name.as_str())
                }
                _ => None,
            })
            .collect();
        let uses = |parts: &[IndexPart]| {
            parts
                .iter()
                .any(|p| matches!(p, IndexPart::Column { name, .. } if name == column))
        };
        let uniques = live.uniques.iter().map(|(name, u)| {
            let index = Index {
                parts: u.columns.iter().map(IndexPart::column).collect(),
                unique: true,
                method: None,
                predicate: None,
                include: Vec::new(),
                invisible: false,
                ..Default::default()
            };
            (name.clone(), index)
        });
        live.indexes
            .iter()
            .map(|(name, index)| (name.clone(), index.clone()))
            .chain(uniques)
            .filter(|(name, index)| !planned.contains(name.as_str()) && uses(&index.parts))
            .collect()
    }

    /// Option changes; a new default collation also moves every text column that
    /// followed the old default and that the plan does not otherwise touch.
    fn option_clauses(
        &self,
        table: &str,
        from: &TableOptions,
        to: &TableOptions,
    ) -> Result<Vec<String>> {
        clauses::check_options(table, to)?;
        let mut parts = Vec::new();
        if let Some(engine) = to.engine.as_deref().filter(|_| from.engine != to.engine) {
            parts.push(format!("ENGINE = {}", clauses::bare_name(table, engine)?));
        }
        parts.extend(clauses::create_option_changes(table, from, to)?);
        let collation_changes = from.collation != to.collation || from.charset != to.charset;
        if collation_changes {
            if let Some(charset) = &to.charset {
                parts.push(format!(
                    "DEFAULT CHARACTER SET = {}",
                    clauses::bare_name(table, charset)?
                ));
            }
            if let Some(collation) = &to.collation {
                parts.push(format!(
                    "COLLATE = {}",
                    clauses::bare_name(table, collation)?
                ));
                let touched: BTreeSet<&str> = self
                    .plan
                    .steps
                    .iter()
                    .flat_map(|s| match &s.operation {
                        Operation::AddColumn { table: t, name, .. }
                        | Operation::DropColumn { table: t, name, .. }
                        | Operation::AlterColumn { table: t, name, .. }
                            if t == table =>
                        {
                            vec![name.as_str()]
                        }
                        Operation::ReorderColumns {
                            table: t, from, to, ..
                        } if t == table => moved_columns(from, to),
                        _ => Vec::new(),
                    })
                    .collect();
                let live_columns = self
                    .live
                    .and_then(|l| l.tables.get(table))
                    .map(|t| &t.columns);
                for (name, column) in live_columns.into_iter().flatten() {
                    let follows_default = column.collation.is_none() && column.generated.is_none();
                    if follows_default
                        && is_textual(&column.data_type)
                        && !touched.contains(name.as_str())
                    {
                        parts.push(format!(
                            "MODIFY COLUMN {}",
                            clauses::column(self.server, table, name, column, Some(collation))?
                        ));
                    }
                }
            }
        }
        Ok(parts)
    }

    /// `MODIFY COLUMN ... AFTER` clauses that put the columns of `table` from the order
    /// `from` into the order `to`, restating each moved column's full definition from
    /// `columns` (every attribute, `INVISIBLE` and `COMPRESSED` included). Only columns
    /// outside a longest run already in order move.
    fn reorder_clauses(
        &self,
        table: &str,
        from: &[String],
        to: &[String],
        columns: &std::collections::BTreeMap<String, Column>,
        collation: Option<&str>,
    ) -> Result<Vec<String>> {
        let moved: BTreeSet<&str> = moved_columns(from, to).into_iter().collect();
        let mut parts = Vec::new();
        for (at, name) in to.iter().enumerate() {
            if !moved.contains(name.as_str()) {
                continue;
            }
            let object = format!("{table}.{name}");
            let Some(column) = columns.get(name) else {
                return Err(unsupported(
                    object,
                    "internal error: the reorder step lacks this column's definition",
                ));
            };
            let placement = match at.checked_sub(1).and_then(|p| to.get(p)) {
                Some(previous) => ColumnPlacement::After(previous.clone()),
                None => ColumnPlacement::First,
            };
            parts.push(format!(
                "MODIFY COLUMN {}{}",
                clauses::column(self.server, table, name, column, collation)?,
                clauses::placement(&placement)
            ));
        }
        Ok(parts)
    }

    /// Statements that are not part of a table statement.
    fn standalone(&self, op: &Operation) -> Result<String> {
        use Operation::*;
        match op {
            DropTable { name, .. } => Ok(format!("DROP TABLE {}", quote_ident(name))),
            CreateView { name, view } => {
                if view.materialized {
                    return Err(unsupported(
                        name,
                        "materialized views do not exist in MySQL; make it a table or a plain view",
                    ));
                }
                Ok(format!(
                    "CREATE VIEW {} AS {}",
                    quote_ident(name),
                    view.definition
                ))
            }
            DropView { name, .. } => Ok(format!("DROP VIEW {}", quote_ident(name))),
            CreateTrigger { name, trigger, .. } => {
                if !trigger.enabled.is_default() {
                    return Err(unsupported(
                        format!("trigger {name}"),
                        "MySQL triggers cannot be disabled or fire by replication role; remove that from the target",
                    ));
                }
                Ok(trigger.definition.clone())
            }
            DropTrigger { name, .. } => Ok(format!("DROP TRIGGER {}", quote_ident(name))),
            CreateExtension { name, .. } | DropExtension { name, .. } => Err(unsupported(
                format!("extension {name}"),
                "MySQL has no extensions; remove it from the target",
            )),
            CreateEnum { name, .. } | AlterEnum { name, .. } | DropEnum { name, .. } => {
                Err(unsupported(
                    format!("type {name}"),
                    "MySQL has no enum types; use an ENUM(...) column",
                ))
            }
            CreateSequence { name, sequence } => {
                programs::create_sequence(self.flavor, name, sequence)
            }
            AlterSequence { name, to, .. } => programs::alter_sequence(self.flavor, name, to),
            DropSequence { name, .. } => programs::drop_sequence(self.flavor, name),
            CreateFunction { function, .. } => Ok(function.definition.clone()),
            DropFunction { name, .. } => Ok(programs::drop_routine(name)),
            CreateEvent { event, .. } => Ok(event.definition.clone()),
            DropEvent { name, .. } => Ok(programs::drop_event(name)),
            SetComment { object, comment } => programs::set_comment(object, comment.as_deref()),
            other => Err(unsupported(
                other.table().unwrap_or_default(),
                format!("{other} cannot be rendered on its own"),
            )),
        }
    }
}

/// The columns that must move to turn the order `from` into `to`: every column of `to`
/// outside one longest subsequence that `from` already has in that order (columns only
/// in `from` are ignored).
fn moved_columns<'a>(from: &[String], to: &'a [String]) -> Vec<&'a str> {
    let rank: HashMap<&str, usize> = to
        .iter()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    // Ranks in `to` of the columns in their `from` order; its longest increasing
    // subsequence stays put.
    let ranks: Vec<usize> = from
        .iter()
        .filter_map(|name| rank.get(name.as_str()).copied())
        .collect();
    let mut length = vec![1usize; ranks.len()];
    let mut back: Vec<Option<usize>> = vec![None; ranks.len()];
    for i in 0..ranks.len() {
        for j in 0..i {
            if ranks[j] < ranks[i] && length[j] + 1 > length[i] {
                length[i] = length[j] + 1;
                back[i] = Some(j);
            }
        }
    }
    let mut stay = BTreeSet::new();
    let mut cursor = (0..ranks.len()).max_by_key(|i| (length[*i], usize::MAX - *i));
    while let Some(i) = cursor {
        stay.insert(ranks[i]);
        cursor = back[i];
    }
    to.iter()
        .enumerate()
        .filter(|(i, _)| !stay.contains(i))
        .map(|(_, name)| name.as_str())
        .collect()
}

/// The steps of a plan grouped by the statement that carries them out, for messages.
pub(crate) fn describe_steps(plan: &MigrationPlan, steps: &[usize]) -> String {
    steps
        .iter()
        .filter_map(|i| plan.steps.get(*i))
        .map(|s| s.operation.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Counts how many statements touch each table, for tests of the combining rules.
#[cfg(test)]
fn statements_per_table(
    statements: &[RenderedStatement],
    plan: &MigrationPlan,
) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for s in statements {
        let tables: BTreeSet<&str> = s
            .steps
            .iter()
            .filter_map(|i| plan.steps[*i].operation.table())
            .collect();
        for t in tables {
            *counts.entry(t.to_string()).or_insert(0) += 1;
        }
    }
    counts
}

#[cfg(test)]
mod attribute_tests;
#[cfg(test)]
mod tests;
