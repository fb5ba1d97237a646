//! Values the team records by hand (echo findings, neurological status, events),
//! validated by the registry importer itself: a form becomes a one-row
//! `events.csv` or `observations.csv` batch and goes through
//! `ecmo_store::csv_format::read_file` and `Store::import`, so a value the
//! importer would refuse is refused here with the same reason.

use crate::error::FieldError;
use crate::state::WebStore;
use ecmo_store::audit::AuditRecord;
use ecmo_store::csv_format::{self, Context, ReadOutcome};
use ecmo_store::{ConflictPolicy, ImportReport, StoreError};
use serde::{Deserialize, Serialize};

/// One hand-recorded value. `kind` is `event` (code = event code, e.g. `echo_lvef`)
/// or `observation` (code = quantity code, e.g. `gcs`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Entry {
    pub kind: String,
    pub code: String,
    /// `YYYY-MM-DD HH:MM`, the centre's wall-clock time.
    pub time: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub detail: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Accepted {
    pub run_id: String,
    pub kind: String,
    pub code: String,
    pub time: String,
    /// Values accepted but outside the usual range, to be confirmed.
    pub warnings: Vec<FieldError>,
    /// False when the identical record was already stored.
    pub inserted: bool,
}

/// The codes the form offers (anything else the importer accepts is accepted too).
pub const EVENT_CODES: &[&str] = &[
    "echo_lvef",
    "echo_aortic_valve",
    "cpc",
    "stroke",
    "bleeding",
    "limb_ischaemia",
    "sepsis",
    "cardiac_recovery",
    "recannulation",
    "death",
];
pub const OBSERVATION_CODES: &[&str] = &["gcs", "nse", "lactate", "map", "pump_flow"];

fn blank(s: &Option<String>) -> &str {
    s.as_deref().map(str::trim).unwrap_or("")
}

/// The registry column a form field stands for, and back.
fn field_of(column: &str) -> String {
    match column {
        "event" | "quantity" => "code".into(),
        c => c.into(),
    }
}

fn errors_of(out: &[ecmo_store::csv_format::RowError]) -> Vec<FieldError> {
    out.iter()
        .map(|e| FieldError {
            field: e.column.as_deref().map(field_of),
            value: e.value.clone(),
            reason: e.reason.clone(),
        })
        .collect()
}

/// The audit record of an entry: `audit` with the outcome set to success or the first refusal.
fn outcome(audit: &AuditRecord, refusals: &[FieldError]) -> AuditRecord {
    let outcome = match refusals.first() {
        None => "success".to_string(),
        Some(e) => format!("refused: {}", e.reason),
    };
    AuditRecord { outcome, ..audit.clone() }
}

/// Append the refusal of an entry that never reached the registry, and pass the refusal on.
fn refuse(
    store: &mut dyn WebStore,
    audit: &AuditRecord,
    errors: Vec<FieldError>,
) -> Result<Result<Accepted, Vec<FieldError>>, StoreError> {
    store.append_audit(&outcome(audit, &errors))?;
    Ok(Err(errors))
}

/// Validate `entry` for `run_id` exactly as an import would, then store it together with
/// its audit entry (`audit`, whose outcome is filled in): one transaction, so a value is
/// never stored without its audit entry. `Ok(Err(errors))` means the entry was refused,
/// nothing was written and the refusal was audited.
pub fn record(
    store: &mut dyn WebStore,
    run_id: &str,
    entry: &Entry,
    who: &str,
    at: &str,
    audit: &AuditRecord,
) -> Result<Result<Accepted, Vec<FieldError>>, StoreError> {
    let (file, header, row): (&str, &[&str], Vec<&str>) = match entry.kind.as_str() {
        "event" => (
            csv_format::EVENTS,
            &["run_id", "time", "event", "value", "detail"],
            vec![run_id, entry.time.trim(), entry.code.trim(), blank(&entry.value), blank(&entry.detail)],
        ),
        "observation" => (
            csv_format::OBSERVATIONS,
            &["run_id", "time", "quantity", "value", "unit"],
            vec![run_id, entry.time.trim(), entry.code.trim(), blank(&entry.value), blank(&entry.unit)],
        ),
        other => {
            let error = FieldError {
                field: Some("kind".into()),
                value: Some(other.into()),
                reason: "expected 'event' or 'observation'".into(),
            };
            return refuse(store, audit, vec![error]);
        }
    };
    let mut bytes = Vec::new();
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        let written = w.write_record(header).and_then(|_| w.write_record(&row)).and_then(|_| Ok(w.flush()?));
        if let Err(e) = written {
            return Err(StoreError::Corrupt(format!("cannot build the entry row: {e}")));
        }
    }
    let mut out = ReadOutcome::default();
    {
        let reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
        let known: &dyn ecmo_store::csv_format::KnownRuns = &*store;
        let mut ctx = Context::new(known);
        csv_format::read_file(file, reader, &mut ctx, &mut out);
    }
    if !out.errors.is_empty() {
        return refuse(store, audit, errors_of(&out.errors));
    }
    let mut batch = out.batch;
    // Provenance of a hand-entered value: who entered it and when, not a file line.
    let source = Some(format!("entered by {who} at {at}"));
    for e in &mut batch.events {
        e.item.1.source = source.clone();
    }
    for o in &mut batch.observations {
        o.item.1.source = source.clone();
    }
    batch.source = format!("web form ({who})");
    let warnings = errors_of(&batch.warnings);
    let refusals = |report: &ImportReport| {
        let mut errs = errors_of(&report.conflicts);
        for e in &mut errs {
            e.field = Some("time".into());
            e.value = Some(entry.time.clone());
        }
        errs
    };
    let written = store.import_audited(&batch, ConflictPolicy::RejectAll, &|r| outcome(audit, &refusals(r)));
    let report = match written {
        Ok((report, _)) => report,
        Err(e) => {
            // Nothing was written. Log the attempt if the log takes it (a failure to log it
            // changes nothing for the caller, who gets the store's error either way). Not the
            // database's message: it can quote the values of the row.
            let failed = AuditRecord { outcome: "failed: database error, nothing stored".into(), ..audit.clone() };
            let _ = store.append_audit(&failed);
            return Err(e);
        }
    };
    if !report.conflicts.is_empty() {
        return Ok(Err(refusals(&report)));
    }
    Ok(Ok(Accepted {
        run_id: run_id.into(),
        kind: entry.kind.clone(),
        code: entry.code.trim().into(),
        time: entry.time.trim().into(),
        warnings,
        inserted: report.inserted.total() > 0,
    }))
}
