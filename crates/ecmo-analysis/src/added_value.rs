//! `analyze reclassification` (NRI, IDI), `analyze dca` (decision curves) and `analyze
//! stability` (selection stability): added value and robustness of prediction models.

use crate::error::{AnalysisError, Result};
use crate::logistic::selection_name;
use crate::model::{Terms, strs};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::decision::{DecisionCurve, NetBenefitDifference, decision_curve, net_benefit_difference};
use ecmo_stats::reclassification::{Reclassification, reclassification};
use ecmo_stats::stability::{SelectionStability, selection_stability};
use ecmo_stats::validate::Selection;
use serde::Serialize;
use std::borrow::Cow;

/// Outcome, its coding, the rows used and one column of predicted risks per model.
type Risks<'a> = (Cow<'a, [f64]>, BinaryCoding, crate::table::RowSelection, Vec<Cow<'a, [f64]>>);

/// Outcome and columns of predicted risks on the rows complete in all of them; with `check`,
/// a risk outside [0, 1] is an error naming its line.
fn risks<'a>(
    table: &'a Table,
    outcome: &str,
    positive: Option<&str>,
    columns: &[String],
    check: bool,
) -> Result<Risks<'a>> {
    let (y, coding, sel) = crate::logistic::outcome_and_rows(table, outcome, positive, columns)?;
    let mut p = Vec::new();
    for c in columns {
        let v = table.numeric_selected(c, &sel)?;
        if check {
            check_risks(table, &sel, c, &v)?;
        }
        p.push(v);
    }
    Ok((y, coding, sel, p))
}

fn check_risks(table: &Table, sel: &crate::table::RowSelection, column: &str, v: &[f64]) -> Result<()> {
    if v.iter().fold(false, |bad, x| bad | !(0.0..=1.0).contains(x))
        && let Some(k) = v.iter().position(|x| !(0.0..=1.0).contains(x))
    {
        return Err(AnalysisError::Value {
            source_name: table.source.clone(),
            line: table.line(sel.rows[k]),
            column: column.to_string(),
            value: format!("{}", v[k]),
            problem: "is not a predicted probability in [0, 1]".into(),
        });
    }
    Ok(())
}

/// NRI / IDI request.
#[derive(Debug, Clone, PartialEq)]
pub struct ReclassificationRequest {
    /// Binary outcome.
    pub outcome: String,
    /// Positive label.
    pub positive: Option<String>,
    /// Column of the old model's predicted risks.
    pub old: String,
    /// Column of the new model's predicted risks.
    pub new: String,
    /// Risk cut-offs for the categorical NRI (empty: continuous only).
    pub cutoffs: Vec<f64>,
}

/// Result of `analyze reclassification`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReclassificationReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Old model column.
    pub old: String,
    /// New model column.
    pub new: String,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// "complete cases".
    pub missing_data: String,
    /// NRI and IDI.
    #[serde(flatten)]
    pub result: Reclassification,
}

/// Run NRI / IDI.
pub fn reclassification_run(table: &Table, req: &ReclassificationRequest) -> Result<ReclassificationReport> {
    let report = |coding, dropped, result| ReclassificationReport {
        source: table.source.clone(),
        outcome: coding,
        old: req.old.clone(),
        new: req.new.clone(),
        dropped,
        missing_data: "complete cases".into(),
        result,
    };
    if let Some((coding, result)) = reclassification_whole_columns(table, req) {
        return Ok(report(coding, 0, result));
    }
    let cols = vec![req.old.clone(), req.new.clone()];
    // the engine checks the risks in its first pass; only when it refuses them is the
    // offending line looked for
    let (y, coding, sel, p) = risks(table, &req.outcome, req.positive.as_deref(), &cols, false)?;
    let result = reclassification(&y, &p[0], &p[1], &req.cutoffs, 0.95).map_err(|e| {
        cols.iter().zip(&p).find_map(|(c, v)| check_risks(table, &sel, c, v).err()).unwrap_or_else(|| e.into())
    })?;
    Ok(report(coding, sel.dropped, result))
}

/// The usual case without a row list or copies: the engine on the table's own columns. The
/// engine refuses a missing value (NaN is neither an outcome of 0/1 nor a risk in [0, 1]),
/// so when it accepts the whole columns no row is incomplete, and the result is the one the
/// complete-case path gives. On any refusal (or a column that is not numeric, or the
/// outcome named as a risk column) `None`: the complete-case path runs and reports as before.
fn reclassification_whole_columns(
    table: &Table,
    req: &ReclassificationRequest,
) -> Option<(BinaryCoding, Reclassification)> {
    use crate::table::RawColumn::Numeric;
    if req.old == req.outcome || req.new == req.outcome {
        return None;
    }
    let (Numeric(old), Numeric(new)) = (table.column(&req.old).ok()?, table.column(&req.new).ok()?) else {
        return None;
    };
    let (y, coding) = table.binary(&req.outcome, req.positive.as_deref()).ok()?;
    let result = reclassification(&y, old, new, &req.cutoffs, 0.95).ok()?;
    Some((coding, result))
}

/// Decision-curve request.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionRequest {
    /// Binary outcome.
    pub outcome: String,
    /// Positive label.
    pub positive: Option<String>,
    /// Columns of predicted risks, one per model.
    pub models: Vec<String>,
    /// Threshold probabilities.
    pub thresholds: Vec<f64>,
    /// Bootstrap replicates for the difference of the first two models (0 = none).
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
}

/// Result of `analyze dca`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used.
    pub n: usize,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// The curves.
    pub curve: DecisionCurve,
    /// NB(first) - NB(second) with bootstrap CI, when asked.
    pub difference: Option<NetBenefitDifference>,
}

/// Run the decision-curve analysis.
pub fn decision_run(table: &Table, req: &DecisionRequest) -> Result<DecisionReport> {
    if req.models.is_empty() {
        return Err(AnalysisError::Request("no model columns given".into()));
    }
    let (y, coding, sel, p) = risks(table, &req.outcome, req.positive.as_deref(), &req.models, true)?;
    let models: Vec<(&str, &[f64])> = req.models.iter().zip(&p).map(|(n, v)| (n.as_str(), &v[..])).collect();
    let curve = decision_curve(&y, &models, &req.thresholds)?;
    let difference = if req.bootstrap > 0 {
        if models.len() < 2 {
            return Err(AnalysisError::Request("the net-benefit difference needs two model columns".into()));
        }
        Some(net_benefit_difference(&y, models[0], models[1], &req.thresholds, req.bootstrap, 0.95, req.seed)?)
    } else {
        None
    };
    Ok(DecisionReport {
        source: table.source.clone(),
        outcome: coding,
        n: y.len(),
        dropped: sel.dropped,
        curve,
        difference,
    })
}

/// Selection-stability request.
#[derive(Debug, Clone, PartialEq)]
pub struct StabilityRequest {
    /// Binary outcome.
    pub outcome: String,
    /// Positive label.
    pub positive: Option<String>,
    /// Candidate predictors.
    pub terms: Terms,
    /// The selection to rerun.
    pub selection: Selection,
    /// Bootstrap resamples.
    pub bootstrap: usize,
    /// Seed.
    pub seed: u64,
}

/// Result of `analyze stability`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StabilityReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used.
    pub n: usize,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// Selection rerun.
    pub selection: String,
    /// Frequencies.
    #[serde(flatten)]
    pub result: SelectionStability,
}

/// Run the selection-stability bootstrap.
pub fn stability_run(table: &Table, req: &StabilityRequest) -> Result<StabilityReport> {
    req.terms.check()?;
    if req.selection == Selection::None {
        return Err(AnalysisError::Request("selection stability needs a selection (--select or --stepwise)".into()));
    }
    let (y, coding, sel) =
        crate::logistic::outcome_and_rows(table, &req.outcome, req.positive.as_deref(), &req.terms.predictors)?;
    let full = req.terms.design(table, &sel.rows, true)?;
    let result = selection_stability(&full, &y, &strs(&req.terms.predictors), &req.selection, req.bootstrap, req.seed)?;
    Ok(StabilityReport {
        source: table.source.clone(),
        outcome: coding,
        n: y.len(),
        dropped: sel.dropped,
        selection: selection_name(&req.selection),
        result,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_risk_outside_the_unit_interval_names_its_line() {
        let csv = "y,old,new\n0,0.1,0.2\n1,0.5,0.7\n1,0.4,1.2\n0,0.3,0.1\n1,0.6,0.9\n0,0.2,0.3\n";
        let t = Table::parse_csv(csv, "risks.csv", None).unwrap();
        let req = ReclassificationRequest {
            outcome: "y".into(),
            positive: None,
            old: "old".into(),
            new: "new".into(),
            cutoffs: vec![],
        };
        let e = reclassification_run(&t, &req).unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("new") && e.contains("1.2"), "{e}");
    }

    #[test]
    fn whole_columns_and_complete_cases_agree() {
        let req = |positive: Option<&str>| ReclassificationRequest {
            outcome: "y".into(),
            positive: positive.map(String::from),
            old: "old".into(),
            new: "new".into(),
            cutoffs: vec![0.5],
        };
        let rows = "0,0.1,0.2\n1,0.5,0.7\n1,0.4,0.6\n0,0.55,0.1\n1,0.6,0.9\n0,0.2,0.6\n";
        let whole = Table::parse_csv(&format!("y,old,new\n{rows}"), "r.csv", None).unwrap();
        let a = reclassification_run(&whole, &req(None)).unwrap();
        // a row missing a risk is dropped (the complete-case path), leaving the same rows
        let gap = Table::parse_csv(&format!("y,old,new\n1,0.9,NA\n{rows}"), "r.csv", None).unwrap();
        let b = reclassification_run(&gap, &req(None)).unwrap();
        assert_eq!((a.dropped, b.dropped), (0, 1));
        // (Debug text: a categorical NRI's z can be NaN)
        assert_eq!(format!("{:?}", a.result), format!("{:?}", b.result));
        assert!(a.result.nri_categorical.as_ref().is_some_and(|c| c.up_events > 0.0 && c.down_nonevents > 0.0));
        // the outcome coded the other way round is copied, not borrowed: NRI and IDI change sign
        let c = reclassification_run(&whole, &req(Some("0"))).unwrap();
        assert_eq!(c.outcome.positive, "0");
        assert_eq!(c.result.idi.estimate, -a.result.idi.estimate);
        // after a dropped row, an out-of-range risk still names its own line
        let bad = Table::parse_csv(&format!("y,old,new\n1,NA,0.5\n{rows}0,0.2,-0.1\n"), "r.csv", None).unwrap();
        let e = reclassification_run(&bad, &req(None)).unwrap_err().to_string();
        assert!(e.contains("line 9") && e.contains("-0.1"), "{e}");
    }
}
