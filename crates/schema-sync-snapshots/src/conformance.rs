//! The conformance suite every snapshot store runs against its real backend.
//!
//! Each check is an async function over a `&dyn SnapshotStore` (pruning needs a
//! [`PrunableStore`]) that returns the first property that does not hold as an
//! [`Error::Internal`]. Checks that must look beneath the API, to damage an object or to
//! count stored objects, take the backend's [`StoreHooks`]. Give each check a fresh, empty
//! store: the object counts it asserts are exact.
//!
//! A backend's test file runs every check against the real thing: a temporary directory,
//! a git repository, a SQLite file, a PostgreSQL schema, an S3 bucket.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use schema_sync_core::snapshot::{Column, DataType, Table};
use schema_sync_core::{Error, Result, SchemaSnapshot, SnapshotHash, SnapshotStore, TenantId};

use crate::prune::PrunableStore;
use crate::record::now_secs;

/// Access beneath the store's API, implemented by each backend's tests.
#[async_trait]
pub trait StoreHooks: Send + Sync {
    /// Replaces the stored body of snapshot `hash` with `bytes`, bypassing the store, as
    /// disk damage or a careless hand edit would.
    ///
    /// # Errors
    /// When the backend cannot be written.
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()>;

    /// The hashes of every snapshot object the backend holds, in any order.
    ///
    /// # Errors
    /// When the backend cannot be read.
    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>>;
}

fn fail(message: String) -> Error {
    Error::Internal {
        tenant: None,
        message: format!("snapshot store conformance: {message}"),
    }
}

macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(fail(format!($($message)+)));
        }
    };
}

/// A snapshot no other call of this process returns: one table named after `label`.
pub fn sample_snapshot(label: &str) -> SchemaSnapshot {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut table = Table::default();
    table
        .columns
        .insert("id".into(), Column::new(DataType::named("bigint")));
    table
        .columns
        .insert(format!("{label}_{n}"), Column::new(DataType::named("text")));
    let mut snapshot = SchemaSnapshot::empty();
    snapshot.tables.insert(format!("t_{label}"), table);
    snapshot
}

fn tenant(id: &str) -> Result<TenantId> {
    TenantId::new(id)
}

fn hashes(records: &[schema_sync_core::SnapshotRecord]) -> Vec<SnapshotHash> {
    records.iter().map(|r| r.hash.clone()).collect()
}

/// Runs every check, each on its own tenants, against one store.
///
/// Prefer one test per check with a fresh store each (clearer failures, run in parallel);
/// this is for a quick look at a new backend.
///
/// # Errors
/// The first property that does not hold.
pub async fn run_all(store: &dyn PrunableStore, hooks: &dyn StoreHooks) -> Result<()> {
    round_trip(store).await?;
    saves_are_content_addressed(store, hooks).await?;
    history_is_ordered_with_timestamps(store).await?;
    latest_is_the_newest_save(store).await?;
    tags_set_move_and_resolve(store).await?;
    corrupt_objects_are_rejected(store, hooks).await?;
    hostile_tenant_ids_are_isolated(store).await?;
    prune_keeps_the_newest(store, hooks).await
}

/// A saved snapshot loads back equal, and the record names tenant, hash and time.
///
/// # Errors
/// The first property that does not hold.
pub async fn round_trip(store: &dyn SnapshotStore) -> Result<()> {
    let t = tenant("round_trip")?;
    let snapshot = sample_snapshot("round_trip");
    let before = now_secs();
    let record = store.save(&t, &snapshot).await?;
    let after = now_secs();
    ensure!(
        record.tenant == t,
        "save returned tenant {:?}",
        record.tenant
    );
    ensure!(
        record.hash == snapshot.hash(),
        "save returned hash {} instead of the snapshot's {}",
        record.hash,
        snapshot.hash()
    );
    ensure!(
        (before..=after).contains(&record.saved_at),
        "saved_at {} is not between {before} and {after} (seconds since the epoch)",
        record.saved_at
    );
    let loaded = store.load(&t, &record.hash).await?;
    ensure!(
        loaded == snapshot,
        "the loaded snapshot differs from the saved one"
    );
    let missing = sample_snapshot("never_saved").hash();
    ensure!(
        matches!(store.load(&t, &missing).await, Err(Error::Snapshot { .. })),
        "loading a hash that was never saved is not Error::Snapshot"
    );
    Ok(())
}

/// Saving the same snapshot twice (and for another tenant) stores one object, while the
/// history records every save.
///
/// # Errors
/// The first property that does not hold.
pub async fn saves_are_content_addressed(
    store: &dyn SnapshotStore,
    hooks: &dyn StoreHooks,
) -> Result<()> {
    let (a, b) = (tenant("dedup_a")?, tenant("dedup_b")?);
    let snapshot = sample_snapshot("dedup");
    let before: BTreeSet<_> = hooks.stored_objects().await?.into_iter().collect();
    let first = store.save(&a, &snapshot).await?;
    let second = store.save(&a, &snapshot).await?;
    store.save(&b, &snapshot).await?;
    ensure!(
        first.hash == second.hash,
        "two saves of one snapshot gave two hashes"
    );
    let after = hooks.stored_objects().await?;
    let added: Vec<_> = after.iter().filter(|h| !before.contains(*h)).collect();
    ensure!(
        added == vec![&first.hash] && after.len() == before.len() + 1,
        "three saves of one snapshot should add exactly one object, added {added:?} ({} stored before, {} after)",
        before.len(),
        after.len()
    );
    let history = store.history(&a).await?;
    ensure!(
        hashes(&history) == vec![first.hash.clone(), first.hash.clone()],
        "history of two saves has {} entries: {:?}",
        history.len(),
        hashes(&history)
    );
    ensure!(
        store.history(&b).await?.len() == 1,
        "the other tenant's history should have one entry"
    );
    Ok(())
}

/// History lists saves oldest first with plausible, non-decreasing timestamps; an unknown
/// tenant has an empty history.
///
/// # Errors
/// The first property that does not hold.
pub async fn history_is_ordered_with_timestamps(store: &dyn SnapshotStore) -> Result<()> {
    let t = tenant("history")?;
    let (x, y) = (sample_snapshot("history_x"), sample_snapshot("history_y"));
    let before = now_secs();
    let mut expected = Vec::new();
    for snapshot in [&x, &y, &x, &y, &y] {
        expected.push(store.save(&t, snapshot).await?);
    }
    let after = now_secs();
    let history = store.history(&t).await?;
    ensure!(
        hashes(&history) == hashes(&expected),
        "history is {:?}, expected the saves in order {:?}",
        hashes(&history),
        hashes(&expected)
    );
    for (got, saved) in history.iter().zip(&expected) {
        ensure!(
            got.tenant == t,
            "a history record names tenant {:?}",
            got.tenant
        );
        ensure!(
            got.saved_at == saved.saved_at,
            "history says saved_at {} where save returned {}",
            got.saved_at,
            saved.saved_at
        );
        ensure!(
            (before..=after).contains(&got.saved_at),
            "saved_at {} is not between {before} and {after}",
            got.saved_at
        );
    }
    ensure!(
        history.windows(2).all(|w| w[0].saved_at <= w[1].saved_at),
        "history timestamps go backwards"
    );
    ensure!(
        store.history(&tenant("history_nobody")?).await?.is_empty(),
        "a tenant that never saved has a history"
    );
    Ok(())
}

/// `latest` is the newest save (even when an older save had the same snapshot), and
/// `None` for a tenant without saves.
///
/// # Errors
/// The first property that does not hold.
pub async fn latest_is_the_newest_save(store: &dyn SnapshotStore) -> Result<()> {
    let t = tenant("latest")?;
    ensure!(
        store.latest(&t).await?.is_none(),
        "latest of a tenant without saves is not None"
    );
    let (x, y) = (sample_snapshot("latest_x"), sample_snapshot("latest_y"));
    store.save(&t, &x).await?;
    store.save(&t, &y).await?;
    let last = store.save(&t, &x).await?;
    match store.latest(&t).await? {
        Some((record, snapshot)) => {
            ensure!(
                record.hash == last.hash,
                "latest is {} instead of the last save {}",
                record.hash,
                last.hash
            );
            ensure!(
                snapshot == x,
                "latest returned another snapshot than the last saved"
            );
        }
        None => return Err(fail("latest is None after three saves".into())),
    }
    Ok(())
}

/// Tags can be set, moved and resolved per tenant, show in history, and cannot point at
/// a snapshot the store does not hold.
///
/// # Errors
/// The first property that does not hold.
pub async fn tags_set_move_and_resolve(store: &dyn SnapshotStore) -> Result<()> {
    let (t, other) = (tenant("tags")?, tenant("tags_other")?);
    let first = store.save(&t, &sample_snapshot("tags_1")).await?.hash;
    let second = store.save(&t, &sample_snapshot("tags_2")).await?.hash;

    ensure!(
        store.resolve_tag(&t, "v42").await?.is_none(),
        "an unset tag resolves"
    );
    store.tag(&t, &first, "v42").await?;
    store.tag(&t, &first, "baseline").await?;
    ensure!(
        store.resolve_tag(&t, "v42").await? == Some(first.clone()),
        "tag v42 does not resolve to its snapshot"
    );

    store.tag(&t, &second, "v42").await?;
    ensure!(
        store.resolve_tag(&t, "v42").await? == Some(second.clone()),
        "moving tag v42 did not take effect"
    );
    ensure!(
        store.resolve_tag(&t, "baseline").await? == Some(first.clone()),
        "moving v42 changed baseline"
    );
    ensure!(
        store.resolve_tag(&other, "v42").await?.is_none(),
        "a tag leaked to another tenant"
    );

    let history = store.history(&t).await?;
    let tags: Vec<Vec<String>> = history.iter().map(|r| r.tags.clone()).collect();
    ensure!(
        tags == vec![vec!["baseline".to_string()], vec!["v42".to_string()]],
        "history shows tags {tags:?}, expected [[baseline], [v42]]"
    );

    let unknown = sample_snapshot("tags_unknown").hash();
    ensure!(
        matches!(
            store.tag(&t, &unknown, "v42").await,
            Err(Error::Snapshot { .. })
        ),
        "tagging a hash the store does not hold is not Error::Snapshot"
    );
    ensure!(
        store.resolve_tag(&t, "v42").await? == Some(second),
        "a failed tag moved v42"
    );
    ensure!(
        store.tag(&t, &first, "").await.is_err(),
        "an empty tag name was accepted"
    );
    Ok(())
}

/// A damaged object (not JSON, another snapshot's content, a future format) is an
/// [`Error::Snapshot`] naming the hash and the fix, never loaded; saving again repairs it.
///
/// # Errors
/// The first property that does not hold.
pub async fn corrupt_objects_are_rejected(
    store: &dyn SnapshotStore,
    hooks: &dyn StoreHooks,
) -> Result<()> {
    let t = tenant("corrupt")?;
    let snapshot = sample_snapshot("corrupt");
    let hash = store.save(&t, &snapshot).await?.hash;
    let mut future = snapshot.clone();
    future.version = 999;
    let damage = [
        (
            "bad JSON",
            b"{ \"version\": 1, \"tables\": { truncated".to_vec(),
        ),
        (
            "another snapshot",
            sample_snapshot("corrupt_other")
                .to_pretty_json()
                .into_bytes(),
        ),
        (
            "a future format",
            serde_json::to_vec(&future).unwrap_or_default(),
        ),
        ("empty", Vec::new()),
    ];
    for (what, bytes) in damage {
        hooks.overwrite_object(&hash, bytes).await?;
        match store.load(&t, &hash).await {
            Err(err @ Error::Snapshot { .. }) => {
                let text = err.to_string();
                ensure!(
                    text.contains(hash.as_str()),
                    "the error for {what} does not name the snapshot {hash}: {text}"
                );
                ensure!(
                    text.contains("save the snapshot again") || text.contains("upgrade"),
                    "the error for {what} does not say how to fix it: {text}"
                );
            }
            Err(other) => {
                return Err(fail(format!(
                    "{what}: loading gave {other} instead of Error::Snapshot"
                )));
            }
            Ok(_) => return Err(fail(format!("{what}: a damaged object loaded"))),
        }
        ensure!(
            matches!(store.latest(&t).await, Err(Error::Snapshot { .. })),
            "{what}: latest returned a damaged object"
        );
    }
    store.save(&t, &snapshot).await?;
    ensure!(
        store.load(&t, &hash).await? == snapshot,
        "saving the snapshot again did not repair its object"
    );
    Ok(())
}

/// Tenants whose ids hold path separators, dots, quotes, SQL, case variants and unicode
/// each keep their own history and tags.
///
/// # Errors
/// The first property that does not hold.
pub async fn hostile_tenant_ids_are_isolated(store: &dyn SnapshotStore) -> Result<()> {
    let ids = [
        "../escape",
        "..",
        ".",
        "a/b",
        "a\\b",
        "/abs",
        "quote\"d",
        "it's",
        "with space",
        "ünï-cødé ☃",
        "%2e%2e",
        "%41",
        "A",
        "a",
        "tenants",
        "objects",
        "history.jsonl",
        "'; DROP TABLE schema_sync_snapshots; --",
    ];
    let mut saved = Vec::new();
    for id in ids {
        let t = tenant(id)?;
        let hash = store.save(&t, &sample_snapshot("hostile")).await?.hash;
        store.tag(&t, &hash, "mine").await?;
        saved.push((t, hash));
    }
    for (t, hash) in &saved {
        let history = store.history(t).await?;
        ensure!(
            hashes(&history) == vec![hash.clone()],
            "tenant {:?} sees history {:?}, expected only its own save {hash}",
            t.as_str(),
            hashes(&history)
        );
        ensure!(
            store.resolve_tag(t, "mine").await?.as_ref() == Some(hash),
            "tenant {:?} resolves its tag to another tenant's snapshot",
            t.as_str()
        );
        store.load(t, hash).await?;
    }
    Ok(())
}

/// Pruning keeps the newest saves, the snapshots other tenants and tags still refer to,
/// and deletes the rest.
///
/// # Errors
/// The first property that does not hold.
pub async fn prune_keeps_the_newest(
    store: &dyn PrunableStore,
    hooks: &dyn StoreHooks,
) -> Result<()> {
    let (a, b) = (tenant("prune_a")?, tenant("prune_b")?);
    let snapshots: Vec<_> = (1..=5)
        .map(|i| sample_snapshot(&format!("prune_{i}")))
        .collect();
    let mut h = Vec::new();
    for snapshot in &snapshots {
        h.push(store.save(&a, snapshot).await?.hash);
    }
    store.save(&b, &snapshots[0]).await?;
    store.tag(&a, &h[1], "keep").await?;

    let report = store.prune(&a, 2).await?;
    ensure!(
        report.history_removed == 3,
        "prune to 2 of 5 removed {} history entries",
        report.history_removed
    );
    ensure!(
        report.objects_removed == 1,
        "prune removed {} objects, expected 1 (the third save; the first is b's, the second tagged)",
        report.objects_removed
    );
    ensure!(
        hashes(&store.history(&a).await?) == vec![h[3].clone(), h[4].clone()],
        "after prune to 2 the history is not the two newest saves"
    );
    ensure!(
        hashes(&store.history(&b).await?) == vec![h[0].clone()],
        "pruning a changed b's history"
    );
    let stored: BTreeSet<_> = hooks.stored_objects().await?.into_iter().collect();
    for (i, should_exist) in [(0, true), (1, true), (2, false), (3, true), (4, true)] {
        ensure!(
            stored.contains(&h[i]) == should_exist,
            "after prune the object of save {} is {}",
            i + 1,
            if should_exist { "gone" } else { "still stored" }
        );
    }
    ensure!(
        store.load(&a, &h[0]).await? == snapshots[0],
        "the snapshot b still refers to no longer loads"
    );
    ensure!(
        store.load(&a, &h[1]).await? == snapshots[1],
        "the tagged snapshot no longer loads"
    );
    ensure!(
        store.resolve_tag(&a, "keep").await? == Some(h[1].clone()),
        "prune changed a tag"
    );
    ensure!(
        matches!(store.load(&a, &h[2]).await, Err(Error::Snapshot { .. })),
        "a pruned snapshot still loads"
    );

    let report = store.prune(&a, 0).await?;
    ensure!(
        report.history_removed == 2 && report.objects_removed == 2,
        "prune to 0 reported {report:?}, expected 2 history entries and 2 objects"
    );
    ensure!(
        store.history(&a).await?.is_empty(),
        "prune to 0 left history"
    );
    ensure!(
        store.latest(&a).await?.is_none(),
        "latest after prune to 0 is not None"
    );
    ensure!(
        store.load(&a, &h[1]).await? == snapshots[1],
        "the tagged snapshot did not survive prune to 0"
    );

    let report = store.prune(&tenant("prune_nobody")?, 3).await?;
    ensure!(
        report.history_removed == 0 && report.objects_removed == 0,
        "pruning a tenant without history removed {report:?}"
    );
    Ok(())
}
