//! Reading what SQLite's pragmas do not report from the DDL it stores.
//!
//! SQLite keeps each object's `CREATE` statement verbatim in `sqlite_schema`. Check
//! constraints, generated-column expressions, collations, `AUTOINCREMENT`, index
//! expressions and table options are only there. This module reads that text from its
//! tokens ([`super::tokens`]; it does not parse SQL grammar: SQLite already accepted it)
//! and normalises fragments so that formatting differences (`lower( a )` vs `lower(a)`)
//! never show up as drift.
//!
//! It also splits a `CREATE TABLE` into its items, verbatim, with what each declares, so
//! that a rebuild can keep the text of every item that did not change.

use schema_sync_core::snapshot::Deferrable;

use super::tokens::{
    Token, matching_paren, paren_body, render_tokens, split_top_level, tokenize, tokenize_spanned,
};

/// What a `CREATE TABLE` statement says that pragmas do not.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TableDdl {
    /// Per column: `(name, what its definition says beyond the pragmas)`.
    pub columns: Vec<(String, ColumnDdl)>,
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
    let (tokens, spans): (Vec<Token>, Vec<_>) = tokenize_spanned(sql).into_iter().unzip();
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
            .get(spans[first_index].start..spans[first_index + item.len() - 1].end)
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
            ddl.columns
                .push((name.to_string(), parse_column(&item[1..])));
        } else {
            continue;
        }
        ddl.checks.extend(parsed.checks.iter().cloned());
        ddl.items.push(parsed);
    }
    let body_range = spans[open].end..spans[close].start;
    ddl.multiline = sql.get(body_range).is_some_and(|b| b.contains('\n'));
    ddl.options_text = sql
        .get(spans[close].end..)
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
        assert!(ddl.columns[0].1.autoincrement);
        assert_eq!(ddl.columns[1].1.collation.as_deref(), Some("nocase"));
        assert_eq!(
            ddl.columns[2].1.generated,
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
