//! Function definitions made tenant-relative where PostgreSQL cannot do it.
//!
//! Deparsed text (defaults, checks, index expressions, view bodies, `BEGIN ATOMIC`
//! bodies) is tenant-relative by construction: it is produced with `search_path` pinned
//! to the tenant, so the tenant's own objects print unqualified. Two parts of a function
//! definition are not deparsed but stored as written, and may name the tenant's schema:
//!
//! - the `SET search_path` option (`SET search_path FROM CURRENT`, or a function that
//!   pins its own schema for safety), printed as `SET search_path TO 'tenant_a', ...`;
//! - a body in a string (`AS $$ ... $$`) that qualifies names with the schema
//!   (`FROM tenant_a.orders`, `nextval('tenant_a.seq')`).
//!
//! Left as they are, every tenant's function would differ from the template's, and a
//! sync would make tenant B's function read tenant A's tables. So the inspector replaces
//! the tenant's schema with [`TENANT`] in those two places ([`relativize_function`]), and
//! the renderer puts the synced tenant's schema back ([`localize_function`]).
//!
//! A qualifier is recognised where it starts a name (after a character that cannot be
//! part of one), spelled bare (`tenant_a.`) or quoted (`"tenant_a".`); an alias spelled
//! exactly like the schema and followed by a dot would be taken for it.

use super::{quote_ident, quote_literal};

/// The stand-in for the tenant's schema in a stored function definition.
pub(crate) const TENANT: &str = "$tenant";

/// The `SET search_path` option of a function header, as `pg_get_functiondef` prints it.
const SEARCH_PATH: &str = " SET search_path TO ";

/// Replaces the tenant's `schema` in `definition` (from `pg_get_functiondef`) with
/// [`TENANT`]: in the `SET search_path` option and where it qualifies a name in the body.
pub(crate) fn relativize_function(definition: &str, schema: &str) -> String {
    let own = simple_literal(schema);
    let marker = simple_literal(TENANT);
    let mut out = Vec::new();
    let mut in_header = true;
    for line in definition.split('\n') {
        if line.starts_with("AS ") || line == "BEGIN ATOMIC" {
            in_header = false;
        }
        match line.strip_prefix(SEARCH_PATH) {
            Some(list) if in_header => {
                let items: Vec<&str> = split_literals(list)
                    .into_iter()
                    .map(|item| if item == own { marker.as_str() } else { item })
                    .collect();
                out.push(format!("{SEARCH_PATH}{}", items.join(", ")));
            }
            _ => out.push(line.to_string()),
        }
    }
    let text = out.join("\n");
    let replacement = format!("{}.", quote_ident(TENANT));
    let mut qualifiers = vec![format!("{}.", quote_ident(schema))];
    if is_bare_identifier(schema) {
        qualifiers.push(format!("{schema}."));
    }
    replace_qualifiers(&text, &qualifiers, &replacement)
}

/// Puts the synced tenant's `schema` where [`relativize_function`] left [`TENANT`].
pub(crate) fn localize_function(definition: &str, schema: &str) -> String {
    let mut out = Vec::new();
    let mut in_header = true;
    let marker = simple_literal(TENANT);
    for line in definition.split('\n') {
        if line.starts_with("AS ") || line == "BEGIN ATOMIC" {
            in_header = false;
        }
        match line.strip_prefix(SEARCH_PATH) {
            Some(list) if in_header => {
                let own = quote_literal(schema);
                let items: Vec<&str> = split_literals(list)
                    .into_iter()
                    .map(|item| if item == marker { own.as_str() } else { item })
                    .collect();
                out.push(format!("{SEARCH_PATH}{}", items.join(", ")));
            }
            _ => out.push(line.to_string()),
        }
    }
    out.join("\n").replace(
        &format!("{}.", quote_ident(TENANT)),
        &format!("{}.", quote_ident(schema)),
    )
}

/// A literal as PostgreSQL's `pg_get_functiondef` quotes a list item: quotes doubled.
fn simple_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Splits `'a', 'b''c'` into its quoted items (kept quoted); anything else is one item.
fn split_literals(list: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut rest = list;
    loop {
        let Some(body) = rest.strip_prefix('\'') else {
            return vec![list];
        };
        let mut end = None;
        let mut chars = body.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.peek().map(|(_, n)| *n) == Some('\'') {
                    chars.next();
                } else {
                    end = Some(i + 2);
                    break;
                }
            }
        }
        let Some(end) = end else {
            return vec![list];
        };
        items.push(&rest[..end]);
        rest = &rest[end..];
        if rest.is_empty() {
            return items;
        }
        match rest.strip_prefix(", ") {
            Some(next) => rest = next,
            None => return vec![list],
        }
    }
}

/// Whether `name` may be written without quotes (lower case letters, digits, `_`, `$`).
fn is_bare_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
}

/// Replaces each of `qualifiers` (`schema.` spellings) with `replacement` where it
/// starts a name.
fn replace_qualifiers(text: &str, qualifiers: &[String], replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut previous: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        let boundary =
            !previous.is_some_and(|p| p.is_alphanumeric() || matches!(p, '_' | '$' | '"' | '.'));
        let found = qualifiers
            .iter()
            .find(|q| boundary && rest.starts_with(q.as_str()));
        match found {
            Some(q) => {
                out.push_str(replacement);
                rest = &rest[q.len()..];
                previous = Some('.');
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
                previous = Some(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFINITION: &str = "CREATE OR REPLACE FUNCTION f()\n RETURNS bigint\n LANGUAGE sql\n SET search_path TO 'tenant_a', 'public'\nAS $function$ SELECT count(*) FROM tenant_a.orders JOIN \"tenant_a\".lines ON true WHERE nextval('tenant_a.seq') > 0 AND xtenant_a.y AND o.tenant_a = 1 $function$";

    #[test]
    fn the_tenant_schema_becomes_a_stand_in_and_comes_back_as_another_tenant() {
        let relative = relativize_function(DEFINITION, "tenant_a");
        assert!(!relative.contains("'tenant_a'"), "{relative}");
        assert!(relative.contains(" SET search_path TO '$tenant', 'public'"));
        assert!(relative.contains("FROM \"$tenant\".orders JOIN \"$tenant\".lines"));
        assert!(relative.contains("nextval('\"$tenant\".seq')"));
        assert!(
            relative.contains("xtenant_a.y AND o.tenant_a = 1"),
            "{relative}"
        );
        assert_eq!(relativize_function(DEFINITION, "tenant_b"), DEFINITION);
        let local = localize_function(&relative, "b'2");
        assert!(
            local.contains(" SET search_path TO 'b''2', 'public'"),
            "{local}"
        );
        assert!(local.contains("FROM \"b'2\".orders"), "{local}");
        assert_eq!(
            localize_function(&relative, "tenant_a").replace("\"tenant_a\".", "tenant_a."),
            DEFINITION.replace("\"tenant_a\".", "tenant_a.")
        );
    }

    #[test]
    fn splits_quoted_lists() {
        assert_eq!(split_literals("'a', 'b''c'"), ["'a'", "'b''c'"]);
        assert_eq!(split_literals("\"$user\", public"), ["\"$user\", public"]);
    }
}
