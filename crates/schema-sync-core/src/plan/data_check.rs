//! `plan --check-data`: counting the existing rows a step would fail on or lose.
//!
//! The queries are the same on every SQL database schema-sync supports (`count(*)`,
//! `IS NULL`, row-value `IN`, `NOT EXISTS`), so they are built once here from the plan;
//! the adapter passes its identifier quoting and runs them in a read-only transaction.
//! A step on a table the plan creates, or on a table that gains columns earlier in the
//! plan, is not counted: its rows (or columns) do not exist yet.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::MigrationPlan;
use super::operation::Operation;
use crate::snapshot::IndexPart;

/// What the counted rows have in common.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Rows holding NULL in a column that becomes `NOT NULL`.
    NullIn {
        /// The column.
        column: String,
    },
    /// Rows that exist when a `NOT NULL` column without a default is added.
    LackValueFor {
        /// The new column.
        column: String,
    },
    /// Rows sharing their key with another row, where a unique key or primary key is added.
    Duplicates {
        /// The key columns.
        columns: Vec<String>,
    },
    /// Rows for which a new check constraint is false.
    ViolateCheck {
        /// The constraint.
        name: String,
    },
    /// Rows whose foreign key points at no row of the referenced table.
    MissingReference {
        /// The foreign key.
        name: String,
        /// The referenced table.
        referenced_table: String,
    },
    /// Rows holding a value in a column that would be dropped.
    HoldDataIn {
        /// The column.
        column: String,
    },
    /// Rows of a table that would be dropped.
    WouldBeDeleted,
}

/// The count of rows one step would fail on or lose, in one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCheck {
    /// Index into [`MigrationPlan::steps`].
    pub step: usize,
    /// The table counted.
    pub table: String,
    /// How many rows.
    pub rows: u64,
    /// What the rows have in common.
    #[serde(flatten)]
    pub finding: Finding,
}

impl std::fmt::Display for DataCheck {
    /// `42 rows in `users` have NULL in `email``.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows = if self.rows == 1 { "row" } else { "rows" };
        let verb = |plural: &'static str, singular: &'static str| {
            if self.rows == 1 { singular } else { plural }
        };
        write!(f, "{} {rows} in `{}` ", self.rows, self.table)?;
        match &self.finding {
            Finding::NullIn { column } => write!(f, "{} NULL in `{column}`", verb("have", "has")),
            Finding::LackValueFor { column } => write!(
                f,
                "would get no value for the new NOT NULL column `{column}`"
            ),
            Finding::Duplicates { columns } => write!(
                f,
                "{} a value of ({}) with another row",
                verb("share", "shares"),
                backticked(columns)
            ),
            Finding::ViolateCheck { name } => {
                write!(f, "{} check `{name}`", verb("violate", "violates"))
            }
            Finding::MissingReference {
                name,
                referenced_table,
            } => write!(
                f,
                "{} no matching row in `{referenced_table}` (foreign key `{name}`)",
                verb("have", "has")
            ),
            Finding::HoldDataIn { column } => {
                write!(f, "{} data in `{column}`", verb("hold", "holds"))
            }
            Finding::WouldBeDeleted => write!(f, "would be deleted"),
        }
    }
}

/// One counting query for one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountQuery {
    /// Index into [`MigrationPlan::steps`].
    pub step: usize,
    /// The table counted.
    pub table: String,
    /// What the counted rows have in common.
    pub finding: Finding,
    /// `SELECT count(*) ...`, one row with one integer column.
    pub sql: String,
}

impl CountQuery {
    /// What running this query does, for an error's context: `counting rows of users for
    /// step 3` (steps numbered from 1).
    pub fn describe(&self) -> String {
        format!("counting rows of {} for step {}", self.table, self.step + 1)
    }

    /// The result of this query, given the count it returned.
    pub fn result(&self, rows: u64) -> DataCheck {
        DataCheck {
            step: self.step,
            table: self.table.clone(),
            rows,
            finding: self.finding.clone(),
        }
    }
}

/// How an adapter names objects in SQL: its identifier quoting, and the namespace its
/// tenant's tables live in (the tenant's schema or database, SQLite's `main`).
pub struct Naming<'a> {
    /// Quotes one identifier.
    pub quote: &'a dyn Fn(&str) -> String,
    /// The tenant's namespace, which qualifies every table not in another schema.
    pub namespace: &'a str,
}

impl Naming<'_> {
    /// `"namespace"."table"`, or `"schema"."table"` for a table of another schema.
    fn qualify(&self, schema: Option<&str>, table: &str) -> String {
        format!(
            "{}.{}",
            (self.quote)(schema.unwrap_or(self.namespace)),
            (self.quote)(table)
        )
    }
}

/// The counting queries for the steps of `plan` that may fail on existing rows or would
/// lose data, in step order.
pub fn count_queries(plan: &MigrationPlan, naming: &Naming<'_>) -> Vec<CountQuery> {
    let mut created = BTreeSet::new();
    let mut widened = BTreeSet::new();
    let mut queries = Vec::new();
    for (step, plan_step) in plan.steps.iter().enumerate() {
        let operation = &plan_step.operation;
        if let Operation::CreateTable { name, .. } = operation {
            created.insert(name.clone());
        }
        let Some(table) = operation.table() else {
            continue;
        };
        if created.contains(table) || widened.contains(table) {
            continue;
        }
        if let Some((finding, sql)) = count_for(operation, table, &created, naming) {
            queries.push(CountQuery {
                step,
                table: table.to_string(),
                finding,
                sql,
            });
        }
        if matches!(operation, Operation::AddColumn { .. }) {
            widened.insert(table.to_string());
        }
    }
    queries
}

/// The finding and query for one operation on `table`, if it is one that is counted.
fn count_for(
    operation: &Operation,
    table: &str,
    created: &BTreeSet<String>,
    naming: &Naming<'_>,
) -> Option<(Finding, String)> {
    let q = naming.quote;
    let from = naming.qualify(None, table);
    let count_where = |condition: &str| format!("SELECT count(*) FROM {from} WHERE {condition}");
    match operation {
        Operation::AlterColumn {
            name,
            from: old,
            to,
            ..
        } if old.nullable && !to.nullable => Some((
            Finding::NullIn {
                column: name.clone(),
            },
            count_where(&format!("{} IS NULL", q(name))),
        )),
        Operation::AddColumn { name, column, .. }
            if !column.nullable
                && column.default.is_none()
                && column.generated.is_none()
                && column.identity.is_none() =>
        {
            Some((
                Finding::LackValueFor {
                    column: name.clone(),
                },
                format!("SELECT count(*) FROM {from}"),
            ))
        }
        Operation::AddPrimaryKey { key, .. } => Some(duplicates(&key.columns, &from, q)),
        Operation::AddUnique { unique, .. } => Some(duplicates(&unique.columns, &from, q)),
        Operation::CreateIndex { index, .. } if index.unique && index.predicate.is_none() => {
            let columns: Option<Vec<String>> = index
                .parts
                .iter()
                .map(|part| match part {
                    IndexPart::Column {
                        name,
                        prefix_length: None,
                        ..
                    } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            columns.map(|columns| duplicates(&columns, &from, q))
        }
        Operation::AddCheck { name, check, .. } if !check.not_valid => Some((
            Finding::ViolateCheck { name: name.clone() },
            count_where(&format!("NOT ({})", check.expression)),
        )),
        Operation::AddForeignKey {
            name, foreign_key, ..
        } if !foreign_key.not_valid => {
            let fk = foreign_key;
            let not_null = fk
                .columns
                .iter()
                .map(|c| format!("c.{} IS NOT NULL", q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let finding = Finding::MissingReference {
                name: name.clone(),
                referenced_table: fk.referenced_table.clone(),
            };
            let child = format!("SELECT count(*) FROM {from} c WHERE {not_null}");
            if fk.referenced_schema.is_none() && created.contains(&fk.referenced_table) {
                // The referenced table is new and empty: every non-null key is missing.
                return Some((finding, child));
            }
            let matches = fk
                .columns
                .iter()
                .zip(&fk.referenced_columns)
                .map(|(c, p)| format!("p.{} = c.{}", q(p), q(c)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let parent = naming.qualify(fk.referenced_schema.as_deref(), &fk.referenced_table);
            Some((
                finding,
                format!("{child} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {matches})"),
            ))
        }
        Operation::DropColumn { name, .. } => Some((
            Finding::HoldDataIn {
                column: name.clone(),
            },
            count_where(&format!("{} IS NOT NULL", q(name))),
        )),
        Operation::DropTable { .. } => Some((
            Finding::WouldBeDeleted,
            format!("SELECT count(*) FROM {from}"),
        )),
        _ => None,
    }
}

/// Rows sharing their `columns` with another row. Rows with a NULL key column are not
/// counted (they do not collide in a plain unique key; a primary key's `NOT NULL` or a
/// `NULLS NOT DISTINCT` key could still fail on them).
fn duplicates(columns: &[String], from: &str, q: &dyn Fn(&str) -> String) -> (Finding, String) {
    let list = columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
    let not_null = columns
        .iter()
        .map(|c| format!("{} IS NOT NULL", q(c)))
        .collect::<Vec<_>>()
        .join(" AND ");
    (
        Finding::Duplicates {
            columns: columns.to_vec(),
        },
        format!(
            "SELECT count(*) FROM {from} WHERE ({list}) IN (SELECT {list} FROM {from} WHERE {not_null} GROUP BY {list} HAVING count(*) > 1)"
        ),
    )
}

/// `` `a`, `b` ``.
fn backticked(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{CheckConstraint, Column, DataType, Table};
    use crate::testing::plan_of as plan;

    fn queries(plan: &MigrationPlan) -> Vec<(usize, String)> {
        let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        count_queries(
            plan,
            &Naming {
                quote: &quote,
                namespace: "t1",
            },
        )
        .into_iter()
        .map(|q| (q.step, q.sql))
        .collect()
    }

    fn text(nullable: bool) -> Column {
        Column {
            nullable,
            ..Column::new(DataType::named("text"))
        }
    }

    #[test]
    fn counts_nulls_checks_and_drops_but_not_rows_of_new_tables_or_new_columns() {
        let plan = plan(vec![
            Operation::AlterColumn {
                table: "users".into(),
                name: "e\"mail".into(),
                from: text(true),
                to: text(false),
            },
            Operation::CreateTable {
                name: "fresh".into(),
                table: Table::default(),
            },
            Operation::DropColumn {
                table: "fresh".into(),
                name: "x".into(),
                from: text(true),
            },
            Operation::AddColumn {
                table: "orders".into(),
                name: "total".into(),
                column: text(true),
                placement: Default::default(),
            },
            Operation::AddCheck {
                table: "orders".into(),
                name: "positive".into(),
                check: CheckConstraint {
                    expression: "total > 0".into(),
                    ..CheckConstraint::default()
                },
            },
            Operation::AddCheck {
                table: "users".into(),
                name: "adult".into(),
                check: CheckConstraint {
                    expression: "age >= 18".into(),
                    ..CheckConstraint::default()
                },
            },
            Operation::DropColumn {
                table: "users".into(),
                name: "legacy".into(),
                from: text(true),
            },
        ]);
        assert_eq!(
            queries(&plan),
            [
                (
                    0,
                    r#"SELECT count(*) FROM "t1"."users" WHERE "e""mail" IS NULL"#.to_string()
                ),
                (
                    5,
                    r#"SELECT count(*) FROM "t1"."users" WHERE NOT (age >= 18)"#.to_string()
                ),
                (
                    6,
                    r#"SELECT count(*) FROM "t1"."users" WHERE "legacy" IS NOT NULL"#.to_string()
                ),
            ]
        );
    }

    #[test]
    fn findings_read_as_sentences() {
        let check = DataCheck {
            step: 0,
            table: "users".into(),
            rows: 42,
            finding: Finding::NullIn {
                column: "email".into(),
            },
        };
        assert_eq!(check.to_string(), "42 rows in `users` have NULL in `email`");
        let one = DataCheck {
            rows: 1,
            finding: Finding::Duplicates {
                columns: vec!["a".into(), "b".into()],
            },
            ..check
        };
        assert_eq!(
            one.to_string(),
            "1 row in `users` shares a value of (`a`, `b`) with another row"
        );
    }
}
