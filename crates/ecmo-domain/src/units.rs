//! Units of measurement and the one place where values are converted between them.
//!
//! Every number that enters the system carries its unit. A measured quantity is
//! stored in one canonical unit (see [`crate::concepts`]); the value and unit as
//! entered are kept beside it for audit and for scores that band on the unit
//! the lab reported (SOFA's unit-native thresholds).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A unit of measurement as written in import files, forms and calculator inputs.
///
/// Parsing accepts the common spellings a spreadsheet export produces
/// (`umol/L`, `µmol/L`, `micromol/L`), always case-insensitively for the
/// prefix-free part; [`Unit::symbol`] gives the one canonical spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(into = "String", try_from = "String")]
pub enum Unit {
    /// Dimensionless count or score (GCS points, pH units).
    Dimensionless,
    MmHg,
    KPa,
    CmH2O,
    PerMin,
    LitrePerMin,
    MmolPerL,
    MgPerDl,
    UmolPerL,
    GPerDl,
    /// Fraction 0–1 (FiO2, haematocrit as a fraction).
    Fraction,
    Percent,
    /// ×10³ per µL, identical to ×10⁹ per L (platelets, WBC).
    ThousandPerUl,
    PerUl,
    Celsius,
    Fahrenheit,
    Kg,
    Lb,
    Cm,
    Inch,
    Years,
    Minutes,
    Hours,
    Ml,
    MlPerKgPerHour,
    MicrogramPerL,
    NanogramPerMl,
    UnitsPerL,
    // Infusion rates.
    McgPerKgPerMin,
    McgPerMin,
    MgPerHour,
    UnitsPerMin,
    UnitsPerHour,
    UnitsPerKgPerMin,
    MilliUnitsPerKgPerMin,
    NgPerKgPerMin,
    MlPerHour,
    // Echocardiography.
    Mm,
    CmPerS,
}

impl Unit {
    /// The canonical spelling, used in files the program writes.
    pub fn symbol(self) -> &'static str {
        use Unit::*;
        match self {
            Dimensionless => "1",
            MmHg => "mmHg",
            KPa => "kPa",
            CmH2O => "cmH2O",
            PerMin => "/min",
            LitrePerMin => "L/min",
            MmolPerL => "mmol/L",
            MgPerDl => "mg/dL",
            UmolPerL => "umol/L",
            GPerDl => "g/dL",
            Fraction => "fraction",
            Percent => "%",
            ThousandPerUl => "10^3/uL",
            PerUl => "/uL",
            Celsius => "degC",
            Fahrenheit => "degF",
            Kg => "kg",
            Lb => "lb",
            Cm => "cm",
            Inch => "in",
            Years => "years",
            Minutes => "min",
            Hours => "h",
            Ml => "mL",
            MlPerKgPerHour => "mL/kg/h",
            MicrogramPerL => "ug/L",
            NanogramPerMl => "ng/mL",
            UnitsPerL => "U/L",
            McgPerKgPerMin => "mcg/kg/min",
            McgPerMin => "mcg/min",
            MgPerHour => "mg/h",
            UnitsPerMin => "U/min",
            UnitsPerHour => "U/h",
            UnitsPerKgPerMin => "U/kg/min",
            MilliUnitsPerKgPerMin => "mU/kg/min",
            NgPerKgPerMin => "ng/kg/min",
            MlPerHour => "mL/h",
            Mm => "mm",
            CmPerS => "cm/s",
        }
    }

    /// Every unit, for documentation and exhaustive tests.
    pub const ALL: [Unit; 39] = {
        use Unit::*;
        [
            Dimensionless,
            MmHg,
            KPa,
            CmH2O,
            PerMin,
            LitrePerMin,
            MmolPerL,
            MgPerDl,
            UmolPerL,
            GPerDl,
            Fraction,
            Percent,
            ThousandPerUl,
            PerUl,
            Celsius,
            Fahrenheit,
            Kg,
            Lb,
            Cm,
            Inch,
            Years,
            Minutes,
            Hours,
            Ml,
            MlPerKgPerHour,
            MicrogramPerL,
            NanogramPerMl,
            UnitsPerL,
            McgPerKgPerMin,
            McgPerMin,
            MgPerHour,
            UnitsPerMin,
            UnitsPerHour,
            UnitsPerKgPerMin,
            MilliUnitsPerKgPerMin,
            NgPerKgPerMin,
            MlPerHour,
            Mm,
            CmPerS,
        ]
    };
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

impl From<Unit> for String {
    fn from(u: Unit) -> String {
        u.symbol().to_string()
    }
}

impl TryFrom<String> for Unit {
    type Error = UnknownUnit;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A unit string nobody could map to a known unit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown unit '{0}'")]
pub struct UnknownUnit(pub String);

impl FromStr for Unit {
    type Err = UnknownUnit;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        use Unit::*;
        let s = raw.trim();
        // Micro is spelt µ, μ (Greek mu), u or mc in exports; fold them once here.
        let folded = s.replace(['µ', 'μ'], "u").replace("micro", "u").replace(' ', "");
        let lower = folded.to_ascii_lowercase();
        let unit = match lower.as_str() {
            "1" | "points" | "pts" | "score" | "ph" => Dimensionless,
            "mmhg" => MmHg,
            "kpa" => KPa,
            "cmh2o" => CmH2O,
            "/min" | "bpm" | "beats/min" | "breaths/min" | "1/min" | "min-1" => PerMin,
            "l/min" | "lpm" => LitrePerMin,
            "mmol/l" | "meq/l" => MmolPerL,
            "mg/dl" => MgPerDl,
            "umol/l" => UmolPerL,
            "g/dl" => GPerDl,
            "fraction" | "ratio" => Fraction,
            "%" | "percent" => Percent,
            "10^3/ul" | "10^9/l" | "x10^3/ul" | "x10^9/l" | "10*3/ul" | "10*9/l" | "g/l" | "k/ul" => ThousandPerUl,
            "/ul" | "/mm3" | "1/ul" | "cells/ul" => PerUl,
            "degc" | "°c" | "c" | "cel" => Celsius,
            "degf" | "°f" | "f" => Fahrenheit,
            "kg" => Kg,
            "lb" | "lbs" => Lb,
            "cm" => Cm,
            "in" | "inch" => Inch,
            "years" | "year" | "y" | "a" => Years,
            "min" | "minutes" => Minutes,
            "h" | "hours" | "hr" => Hours,
            "ml" => Ml,
            "ml/kg/h" | "ml/kg/hr" => MlPerKgPerHour,
            "ug/l" => MicrogramPerL,
            "ng/ml" => NanogramPerMl,
            "u/l" | "iu/l" => UnitsPerL,
            "mcg/kg/min" | "ug/kg/min" | "γ" | "gamma" => McgPerKgPerMin,
            "mcg/min" | "ug/min" => McgPerMin,
            "mg/h" | "mg/hr" => MgPerHour,
            "u/min" | "iu/min" => UnitsPerMin,
            "u/h" | "u/hr" | "iu/h" => UnitsPerHour,
            "u/kg/min" | "iu/kg/min" => UnitsPerKgPerMin,
            "mu/kg/min" | "miu/kg/min" => MilliUnitsPerKgPerMin,
            "ng/kg/min" => NgPerKgPerMin,
            "ml/h" | "ml/hr" => MlPerHour,
            "mm" => Mm,
            "cm/s" | "cm/sec" => CmPerS,
            _ => return Err(UnknownUnit(raw.to_string())),
        };
        Ok(unit)
    }
}

/// How a value in an accepted unit becomes a value in the canonical unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Conversion {
    Identity,
    /// canonical = value × factor
    Multiply(f64),
    /// canonical = value ÷ divisor (kept as a division so that published
    /// factors such as 88.42 for creatinine are applied exactly as printed).
    Divide(f64),
    /// canonical °C = (°F − 32) × 5/9
    FahrenheitToCelsius,
}

impl Conversion {
    pub fn apply(self, v: f64) -> f64 {
        match self {
            Conversion::Identity => v,
            Conversion::Multiply(f) => v * f,
            Conversion::Divide(d) => v / d,
            Conversion::FahrenheitToCelsius => (v - 32.0) * 5.0 / 9.0,
        }
    }

    /// The inverse, canonical → this unit.
    pub fn invert(self, canonical: f64) -> f64 {
        match self {
            Conversion::Identity => canonical,
            Conversion::Multiply(f) => canonical / f,
            Conversion::Divide(d) => canonical * d,
            Conversion::FahrenheitToCelsius => canonical * 9.0 / 5.0 + 32.0,
        }
    }
}

/// Molar-mass factors, published values (see docs/scores.md and the spec §1.1).
pub mod factors {
    /// µmol/L per mg/dL of creatinine (MW 113.12 g/mol).
    pub const CREATININE_UMOL_PER_MGDL: f64 = 88.42;
    /// µmol/L per mg/dL of total bilirubin (MW 584.66 g/mol).
    pub const BILIRUBIN_UMOL_PER_MGDL: f64 = 17.104;
    /// mg/dL per mmol/L of lactate (MW 90.08 g/mol).
    pub const LACTATE_MGDL_PER_MMOL: f64 = 9.008;
    /// mmHg per kPa.
    pub const MMHG_PER_KPA: f64 = 7.50062;
    pub const KG_PER_LB: f64 = 0.45359237;
    pub const CM_PER_INCH: f64 = 2.54;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_canonical_symbol_parses_back() {
        for u in Unit::ALL {
            assert_eq!(u.symbol().parse::<Unit>(), Ok(u), "{u:?}");
        }
    }

    #[test]
    fn spellings_from_exports_are_accepted() {
        assert_eq!("µmol/L".parse::<Unit>(), Ok(Unit::UmolPerL));
        assert_eq!("umol/l".parse::<Unit>(), Ok(Unit::UmolPerL));
        assert_eq!("μg/kg/min".parse::<Unit>(), Ok(Unit::McgPerKgPerMin));
        assert_eq!("10^9/L".parse::<Unit>(), Ok(Unit::ThousandPerUl));
        assert_eq!("mEq/L".parse::<Unit>(), Ok(Unit::MmolPerL));
        assert!("furlongs".parse::<Unit>().is_err());
    }

    #[test]
    fn conversions_round_trip() {
        for c in [
            Conversion::Identity,
            Conversion::Multiply(7.50062),
            Conversion::Divide(88.42),
            Conversion::FahrenheitToCelsius,
        ] {
            let v = 37.5;
            assert!((c.invert(c.apply(v)) - v).abs() < 1e-12);
        }
    }
}
