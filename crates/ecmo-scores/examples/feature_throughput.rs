//! Rough throughput of the feature pass on synthetic runs with hour-level
//! series (run with `cargo run --release -p ecmo-scores --example feature_throughput -- 100000`).

use ecmo_domain::*;
use ecmo_scores::features::{FeatureBuilder, FeatureConfig};
use std::time::Instant;

fn run(i: u64) -> RunRecord {
    let t0 = Timestamp(27_000_000 + i as i64 * 1000);
    let patient = Patient {
        id: format!("P{i}"),
        sex: Sex::Male,
        age_years: Some(60.0),
        birth_year: None,
        weight_kg: 80.0,
        height_cm: Some(175.0),
        chronic: ChronicConditions::default(),
    };
    let run = Run {
        id: format!("R{i}"),
        patient_id: patient.id.clone(),
        mode: Mode::Va,
        etiology: Etiology::AmiCs,
        admission_type: AdmissionType::NonOperative,
        icu_admission: None,
        flow_start: t0,
        decannulation: Some(t0.plus_hours(120.0)),
        arrest: ArrestContext::none(),
        ventilation_hours_before: Some(4.0),
        cohort: None,
    };
    let mut r = RunRecord::new(patient, run);
    for h in -6..120i64 {
        let t = t0.plus_minutes(h * 60);
        for (q, v) in [
            (Quantity::Map, 65.0 + (h % 9) as f64),
            (Quantity::HeartRate, 95.0),
            (Quantity::Lactate, 8.0 - (h as f64 * 0.05)),
            (Quantity::Temperature, 36.5),
            (Quantity::Spo2, 96.0),
        ] {
            r.observations.push(Observation {
                time: t,
                start: None,
                quantity: q,
                value: v,
                entered_value: v,
                entered_unit: q.canonical_unit(),
                source: None,
            });
        }
        r.observations.push(Observation {
            time: t,
            start: Some(t.plus_minutes(-60)),
            quantity: Quantity::UrineOutput,
            value: 50.0,
            entered_value: 50.0,
            entered_unit: Unit::Ml,
            source: None,
        });
        if h % 6 == 0 {
            for (q, v) in [
                (Quantity::Platelets, 120.0),
                (Quantity::Creatinine, 1.4),
                (Quantity::Bilirubin, 1.1),
                (Quantity::Fio2, 0.5),
                (Quantity::Pao2, 110.0),
                (Quantity::Ph, 7.35),
            ] {
                r.observations.push(Observation {
                    time: t,
                    start: None,
                    quantity: q,
                    value: v,
                    entered_value: v,
                    entered_unit: q.canonical_unit(),
                    source: None,
                });
            }
        }
        if h % 4 == 0 {
            r.infusions.push(InfusionChange {
                time: t,
                drug: Drug::Norepinephrine,
                rate: 0.1 + (h % 3) as f64 * 0.05,
                entered_rate: 0.1,
                entered_unit: Unit::McgPerKgPerMin,
                salt: Salt::Base,
                concentration: None,
                weight_kg: 80.0,
                source: None,
            });
        }
    }
    r.sort();
    r
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let recs: Vec<RunRecord> = (0..n.min(2000)).map(run).collect();
    let cfg = FeatureConfig::default();
    let mut b = FeatureBuilder::new();
    let mut out = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let mut rows = 0u64;
    let mut records = 0usize;
    for i in 0..n {
        let r = &recs[(i % recs.len() as u64) as usize];
        records += r.observations.len() + r.infusions.len();
        b.row(r, &cfg).write_csv(&mut out);
        if out.len() > 1 << 20 {
            out.clear();
        }
        rows += 1;
    }
    let el = start.elapsed();
    println!(
        "{rows} runs, {records} records in {:.3} s ({:.2} us/run)",
        el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / rows as f64
    );
}
