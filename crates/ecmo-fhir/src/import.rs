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
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::{fmt, io};

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

/// A FHIR element path; almost all are literals, so most cells own no text for it.
type Path = Cow<'static, str>;

/// Where a registry cell came from. Every cell of a large Bundle has one, so the resource
/// name is shared, not copied.
#[derive(Debug, Clone)]
struct Loc {
    entry: usize,
    resource: Arc<str>,
    path: Path,
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
    fn set(&mut self, column: &'static str, value: Option<String>, path: impl Into<Path>) {
        if let Some(v) = value {
            let loc = Loc { path: path.into(), ..self.main.clone() };
            self.cells.push((column, v, loc));
        }
    }
    fn set_at(&mut self, column: &'static str, value: Option<String>, loc: Loc) {
        if let Some(v) = value {
            self.cells.push((column, v, loc));
        }
    }
    /// The row once the CSV reader has its values: only where each cell came from is kept.
    fn located(self) -> LocatedRow {
        LocatedRow { main: self.main, cells: self.cells.into_iter().map(|(c, _, loc)| (c, loc)).collect() }
    }
}

/// Where the cells of a row handed to the CSV reader came from.
struct LocatedRow {
    main: Loc,
    cells: Vec<(&'static str, Loc)>,
}

impl LocatedRow {
    fn loc_of(&self, column: &str) -> Loc {
        self.cells.iter().find(|c| c.0 == column).map(|c| c.1.clone()).unwrap_or_else(|| {
            // A required cell that no element supplied: name where it is expected.
            let mut l = self.main.clone();
            l.path = expected_path(&l.resource, column).into();
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
    /// `Type/id`
    name: Arc<str>,
    json: &'a Value,
}

impl Res<'_> {
    fn loc(&self, path: impl Into<Path>) -> Loc {
        Loc { entry: self.entry, resource: self.name.clone(), path: path.into() }
    }
    fn issue(&self, path: &str, value: Option<String>, reason: impl Into<String>) -> FhirIssue {
        FhirIssue {
            entry: Some(self.entry),
            resource: self.name.to_string(),
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
    read_json(&mut serde_json::Deserializer::from_str(json), label, known, mapping)
}

/// [`read_bundle`] from a reader (a file), without holding the text: the Bundle is read entry
/// by entry, and each entry is turned into registry rows before the next is parsed.
pub fn read_bundle_from<R: io::Read>(
    reader: R,
    label: &str,
    known: &dyn KnownRuns,
    mapping: &Mapping,
) -> Result<ReadBundle, ImportError> {
    read_json(&mut serde_json::Deserializer::from_reader(reader), label, known, mapping)
}

fn read_json<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    label: &str,
    known: &dyn KnownRuns,
    mapping: &Mapping,
) -> Result<ReadBundle, ImportError> {
    let mut reader = BundleReader::new(mapping);
    let top = BundleSeed { reader: &mut reader }.deserialize(&mut *de)?;
    de.end()?;
    // Entries met before `resourceType` (its place is free in JSON) were read already; a
    // document that is not a Bundle is refused all the same, with nothing imported.
    if top.resource_type.as_ref().and_then(Value::as_str) != Some("Bundle") {
        return Err(ImportError::NotABundle(format!(
            "resourceType is {}, expected \"Bundle\"",
            top.resource_type.map(|v| v.to_string()).unwrap_or_else(|| "missing".into())
        )));
    }
    Ok(reader.finish(label, known, top.synthetic))
}

/// What the Bundle says about itself, besides its entries.
#[derive(Default)]
struct BundleTop {
    resource_type: Option<Value>,
    synthetic: bool,
}

/// Reads the Bundle object, handing each entry to the reader as it is parsed.
struct BundleSeed<'r, 'm> {
    reader: &'r mut BundleReader<'m>,
}

impl<'de> DeserializeSeed<'de> for BundleSeed<'_, '_> {
    type Value = BundleTop;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<BundleTop, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BundleSeed<'_, '_> {
    type Value = BundleTop;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a FHIR Bundle")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<BundleTop, A::Error> {
        let mut top = BundleTop::default();
        while let Some(key) = map.next_key::<Cow<str>>()? {
            match &*key {
                "resourceType" => top.resource_type = Some(map.next_value()?),
                "entry" => map.next_value_seed(EntrySeq { reader: &mut *self.reader })?,
                "meta" => {
                    let meta: Value = map.next_value()?;
                    top.synthetic = meta.get("tag").and_then(Value::as_array).is_some_and(|tags| {
                        tags.iter().any(|t| t.get("code").and_then(Value::as_str) == Some("synthetic"))
                    });
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
    // Any other JSON document has no resourceType: refused as not a Bundle.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<BundleTop, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| BundleTop::default())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
    fn visit_unit<E: de::Error>(self) -> Result<BundleTop, E> {
        Ok(BundleTop::default())
    }
}

/// `Bundle.entry`: each entry is parsed alone and read at once.
struct EntrySeq<'r, 'm> {
    reader: &'r mut BundleReader<'m>,
}

impl<'de> DeserializeSeed<'de> for EntrySeq<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeq<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Bundle.entry")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while let Some(entry) = seq.next_element::<Value>()? {
            self.reader.entry(i, entry);
            i += 1;
        }
        Ok(())
    }
    // `entry` that is not an array holds no entries.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        IgnoredAny.visit_map(map).map(|_| ())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The registry rows read so far, and what can only be settled once every entry is read
/// (patients' weights, runs' ECMO Procedures, references to later entries).
struct BundleReader<'m> {
    mapping: &'m Mapping,
    issues: Vec<FhirIssue>,
    /// fullUrl (urn:uuid:…) -> Type/id, for references written as full URLs.
    full_urls: HashMap<String, String>,
    /// Entries that refer to a full URL not seen yet, read when all are known.
    deferred: Vec<(usize, Value)>,
    rows: Rows,
    patients: Vec<(PendingRow, String)>,
    encounters: Vec<(PendingRow, String)>,
    /// Patient id -> (column, value, origin) from Observations about the patient.
    patient_values: HashMap<String, Vec<(&'static str, String, Loc)>>,
    /// Encounter id -> ECMO procedure (start, end, origin).
    ecmo: HashMap<String, EcmoProcedure>,
    derived: u64,
}

impl<'m> BundleReader<'m> {
    fn new(mapping: &'m Mapping) -> Self {
        BundleReader {
            mapping,
            issues: Vec::new(),
            full_urls: HashMap::new(),
            deferred: Vec::new(),
            rows: Rows::default(),
            patients: Vec::new(),
            encounters: Vec::new(),
            patient_values: HashMap::new(),
            ecmo: HashMap::new(),
            derived: 0,
        }
    }

    fn entry(&mut self, i: usize, e: Value) {
        if self.read_entry(i, &e, true) {
            self.deferred.push((i, e));
        }
    }

    /// Reads one entry; true when it must wait for a full URL defined by a later entry.
    fn read_entry(&mut self, i: usize, e: &Value, may_wait: bool) -> bool {
        let Some(r) = e.get("resource").filter(|r| r.is_object()) else {
            self.issues.push(FhirIssue {
                entry: Some(i),
                resource: String::new(),
                path: "Bundle.entry.resource".into(),
                value: None,
                reason: "entry has no resource".into(),
            });
            return false;
        };
        let ty = r.get("resourceType").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(id) = r.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
            self.issues.push(FhirIssue {
                entry: Some(i),
                resource: ty.clone(),
                path: format!("{ty}.id"),
                value: None,
                reason: "resource has no id; the registry keys records by it".into(),
            });
            return false;
        };
        let name: Arc<str> = format!("{ty}/{id}").into();
        if may_wait {
            if let Some(u) = e.get("fullUrl").and_then(Value::as_str) {
                self.full_urls.insert(u.to_string(), name.to_string());
            }
            // A full URL names an entry anywhere in the Bundle; `Type/id` needs no lookup.
            let later = ["subject", "encounter", "context"].iter().any(|k| {
                let reference = r.get(k).and_then(|v| v.get("reference")).and_then(Value::as_str);
                reference.is_some_and(|u| u.contains(':') && !self.full_urls.contains_key(u))
            });
            if later {
                return true;
            }
        }
        let res = Res { entry: i, ty, id: id.to_string(), name, json: r };
        self.resource(&res);
        false
    }

    fn resource(&mut self, res: &Res) {
        let full_urls = &self.full_urls;
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
        let issues = &mut self.issues;
        match res.ty.as_str() {
            "Patient" => {
                let mut row = PendingRow::new(res.loc("Patient"));
                row.set("patient_id", Some(res.id.clone()), "Patient.id");
                row.set("sex", res.text("gender"), "Patient.gender");
                row.set("birth_year", res.text("birthDate").map(|d| d.chars().take(4).collect()), "Patient.birthDate");
                for (col, _) in PATIENT_COLUMNS.iter().skip(2) {
                    if let Some(v) = res.extension_text(col) {
                        row.set(col, Some(v), format!("Patient.extension({col})"));
                    }
                }
                self.patients.push((row, res.id.clone()));
            }
            "Encounter" => {
                let mut row = PendingRow::new(res.loc("Encounter"));
                row.set("run_id", Some(res.id.clone()), "Encounter.id");
                row.set("patient_id", reference(res, "subject.reference", "Patient", issues), "Encounter.subject");
                row.set("icu_admission", res.text("period.start").map(|t| wall_clock(&t)), "Encounter.period.start");
                for (col, _) in RUN_COLUMNS {
                    if matches!(*col, "run_id" | "patient_id" | "icu_admission" | "flow_start" | "decannulation") {
                        continue;
                    }
                    if let Some(v) = res.extension_text(col) {
                        row.set(col, Some(v), format!("Encounter.extension({col})"));
                    }
                }
                self.encounters.push((row, res.id.clone()));
            }
            "Observation" | "MedicationAdministration" | "Procedure" => {
                let code_path = match res.ty.as_str() {
                    "MedicationAdministration" => "medicationCodeableConcept",
                    _ => "code",
                };
                let empty = Vec::new();
                let codings = res.get(&format!("{code_path}.coding")).and_then(Value::as_array).unwrap_or(&empty);
                let target = codings.iter().find_map(|c| {
                    let system = c.get("system").and_then(Value::as_str)?;
                    let code = c.get("code").and_then(Value::as_str)?;
                    self.mapping.lookup(system, code)
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
                    return;
                };
                read_coded(
                    res,
                    target,
                    self.mapping,
                    &reference,
                    issues,
                    &mut self.rows,
                    &mut self.patient_values,
                    &mut self.ecmo,
                    &mut self.derived,
                );
            }
            other => issues.push(res.issue(
                other,
                None,
                "resource type not imported (read: Patient, Encounter, Observation, MedicationAdministration, Procedure)",
            )),
        }
    }

    /// Settles what waited for the whole Bundle and validates the rows with the CSV reader.
    fn finish(mut self, label: &str, known: &dyn KnownRuns, synthetic: bool) -> ReadBundle {
        for (i, e) in std::mem::take(&mut self.deferred) {
            self.read_entry(i, &e, false);
        }
        let BundleReader { mut issues, mut rows, patients, encounters, mut patient_values, mut ecmo, derived, .. } =
            self;
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
                    resource: loc.resource.to_string(),
                    path: "Observation.subject".into(),
                    value: Some(v),
                    reason: format!("refers to Patient/{pid}, which is not in the Bundle"),
                });
            }
        }
        for (mut row, id) in encounters {
            match ecmo.remove(&id) {
                Some(EcmoProcedure { start, end, loc }) => {
                    row.set_at(
                        "flow_start",
                        start,
                        Loc { path: "Procedure.performedPeriod.start".into(), ..loc.clone() },
                    );
                    row.set_at("decannulation", end, Loc { path: "Procedure.performedPeriod.end".into(), ..loc });
                }
                None => row.set("flow_start", None, ""),
            }
            rows.push(RUNS, row);
        }
        for (enc, EcmoProcedure { loc, .. }) in ecmo {
            issues.push(FhirIssue {
                entry: Some(loc.entry),
                resource: loc.resource.to_string(),
                path: "Procedure.encounter".into(),
                value: Some(format!("Encounter/{enc}")),
                reason: "no such Encounter in the Bundle; the ECMO run is the Encounter".into(),
            });
        }

        // Validate with the CSV reader, one registry file after the other; each file's CSV text
        // is made as the reader asks for it, and a row keeps only its origins once read.
        let mut ctx = Context::new(known);
        let mut out = ReadOutcome::default();
        let mut locator = Locator::default();
        for (i, (file, columns)) in FILES.iter().enumerate() {
            let Some(mut file_rows) = rows.by_file.remove(&i) else { continue };
            // Bundle order (entries that waited for a later full URL were read last).
            file_rows.sort_by_key(|r| r.main.entry);
            let mut located = Vec::with_capacity(file_rows.len());
            let text = CsvText::new(columns, file_rows.into_iter(), &mut located);
            let reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text);
            csv_format::read_file(file, reader, &mut ctx, &mut out);
            locator.files.insert(file.to_string(), located);
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
        ReadBundle { batch, invalid: issues, warnings, derived, locator }
    }
}

/// One registry file as CSV text, written a record at a time as the CSV reader reads it, so
/// that the text of a large file is never held whole.
struct CsvText<'a, I> {
    header: Vec<&'static str>,
    rows: I,
    located: &'a mut Vec<LocatedRow>,
    /// The CSV text of the current record.
    out: Vec<u8>,
    /// How much of `out` the reader has taken.
    taken: usize,
    header_written: bool,
}

impl<'a, I: Iterator<Item = PendingRow>> CsvText<'a, I> {
    fn new(columns: &[(&'static str, bool)], rows: I, located: &'a mut Vec<LocatedRow>) -> Self {
        CsvText {
            header: columns.iter().map(|c| c.0).collect(),
            rows,
            located,
            out: Vec::new(),
            taken: 0,
            header_written: false,
        }
    }

    /// Writes the next record; false at the end of the file.
    fn next_record(&mut self) -> io::Result<bool> {
        let mut w = csv::WriterBuilder::new().buffer_capacity(256).from_writer(&mut self.out);
        if !self.header_written {
            self.header_written = true;
            w.write_record(&self.header)?;
        } else if let Some(row) = self.rows.next() {
            let cell = |h: &str| row.cells.iter().find(|c| c.0 == h).map_or("", |c| c.1.as_str());
            w.write_record(self.header.iter().map(|h| cell(h)))?;
            self.located.push(row.located());
        } else {
            return Ok(false);
        }
        w.flush()?;
        Ok(true)
    }
}

impl<I: Iterator<Item = PendingRow>> io::Read for CsvText<'_, I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.taken == self.out.len() {
            self.out.clear();
            self.taken = 0;
            if !self.next_record()? {
                return Ok(0);
            }
        }
        let pending = &self.out[self.taken..];
        let n = pending.len().min(buf.len());
        buf[..n].copy_from_slice(&pending[..n]);
        self.taken += n;
        Ok(n)
    }
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
            row.set(
                "run_id",
                reference(res, "context.reference", "Encounter", issues),
                "MedicationAdministration.context",
            );
            row.set("drug", Some(drug.code().to_string()), "MedicationAdministration.medicationCodeableConcept");
            let t = time("effectiveDateTime").or_else(|| time("effectivePeriod.start"));
            row.set("time", t, "MedicationAdministration.effectiveDateTime");
            row.set(
                "rate",
                res.text("dosage.rateQuantity.value"),
                "MedicationAdministration.dosage.rateQuantity.value",
            );
            row.set("unit", unit_of("dosage.rateQuantity"), "MedicationAdministration.dosage.rateQuantity.code");
            row.set("salt", res.extension_text("salt"), "MedicationAdministration.extension(salt)");
            let weight = res.extension_text("dosing_weight_kg");
            row.set("dosing_weight_kg", weight, "MedicationAdministration.extension(dosing_weight_kg)");
            if let Some(c) = res.extension("concentration").and_then(|e| e.get("valueQuantity")) {
                let path = "MedicationAdministration.extension(concentration).valueQuantity";
                row.set("concentration", c.get("value").and_then(scalar), format!("{path}.value"));
                let unit = c.get("code").or_else(|| c.get("unit")).and_then(Value::as_str);
                row.set(
                    "concentration_unit",
                    unit.map(|u| mapping.unit_from_ucum(u).to_string()),
                    format!("{path}.code"),
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
    files: HashMap<String, Vec<LocatedRow>>,
}

impl Locator {
    fn row(&self, file: &str, line: u64) -> Option<&LocatedRow> {
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
        FhirIssue {
            entry: Some(loc.entry),
            resource: loc.resource.to_string(),
            path: loc.path.into_owned(),
            value: e.value.clone(),
            reason,
        }
    }
}

/// Read, validate and import a Bundle: all-or-nothing unless `skip_invalid`.
pub fn import_bundle(
    store: &mut dyn Store,
    json: &str,
    label: &str,
    skip_invalid: bool,
) -> Result<BundleImport, ImportError> {
    let read = read_bundle(json, label, &*store, Mapping::builtin())?;
    write_bundle(store, read, label, skip_invalid)
}

/// [`import_bundle`] from a reader (a file): the Bundle text is never held whole, only the
/// registry batch it becomes (docs/fhir.md, Memory).
pub fn import_bundle_from<R: io::Read>(
    store: &mut dyn Store,
    reader: R,
    label: &str,
    skip_invalid: bool,
) -> Result<BundleImport, ImportError> {
    let read = read_bundle_from(reader, label, &*store, Mapping::builtin())?;
    write_bundle(store, read, label, skip_invalid)
}

fn write_bundle(
    store: &mut dyn Store,
    read: ReadBundle,
    label: &str,
    skip_invalid: bool,
) -> Result<BundleImport, ImportError> {
    let ReadBundle { batch, invalid, warnings, derived, locator } = read;
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
