//! Calibration and model performance for predicted probabilities: Brier score (and scaled),
//! calibration slope and calibration-in-the-large (logistic recalibration fitted as R's
//! `glm`), Hosmer-Lemeshow with the `ResourceSelection::hoslem.test` grouping rule,
//! binned calibration curve, decision-curve net benefit, and the `rms::val.prob` indexes
//! (Dxy, C, R2, D, U, Q, Brier, intercept, slope, Spiegelhalter z).
//!
//! Hosmer-Lemeshow grouping (exactly as the golden R script / ResourceSelection 0.3):
//! `breaks = unique(quantile(p, seq(0, 1, 1/g)))` (type 7), groups are the intervals
//! `(b[k-1], b[k]]` with the first one closed (`cut(..., include.lowest = TRUE)`),
//! `chisq = sum (O1-E1)^2/E1 + (O0-E0)^2/E0`, `df = g - 2` even if breaks were merged.

use crate::describe::quantile_type7_sorted;
use crate::dist::{p_two_sided_normal, pchisq_upper};
use crate::error::{Result, StatsError};
use crate::logistic::{GlmControl, irls_logistic, logit};
use serde::Serialize;

fn check(y: &[f64], p: &[f64]) -> Result<()> {
    if y.len() != p.len() {
        return Err(StatsError::DimensionMismatch("y and p lengths differ".into()));
    }
    if y.is_empty() {
        return Err(StatsError::NotEnoughData("no observations".into()));
    }
    if let Some(i) = y.iter().position(|v| *v != 0.0 && *v != 1.0) {
        return Err(StatsError::InvalidInput(format!("outcome must be 0/1 (row {})", i + 1)));
    }
    if let Some(i) = p.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(StatsError::InvalidInput(format!("probability outside [0,1] (row {})", i + 1)));
    }
    Ok(())
}

/// Brier score `mean((p - y)^2)`.
pub fn brier(y: &[f64], p: &[f64]) -> f64 {
    y.iter().zip(p).map(|(a, b)| (b - a) * (b - a)).sum::<f64>() / y.len() as f64
}

/// Logistic recalibration results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// Brier score.
    pub brier: f64,
    /// 1 - brier / (ybar (1 - ybar)).
    pub brier_scaled: f64,
    /// Slope of `glm(y ~ logit(p))`.
    pub slope: f64,
    /// Its SE.
    pub slope_se: f64,
    /// Intercept of the same model.
    pub slope_model_intercept: f64,
    /// Its SE.
    pub slope_model_intercept_se: f64,
    /// Calibration-in-the-large: intercept of `glm(y ~ 1 + offset(logit(p)))`.
    pub citl: f64,
    /// Its SE.
    pub citl_se: f64,
    /// Mean observed.
    pub mean_observed: f64,
    /// Mean predicted.
    pub mean_predicted: f64,
}

/// Brier, calibration slope and calibration-in-the-large.
pub fn calibration(y: &[f64], p: &[f64]) -> Result<Calibration> {
    check(y, p)?;
    let n = y.len();
    let lp: Vec<f64> = p.iter().map(|&v| logit(v)).collect();
    let mut x = Vec::with_capacity(2 * n);
    for v in &lp {
        x.push(1.0);
        x.push(*v);
    }
    let f = irls_logistic(&x, n, 2, y, None, None, &GlmControl::default())?;
    let ones = vec![1.0; n];
    let g = irls_logistic(&ones, n, 1, y, Some(&lp), None, &GlmControl::default())?;
    let ybar = y.iter().sum::<f64>() / n as f64;
    let b = brier(y, p);
    Ok(Calibration {
        brier: b,
        brier_scaled: 1.0 - b / (ybar * (1.0 - ybar)),
        slope: f.coef[1],
        slope_se: f.vcov[3].sqrt(),
        slope_model_intercept: f.coef[0],
        slope_model_intercept_se: f.vcov[0].sqrt(),
        citl: g.coef[0],
        citl_se: g.vcov[0].sqrt(),
        mean_observed: ybar,
        mean_predicted: p.iter().sum::<f64>() / n as f64,
    })
}

/// One Hosmer-Lemeshow group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HlGroup {
    /// R's `cut` label, e.g. `[0.0257,0.0859]`.
    pub interval: String,
    /// Observations.
    pub n: usize,
    /// Observed events.
    pub obs1: f64,
    /// Expected events (sum of p).
    pub exp1: f64,
    /// Observed non-events.
    pub obs0: f64,
    /// Expected non-events.
    pub exp0: f64,
}

/// Hosmer-Lemeshow test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HosmerLemeshow {
    /// Number of groups requested.
    pub g: usize,
    /// Chi-square.
    pub chisq: f64,
    /// g - 2.
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// Breaks actually used (after `unique`).
    pub breaks: Vec<f64>,
    /// Groups.
    pub groups: Vec<HlGroup>,
    /// 1-based group of every observation (data order).
    pub group_of_each_obs: Vec<usize>,
}

/// R's `formatC(x, digits = d, format = "g")`.
fn fmt_g(x: f64, digits: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let e = x.abs().log10().floor() as i32;
    let s = format!("{:.*e}", digits.saturating_sub(1), x);
    // re-derive exponent after rounding
    let (mant, exp) = s.split_once('e').unwrap_or((s.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(e);
    if exp < -4 || exp >= digits as i32 {
        let mant = if mant.contains('.') { mant.trim_end_matches('0').trim_end_matches('.') } else { mant };
        format!("{mant}e{}{:02}", if exp < 0 { "-" } else { "+" }, exp.abs())
    } else {
        let dec = (digits as i32 - 1 - exp).max(0) as usize;
        let f = format!("{:.*}", dec, x);
        if f.contains('.') { f.trim_end_matches('0').trim_end_matches('.').to_string() } else { f }
    }
}

/// Hosmer-Lemeshow goodness-of-fit test with `g` groups (see module docs for the rule).
pub fn hosmer_lemeshow(y: &[f64], p: &[f64], g: usize) -> Result<HosmerLemeshow> {
    check(y, p)?;
    if g < 3 {
        return Err(StatsError::InvalidInput("Hosmer-Lemeshow needs g >= 3".into()));
    }
    let mut sorted = p.to_vec();
    sorted.sort_by(f64::total_cmp);
    let by = 1.0 / g as f64;
    let mut breaks: Vec<f64> = (0..=g).map(|i| quantile_type7_sorted(&sorted, (i as f64 * by).min(1.0))).collect();
    breaks.dedup();
    let k = breaks.len() - 1;
    if k == 0 {
        return Err(StatsError::NotEnoughData("all predicted probabilities are equal".into()));
    }
    let mut groups: Vec<HlGroup> = (0..k)
        .map(|j| {
            let lb = if j == 0 { "[" } else { "(" };
            HlGroup {
                interval: format!("{lb}{},{}]", fmt_g(breaks[j], 3), fmt_g(breaks[j + 1], 3)),
                n: 0,
                obs1: 0.0,
                exp1: 0.0,
                obs0: 0.0,
                exp0: 0.0,
            }
        })
        .collect();
    let mut which = Vec::with_capacity(p.len());
    for (&yi, &pi) in y.iter().zip(p) {
        // first j with p <= breaks[j+1]; the first interval is closed on the left
        let j = breaks[1..].partition_point(|b| *b < pi).min(k - 1);
        let gr = &mut groups[j];
        gr.n += 1;
        gr.obs1 += yi;
        gr.obs0 += 1.0 - yi;
        gr.exp1 += pi;
        gr.exp0 += 1.0 - pi;
        which.push(j + 1);
    }
    let chisq: f64 = groups.iter().map(|g| (g.obs1 - g.exp1).powi(2) / g.exp1).sum::<f64>()
        + groups.iter().map(|g| (g.obs0 - g.exp0).powi(2) / g.exp0).sum::<f64>();
    let df = g as f64 - 2.0;
    Ok(HosmerLemeshow { g, chisq, df, p: pchisq_upper(chisq, df), breaks, groups, group_of_each_obs: which })
}

/// One bin of a calibration curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationBin {
    /// Observations.
    pub n: usize,
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed event rate.
    pub observed: f64,
    /// Wilson 95% CI of the observed rate, lower.
    pub ci_low: f64,
    /// Upper.
    pub ci_high: f64,
}

/// Binned calibration curve with `bins` equal-count groups of the sorted predictions.
pub fn calibration_curve(y: &[f64], p: &[f64], bins: usize) -> Result<Vec<CalibrationBin>> {
    check(y, p)?;
    let bins = bins.max(1).min(y.len());
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let n = y.len();
    let z = 1.959963984540054;
    Ok((0..bins)
        .map(|b| {
            let lo = b * n / bins;
            let hi = (b + 1) * n / bins;
            let m = (hi - lo) as f64;
            let obs = idx[lo..hi].iter().map(|&i| y[i]).sum::<f64>() / m;
            let mp = idx[lo..hi].iter().map(|&i| p[i]).sum::<f64>() / m;
            let den = 1.0 + z * z / m;
            let centre = (obs + z * z / (2.0 * m)) / den;
            let half = z * (obs * (1.0 - obs) / m + z * z / (4.0 * m * m)).sqrt() / den;
            CalibrationBin {
                n: hi - lo,
                mean_predicted: mp,
                observed: obs,
                ci_low: centre - half,
                ci_high: centre + half,
            }
        })
        .collect())
}

/// Decision-curve point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetBenefit {
    /// Threshold probability.
    pub threshold: f64,
    /// Net benefit of the model: TP/n - FP/n * pt/(1-pt) (positive if p >= pt).
    pub model: f64,
    /// Net benefit of treating everyone.
    pub treat_all: f64,
    /// Treat none (always 0).
    pub treat_none: f64,
}

/// Decision-curve analysis (Vickers & Elkin 2006).
pub fn net_benefit(y: &[f64], p: &[f64], thresholds: &[f64]) -> Result<Vec<NetBenefit>> {
    check(y, p)?;
    let n = y.len() as f64;
    let prev = y.iter().sum::<f64>() / n;
    thresholds
        .iter()
        .map(|&t| {
            if !(0.0..1.0).contains(&t) {
                return Err(StatsError::InvalidInput(format!("threshold {t} outside [0,1)")));
            }
            let w = t / (1.0 - t);
            let (mut tp, mut fp) = (0.0, 0.0);
            for (&yi, &pi) in y.iter().zip(p) {
                if pi >= t {
                    if yi == 1.0 { tp += 1.0 } else { fp += 1.0 }
                }
            }
            Ok(NetBenefit {
                threshold: t,
                model: tp / n - fp / n * w,
                treat_all: prev - (1.0 - prev) * w,
                treat_none: 0.0,
            })
        })
        .collect()
}

/// AUC (= C) by mid-ranks, O(n log n).
pub fn auc_ranks(y: &[f64], score: &[f64]) -> f64 {
    let (r, _) = crate::describe::midranks(score);
    let n1 = y.iter().filter(|v| **v == 1.0).count() as f64;
    let n0 = y.len() as f64 - n1;
    let s: f64 = r.iter().zip(y).filter(|(_, v)| **v == 1.0).map(|(r, _)| r).sum();
    (s - n1 * (n1 + 1.0) / 2.0) / (n1 * n0)
}

/// `rms::val.prob` indexes (without the lowess-based Emax/E90/Eavg).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValProb {
    /// Somers' Dxy = 2 (C - 0.5).
    pub dxy: f64,
    /// C (ROC area).
    pub c: f64,
    /// Nagelkerke R2.
    pub r2: f64,
    /// Discrimination index D.
    pub d: f64,
    /// D chi-square.
    pub d_chisq: f64,
    /// Unreliability index U.
    pub u: f64,
    /// U chi-square (2 df).
    pub u_chisq: f64,
    /// p of U.
    pub u_p: f64,
    /// Quality index Q = D - U.
    pub q: f64,
    /// Brier score.
    pub brier: f64,
    /// Recalibration intercept.
    pub intercept: f64,
    /// Recalibration slope.
    pub slope: f64,
    /// Spiegelhalter z.
    pub s_z: f64,
    /// Its p.
    pub s_p: f64,
}

/// `rms::val.prob(p, y)` statistics.
pub fn val_prob(y: &[f64], p: &[f64]) -> Result<ValProb> {
    check(y, p)?;
    let n = y.len() as f64;
    let lp: Vec<f64> = p.iter().map(|&v| logit(v)).collect();
    let ybar = y.iter().sum::<f64>() / n;
    let l0 = -2.0 * y.iter().map(|&v| if v == 1.0 { ybar.ln() } else { (1.0 - ybar).ln() }).sum::<f64>();
    let l01 = -2.0 * y.iter().zip(&lp).map(|(&yi, &l)| yi * l - (1.0 + l.exp()).ln()).sum::<f64>();
    let cal = calibration(y, p)?;
    let mut x = Vec::with_capacity(2 * y.len());
    for v in &lp {
        x.push(1.0);
        x.push(*v);
    }
    let f = irls_logistic(&x, y.len(), 2, y, None, None, &GlmControl::tight())?;
    let d_chisq = l0 - l01;
    let u_chisq = l01 - f.deviance;
    let d = (d_chisq - 1.0) / n;
    let u = (u_chisq - 2.0) / n;
    let c = auc_ranks(y, p);
    let num: f64 = y.iter().zip(p).map(|(&yi, &pi)| (yi - pi) * (1.0 - 2.0 * pi)).sum();
    let den: f64 = p.iter().map(|&pi| (1.0 - 2.0 * pi).powi(2) * pi * (1.0 - pi)).sum::<f64>().sqrt();
    let s_z = num / den;
    Ok(ValProb {
        dxy: 2.0 * (c - 0.5),
        c,
        r2: (1.0 - (-d_chisq / n).exp()) / (1.0 - (-l0 / n).exp()),
        d,
        d_chisq,
        u,
        u_chisq,
        u_p: pchisq_upper(u_chisq, 2.0),
        q: d - u,
        brier: cal.brier,
        intercept: f.coef[0],
        slope: f.coef[1],
        s_z,
        s_p: p_two_sided_normal(s_z),
    })
}
