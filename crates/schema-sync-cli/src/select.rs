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

/// The glob set of one optional pattern.
fn optional_glob(pattern: Option<&String>) -> Result<Option<GlobSet>> {
    pattern
        .map(|p| glob_set(std::slice::from_ref(p)))
        .transpose()
}

/// The database's tenants that `selection` names, in the database's order: every tenant
/// when it names none (no ids, no `--all-tenants`, no pattern), always minus the
/// exclusions. An explicit id is listed only when the database has that tenant.
///
/// # Errors
/// An invalid glob, or a listing error.
pub async fn list_selected(engine: &Engine, selection: &Selection) -> Result<Vec<TenantContext>> {
    let exclude = glob_set(&selection.exclude)?;
    let pattern = optional_glob(selection.pattern.as_ref())?;
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
        let pattern = optional_glob(selection.pattern.as_ref())?;
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

/// The tenants a run over its servers works on.
#[derive(Default)]
pub struct Picked {
    /// Tenants of reachable servers, `(server position, context)`, server by server.
    pub tenants: Vec<(usize, TenantContext)>,
    /// Tenants named for a server that cannot be reached: `(server position, id as
    /// reported)`. They fail without being touched.
    pub unreachable: Vec<(usize, TenantId)>,
    /// Servers whose tenants could not be listed (unreachable, or the listing failed),
    /// with why: their tenants are unknown, so none of them is worked on.
    pub down: Vec<(usize, String)>,
}

impl Picked {
    /// How many tenants the run has.
    pub fn len(&self) -> usize {
        self.tenants.len() + self.unreachable.len()
    }
}

/// What a selection asks of the servers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Asking {
    /// A fleet command: a selection is required; explicit ids of the single server are
    /// taken as given.
    Run,
    /// `tenants`: no selection lists everything; only tenants that exist are listed.
    List,
}

/// The tenants `selection` names on every server, each server's own `tenant_pattern`
/// and `exclude` applying on top. `reference` (the `tenant:` target) is never part of a
/// listed fleet. With the single `url` server this is [`select_tenants`] (or
/// [`list_selected`]) exactly.
///
/// With named servers, `--tenant eu-1/acme` names a tenant of one server; a bare
/// `--tenant acme` names that id on every server where it exists. `--tenant-pattern` and
/// `--exclude` match the bare id or the qualified one (`eu-2/*` is a whole server).
///
/// # Errors
/// No selection (for a run), an invalid glob or id, a qualified id naming no server, a
/// bare id on no server, or a listing error of the single server.
pub async fn select_on_servers(
    servers: &crate::servers::Servers,
    selection: &Selection,
    reference: Option<(usize, &TenantId)>,
    asking: Asking,
) -> Result<Picked> {
    if !servers.named() {
        let engine = servers.first_reachable()?;
        let tenants = match asking {
            Asking::Run => select_tenants(engine, selection, reference.map(|(_, id)| id)).await?,
            Asking::List => list_selected(engine, selection).await?,
        };
        return Ok(Picked {
            tenants: tenants.into_iter().map(|t| (0, t)).collect(),
            ..Picked::default()
        });
    }
    let listing_all = selection.all
        || (asking == Asking::List && selection.tenants.is_empty() && selection.pattern.is_none());
    if asking == Asking::Run
        && !listing_all
        && selection.tenants.is_empty()
        && selection.pattern.is_none()
    {
        bail!(
            "no tenants selected: pass --tenant ID (SERVER/ID for one server), --all-tenants or --tenant-pattern GLOB"
        );
    }
    let exclude = glob_set(&selection.exclude)?;
    let pattern = optional_glob(selection.pattern.as_ref())?;
    let count = servers.list().len();
    let mut named: Vec<Vec<&str>> = vec![Vec::new(); count];
    let mut bare: Vec<&str> = Vec::new();
    for raw in &selection.tenants {
        if raw.contains('/') {
            let (position, id) = servers.split(raw)?;
            named[position].push(id);
        } else {
            bare.push(raw);
        }
    }
    let mut picked = Picked::default();
    let mut found_bare: Vec<&str> = Vec::new();
    for (position, server) in servers.list().iter().enumerate() {
        let own_pattern = optional_glob(server.pattern.as_ref())?;
        let own_exclude = glob_set(&server.exclude)?;
        let keep = |id: &TenantId| -> Result<bool> {
            let qualified = server.qualify(id)?;
            let (id, qualified) = (id.as_str(), qualified.as_str());
            Ok(own_pattern.as_ref().is_none_or(|p| p.is_match(id))
                && !own_exclude.is_match(id)
                && !exclude.is_match(id)
                && !exclude.is_match(qualified)
                && selection
                    .shard
                    .as_ref()
                    .is_none_or(|s| s.keeps_on(&server.label, id)))
        };
        let listed = match &server.engine {
            Err(why) => {
                // Explicit ids fail as the server's tenants; a discovery is reported
                // once for the whole server.
                for id in named[position].iter().chain(&bare) {
                    let id = TenantId::new(*id)?;
                    if keep(&id)? {
                        picked.unreachable.push((position, server.qualify(&id)?));
                    }
                }
                if listing_all || pattern.is_some() {
                    picked.down.push((position, why.clone()));
                }
                continue;
            }
            Ok(engine) => {
                let must_list = listing_all
                    || pattern.is_some()
                    || !bare.is_empty()
                    || (asking == Asking::List && !named[position].is_empty());
                if !must_list {
                    Vec::new()
                } else {
                    match engine.list_tenants().await {
                        Ok(listed) => listed,
                        Err(error) => {
                            picked
                                .down
                                .push((position, crate::output::message::core_error(&error)));
                            continue;
                        }
                    }
                }
            }
        };
        let Ok(engine) = &server.engine else { continue };
        let mut contexts: Vec<TenantContext> = Vec::new();
        let exists = |id: &str| listed.iter().any(|t| t.id().as_str() == id);
        for id in &named[position] {
            if asking == Asking::Run || exists(id) {
                contexts.push(engine.tenant(&TenantId::new(*id)?)?);
            }
        }
        for id in &bare {
            if exists(id) {
                found_bare.push(id);
                contexts.push(engine.tenant(&TenantId::new(*id)?)?);
            }
        }
        let reference = reference.filter(|(p, _)| *p == position).map(|(_, id)| id);
        for tenant in listed {
            if Some(tenant.id()) == reference {
                continue;
            }
            let matches = listing_all
                || pattern.as_ref().is_some_and(|p| {
                    p.is_match(tenant.id().as_str())
                        || server
                            .qualify(tenant.id())
                            .is_ok_and(|q| p.is_match(q.as_str()))
                });
            if matches {
                contexts.push(tenant);
            }
        }
        let mut kept = Vec::with_capacity(contexts.len());
        for tenant in contexts {
            if keep(tenant.id())? {
                kept.push(tenant);
            }
        }
        kept.sort_by(|a, b| a.id().cmp(b.id()));
        kept.dedup_by(|a, b| a.id() == b.id());
        picked
            .tenants
            .extend(kept.into_iter().map(|t| (position, t)));
    }
    if asking == Asking::Run
        && picked.down.is_empty()
        && servers.list().iter().all(|s| s.engine.is_ok())
        && let Some(missing) = bare.iter().find(|id| !found_bare.contains(id))
    {
        bail!(
            "tenant \"{missing}\" is on none of the servers ({}): check the id (`schema-sync tenants` lists them), or name its server as SERVER/{missing}",
            servers.names()
        );
    }
    Ok(picked)
}
