//! The large record files (observations.csv, infusions.csv), parsed on worker threads.
//!
//! observations.csv holds nearly all the rows of a registry (about 830 per
//! run). A splitter thread reads a file in blocks of about 1 MiB cut at record
//! boundaries; worker threads parse the blocks (plain lines split on commas;
//! a block with quotes or bare carriage returns goes through the csv crate) and
//! check every value with the same functions as the sequential reader; the
//! consumer receives the parsed blocks in file order, as segments of
//! consecutive rows of one run, and does the grouping check there.
//!
//! Workers number lines from the start of their block; the consumer, which sees
//! the blocks in order, adds the line of the block's first row (so the splitter
//! does not have to count lines). Block buffers go back to the splitter once
//! parsed, so the file is read into the same few buffers throughout (mapping the
//! file instead of reading it was tried: no less CPU time, see bench/README.md).

use super::{Cells, CodeKey, Codes, StreamError};
use crate::csv_format::RowError;
use ecmo_domain::{InfusionChange, Observation};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes per block handed to a worker.
const BLOCK: usize = 1 << 20;
/// Most fields a row may have on the fast path (more: the sequential reader is used).
pub(super) const MAX_FIELDS: usize = 16;

/// A record type parsed on the workers.
pub(super) trait Record: Sized + Send + 'static {
    /// Rows of one run to reserve room for.
    const ROWS_PER_RUN: usize;
    /// Parse and check one row of run `run` (index in runs.csv).
    fn parse(row: &Row<'_>, run: usize, codes: &mut Codes) -> Result<Self, StreamError>;
}

impl Record for Observation {
    // A median run has ~600 rows, one in ten more than 1,400: with room for 1,024, growing the
    // vector (a copy of up to 80 kB) cost 2-3 % of all instructions; untouched room is not resident.
    const ROWS_PER_RUN: usize = 2048;
    fn parse(row: &Row<'_>, _run: usize, codes: &mut Codes) -> Result<Self, StreamError> {
        super::observation(row, codes)
    }
}

impl Record for InfusionChange {
    const ROWS_PER_RUN: usize = 64;
    fn parse(row: &Row<'_>, run: usize, codes: &mut Codes) -> Result<Self, StreamError> {
        let weight = row.shared.weights.get(run).copied().unwrap_or(f64::NAN);
        super::infusion(row, codes, weight)
    }
}

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
pub(super) struct Segment<T> {
    pub kind: Kind,
    pub run_id: String,
    /// Line of the segment's first row.
    pub line: u64,
    pub rows: Vec<T>,
    /// The error that stopped the block after `rows`.
    pub error: Option<StreamError>,
}

impl<T> Segment<T> {
    fn fatal(error: StreamError) -> Self {
        Segment { kind: Kind::Fatal, run_id: String::new(), line: 0, rows: Vec::new(), error: Some(error) }
    }
}

/// What every worker of one file needs.
pub(super) struct Shared {
    file: &'static str,
    position: Arc<HashMap<String, usize>>,
    /// Patient weight (kg) of each run of runs.csv, by index (infusion doses per kg).
    weights: Arc<[f64]>,
    /// Column index of each expected column.
    /// (`usize::MAX` when the file does not have the column: an empty cell).
    cols: [usize; MAX_FIELDS],
    /// Fields of the header row (every record must have as many).
    width: usize,
}

/// The segments of one block and its number of lines.
struct Block<T> {
    segments: Vec<Segment<T>>,
    lines: u64,
}

struct Job<T> {
    data: Vec<u8>,
    /// Bytes of `data` that belong to the block (the buffer may be longer).
    len: usize,
    out: SyncSender<Block<T>>,
}

/// Parsed segments of a record file, in file order.
pub(super) struct Pipeline<T> {
    file: &'static str,
    blocks: Receiver<Receiver<Block<T>>>,
    pending: VecDeque<Segment<T>>,
    /// Line of the first row of the next block.
    next_line: u64,
}

/// Where and how to read one record file.
pub(super) struct Source {
    pub file: File,
    pub name: &'static str,
    /// Byte offset and line of the first record.
    pub offset: u64,
    pub line: u64,
    pub cols: Vec<Option<usize>>,
    pub width: usize,
}

impl<T: Record> Pipeline<T> {
    /// Start reading `source` with `workers` parsing threads.
    pub fn start(
        source: Source,
        position: Arc<HashMap<String, usize>>,
        weights: Arc<[f64]>,
        workers: usize,
    ) -> Pipeline<T> {
        let Source { mut file, name: file_name, offset, line, cols, width } = source;
        let mut index = [usize::MAX; MAX_FIELDS];
        for (slot, c) in index.iter_mut().zip(&cols) {
            *slot = c.unwrap_or(usize::MAX);
        }
        let shared = Arc::new(Shared { file: file_name, position, weights, cols: index, width });
        let (order_tx, order_rx) = sync_channel::<Receiver<Block<T>>>(2 * workers + 2);
        let (job_tx, job_rx) = sync_channel::<Job<T>>(workers);
        let (recycle_tx, recycle_rx) = channel::<Vec<u8>>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let shared = Arc::clone(&shared);
            let recycle_tx: Sender<Vec<u8>> = recycle_tx.clone();
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
                    let block = parse_block(&shared, &job.data[..job.len], &mut codes);
                    // Closed receivers mean the stream was dropped.
                    let _ = recycle_tx.send(job.data);
                    let _ = job.out.send(block);
                }
            });
        }
        std::thread::spawn(move || {
            let send = |data: Vec<u8>, len: usize| {
                let (tx, rx) = sync_channel(1);
                job_tx.send(Job { data, len, out: tx }).is_ok() && order_tx.send(rx).is_ok()
            };
            if let Err(e) = split_read(&mut file, offset, &recycle_rx, &send) {
                let (tx, rx) = sync_channel(1);
                let error = StreamError::Csv { file: file_name.into(), source: csv::Error::from(e) };
                let _ = tx.send(Block { segments: vec![Segment::fatal(error)], lines: 0 });
                let _ = order_tx.send(rx);
            }
        });
        Pipeline { file: file_name, blocks: order_rx, pending: VecDeque::new(), next_line: line }
    }
}

impl<T> Pipeline<T> {
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The next segment, if any.
    pub fn peek(&mut self) -> Option<&mut Segment<T>> {
        while self.pending.is_empty() {
            let block = self.blocks.recv().ok()?;
            match block.recv() {
                Ok(block) => {
                    let base = self.next_line;
                    self.pending.extend(block.segments.into_iter().map(|mut seg| {
                        seg.line += base;
                        if let Some(StreamError::Row(e)) = seg.error.as_mut() {
                            e.line += base;
                        }
                        seg
                    }));
                    self.next_line += block.lines;
                }
                Err(_) => {
                    self.pending.push_back(Segment::fatal(StreamError::Row(Box::new(RowError {
                        file: self.file.into(),
                        line: 0,
                        column: None,
                        value: None,
                        reason: "a parsing thread failed".into(),
                        record: None,
                    }))));
                }
            }
        }
        self.pending.front_mut()
    }

    pub fn pop(&mut self) {
        self.pending.pop_front();
    }
}

/// Cut the file from `offset` into blocks at record boundaries, read into buffers that the workers
/// hand back through `recycle` once parsed (so the file is read into the same few buffers throughout).
fn split_read(
    file: &mut File,
    offset: u64,
    recycle: &Receiver<Vec<u8>>,
    send: &impl Fn(Vec<u8>, usize) -> bool,
) -> std::io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    // Buffers are zeroed once, when first made, and then reused: `filled` says how much is data.
    let fresh = || vec![0u8; BLOCK + BLOCK / 4];
    let mut buf = fresh();
    let mut filled = 0;
    let mut eof = false;
    let mut want = BLOCK;
    loop {
        while !eof && filled < want {
            if buf.len() < want {
                buf.resize(want, 0);
            }
            match file.read(&mut buf[filled..want]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        let cut = if eof { filled } else { record_boundary(&buf[..filled]) };
        if cut == 0 {
            // One record longer than the block: read more.
            want += BLOCK;
            continue;
        }
        want = BLOCK;
        let rest = filled - cut;
        let mut next = recycle.try_recv().unwrap_or_else(|_| fresh());
        if next.len() < rest {
            next.resize(rest, 0);
        }
        next[..rest].copy_from_slice(&buf[cut..filled]);
        let data = std::mem::replace(&mut buf, next);
        filled = rest;
        if !send(data, cut) {
            return Ok(());
        }
    }
}

/// Index just after the last newline of `buf` that is outside quotes; 0 if none.
fn record_boundary(buf: &[u8]) -> usize {
    if !has_quote(buf) {
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

/// Whether `buf` holds a '"', eight bytes at a time.
fn has_quote(buf: &[u8]) -> bool {
    let words = buf.chunks_exact(8);
    let tail = words.remainder().contains(&b'"');
    tail || words.fold(0, |any, w| any | bytes_equal(u64::from_le_bytes(w.try_into().unwrap_or_default()), b'"')) != 0
}

/// The high bit of each byte of `word` that equals `b` (exact: no false positives).
#[inline]
fn bytes_equal(word: u64, b: u8) -> u64 {
    let x = word ^ (ONES * u64::from(b));
    !(((x & !HIGH).wrapping_add(!HIGH)) | x | !HIGH)
}

/// One record of a block.
pub(super) struct Row<'a> {
    shared: &'a Shared,
    /// Line within the block (0 for its first line) until the consumer adds the block's line.
    line: u64,
    /// Trimmed fields as bytes: UTF-8 is checked per cell, and only for cells read as text.
    fields: [&'a [u8]; MAX_FIELDS],
    n: usize,
}

impl Cells for Row<'_> {
    fn file(&self) -> &'static str {
        self.shared.file
    }

    /// Empty when absent or not UTF-8 (as in the csv crate's reader).
    #[inline]
    fn cell(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or("")
    }

    #[inline]
    fn bytes(&self, i: usize) -> &[u8] {
        match self.shared.cols.get(i) {
            Some(&c) if c < self.n => self.fields.get(c).copied().unwrap_or(b""),
            _ => b"",
        }
    }

    fn line(&self) -> u64 {
        self.line
    }
}

/// Builds the segments of a block; `false` from `row` ends the block.
struct Segments<'a, T> {
    shared: &'a Shared,
    out: Vec<Segment<T>>,
    /// Key of the run id of the last segment.
    last_run: Option<CodeKey>,
}

impl<T: Record> Segments<'_, T> {
    #[inline]
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
        // Most rows continue the run of the row before: compared as bytes, no UTF-8 check.
        let key = CodeKey::of(row.bytes(0));
        let same = self.out.last().is_some_and(|s| match key {
            Some(_) => key == self.last_run,
            None => s.run_id == row.cell(0),
        });
        if !same {
            let run = row.cell(0);
            self.last_run = key;
            let kind = match self.shared.position.get(run) {
                Some(&p) => Kind::Run(p),
                None => Kind::Unknown,
            };
            let unknown = matches!(kind, Kind::Unknown);
            self.out.push(Segment {
                kind,
                run_id: run.to_string(),
                line: row.line,
                rows: Vec::with_capacity(T::ROWS_PER_RUN),
                error: None,
            });
            if unknown {
                return false;
            }
        }
        let Some(seg) = self.out.last_mut() else { return false };
        let Kind::Run(idx) = seg.kind else { return false };
        match T::parse(row, idx, codes) {
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

fn parse_block<T: Record>(shared: &Shared, data: &[u8], codes: &mut Codes) -> Block<T> {
    match split_plain(shared, data, codes) {
        Some(block) => block,
        None => parse_with_csv(shared, data, codes),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` below 0x2d, the byte after ','. That
/// covers the four bytes that matter here (',', '\n', '\r', '"') and a few that
/// are rare in these files (space, '%', ...), which the caller skips. Exact for
/// every byte: `(b | 0x80) - 0x2d` keeps its high bit unless b < 0x2d, and
/// bytes with the high bit set (UTF-8) are masked out.
#[inline]
fn candidates(word: u64) -> u64 {
    !((word | HIGH).wrapping_sub(ONES * 0x2d)) & !word & HIGH
}

/// Splits plain lines on commas, eight bytes at a time (a word with no delimiter
/// costs a few instructions); `None` when the block has a quote or a carriage
/// return outside a CRLF, which the csv crate reads instead.
fn split_plain<T: Record>(shared: &Shared, bytes: &[u8], codes: &mut Codes) -> Option<Block<T>> {
    let mut lines = Lines {
        text: bytes,
        segs: Segments { shared, out: Vec::new(), last_run: None },
        row: Row { shared, line: 0, fields: [b""; MAX_FIELDS], n: 0 },
        field_start: 0,
        line_start: 0,
    };
    let mut at = 0;
    'scan: while at < bytes.len() {
        let word = match bytes.get(at..at + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().unwrap_or_default()),
            // The last bytes, padded with a byte that is not a candidate.
            None => {
                let mut w = [b'a'; 8];
                w[..bytes.len() - at].copy_from_slice(&bytes[at..]);
                u64::from_le_bytes(w)
            }
        };
        let mut mask = candidates(word);
        while mask != 0 {
            let bit = mask.trailing_zeros();
            mask &= mask - 1;
            // The byte itself comes from the word (no second load, no bounds check).
            let b = (word >> (bit & !7)) as u8;
            let i = at + (bit / 8) as usize;
            match b {
                b',' => lines.field(i),
                b'\n' if !lines.end_line(i, codes) => break 'scan,
                b'\n' => {}
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {}
                b'\r' | b'"' => return None,
                _ => {}
            }
        }
        at += 8;
    }
    if at >= bytes.len() && lines.line_start < bytes.len() {
        // A last line without a newline (end of file).
        lines.end_line(bytes.len(), codes);
        lines.row.line -= 1;
    }
    Some(Block { lines: lines.row.line, segments: lines.segs.out })
}

/// `field.trim_ascii()`, with one test for the usual field that starts and ends
/// with a byte above the space (ASCII whitespace is all at or below it).
#[inline(always)]
fn trimmed(field: &[u8]) -> &[u8] {
    match field {
        [first, .., last] if *first > b' ' && *last > b' ' => field,
        [only] if *only > b' ' => field,
        _ => field.trim_ascii(),
    }
}

/// State of `split_plain`: the row being split and where its current field and line began.
struct Lines<'a, T> {
    text: &'a [u8],
    segs: Segments<'a, T>,
    row: Row<'a>,
    field_start: usize,
    line_start: usize,
}

impl<T: Record> Lines<'_, T> {
    /// A comma at `i`.
    #[inline]
    fn field(&mut self, i: usize) {
        if self.row.n < MAX_FIELDS {
            self.row.fields[self.row.n] = trimmed(&self.text[self.field_start..i]);
        }
        self.row.n += 1;
        self.field_start = i + 1;
    }

    /// A newline at `i` (or the end of the text); `false` when the row stops the block.
    #[inline]
    fn end_line(&mut self, i: usize, codes: &mut Codes) -> bool {
        let bytes = self.text;
        let end = if i > self.line_start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        // Blank lines are skipped (but counted).
        if end > self.line_start {
            if self.row.n < MAX_FIELDS {
                self.row.fields[self.row.n] = trimmed(&self.text[self.field_start.min(end)..end]);
            }
            self.row.n += 1;
            if !self.segs.row(&self.row, codes) {
                return false;
            }
        }
        self.row.n = 0;
        self.row.line += 1;
        self.field_start = i + 1;
        self.line_start = i + 1;
        true
    }
}

/// Quoted fields (possibly over several lines) or bare CR terminators: the csv crate.
fn parse_with_csv<T: Record>(shared: &Shared, data: &[u8], codes: &mut Codes) -> Block<T> {
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let mut segs = Segments { shared, out: Vec::new(), last_run: None };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).trim(csv::Trim::All).from_reader(data);
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(source) => {
                segs.out.push(Segment::fatal(StreamError::Csv { file: shared.file.into(), source }));
                break;
            }
        }
        let line = record.position().map_or(1, |p| p.line()) - 1;
        let mut row = Row { shared, line, fields: [b""; MAX_FIELDS], n: record.len() };
        for (slot, f) in row.fields.iter_mut().zip(record.iter()) {
            *slot = f;
        }
        if !segs.row(&row, codes) {
            break;
        }
    }
    Block { segments: segs.out, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_cut_at_record_boundaries_and_hold_the_whole_file() {
        use std::io::Write;
        let mut text = b"run_id,time,quantity,value,unit,start\n".to_vec();
        let header = text.len() as u64;
        for i in 0..40_000 {
            text.extend_from_slice(format!("R{},2019-04-06T04:20,map,{i},mmHg,\n", i / 800).as_bytes());
        }
        // A record longer than a block, and a last one without a newline.
        text.extend_from_slice(format!("R99,2019-04-06T04:20,map,1,mmHg,{}\n", "x".repeat(BLOCK + 10)).as_bytes());
        text.extend_from_slice(b"R99,2019-04-06T05:20,map,2,mmHg,");
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&text).unwrap();
        let (_, recycle) = channel();
        let blocks = std::cell::RefCell::new(Vec::new());
        split_read(&mut f, header, &recycle, &|data: Vec<u8>, len| {
            blocks.borrow_mut().push(data[..len].to_vec());
            true
        })
        .unwrap();
        let blocks = blocks.into_inner();
        assert!(blocks.len() > 2);
        assert_eq!(blocks.concat(), &text[header as usize..]);
        let (last, whole) = blocks.split_last().unwrap();
        assert!(whole.iter().all(|b| b.ends_with(b"\n")));
        assert!(last.ends_with(b","));
    }

    #[test]
    fn trimmed_is_trim_ascii() {
        for f in ["", " ", "a", " a", "a ", "\ta\r", "ab", "a b", " a b ", "\x0ca", "é", " é ", "1.5", "\n"] {
            assert_eq!(trimmed(f.as_bytes()), f.trim_ascii().as_bytes(), "{f:?}");
        }
    }

    #[test]
    fn has_quote_finds_a_quote_anywhere() {
        for len in 0..40 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = b'"';
                assert!(has_quote(&v), "{len} {pos}");
            }
            assert!(!has_quote(&vec![b'a'; len]));
        }
    }

    #[test]
    fn candidates_flag_exactly_the_bytes_below_the_comma_successor() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let word = u64::from_le_bytes(std::array::from_fn(|k| if k == pos { b } else { b'a' }));
                let expected = if b < 0x2d { 0x80u64 << (8 * pos) } else { 0 };
                assert_eq!(candidates(word), expected, "byte {b:#x} at {pos}");
            }
        }
    }
}
