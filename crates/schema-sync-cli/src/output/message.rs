//! Error messages as printed: each cause once, every password redacted.

use schema_sync_core::redact_url;

/// One line for an error and its causes: `what: why: root cause`. A cause whose text the
/// line already holds (most of our errors quote their source in their own message) is
/// left out, so nothing is said twice; any password in a URL or connection string is
/// replaced by `***`.
pub fn error_line<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut line = String::new();
    for cause in chain {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    redact_url(&line)
}

/// [`error_line`] of a schema-sync error, with the flag or setting that changes the
/// outcome: core and the adapters speak of options, the CLI names its own flags.
pub fn core_error(error: &schema_sync_core::Error) -> String {
    let line = error_line(std::iter::successors(
        Some(error as &(dyn std::error::Error + 'static)),
        |e| e.source(),
    ));
    match cli_hint(error) {
        Some(hint) => format!("{line} ({hint})"),
        None => line,
    }
}

/// How to change the outcome of `error` from the command line, where a flag does.
fn cli_hint(error: &schema_sync_core::Error) -> Option<String> {
    use schema_sync_core::Error;
    match error {
        Error::DestructiveRefused { .. } => {
            Some("pass --allow-destructive to allow them".to_string())
        }
        Error::Lock { .. } => Some("raise --lock-timeout to wait longer".to_string()),
        Error::Isolation { namespace, .. } => Some(format!(
            "if {namespace:?} is shared by every tenant, list it in `shared_namespaces` in schema-sync.toml"
        )),
        Error::InvalidTenantId { .. } if error.tenant().is_none() => {
            Some("leave it out with --exclude".to_string())
        }
        _ => None,
    }
}

/// [`error_line`] of an error as the commands return it.
pub fn any_error(error: &anyhow::Error) -> String {
    error_line(error.chain())
}

/// `1 tenant`, `2 tenants`.
pub fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn says_each_cause_once_and_hides_passwords() {
        let error = anyhow::Error::new(Layer(
            "cannot connect to postgres:/u:PW@h/db: refused; check the URL",
            Some(Box::new(Layer(
                "refused; check the URL",
                Some(Box::new(Layer(
                    "refused",
                    Some(Box::new(Layer("os error 111", None))),
                ))),
            ))),
        ));
        assert_eq!(
            any_error(&error),
            "cannot connect to postgres:/u:***@h/db: refused; check the URL: os error 111"
        );
    }

    #[test]
    fn counts_in_singular_and_plural() {
        assert_eq!(count(1, "tenant"), "1 tenant");
        assert_eq!(count(0, "tenant"), "0 tenants");
        assert_eq!(count(2, "tenant"), "2 tenants");
    }
}
