//! Domains: `CREATE DOMAIN` and the changes `ALTER DOMAIN` can make (default,
//! nullability, checks). Defaults and check expressions are PostgreSQL's own text,
//! tenant-relative. Comments are set by steps of their own.

use schema_sync_core::Result;
use schema_sync_core::snapshot::{CheckConstraint, Domain};

use super::type_sql::render_type;
use super::{Renderer, render_collation};
use crate::sql::quote_ident;

impl Renderer<'_> {
    /// `CREATE DOMAIN` with its valid checks; checks that are `NOT VALID` in the target
    /// are added afterwards, since only `ALTER DOMAIN` can add them so.
    pub(super) fn create_domain(&self, name: &str, domain: &Domain) -> Vec<String> {
        let mut create = format!(
            "CREATE DOMAIN {} AS {}",
            self.q(name),
            render_type(&domain.data_type)
        );
        if let Some(collation) = &domain.collation {
            create.push_str(&format!(" COLLATE {}", render_collation(collation)));
        }
        if let Some(default) = &domain.default {
            create.push_str(&format!(" DEFAULT {default}"));
        }
        if domain.not_null {
            create.push_str(" NOT NULL");
        }
        let mut later = Vec::new();
        for (check_name, check) in &domain.checks {
            if check.not_valid {
                later.push(self.add_domain_check(name, check_name, check));
            } else {
                create.push_str(&format!(
                    " CONSTRAINT {} CHECK ({})",
                    quote_ident(check_name),
                    check.expression
                ));
            }
        }
        let mut out = vec![create];
        out.extend(later);
        out
    }

    /// `ALTER DOMAIN` statements that turn `from` into `to`.
    ///
    /// # Errors
    /// [`Error::Unsupported`](schema_sync_core::Error::Unsupported) when the base type
    /// or collation differs: the planner rebuilds such a domain instead.
    pub(super) fn alter_domain(
        &self,
        name: &str,
        from: &Domain,
        to: &Domain,
    ) -> Result<Vec<String>> {
        if from.data_type != to.data_type || from.collation != to.collation {
            return Err(self.unsupported(
                format!("domain {name}"),
                "ALTER DOMAIN cannot change the base type or collation; drop and create the domain",
            ));
        }
        let domain = self.q(name);
        let mut out = Vec::new();
        if from.default != to.default {
            out.push(match &to.default {
                Some(default) => format!("ALTER DOMAIN {domain} SET DEFAULT {default}"),
                None => format!("ALTER DOMAIN {domain} DROP DEFAULT"),
            });
        }
        // A check whose expression changes, or that the target wants NOT VALID while it
        // is valid here, is dropped and added again.
        let same = |old: &CheckConstraint, new: &CheckConstraint| {
            old.expression == new.expression && (old.not_valid || !new.not_valid)
        };
        for (check_name, old) in &from.checks {
            let changed = to.checks.get(check_name).is_none_or(|new| !same(old, new));
            if changed {
                out.push(format!(
                    "ALTER DOMAIN {domain} DROP CONSTRAINT {}",
                    quote_ident(check_name)
                ));
            }
        }
        if from.not_null != to.not_null {
            let verb = if to.not_null { "SET" } else { "DROP" };
            out.push(format!("ALTER DOMAIN {domain} {verb} NOT NULL"));
        }
        for (check_name, new) in &to.checks {
            match from.checks.get(check_name) {
                Some(old) if same(old, new) => {
                    if old.not_valid && !new.not_valid {
                        out.push(format!(
                            "ALTER DOMAIN {domain} VALIDATE CONSTRAINT {}",
                            quote_ident(check_name)
                        ));
                    }
                }
                _ => out.push(self.add_domain_check(name, check_name, new)),
            }
        }
        Ok(out)
    }

    fn add_domain_check(&self, domain: &str, name: &str, check: &CheckConstraint) -> String {
        format!(
            "ALTER DOMAIN {} ADD CONSTRAINT {} CHECK ({}){}",
            self.q(domain),
            quote_ident(name),
            check.expression,
            if check.not_valid { " NOT VALID" } else { "" }
        )
    }
}
