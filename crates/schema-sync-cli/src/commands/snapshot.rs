//! `snapshot save|list|show|diff|tag`: snapshot history in a store, and `--save-snapshots`.

use std::process::ExitCode;
use std::time::Instant;

use anstream::println;
use anyhow::{Context, Result, bail};
use schema_sync_core::{
    DefaultDiffCalculator, DiffCalculator, Engine, FleetOptions, FleetReport, SchemaSnapshot,
    SnapshotHash, SnapshotStore, TenantId, TenantStatus,
};
use serde_json::json;

use super::{EXIT_DRIFT_OR_FAILURE, EXIT_OK, exit};
use crate::cli::{Format, SnapshotCommand};
use crate::config::Settings;
use crate::output::style::{BOLD, DIM, GREEN, RED, Styled, YELLOW};
use crate::select::select_tenants;

/// Opens the configured store, or says how to configure one.
///
/// # Errors
/// No store configured, or the store cannot be opened.
pub async fn open(settings: &Settings) -> Result<Box<dyn SnapshotStore>> {
    open_url(settings.snapshot_store.as_deref()).await
}

async fn open_url(url: Option<&str>) -> Result<Box<dyn SnapshotStore>> {
    let Some(url) = url else {
        bail!(
            "no snapshot store: pass --snapshot-store URL (file://DIR, sqlite://FILE, postgres://..., git+file:///DIR, s3://bucket/prefix) or add `snapshot_store = \"...\"` to schema-sync.toml"
        );
    };
    Ok(schema_sync_snapshots::open_store(url).await?)
}

/// The configured store, opened the first time a command needs it: `snapshot show
/// s.json` and `snapshot diff a.json b.json` read files and open no store at all.
pub struct LazyStore {
    url: Option<String>,
    store: tokio::sync::OnceCell<Box<dyn SnapshotStore>>,
}

impl LazyStore {
    /// The store `settings` name, not yet opened.
    pub fn new(settings: &Settings) -> Self {
        Self {
            url: settings.snapshot_store.clone(),
            store: tokio::sync::OnceCell::new(),
        }
    }

    /// The store, opened on first use.
    ///
    /// # Errors
    /// No store configured, or the store cannot be opened.
    pub async fn get(&self) -> Result<&dyn SnapshotStore> {
        let store = self
            .store
            .get_or_try_init(|| open_url(self.url.as_deref()))
            .await?;
        Ok(store.as_ref())
    }
}

/// A reference to one snapshot: `tenant@hash`, `tenant@tag`, `tenant@latest`, `tenant`
/// (latest), or a `.json` file. Only a stored snapshot opens the store.
///
/// # Errors
/// An unreadable or invalid file, a reference that names nothing, or a store error.
pub async fn resolve(store: &LazyStore, reference: &str) -> Result<SchemaSnapshot> {
    if reference.ends_with(".json") {
        let text = std::fs::read_to_string(reference)
            .with_context(|| format!("cannot read snapshot file {reference}"))?;
        return Ok(SchemaSnapshot::from_json(&text, reference)?);
    }
    let (tenant, version) = reference.rsplit_once('@').unwrap_or((reference, "latest"));
    let tenant = TenantId::new(tenant).with_context(|| {
        format!("{reference:?} is not tenant@hash, tenant@tag, tenant@latest or a .json file")
    })?;
    let store = store.get().await?;
    let hash = if version == "latest" {
        match store.latest(&tenant).await? {
            Some((_, snapshot)) => return Ok(snapshot),
            None => bail!(
                "tenant {:?} has no saved snapshots; run `schema-sync snapshot save --tenant {tenant}`",
                tenant.as_str()
            ),
        }
    } else if let Ok(hash) = SnapshotHash::parse(version) {
        hash
    } else {
        store
            .resolve_tag(&tenant, version)
            .await?
            .with_context(|| format!("tenant {:?} has no snapshot tagged {version:?}; see `schema-sync snapshot list`", tenant.as_str()))?
    };
    Ok(store.load(&tenant, &hash).await?)
}

/// Saves the post-run snapshot of every tenant the run could inspect: the target for
/// synced tenants, the inspected schema otherwise.
pub async fn save_after_run(
    store: &dyn SnapshotStore,
    report: &FleetReport,
    target: &SchemaSnapshot,
) -> Result<usize> {
    let mut saved = 0;
    for tenant in &report.tenants {
        let snapshot = match (tenant.status, &tenant.snapshot) {
            (TenantStatus::Synced, _) => target,
            (_, Some(snapshot)) => snapshot.as_ref(),
            _ => continue,
        };
        store.save(&tenant.tenant, snapshot).await?;
        saved += 1;
    }
    Ok(saved)
}

/// Runs a `snapshot` subcommand.
///
/// # Errors
/// A usage, store or connection error.
pub async fn run(
    command: &SnapshotCommand,
    settings: &Settings,
    engine: Option<&Engine>,
) -> Result<ExitCode> {
    let store = LazyStore::new(settings);
    let json_output = settings.format != Format::Text;
    match command {
        SnapshotCommand::Save(_) => {
            let Some(engine) = engine else {
                bail!("snapshot save needs --url to inspect tenants")
            };
            let store = store.get().await?;
            let started = Instant::now();
            let tenants = select_tenants(engine, &settings.selection, None).await?;
            let options = FleetOptions::default().with_concurrency(settings.concurrency);
            let results = engine.inspect_fleet(tenants, &options, &|_, _| {}).await;
            let mut documents = Vec::new();
            let mut failed = 0;
            for (tenant, result) in results {
                match result {
                    Ok(snapshot) => {
                        let record = store.save(tenant.id(), &snapshot).await?;
                        if !json_output && !settings.quiet {
                            println!(
                                "{}  {}",
                                Styled(BOLD, tenant.id().as_str()),
                                Styled(GREEN, record.hash.as_str())
                            );
                        }
                        documents.push(json!({ "tenant": tenant.id(), "hash": record.hash, "saved_at": record.saved_at }));
                    }
                    Err(error) => {
                        failed += 1;
                        if !json_output {
                            println!(
                                "{}  {}",
                                Styled(BOLD, tenant.id().as_str()),
                                Styled(RED, &crate::output::message::core_error(&error))
                            );
                        }
                        documents.push(json!({ "tenant": tenant.id(), "error": crate::output::json::error_value(Some(&error)) }));
                    }
                }
            }
            let elapsed = started.elapsed().as_millis();
            if json_output {
                crate::output::json::print_document(
                    settings.format,
                    &json!({ "command": "snapshot save", "tenants": documents, "summary": { "failed": failed, "duration_ms": elapsed } }),
                );
            } else {
                println!(
                    "{} saved, {failed} failed ({:.1} s)",
                    crate::output::message::count(documents.len() - failed, "snapshot"),
                    elapsed as f64 / 1000.0
                );
            }
            Ok(exit(if failed > 0 {
                EXIT_DRIFT_OR_FAILURE
            } else {
                EXIT_OK
            }))
        }
        SnapshotCommand::List { tenant, .. } => {
            let tenant = TenantId::new(tenant.as_str())?;
            let store = store.get().await?;
            let history = store.history(&tenant).await?;
            if json_output {
                crate::output::json::print_document(
                    settings.format,
                    &json!({ "command": "snapshot list", "tenant": tenant, "history": history }),
                );
            } else {
                let mut previous: Option<&SnapshotHash> = None;
                for record in &history {
                    let changed = if previous.is_some_and(|p| p != &record.hash) {
                        Styled(YELLOW, " changed")
                    } else {
                        Styled(DIM, "")
                    };
                    let tags = if record.tags.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", record.tags.join(", "))
                    };
                    println!(
                        "{}  {}{}{}",
                        record.saved_at,
                        record.hash.short(),
                        tags,
                        changed
                    );
                    previous = Some(&record.hash);
                }
                println!(
                    "{} snapshot{} of tenant {tenant}",
                    history.len(),
                    if history.len() == 1 { "" } else { "s" }
                );
            }
            Ok(exit(EXIT_OK))
        }
        SnapshotCommand::Show { reference, .. } => {
            let snapshot = resolve(&store, reference).await?;
            println!("{}", snapshot.to_pretty_json());
            Ok(exit(EXIT_OK))
        }
        SnapshotCommand::Diff { from, to, .. } => {
            let from_snapshot = resolve(&store, from).await?;
            let to_snapshot = resolve(&store, to).await?;
            let diff = DefaultDiffCalculator.diff(&from_snapshot, &to_snapshot);
            if json_output {
                let document = json!({
                    "command": "snapshot diff",
                    "from": { "reference": from, "hash": from_snapshot.hash() },
                    "to": { "reference": to, "hash": to_snapshot.hash() },
                    "changes": diff.change_count(),
                    "diff": diff,
                });
                crate::output::json::print_document(settings.format, &document);
            } else if diff.is_empty() {
                println!(
                    "{}",
                    Styled(GREEN, &format!("{from} and {to} are the same schema"))
                );
            } else {
                print!("{}", diff.to_text());
                println!(
                    "{} change{}",
                    diff.change_count(),
                    if diff.change_count() == 1 { "" } else { "s" }
                );
            }
            Ok(exit(EXIT_OK))
        }
        SnapshotCommand::Tag { reference, tag, .. } => {
            let (tenant, version) = reference
                .rsplit_once('@')
                .unwrap_or((reference.as_str(), "latest"));
            let tenant = TenantId::new(tenant)?;
            let hash = resolve(&store, reference).await?.hash();
            store.get().await?.tag(&tenant, &hash, tag).await?;
            if !json_output {
                println!("tagged {tenant}@{} as {tag} (from {version})", hash.short());
            } else {
                crate::output::json::print_document(
                    settings.format,
                    &json!({ "command": "snapshot tag", "tenant": tenant, "hash": hash, "tag": tag }),
                );
            }
            Ok(exit(EXIT_OK))
        }
    }
}
