//! `--group-by shape`: reports that read at fleet scale.
//!
//! Ten thousand tenants make ten thousand lines, and almost all of them say the same
//! thing. A *shape* is one outcome that many tenants share: the status plus the changes
//! (tenants whose live schemas hash alike share one diff and one plan in core), a failure
//! with the same message once the tenant's own id is taken out of it, or, for `audit`,
//! one snapshot hash. The text report prints one block per shape, largest first: the
//! tenant count, the status, the changes once (rendered as the per-tenant lines render
//! them), and the first few tenant ids. JSON carries the same groups in a `shapes` array
//! beside `tenants`, whatever `--group-by` says.
//!
//! A shape's hash is blake3 over its canonical form (status, the diff's and plan's JSON,
//! the error class), each part length-prefixed: the same outcome has the same hash in
//! every run, so two runs, or two shards of one run, can be compared by shape.

use std::collections::HashMap;

use anstream::println;
use schema_sync_core::{Error, SchemaSnapshot, TenantId, TenantReport, TenantStatus};
use serde_json::{Value, json};

use super::json::{error_value, status_name};
use super::message::{self, count};
use super::style::{BOLD, DIM, RED, Styled, YELLOW};
use super::text::{Detail, print_changes, status_word};
use crate::cli::{Format, GroupBy};

/// Above this many selected tenants, text output groups by shape unless told otherwise.
pub const GROUP_ABOVE: usize = 50;

/// How many tenant ids a block lists before "and N more" (all of them with `-v`).
const IDS_SHOWN: usize = 5;

/// Whether the text report groups by shape: as `--group-by` (or the config) says, else
/// when more than [`GROUP_ABOVE`] tenants are selected. Only text output is grouped:
/// JSON always has both `tenants` and `shapes`, and JSON Lines streams tenants.
pub fn grouped(choice: Option<GroupBy>, format: Format, tenants: usize) -> bool {
    format == Format::Text
        && match choice {
            Some(choice) => choice == GroupBy::Shape,
            None => tenants > GROUP_ABOVE,
        }
}

/// Tenants with one outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// blake3 (hex) of the outcome's canonical form.
    pub hash: String,
    /// Index of its first tenant in the results: the one whose outcome the block shows.
    pub first: usize,
    /// Its tenants' ids, in the order of the results.
    pub tenants: Vec<String>,
}

/// Groups results into shapes by the canonical form `key` writes into a hasher; the
/// largest shape first, ties in the order of their first tenant.
fn group<T>(
    items: &[T],
    tenant: impl Fn(&T) -> &str,
    mut key: impl FnMut(&T, &mut Canonical),
) -> Vec<Shape> {
    let mut shapes: Vec<Shape> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let mut canonical = Canonical(blake3::Hasher::new());
        key(item, &mut canonical);
        let hash = canonical.0.finalize().to_hex().to_string();
        match index.get(&hash) {
            Some(&at) => shapes[at].tenants.push(tenant(item).to_string()),
            None => {
                index.insert(hash.clone(), shapes.len());
                shapes.push(Shape {
                    hash,
                    first: i,
                    tenants: vec![tenant(item).to_string()],
                });
            }
        }
    }
    shapes.sort_by(|a, b| {
        b.tenants
            .len()
            .cmp(&a.tenants.len())
            .then(a.first.cmp(&b.first))
    });
    shapes
}

/// The hasher of a canonical form: each part length-prefixed, so no two different
/// sequences of parts hash alike.
struct Canonical(blake3::Hasher);

impl Canonical {
    fn part(&mut self, text: &str) {
        self.0.update(&(text.len() as u64).to_le_bytes());
        self.0.update(text.as_bytes());
    }
}

/// An error's class: its kind and message with the tenant's own id taken out (where it
/// stands as a whole word), so tenants failing alike share a shape.
pub fn error_class(error: &Error, tenant: &str) -> String {
    let text = message::core_error(error);
    format!("{}: {}", error.kind(), without_word(&text, tenant))
}

/// `text` with every whole-word occurrence of `word` replaced by `{tenant}`.
fn without_word(text: &str, word: &str) -> String {
    if word.is_empty() {
        return text.to_string();
    }
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = if at > 0 {
            rest[..at].chars().last()
        } else {
            out.chars().last()
        };
        let after = rest[at + word.len()..].chars().next();
        out.push_str(&rest[..at]);
        if is_word(before) || is_word(after) {
            out.push_str(word);
        } else {
            out.push_str("{tenant}");
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The shapes of a `sync`, `diff` or `validate` run: status, diff, plan steps and error
/// class. A diff or plan shared by many tenants (one `Arc`) is serialised once.
pub fn fleet_shapes(reports: &[TenantReport]) -> Vec<Shape> {
    let mut diffs: HashMap<usize, String> = HashMap::new();
    let mut plans: HashMap<usize, String> = HashMap::new();
    group(
        reports,
        |r| r.tenant.as_str(),
        |report, canonical| {
            canonical.part(&status_name(report.status).to_string());
            let diff = report.diff.as_ref().map_or(String::new(), |diff| {
                diffs
                    .entry(std::sync::Arc::as_ptr(diff) as usize)
                    .or_insert_with(|| serde_json::to_string(diff.as_ref()).unwrap_or_default())
                    .clone()
            });
            canonical.part(&diff);
            let plan = report.plan.as_ref().map_or(String::new(), |plan| {
                plans
                    .entry(std::sync::Arc::as_ptr(plan) as usize)
                    .or_insert_with(|| {
                        // The steps and what stays unresolved, not the hashes: tenants
                        // with one diff run one plan wherever they started from.
                        serde_json::to_string(&(&plan.steps, &plan.unresolved)).unwrap_or_default()
                    })
                    .clone()
            });
            canonical.part(&plan);
            let error = report.error.as_ref().map_or(String::new(), |error| {
                error_class(error, report.tenant.as_str())
            });
            canonical.part(&error);
        },
    )
}

/// `912 tenants` and the ids line: the first few ids and how many more (all with -v).
fn print_ids(tenants: &[String], detail: Detail) {
    let shown = if detail == Detail::Full {
        tenants.len()
    } else {
        IDS_SHOWN
    };
    println!("    {}", Styled(DIM, &some_ids(tenants, shown)));
}

/// The first `shown` of `tenants`, then how many more: `a, b, c and 4 more`.
pub fn some_ids<S: AsRef<str>>(tenants: &[S], shown: usize) -> String {
    let mut line = tenants
        .iter()
        .take(shown)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if tenants.len() > shown {
        line.push_str(&format!(" and {} more", tenants.len() - shown));
    }
    line
}

/// The head line of a fleet block: `41 tenants: drifted, 1 change, destructive`.
fn fleet_head(report: &TenantReport, tenants: usize) -> String {
    let changes = report.diff.as_ref().map_or(0, |d| d.change_count());
    let reordered = report.diff.as_ref().map_or(0, |d| d.column_order_changes());
    // The per-tenant word, without the padding that aligns per-tenant lines.
    let Styled(color, word) = status_word(report.status);
    let mut head = format!(
        "{}: {}",
        Styled(BOLD, &count(tenants, "tenant")),
        Styled(color, word.trim_end())
    );
    match report.status {
        TenantStatus::Drifted | TenantStatus::Synced | TenantStatus::Refused if changes > 0 => {
            head.push_str(&format!(", {}", count(changes, "change")));
            if report.plan.as_ref().is_some_and(|p| p.is_destructive()) {
                head.push_str(", destructive");
            }
        }
        TenantStatus::InSync if reordered > 0 => head.push_str(&format!(
            ", column order differs in {} (not drift without --strict-column-order)",
            count(reordered, "table")
        )),
        _ => {}
    }
    head
}

/// Prints one block per shape of a fleet run. Quiet prints only failed and refused
/// shapes; `-v` lists every tenant id.
pub fn print_fleet(reports: &[TenantReport], shapes: &[Shape], detail: Detail) {
    for shape in shapes {
        let Some(report) = reports.get(shape.first) else {
            continue;
        };
        if detail == Detail::Quiet && !report.status.is_failure() {
            continue;
        }
        println!("{}", fleet_head(report, shape.tenants.len()));
        if let Some(error) = &report.error {
            println!("    {}", Styled(RED, &message::core_error(error)));
        }
        if let Some(diff) = &report.diff {
            print_changes(diff, report.plan.as_deref());
        }
        print_ids(&shape.tenants, detail);
    }
}

/// The `shapes` array of a fleet document: per shape its hash, status, change count,
/// diff (except in sync or skipped), plan (with `include_plan`), error, tenant count and
/// every tenant id.
pub fn fleet_json(reports: &[TenantReport], shapes: &[Shape], include_plan: bool) -> Value {
    let values: Vec<Value> = shapes
        .iter()
        .filter_map(|shape| {
            let report = reports.get(shape.first)?;
            let mut value = json!({
                "shape_hash": shape.hash,
                "status": status_name(report.status),
                "changes": report.diff.as_ref().map_or(0, |d| d.change_count()),
                "destructive": report.plan.as_ref().is_some_and(|p| p.is_destructive()),
                "error": error_value(report.error.as_ref()),
                "tenant_count": shape.tenants.len(),
                "tenants": shape.tenants,
            });
            if !matches!(report.status, TenantStatus::InSync | TenantStatus::Skipped) {
                value["diff"] = serde_json::to_value(report.diff.as_deref()).unwrap_or_default();
                if include_plan {
                    value["plan"] =
                        serde_json::to_value(report.plan.as_deref()).unwrap_or_default();
                }
            }
            Some(value)
        })
        .collect();
    Value::Array(values)
}

/// One audited tenant, as `audit` collects them.
pub type Audited = (TenantId, schema_sync_core::Result<SchemaSnapshot>);

/// The shapes of an `audit`: one per snapshot hash, and one per error class.
pub fn audit_shapes(results: &[Audited]) -> Vec<Shape> {
    group(
        results,
        |(tenant, _)| tenant.as_str(),
        |(tenant, result), canonical| match result {
            Ok(snapshot) => {
                canonical.part("ok");
                canonical.part(snapshot.hash().as_str());
            }
            Err(error) => {
                canonical.part("failed");
                canonical.part(&error_class(error, tenant.as_str()));
            }
        },
    )
}

/// Prints one block per shape of an audit, with the shape's snapshot when `snapshots`.
/// Quiet prints only shapes with a problem (an error or unmodelled objects).
pub fn print_audit(results: &[Audited], shapes: &[Shape], detail: Detail, snapshots: bool) {
    for shape in shapes {
        let Some((_, result)) = results.get(shape.first) else {
            continue;
        };
        let tenants = Styled(BOLD, &count(shape.tenants.len(), "tenant")).to_string();
        match result {
            Ok(snapshot) => {
                if detail == Detail::Quiet && snapshot.unsupported.is_empty() {
                    continue;
                }
                println!(
                    "{tenants}: snapshot {}, {}, {}",
                    Styled(DIM, snapshot.hash().short()),
                    count(snapshot.tables.len(), "table"),
                    count(snapshot.object_count(), "object")
                );
                for object in &snapshot.unsupported {
                    let line = format!("! {} {} is not modelled", object.kind, object.name);
                    println!("    {}", Styled(YELLOW, &line));
                }
                if snapshots && detail != Detail::Quiet {
                    println!("{}", snapshot.to_pretty_json());
                }
            }
            Err(error) => {
                println!("{tenants}: {}", Styled(RED, "failed"));
                println!("    {}", Styled(RED, &message::core_error(error)));
            }
        }
        print_ids(&shape.tenants, detail);
    }
}

/// The `shapes` array of an audit document: per shape its hash, status (`ok` or
/// `failed`), snapshot hash and counts or error, tenant count and every tenant id.
pub fn audit_json(results: &[Audited], shapes: &[Shape]) -> Value {
    let values: Vec<Value> = shapes
        .iter()
        .filter_map(|shape| {
            let (_, result) = results.get(shape.first)?;
            let mut value = match result {
                Ok(snapshot) => json!({
                    "status": "ok",
                    "hash": snapshot.hash(),
                    "tables": snapshot.tables.len(),
                    "objects": snapshot.object_count(),
                    "unsupported": snapshot.unsupported,
                    "error": Value::Null,
                }),
                Err(error) => json!({
                    "status": "failed",
                    "hash": Value::Null,
                    "error": error_value(Some(error)),
                }),
            };
            value["shape_hash"] = json!(shape.hash);
            value["tenant_count"] = json!(shape.tenants.len());
            value["tenants"] = json!(shape.tenants);
            Some(value)
        })
        .collect();
    Value::Array(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema_sync_core::{Phase, SchemaDiff, TenantId};
    use std::sync::Arc;

    #[test]
    fn the_default_switches_above_fifty_tenants_in_text_only() {
        assert!(!grouped(None, Format::Text, 50));
        assert!(grouped(None, Format::Text, 51));
        assert!(!grouped(Some(GroupBy::Tenant), Format::Text, 10_000));
        assert!(grouped(Some(GroupBy::Shape), Format::Text, 1));
        assert!(!grouped(Some(GroupBy::Shape), Format::Json, 10_000));
        assert!(!grouped(None, Format::Jsonl, 10_000));
    }

    #[test]
    fn groups_largest_first_in_first_seen_order() {
        let items = [
            ("a", "x"),
            ("b", "y"),
            ("c", "y"),
            ("d", "z"),
            ("e", "x"),
            ("f", "y"),
        ];
        let shapes = group(&items, |i| i.0, |i, c| c.part(i.1));
        let tenants: Vec<Vec<String>> = shapes.iter().map(|s| s.tenants.clone()).collect();
        assert_eq!(
            tenants,
            [vec!["b", "c", "f"], vec!["a", "e"], vec!["d"]]
                .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        );
        assert_eq!(
            shapes.iter().map(|s| s.first).collect::<Vec<_>>(),
            [1, 0, 3]
        );
    }

    #[test]
    fn shape_hashes_are_stable_and_length_prefixed() {
        let one = group(
            &[("t", ["ab", "c"])],
            |i| i.0,
            |i, c| i.1.iter().for_each(|p| c.part(p)),
        );
        let two = group(
            &[("t", ["a", "bc"])],
            |i| i.0,
            |i, c| i.1.iter().for_each(|p| c.part(p)),
        );
        assert_ne!(one[0].hash, two[0].hash);
        // blake3 of (2u64 LE, "ab", 1u64 LE, "c"): pinned, so a refactoring cannot move
        // every shape hash that scripts have stored.
        assert_eq!(one[0].hash, PINNED_HASH);
    }

    const PINNED_HASH: &str = "a0968c014f3fc7bd1a7d9a8d1ad1177eb379bd2f05e56309eb4e20347c5e7eba";

    fn report(tenant: &str, status: TenantStatus, diff: Option<Arc<SchemaDiff>>) -> TenantReport {
        TenantReport {
            tenant: TenantId::new(tenant).unwrap_or_else(|e| panic!("{e}")),
            status,
            hash: None,
            snapshot: None,
            diff,
            plan: None,
            execution: None,
            error: None,
        }
    }

    fn failed(tenant: &str, table: &str) -> TenantReport {
        let id = TenantId::new(tenant).unwrap_or_else(|e| panic!("{e}"));
        let mut report = report(tenant, TenantStatus::Failed, None);
        let source = format!("relation \"{tenant}.{table}\" does not exist");
        report.error = Some(Error::database(Some(&id), Phase::Inspect, None, source));
        report
    }

    fn unmodelled(name: &str) -> Arc<SchemaDiff> {
        let diff = json!({ "unsupported": [
            { "change": "added", "to": { "kind": "rule", "name": name } }
        ] });
        Arc::new(serde_json::from_value(diff).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn fleet_shapes_are_status_changes_and_error_class() {
        let shared = unmodelled("r1");
        let reports = vec![
            report(
                "t0",
                TenantStatus::InSync,
                Some(Arc::new(SchemaDiff::default())),
            ),
            report("t1", TenantStatus::Drifted, Some(shared.clone())),
            failed("t2", "users"),
            report("t3", TenantStatus::Drifted, Some(shared)),
            // An equal diff in another allocation: the same shape.
            report("t4", TenantStatus::Drifted, Some(unmodelled("r1"))),
            report("t5", TenantStatus::Drifted, Some(unmodelled("r2"))),
            failed("t6", "users"),
            failed("t7", "posts"),
            report(
                "t8",
                TenantStatus::InSync,
                Some(Arc::new(SchemaDiff::default())),
            ),
            report("t9", TenantStatus::Skipped, None),
        ];
        let shapes = fleet_shapes(&reports);
        let groups: Vec<Vec<&str>> = shapes
            .iter()
            .map(|s| s.tenants.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            groups,
            [
                vec!["t1", "t3", "t4"],
                vec!["t0", "t8"],
                vec!["t2", "t6"],
                vec!["t5"],
                vec!["t7"],
                vec!["t9"],
            ]
        );
        let document = fleet_json(&reports, &shapes, false);
        let counts: Vec<u64> = document
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s["tenant_count"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(counts, [3, 2, 2, 1, 1, 1]);
        assert_eq!(document[0]["status"], "drifted");
        assert_eq!(document[0]["changes"], 1);
        assert_eq!(document[0]["diff"]["unsupported"][0]["to"]["name"], "r1");
        assert_eq!(document[1]["diff"], Value::Null);
        assert_eq!(document[2]["error"]["kind"], "database");
        assert_eq!(document[0]["shape_hash"].as_str().map(str::len), Some(64));
        // The same run again: the same hashes.
        assert_eq!(fleet_shapes(&reports), shapes);
    }

    #[test]
    fn error_classes_leave_the_tenant_out_as_a_word_only() {
        assert_eq!(
            without_word(
                r#"tenant "t_1": relation t_1.users, t_10 and xt_1 differ"#,
                "t_1"
            ),
            r#"tenant "{tenant}": relation {tenant}.users, t_10 and xt_1 differ"#
        );
        assert_eq!(without_word("t_1", "t_1"), "{tenant}");
        assert_eq!(without_word("abc", ""), "abc");
    }
}
