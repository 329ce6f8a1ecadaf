//! The git store against a real repository, driven by the installed `git`.
#![cfg(feature = "git")]

#[macro_use]
mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use async_trait::async_trait;
use schema_sync_core::{Error, Result, SnapshotHash, SnapshotStore, TenantId};
use schema_sync_snapshots::conformance::{StoreHooks, sample_snapshot};
use schema_sync_snapshots::{GitSnapshotStore, PrunableStore, open_store};
use tempfile::TempDir;

use common::{Backend, fail};

struct GitBackend {
    _dir: TempDir,
    store: GitSnapshotStore,
}

async fn git_backend() -> Result<GitBackend> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let store = GitSnapshotStore::open(dir.path().join("repo")).await?;
    Ok(GitBackend { _dir: dir, store })
}

#[async_trait]
impl StoreHooks for GitBackend {
    async fn overwrite_object(&self, hash: &SnapshotHash, bytes: Vec<u8>) -> Result<()> {
        fs::write(self.store.object_path(hash), bytes).map_err(fail)
    }

    async fn stored_objects(&self) -> Result<Vec<SnapshotHash>> {
        let mut hashes = Vec::new();
        for entry in fs::read_dir(self.store.root().join("objects")).map_err(fail)? {
            let name = entry
                .map_err(fail)?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if let Some(stem) = name.strip_suffix(".json") {
                hashes.push(SnapshotHash::parse(stem)?);
            }
        }
        Ok(hashes)
    }
}

impl Backend for GitBackend {
    fn store(&self) -> &dyn PrunableStore {
        &self.store
    }
}

conformance_tests!(git_backend());

/// Runs the user's git on the repository, as a person inspecting it would.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(fail)?;
    if !output.status.success() {
        return Err(fail(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

#[tokio::test]
async fn one_commit_per_save_and_a_clean_tree() -> Result<()> {
    let backend = git_backend().await?;
    let store = &backend.store;
    let root = store.root();
    let t = TenantId::new("acme")?;
    let (x, y) = (sample_snapshot("git_x"), sample_snapshot("git_y"));
    let commits_before = git(root, &["rev-list", "--count", "HEAD"])?;
    let first = store.save(&t, &x).await?;
    store.save(&t, &x).await?;
    store.save(&t, &y).await?;
    store.tag(&t, &first.hash, "baseline").await?;
    store.tag(&t, &first.hash, "baseline").await?;

    let count = |text: String| text.trim().parse::<u32>().map_err(fail);
    assert_eq!(
        count(git(root, &["rev-list", "--count", "HEAD"])?)? - count(commits_before)?,
        4,
        "three saves and one tag (the repeated tag changes nothing)"
    );
    assert_eq!(
        git(root, &["status", "--porcelain"])?,
        "",
        "everything is committed"
    );

    let log = git(
        root,
        &[
            "log",
            "--format=%an <%ae>|%s|%(trailers:key=Snapshot-Hash,valueonly)",
            "--",
            "tenants/acme/latest.json",
        ],
    )?;
    let lines: Vec<_> = log.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(
        lines[2].starts_with(&format!(
            "schema-sync <schema-sync@localhost>|snapshot {} for tenant \"acme\"|{}",
            first.hash.short(),
            first.hash
        )),
        "{log}"
    );
    let date = git(
        root,
        &[
            "log",
            "-1",
            "--format=%ct",
            "--",
            "tenants/acme/latest.json",
        ],
    )?;
    assert_eq!(
        date.trim(),
        store.history(&t).await?[2].saved_at.to_string()
    );

    let shown = git(
        root,
        &["show", &format!("HEAD:objects/{}.json", first.hash)],
    )?;
    assert_eq!(shown, x.to_pretty_json() + "\n");
    Ok(())
}

#[tokio::test]
async fn history_survives_reopening_and_prune_is_committed() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    let url = format!("git+file://{}", dir.path().join("repo").display());
    let t = TenantId::new("re \"open\"")?;
    let saved = {
        let store = open_store(&url).await?;
        let a = store.save(&t, &sample_snapshot("reopen_a")).await?;
        let b = store.save(&t, &sample_snapshot("reopen_b")).await?;
        vec![a, b]
    };
    let store = GitSnapshotStore::open(dir.path().join("repo")).await?;
    assert_eq!(store.history(&t).await?, saved);

    let report = store.prune(&t, 1).await?;
    assert_eq!((report.history_removed, report.objects_removed), (1, 1));
    assert_eq!(store.history(&t).await?, saved[1..].to_vec());
    assert_eq!(git(store.root(), &["status", "--porcelain"])?, "");
    let subject = git(store.root(), &["log", "-1", "--format=%s"])?;
    assert_eq!(
        subject.trim(),
        "prune tenant \"re \\\"open\\\"\": 1 saves and 1 snapshots removed"
    );
    // Git history is immutable: the pruned object is gone from the tree, not from the past.
    let past = git(
        store.root(),
        &[
            "log",
            "--format=%H",
            "--",
            &format!("objects/{}.json", saved[0].hash),
        ],
    )?;
    assert_eq!(past.lines().count(), 2, "added, then removed by the prune");
    Ok(())
}

#[tokio::test]
async fn a_foreign_repository_is_refused() -> Result<()> {
    let dir = tempfile::tempdir().map_err(fail)?;
    git(dir.path(), &["init", "--quiet"])?;
    fs::write(dir.path().join("README"), "mine").map_err(fail)?;
    let err = GitSnapshotStore::open(dir.path()).await.err();
    assert!(
        matches!(&err, Some(Error::Snapshot { message, .. }) if message.contains("not a snapshot store")),
        "{err:?}"
    );
    Ok(())
}
