//! Feature table per run (divan): `cargo bench -p ecmo-scores --bench feature_row`.
//! One `FeatureBuilder::row` + CSV line for a run with ~900 hour-level records
//! (the registry-level figures, CSV parsing included, are in bench/features_vs_duckdb.sh).

use ecmo_domain::*;
use ecmo_scores::features::{FeatureBuilder, FeatureConfig};

fn main() {
    divan::main();
}

fn record(i: u64) -> RunRecord {
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

/// One run: derive all columns and write the CSV line.
#[divan::bench]
fn row(bencher: divan::Bencher) {
    let recs: Vec<RunRecord> = (0..64).map(record).collect();
    let cfg = FeatureConfig::default();
    let mut b = FeatureBuilder::new();
    let mut out = Vec::with_capacity(1 << 16);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % recs.len();
        out.clear();
        b.row(divan::black_box(&recs[i]), &cfg).write_csv(&mut out);
        out.len()
    });
}

/// The same as of 24 h (predictors hidden after 24 h).
#[divan::bench]
fn row_as_of_24h(bencher: divan::Bencher) {
    let recs: Vec<RunRecord> = (0..64).map(record).collect();
    let cfg = FeatureConfig { as_of_hours: Some(24.0), ..FeatureConfig::default() };
    let mut b = FeatureBuilder::new();
    let mut out = Vec::with_capacity(1 << 16);
    let mut i = 0;
    bencher.bench_local(|| {
        i = (i + 1) % recs.len();
        out.clear();
        b.row(divan::black_box(&recs[i]), &cfg).write_csv(&mut out);
        out.len()
    });
}
