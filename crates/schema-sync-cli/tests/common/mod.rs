//! Helpers of the tests against the real servers: which server to use (or why the test
//! is skipped), and unique names.
#![allow(dead_code)]

use std::io::Write as _;

/// A PostgreSQL tenant schema: an enum, an identity and a serial column, a foreign key,
/// an expression index and a view.
pub const PG_SCHEMA: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE TABLE accounts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, mood mood);
CREATE TABLE posts (id serial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE, title varchar(200) NOT NULL);
CREATE INDEX posts_title ON posts (lower(title));
CREATE VIEW post_titles AS SELECT title FROM posts;
";
/// The MariaDB counterpart of [`PG_SCHEMA`].
pub const MYSQL_SCHEMA: &str = "
CREATE TABLE accounts (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, mood ENUM('happy','sad'));
CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, account_id BIGINT UNSIGNED NOT NULL, title VARCHAR(200) NOT NULL,
  CONSTRAINT posts_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE);
CREATE INDEX posts_title ON posts (title);
CREATE VIEW post_titles AS SELECT title FROM posts;
";

/// The URL of the server for `database`, or `None` (after saying why on stderr) when the
/// test must be skipped. Panics under `CI=true` when no server can be reached.
pub fn server(database: &str, var: &str, local: &str, address: &str) -> Option<String> {
    if let Some(url) = std::env::var(var).ok().filter(|u| !u.trim().is_empty()) {
        return Some(url);
    }
    let reachable = address
        .parse::<std::net::SocketAddr>()
        .ok()
        .is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        });
    if reachable {
        return Some(local.to_string());
    }
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    assert!(
        !ci,
        "CI=true: {database} is required, but {var} is unset and nothing answers at {address}: \
         start the server (bash .ci/run does) or set {var}"
    );
    // Straight to stderr, not through eprintln!, which the test harness captures: a skip
    // must show in a passing run too.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {database} CLI tests: {var} is unset (cargo xtask test did not select \
         {database}, or found no server) and nothing answers at {address}; start the server \
         or set {var} to run them"
    );
    None
}

/// The PostgreSQL server, or `None` when its tests are skipped.
pub fn postgres() -> Option<String> {
    server(
        "PostgreSQL",
        "SCHEMA_SYNC_TEST_PG_URL",
        "postgres://postgres@127.0.0.1:5432/test",
        "127.0.0.1:5432",
    )
}

/// The MariaDB server, or `None` when its tests are skipped.
pub fn mysql() -> Option<String> {
    server(
        "MariaDB",
        "SCHEMA_SYNC_TEST_MYSQL_URL",
        "mysql://root@127.0.0.1:3306/test",
        "127.0.0.1:3306",
    )
}

pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{nanos:x}", std::process::id())
}
