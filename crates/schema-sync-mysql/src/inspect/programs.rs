//! Stored functions, procedures, events and sequences folded into the snapshot.
//!
//! A routine or event is kept as a complete, tenant-relative `CREATE` statement built
//! from the catalog's columns (never from `SHOW CREATE`, which takes a query per object):
//!
//! - `DEFINER` is left out. The account that runs the sync becomes the definer of what it
//!   creates, so the definer is not compared.
//! - On MariaDB the statement starts with `SET STATEMENT sql_mode = '...' FOR` (and, for
//!   an event, its `time_zone`), so a copy runs under the same mode and fires at the same
//!   instants as the original whatever the session's settings. MySQL has no `SET
//!   STATEMENT`: there the mode and time zone of the session that syncs apply, and they
//!   are not compared.
//! - Parameter and return types are the catalog's (`int(11)`), textual ones with their
//!   character set and collation spelled out, so a copy reads back identical.
//! - A recurring event's `STARTS` is always written out: without it a copy would start
//!   when it was created and differ from the original.
//!
//! Functions are keyed by their bare name, procedures by `procedure <name>` (MySQL keeps
//! the two apart, so one of each may share a name). A routine's comment is kept beside
//! its definition and set with `ALTER FUNCTION ... COMMENT`; an event's comment is part of
//! its definition (an event is only ever dropped and created again).

use schema_sync_core::snapshot::{DataType, Event, Function, Sequence};

use super::Builder;
use crate::catalog::{EventRow, ParameterRow, RoutineRow, SequenceRow};
use crate::connect::Flavor;
use crate::sql::{quote_ident, quote_literal};

/// The prefix that marks a procedure's key in [`SchemaSnapshot::functions`].
///
/// [`SchemaSnapshot::functions`]: schema_sync_core::snapshot::SchemaSnapshot::functions
pub(crate) const PROCEDURE_PREFIX: &str = "procedure ";

/// The routine a `functions` key names: `(true, name)` for a procedure.
pub(crate) fn routine_of_key(key: &str) -> (bool, &str) {
    match key.strip_prefix(PROCEDURE_PREFIX) {
        Some(name) => (true, name),
        None => (false, key),
    }
}

/// Folds one routine, with its `parameters` in order, into the snapshot.
pub(super) fn add_routine(
    b: &mut Builder,
    flavor: Flavor,
    row: RoutineRow,
    parameters: &[ParameterRow],
) {
    let RoutineRow {
        name,
        kind,
        returns,
        returns_charset,
        returns_collation,
        language,
        body,
        deterministic,
        data_access,
        security,
        sql_mode,
        comment,
        ..
    } = row;
    let procedure = match kind.as_str() {
        "FUNCTION" => false,
        "PROCEDURE" => true,
        other => {
            b.unsupported(&other.to_ascii_lowercase(), name);
            return;
        }
    };
    if language != "SQL" {
        b.unsupported("external routine", name);
        return;
    }
    let params: Vec<String> = parameters
        .iter()
        .map(|p| {
            let mode = match (&p.mode, procedure) {
                (Some(mode), true) => format!("{mode} "),
                _ => String::new(),
            };
            format!(
                "{mode}{} {}",
                quote_ident(&p.name),
                spelled_type(&p.data_type, p.charset.as_deref(), p.collation.as_deref())
            )
        })
        .collect();
    let mut sql = statement_prefix(flavor, &sql_mode, None);
    sql.push_str(&format!(
        "CREATE {} {}({})",
        if procedure { "PROCEDURE" } else { "FUNCTION" },
        quote_ident(&name),
        params.join(", ")
    ));
    if let Some(returns) = returns.filter(|_| !procedure) {
        sql.push_str(&format!(
            " RETURNS {}",
            spelled_type(
                &returns,
                returns_charset.as_deref(),
                returns_collation.as_deref()
            )
        ));
    }
    sql.push_str(if deterministic {
        " DETERMINISTIC"
    } else {
        " NOT DETERMINISTIC"
    });
    sql.push_str(&format!(" {data_access} SQL SECURITY {security}\n"));
    sql.push_str(&b.relative(body.trim()));
    let key = if procedure {
        format!("{PROCEDURE_PREFIX}{name}")
    } else {
        name
    };
    b.snapshot.functions.insert(
        key,
        Function {
            definition: sql,
            comment,
        },
    );
}

/// Folds one event into the snapshot.
pub(super) fn add_event(b: &mut Builder, flavor: Flavor, row: EventRow) {
    let EventRow {
        name,
        time_zone,
        language,
        body,
        execute_at,
        interval_value,
        interval_field,
        starts,
        ends,
        status,
        on_completion,
        sql_mode,
        comment,
        ..
    } = row;
    if language != "SQL" {
        b.unsupported("external event", name);
        return;
    }
    let schedule = match (execute_at, interval_value, interval_field) {
        (Some(at), _, _) => format!("AT {}", quote_literal(&at)),
        (None, Some(value), Some(field)) => {
            let value = if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
                value
            } else {
                quote_literal(&value)
            };
            let mut schedule = format!("EVERY {value} {field}");
            if let Some(starts) = starts {
                schedule.push_str(&format!(" STARTS {}", quote_literal(&starts)));
            }
            if let Some(ends) = ends {
                schedule.push_str(&format!(" ENDS {}", quote_literal(&ends)));
            }
            schedule
        }
        _ => {
            b.unsupported("event schedule", name);
            return;
        }
    };
    let status = match status.as_str() {
        "ENABLED" => "ENABLE",
        "DISABLED" => "DISABLE",
        _ => "DISABLE ON SLAVE",
    };
    let mut sql = statement_prefix(flavor, &sql_mode, Some(&time_zone));
    sql.push_str(&format!(
        "CREATE EVENT {} ON SCHEDULE {schedule} ON COMPLETION {on_completion} {status}",
        quote_ident(&name)
    ));
    if let Some(comment) = comment {
        sql.push_str(&format!(" COMMENT {}", quote_literal(&comment)));
    }
    sql.push_str(&format!(" DO {}", b.relative(body.trim())));
    b.snapshot.events.insert(name, Event { definition: sql });
}

/// Folds one sequence's settings into the snapshot; its comment was read with the tables.
pub(super) fn add_sequence(b: &mut Builder, row: SequenceRow) {
    let comment = b.sequence_comments.remove(&row.name).flatten();
    b.snapshot.sequences.insert(
        row.name,
        Sequence {
            data_type: DataType::named("bigint"),
            start: row.start,
            increment: row.increment,
            min_value: row.min_value,
            max_value: row.max_value,
            cache: row.cache,
            cycle: row.cycle,
            owned_by: None,
            comment,
        },
    );
}

/// `SET STATEMENT sql_mode = '...'[, time_zone = '...'] FOR ` on MariaDB; nothing on
/// MySQL, which cannot set them for one statement.
fn statement_prefix(flavor: Flavor, sql_mode: &str, time_zone: Option<&str>) -> String {
    match flavor {
        Flavor::MySql => String::new(),
        Flavor::MariaDb => {
            let mut settings = vec![format!("sql_mode = {}", quote_literal(sql_mode))];
            if let Some(zone) = time_zone {
                settings.push(format!("time_zone = {}", quote_literal(zone)));
            }
            format!("SET STATEMENT {} FOR ", settings.join(", "))
        }
    }
}

/// A parameter or return type as the catalog spells it, with the character set and
/// collation of a textual type added unless the catalog already wrote them.
fn spelled_type(dtd: &str, charset: Option<&str>, collation: Option<&str>) -> String {
    let mut out = dtd.to_string();
    let lower = dtd.to_ascii_lowercase();
    if lower.contains(" charset ") || lower.contains("character set") || lower.contains("collate") {
        return out;
    }
    if let Some(charset) = charset {
        out.push_str(&format!(" CHARSET {charset}"));
    }
    if let Some(collation) = collation {
        out.push_str(&format!(" COLLATE {collation}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedure_keys_are_told_apart() {
        assert_eq!(routine_of_key("procedure add"), (true, "add"));
        assert_eq!(routine_of_key("total"), (false, "total"));
    }

    #[test]
    fn textual_types_spell_their_charset() {
        assert_eq!(
            spelled_type("varchar(10)", Some("utf8mb4"), Some("utf8mb4_bin")),
            "varchar(10) CHARSET utf8mb4 COLLATE utf8mb4_bin"
        );
        assert_eq!(spelled_type("int(11)", None, None), "int(11)");
        assert_eq!(
            spelled_type("varchar(5) CHARSET latin1", Some("latin1"), None),
            "varchar(5) CHARSET latin1"
        );
        assert_eq!(
            statement_prefix(Flavor::MariaDb, "ANSI", Some("SYSTEM")),
            "SET STATEMENT sql_mode = 'ANSI', time_zone = 'SYSTEM' FOR "
        );
        assert_eq!(statement_prefix(Flavor::MySql, "ANSI", None), "");
    }
}
