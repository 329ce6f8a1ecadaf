//! Table create options, from `information_schema.TABLES.CREATE_OPTIONS`.
//!
//! `CREATE_OPTIONS` lists what the table was declared with (`row_format=COMPRESSED
//! key_block_size=8 stats_persistent=1`), which is what is compared: `TABLES.ROW_FORMAT`
//! is the effective format, which an engine picks when none was declared and which can
//! differ between servers, so clones would differ. The `AUTO_INCREMENT` counter is data
//! and is never read.

use schema_sync_core::snapshot::TableOptions;

/// Sets the option `option` (`name=value`, as `CREATE_OPTIONS` prints it) in `options`;
/// `false` when the model has no field for it or the value does not parse.
pub(super) fn apply_create_option(options: &mut TableOptions, option: &str) -> bool {
    let Some((name, value)) = option.split_once('=') else {
        return false;
    };
    let flag = |value: &str| match value {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    };
    let number = |value: &str| value.parse::<u32>().ok();
    let (set, parsed) = match name.to_ascii_lowercase().as_str() {
        "row_format" => {
            let valid = !value.is_empty() && value.chars().all(|c| c.is_ascii_alphabetic());
            options.row_format = valid.then(|| value.to_ascii_uppercase());
            (true, valid)
        }
        "key_block_size" => {
            options.key_block_size = number(value);
            (true, options.key_block_size.is_some())
        }
        "stats_persistent" => {
            options.stats_persistent = flag(value);
            (true, options.stats_persistent.is_some())
        }
        "stats_auto_recalc" => {
            options.stats_auto_recalc = flag(value);
            (true, options.stats_auto_recalc.is_some())
        }
        "stats_sample_pages" => {
            options.stats_sample_pages = number(value);
            (true, options.stats_sample_pages.is_some())
        }
        "transactional" => {
            options.transactional = flag(value);
            (true, options.transactional.is_some())
        }
        "page_checksum" => {
            options.page_checksum = flag(value);
            (true, options.page_checksum.is_some())
        }
        _ => (false, false),
    };
    set && parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_modelled_options() {
        let mut options = TableOptions::default();
        for option in "stats_persistent=1 stats_auto_recalc=0 stats_sample_pages=20 \
                       row_format=COMPRESSED key_block_size=8 page_checksum=1 transactional=0"
            .split_whitespace()
        {
            assert!(apply_create_option(&mut options, option), "{option}");
        }
        assert_eq!(options.row_format.as_deref(), Some("COMPRESSED"));
        assert_eq!(options.key_block_size, Some(8));
        assert_eq!(options.stats_persistent, Some(true));
        assert_eq!(options.stats_auto_recalc, Some(false));
        assert_eq!(options.stats_sample_pages, Some(20));
        assert_eq!(options.page_checksum, Some(true));
        assert_eq!(options.transactional, Some(false));
    }

    #[test]
    fn reports_the_others() {
        let mut options = TableOptions::default();
        for option in [
            "checksum=1",
            "max_rows=10",
            "row_format=x;y",
            "stats_persistent=2",
        ] {
            assert!(!apply_create_option(&mut options, option), "{option}");
        }
    }
}
