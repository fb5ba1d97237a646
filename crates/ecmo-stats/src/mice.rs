//! Multiple imputation by chained equations (van Buuren & Groothuis-Oudshoorn 2011, what
//! `mice` does), Rubin's rules, pooled AUC, and bootstrap optimism correction with the
//! imputation redone inside every resample.
//!
//! Per incomplete column (visited left to right, `maxit` sweeps, each imputation an
//! independent chain seeded from `seed`): every other column predicts it (numeric as is,
//! categorical as dummies), with the current imputations filled in. Methods, chosen as mice's
//! defaults:
//! * numeric (not 0/1): predictive mean matching, `mice.impute.pmm` type 1 — Bayesian linear
//!   regression draw (`.norm.draw`, ridge 1e-5), observed rows predicted with beta-hat, missing
//!   rows with beta*, one of the 5 closest observed values drawn as the imputation;
//! * binary (0/1 numeric or 2-level categorical): logistic regression with a parameter draw
//!   `beta* ~ N(beta-hat, V)` and a Bernoulli draw (`mice.impute.logreg`; mice adds
//!   pseudo-observations against separation, here a 1e-5 ridge on X'WX does that job);
//! * categorical with more than 2 levels: multinomial logistic regression, categories drawn
//!   from the fitted probabilities (`mice.impute.polyreg`, which also does not draw the
//!   parameters).
//!
//! Starting values are random draws from the observed values, as mice.
//!
//! The random numbers differ from R's, so imputations agree with mice only in distribution:
//! the golden test compares pooled estimates within Monte-Carlo error, and Rubin's rules
//! exactly on R's own per-imputation estimates.

use crate::design::{Column, Design, Frame};
use crate::dist::{p_two_sided_t, qnorm, qt};
use crate::error::{Result, StatsError};
use crate::linalg::{chol_inverse, chol_solve, cholesky};
use crate::logistic::{GlmControl, irls_logistic, linkinv};
use crate::rng::{Rng, in_worker, parallel_replicates};
use crate::roc::{RocDirection, roc};
use crate::validate::ValidatedIndex;
use serde::Serialize;

/// Imputation settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiceOptions {
    /// Number of imputations.
    pub m: usize,
    /// Sweeps over the incomplete columns.
    pub maxit: usize,
    /// Seed; the same seed gives the same imputations on any machine and thread count.
    pub seed: u64,
    /// Donors for predictive mean matching (mice: 5).
    pub donors: usize,
}

impl Default for MiceOptions {
    fn default() -> Self {
        MiceOptions { m: 20, maxit: 10, seed: 1, donors: 5 }
    }
}

/// How one column was imputed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnImputation {
    /// Column.
    pub name: String,
    /// "pmm", "logreg", "polyreg" or "" (complete).
    pub method: String,
    /// Missing values.
    pub missing: usize,
}

/// `m` completed copies of a frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imputed {
    /// Settings.
    pub options: MiceOptions,
    /// Per column.
    pub columns: Vec<ColumnImputation>,
    /// Rows with at least one missing value.
    pub incomplete_rows: usize,
    /// Completed frames.
    #[serde(skip)]
    pub datasets: Vec<Frame>,
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    Complete,
    Pmm,
    Logreg,
    Polyreg,
}

fn method_of(col: &Column) -> Method {
    let missing = (0..col.len()).any(|i| col.is_missing(i));
    if !missing {
        return Method::Complete;
    }
    match col {
        Column::Numeric(v) => {
            if v.iter().filter(|x| !x.is_nan()).all(|&x| x == 0.0 || x == 1.0) {
                Method::Logreg
            } else {
                Method::Pmm
            }
        }
        Column::Categorical { levels, .. } => {
            if levels.len() <= 2 {
                Method::Logreg
            } else {
                Method::Polyreg
            }
        }
    }
}

/// Design matrix (intercept + every column but `skip`) from the current state.
fn predictors(frame: &Frame, state: &[Column], skip: usize) -> (Vec<f64>, usize) {
    let n = frame.nrows();
    let mut q = 1;
    for (k, c) in state.iter().enumerate() {
        if k == skip {
            continue;
        }
        q += match c {
            Column::Numeric(_) => 1,
            Column::Categorical { levels, .. } => levels.len() - 1,
        };
    }
    let mut x = vec![0.0; n * q];
    for i in 0..n {
        x[i * q] = 1.0;
    }
    let mut col = 1;
    for (k, c) in state.iter().enumerate() {
        if k == skip {
            continue;
        }
        match c {
            Column::Numeric(v) => {
                for i in 0..n {
                    x[i * q + col] = v[i];
                }
                col += 1;
            }
            Column::Categorical { levels, codes, reference } => {
                for l in (0..levels.len()).filter(|l| l != reference) {
                    for i in 0..n {
                        x[i * q + col] = (codes[i] == Some(l)) as u8 as f64;
                    }
                    col += 1;
                }
            }
        }
    }
    (x, q)
}

fn rows_of(x: &[f64], q: usize, rows: &[usize]) -> Vec<f64> {
    rows.iter().flat_map(|&i| x[i * q..(i + 1) * q].iter().copied()).collect()
}

/// X'X + ridge * diag(X'X) and its Cholesky factor (p small).
fn ridge_factor(xtx: &mut [f64], q: usize, ridge: f64) -> Result<()> {
    for j in 0..q {
        xtx[j * q + j] += ridge * xtx[j * q + j].max(1e-300);
    }
    cholesky(xtx, q, 1e-14)
}

fn crossprod(x: &[f64], n: usize, q: usize, w: Option<&[f64]>) -> Vec<f64> {
    let mut a = vec![0.0; q * q];
    for i in 0..n {
        let r = &x[i * q..(i + 1) * q];
        let wi = w.map(|w| w[i]).unwrap_or(1.0);
        for j in 0..q {
            let v = wi * r[j];
            for k in j..q {
                a[j * q + k] += v * r[k];
            }
        }
    }
    for j in 0..q {
        for k in 0..j {
            a[j * q + k] = a[k * q + j];
        }
    }
    a
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A draw `beta + scale * L z`, `L L' = V`, z standard normal (mice's `t(chol(V)) %*% rnorm`).
fn draw_around(beta: &[f64], v: &[f64], q: usize, scale: f64, rng: &mut Rng) -> Result<Vec<f64>> {
    let mut l = v.to_vec();
    cholesky(&mut l, q, 1e-300)?;
    let z: Vec<f64> = (0..q).map(|_| rng.normal()).collect();
    Ok((0..q).map(|i| beta[i] + scale * (0..=i).map(|k| l[i * q + k] * z[k]).sum::<f64>()).collect())
}

/// Predictive mean matching (mice type 1).
fn impute_pmm(
    x: &[f64],
    q: usize,
    y: &[f64],
    obs: &[usize],
    mis: &[usize],
    donors: usize,
    rng: &mut Rng,
) -> Result<Vec<f64>> {
    let xo = rows_of(x, q, obs);
    let yo: Vec<f64> = obs.iter().map(|&i| y[i]).collect();
    let mut f = crossprod(&xo, obs.len(), q, None);
    ridge_factor(&mut f, q, 1e-5)?;
    let v = chol_inverse(&f, q);
    let mut coef: Vec<f64> = (0..q).map(|j| (0..obs.len()).map(|i| xo[i * q + j] * yo[i]).sum()).collect();
    chol_solve(&f, q, &mut coef);
    let ssr: f64 = (0..obs.len()).map(|i| (yo[i] - dot(&xo[i * q..(i + 1) * q], &coef)).powi(2)).sum();
    let df = (obs.len() as f64 - q as f64).max(1.0);
    let sigma = (ssr / rng.chisq(df)).sqrt();
    let beta = draw_around(&coef, &v, q, sigma, rng)?;
    let mut fitted: Vec<(f64, f64)> = (0..obs.len()).map(|i| (dot(&xo[i * q..(i + 1) * q], &coef), yo[i])).collect();
    fitted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let k = donors.clamp(1, fitted.len());
    Ok(mis
        .iter()
        .map(|&i| {
            let target = dot(&x[i * q..(i + 1) * q], &beta);
            // window of the k closest predicted values around the insertion point
            let pos = fitted.partition_point(|f| f.0 < target);
            let (mut lo, mut hi) = (pos, pos);
            while hi - lo < k {
                let left = if lo > 0 { Some(target - fitted[lo - 1].0) } else { None };
                let right = if hi < fitted.len() { Some(fitted[hi].0 - target) } else { None };
                match (left, right) {
                    (Some(l), Some(r)) if l <= r => lo -= 1,
                    (Some(_), None) => lo -= 1,
                    _ => hi += 1,
                }
            }
            fitted[lo + rng.below(k)].1
        })
        .collect())
}

/// Ridge-stabilised logistic fit (Newton); returns (coef, covariance).
fn logistic_fit(x: &[f64], n: usize, q: usize, y: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    let mut b = vec![0.0; q];
    let mut last = vec![0.0; q * q];
    for _ in 0..50 {
        let mu: Vec<f64> = (0..n).map(|i| linkinv(dot(&x[i * q..(i + 1) * q], &b))).collect();
        let w: Vec<f64> = mu.iter().map(|m| (m * (1.0 - m)).max(1e-10)).collect();
        let mut h = crossprod(x, n, q, Some(&w));
        ridge_factor(&mut h, q, 1e-5)?;
        let mut g: Vec<f64> = (0..q).map(|j| (0..n).map(|i| x[i * q + j] * (y[i] - mu[i])).sum()).collect();
        // the ridge damps the Newton step; under separation the 50-step cap keeps the
        // coefficients finite (mice augments the data instead)
        chol_solve(&h, q, &mut g);
        let step = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for j in 0..q {
            b[j] += g[j];
        }
        last = h;
        if step < 1e-8 {
            break;
        }
    }
    Ok((b.clone(), chol_inverse(&last, q)))
}

fn impute_logreg(x: &[f64], q: usize, y: &[f64], obs: &[usize], mis: &[usize], rng: &mut Rng) -> Result<Vec<f64>> {
    let xo = rows_of(x, q, obs);
    let yo: Vec<f64> = obs.iter().map(|&i| y[i]).collect();
    let (coef, v) = logistic_fit(&xo, obs.len(), q, &yo)?;
    let beta = draw_around(&coef, &v, q, 1.0, rng)?;
    Ok(mis.iter().map(|&i| (rng.uniform() <= linkinv(dot(&x[i * q..(i + 1) * q], &beta))) as u8 as f64).collect())
}

/// Multinomial logit (reference = category 0) by Newton with a small ridge; probabilities
/// for the `mis` rows.
fn multinom_probs(x: &[f64], q: usize, y: &[usize], k: usize, obs: &[usize], mis: &[usize]) -> Result<Vec<Vec<f64>>> {
    let r = (k - 1) * q;
    let mut b = vec![0.0; r];
    let probs = |b: &[f64], row: &[f64]| -> Vec<f64> {
        let mut e = vec![1.0; k];
        let mut mx = 0.0f64;
        let lin: Vec<f64> = (1..k).map(|c| dot(row, &b[(c - 1) * q..c * q])).collect();
        for l in &lin {
            mx = mx.max(*l);
        }
        e[0] = (-mx).exp();
        for c in 1..k {
            e[c] = (lin[c - 1] - mx).exp();
        }
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    };
    for _ in 0..50 {
        let mut g = vec![0.0; r];
        let mut h = vec![0.0; r * r];
        for &i in obs {
            let row = &x[i * q..(i + 1) * q];
            let p = probs(&b, row);
            for c in 1..k {
                let yc = (y[i] == c) as u8 as f64;
                for j in 0..q {
                    g[(c - 1) * q + j] += row[j] * (yc - p[c]);
                }
                for d in 1..k {
                    let w = p[c] * ((c == d) as u8 as f64 - p[d]);
                    for j in 0..q {
                        for l in 0..q {
                            h[((c - 1) * q + j) * r + (d - 1) * q + l] += w * row[j] * row[l];
                        }
                    }
                }
            }
        }
        ridge_factor(&mut h, r, 1e-5)?;
        chol_solve(&h, r, &mut g);
        let step = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        for j in 0..r {
            b[j] += g[j];
        }
        if step < 1e-8 {
            break;
        }
    }
    Ok(mis.iter().map(|&i| probs(&b, &x[i * q..(i + 1) * q])).collect())
}

/// One chain: returns the completed columns.
fn chain(frame: &Frame, methods: &[Method], opts: &MiceOptions, rng: &mut Rng) -> Result<Vec<Column>> {
    let n = frame.nrows();
    let mut state = frame.columns.clone();
    let missing: Vec<Vec<usize>> =
        frame.columns.iter().map(|c| (0..n).filter(|&i| c.is_missing(i)).collect()).collect();
    let observed: Vec<Vec<usize>> =
        frame.columns.iter().map(|c| (0..n).filter(|&i| !c.is_missing(i)).collect()).collect();
    for (j, col) in state.iter_mut().enumerate() {
        if methods[j] == Method::Complete {
            continue;
        }
        if observed[j].is_empty() {
            return Err(StatsError::NotEnoughData(format!("column '{}' has no observed values", frame.names[j])));
        }
        let obs = &observed[j];
        match col {
            Column::Numeric(v) => {
                for &i in &missing[j] {
                    v[i] = v[obs[rng.below(obs.len())]];
                }
            }
            Column::Categorical { codes, .. } => {
                for &i in &missing[j] {
                    codes[i] = codes[obs[rng.below(obs.len())]];
                }
            }
        }
    }
    for _ in 0..opts.maxit {
        for j in 0..state.len() {
            if methods[j] == Method::Complete {
                continue;
            }
            let (x, q) = predictors(frame, &state, j);
            let (obs, mis) = (&observed[j], &missing[j]);
            let named = |e: StatsError| match e {
                StatsError::Singular(m) => StatsError::Singular(format!("imputing '{}': {m}", frame.names[j])),
                other => other,
            };
            match (&mut state[j], methods[j]) {
                (Column::Numeric(v), Method::Pmm) => {
                    let new = impute_pmm(&x, q, v, obs, mis, opts.donors, rng).map_err(named)?;
                    for (&i, val) in mis.iter().zip(new) {
                        v[i] = val;
                    }
                }
                (Column::Numeric(v), Method::Logreg) => {
                    let new = impute_logreg(&x, q, v, obs, mis, rng).map_err(named)?;
                    for (&i, val) in mis.iter().zip(new) {
                        v[i] = val;
                    }
                }
                (Column::Categorical { codes, levels, .. }, Method::Logreg) => {
                    let y: Vec<f64> = codes.iter().map(|c| (*c == Some(1)) as u8 as f64).collect();
                    let new = if levels.len() < 2 {
                        vec![0.0; mis.len()]
                    } else {
                        impute_logreg(&x, q, &y, obs, mis, rng).map_err(named)?
                    };
                    for (&i, val) in mis.iter().zip(new) {
                        codes[i] = Some(val as usize);
                    }
                }
                (Column::Categorical { codes, levels, .. }, Method::Polyreg) => {
                    let y: Vec<usize> = codes.iter().map(|c| c.unwrap_or(0)).collect();
                    let p = multinom_probs(&x, q, &y, levels.len(), obs, mis).map_err(named)?;
                    for (&i, pi) in mis.iter().zip(p) {
                        let u = rng.uniform();
                        let mut acc = 0.0;
                        let mut pick = pi.len() - 1;
                        for (c, pc) in pi.iter().enumerate() {
                            acc += pc;
                            if u < acc {
                                pick = c;
                                break;
                            }
                        }
                        codes[i] = Some(pick);
                    }
                }
                _ => {}
            }
        }
    }
    Ok(state)
}

/// Impute every missing value of `frame` `opts.m` times.
pub fn mice(frame: &Frame, opts: &MiceOptions) -> Result<Imputed> {
    if opts.m == 0 || opts.maxit == 0 {
        return Err(StatsError::InvalidInput("need m >= 1 imputations and maxit >= 1".into()));
    }
    let n = frame.nrows();
    let methods: Vec<Method> = frame.columns.iter().map(method_of).collect();
    let columns = frame
        .names
        .iter()
        .zip(&frame.columns)
        .zip(&methods)
        .map(|((name, c), m)| ColumnImputation {
            name: name.clone(),
            method: match m {
                Method::Complete => "",
                Method::Pmm => "pmm",
                Method::Logreg => "logreg",
                Method::Polyreg => "polyreg",
            }
            .into(),
            missing: (0..n).filter(|&i| c.is_missing(i)).count(),
        })
        .collect();
    let run = |k: usize, rng: &mut Rng| chain(frame, &methods, opts, rng).map(|c| (k, c));
    let chains: Vec<Result<(usize, Vec<Column>)>> = if in_worker() {
        (0..opts.m).map(|k| run(k, &mut Rng::stream(opts.seed, k as u64))).collect()
    } else {
        parallel_replicates(opts.m, opts.seed, run)
    };
    let mut datasets = Vec::with_capacity(opts.m);
    for c in chains {
        let (_, cols) = c?;
        datasets.push(Frame { names: frame.names.clone(), columns: cols });
    }
    let incomplete_rows = (0..n).filter(|&i| frame.columns.iter().any(|c| c.is_missing(i))).count();
    Ok(Imputed { options: opts.clone(), columns, incomplete_rows, datasets })
}

/// A coefficient pooled with Rubin's rules (as `mice::pool`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledEstimate {
    /// Term.
    pub term: String,
    /// Mean of the estimates (Q-bar).
    pub estimate: f64,
    /// sqrt(T).
    pub se: f64,
    /// estimate / se.
    pub statistic: f64,
    /// Barnard-Rubin degrees of freedom.
    pub df: f64,
    /// Two-sided p from t(df).
    pub p: f64,
    /// CI lower limit (t quantile).
    pub ci_low: f64,
    /// CI upper limit.
    pub ci_high: f64,
    /// Within-imputation variance (U-bar).
    pub ubar: f64,
    /// Between-imputation variance (B).
    pub b: f64,
    /// Total variance T = U-bar + (1 + 1/m) B.
    pub t: f64,
    /// Relative increase in variance due to missingness.
    pub riv: f64,
    /// Proportion of the variance due to missingness.
    pub lambda: f64,
    /// Fraction of missing information.
    pub fmi: f64,
}

/// Rubin's rules for scalar estimates: `estimates[i][j]`, `variances[i][j]` = imputation i,
/// term j; `dfcom` the complete-data df (`f64::INFINITY` for none).
pub fn pool_rubin(
    terms: &[String],
    estimates: &[Vec<f64>],
    variances: &[Vec<f64>],
    dfcom: f64,
    level: f64,
) -> Result<Vec<PooledEstimate>> {
    let m = estimates.len();
    if m < 2 || variances.len() != m {
        return Err(StatsError::NotEnoughData("Rubin's rules need at least two imputations".into()));
    }
    let mf = m as f64;
    Ok((0..terms.len())
        .map(|j| {
            let q: Vec<f64> = estimates.iter().map(|e| e[j]).collect();
            let qbar = q.iter().sum::<f64>() / mf;
            let ubar = variances.iter().map(|v| v[j]).sum::<f64>() / mf;
            let b = q.iter().map(|v| (v - qbar).powi(2)).sum::<f64>() / (mf - 1.0);
            let t = ubar + (1.0 + 1.0 / mf) * b;
            let riv = (1.0 + 1.0 / mf) * b / ubar;
            let lambda = (1.0 + 1.0 / mf) * b / t;
            // Barnard & Rubin (1999), as mice:::barnard.rubin
            let lam = lambda.max(1e-4);
            let dfold = (mf - 1.0) / (lam * lam);
            let df = if dfcom.is_finite() {
                let dfobs = (dfcom + 1.0) / (dfcom + 3.0) * dfcom * (1.0 - lam);
                dfold * dfobs / (dfold + dfobs)
            } else {
                dfold
            };
            let fmi = (riv + 2.0 / (df + 3.0)) / (1.0 + riv);
            let se = t.sqrt();
            let stat = qbar / se;
            let tq = qt(1.0 - (1.0 - level) / 2.0, df);
            PooledEstimate {
                term: terms[j].clone(),
                estimate: qbar,
                se,
                statistic: stat,
                df,
                p: p_two_sided_t(stat, df),
                ci_low: qbar - tq * se,
                ci_high: qbar + tq * se,
                ubar,
                b,
                t,
                riv,
                lambda,
                fmi,
            }
        })
        .collect())
}

/// The outcome of a completed frame as 0/1 (numeric 0/1, or a 2-level categorical whose second
/// level is the event).
fn outcome_of(frame: &Frame, name: &str) -> Result<Vec<f64>> {
    match frame.column(name)? {
        Column::Numeric(v) => {
            if v.iter().any(|&x| x != 0.0 && x != 1.0) {
                return Err(StatsError::InvalidInput(format!("outcome '{name}' must be 0/1")));
            }
            Ok(v.clone())
        }
        Column::Categorical { levels, codes, .. } if levels.len() == 2 => {
            Ok(codes.iter().map(|c| (*c == Some(1)) as u8 as f64).collect())
        }
        Column::Categorical { .. } => Err(StatsError::InvalidInput(format!("outcome '{name}' must have two levels"))),
    }
}

/// Pooled AUC: Rubin's rules on logit(AUC) with the DeLong variance by the delta method
/// (`var / (A (1 - A))^2`), back-transformed; normal-based CI.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledAuc {
    /// Method.
    pub method: String,
    /// Pooled AUC.
    pub auc: f64,
    /// CI lower limit.
    pub ci_low: f64,
    /// CI upper limit.
    pub ci_high: f64,
    /// AUC of each imputation.
    pub per_imputation: Vec<f64>,
}

/// A logistic model fitted on every imputation and pooled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PooledLogistic {
    /// Imputations.
    pub m: usize,
    /// Rows.
    pub n: usize,
    /// Complete-data residual df (n - p).
    pub dfcom: f64,
    /// Pooled coefficients (log-odds scale).
    pub coefficients: Vec<PooledEstimate>,
    /// Pooled AUC of the fitted probabilities.
    pub auc: PooledAuc,
}

fn fit_one(frame: &Frame, outcome: &str, terms: &[&str]) -> Result<(Design, Vec<f64>, crate::logistic::IrlsFit)> {
    let y = outcome_of(frame, outcome)?;
    let rows: Vec<usize> = (0..frame.nrows()).collect();
    let d = Design::build(frame, terms, &rows, true)?;
    let f = irls_logistic(&d.x, d.n, d.p, &y, None, None, &GlmControl::default())?;
    Ok((d, y, f))
}

/// Fit `outcome ~ terms` (glm as R) on every completed frame; pool with Rubin's rules.
pub fn pooled_logistic(imp: &Imputed, outcome: &str, terms: &[&str], level: f64) -> Result<PooledLogistic> {
    let mut est = Vec::new();
    let mut var = Vec::new();
    let mut la = Vec::new();
    let mut lv = Vec::new();
    let mut aucs = Vec::new();
    let mut names = Vec::new();
    let (mut n, mut p) = (0, 0);
    for frame in &imp.datasets {
        let (d, y, f) = fit_one(frame, outcome, terms)?;
        (n, p) = (d.n, d.p);
        names = d.col_names.clone();
        var.push((0..d.p).map(|j| f.vcov[j * d.p + j]).collect());
        est.push(f.coef);
        let is_case: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
        let r = roc(&f.mu, &is_case, Some(RocDirection::ControlsLower))?;
        aucs.push(r.auc);
        la.push((r.auc / (1.0 - r.auc)).ln());
        lv.push(r.variance / (r.auc * (1.0 - r.auc)).powi(2));
    }
    let dfcom = (n - p) as f64;
    let coefficients = pool_rubin(&names, &est, &var, dfcom, level)?;
    let ests: Vec<Vec<f64>> = la.iter().map(|v| vec![*v]).collect();
    let vars: Vec<Vec<f64>> = lv.iter().map(|v| vec![*v]).collect();
    let pa = &pool_rubin(&["auc".into()], &ests, &vars, f64::INFINITY, level)?[0];
    let z = qnorm(1.0 - (1.0 - level) / 2.0);
    let expit = |v: f64| 1.0 / (1.0 + (-v).exp());
    Ok(PooledLogistic {
        m: imp.datasets.len(),
        n,
        dfcom,
        coefficients,
        auc: PooledAuc {
            method: "Rubin's rules on logit(AUC), DeLong variance by the delta method, normal CI".into(),
            auc: expit(pa.estimate),
            ci_low: expit(pa.estimate - z * pa.se),
            ci_high: expit(pa.estimate + z * pa.se),
            per_imputation: aucs,
        },
    })
}

/// Bootstrap optimism correction with the imputation inside every resample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiValidation {
    /// Method.
    pub method: String,
    /// Resamples requested.
    pub replicates: usize,
    /// Resamples imputed and fitted successfully.
    pub successful: usize,
    /// Imputations per resample.
    pub m: usize,
    /// Seed.
    pub seed: u64,
    /// dxy, auc, r2, intercept, slope, brier.
    pub indexes: Vec<ValidatedIndex>,
}

/// Harrell's bootstrap with multiple imputation inside (Wahl et al. 2016, "bootstrap, then
/// impute"): the incomplete rows are resampled, the resample imputed `opts.m` times and the
/// model fitted on each imputation; training = index on that imputed resample, test = index
/// of the same coefficients on the matching imputation of the original data; optimism =
/// mean(training - test) over resamples and imputations; apparent = mean over the original
/// imputations. No variable selection (the model is fixed).
pub fn validate_mi(
    frame: &Frame,
    outcome: &str,
    terms: &[&str],
    opts: &MiceOptions,
    replicates: usize,
    seed: u64,
) -> Result<MiValidation> {
    if replicates == 0 {
        return Err(StatsError::InvalidInput("need at least one bootstrap replicate".into()));
    }
    let n = frame.nrows();
    let original = mice(frame, opts)?;
    let mut apparent = [0.0; 6];
    let mut designs = Vec::new();
    for f in &original.datasets {
        let (d, y, fit) = fit_one(f, outcome, terms)?;
        let a = crate::validate::indexes(&y, &fit.eta)?;
        for k in 0..6 {
            apparent[k] += a[k] / original.datasets.len() as f64;
        }
        designs.push((d, y));
    }
    let reps: Vec<Option<[f64; 6]>> = parallel_replicates(replicates, seed, |b, rng| {
        let rows: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let boot =
            Frame { names: frame.names.clone(), columns: frame.columns.iter().map(|c| take(c, &rows)).collect() };
        let o = MiceOptions { seed: opts.seed ^ (b as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15), ..opts.clone() };
        let run = || -> Result<[f64; 6]> {
            let imp = mice(&boot, &o)?;
            let mut opt = [0.0; 6];
            for (i, f) in imp.datasets.iter().enumerate() {
                let (_, yb, fit) = fit_one(f, outcome, terms)?;
                let train = crate::validate::indexes(&yb, &fit.eta)?;
                let (d, y) = &designs[i % designs.len()];
                let lp: Vec<f64> = (0..d.n).map(|r| dot(d.row(r), &fit.coef)).collect();
                let test = crate::validate::indexes(y, &lp)?;
                for k in 0..6 {
                    opt[k] += (train[k] - test[k]) / imp.datasets.len() as f64;
                }
            }
            Ok(opt)
        };
        run().ok().filter(|o| o.iter().all(|v| v.is_finite()))
    });
    let ok: Vec<&[f64; 6]> = reps.iter().flatten().collect();
    if ok.is_empty() {
        return Err(StatsError::NoConvergence("no bootstrap resample could be imputed and fitted".into()));
    }
    let kf = ok.len() as f64;
    let names = ["dxy", "auc", "r2", "intercept", "slope", "brier"];
    let indexes = (0..6)
        .map(|k| {
            let optimism = ok.iter().map(|o| o[k]).sum::<f64>() / kf;
            ValidatedIndex {
                name: names[k].into(),
                apparent: apparent[k],
                training: f64::NAN,
                test: f64::NAN,
                optimism,
                corrected: apparent[k] - optimism,
            }
        })
        .collect();
    Ok(MiValidation {
        method: "bootstrap optimism with multiple imputation inside each resample (bootstrap, then impute)".into(),
        replicates,
        successful: ok.len(),
        m: opts.m,
        seed,
        indexes,
    })
}

fn take(c: &Column, rows: &[usize]) -> Column {
    match c {
        Column::Numeric(v) => Column::Numeric(rows.iter().map(|&r| v[r]).collect()),
        Column::Categorical { levels, codes, reference } => Column::Categorical {
            levels: levels.clone(),
            codes: rows.iter().map(|&r| codes[r]).collect(),
            reference: *reference,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubin_with_identical_imputations_is_the_complete_data_answer() {
        let e = vec![vec![1.0, 2.0]; 3];
        let v = vec![vec![0.25, 0.04]; 3];
        let p = pool_rubin(&["a".into(), "b".into()], &e, &v, 100.0, 0.95).unwrap();
        assert_eq!(p[0].estimate, 1.0);
        assert_eq!(p[0].b, 0.0);
        assert!((p[0].se - 0.5).abs() < 1e-15);
    }

    #[test]
    fn imputations_are_seeded_and_fill_every_value() {
        let x: Vec<f64> = (0..40).map(|i| if i % 7 == 0 { f64::NAN } else { i as f64 }).collect();
        let y: Vec<f64> = (0..40).map(|i| if i % 9 == 0 { f64::NAN } else { (i % 2) as f64 }).collect();
        let mut f = Frame::new();
        f.push("x", Column::Numeric(x)).unwrap();
        f.push("y", Column::Numeric(y)).unwrap();
        let o = MiceOptions { m: 3, maxit: 2, seed: 4, donors: 5 };
        let a = mice(&f, &o).unwrap();
        assert_eq!(a, mice(&f, &o).unwrap());
        for d in &a.datasets {
            assert!((0..40).all(|i| !d.columns[0].is_missing(i) && !d.columns[1].is_missing(i)));
        }
        assert_eq!(a.columns[0].method, "pmm");
        assert_eq!(a.columns[1].method, "logreg");
    }
}
