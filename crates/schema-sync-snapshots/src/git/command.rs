//! Running the `git` command on the store's repository, and nothing else.
//!
//! Every call names the repository explicitly (`-C`, `GIT_DIR`, `GIT_WORK_TREE`) and
//! drops the variables through which a surrounding git process (a hook, a test harness)
//! could redirect it. The identity is fixed with `-c user.name/user.email`, signing and
//! hooks are off, and no shell is involved: arguments go to `git` as they are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use schema_sync_core::Result;

use crate::error::{snapshot_error, snapshot_error_from};

/// Variables that would make git act on another repository or as another person.
const INHERITED: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
];

/// The repository at `dir` (its work tree; the repository is `dir/.git`).
#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
}

impl Git {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Whether `dir/.git` exists.
    pub fn exists(&self) -> bool {
        self.dir.join(".git").exists()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        for name in INHERITED {
            command.env_remove(name);
        }
        command
            .env("GIT_DIR", self.dir.join(".git"))
            .env("GIT_WORK_TREE", &self.dir)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .arg("-C")
            .arg(&self.dir)
            .arg("--literal-pathspecs")
            .args([
                "-c",
                "user.name=schema-sync",
                "-c",
                "user.email=schema-sync@localhost",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "core.autocrlf=false",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .stdin(Stdio::null());
        command
    }

    fn output(&self, args: &[&str], env: &[(&str, String)]) -> Result<Output> {
        let mut command = self.command(args);
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().map_err(|e| {
            snapshot_error_from(
                self.dir.display().to_string(),
                "cannot run `git`; install git and make sure it is on PATH (the git store drives the git command)",
                e,
            )
        })
    }

    /// Runs `git args` and returns its standard output.
    ///
    /// # Errors
    /// [`Error::Snapshot`](schema_sync_core::Error::Snapshot) when git cannot start or fails,
    /// with git's own message.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        self.run_with_env(args, &[])
    }

    /// As [`run`](Self::run), with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, String)]) -> Result<String> {
        let output = self.output(args, env)?;
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        Err(self.failure(args, &output))
    }

    fn failure(&self, args: &[&str], output: &Output) -> schema_sync_core::Error {
        let subcommand = args.first().copied().unwrap_or_default();
        snapshot_error(
            self.dir.display().to_string(),
            format!(
                "`git {subcommand}` failed ({}): {}; check the repository with `git -C {} status`",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim(),
                self.dir.display()
            ),
        )
    }

    /// Runs a command whose exit code answers a question: `Ok(true)` for 0, `Ok(false)` for 1.
    ///
    /// # Errors
    /// As [`run`](Self::run), for any other outcome.
    pub fn check(&self, args: &[&str]) -> Result<bool> {
        let output = self.output(args, &[])?;
        match output.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failure(args, &output)),
        }
    }

    /// Whether the repository has a commit yet.
    pub fn has_head(&self) -> Result<bool> {
        self.check(&["rev-parse", "--quiet", "--verify", "HEAD^{commit}"])
    }

    /// Commits the index with `message`, dated `saved_at`, when anything is staged.
    ///
    /// Returns whether a commit was made.
    pub fn commit(&self, message: &str, saved_at: u64) -> Result<bool> {
        if self.has_head()? && self.check(&["diff", "--cached", "--quiet"])? {
            return Ok(false);
        }
        let date = format!("@{saved_at} +0000");
        self.run_with_env(
            &[
                "commit",
                "--quiet",
                "--no-verify",
                "--allow-empty-message",
                "-m",
                message,
            ],
            &[
                ("GIT_AUTHOR_DATE", date.clone()),
                ("GIT_COMMITTER_DATE", date),
            ],
        )?;
        Ok(true)
    }
}
