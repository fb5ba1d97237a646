//! Survival analysis as R's `survival` 3.5 computes it: Kaplan-Meier (`survfit`) with
//! Greenwood standard errors, log / log-log / plain CIs, median and quantiles with CIs,
//! restricted mean; the G-rho family of k-sample tests (`survdiff`: log-rank rho = 0,
//! Peto-Peto rho = 1); Cox proportional hazards (`coxph`) with Efron or Breslow ties by
//! Newton-Raphson (convergence `|1 - ll_old/ll_new| <= 1e-9`), Wald / likelihood-ratio /
//! score tests, Harrell's concordance (O(n log n), Fenwick tree) and the baseline
//! cumulative hazard.

use crate::dist::{p_two_sided_normal, pchisq_upper, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, chol_inverse, chol_solve, cholesky, quad_form_inv};
use crate::logistic::TestStat;
use serde::Serialize;

/// Confidence-interval transformation for the survival curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfType {
    /// exp(log S +/- z se) (survfit default).
    Log,
    /// S^exp(+/- z se / log S).
    LogLog,
    /// S +/- z S se.
    Plain,
}

/// One row of the Kaplan-Meier table (one per distinct observed time).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmRow {
    /// Time.
    pub time: f64,
    /// Number at risk.
    pub n_risk: f64,
    /// Events at this time.
    pub n_event: f64,
    /// Censored at this time.
    pub n_censor: f64,
    /// Survival probability.
    pub surv: f64,
    /// SE of S (= surv * std_err_cumhaz; what `summary()` prints).
    pub se: f64,
    /// survfit's `$std.err`: Greenwood SE of the cumulative hazard -log S.
    pub std_err_cumhaz: f64,
    /// Lower CI limit (NaN where undefined).
    pub lower: f64,
    /// Upper CI limit.
    pub upper: f64,
    /// Nelson-Aalen cumulative hazard.
    pub cumhaz: f64,
    /// Its standard error.
    pub std_chaz: f64,
}

/// A quantile of the survival distribution with its CI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvQuantile {
    /// Probability (0.5 = median).
    pub prob: f64,
    /// Time (None if not reached).
    pub time: Option<f64>,
    /// Lower CI limit.
    pub ci_low: Option<f64>,
    /// Upper CI limit.
    pub ci_high: Option<f64>,
}

/// Kaplan-Meier estimate for one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeier {
    /// Group label.
    pub name: String,
    /// Observations.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Median survival (None if not reached).
    pub median: Option<f64>,
    /// Median CI lower.
    pub median_ci_low: Option<f64>,
    /// Median CI upper.
    pub median_ci_high: Option<f64>,
    /// Restricted mean survival up to `rmean_endtime`.
    pub rmean: f64,
    /// Its standard error.
    pub se_rmean: f64,
    /// Upper limit of the restricted mean.
    pub rmean_endtime: f64,
    /// CI type.
    pub conf_type: ConfType,
    /// Confidence level.
    pub conf_level: f64,
    /// One row per distinct time.
    pub table: Vec<KmRow>,
}

fn validate(time: &[f64], event: &[bool]) -> Result<()> {
    if time.len() != event.len() {
        return Err(StatsError::DimensionMismatch("time and event lengths differ".into()));
    }
    if let Some(i) = time.iter().position(|t| !t.is_finite()) {
        return Err(StatsError::InvalidInput(format!("time missing or not finite at row {}", i + 1)));
    }
    if time.is_empty() {
        return Err(StatsError::NotEnoughData("no observations".into()));
    }
    Ok(())
}

/// Kaplan-Meier estimate (R `survfit(Surv(time, event) ~ 1, conf.type = ...)`).
/// `rmean_endtime`: upper limit for the restricted mean (None = largest time of this group;
/// R's printed table uses the largest time over all groups).
pub fn kaplan_meier(
    name: &str,
    time: &[f64],
    event: &[bool],
    conf_type: ConfType,
    conf_level: f64,
    rmean_endtime: Option<f64>,
) -> Result<KaplanMeier> {
    validate(time, event)?;
    let n = time.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let z = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let mut table = Vec::new();
    let mut at_risk = n as f64;
    let (mut surv, mut greenwood, mut cumhaz, mut varhaz) = (1.0f64, 0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    let mut events = 0;
    while i < n {
        let t = time[idx[i]];
        let mut j = i;
        let (mut d, mut c) = (0.0, 0.0);
        while j < n && time[idx[j]] == t {
            if event[idx[j]] {
                d += 1.0;
            } else {
                c += 1.0;
            }
            j += 1;
        }
        events += d as usize;
        if d > 0.0 {
            surv *= 1.0 - d / at_risk;
            greenwood += if at_risk > d { d / (at_risk * (at_risk - d)) } else { f64::INFINITY };
            cumhaz += d / at_risk;
            varhaz += d / (at_risk * at_risk);
        }
        let se_h = greenwood.sqrt();
        let (lower, upper) = ci_surv(surv, se_h, z, conf_type);
        table.push(KmRow {
            time: t,
            n_risk: at_risk,
            n_event: d,
            n_censor: c,
            surv,
            se: surv * se_h,
            std_err_cumhaz: se_h,
            lower,
            upper,
            cumhaz,
            std_chaz: varhaz.sqrt(),
        });
        at_risk -= d + c;
        i = j;
    }
    let endtime = rmean_endtime.unwrap_or_else(|| table.last().map(|r| r.time).unwrap_or(0.0));
    let (rmean, se_rmean) = restricted_mean(&table, endtime);
    let q = km_quantile(&table, 0.5, z, conf_type);
    Ok(KaplanMeier {
        name: name.to_string(),
        n,
        events,
        median: q.time,
        median_ci_low: q.ci_low,
        median_ci_high: q.ci_high,
        rmean,
        se_rmean,
        rmean_endtime: endtime,
        conf_type,
        conf_level,
        table,
    })
}

fn ci_surv(s: f64, se: f64, z: f64, ct: ConfType) -> (f64, f64) {
    match ct {
        ConfType::Log => {
            if s == 0.0 || !se.is_finite() {
                return (f64::NAN, f64::NAN);
            }
            ((s.ln() - z * se).exp(), (s.ln() + z * se).exp().min(1.0))
        }
        ConfType::LogLog => {
            if s == 0.0 || s == 1.0 || !se.is_finite() {
                return (f64::NAN, f64::NAN);
            }
            let a = (-s.ln()).ln();
            let b = z * se / s.ln();
            let t1 = (-(a + b).exp()).exp();
            let t2 = (-(a - b).exp()).exp();
            (t1.min(t2), t1.max(t2))
        }
        ConfType::Plain => {
            if !se.is_finite() {
                return (f64::NAN, f64::NAN);
            }
            ((s - z * s * se).max(0.0), (s + z * s * se).min(1.0))
        }
    }
}

/// Restricted mean (area under S from 0 to `end`) and its SE (survival's formula:
/// `sqrt(sum_i A_i^2 d_i / (n_i (n_i - d_i)))`, A_i = area from event time i to `end`).
fn restricted_mean(table: &[KmRow], end: f64) -> (f64, f64) {
    // piecewise constant S: intervals [t_k, t_{k+1})
    let mut area = 0.0;
    let mut prev_t = 0.0f64.min(table.first().map(|r| r.time).unwrap_or(0.0));
    let mut prev_s = 1.0;
    let mut pieces = Vec::with_capacity(table.len());
    for r in table {
        if r.time > end {
            break;
        }
        area += prev_s * (r.time - prev_t);
        pieces.push((r.time, r.surv));
        prev_t = r.time;
        prev_s = r.surv;
    }
    area += prev_s * (end - prev_t).max(0.0);
    // A_i: area from t_i to end
    let mut var = 0.0;
    let mut tail = 0.0;
    let mut next_t = end;
    for r in table.iter().rev() {
        if r.time > end {
            continue;
        }
        tail += r.surv * (next_t - r.time);
        next_t = r.time;
        if r.n_event > 0.0 && r.n_risk > r.n_event {
            var += tail * tail * r.n_event / (r.n_risk * (r.n_risk - r.n_event));
        }
    }
    (area, var.sqrt())
}

fn first_below(table: &[KmRow], y: impl Fn(&KmRow) -> f64, p: f64) -> Option<f64> {
    let tol = f64::EPSILON.sqrt();
    let i = table.iter().position(|r| y(r) <= p + tol)?;
    if (y(&table[i]) - p).abs() < tol {
        // exactly p on an interval: midpoint to the next time the curve drops below
        match table.iter().skip(i).position(|r| y(r) < p - tol) {
            Some(k) => Some((table[i].time + table[i + k].time) / 2.0),
            None => Some(table[i].time),
        }
    } else {
        Some(table[i].time)
    }
}

fn km_quantile(table: &[KmRow], prob: f64, _z: f64, _ct: ConfType) -> SurvQuantile {
    let p = 1.0 - prob;
    let ev: Vec<KmRow> = table.iter().filter(|r| r.n_event > 0.0).cloned().collect();
    SurvQuantile {
        prob,
        time: first_below(&ev, |r| r.surv, p),
        ci_low: first_below(&ev, |r| if r.lower.is_nan() { 0.0 } else { r.lower }, p),
        ci_high: first_below(&ev, |r| if r.upper.is_nan() { 0.0 } else { r.upper }, p),
    }
}

/// Survival quantile (e.g. 0.25, 0.5, 0.75) with CI from the pointwise CI curves.
pub fn survival_quantile(km: &KaplanMeier, prob: f64) -> SurvQuantile {
    km_quantile(&km.table, prob, 0.0, km.conf_type)
}

/// Result of the k-sample G-rho test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRank {
    /// rho (0 = log-rank, 1 = Peto-Peto).
    pub rho: f64,
    /// Group labels.
    pub groups: Vec<String>,
    /// Group sizes.
    pub n: Vec<usize>,
    /// (Weighted) observed events.
    pub observed: Vec<f64>,
    /// (Weighted) expected events.
    pub expected: Vec<f64>,
    /// Variance matrix of O - E.
    pub variance: Matrix,
    /// Chi-square statistic.
    pub chisq: f64,
    /// Degrees of freedom (groups with expected > 0, minus 1).
    pub df: f64,
    /// p-value.
    pub p: f64,
}

/// k-sample test of survival curves (R `survdiff(..., rho)`); `group` gives 0-based group
/// indices into `names`.
pub fn logrank_test(time: &[f64], event: &[bool], group: &[usize], names: &[String], rho: f64) -> Result<LogRank> {
    validate(time, event)?;
    let k = names.len();
    if group.len() != time.len() || group.iter().any(|&g| g >= k) {
        return Err(StatsError::DimensionMismatch("group indices do not match the names".into()));
    }
    if k < 2 {
        return Err(StatsError::NotEnoughData("log-rank test needs at least two groups".into()));
    }
    let n = time.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let mut risk = vec![0.0f64; k];
    for &g in group {
        risk[g] += 1.0;
    }
    let sizes: Vec<usize> = (0..k).map(|g| group.iter().filter(|&&x| x == g).count()).collect();
    let mut obs = vec![0.0; k];
    let mut exp = vec![0.0; k];
    let mut var = vec![0.0; k * k];
    let mut km = 1.0f64; // pooled KM just before t
    let mut i = 0;
    let mut dg = vec![0.0; k];
    let mut leave = vec![0.0; k];
    while i < n {
        let t = time[idx[i]];
        let mut j = i;
        dg.iter_mut().for_each(|v| *v = 0.0);
        leave.iter_mut().for_each(|v| *v = 0.0);
        while j < n && time[idx[j]] == t {
            let g = group[idx[j]];
            if event[idx[j]] {
                dg[g] += 1.0;
            }
            leave[g] += 1.0;
            j += 1;
        }
        let d: f64 = dg.iter().sum();
        let nr: f64 = risk.iter().sum();
        if d > 0.0 {
            let w = km.powf(rho);
            for g in 0..k {
                obs[g] += w * dg[g];
                exp[g] += w * d * risk[g] / nr;
            }
            if nr > 1.0 {
                let f = w * w * d * (nr - d) / (nr - 1.0);
                for g in 0..k {
                    for h in 0..k {
                        let delta = if g == h { 1.0 } else { 0.0 };
                        var[g * k + h] += f * (risk[g] / nr) * (delta - risk[h] / nr);
                    }
                }
            }
            km *= 1.0 - d / nr;
        }
        for g in 0..k {
            risk[g] -= leave[g];
        }
        i = j;
    }
    // chi-square on the groups with expected > 0, dropping the last of them
    let used: Vec<usize> = (0..k).filter(|&g| exp[g] > 0.0).collect();
    let df = used.len().saturating_sub(1);
    let chisq = if df == 0 {
        0.0
    } else {
        let sel = &used[..df];
        let v = Matrix { nrow: k, ncol: k, data: var.clone() }.select(sel);
        let diff: Vec<f64> = sel.iter().map(|&g| obs[g] - exp[g]).collect();
        quad_form_inv(&v.data, df, &diff)?
    };
    Ok(LogRank {
        rho,
        groups: names.to_vec(),
        n: sizes,
        observed: obs,
        expected: exp,
        variance: Matrix { nrow: k, ncol: k, data: var },
        chisq,
        df: df as f64,
        p: if df > 0 { pchisq_upper(chisq, df as f64) } else { f64::NAN },
    })
}

/// Handling of tied event times in the Cox model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ties {
    /// Efron approximation (coxph default).
    Efron,
    /// Breslow approximation.
    Breslow,
    /// Exact partial likelihood (coxph `ties = "exact"`: the conditional-logistic likelihood of
    /// the tied deaths over all subsets of the risk set of their size).
    Exact,
}

/// One Cox coefficient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxCoefficient {
    /// Term / column name.
    pub term: String,
    /// log hazard ratio.
    pub coef: f64,
    /// exp(coef).
    pub hazard_ratio: f64,
    /// Standard error.
    pub se: f64,
    /// Wald z.
    pub z: f64,
    /// p-value.
    pub p: f64,
    /// HR CI lower.
    pub ci_low: f64,
    /// HR CI upper.
    pub ci_high: f64,
}

/// Harrell's concordance as survival 3 counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Concordance {
    /// C = (concordant + tied_x/2) / (concordant + discordant + tied_x).
    pub c_index: f64,
    /// Concordant pairs.
    pub concordant: f64,
    /// Discordant pairs.
    pub discordant: f64,
    /// Pairs tied on the risk score only.
    pub tied_x: f64,
    /// Pairs of events tied on time only.
    pub tied_y: f64,
    /// Pairs tied on both.
    pub tied_xy: f64,
    /// Standard error of C (infinitesimal jackknife, as survival 3's `concordancefit`).
    pub se: f64,
}

/// A fitted Cox model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxModel {
    /// Ties method.
    pub ties: Ties,
    /// Observations.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Newton-Raphson iterations.
    pub iterations: usize,
    /// Converged?
    pub converged: bool,
    /// Coefficients.
    pub coefficients: Vec<CoxCoefficient>,
    /// Covariance matrix.
    pub vcov: Matrix,
    /// Log partial likelihood at beta = 0.
    pub loglik_null: f64,
    /// Log partial likelihood at the estimate.
    pub loglik: f64,
    /// Likelihood-ratio test.
    pub lr_test: TestStat,
    /// Wald test.
    pub wald_test: TestStat,
    /// Score (log-rank) test.
    pub score_test: TestStat,
    /// Concordance of the linear predictor.
    pub concordance: Concordance,
    /// Column means.
    pub means: Vec<f64>,
    /// Baseline cumulative hazard at x = 0 (uncentred): (time, cumhaz) at every distinct time.
    pub baseline_cumhaz: Vec<(f64, f64)>,
    /// Test of proportional hazards (`cox.zph`, survival 3 score test, KM time scale).
    pub proportional_hazards: CoxZph,
}

/// One `cox.zph` test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZphTest {
    /// Covariate (column) or "GLOBAL".
    pub term: String,
    /// Score chi-square.
    pub chisq: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
}

/// Proportional-hazards tests as survival 3's `cox.zph(fit, transform = "km")`: score tests
/// for adding `x * g(t)`, g = 1 - KM(t-) centred over the event times, at the fitted
/// coefficients (not survival 2's correlation test).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxZph {
    /// Time transform.
    pub transform: String,
    /// One test per covariate column.
    pub terms: Vec<ZphTest>,
    /// Joint test of all columns.
    pub global: ZphTest,
}

/// Cox data permuted once into time-descending order (contiguous rows, so each Newton
/// iteration is a single sequential pass), with reusable work buffers.
struct CoxData {
    x: Vec<f64>, // n x p, rows in time-descending order
    p: usize,
    time: Vec<f64>,
    event: Vec<bool>,
    eta: Vec<f64>,
    risk: Vec<f64>,
    s1: Vec<f64>,
    s2: Vec<f64>,
    d1: Vec<f64>,
    d2: Vec<f64>,
    a: Vec<f64>,
}

impl CoxData {
    fn new(xc: &[f64], p: usize, order: &[usize], time: &[f64], event: &[bool]) -> CoxData {
        let n = order.len();
        let mut x = Vec::with_capacity(n * p);
        for &r in order {
            x.extend_from_slice(&xc[r * p..(r + 1) * p]);
        }
        CoxData {
            x,
            p,
            time: order.iter().map(|&r| time[r]).collect(),
            event: order.iter().map(|&r| event[r]).collect(),
            eta: vec![0.0; n],
            risk: vec![0.0; n],
            s1: vec![0.0; p],
            s2: vec![0.0; p * p],
            d1: vec![0.0; p],
            d2: vec![0.0; p * p],
            a: vec![0.0; p],
        }
    }

    /// eta = x beta and exp(eta) for every row (both cores for large n; same values).
    fn linear_predictor(&mut self, beta: &[f64]) {
        let p = self.p;
        let n = self.time.len();
        let fill = |x: &[f64], eta: &mut [f64], risk: &mut [f64]| {
            for ((xr, e), r) in x.chunks_exact(p).zip(eta.iter_mut()).zip(risk.iter_mut()) {
                let v: f64 = xr.iter().zip(beta).map(|(a, b)| a * b).sum();
                *e = v;
                *r = v.exp();
            }
        };
        let threads = std::thread::available_parallelism().map(|v| v.get()).unwrap_or(1).min(2);
        if threads < 2 || n < 50_000 {
            fill(&self.x, &mut self.eta, &mut self.risk);
            return;
        }
        let half = n / 2;
        let (x0, x1) = self.x.split_at(half * p);
        let (e0, e1) = self.eta.split_at_mut(half);
        let (r0, r1) = self.risk.split_at_mut(half);
        std::thread::scope(|s| {
            s.spawn(|| fill(x1, e1, r1));
            fill(x0, e0, r0);
        });
    }
}

/// log partial likelihood, score and information at beta.
fn cox_eval(d: &mut CoxData, beta: &[f64], ties: Ties, u: &mut [f64], imat: &mut [f64]) -> f64 {
    let p = d.p;
    d.linear_predictor(beta);
    u.iter_mut().for_each(|v| *v = 0.0);
    imat.iter_mut().for_each(|v| *v = 0.0);
    let CoxData { x, time, event, eta, risk, s1, s2, d1, d2, a, .. } = d;
    s1.iter_mut().for_each(|v| *v = 0.0);
    s2.iter_mut().for_each(|v| *v = 0.0);
    let mut s0 = 0.0;
    let mut ll = 0.0;
    let n = time.len();
    let mut i = 0;
    while i < n {
        let t = time[i];
        let mut j = i;
        let mut dsum0 = 0.0;
        let mut ndead = 0usize;
        d1.iter_mut().for_each(|v| *v = 0.0);
        d2.iter_mut().for_each(|v| *v = 0.0);
        while j < n && time[j] == t {
            let xr = &x[j * p..(j + 1) * p];
            let risk = risk[j];
            s0 += risk;
            for k in 0..p {
                s1[k] += risk * xr[k];
                for l in k..p {
                    s2[k * p + l] += risk * xr[k] * xr[l];
                }
            }
            if event[j] {
                ndead += 1;
                dsum0 += risk;
                ll += eta[j];
                for k in 0..p {
                    u[k] += xr[k];
                    d1[k] += risk * xr[k];
                    for l in k..p {
                        d2[k * p + l] += risk * xr[k] * xr[l];
                    }
                }
            }
            j += 1;
        }
        if ndead > 1 && ties == Ties::Exact {
            // risk set = rows 0..j (time-descending order)
            ll -= exact_tie_term(&x[..j * p], &risk[..j], p, ndead, u, imat);
        } else if ndead > 0 {
            let dd = ndead as f64;
            for m in 0..ndead {
                let f = match ties {
                    Ties::Efron => m as f64 / dd,
                    Ties::Breslow | Ties::Exact => 0.0,
                };
                let den = s0 - f * dsum0;
                ll -= den.ln();
                for k in 0..p {
                    a[k] = (s1[k] - f * d1[k]) / den;
                    u[k] -= a[k];
                }
                for k in 0..p {
                    for l in k..p {
                        imat[k * p + l] += (s2[k * p + l] - f * d2[k * p + l]) / den - a[k] * a[l];
                    }
                }
            }
        }
        i = j;
    }
    for k in 0..p {
        for l in 0..k {
            imat[k * p + l] = imat[l * p + k];
        }
    }
    ll
}

/// The exact-ties term of one death time with `d` tied deaths: `log D` where
/// `D = sum over d-subsets S of the risk set of prod_{i in S} r_i` (r = exp(eta)), by the
/// recursion `B(k, j) = B(k, j-1) + r_j B(k-1, j-1)` (Gail et al. 1981) carried with its first
/// and second derivatives; adds `-D1/D` to the score and `D2/D - (D1/D)(D1/D)'` to the
/// information (the deaths' own `x` are already in the score). O(m d p^2) for a risk set of m.
fn exact_tie_term(x: &[f64], risk: &[f64], p: usize, d: usize, u: &mut [f64], imat: &mut [f64]) -> f64 {
    let mut b = vec![0.0; d + 1];
    let mut b1 = vec![0.0; (d + 1) * p];
    let mut b2 = vec![0.0; (d + 1) * p * p];
    b[0] = 1.0;
    for (j, &r) in risk.iter().enumerate() {
        let xr = &x[j * p..(j + 1) * p];
        for k in (1..=d.min(j + 1)).rev() {
            for a in 0..p {
                for c in 0..p {
                    b2[(k * p + a) * p + c] += r
                        * (b2[((k - 1) * p + a) * p + c]
                            + xr[a] * b1[(k - 1) * p + c]
                            + b1[(k - 1) * p + a] * xr[c]
                            + xr[a] * xr[c] * b[k - 1]);
                }
            }
            for a in 0..p {
                b1[k * p + a] += r * (b1[(k - 1) * p + a] + xr[a] * b[k - 1]);
            }
            b[k] += r * b[k - 1];
        }
    }
    let den = b[d];
    for a in 0..p {
        let ma = b1[d * p + a] / den;
        u[a] -= ma;
        for c in a..p {
            imat[a * p + c] += b2[(d * p + a) * p + c] / den - ma * b1[d * p + c] / den;
        }
    }
    den.ln()
}

/// Fit a Cox proportional-hazards model. `x` is n x p row-major (no intercept),
/// `names` the p column names.
pub fn cox_ph(
    time: &[f64],
    event: &[bool],
    x: &[f64],
    names: &[String],
    ties: Ties,
    conf_level: f64,
) -> Result<CoxModel> {
    validate(time, event)?;
    let n = time.len();
    let p = names.len();
    if x.len() != n * p {
        return Err(StatsError::DimensionMismatch("x must be n x p".into()));
    }
    if p == 0 {
        return Err(StatsError::InvalidInput("Cox model needs at least one covariate".into()));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::InvalidInput(format!("missing covariate at row {}", i / p + 1)));
    }
    let events = event.iter().filter(|e| **e).count();
    if events == 0 {
        return Err(StatsError::NotEnoughData("no events".into()));
    }
    let means: Vec<f64> = (0..p).map(|k| (0..n).map(|i| x[i * p + k]).sum::<f64>() / n as f64).collect();
    // centre (as coxph does) for numerical stability
    let xc: Vec<f64> = (0..n * p).map(|ix| x[ix] - means[ix % p]).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| time[b].total_cmp(&time[a]));
    let mut data = CoxData::new(&xc, p, &order, time, event);
    let mut u = vec![0.0; p];
    let mut imat = vec![0.0; p * p];
    let mut beta = vec![0.0; p];
    let ll0 = cox_eval(&mut data, &beta, ties, &mut u, &mut imat);
    // score test at beta = 0
    let score = quad_form_inv(&imat, p, &u).unwrap_or(f64::NAN);
    let mut ll = ll0;
    let mut converged = false;
    let mut iterations = 0;
    let mut l = imat.clone();
    cholesky(&mut l, p, 1e-12).map_err(|e| StatsError::Singular(format!("Cox information matrix: {e}")))?;
    let mut step = u.clone();
    chol_solve(&l, p, &mut step);
    let mut newbeta: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
    let mut halving = 0;
    let maxiter = 20;
    for it in 1..=maxiter {
        iterations = it;
        let newlk = cox_eval(&mut data, &newbeta, ties, &mut u, &mut imat);
        if (1.0 - ll / newlk).abs() <= 1e-9 && halving == 0 {
            ll = newlk;
            beta = newbeta.clone();
            converged = true;
            break;
        }
        if it == maxiter {
            break;
        }
        if newlk < ll || !newlk.is_finite() {
            halving += 1;
            for k in 0..p {
                newbeta[k] = (newbeta[k] + beta[k]) / 2.0;
            }
            continue;
        }
        halving = 0;
        ll = newlk;
        beta = newbeta.clone();
        l = imat.clone();
        cholesky(&mut l, p, 1e-12).map_err(|e| StatsError::Singular(format!("Cox information matrix: {e}")))?;
        let mut st = u.clone();
        chol_solve(&l, p, &mut st);
        newbeta = beta.iter().zip(&st).map(|(b, s)| b + s).collect();
    }
    if !converged {
        ll = cox_eval(&mut data, &beta, ties, &mut u, &mut imat);
    }
    let mut l = imat.clone();
    cholesky(&mut l, p, 1e-12).map_err(|e| StatsError::Singular(format!("Cox information matrix: {e}")))?;
    let vcov = chol_inverse(&l, p);
    let zc = qnorm(1.0 - (1.0 - conf_level) / 2.0);
    let coefficients: Vec<CoxCoefficient> = (0..p)
        .map(|k| {
            let b = beta[k];
            let se = vcov[k * p + k].sqrt();
            let z = b / se;
            CoxCoefficient {
                term: names[k].clone(),
                coef: b,
                hazard_ratio: b.exp(),
                se,
                z,
                p: p_two_sided_normal(z),
                ci_low: (b - zc * se).exp(),
                ci_high: (b + zc * se).exp(),
            }
        })
        .collect();
    // Wald = b' V^{-1} b = b' I b
    let wald: f64 = (0..p).map(|k| (0..p).map(|l| beta[k] * imat[k * p + l] * beta[l]).sum::<f64>()).sum();
    let lp: Vec<f64> = (0..n).map(|i| (0..p).map(|k| xc[i * p + k] * beta[k]).sum()).collect();
    // concordance on a second thread while this one builds the baseline hazard
    let (concordance, base) = if n >= 50_000 {
        std::thread::scope(|s| {
            let h = s.spawn(|| concordance_ordered(time, event, &lp, &order));
            let base = baseline_cumhaz(time, event, &lp, &means, &beta, ties);
            let c = h.join().unwrap_or_else(|_| concordance_ordered(time, event, &lp, &order));
            (c, base)
        })
    } else {
        (concordance_ordered(time, event, &lp, &order), baseline_cumhaz(time, event, &lp, &means, &beta, ties))
    };
    let proportional_hazards = cox_zph(time, event, &xc, p, names, &lp, ties)?;
    let pf = p as f64;
    Ok(CoxModel {
        ties,
        n,
        events,
        iterations,
        converged,
        coefficients,
        vcov: Matrix { nrow: p, ncol: p, data: vcov },
        loglik_null: ll0,
        loglik: ll,
        lr_test: TestStat::chisq(2.0 * (ll - ll0), pf),
        wald_test: TestStat::chisq(wald, pf),
        score_test: TestStat::chisq(score, pf),
        concordance,
        means,
        baseline_cumhaz: base,
        proportional_hazards,
    })
}

/// `cox.zph` (survival 3, transform "km") at the fitted linear predictor `lp`.
fn cox_zph(
    time: &[f64],
    event: &[bool],
    x: &[f64],
    p: usize,
    names: &[String],
    lp: &[f64],
    ties: Ties,
) -> Result<CoxZph> {
    let n = time.len();
    let mut asc: Vec<usize> = (0..n).collect();
    asc.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    // g(t) = 1 - KM(t-) for every row, centred over the events
    let mut g = vec![0.0; n];
    let mut surv = 1.0;
    let mut at_risk = n as f64;
    let mut i = 0;
    while i < n {
        let t = time[asc[i]];
        let mut j = i;
        let mut d = 0.0;
        while j < n && time[asc[j]] == t {
            g[asc[j]] = 1.0 - surv;
            d += event[asc[j]] as u8 as f64;
            j += 1;
        }
        surv *= 1.0 - d / at_risk;
        at_risk -= (j - i) as f64;
        i = j;
    }
    let nev = event.iter().filter(|e| **e).count() as f64;
    let gbar = (0..n).filter(|&r| event[r]).map(|r| g[r]).sum::<f64>() / nev;
    let q = 2 * p;
    let mut u2 = vec![0.0; p];
    let mut imat = vec![0.0; q * q];
    let (mut s0, mut s1, mut s2) = (0.0, vec![0.0; p], vec![0.0; p * p]);
    let (mut d1, mut d2) = (vec![0.0; p], vec![0.0; p * p]);
    let mut a = vec![0.0; p];
    let mut i = n;
    while i > 0 {
        let t = time[asc[i - 1]];
        let mut j = i;
        while j > 0 && time[asc[j - 1]] == t {
            j -= 1;
        }
        let (mut dsum0, mut ndead) = (0.0, 0usize);
        d1.iter_mut().for_each(|v| *v = 0.0);
        d2.iter_mut().for_each(|v| *v = 0.0);
        let mut gt = 0.0;
        for &r in &asc[j..i] {
            let xr = &x[r * p..(r + 1) * p];
            let risk = lp[r].exp();
            s0 += risk;
            for k in 0..p {
                s1[k] += risk * xr[k];
                for l in 0..p {
                    s2[k * p + l] += risk * xr[k] * xr[l];
                }
            }
            if event[r] {
                ndead += 1;
                dsum0 += risk;
                gt = g[r] - gbar;
                for k in 0..p {
                    u2[k] += gt * xr[k];
                    d1[k] += risk * xr[k];
                    for l in 0..p {
                        d2[k * p + l] += risk * xr[k] * xr[l];
                    }
                }
            }
        }
        let dd = ndead as f64;
        for m in 0..ndead {
            // cox.zph weights Efron fits the Efron way and every other fit as Breslow
            let f = match ties {
                Ties::Efron => m as f64 / dd,
                Ties::Breslow | Ties::Exact => 0.0,
            };
            let den = s0 - f * dsum0;
            for k in 0..p {
                a[k] = (s1[k] - f * d1[k]) / den;
                u2[k] -= gt * a[k];
            }
            for k in 0..p {
                for l in 0..p {
                    let v = (s2[k * p + l] - f * d2[k * p + l]) / den - a[k] * a[l];
                    imat[k * q + l] += v;
                    imat[k * q + p + l] += gt * v;
                    imat[(p + k) * q + l] += gt * v;
                    imat[(p + k) * q + p + l] += gt * gt * v;
                }
            }
        }
        i = j;
    }
    let test = |cols: &[usize]| -> Result<f64> {
        let idx: Vec<usize> = (0..p).chain(cols.iter().map(|c| p + c)).collect();
        let k = idx.len();
        let sub: Vec<f64> =
            idx.iter().flat_map(|&r| idx.iter().map(move |&c| (r, c))).map(|(r, c)| imat[r * q + c]).collect();
        let uu: Vec<f64> = (0..p).map(|_| 0.0).chain(cols.iter().map(|&c| u2[c])).collect();
        quad_form_inv(&sub, k, &uu)
    };
    let mut terms = Vec::with_capacity(p);
    for c in 0..p {
        let chisq = test(&[c])?;
        terms.push(ZphTest { term: names[c].clone(), chisq, df: 1.0, p: pchisq_upper(chisq, 1.0) });
    }
    let all: Vec<usize> = (0..p).collect();
    let chisq = test(&all)?;
    Ok(CoxZph {
        transform: "km".into(),
        terms,
        global: ZphTest { term: "GLOBAL".into(), chisq, df: p as f64, p: pchisq_upper(chisq, p as f64) },
    })
}

/// Baseline cumulative hazard at x = 0 (uncentred risk scores) at every distinct time.
fn baseline_cumhaz(
    time: &[f64],
    event: &[bool],
    lp: &[f64],
    means: &[f64],
    beta: &[f64],
    ties: Ties,
) -> Vec<(f64, f64)> {
    let n = time.len();
    let off: f64 = means.iter().zip(beta).map(|(m, b)| m * b).sum();
    let risk: Vec<f64> = lp.iter().map(|v| (v + off).exp()).collect();
    let mut asc: Vec<usize> = (0..n).collect();
    asc.sort_by(|&a, &b| time[a].total_cmp(&time[b]));
    let mut s0: f64 = risk.iter().sum();
    let mut cum = 0.0;
    let mut base = Vec::new();
    let mut i = 0;
    while i < n {
        let t = time[asc[i]];
        let mut j = i;
        let (mut d, mut dr, mut leave) = (0.0, 0.0, 0.0);
        while j < n && time[asc[j]] == t {
            let r = asc[j];
            if event[r] {
                d += 1.0;
                dr += risk[r];
            }
            leave += risk[r];
            j += 1;
        }
        if d > 0.0 {
            match ties {
                // survfit.coxph: Breslow increments for exact fits (only Efron fits get the
                // Efron-adjusted baseline)
                Ties::Breslow | Ties::Exact => cum += d / s0,
                Ties::Efron => {
                    for m in 0..(d as usize) {
                        cum += 1.0 / (s0 - m as f64 / d * dr);
                    }
                }
            }
        }
        base.push((t, cum));
        s0 -= leave;
        i = j;
    }
    base
}

/// Fenwick tree of counts.
struct Fenwick {
    t: Vec<f64>,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Fenwick { t: vec![0.0; n + 1] }
    }
    fn add(&mut self, i: usize, v: f64) {
        let mut i = i + 1;
        while i < self.t.len() {
            self.t[i] += v;
            i += i & i.wrapping_neg();
        }
    }
    /// sum of entries 0..i (exclusive)
    fn prefix(&self, i: usize) -> f64 {
        let mut s = 0.0;
        let mut i = i;
        while i > 0 {
            s += self.t[i];
            i -= i & i.wrapping_neg();
        }
        s
    }
}

/// Harrell's C of a risk score (higher score = earlier event), O(n log n). A pair is
/// comparable when the shorter time is an event; an observation censored at the same time
/// as an event counts as surviving longer; two events at the same time are `tied_y`.
pub fn concordance(time: &[f64], event: &[bool], score: &[f64]) -> Concordance {
    let mut order: Vec<usize> = (0..time.len()).collect();
    order.sort_by(|&a, &b| time[b].total_cmp(&time[a]));
    concordance_ordered(time, event, score, &order)
}

/// [`concordance`] given the rows in time-descending order (stable).
fn concordance_ordered(time: &[f64], event: &[bool], score: &[f64], order: &[usize]) -> Concordance {
    let n = time.len();
    // rank of each score among the distinct scores (number of distinct values below it)
    let mut by_score: Vec<usize> = (0..n).collect();
    by_score.sort_unstable_by(|&a, &b| score[a].total_cmp(&score[b]));
    let mut ranks = vec![0usize; n];
    let mut nvals = 0;
    for (k, &r) in by_score.iter().enumerate() {
        if k > 0 && score[r] != score[by_score[k - 1]] {
            nvals += 1;
        }
        ranks[r] = nvals;
    }
    let nvals = if n > 0 { nvals + 1 } else { 0 };
    let rank = |r: usize| ranks[r];
    let mut added = 0.0;
    let mut tree = Fenwick::new(nvals);
    let (mut conc, mut disc, mut tx, mut ty, mut txy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < n {
        let t = time[order[i]];
        let mut j = i;
        while j < n && time[order[j]] == t {
            j += 1;
        }
        let group = &order[i..j];
        // censored at t count as longer than events at t: add them to the tree first
        for &r in group {
            if !event[r] {
                tree.add(rank(r), 1.0);
                added += 1.0;
            }
        }
        let total = added;
        for &r in group {
            if event[r] {
                let k = rank(r);
                let below = tree.prefix(k);
                let eq = tree.prefix(k + 1) - below;
                conc += below;
                tx += eq;
                disc += total - below - eq;
            }
        }
        // event-event pairs at the same time (O(d log d) per tie group)
        let mut ev: Vec<f64> = group.iter().copied().filter(|&r| event[r]).map(|r| score[r]).collect();
        let d = ev.len() as f64;
        ev.sort_by(f64::total_cmp);
        let mut same = 0.0;
        let mut a = 0;
        while a < ev.len() {
            let mut b = a + 1;
            while b < ev.len() && ev[b] == ev[a] {
                b += 1;
            }
            let m = (b - a) as f64;
            same += m * (m - 1.0) / 2.0;
            a = b;
        }
        txy += same;
        ty += d * (d - 1.0) / 2.0 - same;
        for &r in group {
            if event[r] {
                tree.add(rank(r), 1.0);
                added += 1.0;
            }
        }
        i = j;
    }
    let se = concordance_se(time, event, &ranks, nvals, order, conc, disc, tx);
    Concordance {
        c_index: (conc + tx / 2.0) / (conc + disc + tx),
        concordant: conc,
        discordant: disc,
        tied_x: tx,
        tied_y: ty,
        tied_xy: txy,
        se,
    }
}

/// Infinitesimal-jackknife SE of C (survival 3 `concordancefit`): per observation i the
/// concordant, discordant and x-tied comparable pairs it belongs to (C_i, D_i, T_i);
/// `dfbeta_i = (C_i - D_i)/N - (somers/N)(C_i + D_i + T_i)`, N = C + D + T, somers = (C - D)/N;
/// `var(C) = sum dfbeta_i^2 / 4`. Two Fenwick passes, O(n log n).
#[allow(clippy::too_many_arguments)]
fn concordance_se(
    time: &[f64],
    event: &[bool],
    ranks: &[usize],
    nvals: usize,
    desc: &[usize],
    conc: f64,
    disc: f64,
    tx: f64,
) -> f64 {
    let n = time.len();
    let mut ci = vec![0.0f64; n];
    let mut di = vec![0.0f64; n];
    let mut ti = vec![0.0f64; n];
    // pass 1 (time descending): an event against the observations that outlive it
    let mut tree = Fenwick::new(nvals);
    let mut added = 0.0;
    let mut i = 0;
    while i < n {
        let t = time[desc[i]];
        let mut j = i;
        while j < n && time[desc[j]] == t {
            j += 1;
        }
        for &r in &desc[i..j] {
            if !event[r] {
                tree.add(ranks[r], 1.0);
                added += 1.0;
            }
        }
        for &r in &desc[i..j] {
            if event[r] {
                let below = tree.prefix(ranks[r]);
                let eq = tree.prefix(ranks[r] + 1) - below;
                ci[r] += below;
                ti[r] += eq;
                di[r] += added - below - eq;
            }
        }
        for &r in &desc[i..j] {
            if event[r] {
                tree.add(ranks[r], 1.0);
                added += 1.0;
            }
        }
        i = j;
    }
    // pass 2 (time ascending): an observation against the earlier events it outlives
    let mut tree = Fenwick::new(nvals);
    let mut events_in = 0.0;
    let mut i = n;
    while i > 0 {
        let t = time[desc[i - 1]];
        let mut j = i;
        while j > 0 && time[desc[j - 1]] == t {
            j -= 1;
        }
        let group = &desc[j..i];
        let count = |tree: &Fenwick, total: f64, r: usize, c: &mut [f64], d: &mut [f64], tt: &mut [f64]| {
            let below = tree.prefix(ranks[r]);
            let eq = tree.prefix(ranks[r] + 1) - below;
            // earlier event with a higher score than r: concordant pair
            c[r] += total - below - eq;
            d[r] += below;
            tt[r] += eq;
        };
        for &r in group {
            if event[r] {
                count(&tree, events_in, r, &mut ci, &mut di, &mut ti);
            }
        }
        for &r in group {
            if event[r] {
                tree.add(ranks[r], 1.0);
                events_in += 1.0;
            }
        }
        // censored at t outlive the events at t
        for &r in group {
            if !event[r] {
                count(&tree, events_in, r, &mut ci, &mut di, &mut ti);
            }
        }
        i = j;
    }
    let npair = conc + disc + tx;
    let somers = (conc - disc) / npair;
    let var: f64 =
        (0..n).map(|r| ((ci[r] - di[r]) / npair - somers / npair * (ci[r] + di[r] + ti[r])).powi(2)).sum::<f64>() / 4.0;
    var.sqrt()
}
