//! APACHE II (Knaus et al. 1985), spec §8.

use crate::cmp::{band, ge};
use crate::result::{Builder, Component, Measured, Options, ScoreResult};
use ecmo_domain::{AdmissionType, Unit};
use serde::Serialize;

const NEG: f64 = f64::NEG_INFINITY;
pub const TEMPERATURE: &[(f64, u8)] =
    &[(41.0, 4), (39.0, 3), (38.5, 1), (36.0, 0), (34.0, 1), (32.0, 2), (30.0, 3), (NEG, 4)];
pub const MAP: &[(f64, u8)] = &[(160.0, 4), (130.0, 3), (110.0, 2), (70.0, 0), (50.0, 2), (NEG, 4)];
pub const HEART_RATE: &[(f64, u8)] = &[(180.0, 4), (140.0, 3), (110.0, 2), (70.0, 0), (55.0, 2), (40.0, 3), (NEG, 4)];
pub const RESP_RATE: &[(f64, u8)] = &[(50.0, 4), (35.0, 3), (25.0, 1), (12.0, 0), (10.0, 1), (6.0, 2), (NEG, 4)];
pub const AADO2: &[(f64, u8)] = &[(500.0, 4), (350.0, 3), (200.0, 2), (NEG, 0)];
pub const PH: &[(f64, u8)] = &[(7.70, 4), (7.60, 3), (7.50, 1), (7.33, 0), (7.25, 2), (7.15, 3), (NEG, 4)];
pub const BICARBONATE: &[(f64, u8)] = &[(52.0, 4), (41.0, 3), (32.0, 1), (22.0, 0), (18.0, 2), (15.0, 3), (NEG, 4)];
pub const SODIUM: &[(f64, u8)] =
    &[(180.0, 4), (160.0, 3), (155.0, 2), (150.0, 1), (130.0, 0), (120.0, 2), (111.0, 3), (NEG, 4)];
pub const POTASSIUM: &[(f64, u8)] = &[(7.0, 4), (6.0, 3), (5.5, 1), (3.5, 0), (3.0, 1), (2.5, 2), (NEG, 4)];
pub const CREATININE: &[(f64, u8)] = &[(3.5, 4), (2.0, 3), (1.5, 2), (0.6, 0), (NEG, 2)];
pub const HAEMATOCRIT: &[(f64, u8)] = &[(60.0, 4), (50.0, 2), (46.0, 1), (30.0, 0), (20.0, 2), (NEG, 4)];
pub const WBC: &[(f64, u8)] = &[(40.0, 4), (20.0, 2), (15.0, 1), (3.0, 0), (1.0, 2), (NEG, 4)];

/// PaO2 points when FiO2 < 0.5: > 70 → 0, 61–70 → 1, 55–60 → 3, < 55 → 4.
pub fn pao2_points(pao2: f64) -> u8 {
    if crate::cmp::gt(pao2, 70.0) {
        0
    } else if ge(pao2, 61.0) {
        1
    } else if ge(pao2, 55.0) {
        3
    } else {
        4
    }
}

pub fn gcs_points(gcs: f64) -> u8 {
    (15.0 - gcs).clamp(0.0, 12.0) as u8
}

/// Age points on completed years.
pub fn age_points(age: f64) -> u8 {
    let y = age.floor();
    if y >= 75.0 {
        6
    } else if y >= 65.0 {
        5
    } else if y >= 55.0 {
        3
    } else if y >= 45.0 {
        2
    } else {
        0
    }
}

/// Alveolar–arterial O2 difference (mmHg).
pub fn aado2(fio2: f64, pao2: f64, paco2: f64, patm: f64) -> f64 {
    fio2 * (patm - 47.0) - paco2 / 0.8 - pao2
}

/// Inputs of APACHE II (worst values of the first 24 h).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Apache2Input {
    pub temperature: Option<Measured>,
    pub map: Option<Measured>,
    pub heart_rate: Option<Measured>,
    pub resp_rate: Option<Measured>,
    /// FiO2, PaO2, PaCO2 of the same blood gas.
    pub fio2: Option<Measured>,
    pub pao2: Option<Measured>,
    pub paco2: Option<Measured>,
    /// A-aDO2 reported by the analyser (preferred when present).
    pub aado2: Option<Measured>,
    pub ph: Option<Measured>,
    /// Venous bicarbonate, used only without an arterial pH.
    pub bicarbonate: Option<Measured>,
    pub sodium: Option<Measured>,
    pub potassium: Option<Measured>,
    pub creatinine: Option<Measured>,
    pub acute_renal_failure: Option<bool>,
    pub haematocrit: Option<Measured>,
    pub wbc: Option<Measured>,
    pub gcs: Option<Measured>,
    pub age: Option<Measured>,
    /// Severe organ insufficiency or immunocompromise before admission.
    pub chronic_health: Option<bool>,
    pub admission_type: Option<AdmissionType>,
}

/// Oxygenation points and the component; `Err(missing item)` when not computable.
pub fn oxygenation(i: &Apache2Input, patm: f64) -> Result<Component, &'static str> {
    let fio2 = i.fio2.as_ref().ok_or("fio2")?;
    if ge(fio2.value, 0.5) {
        let (v, note) = if let Some(a) = &i.aado2 {
            (a.value, "A-aDO2 reported by analyser")
        } else {
            let pao2 = i.pao2.as_ref().ok_or("pao2")?;
            let paco2 = i.paco2.as_ref().ok_or("paco2 (FiO2 >= 0.5 needs A-aDO2)")?;
            (aado2(fio2.value, pao2.value, paco2.value, patm), "A-aDO2 = FiO2*(Patm-47) - PaCO2/0.8 - PaO2")
        };
        let src = i.pao2.as_ref().unwrap_or(fio2);
        Ok(Component::new("oxygenation", f64::from(band(v, AADO2))).with_measured(src, v, Unit::MmHg).note(note))
    } else {
        let pao2 = i.pao2.as_ref().ok_or("pao2")?;
        Ok(Component::new("oxygenation", f64::from(pao2_points(pao2.value)))
            .with_measured(pao2, pao2.value, Unit::MmHg)
            .note("PaO2 (FiO2 < 0.5)"))
    }
}

const DEF: &str = "APACHE II (Knaus 1985): acute physiology score (12 variables, worst value of the first 24 h) + age points + chronic health points; range 0-71";
const POP: &str = "Adult ICU admissions, 13 US hospitals 1979-1982 (Knaus 1985)";

pub fn apache2(i: &Apache2Input, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("apache2", DEF, POP, opts.assume_normal);
    type Row<'a> = (&'a str, &'a Option<Measured>, &'a [(f64, u8)], Unit);
    let simple: [Row; 4] = [
        ("temperature", &i.temperature, TEMPERATURE, Unit::Celsius),
        ("map", &i.map, MAP, Unit::MmHg),
        ("heart_rate", &i.heart_rate, HEART_RATE, Unit::PerMin),
        ("resp_rate", &i.resp_rate, RESP_RATE, Unit::PerMin),
    ];
    for (name, v, rows, unit) in simple {
        banded(&mut b, name, v.as_ref(), rows, unit);
    }
    match oxygenation(i, opts.patm_mmhg) {
        Ok(c) => b.add(c),
        Err(item) => {
            if b.missing(item) {
                b.add(Component::new("oxygenation", 0.0).note("assumed normal"));
            }
        }
    }
    if i.ph.is_some() {
        banded(&mut b, "ph", i.ph.as_ref(), PH, Unit::Dimensionless);
    } else if let Some(h) = &i.bicarbonate {
        b.add(
            Component::new("bicarbonate", f64::from(band(h.value, BICARBONATE)))
                .with_measured(h, h.value, Unit::MmolPerL)
                .note("serum HCO3 used: no arterial pH"),
        );
    } else if b.missing("ph") {
        b.add(Component::new("ph", 0.0).note("assumed normal"));
    }
    banded(&mut b, "sodium", i.sodium.as_ref(), SODIUM, Unit::MmolPerL);
    banded(&mut b, "potassium", i.potassium.as_ref(), POTASSIUM, Unit::MmolPerL);
    match &i.creatinine {
        Some(c) => {
            let p = band(c.value, CREATININE);
            match (p, i.acute_renal_failure) {
                (0, _) | (_, Some(false)) => {
                    b.add(Component::new("creatinine", f64::from(p)).with_measured(c, c.value, Unit::MgPerDl))
                }
                (_, Some(true)) => b.add(
                    Component::new("creatinine", f64::from(2 * p))
                        .with_measured(c, c.value, Unit::MgPerDl)
                        .note("points doubled for acute renal failure"),
                ),
                (_, None) => b.missing_required("acute_renal_failure (creatinine scores points)"),
            }
        }
        None => {
            if b.missing("creatinine") {
                b.add(Component::new("creatinine", 0.0).note("assumed normal"));
            }
        }
    }
    banded(&mut b, "haematocrit", i.haematocrit.as_ref(), HAEMATOCRIT, Unit::Percent);
    banded(&mut b, "wbc", i.wbc.as_ref(), WBC, Unit::ThousandPerUl);
    match &i.gcs {
        Some(g) => {
            b.add(Component::new("gcs", f64::from(gcs_points(g.value))).with_measured(g, g.value, Unit::Dimensionless))
        }
        None => {
            if b.missing("gcs") {
                b.add(Component::new("gcs", 0.0).note("assumed normal"));
            }
        }
    }
    match &i.age {
        Some(a) => b.add(Component::new("age", f64::from(age_points(a.value))).with_measured(a, a.value, Unit::Years)),
        None => b.missing_required("age"),
    }
    match (i.chronic_health, i.admission_type) {
        (Some(false), _) => b.add(Component::new("chronic_health", 0.0)),
        (Some(true), Some(t)) => {
            let p = match t {
                AdmissionType::NonOperative | AdmissionType::EmergencyPostOperative => 5.0,
                AdmissionType::ElectivePostOperative => 2.0,
            };
            b.add(
                Component::new("chronic_health", p).note(format!("severe chronic organ insufficiency, {t} admission")),
            );
        }
        (Some(true), None) => b.missing_required("admission_type"),
        (None, _) => b.missing_required("chronic_health"),
    }
    b.finish()
}

fn banded(b: &mut Builder, name: &str, v: Option<&Measured>, rows: &[(f64, u8)], unit: Unit) {
    match v {
        Some(m) => b.add(Component::new(name, f64::from(band(m.value, rows))).with_measured(m, m.value, unit)),
        None => {
            if b.missing(name) {
                b.add(Component::new(name, 0.0).note("assumed normal"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64, u: Unit) -> Option<Measured> {
        Some(Measured::new(v, u))
    }

    pub(crate) fn normal() -> Apache2Input {
        Apache2Input {
            temperature: m(37.0, Unit::Celsius),
            map: m(90.0, Unit::MmHg),
            heart_rate: m(80.0, Unit::PerMin),
            resp_rate: m(16.0, Unit::PerMin),
            fio2: m(0.21, Unit::Fraction),
            pao2: m(95.0, Unit::MmHg),
            paco2: m(40.0, Unit::MmHg),
            aado2: None,
            ph: m(7.40, Unit::Dimensionless),
            bicarbonate: None,
            sodium: m(140.0, Unit::MmolPerL),
            potassium: m(4.0, Unit::MmolPerL),
            creatinine: m(1.0, Unit::MgPerDl),
            acute_renal_failure: Some(false),
            haematocrit: m(40.0, Unit::Percent),
            wbc: m(8.0, Unit::ThousandPerUl),
            gcs: m(15.0, Unit::Dimensionless),
            age: m(40.0, Unit::Years),
            chronic_health: Some(false),
            admission_type: Some(AdmissionType::NonOperative),
        }
    }

    fn total(i: &Apache2Input) -> f64 {
        apache2(i, &Options::default()).total.expect("computable")
    }

    #[test]
    fn a1() {
        let i = Apache2Input {
            age: m(64.0, Unit::Years),
            temperature: m((100.8 - 32.0) * 5.0 / 9.0, Unit::Celsius),
            map: m((110.0 + 2.0 * 58.0) / 3.0, Unit::MmHg),
            heart_rate: m(107.0, Unit::PerMin),
            resp_rate: m(22.0, Unit::PerMin),
            fio2: m(0.36, Unit::Fraction),
            pao2: m(75.0, Unit::MmHg),
            ph: m(7.29, Unit::Dimensionless),
            sodium: m(136.0, Unit::MmolPerL),
            potassium: m(4.5, Unit::MmolPerL),
            creatinine: m(1.8, Unit::MgPerDl),
            acute_renal_failure: Some(true),
            haematocrit: m(34.0, Unit::Percent),
            wbc: m(12.3, Unit::ThousandPerUl),
            gcs: m(13.0, Unit::Dimensionless),
            ..normal()
        };
        let r = apache2(&i, &Options::default());
        assert_eq!(r.total, Some(11.0));
        assert_eq!(r.points_of("creatinine"), Some(4.0));
        assert_eq!(r.points_of("ph"), Some(2.0));
    }

    #[test]
    fn a2_va_ecmo_day1() {
        let i = Apache2Input {
            age: m(58.0, Unit::Years),
            temperature: m(36.2, Unit::Celsius),
            map: m(62.0, Unit::MmHg),
            heart_rate: m(118.0, Unit::PerMin),
            resp_rate: m(24.0, Unit::PerMin),
            fio2: m(0.6, Unit::Fraction),
            pao2: m(120.0, Unit::MmHg),
            paco2: m(40.0, Unit::MmHg),
            ph: m(7.22, Unit::Dimensionless),
            sodium: m(134.0, Unit::MmolPerL),
            potassium: m(5.7, Unit::MmolPerL),
            creatinine: m(2.4, Unit::MgPerDl),
            acute_renal_failure: Some(true),
            haematocrit: m(28.0, Unit::Percent),
            wbc: m(16.5, Unit::ThousandPerUl),
            gcs: m(8.0, Unit::Dimensionless),
            ..normal()
        };
        let r = apache2(&i, &Options::default());
        assert_eq!(r.total, Some(29.0));
        let ox = r.components.iter().find(|c| c.name == "oxygenation").unwrap();
        assert_eq!(ox.points, 2.0);
        assert!((ox.value.unwrap() - 257.8).abs() < 1e-9);
    }

    #[test]
    fn a3_boundaries() {
        let i = Apache2Input {
            age: m(76.0, Unit::Years),
            chronic_health: Some(true),
            admission_type: Some(AdmissionType::NonOperative),
            temperature: m(38.9, Unit::Celsius),
            map: m(85.0, Unit::MmHg),
            heart_rate: m(140.0, Unit::PerMin),
            resp_rate: m(35.0, Unit::PerMin),
            fio2: m(0.4, Unit::Fraction),
            pao2: m(60.0, Unit::MmHg),
            ph: m(7.33, Unit::Dimensionless),
            sodium: m(150.0, Unit::MmolPerL),
            potassium: m(3.5, Unit::MmolPerL),
            creatinine: m(0.5, Unit::MgPerDl),
            acute_renal_failure: Some(false),
            haematocrit: m(46.0, Unit::Percent),
            wbc: m(3.0, Unit::ThousandPerUl),
            gcs: m(14.0, Unit::Dimensionless),
            ..normal()
        };
        assert_eq!(total(&i), 26.0);
    }

    #[test]
    fn single_variable_cases_8_3() {
        assert_eq!(total(&normal()), 0.0);
        let cases: Vec<(Apache2Input, f64)> = vec![
            (Apache2Input { gcs: m(3.0, Unit::Dimensionless), ..normal() }, 12.0),
            (Apache2Input { age: m(45.0, Unit::Years), ..normal() }, 2.0),
            (Apache2Input { age: m(75.0, Unit::Years), ..normal() }, 6.0),
            (Apache2Input { heart_rate: m(45.0, Unit::PerMin), ..normal() }, 3.0),
            (Apache2Input { ph: m(7.20, Unit::Dimensionless), ..normal() }, 3.0),
            (Apache2Input { sodium: m(125.0, Unit::MmolPerL), ..normal() }, 2.0),
            (Apache2Input { wbc: m(50.0, Unit::ThousandPerUl), ..normal() }, 4.0),
            (Apache2Input { chronic_health: Some(true), ..normal() }, 5.0),
            (Apache2Input { map: m((80.0 + 2.0 * 50.0) / 3.0, Unit::MmHg), ..normal() }, 2.0),
            (Apache2Input { resp_rate: m(8.0, Unit::PerMin), ..normal() }, 2.0),
            (Apache2Input { potassium: m(3.2, Unit::MmolPerL), ..normal() }, 1.0),
            (Apache2Input { haematocrit: m(25.0, Unit::Percent), ..normal() }, 2.0),
            (Apache2Input { creatinine: m(2.5, Unit::MgPerDl), acute_renal_failure: Some(true), ..normal() }, 6.0),
            (Apache2Input { fio2: m(0.6, Unit::Fraction), aado2: m(400.0, Unit::MmHg), ..normal() }, 3.0),
            (Apache2Input { temperature: m(35.0, Unit::Celsius), ..normal() }, 1.0),
        ];
        for (i, (input, expected)) in cases.iter().enumerate() {
            assert_eq!(total(input), *expected, "case {i}");
        }
        let elective = Apache2Input {
            chronic_health: Some(true),
            admission_type: Some(AdmissionType::ElectivePostOperative),
            ..normal()
        };
        assert_eq!(total(&elective), 2.0);
    }

    #[test]
    fn band_edges() {
        for (v, e) in
            [(29.99, 4), (30.0, 3), (32.0, 2), (34.0, 1), (36.0, 0), (38.49, 0), (38.5, 1), (39.0, 3), (41.0, 4)]
        {
            assert_eq!(band(v, TEMPERATURE), e, "temp {v}");
        }
        for (v, e) in [(49.9, 4), (50.0, 2), (69.9, 2), (70.0, 0), (109.9, 0), (110.0, 2), (130.0, 3), (160.0, 4)] {
            assert_eq!(band(v, MAP), e, "map {v}");
        }
        for (v, e) in [(54.9, 4), (55.0, 3), (60.9, 3), (61.0, 1), (70.0, 1), (70.1, 0)] {
            assert_eq!(pao2_points(v), e, "pao2 {v}");
        }
        for (v, e) in [(199.9, 0), (200.0, 2), (349.9, 2), (350.0, 3), (500.0, 4)] {
            assert_eq!(band(v, AADO2), e, "aado2 {v}");
        }
        for (v, e) in [(0.59, 2), (0.6, 0), (1.49, 0), (1.5, 2), (2.0, 3), (3.49, 3), (3.5, 4)] {
            assert_eq!(band(v, CREATININE), e, "creat {v}");
        }
        assert_eq!(age_points(44.9), 0);
        assert_eq!(age_points(54.0), 2);
        assert_eq!(age_points(64.99), 3);
        assert_eq!(age_points(74.0), 5);
    }

    #[test]
    fn missing_and_assumed() {
        let i = Apache2Input { wbc: None, haematocrit: None, ..normal() };
        let r = apache2(&i, &Options::default());
        assert!(r.total.is_none());
        assert_eq!(r.missing, vec!["haematocrit", "wbc"]);
        let r = apache2(&i, &Options { assume_normal: true, ..Options::default() });
        assert_eq!(r.total, Some(0.0));
        assert_eq!(r.assumed, vec!["haematocrit", "wbc"]);
        // Age is mandatory even when assuming normal physiology.
        let i = Apache2Input { age: None, ..normal() };
        let r = apache2(&i, &Options { assume_normal: true, ..Options::default() });
        assert_eq!(r.missing, vec!["age"]);
        // pH absent: venous HCO3 is used instead.
        let i = Apache2Input { ph: None, bicarbonate: m(16.0, Unit::MmolPerL), ..normal() };
        assert_eq!(total(&i), 3.0);
    }
}
