//! Variable selection for logistic models: stepwise by AIC reproducing `MASS::stepAIC`
//! (backward, forward, both; whole terms, so a factor enters or leaves with all its
//! dummies), backward elimination by p-value (term-level Wald or likelihood-ratio), and
//! univariable screening.
//!
//! `stepAIC` rule, as in MASS 7.3: at each step every candidate (drop each current term
//! not in the lower scope, and/or add each upper-scope term not in the model) is refitted;
//! rows are ordered by AIC with `<none>` first (stable order, so ties keep the current
//! model); if `<none>` is best the search stops; otherwise the best change is made, and
//! the search stops without recording it if the new AIC is not below the old one by more
//! than 1e-7. Candidate models are fitted exactly as `glm` does (default control).

use crate::design::Design;
use crate::dist::pchisq_upper;
use crate::error::Result;
use crate::logistic::{
    GlmControl, IrlsState, LogisticModel, LogisticOptions, fit_logistic, irls_cross_products, irls_from_state,
    irls_logistic, wald_term_test,
};
use serde::Serialize;

/// Direction of the stepwise search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Start from the full model and drop terms.
    Backward,
    /// Start from the lower model and add terms.
    Forward,
    /// Drop or add at every step.
    Both,
}

/// One candidate row of a drop1/add1 table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// `<none>`, or the term name.
    pub term: String,
    /// `none`, `drop` or `add`.
    pub change: String,
    /// Degrees of freedom of the term (None for `<none>`).
    pub df: Option<f64>,
    /// Residual deviance of the candidate model.
    pub deviance: f64,
    /// AIC (k = penalty per parameter) of the candidate model.
    pub aic: f64,
    /// Likelihood-ratio chi-square of the change (None for `<none>`).
    pub lrt: Option<f64>,
    /// Its p-value.
    pub p: Option<f64>,
}

/// One step of the search: the current model, all candidates, and what was done.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepTable {
    /// Terms of the current model (in formula order).
    pub model_terms: Vec<String>,
    /// AIC of the current model.
    pub current_aic: f64,
    /// Candidates (drop rows then add rows, `<none>` first).
    pub candidates: Vec<Candidate>,
    /// `- term`, `+ term` or `stop`.
    pub action: String,
}

/// One row of stepAIC's `$anova` path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathRow {
    /// `""` for the start, else `- term` / `+ term`.
    pub step: String,
    /// |change in residual df| (None for the start).
    pub df: Option<f64>,
    /// |change in deviance| (None for the start).
    pub deviance: Option<f64>,
    /// Residual df.
    pub resid_df: f64,
    /// Residual deviance.
    pub resid_dev: f64,
    /// AIC.
    pub aic: f64,
}

/// Result of a stepwise search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// Direction used.
    pub direction: Direction,
    /// Penalty per parameter (2 = AIC, log(n) = BIC).
    pub k: f64,
    /// Terms of the selected model, in formula order.
    pub final_terms: Vec<String>,
    /// AIC of the selected model.
    pub final_aic: f64,
    /// The selected model.
    pub final_model: LogisticModel,
    /// stepAIC's `$anova`.
    pub path: Vec<PathRow>,
    /// Every step's candidate table.
    pub tables: Vec<StepTable>,
}

#[derive(Clone)]
struct QuickFit {
    deviance: f64,
    n_coef: usize,
    coef: Vec<f64>,
    /// Linear predictor and fitted means where IRLS ended (for the next step's candidates).
    eta: Vec<f64>,
    mu: Vec<f64>,
}

/// How a candidate's IRLS starts.
enum Start {
    /// glm's default (`mustart`).
    Default,
    /// From nearby coefficients (the optimum is the same, the path shorter).
    Warm(Vec<f64>),
    /// From the current model's fitted values (R's `mustart = fitted(current)`), with the
    /// first step's cross-products cut out of the current model's.
    FirstStep(std::sync::Arc<IrlsState>, (Vec<f64>, Vec<f64>)),
}

/// One candidate fit. A start other than glm's default that does not converge cleanly (or
/// stalls on fitted 0/1 probabilities) is discarded for a refit from glm's default start;
/// deviances from any start agree far below the 1e-10 tolerance.
fn quick_fit(full: &Design, y: &[f64], terms: &[String], start: &Start) -> Result<QuickFit> {
    let t: Vec<&str> = terms.iter().map(|s| s.as_str()).collect();
    let d = full.subset(&t)?;
    let control = GlmControl::default();
    let f = match start {
        Start::Default => None,
        Start::Warm(s) => Some(irls_logistic(&d.x, d.n, d.p, y, None, Some(s), &control)),
        Start::FirstStep(state, first) => {
            Some(irls_from_state(&d.x, d.p, y, None, None, None, (**state).clone(), Some(first.clone()), &control))
        }
    };
    let f = match f {
        Some(Ok(f)) if f.converged && !f.fitted_0_or_1 => f,
        _ => irls_logistic(&d.x, d.n, d.p, y, None, None, &control)?,
    };
    Ok(QuickFit { deviance: f.deviance, n_coef: d.p, coef: f.coef, eta: f.eta, mu: f.mu })
}

/// Fit many candidate models (each with its start), on all available cores unless already
/// inside a parallel bootstrap worker; a free thread takes the next candidate.
fn fit_all(full: &Design, y: &[f64], models: &[(Vec<String>, Start)]) -> Vec<Result<QuickFit>> {
    let work = full.n * full.p * full.p * models.len();
    crate::linalg::par_map(models.iter().collect(), work >= 2_000_000, |m| quick_fit(full, y, &m.0, &m.1))
}

/// First-step starts for dropping each of `drops` from the current model: the current
/// model's IRLS cross-products at its fitted values are formed once, and every candidate's
/// first step solves its own sub-block (the rows and columns of the terms it keeps).
fn first_steps(
    full: &Design,
    y: &[f64],
    current: &[String],
    (eta, mu): &(Vec<f64>, Vec<f64>),
    deviance: f64,
    drops: &[&String],
) -> Result<Vec<Start>> {
    if drops.is_empty() {
        return Ok(Vec::new());
    }
    let t: Vec<&str> = current.iter().map(|s| s.as_str()).collect();
    let d = full.subset(&t)?;
    let state = IrlsState::fitted(eta.clone(), mu.clone(), deviance);
    let (g, gb) = irls_cross_products(&d.x, d.p, y, &state);
    let state = std::sync::Arc::new(state);
    Ok(drops
        .iter()
        .map(|term| {
            let gone: &[usize] = d.terms.iter().find(|x| &&x.name == term).map_or(&[], |x| &x.columns);
            let keep: Vec<usize> = (0..d.p).filter(|c| !gone.contains(c)).collect();
            let (g, p) = (&g, d.p);
            let a: Vec<f64> = keep.iter().flat_map(|&r| keep.iter().map(move |&c| g[r * p + c])).collect();
            let b: Vec<f64> = keep.iter().map(|&r| gb[r]).collect();
            Start::FirstStep(state.clone(), (a, b))
        })
        .collect())
}

/// Warm start for a candidate model: the current coefficients without the dropped term's
/// columns, or with zeros for the added term's columns (design column order: intercept,
/// then terms in model order).
fn warm_start(full: &Design, current: &[String], coef: &[f64], change: &str, term: &str) -> Option<Vec<f64>> {
    let width = |t: &str| full.terms.iter().find(|x| x.name == t).map(|x| x.columns.len());
    let mut out = Vec::with_capacity(coef.len() + 4);
    let mut pos = usize::from(full.intercept);
    out.extend_from_slice(coef.get(..pos)?);
    let mut shift = 0.0;
    for t in current {
        let w = width(t)?;
        if change == "drop" && t == term {
            // keep the mean linear predictor: the intercept absorbs the dropped term's mean
            let cols = &full.terms.iter().find(|x| x.name == t.as_str())?.columns;
            for (&c, b) in cols.iter().zip(coef.get(pos..pos + w)?) {
                let mean = (0..full.n).map(|i| full.x[i * full.p + c]).sum::<f64>() / full.n as f64;
                shift += b * mean;
            }
        } else {
            out.extend_from_slice(coef.get(pos..pos + w)?);
        }
        pos += w;
    }
    if full.intercept {
        out[0] += shift;
    }
    if pos != coef.len() {
        return None;
    }
    if change == "add" {
        out.extend(std::iter::repeat_n(0.0, width(term)?));
    }
    Some(out)
}

fn term_df(full: &Design, term: &str) -> f64 {
    full.terms.iter().find(|t| t.name == term).map(|t| t.columns.len() as f64).unwrap_or(0.0)
}

/// `MASS::stepAIC` for a logistic model.
///
/// * `full` — a design containing every term of the upper scope (build it once on the
///   complete-case rows of all candidate columns);
/// * `start` — terms of the starting model; `lower` — terms that must stay;
///   `upper` — the scope (defaults to the terms of `full` when empty);
/// * `k` — 2 for AIC.
#[allow(clippy::too_many_arguments)]
pub fn step_aic(
    full: &Design,
    y: &[f64],
    start: &[&str],
    lower: &[&str],
    upper: &[&str],
    direction: Direction,
    k: f64,
    final_opts: &LogisticOptions,
) -> Result<StepResult> {
    let upper: Vec<String> = if upper.is_empty() {
        full.terms.iter().map(|t| t.name.clone()).collect()
    } else {
        upper.iter().map(|s| s.to_string()).collect()
    };
    let n = full.n as f64;
    let mut current: Vec<String> = start.iter().map(|s| s.to_string()).collect();
    let cur = quick_fit(full, y, &current, &Start::Default)?;
    let mut cur_dev = cur.deviance;
    let mut cur_p = cur.n_coef;
    let mut cur_coef = cur.coef;
    let mut cur_fit = (cur.eta, cur.mu);
    let mut aic = cur_dev + k * cur_p as f64;
    let mut path = vec![PathRow {
        step: String::new(),
        df: None,
        deviance: None,
        resid_df: n - cur_p as f64,
        resid_dev: cur_dev,
        aic,
    }];
    let mut tables = Vec::new();
    let backward = matches!(direction, Direction::Backward | Direction::Both);
    let forward = matches!(direction, Direction::Forward | Direction::Both);
    for _ in 0..1000 {
        let mut cands: Vec<(String, String, Vec<String>)> = Vec::new();
        if backward {
            for t in &current {
                if lower.contains(&t.as_str()) {
                    continue;
                }
                let m: Vec<String> = current.iter().filter(|x| *x != t).cloned().collect();
                cands.push((t.clone(), "drop".into(), m));
            }
        }
        if forward {
            for t in &upper {
                if current.contains(t) {
                    continue;
                }
                let mut m = current.clone();
                m.push(t.clone());
                cands.push((t.clone(), "add".into(), m));
            }
        }
        let drops: Vec<&String> = cands.iter().filter(|c| c.1 == "drop").map(|c| &c.0).collect();
        let mut firsts = first_steps(full, y, &current, &cur_fit, cur_dev, &drops)?.into_iter();
        let models: Vec<(Vec<String>, Start)> = cands
            .iter()
            .map(|c| {
                let start = if c.1 == "drop" { firsts.next() } else { None };
                let start = start.unwrap_or_else(|| {
                    warm_start(full, &current, &cur_coef, &c.1, &c.0).map_or(Start::Default, Start::Warm)
                });
                (c.2.clone(), start)
            })
            .collect();
        let mut fits: Vec<QuickFit> = fit_all(full, y, &models).into_iter().collect::<Result<_>>()?;
        let mut rows = vec![Candidate {
            term: "<none>".into(),
            change: "none".into(),
            df: None,
            deviance: cur_dev,
            aic,
            lrt: None,
            p: None,
        }];
        for ((t, change, _), f) in cands.iter().zip(&fits) {
            let df = term_df(full, t);
            let lrt = if change == "drop" { f.deviance - cur_dev } else { cur_dev - f.deviance };
            rows.push(Candidate {
                term: t.clone(),
                change: change.clone(),
                df: Some(df),
                deviance: f.deviance,
                aic: f.deviance + k * f.n_coef as f64,
                lrt: Some(lrt),
                p: Some(pchisq_upper(lrt, df)),
            });
        }
        // stable order by AIC, <none> first on ties
        let mut best = 0;
        for (i, r) in rows.iter().enumerate() {
            if r.aic < rows[best].aic {
                best = i;
            }
        }
        let mut table = StepTable {
            model_terms: current.clone(),
            current_aic: aic,
            candidates: rows.clone(),
            action: "stop".into(),
        };
        if best == 0 || rows.len() == 1 {
            tables.push(table);
            break;
        }
        let chosen = rows[best].clone();
        let new_terms = cands[best - 1].2.clone();
        let f = fits.swap_remove(best - 1);
        let new_aic = f.deviance + k * f.n_coef as f64;
        let sign = if chosen.change == "drop" { "-" } else { "+" };
        table.action = format!("{sign} {}", chosen.term);
        tables.push(table);
        if new_aic >= aic + 1e-7 {
            break;
        }
        path.push(PathRow {
            step: format!("{sign} {}", chosen.term),
            df: Some((f.n_coef as f64 - cur_p as f64).abs()),
            deviance: Some((f.deviance - cur_dev).abs()),
            resid_df: n - f.n_coef as f64,
            resid_dev: f.deviance,
            aic: new_aic,
        });
        current = new_terms;
        cur_dev = f.deviance;
        cur_p = f.n_coef;
        cur_coef = f.coef;
        cur_fit = (f.eta, f.mu);
        aic = new_aic;
    }
    let t: Vec<&str> = current.iter().map(|s| s.as_str()).collect();
    let d = full.subset(&t)?;
    let final_model = fit_logistic(&d, y, final_opts)?;
    Ok(StepResult { direction, k, final_terms: current, final_aic: aic, final_model, path, tables })
}

/// How the p-value of a term is obtained in backward elimination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PCriterion {
    /// Term-level Wald test (joint `b' V^-1 b` for factors).
    Wald,
    /// Likelihood-ratio test of dropping the term (`drop1(test = "Chisq")`).
    Lrt,
}

/// One term's test in a p-value elimination step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermTest {
    /// Term.
    pub term: String,
    /// Degrees of freedom.
    pub df: f64,
    /// Wald or LR chi-square.
    pub statistic: f64,
    /// p-value.
    pub p: f64,
}

/// One elimination step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PStep {
    /// Current terms.
    pub model_terms: Vec<String>,
    /// Test of every removable term.
    pub table: Vec<TermTest>,
    /// `remove TERM (p = ...)` or `stop: all p < alpha`.
    pub action: String,
}

/// Result of backward elimination by p-value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PBackwardResult {
    /// Criterion.
    pub criterion: PCriterion,
    /// Threshold: remove while the largest p >= alpha.
    pub alpha: f64,
    /// Terms removed, in order.
    pub removal_order: Vec<String>,
    /// Remaining terms.
    pub final_terms: Vec<String>,
    /// Final model.
    pub final_model: LogisticModel,
    /// Steps.
    pub steps: Vec<PStep>,
}

/// Backward elimination: repeatedly refit and remove the term with the largest term-level
/// p-value while that p >= `alpha`; `keep` terms are never removed.
pub fn backward_pvalue(
    full: &Design,
    y: &[f64],
    start: &[&str],
    keep: &[&str],
    alpha: f64,
    criterion: PCriterion,
    final_opts: &LogisticOptions,
) -> Result<PBackwardResult> {
    let mut current: Vec<String> = start.iter().map(|s| s.to_string()).collect();
    let mut removal_order = Vec::new();
    let mut steps = Vec::new();
    let quick = LogisticOptions { profile_ci: false, ..final_opts.clone() };
    loop {
        let t: Vec<&str> = current.iter().map(|s| s.as_str()).collect();
        let d = full.subset(&t)?;
        let m = fit_logistic(&d, y, &quick)?;
        let mut table = Vec::new();
        let removable: Vec<String> = current.iter().filter(|t| !keep.contains(&t.as_str())).cloned().collect();
        match criterion {
            PCriterion::Wald => {
                for t in &removable {
                    let w = wald_term_test(&m, t)?;
                    table.push(TermTest { term: t.clone(), df: w.df, statistic: w.statistic, p: w.p });
                }
            }
            PCriterion::Lrt => {
                let models: Vec<(Vec<String>, Start)> = removable
                    .iter()
                    .map(|t| (current.iter().filter(|x| *x != t).cloned().collect(), Start::Default))
                    .collect();
                let fits = fit_all(full, y, &models);
                for (t, f) in removable.iter().zip(fits) {
                    let f = f?;
                    let df = term_df(full, t);
                    let lrt = f.deviance - m.deviance;
                    table.push(TermTest { term: t.clone(), df, statistic: lrt, p: pchisq_upper(lrt, df) });
                }
            }
        }
        let worst = table.iter().enumerate().fold(None::<usize>, |b, (i, r)| match b {
            Some(j) if table[j].p >= r.p => Some(j),
            _ => Some(i),
        });
        let Some(wi) = worst else {
            steps.push(PStep { model_terms: current.clone(), table, action: "stop: no removable terms".into() });
            break;
        };
        let w = table[wi].clone();
        if w.p < alpha {
            steps.push(PStep { model_terms: current.clone(), table, action: format!("stop: all p < {alpha}") });
            break;
        }
        steps.push(PStep { model_terms: current.clone(), table, action: format!("remove {} (p = {})", w.term, w.p) });
        removal_order.push(w.term.clone());
        current.retain(|x| *x != w.term);
        if current.is_empty() {
            break;
        }
    }
    let t: Vec<&str> = current.iter().map(|s| s.as_str()).collect();
    let d = full.subset(&t)?;
    let final_model = fit_logistic(&d, y, final_opts)?;
    Ok(PBackwardResult { criterion, alpha, removal_order, final_terms: current, final_model, steps })
}

/// One univariable model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenRow {
    /// Term.
    pub term: String,
    /// The model `y ~ term` (coefficients, ORs, CIs).
    pub model: LogisticModel,
    /// Likelihood-ratio test against the null model.
    pub lr_p: f64,
    /// Whether `lr_p < threshold`.
    pub selected: bool,
}

/// Univariable screening: fit `y ~ term` for every term; select those with LR p < threshold
/// (the studies used 0.05-0.2).
pub fn univariable_screen(
    full: &Design,
    y: &[f64],
    terms: &[&str],
    threshold: f64,
    opts: &LogisticOptions,
) -> Result<Vec<ScreenRow>> {
    terms
        .iter()
        .map(|t| {
            let d = full.subset(&[t])?;
            let m = fit_logistic(&d, y, opts)?;
            let lr_p = m.lr_test.p;
            Ok(ScreenRow { term: t.to_string(), model: m, lr_p, selected: lr_p < threshold })
        })
        .collect()
}
