//! Reading what SQLite's pragmas do not report from the DDL it stores.
//!
//! SQLite keeps each object's `CREATE` statement verbatim in `sqlite_schema`. Check
//! constraints, generated-column expressions, collations, `AUTOINCREMENT`, index
//! expressions and table options are only there. This module tokenises that text (it
//! does not parse SQL grammar: SQLite already accepted it) and normalises fragments so
//! that formatting differences (`lower( a )` vs `lower(a)`) never show up as drift.

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
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
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
            tokens.push(Token::Str(format!("'{}'", text.replace('\'', "''"))));
            i = next;
        } else if c == '"' || c == '`' {
            let (text, next) = read_quoted(&chars, i, c);
            tokens.push(Token::Quoted(text));
            i = next;
        } else if c == '[' {
            let end = chars[i..]
                .iter()
                .position(|&x| x == ']')
                .map_or(chars.len(), |p| i + p);
            tokens.push(Token::Quoted(chars[i + 1..end].iter().collect()));
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
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op =
                if ["<=", ">=", "<>", "!=", "==", "||", "<<", ">>", "->"].contains(&two.as_str()) {
                    two
                } else {
                    c.to_string()
                };
            i += op.chars().count();
            tokens.push(Token::Punct(op));
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
    /// `WITHOUT ROWID`.
    pub without_rowid: bool,
    /// `STRICT`.
    pub strict: bool,
}

/// Reads a `CREATE TABLE name (...) [options]` statement.
pub(crate) fn parse_create_table(sql: &str) -> TableDdl {
    let tokens = tokenize(sql);
    let mut ddl = TableDdl::default();
    let Some(open) = tokens.iter().position(|t| t.is_punct("(")) else {
        return ddl;
    };
    let Some((body, close)) = paren_body(&tokens, open) else {
        return ddl;
    };
    for item in split_top_level(body) {
        let Some(first) = item.first() else { continue };
        let is_constraint = first.is_kw("CONSTRAINT")
            || first.is_kw("PRIMARY")
            || first.is_kw("UNIQUE")
            || first.is_kw("CHECK")
            || first.is_kw("FOREIGN");
        if is_constraint {
            collect_checks(item, &mut ddl.checks);
        } else if let Some(name) = first.ident() {
            collect_checks(&item[1..], &mut ddl.checks);
            ddl.columns.push((name.to_string(), item[1..].to_vec()));
        }
    }
    let tail = &tokens[close + 1..];
    ddl.without_rowid = tail.iter().any(|t| t.is_kw("ROWID"));
    ddl.strict = tail.iter().any(|t| t.is_kw("STRICT"));
    ddl
}

/// Keywords that start a constraint other than CHECK.
const OTHER_CONSTRAINTS: &[&str] = &[
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "UNIQUE",
    "REFERENCES",
    "FOREIGN",
    "COLLATE",
    "GENERATED",
    "AS",
];

/// Finds `[CONSTRAINT name] CHECK (expr)` in a column definition or table constraint.
fn collect_checks(tokens: &[Token], out: &mut Vec<(Option<String>, String)>) {
    let mut i = 0;
    let mut pending_name: Option<String> = None;
    while i < tokens.len() {
        if tokens[i].is_kw("CONSTRAINT") {
            pending_name = tokens.get(i + 1).and_then(Token::ident).map(str::to_string);
            i += 2;
            continue;
        }
        if tokens[i].is_kw("CHECK")
            && let Some((body, close)) = paren_body(tokens, i + 1)
        {
            out.push((pending_name.take(), render_tokens(body)));
            i = close + 1;
            continue;
        }
        if let Some((_, close)) = tokens[i]
            .is_punct("(")
            .then(|| paren_body(tokens, i))
            .flatten()
        {
            i = close + 1;
            continue;
        }
        // A constraint name belongs to the constraint right after it, not to a later CHECK.
        if OTHER_CONSTRAINTS.iter().any(|kw| tokens[i].is_kw(kw)) {
            pending_name = None;
        }
        i += 1;
    }
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
