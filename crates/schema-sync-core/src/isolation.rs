//! The cross-tenant guard: SQL run against one tenant never names another tenant.
//!
//! Snapshots are tenant-relative, and renderers qualify names with the tenant being
//! synced, so a correct plan can only reach its own tenant. The guard checks that instead
//! of trusting it: before a runner executes anything, every rendered statement is scanned
//! for qualified names (`ns.object`, `"ns"."object"`, `` `ns`.`object` ``, and the same
//! inside string literals such as `nextval('ns.seq')` and inside dollar-quoted bodies),
//! and a qualifier that is a forbidden namespace (another tenant, the template) refuses
//! the tenant before its first statement runs. Shared namespaces that tenants may
//! reference (`public`, an extensions schema, a lookup schema) are simply not forbidden.
//!
//! The scan is lexical, not a SQL parser: it finds every identifier that is directly
//! followed by a `.`, which is how SQL spells a qualified name in every dialect we
//! support. It can over-report (a table alias that happens to equal another tenant's
//! name), never under-report a qualified reference.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::tenant::TenantContext;

/// The namespaces that no tenant's SQL may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespaceGuard {
    forbidden: Arc<HashSet<String>>,
}

impl NamespaceGuard {
    /// A guard that forbids `namespaces` (the tenant being changed is always allowed
    /// its own).
    pub fn new(namespaces: impl IntoIterator<Item = String>) -> Self {
        Self {
            forbidden: Arc::new(namespaces.into_iter().collect()),
        }
    }

    /// Whether the guard forbids nothing (a library caller that set no namespaces).
    pub fn is_empty(&self) -> bool {
        self.forbidden.is_empty()
    }

    /// Refuses `statements` for `tenant` when one of them names a forbidden namespace
    /// other than the tenant's own.
    ///
    /// # Errors
    /// [`Error::Isolation`] naming the namespace and the statement.
    pub fn check<S: AsRef<str>>(&self, tenant: &TenantContext, statements: &[S]) -> Result<()> {
        self.check_allowing(tenant, Some(tenant.namespace()), statements)
    }

    /// Refuses `statements`, rendered from `tenant` for a migration file that other
    /// tenants share, when one of them names a forbidden namespace, the tenant's own
    /// included: a shared file that named it would change that tenant wherever it runs.
    ///
    /// # Errors
    /// [`Error::Isolation`] naming the namespace and the statement.
    pub fn check_shared<S: AsRef<str>>(
        &self,
        tenant: &TenantContext,
        statements: &[S],
    ) -> Result<()> {
        let own = NamespaceGuard::new([tenant.namespace().to_string()]);
        own.check_allowing(tenant, None, statements)?;
        self.check_allowing(tenant, None, statements)
    }

    fn check_allowing<S: AsRef<str>>(
        &self,
        tenant: &TenantContext,
        allowed: Option<&str>,
        statements: &[S],
    ) -> Result<()> {
        if self.forbidden.is_empty() {
            return Ok(());
        }
        for statement in statements {
            let statement = statement.as_ref();
            for qualifier in qualifiers(statement) {
                let matches = |name: &str| Some(name) != allowed && self.forbidden.contains(name);
                if matches(&qualifier.name)
                    || (!qualifier.quoted && matches(&qualifier.name.to_lowercase()))
                {
                    return Err(Error::Isolation {
                        tenant: tenant.id().clone(),
                        namespace: qualifier.name,
                        statement: statement.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// An identifier that qualifies another (`qualifier.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Qualifier {
    name: String,
    quoted: bool,
}

/// Every identifier in `sql` that is followed by a `.`, including those inside string
/// literals and dollar-quoted bodies.
fn qualifiers(sql: &str) -> Vec<Qualifier> {
    let mut found = Vec::new();
    scan(sql, &mut found);
    found
}

fn scan(sql: &str, found: &mut Vec<Qualifier>) {
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                let (content, next) = quoted(&chars, i, '\'');
                // Literals hold names too: `nextval('tenant.seq')`, regclass casts.
                scan(&content, found);
                i = next;
            }
            '"' | '`' => {
                let (name, next) = quoted(&chars, i, c);
                i = next;
                if followed_by_dot(&chars, i) {
                    found.push(Qualifier { name, quoted: true });
                }
            }
            '$' => match dollar_tag(&chars, i) {
                Some(tag) => {
                    let body_start = i + tag.len();
                    let end = find(&chars, body_start, &tag).unwrap_or(chars.len());
                    let body: String = chars[body_start..end].iter().collect();
                    scan(&body, found);
                    i = (end + tag.len()).min(chars.len());
                }
                None => i += 1,
            },
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
                if followed_by_dot(&chars, i) {
                    found.push(Qualifier {
                        name: chars[start..i].iter().collect(),
                        quoted: false,
                    });
                }
            }
            _ => i += 1,
        }
    }
}

/// The content of the quoted run starting at `start` (doubled quotes and backslash
/// escapes unescaped) and the index after its closing quote.
fn quoted(chars: &[char], start: usize, quote: char) -> (String, usize) {
    let mut content = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                content.push(quote);
                i += 2;
                continue;
            }
            return (content, i + 1);
        }
        if c == '\\' && quote == '\'' {
            // MySQL escapes; on PostgreSQL a backslash before the closing quote is rare
            // and at worst makes the scan read on, never skip a qualifier before it.
            if let Some(&next) = chars.get(i + 1) {
                content.push(next);
                i += 2;
                continue;
            }
        }
        content.push(c);
        i += 1;
    }
    (content, chars.len())
}

/// `$tag$` starting at `start`, when it is a dollar quote.
fn dollar_tag(chars: &[char], start: usize) -> Option<Vec<char>> {
    let mut i = start + 1;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars.get(i) == Some(&'$')).then(|| chars[start..=i].to_vec())
}

fn find(chars: &[char], from: usize, needle: &[char]) -> Option<usize> {
    (from..chars.len().saturating_sub(needle.len() - 1)).find(|&i| chars[i..].starts_with(needle))
}

fn followed_by_dot(chars: &[char], mut i: usize) -> bool {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    chars.get(i) == Some(&'.')
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::TenantId;

    fn tenant(name: &str) -> TenantContext {
        TenantContext::new(TenantId::new(name).unwrap_or_else(|e| panic!("{e}")), name)
    }

    fn names(sql: &str) -> Vec<String> {
        qualifiers(sql).into_iter().map(|q| q.name).collect()
    }

    #[test]
    fn finds_qualifiers_in_every_spelling() {
        assert_eq!(
            names(r#"ALTER TABLE "t 1"."users" ADD x int DEFAULT nextval('tmpl.seq'::regclass)"#),
            ["t 1", "tmpl"]
        );
        assert_eq!(names("SELECT `db`.`seq`, a . b FROM x"), ["db", "a"]);
        assert_eq!(
            names("CREATE FUNCTION f() RETURNS int AS $body$ SELECT other.f() $body$ LANGUAGE sql"),
            ["other"]
        );
        assert_eq!(names(r#"SELECT '"q""x".y', 'no dot' -- c.d"#), ["q\"x"]);
        assert!(
            names("SELECT 1.5, 'a.b c', x FROM t")
                .iter()
                .all(|n| n == "a")
        );
    }

    #[test]
    fn refuses_another_tenant_and_allows_its_own_and_shared_ones() {
        let guard = NamespaceGuard::new(["tmpl".to_string(), "acme".to_string()]);
        let acme = tenant("acme");
        assert!(
            guard
                .check(
                    &acme,
                    &[r#"ALTER TABLE "acme"."t" ADD c int DEFAULT nextval('acme.s')"#]
                )
                .is_ok()
        );
        assert!(guard.check(&acme, &["SELECT public.f(), ext.g()"]).is_ok());
        for leak in [
            r#"ALTER TABLE "acme"."t" ALTER c SET DEFAULT nextval('tmpl.s'::regclass)"#,
            r#"CREATE VIEW "acme"."v" AS SELECT * FROM "tmpl"."t""#,
            "ALTER TABLE `acme`.`t` MODIFY c int DEFAULT nextval(`tmpl`.`s`)",
            "CREATE VIEW v AS SELECT TMPL.t.id FROM TMPL.t",
        ] {
            match guard.check(&acme, &[leak]) {
                Err(Error::Isolation { namespace, .. }) => {
                    assert_eq!(namespace.to_lowercase(), "tmpl", "{leak}")
                }
                other => panic!("{leak}: expected an isolation error, got {other:?}"),
            }
        }
    }

    #[test]
    fn a_shared_file_may_name_no_tenant_not_even_its_own() {
        let acme = tenant("acme");
        let own = [r#"ALTER TABLE "acme"."t" ADD c int"#];
        assert!(NamespaceGuard::default().check(&acme, &own).is_ok());
        for guard in [
            NamespaceGuard::default(),
            NamespaceGuard::new(["beta".to_string()]),
        ] {
            match guard.check_shared(&acme, &own) {
                Err(Error::Isolation { namespace, .. }) => assert_eq!(namespace, "acme"),
                other => panic!("expected an isolation error, got {other:?}"),
            }
        }
        let guard = NamespaceGuard::new(["beta".to_string()]);
        assert!(matches!(
            guard.check_shared(&acme, &["SELECT beta.f()"]),
            Err(Error::Isolation { .. })
        ));
        assert!(
            guard
                .check_shared(&acme, &[r#"ALTER TABLE "t" ADD c int DEFAULT public.f()"#])
                .is_ok()
        );
    }

    #[test]
    fn an_empty_guard_allows_everything() {
        assert!(
            NamespaceGuard::default()
                .check(&tenant("a"), &["SELECT b.c FROM b.c"])
                .is_ok()
        );
    }
}
