//! The sections beyond R's defaults (issue 9) on the built-in studies: added value (NRI, IDI),
//! decision curves, multiple imputation, selection stability and competing risks, each
//! checked against an identity or a count made independently of ecmo-stats.

mod common;

use common::{builtin, run_text, runs};
use ecmo_study::result::StudyResult;
use ecmo_study::{StudyDef, StudyError, StudyRun};
use ecmo_synth::Profile;

/// The weaning built-in on a synthetic weaning cohort (shared by the tests below).
fn weaning() -> &'static (Vec<StudyRun>, StudyResult) {
    static W: std::sync::OnceLock<(Vec<StudyRun>, StudyResult)> = std::sync::OnceLock::new();
    W.get_or_init(|| {
        let r = runs(Profile::CsWeaning, 200, 31);
        let res = run_text(builtin("weaning"), &r).unwrap();
        (r, res)
    })
}

#[test]
fn vis_combined_model_adds_to_the_vis_reduction_rate() {
    let r = runs(Profile::CsVis, 300, 32);
    let res = run_text(builtin("vis"), &r).unwrap();
    assert!(res.notes.is_empty(), "{:?}", res.notes);
    let a = res.added_value.as_ref().expect("added value section");
    for (what, e) in [("continuous NRI", &a.reclassification.nri_continuous.nri), ("IDI", &a.reclassification.idi)] {
        assert!(e.estimate > 0.0 && e.ci_low > 0.0 && e.ci_low < e.estimate && e.estimate < e.ci_high, "{what} {e:?}");
    }
    let cat = a.reclassification.nri_categorical.as_ref().expect("categorical NRI with risk categories");
    assert_eq!(a.reclassification.cutoffs, vec![0.3, 0.6]);
    assert!(cat.nri.estimate > 0.0, "{cat:?}");
    // NRI = P(up | event) - P(down | event) + P(down | non-event) - P(up | non-event)
    let n = &a.reclassification.nri_continuous;
    let sum = n.up_events - n.down_events + n.down_nonevents - n.up_nonevents;
    assert!((sum - n.nri.estimate).abs() < 1e-12);
    assert!(a.auc.auc_b > a.auc.auc_a && a.auc.diff_ci_high < 0.0, "{:?}", a.auc);
    assert_eq!(a.n + a.rows_dropped, res.flow.included);

    let d = res.decision_curve.as_ref().expect("decision curve section");
    let events = r.iter().filter(|_| true).count(); // all runs generated; the section counts its own rows
    assert!(d.n <= events && d.n == res.flow.included - d.rows_dropped);
    let prevalence = d.events as f64 / d.n as f64;
    assert!((d.curve.prevalence - prevalence).abs() < 1e-12);
    assert_eq!(d.curve.thresholds.len(), 19);
    assert!((d.curve.thresholds[0] - 0.05).abs() < 1e-12 && (d.curve.thresholds[18] - 0.95).abs() < 1e-12);
    for (k, &t) in d.curve.thresholds.iter().enumerate() {
        let all = prevalence - (1.0 - prevalence) * t / (1.0 - t);
        assert!((d.curve.treat_all[k] - all).abs() < 1e-12, "treat-all at {t}");
        assert_eq!(d.curve.treat_none[k], 0.0);
        for m in &d.curve.models {
            // True positives are at most the events: net benefit never exceeds the prevalence.
            assert!(m.net_benefit[k] <= prevalence + 1e-12, "{} at {t}", m.name);
        }
    }
    assert_eq!(
        d.curve.models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["VIS reduction rate alone", "model"]
    );
    let diff = d.difference.as_ref().expect("NB difference");
    assert_eq!((diff.model_a.as_str(), diff.model_b.as_str()), ("model", "VIS reduction rate alone"));
    for (k, x) in diff.difference.iter().enumerate() {
        let est = d.curve.models[1].net_benefit[k] - d.curve.models[0].net_benefit[k];
        assert!((x.estimate - est).abs() < 1e-12 && x.ci_low <= x.ci_high, "{x:?}");
    }

    let roc = res.roc.as_ref().unwrap();
    let multi = roc.all_equal.as_ref().expect("k-curve DeLong test");
    assert_eq!(multi.df, (roc.curves.len() - 1) as f64);
    assert!(multi.p < 0.05, "five curves of different strength: {multi:?}");
    for c in &roc.curves {
        let b = c.youden_bootstrap.as_ref().expect("cut-off bootstrap");
        assert_eq!(b.threshold.estimate, c.youden_threshold);
        assert!(b.threshold.ci_low <= b.threshold.ci_high && b.replicates == 10, "{} {b:?}", c.name);
    }
    let m = &res.models[0];
    assert!(m.imputation.is_none() && m.missing_data.starts_with("Complete-case analysis"), "{}", m.missing_data);
    let item11 = m.tripod.iter().find(|i| i.item == "11").unwrap();
    assert_eq!(item11.text, m.missing_data);
}

#[test]
fn weaning_cumulative_incidences_and_event_free_survival_sum_to_one() {
    let (r, res) = weaning();
    let cr = res.competing_risks.as_ref().expect("competing-risks section");
    assert_eq!(cr.causes, ["died on ECMO", "bridged to VAD or transplant", "weaned (decannulated alive)"]);
    assert_eq!(cr.groups, ["cardiac_arrest = no", "cardiac_arrest = yes"]);
    // Events per cause, counted from the feature rows of the included runs.
    let included: Vec<&StudyRun> = {
        let ids: std::collections::BTreeSet<&str> = r.iter().map(|x| x.row.run_id.as_str()).collect();
        let mut v: Vec<&StudyRun> = r.iter().filter(|x| ids.contains(x.row.run_id.as_str())).collect();
        v.retain(|x| x.row.by_name("mode_va") == Some(1.0) && x.row.by_name("weaned").is_some());
        v
    };
    let count = |col: &str| included.iter().filter(|x| x.row.by_name(col) == Some(1.0)).count();
    let events = |k: u32| cr.incidence.curves.iter().filter(|c| c.cause == k).map(|c| c.events).sum::<usize>();
    assert_eq!(events(1), count("died_on_ecmo"));
    assert_eq!(events(2), count("bridged"));
    assert!(events(3) > 0);
    assert_eq!(cr.n + cr.rows_dropped, res.flow.included);
    for g in &cr.groups {
        let curves: Vec<_> = cr.incidence.curves.iter().filter(|c| &c.group == g).collect();
        assert_eq!(curves.len(), 3, "{g}");
        let free = cr.event_free.iter().find(|e| &e.group == g).unwrap();
        let surv = |t: f64| free.steps.iter().take_while(|s| s.time <= t).last().map_or(1.0, |s| s.surv);
        let mut times: Vec<f64> = free.steps.iter().map(|s| s.time).collect();
        times.extend(curves.iter().flat_map(|c| c.points.iter().map(|p| p.time)));
        times.push(0.0);
        for t in times {
            let total: f64 = curves.iter().map(|c| c.at(t).0).sum::<f64>() + surv(t);
            assert!((total - 1.0).abs() < 1e-9, "{g} at {t} h: CIFs + event-free = {total}");
        }
    }
    assert_eq!(cr.incidence.tests.len(), 3, "Gray's test per cause");
    let fg = cr.fine_gray.as_ref().expect("Fine-Gray model");
    assert_eq!(fg.cause, "weaned (decannulated alive)");
    assert_eq!(fg.model.coefficients.len(), 3);
    let ca = &fg.model.coefficients[0];
    assert!(ca.term == "cardiac_arrest" && ca.shr < 1.0, "arrest lowers the incidence of weaning: {ca:?}");
}

#[test]
fn weaning_selection_stability_and_decision_curve() {
    let (_, res) = weaning();
    let m = &res.models[0];
    let st = m.stability.as_ref().expect("stability");
    assert_eq!(st.replicates, 10);
    assert_eq!(st.terms.len(), m.candidates.len());
    for t in &st.terms {
        assert_eq!(t.selected_on_full_data, m.final_terms.contains(&t.term), "{}", t.term);
        assert!((t.proportion - t.selected as f64 / st.successful as f64).abs() < 1e-12);
    }
    assert_eq!(st.models.iter().map(|x| x.count).sum::<usize>(), st.successful);
    let d = res.decision_curve.as_ref().expect("decision curve");
    assert_eq!(d.models.len(), 2);
    assert!(d.difference.is_some());
    let twelve = m.tripod.iter().find(|i| i.item == "12a-g").unwrap();
    assert!(twelve.text.contains("Selection stability"), "{}", twelve.text);
}

/// No built-in model has a candidate missing in the synthetic registry, so multiple imputation is
/// shown on a custom study: lactate at 24 h is missing when no sample was drawn within 2 h of it.
#[test]
fn mice_pools_a_model_with_a_missing_predictor() {
    let text = r#"
[study]
name = "mice"
title = "Weaning with lactate at 24 h, imputed"

[population]
criteria = [{ column = "mode_va", op = "eq", value = 1, reason = "not VA" }]

[outcome]
column = "weaned"
label = "weaned"
event_label = "weaned"
non_event_label = "not weaned"

[model]
name = "lactate model"
candidates = ["lactate_at_24h", "sofa_24h", "cardiac_arrest"]
selection = "none"
seed = 7

[missing_data]
method = "mice"
m = 3
maxit = 3
seed = 11
auxiliary = ["lactate_max_24h", "lactate_t0"]

[roc]
predictors = ["sofa_24h"]
include_model = true
"#;
    let (r, _) = weaning();
    let res = run_text(text, r).unwrap();
    let m = &res.models[0];
    let imp = m.imputation.as_ref().expect("imputation");
    let missing_in = |cols: &[&str]| {
        r.iter()
            .filter(|x| x.row.by_name("mode_va") == Some(1.0) && x.row.by_name("weaned").is_some())
            .filter(|x| cols.iter().any(|c| x.row.by_name(c).is_none()))
            .count()
    };
    let candidates = ["lactate_at_24h", "sofa_24h", "cardiac_arrest"];
    let missing = missing_in(&candidates);
    let imputed = missing_in(&[&candidates[..], &["lactate_max_24h", "lactate_t0"]].concat());
    assert!(missing > 0, "the cohort has missing lactate at 24 h");
    // Rows with any imputed value count the auxiliary columns; complete cases do not.
    assert_eq!(imp.incomplete_rows, imputed);
    assert_eq!(imp.complete_cases + missing, res.flow.included);
    assert_eq!((m.n, m.rows_dropped), (res.flow.included, 0));
    assert!(m.missing_data.starts_with(&format!("Multiple imputation (MICE): {missing} of {}", res.flow.included)));
    assert!(m.missing_data.contains(&format!("{imputed} runs had a value imputed")), "{}", m.missing_data);
    assert_eq!(imp.pooled.m, 3);
    // The hand-pooled covariance has mice::pool's total variance on its diagonal.
    let p = m.coefficients.len();
    for (j, k) in imp.pooled.coefficients.iter().enumerate() {
        assert!((m.vcov[j * p + j] - k.t).abs() < 1e-9 * k.t.max(1.0), "{}", k.term);
        assert!(k.t >= k.ubar && (0.0..=1.0).contains(&k.fmi), "{k:?}");
    }
    assert!((m.auc - imp.pooled.auc.auc).abs() < 1e-15);
    let v = m.validation.as_ref().expect("bootstrap with imputation inside");
    assert_eq!(v.replicates, 10);
    let roc = res.roc.as_ref().unwrap();
    let model_curve = roc.curves.iter().find(|c| c.name == "model").unwrap();
    assert_eq!(model_curve.n, res.flow.included, "imputed predictions for every run");
    let item11 = m.tripod.iter().find(|i| i.item == "11").unwrap();
    assert!(item11.text.contains("Multiple imputation") && item11.text.contains("m = 3"), "{}", item11.text);
}

fn definition_error(base: &str, extra: &str) -> String {
    let text = format!("{base}\n{extra}\n");
    match StudyDef::parse(&text, "my.toml") {
        Err(StudyError::Definition(m)) => m,
        other => panic!("expected a definition error, got {other:?}"),
    }
}

#[test]
fn new_sections_name_the_file_and_the_unknown_column() {
    let vis = builtin("vis").replace("[added_value]", "[added_value_unused]");
    let vis = &vis[..vis.find("[added_value_unused]").unwrap()];
    for (extra, expect) in [
        (
            "[added_value]\nbase = [\"vis_reduction\"]\nextended = [\"apache2_24h\"]",
            "my.toml: [added_value] base: unknown column 'vis_reduction' (did you mean 'vis_reduction_24h'?)",
        ),
        (
            "[decision_curve]\nmodels = [{ name = \"a\", predictors = [\"apache2_24\"] }]",
            "my.toml: [decision_curve] model 'a': unknown column 'apache2_24' (did you mean 'apache2_24h'?)",
        ),
        (
            "[decision_curve]\ninclude_model = true\ndifference = [\"model\", \"other\"]",
            "my.toml: [decision_curve] difference: no curve 'other' (curves: model)",
        ),
        (
            "[competing_risks]\ntime = \"ecmo_hour\"\ncause = \"died_on_ecmo\"\ncause_labels = [\"died\"]",
            "my.toml: [competing_risks] time: unknown column 'ecmo_hour' (did you mean 'ecmo_hours'?)",
        ),
        (
            "[missing_data]\nmethod = \"mice\"\nauxiliary = [\"lactate_t1\"]",
            "my.toml: [missing_data] auxiliary: unknown column 'lactate_t1' (did you mean 'lactate_t0'?)",
        ),
        ("[missing_data]\nmethod = \"hot_deck\"", "unknown variant `hot_deck`, expected `complete_case` or `mice`"),
        ("[stability]\nbootstrap = 10", "my.toml: [stability] needs a [model] with a selection"),
    ] {
        let e = definition_error(vis, extra);
        assert!(e.starts_with(expect) || e.contains(expect), "{extra}:\n{e}");
    }
    let weaning = builtin("weaning");
    let e =
        definition_error(&weaning.replace("censored = \"on ECMO at last follow-up\"", "censored = \"on ECMO\""), "");
    assert!(e.contains("[competing_risks] censored: 'on ECMO' is not a level of 'run_end'"), "{e}");
    let e = definition_error(&weaning.replace("{ present = \"ecmo_hours\"", "{ present = \"ecmo_hour\""), "");
    assert!(e.contains("[[derived]] 'run_end' case 3: unknown column 'ecmo_hour' (did you mean 'ecmo_hours'?)"), "{e}");
    let e = definition_error(
        &weaning
            .replace("column = \"follow_up_day\"", "x")
            .replace("column = \"follow_up_days\"", "column = \"follow_up_day\""),
        "",
    );
    assert!(
        e.contains(
            "[[derived]] 'run_end_hours' first_of: unknown column 'follow_up_day' (did you mean 'follow_up_days'?)"
        ),
        "{e}"
    );
}

/// Curves that rank the runs alike make the k-curve test undefined: the study still runs,
/// the pairwise tests are there, and the joint test is recorded as not computed with why.
#[test]
fn k_curve_test_undefined_for_curves_ranking_alike_does_not_fail_the_study() {
    let text = r#"
[study]
name = "alike"
title = "Three curves, two of them one predictor"

[population]
criteria = [{ column = "mode_va", op = "eq", value = 1, reason = "not VA" }]

[outcome]
column = "weaned"
label = "weaned"
event_label = "weaned"
non_event_label = "not weaned"

[model]
name = "SOFA model"
candidates = ["sofa_24h"]
selection = "none"
seed = 7

[roc]
predictors = ["sofa_24h", "apache2_24h"]
include_model = true
"#;
    let r = runs(Profile::CsWeaning, 150, 33);
    let res = run_text(text, &r).expect("the study runs despite the singular joint test");
    let roc = res.roc.as_ref().expect("ROC section");
    assert_eq!(roc.curves.len(), 3);
    assert_eq!(roc.comparisons.len(), 3, "every pair is still compared");
    assert!(roc.all_equal.is_none());
    let joint = res.tests.iter().find(|t| t.test.contains("all 3 AUCs are equal")).expect("joint test recorded");
    assert!(joint.p.is_none() && joint.test.ends_with("not computed"), "{joint:?}");
    assert!(joint.reason.contains("rank the runs alike"), "{joint:?}");
}

/// A `cases` variable is unknown when a `when` column before the matching case is empty:
/// a decannulated run whose bridging is unknown is not called "weaned".
#[test]
fn cases_label_is_unknown_when_an_earlier_when_column_is_empty() {
    use ecmo_scores::features::Col;
    let def = StudyDef::parse(builtin("weaning"), "weaning.toml").unwrap();
    let (r, _) = weaning();
    let mut run = r
        .iter()
        .find(|x| x.row.get(Col::DiedOnEcmo) == Some(0.0) && x.row.get(Col::EcmoHours).is_some())
        .expect("a decannulated run")
        .clone();
    run.row.values[Col::Bridged as usize] = Some(0.0);
    assert_eq!(run.text(&def, "run_end"), Some("weaned (decannulated alive)"));
    run.row.values[Col::Bridged as usize] = None;
    assert_eq!(run.text(&def, "run_end"), None);
    run.row.values[Col::DiedOnEcmo as usize] = Some(1.0);
    assert_eq!(run.text(&def, "run_end"), Some("died on ECMO"), "a case that holds first still decides");
}
