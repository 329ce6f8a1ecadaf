//! Tenant selection: explicit ids, every tenant, a glob, minus exclusions, then the
//! `--shard` part of what is left.

use anyhow::{Context, Result, bail};
use globset::{Glob, GlobSet, GlobSetBuilder};
use schema_sync_core::{Engine, TenantContext, TenantId};

use crate::config::Selection;

fn glob_set(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        builder
            .add(Glob::new(pattern).with_context(|| format!("invalid tenant glob {pattern:?}"))?);
    }
    Ok(builder.build()?)
}

/// The database's tenants that `selection` names, in the database's order: every tenant
/// when it names none (no ids, no `--all-tenants`, no pattern), always minus the
/// exclusions. An explicit id is listed only when the database has that tenant.
///
/// # Errors
/// An invalid glob, or a listing error.
pub async fn list_selected(engine: &Engine, selection: &Selection) -> Result<Vec<TenantContext>> {
    let exclude = glob_set(&selection.exclude)?;
    let pattern = selection
        .pattern
        .as_ref()
        .map(|p| glob_set(std::slice::from_ref(p)))
        .transpose()?;
    let everything = selection.all || (selection.tenants.is_empty() && selection.pattern.is_none());
    let named = |id: &str| {
        everything
            || selection.tenants.iter().any(|t| t == id)
            || pattern.as_ref().is_some_and(|p| p.is_match(id))
    };
    let mut listed = engine.list_tenants().await?;
    listed.retain(|t| named(t.id().as_str()) && !exclude.is_match(t.id().as_str()));
    retain_shard(selection, &mut listed);
    Ok(listed)
}

/// The tenants `selection` names, sorted and without duplicates. `reference` (the
/// `tenant:NAME` target) is never part of a listed fleet, only when named explicitly.
///
/// # Errors
/// No selection, an invalid glob or tenant id, or a listing error.
pub async fn select_tenants(
    engine: &Engine,
    selection: &Selection,
    reference: Option<&TenantId>,
) -> Result<Vec<TenantContext>> {
    if selection.tenants.is_empty() && !selection.all && selection.pattern.is_none() {
        bail!("no tenants selected: pass --tenant ID, --all-tenants or --tenant-pattern GLOB");
    }
    let exclude = glob_set(&selection.exclude)?;
    let mut contexts: Vec<TenantContext> = Vec::new();
    for raw in &selection.tenants {
        contexts.push(engine.tenant(&TenantId::new(raw.as_str())?)?);
    }
    if selection.all || selection.pattern.is_some() {
        let pattern = selection
            .pattern
            .as_ref()
            .map(|p| glob_set(std::slice::from_ref(p)))
            .transpose()?;
        // Rejected names (see `Engine::list_tenants`) stay in: the run reports them.
        let listed = engine.list_tenants().await?;
        contexts.extend(
            listed
                .into_iter()
                .filter(|t| Some(t.id()) != reference)
                .filter(|t| pattern.as_ref().is_none_or(|p| p.is_match(t.id().as_str()))),
        );
    }
    contexts.retain(|t| !exclude.is_match(t.id().as_str()));
    contexts.sort_by(|a, b| a.id().cmp(b.id()));
    contexts.dedup_by(|a, b| a.id() == b.id());
    retain_shard(selection, &mut contexts);
    Ok(contexts)
}

/// Keeps the tenants of the selection's `--shard` part, if it names one.
fn retain_shard(selection: &Selection, tenants: &mut Vec<TenantContext>) {
    if let Some(sharding) = &selection.shard {
        tenants.retain(|t| sharding.keeps(t.id().as_str()));
    }
}
