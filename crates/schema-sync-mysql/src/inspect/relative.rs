//! Tenant-relative expressions: removing a database's own name from the SQL it stores.
//!
//! The server qualifies what an expression refers to with the database it was created in:
//! MariaDB stores `nextval(seq)` in a default as ``nextval(`db`.`seq`)``, view bodies
//! read `` `db`.`t` ``, MySQL 8 writes stored function calls as `` `db`.`f`(...) ``, and a
//! trigger body keeps whatever the author wrote (`db.t`, `` `db` . `t` ``). Every such
//! qualifier naming the tenant's own database is removed, so a clone of a template
//! inspects identical to the template, and the expression, rendered unqualified while the
//! runner's session `USE`s the tenant, resolves to the tenant being synced: the server
//! re-qualifies it with that tenant's name, never the template's.
//!
//! The scan is lexical: string literals and comments are copied untouched; an identifier
//! (backquoted, bare, or double-quoted as under `ANSI_QUOTES`) equal to the database name
//! is dropped with its dot when a dot and another identifier follow it and it is not
//! itself the second part of a qualified name (`x.db.y`) or a user variable (`@db.x`).
//! Qualifiers naming other databases are kept.

/// `sql` with every qualifier naming database `db` removed.
pub(crate) fn strip_database(sql: &str, db: &str) -> String {
    if db.is_empty() {
        return sql.to_string();
    }
    let chars: Vec<char> = sql.chars().collect();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    // The last significant character copied to `out` (not whitespace or a comment).
    let mut previous: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\'' => {
                let end = quoted_end(&chars, i, '\'', true);
                out.extend(&chars[i..end]);
                previous = Some('\'');
                i = end;
            }
            '`' | '"' => {
                let end = quoted_end(&chars, i, c, c == '"');
                let name = unquote(&chars[i..end], c);
                if name == db
                    && can_strip(previous)
                    && let Some(next) = qualifier_end(&chars, end)
                {
                    i = next;
                    continue;
                }
                out.extend(&chars[i..end]);
                previous = Some(c);
                i = end;
            }
            '#' => {
                let end = line_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '-' if chars.get(i + 1) == Some(&'-')
                && chars.get(i + 2).is_none_or(|c| c.is_whitespace()) =>
            {
                let end = line_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let end = block_comment_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
            }
            c if is_ident_char(c) => {
                let end = (i..chars.len())
                    .find(|j| !is_ident_char(chars[*j]))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                if word == db
                    && can_strip(previous)
                    && let Some(next) = qualifier_end(&chars, end)
                {
                    i = next;
                    continue;
                }
                out.push_str(&word);
                previous = chars.get(end - 1).copied();
                i = end;
            }
            c => {
                out.push(c);
                if !c.is_whitespace() {
                    previous = Some(c);
                }
                i += 1;
            }
        }
    }
    out
}

/// A bare identifier character (MySQL allows `$` and any non-ASCII character).
fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

/// Whether an identifier after `previous` can be a leading qualifier: not the second part
/// of a qualified name, and not a user or system variable.
fn can_strip(previous: Option<char>) -> bool {
    !matches!(previous, Some('.' | '@'))
}

/// If whitespace, a dot, whitespace and the start of an identifier follow `from`, the
/// index of that identifier: where the text continues once the qualifier is dropped.
fn qualifier_end(chars: &[char], from: usize) -> Option<usize> {
    let mut i = from;
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    if chars.get(i) != Some(&'.') {
        return None;
    }
    i += 1;
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    let next = *chars.get(i)?;
    (next == '`' || next == '"' || is_ident_char(next)).then_some(i)
}

/// The index after the closing `quote` of the literal or identifier opening at `start`.
/// A doubled quote stays inside; a backslash escapes the next character in strings.
fn quoted_end(chars: &[char], start: usize, quote: char, backslash: bool) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if backslash && c == '\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    chars.len()
}

/// The name inside a quoted identifier, doubled quotes undone.
fn unquote(quoted: &[char], quote: char) -> String {
    let inner: String = quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or_default()
        .iter()
        .collect();
    let doubled: String = [quote, quote].iter().collect();
    inner.replace(&doubled, &quote.to_string())
}

fn line_end(chars: &[char], start: usize) -> usize {
    (start..chars.len())
        .find(|i| chars[*i] == '\n')
        .unwrap_or(chars.len())
}

fn block_comment_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 2;
    while i + 1 < chars.len() {
        if chars[i] == '*' && chars[i + 1] == '/' {
            return i + 2;
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::strip_database;

    #[test]
    fn removes_the_own_database_in_every_quoting_form() {
        let cases = [
            // MariaDB defaults with sequences.
            (
                "concat('INV-',lpad(nextval(`tenant_db`.`seq`),8,'0'))",
                "concat('INV-',lpad(nextval(`seq`),8,'0'))",
            ),
            ("lastval(`tenant_db`.`seq`)", "lastval(`seq`)"),
            ("setval(`tenant_db`.`seq`,10)", "setval(`seq`,10)"),
            // View bodies.
            (
                "select `t`.`id` AS `id` from `tenant_db`.`t` join `other`.`u`",
                "select `t`.`id` AS `id` from `t` join `other`.`u`",
            ),
            // MySQL 8 stored function calls, column references with three parts.
            ("`tenant_db`.`f`(`tenant_db`.`t`.`id`)", "`f`(`t`.`id`)"),
            // Trigger bodies as written.
            (
                "INSERT INTO tenant_db.log VALUES (nextval(tenant_db.seq))",
                "INSERT INTO log VALUES (nextval(seq))",
            ),
            ("SELECT 1 FROM `tenant_db` . `t`", "SELECT 1 FROM `t`"),
            ("SELECT \"tenant_db\".\"t\".x", "SELECT \"t\".x"),
            ("SELECT TENANT_DB.t", "SELECT TENANT_DB.t"),
        ];
        for (raw, relative) in cases {
            assert_eq!(strip_database(raw, "tenant_db"), relative, "{raw}");
        }
    }

    #[test]
    fn keeps_literals_comments_variables_and_other_names() {
        let kept = [
            "concat('tenant_db.seq', \"tenant_db\")",
            "'it''s `tenant_db`.`x`' -- tenant_db.x\n",
            "/* tenant_db.x */ 1",
            "# tenant_db.x\n1",
            "@tenant_db.x",
            "`a`.`tenant_db`.`c`",
            "`tenant_db2`.`t`",
            "my_tenant_db.t",
            "tenant_db",
            "`tenant_db`",
            "'\\'tenant_db.x'",
        ];
        for sql in kept {
            assert_eq!(strip_database(sql, "tenant_db"), sql, "{sql}");
        }
    }

    #[test]
    fn handles_names_needing_quotes() {
        assert_eq!(
            strip_database("nextval(`we``ird db`.`seq`)", "we`ird db"),
            "nextval(`seq`)"
        );
        assert_eq!(
            strip_database("nextval(`ünï`.`seq`) + ünï.x", "ünï"),
            "nextval(`seq`) + x"
        );
    }
}
