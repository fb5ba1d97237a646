//! A small column-typed table (`Frame`) and model-matrix building: numeric columns enter
//! linearly, categorical columns as treatment (dummy) contrasts against a reference level.
//! Dummy columns are named `COLUMN=LEVEL`; the intercept is `(Intercept)`.

use crate::error::{Result, StatsError};
use crate::linalg::{CHUNK_ROWS, par_map};
use serde::Serialize;

/// One column of a [`Frame`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Column {
    /// Numeric values; `NaN` = missing.
    Numeric(Vec<f64>),
    /// Categorical values as level codes into `levels`; `None` = missing.
    Categorical {
        /// Level labels, in order; the first is the default reference.
        levels: Vec<String>,
        /// Per-row level index.
        codes: Vec<Option<usize>>,
        /// Index of the reference level.
        reference: usize,
    },
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::Numeric(v) => v.len(),
            Column::Categorical { codes, .. } => codes.len(),
        }
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Is row `i` missing?
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            Column::Numeric(v) => v[i].is_nan(),
            Column::Categorical { codes, .. } => codes[i].is_none(),
        }
    }
    /// Build a categorical column from string values (`None` = missing). Levels are sorted
    /// (numerically if all parse as numbers, else lexically) unless `levels` is given.
    /// `reference` selects the reference level by label (default: the first level).
    pub fn categorical(
        values: &[Option<&str>],
        levels: Option<Vec<String>>,
        reference: Option<&str>,
    ) -> Result<Column> {
        let levels = match levels {
            Some(l) => l,
            None => {
                let mut l: Vec<String> = Vec::new();
                for v in values.iter().flatten() {
                    if !l.iter().any(|x| x == v) {
                        l.push((*v).to_string());
                    }
                }
                if l.iter().all(|s| s.parse::<f64>().is_ok()) {
                    l.sort_by(|a, b| {
                        let (x, y) = (a.parse::<f64>().unwrap_or(0.0), b.parse::<f64>().unwrap_or(0.0));
                        x.total_cmp(&y)
                    });
                } else {
                    l.sort();
                }
                l
            }
        };
        let mut codes = Vec::with_capacity(values.len());
        for v in values {
            match v {
                None => codes.push(None),
                Some(s) => match levels.iter().position(|l| l == s) {
                    Some(k) => codes.push(Some(k)),
                    None => return Err(StatsError::InvalidInput(format!("value '{s}' is not a listed level"))),
                },
            }
        }
        let reference = match reference {
            None => 0,
            Some(r) => levels
                .iter()
                .position(|l| l == r)
                .ok_or_else(|| StatsError::UnknownName(format!("reference level '{r}'")))?,
        };
        Ok(Column::Categorical { levels, codes, reference })
    }
}

/// A table of named, typed columns of equal length.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Frame {
    /// Column names.
    pub names: Vec<String>,
    /// Columns.
    pub columns: Vec<Column>,
}

impl Frame {
    /// Empty frame.
    pub fn new() -> Self {
        Frame::default()
    }
    /// Add a column (must match the length of existing columns).
    pub fn push(&mut self, name: &str, col: Column) -> Result<()> {
        if let Some(c) = self.columns.first()
            && c.len() != col.len()
        {
            return Err(StatsError::DimensionMismatch(format!(
                "column '{name}' has {} rows, expected {}",
                col.len(),
                c.len()
            )));
        }
        self.names.push(name.to_string());
        self.columns.push(col);
        Ok(())
    }
    /// Number of rows.
    pub fn nrows(&self) -> usize {
        self.columns.first().map(|c| c.len()).unwrap_or(0)
    }
    /// Column by name.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
            .ok_or_else(|| StatsError::UnknownName(format!("column '{name}'")))
    }
    /// Rows (0-based) complete in all the named columns.
    pub fn complete_rows(&self, names: &[&str]) -> Result<Vec<usize>> {
        let cols: Vec<&Column> = names.iter().map(|n| self.column(n)).collect::<Result<_>>()?;
        Ok((0..self.nrows()).filter(|&i| cols.iter().all(|c| !c.is_missing(i))).collect())
    }
}

/// One model term (a column of the frame) and the design columns it produces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermInfo {
    /// Term (frame column) name.
    pub name: String,
    /// Indices of its design-matrix columns.
    pub columns: Vec<usize>,
}

/// A model matrix (row-major, n x p), with term bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    /// Rows.
    pub n: usize,
    /// Columns.
    pub p: usize,
    /// Row-major values.
    pub x: Vec<f64>,
    /// Column names (`(Intercept)`, `age`, `race=black`, ...).
    pub col_names: Vec<String>,
    /// Terms, in order; the intercept is not a term.
    pub terms: Vec<TermInfo>,
    /// Whether column 0 is the intercept.
    pub intercept: bool,
    /// Frame rows used (0-based).
    pub rows: Vec<usize>,
}

impl Design {
    /// Build the model matrix for `terms` on the given frame rows (use
    /// [`Frame::complete_rows`] to drop missing values first).
    pub fn build(frame: &Frame, terms: &[&str], rows: &[usize], intercept: bool) -> Result<Design> {
        let mut col_names = Vec::new();
        let mut term_infos = Vec::new();
        if intercept {
            col_names.push("(Intercept)".to_string());
        }
        let mut sources: Vec<(usize, Option<usize>)> = Vec::new(); // (frame col, level or None)
        for t in terms {
            let ci = frame
                .names
                .iter()
                .position(|n| n == t)
                .ok_or_else(|| StatsError::UnknownName(format!("column '{t}'")))?;
            let mut cols = Vec::new();
            match &frame.columns[ci] {
                Column::Numeric(_) => {
                    cols.push(col_names.len());
                    col_names.push((*t).to_string());
                    sources.push((ci, None));
                }
                Column::Categorical { levels, reference, .. } => {
                    for (k, l) in levels.iter().enumerate() {
                        if k == *reference {
                            continue;
                        }
                        cols.push(col_names.len());
                        col_names.push(format!("{t}={l}"));
                        sources.push((ci, Some(k)));
                    }
                }
            }
            term_infos.push(TermInfo { name: (*t).to_string(), columns: cols });
        }
        let p = col_names.len();
        let n = rows.len();
        let mut x = vec![0.0; n * p];
        // rows are copied in chunks on all cores: at a million rows the copy (and the first
        // touch of the new pages) is a good part of a logistic fit's time
        let fill = |(start, block): (usize, &mut [f64])| -> Result<()> {
            for (r, row) in block.chunks_exact_mut(p.max(1)).enumerate() {
                let i = rows[start + r];
                let mut c = 0;
                if intercept {
                    row[0] = 1.0;
                    c = 1;
                }
                for &(ci, lev) in &sources {
                    row[c] = match (&frame.columns[ci], lev) {
                        (Column::Numeric(v), _) => v[i],
                        (Column::Categorical { codes, .. }, Some(k)) => match codes[i] {
                            Some(code) => (code == k) as i32 as f64,
                            None => f64::NAN,
                        },
                        _ => f64::NAN,
                    };
                    if row[c].is_nan() {
                        return Err(StatsError::InvalidInput(format!(
                            "missing value in column '{}' at row {} (drop incomplete rows first)",
                            frame.names[ci],
                            i + 1
                        )));
                    }
                    c += 1;
                }
            }
            Ok(())
        };
        if p > 0 {
            let blocks: Vec<(usize, &mut [f64])> =
                x.chunks_mut(CHUNK_ROWS * p).enumerate().map(|(b, blk)| (b * CHUNK_ROWS, blk)).collect();
            // the first failing block in row order names the first missing value, as a
            // row-by-row loop would
            par_map(blocks, n * p > 200_000, fill).into_iter().collect::<Result<Vec<()>>>()?;
        }
        Ok(Design { n, p, x, col_names, terms: term_infos, intercept, rows: rows.to_vec() })
    }

    /// The sub-design made of the intercept (if any) and the named terms, in the given order.
    pub fn subset(&self, terms: &[&str]) -> Result<Design> {
        let mut idx = Vec::new();
        if self.intercept {
            idx.push(0);
        }
        let mut infos = Vec::new();
        for t in terms {
            let ti = self
                .terms
                .iter()
                .find(|x| x.name == *t)
                .ok_or_else(|| StatsError::UnknownName(format!("term '{t}'")))?;
            let start = idx.len();
            idx.extend_from_slice(&ti.columns);
            infos.push(TermInfo { name: ti.name.clone(), columns: (start..idx.len()).collect() });
        }
        Ok(self.select_columns(&idx, infos))
    }

    /// Design with the given columns (terms bookkeeping supplied by caller).
    pub fn select_columns(&self, idx: &[usize], terms: Vec<TermInfo>) -> Design {
        let q = idx.len();
        let mut x = vec![0.0; self.n * q];
        for r in 0..self.n {
            let src = &self.x[r * self.p..(r + 1) * self.p];
            let dst = &mut x[r * q..(r + 1) * q];
            for (d, &j) in dst.iter_mut().zip(idx) {
                *d = src[j];
            }
        }
        Design {
            n: self.n,
            p: q,
            x,
            col_names: idx.iter().map(|&j| self.col_names[j].clone()).collect(),
            terms,
            intercept: self.intercept && idx.first() == Some(&0),
            rows: self.rows.clone(),
        }
    }

    /// Design restricted to some rows (indices into this design's rows; repeats allowed,
    /// as in a bootstrap sample).
    pub fn take_rows(&self, which: &[usize]) -> Design {
        let p = self.p;
        let mut x = Vec::with_capacity(which.len() * p);
        for &r in which {
            x.extend_from_slice(&self.x[r * p..(r + 1) * p]);
        }
        Design {
            n: which.len(),
            p,
            x,
            col_names: self.col_names.clone(),
            terms: self.terms.clone(),
            intercept: self.intercept,
            rows: which.iter().map(|&r| self.rows[r]).collect(),
        }
    }

    /// Row `i` as a slice.
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.p..(i + 1) * self.p]
    }
}
