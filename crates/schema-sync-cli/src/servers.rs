//! The database servers of a run: the single `url`, or the `[[databases]]` of the config.
//!
//! Named servers are connected at once, and one that cannot be reached is kept with its
//! error instead of stopping the run: its tenants fail, the others run. Their tenants go
//! by ids qualified with the server's name (`eu-1/acme`) in output and in the ledger;
//! the single `url` server keeps today's bare ids. Each server's connection pool holds at
//! most its own `concurrency` (within `--concurrency`), which protects it whatever the
//! engine does.

use anyhow::{Result, bail};
use schema_sync_core::{
    ConnectOptions, Engine, Error, FleetServer, FleetSummary, NamespaceGuard, TenantContext,
    TenantId, TenantReport, redact_url,
};

use crate::config::{DEFAULT_CONFIG, Settings};
use crate::shard::server_name;

/// One server of a run.
pub struct Server {
    /// The configured name, which qualifies tenant ids; `None` for the single `url`.
    pub name: Option<String>,
    /// The name in shard hashes and summaries: the configured name, else the URL's
    /// `host:port/database`.
    pub label: String,
    /// The URL as configured (never printed as is: see [`Server::redacted_url`]).
    url: String,
    /// Its own limit of tenants in flight.
    pub concurrency: Option<usize>,
    /// Its own tenant glob.
    pub pattern: Option<String>,
    /// Its own exclusions.
    pub exclude: Vec<String>,
    /// The engine, or why the server cannot be reached (without a password).
    pub engine: std::result::Result<Engine, String>,
}

impl Server {
    /// The URL without its password.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }

    /// `id` as reports name it: `name/id` on a named server.
    pub fn qualify(&self, id: &TenantId) -> Result<TenantId> {
        Ok(match &self.name {
            Some(name) => TenantId::qualified(name, id)?,
            None => id.clone(),
        })
    }

    /// The error of a tenant of this server when the server cannot be reached, naming the
    /// server, its URL without password and the fix.
    pub fn unreachable(&self, why: &str) -> Error {
        Error::Connection {
            target: format!(
                "server \"{}\" ({})",
                self.label,
                self.redacted_url()
            ),
            source: format!(
                "{why}; check that the server is up and the `url` of its [[databases]] entry in {DEFAULT_CONFIG}, then resume the run's failed tenants with `schema-sync sync --resume RUN`"
            )
            .into(),
        }
    }
}

/// The servers of a run, in the config's order.
pub struct Servers {
    list: Vec<Server>,
}

impl Servers {
    /// Connects every server the settings name (read-only when asked); each fleet
    /// command's engine gets the server's snapshot cache.
    ///
    /// # Errors
    /// No URL at all, or the single `url` server cannot be reached (exit 2, as ever). A
    /// named server that cannot be reached is kept with its error.
    pub async fn connect(settings: &Settings, read_only: bool, cached: bool) -> Result<Self> {
        if settings.databases.is_empty() {
            let url = settings.require_url()?.to_string();
            let engine = connect(settings, &url, None, read_only, cached).await?;
            return Ok(Self {
                list: vec![Server {
                    name: None,
                    label: server_name(None, &url),
                    url,
                    concurrency: None,
                    pattern: None,
                    exclude: Vec::new(),
                    engine: Ok(engine),
                }],
            });
        }
        let connecting = settings.databases.iter().map(|entry| async move {
            let engine = connect(settings, &entry.url, entry.concurrency, read_only, cached)
                .await
                .map_err(|e| redact_url(&crate::output::message::any_error(&e)));
            Server {
                name: Some(entry.name.clone()),
                label: entry.name.clone(),
                url: entry.url.clone(),
                concurrency: entry.concurrency,
                pattern: entry.tenant_pattern.clone(),
                exclude: entry.exclude.clone(),
                engine,
            }
        });
        Ok(Self {
            list: futures::future::join_all(connecting).await,
        })
    }

    /// The servers.
    pub fn list(&self) -> &[Server] {
        &self.list
    }

    /// Whether tenant ids carry server names (`[[databases]]`).
    pub fn named(&self) -> bool {
        self.list.iter().any(|s| s.name.is_some())
    }

    /// The engine of the one server a command that works on one server needs.
    ///
    /// # Errors
    /// Several servers are configured, or the one configured cannot be reached.
    pub fn single(&self, command: &str) -> Result<&Engine> {
        match self.list.as_slice() {
            [server] => server
                .engine
                .as_ref()
                .map_err(|why| anyhow::Error::new(server.unreachable(why))),
            servers => bail!(
                "`schema-sync {command}` works on one server, and {DEFAULT_CONFIG} lists {} [[databases]]: run it with --config naming a file with one of them, or with --url and no [[databases]]",
                servers.len()
            ),
        }
    }

    /// The first server that answered: where a SQL target is applied.
    ///
    /// # Errors
    /// No server answered: every error, each naming its server.
    pub fn first_reachable(&self) -> Result<&Engine> {
        if let Some(engine) = self.list.iter().find_map(|s| s.engine.as_ref().ok()) {
            return Ok(engine);
        }
        let errors: Vec<String> = self
            .list
            .iter()
            .filter_map(|s| {
                s.engine
                    .as_ref()
                    .err()
                    .map(|why| s.unreachable(why).to_string())
            })
            .collect();
        bail!("no server could be reached: {}", errors.join("; "))
    }

    /// The position of the server named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.list
            .iter()
            .position(|s| s.name.as_deref() == Some(name))
    }

    /// The configured names, for messages.
    pub fn names(&self) -> String {
        self.list
            .iter()
            .map(|s| s.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The server and bare id of a tenant id as reports and the ledger write it.
    ///
    /// # Errors
    /// A qualified id names no configured server, or a bare one is given with named
    /// servers.
    pub fn split<'a>(&self, id: &'a str) -> Result<(usize, &'a str)> {
        if !self.named() {
            return Ok((0, id));
        }
        match id.split_once('/') {
            Some((name, bare)) => match self.position(name) {
                Some(position) => Ok((position, bare)),
                None => bail!(
                    "tenant \"{id}\" names server \"{name}\", which is not in the [[databases]] of {DEFAULT_CONFIG} (the servers are {})",
                    self.names()
                ),
            },
            None => bail!(
                "tenant \"{id}\" does not name its server: with several servers write SERVER/{id} (the servers are {})",
                self.names()
            ),
        }
    }

    /// The position of the server of a reported tenant.
    fn server_of(&self, tenant: &TenantId) -> usize {
        self.split(tenant.as_str())
            .map_or(0, |(position, _)| position)
    }

    /// The run's servers with their tenants, for [`schema_sync_core::run_servers`]:
    /// reachable ones only, in the config's order, each with its limit and guard.
    ///
    /// # Errors
    /// A server name core refuses (never, after the config's checks).
    pub fn fleet(
        &self,
        tenants: Vec<(usize, TenantContext)>,
        engines: &[Option<Engine>],
        guards: &[Option<NamespaceGuard>],
    ) -> Result<Vec<FleetServer>> {
        let mut by_server: Vec<Vec<TenantContext>> = vec![Vec::new(); self.list.len()];
        for (position, tenant) in tenants {
            by_server[position].push(tenant);
        }
        let mut fleet = Vec::new();
        for (position, tenants) in by_server.into_iter().enumerate() {
            let server = &self.list[position];
            let Some(engine) = engines.get(position).cloned().flatten() else {
                continue;
            };
            if tenants.is_empty() && self.list.len() > 1 {
                continue;
            }
            let mut entry = match &server.name {
                Some(name) => FleetServer::named(name.clone(), engine, tenants)?,
                None => FleetServer::unnamed(engine, tenants),
            };
            entry = entry.with_concurrency(server.concurrency);
            if let Some(Some(guard)) = guards.get(position) {
                entry = entry.with_isolation(guard.clone());
            }
            fleet.push(entry);
        }
        Ok(fleet)
    }

    /// Each server's counts over `reports` (a run's tenants), in the config's order.
    pub fn summaries(&self, reports: &[TenantReport]) -> Vec<FleetSummary> {
        let mut summaries = vec![FleetSummary::default(); self.list.len()];
        let mut hashes: Vec<std::collections::HashSet<&str>> =
            vec![Default::default(); self.list.len()];
        for report in reports {
            let position = self.server_of(&report.tenant);
            let summary = &mut summaries[position];
            summary.total += 1;
            summary.count(report.status);
            if let Some(hash) = &report.hash {
                hashes[position].insert(hash.as_str());
            }
        }
        for (summary, hashes) in summaries.iter_mut().zip(hashes) {
            summary.distinct_schemas = hashes.len();
        }
        summaries
    }
}

/// Connects one server, read-only when asked, with a pool of at most its limit within
/// `--concurrency`.
async fn connect(
    settings: &Settings,
    url: &str,
    limit: Option<usize>,
    read_only: bool,
    cached: bool,
) -> Result<Engine> {
    let connections = limit.map_or(settings.concurrency, |l| l.min(settings.concurrency));
    let options = ConnectOptions::default()
        .with_max_connections(connections.max(1))
        .with_read_only(read_only)
        .with_lock_timeout(Some(settings.lock_timeout))
        .with_statement_timeout(settings.statement_timeout)
        .with_include_privileges(settings.include_privileges);
    let adapter = crate::registry::connect(url, options).await?;
    let engine = crate::strategy::apply(Engine::new(adapter), settings.strategy)?;
    Ok(
        match cached
            .then(|| crate::cache::open(settings, engine.adapter().name(), url))
            .flatten()
        {
            Some(cache) => engine.with_cache(cache),
            None => engine,
        },
    )
}
