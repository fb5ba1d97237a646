//! A CSV table with typed columns, read from text handed over by the caller.
//!
//! Typing: a column is numeric when every non-missing value parses as a finite number;
//! otherwise it is text (categorical). Missing values are empty cells and `NA`
//! (surrounding spaces are ignored). A column mixing numbers with other text is kept as
//! text, and using it as a number is an error naming the first non-numeric line.

use crate::error::{AnalysisError, Result};
use ecmo_stats::design::Column;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashMap;

/// A column as read.
#[derive(Debug, Clone, PartialEq)]
pub enum RawColumn {
    /// Every non-missing value is a finite number; `NaN` = missing.
    Numeric(Vec<f64>),
    /// At least one value is not a number.
    Text(TextColumn),
}

/// A text column, interned.
#[derive(Debug, Clone, PartialEq)]
pub struct TextColumn {
    /// Distinct values in order of first appearance.
    pub values: Vec<String>,
    /// Per row: index into `values`, `None` = missing.
    pub codes: Vec<Option<u32>>,
    /// Row (0-based) of the first value that is not a number.
    pub first_text_row: usize,
    /// Does any value parse as a number?
    pub has_numbers: bool,
}

/// A table read from CSV text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Name of the source (file name) used in messages.
    pub source: String,
    names: Vec<String>,
    columns: Vec<RawColumn>,
    lines: Vec<u64>,
}

/// How a binary variable (outcome, event) was coded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryCoding {
    /// Column.
    pub column: String,
    /// Label counted as 1 (event, case).
    pub positive: String,
    /// Label counted as 0, if present.
    pub negative: Option<String>,
}

/// Rows kept for an analysis and how many were dropped for missing values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowSelection {
    /// Rows (0-based data rows) complete in every used column.
    pub rows: Vec<usize>,
    /// Rows dropped because a used column was missing.
    pub dropped: usize,
    /// Columns checked.
    pub columns: Vec<String>,
}

fn is_missing(s: &str) -> bool {
    s.is_empty() || s == "NA"
}

fn parse_number(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Shortest text of a number as written back (1 for 1.0).
pub fn number_label(v: f64) -> String {
    format!("{v}")
}

enum Builder {
    Numeric(Vec<f64>),
    Text { values: Vec<String>, index: HashMap<String, u32>, codes: Vec<Option<u32>>, first: usize, numbers: bool },
}

impl Builder {
    fn intern(values: &mut Vec<String>, index: &mut HashMap<String, u32>, s: &str) -> u32 {
        if let Some(&k) = index.get(s) {
            return k;
        }
        let k = values.len() as u32;
        values.push(s.to_string());
        index.insert(s.to_string(), k);
        k
    }

    fn push(&mut self, s: &str, row: usize) {
        match self {
            Builder::Numeric(v) => {
                if is_missing(s) {
                    v.push(f64::NAN);
                } else if let Some(x) = parse_number(s) {
                    v.push(x);
                } else {
                    let mut values = Vec::new();
                    let mut index = HashMap::new();
                    let mut codes = Vec::with_capacity(v.capacity());
                    let mut numbers = false;
                    for &x in v.iter() {
                        if x.is_nan() {
                            codes.push(None);
                        } else {
                            numbers = true;
                            codes.push(Some(Self::intern(&mut values, &mut index, &number_label(x))));
                        }
                    }
                    codes.push(Some(Self::intern(&mut values, &mut index, s)));
                    *self = Builder::Text { values, index, codes, first: row, numbers };
                }
            }
            Builder::Text { values, index, codes, numbers, .. } => {
                if is_missing(s) {
                    codes.push(None);
                } else {
                    if !*numbers && parse_number(s).is_some() {
                        *numbers = true;
                    }
                    codes.push(Some(Self::intern(values, index, s)));
                }
            }
        }
    }

    fn finish(self) -> RawColumn {
        match self {
            Builder::Numeric(v) => RawColumn::Numeric(v),
            Builder::Text { values, codes, first, numbers, .. } => {
                RawColumn::Text(TextColumn { values, codes, first_text_row: first, has_numbers: numbers })
            }
        }
    }
}

impl Table {
    /// Parse CSV text with a header line. `only`: read just these columns (all if `None`);
    /// naming a column that does not exist is an error.
    pub fn parse_csv(text: &str, source: &str, only: Option<&[&str]>) -> Result<Table> {
        let csv_err = |message: String| AnalysisError::Csv { source_name: source.to_string(), message };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| csv_err(format!("cannot read the header: {e}")))?
            .iter()
            .map(|s| s.to_string())
            .collect();
        if header.is_empty() || header.iter().all(|h| h.is_empty()) {
            return Err(csv_err("empty file (no header line)".into()));
        }
        for (i, h) in header.iter().enumerate() {
            if header[..i].contains(h) {
                return Err(csv_err(format!("column '{h}' appears twice in the header")));
            }
        }
        let wanted: Vec<usize> = match only {
            None => (0..header.len()).collect(),
            Some(cols) => {
                let mut w = Vec::new();
                for c in cols {
                    let i = header.iter().position(|h| h == c).ok_or_else(|| AnalysisError::NoColumn {
                        source_name: source.to_string(),
                        column: c.to_string(),
                        available: header.join(", "),
                    })?;
                    if !w.contains(&i) {
                        w.push(i);
                    }
                }
                w.sort_unstable();
                w
            }
        };
        if !text.as_bytes().contains(&b'"') {
            return Self::parse_plain(text, source, &header, &wanted);
        }
        let mut builders: Vec<Builder> =
            wanted.iter().map(|_| Builder::Numeric(Vec::with_capacity(text.len() / 64 + 1))).collect();
        let mut lines = Vec::new();
        let mut rec = csv::StringRecord::new();
        let mut row = 0usize;
        loop {
            match rdr.read_record(&mut rec) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map(|p| p.line()).unwrap_or(0);
                    let msg = match e.kind() {
                        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                            format!("line {line} has {len} fields, the header has {expected_len}")
                        }
                        _ => format!("line {line}: {e}"),
                    };
                    return Err(csv_err(msg));
                }
            }
            if rec.len() == 1 && rec.get(0).is_some_and(|s| s.is_empty()) && header.len() > 1 {
                continue; // blank line
            }
            lines.push(rec.position().map(|p| p.line()).unwrap_or(row as u64 + 2));
            for (b, &i) in builders.iter_mut().zip(&wanted) {
                b.push(rec.get(i).unwrap_or(""), row);
            }
            row += 1;
        }
        Ok(Table {
            source: source.to_string(),
            names: wanted.iter().map(|&i| header[i].clone()).collect(),
            columns: builders.into_iter().map(Builder::finish).collect(),
            lines,
        })
    }

    /// Fast path for text without quotes: split lines and fields directly, in parallel chunks
    /// when every wanted column is numeric (falls back to one chunk otherwise).
    fn parse_plain(text: &str, source: &str, header: &[String], wanted: &[usize]) -> Result<Table> {
        let body_start = text.find('\n').map(|i| i + 1).unwrap_or(text.len());
        let body = &text[body_start..];
        let threads = std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1).min(8);
        let chunks = if body.len() < 4 << 20 { 1 } else { threads };
        let parts = split_chunks(body, chunks);
        let run = |parts: &[&str]| -> Vec<std::result::Result<Chunk, ChunkError>> {
            if parts.len() == 1 {
                return vec![parse_chunk(parts[0], header.len(), wanted)];
            }
            std::thread::scope(|s| {
                let hs: Vec<_> = parts.iter().map(|p| s.spawn(move || parse_chunk(p, header.len(), wanted))).collect();
                hs.into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| Err(ChunkError { line: 0, message: "worker thread failed".into() }))
                    })
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .collect()
        };
        let to_err = |e: ChunkError, line_offset: u64| AnalysisError::Csv {
            source_name: source.to_string(),
            message: format!("line {}: {}", e.line + line_offset, e.message),
        };
        let mut results = run(&parts);
        let all_numeric = results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|c| c.builders.iter().all(|b| matches!(b, Builder::Numeric(_)))));
        if !all_numeric && parts.len() > 1 && results.iter().all(|r| r.is_ok()) {
            results = run(&[body]);
        }
        let mut lines = Vec::new();
        let mut columns: Vec<Builder> = Vec::new();
        let mut line_offset = 1u64; // the header line
        for r in results {
            let c = match r {
                Ok(c) => c,
                Err(e) => return Err(to_err(e, line_offset)),
            };
            lines.extend(c.lines.iter().map(|l| l + line_offset));
            line_offset += c.newlines;
            if columns.is_empty() {
                columns = c.builders;
            } else {
                for (a, b) in columns.iter_mut().zip(c.builders) {
                    if let (Builder::Numeric(x), Builder::Numeric(y)) = (a, b) {
                        x.extend(y);
                    }
                }
            }
        }
        if columns.is_empty() {
            columns = wanted.iter().map(|_| Builder::Numeric(Vec::new())).collect();
        }
        Ok(Table {
            source: source.to_string(),
            names: wanted.iter().map(|&i| header[i].clone()).collect(),
            columns: columns.into_iter().map(Builder::finish).collect(),
            lines,
        })
    }

    /// Number of data rows.
    pub fn nrows(&self) -> usize {
        self.lines.len()
    }

    /// Column names (those read).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// 1-based file line of data row `row`.
    pub fn line(&self, row: usize) -> u64 {
        self.lines.get(row).copied().unwrap_or(0)
    }

    /// A column by name.
    pub fn column(&self, name: &str) -> Result<&RawColumn> {
        self.names.iter().position(|n| n == name).map(|i| &self.columns[i]).ok_or_else(|| AnalysisError::NoColumn {
            source_name: self.source.clone(),
            column: name.to_string(),
            available: self.names.join(", "),
        })
    }

    /// Is the column numeric (every value a number)?
    pub fn is_numeric(&self, name: &str) -> Result<bool> {
        Ok(matches!(self.column(name)?, RawColumn::Numeric(_)))
    }

    fn value_error(&self, row: usize, column: &str, value: &str, problem: &str) -> AnalysisError {
        AnalysisError::Value {
            source_name: self.source.clone(),
            line: self.line(row),
            column: column.to_string(),
            value: value.to_string(),
            problem: problem.to_string(),
        }
    }

    /// Rows complete in all `columns`, and how many were dropped.
    pub fn complete_rows(&self, columns: &[&str]) -> Result<RowSelection> {
        let missing_in = |c: &str| -> Result<bool> {
            Ok(match self.column(c)? {
                RawColumn::Numeric(v) => v.iter().fold(false, |m, x| m | x.is_nan()),
                RawColumn::Text(t) => t.codes.iter().fold(false, |m, x| m | x.is_none()),
            })
        };
        let mut any_missing = false;
        for c in columns {
            any_missing |= missing_in(c)?;
        }
        if !any_missing {
            return Ok(RowSelection { dropped: 0, rows: (0..self.nrows()).collect(), columns: unique_names(columns) });
        }
        // 1 = complete so far (bytes, not bools, so the loops vectorise)
        let mut keep = vec![1u8; self.nrows()];
        for c in columns {
            match self.column(c)? {
                RawColumn::Numeric(v) => keep.iter_mut().zip(v).for_each(|(k, x)| *k &= !x.is_nan() as u8),
                RawColumn::Text(t) => keep.iter_mut().zip(&t.codes).for_each(|(k, x)| *k &= x.is_some() as u8),
            }
        }
        let rows: Vec<usize> = (0..self.nrows()).filter(|&i| keep[i] == 1).collect();
        Ok(RowSelection { dropped: self.nrows() - rows.len(), rows, columns: unique_names(columns) })
    }

    /// A column as numbers (`NaN` = missing). A non-numeric value is an error naming its line.
    pub fn numeric(&self, name: &str) -> Result<Vec<f64>> {
        match self.column(name)? {
            RawColumn::Numeric(v) => Ok(v.clone()),
            RawColumn::Text(t) => {
                let row = t.first_text_row;
                let value = t.codes[row].map(|k| t.values[k as usize].as_str()).unwrap_or("");
                let problem = if t.has_numbers {
                    "is not a number (the column is used as numeric)"
                } else {
                    "is not a number; the column is text: declare it categorical"
                };
                Err(self.value_error(row, name, value, problem))
            }
        }
    }

    /// Numbers of `name` on `rows` (all must be present and numeric).
    pub fn numeric_rows(&self, name: &str, rows: &[usize]) -> Result<Vec<f64>> {
        let v = self.numeric(name)?;
        Ok(rows.iter().map(|&r| v[r]).collect())
    }

    /// Numbers of `name` on the selected rows, borrowed from the table when no row was dropped.
    pub fn numeric_selected(&self, name: &str, sel: &RowSelection) -> Result<Cow<'_, [f64]>> {
        match self.column(name)? {
            RawColumn::Numeric(v) if sel.dropped == 0 => Ok(Cow::Borrowed(v)),
            _ => Ok(Cow::Owned(self.numeric_rows(name, &sel.rows)?)),
        }
    }

    /// Labels and per-row codes of a column treated as categorical. Levels are sorted
    /// numerically when every label is a number, else lexically (R's `factor`).
    pub fn levels(&self, name: &str) -> Result<(Vec<String>, Vec<Option<usize>>)> {
        let (labels, codes, numeric_vals): (Vec<String>, Vec<Option<usize>>, Option<Vec<f64>>) = match self
            .column(name)?
        {
            RawColumn::Numeric(v) => {
                // few values (groups, status codes): found in one pass instead of sorting the column
                let (distinct, codes) = match few_numeric_values(v, 16) {
                    Some(distinct) => {
                        let bits: Vec<u64> = distinct.iter().map(|d| d.to_bits()).collect();
                        let codes = match four(&bits) {
                            // index = sum of j over the (single) matching value j, without branches
                            Some(k) => v
                                .iter()
                                .map(|x| {
                                    let b = x.to_bits();
                                    let code =
                                        (b == k[1]) as usize + 2 * (b == k[2]) as usize + 3 * (b == k[3]) as usize;
                                    (!is_nan_bits(b)).then_some(code)
                                })
                                .collect(),
                            None => v.iter().map(|x| bits.iter().position(|b| *b == x.to_bits())).collect(),
                        };
                        (distinct, codes)
                    }
                    None => {
                        let mut distinct: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                        distinct.sort_by(|a, b| a.total_cmp(b));
                        distinct.dedup();
                        let codes = v
                            .iter()
                            .map(|x| if x.is_nan() { None } else { distinct.binary_search_by(|d| d.total_cmp(x)).ok() })
                            .collect();
                        (distinct, codes)
                    }
                };
                let labels = distinct.iter().map(|&d| number_label(d)).collect();
                (labels, codes, Some(distinct))
            }
            RawColumn::Text(t) => (t.values.clone(), t.codes.iter().map(|c| c.map(|k| k as usize)).collect(), None),
        };
        if numeric_vals.is_some() {
            return Ok((labels, codes));
        }
        let nums: Option<Vec<f64>> = labels.iter().map(|l| parse_number(l)).collect();
        let mut order: Vec<usize> = (0..labels.len()).collect();
        match &nums {
            Some(n) => order.sort_by(|&a, &b| n[a].total_cmp(&n[b])),
            None => order.sort_by(|&a, &b| labels[a].cmp(&labels[b])),
        }
        let mut rank = vec![0usize; labels.len()];
        for (r, &o) in order.iter().enumerate() {
            rank[o] = r;
        }
        let sorted: Vec<String> = order.iter().map(|&o| labels[o].clone()).collect();
        Ok((sorted, codes.into_iter().map(|c| c.map(|k| rank[k])).collect()))
    }

    /// Find `label` among `levels` (exact, or numerically equal for number labels).
    fn find_level(levels: &[String], label: &str) -> Option<usize> {
        levels.iter().position(|l| l == label).or_else(|| {
            let v = parse_number(label)?;
            levels.iter().position(|l| parse_number(l) == Some(v))
        })
    }

    /// A categorical model column on `rows` only (levels absent from those rows are dropped),
    /// with `reference` as reference level (default: the first level).
    pub fn categorical_rows(&self, name: &str, rows: &[usize], reference: Option<&str>) -> Result<Column> {
        let (levels, codes) = self.levels(name)?;
        let mut used = vec![false; levels.len()];
        for &r in rows {
            if let Some(k) = codes[r] {
                used[k] = true;
            }
        }
        let mut new_index = vec![usize::MAX; levels.len()];
        let mut kept = Vec::new();
        for (k, l) in levels.iter().enumerate() {
            if used[k] {
                new_index[k] = kept.len();
                kept.push(l.clone());
            }
        }
        let reference = match reference {
            None => 0,
            Some(r) => match Self::find_level(&kept, r) {
                Some(i) => i,
                None => {
                    return Err(AnalysisError::Request(format!(
                        "reference level '{r}' of '{name}' does not occur in the analysed rows (levels: {})",
                        kept.join(", ")
                    )));
                }
            },
        };
        let codes = rows.iter().map(|&r| codes[r].map(|k| new_index[k])).collect();
        Ok(Column::Categorical { levels: kept, codes, reference })
    }

    /// A binary variable as 0/1 (`NaN` = missing). Coding: values 0/1 → 1 is positive;
    /// values 1/2 → 2 is positive (R's `Surv` convention); any other two labels → the second
    /// in sorted order is positive (R's factor levels), unless `positive` names one.
    /// More than two distinct values is an error naming the first line with a third value.
    /// A column that already holds exactly that coding (0/1 with 1 positive) is borrowed.
    pub fn binary(&self, name: &str, positive: Option<&str>) -> Result<(Cow<'_, [f64]>, BinaryCoding)> {
        // a numeric column with at most two values (0/1 outcomes): compare each row with the
        // positive value directly instead of sorting the column into levels
        if let RawColumn::Numeric(v) = self.column(name)?
            && let Some(values) = few_numeric_values(v, 2)
        {
            let levels: Vec<String> = values.iter().map(|&d| number_label(d)).collect();
            let (pos, coding) = Self::binary_coding(name, &levels, positive)?;
            // no positive value present: a NaN pattern no row equals (NaN rows are caught first)
            let pos_bits = values.get(pos).map_or(u64::MAX, |p| p.to_bits());
            let code = |x: f64| match x {
                x if x.is_nan() => f64::NAN,
                x if x.to_bits() == pos_bits => 1.0,
                _ => 0.0,
            };
            // every value codes to itself (bit for bit): the column is the coded outcome
            if values.iter().all(|&d| code(d).to_bits() == d.to_bits()) {
                return Ok((Cow::Borrowed(v), coding));
            }
            return Ok((Cow::Owned(v.iter().map(|&x| code(x)).collect()), coding));
        }
        let (levels, codes) = self.levels(name)?;
        if levels.len() > 2 {
            // the first row whose value is not one of the first two values met
            let mut seen: Vec<usize> = Vec::new();
            let mut bad = 0;
            for (i, k) in codes.iter().enumerate().filter_map(|(i, c)| c.map(|k| (i, k))) {
                if !seen.contains(&k) {
                    if seen.len() == 2 {
                        bad = i;
                        break;
                    }
                    seen.push(k);
                }
            }
            let value = codes[bad].map(|k| levels[k].clone()).unwrap_or_default();
            return Err(self.value_error(
                bad,
                name,
                &value,
                &format!(
                    "is a third value: a binary column needs 0/1 or exactly two levels (found {})",
                    levels.iter().take(6).cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let (pos, coding) = Self::binary_coding(name, &levels, positive)?;
        let y = codes.iter().map(|c| c.map(|k| (k == pos) as u8 as f64).unwrap_or(f64::NAN)).collect();
        Ok((Cow::Owned(y), coding))
    }

    /// Which of a binary column's (at most two) sorted levels is positive, and its coding.
    fn binary_coding(name: &str, levels: &[String], positive: Option<&str>) -> Result<(usize, BinaryCoding)> {
        let pos = match positive {
            Some(p) => Self::find_level(levels, p).ok_or_else(|| {
                AnalysisError::Request(format!(
                    "positive level '{p}' does not occur in '{name}' (values: {})",
                    levels.join(", ")
                ))
            })?,
            None => {
                let nums: Option<Vec<f64>> = levels.iter().map(|l| parse_number(l)).collect();
                match nums.as_deref() {
                    Some(n) if n.iter().all(|v| *v == 0.0 || *v == 1.0) => {
                        n.iter().position(|v| *v == 1.0).unwrap_or(levels.len())
                    }
                    Some(n) if n.iter().all(|v| *v == 1.0 || *v == 2.0) => {
                        n.iter().position(|v| *v == 2.0).unwrap_or(levels.len())
                    }
                    _ if levels.len() == 2 => 1,
                    _ => {
                        return Err(AnalysisError::Request(format!(
                            "'{name}' has a single value ({}): say which value is positive",
                            levels.join(", ")
                        )));
                    }
                }
            }
        };
        let positive_label = levels.get(pos).cloned().unwrap_or_else(|| match levels.first() {
            Some(l) if l == "0" => "1".to_string(),
            Some(l) if l == "1" => "2".to_string(),
            _ => "1".to_string(),
        });
        let negative = (0..levels.len()).find(|&k| k != pos).map(|k| levels[k].clone());
        Ok((pos, BinaryCoding { column: name.to_string(), positive: positive_label, negative }))
    }
}

/// Column names without repeats, in order.
fn unique_names(columns: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in columns {
        if !names.iter().any(|n| n == c) {
            names.push(c.to_string());
        }
    }
    names
}

/// NaN test on the bits (exponent all ones, mantissa not zero).
#[inline]
fn is_nan_bits(b: u64) -> bool {
    b & !(1 << 63) > 0x7ff0_0000_0000_0000
}

/// One to four value bit patterns padded to four with a NaN pattern that never matches a
/// number, so that `k[j] == b` for `j` past the last value is false.
fn four(bits: &[u64]) -> Option<[u64; 4]> {
    (1..=4).contains(&bits.len()).then(|| std::array::from_fn(|j| bits.get(j).copied().unwrap_or(u64::MAX)))
}

/// The distinct values of a numeric column (ascending) when there are at most `max`, else
/// `None`; also `None` when -0 and +0 both occur (left to the general path).
fn few_numeric_values(v: &[f64], max: usize) -> Option<Vec<f64>> {
    let mut found: Vec<u64> = Vec::with_capacity(max);
    for block in v.chunks(256) {
        // whole blocks of known values are checked without branches
        if let Some(k) = four(&found) {
            // integer compares only, so the check vectorises
            let known = |x: &f64| {
                let b = x.to_bits();
                is_nan_bits(b) | (b == k[0]) | (b == k[1]) | (b == k[2]) | (b == k[3])
            };
            if block.iter().fold(true, |all, x| all & known(x)) {
                continue;
            }
        } else if !found.is_empty() && block.iter().all(|x| x.is_nan() || found.contains(&x.to_bits())) {
            continue;
        }
        for x in block.iter().filter(|x| !x.is_nan()) {
            let b = x.to_bits();
            if !found.contains(&b) {
                if found.len() == max {
                    return None;
                }
                found.push(b);
            }
        }
    }
    let mut values: Vec<f64> = found.into_iter().map(f64::from_bits).collect();
    values.sort_by(f64::total_cmp);
    if values.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    Some(values)
}

struct Chunk {
    builders: Vec<Builder>,
    /// 1-based line of each row, relative to the chunk start.
    lines: Vec<u64>,
    /// Newlines in the chunk.
    newlines: u64,
}

struct ChunkError {
    line: u64,
    message: String,
}

/// Split at newlines into about `k` parts.
fn split_chunks(body: &str, k: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for i in 1..k {
        let target = (body.len() * i / k).max(start);
        match body[target..].find('\n') {
            Some(off) => {
                let end = target + off + 1;
                parts.push(&body[start..end]);
                start = end;
            }
            None => break,
        }
    }
    parts.push(&body[start..]);
    parts
}

fn parse_chunk(part: &str, nfields: usize, wanted: &[usize]) -> std::result::Result<Chunk, ChunkError> {
    let est = part.len() / (nfields * 4 + 1) + 1;
    let mut builders: Vec<Builder> = wanted.iter().map(|_| Builder::Numeric(Vec::with_capacity(est))).collect();
    let mut lines = Vec::with_capacity(est);
    let mut slot_of = vec![usize::MAX; nfields];
    for (k, &w) in wanted.iter().enumerate() {
        slot_of[w] = k;
    }
    let mut newlines = 0u64;
    let mut row = 0usize;
    for raw in part.split_terminator('\n') {
        newlines += 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut count = 0usize;
        for (i, field) in line.split(',').enumerate() {
            if i < nfields && slot_of[i] != usize::MAX {
                builders[slot_of[i]].push(field.trim(), row);
            }
            count = i + 1;
        }
        if count != nfields {
            return Err(ChunkError { line: newlines, message: format!("{count} fields, the header has {nfields}") });
        }
        lines.push(newlines);
        row += 1;
    }
    Ok(Chunk { builders, lines, newlines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_missing_and_lines() {
        let t = Table::parse_csv("a,b,c\n1,x,NA\n2, y ,3\n,x,4\n", "t.csv", None).unwrap();
        assert_eq!(t.nrows(), 3);
        assert!(t.is_numeric("a").unwrap());
        assert!(!t.is_numeric("b").unwrap());
        let c = t.numeric("c").unwrap();
        assert!(c[0].is_nan());
        let sel = t.complete_rows(&["a", "c"]).unwrap();
        assert_eq!(sel.rows, vec![1]);
        assert_eq!(sel.dropped, 2);
        assert_eq!(t.line(2), 4);
        let (levels, codes) = t.levels("b").unwrap();
        assert_eq!(levels, vec!["x", "y"]);
        assert_eq!(codes, vec![Some(0), Some(1), Some(0)]);
    }

    #[test]
    fn mixed_column_error_names_line() {
        let t = Table::parse_csv("a,b\n1,2\n2,oops\n3,4\n", "f.csv", None).unwrap();
        let e = t.numeric("b").unwrap_err().to_string();
        assert!(e.contains("f.csv line 3") && e.contains("'b'") && e.contains("oops"), "{e}");
    }

    #[test]
    fn few_and_many_numeric_levels_agree() {
        // 3 values (one-pass path), 20 values (sorting path), -0 with 0 (sorting path)
        for text in ["g\n2\n-1\n\n2\n7\n-1\n", "g\n19\n3\n0\n-0\n5\n", "g\n0\n-0\n1\n"] {
            let mut csv = text.to_string();
            if text.starts_with("g\n19") {
                csv.extend((0..20).map(|i| format!("{}\n", (i * 7) % 20)));
            }
            let t = Table::parse_csv(&csv, "f.csv", None).unwrap();
            let (labels, codes) = t.levels("g").unwrap();
            let RawColumn::Numeric(v) = t.column("g").unwrap() else { panic!("numeric") };
            // the sorting definition
            let mut sorted: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            sorted.sort_by(f64::total_cmp);
            sorted.dedup();
            let expected: Vec<Option<usize>> = v
                .iter()
                .map(|x| if x.is_nan() { None } else { sorted.binary_search_by(|d| d.total_cmp(x)).ok() })
                .collect();
            assert_eq!(labels, sorted.iter().map(|&d| number_label(d)).collect::<Vec<_>>());
            assert_eq!(codes, expected);
        }
    }

    #[test]
    fn binary_coding() {
        let t = Table::parse_csv("y,s,g,bad\n0,1,Good,a\n1,2,Poor,b\n1,1,Good,c\n", "f.csv", None).unwrap();
        let (y, c) = t.binary("y", None).unwrap();
        assert_eq!(y, vec![0.0, 1.0, 1.0]);
        assert_eq!(c.positive, "1");
        // a 0/1 column with 1 positive is the coded outcome itself: borrowed, not copied
        assert!(matches!(y, Cow::Borrowed(_)));
        let (y0, _) = t.binary("y", Some("0")).unwrap();
        assert_eq!(y0, vec![1.0, 0.0, 0.0]);
        let (s, c) = t.binary("s", None).unwrap();
        assert!(matches!(s, Cow::Owned(_)));
        assert_eq!(s, vec![0.0, 1.0, 0.0]);
        assert_eq!(c.positive, "2");
        let (g, _) = t.binary("g", None).unwrap();
        assert_eq!(g, vec![0.0, 1.0, 0.0]);
        let (g, _) = t.binary("g", Some("Good")).unwrap();
        assert_eq!(g, vec![1.0, 0.0, 1.0]);
        let e = t.binary("bad", None).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("'c'"), "{e}");
    }

    #[test]
    fn ragged_row_is_an_error() {
        let e = Table::parse_csv("a,b\n1,2\n3\n", "f.csv", None).unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    #[test]
    fn parallel_plain_path_matches_csv_reader() {
        let mut text = String::from("id,v,w\n");
        for i in 0..300_000 {
            text.push_str(&format!("{i},{}.25,{}\n", i % 7, if i % 1000 == 0 { "NA" } else { "3" }));
        }
        let fast = Table::parse_csv(&text, "f.csv", None).unwrap();
        assert_eq!(fast.nrows(), 300_000);
        assert_eq!(fast.line(299_999), 300_001);
        let quoted = text.replacen("id,v,w", "\"id\",v,w", 1);
        let slow = Table::parse_csv(&quoted, "f.csv", None).unwrap();
        assert!(format!("{:?}", fast.columns) == format!("{:?}", slow.columns));
        assert!(fast.lines == slow.lines);
        // a text value late in the file: falls back to one chunk, same result as the reader
        let text2 = format!("{text}1,x,3\n");
        let fast = Table::parse_csv(&text2, "f.csv", None).unwrap();
        let slow = Table::parse_csv(&text2.replacen("id,v,w", "\"id\",v,w", 1), "f.csv", None).unwrap();
        assert!(format!("{:?}", fast.columns) == format!("{:?}", slow.columns));
        let e = fast.numeric("v").unwrap_err().to_string();
        assert!(e.contains("line 300002"), "{e}");
        // a ragged line deep in the file names its line
        let bad = format!("{text}1,2\n{text}");
        let e = Table::parse_csv(&bad, "f.csv", None).unwrap_err().to_string();
        assert!(e.contains("line 300002"), "{e}");
    }

    #[test]
    fn only_some_columns() {
        let t = Table::parse_csv("a,b,c\n1,x,2\n", "f.csv", Some(&["c", "a"])).unwrap();
        assert_eq!(t.names(), &["a".to_string(), "c".to_string()]);
        assert!(Table::parse_csv("a\n1\n", "f.csv", Some(&["zz"])).is_err());
    }
}
