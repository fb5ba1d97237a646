//! Beyond pROC's pairwise tests: DeLong's chi-square for k > 2 correlated AUCs and a
//! bootstrap CI of the Youden-optimal cut-off.
//!
//! * `delong_multi`: DeLong, DeLong & Clarke-Pearson (1988). With `S = cov(V10)/m +
//!   cov(V01)/n` (the placements' sample covariances; cases m, controls n) and `L` the
//!   (k-1) x k successive-difference contrasts, `chi2 = (L a)' (L S L')^-1 (L a)`, df k - 1.
//!   Any full-rank contrast of the differences gives the same statistic. pROC has no k-curve
//!   test; the golden script writes this formula out on pROC's own placements.
//! * `bootstrap_youden`: as `pROC::ci.coords(x = "best", best.method = "youden",
//!   best.policy = "random")`: cases and controls resampled separately, the direction kept,
//!   a tie for the best point broken at random; percentile limits (type 7) of the threshold
//!   and of the sensitivity and specificity at it.

use crate::describe::{quantile_type7_sorted, sd};
use crate::dist::pchisq_upper;
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, quad_form_inv};
use crate::rng::parallel_replicates;
use crate::roc::{Roc, RocDirection};
use serde::Serialize;

/// DeLong chi-square test of k correlated (paired) AUCs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DelongMulti {
    /// Method.
    pub method: String,
    /// AUC of each curve.
    pub aucs: Vec<f64>,
    /// DeLong covariance matrix of the AUCs.
    pub covariance: Matrix,
    /// Chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (k - 1).
    pub df: f64,
    /// p-value.
    pub p: f64,
}

fn cov(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / (n - 1.0)
}

/// DeLong's test that k >= 2 paired AUCs are equal. The curves must come from the same cases
/// and controls in the same order (as [`crate::roc::delong_paired`]).
pub fn delong_multi(curves: &[&Roc]) -> Result<DelongMulti> {
    let k = curves.len();
    if k < 2 {
        return Err(StatsError::NotEnoughData("need at least two ROC curves".into()));
    }
    let (m, n) = (curves[0].n_cases, curves[0].n_controls);
    if curves.iter().any(|r| r.n_cases != m || r.n_controls != n) {
        return Err(StatsError::DimensionMismatch("paired curves need the same cases and controls".into()));
    }
    if m < 2 || n < 2 {
        return Err(StatsError::NotEnoughData("need at least two cases and two controls".into()));
    }
    let mut s = Matrix::zeros(k, k);
    for i in 0..k {
        for j in i..k {
            let v = cov(&curves[i].placements_cases, &curves[j].placements_cases) / m as f64
                + cov(&curves[i].placements_controls, &curves[j].placements_controls) / n as f64;
            s.set(i, j, v);
            s.set(j, i, v);
        }
    }
    // L a and L S L' with L = successive differences (row r: e_r - e_{r+1})
    let q = k - 1;
    let la: Vec<f64> = (0..q).map(|r| curves[r].auc - curves[r + 1].auc).collect();
    let mut lsl = vec![0.0; q * q];
    for r in 0..q {
        for c in 0..q {
            lsl[r * q + c] = s.get(r, c) - s.get(r, c + 1) - s.get(r + 1, c) + s.get(r + 1, c + 1);
        }
    }
    let statistic = quad_form_inv(&lsl, q, &la).map_err(|_| {
        StatsError::Singular("the AUC differences have a singular covariance (identical curves?)".into())
    })?;
    Ok(DelongMulti {
        method: "DeLong chi-square test of k correlated AUCs (DeLong et al. 1988)".into(),
        aucs: curves.iter().map(|r| r.auc).collect(),
        covariance: s,
        statistic,
        df: q as f64,
        p: pchisq_upper(statistic, q as f64),
    })
}

/// Percentile interval with the bootstrap mean and SD.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PercentileCi {
    /// Point estimate on the original data.
    pub estimate: f64,
    /// Lower percentile limit.
    pub ci_low: f64,
    /// Median of the replicates.
    pub median: f64,
    /// Upper percentile limit.
    pub ci_high: f64,
    /// Mean of the replicates.
    pub boot_mean: f64,
    /// SD of the replicates.
    pub boot_sd: f64,
}

impl PercentileCi {
    /// From replicate values (NaN replicates are left out).
    pub fn from_replicates(estimate: f64, values: &[f64], level: f64) -> PercentileCi {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let a = (1.0 - level) / 2.0;
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        PercentileCi {
            estimate,
            ci_low: quantile_type7_sorted(&v, a),
            median: quantile_type7_sorted(&v, 0.5),
            ci_high: quantile_type7_sorted(&v, 1.0 - a),
            boot_mean: mean,
            boot_sd: sd(&v),
        }
    }
}

/// Bootstrap CI of the Youden-optimal cut-off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YoudenBootstrap {
    /// Replicates.
    pub replicates: usize,
    /// Seed.
    pub seed: u64,
    /// Confidence level.
    pub level: f64,
    /// Threshold (estimate = first best point on the data).
    pub threshold: PercentileCi,
    /// Sensitivity at the replicate's best threshold.
    pub sensitivity: PercentileCi,
    /// Specificity at the replicate's best threshold.
    pub specificity: PercentileCi,
}

/// Stratified bootstrap of the Youden-optimal threshold (see module docs).
pub fn bootstrap_youden(r: &Roc, replicates: usize, level: f64, seed: u64) -> Result<YoudenBootstrap> {
    if replicates < 2 {
        return Err(StatsError::InvalidInput("need at least 2 bootstrap replicates".into()));
    }
    let best = r.best_youden.first().ok_or_else(|| StatsError::NotEnoughData("no ROC points".into()))?;
    // Rank every value once among the distinct values of the sample; a replicate is then a
    // histogram of resampled case and control ranks, and its ROC points are read off in one
    // sweep over the ranks present (O(n + k) instead of sorting and building a curve). The
    // points are pROC's: thresholds at -Inf, +Inf and midway between consecutive values present
    // in the resample.
    let mut vals: Vec<f64> = r.cases.iter().chain(&r.controls).copied().collect();
    vals.sort_by(f64::total_cmp);
    vals.dedup();
    let k = vals.len();
    let rank = |v: f64| vals.partition_point(|x| *x < v);
    let case_rank: Vec<usize> = r.cases.iter().map(|&v| rank(v)).collect();
    let ctrl_rank: Vec<usize> = r.controls.iter().map(|&v| rank(v)).collect();
    let (m, n) = (case_rank.len(), ctrl_rank.len());
    let lower = r.direction == RocDirection::ControlsLower;
    let reps = parallel_replicates(replicates, seed, |_, rng| {
        let mut hc = vec![0u32; k];
        let mut hn = vec![0u32; k];
        for _ in 0..m {
            hc[case_rank[rng.below(m)]] += 1;
        }
        for _ in 0..n {
            hn[ctrl_rank[rng.below(n)]] += 1;
        }
        let (mf, nf) = (m as f64, n as f64);
        // candidates: (threshold, sens, spec); the infinite thresholds give sens + spec = 1
        let mut best: Vec<(f64, f64, f64)> = vec![(f64::NEG_INFINITY, 1.0, 0.0), (f64::INFINITY, 0.0, 1.0)];
        if !lower {
            best.reverse();
        }
        let mut best_j = 1.0;
        let (mut cases_le, mut ctrls_le) = (0.0, 0.0);
        let mut prev: Option<usize> = None;
        for v in 0..k {
            if hc[v] == 0 && hn[v] == 0 {
                continue;
            }
            if let Some(pv) = prev {
                let thr = (vals[pv] + vals[v]) / 2.0;
                // "<": positive if x >= thr; ">": positive if x <= thr
                let (se, sp) =
                    if lower { ((mf - cases_le) / mf, ctrls_le / nf) } else { (cases_le / mf, (nf - ctrls_le) / nf) };
                let j = se + sp;
                if j > best_j {
                    best_j = j;
                    best.clear();
                }
                if j == best_j {
                    best.push((thr, se, sp));
                }
            }
            cases_le += hc[v] as f64;
            ctrls_le += hn[v] as f64;
            prev = Some(v);
        }
        best[rng.below(best.len())]
    });
    let t: Vec<f64> = reps.iter().map(|x| x.0).collect();
    let se: Vec<f64> = reps.iter().map(|x| x.1).collect();
    let sp: Vec<f64> = reps.iter().map(|x| x.2).collect();
    Ok(YoudenBootstrap {
        replicates,
        seed,
        level,
        threshold: PercentileCi::from_replicates(best.threshold, &t, level),
        sensitivity: PercentileCi::from_replicates(best.sensitivity, &se, level),
        specificity: PercentileCi::from_replicates(best.specificity, &sp, level),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roc::{delong_paired, roc};

    #[test]
    fn two_curves_chi_square_is_paired_z_squared() {
        let x1 = [0.1, 0.4, 0.35, 0.8, 0.7, 0.2, 0.9, 0.55, 0.3, 0.65];
        let x2 = [0.2, 0.3, 0.5, 0.6, 0.9, 0.1, 0.7, 0.4, 0.45, 0.8];
        let y = [false, false, true, true, true, false, true, false, false, true];
        let a = roc(&x1, &y, None).unwrap();
        let b = roc(&x2, &y, None).unwrap();
        let m = delong_multi(&[&a, &b]).unwrap();
        let z = delong_paired(&a, &b, crate::htest::Alternative::TwoSided).unwrap().z;
        assert!((m.statistic - z * z).abs() < 1e-12);
        assert_eq!(m.df, 1.0);
    }

    #[test]
    fn youden_bootstrap_is_seeded() {
        let x: Vec<f64> = (0..60).map(|i| ((i * 37) % 61) as f64 / 61.0).collect();
        let y: Vec<bool> = (0..60).map(|i| x[i] + ((i % 5) as f64) * 0.1 > 0.6).collect();
        let r = roc(&x, &y, None).unwrap();
        let a = bootstrap_youden(&r, 50, 0.95, 3).unwrap();
        let b = bootstrap_youden(&r, 50, 0.95, 3).unwrap();
        assert_eq!(a, b);
        assert!(a.threshold.ci_low <= a.threshold.ci_high);
    }
}
