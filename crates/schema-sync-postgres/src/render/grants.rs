//! `SetPrivileges`: the object ends with exactly the target's grants.
//!
//! Everything the roles involved hold on the object (and whatever `PUBLIC` holds, such
//! as a function's default `EXECUTE`) is revoked, then the target's privileges are
//! granted, grouped per role and grant option. Revoking and granting in one transaction
//! leaves no window, and the result does not depend on what the live side held beyond
//! the roles the diff names. The owner's own privileges are never touched.

use std::collections::{BTreeMap, BTreeSet};

use schema_sync_core::Result;
use schema_sync_core::snapshot::{Grant, PrivilegeTarget};

use super::{Renderer, split_signature};
use crate::sql::quote_ident;

/// A role as a `GRANT`/`REVOKE` names it.
fn role(grantee: &str) -> String {
    if grantee == "public" {
        "PUBLIC".to_string()
    } else {
        quote_ident(grantee)
    }
}

/// A privilege keyword, checked to be one (it comes from `aclexplode`, or a snapshot).
fn keyword(privilege: &str) -> Option<&str> {
    (!privilege.is_empty()
        && privilege
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b' '))
    .then_some(privilege)
}

impl Renderer<'_> {
    /// `ON TABLE "tenant"."t"`, `ON SEQUENCE ...`, `ON FUNCTION "tenant"."f"(args)`.
    fn privilege_object(&self, key: &str) -> Result<String> {
        let unsupported = || {
            self.unsupported(
                format!("privileges on {key}"),
                "the object key is not `table NAME`, `sequence NAME` or `function NAME(ARGS)`",
            )
        };
        Ok(match PrivilegeTarget::parse(key).ok_or_else(unsupported)? {
            PrivilegeTarget::Table(name) => format!("TABLE {}", self.q(&name)),
            PrivilegeTarget::Sequence(name) => format!("SEQUENCE {}", self.q(&name)),
            PrivilegeTarget::Function(signature) => {
                let (name, arguments) = split_signature(&signature).ok_or_else(unsupported)?;
                format!("FUNCTION {}({arguments})", self.q(&name))
            }
        })
    }

    /// Revokes what the roles of `from` and `to` (and `PUBLIC`) hold on `object`, then
    /// grants `to`.
    pub(super) fn set_privileges(
        &self,
        object: &str,
        from: &BTreeSet<Grant>,
        to: &BTreeSet<Grant>,
    ) -> Result<Vec<String>> {
        let on = self.privilege_object(object)?;
        let mut roles: BTreeSet<String> = from.iter().chain(to).map(|g| role(&g.grantee)).collect();
        roles.insert("PUBLIC".to_string());
        let mut out = vec![format!(
            "REVOKE ALL ON {on} FROM {}",
            roles.into_iter().collect::<Vec<_>>().join(", ")
        )];
        let mut grouped: BTreeMap<(String, bool), Vec<&str>> = BTreeMap::new();
        for grant in to {
            let privilege = keyword(&grant.privilege).ok_or_else(|| {
                self.unsupported(
                    format!("privileges on {object}"),
                    &format!("{:?} is not a privilege keyword", grant.privilege),
                )
            })?;
            grouped
                .entry((role(&grant.grantee), grant.grantable))
                .or_default()
                .push(privilege);
        }
        for ((grantee, grantable), privileges) in grouped {
            out.push(format!(
                "GRANT {} ON {on} TO {grantee}{}",
                privileges.join(", "),
                if grantable { " WITH GRANT OPTION" } else { "" }
            ));
        }
        Ok(out)
    }
}
