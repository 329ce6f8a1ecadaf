//! Domains: the base type normalised like a column's type (tenant types unqualified),
//! nullability, a collation other than the base type's, the default and the checks as
//! PostgreSQL prints them with `search_path` pinned to the tenant.

use schema_sync_core::snapshot::{CheckConstraint, Domain};

use super::Assembler;
use crate::catalog::DomainRow;

impl Assembler<'_> {
    /// Adds the tenant's domains with their checks.
    pub(super) fn add_domains(&mut self) {
        let (objects, ns) = (self.objects, self.namespace);
        for d in objects.domains.iter().filter(|d| d.namespace == ns) {
            let domain = self.domain(d);
            self.snapshot.domains.insert(d.name.clone(), domain);
        }
    }

    fn domain(&mut self, d: &DomainRow) -> Domain {
        let (data_type, collation) = self.data_type(&d.ty, &format!("domain {}", d.name));
        let checks = self
            .objects
            .domain_checks
            .iter()
            .filter(|c| c.domain == d.oid)
            .map(|c| {
                let check = CheckConstraint {
                    expression: self.text('C', c.oid, 0).unwrap_or_default(),
                    not_valid: !c.validated,
                    comment: None,
                };
                (c.name.clone(), check)
            })
            .collect();
        Domain {
            data_type,
            not_null: d.not_null,
            default: self.text('D', d.oid, 0),
            collation,
            checks,
            comment: d.comment.clone(),
        }
    }
}
