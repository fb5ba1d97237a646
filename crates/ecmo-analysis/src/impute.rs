//! `analyze impute`: a logistic model after multiple imputation by chained equations, pooled
//! with Rubin's rules, with the pooled AUC and (optionally) bootstrap optimism correction with
//! the imputation repeated inside every resample. Complete-case counts are reported beside.

use crate::error::{AnalysisError, Result};
use crate::model::{Terms, strs};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::design::Column;
use ecmo_stats::mice::{
    ColumnImputation, MiValidation, MiceOptions, PooledLogistic, mice, pooled_logistic, validate_mi,
};
use serde::Serialize;

/// What to impute and fit.
#[derive(Debug, Clone, PartialEq)]
pub struct ImputeRequest {
    /// Binary outcome (may have missing values; they are imputed too).
    pub outcome: String,
    /// Outcome label counted as 1.
    pub positive: Option<String>,
    /// Model predictors and their coding.
    pub terms: Terms,
    /// Extra columns used only to impute (not in the model).
    pub auxiliary: Vec<String>,
    /// Imputation settings.
    pub options: MiceOptions,
    /// Bootstrap resamples for optimism correction with imputation inside (0 = none).
    pub validate: usize,
}

/// Result of `analyze impute`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImputeReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// "multiple imputation (...)" — which missing-data handling was used.
    pub missing_data: String,
    /// Rows (all kept).
    pub n: usize,
    /// Rows complete in every used column (what a complete-case analysis would use).
    pub complete_cases: usize,
    /// Rows with at least one imputed value.
    pub incomplete_rows: usize,
    /// Method and number of missing values per column.
    pub columns: Vec<ColumnImputation>,
    /// Pooled model.
    pub model: PooledLogistic,
    /// Optimism-corrected indexes, when asked.
    pub validation: Option<MiValidation>,
}

/// Impute, fit and pool.
pub fn run(table: &Table, req: &ImputeRequest) -> Result<ImputeReport> {
    req.terms.check()?;
    if req.terms.predictors.is_empty() {
        return Err(AnalysisError::Request("no predictors given".into()));
    }
    let mut all = req.terms.clone();
    for a in &req.auxiliary {
        if !all.predictors.contains(a) {
            all.predictors.push(a.clone());
        }
    }
    if all.predictors.contains(&req.outcome) {
        return Err(AnalysisError::Request(format!("the outcome '{}' is also a predictor", req.outcome)));
    }
    let rows: Vec<usize> = (0..table.nrows()).collect();
    let mut frame = all.frame(table, &rows)?;
    let (y, coding) = table.binary(&req.outcome, req.positive.as_deref())?;
    frame.push(&req.outcome, Column::Numeric(y.into_owned()))?;
    let names: Vec<&str> = frame.names.iter().map(|s| s.as_str()).collect();
    let complete_cases = frame.complete_rows(&names)?.len();
    let imp = mice(&frame, &req.options)?;
    let terms = strs(&req.terms.predictors);
    let model = pooled_logistic(&imp, &req.outcome, &terms, 0.95)?;
    let validation = if req.validate > 0 {
        Some(validate_mi(&frame, &req.outcome, &terms, &req.options, req.validate, req.options.seed)?)
    } else {
        None
    };
    let methods: Vec<String> =
        imp.columns.iter().filter(|c| !c.method.is_empty()).map(|c| format!("{} {}", c.name, c.method)).collect();
    Ok(ImputeReport {
        source: table.source.clone(),
        outcome: coding,
        missing_data: format!(
            "multiple imputation by chained equations (m = {}, maxit = {}, seed = {}; {}), Rubin's rules",
            req.options.m,
            req.options.maxit,
            req.options.seed,
            if methods.is_empty() { "nothing missing".into() } else { methods.join(", ") }
        ),
        n: frame.nrows(),
        complete_cases,
        incomplete_rows: imp.incomplete_rows,
        columns: imp.columns,
        model,
        validation,
    })
}
