//! The human-readable text form of a diff, as printed by `schema-sync diff`; the SQL-like
//! text of schema objects, which plan steps reuse, is in `render_objects.rs`.
//!
//! Everything is written in SQL terms, never in Rust debug form: an added object shows its
//! definition, a modified one lists each changed attribute as `before -> after`
//! (`on delete restrict -> cascade`, `type varchar(50) -> varchar(100)`, `default none -> 0`).

use std::fmt::{self, Write as _};

use super::model::{Change, Named, SchemaDiff, TableChange, TableModification};
use crate::snapshot::TableOptions;

impl SchemaDiff {
    /// Renders the diff as indented text, one line per changed object:
    /// `+` added, `-` removed, `~` modified. Empty when nothing differs.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = self.write_text(&mut out);
        out
    }

    fn write_text(&self, out: &mut String) -> fmt::Result {
        for table in &self.tables {
            match &table.change {
                TableChange::Added { to } => {
                    writeln!(
                        out,
                        "+ table {} ({})",
                        table.name,
                        columns(to.columns.len())
                    )?;
                }
                TableChange::Removed { from } => {
                    writeln!(
                        out,
                        "- table {} ({})",
                        table.name,
                        columns(from.columns.len())
                    )?;
                }
                TableChange::Modified(m) => {
                    writeln!(out, "~ table {}", table.name)?;
                    write_table_parts(out, m)?;
                }
            }
        }
        write_named(out, "", &self.views, view_kind, describe_view, view_changes)?;
        write_named(
            out,
            "",
            &self.sequences,
            |_| "sequence",
            |s| s.to_string(),
            sequence_changes,
        )?;
        write_named(
            out,
            "",
            &self.enums,
            |_| "enum",
            |e| e.to_string(),
            |from, to| vec![format!("{from} -> {to}")],
        )?;
        write_named(
            out,
            "",
            &self.functions,
            |_| "function",
            |_| String::new(),
            |_, _| vec!["definition changed".to_string()],
        )?;
        write_named(
            out,
            "",
            &self.events,
            |_| "event",
            |_| String::new(),
            |_, _| vec!["definition changed".to_string()],
        )?;
        write_named(
            out,
            "",
            &self.extensions,
            |_| "extension",
            |e| e.to_string(),
            |from, to| {
                vec![format!(
                    "schema {} -> {}",
                    or_default(&from.schema),
                    or_default(&to.schema)
                )]
            },
        )?;
        for change in &self.unsupported {
            if let Some(object) = change.to().or(change.from()) {
                writeln!(
                    out,
                    "{} {} (not modelled: cannot be synced)",
                    change.sign(),
                    describe_unsupported(object)
                )?;
            }
        }
        Ok(())
    }
}

/// The changed parts of a modified table, indented under its `~ table` line.
fn write_table_parts(out: &mut String, m: &TableModification) -> fmt::Result {
    const INDENT: &str = "    ";
    write_named(
        out,
        INDENT,
        &m.columns,
        |_| "column",
        |c| c.to_string(),
        column_changes,
    )?;
    if let Some(pk) = &m.primary_key {
        match pk {
            Change::Added { to } => writeln!(out, "{INDENT}+ primary key {to}")?,
            Change::Removed { from } => writeln!(out, "{INDENT}- primary key {from}")?,
            Change::Modified { from, to } => {
                writeln!(out, "{INDENT}~ primary key {from} -> {to}")?;
            }
        }
    }
    write_named(
        out,
        INDENT,
        &m.uniques,
        |_| "unique",
        |u| u.to_string(),
        unique_changes,
    )?;
    write_named(
        out,
        INDENT,
        &m.checks,
        |_| "check",
        |c| c.to_string(),
        |from, to| vec![format!("{from} -> {to}")],
    )?;
    write_named(
        out,
        INDENT,
        &m.foreign_keys,
        |_| "foreign key",
        |fk| fk.to_string(),
        foreign_key_changes,
    )?;
    write_named(
        out,
        INDENT,
        &m.indexes,
        |_| "index",
        |i| i.to_string(),
        index_changes,
    )?;
    write_named(
        out,
        INDENT,
        &m.triggers,
        |_| "trigger",
        |t| {
            if t.enabled.is_default() {
                String::new()
            } else {
                t.enabled.to_string()
            }
        },
        trigger_changes,
    )?;
    write_named(
        out,
        INDENT,
        &m.policies,
        |_| "policy",
        |p| p.to_string(),
        policy_changes,
    )?;
    if let Some(comment) = &m.comment {
        match comment {
            Change::Added { to } => writeln!(out, "{INDENT}+ comment {}", sql_string(to))?,
            Change::Removed { from } => {
                writeln!(out, "{INDENT}- comment {}", sql_string(from))?;
            }
            Change::Modified { from, to } => writeln!(
                out,
                "{INDENT}~ comment {} -> {}",
                sql_string(from),
                sql_string(to)
            )?,
        }
    }
    if let Some(options) = &m.options {
        let (from, to) = match options {
            Change::Added { to } => (TableOptions::default(), to.clone()),
            Change::Removed { from } => (from.clone(), TableOptions::default()),
            Change::Modified { from, to } => (from.clone(), to.clone()),
        };
        writeln!(
            out,
            "{INDENT}~ options {}",
            options_changes(&from, &to).join(", ")
        )?;
    }
    if let Some(order) = &m.column_order {
        writeln!(
            out,
            "{INDENT}~ column order ({}) -> ({}), drift only when column order is strict",
            order.from.join(", "),
            order.to.join(", "),
        )?;
    }
    Ok(())
}

/// `1 column`, `3 columns`.
pub(crate) fn columns(count: usize) -> String {
    format!("{count} column{}", if count == 1 { "" } else { "s" })
}

/// Writes one line per named change: `+ kind name definition`, `- kind name definition`,
/// `~ kind name: attribute a -> b, ...`.
fn write_named<T>(
    out: &mut String,
    indent: &str,
    items: &[Named<T>],
    kind: impl Fn(&T) -> &'static str,
    describe: impl Fn(&T) -> String,
    changes: impl Fn(&T, &T) -> Vec<String>,
) -> fmt::Result {
    for item in items {
        let (kind, detail) = match &item.change {
            Change::Added { to } => (kind(to), describe(to)),
            Change::Removed { from } => (kind(from), describe(from)),
            Change::Modified { from, to } => {
                let mut parts = changes(from, to);
                if parts.is_empty() {
                    parts.push("changed".to_string());
                }
                (kind(to), format!(": {}", parts.join(", ")))
            }
        };
        let sep = if detail.is_empty() || detail.starts_with(':') {
            ""
        } else {
            " "
        };
        writeln!(
            out,
            "{indent}{} {kind} {}{sep}{detail}",
            item.change.sign(),
            item.name
        )?;
    }
    Ok(())
}

#[path = "render_objects.rs"]
mod objects;

pub use objects::column_definition;
use objects::{
    column_changes, describe_unsupported, describe_view, foreign_key_changes, index_changes,
    options_changes, or_default, policy_changes, sequence_changes, sql_string, trigger_changes,
    unique_changes, view_changes, view_kind,
};

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
