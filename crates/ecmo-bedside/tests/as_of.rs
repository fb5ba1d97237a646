//! Records after the assessment instant never change the assessment: the
//! assessment of a synthetic run at t equals the assessment at t of the same
//! run cut off at t (everything recorded later removed).

use ecmo_bedside::{AssessConfig, assess};
use ecmo_domain::{RunRecord, Timestamp};
use ecmo_model::{Development, ModelFile, ModelMeta, ObservedRange, Outcome, Population, PredictorSpec, Transform};
use proptest::prelude::*;

/// The run as it was known at `t`: later records removed, later stops and decannulation not yet known.
fn cut(r: &RunRecord, t: Timestamp) -> RunRecord {
    let mut c = r.clone();
    c.observations.retain(|o| o.time <= t);
    c.infusions.retain(|i| i.time <= t);
    c.events.retain(|e| e.time <= t);
    c.supports.retain(|s| s.start <= t);
    for s in &mut c.supports {
        s.stop = s.stop.filter(|x| *x <= t);
    }
    c.run.decannulation = c.run.decannulation.filter(|d| *d <= t);
    c.other_run_starts.retain(|x| *x <= t);
    c
}

fn model() -> ModelFile {
    let names = ["lactate_max_24h", "vis_reduction_24h", "sofa_24h", "cardiac_arrest", "map_twa_24h"];
    let specs = names
        .iter()
        .map(|n| PredictorSpec {
            name: n.to_string(),
            label: n.to_string(),
            unit: "1".into(),
            transform: Transform::Identity,
            range: ObservedRange { min: -100.0, max: 100.0 },
            window: None,
        })
        .collect();
    let k = names.len() + 1;
    let vcov: Vec<f64> = (0..k * k).map(|i| if i % (k + 1) == 0 { 0.02 } else { 0.001 }).collect();
    ModelFile::from_fit(
        ModelMeta {
            id: "as-of".into(),
            version: "1".into(),
            title: "as-of property".into(),
            outcome: Outcome { name: "weaned".into(), description: "weaning".into() },
            population: Population { description: "VA".into(), modes: vec!["va".into()], ..Population::default() },
            caveats: vec![],
        },
        specs,
        &[0.5, -0.1, 0.01, -0.1, -0.4, 0.02],
        &vcov,
        Development {
            study: "test".into(),
            cohort: "test".into(),
            n: 500,
            events: 200,
            synthetic: true,
            auc_apparent: 0.7,
            auc_optimism_corrected: None,
            bootstrap_replicates: None,
            calibration_slope: 1.0,
            calibration_intercept: 0.0,
            brier: 0.2,
            fitted_on: "2026-11-21".into(),
            data_fingerprint: "x".into(),
        },
    )
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn later_records_never_change_the_assessment(index in 0u64..400, frac in 0.0f64..1.2) {
        let r = ecmo_synth::generate(42, index, &ecmo_synth::Mix::default());
        let end = r.run.decannulation.unwrap_or_else(|| ecmo_bedside::latest_instant(&r));
        let span = end.minutes_since(r.run.flow_start).max(60);
        let t = r.run.flow_start.plus_minutes((span as f64 * frac) as i64);
        let cfg = AssessConfig { models: vec![model()], ..AssessConfig::default() };
        let full = serde_json::to_value(assess(&r, t, &cfg)).unwrap();
        let known = serde_json::to_value(assess(&cut(&r, t), t, &cfg)).unwrap();
        prop_assert_eq!(full, known);
    }
}
