//! Logistic regression (binomial GLM, logit link).
//!
//! The default fit replicates R's `glm.fit` step by step: start `mustart = (y + 0.5)/2`,
//! IRLS with R's clamped logit link functions, convergence when
//! `|dev - dev_old| / (|dev| + 0.1) < epsilon` (1e-8, at most 25 iterations), and the
//! covariance matrix taken from the weights of the **last** IRLS iteration (as
//! `summary.glm` does). Coefficients, SEs, iteration counts and deviances therefore agree
//! with R's printed output, not only with the exact MLE. Each IRLS step solves the weighted
//! normal equations with a hand-written, equilibrated Cholesky factorisation (p is small;
//! the O(n p^2) cross-product is split across threads for large n).
//!
//! Profile-likelihood CIs are exact roots (Brent) of
//! `2 (ll_hat - ll_profile(b_j)) = qchisq(level, 1)`, with each profile fitted by IRLS with
//! `b_j x_j` as offset, to 1e-14; MASS's `confint.glm` spline-interpolates the same profile,
//! so it agrees to ~1e-4 (see docs/stats.md). Firth's penalised likelihood is available.

use crate::design::Design;
use crate::dist::{brent_root, p_two_sided_normal, pchisq_upper, qchisq, qnorm};
use crate::error::{Result, StatsError};
use crate::linalg::{
    CHUNK_ROWS, Matrix, chol_inverse, chol_logdet, chol_solve, cholesky, par_map, quad_form_inv, weighted_gram,
};
use serde::Serialize;

const THRESH: f64 = 30.0;
const MTHRESH: f64 = -30.0;

/// R's `binomial()$linkinv` (C `logit_linkinv`).
#[inline]
pub fn linkinv(eta: f64) -> f64 {
    let tmp = if eta < MTHRESH {
        f64::EPSILON
    } else if eta > THRESH {
        1.0 / f64::EPSILON
    } else {
        eta.exp()
    };
    tmp / (1.0 + tmp)
}

#[inline]
fn mu_eta(eta: f64) -> f64 {
    let opexp = 1.0 + eta.exp();
    if !(MTHRESH..=THRESH).contains(&eta) { f64::EPSILON } else { eta.exp() / (opexp * opexp) }
}

/// Logit.
#[inline]
pub fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

#[inline]
fn dev_resid(y: f64, mu: f64) -> f64 {
    let a = if y != 0.0 { y * (y / mu).ln() } else { 0.0 };
    let b = if y != 1.0 { (1.0 - y) * ((1.0 - y) / (1.0 - mu)).ln() } else { 0.0 };
    2.0 * (a + b)
}

/// Binomial deviance of probabilities `mu` for 0/1 outcomes `y`.
pub fn binomial_deviance(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(&a, &b)| dev_resid(a, b)).sum()
}

/// IRLS control, as R's `glm.control`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GlmControl {
    /// Relative deviance change for convergence (R default 1e-8).
    pub epsilon: f64,
    /// Maximum iterations (R default 25).
    pub maxit: usize,
}

impl Default for GlmControl {
    fn default() -> Self {
        GlmControl { epsilon: 1e-8, maxit: 25 }
    }
}

impl GlmControl {
    /// Iterate to full convergence (epsilon 1e-14, up to 100 iterations).
    pub fn tight() -> Self {
        GlmControl { epsilon: 1e-14, maxit: 100 }
    }
}

/// Raw result of an IRLS fit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IrlsFit {
    /// Coefficients.
    pub coef: Vec<f64>,
    /// Unscaled covariance `(X'WX)^{-1}` with W of the last iteration (row-major p x p).
    pub vcov: Vec<f64>,
    /// Residual deviance.
    pub deviance: f64,
    /// Iterations used.
    pub iterations: usize,
    /// Converged?
    pub converged: bool,
    /// Linear predictor (including offset).
    pub eta: Vec<f64>,
    /// Fitted probabilities.
    pub mu: Vec<f64>,
    /// R's "fitted probabilities numerically 0 or 1 occurred".
    pub fitted_0_or_1: bool,
}

/// X'WX and X'Wz of the IRLS step (see [`weighted_gram`]).
fn cross_products(x: &[f64], n: usize, p: usize, w: &[f64], z: &[f64]) -> (Vec<f64>, Vec<f64>) {
    weighted_gram(x, n, p, |i| (w[i], z[i]))
}

/// Rows of a 0/1 outcome whose deviance residuals share one logarithm in [`linear_update`].
const LOG_BLOCK: usize = 8;

/// One pass over the rows for coefficients `beta`: `eta = X beta + offset`, `mu = linkinv(eta)`,
/// `mu_eta(eta)` (kept for the next weights) and the binomial deviance, with one `exp` per
/// row (the value `linkinv` and `mu_eta` both take, so every number is what they give
/// separately). Returns the deviance and whether any fitted probability is numerically 0 or 1.
#[allow(clippy::too_many_arguments)]
fn linear_update(
    x: &[f64],
    p: usize,
    beta: &[f64],
    offset: Option<&[f64]>,
    prior: Option<&[f64]>,
    y: &[f64],
    eta: &mut [f64],
    mu: &mut [f64],
    me: &mut [f64],
) -> (f64, bool) {
    let n = y.len();
    let eps01 = 10.0 * f64::EPSILON;
    let items: Vec<_> = eta
        .chunks_mut(CHUNK_ROWS)
        .zip(mu.chunks_mut(CHUNK_ROWS))
        .zip(me.chunks_mut(CHUNK_ROWS))
        .enumerate()
        .map(|(c, ((e, m), d))| (c * CHUNK_ROWS, e, m, d))
        .collect();
    let parts = par_map(items, n * (p + 8) > 400_000, |(lo, eta, mu, me)| {
        x_beta_rows(x, p, beta, lo, eta);
        let mut dev = 0.0;
        let mut extreme = false;
        // a 0/1 outcome's deviance residual is 2 ln(1/mu) or 2 ln(1/(1 - mu)): the quotients of
        // LOG_BLOCK rows are multiplied and their sum taken with one log (each quotient is at
        // most 1/eps < 2^53 by the thresholds, so a block's product stays below 2^424)
        let (mut block, mut in_block) = (1.0f64, 0);
        for (r, ((e_out, mu_out), me_out)) in eta.iter_mut().zip(mu.iter_mut()).zip(me.iter_mut()).enumerate() {
            let i = lo + r;
            let e = *e_out + offset.map(|o| o[i]).unwrap_or(0.0);
            let ex = if e < MTHRESH {
                f64::EPSILON
            } else if e > THRESH {
                1.0 / f64::EPSILON
            } else {
                e.exp()
            };
            let m = ex / (1.0 + ex);
            let opexp = 1.0 + ex;
            *e_out = e;
            *mu_out = m;
            *me_out = if !(MTHRESH..=THRESH).contains(&e) { f64::EPSILON } else { ex / (opexp * opexp) };
            let yi = y[i];
            if prior.is_none() && (yi == 1.0 || yi == 0.0) {
                block *= if yi == 1.0 { 1.0 / m } else { 1.0 / (1.0 - m) };
                in_block += 1;
                if in_block == LOG_BLOCK {
                    dev += 2.0 * block.ln();
                    (block, in_block) = (1.0, 0);
                }
            } else {
                let r = dev_resid(yi, m);
                dev += prior.map_or(r, |w| w[i] * r);
            }
            extreme |= m > 1.0 - eps01 || m < eps01;
        }
        if in_block > 0 {
            dev += 2.0 * block.ln();
        }
        (dev, extreme)
    });
    parts.into_iter().fold((0.0, false), |(d, x01), (pd, px)| (d + pd, x01 || px))
}

/// Solve the equilibrated SPD system; returns solution and the factor info for inversion.
struct Solved {
    sol: Vec<f64>,
    l: Vec<f64>,
    scale: Vec<f64>,
}

fn solve_spd(a: &[f64], b: &[f64], p: usize) -> Result<Solved> {
    let scale: Vec<f64> = (0..p)
        .map(|j| {
            let d = a[j * p + j];
            if d > 0.0 { d.sqrt() } else { 1.0 }
        })
        .collect();
    let mut l = vec![0.0; p * p];
    for j in 0..p {
        for k in 0..p {
            l[j * p + k] = a[j * p + k] / (scale[j] * scale[k]);
        }
    }
    cholesky(&mut l, p, 1e-11)?;
    let mut sol: Vec<f64> = (0..p).map(|j| b[j] / scale[j]).collect();
    chol_solve(&l, p, &mut sol);
    for j in 0..p {
        sol[j] /= scale[j];
    }
    Ok(Solved { sol, l, scale })
}

fn inverse_from(s: &Solved, p: usize) -> Vec<f64> {
    let mut inv = chol_inverse(&s.l, p);
    for j in 0..p {
        for k in 0..p {
            inv[j * p + k] /= s.scale[j] * s.scale[k];
        }
    }
    inv
}

/// `out[r] = x_{lo + r} . beta` (without offset), each sum formed term by term in column
/// order; four rows are interleaved so that their additions overlap rather than wait on
/// one another.
fn x_beta_rows(x: &[f64], p: usize, beta: &[f64], lo: usize, out: &mut [f64]) {
    if p == 0 {
        out.fill(0.0);
        return;
    }
    let rows = &x[lo * p..(lo + out.len()) * p];
    let mut quads = out.chunks_exact_mut(4);
    let mut rq = rows.chunks_exact(4 * p);
    for (o, r) in quads.by_ref().zip(rq.by_ref()) {
        let (r0, rest) = r.split_at(p);
        let (r1, rest) = rest.split_at(p);
        let (r2, r3) = rest.split_at(p);
        let mut s = [0.0f64; 4];
        for j in 0..p {
            let b = beta[j];
            s[0] += r0[j] * b;
            s[1] += r1[j] * b;
            s[2] += r2[j] * b;
            s[3] += r3[j] * b;
        }
        o.copy_from_slice(&s);
    }
    for (o, r) in quads.into_remainder().iter_mut().zip(rq.remainder().chunks_exact(p.max(1))) {
        let mut s = 0.0;
        for j in 0..p {
            s += r[j] * beta[j];
        }
        *o = s;
    }
}

fn x_beta(x: &[f64], n: usize, p: usize, beta: &[f64], offset: Option<&[f64]>, eta: &mut [f64]) {
    for i in 0..n {
        let row = &x[i * p..(i + 1) * p];
        let mut s = 0.0;
        for j in 0..p {
            s += row[j] * beta[j];
        }
        eta[i] = s + offset.map(|o| o[i]).unwrap_or(0.0);
    }
}

/// IRLS for the logistic model exactly as R's `glm.fit` (see module docs). `x` is n x p
/// row-major; `start` (optional) gives initial coefficients instead of `mustart`.
pub fn irls_logistic(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    offset: Option<&[f64]>,
    start: Option<&[f64]>,
    control: &GlmControl,
) -> Result<IrlsFit> {
    if x.len() != n * p || y.len() != n || offset.is_some_and(|o| o.len() != n) {
        return Err(StatsError::DimensionMismatch("design, outcome and offset lengths differ".into()));
    }
    if n == 0 {
        return Err(StatsError::NotEnoughData("no observations".into()));
    }
    let mut eta = vec![0.0; n];
    let mut mu = vec![0.0; n];
    let mut me = vec![0.0; n];
    let (devold, fitted_0_or_1) = if let Some(s) = start {
        if s.len() != p {
            return Err(StatsError::DimensionMismatch("start has wrong length".into()));
        }
        linear_update(x, p, s, offset, None, y, &mut eta, &mut mu, &mut me)
    } else {
        // mustart = (y + 0.5) / 2 takes one value per outcome class (two for 0/1 data), so
        // its logit, mean, derivative and deviance residual are computed once per class
        let mut memo: [(f64, f64, f64, f64, f64); 2] = [(f64::NAN, 0.0, 0.0, 0.0, 0.0); 2];
        let mut dev = 0.0;
        for i in 0..n {
            let slot = &mut memo[usize::from(y[i] == 1.0)];
            if slot.0 != y[i] {
                let e = logit((y[i] + 0.5) / 2.0);
                let m = linkinv(e);
                *slot = (y[i], e, m, mu_eta(e), dev_resid(y[i], m));
            }
            let (_, e, m, d, r) = *slot;
            eta[i] = e;
            mu[i] = m;
            me[i] = d;
            dev += r;
        }
        (dev, false)
    };
    let state = IrlsState { eta, mu, me, deviance: devold, fitted_0_or_1 };
    irls_from_state(x, p, y, offset, None, start, state, None, control)
}

/// Where an IRLS fit starts: the linear predictor, fitted means and `mu_eta` of every row,
/// and their deviance.
#[derive(Debug, Clone)]
pub(crate) struct IrlsState {
    pub(crate) eta: Vec<f64>,
    pub(crate) mu: Vec<f64>,
    pub(crate) me: Vec<f64>,
    pub(crate) deviance: f64,
    pub(crate) fitted_0_or_1: bool,
}

impl IrlsState {
    /// The state of a fit's linear predictor and fitted means (as R's glm restarted with
    /// `mustart = fitted(fit)`).
    pub(crate) fn fitted(eta: Vec<f64>, mu: Vec<f64>, deviance: f64) -> IrlsState {
        let me = eta.iter().map(|&e| mu_eta(e)).collect();
        let eps = 10.0 * f64::EPSILON;
        let fitted_0_or_1 = mu.iter().any(|&m| m > 1.0 - eps || m < eps);
        IrlsState { eta, mu, me, deviance, fitted_0_or_1 }
    }
}

/// `X'WX` and `X'Wz` of the IRLS step taken from `state` (rows of `x`, `p` columns; no offset).
pub(crate) fn irls_cross_products(x: &[f64], p: usize, y: &[f64], state: &IrlsState) -> (Vec<f64>, Vec<f64>) {
    let (eta, mu, me) = (&state.eta, &state.mu, &state.me);
    weighted_gram(x, y.len(), p, |i| {
        let var = mu[i] * (1.0 - mu[i]);
        (me[i] * me[i] / var, eta[i] + (y[i] - mu[i]) / me[i])
    })
}

/// A logistic fit with prior (frequency) weights `prior`, started from `start` (a row with
/// weight k counts as k copies of the row: deviance and cross-products are weighted). Used
/// for bootstrap resamples, fitted on their distinct rows.
pub(crate) fn irls_weighted(
    x: &[f64],
    p: usize,
    y: &[f64],
    prior: &[f64],
    start: &[f64],
    control: &GlmControl,
) -> Result<IrlsFit> {
    let n = y.len();
    if x.len() != n * p || prior.len() != n || start.len() != p {
        return Err(StatsError::DimensionMismatch("design, outcome, weights and start lengths differ".into()));
    }
    let (mut eta, mut mu, mut me) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (deviance, fitted_0_or_1) = linear_update(x, p, start, None, Some(prior), y, &mut eta, &mut mu, &mut me);
    let state = IrlsState { eta, mu, me, deviance, fitted_0_or_1 };
    irls_from_state(x, p, y, None, Some(prior), Some(start), state, None, control)
}

/// The IRLS iterations of [`irls_logistic`] from a given state (`prior`: frequency weights,
/// if any); `start` is the coefficient
/// vector the state came from (for step halving), and `first` the cross-products of the first
/// step when the caller already has them (e.g. a sub-block of a bigger model's).
#[allow(clippy::too_many_arguments)]
pub(crate) fn irls_from_state(
    x: &[f64],
    p: usize,
    y: &[f64],
    offset: Option<&[f64]>,
    prior: Option<&[f64]>,
    start: Option<&[f64]>,
    state: IrlsState,
    first: Option<(Vec<f64>, Vec<f64>)>,
    control: &GlmControl,
) -> Result<IrlsFit> {
    let n = y.len();
    let IrlsState { mut eta, mut mu, mut me, deviance: mut devold, mut fitted_0_or_1 } = state;
    if p == 0 {
        return Ok(IrlsFit {
            coef: vec![],
            vcov: vec![],
            deviance: devold,
            iterations: 0,
            converged: true,
            eta,
            mu,
            fitted_0_or_1: false,
        });
    }
    let mut first = first;
    let mut coef: Vec<f64> = start.map(|s| s.to_vec()).unwrap_or_else(|| vec![0.0; p]);
    let mut coefold: Option<Vec<f64>> = start.map(|s| s.to_vec());
    let mut converged = false;
    let mut iterations = 0;
    let mut last: Option<Solved> = None;
    let mut dev = devold;
    for iter in 1..=control.maxit {
        iterations = iter;
        // working response and (squared) weights, formed row by row inside the cross-product
        let (a, b) = first.take().unwrap_or_else(|| {
            weighted_gram(x, n, p, |i| {
                let off = offset.map(|o| o[i]).unwrap_or(0.0);
                let var = mu[i] * (1.0 - mu[i]);
                let z = (eta[i] - off) + (y[i] - mu[i]) / me[i];
                let w = me[i] * me[i] / var;
                (prior.map_or(w, |pw| pw[i] * w), z)
            })
        });
        let solved = solve_spd(&a, &b, p)?;
        let mut start_new = solved.sol.clone();
        last = Some(solved);
        (dev, fitted_0_or_1) = linear_update(x, p, &start_new, offset, prior, y, &mut eta, &mut mu, &mut me);
        if !dev.is_finite() {
            let Some(old) = coefold.as_ref() else {
                return Err(StatsError::NoConvergence("no valid set of coefficients has been found".into()));
            };
            let mut ii = 1;
            while !dev.is_finite() {
                if ii > control.maxit {
                    return Err(StatsError::NoConvergence("inner loop 1; cannot correct step size".into()));
                }
                ii += 1;
                for j in 0..p {
                    start_new[j] = (start_new[j] + old[j]) / 2.0;
                }
                (dev, fitted_0_or_1) = linear_update(x, p, &start_new, offset, prior, y, &mut eta, &mut mu, &mut me);
            }
        }
        coef = start_new;
        if (dev - devold).abs() / (dev.abs() + 0.1) < control.epsilon {
            converged = true;
            break;
        }
        devold = dev;
        coefold = Some(coef.clone());
    }
    let vcov = match &last {
        Some(s) => inverse_from(s, p),
        None => vec![f64::NAN; p * p],
    };
    Ok(IrlsFit { coef, vcov, deviance: dev, iterations, converged, eta, mu, fitted_0_or_1 })
}

/// Options for [`fit_logistic`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticOptions {
    /// IRLS control (default: R's).
    pub control: GlmControl,
    /// Compute profile-likelihood CIs (costs about 20 extra fits per coefficient).
    pub profile_ci: bool,
    /// Confidence level (0.95).
    pub conf_level: f64,
    /// Use Firth's penalised likelihood instead of ML.
    pub firth: bool,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions { control: GlmControl::default(), profile_ci: true, conf_level: 0.95, firth: false }
    }
}

/// One coefficient row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coefficient {
    /// `(Intercept)`, `age`, `race=black`, ...
    pub term: String,
    /// Estimate (log odds).
    pub coef: f64,
    /// Standard error.
    pub se: f64,
    /// Wald z.
    pub z: f64,
    /// Two-sided Wald p.
    pub p: f64,
    /// exp(coef).
    pub odds_ratio: f64,
    /// Wald CI of the OR, lower.
    pub ci_low: f64,
    /// Wald CI of the OR, upper.
    pub ci_high: f64,
    /// Profile-likelihood CI of the OR, lower (None if not computed / not found).
    pub profile_ci_low: Option<f64>,
    /// Profile-likelihood CI of the OR, upper.
    pub profile_ci_high: Option<f64>,
}

/// Separation diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeparationWarning {
    /// "complete", "quasi-complete" or "suspected".
    pub kind: String,
    /// Terms or columns implicated, if identified.
    pub terms: Vec<String>,
    /// Human-readable explanation.
    pub message: String,
}

/// A fitted logistic model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticModel {
    /// "ML (IRLS, as R glm)" or "Firth penalised likelihood".
    pub method: String,
    /// Observations used.
    pub n: usize,
    /// Number of events (y = 1).
    pub events: usize,
    /// Coefficient table.
    pub coefficients: Vec<Coefficient>,
    /// Residual deviance (-2 log-likelihood, unpenalised).
    pub deviance: f64,
    /// Null deviance.
    pub null_deviance: f64,
    /// Residual df.
    pub df_residual: usize,
    /// Null df.
    pub df_null: usize,
    /// Log-likelihood (unpenalised).
    pub loglik: f64,
    /// Penalised log-likelihood (Firth only).
    pub penalized_loglik: Option<f64>,
    /// AIC = deviance + 2p.
    pub aic: f64,
    /// BIC = deviance + p log n.
    pub bic: f64,
    /// Likelihood-ratio test against the intercept-only model.
    pub lr_test: TestStat,
    /// Iterations.
    pub iterations: usize,
    /// Converged?
    pub converged: bool,
    /// Covariance matrix of the coefficients.
    pub vcov: Matrix,
    /// Terms (frame columns) and their coefficient indices.
    pub terms: Vec<crate::design::TermInfo>,
    /// Fitted probabilities (design row order).
    pub fitted: Vec<f64>,
    /// Linear predictor.
    pub linear_predictor: Vec<f64>,
    /// Separation diagnosis, if any.
    pub separation: Option<SeparationWarning>,
    /// Warnings (as R would print, plus our own).
    pub warnings: Vec<String>,
}

/// A chi-square type test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TestStat {
    /// Statistic.
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
}

impl TestStat {
    /// Chi-square test from statistic and df.
    pub fn chisq(statistic: f64, df: f64) -> TestStat {
        TestStat { statistic, df, p: if df > 0.0 { pchisq_upper(statistic, df) } else { f64::NAN } }
    }
}

fn check_binary(y: &[f64]) -> Result<usize> {
    let mut events = 0;
    for (i, &v) in y.iter().enumerate() {
        if v == 1.0 {
            events += 1;
        } else if v != 0.0 {
            return Err(StatsError::InvalidInput(format!("outcome must be 0/1; row {} has {v}", i + 1)));
        }
    }
    Ok(events)
}

/// Fit a logistic regression of 0/1 `y` on a design matrix.
pub fn fit_logistic(design: &Design, y: &[f64], opts: &LogisticOptions) -> Result<LogisticModel> {
    let events = check_binary(y)?;
    if y.len() != design.n {
        return Err(StatsError::DimensionMismatch("outcome length differs from design rows".into()));
    }
    let (n, p) = (design.n, design.p);
    let mut warnings = Vec::new();
    let (coef, vcov, deviance, iterations, converged, eta, mu, penalized, f01) = if opts.firth {
        let f = firth_fit(&design.x, n, p, y)?;
        (f.coef, f.vcov, f.deviance, f.iterations, f.converged, f.eta, f.mu, Some(f.penalized_loglik), false)
    } else {
        let f = irls_logistic(&design.x, n, p, y, None, None, &opts.control).map_err(|e| name_singular(e, design))?;
        (f.coef, f.vcov, f.deviance, f.iterations, f.converged, f.eta, f.mu, None, f.fitted_0_or_1)
    };
    if !converged {
        warnings.push("glm.fit: algorithm did not converge".to_string());
    }
    if f01 {
        warnings.push("glm.fit: fitted probabilities numerically 0 or 1 occurred".to_string());
    }
    let ybar = y.iter().sum::<f64>() / n as f64;
    // every row's deviance residual is one of two numbers (y is 0/1): add them in row
    // order, as binomial_deviance would, without a log per row
    let m0 = if design.intercept { ybar } else { 0.5 };
    let (d0, d1) = (dev_resid(0.0, m0), dev_resid(1.0, m0));
    let null_deviance = y.iter().fold(0.0, |s, &v| s + if v == 1.0 { d1 } else { d0 });
    let zc = qnorm(1.0 - (1.0 - opts.conf_level) / 2.0);
    let profile = if opts.profile_ci && !opts.firth && converged {
        let se: Vec<f64> = (0..p).map(|j| vcov[j * p + j].sqrt()).collect();
        Some(profile_ci(design, y, &coef, &se, -deviance / 2.0, opts.conf_level))
    } else {
        None
    };
    let mut coefficients = Vec::with_capacity(p);
    for j in 0..p {
        let b = coef[j];
        let se = vcov[j * p + j].sqrt();
        let z = b / se;
        let (pl, ph) = match &profile {
            Some(v) => (v[j].0.map(f64::exp), v[j].1.map(f64::exp)),
            None => (None, None),
        };
        coefficients.push(Coefficient {
            term: design.col_names[j].clone(),
            coef: b,
            se,
            z,
            p: p_two_sided_normal(z),
            odds_ratio: b.exp(),
            ci_low: (b - zc * se).exp(),
            ci_high: (b + zc * se).exp(),
            profile_ci_low: pl,
            profile_ci_high: ph,
        });
    }
    let separation = detect_separation(design, y, &mu, converged, f01);
    if let Some(s) = &separation {
        warnings.push(s.message.clone());
    }
    let pf = p as f64;
    let df_null = if design.intercept { n - 1 } else { n };
    Ok(LogisticModel {
        method: if opts.firth { "Firth penalised likelihood".into() } else { "ML (IRLS, as R glm)".into() },
        n,
        events,
        coefficients,
        deviance,
        null_deviance,
        df_residual: n.saturating_sub(p),
        df_null,
        loglik: -deviance / 2.0,
        penalized_loglik: penalized,
        aic: deviance + 2.0 * pf,
        bic: deviance + pf * (n as f64).ln(),
        lr_test: TestStat::chisq(null_deviance - deviance, (p - design.intercept as usize) as f64),
        iterations,
        converged,
        vcov: Matrix { nrow: p, ncol: p, data: vcov },
        terms: design.terms.clone(),
        fitted: mu,
        linear_predictor: eta,
        separation,
        warnings,
    })
}

fn name_singular(e: StatsError, design: &Design) -> StatsError {
    match e {
        StatsError::Singular(m) => {
            let col = m
                .split("column ")
                .nth(1)
                .and_then(|s| s.split(' ').next())
                .and_then(|s| s.parse::<usize>().ok())
                .and_then(|j| design.col_names.get(j).cloned());
            match col {
                Some(c) => StatsError::Singular(format!("{m}; aliased or constant column '{c}'")),
                None => StatsError::Singular(m),
            }
        }
        other => other,
    }
}

/// Detect complete / quasi-complete separation (see docs/stats.md): a dummy or binary
/// column whose "1" rows all share one outcome (quasi-complete by that term), or fitted
/// probabilities numerically 0/1 together with non-convergence or |eta| > 15.
fn detect_separation(design: &Design, y: &[f64], mu: &[f64], converged: bool, f01: bool) -> Option<SeparationWarning> {
    let n = design.n;
    let mut terms = Vec::new();
    for j in 0..design.p {
        if design.intercept && j == 0 {
            continue;
        }
        // one pass: the (at most two) distinct values and the outcome counts at each
        let mut vals = (f64::NAN, f64::NAN);
        let mut counts = [[0usize; 2]; 2]; // [value][outcome is 1]
        let mut binary = true;
        for i in 0..n {
            let v = design.x[i * design.p + j];
            let slot = if vals.0.is_nan() || vals.0 == v {
                vals.0 = v;
                0
            } else if vals.1.is_nan() || vals.1 == v {
                vals.1 = v;
                1
            } else {
                binary = false;
                break;
            };
            counts[slot][usize::from(y[i] == 1.0)] += 1;
        }
        if !binary || vals.1.is_nan() {
            continue;
        }
        for (level, [n0, n1]) in [vals.0, vals.1].into_iter().zip(counts) {
            if n1 == 0 || n0 == 0 {
                terms.push(format!(
                    "{} (all rows with value {} have outcome {})",
                    design.col_names[j],
                    level,
                    if n1 == 0 { 0 } else { 1 }
                ));
                break;
            }
        }
    }
    if terms.is_empty() && !f01 {
        return None;
    }
    let extreme = mu.iter().filter(|&&m| !(1e-10..=1.0 - 1e-10).contains(&m)).count();
    let all_extreme = extreme == n;
    if !terms.is_empty() {
        return Some(SeparationWarning {
            kind: "quasi-complete".into(),
            terms: terms.clone(),
            message: format!(
                "quasi-complete separation: {}; maximum-likelihood estimates do not exist (infinite coefficients); consider Firth's penalised likelihood",
                terms.join("; ")
            ),
        });
    }
    if f01 && (all_extreme || !converged) {
        return Some(SeparationWarning {
            kind: if all_extreme { "complete".into() } else { "quasi-complete".into() },
            terms: vec![],
            message: format!(
                "{} separation suspected: {extreme} of {n} fitted probabilities are numerically 0 or 1 and the fit {}; estimates and SEs are unreliable, consider Firth's penalised likelihood",
                if all_extreme { "complete" } else { "quasi-complete" },
                if converged { "converged" } else { "did not converge" }
            ),
        });
    }
    if f01 {
        return Some(SeparationWarning {
            kind: "suspected".into(),
            terms: vec![],
            message: format!("possible separation: {extreme} fitted probabilities are numerically 0 or 1"),
        });
    }
    None
}

/// Exact profile-likelihood limits (log-odds scale) for every coefficient.
fn profile_ci(
    design: &Design,
    y: &[f64],
    coef: &[f64],
    se: &[f64],
    ll_hat: f64,
    level: f64,
) -> Vec<(Option<f64>, Option<f64>)> {
    let (n, p) = (design.n, design.p);
    let crit = qchisq(level, 1.0);
    let mut out = Vec::with_capacity(p);
    let mut xr = vec![0.0; n * (p - 1)];
    let mut xj = vec![0.0; n];
    let mut off = vec![0.0; n];
    for j in 0..p {
        for i in 0..n {
            let row = design.row(i);
            let mut c = 0;
            for (k, v) in row.iter().enumerate() {
                if k == j {
                    xj[i] = *v;
                } else {
                    xr[i * (p - 1) + c] = *v;
                    c += 1;
                }
            }
        }
        // Each profile point is fitted from R's default start (mustart), as the golden
        // script's glm.fit does: warm starts far from the profile MLE can make IRLS diverge.
        let mut g = |bj: f64| -> f64 {
            for i in 0..n {
                off[i] = bj * xj[i];
            }
            match irls_logistic(&xr, n, p - 1, y, Some(&off), None, &GlmControl::tight()) {
                Ok(f) if f.deviance.is_finite() => 2.0 * (ll_hat + f.deviance / 2.0) - crit,
                _ => f64::NAN,
            }
        };
        let b = coef[j];
        let s = se[j];
        let mut find = |dir: f64| -> Option<f64> {
            let mut far = b + dir * 6.0 * s;
            let mut tries = 0;
            while g(far) < 0.0 {
                far = b + (far - b) * 2.0;
                tries += 1;
                if tries > 10 {
                    return None;
                }
            }
            let (lo, hi) = if dir < 0.0 { (far, b) } else { (b, far) };
            brent_root(lo, hi, &mut g)
        };
        let lo = find(-1.0);
        let hi = find(1.0);
        out.push((lo, hi));
    }
    out
}

struct FirthFit {
    coef: Vec<f64>,
    vcov: Vec<f64>,
    deviance: f64,
    penalized_loglik: f64,
    iterations: usize,
    converged: bool,
    eta: Vec<f64>,
    mu: Vec<f64>,
}

fn plain_mu(eta: f64) -> f64 {
    1.0 / (1.0 + (-eta).exp())
}

fn loglik_binary(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(&yi, &m)| if yi == 1.0 { m.ln() } else { (1.0 - m).ln() }).sum()
}

/// Firth's bias-reduced logistic regression (as `logistf`): modified score
/// `X'(y - mu + h (1/2 - mu))`, Newton steps with step-halving on the penalised
/// log-likelihood `l(b) + log|X'WX|/2`, convergence when the largest step < 1e-10.
fn firth_fit(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<FirthFit> {
    let mut beta = vec![0.0; p];
    let mut eta = vec![0.0; n];
    let mut mu = vec![0.5; n];
    let pen = |beta: &[f64], eta: &mut [f64], mu: &mut [f64]| -> Result<(f64, Vec<f64>, Vec<f64>)> {
        x_beta(x, n, p, beta, None, eta);
        for i in 0..n {
            mu[i] = plain_mu(eta[i]);
        }
        let w: Vec<f64> = mu.iter().map(|m| m * (1.0 - m)).collect();
        let (a, _) = cross_products(x, n, p, &w, &vec![0.0; n]);
        let mut l = a.clone();
        cholesky(&mut l, p, 1e-14)?;
        let ll = loglik_binary(y, mu) + 0.5 * chol_logdet(&l, p);
        Ok((ll, l, w))
    };
    let (mut ll, mut l, mut w) = pen(&beta, &mut eta, &mut mu)?;
    let mut converged = false;
    let mut iterations = 0;
    for it in 1..=100 {
        iterations = it;
        // hat values h_i = w_i x_i' A^{-1} x_i
        let mut score = vec![0.0; p];
        let mut v = vec![0.0; p];
        for i in 0..n {
            let row = &x[i * p..(i + 1) * p];
            v.copy_from_slice(row);
            chol_solve(&l, p, &mut v);
            let h = w[i] * row.iter().zip(&v).map(|(a, b)| a * b).sum::<f64>();
            let r = y[i] - mu[i] + h * (0.5 - mu[i]);
            for j in 0..p {
                score[j] += row[j] * r;
            }
        }
        let mut step = score.clone();
        chol_solve(&l, p, &mut step);
        let maxstep = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        let mut k = 0;
        loop {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + s).collect();
            let mut e2 = eta.clone();
            let mut m2 = mu.clone();
            if let Ok((ll2, l2, w2)) = pen(&cand, &mut e2, &mut m2)
                && (ll2 >= ll - 1e-12 || k >= 30)
            {
                beta = cand;
                ll = ll2;
                l = l2;
                w = w2;
                eta = e2;
                mu = m2;
                break;
            }
            step.iter_mut().for_each(|s| *s /= 2.0);
            k += 1;
            if k > 40 {
                return Err(StatsError::NoConvergence("Firth: step halving failed".into()));
            }
        }
        if maxstep < 1e-10 {
            converged = true;
            break;
        }
    }
    let vcov = chol_inverse(&l, p);
    let deviance = -2.0 * loglik_binary(y, &mu);
    Ok(FirthFit { coef: beta, vcov, deviance, penalized_loglik: ll, iterations, converged, eta, mu })
}

/// Term-level Wald test `b' V^{-1} b` on the coefficients of a term (joint for factors).
pub fn wald_term_test(model: &LogisticModel, term: &str) -> Result<TestStat> {
    let t =
        model.terms.iter().find(|t| t.name == term).ok_or_else(|| StatsError::UnknownName(format!("term '{term}'")))?;
    let idx = &t.columns;
    let v = model.vcov.select(idx);
    let b: Vec<f64> = idx.iter().map(|&j| model.coefficients[j].coef).collect();
    let w = quad_form_inv(&v.data, idx.len(), &b)?;
    Ok(TestStat::chisq(w, idx.len() as f64))
}

/// Likelihood-ratio test of a nested (smaller) model against a bigger one.
pub fn lr_test(smaller: &LogisticModel, bigger: &LogisticModel) -> TestStat {
    let df = smaller.df_residual as f64 - bigger.df_residual as f64;
    TestStat::chisq(smaller.deviance - bigger.deviance, df)
}

/// Predicted probabilities of a fitted model on a design with the same columns.
pub fn predict(model: &LogisticModel, design: &Design) -> Result<Vec<f64>> {
    if design.p != model.coefficients.len() {
        return Err(StatsError::DimensionMismatch("design columns differ from the model".into()));
    }
    let b: Vec<f64> = model.coefficients.iter().map(|c| c.coef).collect();
    Ok((0..design.n).map(|i| linkinv(design.row(i).iter().zip(&b).map(|(x, b)| x * b).sum::<f64>())).collect())
}

#[cfg(test)]
mod weighted_tests {
    use super::*;

    /// Frequency weights give the fit of the rows repeated that many times: what validate's
    /// fastbw resamples rely on when they fit only the distinct rows drawn.
    #[test]
    fn frequency_weights_fit_the_expanded_rows() {
        let (n, p) = (60, 3);
        let mut s: u64 = 12345;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = Vec::with_capacity(n * p);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let (a, b) = (next() * 4.0 - 2.0, next() * 2.0);
            x.extend([1.0, a, b]);
            y.push(f64::from(next() < 1.0 / (1.0 + (-(0.3 + 0.8 * a - 0.5 * b)).exp())));
        }
        let counts: Vec<f64> = (0..n).map(|i| (i % 3 + 1) as f64).collect();
        let (mut xe, mut ye) = (Vec::new(), Vec::new());
        for i in 0..n {
            for _ in 0..counts[i] as usize {
                xe.extend_from_slice(&x[i * p..(i + 1) * p]);
                ye.push(y[i]);
            }
        }
        // Both fits run to full convergence: at glm's default tolerance they stop ~1e-8 apart
        // because they start from different points (glm's mustart vs zero coefficients).
        let control = GlmControl::tight();
        let expanded = irls_logistic(&xe, ye.len(), p, &ye, None, None, &control).unwrap();
        let weighted = irls_weighted(&x, p, &y, &counts, &[0.0; 3], &control).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
        assert!(close(weighted.deviance, expanded.deviance), "{} vs {}", weighted.deviance, expanded.deviance);
        for (a, b) in weighted.coef.iter().zip(&expanded.coef) {
            assert!(close(*a, *b), "coef {a} vs {b}");
        }
        for (a, b) in weighted.vcov.iter().zip(&expanded.vcov) {
            assert!(close(*a, *b), "vcov {a} vs {b}");
        }
    }
}
