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

/// Tenants made on a server for one test, `<prefix>_00`, `<prefix>_01`, ... with a unique
/// prefix, and the connection that made them; the test drops them whatever happened
/// ([`PgFleet::drop_schemas`], [`MysqlFleet::drop_databases`]).
pub struct ServerFleet<C> {
    /// The server's URL.
    pub url: String,
    /// The connection that made the tenants.
    pub conn: C,
    /// The tenants' names.
    pub tenants: Vec<String>,
    /// A glob that selects exactly them.
    pub pattern: String,
    /// Whether creating them worked (kept, so that what was made is still dropped).
    pub created: Result<(), String>,
}

/// PostgreSQL tenant schemas made for one test.
pub type PgFleet = ServerFleet<tokio_postgres::Client>;

/// MariaDB tenant databases made for one test.
pub type MysqlFleet = ServerFleet<mysql_async::Conn>;

/// `count` tenant names with a unique `prefix`, and the glob that selects them.
fn fleet_names(prefix: &str, count: usize) -> (Vec<String>, String) {
    let prefix = unique(prefix);
    let tenants = (0..count).map(|i| format!("{prefix}_{i:02}")).collect();
    (tenants, format!("{prefix}_*"))
}

impl PgFleet {
    /// Connects to `url` and creates `count` schemas from [`PG_SCHEMA`] plus `drift(i)`.
    pub async fn create(
        url: String,
        prefix: &str,
        count: usize,
        drift: impl Fn(usize) -> &'static str,
    ) -> Self {
        let (conn, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {url} is required: {e}"));
        tokio::spawn(connection);
        let (tenants, pattern) = fleet_names(prefix, count);
        let mut sql = String::new();
        for (i, tenant) in tenants.iter().enumerate() {
            sql.push_str(&format!(
                "CREATE SCHEMA \"{tenant}\"; SET search_path TO \"{tenant}\"; {PG_SCHEMA} {} RESET search_path;",
                drift(i)
            ));
        }
        let created = conn.batch_execute(&sql).await.map_err(|e| e.to_string());
        Self {
            url,
            conn,
            tenants,
            pattern,
            created,
        }
    }

    /// Drops every schema of the fleet.
    pub async fn drop_schemas(&self) {
        for tenant in &self.tenants {
            self.conn
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{tenant}\" CASCADE"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

impl MysqlFleet {
    /// Connects to `url` and creates `count` databases from [`MYSQL_SCHEMA`] plus
    /// `drift(i)`.
    pub async fn create(
        url: String,
        prefix: &str,
        count: usize,
        drift: impl Fn(usize) -> &'static str,
    ) -> Self {
        use mysql_async::prelude::Queryable;
        let opts = mysql_async::Opts::from_url(&url).unwrap_or_else(|e| panic!("{e}"));
        let mut conn = mysql_async::Conn::new(opts)
            .await
            .unwrap_or_else(|e| panic!("MariaDB at {url} is required: {e}"));
        let (tenants, pattern) = fleet_names(prefix, count);
        let mut created = Ok(());
        for (i, tenant) in tenants.iter().enumerate() {
            let sql = format!(
                "CREATE DATABASE `{tenant}`; USE `{tenant}`; {MYSQL_SCHEMA} {}",
                drift(i)
            );
            if let Err(e) = conn.query_drop(sql).await {
                created = Err(e.to_string());
                break;
            }
        }
        Self {
            url,
            conn,
            tenants,
            pattern,
            created,
        }
    }

    /// Drops every database of the fleet.
    pub async fn drop_databases(&mut self) {
        use mysql_async::prelude::Queryable;
        for tenant in &self.tenants {
            self.conn
                .query_drop(format!("DROP DATABASE IF EXISTS `{tenant}`"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Runs the binary on the tenants of `url` with `args` and `--format json`, and with
/// `--target schema` when the command takes one; checks the exit code and returns the
/// JSON. `SOURCE_DATE_EPOCH` is fixed, so `plan --layout` versions are too.
pub fn run_json(
    url: &str,
    schema: &std::path::Path,
    args: &[&str],
    code: i32,
) -> serde_json::Value {
    let mut command =
        assert_cmd::Command::cargo_bin("schema-sync").unwrap_or_else(|e| panic!("{e}"));
    command
        .env("SCHEMA_SYNC_URL", url)
        .env("SCHEMA_SYNC_LEDGER", schema.with_file_name("ledger.db"))
        .env("SOURCE_DATE_EPOCH", "1796160600")
        .args(args)
        .args(["--format", "json"]);
    if args.first() != Some(&"audit") {
        command.args(["--target", &schema.display().to_string()]);
    }
    let output = command.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&output)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output)))
}
