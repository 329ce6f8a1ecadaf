//! Privilege steps: each object whose grants differ gets exactly the target's grants,
//! and so does each object the plan creates (a new or recreated object starts with its
//! default privileges only). Privileges are in a snapshot only when the inspector was
//! asked to read them, so a plan between snapshots without them has no such step.

use std::collections::BTreeSet;

use crate::diff::SchemaDiff;
use crate::plan::operation::Operation;
use crate::snapshot::{Grant, PrivilegeTarget, SchemaSnapshot};

/// The `SetPrivileges` steps, to run once every object exists: one per object whose
/// privileges differ and that the target keeps, and one per object that `created`
/// creates and the target grants something on.
pub(super) fn steps(
    diff: &SchemaDiff,
    to: &SchemaSnapshot,
    created: &[Operation],
) -> Vec<Operation> {
    let mut out: Vec<Operation> = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    for change in &diff.privileges {
        if !to.has_privilege_target(&change.name) {
            // The object goes away with its grants.
            continue;
        }
        done.insert(change.name.clone());
        out.push(Operation::SetPrivileges {
            object: change.name.clone(),
            from: change.change.from().cloned().unwrap_or_default(),
            to: change.change.to().cloned().unwrap_or_default(),
        });
    }
    for op in created {
        let Some(object) = created_object(op) else {
            continue;
        };
        let key = object.key();
        if done.contains(&key) {
            continue;
        }
        if let Some(grants) = to.privileges.get(&key) {
            done.insert(key.clone());
            out.push(Operation::SetPrivileges {
                object: key,
                from: BTreeSet::<Grant>::new(),
                to: grants.clone(),
            });
        }
    }
    out
}

/// The object `op` creates, when privileges can be granted on it.
fn created_object(op: &Operation) -> Option<PrivilegeTarget> {
    match op {
        Operation::CreateTable { name, .. } | Operation::CreateView { name, .. } => {
            Some(PrivilegeTarget::Table(name.clone()))
        }
        Operation::CreateSequence { name, .. } => Some(PrivilegeTarget::Sequence(name.clone())),
        Operation::CreateFunction { name, .. } => Some(PrivilegeTarget::Function(name.clone())),
        _ => None,
    }
}
