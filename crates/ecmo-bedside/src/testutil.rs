//! Hand-built runs for unit tests.

// Helpers shared by the test modules; not every module uses every one.
#![allow(dead_code)]

use ecmo_domain::*;

pub fn t0() -> Timestamp {
    Timestamp::from_ymd_hm(2024, 3, 1, 8, 0).unwrap()
}

pub fn at(hours: f64) -> Timestamp {
    t0().plus_hours(hours)
}

pub fn patient() -> Patient {
    Patient {
        id: "P1".into(),
        sex: Sex::Male,
        age_years: Some(58.0),
        birth_year: None,
        weight_kg: 80.0,
        height_cm: Some(178.0),
        chronic: ChronicConditions::default(),
    }
}

pub fn run(mode: Mode) -> Run {
    Run {
        id: "R1".into(),
        patient_id: "P1".into(),
        mode,
        etiology: Etiology::AmiCs,
        admission_type: AdmissionType::NonOperative,
        icu_admission: Some(t0().plus_hours(-3.0)),
        flow_start: t0(),
        decannulation: None,
        arrest: ArrestContext::none(),
        ventilation_hours_before: Some(2.0),
        cohort: None,
    }
}

pub fn record() -> RunRecord {
    RunRecord::new(patient(), run(Mode::Va))
}

pub fn obs(r: &mut RunRecord, hours: f64, q: Quantity, value: f64, unit: Unit) {
    let c = q.to_canonical(value, Some(unit)).unwrap();
    r.observations.push(Observation {
        time: at(hours),
        start: None,
        quantity: q,
        value: c.canonical,
        entered_value: value,
        entered_unit: unit,
        source: Some(format!("test {}", q.code())),
    });
    r.sort();
}

pub fn volume(r: &mut RunRecord, from_h: f64, to_h: f64, q: Quantity, ml: f64) {
    r.observations.push(Observation {
        time: at(to_h),
        start: Some(at(from_h)),
        quantity: q,
        value: ml,
        entered_value: ml,
        entered_unit: Unit::Ml,
        source: None,
    });
    r.sort();
}

pub fn event(r: &mut RunRecord, hours: f64, kind: EventKind, detail: Option<&str>) {
    r.events.push(Event { time: at(hours), kind, value: None, detail: detail.map(str::to_string), source: None });
    r.sort();
}

pub fn support(r: &mut RunRecord, kind: SupportKind, from_h: f64, to_h: Option<f64>) {
    r.supports.push(SupportPeriod { kind, start: at(from_h), stop: to_h.map(at), source: None });
    r.sort();
}

pub fn infusion(r: &mut RunRecord, hours: f64, drug: Drug, rate: f64) {
    r.infusions.push(InfusionChange {
        time: at(hours),
        drug,
        rate,
        entered_rate: rate,
        entered_unit: drug.canonical_unit(),
        salt: Salt::Base,
        concentration: None,
        weight_kg: 80.0,
        source: None,
    });
    r.sort();
}
