//! docs/bedside.md names every rule kind, recommendation, measure and JSON key.

use ecmo_bedside::readiness::ReadinessThresholds;
use ecmo_bedside::{AssessConfig, Recommendation, VadRules, assess, latest_instant};

fn doc() -> &'static str {
    include_str!("../../../docs/bedside.md")
}

fn code<T: serde::Serialize>(v: T) -> String {
    serde_json::to_value(v).unwrap().as_str().unwrap().to_string()
}

#[test]
fn codes_are_documented() {
    let d = doc();
    let mut missing = Vec::new();
    let rules = VadRules::published();
    let mut codes: Vec<String> = rules.steps.iter().map(|s| code(s.kind)).collect();
    codes.extend(
        [
            Recommendation::VadNotAdvisedNow,
            Recommendation::TreatEndOrganFirst,
            Recommendation::UrgentVad,
            Recommendation::Vad,
            Recommendation::ContinueEcmo,
            Recommendation::NeedData,
        ]
        .map(code),
    );
    codes.extend(ReadinessThresholds::default_thresholds().items.iter().map(|i| code(i.measure)));
    for c in codes {
        if !d.contains(&format!("`{c}`")) {
            missing.push(c);
        }
    }
    assert!(missing.is_empty(), "not in docs/bedside.md: {missing:?}");
}

/// A key is documented as `key` or, for a list, `key[]`.
fn documented(d: &str, k: &str) -> bool {
    d.contains(&format!("`{k}`")) || d.contains(&format!("`{k}[]`")) || d.contains(&format!("{k}[]"))
}

#[test]
fn json_keys_are_documented() {
    let r = ecmo_synth::generate(42, 3, &ecmo_synth::Mix::only(ecmo_synth::Profile::VadReferral));
    let a = serde_json::to_value(assess(&r, latest_instant(&r), &AssessConfig::default())).unwrap();
    let d = doc();
    let mut missing = Vec::new();
    for (prefix, obj) in [("", &a), ("run.", &a["run"]), ("vad.", &a["vad"]), ("readiness.", &a["readiness"])] {
        for k in obj.as_object().unwrap().keys() {
            if !documented(d, k) {
                missing.push(format!("{prefix}{k}"));
            }
        }
    }
    for k in
        a["vad"]["steps"][0].as_object().unwrap().keys().chain(a["published_scores"][0].as_object().unwrap().keys())
    {
        if !documented(d, k) {
            missing.push(k.clone());
        }
    }
    assert!(missing.is_empty(), "not in docs/bedside.md: {missing:?}");
}
