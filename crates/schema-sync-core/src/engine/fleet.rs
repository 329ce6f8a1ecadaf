//! Fleet runs: many tenants with batched inspection, bounded concurrency, shared plans
//! and a failure limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::stream::{self, StreamExt};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::report::{FleetReport, TenantReport, TenantStatus};
use super::{Engine, PlanCache, SyncOptions};
use crate::adapter::Inspection;
use crate::cache::{ChangeCookie, SnapshotCache};
use crate::error::{Error, Result};
use crate::snapshot::SchemaSnapshot;
use crate::tenant::{TenantContext, TenantId};

/// How to run a fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetOptions {
    /// What to do for each tenant.
    pub sync: SyncOptions,
    /// How many tenants (and inspection batches) are worked on at once.
    pub concurrency: usize,
    /// How many tenants one `inspect_many` call covers.
    pub batch_size: usize,
    /// Stop starting new tenants once this many have failed or been refused.
    pub max_failures: Option<usize>,
    /// Inspect every tenant in full even where the [snapshot cache](Engine::with_cache)
    /// has its snapshot under an unmoved change cookie (`--no-cache`). What is read is
    /// still recorded in the cache.
    pub refresh_cache: bool,
}

/// Follows a fleet run tenant by tenant: the run ledger records each tenant as started
/// before its plan runs and its outcome before the tenant counts as done.
///
/// Methods return nothing: an observer that fails keeps its error and reports it after
/// the run, since one tenant's bookkeeping must not decide another tenant's fate.
#[async_trait::async_trait]
pub trait FleetObserver: Send + Sync {
    /// `tenant` was inspected and is about to be planned and (in sync mode) changed.
    async fn tenant_started(&self, tenant: &TenantContext);

    /// `report` is the outcome of one tenant (also for failed and skipped ones).
    async fn tenant_finished(&self, report: &TenantReport);
}

/// The largest inspection batch of a run that changes tenants.
///
/// A batch is read in one transaction, whose read locks on every table it deparsed last
/// until it ends. A sync's DDL on one of those tenants, in this run or a concurrent one,
/// waits for the whole batch; small batches keep that wait short.
pub const SYNC_BATCH_SIZE: usize = 10;

impl FleetOptions {
    /// The inspection batch size in force: [`batch_size`](Self::batch_size), at most
    /// [`SYNC_BATCH_SIZE`] when the run changes tenants.
    pub fn inspect_batch_size(&self) -> usize {
        if self.sync.execute {
            self.batch_size.min(SYNC_BATCH_SIZE)
        } else {
            self.batch_size
        }
    }
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            sync: SyncOptions::default(),
            concurrency: 4,
            batch_size: 100,
            max_failures: None,
            refresh_cache: false,
        }
    }
}

impl Engine {
    /// Runs every tenant against `target`, calling `on_done` as each one finishes (for
    /// progress bars). Reports come back in the order of `tenants`.
    ///
    /// Tenants whose live schemas hash the same share one diff and one plan. One tenant's
    /// failure never stops the others, unless `max_failures` is reached: then tenants not
    /// yet started are reported as skipped.
    pub async fn run_fleet(
        &self,
        tenants: Vec<TenantContext>,
        target: &SchemaSnapshot,
        options: &FleetOptions,
        on_done: &(dyn Fn(&TenantReport) + Send + Sync),
    ) -> FleetReport {
        let server = super::FleetServer::unnamed(self.clone(), tenants);
        super::run_servers(vec![server], target, options, on_done).await
    }

    /// The reports of `tenants` in their order, run as `lane` says: with the run's
    /// failure count and plan cache, and on a server of a fleet over several, under the
    /// run-wide limit and with server-qualified ids.
    pub(super) async fn run_lane(
        &self,
        tenants: Vec<TenantContext>,
        target: &SchemaSnapshot,
        options: &FleetOptions,
        on_done: &(dyn Fn(&TenantReport) + Send + Sync),
        lane: &Lane<'_>,
    ) -> Vec<TenantReport> {
        let failures = lane.failures;
        let limit_reached = || {
            options
                .max_failures
                .is_some_and(|max| failures.load(Ordering::SeqCst) >= max)
        };
        let (cache, limit_reached) = (lane.cache, &limit_reached);
        let concurrency = options.concurrency.max(1);

        let mut results: Vec<(usize, TenantReport)> = self
            .inspect_batches(
                tenants,
                options.inspect_batch_size(),
                concurrency,
                options.refresh_cache,
                limit_reached,
                lane.shared,
            )
            .map(|(index, tenant, live)| async move {
                // Held until the tenant is recorded and reported, so that the run-wide
                // limit counts it in flight until it is done.
                let _permit = match &live {
                    Some(Ok(_)) if !limit_reached() => acquire(lane.shared).await,
                    _ => None,
                };
                let mut report = match live {
                    _ if limit_reached() => {
                        TenantReport::new(tenant.id().clone(), TenantStatus::Skipped)
                    }
                    None => TenantReport::new(tenant.id().clone(), TenantStatus::Skipped),
                    Some(Err(error)) => TenantReport::failed(tenant.id().clone(), error),
                    Some(Ok(live)) => {
                        if let Some(observer) = &self.observer {
                            match lane.server {
                                Some(server) => {
                                    observer.tenant_started(&tenant.qualified(server)).await
                                }
                                None => observer.tenant_started(&tenant).await,
                            }
                        }
                        self.process_tenant(&tenant, live, target, &options.sync, cache)
                            .await
                            .unwrap_or_else(|error| {
                                TenantReport::failed(tenant.id().clone(), error)
                            })
                    }
                };
                if let Some(server) = lane.server {
                    report.tenant = TenantId::qualified_unchecked(server, &report.tenant);
                }
                if report.status.is_failure() {
                    failures.fetch_add(1, Ordering::SeqCst);
                }
                if let Some(observer) = &self.observer {
                    observer.tenant_finished(&report).await;
                }
                on_done(&report);
                (index, report)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        results.sort_by_key(|(index, _)| *index);
        results.into_iter().map(|(_, report)| report).collect()
    }

    /// Inspects every tenant without planning or locking (audit mode). Results come
    /// back in the order of `tenants`; `on_done` is called as each one finishes.
    pub async fn inspect_fleet(
        &self,
        tenants: Vec<TenantContext>,
        options: &FleetOptions,
        on_done: &(dyn Fn(&TenantContext, &Result<SchemaSnapshot>) + Send + Sync),
    ) -> Vec<(TenantContext, Result<SchemaSnapshot>)> {
        self.inspect_lane(tenants, options, on_done, None, None)
            .await
    }

    /// [`inspect_fleet`](Self::inspect_fleet) on one server of a fleet over several:
    /// contexts come back with ids qualified by `server` when given, and each batch holds
    /// a permit of `shared` (the run-wide limit) while it is read.
    pub(super) async fn inspect_lane(
        &self,
        tenants: Vec<TenantContext>,
        options: &FleetOptions,
        on_done: &(dyn Fn(&TenantContext, &Result<SchemaSnapshot>) + Send + Sync),
        server: Option<&str>,
        shared: Option<&Semaphore>,
    ) -> Vec<(TenantContext, Result<SchemaSnapshot>)> {
        let never = || false;
        let mut results: Vec<(usize, TenantContext, Result<SchemaSnapshot>)> = self
            .inspect_batches(
                tenants,
                options.batch_size,
                options.concurrency.max(1),
                options.refresh_cache,
                &never,
                shared,
            )
            .filter_map(|(index, tenant, live)| async move {
                let live = live?.map(|i| Arc::unwrap_or_clone(i.snapshot));
                let tenant = match server {
                    Some(server) => tenant.qualified(server),
                    None => tenant,
                };
                Some((index, tenant, live))
            })
            .inspect(|(_, tenant, live)| on_done(tenant, live))
            .collect()
            .await;
        results.sort_by_key(|(index, _, _)| *index);
        results
            .into_iter()
            .map(|(_, tenant, live)| (tenant, live))
            .collect()
    }

    /// A stream of `(position, tenant, inspection)`; inspection is `None` for batches not
    /// started because `stop` said so.
    fn inspect_batches<'a>(
        &'a self,
        tenants: Vec<TenantContext>,
        batch_size: usize,
        concurrency: usize,
        refresh_cache: bool,
        stop: &'a (dyn Fn() -> bool + Send + Sync),
        shared: Option<&'a Semaphore>,
    ) -> impl futures::Stream<Item = (usize, TenantContext, Option<Result<Inspection>>)> + 'a {
        let batch_size = batch_size.max(1);
        let mut batches: Vec<Vec<(usize, TenantContext)>> = Vec::new();
        for (index, tenant) in tenants.into_iter().enumerate() {
            match batches.last_mut() {
                Some(batch) if batch.len() < batch_size => batch.push((index, tenant)),
                _ => batches.push(vec![(index, tenant)]),
            }
        }
        stream::iter(batches)
            .map(move |batch| async move {
                if stop() {
                    return batch
                        .into_iter()
                        .map(|(i, t)| (i, t, None))
                        .collect::<Vec<_>>();
                }
                let _permit = acquire(shared).await;
                // Rejected names are never inspected: they fail with their reason.
                let contexts: Vec<TenantContext> = batch
                    .iter()
                    .filter(|(_, t)| t.rejection().is_none())
                    .map(|(_, t)| t.clone())
                    .collect();
                let mut inspected = self
                    .inspect_batch(&contexts, refresh_cache)
                    .await
                    .into_iter();
                batch
                    .into_iter()
                    .map(|(i, t)| {
                        if let Some(error) = rejected(&t) {
                            return (i, t, Some(Err(error)));
                        }
                        // An inspector that returns too few results must not lose tenants.
                        let live = inspected.next().unwrap_or_else(|| Err(no_result(&t)));
                        (i, t, Some(live))
                    })
                    .collect()
            })
            .buffer_unordered(concurrency)
            .flat_map(stream::iter)
    }

    /// Inspects one batch, aligned with `contexts`: from the cache where a tenant's
    /// change cookie has not moved (unless `refresh_cache`), from the database otherwise,
    /// recording what was read under the cookie read before it or with it.
    ///
    /// Where the adapter returns cookies with its inspections, a cookie is read on its
    /// own only for a tenant the cache may answer: on a cold cache, or with
    /// `refresh_cache`, each tenant is visited once.
    async fn inspect_batch(
        &self,
        contexts: &[TenantContext],
        refresh_cache: bool,
    ) -> Vec<Result<Inspection>> {
        let inspector = self.adapter.inspector();
        let Some(cache) = self.cache.as_ref().filter(|_| !contexts.is_empty()) else {
            return inspector.inspect_many_shared(contexts).await;
        };
        let with_inspection = inspector.cookies_with_inspection();
        // The tenants whose cookie is read before (and apart from) their inspection.
        let looked_up: Vec<usize> = (0..contexts.len())
            .filter(|&p| {
                !with_inspection || (!refresh_cache && cache.may_have(contexts[p].namespace()))
            })
            .collect();
        let cookies = if looked_up.is_empty() {
            Some(Vec::new())
        } else {
            let asked: Vec<TenantContext> =
                looked_up.iter().map(|&p| contexts[p].clone()).collect();
            inspector.change_cookies(&asked).await
        };
        let Some(cookies) = cookies else {
            // This adapter has no cookies: no cache.
            return inspector.inspect_many_shared(contexts).await;
        };
        let mut before: Vec<Option<ChangeCookie>> = vec![None; contexts.len()];
        for (&position, cookie) in looked_up.iter().zip(cookies) {
            before[position] = cookie;
        }
        let mut results: Vec<Option<Result<Inspection>>> = Vec::with_capacity(contexts.len());
        let mut to_read: Vec<usize> = Vec::new();
        for (position, tenant) in contexts.iter().enumerate() {
            let cached = match &before[position] {
                Some(cookie) if !refresh_cache => cache.lookup(tenant.namespace(), cookie).await,
                _ => None,
            };
            match cached {
                Some(cached) => results.push(Some(Ok(Inspection::shared(
                    cached.snapshot,
                    cached.hash,
                    before[position].clone(),
                )))),
                None => {
                    results.push(None);
                    to_read.push(position);
                }
            }
        }
        if !to_read.is_empty() {
            let reading: Vec<TenantContext> =
                to_read.iter().map(|&p| contexts[p].clone()).collect();
            let read = inspector.inspect_many_shared(&reading).await;
            for (position, live) in to_read.into_iter().zip(read) {
                let live = live.map(|mut inspection| {
                    // A cookie read before the inspection is the one to record: a change
                    // landing in between then moves the cookie past it.
                    if !with_inspection || inspection.cookie.is_none() {
                        inspection.cookie = before[position].take();
                    }
                    inspection
                });
                record(cache.as_ref(), &contexts[position], &live).await;
                results[position] = Some(live);
            }
        }
        results
            .into_iter()
            .zip(contexts)
            .map(|(result, tenant)| result.unwrap_or_else(|| Err(no_result(tenant))))
            .collect()
    }
}

/// What a fleet run shares among its servers, and how it names one server's tenants.
pub(super) struct Lane<'a> {
    /// The server whose name qualifies each tenant id (`eu-1/acme`), on a fleet over
    /// several servers; `None` keeps ids as they are.
    pub(super) server: Option<&'a str>,
    /// The run-wide limit of tenants and batches in flight, when several servers share it.
    pub(super) shared: Option<&'a Semaphore>,
    /// Failed and refused tenants of the whole run, for `max_failures`.
    pub(super) failures: &'a AtomicUsize,
    /// Diffs and plans of the whole run, by live snapshot hash.
    pub(super) cache: &'a PlanCache,
}

/// A permit of `shared`, when there is one to take: nothing is awaited on the path of a
/// single server. A closed semaphore (never closed here) lets the work through.
async fn acquire(shared: Option<&Semaphore>) -> Option<SemaphorePermit<'_>> {
    match shared {
        Some(semaphore) => semaphore.acquire().await.ok(),
        None => None,
    }
}

/// The error of a tenant whose namespace name cannot be a tenant
/// ([`TenantContext::rejection`]), which a fleet run reports as failed; `None` for a
/// valid tenant.
pub(crate) fn rejected(tenant: &TenantContext) -> Option<Error> {
    let reason = tenant.rejection()?;
    Some(Error::InvalidTenantId {
        id: tenant.id().to_string(),
        reason: format!(
            "this namespace cannot be a tenant ({reason}); rename it, or leave it out of the selection"
        ),
    })
}

/// The error of a tenant an inspector returned no result for: one that returns too few
/// results must not lose tenants.
fn no_result(tenant: &TenantContext) -> Error {
    Error::Internal {
        tenant: Some(tenant.id().clone()),
        message: "the inspector returned no result for this tenant".into(),
    }
}

/// Records a tenant just read under the cookie read before it; forgets one that could
/// not be read.
async fn record(cache: &dyn SnapshotCache, tenant: &TenantContext, live: &Result<Inspection>) {
    match live {
        Ok(Inspection {
            snapshot,
            hash,
            cookie: Some(cookie),
            ..
        }) => {
            cache
                .record(tenant.namespace(), cookie, snapshot, hash)
                .await
        }
        _ => cache.forget(tenant.namespace()).await,
    }
}
