//! The registry CSV format, version 1 (documented in docs/data-format.md).
//!
//! A registry is a directory of CSV files: `patients.csv`, `runs.csv`,
//! `observations.csv`, `infusions.csv`, `support.csv`, `events.csv`, and an
//! optional `registry.json` manifest (format version, and whether the data are
//! synthetic). Columns are found by header name, in any order; an unknown
//! column is an error so that a misspelt header never drops data silently.
//!
//! Reading validates every row completely and reports every problem with file,
//! line, column, value and reason. Nothing here writes to a store: the caller
//! decides what to do with a batch that has errors.

use ecmo_domain::drugs::{ChartedDose, Concentration, ConcentrationUnit};
use ecmo_domain::{
    AdmissionType, ArrestContext, ArrestLocation, ChronicConditions, Drug, Etiology, Event, EventKind, InfusionChange,
    Mode, Observation, Patient, Quantity, Rhythm, Run, Salt, Sex, SupportKind, SupportPeriod, Timestamp, Unit,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The version of the CSV format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

pub const PATIENTS: &str = "patients.csv";
pub const RUNS: &str = "runs.csv";
pub const OBSERVATIONS: &str = "observations.csv";
pub const INFUSIONS: &str = "infusions.csv";
pub const SUPPORT: &str = "support.csv";
pub const EVENTS: &str = "events.csv";
pub const MANIFEST: &str = "registry.json";

/// Columns of each file: (name, required).
pub const PATIENT_COLUMNS: &[(&str, bool)] = &[
    ("patient_id", true),
    ("sex", true),
    ("age_years", false),
    ("birth_year", false),
    ("weight_kg", true),
    ("height_cm", false),
    ("liver_cirrhosis", false),
    ("heart_failure_nyha_iv", false),
    ("severe_respiratory", false),
    ("chronic_dialysis", false),
    ("immunocompromised", false),
    ("chronic_renal_failure", false),
];
pub const RUN_COLUMNS: &[(&str, bool)] = &[
    ("run_id", true),
    ("patient_id", true),
    ("mode", true),
    ("etiology", true),
    ("admission_type", false),
    ("icu_admission", false),
    ("flow_start", true),
    ("decannulation", false),
    ("arrest", true),
    ("ecpr", false),
    ("collapse_time", false),
    ("cpr_start_time", false),
    ("emergency_call_time", false),
    ("hospital_arrival_time", false),
    ("rosc_time", false),
    ("no_flow_min", false),
    ("low_flow_min", false),
    ("first_rhythm", false),
    ("arrival_rhythm", false),
    ("ventilation_hours_before", false),
    ("cohort", false),
];
pub const OBSERVATION_COLUMNS: &[(&str, bool)] =
    &[("run_id", true), ("time", true), ("quantity", true), ("value", true), ("unit", true), ("start", false)];
pub const INFUSION_COLUMNS: &[(&str, bool)] = &[
    ("run_id", true),
    ("time", true),
    ("drug", true),
    ("rate", true),
    ("unit", true),
    ("salt", false),
    ("concentration", false),
    ("concentration_unit", false),
    ("dosing_weight_kg", false),
];
pub const SUPPORT_COLUMNS: &[(&str, bool)] = &[("run_id", true), ("kind", true), ("start", true), ("stop", false)];
pub const EVENT_COLUMNS: &[(&str, bool)] =
    &[("run_id", true), ("time", true), ("event", true), ("value", false), ("detail", false)];

/// The optional manifest beside the CSV files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// True for generated data; such data must never be mistaken for patients.
    pub synthetic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patients: Option<u64>,
}

impl Manifest {
    pub const FORMAT: &'static str = "ecmo-cds registry CSV";
}

/// One problem with one row (or a whole file when `line` is 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub file: String,
    /// 1-based line in the file (the header is line 1); 0 for file-level problems.
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    /// The raw row, for rejects files.
    #[serde(skip)]
    pub record: Option<String>,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(c) = &self.column {
            write!(f, " column '{c}'")?;
        }
        if let Some(v) = &self.value {
            write!(f, " value '{v}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Where a record came from, kept with it as provenance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: u64,
}

impl Origin {
    pub fn label(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// A parsed record with its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub origin: Origin,
    pub raw: String,
    pub item: T,
}

/// Everything parsed from one registry directory.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Batch {
    pub patients: Vec<Located<Patient>>,
    pub runs: Vec<Located<Run>>,
    pub observations: Vec<Located<(String, Observation)>>,
    pub infusions: Vec<Located<(String, InfusionChange)>>,
    pub supports: Vec<Located<(String, SupportPeriod)>>,
    pub events: Vec<Located<(String, Event)>>,
    /// Values accepted but unusual (soft plausibility range).
    pub warnings: Vec<RowError>,
    /// Exact repeats of an earlier row in the same file, skipped.
    pub repeated_rows: u64,
    /// Where the batch came from (directory, form, bundle), for the import log.
    pub source: String,
    /// The manifest marks the data as synthetic.
    pub synthetic: bool,
}

/// What the reader needs to know about runs already in the store, to accept
/// records for them and to convert per-minute doses with the patient's weight.
pub trait KnownRuns {
    /// Weight in kg of the patient of an existing run, if the run exists.
    fn run_weight(&self, run_id: &str) -> Option<f64>;
    /// Weight in kg of an existing patient, if the patient exists.
    fn patient_weight(&self, patient_id: &str) -> Option<f64>;
}

/// No store: everything must be in the batch.
pub struct NoKnownRuns;

impl KnownRuns for NoKnownRuns {
    fn run_weight(&self, _: &str) -> Option<f64> {
        None
    }
    fn patient_weight(&self, _: &str) -> Option<f64> {
        None
    }
}

/// A batch read from a directory, with every error found.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    pub batch: Batch,
    pub errors: Vec<RowError>,
    pub manifest: Option<Manifest>,
    pub files_read: Vec<String>,
}

/// Failure to read the directory at all (as opposed to rows with errors).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{0} holds none of the registry files (patients.csv, runs.csv, observations.csv, infusions.csv, support.csv, events.csv)"
    )]
    Empty(PathBuf),
}

/// Read and validate a registry directory.
pub fn read_dir(dir: &Path, known: &dyn KnownRuns) -> Result<ReadOutcome, ReadError> {
    if !dir.is_dir() {
        return Err(ReadError::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        });
    }
    let mut out = ReadOutcome::default();
    let manifest_path = dir.join(MANIFEST);
    if manifest_path.exists() {
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|source| ReadError::Io { path: manifest_path.clone(), source })?;
        match serde_json::from_str::<Manifest>(&text) {
            Ok(m) if m.version != FORMAT_VERSION => out.errors.push(file_error(
                MANIFEST,
                format!(
                    "format version {} is not supported by this program (it reads version {FORMAT_VERSION})",
                    m.version
                ),
            )),
            Ok(m) => out.manifest = Some(m),
            Err(e) => out.errors.push(file_error(MANIFEST, format!("not a valid manifest: {e}"))),
        }
    }
    let mut any = false;
    // Unknown CSV files are reported: a misnamed file would otherwise be ignored.
    let known_files = [PATIENTS, RUNS, OBSERVATIONS, INFUSIONS, SUPPORT, EVENTS];
    let entries = std::fs::read_dir(dir).map_err(|source| ReadError::Io { path: dir.to_path_buf(), source })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".csv") && !known_files.contains(&name.as_str()) && name != "rejects.csv" {
            out.errors
                .push(file_error(&name, format!("not a registry file; expected one of {}", known_files.join(", "))));
        }
    }
    let mut ctx = Context { known, patients: HashMap::new(), runs: HashMap::new() };
    for file in known_files {
        let path = dir.join(file);
        if !path.exists() {
            continue;
        }
        any = true;
        out.files_read.push(file.to_string());
        // Not trimmed by the reader: read_file trims each cell it reads.
        let reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&path)
            .map_err(|e| ReadError::Io { path: path.clone(), source: std::io::Error::other(e.to_string()) })?;
        read_file(file, reader, &mut ctx, &mut out);
    }
    if !any {
        return Err(ReadError::Empty(dir.to_path_buf()));
    }
    out.batch.source = dir.display().to_string();
    out.batch.synthetic = out.manifest.as_ref().is_some_and(|m| m.synthetic);
    Ok(out)
}

/// Read one file from any reader (used by tests and by `read_dir`).
///
/// Cells and header names are trimmed here (`str::trim`, what `csv::Trim::All`
/// does), so the reader need not trim: csv's trimming copies every record into
/// a new one, which was a third of the cost of reading runs.csv. A reader that
/// does trim gives the same result.
pub fn read_file<R: std::io::Read>(file: &str, mut reader: csv::Reader<R>, ctx: &mut Context, out: &mut ReadOutcome) {
    let columns = match file {
        PATIENTS => PATIENT_COLUMNS,
        RUNS => RUN_COLUMNS,
        OBSERVATIONS => OBSERVATION_COLUMNS,
        INFUSIONS => INFUSION_COLUMNS,
        SUPPORT => SUPPORT_COLUMNS,
        _ => EVENT_COLUMNS,
    };
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.push(file_error(file, format!("cannot read the header row: {}", csv_reason(&e))));
            return;
        }
    };
    let mut index = ColumnIndex::default();
    let mut header_ok = true;
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
        if !columns.iter().any(|(c, _)| *c == name) {
            out.errors.push(RowError {
                file: file.into(),
                line: 1,
                column: Some(h.trim().to_string()),
                value: None,
                reason: format!(
                    "unknown column; {file} has the columns {}",
                    columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                ),
                record: None,
            });
            header_ok = false;
        } else if index.insert(name.clone(), i).is_some() {
            out.errors.push(RowError {
                file: file.into(),
                line: 1,
                column: Some(name),
                value: None,
                reason: "column appears twice".into(),
                record: None,
            });
            header_ok = false;
        }
    }
    for (c, required) in columns {
        if *required && !index.contains_key(*c) {
            out.errors.push(RowError {
                file: file.into(),
                line: 1,
                column: Some((*c).into()),
                value: None,
                reason: "required column is missing".into(),
                record: None,
            });
            header_ok = false;
        }
    }
    if !header_ok {
        return;
    }
    let width = headers.len();
    // Keys already seen in this file: key → (line, raw row) to tell repeats from conflicts.
    let mut seen: HashMap<String, (u64, String)> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                out.errors.push(RowError {
                    file: file.into(),
                    line,
                    column: None,
                    value: None,
                    reason: format!("malformed CSV: {}", csv_reason(&e)),
                    record: None,
                });
                // The csv reader cannot resynchronise reliably after a broken
                // quote; stop this file rather than guess at row boundaries.
                break;
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let mut raw = String::with_capacity(record.as_slice().len() + record.len());
        for (i, field) in record.iter().enumerate() {
            if i > 0 {
                raw.push(',');
            }
            raw.push_str(field.trim());
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue; // blank line
        }
        if record.len() != width {
            out.errors.push(RowError {
                file: file.into(),
                line,
                column: None,
                value: None,
                reason: format!("row has {} fields but the header has {width}", record.len()),
                record: Some(raw),
            });
            continue;
        }
        let mut row = Row { file, line, record: &record, index: &index, errors: Vec::new(), raw: &raw };
        let origin = Origin { file: file.to_string(), line };
        let key = match file {
            PATIENTS => parse_patient(&mut row, ctx).map(|p| {
                let key = p.id.clone();
                (key, Parsed::Patient(p))
            }),
            RUNS => parse_run(&mut row, ctx).map(|r| (r.id.clone(), Parsed::Run(r))),
            OBSERVATIONS => parse_observation(&mut row, ctx, &origin).map(|(run, o)| {
                (format!("{run}\u{1f}{}\u{1f}{}", o.quantity.code(), o.time.0), Parsed::Observation(run, o))
            }),
            INFUSIONS => parse_infusion(&mut row, ctx, &origin)
                .map(|(run, i)| (format!("{run}\u{1f}{}\u{1f}{}", i.drug.code(), i.time.0), Parsed::Infusion(run, i))),
            SUPPORT => parse_support(&mut row, ctx, &origin)
                .map(|(run, s)| (format!("{run}\u{1f}{}\u{1f}{}", s.kind.code(), s.start.0), Parsed::Support(run, s))),
            _ => parse_event(&mut row, ctx, &origin)
                .map(|(run, e)| (format!("{run}\u{1f}{}\u{1f}{}", e.kind.code(), e.time.0), Parsed::Event(run, e))),
        };
        let Row { errors, .. } = row;
        let warnings_from_row: Vec<RowError> = errors.iter().filter(|e| e.reason.starts_with(WARN)).cloned().collect();
        let real_errors: Vec<RowError> = errors.into_iter().filter(|e| !e.reason.starts_with(WARN)).collect();
        if !real_errors.is_empty() {
            out.errors.extend(real_errors);
            continue;
        }
        let Some((key, parsed)) = key else { continue };
        // Compare what the row means, not its spelling, apart from the line.
        if let Some((first_line, first_raw)) = seen.get(&key) {
            if *first_raw == raw {
                out.batch.repeated_rows += 1;
            } else {
                out.errors.push(RowError {
                    file: file.into(),
                    line,
                    column: None,
                    value: None,
                    reason: format!("conflicts with line {first_line}, which records the same item with other values"),
                    record: Some(raw),
                });
            }
            continue;
        }
        seen.insert(key, (line, raw.clone()));
        out.batch.warnings.extend(warnings_from_row.into_iter().map(|mut w| {
            w.reason = w.reason.trim_start_matches(WARN).to_string();
            w
        }));
        match parsed {
            Parsed::Patient(p) => {
                ctx.patients.insert(p.id.clone(), p.weight_kg);
                out.batch.patients.push(Located { origin, raw, item: p });
            }
            Parsed::Run(r) => {
                out.batch.runs.push(Located { origin, raw, item: r });
            }
            Parsed::Observation(run, o) => out.batch.observations.push(Located { origin, raw, item: (run, o) }),
            Parsed::Infusion(run, i) => out.batch.infusions.push(Located { origin, raw, item: (run, i) }),
            Parsed::Support(run, s) => out.batch.supports.push(Located { origin, raw, item: (run, s) }),
            Parsed::Event(run, e) => out.batch.events.push(Located { origin, raw, item: (run, e) }),
        }
    }
}

enum Parsed {
    Patient(Patient),
    Run(Run),
    Observation(String, Observation),
    Infusion(String, InfusionChange),
    Support(String, SupportPeriod),
    Event(String, Event),
}

/// Lookups across files of one batch.
pub struct Context<'a> {
    known: &'a dyn KnownRuns,
    /// patient id → weight (kg), from this batch.
    patients: HashMap<String, f64>,
    /// run id → (patient weight, flow start, decannulation), from this batch.
    runs: HashMap<String, (f64, Timestamp)>,
}

impl<'a> Context<'a> {
    pub fn new(known: &'a dyn KnownRuns) -> Self {
        Context { known, patients: HashMap::new(), runs: HashMap::new() }
    }

    fn run_weight(&self, run: &str) -> Option<f64> {
        self.runs.get(run).map(|r| r.0).or_else(|| self.known.run_weight(run))
    }
}

/// Reasons that start with this marker are warnings, not errors.
const WARN: &str = "\u{1}warn:";

struct Row<'r> {
    file: &'r str,
    line: u64,
    record: &'r csv::StringRecord,
    index: &'r ColumnIndex,
    errors: Vec<RowError>,
    raw: &'r str,
}

/// Column name → position in the file. Looked up a few dozen times per row by
/// short names: FNV-1a instead of the default SipHash (no untrusted keys here
/// beyond the header row, so no need for a keyed hash).
type ColumnIndex = HashMap<String, usize, std::hash::BuildHasherDefault<Fnv1a>>;

#[derive(Default)]
struct Fnv1a(u64);

impl std::hash::Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

impl<'r> Row<'r> {
    /// The (trimmed) cell of column `col`, borrowed from the record (not from the row, so that
    /// errors can be added while it is held).
    fn cell(&self, col: &str) -> &'r str {
        let (index, record) = (self.index, self.record);
        index.get(col).and_then(|i| record.get(*i)).map_or("", str::trim)
    }

    fn fail(&mut self, col: &str, value: &str, reason: impl Into<String>) {
        self.errors.push(RowError {
            file: self.file.into(),
            line: self.line,
            column: Some(col.into()),
            value: (!value.is_empty()).then(|| value.to_string()),
            reason: reason.into(),
            record: Some(self.raw.to_string()),
        });
    }

    fn warn(&mut self, col: &str, value: &str, reason: impl Into<String>) {
        let reason = format!("{WARN}{}", reason.into());
        self.fail(col, value, reason);
    }

    fn required(&mut self, col: &str) -> Option<String> {
        let v = self.cell(col);
        if v.is_empty() {
            self.fail(col, "", "required value is empty");
            None
        } else {
            Some(v.to_string())
        }
    }

    fn optional(&self, col: &str) -> Option<String> {
        let v = self.cell(col);
        (!v.is_empty()).then(|| v.to_string())
    }

    fn code<T: FromStr<Err = String>>(&mut self, col: &str, required: bool) -> Option<T> {
        let v = self.cell(col);
        if v.is_empty() {
            if required {
                self.fail(col, "", "required value is empty");
            }
            return None;
        }
        match v.parse::<T>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(col, v, e);
                None
            }
        }
    }

    /// A number, optionally required, within [min, max] (impossible outside).
    fn number(&mut self, col: &str, required: bool, min: f64, max: f64) -> Option<f64> {
        let v = self.cell(col);
        if v.is_empty() {
            if required {
                self.fail(col, "", "required value is empty");
            }
            return None;
        }
        match parse_number(v) {
            Ok(x) if x < min || x > max => {
                self.fail(col, v, format!("cannot be physiologically true (possible range {min}-{max})"));
                None
            }
            Ok(x) => Some(x),
            Err(reason) => {
                self.fail(col, v, reason);
                None
            }
        }
    }

    fn time(&mut self, col: &str, required: bool) -> Option<Timestamp> {
        let v = self.cell(col);
        if v.is_empty() {
            if required {
                self.fail(col, "", "required value is empty");
            }
            return None;
        }
        match v.parse::<Timestamp>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.fail(col, v, e.to_string());
                None
            }
        }
    }

    fn flag(&mut self, col: &str) -> Option<bool> {
        let v = self.cell(col);
        let is = |words: [&str; 4]| words.iter().any(|w| v.eq_ignore_ascii_case(w));
        if v.is_empty() {
            None
        } else if is(["yes", "y", "true", "1"]) {
            Some(true)
        } else if is(["no", "n", "false", "0"]) {
            Some(false)
        } else {
            self.fail(col, v, "expected yes or no (or leave empty when unknown)");
            None
        }
    }

    fn run_ref(&mut self, ctx: &Context) -> Option<(String, f64)> {
        let run = self.required("run_id")?;
        match ctx.run_weight(&run) {
            Some(w) => Some((run, w)),
            None => {
                self.fail("run_id", &run, "no such run in runs.csv or in the registry");
                None
            }
        }
    }
}

fn parse_number(v: &str) -> Result<f64, String> {
    if v.contains(',') && !v.contains('.') && v.replace(',', "").parse::<f64>().is_ok() {
        return Err("use a decimal point, not a decimal comma".into());
    }
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err("not a number".into()),
    }
}

fn parse_patient(row: &mut Row, _ctx: &Context) -> Option<Patient> {
    let id = row.required("patient_id");
    let sex = row.code::<Sex>("sex", true);
    let age = row.number("age_years", false, 0.0, 120.0);
    let birth_year = row.number("birth_year", false, 1880.0, 2100.0);
    if birth_year.is_some_and(|y| y.fract() != 0.0) {
        let v = row.cell("birth_year").to_string();
        row.fail("birth_year", &v, "must be a whole year");
    }
    if age.is_none() && birth_year.is_none() && row.errors.is_empty() {
        row.fail("age_years", "", "give age_years or birth_year");
    }
    let weight = row.number("weight_kg", true, 20.0, 350.0);
    let height = row.number("height_cm", false, 100.0, 250.0);
    if let Some(a) = age.filter(|a| *a < 18.0) {
        row.warn("age_years", &a.to_string(), "age under 18: adult ECMO scores were not validated in children");
    }
    let chronic = ChronicConditions {
        liver_cirrhosis: row.flag("liver_cirrhosis"),
        heart_failure_nyha_iv: row.flag("heart_failure_nyha_iv"),
        severe_respiratory: row.flag("severe_respiratory"),
        chronic_dialysis: row.flag("chronic_dialysis"),
        immunocompromised: row.flag("immunocompromised"),
        chronic_renal_failure: row.flag("chronic_renal_failure"),
    };
    if row.errors.iter().any(|e| !e.reason.starts_with(WARN)) {
        return None;
    }
    Some(Patient {
        id: id?,
        sex: sex?,
        age_years: age,
        birth_year: birth_year.map(|y| y as i32),
        weight_kg: weight?,
        height_cm: height,
        chronic,
    })
}

fn parse_run(row: &mut Row, ctx: &mut Context) -> Option<Run> {
    let id = row.required("run_id");
    let patient_id = row.required("patient_id");
    let weight = patient_id.as_ref().and_then(|p| {
        let w = ctx.patients.get(p).copied().or_else(|| ctx.known.patient_weight(p));
        if w.is_none() {
            row.fail("patient_id", p, "no such patient in patients.csv or in the registry");
        }
        w
    });
    let mode = row.code::<Mode>("mode", true);
    let etiology = row.code::<Etiology>("etiology", true);
    let admission_type = row.code::<AdmissionType>("admission_type", false).unwrap_or(AdmissionType::NonOperative);
    let icu_admission = row.time("icu_admission", false);
    let flow_start = row.time("flow_start", true);
    let decannulation = row.time("decannulation", false);
    let location = row.code::<ArrestLocation>("arrest", true);
    let ecpr = row.flag("ecpr").unwrap_or(false);
    let collapse = row.time("collapse_time", false);
    let cpr_start = row.time("cpr_start_time", false);
    let emergency_call = row.time("emergency_call_time", false);
    let hospital_arrival = row.time("hospital_arrival_time", false);
    let rosc = row.time("rosc_time", false);
    let no_flow = row.number("no_flow_min", false, 0.0, 60.0);
    let low_flow = row.number("low_flow_min", false, 0.0, 300.0);
    let first_rhythm = row.code::<Rhythm>("first_rhythm", false).unwrap_or(Rhythm::Unknown);
    let arrival_rhythm = row.code::<Rhythm>("arrival_rhythm", false).unwrap_or(Rhythm::Unknown);
    let vent = row.number("ventilation_hours_before", false, 0.0, 2000.0);
    let cohort = row.optional("cohort");

    if let (Some(start), Some(end)) = (flow_start, decannulation)
        && end < start
    {
        row.fail("decannulation", row.cell("decannulation").to_string().as_str(), "is before flow_start");
    }
    if let (Some(start), Some(icu)) = (flow_start, icu_admission)
        && icu > start.plus_minutes(7 * 24 * 60)
    {
        row.warn("icu_admission", &icu.to_string(), "ICU admission more than 7 days after ECMO flow start");
    }
    if location == Some(ArrestLocation::None) {
        for col in ["collapse_time", "cpr_start_time", "rosc_time", "no_flow_min", "low_flow_min"] {
            let v = row.cell(col);
            if !v.is_empty() {
                row.fail(col, v, "given for a run recorded with arrest = none");
            }
        }
        if ecpr {
            row.fail("ecpr", "yes", "E-CPR needs a cardiac arrest (arrest = ihca or ohca)");
        }
    }
    for (col, t) in [("collapse_time", collapse), ("cpr_start_time", cpr_start), ("rosc_time", rosc)] {
        if let (Some(t), Some(start)) = (t, flow_start)
            && t > start
            && col != "rosc_time"
        {
            row.fail(col, &t.to_string(), "is after ECMO flow start");
        }
    }
    if let (Some(c), Some(p)) = (collapse, cpr_start)
        && p < c
    {
        row.fail("cpr_start_time", &p.to_string(), "is before collapse_time");
    }
    if row.errors.iter().any(|e| !e.reason.starts_with(WARN)) {
        return None;
    }
    let run = Run {
        id: id?,
        patient_id: patient_id?,
        mode: mode?,
        etiology: etiology?,
        admission_type,
        icu_admission,
        flow_start: flow_start?,
        decannulation,
        arrest: ArrestContext {
            location: location?,
            ecpr,
            collapse,
            cpr_start,
            emergency_call,
            hospital_arrival,
            rosc,
            no_flow_min: no_flow,
            low_flow_min: low_flow,
            first_rhythm,
            arrival_rhythm,
        },
        ventilation_hours_before: vent,
        cohort,
    };
    ctx.runs.insert(run.id.clone(), (weight?, run.flow_start));
    Some(run)
}

fn parse_observation(row: &mut Row, ctx: &Context, origin: &Origin) -> Option<(String, Observation)> {
    let run = row.run_ref(ctx);
    let time = row.time("time", true);
    let start = row.time("start", false);
    let quantity = {
        let v = row.cell("quantity").to_string();
        if v.is_empty() {
            row.fail("quantity", "", "required value is empty");
            None
        } else {
            match v.parse::<Quantity>() {
                Ok(q) => Some(q),
                Err(e) => {
                    row.fail("quantity", &v, format!("{e}; see docs/data-format.md for the list"));
                    None
                }
            }
        }
    };
    let unit_text = row.cell("unit").to_string();
    let unit = if unit_text.is_empty() {
        None
    } else {
        match unit_text.parse::<Unit>() {
            Ok(u) => Some(u),
            Err(e) => {
                row.fail("unit", &unit_text, e.to_string());
                return None;
            }
        }
    };
    let raw_value = row.cell("value").to_string();
    let value = if raw_value.is_empty() {
        row.fail("value", "", "required value is empty");
        None
    } else {
        match parse_number(&raw_value) {
            Ok(v) => Some(v),
            Err(r) => {
                row.fail("value", &raw_value, r);
                None
            }
        }
    };
    let (run, q, time, value) = (run?.0, quantity?, time?, value?);
    let checked = match q.to_canonical(value, unit) {
        Ok(c) => c,
        Err(e) => {
            let col = if matches!(
                e,
                ecmo_domain::ValueError::UnitNotAllowed { .. }
                    | ecmo_domain::ValueError::MissingUnit { .. }
                    | ecmo_domain::ValueError::AmbiguousUnit { .. }
            ) {
                "unit"
            } else {
                "value"
            };
            let v = if col == "unit" { unit_text.clone() } else { raw_value.clone() };
            row.fail(col, &v, e.to_string());
            return None;
        }
    };
    if let Some(w) = checked.warning {
        row.warn("value", &raw_value, w.to_string());
    }
    if let Err(e) = q.check_interval(time, start) {
        let v = start.map(|s| s.to_string()).unwrap_or_default();
        row.fail("start", &v, e.to_string());
        return None;
    }
    Some((
        run,
        Observation {
            time,
            start,
            quantity: q,
            value: checked.canonical,
            entered_value: value,
            entered_unit: checked.unit,
            source: Some(origin.label()),
        },
    ))
}

fn parse_infusion(row: &mut Row, ctx: &Context, origin: &Origin) -> Option<(String, InfusionChange)> {
    let run = row.run_ref(ctx);
    let time = row.time("time", true);
    let drug = {
        let v = row.cell("drug").to_string();
        match v.parse::<Drug>() {
            Ok(d) => Some(d),
            Err(e) => {
                row.fail("drug", &v, e.to_string());
                None
            }
        }
    };
    let unit_text = row.cell("unit").to_string();
    let unit = match unit_text.parse::<Unit>() {
        Ok(u) => Some(u),
        Err(e) => {
            row.fail(
                "unit",
                &unit_text,
                if unit_text.is_empty() { "required value is empty".into() } else { e.to_string() },
            );
            None
        }
    };
    let rate_text = row.cell("rate").to_string();
    let rate = row.number("rate", true, 0.0, f64::MAX);
    let salt = {
        let v = row.cell("salt").to_string();
        match v.parse::<Salt>() {
            Ok(s) => Some(s),
            Err(e) => {
                row.fail("salt", &v, e.to_string());
                None
            }
        }
    };
    let conc_value = row.number("concentration", false, f64::MIN_POSITIVE, 1e6);
    let conc_unit_text = row.cell("concentration_unit").to_string();
    let conc_unit = if conc_unit_text.is_empty() {
        None
    } else {
        match conc_unit_text.parse::<ConcentrationUnit>() {
            Ok(u) => Some(u),
            Err(e) => {
                row.fail("concentration_unit", &conc_unit_text, e.to_string());
                return None;
            }
        }
    };
    let concentration = match (conc_value, conc_unit) {
        (Some(value), Some(unit)) => Some(Concentration { value, unit }),
        (None, None) => None,
        (Some(_), None) => {
            row.fail("concentration_unit", "", "a concentration needs its unit");
            return None;
        }
        (None, Some(_)) => {
            row.fail("concentration", "", "concentration_unit given without a concentration");
            return None;
        }
    };
    let dosing_weight = row.number("dosing_weight_kg", false, 20.0, 350.0);
    let (run, weight) = run?;
    let (time, drug, unit, rate, salt) = (time?, drug?, unit?, rate?, salt?);
    let weight_kg = dosing_weight.unwrap_or(weight);
    let dose = ChartedDose { drug, rate, unit, salt, concentration, weight_kg: Some(weight_kg) };
    match dose.normalise() {
        Ok(n) => {
            if n.unusual {
                row.warn(
                    "rate",
                    &rate_text,
                    format!(
                        "{drug} {rate} {unit} is {:.4} {}, unusually high; please confirm",
                        n.canonical,
                        drug.canonical_unit()
                    ),
                );
            }
            Some((
                run,
                InfusionChange {
                    time,
                    drug,
                    rate: n.canonical,
                    entered_rate: rate,
                    entered_unit: unit,
                    salt,
                    concentration,
                    weight_kg,
                    source: Some(origin.label()),
                },
            ))
        }
        Err(e) => {
            let col = match e {
                ecmo_domain::DoseError::UnitNotAllowed { .. } => "unit",
                ecmo_domain::DoseError::SaltNotApplicable { .. } => "salt",
                ecmo_domain::DoseError::ConcentrationNeeded { .. } => "concentration",
                ecmo_domain::DoseError::ConcentrationUnitNotAllowed { .. } => "concentration_unit",
                _ => "rate",
            };
            let v = row.cell(col).to_string();
            row.fail(col, &v, e.to_string());
            None
        }
    }
}

fn parse_support(row: &mut Row, ctx: &Context, origin: &Origin) -> Option<(String, SupportPeriod)> {
    let run = row.run_ref(ctx);
    let kind = row.code::<SupportKind>("kind", true);
    let start = row.time("start", true);
    let stop = row.time("stop", false);
    if let (Some(a), Some(b)) = (start, stop)
        && b < a
    {
        row.fail("stop", &b.to_string(), "is before start");
        return None;
    }
    Some((run?.0, SupportPeriod { kind: kind?, start: start?, stop, source: Some(origin.label()) }))
}

fn parse_event(row: &mut Row, ctx: &Context, origin: &Origin) -> Option<(String, Event)> {
    let run = row.run_ref(ctx);
    let time = row.time("time", true);
    let kind = row.code::<EventKind>("event", true);
    let value_text = row.cell("value").to_string();
    let detail = row.optional("detail");
    let value = match kind {
        Some(EventKind::EchoLvef) => row.number("value", true, 0.0, 85.0),
        Some(EventKind::Cpc) => {
            let v = row.number("value", true, 1.0, 5.0);
            if v.is_some_and(|v| v.fract() != 0.0) {
                row.fail("value", &value_text, "CPC is a whole number 1-5");
            }
            v
        }
        Some(_) if !value_text.is_empty() => {
            row.fail("value", &value_text, "this event takes no value");
            None
        }
        _ => None,
    };
    if kind == Some(EventKind::EchoAorticValve) {
        match detail.as_deref().map(str::parse::<ecmo_domain::AorticValveOpening>) {
            Some(Ok(_)) => {}
            Some(Err(e)) => row.fail("detail", detail.as_deref().unwrap_or(""), e),
            None => row.fail("detail", "", "aortic valve finding needs detail: opens, intermittent or closed"),
        }
    }
    if row.errors.iter().any(|e| !e.reason.starts_with(WARN)) {
        return None;
    }
    Some((run?.0, Event { time: time?, kind: kind?, value, detail, source: Some(origin.label()) }))
}

fn file_error(file: &str, reason: String) -> RowError {
    RowError { file: file.into(), line: 0, column: None, value: None, reason, record: None }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text (save it as CSV UTF-8)".into(),
        _ => e.to_string(),
    }
}

/// Set of run ids in a batch (helper for stores).
pub fn batch_run_ids(batch: &Batch) -> HashSet<&str> {
    batch.runs.iter().map(|r| r.item.id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// read_file trims cells itself; a reader that trims too (as the FHIR and form importers use)
    /// must give exactly the same batch and errors.
    #[test]
    fn cells_are_trimmed_whether_or_not_the_reader_trims() {
        let files = [
            (
                PATIENTS,
                " patient_id ,sex,age_years,weight_kg , height_cm\nP1 , female,\t61,70\u{a0},170\n  \nP2,male,50,8,\nP3,x,40,70,\n",
            ),
            (
                RUNS,
                "run_id,patient_id,mode,etiology,flow_start,arrest,ecpr\n R1,P1 ,va, ami_cs ,2020-01-01 10:00 ,none, no\nR2,P9,va,ami_cs,2020-01-01 10:00,none,\nR1,P1,va,ami_cs,2020-01-01 10:00,none,no\nR3,P1,va,ami_cs,2020-01-01 10:00,ohca, maybe \n",
            ),
            (
                OBSERVATIONS,
                "run_id,time,quantity,value,unit\nR1, 2020-01-01 11:00 ,map, 60 ,mmHg\nR1,2020-01-01 12:00,map,6 0,mmHg\n",
            ),
        ];
        let read = |trim: csv::Trim| {
            let mut ctx = Context::new(&NoKnownRuns);
            let mut out = ReadOutcome::default();
            for (file, text) in files {
                let reader = csv::ReaderBuilder::new().flexible(true).trim(trim).from_reader(text.as_bytes());
                read_file(file, reader, &mut ctx, &mut out);
            }
            out
        };
        let (trimmed, raw) = (read(csv::Trim::All), read(csv::Trim::None));
        assert_eq!(trimmed.batch, raw.batch);
        assert_eq!(trimmed.errors, raw.errors);
        // The cells were read trimmed: a patient, a run and an observation accepted, the bad rows refused.
        assert_eq!(raw.batch.patients.len(), 1, "{:?}", raw.errors);
        assert_eq!(raw.batch.patients[0].item.weight_kg, 70.0);
        assert_eq!(raw.batch.runs.len(), 1);
        assert_eq!(raw.batch.observations.len(), 1);
        assert_eq!(raw.errors.len(), 5, "{:#?}", raw.errors);
        // R1 written twice, once with spaces: the same row once trimmed.
        assert_eq!(raw.batch.repeated_rows, 1);
    }
}
