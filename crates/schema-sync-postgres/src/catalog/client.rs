//! How catalog queries reach the server: unnamed for a batch of tenants, prepared for a
//! tenant read alone.
//!
//! A batch of tenants sends each query as an unnamed statement, planned for the arrays it
//! carries (their sizes differ from batch to batch). A tenant read alone (the change
//! cookie and the inspections under a sync's lock) sends the same handful of queries
//! again and again, one tenant after another on the same pooled connection. There they
//! are prepared once per connection, in deadpool's statement cache, and run with generic
//! plans: the server parses and plans each query once per connection instead of once per
//! tenant. Measured in the server log on a catalog of 1,000 tenants, parsing and
//! planning (`parse` and `bind`) were 16 of the 32 ms the server spent on a drifted
//! tenant under its lock.
//!
//! A cached plan is planned again when `search_path` differs from the one it was planned
//! under, so catalog reads run with `search_path` set to `pg_catalog` alone (the reads set
//! it themselves), never with a tenant's.

use deadpool_postgres::{ClientWrapper, StatementCache};
use futures::TryStreamExt;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, RowStream};

use super::{PG_CATALOG_PATH, PgResult, READ_SETTINGS};

/// One query parameter, with the type it is sent as.
pub(crate) type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// A connection that catalog queries run on, and whether they are prepared there.
#[derive(Clone, Copy)]
pub(crate) struct CatalogClient<'a> {
    client: &'a Client,
    /// The connection's prepared statements; `None` sends unnamed statements.
    prepared: Option<&'a StatementCache>,
}

impl<'a> CatalogClient<'a> {
    /// Queries sent as unnamed statements, planned for each call: for batches of tenants.
    pub(crate) fn unprepared(client: &'a Client) -> Self {
        CatalogClient {
            client,
            prepared: None,
        }
    }

    /// Queries prepared once on this pooled connection and kept in its statement cache:
    /// for one tenant at a time, whose queries repeat with the same text.
    pub(crate) fn prepared(client: &'a ClientWrapper) -> Self {
        CatalogClient {
            client,
            prepared: Some(&client.statement_cache),
        }
    }

    /// The connection, for what is not a prepared query (`SET`, the simple protocol).
    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    /// Sets up the rest of the transaction for catalog reads: [`READ_SETTINGS`],
    /// [`PG_CATALOG_PATH`] and, for prepared queries, generic plans from the first
    /// execution on (PostgreSQL's default plans each of the first five executions anew,
    /// and then keeps planning anew any query whose generic plan it estimates dearer,
    /// which it does for the change cookie, whose generic plan runs faster).
    pub(crate) async fn apply_read_settings(&self) -> PgResult<()> {
        let generic = if self.prepared.is_some() {
            "; SET LOCAL plan_cache_mode = force_generic_plan"
        } else {
            ""
        };
        self.client
            .batch_execute(&format!("{READ_SETTINGS}; {PG_CATALOG_PATH}{generic}"))
            .await
    }

    /// Runs one query and returns its rows as they arrive.
    pub(crate) async fn query_raw(&self, sql: &str, params: &[Param<'_>]) -> PgResult<RowStream> {
        match self.prepared {
            None => {
                self.client
                    .query_typed_raw(sql, params.iter().map(|(value, ty)| (*value, ty.clone())))
                    .await
            }
            Some(cache) => {
                let types: Vec<Type> = params.iter().map(|(_, ty)| ty.clone()).collect();
                let statement = cache.prepare_typed(self.client, sql, &types).await?;
                self.client
                    .query_raw(&statement, params.iter().map(|(value, _)| *value))
                    .await
            }
        }
    }

    /// Runs one query and returns all its rows.
    pub(crate) async fn query(&self, sql: &str, params: &[Param<'_>]) -> PgResult<Vec<Row>> {
        self.query_raw(sql, params).await?.try_collect().await
    }
}

impl crate::PostgresAdapter {
    /// The statements the pool's next free connection has prepared, by the server's count
    /// (`pg_prepared_statements`). For tests that reads of one tenant prepare each query
    /// once per connection: with a pool of one connection, the count must not grow from
    /// one tenant to the next.
    ///
    /// # Errors
    /// A connection or catalog error.
    #[doc(hidden)]
    pub async fn prepared_statements(&self) -> schema_sync_core::Result<i64> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_prepared_statements",
                &[],
            )
            .await
            .map_err(|e| {
                crate::error::database(
                    None,
                    schema_sync_core::Phase::Inspect,
                    "counting prepared statements",
                    e,
                )
            })?;
        Ok(row.get(0))
    }
}
