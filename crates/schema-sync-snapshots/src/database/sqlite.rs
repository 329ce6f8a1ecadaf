//! The SQLite driver: one connection to the store's own database file.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool through
//! [`run_blocking`], holding the connection's mutex for the duration of the call. The file
//! is opened in WAL mode with `synchronous=FULL`, so a committed save survives a crash.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params_from_iter};
use schema_sync_core::{Error, Result};

use super::driver::{Dialect, Driver, Row, Statement, Value, query_error};
use super::migrate::{CREATE_VERSION_TABLE, CURRENT_VERSION, RECORD_VERSION, pending};
use crate::record::now_secs;
use schema_sync_core::run_blocking;

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn read_value(value: ValueRef<'_>) -> rusqlite::Result<Value> {
    match value {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(n) => Ok(Value::Int(n)),
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
            .map(Value::Text)
            .map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            }),
        other => Err(rusqlite::Error::InvalidColumnType(
            0,
            String::new(),
            other.data_type(),
        )),
    }
}

/// The store's SQLite database.
#[derive(Debug, Clone)]
pub(crate) struct SqliteDriver {
    connection: Arc<Mutex<Connection>>,
    location: String,
}

impl SqliteDriver {
    /// Opens (creating) the database file at `path`.
    pub(crate) async fn open(path: PathBuf) -> Result<Self> {
        let location = format!("sqlite://{}", path.display());
        let target = location.clone();
        let connection = run_blocking(move || {
            let open = || -> rusqlite::Result<Connection> {
                let connection = Connection::open(&path)?;
                connection.busy_timeout(Duration::from_secs(30))?;
                connection.pragma_update(None, "journal_mode", "WAL")?;
                connection.pragma_update(None, "synchronous", "FULL")?;
                connection.pragma_update(None, "foreign_keys", "ON")?;
                Ok(connection)
            };
            open().map_err(|e| Error::Connection {
                target,
                source: Box::new(e),
            })
        })
        .await?;
        Ok(Self {
            connection: Arc::new(Mutex::new(connection)),
            location,
        })
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let (connection, location) = (self.connection.clone(), self.location.clone());
        run_blocking(move || {
            let mut guard: MutexGuard<'_, Connection> = match connection.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            work(&mut guard).map_err(|e| query_error(&location, e))
        })
        .await
    }
}

#[async_trait]
impl Driver for SqliteDriver {
    fn location(&self) -> &str {
        &self.location
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        self.with(move |connection| {
            let mut statement = connection.prepare_cached(sql)?;
            let columns = statement.column_count();
            let rows = statement.query_map(params_from_iter(params.iter()), |row| {
                (0..columns).map(|i| read_value(row.get_ref(i)?)).collect()
            })?;
            rows.collect()
        })
        .await
    }

    async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        self.with(move |connection| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut affected = Vec::with_capacity(statements.len());
            for (sql, params) in &statements {
                let n = transaction
                    .prepare_cached(sql)?
                    .execute(params_from_iter(params.iter()))?;
                affected.push(n as u64);
            }
            transaction.commit()?;
            Ok(affected)
        })
        .await
    }

    async fn migrate(&self) -> Result<()> {
        let location = self.location.clone();
        let (connection, query_location) = (self.connection.clone(), self.location.clone());
        run_blocking(move || {
            let mut guard = match connection.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let sql_error = |e: rusqlite::Error| query_error(&query_location, e);
            let transaction = guard
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            transaction
                .execute(CREATE_VERSION_TABLE, [])
                .map_err(sql_error)?;
            let current: Option<i64> = transaction
                .query_row(CURRENT_VERSION, [], |row| row.get(0))
                .optional()
                .map_err(sql_error)?
                .flatten();
            for (version, steps) in pending(Dialect::Sqlite, current.unwrap_or(0), &location)? {
                for step in steps {
                    transaction.execute(step, []).map_err(sql_error)?;
                }
                let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
                transaction
                    .execute(RECORD_VERSION, [version, now])
                    .map_err(sql_error)?;
            }
            transaction.commit().map_err(sql_error)
        })
        .await
    }
}
