//! Vasoactive and inotropic drugs and the normalisation of their doses.
//!
//! Dose normalisation is where real systems go wrong (spec §1.1, §4.1): a
//! vasopressin rate in U/min entered as U/kg/min, a norepinephrine rate in
//! mcg/min entered as mcg/kg/min, a tartrate salt counted as base, or a rate in
//! mL/h without a concentration. Every path below either converts explicitly
//! or refuses with a reason; nothing is guessed.

use crate::units::Unit;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A vasoactive or inotropic drug given as a continuous infusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Drug {
    Norepinephrine,
    Epinephrine,
    Dopamine,
    Dobutamine,
    Milrinone,
    Vasopressin,
    Levosimendan,
    Phenylephrine,
    AngiotensinII,
}

impl Drug {
    pub const ALL: [Drug; 9] = [
        Drug::Norepinephrine,
        Drug::Epinephrine,
        Drug::Dopamine,
        Drug::Dobutamine,
        Drug::Milrinone,
        Drug::Vasopressin,
        Drug::Levosimendan,
        Drug::Phenylephrine,
        Drug::AngiotensinII,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Drug::Norepinephrine => "norepinephrine",
            Drug::Epinephrine => "epinephrine",
            Drug::Dopamine => "dopamine",
            Drug::Dobutamine => "dobutamine",
            Drug::Milrinone => "milrinone",
            Drug::Vasopressin => "vasopressin",
            Drug::Levosimendan => "levosimendan",
            Drug::Phenylephrine => "phenylephrine",
            Drug::AngiotensinII => "angiotensin_ii",
        }
    }

    /// The unit doses of this drug are stored and scored in.
    pub fn canonical_unit(self) -> Unit {
        match self {
            Drug::Vasopressin => Unit::UnitsPerMin,
            Drug::AngiotensinII => Unit::NgPerKgPerMin,
            _ => Unit::McgPerKgPerMin,
        }
    }

    /// Refuse above this canonical rate (spec §2): almost certainly a unit error.
    pub fn hard_max(self) -> f64 {
        match self {
            Drug::Norepinephrine | Drug::Epinephrine => 5.0,
            Drug::Dopamine => 50.0,
            Drug::Dobutamine => 40.0,
            Drug::Milrinone => 1.5,
            Drug::Levosimendan => 0.4,
            Drug::Phenylephrine => 15.0,
            Drug::Vasopressin => 0.2,
            Drug::AngiotensinII => 200.0,
        }
    }

    /// Warn above this canonical rate (spec §2).
    pub fn soft_max(self) -> f64 {
        match self {
            Drug::Norepinephrine | Drug::Epinephrine => 1.0,
            Drug::Dopamine => 20.0,
            Drug::Dobutamine => 20.0,
            Drug::Milrinone => 0.75,
            Drug::Levosimendan => 0.2,
            Drug::Phenylephrine => 5.0,
            Drug::Vasopressin => 0.06,
            Drug::AngiotensinII => 80.0,
        }
    }
}

impl fmt::Display for Drug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "unknown drug '{0}' (known: norepinephrine, epinephrine, dopamine, dobutamine, milrinone, vasopressin, levosimendan, phenylephrine, angiotensin_ii)"
)]
pub struct UnknownDrug(pub String);

impl FromStr for Drug {
    type Err = UnknownDrug;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        Ok(match t.as_str() {
            "norepinephrine" | "noradrenaline" | "ne" => Drug::Norepinephrine,
            "epinephrine" | "adrenaline" | "epi" => Drug::Epinephrine,
            "dopamine" => Drug::Dopamine,
            "dobutamine" => Drug::Dobutamine,
            "milrinone" => Drug::Milrinone,
            "vasopressin" | "argipressin" => Drug::Vasopressin,
            "levosimendan" => Drug::Levosimendan,
            "phenylephrine" => Drug::Phenylephrine,
            "angiotensin_ii" | "angiotensin2" | "angiotensin" => Drug::AngiotensinII,
            _ => return Err(UnknownDrug(s.to_string())),
        })
    }
}

/// The salt form a norepinephrine infusion is labelled in (spec §1.1): doses
/// are scored as base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Salt {
    #[default]
    Base,
    /// 2 mg bitartrate monohydrate ≈ 1 mg base.
    BitartrateMonohydrate,
    /// 1.89 mg anhydrous bitartrate ≈ 1 mg base.
    AnhydrousBitartrate,
    /// 1.22 mg hydrochloride ≈ 1 mg base.
    Hydrochloride,
}

impl Salt {
    /// mg of this salt per mg of base.
    pub fn mg_per_mg_base(self) -> f64 {
        match self {
            Salt::Base => 1.0,
            Salt::BitartrateMonohydrate => 2.0,
            Salt::AnhydrousBitartrate => 1.89,
            Salt::Hydrochloride => 1.22,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Salt::Base => "base",
            Salt::BitartrateMonohydrate => "bitartrate_monohydrate",
            Salt::AnhydrousBitartrate => "anhydrous_bitartrate",
            Salt::Hydrochloride => "hydrochloride",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown salt form '{0}' (known: base, bitartrate_monohydrate, anhydrous_bitartrate, hydrochloride)")]
pub struct UnknownSalt(pub String);

impl FromStr for Salt {
    type Err = UnknownSalt;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
            "" | "base" => Salt::Base,
            "bitartrate_monohydrate" | "tartrate" | "bitartrate" => Salt::BitartrateMonohydrate,
            "anhydrous_bitartrate" => Salt::AnhydrousBitartrate,
            "hydrochloride" | "hcl" => Salt::Hydrochloride,
            _ => return Err(UnknownSalt(s.to_string())),
        })
    }
}

/// The concentration of an infusion bag, needed only for rates charted in mL/h.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    pub value: f64,
    pub unit: ConcentrationUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConcentrationUnit {
    McgPerMl,
    MgPerMl,
    UnitsPerMl,
}

impl ConcentrationUnit {
    pub fn symbol(self) -> &'static str {
        match self {
            ConcentrationUnit::McgPerMl => "mcg/mL",
            ConcentrationUnit::MgPerMl => "mg/mL",
            ConcentrationUnit::UnitsPerMl => "U/mL",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown concentration unit '{0}' (known: mcg/mL, mg/mL, U/mL)")]
pub struct UnknownConcentrationUnit(pub String);

impl FromStr for ConcentrationUnit {
    type Err = UnknownConcentrationUnit;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().replace(['µ', 'μ'], "u").to_ascii_lowercase();
        Ok(match t.as_str() {
            "mcg/ml" | "ug/ml" => ConcentrationUnit::McgPerMl,
            "mg/ml" => ConcentrationUnit::MgPerMl,
            "u/ml" | "iu/ml" => ConcentrationUnit::UnitsPerMl,
            _ => return Err(UnknownConcentrationUnit(s.to_string())),
        })
    }
}

/// A dose as charted, with everything needed to normalise it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartedDose {
    pub drug: Drug,
    pub rate: f64,
    pub unit: Unit,
    pub salt: Salt,
    pub concentration: Option<Concentration>,
    /// Dosing weight, or actual body weight when no dosing weight is charted.
    pub weight_kg: Option<f64>,
}

/// Why a dose could not be normalised.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DoseError {
    #[error("{drug} rate {rate} is not a valid number (a stopped infusion is charted as rate 0)")]
    Invalid { drug: Drug, rate: f64 },
    #[error("unit {unit} is not a dose unit for {drug}")]
    UnitNotAllowed { drug: Drug, unit: Unit },
    #[error("{drug} rate in {unit} needs the patient's weight to convert to {}", drug.canonical_unit())]
    WeightNeeded { drug: Drug, unit: Unit },
    #[error("{drug} rate in mL/h needs the bag concentration (concentration and concentration_unit)")]
    ConcentrationNeeded { drug: Drug },
    #[error("{drug} concentration unit {unit} does not fit the drug")]
    ConcentrationUnitNotAllowed { drug: Drug, unit: &'static str },
    #[error("salt form {salt} applies to norepinephrine only, not {drug}", salt = salt.code())]
    SaltNotApplicable { drug: Drug, salt: Salt },
    #[error(
        "{drug} {rate} {unit} is {canonical:.4} {limit_unit} after conversion, above the possible maximum of {max} {limit_unit}{hint}"
    )]
    Implausible { drug: Drug, rate: f64, unit: Unit, canonical: f64, max: f64, limit_unit: Unit, hint: &'static str },
}

/// A dose converted to its drug's canonical unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalisedDose {
    pub canonical: f64,
    /// Above the usual maximum; accepted but to be confirmed.
    pub unusual: bool,
}

/// Vasopressin entered per kg above this is almost always a U/min value typed
/// into a U/kg/min field (spec §2).
const VASOPRESSIN_U_PER_KG_MIN_MAX: f64 = 0.003;

impl ChartedDose {
    /// Convert to the drug's canonical unit, refusing anything ambiguous.
    pub fn normalise(&self) -> Result<NormalisedDose, DoseError> {
        let ChartedDose { drug, rate, unit, salt, concentration, weight_kg } = *self;
        if !rate.is_finite() || rate < 0.0 {
            return Err(DoseError::Invalid { drug, rate });
        }
        if salt != Salt::Base && drug != Drug::Norepinephrine {
            return Err(DoseError::SaltNotApplicable { drug, salt });
        }
        let weight = || weight_kg.filter(|w| *w > 0.0).ok_or(DoseError::WeightNeeded { drug, unit });
        let mut hint = "";
        let canonical = match drug {
            Drug::Vasopressin => match unit {
                Unit::UnitsPerMin => rate,
                Unit::UnitsPerHour => rate / 60.0,
                Unit::UnitsPerKgPerMin => {
                    if rate > VASOPRESSIN_U_PER_KG_MIN_MAX {
                        return Err(DoseError::Implausible {
                            drug,
                            rate,
                            unit,
                            canonical: rate,
                            max: VASOPRESSIN_U_PER_KG_MIN_MAX,
                            limit_unit: Unit::UnitsPerKgPerMin,
                            hint: "; was a U/min rate entered as U/kg/min?",
                        });
                    }
                    rate * weight()?
                }
                Unit::MilliUnitsPerKgPerMin => rate / 1000.0 * weight()?,
                Unit::MlPerHour => {
                    let c = concentration.ok_or(DoseError::ConcentrationNeeded { drug })?;
                    match c.unit {
                        ConcentrationUnit::UnitsPerMl => rate * c.value / 60.0,
                        other => {
                            return Err(DoseError::ConcentrationUnitNotAllowed { drug, unit: other.symbol() });
                        }
                    }
                }
                _ => return Err(DoseError::UnitNotAllowed { drug, unit }),
            },
            Drug::AngiotensinII => match unit {
                Unit::NgPerKgPerMin => rate,
                Unit::McgPerKgPerMin => rate * 1000.0,
                Unit::MlPerHour => {
                    let c = concentration.ok_or(DoseError::ConcentrationNeeded { drug })?;
                    let mcg_per_ml = match c.unit {
                        ConcentrationUnit::McgPerMl => c.value,
                        ConcentrationUnit::MgPerMl => c.value * 1000.0,
                        other => {
                            return Err(DoseError::ConcentrationUnitNotAllowed { drug, unit: other.symbol() });
                        }
                    };
                    rate * mcg_per_ml * 1000.0 / 60.0 / weight()?
                }
                _ => return Err(DoseError::UnitNotAllowed { drug, unit }),
            },
            _ => {
                let mcg_kg_min = match unit {
                    Unit::McgPerKgPerMin => rate,
                    Unit::McgPerMin => rate / weight()?,
                    Unit::MgPerHour => rate * 1000.0 / 60.0 / weight()?,
                    Unit::MlPerHour => {
                        let c = concentration.ok_or(DoseError::ConcentrationNeeded { drug })?;
                        let mcg_per_ml = match c.unit {
                            ConcentrationUnit::McgPerMl => c.value,
                            ConcentrationUnit::MgPerMl => c.value * 1000.0,
                            ConcentrationUnit::UnitsPerMl => {
                                return Err(DoseError::ConcentrationUnitNotAllowed { drug, unit: "U/mL" });
                            }
                        };
                        rate * mcg_per_ml / 60.0 / weight()?
                    }
                    _ => return Err(DoseError::UnitNotAllowed { drug, unit }),
                };
                if unit == Unit::McgPerKgPerMin {
                    hint = "; was a mcg/min rate entered as mcg/kg/min?";
                }
                mcg_kg_min / salt.mg_per_mg_base()
            }
        };
        let max = drug.hard_max();
        if canonical > max {
            return Err(DoseError::Implausible {
                drug,
                rate,
                unit,
                canonical,
                max,
                limit_unit: drug.canonical_unit(),
                hint,
            });
        }
        Ok(NormalisedDose { canonical, unusual: canonical > drug.soft_max() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dose(drug: Drug, rate: f64, unit: Unit) -> ChartedDose {
        ChartedDose { drug, rate, unit, salt: Salt::Base, concentration: None, weight_kg: Some(80.0) }
    }

    #[test]
    fn norepinephrine_mcg_per_min_uses_weight() {
        // Spec V4: 16 mcg/min in 80 kg = 0.2 mcg/kg/min.
        let d = dose(Drug::Norepinephrine, 16.0, Unit::McgPerMin).normalise().unwrap();
        assert!((d.canonical - 0.2).abs() < 1e-15);
    }

    #[test]
    fn norepinephrine_mcg_per_min_typed_as_per_kg_is_refused() {
        let e = dose(Drug::Norepinephrine, 16.0, Unit::McgPerKgPerMin).normalise().unwrap_err();
        assert!(e.to_string().contains("mcg/min rate entered as mcg/kg/min"), "{e}");
    }

    #[test]
    fn tartrate_is_halved_to_base() {
        let mut d = dose(Drug::Norepinephrine, 0.2, Unit::McgPerKgPerMin);
        d.salt = Salt::BitartrateMonohydrate;
        assert!((d.normalise().unwrap().canonical - 0.1).abs() < 1e-15);
        let mut e = dose(Drug::Epinephrine, 0.2, Unit::McgPerKgPerMin);
        e.salt = Salt::Hydrochloride;
        assert!(matches!(e.normalise(), Err(DoseError::SaltNotApplicable { .. })));
    }

    #[test]
    fn vasopressin_units() {
        let per_min = dose(Drug::Vasopressin, 0.04, Unit::UnitsPerMin).normalise().unwrap();
        assert_eq!(per_min.canonical, 0.04);
        let per_hour = dose(Drug::Vasopressin, 2.4, Unit::UnitsPerHour).normalise().unwrap();
        assert!((per_hour.canonical - 0.04).abs() < 1e-15);
        let per_kg = dose(Drug::Vasopressin, 0.0005, Unit::UnitsPerKgPerMin).normalise().unwrap();
        assert!((per_kg.canonical - 0.04).abs() < 1e-15);
        // 0.04 typed into a U/kg/min field: refused with a hint, never 400 VIS points.
        let e = dose(Drug::Vasopressin, 0.04, Unit::UnitsPerKgPerMin).normalise().unwrap_err();
        assert!(e.to_string().contains("U/min rate entered as U/kg/min"), "{e}");
        assert!(matches!(
            dose(Drug::Vasopressin, 0.04, Unit::McgPerKgPerMin).normalise(),
            Err(DoseError::UnitNotAllowed { .. })
        ));
    }

    #[test]
    fn ml_per_hour_needs_concentration() {
        let mut d = dose(Drug::Norepinephrine, 12.0, Unit::MlPerHour);
        assert!(matches!(d.normalise(), Err(DoseError::ConcentrationNeeded { .. })));
        // 12 mL/h of 80 mcg/mL = 16 mcg/min = 0.2 mcg/kg/min at 80 kg.
        d.concentration = Some(Concentration { value: 80.0, unit: ConcentrationUnit::McgPerMl });
        assert!((d.normalise().unwrap().canonical - 0.2).abs() < 1e-12);
        d.concentration = Some(Concentration { value: 0.08, unit: ConcentrationUnit::MgPerMl });
        assert!((d.normalise().unwrap().canonical - 0.2).abs() < 1e-12);
    }

    #[test]
    fn per_minute_dose_without_weight_is_refused() {
        let mut d = dose(Drug::Dobutamine, 400.0, Unit::McgPerMin);
        d.weight_kg = None;
        assert!(matches!(d.normalise(), Err(DoseError::WeightNeeded { .. })));
    }

    #[test]
    fn negative_or_nan_rates_are_refused() {
        assert!(dose(Drug::Dopamine, -1.0, Unit::McgPerKgPerMin).normalise().is_err());
        assert!(dose(Drug::Dopamine, f64::NAN, Unit::McgPerKgPerMin).normalise().is_err());
        assert_eq!(dose(Drug::Dopamine, 0.0, Unit::McgPerKgPerMin).normalise().unwrap().canonical, 0.0);
    }

    #[test]
    fn codes_round_trip() {
        for d in Drug::ALL {
            assert_eq!(d.code().parse::<Drug>(), Ok(d));
        }
        assert_eq!("Noradrenaline".parse::<Drug>(), Ok(Drug::Norepinephrine));
    }
}
