//! The progress bar of fleet runs: on stderr, only when stderr is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that is a no-op when hidden.
pub struct Progress(ProgressBar);

impl Progress {
    /// A bar for `total` tenants; hidden when `quiet`, for a single tenant, or when stderr
    /// is not a terminal (indicatif checks that itself).
    pub fn new(total: usize, quiet: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        if quiet || total < 2 {
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} {pos}/{len} tenants [{bar:30}] {per_sec} eta {eta} {msg}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        Self(bar)
    }

    /// One more tenant done.
    pub fn tick(&self, failed: bool) {
        if failed {
            self.0.set_message("(some failed)");
        }
        self.0.inc(1);
    }

    /// Runs `print` with the bar cleared, then redraws it, so lines printed while the
    /// fleet runs never interleave with the bar.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.0.suspend(print)
    }

    /// Removes the bar before the summary is printed.
    pub fn finish(&self) {
        self.0.finish_and_clear();
    }
}
