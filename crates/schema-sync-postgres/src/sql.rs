//! Quoting and reading back PostgreSQL identifiers and literals.
//!
//! Every identifier the adapter sends goes through [`quote_ident`] and every string
//! literal through [`quote_literal`]. This module (with its child `relative.rs`, which
//! swaps a tenant's schema in stored function definitions for a stand-in and back)
//! imports nothing else from the crate, so inspection and rendering can both use it.

pub(crate) mod relative;

/// Quotes an identifier: `a"b` becomes `"a""b"`. Always quotes, so keywords, capitals,
/// spaces and unicode need no special case.
pub(crate) fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// Quotes a string literal: `it's` becomes `'it''s'`. Backslashes use the `E''` form so
/// the literal means the same whatever `standard_conforming_strings` says.
pub(crate) fn quote_literal(text: &str) -> String {
    let doubled = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", doubled.replace('\\', "\\\\"))
    } else {
        format!("'{doubled}'")
    }
}

/// The stored form of a collation that lives in another schema: `"schema"."name"`.
pub(crate) fn qualified_collation(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// Parses `"a"."b"` (with `""` inside names) into its two names.
pub(crate) fn parse_quoted_pair(text: &str) -> Option<(String, String)> {
    let (first, rest) = parse_quoted(text)?;
    let (second, rest) = parse_quoted(rest.strip_prefix('.')?)?;
    rest.is_empty().then_some((first, second))
}

/// Parses one quoted identifier at the start of `text`, returning it and the rest.
pub(crate) fn parse_quoted(text: &str) -> Option<(String, &str)> {
    let mut chars = text.strip_prefix('"')?.char_indices().peekable();
    let mut name = String::new();
    while let Some((i, c)) = chars.next() {
        if c == '"' {
            if chars.peek().map(|(_, n)| *n) == Some('"') {
                chars.next();
                name.push('"');
            } else {
                return Some((name, &text[i + 2..]));
            }
        } else {
            name.push(c);
        }
    }
    None
}

/// The stored form of an operator class with its parameters: `name` (bare or
/// `"schema"."name"`, as for a collation), then `(key='value', ...)` when it has
/// parameters. `parameters` are `key=value` as `pg_attribute.attoptions` holds them.
pub(crate) fn operator_class_text(name: &str, parameters: &[String]) -> String {
    if parameters.is_empty() {
        return name.to_string();
    }
    let list: Vec<String> = parameters
        .iter()
        .map(|p| {
            let (key, value) = p.split_once('=').unwrap_or((p.as_str(), ""));
            format!("{key}='{}'", value.replace('\'', "''"))
        })
        .collect();
    format!("{name}({})", list.join(", "))
}

/// An operator class read back from its stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OperatorClass {
    /// Its name: one part, or schema and name.
    pub names: Vec<String>,
    /// Its `(key, value)` parameters, in order.
    pub parameters: Vec<(String, String)>,
}

/// An operator class as [`operator_class_text`] stores it, read back. `None` when the
/// text is not of that form.
pub(crate) fn parse_operator_class(text: &str) -> Option<OperatorClass> {
    let (names, rest) = if text.starts_with('"') {
        let (schema, rest) = parse_quoted(text)?;
        let (name, rest) = parse_quoted(rest.strip_prefix('.')?)?;
        (vec![schema, name], rest)
    } else {
        let end = text.find('(').unwrap_or(text.len());
        (vec![text[..end].to_string()], &text[end..])
    };
    if names.iter().any(String::is_empty) {
        return None;
    }
    if rest.is_empty() {
        return Some(OperatorClass {
            names,
            parameters: Vec::new(),
        });
    }
    let mut rest = rest.strip_prefix('(')?;
    let mut parameters = Vec::new();
    loop {
        let (key, after) = rest.split_once("='")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            if c != '\'' {
                value.push(c);
            } else if after[i + 1..].starts_with('\'') {
                value.push('\'');
                chars.next();
            } else {
                break i + 1;
            }
        };
        if key.is_empty() || key.contains(['(', ')', ',', ' ']) {
            return None;
        }
        parameters.push((key.to_string(), value));
        rest = &after[end..];
        if let Some(next) = rest.strip_prefix(", ") {
            rest = next;
        } else {
            return (rest == ")").then_some(OperatorClass { names, parameters });
        }
    }
}
