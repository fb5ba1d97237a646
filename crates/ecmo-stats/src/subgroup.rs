//! Subgroup analysis: the same logistic model (and the ROC curve of the predictor) fitted
//! within each level of a grouping variable, plus the likelihood-ratio test of the
//! predictor x subgroup interaction in the model fitted on all rows.
//!
//! R equivalents: `glm(y ~ x + adj, subset = g == level)` per level; `pROC::roc` + `ci.auc`
//! per level; `anova(glm(y ~ x + adj + g), glm(y ~ x + adj + g + x:g), test = "LRT")` for the
//! interaction; `pROC::roc.test(paired = FALSE)` between the curves of two levels.
//!
//! A level where the model cannot be fitted (no events, an adjustment level absent, aliased
//! columns) is reported with the reason instead of failing the whole analysis.

use crate::design::{Column, Design, Frame, TermInfo};
use crate::dist::pchisq_upper;
use crate::error::{Result, StatsError};
use crate::htest::Alternative;
use crate::logistic::{Coefficient, LogisticOptions, TestStat, fit_logistic};
use crate::roc::{AucSummary, Roc, RocDirection, delong_unpaired, roc};
use serde::Serialize;

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct SubgroupSpec<'a> {
    /// Predictor term (a frame column; numeric or categorical).
    pub predictor: &'a str,
    /// Adjustment terms (frame columns), the same in every level.
    pub adjust: &'a [&'a str],
    /// Grouping column (must be categorical).
    pub subgroup: &'a str,
    /// Logistic fit options (profile CIs, confidence level).
    pub logistic: LogisticOptions,
    /// ROC direction for the predictor's curves (`None` = pROC's automatic rule, per level).
    pub roc_direction: Option<RocDirection>,
}

/// The model within one level (or on all rows).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupFit {
    /// Level label (`"all"` for the overall fit).
    pub level: String,
    /// Rows in the level.
    pub n: usize,
    /// Events (y = 1) in the level.
    pub events: usize,
    /// Coefficient rows of the predictor (one per dummy for a categorical predictor): log-OR,
    /// SE, Wald z/p, OR with Wald and (if asked) profile-likelihood CIs.
    pub predictor: Vec<Coefficient>,
    /// Residual deviance of the level's model.
    pub deviance: Option<f64>,
    /// ROC of the predictor (numeric predictors only; needs cases and controls).
    pub roc: Option<AucSummary>,
    /// Why the model (or ROC) could not be computed, and fit warnings (separation, ...).
    pub warnings: Vec<String>,
}

/// Likelihood-ratio test of the interaction terms.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InteractionTest {
    /// Which test (always the likelihood-ratio test, named for the report).
    pub method: String,
    /// Model without the interaction, as an R formula over the column names.
    pub main_model: String,
    /// Model with it.
    pub interaction_model: String,
    /// Names of the interaction columns (`predictor:subgroup=level`).
    pub terms: Vec<String>,
    /// Deviance of the main-effects model.
    pub deviance_main: f64,
    /// Deviance of the interaction model.
    pub deviance_interaction: f64,
    /// LR chi-square, df (number of interaction columns), p.
    pub test: TestStat,
}

/// Test of equal AUCs across levels (independent samples).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AucHeterogeneity {
    /// Method.
    pub method: String,
    /// Statistic (D for two levels, chi-square for more).
    pub statistic: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
}

/// Result of [`subgroup_logistic`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupAnalysis {
    /// Predictor.
    pub predictor: String,
    /// Adjustment terms.
    pub adjust: Vec<String>,
    /// Grouping column.
    pub subgroup: String,
    /// The model on all rows (without the subgroup term).
    pub overall: SubgroupFit,
    /// One fit per level, in level order (levels without rows are left out).
    pub levels: Vec<SubgroupFit>,
    /// LR test of predictor x subgroup.
    pub interaction: InteractionTest,
    /// Equality of the per-level AUCs, when every level has a curve.
    pub auc_heterogeneity: Option<AucHeterogeneity>,
    /// Notes (e.g. ROC directions differ between levels).
    pub warnings: Vec<String>,
}

fn fit_in(frame: &Frame, y: &[f64], rows: &[usize], spec: &SubgroupSpec, level: &str) -> (SubgroupFit, Option<Roc>) {
    let yl: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
    let events = yl.iter().filter(|&&v| v == 1.0).count();
    let mut out = SubgroupFit {
        level: level.to_string(),
        n: rows.len(),
        events,
        predictor: Vec::new(),
        deviance: None,
        roc: None,
        warnings: Vec::new(),
    };
    let mut terms = vec![spec.predictor];
    terms.extend_from_slice(spec.adjust);
    let fitted = Design::build(frame, &terms, rows, true).and_then(|d| {
        if events == 0 || events == rows.len() {
            return Err(StatsError::NotEnoughData(format!(
                "{} events among {} rows: the odds ratio is not estimable",
                events,
                rows.len()
            )));
        }
        fit_logistic(&d, &yl, &spec.logistic)
    });
    match fitted {
        Ok(m) => {
            if let Some(t) = m.terms.iter().find(|t| t.name == spec.predictor) {
                out.predictor = t.columns.iter().map(|&j| m.coefficients[j].clone()).collect();
            }
            out.deviance = Some(m.deviance);
            out.warnings.extend(m.warnings);
        }
        Err(e) => out.warnings.push(format!("model not fitted: {e}")),
    }
    let mut curve = None;
    if let Ok(Column::Numeric(x)) = frame.column(spec.predictor) {
        let xl: Vec<f64> = rows.iter().map(|&i| x[i]).collect();
        let is_case: Vec<bool> = yl.iter().map(|&v| v == 1.0).collect();
        match roc(&xl, &is_case, spec.roc_direction) {
            Ok(r) => {
                out.roc = Some(AucSummary::from(&r));
                curve = Some(r);
            }
            Err(e) => out.warnings.push(format!("ROC not computed: {e}")),
        }
    }
    (out, curve)
}

/// Per-level logistic fits and ROC curves of `spec.predictor`, and the LR test of the
/// predictor x subgroup interaction. `y` is 0/1 per frame row; every row is used, so drop
/// incomplete rows first ([`Frame::complete_rows`]).
pub fn subgroup_logistic(frame: &Frame, y: &[f64], spec: &SubgroupSpec) -> Result<SubgroupAnalysis> {
    if y.len() != frame.nrows() {
        return Err(StatsError::DimensionMismatch("outcome length differs from the frame".into()));
    }
    if spec.adjust.contains(&spec.subgroup) || spec.adjust.contains(&spec.predictor) {
        return Err(StatsError::InvalidInput("an adjustment term repeats the predictor or the subgroup".into()));
    }
    if spec.predictor == spec.subgroup {
        return Err(StatsError::InvalidInput("the predictor is also the subgroup".into()));
    }
    let (levels, codes) = match frame.column(spec.subgroup)? {
        Column::Categorical { levels, codes, .. } => (levels.clone(), codes.clone()),
        Column::Numeric(_) => {
            return Err(StatsError::InvalidInput(format!("subgroup column '{}' must be categorical", spec.subgroup)));
        }
    };
    let mut terms = vec![spec.predictor, spec.subgroup];
    terms.extend_from_slice(spec.adjust);
    let all = frame.complete_rows(&terms)?;
    if all.len() != frame.nrows() {
        return Err(StatsError::InvalidInput(format!(
            "{} rows miss a value in {}; drop incomplete rows first",
            frame.nrows() - all.len(),
            terms.join(", ")
        )));
    }
    // the interaction models (on all rows) on one core, the overall and per-level models on
    // the other: independent fits side by side keep both cores busy through the serial parts
    // of each fit; each fit runs single-threaded, so the numbers are the same either way
    let per_level = || {
        let (overall, _) = fit_in(frame, y, &all, spec, "all");
        let mut fits = Vec::new();
        let mut curves = Vec::new();
        for (k, label) in levels.iter().enumerate() {
            let rows: Vec<usize> = (0..frame.nrows()).filter(|&i| codes[i] == Some(k)).collect();
            if rows.is_empty() {
                continue;
            }
            let (f, c) = fit_in(frame, y, &rows, spec, label);
            fits.push(f);
            curves.push(c);
        }
        (overall, fits, curves)
    };
    let side_by_side = frame.nrows() >= 100_000 && !crate::rng::in_worker();
    let ((overall, fits, curves), interaction) = if side_by_side {
        std::thread::scope(|s| {
            let h = s.spawn(|| crate::rng::as_worker(|| interaction_lr_test(frame, y, &all, spec)));
            let a = crate::rng::as_worker(per_level);
            // a panic in the interaction thread is a bug here: re-raise it
            (a, h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        })
    } else {
        (per_level(), interaction_lr_test(frame, y, &all, spec))
    };
    if fits.len() < 2 {
        return Err(StatsError::NotEnoughData(format!(
            "subgroup '{}' has {} level(s) with rows; need at least 2",
            spec.subgroup,
            fits.len()
        )));
    }
    let interaction = interaction?;
    let mut warnings = Vec::new();
    let present: Vec<&Roc> = curves.iter().flatten().collect();
    let auc_heterogeneity = if present.len() == curves.len() {
        if present.iter().any(|r| r.direction != present[0].direction) {
            warnings.push(
                "the automatic ROC direction differs between levels: the AUCs measure discrimination in \
                 opposite senses; fix the direction to compare them"
                    .into(),
            );
        }
        Some(auc_heterogeneity(&present))
    } else {
        None
    };
    Ok(SubgroupAnalysis {
        predictor: spec.predictor.to_string(),
        adjust: spec.adjust.iter().map(|s| s.to_string()).collect(),
        subgroup: spec.subgroup.to_string(),
        overall,
        levels: fits,
        interaction,
        auc_heterogeneity,
        warnings,
    })
}

/// Independent AUCs: pROC's unpaired DeLong test for two levels; for k > 2 the
/// inverse-variance chi-square `sum (A_i - A_w)^2 / V_i`, `A_w = sum(A_i/V_i)/sum(1/V_i)`,
/// df = k - 1 (written by hand: pROC compares only two curves at a time).
fn auc_heterogeneity(curves: &[&Roc]) -> AucHeterogeneity {
    if curves.len() == 2 {
        let t = delong_unpaired(curves[0], curves[1], Alternative::TwoSided);
        return AucHeterogeneity {
            method: "unpaired DeLong test (pROC roc.test, paired = FALSE)".into(),
            statistic: t.d,
            df: t.df,
            p: t.p,
        };
    }
    let wsum: f64 = curves.iter().map(|r| 1.0 / r.variance).sum();
    let aw = curves.iter().map(|r| r.auc / r.variance).sum::<f64>() / wsum;
    let q: f64 = curves.iter().map(|r| (r.auc - aw).powi(2) / r.variance).sum();
    let df = (curves.len() - 1) as f64;
    AucHeterogeneity {
        method: "inverse-variance chi-square of independent DeLong AUCs".into(),
        statistic: q,
        df,
        p: pchisq_upper(q, df),
    }
}

/// The LR test of predictor x subgroup: main model `predictor + adjust + subgroup`, interaction
/// model adds the products of every predictor column with every subgroup dummy.
fn interaction_lr_test(frame: &Frame, y: &[f64], rows: &[usize], spec: &SubgroupSpec) -> Result<InteractionTest> {
    let mut terms = vec![spec.predictor];
    terms.extend_from_slice(spec.adjust);
    terms.push(spec.subgroup);
    let main = Design::build(frame, &terms, rows, true)?;
    let pred = main.terms.iter().find(|t| t.name == spec.predictor).map(|t| t.columns.clone()).unwrap_or_default();
    let grp = main.terms.iter().find(|t| t.name == spec.subgroup).map(|t| t.columns.clone()).unwrap_or_default();
    let mut inter = main.clone();
    let q = pred.len() * grp.len();
    let p2 = main.p + q;
    let mut x = Vec::with_capacity(main.n * p2);
    for i in 0..main.n {
        let row = main.row(i);
        x.extend_from_slice(row);
        for &a in &pred {
            for &b in &grp {
                x.push(row[a] * row[b]);
            }
        }
    }
    let mut names = Vec::with_capacity(q);
    for &a in &pred {
        for &b in &grp {
            names.push(format!("{}:{}", main.col_names[a], main.col_names[b]));
        }
    }
    inter.x = x;
    inter.p = p2;
    inter.col_names.extend(names.iter().cloned());
    inter
        .terms
        .push(TermInfo { name: format!("{}:{}", spec.predictor, spec.subgroup), columns: (main.p..p2).collect() });
    let opts = LogisticOptions { profile_ci: false, ..spec.logistic.clone() };
    let m0 = fit_logistic(&main, y, &opts)?;
    let m1 = fit_logistic(&inter, y, &opts)?;
    let formula = |extra: &str| {
        let mut s = format!("y ~ {}", terms.join(" + "));
        s.push_str(extra);
        s
    };
    Ok(InteractionTest {
        method:
            "likelihood-ratio test of the predictor x subgroup interaction terms (as anova(glm, glm, test = \"LRT\"))"
                .into(),
        main_model: formula(""),
        interaction_model: formula(&format!(" + {}:{}", spec.predictor, spec.subgroup)),
        terms: names,
        deviance_main: m0.deviance,
        deviance_interaction: m1.deviance,
        test: TestStat::chisq(m0.deviance - m1.deviance, q as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> (Frame, Vec<f64>) {
        // x predicts y in group a, not in group b
        let x: Vec<f64> = (0..40).map(|i| (i % 10) as f64).collect();
        let g: Vec<Option<&str>> = (0..40).map(|i| Some(if i < 20 { "a" } else { "b" })).collect();
        let y: Vec<f64> = (0..40)
            .map(|i| if i < 20 { (x[i] + (i % 3) as f64 > 6.0) as i32 as f64 } else { (i % 2) as f64 })
            .collect();
        let mut f = Frame::new();
        f.push("x", Column::Numeric(x)).unwrap();
        f.push("g", Column::categorical(&g, None, None).unwrap()).unwrap();
        (f, y)
    }

    #[test]
    fn levels_interaction_and_df() {
        let (f, y) = frame();
        let spec = SubgroupSpec {
            predictor: "x",
            adjust: &[],
            subgroup: "g",
            logistic: LogisticOptions { profile_ci: false, ..Default::default() },
            roc_direction: None,
        };
        let r = subgroup_logistic(&f, &y, &spec).unwrap();
        assert_eq!(r.levels.len(), 2);
        assert_eq!(r.levels[0].n + r.levels[1].n, 40);
        assert_eq!(r.interaction.test.df, 1.0);
        assert!(r.interaction.test.statistic > 0.0);
        assert_eq!(r.interaction.terms, vec!["x:g=b".to_string()]);
        assert!(r.auc_heterogeneity.is_some());
    }

    #[test]
    fn level_without_events_is_reported_not_fatal() {
        let (f, mut y) = frame();
        for v in y.iter_mut().skip(20) {
            *v = 0.0;
        }
        let spec = SubgroupSpec {
            predictor: "x",
            adjust: &[],
            subgroup: "g",
            logistic: LogisticOptions { profile_ci: false, ..Default::default() },
            roc_direction: None,
        };
        // level b has no events: its odds ratio is not estimable and the report says why,
        // while level a and the (separated, warned) interaction test still come back
        let r = subgroup_logistic(&f, &y, &spec).unwrap();
        assert!(r.levels[1].predictor.is_empty());
        assert!(r.levels[1].warnings[0].contains("not estimable"));
        assert_eq!(r.levels[0].predictor.len(), 1);
    }

    #[test]
    fn numeric_subgroup_is_an_error() {
        let (mut f, y) = frame();
        f.push("num", Column::Numeric(vec![1.0; 40])).unwrap();
        let spec = SubgroupSpec {
            predictor: "x",
            adjust: &[],
            subgroup: "num",
            logistic: LogisticOptions::default(),
            roc_direction: None,
        };
        assert!(matches!(subgroup_logistic(&f, &y, &spec), Err(StatsError::InvalidInput(_))));
    }
}
