//! Bundle import: each resource becomes rows of the registry CSV format, which the CSV
//! reader validates; its findings are reported against the Bundle entry and FHIR element.

use crate::mapping::{Mapping, Target};
use crate::{UCUM, code_system, extension_url};
use ecmo_store::csv_format::{
    self, Batch, Context, EVENT_COLUMNS, EVENTS, INFUSION_COLUMNS, INFUSIONS, KnownRuns, OBSERVATION_COLUMNS,
    OBSERVATIONS, PATIENT_COLUMNS, PATIENTS, RUN_COLUMNS, RUNS, ReadOutcome, RowError, SUPPORT, SUPPORT_COLUMNS,
};
use ecmo_store::{ConflictPolicy, Counts, Store, StoreError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One problem with one resource of a Bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FhirIssue {
    /// Index of the entry in `Bundle.entry` (0-based); `None` for the Bundle itself.
    pub entry: Option<usize>,
    /// `Type/id` of the resource.
    pub resource: String,
    /// FHIR element path, e.g. `Observation.valueQuantity.code`.
    pub path: String,
    pub value: Option<String>,
    pub reason: String,
}

impl fmt::Display for FhirIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry {
            Some(i) => write!(f, "Bundle.entry[{i}] {}", self.resource)?,
            None => f.write_str("Bundle")?,
        }
        write!(f, " {}", self.path)?;
        if let Some(v) = &self.value {
            write!(f, " value '{v}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("not a FHIR Bundle: {0}")]
    NotABundle(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The outcome of importing a Bundle (the FHIR twin of `ecmo_store::DirImport`).
#[derive(Debug, Serialize)]
pub struct BundleImport {
    pub source: String,
    pub synthetic: bool,
    /// Resources refused: unknown codes, missing units, unit mismatches, bad values, references.
    pub invalid: Vec<FhirIssue>,
    /// Resources that record an item the registry already holds with other values.
    pub conflicts: Vec<FhirIssue>,
    /// Values accepted but unusual, to be confirmed.
    pub warnings: Vec<FhirIssue>,
    /// Observations of derived scores (written by `ecmo fhir export`), which are not data.
    pub derived_skipped: u64,
    pub inserted: Counts,
    pub unchanged: Counts,
    pub committed: bool,
}

/// Where a registry cell came from.
#[derive(Debug, Clone)]
struct Loc {
    entry: usize,
    resource: String,
    path: String,
}

/// A registry row built from one or more resources, each cell with its origin.
struct PendingRow {
    main: Loc,
    cells: Vec<(&'static str, String, Loc)>,
}

impl PendingRow {
    fn new(main: Loc) -> Self {
        PendingRow { main, cells: Vec::new() }
    }
    fn set(&mut self, column: &'static str, value: Option<String>, path: &str) {
        if let Some(v) = value {
            let loc = Loc { path: path.to_string(), ..self.main.clone() };
            self.cells.push((column, v, loc));
        }
    }
    fn set_at(&mut self, column: &'static str, value: Option<String>, loc: Loc) {
        if let Some(v) = value {
            self.cells.push((column, v, loc));
        }
    }
    fn loc_of(&self, column: &str) -> Loc {
        self.cells.iter().find(|c| c.0 == column).map(|c| c.2.clone()).unwrap_or_else(|| {
            // A required cell that no element supplied: name where it is expected.
            let mut l = self.main.clone();
            l.path = expected_path(&l.resource, column);
            l
        })
    }
}

/// The element a registry column is read from, for messages about a missing value.
fn expected_path(resource: &str, column: &str) -> String {
    let ty = resource.split('/').next().unwrap_or("");
    let p = match (ty, column) {
        ("Patient", "patient_id") => "Patient.id",
        ("Patient", "sex") => "Patient.gender",
        ("Patient", "weight_kg") => "Observation (LOINC 29463-7 body weight) with subject this Patient",
        ("Patient", "age_years" | "birth_year") => "Patient.birthDate or Patient.extension(age_years)",
        ("Encounter", "patient_id") => "Encounter.subject",
        ("Encounter", "flow_start") => "Procedure (SNOMED CT 233573008 ECMO) performedPeriod.start for this Encounter",
        ("Observation", "run_id") | ("Procedure", "run_id") => "encounter",
        ("Observation", "time") => "Observation.effectiveDateTime",
        ("Observation", "value") => "Observation.valueQuantity.value",
        ("Observation", "unit") => "Observation.valueQuantity.code",
        ("MedicationAdministration", "run_id") => "MedicationAdministration.context",
        ("MedicationAdministration", "time") => "MedicationAdministration.effectiveDateTime",
        ("MedicationAdministration", "rate") => "MedicationAdministration.dosage.rateQuantity.value",
        ("MedicationAdministration", "unit") => "MedicationAdministration.dosage.rateQuantity.code",
        ("Procedure", "start" | "time") => "Procedure.performedPeriod.start",
        _ => return format!("{ty}.extension({})", extension_url(column)),
    };
    p.to_string()
}

/// Rows per registry file, in the order the CSV reader needs them.
#[derive(Default)]
struct Rows {
    by_file: BTreeMap<usize, Vec<PendingRow>>,
}

const FILES: [(&str, &[(&str, bool)]); 6] = [
    (PATIENTS, PATIENT_COLUMNS),
    (RUNS, RUN_COLUMNS),
    (OBSERVATIONS, OBSERVATION_COLUMNS),
    (INFUSIONS, INFUSION_COLUMNS),
    (SUPPORT, SUPPORT_COLUMNS),
    (EVENTS, EVENT_COLUMNS),
];

impl Rows {
    fn push(&mut self, file: &str, row: PendingRow) {
        let i = FILES.iter().position(|f| f.0 == file).unwrap_or(5);
        self.by_file.entry(i).or_default().push(row);
    }
}

/// A resource being read, with helpers that record problems against it.
pub struct Res<'a> {
    entry: usize,
    ty: String,
    id: String,
    json: &'a Value,
}

impl Res<'_> {
    fn name(&self) -> String {
        format!("{}/{}", self.ty, self.id)
    }
    fn loc(&self, path: &str) -> Loc {
        Loc { entry: self.entry, resource: self.name(), path: path.to_string() }
    }
    fn issue(&self, path: &str, value: Option<String>, reason: impl Into<String>) -> FhirIssue {
        FhirIssue {
            entry: Some(self.entry),
            resource: self.name(),
            path: path.to_string(),
            value,
            reason: reason.into(),
        }
    }
    fn get(&self, path: &str) -> Option<&Value> {
        path.split('.').try_fold(self.json, |v, k| v.get(k))
    }
    fn text(&self, path: &str) -> Option<String> {
        self.get(path).and_then(scalar)
    }
    /// The first annotation's text.
    fn note(&self) -> Option<String> {
        self.json.pointer("/note/0/text").and_then(scalar)
    }
    /// The value of an ecmo-cds extension named after a registry column.
    fn extension(&self, name: &str) -> Option<&Value> {
        let url = extension_url(name);
        self.json.get("extension")?.as_array()?.iter().find(|e| e.get("url").and_then(Value::as_str) == Some(&url))
    }
    fn extension_text(&self, name: &str) -> Option<String> {
        let e = self.extension(name)?;
        e.as_object()?.iter().find(|(k, _)| k.starts_with("value")).and_then(|(k, v)| match k.as_str() {
            "valueDateTime" => v.as_str().map(wall_clock),
            "valueQuantity" => v.get("value").and_then(scalar),
            _ => scalar(v),
        })
    }
}

/// A JSON scalar as the registry CSV would spell it.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "yes" } else { "no" }.to_string()),
        _ => None,
    }
}

/// A FHIR dateTime as the registry's wall-clock time: the time zone offset is dropped,
/// because the registry records every time on the centre's wall clock (docs/fhir.md).
fn wall_clock(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() > 16 && b.get(10) == Some(&b'T') {
        let end = if b.get(16) == Some(&b':') && b.len() >= 19 { 19 } else { 16 };
        return s[..end].to_string();
    }
    s.to_string()
}

/// A Bundle read into a registry batch.
pub struct ReadBundle {
    pub batch: Batch,
    /// Resources refused (the batch holds the others).
    pub invalid: Vec<FhirIssue>,
    pub warnings: Vec<FhirIssue>,
    /// Derived-score Observations skipped.
    pub derived: u64,
    /// Maps store findings about the batch back to Bundle entries.
    pub locator: Locator,
}

/// Resolves a reference element to the id of a resource of one type, or records why not.
type ResolveRef<'a> = dyn Fn(&Res, &str, &str, &mut Vec<FhirIssue>) -> Option<String> + 'a;

/// The ECMO Procedure of an Encounter: performed start and end, and where it is.
struct EcmoProcedure {
    start: Option<String>,
    end: Option<String>,
    loc: Loc,
}

/// Read a Bundle into a registry batch, validated exactly like a CSV registry.
pub fn read_bundle(
    json: &str,
    label: &str,
    known: &dyn KnownRuns,
    mapping: &Mapping,
) -> Result<ReadBundle, ImportError> {
    let bundle: Value = serde_json::from_str(json)?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ImportError::NotABundle(format!(
            "resourceType is {}, expected \"Bundle\"",
            bundle.get("resourceType").map(|v| v.to_string()).unwrap_or_else(|| "missing".into())
        )));
    }
    let empty = Vec::new();
    let entries = bundle.get("entry").and_then(Value::as_array).unwrap_or(&empty);
    let mut issues = Vec::new();
    // fullUrl (urn:uuid:…) -> Type/id, for references written as full URLs.
    let mut full_urls: HashMap<String, String> = HashMap::new();
    let mut resources = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(r) = e.get("resource").filter(|r| r.is_object()) else {
            issues.push(FhirIssue {
                entry: Some(i),
                resource: String::new(),
                path: "Bundle.entry.resource".into(),
                value: None,
                reason: "entry has no resource".into(),
            });
            continue;
        };
        let ty = r.get("resourceType").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(id) = r.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
            issues.push(FhirIssue {
                entry: Some(i),
                resource: ty.clone(),
                path: format!("{ty}.id"),
                value: None,
                reason: "resource has no id; the registry keys records by it".into(),
            });
            continue;
        };
        if let Some(u) = e.get("fullUrl").and_then(Value::as_str) {
            full_urls.insert(u.to_string(), format!("{ty}/{id}"));
        }
        resources.push(Res { entry: i, ty, id: id.to_string(), json: r });
    }
    let reference = |res: &Res, path: &str, ty: &str, issues: &mut Vec<FhirIssue>| -> Option<String> {
        let r = res.text(path)?;
        let resolved = full_urls.get(&r).cloned().unwrap_or_else(|| r.clone());
        match resolved.split_once('/') {
            Some((t, id)) if t == ty && !id.is_empty() => Some(id.to_string()),
            _ => {
                issues.push(res.issue(path, Some(r), format!("expected a reference to a {ty} (\"{ty}/ID\")")));
                None
            }
        }
    };

    let mut rows = Rows::default();
    let mut patients: Vec<(PendingRow, String)> = Vec::new();
    let mut encounters: Vec<(PendingRow, String)> = Vec::new();
    // Patient id -> (column, value, origin) from Observations about the patient.
    let mut patient_values: HashMap<String, Vec<(&'static str, String, Loc)>> = HashMap::new();
    // Encounter id -> ECMO procedure (start, end, origin).
    let mut ecmo: HashMap<String, EcmoProcedure> = HashMap::new();
    let mut derived = 0u64;
    let synthetic = bundle
        .pointer("/meta/tag")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t.get("code").and_then(Value::as_str) == Some("synthetic")));

    for res in &resources {
        match res.ty.as_str() {
            "Patient" => {
                let mut row = PendingRow::new(res.loc("Patient"));
                row.set("patient_id", Some(res.id.clone()), "Patient.id");
                row.set("sex", res.text("gender"), "Patient.gender");
                row.set("birth_year", res.text("birthDate").map(|d| d.chars().take(4).collect()), "Patient.birthDate");
                for (col, _) in PATIENT_COLUMNS.iter().skip(2) {
                    if let Some(v) = res.extension_text(col) {
                        row.set(col, Some(v), &format!("Patient.extension({col})"));
                    }
                }
                patients.push((row, res.id.clone()));
            }
            "Encounter" => {
                let mut row = PendingRow::new(res.loc("Encounter"));
                row.set("run_id", Some(res.id.clone()), "Encounter.id");
                row.set("patient_id", reference(res, "subject.reference", "Patient", &mut issues), "Encounter.subject");
                row.set("icu_admission", res.text("period.start").map(|t| wall_clock(&t)), "Encounter.period.start");
                for (col, _) in RUN_COLUMNS {
                    if matches!(*col, "run_id" | "patient_id" | "icu_admission" | "flow_start" | "decannulation") {
                        continue;
                    }
                    if let Some(v) = res.extension_text(col) {
                        row.set(col, Some(v), &format!("Encounter.extension({col})"));
                    }
                }
                encounters.push((row, res.id.clone()));
            }
            "Observation" | "MedicationAdministration" | "Procedure" => {
                let code_path = match res.ty.as_str() {
                    "MedicationAdministration" => "medicationCodeableConcept",
                    _ => "code",
                };
                let codings = res.get(&format!("{code_path}.coding")).and_then(Value::as_array).cloned().unwrap_or_default();
                let target = codings.iter().find_map(|c| {
                    let system = c.get("system").and_then(Value::as_str)?;
                    let code = c.get("code").and_then(Value::as_str)?;
                    mapping.lookup(system, code)
                });
                let Some(target) = target else {
                    let listed: Vec<String> = codings
                        .iter()
                        .map(|c| {
                            format!(
                                "{}|{}",
                                c.get("system").and_then(Value::as_str).unwrap_or("?"),
                                c.get("code").and_then(Value::as_str).unwrap_or("?")
                            )
                        })
                        .collect();
                    issues.push(res.issue(
                        &format!("{}.{code_path}", res.ty),
                        (!listed.is_empty()).then(|| listed.join(", ")),
                        if listed.is_empty() {
                            "no coding; the code says what was measured or given".to_string()
                        } else {
                            "unknown code: no coding is in the mapping (docs/fhir.md lists the codes read)".to_string()
                        },
                    ));
                    continue;
                };
                read_coded(res, target, mapping, &reference, &mut issues, &mut rows, &mut patient_values, &mut ecmo, &mut derived);
            }
            other => issues.push(res.issue(
                other,
                None,
                "resource type not imported (read: Patient, Encounter, Observation, MedicationAdministration, Procedure)",
            )),
        }
    }
    for (mut row, id) in patients {
        for (col, v, loc) in patient_values.remove(&id).unwrap_or_default() {
            row.set_at(col, Some(v), loc);
        }
        rows.push(PATIENTS, row);
    }
    for (pid, values) in patient_values {
        for (_, v, loc) in values {
            issues.push(FhirIssue {
                entry: Some(loc.entry),
                resource: loc.resource,
                path: "Observation.subject".into(),
                value: Some(v),
                reason: format!("refers to Patient/{pid}, which is not in the Bundle"),
            });
        }
    }
    for (mut row, id) in encounters {
        match ecmo.remove(&id) {
            Some(EcmoProcedure { start, end, loc }) => {
                row.set_at("flow_start", start, Loc { path: "Procedure.performedPeriod.start".into(), ..loc.clone() });
                row.set_at("decannulation", end, Loc { path: "Procedure.performedPeriod.end".into(), ..loc });
            }
            None => row.set("flow_start", None, ""),
        }
        rows.push(RUNS, row);
    }
    for (enc, EcmoProcedure { loc, .. }) in ecmo {
        issues.push(FhirIssue {
            entry: Some(loc.entry),
            resource: loc.resource,
            path: "Procedure.encounter".into(),
            value: Some(format!("Encounter/{enc}")),
            reason: "no such Encounter in the Bundle; the ECMO run is the Encounter".into(),
        });
    }

    // Validate with the CSV reader, one registry file after the other.
    let mut ctx = Context::new(known);
    let mut out = ReadOutcome::default();
    let mut locator = Locator::default();
    for (i, (file, columns)) in FILES.iter().enumerate() {
        let Some(file_rows) = rows.by_file.remove(&i) else { continue };
        let mut w = csv::Writer::from_writer(Vec::new());
        let header: Vec<&str> = columns.iter().map(|c| c.0).collect();
        let _ = w.write_record(&header);
        for r in &file_rows {
            let record: Vec<&str> =
                header.iter().map(|h| r.cells.iter().find(|c| c.0 == *h).map(|c| c.1.as_str()).unwrap_or("")).collect();
            let _ = w.write_record(&record);
        }
        let bytes = w.into_inner().unwrap_or_default();
        let reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(bytes.as_slice());
        csv_format::read_file(file, reader, &mut ctx, &mut out);
        locator.files.insert(file.to_string(), file_rows);
    }
    issues.extend(out.errors.iter().map(|e| locator.issue(e)));
    let warnings = out.batch.warnings.iter().map(|e| locator.issue(e)).collect();
    let mut batch = out.batch;
    batch.source = label.to_string();
    batch.synthetic = synthetic;
    // Provenance of each record: the Bundle entry it came from.
    let src = |file: &str, line: u64| locator.source(label, file, line);
    for l in &mut batch.observations {
        l.item.1.source = src(&l.origin.file, l.origin.line);
    }
    for l in &mut batch.infusions {
        l.item.1.source = src(&l.origin.file, l.origin.line);
    }
    for l in &mut batch.supports {
        l.item.1.source = src(&l.origin.file, l.origin.line);
    }
    for l in &mut batch.events {
        l.item.1.source = src(&l.origin.file, l.origin.line);
    }
    Ok(ReadBundle { batch, invalid: issues, warnings, derived, locator })
}

/// An Observation, MedicationAdministration or Procedure whose code is known.
#[allow(clippy::too_many_arguments)]
fn read_coded(
    res: &Res,
    target: Target,
    mapping: &Mapping,
    reference: &ResolveRef,
    issues: &mut Vec<FhirIssue>,
    rows: &mut Rows,
    patient_values: &mut HashMap<String, Vec<(&'static str, String, Loc)>>,
    ecmo: &mut HashMap<String, EcmoProcedure>,
    derived: &mut u64,
) {
    let ty = res.ty.as_str();
    let time = |path: &str| res.text(path).map(|t| wall_clock(&t));
    let unit_of = |q: &str| -> Option<String> {
        let v = res.get(q)?;
        let system = v.get("system").and_then(Value::as_str);
        match (v.get("code").and_then(Value::as_str), v.get("unit").and_then(Value::as_str)) {
            (Some(code), _) if system.is_none_or(|s| s == UCUM) => Some(mapping.unit_from_ucum(code).to_string()),
            (_, Some(unit)) => Some(mapping.unit_from_ucum(unit).to_string()),
            (Some(code), None) => Some(code.to_string()),
            (None, None) => None,
        }
    };
    match (ty, target) {
        ("Observation", Target::DerivedScore) => *derived += 1,
        ("Observation", Target::Quantity(q)) => {
            let mut row = PendingRow::new(res.loc("Observation"));
            row.set("run_id", reference(res, "encounter.reference", "Encounter", issues), "Observation.encounter");
            row.set("quantity", Some(q.code().to_string()), "Observation.code");
            match res.get("effectivePeriod") {
                Some(_) => {
                    row.set("time", time("effectivePeriod.end"), "Observation.effectivePeriod.end");
                    row.set("start", time("effectivePeriod.start"), "Observation.effectivePeriod.start");
                }
                None => row.set("time", time("effectiveDateTime"), "Observation.effectiveDateTime"),
            }
            row.set("value", res.text("valueQuantity.value"), "Observation.valueQuantity.value");
            row.set("unit", unit_of("valueQuantity"), "Observation.valueQuantity.code");
            rows.push(OBSERVATIONS, row);
        }
        ("Observation", Target::PatientColumn(col)) => {
            let Some(pid) = reference(res, "subject.reference", "Patient", issues) else {
                if res.get("subject").is_none() {
                    issues.push(res.issue("Observation.subject", None, "a body weight or height needs its Patient"));
                }
                return;
            };
            let want = if col == "weight_kg" { "kg" } else { "cm" };
            let Some(value) = res.text("valueQuantity.value") else {
                issues.push(res.issue("Observation.valueQuantity.value", None, "required value is empty"));
                return;
            };
            match unit_of("valueQuantity") {
                None => {
                    issues.push(res.issue("Observation.valueQuantity.code", None, format!("missing unit; give {want}")))
                }
                Some(u) if u != want => issues.push(res.issue(
                    "Observation.valueQuantity.code",
                    Some(u),
                    format!("unit does not fit {col}: the registry records it in {want}"),
                )),
                Some(_) => patient_values.entry(pid).or_default().push((
                    col,
                    value,
                    res.loc("Observation.valueQuantity.value"),
                )),
            }
        }
        ("Observation", Target::Event(kind)) => {
            let mut row = PendingRow::new(res.loc("Observation"));
            row.set("run_id", reference(res, "encounter.reference", "Encounter", issues), "Observation.encounter");
            row.set("event", Some(kind.code().to_string()), "Observation.code");
            row.set("time", time("effectiveDateTime"), "Observation.effectiveDateTime");
            let value = res.text("valueQuantity.value").or_else(|| res.text("valueInteger"));
            row.set("value", value, "Observation.valueQuantity.value");
            let (detail, path) = match res.text("valueString") {
                Some(d) => (Some(d), "Observation.valueString"),
                None => (res.note(), "Observation.note.text"),
            };
            row.set("detail", detail, path);
            rows.push(EVENTS, row);
        }
        ("MedicationAdministration", Target::Drug(drug)) => {
            let mut row = PendingRow::new(res.loc("MedicationAdministration"));
            let p = "MedicationAdministration";
            row.set("run_id", reference(res, "context.reference", "Encounter", issues), &format!("{p}.context"));
            row.set("drug", Some(drug.code().to_string()), &format!("{p}.medicationCodeableConcept"));
            let t = time("effectiveDateTime").or_else(|| time("effectivePeriod.start"));
            row.set("time", t, &format!("{p}.effectiveDateTime"));
            row.set("rate", res.text("dosage.rateQuantity.value"), &format!("{p}.dosage.rateQuantity.value"));
            row.set("unit", unit_of("dosage.rateQuantity"), &format!("{p}.dosage.rateQuantity.code"));
            for col in ["salt", "dosing_weight_kg"] {
                row.set(col, res.extension_text(col), &format!("{p}.extension({col})"));
            }
            if let Some(c) = res.extension("concentration").and_then(|e| e.get("valueQuantity")) {
                let path = format!("{p}.extension(concentration).valueQuantity");
                row.set("concentration", c.get("value").and_then(scalar), &format!("{path}.value"));
                let unit = c.get("code").or_else(|| c.get("unit")).and_then(Value::as_str);
                row.set(
                    "concentration_unit",
                    unit.map(|u| mapping.unit_from_ucum(u).to_string()),
                    &format!("{path}.code"),
                );
            }
            rows.push(INFUSIONS, row);
        }
        ("Procedure", Target::Ecmo) => {
            let Some(enc) = reference(res, "encounter.reference", "Encounter", issues) else {
                if res.get("encounter").is_none() {
                    issues.push(res.issue(
                        "Procedure.encounter",
                        None,
                        "the ECMO Procedure needs its Encounter (the run)",
                    ));
                }
                return;
            };
            let start = time("performedPeriod.start").or_else(|| time("performedDateTime"));
            let end = time("performedPeriod.end");
            if let Some(EcmoProcedure { loc: first, .. }) = ecmo.get(&enc) {
                issues.push(res.issue(
                    "Procedure.encounter",
                    Some(format!("Encounter/{enc}")),
                    format!(
                        "a second ECMO Procedure for this Encounter (the first is {}); one run per Encounter",
                        first.resource
                    ),
                ));
                return;
            }
            ecmo.insert(enc, EcmoProcedure { start, end, loc: res.loc("Procedure") });
        }
        ("Procedure", Target::Support(kind)) => {
            let mut row = PendingRow::new(res.loc("Procedure"));
            row.set("run_id", reference(res, "encounter.reference", "Encounter", issues), "Procedure.encounter");
            row.set("kind", Some(kind.code().to_string()), "Procedure.code");
            let start = time("performedPeriod.start").or_else(|| time("performedDateTime"));
            row.set("start", start, "Procedure.performedPeriod.start");
            row.set("stop", time("performedPeriod.end"), "Procedure.performedPeriod.end");
            rows.push(SUPPORT, row);
        }
        ("Procedure", Target::Event(kind)) => {
            let mut row = PendingRow::new(res.loc("Procedure"));
            row.set("run_id", reference(res, "encounter.reference", "Encounter", issues), "Procedure.encounter");
            row.set("event", Some(kind.code().to_string()), "Procedure.code");
            let t = time("performedDateTime").or_else(|| time("performedPeriod.start"));
            row.set("time", t, "Procedure.performedDateTime");
            row.set("detail", res.note(), "Procedure.note.text");
            rows.push(EVENTS, row);
        }
        (_, t) => issues.push(res.issue(
            &format!("{ty}.code"),
            None,
            format!("the code means {t:?}, which is not recorded by a {ty} (docs/fhir.md)"),
        )),
    }
}

/// Maps CSV-reader findings (file, line, column) back to Bundle entries and elements.
#[derive(Default)]
pub struct Locator {
    files: HashMap<String, Vec<PendingRow>>,
}

impl Locator {
    fn row(&self, file: &str, line: u64) -> Option<&PendingRow> {
        // Line 1 is the header of the generated file.
        self.files.get(file)?.get(usize::try_from(line).ok()?.checked_sub(2)?)
    }

    fn source(&self, label: &str, file: &str, line: u64) -> Option<String> {
        self.row(file, line).map(|r| format!("{label}#entry[{}] {}", r.main.entry, r.main.resource))
    }

    /// The Bundle entry and element behind a CSV reader or store finding.
    pub fn issue(&self, e: &RowError) -> FhirIssue {
        let Some(row) = self.row(&e.file, e.line) else {
            return FhirIssue {
                entry: None,
                resource: String::new(),
                path: e.file.clone(),
                value: e.value.clone(),
                reason: e.reason.clone(),
            };
        };
        let loc = match &e.column {
            Some(c) => row.loc_of(c),
            None => row.main.clone(),
        };
        // "conflicts with line N" names a line of the generated file: name the entry instead.
        let reason = match e.reason.strip_prefix("conflicts with line ").and_then(|r| r.split_once(',')) {
            Some((n, rest)) => match n.parse::<u64>().ok().and_then(|n| self.row(&e.file, n)) {
                Some(first) => {
                    format!("conflicts with Bundle.entry[{}] {},{rest}", first.main.entry, first.main.resource)
                }
                None => e.reason.clone(),
            },
            None => e.reason.clone(),
        };
        FhirIssue { entry: Some(loc.entry), resource: loc.resource, path: loc.path, value: e.value.clone(), reason }
    }
}

/// Read, validate and import a Bundle: all-or-nothing unless `skip_invalid`.
pub fn import_bundle(
    store: &mut dyn Store,
    json: &str,
    label: &str,
    skip_invalid: bool,
) -> Result<BundleImport, ImportError> {
    let ReadBundle { batch, invalid, warnings, derived, locator } =
        read_bundle(json, label, &*store, Mapping::builtin())?;
    let mut invalid = invalid;
    invalid.sort_by_key(|i| i.entry);
    let mut out = BundleImport {
        source: label.to_string(),
        synthetic: batch.synthetic,
        invalid,
        conflicts: Vec::new(),
        warnings,
        derived_skipped: derived,
        inserted: Counts::default(),
        unchanged: Counts::default(),
        committed: false,
    };
    if !out.invalid.is_empty() && !skip_invalid {
        return Ok(out);
    }
    let policy = if skip_invalid { ConflictPolicy::SkipConflicting } else { ConflictPolicy::RejectAll };
    let report = store.import(&batch, policy)?;
    out.conflicts = report.conflicts.iter().map(|c| locator.issue(c)).collect();
    out.inserted = report.inserted;
    out.unchanged = report.unchanged;
    out.committed = report.committed;
    Ok(out)
}

/// The ecmo-cds tag that marks a Bundle of synthetic (generated) data.
pub fn synthetic_tag() -> Value {
    serde_json::json!({ "system": code_system("tag"), "code": "synthetic", "display": "synthetic data, not patients" })
}
