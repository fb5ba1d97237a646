//! Decision-curve analysis (Vickers & Elkin 2006): net benefit of each model over a range of
//! threshold probabilities, with treat-all and treat-none, and the net-benefit difference of
//! two models with a bootstrap percentile CI.
//!
//! Net benefit is the explicit formula `NB(pt) = TP/n - FP/n * pt/(1 - pt)`, a patient counted
//! positive when `p >= pt` (dcurves' rule; dcurves itself is not packaged for Debian, so the R
//! reference writes the formula out). Treat all: `prev - (1 - prev) pt/(1 - pt)`; treat none: 0.
//! The difference CI resamples rows (the same rows for both models), B replicates, type-7
//! percentiles; seeded, independent of the thread count.

use crate::calibration::{NetBenefit, net_benefit};
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

/// Net benefit of every model at every threshold.
pub fn decision_curve(y: &[f64], models: &[(&str, &[f64])], thresholds: &[f64]) -> Result<DecisionCurve> {
    if models.is_empty() {
        return Err(StatsError::InvalidInput("no model predictions given".into()));
    }
    let mut curves = Vec::new();
    let mut base: Vec<NetBenefit> = Vec::new();
    for (name, p) in models {
        let nb = net_benefit(y, p, thresholds)?;
        curves.push(ModelCurve { name: name.to_string(), net_benefit: nb.iter().map(|x| x.model).collect() });
        base = nb;
    }
    Ok(DecisionCurve {
        method: "net benefit = TP/n - FP/n * pt/(1 - pt), positive if p >= pt (Vickers & Elkin 2006)".into(),
        thresholds: thresholds.to_vec(),
        prevalence: y.iter().sum::<f64>() / y.len() as f64,
        treat_all: base.iter().map(|x| x.treat_all).collect(),
        treat_none: base.iter().map(|x| x.treat_none).collect(),
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

fn nb_at(y: &[f64], p: &[f64], idx: &[usize], t: f64) -> f64 {
    let (mut tp, mut fp) = (0.0, 0.0);
    for &i in idx {
        if p[i] >= t {
            if y[i] == 1.0 { tp += 1.0 } else { fp += 1.0 }
        }
    }
    let n = idx.len() as f64;
    tp / n - fp / n * t / (1.0 - t)
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
    // validates lengths, 0/1 outcome, risks and thresholds
    decision_curve(y, &[a, b], thresholds)?;
    let n = y.len();
    let all: Vec<usize> = (0..n).collect();
    // Each patient is positive for the thresholds up to her risk: with the thresholds sorted,
    // bucket = how many of them are <= p. A replicate then only counts events and non-events
    // per bucket (O(n + T)) and reads TP/FP per threshold off suffix sums; the counts, hence the
    // net benefits, are exactly those of counting threshold by threshold.
    let tn = thresholds.len();
    let mut order: Vec<usize> = (0..tn).collect();
    order.sort_by(|&i, &j| thresholds[i].total_cmp(&thresholds[j]));
    let sorted: Vec<f64> = order.iter().map(|&i| thresholds[i]).collect();
    let bucket = |p: &[f64]| -> Vec<usize> { p.iter().map(|&v| sorted.partition_point(|t| *t <= v)).collect() };
    let (ba, bb) = (bucket(a.1), bucket(b.1));
    let reps = parallel_replicates(replicates, seed, |_, rng| {
        // counts[model][bucket][event]
        let mut counts = vec![[[0u32; 2]; 2]; tn + 1];
        for _ in 0..n {
            let i = rng.below(n);
            let ev = (y[i] == 1.0) as usize;
            counts[ba[i]][0][ev] += 1;
            counts[bb[i]][1][ev] += 1;
        }
        // positive at sorted threshold k <=> bucket > k
        let mut out = vec![0.0; tn];
        let mut acc = [[0.0f64; 2]; 2];
        let nf = n as f64;
        for k in (0..tn).rev() {
            for m in 0..2 {
                acc[m][0] += counts[k + 1][m][0] as f64;
                acc[m][1] += counts[k + 1][m][1] as f64;
            }
            let t = sorted[k];
            let nb = |m: usize| acc[m][1] / nf - acc[m][0] / nf * t / (1.0 - t);
            out[order[k]] = nb(0) - nb(1);
        }
        out
    });
    let difference = thresholds
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            let est = nb_at(y, a.1, &all, t) - nb_at(y, b.1, &all, t);
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
