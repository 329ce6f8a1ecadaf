//! SQLite declared types in normalised form.
//!
//! SQLite accepts any type name and derives an affinity from it, so the declared name is
//! kept (lowercased, whitespace folded) rather than folded into synonyms: `INT PRIMARY
//! KEY` and `INTEGER PRIMARY KEY` behave differently (only the latter aliases the rowid).
//! Parameters become typed fields: `VARCHAR(255)` is `varchar` with length 255.

use schema_sync_core::snapshot::DataType;

/// Normalises a declared type such as `VARCHAR (255)` or `decimal(10, 2)`.
pub(crate) fn parse_declared_type(declared: &str) -> DataType {
    let declared = declared.trim();
    let (base, params) = match declared.find('(') {
        Some(open) => {
            let close = declared.rfind(')').unwrap_or(declared.len());
            (
                &declared[..open],
                declared.get(open + 1..close).unwrap_or(""),
            )
        }
        None => (declared, ""),
    };
    let name = base
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let numbers: Vec<Option<u32>> = params
        .split(',')
        .map(|p| p.trim().parse::<u32>().ok())
        .collect();
    let mut data_type = DataType::named(name.clone());
    match numbers.as_slice() {
        [Some(n)] if is_numeric(&name) => data_type.precision = Some(*n),
        [Some(n)] => data_type.length = Some(*n),
        [Some(p), Some(s)] => {
            data_type.precision = Some(*p);
            data_type.scale = Some(*s);
        }
        _ if !params.trim().is_empty() => {
            // Something SQLite accepted but we cannot split: keep it in the name verbatim.
            data_type.name = format!("{name}({})", params.trim().to_lowercase());
        }
        _ => {}
    }
    data_type
}

fn is_numeric(name: &str) -> bool {
    [
        "numeric",
        "decimal",
        "float",
        "double",
        "real",
        "double precision",
    ]
    .contains(&name)
}

/// The declared type as SQL, for `CREATE TABLE` and `ADD COLUMN`.
pub(crate) fn render_type(data_type: &DataType) -> String {
    let mut text = data_type.name.clone();
    if let Some(length) = data_type.length {
        text.push_str(&format!("({length})"));
    } else if let Some(precision) = data_type.precision {
        match data_type.scale {
            Some(scale) => text.push_str(&format!("({precision},{scale})")),
            None => text.push_str(&format!("({precision})")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_parameters() {
        for (declared, rendered) in [
            ("VARCHAR (255)", "varchar(255)"),
            ("decimal(10, 2)", "decimal(10,2)"),
            ("INTEGER", "integer"),
            ("unsigned  big int", "unsigned big int"),
            ("", ""),
            ("numeric(8)", "numeric(8)"),
        ] {
            assert_eq!(
                render_type(&parse_declared_type(declared)),
                rendered,
                "{declared}"
            );
        }
        assert_eq!(parse_declared_type("varchar(20)").length, Some(20));
        assert_eq!(parse_declared_type("decimal(10,2)").scale, Some(2));
    }
}
