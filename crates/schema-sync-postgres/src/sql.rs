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
