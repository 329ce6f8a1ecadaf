//! Chainable setters for the option structs.
//!
//! The option structs are `#[non_exhaustive]`, so adding an option never breaks a caller;
//! outside core they are built from `Default` and these setters:
//! `SyncOptions::default().with_execute(true).with_allow_destructive(true)`.

use std::time::Duration;

use crate::adapter::{ConnectOptions, ExecuteOptions};
use crate::engine::{FleetOptions, SyncOptions};
use crate::isolation::NamespaceGuard;

/// Generates `setter(self, value) -> Self` for each `setter => field: Type`.
macro_rules! setters {
    ($type:ty { $($setter:ident => $field:ident: $value:ty),* $(,)? }) => {
        impl $type {
            $(
                #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
                #[must_use]
                pub fn $setter(mut self, value: $value) -> Self {
                    self.$field = value;
                    self
                }
            )*
        }
    };
}

setters!(SyncOptions {
    with_execute => execute: bool,
    with_allow_destructive => allow_destructive: bool,
    with_verify => verify: bool,
    with_strict_column_order => strict_column_order: bool,
    with_keep_snapshots => keep_snapshots: bool,
    with_execute_options => execute_options: ExecuteOptions,
});

setters!(FleetOptions {
    with_sync => sync: SyncOptions,
    with_concurrency => concurrency: usize,
    with_batch_size => batch_size: usize,
    with_max_failures => max_failures: Option<usize>,
    with_refresh_cache => refresh_cache: bool,
});

setters!(ExecuteOptions {
    with_lock_timeout => lock_timeout: Duration,
    with_statement_timeout => statement_timeout: Option<Duration>,
    with_isolation => isolation: NamespaceGuard,
    with_lock_retries => lock_retries: u32,
    with_allow_copy => allow_copy: bool,
});

setters!(ConnectOptions {
    with_max_connections => max_connections: usize,
    with_read_only => read_only: bool,
    with_lock_timeout => lock_timeout: Option<Duration>,
    with_statement_timeout => statement_timeout: Option<Duration>,
    with_include_privileges => include_privileges: bool,
});
