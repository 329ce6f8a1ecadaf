//! Plan operations to PostgreSQL DDL.
//!
//! Every identifier is quoted with [`quote_ident`] and every string literal with
//! [`quote_literal`]; objects of the tenant are qualified with the tenant's schema, so a
//! statement means the same whatever the session's `search_path`. The only text taken
//! verbatim is what PostgreSQL itself produced when the snapshot was inspected:
//! expressions (defaults, checks, index predicates), view bodies, and function and
//! trigger definitions. Those are tenant-relative and run with `search_path` pinned to
//! the tenant, which is how they were deparsed.
//!
//! One operation becomes one or more statements ([`render_plan`] tags each with its
//! step, so the runner can say which step failed). The plan as a whole is consulted for
//! a few PostgreSQL specifics: a serial sequence is created before its table, so its
//! `OWNED BY` is set once the column exists; a function that is replaced is not dropped
//! (triggers still use it) but recreated with `CREATE OR REPLACE`; a view that is dropped
//! and created again gets its grants and owner back (`render/privileges.rs`).

use schema_sync_core::plan::{MigrationPlan, Operation, RenderedStatement};
use schema_sync_core::snapshot::{
    CheckConstraint, Deferrable, EnumType, ForeignKey, Index, IndexPart, KeyOptions, Table,
    UniqueConstraint, View,
};
use schema_sync_core::{Error, Result, SchemaSnapshot, TenantId};

use crate::catalog::index_builds::IndexBuilds;
use crate::catalog::privileges::Privileges;
#[cfg(doc)]
use crate::sql::operator_class_text;
use crate::sql::relative::{TENANT, localize_function};
use crate::sql::{
    OperatorClass, parse_operator_class, parse_quoted, parse_quoted_pair, quote_ident,
    quote_literal,
};
use objects::view_kind;

/// What rendering needs besides the plan: which tenant, where it lives and how it is now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RenderContext<'a> {
    /// The tenant, for errors.
    pub tenant: &'a TenantId,
    /// The tenant's schema, which qualifies every object of the tenant; `None` for a
    /// migration file that tenants share (`plan --layout`), whose names stay bare and
    /// resolve through the session's `search_path`.
    pub schema: Option<&'a str>,
    /// The tenant as it is now, for what the plan does not say (columns that use an enum
    /// being rebuilt, generated columns that depend on a column being retyped).
    pub live: &'a SchemaSnapshot,
    /// Grants and owners of the live views, for views the plan drops and creates again.
    pub privileges: &'a Privileges,
    /// INVALID leftovers under the names the plan builds, and the partitions of the
    /// partitioned tables whose index the plan builds after commit.
    pub index_builds: &'a IndexBuilds,
}

/// Renders every step of `plan` for the tenant of `context`, in step order; each
/// statement names the one step it carries out.
///
/// # Errors
/// [`Error::Unsupported`] for an operation PostgreSQL cannot express (MySQL and SQLite
/// table options, a storage parameter whose name is not an identifier, virtual generated columns, `AUTO_INCREMENT`, `ON UPDATE`,
/// MySQL column and index attributes such as `INVISIBLE` or key prefix lengths).
pub(crate) fn render_plan(
    plan: &MigrationPlan,
    context: &RenderContext<'_>,
) -> Result<Vec<RenderedStatement>> {
    if let Some((object, attributes)) = plan
        .steps
        .iter()
        .find_map(|s| s.operation.mysql_only_attributes())
    {
        return Err(Error::Unsupported {
            tenant: Some(context.tenant.clone()),
            object,
            message: format!(
                "{} exist only in MySQL/MariaDB; remove them from the target",
                attributes.join(", ")
            ),
        });
    }
    if let Some(refusal) = placement::refusal(plan, context.live, context.tenant) {
        return Err(refusal);
    }
    let renderer = Renderer {
        tenant: context.tenant,
        schema: context.schema,
        plan,
        live: context.live,
        privileges: context.privileges,
        index_builds: context.index_builds,
    };
    let mut out = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        if let Some(statements) = renderer.index_build_statements(index, &step.operation) {
            out.extend(statements);
            continue;
        }
        out.extend(
            renderer
                .operation(index, &step.operation)?
                .into_iter()
                .map(|sql| RenderedStatement::for_step(index, sql)),
        );
    }
    Ok(out)
}

/// Whether `to` only adds labels to `from` (keeping its order) and no other step uses a
/// new label (PostgreSQL cannot use a label added in the same transaction).
fn can_add_values(plan: &MigrationPlan, from: &EnumType, to: &EnumType) -> bool {
    let mut kept = to.values.iter().filter(|v| from.values.contains(v));
    let in_order = from.values.iter().all(|v| kept.next() == Some(v));
    if !in_order {
        return false;
    }
    let added: Vec<String> = to
        .values
        .iter()
        .filter(|v| !from.values.contains(v))
        .map(|v| quote_literal(v))
        .collect();
    let used_later = plan.steps.iter().any(|step| {
        !matches!(
            step.operation,
            Operation::AlterEnum { .. } | Operation::CreateEnum { .. }
        ) && serde_json::to_string(&step.operation)
            .map(|text| added.iter().any(|label| text.contains(label.as_str())))
            .unwrap_or(true)
    });
    !used_later
}

struct Renderer<'a> {
    tenant: &'a TenantId,
    schema: Option<&'a str>,
    plan: &'a MigrationPlan,
    /// The tenant as it is now, for what the plan does not say (columns that use an enum
    /// being rebuilt, generated columns that depend on a column being retyped).
    live: &'a SchemaSnapshot,
    /// Grants and owners of the live views, for views the plan drops and creates again.
    privileges: &'a Privileges,
    /// What the catalog says about the indexes the plan builds.
    index_builds: &'a IndexBuilds,
}

impl Renderer<'_> {
    /// `"tenant"."name"`, or `"name"` in a shared file.
    fn q(&self, name: &str) -> String {
        match self.schema {
            Some(schema) => format!("{}.{}", quote_ident(schema), quote_ident(name)),
            None => quote_ident(name),
        }
    }

    fn unsupported(&self, object: String, message: &str) -> Error {
        Error::Unsupported {
            tenant: Some(self.tenant.clone()),
            object,
            message: message.to_string(),
        }
    }

    fn operation(&self, index: usize, op: &Operation) -> Result<Vec<String>> {
        use Operation::*;
        Ok(match op {
            CreateEvent { name, .. } | DropEvent { name, .. } => {
                return Err(self.unsupported(
                    format!("event {name}"),
                    "PostgreSQL has no scheduled events; schedule the job outside the database (pg_cron, cron) and remove the event from the target",
                ));
            }
            CreateExtension { name, extension } => {
                // In a shared file an extension of the tenant's own schema goes to the
                // first schema of the search_path, which is the tenant's.
                let schema = extension.schema.as_deref().or(self.schema);
                let clause = schema
                    .map(|s| format!(" SCHEMA {}", quote_ident(s)))
                    .unwrap_or_default();
                vec![format!(
                    "CREATE EXTENSION IF NOT EXISTS {}{clause}",
                    quote_ident(name)
                )]
            }
            DropExtension { name, .. } => {
                vec![format!("DROP EXTENSION IF EXISTS {}", quote_ident(name))]
            }
            CreateEnum { name, values } => vec![format!(
                "CREATE TYPE {} AS ENUM ({})",
                self.q(name),
                literals(values)
            )],
            AlterEnum { name, from, to } => self.alter_enum(name, from, to),
            DropEnum { name, .. } => vec![format!("DROP TYPE {}", self.q(name))],
            CreateSequence { name, sequence } => self.create_sequence(name, sequence),
            AlterSequence { name, from, to } => self.alter_sequence(name, from, to),
            DropSequence { name, .. } => {
                vec![format!("DROP SEQUENCE IF EXISTS {}", self.q(name))]
            }
            CreateTable { name, table } => self.create_table(name, table)?,
            DropTable { name, from } => {
                let mut out = self.disown_sequences(name, None);
                if let Some(partition) = &from.partition_of {
                    // A partition of a table that foreign keys reference cannot be
                    // dropped while attached: detaching checks and releases the keys.
                    out.push(self.detach_partition(name, partition));
                }
                out.push(format!("DROP TABLE {}", self.q(name)));
                out
            }
            // A hint only: PostgreSQL never rebuilds a table, the order stays as it is.
            ReorderColumns {
                required: false, ..
            } => Vec::new(),
            ReorderColumns { table, .. } => {
                return Err(self.unsupported(
                    table.clone(),
                    "PostgreSQL cannot reorder columns without rebuilding the table; run without --strict-column-order",
                ));
            }
            // PostgreSQL can only append a column: the placement is ignored, and a
            // target whose order differs is reported by ReorderColumns.
            AddColumn {
                table,
                name,
                column,
                ..
            } => {
                let mut out = self.add_column(table, name, column)?;
                out.extend(self.own_sequences(table, Some(name)));
                out
            }
            DropColumn { table, name, .. } => self.drop_column(index, table, name)?,
            AlterColumn {
                table,
                name,
                from,
                to,
            } => self.alter_column(index, table, name, from, to)?,
            AddPrimaryKey { table, key } => {
                let constraint = key
                    .name
                    .as_ref()
                    .map(|n| format!("CONSTRAINT {} ", quote_ident(n)))
                    .unwrap_or_default();
                vec![format!(
                    "ALTER TABLE {} ADD {constraint}PRIMARY KEY ({})",
                    self.q(table),
                    idents(&key.columns)
                )]
            }
            DropPrimaryKey { table, from } => {
                let name = from.name.clone().unwrap_or_else(|| format!("{table}_pkey"));
                vec![self.drop_constraint(table, &name)]
            }
            DropUnique { table, name, .. }
            | DropCheck { table, name, .. }
            | DropForeignKey { table, name, .. } => vec![self.drop_constraint(table, name)],
            AddCheck { table, name, check } => vec![format!(
                "ALTER TABLE {} ADD {}",
                self.q(table),
                check_clause(name, check)
            )],
            ValidateConstraint { table, name } => vec![format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {}",
                self.q(table),
                quote_ident(name)
            )],
            AddForeignKey {
                table,
                name,
                foreign_key,
            } => vec![format!(
                "ALTER TABLE {} ADD {}",
                self.q(table),
                self.foreign_key_clause(name, foreign_key)
            )],
            CreateIndex { .. } | AddUnique { .. } => self
                .index_build_statements(index, op)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.sql)
                .collect(),
            DropIndex { name, .. } => vec![format!(
                "DROP INDEX {}{}",
                self.concurrently(index),
                self.q(name)
            )],
            CreateTrigger {
                table,
                name,
                trigger,
            } => self.create_trigger(table, name, trigger),
            SetTriggerEnabled {
                table, name, to, ..
            } => vec![self.set_trigger_enabled(table, name, *to)],
            CreatePolicy {
                table,
                name,
                policy,
            } => vec![self.create_policy(table, name, policy)],
            DropPolicy { table, name, .. } => vec![self.drop_policy(table, name)],
            DropTrigger { table, name, .. } => vec![format!(
                "DROP TRIGGER {} ON {}",
                quote_ident(name),
                self.q(table)
            )],
            SetTableComment { table, comment } => vec![format!(
                "COMMENT ON TABLE {} IS {}",
                self.q(table),
                comment_literal(comment.as_deref())
            )],
            AlterTableOptions { table, from, to } => self.alter_table_options(table, from, to)?,
            CreateView { name, view } => {
                let kind = view_kind(view.materialized);
                let mut out = self.create_view(name, view);
                if let Some(privileges) = self.privileges.get(name) {
                    out.extend(privileges::restore(kind, &self.q(name), privileges));
                }
                out
            }
            DropView { name, from } => {
                let kind = view_kind(from.materialized);
                vec![format!("DROP {kind} {}", self.q(name))]
            }
            CreateFunction { name, function } => match self.schema {
                Some(schema) => vec![localize_function(&function.definition, schema)],
                None if function.definition.contains(TENANT) => {
                    return Err(self.unsupported(
                        format!("function {name}"),
                        "its definition names the tenant's own schema (SET search_path or a qualified name), which a migration file shared by several tenants cannot; export one file per tenant with plan --out without --layout",
                    ));
                }
                None => vec![function.definition.clone()],
            },
            DropFunction { name, .. } => {
                let replaced = self.plan.steps[index + 1..].iter().any(|s| {
                    matches!(&s.operation, Operation::CreateFunction { name: n, .. } if n == name)
                });
                if replaced {
                    // CREATE OR REPLACE keeps the function's identity, so triggers that
                    // call it need not be dropped.
                    Vec::new()
                } else {
                    let (function, arguments) = split_signature(name).ok_or_else(|| {
                        self.unsupported(
                            format!("function {name}"),
                            "the function key is not of the form name(arguments); drop it by hand",
                        )
                    })?;
                    vec![format!("DROP ROUTINE {}({arguments})", self.q(&function))]
                }
            }
            SetPrivileges { object, from, to } => self.set_privileges(object, from, to)?,
            SetComment { object, comment } => vec![self.set_comment(object, comment.as_deref())?],
            CreateDomain { name, domain } => self.create_domain(name, domain),
            AlterDomain { name, from, to } => self.alter_domain(name, from, to)?,
            DropDomain { name, .. } => vec![format!("DROP DOMAIN {}", self.q(name))],
            AttachPartition { table, partition } => vec![self.attach_partition(table, partition)],
            DetachPartition { table, from } => vec![self.detach_partition(table, from)],
        })
    }

    fn drop_constraint(&self, table: &str, name: &str) -> String {
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            self.q(table),
            quote_ident(name)
        )
    }

    fn create_table(&self, name: &str, table: &Table) -> Result<Vec<String>> {
        let mut parts = Vec::new();
        // In the target's order (its attnum order when it was inspected from PostgreSQL).
        // A partition has its parent's columns.
        if table.partition_of.is_none() {
            for (column_name, column) in table.ordered_columns() {
                parts.push(self.column_definition(name, column_name, column)?);
            }
        }
        if let Some(key) = &table.primary_key {
            let constraint = key
                .name
                .as_ref()
                .map(|n| format!("CONSTRAINT {} ", quote_ident(n)))
                .unwrap_or_default();
            parts.push(format!(
                "{constraint}PRIMARY KEY ({})",
                idents(&key.columns)
            ));
        }
        for (unique_name, unique) in &table.uniques {
            parts.push(unique_clause(unique_name, unique));
        }
        // CREATE TABLE marks every constraint valid: NOT VALID ones are added after it.
        let mut not_valid = Vec::new();
        for (check_name, check) in &table.checks {
            let clause = check_clause(check_name, check);
            if check.not_valid {
                not_valid.push(clause);
            } else {
                parts.push(clause);
            }
        }
        for (fk_name, fk) in &table.foreign_keys {
            let clause = self.foreign_key_clause(fk_name, fk);
            if fk.not_valid {
                not_valid.push(clause);
            } else {
                parts.push(clause);
            }
        }
        self.check_table_options(name, &table.options)?;
        let owned_sequences = self.own_sequences(name, None);
        // PostgreSQL 15 makes the sequences a table owns as unlogged as the table, when
        // the table is created or altered, not when it takes ownership: an unlogged table
        // that owns new sequences is created logged and altered once it owns them.
        let unlogged_later = table.options.unlogged && !owned_sequences.is_empty();
        let storage = self.with_storage_parameters(name, &table.options)?;
        let mut out = vec![self.create_table_statement(
            name,
            table,
            &parts,
            table.options.unlogged && !unlogged_later,
            &storage,
        )];
        out.extend(
            not_valid
                .into_iter()
                .map(|clause| format!("ALTER TABLE {} ADD {clause}", self.q(name))),
        );
        if let Some(comment) = &table.comment {
            out.push(format!(
                "COMMENT ON TABLE {} IS {}",
                self.q(name),
                quote_literal(comment)
            ));
        }
        for (column_name, column) in table.ordered_columns() {
            out.extend(self.column_comment(name, column_name, column.comment.as_deref(), false));
        }
        for (index_name, index) in &table.indexes {
            out.push(self.create_index(name, index_name, index));
        }
        for (trigger_name, trigger) in &table.triggers {
            out.extend(self.create_trigger(name, trigger_name, trigger));
        }
        out.extend(self.after_create_table(name, table));
        out.extend(owned_sequences);
        if unlogged_later {
            out.push(format!("ALTER TABLE {} SET UNLOGGED", self.q(name)));
        }
        Ok(out)
    }

    fn foreign_key_clause(&self, name: &str, fk: &ForeignKey) -> String {
        let target = match &fk.referenced_schema {
            Some(schema) => format!(
                "{}.{}",
                quote_ident(schema),
                quote_ident(&fk.referenced_table)
            ),
            None => self.q(&fk.referenced_table),
        };
        let set_columns = if fk.delete_set_columns.is_empty() {
            String::new()
        } else {
            format!(" ({})", idents(&fk.delete_set_columns))
        };
        format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {target} ({}){} ON DELETE {}{set_columns} ON UPDATE {}{}{}",
            quote_ident(name),
            idents(&fk.columns),
            idents(&fk.referenced_columns),
            if fk.match_full { " MATCH FULL" } else { "" },
            fk.on_delete.as_sql(),
            fk.on_update.as_sql(),
            deferrable_clause(fk.deferrable),
            if fk.not_valid { " NOT VALID" } else { "" }
        )
    }

    /// `CREATE [MATERIALIZED] VIEW`, its comment, and a materialized view's indexes.
    pub(super) fn create_view(&self, name: &str, view: &View) -> Vec<String> {
        let kind = view_kind(view.materialized);
        let mut out = vec![format!(
            "CREATE {kind} {} AS\n{}",
            self.q(name),
            view.definition
        )];
        if let Some(comment) = &view.comment {
            out.push(format!(
                "COMMENT ON {kind} {} IS {}",
                self.q(name),
                quote_literal(comment)
            ));
        }
        for (index_name, index) in &view.indexes {
            out.push(self.create_index(name, index_name, index));
        }
        out
    }

    /// `CONCURRENTLY ` for an index step that runs outside the tenant's transaction (the
    /// online strategy), where a concurrent build or drop is possible; else nothing.
    fn concurrently(&self, step: usize) -> &'static str {
        if self
            .plan
            .steps
            .get(step)
            .is_some_and(|s| s.outside_transaction)
        {
            "CONCURRENTLY "
        } else {
            ""
        }
    }

    pub(super) fn create_index(&self, table: &str, name: &str, index: &Index) -> String {
        self.create_index_with(table, name, index, "")
    }

    /// `CREATE INDEX`, with `concurrently` (`CONCURRENTLY ` or nothing) after `INDEX`.
    fn create_index_with(
        &self,
        table: &str,
        name: &str,
        index: &Index,
        concurrently: &str,
    ) -> String {
        self.index_statement(name, &self.q(table), index, concurrently)
    }

    /// `CREATE INDEX` of `name` on `on` (a qualified table, or `ONLY` and one), with
    /// `concurrently` (`CONCURRENTLY ` or nothing) after `INDEX`.
    fn index_statement(&self, name: &str, on: &str, index: &Index, concurrently: &str) -> String {
        let parts: Vec<String> = index
            .parts
            .iter()
            .map(|part| match part {
                IndexPart::Column {
                    name,
                    descending,
                    options,
                    ..
                } => format!("{}{}", quote_ident(name), key_options(*descending, options)),
                IndexPart::Expression {
                    sql,
                    descending,
                    options,
                } => format!("({sql}){}", key_options(*descending, options)),
            })
            .collect();
        let mut out = format!(
            "CREATE {}INDEX {concurrently}{} ON {on}",
            if index.unique { "UNIQUE " } else { "" },
            quote_ident(name),
        );
        if let Some(method) = &index.method {
            out.push_str(&format!(" USING {}", quote_ident(method)));
        }
        out.push_str(&format!(" ({})", parts.join(", ")));
        if !index.include.is_empty() {
            out.push_str(&format!(" INCLUDE ({})", idents(&index.include)));
        }
        if index.nulls_not_distinct {
            out.push_str(" NULLS NOT DISTINCT");
        }
        if !index.storage_parameters.is_empty() {
            let parameters: Vec<String> = index
                .storage_parameters
                .iter()
                .map(|(name, value)| format!("{} = {}", quote_ident(name), quote_literal(value)))
                .collect();
            out.push_str(&format!(" WITH ({})", parameters.join(", ")));
        }
        if let Some(predicate) = &index.predicate {
            out.push_str(&format!(" WHERE {predicate}"));
        }
        out
    }
}

/// `CONSTRAINT "n" CHECK (expression) [NOT VALID]`.
fn check_clause(name: &str, check: &CheckConstraint) -> String {
    format!(
        "CONSTRAINT {} CHECK ({}){}",
        quote_ident(name),
        check.expression,
        if check.not_valid { " NOT VALID" } else { "" }
    )
}

/// What follows an index key: `COLLATE c opclass(params) DESC NULLS FIRST`, each only
/// when set.
fn key_options(descending: bool, options: &KeyOptions) -> String {
    let mut out = String::new();
    if let Some(collation) = &options.collation {
        out.push_str(&format!(" COLLATE {}", render_collation(collation)));
    }
    if let Some(class) = &options.operator_class {
        out.push(' ');
        out.push_str(&render_operator_class(class));
    }
    if descending {
        out.push_str(" DESC");
    }
    match options.nulls_first {
        Some(true) => out.push_str(" NULLS FIRST"),
        Some(false) => out.push_str(" NULLS LAST"),
        None => {}
    }
    out
}

/// An operator class as the inspector stores it (see [`operator_class_text`]), with
/// every name quoted and every parameter value a literal. Text of another form is
/// quoted whole as one name, so PostgreSQL reports it as an unknown operator class.
fn render_operator_class(class: &str) -> String {
    let Some(OperatorClass { names, parameters }) = parse_operator_class(class) else {
        return quote_ident(class);
    };
    let name: Vec<String> = names.iter().map(|n| quote_ident(n)).collect();
    let mut out = name.join(".");
    if !parameters.is_empty() {
        let list: Vec<String> = parameters
            .iter()
            .map(|(key, value)| format!("{} = {}", quote_ident(key), quote_literal(value)))
            .collect();
        out.push_str(&format!(" ({})", list.join(", ")));
    }
    out
}

/// `CONSTRAINT "n" UNIQUE [NULLS NOT DISTINCT] ("a", "b") [DEFERRABLE ...]`.
pub(super) fn unique_clause(name: &str, unique: &UniqueConstraint) -> String {
    format!(
        "CONSTRAINT {} UNIQUE {}({}){}",
        quote_ident(name),
        if unique.nulls_not_distinct {
            "NULLS NOT DISTINCT "
        } else {
            ""
        },
        idents(&unique.columns),
        deferrable_clause(unique.deferrable)
    )
}

pub(super) fn deferrable_clause(deferrable: Deferrable) -> &'static str {
    match deferrable {
        Deferrable::NotDeferrable => "",
        Deferrable::InitiallyImmediate => " DEFERRABLE INITIALLY IMMEDIATE",
        Deferrable::InitiallyDeferred => " DEFERRABLE INITIALLY DEFERRED",
    }
}

/// Quoted, comma-separated identifiers.
pub(super) fn idents(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote_ident(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Quoted, comma-separated literals.
fn literals(values: &[String]) -> String {
    values
        .iter()
        .map(|v| quote_literal(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn comment_literal(comment: Option<&str>) -> String {
    comment
        .map(quote_literal)
        .unwrap_or_else(|| "NULL".to_string())
}

/// A collation as the inspector stores it: a bare name (from `pg_catalog` or the tenant)
/// or `"schema"."name"` for one in another schema.
pub(crate) fn render_collation(collation: &str) -> String {
    match parse_quoted_pair(collation) {
        Some((schema, name)) => format!("{}.{}", quote_ident(&schema), quote_ident(&name)),
        None => quote_ident(collation),
    }
}

/// Splits a function key `name(arguments)` (name quoted by PostgreSQL where needed) into
/// the bare name and the argument list.
fn split_signature(key: &str) -> Option<(String, &str)> {
    let (name, rest) = if key.starts_with('"') {
        parse_quoted(key)?
    } else {
        let open = key.find('(')?;
        (key[..open].to_string(), &key[open..])
    };
    let arguments = rest.strip_prefix('(')?.strip_suffix(')')?;
    Some((name, arguments))
}

#[cfg(test)]
mod tests;

mod columns;
mod comments;
mod domains;
mod grants;
mod index_builds;
pub(crate) mod index_names;
mod objects;
mod partitions;
mod placement;
mod privileges;
mod security;
mod type_sql;
