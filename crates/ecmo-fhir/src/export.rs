//! Bundle export: the registry as FHIR resources (read back by `import` without loss), and a
//! run's derived scores as Observations with components, to flow back into the EHR.

use crate::import::synthetic_tag;
use crate::mapping::{Mapping, Target};
use crate::{UCUM, code_system, extension_url};
use ecmo_domain::{EventKind, Patient, RunRecord, Timestamp, Unit};
use ecmo_store::{Store, StoreError};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Value, json};
use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::io::Write;

/// How times are written: the registry keeps wall-clock times without a zone, FHIR wants an
/// offset with every time, so the centre's offset is stated (default `+00:00`).
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub utc_offset: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions { utc_offset: "+00:00".into() }
    }
}

impl ExportOptions {
    fn time(&self, t: Timestamp) -> String {
        format!("{t}:00{}", self.utc_offset)
    }
}

fn coding(m: &Mapping, t: Target) -> Value {
    let (system, code, display) = m.coding_for(t);
    json!({ "coding": [{ "system": system, "code": code, "display": display }] })
}

fn quantity(m: &Mapping, value: f64, unit: Unit, q: Option<ecmo_domain::Quantity>) -> Value {
    let code = m.ucum_for(unit, q);
    json!({ "value": value, "unit": code, "system": UCUM, "code": code })
}

fn ext(name: &str, key: &str, value: Value) -> Value {
    let mut e = serde_json::Map::new();
    e.insert("url".into(), extension_url(name).into());
    e.insert(key.into(), value);
    Value::Object(e)
}

fn entry(resource: Value) -> Value {
    json!({ "resource": resource })
}

fn patient_resources(m: &Mapping, p: &Patient, at: Timestamp, o: &ExportOptions) -> Vec<Value> {
    let mut extensions = Vec::new();
    if let Some(a) = p.age_years {
        extensions.push(ext("age_years", "valueDecimal", json!(a)));
    }
    let c = &p.chronic;
    for (name, v) in [
        ("liver_cirrhosis", c.liver_cirrhosis),
        ("heart_failure_nyha_iv", c.heart_failure_nyha_iv),
        ("severe_respiratory", c.severe_respiratory),
        ("chronic_dialysis", c.chronic_dialysis),
        ("immunocompromised", c.immunocompromised),
        ("chronic_renal_failure", c.chronic_renal_failure),
    ] {
        if let Some(v) = v {
            extensions.push(ext(name, "valueBoolean", json!(v)));
        }
    }
    let mut patient = json!({ "resourceType": "Patient", "id": p.id, "gender": p.sex.code() });
    if let Some(y) = p.birth_year {
        patient["birthDate"] = json!(format!("{y:04}"));
    }
    if !extensions.is_empty() {
        patient["extension"] = Value::Array(extensions);
    }
    let mut out = vec![patient];
    for (col, value, unit) in [("weight_kg", Some(p.weight_kg), "kg"), ("height_cm", p.height_cm, "cm")] {
        let Some(v) = value else { continue };
        out.push(json!({
            "resourceType": "Observation",
            "id": format!("{}-{}", p.id, col.replace('_', "-")),
            "status": "final",
            "code": coding(m, Target::PatientColumn(if col == "weight_kg" { "weight_kg" } else { "height_cm" })),
            "subject": { "reference": format!("Patient/{}", p.id) },
            "effectiveDateTime": o.time(at),
            "valueQuantity": { "value": v, "unit": unit, "system": UCUM, "code": unit },
        }));
    }
    out
}

/// Every resource of one run (its Encounter, the ECMO Procedure and all records).
pub fn run_resources(m: &Mapping, rec: &RunRecord, o: &ExportOptions) -> Vec<Value> {
    let r = &rec.run;
    let a = &r.arrest;
    let subject = json!({ "reference": format!("Patient/{}", rec.patient.id) });
    let encounter = json!({ "reference": format!("Encounter/{}", r.id) });
    let mut extensions = vec![
        ext("mode", "valueCode", json!(r.mode.code())),
        ext("etiology", "valueCode", json!(r.etiology.code())),
        ext("admission_type", "valueCode", json!(r.admission_type.code())),
        ext("arrest", "valueCode", json!(a.location.code())),
        ext("ecpr", "valueBoolean", json!(a.ecpr)),
        ext("first_rhythm", "valueCode", json!(a.first_rhythm.code())),
        ext("arrival_rhythm", "valueCode", json!(a.arrival_rhythm.code())),
    ];
    for (name, t) in [
        ("collapse_time", a.collapse),
        ("cpr_start_time", a.cpr_start),
        ("emergency_call_time", a.emergency_call),
        ("hospital_arrival_time", a.hospital_arrival),
        ("rosc_time", a.rosc),
    ] {
        if let Some(t) = t {
            extensions.push(ext(name, "valueDateTime", json!(o.time(t))));
        }
    }
    for (name, v) in [
        ("no_flow_min", a.no_flow_min),
        ("low_flow_min", a.low_flow_min),
        ("ventilation_hours_before", r.ventilation_hours_before),
    ] {
        if let Some(v) = v {
            extensions.push(ext(name, "valueDecimal", json!(v)));
        }
    }
    if let Some(c) = &r.cohort {
        extensions.push(ext("cohort", "valueString", json!(c)));
    }
    let finished = r.decannulation.is_some();
    let mut enc = json!({
        "resourceType": "Encounter",
        "id": r.id,
        "status": if finished { "finished" } else { "in-progress" },
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter" },
        "subject": subject,
        "extension": extensions,
    });
    if let Some(t) = r.icu_admission {
        enc["period"] = json!({ "start": o.time(t) });
    }
    let mut period = json!({ "start": o.time(r.flow_start) });
    if let Some(t) = r.decannulation {
        period["end"] = json!(o.time(t));
    }
    let mut out = vec![
        enc,
        json!({
            "resourceType": "Procedure",
            "id": format!("{}-ecmo", r.id),
            "status": if finished { "completed" } else { "in-progress" },
            "code": coding(m, Target::Ecmo),
            "subject": subject,
            "encounter": encounter,
            "performedPeriod": period,
        }),
    ];
    for (i, ob) in rec.observations.iter().enumerate() {
        let mut res = json!({
            "resourceType": "Observation",
            "id": format!("{}-o{i}", r.id),
            "status": "final",
            "code": coding(m, Target::Quantity(ob.quantity)),
            "subject": subject,
            "encounter": encounter,
            "valueQuantity": quantity(m, ob.entered_value, ob.entered_unit, Some(ob.quantity)),
        });
        match ob.start {
            Some(s) => res["effectivePeriod"] = json!({ "start": o.time(s), "end": o.time(ob.time) }),
            None => res["effectiveDateTime"] = json!(o.time(ob.time)),
        }
        out.push(res);
    }
    for (i, inf) in rec.infusions.iter().enumerate() {
        let mut extensions = vec![
            ext("salt", "valueCode", json!(inf.salt.code())),
            ext("dosing_weight_kg", "valueDecimal", json!(inf.weight_kg)),
        ];
        if let Some(c) = inf.concentration {
            let code = m.ucum_for_concentration(c.unit.symbol());
            extensions.push(ext(
                "concentration",
                "valueQuantity",
                json!({ "value": c.value, "unit": code, "system": UCUM, "code": code }),
            ));
        }
        out.push(json!({
            "resourceType": "MedicationAdministration",
            "id": format!("{}-i{i}", r.id),
            "status": "completed",
            "medicationCodeableConcept": coding(m, Target::Drug(inf.drug)),
            "subject": subject,
            "context": encounter,
            "effectiveDateTime": o.time(inf.time),
            "dosage": { "rateQuantity": quantity(m, inf.entered_rate, inf.entered_unit, None) },
            "extension": extensions,
        }));
    }
    for (i, s) in rec.supports.iter().enumerate() {
        let mut period = json!({ "start": o.time(s.start) });
        if let Some(t) = s.stop {
            period["end"] = json!(o.time(t));
        }
        out.push(json!({
            "resourceType": "Procedure",
            "id": format!("{}-s{i}", r.id),
            "status": if s.stop.is_some() { "completed" } else { "in-progress" },
            "code": coding(m, Target::Support(s.kind)),
            "subject": subject,
            "encounter": encounter,
            "performedPeriod": period,
        }));
    }
    for (i, e) in rec.events.iter().enumerate() {
        let note = e.detail.as_ref().map(|d| json!([{ "text": d }]));
        let mut res = if matches!(e.kind, EventKind::VadImplant | EventKind::HeartTransplant) {
            json!({
                "resourceType": "Procedure",
                "id": format!("{}-e{i}", r.id),
                "status": "completed",
                "code": coding(m, Target::Event(e.kind)),
                "subject": subject,
                "encounter": encounter,
                "performedDateTime": o.time(e.time),
            })
        } else {
            let mut res = json!({
                "resourceType": "Observation",
                "id": format!("{}-e{i}", r.id),
                "status": "final",
                "code": coding(m, Target::Event(e.kind)),
                "subject": subject,
                "encounter": encounter,
                "effectiveDateTime": o.time(e.time),
            });
            if let Some(v) = e.value {
                res["valueQuantity"] = json!({ "value": v });
            }
            res
        };
        if let Some(n) = note {
            res["note"] = n;
        }
        out.push(res);
    }
    out
}

/// Why a registry export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the Bundle: {0}")]
    Write(#[from] serde_json::Error),
}

/// What a registry export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub patients: usize,
    pub runs: usize,
    pub resources: usize,
}

/// A source of runs, handed to a callback one at a time (`Store::for_each_run`).
pub type RunSource<'a> = dyn FnMut(&mut dyn FnMut(RunRecord) -> Result<(), StoreError>) -> Result<(), StoreError> + 'a;

/// The whole registry as a `collection` Bundle, written to `out` run by run: each patient
/// once (before their first run), then the run's resources.
///
/// Memory is that of one run: every run's resources are written before the next run is
/// read, so a registry of any size is exported without building the Bundle. The `meta` tag
/// that marks synthetic data can only be known at the end, so it follows `entry` (JSON
/// members are unordered).
pub fn write_registry_bundle<W: Write>(
    store: &dyn Store,
    o: &ExportOptions,
    out: W,
) -> Result<ExportSummary, ExportError> {
    write_bundle_of_runs(&mut |f| store.for_each_run(f), o, out)
}

/// [`write_registry_bundle`] over any source of runs.
pub fn write_bundle_of_runs<W: Write>(
    runs: &mut RunSource,
    o: &ExportOptions,
    out: W,
) -> Result<ExportSummary, ExportError> {
    let stream = RegistryStream {
        runs: RefCell::new(runs),
        o,
        failed: RefCell::new(None),
        summary: Cell::new(ExportSummary::default()),
    };
    let mut ser = serde_json::Serializer::pretty(out);
    let written = stream.serialize(&mut ser);
    // A store error is carried through the serializer as a message; report the original.
    if let Some(e) = stream.failed.borrow_mut().take() {
        return Err(e.into());
    }
    written?;
    Ok(stream.summary.get())
}

struct RegistryStream<'a, 'b> {
    runs: RefCell<&'a mut RunSource<'b>>,
    o: &'a ExportOptions,
    failed: RefCell<Option<StoreError>>,
    summary: Cell<ExportSummary>,
}

/// The `entry` array of the registry Bundle, serialised while the runs are read.
struct Entries<'s, 'a, 'b> {
    stream: &'s RegistryStream<'a, 'b>,
    synthetic: &'s Cell<bool>,
}

#[derive(Serialize)]
struct Entry<'a> {
    resource: &'a Value,
}

impl Serialize for RegistryStream<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let synthetic = Cell::new(true);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("resourceType", "Bundle")?;
        map.serialize_entry("type", "collection")?;
        map.serialize_entry("entry", &Entries { stream: self, synthetic: &synthetic })?;
        if self.summary.get().runs > 0 && synthetic.get() {
            map.serialize_entry("meta", &json!({ "tag": [synthetic_tag()] }))?;
        }
        map.end()
    }
}

impl Serialize for Entries<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = Mapping::builtin();
        let o = self.stream.o;
        let mut seq = s.serialize_seq(None)?;
        let mut seen = HashSet::new();
        let mut summary = ExportSummary::default();
        let mut write_error = None;
        let mut write = |resources: Vec<Value>, summary: &mut ExportSummary| -> Result<(), StoreError> {
            for r in &resources {
                if let Err(e) = seq.serialize_element(&Entry { resource: r }) {
                    write_error = Some(e);
                    // Stops the store's iteration; the write error is what is reported.
                    return Err(StoreError::Config("the Bundle could not be written".into()));
                }
                summary.resources += 1;
            }
            Ok(())
        };
        let read = (self.stream.runs.borrow_mut())(&mut |rec| {
            summary.runs += 1;
            let synthetic = rec.run.cohort.as_deref().is_some_and(|c| c.starts_with("synthetic:"));
            self.synthetic.set(self.synthetic.get() && synthetic);
            if seen.insert(rec.patient.id.clone()) {
                summary.patients += 1;
                write(patient_resources(m, &rec.patient, rec.run.flow_start, o), &mut summary)?;
            }
            write(run_resources(m, &rec, o), &mut summary)
        });
        self.stream.summary.set(summary);
        if let Some(e) = write_error {
            return Err(e);
        }
        if let Err(e) = read {
            let message = e.to_string();
            *self.stream.failed.borrow_mut() = Some(e);
            return Err(S::Error::custom(message));
        }
        seq.end()
    }
}

/// One run's derived results (scores with their components, derived values) as Observations.
///
/// Walks the serialised `RunScores`, so that every result the scores crate derives is
/// exported with its name, unit and, for point scores, each component's points and value.
pub fn scores_bundle(rec: &RunRecord, scores: &ecmo_scores::run_scores::RunScores, o: &ExportOptions) -> Value {
    let value = serde_json::to_value(scores).unwrap_or(Value::Null);
    let ctx = ScoreCtx {
        run: &rec.run.id,
        patient: &rec.patient.id,
        at: o.time(scores.as_of),
        as_of_hours: scores.as_of_hours,
    };
    let mut out = Vec::new();
    if let Value::Object(fields) = &value {
        for (key, v) in fields {
            walk(&ctx, key, v, &mut out);
        }
    }
    let entries: Vec<Value> = out.into_iter().map(entry).collect();
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}

struct ScoreCtx<'a> {
    run: &'a str,
    patient: &'a str,
    at: String,
    as_of_hours: f64,
}

fn score_coding(code: &str, display: Option<&str>) -> Value {
    json!({ "coding": [{ "system": code_system("score"), "code": code, "display": display.unwrap_or(code) }], "text": display.unwrap_or(code) })
}

fn typed_value(v: &Value, unit: Option<&str>) -> Option<(&'static str, Value)> {
    match v {
        Value::Number(n) => {
            let mut q = json!({ "value": n });
            if let Some(u) = unit.filter(|u| !u.is_empty() && *u != "yes/no") {
                q["unit"] = json!(u);
            }
            Some(("valueQuantity", q))
        }
        Value::Bool(b) => Some(("valueBoolean", json!(b))),
        Value::String(s) => Some(("valueString", json!(s))),
        _ => None,
    }
}

fn walk(ctx: &ScoreCtx, key: &str, v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(o) if o.contains_key("components") && o.contains_key("score") => {
            out.push(score_observation(ctx, key, o))
        }
        Value::Object(o) if o.contains_key("name") && o.contains_key("value") && o.contains_key("provenance") => {
            out.push(derived_observation(ctx, o))
        }
        Value::Object(o) => {
            for (k, v) in o {
                walk(ctx, &format!("{key}.{k}"), v, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(ctx, &format!("{key}[{i}]"), item, out);
            }
        }
        _ => {}
    }
}

fn base_observation(ctx: &ScoreCtx, id: &str, code: Value) -> Value {
    json!({
        "resourceType": "Observation",
        "id": format!("{}-{}", ctx.run, id.replace(['.', '_', '[', ']'], "-")),
        "status": "final",
        "category": [{ "coding": [{ "system": code_system("score"), "code": "derived", "display": "derived by ecmo-cds" }] }],
        "code": code,
        "subject": { "reference": format!("Patient/{}", ctx.patient) },
        "encounter": { "reference": format!("Encounter/{}", ctx.run) },
        "effectiveDateTime": ctx.at,
        "method": { "text": format!("ecmo-cds run scores as known {} h after ECMO flow start", ctx.as_of_hours) },
    })
}

fn score_observation(ctx: &ScoreCtx, key: &str, o: &serde_json::Map<String, Value>) -> Value {
    let name = o.get("score").and_then(Value::as_str).unwrap_or(key);
    let mut res = base_observation(ctx, key, score_coding(key, Some(name)));
    match o.get("total") {
        Some(Value::Number(n)) => res["valueQuantity"] = json!({ "value": n, "unit": "{score}" }),
        _ => res["dataAbsentReason"] = json!({ "text": "not computable: inputs missing (see note)" }),
    }
    let components: Vec<Value> = o
        .get("components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("component");
            let mut comp = json!({
                "code": { "coding": [{ "system": code_system("score-component"), "code": format!("{name}.{cname}") }], "text": cname },
                "valueQuantity": { "value": c.get("points").cloned().unwrap_or(Value::Null), "unit": "{points}" },
            });
            let mut text = Vec::new();
            if let Some(v) = c.get("value").filter(|v| !v.is_null()) {
                let unit = c.get("unit").and_then(Value::as_str).unwrap_or("");
                text.push(format!("value used: {v} {unit}").trim_end().to_string());
            }
            if let Some(t) = c.get("time").and_then(Value::as_str) {
                text.push(format!("at {t}"));
            }
            if let Some(n) = c.get("note").and_then(Value::as_str) {
                text.push(n.to_string());
            }
            if !text.is_empty() {
                comp["code"]["text"] = json!(format!("{cname} ({})", text.join(", ")));
            }
            comp
        })
        .collect();
    res["component"] = Value::Array(components);
    let mut notes = Vec::new();
    for k in ["definition", "population", "class", "risk"] {
        if let Some(s) = o.get(k).and_then(Value::as_str) {
            notes.push(json!({ "text": format!("{k}: {s}") }));
        }
    }
    for k in ["missing", "assumed", "warnings"] {
        let items: Vec<&str> =
            o.get(k).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        if !items.is_empty() {
            notes.push(json!({ "text": format!("{k}: {}", items.join(", ")) }));
        }
    }
    res["note"] = Value::Array(notes);
    res
}

fn derived_observation(ctx: &ScoreCtx, o: &serde_json::Map<String, Value>) -> Value {
    let name = o.get("name").and_then(Value::as_str).unwrap_or("derived");
    let mut res = base_observation(ctx, name, score_coding(name, None));
    let unit = o.get("unit").and_then(Value::as_str);
    match o.get("value").and_then(|v| typed_value(v, unit)) {
        Some((k, v)) => res[k] = v,
        None => {
            let why = o.get("undefined").and_then(Value::as_str).unwrap_or("no records to derive it from");
            res["dataAbsentReason"] = json!({ "text": why });
        }
    }
    let based_on: Vec<String> = o
        .get("provenance")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {} {} at {}",
                p.get("code").and_then(Value::as_str).unwrap_or(""),
                p.get("value").map(|v| v.to_string()).unwrap_or_default(),
                p.get("unit").and_then(Value::as_str).unwrap_or(""),
                p.get("time").and_then(Value::as_str).unwrap_or("")
            )
        })
        .collect();
    let mut notes = Vec::new();
    if let Some(n) = o.get("note").and_then(Value::as_str) {
        notes.push(json!({ "text": n }));
    }
    if !based_on.is_empty() {
        notes.push(json!({ "text": format!("based on: {}", based_on.join("; ")) }));
    }
    if !notes.is_empty() {
        res["note"] = Value::Array(notes);
    }
    res
}
