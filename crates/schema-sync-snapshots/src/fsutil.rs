//! Crash-safe file primitives for the file and git stores.
//!
//! - [`atomic_write`]: write a temporary file in the same directory, fsync it, rename it
//!   over the target and fsync the directory. A crash leaves the old file or the new one,
//!   never half of one (at worst a stray `.tmp-*` file that readers ignore).
//! - [`append_line`]: append one line and fsync. A crash mid-append can leave a torn last
//!   line without its newline; readers skip it and the next append cuts it off.
//! - [`FileLock`]: an exclusive advisory lock on a file, held by writers so that two
//!   processes (or tasks) never interleave a read-modify-write.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes` atomically and durably.
pub(crate) fn atomic_write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".tmp-{}-{}-{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(feature = "file")]
/// Appends `line` and a newline to `path` (creating it) and fsyncs, first cutting off a
/// torn last line left by a crash.
pub(crate) fn append_line(path: &Path, line: &str) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let created = !path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] != b'\n' {
            let mut text = Vec::new();
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut text)?;
            let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            file.set_len(keep as u64)?;
        }
    }
    let mut bytes = Vec::with_capacity(line.len() + 1);
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.sync_data()?;
    if created {
        sync_dir(parent(path)?)?;
    }
    Ok(())
}

#[cfg(feature = "file")]
/// The complete lines of `text`: a last line without its newline is a torn append.
pub(crate) fn complete_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    complete
        .lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// Reads `path`, or `None` when it does not exist.
pub(crate) fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `dir` and its parents, fsyncing the directory that received it.
pub(crate) fn create_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir)?;
    sync_dir(parent(dir)?)
}

/// An exclusive lock on a file, released when dropped.
pub(crate) struct FileLock(File);

impl FileLock {
    /// Blocks until the lock on `path` (created if missing) is held.
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        file.lock()?;
        Ok(Self(file))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn parent(path: &Path) -> io::Result<&Path> {
    path.parent().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} has no parent directory", path.display()),
        )
    })
}

/// Makes a rename or a new entry in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "file")]
    fn torn_lines_are_skipped_and_repaired() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("h.jsonl");
        append_line(&path, "one")?;
        fs::write(&path, "one\ntw")?;
        assert_eq!(
            complete_lines(&fs::read_to_string(&path)?).collect::<Vec<_>>(),
            vec![(1, "one")]
        );
        append_line(&path, "two")?;
        assert_eq!(fs::read_to_string(&path)?, "one\ntwo\n");
        atomic_write(&path, b"new")?;
        assert_eq!(fs::read_to_string(&path)?, "new");
        assert_eq!(
            fs::read_dir(dir.path())?.count(),
            1,
            "no temporary file left"
        );
        Ok(())
    }
}
