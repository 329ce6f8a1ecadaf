//! The human-readable text form of a diff, as printed by `schema-sync diff`.

use std::fmt::{self, Write as _};

use super::model::{Change, Named, SchemaDiff, TableChange};
use crate::snapshot::{Column, ForeignKey, Index, IndexPart, UniqueConstraint};

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
                    for column in &m.columns {
                        writeln!(
                            out,
                            "    {} column {}",
                            column.change.sign(),
                            describe_column(column)
                        )?;
                    }
                    if let Some(pk) = &m.primary_key {
                        let cols = |p: &crate::snapshot::PrimaryKey| p.columns.join(", ");
                        match pk {
                            Change::Added { to } => {
                                writeln!(out, "    + primary key ({})", cols(to))?
                            }
                            Change::Removed { from } => {
                                writeln!(out, "    - primary key ({})", cols(from))?
                            }
                            Change::Modified { from, to } => writeln!(
                                out,
                                "    ~ primary key ({}) -> ({})",
                                cols(from),
                                cols(to)
                            )?,
                        }
                    }
                    write_named(out, "unique", &m.uniques, describe_unique)?;
                    write_named(out, "check", &m.checks, |c| c.expression.clone())?;
                    write_named(out, "foreign key", &m.foreign_keys, describe_foreign_key)?;
                    write_named(out, "index", &m.indexes, describe_index)?;
                    write_named(out, "trigger", &m.triggers, |_| String::new())?;
                    if let Some(comment) = &m.comment {
                        writeln!(
                            out,
                            "    {} comment {:?}",
                            comment.sign(),
                            comment.to().or(comment.from())
                        )?;
                    }
                    if let Some(Change::Modified { from, to }) = &m.options {
                        writeln!(out, "    ~ options {from:?} -> {to:?}")?;
                    }
                }
            }
        }
        write_top(out, "view", &self.views)?;
        write_top(out, "sequence", &self.sequences)?;
        write_top(out, "enum", &self.enums)?;
        write_top(out, "function", &self.functions)?;
        write_top(out, "extension", &self.extensions)?;
        for change in &self.unsupported {
            let object = change.to().or(change.from());
            if let Some(object) = object {
                writeln!(
                    out,
                    "{} {} {} (not modelled: cannot be synced)",
                    change.sign(),
                    object.kind,
                    object.name
                )?;
            }
        }
        Ok(())
    }
}

/// `1 column`, `3 columns`.
pub(crate) fn columns(count: usize) -> String {
    format!("{count} column{}", if count == 1 { "" } else { "s" })
}

fn write_top<T>(out: &mut String, kind: &str, items: &[Named<T>]) -> fmt::Result {
    for item in items {
        writeln!(out, "{} {kind} {}", item.change.sign(), item.name)?;
    }
    Ok(())
}

fn write_named<T>(
    out: &mut String,
    kind: &str,
    items: &[Named<T>],
    describe: impl Fn(&T) -> String,
) -> fmt::Result {
    for item in items {
        let detail = item
            .change
            .to()
            .or(item.change.from())
            .map(&describe)
            .unwrap_or_default();
        let sep = if detail.is_empty() { "" } else { " " };
        writeln!(
            out,
            "    {} {kind} {}{sep}{detail}",
            item.change.sign(),
            item.name
        )?;
    }
    Ok(())
}

/// One line describing a column change: the definition when added or removed, the
/// changed attributes when modified.
fn describe_column(column: &Named<Column>) -> String {
    match &column.change {
        Change::Added { to } | Change::Removed { from: to } => {
            format!("{} {}", column.name, column_definition(to))
        }
        Change::Modified { from, to } => {
            let mut parts = Vec::new();
            if from.data_type != to.data_type {
                parts.push(format!("type {} -> {}", from.data_type, to.data_type));
            }
            if from.nullable != to.nullable {
                parts.push(if to.nullable {
                    "drop not null".to_string()
                } else {
                    "set not null".to_string()
                });
            }
            if from.default != to.default {
                parts.push(format!(
                    "default {} -> {}",
                    or_none(&from.default),
                    or_none(&to.default)
                ));
            }
            if from.identity != to.identity {
                parts.push(format!("identity {:?} -> {:?}", from.identity, to.identity));
            }
            if from.generated != to.generated {
                let gen_expr = |g: &Option<crate::snapshot::Generated>| {
                    g.as_ref().map(|g| g.expression.clone())
                };
                parts.push(format!(
                    "generated {} -> {}",
                    or_none(&gen_expr(&from.generated)),
                    or_none(&gen_expr(&to.generated))
                ));
            }
            if from.collation != to.collation {
                parts.push(format!(
                    "collation {} -> {}",
                    or_none(&from.collation),
                    or_none(&to.collation)
                ));
            }
            if from.on_update != to.on_update {
                parts.push(format!(
                    "on update {} -> {}",
                    or_none(&from.on_update),
                    or_none(&to.on_update)
                ));
            }
            if from.comment != to.comment {
                parts.push("comment".to_string());
            }
            format!("{}: {}", column.name, parts.join(", "))
        }
    }
}

fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("none")
}

/// A column definition in neutral SQL-like text: `varchar(255) not null default ''`.
pub fn column_definition(column: &Column) -> String {
    let mut text = column.data_type.to_string();
    if !column.nullable {
        text.push_str(" not null");
    }
    if let Some(default) = &column.default {
        text.push_str(" default ");
        text.push_str(default);
    }
    if let Some(generated) = &column.generated {
        text.push_str(&format!(" generated as ({})", generated.expression));
    }
    if let Some(identity) = &column.identity {
        text.push_str(&format!(" identity {identity:?}").to_lowercase());
    }
    text
}

fn describe_unique(unique: &UniqueConstraint) -> String {
    format!("({})", unique.columns.join(", "))
}

fn describe_foreign_key(fk: &ForeignKey) -> String {
    format!(
        "({}) -> {}({})",
        fk.columns.join(", "),
        fk.referenced_table,
        fk.referenced_columns.join(", ")
    )
}

fn describe_index(index: &Index) -> String {
    let parts: Vec<String> = index
        .parts
        .iter()
        .map(|p| match p {
            IndexPart::Column { name, .. } => name.clone(),
            IndexPart::Expression { sql, .. } => format!("({sql})"),
        })
        .collect();
    let unique = if index.unique { "unique " } else { "" };
    let predicate = index
        .predicate
        .as_ref()
        .map(|p| format!(" where {p}"))
        .unwrap_or_default();
    format!("{unique}({}){predicate}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use crate::diff::{DefaultDiffCalculator, DiffCalculator};
    use crate::snapshot::{CheckConstraint, Column, DataType, View};
    use crate::testing::{TableBuilder, snapshot};

    #[test]
    fn renders_every_kind_of_change() {
        let from = snapshot([
            (
                "users",
                TableBuilder::new()
                    .column("id", "integer", true)
                    .column("name", "varchar", false)
                    .column("legacy", "text", false)
                    .primary_key(&["id"])
                    .build(),
            ),
            (
                "old",
                TableBuilder::new().column("id", "integer", true).build(),
            ),
        ]);
        let mut to = snapshot([
            (
                "users",
                TableBuilder::new()
                    .column("id", "bigint", true)
                    .column("name", "varchar", true)
                    .column("email", "text", true)
                    .primary_key(&["id"])
                    .index("users_email_idx", &["email"])
                    .build(),
            ),
            (
                "orgs",
                TableBuilder::new()
                    .column("id", "integer", true)
                    .column("title", "text", false)
                    .build(),
            ),
        ]);
        if let Some(users) = to.tables.get_mut("users") {
            users.checks.insert(
                "email_shape".into(),
                CheckConstraint {
                    expression: "email like '%@%'".into(),
                },
            );
            if let Some(name) = users.columns.get_mut("name") {
                name.data_type = DataType::named("varchar").with_length(100);
                name.default = Some("''".into());
            }
            users.columns.insert(
                "score".into(),
                Column::new(DataType::named("numeric").with_precision(10, Some(2))),
            );
        }
        to.views.insert(
            "v".into(),
            View {
                definition: "select 1".into(),
                materialized: false,
                depends_on: Default::default(),
                comment: None,
            },
        );
        let text = DefaultDiffCalculator.diff(&from, &to).to_text();
        let expected = "\
- table old (1 column)
+ table orgs (2 columns)
~ table users
    + column email text not null
    ~ column id: type integer -> bigint
    - column legacy text
    ~ column name: type varchar -> varchar(100), set not null, default none -> ''
    + column score numeric(10,2)
    + check email_shape email like '%@%'
    + index users_email_idx (email)
+ view v
";
        assert_eq!(text, expected);
    }
}
