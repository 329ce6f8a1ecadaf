//! `--shard i/n`: the i-th of n disjoint parts of the selected tenants.
//!
//! N machines (CI jobs, the pods of a Kubernetes indexed Job) can split one fleet with no
//! coordinator: each runs the same command with its own `--shard i/n`, and the parts
//! cover every selected tenant exactly once. Which part a tenant falls in depends only on
//! its server and its id, through a hash that is fixed for good:
//!
//! ```text
//! part = u64::from_le_bytes(blake3(len(server) as u64 LE ++ server ++ tenant)[0..8]) % n
//! ```
//!
//! so it never depends on the order the database lists tenants in, on the other tenants
//! selected, on the machine, or on the schema-sync version (the unit tests pin a few
//! assignments; changing them is a breaking change). Adding or removing a tenant moves no
//! other tenant between parts; changing `n` does.
//!
//! The server is named by [`server_name`]: the name of the config's database entry when it
//! has one, else the URL's `host:port/database` (credentials, options and the scheme left
//! out, the default port filled in), so the same fleet reached with another user or
//! password is split the same way.

use std::fmt;
use std::str::FromStr;

/// One part of a fleet: `index` of `count`, counted from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    /// The `index`-th (from 1) of `count` parts.
    ///
    /// # Errors
    /// `count` is 0, or `index` is not between 1 and `count`.
    pub fn new(index: u64, count: u64) -> Result<Self, String> {
        if count == 0 {
            return Err(format!(
                "{index}/{count} has no shards: the number of shards (after the /) must be at least 1"
            ));
        }
        if index == 0 || index > count {
            return Err(format!(
                "shard {index} of {count} does not exist: shards are counted from 1, so give 1/{count} to {count}/{count}"
            ));
        }
        Ok(Self { index, count })
    }

    /// Whether the tenant `tenant` of server `server` belongs to this part.
    pub fn keeps(&self, server: &str, tenant: &str) -> bool {
        part(server, tenant, self.count) == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Parses `i/n`, as `--shard` takes it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let usage =
            || format!("{text:?} is not of the form i/n: write 1/3 for the first of three parts");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let number = |part: &str| part.trim().parse::<u64>().map_err(|_| usage());
        Self::new(number(index)?, number(count)?)
    }
}

/// The part (from 0) of `count` that a tenant falls in: the stable hash of the module
/// documentation. `count` must not be 0.
pub fn part(server: &str, tenant: &str, count: u64) -> u64 {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&(server.len() as u64).to_le_bytes());
    hasher.update(server.as_bytes());
    hasher.update(tenant.as_bytes());
    let hash = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash.as_bytes()[..8]);
    u64::from_le_bytes(first) % count.max(1)
}

/// The name a server's tenants are sharded under: `name` (the config's database entry)
/// when given, else `host:port/database` from `url` with the user, password, options and
/// scheme left out and the scheme's default port filled in. A SQLite URL is named by its
/// path.
pub fn server_name(name: Option<&str>, url: &str) -> String {
    if let Some(name) = name {
        return name.to_string();
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    if scheme.eq_ignore_ascii_case("sqlite") {
        return rest.to_string();
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "postgres" | "postgresql" => Some(5432),
        "mysql" | "mariadb" => Some(3306),
        _ => None,
    };
    // `[::1]:5432` and `host:5432` have a port; `[::1]` and `host` do not.
    let has_port = host
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()));
    let host = host.to_ascii_lowercase();
    match default_port {
        Some(port) if !has_port => format!("{host}:{port}/{path}"),
        _ => format!("{host}/{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates_i_of_n() {
        assert_eq!("2/3".parse::<Shard>(), Shard::new(2, 3));
        assert_eq!(
            " 1 / 1 ".parse::<Shard>().map(|s| s.to_string()),
            Ok("1/1".into())
        );
        let zero = "0/3".parse::<Shard>().err().unwrap_or_default();
        assert!(zero.contains("give 1/3 to 3/3"), "{zero}");
        let over = "4/3".parse::<Shard>().err().unwrap_or_default();
        assert!(over.contains("shard 4 of 3 does not exist"), "{over}");
        let none = "1/0".parse::<Shard>().err().unwrap_or_default();
        assert!(none.contains("at least 1"), "{none}");
        for bad in ["3", "a/b", "1/3/5", "-1/3", ""] {
            let error = bad.parse::<Shard>().err().unwrap_or_default();
            assert!(error.contains("not of the form i/n"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_assignment_is_pinned_across_versions() {
        // Changing these values moves tenants between shards in running deployments: a
        // breaking change, never a refactoring.
        let server = "db.internal:5432/app";
        let parts: Vec<u64> = ["tenant_1", "tenant_2", "tenant_3", "acme", "globex"]
            .iter()
            .map(|t| part(server, t, 7))
            .collect();
        assert_eq!(parts, PINNED);
    }

    /// The parts of the pinned tenants (see above).
    const PINNED: [u64; 5] = [2, 3, 1, 5, 2];

    #[test]
    fn parts_are_disjoint_and_cover_every_tenant() {
        let tenants: Vec<String> = (0..3000).map(|i| format!("tenant_{i}")).collect();
        let shards: Vec<Shard> = (1..=3).filter_map(|i| Shard::new(i, 3).ok()).collect();
        let mut sizes = Vec::new();
        for shard in &shards {
            sizes.push(
                tenants
                    .iter()
                    .filter(|t| shard.keeps("h:5432/db", t))
                    .count(),
            );
        }
        for tenant in &tenants {
            let owners = shards
                .iter()
                .filter(|s| s.keeps("h:5432/db", tenant))
                .count();
            assert_eq!(owners, 1, "{tenant} is in {owners} shards");
        }
        assert_eq!(sizes.iter().sum::<usize>(), 3000);
        // An even split within a few percent: 1000 each, give or take 10%.
        assert!(
            sizes.iter().all(|&n| (900..=1100).contains(&n)),
            "{sizes:?}"
        );
    }

    #[test]
    fn the_server_is_part_of_the_hash() {
        let tenants: Vec<String> = (0..200).map(|i| format!("t{i}")).collect();
        let moved = tenants
            .iter()
            .filter(|t| part("a:5432/db", t, 4) != part("b:5432/db", t, 4))
            .count();
        assert!(moved > 100, "only {moved} of 200 tenants moved");
    }

    #[test]
    fn server_names_leave_out_credentials_and_fill_the_port() {
        let cases = [
            (
                "postgres://app:Secret@DB.internal/app?sslmode=require",
                "db.internal:5432/app",
            ),
            ("postgresql://db.internal:5432/app", "db.internal:5432/app"),
            ("mysql://root@127.0.0.1:3307/test", "127.0.0.1:3307/test"),
            ("mysql://root:pw@[::1]/test", "[::1]:3306/test"),
            ("sqlite:///srv/tenants", "/srv/tenants"),
        ];
        for (url, expected) in cases {
            assert_eq!(server_name(None, url), expected, "{url}");
        }
        assert_eq!(server_name(Some("eu-1"), "postgres://x/y"), "eu-1");
    }
}
