//! `analyze calibration`: calibration of predicted probabilities against a binary outcome.

use crate::error::{AnalysisError, Result};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::calibration::{
    Calibration, CalibrationBin, HosmerLemeshow, ValProb, calibration, calibration_curve, hosmer_lemeshow, val_prob,
};
use serde::Serialize;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationRequest {
    /// Binary outcome column.
    pub outcome: String,
    /// Positive label.
    pub positive: Option<String>,
    /// Column of predicted probabilities (in (0, 1)).
    pub predicted: String,
    /// Hosmer-Lemeshow groups and calibration-curve bins.
    pub groups: usize,
}

/// Result of `analyze calibration`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used.
    pub n: usize,
    /// Rows dropped for missing outcome or prediction.
    pub dropped: usize,
    /// Brier, scaled Brier, slope, intercept, calibration-in-the-large, with SEs.
    pub calibration: Calibration,
    /// Hosmer-Lemeshow test (grouping rule of ResourceSelection::hoslem.test).
    pub hosmer_lemeshow: HosmerLemeshow,
    /// Equal-count bins with observed proportion and Wilson CI.
    pub curve: Vec<CalibrationBin>,
    /// rms::val.prob indexes (Dxy, C, R2, D, U, Q, Brier, intercept, slope, Spiegelhalter).
    pub val_prob: ValProb,
}

/// Compute.
pub fn run(table: &Table, req: &CalibrationRequest) -> Result<CalibrationReport> {
    let (y, coding, sel) = crate::logistic::outcome_and_rows(
        table,
        &req.outcome,
        req.positive.as_deref(),
        std::slice::from_ref(&req.predicted),
    )?;
    let p = table.numeric_rows(&req.predicted, &sel.rows)?;
    if let Some(i) = p.iter().position(|v| !(*v > 0.0 && *v < 1.0)) {
        return Err(AnalysisError::Value {
            source_name: table.source.clone(),
            line: table.line(sel.rows[i]),
            column: req.predicted.clone(),
            value: crate::table::number_label(p[i]),
            problem: "is not a probability strictly between 0 and 1".into(),
        });
    }
    let mut hl = hosmer_lemeshow(&y, &p, req.groups)?;
    hl.group_of_each_obs.clear();
    Ok(CalibrationReport {
        source: table.source.clone(),
        outcome: coding,
        n: y.len(),
        dropped: sel.dropped,
        calibration: calibration(&y, &p)?,
        hosmer_lemeshow: hl,
        curve: calibration_curve(&y, &p, req.groups)?,
        val_prob: val_prob(&y, &p)?,
    })
}
