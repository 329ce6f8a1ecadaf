//! Deterministic drift: which tenants drift, and how.
//!
//! Every kind of difference the inspectors model is produced ([`DriftKind::ALL`]), each as a
//! mutation of the tenant's copy of the template model. The `k`-th drifted tenant gets kind
//! `k mod 11` first, so any fleet with at least 11 drifted tenants covers every kind, then
//! up to two more kinds at random. Each drift touches a table no earlier drift of that
//! tenant touched, so two drifts never cancel out and the tenant really differs.
//!
//! Every drift is one that `sync --allow-destructive` can undo: tables are empty, dropped
//! or retyped columns are never used by a key, index, check or view, and a missing table is
//! never referenced by another table or a view.
//!
//! Randomness is a seeded xorshift64*, so the same flags build the same fleet on every
//! machine and commit, and results compare across commits.

use std::collections::BTreeSet;

use super::schema::{ColumnType, DefaultValue, Index, IndexKind, STATUS_VALUES, Schema};

/// A small seeded PRNG (xorshift64*, seeded through splitmix64). Not for cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`; every seed, zero included, gives a usable state.
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 1 } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// A kind of difference between a tenant and the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DriftKind {
    /// The tenant has a column the template lacks.
    ExtraColumn,
    /// The tenant lacks a column.
    MissingColumn,
    /// A column has a wider type.
    ChangedType,
    /// A column has another default.
    ChangedDefault,
    /// A column's nullability is flipped.
    Nullability,
    /// The tenant lacks an index.
    MissingIndex,
    /// The tenant has an index the template lacks.
    ExtraIndex,
    /// The tenant lacks a check constraint.
    MissingCheck,
    /// The tenant lacks a foreign key (its column and index remain).
    MissingForeignKey,
    /// A view selects other rows.
    ChangedView,
    /// The tenant lacks a table.
    MissingTable,
}

impl DriftKind {
    /// Every kind, in the order they are handed out.
    pub const ALL: [DriftKind; 11] = [
        DriftKind::ExtraColumn,
        DriftKind::MissingColumn,
        DriftKind::ChangedType,
        DriftKind::ChangedDefault,
        DriftKind::Nullability,
        DriftKind::MissingIndex,
        DriftKind::ExtraIndex,
        DriftKind::MissingCheck,
        DriftKind::MissingForeignKey,
        DriftKind::ChangedView,
        DriftKind::MissingTable,
    ];

    /// Snake-case name, as the JSON report spells it.
    pub fn name(self) -> &'static str {
        match self {
            DriftKind::ExtraColumn => "extra_column",
            DriftKind::MissingColumn => "missing_column",
            DriftKind::ChangedType => "changed_type",
            DriftKind::ChangedDefault => "changed_default",
            DriftKind::Nullability => "nullability",
            DriftKind::MissingIndex => "missing_index",
            DriftKind::ExtraIndex => "extra_index",
            DriftKind::MissingCheck => "missing_check",
            DriftKind::MissingForeignKey => "missing_foreign_key",
            DriftKind::ChangedView => "changed_view",
            DriftKind::MissingTable => "missing_table",
        }
    }
}

/// Picks `round(tenants * percent / 100)` distinct tenants, sorted.
pub fn choose_drifted(tenants: usize, percent: f64, seed: u64) -> Vec<usize> {
    let count = ((tenants as f64) * percent / 100.0).round() as usize;
    let count = count.min(tenants);
    let mut rng = Rng::new(seed ^ 0xD21F_7000_0000_0001);
    let mut order: Vec<usize> = (0..tenants).collect();
    for i in 0..count {
        let j = i + rng.below(tenants - i);
        order.swap(i, j);
    }
    let mut chosen = order[..count].to_vec();
    chosen.sort_unstable();
    chosen
}

/// The schema of drifted tenant `tenant`, the `ordinal`-th drifted one, and the kinds
/// applied. Always differs from `template`.
pub fn drift(
    template: &Schema,
    tenant: usize,
    ordinal: usize,
    seed: u64,
) -> (Schema, Vec<DriftKind>) {
    let mut rng = Rng::new(seed ^ (tenant as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut schema = template.clone();
    let mut touched = BTreeSet::new();
    let mut kinds = vec![DriftKind::ALL[ordinal % DriftKind::ALL.len()]];
    for _ in 0..rng.below(3) {
        kinds.push(DriftKind::ALL[rng.below(DriftKind::ALL.len())]);
    }
    let mut applied = Vec::new();
    for kind in kinds {
        if apply(kind, &mut schema, &mut touched, &mut rng) {
            applied.push(kind);
        }
    }
    if applied.is_empty() {
        // Only when no table is left untouched, which needs a one-table template whose
        // first drift had no candidate: an extra column fits anywhere.
        touched.clear();
        if apply(DriftKind::ExtraColumn, &mut schema, &mut touched, &mut rng) {
            applied.push(DriftKind::ExtraColumn);
        }
    }
    (schema, applied)
}

/// Applies one drift of `kind` on a table not in `touched`; false when nothing fits.
fn apply(
    kind: DriftKind,
    schema: &mut Schema,
    touched: &mut BTreeSet<String>,
    rng: &mut Rng,
) -> bool {
    // (table index, item index) pairs that this kind could change.
    let mut candidates: Vec<(usize, usize)> = Vec::new();
    for (t, table) in schema.tables.iter().enumerate() {
        if touched.contains(&table.name) {
            continue;
        }
        match kind {
            DriftKind::ExtraColumn | DriftKind::ExtraIndex | DriftKind::MissingTable => {
                candidates.push((t, 0))
            }
            DriftKind::MissingColumn | DriftKind::ChangedType => {
                let last = table.columns.len().saturating_sub(1);
                for (c, column) in table.columns.iter().enumerate() {
                    let retypable = matches!(
                        column.ty,
                        ColumnType::Integer | ColumnType::Varchar(_) | ColumnType::Text
                    );
                    // A missing column is the table's last one: PostgreSQL can only
                    // append, so a column missing from the middle would come back last,
                    // a column-order difference that is not drift but changes the hash
                    // the bench compares.
                    let removable = kind == DriftKind::MissingColumn && c == last;
                    if !table.is_column_referenced(schema, &column.name)
                        && (removable || (kind == DriftKind::ChangedType && retypable))
                    {
                        candidates.push((t, c));
                    }
                }
            }
            DriftKind::ChangedDefault => {
                for (c, column) in table.columns.iter().enumerate() {
                    if matches!(
                        column.default,
                        Some(DefaultValue::Int(_) | DefaultValue::Bool(_) | DefaultValue::Text(_))
                    ) {
                        candidates.push((t, c));
                    }
                }
            }
            DriftKind::Nullability => {
                for (c, column) in table.columns.iter().enumerate() {
                    let is_fk = table.foreign_keys.iter().any(|fk| fk.column == column.name);
                    if column.ty != ColumnType::Id && !is_fk {
                        candidates.push((t, c));
                    }
                }
            }
            DriftKind::MissingIndex => {
                for (i, index) in table.indexes.iter().enumerate() {
                    if !index.backs_foreign_key {
                        candidates.push((t, i));
                    }
                }
            }
            DriftKind::MissingCheck => candidates.extend((0..table.checks.len()).map(|i| (t, i))),
            DriftKind::MissingForeignKey => {
                candidates.extend((0..table.foreign_keys.len()).map(|i| (t, i)))
            }
            DriftKind::ChangedView => {
                for (v, view) in schema.views.iter().enumerate() {
                    if view.table == table.name {
                        candidates.push((t, v));
                    }
                }
            }
        }
    }
    if kind == DriftKind::MissingTable {
        candidates.retain(|(t, _)| !schema.is_referenced(&schema.tables[*t].name));
    }
    if kind == DriftKind::ExtraIndex {
        candidates.retain(|(t, _)| extra_index_column(&schema.tables[*t]).is_some());
    }
    let Some(&(t, item)) = candidates.get(rng.below(candidates.len())) else {
        return false;
    };
    let table_name = schema.tables[t].name.clone();
    touched.insert(table_name.clone());
    let prefix = table_name
        .split('_')
        .next()
        .unwrap_or(&table_name)
        .to_string();
    let table = &mut schema.tables[t];
    match kind {
        DriftKind::ExtraColumn => {
            let name = (1..)
                .map(|n| format!("legacy_{n}"))
                .find(|name| !table.columns.iter().any(|c| &c.name == name))
                .unwrap_or_else(|| "legacy".into());
            table.columns.push(super::schema::Column {
                name,
                ty: ColumnType::Varchar(40),
                nullable: true,
                default: None,
            });
        }
        DriftKind::MissingColumn => {
            table.columns.remove(item);
        }
        DriftKind::ChangedType => {
            let column = &mut table.columns[item];
            column.ty = match column.ty {
                ColumnType::Integer => ColumnType::BigInt,
                ColumnType::Varchar(n) => ColumnType::Varchar(n * 2),
                _ => ColumnType::Varchar(500),
            };
        }
        DriftKind::ChangedDefault => {
            let column = &mut table.columns[item];
            column.default = match column.default.take() {
                Some(DefaultValue::Int(v)) => Some(DefaultValue::Int(v + 5)),
                Some(DefaultValue::Bool(b)) => Some(DefaultValue::Bool(!b)),
                Some(DefaultValue::Text(label)) => {
                    let next = STATUS_VALUES
                        .iter()
                        .position(|v| *v == label)
                        .map_or(0, |p| (p + 1) % STATUS_VALUES.len());
                    Some(DefaultValue::Text(STATUS_VALUES[next].into()))
                }
                other => other,
            };
        }
        DriftKind::Nullability => {
            let column = &mut table.columns[item];
            column.nullable = !column.nullable;
        }
        DriftKind::MissingIndex => {
            table.indexes.remove(item);
        }
        DriftKind::ExtraIndex => {
            let Some(column) = extra_index_column(table) else {
                return false;
            };
            table.indexes.push(Index {
                name: format!("ix_{prefix}_extra_{column}"),
                columns: vec![column],
                unique: false,
                kind: IndexKind::Plain,
                backs_foreign_key: false,
            });
        }
        DriftKind::MissingCheck => {
            table.checks.remove(item);
        }
        DriftKind::MissingForeignKey => {
            table.foreign_keys.remove(item);
        }
        DriftKind::ChangedView => {
            let view = &mut schema.views[item];
            view.deleted_rows = !view.deleted_rows;
        }
        DriftKind::MissingTable => {
            schema.tables.remove(t);
        }
    }
    true
}

/// A column of `table` that no index starts with and that every dialect can index whole.
fn extra_index_column(table: &super::schema::Table) -> Option<String> {
    ["score", "code", "deleted_at", "amount"]
        .into_iter()
        .find(|name| {
            table.columns.iter().any(|c| c.name == *name)
                && !table
                    .indexes
                    .iter()
                    .any(|ix| ix.columns.first().is_some_and(|c| c == name))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::new(0);
        let mut b = Rng::new(0);
        for _ in 0..100 {
            let x = a.below(7);
            assert_eq!(x, b.below(7));
            assert!(x < 7);
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    #[test]
    fn chooses_the_requested_share() {
        let chosen = choose_drifted(1000, 10.0, 42);
        assert_eq!(chosen.len(), 100);
        assert!(chosen.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(chosen, choose_drifted(1000, 10.0, 42));
        assert!(choose_drifted(50, 0.0, 1).is_empty());
        assert_eq!(choose_drifted(50, 100.0, 1).len(), 50);
    }

    #[test]
    fn every_kind_applies_and_changes_the_schema() {
        let template = Schema::template(30, 3);
        let mut seen = BTreeSet::new();
        for ordinal in 0..200 {
            let (schema, kinds) = drift(&template, ordinal * 7, ordinal, 3);
            assert_ne!(schema, template, "tenant {ordinal} did not drift");
            assert!(!kinds.is_empty());
            assert_eq!(kinds[0], DriftKind::ALL[ordinal % DriftKind::ALL.len()]);
            seen.extend(kinds);
        }
        assert_eq!(seen.len(), DriftKind::ALL.len());
    }

    #[test]
    fn tiny_templates_still_drift() {
        for tables in 1..4 {
            let template = Schema::template(tables, 9);
            for ordinal in 0..22 {
                let (schema, kinds) = drift(&template, ordinal, ordinal, 9);
                assert_ne!(schema, template, "{tables} tables, drift {ordinal}");
                assert!(!kinds.is_empty());
            }
        }
    }
}
