//! `analyze validate`: Harrell's bootstrap optimism correction, repeating the selection in
//! every resample.

use crate::error::Result;
use crate::logistic::selection_name;
use crate::model::{Terms, strs};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::validate::{Selection, ValidatedIndex, validate_logistic};
use serde::Serialize;

/// What to validate.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidateRequest {
    /// Binary outcome.
    pub outcome: String,
    /// Positive label.
    pub positive: Option<String>,
    /// Candidate predictors.
    pub terms: Terms,
    /// Selection repeated in every resample.
    pub selection: Selection,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
}

/// Selection frequency of a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frequency {
    /// Term.
    pub term: String,
    /// Resamples in which it was selected.
    pub selected: usize,
}

/// Result of `analyze validate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidateReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used.
    pub n: usize,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// Selection.
    pub selection: String,
    /// Resamples requested.
    pub replicates: usize,
    /// Resamples fitted successfully.
    pub successful: usize,
    /// Seed.
    pub seed: u64,
    /// Terms selected on the full data.
    pub selected_terms: Vec<String>,
    /// dxy, auc, r2, intercept, slope, brier: apparent, training, test, optimism, corrected.
    pub indexes: Vec<ValidatedIndex>,
    /// Per candidate.
    pub selection_frequency: Vec<Frequency>,
}

/// Run the validation.
pub fn run(table: &Table, req: &ValidateRequest) -> Result<ValidateReport> {
    req.terms.check()?;
    let (y, coding, sel) =
        crate::logistic::outcome_and_rows(table, &req.outcome, req.positive.as_deref(), &req.terms.predictors)?;
    let full = req.terms.design(table, &sel.rows, true)?;
    let v = validate_logistic(&full, &y, &strs(&req.terms.predictors), &req.selection, req.bootstrap, req.seed)?;
    Ok(ValidateReport {
        source: table.source.clone(),
        outcome: coding,
        n: y.len(),
        dropped: sel.dropped,
        selection: selection_name(&req.selection),
        replicates: v.replicates,
        successful: v.successful,
        seed: v.seed,
        selected_terms: v.selected_terms,
        indexes: v.indexes,
        selection_frequency: v
            .selection_frequency
            .into_iter()
            .map(|(term, selected)| Frequency { term, selected })
            .collect(),
    })
}
