//! Table options (persistence, storage parameters, row-level security), row-level
//! security policies, and when triggers fire.
//!
//! Storage parameters come from `pg_class.reloptions`, which PostgreSQL stores as
//! `name=value` text as the user typed it; they are never pasted: a name must be a plain
//! lower-case identifier (optionally `toast.`-prefixed), and a value is written bare only
//! when it is a number, otherwise as a string literal (which PostgreSQL accepts for every
//! parameter).

use schema_sync_core::Result;
use schema_sync_core::snapshot::{Policy, Table, TableOptions, Trigger, TriggerEnabled};

use super::Renderer;
use crate::sql::{quote_ident, quote_literal};

impl Renderer<'_> {
    /// Refuses options PostgreSQL has no counterpart for (MySQL's engine, charset and
    /// collation, SQLite's `WITHOUT ROWID` and `STRICT`).
    pub(super) fn check_table_options(&self, table: &str, options: &TableOptions) -> Result<()> {
        if options.has_mysql_or_sqlite_options() {
            return Err(self.unsupported(
                format!("table {table}"),
                "PostgreSQL has no engine, charset or SQLite table options; remove them from the target",
            ));
        }
        Ok(())
    }

    /// ` WITH (name = value, ...)` of a `CREATE TABLE`, or nothing.
    pub(super) fn with_storage_parameters(
        &self,
        table: &str,
        options: &TableOptions,
    ) -> Result<String> {
        if options.storage_parameters.is_empty() {
            return Ok(String::new());
        }
        let mut settings = Vec::with_capacity(options.storage_parameters.len());
        for (name, value) in &options.storage_parameters {
            settings.push(self.storage_parameter(table, name, Some(value))?);
        }
        Ok(format!(" WITH ({})", settings.join(", ")))
    }

    /// What follows the `CREATE TABLE` of `table`: row-level security, and the table's
    /// policies when it carries them (the default planner creates those in their own
    /// steps).
    pub(super) fn after_create_table(&self, name: &str, table: &Table) -> Vec<String> {
        let mut out = self.row_security(name, &TableOptions::default(), &table.options);
        for (policy_name, policy) in &table.policies {
            out.push(self.create_policy(name, policy_name, policy));
        }
        out
    }

    /// `ALTER TABLE` statements taking `table` from options `from` to `to`.
    pub(super) fn alter_table_options(
        &self,
        table: &str,
        from: &TableOptions,
        to: &TableOptions,
    ) -> Result<Vec<String>> {
        self.check_table_options(table, to)?;
        let alter = format!("ALTER TABLE {}", self.q(table));
        let mut out = Vec::new();
        if from.unlogged != to.unlogged {
            let persistence = if to.unlogged { "UNLOGGED" } else { "LOGGED" };
            out.push(format!("{alter} SET {persistence}"));
        }
        let mut reset = Vec::new();
        for name in from.storage_parameters.keys() {
            if !to.storage_parameters.contains_key(name) {
                reset.push(self.storage_parameter(table, name, None)?);
            }
        }
        if !reset.is_empty() {
            out.push(format!("{alter} RESET ({})", reset.join(", ")));
        }
        let mut set = Vec::new();
        for (name, value) in &to.storage_parameters {
            if from.storage_parameters.get(name) != Some(value) {
                set.push(self.storage_parameter(table, name, Some(value))?);
            }
        }
        if !set.is_empty() {
            out.push(format!("{alter} SET ({})", set.join(", ")));
        }
        out.extend(self.row_security(table, from, to));
        Ok(out)
    }

    /// `name = value` (or the bare `name` to reset), validated.
    fn storage_parameter(&self, table: &str, name: &str, value: Option<&str>) -> Result<String> {
        let plain_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
        if !plain_name {
            return Err(self.unsupported(
                format!("table {table}"),
                &format!("{name:?} is not a storage parameter name; fix the target"),
            ));
        }
        Ok(match value {
            None => name.to_string(),
            Some(value) if is_number(value) => format!("{name} = {value}"),
            Some(value) => format!("{name} = {}", quote_literal(value)),
        })
    }

    /// `ENABLE`/`DISABLE` and `FORCE`/`NO FORCE ROW LEVEL SECURITY` where they change.
    fn row_security(&self, table: &str, from: &TableOptions, to: &TableOptions) -> Vec<String> {
        let alter = format!("ALTER TABLE {}", self.q(table));
        let mut out = Vec::new();
        if from.row_security != to.row_security {
            let verb = if to.row_security { "ENABLE" } else { "DISABLE" };
            out.push(format!("{alter} {verb} ROW LEVEL SECURITY"));
        }
        if from.force_row_security != to.force_row_security {
            let verb = if to.force_row_security {
                "FORCE"
            } else {
                "NO FORCE"
            };
            out.push(format!("{alter} {verb} ROW LEVEL SECURITY"));
        }
        out
    }

    /// `CREATE POLICY "name" ON "tenant"."table" AS ... FOR ... TO ... USING (...) WITH
    /// CHECK (...)`; the expressions are PostgreSQL's own tenant-relative text.
    pub(super) fn create_policy(&self, table: &str, name: &str, policy: &Policy) -> String {
        let mut sql = format!(
            "CREATE POLICY {} ON {} AS {} FOR {}",
            quote_ident(name),
            self.q(table),
            if policy.restrictive {
                "RESTRICTIVE"
            } else {
                "PERMISSIVE"
            },
            policy.command.as_sql()
        );
        if !policy.roles.is_empty() {
            let roles: Vec<String> = policy
                .roles
                .iter()
                .map(|role| {
                    if role == "public" {
                        "PUBLIC".to_string()
                    } else {
                        quote_ident(role)
                    }
                })
                .collect();
            sql.push_str(&format!(" TO {}", roles.join(", ")));
        }
        if let Some(using) = &policy.using {
            sql.push_str(&format!(" USING ({using})"));
        }
        if let Some(check) = &policy.with_check {
            sql.push_str(&format!(" WITH CHECK ({check})"));
        }
        sql
    }

    /// `DROP POLICY "name" ON "tenant"."table"`.
    pub(super) fn drop_policy(&self, table: &str, name: &str) -> String {
        format!("DROP POLICY {} ON {}", quote_ident(name), self.q(table))
    }

    /// The trigger's definition, then the `ALTER TABLE` that sets when it fires unless
    /// that is the default.
    pub(super) fn create_trigger(&self, table: &str, name: &str, trigger: &Trigger) -> Vec<String> {
        let mut out = vec![trigger.definition.clone()];
        if !trigger.enabled.is_default() {
            out.push(self.set_trigger_enabled(table, name, trigger.enabled));
        }
        out
    }

    /// `ALTER TABLE ... ENABLE|DISABLE|ENABLE REPLICA|ENABLE ALWAYS TRIGGER "name"`.
    pub(super) fn set_trigger_enabled(
        &self,
        table: &str,
        name: &str,
        enabled: TriggerEnabled,
    ) -> String {
        let verb = match enabled {
            TriggerEnabled::Origin => "ENABLE",
            TriggerEnabled::Disabled => "DISABLE",
            TriggerEnabled::Replica => "ENABLE REPLICA",
            TriggerEnabled::Always => "ENABLE ALWAYS",
        };
        format!(
            "ALTER TABLE {} {verb} TRIGGER {}",
            self.q(table),
            quote_ident(name)
        )
    }
}

/// An unsigned or negative decimal number (`70`, `0.2`, `-1`, `1e-3`).
fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.parse::<f64>().is_ok_and(f64::is_finite)
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
}
