//! The audit log as a FHIR R4 `Bundle` (type `collection`) of `AuditEvent`
//! resources, written by hand: no maintained Rust crate covers FHIR R4 resources
//! at this size. Each event carries its chain position and hash as extensions-free
//! `entity` details so an export can be re-verified.

use ecmo_store::StoreError;
use ecmo_store::audit::{AuditEntry, AuditLog, utc};
use serde_json::{Value, json};

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const ACTION: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";

/// FHIR AuditEvent.action: C create, R read, U update, D delete, E execute.
fn action_code(action: &str) -> &'static str {
    match action {
        "create" => "C",
        "update" => "U",
        "delete" => "D",
        "read" => "R",
        _ => "E",
    }
}

/// Event type: DICOM 110110 Patient Record, 110114 User Authentication, 110106 Export.
fn event_type(action: &str) -> (&'static str, &'static str, &'static str) {
    match action {
        "login" | "logout" => (DCM, "110114", "User Authentication"),
        "export" => (DCM, "110106", "Export"),
        _ => (ACTION, "rest", "RESTful Operation"),
    }
}

pub fn audit_event(e: &AuditEntry) -> Value {
    let r = &e.record;
    let (system, code, display) = event_type(&r.action);
    // FHIR outcome: 0 success, 4 minor failure (refused).
    let outcome = if r.outcome == "success" { "0" } else { "4" };
    let mut entity = vec![json!({
        "what": { "display": r.what },
        "detail": [
            { "type": "seq", "valueString": e.seq.to_string() },
            { "type": "prev_hash", "valueString": e.prev_hash },
            { "type": "hash", "valueString": e.hash },
        ]
    })];
    if let Some(p) = &r.patient_id {
        entity.push(json!({
            "what": { "reference": format!("Patient/{p}") },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
            "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" }
        }));
    }
    json!({
        "resourceType": "AuditEvent",
        "id": format!("audit-{}", e.seq),
        "type": { "system": system, "code": code, "display": display },
        "subtype": [{ "system": "urn:ecmo-cds:audit-action", "code": r.action }],
        "action": action_code(&r.action),
        "recorded": utc(r.at),
        "outcome": outcome,
        "outcomeDesc": r.outcome,
        "agent": [{
            "who": { "identifier": { "value": r.who } },
            "role": [{ "text": r.role }],
            "requestor": true,
            "network": { "address": r.from, "type": "2" }
        }],
        "source": { "observer": { "display": "ecmo-cds" } },
        "entity": entity
    })
}

/// The whole log as a Bundle, oldest first.
pub fn export(log: &dyn AuditLog) -> Result<Value, StoreError> {
    let n = log.audit_len()?;
    let mut entries = Vec::with_capacity(n.max(0) as usize);
    let mut first = 1;
    while first <= n {
        let block = log.audit_range(first, (first + 9_999).min(n))?;
        if block.is_empty() {
            break;
        }
        first += block.len() as i64;
        entries.extend(block.iter().map(|e| json!({ "resource": audit_event(e) })));
    }
    Ok(json!({ "resourceType": "Bundle", "type": "collection", "total": entries.len(), "entry": entries }))
}
