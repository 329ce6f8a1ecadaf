//! Data types as PostgreSQL SQL, and the conditions that find rows a type change would
//! silently round.

use schema_sync_core::snapshot::DataType;

use crate::sql::quote_ident;
use crate::types::{PLAIN, Rounding, rounding};

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

/// How a type change could lose data that no error reports, and the condition that finds
/// the rows it would change (`column` is the quoted column, `using` the `USING`
/// expression). `None` when every value converts exactly or the conversion raises an
/// error for a value that does not fit. See [`Rounding`] for the two kinds of check.
pub(crate) fn rounding_check(
    from: &DataType,
    to: &DataType,
    column: &str,
    using: &str,
) -> Option<String> {
    Some(match rounding(from, to)? {
        Rounding::RoundTrip(from) => format!(
            "{column} IS DISTINCT FROM ({using})::{}",
            render_type(&from)
        ),
        Rounding::FromText(unbounded) => format!(
            "{column}::text::{} IS DISTINCT FROM ({using})",
            render_type(&unbounded)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CatalogType, interval, normalize, using_type};

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

    #[test]
    fn narrowing_leaves_lengths_to_the_assignment_cast_and_guards_rounding() {
        let varchar = |n| DataType::named("varchar").with_length(n);
        assert_eq!(
            render_type(&using_type(&varchar(80), &varchar(50))),
            "varchar"
        );
        assert_eq!(
            render_type(&using_type(&varchar(50), &varchar(80))),
            "varchar(80)"
        );
        let char4 = DataType::named("char").with_length(4);
        assert_eq!(
            render_type(&using_type(&DataType::named("text"), &char4)),
            "bpchar"
        );
        let numeric = |p, s| DataType::named("numeric").with_precision(p, Some(s));
        let guard = |from: &DataType, to: &DataType| rounding_check(from, to, "\"v\"", "x");
        assert_eq!(
            guard(&numeric(10, 3), &numeric(10, 2)).as_deref(),
            Some("\"v\" IS DISTINCT FROM (x)::numeric(10,3)")
        );
        assert!(guard(&numeric(10, 2), &numeric(12, 3)).is_none());
        assert!(guard(&numeric(10, 2), &numeric(10, 3)).is_some());
        assert!(guard(&DataType::named("integer"), &DataType::named("bigint")).is_none());
        assert!(guard(&DataType::named("bigint"), &DataType::named("integer")).is_some());
        assert!(guard(&DataType::named("integer"), &numeric(12, 2)).is_none());
        assert!(guard(&DataType::named("text"), &numeric(12, 2)).is_some());
        assert!(guard(&varchar(80), &varchar(50)).is_none());
        let mut ts0 = DataType::named("timestamp");
        ts0.precision = Some(0);
        assert!(guard(&DataType::named("timestamp"), &ts0).is_some());
        assert!(guard(&ts0, &DataType::named("timestamp")).is_none());
        // No cast leads back from a time stamp to a number: nothing to compare.
        assert!(guard(&DataType::named("integer"), &DataType::named("timestamptz")).is_none());
    }
}
