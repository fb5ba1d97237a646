//! Run-level derivations on hand-built records: spec examples, step-function
//! semantics, outcomes, and the as-of guarantee.

use ecmo_domain::*;
use ecmo_scores::run_scores::run_scores;
use ecmo_scores::series::{self, VisMaxMode, WeaningStatus, Window};
use ecmo_scores::{Options, VisVariant};

fn t0() -> Timestamp {
    "2020-01-01 08:00".parse().unwrap()
}

fn record() -> RunRecord {
    let patient = Patient {
        id: "P1".into(),
        sex: Sex::Male,
        age_years: Some(58.0),
        birth_year: None,
        weight_kg: 80.0,
        height_cm: Some(180.0),
        chronic: ChronicConditions {
            liver_cirrhosis: Some(false),
            heart_failure_nyha_iv: Some(false),
            severe_respiratory: Some(false),
            chronic_dialysis: Some(false),
            immunocompromised: Some(false),
            chronic_renal_failure: Some(false),
        },
    };
    let run = Run {
        id: "R1".into(),
        patient_id: "P1".into(),
        mode: Mode::Va,
        etiology: Etiology::Myocarditis,
        admission_type: AdmissionType::NonOperative,
        icu_admission: Some(t0().plus_minutes(-120)),
        flow_start: t0(),
        decannulation: None,
        arrest: ArrestContext::none(),
        ventilation_hours_before: Some(5.0),
        cohort: None,
    };
    RunRecord::new(patient, run)
}

fn at(h: f64) -> Timestamp {
    t0().plus_hours(h)
}

fn obs(r: &mut RunRecord, h: f64, q: Quantity, v: f64) {
    r.observations.push(Observation {
        time: at(h),
        start: None,
        quantity: q,
        value: v,
        entered_value: v,
        entered_unit: q.canonical_unit(),
        source: Some(format!("test:{q}@{h}")),
    });
}

fn vol(r: &mut RunRecord, from_h: f64, to_h: f64, q: Quantity, v: f64) {
    r.observations.push(Observation {
        time: at(to_h),
        start: Some(at(from_h)),
        quantity: q,
        value: v,
        entered_value: v,
        entered_unit: Unit::Ml,
        source: None,
    });
}

fn inf(r: &mut RunRecord, h: f64, d: Drug, rate: f64) {
    r.infusions.push(InfusionChange {
        time: at(h),
        drug: d,
        rate,
        entered_rate: rate,
        entered_unit: d.canonical_unit(),
        salt: Salt::Base,
        concentration: None,
        weight_kg: 80.0,
        source: Some(format!("test:{d}@{h}")),
    });
}

fn event(r: &mut RunRecord, h: f64, kind: EventKind) {
    r.events.push(Event { time: at(h), kind, value: None, detail: None, source: None });
}

fn close(a: Option<f64>, b: f64) {
    let a = a.expect("defined");
    assert!((a - b).abs() < 1e-6, "{a} != {b}");
}

#[test]
fn v5_vis_max_simultaneous_vs_per_agent() {
    let mut r = record();
    inf(&mut r, 0.0, Drug::Norepinephrine, 0.3);
    inf(&mut r, 6.0, Drug::Norepinephrine, 0.1);
    inf(&mut r, 6.0, Drug::Dobutamine, 10.0);
    r.sort();
    let v = r.complete();
    let w = Window::FIRST_24H;
    close(series::vis_max(&v, w, VisMaxMode::Simultaneous, VisVariant::Gaies2010).value, 30.0);
    close(series::vis_max(&v, w, VisMaxMode::PerAgent, VisVariant::Gaies2010).value, 40.0);
}

#[test]
fn v6_vis_reduction_rate_and_v7_undefined() {
    let mut r = record();
    inf(&mut r, 0.0, Drug::Dobutamine, 5.0);
    inf(&mut r, 0.0, Drug::Epinephrine, 0.05);
    inf(&mut r, 0.0, Drug::Norepinephrine, 0.2);
    inf(&mut r, 0.0, Drug::Milrinone, 0.375);
    inf(&mut r, 0.0, Drug::Vasopressin, 0.04);
    inf(&mut r, 12.0, Drug::Epinephrine, 0.0);
    inf(&mut r, 12.0, Drug::Vasopressin, 0.0);
    inf(&mut r, 20.0, Drug::Norepinephrine, 0.05);
    inf(&mut r, 20.0, Drug::Milrinone, 0.25);
    r.sort();
    let v = r.complete();
    close(series::vis_at(&v, 0.0, VisVariant::Gaies2010).value, 38.75);
    close(series::vis_at(&v, 24.0, VisVariant::Gaies2010).value, 12.5);
    let vrr = series::vis_reduction_24h(&v, VisVariant::Gaies2010);
    close(vrr.value, (38.75 - 12.5) / 38.75 * 100.0);
    assert!(!vrr.provenance.is_empty());
    // As of 23 h the 24 h value is not yet known.
    assert!(series::vis_reduction_24h(&r.as_of(at(23.0)), VisVariant::Gaies2010).value.is_none());

    let mut r = record();
    inf(&mut r, 10.0, Drug::Dopamine, 10.0);
    r.sort();
    let d = series::vis_reduction_24h(&r.complete(), VisVariant::Gaies2010);
    assert!(d.value.is_none());
    assert!(d.undefined.unwrap().contains("+10"));
}

#[test]
fn max_is_over_the_step_function_not_sampled_rows() {
    let mut r = record();
    inf(&mut r, 0.0, Drug::Norepinephrine, 0.1);
    inf(&mut r, 3.0, Drug::Norepinephrine, 0.5);
    inf(&mut r, 3.5, Drug::Norepinephrine, 0.1);
    // A rate set before flow start that is still running counts in the window.
    inf(&mut r, -2.0, Drug::Dopamine, 7.0);
    inf(&mut r, 1.0, Drug::Dopamine, 3.0);
    r.sort();
    let v = r.complete();
    let w = Window::FIRST_24H;
    close(series::max_dose(&v, Drug::Norepinephrine, w, None).value, 0.5);
    close(series::max_dose(&v, Drug::Norepinephrine, w, Some(60)).value, 0.1);
    close(series::max_dose(&v, Drug::Dopamine, w, None).value, 7.0);
    close(series::max_dose(&v, Drug::Milrinone, w, None).value, 0.0);
    // "At 24 h" is the rate in force then.
    close(series::vis_at(&v, 24.0, VisVariant::Gaies2010).value, 10.0 + 3.0);
}

#[test]
fn exposure_example_3_2() {
    let mut r = record();
    inf(&mut r, 0.0, Drug::Norepinephrine, 0.1);
    inf(&mut r, 18.0, Drug::Norepinephrine, 0.0);
    inf(&mut r, 6.0, Drug::Dobutamine, 5.0);
    inf(&mut r, 30.0, Drug::Dobutamine, 0.0);
    r.sort();
    let e = series::exposure(&r.complete(), Window::FIRST_24H);
    assert_eq!(e.union_hours, 24.0);
    assert_eq!(e.drug_hours, 36.0);
    assert_eq!(e.per_drug_hours, vec![(Drug::Norepinephrine, 18.0), (Drug::Dobutamine, 18.0)]);
    // As of 12 h only what was known then counts.
    let e = series::exposure(&r.as_of(at(12.0)), Window::FIRST_24H);
    assert_eq!(e.union_hours, 12.0);
    assert_eq!(e.drug_hours, 18.0);
}

#[test]
fn lactate_clearance_and_tolerance() {
    let mut r = record();
    obs(&mut r, -0.5, Quantity::Lactate, 12.0);
    obs(&mut r, 6.0, Quantity::Lactate, 6.0);
    obs(&mut r, 47.0, Quantity::Lactate, 2.4);
    r.sort();
    let v = r.complete();
    close(series::lactate_clearance(&v, 48.0).value, 80.0);
    close(series::lactate_clearance(&v, 6.0).value, 50.0);
    let d = series::lactate_clearance(&v, 24.0);
    assert!(d.value.is_none(), "no sample within ±2 h of 24 h");
    assert_eq!(series::lactate_clearance(&v, 48.0).provenance.len(), 2);
    let mut r = record();
    obs(&mut r, 0.0, Quantity::Lactate, 4.0);
    obs(&mut r, 6.0, Quantity::Lactate, 6.0);
    r.sort();
    close(series::lactate_clearance(&r.complete(), 6.0).value, -50.0);
}

#[test]
fn fluid_balance_example_3_3_with_prorating() {
    let mut r = record();
    vol(&mut r, 0.0, 24.0, Quantity::FluidIn, 2500.0);
    vol(&mut r, 2.0, 4.0, Quantity::FluidIn, 900.0);
    vol(&mut r, 0.0, 24.0, Quantity::FluidIn, 500.0);
    vol(&mut r, 0.0, 24.0, Quantity::FluidIn, 300.0);
    vol(&mut r, 0.0, 24.0, Quantity::UrineOutput, 1500.0);
    vol(&mut r, 0.0, 24.0, Quantity::FluidOut, 1000.0);
    vol(&mut r, 12.0, 24.0, Quantity::FluidOut, 300.0);
    // Half of this one falls into day 1.
    vol(&mut r, 23.0, 25.0, Quantity::FluidIn, 200.0);
    r.sort();
    close(series::fluid_balance(&r.complete(), Window::FIRST_24H).value, 1400.0 + 100.0);
}

#[test]
fn map_summary_time_weighted() {
    let mut r = record();
    obs(&mut r, 0.0, Quantity::Map, 60.0);
    obs(&mut r, 6.0, Quantity::Map, 80.0);
    obs(&mut r, 25.0, Quantity::Map, 90.0);
    r.sort();
    let m = series::map_summary(&r.complete(), Window::FIRST_24H);
    close(m.min.value, 60.0);
    close(m.time_weighted_mean.value, (60.0 * 6.0 + 80.0 * 18.0) / 24.0);
    close(series::at_time(&r.complete(), Quantity::Map, 24.0).value, 90.0);
}

#[test]
fn sofa_window_worst_values_and_one_hour_rule() {
    let mut r = record();
    obs(&mut r, 1.0, Quantity::Fio2, 0.5);
    obs(&mut r, 1.0, Quantity::Pao2, 90.0);
    obs(&mut r, 2.0, Quantity::Platelets, 120.0);
    obs(&mut r, 20.0, Quantity::Platelets, 85.0);
    obs(&mut r, 2.0, Quantity::Bilirubin, 2.4);
    obs(&mut r, 2.0, Quantity::Gcs, 9.0);
    obs(&mut r, 2.0, Quantity::Creatinine, 2.1);
    obs(&mut r, 3.0, Quantity::Map, 75.0);
    vol(&mut r, 0.0, 24.0, Quantity::UrineOutput, 450.0);
    r.supports.push(SupportPeriod {
        kind: SupportKind::MechanicalVentilation,
        start: at(-10.0),
        stop: None,
        source: None,
    });
    inf(&mut r, 1.0, Drug::Norepinephrine, 0.15);
    inf(&mut r, 5.0, Drug::Norepinephrine, 0.05);
    // Epinephrine 0.5 for 30 min: does not count.
    inf(&mut r, 8.0, Drug::Epinephrine, 0.5);
    inf(&mut r, 8.5, Drug::Epinephrine, 0.0);
    r.sort();
    let s = series::sofa_window(&r.complete(), Window::FIRST_24H, &Options::default());
    assert_eq!(s.total, Some(17.0), "{s:#?}");
    assert_eq!(s.points_of("coagulation"), Some(2.0));
    // As of 12 h: the 24 h urine total is not complete, so renal scores on creatinine.
    let s = series::sofa_window(&r.as_of(at(12.0)), Window::FIRST_24H, &Options::default());
    assert_eq!(s.points_of("renal"), Some(2.0));
    assert_eq!(s.points_of("coagulation"), Some(1.0));
}

#[test]
fn apache2_window_a2_like() {
    let mut r = record();
    for (q, v) in [
        (Quantity::Temperature, 36.2),
        (Quantity::Map, 62.0),
        (Quantity::HeartRate, 118.0),
        (Quantity::RespiratoryRate, 24.0),
        (Quantity::Fio2, 0.6),
        (Quantity::Pao2, 120.0),
        (Quantity::Paco2, 40.0),
        (Quantity::Ph, 7.22),
        (Quantity::Sodium, 134.0),
        (Quantity::Potassium, 5.7),
        (Quantity::Creatinine, 2.4),
        (Quantity::Haematocrit, 28.0),
        (Quantity::Wbc, 16.5),
        (Quantity::Gcs, 8.0),
    ] {
        obs(&mut r, 4.0, q, v);
    }
    // A normal potassium later does not hide the worst one.
    obs(&mut r, 10.0, Quantity::Potassium, 4.0);
    r.supports.push(SupportPeriod { kind: SupportKind::Crrt, start: at(2.0), stop: Some(at(40.0)), source: None });
    r.sort();
    let a = series::apache2_window(&r.complete(), Window::FIRST_24H, &Options::default());
    assert_eq!(a.total, Some(29.0), "{a:#?}");
}

#[test]
fn pre_ecmo_snapshot_and_save() {
    let mut r = record();
    obs(&mut r, -5.0, Quantity::DiastolicBp, 50.0);
    obs(&mut r, -5.0, Quantity::SystolicBp, 80.0);
    obs(&mut r, -1.0, Quantity::DiastolicBp, 45.0);
    obs(&mut r, -1.0, Quantity::SystolicBp, 70.0);
    obs(&mut r, -7.0, Quantity::DiastolicBp, 20.0); // outside the 6 h window
    obs(&mut r, -2.0, Quantity::Bicarbonate, 20.0);
    obs(&mut r, -2.0, Quantity::PeakInspiratoryPressure, 18.0);
    obs(&mut r, -2.0, Quantity::Bilirubin, 0.8);
    obs(&mut r, -2.0, Quantity::Creatinine, 1.0);
    r.patient.age_years = Some(30.0);
    r.patient.weight_kg = 60.0;
    r.sort();
    let v = r.complete();
    let snap = series::pre_ecmo_snapshot(&v);
    assert_eq!(snap.get(Quantity::DiastolicBp).unwrap().value, 45.0);
    assert_eq!(snap.pulse_pressure.as_ref().unwrap().value, 25.0);
    // SV1.
    let s = series::save_pre_ecmo(&v, &Options::default());
    assert_eq!(s.total, Some(11.0), "{s:#?}");
}

#[test]
fn arrest_times_example() {
    let mut r = record();
    r.run.arrest = ArrestContext {
        location: ArrestLocation::Ohca,
        ecpr: true,
        collapse: Some("2020-01-01 07:02".parse().unwrap()),
        cpr_start: Some("2020-01-01 07:05".parse().unwrap()),
        ..ArrestContext::none()
    };
    r.run.flow_start = "2020-01-01 08:00".parse().unwrap();
    let a = series::arrest_times(&r.complete());
    close(a.no_flow_min.value, 3.0);
    close(a.low_flow_min.value, 55.0);
    close(a.collapse_to_flow_min.value, 58.0);
    r.run.arrest.collapse = None;
    let a = series::arrest_times(&r.complete());
    assert!(a.no_flow_min.value.is_none());
}

#[test]
fn end_organ_flags() {
    let mut r = record();
    obs(&mut r, 10.0, Quantity::Bilirubin, 4.5);
    obs(&mut r, 100.0, Quantity::Bilirubin, 3.0);
    r.supports.push(SupportPeriod { kind: SupportKind::Crrt, start: at(20.0), stop: Some(at(50.0)), source: None });
    r.sort();
    let v = r.complete();
    let e = series::end_organ(&v, at(48.0));
    assert_eq!(e.rrt.value, Some(true));
    assert_eq!(e.bilirubin_gt_4.value, Some(true));
    let e = series::end_organ(&v, at(110.0));
    assert_eq!(e.bilirubin_gt_4.value, Some(false));
    let e = series::end_organ(&v, at(15.0));
    assert_eq!(e.rrt.value, Some(false));
    // Exactly 4.0 is not > 4.0.
    let mut r2 = record();
    obs(&mut r2, 10.0, Quantity::Bilirubin, 4.0);
    r2.sort();
    assert_eq!(series::end_organ(&r2.complete(), at(20.0)).bilirubin_gt_4.value, Some(false));
}

#[test]
fn weaning_and_survival() {
    let mut r = record();
    r.run.decannulation = Some(at(120.0));
    event(&mut r, 24.0 * 40.0, EventKind::LastFollowUp);
    r.sort();
    let w = series::weaning(&r.complete());
    assert_eq!(w.status, WeaningStatus::Weaned);
    assert_eq!(w.success, Some(true));
    assert_eq!(series::weaning(&r.as_of(at(200.0))).status, WeaningStatus::Pending);
    assert_eq!(series::weaning(&r.as_of(at(100.0))).status, WeaningStatus::OnEcmo);
    let s = series::survival(&r.complete(), 30.0);
    assert_eq!(s.alive_at_horizon, Some(true));
    assert_eq!(series::survival(&r.complete(), 730.0).alive_at_horizon, None);

    let mut re = r.clone();
    re.other_run_starts.push(at(120.0 + 24.0 * 10.0));
    assert_eq!(series::weaning(&re.complete()).status, WeaningStatus::Recannulated);

    let mut died = r.clone();
    event(&mut died, 120.0 + 24.0 * 5.0, EventKind::Death);
    died.sort();
    let w = series::weaning(&died.complete());
    assert_eq!(w.status, WeaningStatus::Weaned);
    assert!(w.weaned_then_died_le30d);
    let s = series::survival(&died.complete(), 30.0);
    assert!(s.death);
    assert_eq!(s.alive_at_horizon, Some(false));

    let mut on = record();
    event(&mut on, 50.0, EventKind::Death);
    on.sort();
    assert_eq!(series::weaning(&on.complete()).status, WeaningStatus::DiedOnEcmo);

    let mut vad = record();
    vad.run.decannulation = Some(at(150.0));
    event(&mut vad, 150.0, EventKind::VadImplant);
    vad.sort();
    assert_eq!(series::weaning(&vad.complete()).status, WeaningStatus::Bridged);
}

fn busy_record() -> RunRecord {
    let mut r = record();
    for h in -6..30 {
        let hf = f64::from(h);
        obs(&mut r, hf, Quantity::Map, 60.0 + f64::from(h % 7) * 3.0);
        obs(&mut r, hf, Quantity::Lactate, 12.0 - hf.max(0.0) * 0.2);
        obs(&mut r, hf, Quantity::Platelets, 150.0 - hf * 2.0);
        obs(&mut r, hf, Quantity::Fio2, 0.6);
        obs(&mut r, hf, Quantity::Pao2, 100.0 + hf);
        obs(&mut r, hf, Quantity::Creatinine, 1.0 + hf * 0.05);
        obs(&mut r, hf, Quantity::Bilirubin, 1.0 + hf * 0.1);
        obs(&mut r, hf, Quantity::Gcs, 10.0);
        vol(&mut r, hf - 1.0, hf, Quantity::UrineOutput, 40.0);
        vol(&mut r, hf - 1.0, hf, Quantity::FluidIn, 150.0);
    }
    inf(&mut r, 0.0, Drug::Norepinephrine, 0.2);
    inf(&mut r, 10.0, Drug::Norepinephrine, 0.1);
    inf(&mut r, 2.0, Drug::Dobutamine, 5.0);
    r.sort();
    r
}

#[test]
fn future_records_do_not_change_a_past_result() {
    let base = busy_record();
    let opts = Options::default();
    for h in [6.0, 24.0] {
        let before = run_scores(&base, Some(h), &opts);
        let mut later = base.clone();
        let cut = h + 0.02;
        obs(&mut later, cut, Quantity::Map, 20.0);
        obs(&mut later, cut, Quantity::Lactate, 30.0);
        obs(&mut later, cut, Quantity::Platelets, 5.0);
        obs(&mut later, h + 1.0, Quantity::Creatinine, 9.0);
        vol(&mut later, h - 1.0, h + 1.0, Quantity::FluidIn, 5000.0);
        inf(&mut later, cut, Drug::Epinephrine, 0.9);
        inf(&mut later, cut, Drug::Norepinephrine, 2.0);
        event(&mut later, cut, EventKind::Death);
        later.supports.push(SupportPeriod { kind: SupportKind::Crrt, start: at(cut), stop: None, source: None });
        later.run.decannulation = Some(at(h + 3.0));
        later.other_run_starts.push(at(h + 50.0));
        later.sort();
        let after = run_scores(&later, Some(h), &opts);
        assert_eq!(before, after, "as of {h} h");
        // And the complete view does see them.
        assert_ne!(run_scores(&later, None, &opts), run_scores(&base, None, &opts));
    }
}

#[test]
fn run_scores_serialises_with_provenance() {
    let r = busy_record();
    let s = run_scores(&r, Some(24.0), &Options::default());
    let j = serde_json::to_value(&s).unwrap();
    assert!(j["sofa_first_24h"]["total"].is_number(), "{}", j["sofa_first_24h"]);
    assert!(!j["vis_max_simultaneous_24h"]["provenance"].as_array().unwrap().is_empty());
    let p = &j["lactate_at_24h"]["provenance"][0];
    for k in ["time", "value", "unit", "source"] {
        assert!(p.get(k).is_some(), "{k}");
    }
}

#[test]
fn death_charted_at_decannulation_is_death_on_ecmo_not_a_wean() {
    // Registries record a decannulation time for patients who die on ECMO.
    let mut r = record();
    r.run.decannulation = Some(at(100.0));
    event(&mut r, 100.0, EventKind::Death);
    r.sort();
    let w = series::weaning(&r.complete());
    assert_eq!(w.status, WeaningStatus::DiedOnEcmo);
    assert_eq!(w.success, Some(false));
    // A death two days after decannulation is a wean followed by death.
    let mut r = record();
    r.run.decannulation = Some(at(100.0));
    event(&mut r, 148.0, EventKind::Death);
    r.sort();
    let w = series::weaning(&r.complete());
    assert_eq!(w.status, WeaningStatus::Weaned);
    assert!(w.weaned_then_died_le30d);
}

/// SOFA-2 from the series, spec §7.2 T1 (without the delirium drug, which the
/// registry does not record): VA-ECMO scores cardiovascular 4 and respiratory 4.
#[test]
fn sofa2_window_t1_like_and_the_va_ecmo_rule() {
    let mut r = record();
    obs(&mut r, 2.0, Quantity::Gcs, 15.0);
    obs(&mut r, 3.0, Quantity::Bilirubin, 2.5);
    obs(&mut r, 3.0, Quantity::Creatinine, 1.8);
    obs(&mut r, 4.0, Quantity::Platelets, 160.0);
    obs(&mut r, 9.0, Quantity::Platelets, 90.0);
    obs(&mut r, 5.0, Quantity::Map, 72.0);
    r.supports.push(SupportPeriod { kind: SupportKind::Crrt, start: at(6.0), stop: None, source: None });
    r.sort();
    let s = series::sofa2_window(&r.complete(), Window::FIRST_24H, &Options::default());
    // CV 4 (MCS) + resp 4 (VA-ECMO) + brain 0 + liver 1 + kidney 4 (RRT) + hemostasis 2.
    assert_eq!(s.points_of("cardiovascular"), Some(4.0), "{s:#?}");
    assert_eq!(s.points_of("respiratory"), Some(4.0));
    assert_eq!(s.points_of("liver"), Some(1.0));
    assert_eq!(s.points_of("hemostasis"), Some(2.0));
    assert_eq!(s.total, Some(15.0), "{s:#?}");

    // The same run on VV-ECMO: respiratory 4, cardiovascular by MAP and drugs (MAP 72, none: 0).
    r.run.mode = Mode::Vv;
    let s = series::sofa2_window(&r.complete(), Window::FIRST_24H, &Options::default());
    assert_eq!(s.points_of("cardiovascular"), Some(0.0), "{s:#?}");
    assert_eq!(s.points_of("respiratory"), Some(4.0));
}

/// SOFA-2 kidney from charted urine volumes: 0.25 mL/kg/h for all 24 h (80 kg,
/// 480 mL) is "< 0.3 mL/kg/h for ≥ 24 h": 3 points with a normal creatinine.
#[test]
fn sofa2_kidney_from_urine_intervals() {
    let mut r = record();
    r.run.mode = Mode::Vv;
    obs(&mut r, 2.0, Quantity::Creatinine, 1.0);
    for k in 0..4 {
        vol(&mut r, 6.0 * k as f64, 6.0 * (k + 1) as f64, Quantity::UrineOutput, 120.0);
    }
    r.sort();
    let s = series::sofa2_window(&r.complete(), Window::FIRST_24H, &Options::default());
    assert_eq!(s.points_of("kidney"), Some(3.0), "{s:#?}");
    // Before the window is complete, the urine criterion is not applied.
    let s = series::sofa2_window(&r.as_of(at(20.0)), Window::FIRST_24H, &Options::default());
    assert_eq!(s.points_of("kidney"), Some(0.0), "{s:#?}");
}

/// Norepinephrine charted as tartrate: VIS uses the base (half the charted
/// rate) and the provenance says so, so the bedside sees why 0.2 gave 10 points.
#[test]
fn norepinephrine_tartrate_is_scored_as_base_and_says_so() {
    let mut r = record();
    r.infusions.push(InfusionChange {
        time: at(0.0),
        drug: Drug::Norepinephrine,
        rate: 0.1,
        entered_rate: 0.2,
        entered_unit: Unit::McgPerKgPerMin,
        salt: Salt::BitartrateMonohydrate,
        concentration: None,
        weight_kg: 80.0,
        source: Some("pump 3".into()),
    });
    r.sort();
    let v = series::vis_at(&r.complete(), 1.0, VisVariant::Gaies2010);
    close(v.value, 10.0);
    assert_eq!(v.provenance.len(), 1);
    assert_eq!(v.provenance[0].value, 0.2);
    let note = v.provenance[0].converted.as_deref().expect("conversion shown");
    assert!(note.contains("bitartrate_monohydrate") && note.contains("0.1 mcg/kg/min base"), "{note}");
}

// ------------------------------------------------------------ PREDICT VA-ECMO

fn predict_record() -> RunRecord {
    let mut r = record();
    let m = |min: f64| min / 60.0;
    obs(&mut r, m(55.0), Quantity::Lactate, 8.1);
    obs(&mut r, m(65.0), Quantity::Ph, 7.12);
    obs(&mut r, 1.0, Quantity::Bicarbonate, 16.0);
    obs(&mut r, 6.0 + m(29.0), Quantity::Lactate, 5.2);
    obs(&mut r, 6.0 - m(31.0), Quantity::Ph, 7.25);
    obs(&mut r, 6.0, Quantity::Bicarbonate, 19.0);
    obs(&mut r, 6.0 + m(10.0), Quantity::Ph, 7.26);
    obs(&mut r, 12.0, Quantity::Lactate, 3.0);
    r.sort();
    r
}

#[test]
fn predict_va_ecmo_gathers_inputs_within_thirty_minutes_and_names_the_missing() {
    let r = predict_record();
    let p = ecmo_scores::predict_va::predict_va_ecmo(&r.complete());
    assert_eq!(p.probability, None, "coefficients unverified: never a probability");
    assert!(p.withheld.contains("not been verified"));
    let [one, six, twelve] = &p.time_points[..] else { panic!("three time points") };
    assert_eq!((one.lactate.value, one.ph.value, one.bicarbonate.value), (Some(8.1), Some(7.12), Some(16.0)));
    // 31 min early is outside the ±30 min window; the sample 10 min late is taken.
    assert_eq!(six.ph.value, Some(7.26));
    assert_eq!(six.lactate.value, Some(5.2), "29 min late is inside the window");
    assert_eq!(six.ph.provenance.len(), 1);
    assert_eq!(twelve.lactate.value, Some(3.0));
    assert!(p.inputs_complete_6h);
    assert!(!p.inputs_complete_12h);
    assert_eq!(p.missing, vec!["ph at 12 h", "bicarbonate at 12 h"]);
    assert_eq!(run_scores(&r, None, &Options::default()).predict_va_ecmo, p);
}

#[test]
fn predict_va_ecmo_never_looks_past_the_as_of_instant() {
    let r = predict_record();
    let p = run_scores(&r, Some(6.0), &Options::default()).predict_va_ecmo;
    // The 6 h 10 min pH and the 6 h 29 min lactate lie after the as-of instant.
    assert_eq!(p.time_points[1].ph.value, None);
    assert_eq!(p.time_points[1].lactate.value, None);
    assert_eq!(p.time_points[1].bicarbonate.value, Some(19.0));
    assert!(!p.inputs_complete_6h);
}

#[test]
fn predict_va_ecmo_is_not_applicable_to_a_veno_venous_run() {
    let mut r = predict_record();
    assert!(ecmo_scores::predict_va::predict_va_ecmo(&r.complete()).applicable);
    r.run.mode = Mode::Vv;
    let p = ecmo_scores::predict_va::predict_va_ecmo(&r.complete());
    assert!(!p.applicable);
    assert!(p.not_applicable_reason.as_deref().is_some_and(|w| w.contains("veno-venous")), "{p:?}");
    assert_eq!(p.probability, None);
}
