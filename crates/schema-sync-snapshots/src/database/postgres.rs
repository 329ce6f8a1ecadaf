//! The PostgreSQL driver: one tokio-postgres connection.
//!
//! The connection, TLS included, is opened by [`schema_sync_postgres::connect_client`].
//! Parameters are bound with the Rust type matching the type PostgreSQL inferred for them.

use async_trait::async_trait;
use schema_sync_core::{BoxError, Result, redact_url};
use tokio::sync::Mutex;
use tokio_postgres::Client;
use tokio_postgres::types::{ToSql, Type};

use super::driver::{Dialect, Driver, Row, Statement, Value, query_error};
use super::migrate::{CREATE_VERSION_TABLE, CURRENT_VERSION, RECORD_VERSION, pending};
use crate::record::now_secs;

/// The advisory lock taken while migrating, so concurrent first opens do not race.
const MIGRATION_LOCK: i64 = 0x7363_6865_6d61_7379;

/// The store's PostgreSQL connection.
#[derive(Debug)]
pub(crate) struct PostgresDriver {
    client: Mutex<Client>,
    location: String,
}

type Param = Box<dyn ToSql + Sync + Send>;

/// Converts `value` to the Rust type tokio-postgres expects for `ty`.
fn param(value: &Value, ty: &Type) -> std::result::Result<Param, String> {
    Ok(match (value, ty) {
        (Value::Null, _) => Box::new(None::<String>),
        (Value::Text(text), _) => Box::new(text.clone()),
        (Value::Int(n), &Type::INT2) => Box::new(i16::try_from(*n).map_err(|e| e.to_string())?),
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
                Type::INT2 => row
                    .try_get::<_, Option<i16>>(i)?
                    .map(i64::from)
                    .map_or(Value::Null, Value::Int),
                Type::INT4 => row
                    .try_get::<_, Option<i32>>(i)?
                    .map(i64::from)
                    .map_or(Value::Null, Value::Int),
                Type::INT8 => row
                    .try_get::<_, Option<i64>>(i)?
                    .map_or(Value::Null, Value::Int),
                _ => row
                    .try_get::<_, Option<String>>(i)?
                    .map_or(Value::Null, Value::Text),
            })
        })
        .collect()
}

impl PostgresDriver {
    /// Connects to `url`, TLS following `sslmode` and `sslrootcert` as the PostgreSQL
    /// adapter does.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let client = schema_sync_postgres::connect_client(url, "schema-sync snapshots").await?;
        Ok(Self {
            client: Mutex::new(client),
            location: redact_url(url),
        })
    }

    /// Prepares `sql` and converts `params` to the types PostgreSQL inferred.
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

fn refs(params: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
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

    async fn transaction(&self, statements: Vec<Statement>) -> Result<Vec<u64>> {
        let mut client = self.client.lock().await;
        let error = |e: BoxError| query_error(&self.location, e);
        let transaction = client.transaction().await.map_err(|e| error(e.into()))?;
        let mut affected = Vec::with_capacity(statements.len());
        for (sql, params) in &statements {
            let (statement, params) = Self::prepare(&transaction, sql, params)
                .await
                .map_err(error)?;
            affected.push(
                transaction
                    .execute(&statement, &refs(&params))
                    .await
                    .map_err(|e| error(e.into()))?,
            );
        }
        transaction.commit().await.map_err(|e| error(e.into()))?;
        Ok(affected)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.client.lock().await;
        let error = |e: tokio_postgres::Error| query_error(&self.location, e);
        let transaction = client.transaction().await.map_err(error)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(error)?;
        transaction
            .batch_execute(CREATE_VERSION_TABLE)
            .await
            .map_err(error)?;
        let current: Option<i32> = transaction
            .query_one(CURRENT_VERSION, &[])
            .await
            .map_err(error)?
            .try_get(0)
            .map_err(error)?;
        for (version, steps) in pending(
            Dialect::Postgres,
            current.map_or(0, i64::from),
            &self.location,
        )? {
            for step in steps {
                transaction.batch_execute(step).await.map_err(error)?;
            }
            let version = i32::try_from(version).unwrap_or(i32::MAX);
            let now = i64::try_from(now_secs()).unwrap_or(i64::MAX);
            transaction
                .execute(RECORD_VERSION, &[&version, &now])
                .await
                .map_err(error)?;
        }
        transaction.commit().await.map_err(error)
    }
}

#[cfg(test)]
mod tests {
    use schema_sync_core::Error;

    use super::*;

    /// The store connects through the adapter's connection module: it knows
    /// `sslrootcert` (which tokio-postgres alone rejects) and checks the file before
    /// connecting.
    #[tokio::test]
    async fn tls_settings_are_the_adapters() {
        let url = "postgres://u:secret@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem";
        let err = PostgresDriver::connect(url).await.err();
        assert!(
            matches!(&err, Some(Error::Config { message })
                if message.contains("cannot read sslrootcert /nonexistent/ca.pem")
                    && !message.contains("secret")),
            "{err:?}"
        );
    }
}
