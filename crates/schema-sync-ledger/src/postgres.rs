//! The PostgreSQL backend: tables in a `schema_sync_ledger` schema, created on first use.
//!
//! One tokio-postgres connection, opened (TLS included) by
//! [`schema_sync_postgres::connect_client`]. Its `search_path` is the ledger's schema, so
//! the SQL of `store.rs` names the tables unqualified, as on SQLite. Every transaction
//! commits before the call returns: PostgreSQL's commit is durable.

use async_trait::async_trait;
use schema_sync_core::{BoxError, Result, redact_url};
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

use crate::driver::{Driver, Row, Statement, Value, query_error};
use crate::migrate::{CREATE_VERSION_TABLE, CURRENT_VERSION, RECORD_VERSION, now_ms, pending};

/// The schema that holds the ledger's tables.
pub const LEDGER_SCHEMA: &str = "schema_sync_ledger";

/// The advisory lock taken while migrating, so concurrent first opens do not race.
const MIGRATION_LOCK: i64 = 0x6c65_6467_6572_7373;

type Param = Box<dyn ToSql + Sync + Send>;

fn param(value: &Value, ty: &Type) -> std::result::Result<Param, String> {
    Ok(match (value, ty) {
        (Value::Null, &Type::INT8) => Box::new(None::<i64>),
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Text(text), _) => Box::new(text.clone()),
        (Value::Int(n), &Type::INT4) => Box::new(i32::try_from(*n).map_err(|e| e.to_string())?),
        (Value::Int(n), _) => Box::new(*n),
    })
}

fn read_row(row: &tokio_postgres::Row) -> std::result::Result<Row, tokio_postgres::Error> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match *column.type_() {
                Type::INT8 => row.try_get::<_, Option<i64>>(i)?.into(),
                _ => row.try_get::<_, Option<String>>(i)?.into(),
            })
        })
        .collect()
}

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// The ledger's PostgreSQL connection.
pub(crate) struct PostgresDriver {
    client: Mutex<Client>,
    location: String,
}

impl PostgresDriver {
    /// Connects to `url`, creates the ledger schema and tables if needed, and brings them
    /// to the newest version.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let location = redact_url(url);
        let mut client = schema_sync_postgres::connect_client(url, "schema-sync ledger").await?;
        let error = |e: tokio_postgres::Error| query_error(&location, e);
        let transaction = client.transaction().await.map_err(error)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(error)?;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{LEDGER_SCHEMA}\"; SET LOCAL search_path TO \"{LEDGER_SCHEMA}\"; {CREATE_VERSION_TABLE}"
            ))
            .await
            .map_err(error)?;
        let current: Option<i64> = transaction
            .query_one(CURRENT_VERSION, &[])
            .await
            .map_err(error)?
            .try_get(0)
            .map_err(error)?;
        for (version, steps) in pending(current.unwrap_or(0), &location)? {
            for step in steps {
                transaction.batch_execute(step).await.map_err(error)?;
            }
            transaction
                .execute(RECORD_VERSION, &[&version, &now_ms()])
                .await
                .map_err(error)?;
        }
        transaction.commit().await.map_err(error)?;
        client
            .batch_execute(&format!("SET search_path TO \"{LEDGER_SCHEMA}\""))
            .await
            .map_err(error)?;
        Ok(Self {
            client: Mutex::new(client),
            location,
        })
    }

    async fn prepare(
        client: &impl tokio_postgres::GenericClient,
        sql: &str,
        params: &[Value],
    ) -> std::result::Result<(tokio_postgres::Statement, Vec<Param>), BoxError> {
        let statement = client.prepare(sql).await?;
        let params = params
            .iter()
            .zip(statement.params())
            .map(|(value, ty)| param(value, ty))
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok((statement, params))
    }
}

#[async_trait]
impl Driver for PostgresDriver {
    fn location(&self) -> &str {
        &self.location
    }

    async fn query(&self, sql: &'static str, params: Vec<Value>) -> Result<Vec<Row>> {
        let client = self.client.lock().await;
        let (statement, params) = Self::prepare(&*client, sql, &params)
            .await
            .map_err(|e| query_error(&self.location, e))?;
        let rows = client
            .query(&statement, &refs(&params))
            .await
            .map_err(|e| query_error(&self.location, e))?;
        rows.iter()
            .map(read_row)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| query_error(&self.location, e))
    }

    async fn transaction(&self, statements: Vec<Statement>) -> Result<()> {
        let mut client = self.client.lock().await;
        let error = |e: BoxError| query_error(&self.location, e);
        let transaction = client.transaction().await.map_err(|e| error(e.into()))?;
        for (sql, params) in &statements {
            let (statement, params) = Self::prepare(&transaction, sql, params)
                .await
                .map_err(error)?;
            transaction
                .execute(&statement, &refs(&params))
                .await
                .map_err(|e| error(e.into()))?;
        }
        transaction.commit().await.map_err(|e| error(e.into()))
    }
}
