//! The JSON documents of `--format json`. Their shape is documented in
//! `docs/src/json-output.md`; change both together.

use serde_json::{Value, json};

use schema_sync_core::{
    Error, FleetReport, SchemaSnapshot, SnapshotHash, TenantContext, TenantReport, TenantStatus,
};

/// `{"kind": ..., "message": ...}` or null.
pub fn error_value(error: Option<&Error>) -> Value {
    match error {
        Some(error) => json!({ "kind": error.kind(), "message": error.to_string() }),
        None => Value::Null,
    }
}

fn status_name(status: TenantStatus) -> Value {
    serde_json::to_value(status).unwrap_or(Value::Null)
}

fn tenant_value(report: &TenantReport, include_plan: bool) -> Value {
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
    }
    value
}

/// The document of `sync`, `diff` and `validate`.
pub fn fleet_document(
    command: &str,
    target: &SnapshotHash,
    report: &FleetReport,
    include_plan: bool,
    duration_ms: u128,
) -> Value {
    let mut summary = serde_json::to_value(report.summary).unwrap_or(Value::Null);
    summary["duration_ms"] = json!(duration_ms);
    json!({
        "command": command,
        "target_hash": target,
        "tenants": report.tenants.iter().map(|r| tenant_value(r, include_plan)).collect::<Vec<_>>(),
        "summary": summary,
    })
}

/// The document of `audit`.
pub fn audit_document(
    results: &[(TenantContext, schema_sync_core::Result<SchemaSnapshot>)],
    snapshots: bool,
    duration_ms: u128,
) -> Value {
    let tenants: Vec<Value> = results
        .iter()
        .map(|(tenant, result)| match result {
            Ok(snapshot) => {
                let mut value = json!({
                    "tenant": tenant.id(),
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
            Err(error) => json!({ "tenant": tenant.id(), "hash": Value::Null, "error": error_value(Some(error)) }),
        })
        .collect();
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    let distinct: std::collections::BTreeSet<_> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(SchemaSnapshot::hash))
        .collect();
    json!({
        "command": "audit",
        "tenants": tenants,
        "summary": { "total": results.len(), "failed": failed, "distinct_schemas": distinct.len(), "duration_ms": duration_ms },
    })
}
