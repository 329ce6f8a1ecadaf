//! Tenant selection: explicit ids, every tenant, a glob, minus exclusions.

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

/// The tenants `selection` names, sorted and without duplicates. `reference` (the
/// `tenant:NAME` target) is never part of a listed fleet, only when named explicitly.
pub async fn select_tenants(
    engine: &Engine,
    selection: &Selection,
    reference: Option<&TenantId>,
) -> Result<Vec<TenantContext>> {
    if selection.tenants.is_empty() && !selection.all && selection.pattern.is_none() {
        bail!("no tenants selected: pass --tenant ID, --all-tenants or --tenant-pattern GLOB");
    }
    let exclude = glob_set(&selection.exclude)?;
    let mut ids: Vec<TenantId> = Vec::new();
    for raw in &selection.tenants {
        ids.push(TenantId::new(raw.as_str())?);
    }
    if selection.all || selection.pattern.is_some() {
        let pattern = selection
            .pattern
            .as_ref()
            .map(|p| glob_set(std::slice::from_ref(p)))
            .transpose()?;
        let listed = engine.adapter().list_tenants().await?;
        ids.extend(
            listed
                .into_iter()
                .filter(|id| Some(id) != reference)
                .filter(|id| pattern.as_ref().is_none_or(|p| p.is_match(id.as_str()))),
        );
    }
    ids.retain(|id| !exclude.is_match(id.as_str()));
    ids.sort();
    ids.dedup();
    ids.iter().map(|id| Ok(engine.tenant(id)?)).collect()
}
