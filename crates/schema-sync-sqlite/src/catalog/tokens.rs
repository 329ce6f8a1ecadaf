//! The lexer of stored DDL, and the normaliser built on it.
//!
//! Tokens are words, quoted identifiers, string literals and punctuation; whitespace and
//! comments are dropped. Rendering tokens back gives canonical text (keywords and bare
//! identifiers lowercased, single spaces), so that `lower( a )` and `lower(a)` compare
//! equal and formatting never shows up as drift.

use std::ops::Range;

use crate::sql::quote_ident;

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
    let mut tokens = Vec::with_capacity(sql.len() / 4);
    lex(sql, |token, _| tokens.push(token));
    tokens
}

/// Like [`tokenize`], with the byte range of the source each token was read from.
pub(crate) fn tokenize_spanned(sql: &str) -> Vec<(Token, Range<usize>)> {
    let mut tokens = Vec::with_capacity(sql.len() / 4);
    lex(sql, |token, span| tokens.push((token, span)));
    tokens
}

/// Two-character operators; every other punctuation character is a token by itself.
const TWO_CHAR_OPERATORS: &[&[u8; 2]] = &[
    b"<=", b">=", b"<>", b"!=", b"==", b"||", b"<<", b">>", b"->",
];

/// The lexer: calls `emit` with each token and its byte range, in order.
///
/// It walks byte offsets and slices the source, so a token costs one allocation.
/// Quotes, comment markers and operators are ASCII, which never occurs inside a
/// multi-byte UTF-8 sequence, so scanning bytes for them is exact.
fn lex(sql: &str, mut emit: impl FnMut(Token, Range<usize>)) {
    let bytes = sql.as_bytes();
    let len = bytes.len();
    let mut i = 0;
    while i < len {
        let start = i;
        let Some(c) = sql[i..].chars().next() else {
            break;
        };
        let next = bytes.get(i + 1).copied();
        let token = if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        } else if c == '-' && next == Some(b'-') {
            i = sql[i..].find('\n').map_or(len, |p| i + p);
            continue;
        } else if c == '/' && next == Some(b'*') {
            i = sql[i + 2..].find("*/").map_or(len, |p| i + 2 + p + 2);
            continue;
        } else if c == '\'' {
            let (text, end, closed) = read_quoted(sql, i, b'\'');
            i = end;
            if closed {
                // Doubled quotes stay doubled: the literal is its source text.
                Token::Str(sql[start..end].to_string())
            } else {
                Token::Str(format!("'{}'", text.replace('\'', "''")))
            }
        } else if c == '"' || c == '`' {
            let (text, end, _) = read_quoted(sql, i, c as u8);
            i = end;
            Token::Quoted(text)
        } else if c == '[' {
            let end = sql[i..].find(']').map_or(len, |p| i + p);
            let text = sql[i + 1..end].to_string();
            i = (end + 1).min(len);
            Token::Quoted(text)
        } else if c.is_alphanumeric()
            || c == '_'
            || c == '$'
            || (c == '.' && next.is_some_and(|b| b.is_ascii_digit()))
        {
            // A number may hold a dot (`1.5`, `.5`); an identifier never does.
            let number = c.is_ascii_digit() || c == '.';
            i += c.len_utf8();
            while let Some(ch) = sql[i..].chars().next() {
                if ch.is_alphanumeric() || ch == '_' || ch == '$' || (ch == '.' && number) {
                    i += ch.len_utf8();
                } else {
                    break;
                }
            }
            Token::Word(sql[start..i].to_string())
        } else {
            let two = bytes.get(i..i + 2);
            let width = if two.is_some_and(|t| TWO_CHAR_OPERATORS.iter().any(|op| op[..] == *t)) {
                2
            } else {
                c.len_utf8()
            };
            i += width;
            Token::Punct(sql[start..i].to_string())
        };
        emit(token, start..i.min(len));
    }
}

/// Reads a quoted run starting at byte `start` (the opening quote); doubled quotes
/// escape. Returns the unquoted text, the offset after the closing quote, and whether
/// there was one.
fn read_quoted(sql: &str, start: usize, quote: u8) -> (String, usize, bool) {
    let bytes = sql.as_bytes();
    let mut text = String::new();
    let (mut from, mut i) = (start + 1, start + 1);
    while i < bytes.len() {
        if bytes[i] == quote {
            text.push_str(&sql[from..i]);
            if bytes.get(i + 1) == Some(&quote) {
                text.push(char::from(quote));
                i += 2;
                from = i;
                continue;
            }
            return (text, i + 1, true);
        }
        i += 1;
    }
    text.push_str(&sql[from..]);
    (text, bytes.len(), false)
}

/// Renders tokens back to canonical text: keywords and bare identifiers lowercased,
/// single spaces between words, none inside parentheses or before commas.
pub(crate) fn render_tokens(tokens: &[Token]) -> String {
    let mut out = String::with_capacity(tokens.len() * 6);
    let mut prev: Option<&Token> = None;
    for token in tokens {
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
        match token {
            Token::Word(w) => push_lowercase(&mut out, w),
            Token::Quoted(q) if is_plain_identifier(q) => push_lowercase(&mut out, q),
            Token::Quoted(q) => out.push_str(&quote_ident(q)),
            Token::Str(s) => out.push_str(s),
            Token::Punct(p) => out.push_str(p),
        }
        prev = Some(token);
    }
    out
}

/// Appends `word` lowercased, without allocating when it is ASCII.
fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// Whether `name` can be written bare (and case-folded) without changing its meaning.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.iter().any(|kw| kw.eq_ignore_ascii_case(name))
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
        assert_eq!(
            normalize("/* c */ [A b] = 'unterminated"),
            "\"A b\" = 'unterminated'"
        );
    }

    #[test]
    fn a_number_may_start_with_a_dot() {
        assert_eq!(normalize(".5"), ".5");
        assert_eq!(normalize("x * .25e2"), "x * .25e2");
    }

    #[test]
    fn spans_cover_the_source_of_each_token() {
        let sql = "CREATE TABLE \"t\" (a INT, b TEXT DEFAULT 'x''y') -- done";
        let spanned = tokenize_spanned(sql);
        let texts: Vec<&str> = spanned.iter().map(|(_, span)| &sql[span.clone()]).collect();
        assert_eq!(
            texts,
            [
                "CREATE", "TABLE", "\"t\"", "(", "a", "INT", ",", "b", "TEXT", "DEFAULT", "'x''y'",
                ")"
            ]
        );
        assert_eq!(spanned[2].0, Token::Quoted("t".into()));
        assert_eq!(spanned[10].0, Token::Str("'x''y'".into()));
    }
}
