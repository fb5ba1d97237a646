//! ROC analysis as pROC 1.18 computes it: automatic direction from the medians, thresholds
//! at the midpoints of sorted unique values, all coordinates, Youden / closest-top-left
//! optimal thresholds (ties kept), DeLong variance with the fast O(n log n) placement
//! algorithm (Sun & Xu 2014), DeLong CIs, paired and unpaired DeLong tests, and stratified
//! bootstrap CIs (seeded, O(n) per replicate via pre-ranked values).

use crate::describe::quantile_type7_sorted;
use crate::dist::{p_two_sided_normal, p_two_sided_t, pnorm, pt, qnorm};
use crate::error::{Result, StatsError};
use crate::htest::Alternative;
use crate::rng::parallel_replicates;
use serde::Serialize;

/// Direction of the comparison (pROC's `direction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RocDirection {
    /// `<`: controls have lower values; positive if predictor >= threshold.
    #[serde(rename = "<")]
    ControlsLower,
    /// `>`: controls have higher values; positive if predictor <= threshold.
    #[serde(rename = ">")]
    ControlsHigher,
}

impl RocDirection {
    /// pROC's symbol.
    pub fn symbol(&self) -> &'static str {
        match self {
            RocDirection::ControlsLower => "<",
            RocDirection::ControlsHigher => ">",
        }
    }
}

/// One point of the ROC curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coord {
    /// Threshold (may be -inf / +inf; serialised as null by serde_json).
    pub threshold: f64,
    /// Specificity.
    pub specificity: f64,
    /// Sensitivity.
    pub sensitivity: f64,
    /// True positives.
    pub tp: f64,
    /// False positives.
    pub fp: f64,
    /// True negatives.
    pub tn: f64,
    /// False negatives.
    pub fn_: f64,
    /// sensitivity + specificity (pROC's `youden` column, i.e. J + 1).
    pub youden: f64,
    /// (1 - sens)^2 + (1 - spec)^2.
    pub closest_topleft: f64,
}

/// A ROC curve with its DeLong statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Roc {
    /// Direction used.
    pub direction: RocDirection,
    /// Number of cases.
    pub n_cases: usize,
    /// Number of controls.
    pub n_controls: usize,
    /// Area under the curve.
    pub auc: f64,
    /// DeLong variance of the AUC.
    pub variance: f64,
    /// sqrt(variance).
    pub se: f64,
    /// DeLong 95% CI, lower (clipped to [0,1]).
    pub ci_low: f64,
    /// DeLong 95% CI, upper.
    pub ci_high: f64,
    /// All coordinates, in pROC's order.
    pub coords: Vec<Coord>,
    /// Youden-optimal points (all ties).
    pub best_youden: Vec<Coord>,
    /// Closest-to-top-left points (all ties).
    pub best_closest_topleft: Vec<Coord>,
    /// Case values (data order).
    #[serde(skip)]
    pub cases: Vec<f64>,
    /// Control values (data order).
    #[serde(skip)]
    pub controls: Vec<f64>,
    /// DeLong placements of the cases (V10), data order.
    #[serde(skip)]
    pub placements_cases: Vec<f64>,
    /// DeLong placements of the controls (V01), data order.
    #[serde(skip)]
    pub placements_controls: Vec<f64>,
}

/// The AUC of a curve with its DeLong variance and CI, without the coordinates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AucSummary {
    /// pROC direction.
    pub direction: RocDirection,
    /// Cases.
    pub n_cases: usize,
    /// Controls.
    pub n_controls: usize,
    /// AUC.
    pub auc: f64,
    /// DeLong variance.
    pub variance: f64,
    /// DeLong SE.
    pub se: f64,
    /// DeLong CI (clipped to [0, 1]).
    pub ci_low: f64,
    /// DeLong CI.
    pub ci_high: f64,
}

impl From<&Roc> for AucSummary {
    fn from(r: &Roc) -> Self {
        AucSummary {
            direction: r.direction,
            n_cases: r.n_cases,
            n_controls: r.n_controls,
            auc: r.auc,
            variance: r.variance,
            se: r.se,
            ci_low: r.ci_low,
            ci_high: r.ci_high,
        }
    }
}

/// For each value in `query`, (number of `sorted` values < q, number == q).
fn count_below_equal(sorted: &[f64], q: f64) -> (usize, usize) {
    let lo = sorted.partition_point(|v| *v < q);
    let hi = sorted.partition_point(|v| *v <= q);
    (lo, hi - lo)
}

/// DeLong placements: (V10 per case, V01 per control, AUC).
/// `sx`, `sc`: cases and controls sorted. The two placement vectors are computed on two
/// threads for large inputs (same values, same order).
fn placements(cases: &[f64], controls: &[f64], sx: &[f64], sc: &[f64], dir: RocDirection) -> (Vec<f64>, Vec<f64>, f64) {
    let (m, n) = (controls.len() as f64, cases.len() as f64);
    let v10 = || -> Vec<f64> {
        cases
            .iter()
            .map(|&c| {
                let (below, eq) = count_below_equal(sc, c);
                let above = sc.len() - below - eq;
                let win = match dir {
                    RocDirection::ControlsLower => below,
                    RocDirection::ControlsHigher => above,
                };
                (win as f64 + 0.5 * eq as f64) / m
            })
            .collect()
    };
    let v01 = || -> Vec<f64> {
        controls
            .iter()
            .map(|&c| {
                let (below, eq) = count_below_equal(sx, c);
                let above = sx.len() - below - eq;
                let win = match dir {
                    RocDirection::ControlsLower => above,
                    RocDirection::ControlsHigher => below,
                };
                (win as f64 + 0.5 * eq as f64) / n
            })
            .collect()
    };
    let (v10, v01) = if cases.len() + controls.len() >= 100_000 {
        std::thread::scope(|s| {
            let h = s.spawn(v01);
            let a = v10();
            let b = h.join().unwrap_or_else(|_| v01());
            (a, b)
        })
    } else {
        (v10(), v01())
    };
    let auc = v10.iter().sum::<f64>() / n;
    (v10, v01, auc)
}

fn sample_var(x: &[f64]) -> f64 {
    crate::describe::var(x)
}

fn sample_cov(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum::<f64>() / (n - 1.0)
}

/// Build a ROC curve. `direction = None` chooses it as pROC: `<` if
/// median(controls) <= median(cases), else `>`.
pub fn roc(predictor: &[f64], is_case: &[bool], direction: Option<RocDirection>) -> Result<Roc> {
    if predictor.len() != is_case.len() {
        return Err(StatsError::DimensionMismatch("predictor and outcome lengths differ".into()));
    }
    if let Some(i) = predictor.iter().position(|v| v.is_nan()) {
        return Err(StatsError::InvalidInput(format!("missing predictor value at row {}", i + 1)));
    }
    let cases: Vec<f64> = predictor.iter().zip(is_case).filter(|(_, c)| **c).map(|(v, _)| *v).collect();
    let controls: Vec<f64> = predictor.iter().zip(is_case).filter(|(_, c)| !**c).map(|(v, _)| *v).collect();
    roc_from_groups(&cases, &controls, direction)
}

/// Build a ROC curve from case and control values.
pub fn roc_from_groups(cases: &[f64], controls: &[f64], direction: Option<RocDirection>) -> Result<Roc> {
    if cases.is_empty() || controls.is_empty() {
        return Err(StatsError::NotEnoughData("ROC needs at least one case and one control".into()));
    }
    if cases.iter().chain(controls).any(|v| v.is_nan()) {
        return Err(StatsError::InvalidInput("missing predictor values".into()));
    }
    // sort each group once; medians, placements and coordinates all use these
    let mut sx = cases.to_vec();
    sx.sort_unstable_by(f64::total_cmp);
    let mut sc = controls.to_vec();
    sc.sort_unstable_by(f64::total_cmp);
    let dir = direction.unwrap_or_else(|| {
        if quantile_type7_sorted(&sc, 0.5) <= quantile_type7_sorted(&sx, 0.5) {
            RocDirection::ControlsLower
        } else {
            RocDirection::ControlsHigher
        }
    });
    let (v10, v01, auc) = placements(cases, controls, &sx, &sc, dir);
    let variance = sample_var(&v10) / cases.len() as f64 + sample_var(&v01) / controls.len() as f64;
    let se = variance.sqrt();
    let (ci_low, ci_high) = delong_ci(auc, se, 0.95);
    let coords = roc_coords(&sx, &sc, dir);
    let best_youden = best_points(&coords, |c| c.sensitivity + c.specificity, true);
    let best_closest_topleft =
        best_points(&coords, |c| (1.0 - c.sensitivity).powi(2) + (1.0 - c.specificity).powi(2), false);
    Ok(Roc {
        direction: dir,
        n_cases: cases.len(),
        n_controls: controls.len(),
        auc,
        variance,
        se,
        ci_low,
        ci_high,
        coords,
        best_youden,
        best_closest_topleft,
        cases: cases.to_vec(),
        controls: controls.to_vec(),
        placements_cases: v10,
        placements_controls: v01,
    })
}

/// DeLong CI: `qnorm(c(a/2, 1-a/2), auc, se)` clipped to [0, 1].
pub fn delong_ci(auc: f64, se: f64, level: f64) -> (f64, f64) {
    let z = qnorm((1.0 - level) / 2.0);
    ((auc + z * se).max(0.0), (auc - z * se).min(1.0))
}

fn best_points(coords: &[Coord], crit: impl Fn(&Coord) -> f64, maximise: bool) -> Vec<Coord> {
    let vals: Vec<f64> = coords.iter().map(&crit).collect();
    let best = if maximise {
        vals.iter().copied().fold(f64::NEG_INFINITY, f64::max)
    } else {
        vals.iter().copied().fold(f64::INFINITY, f64::min)
    };
    coords.iter().zip(&vals).filter(|(_, v)| **v == best).map(|(c, _)| *c).collect()
}

/// All coordinates in pROC's order (increasing thresholds for `<`, decreasing for `>`);
/// `sx`, `sc`: cases and controls sorted.
fn roc_coords(sx: &[f64], sc: &[f64], dir: RocDirection) -> Vec<Coord> {
    // distinct values: merge of the two sorted groups
    let mut all: Vec<f64> = Vec::with_capacity(sx.len() + sc.len());
    let (mut i, mut j) = (0, 0);
    while i < sx.len() || j < sc.len() {
        let v = if j >= sc.len() || (i < sx.len() && sx[i].total_cmp(&sc[j]).is_le()) {
            i += 1;
            sx[i - 1]
        } else {
            j += 1;
            sc[j - 1]
        };
        if all.last() != Some(&v) {
            all.push(v);
        }
    }
    let mut thr = Vec::with_capacity(all.len() + 1);
    thr.push(f64::NEG_INFINITY);
    for w in all.windows(2) {
        thr.push((w[0] + w[1]) / 2.0);
    }
    thr.push(f64::INFINITY);
    if all.len() == 1 {
        thr = vec![f64::NEG_INFINITY, f64::INFINITY];
    }
    let (np, nn) = (sx.len() as f64, sc.len() as f64);
    let mut out: Vec<Coord> = thr
        .iter()
        .map(|&t| {
            let (tp, fp) = match dir {
                // positive if x >= t
                RocDirection::ControlsLower => (
                    (sx.len() - sx.partition_point(|v| *v < t)) as f64,
                    (sc.len() - sc.partition_point(|v| *v < t)) as f64,
                ),
                // positive if x <= t
                RocDirection::ControlsHigher => {
                    (sx.partition_point(|v| *v <= t) as f64, sc.partition_point(|v| *v <= t) as f64)
                }
            };
            let tn = nn - fp;
            let fn_ = np - tp;
            let sens = tp / np;
            let spec = tn / nn;
            Coord {
                threshold: t,
                specificity: spec,
                sensitivity: sens,
                tp,
                fp,
                tn,
                fn_,
                youden: sens + spec,
                closest_topleft: (1.0 - sens).powi(2) + (1.0 - spec).powi(2),
            }
        })
        .collect();
    if dir == RocDirection::ControlsHigher {
        out.reverse();
    }
    out
}

/// DeLong CI at another level.
pub fn ci_delong(r: &Roc, level: f64) -> (f64, f64) {
    delong_ci(r.auc, r.se, level)
}

/// Paired DeLong test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedDelong {
    /// Z statistic.
    pub z: f64,
    /// p-value for the chosen alternative.
    pub p: f64,
    /// AUC of the first curve.
    pub auc1: f64,
    /// AUC of the second curve.
    pub auc2: f64,
    /// DeLong covariance of the two AUCs.
    pub covariance: f64,
    /// 95% CI of auc1 - auc2, lower.
    pub diff_ci_low: f64,
    /// Upper.
    pub diff_ci_high: f64,
}

/// Paired DeLong test (pROC `roc.test(method = "delong", paired = TRUE)`): both curves
/// must come from the same cases and controls in the same order.
pub fn delong_paired(a: &Roc, b: &Roc, alternative: Alternative) -> Result<PairedDelong> {
    if a.n_cases != b.n_cases || a.n_controls != b.n_controls {
        return Err(StatsError::DimensionMismatch("paired DeLong needs the same cases and controls".into()));
    }
    let cov = sample_cov(&a.placements_cases, &b.placements_cases) / a.n_cases as f64
        + sample_cov(&a.placements_controls, &b.placements_controls) / a.n_controls as f64;
    let sd = (a.variance + b.variance - 2.0 * cov).sqrt();
    let d = a.auc - b.auc;
    let z = d / sd;
    let p = match alternative {
        Alternative::TwoSided => p_two_sided_normal(z),
        Alternative::Greater => pnorm(-z),
        Alternative::Less => pnorm(z),
    };
    let q = qnorm(0.975);
    Ok(PairedDelong {
        z,
        p,
        auc1: a.auc,
        auc2: b.auc,
        covariance: cov,
        diff_ci_low: d - q * sd,
        diff_ci_high: d + q * sd,
    })
}

/// Unpaired DeLong test result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnpairedDelong {
    /// D statistic.
    pub d: f64,
    /// Welch-type degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// AUC 1.
    pub auc1: f64,
    /// AUC 2.
    pub auc2: f64,
}

/// Unpaired DeLong test (pROC `roc.test(paired = FALSE)`): t-distribution with
/// `df = (S1+S2)^2 / (S1^2/(N1-1) + S2^2/(N2-1))`.
pub fn delong_unpaired(a: &Roc, b: &Roc, alternative: Alternative) -> UnpairedDelong {
    let (s1, s2) = (a.variance, b.variance);
    let d = (a.auc - b.auc) / (s1 + s2).sqrt();
    let n1 = (a.n_cases + a.n_controls) as f64;
    let n2 = (b.n_cases + b.n_controls) as f64;
    let df = (s1 + s2).powi(2) / (s1 * s1 / (n1 - 1.0) + s2 * s2 / (n2 - 1.0));
    let p = match alternative {
        Alternative::TwoSided => p_two_sided_t(d, df),
        Alternative::Greater => pt(-d, df),
        Alternative::Less => pt(d, df),
    };
    UnpairedDelong { d, df, p, auc1: a.auc, auc2: b.auc }
}

/// Stratified bootstrap CI of the AUC.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BootstrapCi {
    /// Replicates.
    pub replicates: usize,
    /// Seed.
    pub seed: u64,
    /// Lower percentile limit.
    pub ci_low: f64,
    /// Median of the bootstrap AUCs.
    pub median: f64,
    /// Upper percentile limit.
    pub ci_high: f64,
    /// Bootstrap standard error (SD of the replicates).
    pub se: f64,
}

/// Stratified bootstrap percentile CI (as pROC `ci.auc(method = "bootstrap")`: cases and
/// controls resampled separately, quantiles type 7). The direction stays fixed. Each
/// replicate is O(n + k) (k distinct values) thanks to pre-ranking; replicates run in
/// parallel with per-replicate random streams, so the result only depends on the seed.
pub fn bootstrap_auc_ci(r: &Roc, replicates: usize, level: f64, seed: u64) -> Result<BootstrapCi> {
    if replicates < 2 {
        return Err(StatsError::InvalidInput("need at least 2 bootstrap replicates".into()));
    }
    let mut all: Vec<f64> = r.cases.iter().chain(&r.controls).copied().collect();
    all.sort_by(f64::total_cmp);
    all.dedup();
    let k = all.len();
    let rank = |v: f64| all.partition_point(|x| *x < v);
    let mut case_rank: Vec<usize> = r.cases.iter().map(|&v| rank(v)).collect();
    let mut ctrl_rank: Vec<usize> = r.controls.iter().map(|&v| rank(v)).collect();
    if r.direction == RocDirection::ControlsHigher {
        case_rank.iter_mut().for_each(|x| *x = k - 1 - *x);
        ctrl_rank.iter_mut().for_each(|x| *x = k - 1 - *x);
    }
    let (n, m) = (case_rank.len(), ctrl_rank.len());
    let aucs = parallel_replicates(replicates, seed, |_, rng| {
        let mut hist = vec![0u32; k];
        for _ in 0..m {
            hist[ctrl_rank[rng.below(m)]] += 1;
        }
        // below[i] = number of sampled controls with rank < i
        let mut below = vec![0u64; k + 1];
        for i in 0..k {
            below[i + 1] = below[i] + hist[i] as u64;
        }
        let mut s = 0.0f64;
        for _ in 0..n {
            let c = case_rank[rng.below(n)];
            s += below[c] as f64 + 0.5 * hist[c] as f64;
        }
        s / (n as f64 * m as f64)
    });
    let mut sorted = aucs.clone();
    sorted.sort_by(f64::total_cmp);
    let a = (1.0 - level) / 2.0;
    Ok(BootstrapCi {
        replicates,
        seed,
        ci_low: quantile_type7_sorted(&sorted, a),
        median: quantile_type7_sorted(&sorted, 0.5),
        ci_high: quantile_type7_sorted(&sorted, 1.0 - a),
        se: crate::describe::sd(&aucs),
    })
}
