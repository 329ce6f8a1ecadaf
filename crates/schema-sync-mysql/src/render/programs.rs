//! Statements for routines, events and sequences: objects that stand outside any table.
//!
//! Routines and events are created from the definition the inspector built (see
//! `inspect/programs.rs`), text the server itself produced; a changed one is dropped and
//! created again by the plan. Sequences exist on MariaDB only and are written from their
//! settings; their comment, like a routine's, is set by its own step.

use schema_sync_core::Result;
use schema_sync_core::plan::CommentTarget;
use schema_sync_core::snapshot::Sequence;

use super::unsupported;
use crate::connect::Flavor;
use crate::inspect::routine_of_key;
use crate::sql::{quote_ident, quote_literal};

/// `DROP FUNCTION` or `DROP PROCEDURE` for a `functions` key.
pub(super) fn drop_routine(key: &str) -> String {
    let (procedure, name) = routine_of_key(key);
    format!(
        "DROP {} IF EXISTS {}",
        routine_kind(procedure),
        quote_ident(name)
    )
}

/// `DROP EVENT`.
pub(super) fn drop_event(name: &str) -> String {
    format!("DROP EVENT IF EXISTS {}", quote_ident(name))
}

/// The statement that sets the comment of a routine or sequence.
///
/// # Errors
/// [`Error::Unsupported`](schema_sync_core::Error::Unsupported) for other objects: MySQL
/// keeps their comments in their own definitions, which the plan restates instead.
pub(super) fn set_comment(object: &CommentTarget, comment: Option<&str>) -> Result<String> {
    let literal = quote_literal(comment.unwrap_or_default());
    match object {
        CommentTarget::Function { signature } => {
            let (procedure, name) = routine_of_key(signature);
            Ok(format!(
                "ALTER {} {} COMMENT {literal}",
                routine_kind(procedure),
                quote_ident(name)
            ))
        }
        // A MariaDB sequence is a table: its comment is the table's.
        CommentTarget::Sequence { name } => Ok(format!(
            "ALTER TABLE {} COMMENT = {literal}",
            quote_ident(name)
        )),
        other => Err(unsupported(
            other.to_string(),
            "MySQL has no separate comment for this object; its comment is part of its definition",
        )),
    }
}

/// `CREATE SEQUENCE` (MariaDB).
///
/// # Errors
/// [`Error::Unsupported`](schema_sync_core::Error::Unsupported) on MySQL, which has no
/// sequences, and for what MariaDB's sequences cannot be (another value type, owned by a
/// column).
pub(super) fn create_sequence(flavor: Flavor, name: &str, sequence: &Sequence) -> Result<String> {
    check_sequence(flavor, name, sequence)?;
    Ok(format!(
        "CREATE SEQUENCE {} {}",
        quote_ident(name),
        sequence_settings(sequence)
    ))
}

/// `ALTER SEQUENCE` to the settings of `to`; the current value is data and stays.
///
/// # Errors
/// As [`create_sequence`].
pub(super) fn alter_sequence(flavor: Flavor, name: &str, to: &Sequence) -> Result<String> {
    check_sequence(flavor, name, to)?;
    Ok(format!(
        "ALTER SEQUENCE {} {}",
        quote_ident(name),
        sequence_settings(to)
    ))
}

/// `DROP SEQUENCE`.
///
/// # Errors
/// [`Error::Unsupported`](schema_sync_core::Error::Unsupported) on MySQL.
pub(super) fn drop_sequence(flavor: Flavor, name: &str) -> Result<String> {
    no_sequences_on_mysql(flavor, name)?;
    Ok(format!("DROP SEQUENCE {}", quote_ident(name)))
}

fn routine_kind(procedure: bool) -> &'static str {
    if procedure { "PROCEDURE" } else { "FUNCTION" }
}

fn no_sequences_on_mysql(flavor: Flavor, name: &str) -> Result<()> {
    match flavor {
        Flavor::MariaDb => Ok(()),
        Flavor::MySql => Err(unsupported(
            format!("sequence {name}"),
            "MySQL has no sequences (MariaDB has); use AUTO_INCREMENT",
        )),
    }
}

fn check_sequence(flavor: Flavor, name: &str, sequence: &Sequence) -> Result<()> {
    no_sequences_on_mysql(flavor, name)?;
    let object = format!("sequence {name}");
    let bigint = sequence.data_type.name == "bigint"
        && sequence.data_type.schema.is_none()
        && sequence.data_type.length.is_none();
    if !bigint {
        return Err(unsupported(
            object,
            format!(
                "MariaDB sequences are bigint, not {}; change the target",
                sequence.data_type.name
            ),
        ));
    }
    if let Some(owner) = &sequence.owned_by {
        return Err(unsupported(
            object,
            format!(
                "MariaDB sequences cannot be owned by a column ({owner}); remove OWNED BY from the target"
            ),
        ));
    }
    Ok(())
}

/// `START WITH ... MINVALUE ... MAXVALUE ... INCREMENT BY ... CACHE ... [NO]CYCLE`.
fn sequence_settings(s: &Sequence) -> String {
    format!(
        "START WITH {} MINVALUE {} MAXVALUE {} INCREMENT BY {} CACHE {} {}",
        s.start,
        s.min_value,
        s.max_value,
        s.increment,
        s.cache,
        if s.cycle { "CYCLE" } else { "NOCYCLE" }
    )
}
