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
