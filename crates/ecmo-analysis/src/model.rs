//! Model terms from table columns: numeric columns enter linearly, categorical ones as
//! dummies against a reference level.

use crate::error::{AnalysisError, Result};
use crate::table::{RawColumn, Table};
use ecmo_stats::design::{Column, Design, Frame};
use serde::Serialize;

/// Which columns are predictors and how categorical ones are coded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Terms {
    /// Predictor columns, in model order.
    pub predictors: Vec<String>,
    /// Columns to treat as categorical even if numeric (text columns always are).
    pub categorical: Vec<String>,
    /// Reference level per categorical column (`COLUMN`, `LEVEL`); default: first level.
    pub references: Vec<(String, String)>,
}

impl Terms {
    /// Is `name` used as categorical?
    pub fn is_categorical(&self, table: &Table, name: &str) -> Result<bool> {
        if self.categorical.iter().any(|c| c == name) || self.references.iter().any(|(c, _)| c == name) {
            return Ok(true);
        }
        Ok(matches!(table.column(name)?, RawColumn::Text(t) if !t.has_numbers))
    }

    /// Check that every reference names a predictor.
    pub fn check(&self) -> Result<()> {
        for (c, _) in &self.references {
            if !self.predictors.iter().any(|p| p == c) {
                return Err(AnalysisError::Request(format!("--reference names '{c}', which is not a predictor")));
            }
        }
        for c in &self.categorical {
            if !self.predictors.iter().any(|p| p == c) {
                return Err(AnalysisError::Request(format!("--categorical names '{c}', which is not a predictor")));
            }
        }
        Ok(())
    }

    /// The frame of the predictor columns restricted to `rows` (row i of the frame = `rows[i]`).
    pub fn frame(&self, table: &Table, rows: &[usize]) -> Result<Frame> {
        let mut f = Frame::new();
        for p in &self.predictors {
            let col = if self.is_categorical(table, p)? {
                let r = self.references.iter().find(|(c, _)| c == p).map(|(_, l)| l.as_str());
                table.categorical_rows(p, rows, r)?
            } else {
                Column::Numeric(table.numeric_rows(p, rows)?)
            };
            f.push(p, col)?;
        }
        Ok(f)
    }

    /// The model matrix on `rows`.
    pub fn design(&self, table: &Table, rows: &[usize], intercept: bool) -> Result<Design> {
        let f = self.frame(table, rows)?;
        let terms: Vec<&str> = self.predictors.iter().map(|s| s.as_str()).collect();
        let all: Vec<usize> = (0..rows.len()).collect();
        Ok(Design::build(&f, &terms, &all, intercept)?)
    }
}

/// Names as `&str`.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(|s| s.as_str()).collect()
}

/// Columns a request reads, without duplicates, in first-use order.
pub fn columns_used<'a>(groups: &[&'a [String]]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for g in groups {
        for c in g.iter() {
            if !out.contains(&c.as_str()) {
                out.push(c);
            }
        }
    }
    out
}
