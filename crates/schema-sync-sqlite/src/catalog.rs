//! What SQLite's catalog says: `sqlite_schema`, the pragmas, and the DDL it stores.

pub(crate) mod ddl;
pub(crate) mod tokens;
