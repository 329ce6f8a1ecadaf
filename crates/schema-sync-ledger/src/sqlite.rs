//! The SQLite backend: one connection to the ledger's own file.
//!
//! rusqlite is blocking, so every call runs on tokio's blocking pool through
//! [`run_blocking`], holding the connection's mutex for the call. The file is opened in
//! WAL mode with `synchronous=FULL`: a committed tenant survives `kill -9` and a power
//! cut. Its directory is created when missing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql, TransactionBehavior, params_from_iter};
use schema_sync_core::{Result, run_blocking};

use crate::driver::{Driver, Row, Statement, Value, ledger_error, query_error};
use crate::migrate::{CREATE_VERSION_TABLE, CURRENT_VERSION, RECORD_VERSION, now_ms, pending};

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Int(n) => ToSqlOutput::Borrowed(ValueRef::Integer(*n)),
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

fn read_value(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Integer(n) => Value::Int(n),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8_lossy(bytes).into_owned()),
        // The ledger writes only text and integers.
        ValueRef::Null | ValueRef::Real(_) | ValueRef::Blob(_) => Value::Null,
    }
}

/// The ledger's SQLite database.
pub(crate) struct SqliteDriver {
    connection: Arc<Mutex<Connection>>,
    location: String,
}

impl SqliteDriver {
    /// Opens (creating) the ledger file at `path` and brings its tables to the newest
    /// version.
    pub(crate) async fn open(path: &Path) -> Result<Self> {
        let location = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                ledger_error(
                    &location,
                    format!(
                        "cannot create the directory {}: {e}; create it, or pass --ledger with a writable path (or --no-ledger)",
                        dir.display()
                    ),
                )
            })?;
        }
        let (file, at) = (PathBuf::from(path), location.clone());
        let connection = run_blocking(move || {
            let open = || -> rusqlite::Result<Connection> {
                let connection = Connection::open(&file)?;
                connection.busy_timeout(Duration::from_secs(30))?;
                connection.pragma_update(None, "journal_mode", "WAL")?;
                connection.pragma_update(None, "synchronous", "FULL")?;
                connection.pragma_update(None, "foreign_keys", "ON")?;
                Ok(connection)
            };
            open().map_err(|e| {
                let mut error = query_error(&at, e);
                if let schema_sync_core::Error::Ledger { message, .. } = &mut error {
                    *message = "cannot open the ledger file; check the path and its permissions, or pass --ledger with another path (or --no-ledger)".into();
                }
                error
            })
        })
        .await?;
        let driver = Self {
            connection: Arc::new(Mutex::new(connection)),
            location,
        };
        driver.migrate().await?;
        Ok(driver)
    }

    /// Runs `work` with the connection on the blocking pool.
    async fn with<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T> + Send + 'static,
    {
        let (connection, location) = (self.connection.clone(), self.location.clone());
        run_blocking(move || {
            let mut guard = match connection.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            work(&mut guard, &location)
        })
        .await
    }

    /// Creates or upgrades the tables under `BEGIN IMMEDIATE`.
    async fn migrate(&self) -> Result<()> {
        self.with(|connection, location| {
            let sql_error = |e: rusqlite::Error| query_error(location, e);
            let transaction = connection
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
            for (version, steps) in pending(current.unwrap_or(0), location)? {
                for step in steps {
                    transaction.execute(step, []).map_err(sql_error)?;
                }
                transaction
                    .execute(RECORD_VERSION, [version, now_ms()])
                    .map_err(sql_error)?;
            }
            transaction.commit().map_err(sql_error)
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
        self.with(move |connection, location| {
            let run = || -> rusqlite::Result<Vec<Row>> {
                let mut statement = connection.prepare_cached(sql)?;
                let columns = statement.column_count();
                let rows = statement.query_map(params_from_iter(params.iter()), |row| {
                    (0..columns)
                        .map(|i| row.get_ref(i).map(read_value))
                        .collect()
                })?;
                rows.collect()
            };
            run().map_err(|e| query_error(location, e))
        })
        .await
    }

    async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        self.with(move |connection, location| {
            let mut run = || -> rusqlite::Result<()> {
                let transaction =
                    connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                for (sql, params) in &statements {
                    transaction
                        .prepare_cached(sql)?
                        .execute(params_from_iter(params.iter()))?;
                }
                transaction.commit()
            };
            run().map_err(|e| query_error(location, e))
        })
        .await
    }
}
