//! Predictions against R: `predict(glm, newdata, type = "link", se.fit = TRUE)`
//! with the CI `plogis(eta ± qnorm(0.975) * se)` (tests/golden/predict_birthwt.R).

use ecmo_model::*;

fn golden() -> serde_json::Value {
    let text = include_str!("golden/predict_birthwt.json");
    serde_json::from_str(text).expect("golden JSON")
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().expect("number")
}

#[test]
fn probability_and_ci_match_r() {
    let g = golden();
    let coef: Vec<f64> = g["coef"].as_array().unwrap().iter().map(f).collect();
    let vcov: Vec<f64> =
        g["vcov"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(f)).collect();
    let p = |name: &str, transform| PredictorSpec {
        name: name.into(),
        label: name.into(),
        unit: "1".into(),
        transform,
        range: ObservedRange { min: -1e9, max: 1e9 },
        window: None,
    };
    let m = ModelFile::from_fit(
        ModelMeta {
            id: "birthwt".into(),
            version: "r".into(),
            title: "low birth weight".into(),
            outcome: Outcome { name: "low".into(), description: "birth weight < 2.5 kg".into() },
            population: Population::default(),
            caveats: vec![],
        },
        vec![
            p("age", Transform::Identity),
            p("lwt", Transform::Ln),
            p("smoke", Transform::Identity),
            p("ptl", Transform::Scale { by: 2.0 }),
        ],
        &coef,
        &vcov,
        Development {
            study: "MASS::birthwt".into(),
            cohort: "189 births, Baystate 1986".into(),
            n: g["n"].as_u64().unwrap(),
            events: g["events"].as_u64().unwrap(),
            synthetic: false,
            auc_apparent: 0.7,
            auc_optimism_corrected: Some(0.65),
            bootstrap_replicates: Some(200),
            calibration_slope: 1.0,
            calibration_intercept: 0.0,
            brier: 0.2,
            fitted_on: "2026-11-21".into(),
            data_fingerprint: "birthwt.csv".into(),
        },
    )
    .unwrap();
    let who = PatientFacts { mode: "va".into(), ecpr: false, etiology: "other".into() };
    for case in g["cases"].as_array().unwrap() {
        let inputs: Vec<InputValue> = ["age", "lwt", "smoke", "ptl"]
            .iter()
            .map(|n| InputValue {
                name: n.to_string(),
                value: Some(f(&case[n])),
                measured_at_hours: None,
                time: None,
                source: None,
            })
            .collect();
        let out = m.predict(&inputs, 48.0, &who);
        let pr = out.prediction.expect("prediction");
        for (ours, theirs) in [
            (pr.linear_predictor, f(&case["eta"])),
            (pr.linear_predictor_se, f(&case["se"])),
            (pr.probability, f(&case["p"])),
            (pr.ci_low, f(&case["lo"])),
            (pr.ci_high, f(&case["hi"])),
        ] {
            assert!((ours - theirs).abs() < 1e-12 * (1.0 + theirs.abs()), "{ours} vs R {theirs}");
        }
    }
}
