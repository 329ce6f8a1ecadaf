//! The statements that give a view the plan drops and creates again its grants and owner
//! back, from what `catalog/privileges.rs` read inside the migration's transaction.

use crate::catalog::privileges::ViewPrivileges;
use crate::sql::quote_ident;

/// The statements that give a freshly created view (`qualified`, a `VIEW` or
/// `MATERIALIZED VIEW` per `kind`) back its grants and owner.
pub(crate) fn restore(kind: &str, qualified: &str, privileges: &ViewPrivileges) -> Vec<String> {
    let mut out: Vec<String> = privileges
        .grants
        .iter()
        // aclexplode spells privileges as keywords; anything else is not sent.
        .filter(|g| {
            g.privilege
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == ' ')
        })
        .map(|g| {
            let column = g
                .column
                .as_ref()
                .map(|c| format!(" ({})", quote_ident(c)))
                .unwrap_or_default();
            let grantee = g
                .grantee
                .as_ref()
                .map_or_else(|| "PUBLIC".to_string(), |r| quote_ident(r));
            format!(
                "GRANT {}{column} ON {qualified} TO {grantee}{}",
                g.privilege,
                if g.grantable {
                    " WITH GRANT OPTION"
                } else {
                    ""
                }
            )
        })
        .collect();
    if let Some(owner) = &privileges.owner {
        out.push(format!(
            "ALTER {kind} {qualified} OWNER TO {}",
            quote_ident(owner)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::privileges::Grant;

    #[test]
    fn restores_grants_then_the_owner() {
        let privileges = ViewPrivileges {
            owner: Some("app\"owner".into()),
            grants: vec![
                Grant {
                    privilege: "SELECT".into(),
                    grantee: None,
                    column: None,
                    grantable: false,
                },
                Grant {
                    privilege: "UPDATE".into(),
                    grantee: Some("clerk".into()),
                    column: Some("name".into()),
                    grantable: true,
                },
                Grant {
                    privilege: "SELECT; DROP".into(),
                    grantee: None,
                    column: None,
                    grantable: false,
                },
            ],
        };
        assert_eq!(
            restore("VIEW", "\"t\".\"v\"", &privileges),
            vec![
                "GRANT SELECT ON \"t\".\"v\" TO PUBLIC",
                "GRANT UPDATE (\"name\") ON \"t\".\"v\" TO \"clerk\" WITH GRANT OPTION",
                "ALTER VIEW \"t\".\"v\" OWNER TO \"app\"\"owner\"",
            ]
        );
    }
}
