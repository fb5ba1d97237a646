//! SAVE score (Schmidt et al. 2015), spec §9.

use crate::cmp::{ge, gt, le};
use crate::result::{Builder, Component, Measured, Options, ScoreResult};
use ecmo_domain::Unit;
use serde::Serialize;

/// SAVE diagnosis groups ("select all that apply").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SaveDiagnosis {
    Myocarditis,
    RefractoryVtVf,
    PostTransplant,
    Congenital,
    Other,
}

impl SaveDiagnosis {
    pub const CODES: &'static [&'static str] =
        &["myocarditis", "refractory_vt_vf", "post_transplant", "congenital", "other"];

    pub fn from_code(s: &str) -> Option<Self> {
        Some(match s {
            "myocarditis" => SaveDiagnosis::Myocarditis,
            "refractory_vt_vf" => SaveDiagnosis::RefractoryVtVf,
            "post_transplant" => SaveDiagnosis::PostTransplant,
            "congenital" => SaveDiagnosis::Congenital,
            "other" => SaveDiagnosis::Other,
            _ => return None,
        })
    }

    pub fn points(self) -> i32 {
        match self {
            SaveDiagnosis::Myocarditis | SaveDiagnosis::PostTransplant => 3,
            SaveDiagnosis::RefractoryVtVf => 2,
            SaveDiagnosis::Congenital => -3,
            SaveDiagnosis::Other => 0,
        }
    }

    pub fn code(self) -> &'static str {
        Self::CODES[self as usize]
    }
}

/// SAVE inputs (pre-ECMO values, worst of the 6 h before cannulation).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SaveInput {
    pub diagnoses: Option<Vec<SaveDiagnosis>>,
    pub age: Option<Measured>,
    pub weight: Option<Measured>,
    /// Acute liver failure; derived from bilirubin/ALT/AST when not given.
    pub liver_failure: Option<bool>,
    pub bilirubin: Option<Measured>,
    pub alt: Option<Measured>,
    pub ast: Option<Measured>,
    pub cns_dysfunction: Option<bool>,
    /// Acute renal failure; derived from creatinine (> 1.5 mg/dL) when not given.
    pub acute_renal_failure: Option<bool>,
    pub creatinine: Option<Measured>,
    pub chronic_renal_failure: Option<bool>,
    /// Hours of mechanical ventilation before ECMO (0 if not intubated).
    pub ventilation_hours: Option<Measured>,
    /// Intubated before ECMO; defaults to `ventilation_hours > 0`.
    pub intubated: Option<bool>,
    pub pip: Option<Measured>,
    pub cardiac_arrest: Option<bool>,
    pub dbp: Option<Measured>,
    pub pulse_pressure: Option<Measured>,
    pub bicarbonate: Option<Measured>,
}

/// Risk class and in-hospital survival of the derivation cohort.
pub fn save_class(score: i32, class_i_above: i32) -> (&'static str, &'static str) {
    if score > class_i_above {
        ("I", "75 % in-hospital survival")
    } else if score >= 1 {
        ("II", "58 % in-hospital survival")
    } else if score >= -4 {
        ("III", "42 % in-hospital survival")
    } else if score >= -9 {
        ("IV", "30 % in-hospital survival")
    } else {
        ("V", "18 % in-hospital survival")
    }
}

pub fn age_points(age: f64) -> i32 {
    let y = age.floor();
    if y <= 38.0 {
        7
    } else if y <= 52.0 {
        4
    } else if y <= 62.0 {
        3
    } else {
        0
    }
}

pub fn weight_points(kg: f64) -> i32 {
    if le(kg, 65.0) {
        1
    } else if crate::cmp::lt(kg, 90.0) {
        2
    } else {
        0
    }
}

pub fn ventilation_points(hours: f64) -> i32 {
    if le(hours, 10.0) {
        0
    } else if crate::cmp::lt(hours, 30.0) {
        -2
    } else {
        -4
    }
}

const DEF: &str = "SAVE (Schmidt 2015): diagnosis, age, weight, pre-ECMO organ failures, chronic renal failure, ventilation before ECMO, PIP, pre-ECMO arrest, DBP, pulse pressure, HCO3, constant -6; range -35 to +17";
const POP: &str = "3,846 ELSO-registry adults on VA-ECMO for refractory cardiogenic shock, 2003-2013; outcome survival to hospital discharge";

pub fn save(i: &SaveInput, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("save", DEF, POP, opts.assume_normal);
    // Every item is mandatory (spec §1.4); `assume_normal` lets an unknown item score 0.
    let flag = |b: &mut Builder, name: &str, v: Option<bool>, pts: i32, note: Option<String>| match v {
        Some(yes) => {
            let mut c = Component::new(name, if yes { f64::from(pts) } else { 0.0 })
                .with_value(f64::from(u8::from(yes)), "yes/no");
            c.note = note;
            b.add(c);
        }
        None => {
            if b.missing(name) {
                b.add(Component::new(name, 0.0).note("unknown, scored 0 at the caller's request"));
            }
        }
    };
    match &i.diagnoses {
        Some(d) if !d.is_empty() => {
            let p: i32 = d.iter().map(|x| x.points()).sum();
            b.add(
                Component::new("diagnosis", f64::from(p))
                    .note(d.iter().map(|x| x.code()).collect::<Vec<_>>().join(", ")),
            );
        }
        _ => {
            if b.missing("diagnosis") {
                b.add(Component::new("diagnosis", 0.0));
            }
        }
    }
    match &i.age {
        Some(a) => {
            if a.value < 18.0 {
                b.warn("SAVE was derived in adults (age >= 18)");
            }
            b.add(Component::new("age", f64::from(age_points(a.value))).with_measured(a, a.value, Unit::Years));
        }
        None => b.missing_required("age"),
    }
    match &i.weight {
        Some(w) => {
            b.add(Component::new("weight", f64::from(weight_points(w.value))).with_measured(w, w.value, Unit::Kg))
        }
        None => b.missing_required("weight"),
    }
    let liver = i.liver_failure.or_else(|| {
        let bili = i.bilirubin.as_ref().map(|x| {
            let umol = if x.unit == Unit::UmolPerL {
                x.entered
            } else {
                x.value * ecmo_domain::units::factors::BILIRUBIN_UMOL_PER_MGDL
            };
            ge(umol, 33.0)
        });
        let enz = [&i.alt, &i.ast].iter().filter_map(|m| m.as_ref()).map(|m| gt(m.value, 70.0)).reduce(|a, b| a || b);
        match (bili, enz) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(false) || b.unwrap_or(false)),
        }
    });
    flag(&mut b, "liver_failure", liver, -3, Some("bilirubin >= 33 umol/L or ALT/AST > 70 IU/L".into()));
    flag(&mut b, "cns_dysfunction", i.cns_dysfunction, -3, None);
    let arf = i.acute_renal_failure.or_else(|| i.creatinine.as_ref().map(|c| gt(c.value, 1.5)));
    flag(&mut b, "acute_renal_failure", arf, -3, Some("acute renal insufficiency (creatinine > 1.5 mg/dL)".into()));
    flag(&mut b, "chronic_renal_failure", i.chronic_renal_failure, -6, None);
    let intubated = i.intubated.or_else(|| i.ventilation_hours.as_ref().map(|h| h.value > 0.0));
    match (intubated, &i.ventilation_hours) {
        (Some(false), _) => {
            b.add(Component::new("ventilation_hours", 0.0).note("not intubated before ECMO"));
            b.add(Component::new("pip_le_20", 0.0).note("not intubated: PIP item not applicable (0 points)"));
        }
        (_, Some(h)) => {
            b.add(Component::new("ventilation_hours", f64::from(ventilation_points(h.value))).with_measured(
                h,
                h.value,
                Unit::Hours,
            ));
            match &i.pip {
                Some(p) => b.add(Component::new("pip_le_20", if le(p.value, 20.0) { 3.0 } else { 0.0 }).with_measured(
                    p,
                    p.value,
                    Unit::CmH2O,
                )),
                None => {
                    if b.missing("pip") {
                        b.add(Component::new("pip_le_20", 0.0));
                    }
                }
            }
        }
        (_, None) => b.missing_required("ventilation_hours"),
    }
    flag(&mut b, "cardiac_arrest", i.cardiac_arrest, -2, None);
    match &i.dbp {
        Some(d) => b.add(Component::new("dbp_ge_40", if ge(d.value, 40.0) { 3.0 } else { 0.0 }).with_measured(
            d,
            d.value,
            Unit::MmHg,
        )),
        None => {
            if b.missing("dbp") {
                b.add(Component::new("dbp_ge_40", 0.0));
            }
        }
    }
    match &i.pulse_pressure {
        Some(d) => {
            b.add(Component::new("pulse_pressure_le_20", if le(d.value, 20.0) { -2.0 } else { 0.0 }).with_measured(
                d,
                d.value,
                Unit::MmHg,
            ))
        }
        None => {
            if b.missing("pulse_pressure") {
                b.add(Component::new("pulse_pressure_le_20", 0.0));
            }
        }
    }
    match &i.bicarbonate {
        Some(d) => {
            b.add(Component::new("bicarbonate_le_15", if le(d.value, 15.0) { -3.0 } else { 0.0 }).with_measured(
                d,
                d.value,
                Unit::MmolPerL,
            ))
        }
        None => {
            if b.missing("bicarbonate") {
                b.add(Component::new("bicarbonate_le_15", 0.0));
            }
        }
    }
    b.add(Component::new("constant", -6.0));
    let mut r = b.finish();
    if let Some(t) = r.total {
        let (c, risk) = save_class(t as i32, opts.save_class_i_above);
        r.class = Some(c.into());
        r.risk = Some(risk.into());
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64, u: Unit) -> Option<Measured> {
        Some(Measured::new(v, u))
    }

    #[test]
    fn sv1() {
        let i = SaveInput {
            diagnoses: Some(vec![SaveDiagnosis::Myocarditis]),
            age: m(30.0, Unit::Years),
            weight: m(60.0, Unit::Kg),
            liver_failure: Some(false),
            cns_dysfunction: Some(false),
            acute_renal_failure: Some(false),
            chronic_renal_failure: Some(false),
            ventilation_hours: m(5.0, Unit::Hours),
            pip: m(18.0, Unit::CmH2O),
            cardiac_arrest: Some(false),
            dbp: m(45.0, Unit::MmHg),
            pulse_pressure: m(25.0, Unit::MmHg),
            bicarbonate: m(20.0, Unit::MmolPerL),
            ..Default::default()
        };
        let r = save(&i, &Options::default());
        assert_eq!(r.total, Some(11.0));
        assert_eq!(r.class.as_deref(), Some("I"));
    }

    #[test]
    fn sv2() {
        let i = SaveInput {
            diagnoses: Some(vec![SaveDiagnosis::Other]),
            age: m(68.0, Unit::Years),
            weight: m(85.0, Unit::Kg),
            bilirubin: Some(Measured::entered(40.0 / 17.104, 40.0, Unit::UmolPerL)),
            cns_dysfunction: Some(false),
            creatinine: m(2.0, Unit::MgPerDl),
            chronic_renal_failure: Some(false),
            ventilation_hours: m(36.0, Unit::Hours),
            pip: m(28.0, Unit::CmH2O),
            cardiac_arrest: Some(true),
            dbp: m(35.0, Unit::MmHg),
            pulse_pressure: m(15.0, Unit::MmHg),
            bicarbonate: m(14.0, Unit::MmolPerL),
            ..Default::default()
        };
        let r = save(&i, &Options::default());
        assert_eq!(r.total, Some(-21.0));
        assert_eq!(r.class.as_deref(), Some("V"));
    }

    #[test]
    fn sv3() {
        let i = SaveInput {
            diagnoses: Some(vec![SaveDiagnosis::RefractoryVtVf]),
            age: m(52.0, Unit::Years),
            weight: m(65.0, Unit::Kg),
            liver_failure: Some(false),
            cns_dysfunction: Some(false),
            acute_renal_failure: Some(false),
            chronic_renal_failure: Some(true),
            ventilation_hours: m(12.0, Unit::Hours),
            pip: m(20.0, Unit::CmH2O),
            cardiac_arrest: Some(true),
            dbp: m(40.0, Unit::MmHg),
            pulse_pressure: m(20.0, Unit::MmHg),
            bicarbonate: m(15.0, Unit::MmolPerL),
            ..Default::default()
        };
        let r = save(&i, &Options::default());
        assert_eq!(r.total, Some(-8.0));
        assert_eq!(r.class.as_deref(), Some("IV"));
    }

    #[test]
    fn classes_and_bands() {
        assert_eq!(save_class(6, 5).0, "I");
        assert_eq!(save_class(5, 5).0, "II");
        assert_eq!(save_class(5, 4).0, "I");
        assert_eq!(save_class(1, 5).0, "II");
        assert_eq!(save_class(0, 5).0, "III");
        assert_eq!(save_class(-4, 5).0, "III");
        assert_eq!(save_class(-5, 5).0, "IV");
        assert_eq!(save_class(-9, 5).0, "IV");
        assert_eq!(save_class(-10, 5).0, "V");
        assert_eq!(
            [
                age_points(38.0),
                age_points(39.0),
                age_points(52.0),
                age_points(53.0),
                age_points(62.0),
                age_points(63.0)
            ],
            [7, 4, 4, 3, 3, 0]
        );
        assert_eq!([weight_points(65.0), weight_points(65.1), weight_points(89.9), weight_points(90.0)], [1, 2, 2, 0]);
        assert_eq!(
            [ventilation_points(10.0), ventilation_points(11.0), ventilation_points(29.0), ventilation_points(30.0)],
            [0, -2, -2, -4]
        );
    }

    #[test]
    fn not_intubated_and_missing() {
        let i = SaveInput {
            diagnoses: Some(vec![SaveDiagnosis::Other]),
            age: m(50.0, Unit::Years),
            weight: m(80.0, Unit::Kg),
            liver_failure: Some(false),
            cns_dysfunction: Some(false),
            acute_renal_failure: Some(false),
            chronic_renal_failure: Some(false),
            ventilation_hours: m(0.0, Unit::Hours),
            cardiac_arrest: Some(false),
            dbp: m(50.0, Unit::MmHg),
            pulse_pressure: m(30.0, Unit::MmHg),
            bicarbonate: m(22.0, Unit::MmolPerL),
            ..Default::default()
        };
        let r = save(&i, &Options::default());
        assert_eq!(r.total, Some(4.0 + 2.0 + 3.0 - 6.0));
        assert_eq!(r.points_of("pip_le_20"), Some(0.0));
        let r = save(&SaveInput { cardiac_arrest: None, ..i }, &Options::default());
        assert_eq!(r.missing, vec!["cardiac_arrest"]);
    }
}
