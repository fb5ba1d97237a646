use super::*;
use crate::testutil::*;
use ecmo_domain::{Drug, EventKind, Mode, Quantity, Unit};
use ecmo_model::{
    Development, GuardKind, ModelMeta, ObservedRange, Outcome, Population, PredictorSpec, Severity, Transform,
};

pub(crate) fn model(predictors: &[(&str, f64, f64)], coefs: &[f64]) -> ModelFile {
    let specs = predictors
        .iter()
        .map(|(name, min, max)| PredictorSpec {
            name: name.to_string(),
            label: name.replace('_', " "),
            unit: "1".into(),
            transform: Transform::Identity,
            range: ObservedRange { min: *min, max: *max },
            window: None,
        })
        .collect::<Vec<_>>();
    let k = specs.len() + 1;
    let mut vcov = vec![0.0; k * k];
    for i in 0..k {
        vcov[i * k + i] = 0.01;
    }
    ModelFile::from_fit(
        ModelMeta {
            id: "weaning-test".into(),
            version: "1".into(),
            title: "Successful weaning (test)".into(),
            outcome: Outcome { name: "weaned".into(), description: "successful weaning".into() },
            population: Population {
                description: "adults on VA-ECMO".into(),
                modes: vec!["va".into()],
                ecpr: None,
                etiologies: vec![],
            },
            caveats: vec!["test model".into()],
        },
        specs,
        coefs,
        &vcov,
        Development {
            study: "weaning".into(),
            cohort: "test".into(),
            n: 300,
            events: 120,
            synthetic: true,
            auc_apparent: 0.75,
            auc_optimism_corrected: Some(0.72),
            bootstrap_replicates: Some(200),
            calibration_slope: 0.9,
            calibration_intercept: 0.0,
            brier: 0.2,
            fitted_on: "2026-11-21".into(),
            data_fingerprint: "test".into(),
        },
    )
    .unwrap()
}

fn run_with_data() -> RunRecord {
    let mut r = record();
    infusion(&mut r, 0.0, Drug::Norepinephrine, 0.3);
    infusion(&mut r, 12.0, Drug::Norepinephrine, 0.1);
    obs(&mut r, 0.5, Quantity::Lactate, 6.0, Unit::MmolPerL);
    obs(&mut r, 23.0, Quantity::Lactate, 2.5, Unit::MmolPerL);
    obs(&mut r, 20.0, Quantity::Map, 68.0, Unit::MmHg);
    obs(&mut r, 20.0, Quantity::Bilirubin, 1.1, Unit::MgPerDl);
    event(&mut r, 22.0, EventKind::EchoAorticValve, Some("opens"));
    r
}

fn cfg(models: Vec<ModelFile>) -> AssessConfig {
    AssessConfig { models, ..AssessConfig::default() }
}

#[test]
fn a_model_prediction_with_inputs_and_times() {
    let r = run_with_data();
    let m = model(&[("lactate_max_24h", 0.5, 20.0), ("cardiac_arrest", 0.0, 1.0)], &[1.0, -0.2, -0.5]);
    let a = assess(&r, at(30.0), &cfg(vec![m]));
    let o = &a.models[0].outcome;
    let p = o.prediction.as_ref().expect("prediction");
    // eta = 1 - 0.2 * 6 - 0 = -0.2.
    assert!((p.linear_predictor + 0.2).abs() < 1e-12);
    assert_eq!(o.inputs[0].value, Some(6.0));
    assert_eq!(o.inputs[1].value, Some(0.0));
    // The synthetic-development caution is shown, nothing blocks.
    assert!(o.guards.iter().all(|g| g.severity == Severity::Caution));
    assert!(o.guards.iter().any(|g| g.kind == GuardKind::SyntheticDevelopmentData));
    let text = crate::render_text(&a);
    assert!(text.contains("95 % CI"), "{text}");
    assert!(text.contains("weaning-test@1"));
    // Plain language first, numbers next, sources last.
    let (i, j, k) =
        (text.find("IN PLAIN LANGUAGE").unwrap(), text.find("NUMBERS").unwrap(), text.find("SOURCES").unwrap());
    assert!(i < j && j < k);
}

#[test]
fn input_times_come_from_the_records() {
    let r = run_with_data();
    let m = model(&[("lactate_at_24h", 0.5, 20.0)], &[0.0, -0.1]);
    let a = assess(&r, at(30.0), &cfg(vec![m]));
    let i = &a.models[0].outcome.inputs[0];
    assert_eq!(i.value, Some(2.5));
    assert_eq!(i.measured_at_hours, Some(23.0));
    assert!(i.source.as_deref().unwrap().contains("lactate"), "{:?}", i.source);
}

#[test]
fn outcome_and_unknown_columns_are_never_inputs() {
    let r = run_with_data();
    let m = model(&[("weaned", 0.0, 1.0), ("not_a_column", 0.0, 1.0)], &[0.0, 1.0, 1.0]);
    let a = assess(&r, at(30.0), &cfg(vec![m]));
    let o = &a.models[0].outcome;
    assert!(o.prediction.is_none());
    assert!(o.inputs[0].source.as_deref().unwrap().contains("outcome column"));
    assert!(o.inputs[1].source.as_deref().unwrap().contains("not a column"));
}

#[test]
fn vv_run_blocks_va_model_and_va_scores() {
    let mut r = run_with_data();
    r.run.mode = Mode::Vv;
    let m = model(&[("cardiac_arrest", 0.0, 1.0)], &[0.0, -0.5]);
    let a = assess(&r, at(30.0), &cfg(vec![m]));
    assert!(a.models[0].outcome.prediction.is_none());
    let save = a.published_scores.iter().find(|p| p.name == "SAVE").unwrap();
    assert!(!save.applicable);
    assert!(save.guards.iter().any(|g| g.kind == GuardKind::PopulationMismatch));
}

#[test]
fn published_scores_carry_population_and_caveats() {
    let a = assess(&run_with_data(), at(30.0), &AssessConfig::default());
    let save = a.published_scores.iter().find(|p| p.name == "SAVE").unwrap();
    assert!(save.caveats.iter().any(|c| c.contains("benchmarking")));
    let enc = a.published_scores.iter().find(|p| p.name == "ENCOURAGE").unwrap();
    // AMI cardiogenic shock: no etiology caution.
    assert!(enc.guards.is_empty());
    let tips = a.published_scores.iter().find(|p| p.name == "TiPS65").unwrap();
    assert!(!tips.applicable);
    let text = crate::render_text(&a);
    assert!(text.contains("SAVE is for benchmarking"), "{text}");
}

#[test]
fn assessment_serialises_with_versions() {
    let a = assess(&run_with_data(), at(30.0), &AssessConfig::default());
    let v = serde_json::to_value(&a).unwrap();
    assert_eq!(v["format"], "ecmo-cds-assessment");
    assert_eq!(v["vad"]["rules_id"], "vad-decision-tree");
    assert_eq!(v["as_of"], "2024-03-02T14:00");
    assert!(a.versions().contains("rules vad-decision-tree@published-2018.1"));
    assert!(a.caveats[0].contains("not a decision"));
}

#[test]
fn latest_instant_is_the_last_record_or_decannulation() {
    let mut r = run_with_data();
    assert_eq!(latest_instant(&r), at(23.0));
    r.run.decannulation = Some(at(10.0));
    assert_eq!(latest_instant(&r), at(10.0));
}
