//! ENCOURAGE score (Muller et al. 2016), spec §10.

use crate::cmp::{gt, lt};
use crate::result::{Builder, Component, Measured, Options, ScoreResult};
use ecmo_domain::{Sex, Unit};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EncourageInput {
    pub age: Option<Measured>,
    pub sex: Option<Sex>,
    /// kg/m²; computed from weight and height when not given.
    pub bmi: Option<Measured>,
    pub gcs: Option<Measured>,
    pub creatinine: Option<Measured>,
    pub lactate: Option<Measured>,
    /// Prothrombin activity (Quick), %; INR is not converted.
    pub prothrombin_activity: Option<Measured>,
}

pub fn encourage_class(score: f64) -> (&'static str, &'static str) {
    if score <= 12.0 {
        ("0-12", "80 % 6-month survival")
    } else if score <= 18.0 {
        ("13-18", "58 % 6-month survival")
    } else if score <= 22.0 {
        ("19-22", "25 % 6-month survival")
    } else if score <= 27.0 {
        ("23-27", "20 % 6-month survival")
    } else {
        (">=28", "7 % 6-month survival")
    }
}

/// Lactate points: < 2 → 0, 2–8 → 8, > 8 → 11 (8.0 inclusive unless configured).
pub fn lactate_points(l: f64, eight_inclusive: bool) -> u8 {
    if lt(l, 2.0) {
        0
    } else if (eight_inclusive && !gt(l, 8.0)) || (!eight_inclusive && lt(l, 8.0)) {
        8
    } else {
        11
    }
}

/// Creatinine in µmol/L (the published unit): the entered value when it was
/// µmol/L, else mg/dL × 88.42.
pub fn creatinine_umol(c: &Measured) -> f64 {
    if c.unit == Unit::UmolPerL { c.entered } else { c.value * ecmo_domain::units::factors::CREATININE_UMOL_PER_MGDL }
}

const DEF: &str = "ENCOURAGE (Muller 2016): age > 60 (5), female (7), BMI > 25 (6), GCS < 6 (6), creatinine > 150 umol/L (5), lactate 2-8 (8) / > 8 mmol/L (11), prothrombin activity < 50 % (5); range 0-45";
const POP: &str = "138 patients on VA-ECMO for acute myocardial infarction with cardiogenic shock, 2 French ICUs; outcome 6-month survival";

pub fn encourage(i: &EncourageInput, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("encourage", DEF, POP, opts.assume_normal);
    match &i.age {
        Some(a) => b.add(Component::new("age_gt_60", if gt(a.value.floor(), 60.0) { 5.0 } else { 0.0 }).with_measured(
            a,
            a.value,
            Unit::Years,
        )),
        None => b.missing_required("age"),
    }
    match i.sex {
        Some(s) => b.add(Component::new("female", if s == Sex::Female { 7.0 } else { 0.0 }).note(s.code())),
        None => b.missing_required("sex"),
    }
    let item = |b: &mut Builder,
                name: &str,
                comp: &str,
                m: &Option<Measured>,
                pts: f64,
                hit: &dyn Fn(&Measured) -> (bool, f64, Unit)| match m {
        Some(v) => {
            let (yes, val, unit) = hit(v);
            b.add(Component::new(comp, if yes { pts } else { 0.0 }).with_measured(v, val, unit));
        }
        None => {
            if b.missing(name) {
                b.add(Component::new(comp, 0.0).note("unknown, scored 0 at the caller's request"));
            }
        }
    };
    item(&mut b, "bmi", "bmi_gt_25", &i.bmi, 6.0, &|m| (gt(m.value, 25.0), m.value, Unit::Dimensionless));
    item(&mut b, "gcs", "gcs_lt_6", &i.gcs, 6.0, &|m| (lt(m.value, 6.0), m.value, Unit::Dimensionless));
    item(&mut b, "creatinine", "creatinine_gt_150", &i.creatinine, 5.0, &|m| {
        let u = creatinine_umol(m);
        (gt(u, 150.0), u, Unit::UmolPerL)
    });
    match &i.lactate {
        Some(l) => b.add(
            Component::new("lactate", f64::from(lactate_points(l.value, opts.encourage_lactate_8_inclusive)))
                .with_measured(l, l.value, Unit::MmolPerL),
        ),
        None => {
            if b.missing("lactate") {
                b.add(Component::new("lactate", 0.0));
            }
        }
    }
    item(&mut b, "prothrombin_activity", "prothrombin_activity_lt_50", &i.prothrombin_activity, 5.0, &|m| {
        (lt(m.value, 50.0), m.value, Unit::Percent)
    });
    let mut r = b.finish();
    if let Some(t) = r.total {
        let (c, risk) = encourage_class(t);
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

    fn umol(v: f64) -> Option<Measured> {
        Some(Measured::entered(v / 88.42, v, Unit::UmolPerL))
    }

    #[test]
    fn e1_e2_e3() {
        let e1 = EncourageInput {
            age: m(65.0, Unit::Years),
            sex: Some(Sex::Male),
            bmi: m(27.0, Unit::Dimensionless),
            gcs: m(3.0, Unit::Dimensionless),
            creatinine: umol(180.0),
            lactate: m(9.0, Unit::MmolPerL),
            prothrombin_activity: m(40.0, Unit::Percent),
        };
        let r = encourage(&e1, &Options::default());
        assert_eq!(r.total, Some(38.0));
        assert_eq!(r.class.as_deref(), Some(">=28"));
        let e2 = EncourageInput {
            age: m(45.0, Unit::Years),
            sex: Some(Sex::Female),
            bmi: m(22.0, Unit::Dimensionless),
            gcs: m(15.0, Unit::Dimensionless),
            creatinine: umol(90.0),
            lactate: m(1.5, Unit::MmolPerL),
            prothrombin_activity: m(80.0, Unit::Percent),
        };
        let r = encourage(&e2, &Options::default());
        assert_eq!(r.total, Some(7.0));
        assert_eq!(r.class.as_deref(), Some("0-12"));
        let e3 = EncourageInput {
            age: m(60.0, Unit::Years),
            sex: Some(Sex::Female),
            bmi: m(25.0, Unit::Dimensionless),
            gcs: m(6.0, Unit::Dimensionless),
            creatinine: umol(150.0),
            lactate: m(8.0, Unit::MmolPerL),
            prothrombin_activity: m(50.0, Unit::Percent),
        };
        let r = encourage(&e3, &Options::default());
        assert_eq!(r.total, Some(15.0));
        assert_eq!(r.class.as_deref(), Some("13-18"));
        // The R implementation's boundary: 8.0 scores 11.
        let r = encourage(&e3, &Options { encourage_lactate_8_inclusive: false, ..Options::default() });
        assert_eq!(r.total, Some(18.0));
    }

    #[test]
    fn creatinine_mg_per_dl_converted_to_published_unit() {
        // 1.70 mg/dL = 150.3 µmol/L → 5 points.
        let c = Measured::new(1.70, Unit::MgPerDl);
        assert!(gt(creatinine_umol(&c), 150.0));
        assert!(!gt(creatinine_umol(&Measured::entered(150.0 / 88.42, 150.0, Unit::UmolPerL)), 150.0));
        assert_eq!(lactate_points(1.99, true), 0);
        assert_eq!(lactate_points(2.0, true), 8);
        assert_eq!(lactate_points(8.01, true), 11);
    }
}
