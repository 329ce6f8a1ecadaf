//! Type normalisation: PostgreSQL catalog types to [`DataType`] and back to SQL.
//!
//! The inspector reads a column's type from `pg_type` (base name, namespace, array
//! dimensions) and its modifier from `atttypmod`, never by re-parsing `format_type`
//! output. Synonyms fold into one canonical name (`int4`, `int` and `integer` are all
//! `integer`), so equal types compare equal whatever spelling the DDL used. Types of the
//! tenant's own schema carry no schema (tenant-relative); types of other schemas such as
//! `public.citext` keep it.

use schema_sync_core::snapshot::DataType;

use crate::render::quote_ident;

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
const PLAIN: &[&str] = &[
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
fn interval(formatted: &str) -> DataType {
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

/// Renders a type as PostgreSQL SQL. Names outside the canonical set are quoted; types of
/// other schemas are schema-qualified.
pub(crate) fn render_type(t: &DataType) -> String {
    let mut out = String::new();
    if let Some(schema) = &t.schema {
        out.push_str(&quote_ident(schema));
        out.push('.');
        out.push_str(&quote_ident(&t.name));
    } else if t.name == "varbit" {
        out.push_str("bit varying");
    } else if PLAIN.contains(&t.name.as_str())
        || t.name.starts_with('"')
        || t.name.starts_with("interval ")
    {
        out.push_str(&t.name);
    } else {
        out.push_str(&quote_ident(&t.name));
    }
    if let Some(length) = t.length {
        out.push_str(&format!("({length})"));
    } else if let Some(precision) = t.precision {
        match t.scale {
            Some(scale) => out.push_str(&format!("({precision},{scale})")),
            None => out.push_str(&format!("({precision})")),
        }
    }
    for _ in 0..t.array_dimensions {
        out.push_str("[]");
    }
    out
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

    #[test]
    fn keeps_foreign_schemas_and_drops_the_tenant() {
        let citext = CatalogType {
            name: "citext",
            schema: Some("public"),
            array_dimensions: 1,
            typmod: -1,
            formatted: "",
        };
        let (d, loss) = normalize(&citext);
        assert_eq!(d.schema.as_deref(), Some("public"));
        assert!(loss.is_none());
        assert_eq!(render_type(&d), "\"public\".\"citext\"[]");
        let mood = CatalogType {
            schema: None,
            name: "mood",
            ..citext
        };
        assert_eq!(render_type(&normalize(&mood).0), "\"mood\"[]");
    }

    #[test]
    fn renders_sql() {
        assert_eq!(
            render_type(&DataType::named("numeric").with_precision(10, Some(2))),
            "numeric(10,2)"
        );
        assert_eq!(
            render_type(&DataType::named("double precision")),
            "double precision"
        );
        assert_eq!(
            render_type(&interval("interval day to second(3)")),
            "interval day to second(3)"
        );
        assert_eq!(render_type(&DataType::named("\"char\"")), "\"char\"");
        assert_eq!(render_type(&DataType::named("hstore")), "\"hstore\"");
    }
}
