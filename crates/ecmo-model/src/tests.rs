use super::*;

pub(crate) fn dev(n: u64, events: u64) -> Development {
    Development {
        study: "weaning-vis".into(),
        cohort: "test cohort".into(),
        n,
        events,
        synthetic: false,
        auc_apparent: 0.8,
        auc_optimism_corrected: Some(0.78),
        bootstrap_replicates: Some(200),
        calibration_slope: 0.95,
        calibration_intercept: 0.01,
        brier: 0.18,
        fitted_on: "2026-11-21".into(),
        data_fingerprint: "fnv1a64:0123456789abcdef".into(),
    }
}

pub(crate) fn spec(name: &str, min: f64, max: f64) -> PredictorSpec {
    PredictorSpec {
        name: name.into(),
        label: name.replace('_', " "),
        unit: "points".into(),
        transform: Transform::Identity,
        range: ObservedRange { min, max },
        window: None,
    }
}

pub(crate) fn meta() -> ModelMeta {
    ModelMeta {
        id: "weaning-test".into(),
        version: "1".into(),
        title: "test model".into(),
        outcome: Outcome { name: "weaned".into(), description: "successful weaning".into() },
        population: Population {
            description: "adults on VA-ECMO".into(),
            modes: vec!["va".into()],
            ecpr: None,
            etiologies: vec![],
        },
        caveats: vec!["test".into()],
    }
}

/// Two predictors, intercept 0.5, b = (-0.1, 0.8), diagonal covariance.
pub(crate) fn two_predictor_model(n: u64, events: u64) -> ModelFile {
    ModelFile::from_fit(
        meta(),
        vec![spec("sofa", 2.0, 20.0), spec("cardiac_arrest", 0.0, 1.0)],
        &[0.5, -0.1, 0.8],
        &[0.04, 0.0, 0.0, 0.0, 0.0004, 0.0, 0.0, 0.0, 0.09],
        dev(n, events),
    )
    .unwrap()
}

fn va() -> PatientFacts {
    PatientFacts { mode: "va".into(), ecpr: false, etiology: "ami_cs".into() }
}

fn input(name: &str, v: Option<f64>) -> InputValue {
    InputValue { name: name.into(), value: v, measured_at_hours: Some(10.0), time: None, source: None }
}

#[test]
fn prediction_by_hand() {
    let m = two_predictor_model(200, 80);
    let out = m.predict(&[input("sofa", Some(10.0)), input("cardiac_arrest", Some(1.0))], 24.0, &va());
    let p = out.prediction.expect("no blocking guard");
    // eta = 0.5 - 1.0 + 0.8 = 0.3; var = 0.04 + 100*0.0004 + 0.09 = 0.17.
    assert!((p.linear_predictor - 0.3).abs() < 1e-12);
    assert!((p.linear_predictor_se - 0.17f64.sqrt()).abs() < 1e-12);
    assert!((p.probability - 1.0 / (1.0 + (-0.3f64).exp())).abs() < 1e-12);
    assert!(p.ci_low < p.probability && p.probability < p.ci_high);
    assert_eq!(p.contributions.len(), 2);
    assert!((p.contributions[0].log_odds + 1.0).abs() < 1e-12);
    assert!((p.contributions[1].odds_ratio - 0.8f64.exp()).abs() < 1e-12);
    assert!(out.guards.is_empty(), "{:?}", out.guards);
}

#[test]
fn missing_input_blocks_and_is_never_imputed() {
    let m = two_predictor_model(200, 80);
    let out = m.predict(&[input("sofa", Some(10.0))], 24.0, &va());
    assert!(out.prediction.is_none());
    let g = out.guards.iter().find(|g| g.kind == GuardKind::MissingInput).unwrap();
    assert_eq!(g.severity, Severity::Blocking);
    assert_eq!(g.predictor.as_deref(), Some("cardiac_arrest"));
    assert_eq!(out.inputs.len(), 2);
    let out = m.predict(&[input("sofa", None), input("cardiac_arrest", Some(0.0))], 24.0, &va());
    assert!(out.prediction.is_none());
}

#[test]
fn outside_range_cautions_but_predicts() {
    let m = two_predictor_model(200, 80);
    let out = m.predict(&[input("sofa", Some(22.0)), input("cardiac_arrest", Some(0.0))], 24.0, &va());
    assert!(out.prediction.is_some());
    let g = out.guards.iter().find(|g| g.kind == GuardKind::OutsideDevelopmentRange).unwrap();
    assert_eq!(g.severity, Severity::Caution);
    assert!(g.message.contains("2-20"), "{}", g.message);
}

#[test]
fn low_events_per_predictor() {
    // 19 events for 2 predictors: 9.5 per predictor.
    let m = two_predictor_model(100, 19);
    assert_eq!(m.events_per_predictor(), Some(9.5));
    assert!(m.model_guards().iter().any(|g| g.kind == GuardKind::LowEventsPerPredictor));
    // The limiting class is the smaller one: 81 events of 100 leaves 19 non-events.
    let m = two_predictor_model(100, 81);
    assert!(m.model_guards().iter().any(|g| g.kind == GuardKind::LowEventsPerPredictor));
    let m = two_predictor_model(100, 20);
    assert!(!m.model_guards().iter().any(|g| g.kind == GuardKind::LowEventsPerPredictor));
}

#[test]
fn vv_run_on_a_va_model_is_blocked() {
    let m = two_predictor_model(200, 80);
    let vv = PatientFacts { mode: "vv".into(), ..va() };
    let out = m.predict(&[input("sofa", Some(10.0)), input("cardiac_arrest", Some(0.0))], 24.0, &vv);
    assert!(out.prediction.is_none());
    assert!(out.guards.iter().any(|g| g.kind == GuardKind::PopulationMismatch && g.severity == Severity::Blocking));
}

#[test]
fn ecpr_and_etiology_mismatch_caution() {
    let mut m = two_predictor_model(200, 80);
    m.population.ecpr = Some(true);
    m.population.etiologies = vec!["myocarditis".into()];
    let out = m.predict(&[input("sofa", Some(10.0)), input("cardiac_arrest", Some(0.0))], 24.0, &va());
    assert!(out.prediction.is_some());
    assert_eq!(out.guards.iter().filter(|g| g.kind == GuardKind::PopulationMismatch).count(), 2);
}

#[test]
fn window_guards() {
    let mut specs = vec![spec("sofa", 2.0, 20.0)];
    specs[0].window = Some(InputWindow {
        description: "worst in the first 24 h".into(),
        available_from_hours: Some(24.0),
        max_age_hours: Some(48.0),
    });
    let m = ModelFile::from_fit(meta(), specs, &[0.0, 0.1], &[0.01, 0.0, 0.0, 0.01], dev(300, 100)).unwrap();
    let early = m.predict(&[input("sofa", Some(8.0))], 12.0, &va());
    assert!(early.prediction.is_none());
    assert!(early.guards.iter().any(|g| g.kind == GuardKind::NotYetAvailable));
    let late = m.predict(&[input("sofa", Some(8.0))], 100.0, &va());
    assert!(late.prediction.is_some());
    assert!(late.guards.iter().any(|g| g.kind == GuardKind::StaleInput));
}

#[test]
fn transforms() {
    assert_eq!(Transform::Ln.apply(1.0), Ok(0.0));
    assert!(Transform::Ln.apply(0.0).is_err());
    assert!(Transform::Ln1p.apply(-1.0).is_err());
    assert_eq!(Transform::Scale { by: 10.0 }.apply(25.0), Ok(2.5));
    let mut specs = vec![spec("lactate", 0.5, 20.0)];
    specs[0].transform = Transform::Ln;
    let m = ModelFile::from_fit(meta(), specs, &[0.0, 0.1], &[0.01, 0.0, 0.0, 0.01], dev(300, 100)).unwrap();
    let out = m.predict(&[input("lactate", Some(0.0))], 30.0, &va());
    assert!(out.prediction.is_none());
    assert!(out.guards.iter().any(|g| g.kind == GuardKind::InvalidInput));
}

#[test]
fn round_trip_and_checksum() {
    let m = two_predictor_model(200, 80);
    let text = m.to_json();
    let back = ModelFile::from_json(&text, "mem").unwrap();
    assert_eq!(back, m);
    assert_eq!(back.checksum(), m.checksum());
    let mut other = m.clone();
    other.predictors[0].coefficient += 1e-9;
    assert_ne!(other.checksum(), m.checksum());
    assert_eq!(m.label(), "weaning-test@1");
}

fn err_of(text: &str) -> String {
    ModelFile::from_json(text, "m.json").unwrap_err().to_string()
}

fn edited(f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&two_predictor_model(200, 80).to_json()).unwrap();
    f(&mut v);
    v.to_string()
}

#[test]
fn clear_errors() {
    let e = err_of("{ not json");
    assert!(e.contains("m.json") && e.contains("line 1"), "{e}");
    let e = err_of(r#"{"format": "something-else"}"#);
    assert!(e.contains("not an ecmo-cds model file"), "{e}");
    let e = err_of(r#"{"a": 1}"#);
    assert!(e.contains("`format`") && e.contains("missing"), "{e}");
    let e = err_of(&edited(|v| v["format_version"] = 99.into()));
    assert!(e.contains("newer ecmo"), "{e}");
    let e = err_of(&edited(|v| v["covariance"][0][1] = 0.5.into()));
    assert!(e.contains("covariance[1][0]") && e.contains("symmetric"), "{e}");
    let e = err_of(&edited(|v| v["covariance"][1][1] = (-1.0).into()));
    assert!(e.contains("covariance[1][1]"), "{e}");
    let e = err_of(&edited(|v| v["predictors"][1]["name"] = "sofa".into()));
    assert!(e.contains("predictors[1].name") && e.contains("twice"), "{e}");
    let e = err_of(&edited(|v| v["development"]["events"] = 500.into()));
    assert!(e.contains("development.events"), "{e}");
    let e = err_of(&edited(|v| v["development"]["fitted_on"] = "21/11/2026".into()));
    assert!(e.contains("fitted_on"), "{e}");
    let e = err_of(&edited(|v| v["development"]["auc_apparent"] = 1.2.into()));
    assert!(e.contains("auc_apparent"), "{e}");
    let e = err_of(&edited(|v| v["predictors"][0]["range"]["min"] = 50.0.into()));
    assert!(e.contains("predictors[0].range"), "{e}");
    let e = err_of(&edited(|v| v["predictors"][0]["transform"] = serde_json::json!({"kind": "scale", "by": 0.0})));
    assert!(e.contains("transform.by"), "{e}");
    let e = err_of(&edited(|v| v["covariance_terms"][1] = "age".into()));
    assert!(e.contains("covariance_terms"), "{e}");
    let e = err_of(&edited(|v| v["kind"] = "cox".into()));
    assert!(e.contains("kind") || e.contains("cox"), "{e}");
}

#[test]
fn from_fit_checks_shapes() {
    let e = ModelFile::from_fit(meta(), vec![spec("sofa", 0.0, 1.0)], &[0.0], &[0.0], dev(10, 5)).unwrap_err();
    assert!(e.to_string().contains("coefficients"));
    let e = ModelFile::from_fit(meta(), vec![spec("sofa", 0.0, 1.0)], &[0.0, 1.0], &[0.0; 3], dev(10, 5)).unwrap_err();
    assert!(e.to_string().contains("2 x 2"));
}

#[test]
fn save_load_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let m = two_predictor_model(200, 80);
    m.save(&dir.path().join("a.json")).unwrap();
    std::fs::write(dir.path().join("notes.json"), "{\"x\": 1}").unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"format\": \"ecmo-cds-model\"}").unwrap();
    assert_eq!(ModelFile::load(&dir.path().join("a.json")).unwrap(), m);
    let listed = list_dir(dir.path()).unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].0.ends_with("a.json") && listed[0].1.is_ok());
    assert!(listed[1].0.ends_with("broken.json") && listed[1].1.is_err());
    let e = ModelFile::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(e.to_string().contains("missing.json"));
}

#[test]
fn expit_is_stable() {
    assert_eq!(expit(0.0), 0.5);
    assert!(expit(-800.0) >= 0.0 && expit(-800.0) < 1e-300);
    assert_eq!(expit(800.0), 1.0);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn ci_contains_the_estimate_and_stays_in_0_1(s in 0.0f64..25.0, a in 0.0f64..=1.0) {
            let m = two_predictor_model(200, 80);
            let out = m.predict(&[input("sofa", Some(s)), input("cardiac_arrest", Some(a))], 30.0, &va());
            let p = out.prediction.unwrap();
            prop_assert!(0.0 <= p.ci_low && p.ci_low <= p.probability);
            prop_assert!(p.probability <= p.ci_high && p.ci_high <= 1.0);
            let sum = p.intercept + p.contributions.iter().map(|c| c.log_odds).sum::<f64>();
            prop_assert!((sum - p.linear_predictor).abs() < 1e-12);
        }
    }
}
