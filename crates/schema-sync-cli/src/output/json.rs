//! The JSON documents of `--format json` and the lines of `--format jsonl`. Their shape is
//! documented in `docs/src/json-output.md`; change both together.

use serde_json::{Value, json};

use schema_sync_core::{
    Error, FleetReport, FleetSummary, SchemaSnapshot, SnapshotHash, TenantId, TenantReport,
    TenantStatus,
};

/// `{"kind": ..., "message": ...}` or null.
pub fn error_value(error: Option<&Error>) -> Value {
    match error {
        Some(error) => {
            json!({ "kind": error.kind(), "message": super::message::core_error(error) })
        }
        None => Value::Null,
    }
}

/// The status as JSON names it: `in_sync`, `drifted`, ...
pub fn status_name(status: TenantStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

/// What a failed execution got done: steps applied out of the plan's total, the step and
/// statement that failed, and whether the tenant was rolled back.
fn failed_execution(error: &Error) -> Option<Value> {
    match error {
        Error::Execute {
            step,
            statement,
            steps_succeeded,
            steps_total,
            rolled_back,
            ..
        } => Some(json!({
            "steps_total": steps_total,
            "steps_succeeded": steps_succeeded,
            "failed_step": step,
            "failed_statement": schema_sync_core::redact_url(statement),
            "rolled_back": rolled_back,
        })),
        Error::Lock {
            progress: Some(progress),
            ..
        } => Some(json!({
            "steps_total": progress.steps_total,
            "steps_succeeded": progress.steps_succeeded,
            "failed_step": progress.step,
            "failed_statement": schema_sync_core::redact_url(&progress.statement),
            "rolled_back": progress.rolled_back,
        })),
        _ => None,
    }
}

/// One tenant's result: the elements of `tenants` in the document, and the tenant lines of
/// `--format jsonl`.
pub fn tenant_value(report: &TenantReport, include_plan: bool) -> Value {
    let mut value = json!({
        "tenant": report.tenant,
        "status": status_name(report.status),
        "in_sync": matches!(report.status, TenantStatus::InSync | TenantStatus::Synced),
        "hash": report.hash,
        "changes": report.diff.as_ref().map_or(0, |d| d.change_count()),
        "destructive": report.plan.as_ref().is_some_and(|p| p.is_destructive()),
        "error": error_value(report.error.as_ref()),
    });
    if include_plan && !matches!(report.status, TenantStatus::InSync | TenantStatus::Skipped) {
        value["diff"] = serde_json::to_value(report.diff.as_deref()).unwrap_or(Value::Null);
        value["plan"] = serde_json::to_value(report.plan.as_deref()).unwrap_or(Value::Null);
    }
    if let Some(execution) = &report.execution {
        value["execution"] = serde_json::to_value(execution).unwrap_or(Value::Null);
    } else if let Some(execution) = report.error.as_ref().and_then(failed_execution) {
        value["execution"] = execution;
    }
    value
}

/// The `summary` object: the fleet's counts and the run time.
pub fn summary_value(summary: &FleetSummary, duration_ms: u128) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or(Value::Null);
    value["duration_ms"] = json!(duration_ms);
    value
}

/// A tenant line of `--format jsonl`: `{"type": "tenant", "command": ..., <tenant>}`.
pub fn tenant_line(command: &str, report: &TenantReport, include_plan: bool) -> Value {
    let mut value = json!({ "type": "tenant", "command": command });
    if let (Some(line), Value::Object(fields)) =
        (value.as_object_mut(), tenant_value(report, include_plan))
    {
        line.extend(fields);
    }
    value
}

/// The last line of `--format jsonl`: `{"type": "summary", "command": ..., "summary": ...}`.
pub fn summary_line(command: &str, target: Option<&SnapshotHash>, summary: Value) -> Value {
    let mut value = json!({ "type": "summary", "command": command, "summary": summary });
    if let Some(target) = target {
        value["target_hash"] = json!(target);
    }
    value
}

/// Prints a whole document: indented for `json`, on one line for `jsonl`.
pub fn print_document(format: crate::cli::Format, value: &Value) {
    if format == crate::cli::Format::Jsonl {
        print_line(value);
    } else {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
        anstream::println!("{text}");
    }
}

/// Prints one JSON line and flushes it, so a killed run leaves every finished line behind.
pub fn print_line(value: &Value) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// The document of `sync`, `diff` and `validate`.
pub fn fleet_document(
    command: &str,
    target: &SnapshotHash,
    report: &FleetReport,
    include_plan: bool,
    duration_ms: u128,
) -> Value {
    let summary = summary_value(&report.summary, duration_ms);
    let shapes = super::shapes::fleet_shapes(&report.tenants);
    json!({
        "command": command,
        "target_hash": target,
        "tenants": report.tenants.iter().map(|r| tenant_value(r, include_plan)).collect::<Vec<_>>(),
        "shapes": super::shapes::fleet_json(&report.tenants, &shapes, include_plan),
        "summary": summary,
    })
}

/// One tenant of `audit`: its hash and object counts, or its error.
pub fn audit_tenant_value(
    tenant: &TenantId,
    result: &schema_sync_core::Result<SchemaSnapshot>,
    snapshots: bool,
) -> Value {
    match result {
        Ok(snapshot) => {
            let mut value = json!({
                "tenant": tenant,
                "hash": snapshot.hash(),
                "objects": snapshot.object_count(),
                "tables": snapshot.tables.len(),
                "unsupported": snapshot.unsupported,
                "error": Value::Null,
            });
            if snapshots {
                value["snapshot"] = serde_json::to_value(snapshot).unwrap_or(Value::Null);
            }
            value
        }
        Err(error) => {
            json!({ "tenant": tenant, "hash": Value::Null, "error": error_value(Some(error)) })
        }
    }
}

/// The `summary` of `audit`.
pub fn audit_summary(
    results: &[(TenantId, schema_sync_core::Result<SchemaSnapshot>)],
    duration_ms: u128,
) -> Value {
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let distinct: std::collections::BTreeSet<_> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(SchemaSnapshot::hash))
        .collect();
    json!({ "total": results.len(), "failed": failed, "distinct_schemas": distinct.len(), "duration_ms": duration_ms })
}

/// The document of `audit`.
pub fn audit_document(
    results: &[(TenantId, schema_sync_core::Result<SchemaSnapshot>)],
    snapshots: bool,
    duration_ms: u128,
) -> Value {
    let tenants: Vec<Value> = results
        .iter()
        .map(|(tenant, result)| audit_tenant_value(tenant, result, snapshots))
        .collect();
    let shapes = super::shapes::audit_shapes(results);
    json!({
        "command": "audit",
        "tenants": tenants,
        "shapes": super::shapes::audit_json(results, &shapes),
        "summary": audit_summary(results, duration_ms),
    })
}
