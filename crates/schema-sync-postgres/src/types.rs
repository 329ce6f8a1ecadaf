//! Type normalisation: PostgreSQL catalog types to [`DataType`], and what a type change
//! can do to the values (`render/type_sql.rs` spells types as SQL).
//!
//! The inspector reads a column's type from `pg_type` (base name, namespace, array
//! dimensions) and its modifier from `atttypmod`, never by re-parsing `format_type`
//! output. Synonyms fold into one canonical name (`int4`, `int` and `integer` are all
//! `integer`), so equal types compare equal whatever spelling the DDL used. Types of the
//! tenant's own schema carry no schema (tenant-relative); types of other schemas such as
//! `public.citext` keep it.

use schema_sync_core::snapshot::DataType;

/// A column type as the catalog describes it.
#[derive(Debug, Clone)]
pub(crate) struct CatalogType<'a> {
    /// `pg_type.typname` of the type, or of the element type for arrays.
    pub name: &'a str,
    /// The namespace of that type, or `None` when it is the tenant's own.
    pub schema: Option<&'a str>,
    /// Array dimensions (0 for a scalar).
    pub array_dimensions: u8,
    /// `atttypmod`.
    pub typmod: i32,
    /// `format_type(atttypid, atttypmod)`, used only for `interval` field qualifiers.
    pub formatted: &'a str,
}

/// Why a type could not be represented exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeLoss(pub String);

/// The header size PostgreSQL adds to character type modifiers.
const VARHDRSZ: i32 = 4;

/// Canonical names of `pg_catalog` types whose SQL name differs from `typname`.
const CANONICAL: &[(&str, &str)] = &[
    ("int2", "smallint"),
    ("int4", "integer"),
    ("int8", "bigint"),
    ("float4", "real"),
    ("float8", "double precision"),
    ("bool", "boolean"),
    ("char", "\"char\""),
];

/// Canonical names rendered without quotes: SQL keywords or names that need no quoting.
pub(crate) const PLAIN: &[&str] = &[
    "smallint",
    "integer",
    "bigint",
    "real",
    "double precision",
    "boolean",
    "numeric",
    "varchar",
    "char",
    "bpchar",
    "text",
    "bytea",
    "date",
    "time",
    "timetz",
    "timestamp",
    "timestamptz",
    "interval",
    "bit",
    "uuid",
    "json",
    "jsonb",
    "xml",
    "inet",
    "cidr",
    "macaddr",
    "macaddr8",
    "money",
    "oid",
    "tsvector",
    "tsquery",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "int4range",
    "int8range",
    "numrange",
    "tsrange",
    "tstzrange",
    "daterange",
];

/// Normalises a catalog type. A modifier that cannot be represented is reported as a
/// [`TypeLoss`] next to the closest type.
pub(crate) fn normalize(t: &CatalogType<'_>) -> (DataType, Option<TypeLoss>) {
    let mut loss = None;
    let mut data_type = match t.schema {
        Some(schema) if schema != "pg_catalog" => {
            let mut d = DataType::named(t.name);
            d.schema = Some(schema.to_string());
            if t.typmod >= 0 {
                loss = Some(TypeLoss(format!(
                    "type modifier of {schema}.{} is not modelled",
                    t.name
                )));
            }
            d
        }
        Some(_) => builtin(t, &mut loss),
        None => {
            if t.typmod >= 0 {
                loss = Some(TypeLoss(format!(
                    "type modifier of {} is not modelled",
                    t.name
                )));
            }
            DataType::named(t.name)
        }
    };
    data_type.array_dimensions = t.array_dimensions;
    (data_type, loss)
}

/// A `pg_catalog` type with its modifier decoded.
fn builtin(t: &CatalogType<'_>, loss: &mut Option<TypeLoss>) -> DataType {
    let name = CANONICAL
        .iter()
        .find(|(from, _)| *from == t.name)
        .map(|(_, to)| *to)
        .unwrap_or(t.name);
    let typmod = t.typmod;
    match name {
        "varchar" | "bpchar" => {
            if typmod >= VARHDRSZ {
                let canonical = if name == "bpchar" { "char" } else { name };
                DataType::named(canonical).with_length((typmod - VARHDRSZ) as u32)
            } else {
                DataType::named(name)
            }
        }
        "bit" | "varbit" if typmod >= 0 => DataType::named(name).with_length(typmod as u32),
        "numeric" if typmod >= VARHDRSZ => {
            let packed = typmod - VARHDRSZ;
            let precision = ((packed >> 16) & 0xffff) as u32;
            // PostgreSQL 15 stores the scale as an 11-bit signed number.
            let scale = ((packed & 0x7ff) ^ 1024) - 1024;
            if scale < 0 {
                *loss = Some(TypeLoss(format!(
                    "numeric({precision},{scale}) has a negative scale, which is not modelled"
                )));
            }
            DataType::named("numeric").with_precision(precision, Some(scale.max(0) as u32))
        }
        "timestamp" | "timestamptz" | "time" | "timetz" if typmod >= 0 => {
            let mut d = DataType::named(name);
            d.precision = Some(typmod as u32);
            d
        }
        "interval" if typmod >= 0 => interval(t.formatted),
        _ => DataType::named(name),
    }
}

/// Parses `interval`, `interval(3)`, `interval day to second` or
/// `interval day to second(3)` from `format_type` output (array brackets removed).
pub(crate) fn interval(formatted: &str) -> DataType {
    let text = formatted.trim_end_matches("[]");
    match text.strip_suffix(')').and_then(|t| t.rsplit_once('(')) {
        Some((name, digits)) => {
            let mut d = DataType::named(name.trim_end());
            d.precision = digits.parse().ok();
            d
        }
        None => DataType::named(text),
    }
}

/// Type families between which PostgreSQL has direct casts.
const FAMILIES: &[&[&str]] = &[
    &[
        "smallint",
        "integer",
        "bigint",
        "real",
        "double precision",
        "numeric",
    ],
    &["text", "varchar", "char", "bpchar"],
    &["timestamp", "timestamptz", "date"],
    &["time", "timetz"],
    &["json", "jsonb"],
    &["bit", "varbit"],
];

/// Whether a `USING` cast between the two types should go through `text`: always for
/// enums and other user types (no direct casts between them) and between unrelated
/// types (`boolean` to `numeric`), where the text form is the only conversion there is.
/// Related built-in types (`integer` to `bigint`, `varchar` to `text`) cast directly.
pub(crate) fn needs_text_cast(from: &DataType, to: &DataType) -> bool {
    let related = from.schema.is_none()
        && to.schema.is_none()
        && from.array_dimensions == to.array_dimensions
        && (from.name == to.name
            && (PLAIN.contains(&from.name.as_str()) || from.name.starts_with("interval"))
            || FAMILIES
                .iter()
                .any(|f| f.contains(&from.name.as_str()) && f.contains(&to.name.as_str())));
    !related
}

/// Types with a length that an explicit cast cuts values to, and the same type without a
/// length (`char` alone would mean `char(1)`, `bit` alone `bit(1)`).
const LENGTHED: &[(&str, &str)] = &[
    ("varchar", "varchar"),
    ("char", "bpchar"),
    ("bit", "varbit"),
    ("varbit", "varbit"),
];

/// The type a `USING` clause should cast to when a column changes from `from` to `to`.
///
/// An explicit cast to `varchar(n)`, `char(n)` or `bit varying(n)` silently cuts a value
/// that is too long. So unless the change only widens the same type, the cast goes to the
/// type without its length, and the assignment cast that `ALTER COLUMN ... TYPE` applies
/// afterwards raises "value too long" instead of losing data.
pub(crate) fn using_type(from: &DataType, to: &DataType) -> DataType {
    let Some((_, unbounded)) = LENGTHED.iter().find(|(name, _)| *name == to.name) else {
        return to.clone();
    };
    if to.schema.is_some() || to.length.is_none() {
        return to.clone();
    }
    let widens = from.name == to.name
        && from.schema.is_none()
        && from.array_dimensions == to.array_dimensions
        && from.length.zip(to.length).is_some_and(|(f, t)| f <= t);
    if widens {
        return to.clone();
    }
    let mut out = DataType::named(*unbounded);
    out.array_dimensions = to.array_dimensions;
    out
}

/// Groups of types between which casts round (or cut) without an error, and cast back:
/// numbers, dates with times, times of day. Intervals form one more group.
const ROUNDING: &[&[&str]] = &[
    &[
        "smallint",
        "integer",
        "bigint",
        "real",
        "double precision",
        "numeric",
    ],
    &["date", "timestamp", "timestamptz"],
    &["time", "timetz"],
];

/// The rounding group of a type (`ROUNDING.len()` for intervals), if it has one.
fn rounding_group(t: &DataType) -> Option<usize> {
    if t.schema.is_some() {
        return None;
    }
    if t.name.starts_with("interval") {
        return Some(ROUNDING.len());
    }
    ROUNDING.iter().position(|g| g.contains(&t.name.as_str()))
}

/// Decimal digits before the point that an integer type may need.
fn integer_digits(name: &str) -> Option<u32> {
    match name {
        "smallint" => Some(5),
        "integer" => Some(10),
        "bigint" => Some(19),
        _ => None,
    }
}

/// Whether every value of `from` converts to `to` exactly.
fn widens(from: &DataType, to: &DataType) -> bool {
    let int_rank = |name: &str| {
        ["smallint", "integer", "bigint"]
            .iter()
            .position(|n| *n == name)
    };
    match (from.name.as_str(), to.name.as_str()) {
        _ if from == to => true,
        (f, t) if int_rank(f).is_some() && int_rank(t).is_some() => int_rank(f) <= int_rank(t),
        (f, "numeric") if integer_digits(f).is_some() => match (to.precision, integer_digits(f)) {
            (None, _) => true,
            (Some(p), Some(digits)) => p.saturating_sub(to.scale.unwrap_or(0)) >= digits,
            _ => false,
        },
        ("smallint" | "integer" | "real", "double precision") | ("smallint", "real") => true,
        ("numeric", "numeric") => match (from.precision, to.precision) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(fp), Some(tp)) => {
                let (fs, ts) = (from.scale.unwrap_or(0), to.scale.unwrap_or(0));
                ts >= fs && tp.saturating_sub(ts) >= fp.saturating_sub(fs)
            }
        },
        ("date", "timestamp" | "timestamptz") => true,
        (f, t) if f == t => match (from.precision, to.precision) {
            (_, None) => true,
            (None, Some(p)) => p >= 6,
            (Some(f), Some(t)) => t >= f,
        },
        _ => false,
    }
}

/// How a type change could lose data that no error reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// Between numeric and date/time types (`numeric(10,3)` to `numeric(10,2)`,
    /// `timestamp(6)` to `timestamp(0)`, `double precision` to `integer`): a row changes
    /// when its value, converted and converted back to this type (the old one), differs.
    RoundTrip(DataType),
    /// From text to a type with a scale or precision: a row changes when the converted
    /// value differs from the value converted to this type (the new one without its
    /// modifier).
    FromText(DataType),
}

/// How changing a column from `from` to `to` could silently change values, or `None`
/// when every value converts exactly or the conversion raises an error for a value that
/// does not fit.
pub(crate) fn rounding(from: &DataType, to: &DataType) -> Option<Rounding> {
    if from.array_dimensions != to.array_dimensions {
        return None;
    }
    if rounding_group(from).is_some() && rounding_group(from) == rounding_group(to) {
        if widens(from, to) {
            return None;
        }
        return Some(Rounding::RoundTrip(from.clone()));
    }
    let text = from.schema.is_none()
        && ["text", "varchar", "char", "bpchar"].contains(&from.name.as_str());
    if text && rounding_group(to).is_some() && (to.precision.is_some() || to.scale.is_some()) {
        let mut unbounded = to.clone();
        unbounded.precision = None;
        unbounded.scale = None;
        return Some(Rounding::FromText(unbounded));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(name: &str, typmod: i32) -> CatalogType<'_> {
        CatalogType {
            name,
            schema: Some("pg_catalog"),
            array_dimensions: 0,
            typmod,
            formatted: "",
        }
    }

    #[test]
    fn folds_synonyms_and_decodes_modifiers() {
        assert_eq!(
            normalize(&catalog("int4", -1)).0,
            DataType::named("integer")
        );
        assert_eq!(
            normalize(&catalog("varchar", 24)).0,
            DataType::named("varchar").with_length(20)
        );
        assert_eq!(
            normalize(&catalog("bpchar", 5)).0,
            DataType::named("char").with_length(1)
        );
        assert_eq!(
            normalize(&catalog("numeric", (10 << 16 | 2) + 4)).0,
            DataType::named("numeric").with_precision(10, Some(2))
        );
        let mut ts = DataType::named("timestamptz");
        ts.precision = Some(3);
        assert_eq!(normalize(&catalog("timestamptz", 3)).0, ts);
    }
}
