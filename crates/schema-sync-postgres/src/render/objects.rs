//! Sequences (and which column owns them) and enum types.

use std::collections::BTreeSet;

use schema_sync_core::plan::Operation;
use schema_sync_core::snapshot::{EnumType, Index, IndexPart, Sequence};

use super::columns::mentions;
use super::type_sql::render_type;
use super::{Renderer, can_add_values, literals};
use crate::sql::{quote_ident, quote_literal};

impl Renderer<'_> {
    pub(super) fn sequence_options(s: &Sequence) -> String {
        format!(
            "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
            render_type(&s.data_type),
            s.increment,
            s.min_value,
            s.max_value,
            s.start,
            s.cache,
            if s.cycle { "CYCLE" } else { "NO CYCLE" }
        )
    }

    pub(super) fn create_sequence(&self, name: &str, s: &Sequence) -> Vec<String> {
        let mut out = vec![format!(
            "CREATE SEQUENCE {} {}",
            self.q(name),
            Self::sequence_options(s)
        )];
        if let Some(owner) = &s.owned_by
            && !self.column_created_in_plan(owner)
        {
            out.push(self.owned_by(name, Some(owner)));
        }
        out
    }

    pub(super) fn alter_sequence(&self, name: &str, from: &Sequence, to: &Sequence) -> Vec<String> {
        let mut out = Vec::new();
        // The owner is set apart, the comment by its own operation.
        let options = |s: &Sequence| Sequence {
            owned_by: None,
            comment: None,
            ..s.clone()
        };
        let same_options = options(from) == options(to);
        if !same_options {
            out.push(format!(
                "ALTER SEQUENCE {} {}",
                self.q(name),
                Self::sequence_options(to)
            ));
        }
        if from.owned_by != to.owned_by {
            match &to.owned_by {
                Some(owner) if self.column_created_in_plan(owner) => {}
                owner => out.push(self.owned_by(name, owner.as_deref())),
            }
        }
        out
    }

    /// `ALTER SEQUENCE ... OWNED BY "tenant"."table"."column"` (or `NONE`).
    pub(super) fn owned_by(&self, sequence: &str, owner: Option<&str>) -> String {
        let target = match owner.and_then(|o| o.rsplit_once('.')) {
            Some((table, column)) => format!("{}.{}", self.q(table), quote_ident(column)),
            None => "NONE".to_string(),
        };
        format!("ALTER SEQUENCE {} OWNED BY {target}", self.q(sequence))
    }

    /// Sequences of the target owned by a column that the plan creates (in `table`, or
    /// only `column` of it): their `OWNED BY` is set once the column exists.
    pub(super) fn own_sequences(&self, table: &str, column: Option<&str>) -> Vec<String> {
        self.target_sequences()
            .filter(|(_, owner)| match owner.rsplit_once('.') {
                Some((t, c)) => t == table && column.is_none_or(|col| col == c),
                None => false,
            })
            .map(|(name, owner)| self.owned_by(name, Some(owner)))
            .collect()
    }

    /// Before a table or column is dropped: sequences it owns that the plan keeps (with
    /// another owner) are released so the drop does not take them along.
    pub(super) fn disown_sequences(&self, table: &str, column: Option<&str>) -> Vec<String> {
        self.plan
            .steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::AlterSequence { name, from, to } if from.owned_by != to.owned_by => {
                    let (t, c) = from.owned_by.as_deref()?.rsplit_once('.')?;
                    (t == table && column.is_none_or(|col| col == c))
                        .then(|| self.owned_by(name, None))
                }
                _ => None,
            })
            .collect()
    }

    /// `(sequence, owner)` for every sequence the plan creates or changes that has an owner.
    pub(super) fn target_sequences(&self) -> impl Iterator<Item = (&str, &str)> {
        self.plan.steps.iter().filter_map(|s| match &s.operation {
            Operation::CreateSequence { name, sequence } => {
                Some((name.as_str(), sequence.owned_by.as_deref()?))
            }
            Operation::AlterSequence { name, from, to } if from.owned_by != to.owned_by => {
                Some((name.as_str(), to.owned_by.as_deref()?))
            }
            _ => None,
        })
    }

    /// Whether the plan creates the column named by `owner` (`table.column`).
    pub(super) fn column_created_in_plan(&self, owner: &str) -> bool {
        let Some((table, column)) = owner.rsplit_once('.') else {
            return false;
        };
        self.plan.steps.iter().any(|s| match &s.operation {
            Operation::CreateTable { name, table: t } => {
                name == table && t.columns.contains_key(column)
            }
            Operation::AddColumn { table: t, name, .. } => t == table && name == column,
            _ => false,
        })
    }

    pub(super) fn alter_enum(&self, name: &str, from: &EnumType, to: &EnumType) -> Vec<String> {
        if can_add_values(self.plan, from, to) {
            let mut out = Vec::new();
            let mut previous: Option<&String> = None;
            for value in &to.values {
                if !from.values.contains(value) {
                    let position = match previous {
                        Some(p) => format!(" AFTER {}", quote_literal(p)),
                        None => from
                            .values
                            .first()
                            .map(|first| format!(" BEFORE {}", quote_literal(first)))
                            .unwrap_or_default(),
                    };
                    out.push(format!(
                        "ALTER TYPE {} ADD VALUE {}{position}",
                        self.q(name),
                        quote_literal(value)
                    ));
                }
                previous = Some(value);
            }
            return out;
        }
        self.rebuild_enum(name, to)
    }

    /// Labels removed or reordered: create the new type under a temporary name, move
    /// every column over through `text` (views reading those tables are dropped and
    /// recreated around it, column defaults are set again), drop the old type and give
    /// the new one its name.
    fn rebuild_enum(&self, name: &str, to: &EnumType) -> Vec<String> {
        let temporary = temporary_name(name);
        let dropped: BTreeSet<&str> = self
            .plan
            .steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::DropTable { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let columns: Vec<(&str, &str, u8, Option<&str>)> = self
            .live
            .tables
            .iter()
            .filter(|(table, _)| !dropped.contains(table.as_str()))
            .flat_map(|(table, t)| {
                t.columns.iter().filter_map(move |(column, c)| {
                    (c.data_type.name == name
                        && c.data_type.schema.is_none()
                        && c.generated.is_none())
                    .then_some((
                        table.as_str(),
                        column.as_str(),
                        c.data_type.array_dimensions,
                        c.default.as_deref(),
                    ))
                })
            })
            .collect();
        let tables: BTreeSet<&str> = columns.iter().map(|(t, ..)| *t).collect();
        let views = self.live_views_reading(&tables);
        let (indexes, checks) = self.live_expressions_over(&columns);

        let mut out = vec![format!(
            "CREATE TYPE {} AS ENUM ({})",
            self.q(&temporary),
            literals(&to.values)
        )];
        for view in views.iter().rev() {
            out.push(format!(
                "DROP {} {}",
                view_kind(self.live.views.get(*view).is_some_and(|v| v.materialized)),
                self.q(view)
            ));
        }
        for (_, name, _) in &indexes {
            out.push(format!("DROP INDEX {}", self.q(name)));
        }
        for (table, name, _) in &checks {
            out.push(format!(
                "ALTER TABLE {} DROP CONSTRAINT {}",
                self.q(table),
                quote_ident(name)
            ));
        }
        for (table, column, dimensions, default) in &columns {
            let alter = format!(
                "ALTER TABLE {} ALTER COLUMN {}",
                self.q(table),
                quote_ident(column)
            );
            if default.is_some() {
                out.push(format!("{alter} DROP DEFAULT"));
            }
            let brackets = "[]".repeat(usize::from(*dimensions));
            out.push(format!(
                "{alter} TYPE {new}{brackets} USING {}::text{brackets}::{new}{brackets}",
                quote_ident(column),
                new = self.q(&temporary),
            ));
        }
        out.push(format!("DROP TYPE {}", self.q(name)));
        out.push(format!(
            "ALTER TYPE {} RENAME TO {}",
            self.q(&temporary),
            quote_ident(name)
        ));
        for (table, column, _, live_default) in &columns {
            // The default the column should have now: the target's when the plan changes
            // the column (a removed label must not come back), none when the plan drops
            // or retypes it, else the live one.
            let planned = self.plan.steps.iter().find_map(|s| match &s.operation {
                Operation::AlterColumn {
                    table: t,
                    name,
                    from,
                    to,
                } if t == table && name == column => {
                    // A column retyped later gets its default in that step.
                    Some(
                        to.default
                            .as_deref()
                            .filter(|_| from.data_type == to.data_type),
                    )
                }
                Operation::DropColumn { table: t, name, .. } if t == table && name == column => {
                    Some(None)
                }
                _ => None,
            });
            if let Some(default) = planned.unwrap_or(*live_default) {
                out.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default}",
                    self.q(table),
                    quote_ident(column)
                ));
            }
        }
        for (table, name, expression) in &checks {
            out.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({expression})",
                self.q(table),
                quote_ident(name)
            ));
        }
        for (table, name, index) in &indexes {
            out.push(self.create_index(table, name, index));
        }
        for view in &views {
            if let Some(v) = self.live.views.get(*view) {
                let kind = view_kind(v.materialized);
                out.push(format!(
                    "CREATE {kind} {} AS\n{}",
                    self.q(view),
                    v.definition
                ));
                if let Some(comment) = &v.comment {
                    out.push(format!(
                        "COMMENT ON {kind} {} IS {}",
                        self.q(view),
                        quote_literal(comment)
                    ));
                }
            }
        }
        out
    }

    /// Live indexes and check constraints (not dropped earlier by the plan) whose
    /// expressions or predicates read one of `columns`: they cannot survive the column's
    /// type being swapped, so they are dropped and recreated around it.
    #[allow(clippy::type_complexity)]
    fn live_expressions_over<'s>(
        &'s self,
        columns: &[(&str, &str, u8, Option<&str>)],
    ) -> (
        Vec<(&'s str, &'s str, &'s Index)>,
        Vec<(&'s str, &'s str, &'s str)>,
    ) {
        let dropped = |kind: &str, table: &str, name: &str| {
            self.plan.steps.iter().any(|s| match (&s.operation, kind) {
                (
                    Operation::DropIndex {
                        table: t, name: n, ..
                    },
                    "index",
                )
                | (
                    Operation::DropCheck {
                        table: t, name: n, ..
                    },
                    "check",
                ) => t == table && n == name,
                _ => false,
            })
        };
        let reads = |table: &str, text: &str| {
            columns
                .iter()
                .any(|(t, c, ..)| *t == table && mentions(text, c))
        };
        let mut indexes = Vec::new();
        let mut checks = Vec::new();
        for (table, t) in &self.live.tables {
            for (name, index) in &t.indexes {
                let expression = index.predicate.iter().map(String::as_str).chain(
                    index.parts.iter().filter_map(|p| match p {
                        IndexPart::Expression { sql, .. } => Some(sql.as_str()),
                        IndexPart::Column { .. } => None,
                    }),
                );
                if expression.into_iter().any(|e| reads(table, e)) && !dropped("index", table, name)
                {
                    indexes.push((table.as_str(), name.as_str(), index));
                }
            }
            for (name, check) in &t.checks {
                if reads(table, &check.expression) && !dropped("check", table, name) {
                    checks.push((table.as_str(), name.as_str(), check.expression.as_str()));
                }
            }
        }
        (indexes, checks)
    }

    /// Live views (not dropped earlier by the plan) that read `tables`, directly or
    /// through other views, readers last.
    fn live_views_reading(&self, tables: &BTreeSet<&str>) -> Vec<&str> {
        let dropped: BTreeSet<&str> = self
            .plan
            .steps
            .iter()
            .filter_map(|s| match &s.operation {
                Operation::DropView { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let mut ordered: Vec<&str> = Vec::new();
        loop {
            let before = ordered.len();
            for (name, view) in &self.live.views {
                let reads = view
                    .depends_on
                    .iter()
                    .any(|d| tables.contains(d.as_str()) || ordered.contains(&d.as_str()));
                if reads && !dropped.contains(name.as_str()) && !ordered.contains(&name.as_str()) {
                    ordered.push(name);
                }
            }
            if ordered.len() == before {
                return ordered;
            }
        }
    }
}

/// `VIEW` or `MATERIALIZED VIEW`.
pub(super) fn view_kind(materialized: bool) -> &'static str {
    if materialized {
        "MATERIALIZED VIEW"
    } else {
        "VIEW"
    }
}

/// The name an enum is rebuilt under before it takes the old one's place.
fn temporary_name(name: &str) -> String {
    let suffix = "__schema_sync_new";
    let mut base: String = name.to_string();
    while base.len() + suffix.len() > 63 {
        base.pop();
    }
    format!("{base}{suffix}")
}
