//! `analyze roc`: ROC curves (pROC conventions), DeLong CIs and paired DeLong tests.

use crate::error::{AnalysisError, Result};
use crate::model::strs;
use crate::table::{BinaryCoding, Table};
use ecmo_stats::htest::Alternative;
use ecmo_stats::roc::{BootstrapCi, Coord, RocDirection, bootstrap_auc_ci, delong_paired_ranked, roc_ranked};
use ecmo_stats::roc_compare::{DelongMulti, YoudenBootstrap, bootstrap_youden, delong_multi};
use serde::Serialize;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct RocRequest {
    /// Binary outcome column (cases = positive level).
    pub outcome: String,
    /// Positive (case) label.
    pub positive: Option<String>,
    /// Predictor columns (numeric).
    pub predictors: Vec<String>,
    /// Direction for every predictor (`None` = automatic, as pROC).
    pub direction: Option<RocDirection>,
    /// Paired DeLong test for every pair of predictors.
    pub compare: bool,
    /// Stratified bootstrap replicates for the AUC CI (0 = none).
    pub bootstrap: usize,
    /// Bootstrap seed.
    pub seed: u64,
    /// Include every coordinate of the curve.
    pub coords: bool,
    /// Stratified bootstrap replicates for the CI of the Youden-optimal cut-off (0 = none).
    pub youden_bootstrap: usize,
}

/// A threshold with its sensitivity and specificity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatingPoint {
    /// Threshold.
    pub threshold: f64,
    /// Sensitivity.
    pub sensitivity: f64,
    /// Specificity.
    pub specificity: f64,
}

impl From<&Coord> for OperatingPoint {
    fn from(c: &Coord) -> Self {
        OperatingPoint { threshold: c.threshold, sensitivity: c.sensitivity, specificity: c.specificity }
    }
}

/// One predictor's curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocCurve {
    /// Predictor column.
    pub name: String,
    /// pROC direction: "<" (controls lower) or ">".
    pub direction: RocDirection,
    /// Cases.
    pub n_cases: usize,
    /// Controls.
    pub n_controls: usize,
    /// Area under the curve.
    pub auc: f64,
    /// DeLong variance of the AUC.
    pub variance: f64,
    /// DeLong standard error.
    pub se: f64,
    /// DeLong 95 % CI.
    pub ci_low: f64,
    /// DeLong 95 % CI.
    pub ci_high: f64,
    /// Youden-optimal threshold (first of ties).
    pub youden: Option<OperatingPoint>,
    /// Closest-to-top-left threshold (first of ties).
    pub closest_topleft: Option<OperatingPoint>,
    /// Stratified bootstrap percentile CI, when asked.
    pub bootstrap: Option<BootstrapCi>,
    /// Bootstrap CI of the Youden-optimal cut-off (and its sensitivity, specificity), when asked.
    pub youden_bootstrap: Option<YoudenBootstrap>,
    /// Every coordinate (empty with `--no-coords`).
    pub coords: Vec<Coord>,
}

/// A paired DeLong comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// First predictor.
    pub a: String,
    /// Second predictor.
    pub b: String,
    /// "paired DeLong".
    pub method: String,
    /// AUC of a.
    pub auc_a: f64,
    /// AUC of b.
    pub auc_b: f64,
    /// Z statistic.
    pub z: f64,
    /// Two-sided p.
    pub p: f64,
    /// DeLong covariance of the two AUCs.
    pub covariance: f64,
    /// 95 % CI of auc_a - auc_b.
    pub diff_ci_low: f64,
    /// 95 % CI of auc_a - auc_b.
    pub diff_ci_high: f64,
}

/// Result of `analyze roc`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocReport {
    /// Source file.
    pub source: String,
    /// Outcome coding (positive = case).
    pub outcome: BinaryCoding,
    /// Rows used (complete in the outcome and every predictor).
    pub n: usize,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// One curve per predictor.
    pub predictors: Vec<RocCurve>,
    /// Paired comparisons.
    pub comparisons: Vec<Comparison>,
    /// DeLong chi-square test that all (3 or more) AUCs are equal.
    pub all_equal: Option<DelongMulti>,
}

/// Compute the curves and tests.
pub fn run(table: &Table, req: &RocRequest) -> Result<RocReport> {
    if req.predictors.is_empty() {
        return Err(AnalysisError::Request("no predictors given".into()));
    }
    let (y, coding, sel) =
        crate::logistic::outcome_and_rows(table, &req.outcome, req.positive.as_deref(), &req.predictors)?;
    let is_case: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
    // the full curves (every coordinate, per-row placements) only when something needs them
    let full =
        req.coords || req.bootstrap > 0 || req.youden_bootstrap > 0 || (req.compare && req.predictors.len() >= 3);
    let keep_rows = full || (req.compare && req.predictors.len() >= 2);
    let mut ranked = Vec::new();
    let mut rocs = Vec::new();
    let mut curves = Vec::new();
    for p in strs(&req.predictors) {
        let x = table.numeric_selected(p, &sel)?;
        let rr = roc_ranked(&x, &is_case, req.direction, keep_rows)?;
        let s = &rr.summary;
        let mut curve = RocCurve {
            name: p.to_string(),
            direction: s.direction,
            n_cases: s.n_cases,
            n_controls: s.n_controls,
            auc: s.auc,
            variance: s.variance,
            se: s.se,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            youden: rr.best_youden.first().map(OperatingPoint::from),
            closest_topleft: rr.best_closest_topleft.first().map(OperatingPoint::from),
            bootstrap: None,
            youden_bootstrap: None,
            coords: Vec::new(),
        };
        if full {
            let r = rr.clone().into_roc(&x, &is_case)?;
            if req.bootstrap > 0 {
                curve.bootstrap = Some(bootstrap_auc_ci(&r, req.bootstrap, 0.95, req.seed)?);
            }
            if req.youden_bootstrap > 0 {
                curve.youden_bootstrap = Some(bootstrap_youden(&r, req.youden_bootstrap, 0.95, req.seed)?);
            }
            if req.coords {
                curve.coords = r.coords.clone();
            }
            rocs.push(r);
        }
        curves.push(curve);
        ranked.push(rr);
    }
    let mut comparisons = Vec::new();
    if req.compare {
        for i in 0..ranked.len() {
            for j in i + 1..ranked.len() {
                let t = delong_paired_ranked(&ranked[i], &ranked[j], &is_case, Alternative::TwoSided)?;
                comparisons.push(Comparison {
                    a: req.predictors[i].clone(),
                    b: req.predictors[j].clone(),
                    method: "paired DeLong".into(),
                    auc_a: t.auc1,
                    auc_b: t.auc2,
                    z: t.z,
                    p: t.p,
                    covariance: t.covariance,
                    diff_ci_low: t.diff_ci_low,
                    diff_ci_high: t.diff_ci_high,
                });
            }
        }
    }
    let all_equal = if req.compare && rocs.len() >= 3 {
        let refs: Vec<&ecmo_stats::roc::Roc> = rocs.iter().collect();
        Some(delong_multi(&refs)?)
    } else {
        None
    };
    Ok(RocReport {
        source: table.source.clone(),
        outcome: coding,
        n: sel.rows.len(),
        dropped: sel.dropped,
        predictors: curves,
        comparisons,
        all_equal,
    })
}
