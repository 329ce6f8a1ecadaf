//! Type and expression normalisation: what the catalog says, in the core's canonical form.
//!
//! MySQL and MariaDB describe the same column differently (`int(11)` against `int`,
//! `current_timestamp()` against `CURRENT_TIMESTAMP`, quoted against bare defaults). This
//! module folds those spellings into one form, and renders the canonical form back to
//! SQL both servers accept, so that what is rendered inspects back to what was asked for.

use schema_sync_core::snapshot::DataType;

use crate::connect::Flavor;
use crate::sql::quote_literal;

/// Integer types whose display width (`int(11)`) is cosmetic and dropped.
const INTEGERS: &[&str] = &["tinyint", "smallint", "mediumint", "integer", "bigint"];
/// Types whose parenthesised number is a length.
const LENGTH_TYPES: &[&str] = &["char", "varchar", "binary", "varbinary", "bit"];
/// Temporal types whose parenthesised number is the fractional-seconds precision.
const FSP_TYPES: &[&str] = &["time", "datetime", "timestamp"];
/// Types that carry a character set and collation.
const TEXTUAL: &[&str] = &[
    "char",
    "varchar",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "enum",
    "set",
];
/// Numeric types whose literal defaults the servers print without quotes.
const NUMERIC: &[&str] = &[
    "tinyint",
    "smallint",
    "mediumint",
    "integer",
    "bigint",
    "numeric",
    "real",
    "double precision",
    "bit",
    "year",
];

/// A column type parsed from `information_schema.COLUMNS.COLUMN_TYPE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedType {
    /// The canonical type, `ZEROFILL` included.
    pub data_type: DataType,
    /// MariaDB `COMPRESSED`, which the catalog prints inside the type as the versioned
    /// comment `/*M!100301 COMPRESSED*/`.
    pub compressed: bool,
}

/// Parses a `COLUMN_TYPE` such as `int(10) unsigned`, `decimal(10,2)` or `enum('a','b')`.
///
/// # Errors
/// A description of what could not be parsed.
pub(crate) fn parse_column_type(column_type: &str) -> Result<ParsedType, String> {
    let text = column_type.trim();
    let base_end = text.find(['(', ' ']).unwrap_or(text.len());
    let base = text[..base_end].to_ascii_lowercase();
    let mut rest = &text[base_end..];
    let mut args: Option<&str> = None;
    if rest.starts_with('(') {
        let close = closing_paren(rest)
            .ok_or_else(|| format!("unbalanced parentheses in column type {column_type:?}"))?;
        args = Some(&rest[1..close]);
        rest = &rest[close + 1..];
    }
    let mut compressed = false;
    let modifiers: Vec<String> = rest
        .split_whitespace()
        .map(str::to_ascii_lowercase)
        .filter(|m| match m.as_str() {
            "/*m!100301" => false,
            "compressed*/" | "compressed" => {
                compressed = true;
                false
            }
            _ => true,
        })
        .collect();
    if let Some(unknown) = modifiers
        .iter()
        .find(|m| !matches!(m.as_str(), "unsigned" | "signed" | "zerofill"))
    {
        return Err(format!(
            "unknown attribute {unknown:?} in column type {column_type:?}"
        ));
    }
    let name = canonical_name(&base);
    let mut data_type = DataType::named(name.clone());
    if matches!(base.as_str(), "bool" | "boolean") {
        data_type.length = Some(BOOLEAN_WIDTH);
    }
    data_type.zerofill = modifiers.iter().any(|m| m == "zerofill");
    data_type.unsigned = data_type.zerofill || modifiers.iter().any(|m| m == "unsigned");
    if let Some(args) = args {
        if name == "enum" || name == "set" {
            data_type.values = parse_value_list(args)
                .ok_or_else(|| format!("cannot read the values of {column_type:?}"))?;
        } else if INTEGERS.contains(&name.as_str()) || name == "year" {
            // Display width: cosmetic, and gone from MySQL 8.0.19 on, except with
            // ZEROFILL, where it is the number of digits shown, and in `TINYINT(1)`,
            // which MySQL 8 still reports: it is what `BOOLEAN` means, and drivers and
            // ORMs read such a column as a boolean.
            let width: u32 = args
                .trim()
                .parse()
                .map_err(|_| format!("cannot read the width of {column_type:?}"))?;
            let boolean = name == "tinyint" && width == BOOLEAN_WIDTH;
            if (data_type.zerofill && name != "year") || boolean {
                data_type.length = Some(width);
            }
        } else {
            let numbers: Vec<u32> = args
                .split(',')
                .map(|n| n.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| format!("cannot read the parameters of {column_type:?}"))?;
            match (name.as_str(), numbers.as_slice()) {
                (n, [length]) if LENGTH_TYPES.contains(&n) => data_type.length = Some(*length),
                (n, [fsp]) if FSP_TYPES.contains(&n) => {
                    if *fsp > 0 {
                        data_type.precision = Some(*fsp);
                    }
                }
                (_, [precision]) => data_type.precision = Some(*precision),
                (_, [precision, scale]) => {
                    data_type.precision = Some(*precision);
                    data_type.scale = Some(*scale);
                }
                _ => {
                    return Err(format!(
                        "unexpected parameters in column type {column_type:?}"
                    ));
                }
            }
        }
    }
    Ok(ParsedType {
        data_type,
        compressed,
    })
}

/// The display width of `TINYINT(1)`, the type `BOOLEAN` stands for.
const BOOLEAN_WIDTH: u32 = 1;

/// Folds synonyms into the names the core compares and classifies.
fn canonical_name(base: &str) -> String {
    match base {
        "int" | "integer" => "integer",
        "dec" | "decimal" | "numeric" | "fixed" => "numeric",
        "float" => "real",
        "double" | "real" | "double precision" => "double precision",
        "bool" | "boolean" => "tinyint",
        other => other,
    }
    .to_string()
}

/// Renders a canonical type as MySQL/MariaDB SQL.
///
/// # Errors
/// A description when the type comes from another dialect (arrays, schema-qualified
/// user types) and has no MySQL spelling.
pub(crate) fn render_type(data_type: &DataType) -> Result<String, String> {
    if data_type.array_dimensions > 0 {
        return Err(format!(
            "array type {data_type} has no MySQL equivalent; use JSON"
        ));
    }
    if let Some(schema) = &data_type.schema {
        return Err(format!(
            "type {data_type} lives in schema {schema}, which MySQL does not support"
        ));
    }
    let name = data_type.name.as_str();
    let mut sql = match name {
        "integer" => "INT".to_string(),
        "real" => "FLOAT".to_string(),
        "double precision" => "DOUBLE".to_string(),
        "numeric" => "DECIMAL".to_string(),
        other => {
            if other.is_empty()
                || !other
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ')
            {
                return Err(format!("type name {other:?} is not a MySQL type"));
            }
            other.to_ascii_uppercase()
        }
    };
    if !data_type.values.is_empty() {
        let values: Vec<String> = data_type.values.iter().map(|v| quote_literal(v)).collect();
        sql.push_str(&format!("({})", values.join(",")));
    } else if let Some(length) = data_type.length {
        sql.push_str(&format!("({length})"));
    } else if let Some(precision) = data_type.precision {
        match data_type.scale {
            Some(scale) => sql.push_str(&format!("({precision},{scale})")),
            None => sql.push_str(&format!("({precision})")),
        }
    }
    if data_type.unsigned {
        sql.push_str(" UNSIGNED");
    }
    if data_type.zerofill {
        sql.push_str(" ZEROFILL");
    }
    Ok(sql)
}

/// Whether a column of this type has a character set and collation.
pub(crate) fn is_textual(data_type: &DataType) -> bool {
    TEXTUAL.contains(&data_type.name.as_str())
}

/// Normalises `COLUMN_DEFAULT` into SQL text both servers read back the same way.
///
/// MariaDB prints defaults as SQL (`'abc'`, `1.50`, `current_timestamp()`, and the string
/// `NULL` for `DEFAULT NULL`); MySQL prints string literals bare (`abc`) and flags
/// expressions with `DEFAULT_GENERATED` in `EXTRA`. `DEFAULT NULL` is no default.
pub(crate) fn normalize_default(
    flavor: Flavor,
    raw: Option<&str>,
    extra: &str,
    data_type: &DataType,
) -> Option<String> {
    let raw = raw?;
    match flavor {
        Flavor::MariaDb => {
            if raw.eq_ignore_ascii_case("null") {
                None
            } else {
                Some(canonical_timestamp(raw).unwrap_or_else(|| raw.to_string()))
            }
        }
        Flavor::MySql => {
            if extra.to_ascii_lowercase().contains("default_generated") {
                Some(canonical_timestamp(raw).unwrap_or_else(|| parenthesize(raw)))
            } else if NUMERIC.contains(&data_type.name.as_str()) {
                Some(raw.to_string())
            } else {
                Some(quote_literal(raw))
            }
        }
    }
}

/// The `ON UPDATE` expression in `EXTRA`, in canonical form.
pub(crate) fn on_update(extra: &str) -> Option<String> {
    let lower = extra.to_ascii_lowercase();
    let at = lower.find("on update ")?;
    let expr = extra[at + "on update ".len()..].trim();
    Some(canonical_timestamp(expr).unwrap_or_else(|| expr.to_string()))
}

/// `current_timestamp()`, `CURRENT_TIMESTAMP`, `now()` and their precisions, as
/// `CURRENT_TIMESTAMP` or `CURRENT_TIMESTAMP(n)`; `None` for anything else.
pub(crate) fn canonical_timestamp(expr: &str) -> Option<String> {
    let lower = expr.trim().to_ascii_lowercase();
    let (name, args) = match lower.find('(') {
        Some(open) if lower.ends_with(')') => {
            (&lower[..open], Some(&lower[open + 1..lower.len() - 1]))
        }
        Some(_) => return None,
        None => (lower.as_str(), None),
    };
    let is_timestamp = matches!(
        name.trim(),
        "current_timestamp" | "now" | "localtimestamp" | "localtime"
    );
    if !is_timestamp || (args.is_none() && name.trim() == "now") {
        return None;
    }
    match args.map(str::trim) {
        None | Some("") | Some("0") => Some("CURRENT_TIMESTAMP".to_string()),
        Some(n) if n.chars().all(|c| c.is_ascii_digit()) => Some(format!("CURRENT_TIMESTAMP({n})")),
        Some(_) => None,
    }
}

/// Wraps an expression in parentheses unless one pair already encloses all of it.
pub(crate) fn parenthesize(expr: &str) -> String {
    let trimmed = expr.trim();
    if trimmed.starts_with('(') && closing_paren(trimmed) == Some(trimmed.len() - 1) {
        trimmed.to_string()
    } else {
        format!("({trimmed})")
    }
}

/// The index of the parenthesis closing the one at the start of `text`, skipping quoted
/// strings and identifiers.
fn closing_paren(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses `'a','b''c','d\\e'` (the inside of `enum(...)`) into its values.
fn parse_value_list(text: &str) -> Option<Vec<String>> {
    let mut values = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next()? != '\'' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    value.push('\'');
                }
                '\'' => break,
                '\\' => value.push(unescape(chars.next()?)),
                c => value.push(c),
            }
        }
        values.push(value);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Some(values),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

/// The character a backslash escape stands for.
fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> DataType {
        match parse_column_type(text) {
            Ok(p) => p.data_type,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn integer_display_widths_are_dropped() {
        assert_eq!(parsed("int(11)"), DataType::named("integer"));
        assert_eq!(parsed("int"), DataType::named("integer"));
        assert_eq!(parsed("tinyint(4)"), parsed("tinyint"));
        assert_eq!(parsed("tinyint(3) unsigned").length, None);
        let mut unsigned = DataType::named("bigint");
        unsigned.unsigned = true;
        assert_eq!(parsed("bigint(20) unsigned"), unsigned);
        assert_eq!(parsed("bigint unsigned"), unsigned);
        assert_eq!(parsed("year(4)"), DataType::named("year"));
    }

    #[test]
    fn tinyint_1_is_kept_apart_as_the_boolean_type() {
        let boolean = DataType::named("tinyint").with_length(1);
        assert_eq!(parsed("tinyint(1)"), boolean);
        assert_eq!(parsed("boolean"), boolean);
        assert_eq!(parsed("bool"), boolean);
        assert_ne!(parsed("tinyint(1)"), parsed("tinyint(4)"));
        assert_eq!(render_type(&boolean).as_deref(), Ok("TINYINT(1)"));
        assert_eq!(
            DataType::named("tinyint").change_to(&boolean),
            schema_sync_core::snapshot::TypeChange::Widening,
            "a display width alone loses nothing"
        );
    }

    #[test]
    fn zerofill_keeps_the_width_and_compressed_is_read() {
        let zerofill = parsed("int(5) unsigned zerofill");
        assert!(zerofill.zerofill && zerofill.unsigned);
        assert_eq!(zerofill.length, Some(5));
        assert_eq!(
            render_type(&zerofill).as_deref(),
            Ok("INT(5) UNSIGNED ZEROFILL")
        );
        let decimal = parsed("decimal(8,2) unsigned zerofill");
        assert_eq!(
            render_type(&decimal).as_deref(),
            Ok("DECIMAL(8,2) UNSIGNED ZEROFILL")
        );
        assert!(!parsed("int(5) unsigned").zerofill);
        let compressed = parse_column_type("varchar(100) /*M!100301 COMPRESSED*/");
        assert_eq!(
            compressed
                .as_ref()
                .map(|p| (p.compressed, p.data_type.length)),
            Ok((true, Some(100)))
        );
        assert_eq!(parse_column_type("blob").map(|p| p.compressed), Ok(false));
        assert!(parse_column_type("int(11) frobnicated").is_err());
    }

    #[test]
    fn parameters_are_typed() {
        assert_eq!(
            parsed("decimal(10,2)"),
            DataType::named("numeric").with_precision(10, Some(2))
        );
        assert_eq!(
            parsed("varchar(255)"),
            DataType::named("varchar").with_length(255)
        );
        assert_eq!(parsed("datetime(3)").precision, Some(3));
        assert_eq!(parsed("datetime"), DataType::named("datetime"));
        assert_eq!(parsed("float"), DataType::named("real"));
        assert_eq!(parsed("double"), DataType::named("double precision"));
        assert_eq!(parsed("bit(8)").length, Some(8));
        assert_eq!(
            parsed(r"enum('a','b''c','d\\e')").values,
            vec!["a", "b'c", r"d\e"]
        );
        assert_eq!(parsed("set('x', 'y')").values, vec!["x", "y"]);
        assert!(parse_column_type("decimal(10,2").is_err());
    }

    #[test]
    fn types_render_back() {
        for text in [
            "int(11)",
            "int(10) unsigned",
            "decimal(10,2)",
            "varchar(20)",
            "enum('a','b''c','d\\\\e')",
            "float",
            "double",
            "datetime(6)",
            "json",
        ] {
            let t = parsed(text);
            let rendered = render_type(&t).unwrap_or_default();
            assert_eq!(parsed(&rendered), t, "{text} -> {rendered}");
        }
        let mut array = DataType::named("text");
        array.array_dimensions = 1;
        assert!(render_type(&array).is_err());
        assert!(render_type(&DataType::named("x; DROP")).is_err());
    }

    #[test]
    fn defaults_fold_server_spellings() {
        let int = DataType::named("integer");
        let text = DataType::named("varchar").with_length(10);
        let maria = |raw| normalize_default(Flavor::MariaDb, raw, "", &text);
        let mysql = |raw, extra| normalize_default(Flavor::MySql, raw, extra, &text);
        assert_eq!(maria(Some("NULL")), None);
        assert_eq!(maria(None), None);
        assert_eq!(maria(Some("'abc'")), mysql(Some("abc"), ""));
        assert_eq!(maria(Some("'it''s'")), mysql(Some("it's"), ""));
        assert_eq!(maria(Some(r"'a\\b'")), mysql(Some(r"a\b"), ""));
        assert_eq!(
            maria(Some("current_timestamp()")),
            mysql(Some("CURRENT_TIMESTAMP"), "DEFAULT_GENERATED")
        );
        assert_eq!(
            maria(Some("current_timestamp(3)")).as_deref(),
            Some("CURRENT_TIMESTAMP(3)")
        );
        assert_eq!(
            normalize_default(Flavor::MySql, Some("0"), "", &int).as_deref(),
            Some("0")
        );
        assert_eq!(
            normalize_default(Flavor::MySql, Some("rand()"), "DEFAULT_GENERATED", &int).as_deref(),
            Some("(rand())")
        );
        assert_eq!(
            on_update("DEFAULT_GENERATED on update CURRENT_TIMESTAMP").as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(
            on_update("on update current_timestamp(3)").as_deref(),
            Some("CURRENT_TIMESTAMP(3)")
        );
        assert_eq!(on_update("auto_increment"), None);
    }

    #[test]
    fn parenthesize_wraps_once() {
        assert_eq!(parenthesize("(a > 0)"), "(a > 0)");
        assert_eq!(parenthesize("(a > 0) and (b > 0)"), "((a > 0) and (b > 0))");
        assert_eq!(parenthesize("a = ')'"), "(a = ')')");
    }
}
