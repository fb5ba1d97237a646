//! Survival analysis as R's `survival` 3.5 computes it: Kaplan-Meier (`survfit`) with
//! Greenwood standard errors, log / log-log / plain CIs, median and quantiles with CIs,
//! restricted mean; the G-rho family of k-sample tests (`survdiff`: log-rank rho = 0,
//! Peto-Peto rho = 1); Cox proportional hazards (`coxph`) with Efron or Breslow ties by
//! Newton-Raphson (convergence `|1 - ll_old/ll_new| <= 1e-9`), Wald / likelihood-ratio /
//! score tests, Harrell's concordance (O(n log n), Fenwick tree) and the baseline
//! cumulative hazard.

use crate::dist::{pchisq_upper, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, quad_form_inv};
use crate::logistic::TestStat;
use crate::radix::order_ascending;
use serde::Serialize;

mod concordance;
mod cox;

pub use cox::cox_ph;

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
    let idx = order_ascending(time);
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
    let idx = order_ascending(time);
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

/// Harrell's C of a risk score (higher score = earlier event), O(n log n). A pair is
/// comparable when the shorter time is an event; an observation censored at the same time
/// as an event counts as surviving longer; two events at the same time are `tied_y`.
pub fn concordance(time: &[f64], event: &[bool], score: &[f64]) -> Concordance {
    let (rank, ntimes) = concordance::time_ranks(time);
    concordance::concordance_ranked(&rank, ntimes, event, score, cox::threads_for(time.len()))
}
