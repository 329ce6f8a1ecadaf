//! Fuzzing the inputs core parses: snapshot JSON (as the snapshot stores and the CLI's
//! `--target x.json` load it), snapshot hashes, and URLs shown in messages.
//!
//! Inputs are mutations of real snapshots (`tests/fuzz/seed-*.json`, saved by
//! `schema-sync audit --snapshots` from a PostgreSQL schema with every object kind and
//! from the quickstart's SQLite schema), arbitrary JSON documents and arbitrary text. The
//! properties: nothing panics; a snapshot that loads has a stable canonical form (it
//! reloads to the same hash); and the hash tells snapshots apart exactly when they differ,
//! which is what the stores' hash verification relies on.
//!
//! Cases per property come from `SCHEMA_SYNC_FUZZ_CASES` (default 256, so `cargo test`
//! stays quick); `cargo xtask chaos --fuzz-cases 1000000` is the long run.

use proptest::prelude::*;
use proptest::test_runner::Config;
use schema_sync_core::{SchemaSnapshot, SnapshotHash, redact_url};

const SEEDS: [&str; 2] = [
    include_str!("fuzz/seed-postgres.json"),
    include_str!("fuzz/seed-sqlite.json"),
];

/// Tokens a mutation inserts: JSON structure, edge-case numbers and strings, and
/// fragments of the snapshot format.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    ":",
    "null",
    "true",
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "-9223372036854775809",
    "1e309",
    "1.5",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"ünï\"",
    "{\"version\":2}",
    "{\"version\":0}",
    "{\"version\":99}",
    "\"version\"",
    "\"tables\"",
    "\"columns\"",
    "\"position\"",
    "\"data_type\"",
    "\"parent\"",
    "\"unsupported\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    "{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}",
];

fn config() -> Config {
    let cases = std::env::var("SCHEMA_SYNC_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

/// One edit of a text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the byte at a position.
    Byte(usize, u8),
    /// Delete a range.
    Delete(usize, usize),
    /// Insert a token.
    Insert(usize, &'static str),
    /// Duplicate a range after itself.
    Duplicate(usize, usize),
    /// Cut the text at a position.
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Byte(at, b)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<usize>(), 1..256usize).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(seed: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        match *mutation {
            Mutation::Byte(at, b) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = b;
                }
            }
            Mutation::Delete(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Mutation::Insert(at, token) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, token.bytes());
            }
            Mutation::Duplicate(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(end..end, copy);
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

/// Loads `text` the way the stores and the CLI do and checks the loaded snapshot.
fn check_load(text: &str) -> Result<(), TestCaseError> {
    let Ok(snapshot) = SchemaSnapshot::from_json(text, "fuzz") else {
        return Ok(());
    };
    let hash = snapshot.hash();
    let canonical = snapshot.canonical_json();
    let reloaded = SchemaSnapshot::from_json(&canonical, "fuzz canonical");
    prop_assert!(
        reloaded.is_ok(),
        "the canonical JSON of a loaded snapshot does not load: {:?}",
        reloaded.err()
    );
    if let Ok(reloaded) = reloaded {
        prop_assert_eq!(
            reloaded.hash(),
            hash.clone(),
            "canonical JSON changes the hash"
        );
    }
    let pretty = SchemaSnapshot::from_json(&snapshot.to_pretty_json(), "fuzz pretty");
    prop_assert_eq!(pretty.map(|s| s.hash()).ok(), Some(hash.clone()));
    let _ = snapshot.object_count();
    prop_assert_eq!(SnapshotHash::parse(hash.as_str()).ok(), Some(hash.clone()));
    Ok(())
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
        prop::sample::select(&["version", "tables", "columns", "position", "name", "kind"][..])
            .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    prop::sample::select(
                        &[
                            "version",
                            "tables",
                            "views",
                            "sequences",
                            "enums",
                            "functions",
                            "extensions",
                            "unsupported",
                            "columns",
                            "data_type",
                            "position",
                            "not_null",
                            "default",
                            "primary_key",
                            "indexes",
                            "foreign_keys",
                            "checks",
                            "name",
                            "kind",
                            "parent",
                        ][..]
                    )
                    .prop_map(str::to_string),
                    ".{0,8}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A URL with a known password, or arbitrary text in the shape of one.
fn url() -> impl Strategy<Value = (String, Option<String>)> {
    let scheme = prop_oneof![
        prop::sample::select(
            &[
                "postgres",
                "postgresql",
                "mysql",
                "mariadb",
                "sqlite",
                "s3",
                "git+file",
                "",
                "ünï"
            ][..]
        )
        .prop_map(str::to_string),
        ".{0,6}",
    ];
    let part = "[a-zA-Z0-9_.%ü-]{0,10}";
    let password = "[a-zA-Z0-9_.%ü:-]{1,12}";
    let tail = "[a-zA-Z0-9_/?&=:@%.ü-]{0,24}";
    prop_oneof![
        (scheme.clone(), part, password, part, tail).prop_map(
            |(scheme, user, password, host, tail)| {
                (
                    format!("{scheme}://{user}:{password}@{host}{tail}"),
                    Some(password),
                )
            }
        ),
        (scheme, ".{0,40}").prop_map(|(scheme, rest)| (format!("{scheme}://{rest}"), None)),
        ".{0,60}".prop_map(|text| (text, None)),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Mutated real snapshots never panic the loader, and whatever loads is canonical.
    #[test]
    fn mutated_snapshots_load_or_fail_cleanly(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let bytes = apply(SEEDS[seed], &mutations);
        check_load(&String::from_utf8_lossy(&bytes))?;
    }

    /// The hash verification of the stores: a loaded snapshot hashes like the seed exactly
    /// when it equals the seed.
    #[test]
    fn hash_tells_changed_snapshots_apart(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let original = SchemaSnapshot::from_json(SEEDS[seed], "seed")
            .map_err(|e| TestCaseError::fail(format!("seed {seed} no longer loads ({e}): regenerate tests/fuzz/seed-*.json with `schema-sync audit --snapshots`")))?;
        let bytes = apply(SEEDS[seed], &mutations);
        if let Ok(mutated) = SchemaSnapshot::from_json(&String::from_utf8_lossy(&bytes), "fuzz") {
            prop_assert_eq!(mutated == original, mutated.hash() == original.hash());
        }
    }

    /// Arbitrary JSON documents never panic the loader.
    #[test]
    fn arbitrary_json_loads_or_fails_cleanly(value in json_value(), version in 0u32..4) {
        let mut value = value;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("version".into(), version.into());
        }
        check_load(&value.to_string())?;
    }

    /// Arbitrary text never panics the loader or the hash parser.
    #[test]
    fn arbitrary_text_loads_or_fails_cleanly(text in ".{0,200}") {
        check_load(&text)?;
        if let Ok(hash) = SnapshotHash::parse(&text) {
            let _ = hash.short();
            prop_assert_eq!(hash.as_str(), text.as_str());
        }
    }

    /// `redact_url` never panics, never shows a password it was given, and is idempotent.
    #[test]
    fn redact_url_hides_passwords((url, password) in url()) {
        let shown = redact_url(&url);
        prop_assert_eq!(redact_url(&shown), shown.clone());
        if let Some(password) = password {
            // The password is hidden when the authority is the text up to the first
            // `/` or `?` after `://`, as URL parsers read it.
            let authority_end = url
                .find("://")
                .map(|i| i + 3)
                .and_then(|start| url[start..].find(['/', '?']).map(|end| start + end))
                .unwrap_or(url.len());
            let secret = format!(":{password}@");
            if url[..authority_end].contains(&secret) && !password.contains(['/', '?', '@']) {
                prop_assert!(
                    !shown.contains(&secret),
                    "{url:?} was shown as {shown:?}, with its password"
                );
            }
        }
    }
}

#[test]
fn seeds_load_and_verify() -> Result<(), schema_sync_core::Error> {
    for seed in SEEDS {
        let snapshot = SchemaSnapshot::from_json(seed, "seed")?;
        assert!(snapshot.object_count() > 10, "the seeds are realistic");
        let hash = snapshot.hash();
        let reloaded = SchemaSnapshot::from_json(&snapshot.canonical_json(), "canonical")?;
        assert_eq!(reloaded.hash(), hash);
    }
    Ok(())
}
