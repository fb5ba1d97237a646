//! Bootstrap optimism-corrected validation of a logistic model (Harrell; what
//! `rms::validate(fit, B, bw = TRUE)` does), re-running the variable selection inside
//! every resample.
//!
//! For each of `B` resamples (rows drawn with replacement, seeded): select terms on the
//! resample (none / stepAIC / backward p-value elimination), fit, and evaluate the indexes
//! on the resample ("training") and on the original data ("test"). optimism = mean(train -
//! test); corrected = apparent - optimism. Indexes: Dxy, C (AUC), Nagelkerke R2, calibration
//! intercept and slope of the linear predictor, Brier. Resamples whose fit fails (no events,
//! singular design) are skipped and counted. rms's `bw = TRUE` uses `fastbw` (approximate
//! Wald-based deletion): `Selection::FastBw` does the same, for a like-for-like comparison;
//! the other selections rerun the exact procedure used for the final model. R2 is
//! Nagelkerke's of the recalibrated linear predictor (as `validate.lrm`).

use crate::calibration::auc_ranks;
use crate::design::Design;
use crate::error::{Result, StatsError};
use crate::logistic::{GlmControl, IrlsFit, LogisticOptions, fit_logistic, irls_logistic, irls_weighted, linkinv};
use crate::rng::parallel_replicates;
use crate::stepwise::{Direction, PCriterion, backward_pvalue, step_aic};
use serde::Serialize;

/// Variable selection to repeat in every resample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Fit all candidate terms.
    None,
    /// `stepAIC` with this direction (k = 2), starting from all terms (backward/both) or
    /// from the empty model (forward).
    StepAic(Direction),
    /// Backward elimination by p-value.
    BackwardP {
        /// Threshold.
        alpha: f64,
        /// Wald or LRT.
        criterion: PCriterion,
    },
    /// `rms::fastbw` (rule "aic", type "residual") on the full model: what
    /// `rms::validate(bw = TRUE)` repeats in every resample.
    FastBw,
}

/// One validated index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatedIndex {
    /// Name: dxy, auc, r2, intercept, slope, brier.
    pub name: String,
    /// Apparent value (selection + fit on all data).
    pub apparent: f64,
    /// Mean over resamples of the value on the resample.
    pub training: f64,
    /// Mean over resamples of the value on the original data.
    pub test: f64,
    /// training - test.
    pub optimism: f64,
    /// apparent - optimism.
    pub corrected: f64,
}

/// Validation result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// Resamples requested.
    pub replicates: usize,
    /// Resamples that succeeded.
    pub successful: usize,
    /// Seed.
    pub seed: u64,
    /// Terms selected on the full data.
    pub selected_terms: Vec<String>,
    /// Indexes.
    pub indexes: Vec<ValidatedIndex>,
    /// How often each candidate term was selected across resamples.
    pub selection_frequency: Vec<(String, usize)>,
}

const NAMES: [&str; 6] = ["dxy", "auc", "r2", "intercept", "slope", "brier"];

pub(crate) fn select(full: &Design, y: &[f64], candidates: &[&str], sel: &Selection) -> Result<Vec<String>> {
    let quick = LogisticOptions { profile_ci: false, ..Default::default() };
    Ok(match sel {
        Selection::None => candidates.iter().map(|s| s.to_string()).collect(),
        Selection::StepAic(dir) => {
            let start: Vec<&str> = if *dir == Direction::Forward { vec![] } else { candidates.to_vec() };
            step_aic(full, y, &start, &[], candidates, *dir, 2.0, &quick)?.final_terms
        }
        Selection::BackwardP { alpha, criterion } => {
            backward_pvalue(full, y, candidates, &[], *alpha, *criterion, &quick)?.final_terms
        }
        Selection::FastBw => fastbw_select(full, y, candidates, None)?.kept,
    })
}

/// What [`fastbw_select`] found.
struct FastBwSelection {
    /// Terms kept.
    kept: Vec<String>,
    /// fastbw's approximate coefficients of the kept model (intercept, then the kept columns).
    approx: Vec<f64>,
    /// Coefficients of the model with every candidate.
    full_coef: Vec<f64>,
}

/// Fit every candidate (from `start` if given) and run `rms::fastbw` on the fit.
fn fastbw_select(full: &Design, y: &[f64], candidates: &[&str], start: Option<&[f64]>) -> Result<FastBwSelection> {
    // validate.lrm refits with lrm.fit(tol = 1e-7): glm's default stopping rule is as
    // close; the final model's fastbw (analyze logistic) starts from a converged fit
    let same = full.terms.iter().map(|t| t.name.as_str()).eq(candidates.iter().copied());
    let sub;
    let d = if same {
        full
    } else {
        sub = full.subset(candidates)?;
        &sub
    };
    let f = fit_from(d, y, start)?;
    let v = crate::linalg::Matrix { nrow: d.p, ncol: d.p, data: f.vcov };
    let fb = crate::fastbw::fastbw_parts(&f.coef, &v, &d.terms, &d.col_names, 2.0)?;
    Ok(FastBwSelection { kept: fb.kept, approx: fb.coefficients, full_coef: f.coef })
}

/// One fastbw resample fitted on its distinct rows with their multiplicities as frequency
/// weights (the same likelihood as the rows with repeats, about 63 % of the rows): the full
/// model from `start`, fastbw, the refit of the kept terms from fastbw's approximation.
/// Returns the training indexes, the refit's coefficients and the kept terms, or `None` when a
/// fit does not converge cleanly (the caller then fits the rows with repeats).
fn fastbw_resample(
    full: &Design,
    y: &[f64],
    candidates: &[&str],
    rows: &[usize],
    start: &[f64],
) -> Option<([f64; 6], Vec<f64>, Vec<String>)> {
    let n = full.n;
    let mut count = vec![0u32; n];
    for &r in rows {
        count[r] += 1;
    }
    let distinct: Vec<usize> = (0..n).filter(|&i| count[i] > 0).collect();
    let prior: Vec<f64> = distinct.iter().map(|&i| f64::from(count[i])).collect();
    let du = full.take_rows(&distinct);
    let yu: Vec<f64> = distinct.iter().map(|&i| y[i]).collect();
    let same = full.terms.iter().map(|t| t.name.as_str()).eq(candidates.iter().copied());
    let sub;
    let d = if same {
        &du
    } else {
        sub = du.subset(candidates).ok()?;
        &sub
    };
    let control = GlmControl::default();
    let clean = |f: Result<IrlsFit>| f.ok().filter(|f| f.converged && !f.fitted_0_or_1);
    let f = clean(irls_weighted(&d.x, d.p, &yu, &prior, start, &control))?;
    let v = crate::linalg::Matrix { nrow: d.p, ncol: d.p, data: f.vcov };
    let fb = crate::fastbw::fastbw_parts(&f.coef, &v, &d.terms, &d.col_names, 2.0).ok()?;
    let tr: Vec<&str> = fb.kept.iter().map(|s| s.as_str()).collect();
    let dsub = du.subset(&tr).ok()?;
    let g = clean(irls_weighted(&dsub.x, dsub.p, &yu, &prior, &fb.coefficients, &control))?;
    let mut pos = vec![0usize; n];
    for (k, &i) in distinct.iter().enumerate() {
        pos[i] = k;
    }
    let yb: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
    let lp: Vec<f64> = rows.iter().map(|&r| g.eta[pos[r]]).collect();
    Some((fitted_indexes(&yb, &lp, g.deviance), g.coef, fb.kept))
}

/// glm's fit of a resample model, warm-started from nearby coefficients when given (the
/// same maximum, reached in fewer iterations; a warm start that does not converge cleanly
/// is discarded for glm's default start).
fn fit_from(d: &Design, y: &[f64], start: Option<&[f64]>) -> Result<crate::logistic::IrlsFit> {
    let start = start.filter(|s| s.len() == d.p);
    if start.is_some() {
        let f = irls_logistic(&d.x, d.n, d.p, y, None, start, &GlmControl::default());
        if let Ok(f) = f
            && f.converged
            && !f.fitted_0_or_1
        {
            return Ok(f);
        }
    }
    irls_logistic(&d.x, d.n, d.p, y, None, None, &GlmControl::default())
}

/// Indexes of a linear predictor `lp` against outcome `y` (a model evaluated on other data
/// than it was fitted on): the calibration intercept and slope and the R2 come from the
/// logistic recalibration of `y` on `lp`, as `validate.lrm` refits `lrm.fit(lp, y)`.
pub(crate) fn indexes(y: &[f64], lp: &[f64]) -> Result<[f64; 6]> {
    let n = y.len();
    let mut x = Vec::with_capacity(2 * n);
    for v in lp {
        x.push(1.0);
        x.push(*v);
    }
    // started at the identity (intercept 0, slope 1), which a model's own predictor is and
    // a resample model's is near on the original data
    let f = irls_logistic(&x, n, 2, y, None, Some(&[0.0, 1.0]), &GlmControl::default())
        .ok()
        .filter(|f| f.converged && !f.fitted_0_or_1)
        .map_or_else(|| irls_logistic(&x, n, 2, y, None, None, &GlmControl::default()), Ok)?;
    // Nagelkerke R2 of the recalibrated predictor (intercept + slope on lp), as rms's
    // validate.lrm computes it on the test sample
    let [dxy, c, r2, _, _, brier] = fitted_indexes(y, lp, f.deviance);
    Ok([dxy, c, r2, f.coef[0], f.coef[1], brier])
}

/// Indexes of a model on the data it was fitted on (`deviance` = its residual deviance): as
/// `validate.lrm` with `evalfit = TRUE` (the apparent and the resample-training rows),
/// calibration intercept 0 and slope 1 by definition and Nagelkerke's R2 of the model's own
/// likelihood ratio, without a recalibration fit.
pub(crate) fn fitted_indexes(y: &[f64], lp: &[f64], deviance: f64) -> [f64; 6] {
    let n = y.len();
    let c = auc_ranks(y, lp);
    let ybar = y.iter().sum::<f64>() / n as f64;
    let (l1, l0_) = (ybar.ln(), (1.0 - ybar).ln());
    let l0 = -2.0 * y.iter().map(|&v| if v == 1.0 { l1 } else { l0_ }).sum::<f64>();
    let nf = n as f64;
    let r2 = (1.0 - (-(l0 - deviance) / nf).exp()) / (1.0 - (-l0 / nf).exp());
    let brier = y
        .iter()
        .zip(lp)
        .map(|(&a, &v)| {
            let p = linkinv(v);
            (p - a) * (p - a)
        })
        .sum::<f64>()
        / nf;
    [2.0 * (c - 0.5), c, r2, 0.0, 1.0, brier]
}

/// Bootstrap validation; `full` must contain all candidate terms.
pub fn validate_logistic(
    full: &Design,
    y: &[f64],
    candidates: &[&str],
    selection: &Selection,
    replicates: usize,
    seed: u64,
) -> Result<Validation> {
    if replicates == 0 {
        return Err(StatsError::InvalidInput("need at least one bootstrap replicate".into()));
    }
    let n = full.n;
    let (terms, fastbw_start) = match selection {
        Selection::FastBw => {
            let r = fastbw_select(full, y, candidates, None)?;
            (r.kept, Some(r.full_coef))
        }
        _ => (select(full, y, candidates, selection)?, None),
    };
    let t: Vec<&str> = terms.iter().map(|s| s.as_str()).collect();
    let d = full.subset(&t)?;
    let quick = LogisticOptions { profile_ci: false, ..Default::default() };
    let m = fit_logistic(&d, y, &quick)?;
    let apparent = fitted_indexes(y, &m.linear_predictor, m.deviance);
    // design columns of each term in `full`, to form a resample model's linear predictor on
    // the original rows without copying the columns out
    let columns_of = |terms: &[String]| -> Vec<usize> {
        let mut idx: Vec<usize> = if full.intercept { vec![0] } else { vec![] };
        for t in terms {
            if let Some(info) = full.terms.iter().find(|x| &x.name == t) {
                idx.extend_from_slice(&info.columns);
            }
        }
        idx
    };
    type Rep = Option<([f64; 6], [f64; 6], Vec<String>)>;
    let reps: Vec<Rep> = parallel_replicates(replicates, seed, |_, rng| {
        let rows: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        // the resample's rows as they were drawn, repeats included
        let expanded = || -> Result<([f64; 6], Vec<f64>, Vec<String>)> {
            let db = full.take_rows(&rows);
            let yb: Vec<f64> = rows.iter().map(|&r| y[r]).collect();
            // fastbw: the resample's full model starts from the original data's, the refit
            // of the kept terms from fastbw's approximation to it
            let (tb, start) = match (selection, &fastbw_start) {
                (Selection::FastBw, Some(s)) => {
                    let r = fastbw_select(&db, &yb, candidates, Some(s))?;
                    (r.kept, Some(r.approx))
                }
                _ => (select(&db, &yb, candidates, selection)?, None),
            };
            let tr: Vec<&str> = tb.iter().map(|s| s.as_str()).collect();
            let dsub = db.subset(&tr)?;
            let f = fit_from(&dsub, &yb, start.as_deref())?;
            Ok((fitted_indexes(&yb, &f.eta, f.deviance), f.coef, tb))
        };
        let run = || -> Result<([f64; 6], [f64; 6], Vec<String>)> {
            let (train, coef, tb) = match (selection, &fastbw_start) {
                (Selection::FastBw, Some(s)) => match fastbw_resample(full, y, candidates, &rows, s) {
                    Some(r) => r,
                    None => expanded()?,
                },
                _ => expanded()?,
            };
            let cols = columns_of(&tb);
            if cols.len() != coef.len() {
                return Err(StatsError::DimensionMismatch("resample model columns".into()));
            }
            let p = full.p;
            let lp: Vec<f64> =
                (0..n).map(|i| cols.iter().zip(&coef).map(|(&c, b)| full.x[i * p + c] * b).sum()).collect();
            let test = indexes(y, &lp)?;
            Ok((train, test, tb))
        };
        run().ok().filter(|(a, b, _)| a.iter().chain(b.iter()).all(|v| v.is_finite()))
    });
    let ok: Vec<&([f64; 6], [f64; 6], Vec<String>)> = reps.iter().flatten().collect();
    if ok.is_empty() {
        return Err(StatsError::NoConvergence("no bootstrap resample could be fitted".into()));
    }
    let k = ok.len() as f64;
    let indexes_out = (0..6)
        .map(|j| {
            let training = ok.iter().map(|r| r.0[j]).sum::<f64>() / k;
            let test = ok.iter().map(|r| r.1[j]).sum::<f64>() / k;
            let optimism = training - test;
            ValidatedIndex {
                name: NAMES[j].to_string(),
                apparent: apparent[j],
                training,
                test,
                optimism,
                corrected: apparent[j] - optimism,
            }
        })
        .collect();
    let selection_frequency =
        candidates.iter().map(|c| (c.to_string(), ok.iter().filter(|r| r.2.iter().any(|t| t == c)).count())).collect();
    Ok(Validation {
        replicates,
        successful: ok.len(),
        seed,
        selected_terms: terms,
        indexes: indexes_out,
        selection_frequency,
    })
}
