//! Plans rendered for a migration file that many tenants share (`plan --layout`).
//!
//! Tenants whose live schemas hash the same share one plan; exported as versioned
//! migrations, they share one file too. Such a file cannot name a tenant's namespace:
//! it runs on a session whose default namespace is the tenant's (PostgreSQL's
//! `search_path`, MySQL's default database, the SQLite file itself), the way sqlx,
//! refinery and diesel run migrations on a connection to one database.

/// One unit of a shared migration script: statements that a migration tool runs as one
/// migration, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptPart {
    /// Whether a migration tool may wrap the statements in its own transaction.
    /// `false` for a statement PostgreSQL refuses in a transaction block (`CREATE INDEX
    /// CONCURRENTLY`, one statement per part), and for a script that manages its own
    /// transaction (SQLite sets `PRAGMA foreign_keys = OFF` before its `BEGIN`, so that a
    /// table rebuild never cascades).
    pub transactional: bool,
    /// The indexes of the plan's steps the part carries out, ascending: a migration
    /// tool reverts one part at a time, so its down migration is computed from them.
    pub steps: Vec<usize>,
    /// The SQL statements, every identifier quoted, none naming a namespace of a tenant.
    pub statements: Vec<String>,
}

impl ScriptPart {
    /// A part carrying out `steps` that a migration tool may run inside its transaction.
    pub fn transactional(steps: Vec<usize>, statements: Vec<String>) -> Self {
        Self {
            transactional: true,
            steps,
            statements,
        }
    }

    /// A part carrying out `steps` that must run outside any transaction.
    pub fn standalone(steps: Vec<usize>, statements: Vec<String>) -> Self {
        Self {
            transactional: false,
            steps,
            statements,
        }
    }

    /// One part carrying out every step of a plan of `steps` steps.
    pub fn whole(steps: usize, transactional: bool, statements: Vec<String>) -> Self {
        Self {
            transactional,
            steps: (0..steps).collect(),
            statements,
        }
    }
}
