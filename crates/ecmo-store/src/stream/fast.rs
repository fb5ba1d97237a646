//! observations.csv, parsed on worker threads.
//!
//! observations.csv holds nearly all the rows of a registry (about 830 per
//! run). A splitter thread reads it in blocks of about 1 MiB cut at record
//! boundaries; worker threads parse the blocks (plain lines split on commas;
//! a block with quotes or bare carriage returns goes through the csv crate) and
//! check every value with the same functions as the sequential reader; the
//! consumer receives the parsed blocks in file order, as segments of
//! consecutive rows of one run, and does the grouping check there.

use super::{Cells, Codes, StreamError, observation};
use crate::csv_format::RowError;
use ecmo_domain::Observation;
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes per block handed to a worker.
const BLOCK: usize = 1 << 20;
/// Most fields a row may have on the fast path (more: the sequential reader is used).
pub(super) const MAX_FIELDS: usize = 16;

/// What the rows of a segment belong to.
pub(super) enum Kind {
    /// The run at this index of runs.csv.
    Run(usize),
    /// A run id not in runs.csv.
    Unknown,
    /// A malformed record or a read error (`error` says which).
    Fatal,
}

/// Consecutive rows of one run id.
pub(super) struct Segment {
    pub kind: Kind,
    pub run_id: String,
    /// Line of the segment's first row.
    pub line: u64,
    pub rows: Vec<Observation>,
    /// The error that stopped the block after `rows`.
    pub error: Option<StreamError>,
}

struct Shared {
    file: &'static str,
    position: Arc<HashMap<String, usize>>,
    /// Column index of each expected column.
    cols: Vec<Option<usize>>,
    /// Fields of the header row (every record must have as many).
    width: usize,
}

struct Job {
    data: Vec<u8>,
    line: u64,
    out: SyncSender<Vec<Segment>>,
}

/// Parsed segments of observations.csv, in file order.
pub(super) struct Pipeline {
    blocks: Receiver<Receiver<Vec<Segment>>>,
    pending: VecDeque<Segment>,
}

impl Pipeline {
    /// Start reading `file` at byte `offset` (the first record, on line `line`).
    pub fn start(
        mut file: File,
        file_name: &'static str,
        offset: u64,
        line: u64,
        cols: Vec<Option<usize>>,
        width: usize,
        position: Arc<HashMap<String, usize>>,
    ) -> Pipeline {
        let shared = Arc::new(Shared { file: file_name, position, cols, width });
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4);
        let (order_tx, order_rx) = sync_channel::<Receiver<Vec<Segment>>>(2 * workers + 2);
        let (job_tx, job_rx) = sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                let mut codes = Codes::default();
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => match rx.recv() {
                            Ok(job) => job,
                            Err(_) => return,
                        },
                        Err(_) => return,
                    };
                    let segments = parse_block(&shared, &job.data, job.line, &mut codes);
                    // A closed receiver means the stream was dropped.
                    let _ = job.out.send(segments);
                }
            });
        }
        std::thread::spawn(move || {
            let fatal = |e: std::io::Error| Segment {
                kind: Kind::Fatal,
                run_id: String::new(),
                line: 0,
                rows: Vec::new(),
                error: Some(StreamError::Csv { file: file_name.into(), source: csv::Error::from(e) }),
            };
            let send_fatal = |e: std::io::Error| {
                let (tx, rx) = sync_channel(1);
                let _ = tx.send(vec![fatal(e)]);
                let _ = order_tx.send(rx);
            };
            if let Err(e) = file.seek(SeekFrom::Start(offset)) {
                send_fatal(e);
                return;
            }
            let mut line = line;
            let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + BLOCK / 4);
            let mut eof = false;
            let mut want = BLOCK;
            loop {
                while !eof && buf.len() < want {
                    let len = buf.len();
                    buf.resize(want, 0);
                    match file.read(&mut buf[len..]) {
                        Ok(0) => {
                            buf.truncate(len);
                            eof = true;
                        }
                        Ok(n) => buf.truncate(len + n),
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(len),
                        Err(e) => {
                            send_fatal(e);
                            return;
                        }
                    }
                }
                if buf.is_empty() {
                    return;
                }
                let cut = if eof { buf.len() } else { record_boundary(&buf) };
                if cut == 0 {
                    // One record longer than the block: read more.
                    want += BLOCK;
                    continue;
                }
                want = BLOCK;
                let rest = buf[cut..].to_vec();
                let mut data = std::mem::replace(&mut buf, Vec::with_capacity(BLOCK + BLOCK / 4));
                data.truncate(cut);
                buf.extend_from_slice(&rest);
                let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
                let (tx, rx) = sync_channel(1);
                if job_tx.send(Job { data, line, out: tx }).is_err() || order_tx.send(rx).is_err() {
                    return;
                }
                line += lines;
            }
        });
        Pipeline { blocks: order_rx, pending: VecDeque::new() }
    }

    /// The next segment, if any.
    pub fn peek(&mut self) -> Option<&mut Segment> {
        while self.pending.is_empty() {
            let block = self.blocks.recv().ok()?;
            match block.recv() {
                Ok(segments) => self.pending.extend(segments),
                Err(_) => {
                    self.pending.push_back(Segment {
                        kind: Kind::Fatal,
                        run_id: String::new(),
                        line: 0,
                        rows: Vec::new(),
                        error: Some(StreamError::Row(Box::new(RowError {
                            file: "observations.csv".into(),
                            line: 0,
                            column: None,
                            value: None,
                            reason: "a parsing thread failed".into(),
                            record: None,
                        }))),
                    });
                }
            }
        }
        self.pending.front_mut()
    }

    pub fn pop(&mut self) {
        self.pending.pop_front();
    }
}

/// Index just after the last newline of `buf` that is outside quotes; 0 if none.
fn record_boundary(buf: &[u8]) -> usize {
    if !buf.contains(&b'"') {
        return buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    }
    let mut quoted = false;
    let mut cut = 0;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => cut = i + 1,
            _ => {}
        }
    }
    cut
}

/// One record of a block.
struct Row<'a> {
    shared: &'a Shared,
    line: u64,
    fields: [&'a str; MAX_FIELDS],
    n: usize,
}

impl Cells for Row<'_> {
    fn file(&self) -> &'static str {
        self.shared.file
    }

    fn cell(&self, i: usize) -> &str {
        self.shared.cols[i].filter(|&c| c < self.n).map_or("", |c| self.fields[c])
    }

    fn line(&self) -> u64 {
        self.line
    }
}

/// Builds the segments of a block; `false` from `row` ends the block.
struct Segments<'a> {
    shared: &'a Shared,
    out: Vec<Segment>,
}

impl Segments<'_> {
    fn row(&mut self, row: &Row<'_>, codes: &mut Codes) -> bool {
        if row.n != self.shared.width {
            self.out.push(Segment {
                kind: Kind::Fatal,
                run_id: String::new(),
                line: row.line,
                rows: Vec::new(),
                error: Some(StreamError::Row(Box::new(RowError {
                    file: self.shared.file.into(),
                    line: row.line,
                    column: None,
                    value: None,
                    reason: format!(
                        "found record with {} fields, but the header has {} fields",
                        row.n, self.shared.width
                    ),
                    record: None,
                }))),
            });
            return false;
        }
        let run = row.cell(0);
        let same = self.out.last().is_some_and(|s| s.run_id == run);
        if !same {
            let kind = match self.shared.position.get(run) {
                Some(&p) => Kind::Run(p),
                None => Kind::Unknown,
            };
            let unknown = matches!(kind, Kind::Unknown);
            self.out.push(Segment {
                kind,
                run_id: run.to_string(),
                line: row.line,
                rows: Vec::with_capacity(1024),
                error: None,
            });
            if unknown {
                return false;
            }
        }
        let Some(seg) = self.out.last_mut() else { return false };
        match observation(row, codes) {
            Ok(o) => {
                seg.rows.push(o);
                true
            }
            Err(e) => {
                seg.error = Some(e);
                false
            }
        }
    }
}

fn parse_block(shared: &Shared, data: &[u8], first_line: u64, codes: &mut Codes) -> Vec<Segment> {
    // A block of valid UTF-8 split at ASCII bytes gives valid UTF-8 cells: validated once here.
    let plain = !data.contains(&b'"')
        && (!data.contains(&b'\r')
            || data.iter().enumerate().all(|(i, &b)| b != b'\r' || data.get(i + 1) == Some(&b'\n')));
    let Some(text) = std::str::from_utf8(data).ok().filter(|_| plain) else {
        return parse_with_csv(shared, data, first_line, codes);
    };
    let mut segs = Segments { shared, out: Vec::new() };
    // One pass over the bytes: ',' ends a field, '\n' a record (both ASCII, so the
    // slices of `text` at them are char boundaries).
    let bytes = text.as_bytes();
    let mut row = Row { shared, line: first_line, fields: [""; MAX_FIELDS], n: 0 };
    let mut field_start = 0;
    let mut line_start = 0;
    let mut i = 0;
    while i <= bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(b'\n');
        if b == b',' {
            if row.n < MAX_FIELDS {
                row.fields[row.n] = text[field_start..i].trim_ascii();
            }
            row.n += 1;
            field_start = i + 1;
        } else if b == b'\n' {
            let end = if i > line_start && bytes[i - 1] == b'\r' { i - 1 } else { i };
            let last_line = i == bytes.len();
            if end > line_start {
                if row.n < MAX_FIELDS {
                    row.fields[row.n] = text[field_start.min(end)..end].trim_ascii();
                }
                row.n += 1;
                if !segs.row(&row, codes) {
                    break;
                }
            } else if last_line {
                break;
            }
            row.n = 0;
            row.line += 1;
            field_start = i + 1;
            line_start = i + 1;
        }
        i += 1;
    }
    segs.out
}

/// Quoted fields (possibly over several lines), bare CR terminators or bytes that are
/// not UTF-8 (such a cell reads as empty, as in the sequential reader): the csv crate.
fn parse_with_csv(shared: &Shared, data: &[u8], first_line: u64, codes: &mut Codes) -> Vec<Segment> {
    let mut segs = Segments { shared, out: Vec::new() };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(data);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(source) => {
                segs.out.push(Segment {
                    kind: Kind::Fatal,
                    run_id: String::new(),
                    line: 0,
                    rows: Vec::new(),
                    error: Some(StreamError::Csv { file: shared.file.into(), source }),
                });
                break;
            }
        }
        let line = first_line + record.position().map_or(1, |p| p.line()) - 1;
        let mut row = Row { shared, line, fields: [""; MAX_FIELDS], n: record.len() };
        for (slot, f) in row.fields.iter_mut().zip(record.iter()) {
            *slot = std::str::from_utf8(f).unwrap_or("");
        }
        if !segs.row(&row, codes) {
            break;
        }
    }
    segs.out
}
