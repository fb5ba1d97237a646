//! Fast backward elimination (Lawless & Singhal 1978) as `rms::fastbw(rule = "aic", type =
//! "residual")`: factors are dropped on Wald statistics computed from the full model's
//! coefficients and covariance alone, without refitting. At each step the remaining factor
//! with the smallest `chisq - k df` (its Wald chi-square under the approximate reduced model)
//! is the candidate; it is deleted while the residual Wald chi-square of everything deleted,
//! `b_D' V_DD^-1 b_D`, satisfies `residual - k df_D <= 0`. The reduced model's approximate
//! coefficients are `b_K - V_KD V_DD^-1 b_D`, covariance `V_KK - V_KD V_DD^-1 V_DK`.
//! This is the selection `rms::validate(bw = TRUE)` repeats in every resample.

use crate::design::TermInfo;
use crate::dist::pchisq_upper;
use crate::error::{Result, StatsError};
use crate::linalg::{Matrix, quad_form_inv, spd_inverse};
use crate::logistic::LogisticModel;
use serde::Serialize;

/// One deleted factor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FastBwStep {
    /// Factor (term).
    pub term: String,
    /// Its Wald chi-square when deleted.
    pub chisq: f64,
    /// Its df.
    pub df: f64,
    /// Its p.
    pub p: f64,
    /// Residual chi-square of all factors deleted so far.
    pub residual: f64,
    /// Residual df.
    pub residual_df: f64,
    /// Residual p.
    pub residual_p: f64,
    /// residual - k residual_df.
    pub aic: f64,
}

/// Result of [`fastbw`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FastBw {
    /// Deleted factors in order.
    pub deleted: Vec<FastBwStep>,
    /// Factors kept, in model order.
    pub kept: Vec<String>,
    /// Names of the kept coefficients (intercept first).
    pub coefficient_names: Vec<String>,
    /// Approximate coefficients after deletion.
    pub coefficients: Vec<f64>,
}

fn sub(v: &Matrix, rows: &[usize], cols: &[usize]) -> Vec<f64> {
    rows.iter().flat_map(|&r| cols.iter().map(move |&c| v.get(r, c))).collect()
}

/// `rms::fastbw` with `rule = "aic"` (penalty `k`, 2 as rms), `type = "residual"`, on a fitted
/// logistic model with an intercept (the intercept is never deleted).
pub fn fastbw(model: &LogisticModel, k: f64) -> Result<FastBw> {
    let coef: Vec<f64> = model.coefficients.iter().map(|c| c.coef).collect();
    let names: Vec<String> = model.coefficients.iter().map(|c| c.term.clone()).collect();
    fastbw_parts(&coef, &model.vcov, &model.terms, &names, k)
}

/// [`fastbw`] from coefficients (intercept first), their covariance, the terms' column indices
/// and the coefficient names (what the bootstrap loops have without a full `LogisticModel`).
pub fn fastbw_parts(coef: &[f64], cov: &Matrix, terms: &[TermInfo], names: &[String], k: f64) -> Result<FastBw> {
    let pt = coef.len();
    if terms.iter().any(|t| t.columns.contains(&0)) {
        return Err(StatsError::InvalidInput("fastbw needs a model with an intercept".into()));
    }
    let mut factors_in: Vec<usize> = (0..terms.len()).collect();
    let mut parms_in: Vec<usize> = (0..pt).collect();
    let mut beta = coef.to_vec();
    let mut vcur = cov.clone();
    let mut deleted = Vec::new();
    while !factors_in.is_empty() {
        // candidate: the smallest chisq - k df under the current approximate model
        let mut best: Option<(usize, f64, f64, f64)> = None; // (factor, crit, chisq, df)
        for &f in &factors_in {
            let pos: Vec<usize> =
                terms[f].columns.iter().filter_map(|c| parms_in.iter().position(|p| p == c)).collect();
            let b: Vec<f64> = pos.iter().map(|&i| beta[i]).collect();
            let v = sub(&vcur, &pos, &pos);
            let chisq = quad_form_inv(&v, pos.len(), &b)?;
            let df = pos.len() as f64;
            let crit = chisq - k * df;
            if best.is_none_or(|(_, c, _, _)| crit < c) {
                best = Some((f, crit, chisq, df));
            }
        }
        let Some((f, _, chisq, df)) = best else { break };
        let cols = &terms[f].columns;
        let keep: Vec<usize> = parms_in.iter().copied().filter(|p| !cols.contains(p)).collect();
        let del: Vec<usize> = (0..pt).filter(|p| !keep.contains(p)).collect();
        let bd: Vec<f64> = del.iter().map(|&i| coef[i]).collect();
        let vdd = sub(cov, &del, &del);
        let residual = quad_form_inv(&vdd, del.len(), &bd)?;
        let rdf = del.len() as f64;
        if residual - k * rdf > 0.0 {
            break;
        }
        deleted.push(FastBwStep {
            term: terms[f].name.clone(),
            chisq,
            df,
            p: pchisq_upper(chisq, df),
            residual,
            residual_df: rdf,
            residual_p: pchisq_upper(residual, rdf),
            aic: residual - k * rdf,
        });
        factors_in.retain(|&x| x != f);
        parms_in = keep;
        // approximate reduced model
        let vdd_inv = spd_inverse(&vdd, del.len())?;
        let vkd = sub(cov, &parms_in, &del);
        let (nk, nd) = (parms_in.len(), del.len());
        let mut w = vec![0.0; nk * nd];
        for i in 0..nk {
            for j in 0..nd {
                w[i * nd + j] = (0..nd).map(|l| vkd[i * nd + l] * vdd_inv[l * nd + j]).sum();
            }
        }
        beta = (0..nk).map(|i| coef[parms_in[i]] - (0..nd).map(|j| w[i * nd + j] * bd[j]).sum::<f64>()).collect();
        let mut nv = Matrix::zeros(nk, nk);
        for i in 0..nk {
            for j in 0..nk {
                let corr: f64 = (0..nd).map(|l| w[i * nd + l] * vkd[j * nd + l]).sum();
                nv.set(i, j, cov.get(parms_in[i], parms_in[j]) - corr);
            }
        }
        vcur = nv;
    }
    Ok(FastBw {
        deleted,
        kept: factors_in.iter().map(|&f| terms[f].name.clone()).collect(),
        coefficient_names: parms_in.iter().map(|&i| names[i].clone()).collect(),
        coefficients: beta,
    })
}
