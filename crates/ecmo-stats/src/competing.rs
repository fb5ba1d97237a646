//! Competing risks (cmprsk 2.2 conventions): the cumulative incidence function of each cause
//! (Aalen-Johansen; without covariates the same as `cmprsk::cuminc`) with the variance
//! `cuminc` reports and log(-log) CIs, Gray's (1988) K-sample test, and Fine-Gray
//! subdistribution-hazard regression (`cmprsk::crr`, one censoring group, no time-varying
//! covariates) with the sandwich variance that accounts for the estimated censoring
//! distribution.
//!
//! Causes are coded `0` = censored, `1..=K` = cause of failure. Written by hand after the
//! published estimators (Gray 1988; Fine & Gray 1999) and checked against cmprsk's output
//! (`tests/golden/competing_risks.R`); the Fine-Gray risk-set sums, score residuals and the
//! censoring term use prefix/suffix sums, O(n p^2) where crr's loops are O(n^2) or more.

use crate::dist::{p_two_sided_normal, pchisq_upper, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, chol_inverse, cholesky, quad_form_inv};
use serde::Serialize;

fn check(time: &[f64], cause: &[u32]) -> Result<()> {
    if time.len() != cause.len() {
        return Err(StatsError::DimensionMismatch("time and cause differ in length".into()));
    }
    if time.is_empty() {
        return Err(StatsError::NotEnoughData("no observations".into()));
    }
    if let Some(i) = time.iter().position(|t| !t.is_finite() || *t < 0.0) {
        return Err(StatsError::InvalidInput(format!("row {}: time {} must be finite and >= 0", i + 1, time[i])));
    }
    Ok(())
}

/// Indices ordered by time (stable, as R's `order`).
fn by_time(time: &[f64]) -> Vec<usize> {
    // follow-up times are usually rounded (days, tenths of days): count the rows at each
    // distinct time in a hash table and place them (a stable counting sort); many distinct
    // times are radix-sorted instead. Keys are the bits, so the order is `total_cmp`'s.
    let mut d = crate::roc::Distinct::new();
    let mut ids = Vec::with_capacity(time.len());
    for &t in time {
        match d.id(t.to_bits()) {
            Some(id) => {
                d.counts[id as usize][0] += 1;
                ids.push(id);
            }
            None => return crate::radix::order_ascending(time),
        }
    }
    let mut by_value: Vec<usize> = (0..d.keys.len()).collect();
    by_value.sort_unstable_by(|&a, &b| f64::from_bits(d.keys[a]).total_cmp(&f64::from_bits(d.keys[b])));
    let mut next = vec![0usize; d.keys.len()];
    let mut start = 0;
    for &id in &by_value {
        next[id] = start;
        start += d.counts[id][0] as usize;
    }
    let mut order = vec![0usize; time.len()];
    for (row, &id) in ids.iter().enumerate() {
        order[next[id as usize]] = row;
        next[id as usize] += 1;
    }
    order
}

/// Ranges of equal times in sorted order.
fn tie_groups(sorted_time: &[f64]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut lo = 0;
    for i in 1..=sorted_time.len() {
        if i == sorted_time.len() || sorted_time[i] != sorted_time[lo] {
            out.push((lo, i));
            lo = i;
        }
    }
    out
}

/// One step of a cumulative incidence curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CifPoint {
    /// Time of a failure from this cause.
    pub time: f64,
    /// Subjects at risk just before `time`.
    pub n_risk: usize,
    /// Failures from this cause at `time`.
    pub n_event: usize,
    /// Cumulative incidence after the jump.
    pub estimate: f64,
    /// Variance as `cmprsk::cuminc` (Gray's delta-method estimator).
    pub variance: f64,
    /// Standard error.
    pub se: f64,
    /// log(-log) CI lower limit: `F^exp(-z se/(F log F))` reversed (Pintilie 2006).
    pub ci_low: f64,
    /// CI upper limit.
    pub ci_high: f64,
}

/// The cumulative incidence of one cause in one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CifCurve {
    /// Group label (`"all"` without groups).
    pub group: String,
    /// Cause code.
    pub cause: u32,
    /// Cause label.
    pub cause_name: String,
    /// Subjects in the group.
    pub n: usize,
    /// Failures from this cause in the group.
    pub events: usize,
    /// One point per distinct failure time of the cause.
    pub points: Vec<CifPoint>,
}

impl CifCurve {
    /// Cumulative incidence and variance at time `t` (right-continuous step function).
    pub fn at(&self, t: f64) -> (f64, f64) {
        let k = self.points.partition_point(|p| p.time <= t);
        if k == 0 { (0.0, 0.0) } else { (self.points[k - 1].estimate, self.points[k - 1].variance) }
    }
}

fn loglog_ci(f: f64, se: f64, z: f64) -> (f64, f64) {
    if !(f > 0.0 && f < 1.0 && se > 0.0) {
        return (f, f);
    }
    let a = z * se / (f * f.ln());
    (f.powf((-a).exp()), f.powf(a.exp()))
}

/// Cumulative incidence of `cause_k` on one group's data, sorted by time.
/// `ties`: the ranges of equal times ([`tie_groups`]).
fn cif_one(t: &[f64], c: &[u32], ties: &[(usize, usize)], cause_k: u32, level: f64) -> Vec<CifPoint> {
    let z = qnorm(1.0 - (1.0 - level) / 2.0);
    let n = t.len();
    let (mut surv, mut f) = (1.0f64, 0.0f64);
    let (mut v1, mut v2, mut v3) = (0.0f64, 0.0f64, 0.0f64);
    let mut at_risk = n as f64;
    let mut out = Vec::new();
    for &(lo, hi) in ties {
        let nd1 = c[lo..hi].iter().filter(|&&x| x == cause_k).count() as f64;
        let nd2 = c[lo..hi].iter().filter(|&&x| x != 0 && x != cause_k).count() as f64;
        if nd1 + nd2 > 0.0 {
            let surv_next = surv * (at_risk - nd1 - nd2) / at_risk;
            if nd1 > 0.0 {
                f += surv * nd1 / at_risk;
            }
            // competing failures: they change S and hence every later increment of F
            if nd2 > 0.0 && surv_next > 0.0 {
                let tie = if nd2 > 1.0 { 1.0 - (nd2 - 1.0) / (at_risk - 1.0) } else { 1.0 };
                let w = surv * surv * tie * nd2 / (at_risk * at_risk);
                let (a, b) = (1.0 / surv_next, f / surv_next);
                v1 += b * b * w;
                v2 += a * b * w;
                v3 += a * a * w;
            }
            if nd1 > 0.0 {
                let tie = if nd1 > 1.0 { 1.0 - (nd1 - 1.0) / (at_risk - 1.0) } else { 1.0 };
                let w = surv * surv * tie * nd1 / (at_risk * at_risk);
                let a = if surv_next > 0.0 { 1.0 / surv_next } else { 0.0 };
                let b = 1.0 + a * f;
                v1 += b * b * w;
                v2 += a * b * w;
                v3 += a * a * w;
                let variance = v1 + f * f * v3 - 2.0 * f * v2;
                let se = variance.max(0.0).sqrt();
                let (ci_low, ci_high) = loglog_ci(f, se, z);
                out.push(CifPoint {
                    time: t[lo],
                    n_risk: at_risk as usize,
                    n_event: nd1 as usize,
                    estimate: f,
                    variance,
                    se,
                    ci_low,
                    ci_high,
                });
            }
            surv = surv_next;
        }
        at_risk = (n - hi) as f64;
    }
    out
}

/// Gray's test of equal cumulative incidence of one cause across groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrayTest {
    /// Cause code.
    pub cause: u32,
    /// Cause label.
    pub cause_name: String,
    /// Chi-square statistic.
    pub statistic: f64,
    /// Degrees of freedom (groups - 1).
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// Scores of the first `groups - 1` groups.
    pub scores: Vec<f64>,
    /// Their covariance.
    pub covariance: Matrix,
}

/// Gray's (1988) test, one stratum, weight `(1 - F(t-))^rho` (cmprsk's `rho`, default 0).
/// `mm`: 0 censored, 1 cause of interest, 2 other cause; `gg`: group 0..ng; sorted by time.
/// `ties`: the ranges of equal times ([`tie_groups`]).
fn gray_scores(ties: &[(usize, usize)], mm: &[u8], gg: &[usize], ng: usize, rho: f64) -> (Vec<f64>, Vec<f64>) {
    let ng1 = ng - 1;
    let mut rs = vec![0.0f64; ng];
    for &k in gg {
        rs[k] += 1.0;
    }
    let mut f1m = vec![0.0; ng];
    let mut f1 = vec![0.0; ng];
    let mut skmm = vec![1.0; ng];
    let mut skm = vec![1.0; ng];
    let mut v3 = vec![0.0; ng];
    let mut v2 = vec![0.0; ng1 * ng];
    let mut c = vec![0.0; ng * ng];
    let mut a = vec![0.0; ng * ng];
    let mut s = vec![0.0; ng1];
    let mut v = vec![0.0; ng1 * ng1];
    let mut fm = 0.0f64;
    for &(lo, hi) in ties {
        let mut d = vec![[0.0f64; 3]; ng];
        for i in lo..hi {
            d[gg[i]][mm[i] as usize] += 1.0;
        }
        let nd1: f64 = d.iter().map(|x| x[1]).sum();
        let nd2: f64 = d.iter().map(|x| x[2]).sum();
        if nd1 > 0.0 || nd2 > 0.0 {
            let (mut tr, mut tq) = (0.0, 0.0);
            for i in 0..ng {
                if rs[i] <= 0.0 {
                    continue;
                }
                let td = d[i][1] + d[i][2];
                skm[i] = skmm[i] * (rs[i] - td) / rs[i];
                f1[i] = f1m[i] + skmm[i] * d[i][1] / rs[i];
                tr += rs[i] / skmm[i];
                tq += rs[i] * (1.0 - f1m[i]) / skmm[i];
            }
            let f = fm + nd1 / tr;
            let fb = (1.0 - fm).powf(rho);
            for i in 0..ng {
                for j in i..ng {
                    a[i * ng + j] = 0.0;
                }
                if rs[i] <= 0.0 {
                    continue;
                }
                let t1 = rs[i] / skmm[i];
                a[i * ng + i] = fb * t1 * (1.0 - t1 / tr);
                c[i * ng + i] += a[i * ng + i] * nd1 / (tr * (1.0 - fm));
                for j in i + 1..ng {
                    if rs[j] <= 0.0 {
                        continue;
                    }
                    a[i * ng + j] = -fb * t1 * rs[j] / (skmm[j] * tr);
                    c[i * ng + j] += a[i * ng + j] * nd1 / (tr * (1.0 - fm));
                }
            }
            for i in 1..ng {
                for j in 0..i {
                    a[i * ng + j] = a[j * ng + i];
                    c[i * ng + j] = c[j * ng + i];
                }
            }
            for i in 0..ng1 {
                if rs[i] > 0.0 {
                    s[i] += fb * (d[i][1] - nd1 * rs[i] * (1.0 - f1m[i]) / (skmm[i] * tq));
                }
            }
            if nd1 > 0.0 {
                for k in 0..ng {
                    if rs[k] <= 0.0 {
                        continue;
                    }
                    let t4 = if skm[k] > 0.0 { 1.0 - (1.0 - f) / skm[k] } else { 1.0 };
                    let t5 = if nd1 > 1.0 { 1.0 - (nd1 - 1.0) / (tr * skmm[k] - 1.0) } else { 1.0 };
                    let t3 = t5 * skmm[k] * nd1 / (tr * rs[k]);
                    v3[k] += t4 * t4 * t3;
                    for i in 0..ng1 {
                        let t1 = a[i * ng + k] - t4 * c[i * ng + k];
                        v2[i * ng + k] += t1 * t4 * t3;
                        for j in 0..=i {
                            let t2 = a[j * ng + k] - t4 * c[j * ng + k];
                            v[i * ng1 + j] += t1 * t2 * t3;
                        }
                    }
                }
            }
            if nd2 > 0.0 {
                for k in 0..ng {
                    if skm[k] <= 0.0 || d[k][2] <= 0.0 {
                        continue;
                    }
                    let t4 = (1.0 - f) / skm[k];
                    let t5 = if d[k][2] > 1.0 { 1.0 - (d[k][2] - 1.0) / (rs[k] - 1.0) } else { 1.0 };
                    let t3 = t5 * skmm[k] * skmm[k] * d[k][2] / (rs[k] * rs[k]);
                    v3[k] += t4 * t4 * t3;
                    for i in 0..ng1 {
                        let t1 = t4 * c[i * ng + k];
                        v2[i * ng + k] -= t1 * t4 * t3;
                        for j in 0..=i {
                            let t2 = t4 * c[j * ng + k];
                            v[i * ng1 + j] += t1 * t2 * t3;
                        }
                    }
                }
            }
            fm = f;
        }
        for i in lo..hi {
            rs[gg[i]] -= 1.0;
        }
        f1m.copy_from_slice(&f1);
        skmm.copy_from_slice(&skm);
    }
    for i in 0..ng1 {
        for j in 0..=i {
            for k in 0..ng {
                v[i * ng1 + j] += c[i * ng + k] * c[j * ng + k] * v3[k]
                    + c[i * ng + k] * v2[j * ng + k]
                    + c[j * ng + k] * v2[i * ng + k];
            }
            v[j * ng1 + i] = v[i * ng1 + j];
        }
    }
    (s, v)
}

/// Cumulative incidence curves and, with several groups, Gray's tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CumulativeIncidence {
    /// Method note.
    pub method: String,
    /// Observations.
    pub n: usize,
    /// Censored observations.
    pub censored: usize,
    /// Confidence level of the CIs.
    pub level: f64,
    /// One curve per group and cause (groups outer, causes inner).
    pub curves: Vec<CifCurve>,
    /// Gray's test per cause (empty with one group).
    pub tests: Vec<GrayTest>,
}

/// Cumulative incidence of every cause (codes 1..=K; 0 = censored) per group, with Gray's test
/// (`rho` = 0 is cmprsk's default) per cause when there are several groups. `cause_names[k-1]`
/// labels cause k; `group` = (code per row, labels).
pub fn cumulative_incidence(
    time: &[f64],
    cause: &[u32],
    cause_names: &[String],
    group: Option<(&[usize], &[String])>,
    rho: f64,
    level: f64,
) -> Result<CumulativeIncidence> {
    check(time, cause)?;
    let k_max = cause.iter().copied().max().unwrap_or(0);
    if k_max == 0 {
        return Err(StatsError::NotEnoughData("no failures: every observation is censored".into()));
    }
    if cause_names.len() < k_max as usize {
        return Err(StatsError::InvalidInput(format!("cause {k_max} has no name")));
    }
    let causes: Vec<u32> = (1..=k_max).filter(|k| cause.contains(k)).collect();
    let n = time.len();
    let all = vec!["all".to_string()];
    let (codes, labels): (Option<&[usize]>, &[String]) = match group {
        Some((g, l)) => {
            if g.len() != n {
                return Err(StatsError::DimensionMismatch("group and time differ in length".into()));
            }
            if let Some(i) = g.iter().position(|&x| x >= l.len()) {
                return Err(StatsError::InvalidInput(format!("row {}: group code without a label", i + 1)));
            }
            (Some(g), l)
        }
        None => (None, &all),
    };
    // one stable sort by time serves every group, cause and test; the rows are then read in
    // that order once, so everything after works on contiguous sorted arrays
    let order = by_time(time);
    let t: Vec<f64> = order.iter().map(|&i| time[i]).collect();
    let c: Vec<u32> = order.iter().map(|&i| cause[i]).collect();
    let mut size = vec![0usize; labels.len()];
    match codes {
        Some(codes) => codes.iter().for_each(|&k| size[k] += 1),
        None => size[0] = n,
    }
    // groups without rows are left out, as cuminc does; `index[label]` = position among them
    let present: Vec<usize> = (0..labels.len()).filter(|&k| size[k] > 0).collect();
    let mut index = vec![0usize; labels.len()];
    for (p, &k) in present.iter().enumerate() {
        index[k] = p;
    }
    // per sorted row: position of its group among the present ones
    let g: Vec<usize> = match codes {
        Some(codes) if present.len() > 1 => order.iter().map(|&i| index[codes[i]]).collect(),
        _ => Vec::new(),
    };
    drop(order);
    let curves_of = || -> Vec<CifCurve> {
        let mut curves = Vec::new();
        for (p, &gi) in present.iter().enumerate() {
            let (mut tg, mut cg) = (Vec::new(), Vec::new());
            if present.len() > 1 {
                (tg, cg) = (Vec::with_capacity(size[gi]), Vec::with_capacity(size[gi]));
                for ((&k, &a), &b) in g.iter().zip(&t).zip(&c) {
                    if k == p {
                        tg.push(a);
                        cg.push(b);
                    }
                }
            }
            let (tg, cg) = if present.len() == 1 { (&t[..], &c[..]) } else { (&tg[..], &cg[..]) };
            let ties = tie_groups(tg);
            for &k in &causes {
                curves.push(CifCurve {
                    group: labels[gi].clone(),
                    cause: k,
                    cause_name: cause_names[k as usize - 1].clone(),
                    n: tg.len(),
                    events: cg.iter().filter(|&&x| x == k).count(),
                    points: cif_one(tg, cg, &ties, k, level),
                });
            }
        }
        curves
    };
    let tests_of = || -> Vec<GrayTest> {
        let mut tests = Vec::new();
        if present.len() < 2 {
            return tests;
        }
        let ng = present.len();
        let ties = tie_groups(&t);
        for &k in &causes {
            // 0 censored, 1 this cause, 2 another cause
            let m: Vec<u8> = c.iter().map(|&x| (x != 0) as u8 + (x != 0 && x != k) as u8).collect();
            let (s, v) = gray_scores(&ties, &m, &g, ng, rho);
            let q = ng - 1;
            let statistic = quad_form_inv(&v, q, &s).unwrap_or(f64::NAN);
            tests.push(GrayTest {
                cause: k,
                cause_name: cause_names[k as usize - 1].clone(),
                statistic,
                df: q as f64,
                p: pchisq_upper(statistic, q as f64),
                scores: s,
                covariance: Matrix { nrow: q, ncol: q, data: v },
            });
        }
        tests
    };
    // the curves and the tests are independent: two threads for large data
    let (curves, tests) = if n >= 100_000 {
        std::thread::scope(|sc| {
            let h = sc.spawn(tests_of);
            let curves = curves_of();
            (curves, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        })
    } else {
        (curves_of(), tests_of())
    };
    Ok(CumulativeIncidence {
        method: "Aalen-Johansen cumulative incidence with cmprsk::cuminc variance; log(-log) CIs; Gray's test".into(),
        n,
        censored: cause.iter().filter(|&&c| c == 0).count(),
        level,
        curves,
        tests,
    })
}

/// A Fine-Gray coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FineGrayCoefficient {
    /// Covariate.
    pub term: String,
    /// Log subdistribution hazard ratio.
    pub coef: f64,
    /// Subdistribution hazard ratio exp(coef).
    pub shr: f64,
    /// Robust (sandwich) SE, as crr.
    pub se: f64,
    /// z.
    pub z: f64,
    /// Two-sided p.
    pub p: f64,
    /// CI of the SHR, lower.
    pub ci_low: f64,
    /// CI of the SHR, upper.
    pub ci_high: f64,
}

/// A Fine-Gray model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FineGray {
    /// Method note.
    pub method: String,
    /// Cause modelled.
    pub cause: u32,
    /// Observations.
    pub n: usize,
    /// Failures from the cause.
    pub events: usize,
    /// Failures from other causes.
    pub competing: usize,
    /// Censored.
    pub censored: usize,
    /// Coefficients.
    pub coefficients: Vec<FineGrayCoefficient>,
    /// Sandwich covariance.
    pub vcov: Matrix,
    /// Model-based covariance (inverse information).
    pub vcov_naive: Matrix,
    /// Pseudo log-likelihood at the estimate.
    pub loglik: f64,
    /// At zero.
    pub loglik_null: f64,
    /// Newton iterations.
    pub iterations: usize,
    /// Converged (crr's rule)?
    pub converged: bool,
}

/// Sorted data and the fixed parts of the Fine-Gray likelihood.
struct FgData {
    n: usize,
    p: usize,
    t: Vec<f64>,
    /// 0 censored, 1 cause of interest, 2 other cause.
    m: Vec<u8>,
    x: Vec<f64>,
    /// G(t_i-): Kaplan-Meier of the censoring distribution just before t_i.
    g: Vec<f64>,
    groups: Vec<(usize, usize)>,
}

/// Per failure time: d, S0, S1, S2 (row-major p x p), G(t-).
struct RiskSums {
    time_idx: Vec<usize>,
    d: Vec<f64>,
    s0: Vec<f64>,
    s1: Vec<Vec<f64>>,
    s2: Vec<Vec<f64>>,
}

impl FgData {
    fn eta(&self, b: &[f64]) -> Vec<f64> {
        (0..self.n).map(|i| (0..self.p).map(|j| self.x[i * self.p + j] * b[j]).sum()).collect()
    }

    /// Risk-set sums at each failure time: subjects still under observation (weight 1) plus
    /// earlier failures from other causes, weighted G(t-)/G(T_j-).
    fn sums(&self, b: &[f64], second: bool) -> (RiskSums, Vec<f64>) {
        let (n, p) = (self.n, self.p);
        let eta = self.eta(b);
        let e: Vec<f64> = eta.iter().map(|v| v.exp()).collect();
        // suffix sums over T_j >= t
        let mut suf0 = vec![0.0; n + 1];
        let mut suf1 = vec![0.0; (n + 1) * p];
        let mut suf2 = if second { vec![0.0; (n + 1) * p * p] } else { Vec::new() };
        for i in (0..n).rev() {
            suf0[i] = suf0[i + 1] + e[i];
            for j in 0..p {
                suf1[i * p + j] = suf1[(i + 1) * p + j] + e[i] * self.x[i * p + j];
                if second {
                    for k in 0..p {
                        suf2[(i * p + j) * p + k] =
                            suf2[((i + 1) * p + j) * p + k] + e[i] * self.x[i * p + j] * self.x[i * p + k];
                    }
                }
            }
        }
        let mut out = RiskSums { time_idx: Vec::new(), d: Vec::new(), s0: Vec::new(), s1: Vec::new(), s2: Vec::new() };
        // prefix sums over earlier other-cause failures, weighted 1/G(T_j-)
        let mut pre0 = 0.0;
        let mut pre1 = vec![0.0; p];
        let mut pre2 = vec![0.0; if second { p * p } else { 0 }];
        for &(lo, hi) in &self.groups {
            let d = self.m[lo..hi].iter().filter(|&&v| v == 1).count() as f64;
            if d > 0.0 {
                let gt = self.g[lo];
                out.time_idx.push(lo);
                out.d.push(d);
                out.s0.push(suf0[lo] + gt * pre0);
                out.s1.push((0..p).map(|j| suf1[lo * p + j] + gt * pre1[j]).collect());
                if second {
                    out.s2.push((0..p * p).map(|q| suf2[lo * p * p + q] + gt * pre2[q]).collect());
                }
            }
            for i in lo..hi {
                if self.m[i] == 2 {
                    let w = e[i] / self.g[i];
                    pre0 += w;
                    for j in 0..p {
                        pre1[j] += w * self.x[i * p + j];
                        if second {
                            for k in 0..p {
                                pre2[j * p + k] += w * self.x[i * p + j] * self.x[i * p + k];
                            }
                        }
                    }
                }
            }
        }
        (out, eta)
    }

    /// crr's objective (minus the log pseudo-likelihood), score and information.
    fn objective(&self, b: &[f64], derivs: bool) -> (f64, Vec<f64>, Vec<f64>) {
        let p = self.p;
        let (rs, eta) = self.sums(b, derivs);
        let mut lik = 0.0;
        let mut s = vec![0.0; p];
        let mut h = vec![0.0; p * p];
        for i in 0..self.n {
            if self.m[i] == 1 {
                lik -= eta[i];
                for j in 0..p {
                    s[j] -= self.x[i * p + j];
                }
            }
        }
        for k in 0..rs.d.len() {
            let (d, s0) = (rs.d[k], rs.s0[k]);
            lik += d * s0.ln();
            if derivs {
                for j in 0..p {
                    s[j] += d * rs.s1[k][j] / s0;
                    for l in 0..p {
                        h[j * p + l] += d * (rs.s2[k][j * p + l] / s0 - rs.s1[k][j] * rs.s1[k][l] / (s0 * s0));
                    }
                }
            }
        }
        (lik, s, h)
    }
}

/// Fine-Gray regression of the subdistribution hazard of `cause_k`. `x` is n x p row-major
/// (no intercept). Newton-Raphson from 0 with crr's step-halving line search and stopping
/// rule (`gtol` 1e-6, at most 10 iterations), so estimates agree with crr's printed ones.
pub fn fine_gray(
    time: &[f64],
    cause: &[u32],
    cause_k: u32,
    x: &[f64],
    names: &[String],
    level: f64,
) -> Result<FineGray> {
    check(time, cause)?;
    let n = time.len();
    let p = names.len();
    if x.len() != n * p {
        return Err(StatsError::DimensionMismatch("covariate matrix does not match names and rows".into()));
    }
    if p == 0 {
        return Err(StatsError::InvalidInput("no covariates".into()));
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::InvalidInput("covariates must be finite (drop missing rows first)".into()));
    }
    let events = cause.iter().filter(|&&c| c == cause_k).count();
    if events == 0 {
        return Err(StatsError::NotEnoughData(format!("no failures from cause {cause_k}")));
    }
    let o = by_time(time);
    let t: Vec<f64> = o.iter().map(|&i| time[i]).collect();
    let m: Vec<u8> = o
        .iter()
        .map(|&i| {
            if cause[i] == 0 {
                0
            } else if cause[i] == cause_k {
                1
            } else {
                2
            }
        })
        .collect();
    let xs: Vec<f64> = o.iter().flat_map(|&i| x[i * p..(i + 1) * p].iter().copied()).collect();
    let groups = tie_groups(&t);
    // censoring Kaplan-Meier, just before each time
    let mut g = vec![1.0; n];
    let mut gk = 1.0f64;
    for &(lo, hi) in &groups {
        for gi in g.iter_mut().take(hi).skip(lo) {
            *gi = gk;
        }
        let cens = m[lo..hi].iter().filter(|&&v| v == 0).count() as f64;
        gk *= 1.0 - cens / (n - lo) as f64;
    }
    let data = FgData { n, p, t, m, x: xs, g, groups };
    let (gtol, maxiter) = (1e-6, 10);
    let mut b = vec![0.0; p];
    let loglik_null = -data.objective(&b, false).0;
    let mut converged = false;
    let mut iterations = 0;
    for ll in 0..=maxiter {
        iterations = ll;
        let (f, s, h) = data.objective(&b, true);
        let crit = s.iter().zip(&b).map(|(sj, bj)| sj.abs() * bj.abs().max(1.0)).fold(0.0f64, f64::max);
        if crit < f.abs().max(1.0) * gtol {
            converged = true;
            break;
        }
        if ll == maxiter {
            break;
        }
        let mut l = h.clone();
        cholesky(&mut l, p, 1e-12)?;
        let mut sc = s.clone();
        crate::linalg::chol_solve(&l, p, &mut sc);
        sc.iter_mut().for_each(|v| *v = -*v);
        let slope: f64 = sc.iter().zip(&s).map(|(a, b)| a * b).sum();
        let mut bn: Vec<f64> = b.iter().zip(&sc).map(|(a, c)| a + c).collect();
        let mut fbn = data.objective(&bn, false).0;
        let mut halvings = 0;
        let mut failed = false;
        let mut step_slope = slope;
        while fbn.is_nan() || fbn > f + 1e-4 * step_slope {
            halvings += 1;
            sc.iter_mut().for_each(|v| *v *= 0.5);
            step_slope *= 0.5;
            bn = b.iter().zip(&sc).map(|(a, c)| a + c).collect();
            fbn = data.objective(&bn, false).0;
            if halvings > 20 {
                failed = true;
                break;
            }
        }
        if failed {
            break;
        }
        b = bn;
    }
    let (lik, _, info) = data.objective(&b, true);
    let mut l = info.clone();
    cholesky(&mut l, p, 1e-12)?;
    let hinv = chol_inverse(&l, p);
    let v2 = score_residual_crossproduct(&data, &b);
    // sandwich h^-1 v2 h^-1
    let mut tmp = vec![0.0; p * p];
    let mut vc = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..p {
            tmp[i * p + j] = (0..p).map(|k| hinv[i * p + k] * v2[k * p + j]).sum();
        }
    }
    for i in 0..p {
        for j in 0..p {
            vc[i * p + j] = (0..p).map(|k| tmp[i * p + k] * hinv[k * p + j]).sum();
        }
    }
    let zc = qnorm(1.0 - (1.0 - level) / 2.0);
    let coefficients = (0..p)
        .map(|j| {
            let se = vc[j * p + j].sqrt();
            let z = b[j] / se;
            FineGrayCoefficient {
                term: names[j].clone(),
                coef: b[j],
                shr: b[j].exp(),
                se,
                z,
                p: p_two_sided_normal(z),
                ci_low: (b[j] - zc * se).exp(),
                ci_high: (b[j] + zc * se).exp(),
            }
        })
        .collect();
    Ok(FineGray {
        method: "Fine-Gray subdistribution hazards (as cmprsk::crr): IPCW risk sets, sandwich variance".into(),
        cause: cause_k,
        n,
        events,
        competing: cause.iter().filter(|&&c| c != 0 && c != cause_k).count(),
        censored: cause.iter().filter(|&&c| c == 0).count(),
        coefficients,
        vcov: Matrix { nrow: p, ncol: p, data: vc },
        vcov_naive: Matrix { nrow: p, ncol: p, data: hinv },
        loglik: -lik,
        loglik_null,
        iterations,
        converged,
    })
}

/// `sum_i (eta_i + psi_i)(eta_i + psi_i)'`: eta_i the score residual of subject i, psi_i the
/// term for the estimated censoring distribution (Fine & Gray 1999, section 3).
fn score_residual_crossproduct(d: &FgData, b: &[f64]) -> Vec<f64> {
    let (n, p) = (d.n, d.p);
    let (rs, eta) = d.sums(b, false);
    let e: Vec<f64> = eta.iter().map(|v| v.exp()).collect();
    let nf = rs.d.len();
    let xbar: Vec<Vec<f64>> = (0..nf).map(|k| rs.s1[k].iter().map(|v| v / rs.s0[k]).collect()).collect();
    let ft: Vec<f64> = rs.time_idx.iter().map(|&i| d.t[i]).collect();
    let gf: Vec<f64> = rs.time_idx.iter().map(|&i| d.g[i]).collect();
    // prefix over failure times u <= t: sum d/S0 and d xbar/S0
    let mut p0 = vec![0.0; nf + 1];
    let mut p1 = vec![0.0; (nf + 1) * p];
    for k in 0..nf {
        p0[k + 1] = p0[k] + rs.d[k] / rs.s0[k];
        for j in 0..p {
            p1[(k + 1) * p + j] = p1[k * p + j] + rs.d[k] * xbar[k][j] / rs.s0[k];
        }
    }
    // suffix over failure times u >= t: sum d G(u-)/S0 and d G(u-) xbar/S0
    let mut q0 = vec![0.0; nf + 1];
    let mut q1 = vec![0.0; (nf + 1) * p];
    for k in (0..nf).rev() {
        let w = rs.d[k] * gf[k] / rs.s0[k];
        q0[k] = q0[k + 1] + w;
        for j in 0..p {
            q1[k * p + j] = q1[(k + 1) * p + j] + w * xbar[k][j];
        }
    }
    let mut v2 = vec![0.0; p * p];
    let mut r = vec![0.0; p];
    // censoring term state
    let mut a0 = 0.0; // sum over earlier other-cause failures of e/G
    let mut a1 = vec![0.0; p];
    let mut ss2 = vec![0.0; p];
    let mut qu = vec![0.0; p];
    for &(lo, hi) in &d.groups {
        let t = d.t[lo];
        let y = (n - lo) as f64;
        let upto = ft.partition_point(|u| *u <= t); // failure times <= t
        let from = ft.partition_point(|u| *u < t); // first failure time >= t
        let ncens = d.m[lo..hi].iter().filter(|&&v| v == 0).count() as f64;
        if ncens > 0.0 {
            for j in 0..p {
                qu[j] = a1[j] * q0[from] - a0 * q1[from * p + j];
                ss2[j] -= qu[j] * ncens / (y * y);
            }
        }
        for i in lo..hi {
            let xi = &d.x[i * p..(i + 1) * p];
            for j in 0..p {
                let mut v = -e[i] * (xi[j] * p0[upto] - p1[upto * p + j]);
                if d.m[i] == 1 {
                    // the failure's own time is in the prefix (k = upto - 1)
                    v += xi[j] - xbar[upto - 1][j];
                }
                if d.m[i] == 2 {
                    // later failure times u > t: suffix from `upto`
                    v -= e[i] / d.g[i] * (xi[j] * q0[upto] - q1[upto * p + j]);
                }
                v += ss2[j];
                if d.m[i] == 0 {
                    v += qu[j] / y;
                }
                r[j] = v;
            }
            for j in 0..p {
                for k in 0..p {
                    v2[j * p + k] += r[j] * r[k];
                }
            }
        }
        for i in lo..hi {
            if d.m[i] == 2 {
                let w = e[i] / d.g[i];
                a0 += w;
                for j in 0..p {
                    a1[j] += w * d.x[i * p + j];
                }
            }
        }
    }
    v2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // tied times (counting sort) and many distinct ones (radix fallback): R's stable order
        #[test]
        fn time_order_is_the_stable_order(raw in proptest::collection::vec(0u32..40, 0..400), spread in 1u32..4000) {
            let t: Vec<f64> = raw.iter().enumerate().map(|(i, &r)| (r * spread + (i as u32 % spread)) as f64 / 10.0).collect();
            let mut expected: Vec<usize> = (0..t.len()).collect();
            expected.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
            prop_assert_eq!(by_time(&t), expected);
        }
    }

    #[test]
    fn many_distinct_times_are_sorted_too() {
        let t: Vec<f64> = (0..70_000u64).map(|i| ((i * 7919) % 70_001) as f64 * 0.5).collect();
        let mut expected: Vec<usize> = (0..t.len()).collect();
        expected.sort_by(|&a, &b| t[a].total_cmp(&t[b]));
        assert_eq!(by_time(&t), expected);
    }

    #[test]
    fn without_competing_events_cif_is_one_minus_km() {
        let t = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0];
        let c = [1, 0, 1, 1, 0, 1];
        let r = cumulative_incidence(&t, &c, &["x".into()], None, 0.0, 0.95).unwrap();
        let pts = &r.curves[0].points;
        // KM: 5/6, *4/5 at 2 (one event of 5 at risk), *2/3 at 3, *0 at 5
        let km = [5.0 / 6.0, 5.0 / 6.0 * 4.0 / 5.0, 5.0 / 6.0 * 4.0 / 5.0 * 2.0 / 3.0, 0.0];
        for (p, s) in pts.iter().zip(km) {
            assert!((p.estimate - (1.0 - s)).abs() < 1e-15);
        }
    }

    #[test]
    fn all_censored_is_an_error() {
        assert!(cumulative_incidence(&[1.0, 2.0], &[0, 0], &[], None, 0.0, 0.95).is_err());
    }
}
