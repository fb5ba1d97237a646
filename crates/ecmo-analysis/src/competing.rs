//! `analyze competing`: cumulative incidence per cause (and group) with Gray's test, and a
//! Fine-Gray model for one cause.

use crate::error::{AnalysisError, Result};
use crate::model::Terms;
use crate::table::Table;
use ecmo_stats::competing::{CumulativeIncidence, FineGray, cumulative_incidence, fine_gray};
use serde::Serialize;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetingRequest {
    /// Follow-up time column.
    pub time: String,
    /// Status column: the censoring value or the cause of the event (numbers or labels).
    pub status: String,
    /// Value of the status column meaning censored (default "0").
    pub censored: String,
    /// Group column (curves per group and Gray's test).
    pub group: Option<String>,
    /// Fine-Gray covariates (empty: no model).
    pub finegray: Terms,
    /// Cause modelled by Fine-Gray (default: the first cause).
    pub failcode: Option<String>,
}

/// How the status column was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusCoding {
    /// Column.
    pub column: String,
    /// Value meaning censored.
    pub censored: String,
    /// Causes, code 1.. in this order.
    pub causes: Vec<String>,
}

/// Result of `analyze competing`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompetingReport {
    /// Source file.
    pub source: String,
    /// Status coding.
    pub status: StatusCoding,
    /// Rows dropped for missing time, status or group.
    pub dropped: usize,
    /// Curves and Gray's tests.
    pub incidence: CumulativeIncidence,
    /// Fine-Gray model, when covariates are given.
    pub finegray: Option<FineGrayReport>,
}

/// The Fine-Gray part.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FineGrayReport {
    /// Cause modelled.
    pub cause: String,
    /// Rows dropped for missing covariates (beyond those dropped above).
    pub dropped: usize,
    /// Model.
    #[serde(flatten)]
    pub model: FineGray,
}

/// Run the competing-risks analysis.
pub fn run(table: &Table, req: &CompetingRequest) -> Result<CompetingReport> {
    let mut cols = vec![req.time.as_str(), req.status.as_str()];
    if let Some(g) = &req.group {
        cols.push(g);
    }
    let sel = table.complete_rows(&cols)?;
    if sel.rows.is_empty() {
        return Err(AnalysisError::Request(format!("no complete rows in {}", cols.join(", "))));
    }
    let time = table.numeric_selected(&req.time, &sel)?;
    if let Some(k) = time.iter().position(|t| *t < 0.0) {
        return Err(AnalysisError::Value {
            source_name: table.source.clone(),
            line: table.line(sel.rows[k]),
            column: req.time.clone(),
            value: format!("{}", time[k]),
            problem: "is a negative time".into(),
        });
    }
    // the status and group columns are coded independently: two threads for large tables
    let (status_levels, group_levels) = match &req.group {
        Some(g) if table.nrows() >= 100_000 => std::thread::scope(|s| {
            let h = s.spawn(|| table.levels(g));
            let st = table.levels(&req.status);
            (st, Some(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))))
        }),
        Some(g) => (table.levels(&req.status), Some(table.levels(g))),
        None => (table.levels(&req.status), None),
    };
    let (levels, codes) = status_levels?;
    let same = |l: &str| {
        l == req.censored || matches!((l.parse::<f64>(), req.censored.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
    };
    let cens = levels.iter().position(|l| same(l));
    let causes: Vec<String> =
        levels.iter().enumerate().filter(|(k, _)| Some(*k) != cens).map(|(_, l)| l.clone()).collect();
    let code_of = |k: usize| -> u32 {
        if Some(k) == cens { 0 } else { causes.iter().position(|c| *c == levels[k]).map(|p| p as u32 + 1).unwrap_or(0) }
    };
    let level_code: Vec<u32> = (0..levels.len()).map(code_of).collect();
    let cause: Vec<u32> = sel.rows.iter().map(|&r| codes[r].map_or(0, |k| level_code[k])).collect();
    let group = match group_levels {
        Some(gl) => {
            let (gl, gc) = gl?;
            Some((sel.rows.iter().map(|&r| gc[r].unwrap_or(0)).collect::<Vec<usize>>(), gl))
        }
        None => None,
    };
    let incidence = cumulative_incidence(
        &time,
        &cause,
        &causes,
        group.as_ref().map(|(c, l)| (c.as_slice(), l.as_slice())),
        0.0,
        0.95,
    )?;
    let finegray = if req.finegray.predictors.is_empty() {
        None
    } else {
        req.finegray.check()?;
        let k = match &req.failcode {
            None => 1,
            Some(f) => causes.iter().position(|c| c == f).map(|p| p as u32 + 1).ok_or_else(|| {
                AnalysisError::Request(format!("--failcode '{f}' is not a cause (causes: {})", causes.join(", ")))
            })?,
        };
        let mut all: Vec<&str> = cols.clone();
        all.extend(req.finegray.predictors.iter().map(|s| s.as_str()));
        let fsel = table.complete_rows(&all)?;
        let design = req.finegray.design(table, &fsel.rows, false)?;
        let pos: Vec<usize> = fsel.rows.iter().map(|r| sel.rows.binary_search(r).unwrap_or(0)).collect();
        let ft: Vec<f64> = pos.iter().map(|&i| time[i]).collect();
        let fc: Vec<u32> = pos.iter().map(|&i| cause[i]).collect();
        let model = fine_gray(&ft, &fc, k, &design.x, &design.col_names, 0.95)?;
        Some(FineGrayReport { cause: causes[k as usize - 1].clone(), dropped: fsel.dropped - sel.dropped, model })
    };
    Ok(CompetingReport {
        source: table.source.clone(),
        status: StatusCoding { column: req.status.clone(), censored: req.censored.clone(), causes },
        dropped: sel.dropped,
        incidence,
        finegray,
    })
}
