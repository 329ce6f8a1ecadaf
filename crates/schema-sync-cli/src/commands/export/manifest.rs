//! `manifest.json`: which migration is for which tenants (docs/src/migration-engines.md
//! describes every field; `format` changes when one changes meaning).

use serde::Serialize;

/// The manifest's `format`.
pub const MANIFEST_FORMAT: u32 = 1;

/// The file name of the manifest in the output directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The document written to `DIR/manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The `--layout`.
    pub layout: &'static str,
    /// The hash of the target every migration leads to.
    pub target_hash: String,
    /// Every migration written, in version order.
    pub migrations: Vec<ManifestMigration>,
}

/// One migration in the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestMigration {
    /// The version, as the file names spell it.
    pub version: String,
    /// The name after the version (`sync_shape_<8 hex of shape_hash>`, with `_<part>`
    /// when the shape needs more than one migration).
    pub name: String,
    /// The up file, relative to the manifest, with `/` separators.
    pub up: String,
    /// The down file, or `null` when none was written (`down_refused` or
    /// `down_error` says why).
    pub down: Option<String>,
    /// The live snapshot hash the tenants of this shape share.
    pub shape_hash: String,
    /// The hash the tenant has before this migration.
    pub from_hash: String,
    /// The hash the tenant has after it (the target hash after the shape's last part).
    pub to_hash: String,
    /// 1-based: which of the shape's migrations this is.
    pub part: usize,
    /// How many migrations the shape needs (more than one when some steps must run
    /// outside a transaction).
    pub parts: usize,
    /// The tenants of the shape, sorted.
    pub tenants: Vec<String>,
    /// Whether the up migration loses data.
    pub destructive: bool,
    /// What reverting loses, one entry per destructive step of the down migration.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub down_losses: Vec<String>,
    /// Whether the down file was refused because it loses data and
    /// `--allow-destructive` was not given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub down_refused: bool,
    /// Why no down file could be written, when it was not refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_error: Option<String>,
    /// Whether the up migration runs outside a transaction.
    pub outside_transaction: bool,
    /// Whether the down migration runs outside a transaction.
    pub down_outside_transaction: bool,
}
