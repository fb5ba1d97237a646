//! The concept dictionary: every measured quantity the registry records, its
//! canonical unit, the units accepted on input and the plausibility ranges.
//!
//! The table below is the reviewable definition (spec §1.1 units, §2 ranges).
//! Hard limits are physically or physiologically impossible values: they are
//! refused. Soft limits are possible but rare: they are accepted and reported
//! as warnings so that a reviewer can confirm them.

use crate::time::Timestamp;
use crate::units::{Conversion, Unit, factors};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A quantity measured at an instant (vital sign, lab value) or over an
/// interval (urine output, fluid in and out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    // Haemodynamics and vital signs.
    Map,
    SystolicBp,
    DiastolicBp,
    HeartRate,
    RespiratoryRate,
    PumpFlow,
    Temperature,
    Spo2,
    // Blood gas and labs.
    Lactate,
    Ph,
    Bicarbonate,
    Pao2,
    Paco2,
    Fio2,
    Bilirubin,
    Creatinine,
    Platelets,
    Wbc,
    Haematocrit,
    Haemoglobin,
    Sodium,
    Potassium,
    Nse,
    Alt,
    Ast,
    ProthrombinActivity,
    // Neurology and ventilation.
    Gcs,
    PeakInspiratoryPressure,
    // Volumes over an interval.
    UrineOutput,
    FluidIn,
    FluidOut,
    // Echocardiography (weaning-trial checklist, spec §13.4).
    Lvef,
    LvotVti,
    MitralSLateral,
    Tapse,
}

/// Whether a value describes an instant or a volume over an interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// A value at an instant (a MAP reading, a lab sample).
    Point,
    /// A volume over an interval that ends at the record's time and starts at
    /// its `start` (urine output, fluid in/out).
    Interval,
}

/// One row of the concept dictionary.
#[derive(Debug, Clone, Copy)]
pub struct Concept {
    pub quantity: Quantity,
    /// Code used in CSV files and JSON (`lactate`, `map`, ...).
    pub code: &'static str,
    /// Plain-language name for clinicians.
    pub label: &'static str,
    pub canonical: Unit,
    /// Units accepted on input and how each converts to the canonical unit.
    pub accepted: &'static [(Unit, Conversion)],
    /// Refuse outside [min, max] (canonical unit).
    pub hard: (f64, f64),
    /// Warn outside [min, max] (canonical unit).
    pub soft: (f64, f64),
    pub sampling: Sampling,
    /// Values must be whole numbers (GCS).
    pub integer: bool,
}

use Conversion::{Divide, FahrenheitToCelsius, Identity, Multiply};
use Unit::*;

/// The dictionary. Order is the order used in documentation; kept as a table
/// (not reformatted) so that a clinician can review it line by line.
#[rustfmt::skip]
pub static CONCEPTS: &[Concept] = &[
    c(Quantity::Map, "map", "mean arterial pressure", MmHg, &[(MmHg, Identity)], (0.0, 250.0), (30.0, 150.0)),
    c(Quantity::SystolicBp, "sbp", "systolic blood pressure", MmHg, &[(MmHg, Identity)], (0.0, 300.0), (50.0, 250.0)),
    c(Quantity::DiastolicBp, "dbp", "diastolic blood pressure", MmHg, &[(MmHg, Identity)], (0.0, 200.0), (20.0, 140.0)),
    c(Quantity::HeartRate, "heart_rate", "heart rate", PerMin, &[(PerMin, Identity)], (0.0, 300.0), (30.0, 220.0)),
    c(Quantity::RespiratoryRate, "resp_rate", "respiratory rate", PerMin, &[(PerMin, Identity)], (0.0, 80.0), (4.0, 60.0)),
    c(Quantity::PumpFlow, "pump_flow", "ECMO blood flow", LitrePerMin, &[(LitrePerMin, Identity)], (0.0, 8.0), (1.0, 6.0)),
    c(Quantity::Temperature, "temperature", "body temperature", Celsius, &[(Celsius, Identity), (Fahrenheit, FahrenheitToCelsius)], (10.0, 46.0), (30.0, 42.0)),
    c(Quantity::Spo2, "spo2", "peripheral oxygen saturation", Percent, &[(Percent, Identity)], (30.0, 100.0), (70.0, 100.0)),
    c(Quantity::Lactate, "lactate", "lactate", MmolPerL, &[(MmolPerL, Identity), (MgPerDl, Divide(factors::LACTATE_MGDL_PER_MMOL))], (0.0, 40.0), (0.3, 25.0)),
    c(Quantity::Ph, "ph", "arterial pH", Dimensionless, &[(Dimensionless, Identity)], (6.30, 8.00), (6.80, 7.70)),
    c(Quantity::Bicarbonate, "bicarbonate", "bicarbonate", MmolPerL, &[(MmolPerL, Identity)], (2.0, 60.0), (8.0, 45.0)),
    c(Quantity::Pao2, "pao2", "arterial oxygen tension (PaO2)", MmHg, &[(MmHg, Identity), (KPa, Multiply(factors::MMHG_PER_KPA))], (5.0, 800.0), (40.0, 600.0)),
    c(Quantity::Paco2, "paco2", "arterial carbon dioxide tension (PaCO2)", MmHg, &[(MmHg, Identity), (KPa, Multiply(factors::MMHG_PER_KPA))], (5.0, 200.0), (20.0, 120.0)),
    c(Quantity::Fio2, "fio2", "inspired oxygen fraction (FiO2)", Fraction, &[(Fraction, Identity), (Percent, Divide(100.0))], (0.21, 1.0), (0.21, 1.0)),
    c(Quantity::Bilirubin, "bilirubin", "total bilirubin", MgPerDl, &[(MgPerDl, Identity), (UmolPerL, Divide(factors::BILIRUBIN_UMOL_PER_MGDL))], (0.0, 80.0), (0.1, 40.0)),
    c(Quantity::Creatinine, "creatinine", "creatinine", MgPerDl, &[(MgPerDl, Identity), (UmolPerL, Divide(factors::CREATININE_UMOL_PER_MGDL))], (0.1, 30.0), (0.3, 15.0)),
    c(Quantity::Platelets, "platelets", "platelet count", ThousandPerUl, &[(ThousandPerUl, Identity), (PerUl, Divide(1000.0))], (0.0, 2000.0), (5.0, 1000.0)),
    c(Quantity::Wbc, "wbc", "white blood cell count", ThousandPerUl, &[(ThousandPerUl, Identity), (PerUl, Divide(1000.0))], (0.0, 500.0), (0.5, 100.0)),
    c(Quantity::Haematocrit, "haematocrit", "haematocrit", Percent, &[(Percent, Identity), (Fraction, Multiply(100.0))], (5.0, 80.0), (15.0, 65.0)),
    c(Quantity::Haemoglobin, "haemoglobin", "haemoglobin", GPerDl, &[(GPerDl, Identity)], (1.5, 25.0), (5.0, 20.0)),
    c(Quantity::Sodium, "sodium", "sodium", MmolPerL, &[(MmolPerL, Identity)], (90.0, 200.0), (115.0, 165.0)),
    c(Quantity::Potassium, "potassium", "potassium", MmolPerL, &[(MmolPerL, Identity)], (1.0, 12.0), (2.5, 7.5)),
    c(Quantity::Nse, "nse", "neuron-specific enolase (NSE)", MicrogramPerL, &[(MicrogramPerL, Identity), (NanogramPerMl, Identity)], (0.0, 2000.0), (5.0, 300.0)),
    c(Quantity::Alt, "alt", "alanine aminotransferase (ALT)", UnitsPerL, &[(UnitsPerL, Identity)], (0.0, 50_000.0), (5.0, 10_000.0)),
    c(Quantity::Ast, "ast", "aspartate aminotransferase (AST)", UnitsPerL, &[(UnitsPerL, Identity)], (0.0, 50_000.0), (5.0, 10_000.0)),
    c(Quantity::ProthrombinActivity, "prothrombin_activity", "prothrombin activity (Quick)", Percent, &[(Percent, Identity)], (0.0, 150.0), (10.0, 120.0)),
    Concept { integer: true, ..c(Quantity::Gcs, "gcs", "Glasgow Coma Scale total", Dimensionless, &[(Dimensionless, Identity)], (3.0, 15.0), (3.0, 15.0)) },
    c(Quantity::PeakInspiratoryPressure, "pip", "peak inspiratory pressure", CmH2O, &[(CmH2O, Identity)], (0.0, 80.0), (10.0, 45.0)),
    Concept { sampling: Sampling::Interval, ..c(Quantity::UrineOutput, "urine_output", "urine output", Ml, &[(Ml, Identity)], (0.0, 15_000.0), (0.0, 8_000.0)) },
    Concept { sampling: Sampling::Interval, ..c(Quantity::FluidIn, "fluid_in", "fluid intake", Ml, &[(Ml, Identity)], (0.0, 50_000.0), (0.0, 20_000.0)) },
    Concept { sampling: Sampling::Interval, ..c(Quantity::FluidOut, "fluid_out", "fluid output other than urine", Ml, &[(Ml, Identity)], (0.0, 50_000.0), (0.0, 20_000.0)) },
    c(Quantity::Lvef, "lvef", "left-ventricular ejection fraction (echo)", Percent, &[(Percent, Identity)], (0.0, 85.0), (5.0, 75.0)),
    c(Quantity::LvotVti, "lvot_vti", "LVOT velocity-time integral (echo)", Cm, &[(Cm, Identity)], (0.0, 40.0), (2.0, 30.0)),
    c(Quantity::MitralSLateral, "mitral_s_lateral", "lateral mitral annulus peak systolic velocity S' (tissue Doppler)", CmPerS, &[(CmPerS, Identity)], (0.0, 30.0), (2.0, 20.0)),
    c(Quantity::Tapse, "tapse", "tricuspid annular plane systolic excursion (TAPSE, RV function)", Mm, &[(Mm, Identity)], (0.0, 50.0), (3.0, 35.0)),
];

#[allow(clippy::too_many_arguments)]
const fn c(
    quantity: Quantity,
    code: &'static str,
    label: &'static str,
    canonical: Unit,
    accepted: &'static [(Unit, Conversion)],
    hard: (f64, f64),
    soft: (f64, f64),
) -> Concept {
    Concept { quantity, code, label, canonical, accepted, hard, soft, sampling: Sampling::Point, integer: false }
}

impl Quantity {
    pub const ALL: [Quantity; 35] = {
        use Quantity::*;
        [
            Map,
            SystolicBp,
            DiastolicBp,
            HeartRate,
            RespiratoryRate,
            PumpFlow,
            Temperature,
            Spo2,
            Lactate,
            Ph,
            Bicarbonate,
            Pao2,
            Paco2,
            Fio2,
            Bilirubin,
            Creatinine,
            Platelets,
            Wbc,
            Haematocrit,
            Haemoglobin,
            Sodium,
            Potassium,
            Nse,
            Alt,
            Ast,
            ProthrombinActivity,
            Gcs,
            PeakInspiratoryPressure,
            UrineOutput,
            FluidIn,
            FluidOut,
            Lvef,
            LvotVti,
            MitralSLateral,
            Tapse,
        ]
    };

    /// This quantity's dictionary entry.
    pub fn concept(self) -> &'static Concept {
        // CONCEPTS is in the declaration order of Quantity; a unit test keeps it so.
        &CONCEPTS[self as usize]
    }

    pub fn code(self) -> &'static str {
        self.concept().code
    }

    pub fn canonical_unit(self) -> Unit {
        self.concept().canonical
    }

    /// Whether a value is accepted without a unit: pH and GCS have none, and
    /// FiO2 follows the ambiguity rule of spec §1.5.
    fn unitless_allowed(self) -> bool {
        matches!(self, Quantity::Ph | Quantity::Gcs | Quantity::Fio2)
    }

    /// Convert a value as entered to the canonical unit and check it.
    ///
    /// `unit` is `None` when the source gave no unit; only dimensionless
    /// quantities and FiO2 (fraction 0.21–1 or percent 21–100) accept that.
    pub fn to_canonical(self, value: f64, unit: Option<Unit>) -> Result<Checked, ValueError> {
        let concept = self.concept();
        if !value.is_finite() {
            return Err(ValueError::NotANumber { quantity: self });
        }
        let unit = match unit {
            Some(u) => u,
            None if self == Quantity::Fio2 => {
                if (0.21..=1.0).contains(&value) {
                    Unit::Fraction
                } else if (21.0..=100.0).contains(&value) {
                    Unit::Percent
                } else {
                    return Err(ValueError::AmbiguousUnit { quantity: self, value });
                }
            }
            None if self.unitless_allowed() => Unit::Dimensionless,
            None => return Err(ValueError::MissingUnit { quantity: self }),
        };
        let conversion = concept
            .accepted
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, c)| *c)
            .ok_or(ValueError::UnitNotAllowed { quantity: self, unit })?;
        let canonical = conversion.apply(value);
        if concept.integer && !is_whole(value) {
            return Err(ValueError::NotInteger { quantity: self, value });
        }
        let (lo, hi) = concept.hard;
        if canonical < lo || canonical > hi {
            return Err(ValueError::OutOfRange {
                quantity: self,
                value,
                unit,
                min: conversion.invert(lo),
                max: conversion.invert(hi),
            });
        }
        let (slo, shi) = concept.soft;
        let warning = (canonical < slo || canonical > shi).then(|| Warning::Implausible {
            quantity: self,
            value,
            unit,
            min: conversion.invert(slo),
            max: conversion.invert(shi),
        });
        Ok(Checked { canonical, entered: value, unit, warning })
    }
}

impl Quantity {
    /// Check the collection interval of a record of this quantity ending at
    /// `time`: volumes need a start before `time` and at most 48 h earlier;
    /// point values take no start. The one rule both CSV readers apply.
    pub fn check_interval(self, time: Timestamp, start: Option<Timestamp>) -> Result<(), IntervalError> {
        match (self.concept().sampling, start) {
            (Sampling::Interval, None) => Err(IntervalError::StartNeeded { quantity: self }),
            (Sampling::Interval, Some(s)) if s >= time => Err(IntervalError::StartNotBeforeEnd),
            (Sampling::Interval, Some(s)) if time.minutes_since(s) > MAX_INTERVAL_MINUTES => {
                Err(IntervalError::TooLong)
            }
            (Sampling::Point, Some(_)) => Err(IntervalError::PointValue { quantity: self }),
            _ => Ok(()),
        }
    }
}

/// Longest collection interval accepted for a volume (48 h).
pub const MAX_INTERVAL_MINUTES: i64 = 48 * 60;

/// Why a record's interval is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntervalError {
    #[error("{quantity} is a volume over an interval: give the interval's start")]
    StartNeeded { quantity: Quantity },
    #[error("must be before time (the end of the interval)")]
    StartNotBeforeEnd,
    #[error("interval longer than 48 h; chart volumes at least every 24 h")]
    TooLong,
    #[error("{quantity} is a point value; leave start empty")]
    PointValue { quantity: Quantity },
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A quantity code nobody could map.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown quantity '{0}'")]
pub struct UnknownQuantity(pub String);

impl FromStr for Quantity {
    type Err = UnknownQuantity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        let alias = match t.as_str() {
            "hematocrit" | "hct" => "haematocrit",
            "hemoglobin" | "hb" | "hgb" => "haemoglobin",
            "hr" => "heart_rate",
            "rr" => "resp_rate",
            "hco3" => "bicarbonate",
            "bili" | "total_bilirubin" => "bilirubin",
            "creat" => "creatinine",
            "plt" => "platelets",
            "uo" => "urine_output",
            "ef" => "lvef",
            "vti" | "lvot_vti_cm" => "lvot_vti",
            "s_prime" | "tdsa" | "mitral_s_prime" => "mitral_s_lateral",
            other => other,
        };
        CONCEPTS.iter().find(|c| c.code == alias).map(|c| c.quantity).ok_or_else(|| UnknownQuantity(s.to_string()))
    }
}

/// A value that passed the checks, in canonical and entered form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Checked {
    pub canonical: f64,
    pub entered: f64,
    pub unit: Unit,
    pub warning: Option<Warning>,
}

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValueError {
    #[error("{quantity} is not a number")]
    NotANumber { quantity: Quantity },
    #[error("{quantity} needs a unit (accepted: {})", accepted_list(*quantity))]
    MissingUnit { quantity: Quantity },
    #[error("{quantity} {value} has no unit and could be a fraction or a percent; give the unit")]
    AmbiguousUnit { quantity: Quantity, value: f64 },
    #[error("unit {unit} does not fit {quantity} (accepted: {})", accepted_list(*quantity))]
    UnitNotAllowed { quantity: Quantity, unit: Unit },
    #[error("{quantity} {value} {unit} cannot be physiologically true (possible range {min:.4}-{max:.4} {unit})")]
    OutOfRange { quantity: Quantity, value: f64, unit: Unit, min: f64, max: f64 },
    #[error("{quantity} must be a whole number, got {value}")]
    NotInteger { quantity: Quantity, value: f64 },
}

/// A value that is possible but rare enough to deserve a second look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Warning {
    Implausible { quantity: Quantity, value: f64, unit: Unit, min: f64, max: f64 },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Implausible { quantity, value, unit, min, max } => {
                write!(f, "{quantity} {value} {unit} is unusual (expected {min:.4}-{max:.4} {unit}); please confirm")
            }
        }
    }
}

/// The units a quantity accepts, for error messages and docs.
pub fn accepted_list(q: Quantity) -> String {
    q.concept().accepted.iter().map(|(u, _)| u.symbol()).collect::<Vec<_>>().join(", ")
}

/// `value.fract() == 0.0` for a finite value, without `f64::trunc` (a libm call on
/// x86-64 without SSE4.1, once per imported value): below 2^53 the conversion to
/// i64 truncates exactly, and every double from 2^52 up is whole.
#[inline]
fn is_whole(value: f64) -> bool {
    value.abs() >= 4_503_599_627_370_496.0 || (value as i64) as f64 == value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_whole_is_fract_zero() {
        let mut cases =
            vec![0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.5, 69.0, 7.4, 1e-300, 4503599627370495.5, 4503599627370496.0];
        cases.extend([
            9007199254740993.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            0.999_999_999_999_999_9,
        ]);
        cases.extend((0..2000).map(|i| f64::from(i) * 0.37 - 300.0));
        for v in cases {
            assert_eq!(is_whole(v), v.fract() == 0.0, "{v}");
        }
    }

    #[test]
    fn dictionary_is_in_declaration_order() {
        assert_eq!(CONCEPTS.len(), Quantity::ALL.len());
        for (i, q) in Quantity::ALL.iter().enumerate() {
            assert_eq!(CONCEPTS[i].quantity, *q);
            assert_eq!(*q as usize, i);
            assert_eq!(q.code().parse::<Quantity>(), Ok(*q));
            let (lo, hi) = CONCEPTS[i].hard;
            let (slo, shi) = CONCEPTS[i].soft;
            assert!(lo <= slo && slo < shi && shi <= hi, "{q}");
        }
    }

    #[test]
    fn creatinine_and_bilirubin_convert_with_published_factors() {
        let c = Quantity::Creatinine.to_canonical(176.84, Some(Unit::UmolPerL)).unwrap();
        assert!((c.canonical - 2.0).abs() < 1e-12);
        let b = Quantity::Bilirubin.to_canonical(68.416, Some(Unit::UmolPerL)).unwrap();
        assert!((b.canonical - 4.0).abs() < 1e-12);
    }

    #[test]
    fn lactate_in_mg_per_dl() {
        // Spec §3.4: admission 108 mg/dL = 11.99 mmol/L.
        let l = Quantity::Lactate.to_canonical(108.0, Some(Unit::MgPerDl)).unwrap();
        assert!((l.canonical - 11.989).abs() < 1e-3);
    }

    #[test]
    fn wrong_unit_is_refused() {
        let e = Quantity::Lactate.to_canonical(2.0, Some(Unit::MmHg)).unwrap_err();
        assert!(matches!(e, ValueError::UnitNotAllowed { .. }));
        assert!(e.to_string().contains("mmol/L"));
    }

    #[test]
    fn impossible_values_are_refused_not_clipped() {
        assert!(matches!(Quantity::Ph.to_canonical(5.9, None), Err(ValueError::OutOfRange { .. })));
        assert!(matches!(Quantity::Map.to_canonical(-1.0, Some(Unit::MmHg)), Err(ValueError::OutOfRange { .. })));
        // The range is reported in the unit the user gave.
        let e = Quantity::Creatinine.to_canonical(5000.0, Some(Unit::UmolPerL)).unwrap_err();
        match e {
            ValueError::OutOfRange { max, .. } => assert!((max - 2652.6).abs() < 0.1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rare_values_warn() {
        let l = Quantity::Lactate.to_canonical(30.0, Some(Unit::MmolPerL)).unwrap();
        assert!(l.warning.is_some());
        let l = Quantity::Lactate.to_canonical(3.0, Some(Unit::MmolPerL)).unwrap();
        assert!(l.warning.is_none());
    }

    #[test]
    fn fio2_ambiguity_rule() {
        assert_eq!(Quantity::Fio2.to_canonical(0.5, None).unwrap().canonical, 0.5);
        assert_eq!(Quantity::Fio2.to_canonical(50.0, None).unwrap().canonical, 0.5);
        assert!(matches!(Quantity::Fio2.to_canonical(5.0, None), Err(ValueError::AmbiguousUnit { .. })));
        assert!(matches!(Quantity::Lactate.to_canonical(5.0, None), Err(ValueError::MissingUnit { .. })));
    }

    #[test]
    fn volumes_need_a_bounded_interval_and_points_none() {
        let end: Timestamp = "2020-01-02 08:00".parse().unwrap();
        let ok = Some(end.plus_minutes(-6 * 60));
        assert_eq!(Quantity::UrineOutput.check_interval(end, ok), Ok(()));
        assert!(matches!(Quantity::UrineOutput.check_interval(end, None), Err(IntervalError::StartNeeded { .. })));
        assert_eq!(Quantity::FluidIn.check_interval(end, Some(end)), Err(IntervalError::StartNotBeforeEnd));
        assert_eq!(Quantity::FluidOut.check_interval(end, Some(end.plus_minutes(-48 * 60))), Ok(()));
        assert_eq!(
            Quantity::FluidOut.check_interval(end, Some(end.plus_minutes(-48 * 60 - 1))),
            Err(IntervalError::TooLong)
        );
        assert!(matches!(Quantity::Map.check_interval(end, ok), Err(IntervalError::PointValue { .. })));
        assert_eq!(Quantity::Map.check_interval(end, None), Ok(()));
    }

    #[test]
    fn gcs_must_be_whole() {
        assert!(Quantity::Gcs.to_canonical(7.0, None).is_ok());
        assert!(matches!(Quantity::Gcs.to_canonical(7.5, None), Err(ValueError::NotInteger { .. })));
        assert!(Quantity::Gcs.to_canonical(2.0, None).is_err());
    }
}
