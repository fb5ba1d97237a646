//! Running a study's analyses on its cohort with ecmo-stats.

use crate::added::{added_value, decision_curve_section};
use crate::cohort::{Cohort, StudyRun, TRAJECTORY_HOURS, build_cohort, fingerprint};
use crate::competing::competing_risks;
use crate::def::{Kind, MissingMethod, ModelDef, SelectionMethod, StudyDef, column_kind, column_label};
use crate::error::StudyError;
use crate::result::*;
use crate::tripod::{Extra, checklist};
use ecmo_stats::calibration::{Calibration, CalibrationBin, calibration, calibration_curve, hosmer_lemeshow};
use ecmo_stats::describe::summarize;
use ecmo_stats::design::{Column, Design, Frame};
use ecmo_stats::htest::Alternative;
use ecmo_stats::logistic::{Coefficient, LogisticModel, LogisticOptions, TestStat, fit_logistic};
use ecmo_stats::mice::{MiceOptions, mice, pooled_logistic, validate_mi};
use ecmo_stats::roc::{Roc, RocDirection, delong_paired, roc};
use ecmo_stats::roc_compare::{YoudenBootstrap, bootstrap_youden, delong_multi};
use ecmo_stats::stability::selection_stability;
use ecmo_stats::stepwise::{Direction, PCriterion, backward_pvalue, step_aic};
use ecmo_stats::subgroup::{SubgroupSpec, subgroup_logistic};
use ecmo_stats::survival::{ConfType, Ties, cox_ph, kaplan_meier, logrank_test};
use ecmo_stats::table1::{TestChoice, compare_categorical, compare_continuous};
use ecmo_stats::validate::{Selection, Validation, validate_logistic};

/// How a study is run (everything that is not in the study file).
pub struct RunOptions<'a> {
    pub software: String,
    pub version: String,
    /// Report date; `None` = the date of the latest record in the data.
    pub date: Option<String>,
    /// Where the data came from (database path), for the report header.
    pub data_source: String,
    /// Replace the study's bootstrap resamples (quick checks, tests).
    pub bootstrap: Option<usize>,
    /// Called with the name of each analysis as it starts.
    pub progress: &'a mut dyn FnMut(&str),
}

/// Subgroup levels smaller than this (or with fewer than 3 events or non-events) get no estimate.
const MIN_SUBGROUP: usize = 10;
const MAX_ROC_POINTS: usize = 400;

/// Run every analysis of `def` on `runs`.
pub fn run_study(
    def: &StudyDef,
    definition_toml: &str,
    runs: &[StudyRun],
    opts: RunOptions,
) -> Result<StudyResult, StudyError> {
    let progress = opts.progress;
    progress("cohort");
    let cohort = build_cohort(def, runs);
    if cohort.flow.included == 0 {
        return Err(StudyError::analysis("cohort", "no run meets the population criteria (see the flow counts)"));
    }
    let (date, date_rule) = match &opts.date {
        Some(d) => (d.clone(), "given with --date".to_string()),
        None => {
            let last = runs.iter().map(|r| r.last_record).max();
            let d = last.map(|t| {
                let (y, m, d, _, _) = t.civil();
                format!("{y:04}-{m:02}-{d:02}")
            });
            (d.unwrap_or_else(|| "no data".into()), "date of the latest record in the data".into())
        }
    };
    let bootstrap = def.model.as_ref().map(|m| opts.bootstrap.unwrap_or(m.bootstrap));
    let mut out = StudyResult {
        study: StudyInfo {
            name: def.study.name.clone(),
            title: def.study.title.clone(),
            source: def.study.source.clone(),
            description: def.study.description.clone(),
            outcome_column: def.outcome.column.clone(),
            outcome_label: def.outcome.label.clone(),
            outcome_note: def.outcome.note.clone(),
            definition_toml: definition_toml.to_string(),
        },
        provenance: Provenance {
            software: opts.software,
            version: opts.version,
            date,
            date_rule,
            data_fingerprint: fingerprint(runs),
            data_source: opts.data_source,
            runs_read: runs.len(),
            bootstrap,
        },
        flow: cohort.flow.clone(),
        table1: Vec::new(),
        univariable: Vec::new(),
        models: Vec::new(),
        roc: None,
        subgroups: Vec::new(),
        survival: None,
        trajectories: Vec::new(),
        decision_tree: None,
        added_value: None,
        decision_curve: None,
        competing_risks: None,
        tests: Vec::new(),
        missing: Vec::new(),
        notes: Vec::new(),
    };
    if cohort.flow.events == 0 || cohort.flow.non_events == 0 {
        out.notes.push(format!(
            "Only one outcome group in the cohort ({} {}, {} {}): comparisons and models were not run.",
            cohort.flow.events, def.outcome.event_label, cohort.flow.non_events, def.outcome.non_event_label
        ));
        return Ok(out);
    }
    if let Some(t) = &def.table1 {
        progress("table 1");
        table1(&cohort, &t.variables, &mut out)?;
    }
    if let Some(u) = &def.univariable {
        progress("univariable models");
        for v in &u.variables {
            match univariable(&cohort, v) {
                Ok((rows, used, dropped)) => {
                    out.missing.push(MissingRecord {
                        analysis: format!("univariable logistic: {v}"),
                        columns: vec![v.clone()],
                        rows_used: used,
                        rows_dropped: dropped,
                    });
                    for r in rows {
                        out.tests.push(TestRecord {
                            analysis: "univariable logistic".into(),
                            variable: r.term.clone(),
                            test: "Wald z (logistic regression)".into(),
                            p: Some(r.p),
                            reason: "univariable model y ~ predictor on the rows where it is recorded".into(),
                        });
                        out.univariable.push(r);
                    }
                }
                Err(e) => out.notes.push(format!("univariable model for {v} not fitted: {e}")),
            }
        }
    }
    let mut model_fit: Option<(Vec<usize>, Vec<f64>)> = None;
    if let Some(m) = &def.model {
        progress("multivariable model and bootstrap validation");
        let mice_def = def.missing_data.as_ref().filter(|md| md.method == MissingMethod::Mice);
        let fitted = match mice_def {
            Some(md) => model_mice(&cohort, m, md, bootstrap.unwrap_or(m.bootstrap), &mut out),
            None => model(&cohort, m, bootstrap.unwrap_or(m.bootstrap), opts.bootstrap, &mut out),
        };
        match fitted {
            Ok((res, rows, fitted)) => {
                model_fit = Some((rows, fitted));
                out.models.push(res);
            }
            // The other sections still stand; the report says why the model is missing.
            Err(e) => out.notes.push(format!("The multivariable model was not fitted: {e}")),
        }
    }
    if let Some(r) = &def.roc {
        progress("ROC curves and DeLong tests");
        let model_pred = if r.include_model { model_fit.as_ref() } else { None };
        let cutoff_boot = if r.cutoff_bootstrap > 0 { opts.bootstrap.unwrap_or(r.cutoff_bootstrap) } else { 0 };
        out.roc = Some(roc_section(&cohort, &r.predictors, model_pred, (cutoff_boot, r.seed), &mut out.tests)?);
    }
    if let Some(a) = &def.added_value {
        progress("added value (NRI, IDI)");
        match added_value(&cohort, a, &mut out) {
            Ok(sec) => out.added_value = Some(sec),
            Err(e) => out.notes.push(format!("Added value (NRI, IDI) not computed: {e}")),
        }
    }
    if let Some(d) = &def.decision_curve {
        progress("decision curve");
        let model_pred = if d.include_model { model_fit.as_ref() } else { None };
        if d.include_model && model_pred.is_none() {
            out.notes.push("Decision curve: the [model] was not fitted, so it has no curve.".into());
        }
        match decision_curve_section(&cohort, d, model_pred, opts.bootstrap, &mut out) {
            Ok(sec) => out.decision_curve = Some(sec),
            Err(e) => out.notes.push(format!("Decision curve not computed: {e}")),
        }
    }
    if let Some(cr) = &def.competing_risks {
        progress("competing risks");
        match competing_risks(&cohort, cr, &mut out) {
            Ok(sec) => out.competing_risks = Some(sec),
            Err(e) => out.notes.push(format!("Competing risks not analysed: {e}")),
        }
    }
    if let Some(s) = &def.subgroups {
        progress("subgroups");
        for by in &s.by {
            let res = subgroup(&cohort, &s.predictor, by)?;
            if let Some(t) = &res.interaction {
                out.tests.push(TestRecord {
                    analysis: "subgroups".into(),
                    variable: format!("{} x {by}", s.predictor),
                    test: "likelihood-ratio test of the interaction terms".into(),
                    p: Some(t.p),
                    reason: res.method.clone(),
                });
            }
            out.subgroups.push(res);
        }
    }
    if let Some(s) = &def.survival {
        progress("survival");
        out.survival = Some(survival(&cohort, s, &mut out.tests)?);
    }
    if let Some(t) = &def.trajectories {
        progress("trajectories");
        for q in &t.quantities {
            out.trajectories.push(trajectory(&cohort, q));
        }
    }
    if def.decision_tree.as_ref().is_some_and(|d| d.enabled) {
        progress("decision tree");
        out.decision_tree = Some(decision_tree(&cohort));
    }
    let extra = Extra {
        subgroups: !out.subgroups.is_empty(),
        added_value: out.added_value.as_ref().map(|a| {
            format!(
                "Added value of {} over {}: continuous NRI {:.3} (95 % CI {:.3} to {:.3}), IDI {:.3} ({:.3} to {:.3}).",
                a.extended_name,
                a.base_name,
                a.reclassification.nri_continuous.nri.estimate,
                a.reclassification.nri_continuous.nri.ci_low,
                a.reclassification.nri_continuous.nri.ci_high,
                a.reclassification.idi.estimate,
                a.reclassification.idi.ci_low,
                a.reclassification.idi.ci_high
            )
        }),
        decision_curve: out.decision_curve.as_ref().map(|d| {
            format!(
                "Decision curve: net benefit of {} against treat-all and treat-none at risk thresholds {:.2}-{:.2}.",
                d.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
                d.curve.thresholds.first().copied().unwrap_or(f64::NAN),
                d.curve.thresholds.last().copied().unwrap_or(f64::NAN)
            )
        }),
    };
    for m in &mut out.models {
        m.tripod = checklist(def, &out.flow, m, &out.provenance, &extra);
    }
    if def.outcome.note.is_empty() {
        return Ok(out);
    }
    out.notes.push(def.outcome.note.clone());
    Ok(out)
}

/// Group index of each cohort row: 0 = event, 1 = non-event.
fn groups(c: &Cohort) -> (Vec<usize>, Vec<String>) {
    let g = c.y.iter().map(|&v| if v == 1.0 { 0 } else { 1 }).collect();
    (g, vec![c.def.outcome.event_label.clone(), c.def.outcome.non_event_label.clone()])
}

pub(crate) fn kind(c: &Cohort, v: &str) -> Kind {
    column_kind(c.def, v).map(|k| k.0).unwrap_or(Kind::Continuous)
}

fn table1(c: &Cohort, vars: &[String], out: &mut StudyResult) -> Result<(), StudyError> {
    let (g, names) = groups(c);
    for v in vars {
        let label = column_label(c.def, v);
        let unit = c.unit(v);
        let row = match table1_row(c, v, label.clone(), unit.clone(), &g, &names) {
            Ok((row, test)) => {
                out.tests.push(test_record("Table 1", v, &test));
                row
            }
            // A continuous variable that cannot be tested (e.g. constant) is still described.
            Err(e) if kind(c, v) == Kind::Continuous => {
                let x = c.numeric(v);
                let per_group =
                    |k: usize| -> Vec<f64> { x.iter().zip(&g).filter(|(_, gg)| **gg == k).map(|(v, _)| *v).collect() };
                let test = ecmo_stats::table1::ChosenTest {
                    test: "not tested".into(),
                    statistic: f64::NAN,
                    df: None,
                    p: f64::NAN,
                    reason: e.to_string(),
                };
                out.tests.push(test_record("Table 1", v, &test));
                let row = ecmo_stats::table1::ContinuousRow {
                    name: v.clone(),
                    kind: "continuous".into(),
                    overall: summarize(&x),
                    groups: names.iter().enumerate().map(|(k, n)| (n.clone(), summarize(&per_group(k)))).collect(),
                    test,
                };
                Table1Row::Continuous { variable: v.clone(), label, unit, row }
            }
            Err(e) => {
                out.notes.push(format!("Table 1: {v} not compared: {e}"));
                continue;
            }
        };
        out.table1.push(row);
    }
    Ok(())
}

fn table1_row(
    c: &Cohort,
    v: &str,
    label: String,
    unit: String,
    g: &[usize],
    names: &[String],
) -> Result<(Table1Row, ecmo_stats::table1::ChosenTest), ecmo_stats::error::StatsError> {
    let v = &v.to_string();
    Ok(match kind(c, v) {
        Kind::Continuous => {
            let x = c.numeric(v);
            let r = compare_continuous(v, &x, g, names, TestChoice::Auto)?;
            let t = r.test.clone();
            (Table1Row::Continuous { variable: v.clone(), label, unit, row: r }, t)
        }
        Kind::Binary => {
            let x = c.numeric(v);
            let codes: Vec<Option<usize>> = x.iter().map(|v| (!v.is_nan()).then_some(usize::from(*v == 1.0))).collect();
            let levels = vec!["no".to_string(), "yes".to_string()];
            let r = compare_categorical(v, &codes, &levels, g, names)?;
            let t = r.test.clone();
            (Table1Row::Categorical { variable: v.clone(), label, unit, row: r }, t)
        }
        Kind::Categorical | Kind::Text => {
            let t = c.text(v);
            let mut levels: Vec<String> = t.iter().flatten().cloned().collect();
            levels.sort();
            levels.dedup();
            let codes: Vec<Option<usize>> =
                t.iter().map(|s| s.as_ref().and_then(|s| levels.iter().position(|l| l == s))).collect();
            let r = compare_categorical(v, &codes, &levels, g, names)?;
            let t = r.test.clone();
            (Table1Row::Categorical { variable: v.clone(), label, unit, row: r }, t)
        }
    })
}

fn test_record(analysis: &str, v: &str, t: &ecmo_stats::table1::ChosenTest) -> TestRecord {
    TestRecord {
        analysis: analysis.into(),
        variable: v.into(),
        test: t.test.clone(),
        p: t.p.is_finite().then_some(t.p),
        reason: t.reason.clone(),
    }
}

/// A frame of the given predictors over the cohort (etiology as a categorical column).
pub(crate) fn frame(c: &Cohort, vars: &[&str]) -> Result<Frame, StudyError> {
    let mut f = Frame::new();
    for v in vars {
        let col = if kind(c, v) == Kind::Categorical {
            let t = c.text(v);
            let vals: Vec<Option<&str>> = t.iter().map(|s| s.as_deref()).collect();
            Column::categorical(&vals, None, None).map_err(|e| StudyError::analysis("design", e))?
        } else {
            Column::Numeric(c.numeric(v))
        };
        f.push(v, col).map_err(|e| StudyError::analysis("design", e))?;
    }
    Ok(f)
}

fn per(c: &Cohort, v: &str) -> f64 {
    c.def.per.get(v).copied().unwrap_or(1.0)
}

/// Odds ratios of a fitted model, per the study's units.
fn odds_ratios(c: &Cohort, m: &LogisticModel) -> Vec<OddsRatio> {
    m.coefficients
        .iter()
        .filter(|k| k.term != "(Intercept)")
        .map(|k| scaled_or(c, k.term.split('=').next().unwrap_or(&k.term), k, m.n, m.events))
        .collect()
}

/// One coefficient as an odds ratio per `[per]` units of `variable`, with its Wald CI
/// (the CI's z is taken from the coefficient's own CI, so the level is the fit's).
fn scaled_or(c: &Cohort, variable: &str, k: &Coefficient, n: usize, events: usize) -> OddsRatio {
    let step = per(c, variable);
    let z = (k.ci_high.ln() - k.coef) / k.se;
    OddsRatio {
        term: k.term.clone(),
        variable: variable.to_string(),
        label: column_label(c.def, variable),
        unit: c.unit(variable),
        per: step,
        n,
        events,
        coef: k.coef,
        se: k.se,
        odds_ratio: (k.coef * step).exp(),
        ci_low: ((k.coef - z * k.se) * step).exp(),
        ci_high: ((k.coef + z * k.se) * step).exp(),
        p: k.p,
    }
}

pub(crate) fn quick() -> LogisticOptions {
    LogisticOptions { profile_ci: false, ..LogisticOptions::default() }
}

fn univariable(c: &Cohort, v: &str) -> Result<(Vec<OddsRatio>, usize, usize), StudyError> {
    let f = frame(c, &[v])?;
    let rows = f.complete_rows(&[v]).map_err(|e| StudyError::analysis("univariable", e))?;
    let d = Design::build(&f, &[v], &rows, true).map_err(|e| StudyError::analysis("univariable", e))?;
    let y: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
    let m = fit_logistic(&d, &y, &quick()).map_err(|e| StudyError::analysis("univariable", e))?;
    Ok((odds_ratios(c, &m), rows.len(), c.runs.len() - rows.len()))
}

fn model(
    c: &Cohort,
    def: &ModelDef,
    bootstrap: usize,
    boot_override: Option<usize>,
    out: &mut StudyResult,
) -> Result<(ModelResult, Vec<usize>, Vec<f64>), StudyError> {
    let what = format!("model '{}'", def.name);
    let cand: Vec<&str> = def.candidates.iter().map(String::as_str).collect();
    let f = frame(c, &cand)?;
    let rows = f.complete_rows(&cand).map_err(|e| StudyError::analysis(&what, e))?;
    let dropped = c.runs.len() - rows.len();
    out.missing.push(MissingRecord {
        analysis: what.clone(),
        columns: def.candidates.clone(),
        rows_used: rows.len(),
        rows_dropped: dropped,
    });
    let y: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
    let events = y.iter().filter(|v| **v == 1.0).count();
    if events < 2 || rows.len() - events < 2 {
        return Err(StudyError::analysis(&what, format!("{events} events in {} complete rows: too few", rows.len())));
    }
    // A candidate that does not vary in the complete rows has no estimable effect.
    let constant: Vec<&str> = cand
        .iter()
        .copied()
        .filter(|v| match f.column(v) {
            Ok(Column::Numeric(x)) => rows.iter().all(|&i| x[i] == x[rows[0]]),
            Ok(Column::Categorical { codes, .. }) => rows.iter().all(|&i| codes[i] == codes[rows[0]]),
            Err(_) => false,
        })
        .collect();
    if !constant.is_empty() {
        out.notes.push(format!("{what}: left out candidates that do not vary in the cohort: {}", constant.join(", ")));
    }
    let cand: Vec<&str> = cand.into_iter().filter(|v| !constant.contains(v)).collect();
    if cand.is_empty() {
        return Err(StudyError::analysis(&what, "no candidate varies in the cohort"));
    }
    let full = Design::build(&f, &cand, &rows, true).map_err(|e| StudyError::analysis(&what, e))?;
    let final_opts = quick();
    let (selection, final_terms, steps, selection_v) = match def.selection {
        SelectionMethod::None => (
            "none: every candidate stays in the model".to_string(),
            def.candidates.clone(),
            vec!["all candidates entered".to_string()],
            Selection::None,
        ),
        SelectionMethod::StepwiseAic | SelectionMethod::BackwardAic | SelectionMethod::ForwardAic => {
            let dir = match def.selection {
                SelectionMethod::BackwardAic => Direction::Backward,
                SelectionMethod::ForwardAic => Direction::Forward,
                _ => Direction::Both,
            };
            let start: Vec<&str> = if dir == Direction::Forward { vec![] } else { cand.clone() };
            let s = step_aic(&full, &y, &start, &[], &cand, dir, 2.0, &final_opts)
                .map_err(|e| StudyError::analysis(&what, e))?;
            let steps = s.path.iter().map(|p| format!("{}: AIC {:.2}", p.step, p.aic)).collect();
            (
                format!("stepwise by AIC (MASS::stepAIC, direction {dir:?}, k = 2)").to_lowercase(),
                s.final_terms.clone(),
                steps,
                Selection::StepAic(dir),
            )
        }
        SelectionMethod::BackwardP => {
            let s = backward_pvalue(&full, &y, &cand, &[], def.alpha, PCriterion::Lrt, &final_opts)
                .map_err(|e| StudyError::analysis(&what, e))?;
            let steps = s.steps.iter().map(|p| p.action.clone()).collect();
            (
                format!("backward elimination by likelihood-ratio p while p >= {}", def.alpha),
                s.final_terms.clone(),
                steps,
                Selection::BackwardP { alpha: def.alpha, criterion: PCriterion::Lrt },
            )
        }
    };
    out.tests.push(TestRecord {
        analysis: what.clone(),
        variable: def.candidates.join(", "),
        test: "variable selection".into(),
        p: None,
        reason: selection.clone(),
    });
    if final_terms.is_empty() {
        return Err(StudyError::analysis(&what, "the selection removed every candidate (intercept-only model)"));
    }
    let ft: Vec<&str> = final_terms.iter().map(String::as_str).collect();
    let d = full.subset(&ft).map_err(|e| StudyError::analysis(&what, e))?;
    let m = fit_logistic(&d, &y, &final_opts).map_err(|e| StudyError::analysis(&what, e))?;
    let is_case: Vec<bool> = y.iter().map(|v| *v == 1.0).collect();
    let r = roc(&m.fitted, &is_case, None).map_err(|e| StudyError::analysis(&what, e))?;
    let (cal, hl, bins) = apparent_calibration(&what, &y, &m.fitted, &mut out.tests)?;
    let validation = match validate_logistic(&full, &y, &cand, &selection_v, bootstrap, def.seed) {
        Ok(v) => Some(v),
        Err(e) => {
            out.notes.push(format!("{what}: bootstrap validation failed: {e}"));
            None
        }
    };
    let stability = match &c.def.stability {
        Some(st) => {
            match selection_stability(&full, &y, &cand, &selection_v, boot_override.unwrap_or(st.bootstrap), st.seed) {
                Ok(s) => Some(s),
                Err(e) => {
                    out.notes.push(format!("{what}: selection stability failed: {e}"));
                    None
                }
            }
        }
        None => None,
    };
    let predictor_ranges = ranges(c, &ft, &rows);
    let missing_data = if dropped == 0 {
        format!("Complete-case analysis: every one of the {} runs had all candidates recorded.", rows.len())
    } else {
        format!(
            "Complete-case analysis: {dropped} of {} runs had a candidate predictor missing and were left out; {} used.",
            c.runs.len(),
            rows.len()
        )
    };
    let n_params = full.p.saturating_sub(1).max(1);
    let mut warnings = m.warnings.clone();
    if let Some(s) = &m.separation {
        warnings.push(s.message.clone());
    }
    let res = ModelResult {
        name: def.name.clone(),
        outcome: c.def.outcome.label.clone(),
        candidates: def.candidates.clone(),
        selection,
        selection_steps: steps,
        final_terms,
        rows_complete: rows.len(),
        rows_dropped: dropped,
        n: m.n,
        events,
        events_per_parameter: events.min(rows.len() - events) as f64 / n_params as f64,
        odds_ratios: odds_ratios(c, &m),
        coefficients: m.coefficients.clone(),
        vcov: m.vcov.data.clone(),
        aic: m.aic,
        deviance: m.deviance,
        null_deviance: m.null_deviance,
        lr_test: m.lr_test,
        auc: r.auc,
        auc_ci_low: r.ci_low,
        auc_ci_high: r.ci_high,
        calibration: cal,
        hosmer_lemeshow: hl,
        calibration_bins: bins,
        validation,
        missing_data,
        imputation: None,
        stability,
        predictor_ranges,
        warnings,
        tripod: Vec::new(),
    };
    Ok((res, rows, m.fitted))
}

/// Calibration slope and intercept, Hosmer-Lemeshow (recorded as a test) and the calibration
/// bins of apparent predictions.
fn apparent_calibration(
    what: &str,
    y: &[f64],
    fitted: &[f64],
    tests: &mut Vec<TestRecord>,
) -> Result<(Calibration, TestStat, Vec<CalibrationBin>), StudyError> {
    let cal = calibration(y, fitted).map_err(|e| StudyError::analysis(what, e))?;
    let groups = 10.min(y.len() / 5).max(3);
    let hl = hosmer_lemeshow(y, fitted, groups).map_err(|e| StudyError::analysis(what, e))?;
    tests.push(TestRecord {
        analysis: what.to_string(),
        variable: "calibration".into(),
        test: format!("Hosmer-Lemeshow, g = {groups}"),
        p: Some(hl.p),
        reason: "goodness of fit of the apparent predictions (ResourceSelection::hoslem.test grouping)".into(),
    });
    let bins = calibration_curve(y, fitted, groups).map_err(|e| StudyError::analysis(what, e))?;
    Ok((cal, TestStat { statistic: hl.chisq, df: hl.df, p: hl.p }, bins))
}

/// Observed range of each (non-categorical) term on `rows`.
fn ranges(c: &Cohort, terms: &[&str], rows: &[usize]) -> Vec<PredictorRange> {
    terms
        .iter()
        .filter(|t| kind(c, t) != Kind::Categorical)
        .map(|t| {
            let x: Vec<f64> = rows.iter().filter_map(|&i| c.runs[i].number(c.def, t)).collect();
            let s = summarize(&x);
            PredictorRange { name: t.to_string(), unit: c.unit(t), min: s.min, median: s.median, max: s.max }
        })
        .collect()
}

/// The `[model]` (no selection) after multiple imputation by chained equations: fitted on every
/// imputation and pooled with Rubin's rules (mice::pool), AUC pooled on the logit scale, and
/// Harrell's bootstrap with the imputation repeated inside every resample.
fn model_mice(
    c: &Cohort,
    def: &ModelDef,
    md: &crate::def::MissingDataDef,
    bootstrap: usize,
    out: &mut StudyResult,
) -> Result<(ModelResult, Vec<usize>, Vec<f64>), StudyError> {
    let what = format!("model '{}'", def.name);
    let err = |e: ecmo_stats::error::StatsError| StudyError::analysis(&what, e);
    let terms: Vec<&str> = def.candidates.iter().map(String::as_str).collect();
    let mut cols: Vec<&str> = terms.clone();
    for a in &md.auxiliary {
        if !cols.contains(&a.as_str()) {
            cols.push(a);
        }
    }
    let mut f = frame(c, &cols)?;
    let outcome = c.def.outcome.column.as_str();
    f.push(outcome, Column::Numeric(c.y.clone())).map_err(|e| StudyError::analysis(&what, e))?;
    let all: Vec<usize> = (0..c.runs.len()).collect();
    // Complete cases are counted over the model's own columns: an auxiliary column missing on
    // its own is imputed but would not have cost a complete-case analysis the row.
    let mut names = terms.clone();
    names.push(outcome);
    let complete = f.complete_rows(&names).map_err(err)?.len();
    let events = c.y.iter().filter(|v| **v == 1.0).count();
    let opts = MiceOptions { m: md.m, maxit: md.maxit, seed: md.seed, ..MiceOptions::default() };
    let imp = mice(&f, &opts).map_err(err)?;
    let pooled = pooled_logistic(&imp, outcome, &terms, 0.95).map_err(err)?;
    // Full pooled covariance T = U-bar + (1 + 1/m) B (the model file needs the off-diagonal
    // terms; mice::pool reports the diagonal), and predictions: the pooled coefficients on each
    // completed data set, probabilities averaged over the imputations.
    let beta: Vec<f64> = pooled.coefficients.iter().map(|k| k.estimate).collect();
    let p = beta.len();
    let m = imp.datasets.len() as f64;
    let (mut ubar, mut fits, mut fitted) = (vec![0.0; p * p], Vec::new(), vec![0.0; all.len()]);
    let mut warnings: Vec<String> = Vec::new();
    for d in &imp.datasets {
        let design = Design::build(d, &terms, &all, true).map_err(err)?;
        let fit = fit_logistic(&design, &c.y, &quick()).map_err(err)?;
        for (u, v) in ubar.iter_mut().zip(&fit.vcov.data) {
            *u += v / m;
        }
        for (i, fv) in fitted.iter_mut().enumerate() {
            let eta: f64 = design.row(i).iter().zip(&beta).map(|(x, b)| x * b).sum();
            *fv += 1.0 / (1.0 + (-eta).exp()) / m;
        }
        for w in fit.warnings.iter().chain(fit.separation.iter().map(|s| &s.message)) {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        fits.push(fit.coefficients.iter().map(|k| k.coef).collect::<Vec<f64>>());
    }
    let mut vcov = ubar;
    for est in &fits {
        for i in 0..p {
            for j in 0..p {
                vcov[i * p + j] += (1.0 + 1.0 / m) * (est[i] - beta[i]) * (est[j] - beta[j]) / (m - 1.0);
            }
        }
    }
    let coefficients: Vec<Coefficient> = pooled
        .coefficients
        .iter()
        .map(|k| Coefficient {
            term: k.term.clone(),
            coef: k.estimate,
            se: k.se,
            z: k.statistic,
            p: k.p,
            odds_ratio: k.estimate.exp(),
            ci_low: k.ci_low.exp(),
            ci_high: k.ci_high.exp(),
            profile_ci_low: None,
            profile_ci_high: None,
        })
        .collect();
    let odds_ratios: Vec<OddsRatio> = coefficients
        .iter()
        .filter(|k| k.term != "(Intercept)")
        .map(|k| scaled_or(c, k.term.split('=').next().unwrap_or(&k.term), k, all.len(), events))
        .collect();
    let (cal, hl, bins) = apparent_calibration(&what, &c.y, &fitted, &mut out.tests)?;
    let validation = match validate_mi(&f, outcome, &terms, &opts, bootstrap, def.seed) {
        Ok(v) => Some(Validation {
            replicates: v.replicates,
            successful: v.successful,
            seed: v.seed,
            selected_terms: def.candidates.clone(),
            indexes: v.indexes,
            selection_frequency: def.candidates.iter().map(|t| (t.clone(), v.successful)).collect(),
        }),
        Err(e) => {
            out.notes.push(format!("{what}: bootstrap validation with imputation failed: {e}"));
            None
        }
    };
    let methods: Vec<String> = imp
        .columns
        .iter()
        .filter(|k| k.missing > 0)
        .map(|k| format!("{} ({} missing, {})", k.name, k.missing, k.method))
        .collect();
    let method = format!(
        "multiple imputation by chained equations (m = {}, maxit = {}, seed = {}; {}), the model fitted on every \
         imputation and pooled with Rubin's rules",
        md.m,
        md.maxit,
        md.seed,
        if methods.is_empty() { "nothing was missing".into() } else { methods.join(", ") }
    );
    out.tests.push(TestRecord {
        analysis: what.clone(),
        variable: def.candidates.join(", "),
        test: "multiple imputation (MICE), Rubin's rules".into(),
        p: None,
        reason: method.clone(),
    });
    out.missing.push(MissingRecord {
        analysis: format!(
            "{what} (multiple imputation: {} of {} rows had a value imputed)",
            imp.incomplete_rows,
            all.len()
        ),
        columns: cols.iter().map(|s| s.to_string()).collect(),
        rows_used: all.len(),
        rows_dropped: 0,
    });
    let n_params = p.saturating_sub(1).max(1);
    let missing_data = format!(
        "Multiple imputation (MICE): {} of {} runs had at least one missing predictor value; none was left out. \
         {complete} runs were complete (what a complete-case analysis would have used); {} runs had a value \
         imputed, counting auxiliary columns.",
        all.len() - complete,
        all.len(),
        imp.incomplete_rows
    );
    let res = ModelResult {
        name: def.name.clone(),
        outcome: c.def.outcome.label.clone(),
        candidates: def.candidates.clone(),
        selection: "none: every candidate stays in the model".into(),
        selection_steps: vec!["all candidates entered".into()],
        final_terms: def.candidates.clone(),
        rows_complete: complete,
        rows_dropped: 0,
        n: all.len(),
        events,
        events_per_parameter: events.min(all.len() - events) as f64 / n_params as f64,
        odds_ratios,
        coefficients,
        vcov,
        // Deviance-based fit statistics do not pool by Rubin's rules.
        aic: f64::NAN,
        deviance: f64::NAN,
        null_deviance: f64::NAN,
        lr_test: TestStat { statistic: f64::NAN, df: (p - 1) as f64, p: f64::NAN },
        auc: pooled.auc.auc,
        auc_ci_low: pooled.auc.ci_low,
        auc_ci_high: pooled.auc.ci_high,
        calibration: cal,
        hosmer_lemeshow: hl,
        calibration_bins: bins,
        validation,
        missing_data,
        imputation: Some(Imputation {
            method,
            m: md.m,
            maxit: md.maxit,
            seed: md.seed,
            rows: all.len(),
            complete_cases: complete,
            incomplete_rows: imp.incomplete_rows,
            auxiliary: md.auxiliary.clone(),
            columns: imp.columns.clone(),
            pooled,
            prediction: "pooled coefficients applied to each completed data set; predicted probabilities averaged \
                         over the imputations"
                .into(),
        }),
        stability: None,
        predictor_ranges: ranges(c, &terms, &all),
        warnings,
        tripod: Vec::new(),
    };
    Ok((res, all, fitted))
}

fn curve(name: &str, label: &str, r: &Roc, youden_bootstrap: Option<YoudenBootstrap>) -> RocCurve {
    let best = r.best_youden.first();
    let mut pts: Vec<(f64, f64)> = r.coords.iter().map(|c| (1.0 - c.specificity, c.sensitivity)).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if pts.len() > MAX_ROC_POINTS {
        let step = pts.len().div_ceil(MAX_ROC_POINTS);
        let last = *pts.last().unwrap_or(&(1.0, 1.0));
        pts = pts.iter().step_by(step).copied().collect();
        pts.push(last);
    }
    RocCurve {
        name: name.into(),
        label: label.into(),
        n: r.n_cases + r.n_controls,
        cases: r.n_cases,
        controls: r.n_controls,
        direction: r.direction.symbol().into(),
        auc: r.auc,
        ci_low: r.ci_low,
        ci_high: r.ci_high,
        youden_threshold: best.map_or(f64::NAN, |b| b.threshold),
        youden_sensitivity: best.map_or(f64::NAN, |b| b.sensitivity),
        youden_specificity: best.map_or(f64::NAN, |b| b.specificity),
        points: pts,
        youden_bootstrap,
    }
}

const MODEL_CURVE: &str = "model";

fn roc_section(
    c: &Cohort,
    predictors: &[String],
    model: Option<&(Vec<usize>, Vec<f64>)>,
    (cutoff_bootstrap, seed): (usize, u64),
    tests: &mut Vec<TestRecord>,
) -> Result<RocSection, StudyError> {
    let n = c.runs.len();
    // Each curve as a full-length column with NaN where missing.
    let mut cols: Vec<(String, String, Vec<f64>)> =
        predictors.iter().map(|p| (p.clone(), column_label(c.def, p), c.numeric(p))).collect();
    if let Some((rows, fitted)) = model {
        let mut x = vec![f64::NAN; n];
        for (&i, &p) in rows.iter().zip(fitted) {
            x[i] = p;
        }
        cols.push((MODEL_CURVE.into(), c.def.model.as_ref().map(|m| m.name.clone()).unwrap_or_default(), x));
    }
    let mut curves = Vec::new();
    for (name, label, x) in &cols {
        let (xs, ys): (Vec<f64>, Vec<bool>) =
            x.iter().zip(&c.y).filter(|(v, _)| !v.is_nan()).map(|(v, y)| (*v, *y == 1.0)).unzip();
        let r = roc(&xs, &ys, None).map_err(|e| StudyError::analysis(&format!("ROC {name}"), e))?;
        let boot = if cutoff_bootstrap > 0 {
            match bootstrap_youden(&r, cutoff_bootstrap, 0.95, seed) {
                Ok(b) => Some(b),
                Err(e) => {
                    tests.push(TestRecord {
                        analysis: "ROC".into(),
                        variable: name.clone(),
                        test: "Youden cut-off bootstrap not computed".into(),
                        p: None,
                        reason: e.to_string(),
                    });
                    None
                }
            }
        } else {
            None
        };
        curves.push(curve(name, label, &r, boot));
        tests.push(TestRecord {
            analysis: "ROC".into(),
            variable: name.clone(),
            test: "AUC with DeLong 95 % CI; Youden cut-off".into(),
            p: None,
            reason: format!("direction {} chosen from the group medians (pROC auto)", r.direction.symbol()),
        });
    }
    let common: Vec<usize> = (0..n).filter(|&i| cols.iter().all(|(_, _, x)| !x[i].is_nan())).collect();
    let ys: Vec<bool> = common.iter().map(|&i| c.y[i] == 1.0).collect();
    let mut comparisons = Vec::new();
    let mut all_equal = None;
    let have_both = ys.iter().any(|v| *v) && ys.iter().any(|v| !*v);
    if have_both && cols.len() > 1 {
        let rocs: Vec<Roc> = cols
            .iter()
            .map(|(name, _, x)| {
                let xs: Vec<f64> = common.iter().map(|&i| x[i]).collect();
                let dir = curves.iter().find(|c| c.name == *name).map(|c| c.direction.clone());
                let dir = match dir.as_deref() {
                    Some(">") => Some(RocDirection::ControlsHigher),
                    _ => Some(RocDirection::ControlsLower),
                };
                roc(&xs, &ys, dir)
            })
            .collect::<Result<_, _>>()
            .map_err(|e| StudyError::analysis("ROC comparison", e))?;
        for i in 0..cols.len() {
            for j in i + 1..cols.len() {
                let t = delong_paired(&rocs[i], &rocs[j], Alternative::TwoSided)
                    .map_err(|e| StudyError::analysis("ROC comparison", e))?;
                tests.push(TestRecord {
                    analysis: "ROC comparison".into(),
                    variable: format!("{} vs {}", cols[i].0, cols[j].0),
                    test: "DeLong paired test (two-sided)".into(),
                    p: Some(t.p),
                    reason: format!("same {} runs with every predictor recorded", common.len()),
                });
                comparisons.push(RocComparison {
                    a: cols[i].0.clone(),
                    b: cols[j].0.clone(),
                    n: common.len(),
                    auc_a: rocs[i].auc,
                    auc_b: rocs[j].auc,
                    z: t.z,
                    p: t.p,
                    diff_ci_low: t.diff_ci_low,
                    diff_ci_high: t.diff_ci_high,
                });
            }
        }
        if cols.len() >= 3 {
            let refs: Vec<&Roc> = rocs.iter().collect();
            let variable = cols.iter().map(|c| c.0.as_str()).collect::<Vec<_>>().join(" = ");
            // Curves that rank the runs alike (a predictor listed twice, a model of one
            // predictor beside it) make the contrasts' covariance singular: the joint test
            // is then undefined, which the report says instead of failing the study.
            match delong_multi(&refs) {
                Ok(t) => {
                    tests.push(TestRecord {
                        analysis: "ROC comparison".into(),
                        variable,
                        test: format!("DeLong chi-square test that all {} AUCs are equal ({} df)", cols.len(), t.df),
                        p: Some(t.p),
                        reason: format!("same {} runs with every predictor recorded", common.len()),
                    });
                    all_equal = Some(t);
                }
                Err(e) => tests.push(TestRecord {
                    analysis: "ROC comparison".into(),
                    variable,
                    test: format!("DeLong chi-square test that all {} AUCs are equal: not computed", cols.len()),
                    p: None,
                    reason: format!("{e} (two or more curves rank the runs alike)"),
                }),
            }
        }
    }
    Ok(RocSection { curves, comparisons, common_rows: common.len(), all_equal })
}

/// The predictor's effect within each level of `by`, with the interaction LR test
/// (ecmo-stats `subgroup_logistic`). Levels too small for an estimate are listed without one
/// and left out of the fits.
fn subgroup(c: &Cohort, predictor: &str, by: &str) -> Result<SubgroupResult, StudyError> {
    let what = format!("subgroup {by}");
    let err = |e| StudyError::analysis(&what, e);
    let x = c.numeric(predictor);
    let labels: Vec<Option<String>> = if kind(c, by) == Kind::Categorical {
        c.text(by)
    } else {
        c.numeric(by)
            .iter()
            .map(|v| {
                if v.is_nan() {
                    None
                } else if *v == 1.0 {
                    Some("yes".into())
                } else {
                    Some("no".into())
                }
            })
            .collect()
    };
    let mut levels: Vec<String> = labels.iter().flatten().cloned().collect();
    levels.sort();
    levels.dedup();
    let step = per(c, predictor);
    let in_level = |i: usize, l: &str| labels[i].as_deref() == Some(l) && !x[i].is_nan();
    let mut kept = Vec::new();
    let mut small = Vec::new();
    for l in &levels {
        let rows: Vec<usize> = (0..c.runs.len()).filter(|&i| in_level(i, l)).collect();
        let events = rows.iter().filter(|&&i| c.y[i] == 1.0).count();
        if rows.len() < MIN_SUBGROUP || events < 3 || rows.len() - events < 3 {
            small.push(SubgroupLevel {
                level: l.clone(),
                n: rows.len(),
                events,
                estimate: None,
                auc: None,
                auc_ci_low: None,
                auc_ci_high: None,
                note: format!(
                    "too few runs for an estimate (need {MIN_SUBGROUP}, with 3 or more in each outcome group)"
                ),
            });
        } else {
            kept.push(l.clone());
        }
    }
    let rows: Vec<usize> =
        (0..c.runs.len()).filter(|&i| labels[i].as_ref().is_some_and(|l| kept.contains(l)) && !x[i].is_nan()).collect();
    let mut out_levels = Vec::new();
    let mut interaction = None;
    let mut method = format!(
        "levels too small for an estimate: {}",
        if small.is_empty() {
            "none".into()
        } else {
            small.iter().map(|l| l.level.clone()).collect::<Vec<_>>().join(", ")
        }
    );
    if kept.len() >= 2 {
        let mut f = Frame::new();
        f.push(predictor, Column::Numeric(rows.iter().map(|&i| x[i]).collect())).map_err(err)?;
        let vals: Vec<Option<&str>> = rows.iter().map(|&i| labels[i].as_deref()).collect();
        f.push(by, Column::categorical(&vals, Some(kept.clone()), None).map_err(err)?).map_err(err)?;
        let ys: Vec<f64> = rows.iter().map(|&i| c.y[i]).collect();
        let spec = SubgroupSpec { predictor, adjust: &[], subgroup: by, logistic: quick(), roc_direction: None };
        let a = subgroup_logistic(&f, &ys, &spec).map_err(err)?;
        for fit in &a.levels {
            let estimate = fit.predictor.first().map(|k| scaled_or(c, predictor, k, fit.n, fit.events));
            out_levels.push(SubgroupLevel {
                level: fit.level.clone(),
                n: fit.n,
                events: fit.events,
                estimate,
                auc: fit.roc.as_ref().map(|r| r.auc),
                auc_ci_low: fit.roc.as_ref().map(|r| r.ci_low),
                auc_ci_high: fit.roc.as_ref().map(|r| r.ci_high),
                note: fit.warnings.join("; "),
            });
        }
        method = format!(
            "{} of {} against {} on the levels with an estimate; {}",
            a.interaction.method, a.interaction.interaction_model, a.interaction.main_model, method
        );
        interaction = Some(a.interaction.test);
    }
    out_levels.extend(small);
    out_levels.sort_by(|a, b| a.level.cmp(&b.level));
    Ok(SubgroupResult {
        variable: by.into(),
        label: column_label(c.def, by),
        predictor: predictor.into(),
        per: step,
        levels: out_levels,
        interaction,
        method,
    })
}

fn survival(
    c: &Cohort,
    s: &crate::def::SurvivalDef,
    tests: &mut Vec<TestRecord>,
) -> Result<SurvivalSection, StudyError> {
    let err = |e| StudyError::analysis("survival", e);
    let t = c.numeric(&s.time);
    let ev = c.numeric(&s.event);
    let g = c.numeric(&s.groups);
    let rows: Vec<usize> = (0..c.runs.len()).filter(|&i| !t[i].is_nan() && !ev[i].is_nan() && !g[i].is_nan()).collect();
    let dropped = c.runs.len() - rows.len();
    // Administrative censoring at the horizon.
    let time: Vec<f64> = rows.iter().map(|&i| t[i].min(s.horizon_days)).collect();
    let event: Vec<bool> = rows.iter().map(|&i| ev[i] == 1.0 && t[i] <= s.horizon_days).collect();
    let group: Vec<usize> = rows.iter().map(|&i| usize::from(g[i] == 1.0)).collect();
    let label = column_label(c.def, &s.groups);
    let names = vec![format!("without {}", s.groups), format!("with {}", s.groups)];
    let mut curves = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| group[i] == k).collect();
        if idx.is_empty() {
            continue;
        }
        let tk: Vec<f64> = idx.iter().map(|&i| time[i]).collect();
        let ek: Vec<bool> = idx.iter().map(|&i| event[i]).collect();
        let km = kaplan_meier(name, &tk, &ek, ConfType::Log, 0.95, None).map_err(err)?;
        let at = km.table.iter().rev().find(|r| r.time <= s.horizon_days);
        curves.push(KmCurve {
            name: name.clone(),
            n: km.n,
            events: km.events,
            median_days: km.median,
            surv_at_horizon: at.map_or(1.0, |r| r.surv),
            surv_at_horizon_low: at.map_or(1.0, |r| r.lower),
            surv_at_horizon_high: at.map_or(1.0, |r| r.upper),
            steps: km
                .table
                .iter()
                .map(|r| KmStep { time: r.time, surv: r.surv, lower: r.lower, upper: r.upper })
                .collect(),
        });
    }
    let lr = logrank_test(&time, &event, &group, &names, 0.0).map_err(err)?;
    tests.push(TestRecord {
        analysis: "survival".into(),
        variable: s.groups.clone(),
        test: "log-rank test (survdiff, rho = 0)".into(),
        p: Some(lr.p),
        reason: format!("Kaplan-Meier curves by {}, censored at {} days", s.groups, s.horizon_days),
    });
    let n_ticks = 5;
    let at_risk_times: Vec<f64> = (0..=n_ticks).map(|k| s.horizon_days * k as f64 / n_ticks as f64).collect();
    let at_risk = (0..names.len())
        .filter(|k| group.contains(k))
        .map(|k| {
            at_risk_times
                .iter()
                .map(|&tt| (0..rows.len()).filter(|&i| group[i] == k && time[i] >= tt).count())
                .collect()
        })
        .collect();
    let cox = if s.cox.is_empty() {
        None
    } else {
        let cols: Vec<Vec<f64>> = s.cox.iter().map(|v| c.numeric(v)).collect();
        let cr: Vec<usize> = (0..rows.len()).filter(|&k| cols.iter().all(|col| !col[rows[k]].is_nan())).collect();
        let rows_ref = &rows;
        let x: Vec<f64> = cr.iter().flat_map(|&k| cols.iter().map(move |col| col[rows_ref[k]])).collect();
        let tt: Vec<f64> = cr.iter().map(|&k| time[k]).collect();
        let ee: Vec<bool> = cr.iter().map(|&k| event[k]).collect();
        match cox_ph(&tt, &ee, &x, &s.cox, Ties::Efron, 0.95) {
            Ok(m) => {
                for k in &m.coefficients {
                    tests.push(TestRecord {
                        analysis: "Cox model".into(),
                        variable: k.term.clone(),
                        test: "Wald z (Cox proportional hazards, Efron ties)".into(),
                        p: Some(k.p),
                        reason: format!("{} runs, {} deaths within {} days", m.n, m.events, s.horizon_days),
                    });
                }
                Some(CoxSummary {
                    n: m.n,
                    events: m.events,
                    coefficients: m.coefficients,
                    lr_test: m.lr_test,
                    concordance: m.concordance.c_index,
                })
            }
            Err(e) => {
                tests.push(TestRecord {
                    analysis: "Cox model".into(),
                    variable: s.cox.join(", "),
                    test: "not fitted".into(),
                    p: None,
                    reason: e.to_string(),
                });
                None
            }
        }
    };
    Ok(SurvivalSection {
        time: s.time.clone(),
        event: s.event.clone(),
        horizon_days: s.horizon_days,
        groups: s.groups.clone(),
        group_label: label,
        curves,
        at_risk_times,
        at_risk,
        logrank: TestStat { statistic: lr.chisq, df: lr.df, p: lr.p },
        cox,
        rows_dropped: dropped,
    })
}

fn trajectory(c: &Cohort, quantity: &str) -> Trajectory {
    let (_, names) = groups(c);
    let unit = if quantity == "vis" { "points" } else { "mmol/L" };
    let groups = names
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let points = TRAJECTORY_HOURS
                .iter()
                .enumerate()
                .map(|(j, &hour)| {
                    let v: Vec<f64> = c
                        .runs
                        .iter()
                        .zip(&c.y)
                        .filter(|(_, y)| usize::from(**y != 1.0) == k)
                        .filter_map(|(r, _)| if quantity == "vis" { r.vis[j] } else { r.lactate[j] })
                        .collect();
                    if v.is_empty() {
                        return TrajectoryPoint { hour, n: 0, median: None, q1: None, q3: None };
                    }
                    let s = summarize(&v);
                    TrajectoryPoint { hour, n: v.len(), median: Some(s.median), q1: Some(s.q1), q3: Some(s.q3) }
                })
                .collect();
            TrajectoryGroup { name: name.clone(), points }
        })
        .collect();
    Trajectory { quantity: quantity.into(), unit: unit.into(), groups }
}

/// Order in which the tree's recommendations are listed (the tree's own order).
const TREE_ORDER: [&str; 6] =
    ["vad_not_advised_now", "treat_end_organ_first", "urgent_vad", "vad", "continue_ecmo", "need_data"];

fn decision_tree(c: &Cohort) -> DecisionTreeSection {
    let rules = ecmo_bedside::VadRules::published();
    let mut classes: Vec<TreeClass> = Vec::new();
    let mut patients = Vec::new();
    for (r, y) in c.runs.iter().zip(&c.y) {
        let t = &r.vad_tree;
        match classes.iter_mut().find(|k| k.recommendation == t.recommendation) {
            Some(k) => {
                k.n += 1;
                k.events += usize::from(*y == 1.0);
            }
            None => classes.push(TreeClass {
                recommendation: t.recommendation.clone(),
                headline: t.headline.clone(),
                n: 1,
                events: usize::from(*y == 1.0),
            }),
        }
        patients.push(TreePatient {
            run_id: r.row.run_id.clone(),
            recommendation: t.recommendation.clone(),
            deciding_step: t.deciding_step,
            hours_on_ecmo: t.hours_on_ecmo,
            event: *y == 1.0,
        });
    }
    let rank = |code: &str| TREE_ORDER.iter().position(|c| *c == code).unwrap_or(TREE_ORDER.len());
    classes.sort_by(|a, b| {
        rank(&a.recommendation).cmp(&rank(&b.recommendation)).then(a.recommendation.cmp(&b.recommendation))
    });
    DecisionTreeSection {
        rules: format!("{} (version {}; {})", rules.title, rules.version, rules.source),
        note: "Each run evaluated with the published rules (ecmo-bedside) on what was recorded up to its decision \
               time: decannulation, else the latest record. The tree was introduced after most of the published \
               cohort was treated; this shows what it would have recommended, not what was done."
            .into(),
        classes,
        patients,
    }
}
