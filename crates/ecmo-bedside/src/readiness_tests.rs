use super::*;
use crate::testutil::*;
use ecmo_domain::{ArrestLocation, Drug, SupportKind, Unit};

fn panel(r: &ecmo_domain::RunRecord, hours: f64) -> Readiness {
    readiness(&r.as_of(at(hours)), &ReadinessThresholds::default_thresholds(), VisVariant::Gaies2010)
}

fn item<'a>(p: &'a Readiness, id: &str) -> &'a ReadinessItem {
    p.items.iter().find(|i| i.id == id).unwrap()
}

#[test]
fn default_thresholds_load() {
    let t = ReadinessThresholds::default_thresholds();
    assert_eq!(t.items.len(), 15);
    assert!(t.items.iter().all(|i| !i.citation.is_empty()));
}

#[test]
fn empty_run_is_unknown_not_met() {
    let p = panel(&record(), 30.0);
    for i in &p.items {
        let expected = match i.id.as_str() {
            // Exposure 0 h with no infusions is a fact, arrest status comes from the run, VIS 0 with no drugs.
            "vasoactive_hours_24h" => Status::Info,
            "no_prior_arrest" | "vis_now" => Status::Met,
            _ => Status::Unknown,
        };
        assert_eq!(i.status, expected, "{}: {}", i.id, i.finding);
    }
}

#[test]
fn study_predictors() {
    let mut r = record();
    infusion(&mut r, 0.0, Drug::Norepinephrine, 0.2);
    infusion(&mut r, 0.0, Drug::Dobutamine, 5.0);
    infusion(&mut r, 20.0, Drug::Norepinephrine, 0.05);
    obs(&mut r, 0.0, Quantity::Lactate, 8.0, Unit::MmolPerL);
    obs(&mut r, 24.0, Quantity::Lactate, 3.0, Unit::MmolPerL);
    obs(&mut r, 28.0, Quantity::Lactate, 18.0, Unit::MgPerDl);
    obs(&mut r, 29.5, Quantity::Map, 72.0, Unit::MmHg);
    volume(&mut r, 6.0, 30.0, Quantity::FluidIn, 3000.0);
    volume(&mut r, 6.0, 30.0, Quantity::UrineOutput, 1000.0);
    let p = panel(&r, 30.0);
    // VIS now: NE 0.05 x 100 + dobutamine 5 = 10 -> <= 10 met.
    let vis = item(&p, "vis_now");
    assert_eq!(vis.value, Some(10.0));
    assert_eq!(vis.status, Status::Met);
    assert_eq!(vis.records.len(), 2);
    // VIS(0) = 25, VIS(24) = 10: reduction 60 %.
    let vrr = item(&p, "vis_reduction_24h");
    assert!((vrr.value.unwrap() - 60.0).abs() < 1e-9);
    assert_eq!(vrr.status, Status::Met);
    // 18 mg/dL = 1.998 mmol/L <= 2.0.
    let lac = item(&p, "lactate_now");
    assert!((lac.value.unwrap() - 18.0 / 9.008).abs() < 1e-12);
    assert_eq!(lac.status, Status::Met);
    assert_eq!(item(&p, "lactate_clearance_24h").value, Some(62.5));
    assert_eq!(item(&p, "map_now").status, Status::Met);
    // Balance over [6, 30] h: +2000 mL in the last 24 h (6-30 h) <= 2300.
    let fb = item(&p, "fluid_balance_24h");
    assert!((fb.value.unwrap() - 2000.0).abs() < 1e-9, "{:?}", fb.value);
    assert_eq!(fb.status, Status::Met);
    assert_eq!(item(&p, "vasoactive_hours_24h").value, Some(24.0));
    assert_eq!(item(&p, "vasoactive_hours_24h").status, Status::Info);
}

#[test]
fn stale_values_are_unknown() {
    let mut r = record();
    obs(&mut r, 10.0, Quantity::Map, 80.0, Unit::MmHg);
    obs(&mut r, 10.0, Quantity::Lvef, 35.0, Unit::Percent);
    let p = panel(&r, 40.0);
    assert_eq!(item(&p, "map_now").status, Status::Unknown);
    assert!(item(&p, "map_now").finding.contains("30.0 h old"));
    assert_eq!(item(&p, "lvef").status, Status::Unknown);
    assert_eq!(panel(&r, 30.0).items.iter().find(|i| i.id == "lvef").unwrap().status, Status::Met);
}

#[test]
fn prior_arrest_is_not_met() {
    let mut r = record();
    r.run.arrest.location = ArrestLocation::Ohca;
    r.run.arrest.ecpr = true;
    let i = panel(&r, 30.0).items.into_iter().find(|i| i.id == "no_prior_arrest").unwrap();
    assert_eq!(i.status, Status::NotMet);
    assert!(i.finding.contains("ohca, E-CPR"), "{}", i.finding);
}

#[test]
fn weaning_trial_checklist() {
    let mut r = record();
    obs(&mut r, 40.0, Quantity::PumpFlow, 3.5, Unit::LitrePerMin);
    obs(&mut r, 46.5, Quantity::PumpFlow, 2.0, Unit::LitrePerMin);
    obs(&mut r, 47.5, Quantity::PumpFlow, 1.5, Unit::LitrePerMin);
    obs(&mut r, 47.9, Quantity::SystolicBp, 85.0, Unit::MmHg);
    obs(&mut r, 47.9, Quantity::DiastolicBp, 70.0, Unit::MmHg);
    obs(&mut r, 47.8, Quantity::LvotVti, 12.0, Unit::Cm);
    obs(&mut r, 47.8, Quantity::Lvef, 20.0, Unit::Percent);
    obs(&mut r, 47.8, Quantity::MitralSLateral, 6.0, Unit::CmPerS);
    obs(&mut r, 47.8, Quantity::Tapse, 14.0, Unit::Mm);
    let p = panel(&r, 48.0);
    assert_eq!(item(&p, "flow_reduced").status, Status::Met, "{}", item(&p, "flow_reduced").finding);
    assert_eq!(item(&p, "flow_reduced").value, Some(2.0));
    assert_eq!(item(&p, "pulsatility").value, Some(15.0));
    assert_eq!(item(&p, "pulsatility").status, Status::Met);
    assert_eq!(item(&p, "lvot_vti").status, Status::Met);
    // LVEF must be above 20 %: exactly 20 is not.
    assert_eq!(item(&p, "lvef").status, Status::NotMet);
    assert_eq!(item(&p, "mitral_s_lateral").status, Status::Met);
    assert_eq!(item(&p, "rv_function").status, Status::NotMet);
    // Only 30 min at low flow at 47 h: not sustained for 1 h.
    let early = panel(&r, 47.0);
    assert_eq!(item(&early, "flow_reduced").status, Status::NotMet);
    assert_eq!(item(&early, "flow_reduced").value, Some(3.5));
    // Before any flow record there is nothing to judge.
    assert_eq!(item(&panel(&r, 39.0), "flow_reduced").status, Status::Unknown);
}

#[test]
fn lvef_from_an_echo_event() {
    let mut r = record();
    obs(&mut r, 40.0, Quantity::Lvef, 15.0, Unit::Percent);
    r.events.push(ecmo_domain::Event {
        time: at(45.0),
        kind: EventKind::EchoLvef,
        value: Some(30.0),
        detail: None,
        source: None,
    });
    let p = panel(&r, 48.0);
    assert_eq!(item(&p, "lvef").value, Some(30.0));
    assert_eq!(item(&p, "lvef").records[0].kind, "event");
}

#[test]
fn sofa_over_the_last_24h() {
    let mut r = record();
    obs(&mut r, 30.0, Quantity::Bilirubin, 6.5, Unit::MgPerDl);
    obs(&mut r, 30.0, Quantity::Platelets, 45.0, Unit::ThousandPerUl);
    support(&mut r, SupportKind::Crrt, 20.0, None);
    let p = panel(&r, 36.0);
    let s = item(&p, "sofa_24h");
    // Liver 3 (bilirubin 6.0-11.9 mg/dL), coagulation 3 (platelets < 50): 6 (SOFA-1 scores the kidney on
    // creatinine or urine, not on RRT), with four organs unknown: it may still exceed 11, so unknown.
    assert_eq!(s.value, Some(6.0));
    assert_eq!(s.status, Status::Unknown);
    assert!(s.finding.contains("without data"), "{}", s.finding);
    obs(&mut r, 31.0, Quantity::Bilirubin, 13.0, Unit::MgPerDl);
    obs(&mut r, 31.0, Quantity::Creatinine, 5.5, Unit::MgPerDl);
    obs(&mut r, 31.0, Quantity::Gcs, 5.0, Unit::Dimensionless);
    let p = panel(&r, 36.0);
    // A lower bound already above 11 is not met, whatever the missing organs show.
    assert_eq!(item(&p, "sofa_24h").status, Status::NotMet, "{:?}", item(&p, "sofa_24h").value);
}

#[test]
fn thresholds_file_errors() {
    let e = ReadinessThresholds::from_toml(
        &DEFAULT_THRESHOLDS.replace("threshold = 10.0\nunit = \"points\"", "unit = \"points\""),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("item[1].threshold"), "{e}");
    let e = ReadinessThresholds::from_toml(
        &DEFAULT_THRESHOLDS.replace("measure = \"map_latest\"", "measure = \"map_mean\""),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("map_mean"), "{e}");
    let e = ReadinessThresholds::from_toml(&DEFAULT_THRESHOLDS.replace("sustained_hours = 1.0\n", ""), "x.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sustained_hours"), "{e}");
}
