//! The bedside calculator layer end to end: inputs from JSON and flag pairs,
//! unit conversion, refusal of impossible values, JSON output shape.

use ecmo_scores::{CalcInput, Options, ScoreError, calculators, compute};

fn run(name: &str, pairs: &[(&str, &str)]) -> Result<ecmo_scores::ScoreResult, ScoreError> {
    compute(name, &CalcInput::from_pairs(pairs.iter().copied())?, &Options::default())
}

#[test]
fn v4_norepinephrine_per_minute_with_weight() {
    let r = run("vis", &[("norepinephrine", "16 mcg/min"), ("weight", "80kg")]).unwrap();
    assert_eq!(r.total, Some(20.0));
}

#[test]
fn v1_from_json_with_vasopressin_in_u_per_min() {
    let input = CalcInput::from_json_str(
        r#"{"dobutamine": [5, "mcg/kg/min"], "epinephrine": [0.05, "mcg/kg/min"], "norepinephrine": [0.2, "mcg/kg/min"],
            "milrinone": [0.375, "mcg/kg/min"], "vasopressin": [0.04, "U/min"], "weight": [80, "kg"]}"#,
    )
    .unwrap();
    let r = compute("vis", &input, &Options::default()).unwrap();
    assert!((r.total.unwrap() - 38.75).abs() < 1e-9);
    // Vasopressin charted in U/h gives the same.
    let r = run(
        "vis",
        &[
            ("dobutamine", "5mcg/kg/min"),
            ("epinephrine", "0.05mcg/kg/min"),
            ("norepinephrine", "0.2mcg/kg/min"),
            ("milrinone", "0.375mcg/kg/min"),
            ("vasopressin", "2.4U/h"),
            ("weight", "80kg"),
        ],
    )
    .unwrap();
    assert!((r.total.unwrap() - 38.75).abs() < 1e-9);
    let r = run("vis", &[("vasopressin", "0.0005 U/kg/min")]).unwrap();
    assert!((r.total.unwrap() - 5.0).abs() < 1e-9);
}

#[test]
fn v2_variant_from_input() {
    let r = run("vis", &[("levosimendan", "0.1 mcg/kg/min"), ("variant", "koponen2019")]).unwrap();
    assert!((r.total.unwrap() - 5.0).abs() < 1e-9);
    let r = run("vis", &[("levosimendan", "0.1 mcg/kg/min")]).unwrap();
    assert_eq!(r.total, Some(0.0));
    assert_eq!(r.excluded_agents, vec!["levosimendan"]);
    let e = run("vis", &[("levosimendan", "0.1 mcg/kg/min"), ("strict", "yes")]).unwrap_err();
    assert!(e.to_string().contains("levosimendan"), "{e}");
}

#[test]
fn dose_pitfalls_are_refused_with_the_field_named() {
    // 0.04 typed as U/kg/min: would add 400 points.
    let e = run("vis", &[("vasopressin", "0.04 U/kg/min"), ("weight", "80 kg")]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("vasopressin") && msg.contains("U/min"), "{msg}");
    // 16 typed as mcg/kg/min: would add 1600 points.
    let e = run("vis", &[("norepinephrine", "16 mcg/kg/min")]).unwrap_err();
    assert!(e.to_string().contains("norepinephrine"), "{e}");
    // A per-minute rate without weight.
    let e = run("vis", &[("norepinephrine", "16 mcg/min")]).unwrap_err();
    assert!(e.to_string().contains("weight"), "{e}");
    // A dose without unit.
    let e = run("vis", &[("dopamine", "5")]).unwrap_err();
    assert!(e.to_string().contains("unit"), "{e}");
    // Wrong unit family.
    let e = run("vis", &[("vasopressin", "0.04 mcg/kg/min")]).unwrap_err();
    assert!(e.to_string().contains("not a dose unit"), "{e}");
}

#[test]
fn tartrate_is_scored_as_base() {
    let r = run("vis", &[("norepinephrine", "0.2 mcg/kg/min"), ("norepinephrine_salt", "tartrate")]).unwrap();
    assert!((r.total.unwrap() - 10.0).abs() < 1e-9);
    // The component tells the reader the charted salt rate was halved.
    let c = r.components.iter().find(|c| c.name == "norepinephrine").unwrap();
    let note = c.note.as_deref().unwrap_or("");
    assert!(note.contains("bitartrate_monohydrate") && note.contains("0.1000 mcg/kg/min base"), "{note}");
}

#[test]
fn sofa_s1_from_flags_and_conversion_boundary() {
    let r = run(
        "sofa",
        &[
            ("pao2", "90 mmHg"),
            ("fio2", "0.5"),
            ("ventilated", "yes"),
            ("platelets", "85 10^3/uL"),
            ("bilirubin", "2.4 mg/dL"),
            ("norepinephrine", "0.15 mcg/kg/min"),
            ("gcs", "9"),
            ("creatinine", "2.1 mg/dL"),
            ("urine_output", "450 mL"),
        ],
    )
    .unwrap();
    assert_eq!(r.total, Some(17.0));
    // 8 mcg/min ÷ 80 kg = 0.1 exactly → CV 3, not 4.
    let r = run(
        "sofa",
        &[
            ("pf_ratio", "450"),
            ("platelets", "200 10^3/uL"),
            ("bilirubin", "0.5 mg/dL"),
            ("norepinephrine", "8 mcg/min"),
            ("weight", "80 kg"),
            ("gcs", "15"),
            ("creatinine", "0.8 mg/dL"),
        ],
    )
    .unwrap();
    assert_eq!(r.points_of("cardiovascular"), Some(3.0));
    // FiO2 in percent, PaO2 in kPa.
    let r = run(
        "sofa",
        &[
            ("pao2", "12 kPa"),
            ("fio2", "50 %"),
            ("respiratory_support", "invasive"),
            ("platelets", "200 10^3/uL"),
            ("bilirubin", "0.5 mg/dL"),
            ("map", "80 mmHg"),
            ("gcs", "15"),
            ("creatinine", "0.8 mg/dL"),
        ],
    )
    .unwrap();
    // 12 kPa = 90.0 mmHg; /0.5 = 180 → 3.
    assert_eq!(r.points_of("respiration"), Some(3.0));
}

#[test]
fn sofa_s3_unit_policy_from_input() {
    let base = [
        ("pf_ratio", "199.5"),
        ("ventilated", "true"),
        ("platelets", "20 10^3/uL"),
        ("bilirubin", "205 umol/L"),
        ("dopamine", "5 mcg/kg/min"),
        ("dobutamine", "3 mcg/kg/min"),
        ("gcs", "5"),
        ("creatinine", "171 µmol/L"),
    ];
    assert_eq!(run("sofa", &base).unwrap().total, Some(18.0));
    let mut conv = base.to_vec();
    conv.push(("unit_policy", "convert_to_mgdl"));
    assert_eq!(run("sofa", &conv).unwrap().total, Some(16.0));
}

#[test]
fn missing_items_named_and_assume_normal() {
    let r = run("sofa", &[("platelets", "200 10^3/uL")]).unwrap();
    assert_eq!(r.total, None);
    assert_eq!(r.missing, vec!["pao2/fio2", "bilirubin", "map", "gcs", "creatinine"]);
    let e = r.require().unwrap_err();
    assert!(e.to_string().contains("missing pao2/fio2, bilirubin"), "{e}");
    let r = run("sofa", &[("platelets", "200 10^3/uL"), ("assume_normal", "yes")]).unwrap();
    assert_eq!(r.total, Some(0.0));
    assert_eq!(r.assumed.len(), 5);
}

#[test]
fn implausible_and_unknown_inputs_are_named() {
    let e = run("sofa", &[("creatinine", "5000 umol/L")]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("creatinine = 5000 umol/L"), "{msg}");
    assert!(msg.contains("cannot be physiologically true"), "{msg}");
    let e = run("sofa", &[("creatinin", "2 mg/dL")]).unwrap_err();
    assert!(matches!(e, ScoreError::UnknownField { .. }), "{e}");
    let e = run("sofa", &[("creatinine", "2 mmHg")]).unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
    let e = run("sofa", &[("fio2", "5")]).unwrap_err();
    assert!(e.to_string().contains("fraction or a percent"), "{e}");
    let e = run("nonsense", &[]).unwrap_err();
    assert!(matches!(e, ScoreError::UnknownCalculator { .. }));
    let e = CalcInput::from_json_str(r#"{"creatinine": {"v": 1}}"#).unwrap_err();
    assert!(e.to_string().contains("creatinine"), "{e}");
    // Soft-range values pass with a warning.
    let r = run("lactate_clearance", &[("lactate_t0", "30 mmol/L"), ("lactate_t1", "10 mmol/L")]).unwrap();
    assert!(!r.warnings.is_empty());
}

#[test]
fn apache2_a1_from_json_with_units() {
    let input = CalcInput::from_json_str(
        r#"{"age": [64, "years"], "temperature": [100.8, "degF"], "sbp": [110, "mmHg"], "dbp": [58, "mmHg"],
            "heart_rate": [107, "/min"], "resp_rate": [22, "/min"], "fio2": [36, "%"], "pao2": [75, "mmHg"],
            "ph": [7.29, ""], "sodium": [136, "mEq/L"], "potassium": [4.5, "mmol/L"], "creatinine": [1.8, "mg/dL"],
            "acute_renal_failure": true, "haematocrit": [34, "%"], "wbc": [12.3, "10^9/L"], "gcs": [13],
            "chronic_health": false}"#,
    )
    .unwrap();
    let r = compute("apache2", &input, &Options::default()).unwrap();
    assert_eq!(r.total, Some(11.0));
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["total"], 11.0);
    for c in json["components"].as_array().unwrap() {
        for key in ["name", "points", "value", "unit"] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
    assert!(json["assumed"].is_array() && json["missing"].is_array());
}

#[test]
fn apache2_creatinine_in_umol_is_converted() {
    // 212 µmol/L = 2.40 mg/dL → 3 points, doubled with ARF.
    let input = CalcInput::new()
        .num("age", 40.0, "years")
        .num("temperature", 37.0, "degC")
        .num("map", 90.0, "mmHg")
        .num("heart_rate", 80.0, "/min")
        .num("resp_rate", 16.0, "/min")
        .num("fio2", 0.21, "")
        .num("pao2", 95.0, "mmHg")
        .num("ph", 7.4, "")
        .num("sodium", 140.0, "mmol/L")
        .num("potassium", 4.0, "mmol/L")
        .num("creatinine", 212.0, "umol/L")
        .flag("acute_renal_failure", true)
        .num("haematocrit", 0.40, "fraction")
        .num("wbc", 8000.0, "/uL")
        .num("gcs", 15.0, "")
        .flag("chronic_health", false);
    let r = compute("apache2", &input, &Options::default()).unwrap();
    assert_eq!(r.total, Some(6.0));
}

#[test]
fn save_encourage_tips65_from_inputs() {
    let r = run(
        "save",
        &[
            ("diagnosis", "myocarditis"),
            ("age", "30"),
            ("weight", "60 kg"),
            ("liver_failure", "no"),
            ("cns_dysfunction", "no"),
            ("acute_renal_failure", "no"),
            ("chronic_renal_failure", "no"),
            ("ventilation_hours", "5 h"),
            ("pip", "18 cmH2O"),
            ("cardiac_arrest", "no"),
            ("dbp", "45 mmHg"),
            ("sbp", "70 mmHg"),
            ("bicarbonate", "20 mmol/L"),
        ],
    )
    .unwrap();
    assert_eq!(r.total, Some(11.0));
    assert_eq!(r.class.as_deref(), Some("I"));
    let r = run(
        "encourage",
        &[
            ("age", "65 years"),
            ("sex", "male"),
            ("weight", "87 kg"),
            ("height", "180 cm"),
            ("gcs", "3"),
            ("creatinine", "180 umol/L"),
            ("lactate", "81 mg/dL"),
            ("prothrombin_activity", "40 %"),
        ],
    )
    .unwrap();
    // BMI 26.9 → 6; lactate 81 mg/dL = 8.99 mmol/L → 11.
    assert_eq!(r.total, Some(38.0));
    let input = CalcInput::from_json_str(r#"{"bmi": [27, "kg/m2"], "age": 65, "sex": "female"}"#).unwrap();
    let r = compute("encourage", &input, &Options::default()).unwrap();
    assert_eq!(r.missing, vec!["gcs", "creatinine", "lactate", "prothrombin_activity"]);
    let r = run("tips65", &[("age", "58"), ("call_to_arrival", "22 min"), ("arrival_rhythm", "vf"), ("ph", "6.95")])
        .unwrap();
    assert_eq!(r.total, Some(3.0));
}

#[test]
fn sofa2_t1_from_flags() {
    let r = run(
        "sofa2",
        &[
            ("ecmo", "va"),
            ("gcs", "15"),
            ("delirium_drugs", "yes"),
            ("bilirubin", "2.5 mg/dL"),
            ("creatinine", "1.8 mg/dL"),
            ("rrt", "yes"),
            ("platelets", "90 10^3/uL"),
        ],
    )
    .unwrap();
    assert_eq!(r.total, Some(16.0));
}

#[test]
fn map_and_lactate_calculators() {
    let r = run("map", &[("sbp", "85 mmHg"), ("dbp", "55 mmHg")]).unwrap();
    assert_eq!(r.total, Some(65.0));
    let e = run("map", &[("sbp", "55 mmHg"), ("dbp", "85 mmHg")]).unwrap_err();
    assert!(matches!(e, ScoreError::Inconsistent { .. }));
    let r = run("lactate_clearance", &[("lactate_t0", "12 mmol/L"), ("lactate_t1", "2.4 mmol/L")]).unwrap();
    assert!((r.total.unwrap() - 80.0).abs() < 1e-9);
}

#[test]
fn every_calculator_is_listed_with_fields_and_units() {
    let names: Vec<_> = calculators().iter().map(|c| c.name).collect();
    for n in ["vis", "inotrope_score", "nee", "sofa", "sofa2", "apache2", "save", "encourage", "tips65", "map"] {
        assert!(names.contains(&n), "{n}");
    }
    let sofa = calculators().iter().find(|c| c.name == "sofa").unwrap();
    let creat = sofa.fields.iter().find(|f| f.name == "creatinine").unwrap();
    let units: Vec<_> = creat.accepted_units().iter().map(|u| u.symbol()).collect();
    assert_eq!(units, vec!["mg/dL", "umol/L"]);
    // Every calculator runs on an empty input without panicking.
    for c in calculators() {
        let _ = compute(c.name, &CalcInput::new(), &Options::default());
    }
}

#[test]
fn pair_parsing() {
    let mut i = CalcInput::new();
    i.push_pair("--heart-rate", "107", Some("/min")).unwrap();
    i.push_pair("creatinine", "1.2e0mg/dL", None).unwrap();
    assert!(i.push_pair("creatinine", "1.2 mg/dL", Some("umol/L")).is_err());
    assert_eq!(
        i.fields.get("heart_rate"),
        Some(&ecmo_scores::RawValue::Number { value: 107.0, unit: Some("/min".into()) })
    );
    assert_eq!(
        i.fields.get("creatinine"),
        Some(&ecmo_scores::RawValue::Number { value: 1.2, unit: Some("mg/dL".into()) })
    );
}
