//! Stored programs and sequences: `ROUTINES` with their `PARAMETERS`, `EVENTS`, and the
//! settings of MariaDB sequences, read for a whole batch of databases per query.
//!
//! MariaDB 10.11 has no `information_schema.SEQUENCES`; a sequence is a one-row table
//! whose columns are its settings, so one `UNION ALL` of `SELECT`s reads every sequence
//! of the batch. The sequence names in that query come from `TABLES`, quoted.

use mysql_async::{Conn, Value};

use super::{QueryError, number, per_schema, query, text};
use crate::sql::quote_ident;

/// A row of `information_schema.ROUTINES`.
#[derive(Debug)]
pub(crate) struct RoutineRow {
    /// The database.
    pub schema: String,
    /// The routine name.
    pub name: String,
    /// `FUNCTION` or `PROCEDURE` (MariaDB also has `PACKAGE` and `PACKAGE BODY`).
    pub kind: String,
    /// `DTD_IDENTIFIER`: a function's return type, such as `int(11)`.
    pub returns: Option<String>,
    /// The character set of a textual return type.
    pub returns_charset: Option<String>,
    /// The collation of a textual return type.
    pub returns_collation: Option<String>,
    /// `ROUTINE_BODY`: `SQL` (MySQL 9 also has `EXTERNAL`).
    pub language: String,
    /// `ROUTINE_DEFINITION`: the body as written.
    pub body: String,
    /// `IS_DETERMINISTIC = 'YES'`.
    pub deterministic: bool,
    /// `SQL_DATA_ACCESS`: `CONTAINS SQL`, `NO SQL`, `READS SQL DATA`, `MODIFIES SQL DATA`.
    pub data_access: String,
    /// `SECURITY_TYPE`: `DEFINER` or `INVOKER`.
    pub security: String,
    /// The `sql_mode` the routine runs with.
    pub sql_mode: String,
    /// The comment, empty when none.
    pub comment: Option<String>,
}

/// A row of `information_schema.PARAMETERS`: one parameter of one routine, in order.
#[derive(Debug)]
pub(crate) struct ParameterRow {
    /// The database.
    pub schema: String,
    /// The routine.
    pub routine: String,
    /// `FUNCTION` or `PROCEDURE`.
    pub kind: String,
    /// `IN`, `OUT` or `INOUT`.
    pub mode: Option<String>,
    /// The parameter name.
    pub name: String,
    /// `DTD_IDENTIFIER`, such as `varchar(10)`.
    pub data_type: String,
    /// The character set of a textual parameter.
    pub charset: Option<String>,
    /// The collation of a textual parameter.
    pub collation: Option<String>,
}

/// A row of `information_schema.EVENTS`.
#[derive(Debug)]
pub(crate) struct EventRow {
    /// The database.
    pub schema: String,
    /// The event name.
    pub name: String,
    /// The time zone its schedule is read in (`SYSTEM`, `+02:00`).
    pub time_zone: String,
    /// `EVENT_BODY`: `SQL`.
    pub language: String,
    /// `EVENT_DEFINITION`: the body as written.
    pub body: String,
    /// `EXECUTE_AT` of a one-time event, as `YYYY-MM-DD hh:mm:ss`.
    pub execute_at: Option<String>,
    /// `INTERVAL_VALUE` of a recurring event (`1`, `'1:30'`).
    pub interval_value: Option<String>,
    /// `INTERVAL_FIELD` of a recurring event (`HOUR`, `HOUR_MINUTE`).
    pub interval_field: Option<String>,
    /// `STARTS` of a recurring event.
    pub starts: Option<String>,
    /// `ENDS` of a recurring event.
    pub ends: Option<String>,
    /// `ENABLED`, `DISABLED` or `SLAVESIDE_DISABLED`.
    pub status: String,
    /// `PRESERVE` or `NOT PRESERVE`.
    pub on_completion: String,
    /// The `sql_mode` the body runs with.
    pub sql_mode: String,
    /// The comment, empty when none.
    pub comment: Option<String>,
}

/// The settings of one MariaDB sequence.
#[derive(Debug)]
pub(crate) struct SequenceRow {
    /// The database.
    pub schema: String,
    /// The sequence name.
    pub name: String,
    /// `start_value`.
    pub start: i64,
    /// `minimum_value`.
    pub min_value: i64,
    /// `maximum_value`.
    pub max_value: i64,
    /// `increment`.
    pub increment: i64,
    /// `cache_size`.
    pub cache: i64,
    /// `cycle_option`.
    pub cycle: bool,
}

/// Reads the routines and their parameters of the databases `schemas`.
///
/// # Errors
/// The query that failed, with the driver's error.
pub(super) async fn read_routines(
    conn: &mut Conn,
    schemas: &[&str],
) -> Result<(Vec<RoutineRow>, Vec<ParameterRow>), QueryError> {
    let sql = "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, \
               CHARACTER_SET_NAME, COLLATION_NAME, ROUTINE_BODY, ROUTINE_DEFINITION, \
               IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE, SQL_MODE, ROUTINE_COMMENT \
               FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?";
    let mut routines = Vec::new();
    for mut row in per_schema(conn, "read routines", sql, schemas).await? {
        routines.push(RoutineRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            kind: text(&mut row, 2).unwrap_or_default(),
            returns: text(&mut row, 3),
            returns_charset: text(&mut row, 4),
            returns_collation: text(&mut row, 5),
            language: text(&mut row, 6).unwrap_or_default(),
            body: text(&mut row, 7).unwrap_or_default(),
            deterministic: text(&mut row, 8).as_deref() == Some("YES"),
            data_access: text(&mut row, 9).unwrap_or_default(),
            security: text(&mut row, 10).unwrap_or_default(),
            sql_mode: text(&mut row, 11).unwrap_or_default(),
            comment: text(&mut row, 12).filter(|c| !c.is_empty()),
        });
    }
    // No ORDER BY in a branch of the union: the parameters are put in order here.
    let sql = "SELECT SPECIFIC_SCHEMA, SPECIFIC_NAME, ROUTINE_TYPE, PARAMETER_MODE, \
               PARAMETER_NAME, DTD_IDENTIFIER, CHARACTER_SET_NAME, COLLATION_NAME, \
               ORDINAL_POSITION FROM information_schema.PARAMETERS \
               WHERE SPECIFIC_SCHEMA = ? AND ORDINAL_POSITION > 0";
    let mut parameters = Vec::new();
    for mut row in per_schema(conn, "read routine parameters", sql, schemas).await? {
        let position = text(&mut row, 8)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or_default();
        parameters.push((
            position,
            ParameterRow {
                schema: text(&mut row, 0).unwrap_or_default(),
                routine: text(&mut row, 1).unwrap_or_default(),
                kind: text(&mut row, 2).unwrap_or_default(),
                mode: text(&mut row, 3),
                name: text(&mut row, 4).unwrap_or_default(),
                data_type: text(&mut row, 5).unwrap_or_default(),
                charset: text(&mut row, 6),
                collation: text(&mut row, 7),
            },
        ));
    }
    parameters.sort_by(|(a_position, a), (b_position, b)| {
        (&a.schema, &a.kind, &a.routine, a_position)
            .cmp(&(&b.schema, &b.kind, &b.routine, b_position))
    });
    Ok((routines, parameters.into_iter().map(|(_, p)| p).collect()))
}

/// Reads the events of the databases `schemas`.
///
/// # Errors
/// The query that failed, with the driver's error.
pub(super) async fn read_events(
    conn: &mut Conn,
    schemas: &[&str],
) -> Result<Vec<EventRow>, QueryError> {
    let sql = "SELECT EVENT_SCHEMA, EVENT_NAME, TIME_ZONE, EVENT_BODY, EVENT_DEFINITION, \
               CAST(EXECUTE_AT AS CHAR), CAST(INTERVAL_VALUE AS CHAR), INTERVAL_FIELD, \
               CAST(STARTS AS CHAR), CAST(ENDS AS CHAR), STATUS, ON_COMPLETION, SQL_MODE, \
               EVENT_COMMENT FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?";
    let mut events = Vec::new();
    for mut row in per_schema(conn, "read events", sql, schemas).await? {
        events.push(EventRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            time_zone: text(&mut row, 2).unwrap_or_default(),
            language: text(&mut row, 3).unwrap_or_default(),
            body: text(&mut row, 4).unwrap_or_default(),
            execute_at: text(&mut row, 5),
            interval_value: text(&mut row, 6),
            interval_field: text(&mut row, 7),
            starts: text(&mut row, 8),
            ends: text(&mut row, 9),
            status: text(&mut row, 10).unwrap_or_default(),
            on_completion: text(&mut row, 11).unwrap_or_default(),
            sql_mode: text(&mut row, 12).unwrap_or_default(),
            comment: text(&mut row, 13).filter(|c| !c.is_empty()),
        });
    }
    Ok(events)
}

/// Reads the settings of `sequences` (database, name), all in one query.
///
/// # Errors
/// The query that failed, with the driver's error.
pub(super) async fn read_sequences(
    conn: &mut Conn,
    sequences: &[(String, String)],
) -> Result<Vec<SequenceRow>, QueryError> {
    if sequences.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sequences
        .iter()
        .map(|(schema, name)| {
            format!(
                "SELECT ?, ?, start_value, minimum_value, maximum_value, increment, cache_size, \
                 cycle_option FROM {}.{}",
                quote_ident(schema),
                quote_ident(name)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let params: Vec<Value> = sequences
        .iter()
        .flat_map(|(schema, name)| [Value::from(schema.as_str()), Value::from(name.as_str())])
        .collect();
    let signed = |row: &mut mysql_async::Row, index: usize| {
        text(row, index)
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for mut row in query(conn, "read sequences", &sql, params).await? {
        out.push(SequenceRow {
            schema: text(&mut row, 0).unwrap_or_default(),
            name: text(&mut row, 1).unwrap_or_default(),
            start: signed(&mut row, 2),
            min_value: signed(&mut row, 3),
            max_value: signed(&mut row, 4),
            increment: signed(&mut row, 5),
            cache: signed(&mut row, 6),
            cycle: number(&mut row, 7).unwrap_or(0) != 0,
        });
    }
    Ok(out)
}
