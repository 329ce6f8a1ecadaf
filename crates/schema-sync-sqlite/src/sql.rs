//! Quoting: how identifiers and literals are written in SQLite SQL.
//!
//! A leaf module: it imports nothing from this crate. [`quote_ident`] always quotes;
//! [`render_ident`] writes a name the way a person writes DDL, bare where SQLite reads
//! it back as the same name (the one exception to "always quote", see `ARCHITECTURE.md`).

/// Quotes an identifier for SQLite: `"` doubled inside double quotes.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal: `'` doubled inside single quotes.
pub(crate) fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Writes a name the way a person writes DDL: bare when it is a plain identifier that
/// is no reserved SQLite keyword, double-quoted otherwise.
pub(crate) fn render_ident(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.to_ascii_lowercase().starts_with("sqlite_")
        && KEYWORDS
            .binary_search(&name.to_ascii_uppercase().as_str())
            .is_err();
    if plain {
        name.to_string()
    } else {
        quote_ident(name)
    }
}

/// SQLite keywords (<https://sqlite.org/lang_keywords.html>) that cannot stand for a
/// name: all of them except those SQLite's grammar falls back to reading as an
/// identifier (`plan`, `key`, `action`, ...), apart from `cast` and `raise`, which
/// start an expression. Sorted.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "AUTOINCREMENT",
    "BETWEEN",
    "CASE",
    "CAST",
    "CHECK",
    "COLLATE",
    "COMMIT",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DEFAULT",
    "DEFERRABLE",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "ESCAPE",
    "EXCEPT",
    "EXISTS",
    "FILTER",
    "FOREIGN",
    "FROM",
    "FULL",
    "GLOB",
    "GROUP",
    "HAVING",
    "IF",
    "IN",
    "INDEX",
    "INDEXED",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "LEFT",
    "LIKE",
    "LIMIT",
    "MATCH",
    "NATURAL",
    "NOT",
    "NOTHING",
    "NOTNULL",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "OVER",
    "PRIMARY",
    "RAISE",
    "REFERENCES",
    "REGEXP",
    "RETURNING",
    "RIGHT",
    "SELECT",
    "SET",
    "TABLE",
    "TEMPORARY",
    "THEN",
    "TO",
    "TRANSACTION",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_sorted() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(render_ident("plan"), "plan");
        assert_eq!(render_ident("order"), "\"order\"");
        assert_eq!(render_ident("Mixed Case"), "\"Mixed Case\"");
    }
}
