//! Reading what SQLite's pragmas do not report from the DDL it stores.
//!
//! SQLite keeps each object's `CREATE` statement verbatim in `sqlite_schema`. Check
//! constraints, generated-column expressions, collations, `AUTOINCREMENT`, index
//! expressions and table options are only there. This module tokenises that text (it
//! does not parse SQL grammar: SQLite already accepted it) and normalises fragments so
//! that formatting differences (`lower( a )` vs `lower(a)`) never show up as drift.
//!
//! It also splits a `CREATE TABLE` into its items, verbatim, with what each declares, so
//! that a rebuild can keep the text of every item that did not change.

use std::ops::Range;

use schema_sync_core::snapshot::Deferrable;

/// One lexical token of SQLite DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// A bare word: keyword, identifier or number.
    Word(String),
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`), unquoted.
    Quoted(String),
    /// A string literal including its quotes, as written.
    Str(String),
    /// Punctuation or an operator.
    Punct(String),
}

impl Token {
    /// Whether this is the keyword `kw` (case-insensitive).
    pub(crate) fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// Whether this is the punctuation `p`.
    pub(crate) fn is_punct(&self, p: &str) -> bool {
        matches!(self, Token::Punct(x) if x == p)
    }

    /// The identifier this token names, if it can name one.
    pub(crate) fn ident(&self) -> Option<&str> {
        match self {
            Token::Word(w) | Token::Quoted(w) => Some(w),
            _ => None,
        }
    }
}

/// Splits SQL text into tokens, dropping whitespace and comments.
pub(crate) fn tokenize(sql: &str) -> Vec<Token> {
    tokenize_spanned(sql).into_iter().map(|(t, _)| t).collect()
}

/// Like [`tokenize`], with the byte range of the source each token was read from.
pub(crate) fn tokenize_spanned(sql: &str) -> Vec<(Token, Range<usize>)> {
    let chars: Vec<char> = sql.chars().collect();
    let mut offsets: Vec<usize> = sql.char_indices().map(|(b, _)| b).collect();
    offsets.push(sql.len());
    let byte = |char_index: usize| offsets[char_index.min(chars.len())];
    let mut tokens: Vec<(Token, Range<usize>)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let before = tokens.len();
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            let (text, next) = read_quoted(&chars, i, '\'');
            tokens.push((Token::Str(format!("'{}'", text.replace('\'', "''"))), 0..0));
            i = next;
        } else if c == '"' || c == '`' {
            let (text, next) = read_quoted(&chars, i, c);
            tokens.push((Token::Quoted(text), 0..0));
            i = next;
        } else if c == '[' {
            let end = chars[i..]
                .iter()
                .position(|&x| x == ']')
                .map_or(chars.len(), |p| i + p);
            tokens.push((Token::Quoted(chars[i + 1..end].iter().collect()), 0..0));
            i = end + 1;
        } else if c.is_alphanumeric()
            || c == '_'
            || c == '$'
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric()
                    || chars[i] == '_'
                    || chars[i] == '$'
                    || (chars[i] == '.' && chars[start].is_ascii_digit()))
            {
                i += 1;
            }
            tokens.push((Token::Word(chars[start..i].iter().collect()), 0..0));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op =
                if ["<=", ">=", "<>", "!=", "==", "||", "<<", ">>", "->"].contains(&two.as_str()) {
                    two
                } else {
                    c.to_string()
                };
            i += op.chars().count();
            tokens.push((Token::Punct(op), 0..0));
        }
        if tokens.len() > before
            && let Some(last) = tokens.last_mut()
        {
            last.1 = byte(start)..byte(i);
        }
    }
    tokens
}

/// Reads a quoted run starting at `start` (the opening quote); doubled quotes escape.
fn read_quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == quote {
            if chars.get(i + 1) == Some(&quote) {
                text.push(quote);
                i += 2;
                continue;
            }
            return (text, i + 1);
        }
        text.push(chars[i]);
        i += 1;
    }
    (text, i)
}

/// Quotes an identifier for SQLite: `"` doubled inside double quotes.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Renders tokens back to canonical text: keywords and bare identifiers lowercased,
/// single spaces between words, none inside parentheses or before commas.
pub(crate) fn render_tokens(tokens: &[Token]) -> String {
    let mut out = String::new();
    let mut prev: Option<&Token> = None;
    for token in tokens {
        let text = match token {
            Token::Word(w) => w.to_lowercase(),
            Token::Quoted(q) => {
                if is_plain_identifier(q) {
                    q.to_lowercase()
                } else {
                    quote_ident(q)
                }
            }
            Token::Str(s) => s.clone(),
            Token::Punct(p) => p.clone(),
        };
        let glue = match (prev, token) {
            (None, _) => false,
            (Some(p), _) if p.is_punct("(") || p.is_punct(".") => false,
            (_, t) if t.is_punct(")") || t.is_punct(",") || t.is_punct(".") => false,
            (Some(Token::Word(_) | Token::Quoted(_)), t) if t.is_punct("(") => false,
            _ => true,
        };
        if glue {
            out.push(' ');
        }
        out.push_str(&text);
        prev = Some(token);
    }
    out
}

/// Whether `name` can be written bare (and case-folded) without changing its meaning.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name.to_ascii_uppercase().as_str())
}

/// Keywords that must stay quoted when used as identifiers.
const RESERVED: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "AUTOINCREMENT",
    "BETWEEN",
    "CASE",
    "CHECK",
    "COLLATE",
    "COMMIT",
    "CONSTRAINT",
    "CREATE",
    "DEFAULT",
    "DEFERRABLE",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "ESCAPE",
    "EXCEPT",
    "EXISTS",
    "FOREIGN",
    "FROM",
    "GROUP",
    "HAVING",
    "IN",
    "INDEX",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "ISNULL",
    "JOIN",
    "LIMIT",
    "NOT",
    "NOTNULL",
    "NULL",
    "ON",
    "OR",
    "ORDER",
    "PRIMARY",
    "REFERENCES",
    "SELECT",
    "SET",
    "TABLE",
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
];

/// Writes a name the way a person writes DDL: bare when it is a plain identifier that
/// is no reserved SQLite keyword, double-quoted otherwise.
pub fn render_ident(name: &str) -> String {
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

/// Normalises an SQL fragment (expression, default, view body).
pub(crate) fn normalize(sql: &str) -> String {
    render_tokens(&tokenize(sql))
}

/// Splits tokens at top-level commas (outside parentheses).
pub(crate) fn split_top_level(tokens: &[Token]) -> Vec<&[Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if token.is_punct(",") && depth == 0 {
            parts.push(&tokens[start..i]);
            start = i + 1;
        }
    }
    if start < tokens.len() {
        parts.push(&tokens[start..]);
    }
    parts
}

/// The index of the `)` matching the `(` at `open`.
pub(crate) fn matching_paren(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The text inside the parentheses that follow position `at` (which must be `(`).
pub(crate) fn paren_body(tokens: &[Token], at: usize) -> Option<(&[Token], usize)> {
    if !tokens.get(at)?.is_punct("(") {
        return None;
    }
    let close = matching_paren(tokens, at)?;
    Some((&tokens[at + 1..close], close))
}

/// What a `CREATE TABLE` statement says that pragmas do not.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TableDdl {
    /// Per column: `(name, definition tokens after the name)`.
    pub columns: Vec<(String, Vec<Token>)>,
    /// Check constraints: `(name if given, expression)`, column-level ones included.
    pub checks: Vec<(Option<String>, String)>,
    /// Every column definition and table constraint, in order, verbatim.
    pub items: Vec<TableItem>,
    /// The text after the closing parenthesis (`STRICT`, `WITHOUT ROWID`), verbatim.
    pub options_text: String,
    /// Whether the body spans several lines.
    pub multiline: bool,
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `STRICT`.
    pub strict: bool,
}

/// One column definition or table constraint of a `CREATE TABLE`, and what it declares.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TableItem {
    /// The item exactly as written.
    pub text: String,
    /// The column it defines, for a column definition.
    pub column: Option<String>,
    /// `CHECK`s: `(name if given, normalised expression)`.
    pub checks: Vec<(Option<String>, String)>,
    /// `UNIQUE`s: `(name if given, columns)`.
    pub uniques: Vec<(Option<String>, Vec<String>)>,
    /// Foreign keys: `(name if given, local columns, deferrability)`.
    pub foreign_keys: Vec<(Option<String>, Vec<String>, Deferrable)>,
    /// `PRIMARY KEY`, with its name if given (`Some(None)`: unnamed).
    pub primary_key: Option<Option<String>>,
}

impl TableDdl {
    /// The name given to the unique constraint on `columns`, if one was given.
    pub(crate) fn unique_name(&self, columns: &[String]) -> Option<&str> {
        self.items
            .iter()
            .flat_map(|i| &i.uniques)
            .find(|(name, cols)| name.is_some() && same_columns(cols, columns))
            .and_then(|(name, _)| name.as_deref())
    }

    /// The names given to foreign keys on `columns`, in declaration order.
    pub(crate) fn foreign_key_names(&self, columns: &[String]) -> Vec<&str> {
        self.items
            .iter()
            .flat_map(|i| &i.foreign_keys)
            .filter(|(_, cols, _)| same_columns(cols, columns))
            .filter_map(|(name, _, _)| name.as_deref())
            .collect()
    }

    /// The deferrability of the (first) foreign key on `columns`; pragmas do not say.
    pub(crate) fn foreign_key_deferrable(&self, columns: &[String]) -> Deferrable {
        self.items
            .iter()
            .flat_map(|i| &i.foreign_keys)
            .find(|(_, cols, _)| same_columns(cols, columns))
            .map_or(Deferrable::NotDeferrable, |(_, _, d)| *d)
    }

    /// The name given to the primary key, if one was given.
    pub(crate) fn primary_key_name(&self) -> Option<&str> {
        self.items
            .iter()
            .find_map(|i| i.primary_key.as_ref())
            .and_then(Option::as_deref)
    }
}

/// Whether two column lists name the same columns (SQLite names are case-insensitive).
pub(crate) fn same_columns(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// Reads a `CREATE TABLE name (...) [options]` statement.
pub(crate) fn parse_create_table(sql: &str) -> TableDdl {
    let spanned = tokenize_spanned(sql);
    let tokens: Vec<Token> = spanned.iter().map(|(t, _)| t.clone()).collect();
    let mut ddl = TableDdl::default();
    let Some(open) = tokens.iter().position(|t| t.is_punct("(")) else {
        return ddl;
    };
    let Some((body, close)) = paren_body(&tokens, open) else {
        return ddl;
    };
    let mut offset = open + 1;
    for item in split_top_level(body) {
        let first_index = offset;
        offset += item.len() + 1;
        let Some(first) = item.first() else { continue };
        let text = sql
            .get(spanned[first_index].1.start..spanned[first_index + item.len() - 1].1.end)
            .unwrap_or_default()
            .to_string();
        let is_constraint = first.is_kw("CONSTRAINT")
            || first.is_kw("PRIMARY")
            || first.is_kw("UNIQUE")
            || first.is_kw("CHECK")
            || first.is_kw("FOREIGN");
        let mut parsed = TableItem {
            text,
            ..TableItem::default()
        };
        if is_constraint {
            collect_constraints(item, None, &mut parsed);
        } else if let Some(name) = first.ident() {
            collect_constraints(&item[1..], Some(name), &mut parsed);
            parsed.column = Some(name.to_string());
            ddl.columns.push((name.to_string(), item[1..].to_vec()));
        } else {
            continue;
        }
        ddl.checks.extend(parsed.checks.iter().cloned());
        ddl.items.push(parsed);
    }
    let body_range = spanned[open].1.end..spanned[close].1.start;
    ddl.multiline = sql.get(body_range).is_some_and(|b| b.contains('\n'));
    ddl.options_text = sql
        .get(spanned[close].1.end..)
        .unwrap_or_default()
        .trim_end()
        .trim_end_matches(';')
        .to_string();
    let tail = &tokens[close + 1..];
    ddl.without_rowid = tail.iter().any(|t| t.is_kw("ROWID"));
    ddl.strict = tail.iter().any(|t| t.is_kw("STRICT"));
    ddl
}

/// Keywords that start a column constraint the model does not name.
const UNNAMED_CONSTRAINTS: &[&str] = &["NOT", "NULL", "DEFAULT", "COLLATE", "GENERATED", "AS"];

/// Finds the constraints of a column definition (`column` set, tokens after its name)
/// or of a table constraint, each with the name a preceding `CONSTRAINT name` gives it.
fn collect_constraints(tokens: &[Token], column: Option<&str>, item: &mut TableItem) {
    let mut i = 0;
    let mut pending_name: Option<String> = None;
    let mut table_foreign_key = false;
    let own_column = || column.map(|c| vec![c.to_string()]).unwrap_or_default();
    while i < tokens.len() {
        let token = &tokens[i];
        if token.is_kw("CONSTRAINT") {
            pending_name = tokens.get(i + 1).and_then(Token::ident).map(str::to_string);
            i += 2;
            continue;
        }
        if token.is_kw("CHECK")
            && let Some((body, close)) = paren_body(tokens, i + 1)
        {
            item.checks.push((pending_name.take(), render_tokens(body)));
            i = close + 1;
            continue;
        }
        if token.is_kw("PRIMARY") {
            item.primary_key = Some(pending_name.take());
        } else if token.is_kw("UNIQUE") {
            let name = pending_name.take();
            if let Some((body, close)) = paren_body(tokens, i + 1) {
                item.uniques.push((name, leading_idents(body)));
                i = close + 1;
                continue;
            }
            item.uniques.push((name, own_column()));
        } else if token.is_kw("FOREIGN")
            && let Some((body, close)) = paren_body(tokens, i + 2)
        {
            item.foreign_keys.push((
                pending_name.take(),
                leading_idents(body),
                Deferrable::NotDeferrable,
            ));
            table_foreign_key = true;
            i = close + 1;
            continue;
        } else if token.is_kw("REFERENCES") {
            if !std::mem::take(&mut table_foreign_key) {
                item.foreign_keys.push((
                    pending_name.take(),
                    own_column(),
                    Deferrable::NotDeferrable,
                ));
            }
        } else if token.is_kw("DEFERRABLE") {
            // Only `DEFERRABLE INITIALLY DEFERRED` defers; `NOT DEFERRABLE` is the default.
            let negated = i > 0 && tokens[i - 1].is_kw("NOT");
            let deferred = tokens.get(i + 1).is_some_and(|t| t.is_kw("INITIALLY"))
                && tokens.get(i + 2).is_some_and(|t| t.is_kw("DEFERRED"));
            if let Some(last) = item.foreign_keys.last_mut() {
                last.2 = match (negated, deferred) {
                    (true, _) => Deferrable::NotDeferrable,
                    (false, true) => Deferrable::InitiallyDeferred,
                    (false, false) => Deferrable::InitiallyImmediate,
                };
            }
        } else if UNNAMED_CONSTRAINTS.iter().any(|kw| token.is_kw(kw)) {
            // A name belongs to the constraint right after it, not to a later one.
            pending_name = None;
        }
        if token.is_punct("(")
            && let Some(close) = matching_paren(tokens, i)
        {
            i = close + 1;
            continue;
        }
        i += 1;
    }
}

/// The first identifier of each comma-separated part (`a COLLATE nocase, b DESC`).
fn leading_idents(tokens: &[Token]) -> Vec<String> {
    split_top_level(tokens)
        .into_iter()
        .filter_map(|part| part.first().and_then(Token::ident).map(str::to_string))
        .collect()
}

/// What a column definition says beyond the pragmas: collation, generation,
/// `AUTOINCREMENT`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ColumnDdl {
    /// `COLLATE name`, lowercased.
    pub collation: Option<String>,
    /// `[GENERATED ALWAYS] AS (expr) [STORED|VIRTUAL]`: expression and whether stored.
    pub generated: Option<(String, bool)>,
    /// `AUTOINCREMENT`.
    pub autoincrement: bool,
}

/// Reads the parts of a column definition (tokens after the column name).
pub(crate) fn parse_column(tokens: &[Token]) -> ColumnDdl {
    let mut column = ColumnDdl::default();
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        if token.is_kw("COLLATE") {
            column.collation = tokens
                .get(i + 1)
                .and_then(Token::ident)
                .map(str::to_lowercase);
            i += 2;
            continue;
        }
        if token.is_kw("AUTOINCREMENT") {
            column.autoincrement = true;
        }
        if token.is_kw("AS")
            && let Some((body, close)) = paren_body(tokens, i + 1)
        {
            let stored = tokens.get(close + 1).is_some_and(|t| t.is_kw("STORED"));
            column.generated = Some((render_tokens(body), stored));
            i = close + 1;
            continue;
        }
        if token.is_punct("(")
            && let Some(close) = matching_paren(tokens, i)
        {
            i = close + 1;
            continue;
        }
        i += 1;
    }
    column
}

/// What a `CREATE [UNIQUE] INDEX name ON table (parts) [WHERE predicate]` says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct IndexDdl {
    /// Each key part's text, with any trailing `ASC`/`DESC` and `COLLATE` removed.
    pub parts: Vec<String>,
    /// The `WHERE` predicate, normalised.
    pub predicate: Option<String>,
}

/// Reads a `CREATE INDEX` statement.
pub(crate) fn parse_create_index(sql: &str) -> IndexDdl {
    let tokens = tokenize(sql);
    let mut ddl = IndexDdl::default();
    let Some(on) = tokens.iter().position(|t| t.is_kw("ON")) else {
        return ddl;
    };
    let Some(open) = tokens[on..]
        .iter()
        .position(|t| t.is_punct("("))
        .map(|p| p + on)
    else {
        return ddl;
    };
    let Some((body, close)) = paren_body(&tokens, open) else {
        return ddl;
    };
    for part in split_top_level(body) {
        let mut end = part.len();
        while end > 0 && (part[end - 1].is_kw("ASC") || part[end - 1].is_kw("DESC")) {
            end -= 1;
        }
        if end >= 2 && part[end - 2].is_kw("COLLATE") {
            end -= 2;
        }
        ddl.parts.push(render_tokens(&part[..end]));
    }
    let rest = &tokens[close + 1..];
    if let Some(w) = rest.iter().position(|t| t.is_kw("WHERE")) {
        ddl.predicate = Some(render_tokens(&rest[w + 1..]));
    }
    ddl
}

/// The body of a `CREATE VIEW name AS select`, normalised.
pub(crate) fn view_body(sql: &str) -> String {
    let tokens = tokenize(sql);
    // The first AS at depth 0 after the view name (or its column list) starts the body.
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        if token.is_punct("(") {
            depth += 1;
        } else if token.is_punct(")") {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && token.is_kw("AS") {
            return render_tokens(&tokens[i + 1..]);
        }
    }
    render_tokens(&tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_formatting() {
        assert_eq!(normalize("lower( Email )"), "lower(email)");
        assert_eq!(normalize("( 1 + 2 )"), "(1 + 2)");
        assert_eq!(
            normalize("\"Mixed Case\" || 'It''s'"),
            "\"Mixed Case\" || 'It''s'"
        );
        assert_eq!(normalize("a.b = \"c\".d"), "a.b = c.d");
        assert_eq!(
            normalize("x >= 1.5 AND y <> -- c\n 2"),
            "x >= 1.5 and y <> 2"
        );
    }

    #[test]
    fn reads_table_details() {
        let ddl = parse_create_table(
            "CREATE TABLE t(id integer primary key autoincrement, f text collate NOCASE check (length(f) > 1), \
             g as (a || 'x') stored, constraint ck check (c > 0), unique(a,b)) STRICT",
        );
        assert_eq!(ddl.columns.len(), 3);
        assert_eq!(
            ddl.checks,
            vec![
                (None, "length(f) > 1".to_string()),
                (Some("ck".into()), "c > 0".into())
            ]
        );
        assert!(ddl.strict && !ddl.without_rowid);
        assert!(parse_column(&ddl.columns[0].1).autoincrement);
        assert_eq!(
            parse_column(&ddl.columns[1].1).collation.as_deref(),
            Some("nocase")
        );
        assert_eq!(
            parse_column(&ddl.columns[2].1).generated,
            Some(("a || 'x'".to_string(), true))
        );
    }

    #[test]
    fn reads_items_verbatim_with_their_constraint_names() {
        let sql = "CREATE TABLE t (\n  id INTEGER CONSTRAINT t_pk PRIMARY KEY,\n  p INT REFERENCES p(id),\n  \
                   c CHAR(2) CONSTRAINT c_u UNIQUE,\n  CONSTRAINT fk_q FOREIGN KEY (q, r) REFERENCES p (a, b),\n  \
                   UNIQUE (c COLLATE nocase, p)\n) STRICT";
        let ddl = parse_create_table(sql);
        let texts: Vec<&str> = ddl.items.iter().map(|i| i.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "id INTEGER CONSTRAINT t_pk PRIMARY KEY",
                "p INT REFERENCES p(id)",
                "c CHAR(2) CONSTRAINT c_u UNIQUE",
                "CONSTRAINT fk_q FOREIGN KEY (q, r) REFERENCES p (a, b)",
                "UNIQUE (c COLLATE nocase, p)",
            ]
        );
        assert!(ddl.multiline);
        assert_eq!(ddl.options_text, " STRICT");
        assert_eq!(ddl.primary_key_name(), Some("t_pk"));
        assert_eq!(ddl.unique_name(&["C".into()]), Some("c_u"));
        assert_eq!(ddl.unique_name(&["c".into(), "p".into()]), None);
        assert_eq!(ddl.foreign_key_names(&["q".into(), "r".into()]), ["fk_q"]);
        assert_eq!(
            ddl.items[1].foreign_keys,
            [(None, vec!["p".to_string()], Deferrable::NotDeferrable)]
        );
        assert_eq!(
            ddl.items[3].foreign_keys.len(),
            1,
            "REFERENCES after FOREIGN KEY is not a second key"
        );
    }

    #[test]
    fn reads_foreign_key_deferrability() {
        let ddl = parse_create_table(
            "CREATE TABLE t (a INT REFERENCES p DEFERRABLE INITIALLY DEFERRED, b INT REFERENCES p NOT DEFERRABLE, \
             c INT, FOREIGN KEY (c) REFERENCES p (id) ON DELETE CASCADE DEFERRABLE)",
        );
        let got: Vec<Deferrable> = ddl
            .items
            .iter()
            .flat_map(|i| i.foreign_keys.iter().map(|f| f.2))
            .collect();
        assert_eq!(
            got,
            [
                Deferrable::InitiallyDeferred,
                Deferrable::NotDeferrable,
                Deferrable::InitiallyImmediate
            ]
        );
    }

    #[test]
    fn reserved_words_are_sorted() {
        assert!(KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(render_ident("plan"), "plan");
        assert_eq!(render_ident("order"), "\"order\"");
        assert_eq!(render_ident("Mixed Case"), "\"Mixed Case\"");
    }

    #[test]
    fn reads_index_details() {
        let ddl =
            parse_create_index("CREATE INDEX i1 on t(lower(a) desc, b COLLATE nocase) where c > 0");
        assert_eq!(ddl.parts, vec!["lower(a)", "b"]);
        assert_eq!(ddl.predicate.as_deref(), Some("c > 0"));
        assert_eq!(
            view_body("CREATE VIEW v(a) AS SELECT  a FROM t"),
            "select a from t"
        );
    }
}
