//! The names PostgreSQL gives the indexes it creates on partitions when an index is
//! created on their partitioned parent.
//!
//! The online strategy builds those indexes itself, one `CREATE INDEX CONCURRENTLY` per
//! partition, and must name them as a plain `CREATE INDEX` on the parent would have, so
//! that a tenant synced online is the same, `pg_dump` for `pg_dump`, as one synced plain.
//! PostgreSQL 15 (`ChooseIndexName` in `indexcmds.c`) names a partition's index
//! `<partition>_<columns>_idx`: the key and `INCLUDE` column names joined by `_`, an
//! expression counting as `expr`, a name repeated within the index numbered (`a`, `a1`),
//! the two parts shortened (the longer first) so that the name fits in 63 bytes, and
//! `idx1`, `idx2`, ... in place of `idx` while the name is taken in the schema.

use schema_sync_core::snapshot::{Index, IndexPart};

/// The longest identifier PostgreSQL keeps, in bytes (`NAMEDATALEN - 1`).
const MAX_IDENTIFIER: usize = 63;

/// The column names PostgreSQL derives an index's name from: key parts, then `INCLUDE`
/// columns, an expression as `expr`, each name already used numbered from 1.
pub(crate) fn index_column_names(index: &Index) -> Vec<String> {
    let originals = index
        .parts
        .iter()
        .map(|part| match part {
            IndexPart::Column { name, .. } => name.as_str(),
            IndexPart::Expression { .. } => "expr",
        })
        .chain(index.include.iter().map(String::as_str));
    let mut out: Vec<String> = Vec::new();
    for original in originals {
        let mut name = original.to_string();
        let mut pass = 1;
        while out.contains(&name) {
            let suffix = pass.to_string();
            let keep = clip(original, MAX_IDENTIFIER - suffix.len());
            name = format!("{keep}{suffix}");
            pass += 1;
        }
        out.push(name);
    }
    out
}

/// `ChooseIndexNameAddition`: the column names joined by `_`, stopping once the text is
/// longer than any identifier.
fn name_addition(columns: &[String]) -> String {
    let mut out = String::new();
    for column in columns {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(column);
        if out.len() > MAX_IDENTIFIER {
            break;
        }
    }
    out
}

/// The longest prefix of `text` of at most `bytes` bytes that ends on a character
/// boundary (`pg_mbcliplen`).
fn clip(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `makeObjectName`: `name1_name2_label`, the longer of the two names shortened first
/// until the whole fits in an identifier.
fn object_name(name1: &str, name2: &str, label: &str) -> String {
    let separator = usize::from(!name2.is_empty());
    let available = MAX_IDENTIFIER - (separator + label.len() + 1);
    let (mut first, mut second) = (name1.len(), name2.len());
    while first + second > available {
        if first > second {
            first -= 1;
        } else {
            second -= 1;
        }
    }
    let first = clip(name1, first);
    let second = clip(name2, second);
    if name2.is_empty() {
        format!("{first}_{label}")
    } else {
        format!("{first}_{second}_{label}")
    }
}

/// The name PostgreSQL tries on attempt `pass` (0 first) for the index it creates on
/// `partition` for `index` of the partitioned parent: `idx` on the first attempt,
/// `idx<pass>` after.
pub(crate) fn partition_index_name(partition: &str, index: &Index, pass: usize) -> String {
    let label = if pass == 0 {
        "idx".to_string()
    } else {
        format!("idx{pass}")
    };
    object_name(
        partition,
        &name_addition(&index_column_names(index)),
        &label,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str) -> IndexPart {
        IndexPart::column(name)
    }

    fn index(parts: Vec<IndexPart>, include: &[&str]) -> Index {
        Index {
            parts,
            include: include.iter().map(|s| s.to_string()).collect(),
            ..Index::default()
        }
    }

    #[test]
    fn names_follow_postgresql_for_columns_expressions_and_repeats() {
        // Checked against PostgreSQL 15: CREATE INDEX ON p (a, (a + 1)) INCLUDE (a)
        // names the partition's index p1_a_expr_a1_idx, then p1_a_expr_a1_idx1.
        let expression = IndexPart::Expression {
            sql: "a + 1".into(),
            descending: false,
            options: Default::default(),
        };
        let definition = index(vec![column("a"), expression], &["a"]);
        assert_eq!(
            partition_index_name("p1", &definition, 0),
            "p1_a_expr_a1_idx"
        );
        assert_eq!(
            partition_index_name("p1", &definition, 1),
            "p1_a_expr_a1_idx1"
        );
        assert_eq!(
            partition_index_name("p1", &index(vec![column("a")], &[]), 0),
            "p1_a_idx"
        );
    }

    #[test]
    fn long_names_are_shortened_longer_part_first_on_character_boundaries() {
        let partition = "p".repeat(40);
        let definition = index(vec![column(&"c".repeat(40))], &[]);
        let name = partition_index_name(&partition, &definition, 0);
        assert_eq!(name.len(), MAX_IDENTIFIER);
        assert_eq!(name, format!("{}_{}_idx", "p".repeat(29), "c".repeat(29)));
        // Two-byte characters are never cut in half.
        let partition = "é".repeat(40);
        let name = partition_index_name(&partition, &index(vec![column("a")], &[]), 0);
        assert!(name.len() <= MAX_IDENTIFIER);
        assert!(name.ends_with("_a_idx"));
        assert_eq!(name, format!("{}_a_idx", "é".repeat(28)));
    }
}
