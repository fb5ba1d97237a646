//! Added value of a model over another (NRI, IDI, paired DeLong) and decision curves of
//! fitted logistic models.

use crate::analysis::{frame, quick};
use crate::cohort::Cohort;
use crate::def::{AddedValueDef, DecisionCurveDef};
use crate::error::StudyError;
use crate::result::{
    AddedValueSection, CurveModelInfo, DecisionCurveSection, MissingRecord, RocComparison, StudyResult, TestRecord,
};
use ecmo_stats::decision::{decision_curve, net_benefit_difference};
use ecmo_stats::design::Design;
use ecmo_stats::htest::Alternative;
use ecmo_stats::logistic::fit_logistic;
use ecmo_stats::reclassification::reclassification;
use ecmo_stats::roc::{RocDirection, delong_paired, roc};

/// Union of several predictor lists, in first-seen order.
fn union<'a>(lists: impl IntoIterator<Item = &'a Vec<String>>) -> Vec<&'a str> {
    let mut all: Vec<&str> = Vec::new();
    for l in lists {
        for v in l {
            if !all.contains(&v.as_str()) {
                all.push(v);
            }
        }
    }
    all
}

/// Predicted probabilities of `y ~ vars` fitted on `rows` (in-sample).
fn fitted(
    c: &Cohort,
    f: &ecmo_stats::design::Frame,
    vars: &[String],
    rows: &[usize],
    what: &str,
) -> Result<Vec<f64>, StudyError> {
    let terms: Vec<&str> = vars.iter().map(String::as_str).collect();
    let d = Design::build(f, &terms, rows, true).map_err(|e| StudyError::analysis(what, e))?;
    let y: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
    Ok(fit_logistic(&d, &y, &quick()).map_err(|e| StudyError::analysis(what, e))?.fitted)
}

fn check_groups(what: &str, y: &[f64]) -> Result<usize, StudyError> {
    let events = y.iter().filter(|v| **v == 1.0).count();
    if events < 2 || y.len() - events < 2 {
        return Err(StudyError::analysis(what, format!("{events} events in {} complete rows: too few", y.len())));
    }
    Ok(events)
}

/// NRI (continuous and categorical) and IDI of the extended over the base model, both fitted on
/// the runs with every predictor of either recorded, with the paired DeLong AUC difference.
pub(crate) fn added_value(
    c: &Cohort,
    a: &AddedValueDef,
    out: &mut StudyResult,
) -> Result<AddedValueSection, StudyError> {
    let what = "added value";
    let vars = union([&a.base, &a.extended]);
    let f = frame(c, &vars)?;
    let rows = f.complete_rows(&vars).map_err(|e| StudyError::analysis(what, e))?;
    let y: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
    let events = check_groups(what, &y)?;
    out.missing.push(MissingRecord {
        analysis: format!("added value: {} over {}", a.extended_name, a.base_name),
        columns: vars.iter().map(|s| s.to_string()).collect(),
        rows_used: rows.len(),
        rows_dropped: c.runs.len() - rows.len(),
    });
    let p_old = fitted(c, &f, &a.base, &rows, what)?;
    let p_new = fitted(c, &f, &a.extended, &rows, what)?;
    let r =
        reclassification(&y, &p_old, &p_new, &a.risk_categories, 0.95).map_err(|e| StudyError::analysis(what, e))?;
    let cases: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
    // Fitted probabilities rise with risk: the direction is fixed, not chosen from the data.
    let dir = Some(RocDirection::ControlsLower);
    let ra = roc(&p_old, &cases, dir).map_err(|e| StudyError::analysis(what, e))?;
    let rb = roc(&p_new, &cases, dir).map_err(|e| StudyError::analysis(what, e))?;
    let t = delong_paired(&ra, &rb, Alternative::TwoSided).map_err(|e| StudyError::analysis(what, e))?;
    let pair = format!("{} vs {}", a.extended_name, a.base_name);
    let reason = format!("both models refitted on the same {} runs; in-sample predicted risks", rows.len());
    let mut test = |test: &str, p: f64| {
        out.tests.push(TestRecord {
            analysis: "added value".into(),
            variable: pair.clone(),
            test: test.into(),
            p: Some(p),
            reason: reason.clone(),
        })
    };
    test("continuous NRI, Wald z (Pencina 2011, as Hmisc::improveProb)", r.nri_continuous.nri.p);
    if let Some(cat) = &r.nri_categorical {
        test("categorical NRI, Wald z (Pencina 2008)", cat.nri.p);
    }
    test("IDI, Wald z (Pencina 2008)", r.idi.p);
    test("DeLong paired test of the AUCs (two-sided)", t.p);
    Ok(AddedValueSection {
        base_name: a.base_name.clone(),
        base: a.base.clone(),
        extended_name: a.extended_name.clone(),
        extended: a.extended.clone(),
        n: rows.len(),
        events,
        rows_dropped: c.runs.len() - rows.len(),
        auc: RocComparison {
            a: a.base_name.clone(),
            b: a.extended_name.clone(),
            n: rows.len(),
            auc_a: ra.auc,
            auc_b: rb.auc,
            z: t.z,
            p: t.p,
            diff_ci_low: t.diff_ci_low,
            diff_ci_high: t.diff_ci_high,
        },
        reclassification: r,
        method: format!(
            "Both logistic models fitted on the {} runs with every predictor of either recorded (complete cases); \
             NRI and IDI from their in-sample predicted risks with the asymptotic SEs of Pencina et al. \
             (Hmisc::improveProb), so apparent, not optimism-corrected.",
            rows.len()
        ),
    })
}

/// Net benefit of each model (and of treating all / none) over the threshold grid, on the runs
/// where every curve has a prediction; optionally NB(a) - NB(b) with a bootstrap CI.
pub(crate) fn decision_curve_section(
    c: &Cohort,
    d: &DecisionCurveDef,
    model: Option<&(Vec<usize>, Vec<f64>)>,
    boot_override: Option<usize>,
    out: &mut StudyResult,
) -> Result<DecisionCurveSection, StudyError> {
    let what = "decision curve";
    let vars = union(d.models.iter().map(|m| &m.predictors));
    let f = frame(c, &vars)?;
    let mut rows = f.complete_rows(&vars).map_err(|e| StudyError::analysis(what, e))?;
    let mut model_p = vec![f64::NAN; c.runs.len()];
    if let Some((mrows, p)) = model {
        for (&i, &v) in mrows.iter().zip(p) {
            model_p[i] = v;
        }
        rows.retain(|&i| !model_p[i].is_nan());
    }
    let y: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
    let events = check_groups(what, &y)?;
    let mut columns: Vec<String> = vars.iter().map(|s| s.to_string()).collect();
    if model.is_some() {
        columns.push("[model] prediction".into());
    }
    out.missing.push(MissingRecord {
        analysis: "decision curve".into(),
        columns,
        rows_used: rows.len(),
        rows_dropped: c.runs.len() - rows.len(),
    });
    let mut curves: Vec<(String, Vec<String>, Vec<f64>)> = Vec::new();
    for m in &d.models {
        curves.push((m.name.clone(), m.predictors.clone(), fitted(c, &f, &m.predictors, &rows, what)?));
    }
    if model.is_some() {
        let preds = c.def.model.as_ref().map(|m| m.candidates.clone()).unwrap_or_default();
        curves.push(("model".into(), preds, rows.iter().map(|&i| model_p[i]).collect()));
    }
    let cases: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
    let mut models = Vec::new();
    for (name, predictors, p) in &curves {
        let r = roc(p, &cases, Some(RocDirection::ControlsLower)).map_err(|e| StudyError::analysis(what, e))?;
        models.push(CurveModelInfo { name: name.clone(), predictors: predictors.clone(), auc: r.auc });
    }
    let thresholds = d.thresholds();
    let pairs: Vec<(&str, &[f64])> = curves.iter().map(|(n, _, p)| (n.as_str(), p.as_slice())).collect();
    let curve = decision_curve(&y, &pairs, &thresholds).map_err(|e| StudyError::analysis(what, e))?;
    let difference = if d.difference.len() == 2 {
        let find = |n: &str| pairs.iter().find(|(name, _)| *name == n).copied();
        match (find(&d.difference[0]), find(&d.difference[1])) {
            (Some(a), Some(b)) => {
                let reps = boot_override.unwrap_or(d.bootstrap).max(2);
                Some(
                    net_benefit_difference(&y, a, b, &thresholds, reps, 0.95, d.seed)
                        .map_err(|e| StudyError::analysis(what, e))?,
                )
            }
            // A curve named in `difference` is missing only when the [model] was not fitted.
            _ => None,
        }
    } else {
        None
    };
    out.tests.push(TestRecord {
        analysis: "decision curve".into(),
        variable: curves.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(", "),
        test: "net benefit (Vickers & Elkin 2006)".into(),
        p: None,
        reason: format!(
            "thresholds {}-{} by {}; {}",
            d.threshold_from,
            d.threshold_to,
            d.threshold_by,
            match &difference {
                Some(x) => format!(
                    "NB difference {} - {} with {} bootstrap resamples (seed {})",
                    x.model_a, x.model_b, x.replicates, x.seed
                ),
                None => "no NB difference".into(),
            }
        ),
    });
    Ok(DecisionCurveSection {
        n: rows.len(),
        events,
        rows_dropped: c.runs.len() - rows.len(),
        models,
        curve,
        difference,
        note: format!(
            "Each listed model is a logistic regression refitted on these {} runs{}; net benefit of its in-sample \
             predicted probabilities, so apparent (optimistic), as the study's ROC curves are.",
            rows.len(),
            if model.is_some() { " and \"model\" is the study's [model] as fitted" } else { "" }
        ),
    })
}
