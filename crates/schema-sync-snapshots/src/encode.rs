//! Encoding tenant ids and tags as path segments and object keys.
//!
//! A tenant id may hold quotes, spaces, slashes, dots and unicode. Stores that name files
//! or keys after a tenant use [`encode_segment`], which keeps lowercase ASCII letters,
//! digits, `-` and `_` and writes every other byte as `%XX`. The result:
//!
//! - is never empty, never `.` or `..`, and never contains `/` or `\`, so no id can
//!   climb out of its directory or prefix;
//! - is injective (`%` itself is encoded), so two ids never share a directory;
//! - keeps uppercase letters distinct on case-insensitive file systems (`A` is `%41`);
//! - stays readable for the usual ids (`acme`, `tenant_42`).

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
use std::fmt::Write as _;

#[cfg(any(feature = "file", feature = "git", feature = "s3"))]
/// Encodes `text` as one safe path segment (see the module documentation).
pub(crate) fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Reverses [`encode_segment`], or any percent-encoding; `None` when `text` is not valid
/// percent-encoded UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(feature = "file", feature = "git", feature = "s3"))]
    fn hostile_ids_become_single_safe_segments() {
        for id in [
            "..",
            ".",
            "a/b",
            "a\\b",
            "../../etc",
            "a\"b",
            "a b",
            "ünï",
            "%41",
            "A",
        ] {
            let encoded = encode_segment(id);
            assert!(!encoded.is_empty());
            assert!(encoded != "." && encoded != "..");
            assert!(!encoded.contains(['/', '\\', '.', '"', ' ']), "{encoded}");
            assert_eq!(percent_decode(&encoded).as_deref(), Some(id));
        }
        assert_eq!(encode_segment("tenant_42-x"), "tenant_42-x");
        assert_ne!(encode_segment("A"), encode_segment("a"));
        assert_ne!(encode_segment("%41"), encode_segment("A"));
    }

    #[test]
    fn decoding_rejects_broken_escapes() {
        assert_eq!(percent_decode("a%2"), None);
        assert_eq!(percent_decode("a%zz"), None);
        assert_eq!(percent_decode("%FF"), None);
        assert_eq!(percent_decode("my%20dir").as_deref(), Some("my dir"));
    }
}
