//! The per-server breakdown of a run's results: the `servers` array of the JSON output,
//! and one text line per server under the summary when the run has several.

use serde_json::{Value, json};

use schema_sync_core::{FleetSummary, TenantReport};

use super::message::count;
use super::style::{DIM, RED, Styled};
use crate::servers::Servers;

/// One server's line of the breakdown.
struct Row {
    name: String,
    url: String,
    /// The same counts as the run's `summary`.
    counts: Value,
    /// Those counts for people.
    text: String,
    /// Why its tenants could not be listed, if so.
    error: Option<String>,
}

/// Each server's results, in the config's order.
pub struct Breakdown {
    rows: Vec<Row>,
}

impl Breakdown {
    /// The breakdown of a `sync`, `diff` or `validate` run; `down` lists the servers
    /// whose tenants could not be listed, with why.
    pub fn new(servers: &Servers, reports: &[TenantReport], down: &[(usize, String)]) -> Self {
        let summaries = servers.summaries(reports);
        Self::with(servers, down, |position| {
            let summary: &FleetSummary = &summaries[position];
            (
                serde_json::to_value(summary).unwrap_or(Value::Null),
                format!(
                    "{} ({})",
                    super::text::status_counts(summary),
                    count(summary.total, "tenant")
                ),
            )
        })
    }

    /// The breakdown of an `audit`: each server's `total`, `failed` and
    /// `distinct_schemas`, like the audit's summary.
    pub fn audit(
        servers: &Servers,
        results: &[super::shapes::Audited],
        down: &[(usize, String)],
    ) -> Self {
        let mut counts =
            vec![(0usize, 0usize, std::collections::HashSet::new()); servers.list().len()];
        for (tenant, result) in results {
            let position = servers.split(tenant.as_str()).map_or(0, |(p, _)| p);
            let (total, failed, hashes) = &mut counts[position];
            *total += 1;
            match result {
                Ok(snapshot) => {
                    hashes.insert(snapshot.hash());
                }
                Err(_) => *failed += 1,
            }
        }
        Self::with(servers, down, |position| {
            let (total, failed, hashes) = &counts[position];
            (
                json!({ "total": total, "failed": failed, "distinct_schemas": hashes.len() }),
                format!("{} audited, {failed} failed", count(*total, "tenant")),
            )
        })
    }

    /// A breakdown whose counts `counts` gives, by server position, as JSON and text.
    pub fn with(
        servers: &Servers,
        down: &[(usize, String)],
        counts: impl Fn(usize) -> (Value, String),
    ) -> Self {
        let rows = servers
            .list()
            .iter()
            .enumerate()
            .map(|(position, server)| {
                let (counts, text) = counts(position);
                let error = down
                    .iter()
                    .find(|(p, _)| *p == position)
                    .map(|(_, why)| server.unreachable(why).to_string());
                Row {
                    name: server.label.clone(),
                    url: server.redacted_url(),
                    counts,
                    text,
                    error,
                }
            })
            .collect();
        Self { rows }
    }

    /// The `servers` array: `name`, `url` (without password), the summary's counts, and
    /// `error` (null, or why the server's tenants could not be listed).
    pub fn json(&self) -> Value {
        Value::Array(
            self.rows
                .iter()
                .map(|row| {
                    let mut value = json!({ "name": row.name, "url": row.url });
                    if let (Some(fields), Value::Object(counts)) =
                        (value.as_object_mut(), row.counts.clone())
                    {
                        fields.extend(counts);
                    }
                    value["error"] = json!(row.error);
                    value
                })
                .collect(),
        )
    }

    /// One line per server under the summary, when the run has several, and always a
    /// line for a server whose tenants could not be listed.
    pub fn print(&self) {
        let several = self.rows.len() > 1;
        for row in &self.rows {
            match &row.error {
                Some(error) => anstream::println!(
                    "  {}: {}",
                    row.name,
                    Styled(RED, &format!("{error}; its tenants were not checked"))
                ),
                None if several => {
                    anstream::println!("  {}: {}", row.name, Styled(DIM, &row.text))
                }
                None => {}
            }
        }
    }
}
