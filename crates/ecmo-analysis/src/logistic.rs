//! `analyze logistic`: glm-equivalent logistic regression with optional variable selection.

use crate::error::{AnalysisError, Result};
use crate::model::{Terms, strs};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::fastbw::fastbw;
use ecmo_stats::logistic::{
    Coefficient, GlmControl, LogisticModel, LogisticOptions, SeparationWarning, TestStat, fit_logistic,
};
use ecmo_stats::stepwise::{Direction, PCriterion, backward_pvalue, step_aic};
use ecmo_stats::validate::Selection;
use serde::Serialize;
use std::borrow::Cow;

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRequest {
    /// Binary outcome column.
    pub outcome: String,
    /// Outcome label counted as 1 (default: see [`Table::binary`]).
    pub positive: Option<String>,
    /// Predictors and their coding.
    pub terms: Terms,
    /// Variable selection.
    pub selection: Selection,
    /// Firth's penalised likelihood instead of maximum likelihood.
    pub firth: bool,
    /// Profile-likelihood CIs (not with Firth).
    pub profile_ci: bool,
}

/// One candidate of a selection step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepCandidate {
    /// Term (`<none>` = keep the model as it is).
    pub term: String,
    /// "drop", "add" or "none".
    pub change: String,
    /// Degrees of freedom of the term.
    pub df: Option<f64>,
    /// Residual deviance after the change (stepAIC only).
    pub deviance: Option<f64>,
    /// AIC after the change (stepAIC only).
    pub aic: Option<f64>,
    /// LR chi-square (stepAIC) or Wald/LR statistic (p-value elimination).
    pub statistic: Option<f64>,
    /// p-value of that statistic.
    pub p: Option<f64>,
}

/// One selection step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// 1-based step number.
    pub step: usize,
    /// Terms in the model before the step.
    pub model_terms: Vec<String>,
    /// AIC of that model (stepAIC only).
    pub aic: Option<f64>,
    /// Candidate changes, best first for stepAIC.
    pub candidates: Vec<StepCandidate>,
    /// What was done ("- age", "+ lwt", "stop", "remove ftv (p = ...)").
    pub action: String,
}

/// Result of `analyze logistic`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used.
    pub n: usize,
    /// Outcome = 1 among them.
    pub events: usize,
    /// Rows dropped for missing values in the outcome or any candidate predictor.
    pub dropped: usize,
    /// Missing-data handling: "complete cases" (see `analyze impute` for multiple imputation).
    pub missing_data: String,
    /// "maximum likelihood (IRLS, as R glm)" or "Firth penalised likelihood".
    pub method: String,
    /// Selection used: "none", "stepaic-backward", ..., "backward-p".
    pub selection: String,
    /// Candidate predictors.
    pub candidates: Vec<String>,
    /// Terms of the final model.
    pub terms: Vec<String>,
    /// Coefficients of the final model.
    pub coefficients: Vec<Coefficient>,
    /// Residual deviance.
    pub deviance: f64,
    /// Null deviance.
    pub null_deviance: f64,
    /// Residual df.
    pub df_residual: usize,
    /// Null df.
    pub df_null: usize,
    /// Log-likelihood.
    pub loglik: f64,
    /// AIC = deviance + 2 p.
    pub aic: f64,
    /// BIC = deviance + p log n.
    pub bic: f64,
    /// LR test of the model against the intercept-only model.
    pub lr_test: TestStat,
    /// IRLS iterations.
    pub iterations: usize,
    /// Converged?
    pub converged: bool,
    /// Separation detected.
    pub separation: Option<SeparationWarning>,
    /// Warnings (as R would print them).
    pub warnings: Vec<String>,
    /// Selection steps (empty without selection).
    pub steps: Vec<Step>,
}

/// Name of a selection for reports.
pub fn selection_name(s: &Selection) -> String {
    match s {
        Selection::None => "none".into(),
        Selection::StepAic(Direction::Backward) => "stepaic-backward".into(),
        Selection::StepAic(Direction::Forward) => "stepaic-forward".into(),
        Selection::StepAic(Direction::Both) => "stepaic-both".into(),
        Selection::BackwardP { alpha, criterion: PCriterion::Wald } => format!("backward-p (Wald, alpha {alpha})"),
        Selection::BackwardP { alpha, criterion: PCriterion::Lrt } => format!("backward-p (LR, alpha {alpha})"),
        Selection::FastBw => "fastbw (rms, rule aic, type residual)".into(),
    }
}

/// Outcome (0/1) on the complete rows of outcome + predictors.
/// The outcome is borrowed from the table when it is a 0/1 column and no row was dropped.
pub(crate) fn outcome_and_rows<'a>(
    table: &'a Table,
    outcome: &str,
    positive: Option<&str>,
    predictors: &[String],
) -> Result<(Cow<'a, [f64]>, BinaryCoding, crate::table::RowSelection)> {
    if predictors.iter().any(|p| p == outcome) {
        return Err(AnalysisError::Request(format!("the outcome '{outcome}' is also a predictor")));
    }
    let mut cols = vec![outcome];
    cols.extend(strs(predictors));
    // the row selection and the outcome coding are independent passes: two threads for large tables
    let (sel, binary) = if table.nrows() >= 100_000 {
        std::thread::scope(|s| {
            let h = s.spawn(|| table.binary(outcome, positive));
            let sel = table.complete_rows(&cols);
            (sel, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        })
    } else {
        (table.complete_rows(&cols), table.binary(outcome, positive))
    };
    let sel = sel?;
    let (y_all, coding) = binary?;
    let y = if sel.dropped == 0 { y_all } else { Cow::Owned(sel.rows.iter().map(|&r| y_all[r]).collect()) };
    if y.is_empty() {
        return Err(AnalysisError::Request(format!(
            "no complete rows: all {} rows miss a value in {}",
            table.nrows(),
            cols.join(", ")
        )));
    }
    Ok((y, coding, sel))
}

fn steps_from_aic(r: &ecmo_stats::stepwise::StepResult) -> Vec<Step> {
    r.tables
        .iter()
        .enumerate()
        .map(|(i, t)| Step {
            step: i + 1,
            model_terms: t.model_terms.clone(),
            aic: Some(t.current_aic),
            candidates: t
                .candidates
                .iter()
                .map(|c| StepCandidate {
                    term: c.term.clone(),
                    change: c.change.clone(),
                    df: c.df,
                    deviance: Some(c.deviance),
                    aic: Some(c.aic),
                    statistic: c.lrt,
                    p: c.p,
                })
                .collect(),
            action: t.action.clone(),
        })
        .collect()
}

fn steps_from_p(r: &ecmo_stats::stepwise::PBackwardResult) -> Vec<Step> {
    r.steps
        .iter()
        .enumerate()
        .map(|(i, s)| Step {
            step: i + 1,
            model_terms: s.model_terms.clone(),
            aic: None,
            candidates: s
                .table
                .iter()
                .map(|t| StepCandidate {
                    term: t.term.clone(),
                    change: "drop".into(),
                    df: Some(t.df),
                    deviance: None,
                    aic: None,
                    statistic: Some(t.statistic),
                    p: Some(t.p),
                })
                .collect(),
            action: s.action.clone(),
        })
        .collect()
}

/// Fit the model (after selection, if asked).
pub fn run(table: &Table, req: &LogisticRequest) -> Result<LogisticReport> {
    req.terms.check()?;
    if req.terms.predictors.is_empty() {
        return Err(AnalysisError::Request("no predictors given".into()));
    }
    let (y, coding, sel) = outcome_and_rows(table, &req.outcome, req.positive.as_deref(), &req.terms.predictors)?;
    let full = req.terms.design(table, &sel.rows, true)?;
    let opts = LogisticOptions { firth: req.firth, profile_ci: req.profile_ci && !req.firth, ..Default::default() };
    let cands = strs(&req.terms.predictors);
    let (model, steps): (LogisticModel, Vec<Step>) = match &req.selection {
        Selection::None => (fit_logistic(&full, &y, &opts)?, Vec::new()),
        Selection::StepAic(dir) => {
            let start: Vec<&str> = if *dir == Direction::Forward { Vec::new() } else { cands.clone() };
            let r = step_aic(&full, &y, &start, &[], &cands, *dir, 2.0, &opts)?;
            let steps = steps_from_aic(&r);
            (r.final_model, steps)
        }
        Selection::BackwardP { alpha, criterion } => {
            let r = backward_pvalue(&full, &y, &cands, &[], *alpha, *criterion, &opts)?;
            let steps = steps_from_p(&r);
            (r.final_model, steps)
        }
        Selection::FastBw => {
            let tight = LogisticOptions { control: GlmControl::tight(), profile_ci: false, ..opts.clone() };
            let fb = fastbw(&fit_logistic(&full, &y, &tight)?, 2.0)?;
            let steps = fb
                .deleted
                .iter()
                .enumerate()
                .map(|(i, s)| Step {
                    step: i + 1,
                    model_terms: Vec::new(),
                    aic: None,
                    candidates: vec![StepCandidate {
                        term: s.term.clone(),
                        change: "drop".into(),
                        df: Some(s.df),
                        deviance: None,
                        aic: Some(s.aic),
                        statistic: Some(s.chisq),
                        p: Some(s.p),
                    }],
                    action: format!(
                        "- {} (Wald chi-square {:.4}; residual {:.4} on {} df)",
                        s.term, s.chisq, s.residual, s.residual_df
                    ),
                })
                .collect();
            let kept: Vec<&str> = fb.kept.iter().map(|s| s.as_str()).collect();
            (fit_logistic(&full.subset(&kept)?, &y, &opts)?, steps)
        }
    };
    Ok(LogisticReport {
        source: table.source.clone(),
        outcome: coding,
        n: model.n,
        events: model.events,
        dropped: sel.dropped,
        missing_data: "complete cases".into(),
        method: model.method.clone(),
        selection: selection_name(&req.selection),
        candidates: req.terms.predictors.clone(),
        terms: model.terms.iter().map(|t| t.name.clone()).collect(),
        coefficients: model.coefficients,
        deviance: model.deviance,
        null_deviance: model.null_deviance,
        df_residual: model.df_residual,
        df_null: model.df_null,
        loglik: model.loglik,
        aic: model.aic,
        bic: model.bic,
        lr_test: model.lr_test,
        iterations: model.iterations,
        converged: model.converged,
        separation: model.separation,
        warnings: model.warnings,
        steps,
    })
}
