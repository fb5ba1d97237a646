//! The single-pass feature row agrees with the provenance-carrying series
//! derivations, column by column, on generated records (complete and as-of).

use ecmo_domain::*;
use ecmo_scores::features::{COLUMNS, Col, FeatureBuilder, FeatureConfig, FeatureRow, N_COLUMNS};
use ecmo_scores::series::{self, VisMaxMode, Window};
use ecmo_scores::{Options, VisVariant};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }
}

fn t0() -> Timestamp {
    "2021-06-01 10:00".parse().unwrap()
}

pub fn generated(seed: u64) -> RunRecord {
    let mut g = Lcg(seed);
    let patient = Patient {
        id: format!("P{seed}"),
        sex: if g.next() < 0.3 { Sex::Female } else { Sex::Male },
        age_years: Some(g.range(20.0, 85.0).floor()),
        birth_year: None,
        weight_kg: g.range(50.0, 120.0),
        height_cm: Some(g.range(150.0, 195.0)),
        chronic: ChronicConditions {
            liver_cirrhosis: Some(false),
            heart_failure_nyha_iv: Some(g.next() < 0.2),
            severe_respiratory: Some(false),
            chronic_dialysis: Some(false),
            immunocompromised: Some(false),
            chronic_renal_failure: Some(g.next() < 0.1),
        },
    };
    let dec = (g.next() < 0.7).then(|| t0().plus_hours(g.range(30.0, 300.0).floor()));
    let run = Run {
        id: format!("R{seed}"),
        patient_id: patient.id.clone(),
        mode: Mode::Va,
        etiology: [Etiology::AmiCs, Etiology::Myocarditis, Etiology::RefractoryVtVf][(g.next() * 3.0) as usize],
        admission_type: AdmissionType::NonOperative,
        icu_admission: Some(t0().plus_minutes(-180)),
        flow_start: t0(),
        decannulation: dec,
        arrest: ArrestContext::none(),
        ventilation_hours_before: Some(g.range(0.0, 40.0).floor()),
        cohort: None,
    };
    let mut r = RunRecord::new(patient, run);
    let w = r.patient.weight_kg;
    let obs = |r: &mut RunRecord, min: i64, q: Quantity, v: f64| {
        r.observations.push(Observation {
            time: t0().plus_minutes(min),
            start: None,
            quantity: q,
            value: v,
            entered_value: v,
            entered_unit: q.canonical_unit(),
            source: None,
        })
    };
    let mut m = -6 * 60;
    while m < 60 * 60 {
        let h = m as f64 / 60.0;
        if g.next() < 0.85 {
            obs(&mut r, m, Quantity::Map, g.range(40.0, 95.0));
        }
        if g.next() < 0.3 {
            obs(&mut r, m, Quantity::Lactate, g.range(0.5, 15.0));
        }
        if g.next() < 0.2 {
            for (q, a, b) in [
                (Quantity::Platelets, 20.0, 300.0),
                (Quantity::Bilirubin, 0.3, 8.0),
                (Quantity::Creatinine, 0.5, 5.5),
                (Quantity::Sodium, 120.0, 160.0),
                (Quantity::Potassium, 2.8, 6.5),
                (Quantity::Wbc, 2.0, 30.0),
                (Quantity::Haematocrit, 20.0, 45.0),
                (Quantity::Bicarbonate, 10.0, 30.0),
            ] {
                obs(&mut r, m, q, g.range(a, b));
            }
        }
        if g.next() < 0.25 {
            obs(&mut r, m, Quantity::Fio2, g.range(0.21, 1.0));
            obs(&mut r, m + 5, Quantity::Pao2, g.range(50.0, 400.0));
            obs(&mut r, m + 5, Quantity::Paco2, g.range(25.0, 60.0));
            obs(&mut r, m + 5, Quantity::Ph, g.range(7.0, 7.55));
        }
        if g.next() < 0.2 {
            obs(&mut r, m, Quantity::Gcs, (g.range(3.0, 15.99)).floor());
            obs(&mut r, m, Quantity::Temperature, g.range(33.0, 39.5));
            obs(&mut r, m, Quantity::HeartRate, g.range(40.0, 150.0));
            obs(&mut r, m, Quantity::RespiratoryRate, g.range(8.0, 30.0));
        }
        if h < 0.0 && g.next() < 0.5 {
            obs(&mut r, m, Quantity::SystolicBp, g.range(60.0, 110.0));
            obs(&mut r, m, Quantity::DiastolicBp, g.range(25.0, 55.0));
            obs(&mut r, m, Quantity::PeakInspiratoryPressure, g.range(12.0, 35.0));
            obs(&mut r, m, Quantity::ProthrombinActivity, g.range(20.0, 100.0));
        }
        if g.next() < 0.3 {
            let len = (g.range(1.0, 5.0) * 60.0) as i64;
            for q in [Quantity::UrineOutput, Quantity::FluidIn, Quantity::FluidOut] {
                let v = g.range(0.0, 600.0);
                r.observations.push(Observation {
                    time: t0().plus_minutes(m + len),
                    start: Some(t0().plus_minutes(m)),
                    quantity: q,
                    value: v,
                    entered_value: v,
                    entered_unit: Unit::Ml,
                    source: None,
                });
            }
        }
        m += (g.range(20.0, 90.0)) as i64;
    }
    let drugs =
        [Drug::Norepinephrine, Drug::Epinephrine, Drug::Dobutamine, Drug::Vasopressin, Drug::Milrinone, Drug::Dopamine];
    for d in drugs {
        if g.next() < 0.4 {
            continue;
        }
        let mut t = (g.range(-4.0, 20.0) * 60.0) as i64;
        for _ in 0..(g.range(1.0, 8.0) as usize) {
            let rate = if g.next() < 0.2 {
                0.0
            } else {
                match d {
                    Drug::Vasopressin => g.range(0.01, 0.05),
                    Drug::Dobutamine | Drug::Dopamine => g.range(1.0, 18.0),
                    Drug::Milrinone => g.range(0.1, 0.6),
                    _ => g.range(0.02, 0.6),
                }
            };
            r.infusions.push(InfusionChange {
                time: t0().plus_minutes(t),
                drug: d,
                rate,
                entered_rate: rate,
                entered_unit: d.canonical_unit(),
                salt: Salt::Base,
                concentration: None,
                weight_kg: w,
                source: None,
            });
            // Sometimes several changes at the same instant; sometimes short pauses.
            t += if g.next() < 0.15 { 0 } else { (g.range(10.0, 600.0)) as i64 };
        }
    }
    // Deduplicate same drug at the same minute (keep the last).
    if g.next() < 0.5 {
        r.supports.push(SupportPeriod {
            kind: SupportKind::MechanicalVentilation,
            start: t0().plus_minutes(-600),
            stop: Some(t0().plus_hours(g.range(5.0, 80.0))),
            source: None,
        });
    }
    if g.next() < 0.3 {
        r.supports.push(SupportPeriod {
            kind: SupportKind::Crrt,
            start: t0().plus_hours(g.range(-2.0, 40.0)),
            stop: None,
            source: None,
        });
    }
    if g.next() < 0.3 {
        r.events.push(Event {
            time: t0().plus_hours(g.range(10.0, 2000.0)),
            kind: EventKind::Death,
            value: None,
            detail: None,
            source: None,
        });
    }
    r.events.push(Event {
        time: t0().plus_hours(g.range(100.0, 20000.0)),
        kind: EventKind::LastFollowUp,
        value: None,
        detail: None,
        source: None,
    });
    r.sort();
    r
}

fn eq(name: &str, seed: u64, a: Option<f64>, b: Option<f64>) {
    match (a, b) {
        (None, None) => {}
        (Some(x), Some(y)) => {
            assert!((x - y).abs() < 1e-6 * (1.0 + y.abs()), "{name} seed {seed}: feature {x} series {y}")
        }
        _ => panic!("{name} seed {seed}: feature {a:?} series {b:?}"),
    }
}

fn check(rec: &RunRecord, seed: u64, as_of: Option<f64>) {
    let cfg = FeatureConfig { as_of_hours: as_of, ..FeatureConfig::default() };
    let row: FeatureRow = FeatureBuilder::new().row(rec, &cfg);
    let view = match as_of {
        Some(h) => rec.as_of(rec.run.flow_start.plus_hours(h)),
        None => rec.complete(),
    };
    let w = Window::FIRST_24H;
    let v = VisVariant::Gaies2010;
    let o = &cfg.options;
    let f = |c: Col| row.get(c);
    eq("vis_at_0h", seed, f(Col::VisAt0h), series::vis_at(&view, 0.0, v).value);
    eq("vis_at_24h", seed, f(Col::VisAt24h), series::vis_at(&view, 24.0, v).value);
    eq("vis_max_sim", seed, f(Col::VisMaxSim24h), series::vis_max(&view, w, VisMaxMode::Simultaneous, v).value);
    eq("vis_max_agent", seed, f(Col::VisMaxAgent24h), series::vis_max(&view, w, VisMaxMode::PerAgent, v).value);
    eq("vrr", seed, f(Col::VisReduction24h), series::vis_reduction_24h(&view, v).value);
    for (c, d) in [
        (Col::MaxNorepinephrine24h, Drug::Norepinephrine),
        (Col::MaxVasopressin24h, Drug::Vasopressin),
        (Col::MaxDobutamine24h, Drug::Dobutamine),
        (Col::MaxDopamine24h, Drug::Dopamine),
    ] {
        eq(d.code(), seed, f(c), series::max_dose(&view, d, w, None).value);
    }
    let e = series::exposure(&view, w);
    eq("union", seed, f(Col::VasoactiveHours24h), Some(e.union_hours));
    eq("drug_hours", seed, f(Col::VasoactiveDrugHours24h), Some(e.drug_hours));
    for (c, h) in [
        (Col::LactateClearance6h, 6.0),
        (Col::LactateClearance12h, 12.0),
        (Col::LactateClearance24h, 24.0),
        (Col::LactateClearance48h, 48.0),
    ] {
        eq("lactate_clearance", seed, f(c), series::lactate_clearance(&view, h).value);
    }
    eq("lc_adm", seed, f(Col::LactateClearanceAdm48h), series::lactate_clearance_from_admission(&view, 48.0).value);
    let m = series::map_summary(&view, w);
    eq("map_min", seed, f(Col::MapMin24h), m.min.value);
    eq("map_twa", seed, f(Col::MapTwa24h), m.time_weighted_mean.value);
    eq("map_at_24", seed, f(Col::MapAt24h), series::at_time(&view, Quantity::Map, 24.0).value);
    eq("lactate_at_24", seed, f(Col::LactateAt24h), series::at_time(&view, Quantity::Lactate, 24.0).value);
    eq("fluid", seed, f(Col::FluidBalance24h), series::fluid_balance(&view, w).value);
    eq("sofa", seed, f(Col::Sofa24h), series::sofa_window(&view, w, o).total);
    eq("apache2", seed, f(Col::Apache2_24h), series::apache2_window(&view, w, o).total);
    let strict = Options::default();
    eq("save", seed, f(Col::SaveScore), series::save_pre_ecmo(&view, &strict).total);
    eq("encourage", seed, f(Col::EncourageScore), series::encourage_pre_ecmo(&view, &strict).total);
    let decision = view.decannulation().unwrap_or(view.at()).min(view.at());
    let eo = series::end_organ(&view, decision);
    eq("rrt", seed, f(Col::RrtBeforeDecision), eo.rrt.value.map(|b| if b { 1.0 } else { 0.0 }));
    eq("bili48", seed, f(Col::BilirubinMax48hDecision), eo.bilirubin_max_48h.value);
    let wn = series::weaning(&rec.complete());
    eq("weaned", seed, f(Col::Weaned), wn.success.map(|b| if b { 1.0 } else { 0.0 }));
}

#[test]
fn feature_row_matches_series_derivations() {
    for seed in 1..120 {
        let rec = generated(seed);
        check(&rec, seed, None);
        check(&rec, seed, Some(24.0));
        check(&rec, seed, Some(6.0));
    }
}

#[test]
fn columns_are_in_order_and_documented() {
    assert_eq!(COLUMNS.len(), N_COLUMNS);
    for (i, c) in COLUMNS.iter().enumerate() {
        assert_eq!(c.col as usize, i, "{}", c.name);
        assert!(!c.definition.is_empty());
    }
    let header = FeatureRow::csv_header();
    assert_eq!(header.split(',').count(), N_COLUMNS + 3);
    let docs = include_str!("../../../docs/features.md");
    for c in COLUMNS {
        assert!(docs.contains(&format!("`{}`", c.name)), "docs/features.md lacks {}", c.name);
    }
}

#[test]
fn csv_row_shape() {
    let rec = generated(7);
    let row = FeatureBuilder::new().row(&rec, &FeatureConfig::default());
    let mut out = Vec::new();
    row.write_csv(&mut out);
    let line = String::from_utf8(out).unwrap();
    assert_eq!(line.trim_end().split(',').count(), N_COLUMNS + 3);
    let j = serde_json::to_value(&row).unwrap();
    assert!(j.get("sofa_24h").is_some());
}

#[test]
fn predictors_as_of_24h_ignore_later_records() {
    let rec = generated(11);
    let cfg = FeatureConfig { as_of_hours: Some(24.0), ..FeatureConfig::default() };
    let a = FeatureBuilder::new().row(&rec, &cfg);
    let mut later = rec.clone();
    later.observations.push(Observation {
        time: rec.run.flow_start.plus_hours(24.5),
        start: None,
        quantity: Quantity::Lactate,
        value: 30.0,
        entered_value: 30.0,
        entered_unit: Unit::MmolPerL,
        source: None,
    });
    later.sort();
    let b = FeatureBuilder::new().row(&later, &cfg);
    // Predictor columns are identical; outcome columns may use the complete record.
    for c in COLUMNS.iter().take(Col::EcmoHours as usize) {
        assert_eq!(a.get(c.col), b.get(c.col), "{}", c.name);
    }
}
