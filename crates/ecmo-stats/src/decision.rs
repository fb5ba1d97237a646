//! Decision-curve analysis (Vickers & Elkin 2006): net benefit of each model over a range of
//! threshold probabilities, with treat-all and treat-none, and the net-benefit difference of
//! two models with a bootstrap percentile CI.
//!
//! Net benefit is the explicit formula `NB(pt) = TP/n - FP/n * pt/(1 - pt)`, a patient counted
//! positive when `p >= pt` (dcurves' rule; dcurves itself is not packaged for Debian, so the R
//! reference writes the formula out). Treat all: `prev - (1 - prev) pt/(1 - pt)`; treat none: 0.
//! The difference CI resamples rows (the same rows for both models), B replicates, type-7
//! percentiles; seeded, independent of the thread count.

use crate::calibration::net_benefit;
use crate::error::{Result, StatsError};
use crate::rng::parallel_replicates;
use crate::roc_compare::PercentileCi;
use serde::Serialize;

/// Net-benefit curve of one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCurve {
    /// Model (column) name.
    pub name: String,
    /// Net benefit at each threshold.
    pub net_benefit: Vec<f64>,
}

/// A decision curve for several models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionCurve {
    /// Formula used.
    pub method: String,
    /// Threshold probabilities.
    pub thresholds: Vec<f64>,
    /// Prevalence of the outcome.
    pub prevalence: f64,
    /// Treat everyone.
    pub treat_all: Vec<f64>,
    /// Treat no one (zeros).
    pub treat_none: Vec<f64>,
    /// One curve per model.
    pub models: Vec<ModelCurve>,
}

/// Thresholds sorted ascending, with the position of each in the caller's order.
struct Sorted {
    order: Vec<usize>,
    values: Vec<f64>,
}

impl Sorted {
    fn new(thresholds: &[f64]) -> Result<Sorted> {
        if let Some(t) = thresholds.iter().find(|t| !(0.0..1.0).contains(*t)) {
            return Err(StatsError::InvalidInput(format!("threshold {t} outside [0,1)")));
        }
        let mut order: Vec<usize> = (0..thresholds.len()).collect();
        order.sort_by(|&i, &j| thresholds[i].total_cmp(&thresholds[j]));
        let values = order.iter().map(|&i| thresholds[i]).collect();
        Ok(Sorted { order, values })
    }
    /// How many thresholds are <= p: the patient is positive at the first `bucket` (sorted).
    fn bucket(&self, p: f64) -> usize {
        self.values.partition_point(|t| *t <= p)
    }
    /// Net benefit at every threshold (caller's order) from event / non-event counts per
    /// bucket, TP and FP read off suffix sums: O(T) after an O(n) count.
    fn net_benefit(&self, counts: &[[u32; 2]], n: f64) -> Vec<f64> {
        let tn = self.values.len();
        let mut out = vec![0.0; tn];
        let (mut fp, mut tp) = (0.0, 0.0);
        for k in (0..tn).rev() {
            fp += counts[k + 1][0] as f64;
            tp += counts[k + 1][1] as f64;
            let t = self.values[k];
            out[self.order[k]] = tp / n - fp / n * t / (1.0 - t);
        }
        out
    }
}

fn counts(sorted: &Sorted, y: &[f64], buckets: &[usize], rows: impl Iterator<Item = usize>) -> Vec<[u32; 2]> {
    let mut c = vec![[0u32; 2]; sorted.values.len() + 1];
    for i in rows {
        c[buckets[i]][(y[i] == 1.0) as usize] += 1;
    }
    c
}

/// Net benefit of every model at every threshold. Counting per threshold bucket gives the same
/// TP and FP as scanning the rows at each threshold, in O(n log T + T) per model.
pub fn decision_curve(y: &[f64], models: &[(&str, &[f64])], thresholds: &[f64]) -> Result<DecisionCurve> {
    if models.is_empty() {
        return Err(StatsError::InvalidInput("no model predictions given".into()));
    }
    let sorted = Sorted::new(thresholds)?;
    let n = y.len() as f64;
    let mut curves = Vec::new();
    for (name, p) in models {
        // validates lengths, the 0/1 outcome and the risks (no thresholds: no scan)
        net_benefit(y, p, &[])?;
        let b: Vec<usize> = p.iter().map(|&v| sorted.bucket(v)).collect();
        let c = counts(&sorted, y, &b, 0..y.len());
        curves.push(ModelCurve { name: name.to_string(), net_benefit: sorted.net_benefit(&c, n) });
    }
    let prevalence = y.iter().sum::<f64>() / n;
    Ok(DecisionCurve {
        method: "net benefit = TP/n - FP/n * pt/(1 - pt), positive if p >= pt (Vickers & Elkin 2006)".into(),
        thresholds: thresholds.to_vec(),
        prevalence,
        treat_all: thresholds.iter().map(|t| prevalence - (1.0 - prevalence) * t / (1.0 - t)).collect(),
        treat_none: vec![0.0; thresholds.len()],
        models: curves,
    })
}

/// Net-benefit difference of two models with bootstrap CIs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetBenefitDifference {
    /// First model.
    pub model_a: String,
    /// Second model.
    pub model_b: String,
    /// Bootstrap replicates.
    pub replicates: usize,
    /// Seed.
    pub seed: u64,
    /// Confidence level.
    pub level: f64,
    /// Thresholds.
    pub thresholds: Vec<f64>,
    /// NB(a) - NB(b) at each threshold, with its percentile CI.
    pub difference: Vec<PercentileCi>,
}

/// NB(a) - NB(b) over `thresholds`, with a row-bootstrap percentile CI.
#[allow(clippy::too_many_arguments)]
pub fn net_benefit_difference(
    y: &[f64],
    a: (&str, &[f64]),
    b: (&str, &[f64]),
    thresholds: &[f64],
    replicates: usize,
    level: f64,
    seed: u64,
) -> Result<NetBenefitDifference> {
    if replicates < 2 {
        return Err(StatsError::InvalidInput("need at least 2 bootstrap replicates".into()));
    }
    // validates lengths, 0/1 outcome, risks and thresholds; gives the estimates
    let curve = decision_curve(y, &[a, b], thresholds)?;
    let n = y.len();
    let sorted = Sorted::new(thresholds)?;
    let ba: Vec<usize> = a.1.iter().map(|&v| sorted.bucket(v)).collect();
    let bb: Vec<usize> = b.1.iter().map(|&v| sorted.bucket(v)).collect();
    let reps = parallel_replicates(replicates, seed, |_, rng| {
        let idx: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let na = sorted.net_benefit(&counts(&sorted, y, &ba, idx.iter().copied()), n as f64);
        let nb = sorted.net_benefit(&counts(&sorted, y, &bb, idx.iter().copied()), n as f64);
        na.iter().zip(&nb).map(|(x, z)| x - z).collect::<Vec<f64>>()
    });
    let difference = (0..thresholds.len())
        .map(|k| {
            let est = curve.models[0].net_benefit[k] - curve.models[1].net_benefit[k];
            let v: Vec<f64> = reps.iter().map(|r| r[k]).collect();
            PercentileCi::from_replicates(est, &v, level)
        })
        .collect();
    Ok(NetBenefitDifference {
        model_a: a.0.to_string(),
        model_b: b.0.to_string(),
        replicates,
        seed,
        level,
        thresholds: thresholds.to_vec(),
        difference,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difference_of_a_model_with_itself_is_zero() {
        let y = [0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0];
        let p = [0.1, 0.7, 0.3, 0.6, 0.8, 0.2, 0.4, 0.5];
        let d = net_benefit_difference(&y, ("a", &p), ("b", &p), &[0.2, 0.5], 20, 0.95, 1).unwrap();
        assert!(d.difference.iter().all(|c| c.estimate == 0.0 && c.ci_low == 0.0 && c.ci_high == 0.0));
    }
}
