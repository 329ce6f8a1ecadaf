//! Names for constraints that SQLite does not name.
//!
//! SQLite keeps no name for an unnamed `UNIQUE`, `FOREIGN KEY` or `CHECK`, so the
//! inspector derives one from the content: equal schemas get equal names. A renderer
//! writes `CONSTRAINT name` only for a name that is not the derived one, so an unnamed
//! constraint stays unnamed and a named one keeps its name.

use schema_sync_core::snapshot::{ForeignKey, UniqueConstraint};

/// The name of an unnamed unique constraint on `columns` of `table`.
pub(crate) fn unique(table: &str, columns: &[String]) -> String {
    format!("{table}_{}_key", columns.join("_"))
}

/// The name of an unnamed foreign key on `columns` of `table`.
pub(crate) fn foreign_key(table: &str, columns: &[String]) -> String {
    format!("{table}_{}_fkey", columns.join("_"))
}

/// The name of an unnamed check with (normalised) `expression` on `table`.
pub(crate) fn check(table: &str, expression: &str) -> String {
    let digest = blake3::hash(expression.as_bytes()).to_hex();
    format!("{table}_check_{}", &digest[..8])
}

/// Whether `name` is what the inspector derives for this unique constraint.
pub(crate) fn is_derived_unique(table: &str, name: &str, unique: &UniqueConstraint) -> bool {
    name == self::unique(table, &unique.columns)
}

/// Whether `name` is what the inspector derives for this foreign key (a second key on
/// the same columns gets a numeric suffix).
pub(crate) fn is_derived_foreign_key(table: &str, name: &str, fk: &ForeignKey) -> bool {
    let base = foreign_key(table, &fk.columns);
    name.strip_prefix(base.as_str())
        .is_some_and(|rest| rest.chars().all(|c| c.is_ascii_digit()))
}

/// Whether `name` is what the inspector derives for this check.
pub(crate) fn is_derived_check(table: &str, name: &str, expression: &str) -> bool {
    name == check(table, expression)
}
