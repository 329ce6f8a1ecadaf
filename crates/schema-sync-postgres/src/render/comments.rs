//! `COMMENT ON ... IS ...` for every object a comment hangs on.
//!
//! PostgreSQL keys a comment by the object's kind and identity: indexes and sequences
//! by their schema-qualified name, constraints, triggers and policies by their name on
//! their table, columns of tables and views alike with `COMMENT ON COLUMN`, routines by
//! their argument types. `IS NULL` removes a comment.

use schema_sync_core::Result;
use schema_sync_core::plan::CommentTarget;

use super::objects::view_kind;
use super::{Renderer, comment_literal, split_signature};
use crate::sql::quote_ident;

impl Renderer<'_> {
    /// `COMMENT ON <object> IS <literal>`, or `IS NULL` to remove the comment.
    ///
    /// # Errors
    /// [`schema_sync_core::Error::Unsupported`] for a function key that is not of the
    /// form `name(arguments)`.
    pub(super) fn set_comment(
        &self,
        object: &CommentTarget,
        comment: Option<&str>,
    ) -> Result<String> {
        let on = |kind: &str, name: &str, table: &str| {
            format!("{kind} {} ON {}", quote_ident(name), self.q(table))
        };
        let target = match object {
            CommentTarget::Table { name } => format!("TABLE {}", self.q(name)),
            CommentTarget::Column { table, column } => {
                format!("COLUMN {}.{}", self.q(table), quote_ident(column))
            }
            CommentTarget::View { name, materialized } => {
                format!("{} {}", view_kind(*materialized), self.q(name))
            }
            CommentTarget::ViewColumn { view, column } => {
                format!("COLUMN {}.{}", self.q(view), quote_ident(column))
            }
            // An index lives in the schema of its table or materialized view.
            CommentTarget::Index { name, .. } => format!("INDEX {}", self.q(name)),
            CommentTarget::Constraint { table, name } => on("CONSTRAINT", name, table),
            CommentTarget::Trigger { table, name } => on("TRIGGER", name, table),
            CommentTarget::Policy { table, name } => on("POLICY", name, table),
            CommentTarget::Function { signature } => {
                let (function, arguments) = split_signature(signature).ok_or_else(|| {
                    self.unsupported(
                        format!("function {signature}"),
                        "the function key is not of the form name(arguments); comment on it by hand",
                    )
                })?;
                // ROUTINE covers functions and procedures alike.
                format!("ROUTINE {}({arguments})", self.q(&function))
            }
            CommentTarget::Sequence { name } => format!("SEQUENCE {}", self.q(name)),
            CommentTarget::Type { name } => format!("TYPE {}", self.q(name)),
            CommentTarget::Domain { name } => format!("DOMAIN {}", self.q(name)),
        };
        Ok(format!(
            "COMMENT ON {target} IS {}",
            comment_literal(comment)
        ))
    }
}
