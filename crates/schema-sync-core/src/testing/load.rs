//! What a concurrent writer saw while a sync ran: the online strategies' load tests
//! (PostgreSQL, MySQL/MariaDB) keep one writer going against the table being changed and
//! compare its longest stall across strategies.

use std::time::{Duration, Instant};

/// The statements a writer sent, the errors it got and its longest wait.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterReport {
    /// How many statements it sent.
    pub statements: usize,
    /// Each failed statement, with its error.
    pub errors: Vec<String>,
    /// The longest any one statement took.
    pub longest: Duration,
}

impl WriterReport {
    /// Panics, naming `label`, unless the writer saw no error and waited at most `limit`
    /// for any one statement: what an online sync must leave a writer.
    pub fn assert_undisturbed(&self, label: &str, limit: Duration) {
        assert!(
            self.errors.is_empty(),
            "{label} writer errors: {:?}",
            self.errors
        );
        assert!(
            self.longest <= limit,
            "{label}: the writer waited {} ms, more than {} ms",
            self.longest.as_millis(),
            limit.as_millis()
        );
    }

    /// Records `statement`, sent at `started`, and its outcome.
    pub fn record<E: std::fmt::Display>(
        &mut self,
        statement: &str,
        started: Instant,
        outcome: std::result::Result<(), E>,
    ) {
        self.longest = self.longest.max(started.elapsed());
        self.statements += 1;
        if let Err(e) = outcome {
            self.errors.push(format!("{statement}: {e}"));
        }
    }
}

/// Rows of the loaded `orders` table of [`POSTGRES_ORDERS_LIVE`].
pub const ORDERS_ROWS: i64 = 200_000;

/// A PostgreSQL schema with a loaded table: `parents` (ids 1 to 100) and `orders` with
/// [`ORDERS_ROWS`] rows, which a writer keeps busy ([`orders_statement`]).
pub const POSTGRES_ORDERS_LIVE: &str = "
CREATE TABLE parents (id int PRIMARY KEY);
INSERT INTO parents SELECT g FROM generate_series(1, 100) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, parent_id int, amount int, email text);
INSERT INTO orders (parent_id, amount, email)
  SELECT 1 + g % 100, 1 + g % 1000, 'u' || g || '@example.com' FROM generate_series(1, 200000) g;
ANALYZE orders";

/// The target of [`POSTGRES_ORDERS_LIVE`]: an index, a foreign key, a check and a
/// `NOT NULL` more on the loaded table, each a step that scans or builds under a lock when
/// run plainly.
pub const POSTGRES_ORDERS_TARGET: &str = "
CREATE TABLE parents (id int PRIMARY KEY);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  parent_id int CONSTRAINT orders_parent_fk REFERENCES parents (id),
  amount int CONSTRAINT orders_amount_positive CHECK (amount > 0),
  email text NOT NULL
);
CREATE INDEX orders_amount_idx ON orders (amount)";

/// The `n`th statement of a writer that keeps a loaded `orders (id, parent_id, amount,
/// email)` table of `rows` rows busy, parents numbered 1 to 100: an insert for even `n`,
/// an update of an existing row for odd `n`.
pub fn orders_statement(n: i64, rows: i64) -> String {
    if n % 2 == 0 {
        format!(
            "INSERT INTO orders (parent_id, amount, email) VALUES ({}, {}, 'w{n}@example.com')",
            1 + n % 100,
            1 + n % 1000
        )
    } else {
        format!(
            "UPDATE orders SET amount = amount + 1 WHERE id = {}",
            1 + (n * 7919) % rows
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_count_errors_and_the_longest_wait() {
        let mut report = WriterReport::default();
        let long_ago = Instant::now() - Duration::from_millis(50);
        report.record("INSERT 1", long_ago, Ok::<(), String>(()));
        report.record("INSERT 2", Instant::now(), Err("duplicate"));
        assert_eq!(report.statements, 2);
        assert_eq!(report.errors, ["INSERT 2: duplicate"]);
        assert!(report.longest >= Duration::from_millis(50));
    }
}
