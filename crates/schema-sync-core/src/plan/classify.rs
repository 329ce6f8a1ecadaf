//! Step classification: what each operation touches, whether it loses data, and which
//! earlier steps it depends on.

use std::collections::{BTreeSet, HashMap};

use super::model::{Hazard, PlanStep};
use super::operation::{CommentTarget, Operation};
use crate::snapshot::{Column, SchemaSnapshot, TableOptions, TypeChange};

/// Collects steps, classifying each and recording what it depends on.
pub(super) struct PlanBuilder {
    steps: Vec<PlanStep>,
    /// The latest step that touched each object (`table:x`, `view:y`, ...).
    last_touch: HashMap<String, usize>,
    /// Enum types and domains of either schema: the only column types that link steps
    /// (built-in types like `integer` are not objects a step can depend on).
    enum_names: BTreeSet<String>,
    /// Materialized views on both sides: dropping or creating one recreates it.
    kept_materialized_views: BTreeSet<String>,
}

impl PlanBuilder {
    /// A builder for a plan from `from` to `to`.
    pub(super) fn new(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Self {
        let enum_names = from
            .enums
            .keys()
            .chain(to.enums.keys())
            .chain(from.domains.keys())
            .chain(to.domains.keys())
            .cloned()
            .collect();
        let kept_materialized_views = from
            .views
            .iter()
            .filter(|(name, view)| {
                view.materialized && to.views.get(*name).is_some_and(|v| v.materialized)
            })
            .map(|(name, _)| name.clone())
            .collect();
        Self {
            steps: Vec::new(),
            last_touch: HashMap::new(),
            enum_names,
            kept_materialized_views,
        }
    }

    /// Appends `operation`, classifying it and linking it to the earlier steps that
    /// touched the same objects.
    pub(super) fn push(&mut self, operation: Operation) {
        let index = self.steps.len();
        let objects = touched_objects(&operation, &self.enum_names);
        let mut depends_on: Vec<usize> = objects
            .iter()
            .filter_map(|o| self.last_touch.get(o).copied())
            .collect();
        depends_on.sort_unstable();
        depends_on.dedup();
        for object in objects {
            self.last_touch.insert(object, index);
        }
        let (destructive, mut hazards) = classify(&operation);
        if let Operation::CreateView { name, view } | Operation::DropView { name, from: view } =
            &operation
            && view.materialized
            && self.kept_materialized_views.contains(name)
        {
            hazards.push(Hazard::Repopulates);
        }
        hazards.sort_unstable();
        hazards.dedup();
        self.steps.push(PlanStep {
            operation,
            destructive,
            hazards,
            depends_on,
            outside_transaction: false,
            algorithm: None,
        });
    }

    /// The operations of the steps collected so far, in order.
    pub(super) fn operations(&self) -> Vec<Operation> {
        self.steps.iter().map(|s| s.operation.clone()).collect()
    }

    /// The steps collected so far, in order.
    pub(super) fn into_steps(self) -> Vec<PlanStep> {
        self.steps
    }
}

/// The objects an operation changes or relies on, as `kind:name` keys.
fn touched_objects(operation: &Operation, enum_names: &BTreeSet<String>) -> Vec<String> {
    let mut objects = Vec::new();
    if let Some(table) = operation.table() {
        objects.push(format!("relation:{table}"));
    }
    match operation {
        Operation::AddForeignKey {
            foreign_key: fk, ..
        }
        | Operation::DropForeignKey { from: fk, .. }
            if fk.referenced_schema.is_none() =>
        {
            objects.push(format!("relation:{}", fk.referenced_table));
        }
        Operation::CreateView { name, view } | Operation::DropView { name, from: view } => {
            objects.push(format!("relation:{name}"));
            objects.extend(view.depends_on.iter().map(|d| format!("relation:{d}")));
        }
        Operation::CreateEnum { name, .. }
        | Operation::AlterEnum { name, .. }
        | Operation::DropEnum { name, .. } => {
            objects.push(format!("type:{name}"));
        }
        Operation::CreateDomain { name, domain }
        | Operation::AlterDomain {
            name, to: domain, ..
        }
        | Operation::DropDomain { name, from: domain } => {
            objects.push(format!("type:{name}"));
            let base = &domain.data_type;
            if base.schema.is_none() && enum_names.contains(&base.name) {
                objects.push(format!("type:{}", base.name));
            }
        }
        Operation::CreateTable {
            table:
                crate::snapshot::Table {
                    partition_of: Some(partition),
                    ..
                },
            ..
        }
        | Operation::DropTable {
            from:
                crate::snapshot::Table {
                    partition_of: Some(partition),
                    ..
                },
            ..
        }
        | Operation::AttachPartition { partition, .. }
        | Operation::DetachPartition {
            from: partition, ..
        } => {
            objects.push(format!("relation:{}", partition.parent));
        }
        Operation::CreateSequence { name, .. }
        | Operation::AlterSequence { name, .. }
        | Operation::DropSequence { name, .. } => {
            objects.push(format!("sequence:{name}"));
        }
        Operation::CreateFunction { name, .. } | Operation::DropFunction { name, .. } => {
            objects.push(format!("function:{name}"));
        }
        Operation::CreateEvent { name, .. } | Operation::DropEvent { name, .. } => {
            objects.push(format!("event:{name}"));
        }
        Operation::CreateExtension { name, .. } | Operation::DropExtension { name, .. } => {
            objects.push(format!("extension:{name}"));
        }
        Operation::SetComment { object, .. } => objects.push(commented_object(object)),
        _ => {}
    }
    let column_types: Vec<&Column> = match operation {
        Operation::CreateTable { table, .. } | Operation::DropTable { from: table, .. } => {
            table.columns.values().collect()
        }
        Operation::AddColumn { column, .. } | Operation::DropColumn { from: column, .. } => {
            vec![column]
        }
        Operation::AlterColumn { from, to, .. } => vec![from, to],
        _ => Vec::new(),
    };
    objects.extend(
        column_types
            .into_iter()
            .filter(|c| c.data_type.schema.is_none() && enum_names.contains(&c.data_type.name))
            .map(|c| format!("type:{}", c.data_type.name)),
    );
    objects
}

/// The `kind:name` key of the object a comment is on.
fn commented_object(object: &CommentTarget) -> String {
    match object {
        CommentTarget::Table { name } | CommentTarget::View { name, .. } => {
            format!("relation:{name}")
        }
        CommentTarget::Column { table, .. }
        | CommentTarget::Index { table, .. }
        | CommentTarget::Constraint { table, .. }
        | CommentTarget::Trigger { table, .. }
        | CommentTarget::Policy { table, .. }
        | CommentTarget::ViewColumn { view: table, .. } => format!("relation:{table}"),
        CommentTarget::Function { signature } => format!("function:{signature}"),
        CommentTarget::Sequence { name } => format!("sequence:{name}"),
        CommentTarget::Type { name } | CommentTarget::Domain { name } => format!("type:{name}"),
    }
}

/// Whether an operation loses data, and what risks it carries.
pub(super) fn classify(operation: &Operation) -> (bool, Vec<Hazard>) {
    use Operation::*;
    match operation {
        DropTable { .. } | DropColumn { .. } => (true, vec![Hazard::DataLoss]),
        DropSequence { .. } => (true, vec![Hazard::DataLoss]),
        AlterEnum { from, to, .. } => {
            let removes = from.values.iter().any(|v| !to.values.contains(v));
            if removes {
                (true, vec![Hazard::DataLoss, Hazard::TableRewrite])
            } else {
                (false, Vec::new())
            }
        }
        AlterColumn { from, to, .. } => {
            let mut hazards = Vec::new();
            let mut destructive = false;
            match from.data_type.change_to(&to.data_type) {
                TypeChange::None => {}
                TypeChange::Widening => hazards.push(Hazard::TableRewrite),
                TypeChange::Narrowing => {
                    destructive = true;
                    hazards.extend([
                        Hazard::DataLoss,
                        Hazard::TableRewrite,
                        Hazard::MayFailOnRows,
                    ]);
                }
            }
            if from.nullable && !to.nullable {
                hazards.extend([Hazard::ValidatesRows, Hazard::MayFailOnRows]);
            }
            if from.generated != to.generated && !hazards.contains(&Hazard::TableRewrite) {
                hazards.push(Hazard::TableRewrite);
            }
            (destructive, hazards)
        }
        AddColumn { column, .. } => {
            let needs_value = !column.nullable
                && column.default.is_none()
                && column.generated.is_none()
                && column.identity.is_none();
            (
                false,
                if needs_value {
                    // Every existing row would hold NULL: the step fails on a table with rows.
                    vec![Hazard::ValidatesRows, Hazard::MayFailOnRows]
                } else {
                    Vec::new()
                },
            )
        }
        AddPrimaryKey { .. } | AddUnique { .. } => (
            false,
            vec![
                Hazard::ValidatesRows,
                Hazard::BlocksWrites,
                Hazard::BuildsIndex,
                Hazard::MayFailOnRows,
            ],
        ),
        AddCheck { check, .. } if check.not_valid => (false, Vec::new()),
        AddForeignKey { foreign_key, .. } if foreign_key.not_valid => {
            (false, vec![Hazard::BlocksWrites])
        }
        AddCheck { .. } | AddForeignKey { .. } => (
            false,
            vec![
                Hazard::ValidatesRows,
                Hazard::BlocksWrites,
                Hazard::MayFailOnRows,
            ],
        ),
        CreateIndex { index, .. } => (
            false,
            if index.unique {
                vec![
                    Hazard::BlocksWrites,
                    Hazard::BuildsIndex,
                    Hazard::MayFailOnRows,
                ]
            } else {
                vec![Hazard::BlocksWrites, Hazard::BuildsIndex]
            },
        ),
        ValidateConstraint { .. } => (false, vec![Hazard::ValidatesRows, Hazard::MayFailOnRows]),
        AlterTableOptions { from, to, .. } => (
            false,
            if rewrites_table(from) == rewrites_table(to) {
                // Storage parameters, row-level security and MySQL's statistics options
                // change the catalog only.
                Vec::new()
            } else {
                vec![Hazard::TableRewrite]
            },
        ),
        AlterDomain { from, to, .. } => {
            let validates = (!from.not_null && to.not_null)
                || to.checks.iter().any(|(name, check)| {
                    from.checks
                        .get(name)
                        .is_none_or(|old| old.expression != check.expression)
                        && !check.not_valid
                });
            if validates {
                (false, vec![Hazard::ValidatesRows, Hazard::MayFailOnRows])
            } else {
                (false, Vec::new())
            }
        }
        AttachPartition { .. } => (
            false,
            vec![
                Hazard::ValidatesRows,
                Hazard::BlocksWrites,
                Hazard::MayFailOnRows,
            ],
        ),
        _ => (false, Vec::new()),
    }
}

/// The options whose change rewrites the table (engine, charset, collation, SQLite's
/// `WITHOUT ROWID` and `STRICT`, PostgreSQL's `UNLOGGED`), with the others cleared.
fn rewrites_table(options: &TableOptions) -> TableOptions {
    TableOptions {
        storage_parameters: Default::default(),
        row_security: false,
        force_row_security: false,
        stats_persistent: None,
        stats_auto_recalc: None,
        stats_sample_pages: None,
        ..options.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::View;

    fn view(definition: &str, materialized: bool) -> View {
        View {
            definition: definition.into(),
            materialized,
            ..View::default()
        }
    }

    fn hazards_of(from: &SchemaSnapshot, to: &SchemaSnapshot, ops: Vec<Operation>) -> Vec<bool> {
        let mut builder = PlanBuilder::new(from, to);
        for op in ops {
            builder.push(op);
        }
        builder
            .into_steps()
            .iter()
            .map(|s| s.hazards.contains(&Hazard::Repopulates))
            .collect()
    }

    #[test]
    fn recreating_a_materialized_view_repopulates_it_creating_a_new_one_does_not() {
        let mut from = SchemaSnapshot::empty();
        let mut to = SchemaSnapshot::empty();
        from.views.insert("kept".into(), view("SELECT 1", true));
        to.views.insert("kept".into(), view("SELECT 2", true));
        to.views.insert("new".into(), view("SELECT 3", true));
        from.views.insert("plain".into(), view("SELECT 4", false));
        to.views.insert("plain".into(), view("SELECT 5", false));
        let ops = vec![
            Operation::DropView {
                name: "kept".into(),
                from: from.views["kept"].clone(),
            },
            Operation::DropView {
                name: "plain".into(),
                from: from.views["plain"].clone(),
            },
            Operation::CreateView {
                name: "kept".into(),
                view: to.views["kept"].clone(),
            },
            Operation::CreateView {
                name: "new".into(),
                view: to.views["new"].clone(),
            },
            Operation::CreateView {
                name: "plain".into(),
                view: to.views["plain"].clone(),
            },
        ];
        assert_eq!(
            hazards_of(&from, &to, ops),
            [true, false, true, false, false]
        );
    }

    fn column(nullable: bool) -> Column {
        Column {
            nullable,
            ..Column::new(crate::snapshot::DataType::named("text"))
        }
    }

    fn classified(operation: Operation) -> (bool, Vec<Hazard>) {
        let mut builder = PlanBuilder::new(&SchemaSnapshot::empty(), &SchemaSnapshot::empty());
        builder.push(operation);
        let step = builder.into_steps().remove(0);
        (step.destructive, step.hazards)
    }

    #[test]
    fn steps_that_a_row_can_fail_say_so_and_drops_delete_data() {
        use crate::snapshot::{CheckConstraint, ForeignKey, Index, IndexPart, UniqueConstraint};
        let set_not_null = Operation::AlterColumn {
            table: "users".into(),
            name: "email".into(),
            from: column(true),
            to: column(false),
        };
        assert_eq!(
            classified(set_not_null),
            (false, vec![Hazard::ValidatesRows, Hazard::MayFailOnRows])
        );
        let unique = Operation::AddUnique {
            table: "users".into(),
            name: "users_email_key".into(),
            unique: UniqueConstraint {
                columns: vec!["email".into()],
                ..UniqueConstraint::default()
            },
        };
        assert_eq!(
            classified(unique).1,
            [
                Hazard::BlocksWrites,
                Hazard::ValidatesRows,
                Hazard::BuildsIndex,
                Hazard::MayFailOnRows
            ]
        );
        let check = |not_valid| Operation::AddCheck {
            table: "users".into(),
            name: "age_positive".into(),
            check: CheckConstraint {
                expression: "age > 0".into(),
                not_valid,
                comment: None,
            },
        };
        assert!(classified(check(false)).1.contains(&Hazard::MayFailOnRows));
        assert!(classified(check(true)).1.is_empty());
        let fk = Operation::AddForeignKey {
            table: "orders".into(),
            name: "orders_user_fk".into(),
            foreign_key: ForeignKey {
                columns: vec!["user_id".into()],
                referenced_table: "users".into(),
                referenced_columns: vec!["id".into()],
                ..ForeignKey::default()
            },
        };
        assert!(classified(fk).1.contains(&Hazard::ValidatesRows));
        let index = |unique| Operation::CreateIndex {
            table: "users".into(),
            name: "users_email".into(),
            index: Index {
                parts: vec![IndexPart::Column {
                    name: "email".into(),
                    descending: false,
                    prefix_length: None,
                    options: Default::default(),
                }],
                unique,
                ..Index::default()
            },
        };
        assert_eq!(
            classified(index(false)).1,
            [Hazard::BlocksWrites, Hazard::BuildsIndex]
        );
        assert!(classified(index(true)).1.contains(&Hazard::MayFailOnRows));
        let drop = Operation::DropColumn {
            table: "users".into(),
            name: "email".into(),
            from: column(true),
        };
        assert_eq!(classified(drop), (true, vec![Hazard::DataLoss]));
        let add_required = Operation::AddColumn {
            table: "users".into(),
            name: "tier".into(),
            column: column(false),
            placement: Default::default(),
        };
        assert!(classified(add_required).1.contains(&Hazard::MayFailOnRows));
        let add_optional = Operation::AddColumn {
            table: "users".into(),
            name: "tier".into(),
            column: column(true),
            placement: Default::default(),
        };
        assert!(classified(add_optional).1.is_empty());
    }
}
