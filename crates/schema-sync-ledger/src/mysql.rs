//! The MySQL/MariaDB backend: InnoDB tables in the database the URL names
//! (`schema_sync_ledger` when it names none), created on first use.
//!
//! One connection, opened by [`schema_sync_mysql::connect_conn`], in a strict session
//! (`STRICT_ALL_TABLES`: a value too long for its column is an error, never truncated)
//! whose default database is the ledger's, so the SQL of `store.rs` names the tables
//! unqualified, as on the other backends. That SQL numbers its parameters `$1`, `$2`, …;
//! MySQL takes positional `?`, so [`positional`] rewrites each statement and repeats a
//! value used twice. Every write is one transaction, committed before the call returns
//! (InnoDB's commit is durable under its default `innodb_flush_log_at_trx_commit=1`).
//!
//! MySQL commits each DDL statement on its own, so migrating is not one transaction as
//! on PostgreSQL: a named lock (`GET_LOCK`) keeps two processes opening a new ledger from
//! racing, and each version's row is written after its steps. A process killed between a
//! step and its version row leaves that step applied; the next open runs the version
//! again and takes a step whose object already exists as applied.

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params, TxOpts};
use schema_sync_core::{BoxError, Result, redact_url};
use schema_sync_mysql::{LEDGER_DATABASE, connect_conn, parse_url, quote_ident};
use tokio::sync::Mutex;

use crate::driver::{Dialect, Driver, Row, Statement, Value, ledger_error, query_error};
use crate::migrate::{
    CURRENT_VERSION, MYSQL_CREATE_VERSION_TABLE, MYSQL_MIGRATIONS, RECORD_VERSION, now_ms,
    pending_in,
};

/// The named lock held while migrating; `GET_LOCK` names are server-wide.
const MIGRATION_LOCK: &str = "schema_sync_ledger.migrate";

/// How long an open waits for another process's migration, in seconds.
const MIGRATION_LOCK_WAIT_S: i64 = 60;

/// The session: strict, so nothing is truncated or coerced silently, and no engine
/// swapped for InnoDB.
const SESSION_SQL_MODE: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE'";

/// Whether the database exists (`CREATE DATABASE` needs a privilege that a user granted
/// only the ledger's database lacks, so it runs only when needed).
const DATABASE_EXISTS: &str =
    "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";

/// Server errors that say a migration step's object exists already: table (1050),
/// column (1060), index (1061).
const ALREADY_APPLIED: [u16; 3] = [1050, 1060, 1061];

/// Rewrites `$N` parameters into MySQL's `?`, returning the SQL and, for each `?` in
/// order, the index of the value it takes. Quoted text and identifiers are left alone.
fn positional(sql: &str) -> std::result::Result<(String, Vec<usize>), String> {
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(open) if c == open => quote = None,
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => {
                let mut digits = String::new();
                while let Some(d) = chars.next_if(char::is_ascii_digit) {
                    digits.push(d);
                }
                let n: usize = digits
                    .parse()
                    .map_err(|e| format!("parameter ${digits}: {e}"))?;
                let index = n
                    .checked_sub(1)
                    .ok_or_else(|| "parameter $0: parameters are numbered from $1".to_string())?;
                order.push(index);
                out.push('?');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    Ok((out, order))
}

/// `sql` and `params` as MySQL takes them.
fn prepare(sql: &str, params: &[Value]) -> std::result::Result<(String, Params), BoxError> {
    let (sql, order) = positional(sql)?;
    let values = order
        .into_iter()
        .map(|i| {
            params.get(i).map(to_mysql).ok_or_else(|| {
                format!(
                    "the statement uses parameter ${} but {} were given",
                    i + 1,
                    params.len()
                )
            })
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let params = if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values)
    };
    Ok((sql, params))
}

fn to_mysql(value: &Value) -> mysql_async::Value {
    match value {
        Value::Text(text) => mysql_async::Value::Bytes(text.as_bytes().to_vec()),
        Value::Int(n) => mysql_async::Value::Int(*n),
        Value::Null => mysql_async::Value::NULL,
    }
}

fn from_mysql(value: mysql_async::Value) -> std::result::Result<Value, BoxError> {
    Ok(match value {
        mysql_async::Value::NULL => Value::Null,
        mysql_async::Value::Int(n) => Value::Int(n),
        mysql_async::Value::UInt(n) => Value::Int(i64::try_from(n)?),
        mysql_async::Value::Bytes(bytes) => Value::Text(String::from_utf8(bytes)?),
        // The ledger writes only text and integers.
        other => return Err(format!("unexpected value {other:?}").into()),
    })
}

/// The ledger's MySQL/MariaDB connection.
pub(crate) struct MysqlDriver {
    conn: Mutex<Conn>,
    location: String,
}

impl MysqlDriver {
    /// Connects to `url`, creates the ledger's database and tables if needed, and brings
    /// them to the newest version.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let location = redact_url(url);
        let opts = parse_url(url)?;
        let database = opts
            .db_name()
            .filter(|name| !name.is_empty())
            .unwrap_or(LEDGER_DATABASE)
            .to_string();
        // The database may not exist yet: connect without one, then create and use it.
        let opts = OptsBuilder::from_opts(opts)
            .db_name(None::<String>)
            .init(vec![SESSION_SQL_MODE]);
        let mut conn = connect_conn(opts.into(), &location).await?;
        let error = |e: mysql_async::Error| query_error(&location, e);
        let locked: Option<Option<i64>> = conn
            .exec_first(
                "SELECT GET_LOCK(?, ?)",
                (MIGRATION_LOCK, MIGRATION_LOCK_WAIT_S),
            )
            .await
            .map_err(error)?;
        if locked.flatten() != Some(1) {
            return Err(ledger_error(
                &location,
                format!(
                    "another process held the lock {MIGRATION_LOCK:?} for {MIGRATION_LOCK_WAIT_S}s while migrating the ledger; retry when it is done"
                ),
            ));
        }
        let migrated = Self::migrate(&mut conn, &database, &location).await;
        let released = conn
            .exec_drop("DO RELEASE_LOCK(?)", (MIGRATION_LOCK,))
            .await
            .map_err(error);
        migrated.and(released)?;
        Ok(Self {
            conn: Mutex::new(conn),
            location,
        })
    }

    /// Creates `database` if missing, makes it the session's default, and applies the
    /// missing versions, each step committed on its own.
    async fn migrate(conn: &mut Conn, database: &str, location: &str) -> Result<()> {
        let error = |e: mysql_async::Error| query_error(location, e);
        let exists: Option<i64> = conn
            .exec_first(DATABASE_EXISTS, (database,))
            .await
            .map_err(error)?;
        if exists != Some(1) {
            conn.query_drop(format!(
                "CREATE DATABASE IF NOT EXISTS {} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                quote_ident(database)
            ))
            .await
            .map_err(error)?;
        }
        conn.query_drop(format!("USE {}", quote_ident(database)))
            .await
            .map_err(error)?;
        conn.query_drop(MYSQL_CREATE_VERSION_TABLE)
            .await
            .map_err(error)?;
        let current: Option<Option<i64>> =
            conn.exec_first(CURRENT_VERSION, ()).await.map_err(error)?;
        for (version, steps) in
            pending_in(MYSQL_MIGRATIONS, current.flatten().unwrap_or(0), location)?
        {
            for step in steps {
                match conn.query_drop(*step).await {
                    Err(mysql_async::Error::Server(e)) if ALREADY_APPLIED.contains(&e.code) => {}
                    other => other.map_err(error)?,
                }
            }
            let (sql, params) =
                prepare(RECORD_VERSION, &[Value::Int(version), Value::Int(now_ms())])
                    .map_err(|e| query_error(location, e))?;
            conn.exec_drop(sql, params).await.map_err(error)?;
        }
        Ok(())
    }

    async fn execute(
        conn: &mut impl Queryable,
        sql: &str,
        params: &[Value],
    ) -> std::result::Result<(), BoxError> {
        let (sql, params) = prepare(sql, params)?;
        conn.exec_drop(sql, params).await?;
        Ok(())
    }
}

#[async_trait]
impl Driver for MysqlDriver {
    const DIALECT: Dialect = Dialect::MySql;

    fn location(&self) -> &str {
        &self.location
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        let mut conn = self.conn.lock().await;
        let error = |e: BoxError| query_error(&self.location, e);
        let (sql, params) = prepare(sql, &params).map_err(error)?;
        let rows: Vec<mysql_async::Row> =
            conn.exec(sql, params).await.map_err(|e| error(e.into()))?;
        rows.into_iter()
            // `Row::unwrap` hands over the row's values (none was taken), it cannot fail.
            .map(|row| row.unwrap().into_iter().map(from_mysql).collect())
            .collect::<std::result::Result<_, _>>()
            .map_err(error)
    }

    async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        let mut conn = self.conn.lock().await;
        let error = |e: BoxError| query_error(&self.location, e);
        let mut transaction = conn
            .start_transaction(TxOpts::default())
            .await
            .map_err(|e| error(e.into()))?;
        for (sql, params) in &statements {
            if let Err(e) = Self::execute(&mut transaction, sql, params).await {
                // The rollback's own failure would hide the cause; the server rolls back
                // a transaction whose connection is gone.
                let _ = transaction.rollback().await;
                return Err(error(e));
            }
        }
        transaction.commit().await.map_err(|e| error(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_positional() {
        let (sql, order) = positional(
            "UPDATE t SET s = CASE WHEN $1 = 'a$1' THEN `b$2` ELSE $1 END, e = $3 WHERE id = $2",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sql,
            "UPDATE t SET s = CASE WHEN ? = 'a$1' THEN `b$2` ELSE ? END, e = ? WHERE id = ?"
        );
        assert_eq!(order, [0, 0, 2, 1]);
        assert!(positional("SELECT $0").is_err());
        let (_, params) = prepare(
            "SELECT $2, $1, $2",
            &[Value::Int(7), Value::Text("x".into())],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            params,
            Params::Positional(vec![
                mysql_async::Value::Bytes(b"x".to_vec()),
                mysql_async::Value::Int(7),
                mysql_async::Value::Bytes(b"x".to_vec()),
            ])
        );
        assert!(prepare("SELECT $3", &[Value::Null]).is_err());
    }
}
