//! Domains in the plan: created (base domains first) or altered in phase 4, before the
//! tables whose columns use them and after the enums they may be over; dropped in phase
//! 7, once no column uses them any more.
//!
//! A domain's base type and collation cannot be altered in place. When no column uses
//! the domain, it is dropped and created again in phase 4; otherwise the plan is refused,
//! since a rebuild would need every column that uses it retyped twice.

use std::collections::{BTreeMap, BTreeSet};

use super::PlanContext;
use crate::diff::{Change, Named};
use crate::error::{Error, Result};
use crate::plan::operation::Operation;
use crate::snapshot::{DataType, Domain, SchemaSnapshot};

/// Whether `from` and `to` differ in what `ALTER DOMAIN` cannot change.
fn needs_rebuild(from: &Domain, to: &Domain) -> bool {
    from.data_type != to.data_type || from.collation != to.collation
}

/// Whether `from` and `to` differ in more than their comment (comments are set by steps
/// of their own).
fn differs_beyond_comment(from: &Domain, to: &Domain) -> bool {
    let bare = |d: &Domain| Domain {
        comment: None,
        ..d.clone()
    };
    bare(from) != bare(to)
}

/// Whether `data_type` is the tenant's own type `name`.
fn is_tenant_type(data_type: &DataType, name: &str) -> bool {
    data_type.schema.is_none() && data_type.name == name
}

/// The first `table.column` of `snapshot` whose type is the domain `name`.
fn column_using(snapshot: &SchemaSnapshot, name: &str) -> Option<String> {
    snapshot.tables.iter().find_map(|(table, t)| {
        t.columns
            .iter()
            .find(|(_, c)| is_tenant_type(&c.data_type, name))
            .map(|(column, _)| format!("{table}.{column}"))
    })
}

/// Refuses a diff that changes the base type or collation of a domain that columns use,
/// on either side.
///
/// # Errors
/// [`Error::Unsupported`] naming the domain, a column that uses it, and the fix.
pub(super) fn check(
    from: &SchemaSnapshot,
    to: &SchemaSnapshot,
    changes: &[Named<Domain>],
) -> Result<()> {
    for change in changes {
        let Change::Modified { from: old, to: new } = &change.change else {
            continue;
        };
        if !needs_rebuild(old, new) {
            continue;
        }
        let name = &change.name;
        if let Some(column) = column_using(from, name).or_else(|| column_using(to, name)) {
            return Err(Error::Unsupported {
                tenant: None,
                object: format!("domain {name}"),
                message: format!(
                    "the base type or collation changes ({} -> {}) while column {column} uses it, and a domain's type cannot be altered; create a new domain, move the columns to it, then drop the old one",
                    old.data_type, new.data_type
                ),
            });
        }
    }
    Ok(())
}

/// Domains in creation order: a domain over another domain of the same set after it.
fn creation_order<'a>(domains: &BTreeMap<&'a str, &'a Domain>) -> Vec<&'a str> {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut order = Vec::new();
    while order.len() < domains.len() {
        let ready: Vec<&str> = domains
            .iter()
            .filter(|(name, _)| !placed.contains(*name))
            .filter(|(_, d)| {
                !domains
                    .keys()
                    .any(|other| !placed.contains(other) && is_tenant_type(&d.data_type, other))
            })
            .map(|(name, _)| *name)
            .collect();
        // A cycle cannot exist in a real database; place the rest as they are.
        let batch = if ready.is_empty() {
            domains
                .keys()
                .copied()
                .filter(|n| !placed.contains(n))
                .collect()
        } else {
            ready
        };
        for name in batch {
            placed.insert(name);
            order.push(name);
        }
    }
    order
}

/// Phase 4: drops the domains that must be rebuilt (no column uses them: [`check`] made
/// sure), then creates new and rebuilt domains, base domains first, then alters the
/// others.
pub(super) fn create_or_alter(cx: &mut PlanContext<'_>) {
    let changes = &cx.diff.domains;
    let mut created: BTreeMap<&str, &Domain> = BTreeMap::new();
    for change in changes {
        match &change.change {
            Change::Added { to } => {
                created.insert(&change.name, to);
            }
            Change::Modified { from, to } if needs_rebuild(from, to) => {
                cx.builder.push(Operation::DropDomain {
                    name: change.name.clone(),
                    from: from.clone(),
                });
                created.insert(&change.name, to);
            }
            _ => {}
        }
    }
    for name in creation_order(&created) {
        cx.builder.push(Operation::CreateDomain {
            name: name.to_string(),
            domain: created[name].clone(),
        });
    }
    for change in changes {
        if let Change::Modified { from, to } = &change.change
            && !needs_rebuild(from, to)
            && differs_beyond_comment(from, to)
        {
            cx.builder.push(Operation::AlterDomain {
                name: change.name.clone(),
                from: from.clone(),
                to: to.clone(),
            });
        }
    }
}

/// Phase 7: drops the domains the target no longer has, domains over other dropped
/// domains first.
pub(super) fn drop_removed(cx: &mut PlanContext<'_>) {
    let removed: BTreeMap<&str, &Domain> = cx
        .diff
        .domains
        .iter()
        .filter_map(|c| match &c.change {
            Change::Removed { from } => Some((c.name.as_str(), from)),
            _ => None,
        })
        .collect();
    for name in creation_order(&removed).into_iter().rev() {
        cx.builder.push(Operation::DropDomain {
            name: name.to_string(),
            from: removed[name].clone(),
        });
    }
}
