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
        // Not trimmed by the reader (csv's trimming copies every record): `cell` trims.
        let mut reader = csv::ReaderBuilder::new()
            .from_path(&path)
            .map_err(|source| StreamError::Csv { file: file.into(), source })?;
        let headers = reader.byte_headers().map_err(|source| StreamError::Csv { file: file.into(), source })?.clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| String::from_utf8_lossy(h.trim_ascii()).trim_start_matches('\u{feff}').to_ascii_lowercase())
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

    /// Trimmed of ASCII whitespace, as csv's `Trim::All` trims a byte record.
    fn cell(&self, i: usize) -> &str {
        self.cols[i]
            .and_then(|c| self.record.get(c))
            .and_then(|b| std::str::from_utf8(b.trim_ascii()).ok())
            .unwrap_or("")
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
    /// The bytes of the cell as written (not checked for UTF-8). Where these are
    /// not UTF-8, `cell` is empty: the hot paths below compare bytes first and
    /// read `cell` for anything else, so such a cell always reads as empty.
    fn bytes(&self, i: usize) -> &[u8] {
        self.cell(i).as_bytes()
    }
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
    observations: Option<Records<Observation>>,
    infusions: Option<Records<InfusionChange>>,
    support: Option<Grouped>,
    events: Option<Grouped>,
    codes: Codes,
}

/// observations.csv or infusions.csv: parsed on worker threads, or by the
/// sequential reader when its header is too wide for the fast path.
enum Records<T> {
    Fast(fast::Pipeline<T>),
    Csv(Grouped),
}

impl<T: fast::Record> Records<T> {
    fn open(
        dir: &Path,
        file: &'static str,
        columns: &[(&str, bool)],
        position: &Arc<HashMap<String, usize>>,
        weights: &Arc<[f64]>,
        workers: usize,
    ) -> Result<Option<Self>, StreamError> {
        Ok(match Grouped::open(dir, file, columns)? {
            None => None,
            Some(g) if g.width > fast::MAX_FIELDS => Some(Records::Csv(g)),
            Some(g) => {
                let start = g.reader.position().clone();
                let handle = File::open(dir.join(file))
                    .map_err(|e| StreamError::Csv { file: file.into(), source: csv::Error::from(e) })?;
                let source = fast::Source {
                    file: handle,
                    name: file,
                    offset: start.byte(),
                    line: start.line(),
                    cols: g.cols,
                    width: g.width,
                };
                Some(Records::Fast(fast::Pipeline::start(source, Arc::clone(position), Arc::clone(weights), workers)))
            }
        })
    }

    /// Move the rows of run `idx` into `out`.
    fn take_run(
        &mut self,
        idx: usize,
        position: &HashMap<String, usize>,
        out: &mut Vec<T>,
        mut parse: impl FnMut(&Grouped) -> Result<T, StreamError>,
    ) -> Result<(), StreamError> {
        match self {
            Records::Csv(g) => {
                while g.next_row()? && RegistryStream::belongs(position, g, idx)? {
                    out.push(parse(g)?);
                    g.pending = false;
                }
            }
            Records::Fast(p) => {
                let file = p.file();
                while let Some(seg) = p.peek() {
                    match seg.kind {
                        fast::Kind::Run(r) if r == idx => {}
                        fast::Kind::Run(r) if r > idx => break,
                        fast::Kind::Run(_) => return Err(segment_error(file, seg, NOT_GROUPED)),
                        fast::Kind::Unknown => return Err(segment_error(file, seg, "no such run in runs.csv")),
                        fast::Kind::Fatal => return Err(segment_error(file, seg, "")),
                    }
                    if out.is_empty() {
                        *out = std::mem::take(&mut seg.rows);
                    } else {
                        out.append(&mut seg.rows);
                    }
                    if let Some(e) = seg.error.take() {
                        return Err(e);
                    }
                    p.pop();
                }
            }
        }
        Ok(())
    }

    /// The error for rows left over after the last run, if any.
    fn left_over(&mut self) -> Option<StreamError> {
        match self {
            Records::Fast(p) => {
                let file = p.file();
                p.peek().map(|seg| segment_error(file, seg, LEFT_OVER))
            }
            Records::Csv(g) => match g.next_row() {
                Ok(true) => Some(g.fail(0, &[("run_id", true)], LEFT_OVER)),
                Ok(false) => None,
                Err(e) => Some(e),
            },
        }
    }
}

/// patients.csv and runs.csv, read and validated whole by the importer's reader.
///
/// Both files are read at once: runs.csv as if every patient existed (a large
/// one in two halves on two threads, as runs.csv is read at three times the
/// cost per row of patients.csv and nothing else can start before both are
/// read), the runs then checked against the patients read. Should anything be
/// wrong (an error in either file, a run id in both halves, or a run naming a
/// patient not read), both are read again one after the other, so that the
/// errors reported are exactly the sequential reader's.
fn read_head(dir: &Path, split_from: usize) -> Result<(HashMap<String, Patient>, Vec<Run>), StreamError> {
    let runs_text = std::fs::read(dir.join(RUNS)).ok();
    let halves = runs_text.as_deref().and_then(|text| split_in_two(text, split_from));
    let (patients, runs) = std::thread::scope(|s| {
        let patients = s.spawn(|| {
            let mut out = ReadOutcome::default();
            read_whole(dir, PATIENTS, &mut csv_format::Context::new(&NoKnownRuns), &mut out).map(|()| out)
        });
        let runs = match halves {
            Some((header, first, second)) => {
                let later = s.spawn(move || read_runs(std::io::Read::chain(header, second)));
                let mut runs = read_runs(first);
                match later.join() {
                    Ok(more) => {
                        // A run id in both halves: the sequential reader decides (repeat or conflict).
                        let ids: std::collections::HashSet<&str> =
                            runs.batch.runs.iter().map(|r| r.item.id.as_str()).collect();
                        if more.batch.runs.iter().any(|r| ids.contains(r.item.id.as_str())) {
                            runs.errors.push(RowError {
                                file: RUNS.into(),
                                line: 0,
                                column: None,
                                value: None,
                                reason: "run id in both halves".into(),
                                record: None,
                            });
                        }
                        runs.errors.extend(more.errors);
                        runs.batch.runs.extend(more.batch.runs);
                        Ok(runs)
                    }
                    Err(_) => Err(()),
                }
            }
            // The text already read, whole; a missing file falls back to the sequential
            // reader, which reports it.
            None => runs_text.as_deref().map(read_runs).ok_or(()),
        };
        (patients.join(), runs)
    });
    let by_id = |p: Vec<csv_format::Located<Patient>>| -> HashMap<String, Patient> {
        p.into_iter().map(|l| (l.item.id.clone(), l.item)).collect()
    };
    if let (Ok(Ok(patients)), Ok(runs)) = (patients, runs)
        && patients.errors.is_empty()
        && runs.errors.is_empty()
    {
        let patients = by_id(patients.batch.patients);
        if runs.batch.runs.iter().all(|r| patients.contains_key(&r.item.patient_id)) {
            return Ok((patients, runs.batch.runs.into_iter().map(|l| l.item).collect()));
        }
    }
    // The sequential reader: one context, patients first (runs.csv refers to them).
    let mut head = ReadOutcome::default();
    let mut ctx = csv_format::Context::new(&NoKnownRuns);
    for file in [PATIENTS, RUNS] {
        read_whole(dir, file, &mut ctx, &mut head)?;
    }
    if !head.errors.is_empty() {
        return Err(StreamError::Header(head.errors));
    }
    Ok((by_id(head.batch.patients), head.batch.runs.into_iter().map(|l| l.item).collect()))
}

fn read_whole(dir: &Path, file: &str, ctx: &mut csv_format::Context, out: &mut ReadOutcome) -> Result<(), StreamError> {
    let path = dir.join(file);
    // Not trimmed by the reader: read_file trims each cell it reads.
    let reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .map_err(|e| csv_format::ReadError::Io { path: path.clone(), source: std::io::Error::other(e.to_string()) })?;
    csv_format::read_file(file, reader, ctx, out);
    Ok(())
}

/// runs.csv from at least this size is read in two halves.
const SPLIT_RUNS_FROM: usize = 1 << 20;

/// The header line, and the text (of at least `split_from` bytes) cut in two at the line nearest past its
/// middle (the first part starting with the header), when the cut is certain to be a record boundary: no quotes anywhere (a quoted
/// cell may hold a newline) and no bare carriage return in the header (a
/// line break the cut would not see).
fn split_in_two(text: &[u8], split_from: usize) -> Option<(&[u8], &[u8], &[u8])> {
    if text.len() < split_from || text.contains(&b'"') {
        return None;
    }
    let header_end = text.iter().position(|&b| b == b'\n')? + 1;
    let header = &text[..header_end];
    if header.strip_suffix(b"\r\n").unwrap_or(header).contains(&b'\r') {
        return None;
    }
    let middle = header_end + (text.len() - header_end) / 2;
    let cut = middle + text[middle..].iter().position(|&b| b == b'\n')? + 1;
    (cut < text.len()).then(|| (header, &text[..cut], &text[cut..]))
}

/// Rows of runs.csv (with its header) as if every patient existed.
fn read_runs(text: impl std::io::Read) -> ReadOutcome {
    let mut out = ReadOutcome::default();
    let reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    csv_format::read_file(RUNS, reader, &mut csv_format::Context::new(&AnyPatient), &mut out);
    out
}

/// Every patient exists, weight unknown: runs.csv read before patients.csv is.
struct AnyPatient;

impl KnownRuns for AnyPatient {
    fn run_weight(&self, _: &str) -> Option<f64> {
        None
    }
    fn patient_weight(&self, _: &str) -> Option<f64> {
        Some(f64::NAN)
    }
}

impl RegistryStream {
    /// Open a registry directory; patients.csv and runs.csv are read and validated whole.
    pub fn open(dir: &Path) -> Result<Self, StreamError> {
        let (patients, runs) = read_head(dir, SPLIT_RUNS_FROM)?;
        let position: Arc<HashMap<String, usize>> =
            Arc::new(runs.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect());
        let mut other_starts: HashMap<String, Vec<Timestamp>> = HashMap::new();
        for r in &runs {
            other_starts.entry(r.patient_id.clone()).or_default().push(r.flow_start);
        }
        // A missing patient is reported when its run is read; NaN makes any per-kg dose fail until then.
        let weights: Arc<[f64]> =
            runs.iter().map(|r| patients.get(&r.patient_id).map_or(f64::NAN, |p| p.weight_kg)).collect();
        // observations.csv is most of the data: all cores; infusions.csv is about 6 % of it.
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
        let observations =
            Records::open(dir, OBSERVATIONS, csv_format::OBSERVATION_COLUMNS, &position, &weights, workers)?;
        let infusions = Records::open(dir, INFUSIONS, csv_format::INFUSION_COLUMNS, &position, &weights, 1)?;
        Ok(RegistryStream {
            patients,
            runs,
            position,
            other_starts,
            next: 0,
            observations,
            infusions,
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
        if let Some(r) = self.observations.as_mut() {
            let codes = &mut self.codes;
            r.take_run(idx, &self.position, &mut rec.observations, |g| observation(g, codes))?;
        }
        if let Some(r) = self.infusions.as_mut() {
            let codes = &mut self.codes;
            r.take_run(idx, &self.position, &mut rec.infusions, |g| infusion(g, codes, weight))?;
        }
        // Rows of this run name it: one comparison instead of a lookup in the (large) run index.
        let id = self.runs[idx].id.as_str();
        if let Some(g) = self.support.as_mut() {
            while g.next_row()? && (g.bytes(0) == id.as_bytes() || Self::belongs(&self.position, g, idx)?) {
                rec.supports.push(support(g)?);
                g.pending = false;
            }
        }
        if let Some(g) = self.events.as_mut() {
            while g.next_row()? && (g.bytes(0) == id.as_bytes() || Self::belongs(&self.position, g, idx)?) {
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
            if let Some(e) = self.observations.as_mut().and_then(Records::left_over) {
                return Some(Err(e));
            }
            if let Some(e) = self.infusions.as_mut().and_then(Records::left_over) {
                return Some(Err(e));
            }
            for g in [self.support.as_mut(), self.events.as_mut()].into_iter().flatten() {
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
fn segment_error<T>(file: &'static str, seg: &mut fast::Segment<T>, reason: &str) -> StreamError {
    if let Some(e) = seg.error.take()
        && matches!(seg.kind, fast::Kind::Fatal)
    {
        return e;
    }
    StreamError::Row(Box::new(RowError {
        file: file.into(),
        line: seg.line,
        column: Some("run_id".into()),
        value: (!seg.run_id.is_empty()).then(|| seg.run_id.clone()),
        reason: reason.into(),
        record: None,
    }))
}

const OBS: &[(&str, bool)] = csv_format::OBSERVATION_COLUMNS;

#[inline(always)]
fn time(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Option<Timestamp>, StreamError> {
    if g.bytes(col).is_empty() {
        return Ok(None);
    }
    let s = g.cell(col);
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<Timestamp>().map(Some).map_err(|e| g.fail(col, columns, e.to_string()))
}

fn required_time(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Timestamp, StreamError> {
    time(g, col, columns)?.ok_or_else(|| g.fail(col, columns, "required value is empty"))
}

#[inline(always)]
fn number(g: &impl Cells, col: usize, columns: &[(&str, bool)]) -> Result<Option<f64>, StreamError> {
    let b = g.bytes(col);
    if b.is_empty() {
        return Ok(None);
    }
    // Digits, '-' and '.' only: ASCII, so the same as the cell.
    if let Some(v) = plain_decimal(b) {
        return Ok(Some(v));
    }
    let s = g.cell(col);
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(g.fail(col, columns, "not a number")),
    }
}

/// `[-]digits[.digits]` with at most 15 digits, parsed without the general
/// algorithm: the digits as an integer (exact below 2^53) divided by a power of
/// ten (exact up to 10^22) is one correctly rounded operation, so the result is
/// the same double `str::parse` returns (Clinger's fast path). Anything else
/// (exponents, '+', more digits) gives `None` and goes through `str::parse`.
fn plain_decimal(s: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa = 0u64;
    let mut n_digits = 0;
    let mut point = None;
    for (i, &b) in digits.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(b - b'0');
                n_digits += 1;
            }
            b'.' if point.is_none() && i > 0 && i + 1 < digits.len() => point = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if n_digits > 15 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // below 10^15 < 2^53: exact
    let v = match point {
        // Exact without the division (x / 1.0 == x).
        None => mantissa as f64,
        Some(places) => mantissa as f64 / POW10[places],
    };
    Some(if negative { -v } else { v })
}

#[inline(always)]
fn unit(g: &impl Cells, col: usize, columns: &[(&str, bool)], codes: &mut Codes) -> Result<Option<Unit>, StreamError> {
    let b = g.bytes(col);
    if b.is_empty() {
        return Ok(None);
    }
    if let Some(u) = codes.units.get(CodeKey::of(b)) {
        return Ok(Some(u));
    }
    if g.cell(col).is_empty() {
        return Ok(None);
    }
    cached_code(g, col, columns, |c| &mut c.units, codes, |s| s.parse::<Unit>().map_err(|e| e.to_string())).map(Some)
}

/// A cell of up to 24 bytes as its length and three 8-byte words (zero-padded
/// or overlapping): two cells are equal exactly when their keys are, and the
/// key is built and compared without a byte loop or a call to memcmp.
#[derive(Clone, Copy)]
struct CodeKey {
    len: usize,
    words: [u64; 3],
}

impl PartialEq for CodeKey {
    /// Scalar on purpose: the derived comparison loads the words as one vector
    /// just after they were stored as scalars, a store-forwarding stall that
    /// showed up as the hottest instruction of the observation reader.
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        ((self.len ^ other.len) as u64
            | (self.words[0] ^ other.words[0])
            | (self.words[1] ^ other.words[1])
            | (self.words[2] ^ other.words[2]))
            == 0
    }
}

impl Eq for CodeKey {}

impl CodeKey {
    /// `None` for cells longer than 24 bytes (not cached).
    #[inline(always)]
    fn of(s: &[u8]) -> Option<CodeKey> {
        let word = |at: usize| u64::from_le_bytes(s[at..at + 8].try_into().unwrap_or([0; 8]));
        let half = |at: usize| u64::from(u32::from_le_bytes(s[at..at + 4].try_into().unwrap_or([0; 4])));
        let quarter = |at: usize| u64::from(u16::from_le_bytes(s[at..at + 2].try_into().unwrap_or([0; 2])));
        // Overlapping loads cover every byte; with the length in the key they are unambiguous.
        let words = match s.len() {
            0 => [0, 0, 0],
            1 => [u64::from(s[0]), 0, 0],
            2..=3 => [quarter(0) | quarter(s.len() - 2) << 16, 0, 0],
            4..=7 => [half(0) | half(s.len() - 4) << 32, 0, 0],
            8 => [word(0), 0, 0],
            9..=16 => [word(0), word(s.len() - 8), 0],
            17..=24 => [word(0), word(8), word(s.len() - 8)],
            _ => return None,
        };
        Some(CodeKey { len: s.len(), words })
    }

    #[inline(always)]
    fn slot(&self) -> usize {
        let h = (self.words[0] ^ self.words[1].rotate_left(21) ^ self.words[2].rotate_left(42) ^ self.len as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> (64 - CODE_SLOTS_BITS)) as usize
    }
}

const CODE_SLOTS_BITS: u32 = 8;

/// Cells already resolved, keyed by the cell as written. A key may sit in its
/// own slot or the `PROBES - 1` after it (open addressing: the few dozen codes
/// of a file do not evict each other); once those are taken, a new key
/// replaces the one in its own slot, so the cache stays bounded. Date-times,
/// which are mostly new, use one probe.
struct CodeCache<T: Copy, const PROBES: usize = 4> {
    slots: Vec<Option<(CodeKey, T)>>,
}

impl<T: Copy, const PROBES: usize> Default for CodeCache<T, PROBES> {
    fn default() -> Self {
        CodeCache { slots: vec![None; 1 << CODE_SLOTS_BITS] }
    }
}

impl<T: Copy, const PROBES: usize> CodeCache<T, PROBES> {
    #[inline(always)]
    fn get(&self, key: Option<CodeKey>) -> Option<T> {
        let key = key?;
        let first = key.slot();
        for p in 0..PROBES {
            match self.slots[(first + p) & (self.slots.len() - 1)] {
                Some((k, v)) if k == key => return Some(v),
                Some(_) => {}
                None => return None,
            }
        }
        None
    }

    fn put(&mut self, key: Option<CodeKey>, value: T) {
        let Some(key) = key else { return };
        let first = key.slot();
        let n = self.slots.len();
        // The first free slot; when all are taken, the home slot (the cache stays bounded).
        let at = (0..PROBES).map(|p| (first + p) & (n - 1)).find(|&i| self.slots[i].is_none()).unwrap_or(first);
        self.slots[at] = Some((key, value));
    }
}

/// Codes already resolved, keyed by the cell as written: the same cell always
/// parses to the same value, so a hit is exactly what the parser would return.
#[derive(Default)]
struct Codes {
    units: CodeCache<Unit>,
    quantities: CodeCache<Quantity>,
    /// Date-time cells parsed (rows come in runs of one time, and times recur within a block).
    times: CodeCache<Timestamp, 1>,
    last_time: Option<(CodeKey, Timestamp)>,
    /// Date part and midnight of the last `YYYY-MM-DDTHH:MM` cell parsed in full.
    last_day: ([u8; 11], Option<Timestamp>),
    drugs: CodeCache<Drug>,
    salts: CodeCache<Salt>,
}

/// A required date-time through the caches of `codes`.
#[inline]
fn cached_time(
    g: &impl Cells,
    col: usize,
    columns: &[(&str, bool)],
    codes: &mut Codes,
) -> Result<Timestamp, StreamError> {
    let s = g.bytes(col);
    let key = CodeKey::of(s);
    // Rows come in runs of one time: the last one first, then the cache.
    if let (Some(k), Some((last, t))) = (key, codes.last_time)
        && k == last
    {
        return Ok(t);
    }
    if let Some(t) = codes.times.get(key) {
        codes.last_time = key.map(|k| (k, t));
        return Ok(t);
    }
    let t = match same_day(s, &codes.last_day) {
        Some(t) => t,
        None => {
            let t = required_time(g, col, columns)?;
            if s.len() == 16 {
                codes.last_day.0[..11].copy_from_slice(&s[..11]);
                codes.last_day.1 = Some(Timestamp(t.0.div_euclid(1440) * 1440));
            }
            t
        }
    };
    codes.times.put(key, t);
    codes.last_time = key.map(|k| (k, t));
    Ok(t)
}

/// `YYYY-MM-DDTHH:MM` on the day of `last` (its first 11 bytes, date and
/// separator, and its midnight, from a cell the full parser accepted): the
/// midnight plus the hours and minutes, which is what the parser computes.
/// `None` for anything else (other day, other length, hour or minute out of
/// range, not digits), which then goes through the parser and its errors.
#[inline]
fn same_day(s: &[u8], last: &([u8; 11], Option<Timestamp>)) -> Option<Timestamp> {
    let midnight = last.1?;
    if s.len() != 16 || s[..11] != last.0 || s[13] != b':' {
        return None;
    }
    let digit = |i: usize| s[i].is_ascii_digit().then(|| i64::from(s[i] - b'0'));
    let (hour, minute) = (digit(11)? * 10 + digit(12)?, digit(14)? * 10 + digit(15)?);
    (hour <= 23 && minute <= 59).then(|| Timestamp(midnight.0 + hour * 60 + minute))
}

/// A code cell through its cache in `codes`; `parse` gives the reason a cell is refused.
fn cached_code<T: Copy>(
    g: &impl Cells,
    col: usize,
    columns: &[(&str, bool)],
    cache: impl Fn(&mut Codes) -> &mut CodeCache<T>,
    codes: &mut Codes,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, StreamError> {
    let key = CodeKey::of(g.bytes(col));
    if let Some(v) = cache(codes).get(key) {
        return Ok(v);
    }
    // Keyed by the bytes: a key that is not UTF-8 holds what the empty cell parses to.
    let v = parse(g.cell(col)).map_err(|reason| g.fail(col, columns, reason))?;
    cache(codes).put(key, v);
    Ok(v)
}

#[inline]
fn quantity(g: &impl Cells, codes: &mut Codes) -> Result<Quantity, StreamError> {
    cached_code(
        g,
        2,
        OBS,
        |c| &mut c.quantities,
        codes,
        |s| s.parse::<Quantity>().map_err(|e: ecmo_domain::concepts::UnknownQuantity| e.to_string()),
    )
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
    let t = cached_time(g, 1, INF, codes)?;
    let drug = cached_code(
        g,
        2,
        INF,
        |c| &mut c.drugs,
        codes,
        |s| s.parse::<Drug>().map_err(|e: ecmo_domain::drugs::UnknownDrug| e.to_string()),
    )?;
    let rate = number(g, 3, INF)?.ok_or_else(|| g.fail(3, INF, "required value is empty"))?;
    let u = unit(g, 4, INF, codes)?.ok_or_else(|| g.fail(4, INF, "required value is empty"))?;
    let salt = cached_code(
        g,
        5,
        INF,
        |c| &mut c.salts,
        codes,
        |s| s.parse::<Salt>().map_err(|e: ecmo_domain::drugs::UnknownSalt| e.to_string()),
    )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// runs.csv read in two halves gives what reading it whole gives: the same runs, or the same
    /// errors (a run id in both halves, a patient missing, a bad cell in the second half).
    #[test]
    fn runs_read_in_halves_read_like_runs_read_whole() {
        let patients = "patient_id,sex,age_years,weight_kg\nP1,female,61,70\nP2,male,50,80\n";
        let head = "run_id,patient_id,mode,etiology,flow_start,arrest\r\n";
        let row =
            |id: &str, patient: &str, mode: &str| format!("{id},{patient},{mode},ami_cs,2020-01-01 10:00,none\r\n");
        let first: String = (0..20).map(|i| row(&format!("R{i}"), "P1", "va")).collect();
        for last in [
            row("R99", "P2", "va"),
            row("R3", "P1", "va"),
            row("R3", "P2", "va"),
            row("R99", "P9", "va"),
            row("R99", "P2", "xx"),
            "R99,P2\r\n".to_string(),
        ] {
            let runs = format!("{head}{first}{}{last}", row("R50", "P2", "va"));
            let (_, a, b) = split_in_two(runs.as_bytes(), 0).unwrap();
            assert!(a.len() > runs.len() / 3 && b.len() > runs.len() / 3 && b.starts_with(b"R"), "{runs}");
            let d = tempfile::tempdir().unwrap();
            std::fs::write(d.path().join("patients.csv"), patients).unwrap();
            std::fs::write(d.path().join("runs.csv"), &runs).unwrap();
            let whole = format!("{:?}", read_head(d.path(), usize::MAX).map(|(p, r)| (p.len(), r)));
            assert_eq!(format!("{:?}", read_head(d.path(), 0).map(|(p, r)| (p.len(), r))), whole, "{last}");
        }
        // Not split: small, quoted, or a header ending in a bare carriage return.
        assert!(split_in_two(b"a,b\n1,2\n3,4\n", 100).is_none());
        assert!(split_in_two(b"a,b\n1,2\n\"3\",4\n5,6\n", 0).is_none());
        assert!(split_in_two(b"a,b\r1,2\n3,4\n5,6\n", 0).is_none());
    }

    #[test]
    fn plain_decimals_parse_to_the_same_double_as_str_parse() {
        let fixed = [
            "0",
            "-0",
            "69",
            "0.328",
            "4.5",
            "-12.75",
            "0.1",
            "0.7",
            "123456789012345",
            "99999.9999999999",
            "0.000000000000001",
            "007.50",
            "1e3",
            "+5",
            ".5",
            "5.",
            "1.2.3",
            "-",
            "",
            "1234567890123456",
            "0x10",
        ];
        let mut cases: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        // Deterministic spread of digit counts and decimal places.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 15 + 1) as usize;
            let places = (x >> 8) as usize % (digits + 1);
            let mut s = format!("{:0width$}", (x >> 16) % 10u64.pow(digits as u32), width = digits);
            if places > 0 && places < digits {
                s.insert(digits - places, '.');
            }
            if x & 1 == 1 {
                s.insert(0, '-');
            }
            cases.push(s);
        }
        for s in &cases {
            let std = s.parse::<f64>().ok();
            match plain_decimal(s.as_bytes()) {
                Some(v) => assert_eq!(Some(v.to_bits()), std.map(f64::to_bits), "{s}"),
                // Declined: the caller falls back to str::parse.
                None => assert!(
                    s.contains(['e', '+', 'x'])
                        || s.len() > 15
                        || !s.contains(char::is_numeric)
                        || std.is_none()
                        || s.starts_with('.')
                        || s.ends_with('.'),
                    "{s}"
                ),
            }
        }
    }

    #[test]
    fn same_day_times_match_the_full_parser() {
        let day = "2019-03-04T";
        let midnight: Timestamp = "2019-03-04T00:00".parse().unwrap();
        let mut last = ([0u8; 11], Some(midnight));
        last.0.copy_from_slice(day.as_bytes());
        let mut cells: Vec<String> =
            (0..=25).flat_map(|h| [0, 1, 30, 59, 60, 99].map(move |m| format!("{day}{h:02}:{m:02}"))).collect();
        cells.extend(
            ["2019-03-04T1a:00", "2019-03-04T12-00", "2019-03-04 12:00", "2019-03-05T12:00", "2019-03-04T12:00:30"]
                .map(String::from),
        );
        let mut fast = 0;
        for c in &cells {
            let full = c.parse::<Timestamp>().ok();
            match same_day(c.as_bytes(), &last) {
                Some(t) => {
                    assert_eq!(Some(t), full, "{c}");
                    fast += 1;
                }
                // Declined: the full parser decides (and reports the error).
                None => assert!(full.is_none() || !c.starts_with(day) || c.len() != 16, "{c}"),
            }
        }
        assert_eq!(fast, 24 * 4);
        last.1 = None;
        assert_eq!(same_day(b"2019-03-04T10:00", &last), None);
    }

    #[test]
    fn code_keys_are_equal_exactly_when_the_cells_are() {
        let cells: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"ab",
            b"ba",
            b"abc",
            b"abd",
            b"map",
            b"mmHg",
            b"mg/dL",
            b"mmol/L",
            b"lactate",
            b"lactatE",
            b"12345678",
            b"123456789",
            b"1234567890123456",
            b"1234567890123457",
            b"2019-04-06T04:20",
            b"2019-04-06T04:21",
            b"2019-04-06 04:20",
            b"abcdefghijklmnopq",
            b"abcdefghijklmnopqrstuvwx",
            b"abcdefghijklmnopqrstuvwX",
            b"a\0",
            b"a\0\0",
        ];
        for a in &cells {
            for b in &cells {
                assert_eq!(CodeKey::of(a) == CodeKey::of(b), a == b, "{:?} {:?}", a, b);
            }
        }
        assert!(CodeKey::of(b"abcdefghijklmnopqrstuvwxy").is_none());
    }
}
