//! The file conventions of each `--layout`: versions, paths, and how a migration that
//! must run outside a transaction is marked.
//!
//! - `plain` and `sqlx`: `<version>_<name>.up.sql` and `<version>_<name>.down.sql`, the
//!   version a 14-digit `YYYYMMDDHHMMSS` (an `i64`, as sqlx wants); a file that must run
//!   outside a transaction starts with `-- no-transaction`, which sqlx reads only on the
//!   first line.
//! - `refinery`: `V<n>__<name>.sql`, `n` counting from 1 (refinery's default versions
//!   are `i32`, too small for a timestamp); refinery has no down migrations, so they go
//!   to `down/V<n>__<name>.down.sql`, which its file pattern does not pick up. refinery
//!   runs every migration in a transaction and has no mark to opt out: such a
//!   migration is refused.
//! - `diesel`: `<YYYY-MM-DD-HHMMSS>_<name>/up.sql` and `down.sql`, with a
//!   `metadata.toml` saying `run_in_transaction = false` when either must run outside
//!   a transaction.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::cli::Layout;

/// The first line sqlx looks for to run a migration outside a transaction.
pub const NO_TRANSACTION: &str = "-- no-transaction";

/// One SQL file of a migration before its layout's marks: its text, and whether a
/// migration tool may run it in a transaction.
#[derive(Debug, Clone)]
pub struct Script {
    /// Header comments and statements.
    pub text: String,
    /// Whether the tool may wrap it in its transaction.
    pub transactional: bool,
}

/// A migration's files as its layout writes them.
#[derive(Debug, Clone)]
pub struct MigrationFiles {
    /// The up file, relative to the output directory.
    pub up: PathBuf,
    /// The down file, relative to the output directory, if one is written.
    pub down: Option<PathBuf>,
    /// Every file to write: a path relative to the output directory and its contents.
    pub contents: Vec<(PathBuf, String)>,
}

impl Layout {
    /// The layout's name, as `--layout` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Plain => "plain",
            Layout::Sqlx => "sqlx",
            Layout::Refinery => "refinery",
            Layout::Diesel => "diesel",
        }
    }

    /// Whether the layout can mark a migration that must run outside a transaction.
    pub fn marks_no_transaction(self) -> bool {
        !matches!(self, Layout::Refinery)
    }

    /// The version of the `ordinal`-th migration (from 0) of an export made at `base`:
    /// a timestamp `ordinal` seconds after `base`, or `ordinal + 1` for refinery.
    pub fn version(self, base: SystemTime, ordinal: usize) -> String {
        let at = base + Duration::from_secs(u64::try_from(ordinal).unwrap_or(u64::MAX));
        // `2026-12-01T21:30:00Z`
        let stamp = humantime::format_rfc3339_seconds(at).to_string();
        let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
        match self {
            Layout::Plain | Layout::Sqlx => digits,
            Layout::Refinery => (ordinal + 1).to_string(),
            Layout::Diesel => {
                let (date, time) = digits.split_at(digits.len().min(8));
                format!("{}-{}-{}-{time}", &date[..4], &date[4..6], &date[6..])
            }
        }
    }

    /// The files of migration `version` called `name`, with its `up` script and the
    /// `down` script when there is one.
    ///
    /// # Errors
    /// A message naming the migration when the layout cannot mark a script that must run
    /// outside a transaction (refinery).
    pub fn files(
        self,
        version: &str,
        name: &str,
        up: &Script,
        down: Option<&Script>,
    ) -> Result<MigrationFiles, String> {
        if !self.marks_no_transaction() {
            let outside = [Some(up), down]
                .into_iter()
                .flatten()
                .any(|s| !s.transactional);
            if outside {
                return Err(format!(
                    "migration V{version}__{name} must run outside a transaction, and refinery runs every migration in one; use --layout sqlx or diesel, or plan without --strategy online"
                ));
            }
        }
        let marked = |script: &Script| {
            if script.transactional || self == Layout::Diesel {
                script.text.clone()
            } else {
                format!("{NO_TRANSACTION}\n{}", script.text)
            }
        };
        let (up_path, down_path) = match self {
            Layout::Plain | Layout::Sqlx => (
                PathBuf::from(format!("{version}_{name}.up.sql")),
                PathBuf::from(format!("{version}_{name}.down.sql")),
            ),
            Layout::Refinery => (
                PathBuf::from(format!("V{version}__{name}.sql")),
                PathBuf::from("down").join(format!("V{version}__{name}.down.sql")),
            ),
            Layout::Diesel => {
                let dir = PathBuf::from(format!("{version}_{name}"));
                (dir.join("up.sql"), dir.join("down.sql"))
            }
        };
        let mut contents = vec![(up_path.clone(), marked(up))];
        if let Some(down) = down {
            contents.push((down_path.clone(), marked(down)));
        }
        if self == Layout::Diesel {
            let outside = !up.transactional || down.is_some_and(|d| !d.transactional);
            let dir = PathBuf::from(format!("{version}_{name}"));
            if outside {
                contents.push((
                    dir.join("metadata.toml"),
                    "run_in_transaction = false\n".to_string(),
                ));
            }
        }
        Ok(MigrationFiles {
            up: up_path,
            down: down.map(|_| down_path),
            contents,
        })
    }
}

/// When the export is made: `SOURCE_DATE_EPOCH` (seconds since 1970, the
/// reproducible-builds convention) when set and valid, else now.
pub fn export_time() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|seconds| SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .unwrap_or_else(SystemTime::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(text: &str, transactional: bool) -> Script {
        Script {
            text: text.to_string(),
            transactional,
        }
    }

    #[test]
    fn versions_follow_each_tool() {
        // 2026-12-01T21:30:00Z
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_160_600);
        assert_eq!(Layout::Sqlx.version(base, 0), "20261201213000");
        assert_eq!(Layout::Plain.version(base, 2), "20261201213002");
        assert_eq!(Layout::Diesel.version(base, 61), "2026-12-01-213101");
        assert_eq!(Layout::Refinery.version(base, 2), "3");
        let sqlx: i64 = Layout::Sqlx
            .version(base, 0)
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(sqlx > 0);
    }

    #[test]
    fn outside_transaction_is_marked_or_refused() {
        let up = script("CREATE INDEX CONCURRENTLY i ON t (c);\n", false);
        let down = script("DROP INDEX i;\n", true);
        let sqlx = Layout::Sqlx
            .files("1", "s", &up, Some(&down))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sqlx.contents[0].0, PathBuf::from("1_s.up.sql"));
        assert!(
            sqlx.contents[0]
                .1
                .starts_with("-- no-transaction\nCREATE INDEX")
        );
        assert_eq!(sqlx.contents[1].1, "DROP INDEX i;\n");
        let diesel = Layout::Diesel
            .files("2026-12-01-213000", "s", &up, Some(&down))
            .unwrap_or_else(|e| panic!("{e}"));
        let paths: Vec<_> = diesel.contents.iter().map(|(p, _)| p.clone()).collect();
        let dir = PathBuf::from("2026-12-01-213000_s");
        assert_eq!(
            paths,
            [
                dir.join("up.sql"),
                dir.join("down.sql"),
                dir.join("metadata.toml")
            ]
        );
        assert!(!diesel.contents[0].1.contains(NO_TRANSACTION));
        let refused = Layout::Refinery.files("1", "s", &up, Some(&down));
        assert!(refused.is_err_and(|e| e.contains("V1__s") && e.contains("--layout sqlx")));
        let refinery = Layout::Refinery
            .files("1", "s", &down, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(refinery.up, PathBuf::from("V1__s.sql"));
        assert!(refinery.down.is_none());
    }
}
