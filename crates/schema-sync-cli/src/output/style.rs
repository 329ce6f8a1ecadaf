//! Terminal colors. Written through `anstream`, which strips them when stdout is not a
//! terminal or `NO_COLOR` is set.

/// A styled word.
pub struct Styled<'a>(pub &'static str, pub &'a str);

impl std::fmt::Display for Styled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}\x1b[0m", self.0, self.1)
    }
}

/// Green.
pub const GREEN: &str = "\x1b[32m";
/// Yellow.
pub const YELLOW: &str = "\x1b[33m";
/// Red, bold.
pub const RED: &str = "\x1b[1;31m";
/// Cyan.
pub const CYAN: &str = "\x1b[36m";
/// Dim.
pub const DIM: &str = "\x1b[2m";
/// Bold.
pub const BOLD: &str = "\x1b[1m";
