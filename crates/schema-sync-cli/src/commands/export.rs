//! `plan --out DIR --layout`: one versioned migration per distinct drift shape, with its
//! down migration, in the file conventions of sqlx, refinery or diesel, and a
//! `manifest.json` mapping each migration to its tenants.
//!
//! Tenants whose live schemas hash the same share one plan (the engine plans once per
//! hash), so they share one migration. A shared file must not name any tenant's
//! namespace: the adapter renders it unqualified
//! ([`MigrationRunner::render_shared`](schema_sync_core::MigrationRunner::render_shared))
//! and every statement is checked here with
//! [`NamespaceGuard::check_shared`], the representative tenant's own namespace included.
//!
//! A shape whose plan has steps that must run outside a transaction becomes several
//! migrations (parts), each with its own down migration: the plan from the schema after
//! the part back to the schema before it, computed by the same planner.

mod layout;
mod manifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use schema_sync_core::plan::ScriptPart;
use schema_sync_core::{
    Engine, FleetReport, MigrationPlan, NamespaceGuard, SchemaSnapshot, SnapshotHash,
    TenantContext, TenantId, TenantStatus,
};

use crate::cli::Layout;
use crate::output::message;
use layout::{Script, export_time};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestMigration};

/// What `plan --layout` was asked for.
#[derive(Debug, Clone, Copy)]
pub struct ExportRequest<'a> {
    /// `--out DIR`.
    pub dir: &'a Path,
    /// `--layout`.
    pub layout: Layout,
    /// `--allow-destructive`: write migrations whose up or down steps lose data.
    pub allow_destructive: bool,
    /// Whether down plans restore column order (`--strict-column-order`).
    pub strict_column_order: bool,
}

/// A shape, or one migration of it, that was not written (or written without its down).
#[derive(Debug, Clone)]
pub struct Problem {
    /// The shape's live hash.
    pub shape: SnapshotHash,
    /// Its tenants.
    pub tenants: Vec<TenantId>,
    /// Refused for lost data (as opposed to failed).
    pub refused: bool,
    /// What happened and what to do.
    pub message: String,
}

impl Problem {
    /// `shape 3f2a9c1b0d4e (2 tenants: acme, beta)`.
    pub fn label(&self) -> String {
        let names: Vec<&str> = self.tenants.iter().map(TenantId::as_str).collect();
        format!(
            "shape {} ({}: {})",
            self.shape.short(),
            message::count(names.len(), "tenant"),
            names.join(", ")
        )
    }
}

/// What an export wrote and what it could not.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The manifest, also written to `DIR/manifest.json`.
    pub manifest: Manifest,
    /// Shapes refused or failed, and down migrations not written.
    pub problems: Vec<Problem>,
}

/// Tenants of one live schema and the plan they share.
struct Shape {
    hash: SnapshotHash,
    tenants: Vec<TenantId>,
    representative: TenantContext,
    live: Arc<SchemaSnapshot>,
    plan: Arc<MigrationPlan>,
}

/// The drifted tenants of `report` grouped by live hash: most tenants first, then by
/// hash, so versions come out the same for the same fleet. The report must keep
/// snapshots (`keep_snapshots`).
fn shapes(report: &FleetReport, contexts: &BTreeMap<TenantId, TenantContext>) -> Vec<Shape> {
    let mut by_hash: BTreeMap<SnapshotHash, Shape> = BTreeMap::new();
    for tenant in &report.tenants {
        let (Some(plan), Some(live), Some(hash), Some(context)) = (
            &tenant.plan,
            &tenant.snapshot,
            &tenant.hash,
            contexts.get(&tenant.tenant),
        ) else {
            continue;
        };
        if tenant.status == TenantStatus::InSync || tenant.error.is_some() {
            continue;
        }
        by_hash
            .entry(hash.clone())
            .or_insert_with(|| Shape {
                hash: hash.clone(),
                tenants: Vec::new(),
                representative: context.clone(),
                live: live.clone(),
                plan: plan.clone(),
            })
            .tenants
            .push(tenant.tenant.clone());
    }
    let mut shapes: Vec<Shape> = by_hash.into_values().collect();
    for shape in &mut shapes {
        shape.tenants.sort();
    }
    shapes.sort_by(|a, b| {
        b.tenants
            .len()
            .cmp(&a.tenants.len())
            .then_with(|| a.hash.cmp(&b.hash))
    });
    shapes
}

/// One migration of a shape, rendered, before versions are given out.
struct Pending {
    part: usize,
    parts: usize,
    up: Script,
    from_hash: SnapshotHash,
    to_hash: SnapshotHash,
    destructive: bool,
    down: Down,
}

/// A part's down migration.
enum Down {
    /// Rendered; `losses` says what reverting loses.
    Written { script: Script, losses: Vec<String> },
    /// Loses data and `--allow-destructive` was not given.
    Refused { losses: Vec<String> },
    /// Could not be planned or rendered.
    Failed(String),
}

/// Writes the migrations of every drifted shape of `report` and the manifest into the
/// requested directory.
///
/// # Errors
/// When a file cannot be written. Shapes that are refused or fail to render are
/// returned in [`Exported::problems`] instead.
pub async fn export(
    engine: &Engine,
    report: &FleetReport,
    contexts: &BTreeMap<TenantId, TenantContext>,
    target: &SchemaSnapshot,
    guard: &NamespaceGuard,
    request: &ExportRequest<'_>,
) -> Result<Exported> {
    let base = export_time();
    let mut problems = Vec::new();
    let mut migrations = Vec::new();
    let mut files = Vec::new();
    for shape in shapes(report, contexts) {
        let problem = |refused, message: String| Problem {
            shape: shape.hash.clone(),
            tenants: shape.tenants.clone(),
            refused,
            message,
        };
        let pending = match render_shape(engine, &shape, guard, request).await {
            Ok(pending) => pending,
            Err(refusal) => {
                problems.push(problem(refusal.refused, refusal.message));
                continue;
            }
        };
        let mut written = Vec::new();
        let mut notes = Vec::new();
        for item in pending {
            let version = request
                .layout
                .version(base, migrations.len() + written.len());
            match lay_out(request.layout, &shape, item, version) {
                Ok(laid_out) => {
                    let note = laid_out
                        .note
                        .map(|(refused, message)| problem(refused, message));
                    notes.extend(note);
                    written.push((laid_out.migration, laid_out.contents));
                }
                Err(message) => {
                    // The whole shape or nothing: a tool must not find half of it.
                    notes = vec![problem(false, message)];
                    written.clear();
                    break;
                }
            }
        }
        problems.extend(notes);
        for (migration, contents) in written {
            migrations.push(migration);
            files.extend(contents);
        }
    }
    let manifest = Manifest {
        format: manifest::MANIFEST_FORMAT,
        layout: request.layout.name(),
        target_hash: target.hash().to_string(),
        migrations,
    };
    write_all(request.dir, &files, &manifest)?;
    Ok(Exported { manifest, problems })
}

/// One migration of `shape` as `layout` writes it, numbered `version`: its manifest
/// entry, its files, and the note to report when its down file was not written.
///
/// # Errors
/// The layout's refusal, naming the migration.
fn lay_out(
    layout: Layout,
    shape: &Shape,
    item: Pending,
    version: String,
) -> std::result::Result<LaidOut, String> {
    let short = &shape.hash.short()[..8];
    let name = match item.parts {
        1 => format!("sync_shape_{short}"),
        _ => format!("sync_shape_{short}_{}", item.part),
    };
    let (down_script, down_losses, note, down_error) = match item.down {
        Down::Written { script, losses } => (Some(script), losses, None, None),
        Down::Refused { losses } => {
            let note = format!(
                "migration {version}: no down file written, reverting would lose data: {}; rerun with --allow-destructive to write it",
                losses.join("; ")
            );
            (None, losses, Some((true, note)), None)
        }
        Down::Failed(error) => {
            let note = format!("migration {version}: no down file written: {error}");
            (None, Vec::new(), Some((false, note)), Some(error))
        }
    };
    let files = layout.files(&version, &name, &item.up, down_script.as_ref())?;
    let migration = ManifestMigration {
        up: slashed(&files.up),
        down: files.down.as_deref().map(slashed),
        version,
        name,
        shape_hash: shape.hash.to_string(),
        from_hash: item.from_hash.to_string(),
        to_hash: item.to_hash.to_string(),
        part: item.part,
        parts: item.parts,
        tenants: shape
            .tenants
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        destructive: item.destructive,
        down_refused: matches!(note, Some((true, _))),
        down_losses,
        down_error,
        outside_transaction: !item.up.transactional,
        down_outside_transaction: down_script.is_some_and(|d| !d.transactional),
    };
    Ok(LaidOut {
        migration,
        contents: files.contents,
        note,
    })
}

/// A migration ready to write ([`lay_out`]).
struct LaidOut {
    migration: ManifestMigration,
    contents: Vec<(PathBuf, String)>,
    /// `(refused, message)` when its down file was not written.
    note: Option<(bool, String)>,
}

/// Why a whole shape was not exported.
struct Refusal {
    refused: bool,
    message: String,
}

/// Every migration of `shape`: its parts, each rendered for files shared by its tenants,
/// with the down migration of each.
async fn render_shape(
    engine: &Engine,
    shape: &Shape,
    guard: &NamespaceGuard,
    request: &ExportRequest<'_>,
) -> std::result::Result<Vec<Pending>, Refusal> {
    let failed = |message: String| Refusal {
        refused: false,
        message,
    };
    let losses = shape.plan.losses();
    if !losses.is_empty() && !request.allow_destructive {
        return Err(Refusal {
            refused: true,
            message: format!(
                "not written, the migration would lose data: {}; rerun with --allow-destructive to write it",
                losses.join("; ")
            ),
        });
    }
    let rep = &shape.representative;
    let runner = engine.adapter().runner();
    let parts = runner
        .render_shared(rep, &shape.plan, &shape.live)
        .await
        .map_err(|e| failed(message::core_error(&e)))?;
    check(guard, rep, &parts).map_err(failed)?;
    let count = parts.len();
    let mut before = shape.live.as_ref().clone();
    let mut pending = Vec::with_capacity(count);
    for (index, part) in parts.into_iter().enumerate() {
        let mut after = before.clone();
        for &step in &part.steps {
            if let Some(step) = shape.plan.steps.get(step) {
                step.operation
                    .apply_to(&mut after)
                    .map_err(|e| Refusal {
                        refused: false,
                        message: format!(
                            "cannot tell the schema after migration part {} to plan its down migration: {e}; export one file per tenant with plan --out without --layout",
                            index + 1
                        ),
                    })?;
            }
        }
        let down = down(engine, rep, &after, &before, guard, request).await;
        let header = header(
            &shape.plan,
            &part,
            (&before.hash(), &after.hash()),
            (index + 1, count),
            "up",
        );
        pending.push(Pending {
            part: index + 1,
            parts: count,
            up: Script {
                text: format!("{header}{}", statements(&part.statements)),
                transactional: part.transactional,
            },
            from_hash: before.hash(),
            to_hash: after.hash(),
            destructive: part
                .steps
                .iter()
                .any(|&i| shape.plan.steps.get(i).is_some_and(|s| s.destructive)),
            down,
        });
        before = after;
    }
    Ok(pending)
}

/// The down migration from `after` back to `before`, rendered as one file.
async fn down(
    engine: &Engine,
    rep: &TenantContext,
    after: &SchemaSnapshot,
    before: &SchemaSnapshot,
    guard: &NamespaceGuard,
    request: &ExportRequest<'_>,
) -> Down {
    let plan = match engine.plan_with(after, before, request.strict_column_order) {
        Ok((_, plan)) => plan,
        Err(e) => return Down::Failed(message::core_error(&e)),
    };
    let losses = plan.losses();
    if !losses.is_empty() && !request.allow_destructive {
        return Down::Refused { losses };
    }
    let parts = match engine
        .adapter()
        .runner()
        .render_shared(rep, &plan, after)
        .await
    {
        Ok(parts) => parts,
        Err(e) => return Down::Failed(message::core_error(&e)),
    };
    if let Err(refusal) = check(guard, rep, &parts) {
        return Down::Failed(refusal);
    }
    let part = match parts.as_slice() {
        [] => ScriptPart::transactional(Vec::new(), Vec::new()),
        [one] => one.clone(),
        many => {
            return Down::Failed(format!(
                "reverting needs {} migrations, some outside a transaction; bring the tenants back with schema-sync sync --target instead",
                many.len()
            ));
        }
    };
    let mut text = String::new();
    if !losses.is_empty() {
        text.push_str("-- WARNING: reverting this migration loses data:\n");
    }
    text.push_str(&header(
        &plan,
        &part,
        (&after.hash(), &before.hash()),
        (1, 1),
        "down",
    ));
    text.push_str(&statements(&part.statements));
    Down::Written {
        script: Script {
            text,
            transactional: part.transactional,
        },
        losses,
    }
}

/// Refuses parts that name a tenant's namespace, the representative's own included.
///
/// # Errors
/// The refusal, saying why a shared file may name no tenant.
fn check(guard: &NamespaceGuard, rep: &TenantContext, parts: &[ScriptPart]) -> Result<(), String> {
    parts
        .iter()
        .try_for_each(|part| guard.check_shared(rep, &part.statements))
        .map_err(|e| {
            format!(
                "a migration file shared by the tenants of a shape may name no tenant's schema or database: {}",
                message::core_error(&e)
            )
        })
}

/// The comments at the top of a migration file: what it does (`part` of `plan`, from one
/// hash to another; `index` of `parts`), what it loses. Tenants are not named (the
/// manifest lists them): a shared file names none.
fn header(
    plan: &MigrationPlan,
    part: &ScriptPart,
    (from, to): (&SnapshotHash, &SnapshotHash),
    (index, parts): (usize, usize),
    way: &str,
) -> String {
    let mut text = format!(
        "-- schema-sync {way} migration from {} to {}: {} step(s)\n",
        from.short(),
        to.short(),
        part.steps.len(),
    );
    if parts > 1 {
        text.push_str(&format!("-- part {index} of {parts} of this drift shape\n"));
    }
    if !part.transactional {
        text.push_str("-- runs outside a transaction\n");
    }
    for &step in &part.steps {
        if let Some(loss) = plan.steps.get(step).and_then(|s| s.loss()) {
            text.push_str(&format!("-- DESTRUCTIVE: {loss}\n"));
        }
    }
    text
}

/// Statements, one per line, each ending in `;`.
fn statements(statements: &[String]) -> String {
    statements
        .iter()
        .map(|s| format!("{};\n", s.trim_end_matches(';')))
        .collect()
}

/// A relative path with `/` separators, for the manifest.
fn slashed(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Writes `files` and the manifest under `dir`.
fn write_all(
    dir: &Path,
    files: &[(std::path::PathBuf, String)],
    manifest: &Manifest,
) -> Result<()> {
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let path = dir.join(MANIFEST_FILE);
    let json = serde_json::to_string_pretty(manifest).context("cannot serialise the manifest")?;
    std::fs::write(&path, format!("{json}\n"))
        .with_context(|| format!("cannot write {}", path.display()))
}
