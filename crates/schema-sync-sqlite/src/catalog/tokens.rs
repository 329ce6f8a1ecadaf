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
}
