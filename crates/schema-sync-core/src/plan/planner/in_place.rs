//! Changes made where an object stands, without dropping and creating it again.
//!
//! A diff says an index, constraint, trigger, policy or view was `Modified`; left alone,
//! the planner would drop it and create it again. That is wrong when only its comment,
//! its trigger firing state or its validation state differs: rebuilding an index to change
//! its comment takes a lock and a scan for nothing, and a recreated materialized view
//! recomputes its data. [`split`] takes such changes out of the diff before planning and
//! returns the operations that make them in place:
//!
//! - a comment only: [`Operation::SetComment`];
//! - a trigger's firing state: [`Operation::SetTriggerEnabled`];
//! - a live `NOT VALID` constraint whose target is valid: [`Operation::ValidateConstraint`]
//!   (the diff already treats a valid live constraint as satisfying a `NOT VALID` target);
//! - a materialized view whose query is unchanged but whose indexes or comments differ:
//!   index steps on the view and [`Operation::SetComment`].
//!
//! [`comments_of_created`] then gives every object the plan creates its target comment.

use std::collections::BTreeMap;

use crate::diff::{Change, Named, SchemaDiff, TableChange, TableModification};
use crate::plan::operation::{CommentTarget, Operation};
use crate::snapshot::{
    CheckConstraint, Domain, EnumType, ForeignKey, Function, Index, Policy, PrimaryKey,
    SchemaSnapshot, Sequence, Table, Trigger, UniqueConstraint, View,
};

/// A diff without its in-place changes, and the operations that make them.
pub(super) struct Split {
    /// The diff left to plan by dropping and creating.
    pub(super) diff: SchemaDiff,
    /// Steps that change objects where they stand, run after everything else.
    pub(super) steps: Vec<Operation>,
    /// Steps that drop indexes of materialized views that stay, run with the other drops.
    pub(super) view_index_drops: Vec<Operation>,
    /// Steps that create indexes of materialized views that stay, run with the other
    /// index creations.
    pub(super) view_index_creations: Vec<Operation>,
}

/// Takes the in-place changes out of `diff`.
pub(super) fn split(diff: &SchemaDiff) -> Split {
    let mut out = Split {
        diff: diff.clone(),
        steps: Vec::new(),
        view_index_drops: Vec::new(),
        view_index_creations: Vec::new(),
    };
    for table in &mut out.diff.tables {
        if let TableChange::Modified(m) = &mut table.change {
            split_table(&table.name, m, &mut out.steps);
        }
    }
    out.diff.tables.retain(|t| match &t.change {
        TableChange::Modified(m) => !m.is_empty(),
        _ => true,
    });
    let views = std::mem::take(&mut out.diff.views);
    for view in views {
        match &view.change {
            Change::Modified { from, to } if same_query(from, to) => {
                view_in_place(&view.name, from, to, &mut out);
            }
            _ => out.diff.views.push(view),
        }
    }
    let steps = &mut out.steps;
    retain_changed(&mut out.diff.functions, steps, |name| {
        CommentTarget::Function {
            signature: name.to_string(),
        }
    });
    retain_changed(&mut out.diff.sequences, steps, |name| {
        CommentTarget::Sequence {
            name: name.to_string(),
        }
    });
    retain_changed(&mut out.diff.enums, steps, |name| CommentTarget::Type {
        name: name.to_string(),
    });
    retain_changed(&mut out.diff.domains, steps, |name| CommentTarget::Domain {
        name: name.to_string(),
    });
    out
}

/// For schema-level objects that are altered or replaced, not dropped (sequences, enums,
/// domains, functions, which `CREATE OR REPLACE` keeps with their old comment): a comment
/// change is its own step, and a change of nothing but the comment leaves the diff.
/// `object(name)` is what the comment is on.
fn retain_changed<T: HasComment + PartialEq>(
    changes: &mut Vec<Named<T>>,
    steps: &mut Vec<Operation>,
    object: impl Fn(&str) -> CommentTarget,
) {
    changes.retain(|change| {
        let Change::Modified { from, to } = &change.change else {
            return true;
        };
        steps.extend(comment_step(object(&change.name), from, to));
        !same_but_comment(from, to)
    });
}

/// Moves the in-place changes of one table's parts into `steps`.
fn split_table(table: &str, m: &mut TableModification, steps: &mut Vec<Operation>) {
    let constraint = |name: &str| CommentTarget::Constraint {
        table: table.to_string(),
        name: name.to_string(),
    };
    take_in_place(&mut m.indexes, steps, |name, from: &Index, to| {
        same_but_comment(from, to).then(|| {
            comment_step(
                CommentTarget::Index {
                    table: table.to_string(),
                    name: name.to_string(),
                },
                from,
                to,
            )
        })
    });
    take_in_place(
        &mut m.uniques,
        steps,
        |name, from: &UniqueConstraint, to| {
            same_but_comment(from, to).then(|| comment_step(constraint(name), from, to))
        },
    );
    take_in_place(&mut m.checks, steps, |name, from: &CheckConstraint, to| {
        let same = CheckConstraint {
            not_valid: to.not_valid,
            ..from.with_comment_of(to)
        } == *to;
        same.then(|| {
            let mut out = validation_step(table, name, from.not_valid, to.not_valid);
            out.extend(comment_step(constraint(name), from, to));
            out
        })
    });
    take_in_place(&mut m.foreign_keys, steps, |name, from: &ForeignKey, to| {
        let same = ForeignKey {
            not_valid: to.not_valid,
            ..from.with_comment_of(to)
        } == *to;
        same.then(|| {
            let mut out = validation_step(table, name, from.not_valid, to.not_valid);
            out.extend(comment_step(constraint(name), from, to));
            out
        })
    });
    take_in_place(&mut m.triggers, steps, |name, from: &Trigger, to| {
        let same = Trigger {
            enabled: to.enabled,
            ..from.with_comment_of(to)
        } == *to;
        same.then(|| {
            let mut out = Vec::new();
            if from.enabled != to.enabled {
                out.push(Operation::SetTriggerEnabled {
                    table: table.to_string(),
                    name: name.to_string(),
                    from: from.enabled,
                    to: to.enabled,
                });
            }
            out.extend(comment_step(
                CommentTarget::Trigger {
                    table: table.to_string(),
                    name: name.to_string(),
                },
                from,
                to,
            ));
            out
        })
    });
    take_in_place(&mut m.policies, steps, |name, from: &Policy, to| {
        same_but_comment(from, to).then(|| {
            comment_step(
                CommentTarget::Policy {
                    table: table.to_string(),
                    name: name.to_string(),
                },
                from,
                to,
            )
        })
    });
    if let Some(Change::Modified { from, to }) = &m.primary_key
        && let Some(name) = &to.name
        && same_but_comment(from, to)
    {
        steps.extend(comment_step(constraint(name), from, to));
        m.primary_key = None;
    }
}

/// Removes from `changes` every modification that `in_place` can make where the part
/// stands (it returns the steps), and appends those steps to `steps`.
fn take_in_place<T>(
    changes: &mut Vec<Named<T>>,
    steps: &mut Vec<Operation>,
    in_place: impl Fn(&str, &T, &T) -> Option<Vec<Operation>>,
) {
    changes.retain(|change| {
        let Change::Modified { from, to } = &change.change else {
            return true;
        };
        match in_place(&change.name, from, to) {
            Some(made) => {
                steps.extend(made);
                false
            }
            None => true,
        }
    });
}

/// `VALIDATE CONSTRAINT` when the live constraint is `NOT VALID` and the target's is not.
fn validation_step(table: &str, name: &str, live: bool, target: bool) -> Vec<Operation> {
    if live && !target {
        vec![Operation::ValidateConstraint {
            table: table.to_string(),
            name: name.to_string(),
        }]
    } else {
        Vec::new()
    }
}

/// Objects that carry a comment.
pub(super) trait HasComment: Sized {
    /// The comment, if any.
    fn comment(&self) -> Option<&String>;

    /// A copy of this object with the comment of `other`.
    fn with_comment_of(&self, other: &Self) -> Self;
}

macro_rules! has_comment {
    ($($t:ty),*) => {
        $(impl HasComment for $t {
            fn comment(&self) -> Option<&String> {
                self.comment.as_ref()
            }

            fn with_comment_of(&self, other: &Self) -> Self {
                Self {
                    comment: other.comment.clone(),
                    ..self.clone()
                }
            }
        })*
    };
}

/// Whether `from` and `to` differ in nothing but their comment (or not at all).
fn same_but_comment<T: HasComment + PartialEq>(from: &T, to: &T) -> bool {
    from.with_comment_of(to) == *to
}

has_comment!(
    Index,
    UniqueConstraint,
    CheckConstraint,
    ForeignKey,
    PrimaryKey,
    Trigger,
    Policy,
    Function,
    Sequence,
    EnumType,
    Domain,
    View
);

/// A `SetComment` step when the comments of `from` and `to` differ.
fn comment_step<T: HasComment>(object: CommentTarget, from: &T, to: &T) -> Vec<Operation> {
    if from.comment() == to.comment() {
        return Vec::new();
    }
    vec![Operation::SetComment {
        object,
        comment: to.comment().cloned(),
    }]
}

/// Whether two views have the same query, kind and dependencies (they may differ in
/// comments and indexes).
fn same_query(from: &View, to: &View) -> bool {
    from.definition == to.definition
        && from.materialized == to.materialized
        && from.depends_on == to.depends_on
}

/// The steps that turn the view `from` into `to` where it stands.
fn view_in_place(name: &str, from: &View, to: &View, out: &mut Split) {
    out.steps.extend(comment_step(
        CommentTarget::View {
            name: name.to_string(),
            materialized: to.materialized,
        },
        from,
        to,
    ));
    out.steps.extend(column_comment_steps(
        name,
        &from.column_comments,
        &to.column_comments,
    ));
    for (index_name, index) in &from.indexes {
        match to.indexes.get(index_name) {
            Some(target) if same_but_comment(index, target) => {
                out.steps.extend(comment_step(
                    CommentTarget::Index {
                        table: name.to_string(),
                        name: index_name.clone(),
                    },
                    index,
                    target,
                ));
            }
            _ => out.view_index_drops.push(Operation::DropIndex {
                table: name.to_string(),
                name: index_name.clone(),
                from: index.clone(),
            }),
        }
    }
    for (index_name, index) in &to.indexes {
        let kept = from
            .indexes
            .get(index_name)
            .is_some_and(|live| same_but_comment(live, index));
        if !kept {
            out.view_index_creations.push(Operation::CreateIndex {
                table: name.to_string(),
                name: index_name.clone(),
                index: index.clone(),
            });
        }
    }
}

/// `SetComment` steps for the view columns whose comments differ.
fn column_comment_steps(
    view: &str,
    from: &BTreeMap<String, String>,
    to: &BTreeMap<String, String>,
) -> Vec<Operation> {
    let columns: std::collections::BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    columns
        .into_iter()
        .filter(|c| from.get(*c) != to.get(*c))
        .map(|c| Operation::SetComment {
            object: CommentTarget::ViewColumn {
                view: view.to_string(),
                column: c.clone(),
            },
            comment: to.get(c).cloned(),
        })
        .collect()
}

/// The comments of what `steps` create, as `SetComment` steps: a created object starts
/// without one. Tables and their columns are left out (their creation sets them).
pub(super) fn comments_of_created(steps: &[Operation], to: &SchemaSnapshot) -> Vec<Operation> {
    let mut out = Vec::new();
    let mut set = |object: CommentTarget, comment: Option<&String>| {
        if let Some(comment) = comment {
            out.push(Operation::SetComment {
                object,
                comment: Some(comment.clone()),
            });
        }
    };
    let constraint = |table: &str, name: &str| CommentTarget::Constraint {
        table: table.to_string(),
        name: name.to_string(),
    };
    for step in steps {
        match step {
            Operation::CreateTable { name, table } => {
                for (object, comment) in table_constraint_comments(name, table) {
                    set(object, Some(comment));
                }
            }
            Operation::AddPrimaryKey { table, key } => {
                if let Some(name) = &key.name {
                    set(constraint(table, name), key.comment.as_ref());
                }
            }
            Operation::AddUnique {
                table,
                name,
                unique,
            } => set(constraint(table, name), unique.comment.as_ref()),
            Operation::AddCheck { table, name, check } => {
                set(constraint(table, name), check.comment.as_ref())
            }
            Operation::AddForeignKey {
                table,
                name,
                foreign_key,
            } => set(constraint(table, name), foreign_key.comment.as_ref()),
            Operation::CreateIndex { table, name, index } => set(
                CommentTarget::Index {
                    table: table.clone(),
                    name: name.clone(),
                },
                index.comment.as_ref(),
            ),
            Operation::CreateTrigger {
                table,
                name,
                trigger,
            } => set(
                CommentTarget::Trigger {
                    table: table.clone(),
                    name: name.clone(),
                },
                trigger.comment.as_ref(),
            ),
            Operation::CreatePolicy {
                table,
                name,
                policy,
            } => set(
                CommentTarget::Policy {
                    table: table.clone(),
                    name: name.clone(),
                },
                policy.comment.as_ref(),
            ),
            Operation::CreateFunction { name, function } => set(
                CommentTarget::Function {
                    signature: name.clone(),
                },
                function.comment.as_ref(),
            ),
            Operation::CreateSequence { name, sequence } => set(
                CommentTarget::Sequence { name: name.clone() },
                sequence.comment.as_ref(),
            ),
            Operation::CreateEnum { name, .. } => set(
                CommentTarget::Type { name: name.clone() },
                to.enums.get(name).and_then(|e| e.comment.as_ref()),
            ),
            Operation::CreateDomain { name, domain } => set(
                CommentTarget::Domain { name: name.clone() },
                domain.comment.as_ref(),
            ),
            Operation::CreateView { name, view } => {
                set(
                    CommentTarget::View {
                        name: name.clone(),
                        materialized: view.materialized,
                    },
                    view.comment.as_ref(),
                );
                for (column, comment) in &view.column_comments {
                    set(
                        CommentTarget::ViewColumn {
                            view: name.clone(),
                            column: column.clone(),
                        },
                        Some(comment),
                    );
                }
                for (index_name, index) in &view.indexes {
                    set(
                        CommentTarget::Index {
                            table: name.clone(),
                            name: index_name.clone(),
                        },
                        index.comment.as_ref(),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

/// The comments on the constraints that `CREATE TABLE` itself creates (primary key,
/// unique and check constraints).
fn table_constraint_comments<'a>(name: &str, table: &'a Table) -> Vec<(CommentTarget, &'a String)> {
    let constraint = |constraint: &str| CommentTarget::Constraint {
        table: name.to_string(),
        name: constraint.to_string(),
    };
    let mut out = Vec::new();
    if let Some(key) = &table.primary_key
        && let (Some(key_name), Some(comment)) = (&key.name, &key.comment)
    {
        out.push((constraint(key_name), comment));
    }
    for (unique, u) in &table.uniques {
        if let Some(comment) = &u.comment {
            out.push((constraint(unique), comment));
        }
    }
    for (check, c) in &table.checks {
        if let Some(comment) = &c.comment {
            out.push((constraint(check), comment));
        }
    }
    out
}

/// `steps` without those on the views in `recreated` (their creation brings their
/// indexes and comments back).
pub(super) fn without_recreated_views(
    steps: Vec<Operation>,
    recreated: &std::collections::BTreeSet<&str>,
) -> Vec<Operation> {
    steps
        .into_iter()
        .filter(|op| {
            let view = match op {
                Operation::CreateIndex { table, .. } | Operation::DropIndex { table, .. } => {
                    Some(table.as_str())
                }
                Operation::SetComment { object, .. } => match object {
                    CommentTarget::View { name, .. } => Some(name.as_str()),
                    CommentTarget::ViewColumn { view, .. } => Some(view.as_str()),
                    CommentTarget::Index { table, .. } => Some(table.as_str()),
                    _ => None,
                },
                _ => None,
            };
            !view.is_some_and(|v| recreated.contains(v))
        })
        .collect()
}

/// `steps` with every `SetComment` after the first on the same object left out (an
/// object both recreated and changed in place would otherwise be commented twice).
pub(super) fn first_comment_per_object(steps: Vec<Operation>) -> Vec<Operation> {
    let mut seen: Vec<CommentTarget> = Vec::new();
    steps
        .into_iter()
        .filter(|op| match op {
            Operation::SetComment { object, .. } => {
                if seen.contains(object) {
                    false
                } else {
                    seen.push(object.clone());
                    true
                }
            }
            _ => true,
        })
        .collect()
}
