//! Streaming a registry directory run by run, without a database.
//!
//! `ecmo features DIR` reads registries of 100,000 runs and tens of millions of
//! rows; loading them whole would need many gigabytes. This reader holds the
//! patients and runs (small) and walks the record files in step, one run at a
//! time, so memory is bounded by the largest run. It needs the record files to
//! be grouped by run in the order of `runs.csv` (as `ecmo synth` and most
//! database exports write them); a file that is not is reported, with the line,
//! and the user is told to import it into a database instead.
//!
//! Values are checked and converted with the same domain rules as the
//! importer (units, plausibility, dose normalisation); a bad row stops the
//! stream with its file, line, column, value and reason.

use crate::csv_format::{
    self, EVENTS, INFUSIONS, KnownRuns, NoKnownRuns, OBSERVATIONS, PATIENTS, RUNS, ReadOutcome, RowError, SUPPORT,
};
use ecmo_domain::drugs::{ChartedDose, Concentration, ConcentrationUnit};
use ecmo_domain::{
    Drug, Event, EventKind, InfusionChange, Observation, Patient, Quantity, Run, RunRecord, Salt, SupportKind,
    SupportPeriod, Timestamp, Unit,
};
mod fast;

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::Arc;

/// Why streaming stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Read(#[from] csv_format::ReadError),
    #[error("{} problem(s) in patients.csv/runs.csv, first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Header(Vec<RowError>),
    #[error("{0}")]
    Row(Box<RowError>),
    #[error("{file}: {source}")]
    Csv { file: String, source: csv::Error },
}

struct Grouped {
    file: &'static str,
    reader: csv::Reader<File>,
    record: csv::ByteRecord,
    /// Column index of each expected column, in the file's column order.
    cols: Vec<Option<usize>>,
    /// Fields of the header row.
    width: usize,
    /// A row read but belonging to a later run.
    pending: bool,
    done: bool,
}

impl Grouped {
    fn open(dir: &Path, file: &'static str, columns: &[(&str, bool)]) -> Result<Option<Grouped>, StreamError> {
        let path = dir.join(file);
        if !path.exists() {
            return Ok(None);
        }
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(&path)
            .map_err(|source| StreamError::Csv { file: file.into(), source })?;
        let headers = reader.byte_headers().map_err(|source| StreamError::Csv { file: file.into(), source })?.clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let mut cols = Vec::new();
        for (c, required) in columns {
            let idx = names.iter().position(|n| n == c);
            if idx.is_none() && *required {
                return Err(StreamError::Row(Box::new(RowError {
                    file: file.into(),
                    line: 1,
                    column: Some((*c).into()),
                    value: None,
                    reason: "required column is missing".into(),
                    record: None,
                })));
            }
            cols.push(idx);
        }
        for n in &names {
            if !columns.iter().any(|(c, _)| c == n) {
                return Err(StreamError::Row(Box::new(RowError {
                    file: file.into(),
                    line: 1,
                    column: Some(n.clone()),
                    value: None,
                    reason: "unknown column".into(),
                    record: None,
                })));
            }
        }
        let width = names.len();
        Ok(Some(Grouped { file, reader, record: csv::ByteRecord::new(), cols, width, pending: false, done: false }))
    }

    /// Advance to the next row unless one is pending; false at the end.
    fn next_row(&mut self) -> Result<bool, StreamError> {
        if self.pending {
            return Ok(true);
        }
        if self.done {
            return Ok(false);
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {
                self.pending = true;
                Ok(true)
            }
            Ok(false) => {
                self.done = true;
                Ok(false)
            }
            Err(source) => Err(StreamError::Csv { file: self.file.into(), source }),
        }
    }
}

impl Cells for Grouped {
    fn file(&self) -> &'static str {
        self.file
    }

    fn cell(&self, i: usize) -> &str {
        self.cols[i].and_then(|c| self.record.get(c)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
    }

    fn line(&self) -> u64 {
        self.record.position().map(|p| p.line()).unwrap_or(0)
    }
}

/// The cells of one row, in the order of the expected columns.
trait Cells {
    fn file(&self) -> &'static str;
    /// The (trimmed) cell of expected column `i`; empty when absent or not UTF-8.
    fn cell(&self, i: usize) -> &str;
    fn line(&self) -> u64;

    fn fail(&self, col: usize, columns: &[(&str, bool)], reason: impl Into<String>) -> StreamError {
        let value = self.cell(col);
        StreamError::Row(Box::new(RowError {
            file: self.file().into(),
            line: self.line(),
            column: Some(columns[col].0.into()),
            value: (!value.is_empty()).then(|| value.to_string()),
            reason: reason.into(),
            record: None,
        }))
    }
}

/// Runs of a registry directory, one at a time.
pub struct RegistryStream {
    patients: HashMap<String, Patient>,
    runs: Vec<Run>,
    position: Arc<HashMap<String, usize>>,
    other_starts: HashMap<String, Vec<Timestamp>>,
    next: usize,
    observations: Option<Observations>,
    infusions: Option<Grouped>,
    support: Option<Grouped>,
    events: Option<Grouped>,
    codes: Codes,
}

/// observations.csv: parsed on worker threads, or by the sequential reader
/// when its header is too wide for the fast path.
enum Observations {
    Fast(fast::Pipeline),
    Csv(Grouped),
}

impl RegistryStream {
    /// Open a registry directory; patients.csv and runs.csv are read and validated whole.
    pub fn open(dir: &Path) -> Result<Self, StreamError> {
        // The small files go through the full validating reader.
        let mut head = ReadOutcome::default();
        let known: &dyn KnownRuns = &NoKnownRuns;
        let mut ctx = csv_format::Context::new(known);
        for file in [PATIENTS, RUNS] {
            let path = dir.join(file);
            let reader =
                csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_path(&path).map_err(|e| {
                    csv_format::ReadError::Io { path: path.clone(), source: std::io::Error::other(e.to_string()) }
                })?;
            csv_format::read_file(file, reader, &mut ctx, &mut head);
        }
        if !head.errors.is_empty() {
            return Err(StreamError::Header(head.errors));
        }
        let patients: HashMap<String, Patient> =
            head.batch.patients.into_iter().map(|l| (l.item.id.clone(), l.item)).collect();
        let runs: Vec<Run> = head.batch.runs.into_iter().map(|l| l.item).collect();
        let position: Arc<HashMap<String, usize>> =
            Arc::new(runs.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect());
        let mut other_starts: HashMap<String, Vec<Timestamp>> = HashMap::new();
        for r in &runs {
            other_starts.entry(r.patient_id.clone()).or_default().push(r.flow_start);
        }
        let observations = match Grouped::open(dir, OBSERVATIONS, csv_format::OBSERVATION_COLUMNS)? {
            None => None,
            Some(g) if g.width > fast::MAX_FIELDS => Some(Observations::Csv(g)),
            Some(g) => {
                let start = g.reader.position().clone();
                let file = File::open(dir.join(OBSERVATIONS))
                    .map_err(|e| StreamError::Csv { file: OBSERVATIONS.into(), source: csv::Error::from(e) })?;
                Some(Observations::Fast(fast::Pipeline::start(
                    file,
                    OBSERVATIONS,
                    start.byte(),
                    start.line(),
                    g.cols,
                    g.width,
                    Arc::clone(&position),
                )))
            }
        };
        Ok(RegistryStream {
            patients,
            runs,
            position,
            other_starts,
            next: 0,
            observations,
            infusions: Grouped::open(dir, INFUSIONS, csv_format::INFUSION_COLUMNS)?,
            support: Grouped::open(dir, SUPPORT, csv_format::SUPPORT_COLUMNS)?,
            events: Grouped::open(dir, EVENTS, csv_format::EVENT_COLUMNS)?,
            codes: Codes::default(),
        })
    }

    /// Number of runs in runs.csv.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Whether the rows of `g` now pending belong to run `idx`; errors when
    /// they belong to an earlier or unknown run (file not grouped).
    fn belongs(position: &HashMap<String, usize>, g: &impl Cells, idx: usize) -> Result<bool, StreamError> {
        let run = g.cell(0);
        match position.get(run) {
            Some(&p) if p == idx => Ok(true),
            Some(&p) if p > idx => Ok(false),
            Some(_) => Err(g.fail(0, &[("run_id", true)], NOT_GROUPED)),
            None => Err(g.fail(0, &[("run_id", true)], "no such run in runs.csv")),
        }
    }

    fn read_run(&mut self, idx: usize) -> Result<RunRecord, StreamError> {
        let run = self.runs[idx].clone();
        let patient = self.patients.get(&run.patient_id).cloned().ok_or_else(|| {
            StreamError::Row(Box::new(RowError {
                file: RUNS.into(),
                line: 0,
                column: Some("patient_id".into()),
                value: Some(run.patient_id.clone()),
                reason: "no such patient in patients.csv".into(),
                record: None,
            }))
        })?;
        let weight = patient.weight_kg;
        let mut rec = RunRecord::new(patient, run);
        rec.other_run_starts = self
            .other_starts
            .get(&rec.run.patient_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|t| *t != rec.run.flow_start)
            .collect();
        match self.observations.as_mut() {
            Some(Observations::Csv(g)) => {
                while g.next_row()? && Self::belongs(&self.position, g, idx)? {
                    rec.observations.push(observation(g, &mut self.codes)?);
                    g.pending = false;
                }
            }
            Some(Observations::Fast(p)) => {
                while let Some(seg) = p.peek() {
                    match seg.kind {
                        fast::Kind::Run(r) if r == idx => {}
                        fast::Kind::Run(r) if r > idx => break,
                        fast::Kind::Run(_) => return Err(segment_error(seg, NOT_GROUPED)),
                        fast::Kind::Unknown => return Err(segment_error(seg, "no such run in runs.csv")),
                        fast::Kind::Fatal => return Err(segment_error(seg, "")),
                    }
                    if rec.observations.is_empty() {
                        rec.observations = std::mem::take(&mut seg.rows);
                    } else {
                        rec.observations.append(&mut seg.rows);
                    }
                    if let Some(e) = seg.error.take() {
                        return Err(e);
                    }
                    p.pop();
                }
            }
            None => {}
        }
        if let Some(g) = self.infusions.as_mut() {
            while g.next_row()? && Self::belongs(&self.position, g, idx)? {
                rec.infusions.push(infusion(g, &mut self.codes, weight)?);
                g.pending = false;
            }
        }
        if let Some(g) = self.support.as_mut() {
            while g.next_row()? && Self::belongs(&self.position, g, idx)? {
                rec.supports.push(support(g)?);
                g.pending = false;
            }
        }
        if let Some(g) = self.events.as_mut() {
            while g.next_row()? && Self::belongs(&self.position, g, idx)? {
                rec.events.push(event(g)?);
                g.pending = false;
            }
        }
        rec.sort();
        Ok(rec)
    }
}

impl Iterator for RegistryStream {
    type Item = Result<RunRecord, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.runs.len() {
            // Rows left over belong to no run of runs.csv.
            if let Some(Observations::Fast(p)) = self.observations.as_mut()
                && let Some(seg) = p.peek()
            {
                return Some(Err(segment_error(seg, LEFT_OVER)));
            }
            let observations = match self.observations.as_mut() {
                Some(Observations::Csv(g)) => Some(g),
                _ => None,
            };
            for g in [observations, self.infusions.as_mut(), self.support.as_mut(), self.events.as_mut()]
                .into_iter()
                .flatten()
            {
                match g.next_row() {
                    Ok(true) => {
                        return Some(Err(g.fail(0, &[("run_id", true)], LEFT_OVER)));
                    }
                    Ok(false) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            return None;
        }
        let idx = self.next;
        self.next += 1;
        Some(self.read_run(idx))
    }
}

const NOT_GROUPED: &str = "rows of this run are not grouped together in the order of runs.csv; sort the file by run in that order, or import the registry into a database (ecmo import) and derive features from there";
const LEFT_OVER: &str = "no such run in runs.csv (or rows out of order)";

/// The error at the first row of a segment (or the error it carries).
fn segment_error(seg: &mut fast::Segment, reason: &str) -> StreamError {
    if let Some(e) = seg.error.take()
        && matches!(seg.kind, fast::Kind::Fatal)
    {
        return e;
    }
    StreamError::Row(Box::new(RowError {
        file: OBSERVATIONS.into(),
        line: seg.line,
        column: Some("run_id".into()),
        value: (!seg.run_id.is_empty()).then(|| seg.run_id.clone()),
        reason: reason.into(),
        record: None,
    }))
}

const OBS: &[(&str, bool)] = csv_format::OBSERVATION_COLUMNS;

fn time(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Option<Timestamp>, StreamError> {
    let s = g.cell(col);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Timestamp>().map(Some).map_err(|e| g.fail(col, columns, e.to_string()))
}

fn required_time(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Timestamp, StreamError> {
    time(g, col, columns)?.ok_or_else(|| g.fail(col, columns, "required value is empty"))
}

fn number(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Option<f64>, StreamError> {
    let s = g.cell(col);
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(g.fail(col, columns, "not a number")),
    }
}

fn unit(g: &impl Cells, col: usize, columns: &[(&str, bool)], codes: &mut Codes) -> Result<Option<Unit>, StreamError> {
    let s = g.cell(col);
    if s.is_empty() {
        return Ok(None);
    }
    if let Some(u) = codes.units.get(s.as_bytes()) {
        return Ok(Some(*u));
    }
    let u = s.parse::<Unit>().map_err(|e| g.fail(col, columns, e.to_string()))?;
    codes.units.insert(s.as_bytes().into(), u);
    Ok(Some(u))
}

/// Codes already resolved, keyed by the cell as written: the same cell always
/// parses to the same value, so a hit is exactly what the parser would return.
#[derive(Default)]
struct Codes {
    units: HashMap<Box<[u8]>, Unit, BuildHasherDefault<Fnv>>,
    quantities: HashMap<Box<[u8]>, Quantity, BuildHasherDefault<Fnv>>,
    /// The last date-time cell parsed (rows come in runs of one time) and its value.
    last_time: ([u8; 24], usize, i64),
}

/// A required date-time through the one-entry cache of `codes`.
fn cached_time(
    g: &impl Cells,
    col: usize,
    columns: &[(&str, bool)],
    codes: &mut Codes,
) -> Result<Timestamp, StreamError> {
    let s = g.cell(col).as_bytes();
    let (buf, len, t) = &codes.last_time;
    if *len > 0 && &buf[..*len] == s {
        return Ok(Timestamp(*t));
    }
    let t = required_time(g, col, columns)?;
    if s.len() <= 24 {
        codes.last_time.0[..s.len()].copy_from_slice(s);
        codes.last_time.1 = s.len();
        codes.last_time.2 = t.0;
    }
    Ok(t)
}

/// FNV-1a: short keys, no attacker (the keys are the file's own unit and quantity codes).
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn quantity(g: &impl Cells, codes: &mut Codes) -> Result<Quantity, StreamError> {
    let s = g.cell(2);
    if let Some(q) = codes.quantities.get(s.as_bytes()) {
        return Ok(*q);
    }
    let q: Quantity = s.parse().map_err(|e: ecmo_domain::concepts::UnknownQuantity| g.fail(2, OBS, e.to_string()))?;
    codes.quantities.insert(s.as_bytes().into(), q);
    Ok(q)
}

fn observation(g: &impl Cells, codes: &mut Codes) -> Result<Observation, StreamError> {
    // Columns: run_id, time, quantity, value, unit, start.
    let t = cached_time(g, 1, OBS, codes)?;
    let q = quantity(g, codes)?;
    let value = number(g, 3, OBS)?.ok_or_else(|| g.fail(3, OBS, "required value is empty"))?;
    let u = unit(g, 4, OBS, codes)?;
    let checked = q.to_canonical(value, u).map_err(|e| {
        let col =
            if matches!(e, ecmo_domain::ValueError::OutOfRange { .. } | ecmo_domain::ValueError::NotInteger { .. }) {
                3
            } else {
                4
            };
        g.fail(col, OBS, e.to_string())
    })?;
    let start = time(g, 5, OBS)?;
    q.check_interval(t, start).map_err(|e| g.fail(5, OBS, e.to_string()))?;
    Ok(Observation {
        time: t,
        start,
        quantity: q,
        value: checked.canonical,
        entered_value: value,
        entered_unit: checked.unit,
        source: None,
    })
}

const INF: &[(&str, bool)] = csv_format::INFUSION_COLUMNS;

fn infusion(g: &impl Cells, codes: &mut Codes, patient_weight: f64) -> Result<InfusionChange, StreamError> {
    // Columns: run_id, time, drug, rate, unit, salt, concentration, concentration_unit, dosing_weight_kg.
    let t = required_time(g, 1, INF)?;
    let drug: Drug = g.cell(2).parse().map_err(|e: ecmo_domain::drugs::UnknownDrug| g.fail(2, INF, e.to_string()))?;
    let rate = number(g, 3, INF)?.ok_or_else(|| g.fail(3, INF, "required value is empty"))?;
    let u = unit(g, 4, INF, codes)?.ok_or_else(|| g.fail(4, INF, "required value is empty"))?;
    let salt: Salt = g.cell(5).parse().map_err(|e: ecmo_domain::drugs::UnknownSalt| g.fail(5, INF, e.to_string()))?;
    let concentration = match (number(g, 6, INF)?, g.cell(7)) {
        (None, "") => None,
        (Some(value), cu) if !cu.is_empty() => Some(Concentration {
            value,
            unit: cu
                .parse::<ConcentrationUnit>()
                .map_err(|e: ecmo_domain::drugs::UnknownConcentrationUnit| g.fail(7, INF, e.to_string()))?,
        }),
        _ => return Err(g.fail(7, INF, "a concentration needs both its value and its unit")),
    };
    let weight_kg = match number(g, 8, INF)? {
        Some(w) if !(20.0..=350.0).contains(&w) => {
            return Err(g.fail(8, INF, "cannot be physiologically true (possible range 20-350)"));
        }
        Some(w) => w,
        None => patient_weight,
    };
    let n = ChartedDose { drug, rate, unit: u, salt, concentration, weight_kg: Some(weight_kg) }
        .normalise()
        .map_err(|e| g.fail(3, INF, e.to_string()))?;
    Ok(InfusionChange {
        time: t,
        drug,
        rate: n.canonical,
        entered_rate: rate,
        entered_unit: u,
        salt,
        concentration,
        weight_kg,
        source: None,
    })
}

const SUP: &[(&str, bool)] = csv_format::SUPPORT_COLUMNS;

fn support(g: &impl Cells) -> Result<SupportPeriod, StreamError> {
    let kind: SupportKind = g.cell(1).parse().map_err(|e: String| g.fail(1, SUP, e))?;
    let start = required_time(g, 2, SUP)?;
    let stop = time(g, 3, SUP)?;
    if stop.is_some_and(|s| s < start) {
        return Err(g.fail(3, SUP, "is before start"));
    }
    Ok(SupportPeriod { kind, start, stop, source: None })
}

const EV: &[(&str, bool)] = csv_format::EVENT_COLUMNS;

fn event(g: &impl Cells) -> Result<Event, StreamError> {
    let t = required_time(g, 1, EV)?;
    let kind: EventKind = g.cell(2).parse().map_err(|e: String| g.fail(2, EV, e))?;
    let value = number(g, 3, EV)?;
    let detail = Some(g.cell(4)).filter(|d| !d.is_empty()).map(str::to_string);
    match kind {
        EventKind::EchoLvef if !value.is_some_and(|v| (0.0..=85.0).contains(&v)) => {
            return Err(g.fail(3, EV, "LVEF in % (0-85) is required"));
        }
        EventKind::Cpc if !value.is_some_and(|v| (1.0..=5.0).contains(&v) && v.fract() == 0.0) => {
            return Err(g.fail(3, EV, "CPC is a whole number 1-5"));
        }
        EventKind::EchoLvef | EventKind::Cpc => {}
        EventKind::EchoAorticValve
            if detail.as_deref().and_then(|d| d.parse::<ecmo_domain::AorticValveOpening>().ok()).is_none() =>
        {
            return Err(g.fail(4, EV, "aortic valve finding needs detail: opens, intermittent or closed"));
        }
        _ if value.is_some() => return Err(g.fail(3, EV, "this event takes no value")),
        _ => {}
    }
    Ok(Event { time: t, kind, value, detail, source: None })
}
